/* Unit tests of the conflict tracker (daemon/conflict.c). */
#include "conflict.h"
#include "testlib.h"

#define SEC UINT64_C(1000000)

static void test_plain_drift_is_no_conflict(void) {
        struct conflict_tracker t = {};

        /* Drift kinesisd never corrected: nothing to say, nothing held. */
        CHECK_INTEQ(conflict_observe(&t, SETTING_SHARDS, false, 10 * SEC, 60 * SEC), CONFLICT_NONE);
        CHECK(!conflict_held(&t, SETTING_SHARDS, 10 * SEC));
        /* Corrected but never seen in effect (a step under way, or no effect). */
        conflict_corrected(&t, SETTING_SHARDS);
        CHECK_INTEQ(conflict_observe(&t, SETTING_SHARDS, false, 11 * SEC, 60 * SEC), CONFLICT_NONE);
        CHECK_INTEQ(conflict_observe(&t, SETTING_SHARDS, false, 12 * SEC, 60 * SEC), CONFLICT_NONE);
        CHECK_INTEQ(conflict_reverts(&t, SETTING_SHARDS), 0);
        CHECK_INTEQ(conflict_held_mask(&t, 12 * SEC), 0);
}

static void test_revert_holds_with_backoff(void) {
        struct conflict_tracker t = {};
        uint64_t base = 60 * SEC, now = 100 * SEC;

        conflict_corrected(&t, SETTING_TAGS);
        CHECK_INTEQ(conflict_observe(&t, SETTING_TAGS, true, now, base), CONFLICT_NONE);
        /* Seen in sync again: still no conflict. */
        CHECK_INTEQ(conflict_observe(&t, SETTING_TAGS, true, now + SEC, base), CONFLICT_NONE);
        /* Changed back: a conflict, held for the base. */
        now += 10 * SEC;
        CHECK_INTEQ(conflict_observe(&t, SETTING_TAGS, false, now, base), CONFLICT_REVERTED);
        CHECK_INTEQ(conflict_reverts(&t, SETTING_TAGS), 1);
        CHECK(conflict_held(&t, SETTING_TAGS, now));
        CHECK(conflict_held(&t, SETTING_TAGS, now + base - 1));
        CHECK(!conflict_held(&t, SETTING_TAGS, now + base));
        CHECK_INTEQ(conflict_hold_until(&t, SETTING_TAGS), now + base);
        CHECK_INTEQ(conflict_held_mask(&t, now), 1u << SETTING_TAGS);
        CHECK(!conflict_held(&t, SETTING_SHARDS, now));
        /* Still drifting while held: said once, not again. */
        CHECK_INTEQ(conflict_observe(&t, SETTING_TAGS, false, now + SEC, base), CONFLICT_NONE);

        /* After the hold: corrected, in effect, changed back again: twice as long. */
        now += base;
        conflict_corrected(&t, SETTING_TAGS);
        CHECK_INTEQ(conflict_observe(&t, SETTING_TAGS, true, now, base), CONFLICT_NONE);
        now += SEC;
        CHECK_INTEQ(conflict_observe(&t, SETTING_TAGS, false, now, base), CONFLICT_REVERTED);
        CHECK_INTEQ(conflict_reverts(&t, SETTING_TAGS), 2);
        CHECK_INTEQ(conflict_hold_until(&t, SETTING_TAGS), now + 2 * base);

        /* Many more: capped at a day. */
        for (int i = 0; i < 40; i++) {
                conflict_corrected(&t, SETTING_TAGS);
                conflict_observe(&t, SETTING_TAGS, true, now, base);
                CHECK_INTEQ(conflict_observe(&t, SETTING_TAGS, false, now, base), CONFLICT_REVERTED);
        }
        CHECK_INTEQ(conflict_hold_until(&t, SETTING_TAGS), now + CONFLICT_HOLD_MAX_USEC);
}

static void test_forget(void) {
        struct conflict_tracker t = {};

        conflict_corrected(&t, SETTING_RETENTION);
        conflict_observe(&t, SETTING_RETENTION, true, SEC, SEC);
        CHECK_INTEQ(conflict_observe(&t, SETTING_RETENTION, false, 2 * SEC, 100 * SEC), CONFLICT_REVERTED);
        conflict_forget(&t, SETTING_RETENTION);
        CHECK(!conflict_held(&t, SETTING_RETENTION, 2 * SEC));
        CHECK_INTEQ(conflict_reverts(&t, SETTING_RETENTION), 0);
        CHECK_INTEQ(conflict_observe(&t, SETTING_RETENTION, false, 3 * SEC, SEC), CONFLICT_NONE);
}

static void test_names(void) {
        CHECK_STREQ(stream_setting_to_string(SETTING_SHARDS), "shards");
        CHECK_STREQ(stream_setting_to_string(SETTING_TAGS), "tags");
        for (unsigned s = 0; s < _SETTING_MAX; s++)
                CHECK(stream_setting_to_string((enum stream_setting) s) != NULL);
        CHECK(stream_setting_to_string(_SETTING_MAX) == NULL);
        /* Out-of-range settings are ignored, not written past the array. */
        struct conflict_tracker t = {};
        conflict_corrected(&t, _SETTING_MAX);
        CHECK_INTEQ(conflict_observe(&t, _SETTING_MAX, false, 1, 1), CONFLICT_NONE);
        CHECK(!conflict_held(&t, _SETTING_MAX, 0));
}

int main(void) {
        test_plain_drift_is_no_conflict();
        test_revert_holds_with_backoff();
        test_forget();
        test_names();
        return test_summary("conflict");
}
