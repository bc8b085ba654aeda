/* Unit tests of the reconciler's guard (daemon/reconcile-guard.c): changes
 * accepted without effect, conflict messages, and what a reload keeps. */
#include <stdlib.h>
#include <string.h>

#include "reconcile-guard.h"
#include "testlib.h"

#define MSEC UINT64_C(1000)
#define SEC  UINT64_C(1000000)

static void test_no_effect_sequence(void) {
        struct reconcile_guard g = {};
        struct action a = {.type = ACTION_UPDATE_SHARD_COUNT, .value = 10};
        struct action other = {.type = ACTION_UPDATE_SHARD_COUNT, .value = 8};
        struct stream_obs obs = {.exists = true, .open_shards = 1};
        uint64_t wait = 0;
        char buf[256];

        /* First time: send. Accepted; the same change asked again: wait 2 x poll. */
        CHECK_INTEQ(guard_before_act(&g, &a, 100 * MSEC, &wait), GUARD_ACT);
        guard_accepted(&g, &a);
        CHECK_INTEQ(guard_before_act(&g, &a, 100 * MSEC, &wait), GUARD_WAIT);
        CHECK_INTEQ(wait, 200 * MSEC);
        /* Still asked after the wait: send again (attempt 2), then wait 4 x. */
        CHECK_INTEQ(guard_before_act(&g, &a, 100 * MSEC, &wait), GUARD_ACT);
        guard_accepted(&g, &a);
        CHECK_INTEQ(guard_attempts(&g), 2);
        CHECK_INTEQ(guard_before_act(&g, &a, 100 * MSEC, &wait), GUARD_WAIT);
        CHECK_INTEQ(wait, 400 * MSEC);
        CHECK_INTEQ(guard_before_act(&g, &a, 100 * MSEC, &wait), GUARD_ACT);
        guard_accepted(&g, &a);
        CHECK_INTEQ(guard_before_act(&g, &a, 100 * MSEC, &wait), GUARD_WAIT);
        CHECK_INTEQ(wait, 800 * MSEC);
        /* Third acceptance without effect: give up, and stay given up. */
        CHECK_INTEQ(guard_before_act(&g, &a, 100 * MSEC, &wait), GUARD_GIVE_UP);
        CHECK_INTEQ(guard_before_act(&g, &a, 100 * MSEC, &wait), GUARD_GIVE_UP);
        guard_no_effect_text(&g, &a, &obs, "shards 1 -> 10", buf, sizeof buf);
        CHECK_STREQ(buf, "UpdateShardCount to 10 was accepted 3 times but AWS still shows 1 open shard");
        /* Another target is another change. */
        CHECK_INTEQ(guard_before_act(&g, &other, 100 * MSEC, &wait), GUARD_ACT);
        CHECK_INTEQ(guard_attempts(&g), 0);
}

static void test_effect_then_changed_back(void) {
        struct reconcile_guard g = {};
        struct stream_tag t = {.key = (char *)"owner", .value = (char *)"A"};
        struct action a = {.type = ACTION_ADD_TAGS, .tags = &t, .n_tags = 1};
        uint64_t wait = 0;

        CHECK_INTEQ(guard_before_act(&g, &a, SEC, &wait), GUARD_ACT);
        guard_accepted(&g, &a);
        /* It took effect: the next plan had nothing to do. */
        guard_nothing_to_do(&g);
        /* Changed back later: the same change is a new one, not one without effect. */
        CHECK_INTEQ(guard_before_act(&g, &a, SEC, &wait), GUARD_ACT);
        CHECK_INTEQ(guard_attempts(&g), 0);
}

static void test_conflict_observed(void) {
        struct reconcile_guard g = {};
        struct stream_tag t = {.key = (char *)"owner", .value = (char *)"A"};
        struct action a = {.type = ACTION_ADD_TAGS, .tags = &t, .n_tags = 1};
        struct plan in_sync = {}, differs = {.differs = 1u << SETTING_TAGS};

        guard_accepted(&g, &a);
        CHECK_INTEQ(guard_observe(&g, &in_sync, 10 * SEC, 2 * SEC), 0);
        CHECK_INTEQ(guard_observe(&g, &differs, 20 * SEC, 2 * SEC), 1u << SETTING_TAGS);
        CHECK(conflict_held(&g.conflicts, SETTING_TAGS, 21 * SEC));
        CHECK(!conflict_held(&g.conflicts, SETTING_TAGS, 22 * SEC));
        CHECK_INTEQ(guard_action_setting(ACTION_DECREASE_RETENTION), SETTING_RETENTION);
        CHECK_INTEQ(guard_action_setting(ACTION_REMOVE_TAGS), SETTING_TAGS);
}

static void test_conflict_messages(void) {
        struct reconcile_guard g = {};
        struct stream_tag dtags[] = {{(char *)"owner", (char *)"A"}, {(char *)"team", (char *)"x"}};
        struct stream_tag otags[] = {{(char *)"aws:cdk", (char *)"1"},
                                     {(char *)"extra", (char *)"e\n\"q\""},
                                     {(char *)"owner", (char *)"B"},
                                     {(char *)"team", (char *)"x"}};
        struct stream_decl_extra dx = {.tags = dtags, .n_tags = 2};
        struct stream_decl d = {.name = (char *)"orders",
                                .shards = 4,
                                .retention_hours = 48,
                                .x = &dx,
                                .tags_declared = true};
        struct stream_obs o = {.exists = true,
                               .open_shards = 2,
                               .retention_hours = 24,
                               .tags = otags,
                               .n_tags = 4,
                               .tags_known = true};
        struct plan differs = {.differs = 1u << SETTING_SHARDS};
        char buf[1024];

        conflict_corrected(&g.conflicts, SETTING_SHARDS);
        (void)conflict_observe(&g.conflicts, SETTING_SHARDS, true, 0, 600 * SEC);
        CHECK_INTEQ(guard_observe(&g, &differs, 100 * SEC, 600 * SEC), 1u << SETTING_SHARDS);
        guard_conflict_message(&g, SETTING_SHARDS, &d, &o, 100 * SEC, buf, sizeof buf);
        CHECK_STREQ(buf,
                    "Stream orders: shards was changed back to 2 after kinesisd set 4 (declared); another "
                    "party manages it. Not correcting shards for 10 min.");
        guard_conflict_text(SETTING_RETENTION, &d, &o, buf, sizeof buf);
        CHECK_STREQ(buf, "retention was changed back to 24h after kinesisd set 48h");
        /* Tags: the differing keys with both values, AWS's text escaped,
         * aws: tags left out. */
        guard_conflict_text(SETTING_TAGS, &d, &o, buf, sizeof buf);
        CHECK_STREQ(buf, "tags were changed back: \"owner\" \"B\" in AWS, kinesisd set \"A\"; "
                         "\"extra\" \"e\\x0a\\\"q\\\"\" in AWS, not declared");
}

static void test_adopt_forgets_changed_declarations(void) {
        struct reconcile_guard old = {}, g = {};
        struct stream_decl d1 = {
                .name = (char *)"s", .shards = 4, .retention_hours = 48, .x = &stream_decl_extra_none};
        struct stream_decl d2 = d1;
        struct plan differs = {.differs = (1u << SETTING_SHARDS) | (1u << SETTING_RETENTION)};

        for (unsigned s = SETTING_SHARDS; s <= SETTING_RETENTION; s++) {
                conflict_corrected(&old.conflicts, (enum stream_setting)s);
                (void)conflict_observe(&old.conflicts, (enum stream_setting)s, true, 0, SEC);
        }
        CHECK_INTEQ(guard_observe(&old, &differs, 10 * SEC, 100 * SEC),
                    (1u << SETTING_SHARDS) | (1u << SETTING_RETENTION));
        d2.shards = 8;
        guard_adopt(&g, &old, &d2, &d1);
        CHECK(!conflict_held(&g.conflicts, SETTING_SHARDS, 11 * SEC));
        CHECK(conflict_held(&g.conflicts, SETTING_RETENTION, 11 * SEC));
}

/* A reconciler drops a guard that is empty (reconcile.c keeps none for most
 * streams): empty must mean "nothing to remember", or a dropped guard would
 * forget a correction to watch, a hold, or a change without effect. */
static void test_empty(void) {
        struct reconcile_guard g = {};
        struct stream_tag t = {.key = (char *)"owner", .value = (char *)"A"};
        struct action a = {.type = ACTION_ADD_TAGS, .tags = &t, .n_tags = 1};
        struct plan in_sync = {}, differs = {.differs = 1u << SETTING_TAGS};

        CHECK(guard_is_empty(&g));
        /* An empty guard's observation changes nothing: it may be skipped. */
        CHECK_INTEQ(guard_observe(&g, &differs, 10 * SEC, 2 * SEC), 0);
        CHECK_INTEQ(guard_observe(&g, &in_sync, 10 * SEC, 2 * SEC), 0);
        CHECK(guard_is_empty(&g));
        guard_accepted(&g, &a);
        CHECK(!guard_is_empty(&g));
        /* In effect: the change is forgotten, the correction still watched. */
        guard_nothing_to_do(&g);
        CHECK(!guard_is_empty(&g));
        CHECK_INTEQ(guard_observe(&g, &in_sync, 11 * SEC, 2 * SEC), 0);
        CHECK(!guard_is_empty(&g));
        /* Changed back: held, and the hold is remembered. */
        CHECK_INTEQ(guard_observe(&g, &differs, 12 * SEC, 2 * SEC), 1u << SETTING_TAGS);
        CHECK(!guard_is_empty(&g));
}

int main(void) {
        test_empty();
        test_no_effect_sequence();
        test_effect_then_changed_back();
        test_conflict_observed();
        test_conflict_messages();
        test_adopt_forgets_changed_declarations();
        return test_summary("guard");
}
