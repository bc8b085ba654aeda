/* The instruction floor of one steady-state check on kinesisd's fixed stack:
 * the least a client built on the same libraries must do per stream checked,
 * without kinesisd. See RESULTS.md ("Instructions per stream checked").
 *
 *   request-floor PORT STREAM N [PARTS]
 *
 * Sends N DescribeStreamSummary requests for STREAM to http://127.0.0.1:PORT/,
 * one after the other, paced at 16 a second (kinesisd's rate for this API),
 * and does for each only what PARTS names (default "csj"):
 *
 *   c  the HTTP exchange with libcurl: one easy handle kept and reused (so
 *      one kept-alive connection), the request headers kinesisd sends
 *      (Content-Type, X-Amz-Target, X-Amz-Date, Authorization, "Expect:"),
 *      the answer appended to a buffer;
 *   s  the SigV4 arithmetic with mbedTLS, with the signing key derived once:
 *      SHA-256 of the body, SHA-256 of a canonical request of kinesisd's
 *      size, one HMAC-SHA256 of the string to sign; the signature is not
 *      checked by the mock, so an Authorization of the right length is sent;
 *   j  the answer parsed with json-c and three fields read.
 *
 * Run it under callgrind with N = 1 and N = 101: the difference / 100 is the
 * cost per request. Only ever talks to 127.0.0.1. */
#include <curl/curl.h>
#include <json-c/json.h>
#include <mbedtls/md.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct buf {
        char *data;
        size_t len, cap;
};

static size_t on_write(char *p, size_t size, size_t n, void *userdata) {
        struct buf *b = userdata;
        size_t k = size * n;

        if (b->len + k + 1 > b->cap) {
                size_t cap = (b->len + k + 1) * 2;
                char *d = realloc(b->data, cap);
                if (!d)
                        return 0;
                b->data = d;
                b->cap = cap;
        }
        memcpy(b->data + b->len, p, k);
        b->len += k;
        b->data[b->len] = 0;
        return k;
}

static void hex(const unsigned char *p, size_t n, char *out) {
        static const char digits[] = "0123456789abcdef";
        for (size_t i = 0; i < n; i++) {
                out[2 * i] = digits[p[i] >> 4];
                out[2 * i + 1] = digits[p[i] & 15];
        }
        out[2 * n] = 0;
}

static void sha256_hex(const mbedtls_md_info_t *md, const char *data, size_t len, char out[65]) {
        unsigned char d[32];
        mbedtls_md(md, (const unsigned char *) data, len, d);
        hex(d, sizeof d, out);
}

int main(int argc, char *argv[]) {
        const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
        const struct timespec pace = { 0, 62500000 };
        unsigned char key[32] = { 1 }, sig[32];
        char url[64], body[160], date[17] = "20261126T000000Z", payload_hash[65], canon_hash[65];
        char canon[1024], sts[512], signature[65], auth[512], date_header[64], target_header[96];
        const char *parts = argc > 4 ? argv[4] : "csj";
        bool do_curl = strchr(parts, 'c'), do_sign = strchr(parts, 's'), do_json = strchr(parts, 'j');
        struct buf answer = { 0 };
        CURL *easy;
        long n;

        if (argc < 4 || atoi(argv[1]) <= 0 || (n = atol(argv[3])) <= 0 || !md) {
                fprintf(stderr, "usage: request-floor PORT STREAM N [PARTS]\n");
                return 2;
        }
        snprintf(url, sizeof url, "http://127.0.0.1:%d/", atoi(argv[1]));
        snprintf(body, sizeof body, "{\"StreamName\":\"%s\"}", argv[2]);
        snprintf(target_header, sizeof target_header, "X-Amz-Target: Kinesis_20131202.DescribeStreamSummary");
        memset(signature, '0', 64);
        signature[64] = 0;

        curl_global_init(CURL_GLOBAL_DEFAULT);
        easy = curl_easy_init();
        if (!easy)
                return 1;

        for (long i = 0; i < n; i++) {
                struct curl_slist *h = NULL;
                long status = 0;

                if (do_sign) {
                        int k;

                        sha256_hex(md, body, strlen(body), payload_hash);
                        k = snprintf(canon, sizeof canon,
                                     "POST\n/\n\ncontent-type:application/x-amz-json-1.1\nhost:127.0.0.1:%s\n"
                                     "x-amz-date:%s\nx-amz-target:Kinesis_20131202.DescribeStreamSummary\n\n"
                                     "content-type;host;x-amz-date;x-amz-target\n%s",
                                     argv[1], date, payload_hash);
                        sha256_hex(md, canon, (size_t) k, canon_hash);
                        k = snprintf(sts, sizeof sts, "AWS4-HMAC-SHA256\n%s\n%.8s/us-east-1/kinesis/aws4_request\n%s",
                                     date, date, canon_hash);
                        mbedtls_md_hmac(md, key, sizeof key, (const unsigned char *) sts, (size_t) k, sig);
                        hex(sig, sizeof sig, signature);
                }
                if (!do_curl)
                        continue;
                snprintf(auth, sizeof auth,
                         "Authorization: AWS4-HMAC-SHA256 Credential=AKIDBENCHEXAMPLE0000/%.8s/us-east-1/kinesis/"
                         "aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=%s",
                         date, signature);
                snprintf(date_header, sizeof date_header, "X-Amz-Date: %s", date);
                h = curl_slist_append(h, "Content-Type: application/x-amz-json-1.1");
                h = curl_slist_append(h, target_header);
                h = curl_slist_append(h, date_header);
                h = curl_slist_append(h, auth);
                h = curl_slist_append(h, "Expect:");
                answer.len = 0;
                curl_easy_setopt(easy, CURLOPT_URL, url);
                curl_easy_setopt(easy, CURLOPT_NOPROXY, "*");
                curl_easy_setopt(easy, CURLOPT_HTTPHEADER, h);
                curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body);
                curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_write);
                curl_easy_setopt(easy, CURLOPT_WRITEDATA, &answer);
                curl_easy_setopt(easy, CURLOPT_USERAGENT, "kinesisd");
                if (curl_easy_perform(easy) != CURLE_OK ||
                    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status != 200) {
                        fprintf(stderr, "request %ld: HTTP %ld\n", i, status);
                        return 1;
                }
                curl_slist_free_all(h);
                if (do_json) {
                        json_object *o = json_tokener_parse(answer.data), *s, *v;
                        if (!o || !json_object_object_get_ex(o, "StreamDescriptionSummary", &s) ||
                            !json_object_object_get_ex(s, "StreamStatus", &v) ||
                            !json_object_object_get_ex(s, "StreamARN", &v) ||
                            !json_object_object_get_ex(s, "OpenShardCount", &v)) {
                                fprintf(stderr, "request %ld: unexpected answer\n", i);
                                return 1;
                        }
                        json_object_put(o);
                }
                nanosleep(&pace, NULL);
        }
        curl_easy_cleanup(easy);
        curl_global_cleanup();
        free(answer.data);
        return 0;
}
