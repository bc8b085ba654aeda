/* Settings of one stream that someone else keeps changing back (see
 * conflict.h). Must stay pure: no I/O, no clock, no logging. */
#include "conflict.h"

#include <stddef.h>

#include "util.h"

static const char *const setting_names[_SETTING_MAX] = {
        [SETTING_MODE] = "mode",
        [SETTING_SHARDS] = "shards",
        [SETTING_RETENTION] = "retention",
        [SETTING_ENCRYPTION] = "encryption",
        [SETTING_METRICS] = "shard-level metrics",
        [SETTING_MAX_RECORD_SIZE] = "max record size",
        [SETTING_TAGS] = "tags",
        [SETTING_CONSUMERS] = "consumers",
        [SETTING_RESOURCE_POLICY] = "resource policy",
        [SETTING_CONSUMER_DETAILS] = "consumer tags and policies",
        [SETTING_DISTRIBUTION] = "record distribution strategy",
        [SETTING_WARM_THROUGHPUT] = "warm throughput",
};

const char *stream_setting_to_string(enum stream_setting s) {
        if ((unsigned) s >= ELEMENTSOF(setting_names))
                return NULL;
        return setting_names[s];
}

static struct conflict_entry *entry(struct conflict_tracker *t, enum stream_setting s) {
        return (unsigned) s < _SETTING_MAX ? &t->e[s] : NULL;
}

static const struct conflict_entry *entry_const(const struct conflict_tracker *t,
                                                enum stream_setting s) {
        return (unsigned) s < _SETTING_MAX ? &t->e[s] : NULL;
}

void conflict_corrected(struct conflict_tracker *t, enum stream_setting s) {
        struct conflict_entry *e = entry(t, s);

        if (!e)
                return;
        e->corrected = true;
        e->confirmed = false;
}

static uint64_t hold_for(unsigned reverts, uint64_t base) {
        uint64_t d = base ? base : 1;

        /* reverts >= 1 here; every further revert doubles the hold. */
        for (unsigned i = 1; i < reverts && d < CONFLICT_HOLD_MAX_USEC; i++)
                d *= 2;
        return d < CONFLICT_HOLD_MAX_USEC ? d : CONFLICT_HOLD_MAX_USEC;
}

enum conflict_event conflict_observe(struct conflict_tracker *t, enum stream_setting s, bool in_sync,
                                     uint64_t now, uint64_t hold_base_usec) {
        struct conflict_entry *e = entry(t, s);

        if (!e)
                return CONFLICT_NONE;
        if (in_sync) {
                /* Our correction took effect: from now on a drift means
                 * somebody changed it back. */
                if (e->corrected)
                        e->confirmed = true;
                return CONFLICT_NONE;
        }
        /* Drift on a setting kinesisd never corrected, or corrected but never
         * saw in effect (a step still under way, or a change without effect,
         * which the reconciler handles), is plain drift. */
        if (!e->confirmed)
                return CONFLICT_NONE;
        e->confirmed = false;
        e->corrected = false;
        e->reverts++;
        e->hold_until = now + hold_for(e->reverts, hold_base_usec);
        return CONFLICT_REVERTED;
}

bool conflict_held(const struct conflict_tracker *t, enum stream_setting s, uint64_t now) {
        const struct conflict_entry *e = entry_const(t, s);

        return e && e->hold_until > now;
}

unsigned conflict_held_mask(const struct conflict_tracker *t, uint64_t now) {
        unsigned mask = 0;

        for (unsigned s = 0; s < _SETTING_MAX; s++)
                if (conflict_held(t, (enum stream_setting) s, now))
                        mask |= 1u << s;
        return mask;
}

uint64_t conflict_hold_until(const struct conflict_tracker *t, enum stream_setting s) {
        const struct conflict_entry *e = entry_const(t, s);

        return e ? e->hold_until : 0;
}

unsigned conflict_reverts(const struct conflict_tracker *t, enum stream_setting s) {
        const struct conflict_entry *e = entry_const(t, s);

        return e ? e->reverts : 0;
}

void conflict_forget(struct conflict_tracker *t, enum stream_setting s) {
        struct conflict_entry *e = entry(t, s);

        if (e)
                *e = (struct conflict_entry){};
}
