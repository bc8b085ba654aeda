/* Pure parts of SSO credentials (see sso-json.h).
 *
 * Must never log, keep a secret unwiped, follow input past its length, or
 * hand on foreign text unescaped. */
#include "aws/sso-json.h"

#include <errno.h>
#include <inttypes.h>
#include <mbedtls/md.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "aws/aws-error.h"
#include "json-util.h"
#include "log.h"
#include "util.h"

/* Error codes and descriptions quoted in messages are cut to these. */
#define OIDC_ERROR_MAX       256
#define OIDC_DESCRIPTION_MAX 1024
/* An access token that says it lives longer than this is not believed. */
#define EXPIRES_IN_MAX       (366 * 24 * 3600)

int sso_cache_file_name(const char *key, char ret[static SSO_CACHE_NAME_SIZE]) {
        const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA1);
        unsigned char digest[20];

        if (!key || !*key || strlen(key) > AWS_VALUE_MAX)
                return -EINVAL;
        if (!md || mbedtls_md_get_size(md) != sizeof digest ||
            mbedtls_md(md, (const unsigned char *)key, strlen(key), digest) != 0)
                return -EIO;
        for (size_t i = 0; i < sizeof digest; i++)
                snprintf(ret + 2 * i, 3, "%02x", digest[i]);
        memcpy(ret + 40, ".json", 6);
        return 0;
}

void sso_token_done(struct sso_token *t) {
        if (!t)
                return;
        free_secret(t->access_token);
        free_secret(t->refresh_token);
        free(t->client_id);
        free_secret(t->client_secret);
        *t = (struct sso_token){};
}

void sso_refreshed_done(struct sso_refreshed *r) {
        if (!r)
                return;
        free_secret(r->access_token);
        free_secret(r->refresh_token);
        *r = (struct sso_refreshed){};
}

/* A string member, or NULL when absent or not a string. */
static const char *str_member(const json_object *o, const char *key, size_t *ret_len) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        if (ret_len)
                *ret_len = (size_t)json_object_get_string_len(v);
        return json_object_get_string(v);
}

/* A token or secret that goes into a header or a JSON body: not empty, not
 * too long, printable ASCII (no control character, no NUL inside). */
static bool token_text_ok(const char *s, size_t len) {
        if (!s || len == 0 || len > SSO_TOKEN_MAX || strlen(s) != len)
                return false;
        for (size_t i = 0; i < len; i++)
                if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
                        return false;
        return true;
}

/* An optional secret member: absent is fine (NULL), malformed is not. */
static int dup_token(const json_object *o, const char *key, char **ret) {
        size_t len = 0;
        const char *s = str_member(o, key, &len);

        *ret = NULL;
        if (!s)
                return 0;
        if (!token_text_ok(s, len))
                return -EBADMSG;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

/* ISO 8601 as aws_parse_iso8601() reads it, and the "...UTC" suffix older
 * AWS CLIs wrote. */
static int parse_time(const char *s, uint64_t *ret) {
        char buf[64];
        size_t n;

        if (!s)
                return -EINVAL;
        n = strlen(s);
        if (n > 3 && n < sizeof buf && streq(s + n - 3, "UTC")) {
                memcpy(buf, s, n - 3);
                memcpy(buf + n - 3, "Z", 2);
                s = buf;
        }
        return aws_parse_iso8601(s, ret);
}

int sso_token_parse(const char *text, size_t len, struct sso_token *ret) {
        _cleanup_json_ json_object *o = NULL;
        struct sso_token t = {};
        const char *exp, *reg;
        int r;

        if (len > SSO_CACHE_FILE_MAX)
                return -EBADMSG;
        o = aws_json_parse(text, len);
        if (!o || !json_object_is_type(o, json_type_object))
                return -EBADMSG;
        exp = str_member(o, "expiresAt", NULL);
        reg = str_member(o, "registrationExpiresAt", NULL);
        r = dup_token(o, "accessToken", &t.access_token);
        if (r >= 0 && !t.access_token)
                r = -EBADMSG;
        if (r >= 0 && parse_time(exp, &t.expires_at_usec) < 0)
                r = -EBADMSG;
        if (r >= 0 && reg && parse_time(reg, &t.registration_expires_at_usec) < 0)
                r = -EBADMSG;
        if (r >= 0)
                r = dup_token(o, "refreshToken", &t.refresh_token);
        if (r >= 0)
                r = dup_token(o, "clientId", &t.client_id);
        if (r >= 0)
                r = dup_token(o, "clientSecret", &t.client_secret);
        if (r < 0) {
                sso_token_done(&t);
                return r;
        }
        *ret = t;
        return 0;
}

bool sso_token_refreshable(const struct sso_token *t, uint64_t now_usec) {
        return t->refresh_token && t->client_id && t->client_secret && t->registration_expires_at_usec &&
               t->registration_expires_at_usec > now_usec;
}

int sso_create_token_request(const struct sso_token *t, char **ret_body) {
        _cleanup_json_ json_object *o = NULL;
        const char *s;
        char *body;

        if (!t->refresh_token || !t->client_id || !t->client_secret)
                return -EINVAL;
        o = json_object_new_object();
        if (!o || json_object_object_add(o, "grantType", json_object_new_string("refresh_token")) < 0 ||
            json_object_object_add(o, "clientId", json_object_new_string(t->client_id)) < 0 ||
            json_object_object_add(o, "clientSecret", json_object_new_string(t->client_secret)) < 0 ||
            json_object_object_add(o, "refreshToken", json_object_new_string(t->refresh_token)) < 0)
                return -ENOMEM;
        s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        body = s ? strdup(s) : NULL;
        /* json-c keeps its rendering in the object: wipe it there too. */
        if (s)
                explicit_bzero((char *)s, strlen(s));
        if (!body)
                return -ENOMEM;
        *ret_body = body;
        return 0;
}

int sso_create_token_parse(const json_object *answer, struct sso_refreshed *ret) {
        struct sso_refreshed x = {};
        json_object *v;
        int64_t in;
        int r;

        if (!answer || !json_object_is_type(answer, json_type_object))
                return -EBADMSG;
        if (!json_object_object_get_ex(answer, "expiresIn", &v) || !json_object_is_type(v, json_type_int))
                return -EBADMSG;
        in = json_object_get_int64(v);
        if (in <= 0 || in > EXPIRES_IN_MAX)
                return -EBADMSG;
        x.expires_in_sec = (uint64_t)in;
        r = dup_token(answer, "accessToken", &x.access_token);
        if (r >= 0 && !x.access_token)
                r = -EBADMSG;
        if (r >= 0)
                r = dup_token(answer, "refreshToken", &x.refresh_token);
        if (r < 0) {
                sso_refreshed_done(&x);
                return r;
        }
        *ret = x;
        return 0;
}

int sso_token_render_refreshed(const char *text, size_t len, const struct sso_refreshed *x,
                               uint64_t now_usec, char **ret_text, size_t *ret_len) {
        _cleanup_json_ json_object *o = NULL;
        char when[32];
        struct tm tm;
        time_t t = (time_t)(now_usec / USEC_PER_SEC + x->expires_in_sec);
        const char *s;
        char *out;
        size_t n;

        if (!gmtime_r(&t, &tm) || strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                return -EINVAL;
        o = aws_json_parse(text, len);
        if (!o || !json_object_is_type(o, json_type_object))
                return -EBADMSG;
        /* json_object_object_add() replaces a member in place: the others,
         * and their order, stay as the file had them. */
        if (json_object_object_add(o, "accessToken", json_object_new_string(x->access_token)) < 0 ||
            json_object_object_add(o, "expiresAt", json_object_new_string(when)) < 0 ||
            (x->refresh_token &&
             json_object_object_add(o, "refreshToken", json_object_new_string(x->refresh_token)) < 0))
                return -ENOMEM;
        s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s)
                return -ENOMEM;
        n = strlen(s);
        out = malloc(n + 2);
        if (out) {
                memcpy(out, s, n);
                out[n++] = '\n';
                out[n] = 0;
        }
        explicit_bzero((char *)s, strlen(s));
        if (!out)
                return -ENOMEM;
        *ret_text = out;
        *ret_len = n;
        return 0;
}

int sso_role_credentials_parse(const json_object *answer, struct aws_credentials *ret) {
        json_object *rc, *v;
        int64_t ms;

        if (!answer || !json_object_is_type(answer, json_type_object) ||
            !json_object_object_get_ex(answer, "roleCredentials", &rc) ||
            !json_object_is_type(rc, json_type_object))
                return -EBADMSG;
        /* Milliseconds since the epoch; an answer without one is not one the
         * portal gives. */
        if (!json_object_object_get_ex(rc, "expiration", &v) || !json_object_is_type(v, json_type_int))
                return -EBADMSG;
        ms = json_object_get_int64(v);
        if (ms <= 0 || ms > INT64_C(253402300799000))
                return -EBADMSG;
        return aws_credentials_make(str_member(rc, "accessKeyId", NULL),
                                    str_member(rc, "secretAccessKey", NULL),
                                    str_member(rc, "sessionToken", NULL), (uint64_t)ms * USEC_PER_MSEC, ret);
}

int sso_oidc_error_parse(const json_object *body, char **ret_error, char **ret_description) {
        _cleanup_free_ char *e = NULL, *d = NULL;
        const char *s;
        size_t n = 0;

        if (body && json_object_is_type(body, json_type_object)) {
                s = str_member(body, "error", &n);
                if (s && n > 0 && !(e = log_escape_dup(s, n, OIDC_ERROR_MAX)))
                        return -ENOMEM;
                s = str_member(body, "error_description", &n);
                if (s && n > 0 && !(d = log_escape_dup(s, n, OIDC_DESCRIPTION_MAX)))
                        return -ENOMEM;
        }
        *ret_error = TAKE_PTR(e);
        *ret_description = TAKE_PTR(d);
        return 0;
}
