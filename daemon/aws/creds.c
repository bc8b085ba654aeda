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

static void chain_walk(struct creds_provider *p);

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
                        chain_walk(p);
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
        chain_walk(p);
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

/* A source of a role (its source_profile or credential_source) is asked by
 * the role's provider, which says what failed with its own context. */
static bool provider_speaks(const struct creds_provider *p) {
        return p->kind == CREDS_CHAIN || p->kind == CREDS_ROLE;
}

void creds_fail(struct creds_provider *p, int error, const char *fmt, ...) {
        va_list ap;
        char *s;

        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        if (s && provider_speaks(p))
                log_error("%s.", s);
        free(p->fail_text);
        p->fail_text = s;
        creds_fetch_done(p, error, NULL);
}

void creds_tried(struct creds_provider *p, const char *fmt, ...) {
        va_list ap;
        char *s, *n;

        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        if (!s)
                return;
        if (asprintf(&n, "%s%s%s", strempty(p->tried), p->tried ? ", " : "", s) < 0)
                n = NULL;
        free(s);
        if (!n)
                return;
        free(p->tried);
        p->tried = n;
}

const char *creds_error_text(const struct creds_provider *p) {
        return p->error_text;
}

static bool env_keys_set(void) {
        const char *id = getenv("AWS_ACCESS_KEY_ID"), *secret = getenv("AWS_SECRET_ACCESS_KEY");
        return id && *id && secret && *secret;
}

/* Environment variables. 1 if they answered (or failed, said). */
static int chain_env(struct creds_provider *p) {
        struct aws_credentials c = {};
        int r = try_env(&c);

        if (r < 0) {
                creds_fail(p, r, "AWS_ACCESS_KEY_ID or AWS_SECRET_ACCESS_KEY is malformed");
                return 1;
        }
        if (r == 0)
                return 0;
        creds_set_pending_source(p, "environment variables");
        creds_fetch_done(p, 0, &c);
        return 1;
}

static void answer_static(struct creds_provider *p, struct aws_profile *prof, const char *profile) {
        struct aws_credentials c = {
                .access_key_id = TAKE_PTR(prof->access_key_id),
                .secret_access_key = TAKE_PTR(prof->secret_access_key),
                .session_token = TAKE_PTR(prof->session_token),
        };
        creds_set_pending_source(p, prof->from_credentials & (1u << AWS_KEY_ACCESS_KEY_ID)
                                            ? "the shared credentials file, profile %s"
                                            : "the shared config file, profile %s",
                                 profile);
        creds_fetch_done(p, 0, &c);
}

/* The sources a profile holds, in the SDKs' order: assume role, web
 * identity, SSO, static keys of the credentials file, credential_process,
 * static keys of the config file. 1 if one answered (or failed, said), 0 if
 * the profile names none. */
static int chain_profile(struct creds_provider *p, struct aws_profile *prof, const char *profile) {
        bool keys_in_credentials = prof->from_credentials & (1u << AWS_KEY_ACCESS_KEY_ID);
        int r;

        if (!prof->access_key_id != !prof->secret_access_key) {
                enum aws_profile_key has =
                        prof->access_key_id ? AWS_KEY_ACCESS_KEY_ID : AWS_KEY_SECRET_ACCESS_KEY;
                creds_fail(p, -EINVAL, "profile \"%s\" in %s has %s but no %s", profile,
                           strna(aws_profile_key_path(prof, has)), aws_profile_key_name(has),
                           aws_profile_key_name(has == AWS_KEY_ACCESS_KEY_ID ? AWS_KEY_SECRET_ACCESS_KEY
                                                                             : AWS_KEY_ACCESS_KEY_ID));
                return 1;
        }
        if (p->kind == CREDS_PROFILE_KEYS) {
                if (!prof->access_key_id) {
                        creds_fail(p, -ENOKEY, "profile \"%s\" in %s names itself as source_profile but "
                                   "holds no aws_access_key_id", profile, strna(aws_profile_path(prof)));
                        return 1;
                }
                answer_static(p, prof, profile);
                return 1;
        }
        if (creds_role_from_profile(p, prof, profile) > 0)
                return 1;
        if (creds_web_identity_from(p, prof, profile, p->kind == CREDS_CHAIN) > 0)
                return 1;
        if (creds_sso_from_profile(p, prof, profile) > 0)
                return 1;
        if (prof->access_key_id && keys_in_credentials) {
                answer_static(p, prof, profile);
                return 1;
        }
        if (prof->credential_process) {
                creds_set_pending_source(p, "credential_process of profile %s", profile);
                p->step = STEP_PROCESS;
                r = creds_process_start(p, prof->credential_process);
                if (r < 0)
                        creds_fail(p, r, "profile \"%s\" in %s: cannot run credential_process: %s", profile,
                                   strna(aws_profile_key_path(prof, AWS_KEY_CREDENTIAL_PROCESS)),
                                   strerror(-r));
                return 1;
        }
        if (prof->access_key_id) {
                answer_static(p, prof, profile);
                return 1;
        }
        return 0;
}

/* The environment (for the chain: AWS_WEB_IDENTITY_TOKEN_FILE), then the
 * profile. 1 if one answered (or failed, said). */
static int chain_files(struct creds_provider *p) {
        _cleanup_(aws_profile_done) struct aws_profile prof = {};
        const char *profile = aws_profile_name(p->config_profile);
        bool named = p->kind != CREDS_CHAIN || (p->config_profile && *p->config_profile) ||
                     (getenv("AWS_PROFILE") && *getenv("AWS_PROFILE"));
        int r;

        r = aws_profile_load(profile, &prof);
        if (r < 0) {
                creds_fail(p, r, "cannot read the shared AWS credentials or config file for profile "
                           "\"%s\": %s", profile, strerror(-r));
                return 1;
        }
        if (prof.credentials_insecure)
                log_warning("%s is group- or world-writable; anyone who can write it chooses "
                            "the credentials kinesisd uses.", prof.credentials_path);
        if (prof.config_insecure)
                log_warning("%s is group- or world-writable; anyone who can write it chooses "
                            "the credentials kinesisd uses.", prof.config_path);
        if (named && !prof.in_credentials && !prof.in_config) {
                creds_fail(p, -ENOENT, "AWS profile %s was not found in %s or %s", profile,
                           strna(prof.credentials_path), strna(prof.config_path));
                return 1;
        }
        if (p->kind == CREDS_CHAIN && !prof.in_credentials && !prof.in_config) {
                /* Web identity from the environment needs no profile. */
                if (creds_web_identity_from(p, &prof, profile, true) > 0)
                        return 1;
                creds_tried(p, "profile \"%s\" (not in %s or %s)", profile, strna(prof.credentials_path),
                            strna(prof.config_path));
                return 0;
        }
        r = chain_profile(p, &prof, profile);
        if (r != 0)
                return r;
        if (p->kind != CREDS_CHAIN) {
                creds_fail(p, -ENOKEY, "profile \"%s\" in %s holds no credentials (no role_arn, "
                           "web_identity_token_file, aws_access_key_id or credential_process)", profile,
                           strna(aws_profile_path(&prof)));
                return 1;
        }
        creds_tried(p, "profile \"%s\" in %s (no keys)", profile, strna(aws_profile_path(&prof)));
        return 0;
}

/* Container credentials. 1 if they answered (or failed, said). */
static int chain_container(struct creds_provider *p) {
        int r = creds_container_start(p);

        if (r == -ENOENT)
                return 0;
        if (r < 0)
                creds_fail(p, r, "cannot fetch container credentials: %s", strerror(-r));
        else
                creds_set_pending_source(p, "the container credentials endpoint");
        return 1;
}

static void chain_imds(struct creds_provider *p) {
        int r;

        if (creds_imds_disabled()) {
                creds_tried(p, "IMDS (disabled by AWS_EC2_METADATA_DISABLED)");
                creds_fetch_done(p, -ENOKEY, NULL);
                return;
        }
        creds_set_pending_source(p, "the EC2 instance metadata service");
        r = creds_imds_start(p);
        if (r == -EPERM || r == -EACCES || r == -EINVAL || r == -EPROTONOSUPPORT)
                /* A configured endpoint that cannot be used is an error, not
                 * the end of the chain. The URL is not quoted: it may hold a
                 * password. */
                creds_fail(p, r, "AWS_EC2_METADATA_SERVICE_ENDPOINT is refused by the URL policy: %s",
                           r == -EPERM    ? "plain http:// is allowed only to loopback hosts and the "
                                            "instance metadata addresses"
                           : r == -EACCES ? "user information (user:password@) is not allowed in the URL"
                                          : "it is not an http:// or https:// URL");
        else if (r < 0) {
                creds_tried(p, "IMDS (%s)", strerror(-r));
                creds_fetch_done(p, -ENOKEY, NULL);
        }
}

/* Walk the chain (or the one source of a role's credential_source). Ends in
 * creds_fetch_done() (now, or from a callback). */
static void chain_walk(struct creds_provider *p) {
        p->fetching = true;
        p->step = STEP_IDLE;
        p->tried = mfree(p->tried);
        p->fail_text = mfree(p->fail_text);

        switch (p->kind) {
        case CREDS_ROLE:
                creds_role_fetch(p);
                return;
        case CREDS_ENV:
                if (!env_keys_set())
                        creds_fail(p, -ENOKEY, "credential_source Environment: AWS_ACCESS_KEY_ID and "
                                   "AWS_SECRET_ACCESS_KEY are not set");
                else
                        (void) chain_env(p);
                return;
        case CREDS_CONTAINER:
                if (chain_container(p) == 0)
                        creds_fail(p, -ENOKEY, "credential_source EcsContainer: neither "
                                   "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor "
                                   "AWS_CONTAINER_CREDENTIALS_FULL_URI is set");
                return;
        case CREDS_IMDS:
                if (creds_imds_disabled())
                        creds_fail(p, -ENOKEY, "credential_source Ec2InstanceMetadata: disabled by "
                                   "AWS_EC2_METADATA_DISABLED");
                else
                        chain_imds(p);
                return;
        case CREDS_SOURCE_PROFILE:
        case CREDS_PROFILE_KEYS:
                (void) chain_files(p);
                return;
        case CREDS_CHAIN:
                break;
        }
        /* A profile named in kinesisd's configuration outranks the
         * environment's keys, as a profile given to an SDK session does:
         * credential_source = Environment is how a role uses them then. */
        if (p->config_profile && *p->config_profile)
                creds_tried(p, "environment (skipped: aws.profile is set)");
        else if (chain_env(p) > 0)
                return;
        else
                creds_tried(p, "environment (none)");
        if (chain_files(p) > 0)
                return;
        if (chain_container(p) > 0)
                return;
        creds_tried(p, "container (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI not set)");
        chain_imds(p);
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
                free(p->error_text);
                if (p->fail_text)
                        p->error_text = TAKE_PTR(p->fail_text);
                else if (error == -ENOKEY) {
                        if (asprintf(&p->error_text, "no credentials: %s", strna(p->tried)) < 0)
                                p->error_text = NULL;
                        else if (provider_speaks(p))
                                log_error("No AWS credentials found: %s.", strna(p->tried));
                } else if (asprintf(&p->error_text, "%s: %s", p->pending_source ? p->pending_source
                                                                                : "credentials",
                                    strerror(-error)) < 0)
                        p->error_text = NULL;
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
        p->error_text = mfree(p->error_text);
        if (!streq_ptr(p->source, p->logged_source)) {
                log_full(provider_speaks(p) ? LOG_INFO : LOG_DEBUG, "Using credentials from %s.",
                         strna(p->source));
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

int creds_provider_alloc(sd_event *e, struct http_client *http, enum creds_kind kind,
                         struct creds_provider **ret) {
        struct creds_provider *p;
        int r;

        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->event = sd_event_ref(e);
        p->http = http;
        p->kind = kind;
        p->pipe_fd = -1;
        p->err_fd = -1;
        p->process_timeout_usec = 60 * USEC_PER_SEC;
        p->refresh_before_usec = 300 * USEC_PER_SEC;
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

int creds_provider_new(sd_event *e, struct http_client *http, const struct creds_options *o,
                       struct creds_provider **ret) {
        struct creds_provider *p;
        int r;

        r = creds_provider_alloc(e, http, CREDS_CHAIN, &p);
        if (r < 0)
                return r;
        if (o && o->process_timeout_usec)
                p->process_timeout_usec = o->process_timeout_usec;
        if (o && o->refresh_before_usec)
                p->refresh_before_usec = o->refresh_before_usec;
        /* The start of the source_profile path, for loop detection. */
        p->visited = strdup(aws_profile_name(o ? o->profile : NULL));
        if (!p->visited || (o && o->profile && !(p->config_profile = strdup(o->profile))) ||
            (o && o->region && !(p->region = strdup(o->region)))) {
                creds_provider_free(p);
                return -ENOMEM;
        }
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
        creds_role_free(p);
        creds_process_cleanup(p);
        creds_process_linger_finish(p);
        sd_event_source_disable_unref(p->kick);
        aws_credentials_done(&p->cached);
        free(p->config_profile);
        free(p->region);
        free(p->visited);
        free(p->error_text);
        free(p->fail_text);
        free(p->tried);
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
