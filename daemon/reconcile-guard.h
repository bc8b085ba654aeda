/* What a reconciler remembers about the changes it made, to notice two ways
 * a correction goes wrong:
 *
 *   - no effect: AWS accepted a change, the stream is ACTIVE again, and the
 *     next plan asks for the very same change. It is sent again after a
 *     growing wait, at most RECONCILE_NO_EFFECT_ATTEMPTS times in all, then
 *     the stream fails with what was asked and what AWS shows;
 *   - conflict: a correction kinesisd saw in effect was changed back (another
 *     host, a console user, an autoscaler). The setting is held with
 *     exponential backoff (conflict.h) instead of being flipped every pass.
 *
 * No I/O, no clock (the caller passes it), no logging: the reconciler logs
 * what these functions decide. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conflict.h"
#include "plan.h"
#include "stream.h"

/* Acceptances of one unchanged change before it is reported as failed. */
#define RECONCILE_NO_EFFECT_ATTEMPTS 3

struct reconcile_guard {
        struct conflict_tracker conflicts;
        uint64_t last_key; /* fingerprint of the last change AWS accepted; 0: none */
        unsigned attempts; /* acceptances of that change in a row */
        bool waited;       /* the wait after the last acceptance is over */
};

enum guard_verdict {
        GUARD_ACT,     /* send it */
        GUARD_WAIT,    /* the last acceptance of it has not shown: look again later */
        GUARD_GIVE_UP, /* accepted RECONCILE_NO_EFFECT_ATTEMPTS times without effect */
};

/* The stream was observed ACTIVE and plans a as its next change. On
 * GUARD_WAIT, *ret_wait is how long to wait before observing again: the poll
 * interval doubled with every acceptance (2, 4, 8 x poll). */
enum guard_verdict guard_before_act(struct reconcile_guard *g, const struct action *a, uint64_t poll_usec,
                                    uint64_t *ret_wait);
/* AWS accepted a: remember it, and tell the conflict tracker. */
void guard_accepted(struct reconcile_guard *g, const struct action *a);
/* The stream needs no change now: whatever was accepted took effect, and a
 * later plan asking for it again (after someone changed it back) is not a
 * change without effect. */
void guard_nothing_to_do(struct reconcile_guard *g);
/* Times the change of the last guard_before_act() was accepted. */
unsigned guard_attempts(const struct reconcile_guard *g);

/* "UpdateShardCount to 10 was accepted 3 times but AWS still shows 1 open
 * shard": a change without effect, for the failure message. */
void guard_no_effect_text(const struct reconcile_guard *g, const struct action *a,
                          const struct stream_obs *obs, const char *still, char *buf, size_t n);

/* Nothing to remember: as a new stream's guard (which may then be dropped). */
bool guard_is_empty(const struct reconcile_guard *g);

/* The setting an action changes. */
enum stream_setting guard_action_setting(enum action_type t);

/* Feed a fresh plan of an ACTIVE stream to the conflict tracker. Returns the
 * settings found changed back (1u << setting): they are held from now. */
unsigned guard_observe(struct reconcile_guard *g, const struct plan *p, uint64_t now_mono,
                       uint64_t hold_base_usec);

/* "shards was changed back to 2 after kinesisd set 4 (declared)"; AWS's text
 * (keys, tag values) escaped. */
void guard_conflict_text(enum stream_setting s, const struct stream_decl *decl, const struct stream_obs *obs,
                         char *buf, size_t n);

/* The warning for setting s found changed back at now (CLOCK_MONOTONIC):
 * "Stream orders: shards was changed back to 2 after kinesisd set 4
 * (declared); another party manages it. Not correcting shards for 10 min." */
void guard_conflict_message(const struct reconcile_guard *g, enum stream_setting s,
                            const struct stream_decl *decl, const struct stream_obs *obs, uint64_t now,
                            char *buf, size_t n);

/* Carry the conflict history of a reconciler into the one of a new
 * configuration, forgetting the settings whose declaration changed. Returns
 * whether none did (nor the manage mode). */
bool guard_adopt(struct reconcile_guard *g, const struct reconcile_guard *old,
                 const struct stream_decl *decl, const struct stream_decl *old_decl);
/* Whether two declarations of a stream ask for the same (settings and manage
 * mode). */
bool guard_decl_same(const struct stream_decl *decl, const struct stream_decl *old_decl);
