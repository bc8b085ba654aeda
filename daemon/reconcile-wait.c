/* Waiting on AWS (see reconcile-wait.h): classification of "not now"
 * answers, the backoff, and the log lines that say a stream waits and
 * goes on.
 *
 * Must never: treat a quota refusal as a wait (it would never end), log
 * AWS's text unescaped, or log a line per retry above debug. */
#include "reconcile-wait.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "util.h"

/* AWS's text in our messages: at most this many bytes of it. */
#define WAIT_TEXT_MAX 300

enum reconcile_wait_kind reconcile_wait_classify(const struct kinesis_result *res) {
        const char *type = res->error_type, *msg = res->error_message;

        if (res->error != 0 || !type)
                return RECONCILE_WAIT_NONE;
        if (streq(type, "ResourceInUseException"))
                return RECONCILE_WAIT_BUSY;
        if (streq(type, "ThrottlingException") || streq(type, "Throttling") ||
            streq(type, "TooManyRequestsException"))
                return RECONCILE_WAIT_RATE;
        if (!streq(type, "LimitExceededException") || !msg)
                return RECONCILE_WAIT_NONE;
        /* AWS: "... simultaneously be in CREATING or DELETING state ...";
         * the mock: "Limit for streams being created concurrently exceeded". */
        if (strcasestr(msg, "simultaneously") || strcasestr(msg, "concurrently"))
                return strcasestr(msg, "consumer") ? RECONCILE_WAIT_CONSUMERS : RECONCILE_WAIT_CONCURRENCY;
        if (strcasestr(msg, "Rate exceeded"))
                return RECONCILE_WAIT_RATE;
        return RECONCILE_WAIT_NONE;
}

static const char *kind_text(enum reconcile_wait_kind k) {
        switch (k) {
        case RECONCILE_WAIT_RATE:
                return "a rate limit";
        case RECONCILE_WAIT_CONCURRENCY:
                return "the account's limit of 5 streams CREATING or DELETING";
        case RECONCILE_WAIT_CONSUMERS:
                return "the account's limit of 5 consumers CREATING";
        case RECONCILE_WAIT_BUSY:
                return "the stream, busy with another change";
        case RECONCILE_WAIT_NONE:
                break;
        }
        return "AWS";
}

/* "Stream NAME", or for the region's listing "Listing the streams of REGION". */
static void subject(const struct log_fields *f, char *buf, size_t n) {
        if (f->stream)
                snprintf(buf, n, "Stream %s", f->stream);
        else
                snprintf(buf, n, "Listing the streams of %s", strna(f->region));
}

uint64_t reconcile_wait_backoff(uint64_t *rng, unsigned tries, uint64_t base_usec) {
        uint64_t ceiling = base_usec > 0 ? base_usec : USEC_PER_SEC;

        for (unsigned i = 1; i < tries && ceiling < RECONCILE_WAIT_MAX_USEC; i++)
                ceiling *= 2;
        if (ceiling > RECONCILE_WAIT_MAX_USEC)
                ceiling = RECONCILE_WAIT_MAX_USEC;
        if (*rng == 0 && getrandom(rng, sizeof *rng, GRND_NONBLOCK) != sizeof *rng)
                *rng = clock_now_usec(CLOCK_MONOTONIC) | 1;
        /* xorshift64: enough to keep N daemons from retrying in step. */
        *rng ^= *rng << 13;
        *rng ^= *rng >> 7;
        *rng ^= *rng << 17;
        return ceiling / 2 + *rng % (ceiling / 2 + 1);
}

int reconcile_wait_refused(struct reconcile_wait *w, const struct kinesis_result *res,
                           enum reconcile_wait_kind kind, uint64_t poll_usec, uint64_t timeout_usec,
                           const struct log_fields *f, char *ret_why, size_t n_why, uint64_t *ret_delay) {
        uint64_t now = clock_now_usec(CLOCK_MONOTONIC);
        char text[LOG_ESCAPE_SIZE(WAIT_TEXT_MAX)], reason[LOG_ESCAPE_SIZE(WAIT_TEXT_MAX) + 128], who[256];
        struct log_fields lf = *f;
        const char *msg = strempty(res->error_message);

        /* Escaped where it entered (kinesis.h): only cut here. */
        log_escape_controls(msg, strlen(msg), WAIT_TEXT_MAX, text);
        snprintf(reason, sizeof reason, "%s: %s%s%s", strna(res->operation), strna(res->error_type),
                 text[0] ? ": " : "", text);
        lf.aws_operation = res->operation;
        lf.aws_error = res->error_type;
        lf.aws_request_id = res->request_id;
        subject(f, who, sizeof who);
        if (!reconcile_wait_active(w) || w->kind != kind || !streq_ptr(w->reason, reason)) {
                char *copy = strdup(reason);
                if (!copy)
                        return -ENOMEM;
                free(w->reason);
                w->reason = copy;
                if (!reconcile_wait_active(w)) {
                        w->since = now;
                        log_fields(LOG_NOTICE, &lf, "%s waits on %s (%s); trying again with backoff "
                                   "for up to %llu s.", who, kind_text(kind), reason,
                                   (unsigned long long) (timeout_usec / USEC_PER_SEC));
                } else
                        log_fields(LOG_DEBUG, &lf, "%s still waits: %s", who, reason);
                w->kind = kind;
        } else
                log_fields(LOG_DEBUG, &lf, "%s still waits: %s", who, reason);
        w->tries++;
        if (now - w->since >= timeout_usec) {
                snprintf(ret_why, n_why, "waited %llu s on %s, and AWS still refuses (%s, %u times)",
                         (unsigned long long) ((now - w->since) / USEC_PER_SEC), kind_text(w->kind),
                         w->reason, w->tries);
                return -ETIME;
        }
        *ret_delay = reconcile_wait_backoff(&w->rng, w->tries, poll_usec);
        return 0;
}

void reconcile_wait_over(struct reconcile_wait *w, const struct log_fields *f) {
        char who[256];

        if (!reconcile_wait_active(w))
                return;
        subject(f, who, sizeof who);
        log_fields(LOG_INFO, f, "%s goes on after waiting %.1f s on %s (%u refusals).", who,
                   (double) (clock_now_usec(CLOCK_MONOTONIC) - w->since) / USEC_PER_SEC, kind_text(w->kind),
                   w->tries);
        reconcile_wait_reset(w);
}

void reconcile_wait_reset(struct reconcile_wait *w) {
        uint64_t rng = w->rng;

        free(w->reason);
        *w = (struct reconcile_wait){ .rng = rng };
}
