/* Passes: list every region's streams, start each stream's reconciler
 * (at most START_WINDOW at once), count them as they settle, and when all
 * have, finish the pass as the run mode says (print the plan, exit, or
 * report readiness and schedule the next pass).
 *
 * Must never block the loop, and never hold a request per stream queued at
 * once: thousands of streams go through a window. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "deep-checks.h"
#include "kinesis.h"
#include "log.h"
#include "manager-internal.h"
#include "plan.h"

/* How soon a pass with a transient failure (AWS unreachable, ...) is retried,
 * when that is sooner than the resync interval. */
#define RETRY_PASS_USEC (30 * USEC_PER_SEC)
/* The least pause between the end of a pass and the start of the next. */
#define MIN_PASS_GAP_USEC (1 * USEC_PER_SEC)
/* How late the timer of a pass on schedule may fire. */
#define PASS_TIMER_ACCURACY_USEC (10 * USEC_PER_MSEC)
/* Streams started and not yet settled, at most. DescribeStreamSummary is
 * paced at 16/s: 64 keeps the pacers busy with plenty to spare. */
#define START_WINDOW 64
/* Page size for ListStreams: larger pages, fewer calls per pass. */
#define LIST_STREAMS_LIMIT 1000

static void schedule_pass(struct manager *m, uint64_t delay, uint64_t accuracy);

/* The name column of --plan: the name, or ACCOUNT/NAME (own/NAME for the
 * daemon's own account) where the configuration spans accounts. */
static char *plan_label(const struct stream_decl *d, bool accounts) {
        char *s = NULL;

        if (!accounts)
                return strdup(d->name);
        return asprintf(&s, "%s/%s", d->x->account[0] ? d->x->account : "own", d->name) < 0 ? NULL : s;
}

static void print_plan(struct manager *m) {
        size_t width = 0;
        bool changes = false, failed = false, accounts = false;

        for (size_t i = 0; i < m->n_streams; i++)
                if (!streq(reconciler_decl(manager_stream(m, i))->x->account,
                           reconciler_decl(manager_stream(m, 0))->x->account))
                        accounts = true;
        for (size_t i = 0; i < m->n_streams; i++) {
                const struct stream_decl *d = reconciler_decl(manager_stream(m, i));
                const char *account = d->x->account[0] ? d->x->account : "own";
                size_t l = strlen(d->name) + (accounts ? strlen(account) + 1 : 0);
                width = l > width ? l : width;
        }
        for (size_t i = 0; i < m->n_streams; i++) {
                const struct plan *p = reconciler_plan(manager_stream(m, i));
                const struct stream_decl *d = reconciler_decl(manager_stream(m, i));
                _cleanup_free_ char *label = plan_label(d, accounts);
                struct stream_decl shown = *d;

                if (!label) {
                        log_oom();
                        failed = true;
                        continue;
                }
                if (!p || reconciler_failed(manager_stream(m, i))) {
                        printf("? %-*s cannot observe: %s\n", (int) width, label,
                               strna(reconciler_last_error(manager_stream(m, i))));
                        failed = true;
                        continue;
                }
                /* The line names the stream as the label does; nothing else changes. */
                shown.name = label;
                _cleanup_free_ char *line = plan_format_line(&shown, p, width);
                printf("%s\n", line ? line : d->name);
                if (p->verdict == PLAN_CREATE || p->verdict == PLAN_CHANGE)
                        changes = true;
                /* What --once would fail on, as far as one look can tell: a
                 * stream it cannot observe or create, drift a spent budget
                 * leaves for later. */
                if (p->fails || p->refusal)
                        failed = true;
        }
        fflush(stdout);
        m->result = failed ? MANAGER_STREAM_FAILED : changes ? MANAGER_PLAN_CHANGES : MANAGER_OK;
}

/* The time from the start of one pass to the start of the next:
 * reconcile.interval less what the last listing took, and at most a
 * quarter of the interval less. A stream on a late page is listed that
 * much after its pass starts; starting the next pass that much earlier
 * lists it again within the interval even when that listing is slower,
 * up to twice as slow (each stream's status is confirmed at most an
 * interval apart, not only once in each interval). */
static uint64_t pass_period(const struct manager *m) {
        uint64_t interval = m->config->interval_usec, lead = m->last_listing_usec;

        return interval - (lead < interval / 4 ? lead : interval / 4);
}

/* Passes start every pass_period(), counted from the start of the last
 * one: choose_deep() spreads the deep checks on that rhythm. One that took
 * longer is followed after MIN_PASS_GAP_USEC. */
static uint64_t next_pass_delay(const struct manager *m) {
        uint64_t took = clock_now_usec(CLOCK_MONOTONIC) - m->pass_started_usec, period = pass_period(m);
        uint64_t interval = m->config->interval_usec;
        uint64_t gap = MIN_PASS_GAP_USEC < interval ? MIN_PASS_GAP_USEC : interval;

        return took + gap < period ? period - took : gap;
}

/* Before the first pass: the deep checks the last process recorded, so
 * that the round goes on where it stopped. */
static void restore_deep_checks(struct manager *m) {
        _cleanup_(deep_checks_done) struct deep_checks d = {};
        int k;

        if (!m->state)
                return;
        k = deep_checks_load(state_dir_fd(m->state), &d);
        if (k < 0) {
                if (k != -ENOENT)
                        log_warning_errno(k, "Cannot read %s/%s, deep-checking the streams afresh: %m",
                                          m->state_path, DEEP_CHECKS_FILE);
                return;
        }
        for (size_t i = 0; i < m->n_streams; i++)
                reconciler_seed_deep_check(manager_stream(m, i),
                                           deep_checks_find(&d, reconcile_region_of(manager_stream(m, i))->budget_key,
                                                            reconciler_decl(manager_stream(m, i))->name));
}

/* After a pass: every stream's last deep check, for the next process. */
static void save_deep_checks(struct manager *m) {
        _cleanup_free_ struct deep_check *v = NULL;
        int k;

        if (!writes_state(m) || !m->state)
                return;
        v = calloc(m->n_streams ? m->n_streams : 1, sizeof *v);
        if (!v) {
                log_oom();
                return;
        }
        for (size_t i = 0; i < m->n_streams; i++)
                v[i] = (struct deep_check){ reconcile_region_of(manager_stream(m, i))->budget_key,
                                            reconciler_decl(manager_stream(m, i))->name,
                                            reconciler_deep_usec(manager_stream(m, i)) };
        k = deep_checks_save(state_dir_fd(m->state), v, m->n_streams);
        if (k < 0)
                log_warning_errno(k, "Cannot write %s/%s; a restart would deep-check afresh: %m",
                                  m->state_path, DEEP_CHECKS_FILE);
}

/* Forget the region's last listing. */
static void region_drop_listing(struct region_ctx *g) {
        kinesis_stream_entries_free(g->entries, g->n_entries);
        g->entries = NULL;
        g->n_entries = 0;
}

static void pass_done(struct manager *m) {
        size_t ready = 0, converged = 0, failed = 0, transient = 0;

        m->pass_running = false;
        m->metrics.reconcile_passes++;
        m->metrics.last_pass_usec = clock_now_usec(CLOCK_REALTIME);
        m->metrics.last_pass_duration_usec = clock_now_usec(CLOCK_MONOTONIC) - m->pass_started_usec;
        if (m->pass_listed_usec > 0)
                m->last_listing_usec = m->pass_listed_usec;
        for (size_t i = 0; i < m->n_streams; i++) {
                if (reconciler_ready(manager_stream(m, i)))
                        ready++;
                if (reconciler_converged(manager_stream(m, i)))
                        converged++;
                if (reconciler_failed(manager_stream(m, i))) {
                        failed++;
                        if (!reconciler_failed_terminally(manager_stream(m, i)))
                                transient++;
                }
        }
        if (m->stopping) {
                save_deep_checks(m);
                manager_stop_finish(m);
                return;
        }
        log_full(failed ? LOG_WARNING : LOG_DEBUG, "Pass done: %zu of %zu stream%s ready, %zu failed.", ready,
                 m->n_streams, m->n_streams == 1 ? "" : "s", failed);

        switch (m->opts.mode) {
        case RUN_PLAN:
                print_plan(m);
                (void) sd_event_exit(m->event, m->result);
                return;
        case RUN_ONCE:
                manager_progress_done(m);
                /* Say once more, together, which streams failed and why: the
                 * reasons may be far up in the log. */
                for (size_t i = 0; i < m->n_streams; i++)
                        if (!reconciler_converged(manager_stream(m, i))) {
                                const struct stream_decl *d = reconciler_decl(manager_stream(m, i));
                                log_fields(LOG_ERR,
                                           (&(struct log_fields){
                                                   .stream = d->name,
                                                   .region = reconcile_region_of(manager_stream(m, i))->region }),
                                           "Stream %s (%s) is not ready: %s", d->name,
                                           reconcile_region_of(manager_stream(m, i))->region,
                                           reconciler_last_error(manager_stream(m, i))
                                                   ? reconciler_last_error(manager_stream(m, i))
                                                   : "not ACTIVE");
                        }
                (void) manager_export_now(m);
                save_deep_checks(m); /* after the exports: on a full disk they come first */
                /* Drift left as it was (a budget, a conflict) is not success,
                 * nor is a stream whose files are not all written. */
                m->result = converged == m->n_streams && !m->export_failing ? MANAGER_OK
                                                                            : MANAGER_STREAM_FAILED;
                (void) sd_event_exit(m->event, m->result);
                return;
        case RUN_DAEMON:
                m->first_pass_done = true;
                (void) manager_export_now(m);
                save_deep_checks(m);
                manager_notify_status(m);
                manager_ready_if_exported(m);
                manager_reload_pass_done(m);
                /* The pass's own memory (each stream's work while it was
                 * checked, the start queue, the listing, the export table)
                 * is free now: give its pages back until the next pass. */
                m->pending = mfree(m->pending);
                m->n_pending = m->next_pending = 0;
                for (size_t i = 0; i < m->n_regions; i++)
                        region_drop_listing(m->regions[i]);
                (void) malloc_trim(0);
                if (transient > 0 && RETRY_PASS_USEC < m->config->interval_usec)
                        schedule_pass(m, RETRY_PASS_USEC, USEC_PER_SEC);
                else { /* on time: a late timer would push every later pass */
                        uint64_t delay = next_pass_delay(m);
                        log_debug("Next pass in %.3f s, %.3f s after this one started (the interval less "
                                  "the %.3f s the listing took, at most a quarter of it).",
                                  (double) delay / USEC_PER_SEC,
                                  (double) (clock_now_usec(CLOCK_MONOTONIC) - m->pass_started_usec + delay) /
                                          USEC_PER_SEC,
                                  (double) m->last_listing_usec / USEC_PER_SEC);
                        schedule_pass(m, delay, PASS_TIMER_ACCURACY_USEC);
                }
                return;
        }
}

void manager_ready_if_exported(struct manager *m) {
        size_t ready = 0;

        /* Every stream is ACTIVE or has failed, and is exported: a unit
         * ordered after us finds what it reads. An export that failed is
         * tried again (manager-export.c), and its success calls here. */
        if (m->opts.mode != RUN_DAEMON || m->ready_sent || !m->first_pass_done || m->stopping ||
            m->export_unexported > 0)
                return;
        for (size_t i = 0; i < m->n_streams; i++)
                if (reconciler_ready(manager_stream(m, i)))
                        ready++;
        /* The line first: whoever READY=1 wakes finds it in the log. */
        log_info("Ready: %zu of %zu stream%s active and exported.", ready, m->n_streams,
                 m->n_streams == 1 ? "" : "s");
        (void) sd_notify(false, "READY=1");
        m->ready_sent = true;
}

/* Start waiting streams while the window has room. A start may settle at
 * once (and call back here): the guard turns that recursion into a loop. */
static void pump(struct manager *m) {
        if (m->pumping) {
                m->pump_again = true;
                return;
        }
        m->pumping = true;
        do {
                m->pump_again = false;
                while (!m->stopping && m->active < START_WINDOW && m->next_pending < m->n_pending) {
                        struct pending_start *p = &m->pending[m->next_pending++];
                        m->active++;
                        reconciler_start(p->r, p->listed, p->deep);
                }
        } while (m->pump_again);
        m->pumping = false;
}

static void on_settled(struct reconciler *r, void *owner) {
        struct manager *m = owner;

        m->n_settled++;
        if (!m->settling_unstarted && m->active > 0)
                m->active--;
        manager_notify_status(m);
        if (m->pass_running && m->n_settled >= m->n_streams)
                pass_done(m);
        else
                pump(m);
}

/* Settle a stream that was never started this pass. */
static void fail_unstarted(struct manager *m, struct reconciler *r, const char *why) {
        m->settling_unstarted = true;
        reconciler_fail_pass(r, why);
        m->settling_unstarted = false;
}

static void on_changed(struct reconciler *r, void *owner) {
        struct manager *m = owner;

        manager_export_soon(m);
        manager_notify_status(m);
}

static void on_change_made(struct reconciler *r, void *owner) {
        struct manager *m = owner;
        m->metrics.changes_made++;
}

static void on_conflict(struct reconciler *r, void *owner) {
        struct manager *m = owner;
        m->metrics.conflicts++;
        manager_export_soon(m);
}

static void on_call_started(void *owner) {
        struct manager *m = owner;
        m->in_flight++;
}

void manager_call_finished(void *owner) {
        struct manager *m = owner;
        if (m->in_flight > 0)
                m->in_flight--;
}

const struct reconcile_ops manager_reconcile_ops = {
        .settled = on_settled,
        .changed = on_changed,
        .change_made = on_change_made,
        .call_started = on_call_started,
        .call_finished = manager_call_finished,
        .conflict = on_conflict,
};

static int entry_cmp(const void *a, const void *b) {
        const struct kinesis_stream_entry *x = a, *y = b;
        return strcmp(x->name, y->name);
}

static const struct kinesis_stream_entry *region_lists(const struct region_ctx *g, const char *name) {
        struct kinesis_stream_entry key = { .name = (char *) name };
        return g->n_entries > 0 ? bsearch(&key, g->entries, g->n_entries, sizeof key, entry_cmp) : NULL;
}

/* Oldest deep check first; otherwise in the order of the declarations
 * (by name), so streams never checked start in the order they always did. */
static int deep_cmp(const void *a, const void *b) {
        const struct reconciler *p = ((const struct pending_start *) a)->r,
                                *q = ((const struct pending_start *) b)->r;
        uint64_t x = reconciler_deep_usec(p), y = reconciler_deep_usec(q);
        return x != y ? (x < y ? -1 : 1) : strcmp(reconciler_decl(p)->name, reconciler_decl(q)->name);
}

/* Of the DescribeStreamSummary calls the rest of the interval holds at the
 * pacer's rate, the share a pass's deep checks may take: the rest is for
 * whatever the checks find to do, and for a pacer that starts late. */
#define DEEP_ROOM_PERCENT 90

/* Deep checks that fit in what is left of the pass's period since it
 * started (the listing took the rest), at reconcile.api_share of the
 * DescribeStreamSummary limit; at least one. */
static size_t deep_room(const struct manager *m) {
        double rate = kinesis_operation_rate("DescribeStreamSummary", NULL) * m->config->api_share;
        uint64_t took = clock_now_usec(CLOCK_MONOTONIC) - m->pass_started_usec, period = pass_period(m);
        uint64_t left = took < period ? period - took : 0;
        double room = (double) left / USEC_PER_SEC * rate * DEEP_ROOM_PERCENT / 100;

        return room < 1 ? 1 : room > (double) SIZE_MAX / 2 ? SIZE_MAX / 2 : (size_t) room;
}

/* Which of a region's streams get a deep check this pass (the rest are
 * confirmed by their ListStreams summary): the oldest checked first, as many
 * as spread the region over reconcile.deep_interval less one pass_period()
 * (a check may come late in its pass); more when streams are due (never
 * checked, by this process or the one before, or one that waiting for the
 * next pass could take past deep_interval), as many of them as the period
 * has room for (deep_room()). A first pass of a small configuration so checks every
 * stream; one of thousands spreads its checks over the first passes, so
 * that no pass outlasts its period and every stream's status is still
 * listed each interval. Streams that changed, that kinesisd changed, or
 * whose declaration changed are checked anyway (reconciler_start()).
 * --once and --plan check every stream. They start in that order. */
static void choose_deep(struct manager *m, struct pending_start *p, size_t n) {
        uint64_t now = clock_now_usec(CLOCK_REALTIME), deep = m->config->deep_interval_usec;
        uint64_t period = pass_period(m);
        /* ceil(n x period / (deep_interval - period)), all when that is n
         * or more: a stream checked late in one pass and early in the pass
         * of its next turn is then still checked within deep_interval. */
        size_t quota = 2 * period >= deep
                               ? n
                               : (size_t) (((uint64_t) n * period + deep - period - 1) / (deep - period));
        size_t due = 0, room = deep_room(m);

        if (m->opts.mode != RUN_DAEMON)
                quota = n;
        if (n > 1)
                qsort(p, n, sizeof *p, deep_cmp);
        /* Oldest first: the due streams are a prefix. */
        while (due < n) {
                uint64_t last = reconciler_deep_usec(p[due].r);
                if (last != 0 && now > last && now - last + 2 * period < deep)
                        break;
                due++;
        }
        if (due > quota)
                quota = due < room ? due : room > quota ? room : quota;
        for (size_t i = 0; i < n; i++)
                p[i].deep = i < quota;
}

static void region_list(struct region_ctx *g);
static void region_account(struct region_ctx *g);

static int on_list_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct region_ctx *g = userdata;

        g->list_timer = sd_event_source_disable_unref(g->list_timer);
        if (!g->manager->stopping)
                region_list(g);
        return 0;
}

/* ListStreams throttled: list again after a backoff, until reconcile.timeout.
 * Returns true when a retry is armed. */
static bool list_waits(struct region_ctx *g, const struct kinesis_result *res) {
        struct manager *m = g->manager;
        struct log_fields f = { .region = g->shared.region };
        char why[1024];
        uint64_t delay;

        if (reconcile_wait_classify(res) != RECONCILE_WAIT_RATE || m->stopping)
                return false;
        if (reconcile_wait_refused(&g->list_wait, res, RECONCILE_WAIT_RATE, m->config->poll_usec,
                                   m->config->timeout_usec, &f, why, sizeof why, &delay) < 0)
                return false;
        return sd_event_add_time_relative(m->event, &g->list_timer, CLOCK_MONOTONIC, delay, delay / 10,
                                          on_list_timer, g) >= 0;
}

static void on_list_streams(struct kinesis_client *c, const struct kinesis_result *res,
                            struct kinesis_stream_entry *entries, size_t n, void *userdata) {
        struct region_ctx *g = userdata;
        struct manager *m = g->manager;
        uint64_t took;

        g->list_call = NULL;
        manager_call_finished(m);
        manager_reload_listed(m); /* only arms a timer: the regions stay as they are here */
        region_drop_listing(g);

        if (list_waits(g, res))
                return;
        if (kinesis_result_ok(res))
                reconcile_wait_over(&g->list_wait, &(struct log_fields){ .region = g->shared.region });
        else
                reconcile_wait_reset(&g->list_wait);
        if (!kinesis_result_ok(res)) {
                char why[512];
                if (res->error < 0)
                        snprintf(why, sizeof why, "ListStreams: %s",
                                 res->error_text ? res->error_text : strerror(-res->error));
                else
                        snprintf(why, sizeof why, "ListStreams: %s: %s", strna(res->error_type),
                                 strna(res->error_message));
                log_fields(LOG_ERR,
                           (&(struct log_fields){ .region = g->shared.region,
                                                 .aws_operation = "ListStreams",
                                                 .aws_error = res->error_type,
                                                 .aws_request_id = res->request_id }),
                           "Cannot list the streams of %s%s%s: %s", g->shared.region,
                           g->shared.account[0] ? " in account " : "", g->shared.account, why);
                /* Settle every stream of this region as failed for this pass. */
                for (size_t i = 0; i < m->n_streams; i++)
                        if (reconcile_region_of(manager_stream(m, i)) == &g->shared)
                                fail_unstarted(m, manager_stream(m, i), why);
                return;
        }

        took = clock_now_usec(CLOCK_MONOTONIC) - m->pass_started_usec;
        if (took > m->pass_listed_usec)
                m->pass_listed_usec = took;
        g->entries = entries;
        g->n_entries = n;
        if (g->n_entries > 1) /* qsort() must not see the NULL of an empty list */
                qsort(g->entries, g->n_entries, sizeof *g->entries, entry_cmp);
        region_account(g);
}

/* The region is listed: its streams may start. */
static void region_start_streams(struct region_ctx *g) {
        struct manager *m = g->manager;
        size_t first = m->n_pending;

        for (size_t i = 0; i < m->n_streams && m->n_pending < m->n_streams; i++)
                if (reconcile_region_of(manager_stream(m, i)) == &g->shared)
                        m->pending[m->n_pending++] = (struct pending_start){
                                manager_stream(m, i), region_lists(g, reconciler_decl(manager_stream(m, i))->name), true
                        };
        choose_deep(m, m->pending + first, m->n_pending - first);
        pump(m);
}

static void on_account_settings(struct kinesis_client *c, const struct kinesis_result *res, void *userdata) {
        struct region_ctx *g = userdata;
        struct manager *m = g->manager;
        char *status = NULL;
        int k = -EBADMSG;

        g->account_call = NULL;
        manager_call_finished(m);
        if (kinesis_result_ok(res))
                k = kinesis_parse_account_settings(res->body, &status);
        if (k >= 0) {
                g->account_warned = false;
                free(g->shared.commitment_status);
                g->shared.commitment_status = status;
                g->shared.commitment = strncmp(status, "ENABLED", strlen("ENABLED")) == 0 ? COMMITMENT_ENABLED
                                                                                            : COMMITMENT_NONE;
        } else {
                /* Unknown: warm throughput is then tried as declared. */
                g->shared.commitment_status = mfree(g->shared.commitment_status);
                g->shared.commitment = COMMITMENT_UNKNOWN;
                if (!g->account_warned && !kinesis_result_is_unknown_operation(res))
                        log_fields(LOG_WARNING,
                                   (&(struct log_fields){ .region = g->shared.region,
                                                         .aws_operation = "DescribeAccountSettings",
                                                         .aws_error = res->error_type }),
                                   "Cannot read the account settings of %s: %s%s%s", g->shared.region,
                                   res->error < 0 ? strna(res->error_text) : strna(res->error_type),
                                   res->error_message ? ": " : "", strempty(res->error_message));
                g->account_warned = true;
        }
        if (!m->stopping)
                region_start_streams(g);
}

/* The account's settings, once a pass, after a listing that worked (a
 * region AWS refuses to list is not asked more): the streams start once
 * they are known, since warm throughput is planned with them. */
static void region_account(struct region_ctx *g) {
        struct manager *m = g->manager;
        json_object *req = kinesis_req_describe_account_settings();
        int r = -ENOMEM;

        g->account_call = kinesis_call_cancel(g->account_call);
        if (req) {
                on_call_started(m);
                r = kinesis_call(g->shared.client, "DescribeAccountSettings", req, NULL, on_account_settings, g,
                                 &g->account_call);
                if (r < 0)
                        manager_call_finished(m);
        }
        if (r < 0)
                region_start_streams(g);
}

static void region_list(struct region_ctx *g) {
        struct manager *m = g->manager;
        int r;

        g->list_call = kinesis_call_cancel(g->list_call);
        on_call_started(m);
        r = kinesis_list_streams(g->shared.client, LIST_STREAMS_LIMIT, on_list_streams, g, &g->list_call);
        if (r < 0) {
                manager_call_finished(m);
                log_error_errno(r, "Cannot list the streams of %s: %m", g->shared.region);
                for (size_t j = 0; j < m->n_streams; j++)
                        if (reconcile_region_of(manager_stream(m, j)) == &g->shared)
                                fail_unstarted(m, manager_stream(m, j), "cannot start ListStreams");
        }
}

void manager_pass_start(struct manager *m) {
        if (m->stopping)
                return;
        m->pass_running = true;
        m->n_settled = 0;
        m->n_pending = m->next_pending = m->active = 0;
        free(m->pending);
        m->pending = calloc(m->n_streams ? m->n_streams : 1, sizeof *m->pending);
        if (!m->pending) {
                log_oom();
                m->pass_running = false;
                schedule_pass(m, RETRY_PASS_USEC, USEC_PER_SEC);
                return;
        }
        m->pass_started_usec = clock_now_usec(CLOCK_MONOTONIC);
        m->pass_listed_usec = 0;
        if (m->metrics.reconcile_passes == 0)
                restore_deep_checks(m);
        manager_progress_pass_started(m);
        if (m->n_streams == 0) {
                pass_done(m);
                return;
        }
        log_debug("Pass started: %zu stream%s in %zu region%s.", m->n_streams,
                  m->n_streams == 1 ? "" : "s", m->n_regions, m->n_regions == 1 ? "" : "s");
        for (size_t i = 0; i < m->n_regions; i++) {
                m->regions[i]->list_timer = sd_event_source_disable_unref(m->regions[i]->list_timer);
                region_list(m->regions[i]);
        }
}

static int on_pass_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct manager *m = userdata;

        m->pass_timer = sd_event_source_disable_unref(m->pass_timer);
        manager_pass_start(m);
        return 0;
}

static void schedule_pass(struct manager *m, uint64_t delay, uint64_t accuracy) {
        m->pass_timer = sd_event_source_disable_unref(m->pass_timer);
        if (sd_event_add_time_relative(m->event, &m->pass_timer, CLOCK_MONOTONIC, delay, accuracy,
                                       on_pass_timer, m) < 0)
                log_error("Cannot arm the resync timer; the next pass waits for a reload.");
}
