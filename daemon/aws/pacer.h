/* Pacing: a pacer is a named token bucket, the release times of its last
 * calls (a sliding one-second window), and the FIFO of waiters for its
 * tokens, fed back with throttled/succeeded answers (AIMD). Whoever sends
 * calls asks a pacer for a token before each attempt; the pacer knows
 * nothing of what is sent. Pacers per (account, region, API) and per stream are
 * built from these by their owners.
 *
 * Nothing here blocks: a waiter is called back from an sd-event timer. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "util.h"

/* Token bucket with AIMD rate: capacity tokens at most, refilled at rate per
 * second. A throttling answer halves the rate (not below floor); each success
 * adds a tenth of the ceiling back (not above ceiling). Pure: the caller
 * passes the time. */
struct token_bucket {
        double ceiling, rate, floor;
        double capacity, tokens;
        uint64_t last_usec;
};
void token_bucket_init(struct token_bucket *b, double rate, double capacity, uint64_t now_usec);
/* Refill to now and take one token if there is one. */
bool token_bucket_take(struct token_bucket *b, uint64_t now_usec);
/* Microseconds from now until one whole token is available (0: now). */
uint64_t token_bucket_delay(struct token_bucket *b, uint64_t now_usec);
void token_bucket_throttled(struct token_bucket *b);
void token_bucket_succeeded(struct token_bucket *b);
/* Full, and at its ceiling rate: forgetting it changes nothing. */
bool token_bucket_idle(struct token_bucket *b, uint64_t now_usec);

/* The one-second window: the release times of a pacer's last calls, so that
 * no window of one second holds more than pace_window_cap() of them, where
 * an evenly spaced bucket at a fractional rate would let the rounded-up
 * count through (2.5 a second: calls at 0, 0.4 and 0.8 s). A ring of size
 * entries, the cap at the ceiling rate, allocated by the owner. Pure: the
 * caller passes the time. */
struct pace_window {
        uint64_t *at; /* release times, a ring */
        unsigned size, used, next;
};
/* Calls the window holds at most: floor(rate) at the bucket's current rate
 * (AIMD moves it), at least 1, at most PACE_WINDOW_MAX: a pacer faster than
 * that is held to it, which keeps each pacer's ring small (kinesisd's
 * fastest pacer is 20 a second, at api_share 1). */
#define PACE_WINDOW_MAX 64u
/* A window is this much longer than a second (see pacer.c). */
#define PACE_WINDOW_MARGIN_USEC (20 * USEC_PER_MSEC)
unsigned pace_window_cap(double rate);
void pace_window_init(struct pace_window *w, uint64_t *ring, unsigned size);
/* Microseconds from now until a call fits in the window of cap calls. */
uint64_t pace_window_delay(const struct pace_window *w, unsigned cap, uint64_t now_usec);
void pace_window_record(struct pace_window *w, uint64_t now_usec);
/* No call released within the last window: forgetting it changes nothing. */
bool pace_window_idle(const struct pace_window *w, uint64_t now_usec);

/* A bucket and its window together, as a pacer uses them. */
struct pace_limit {
        struct token_bucket bucket;
        struct pace_window window;
};
/* Microseconds from now until both allow a call (0: now). */
uint64_t pace_limit_delay(struct pace_limit *l, uint64_t now_usec);
/* Take a token and record the release at now, if both allow it now. */
bool pace_limit_take(struct pace_limit *l, uint64_t now_usec);

struct pacer;

/* One place in a pacer's queue, owned (usually embedded) by the caller. */
typedef void (*pacer_ready_t)(void *userdata);
struct pacer_waiter {
        struct pacer_waiter *next; /* the pacer's FIFO */
        pacer_ready_t ready;
        void *userdata;
};

/* Rate in calls per second; the bucket holds burst tokens (at least one, and
 * one to start with); on top of that, no one-second window ever holds more
 * than pace_window_cap(rate) releases (and none closer than
 * PACE_WINDOW_MARGIN_USEC to a window's edge: see pacer.c). name is for
 * debug logs, which show each release's time. Returns 0 or a negative
 * errno. */
int pacer_new(sd_event *e, const char *name, double rate, double burst, struct pacer **ret);
struct pacer *pacer_ref(struct pacer *p);
struct pacer *pacer_unref(struct pacer *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct pacer *, pacer_unref);

/* Acquire a token, or tell me when: true if one was taken now (ready is not
 * called); false if w now waits at the end of the FIFO, and ready(userdata)
 * runs from the event loop once its token is taken. Nobody overtakes a
 * waiter already queued. */
bool pacer_acquire(struct pacer *p, struct pacer_waiter *w, pacer_ready_t ready, void *userdata);
/* For a caller that must not go on at once: if a token is there now, false
 * (nothing taken, nothing queued); else like pacer_acquire() returning
 * false, and true. */
bool pacer_queue_if_busy(struct pacer *p, struct pacer_waiter *w, pacer_ready_t ready, void *userdata);
/* Leave the queue (nothing happens if w is not in it). */
void pacer_cancel(struct pacer *p, struct pacer_waiter *w);
/* Feedback from an answer: throttled halves the rate, succeeded raises it. */
void pacer_throttled(struct pacer *p);
void pacer_succeeded(struct pacer *p);
/* Nobody waits or holds a reference but the owner, the bucket is idle and no
 * call was released in the last window: a pacer made anew in its place
 * would let no window hold more calls. */
bool pacer_is_idle(struct pacer *p);
