/* What reconcile.c and reconcile-slot.c share: the reconciler itself and
 * the slot queue's face. Nothing outside daemon/reconcile*.c includes it:
 * the rest of the daemon sees reconcile.h. */
#pragma once

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
};

struct reconciler {
        sd_event *event;
        const struct stream_decl *decl;
        struct reconcile_region *region;
        struct reconcile_settings settings;
        const struct reconcile_ops *ops;
        void *owner;

        enum reconcile_phase phase;
        bool stopping;
        struct kinesis_call *call;
        sd_event_source *timer;

        struct stream_obs obs;
        struct plan plan;
        bool have_plan;

        bool holds_slot;
        struct reconcile_queue *queue; /* the one it waits in, or NULL */
        struct reconciler *slot_next;

        uint64_t wait_started; /* CLOCK_MONOTONIC; 0 when not waiting for ACTIVE */
        uint64_t created_usec; /* CLOCK_MONOTONIC: our CreateStream was accepted; 0 once
                                  seen ACTIVE (a sample of region->stream_settle) */
        uint64_t registered_usec; /* likewise our latest RegisterStreamConsumer, while
                                     consumers of ours are CREATING */
        uint64_t call_usec;    /* CLOCK_MONOTONIC: the running Describe or List started */
        bool seen_not_active;  /* AWS showed it CREATING, DELETING or missing (or we created
                                  it) since it was last seen ACTIVE: the next ACTIVE is
                                  the stream becoming usable, logged once with its
                                  MESSAGE_ID (polling its consumers is no such thing) */
        bool seen_updating;    /* likewise UPDATING: the next ACTIVE ends an update, logged
                                  without the MESSAGE_ID (a new stream's settings applied
                                  after its creation are no second "is ACTIVE") */
        uint64_t deleting_logged; /* CLOCK_MONOTONIC: the DELETING wait last logged; 0: not */
        unsigned actions_this_pass;
        bool terminal;
        bool settled; /* the owner was told this pass */
        bool observed;    /* AWS said whether the stream exists (or a pass failed first) */
        bool failed_last; /* the last pass that settled (not cut short by a stop) failed */
        char *seed_arn;   /* the ARN the previous process exported: kept in the exports
                             until AWS says the stream is gone, so a start while AWS is
                             unreachable does not take ARNs away from other services */
        bool seed_exported; /* seed_arn was in streams.env and its .arn file, not only in
                               streams.json (the stream was not ACTIVE then) */

        /* History kept across passes and reloads (CLOCK_REALTIME); the
         * budgets are in the manager's book (settings.budget). */
        uint64_t last_change_usec;
        uint64_t deep_usec; /* the last DescribeStreamSummary that found it; 0: none */
        bool shallow;       /* known from the listing only (status, mode, ARN; shards and
                               retention as a previous process exported them): its
                               settings wait for its deep check */
        bool deep_due;      /* deep-check it in its next pass, whatever its turn: its
                               declaration changed while it was shallow */
        bool quiet_last;    /* the last pass settled in sync, without a change of ours */
        char *last_error;
        char *last_refusal; /* warned once per distinct text */
        struct reconcile_guard guard; /* changes without effect, conflicts */
        bool drift_left;    /* settled with a correction it may not make now */
        struct log_fields lf;

        /* The tags read this pass still hold: only a tag change of ours (or a
         * new pass) makes them worth a ListTagsForStream again, a call AWS
         * allows 5 times a second per account. */
        bool tags_fresh;
        bool consumers_fresh;    /* likewise the consumers, until we register one */
        bool policy_fresh;       /* likewise the resource policy, until we change it */
        char *detail_consumer;   /* the consumer whose tags or policy are being read */
        char *not_managed;       /* declared settings left alone here, and why (said once); NULL: none */
        unsigned consumer_slots; /* its consumers counted in region->consumers_creating */
        bool poll_consumers;     /* the poll timer lists consumers, not the stream */
        bool consumer_turn;      /* handed a consumer slot: act() registers without queueing */

        struct reconcile_wait wait;
        void (*wait_step)(struct reconciler *r); /* what to try again when the wait timer fires */
};

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
