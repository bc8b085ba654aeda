/* Unit tests for sigv4_sign() beyond AWS's suite: session tokens are signed,
 * the Kinesis request shape, canonicalization corners, refusals. */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "aws/sigv4.h"
#include "testlib.h"
#include "util.h"

/* 2015-08-30T12:36:00Z, the suite's timestamp. */
#define T0 ((time_t)1440938160)

static const struct sigv4_header host_only[] = {
        {"Host", "example.amazonaws.com"},
};

static struct sigv4_request base_request(void) {
        return (struct sigv4_request){
                .method = "GET",
                .path = "/",
                .headers = host_only,
                .n_headers = ELEMENTSOF(host_only),
                .region = "us-east-1",
                .service = "service",
                .access_key_id = "AKIDEXAMPLE",
                .secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                .now = T0,
                .normalize_path = true,
                .double_encode_path = true,
        };
}

/* Line i (0-based) of the canonical request, copied into buf. */
static const char *canon_line(const char *canon, unsigned i, char *buf, size_t size) {
        const char *p = canon;
        for (; i > 0 && p; i--) {
                p = strchr(p, '\n');
                if (p)
                        p++;
        }
        if (!p)
                return NULL;
        size_t len = strcspn(p, "\n");
        if (len >= size)
                return NULL;
        memcpy(buf, p, len);
        buf[len] = 0;
        return buf;
}

static void test_vanilla(void) {
        struct sigv4_request req = base_request();
        struct sigv4_result res = {};

        CHECK_INTEQ(sigv4_sign(&req, &res), 0);
        CHECK_STREQ(res.amz_date, "20150830T123600Z");
        /* The suite's get-vanilla signature, as a known answer kept in code. */
        CHECK_STREQ(res.signature, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
        CHECK(res.security_token == NULL);
        CHECK(res.content_sha256 == NULL);
        sigv4_result_done(&res);
        sigv4_result_done(&res); /* idempotent */
        sigv4_result_done(NULL);
}

static void test_session_token_is_signed(void) {
        struct sigv4_request req = base_request();
        struct sigv4_result a = {}, b = {}, c = {}, d = {};
        char line[256];

        req.session_token = "TOKEN/one+==";
        CHECK_INTEQ(sigv4_sign(&req, &a), 0);
        CHECK_STREQ(a.security_token, "TOKEN/one+==");
        CHECK_STREQ(canon_line(a.canonical_request, 5, line, sizeof line),
                    "x-amz-security-token:TOKEN/one+==");
        CHECK(strstr(a.authorization, "SignedHeaders=host;x-amz-date;x-amz-security-token, ") != NULL);

        /* A different token must give a different signature: it is covered. */
        req.session_token = "TOKEN/two+==";
        CHECK_INTEQ(sigv4_sign(&req, &b), 0);
        CHECK(strcmp(a.signature, b.signature) != 0);

        /* Without a token (NULL or ""), nothing about it is signed or added. */
        req.session_token = "";
        CHECK_INTEQ(sigv4_sign(&req, &c), 0);
        CHECK(c.security_token == NULL);
        CHECK(strstr(c.canonical_request, "x-amz-security-token") == NULL);
        CHECK_STREQ(c.signature, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");

        /* omit_session_token: still returned for the request, but unsigned. */
        req.session_token = "TOKEN/one+==";
        req.omit_session_token = true;
        CHECK_INTEQ(sigv4_sign(&req, &d), 0);
        CHECK_STREQ(d.security_token, "TOKEN/one+==");
        CHECK(strstr(d.canonical_request, "x-amz-security-token") == NULL);
        CHECK_STREQ(d.signature, c.signature);

        sigv4_result_done(&a);
        sigv4_result_done(&b);
        sigv4_result_done(&c);
        sigv4_result_done(&d);
}

static void test_kinesis_shape(void) {
        static const char body[] = "{\"StreamName\":\"orders\"}";
        static const struct sigv4_header hdrs[] = {
                {"Host", "kinesis.eu-west-1.amazonaws.com"},
                {"Content-Type", "application/x-amz-json-1.1"},
                {"X-Amz-Target", "Kinesis_20131202.DescribeStreamSummary"},
        };
        struct sigv4_request req = base_request();
        struct sigv4_result res = {};
        char hash[65];

        req.method = "POST";
        req.headers = hdrs;
        req.n_headers = ELEMENTSOF(hdrs);
        req.body = body;
        req.body_len = strlen(body);
        req.region = "eu-west-1";
        req.service = "kinesis";
        req.session_token = "tok";
        req.add_content_sha256 = true;

        sigv4_sha256_hex(body, strlen(body), hash);
        CHECK_INTEQ(sigv4_sign(&req, &res), 0);
        CHECK_STREQ(res.content_sha256, hash);

        _cleanup_free_ char *expected = NULL;
        CHECK(asprintf(
                      &expected,
                      "POST\n/\n\n"
                      "content-type:application/x-amz-json-1.1\n"
                      "host:kinesis.eu-west-1.amazonaws.com\n"
                      "x-amz-content-sha256:%s\n"
                      "x-amz-date:20150830T123600Z\n"
                      "x-amz-security-token:tok\n"
                      "x-amz-target:Kinesis_20131202.DescribeStreamSummary\n\n"
                      "content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token;x-amz-target\n"
                      "%s",
                      hash, hash) > 0);
        CHECK_STREQ(res.canonical_request, expected);
        CHECK(strncmp(res.authorization,
                      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/eu-west-1/kinesis/aws4_request, "
                      "SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token;"
                      "x-amz-target, Signature=",
                      strlen("AWS4-HMAC-SHA256 "
                             "Credential=AKIDEXAMPLE/20150830/eu-west-1/kinesis/aws4_request, "
                             "SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;"
                             "x-amz-security-token;x-amz-target, Signature=")) == 0);
        sigv4_result_done(&res);
}

static void check_uri(const char *path, bool normalize, bool dbl, const char *expected) {
        struct sigv4_request req = base_request();
        struct sigv4_result res = {};
        char line[256];

        req.path = path;
        req.normalize_path = normalize;
        req.double_encode_path = dbl;
        CHECK_INTEQ(sigv4_sign(&req, &res), 0);
        if (res.canonical_request)
                CHECK_STREQ(canon_line(res.canonical_request, 1, line, sizeof line), expected);
        sigv4_result_done(&res);
}

static void test_uri(void) {
        check_uri("", true, true, "/");
        check_uri("/a/./b/../c", true, true, "/a/c");
        check_uri("/a/.", true, true, "/a");
        check_uri("/a/b/..", true, true, "/a");
        check_uri("/../..", true, true, "/");
        check_uri("/a//b/", true, true, "/a/b/");
        check_uri("/a b%20c", true, true, "/a%20b%2520c");
        check_uri("/a b%20c", false, false, "/a b%20c");
        check_uri("/~x!$'()*+,;=:@", true, true, "/~x%21%24%27%28%29%2A%2B%2C%3B%3D%3A%40");
        check_uri("/a/../b/", false, true, "/a/../b/");
}

static void check_query(const char *query, const char *expected) {
        struct sigv4_request req = base_request();
        struct sigv4_result res = {};
        char line[512];

        req.query = query;
        CHECK_INTEQ(sigv4_sign(&req, &res), 0);
        if (res.canonical_request)
                CHECK_STREQ(canon_line(res.canonical_request, 2, line, sizeof line), expected);
        sigv4_result_done(&res);
}

static void test_query(void) {
        check_query(NULL, "");
        check_query("", "");
        check_query("b=2&a=1", "a=1&b=2");
        check_query("a=2&a=1&a", "a=&a=1&a=2");
        check_query("a&&b=", "a=&b=");
        check_query("k=v=w", "k=v%3Dw");
        check_query("%7e%41=%e1%88%b4", "~A=%E1%88%B4");
        check_query("sp ace=a+b", "sp%20ace=a%2Bb");
        check_query("pct=100%&x=%zz", "pct=100%25&x=%25zz");
        check_query("=v", "=v");
        /* Sorted on the encoded form: '%' (0x25) sorts before 'A'. */
        check_query("B=1&%41=2&%21=3", "%21=3&A=2&B=1");
}

static void test_headers(void) {
        static const struct sigv4_header hdrs[] = {
                {"Host", "h"}, {"X-b", "\t two  words \t"}, {"x-A", "1"}, {"X-B", ""},
                {"x-a", "  "}, {"X-Multi", "a\r\n  b"},
        };
        struct sigv4_request req = base_request();
        struct sigv4_result res = {};

        req.headers = hdrs;
        req.n_headers = ELEMENTSOF(hdrs);
        CHECK_INTEQ(sigv4_sign(&req, &res), 0);
        CHECK_STREQ(res.canonical_request,
                    "GET\n/\n\n"
                    "host:h\n"
                    "x-a:1,\n"
                    "x-amz-date:20150830T123600Z\n"
                    "x-b:two words,\n"
                    "x-multi:a b\n\n"
                    "host;x-a;x-amz-date;x-b;x-multi\n"
                    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        sigv4_result_done(&res);
}

static void check_refused(struct sigv4_request req, const char *what) {
        struct sigv4_result res = {};
        int r = sigv4_sign(&req, &res);
        if (r != -EINVAL)
                fprintf(stderr, "not refused: %s\n", what);
        CHECK_INTEQ(r, -EINVAL);
        CHECK(res.authorization == NULL);
}

static void test_refusals(void) {
        static const struct sigv4_header no_host[] = {{"X-A", "1"}};
        static const struct sigv4_header bad_name[] = {{"Host", "h"}, {"Bad Name", "1"}};
        static const struct sigv4_header empty_name[] = {{"Host", "h"}, {"", "1"}};
        static const struct sigv4_header ctl_value[] = {{"Host", "h"}, {"X-A", "a\001b"}};
        static const struct sigv4_header has_date[] = {{"Host", "h"}, {"x-amz-DATE", "x"}};
        static const struct sigv4_header has_auth[] = {{"Host", "h"}, {"Authorization", "x"}};
        static const struct sigv4_header has_token[] = {{"Host", "h"}, {"X-Amz-Security-Token", "x"}};
        static const struct sigv4_header has_sha[] = {{"Host", "h"}, {"X-Amz-Content-SHA256", "x"}};
        static char long_secret[SIGV4_MAX_SECRET + 2];
        struct sigv4_request req;

        memset(long_secret, 'k', sizeof long_secret - 1);

#define REFUSE(field, value)                                                                                \
        do {                                                                                                \
                req = base_request();                                                                       \
                req.field = value;                                                                          \
                check_refused(req, #field);                                                                 \
        } while (0)
#define REFUSE_HEADERS(h)                                                                                   \
        do {                                                                                                \
                req = base_request();                                                                       \
                req.headers = h;                                                                            \
                req.n_headers = ELEMENTSOF(h);                                                              \
                check_refused(req, #h);                                                                     \
        } while (0)

        REFUSE(method, NULL);
        REFUSE(method, "");
        REFUSE(method, "G T");
        REFUSE(path, "relative");
        REFUSE(path, "/a?b");
        REFUSE(path, "/a#b");
        REFUSE(path, "/a\nb");
        REFUSE(query, "a=b#frag");
        REFUSE(query, "a=\nb");
        REFUSE(region, NULL);
        REFUSE(region, "");
        REFUSE(region, "us/east");
        REFUSE(service, "s s");
        REFUSE(access_key_id, "AK,ID");
        REFUSE(secret_access_key, NULL);
        REFUSE(secret_access_key, "");
        REFUSE(secret_access_key, long_secret);
        REFUSE(session_token, "has space");
        REFUSE(now, (time_t)-1);
        REFUSE(n_headers, SIGV4_MAX_HEADERS + 1);
        REFUSE(body_len, 3); /* body NULL */
        REFUSE_HEADERS(no_host);
        REFUSE_HEADERS(bad_name);
        REFUSE_HEADERS(empty_name);
        REFUSE_HEADERS(ctl_value);
        REFUSE_HEADERS(has_date);
        REFUSE_HEADERS(has_auth);
        REFUSE_HEADERS(has_token);

        req = base_request();
        req.headers = has_sha;
        req.n_headers = ELEMENTSOF(has_sha);
        req.add_content_sha256 = true;
        check_refused(req, "x-amz-content-sha256 twice");

        /* Without add_content_sha256 a caller's own value is just a header. */
        struct sigv4_result res = {};
        req.add_content_sha256 = false;
        CHECK_INTEQ(sigv4_sign(&req, &res), 0);
        CHECK(res.canonical_request && strstr(res.canonical_request, "\nx-amz-content-sha256:x\n"));
        sigv4_result_done(&res);

        CHECK_INTEQ(sigv4_sign(NULL, &res), -EINVAL);
#undef REFUSE
#undef REFUSE_HEADERS
}

static void test_size_cap(void) {
        struct sigv4_request req = base_request();
        struct sigv4_result res = {};
        _cleanup_free_ char *big = malloc(SIGV4_MAX_TEXT + 16);
        struct sigv4_header hdrs[] = {{"Host", "h"}, {"X-Big", big}};

        CHECK(big != NULL);
        if (!big)
                return;
        memset(big, 'x', SIGV4_MAX_TEXT + 15);
        big[SIGV4_MAX_TEXT + 15] = 0;
        req.headers = hdrs;
        req.n_headers = ELEMENTSOF(hdrs);
        CHECK_INTEQ(sigv4_sign(&req, &res), -EINVAL);

        big[SIGV4_MAX_TEXT / 2] = 0;
        CHECK_INTEQ(sigv4_sign(&req, &res), 0);
        sigv4_result_done(&res);
}

static void test_sha256(void) {
        char hex[65];
        sigv4_sha256_hex("", 0, hex);
        CHECK_STREQ(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        sigv4_sha256_hex(NULL, 0, hex);
        CHECK_STREQ(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        sigv4_sha256_hex("abc", 3, hex);
        CHECK_STREQ(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/* The key cache never changes a signature: same inputs, the same result as
 * deriving afresh, and a new secret, day or region is never served the old key. */
static void test_key_cache(void) {
        struct sigv4_key_cache cache = {};
        struct {
                const char *secret, *region;
                time_t now;
        } steps[] = {
                { "secret-one", "us-east-1", 1700000000 },
                { "secret-one", "us-east-1", 1700000100 },  /* same day: from the cache */
                { "secret-two", "us-east-1", 1700000200 },  /* rotated secret */
                { "secret-two", "eu-west-1", 1700000300 },  /* other region */
                { "secret-two", "eu-west-1", 1700090000 },  /* next day */
                { "secret-one", "eu-west-1", 1700090000 },  /* back to the first secret */
        };

        for (size_t i = 0; i < ELEMENTSOF(steps); i++) {
                struct sigv4_request req = base_request();
                struct sigv4_result plain = {}, cached = {};

                req.secret_access_key = steps[i].secret;
                req.region = steps[i].region;
                req.now = steps[i].now;
                CHECK_INTEQ(sigv4_sign(&req, &plain), 0);
                req.key_cache = &cache;
                CHECK_INTEQ(sigv4_sign(&req, &cached), 0);
                CHECK_STREQ(cached.signature, plain.signature);
                CHECK(cache.valid);
                sigv4_result_done(&plain);
                sigv4_result_done(&cached);
        }
        sigv4_key_cache_wipe(&cache);
        CHECK(!cache.valid);
}

int main(void) {
        test_key_cache();
        test_vanilla();
        test_session_token_is_signed();
        test_kinesis_shape();
        test_uri();
        test_query();
        test_headers();
        test_refusals();
        test_size_cap();
        test_sha256();
        return test_summary("test-sigv4");
}
