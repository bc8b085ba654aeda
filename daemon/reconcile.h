/* One state machine per declared stream, driven by the event loop:
 * observe (DescribeStreamSummary, tags and consumers when declared), plan,
 * act one step, poll while CREATING or UPDATING, observe again, until the
 * stream matches its declaration or fails.
 *
 * A reconciler never talks to systemd or writes state files: it tells its
 * owner (the manager) through struct reconcile_ops when it settles and when
 * anything exported changed. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "budget.h"
#include "kinesis.h"
#include "plan.h"
#include "reconcile-text.h"
#include "settle-time.h"
#include "state.h"
#include "stream.h"

/* AWS allows at most 5 streams CREATING at once per account and region. */
#define RECONCILE_MAX_CREATING 5
/* At most this many creations between attempts to take one more slot after
 * refusals (struct slot_share). */
#define RECONCILE_GROW_AFTER_MAX 32
/* AWS allows at most 5 consumers CREATING at once per account and region. */
#define RECONCILE_MAX_CONSUMERS_CREATING 5
/* Changes one stream may make in one pass before it counts as not converging:
 * far above any legitimate plan (14 scaling steps + 50 tag chunks ...). */
#define RECONCILE_MAX_ACTIONS_PER_PASS 100

struct reconciler;

/* A FIFO of reconcilers waiting for a slot (a CREATING stream, a CREATING
 * consumer); a reconciler is in at most one at a time. */
struct reconcile_queue {
        struct reconciler *head, *tail;
};

struct reconcile_ops {
        void (*settled)(struct reconciler *r, void *owner); /* done or failed for this pass */
        void (*changed)(struct reconciler *r, void *owner); /* something exported changed */
        void (*change_made)(struct reconciler *r, void *owner); /* a change succeeded in AWS */
        void (*call_started)(void *owner);
        void (*call_finished)(void *owner);
        void (*conflict)(struct reconciler *r, void *owner); /* a correction was changed back */
};

struct reconcile_settings {
        uint64_t poll_usec;
        uint64_t timeout_usec;
        bool plan_only;              /* observe and plan; never act */
        struct budget_book *budget;  /* the manager's, shared by every reconciler:
                                        read for the planner, written after each
                                        counted call and CreateStream; NULL: none */
        uint64_t conflict_hold_usec; /* the first hold of a setting changed back (doubles) */
        struct text_pool *texts;     /* the manager's, where last errors and refusals are
                                        shared (reconcile-text.h); NULL: a copy each */
};

/* What the reconcilers of one region share: the client and the create slots. */
/* How many of an account's 5 CREATING slots (streams, or consumers) we may
 * use, as learnt from refusals: at each, the cap drops to what we hold (at
 * least one), and it grows by one after grow_after of ours went through (cap
 * 0: all 5), so hosts sharing an account settle on shares of the 5 instead
 * of colliding for all of them. grow_after starts at the cap and doubles
 * with each refusal (up to RECONCILE_GROW_AFTER_MAX): a host whose attempts
 * to grow keep being refused tries less often, and each try is a refused
 * call. Once no refusal came for two creation times (the others are done,
 * say), every one of ours that goes through adds a slot. */
struct slot_share {
        unsigned cap;
        unsigned ok;
        unsigned grow_after;
        uint64_t refused_usec; /* CLOCK_MONOTONIC of the last refusal */
};

/* One account in one region: AWS counts the limits of DESIGN §6 per
 * (account, region), so each has its client (pacers, credentials), its
 * listing and its slots. A stream without role_arn is in the daemon's own
 * account (account ""), whichever that is: a role of that same account is
 * paced apart from it. */
struct reconcile_region {
        /* The loop, settings and owner of every reconciler here
         * (reconcile_region_setup): one copy, not one per stream. */
        sd_event *event;
        struct reconcile_settings settings;
        const struct reconcile_ops *ops;
        void *owner;

        char *region;
        char account[13];            /* a role's 12-digit account; "": the daemon's own */
        char *budget_key;            /* the region, or ACCOUNT-REGION in a role's account: the
                                        budget book's key for the streams here */
        struct kinesis_client *client;
        unsigned creating;           /* streams of ours holding a CREATING slot */
        struct reconcile_queue slot_queue;     /* waiting for a create slot, FIFO */
        struct reconciler *requeued_last;      /* the last put back at its front */
        /* AWS refused a CreateStream of ours because the account already has
         * 5 streams CREATING or DELETING (someone else's, or other hosts'):
         * no CreateStream of ours until the hold ends, on a backoff timer or
         * when one of our CREATING streams turns ACTIVE. Then one stream
         * tries first; the rest follow once it got through. */
        unsigned consumers_creating; /* consumers of ours registered and not ACTIVE yet */
        struct reconcile_queue consumer_queue; /* waiting to register one, FIFO */
        bool create_hold;
        unsigned hold_tries;
        struct slot_share create_share;   /* of the 5 streams CREATING */
        struct slot_share consumer_share; /* of the 5 consumers CREATING */
        uint64_t hold_rng;
        uint64_t hold_base_usec; /* the backoff's start for the hold timer */
        sd_event_source *hold_timer;
        /* How long creations and consumer registrations take here, as our
         * polls saw them: the first poll of the next one is timed by it. */
        struct settle_time stream_settle;
        struct settle_time consumer_settle;
        /* Settings (1u << enum stream_setting) whose operations this
         * region's endpoint does not know: not managed there, said once. */
        unsigned unsupported;
        /* The account's minimum throughput billing commitment, read by the
         * manager once a pass (DescribeAccountSettings): its Status, "NONE",
         * or NULL while unknown. Observed only, never changed. */
        enum throughput_commitment commitment;
        char *commitment_status;
};
/* Give the region the loop, settings and owner its reconcilers work with
 * (before the first reconciler_init() for it). */
void reconcile_region_setup(struct reconcile_region *g, sd_event *e, const struct reconcile_settings *s,
                            const struct reconcile_ops *ops, void *owner);
/* Release what the region's reconcilers left in it (the hold timer). */
void reconcile_region_done(struct reconcile_region *g);

/* The reconcilers of one configuration, n of them in one allocation (one
 * per declared stream: a block has no allocation overhead per stream), the
 * i-th for decls[i] (which must outlive the block) in one of the regions
 * (copied: at most 65,536 of them). Each is zero until reconciler_init();
 * reconcilers_free() the block after reconciler_done() of each initialised
 * one. NULL: out of memory, or too many. */
struct reconciler *reconcilers_new(const struct stream_decl *decls, size_t n, struct reconcile_region *const *regions,
                                   size_t n_regions);
void reconcilers_free(struct reconciler *block);
/* The i-th reconciler of a block of reconcilers_new(). */
struct reconciler *reconciler_at(struct reconciler *block, size_t i);
/* r works in the block's regions[region_index] (set up already). */
void reconciler_init(struct reconciler *r, size_t region_index);
/* Cancels whatever is in flight (no callbacks), releases its create slot
 * and what it holds; its memory stays its block's. */
void reconciler_done(struct reconciler *r);

/* Carry what is known about the stream (observation, last change and error)
 * from the reconciler of the previous configuration, so a reload does not
 * drop exports. (Budgets live in the manager's book, not here.) */
void reconciler_adopt(struct reconciler *r, struct reconciler *old);

/* The time of the last change a previous run of kinesisd made (from the
 * streams.json it left), unless this process knows a later one. */
/* The ARN a previous process showed in streams.json, shown again until AWS
 * is asked; exported (streams.env, .arn file) again only if it was. */
int reconciler_seed_arn(struct reconciler *r, const char *arn, bool exported);
/* Likewise a consumer's ARN (listed again before anything relies on it). */
int reconciler_seed_consumer(struct reconciler *r, const char *name, const char *arn);
void reconciler_seed_last_change(struct reconciler *r, uint64_t realtime_usec);
/* The time of the last deep check a previous process recorded, unless this
 * process has checked the stream since. */
void reconciler_seed_deep_check(struct reconciler *r, uint64_t realtime_usec);
/* The shard count and retention a previous process exported: shown for a
 * stream known from the listing only, until its deep check reads them. */
void reconciler_seed_shape(struct reconciler *r, unsigned shards, unsigned retention_hours);

/* Start a pass. listed: the stream's entry in ListStreams, NULL when it was
 * not listed. deep: check it with DescribeStreamSummary (and its tags,
 * consumers, ... where declared) even when the listing's summary confirms
 * it. A stream never deep-checked, changed by us in its last pass, or whose
 * summary differs from its last deep check is deep-checked anyway. */
void reconciler_start(struct reconciler *r, const struct kinesis_stream_entry *listed, bool deep);
/* CLOCK_REALTIME of the last DescribeStreamSummary that found the stream, to
 * the second; 0: none. */
uint64_t reconciler_deep_usec(const struct reconciler *r);
/* Known to exist from the listing only, its settings not read since. */
bool reconciler_listed_only(const struct reconciler *r);
/* The pass could not start (ListStreams failed): settle as failed. */
void reconciler_fail_pass(struct reconciler *r, const char *why);
/* Stop starting new calls: settle as soon as the current one ends. */
void reconciler_stop(struct reconciler *r);

const struct stream_decl *reconciler_decl(const struct reconciler *r);
struct reconcile_region *reconcile_region_of(const struct reconciler *r);
/* Settled this pass with the stream ACTIVE and nothing left to do. */
bool reconciler_ready(const struct reconciler *r);
bool reconciler_failed(const struct reconciler *r);
/* Ready, and nothing it was meant to correct is left as it was (a change
 * refused for a budget or held after a conflict): what --once exits 0 on. */
bool reconciler_converged(const struct reconciler *r);
/* Failed in a way the next pass will not fix by itself (a refused request). */
bool reconciler_failed_terminally(const struct reconciler *r);
/* AWS has answered at least once about the stream's existence (or a pass
 * failed before it could), in this process or in the reconciler adopted on
 * reload. Until then the stream's exports would be guesses. */
bool reconciler_observed(const struct reconciler *r);
const struct stream_obs *reconciler_obs(const struct reconciler *r);
/* The plan of the last observation (plan_only passes), or NULL. */
const struct plan *reconciler_plan(const struct reconciler *r);
const char *reconciler_last_error(const struct reconciler *r);
/* Waiting on AWS (a rate, the CREATING limit, a busy stream): what it waits
 * on, escaped AWS text, or NULL when it does not wait. Not failed, not done. */
const char *reconciler_waiting(const struct reconciler *r);

/* The stream (or a consumer of its) is being created, or will be as soon as
 * the account has room: CREATING, queued for a slot, or its CreateStream
 * (RegisterStreamConsumer) on its way. */
bool reconciler_creating(const struct reconciler *r);

/* Fill an export entry; the ARN withheld unless the stream is ACTIVE or
 * UPDATING, consumers only when ACTIVE; strings borrowed from r; consumers written into
 * buf (at most n_buf, declared consumers only). */
void reconciler_export(const struct reconciler *r, struct state_stream *ret,
                       struct state_consumer *buf, size_t n_buf);
