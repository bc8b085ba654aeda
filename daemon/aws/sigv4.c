/* AWS Signature Version 4, header form: canonical request, string to sign,
 * signing key, signature, Authorization value.
 *
 * Pure by design: the caller passes the time and the credentials, nothing
 * here reads a clock, a file or the environment, and nothing is logged (the
 * inputs are secrets). Every string built here has a hard size cap. Derived
 * keys live on the stack and are wiped before returning. */

#include "aws/sigv4.h"

#include <stdio.h>
#include <string.h>

#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

#include "util.h"

#define SIGV4_ALGORITHM  "AWS4-HMAC-SHA256"
#define SIGV4_TERMINATOR "aws4_request"
#define SHA256_LEN       32
#define SCOPE_PART_MAX   128
#define METHOD_MAX       32

/* ---- bounded growing string ---- */

struct strbuf {
        char *s;
        size_t len, cap;
        int err; /* first error; appends after it are no-ops */
};

static void strbuf_done(struct strbuf *b) {
        if (b->s) {
                mbedtls_platform_zeroize(b->s, b->cap);
                free(b->s);
        }
        *b = (struct strbuf){};
}

static void strbuf_append(struct strbuf *b, const char *p, size_t n) {
        if (b->err)
                return;
        if (n == 0 && b->s)
                return;
        if (n > SIGV4_MAX_TEXT - b->len) {
                b->err = -EINVAL;
                return;
        }
        if (b->len + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 512;
                while (cap < b->len + n + 1)
                        cap *= 2;
                char *s = malloc(cap);
                if (!s) {
                        b->err = -ENOMEM;
                        return;
                }
                /* Copy rather than realloc so the old block can be wiped: the
                 * canonical request carries the session token. */
                if (b->s) {
                        memcpy(s, b->s, b->len);
                        mbedtls_platform_zeroize(b->s, b->cap);
                        free(b->s);
                }
                b->s = s;
                b->cap = cap;
        }
        if (n > 0)
                memcpy(b->s + b->len, p, n);
        b->len += n;
        b->s[b->len] = 0;
}

static void strbuf_puts(struct strbuf *b, const char *s) {
        strbuf_append(b, s, strlen(s));
}

static void strbuf_putc(struct strbuf *b, char c) {
        strbuf_append(b, &c, 1);
}

/* Hand the string on; an empty buffer yields "". */
static int strbuf_take(struct strbuf *b, char **ret) {
        if (b->err)
                return b->err;
        if (!b->s) {
                strbuf_append(b, "", 0);
                if (!b->s)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(b->s);
        *b = (struct strbuf){};
        return 0;
}

/* ---- hashing ---- */

/* SHA-256 through its own context rather than the generic md layer: no
 * allocation per HMAC, and the two padded key blocks of an HMAC can be kept
 * (struct sigv4_key_cache). mbedTLS 3 dropped the _ret suffixes. */
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#define sha256_starts(ctx) mbedtls_sha256_starts(ctx, 0)
#define sha256_update mbedtls_sha256_update
#define sha256_finish mbedtls_sha256_finish
#define sha256_once(p, n, out) mbedtls_sha256(p, n, out, 0)
#else
#define sha256_starts(ctx) mbedtls_sha256_starts_ret(ctx, 0)
#define sha256_update mbedtls_sha256_update_ret
#define sha256_finish mbedtls_sha256_finish_ret
#define sha256_once(p, n, out) mbedtls_sha256_ret(p, n, out, 0)
#endif
#define SHA256_BLOCK 64

static void hex_encode(const unsigned char *p, size_t n, char *out) {
        static const char digits[] = "0123456789abcdef";
        for (size_t i = 0; i < n; i++) {
                out[2 * i] = digits[p[i] >> 4];
                out[2 * i + 1] = digits[p[i] & 15];
        }
        out[2 * n] = 0;
}

void sigv4_sha256_hex(const void *data, size_t len, char out[65]) {
        unsigned char digest[SHA256_LEN];

        out[0] = 0;
        if (!data && len > 0)
                return;
        if (sha256_once(data ? data : (const void *) "", len, digest) != 0)
                return;
        hex_encode(digest, sizeof digest, out);
}

/* HMAC-SHA256 (RFC 2104) in two halves: the key's padded blocks absorbed
 * into an inner and an outer context once, then any number of messages. */
static int hmac_key_setup(const unsigned char *key, size_t key_len, mbedtls_sha256_context *inner,
                          mbedtls_sha256_context *outer) {
        unsigned char pad[SHA256_BLOCK], hashed[SHA256_LEN];
        int r = 0;

        /* A key longer than a block is replaced by its hash. */
        if (key_len > SHA256_BLOCK) {
                if (sha256_once(key, key_len, hashed) != 0)
                        return -EINVAL;
                key = hashed;
                key_len = SHA256_LEN;
        }
        mbedtls_sha256_init(inner);
        mbedtls_sha256_init(outer);
        memset(pad, 0x36, sizeof pad);
        for (size_t i = 0; i < key_len; i++)
                pad[i] ^= key[i];
        if (sha256_starts(inner) != 0 || sha256_update(inner, pad, sizeof pad) != 0)
                r = -EINVAL;
        memset(pad, 0x5c, sizeof pad);
        for (size_t i = 0; i < key_len; i++)
                pad[i] ^= key[i];
        if (r >= 0 && (sha256_starts(outer) != 0 || sha256_update(outer, pad, sizeof pad) != 0))
                r = -EINVAL;
        mbedtls_platform_zeroize(pad, sizeof pad);
        mbedtls_platform_zeroize(hashed, sizeof hashed);
        if (r < 0) {
                mbedtls_sha256_free(inner);
                mbedtls_sha256_free(outer);
        }
        return r;
}

static int hmac_finish(const mbedtls_sha256_context *inner, const mbedtls_sha256_context *outer, const char *msg,
                       size_t msg_len, unsigned char out[SHA256_LEN]) {
        mbedtls_sha256_context ctx;
        unsigned char ih[SHA256_LEN];
        int r = 0;

        mbedtls_sha256_init(&ctx);
        mbedtls_sha256_clone(&ctx, inner);
        if (sha256_update(&ctx, (const unsigned char *) msg, msg_len) != 0 || sha256_finish(&ctx, ih) != 0)
                r = -EINVAL;
        mbedtls_sha256_clone(&ctx, outer);
        if (r >= 0 && (sha256_update(&ctx, ih, sizeof ih) != 0 || sha256_finish(&ctx, out) != 0))
                r = -EINVAL;
        mbedtls_sha256_free(&ctx);
        mbedtls_platform_zeroize(ih, sizeof ih);
        return r;
}

static int hmac_sha256(const unsigned char *key, size_t key_len, const char *msg, size_t msg_len,
                       unsigned char out[SHA256_LEN]) {
        mbedtls_sha256_context inner, outer;
        int r = hmac_key_setup(key, key_len, &inner, &outer);

        if (r < 0)
                return r;
        r = hmac_finish(&inner, &outer, msg, msg_len, out);
        mbedtls_sha256_free(&inner);
        mbedtls_sha256_free(&outer);
        return r;
}

/* ---- character classes ---- */

static bool char_is_unreserved(unsigned char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
               c == '.' || c == '_' || c == '~';
}

/* RFC 9110 tchar: what a method or a header name may be made of. */
static bool char_is_tchar(unsigned char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               (c != 0 && strchr("!#$%&'*+-.^_`|~", c));
}

/* What trimming and folding treat as white space. Line breaks count so that
 * an obs-fold continuation folds into one value, as the test suite expects. */
static bool char_is_ws(unsigned char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static bool char_is_ctl(unsigned char c) {
        return c < 0x20 || c == 0x7f;
}

static int hex_value(unsigned char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

static void append_pct(struct strbuf *b, unsigned char c) {
        static const char digits[] = "0123456789ABCDEF";
        char e[3] = {'%', digits[c >> 4], digits[c & 15]};
        strbuf_append(b, e, 3);
}

static bool token_valid(const char *s, size_t max) {
        size_t n = 0;
        for (; s[n]; n++)
                if (n >= max || !char_is_tchar((unsigned char)s[n]))
                        return false;
        return n > 0;
}

/* Region, service and access key end up in the "/"-separated credential
 * scope of the Authorization header: no separators, no space, no controls. */
static bool scope_part_valid(const char *s) {
        size_t n = 0;
        if (!s)
                return false;
        for (; s[n]; n++) {
                unsigned char c = (unsigned char)s[n];
                if (n >= SCOPE_PART_MAX || c <= 0x20 || c >= 0x7f || c == '/' || c == ',')
                        return false;
        }
        return n > 0;
}

/* ---- canonical URI ---- */

static int path_normalize(const char *path, char **ret) {
        size_t n = strlen(path);
        _cleanup_free_ char *out = malloc(n + 2);
        size_t len = 0;

        if (!out)
                return -ENOMEM;

        /* Every kept segment is written as "/seg", so ".." drops back to the
         * last '/'. Empty segments go too: AWS treats "//" as "/". */
        for (const char *p = path; *p;) {
                const char *slash = strchr(p, '/');
                size_t sl = slash ? (size_t)(slash - p) : strlen(p);

                if (sl == 0 || (sl == 1 && p[0] == '.'))
                        ; /* nothing to keep */
                else if (sl == 2 && p[0] == '.' && p[1] == '.') {
                        while (len > 0 && out[len - 1] != '/')
                                len--;
                        if (len > 0)
                                len--;
                } else {
                        out[len++] = '/';
                        memcpy(out + len, p, sl);
                        len += sl;
                }
                p += sl;
                if (*p == '/')
                        p++;
        }

        if (len == 0)
                out[len++] = '/';
        else if (n > 0 && path[n - 1] == '/')
                out[len++] = '/';
        out[len] = 0;

        *ret = TAKE_PTR(out);
        return 0;
}

static int append_canonical_uri(struct strbuf *b, const struct sigv4_request *req) {
        const char *path = req->path && req->path[0] ? req->path : "/";
        _cleanup_free_ char *normalized = NULL;

        if (path[0] != '/' || strlen(path) > SIGV4_MAX_TEXT)
                return -EINVAL;
        for (const char *p = path; *p; p++)
                if (char_is_ctl((unsigned char)*p) || *p == '?' || *p == '#')
                        return -EINVAL;

        if (req->normalize_path) {
                int r = path_normalize(path, &normalized);
                if (r < 0)
                        return r;
                path = normalized;
        }

        if (!req->double_encode_path) {
                strbuf_puts(b, path);
                return 0;
        }

        /* The path is already in its wire form; encoding it once more is
         * what AWS calls double encoding ("%20" becomes "%2520"). */
        for (const char *p = path; *p; p++) {
                unsigned char c = (unsigned char)*p;
                if (c == '/' || char_is_unreserved(c))
                        strbuf_putc(b, (char)c);
                else
                        append_pct(b, c);
        }
        return 0;
}

/* ---- canonical query string ---- */

struct query_param {
        char *key, *value; /* canonically encoded */
};

/* Decode what is escaped, then escape everything but the unreserved set with
 * upper-case hex, so that any spelling of the same parameter signs alike. A
 * '%' not followed by two hex digits is taken literally. '+' is a literal
 * plus, not a space: SigV4 does not use form encoding. */
static int canonical_component(const char *p, size_t n, char **ret) {
        struct strbuf b = {};

        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)p[i];
                if (c == '%' && i + 2 < n && hex_value((unsigned char)p[i + 1]) >= 0 &&
                    hex_value((unsigned char)p[i + 2]) >= 0) {
                        c = (unsigned char)(hex_value((unsigned char)p[i + 1]) * 16 +
                                            hex_value((unsigned char)p[i + 2]));
                        i += 2;
                }
                if (char_is_unreserved(c))
                        strbuf_putc(&b, (char)c);
                else
                        append_pct(&b, c);
        }

        int r = strbuf_take(&b, ret);
        strbuf_done(&b);
        return r;
}

static int query_param_cmp(const void *a, const void *b) {
        const struct query_param *x = a, *y = b;
        int c = strcmp(x->key, y->key);
        return c ? c : strcmp(x->value, y->value);
}

static void query_params_free(struct query_param *params, size_t n) {
        if (!params)
                return;
        for (size_t i = 0; i < n; i++) {
                free(params[i].key);
                free(params[i].value);
        }
        free(params);
}

static int append_canonical_query(struct strbuf *b, const char *query) {
        struct query_param *params = NULL;
        size_t n_params = 0, max = 1;
        int r = 0;

        if (!query || !query[0])
                return 0;
        for (const char *p = query; *p; p++) {
                if (char_is_ctl((unsigned char)*p) || *p == '#')
                        return -EINVAL;
                if (*p == '&')
                        max++;
        }
        if (strlen(query) > SIGV4_MAX_TEXT)
                return -EINVAL;

        params = calloc(max, sizeof *params);
        if (!params)
                return -ENOMEM;

        for (const char *p = query; *p;) {
                const char *amp = strchr(p, '&');
                size_t len = amp ? (size_t)(amp - p) : strlen(p);

                /* "a&&b" has no parameter between the ampersands. A key with
                 * no '=' is a key with an empty value. */
                if (len > 0) {
                        const char *eq = memchr(p, '=', len);
                        size_t kl = eq ? (size_t)(eq - p) : len;

                        r = canonical_component(p, kl, &params[n_params].key);
                        if (r < 0)
                                goto finish;
                        r = eq ? canonical_component(eq + 1, len - kl - 1, &params[n_params].value)
                               : canonical_component("", 0, &params[n_params].value);
                        n_params++;
                        if (r < 0)
                                goto finish;
                }
                p += len;
                if (*p == '&')
                        p++;
        }

        qsort(params, n_params, sizeof *params, query_param_cmp);
        for (size_t i = 0; i < n_params; i++) {
                if (i > 0)
                        strbuf_putc(b, '&');
                strbuf_puts(b, params[i].key);
                strbuf_putc(b, '=');
                strbuf_puts(b, params[i].value);
        }

finish:
        query_params_free(params, n_params);
        return r;
}

/* ---- canonical headers ---- */

struct canon_header {
        char name[SIGV4_MAX_HEADER_NAME + 1]; /* lower-cased */
        const char *value;
        size_t order;
};

static int canon_header_cmp(const void *a, const void *b) {
        const struct canon_header *x = a, *y = b;
        int c = strcmp(x->name, y->name);
        if (c)
                return c;
        /* Same name: keep the order of appearance, since values are joined. */
        return x->order < y->order ? -1 : x->order > y->order;
}

/* Trimmed, with every run of white space inside folded to one space. Words
 * are appended whole: a session token is one word of hundreds of bytes. */
static void append_header_value(struct strbuf *b, const char *v) {
        bool started = false;

        for (;;) {
                while (*v && char_is_ws((unsigned char) *v))
                        v++;
                if (!*v)
                        return;
                const char *word = v;
                while (*v && !char_is_ws((unsigned char) *v))
                        v++;
                if (started)
                        strbuf_putc(b, ' ');
                strbuf_append(b, word, (size_t) (v - word));
                started = true;
        }
}

static bool header_value_valid(const char *v) {
        for (; *v; v++) {
                unsigned char c = (unsigned char)*v;
                if (char_is_ctl(c) && !char_is_ws(c))
                        return false;
        }
        return true;
}

/* Builds the canonical header block and the signed-header list. */
static int build_headers(const struct sigv4_request *req, const char *amz_date, const char *token,
                         const char *content_sha256, struct strbuf *canon, struct strbuf *signed_list) {
        _cleanup_free_ struct canon_header *h = NULL;
        size_t n = 0;
        bool have_host = false;

        if (req->n_headers > SIGV4_MAX_HEADERS || (req->n_headers > 0 && !req->headers))
                return -EINVAL;

        h = calloc(req->n_headers + 3, sizeof *h);
        if (!h)
                return -ENOMEM;

        for (size_t i = 0; i < req->n_headers; i++) {
                const struct sigv4_header *src = &req->headers[i];

                if (!src->name || !src->value || !token_valid(src->name, SIGV4_MAX_HEADER_NAME) ||
                    !header_value_valid(src->value))
                        return -EINVAL;

                for (size_t k = 0; src->name[k]; k++) {
                        char c = src->name[k];
                        h[n].name[k] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
                }
                if (streq(h[n].name, "authorization") || streq(h[n].name, "x-amz-date") ||
                    streq(h[n].name, "x-amz-security-token") ||
                    (content_sha256 && streq(h[n].name, "x-amz-content-sha256")))
                        return -EINVAL;
                if (streq(h[n].name, "host"))
                        have_host = true;
                h[n].value = src->value;
                h[n].order = n;
                n++;
        }
        if (!have_host)
                return -EINVAL;

        strcpy(h[n].name, "x-amz-date");
        h[n].value = amz_date;
        h[n].order = n;
        n++;
        if (token) {
                strcpy(h[n].name, "x-amz-security-token");
                h[n].value = token;
                h[n].order = n;
                n++;
        }
        if (content_sha256) {
                strcpy(h[n].name, "x-amz-content-sha256");
                h[n].value = content_sha256;
                h[n].order = n;
                n++;
        }

        qsort(h, n, sizeof *h, canon_header_cmp);

        for (size_t i = 0; i < n; i++) {
                bool first_of_name = i == 0 || !streq(h[i - 1].name, h[i].name);
                bool last_of_name = i + 1 == n || !streq(h[i + 1].name, h[i].name);

                if (first_of_name) {
                        strbuf_puts(canon, h[i].name);
                        strbuf_putc(canon, ':');
                        if (i > 0)
                                strbuf_putc(signed_list, ';');
                        strbuf_puts(signed_list, h[i].name);
                } else
                        strbuf_putc(canon, ',');
                append_header_value(canon, h[i].value);
                if (last_of_name)
                        strbuf_putc(canon, '\n');
        }

        if (canon->err)
                return canon->err;
        return signed_list->err;
}

/* ---- signing ---- */

void sigv4_key_cache_wipe(struct sigv4_key_cache *c) {
        if (!c)
                return;
        mbedtls_sha256_free(&c->inner);
        mbedtls_sha256_free(&c->outer);
        mbedtls_platform_zeroize(c, sizeof *c);
}

static int format_amz_date(time_t now, char out[17]) {
        struct tm tm;

        if (now < 0 || !gmtime_r(&now, &tm) || tm.tm_year + 1900 > 9999)
                return -EINVAL;
        if (strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
                return -EINVAL;
        return 0;
}

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request") */
static int derive_signing_key(const char *secret, const char *date, const char *region, const char *service,
                              unsigned char out[SHA256_LEN]) {
        unsigned char k_secret[4 + SIGV4_MAX_SECRET];
        unsigned char k_a[SHA256_LEN], k_b[SHA256_LEN];
        size_t sl = strlen(secret);
        int r;

        if (sl == 0 || sl > SIGV4_MAX_SECRET)
                return -EINVAL;
        memcpy(k_secret, "AWS4", 4);
        memcpy(k_secret + 4, secret, sl);

        r = hmac_sha256(k_secret, 4 + sl, date, strlen(date), k_a);
        if (r >= 0)
                r = hmac_sha256(k_a, SHA256_LEN, region, strlen(region), k_b);
        if (r >= 0)
                r = hmac_sha256(k_b, SHA256_LEN, service, strlen(service), k_a);
        if (r >= 0)
                r = hmac_sha256(k_a, SHA256_LEN, SIGV4_TERMINATOR, strlen(SIGV4_TERMINATOR), out);

        mbedtls_platform_zeroize(k_secret, sizeof k_secret);
        mbedtls_platform_zeroize(k_a, sizeof k_a);
        mbedtls_platform_zeroize(k_b, sizeof k_b);
        return r;
}

static bool key_cache_holds(const struct sigv4_key_cache *c, const struct sigv4_request *req, const char *date) {
        size_t sl = strlen(req->secret_access_key);
        unsigned char diff = 0;

        if (!c->valid || sl != c->secret_len || !streq(c->date, date) || !streq(c->region, req->region) ||
            !streq(c->service, req->service))
                return false;
        for (size_t i = 0; i < sl; i++)
                diff |= (unsigned char) (c->secret[i] ^ req->secret_access_key[i]);
        return diff == 0;
}

/* sig = HMAC(kSigning, string to sign), the key from the cache when it is
 * the one for this secret, day, region and service. */
static int sign_string(const struct sigv4_request *req, const char *date, const struct strbuf *sts,
                       unsigned char sig[SHA256_LEN]) {
        struct sigv4_key_cache *c = req->key_cache;
        unsigned char key[SHA256_LEN];
        size_t sl = strlen(req->secret_access_key);
        int r;

        if (c && key_cache_holds(c, req, date))
                return hmac_finish(&c->inner, &c->outer, sts->s, sts->len, sig);

        r = derive_signing_key(req->secret_access_key, date, req->region, req->service, key);
        if (r < 0)
                return r;
        if (!c || strlen(req->region) >= sizeof c->region || strlen(req->service) >= sizeof c->service ||
            sl > sizeof c->secret)
                r = hmac_sha256(key, sizeof key, sts->s, sts->len, sig);
        else {
                sigv4_key_cache_wipe(c);
                r = hmac_key_setup(key, sizeof key, &c->inner, &c->outer);
                if (r >= 0) {
                        memcpy(c->secret, req->secret_access_key, sl);
                        c->secret_len = sl;
                        strcpy(c->date, date);
                        strcpy(c->region, req->region);
                        strcpy(c->service, req->service);
                        c->valid = true;
                        r = hmac_finish(&c->inner, &c->outer, sts->s, sts->len, sig);
                }
        }
        mbedtls_platform_zeroize(key, sizeof key);
        return r;
}

/* The request is one we can sign; *ret_token is its session token, or NULL. */
static int request_check(const struct sigv4_request *req, const char **ret_token) {
        const char *token;

        if (!mbedtls_md_info_from_type(MBEDTLS_MD_SHA256))
                return -EOPNOTSUPP;
        if (!req->method || !token_valid(req->method, METHOD_MAX) || !scope_part_valid(req->region) ||
            !scope_part_valid(req->service) || !scope_part_valid(req->access_key_id) ||
            !req->secret_access_key || (!req->body && req->body_len > 0))
                return -EINVAL;

        token = req->session_token && req->session_token[0] ? req->session_token : NULL;
        if (token) {
                size_t tl = 0;
                for (; token[tl]; tl++)
                        if ((unsigned char)token[tl] <= 0x20 || (unsigned char)token[tl] >= 0x7f)
                                return -EINVAL;
                if (tl > SIGV4_MAX_TEXT)
                        return -EINVAL;
        }
        *ret_token = token;
        return 0;
}

/* Algorithm, time, scope, and the hash of the canonical request. */
static void append_string_to_sign(struct strbuf *sts, const struct sigv4_request *req, const char *amz_date,
                                  const char *date, const struct strbuf *canon) {
        char canon_hash[65];

        sigv4_sha256_hex(canon->s, canon->len, canon_hash);
        strbuf_puts(sts, SIGV4_ALGORITHM "\n");
        strbuf_puts(sts, amz_date);
        strbuf_putc(sts, '\n');
        strbuf_puts(sts, date);
        strbuf_putc(sts, '/');
        strbuf_puts(sts, req->region);
        strbuf_putc(sts, '/');
        strbuf_puts(sts, req->service);
        strbuf_puts(sts, "/" SIGV4_TERMINATOR "\n");
        strbuf_puts(sts, canon_hash);
}

int sigv4_sign(const struct sigv4_request *req, struct sigv4_result *ret) {
        struct strbuf canon = {}, headers = {}, signed_list = {}, sts = {};
        struct sigv4_result res = {};
        char date[9], payload_hash[65];
        unsigned char sig[SHA256_LEN];
        const char *token;
        int r;

        if (!req || !ret)
                return -EINVAL;
        r = request_check(req, &token);
        if (r < 0)
                return r;

        r = format_amz_date(req->now, res.amz_date);
        if (r < 0)
                return r;
        memcpy(date, res.amz_date, 8);
        date[8] = 0;

        sigv4_sha256_hex(req->body, req->body_len, payload_hash);

        /* Canonical request: method, URI, query, headers, blank, signed headers, payload hash. */
        strbuf_puts(&canon, req->method);
        strbuf_putc(&canon, '\n');
        r = append_canonical_uri(&canon, req);
        if (r < 0)
                goto finish;
        strbuf_putc(&canon, '\n');
        r = append_canonical_query(&canon, req->query);
        if (r < 0)
                goto finish;
        strbuf_putc(&canon, '\n');
        r = build_headers(req, res.amz_date, req->omit_session_token ? NULL : token,
                          req->add_content_sha256 ? payload_hash : NULL, &headers, &signed_list);
        if (r < 0)
                goto finish;
        strbuf_append(&canon, headers.s, headers.len);
        strbuf_putc(&canon, '\n');
        strbuf_append(&canon, signed_list.s, signed_list.len);
        strbuf_putc(&canon, '\n');
        strbuf_puts(&canon, payload_hash);
        if (canon.err) {
                r = canon.err;
                goto finish;
        }

        append_string_to_sign(&sts, req, res.amz_date, date, &canon);
        if (sts.err) {
                r = sts.err;
                goto finish;
        }

        r = sign_string(req, date, &sts, sig);
        if (r < 0)
                goto finish;
        hex_encode(sig, sizeof sig, res.signature);

        {
                struct strbuf auth = {};

                strbuf_puts(&auth, SIGV4_ALGORITHM " Credential=");
                strbuf_puts(&auth, req->access_key_id);
                strbuf_putc(&auth, '/');
                strbuf_puts(&auth, date);
                strbuf_putc(&auth, '/');
                strbuf_puts(&auth, req->region);
                strbuf_putc(&auth, '/');
                strbuf_puts(&auth, req->service);
                strbuf_puts(&auth, "/" SIGV4_TERMINATOR ", SignedHeaders=");
                strbuf_append(&auth, signed_list.s, signed_list.len);
                strbuf_puts(&auth, ", Signature=");
                strbuf_puts(&auth, res.signature);
                r = strbuf_take(&auth, &res.authorization);
                strbuf_done(&auth);
                if (r < 0)
                        goto finish;
        }
        if (token) {
                res.security_token = strdup(token);
                if (!res.security_token) {
                        r = -ENOMEM;
                        goto finish;
                }
        }
        if (req->add_content_sha256) {
                res.content_sha256 = strdup(payload_hash);
                if (!res.content_sha256) {
                        r = -ENOMEM;
                        goto finish;
                }
        }
        r = strbuf_take(&canon, &res.canonical_request);
        if (r < 0)
                goto finish;
        r = strbuf_take(&sts, &res.string_to_sign);
        if (r < 0)
                goto finish;

        *ret = res;
        res = (struct sigv4_result){};
        r = 0;

finish:
        sigv4_result_done(&res);
        strbuf_done(&canon);
        strbuf_done(&headers);
        strbuf_done(&signed_list);
        strbuf_done(&sts);
        return r;
}

static char *free_wiped(char *s) {
        if (s) {
                mbedtls_platform_zeroize(s, strlen(s));
                free(s);
        }
        return NULL;
}

void sigv4_result_done(struct sigv4_result *r) {
        if (!r)
                return;
        r->authorization = free_wiped(r->authorization);
        r->security_token = free_wiped(r->security_token);
        r->content_sha256 = free_wiped(r->content_sha256);
        r->canonical_request = free_wiped(r->canonical_request);
        r->string_to_sign = free_wiped(r->string_to_sign);
        mbedtls_platform_zeroize(r->signature, sizeof r->signature);
        mbedtls_platform_zeroize(r->amz_date, sizeof r->amz_date);
}
