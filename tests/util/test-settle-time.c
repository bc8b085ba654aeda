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

static void test_no_lower_bound_probes_two_intervals_early(void) {
        struct settle_time s = {};

        settle_time_add(&s, 2100 * MS, 0);
        CHECK_INTEQ(settle_time_estimate(&s), 2100 * MS);
        /* Just accepted: the first look 400 ms before it was last seen done. */
        CHECK_INTEQ(settle_time_next_poll(&s, 200 * MS, 0), 1700 * MS);
        CHECK_INTEQ(settle_time_next_poll(&s, 200 * MS, 1 * SEC), 700 * MS);
        /* After the probe: at the estimate, not on the grid of the probe. */
        CHECK_INTEQ(settle_time_next_poll(&s, 200 * MS, 1710 * MS), 200 * MS);
        CHECK_INTEQ(settle_time_next_poll(&s, 200 * MS, 1950 * MS), 150 * MS);
        /* Then a quarter interval later, then every interval. */
        CHECK_INTEQ(settle_time_next_poll(&s, 200 * MS, 2110 * MS), 40 * MS);
        CHECK_INTEQ(settle_time_next_poll(&s, 200 * MS, 2160 * MS), 200 * MS);
        CHECK_INTEQ(settle_time_next_poll(&s, 200 * MS, 3 * SEC), 200 * MS);
        /* A change shorter than two intervals: the first look at the estimate. */
        struct settle_time quick = {};
        settle_time_add(&quick, 300 * MS, 0);
        CHECK_INTEQ(settle_time_next_poll(&quick, 200 * MS, 0), 300 * MS);
}

static void test_bracket_halves_to_the_real_duration(void) {
        struct settle_time s = {};
        uint64_t real = 2013 * MS, poll = 250 * MS, polls_max = 0;

        /* A change that takes 2.013 s, first seen on the 250 ms grid. */
        settle_time_add(&s, 2250 * MS, 2000 * MS);
        for (int change = 0; change < 12; change++) {
                uint64_t t = 0, going = 0, polls = 0;

                for (;;) {
                        t += settle_time_next_poll(&s, poll, t);
                        polls++;
                        if (t >= real)
                                break;
                        going = t;
                }
                settle_time_add(&s, t, going);
                if (change >= 6) {
                        /* Settled: seen done within 10 ms + 1/128 of it... */
                        CHECK(t - real <= 10 * MS + real / 128);
                        if (polls > polls_max)
                                polls_max = polls;
                }
        }
        /* ...with at most 3 polls a change (the grid alone: 9). */
        CHECK(polls_max <= 3);
        CHECK(settle_time_estimate(&s) >= real);
}

static void test_default_poll_aims_between_grid_points(void) {
        struct settle_time s = {};

        /* poll 2 s, creations of 3 s: seen done at 4 s on the grid, going
         * on at 2 s. The next creation is looked at after 3 s, not 4. */
        settle_time_add(&s, 4 * SEC, 2 * SEC);
        CHECK_INTEQ(settle_time_next_poll(&s, 2 * SEC, 0), 3 * SEC);
        /* Still going on at 3 s: at the estimate next. */
        CHECK_INTEQ(settle_time_next_poll(&s, 2 * SEC, 3 * SEC), 1 * SEC);
        settle_time_add(&s, 3 * SEC, 0);
        CHECK_INTEQ(settle_time_estimate(&s), 3 * SEC);
        CHECK_INTEQ(settle_time_next_poll(&s, 2 * SEC, 0), 2500 * MS);
}

static void test_shortest_of_the_last_few(void) {
        struct settle_time s = {};

        /* AWS: creations of 45, 30, 60, 50 s; the shortest counts. */
        settle_time_add(&s, 45 * SEC, 0);
        settle_time_add(&s, 30 * SEC, 0);
        settle_time_add(&s, 60 * SEC, 0);
        settle_time_add(&s, 50 * SEC, 0);
        CHECK_INTEQ(settle_time_estimate(&s), 30 * SEC);
        CHECK_INTEQ(settle_time_next_poll(&s, 5 * SEC, 0), 20 * SEC);
        /* After the estimate: the longest seen is more than an interval
         * away, so every interval. */
        CHECK_INTEQ(settle_time_next_poll(&s, 5 * SEC, 31250 * MS), 5 * SEC);
        /* Only the last SETTLE_SAMPLES count: the 45 s one, then the 30 s
         * one age out. */
        settle_time_add(&s, 55 * SEC, 0);
        CHECK_INTEQ(settle_time_estimate(&s), 30 * SEC);
        settle_time_add(&s, 58 * SEC, 0);
        CHECK_INTEQ(settle_time_estimate(&s), 50 * SEC);
        /* Faster again: followed at once. */
        settle_time_add(&s, 20 * SEC, 0);
        CHECK_INTEQ(settle_time_estimate(&s), 20 * SEC);
        CHECK_INTEQ(s.n, SETTLE_SAMPLES);
        /* A "going on" not below the estimate (a slower change) is no
         * lower bound. */
        settle_time_add(&s, 40 * SEC, 35 * SEC);
        CHECK_INTEQ(settle_time_next_poll(&s, 5 * SEC, 0), 10 * SEC);
}

int main(void) {
        test_nothing_learnt_polls_on_the_interval();
        test_no_lower_bound_probes_two_intervals_early();
        test_bracket_halves_to_the_real_duration();
        test_default_poll_aims_between_grid_points();
        test_shortest_of_the_last_few();
        return test_summary("settle-time");
}
