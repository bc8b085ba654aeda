/* Unit tests of the AWS client's pure parts: retry classification, backoff,
 * retry quota, token bucket and its one-second window, URL policy, AWS error parsing, credential file
 * and document parsing, region/endpoint resolution, Kinesis request builders
 * and response parsers. No network: the one test that builds an HTTP client
 * checks that a refused URL never opens a socket. */
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-event.h>

#include "aws/creds-file.h"
#include "aws/aws-error.h"
#include "aws/creds.h"
#include "aws/endpoint.h"
#include "aws/http.h"
#include "aws/pacer.h"
#include "aws/retry.h"
#include "aws/sts.h"
#include "aws/url.h"
#include "kinesis.h"
#include "stream.h"
#include "testlib.h"

static void test_throttle_codes(void) {
        static const char *const throttles[] = {
                "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
                "TooManyRequestsException", "ProvisionedThroughputExceededException",
                "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
                "RequestThrottled", "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException",
        };
        for (size_t i = 0; i < ELEMENTSOF(throttles); i++) {
                CHECK(retry_error_is_throttle(throttles[i], NULL));
                CHECK_INTEQ(retry_classify(0, 400, throttles[i], NULL), RETRY_THROTTLE);
        }
        CHECK(retry_error_is_throttle("LimitExceededException", "Rate exceeded for stream x"));
        /* A concurrency refusal is waited out by the reconciler, not retried at once. */
        CHECK(!retry_error_is_throttle("LimitExceededException",
                                      "Only 5 streams can be CREATING simultaneously"));
        CHECK(!retry_error_is_throttle("LimitExceededException",
                                      "Limit for streams being created concurrently exceeded"));
        CHECK(!retry_error_is_throttle("LimitExceededException", "shard limit of 500 reached"));
        CHECK(!retry_error_is_throttle("LimitExceededException", NULL));
        CHECK(!retry_error_is_throttle("ResourceNotFoundException", "Rate exceeded"));
        CHECK(!retry_error_is_throttle(NULL, NULL));
}

static void test_classify(void) {
        CHECK_INTEQ(retry_classify(0, 200, NULL, NULL), RETRY_NO);
        CHECK_INTEQ(retry_classify(0, 400, "ValidationException", "x"), RETRY_NO);
        CHECK_INTEQ(retry_classify(0, 400, "IDPCommunicationError", "x"), RETRY_TRANSIENT);
        CHECK_INTEQ(retry_classify(0, 403, "AccessDenied", "x"), RETRY_NO);
        CHECK_INTEQ(retry_classify(0, 400, "ExpiredToken", "x"), RETRY_NO);
        CHECK_INTEQ(retry_classify(0, 400, "ResourceNotFoundException", NULL), RETRY_NO);
        CHECK_INTEQ(retry_classify(0, 400, "LimitExceededException", "quota"), RETRY_NO);
        CHECK_INTEQ(retry_classify(0, 403, "AccessDeniedException", NULL), RETRY_NO);
        CHECK_INTEQ(retry_classify(0, 500, NULL, NULL), RETRY_TRANSIENT);
        CHECK_INTEQ(retry_classify(0, 502, NULL, NULL), RETRY_TRANSIENT);
        CHECK_INTEQ(retry_classify(0, 503, "ServiceUnavailable", NULL), RETRY_TRANSIENT);
        CHECK_INTEQ(retry_classify(0, 504, NULL, NULL), RETRY_TRANSIENT);
        CHECK_INTEQ(retry_classify(0, 400, "RequestTimeout", NULL), RETRY_TRANSIENT);
        CHECK_INTEQ(retry_classify(0, 400, "RequestTimeoutException", NULL), RETRY_TRANSIENT);
        CHECK_INTEQ(retry_classify(0, 429, NULL, NULL), RETRY_THROTTLE);
        CHECK_INTEQ(retry_classify(-ETIMEDOUT, 0, NULL, NULL), RETRY_TIMEOUT);
        CHECK_INTEQ(retry_classify(-ECONNREFUSED, 0, NULL, NULL), RETRY_TRANSIENT);
        CHECK_INTEQ(retry_classify(-ECONNRESET, 0, NULL, NULL), RETRY_TRANSIENT);
        CHECK_INTEQ(retry_classify(-EBADMSG, 200, NULL, NULL), RETRY_TRANSIENT);
        CHECK_INTEQ(retry_classify(-EFBIG, 200, NULL, NULL), RETRY_NO);
        CHECK_INTEQ(retry_classify(-EKEYREJECTED, 0, NULL, NULL), RETRY_NO);
        CHECK_INTEQ(retry_classify(-EPERM, 0, NULL, NULL), RETRY_NO);
}

static void test_quota(void) {
        struct retry_quota q;
        unsigned cost = 0;

        retry_quota_init(&q, 500);
        CHECK(retry_quota_acquire(&q, false, &cost));
        CHECK_INTEQ(cost, 5);
        CHECK_INTEQ(q.available, 495);
        CHECK(retry_quota_acquire(&q, true, &cost));
        CHECK_INTEQ(cost, 10);
        CHECK_INTEQ(q.available, 485);
        /* A retried request that succeeds gives back what its last retry took. */
        retry_quota_release(&q, 10);
        CHECK_INTEQ(q.available, 495);
        /* A first-try success adds one, never past the maximum. */
        retry_quota_release(&q, 0);
        CHECK_INTEQ(q.available, 496);
        for (int i = 0; i < 10; i++)
                retry_quota_release(&q, 0);
        CHECK_INTEQ(q.available, 500);

        retry_quota_init(&q, 12);
        CHECK(retry_quota_acquire(&q, false, &cost));
        CHECK(retry_quota_acquire(&q, false, &cost));
        CHECK(!retry_quota_acquire(&q, false, &cost)); /* 2 left */
        CHECK_INTEQ(q.available, 2);
        CHECK(!retry_quota_acquire(&q, true, &cost));
}

static void test_backoff(void) {
        uint64_t rng = 42;
        const uint64_t base = 100000, cap = 20 * USEC_PER_SEC;
        double prev_mean = 0;

        for (unsigned attempt = 0; attempt < 12; attempt++) {
                uint64_t bound = base << attempt;
                double sum = 0;
                uint64_t max = 0;
                if (bound > cap)
                        bound = cap;
                for (int i = 0; i < 4000; i++) {
                        uint64_t d = retry_backoff_usec(&rng, attempt, base, cap);
                        CHECK(d <= bound);
                        sum += (double) d;
                        if (d > max)
                                max = d;
                }
                double mean = sum / 4000;
                /* Uniform on [0, bound]: mean bound/2, and the samples reach near the top. */
                CHECK(fabs(mean - (double) bound / 2) < (double) bound * 0.05);
                CHECK((double) max > (double) bound * 0.95);
                /* Grows (doubling) until the cap, then stays. */
                if (attempt > 0 && (base << attempt) <= cap)
                        CHECK(mean > prev_mean * 1.7);
                if ((base << (attempt > 0 ? attempt - 1 : 0)) >= cap)
                        CHECK(fabs(mean - prev_mean) < (double) cap * 0.05);
                prev_mean = mean;
        }
        /* Huge attempt numbers neither overflow nor pass the cap. */
        CHECK(retry_backoff_usec(&rng, 1000, base, cap) <= cap);
        /* Deterministic for a seed. */
        uint64_t a = 7, b = 7;
        CHECK_INTEQ(retry_backoff_usec(&a, 3, base, cap), retry_backoff_usec(&b, 3, base, cap));
}

static void test_token_bucket(void) {
        struct token_bucket b;
        uint64_t now = 1000 * USEC_PER_SEC;

        token_bucket_init(&b, 16, 1, now);
        CHECK(token_bucket_take(&b, now));
        CHECK(!token_bucket_take(&b, now));
        CHECK_INTEQ(token_bucket_delay(&b, now), 62500);
        CHECK(!token_bucket_take(&b, now + 62000));
        CHECK(token_bucket_take(&b, now + 62500));

        /* A burst is earned by idling: one token at first, four after a
         * quiet second, never more. */
        token_bucket_init(&b, 2.5, 4, now);
        CHECK(token_bucket_take(&b, now));
        CHECK(!token_bucket_take(&b, now));
        for (int i = 0; i < 4; i++)
                CHECK(token_bucket_take(&b, now + 10 * USEC_PER_SEC));
        CHECK(!token_bucket_take(&b, now + 10 * USEC_PER_SEC));
        /* A throttling answer spends the saved burst: a whole interval of
         * the halved rate before the next call. */
        token_bucket_init(&b, 2.5, 4, now);
        CHECK(token_bucket_take(&b, now + 10 * USEC_PER_SEC));
        token_bucket_throttled(&b);
        CHECK_INTEQ(token_bucket_delay(&b, now + 10 * USEC_PER_SEC), 800000);

        /* A FIFO of 200 requests arriving in bursts never sees more than
         * rate (+1) in any one-second window. */
        uint64_t t = now + USEC_PER_SEC, sent[200];
        size_t n = 0;
        token_bucket_init(&b, 16, 1, t);
        uint64_t rng = 1;
        while (n < ELEMENTSOF(sent)) {
                if (token_bucket_take(&b, t))
                        sent[n++] = t;
                else
                        t += token_bucket_delay(&b, t);
                /* Jitter the clock forward as a loop would. */
                t += retry_rng_next(&rng) % 3000;
        }
        for (size_t i = 0; i < n; i++) {
                size_t in_window = 0;
                for (size_t j = i; j < n && sent[j] < sent[i] + USEC_PER_SEC; j++)
                        in_window++;
                CHECK(in_window <= 17);
        }

        /* AIMD: halve on throttling down to the floor, climb back to the ceiling. */
        token_bucket_init(&b, 16, 1, now);
        token_bucket_throttled(&b);
        CHECK(fabs(b.rate - 8) < 1e-9);
        for (int i = 0; i < 20; i++)
                token_bucket_throttled(&b);
        CHECK(fabs(b.rate - b.floor) < 1e-9);
        CHECK(b.floor >= 0.1 && b.floor <= 1.0 + 1e-9);
        CHECK(!token_bucket_idle(&b, now + 10 * USEC_PER_SEC));
        token_bucket_succeeded(&b);
        CHECK(fabs(b.rate - (b.floor + 1.6)) < 1e-9);
        for (int i = 0; i < 20; i++)
                token_bucket_succeeded(&b);
        CHECK(fabs(b.rate - 16) < 1e-9);
        CHECK(token_bucket_idle(&b, now + 10 * USEC_PER_SEC));
}

/* Releases of a FIFO that always has a call waiting, on a clock that a loop
 * moves forward by up to 3 ms more than the pacer asked: at[] and the
 * window's cap at each release. The first throttle_at releases run at the
 * ceiling; then the bucket is throttled `throttles` times, and after
 * recover_at releases it succeeds until back at its ceiling. */
struct pace_run {
        uint64_t at[400];
        unsigned cap[400];
        size_t n;
};

static void pace_simulate(struct pace_run *run, double rate, size_t n, size_t throttle_at, unsigned throttles,
                          size_t recover_at) {
        uint64_t ring[PACE_WINDOW_MAX], t = 5000 * USEC_PER_SEC, rng = 7;
        struct pace_limit l;
        bool throttled = false;

        token_bucket_init(&l.bucket, rate, 1, t);
        pace_window_init(&l.window, ring, pace_window_cap(rate));
        run->n = 0;
        while (run->n < n) {
                if (run->n == throttle_at && !throttled) {
                        for (unsigned i = 0; i < throttles; i++)
                                token_bucket_throttled(&l.bucket);
                        throttled = true;
                }
                if (run->n >= recover_at)
                        token_bucket_succeeded(&l.bucket);
                if (pace_limit_take(&l, t)) {
                        run->cap[run->n] = pace_window_cap(l.bucket.rate);
                        run->at[run->n++] = t;
                } else {
                        uint64_t d = pace_limit_delay(&l, t);
                        CHECK(d > 0);
                        t += d;
                }
                t += retry_rng_next(&rng) % 3000;
        }
}

/* The most releases within less than span of each other. */
static size_t pace_peak(const struct pace_run *run, size_t from, size_t to, uint64_t span) {
        size_t best = 0;

        for (size_t k = from; k < to; k++) {
                size_t j = k;
                while (j > 0 && run->at[k] - run->at[j - 1] < span)
                        j--;
                if (k - j + 1 > best)
                        best = k - j + 1;
        }
        return best;
}

static void test_pace_window(void) {
        static struct pace_run run;
        const uint64_t span = USEC_PER_SEC + PACE_WINDOW_MARGIN_USEC;

        /* floor(rate x share), at least one, a little rounding forgiven. */
        CHECK_INTEQ(pace_window_cap(20 * 0.5), 10);
        CHECK_INTEQ(pace_window_cap(5 * 0.5), 2);
        CHECK_INTEQ(pace_window_cap(20 * 0.3), 6);
        CHECK_INTEQ(pace_window_cap(5 * 0.2), 1);
        CHECK_INTEQ(pace_window_cap(0.1), 1);
        CHECK_INTEQ(pace_window_cap(1e6), PACE_WINDOW_MAX);

        /* 2.5 a second (ListStreams, CreateStream at the default share): an
         * evenly spaced bucket sends 0, 0.4, 0.8 s; the window lets 2 through
         * in any second and a margin, and still 2 a second on average. */
        pace_simulate(&run, 2.5, 60, SIZE_MAX, 0, SIZE_MAX);
        CHECK_INTEQ(pace_peak(&run, 0, run.n, span), 2);
        CHECK(run.at[1] - run.at[0] < 450 * USEC_PER_MSEC);
        CHECK((double) (run.n - 1) * USEC_PER_SEC / (double) (run.at[run.n - 1] - run.at[0]) > 1.9);

        /* 10 a second (DescribeStreamSummary at the default share): 11 calls
         * 0.1 s apart span exactly a second, which arrives as less. */
        pace_simulate(&run, 10, 200, SIZE_MAX, 0, SIZE_MAX);
        CHECK_INTEQ(pace_peak(&run, 0, run.n, span), 10);
        CHECK((double) (run.n - 1) * USEC_PER_SEC / (double) (run.at[run.n - 1] - run.at[0]) > 9.5);

        /* AIMD: after 50 calls at 10 a second, throttled twice (2.5 a second,
         * a cap of 2 counted over the calls before the throttle too), and
         * after 100 calls back up to 10. Each release sees at most the cap
         * of the moment in the window that ends with it. */
        pace_simulate(&run, 10, 300, 50, 2, 100);
        for (size_t k = 0; k < run.n; k++) {
                size_t j = k;
                while (j > 0 && run.at[k] - run.at[j - 1] < span)
                        j--;
                CHECK(k - j + 1 <= run.cap[k]);
        }
        CHECK_INTEQ(run.cap[60], 2);
        CHECK_INTEQ(pace_peak(&run, 55, 100, span), 2);
        CHECK_INTEQ(run.cap[run.n - 1], 10);
        CHECK_INTEQ(pace_peak(&run, 200, run.n, span), 10);
        /* Down to the floor and back: one call a window, never two. */
        pace_simulate(&run, 10, 120, 20, 10, 40);
        CHECK_INTEQ(run.cap[30], 1);
        CHECK_INTEQ(pace_peak(&run, 21, 40, span), 1);
        CHECK_INTEQ(pace_peak(&run, 100, run.n, span), 10);

        /* The window empties a second and the margin after its latest call. */
        uint64_t ring[2];
        struct pace_window w;
        pace_window_init(&w, ring, 2);
        CHECK(pace_window_idle(&w, 0));
        pace_window_record(&w, 10 * USEC_PER_SEC);
        CHECK_INTEQ(pace_window_delay(&w, 2, 10 * USEC_PER_SEC), 0);
        CHECK_INTEQ(pace_window_delay(&w, 1, 10 * USEC_PER_SEC), span);
        pace_window_record(&w, 10 * USEC_PER_SEC + 400000);
        CHECK_INTEQ(pace_window_delay(&w, 2, 10 * USEC_PER_SEC + 400000), span - 400000);
        CHECK(!pace_window_idle(&w, 11 * USEC_PER_SEC + 400000));
        CHECK(pace_window_idle(&w, 10 * USEC_PER_SEC + 400000 + span));
}

static void test_url_policy(void) {
        CHECK_INTEQ(url_check("https://kinesis.us-east-1.amazonaws.com", false), 0);
        CHECK_INTEQ(url_check("https://192.0.2.1:443/", false), 0);
        CHECK_INTEQ(url_check("http://127.0.0.1:4568", false), 0);
        CHECK_INTEQ(url_check("http://127.8.9.10/", false), 0);
        CHECK_INTEQ(url_check("http://localhost:1/", false), 0);
        CHECK_INTEQ(url_check("http://[::1]:4568/", false), 0);
        CHECK_INTEQ(url_check("HTTP://LOCALHOST/", false), 0);
        CHECK_INTEQ(url_check("http://192.0.2.1/", false), -EPERM);
        CHECK_INTEQ(url_check("http://10.0.0.1/", false), -EPERM);
        CHECK_INTEQ(url_check("http://128.0.0.1/", false), -EPERM);
        CHECK_INTEQ(url_check("http://127.0.0.1.example.com/", false), -EPERM);
        CHECK_INTEQ(url_check("http://localhost.example.com/", false), -EPERM);
        CHECK_INTEQ(url_check("http://[::ffff:192.0.2.1]/", false), -EPERM);
        CHECK_INTEQ(url_check("http://[2001:db8::1]/", false), -EPERM);
        CHECK_INTEQ(url_check("http://169.254.169.254/", false), -EPERM);
        CHECK_INTEQ(url_check("http://169.254.169.254/", true), 0);
        CHECK_INTEQ(url_check("http://169.254.170.2/v2/creds", true), 0);
        CHECK_INTEQ(url_check("http://[fd00:ec2::254]/", true), 0);
        CHECK_INTEQ(url_check("http://169.254.1.1/", true), -EPERM);
        /* No user information anywhere: it would be a password in every log line. */
        CHECK_INTEQ(url_check("http://user:pw@127.0.0.1:4568/", false), -EACCES);
        CHECK_INTEQ(url_check("https://user@kinesis.us-east-1.amazonaws.com/", false), -EACCES);
        CHECK_INTEQ(url_check("http://u:p@169.254.170.2/v2/creds", true), -EACCES);
        CHECK_INTEQ(url_check("http://127.0.0.1:4568/a@b", false), 0);
        CHECK_INTEQ(url_check("ftp://127.0.0.1/", false), -EPROTONOSUPPORT);
        CHECK_INTEQ(url_check("file:///etc/passwd", false), -EPROTONOSUPPORT);
        CHECK(url_check("not a url", false) < 0);
        CHECK(url_check(NULL, false) < 0);
        /* One loopback rule: the fully qualified localhost and every spelling of ::1. */
        CHECK_INTEQ(url_check("http://localhost./", false), 0);
        CHECK_INTEQ(url_check("http://[0:0:0:0:0:0:0:1]:4568/", false), 0);
        CHECK(url_host_is_loopback("[0:0:0:0:0:0:0:1]"));
        CHECK(!url_host_is_loopback("localhost.."));
        /* One length cap: URL_MAX bytes. */
        {
                char long_url[URL_MAX + 2];
                size_t n = strlen("https://a/");
                memcpy(long_url, "https://a/", n);
                memset(long_url + n, 'x', URL_MAX - n);
                long_url[URL_MAX] = 0;
                CHECK_INTEQ(url_check(long_url, false), 0);
                long_url[URL_MAX] = 'x';
                long_url[URL_MAX + 1] = 0;
                CHECK_INTEQ(url_check(long_url, false), -EINVAL);
        }

        char *host = NULL, *path = NULL;
        CHECK_INTEQ(url_host_path("http://127.0.0.1:4568", &host, &path), 0);
        CHECK_STREQ(host, "127.0.0.1:4568");
        CHECK_STREQ(path, "/");
        free(host);
        free(path);
        CHECK_INTEQ(url_host_path("https://kinesis.cn-north-1.amazonaws.com.cn/", &host, &path), 0);
        CHECK_STREQ(host, "kinesis.cn-north-1.amazonaws.com.cn");
        CHECK_STREQ(path, "/");
        free(host);
        free(path);
        CHECK_INTEQ(url_host_path("http://[::1]:99/x/y", &host, &path), 0);
        CHECK_STREQ(host, "[::1]:99");
        CHECK_STREQ(path, "/x/y");
        free(host);
        free(path);
}

static void refused_done(struct http_request *r, const struct http_response *resp, void *userdata) {
        (*(int *) userdata)++;
}

static void test_refused_without_traffic(void) {
        sd_event *e = NULL;
        struct http_client *c = NULL;
        struct http_request *r = NULL;
        struct http_client_stats st;
        int called = 0;

        CHECK_INTEQ(http_global_init(), 0);
        CHECK(sd_event_new(&e) >= 0);
        CHECK_INTEQ(http_client_new(e, NULL, &c), 0);
        struct http_request_params p = {
                .method = "POST", .url = "http://192.0.2.1:4568/", .done = refused_done, .userdata = &called,
        };
        CHECK_INTEQ(http_request_start(c, &p, &r), -EPERM);
        CHECK(r == NULL);
        /* Let the loop run: nothing was scheduled, nothing may happen. */
        for (int i = 0; i < 3; i++)
                (void) sd_event_run(e, 10 * USEC_PER_MSEC);
        http_client_get_stats(c, &st);
        CHECK_INTEQ(st.sockets_opened, 0);
        CHECK_INTEQ(st.attempts, 0);
        CHECK_INTEQ(called, 0);
        http_client_free(c);
        sd_event_unref(e);
        http_global_cleanup();
}

static void test_error_parse(void) {
        char *code = NULL, *msg = NULL;
        json_object *body = json_tokener_parse(
                "{\"__type\":\"com.amazonaws.kinesis.v20131202#ResourceNotFoundException\","
                "\"message\":\"Stream x not found\"}");

        CHECK_INTEQ(aws_error_parse(NULL, body, &code, &msg), 0);
        CHECK_STREQ(code, "ResourceNotFoundException");
        CHECK_STREQ(msg, "Stream x not found");
        free(code);
        free(msg);
        /* The header wins and loses its ":url" suffix. */
        CHECK_INTEQ(aws_error_parse("ThrottlingException:http://internal.amazon.com/", body, &code, &msg), 0);
        CHECK_STREQ(code, "ThrottlingException");
        free(code);
        free(msg);
        json_object_put(body);

        body = json_tokener_parse("{\"code\":\"aws.protocol#SlowDown:x\",\"Message\":\"M\"}");
        CHECK_INTEQ(aws_error_parse(NULL, body, &code, &msg), 0);
        CHECK_STREQ(code, "SlowDown");
        CHECK_STREQ(msg, "M");
        free(code);
        free(msg);
        json_object_put(body);

        /* Kept escaped, NUL included: they go into logs and streams.json. */
        body = json_tokener_parse("{\"__type\":\"Bad\\u001b[2JException\","
                                  "\"message\":\"x\\nkinesisd: forged\\r\\u0000\\u009b\"}");
        CHECK_INTEQ(aws_error_parse(NULL, body, &code, &msg), 0);
        CHECK_STREQ(code, "Bad\\x1b[2JException");
        CHECK_STREQ(msg, "x\\x0akinesisd: forged\\x0d\\x00\\x9b");
        free(code);
        free(msg);
        json_object_put(body);

        CHECK_INTEQ(aws_error_parse(NULL, NULL, &code, &msg), 0);
        CHECK(code == NULL && msg == NULL);
        body = json_tokener_parse("{\"__type\":5,\"message\":[1]}");
        CHECK_INTEQ(aws_error_parse(NULL, body, &code, &msg), 0);
        CHECK(code == NULL && msg == NULL);
        json_object_put(body);

        /* Depth-limited, trailing garbage refused. */
        char deep[300];
        memset(deep, '[', sizeof deep - 1);
        deep[sizeof deep - 1] = 0;
        CHECK(aws_json_parse(deep, strlen(deep)) == NULL);
        CHECK(aws_json_parse("{} x", 4) == NULL);
        json_object *ok = aws_json_parse("{}\n", 3);
        CHECK(ok != NULL);
        json_object_put(ok);
}

static void test_profile_parse(void) {
        static const char creds[] =
                "# comment\n"
                "[default]\n"
                "aws_access_key_id = AKIDDEFAULT\n"
                "aws_secret_access_key=secret1\n"
                "\n"
                "[ops]\r\n"
                "aws_access_key_id   =   AKIDOPS  \r\n"
                "aws_secret_access_key = s/2+3\r\n"
                "aws_session_token = tok\r\n"
                "; another comment\n"
                "[profile ops]\n"
                "aws_access_key_id = WRONG\n";
        static const char config[] =
                "[default]\nregion = us-west-2\n"
                "[profile ops]\n"
                "region = eu-west-1\n"
                "s3 =\n"
                "  region = nested-not-ours\n"
                "credential_process = /bin/get-creds --profile ops\n"
                "[ops]\nregion = not-in-config-form\n";
        struct aws_profile p = {};

        CHECK_INTEQ(aws_profile_parse(creds, strlen(creds), "ops", false, &p), 1);
        CHECK_STREQ(p.access_key_id, "AKIDOPS");
        CHECK_STREQ(p.secret_access_key, "s/2+3");
        CHECK_STREQ(p.session_token, "tok");
        CHECK_INTEQ(aws_profile_parse(config, strlen(config), "ops", true, &p), 1);
        CHECK_STREQ(p.region, "eu-west-1");
        CHECK_STREQ(p.credential_process, "/bin/get-creds --profile ops");
        CHECK_STREQ(p.access_key_id, "AKIDOPS"); /* the credentials file wins */
        aws_profile_done(&p);

        CHECK_INTEQ(aws_profile_parse(config, strlen(config), "default", true, &p), 1);
        CHECK_STREQ(p.region, "us-west-2");
        aws_profile_done(&p);
        CHECK_INTEQ(aws_profile_parse(creds, strlen(creds), "missing", false, &p), 0);
        CHECK(!p.access_key_id);

        /* An indented line continues the previous setting (nested keys): not a key. */
        static const char nested[] = "[ops]\n  aws_access_key_id = NESTED\n";
        CHECK_INTEQ(aws_profile_parse(nested, strlen(nested), "ops", false, &p), 1);
        CHECK(!p.access_key_id);

        /* Hostile input: no newline at the end, no closing bracket, binary,
         * a value far too long, a truncated buffer. */
        static const char bad[] = "[ops\naws_access_key_id=X\n[ops]\naws_access_key_id";
        CHECK_INTEQ(aws_profile_parse(bad, strlen(bad), "ops", false, &p), 1);
        CHECK(!p.access_key_id);
        size_t big = AWS_VALUE_MAX * 2 + 64;
        char *huge = malloc(big);
        CHECK(huge != NULL);
        if (huge) {
                int k = snprintf(huge, big, "[ops]\naws_access_key_id = ");
                memset(huge + k, 'A', big - (size_t) k);
                CHECK_INTEQ(aws_profile_parse(huge, big, "ops", false, &p), 1);
                CHECK(!p.access_key_id);
                free(huge);
        }
        static const char bin[] = "[ops]\naws_access_key_id = A\0B\nregion=x\n";
        CHECK_INTEQ(aws_profile_parse(bin, sizeof bin - 1, "ops", false, &p), 1);
        aws_profile_done(&p);
        /* Cut in the middle of a line: only the given length is read. */
        CHECK_INTEQ(aws_profile_parse(creds, 20, "default", false, &p), 1);
        CHECK(!p.access_key_id);
        aws_profile_done(&p);
}

static void test_iso8601(void) {
        uint64_t t = 0;

        CHECK_INTEQ(aws_parse_iso8601("2015-08-30T12:36:00Z", &t), 0);
        CHECK_INTEQ(t, UINT64_C(1440938160) * USEC_PER_SEC);
        CHECK_INTEQ(aws_parse_iso8601("2015-08-30T12:36:00.123Z", &t), 0);
        CHECK_INTEQ(t, UINT64_C(1440938160) * USEC_PER_SEC);
        CHECK_INTEQ(aws_parse_iso8601("2015-08-30T14:36:00+02:00", &t), 0);
        CHECK_INTEQ(t, UINT64_C(1440938160) * USEC_PER_SEC);
        CHECK_INTEQ(aws_parse_iso8601("2015-08-30T10:36:00-0200", &t), 0);
        CHECK_INTEQ(t, UINT64_C(1440938160) * USEC_PER_SEC);
        CHECK(aws_parse_iso8601("2015-08-30T12:36:00", &t) < 0);
        CHECK(aws_parse_iso8601("2015-13-30T12:36:00Z", &t) < 0);
        CHECK(aws_parse_iso8601("2015-08-30T12:36:00Zjunk", &t) < 0);
        CHECK(aws_parse_iso8601("", &t) < 0);
        CHECK(aws_parse_iso8601("1015-08-30T12:36:00Z", &t) < 0);
}

static void test_split_command(void) {
        char **argv = NULL;

        CHECK_INTEQ(aws_split_command("/bin/tool --profile 'my profile' \"a \\\"b\\\"\" c\\ d", &argv), 0);
        if (argv) {
                CHECK_STREQ(argv[0], "/bin/tool");
                CHECK_STREQ(argv[1], "--profile");
                CHECK_STREQ(argv[2], "my profile");
                CHECK_STREQ(argv[3], "a \"b\"");
                CHECK_STREQ(argv[4], "c d");
                CHECK(argv[5] == NULL);
                argv = strv_free(argv);
        }
        CHECK_INTEQ(aws_split_command("  x  ''  ", &argv), 0);
        if (argv) {
                CHECK_STREQ(argv[0], "x");
                CHECK_STREQ(argv[1], "");
                CHECK(argv[2] == NULL);
                argv = strv_free(argv);
        }
        CHECK_INTEQ(aws_split_command("x 'unterminated", &argv), -EINVAL);
        CHECK_INTEQ(aws_split_command("   ", &argv), -EINVAL);
        CHECK_INTEQ(aws_split_command("", &argv), -EINVAL);
}

static void test_credentials_json(void) {
        struct aws_credentials c = {};
        json_object *o = json_tokener_parse(
                "{\"Version\":1,\"AccessKeyId\":\"AKID\",\"SecretAccessKey\":\"S\",\"SessionToken\":\"T\","
                "\"Expiration\":\"2015-08-30T12:36:00Z\"}");

        CHECK_INTEQ(aws_credentials_from_json(o, "SessionToken", &c), 0);
        CHECK_STREQ(c.access_key_id, "AKID");
        CHECK_STREQ(c.session_token, "T");
        CHECK_INTEQ(c.expiration_usec, UINT64_C(1440938160) * USEC_PER_SEC);
        aws_credentials_done(&c);
        /* The container form names the token "Token". */
        CHECK_INTEQ(aws_credentials_from_json(o, "Token", &c), 0);
        CHECK(c.session_token == NULL);
        aws_credentials_done(&c);
        json_object_put(o);

        o = json_tokener_parse("{\"AccessKeyId\":\"AKID\"}");
        CHECK_INTEQ(aws_credentials_from_json(o, "Token", &c), -EBADMSG);
        json_object_put(o);
        o = json_tokener_parse("{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\",\"Expiration\":\"soon\"}");
        CHECK_INTEQ(aws_credentials_from_json(o, "Token", &c), -EBADMSG);
        json_object_put(o);
        o = json_tokener_parse("{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\",\"Token\":\"a\\r\\nX: y\"}");
        CHECK_INTEQ(aws_credentials_from_json(o, "Token", &c), -EBADMSG);
        json_object_put(o);
        CHECK_INTEQ(aws_credentials_from_json(NULL, "Token", &c), -EBADMSG);
}

static void test_container_url(void) {
        char *url = NULL;

        unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
        unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
        CHECK_INTEQ(aws_container_credentials_url(&url), -ENOENT);
        /* Only the URL is built and checked: nothing is fetched here. */
        setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc", 1);
        CHECK_INTEQ(aws_container_credentials_url(&url), 0);
        CHECK_STREQ(url, "http://169.254.170.2/v2/credentials/abc");
        CHECK_INTEQ(url_check(url, true), 0);
        CHECK_INTEQ(url_check(url, false), -EPERM);
        free(url);
        setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:9/x", 1);
        CHECK_INTEQ(aws_container_credentials_url(&url), 0);
        CHECK_STREQ(url, "http://169.254.170.2/v2/credentials/abc"); /* relative wins */
        free(url);
        unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
        CHECK_INTEQ(aws_container_credentials_url(&url), 0);
        CHECK_STREQ(url, "http://127.0.0.1:9/x");
        free(url);
        setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "no-slash", 1);
        CHECK_INTEQ(aws_container_credentials_url(&url), -EINVAL);
        unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
        unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
}

static void test_region_names(void) {
        static const char *const good[] = {
                "us-west-2", "cn-north-1", "us-gov-west-1", "eu-isoe-west-1", "ap-southeast-12",
                "eusc-de-east-1",
        };
        static const char *const bad[] = {
                "", "US-WEST-2", "us-west", "uswest2", "us-west-2a", "us-west-123", "u-west-2",
                "usaxy-west-2", "us--2", "us-west-", "us-west-2-", "us-1", "us-west-2; x",
                "us-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-1",
        };
        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                CHECK(endpoint_region_is_valid(good[i]));
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                CHECK(!endpoint_region_is_valid(bad[i]));
        CHECK(!endpoint_region_is_valid(NULL));
}

static void test_resolution(void) {
        char *v = NULL;
        const char *src = NULL;
        char cfg[] = "/tmp/kinesisd-aws-unit-XXXXXX";
        int fd = mkstemp(cfg);

        CHECK(fd >= 0);
        if (fd >= 0) {
                static const char text[] = "[profile p]\nregion = ap-east-1\n";
                CHECK(write(fd, text, sizeof text - 1) == (ssize_t) (sizeof text - 1));
                close(fd);
        }
        setenv("AWS_CONFIG_FILE", cfg, 1);
        setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/kinesisd-test", 1);
        unsetenv("AWS_PROFILE");
        setenv("AWS_REGION", "eu-central-1", 1);
        setenv("AWS_DEFAULT_REGION", "us-east-2", 1);
        CHECK_INTEQ(endpoint_resolve_region("us-west-2", NULL, "p", &v, NULL), 0);
        CHECK_STREQ(v, "us-west-2");
        free(v);
        CHECK_INTEQ(endpoint_resolve_region(NULL, "eu-west-3", "p", &v, &src), 0);
        CHECK_STREQ(v, "eu-west-3");
        CHECK_STREQ(src, "aws.region");
        free(v);
        CHECK_INTEQ(endpoint_resolve_region("us-west-2", "eu-west-3", "p", &v, &src), 0);
        CHECK_STREQ(v, "us-west-2");
        CHECK_STREQ(src, "--region");
        free(v);
        CHECK_INTEQ(endpoint_resolve_region(NULL, NULL, "p", &v, &src), 0);
        CHECK_STREQ(v, "eu-central-1");
        CHECK_STREQ(src, "$AWS_REGION");
        free(v);
        unsetenv("AWS_REGION");
        CHECK_INTEQ(endpoint_resolve_region(NULL, NULL, "p", &v, NULL), 0);
        CHECK_STREQ(v, "us-east-2");
        free(v);
        unsetenv("AWS_DEFAULT_REGION");
        CHECK_INTEQ(endpoint_resolve_region(NULL, NULL, "p", &v, NULL), 0);
        CHECK_STREQ(v, "ap-east-1");
        free(v);
        setenv("AWS_PROFILE", "p", 1);
        CHECK_INTEQ(endpoint_resolve_region(NULL, NULL, NULL, &v, &src), 0);
        CHECK_STREQ(v, "ap-east-1");
        CHECK_STREQ(src, "the profile's region");
        free(v);
        unsetenv("AWS_PROFILE");
        CHECK_INTEQ(endpoint_resolve_region(NULL, NULL, NULL, &v, NULL), -ENOENT);
        CHECK_INTEQ(endpoint_resolve_region("US-EAST-1; x", NULL, NULL, &v, NULL), -EINVAL);
        unlink(cfg);
        unsetenv("AWS_CONFIG_FILE");
        unsetenv("AWS_SHARED_CREDENTIALS_FILE");

        unsetenv("AWS_ENDPOINT_URL");
        unsetenv("AWS_ENDPOINT_URL_KINESIS");
        CHECK_INTEQ(endpoint_resolve_kinesis(NULL, NULL, "us-east-1", &v, NULL), 0);
        CHECK_STREQ(v, "https://kinesis.us-east-1.amazonaws.com");
        free(v);
        CHECK_INTEQ(endpoint_resolve_kinesis(NULL, NULL, "cn-north-1", &v, NULL), 0);
        CHECK_STREQ(v, "https://kinesis.cn-north-1.amazonaws.com.cn");
        free(v);
        setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1", 1);
        CHECK_INTEQ(endpoint_resolve_kinesis(NULL, NULL, "us-east-1", &v, NULL), 0);
        CHECK_STREQ(v, "http://127.0.0.1:1");
        free(v);
        setenv("AWS_ENDPOINT_URL_KINESIS", "http://127.0.0.1:2", 1);
        CHECK_INTEQ(endpoint_resolve_kinesis(NULL, NULL, "us-east-1", &v, NULL), 0);
        CHECK_STREQ(v, "http://127.0.0.1:2");
        free(v);
        CHECK_INTEQ(endpoint_resolve_kinesis(NULL, NULL, "us-east-1", &v, &src), 0);
        CHECK_STREQ(src, "$AWS_ENDPOINT_URL_KINESIS");
        free(v);
        CHECK_INTEQ(endpoint_resolve_kinesis(NULL, "http://localhost:4", "us-east-1", &v, &src), 0);
        CHECK_STREQ(v, "http://localhost:4");
        CHECK_STREQ(src, "aws.endpoint");
        free(v);
        CHECK_INTEQ(endpoint_resolve_kinesis("http://localhost:3", "http://localhost:4", "us-east-1", &v, &src), 0);
        CHECK_STREQ(v, "http://localhost:3");
        CHECK_STREQ(src, "--endpoint");
        free(v);
        CHECK_INTEQ(endpoint_resolve_kinesis("http://192.0.2.1/", NULL, "us-east-1", &v, NULL), -EPERM);
        unsetenv("AWS_ENDPOINT_URL");
        unsetenv("AWS_ENDPOINT_URL_KINESIS");

        setenv("AWS_CA_BUNDLE", "/env/ca.pem", 1);
        CHECK_STREQ(endpoint_ca_bundle("/cfg/ca.pem"), "/cfg/ca.pem");
        CHECK_STREQ(endpoint_ca_bundle(NULL), "/env/ca.pem");
        unsetenv("AWS_CA_BUNDLE");
        CHECK(endpoint_ca_bundle(NULL) == NULL);
}

static void check_json(json_object *o, const char *expected) {
        CHECK(o != NULL);
        if (o)
                CHECK_STREQ(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
                            expected);
        json_object_put(o);
}

static void test_builders(void) {
        struct stream_tag tags[] = { { (char *) "env", (char *) "prod" }, { (char *) "team", (char *) "" } };
        bool per_stream;

        check_json(kinesis_req_create_stream("s", STREAM_MODE_PROVISIONED, 2, tags, 2, 0, 10),
                   "{\"StreamName\":\"s\",\"ShardCount\":2,\"StreamModeDetails\":{\"StreamMode\":\"PROVISIONED\"},"
                   "\"Tags\":{\"env\":\"prod\",\"team\":\"\"}}");
        check_json(kinesis_req_create_stream("s", STREAM_MODE_ON_DEMAND, 9, NULL, 0, 2048, 0),
                   "{\"StreamName\":\"s\",\"StreamModeDetails\":{\"StreamMode\":\"ON_DEMAND\"},"
                   "\"MaxRecordSizeInKiB\":2048}");
        check_json(kinesis_req_update_shard_count("s", 8),
                   "{\"StreamName\":\"s\",\"TargetShardCount\":8,\"ScalingType\":\"UNIFORM_SCALING\"}");
        check_json(kinesis_req_update_stream_mode("arn:x", STREAM_MODE_ON_DEMAND),
                   "{\"StreamARN\":\"arn:x\",\"StreamModeDetails\":{\"StreamMode\":\"ON_DEMAND\"}}");
        check_json(kinesis_req_retention("s", 48), "{\"StreamName\":\"s\",\"RetentionPeriodHours\":48}");
        check_json(kinesis_req_start_encryption("s", "alias/aws/kinesis"),
                   "{\"StreamName\":\"s\",\"EncryptionType\":\"KMS\",\"KeyId\":\"alias/aws/kinesis\"}");
        check_json(kinesis_req_monitoring("s", METRIC_ALL), "{\"StreamName\":\"s\",\"ShardLevelMetrics\":[\"ALL\"]}");
        check_json(kinesis_req_monitoring("s", METRIC_INCOMING_BYTES | METRIC_ITERATOR_AGE_MILLISECONDS),
                   "{\"StreamName\":\"s\",\"ShardLevelMetrics\":[\"IncomingBytes\",\"IteratorAgeMilliseconds\"]}");
        check_json(kinesis_req_add_tags("s", tags, 1), "{\"StreamName\":\"s\",\"Tags\":{\"env\":\"prod\"}}");
        check_json(kinesis_req_remove_tags("s", tags, 2), "{\"StreamName\":\"s\",\"TagKeys\":[\"env\",\"team\"]}");
        check_json(kinesis_req_register_consumer("arn:x", "c", NULL, 0),
                   "{\"StreamARN\":\"arn:x\",\"ConsumerName\":\"c\"}");
        check_json(kinesis_req_register_consumer("arn:x", "c", tags, 1),
                   "{\"StreamARN\":\"arn:x\",\"ConsumerName\":\"c\",\"Tags\":{\"env\":\"prod\"}}");
        check_json(kinesis_req_tag_resource("arn:c", tags, 1), "{\"ResourceARN\":\"arn:c\",\"Tags\":{\"env\":\"prod\"}}");
        check_json(kinesis_req_untag_resource("arn:c", tags, 2), "{\"ResourceARN\":\"arn:c\",\"TagKeys\":[\"env\",\"team\"]}");
        check_json(kinesis_req_update_max_record_size("arn:x", 4096),
                   "{\"StreamARN\":\"arn:x\",\"MaxRecordSizeInKiB\":4096}");
        check_json(kinesis_req_list_streams(100, NULL, NULL), "{\"Limit\":100}");
        check_json(kinesis_req_list_streams(100, "tok", NULL), "{\"NextToken\":\"tok\"}");
        check_json(kinesis_req_list_streams(0, NULL, "after"), "{\"ExclusiveStartStreamName\":\"after\"}");
        check_json(kinesis_req_list_tags("s", 0, "k"), "{\"StreamName\":\"s\",\"ExclusiveStartTagKey\":\"k\"}");
        check_json(kinesis_req_list_consumers("arn:x", 5, "t"),
                   "{\"StreamARN\":\"arn:x\",\"MaxResults\":5,\"NextToken\":\"t\"}");
        check_json(kinesis_req_describe_limits(), "{}");
        check_json(kinesis_req_resource("arn:x"), "{\"ResourceARN\":\"arn:x\"}");
        check_json(kinesis_req_put_resource_policy("arn:x", "{\"Version\":\"1\"}"),
                   "{\"ResourceARN\":\"arn:x\",\"Policy\":\"{\\\"Version\\\":\\\"1\\\"}\"}");
        CHECK(kinesis_req_retention(NULL, 24) == NULL);

        CHECK(kinesis_operation_rate("DescribeStreamSummary", &per_stream) == 20 && !per_stream);
        /* DESIGN §6: tags and retention are per account; consumer listing per stream. */
        CHECK(kinesis_operation_rate("ListTagsForStream", &per_stream) == 5 && !per_stream);
        CHECK(kinesis_operation_rate("IncreaseStreamRetentionPeriod", &per_stream) == 5 && !per_stream);
        CHECK(kinesis_operation_rate("UpdateShardCount", &per_stream) == 10 && !per_stream);
        CHECK(kinesis_operation_rate("ListStreamConsumers", &per_stream) == 5 && per_stream);
        CHECK(kinesis_operation_rate("DescribeStreamConsumer", &per_stream) == 20 && per_stream);
        CHECK(kinesis_operation_rate("CreateStream", &per_stream) == 5 && !per_stream);
        CHECK(kinesis_operation_rate("Whatever", &per_stream) == 5 && !per_stream);
}

static void test_parsers(void) {
        struct stream_obs obs = {};
        /* As kinesis-mock answers: nulls where AWS would omit a key. */
        json_object *b = json_tokener_parse(
                "{\"StreamDescriptionSummary\":{\"ConsumerCount\":1,\"EncryptionType\":\"KMS\","
                "\"EnhancedMonitoring\":[{\"ShardLevelMetrics\":[\"IncomingBytes\",\"OutgoingRecords\"]}],"
                "\"KeyId\":\"alias/aws/kinesis\",\"MaxRecordSizeInKiB\":null,\"OpenShardCount\":4,"
                "\"RetentionPeriodHours\":48,\"StreamARN\":\"arn:aws:kinesis:us-east-1:000000000000:stream/s1\","
                "\"StreamModeDetails\":{\"StreamMode\":\"ON_DEMAND\"},\"StreamName\":\"s1\","
                "\"StreamStatus\":\"UPDATING\"}}");
        CHECK_INTEQ(kinesis_parse_stream_summary(b, &obs), 0);
        CHECK(obs.exists);
        CHECK_STREQ(obs.arn, "arn:aws:kinesis:us-east-1:000000000000:stream/s1");
        CHECK_INTEQ(obs.status, STREAM_STATUS_UPDATING);
        CHECK_INTEQ(obs.mode, STREAM_MODE_ON_DEMAND);
        CHECK_INTEQ(obs.open_shards, 4);
        CHECK_INTEQ(obs.retention_hours, 48);
        CHECK_STREQ(obs.kms_key, "alias/aws/kinesis");
        CHECK_INTEQ(obs.metrics, METRIC_INCOMING_BYTES | METRIC_OUTGOING_RECORDS);
        CHECK_INTEQ(obs.max_record_size_kib, 0);
        CHECK_INTEQ(obs.consumer_count, 1);
        stream_obs_done(&obs);
        json_object_put(b);
        b = json_tokener_parse("{\"StreamDescriptionSummary\":{\"StreamName\":\"x\"}}");
        CHECK_INTEQ(kinesis_parse_stream_summary(b, &obs), -EBADMSG);
        json_object_put(b);
        CHECK_INTEQ(kinesis_parse_stream_summary(NULL, &obs), -EBADMSG);

        struct kinesis_stream_entry *e = NULL;
        size_t n = 0;
        bool more = true;
        char *next = NULL;
        b = json_tokener_parse("{\"HasMoreStreams\":false,\"StreamNames\":[\"a\",\"b\"]}");
        CHECK_INTEQ(kinesis_parse_list_streams(b, &e, &n, &more, &next), 0);
        CHECK_INTEQ(n, 2);
        CHECK(!more && !next);
        CHECK(e && !e[0].has_summary && !e[0].arn);
        json_object_put(b);
        b = json_tokener_parse(
                "{\"HasMoreStreams\":true,\"NextToken\":\"T\",\"StreamNames\":[\"c\"],\"StreamSummaries\":"
                "[{\"StreamName\":\"c\",\"StreamARN\":\"arn:c\",\"StreamStatus\":\"CREATING\","
                "\"StreamModeDetails\":{\"StreamMode\":\"ON_DEMAND\"}}]}");
        CHECK_INTEQ(kinesis_parse_list_streams(b, &e, &n, &more, &next), 0);
        CHECK_INTEQ(n, 3);
        CHECK(more);
        CHECK_STREQ(next, "T");
        if (n == 3) {
                CHECK(e[2].has_summary);
                CHECK_STREQ(e[2].arn, "arn:c");
                CHECK_INTEQ(e[2].status, STREAM_STATUS_CREATING);
                CHECK_INTEQ(e[2].mode, STREAM_MODE_ON_DEMAND);
        }
        free(next);
        json_object_put(b);
        b = json_tokener_parse("{\"StreamNames\":[1]}");
        CHECK_INTEQ(kinesis_parse_list_streams(b, &e, &n, &more, &next), -EBADMSG);
        json_object_put(b);
        kinesis_stream_entries_free(e, n);

        struct stream_tag *t = NULL;
        n = 0;
        b = json_tokener_parse("{\"HasMoreTags\":true,\"Tags\":[{\"Key\":\"a\",\"Value\":\"1\"},{\"Key\":\"b\"}]}");
        CHECK_INTEQ(kinesis_parse_list_tags(b, &t, &n, &more), 0);
        CHECK_INTEQ(n, 2);
        CHECK(more);
        if (n == 2) {
                CHECK_STREQ(t[1].key, "b");
                CHECK_STREQ(t[1].value, "");
        }
        kinesis_tags_free(t, n);
        json_object_put(b);

        struct stream_consumer_obs *cs = NULL, one = {};
        n = 0;
        b = json_tokener_parse("{\"Consumers\":[{\"ConsumerName\":\"r\",\"ConsumerARN\":\"arn:r\","
                               "\"ConsumerStatus\":\"ACTIVE\"}],\"NextToken\":null}");
        CHECK_INTEQ(kinesis_parse_list_consumers(b, &cs, &n, &next), 0);
        CHECK_INTEQ(n, 1);
        CHECK(next == NULL);
        kinesis_consumers_free(cs, n);
        json_object_put(b);
        b = json_tokener_parse("{\"ConsumerDescription\":{\"ConsumerName\":\"r\",\"ConsumerARN\":\"arn:r\","
                               "\"ConsumerStatus\":\"CREATING\",\"StreamARN\":\"arn:s\"}}");
        CHECK_INTEQ(kinesis_parse_consumer(b, &one), 0);
        CHECK_STREQ(one.status, "CREATING");
        free(one.name);
        free(one.arn);
        free(one.status);
        json_object_put(b);

        struct kinesis_limits l;
        b = json_tokener_parse("{\"OnDemandStreamCount\":0,\"OnDemandStreamCountLimit\":10,"
                               "\"OpenShardCount\":1,\"ShardLimit\":50}");
        CHECK_INTEQ(kinesis_parse_describe_limits(b, &l), 0);
        CHECK_INTEQ(l.shard_limit, 50);
        CHECK_INTEQ(l.on_demand_stream_count_limit, 10);
        json_object_put(b);

        CHECK_STREQ(stream_status_to_string(STREAM_STATUS_ACTIVE), "ACTIVE");
        CHECK_INTEQ(stream_status_from_string("DELETING"), STREAM_STATUS_DELETING);
        CHECK_INTEQ(stream_status_from_string("nope"), STREAM_STATUS_UNKNOWN);
        CHECK_INTEQ(stream_status_from_string(NULL), STREAM_STATUS_UNKNOWN);
}

/* An endpoint that does not know an operation, in the spellings seen. */
static void test_unknown_operation(void) {
        struct kinesis_result r = { .http_status = 400, .operation = "UpdateMaxRecordSize" };

        r.error_type = "UnknownOperationException";
        CHECK(kinesis_result_is_unknown_operation(&r));
        r.error_type = "com.amazon.coral.service#UnknownOperationException";
        CHECK(kinesis_result_is_unknown_operation(&r));
        r.error_type = "AccessDeniedException";
        r.error_message = "Unable to determine service/operation name to be authorized";
        CHECK(kinesis_result_is_unknown_operation(&r));
        r.error_message = "User is not authorized to perform: kinesis:UpdateMaxRecordSize";
        CHECK(!kinesis_result_is_unknown_operation(&r));
        r.error_message = NULL;
        CHECK(!kinesis_result_is_unknown_operation(&r));
        r.error_type = "ResourceNotFoundException";
        CHECK(!kinesis_result_is_unknown_operation(&r));
        r.error_type = NULL;
        CHECK(!kinesis_result_is_unknown_operation(&r));
        r.error_type = "UnknownOperationException";
        r.error = -ETIMEDOUT;
        CHECK(!kinesis_result_is_unknown_operation(&r));
}

/* GetResourcePolicy: no policy reads as NULL however it is said; policies
 * that differ only in form read the same. */
static void test_policy_parse(void) {
        static const char *const none[] = { "{}", "{\"Policy\":\"{}\"}", "{\"Policy\":\" { } \"}" };
        static const char *const bad[] = { "{\"Policy\":\"[1]\"}", "{\"Policy\":\"{\\\"a\\\":\"}",
                                           "{\"Policy\":\"{} x\"}", "[]" };
        json_object *b1 = json_tokener_parse(
                "{\"Policy\":\"{\\\"Version\\\":\\\"2012-10-17\\\",\\\"Statement\\\":[{\\\"Effect\\\":"
                "\\\"Allow\\\",\\\"Action\\\":[\\\"kinesis:GetRecords\\\"]}]}\"}");
        json_object *b2 = json_tokener_parse(
                "{\"Policy\":\"{ \\\"Statement\\\": {\\\"Action\\\": \\\"kinesis:GetRecords\\\", "
                "\\\"Effect\\\": \\\"Allow\\\"},\\n \\\"Version\\\": \\\"2012-10-17\\\" }\"}");
        char *p1 = NULL, *p2 = NULL, *p;

        for (size_t i = 0; i < ELEMENTSOF(none); i++) {
                json_object *b = json_tokener_parse(none[i]);
                p = (char *)"unset";
                CHECK(b && kinesis_parse_resource_policy(b, &p) == 0 && p == NULL);
                json_object_put(b);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                json_object *b = json_tokener_parse(bad[i]);
                CHECK(b && kinesis_parse_resource_policy(b, &p) == -EBADMSG && p == NULL);
                json_object_put(b);
        }
        CHECK(kinesis_parse_resource_policy(b1, &p1) == 0 && p1);
        CHECK(kinesis_parse_resource_policy(b2, &p2) == 0 && p2);
        CHECK_STREQ(p1, "{\"Statement\":{\"Action\":\"kinesis:GetRecords\",\"Effect\":\"Allow\"},"
                        "\"Version\":\"2012-10-17\"}");
        CHECK_STREQ(p1, p2);
        free(p1);
        free(p2);
        json_object_put(b1);
        json_object_put(b2);
}

/* Resolve service's endpoint for region and profile p of the file text. */
static char *resolved(const char *cfg, const char *text, const char *service, const char *region,
                      const char **ret_source) {
        FILE *f = fopen(cfg, "w");
        char *v = NULL;

        CHECK(f != NULL);
        if (!f)
                return NULL;
        fputs(text, f);
        fclose(f);
        if (endpoint_resolve_service(service, region, "p", &v, ret_source) < 0)
                return NULL;
        return v;
}

#define CHECK_RESOLVED(text, service, region, want, want_source)                                     \
        do {                                                                                          \
                const char *_src = NULL;                                                              \
                char *_v = resolved(cfg, text, service, region, &_src);                               \
                CHECK_STREQ(_v, want);                                                                \
                CHECK_STREQ(_src, want_source);                                                       \
                free(_v);                                                                             \
        } while (0)

static void test_endpoint_conventions(void) {
        char cfg[] = "/tmp/kinesisd-aws-unit-XXXXXX";
        int fd = mkstemp(cfg);
        static const char services[] = "[profile p]\nservices = local\nendpoint_url = http://127.0.0.1:9\n"
                                       "[services other]\nsts =\n  endpoint_url = http://127.0.0.1:1\n"
                                       "[services local]\nkinesis =\n  endpoint_url = http://127.0.0.1:2\n"
                                       "sts =\n  region = x\n  endpoint_url = http://127.0.0.1:3\n";

        CHECK(fd >= 0);
        close(fd);
        setenv("AWS_CONFIG_FILE", cfg, 1);
        setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/kinesisd-test", 1);
        unsetenv("AWS_PROFILE");
        unsetenv("AWS_ENDPOINT_URL");
        unsetenv("AWS_ENDPOINT_URL_KINESIS");
        unsetenv("AWS_ENDPOINT_URL_STS");
        unsetenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
        unsetenv("AWS_USE_FIPS_ENDPOINT");
        unsetenv("AWS_USE_DUALSTACK_ENDPOINT");

        /* The forms of the region's endpoint. */
        CHECK_RESOLVED("", "sts", "us-west-2", "https://sts.us-west-2.amazonaws.com", "the region");
        CHECK_RESOLVED("", "sts", "cn-north-1", "https://sts.cn-north-1.amazonaws.com.cn", "the region");
        setenv("AWS_USE_FIPS_ENDPOINT", "true", 1);
        CHECK_RESOLVED("", "kinesis", "us-gov-west-1", "https://kinesis-fips.us-gov-west-1.amazonaws.com",
                       "the region");
        setenv("AWS_USE_DUALSTACK_ENDPOINT", "true", 1);
        CHECK_RESOLVED("", "sts", "us-east-1", "https://sts-fips.us-east-1.api.aws", "the region");
        unsetenv("AWS_USE_FIPS_ENDPOINT");
        CHECK_RESOLVED("", "kinesis", "eu-west-1", "https://kinesis.eu-west-1.api.aws", "the region");
        CHECK_RESOLVED("", "kinesis", "cn-northwest-1",
                       "https://kinesis.cn-northwest-1.api.amazonwebservices.com.cn", "the region");
        /* The variable wins over the profile's key; the profile's key alone counts too. */
        setenv("AWS_USE_DUALSTACK_ENDPOINT", "false", 1);
        CHECK_RESOLVED("[profile p]\nuse_dualstack_endpoint = true\n", "sts", "us-east-1",
                       "https://sts.us-east-1.amazonaws.com", "the region");
        unsetenv("AWS_USE_DUALSTACK_ENDPOINT");
        CHECK_RESOLVED("[profile p]\nuse_fips_endpoint = true\n", "sts", "us-east-1",
                       "https://sts-fips.us-east-1.amazonaws.com", "the region");

        /* Configured endpoints: variables > services section > endpoint_url. */
        CHECK_RESOLVED(services, "kinesis", "us-east-1", "http://127.0.0.1:2",
                       "the profile's services section");
        CHECK_RESOLVED(services, "sts", "us-east-1", "http://127.0.0.1:3", "the profile's services section");
        CHECK_RESOLVED("[profile p]\nservices = none\nendpoint_url = http://127.0.0.1:9\n", "sts",
                       "us-east-1", "http://127.0.0.1:9", "the profile's endpoint_url");
        setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5", 1);
        CHECK_RESOLVED(services, "sts", "us-east-1", "http://127.0.0.1:5", "$AWS_ENDPOINT_URL");
        setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:6", 1);
        CHECK_RESOLVED(services, "sts", "us-east-1", "http://127.0.0.1:6", "$AWS_ENDPOINT_URL_STS");
        CHECK_RESOLVED(services, "kinesis", "us-east-1", "http://127.0.0.1:5", "$AWS_ENDPOINT_URL");
        /* Ignored: every configured one, variables and profile alike. */
        setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
        CHECK_RESOLVED(services, "sts", "us-east-1", "https://sts.us-east-1.amazonaws.com", "the region");
        unsetenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
        unsetenv("AWS_ENDPOINT_URL");
        unsetenv("AWS_ENDPOINT_URL_STS");
        CHECK_RESOLVED("[profile p]\nignore_configured_endpoint_urls = true\n"
                       "endpoint_url = http://127.0.0.1:9\n",
                       "kinesis", "us-east-1", "https://kinesis.us-east-1.amazonaws.com", "the region");
        /* A configured endpoint still meets the URL policy. */
        CHECK(resolved(cfg, "[profile p]\nendpoint_url = http://192.0.2.1/\n", "sts", "us-east-1", NULL) ==
              NULL);

        unlink(cfg);
        unsetenv("AWS_CONFIG_FILE");
        unsetenv("AWS_SHARED_CREDENTIALS_FILE");
}

static void test_sts(void) {
        static const char ok[] =
                "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult>"
                "<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/r/s</Arn></AssumedRoleUser>"
                "<Credentials><AccessKeyId>ASIAX</AccessKeyId><SecretAccessKey>sec</SecretAccessKey>"
                "<SessionToken>to&amp;ken</SessionToken><Expiration>2030-01-02T03:04:05Z</Expiration>"
                "</Credentials></AssumeRoleResult><ResponseMetadata><RequestId>rid</RequestId>"
                "</ResponseMetadata></AssumeRoleResponse>";
        static const char err[] = "<ErrorResponse><Error><Type>Sender</Type><Code>ExpiredToken</Code>"
                                  "<Message>The security token included in the request is expired</Message>"
                                  "</Error><RequestId>r2</RequestId></ErrorResponse>";
        /* A key outside Credentials is not a key. */
        static const char elsewhere[] = "<R><AccessKeyId>A</AccessKeyId><SecretAccessKey>S</SecretAccessKey>"
                                        "<SessionToken>T</SessionToken><Expiration>2030-01-02T03:04:05Z"
                                        "</Expiration></R>";
        static const char doctype[] = "<!DOCTYPE r [<!ENTITY e \"x\">]><r>&e;</r>";
        struct sts_answer a = {};
        struct aws_credentials c = {};
        char *body = NULL, *name = NULL;

        CHECK_INTEQ(sts_answer_parse(ok, sizeof ok - 1, &a), 0);
        CHECK_STREQ(a.assumed_arn, "arn:aws:sts::123456789012:assumed-role/r/s");
        CHECK_STREQ(a.request_id, "rid");
        CHECK(a.error_code == NULL);
        CHECK_INTEQ(sts_answer_credentials(&a, &c), 0);
        CHECK_STREQ(c.access_key_id, "ASIAX");
        CHECK_STREQ(c.session_token, "to&ken");
        CHECK(c.expiration_usec == UINT64_C(1893553445) * 1000000);
        aws_credentials_done(&c);
        sts_answer_done(&a);

        CHECK_INTEQ(sts_answer_parse(err, sizeof err - 1, &a), 0);
        CHECK_STREQ(a.error_code, "ExpiredToken");
        CHECK_STREQ(a.error_message, "The security token included in the request is expired");
        CHECK_INTEQ(sts_answer_credentials(&a, &c), -EBADMSG);
        sts_answer_done(&a);

        CHECK_INTEQ(sts_answer_parse(elsewhere, sizeof elsewhere - 1, &a), 0);
        CHECK(a.access_key_id == NULL);
        sts_answer_done(&a);
        CHECK_INTEQ(sts_answer_parse(doctype, sizeof doctype - 1, &a), -EBADMSG);
        CHECK_INTEQ(sts_answer_parse("<a><b></a>", 10, &a), -EBADMSG);

        CHECK_INTEQ(sts_query_body(&(struct sts_params){ .action = "AssumeRole",
                                                          .role_arn = "arn:aws:iam::123456789012:role/a b",
                                                          .session_name = "s@1",
                                                          .external_id = "x/y+z",
                                                          .duration_seconds = 900 },
                                   &body), 0);
        CHECK_STREQ(body, "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012"
                          "%3Arole%2Fa%20b&RoleSessionName=s%401&DurationSeconds=900&ExternalId=x%2Fy%2Bz");
        free(body);
        body = NULL;
        CHECK_INTEQ(sts_query_body(&(struct sts_params){ .action = "AssumeRoleWithWebIdentity",
                                                          .role_arn = "arn:aws:iam::1:role/r",
                                                          .session_name = "s", .external_id = "ignored",
                                                          .web_identity_token = "t.o=k" },
                                   &body), 0);
        CHECK_STREQ(body, "Action=AssumeRoleWithWebIdentity&Version=2011-06-15"
                          "&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fr&RoleSessionName=s"
                          "&WebIdentityToken=t.o%3Dk");
        free(body);
        CHECK_INTEQ(sts_query_body(&(struct sts_params){ .action = "AssumeRoleWithWebIdentity",
                                                          .role_arn = "arn:aws:iam::1:role/r",
                                                          .session_name = "s" },
                                   &body), -EINVAL);

        CHECK_INTEQ(creds_default_session_name(&name), 0);
        CHECK(name && strncmp(name, "kinesisd-", 9) == 0 && strlen(name) <= 64 &&
              strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+=,.@_-") ==
                      strlen(name));
        free(name);
}

int main(void) {
        test_throttle_codes();
        test_classify();
        test_quota();
        test_backoff();
        test_token_bucket();
        test_pace_window();
        test_url_policy();
        test_refused_without_traffic();
        test_error_parse();
        test_profile_parse();
        test_iso8601();
        test_split_command();
        test_credentials_json();
        test_container_url();
        test_region_names();
        test_resolution();
        test_endpoint_conventions();
        test_sts();
        test_builders();
        test_parsers();
        test_policy_parse();
        test_unknown_operation();
        return test_summary("aws-unit");
}
