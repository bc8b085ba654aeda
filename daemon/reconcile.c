/* Per-stream state machine: observe, plan, act one step, poll, repeat.
 *
 * Each step is one asynchronous Kinesis call; the next step starts from its
 * callback or from a poll timer. After every change the stream is observed
 * again and planned afresh, so a plan never runs against a stale picture
 * (another daemon, an operator, or AWS itself may have moved the stream).
 *
 * Never blocks, never writes files, never talks to systemd. */
#include "reconcile.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "log.h"
#include "reconcile-action.h"
#include "reconcile-budget.h"
#include "reconcile-internal.h"

static void describe(struct reconciler *r);
/* A DELETING stream's wait is logged again at most this often. */
#define DELETING_LOG_EVERY_USEC (60 * USEC_PER_SEC)
static void go_plan(struct reconciler *r);
static void poll_consumer(struct reconciler *r);
static void consumer_details(struct reconciler *r);
static bool creation_pending(const struct reconciler *r);

static struct log_fields fields(const struct reconciler *r) {
        return (struct log_fields){
                .stream = decl_of(r)->name,
                .region = region_of(r)->region,
                .account = region_of(r)->account[0] ? region_of(r)->account : NULL,
                .stream_arn = obs_peek(r)->arn,
        };
}

/* ---- create slots (at most 5 CREATING per region) ------------------------ */

/* fields(r) where a pointer is wanted: valid to the end of the caller's block. */
#define fields_of(r) (&(struct log_fields[1]){ fields(r) }[0])

/* ---- the rare fields, held only while one is set ------------------------ */

/* r's rare fields to write; NULL: out of memory. */
static struct reconcile_rare *rare_take(struct reconciler *r) {
        if (!r->rare)
                r->rare = calloc(1, sizeof *r->rare);
        return r->rare;
}

static void rare_tidy(struct reconciler *r) {
        const struct reconcile_rare *n = r->rare;

        if (n && !n->deleting_logged && !n->seed_arn && !n->not_managed && !n->guard)
                r->rare = mfree(r->rare);
}

/* Free r's rare fields. */
static void rare_free(struct reconciler *r) {
        if (!r->rare)
                return;
        free(r->rare->seed_arn);
        free(r->rare->not_managed);
        free(r->rare->guard);
        r->rare = mfree(r->rare);
}

/* ---- the guard, held only while it remembers something ------------------ */

/* r's guard to write (in its rare fields); NULL: out of memory. */
static struct reconcile_guard *guard_take(struct reconciler *r) {
        if (!rare_take(r))
                return NULL;
        if (!r->rare->guard)
                r->rare->guard = calloc(1, sizeof *r->rare->guard);
        if (!r->rare->guard)
                rare_tidy(r);
        return guard_of(r);
}

static void guard_tidy(struct reconciler *r) {
        if (guard_of(r) && guard_is_empty(guard_of(r))) {
                r->rare->guard = mfree(r->rare->guard);
                rare_tidy(r);
        }
}

/* ---- settling ----------------------------------------------------------- */

static void set_last_error(struct reconciler *r, const char *e) {
        if (streq_ptr(r->last_error, e))
                return;
        text_pool_put(region_of(r)->settings.texts, r->last_error);
        r->last_error = text_pool_get(region_of(r)->settings.texts, e);
        region_of(r)->ops->changed(r, region_of(r)->owner);
}

/* The first answer about the stream: from now on its exports are facts, and
 * the owner may write them (it holds exports back until every stream has one). */
static void mark_observed(struct reconciler *r) {
        if (r->observed)
                return;
        r->observed = true;
        region_of(r)->ops->changed(r, region_of(r)->owner);
}

/* Give back consumer slots down to `keep` (what is still CREATING). */
static void consumer_slots_release(struct reconciler *r, unsigned keep) {
        bool freed = false;

        while (r->w && r->w->consumer_slots > keep) {
                r->w->consumer_slots--;
                region_of(r)->consumers_creating--;
                freed = true;
        }
        if (freed)
                consumer_slot_dispatch(region_of(r));
}

/* Free r's work once nothing in it is pending: no call, timer, queue,
 * slot, wait or --plan plan; and with it an observation of nothing (a
 * stream that does not exist, say). While r has work, it has an
 * observation. */
static void work_tidy(struct reconciler *r) {
        struct reconcile_work *w = r->w;

        if (!w || w->call || w->timer || w->have_plan || w->holds_slot || w->queue || w->consumer_slots > 0 ||
            reconcile_wait_active(&w->wait))
                return;
        reconcile_wait_reset(&w->wait);
        free(w->detail_consumer);
        r->w = mfree(w);
        if (r->obs && stream_obs_is_empty(r->obs))
                r->obs = mfree(r->obs);
}

static void settle(struct reconciler *r, enum reconcile_phase phase) {
        r->phase = phase;
        r->quiet_last = phase == PHASE_DONE && (!r->w || r->w->actions_this_pass == 0) && !r->drift_left &&
                        !r->stopping;
        /* A pass cut short by shutdown says nothing about the stream's health. */
        if (!r->stopping) {
                bool failed = phase == PHASE_FAILED;
                if (failed != r->failed_last) {
                        r->failed_last = failed;
                        region_of(r)->ops->changed(r, region_of(r)->owner);
                }
                if (failed)
                        mark_observed(r);
        }
        if (r->w) {
                r->w->timer = sd_event_source_disable_unref(r->w->timer);
                slot_dequeue(r);
                if (phase == PHASE_FAILED || !obs_peek(r)->exists || obs_peek(r)->status != STREAM_STATUS_CREATING)
                        slot_release(r);
                if (phase == PHASE_FAILED) {
                        reconcile_wait_reset(&r->w->wait);
                        consumer_slots_release(r, 0);
                }
                /* Only --plan shows the plan after the pass; a settled stream keeps none. */
                if (r->w->have_plan && !region_of(r)->settings.plan_only) {
                        plan_done(&r->w->plan);
                        r->w->have_plan = false;
                }
                work_tidy(r);
        }
        /* AWS has shown the stream: the ARN the previous process exported
         * has done its part (the exports read the observation now). */
        if (r->rare && r->rare->seed_arn && obs_peek(r)->exists) {
                r->rare->seed_arn = mfree(r->rare->seed_arn);
                rare_tidy(r);
        }
        /* A probe that failed for good must not leave the queue waiting. */
        slot_dispatch(region_of(r), RECONCILE_MAX_CREATING);
        if (!r->settled) {
                r->settled = true;
                region_of(r)->ops->settled(r, region_of(r)->owner);
        }
}

static void fail(struct reconciler *r, bool terminal, const struct log_fields *extra, const char *fmt,
                 ...) _printf_(4, 5);
static void fail(struct reconciler *r, bool terminal, const struct log_fields *extra, const char *fmt,
                 ...) {
        char msg[1024];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);

        struct log_fields f = extra ? *extra : fields(r);
        f.stream = decl_of(r)->name;
        f.region = region_of(r)->region;
        f.account = region_of(r)->account[0] ? region_of(r)->account : NULL;
        f.stream_arn = obs_peek(r)->arn;
        f.message_id = LOG_MESSAGE_STREAM_FAILED;
        log_fields(LOG_ERR, &f, "Stream %s failed: %s%s", decl_of(r)->name, msg,
                   terminal ? "" : " (will retry)");
        r->terminal = terminal;
        set_last_error(r, msg);
        settle(r, PHASE_FAILED);
}

/* ---- waiting ------------------------------------------------------------ */

static void list_consumers(struct reconciler *r);

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct reconciler *r = userdata;

        r->w->timer = sd_event_source_disable_unref(r->w->timer);
        if (r->stopping) {
                settle(r, PHASE_FAILED);
                return 0;
        }
        if (r->w->poll_consumers) {
                /* Only its consumers are settling: the stream itself is ACTIVE. */
                r->w->poll_consumers = false;
                poll_consumer(r);
                return 0;
        }
        describe(r);
        return 0;
}

/* When to look again: a creation or registration of ours not before it
 * could be done (settle-time.h), anything else after the poll interval. */
static uint64_t poll_delay(const struct reconciler *r, uint64_t now) {
        uint64_t poll = region_of(r)->settings.poll_usec;

        if (r->w->poll_consumers && r->w->registered_usec)
                return settle_time_next_poll(&region_of(r)->consumer_settle, poll, now - r->w->registered_usec);
        if (!r->w->poll_consumers && r->w->created_usec)
                return settle_time_next_poll(&region_of(r)->stream_settle, poll, now - r->w->created_usec);
        return poll;
}

/* The stream is not ACTIVE yet (or was busy): look again later, unless it
 * has been waiting past its timeout. */
static void poll_later(struct reconciler *r) {
        uint64_t now = clock_now_usec(CLOCK_MONOTONIC);
        int k;

        if (r->w->wait_started == 0)
                r->w->wait_started = now;
        if (now - r->w->wait_started > region_of(r)->settings.timeout_usec) {
                fail(r, true, NULL, "not ACTIVE after %llu s (status %s)",
                     (unsigned long long) (region_of(r)->settings.timeout_usec / USEC_PER_SEC),
                     r->obs->exists ? stream_status_to_string(r->obs->status) : "missing");
                return;
        }
        if (r->stopping) {
                settle(r, PHASE_FAILED);
                return;
        }
        r->phase = PHASE_POLL;
        /* A creation's polls aim at a learnt time: not to be put off. */
        k = sd_event_add_time_relative(region_of(r)->event, &r->w->timer, CLOCK_MONOTONIC, poll_delay(r, now),
                                       r->w->created_usec ? USEC_PER_MSEC : region_of(r)->settings.poll_usec / 10,
                                       on_timer, r);
        if (k < 0)
                fail(r, false, NULL, "cannot arm the poll timer: %s", strerror(-k));
}

/* ---- classification of AWS answers -------------------------------------- */

static bool error_is(const struct kinesis_result *res, const char *type) {
        return res->error == 0 && res->error_type && streq(res->error_type, type);
}

/* Describe a failed call for a message: "AccessDeniedException: ..." or the
 * transport error. */
static void result_text(const struct kinesis_result *res, char *buf, size_t n) {
        if (res->error < 0)
                snprintf(buf, n, "%s: %s", res->operation,
                         res->error_text ? res->error_text : strerror(-res->error));
        else
                snprintf(buf, n, "%s: %s%s%s", res->operation, strna(res->error_type),
                         res->error_message ? ": " : "", strempty(res->error_message));
}

/* Anything that is neither success nor a state we wait out. Transport
 * failures (after the HTTP layer's retries) are retried by the next pass;
 * refusals (access, KMS, quotas, invalid requests) stay failed until the
 * configuration or the account changes, but the next pass still tries. */
static void fail_result(struct reconciler *r, const struct kinesis_result *res) {
        char text[768];
        struct log_fields f = fields(r);
        /* An answer the HTTP layer would have retried (5xx, throttling) that
         * arrives here has used up its attempts: an outage, not a refusal. */
        bool terminal = kinesis_result_is_final(res);

        result_text(res, text, sizeof text);
        f.aws_operation = res->operation;
        f.aws_error = res->error_type;
        f.aws_request_id = res->request_id;
        if (terminal && error_is(res, "LimitExceededException") && streq_ptr(res->operation, "RegisterStreamConsumer"))
                fail(r, true, &f,
                     "AWS refused another consumer: a stream may have at most %d (%d when on-demand in an account "
                     "with a minimum throughput commitment) (%s)",
                     STREAM_CONSUMERS_MAX, STREAM_CONSUMERS_MAX_COMMITTED, text);
        else if (terminal && error_is(res, "LimitExceededException"))
                fail(r, true, &f, "AWS quota reached (%s)", text);
        else
                fail(r, terminal, &f, "%s", text);
}

/* The endpoint does not know the operation that answered: the setting it
 * serves is not managed in this region from now on (said once, with the
 * answer), and true; the caller ends the call and goes on without it.
 * False for any other answer, and for an operation no stream can do
 * without. */
static bool unsupported_answer(struct reconciler *r, const struct kinesis_result *res, bool consumer) {
        enum stream_setting s;
        char text[768];

        if (!kinesis_result_is_unknown_operation(res))
                return false;
        s = reconcile_operation_setting(res->operation, consumer);
        if (s == _SETTING_MAX)
                return false;
        if (!(region_of(r)->unsupported & (1u << s))) {
                struct log_fields f = fields(r);

                region_of(r)->unsupported |= 1u << s;
                result_text(res, text, sizeof text);
                f.aws_operation = res->operation;
                f.aws_error = res->error_type;
                log_fields(LOG_WARNING, &f,
                           "The endpoint of region %s does not know %s (%s): %s is not managed there; "
                           "streams are not failed for it.",
                           region_of(r)->region, res->operation, text, strna(stream_setting_to_string(s)));
        }
        return true;
}

/* Declared settings this stream cannot have here, in words, or NULL: the
 * operations the endpoint does not know (said once for the region where it
 * answered so), warm throughput without the account's commitment (said
 * once for the stream, here). Exported as is. */
static void note_not_managed(struct reconciler *r) {
        const struct stream_decl *d = decl_of(r);
        unsigned u = region_of(r)->unsupported;
        char buf[512] = "";
        size_t o = 0;

        for (unsigned s = 0; s < _SETTING_MAX; s++) {
                bool declared = (s == SETTING_MAX_RECORD_SIZE && d->max_record_size_kib) ||
                                (s == SETTING_RESOURCE_POLICY && d->resource_policy_declared) ||
                                (s == SETTING_CONSUMER_DETAILS && d->x->consumer_opts) ||
                                (s == SETTING_DISTRIBUTION && d->distribution) ||
                                (s == SETTING_WARM_THROUGHPUT && d->warm_throughput_mibps);
                if (declared && (u & (1u << s)) && o < sizeof buf)
                        o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s: the endpoint does not support it",
                                              o ? "; " : "", strna(stream_setting_to_string(s)));
        }
        if (d->warm_throughput_mibps && !(u & (1u << SETTING_WARM_THROUGHPUT)) &&
            region_of(r)->commitment == COMMITMENT_NONE && o < sizeof buf)
                snprintf(buf + o, sizeof buf - o,
                         "%swarm throughput: the account has no minimum throughput commitment (%s); kinesisd "
                         "does not change account settings",
                         o ? "; " : "", strna(region_of(r)->commitment_status));
        const char *was = rare_peek(r)->not_managed;
        if (streq(buf, strempty(was)))
                return;
        const char *warm = strstr(buf, "warm throughput: the account");
        if (warm && !(was && strstr(was, warm)))
                log_fields(LOG_WARNING, fields_of(r), "Stream %s: %s.", d->name, warm);
        struct reconcile_rare *n = rare_take(r);
        if (!n) {
                log_oom();
                return;
        }
        free(n->not_managed);
        n->not_managed = *buf ? strdup(buf) : NULL;
        rare_tidy(r);
        region_of(r)->ops->changed(r, region_of(r)->owner);
}

/* The declaration as far as this region's endpoint can serve it. */
static const struct stream_decl *decl_supported(struct reconciler *r, struct stream_decl_scratch *scratch) {
        return reconcile_decl_supported(decl_of(r), region_of(r)->unsupported, scratch);
}

/* ---- waiting on AWS (limits, busy streams) ------------------------------- */

static int on_wait_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct reconciler *r = userdata;

        r->w->timer = sd_event_source_disable_unref(r->w->timer);
        if (r->stopping)
                settle(r, PHASE_FAILED);
        else
                r->w->wait_step(r);
        return 0;
}

/* An answer arrived for the step `step`. A refusal that means "not now" (a
 * rate, the account's CREATING limit, a busy stream) makes the stream wait
 * and try the same step again after a backoff; returns true then (and when
 * the wait ran out: the stream failed). Success ends a wait. */
static bool wait_on(struct reconciler *r, const struct kinesis_result *res, void (*step)(struct reconciler *r)) {
        enum reconcile_wait_kind kind = reconcile_wait_classify(res);
        bool create = r->phase == PHASE_ACT && r->w->plan.actions[0].type == ACTION_CREATE_STREAM;
        bool was_waiting = reconcile_wait_active(&r->w->wait);
        char why[1024];
        uint64_t delay;
        int k;

        if (kind == RECONCILE_WAIT_NONE) {
                if (kinesis_result_ok(res)) {
                        reconcile_wait_over(&r->w->wait, fields_of(r));
                        if (was_waiting)
                                region_of(r)->ops->changed(r, region_of(r)->owner);
                }
                return false;
        }
        k = reconcile_wait_refused(&r->w->wait, res, kind, region_of(r)->settings.poll_usec, region_of(r)->settings.timeout_usec,
                                   fields_of(r), why, sizeof why, &delay);
        if (k < 0) {
                if (create)
                        slot_release(r);
                fail(r, true, NULL, "%s", k == -ETIME ? why : "out of memory");
                return true;
        }
        if (!was_waiting)
                region_of(r)->ops->changed(r, region_of(r)->owner);
        if (r->stopping) {
                settle(r, PHASE_FAILED);
                return true;
        }
        if (kind == RECONCILE_WAIT_CONSUMERS && r->phase == PHASE_ACT &&
            r->w->plan.actions[0].type == ACTION_REGISTER_CONSUMER)
                /* Its slot is given back already: the others of ours are
                 * what the account lets us have now. */
                share_refused(&region_of(r)->consumer_share, region_of(r)->consumers_creating);
        if (create && kind == RECONCILE_WAIT_CONCURRENCY) {
                /* Hold the region's creations first, so that the freed slot
                 * goes to nobody, then queue up again at the head. */
                k = region_hold(r, region_of(r)->settings.poll_usec > RECONCILE_HOLD_MIN_USEC ? region_of(r)->settings.poll_usec
                                                                               : RECONCILE_HOLD_MIN_USEC);
                slot_release(r);
                if (k < 0) {
                        fail(r, false, NULL, "cannot arm the hold timer: %s", strerror(-k));
                        return true;
                }
                slot_requeue_first(r);
                return true;
        }
        r->phase = PHASE_WAIT_AWS;
        r->w->wait_step = step;
        k = sd_event_add_time_relative(region_of(r)->event, &r->w->timer, CLOCK_MONOTONIC, delay, delay / 10, on_wait_timer, r);
        if (k < 0)
                fail(r, false, NULL, "cannot arm the wait timer: %s", strerror(-k));
        return true;
}

/* ---- observing ---------------------------------------------------------- */

/* Send a question about the stream (req is taken) and wait for cb. */
static void ask(struct reconciler *r, enum reconcile_phase phase, const char *operation, json_object *req,
                kinesis_callback cb) {
        int k;

        if (!req) {
                fail(r, false, NULL, "out of memory");
                return;
        }
        r->phase = phase;
        r->w->call_usec = clock_now_usec(CLOCK_MONOTONIC);
        region_of(r)->ops->call_started(region_of(r)->owner);
        k = kinesis_call(region_of(r)->client, operation, req, decl_of(r)->name, cb, r, &r->w->call);
        if (k < 0) {
                region_of(r)->ops->call_finished(region_of(r)->owner);
                fail(r, false, NULL, "cannot start %s: %s", operation, strerror(-k));
        }
}

/* A listing (tags, consumers) answered: true if it succeeded; otherwise the
 * stream is polled again (busy) or failed, and the caller stops. */
static bool listing_ok(struct reconciler *r, const struct kinesis_result *res) {
        r->w->call = NULL;
        region_of(r)->ops->call_finished(region_of(r)->owner);
        if (wait_on(r, res, describe))
                return false;
        if (kinesis_result_ok(res))
                return true;
        fail_result(r, res);
        return false;
}

/* Put c (taken: cleared) in place of the observed consumer of its name;
 * if there is none, add it when add, else leave c as it is and say false. */
/* What was read of a consumer's tags and policy stays with it while its
 * ARN is the same (a new ARN: a new registration, read afresh). */
static void consumer_keep_details(struct stream_consumer_obs *to, struct stream_consumer_obs *from) {
        if (!streq_ptr(to->arn, from->arn) || to->tags_known || to->policy_known)
                return;
        to->tags_known = from->tags_known;
        to->tags = TAKE_PTR(from->tags);
        to->n_tags = from->n_tags;
        from->n_tags = 0;
        to->policy_known = from->policy_known;
        to->policy = TAKE_PTR(from->policy);
}

static struct stream_consumer_obs *consumer_find(struct reconciler *r, const char *name) {
        for (size_t i = 0; name && i < r->obs->n_consumers; i++)
                if (streq(r->obs->consumers[i].name, name))
                        return &r->obs->consumers[i];
        return NULL;
}

static bool consumer_store(struct reconciler *r, struct stream_consumer_obs *c, bool add) {
        struct stream_consumer_obs *grown;

        for (size_t i = 0; i < r->obs->n_consumers; i++)
                if (streq(r->obs->consumers[i].name, c->name)) {
                        consumer_keep_details(c, &r->obs->consumers[i]);
                        stream_consumer_obs_done(&r->obs->consumers[i]);
                        r->obs->consumers[i] = *c;
                        *c = (struct stream_consumer_obs){};
                        return true;
                }
        if (!add)
                return false;
        grown = reallocarray(r->obs->consumers, r->obs->n_consumers + 1, sizeof *grown);
        if (!grown)
                return false;
        r->obs->consumers = grown;
        r->obs->consumers[r->obs->n_consumers++] = *c;
        r->obs->consumer_count++;
        *c = (struct stream_consumer_obs){};
        return true;
}

/* A consumer we declared that AWS shows CREATING, or NULL. */
static struct stream_consumer_obs *consumer_creating(struct reconciler *r) {
        for (size_t j = 0; j < r->obs->n_consumers; j++) {
                struct stream_consumer_obs *c = &r->obs->consumers[j];
                if (c->status && streq(c->status, "CREATING"))
                        for (size_t i = 0; i < decl_of(r)->x->n_consumers; i++)
                                if (streq(decl_of(r)->x->consumers[i], c->name))
                                        return c;
        }
        return NULL;
}

/* Consumers of ours left CREATING: count the sample, give their slots back. */
static void consumers_settled(struct reconciler *r) {
        unsigned settling = reconcile_consumers_settling(decl_of(r), r->obs);

        if (r->w->registered_usec && settling < r->w->consumer_slots)
                settle_time_add(&region_of(r)->consumer_settle, r->w->call_usec - r->w->registered_usec, 0);
        if (settling == 0)
                r->w->registered_usec = 0;
        consumer_slots_release(r, settling);
}

static void on_consumers(struct kinesis_client *c, const struct kinesis_result *res,
                         struct stream_consumer_obs *consumers, size_t n, void *userdata) {
        struct reconciler *r = userdata;

        if (!listing_ok(r, res))
                return;
        for (size_t i = 0; i < n; i++) {
                struct stream_consumer_obs *old = consumer_find(r, consumers[i].name);
                if (old)
                        consumer_keep_details(&consumers[i], old);
        }
        kinesis_consumers_free(r->obs->consumers, r->obs->n_consumers);
        r->obs->consumers = consumers;
        r->obs->n_consumers = n;
        r->obs->consumers_known = true;
        consumers_settled(r);
        r->w->consumers_fresh = true;
        region_of(r)->ops->changed(r, region_of(r)->owner);
        consumer_details(r);
}

static void list_consumers(struct reconciler *r) {
        int k;

        r->phase = PHASE_LIST_CONSUMERS;
        r->w->call_usec = clock_now_usec(CLOCK_MONOTONIC);
        region_of(r)->ops->call_started(region_of(r)->owner);
        k = kinesis_list_consumers(region_of(r)->client, decl_of(r)->name, r->obs->arn, 0, on_consumers, r,
                                   &r->w->call);
        if (k < 0) {
                region_of(r)->ops->call_finished(region_of(r)->owner);
                fail(r, false, NULL, "cannot start ListStreamConsumers: %s", strerror(-k));
        }
}

static void on_consumer(struct kinesis_client *c, const struct kinesis_result *res, void *userdata) {
        struct reconciler *r = userdata;
        struct stream_consumer_obs got = {};

        r->w->call = NULL;
        region_of(r)->ops->call_finished(region_of(r)->owner);
        if (wait_on(r, res, poll_consumer))
                return;
        if (error_is(res, "ResourceNotFoundException")) {
                /* The consumer (or the stream) is gone: look at both again. */
                r->w->consumers_fresh = false;
                describe(r);
                return;
        }
        if (!kinesis_result_ok(res)) {
                fail_result(r, res);
                return;
        }
        if (kinesis_parse_consumer(res->body, &got) < 0 || !got.status) {
                stream_consumer_obs_done(&got);
                fail(r, false, NULL, "DescribeStreamConsumer: unexpected answer");
                return;
        }
        if (!consumer_store(r, &got, false)) {
                /* Not the one we asked about: list them all. */
                stream_consumer_obs_done(&got);
                r->w->consumers_fresh = false;
                list_consumers(r);
                return;
        }
        consumers_settled(r);
        region_of(r)->ops->changed(r, region_of(r)->owner);
        consumer_details(r);
}

/* Ask for one of its consumers still CREATING by name: a call AWS allows
 * 20 times a second per stream, where a listing is allowed 5. */
static void poll_consumer(struct reconciler *r) {
        struct stream_consumer_obs *c = consumer_creating(r);

        if (r->stopping) {
                settle(r, PHASE_FAILED);
                return;
        }
        if (!c || !r->obs->arn) {
                list_consumers(r);
                return;
        }
        ask(r, PHASE_LIST_CONSUMERS, "DescribeStreamConsumer",
            kinesis_req_describe_consumer(r->obs->arn, c->name), on_consumer);
}

static void get_policy(struct reconciler *r);

static void after_observe(struct reconciler *r) {
        struct stream_decl_scratch scratch;

        if (decl_supported(r, &scratch)->resource_policy_declared && r->obs->arn &&
            !(r->obs->policy_known && r->w->policy_fresh))
                get_policy(r);
        else if (reconcile_consumers_need_listing(decl_of(r), r->obs) && r->obs->arn && !r->w->consumers_fresh)
                list_consumers(r);
        else
                consumer_details(r);
}

static void on_tags(struct kinesis_client *c, const struct kinesis_result *res, struct stream_tag *tags,
                    size_t n, void *userdata) {
        struct reconciler *r = userdata;

        if (!listing_ok(r, res))
                return;
        kinesis_tags_free(r->obs->tags, r->obs->n_tags);
        r->obs->tags = tags;
        r->obs->n_tags = n;
        r->obs->tags_known = true;
        r->w->tags_fresh = true;
        after_observe(r);
}

static void list_tags(struct reconciler *r) {
        int k;

        r->phase = PHASE_LIST_TAGS;
        region_of(r)->ops->call_started(region_of(r)->owner);
        k = kinesis_list_tags(region_of(r)->client, decl_of(r)->name, 0, on_tags, r, &r->w->call);
        if (k < 0) {
                region_of(r)->ops->call_finished(region_of(r)->owner);
                fail(r, false, NULL, "cannot start ListTagsForStream: %s", strerror(-k));
        }
}

/* A declared consumer, ACTIVE, whose tags (*tags) or policy are still to
 * be read this pass, or NULL. */
static struct stream_consumer_obs *consumer_unread(struct reconciler *r, bool *tags) {
        struct stream_decl_scratch scratch;
        const struct stream_decl *d = decl_supported(r, &scratch);

        if (!d->x->consumer_opts || !r->obs->consumers_known)
                return NULL;
        for (size_t i = 0; i < d->x->n_consumers; i++) {
                const struct consumer_decl *o = &d->x->consumer_opts[i];
                struct stream_consumer_obs *c = consumer_find(r, d->x->consumers[i]);

                if (!c || !c->arn || !c->status || !streq(c->status, "ACTIVE"))
                        continue;
                *tags = o->tags_declared && !c->tags_known;
                if (*tags || (o->policy_declared && !c->policy_known))
                        return c;
        }
        return NULL;
}

/* A consumer's tags or policy answered: the consumer they belong to, or
 * NULL when the answer has been dealt with here (an operation the endpoint
 * does not know, a wait, a failure, a consumer gone: the stream is looked
 * at again). */
static struct stream_consumer_obs *consumer_detail_answer(struct reconciler *r, const struct kinesis_result *res,
                                                          bool policy) {
        struct stream_consumer_obs *c = consumer_find(r, r->w->detail_consumer);

        if (unsupported_answer(r, res, true)) {
                r->w->call = NULL;
                region_of(r)->ops->call_finished(region_of(r)->owner);
                consumer_details(r);
                return NULL;
        }
        /* A consumer without a policy may be answered ResourceNotFoundException. */
        if (error_is(res, "ResourceNotFoundException") && (!policy || !c)) {
                r->w->call = NULL;
                region_of(r)->ops->call_finished(region_of(r)->owner);
                r->w->consumers_fresh = false;
                describe(r);
                return NULL;
        }
        if (error_is(res, "ResourceNotFoundException")) {
                r->w->call = NULL;
                region_of(r)->ops->call_finished(region_of(r)->owner);
                return c;
        }
        if (!listing_ok(r, res))
                return NULL;
        if (!c) {
                r->w->consumers_fresh = false;
                describe(r);
        }
        return c;
}

static void on_consumer_tags(struct kinesis_client *cl, const struct kinesis_result *res, void *userdata) {
        struct reconciler *r = userdata;
        struct stream_consumer_obs *c = consumer_detail_answer(r, res, false);
        struct stream_tag *tags = NULL;
        size_t n = 0;
        int k;

        if (!c)
                return;
        k = kinesis_parse_list_tags(res->body, &tags, &n, NULL);
        if (k < 0) {
                kinesis_tags_free(tags, n);
                fail(r, false, NULL, "ListTagsForResource: unexpected answer: %s", strerror(-k));
                return;
        }
        kinesis_tags_free(c->tags, c->n_tags);
        c->tags = tags;
        c->n_tags = n;
        c->tags_known = true;
        consumer_details(r);
}

static void on_consumer_policy(struct kinesis_client *cl, const struct kinesis_result *res, void *userdata) {
        struct reconciler *r = userdata;
        struct stream_consumer_obs *c = consumer_detail_answer(r, res, true);
        char *policy = NULL;
        int k;

        if (!c)
                return;
        if (kinesis_result_ok(res)) {
                k = kinesis_parse_resource_policy(res->body, &policy);
                if (k < 0) {
                        fail(r, false, NULL, "GetResourcePolicy: unexpected answer: %s", strerror(-k));
                        return;
                }
        }
        free(c->policy);
        c->policy = policy;
        c->policy_known = true;
        consumer_details(r);
}

/* Read what is declared of the consumers' tags and policies, one call at
 * a time, then plan. */
static void consumer_details(struct reconciler *r) {
        bool tags = false;
        struct stream_consumer_obs *c = consumer_unread(r, &tags);

        if (!c) {
                go_plan(r);
                return;
        }
        free(r->w->detail_consumer);
        r->w->detail_consumer = strdup(c->name);
        if (!r->w->detail_consumer) {
                fail(r, false, NULL, "out of memory");
                return;
        }
        ask(r, PHASE_LIST_CONSUMERS, tags ? "ListTagsForResource" : "GetResourcePolicy",
            kinesis_req_resource(c->arn), tags ? on_consumer_tags : on_consumer_policy);
}

static void on_policy(struct kinesis_client *c, const struct kinesis_result *res, void *userdata) {
        struct reconciler *r = userdata;
        char *policy = NULL;
        int k;

        if (unsupported_answer(r, res, false)) {
                r->w->call = NULL;
                region_of(r)->ops->call_finished(region_of(r)->owner);
                after_observe(r);
                return;
        }
        /* AWS answers a stream without a policy with an empty one; some
         * endpoints with ResourceNotFoundException instead (a stream that
         * is really gone shows at the next DescribeStreamSummary). */
        if (error_is(res, "ResourceNotFoundException")) {
                r->w->call = NULL;
                region_of(r)->ops->call_finished(region_of(r)->owner);
        } else if (!listing_ok(r, res))
                return;
        else {
                k = kinesis_parse_resource_policy(res->body, &policy);
                if (k < 0) {
                        fail(r, false, NULL, "GetResourcePolicy: unexpected answer: %s", strerror(-k));
                        return;
                }
        }
        free(r->obs->resource_policy);
        r->obs->resource_policy = policy;
        r->obs->policy_known = true;
        r->w->policy_fresh = true;
        after_observe(r);
}

static void get_policy(struct reconciler *r) {
        ask(r, PHASE_GET_POLICY, "GetResourcePolicy", kinesis_req_resource(r->obs->arn), on_policy);
}

/* Forget everything AWS told us about the stream (it is gone), keeping the
 * history that belongs to the declaration. */
static void obs_reset(struct reconciler *r) {
        bool had_arn = r->obs->arn != NULL || rare_peek(r)->seed_arn != NULL;

        if (r->rare) {
                r->rare->seed_arn = mfree(r->rare->seed_arn);
                rare_tidy(r);
        }
        stream_obs_done(r->obs);
        r->shallow = false;
        if (had_arn)
                region_of(r)->ops->changed(r, region_of(r)->owner);
}

static void deleting_forget(struct reconciler *r) {
        if (r->rare) {
                r->rare->deleting_logged = 0;
                rare_tidy(r);
        }
}

/* A stream being deleted (by someone else) is polled until it is gone: say
 * so once, then again at most every DELETING_LOG_EVERY_USEC, not per poll. */
static void log_deleting(struct reconciler *r) {
        uint64_t now = clock_now_usec(CLOCK_MONOTONIC);
        uint64_t last = rare_peek(r)->deleting_logged;
        struct reconcile_rare *n;

        if (last != 0 && now - last < DELETING_LOG_EVERY_USEC)
                return;
        n = rare_take(r);
        if (n)
                n->deleting_logged = now;
        log_fields(LOG_WARNING, fields_of(r), "Stream %s is being deleted; waiting to create it again.",
                   decl_of(r)->name);
}

static void on_describe(struct kinesis_client *c, const struct kinesis_result *res, void *userdata) {
        struct reconciler *r = userdata;
        struct stream_obs o = {};
        int k;

        r->w->call = NULL;
        region_of(r)->ops->call_finished(region_of(r)->owner);
        if (wait_on(r, res, describe))
                return;
        if (error_is(res, "ResourceNotFoundException")) {
                if (r->obs->exists)
                        log_fields(LOG_WARNING, (&(struct log_fields){ .stream = decl_of(r)->name,
                                                                       .region = region_of(r)->region }),
                                   "Stream %s is gone from AWS.", decl_of(r)->name);
                obs_reset(r);
                r->deep_sec = 0;
                slot_release(r);
                mark_observed(r);
                go_plan(r);
                return;
        }
        if (!kinesis_result_ok(res)) {
                fail_result(r, res);
                return;
        }
        k = kinesis_parse_stream_summary(res->body, &o);
        if (k < 0) {
                stream_obs_done(&o);
                fail(r, false, NULL, "DescribeStreamSummary: unexpected answer: %s", strerror(-k));
                return;
        }
        r->deep_sec = time_sec(clock_now_usec(CLOCK_REALTIME));
        r->shallow = r->deep_due = false;

        /* Keep what this call does not report: tags, consumers, budgets. */
        o.tags = TAKE_PTR(r->obs->tags);
        o.n_tags = r->obs->n_tags;
        o.tags_known = r->obs->tags_known;
        o.consumers = TAKE_PTR(r->obs->consumers);
        o.n_consumers = r->obs->n_consumers;
        o.consumers_known = r->obs->consumers_known;
        o.resource_policy = TAKE_PTR(r->obs->resource_policy);
        o.policy_known = r->obs->policy_known;
        r->obs->n_tags = r->obs->n_consumers = 0;
        /* What other services act on (the ARN, the status, the mode) is
         * exported at once. A shard count or retention that differs only
         * waits for the export at the end of the pass: the first deep
         * checks after a fresh start each learn them for a stream known
         * from the listing, and an export of every stream after each would
         * rewrite streams.json (and wake its readers) once per check. */
        bool changed = !streq_ptr(o.arn, r->obs->arn) || o.status != r->obs->status ||
                       o.mode != r->obs->mode || !r->obs->exists;
        stream_obs_done(r->obs);
        *r->obs = o;
        if (changed)
                region_of(r)->ops->changed(r, region_of(r)->owner);

        if (r->obs->status == STREAM_STATUS_CREATING) {
                slot_take(r); /* it occupies one of the region's slots, ours or not */
                if (r->w->created_usec)
                        r->w->creating_seen_usec = r->w->call_usec - r->w->created_usec;
        } else {
                if (r->w->created_usec && r->obs->status == STREAM_STATUS_ACTIVE)
                        settle_time_add(&region_of(r)->stream_settle, r->w->call_usec - r->w->created_usec,
                                        r->w->creating_seen_usec);
                r->w->created_usec = 0;
                if (r->w->holds_slot)
                        region_hold_end(region_of(r)); /* the account has a slot free again */
                slot_release(r);
        }

        if (r->obs->status != STREAM_STATUS_ACTIVE) {
                /* Tags and consumers are read once it is ACTIVE: this is all
                 * there is to know for now. */
                mark_observed(r);
                if (r->obs->status == STREAM_STATUS_UPDATING)
                        r->seen_updating = true;
                else
                        r->seen_not_active = true;
                if (r->obs->status == STREAM_STATUS_DELETING && !region_of(r)->settings.plan_only)
                        log_deleting(r);
                else
                        deleting_forget(r);
                if (region_of(r)->settings.plan_only) {
                        go_plan(r);
                        return;
                }
                poll_later(r);
                return;
        }
        deleting_forget(r);
        if (r->seen_not_active) {
                struct log_fields f = fields(r);
                f.message_id = LOG_MESSAGE_STREAM_ACTIVE;
                log_fields(LOG_INFO, &f, "Stream %s is ACTIVE (%s).", decl_of(r)->name, r->obs->arn);
        } else if (r->seen_updating)
                log_fields(LOG_INFO, fields_of(r), "Stream %s is ACTIVE again, its update done.",
                           decl_of(r)->name);
        r->seen_not_active = r->seen_updating = false;
        r->w->wait_started = 0;

        if (decl_of(r)->tags_declared && !(r->obs->tags_known && r->w->tags_fresh))
                list_tags(r);
        else
                after_observe(r);
}

static void describe(struct reconciler *r) {
        if (r->stopping) {
                settle(r, PHASE_FAILED);
                return;
        }
        ask(r, PHASE_DESCRIBE, "DescribeStreamSummary", kinesis_req_describe_stream_summary(decl_of(r)->name),
            on_describe);
}

/* ---- planning and acting ------------------------------------------------ */

/* Plan with the settings held after a conflict left alone. A fresh plan
 * of an ACTIVE stream also tells the conflict tracker what is in sync: a
 * correction found changed back is said once, held, and planned without. */
static int plan_held(struct reconciler *r, const struct stream_decl *d, struct plan *ret) {
        uint64_t now = clock_now_usec(CLOCK_MONOTONIC);
        struct plan p = {};
        unsigned reverted;
        int k;

        k = plan_stream_holding(d, r->obs, conflict_held_mask(&guard_peek(r)->conflicts, now), &p);
        if (k < 0 || region_of(r)->settings.plan_only || !r->obs->exists || r->obs->status != STREAM_STATUS_ACTIVE)
                goto done;
        /* An empty guard has no correction to find changed back. */
        reverted = guard_of(r) ? guard_observe(guard_of(r), &p, now, region_of(r)->settings.conflict_hold_usec) : 0;
        if (!reverted)
                goto done;
        for (unsigned s = 0; s < _SETTING_MAX; s++) {
                struct log_fields f = fields(r);
                char msg[1536];

                if (!(reverted & (1u << s)))
                        continue;
                guard_conflict_message(guard_of(r), (enum stream_setting) s, d, r->obs, now, msg, sizeof msg);
                f.message_id = LOG_MESSAGE_CONFLICT;
                log_fields(LOG_WARNING, &f, "%s", msg);
                if (region_of(r)->ops->conflict)
                        region_of(r)->ops->conflict(r, region_of(r)->owner);
        }
        plan_done(&p);
        k = plan_stream_holding(d, r->obs, conflict_held_mask(&guard_peek(r)->conflicts, now), &p);
done:
        if (k >= 0)
                *ret = p;
        return k;
}

/* The plan's first change, unless the last time AWS accepted it nothing
 * happened: then wait, send it again, or give up (reconcile-guard.h). */
static void act_guarded(struct reconciler *r) {
        uint64_t wait = 0;
        char why[1024];
        int k;

        if (!guard_take(r)) {
                fail(r, false, NULL, "out of memory");
                return;
        }
        switch (guard_before_act(guard_of(r), &r->w->plan.actions[0], region_of(r)->settings.poll_usec, &wait)) {
        case GUARD_ACT:
                if (guard_attempts(guard_of(r)) > 0)
                        log_fields(LOG_WARNING, fields_of(r),
                                   "Stream %s: %s was accepted but did not take effect; sending it again.",
                                   decl_of(r)->name, action_type_to_string(r->w->plan.actions[0].type));
                act(r);
                return;
        case GUARD_WAIT:
                r->phase = PHASE_POLL;
                k = sd_event_add_time_relative(region_of(r)->event, &r->w->timer, CLOCK_MONOTONIC, wait, wait / 10,
                                               on_timer, r);
                if (k < 0)
                        fail(r, false, NULL, "cannot arm the poll timer: %s", strerror(-k));
                return;
        case GUARD_GIVE_UP:
                guard_no_effect_text(guard_of(r), &r->w->plan.actions[0], r->obs, r->w->plan.summary, why,
                                     sizeof why);
                fail(r, true, NULL, "%s", why);
                return;
        }
}

static void go_plan(struct reconciler *r) {
        struct plan p = {};
        uint64_t now = clock_now_usec(CLOCK_REALTIME);
        int k;

        /* Everything exported (ARN, settings, consumers) has been read. */
        mark_observed(r);
        reconcile_budget_fill(region_of(r)->settings.budget, region_of(r)->budget_key, decl_of(r)->name, now, r->obs);

        /* manage: create-only means "never modify what exists", but a stream
         * kinesisd created is still being created until every declared
         * setting is applied, in this run or a later one (the book keeps it
         * pending across restarts): it gets its declared retention,
         * encryption, metrics and consumers like any new stream. */
        struct stream_decl as_new;
        struct stream_decl_scratch supported;
        const struct stream_decl *d = decl_supported(r, &supported);

        r->obs->commitment = region_of(r)->commitment;
        note_not_managed(r);
        if (creation_pending(r) && d->manage == MANAGE_CREATE_ONLY) {
                as_new = *d;
                as_new.manage = MANAGE_FULL;
                d = &as_new;
        }
        k = plan_held(r, d, &p);
        if (k < 0) {
                fail(r, false, NULL, "cannot plan: %s", strerror(-k));
                return;
        }
        if (r->w->have_plan)
                plan_done(&r->w->plan);
        r->w->plan = p;
        r->w->have_plan = true;

        if (region_of(r)->settings.plan_only) {
                settle(r, PHASE_DONE);
                return;
        }

        if (r->w->plan.refusal && !streq_ptr(r->w->plan.refusal, r->last_refusal)) {
                log_fields(LOG_WARNING, fields_of(r), "Stream %s: %s", decl_of(r)->name, r->w->plan.refusal);
                text_pool_put(region_of(r)->settings.texts, r->last_refusal);
                r->last_refusal = text_pool_get(region_of(r)->settings.texts, r->w->plan.refusal);
        }

        if (r->w->plan.n_actions > 0) {
                act_guarded(r);
                return;
        }
        if (guard_of(r)) {
                guard_nothing_to_do(guard_of(r));
                guard_tidy(r);
        }
        if (!r->obs->exists) {
                /* manage: observe, and nothing there to observe: it waits for
                 * whoever creates it, seen by the next pass's listing. Not a
                 * transient failure: a retry 30 s later would only list the
                 * account again. */
                fail(r, true, NULL, "does not exist (manage: observe)");
                return;
        }
        if (reconcile_consumers_settling(decl_of(r), r->obs) > 0) {
                r->w->poll_consumers = r->obs->arn != NULL;
                poll_later(r);
                return;
        }
        if (r->w->plan.verdict == PLAN_IN_SYNC && r->obs->status == STREAM_STATUS_ACTIVE &&
            creation_pending(r)) {
                log_fields(LOG_INFO, fields_of(r),
                           "Stream %s: every declared setting applied since its creation.", decl_of(r)->name);
                budget_clear_pending(region_of(r)->settings.budget, region_of(r)->budget_key, decl_of(r)->name);
                region_of(r)->ops->changed(r, region_of(r)->owner);
        }
        /* Under manage: full a plan without actions that still differs was
         * refused (a budget) or held (a conflict): the stream is ACTIVE,
         * but not as declared. */
        r->drift_left = d->manage == MANAGE_FULL && r->w->plan.verdict == PLAN_OBSERVE;
        set_last_error(r, r->w->plan.refusal);
        settle(r, PHASE_DONE);
}

/* ---- the budget book ---------------------------------------------------- */

static bool creation_pending(const struct reconciler *r) {
        return region_of(r)->settings.budget &&
               budget_pending(region_of(r)->settings.budget, region_of(r)->budget_key, decl_of(r)->name, NULL);
}

/* Count a call AWS counts against the stream's budget, or a creation whose
 * settings are not all applied yet. */
static void budget_count(struct reconciler *r, const struct action *a, uint64_t now) {
        int k = reconcile_budget_count(region_of(r)->settings.budget, region_of(r)->budget_key, decl_of(r)->name, a->type,
                                       now);

        if (k < 0)
                log_fields_errno(LOG_WARNING, k, fields_of(r),
                                 "Stream %s: cannot record %s in the budget book: %m", decl_of(r)->name,
                                 action_type_to_string(a->type));
}

static void record_change(struct reconciler *r, const struct action *a) {
        uint64_t now = clock_now_usec(CLOCK_REALTIME);

        r->last_change_sec = time_sec(now);
        budget_count(r, a, now);
        region_of(r)->ops->change_made(r, region_of(r)->owner);
        region_of(r)->ops->changed(r, region_of(r)->owner);
}

/* RegisterStreamConsumer answered with the consumer (CREATING): take it
 * into what we know of the stream. False when the answer does not say. */
static bool consumer_registered(struct reconciler *r, const struct kinesis_result *res) {
        struct stream_consumer_obs c = {};

        if (!r->obs->consumers_known || kinesis_parse_consumer(res->body, &c) < 0)
                return false;
        if (!c.status || !consumer_store(r, &c, true)) {
                stream_consumer_obs_done(&c);
                return false;
        }
        r->w->registered_usec = clock_now_usec(CLOCK_MONOTONIC);
        region_of(r)->ops->changed(r, region_of(r)->owner);
        return true;
}

static void on_act(struct kinesis_client *c, const struct kinesis_result *res, void *userdata) {
        struct reconciler *r = userdata;
        const struct action *a = &r->w->plan.actions[0];
        char what[256];

        r->w->call = NULL;
        region_of(r)->ops->call_finished(region_of(r)->owner);
        if (a->type == ACTION_CREATE_STREAM && res->error == -ECANCELED) {
                /* Withdrawn by create_may_go(): a hold began while it waited
                 * for its turn. Back in line; if an earlier attempt (a 5xx
                 * retried) did create it, the next try finds it there. */
                log_fields(LOG_DEBUG, fields_of(r),
                           "Stream %s: CreateStream withdrawn before it went out (the account is full); "
                           "back in line.", decl_of(r)->name);
                r->w->actions_this_pass--;
                slot_release(r);
                slot_requeue_withdrawn(r);
                return;
        }
        if (a->type == ACTION_REGISTER_CONSUMER && !kinesis_result_ok(res))
                consumer_slots_release(r, r->w->consumer_slots - 1);
        if (unsupported_answer(r, res, a->consumer && a->type != ACTION_REGISTER_CONSUMER)) {
                /* Plan again without the setting the endpoint cannot serve. */
                go_plan(r);
                return;
        }
        /* "Consumer NAME exists": someone else registered it since we
         * listed them; the observation after the wait lists them again. */
        if (a->type == ACTION_REGISTER_CONSUMER && error_is(res, "ResourceInUseException"))
                r->w->consumers_fresh = false;
        /* Busy: observe again, then the plan's next step. Refused for a
         * limit: this very step again. */
        if (wait_on(r, res, error_is(res, "ResourceInUseException") ? describe : act))
                return;

        if (kinesis_result_ok(res)) {
                struct log_fields f = fields(r);
                reconcile_action_describe(a, r->obs, what, sizeof what);
                f.action = action_type_to_string(a->type);
                f.aws_operation = res->operation;
                f.aws_request_id = res->request_id;
                f.message_id = a->type == ACTION_CREATE_STREAM ? LOG_MESSAGE_STREAM_CREATED
                                                                : LOG_MESSAGE_DRIFT_CORRECTED;
                log_fields(LOG_NOTICE, &f, "Stream %s: %s.", decl_of(r)->name, what);
                /* Without memory for the guard, only its record of this change is lost. */
                if (guard_take(r))
                        guard_accepted(guard_of(r), a);
                record_change(r, a);
                if (a->type == ACTION_REGISTER_CONSUMER)
                        consumer_registered_ok(region_of(r));
                if (a->type == ACTION_ADD_TAGS || a->type == ACTION_REMOVE_TAGS)
                        r->w->tags_fresh = false;
                if (a->type == ACTION_PUT_RESOURCE_POLICY || a->type == ACTION_DELETE_RESOURCE_POLICY)
                        r->w->policy_fresh = false;
                if (a->consumer && a->type != ACTION_REGISTER_CONSUMER) {
                        struct stream_consumer_obs *oc = consumer_find(r, a->consumer);
                        if (oc && (a->type == ACTION_TAG_RESOURCE || a->type == ACTION_UNTAG_RESOURCE))
                                oc->tags_known = false;
                        else if (oc)
                                oc->policy_known = false;
                }
                if (a->type == ACTION_REGISTER_CONSUMER && consumer_registered(r, res)) {
                        /* The answer says what a listing would: no need for one
                         * before the consumer can be ACTIVE. */
                        go_plan(r);
                        return;
                }
                if (a->type == ACTION_REGISTER_CONSUMER)
                        r->w->consumers_fresh = false;
                if (a->type == ACTION_CREATE_STREAM) {
                        slot_created(region_of(r)); /* the probe got through */
                        r->obs->exists = true;
                        r->obs->status = STREAM_STATUS_CREATING;
                        r->w->wait_started = r->w->created_usec = clock_now_usec(CLOCK_MONOTONIC);
                        r->w->creating_seen_usec = 0;
                        r->seen_not_active = true;
                        /* Nothing to see before the stream could possibly be ACTIVE. */
                        poll_later(r);
                        return;
                }
                describe(r);
                return;
        }

        if (a->type == ACTION_CREATE_STREAM)
                slot_release(r);
        if (error_is(res, "ResourceNotFoundException")) {
                /* It vanished under us: plan again, which creates it. */
                obs_reset(r);
                go_plan(r);
                return;
        }
        fail_result(r, res);
}

/* A CreateStream that waited in the pacer goes out only if no hold began
 * meanwhile: once AWS said the account is full, the calls queued behind
 * the refused one would only be refused too. */
static bool create_may_go(void *userdata) {
        struct reconciler *r = userdata;

        return !region_of(r)->create_hold;
}

void act(struct reconciler *r) {
        const struct action *a = &r->w->plan.actions[0];
        json_object *req;
        int k;

        if (r->stopping) {
                settle(r, PHASE_FAILED);
                return;
        }
        if (a->type == ACTION_CREATE_STREAM && !r->w->holds_slot) {
                /* FIFO: behind those already queued, and nobody during a hold. */
                if (region_of(r)->creating >= slot_cap(region_of(r)) || region_of(r)->create_hold ||
                    region_of(r)->slot_queue.head) {
                        log_fields(LOG_DEBUG, fields_of(r),
                                   "Stream %s: CreateStream waits for a slot (%u of ours CREATING in this "
                                   "account and region%s).",
                                   decl_of(r)->name, region_of(r)->creating, region_of(r)->create_hold ? ", held" : "");
                        r->phase = PHASE_WAIT_SLOT;
                        slot_enqueue(r);
                        return;
                }
                slot_take(r);
        }
        if (a->type == ACTION_REGISTER_CONSUMER) {
                /* At most 5 consumers CREATING in the account: wait in line
                 * (FIFO) until one of ours turns ACTIVE. */
                if (!r->w->consumer_turn &&
                    (region_of(r)->consumers_creating >=
                             share_cap(&region_of(r)->consumer_share, RECONCILE_MAX_CONSUMERS_CREATING) ||
                     region_of(r)->consumer_queue.head)) {
                        if (r->w->consumer_slots > 0 && r->obs->arn) {
                                /* Some of the slots are its own: nobody else
                                 * would see them turn ACTIVE and free them.
                                 * Watch them; the plan goes on from there. */
                                r->w->poll_consumers = true;
                                poll_later(r);
                                return;
                        }
                        r->w->poll_consumers = false;
                        consumer_slot_enqueue(r);
                        return;
                }
                r->w->consumer_turn = false;
                r->w->consumer_slots++;
                region_of(r)->consumers_creating++;
        }
        if (++r->w->actions_this_pass > RECONCILE_MAX_ACTIONS_PER_PASS) {
                fail(r, true, NULL, "does not converge: %u changes in one pass, still: %s",
                     RECONCILE_MAX_ACTIONS_PER_PASS, strna(r->w->plan.summary));
                return;
        }
        req = reconcile_action_request(a, decl_of(r)->name, r->obs->arn);
        if (!req) {
                fail(r, false, NULL, "cannot build %s", action_type_to_string(a->type));
                return;
        }
        r->phase = PHASE_ACT;
        region_of(r)->ops->call_started(region_of(r)->owner);
        k = kinesis_call(region_of(r)->client, action_type_to_string(a->type), req, decl_of(r)->name, on_act,
                         r, &r->w->call);
        if (k >= 0 && a->type == ACTION_CREATE_STREAM)
                kinesis_call_set_gate(r->w->call, create_may_go, r);
        if (k < 0) {
                region_of(r)->ops->call_finished(region_of(r)->owner);
                if (a->type == ACTION_CREATE_STREAM)
                        slot_release(r);
                fail(r, false, NULL, "cannot start %s: %s", action_type_to_string(a->type),
                     strerror(-k));
        }
}

/* ---- the object --------------------------------------------------------- */

struct reconciler *reconcilers_new(const struct stream_decl *decls, size_t n, struct reconcile_region *const *regions,
                                   size_t n_regions) {
        struct reconcile_block *b;

        if (n > UINT32_MAX || n_regions > UINT16_MAX + 1u)
                return NULL;
        b = calloc(1, sizeof *b + (n ? n : 1) * sizeof(struct reconciler));
        if (!b)
                return NULL;
        b->regions = calloc(n_regions ? n_regions : 1, sizeof *regions);
        if (!b->regions)
                return mfree(b);
        for (size_t i = 0; i < n_regions; i++)
                b->regions[i] = regions[i];
        b->decls = decls;
        b->n_regions = n_regions;
        for (size_t i = 0; i < n; i++)
                b->r[i].index = (uint32_t) i;
        return b->r;
}

void reconcilers_free(struct reconciler *block) {
        struct reconcile_block *b;

        if (!block)
                return;
        b = (struct reconcile_block *) (void *) ((char *) block - offsetof(struct reconcile_block, r));
        free(b->regions);
        free(b);
}

struct reconciler *reconciler_at(struct reconciler *block, size_t i) {
        return block + i;
}

void reconciler_init(struct reconciler *r, size_t region_index) {
        r->region_index = (uint16_t) region_index;
}

void reconcile_region_setup(struct reconcile_region *g, sd_event *e, const struct reconcile_settings *s,
                            const struct reconcile_ops *ops, void *owner) {
        sd_event_unref(g->event);
        g->event = sd_event_ref(e);
        g->settings = *s;
        g->ops = ops;
        g->owner = owner;
}

static void cancel_pending(struct reconciler *r) {
        if (!r->w)
                return;
        if (r->w->call) {
                r->w->call = kinesis_call_cancel(r->w->call);
                region_of(r)->ops->call_finished(region_of(r)->owner);
        }
        r->w->timer = sd_event_source_disable_unref(r->w->timer);
        slot_dequeue(r);
}

void reconciler_done(struct reconciler *r) {
        cancel_pending(r);
        slot_release(r);
        consumer_slots_release(r, 0);
        if (r->obs) {
                stream_obs_done(r->obs);
                free(r->obs);
        }
        if (r->w) {
                if (r->w->have_plan)
                        plan_done(&r->w->plan);
                free(r->w->detail_consumer);
                reconcile_wait_reset(&r->w->wait);
                free(r->w);
        }
        text_pool_put(region_of(r)->settings.texts, r->last_error);
        text_pool_put(region_of(r)->settings.texts, r->last_refusal);
        rare_free(r);
}

void reconciler_adopt(struct reconciler *r, struct reconciler *old) {
        _cleanup_free_ struct reconcile_guard *old_guard = NULL;

        /* r takes old's seed ARN and DELETING log time, not the settings
         * not managed (said again); its guard from old's below. */
        rare_free(r);
        r->rare = TAKE_PTR(old->rare);
        if (r->rare) {
                r->rare->not_managed = mfree(r->rare->not_managed);
                old_guard = TAKE_PTR(r->rare->guard);
                rare_tidy(r);
        }
        r->seed_exported = old->seed_exported;
        if (r->obs) {
                stream_obs_done(r->obs);
                free(r->obs);
        }
        r->obs = TAKE_PTR(old->obs);
        r->last_change_sec = old->last_change_sec;
        r->deep_sec = old->deep_sec;
        r->shallow = old->shallow;
        r->quiet_last = old->quiet_last;
        /* Both hold texts of the manager's one pool. */
        text_pool_put(region_of(r)->settings.texts, r->last_error);
        r->last_error = TAKE_PTR(old->last_error);
        r->observed = old->observed;
        r->failed_last = old->failed_last;
        r->seen_not_active = old->seen_not_active;
        r->seen_updating = old->seen_updating;
        /* A shallow stream was never planned on this declaration: what
         * changed in it is checked at once, not at the stream's turn. */
        r->deep_due = old->deep_due || (r->shallow && !guard_decl_same(decl_of(r), decl_of(old)));
        if (old_guard && guard_take(r)) {
                (void) guard_adopt(guard_of(r), old_guard, decl_of(r), decl_of(old));
                guard_tidy(r);
        }
}

int reconciler_seed_arn(struct reconciler *r, const char *arn, bool exported) {
        char *a;

        if (obs_peek(r)->exists || rare_peek(r)->seed_arn)
                return 0;
        a = strdup(arn);
        if (!a || !rare_take(r)) {
                free(a);
                return -ENOMEM;
        }
        r->rare->seed_arn = a;
        r->seed_exported = exported;
        return 0;
}

int reconciler_seed_consumer(struct reconciler *r, const char *name, const char *arn) {
        struct stream_consumer_obs *n;

        if (obs_peek(r)->exists || obs_peek(r)->consumers_known)
                return 0;
        if (!r->obs && !(r->obs = calloc(1, sizeof *r->obs)))
                return -ENOMEM;
        n = reallocarray(r->obs->consumers, r->obs->n_consumers + 1, sizeof *n);
        if (!n)
                return -ENOMEM;
        r->obs->consumers = n;
        n = &r->obs->consumers[r->obs->n_consumers];
        *n = (struct stream_consumer_obs){ .name = strdup(name), .arn = strdup(arn) };
        if (!n->name || !n->arn) {
                free(n->name);
                free(n->arn);
                return -ENOMEM;
        }
        r->obs->n_consumers++;
        return 0;
}

void reconciler_seed_last_change(struct reconciler *r, uint64_t realtime_usec) {
        if (time_sec(realtime_usec) > r->last_change_sec)
                r->last_change_sec = time_sec(realtime_usec);
}

void reconciler_seed_deep_check(struct reconciler *r, uint64_t realtime_usec) {
        if (r->deep_sec == 0)
                r->deep_sec = time_sec(realtime_usec);
}

void reconciler_seed_shape(struct reconciler *r, unsigned shards, unsigned retention_hours) {
        if (obs_peek(r)->exists || (shards == 0 && retention_hours == 0))
                return;
        /* Out of memory, the stream shows 0 until its deep check: only what
         * streams.json shows of it meanwhile is lost. */
        if (!r->obs && !(r->obs = calloc(1, sizeof *r->obs)))
                return;
        r->obs->open_shards = shards;
        r->obs->retention_hours = retention_hours;
}

/* What ListStreams said of the stream (status, mode, ARN) is what the last
 * deep check found, that pass ended in sync without a change of ours, and a
 * plan on that check still finds nothing to do (a reload may have changed
 * the declaration): the listing confirms the stream without a call of its
 * own. Settings the listing does not carry wait for the next deep check. */
static bool summary_confirms(struct reconciler *r, const struct kinesis_stream_entry *e) {
        struct plan p = {};
        bool in_sync;

        if (!e->has_summary || !r->deep_sec || r->shallow || !r->quiet_last || !r->obs->exists ||
            r->obs->status != STREAM_STATUS_ACTIVE || e->status != STREAM_STATUS_ACTIVE ||
            e->mode != r->obs->mode || !e->arn || !streq_ptr(e->arn, r->obs->arn) || creation_pending(r))
                return false;
        if (plan_stream_holding(decl_of(r), r->obs,
                                conflict_held_mask(&guard_peek(r)->conflicts, clock_now_usec(CLOCK_MONOTONIC)),
                                &p) < 0)
                return false;
        in_sync = p.verdict == PLAN_IN_SYNC && p.n_actions == 0;
        plan_done(&p);
        return in_sync;
}

/* A stream not deep-checked by this process (or only from listings since),
 * not its turn for a deep check: the listing says it is there and ACTIVE,
 * and nothing else is asked of it until its turn. Not when the listing
 * contradicts what an earlier listing said, when its declaration changed,
 * when kinesisd still has settings to apply to it (a creation of ours), or
 * when it declares consumers whose ARNs no previous process exported. */
static bool listing_suffices(const struct reconciler *r, const struct kinesis_stream_entry *e) {
        if (!e->has_summary || e->status != STREAM_STATUS_ACTIVE || !e->arn || r->deep_due ||
            creation_pending(r) || r->obs->n_consumers < decl_of(r)->x->n_consumers)
                return false;
        if (r->shallow)
                return r->obs->status == STREAM_STATUS_ACTIVE && e->mode == r->obs->mode &&
                       streq_ptr(e->arn, r->obs->arn);
        return !r->obs->exists;
}

/* Take the listing as the stream's observation (listing_suffices()). */
static void settle_listed(struct reconciler *r, const struct kinesis_stream_entry *e) {
        bool changed = !r->obs->exists;

        if (!streq_ptr(r->obs->arn, e->arn)) {
                char *arn = strdup(e->arn);
                if (!arn) {
                        fail(r, false, NULL, "cannot take the listing: %s", strerror(ENOMEM));
                        return;
                }
                free(r->obs->arn);
                r->obs->arn = arn;
                changed = true;
        }
        r->obs->exists = true;
        r->obs->status = STREAM_STATUS_ACTIVE;
        r->obs->mode = e->mode;
        r->shallow = true;
        mark_observed(r);
        if (changed)
                region_of(r)->ops->changed(r, region_of(r)->owner);
        settle(r, PHASE_DONE);
}

void reconciler_start(struct reconciler *r, const struct kinesis_stream_entry *listed, bool deep) {
        bool confirmed, shallow;

        if (!r->w)
                r->w = calloc(1, sizeof *r->w);
        if (!r->obs)
                r->obs = calloc(1, sizeof *r->obs);
        if (!r->w || !r->obs) {
                reconciler_fail_pass(r, "out of memory");
                return;
        }
        confirmed = listed && !deep && summary_confirms(r, listed);
        shallow = listed && !deep && !confirmed && listing_suffices(r, listed);
        cancel_pending(r);
        r->stopping = false;
        r->settled = false;
        r->terminal = false;
        r->w->actions_this_pass = 0;
        r->drift_left = false;
        r->w->tags_fresh = r->w->consumers_fresh = r->w->policy_fresh = false;
        /* A confirmed stream is planned on its last deep check, consumers'
         * tags and policies included; a deep check reads them again. */
        for (size_t i = 0; i < r->obs->n_consumers && !confirmed; i++)
                r->obs->consumers[i].tags_known = r->obs->consumers[i].policy_known = false;
        r->w->poll_consumers = r->w->consumer_turn = false;
        consumer_slots_release(r, 0);
        r->w->wait_started = r->w->created_usec = r->w->registered_usec = 0;
        if (confirmed) {
                go_plan(r);
                return;
        }
        if (shallow) {
                settle_listed(r, listed);
                return;
        }
        if (listed) {
                describe(r);
                return;
        }
        obs_reset(r);
        slot_release(r);
        mark_observed(r);
        go_plan(r);
}

void reconciler_fail_pass(struct reconciler *r, const char *why) {
        struct log_fields f = fields(r);

        /* Each stream has its own failure record (a whole region may be
         * unreachable): once per new reason, then at debug level, so a
         * region retried every 30 s does not repeat a line per stream. */
        f.message_id = LOG_MESSAGE_STREAM_FAILED;
        log_fields(streq_ptr(r->last_error, why) ? LOG_DEBUG : LOG_ERR, &f,
                   "Stream %s failed: %s (will retry)", decl_of(r)->name, why);
        cancel_pending(r);
        r->settled = false;
        r->terminal = false;
        set_last_error(r, why);
        settle(r, PHASE_FAILED);
}

void reconciler_stop(struct reconciler *r) {
        r->stopping = true;
        if (r->phase == PHASE_POLL || r->phase == PHASE_WAIT_SLOT || r->phase == PHASE_WAIT_AWS)
                settle(r, PHASE_FAILED);
}
