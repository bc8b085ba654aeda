/* AWS "standard" retry mode (DESIGN §5): which answers are worth another
 * attempt, how long to wait before it (full-jitter exponential backoff), and
 * the retry quota that stops a struggling service from being retried harder.
 *
 * Pure: no clock, no I/O, no logging; the caller owns the PRNG state. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

enum retry_class {
        RETRY_NO,        /* success or a client error: deliver */
        RETRY_TRANSIENT, /* 5xx, connection failure, truncated/unparseable answer */
        RETRY_TIMEOUT,   /* transient, but costs more quota */
        RETRY_THROTTLE,  /* a throttling error code: also slows the pacer */
};

/* AWS error codes that mean "slow down" (standard retry mode). For
 * LimitExceededException only when the message says the rate was exceeded
 * or too many run simultaneously: otherwise it is a quota and final. */
bool retry_error_is_throttle(const char *code, const char *message);
/* Classify one attempt. transport_error is 0 or a negative errno of the
 * transfer (-ETIMEDOUT is a timeout; -EBADMSG a truncated or unparseable
 * answer; -EFBIG, -EPERM, -EPROTONOSUPPORT and TLS verification failures
 * (-EKEYREJECTED) are final). */
enum retry_class retry_classify(int transport_error, long status, const char *code, const char *message);
const char *retry_class_to_string(enum retry_class c);

/* The standard mode's retry quota. */
#define RETRY_QUOTA_INITIAL 500
#define RETRY_COST 5
#define RETRY_TIMEOUT_COST 10
#define RETRY_NO_RETRY_INCREMENT 1
struct retry_quota {
        unsigned available, max;
};
void retry_quota_init(struct retry_quota *q, unsigned max);
/* Take the cost of one retry; false (and nothing taken) if not enough is left. */
bool retry_quota_acquire(struct retry_quota *q, bool timeout, unsigned *ret_cost);
/* A request succeeded: give back what its last retry took (last_cost > 0),
 * or add the no-retry increment (last_cost == 0). Capped at max. */
void retry_quota_release(struct retry_quota *q, unsigned last_cost);

/* A small PRNG we own (splitmix64), for jitter. */
uint64_t retry_rng_next(uint64_t *state);
/* A seed: seed itself if not 0, else from getrandom() (or the time and pid). */
uint64_t retry_rng_seed(uint64_t seed);
/* Full jitter: uniform in [0, min(cap, base * 2^attempt)], attempt counted from 0
 * for the first retry. */
uint64_t retry_backoff_usec(uint64_t *rng, unsigned attempt, uint64_t base_usec, uint64_t cap_usec);
