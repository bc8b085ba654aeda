/* SSO credentials (see sso.h): the profile's settings checked, the cached
 * token read (and refreshed and written back), the portal asked.
 *
 * Must never log a token, a client secret or a key (the cache file and the
 * CreateToken body hold them: neither is ever logged), never send a token
 * anywhere but the configured SSO endpoints, never block the loop beyond
 * reading and replacing one small local file. */
#include "aws/sso.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>

#include "atomic-file.h"
#include "aws/endpoint.h"
#include "aws/sso-json.h"
#include "log.h"
#include "util.h"

/* A token this close to its expiry is refreshed first (the SDKs' window). */
#define REFRESH_WINDOW_USEC (15 * 60 * USEC_PER_SEC)
/* A token closer than this to its expiry is not sent: it may arrive expired. */
#define TOKEN_MARGIN_USEC   (10 * USEC_PER_SEC)
/* Names, URLs and values from the files are quoted in messages cut to this. */
#define QUOTE_MAX           200
#define CACHE_DIR           ".aws/sso/cache"

struct sso_fetch {
        struct http_client *http;
        struct sso_config cfg;
        char *cache_path; /* for messages */
        char cache_name[SSO_CACHE_NAME_SIZE];
        char *cache_text; /* the file as read: a secret */
        size_t cache_len;
        struct sso_token token;
        char *bearer; /* the access token sent to the portal: a secret */
        struct http_request *req;
        char *error_text; /* why the fetch failed */
        sso_done_t done;
        void *userdata;
};

void sso_config_done(struct sso_config *c) {
        if (!c)
                return;
        free(c->profile);
        free(c->session);
        free(c->start_url);
        free(c->region);
        free(c->account_id);
        free(c->role_name);
        free(c->config_path);
        *c = (struct sso_config){};
}

static int config_copy(const struct sso_config *from, struct sso_config *to) {
        struct sso_config c = {};
        const char *const src[] = {from->profile,    from->session,   from->start_url,  from->region,
                                   from->account_id, from->role_name, from->config_path};
        char **dst[] = {&c.profile,    &c.session,   &c.start_url,  &c.region,
                        &c.account_id, &c.role_name, &c.config_path};

        for (size_t i = 0; i < ELEMENTSOF(src); i++)
                if (src[i] && !(*dst[i] = strdup(src[i]))) {
                        sso_config_done(&c);
                        return -ENOMEM;
                }
        *to = c;
        return 0;
}

/* Text from a file or the network, for a message. */
static const char *q(const char *s, char buf[static LOG_ESCAPE_SIZE(QUOTE_MAX)]) {
        return log_escape(strempty(s), strlen(strempty(s)), QUOTE_MAX, true, buf);
}

/* Replace *ret with a message; returns error. */
static int errorfv(char **ret, int error, const char *fmt, va_list ap) _printf_(3, 0);
static int errorfv(char **ret, int error, const char *fmt, va_list ap) {
        free(*ret);
        if (vasprintf(ret, fmt, ap) < 0)
                *ret = NULL;
        return error;
}

static int errorf(char **ret, int error, const char *fmt, ...) _printf_(3, 4);
static int errorf(char **ret, int error, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        errorfv(ret, error, fmt, ap);
        va_end(ap);
        return error;
}

static bool set(const char *s) {
        return s && *s;
}

static bool account_id_is_valid(const char *s) {
        return strlen(s) == 12 && strspn(s, "0123456789") == 12;
}

/* A key given in both the profile and its session must say the same. */
static int merge_key(const char *profile, const char *path, const char *session, const char *key,
                     const char *in_profile, const char *in_session, const char **ret, char **ret_error) {
        char b1[LOG_ESCAPE_SIZE(QUOTE_MAX)], b2[LOG_ESCAPE_SIZE(QUOTE_MAX)], b3[LOG_ESCAPE_SIZE(QUOTE_MAX)];

        if (set(in_profile) && set(in_session) && !streq(in_profile, in_session))
                return errorf(ret_error, -EINVAL,
                              "profile \"%s\" in %s: %s is %s, but its sso-session %s says %s", profile,
                              strna(path), key, q(in_profile, b1), q(session, b2), q(in_session, b3));
        *ret = set(in_session) ? in_session : set(in_profile) ? in_profile : NULL;
        return 0;
}

int sso_config_from_profile(const char *profile, const struct aws_profile *p, struct sso_config *ret,
                            char **ret_error) {
        char b1[LOG_ESCAPE_SIZE(QUOTE_MAX)], b2[LOG_ESCAPE_SIZE(QUOTE_MAX)];
        const char *start_url = NULL, *region = NULL, *session = set(p->sso_session) ? p->sso_session : NULL;
        const char *path = p->config_path;
        char missing[128] = "";
        struct sso_config c = {};
        int r;

        /* The SDKs take SSO credentials when the profile names an account or
         * a role. A profile that only names a session or a start URL, and no
         * other credentials, means SSO too: it is reported, not skipped. */
        if (!set(p->sso_account_id) && !set(p->sso_role_name)) {
                if (!session && !set(p->sso_start_url))
                        return 0;
                if ((p->access_key_id && p->secret_access_key) || p->credential_process)
                        return 0;
        }
        if (session) {
                if (!p->session.found)
                        return errorf(
                                ret_error, -EINVAL,
                                "profile \"%s\" in %s: sso_session names %s, but "
                                "there is no [sso-session %s] section in %s",
                                profile, strna(aws_profile_key_path(p, AWS_KEY_SSO_SESSION)), q(session, b1),
                                log_escape(session, strlen(session), QUOTE_MAX, false, b2), strna(path));
                r = merge_key(profile, path, session, "sso_start_url", p->sso_start_url,
                              p->session.sso_start_url, &start_url, ret_error);
                if (r >= 0)
                        r = merge_key(profile, path, session, "sso_region", p->sso_region,
                                      p->session.sso_region, &region, ret_error);
                if (r < 0)
                        return r;
        } else {
                start_url = set(p->sso_start_url) ? p->sso_start_url : NULL;
                region = set(p->sso_region) ? p->sso_region : NULL;
        }
        const struct {
                const char *key, *value;
        } need[] = {
                {"sso_start_url", start_url},
                {"sso_region", region},
                {"sso_account_id", p->sso_account_id},
                {"sso_role_name", p->sso_role_name},
        };
        for (size_t i = 0; i < ELEMENTSOF(need); i++)
                if (!set(need[i].value)) {
                        if (*missing)
                                strcat(missing, ", ");
                        strcat(missing, need[i].key);
                }
        if (*missing) {
                if (session)
                        return errorf(ret_error, -EINVAL,
                                      "profile \"%s\" in %s uses SSO (sso_session %s) but "
                                      "lacks %s (in the profile or its [sso-session] section)",
                                      profile, strna(path), q(session, b1), missing);
                return errorf(ret_error, -EINVAL, "profile \"%s\" in %s uses SSO but lacks %s", profile,
                              strna(path), missing);
        }
        if (!endpoint_region_is_valid(region))
                return errorf(ret_error, -EINVAL, "profile \"%s\" in %s: sso_region %s is not a region name",
                              profile,
                              strna(set(p->sso_region) ? aws_profile_key_path(p, AWS_KEY_SSO_REGION) : path),
                              q(region, b1));
        if (!account_id_is_valid(p->sso_account_id))
                return errorf(ret_error, -EINVAL,
                              "profile \"%s\" in %s: sso_account_id %s is not a 12-digit "
                              "account id",
                              profile, strna(aws_profile_key_path(p, AWS_KEY_SSO_ACCOUNT_ID)),
                              q(p->sso_account_id, b1));
        r = config_copy(&(const struct sso_config){.profile = (char *)profile,
                                                   .session = (char *)session,
                                                   .start_url = (char *)start_url,
                                                   .region = (char *)region,
                                                   .account_id = p->sso_account_id,
                                                   .role_name = p->sso_role_name,
                                                   .config_path = (char *)path},
                        &c);
        if (r < 0)
                return r;
        *ret = c;
        return 1;
}

/* ---- endpoints ------------------------------------------------------- */

/* The endpoint of service ("sso" or "sso_oidc", endpoint.h) + path; says
 * why not. */
static int endpoint_url(const struct sso_config *c, const char *service, const char *path, char **ret,
                        char **ret_error) {
        _cleanup_free_ char *base = NULL;
        const char *source = NULL;
        size_t n;
        int r;

        r = endpoint_resolve_service(service, c->region, c->profile, &base, &source);
        if (r == -ENOMEM)
                return r;
        if (r == -EPERM || r == -EACCES || r == -EPROTONOSUPPORT || r == -EINVAL)
                /* The URL is not quoted: it may hold a password. */
                return errorf(ret_error, r, "the %s endpoint from %s is refused: %s",
                              streq(service, "sso") ? "SSO portal" : "SSO-OIDC", strna(source),
                              r == -EPERM    ? "plain http:// is allowed only to loopback hosts"
                              : r == -EACCES ? "user information (user:password@) is not allowed in the URL"
                                             : "it is not an http:// or https:// URL");
        if (r < 0)
                return errorf(ret_error, r, "cannot find the %s endpoint for profile \"%s\": %s",
                              streq(service, "sso") ? "SSO portal" : "SSO-OIDC", c->profile, strerror(-r));
        n = strlen(base);
        while (n > 0 && base[n - 1] == '/')
                base[--n] = 0;
        if (asprintf(ret, "%s%s", base, path) < 0)
                return -ENOMEM;
        return 0;
}

/* Percent-encode a query value: everything but RFC 3986's unreserved. */
static int query_escape(const char *s, char **ret) {
        char *out = malloc(strlen(s) * 3 + 1), *o = out;

        if (!out)
                return -ENOMEM;
        for (; *s; s++) {
                unsigned char ch = (unsigned char)*s;
                if (isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~')
                        *o++ = (char)ch;
                else
                        o += sprintf(o, "%%%02X", ch);
        }
        *o = 0;
        *ret = out;
        return 0;
}

/* ---- messages -------------------------------------------------------- */

/* "sso_session "NAME" of profile "P" in FILE" or "the SSO keys of profile "P" in FILE", into buf. */
static const char *who(const struct sso_config *c, char *buf, size_t size) {
        char b[LOG_ESCAPE_SIZE(QUOTE_MAX)];

        if (c->session)
                snprintf(buf, size, "sso_session %s of profile \"%s\" in %s", q(c->session, b), c->profile,
                         strna(c->config_path));
        else
                snprintf(buf, size, "the SSO keys of profile \"%s\" in %s", c->profile,
                         strna(c->config_path));
        return buf;
}

/* The command that makes a new token, for messages. */
static const char *login_hint(const struct sso_config *c, char *buf, size_t size) {
        char b[LOG_ESCAPE_SIZE(QUOTE_MAX)];

        if (c->session)
                snprintf(buf, size, "run `aws sso login --sso-session %s`",
                         log_escape(c->session, strlen(c->session), QUOTE_MAX, false, b));
        else
                snprintf(buf, size, "run `aws sso login --profile %s`", c->profile);
        return buf;
}

static const char *format_time(uint64_t usec, char buf[static 32]) {
        time_t t = (time_t)(usec / USEC_PER_SEC);
        struct tm tm;

        if (!gmtime_r(&t, &tm) || strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                snprintf(buf, 32, "?");
        return buf;
}

/* ---- the fetch ------------------------------------------------------- */

static void fetch_free(struct sso_fetch *f) {
        if (!f)
                return;
        f->req = http_request_cancel(f->req);
        sso_config_done(&f->cfg);
        free(f->cache_path);
        free(f->error_text);
        if (f->cache_text)
                explicit_bzero(f->cache_text, f->cache_len);
        free(f->cache_text);
        sso_token_done(&f->token);
        free_secret(f->bearer);
        free(f);
}

struct sso_fetch *sso_fetch_cancel(struct sso_fetch *f) {
        fetch_free(f);
        return NULL;
}

/* Ends the fetch from an HTTP callback: the request is freed by http.c. */
static void finish(struct sso_fetch *f, int error, struct aws_credentials *c) {
        _cleanup_free_ char *text = TAKE_PTR(f->error_text);
        sso_done_t done = f->done;
        void *ud = f->userdata;

        f->req = NULL;
        fetch_free(f);
        if (error < 0 && !text)
                text = strdup(strerror(-error));
        done(error, c, text, ud);
}

/* Ends the fetch with an error and why. */
static void finish_error(struct sso_fetch *f, int error, const char *fmt, ...) _printf_(3, 4);
static void finish_error(struct sso_fetch *f, int error, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        errorfv(&f->error_text, error, fmt, ap);
        va_end(ap);
        finish(f, error, NULL);
}

static int portal_prepare(struct http_request *r, void *userdata) {
        struct sso_fetch *f = userdata;

        return http_request_add_header(r, "x-amz-sso_bearer_token", f->bearer);
}

static void portal_done(struct http_request *req, const struct http_response *resp, void *userdata);
static void refresh_done(struct http_request *req, const struct http_response *resp, void *userdata);

static int portal_start(struct sso_fetch *f) {
        _cleanup_free_ char *url = NULL, *path = NULL, *role = NULL;
        int r;

        r = query_escape(f->cfg.role_name, &role);
        if (r < 0)
                return r;
        if (asprintf(&path, "/federation/credentials?account_id=%s&role_name=%s", f->cfg.account_id, role) <
            0)
                return -ENOMEM;
        r = endpoint_url(&f->cfg, "sso", path, &url, &f->error_text);
        if (r < 0)
                return r;
        return http_request_start(f->http,
                                  &(struct http_request_params){
                                          .method = "GET",
                                          .url = url,
                                          .expect_json = true,
                                          .log_name = "SSO.GetRoleCredentials",
                                          .prepare = portal_prepare,
                                          .done = portal_done,
                                          .userdata = f,
                                  },
                                  &f->req);
}

static int refresh_prepare(struct http_request *r, void *userdata) {
        return http_request_add_header(r, "Content-Type", "application/json");
}

static int refresh_start(struct sso_fetch *f) {
        _cleanup_free_ char *url = NULL;
        char *body = NULL;
        int r;

        r = endpoint_url(&f->cfg, "sso_oidc", "/token", &url, &f->error_text);
        if (r < 0)
                return r;
        r = sso_create_token_request(&f->token, &body);
        if (r < 0)
                return r;
        r = http_request_start(f->http,
                               &(struct http_request_params){
                                       .method = "POST",
                                       .url = url,
                                       .body = body,
                                       .body_len = strlen(body),
                                       .expect_json = true,
                                       .log_name = "SSO-OIDC.CreateToken",
                                       .prepare = refresh_prepare,
                                       .done = refresh_done,
                                       .userdata = f,
                               },
                               &f->req);
        free_secret(body);
        return r;
}

static int use_bearer(struct sso_fetch *f, const char *token) {
        char *b = strdup(token);

        if (!b)
                return -ENOMEM;
        free_secret(f->bearer);
        f->bearer = b;
        return 0;
}

/* Ask the portal with the token as read. */
static int use_token(struct sso_fetch *f) {
        int r = use_bearer(f, f->token.access_token);
        return r < 0 ? r : portal_start(f);
}

/* Write the refreshed token back, so that the next fetch (and the AWS CLI)
 * find it. A failure is survivable until the new token expires: warned. */
static void save_refreshed(struct sso_fetch *f, const struct sso_refreshed *x, uint64_t now) {
        _cleanup_free_ char *dir = NULL;
        char w[512];
        _cleanup_close_ int dfd = -1;
        char *text = NULL;
        size_t len = 0;
        int r;

        r = sso_token_render_refreshed(f->cache_text, f->cache_len, x, now, &text, &len);
        if (r >= 0)
                r = aws_home_path(CACHE_DIR, &dir);
        if (r >= 0) {
                dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                r = dfd < 0 ? -errno : atomic_file_write_private(dfd, f->cache_name, text, len);
        }
        free_secret(text);
        if (r < 0)
                log_warning_errno(r,
                                  "Cannot write the refreshed SSO token back to %s: %m; using it "
                                  "until it expires, then the next refresh starts from the old one.",
                                  f->cache_path);
        else
                log_info("Refreshed the token of %s and wrote it back to %s.", who(&f->cfg, w, sizeof w),
                         f->cache_path);
}

static void refresh_done(struct http_request *req, const struct http_response *resp, void *userdata) {
        struct sso_fetch *f = userdata;
        _cleanup_free_ char *oerr = NULL, *odesc = NULL;
        char w[512], hint[300], when[32], why[1024];
        uint64_t now = clock_now_usec(CLOCK_REALTIME);
        struct sso_refreshed x = {};
        int r;

        f->req = NULL;
        if (resp->error >= 0 && resp->status == 200) {
                r = sso_create_token_parse(resp->json, &x);
                if (r < 0) {
                        snprintf(why, sizeof why, "SSO-OIDC answered CreateToken with a malformed token");
                        goto failed;
                }
                save_refreshed(f, &x, now);
                r = use_bearer(f, x.access_token);
                sso_refreshed_done(&x);
                if (r >= 0)
                        r = portal_start(f);
                if (r < 0)
                        finish(f, r, NULL);
                return;
        }
        if (resp->error < 0)
                snprintf(why, sizeof why, "SSO-OIDC did not answer: %s",
                         resp->error_text ? resp->error_text : strerror(-resp->error));
        else {
                (void)sso_oidc_error_parse(resp->json, &oerr, &odesc);
                snprintf(why, sizeof why, "SSO-OIDC refused CreateToken: HTTP %ld %s%s%s%s%s%s",
                         resp->status, strempty(resp->error_code), oerr && resp->error_code ? " (" : "",
                         strempty(oerr), oerr && resp->error_code ? ")" : "", odesc ? ": " : "",
                         strempty(odesc));
        }
        r = resp->error < 0 ? resp->error : -EKEYEXPIRED;
failed:
        /* The old token, while it lasts, is as good as it was: botocore's
         * advisory refresh does the same. */
        if (f->token.expires_at_usec > now + TOKEN_MARGIN_USEC) {
                log_warning("Cannot refresh the token of %s (%s); using the cached one until it "
                            "expires at %s.",
                            who(&f->cfg, w, sizeof w), why, format_time(f->token.expires_at_usec, when));
                r = use_token(f);
                if (r < 0)
                        finish(f, r, NULL);
                return;
        }
        finish_error(f, r == -EBADMSG ? -EKEYEXPIRED : r,
                     "the token of %s expired at %s and cannot be refreshed "
                     "(%s); %s",
                     who(&f->cfg, w, sizeof w), format_time(f->token.expires_at_usec, when), why,
                     login_hint(&f->cfg, hint, sizeof hint));
}

static void portal_done(struct http_request *req, const struct http_response *resp, void *userdata) {
        struct sso_fetch *f = userdata;
        struct aws_credentials c = {};
        char w[512], hint[300], b[LOG_ESCAPE_SIZE(QUOTE_MAX)], when[32];
        int r;

        f->req = NULL;
        if (resp->error < 0) {
                finish_error(f, resp->error, "the SSO portal did not answer GetRoleCredentials for %s: %s",
                             who(&f->cfg, w, sizeof w),
                             resp->error_text ? resp->error_text : strerror(-resp->error));
                return;
        }
        if (resp->status != 200) {
                bool unauthorized =
                        resp->status == 401 || streq_ptr(resp->error_code, "UnauthorizedException");
                finish_error(f, unauthorized ? -EKEYEXPIRED : -EACCES,
                             "the SSO portal refused role credentials for account %s, role %s (%s): HTTP "
                             "%ld %s%s%s%s%s",
                             f->cfg.account_id, q(f->cfg.role_name, b), who(&f->cfg, w, sizeof w),
                             resp->status, strempty(resp->error_code), resp->error_message ? ": " : "",
                             strempty(resp->error_message),
                             unauthorized ? "; the token is not accepted: " : "",
                             unauthorized ? login_hint(&f->cfg, hint, sizeof hint) : "");
                return;
        }
        r = sso_role_credentials_parse(resp->json, &c);
        if (r < 0) {
                finish_error(f, r,
                             "the SSO portal answered GetRoleCredentials for %s with malformed credentials",
                             who(&f->cfg, w, sizeof w));
                return;
        }
        log_debug("SSO role credentials for account %s, role %s expire at %s.", f->cfg.account_id,
                  q(f->cfg.role_name, b), format_time(c.expiration_usec, when));
        finish(f, 0, &c);
}

/* Read and parse the cached token; says what is wrong in f->error_text. */
static int load_token(struct sso_fetch *f) {
        _cleanup_free_ char *dir = NULL;
        char w[512], hint[300];
        bool insecure = false;
        int r;

        r = sso_cache_file_name(f->cfg.session ? f->cfg.session : f->cfg.start_url, f->cache_name);
        if (r < 0)
                return r;
        r = aws_home_path(CACHE_DIR, &dir);
        if (r < 0)
                return errorf(&f->error_text, r, "%s: no home directory to find the SSO token cache in",
                              who(&f->cfg, w, sizeof w));
        if (asprintf(&f->cache_path, "%s/%s", dir, f->cache_name) < 0)
                return -ENOMEM;
        r = aws_file_read(f->cache_path, SSO_CACHE_FILE_MAX, &f->cache_text, &f->cache_len, &insecure);
        if (r == -ENOENT)
                return errorf(&f->error_text, r, "there is no cached SSO token for %s (%s is missing); %s",
                              who(&f->cfg, w, sizeof w), f->cache_path,
                              login_hint(&f->cfg, hint, sizeof hint));
        if (r < 0)
                return errorf(&f->error_text, r, "cannot read the SSO token cache %s for %s: %s",
                              f->cache_path, who(&f->cfg, w, sizeof w), strerror(-r));
        if (insecure)
                log_warning("%s is group- or world-writable; anyone who can write it chooses the "
                            "credentials kinesisd uses.",
                            f->cache_path);
        r = sso_token_parse(f->cache_text, f->cache_len, &f->token);
        if (r == -EBADMSG)
                return errorf(&f->error_text, r,
                              "the SSO token cache %s for %s is malformed (it needs "
                              "accessToken and expiresAt); %s",
                              f->cache_path, who(&f->cfg, w, sizeof w),
                              login_hint(&f->cfg, hint, sizeof hint));
        return r;
}

/* What to do with the token as read: use it, refresh it first, or give up. */
static int token_next(struct sso_fetch *f) {
        uint64_t now = clock_now_usec(CLOCK_REALTIME), exp = f->token.expires_at_usec;
        char w[512], hint[300], when[32];
        const char *why;

        /* Only sso_session tokens are refreshed: the legacy ones have no
         * client registration to refresh with (as in the SDKs). */
        if (f->cfg.session && exp < now + REFRESH_WINDOW_USEC) {
                if (sso_token_refreshable(&f->token, now))
                        return refresh_start(f);
                if (exp > now + TOKEN_MARGIN_USEC) {
                        log_debug("The SSO token of %s expires soon and cannot be refreshed; using it.",
                                  who(&f->cfg, w, sizeof w));
                        return use_token(f);
                }
                why = !f->token.refresh_token ? "there is no refresh token"
                      : !f->token.client_id || !f->token.client_secret ||
                                      !f->token.registration_expires_at_usec
                              ? "there is no client registration"
                              : "the client registration expired";
                return errorf(&f->error_text, -EKEYEXPIRED,
                              "the token of %s expired at %s and cannot be "
                              "refreshed (%s; cached in %s); %s",
                              who(&f->cfg, w, sizeof w), format_time(exp, when), why, f->cache_path,
                              login_hint(&f->cfg, hint, sizeof hint));
        }
        if (exp <= now + TOKEN_MARGIN_USEC)
                return errorf(&f->error_text, -EKEYEXPIRED,
                              "the token of %s expired at %s (cached in %s); %s", who(&f->cfg, w, sizeof w),
                              format_time(exp, when), f->cache_path, login_hint(&f->cfg, hint, sizeof hint));
        return use_token(f);
}

int sso_fetch_start(struct http_client *http, const struct sso_config *cfg, sso_done_t done, void *userdata,
                    struct sso_fetch **ret, char **ret_error) {
        struct sso_fetch *f;
        int r;

        f = calloc(1, sizeof *f);
        if (!f)
                return -ENOMEM;
        f->http = http;
        f->done = done;
        f->userdata = userdata;
        r = config_copy(cfg, &f->cfg);
        /* Whatever fails from here on says why in f->error_text (or is ENOMEM). */
        if (r >= 0)
                r = load_token(f);
        if (r >= 0)
                r = token_next(f);
        if (r < 0) {
                free(*ret_error);
                *ret_error = TAKE_PTR(f->error_text);
                fetch_free(f);
                return r;
        }
        *ret = f;
        return 0;
}
