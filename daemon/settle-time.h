/* How long AWS takes to finish a change of one kind (a stream's creation,
 * a consumer's registration) in one region, as seen by our own polls, and
 * so when the next poll of such a change is worth its call.
 *
 * Polling a stream that cannot be ACTIVE yet spends a budget the whole
 * account shares (DescribeStreamSummary: 20 a second per account): while 5
 * streams are CREATING, polls on a fixed interval crowd each other out, and
 * every poll that waits for a token comes late. And a poll on a fixed grid
 * sees the change up to a whole interval after it finished: with 5 streams
 * CREATING at once, the next creation waits for that look. So the polls of
 * a change aim at when such changes were seen to finish before.
 *
 * A sample is the time from AWS's answer to the change until the start of
 * the first poll that saw it done (never shorter than the change took),
 * and, when known, the start of the last poll that still saw it going on
 * (shorter than the change took). The estimate is the shortest "done" of
 * the last few samples; the longest "going on" below it is a lower bound.
 * The polls of a change go out:
 *   - with a lower bound: first halfway between it and the estimate, while
 *     the two are further apart than 1/128 of the estimate (at least
 *     10 ms), so that a few changes narrow the estimate down to the
 *     change's real duration; without one: two poll intervals before the
 *     estimate, when it is that long (a probe that finds a faster AWS);
 *   - then at the estimate, a quarter interval after it, and at the
 *     longest "done" of the samples;
 *   - and then every poll interval.
 * Never more than a poll interval apart once the first has gone out.
 *
 * Pure: no clock (the caller passes microseconds of one clock), no I/O. */
#pragma once

#include <stdint.h>

#define SETTLE_SAMPLES 4

struct settle_time {
        uint64_t done[SETTLE_SAMPLES];  /* first poll that saw it done */
        uint64_t going[SETTLE_SAMPLES]; /* last poll that saw it going on; 0: none */
        unsigned n;                     /* samples kept, at most SETTLE_SAMPLES */
        unsigned next;                  /* where the next one goes */
};

/* A change of this kind was first seen done done_usec after AWS accepted
 * it; the last poll before that saw it going on at going_usec (0: there was
 * no such poll, or it is not known). */
void settle_time_add(struct settle_time *s, uint64_t done_usec, uint64_t going_usec);

/* The shortest "done" kept, or 0 when there is none. */
uint64_t settle_time_estimate(const struct settle_time *s);

/* How long from now until the next poll of a change AWS accepted
 * elapsed_usec ago (see above): poll_usec when nothing is learnt. */
uint64_t settle_time_next_poll(const struct settle_time *s, uint64_t poll_usec, uint64_t elapsed_usec);
