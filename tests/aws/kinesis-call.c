/* kinesis-call: one Kinesis operation through the daemon's whole AWS stack
 * (region, endpoint and credential resolution, SigV4, http.c on sd-event,
 * retries and pacing). A test driver; not installed.
 *
 *   kinesis-call [options] OPERATION 'JSON'
 *
 * Prints the response body on stdout and exits 0; on an AWS error prints
 * "ErrorType: message" on stderr and exits 1; any other failure exits 2.
 *
 * Test-only options: --burst N runs N calls at once with "{i}" in the JSON
 * replaced by 0..N-1; --repeat N --interval-ms M runs N calls one after the
 * other, M ms apart; --paged runs ListStreams, ListTagsForStream or
 * ListStreamConsumers through the paged helpers and prints what they
 * collected; --process-timeout-s N limits a credential_process to N s;
 * --stats prints the counters on stderr at the end. */
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-event.h>

#include "aws/creds.h"
#include "aws/aws-error.h"
#include "aws/endpoint.h"
#include "aws/http.h"
#include "kinesis.h"
#include "log.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

struct ctx {
        sd_event *event;
        struct kinesis_client *kinesis;
        const char *operation;
        const char *json_template;
        unsigned limit;
        unsigned burst, repeat, done_count, started;
        uint64_t interval_usec;
        bool paged;
        int exit_code;
        sd_event_source *timer;
};

static void finish_one(struct ctx *x) {
        x->done_count++;
        if (x->done_count >= (x->burst ? x->burst : x->repeat))
                sd_event_exit(x->event, x->exit_code);
}

static void report_failure(struct ctx *x, const struct kinesis_result *r) {
        if (r->error < 0) {
                fprintf(stderr, "kinesis-call: %s failed: %s%s%s\n", r->operation, strerror(-r->error),
                        r->error_text ? ": " : "", strempty(r->error_text));
                x->exit_code = 2;
        } else {
                fprintf(stderr, "%s: %s\n", strna(r->error_type), strempty(r->error_message));
                if (x->exit_code == 0)
                        x->exit_code = 1;
        }
}

static void on_result(struct kinesis_client *c, const struct kinesis_result *r, void *userdata) {
        struct ctx *x = userdata;

        if (kinesis_result_ok(r))
                printf("%s\n", r->body ? json_object_to_json_string_ext(r->body, JSON_FLAGS)
                                       : "{}");
        else
                report_failure(x, r);
        fflush(stdout);
        finish_one(x);
}

static void on_streams(struct kinesis_client *c, const struct kinesis_result *r,
                       struct kinesis_stream_entry *e, size_t n, void *userdata) {
        struct ctx *x = userdata;

        if (!kinesis_result_ok(r) || r->error < 0) {
                report_failure(x, r);
        } else {
                json_object *a = json_object_new_array();
                for (size_t i = 0; i < n; i++) {
                        json_object *o = json_object_new_object();
                        json_object_object_add(o, "StreamName", json_object_new_string(e[i].name));
                        if (e[i].arn)
                                json_object_object_add(o, "StreamARN", json_object_new_string(e[i].arn));
                        json_object_object_add(o, "StreamStatus",
                                               json_object_new_string(stream_status_to_string(e[i].status)));
                        json_object_array_add(a, o);
                }
                json_object *top = json_object_new_object();
                json_object_object_add(top, "Streams", a);
                printf("%s\n", json_object_to_json_string_ext(top, JSON_FLAGS));
                json_object_put(top);
        }
        kinesis_stream_entries_free(e, n);
        finish_one(x);
}

static void on_tags(struct kinesis_client *c, const struct kinesis_result *r, struct stream_tag *t,
                    size_t n, void *userdata) {
        struct ctx *x = userdata;

        if (!kinesis_result_ok(r) || r->error < 0)
                report_failure(x, r);
        else {
                json_object *m = json_object_new_object();
                for (size_t i = 0; i < n; i++)
                        json_object_object_add(m, t[i].key, json_object_new_string(t[i].value));
                json_object *top = json_object_new_object();
                json_object_object_add(top, "Tags", m);
                printf("%s\n", json_object_to_json_string_ext(top, JSON_FLAGS));
                json_object_put(top);
        }
        kinesis_tags_free(t, n);
        finish_one(x);
}

static void on_consumers(struct kinesis_client *c, const struct kinesis_result *r,
                         struct stream_consumer_obs *cs, size_t n, void *userdata) {
        struct ctx *x = userdata;

        if (!kinesis_result_ok(r) || r->error < 0)
                report_failure(x, r);
        else {
                json_object *a = json_object_new_array();
                for (size_t i = 0; i < n; i++) {
                        json_object *o = json_object_new_object();
                        json_object_object_add(o, "ConsumerName", json_object_new_string(cs[i].name));
                        json_object_object_add(o, "ConsumerARN", json_object_new_string(cs[i].arn));
                        json_object_array_add(a, o);
                }
                json_object *top = json_object_new_object();
                json_object_object_add(top, "Consumers", a);
                printf("%s\n", json_object_to_json_string_ext(top, JSON_FLAGS));
                json_object_put(top);
        }
        kinesis_consumers_free(cs, n);
        finish_one(x);
}

/* The template with every "{i}" replaced by i. */
static char *instantiate(const char *tmpl, unsigned i) {
        size_t n = strlen(tmpl);
        char *out = malloc(n * 4 + 32), *o = out;

        if (!out)
                return NULL;
        for (const char *p = tmpl; *p;) {
                if (strncmp(p, "{i}", 3) == 0) {
                        o += sprintf(o, "%u", i);
                        p += 3;
                } else
                        *o++ = *p++;
        }
        *o = 0;
        return out;
}

static const char *stream_of(json_object *req) {
        json_object *v;

        if (json_object_object_get_ex(req, "StreamName", &v) && json_object_is_type(v, json_type_string))
                return json_object_get_string(v);
        if (json_object_object_get_ex(req, "StreamARN", &v) && json_object_is_type(v, json_type_string)) {
                const char *s = strstr(json_object_get_string(v), ":stream/");
                return s ? s + 8 : NULL;
        }
        return NULL;
}

static int start_one(struct ctx *x, unsigned i) {
        _cleanup_free_ char *text = instantiate(x->json_template, i);
        json_object *req, *v;
        int r;

        if (!text)
                return -ENOMEM;
        req = aws_json_parse(text, strlen(text));
        if (!req || !json_object_is_type(req, json_type_object)) {
                json_object_put(req);
                fprintf(stderr, "kinesis-call: the request is not a JSON object\n");
                return -EINVAL;
        }
        _cleanup_free_ char *stream = stream_of(req) ? strdup(stream_of(req)) : NULL;
        x->started++;
        if (x->paged) {
                const char *arn = NULL;
                if (json_object_object_get_ex(req, "StreamARN", &v))
                        arn = json_object_get_string(v);
                if (streq(x->operation, "ListStreams"))
                        r = kinesis_list_streams(x->kinesis, x->limit, on_streams, x, NULL);
                else if (streq(x->operation, "ListTagsForStream"))
                        r = kinesis_list_tags(x->kinesis, stream, x->limit, on_tags, x, NULL);
                else if (streq(x->operation, "ListStreamConsumers"))
                        r = kinesis_list_consumers(x->kinesis, stream, arn, x->limit, on_consumers, x, NULL);
                else
                        r = -EOPNOTSUPP;
                json_object_put(req);
                return r;
        }
        return kinesis_call(x->kinesis, x->operation, req, stream, on_result, x, NULL);
}

static int on_repeat_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct ctx *x = userdata;
        int r;

        r = start_one(x, x->started);
        if (r < 0) {
                fprintf(stderr, "kinesis-call: cannot start %s: %s\n", x->operation, strerror(-r));
                sd_event_exit(x->event, 2);
                return 0;
        }
        if (x->started < x->repeat) {
                uint64_t now = 0;
                (void) sd_event_now(x->event, CLOCK_MONOTONIC, &now);
                (void) sd_event_source_set_time(s, now + x->interval_usec);
                (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        }
        return 0;
}

static void usage(void) {
        fprintf(stderr,
                "usage: kinesis-call [--region R] [--endpoint URL] [--profile P] [--ca-bundle FILE]\n"
                "                    [--max-attempts N] [--retry-base-ms N] [--retry-cap-ms N]\n"
                "                    [--retry-quota N] [--rate-fraction F] [--timeout-ms N]\n"
                "                    [--burst N | --repeat N [--interval-ms M]] [--paged [--limit N]]\n"
                "                    [--process-timeout-s N] [--stats] [--debug]\n"
                "                    [--role-arn ARN [--external-id X] [--sts-endpoint URL]]\n"
                "                    OPERATION 'JSON'\n");
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "region", required_argument, NULL, 'r' },
                { "endpoint", required_argument, NULL, 'e' },
                { "profile", required_argument, NULL, 'p' },
                { "ca-bundle", required_argument, NULL, 'c' },
                { "max-attempts", required_argument, NULL, 'A' },
                { "retry-base-ms", required_argument, NULL, 'B' },
                { "retry-cap-ms", required_argument, NULL, 'C' },
                { "retry-quota", required_argument, NULL, 'Q' },
                { "rate-fraction", required_argument, NULL, 'F' },
                { "timeout-ms", required_argument, NULL, 'T' },
                { "burst", required_argument, NULL, 'b' },
                { "repeat", required_argument, NULL, 'n' },
                { "interval-ms", required_argument, NULL, 'i' },
                { "paged", no_argument, NULL, 'P' },
                { "limit", required_argument, NULL, 'l' },
                { "process-timeout-s", required_argument, NULL, 'X' },
                { "stats", no_argument, NULL, 'S' },
                { "debug", no_argument, NULL, 'd' },
                { "role-arn", required_argument, NULL, 'R' },
                { "external-id", required_argument, NULL, 'x' },
                { "sts-endpoint", required_argument, NULL, 's' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        const char *region_opt = NULL, *endpoint_opt = NULL, *profile = NULL, *ca_opt = NULL;
        const char *role_arn = NULL, *external_id = NULL, *sts_endpoint = NULL;
        struct http_client_options ho;
        struct kinesis_options ko = {};
        struct ctx x = { .repeat = 1 };
        bool stats = false;
        uint64_t process_timeout_usec = 0;
        _cleanup_free_ char *region = NULL, *endpoint = NULL;
        sd_event *e = NULL;
        struct http_client *http = NULL;
        struct creds_provider *creds = NULL, *role = NULL;
        int c, r, ret = 2;

        http_client_options_default(&ho);
        log_open();
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'r': region_opt = optarg; break;
                case 'e': endpoint_opt = optarg; break;
                case 'p': profile = optarg; break;
                case 'c': ca_opt = optarg; break;
                case 'A': ho.max_attempts = (unsigned) strtoul(optarg, NULL, 10); break;
                case 'B': ho.backoff_base_usec = strtoull(optarg, NULL, 10) * USEC_PER_MSEC; break;
                case 'C': ho.backoff_cap_usec = strtoull(optarg, NULL, 10) * USEC_PER_MSEC; break;
                case 'Q': ho.retry_quota = (unsigned) strtoul(optarg, NULL, 10); break;
                case 'F': ko.rate_fraction = strtod(optarg, NULL); break;
                case 'T': ho.timeout_usec = strtoull(optarg, NULL, 10) * USEC_PER_MSEC; break;
                case 'b': x.burst = (unsigned) strtoul(optarg, NULL, 10); break;
                case 'n': x.repeat = (unsigned) strtoul(optarg, NULL, 10); break;
                case 'i': x.interval_usec = strtoull(optarg, NULL, 10) * USEC_PER_MSEC; break;
                case 'P': x.paged = true; break;
                case 'l': x.limit = (unsigned) strtoul(optarg, NULL, 10); break;
                case 'X': process_timeout_usec = strtoull(optarg, NULL, 10) * USEC_PER_SEC; break;
                case 'S': stats = true; break;
                case 'd': log_set_max_level(LOG_DEBUG); break;
                case 'R': role_arn = optarg; break;
                case 'x': external_id = optarg; break;
                case 's': sts_endpoint = optarg; break;
                case 'h': usage(); return 0;
                default: usage(); return 2;
                }
        if (argc - optind != 2 || x.repeat == 0 || x.burst > 1000 || x.repeat > 1000) {
                usage();
                return 2;
        }
        x.operation = argv[optind];
        x.json_template = argv[optind + 1];

        r = endpoint_resolve_region(region_opt, NULL, profile, &region, NULL);
        if (r < 0) {
                fprintf(stderr, "kinesis-call: no usable region (--region, AWS_REGION, AWS_DEFAULT_REGION, "
                                "profile region): %s\n", strerror(-r));
                return 2;
        }
        r = endpoint_resolve_kinesis(endpoint_opt, NULL, region, &endpoint, NULL);
        if (r == -EPERM) {
                fprintf(stderr, "kinesis-call: refusing plain http:// endpoint: only loopback hosts may "
                                "be reached without TLS\n");
                return 2;
        }
        if (r < 0) {
                fprintf(stderr, "kinesis-call: no usable endpoint: %s\n", strerror(-r));
                return 2;
        }
        ho.ca_bundle = endpoint_ca_bundle(ca_opt);
        ho.user_agent = "kinesisd-kinesis-call";

        if (http_global_init() < 0) {
                fprintf(stderr, "kinesis-call: curl initialization failed\n");
                return 2;
        }
        r = sd_event_default(&e);
        if (r >= 0)
                r = http_client_new(e, &ho, &http);
        if (r >= 0) {
                const struct creds_options co = {
                        .profile = profile,
                        .process_timeout_usec = process_timeout_usec,
                };
                r = creds_provider_new(e, http, &co, &creds);
        }
        /* A role assumed with the chain's credentials, as a stream's role_arn is. */
        if (r >= 0 && role_arn) {
                const struct creds_role_options ro = {
                        .role_arn = role_arn,
                        .external_id = external_id,
                        .region = region,
                        .sts_endpoint = sts_endpoint,
                };
                r = creds_provider_new_role(e, http, creds, &ro, &role);
        }
        if (r >= 0)
                r = kinesis_client_new(http, role ? role : creds, region, endpoint, &ko, &x.kinesis);
        if (r < 0) {
                fprintf(stderr, "kinesis-call: setup failed: %s\n", strerror(-r));
                goto out;
        }
        x.event = e;
        if (x.burst > 0) {
                for (unsigned i = 0; i < x.burst; i++) {
                        r = start_one(&x, i);
                        if (r < 0) {
                                fprintf(stderr, "kinesis-call: cannot start %s: %s\n", x.operation, strerror(-r));
                                goto out;
                        }
                }
        } else {
                r = sd_event_add_time(e, &x.timer, CLOCK_MONOTONIC, 0, HTTP_TIMER_ACCURACY, on_repeat_timer, &x);
                if (r < 0)
                        goto out;
        }
        r = sd_event_loop(e);
        ret = r < 0 ? 2 : r;
        if (stats) {
                const struct kinesis_counters *k = kinesis_client_counters(x.kinesis);
                struct http_client_stats hs;
                http_client_get_stats(http, &hs);
                fprintf(stderr,
                        "stats: calls=%" PRIu64 " attempts=%" PRIu64 " retries=%" PRIu64
                        " throttles=%" PRIu64 " errors=%" PRIu64 " quota=%u creds_fetches=%u"
                        " sockets=%" PRIu64 "\n",
                        k->calls, k->attempts, k->retries, k->throttles, k->errors,
                        hs.retry_quota_available, creds_fetch_count(role ? role : creds), hs.sockets_opened);
        }
out:
        sd_event_source_disable_unref(x.timer);
        kinesis_client_free(x.kinesis);
        creds_provider_free(role);
        creds_provider_free(creds);
        http_client_free(http);
        sd_event_unref(e);
        http_global_cleanup();
        return ret;
}
