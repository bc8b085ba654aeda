/* Waiting on AWS: the answers that mean "not now" rather than "no" (a rate
 * exceeded, the account's five CREATING-or-DELETING streams, a busy stream),
 * the backoff between tries, and the hold a region's creations are under
 * while someone else in the account fills the CREATING slots.
 *
 * A waiting stream is neither failed nor done; it fails only once it has
 * waited reconcile.timeout. Nothing here calls AWS or touches a stream's
 * state machine: the reconciler asks and arms its own timers. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "kinesis.h"
#include "log.h"

/* A region's creation hold lasts at least this long at first: a creation
 * takes seconds, so probing faster only collects refusals. */
#define RECONCILE_HOLD_MIN_USEC USEC_PER_SEC
/* The longest pause between two tries while waiting. */
#define RECONCILE_WAIT_MAX_USEC (30 * USEC_PER_SEC)

enum reconcile_wait_kind {
        RECONCILE_WAIT_NONE,
        RECONCILE_WAIT_RATE,        /* throttled: a TPS limit */
        RECONCILE_WAIT_CONCURRENCY, /* five streams CREATING or DELETING in the account */
        RECONCILE_WAIT_CONSUMERS,   /* five consumers CREATING in the account */
        RECONCILE_WAIT_BUSY,        /* ResourceInUseException: the stream is changing */
};

/* What kind of "not now" an answer is (RECONCILE_WAIT_NONE: success, or a
 * real error). Quota refusals ("streams per account", shard limits) are not
 * waits: they stay until someone raises the quota. */
enum reconcile_wait_kind reconcile_wait_classify(const struct kinesis_result *res);

struct reconcile_wait {
        uint64_t since; /* CLOCK_MONOTONIC of the first refusal; 0: not waiting */
        unsigned tries; /* refusals since */
        enum reconcile_wait_kind kind;
        char *reason; /* "CreateStream: LimitExceededException: ..." (escaped) */
        uint64_t rng;
};

/* One more refusal (f->stream NULL: the region's ListStreams). Logs at notice the first time (with AWS_ERROR= and
 * AWS_REQUEST_ID=), at debug after. Returns the pause before the next try
 * (about poll_usec, doubling to RECONCILE_WAIT_MAX_USEC, with jitter), or
 * -ETIME when the wait has lasted timeout_usec (then ret_why says what it
 * waited on and how long), or -ENOMEM. */
int reconcile_wait_refused(struct reconcile_wait *w, const struct kinesis_result *res,
                           enum reconcile_wait_kind kind, uint64_t poll_usec, uint64_t timeout_usec,
                           const struct log_fields *f, char *ret_why, size_t n_why, uint64_t *ret_delay);
/* The step went through: log once (info) that the wait is over. */
void reconcile_wait_over(struct reconcile_wait *w, const struct log_fields *f);
/* Forget the wait without a word (a new pass, a failure, teardown). */
void reconcile_wait_reset(struct reconcile_wait *w);
static inline bool reconcile_wait_active(const struct reconcile_wait *w) {
        return w->since != 0;
}

/* Pause number `tries` (1-based) of a backoff that starts near base_usec and
 * doubles up to RECONCILE_WAIT_MAX_USEC, in [ceiling/2, ceiling). */
uint64_t reconcile_wait_backoff(uint64_t *rng, unsigned tries, uint64_t base_usec);
