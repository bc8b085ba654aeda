/* The Kinesis client: one call sent through the HTTP layer, paced, signed
 * afresh each attempt, retried once with fresh credentials when AWS says they
 * are stale, and paged listings gathered into one callback (see kinesis.h).
 *
 * Must never: log a header, a credential or a request body above debug; talk
 * to an endpoint http.c refuses; call back from within kinesis_call(). */
#include "kinesis.h"

#include <ctype.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>

#include "aws/creds.h"
#include "aws/endpoint.h"
#include "aws/http.h"
#include "aws/pacer.h"
#include "aws/retry.h"
#include "aws/sigv4.h"
#include "aws/url.h"
#include "json-util.h"
#include "log.h"

#define KINESIS_TARGET_PREFIX "Kinesis_20131202."
#define KINESIS_CONTENT_TYPE "application/x-amz-json-1.1"
#define KINESIS_MAX_PAGES 10000
#define KINESIS_MAX_OPERATION_NAME 64
/* Calls per second of an operation DESIGN §6 does not name. */
#define KINESIS_DEFAULT_RATE 5
/* Our page token for ListStreams answers without NextToken: "name:" and the
 * last stream name, continued with ExclusiveStartStreamName. */
#define NAME_TOKEN "name:"


/* ---- rates (DESIGN §6) ------------------------------------------------ */

static const struct {
        const char *operation;
        double rate;
        bool per_stream;
} op_rates[] = {
        /* Per account and region. */
        { "CreateStream", 5, false },
        { "DeleteStream", 5, false },
        { "ListStreams", 5, false },
        { "AddTagsToStream", 5, false },
        { "RemoveTagsFromStream", 5, false },
        { "ListTagsForStream", 5, false },
        { "RegisterStreamConsumer", 5, false },
        { "DescribeStream", 10, false },
        { "DescribeStreamSummary", 20, false },
        { "UpdateShardCount", 10, false },
        { "UpdateStreamWarmThroughput", 5, false },
        /* No TPS stated: paced as 5 per account each, like their neighbours. */
        { "IncreaseStreamRetentionPeriod", 5, false },
        { "DecreaseStreamRetentionPeriod", 5, false },
        { "EnableEnhancedMonitoring", 5, false },
        { "DisableEnhancedMonitoring", 5, false },
        { "UpdateMaxRecordSize", 5, false },
        { "GetResourcePolicy", 5, false },
        { "PutResourcePolicy", 5, false },
        { "DeleteResourcePolicy", 5, false },
        { "TagResource", 5, false },
        { "UntagResource", 5, false },
        { "ListTagsForResource", 5, false },
        { "UpdateStreamMode", 5, false },
        { "StartStreamEncryption", 5, false },
        { "StopStreamEncryption", 5, false },
        { "UpdateStreamRecordDistributionStrategy", 5, false },
        { "DescribeAccountSettings", 5, false },
        { "DescribeLimits", 1, false },
        /* Per stream. */
        { "ListStreamConsumers", 5, true },
        { "DeregisterStreamConsumer", 5, true },
        { "DescribeStreamConsumer", 20, true },
};

double kinesis_operation_rate(const char *operation, bool *ret_per_stream) {
        for (size_t i = 0; i < ELEMENTSOF(op_rates); i++)
                if (streq(op_rates[i].operation, operation)) {
                        if (ret_per_stream)
                                *ret_per_stream = op_rates[i].per_stream;
                        return op_rates[i].rate;
                }
        if (ret_per_stream)
                *ret_per_stream = false;
        return KINESIS_DEFAULT_RATE;
}

bool kinesis_result_is_final(const struct kinesis_result *r) {
        return r->error == 0 && retry_classify(0, r->http_status, r->error_type, r->error_message) == RETRY_NO;
}

bool kinesis_result_is_unknown_operation(const struct kinesis_result *r) {
        if (r->error != 0 || !r->error_type)
                return false;
        /* A type may come with a namespace ("com.amazon.coral.service#..."). */
        const char *hash = strrchr(r->error_type, '#'), *type = hash ? hash + 1 : r->error_type;

        return streq(type, "UnknownOperationException") ||
               (streq(type, "AccessDeniedException") && r->error_message &&
                strstr(r->error_message, "Unable to determine service/operation name"));
}

/* ---- client ------------------------------------------------------------ */

struct pacer_entry {
        char *operation;
        char *stream; /* NULL: the account-wide bucket of the operation */
        struct pacer *pacer;
};

enum page_kind { PAGE_NONE, PAGE_STREAMS, PAGE_TAGS, PAGE_CONSUMERS };

struct kinesis_call {
        struct kinesis_client *client;
        struct kinesis_call *next, *prev;
        char *operation, *stream_name, *target, *log_name;
        char *body;
        size_t body_len;
        kinesis_callback cb;
        void *userdata;
        struct http_request *req;
        struct creds_wait *wait;
        struct aws_credentials creds; /* handed over by a creds callback, used once */
        bool have_creds;
        bool creds_failed; /* the credentials for this call could not be had */
        bool refreshed_creds;
        bool in_callback;
        kinesis_gate_t gate;
        void *gate_userdata;

        /* Paged listings. */
        enum page_kind page_kind;
        void *typed_cb;
        unsigned limit, pages;
        char *page_token; /* NextToken / ExclusiveStart* */
        char *arn;
        struct kinesis_stream_entry *streams;
        struct stream_tag *tags;
        struct stream_consumer_obs *consumers;
        size_t n;
};

struct kinesis_client {
        struct http_client *http;
        struct creds_provider *creds;
        char *region, *endpoint, *host, *path;
        double fraction;
        struct pacer_entry *pacers;
        size_t n_pacers;
        struct kinesis_call *calls;
        struct kinesis_counters counters;
        struct sigv4_key_cache key_cache;
};

int kinesis_client_new(struct http_client *http, struct creds_provider *creds, const char *region,
                       const char *endpoint, const struct kinesis_options *o,
                       struct kinesis_client **ret) {
        struct kinesis_client *c;
        int r;

        if (!endpoint_region_is_valid(region) || !endpoint)
                return -EINVAL;
        r = url_check(endpoint, false);
        if (r < 0)
                return r;
        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->http = http;
        c->creds = creds;
        c->fraction = o && o->rate_fraction > 0 && o->rate_fraction <= 1 ? o->rate_fraction : KINESIS_RATE_FRACTION_DEFAULT;
        c->region = strdup(region);
        c->endpoint = strdup(endpoint);
        if (!c->region || !c->endpoint) {
                kinesis_client_free(c);
                return -ENOMEM;
        }
        r = url_host_path(endpoint, &c->host, &c->path);
        if (r < 0) {
                kinesis_client_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

static void call_free(struct kinesis_call *call);

struct kinesis_client *kinesis_client_free(struct kinesis_client *c) {
        if (!c)
                return NULL;
        while (c->calls)
                call_free(c->calls);
        for (size_t i = 0; i < c->n_pacers; i++) {
                free(c->pacers[i].operation);
                free(c->pacers[i].stream);
                pacer_unref(c->pacers[i].pacer);
        }
        free(c->pacers);
        free(c->region);
        free(c->endpoint);
        free(c->host);
        free(c->path);
        sigv4_key_cache_wipe(&c->key_cache);
        free(c);
        return NULL;
}

const struct kinesis_counters *kinesis_client_counters(const struct kinesis_client *c) {
        return &c->counters;
}

/* Drop per-stream buckets nobody uses and that are back at full rate. */
static void pacers_gc(struct kinesis_client *c) {
        size_t j = 0;

        for (size_t i = 0; i < c->n_pacers; i++) {
                struct pacer_entry *e = &c->pacers[i];
                if (e->stream && pacer_is_idle(e->pacer)) {
                        free(e->operation);
                        free(e->stream);
                        pacer_unref(e->pacer);
                        continue;
                }
                c->pacers[j++] = *e;
        }
        c->n_pacers = j;
}

static int pacer_for(struct kinesis_client *c, const char *operation, const char *stream,
                     struct pacer **ret) {
        bool per_stream;
        double rate = kinesis_operation_rate(operation, &per_stream);
        _cleanup_free_ char *name = NULL;
        struct pacer_entry *n;
        int r;

        if (!per_stream || !stream)
                stream = NULL;
        else
                pacers_gc(c);
        for (size_t i = 0; i < c->n_pacers; i++)
                if (streq(c->pacers[i].operation, operation) && streq_ptr(c->pacers[i].stream, stream)) {
                        *ret = c->pacers[i].pacer;
                        return 0;
                }
        n = realloc(c->pacers, (c->n_pacers + 1) * sizeof *n);
        if (!n)
                return -ENOMEM;
        c->pacers = n;
        n = &c->pacers[c->n_pacers];
        *n = (struct pacer_entry){};
        if (asprintf(&name, "%s/%s%s%s", c->region, operation, stream ? "/" : "", strempty(stream)) < 0)
                return -ENOMEM;
        n->operation = strdup(operation);
        n->stream = stream ? strdup(stream) : NULL;
        if (!n->operation || (stream && !n->stream)) {
                free(n->operation);
                free(n->stream);
                return -ENOMEM;
        }
        /* A bucket of one token: calls are spaced evenly, so no one second
         * sees more than the share of the limit, not even after a quiet
         * spell (a bucket that had filled would let a pass's first calls
         * take the whole limit, leaving other clients of the account none). */
        r = pacer_new(http_client_get_event(c->http), name, rate * c->fraction, 1, &n->pacer);
        if (r < 0) {
                free(n->operation);
                free(n->stream);
                return r;
        }
        c->n_pacers++;
        *ret = n->pacer;
        return 0;
}

/* ---- one call ---------------------------------------------------------- */

static void call_free(struct kinesis_call *call) {
        struct kinesis_client *c = call->client;

        call->req = http_request_cancel(call->req);
        call->wait = creds_wait_cancel(call->wait);
        aws_credentials_done(&call->creds);
        if (call->prev)
                call->prev->next = call->next;
        else
                c->calls = call->next;
        if (call->next)
                call->next->prev = call->prev;
        kinesis_stream_entries_free(call->streams, call->page_kind == PAGE_STREAMS ? call->n : 0);
        kinesis_tags_free(call->tags, call->page_kind == PAGE_TAGS ? call->n : 0);
        kinesis_consumers_free(call->consumers, call->page_kind == PAGE_CONSUMERS ? call->n : 0);
        free(call->operation);
        free(call->stream_name);
        free(call->target);
        free(call->log_name);
        free(call->body);
        free(call->page_token);
        free(call->arn);
        free(call);
}

struct kinesis_call *kinesis_call_cancel(struct kinesis_call *call) {
        if (call && !call->in_callback)
                call_free(call);
        return NULL;
}

void kinesis_call_set_gate(struct kinesis_call *call, kinesis_gate_t gate, void *userdata) {
        call->gate = gate;
        call->gate_userdata = userdata;
}

static void on_creds(int error, const struct aws_credentials *cr, void *userdata) {
        struct kinesis_call *call = userdata;

        call->wait = NULL;
        call->creds_failed = error < 0;
        if (error >= 0 && aws_credentials_copy(cr, &call->creds) >= 0)
                call->have_creds = true;
        else if (error >= 0)
                error = -ENOMEM;
        http_request_resume(call->req, error);
}

static int call_prepare(struct http_request *req, void *userdata) {
        struct kinesis_call *call = userdata;
        struct kinesis_client *c = call->client;
        const struct aws_credentials *cr = NULL;
        struct sigv4_result sig = {};
        int r;

        if (call->gate && !call->gate(call->gate_userdata))
                return -ECANCELED;
        if (call->have_creds)
                cr = &call->creds;
        else {
                r = creds_get(c->creds, &cr);
                if (r == -EAGAIN) {
                        r = creds_request(c->creds, on_creds, call, &call->wait);
                        return r < 0 ? r : 1;
                }
                if (r < 0) {
                        call->creds_failed = true;
                        return r;
                }
        }

        const struct sigv4_header headers[] = {
                { "Host", c->host },
                { "Content-Type", KINESIS_CONTENT_TYPE },
                { "X-Amz-Target", call->target },
        };
        const struct sigv4_request s = {
                .method = "POST",
                .path = c->path,
                .headers = headers,
                .n_headers = ELEMENTSOF(headers),
                .body = call->body,
                .body_len = call->body_len,
                .region = c->region,
                .service = "kinesis",
                .access_key_id = cr->access_key_id,
                .secret_access_key = cr->secret_access_key,
                .session_token = cr->session_token,
                .now = time(NULL),
                .normalize_path = true,
                .double_encode_path = true,
                .key_cache = &c->key_cache,
        };
        r = sigv4_sign(&s, &sig);
        if (call->have_creds) {
                aws_credentials_done(&call->creds);
                call->have_creds = false;
        }
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(headers) && r >= 0; i++)
                r = http_request_add_header(req, headers[i].name, headers[i].value);
        if (r >= 0)
                r = http_request_add_signature(req, sig.amz_date, sig.authorization, sig.security_token);
        sigv4_result_done(&sig);
        return r < 0 ? r : 0;
}

static void call_done(struct http_request *req, const struct http_response *resp, void *userdata);

static int call_send(struct kinesis_call *call) {
        struct kinesis_client *c = call->client;
        struct pacer *pacer = NULL;
        int r;

        r = pacer_for(c, call->operation, call->stream_name, &pacer);
        if (r < 0)
                return r;
        struct http_request_params p = {
                .method = "POST",
                .url = c->endpoint,
                .body = call->body,
                .body_len = call->body_len,
                .pacer = pacer,
                .expect_json = true,
                .log_name = call->log_name,
                .sent_counter = &c->counters.sent,
                .prepare = call_prepare,
                .done = call_done,
                .userdata = call,
        };
        return http_request_start(c->http, &p, &call->req);
}

static bool error_means_bad_credentials(const char *type) {
        return type && (streq(type, "ExpiredTokenException") || streq(type, "ExpiredToken") ||
                        streq(type, "UnrecognizedClientException") ||
                        streq(type, "InvalidClientTokenId") ||
                        /* "Signature expired": signed too long ago (a stalled
                         * attempt) or with a skewed clock; a fresh signature
                         * fixes the former, and the retry is made only once. */
                        streq(type, "InvalidSignatureException"));
}

static void page_done(struct kinesis_call *call, const struct kinesis_result *r);

static void call_done(struct http_request *req, const struct http_response *resp, void *userdata) {
        struct kinesis_call *call = userdata;
        struct kinesis_client *c = call->client;
        struct kinesis_result res = {
                .error = resp->error,
                .http_status = resp->status,
                .error_type = resp->error_code,
                .error_message = resp->error_message,
                .error_text = resp->error_text,
                .request_id = resp->request_id,
                .body = resp->json,
                .operation = call->operation,
                .stream_name = call->stream_name,
                .attempts = resp->attempts,
        };

        call->req = NULL;
        /* Not a bare errno: what the credential chain tried and what failed. */
        if (res.error < 0 && call->creds_failed && creds_error_text(c->creds))
                res.error_text = creds_error_text(c->creds);
        c->counters.attempts += resp->attempts;
        c->counters.retries += resp->attempts > 0 ? resp->attempts - 1 : 0;
        c->counters.throttles += resp->throttles;

        /* An error status without a code is still an error. */
        if (res.error == 0 && !(res.http_status >= 200 && res.http_status < 300) && !res.error_type)
                res.error_type = res.http_status >= 500 ? "InternalFailure" : "UnknownError";

        if (res.error == 0 && error_means_bad_credentials(res.error_type) && !call->refreshed_creds) {
                /* Rotated or expired under us: fetch again and try once more. */
                log_debug("Kinesis %s: %s, refreshing credentials and retrying once.", call->operation,
                          res.error_type);
                call->refreshed_creds = true;
                creds_invalidate(c->creds);
                if (call_send(call) >= 0)
                        return;
        }

        log_debug("Kinesis %s%s%s: HTTP %ld%s%s after %u attempt(s), request id %s", call->operation,
                  call->stream_name ? " " : "", strempty(call->stream_name), res.http_status,
                  res.error_type ? " " : "", strempty(res.error_type), res.attempts,
                  strna(res.request_id));

        if (call->page_kind != PAGE_NONE) {
                page_done(call, &res);
                return;
        }
        c->counters.calls++;
        if (!kinesis_result_ok(&res))
                c->counters.errors++;
        call->in_callback = true;
        call->cb(c, &res, call->userdata);
        call_free(call);
}

/* prefix and s in a new string (a printf would cost more than the call's copying). */
static char *str_prefix(const char *prefix, const char *s) {
        size_t pl = strlen(prefix), sl = strlen(s);
        char *t = malloc(pl + sl + 1);

        if (t) {
                memcpy(t, prefix, pl);
                memcpy(t + pl, s, sl + 1);
        }
        return t;
}

static bool operation_valid(const char *op) {
        size_t n = op ? strlen(op) : 0;
        if (n == 0 || n > KINESIS_MAX_OPERATION_NAME)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalpha((unsigned char) op[i]))
                        return false;
        return true;
}

static int call_set_body(struct kinesis_call *call, json_object *request) {
        const char *s = json_object_to_json_string_ext(request, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        char *b;

        if (!s)
                return -ENOMEM;
        b = strdup(s);
        if (!b)
                return -ENOMEM;
        free(call->body);
        call->body = b;
        call->body_len = strlen(b);
        return 0;
}

static int call_new(struct kinesis_client *c, const char *operation, json_object *request,
                    const char *stream_name, struct kinesis_call **ret) {
        _cleanup_json_ json_object *req = request;
        struct kinesis_call *call;
        int r;

        if (!operation_valid(operation))
                return -EINVAL;
        if (!req) {
                req = json_object_new_object();
                if (!req)
                        return -ENOMEM;
        }
        call = calloc(1, sizeof *call);
        if (!call)
                return -ENOMEM;
        call->client = c;
        call->next = c->calls;
        if (c->calls)
                c->calls->prev = call;
        c->calls = call;
        call->operation = strdup(operation);
        call->stream_name = stream_name ? strdup(stream_name) : NULL;
        call->target = str_prefix(KINESIS_TARGET_PREFIX, operation);
        call->log_name = str_prefix("Kinesis.", operation);
        if (!call->operation || (stream_name && !call->stream_name) || !call->target || !call->log_name) {
                call_free(call);
                return -ENOMEM;
        }
        r = call_set_body(call, req);
        if (r < 0) {
                call_free(call);
                return r;
        }
        *ret = call;
        return 0;
}

int kinesis_call(struct kinesis_client *c, const char *operation, json_object *request,
                 const char *stream_name, kinesis_callback cb, void *userdata,
                 struct kinesis_call **ret) {
        struct kinesis_call *call;
        int r;

        if (!cb) {
                json_object_put(request);
                return -EINVAL;
        }
        r = call_new(c, operation, request, stream_name, &call);
        if (r < 0)
                return r;
        call->cb = cb;
        call->userdata = userdata;
        r = call_send(call);
        if (r < 0) {
                call_free(call);
                return r;
        }
        if (ret)
                *ret = call;
        return 0;
}

/* ---- paged listings ---------------------------------------------------- */

static void page_deliver(struct kinesis_call *call, const struct kinesis_result *r, bool ok) {
        struct kinesis_client *c = call->client;
        size_t n = ok ? call->n : 0;

        c->counters.calls++;
        if (!ok)
                c->counters.errors++;
        call->in_callback = true;
        switch (call->page_kind) {
        case PAGE_STREAMS: {
                struct kinesis_stream_entry *e = ok ? TAKE_PTR(call->streams) : NULL;
                ((kinesis_list_streams_cb) call->typed_cb)(c, r, e, n, call->userdata);
                break;
        }
        case PAGE_TAGS: {
                struct stream_tag *t = ok ? TAKE_PTR(call->tags) : NULL;
                ((kinesis_list_tags_cb) call->typed_cb)(c, r, t, n, call->userdata);
                break;
        }
        case PAGE_CONSUMERS: {
                struct stream_consumer_obs *cs = ok ? TAKE_PTR(call->consumers) : NULL;
                ((kinesis_list_consumers_cb) call->typed_cb)(c, r, cs, n, call->userdata);
                break;
        }
        default:
                break;
        }
        if (ok)
                call->n = 0;
        call_free(call);
}

static json_object *page_request(struct kinesis_call *call) {
        switch (call->page_kind) {
        case PAGE_STREAMS:
                /* NextToken when the service gave one; older answers page by name. */
                if (call->page_token && strncmp(call->page_token, NAME_TOKEN, strlen(NAME_TOKEN)) == 0)
                        return kinesis_req_list_streams(call->limit, NULL, call->page_token + strlen(NAME_TOKEN));
                return kinesis_req_list_streams(call->limit, call->page_token, NULL);
        case PAGE_TAGS:
                return kinesis_req_list_tags(call->stream_name, call->limit, call->page_token);
        case PAGE_CONSUMERS:
                return kinesis_req_list_consumers(call->arn, call->limit, call->page_token);
        default:
                return NULL;
        }
}

static void page_done(struct kinesis_call *call, const struct kinesis_result *r) {
        _cleanup_free_ char *next = NULL;
        bool more = false;
        int k;

        if (!kinesis_result_ok(r)) {
                page_deliver(call, r, false);
                return;
        }
        switch (call->page_kind) {
        case PAGE_STREAMS:
                k = kinesis_parse_list_streams(r->body, &call->streams, &call->n, &more, &next);
                if (k >= 0 && more && !next && call->n > 0) {
                        /* Only names: continue after the last one. */
                        if (asprintf(&next, NAME_TOKEN "%s", call->streams[call->n - 1].name) < 0) {
                                next = NULL;
                                k = -ENOMEM;
                        }
                } else if (k >= 0 && next && strncmp(next, NAME_TOKEN, strlen(NAME_TOKEN)) == 0)
                        k = -EBADMSG; /* a token we would misread */
                break;
        case PAGE_TAGS:
                k = kinesis_parse_list_tags(r->body, &call->tags, &call->n, &more);
                if (k >= 0 && more && call->n > 0 && !(next = strdup(call->tags[call->n - 1].key)))
                        k = -ENOMEM;
                break;
        case PAGE_CONSUMERS:
                k = kinesis_parse_list_consumers(r->body, &call->consumers, &call->n, &next);
                more = next != NULL;
                break;
        default:
                k = -EINVAL;
        }
        if (k >= 0 && more && (!next || ++call->pages >= KINESIS_MAX_PAGES || call->n > KINESIS_MAX_LIST_ITEMS))
                k = -EBADMSG; /* a service that pages forever, or says "more" without a way on */
        if (k >= 0 && more && call->page_token && streq(call->page_token, next))
                k = -EBADMSG; /* the same page again */
        if (k < 0) {
                struct kinesis_result bad = *r;
                bad.error = k;
                bad.error_text = k == -ENOMEM ? "out of memory" : "malformed listing";
                page_deliver(call, &bad, false);
                return;
        }
        if (!more) {
                page_deliver(call, r, true);
                return;
        }
        free(call->page_token);
        call->page_token = TAKE_PTR(next);
        _cleanup_json_ json_object *req = page_request(call);
        if (!req || call_set_body(call, req) < 0 || call_send(call) < 0) {
                struct kinesis_result bad = *r;
                bad.error = -ENOMEM;
                page_deliver(call, &bad, false);
        }
}

static int paged_start(struct kinesis_client *c, const char *operation, enum page_kind kind,
                       const char *stream_name, const char *arn, unsigned limit, void *typed_cb,
                       void *userdata, struct kinesis_call **ret) {
        struct kinesis_call *call;
        int r;

        if (!typed_cb)
                return -EINVAL;
        r = call_new(c, operation, NULL, stream_name, &call);
        if (r < 0)
                return r;
        call->page_kind = kind;
        call->typed_cb = typed_cb;
        call->userdata = userdata;
        call->limit = limit;
        if (arn && !(call->arn = strdup(arn))) {
                call_free(call);
                return -ENOMEM;
        }
        _cleanup_json_ json_object *req = page_request(call);
        if (!req || (r = call_set_body(call, req)) < 0 || (r = call_send(call)) < 0) {
                call_free(call);
                return r < 0 ? r : -ENOMEM;
        }
        if (ret)
                *ret = call;
        return 0;
}

int kinesis_list_streams(struct kinesis_client *c, unsigned limit, kinesis_list_streams_cb cb,
                         void *userdata, struct kinesis_call **ret) {
        return paged_start(c, "ListStreams", PAGE_STREAMS, NULL, NULL, limit, (void *) cb, userdata, ret);
}

int kinesis_list_tags(struct kinesis_client *c, const char *stream_name, unsigned limit,
                      kinesis_list_tags_cb cb, void *userdata, struct kinesis_call **ret) {
        if (!stream_name)
                return -EINVAL;
        return paged_start(c, "ListTagsForStream", PAGE_TAGS, stream_name, NULL, limit, (void *) cb,
                           userdata, ret);
}

int kinesis_list_consumers(struct kinesis_client *c, const char *stream_name, const char *stream_arn,
                           unsigned limit, kinesis_list_consumers_cb cb, void *userdata,
                           struct kinesis_call **ret) {
        if (!stream_arn)
                return -EINVAL;
        return paged_start(c, "ListStreamConsumers", PAGE_CONSUMERS, stream_name, stream_arn, limit,
                           (void *) cb, userdata, ret);
}

