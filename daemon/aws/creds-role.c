/* Roles for the credential chain (see creds.h): sts:AssumeRole signed with
 * the credentials of a source (a profile's source_profile or
 * credential_source, or the provider given to creds_provider_new_role()),
 * and sts:AssumeRoleWithWebIdentity with a token read from its file at every
 * fetch (it is rotated under us).
 *
 * A role that is configured but cannot be used is an error that names the
 * profile, the file and the key; the chain never goes on past it.
 *
 * Must never log a key, a token or the token file's content. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "aws/creds-internal.h"
#include "aws/endpoint.h"
#include "log.h"

/* DurationSeconds: STS takes 900 s to 12 h (the role's maximum may be less). */
#define DURATION_MIN 900
#define DURATION_MAX 43200
#define SESSION_NAME_MAX 64

void creds_role_done(struct creds_role *r) {
        free(r->role_arn);
        free(r->external_id);
        free(r->session_name);
        free(r->region);
        free(r->sts_endpoint);
        free(r->web_token_file);
        free(r->what);
        *r = (struct creds_role){};
}

static bool session_char_ok(char c) {
        return isalnum((unsigned char) c) || strchr("+=,.@_-", c);
}

static bool session_name_valid(const char *s) {
        size_t n = strlen(s);

        if (n < 2 || n > SESSION_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!session_char_ok(s[i]))
                        return false;
        return true;
}

int creds_default_session_name(char **ret) {
        char host[256] = "";
        char *s;

        if (gethostname(host, sizeof host - 1) < 0 || !*host)
                strcpy(host, "localhost");
        if (asprintf(&s, "kinesisd-%s", host) < 0)
                return -ENOMEM;
        if (strlen(s) > SESSION_NAME_MAX)
                s[SESSION_NAME_MAX] = 0;
        for (char *q = s; *q; q++)
                if (!session_char_ok(*q))
                        *q = '-';
        *ret = s;
        return 0;
}

/* arn:PARTITION:iam::ACCOUNT:role/NAME, without anything that would need
 * escaping in a message. */
static bool role_arn_valid(const char *s) {
        const char *p;

        if (strncmp(s, "arn:", 4) != 0 || strlen(s) > 2048)
                return false;
        for (p = s; *p; p++)
                if ((unsigned char) *p <= 0x20 || (unsigned char) *p >= 0x7f || *p == '"' || *p == '\\')
                        return false;
        p = strchr(s + 4, ':');
        if (!p || strncmp(p, ":iam::", 6) != 0)
                return false;
        p = strchr(p + 6, ':');
        return p && strncmp(p, ":role/", 6) == 0 && p[6];
}

static int role_fill(struct creds_role *r, const char *arn, const char *external_id, const char *session,
                     unsigned duration, const char *region, const char *sts_endpoint) {
        struct creds_role n = { .duration_seconds = duration };

        n.role_arn = strdup(arn);
        n.external_id = external_id ? strdup(external_id) : NULL;
        n.region = region ? strdup(region) : NULL;
        n.sts_endpoint = sts_endpoint ? strdup(sts_endpoint) : NULL;
        if (session)
                n.session_name = strdup(session);
        else if (creds_default_session_name(&n.session_name) < 0)
                n.session_name = NULL;
        if (!n.role_arn || !n.session_name || (external_id && !n.external_id) || (region && !n.region) ||
            (sts_endpoint && !n.sts_endpoint)) {
                creds_role_done(&n);
                return -ENOMEM;
        }
        creds_role_done(r);
        *r = n;
        return 0;
}

/* ---- the call -------------------------------------------------------- */

/* STS refused the source's credentials as expired (or unknown: rotated):
 * drop them from the source's cache and ask once more. */
static bool source_refused(const char *code) {
        return code && (streq(code, "ExpiredToken") || streq(code, "InvalidClientTokenId") ||
                        streq(code, "SignatureDoesNotMatch"));
}

static void on_sts(int error, const struct aws_credentials *c, const char *error_code,
                   const char *error_text, void *userdata) {
        struct creds_provider *p = userdata;
        struct aws_credentials copy = {};
        int r;

        p->sts = NULL;
        if (error < 0 && p->role_source && !p->role_retried && source_refused(error_code)) {
                log_debug("%s: STS answered %s, fetching the source's credentials again.", p->role.what,
                          error_code);
                p->role_retried = true;
                creds_invalidate(p->role_source);
                creds_role_fetch(p);
                return;
        }
        p->role_retried = false;
        if (error < 0) {
                creds_fail(p, error, "%s %s: %s",
                           p->role.web_token_file ? "AssumeRoleWithWebIdentity" : "AssumeRole",
                           p->role.what, error_text);
                return;
        }
        r = aws_credentials_copy(c, &copy);
        if (r < 0) {
                creds_fetch_done(p, r, NULL);
                return;
        }
        creds_set_pending_source(p, "%s", p->role.what);
        creds_fetch_done(p, 0, &copy);
}

/* Where STS is: the endpoint given, else resolved for the region (the
 * role's, the daemon's, the profile's), else STS's global endpoint. */
static int role_target(struct creds_provider *p, char **ret_url, char **ret_region,
                       const char **ret_source) {
        /* A role of its own (creds_provider_new_role()) goes by its source's profile. */
        const char *profile = aws_profile_name(p->config_profile ? p->config_profile
                                               : p->role_source ? p->role_source->config_profile
                                                                : NULL);
        _cleanup_free_ char *region = NULL, *url = NULL;
        int r;

        if (p->role.region)
                region = strdup(p->role.region);
        else if (p->region)
                region = strdup(p->region);
        else {
                r = endpoint_resolve_region(NULL, NULL, profile, &region, NULL);
                if (r == -ENOENT || r == -EINVAL)
                        region = strdup("us-east-1"), r = 0;
                if (r < 0)
                        return r;
        }
        if (!region)
                return -ENOMEM;
        if (p->role.sts_endpoint) {
                *ret_source = "the role's STS endpoint";
                r = endpoint_service_url("sts", &(struct endpoint_setting){ .value = p->role.sts_endpoint },
                                         region, &url);
        } else {
                _cleanup_(endpoint_setting_done) struct endpoint_setting s = {};
                r = endpoint_service_setting("sts", NULL, NULL, profile, &s);
                if (r < 0)
                        return r;
                /* Static: the setting's name outlives s. */
                *ret_source = s.source;
                r = endpoint_service_url("sts", &s, region, &url);
        }
        if (r < 0)
                return r;
        *ret_url = TAKE_PTR(url);
        *ret_region = TAKE_PTR(region);
        return 0;
}

static void role_call(struct creds_provider *p, const struct aws_credentials *signer,
                      const char *web_token) {
        _cleanup_free_ char *url = NULL, *region = NULL;
        const char *source = NULL;
        int r;

        /* The URL is not quoted: it may hold a password. */
        r = role_target(p, &url, &region, &source);
        if (r < 0) {
                creds_fail(p, r, "%s: no usable STS endpoint (%s%s%s)", p->role.what,
                           r == -EPERM    ? "plain http:// is allowed only to loopback hosts"
                           : r == -EACCES ? "user information (user:password@) is not allowed in the URL"
                           : r == -EINVAL || r == -EPROTONOSUPPORT ? "not an http:// or https:// URL"
                                                                   : strerror(-r),
                           source ? ", from " : "", strempty(source));
                return;
        }
        struct sts_params sp = {
                .action = web_token ? "AssumeRoleWithWebIdentity" : "AssumeRole",
                .role_arn = p->role.role_arn,
                .session_name = p->role.session_name,
                .external_id = p->role.external_id,
                .duration_seconds = p->role.duration_seconds,
                .web_identity_token = web_token,
        };
        r = sts_call_start(p->http, &(struct sts_target){ url, region }, &sp, signer, on_sts, p, &p->sts);
        if (r < 0)
                creds_fail(p, r, "%s: cannot call STS at %s: %s", p->role.what, url, strerror(-r));
}

static void on_source(int error, const struct aws_credentials *c, void *userdata) {
        struct creds_provider *p = userdata;

        p->role_wait = NULL;
        if (error < 0) {
                const char *why = creds_error_text(p->role_source);
                creds_fail(p, error, "%s: its source has no credentials: %s", p->role.what,
                           why ? why : strerror(-error));
                return;
        }
        role_call(p, c, NULL);
}

static void web_identity_call(struct creds_provider *p) {
        _cleanup_free_ char *token = NULL;
        size_t len = 0;
        int r;

        /* Read at every fetch: the token is rotated in place. */
        r = aws_file_read(p->role.web_token_file, STS_WEB_TOKEN_MAX + 64, &token, &len, NULL);
        if (r < 0) {
                creds_fail(p, r, "%s: cannot read the web identity token file %s: %s", p->role.what,
                           p->role.web_token_file, r == -EFBIG ? "larger than a token" : strerror(-r));
                return;
        }
        while (len > 0 && strchr(" \t\r\n", token[len - 1]))
                token[--len] = 0;
        if (len == 0 || len > STS_WEB_TOKEN_MAX || strlen(token) != len) {
                creds_fail(p, -EBADMSG, "%s: the web identity token file %s holds no token",
                           p->role.what, p->role.web_token_file);
                explicit_bzero(token, len);
                return;
        }
        role_call(p, NULL, token);
        explicit_bzero(token, len);
}

void creds_role_fetch(struct creds_provider *p) {
        const struct aws_credentials *c;
        int r;

        p->fetching = true;
        if (p->role.web_token_file) {
                web_identity_call(p);
                return;
        }
        if (!p->role_source) {
                creds_fail(p, -EINVAL, "%s: no source of credentials", p->role.what);
                return;
        }
        r = creds_get(p->role_source, &c);
        if (r == -EAGAIN) {
                r = creds_request(p->role_source, on_source, p, &p->role_wait);
                if (r < 0)
                        creds_fetch_done(p, r, NULL);
                return;
        }
        if (r < 0) {
                creds_fetch_done(p, r, NULL);
                return;
        }
        role_call(p, c, NULL);
}

void creds_role_stop(struct creds_provider *p) {
        p->role_wait = creds_wait_cancel(p->role_wait);
        p->sts = sts_call_cancel(p->sts);
}

static void role_source_drop(struct creds_provider *p) {
        creds_role_stop(p);
        if (p->role_source_owned)
                creds_provider_free(p->role_source);
        p->role_source = NULL;
        p->role_source_owned = false;
        p->role_source_key = mfree(p->role_source_key);
}

void creds_role_free(struct creds_provider *p) {
        role_source_drop(p);
        creds_role_done(&p->role);
}

/* ---- from a profile -------------------------------------------------- */

/* The role is in p->role (r = 0): fetch; or setting it up failed. */
static void role_start(struct creds_provider *p, int r) {
        if (r < 0)
                creds_fetch_done(p, r, NULL);
        else
                creds_role_fetch(p);
}

static bool visited_has(const char *visited, const char *name) {
        size_t n = strlen(name);

        for (const char *s = visited; s && *s;) {
                const char *e = strchr(s, '\n');
                size_t l = e ? (size_t) (e - s) : strlen(s);
                if (l == n && memcmp(s, name, n) == 0)
                        return true;
                s = e ? e + 1 : NULL;
        }
        return false;
}

/* "a -> b -> c" from "a\nb" and "c". */
static char *visited_show(const char *visited, const char *last) {
        size_t n = strlen(visited) + strlen(last) + 5;
        char *s, *q;

        for (const char *v = visited; *v; v++)
                n += *v == '\n' ? 3 : 0;
        s = malloc(n);
        if (!s)
                return NULL;
        q = s;
        for (const char *v = visited; *v; v++)
                if (*v == '\n')
                        q = stpcpy(q, " -> ");
                else
                        *q++ = *v;
        q = stpcpy(q, " -> ");
        strcpy(q, last);
        return s;
}

static int make_source(struct creds_provider *p, const struct aws_profile *prof, const char *profile) {
        _cleanup_free_ char *key = NULL;
        struct creds_provider *s = NULL;
        const char *sp = prof->source_profile, *cs = prof->credential_source;
        const char *path =
                aws_profile_key_path(prof, sp ? AWS_KEY_SOURCE_PROFILE : AWS_KEY_CREDENTIAL_SOURCE);
        enum creds_kind kind;
        int r;

        if (sp) {
                kind = streq(sp, profile) ? CREDS_PROFILE_KEYS : CREDS_SOURCE_PROFILE;
                if (kind == CREDS_SOURCE_PROFILE && visited_has(p->visited, sp)) {
                        _cleanup_free_ char *loop = visited_show(p->visited, sp);
                        creds_fail(p, -ELOOP, "profile \"%s\" in %s: source_profile \"%s\" makes a loop: %s",
                                   profile, strna(path), sp, strna(loop));
                        return -ELOOP;
                }
        } else if (streq(cs, "Environment"))
                kind = CREDS_ENV;
        else if (streq(cs, "Ec2InstanceMetadata"))
                kind = CREDS_IMDS;
        else if (streq(cs, "EcsContainer"))
                kind = CREDS_CONTAINER;
        else {
                _cleanup_free_ char *v = log_escape_dup(cs, strlen(cs), 64);
                creds_fail(p, -EINVAL, "profile \"%s\" in %s: credential_source \"%s\" is not Environment, "
                           "Ec2InstanceMetadata or EcsContainer", profile, strna(path), strna(v));
                return -EINVAL;
        }
        if (asprintf(&key, "%d:%s", (int) kind, sp ? sp : cs) < 0) {
                key = NULL;
                return -ENOMEM;
        }
        if (p->role_source && p->role_source_owned && streq_ptr(p->role_source_key, key))
                return 0; /* the same source as last time: keep what it cached */
        role_source_drop(p);
        r = creds_provider_alloc(p->event, p->http, kind, &s);
        if (r < 0)
                return r;
        s->process_timeout_usec = p->process_timeout_usec;
        s->refresh_before_usec = p->refresh_before_usec;
        if ((sp && !(s->config_profile = strdup(sp))) || (p->region && !(s->region = strdup(p->region)))) {
                creds_provider_free(s);
                return -ENOMEM;
        }
        if (kind == CREDS_SOURCE_PROFILE && asprintf(&s->visited, "%s\n%s", p->visited, sp) < 0) {
                s->visited = NULL;
                creds_provider_free(s);
                return -ENOMEM;
        }
        p->role_source = s;
        p->role_source_owned = true;
        p->role_source_key = TAKE_PTR(key);
        return 0;
}

static int parse_duration(struct creds_provider *p, const struct aws_profile *prof, const char *profile,
                          unsigned *ret) {
        const char *v = prof->duration_seconds;
        char *end;
        unsigned long d;

        *ret = 0;
        if (!v || !*v)
                return 0;
        errno = 0;
        d = strtoul(v, &end, 10);
        if (errno || *end || !isdigit((unsigned char) *v) || d < DURATION_MIN || d > DURATION_MAX) {
                _cleanup_free_ char *e = log_escape_dup(v, strlen(v), 32);
                creds_fail(p, -EINVAL, "profile \"%s\" in %s: duration_seconds \"%s\" is not a number of "
                           "seconds from %d to %d", profile,
                           strna(aws_profile_key_path(prof, AWS_KEY_DURATION_SECONDS)), strna(e),
                           DURATION_MIN, DURATION_MAX);
                return -EINVAL;
        }
        *ret = (unsigned) d;
        return 0;
}

/* arn and session (may be NULL) are values STS takes; *_from name where
 * they were set, for the message. */
static int check_role_values(struct creds_provider *p, const char *arn, const char *arn_from,
                             const char *session, const char *session_from) {
        if (!role_arn_valid(arn)) {
                _cleanup_free_ char *e = log_escape_dup(arn, strlen(arn), 128);
                creds_fail(p, -EINVAL, "%s: \"%s\" is not the ARN of an IAM role", arn_from, strna(e));
                return -EINVAL;
        }
        if (session && !session_name_valid(session)) {
                _cleanup_free_ char *e = log_escape_dup(session, strlen(session), 128);
                creds_fail(p, -EINVAL, "%s: \"%s\" is not a role session name (2 to 64 letters, digits "
                           "and +=,.@_-)", session_from, strna(e));
                return -EINVAL;
        }
        return 0;
}

int creds_role_from_profile(struct creds_provider *p, const struct aws_profile *prof, const char *profile) {
        _cleanup_free_ char *arn_from = NULL, *session_from = NULL;
        const char *path;
        unsigned duration;
        int r;

        if (!prof->role_arn || prof->web_identity_token_file)
                return 0;
        path = aws_profile_key_path(prof, AWS_KEY_ROLE_ARN);
        if (!prof->source_profile == !prof->credential_source) {
                creds_fail(p, -EINVAL, "profile \"%s\" in %s: role_arn needs %s", profile, strna(path),
                           prof->source_profile ? "source_profile or credential_source, not both"
                                                : "source_profile or credential_source");
                return 1;
        }
        if (asprintf(&arn_from, "profile \"%s\" in %s, role_arn", profile, strna(path)) < 0)
                arn_from = NULL;
        if (asprintf(&session_from, "profile \"%s\" in %s, role_session_name", profile,
                     strna(aws_profile_key_path(prof, AWS_KEY_ROLE_SESSION_NAME))) < 0)
                session_from = NULL;
        if (!arn_from || !session_from) {
                creds_fetch_done(p, -ENOMEM, NULL);
                return 1;
        }
        if (check_role_values(p, prof->role_arn, arn_from, prof->role_session_name, session_from) < 0 ||
            parse_duration(p, prof, profile, &duration) < 0)
                return 1;
        r = make_source(p, prof, profile);
        if (r == -ENOMEM)
                creds_fetch_done(p, r, NULL);
        if (r < 0)
                return 1;
        r = role_fill(&p->role, prof->role_arn, prof->external_id, prof->role_session_name, duration,
                      NULL, NULL);
        if (r >= 0 && asprintf(&p->role.what,
                               "role %s (profile \"%s\" in %s, with the credentials of %s%s%s)",
                               prof->role_arn, profile, strna(path),
                               prof->source_profile ? "profile \"" : "",
                               prof->source_profile ? prof->source_profile : prof->credential_source,
                               prof->source_profile ? "\"" : "") < 0)
                r = -ENOMEM, p->role.what = NULL;
        role_start(p, r);
        return 1;
}

int creds_web_identity_from(struct creds_provider *p, const struct aws_profile *prof, const char *profile,
                            bool use_env) {
        _cleanup_free_ char *file_from = NULL, *arn_from = NULL, *session_from = NULL;
        const char *file = use_env ? getenv("AWS_WEB_IDENTITY_TOKEN_FILE") : NULL;
        const char *arn = use_env ? getenv("AWS_ROLE_ARN") : NULL;
        const char *session = use_env ? getenv("AWS_ROLE_SESSION_NAME") : NULL;
        int r;

        if (!file || !*file)
                file = prof->web_identity_token_file;
        if (!file || !*file)
                return 0;
        if (!arn || !*arn)
                arn = prof->role_arn;
        if (!session || !*session)
                session = prof->role_session_name;
        if (use_env && file == getenv("AWS_WEB_IDENTITY_TOKEN_FILE"))
                file_from = strdup("$AWS_WEB_IDENTITY_TOKEN_FILE");
        else if (asprintf(&file_from, "profile \"%s\" in %s, web_identity_token_file", profile,
                          strna(aws_profile_key_path(prof, AWS_KEY_WEB_IDENTITY_TOKEN_FILE))) < 0)
                file_from = NULL;
        if (arn && use_env && arn == getenv("AWS_ROLE_ARN"))
                arn_from = strdup("$AWS_ROLE_ARN");
        else if (asprintf(&arn_from, "profile \"%s\" in %s, role_arn", profile,
                          strna(aws_profile_key_path(prof, AWS_KEY_ROLE_ARN))) < 0)
                arn_from = NULL;
        if (session && use_env && session == getenv("AWS_ROLE_SESSION_NAME"))
                session_from = strdup("$AWS_ROLE_SESSION_NAME");
        else if (asprintf(&session_from, "profile \"%s\" in %s, role_session_name", profile,
                          strna(aws_profile_key_path(prof, AWS_KEY_ROLE_SESSION_NAME))) < 0)
                session_from = NULL;
        if (!file_from || !arn_from || !session_from) {
                creds_fetch_done(p, -ENOMEM, NULL);
                return 1;
        }
        if (!arn || !*arn) {
                creds_fail(p, -EINVAL, "%s names a web identity token file, but no role is set: set "
                           "AWS_ROLE_ARN or role_arn", file_from);
                return 1;
        }
        if (check_role_values(p, arn, arn_from, session, session_from) < 0)
                return 1;
        role_source_drop(p);
        r = role_fill(&p->role, arn, NULL, session, 0, NULL, NULL);
        if (r >= 0 && !(p->role.web_token_file = strdup(file)))
                r = -ENOMEM;
        if (r >= 0 && asprintf(&p->role.what, "role %s (web identity, token file from %s)", arn,
                               file_from) < 0)
                r = -ENOMEM, p->role.what = NULL;
        role_start(p, r);
        return 1;
}

int creds_provider_new_role(sd_event *e, struct http_client *http, struct creds_provider *source,
                            const struct creds_role_options *o, struct creds_provider **ret) {
        struct creds_provider *p = NULL;
        int r;

        if (!source || !o || !o->role_arn || !role_arn_valid(o->role_arn) ||
            (o->session_name && !session_name_valid(o->session_name)) ||
            (o->region && !endpoint_region_is_valid(o->region)) ||
            (o->duration_seconds &&
             (o->duration_seconds < DURATION_MIN || o->duration_seconds > DURATION_MAX)))
                return -EINVAL;
        r = creds_provider_alloc(e, http, CREDS_ROLE, &p);
        if (r < 0)
                return r;
        r = role_fill(&p->role, o->role_arn, o->external_id, o->session_name, o->duration_seconds, o->region,
                      o->sts_endpoint);
        if (r >= 0 && asprintf(&p->role.what, "role %s", o->role_arn) < 0)
                r = -ENOMEM, p->role.what = NULL;
        if (r < 0) {
                creds_provider_free(p);
                return r;
        }
        p->role_source = source;
        *ret = p;
        return 0;
}
