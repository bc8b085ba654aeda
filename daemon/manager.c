/* The owner object (manager.h): its life (new, load, start, loop, free),
 * building what a configuration needs (region, endpoints, credentials,
 * clients), swapping configurations on reload, and the signals. Passes,
 * exports and STATUS= live beside it in manager-pass.c, manager-export.c and
 * manager-notify.c; with them it is the only module that talks to systemd.
 *
 * It must never replace a running configuration with a broken one, never
 * block the loop, and never write anything in --plan mode. */
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "aws/arn.h"
#include "aws/endpoint.h"
#include "log.h"
#include "manager-internal.h"
#include "reload-client.h"

/* Requests in flight at SIGTERM get this long to finish. */
#define STOP_GRACE_USEC (2 * USEC_PER_SEC)
/* How late the stop timer may fire, to be woken together with others. */
#define STOP_ACCURACY_USEC (10 * USEC_PER_MSEC)
/* A reload holds further SIGHUPs (as one queued reload) at least this long,
 * even when its listing came back at once: a storm of signals (a script
 * looping over systemctl reload) then costs a ListStreams per region a
 * second, not one per signal. */
#define RELOAD_HOLDOFF_USEC (1 * USEC_PER_SEC)
#define RELOAD_ACCURACY_USEC (10 * USEC_PER_MSEC)
/* `kinesisd --reload` processes waiting at once, at most: more are answered
 * at once as failed (the kernel queues only so many signals anyway). */
#define RELOAD_WAITERS_MAX 256

/* ---- building from a configuration -------------------------------------- */

static struct region_ctx *region_free(struct region_ctx *g) {
        if (!g)
                return NULL;
        kinesis_call_cancel(g->list_call);
        kinesis_call_cancel(g->account_call);
        free(g->shared.commitment_status);
        sd_event_source_disable_unref(g->list_timer);
        reconcile_wait_reset(&g->list_wait);
        reconcile_region_done(&g->shared);
        kinesis_client_free(g->shared.client);
        kinesis_stream_entries_free(g->entries, g->n_entries);
        free(g->shared.region);
        free(g->shared.budget_key);
        free(g);
        return NULL;
}

/* Tear down what a configuration built (not the loop, the HTTP client or the
 * state directory). Counters of the freed clients are kept for metrics. */
static void manager_teardown(struct manager *m, struct reconciler **ret_old_block, size_t *ret_n_old) {
        /* The pass in progress is abandoned with the reconcilers it names. */
        m->n_pending = m->next_pending = m->active = 0;
        m->pass_running = false;
        for (size_t i = 0; i < m->n_regions; i++) {
                struct region_ctx *g = m->regions[i];
                const struct kinesis_counters *k = kinesis_client_counters(g->shared.client);
                m->counters_base.attempts += k->attempts;
                m->counters_base.sent += k->sent;
                m->counters_base.errors += k->errors;
                m->counters_base.throttles += k->throttles;
                g->list_call = kinesis_call_cancel(g->list_call);
                g->account_call = kinesis_call_cancel(g->account_call);
                g->list_timer = sd_event_source_disable_unref(g->list_timer);
        }
        if (ret_old_block) {
                *ret_old_block = TAKE_PTR(m->stream_block);
                *ret_n_old = m->n_streams;
        } else {
                for (size_t i = 0; i < m->n_streams; i++)
                        reconciler_done(manager_stream(m, i));
                reconcilers_free(m->stream_block);
        }
        m->stream_block = NULL;
        m->n_streams = 0;
        m->in_flight = 0;
}

static void regions_free(struct region_ctx **regions, size_t n) {
        for (size_t i = 0; i < n; i++)
                region_free(regions[i]);
        free(regions);
}

/* The index of the region, or n if none. */
static size_t region_index(struct region_ctx **regions, size_t n, const char *account, const char *region) {
        for (size_t i = 0; i < n; i++)
                if (streq(regions[i]->shared.account, account) && streq(regions[i]->shared.region, region))
                        return i;
        return n;
}

static struct region_ctx *region_find(struct region_ctx **regions, size_t n, const char *account,
                                      const char *region) {
        size_t i = region_index(regions, n, account, region);
        return i < n ? regions[i] : NULL;
}

static void roles_free(struct manager_role *roles, size_t n) {
        for (size_t i = 0; i < n; i++)
                creds_provider_free(roles[i].creds);
        free(roles);
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
        struct manager_role *roles;
        size_t n_roles;
        struct region_ctx **regions;
        size_t n_regions;
};

static void built_done(struct built *b) {
        regions_free(b->regions, b->n_regions);
        roles_free(b->roles, b->n_roles);
        creds_provider_free(b->creds);
        free(b->default_region);
        *b = (struct built){};
}

/* A role's streams are booked as ACCOUNT-REGION (struct reconcile_region). */
_Static_assert(ARN_ACCOUNT_SIZE + ENDPOINT_REGION_MAX <= BUDGET_REGION_MAX, "budget key too long");

/* The credentials of d's role (d->account set): assumed from the daemon's
 * own, once per account (config.c sees to it that an account's streams name
 * one role and external ID). STS is asked in the daemon's region, else in
 * the stream's. */
static int role_creds(struct manager *m, struct built *b, const struct config *c, const struct stream_decl *d,
                      const char *region, struct creds_provider **ret) {
        struct manager_role *n;
        int r;

        for (size_t i = 0; i < b->n_roles; i++)
                if (streq(b->roles[i].account, d->x->account)) {
                        *ret = b->roles[i].creds;
                        return 0;
                }
        n = reallocarray(b->roles, b->n_roles + 1, sizeof *n);
        if (!n)
                return log_oom();
        b->roles = n;
        n = &b->roles[b->n_roles];
        *n = (struct manager_role){};
        strcpy(n->account, d->x->account);
        r = creds_provider_new_role(m->event, m->http, b->creds,
                                    &(struct creds_role_options){
                                            .role_arn = d->x->role_arn,
                                            .external_id = d->x->external_id,
                                            .region = b->default_region ?: region,
                                    },
                                    &n->creds);
        if (r < 0)
                return log_error_errno(r, "%s:%u:%u: stream %s: cannot set up the role %s: %m", c->files[d->file],
                                       d->line, d->column, d->name, d->x->role_arn);
        b->n_roles++;
        *ret = n->creds;
        return 0;
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
                               &(struct creds_options){ .profile = c->profile, .region = b.default_region },
                               &b.creds);
        if (r < 0) {
                built_done(&b);
                return log_error_errno(r, "Cannot set up the AWS credential chain: %m");
        }

        for (size_t i = 0; i < c->n_streams; i++) {
                const struct stream_decl *d = &c->streams[i];
                const char *region = stream_region(m, d, b.default_region);
                _cleanup_free_ char *endpoint = NULL;
                struct creds_provider *creds = b.creds;
                _cleanup_(endpoint_setting_done) struct endpoint_setting es = {};
                struct region_ctx *g;
                struct region_ctx **n;

                if (region_find(b.regions, b.n_regions, d->x->account, region))
                        continue;
                if (d->x->account[0]) {
                        r = role_creds(m, &b, c, d, region, &creds);
                        if (r < 0) {
                                built_done(&b);
                                return r;
                        }
                }
                r = endpoint_kinesis_setting(m->opts.endpoint, c->endpoint, c->profile, &es);
                if (r < 0) {
                        built_done(&b);
                        return log_error_errno(r, "Cannot read the shared AWS config file for the Kinesis "
                                                  "endpoint: %m");
                }
                r = endpoint_kinesis_url(&es, region, &endpoint);
                if (r < 0) {
                        const char *src = es.source, *url = es.value;
                        if (r == -EACCES) /* the URL is not said: it may hold a password */
                                log_error_errno(r, "Refusing the endpoint from %s for %s: user information "
                                                   "(user:password@) is not allowed in the URL.", src, region);
                        else if (r == -EPERM)
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
                strcpy(g->shared.account, d->x->account);
                if (d->x->account[0] && asprintf(&g->shared.budget_key, "%s-%s", d->x->account, region) < 0)
                        g->shared.budget_key = NULL;
                else if (!d->x->account[0])
                        g->shared.budget_key = strdup(region);
                b.regions[b.n_regions++] = g;
                if (!g->shared.region || !g->shared.budget_key) {
                        built_done(&b);
                        return log_oom();
                }
                r = kinesis_client_new(m->http, creds, region, endpoint,
                                       &(struct kinesis_options){ .rate_fraction = c->api_share },
                                       &g->shared.client);
                if (r < 0) {
                        built_done(&b);
                        return log_error_errno(r, "Cannot set up the Kinesis client for %s: %m", region);
                }
                log_debug("Region %s%s%s: endpoint %s.", region, d->x->account[0] ? ", account " : "",
                          d->x->account, endpoint);
        }
        *ret = b;
        return 0;
}

/* Lookups by (account, region, name) over thousands of streams: a sorted
 * copy of the pointers and binary search, not a scan per stream. */
struct stream_key {
        const char *account, *region, *name;
};

static int key_cmp(const struct stream_key *k, const struct reconciler *r) {
        int c = strcmp(k->region, reconcile_region_of(r)->region);
        if (c == 0)
                c = strcmp(k->name, reconciler_decl(r)->name);
        return c ? c : strcmp(k->account, reconcile_region_of(r)->account);
}

static int index_cmp(const void *a, const void *b) {
        const struct reconciler *x = *(struct reconciler *const *) a, *y = *(struct reconciler *const *) b;
        struct stream_key k = { reconcile_region_of(x)->account, reconcile_region_of(x)->region,
                                reconciler_decl(x)->name };
        return key_cmp(&k, y);
}

static int index_search_cmp(const void *k, const void *e) {
        return key_cmp(k, *(struct reconciler *const *) e);
}

/* The first n reconcilers of block, sorted, or NULL (n == 0, or out of
 * memory: callers then find nothing). */
struct reconciler **manager_index_new(struct reconciler *block, size_t n) {
        struct reconciler **x;

        if (n == 0 || !(x = malloc(n * sizeof *x)))
                return NULL;
        for (size_t i = 0; i < n; i++)
                x[i] = reconciler_at(block, i);
        qsort(x, n, sizeof *x, index_cmp);
        return x;
}

struct reconciler *manager_index_find(struct reconciler **index, size_t n, const char *account,
                                      const char *region, const char *name) {
        struct stream_key k = { account, region, name };
        struct reconciler **hit;

        if (!index)
                return NULL;
        hit = bsearch(&k, index, n, sizeof *index, index_search_cmp);
        return hit ? *hit : NULL;
}

/* Swap in a new configuration that build() accepted. Takes c and b. */
static int apply(struct manager *m, struct config *c, struct built *b) {
        struct reconciler *old_block = NULL;
        size_t n_old = 0;
        struct region_ctx **old_regions = m->regions;
        size_t n_old_regions = m->n_regions;
        struct manager_role *old_roles = NULL;
        size_t n_old_roles = 0;
        struct creds_provider *old_creds = NULL;
        struct reconcile_settings settings = {
                .poll_usec = c->poll_usec,
                .timeout_usec = c->timeout_usec,
                .plan_only = m->opts.mode == RUN_PLAN,
                .budget = m->budget,
                .texts = m->texts,
                /* A setting changed back is left alone for one resync
                 * interval at first, then twice as long each time. */
                .conflict_hold_usec = c->interval_usec,
        };
        int r = 0;

        manager_teardown(m, &old_block, &n_old);
        _cleanup_free_ struct reconciler **old_index = manager_index_new(old_block, n_old);
        if (n_old > 0 && !old_index)
                r = log_oom();

        m->regions = TAKE_PTR(b->regions);
        m->n_regions = b->n_regions;
        b->n_regions = 0;
        /* The old roles outlive the old regions, whose clients use them,
         * and the old chain outlives the roles assumed with it. */
        old_roles = TAKE_PTR(m->roles);
        n_old_roles = m->n_roles;
        m->roles = TAKE_PTR(b->roles);
        m->n_roles = b->n_roles;
        b->n_roles = 0;
        old_creds = TAKE_PTR(m->creds);
        m->creds = TAKE_PTR(b->creds);
        free(m->default_region);
        m->default_region = TAKE_PTR(b->default_region);

        _cleanup_free_ struct reconcile_region **shared = calloc(m->n_regions ? m->n_regions : 1, sizeof *shared);
        for (size_t i = 0; i < m->n_regions; i++) {
                reconcile_region_setup(&m->regions[i]->shared, m->event, &settings, &manager_reconcile_ops, m);
                if (shared)
                        shared[i] = &m->regions[i]->shared;
        }
        m->stream_block = shared ? reconcilers_new(c->streams, c->n_streams, shared, m->n_regions) : NULL;
        if (!m->stream_block)
                r = log_oom();
        for (size_t i = 0; r >= 0 && i < c->n_streams; i++) {
                const struct stream_decl *d = &c->streams[i];
                const char *region = stream_region(m, d, m->default_region);
                struct reconciler *o;

                reconciler_init(manager_stream(m, i), region_index(m->regions, m->n_regions, d->x->account, region));
                m->n_streams++;
                o = manager_index_find(old_index, n_old, d->x->account, region, d->name);
                if (o)
                        reconciler_adopt(manager_stream(m, i), o);
        }

        /* Streams whose declaration is gone: never deleted, only forgotten. */
        _cleanup_free_ struct reconciler **new_index = manager_index_new(m->stream_block, m->n_streams);
        for (size_t i = 0; i < n_old; i++) {
                struct reconciler *o = reconciler_at(old_block, i);
                const struct stream_decl *d = reconciler_decl(o);
                const struct reconcile_region *og = reconcile_region_of(o);
                const char *region = og->region;
                bool kept = manager_index_find(new_index, m->n_streams, og->account, region, d->name);
                if (!kept && m->budget)
                        budget_forget(m->budget, og->budget_key, d->name, clock_now_usec(CLOCK_REALTIME));
                if (!kept)
                        log_fields(LOG_NOTICE, (&(struct log_fields){ .stream = d->name, .region = region }),
                                   "Stream %s is no longer declared: left in AWS as it is, removed "
                                   "from the exports.", d->name);
                reconciler_done(o);
        }
        reconcilers_free(old_block);
        regions_free(old_regions, n_old_regions);
        roles_free(old_roles, n_old_roles);
        creds_provider_free(old_creds);
        config_free(m->config);
        m->config = c;
        return r;
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

void manager_stop_finish(struct manager *m) {
        m->stop_timer = sd_event_source_disable_unref(m->stop_timer);
        manager_progress_done(m);
        if (writes_state(m))
                (void) manager_export_now(m);
        (void) sd_event_exit(m->event, m->opts.mode == RUN_DAEMON ? MANAGER_OK : MANAGER_STREAM_FAILED);
}

static int on_stop_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct manager *m = userdata;
        log_debug("Abandoning %u request(s) still in flight.", m->in_flight);
        manager_stop_finish(m);
        return 0;
}

static int on_terminate(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        struct manager *m = userdata;

        if (m->stopping) {
                manager_stop_finish(m);
                return 0;
        }
        log_info("Received %s, stopping.", strsignal((int) si->ssi_signo));
        m->stopping = true;
        manager_reload_answer_all(m, RELOAD_ANSWER_FAILED);
        (void) sd_notify(false, "STOPPING=1");
        m->pass_timer = sd_event_source_disable_unref(m->pass_timer);
        for (size_t i = 0; i < m->n_regions; i++)
                if (m->regions[i]->list_call) {
                        m->regions[i]->list_call = kinesis_call_cancel(m->regions[i]->list_call);
                        manager_call_finished(m);
                }
        for (size_t i = 0; i < m->n_regions; i++)
                if (m->regions[i]->account_call) {
                        m->regions[i]->account_call = kinesis_call_cancel(m->regions[i]->account_call);
                        manager_call_finished(m);
                }
        /* Streams this pass has not started yet have nothing to finish. */
        m->n_settled += m->n_pending - m->next_pending;
        m->next_pending = m->n_pending;
        for (size_t i = 0; i < m->n_streams; i++)
                reconciler_stop(manager_stream(m, i));
        if (m->in_flight == 0) {
                manager_stop_finish(m);
                return 0;
        }
        /* Let the requests in flight finish, so a change AWS made is seen and
         * exported; abandon them after the grace period. */
        if (sd_event_add_time_relative(m->event, &m->stop_timer, CLOCK_MONOTONIC, STOP_GRACE_USEC,
                                       STOP_ACCURACY_USEC, on_stop_timer, m) < 0)
                manager_stop_finish(m);
        return 0;
}

/* READY=1 ends the reload that RELOADING=1 began. Before the first
 * READY=1 it would instead tell systemd that start-up is complete, with
 * streams still converging or not exported: that READY=1 is left to
 * manager_ready_if_exported(). */
static void manager_reload_done(struct manager *m) {
        if (m->ready_sent)
                (void) sd_notify(false, "READY=1");
}

/* Answer the waiters of reloads gen_min..gen_max. */
static void reload_answer(struct manager *m, uint64_t gen_min, uint64_t gen_max, int answer) {
        size_t kept = 0;
        int k;

        for (size_t i = 0; i < m->n_reload_waiters; i++) {
                struct reload_waiter *w = &m->reload_waiters[i];

                if (w->gen < gen_min || w->gen > gen_max) {
                        m->reload_waiters[kept++] = *w;
                        continue;
                }
                /* Gone already (given up, killed by systemd's timeout): nothing to do. */
                k = reload_answer_send(w->pidfd, w->pid, answer);
                if (k < 0)
                        log_debug_errno(k, "Cannot answer the reload request of pid %d: %m", (int) w->pid);
                else
                        log_debug("Reload request of pid %d answered: %d.", (int) w->pid, answer);
                closep(&w->pidfd);
        }
        m->n_reload_waiters = kept;
}

void manager_reload_answer_all(struct manager *m, int answer) {
        reload_answer(m, 0, UINT64_MAX, answer);
}

void manager_reload_pass_done(struct manager *m) {
        size_t ready = 0;
        uint64_t gen = m->reload_converging;

        if (gen == 0)
                return;
        m->reload_converging = 0;
        for (size_t i = 0; i < m->n_streams; i++)
                if (reconciler_ready(manager_stream(m, i)))
                        ready++;
        log_info("Reload done: %zu of %zu stream%s active and exported.", ready, m->n_streams,
                 m->n_streams == 1 ? "" : "s");
        if (m->reload_ready_due)
                manager_reload_done(m);
        m->reload_ready_due = false;
        reload_answer(m, 0, gen,
                      ready == m->n_streams && m->export_unexported == 0 && !m->export_failing
                              ? RELOAD_ANSWER_DONE
                              : RELOAD_ANSWER_FAILED);
}

static void manager_reload(struct manager *m);

static bool manager_listing(const struct manager *m) {
        for (size_t i = 0; i < m->n_regions; i++)
                if (m->regions[i]->list_call)
                        return true;
        return false;
}

/* The hold-off is over, or a listing came back after it was: the reload is
 * done starting unless a region still waits for its ListStreams. */
static int on_reload_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct manager *m = userdata;

        m->reload_timer = sd_event_source_disable_unref(m->reload_timer);
        if (manager_listing(m))
                return 0; /* manager_reload_listed() comes back here */
        m->reload_starting = false;
        if (m->reload_queued && !m->stopping) {
                m->reload_queued = false;
                manager_reload(m);
        }
        return 0;
}

static int reload_timer_arm(struct manager *m, uint64_t delay) {
        m->reload_timer = sd_event_source_disable_unref(m->reload_timer);
        return sd_event_add_time_relative(m->event, &m->reload_timer, CLOCK_MONOTONIC, delay,
                                          RELOAD_ACCURACY_USEC, on_reload_timer, m);
}

void manager_reload_listed(struct manager *m) {
        /* From a region's callback: never reload from here, which would free
         * the region under it; the timer runs from the loop. */
        if (m->reload_starting && !m->reload_timer && !manager_listing(m) &&
            reload_timer_arm(m, 0) < 0)
                m->reload_starting = false; /* a signal reloads at once again */
}

static int on_reload(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        struct manager *m = userdata;

        if (m->opts.mode != RUN_DAEMON || m->stopping)
                return 0;
        /* `kinesisd --reload`: a reload like SIGHUP's, and its sender waits
         * for the answer (reload-client.h). Real-time signals are queued
         * one per sender, so each gets one. */
        if (si->ssi_signo == (uint32_t) RELOAD_SIGNAL_REQUEST) {
                pid_t pid = (pid_t) si->ssi_pid;
                /* The reload starting now, or the one queued behind it;
                 * the answer for this process, not one that takes its pid
                 * should it exit meanwhile. */
                struct reload_waiter w = { pid, reload_pidfd_open(pid), m->reload_gen + 1 };
                struct reload_waiter *v;

                if (w.pidfd < 0 && errno == ESRCH)
                        log_debug("Reload requested by pid %d, which is gone already.", (int) pid);
                else if (m->n_reload_waiters >= RELOAD_WAITERS_MAX ||
                         !(v = reallocarray(m->reload_waiters, m->n_reload_waiters + 1, sizeof *v))) {
                        log_warning("Too many waiting reload requests; pid %d is answered at once.",
                                    (int) pid);
                        (void) reload_answer_send(w.pidfd, pid, RELOAD_ANSWER_FAILED);
                        closep(&w.pidfd);
                } else {
                        m->reload_waiters = v;
                        m->reload_waiters[m->n_reload_waiters++] = w;
                        log_debug("Reload requested by pid %d, which waits for it.", (int) pid);
                }
        }
        if (m->reload_starting) {
                if (!m->reload_queued)
                        log_info("Reload requested while the last one is starting: one more reload "
                                 "follows it, with the files as they are then.");
                m->reload_queued = true;
                return 0;
        }
        manager_reload(m);
        return 0;
}

static void manager_reload(struct manager *m) {
        struct config *c = NULL;
        struct built b = {};
        const char *ca_bundle;
        char *first = NULL;
        int r;

        /* Until the pass this starts has listed every region, and for the
         * hold-off at least, SIGHUPs become one reload after this one. */
        m->reload_starting = reload_timer_arm(m, RELOAD_HOLDOFF_USEC) >= 0;
        m->reload_gen++;
        (void) sd_notifyf(false, "RELOADING=1\nMONOTONIC_USEC=%llu",
                          (unsigned long long) clock_now_usec(CLOCK_MONOTONIC));
        log_info("Reloading the configuration from %s.", m->opts.config_path);

        r = load_config(m, &c, &first);
        if (r >= 0)
                r = build(m, c, &b);
        if (r >= 0)
                r = manager_open_state(m, c);
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
                manager_notify_status(m);
                /* The running configuration stays: an accepted reload
                 * still converging says READY=1 when its pass is done. */
                if (m->reload_converging == 0)
                        manager_reload_done(m);
                manager_export_soon(m);
                reload_answer(m, m->reload_gen, m->reload_gen, RELOAD_ANSWER_REFUSED);
                return;
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
        (void) malloc_trim(0); /* the old configuration and the parse: see manager_load() */
        log_info("Configuration reloaded: %zu stream%s.", m->n_streams, m->n_streams == 1 ? "" : "s");
        manager_export_soon(m);
        free(m->last_status);
        m->last_status = NULL;
        manager_notify_status(m);
        /* Not ready yet: the pass this reload starts decides, for the
         * streams it declares now. */
        if (!m->ready_sent)
                m->first_pass_done = false;
        if (r < 0) {
                m->reload_converging = 0;
                manager_reload_done(m);
                reload_answer(m, 0, m->reload_gen, RELOAD_ANSWER_FAILED);
                return;
        }
        /* Done (READY=1, the answers) once its pass is: the streams it
         * added are ACTIVE and exported, or have failed. */
        m->reload_converging = m->reload_gen;
        /* Before the first READY=1 that one says it all. */
        m->reload_ready_due = m->ready_sent;
        manager_notify_reloading(m);
        manager_pass_start(m);
}

/* ---- the object --------------------------------------------------------- */

struct manager *manager_free(struct manager *m) {
        if (!m)
                return NULL;
        manager_teardown(m, NULL, NULL);
        regions_free(m->regions, m->n_regions);
        m->texts = text_pool_free(m->texts); /* after the reconcilers, which hold its texts */
        roles_free(m->roles, m->n_roles);
        creds_provider_free(m->creds);
        http_client_free(m->http);
        sd_event_source_disable_unref(m->pass_timer);
        sd_event_source_disable_unref(m->export_timer);
        sd_event_source_disable_unref(m->stop_timer);
        sd_event_source_disable_unref(m->extend_timer);
        manager_progress_done(m);
        sd_event_source_disable_unref(m->export_retry_timer);
        sd_event_source_disable_unref(m->export_hold_timer);
        free(m->exported_arns);
        sd_event_source_disable_unref(m->reload_timer);
        state_dir_free(m->state);
        budget_book_free(m->budget);
        config_free(m->config);
        free(m->default_region);
        free(m->state_path);
        free(m->reload_error);
        free(m->last_status);
        free(m->export_status);
        free(m->export_logged);
        free(m->pending);
        manager_reload_answer_all(m, RELOAD_ANSWER_FAILED);
        free(m->reload_waiters);
        sd_event_unref(m->event);
        free(m);
        return NULL;
}
int manager_new(const struct run_options *o, struct manager **ret) {
        _cleanup_(manager_freep) struct manager *m = NULL;
        sigset_t mask;
        int r;

        m = calloc(1, sizeof *m);
        if (!m)
                return log_oom();
        m->opts = *o;
        m->started_realtime_usec = clock_now_usec(CLOCK_REALTIME);
        m->texts = text_pool_new();
        if (!m->texts)
                return log_oom();

        r = sd_event_default(&m->event);
        if (r < 0)
                return log_error_errno(r, "Cannot create the event loop: %m");

        /* Signals arrive through signalfd: block them first. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, RELOAD_SIGNAL_REQUEST);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "Cannot block signals: %m");
        r = sd_event_add_signal(m->event, NULL, SIGTERM, on_terminate, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT, on_terminate, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGHUP, on_reload, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, RELOAD_SIGNAL_REQUEST, on_reload, m);
        if (r < 0)
                return log_error_errno(r, "Cannot watch signals: %m");
        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                log_warning_errno(r, "Cannot set up the watchdog, ignoring: %m");

        *ret = TAKE_PTR(m);
        return 0;
}

int manager_load(struct manager *m) {
        struct config *c = NULL;
        struct built b = {};
        struct http_client_options ho;
        int r;

        if (load_config(m, &c, NULL) < 0)
                return -EINVAL;
        if (c->n_streams == 0)
                log_warning("%s declares no stream.", m->opts.config_path);

        http_client_options_default(&ho);
        ho.ca_bundle = endpoint_ca_bundle(c->ca_bundle);
        r = http_client_new(m->event, &ho, &m->http);
        if (r < 0) {
                config_free(c);
                log_error_errno(r, "Cannot set up HTTP: %m");
                return -EIO;
        }
        if (build(m, c, &b) < 0) {
                config_free(c);
                return -EINVAL;
        }
        if (writes_state(m) && (r = manager_open_state(m, c)) < 0) {
                config_free(c);
                built_done(&b);
                /* -EINVAL: a state directory others could write (exit 78). */
                return r == -EINVAL ? -EINVAL : -EIO;
        }
        if (manager_load_budget(m, c) < 0) {
                config_free(c);
                built_done(&b);
                return -EIO;
        }
        r = apply(m, c, &b);
        built_done(&b);
        if (r < 0)
                return -EIO;
        if (writes_state(m))
                manager_seed_from_previous_export(m);
        /* Parsing left the heap full of the freed YAML tree: give those
         * pages back, or every host pays for them as private memory. */
        (void) malloc_trim(0);
        return 0;
}

void manager_start(struct manager *m) {
        if (m->opts.mode == RUN_DAEMON)
                manager_notify_starting(m);
        manager_pass_start(m);
}

int manager_loop(struct manager *m) {
        int r = sd_event_loop(m->event);

        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        return r;
}
