/* Fuzz target for the SSO JSON parsers (daemon/aws/sso-json.c): the token
 * cache file (~/.aws/sso/cache/<sha1>.json), the cache file rewritten after
 * a refresh, and the SSO portal's and SSO-OIDC's answers.
 *
 * The input is the bytes of a document. It is parsed as a cache file with
 * sso_token_parse(); when that succeeds, the file is rewritten with a fixed
 * refreshed token (sso_token_render_refreshed()) and the result parsed
 * again. Parsed with aws_json_parse() as http.c parses answers, it also goes
 * to sso_create_token_parse(), sso_role_credentials_parse() and
 * sso_oidc_error_parse(); the input up to a NUL is also a cache file key.
 *
 * Invariants: a token parsed has a non-empty access token of printable ASCII
 * and at most SSO_TOKEN_MAX bytes (the same for the refresh token and the
 * client registration when present), a failure leaves the result empty;
 * parsing is deterministic; the rewritten file parses with the new access
 * token, the new expiry and the new refresh token, and keeps the client
 * registration; a CreateToken answer accepted has an access token and an
 * expiry within a year; role credentials accepted are complete and expire
 * when the answer says; OIDC error texts have no control character; a cache
 * file name is 40 lowercase hex digits and ".json". */

#include <errno.h>

#include "fuzz-common.h"
#include "aws/aws-error.h"
#include "aws/sso-json.h"
#include "util.h"

static void check_text(const char *s) {
        if (!s)
                return;
        ASSERT(*s && strlen(s) <= SSO_TOKEN_MAX);
        for (const char *p = s; *p; p++)
                ASSERT((unsigned char)*p >= 0x20 && (unsigned char)*p <= 0x7e);
}

static void check_token(const char *text, size_t len) {
        struct sso_token t = {}, again = {}, after = {};
        struct sso_refreshed x = {.access_token = (char *)"fuzz-new-token",
                                  .expires_in_sec = 3600,
                                  .refresh_token = (char *)"fuzz-new-refresh"};
        char *out = NULL, *body = NULL;
        size_t out_len = 0;
        int r;

        r = sso_token_parse(text, len, &t);
        ASSERT(r == 0 || r == -EBADMSG || r == -ENOMEM);
        if (r < 0) {
                ASSERT(!t.access_token && !t.refresh_token && !t.client_id && !t.client_secret);
                return;
        }
        ASSERT(t.access_token);
        check_text(t.access_token);
        check_text(t.refresh_token);
        check_text(t.client_id);
        check_text(t.client_secret);

        r = sso_token_parse(text, len, &again);
        if (r == 0) {
                ASSERT(streq(t.access_token, again.access_token));
                ASSERT(fuzz_opt_eq(t.refresh_token, again.refresh_token));
                ASSERT(fuzz_opt_eq(t.client_id, again.client_id));
                ASSERT(fuzz_opt_eq(t.client_secret, again.client_secret));
                ASSERT(t.expires_at_usec == again.expires_at_usec);
                ASSERT(t.registration_expires_at_usec == again.registration_expires_at_usec);
        }
        sso_token_done(&again);

        if (sso_token_refreshable(&t, 0)) {
                r = sso_create_token_request(&t, &body);
                ASSERT(r == 0 || r == -ENOMEM);
                if (r == 0) {
                        json_object *o = aws_json_parse(body, strlen(body));
                        ASSERT(o && json_object_is_type(o, json_type_object));
                        json_object_put(o);
                        free(body);
                }
        }

        r = sso_token_render_refreshed(text, len, &x, UINT64_C(1700000000) * USEC_PER_SEC, &out, &out_len);
        ASSERT(r == 0 || r == -ENOMEM);
        if (r == 0) {
                ASSERT(out_len == strlen(out));
                r = sso_token_parse(out, out_len, &after);
                /* The rewritten file is a valid one: only allocation may fail. */
                ASSERT(r == 0 || r == -ENOMEM);
                if (r == 0) {
                        ASSERT(streq(after.access_token, "fuzz-new-token"));
                        ASSERT(streq_ptr(after.refresh_token, "fuzz-new-refresh"));
                        ASSERT(after.expires_at_usec == UINT64_C(1700003600) * USEC_PER_SEC);
                        ASSERT(fuzz_opt_eq(after.client_id, t.client_id));
                        ASSERT(fuzz_opt_eq(after.client_secret, t.client_secret));
                        ASSERT(after.registration_expires_at_usec == t.registration_expires_at_usec);
                }
                sso_token_done(&after);
                free(out);
        }
        sso_token_done(&t);
}

static void check_answers(json_object *o) {
        struct sso_refreshed x = {};
        struct aws_credentials c = {};
        char *e = NULL, *d = NULL;
        int r;

        r = sso_create_token_parse(o, &x);
        ASSERT(r == 0 || r == -EBADMSG || r == -ENOMEM);
        if (r == 0) {
                ASSERT(x.access_token);
                check_text(x.access_token);
                check_text(x.refresh_token);
                ASSERT(x.expires_in_sec > 0 && x.expires_in_sec <= 366 * 24 * 3600);
        } else
                ASSERT(!x.access_token && !x.refresh_token);
        sso_refreshed_done(&x);

        r = sso_role_credentials_parse(o, &c);
        ASSERT(r == 0 || r == -EBADMSG || r == -ENOMEM);
        if (r == 0) {
                json_object *rc, *v;
                ASSERT(c.access_key_id && c.secret_access_key && *c.access_key_id && *c.secret_access_key);
                ASSERT(!strpbrk(c.access_key_id, "\r\n ") && !strpbrk(c.secret_access_key, "\r\n"));
                ASSERT(!c.session_token || !strpbrk(c.session_token, "\r\n"));
                ASSERT(json_object_object_get_ex(o, "roleCredentials", &rc) &&
                       json_object_object_get_ex(rc, "expiration", &v));
                ASSERT(c.expiration_usec == (uint64_t)json_object_get_int64(v) * USEC_PER_MSEC);
        } else
                ASSERT(!c.access_key_id && !c.secret_access_key && !c.session_token);
        aws_credentials_done(&c);

        r = sso_oidc_error_parse(o, &e, &d);
        ASSERT(r == 0 || r == -ENOMEM);
        for (const char *s = e; s && *s; s++)
                ASSERT((unsigned char)*s >= 0x20 && *s != 0x7f);
        for (const char *s = d; s && *s; s++)
                ASSERT((unsigned char)*s >= 0x20 && *s != 0x7f);
        free(e);
        free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char name[SSO_CACHE_NAME_SIZE];
        _cleanup_free_ char *text = NULL;
        json_object *o;

        if (size > SSO_CACHE_FILE_MAX + 16)
                return 0;
        text = malloc(size + 1);
        ASSERT(text);
        memcpy(text, data, size);
        text[size] = 0;

        if (sso_cache_file_name(text, name) == 0) {
                ASSERT(strlen(name) == 45 && streq(name + 40, ".json"));
                ASSERT(strspn(name, "0123456789abcdef") == 40);
        }

        check_token(text, size);
        o = aws_json_parse(text, size);
        if (!o)
                return 0;
        check_answers(o);
        if (json_object_is_type(o, json_type_object)) {
                json_object *rc;
                if (json_object_object_get_ex(o, "roleCredentials", &rc))
                        check_answers(rc);
        }
        json_object_put(o);
        return 0;
}
