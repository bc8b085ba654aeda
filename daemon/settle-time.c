/* Learnt durations of AWS's changes: see settle-time.h. */
#include "settle-time.h"

void settle_time_add(struct settle_time *s, uint64_t elapsed_usec) {
        s->sample[s->next] = elapsed_usec;
        s->next = (s->next + 1) % SETTLE_SAMPLES;
        if (s->n < SETTLE_SAMPLES)
                s->n++;
}

uint64_t settle_time_estimate(const struct settle_time *s) {
        uint64_t min = 0;

        for (unsigned i = 0; i < s->n; i++)
                if (i == 0 || s->sample[i] < min)
                        min = s->sample[i];
        return min;
}

uint64_t settle_time_next_poll(const struct settle_time *s, uint64_t poll_usec, uint64_t elapsed_usec) {
        uint64_t est = settle_time_estimate(s), first;

        if (est <= 2 * poll_usec)
                return poll_usec;
        first = est - 2 * poll_usec;
        if (elapsed_usec >= first || first - elapsed_usec < poll_usec)
                return poll_usec;
        return first - elapsed_usec;
}
