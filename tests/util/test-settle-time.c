/* Unit tests of the learnt change durations (daemon/settle-time.c). */
#include "settle-time.h"
#include "testlib.h"

#define MS UINT64_C(1000)
#define SEC UINT64_C(1000000)

static void test_nothing_learnt_polls_on_the_interval(void) {
        struct settle_time s = {};

        CHECK_INTEQ(settle_time_estimate(&s), 0);
        CHECK_INTEQ(settle_time_next_poll(&s, 200 * MS, 0), 200 * MS);
        CHECK_INTEQ(settle_time_next_poll(&s, 5 * SEC, 40 * SEC), 5 * SEC);
}

static void test_first_poll_two_intervals_early(void) {
        struct settle_time s = {};

        settle_time_add(&s, 2100 * MS);
        CHECK_INTEQ(settle_time_estimate(&s), 2100 * MS);
        /* Just accepted: the first look 400 ms before it was last seen done. */
        CHECK_INTEQ(settle_time_next_poll(&s, 200 * MS, 0), 1700 * MS);
        CHECK_INTEQ(settle_time_next_poll(&s, 200 * MS, 1 * SEC), 700 * MS);
        /* Past the first look: every interval, never less. */
        CHECK_INTEQ(settle_time_next_poll(&s, 200 * MS, 1600 * MS), 200 * MS);
        CHECK_INTEQ(settle_time_next_poll(&s, 200 * MS, 1700 * MS), 200 * MS);
        CHECK_INTEQ(settle_time_next_poll(&s, 200 * MS, 3 * SEC), 200 * MS);
        /* A change shorter than two intervals: nothing to skip. */
        struct settle_time quick = {};
        settle_time_add(&quick, 300 * MS);
        CHECK_INTEQ(settle_time_next_poll(&quick, 200 * MS, 0), 200 * MS);
        settle_time_add(&quick, 400 * MS);
        CHECK_INTEQ(settle_time_next_poll(&quick, 200 * MS, 0), 200 * MS);
}

static void test_shortest_of_the_last_few(void) {
        struct settle_time s = {};

        /* AWS: creations of 45, 30, 60, 50 s; the shortest counts. */
        settle_time_add(&s, 45 * SEC);
        settle_time_add(&s, 30 * SEC);
        settle_time_add(&s, 60 * SEC);
        settle_time_add(&s, 50 * SEC);
        CHECK_INTEQ(settle_time_estimate(&s), 30 * SEC);
        CHECK_INTEQ(settle_time_next_poll(&s, 5 * SEC, 0), 20 * SEC);
        /* Only the last SETTLE_SAMPLES count: the 45 s one, then the 30 s
         * one age out. */
        settle_time_add(&s, 55 * SEC);
        CHECK_INTEQ(settle_time_estimate(&s), 30 * SEC);
        settle_time_add(&s, 58 * SEC);
        CHECK_INTEQ(settle_time_estimate(&s), 50 * SEC);
        /* Faster again: followed at once. */
        settle_time_add(&s, 20 * SEC);
        CHECK_INTEQ(settle_time_estimate(&s), 20 * SEC);
        CHECK_INTEQ(s.n, SETTLE_SAMPLES);
}

int main(void) {
        test_nothing_learnt_polls_on_the_interval();
        test_first_poll_two_intervals_early();
        test_shortest_of_the_last_few();
        return test_summary("settle-time");
}
