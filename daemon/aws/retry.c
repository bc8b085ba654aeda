/* AWS "standard" retry mode: classification, quota, full-jitter backoff
 * (see retry.h).
 *
 * Must never: retry a client error (4xx other than throttling), wait longer
 * than the caller's cap, or keep state of its own: the quota and the PRNG
 * state are the caller's. */
#include "aws/retry.h"

#include <errno.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define HTTP_STATUS_TOO_MANY_REQUESTS 429
#define HTTP_STATUS_SERVER_ERROR_MIN 500
#define HTTP_STATUS_SERVER_ERROR_MAX 599
#define DOUBLE_MANTISSA_BITS 53

bool retry_error_is_throttle(const char *code, const char *message) {
        static const char *const codes[] = {
                "Throttling",
                "ThrottlingException",
                "ThrottledException",
                "RequestThrottledException",
                "TooManyRequestsException",
                "ProvisionedThroughputExceededException",
                "TransactionInProgressException",
                "RequestLimitExceeded",
                "BandwidthLimitExceeded",
                "RequestThrottled",
                "SlowDown",
                "PriorRequestNotComplete",
                "EC2ThrottledException",
        };
        if (!code)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(codes); i++)
                if (streq(code, codes[i]))
                        return true;
        /* Kinesis says LimitExceededException both for "slow down" and for
         * account quotas (shard limit, ...); only the former is worth a retry.
         * Nor is "5 streams ... simultaneously in CREATING or DELETING" (or
         * the mock's "... created concurrently"): retrying that at once only
         * adds refusals; the reconciler waits for a slot instead. */
        if (streq(code, "LimitExceededException") && message && strcasestr(message, "Rate exceeded"))
                return true;
        return false;
}

static bool error_is_transient_code(const char *code) {
        static const char *const codes[] = {
                "RequestTimeout", "RequestTimeoutException", "InternalFailure",
                "InternalError", "ServiceUnavailable",
                /* STS could not reach the web identity's provider (HTTP 400). */
                "IDPCommunicationError",
        };
        if (!code)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(codes); i++)
                if (streq(code, codes[i]))
                        return true;
        return false;
}

enum retry_class retry_classify(int transport_error, long status, const char *code,
                                     const char *message) {
        if (transport_error < 0)
                switch (transport_error) {
                case -ETIMEDOUT:
                        return RETRY_TIMEOUT;
                case -ECONNREFUSED:
                case -ECONNRESET:
                case -EHOSTUNREACH:
                case -ENETUNREACH:
                case -EBADMSG:
                case -EPIPE:
                case -EIO:
                        return RETRY_TRANSIENT;
                default: /* -EFBIG, -EPERM, -EKEYREJECTED, -ENOMEM, ...: retrying changes nothing */
                        return RETRY_NO;
                }
        if (retry_error_is_throttle(code, message))
                return RETRY_THROTTLE;
        if (status == HTTP_STATUS_TOO_MANY_REQUESTS && !code)
                return RETRY_THROTTLE;
        if (error_is_transient_code(code))
                return RETRY_TRANSIENT;
        if (status >= HTTP_STATUS_SERVER_ERROR_MIN && status <= HTTP_STATUS_SERVER_ERROR_MAX)
                return RETRY_TRANSIENT;
        return RETRY_NO;
}

const char *retry_class_to_string(enum retry_class c) {
        switch (c) {
        case RETRY_NO:
                return "final";
        case RETRY_TRANSIENT:
                return "transient";
        case RETRY_TIMEOUT:
                return "timeout";
        case RETRY_THROTTLE:
                return "throttled";
        }
        return "?";
}

void retry_quota_init(struct retry_quota *q, unsigned max) {
        q->available = q->max = max;
}

bool retry_quota_acquire(struct retry_quota *q, bool timeout, unsigned *ret_cost) {
        unsigned cost = timeout ? RETRY_TIMEOUT_COST : RETRY_COST;
        if (cost > q->available)
                return false;
        q->available -= cost;
        if (ret_cost)
                *ret_cost = cost;
        return true;
}

void retry_quota_release(struct retry_quota *q, unsigned last_cost) {
        unsigned add = last_cost > 0 ? last_cost : RETRY_NO_RETRY_INCREMENT;
        q->available = q->available + add > q->max ? q->max : q->available + add;
}

uint64_t retry_rng_next(uint64_t *state) {
        uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
        z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
        return z ^ (z >> 31);
}

uint64_t retry_rng_seed(uint64_t seed) {
        if (seed)
                return seed;
        if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != sizeof seed)
                seed = (uint64_t) time(NULL) ^ ((uint64_t) getpid() << 32);
        return seed;
}

uint64_t retry_backoff_usec(uint64_t *rng, unsigned attempt, uint64_t base_usec, uint64_t cap_usec) {
        uint64_t ceiling = base_usec;

        for (unsigned i = 0; i < attempt && ceiling < cap_usec; i++)
                ceiling = ceiling > UINT64_MAX / 2 ? UINT64_MAX : ceiling * 2;
        if (ceiling > cap_usec)
                ceiling = cap_usec;
        /* The top 53 random bits (a double's mantissa) -> [0, 1). */
        double f = (double) (retry_rng_next(rng) >> (64 - DOUBLE_MANTISSA_BITS)) /
                   (double) (UINT64_C(1) << DOUBLE_MANTISSA_BITS);
        return (uint64_t) (f * (double) ceiling);
}
