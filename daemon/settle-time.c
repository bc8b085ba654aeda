/* Learnt durations of AWS's changes: see settle-time.h. */
#include "settle-time.h"

/* Halving the bracket stops below this share of the estimate... */
#define SETTLE_PRECISION_DIV 128
/* ...or below this many microseconds. */
#define SETTLE_PRECISION_MIN_USEC 10000

void settle_time_add(struct settle_time *s, uint64_t done_usec, uint64_t going_usec) {
        s->done[s->next] = done_usec;
        s->going[s->next] = going_usec < done_usec ? going_usec : 0;
        s->next = (s->next + 1) % SETTLE_SAMPLES;
        if (s->n < SETTLE_SAMPLES)
                s->n++;
}

uint64_t settle_time_estimate(const struct settle_time *s) {
        uint64_t min = 0;

        for (unsigned i = 0; i < s->n; i++)
                if (i == 0 || s->done[i] < min)
                        min = s->done[i];
        return min;
}

/* The longest "going on" shorter than est, 0 if none; and the longest
 * "done". */
static uint64_t lower_bound(const struct settle_time *s, uint64_t est, uint64_t *ret_longest) {
        uint64_t lo = 0, longest = 0;

        for (unsigned i = 0; i < s->n; i++) {
                if (s->going[i] < est && s->going[i] > lo)
                        lo = s->going[i];
                if (s->done[i] > longest)
                        longest = s->done[i];
        }
        *ret_longest = longest;
        return lo;
}

uint64_t settle_time_next_poll(const struct settle_time *s, uint64_t poll_usec, uint64_t elapsed_usec) {
        uint64_t est = settle_time_estimate(s), longest, lo, first = 0, next = 0, precision;
        uint64_t aim[4];

        if (est == 0)
                return poll_usec;
        lo = lower_bound(s, est, &longest);
        precision = est / SETTLE_PRECISION_DIV;
        if (precision < SETTLE_PRECISION_MIN_USEC)
                precision = SETTLE_PRECISION_MIN_USEC;
        if (lo > 0) {
                if (est - lo > precision)
                        first = lo + (est - lo) / 2;
        } else if (est > 2 * poll_usec)
                first = est - 2 * poll_usec;
        aim[0] = first;
        aim[1] = est;
        aim[2] = est + poll_usec / 4;
        aim[3] = longest;
        for (unsigned i = 0; i < 4; i++)
                if (aim[i] > elapsed_usec && (next == 0 || aim[i] < next))
                        next = aim[i];
        /* Before the first look: wait for it, however long. After it: at
         * least every poll interval. */
        if (next != 0 && elapsed_usec < (first ? first : est))
                return next - elapsed_usec;
        if (next == 0 || next - elapsed_usec > poll_usec)
                return poll_usec;
        return next - elapsed_usec;
}
