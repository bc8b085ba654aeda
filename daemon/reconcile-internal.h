/* What reconcile.c and reconcile-slot.c share: the reconciler itself and
 * the slot queue's face. Nothing outside daemon/reconcile*.c includes it:
 * the rest of the daemon sees reconcile.h. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "reconcile.h"
#include "reconcile-guard.h"
#include "reconcile-wait.h"

enum reconcile_phase {
        PHASE_IDLE,
        PHASE_DESCRIBE,
        PHASE_LIST_TAGS,
        PHASE_GET_POLICY,
        PHASE_LIST_CONSUMERS,
        PHASE_WAIT_SLOT,
        PHASE_ACT,
        PHASE_POLL,
        PHASE_WAIT_AWS, /* refused for a limit or busy: the same step again after a backoff */
        PHASE_DONE,
        PHASE_FAILED,
        _PHASE_MAX,
};

/* What a stream needs only while it is being worked on: from the start of
 * a pass until it settles with nothing left pending (no call, timer, queue,
 * slot, wait, or --plan's plan). Then it is freed: with thousands of
 * declared streams, most sit settled between passes. */
struct reconcile_work {
        struct kinesis_call *call;
        sd_event_source *timer;

        struct plan plan;
        bool have_plan : 1;

        bool holds_slot : 1;
        struct reconcile_queue *queue; /* the one it waits in, or NULL */
        struct reconciler *slot_next;

        uint64_t wait_started; /* CLOCK_MONOTONIC; 0 when not waiting for ACTIVE */
        uint64_t created_usec; /* CLOCK_MONOTONIC: our CreateStream was accepted; 0 once
                                  seen ACTIVE (a sample of region->stream_settle) */
        uint64_t creating_seen_usec; /* after created_usec, the last poll that still saw it
                                        CREATING started (the sample's lower bound) */
        uint64_t registered_usec; /* likewise our latest RegisterStreamConsumer, while
                                     consumers of ours are CREATING */
        uint64_t call_usec;    /* CLOCK_MONOTONIC: the running Describe or List started */
        unsigned actions_this_pass;

        /* The tags read this pass still hold: only a tag change of ours (or a
         * new pass) makes them worth a ListTagsForStream again, a call AWS
         * allows 5 times a second per account. */
        bool tags_fresh : 1;
        bool consumers_fresh : 1;    /* likewise the consumers, until we register one */
        bool policy_fresh : 1;       /* likewise the resource policy, until we change it */
        bool poll_consumers : 1;     /* the poll timer lists consumers, not the stream */
        bool consumer_turn : 1;      /* handed a consumer slot: act() registers without queueing */
        char *detail_consumer;   /* the consumer whose tags or policy are being read */
        unsigned consumer_slots; /* its consumers counted in region->consumers_creating */

        struct reconcile_wait wait;
        void (*wait_step)(struct reconciler *r); /* what to try again when the wait timer fires */
};

/* What few streams have to remember: kept apart from struct reconciler
 * and allocated only while one of them is set (rare_tidy() frees it when
 * none is). */
struct reconcile_rare {
        uint64_t deleting_logged; /* CLOCK_MONOTONIC: the DELETING wait last logged; 0: not */
        char *seed_arn;   /* the ARN the previous process exported: kept in the exports
                             until AWS says the stream is gone, so a start while AWS is
                             unreachable does not take ARNs away from other services */
        char *not_managed;       /* declared settings left alone here, and why (said once); NULL: none */
        struct reconcile_guard *guard; /* changes without effect, conflicts; NULL: nothing
                                          to remember (most streams, most of the time) */
};

/* One per declared stream, for the daemon's lifetime (and carried over a
 * reload by reconciler_adopt()): what it must remember between passes.
 * Tens of thousands of them, so what it can find through its block (its
 * declaration, its region) it finds there rather than holding a pointer. */
struct reconciler {
        struct reconcile_work *w;        /* NULL while settled with nothing pending */
        struct stream_obs *obs;    /* what AWS showed; NULL between passes when that is
                                      nothing (the stream does not exist): see obs_peek() */
        struct reconcile_rare *rare; /* NULL: none of its fields set */

        const char *last_error;   /* settings.texts' */
        const char *last_refusal; /* warned once per distinct text; settings.texts' */

        /* History kept across passes and reloads, in whole seconds of
         * CLOCK_REALTIME (as streams.json and the deep checks' file keep
         * them; time_sec()); the budgets are in the manager's book
         * (settings.budget). */
        uint32_t last_change_sec;
        uint32_t deep_sec; /* the last DescribeStreamSummary that found it; 0: none */

        uint32_t index;        /* in its block: its declaration is decls[index] (decl_of()) */
        uint16_t region_index; /* its region is the block's regions[region_index] (region_of()) */
        enum reconcile_phase phase : 4;
        bool stopping : 1;
        bool seen_not_active : 1;  /* AWS showed it CREATING, DELETING or missing (or we created
                                  it) since it was last seen ACTIVE: the next ACTIVE is
                                  the stream becoming usable, logged once with its
                                  MESSAGE_ID (polling its consumers is no such thing) */
        bool seen_updating : 1;    /* likewise UPDATING: the next ACTIVE ends an update, logged
                                  without the MESSAGE_ID (a new stream's settings applied
                                  after its creation are no second "is ACTIVE") */
        bool terminal : 1;
        bool settled : 1; /* the owner was told this pass */
        bool observed : 1;    /* AWS said whether the stream exists (or a pass failed first) */
        bool failed_last : 1; /* the last pass that settled (not cut short by a stop) failed */
        bool seed_exported : 1; /* seed_arn was in streams.env and its .arn file, not only in
                               streams.json (the stream was not ACTIVE then) */
        bool quiet_last : 1;    /* the last pass settled in sync, without a change of ours */
        bool drift_left : 1;    /* settled with a correction it may not make now */
        bool shallow : 1;       /* known from the listing only (status, mode, ARN; shards and
                                   retention as a previous process exported them): its
                                   settings wait for its deep check */
        bool deep_due : 1;      /* deep-check it in its next pass, whatever its turn: its
                                   declaration changed while it was shallow */
};
_Static_assert(sizeof(struct reconciler) <= 56, "struct reconciler: one per declared stream");
_Static_assert(_PHASE_MAX <= 16, "enum reconcile_phase: in 4 bits");

/* A CLOCK_REALTIME time in whole seconds, as struct reconciler keeps it
 * (0 stays 0: none; past 2106, the last second it can hold). */
static inline uint32_t time_sec(uint64_t realtime_usec) {
        uint64_t s = realtime_usec / USEC_PER_SEC;
        return s > UINT32_MAX ? UINT32_MAX : (uint32_t) s;
}

/* reconcilers_new()'s allocation: the reconcilers of one configuration,
 * after what they find through it. */
struct reconcile_block {
        const struct stream_decl *decls; /* the configuration's, parallel to r */
        struct reconcile_region **regions;
        size_t n_regions;
        struct reconciler r[];
};

static inline const struct reconcile_block *block_of(const struct reconciler *r) {
        return (const struct reconcile_block *) (const void *) ((const char *) (r - r->index) -
                                                                offsetof(struct reconcile_block, r));
}

/* r's declaration. */
static inline const struct stream_decl *decl_of(const struct reconciler *r) {
        return &block_of(r)->decls[r->index];
}

/* r's region, also its loop, settings and owner. */
static inline struct reconcile_region *region_of(const struct reconciler *r) {
        return block_of(r)->regions[r->region_index];
}

/* r's observation to read: an empty one when it has none. During a pass
 * r->obs is always there. */
static inline const struct stream_obs *obs_peek(const struct reconciler *r) {
        static const struct stream_obs none;
        return r->obs ? r->obs : &none;
}

/* r's rare fields to read: empty ones when it has none. */
static inline const struct reconcile_rare *rare_peek(const struct reconciler *r) {
        static const struct reconcile_rare none;
        return r->rare ? r->rare : &none;
}

/* r's guard, or NULL when it has none. */
static inline struct reconcile_guard *guard_of(const struct reconciler *r) {
        return r->rare ? r->rare->guard : NULL;
}

/* r's guard to read: an empty one when it has none. */
static inline const struct reconcile_guard *guard_peek(const struct reconciler *r) {
        static const struct reconcile_guard empty;
        return guard_of(r) ? guard_of(r) : &empty;
}

/* Send the first action of the plan (reconcile.c): CreateStream waits for a slot. */
void act(struct reconciler *r);

/* reconcile-slot.c */
/* Leave whatever queue r waits in (none: nothing happens). */
void slot_dequeue(struct reconciler *r);
void slot_enqueue(struct reconciler *r);
/* Wait for a consumer slot (FIFO); act() again when one is free. */
void consumer_slot_enqueue(struct reconciler *r);
/* Hand free consumer slots to the streams that have waited longest. */
void consumer_slot_dispatch(struct reconcile_region *g);
/* Back to the head of the queue (refused: it keeps its place), in PHASE_WAIT_SLOT. */
void slot_requeue_first(struct reconciler *r);
/* Back in line after those put back before it: its CreateStream was
 * withdrawn before it went out. */
void slot_requeue_withdrawn(struct reconciler *r);
void slot_take(struct reconciler *r);
/* Give r's slot back and hand free ones on. */
void slot_release(struct reconciler *r);
/* A share's cap now: max when nothing was refused (struct slot_share). */
unsigned share_cap(const struct slot_share *s, unsigned max);
/* Refused for the account's limit while holding `held` of its slots. */
void share_refused(struct slot_share *s, unsigned held);
/* How many of ours may be CREATING in the region now. */
unsigned slot_cap(const struct reconcile_region *g);
/* A RegisterStreamConsumer of ours went through. */
void consumer_registered_ok(struct reconcile_region *g);
/* A CreateStream of ours got through: the hold's backoff starts over, the
 * cap grows back, queued streams follow. */
void slot_created(struct reconcile_region *g);
/* Hand free slots to the streams queued longest; at most max of them. */
void slot_dispatch(struct reconcile_region *g, unsigned max);
/* One of ours left CREATING: end a hold, let one stream try. */
void region_hold_end(struct reconcile_region *g);
/* A CreateStream of r was refused for the account's CREATING limit: hold
 * the region's creations for a backoff starting near base_usec. */
int region_hold(struct reconciler *r, uint64_t base_usec);
