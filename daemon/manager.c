/* The owner object: event loop, configuration, AWS clients, reconcilers,
 * timers, state directory. It runs passes (list every region, then let each
 * stream's reconciler converge), exports state, and is the only module that
 * talks to systemd.
 *
 * It must never replace a running configuration with a broken one, never
 * block the loop, and never write anything in --plan mode. */
#include "manager.h"

#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <time.h>

#include "aws/creds.h"
#include "aws/endpoint.h"
#include "aws/http.h"
#include "config.h"
#include "kinesis.h"
#include "log.h"
#include "reconcile.h"
#include "state.h"

#define DEFAULT_STATE_DIR "/var/lib/kinesisd"
/* How soon a pass with a transient failure (AWS unreachable, ...) is retried,
 * when that is sooner than the resync interval. */
#define RETRY_PASS_USEC (30 * USEC_PER_SEC)
/* Coalesce exports: many streams change within one burst of answers. */
#define EXPORT_DELAY_USEC (50 * USEC_PER_MSEC)
#define STOP_GRACE_USEC (2 * USEC_PER_SEC)
#define EXTEND_EVERY_USEC (10 * USEC_PER_SEC)
/* The largest streams.json read back at start (for last_change). */
/* Streams started and not yet settled, at most. DescribeStreamSummary is
 * paced at 16/s: 64 keeps the pacers busy with plenty to spare. */
#define START_WINDOW 64
/* Page size for ListStreams: larger pages, fewer calls per pass. */
#define LIST_STREAMS_LIMIT 1000

struct region_ctx {
        struct reconcile_region shared; /* first: reconcilers see only this */
        struct manager *manager;
        struct kinesis_call *list_call;
        struct kinesis_stream_entry *entries; /* sorted by name */
        size_t n_entries;
};

struct manager {
        sd_event *event;
        struct run_options opts;
        struct config *config;
        char *default_region;
        char *state_path;
        struct state_dir *state;

        struct http_client *http;
        struct creds_provider *creds;
        struct region_ctx **regions;
        size_t n_regions;
        struct reconciler **streams; /* parallel to config->streams */
        size_t n_streams;

        sd_event_source *pass_timer, *export_timer, *stop_timer, *extend_timer;

        bool pass_running;
        size_t n_settled;

        /* Streams of this pass waiting to start, and how many have started and
         * not settled: at most START_WINDOW at once, so a pass over thousands
         * of streams does not hold thousands of queued requests in memory (the
         * pacers let only 16 a second through anyway). */
        struct pending_start {
                struct reconciler *r;
                bool listed;
        } *pending;
        size_t n_pending, next_pending, active;
        bool pumping, pump_again, settling_unstarted;
        unsigned in_flight;
        bool ready_sent;
        bool stopping;
        int exit_code;
        char *reload_error; /* shown in STATUS= until the next good reload */
        char *last_status;

        struct kinesis_counters counters_base; /* of clients freed by reloads */
        struct state_metrics metrics;
        uint64_t pass_started_usec;
};

static void pass_start(struct manager *m);
static void stop_finish(struct manager *m);

static uint64_t now_usec(clockid_t clock) {
        struct timespec ts;
        clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
}

static bool writes_state(const struct manager *m) {
        return m->opts.mode != RUN_PLAN;
}

/* ---- systemd ------------------------------------------------------------ */

static void notify_status(struct manager *m) {
        size_t active = 0, creating = 0, updating = 0, failed = 0, other = 0;
        char buf[512];

        if (m->opts.mode != RUN_DAEMON)
                return;
        for (size_t i = 0; i < m->n_streams; i++) {
                const struct stream_obs *o = reconciler_obs(m->streams[i]);
                if (reconciler_failed(m->streams[i]))
                        failed++;
                else if (o->exists && o->status == STREAM_STATUS_ACTIVE)
                        active++;
                else if (o->exists && o->status == STREAM_STATUS_CREATING)
                        creating++;
                else if (o->exists && o->status == STREAM_STATUS_UPDATING)
                        updating++;
                else
                        other++;
        }
        int k = snprintf(buf, sizeof buf, "%zu stream%s: %zu active", m->n_streams,
                         m->n_streams == 1 ? "" : "s", active);
#define PART(n, what)                                                                    \
        if ((n) > 0 && k > 0 && (size_t) k < sizeof buf)                                 \
                k += snprintf(buf + k, sizeof buf - (size_t) k, ", %zu " what, (size_t) (n));
        PART(creating, "creating");
        PART(updating, "updating");
        PART(failed, "failed");
        PART(other, "pending");
#undef PART
        if (m->reload_error && k > 0 && (size_t) k < sizeof buf)
                snprintf(buf + k, sizeof buf - (size_t) k, "; reload failed: %s", m->reload_error);

        if (streq_ptr(m->last_status, buf))
                return;
        free(m->last_status);
        m->last_status = strdup(buf);
        (void) sd_notifyf(false, "STATUS=%s", buf);
}

static int on_extend(sd_event_source *s, uint64_t usec, void *userdata) {
        struct manager *m = userdata;

        if (m->ready_sent || m->stopping) {
                m->extend_timer = sd_event_source_disable_unref(m->extend_timer);
                return 0;
        }
        /* Streams still converging: ask for more start-up time, a bit more
         * than until we ask again. */
        (void) sd_notifyf(false, "EXTEND_TIMEOUT_USEC=%llu",
                          (unsigned long long) (3 * EXTEND_EVERY_USEC));
        return sd_event_source_set_time_relative(s, EXTEND_EVERY_USEC);
}

/* ---- exports ------------------------------------------------------------ */

static void collect_metrics(struct manager *m, struct state_metrics *ret) {
        struct kinesis_counters c = m->counters_base;

        for (size_t i = 0; i < m->n_regions; i++) {
                const struct kinesis_counters *k = kinesis_client_counters(m->regions[i]->shared.client);
                c.attempts += k->attempts;
                c.errors += k->errors;
                c.throttles += k->throttles;
        }
        *ret = m->metrics;
        /* Every request sent counts: each page of a listing and each retry
         * is a call AWS sees and rate-limits. */
        ret->api_calls = c.attempts;
        ret->api_errors = c.errors;
        ret->api_throttled = c.throttles;
}

static int export_now(struct manager *m) {
        struct state_stream *streams = NULL;
        struct state_consumer *consumers = NULL;
        struct state_metrics metrics;
        struct state_changes ch = {};
        size_t n_consumers = 0, used = 0;
        int r;

        m->export_timer = sd_event_source_disable_unref(m->export_timer);
        if (!writes_state(m) || !m->state)
                return 0;
        /* Until AWS has answered for every stream, an export would drop the
         * .arn files and env lines of streams not looked at yet (the previous
         * run's exports are still in the directory): wait. The first answer
         * of the last stream asks for an export again. */
        for (size_t i = 0; i < m->n_streams; i++)
                if (!reconciler_observed(m->streams[i]))
                        return 0;

        for (size_t i = 0; i < m->n_streams; i++)
                n_consumers += reconciler_decl(m->streams[i])->n_consumers;
        streams = calloc(m->n_streams ? m->n_streams : 1, sizeof *streams);
        consumers = calloc(n_consumers ? n_consumers : 1, sizeof *consumers);
        if (!streams || !consumers) {
                free(streams);
                free(consumers);
                return log_oom();
        }
        for (size_t i = 0; i < m->n_streams; i++) {
                size_t want = reconciler_decl(m->streams[i])->n_consumers;
                reconciler_export(m->streams[i], &streams[i], consumers + used, want);
                used += want;
        }
        collect_metrics(m, &metrics);
        r = state_export(m->state,
                         &(struct state_export){
                                 .default_region = m->default_region,
                                 .now_usec = now_usec(CLOCK_REALTIME),
                                 .streams = streams,
                                 .n_streams = m->n_streams,
                                 .metrics = &metrics,
                         },
                         &ch);
        free(streams);
        free(consumers);
        if (r < 0)
                return log_error_errno(r, "Failed to write the state directory %s: %m", m->state_path);
        if (ch.files_written || ch.files_removed)
                log_debug("State exported: %u file(s) written, %u removed.", ch.files_written,
                          ch.files_removed);
        return 0;
}

static int on_export_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        (void) export_now(userdata);
        return 0;
}

static void export_soon(struct manager *m) {
        if (!writes_state(m) || m->export_timer)
                return;
        if (sd_event_add_time_relative(m->event, &m->export_timer, CLOCK_MONOTONIC, EXPORT_DELAY_USEC,
                                       10 * USEC_PER_MSEC, on_export_timer, m) < 0)
                (void) export_now(m);
}

/* ---- reconciler callbacks ----------------------------------------------- */

static void print_plan(struct manager *m) {
        size_t width = 0;
        bool changes = false, failed = false;

        for (size_t i = 0; i < m->n_streams; i++) {
                size_t l = strlen(reconciler_decl(m->streams[i])->name);
                width = l > width ? l : width;
        }
        for (size_t i = 0; i < m->n_streams; i++) {
                const struct plan *p = reconciler_plan(m->streams[i]);
                const struct stream_decl *d = reconciler_decl(m->streams[i]);
                if (!p || reconciler_failed(m->streams[i])) {
                        printf("? %-*s cannot observe: %s\n", (int) width, d->name,
                               strna(reconciler_last_error(m->streams[i])));
                        failed = true;
                        continue;
                }
                _cleanup_free_ char *line = plan_format_line(d, p, width);
                printf("%s\n", line ? line : d->name);
                if (p->verdict == PLAN_CREATE || p->verdict == PLAN_CHANGE)
                        changes = true;
        }
        fflush(stdout);
        m->exit_code = failed ? EXIT_STREAM_FAILED : changes ? EXIT_PLAN_CHANGES : 0;
}

static void schedule_pass(struct manager *m, uint64_t delay);

static void pass_done(struct manager *m) {
        size_t ready = 0, failed = 0, transient = 0;

        m->pass_running = false;
        m->metrics.reconcile_passes++;
        m->metrics.last_pass_usec = now_usec(CLOCK_REALTIME);
        m->metrics.last_pass_duration_usec = now_usec(CLOCK_MONOTONIC) - m->pass_started_usec;
        for (size_t i = 0; i < m->n_streams; i++) {
                if (reconciler_ready(m->streams[i]))
                        ready++;
                if (reconciler_failed(m->streams[i])) {
                        failed++;
                        if (!reconciler_failed_terminally(m->streams[i]))
                                transient++;
                }
        }
        if (m->stopping) {
                stop_finish(m);
                return;
        }
        log_full(failed ? LOG_WARNING : LOG_DEBUG, "Pass done: %zu of %zu stream%s ready, %zu failed.", ready,
                 m->n_streams, m->n_streams == 1 ? "" : "s", failed);

        switch (m->opts.mode) {
        case RUN_PLAN:
                print_plan(m);
                (void) sd_event_exit(m->event, m->exit_code);
                return;
        case RUN_ONCE:
                /* Say once more, together, which streams failed and why: the
                 * reasons may be far up in the log. */
                for (size_t i = 0; i < m->n_streams; i++)
                        if (!reconciler_ready(m->streams[i])) {
                                const struct stream_decl *d = reconciler_decl(m->streams[i]);
                                log_fields(LOG_ERR,
                                           (&(struct log_fields){
                                                   .stream = d->name,
                                                   .region = reconcile_region_of(m->streams[i])->region }),
                                           "Stream %s (%s) is not ready: %s", d->name,
                                           reconcile_region_of(m->streams[i])->region,
                                           reconciler_last_error(m->streams[i])
                                                   ? reconciler_last_error(m->streams[i])
                                                   : "not ACTIVE");
                        }
                (void) export_now(m);
                m->exit_code = ready == m->n_streams ? 0 : EXIT_STREAM_FAILED;
                (void) sd_event_exit(m->event, m->exit_code);
                return;
        case RUN_DAEMON:
                (void) export_now(m);
                notify_status(m);
                if (!m->ready_sent) {
                        /* Every stream is ACTIVE and exported, or has failed. */
                        (void) sd_notify(false, "READY=1");
                        m->ready_sent = true;
                        log_info("Ready: %zu of %zu stream%s active.", ready, m->n_streams,
                                 m->n_streams == 1 ? "" : "s");
                }
                schedule_pass(m, transient > 0 && RETRY_PASS_USEC < m->config->interval_usec
                                         ? RETRY_PASS_USEC
                                         : m->config->interval_usec);
                return;
        }
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
                        reconciler_start(p->r, p->listed);
                }
        } while (m->pump_again);
        m->pumping = false;
}

static void on_settled(struct reconciler *r, void *owner) {
        struct manager *m = owner;

        m->n_settled++;
        if (!m->settling_unstarted && m->active > 0)
                m->active--;
        notify_status(m);
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

        export_soon(m);
        notify_status(m);
}

static void on_change_made(struct reconciler *r, void *owner) {
        struct manager *m = owner;
        m->metrics.changes_made++;
}

static void on_call_started(void *owner) {
        struct manager *m = owner;
        m->in_flight++;
}

static void on_call_finished(void *owner) {
        struct manager *m = owner;
        if (m->in_flight > 0)
                m->in_flight--;
}

static const struct reconcile_ops reconcile_ops = {
        .settled = on_settled,
        .changed = on_changed,
        .change_made = on_change_made,
        .call_started = on_call_started,
        .call_finished = on_call_finished,
};

/* ---- passes ------------------------------------------------------------- */

static int entry_cmp(const void *a, const void *b) {
        const struct kinesis_stream_entry *x = a, *y = b;
        return strcmp(x->name, y->name);
}

static bool region_lists(const struct region_ctx *g, const char *name) {
        struct kinesis_stream_entry key = { .name = (char *) name };
        return g->n_entries > 0 &&
               bsearch(&key, g->entries, g->n_entries, sizeof key, entry_cmp) != NULL;
}

static void on_list_streams(struct kinesis_client *c, const struct kinesis_result *res,
                            struct kinesis_stream_entry *entries, size_t n, void *userdata) {
        struct region_ctx *g = userdata;
        struct manager *m = g->manager;

        g->list_call = NULL;
        on_call_finished(m);
        kinesis_stream_entries_free(g->entries, g->n_entries);
        g->entries = NULL;
        g->n_entries = 0;

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
                           "Cannot list the streams of %s: %s", g->shared.region, why);
                /* Settle every stream of this region as failed for this pass. */
                for (size_t i = 0; i < m->n_streams; i++)
                        if (m->streams[i] &&
                            reconcile_region_of(m->streams[i]) == &g->shared)
                                fail_unstarted(m, m->streams[i], why);
                return;
        }

        g->entries = entries;
        g->n_entries = n;
        if (g->n_entries > 1) /* qsort() must not see the NULL of an empty list */
                qsort(g->entries, g->n_entries, sizeof *g->entries, entry_cmp);
        for (size_t i = 0; i < m->n_streams && m->n_pending < m->n_streams; i++)
                if (reconcile_region_of(m->streams[i]) == &g->shared)
                        m->pending[m->n_pending++] = (struct pending_start){
                                m->streams[i], region_lists(g, reconciler_decl(m->streams[i])->name)
                        };
        pump(m);
}

static void pass_start(struct manager *m) {
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
                schedule_pass(m, RETRY_PASS_USEC);
                return;
        }
        m->pass_started_usec = now_usec(CLOCK_MONOTONIC);
        if (m->n_streams == 0) {
                pass_done(m);
                return;
        }
        log_debug("Pass started: %zu stream%s in %zu region%s.", m->n_streams,
                  m->n_streams == 1 ? "" : "s", m->n_regions, m->n_regions == 1 ? "" : "s");
        for (size_t i = 0; i < m->n_regions; i++) {
                struct region_ctx *g = m->regions[i];
                int r;

                g->list_call = kinesis_call_cancel(g->list_call);
                on_call_started(m);
                r = kinesis_list_streams(g->shared.client, LIST_STREAMS_LIMIT, on_list_streams, g,
                                         &g->list_call);
                if (r < 0) {
                        on_call_finished(m);
                        log_error_errno(r, "Cannot list the streams of %s: %m", g->shared.region);
                        for (size_t j = 0; j < m->n_streams; j++)
                                if (reconcile_region_of(m->streams[j]) == &g->shared)
                                        fail_unstarted(m, m->streams[j], "cannot start ListStreams");
                }
        }
}

static int on_pass_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct manager *m = userdata;

        m->pass_timer = sd_event_source_disable_unref(m->pass_timer);
        pass_start(m);
        return 0;
}

static void schedule_pass(struct manager *m, uint64_t delay) {
        m->pass_timer = sd_event_source_disable_unref(m->pass_timer);
        if (sd_event_add_time_relative(m->event, &m->pass_timer, CLOCK_MONOTONIC, delay, USEC_PER_SEC,
                                       on_pass_timer, m) < 0)
                log_error("Cannot arm the resync timer; the next pass waits for a reload.");
}

/* ---- building from a configuration -------------------------------------- */

static struct region_ctx *region_free(struct region_ctx *g) {
        if (!g)
                return NULL;
        kinesis_call_cancel(g->list_call);
        kinesis_client_free(g->shared.client);
        kinesis_stream_entries_free(g->entries, g->n_entries);
        free(g->shared.region);
        free(g);
        return NULL;
}

/* Tear down what a configuration built (not the loop, the HTTP client or the
 * state directory). Counters of the freed clients are kept for metrics. */
static void manager_teardown(struct manager *m, struct reconciler ***ret_old, size_t *ret_n_old) {
        /* The pass in progress is abandoned with the reconcilers it names. */
        m->n_pending = m->next_pending = m->active = 0;
        m->pass_running = false;
        for (size_t i = 0; i < m->n_regions; i++) {
                struct region_ctx *g = m->regions[i];
                const struct kinesis_counters *k = kinesis_client_counters(g->shared.client);
                m->counters_base.attempts += k->attempts;
                m->counters_base.errors += k->errors;
                m->counters_base.throttles += k->throttles;
                g->list_call = kinesis_call_cancel(g->list_call);
        }
        if (ret_old) {
                *ret_old = TAKE_PTR(m->streams);
                *ret_n_old = m->n_streams;
        } else {
                for (size_t i = 0; i < m->n_streams; i++)
                        reconciler_free(m->streams[i]);
                free(m->streams);
        }
        m->streams = NULL;
        m->n_streams = 0;
        m->in_flight = 0;
}

static void regions_free(struct region_ctx **regions, size_t n) {
        for (size_t i = 0; i < n; i++)
                region_free(regions[i]);
        free(regions);
}

static struct region_ctx *region_find(struct region_ctx **regions, size_t n, const char *region) {
        for (size_t i = 0; i < n; i++)
                if (streq(regions[i]->shared.region, region))
                        return regions[i];
        return NULL;
}

/* A stream's own region (or its defaults'), else the default region; --region
 * replaces aws.region, and with it the region streams inherited from it. */
static const char *stream_region(const struct manager *m, const struct stream_decl *d,
                                 const char *default_region) {
        if (!d->region || (m->opts.region && d->region_inherited))
                return default_region;
        return d->region;
}

struct built {
        char *default_region;
        struct creds_provider *creds;
        struct region_ctx **regions;
        size_t n_regions;
};

static void built_done(struct built *b) {
        regions_free(b->regions, b->n_regions);
        creds_provider_free(b->creds);
        free(b->default_region);
        *b = (struct built){};
}

/* Everything a configuration needs from the environment: region, endpoints,
 * credentials. Fails (and logs) without touching the running setup. */
static int build(struct manager *m, const struct config *c, struct built *ret) {
        struct built b = {};
        int r;

        r = endpoint_resolve_region(m->opts.region, c->region, c->profile, &b.default_region, NULL);
        if (r < 0 && c->n_streams > 0) {
                bool all_have_region = true;
                for (size_t i = 0; i < c->n_streams; i++)
                        if (!stream_region(m, &c->streams[i], NULL))
                                all_have_region = false;
                if (!all_have_region) {
                        log_error_errno(r, "No AWS region: set aws.region, --region or AWS_REGION%s.",
                                        r == -EINVAL ? " (the one given is not a region name)" : "");
                        return -EINVAL;
                }
        }

        r = creds_provider_new(m->event, m->http,
                               &(struct creds_options){ .profile = c->profile }, &b.creds);
        if (r < 0) {
                built_done(&b);
                return log_error_errno(r, "Cannot set up the AWS credential chain: %m");
        }

        for (size_t i = 0; i < c->n_streams; i++) {
                const char *region = stream_region(m, &c->streams[i], b.default_region);
                _cleanup_free_ char *endpoint = NULL;
                struct endpoint_setting es;
                struct region_ctx *g;
                struct region_ctx **n;

                if (region_find(b.regions, b.n_regions, region))
                        continue;
                endpoint_kinesis_setting(m->opts.endpoint, c->endpoint, &es);
                r = endpoint_kinesis_url(&es, region, &endpoint);
                if (r < 0) {
                        const char *src = es.source, *url = es.value;
                        if (r == -EPERM)
                                log_error_errno(r, "Refusing the endpoint %s (from %s) for %s: plain http:// "
                                                   "is allowed only to loopback hosts.", strna(url), src, region);
                        else
                                log_error_errno(r, "Invalid Kinesis endpoint %s (from %s) for %s: %m", strna(url),
                                                src, region);
                        built_done(&b);
                        return r;
                }
                g = calloc(1, sizeof *g);
                n = realloc(b.regions, (b.n_regions + 1) * sizeof *n);
                if (!g || !n) {
                        free(g);
                        if (n)
                                b.regions = n;
                        built_done(&b);
                        return log_oom();
                }
                b.regions = n;
                g->manager = m;
                g->shared.region = strdup(region);
                b.regions[b.n_regions++] = g;
                if (!g->shared.region) {
                        built_done(&b);
                        return log_oom();
                }
                r = kinesis_client_new(m->http, b.creds, region, endpoint,
                                       &(struct kinesis_options){ .rate_fraction = 0.8 },
                                       &g->shared.client);
                if (r < 0) {
                        built_done(&b);
                        return log_error_errno(r, "Cannot set up the Kinesis client for %s: %m", region);
                }
                log_debug("Region %s: endpoint %s.", region, endpoint);
        }
        *ret = b;
        return 0;
}

/* Lookups by (region, name) over thousands of streams: a sorted copy of the
 * pointers and binary search, not a scan per stream. */
struct stream_key {
        const char *region, *name;
};

static int key_cmp(const struct stream_key *k, const struct reconciler *r) {
        int c = strcmp(k->region, reconcile_region_of(r)->region);
        return c ? c : strcmp(k->name, reconciler_decl(r)->name);
}

static int index_cmp(const void *a, const void *b) {
        const struct reconciler *x = *(struct reconciler *const *) a, *y = *(struct reconciler *const *) b;
        struct stream_key k = { reconcile_region_of(x)->region, reconciler_decl(x)->name };
        return key_cmp(&k, y);
}

static int index_search_cmp(const void *k, const void *e) {
        return key_cmp(k, *(struct reconciler *const *) e);
}

/* A sorted copy of v, or NULL (n == 0, or out of memory: callers then find nothing). */
static struct reconciler **index_new(struct reconciler **v, size_t n) {
        struct reconciler **x;

        if (n == 0 || !(x = malloc(n * sizeof *x)))
                return NULL;
        memcpy(x, v, n * sizeof *x);
        qsort(x, n, sizeof *x, index_cmp);
        return x;
}

static struct reconciler *index_find(struct reconciler **index, size_t n, const char *region,
                                     const char *name) {
        struct stream_key k = { region, name };
        struct reconciler **hit;

        if (!index)
                return NULL;
        hit = bsearch(&k, index, n, sizeof *index, index_search_cmp);
        return hit ? *hit : NULL;
}

/* Swap in a new configuration that build() accepted. Takes c and b. */
static int apply(struct manager *m, struct config *c, struct built *b) {
        struct reconciler **old = NULL;
        size_t n_old = 0;
        struct region_ctx **old_regions = m->regions;
        size_t n_old_regions = m->n_regions;
        struct reconcile_settings settings = {
                .poll_usec = c->poll_usec,
                .timeout_usec = c->timeout_usec,
                .plan_only = m->opts.mode == RUN_PLAN,
        };
        int r = 0;

        manager_teardown(m, &old, &n_old);
        _cleanup_free_ struct reconciler **old_index = index_new(old, n_old);
        if (n_old > 0 && !old_index)
                r = log_oom();

        m->regions = TAKE_PTR(b->regions);
        m->n_regions = b->n_regions;
        b->n_regions = 0;
        creds_provider_free(m->creds);
        m->creds = TAKE_PTR(b->creds);
        free(m->default_region);
        m->default_region = TAKE_PTR(b->default_region);

        m->streams = calloc(c->n_streams ? c->n_streams : 1, sizeof *m->streams);
        if (!m->streams)
                r = log_oom();
        for (size_t i = 0; r >= 0 && i < c->n_streams; i++) {
                const struct stream_decl *d = &c->streams[i];
                const char *region = stream_region(m, d, m->default_region);
                struct region_ctx *g = region_find(m->regions, m->n_regions, region);
                struct reconciler *o;

                r = reconciler_new(m->event, d, &g->shared, &settings, &reconcile_ops, m, &m->streams[i]);
                if (r < 0) {
                        log_oom();
                        break;
                }
                m->n_streams++;
                o = index_find(old_index, n_old, region, d->name);
                if (o)
                        reconciler_adopt(m->streams[i], o);
        }

        /* Streams whose declaration is gone: never deleted, only forgotten. */
        _cleanup_free_ struct reconciler **new_index = index_new(m->streams, m->n_streams);
        for (size_t i = 0; i < n_old; i++) {
                const struct stream_decl *d = reconciler_decl(old[i]);
                const char *region = reconcile_region_of(old[i])->region;
                bool kept = index_find(new_index, m->n_streams, region, d->name) != NULL;
                if (!kept)
                        log_fields(LOG_NOTICE, (&(struct log_fields){ .stream = d->name, .region = region }),
                                   "Stream %s is no longer declared: left in AWS as it is, removed "
                                   "from the exports.", d->name);
                reconciler_free(old[i]);
        }
        free(old);
        regions_free(old_regions, n_old_regions);
        config_free(m->config);
        m->config = c;
        return r;
}

static int open_state(struct manager *m, const struct config *c) {
        const char *p = m->opts.state_dir;
        const char *env = getenv("STATE_DIRECTORY");
        _cleanup_free_ char *first = NULL;
        struct state_dir *d = NULL;
        int r;

        if (!p)
                p = c->state_dir;
        if (!p && env && *env) {
                /* systemd may list several, separated by ':'; ours is the first. */
                first = strndup(env, strcspn(env, ":"));
                if (!first)
                        return log_oom();
                p = first;
        }
        if (!p)
                p = DEFAULT_STATE_DIR;
        if (m->state && streq_ptr(m->state_path, p))
                return 0;
        r = state_dir_open(p, &d);
        if (r < 0)
                return log_error_errno(r, "Cannot open the state directory %s: %m", p);
        state_dir_free(m->state);
        m->state = d;
        free(m->state_path);
        m->state_path = strdup(p);
        return m->state_path ? 0 : log_oom();
}

static bool parse_rfc3339(const char *s, uint64_t *ret) {
        struct tm tm = {};
        const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
        time_t t;

        if (!end || *end)
                return false;
        t = timegm(&tm);
        if (t <= 0)
                return false;
        *ret = (uint64_t) t * USEC_PER_SEC;
        return true;
}

/* One `"key":"value"` line of our own streams.json (state.c writes one
 * field per line). Values with escapes are not ours to trust here: skipped.
 * Returns false if the line is not of that shape. */
static bool seed_line(char *line, const char **ret_key, const char **ret_value) {
        char *k, *v, *e;

        while (*line == ' ')
                line++;
        if (*line != '"')
                return false;
        k = line + 1;
        e = strchr(k, '"');
        if (!e || e[1] != ':')
                return false;
        *e = 0;
        v = e + 2;
        if (*v != '"') {
                *ret_key = k;
                *ret_value = NULL; /* null, a number, or an opening brace */
                return true;
        }
        v++;
        e = strchr(v, '"');
        if (!e || memchr(v, '\\', (size_t) (e - v)))
                return false;
        *e = 0;
        *ret_key = k;
        *ret_value = v;
        return true;
}

/* A new process knows nothing of what an earlier run exported: take each
 * stream's last_change, ARN and consumer ARNs from the streams.json it left,
 * so that this run neither rewrites an unchanged file (and wakes its
 * watchers) only to say "never", nor takes ARNs away while AWS cannot be
 * asked. Read line by line in state.c's fixed layout, not as a JSON tree:
 * with thousands of streams the tree was the daemon's largest allocation.
 * Anything else is ignored: this only seeds what AWS will confirm. */
static void seed_from_previous_export(struct manager *m) {
        _cleanup_free_ struct reconciler **index = NULL;
        _cleanup_free_ char *line = NULL;
        _cleanup_free_ char *name = NULL, *region = NULL, *arn = NULL;
        size_t cap = 0;
        bool in_consumers = false;
        uint64_t last_change = 0;
        struct reconciler *r = NULL;
        FILE *f;
        int fd;

        if (!m->state || m->n_streams == 0)
                return;
        fd = openat(state_dir_fd(m->state), "streams.json", O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        if (fd < 0)
                return;
        f = fdopen(fd, "r");
        if (!f) {
                close(fd);
                return;
        }
        index = index_new(m->streams, m->n_streams);
        while (index && getline(&line, &cap, f) > 0) {
                const char *key, *value;
                size_t l = strlen(line);

                while (l > 0 && (line[l - 1] == '\n' || line[l - 1] == ','))
                        line[--l] = 0;
                if (streq(line, "    {")) { /* a stream begins */
                        name = mfree(name);
                        region = mfree(region);
                        arn = mfree(arn);
                        last_change = 0;
                        r = NULL;
                        in_consumers = false;
                        continue;
                }
                if (streq(line, "      }")) { /* the consumers end */
                        in_consumers = false;
                        continue;
                }
                if (streq(line, "    }")) { /* the stream ends */
                        if (r && last_change)
                                reconciler_seed_last_change(r, last_change);
                        r = NULL;
                        continue;
                }
                if (!seed_line(line, &key, &value))
                        continue;
                if (in_consumers) {
                        if (r && value && strncmp(value, "arn:", 4) == 0)
                                (void) reconciler_seed_consumer(r, key, value);
                        continue;
                }
                if (streq(key, "consumers"))
                        in_consumers = l > 0 && line[l - 1] == '{'; /* "{}" opens nothing */
                else if (!value)
                        continue;
                else if (streq(key, "name"))
                        free(name), name = strdup(value);
                else if (streq(key, "region")) {
                        free(region), region = strdup(value);
                        /* name comes first, region second: the stream is known now. */
                        r = name && region ? index_find(index, m->n_streams, region, name) : NULL;
                } else if (streq(key, "arn")) {
                        if (r && strncmp(value, "arn:", 4) == 0)
                                (void) reconciler_seed_arn(r, value);
                } else if (streq(key, "last_change")) {
                        if (!parse_rfc3339(value, &last_change))
                                last_change = 0;
                }
        }
        fclose(f);
}

static void log_config_errors(const struct config_errors *e, int level, const char *message_id) {
        for (size_t i = 0; i < e->n; i++)
                log_fields(level, (&(struct log_fields){ .message_id = message_id }), "%s", e->messages[i]);
        if (e->n_dropped > 0)
                log_fields(level, (&(struct log_fields){ .message_id = message_id }), "... and %zu more errors",
                           e->n_dropped);
}

/* Load and validate; logs every error. Returns the config or NULL. */
static int load_config(struct manager *m, struct config **ret, char **ret_first_error) {
        struct config_errors errors = {}, warnings = {};
        struct config *c = NULL;
        int r;

        r = config_load(m->opts.config_path, &c, &errors, &warnings);
        log_config_errors(&warnings, LOG_WARNING, NULL);
        if (r < 0) {
                if (errors.n == 0)
                        log_fields_errno(LOG_ERR, r,
                                         (&(struct log_fields){ .message_id = LOG_MESSAGE_CONFIG_REJECTED }),
                                         "%s: %m", m->opts.config_path);
                log_config_errors(&errors, LOG_ERR, LOG_MESSAGE_CONFIG_REJECTED);
                if (ret_first_error) {
                        if (errors.n > 0)
                                *ret_first_error = strdup(errors.messages[0]);
                        else
                                (void) asprintf(ret_first_error, "%s: %s", m->opts.config_path,
                                                strerror(-r));
                }
                config_errors_done(&errors);
                config_errors_done(&warnings);
                return -EINVAL;
        }
        config_errors_done(&errors);
        config_errors_done(&warnings);
        *ret = c;
        return 0;
}

/* ---- signals ------------------------------------------------------------ */

static void stop_finish(struct manager *m) {
        m->stop_timer = sd_event_source_disable_unref(m->stop_timer);
        if (writes_state(m))
                (void) export_now(m);
        (void) sd_event_exit(m->event, m->opts.mode == RUN_DAEMON ? 0 : EXIT_STREAM_FAILED);
}

static int on_stop_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct manager *m = userdata;
        log_debug("Abandoning %u request(s) still in flight.", m->in_flight);
        stop_finish(m);
        return 0;
}

static int on_terminate(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        struct manager *m = userdata;

        if (m->stopping) {
                stop_finish(m);
                return 0;
        }
        log_info("Received %s, stopping.", strsignal((int) si->ssi_signo));
        m->stopping = true;
        (void) sd_notify(false, "STOPPING=1");
        m->pass_timer = sd_event_source_disable_unref(m->pass_timer);
        for (size_t i = 0; i < m->n_regions; i++)
                if (m->regions[i]->list_call) {
                        m->regions[i]->list_call = kinesis_call_cancel(m->regions[i]->list_call);
                        on_call_finished(m);
                }
        /* Streams this pass has not started yet have nothing to finish. */
        m->n_settled += m->n_pending - m->next_pending;
        m->next_pending = m->n_pending;
        for (size_t i = 0; i < m->n_streams; i++)
                reconciler_stop(m->streams[i]);
        if (m->in_flight == 0) {
                stop_finish(m);
                return 0;
        }
        /* Let the requests in flight finish, so a change AWS made is seen and
         * exported; abandon them after the grace period. */
        if (sd_event_add_time_relative(m->event, &m->stop_timer, CLOCK_MONOTONIC, STOP_GRACE_USEC,
                                       10 * USEC_PER_MSEC, on_stop_timer, m) < 0)
                stop_finish(m);
        return 0;
}

static int on_reload(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        struct manager *m = userdata;
        struct config *c = NULL;
        struct built b = {};
        const char *ca_bundle;
        char *first = NULL;
        int r;

        if (m->opts.mode != RUN_DAEMON || m->stopping)
                return 0;
        (void) sd_notifyf(false, "RELOADING=1\nMONOTONIC_USEC=%llu",
                          (unsigned long long) now_usec(CLOCK_MONOTONIC));
        log_info("Reloading the configuration from %s.", m->opts.config_path);

        r = load_config(m, &c, &first);
        if (r >= 0)
                r = build(m, c, &b);
        if (r >= 0)
                r = open_state(m, c);
        if (r < 0) {
                if (!first)
                        first = strdup("see the journal");
                log_fields(LOG_ERR, (&(struct log_fields){ .message_id = LOG_MESSAGE_CONFIG_REJECTED }),
                           "Configuration rejected, keeping the running one.");
                config_free(c);
                built_done(&b);
                free(m->reload_error);
                m->reload_error = first;
                m->metrics.config_reload_failed = true;
                free(m->last_status);
                m->last_status = NULL;
                notify_status(m);
                (void) sd_notify(false, "READY=1");
                export_soon(m);
                return 0;
        }
        m->reload_error = mfree(m->reload_error);
        m->metrics.config_reload_failed = false;
        m->pass_timer = sd_event_source_disable_unref(m->pass_timer);
        ca_bundle = endpoint_ca_bundle(c->ca_bundle);
        r = http_client_set_ca_bundle(m->http, ca_bundle);
        if (r < 0)
                log_error_errno(r, "Cannot switch to the CA bundle %s, keeping the old one: %m", ca_bundle);
        else if (r > 0)
                log_info("TLS: new connections verify with %s.",
                         ca_bundle ? ca_bundle : "the system's CA store");
        r = apply(m, c, &b);
        built_done(&b);
        log_info("Configuration reloaded: %zu stream%s.", m->n_streams, m->n_streams == 1 ? "" : "s");
        export_soon(m);
        free(m->last_status);
        m->last_status = NULL;
        notify_status(m);
        (void) sd_notify(false, "READY=1");
        if (r < 0)
                return 0;
        pass_start(m);
        return 0;
}

/* ---- the object --------------------------------------------------------- */

static struct manager *manager_free(struct manager *m) {
        if (!m)
                return NULL;
        manager_teardown(m, NULL, NULL);
        regions_free(m->regions, m->n_regions);
        creds_provider_free(m->creds);
        http_client_free(m->http);
        sd_event_source_disable_unref(m->pass_timer);
        sd_event_source_disable_unref(m->export_timer);
        sd_event_source_disable_unref(m->stop_timer);
        sd_event_source_disable_unref(m->extend_timer);
        state_dir_free(m->state);
        config_free(m->config);
        free(m->default_region);
        free(m->state_path);
        free(m->reload_error);
        free(m->last_status);
        free(m->pending);
        sd_event_unref(m->event);
        free(m);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct manager *, manager_free);

static int manager_new(const struct run_options *o, struct manager **ret) {
        _cleanup_(manager_freep) struct manager *m = NULL;
        sigset_t mask;
        int r;

        m = calloc(1, sizeof *m);
        if (!m)
                return log_oom();
        m->opts = *o;

        r = sd_event_default(&m->event);
        if (r < 0)
                return log_error_errno(r, "Cannot create the event loop: %m");

        /* Signals arrive through signalfd: block them first. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "Cannot block signals: %m");
        r = sd_event_add_signal(m->event, NULL, SIGTERM, on_terminate, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT, on_terminate, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGHUP, on_reload, m);
        if (r < 0)
                return log_error_errno(r, "Cannot watch signals: %m");
        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                log_warning_errno(r, "Cannot set up the watchdog, ignoring: %m");

        *ret = TAKE_PTR(m);
        return 0;
}

int manager_main(const struct run_options *opts) {
        _cleanup_(manager_freep) struct manager *m = NULL;
        struct config *c = NULL;
        struct built b = {};
        struct http_client_options ho;
        int r;

        r = http_global_init();
        if (r < 0)
                return log_error_errno(r, "Cannot initialize the HTTP library: %m"), EXIT_FAILURE;

        r = manager_new(opts, &m);
        if (r < 0)
                goto out_fail;

        if (load_config(m, &c, NULL) < 0) {
                r = EXIT_CONFIG;
                goto out;
        }
        if (c->n_streams == 0)
                log_warning("%s declares no stream.", opts->config_path);

        http_client_options_default(&ho);
        ho.ca_bundle = endpoint_ca_bundle(c->ca_bundle);
        r = http_client_new(m->event, &ho, &m->http);
        if (r < 0) {
                config_free(c);
                log_error_errno(r, "Cannot set up HTTP: %m");
                goto out_fail;
        }
        if (build(m, c, &b) < 0) {
                config_free(c);
                r = EXIT_CONFIG;
                goto out;
        }
        if (writes_state(m) && open_state(m, c) < 0) {
                config_free(c);
                built_done(&b);
                goto out_fail;
        }
        r = apply(m, c, &b);
        built_done(&b);
        if (r < 0)
                goto out_fail;
        if (writes_state(m))
                seed_from_previous_export(m);

        if (opts->mode == RUN_DAEMON) {
                notify_status(m);
                r = sd_event_add_time_relative(m->event, &m->extend_timer, CLOCK_MONOTONIC,
                                               EXTEND_EVERY_USEC, USEC_PER_SEC, on_extend, m);
                if (r < 0)
                        log_debug_errno(r, "Cannot arm the start-up extension timer, ignoring: %m");
        }
        pass_start(m);
        r = sd_event_loop(m->event);
        if (r < 0) {
                log_error_errno(r, "Event loop failed: %m");
                goto out_fail;
        }
        goto out;

out_fail:
        r = EXIT_FAILURE;
out:
        m = manager_free(m);
        http_global_cleanup();
        return r;
}
