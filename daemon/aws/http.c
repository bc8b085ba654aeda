/* HTTP for the AWS client: curl multi-socket on sd-event, and the life of a
 * request. What to retry and how long to wait is retry.c's, pacing is
 * pacer.c's, which URLs are allowed is url.c's, reading an error is
 * aws-error.c's: this file only drives them.
 *
 * A request goes through the same cycle for every attempt:
 *     pace (wait for a token) -> prepare (caller signs) -> send -> classify
 * and a retryable answer goes back to the start after a full-jitter backoff,
 * so each retry is re-signed and counted against the API's rate like any call.
 *
 * Must never: block, sleep, start threads, disable TLS verification, speak
 * plain http to a host that is not loopback (link-local credential endpoints
 * only when asked), log a header value or a body above debug, or hand on
 * text from the network unescaped: the error code and message, the request
 * id and curl's text reach a caller escaped (log_escape_dup()), once.
 *
 * It logs one thing above debug: an attempt that timed out, as a warning,
 * since the caller hears nothing until the last attempt ends. */
#include "aws/http.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <stdio.h>
#include <strings.h>
#include <sys/epoll.h>
#include <time.h>

#include "aws/aws-error.h"
#include "aws/pacer.h"
#include "aws/retry.h"
#include "aws/url.h"
#include "buf.h"
#include "log.h"

_Static_assert(HTTP_MAX_BODY <= AWS_JSON_MAX, "every body the client keeps can be parsed");

/* Easy handles kept for reuse between attempts. */
#define HTTP_SPARE_HANDLES 8
/* Connections kept open in all: this many times the per-host limit. */
#define HTTP_MAXCONNECTS_FACTOR 4
/* Calls to prepare() that say "not yet" before the request fails with -ELOOP. */
#define HTTP_MAX_PREPARE_CALLS 1000
/* An answer that has begun must keep coming at this many bytes a second on
 * average, judged after HTTP_LOW_SPEED_USEC: a server that trickles does not
 * hold an attempt for its whole timeout. The wait for the first byte is the
 * timeout's alone (curl's own low-speed limit would cut that short too). */
#define HTTP_LOW_SPEED_BYTES 1024
#define HTTP_LOW_SPEED_USEC (5 * USEC_PER_SEC)
/* Foreign text handed on: at most this many characters of curl's text or a request id. */
#define HTTP_TEXT_MAX 512
/* A URL in a message: at most this many characters. */
#define HTTP_URL_LOG_MAX 256

int http_global_init(void) {
        return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -EIO;
}

void http_global_cleanup(void) {
        curl_global_cleanup();
}

/* ---- the client ------------------------------------------------------ */

struct sock_ctx {
        struct http_client *client;
        curl_socket_t fd;
        sd_event_source *source;
        struct sock_ctx *next, *prev;
};

struct http_client {
        sd_event *event;
        CURLM *multi;
        sd_event_source *timer;
        struct http_client_options opts;
        char *ca_bundle;
        char *user_agent;
        struct retry_quota quota;
        uint64_t rng;
        struct sock_ctx *socks;
        struct http_request *requests; /* every live request */
        struct http_client_stats stats;
        /* Easy handles of finished attempts, reset for the next one: creating
         * and freeing one per request was a good part of each call's cost. */
        CURL *spare[HTTP_SPARE_HANDLES];
        size_t n_spare;
        json_tokener *tok; /* for every answer, reset between them */
        /* The verdict on the last URL started (url_check() and whether it
         * is loopback are functions of the string alone): a client asks
         * one endpoint over and over, and parsing it was ~10k instructions
         * per request. */
        struct {
                char *url;
                bool allow_link_local;
                int check;
                bool loopback;
        } last_url;
};

enum request_phase {
        PHASE_KICK,     /* waiting for the loop to start the attempt (or to resume) */
        PHASE_BACKOFF,
        PHASE_PACING,
        PHASE_PREPARING,
        PHASE_SENDING,
};

struct http_request {
        struct http_client *client;
        struct http_request *next, *prev;          /* client->requests */
        struct pacer *pacer;
        struct pacer_waiter pace_wait;
        enum request_phase phase;
        bool resume_prepare;                        /* PHASE_KICK: go straight to prepare */
        int resume_error;
        bool in_done;

        char *method, *url, *log_name;
        char *log_url;           /* scheme://host[:port]/path, escaped: no user information;
                                  * made when a message first needs it (request_log_url()) */
        void *body;
        size_t body_len;
        unsigned max_attempts;
        uint64_t timeout_usec, connect_timeout_usec;
        bool expect_json, no_proxy, quiet;
        http_error_parser_t parse_error;
        uint64_t *sent_counter;
        http_prepare_t prepare;
        http_done_t done;
        void *userdata;

        sd_event_source *timer;
        CURL *easy;
        struct curl_slist *headers;
        unsigned n_prepare_calls;

        unsigned attempt;        /* attempts started */
        unsigned throttles;
        unsigned last_retry_cost;
        uint64_t first_sent_usec; /* the first attempt's start */
        uint64_t sent_usec;       /* this attempt's start */
        uint64_t answer_began_usec; /* this attempt's first byte of an answer, 0: none yet */
        uint64_t answer_bytes;
        bool too_slow;
        bool headers_done;       /* this attempt's answer reached the end of its headers */
        bool headers_too_big;    /* ... or went past HTTP_MAX_HEADER_BYTES before it */

        /* The last attempt's outcome. */
        struct buf resp_body, resp_headers;
        long status;
        int transport_error;
        /* curl's text, and room for what note_verification() adds. */
        char curl_error[CURL_ERROR_SIZE + 512];
        json_object *json;
        char *err_code, *err_message; /* escaped (aws_error_parse()) */
        char *request_id;             /* escaped */
        char *error_text;             /* escaped, for the response */
};

void http_client_options_default(struct http_client_options *o) {
        *o = (struct http_client_options){
                .connect_timeout_usec = 5 * USEC_PER_SEC,
                .timeout_usec = 30 * USEC_PER_SEC,
                .max_attempts = 5,
                .max_host_connections = 4,
                .backoff_base_usec = 100 * USEC_PER_MSEC,
                .backoff_cap_usec = 20 * USEC_PER_SEC,
                .retry_quota = RETRY_QUOTA_INITIAL,
        };
}

static void client_check_completions(struct http_client *c);
static void request_finish(struct http_request *r, int error);
static void request_pace(struct http_request *r);
static void request_prepare(struct http_request *r);

static uint64_t now_usec(struct http_client *c) {
        uint64_t t = 0;
        if (sd_event_now(c->event, CLOCK_MONOTONIC, &t) < 0) {
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                t = (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
        }
        return t;
}

static void sock_ctx_free(struct sock_ctx *s) {
        if (!s)
                return;
        sd_event_source_disable_unref(s->source);
        if (s->prev)
                s->prev->next = s->next;
        else
                s->client->socks = s->next;
        if (s->next)
                s->next->prev = s->prev;
        free(s);
}

static int on_socket_io(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        struct http_client *c = userdata;
        int action = 0, running = 0;

        if (revents & (EPOLLIN | EPOLLHUP))
                action |= CURL_CSELECT_IN;
        if (revents & EPOLLOUT)
                action |= CURL_CSELECT_OUT;
        if (revents & EPOLLERR)
                action |= CURL_CSELECT_ERR;
        (void) curl_multi_socket_action(c->multi, fd, action, &running);
        client_check_completions(c);
        return 0;
}

static int curl_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
        struct http_client *c = userp;
        struct sock_ctx *s = socketp;
        uint32_t events;
        int r;

        if (what == CURL_POLL_REMOVE) {
                if (s) {
                        sock_ctx_free(s);
                        (void) curl_multi_assign(c->multi, fd, NULL);
                }
                return 0;
        }
        events = (what == CURL_POLL_IN ? EPOLLIN : 0) | (what == CURL_POLL_OUT ? EPOLLOUT : 0) |
                 (what == CURL_POLL_INOUT ? EPOLLIN | EPOLLOUT : 0);
        if (s) {
                r = sd_event_source_set_io_events(s->source, events);
                if (r < 0)
                        return -1;
                return 0;
        }
        /* A stale entry for a number curl reuses would make epoll say EEXIST. */
        for (struct sock_ctx *i = c->socks; i; i = i->next)
                if (i->fd == fd) {
                        sock_ctx_free(i);
                        break;
                }
        s = calloc(1, sizeof *s);
        if (!s)
                return -1;
        s->client = c;
        s->fd = fd;
        r = sd_event_add_io(c->event, &s->source, fd, events, on_socket_io, c);
        if (r < 0) {
                free(s);
                log_debug_errno(r, "HTTP: cannot watch socket %d: %m", fd);
                return -1;
        }
        (void) sd_event_source_set_description(s->source, "http-socket");
        s->next = c->socks;
        if (c->socks)
                c->socks->prev = s;
        c->socks = s;
        (void) curl_multi_assign(c->multi, fd, s);
        return 0;
}

/* Let curl do what is due: start what was added, handle what timed out. */
static void client_run_timeout(struct http_client *c) {
        int running = 0;

        (void) curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        client_check_completions(c);
}

/* curl's timer is one source, always enabled, at USEC_INFINITY while curl
 * wants no timeout: curl moves it several times per request, and turning a
 * source on and off costs sd-event several times what moving it does. */
static int on_curl_timer(sd_event_source *src, uint64_t usec, void *userdata) {
        struct http_client *c = userdata;

        /* As a one-shot timer would: off until curl asks again (from within
         * the call below, usually). */
        (void) sd_event_source_set_time(c->timer, USEC_INFINITY);
        client_run_timeout(c);
        return 0;
}

static int curl_timer_cb(CURLM *multi, long timeout_ms, void *userp) {
        struct http_client *c = userp;
        uint64_t when;

        /* 0 means "as soon as possible": from the loop, never from here. */
        when = timeout_ms < 0 ? USEC_INFINITY : now_usec(c) + (uint64_t) timeout_ms * USEC_PER_MSEC;
        return sd_event_source_set_time(c->timer, when) < 0 ? -1 : 0;
}

static curl_socket_t curl_opensocket_cb(void *userp, curlsocktype purpose,
                                        struct curl_sockaddr *addr) {
        struct http_client *c = userp;
        int fd = socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
        if (fd >= 0)
                c->stats.sockets_opened++;
        return fd >= 0 ? fd : CURL_SOCKET_BAD;
}

int http_client_set_ca_bundle(struct http_client *c, const char *ca_bundle) {
        char *copy = NULL;

        if (streq_ptr(c->ca_bundle, ca_bundle))
                return 0;
        if (ca_bundle && !(copy = strdup(ca_bundle)))
                return -ENOMEM;
        free(c->ca_bundle);
        c->ca_bundle = copy;
        c->opts.ca_bundle = copy;
        return 1;
}

int http_client_new(sd_event *e, const struct http_client_options *o, struct http_client **ret) {
        struct http_client *c;
        int r;

        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->event = sd_event_ref(e);
        if (o)
                c->opts = *o;
        else
                http_client_options_default(&c->opts);
        {
                struct http_client_options d;
                http_client_options_default(&d);
                if (!c->opts.connect_timeout_usec)
                        c->opts.connect_timeout_usec = d.connect_timeout_usec;
                if (!c->opts.timeout_usec)
                        c->opts.timeout_usec = d.timeout_usec;
                if (!c->opts.max_attempts)
                        c->opts.max_attempts = d.max_attempts;
                if (c->opts.max_host_connections <= 0)
                        c->opts.max_host_connections = d.max_host_connections;
                if (!c->opts.backoff_base_usec)
                        c->opts.backoff_base_usec = d.backoff_base_usec;
                if (!c->opts.backoff_cap_usec)
                        c->opts.backoff_cap_usec = d.backoff_cap_usec;
                if (!c->opts.retry_quota)
                        c->opts.retry_quota = d.retry_quota;
        }
        c->ca_bundle = c->opts.ca_bundle ? strdup(c->opts.ca_bundle) : NULL;
        c->user_agent = strdup(c->opts.user_agent ? c->opts.user_agent : "kinesisd");
        c->opts.ca_bundle = c->ca_bundle;
        c->opts.user_agent = c->user_agent;
        if ((o && o->ca_bundle && !c->ca_bundle) || !c->user_agent) {
                r = -ENOMEM;
                goto fail;
        }
        retry_quota_init(&c->quota, c->opts.retry_quota);
        c->rng = retry_rng_seed(c->opts.rng_seed);

        c->multi = curl_multi_init();
        if (!c->multi) {
                r = -ENOMEM;
                goto fail;
        }
        r = sd_event_add_time(e, &c->timer, CLOCK_MONOTONIC, USEC_INFINITY, HTTP_TIMER_ACCURACY, on_curl_timer, c);
        if (r < 0)
                goto fail;
        r = sd_event_source_set_enabled(c->timer, SD_EVENT_ON);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_description(c->timer, "http-curl-timer");

        if (curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, curl_socket_cb) != CURLM_OK ||
            curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c) != CURLM_OK ||
            curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb) != CURLM_OK ||
            curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c) != CURLM_OK ||
            curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                              c->opts.max_host_connections) != CURLM_OK ||
            curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS,
                              c->opts.max_host_connections * HTTP_MAXCONNECTS_FACTOR) != CURLM_OK ||
            curl_multi_setopt(c->multi, CURLMOPT_PIPELINING, (long) CURLPIPE_NOTHING) != CURLM_OK) {
                r = -EIO;
                goto fail;
        }
        *ret = c;
        return 0;
fail:
        http_client_free(c);
        return r;
}

static void request_free(struct http_request *r);

static CURL *easy_get(struct http_client *c) {
        return c->n_spare > 0 ? c->spare[--c->n_spare] : curl_easy_init();
}

/* Take e out of the multi handle and keep it for a later attempt (its
 * options are reset: every attempt sets all of its own). */
static void easy_put(struct http_client *c, CURL *e) {
        curl_multi_remove_handle(c->multi, e);
        if (c->n_spare < ELEMENTSOF(c->spare)) {
                curl_easy_reset(e);
                c->spare[c->n_spare++] = e;
        } else
                curl_easy_cleanup(e);
}

struct http_client *http_client_free(struct http_client *c) {
        if (!c)
                return NULL;
        while (c->requests)
                request_free(c->requests);
        while (c->n_spare > 0)
                curl_easy_cleanup(c->spare[--c->n_spare]);
        if (c->multi)
                curl_multi_cleanup(c->multi);
        while (c->socks)
                sock_ctx_free(c->socks);
        sd_event_source_disable_unref(c->timer);
        sd_event_unref(c->event);
        free(c->ca_bundle);
        free(c->user_agent);
        free(c->last_url.url);
        if (c->tok)
                json_tokener_free(c->tok);
        free(c);
        return NULL;
}

void http_client_get_stats(const struct http_client *c, struct http_client_stats *ret) {
        *ret = c->stats;
        ret->retry_quota_available = c->quota.available;
}

sd_event *http_client_get_event(struct http_client *c) {
        return c->event;
}

/* ---- requests -------------------------------------------------------- */

static void request_reset_attempt(struct http_request *r) {
        buf_done(&r->resp_body);
        buf_done(&r->resp_headers);
        r->status = 0;
        r->transport_error = 0;
        r->curl_error[0] = 0;
        json_object_put(r->json);
        r->json = NULL;
        r->err_code = mfree(r->err_code);
        r->err_message = mfree(r->err_message);
        r->request_id = mfree(r->request_id);
        r->error_text = mfree(r->error_text);
        r->answer_began_usec = 0;
        r->answer_bytes = 0;
        r->too_slow = false;
        r->headers_done = false;
        r->headers_too_big = false;
        curl_slist_free_all(r->headers);
        r->headers = NULL;
}

static void request_free(struct http_request *r) {
        struct http_client *c;

        if (!r)
                return;
        c = r->client;
        if (r->easy)
                easy_put(c, r->easy);
        if (r->pacer) {
                pacer_cancel(r->pacer, &r->pace_wait);
                pacer_unref(r->pacer);
        }
        sd_event_source_disable_unref(r->timer);
        request_reset_attempt(r);
        if (r->prev)
                r->prev->next = r->next;
        else
                c->requests = r->next;
        if (r->next)
                r->next->prev = r->prev;
        free(r->method);
        free(r->url);
        free(r->log_name);
        free(r->log_url);
        /* A request body may hold a secret (an SSO refresh token and client
         * secret, a web identity token): wiped, whatever it is. */
        if (r->body)
                explicit_bzero(r->body, r->body_len);
        free(r->body);
        free(r);
}

struct http_request *http_request_cancel(struct http_request *r) {
        if (r && !r->in_done)
                request_free(r);
        return NULL;
}

const char *http_response_header(const struct http_response *resp, const char *name) {
        const struct http_request *r = resp->request;
        size_t n = strlen(name);

        if (!r || !r->resp_headers.data)
                return NULL;
        /* Stored as "name: value\0" records. */
        for (const char *p = r->resp_headers.data; p < r->resp_headers.data + r->resp_headers.len;
             p += strlen(p) + 1)
                if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
                        const char *v = p + n + 1;
                        while (*v == ' ' || *v == '\t')
                                v++;
                        return v;
                }
        return NULL;
}

static int on_request_timer(sd_event_source *src, uint64_t usec, void *userdata);

/* The request's timer is made when first needed: most requests wait only in
 * their pacer's queue and never need one. */
static int arm_request_timer(struct http_request *r, uint64_t delay_usec) {
        uint64_t when = now_usec(r->client) + delay_usec;
        int k;

        if (!r->timer) {
                /* A new time source fires once (SD_EVENT_ONESHOT). */
                k = sd_event_add_time(r->client->event, &r->timer, CLOCK_MONOTONIC, when, HTTP_TIMER_ACCURACY,
                                      on_request_timer, r);
                if (k >= 0)
                        (void) sd_event_source_set_description(r->timer, "http-request");
                return k;
        }
        k = sd_event_source_set_time(r->timer, when);
        if (k >= 0)
                k = sd_event_source_set_enabled(r->timer, SD_EVENT_ONESHOT);
        return k;
}

static int on_request_timer(sd_event_source *src, uint64_t usec, void *userdata) {
        struct http_request *r = userdata;

        if (r->phase == PHASE_KICK && r->resume_prepare) {
                r->resume_prepare = false;
                if (r->resume_error < 0)
                        request_finish(r, r->resume_error);
                else
                        request_prepare(r);
        } else
                request_pace(r);
        return 0;
}

static void on_paced(void *userdata) {
        request_prepare(userdata);
}

static void request_pace(struct http_request *r) {
        r->phase = PHASE_PACING;
        if (!r->pacer || pacer_acquire(r->pacer, &r->pace_wait, on_paced, r))
                request_prepare(r);
}

static void answer_progress(struct http_request *r, size_t n) {
        if (r->answer_began_usec == 0)
                r->answer_began_usec = now_usec(r->client);
        r->answer_bytes += n;
}

/* The low-speed limit (HTTP_LOW_SPEED_BYTES): curl calls this as data
 * arrives; nonzero aborts the transfer. */
static int curl_progress_cb(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                            curl_off_t ulnow) {
        struct http_request *r = userdata;
        uint64_t t;

        if (r->answer_began_usec == 0)
                return 0;
        t = now_usec(r->client) - r->answer_began_usec;
        if (t < HTTP_LOW_SPEED_USEC || r->answer_bytes * USEC_PER_SEC / t >= HTTP_LOW_SPEED_BYTES)
                return 0;
        r->too_slow = true;
        return 1;
}

static size_t curl_write_cb(char *ptr, size_t size, size_t nmemb, void *userdata) {
        struct http_request *r = userdata;
        size_t n = size * nmemb;

        answer_progress(r, n);
        /* Returning less than n makes curl abort the transfer. */
        buf_append(&r->resp_body, ptr, n);
        if (r->resp_body.err < 0)
                return 0;
        return n;
}

static size_t curl_header_cb(char *ptr, size_t size, size_t nmemb, void *userdata) {
        struct http_request *r = userdata;
        size_t n = size * nmemb, k = n;

        answer_progress(r, n);
        /* A new status line (after 100-continue or similar) starts over. */
        if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
                buf_done(&r->resp_headers);
                r->headers_done = false;
                return n;
        }
        while (k > 0 && (ptr[k - 1] == '\r' || ptr[k - 1] == '\n'))
                k--;
        if (k == 0)
                r->headers_done = true;
        if (k == 0 || !memchr(ptr, ':', k))
                return n;
        /* Records are NUL-separated: "name: value\0". */
        buf_append(&r->resp_headers, ptr, k);
        buf_putc(&r->resp_headers, 0);
        if (r->resp_headers.err < 0) {
                r->headers_too_big = r->resp_headers.err == -EFBIG;
                return 0;
        }
        return n;
}

static void count_sent(struct http_request *r) {
        r->client->stats.sent++;
        if (r->sent_counter)
                (*r->sent_counter)++;
}

#if LIBCURL_VERSION_NUM >= 0x075000
/* curl calls this each time it is about to send the request on a connection,
 * new or kept alive. A kept-alive connection the server closed before
 * answering makes curl send the request again on a new one by itself, within
 * the same transfer: that resend reaches the server too, and is counted here. */
static int curl_prereq_cb(void *userdata, char *conn_primary_ip, char *conn_local_ip, int conn_primary_port,
                          int conn_local_port) {
        count_sent(userdata);
        return CURL_PREREQFUNC_OK;
}
#endif

static int request_send(struct http_request *r) {
        struct http_client *c = r->client;
        CURL *e;

        e = easy_get(c);
        if (!e)
                return -ENOMEM;
        r->easy = e;
        r->attempt++;
        c->stats.attempts++;
        r->sent_usec = now_usec(c);
        if (r->attempt == 1)
                r->first_sent_usec = r->sent_usec;

#define SETOPT(opt, val)                                            \
        do {                                                        \
                if (curl_easy_setopt(e, opt, val) != CURLE_OK)      \
                        return -EIO;                                \
        } while (0)

        SETOPT(CURLOPT_URL, r->url);
        SETOPT(CURLOPT_PRIVATE, r);
        SETOPT(CURLOPT_NOSIGNAL, 1L);
        SETOPT(CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_1_1);
#if LIBCURL_VERSION_NUM >= 0x075500
        SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
#else
        SETOPT(CURLOPT_PROTOCOLS, (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
        SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
        SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
        SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
        if (c->ca_bundle)
                SETOPT(CURLOPT_CAINFO, c->ca_bundle);
        SETOPT(CURLOPT_CONNECTTIMEOUT_MS, (long) (r->connect_timeout_usec / USEC_PER_MSEC));
        SETOPT(CURLOPT_TIMEOUT_MS, (long) (r->timeout_usec / USEC_PER_MSEC));
        SETOPT(CURLOPT_WRITEFUNCTION, curl_write_cb);
        SETOPT(CURLOPT_WRITEDATA, r);
        SETOPT(CURLOPT_HEADERFUNCTION, curl_header_cb);
        SETOPT(CURLOPT_HEADERDATA, r);
        SETOPT(CURLOPT_NOPROGRESS, 0L);
        SETOPT(CURLOPT_XFERINFOFUNCTION, curl_progress_cb);
        SETOPT(CURLOPT_XFERINFODATA, r);
        SETOPT(CURLOPT_ERRORBUFFER, r->curl_error);
        SETOPT(CURLOPT_USERAGENT, c->user_agent);
        SETOPT(CURLOPT_OPENSOCKETFUNCTION, curl_opensocket_cb);
        SETOPT(CURLOPT_OPENSOCKETDATA, c);
        SETOPT(CURLOPT_MAXFILESIZE, (long) HTTP_MAX_BODY);
#if LIBCURL_VERSION_NUM >= 0x075000
        SETOPT(CURLOPT_PREREQFUNCTION, curl_prereq_cb);
        SETOPT(CURLOPT_PREREQDATA, r);
#else
        count_sent(r); /* no way to see curl's own resends: count the attempt */
#endif
        if (r->no_proxy)
                SETOPT(CURLOPT_NOPROXY, "*");
        if (streq(r->method, "GET"))
                SETOPT(CURLOPT_HTTPGET, 1L);
        else {
                if (streq(r->method, "POST"))
                        SETOPT(CURLOPT_POST, 1L);
                else {
                        SETOPT(CURLOPT_POST, 1L);
                        SETOPT(CURLOPT_CUSTOMREQUEST, r->method);
                }
                SETOPT(CURLOPT_POSTFIELDS, r->body ? (const char *) r->body : "");
                SETOPT(CURLOPT_POSTFIELDSIZE, (long) r->body_len);
        }
        /* No "Expect: 100-continue" round trip; curl would add it to large bodies. */
        struct curl_slist *l = curl_slist_append(r->headers, "Expect:");
        if (!l)
                return -ENOMEM;
        r->headers = l;
        SETOPT(CURLOPT_HTTPHEADER, r->headers);
#undef SETOPT

        if (curl_multi_add_handle(c->multi, e) != CURLM_OK)
                return -EIO;
        r->phase = PHASE_SENDING;
        log_debug("HTTP: %s %s attempt %u/%u", strna(r->log_name), r->method, r->attempt,
                  r->max_attempts);
        return 0;
}

static void request_prepare(struct http_request *r) {
        int k;

        r->phase = PHASE_PREPARING;
        request_reset_attempt(r);
        if (r->prepare) {
                /* A prepare that keeps saying "not yet" after resumes is broken. */
                if (++r->n_prepare_calls > HTTP_MAX_PREPARE_CALLS) {
                        request_finish(r, -ELOOP);
                        return;
                }
                k = r->prepare(r, r->userdata);
                if (k < 0) {
                        request_finish(r, k);
                        return;
                }
                if (k > 0)
                        return; /* waits for http_request_resume() */
        }
        k = request_send(r);
        if (k < 0) {
                if (r->easy) {
                        easy_put(r->client, r->easy);
                        r->easy = NULL;
                }
                request_finish(r, k);
                return;
        }
        /* Start the transfer now instead of on the 0 ms timeout curl just
         * asked for: one trip through the loop less per request (we are in
         * a callback of the loop, not of curl). curl's timer is left as it
         * is: if curl does not move it, it fires once more for nothing.
         * Last: it may finish r. */
        client_run_timeout(r->client);
}

int http_request_add_header(struct http_request *r, const char *name, const char *value) {
        _cleanup_free_ char *line = NULL;
        struct curl_slist *l;

        /* A header value with a line break would smuggle another header. */
        if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n"))
                return -EINVAL;
        size_t nl = strlen(name), vl = strlen(value);
        line = malloc(nl + 2 + vl + 1);
        if (!line)
                return -ENOMEM;
        memcpy(line, name, nl);
        memcpy(line + nl, ": ", 2);
        memcpy(line + nl + 2, value, vl + 1);
        l = curl_slist_append(r->headers, line);
        if (!l)
                return -ENOMEM;
        r->headers = l;
        return 0;
}

int http_request_add_signature(struct http_request *r, const char *amz_date, const char *authorization,
                               const char *security_token) {
        int k = http_request_add_header(r, "X-Amz-Date", amz_date);

        if (k >= 0)
                k = http_request_add_header(r, "Authorization", authorization);
        if (k >= 0 && security_token)
                k = http_request_add_header(r, "X-Amz-Security-Token", security_token);
        return k;
}

void http_request_resume(struct http_request *r, int error) {
        if (r->phase != PHASE_PREPARING)
                return;
        r->phase = PHASE_KICK;
        r->resume_prepare = true;
        r->resume_error = error;
        if (arm_request_timer(r, 0) < 0)
                request_finish(r, -EIO);
}

static int curl_code_to_errno(CURLcode cc, bool body_too_big) {
        switch (cc) {
        case CURLE_OK:
                return 0;
        case CURLE_OPERATION_TIMEDOUT:
                return -ETIMEDOUT;
        case CURLE_COULDNT_CONNECT:
                return -ECONNREFUSED;
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
                return -EHOSTUNREACH;
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:
                return -ECONNRESET;
        case CURLE_PARTIAL_FILE:
                return -EBADMSG;
        case CURLE_WRITE_ERROR:
        case CURLE_FILESIZE_EXCEEDED:
                return body_too_big || cc == CURLE_FILESIZE_EXCEEDED ? -EFBIG : -EIO;
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        case CURLE_PEER_FAILED_VERIFICATION:
#if LIBCURL_VERSION_NUM < 0x073e00
        case CURLE_SSL_CACERT:
#endif
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CERTPROBLEM:
                return -EKEYREJECTED;
        case CURLE_SSL_CONNECT_ERROR:
                return -ECONNRESET;
        case CURLE_UNSUPPORTED_PROTOCOL:
                return -EPROTONOSUPPORT;
        default:
                return -EIO;
        }
}

static bool curl_code_is_verification(CURLcode cc) {
        return cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE ||
               cc == CURLE_SSL_ISSUER_ERROR || cc == CURLE_SSL_CRL_BADFILE;
}

/* A certificate that does not verify: say what was verified against what,
 * which curl's text leaves out. */
static void note_verification(struct http_request *r) {
        _cleanup_free_ char *host = NULL;
        const char *ca = r->client->ca_bundle;
        size_t n = strlen(r->curl_error);

        /* The host only: a URL could carry a user name and password. */
        if (url_host_path(r->url, &host, NULL) < 0)
                host = NULL;
        if (n == 0)
                n = (size_t) snprintf(r->curl_error, sizeof r->curl_error, "TLS verification failed");
        if (n < sizeof r->curl_error)
                (void) snprintf(r->curl_error + n, sizeof r->curl_error - n, " (%s, verified with %s%s)",
                                host ? host : "the endpoint", ca ? "the CA bundle " : "the system's CA store",
                                strempty(ca));
}

static char *url_for_log(const char *url);

/* The URL for a message, made on first use: only a failing request needs it. */
static const char *request_log_url(struct http_request *r) {
        if (!r->log_url)
                r->log_url = url_for_log(r->url);
        return r->log_url ? r->log_url : "the endpoint";
}

/* "40 ms", "2.5 s", "30 s", "151 s": a duration for a message. */
static const char *format_secs(uint64_t usec, char buf[static 32]) {
        if (usec < USEC_PER_SEC)
                snprintf(buf, 32, "%" PRIu64 " ms", usec / USEC_PER_MSEC);
        else if (usec < 10 * USEC_PER_SEC)
                snprintf(buf, 32, "%.1f s", (double) usec / USEC_PER_SEC);
        else
                snprintf(buf, 32, "%" PRIu64 " s", (usec + USEC_PER_SEC / 2) / USEC_PER_SEC);
        return buf;
}

/* A timed-out attempt, in r->curl_error: what was missing, from where and
 * for how long (curl's text names neither the endpoint nor the phase). */
static void note_timeout(struct http_request *r, bool connected) {
        const char *url = request_log_url(r);
        char took[32];

        format_secs(now_usec(r->client) - r->sent_usec, took);
        if (r->too_slow)
                snprintf(r->curl_error, sizeof r->curl_error,
                         "answer from %s too slow: %" PRIu64 " bytes in %s", url,
                         r->answer_bytes, took);
        else if (!connected)
                snprintf(r->curl_error, sizeof r->curl_error, "no connection to %s in %s", url, took);
        else if (r->answer_began_usec == 0)
                snprintf(r->curl_error, sizeof r->curl_error, "no answer from %s in %s", url, took);
        else
                snprintf(r->curl_error, sizeof r->curl_error, "answer from %s incomplete after %s",
                         url, took);
}

/* Said at warning level for every attempt that timed out (at debug for a
 * probe): the caller hears of the request only when it ends, which can be
 * minutes later. */
static void log_attempt_timeout(struct http_request *r, const char *next) {
        log_full(r->quiet ? LOG_DEBUG : LOG_WARNING, "%s: %s, attempt %u of %u; %s.", strna(r->log_name),
                 r->curl_error, r->attempt, r->max_attempts, next);
}

/* After one transfer: keep its outcome, decide between delivering and retrying. */
static void request_attempt_done(struct http_request *r, CURLcode cc) {
        struct http_client *c = r->client;
        enum retry_class cls;
        curl_off_t pretransfer = 0;
        long status = 0;
        int k;

        (void) curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
        /* Zero until a connection (new or kept alive) was ready for the request. */
        (void) curl_easy_getinfo(r->easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
        easy_put(c, r->easy);
        r->easy = NULL;
        curl_slist_free_all(r->headers);
        r->headers = NULL;

        r->status = cc == CURLE_OK ? status : 0;
        r->transport_error = curl_code_to_errno(cc, r->resp_body.err == -EFBIG);
        if (cc == CURLE_ABORTED_BY_CALLBACK && r->too_slow)
                r->transport_error = -ETIMEDOUT;
        /* curl refuses a single header line over CURL_MAX_HTTP_HEADER with
         * CURLE_OUT_OF_MEMORY and no text: an answer that began and broke
         * off that way inside its headers was one of those, not our memory. */
        if (cc == CURLE_OUT_OF_MEMORY && r->answer_began_usec != 0 && !r->headers_done)
                r->headers_too_big = true;
        if (r->headers_too_big && cc != CURLE_OK) {
                /* Like an oversized body: the same answer again is no better. */
                r->transport_error = -EFBIG;
                snprintf(r->curl_error, sizeof r->curl_error,
                         "response headers larger than %d bytes from %s", HTTP_MAX_HEADER_BYTES,
                         request_log_url(r));
        }
        if (r->transport_error == -ETIMEDOUT)
                note_timeout(r, pretransfer > 0);
        if (curl_code_is_verification(cc))
                note_verification(r);
        if (r->transport_error == 0) {
                const char *type_hdr = http_response_header(
                        &(struct http_response){ .request = r }, "x-amzn-ErrorType");
                if (r->parse_error) {
                        if (status >= 300 && r->parse_error(r->resp_body.data ? r->resp_body.data : "",
                                                            r->resp_body.len, &r->err_code, &r->err_message) < 0)
                                r->transport_error = -ENOMEM;
                } else if (r->resp_body.len > 0) {
                        if (!c->tok)
                                c->tok = json_tokener_new_ex(AWS_JSON_MAX_DEPTH);
                        r->json = aws_json_parse_with(c->tok, r->resp_body.data, r->resp_body.len);
                        /* A 2xx answer we cannot read is as good as a lost one. */
                        if (!c->tok)
                                r->transport_error = -ENOMEM;
                        else if (!r->json && r->expect_json && status >= 200 && status < 300)
                                r->transport_error = -EBADMSG;
                }
                if (status >= 300 && !r->parse_error &&
                    aws_error_parse(type_hdr, r->json, &r->err_code, &r->err_message) < 0)
                        r->transport_error = -ENOMEM;
        }

        cls = retry_classify(r->transport_error, r->status, r->err_code, r->err_message);
        if (cls == RETRY_THROTTLE) {
                r->throttles++;
                c->stats.throttles++;
                if (r->pacer)
                        pacer_throttled(r->pacer);
        } else if (r->pacer && r->transport_error == 0 && r->status >= 200 && r->status < 300)
                pacer_succeeded(r->pacer);

        if (cls == RETRY_NO) {
                request_finish(r, 0);
                return;
        }
        if (r->attempt >= r->max_attempts) {
                if (r->transport_error == -ETIMEDOUT)
                        log_attempt_timeout(r, "giving up");
                log_debug("HTTP: %s: %s (%s), giving up after %u attempts", strna(r->log_name),
                          r->err_code ? r->err_code : r->curl_error[0] ? r->curl_error : "error",
                          retry_class_to_string(cls), r->attempt);
                request_finish(r, 0);
                return;
        }
        if (!retry_quota_acquire(&c->quota, cls == RETRY_TIMEOUT, &r->last_retry_cost)) {
                if (r->transport_error == -ETIMEDOUT)
                        log_attempt_timeout(r, "the retry quota is spent, giving up");
                log_debug("HTTP: %s: retry quota spent (%u left), not retrying", strna(r->log_name),
                          c->quota.available);
                request_finish(r, 0);
                return;
        }
        uint64_t delay = retry_backoff_usec(&c->rng, r->attempt - 1, c->opts.backoff_base_usec,
                                           c->opts.backoff_cap_usec);
        if (r->transport_error == -ETIMEDOUT) {
                char in[32], next[64];
                snprintf(next, sizeof next, "trying again in %s", format_secs(delay, in));
                log_attempt_timeout(r, next);
        }
        c->stats.retries++;
        log_debug("HTTP: %s: %s (%s), retry %u in %" PRIu64 " ms", strna(r->log_name),
                  r->err_code ? r->err_code : r->curl_error[0] ? r->curl_error : "error",
                  retry_class_to_string(cls), r->attempt, delay / USEC_PER_MSEC);
        r->phase = PHASE_BACKOFF;
        k = arm_request_timer(r, delay);
        if (k < 0)
                request_finish(r, 0);
}

/* The text a failed request is delivered with: what went wrong last, with
 * the attempts and the time they took, escaped. NULL when there is nothing
 * to say beyond strerror() (or on ENOMEM: the caller then says that). */
static char *finish_text(struct http_request *r, int error) {
        _cleanup_free_ char *t = NULL;
        char took[32];

        /* Nothing to add to strerror(), which the caller says. */
        if (!r->curl_error[0] && (error >= 0 || r->attempt == 0))
                return NULL;
        if (error >= 0 || r->attempt == 0)
                t = strdup(r->curl_error);
        else if (asprintf(&t, "%s (%u attempt%s in %s)", r->curl_error[0] ? r->curl_error : strerror(-error),
                          r->attempt, r->attempt == 1 ? "" : "s",
                          format_secs(now_usec(r->client) - r->first_sent_usec, took)) < 0)
                t = NULL;
        return t ? log_escape_dup(t, strlen(t), HTTP_TEXT_MAX) : NULL;
}

static void request_finish(struct http_request *r, int error) {
        struct http_client *c = r->client;
        const char *rid;

        error = error < 0 ? error : r->transport_error;
        r->error_text = finish_text(r, error);
        rid = http_response_header(&(struct http_response){ .request = r }, "x-amzn-RequestId");
        if (rid)
                r->request_id = log_escape_dup(rid, strlen(rid), HTTP_TEXT_MAX);

        struct http_response resp = {
                .error = error,
                .error_text = r->error_text,
                .request_id = r->request_id,
                .status = r->status,
                .body = r->resp_body.data ? r->resp_body.data : "",
                .body_len = r->resp_body.len,
                .json = r->json,
                .error_code = r->err_code,
                .error_message = r->err_message,
                .attempts = r->attempt,
                .throttles = r->throttles,
                .request = r,
        };

        if (resp.error == 0 && r->status >= 200 && r->status < 300)
                retry_quota_release(&c->quota, r->attempt > 1 ? r->last_retry_cost : 0);
        c->stats.requests++;
        r->in_done = true;
        if (r->done)
                r->done(r, &resp, r->userdata);
        request_free(r);
}

static void client_check_completions(struct http_client *c) {
        CURLMsg *m;
        int left;

        while ((m = curl_multi_info_read(c->multi, &left))) {
                struct http_request *r = NULL;

                if (m->msg != CURLMSG_DONE)
                        continue;
                CURLcode cc = m->data.result;
                (void) curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **) &r);
                if (!r)
                        continue;
                /* May run callbacks that start or cancel other requests. */
                request_attempt_done(r, cc);
        }
}

/* scheme://host[:port]/path for messages, escaped: never the user
 * information or the query a URL could carry. NULL on ENOMEM. */
static char *url_for_log(const char *url) {
        _cleanup_free_ char *host = NULL, *path = NULL, *t = NULL;

        if (url_host_path(url, &host, &path) < 0)
                return strdup("the endpoint");
        if (asprintf(&t, "%s://%s%s", strncasecmp(url, "http:", 5) == 0 ? "http" : "https", host, path) < 0)
                return NULL;
        return log_escape_dup(t, strlen(t), HTTP_URL_LOG_MAX);
}

/* url_check(), remembered for the last URL (see struct http_client). */
static int client_url_check(struct http_client *c, const char *url, bool allow_link_local) {
        char *copy;
        int k;

        if (c->last_url.url && c->last_url.allow_link_local == allow_link_local && streq(c->last_url.url, url))
                return c->last_url.check;
        k = url_check(url, allow_link_local);
        if (k == -ENOMEM)
                return k;
        copy = strdup(url);
        if (!copy)
                return -ENOMEM;
        free(c->last_url.url);
        c->last_url.url = copy;
        c->last_url.allow_link_local = allow_link_local;
        c->last_url.check = k;
        c->last_url.loopback = k >= 0 && url_is_loopback(url);
        return k;
}

int http_request_start(struct http_client *c, const struct http_request_params *p,
                       struct http_request **ret) {
        struct http_request *r;
        int k;

        if (!p->url || !p->method || !p->done)
                return -EINVAL;
        k = client_url_check(c, p->url, p->allow_link_local);
        if (k < 0)
                return k;

        r = calloc(1, sizeof *r);
        if (!r)
                return -ENOMEM;
        r->client = c;
        r->next = c->requests;
        if (c->requests)
                c->requests->prev = r;
        c->requests = r;
        r->resp_body = BUF_INIT(HTTP_MAX_BODY, false);
        r->resp_headers = BUF_INIT(HTTP_MAX_HEADER_BYTES, false);
        r->method = strdup(p->method);
        r->url = strdup(p->url);
        r->log_name = p->log_name ? strdup(p->log_name) : NULL;
        if (!r->method || !r->url || (p->log_name && !r->log_name))
                goto oom;
        if (p->body_len > 0) {
                r->body = malloc(p->body_len + 1);
                if (!r->body)
                        goto oom;
                memcpy(r->body, p->body, p->body_len);
                ((char *) r->body)[p->body_len] = 0;
                r->body_len = p->body_len;
        }
        r->max_attempts = p->max_attempts ? p->max_attempts : c->opts.max_attempts;
        r->timeout_usec = p->timeout_usec ? p->timeout_usec : c->opts.timeout_usec;
        r->connect_timeout_usec = p->connect_timeout_usec ? p->connect_timeout_usec
                                                          : c->opts.connect_timeout_usec;
        if (r->connect_timeout_usec > r->timeout_usec)
                r->connect_timeout_usec = r->timeout_usec;
        r->expect_json = p->expect_json;
        r->parse_error = p->parse_error;
        r->quiet = p->quiet;
        /* Plain http (loopback, or link-local when allowed) never goes through a proxy. */
        r->no_proxy = p->no_proxy || strncasecmp(p->url, "http:", 5) == 0 || c->last_url.loopback;
        r->sent_counter = p->sent_counter;
        r->prepare = p->prepare;
        r->done = p->done;
        r->userdata = p->userdata;
        r->pacer = pacer_ref(p->pacer);
        /* The first attempt starts from the loop, never from here. When its
         * pacer has no token for it now, it waits in the pacer's queue
         * straight away, which the kick from the loop would only put it in. */
        if (r->pacer && pacer_queue_if_busy(r->pacer, &r->pace_wait, on_paced, r))
                r->phase = PHASE_PACING;
        else {
                r->phase = PHASE_KICK;
                k = arm_request_timer(r, 0);
                if (k < 0) {
                        request_free(r);
                        return k;
                }
        }
        if (ret)
                *ret = r;
        return 0;
oom:
        request_free(r);
        return -ENOMEM;
}
