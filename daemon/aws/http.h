/* HTTP for the AWS client: curl's multi-socket API driven by sd-event, and
 * the life of a request: pace (pacer.h), prepare (the caller signs), send,
 * classify (retry.h), back off and try again or deliver.
 *
 * One http_client owns one curl multi handle, so connections are kept alive
 * and reused across requests. Nothing here blocks, sleeps or starts a thread:
 * every wait (backoff, pacing, sockets, curl's timer) is an sd-event source.
 *
 * This module never logs a header value (request headers carry signatures
 * and session tokens), and above debug only an attempt that timed out (a
 * warning each: the request's caller hears nothing until the last one ends).
 * Every text of the answer it hands on (error code and message, request id,
 * error_text) is escaped (log_escape_dup()): fit for a log, a status line or
 * a file as it is. The pure parts live beside it:
 * url.h (which URLs), retry.h (which answers to retry, and when), pacer.h
 * (token buckets), aws-error.h (reading an AWS error answer). */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "util.h"

#define HTTP_MAX_BODY (1024 * 1024)    /* response bodies are capped at 1 MiB */
#define HTTP_MAX_HEADER_BYTES (32 * 1024)
/* Accuracy of our sd-event timers, in microseconds: sd-event's default (0)
 * lets a timer fire up to 250 ms late, which would dominate every call. */
#define HTTP_TIMER_ACCURACY 1

/* curl_global_init()/cleanup(): call once from main(), before any client
 * exists and after the last one is freed. Returns 0 or -EIO. */
int http_global_init(void);
void http_global_cleanup(void);

/* ---- pure helpers ---------------------------------------------------- */

/* ---- the client ------------------------------------------------------ */

struct http_client_options {
        const char *ca_bundle;          /* NULL: curl's default CA store */
        uint64_t connect_timeout_usec;  /* until a connection is up; default 5 s */
        uint64_t timeout_usec;          /* whole attempt; default 30 s. Once an answer begins it
                                           must also keep coming at 1 KiB/s on average after 5 s */
        unsigned max_attempts;          /* default 5 (first try + 4 retries) */
        long max_host_connections;      /* default 4 */
        uint64_t backoff_base_usec;     /* default 100 ms */
        uint64_t backoff_cap_usec;      /* default 20 s */
        unsigned retry_quota;           /* default RETRY_QUOTA_INITIAL */
        uint64_t rng_seed;              /* 0: from getrandom() */
        const char *user_agent;         /* default "kinesisd" */
};
void http_client_options_default(struct http_client_options *o);

struct http_client;
struct http_request;
struct pacer;

struct http_client_stats {
        uint64_t requests;      /* requests finished (delivered) */
        uint64_t attempts;      /* transfers started */
        uint64_t sent;          /* requests put on the wire: attempts, and the resends curl
                                   makes by itself when a kept-alive connection turns out
                                   closed before any answer */
        uint64_t retries;
        uint64_t throttles;     /* attempts answered with a throttling error */
        uint64_t sockets_opened;
        unsigned retry_quota_available;
};

int http_client_new(sd_event *e, const struct http_client_options *o, struct http_client **ret);
/* Verify TLS with this CA bundle (NULL: curl's default store) from the next
 * request on. A connection verified with another bundle is not reused.
 * Returns 1 if it changed, 0 if not, -ENOMEM. */
int http_client_set_ca_bundle(struct http_client *c, const char *ca_bundle);
/* Cancels every request still pending (their done callbacks are not called).
 * Free it last: kinesis clients and the creds provider hold requests and
 * pacers of this client (teardown order: kinesis_client_free() for each,
 * creds_provider_free(), http_client_free(), then sd_event_unref()). */
struct http_client *http_client_free(struct http_client *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct http_client *, http_client_free);
void http_client_get_stats(const struct http_client *c, struct http_client_stats *ret);
sd_event *http_client_get_event(struct http_client *c);

/* What a finished request delivers. Everything is borrowed for the duration
 * of the done callback only. */
struct http_response {
        int error;                 /* 0, or the transport error of the last attempt
                                      (-ETIMEDOUT, -ECONNREFUSED, -ECONNRESET, -EHOSTUNREACH,
                                      -EFBIG, -EBADMSG, -EKEYREJECTED, ...), or a prepare error */
        const char *error_text;    /* what went wrong, when error < 0 with the attempts and the
                                      time they took ("no answer from URL in 30 s (5 attempts
                                      in 151 s)"), or curl's text; or NULL */
        const char *request_id;    /* x-amzn-RequestId, or NULL */
        long status;               /* HTTP status of the last attempt, 0 if none */
        const char *body;          /* NUL-terminated; "" when empty */
        size_t body_len;
        json_object *json;         /* the body parsed (with expect_json), or NULL */
        const char *error_code;    /* AWS error code (normalized) when status >= 300, or NULL */
                                   /* error_code, error_message, request_id: escaped */
        const char *error_message;
        unsigned attempts;
        unsigned throttles;        /* attempts answered with a throttling error */
        const struct http_request *request;
};
/* A response header by name (case-insensitive), value trimmed, or NULL. */
const char *http_response_header(const struct http_response *resp, const char *name);

/* Called before every attempt, after pacing: add this attempt's headers with
 * http_request_add_header() (those of a previous attempt are gone). Return 0
 * to send now, 1 if not ready yet (call http_request_resume() later: prepare
 * then runs again), or a negative errno to fail the request with it. */
typedef int (*http_prepare_t)(struct http_request *r, void *userdata);
/* Called once with the final answer. The request is freed right after it
 * returns; do not cancel it from here. */
typedef void (*http_done_t)(struct http_request *r, const struct http_response *resp,
                            void *userdata);
/* Reads the error code and message of an answer that is not JSON (STS's
 * XML), both escaped as aws_error_parse() does; either may be NULL. Returns
 * 0 or -ENOMEM. */
typedef int (*http_error_parser_t)(const char *body, size_t len, char **ret_code, char **ret_message);

struct http_request_params {
        const char *method;             /* "GET", "POST", "PUT" */
        const char *url;
        const void *body;               /* copied; may be NULL */
        size_t body_len;
        struct pacer *pacer;            /* referenced; may be NULL */
        unsigned max_attempts;          /* 0: the client's */
        uint64_t timeout_usec;          /* 0: the client's */
        uint64_t connect_timeout_usec;  /* 0: the client's */
        bool expect_json;               /* a 2xx body must be empty or JSON, else retried */
        bool allow_link_local;          /* see url_check() */
        bool no_proxy;                  /* never through a proxy (credential endpoints) */
        bool quiet;                     /* a probe that is expected to fail off its platform
                                           (instance metadata): timeouts logged at debug */
        const char *log_name;           /* for debug logs, e.g. "Kinesis.ListStreams" */
        uint64_t *sent_counter;         /* may be NULL; else incremented each time the request
                                           goes on the wire (as http_client_stats.sent), also
                                           when it is cancelled later: must outlive the request */
        http_error_parser_t parse_error; /* NULL: the JSON protocol's errors (aws_error_parse()) */
        http_prepare_t prepare;         /* may be NULL */
        http_done_t done;
        void *userdata;
};

/* Validates the URL (url_check()) before anything touches the network,
 * then starts the request from the event loop: done is never called from
 * within this function. Returns 0 and the request (owned by the client until
 * done or http_request_cancel()), -EPERM/-EPROTONOSUPPORT/-EINVAL for a
 * refused URL, -ENOMEM. */
int http_request_start(struct http_client *c, const struct http_request_params *p,
                       struct http_request **ret);
/* From prepare only: add a header for this attempt. */
int http_request_add_header(struct http_request *r, const char *name, const char *value);
/* From prepare only: the headers of a SigV4 signature (sigv4.h's result):
 * X-Amz-Date, Authorization and, when there is one, X-Amz-Security-Token. */
int http_request_add_signature(struct http_request *r, const char *amz_date, const char *authorization,
                               const char *security_token);
/* Prepare returned 1: try it again now (error < 0 fails the request instead). */
void http_request_resume(struct http_request *r, int error);
/* Abort and free; done is not called. NULL is fine. Returns NULL. */
struct http_request *http_request_cancel(struct http_request *r);
