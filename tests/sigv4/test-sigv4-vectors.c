/* Runs sigv4_sign() against AWS's SigV4 test suite, read at run time from
 * the shared vectors folder (never copied into the repository): each case
 * folder's context.json and request.txt go in, and the header-form canonical
 * request, string to sign, signature and Authorization line must come out
 * byte for byte. Exits 77 (skipped) when the folder is absent. */

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <json-c/json.h>

#include "aws/sigv4.h"
#include "testlib.h"
#include "util.h"

#define MAX_FILE  (1024 * 1024)
#define MAX_CASES 512

static char *read_file(const char *dir, const char *name, size_t *ret_len) {
        _cleanup_free_ char *path = NULL;
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        FILE *f;

        if (asprintf(&path, "%s/%s", dir, name) < 0)
                return NULL;
        f = fopen(path, "re");
        if (!f)
                return NULL;
        buf = malloc(MAX_FILE + 1);
        if (buf)
                len = fread(buf, 1, MAX_FILE + 1, f);
        fclose(f);
        if (!buf || len > MAX_FILE)
                return NULL;
        buf[len] = 0;
        if (ret_len)
                *ret_len = len;
        return TAKE_PTR(buf);
}

/* A raw HTTP request as the test suite writes it: request line, header
 * lines (a line starting with white space continues the previous value),
 * blank line, body. Points into the buffer it was given and edits it. */
struct raw_request {
        char *method, *path, *query;
        struct sigv4_header headers[64];
        size_t n_headers;
        const char *body;
        size_t body_len;
};

static char *next_line(char **p, char *end) {
        char *line = *p, *nl;
        if (line >= end)
                return NULL;
        nl = memchr(line, '\n', (size_t)(end - line));
        if (nl) {
                *nl = 0;
                *p = nl + 1;
        } else
                *p = end;
        size_t l = strlen(line);
        if (l > 0 && line[l - 1] == '\r')
                line[l - 1] = 0;
        return line;
}

static int parse_request(char *buf, size_t len, struct raw_request *rr) {
        char *p = buf, *end = buf + len, *line, *sp1, *sp2;

        *rr = (struct raw_request){};
        line = next_line(&p, end);
        if (!line)
                return -EINVAL;
        /* "GET /example space/ HTTP/1.1": the target runs from the first
         * space to the last one, and may itself contain spaces. */
        sp1 = strchr(line, ' ');
        sp2 = strrchr(line, ' ');
        if (!sp1 || sp2 == sp1)
                return -EINVAL;
        *sp1 = 0;
        *sp2 = 0;
        rr->method = line;
        rr->path = sp1 + 1;
        rr->query = strchr(rr->path, '?');
        if (rr->query)
                *rr->query++ = 0;

        char *prev_value = NULL;
        while ((line = next_line(&p, end))) {
                if (!line[0])
                        break;
                if ((line[0] == ' ' || line[0] == '\t') && prev_value) {
                        /* Continuation: the line break the parser cut becomes
                         * a space again (RFC 9112 obs-fold). */
                        for (char *q = prev_value + strlen(prev_value); q < line; q++)
                                *q = ' ';
                        continue;
                }
                char *colon = strchr(line, ':');
                if (!colon || rr->n_headers >= ELEMENTSOF(rr->headers))
                        return -EINVAL;
                *colon = 0;
                rr->headers[rr->n_headers++] = (struct sigv4_header){.name = line, .value = colon + 1};
                prev_value = colon + 1;
        }
        rr->body = p;
        rr->body_len = (size_t)(end - p);
        return 0;
}

static const char *ctx_str(struct json_object *o, const char *key) {
        struct json_object *v;
        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static bool ctx_bool(struct json_object *o, const char *key) {
        struct json_object *v;
        return json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

static int parse_timestamp(const char *s, time_t *ret) {
        struct tm tm = {};
        const char *end;
        if (!s)
                return -EINVAL;
        end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
        if (!end || *end)
                return -EINVAL;
        *ret = timegm(&tm);
        return 0;
}

/* Finds "Name:value" in a header block and returns value (copied). */
static char *find_header_line(const char *text, const char *name) {
        size_t nl = strlen(name);
        for (const char *p = text; p && *p;) {
                const char *eol = strchr(p, '\n');
                size_t len = eol ? (size_t)(eol - p) : strlen(p);
                if (len > nl && strncmp(p, name, nl) == 0 && p[nl] == ':') {
                        size_t vl = len - nl - 1;
                        if (vl > 0 && p[nl + 1 + vl - 1] == '\r')
                                vl--;
                        return strndup(p + nl + 1, vl);
                }
                p = eol ? eol + 1 : NULL;
        }
        return NULL;
}

static void run_case(const char *dir, const char *name, unsigned *ret_passed) {
        _cleanup_free_ char *casedir = NULL, *context = NULL, *request = NULL, *exp_canon = NULL,
                            *exp_sts = NULL, *exp_sig = NULL, *exp_signed = NULL, *exp_auth = NULL,
                            *exp_token = NULL;
        struct json_object *ctx = NULL, *creds = NULL;
        struct raw_request rr;
        struct sigv4_result res = {};
        size_t request_len = 0;
        unsigned failures_before = test_failures;
        time_t now = 0;
        int r;

        if (asprintf(&casedir, "%s/%s", dir, name) < 0) {
                CHECK(!"out of memory");
                return;
        }
        context = read_file(casedir, "context.json", NULL);
        request = read_file(casedir, "request.txt", &request_len);
        exp_canon = read_file(casedir, "header-canonical-request.txt", NULL);
        exp_sts = read_file(casedir, "header-string-to-sign.txt", NULL);
        exp_sig = read_file(casedir, "header-signature.txt", NULL);
        exp_signed = read_file(casedir, "header-signed-request.txt", NULL);
        if (!context || !request || !exp_canon || !exp_sts || !exp_sig || !exp_signed) {
                fprintf(stderr, "%s: missing a file\n", name);
                CHECK(!"case folder incomplete");
                return;
        }

        ctx = json_tokener_parse(context);
        CHECK(ctx != NULL);
        if (!ctx)
                return;
        if (!json_object_object_get_ex(ctx, "credentials", &creds)) {
                CHECK(!"context.json without credentials");
                json_object_put(ctx);
                return;
        }
        CHECK_INTEQ(parse_timestamp(ctx_str(ctx, "timestamp"), &now), 0);
        CHECK_INTEQ(parse_request(request, request_len, &rr), 0);

        struct sigv4_request req = {
                .method = rr.method,
                .path = rr.path,
                .query = rr.query,
                .headers = rr.headers,
                .n_headers = rr.n_headers,
                .body = rr.body,
                .body_len = rr.body_len,
                .region = ctx_str(ctx, "region"),
                .service = ctx_str(ctx, "service"),
                .access_key_id = ctx_str(creds, "access_key_id"),
                .secret_access_key = ctx_str(creds, "secret_access_key"),
                .session_token = ctx_str(creds, "token"),
                .now = now,
                .normalize_path = ctx_bool(ctx, "normalize"),
                .double_encode_path = !streq_ptr(ctx_str(ctx, "service"), "s3"),
                .omit_session_token = ctx_bool(ctx, "omit_session_token"),
                .add_content_sha256 = ctx_bool(ctx, "sign_body"),
        };

        r = sigv4_sign(&req, &res);
        CHECK_INTEQ(r, 0);
        if (r >= 0) {
                /* The expected files carry no trailing newline, but tolerate one. */
                exp_sig[strcspn(exp_sig, "\r\n")] = 0;
                CHECK_STREQ(res.canonical_request, exp_canon);
                CHECK_STREQ(res.string_to_sign, exp_sts);
                CHECK_STREQ(res.signature, exp_sig);

                exp_auth = find_header_line(exp_signed, "Authorization");
                CHECK_STREQ(res.authorization, exp_auth);
                exp_token = find_header_line(exp_signed, "X-Amz-Security-Token");
                CHECK_STREQ(strempty(res.security_token), strempty(exp_token));
                _cleanup_free_ char *exp_date = find_header_line(exp_signed, "X-Amz-Date");
                CHECK_STREQ(res.amz_date, exp_date);
                _cleanup_free_ char *exp_sha = find_header_line(exp_signed, "x-amz-content-sha256");
                CHECK_STREQ(strempty(res.content_sha256), strempty(exp_sha));
        }
        sigv4_result_done(&res);
        json_object_put(ctx);

        if (test_failures == failures_before) {
                (*ret_passed)++;
                fprintf(stderr, "ok   %s\n", name);
        } else
                fprintf(stderr, "FAIL %s\n", name);
}

static int name_cmp(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
        const char *dir = argc > 1 ? argv[1] : getenv("KINESISD_SIGV4_VECTORS");
        char *names[MAX_CASES];
        size_t n = 0;
        unsigned passed = 0;
        DIR *d;

        if (!dir) {
                fprintf(stderr, "usage: %s VECTOR-DIR\n", argv[0]);
                return 2;
        }
        d = opendir(dir);
        if (!d) {
                fprintf(stderr, "%s: %m; skipping\n", dir);
                return 77;
        }
        for (struct dirent *de; (de = readdir(d));) {
                _cleanup_free_ char *ctx = NULL;
                struct stat st;
                if (de->d_name[0] == '.')
                        continue;
                if (asprintf(&ctx, "%s/%s/header-canonical-request.txt", dir, de->d_name) < 0)
                        break;
                /* Only cases that have a header-form result; a presign-only
                 * case would have nothing for us to compare. */
                if (stat(ctx, &st) < 0)
                        continue;
                if (n < ELEMENTSOF(names))
                        names[n++] = strdup(de->d_name);
        }
        closedir(d);
        qsort(names, n, sizeof names[0], name_cmp);

        for (size_t i = 0; i < n; i++) {
                if (names[i])
                        run_case(dir, names[i], &passed);
                free(names[i]);
        }
        fprintf(stderr, "%u of %zu SigV4 suite cases passed\n", passed, n);
        CHECK(n > 0);
        return test_summary("test-sigv4-vectors");
}
