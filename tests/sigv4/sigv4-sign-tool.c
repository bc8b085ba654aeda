/* Test driver: reads one request description per line of JSON on stdin,
 * signs it with sigv4_sign(), and prints one line of JSON per request with
 * the canonical request, string to sign, signature and header values. The
 * cross-check script feeds it randomized requests and compares the output
 * with an independent signer.
 *
 * Input keys: method, path, query (string or null), headers ([[name, value],
 * ...]), body_hex, region, service, access_key_id, secret_access_key,
 * session_token (string or null), now (seconds since the epoch), normalize,
 * double_encode, omit_session_token, add_content_sha256.
 * Output keys: ok, error (negative errno when not ok), canonical_request,
 * string_to_sign, signature, authorization, amz_date, security_token,
 * content_sha256. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "aws/sigv4.h"
#include "util.h"

#define MAX_LINE (4 * 1024 * 1024)

static const char *get_str(struct json_object *o, const char *key) {
        struct json_object *v;
        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static bool get_bool(struct json_object *o, const char *key, bool def) {
        struct json_object *v;
        if (!json_object_object_get_ex(o, key, &v))
                return def;
        return json_object_get_boolean(v);
}

static int unhex(const char *s, unsigned char **ret, size_t *ret_len) {
        size_t n = s ? strlen(s) : 0;
        unsigned char *out;

        if (n % 2)
                return -EINVAL;
        out = malloc(n / 2 + 1);
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < n / 2; i++) {
                unsigned v;
                if (sscanf(s + 2 * i, "%2x", &v) != 1) {
                        free(out);
                        return -EINVAL;
                }
                out[i] = (unsigned char)v;
        }
        *ret = out;
        *ret_len = n / 2;
        return 0;
}

static void add_str(struct json_object *o, const char *key, const char *value) {
        json_object_object_add(o, key, value ? json_object_new_string(value) : NULL);
}

static struct json_object *sign_one(struct json_object *in) {
        struct json_object *out = json_object_new_object(), *hdrs = NULL;
        struct sigv4_header headers[SIGV4_MAX_HEADERS + 1];
        _cleanup_free_ unsigned char *body = NULL;
        size_t n_headers = 0, body_len = 0;
        struct sigv4_result res = {};
        int r = 0;

        if (!out)
                return NULL;
        if (json_object_object_get_ex(in, "headers", &hdrs) && json_object_is_type(hdrs, json_type_array)) {
                size_t n = json_object_array_length(hdrs);
                for (size_t i = 0; i < n && r == 0; i++) {
                        struct json_object *pair = json_object_array_get_idx(hdrs, i);
                        if (n_headers >= ELEMENTSOF(headers) ||
                            !json_object_is_type(pair, json_type_array) ||
                            json_object_array_length(pair) != 2) {
                                r = -EINVAL;
                                break;
                        }
                        headers[n_headers++] = (struct sigv4_header){
                                .name = json_object_get_string(json_object_array_get_idx(pair, 0)),
                                .value = json_object_get_string(json_object_array_get_idx(pair, 1)),
                        };
                }
        }
        if (r == 0)
                r = unhex(get_str(in, "body_hex"), &body, &body_len);

        if (r == 0) {
                struct json_object *now = NULL;
                json_object_object_get_ex(in, "now", &now);
                struct sigv4_request req = {
                        .method = get_str(in, "method"),
                        .path = get_str(in, "path"),
                        .query = get_str(in, "query"),
                        .headers = headers,
                        .n_headers = n_headers,
                        .body = body,
                        .body_len = body_len,
                        .region = get_str(in, "region"),
                        .service = get_str(in, "service"),
                        .access_key_id = get_str(in, "access_key_id"),
                        .secret_access_key = get_str(in, "secret_access_key"),
                        .session_token = get_str(in, "session_token"),
                        .now = (time_t)json_object_get_int64(now),
                        .normalize_path = get_bool(in, "normalize", true),
                        .double_encode_path = get_bool(in, "double_encode", true),
                        .omit_session_token = get_bool(in, "omit_session_token", false),
                        .add_content_sha256 = get_bool(in, "add_content_sha256", false),
                };
                r = sigv4_sign(&req, &res);
        }

        json_object_object_add(out, "ok", json_object_new_boolean(r == 0));
        if (r < 0)
                json_object_object_add(out, "error", json_object_new_int(r));
        else {
                add_str(out, "canonical_request", res.canonical_request);
                add_str(out, "string_to_sign", res.string_to_sign);
                add_str(out, "signature", res.signature);
                add_str(out, "authorization", res.authorization);
                add_str(out, "amz_date", res.amz_date);
                add_str(out, "security_token", res.security_token);
                add_str(out, "content_sha256", res.content_sha256);
        }
        sigv4_result_done(&res);
        return out;
}

int main(void) {
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        unsigned lineno = 0;

        while ((n = getline(&line, &cap, stdin)) >= 0) {
                struct json_object *in, *out;
                lineno++;
                if (n > MAX_LINE) {
                        fprintf(stderr, "line %u: too long\n", lineno);
                        return 1;
                }
                if (strspn(line, " \t\r\n") == (size_t)n)
                        continue;
                in = json_tokener_parse(line);
                if (!in) {
                        fprintf(stderr, "line %u: not JSON\n", lineno);
                        return 1;
                }
                out = sign_one(in);
                json_object_put(in);
                if (!out) {
                        fprintf(stderr, "line %u: out of memory\n", lineno);
                        return 1;
                }
                puts(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN));
                json_object_put(out);
        }
        return fflush(stdout) == 0 ? 0 : 1;
}
