/* How long AWS takes to finish a change of one kind (a stream's creation,
 * a consumer's registration) in one region, as seen by our own polls, and
 * so when the next poll of such a change is worth its call.
 *
 * Polling a stream that cannot be ACTIVE yet spends a budget the whole
 * account shares (DescribeStreamSummary: 20 a second per account): while 5
 * streams are CREATING, polls on a fixed interval crowd each other out, and
 * every poll that waits for a token comes late. So the first poll after a
 * change goes out shortly before the change has been seen to finish
 * before, and only then every poll interval.
 *
 * A sample is the time from AWS's answer to the change until the start of
 * the first poll that saw it done: never shorter than the change took.
 * The estimate is the shortest of the last few samples; a first poll that
 * already finds the change done makes a shorter sample, one that comes
 * too early costs a poll interval or two. So the first poll settles within
 * two poll intervals before the change's real duration, and follows it
 * down when AWS gets faster.
 *
 * Pure: no clock (the caller passes microseconds of one clock), no I/O. */
#pragma once

#include <stdint.h>

#define SETTLE_SAMPLES 4

struct settle_time {
        uint64_t sample[SETTLE_SAMPLES];
        unsigned n;    /* samples kept, at most SETTLE_SAMPLES */
        unsigned next; /* where the next one goes */
};

/* A change of this kind was first seen done elapsed_usec after AWS
 * accepted it. */
void settle_time_add(struct settle_time *s, uint64_t elapsed_usec);

/* The shortest sample kept, or 0 when there is none. */
uint64_t settle_time_estimate(const struct settle_time *s);

/* How long from now until the next poll of a change AWS accepted
 * elapsed_usec ago: at least poll_usec, and no poll before two poll
 * intervals short of the estimate. */
uint64_t settle_time_next_poll(const struct settle_time *s, uint64_t poll_usec, uint64_t elapsed_usec);
