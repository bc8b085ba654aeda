/* The AWS credential provider chain (see creds.h): the walk of the chain,
 * the cache, the waiters and the refresh. The sources that take time live
 * beside it: creds-process.c (credential_process), creds-metadata.c
 * (container credentials, instance metadata).
 *
 * One fetch at a time walks the chain; every waiter gets its result.
 *
 * Must never log a key, a token or a document that holds one, and never
 * block the loop (reading two small local files is the only synchronous I/O). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "aws/creds-internal.h"
#include "log.h"

static uint64_t realtime_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
}

uint64_t creds_mono_usec(struct creds_provider *p) {
        uint64_t t = 0;
        (void) sd_event_now(p->event, CLOCK_MONOTONIC, &t);
        return t;
}

static void chain_from(struct creds_provider *p, int stage);

/* ---- waiters and delivery -------------------------------------------- */

struct creds_wait *creds_wait_cancel(struct creds_wait *w) {
        if (!w)
                return NULL;
        if (w->prev)
                w->prev->next = w->next;
        else
                w->provider->waiters = w->next;
        if (w->next)
                w->next->prev = w->prev;
        free(w);
        return NULL;
}

static bool expiration_usable(uint64_t expiration_usec, uint64_t now) {
        return !expiration_usec || now + EXPIRY_MARGIN_USEC < expiration_usec;
}

static bool cached_usable(struct creds_provider *p, uint64_t now) {
        if (!p->have)
                return false;
        /* A set that came expired is signed with until the next fetch may
         * start: AWS, not our clock, says whether it is refused. */
        if (p->expired_in_use)
                return creds_mono_usec(p) < p->refetch_at_usec;
        return expiration_usable(p->cached.expiration_usec, now);
}

/* No fetch before refetch_at: after an expired set, fetches are spaced. */
static bool fetch_allowed(struct creds_provider *p) {
        return creds_mono_usec(p) >= p->refetch_at_usec;
}

static void deliver(struct creds_provider *p, int error) {
        /* One at a time from the head: a callback may cancel or add waiters. */
        while (p->waiters) {
                struct creds_wait *w = p->waiters;
                creds_callback cb = w->cb;
                void *ud = w->userdata;
                creds_wait_cancel(w);
                if (error < 0)
                        cb(error, NULL, ud);
                else
                        cb(0, &p->cached, ud);
        }
}

static int on_kick(sd_event_source *s, uint64_t usec, void *userdata) {
        struct creds_provider *p = userdata;

        if (cached_usable(p, realtime_usec()) && !(p->fetching && !p->have)) {
                deliver(p, 0);
                /* A stale-but-usable set still triggers the background refresh. */
                if (!p->fetching && p->stale_at_usec && realtime_usec() >= p->stale_at_usec &&
                    fetch_allowed(p))
                        chain_from(p, 0);
                return 0;
        }
        if (p->fetching)
                return 0;
        if (!fetch_allowed(p)) {
                /* Every waiter shares the one fetch that starts then. */
                (void) sd_event_source_set_time(s, p->refetch_at_usec);
                (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
                return 0;
        }
        chain_from(p, 0);
        return 0;
}

static int kick(struct creds_provider *p) {
        uint64_t now = creds_mono_usec(p), at = now;
        int r;

        /* Nothing to hand out and no fetch allowed yet: wake when one is. */
        if (!cached_usable(p, realtime_usec()) && p->refetch_at_usec > now)
                at = p->refetch_at_usec;
        r = sd_event_source_set_time(p->kick, at);
        if (r >= 0)
                r = sd_event_source_set_enabled(p->kick, SD_EVENT_ONESHOT);
        return r;
}

int creds_get(struct creds_provider *p, const struct aws_credentials **ret) {
        uint64_t now = realtime_usec();

        if (!cached_usable(p, now))
                return -EAGAIN;
        if (p->stale_at_usec && now >= p->stale_at_usec && !p->fetching && fetch_allowed(p)) {
                log_debug("Credentials from %s expire soon, refreshing.", strna(p->source));
                (void) kick(p);
        }
        *ret = &p->cached;
        return 0;
}

int creds_request(struct creds_provider *p, creds_callback cb, void *userdata,
                  struct creds_wait **ret) {
        struct creds_wait *w;
        int r;

        w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        w->provider = p;
        w->cb = cb;
        w->userdata = userdata;
        w->next = p->waiters;
        if (p->waiters)
                p->waiters->prev = w;
        p->waiters = w;
        if (!p->fetching || cached_usable(p, realtime_usec())) {
                r = kick(p);
                if (r < 0) {
                        creds_wait_cancel(w);
                        return r;
                }
        }
        if (ret)
                *ret = w;
        return 0;
}

void creds_invalidate(struct creds_provider *p) {
        if (p->have)
                log_debug("Dropping cached credentials from %s.", strna(p->source));
        aws_credentials_done(&p->cached);
        p->have = false;
        p->expired_in_use = false;
        p->stale_at_usec = 0;
}

unsigned creds_fetch_count(const struct creds_provider *p) {
        return p->fetches;
}

/* ---- the chain ------------------------------------------------------- */

static int try_env(struct aws_credentials *ret) {
        const char *id = getenv("AWS_ACCESS_KEY_ID"), *secret = getenv("AWS_SECRET_ACCESS_KEY");
        const char *token = getenv("AWS_SESSION_TOKEN");
        struct aws_credentials c = {};

        if (!id || !*id || !secret || !*secret)
                return 0;
        if (strlen(id) > 128 || strlen(secret) > 1024 || strpbrk(id, "\r\n ") || strpbrk(secret, "\r\n") ||
            (token && (strlen(token) > 16384 || strpbrk(token, "\r\n"))))
                return -EBADMSG;
        c.access_key_id = strdup(id);
        c.secret_access_key = strdup(secret);
        c.session_token = token && *token ? strdup(token) : NULL;
        if (!c.access_key_id || !c.secret_access_key || (token && *token && !c.session_token)) {
                aws_credentials_done(&c);
                return -ENOMEM;
        }
        *ret = c;
        return 1;
}

void creds_set_pending_source(struct creds_provider *p, const char *fmt, ...) {
        va_list ap;

        free(p->pending_source);
        va_start(ap, fmt);
        if (vasprintf(&p->pending_source, fmt, ap) < 0)
                p->pending_source = NULL;
        va_end(ap);
}

/* Walk the chain from a stage: 0 environment, 1 files, 2 container, 3 IMDS.
 * Ends in creds_fetch_done() (now, or from a callback). */
static void chain_from(struct creds_provider *p, int stage) {
        struct aws_credentials c = {};
        const char *profile = aws_profile_name(p->config_profile);
        bool named = (p->config_profile && *p->config_profile) ||
                     (getenv("AWS_PROFILE") && *getenv("AWS_PROFILE"));
        int r;

        p->fetching = true;
        p->step = STEP_IDLE;

        if (stage <= 0) {
                r = try_env(&c);
                if (r < 0) {
                        log_error("AWS_ACCESS_KEY_ID or AWS_SECRET_ACCESS_KEY is malformed.");
                        creds_fetch_done(p, r, NULL);
                        return;
                }
                if (r > 0) {
                        creds_set_pending_source(p, "environment variables");
                        creds_fetch_done(p, 0, &c);
                        return;
                }
        }
        if (stage <= 1) {
                struct aws_profile prof = {};
                r = aws_profile_load(profile, &prof);
                if (r < 0) {
                        log_error_errno(r, "Cannot read the shared AWS credentials or config file: %m");
                        creds_fetch_done(p, r, NULL);
                        return;
                }
                if (prof.credentials_insecure)
                        log_warning("%s is group- or world-writable; anyone who can write it chooses "
                                    "the credentials kinesisd uses.", prof.credentials_path);
                if (prof.config_insecure)
                        log_warning("%s is group- or world-writable; anyone who can write it chooses "
                                    "the credentials kinesisd uses.", prof.config_path);
                if (named && !prof.in_credentials && !prof.in_config) {
                        log_error("AWS profile %s was not found in %s or %s.", profile,
                                  strna(prof.credentials_path), strna(prof.config_path));
                        aws_profile_done(&prof);
                        creds_fetch_done(p, -ENOENT, NULL);
                        return;
                }
                r = creds_sso_start(p, profile, &prof);
                if (r != 0) {
                        aws_profile_done(&prof);
                        if (r < 0)
                                creds_fetch_done(p, r, NULL);
                        return;
                }
                if (prof.access_key_id && prof.secret_access_key) {
                        c.access_key_id = TAKE_PTR(prof.access_key_id);
                        c.secret_access_key = TAKE_PTR(prof.secret_access_key);
                        c.session_token = TAKE_PTR(prof.session_token);
                        creds_set_pending_source(p, prof.in_credentials ? "the shared credentials file, profile %s"
                                                                  : "the shared config file, profile %s",
                                           profile);
                        aws_profile_done(&prof);
                        creds_fetch_done(p, 0, &c);
                        return;
                }
                if (prof.credential_process) {
                        creds_set_pending_source(p, "credential_process of profile %s", profile);
                        p->step = STEP_PROCESS;
                        r = creds_process_start(p, prof.credential_process);
                        aws_profile_done(&prof);
                        if (r < 0) {
                                log_error_errno(r, "Cannot run credential_process of profile %s: %m", profile);
                                creds_fetch_done(p, r, NULL);
                        }
                        return;
                }
                if (prof.role_arn)
                        log_warning("Profile %s uses role_arn, which kinesisd does not support; ignoring it.",
                                    profile);
                aws_profile_done(&prof);
        }
        if (stage <= 2) {
                r = creds_container_start(p);
                if (r != -ENOENT) {
                        if (r < 0) {
                                if (r != -EPERM)
                                        log_error_errno(r, "Cannot fetch container credentials: %m");
                                creds_fetch_done(p, r, NULL);
                        } else
                                creds_set_pending_source(p, "the container credentials endpoint");
                        return;
                }
        }
        if (creds_imds_disabled()) {
                creds_fetch_done(p, -ENOKEY, NULL);
                return;
        }
        creds_set_pending_source(p, "the EC2 instance metadata service");
        r = creds_imds_start(p);
        if (r == -EPERM || r == -EACCES || r == -EINVAL || r == -EPROTONOSUPPORT) {
                /* A configured endpoint that cannot be used is an error, not
                 * the end of the chain. The URL is not quoted: it may hold a
                 * password. */
                log_error("AWS_EC2_METADATA_SERVICE_ENDPOINT is refused by the URL policy: %s.",
                          r == -EPERM    ? "plain http:// is allowed only to loopback hosts and the "
                                           "instance metadata addresses"
                          : r == -EACCES ? "user information (user:password@) is not allowed in the URL"
                                         : "it is not an http:// or https:// URL");
                creds_fetch_done(p, r, NULL);
        } else if (r < 0) {
                log_debug_errno(r, "Cannot ask the instance metadata service: %m");
                creds_fetch_done(p, -ENOKEY, NULL);
        }
}

/* The set just cached is expired already, or expires within the margin.
 *
 * It is used, not refused: our clock may be the one that is wrong, and AWS
 * is the judge of its own credentials (a refused one comes back as
 * ExpiredTokenException, which the caller reports). But asking the source
 * again at once would bring the same answer, so the next fetch waits: 1 s,
 * then twice as long each time, up to a minute; calls that want credentials
 * meanwhile share that one fetch. Warned about once until a valid set
 * arrives. */
static void expired_arrived(struct creds_provider *p, uint64_t now) {
        uint64_t exp = p->cached.expiration_usec;
        char when[32] = "?";
        time_t t = (time_t) (exp / USEC_PER_SEC);
        struct tm tm;

        p->backoff_usec = p->backoff_usec ? p->backoff_usec * 2 : EXPIRED_BACKOFF_FIRST_USEC;
        if (p->backoff_usec > EXPIRED_BACKOFF_MAX_USEC)
                p->backoff_usec = EXPIRED_BACKOFF_MAX_USEC;
        p->refetch_at_usec = creds_mono_usec(p) + p->backoff_usec;
        p->expired_in_use = true;
        if (gmtime_r(&t, &tm))
                (void) strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        if (p->warned_expired) {
                log_debug("Credentials from %s are still expired (%s); not asking again for %" PRIu64 " s.",
                          strna(p->source), when, p->backoff_usec / USEC_PER_SEC);
                return;
        }
        p->warned_expired = true;
        log_warning("%s returned credentials that %s at %s; using them anyway (AWS decides whether "
                    "it still accepts them), and not asking again for %" PRIu64 " s, then for twice "
                    "as long each time, up to %" PRIu64 " s.",
                    strna(p->source), exp <= now ? "already expired" : "expire in less than 10 s,", when,
                    p->backoff_usec / USEC_PER_SEC, EXPIRED_BACKOFF_MAX_USEC / USEC_PER_SEC);
}

void creds_fetch_done(struct creds_provider *p, int error, struct aws_credentials *c) {
        uint64_t now = realtime_usec();

        p->fetching = false;
        p->step = STEP_IDLE;
        if (error < 0) {
                if (error == -ENOKEY)
                        log_error("No AWS credentials found (environment, shared files, container, "
                                  "instance metadata).");
                /* Keep a set that is still usable: a failed background refresh
                 * should not stop the daemon before the old one expires. */
                if (!cached_usable(p, now))
                        creds_invalidate(p);
                else
                        p->stale_at_usec = now + 30 * USEC_PER_SEC; /* try again soon */
                deliver(p, cached_usable(p, now) ? 0 : error);
                return;
        }
        aws_credentials_done(&p->cached);
        p->cached = *c;
        *c = (struct aws_credentials){};
        p->have = true;
        p->fetches++;
        free(p->source);
        p->source = TAKE_PTR(p->pending_source);
        if (!streq_ptr(p->source, p->logged_source)) {
                log_info("Using credentials from %s.", strna(p->source));
                free(p->logged_source);
                p->logged_source = p->source ? strdup(p->source) : NULL;
        } else
                log_debug("Refreshed credentials from %s.", strna(p->source));
        p->expired_in_use = false;
        p->stale_at_usec = 0;
        if (!expiration_usable(p->cached.expiration_usec, now))
                expired_arrived(p, now);
        else {
                if (p->warned_expired)
                        log_info("Credentials from %s are valid again.", strna(p->source));
                p->warned_expired = false;
                p->backoff_usec = 0;
                p->refetch_at_usec = 0;
        }
        if (!p->expired_in_use && p->cached.expiration_usec) {
                uint64_t exp = p->cached.expiration_usec;
                uint64_t early = exp > p->refresh_before_usec ? exp - p->refresh_before_usec : 0;
                uint64_t half = exp > now ? now + (exp - now) / 2 : now;
                /* 5 minutes ahead, or half-way through a lifetime shorter than that. */
                p->stale_at_usec = early > half ? early : half;
        }
        deliver(p, 0);
}

int creds_provider_new(sd_event *e, struct http_client *http, const struct creds_options *o,
                       struct creds_provider **ret) {
        struct creds_provider *p;
        int r;

        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->event = sd_event_ref(e);
        p->http = http;
        p->pipe_fd = -1;
        p->err_fd = -1;
        p->process_timeout_usec = o && o->process_timeout_usec ? o->process_timeout_usec : 60 * USEC_PER_SEC;
        p->refresh_before_usec = o && o->refresh_before_usec ? o->refresh_before_usec : 300 * USEC_PER_SEC;
        if (o && o->profile) {
                p->config_profile = strdup(o->profile);
                if (!p->config_profile) {
                        creds_provider_free(p);
                        return -ENOMEM;
                }
        }
        r = sd_event_add_time(e, &p->kick, CLOCK_MONOTONIC, 0, HTTP_TIMER_ACCURACY, on_kick, p);
        if (r < 0) {
                creds_provider_free(p);
                return r;
        }
        (void) sd_event_source_set_enabled(p->kick, SD_EVENT_OFF);
        (void) sd_event_source_set_description(p->kick, "creds-kick");
        *ret = p;
        return 0;
}

struct creds_provider *creds_provider_free(struct creds_provider *p) {
        if (!p)
                return NULL;
        while (p->waiters)
                creds_wait_cancel(p->waiters);
        p->req = http_request_cancel(p->req);
        p->sso = sso_fetch_cancel(p->sso);
        creds_process_cleanup(p);
        creds_process_linger_finish(p);
        sd_event_source_disable_unref(p->kick);
        aws_credentials_done(&p->cached);
        free(p->config_profile);
        free(p->source);
        free(p->logged_source);
        free(p->pending_source);
        free(p->imds_base);
        if (p->imds_token)
                explicit_bzero(p->imds_token, strlen(p->imds_token));
        free(p->imds_token);
        free(p->imds_role);
        sd_event_unref(p->event);
        free(p);
        return NULL;
}
