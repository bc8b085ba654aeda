/* Kinesis operations: JSON 1.1 requests, signing, pacing, response and error
 * parsing (see kinesis.h).
 *
 * Must never: log a header, a credential or a request body above debug; talk
 * to an endpoint http.c refuses; call back from within kinesis_call(). */
#include "kinesis.h"

#include <ctype.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>

#include "aws/endpoint.h"
#include "aws/pacer.h"
#include "aws/retry.h"
#include "aws/sigv4.h"
#include "json-util.h"
#include "aws/url.h"
#include "log.h"

#define KINESIS_TARGET_PREFIX "Kinesis_20131202."
#define KINESIS_CONTENT_TYPE "application/x-amz-json-1.1"
#define KINESIS_MAX_LIST_ITEMS 100000 /* across all pages of one listing */
#define KINESIS_MAX_PAGES 10000


/* ---- rates (DESIGN §6) ------------------------------------------------ */

static const struct {
        const char *operation;
        double rate;
        bool per_stream;
} op_rates[] = {
        { "CreateStream", 5, false },
        { "DeleteStream", 5, false },
        { "ListStreams", 5, false },
        { "AddTagsToStream", 5, false },
        { "DescribeStream", 10, false },
        { "DescribeStreamSummary", 20, false },
        { "IncreaseStreamRetentionPeriod", 5, true },
        { "DecreaseStreamRetentionPeriod", 5, true },
        { "EnableEnhancedMonitoring", 5, true },
        { "DisableEnhancedMonitoring", 5, true },
        { "ListTagsForStream", 5, true },
        { "RemoveTagsFromStream", 5, true },
        /* Not in DESIGN §6; AWS documents these as low-rate control calls. */
        { "UpdateShardCount", 5, false },
        { "UpdateStreamMode", 5, false },
        { "StartStreamEncryption", 5, true },
        { "StopStreamEncryption", 5, true },
        { "RegisterStreamConsumer", 5, false },
        { "DeregisterStreamConsumer", 5, false },
        { "DescribeStreamConsumer", 20, false },
        { "ListStreamConsumers", 5, true },
        { "UpdateMaxRecordSize", 5, false },
        { "DescribeLimits", 1, false },
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
        return 5;
}

bool kinesis_result_is_final(const struct kinesis_result *r) {
        return r->error == 0 && retry_classify(0, r->http_status, r->error_type, r->error_message) == RETRY_NO;
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
        char *operation, *stream_name, *target;
        char *body;
        size_t body_len;
        kinesis_callback cb;
        void *userdata;
        struct http_request *req;
        struct creds_wait *wait;
        struct aws_credentials creds; /* handed over by a creds callback, used once */
        bool have_creds;
        bool refreshed_creds;
        bool in_callback;

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
        c->fraction = o && o->rate_fraction > 0 && o->rate_fraction <= 1 ? o->rate_fraction : 0.8;
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

const char *kinesis_client_region(const struct kinesis_client *c) {
        return c->region;
}

const char *kinesis_client_endpoint(const struct kinesis_client *c) {
        return c->endpoint;
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
        r = pacer_new(http_client_get_event(c->http), name, rate * c->fraction, &n->pacer);
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

static void on_creds(int error, const struct aws_credentials *cr, void *userdata) {
        struct kinesis_call *call = userdata;

        call->wait = NULL;
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

        if (call->have_creds)
                cr = &call->creds;
        else {
                r = creds_get(c->creds, &cr);
                if (r == -EAGAIN) {
                        r = creds_request(c->creds, on_creds, call, &call->wait);
                        return r < 0 ? r : 1;
                }
                if (r < 0)
                        return r;
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
                r = http_request_add_header(req, "X-Amz-Date", sig.amz_date);
        if (r >= 0)
                r = http_request_add_header(req, "Authorization", sig.authorization);
        if (r >= 0 && sig.security_token)
                r = http_request_add_header(req, "X-Amz-Security-Token", sig.security_token);
        sigv4_result_done(&sig);
        return r < 0 ? r : 0;
}

static void call_done(struct http_request *req, const struct http_response *resp, void *userdata);

static int call_send(struct kinesis_call *call) {
        struct kinesis_client *c = call->client;
        struct pacer *pacer = NULL;
        _cleanup_free_ char *log_name = NULL;
        int r;

        r = pacer_for(c, call->operation, call->stream_name, &pacer);
        if (r < 0)
                return r;
        if (asprintf(&log_name, "Kinesis.%s", call->operation) < 0)
                return -ENOMEM;
        struct http_request_params p = {
                .method = "POST",
                .url = c->endpoint,
                .body = call->body,
                .body_len = call->body_len,
                .pacer = pacer,
                .expect_json = true,
                .log_name = log_name,
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
                .request_id = http_response_header(resp, "x-amzn-RequestId"),
                .body = resp->json,
                .operation = call->operation,
                .stream_name = call->stream_name,
                .attempts = resp->attempts,
        };

        call->req = NULL;
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

static bool operation_valid(const char *op) {
        size_t n = op ? strlen(op) : 0;
        if (n == 0 || n > 64)
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
        if (!call->operation || (stream_name && !call->stream_name) ||
            asprintf(&call->target, KINESIS_TARGET_PREFIX "%s", operation) < 0) {
                call->target = NULL;
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

void kinesis_stream_entries_free(struct kinesis_stream_entry *e, size_t n) {
        for (size_t i = 0; e && i < n; i++) {
                free(e[i].name);
                free(e[i].arn);
        }
        free(e);
}

void kinesis_tags_free(struct stream_tag *t, size_t n) {
        for (size_t i = 0; t && i < n; i++) {
                free(t[i].key);
                free(t[i].value);
        }
        free(t);
}

void kinesis_consumers_free(struct stream_consumer_obs *c, size_t n) {
        for (size_t i = 0; c && i < n; i++) {
                free(c[i].name);
                free(c[i].arn);
                free(c[i].status);
        }
        free(c);
}

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
                if (call->page_token && strncmp(call->page_token, "name:", 5) == 0)
                        return kinesis_req_list_streams(call->limit, NULL, call->page_token + 5);
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
                        if (asprintf(&next, "name:%s", call->streams[call->n - 1].name) < 0) {
                                next = NULL;
                                k = -ENOMEM;
                        }
                } else if (k >= 0 && next && strncmp(next, "name:", 5) == 0)
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

/* ---- request builders ---------------------------------------------------- */

static int add_str(json_object *o, const char *key, const char *v) {
        json_object *s;
        if (!v)
                return -EINVAL;
        s = json_object_new_string(v);
        if (!s)
                return -ENOMEM;
        return json_object_object_add(o, key, s) < 0 ? -ENOMEM : 0;
}

static int add_int(json_object *o, const char *key, int64_t v) {
        json_object *i = json_object_new_int64(v);
        if (!i)
                return -ENOMEM;
        return json_object_object_add(o, key, i) < 0 ? -ENOMEM : 0;
}

static json_object *obj_with(const char *key, const char *value) {
        json_object *o = json_object_new_object();
        if (o && add_str(o, key, value) < 0)
                o = (json_object_put(o), NULL);
        return o;
}

static json_object *finish(json_object *o, int r) {
        if (r < 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

static const char *mode_name(enum stream_mode m) {
        return m == STREAM_MODE_ON_DEMAND ? "ON_DEMAND" : "PROVISIONED";
}

static int add_tag_map(json_object *o, const char *key, const struct stream_tag *tags, size_t n) {
        json_object *m = json_object_new_object();
        int r = 0;
        if (!m)
                return -ENOMEM;
        for (size_t i = 0; i < n && r >= 0; i++)
                r = add_str(m, tags[i].key, tags[i].value ? tags[i].value : "");
        if (r < 0) {
                json_object_put(m);
                return r;
        }
        return json_object_object_add(o, key, m) < 0 ? -ENOMEM : 0;
}

json_object *kinesis_req_create_stream(const char *name, enum stream_mode mode, unsigned shards,
                                       const struct stream_tag *tags, size_t n_tags,
                                       unsigned max_record_size_kib) {
        json_object *o = obj_with("StreamName", name), *md;
        int r;

        if (!o)
                return NULL;
        if (mode == STREAM_MODE_PROVISIONED)
                r = add_int(o, "ShardCount", shards);
        else
                r = 0;
        md = obj_with("StreamMode", mode_name(mode));
        if (r >= 0)
                r = md && json_object_object_add(o, "StreamModeDetails", md) >= 0 ? 0 : -ENOMEM;
        if (r >= 0 && tags && n_tags > 0)
                r = add_tag_map(o, "Tags", tags, n_tags);
        if (r >= 0 && max_record_size_kib > 0)
                r = add_int(o, "MaxRecordSizeInKiB", max_record_size_kib);
        return finish(o, r);
}

json_object *kinesis_req_update_shard_count(const char *name, unsigned target) {
        json_object *o = obj_with("StreamName", name);
        int r;
        if (!o)
                return NULL;
        r = add_int(o, "TargetShardCount", target);
        if (r >= 0)
                r = add_str(o, "ScalingType", "UNIFORM_SCALING");
        return finish(o, r);
}

json_object *kinesis_req_update_stream_mode(const char *arn, enum stream_mode mode) {
        json_object *o = obj_with("StreamARN", arn), *md;
        if (!o)
                return NULL;
        md = obj_with("StreamMode", mode_name(mode));
        return finish(o, md && json_object_object_add(o, "StreamModeDetails", md) >= 0 ? 0 : -ENOMEM);
}

json_object *kinesis_req_retention(const char *name, unsigned hours) {
        json_object *o = obj_with("StreamName", name);
        return o ? finish(o, add_int(o, "RetentionPeriodHours", hours)) : NULL;
}

static json_object *encryption(const char *name, const char *kms_key) {
        json_object *o = obj_with("StreamName", name);
        int r;
        if (!o)
                return NULL;
        r = add_str(o, "EncryptionType", "KMS");
        if (r >= 0)
                r = add_str(o, "KeyId", kms_key);
        return finish(o, r);
}

json_object *kinesis_req_start_encryption(const char *name, const char *kms_key) {
        return encryption(name, kms_key);
}

json_object *kinesis_req_stop_encryption(const char *name, const char *kms_key) {
        return encryption(name, kms_key);
}

static const char *const metric_names[SHARD_METRIC_COUNT] = {
        "IncomingBytes",
        "IncomingRecords",
        "OutgoingBytes",
        "OutgoingRecords",
        "WriteProvisionedThroughputExceeded",
        "ReadProvisionedThroughputExceeded",
        "IteratorAgeMilliseconds",
};

json_object *kinesis_req_monitoring(const char *name, unsigned metrics) {
        json_object *o = obj_with("StreamName", name), *a;
        int r = 0;

        if (!o)
                return NULL;
        a = json_object_new_array();
        if (!a)
                return finish(o, -ENOMEM);
        if ((metrics & METRIC_ALL) == METRIC_ALL)
                r = json_object_array_add(a, json_object_new_string("ALL"));
        else
                for (unsigned i = 0; i < SHARD_METRIC_COUNT && r >= 0; i++)
                        if (metrics & (1u << i))
                                r = json_object_array_add(a, json_object_new_string(metric_names[i]));
        if (r < 0) {
                json_object_put(a);
                return finish(o, -ENOMEM);
        }
        return finish(o, json_object_object_add(o, "ShardLevelMetrics", a) < 0 ? -ENOMEM : 0);
}

json_object *kinesis_req_add_tags(const char *name, const struct stream_tag *tags, size_t n) {
        json_object *o = obj_with("StreamName", name);
        return o ? finish(o, add_tag_map(o, "Tags", tags, n)) : NULL;
}

json_object *kinesis_req_remove_tags(const char *name, const struct stream_tag *tags, size_t n) {
        json_object *o = obj_with("StreamName", name), *a;
        int r = 0;

        if (!o)
                return NULL;
        a = json_object_new_array();
        if (!a)
                return finish(o, -ENOMEM);
        for (size_t i = 0; i < n && r >= 0; i++)
                r = json_object_array_add(a, json_object_new_string(tags[i].key));
        if (r < 0) {
                json_object_put(a);
                return finish(o, -ENOMEM);
        }
        return finish(o, json_object_object_add(o, "TagKeys", a) < 0 ? -ENOMEM : 0);
}

json_object *kinesis_req_register_consumer(const char *arn, const char *consumer) {
        json_object *o = obj_with("StreamARN", arn);
        return o ? finish(o, add_str(o, "ConsumerName", consumer)) : NULL;
}

json_object *kinesis_req_describe_consumer(const char *arn, const char *consumer) {
        return kinesis_req_register_consumer(arn, consumer);
}

json_object *kinesis_req_update_max_record_size(const char *arn, unsigned kib) {
        json_object *o = obj_with("StreamARN", arn);
        return o ? finish(o, add_int(o, "MaxRecordSizeInKiB", kib)) : NULL;
}

json_object *kinesis_req_describe_stream_summary(const char *name) {
        return obj_with("StreamName", name);
}

json_object *kinesis_req_list_streams(unsigned limit, const char *next_token,
                                      const char *exclusive_start_name) {
        json_object *o = json_object_new_object();
        int r = 0;
        if (!o)
                return NULL;
        if (limit)
                r = add_int(o, "Limit", limit);
        /* NextToken cannot be combined with other parameters. */
        if (r >= 0 && next_token) {
                json_object_object_del(o, "Limit");
                r = add_str(o, "NextToken", next_token);
        } else if (r >= 0 && exclusive_start_name)
                r = add_str(o, "ExclusiveStartStreamName", exclusive_start_name);
        return finish(o, r);
}

json_object *kinesis_req_list_tags(const char *name, unsigned limit, const char *exclusive_start_key) {
        json_object *o = obj_with("StreamName", name);
        int r = 0;
        if (!o)
                return NULL;
        if (limit)
                r = add_int(o, "Limit", limit);
        if (r >= 0 && exclusive_start_key)
                r = add_str(o, "ExclusiveStartTagKey", exclusive_start_key);
        return finish(o, r);
}

json_object *kinesis_req_list_consumers(const char *arn, unsigned limit, const char *next_token) {
        json_object *o = obj_with("StreamARN", arn);
        int r = 0;
        if (!o)
                return NULL;
        if (limit)
                r = add_int(o, "MaxResults", limit);
        if (r >= 0 && next_token)
                r = add_str(o, "NextToken", next_token);
        return finish(o, r);
}

json_object *kinesis_req_describe_limits(void) {
        return json_object_new_object();
}

/* ---- response parsers ---------------------------------------------------- */

static json_object *get(const json_object *o, const char *key, json_type t) {
        json_object *v;
        if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v) ||
            !json_object_is_type(v, t))
                return NULL;
        return v;
}

static const char *get_str(const json_object *o, const char *key) {
        json_object *v = get(o, key, json_type_string);
        const char *s = v ? json_object_get_string(v) : NULL;
        /* Names, ARNs and tags are all far below this; longer is not an answer we trust. */
        return s && strlen(s) <= 4096 ? s : NULL;
}

static bool get_uint(const json_object *o, const char *key, unsigned *ret) {
        json_object *v = get(o, key, json_type_int);
        int64_t x;
        if (!v)
                return false;
        x = json_object_get_int64(v);
        if (x < 0 || x > UINT32_MAX)
                return false;
        *ret = (unsigned) x;
        return true;
}

static int dup_opt(const char *s, char **ret) {
        if (!s) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

static unsigned metric_bits(const json_object *summary) {
        json_object *em = get(summary, "EnhancedMonitoring", json_type_array);
        unsigned bits = 0;

        for (size_t i = 0; em && i < json_object_array_length(em) && i < 16; i++) {
                json_object *m = get(json_object_array_get_idx(em, i), "ShardLevelMetrics", json_type_array);
                for (size_t j = 0; m && j < json_object_array_length(m) && j < 64; j++) {
                        json_object *s = json_object_array_get_idx(m, j);
                        if (!json_object_is_type(s, json_type_string))
                                continue;
                        const char *name = json_object_get_string(s);
                        if (streq(name, "ALL"))
                                bits |= METRIC_ALL;
                        for (unsigned k = 0; k < SHARD_METRIC_COUNT; k++)
                                if (streq(name, metric_names[k]))
                                        bits |= 1u << k;
                }
        }
        return bits;
}

int kinesis_parse_stream_summary(const json_object *body, struct stream_obs *obs) {
        json_object *s = get(body, "StreamDescriptionSummary", json_type_object);
        const char *name, *arn, *status, *enc, *key, *mode = NULL;
        _cleanup_free_ char *n = NULL, *a = NULL, *k = NULL;
        unsigned shards = 0, retention = 0, maxrec = 0, consumers = 0;

        if (!s)
                return -EBADMSG;
        name = get_str(s, "StreamName");
        arn = get_str(s, "StreamARN");
        status = get_str(s, "StreamStatus");
        if (!name || !arn || !status)
                return -EBADMSG;
        (void) get_uint(s, "OpenShardCount", &shards);
        (void) get_uint(s, "RetentionPeriodHours", &retention);
        (void) get_uint(s, "MaxRecordSizeInKiB", &maxrec);
        (void) get_uint(s, "ConsumerCount", &consumers);
        enc = get_str(s, "EncryptionType");
        key = enc && streq(enc, "KMS") ? get_str(s, "KeyId") : NULL;
        mode = get_str(get(s, "StreamModeDetails", json_type_object), "StreamMode");
        if (dup_opt(name, &n) < 0 || dup_opt(arn, &a) < 0 || dup_opt(key, &k) < 0)
                return -ENOMEM;

        free(obs->name);
        free(obs->arn);
        free(obs->kms_key);
        obs->exists = true;
        obs->name = TAKE_PTR(n);
        obs->arn = TAKE_PTR(a);
        obs->kms_key = TAKE_PTR(k);
        obs->status = stream_status_from_string(status);
        obs->mode = mode && streq(mode, "ON_DEMAND") ? STREAM_MODE_ON_DEMAND : STREAM_MODE_PROVISIONED;
        obs->open_shards = shards;
        obs->retention_hours = retention;
        obs->metrics = metric_bits(s);
        obs->max_record_size_kib = maxrec;
        obs->consumer_count = consumers;
        return 0;
}

static int grow(void **p, size_t n, size_t size) {
        void *q;
        if (n >= KINESIS_MAX_LIST_ITEMS)
                return -EBADMSG;
        q = realloc(*p, (n + 1) * size);
        if (!q)
                return -ENOMEM;
        *p = q;
        return 0;
}

int kinesis_parse_list_streams(const json_object *body, struct kinesis_stream_entry **entries,
                               size_t *n, bool *ret_has_more, char **ret_next_token) {
        json_object *sums = get(body, "StreamSummaries", json_type_array);
        json_object *names = get(body, "StreamNames", json_type_array);
        json_object *more = get(body, "HasMoreStreams", json_type_boolean);
        const char *token = get_str(body, "NextToken");
        int r;

        if (!sums && !names)
                return -EBADMSG;
        if (sums)
                for (size_t i = 0; i < json_object_array_length(sums); i++) {
                        json_object *s = json_object_array_get_idx(sums, i);
                        const char *name = get_str(s, "StreamName");
                        if (!name)
                                return -EBADMSG;
                        r = grow((void **) entries, *n, sizeof **entries);
                        if (r < 0)
                                return r;
                        struct kinesis_stream_entry *e = &(*entries)[*n];
                        *e = (struct kinesis_stream_entry){ .has_summary = true };
                        const char *mode =
                                get_str(get(s, "StreamModeDetails", json_type_object), "StreamMode");
                        e->status = stream_status_from_string(get_str(s, "StreamStatus"));
                        e->mode = mode && streq(mode, "ON_DEMAND") ? STREAM_MODE_ON_DEMAND
                                                                   : STREAM_MODE_PROVISIONED;
                        if (dup_opt(name, &e->name) < 0 || dup_opt(get_str(s, "StreamARN"), &e->arn) < 0) {
                                free(e->name);
                                return -ENOMEM;
                        }
                        (*n)++;
                }
        else
                for (size_t i = 0; i < json_object_array_length(names); i++) {
                        json_object *s = json_object_array_get_idx(names, i);
                        if (!json_object_is_type(s, json_type_string) || json_object_get_string_len(s) > 4096)
                                return -EBADMSG;
                        r = grow((void **) entries, *n, sizeof **entries);
                        if (r < 0)
                                return r;
                        struct kinesis_stream_entry *e = &(*entries)[*n];
                        *e = (struct kinesis_stream_entry){};
                        e->name = strdup(json_object_get_string(s));
                        if (!e->name)
                                return -ENOMEM;
                        (*n)++;
                }
        if (ret_has_more)
                *ret_has_more = more && json_object_get_boolean(more);
        if (ret_next_token) {
                *ret_next_token = NULL;
                if (token && dup_opt(token, ret_next_token) < 0)
                        return -ENOMEM;
        }
        return 0;
}

int kinesis_parse_list_tags(const json_object *body, struct stream_tag **tags, size_t *n,
                            bool *ret_has_more) {
        json_object *a = get(body, "Tags", json_type_array);
        json_object *more = get(body, "HasMoreTags", json_type_boolean);
        int r;

        if (!a)
                return -EBADMSG;
        for (size_t i = 0; i < json_object_array_length(a); i++) {
                json_object *t = json_object_array_get_idx(a, i);
                const char *k = get_str(t, "Key"), *v = get_str(t, "Value");
                if (!k)
                        return -EBADMSG;
                r = grow((void **) tags, *n, sizeof **tags);
                if (r < 0)
                        return r;
                struct stream_tag *e = &(*tags)[*n];
                e->key = strdup(k);
                e->value = strdup(v ? v : "");
                if (!e->key || !e->value) {
                        free(e->key);
                        free(e->value);
                        return -ENOMEM;
                }
                (*n)++;
        }
        if (ret_has_more)
                *ret_has_more = more && json_object_get_boolean(more);
        return 0;
}

static int parse_consumer_obj(const json_object *o, struct stream_consumer_obs *ret) {
        const char *name = get_str(o, "ConsumerName"), *arn = get_str(o, "ConsumerARN");
        const char *status = get_str(o, "ConsumerStatus");
        struct stream_consumer_obs c = {};

        if (!name || !arn)
                return -EBADMSG;
        if (dup_opt(name, &c.name) < 0 || dup_opt(arn, &c.arn) < 0 || dup_opt(status, &c.status) < 0) {
                free(c.name);
                free(c.arn);
                free(c.status);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}

int kinesis_parse_list_consumers(const json_object *body, struct stream_consumer_obs **consumers,
                                 size_t *n, char **ret_next_token) {
        json_object *a = get(body, "Consumers", json_type_array);
        const char *token = get_str(body, "NextToken");
        int r;

        if (!a)
                return -EBADMSG;
        for (size_t i = 0; i < json_object_array_length(a); i++) {
                r = grow((void **) consumers, *n, sizeof **consumers);
                if (r < 0)
                        return r;
                r = parse_consumer_obj(json_object_array_get_idx(a, i), &(*consumers)[*n]);
                if (r < 0)
                        return r;
                (*n)++;
        }
        if (ret_next_token) {
                *ret_next_token = NULL;
                if (token && dup_opt(token, ret_next_token) < 0)
                        return -ENOMEM;
        }
        return 0;
}

int kinesis_parse_consumer(const json_object *body, struct stream_consumer_obs *ret) {
        json_object *o = get(body, "ConsumerDescription", json_type_object);
        if (!o)
                o = get(body, "Consumer", json_type_object);
        if (!o)
                return -EBADMSG;
        return parse_consumer_obj(o, ret);
}

int kinesis_parse_describe_limits(const json_object *body, struct kinesis_limits *ret) {
        struct kinesis_limits l = {};

        if (!get_uint(body, "ShardLimit", &l.shard_limit) ||
            !get_uint(body, "OpenShardCount", &l.open_shard_count))
                return -EBADMSG;
        (void) get_uint(body, "OnDemandStreamCount", &l.on_demand_stream_count);
        (void) get_uint(body, "OnDemandStreamCountLimit", &l.on_demand_stream_count_limit);
        *ret = l;
        return 0;
}
