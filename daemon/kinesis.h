/* Kinesis Data Streams operations over the JSON 1.1 protocol (DESIGN §5).
 *
 * A kinesis_client talks to one region: its endpoint, and its pacers (one
 * token bucket per API at DESIGN §6 rates times a fraction; per-(API, stream)
 * buckets for the APIs AWS limits per stream). Clients share one
 * http_client (connections, retry quota) and one creds_provider.
 *
 * kinesis_call() is asynchronous and single-threaded: the callback runs from
 * the sd-event loop, never from within kinesis_call(). Every attempt is
 * paced, then signed afresh (new date, current credentials), then sent;
 * throttling and transient errors are retried by http.c. After
 * ExpiredTokenException, UnrecognizedClientException or
 * InvalidSignatureException the credentials are dropped and the call is
 * made once more with fresh ones.
 *
 * The bodies of requests are built by kinesis-request.h, answers parsed by
 * kinesis-response.h; both are pure and never log. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "kinesis-request.h" /* for callers: the bodies kinesis_call() takes */
#include "kinesis-response.h"
#include "stream.h"
#include "util.h"

struct creds_provider;
struct http_client;

struct kinesis_client;
struct kinesis_call;

struct kinesis_result {
        int error;                 /* 0: an answer arrived (see http_status/error_type);
                                      <0: no answer after retries (-ETIMEDOUT, -ECONNREFUSED,
                                      ...) or no credentials (-ENOKEY, -ENOENT, ...) */
        long http_status;          /* 0 without an answer */
        const char *error_type;    /* "ResourceNotFoundException", ...; NULL on success */
        const char *error_message; /* may be NULL */
        const char *error_text;    /* transport error description, or NULL */
        const char *request_id;    /* x-amzn-RequestId, or NULL */
                                   /* error_type, error_message, error_text and request_id come
                                      escaped (http.h): put them in any message as they are */
        json_object *body;         /* parsed response body (borrowed), NULL if empty */
        const char *operation;
        const char *stream_name;   /* as given to kinesis_call(), may be NULL */
        unsigned attempts;
};

/* Success: no transport error and a 2xx answer. */
static inline bool kinesis_result_ok(const struct kinesis_result *r) {
        return r->error == 0 && r->http_status >= 200 && r->http_status < 300;
}

/* An answer no retry would change: success, or a refusal (access, quota,
 * invalid request). Not a transport failure, nor an answer the HTTP layer
 * retries (throttling, 5xx) that used up its attempts: that is an outage. */
bool kinesis_result_is_final(const struct kinesis_result *r);
/* The endpoint does not know the operation: UnknownOperationException (AWS,
 * and the peers that follow it), or the AccessDeniedException "Unable to
 * determine service/operation name to be authorized" some answer instead. */
bool kinesis_result_is_unknown_operation(const struct kinesis_result *r);

typedef void (*kinesis_callback)(struct kinesis_client *c, const struct kinesis_result *r,
                                 void *userdata);

struct kinesis_counters {
        uint64_t calls;      /* kinesis_call()s finished (delivered) */
        uint64_t attempts;   /* HTTP attempts of the calls delivered */
        uint64_t sent;       /* requests put on the wire, as the server sees them: every
                                attempt (of calls cancelled later too) and every resend the
                                HTTP library made by itself on a new connection */
        uint64_t errors;     /* calls delivered with an AWS error or a transport error */
        uint64_t throttles;  /* attempts answered with a throttling error */
        uint64_t retries;    /* attempts after the first */
};

/* The share of DESIGN §6 rates a client uses unless told otherwise (the
 * daemon always tells: reconcile.api_share). */
#define KINESIS_RATE_FRACTION_DEFAULT 0.8

struct kinesis_options {
        double rate_fraction;        /* of DESIGN §6 rates; default KINESIS_RATE_FRACTION_DEFAULT */
};

/* ---- the client ------------------------------------------------------ */

int kinesis_client_new(struct http_client *http, struct creds_provider *creds, const char *region,
                       const char *endpoint, const struct kinesis_options *o,
                       struct kinesis_client **ret);
/* Cancels every call still pending (no callbacks). */
struct kinesis_client *kinesis_client_free(struct kinesis_client *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct kinesis_client *, kinesis_client_free);
const struct kinesis_counters *kinesis_client_counters(const struct kinesis_client *c);

/* Start one operation. request is taken (freed whatever happens; NULL means
 * "{}"). stream_name is for pacing (per-stream limits) and logs; may be NULL.
 * *ret (may be NULL) is valid until the callback runs or the call is
 * cancelled. Returns 0, -EINVAL (unknown operation name characters),
 * -ENOMEM. */
int kinesis_call(struct kinesis_client *c, const char *operation, json_object *request,
                 const char *stream_name, kinesis_callback cb, void *userdata,
                 struct kinesis_call **ret);
/* No callback afterwards. NULL is fine. Returns NULL. Not from within the
 * call's own callback. */
struct kinesis_call *kinesis_call_cancel(struct kinesis_call *call);
/* Asked each time an attempt of the call has waited its turn in the pacer
 * and is about to go out: false withdraws it, and the callback gets error
 * -ECANCELED with that attempt unsent (an earlier attempt of the call, one
 * retried after a 5xx, was sent). For a change that must not be made any
 * more once its turn comes (a creation while the account is full). */
typedef bool (*kinesis_gate_t)(void *userdata);
void kinesis_call_set_gate(struct kinesis_call *call, kinesis_gate_t gate, void *userdata);

/* The pacing rate (requests/s, before the fraction) DESIGN §6 gives an
 * operation, and whether AWS counts it per stream. Unknown operations: 5, false. */
double kinesis_operation_rate(const char *operation, bool *ret_per_stream);

/* ---- paged listings: every page, one callback ------------------------- */

/* On success r->error == 0 and r->http_status 2xx; the arrays are the
 * callee's (free with the *_free helpers). On failure (of any page) they are
 * NULL and r describes the failing page. limit 0: AWS's default page size. */
typedef void (*kinesis_list_streams_cb)(struct kinesis_client *c, const struct kinesis_result *r,
                                        struct kinesis_stream_entry *entries, size_t n, void *userdata);
int kinesis_list_streams(struct kinesis_client *c, unsigned limit, kinesis_list_streams_cb cb,
                         void *userdata, struct kinesis_call **ret);

typedef void (*kinesis_list_tags_cb)(struct kinesis_client *c, const struct kinesis_result *r,
                                     struct stream_tag *tags, size_t n, void *userdata);
int kinesis_list_tags(struct kinesis_client *c, const char *stream_name, unsigned limit,
                      kinesis_list_tags_cb cb, void *userdata, struct kinesis_call **ret);

typedef void (*kinesis_list_consumers_cb)(struct kinesis_client *c, const struct kinesis_result *r,
                                          struct stream_consumer_obs *consumers, size_t n,
                                          void *userdata);
int kinesis_list_consumers(struct kinesis_client *c, const char *stream_name, const char *stream_arn,
                           unsigned limit, kinesis_list_consumers_cb cb, void *userdata,
                           struct kinesis_call **ret);
