/* Settings of one stream that someone else keeps changing back.
 *
 * kinesisd corrects drift. When a value it corrected (and saw take effect)
 * is later found changed again, another party manages the same setting: a
 * second host's kinesisd with another declaration, a console user, an
 * autoscaler. Correcting it on every pass would flip the stream back and
 * forth forever, each flip a call against a budget the whole account
 * shares. The tracker remembers, per setting, that kinesisd corrected it,
 * whether the correction was seen in effect, and how often it was undone,
 * and holds further corrections of that setting back with exponential
 * backoff.
 *
 * Pure: no I/O, no clock (the caller passes CLOCK_MONOTONIC microseconds),
 * no logging, no allocation. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* The settings the planner compares one by one. */
enum stream_setting {
        SETTING_MODE,
        SETTING_SHARDS,
        SETTING_RETENTION,
        SETTING_ENCRYPTION,
        SETTING_METRICS,
        SETTING_MAX_RECORD_SIZE,
        SETTING_TAGS,
        SETTING_CONSUMERS,
        SETTING_RESOURCE_POLICY,
        SETTING_CONSUMER_DETAILS, /* declared consumers' tags and resource policies */
        SETTING_DISTRIBUTION,
        SETTING_WARM_THROUGHPUT,
        _SETTING_MAX,
};
/* "mode", "shards", "retention", ... (as the configuration names them). */
const char *stream_setting_to_string(enum stream_setting s);

/* A hold starts at the caller's base (a resync interval) and doubles with
 * every further revert, up to a day. */
#define CONFLICT_HOLD_MAX_USEC (UINT64_C(24) * 3600 * 1000000)

struct conflict_entry {
        bool corrected;    /* kinesisd changed it and has not yet seen it in sync */
        bool confirmed;    /* ... and then saw it in sync: a later drift is a revert */
        unsigned reverts;  /* times found changed back after a confirmed correction */
        uint64_t hold_until; /* CLOCK_MONOTONIC; no correction before this */
};

struct conflict_tracker {
        struct conflict_entry e[_SETTING_MAX];
};

enum conflict_event {
        CONFLICT_NONE,
        CONFLICT_REVERTED, /* a confirmed correction was undone: a hold has started */
};

/* kinesisd just changed setting s (any step of it). */
void conflict_corrected(struct conflict_tracker *t, enum stream_setting s);

/* A fresh observation of an ACTIVE stream: is s as declared? Returns
 * CONFLICT_REVERTED when a correction kinesisd saw take effect has been
 * undone since; the setting is then held for hold_base_usec << (reverts - 1),
 * at most CONFLICT_HOLD_MAX_USEC, from now. */
enum conflict_event conflict_observe(struct conflict_tracker *t, enum stream_setting s, bool in_sync,
                                     uint64_t now, uint64_t hold_base_usec);

/* Is s held back at now? */
bool conflict_held(const struct conflict_tracker *t, enum stream_setting s, uint64_t now);
/* The held settings as a bit set (1u << setting). */
unsigned conflict_held_mask(const struct conflict_tracker *t, uint64_t now);
/* When the hold of s ends (CLOCK_MONOTONIC), 0 if none. */
uint64_t conflict_hold_until(const struct conflict_tracker *t, enum stream_setting s);
unsigned conflict_reverts(const struct conflict_tracker *t, enum stream_setting s);

/* The declaration of s changed (a reload): what kinesisd corrected towards
 * no longer matters, and neither does its history of reverts. */
void conflict_forget(struct conflict_tracker *t, enum stream_setting s);
