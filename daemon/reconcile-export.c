/* The reconciler as its owner reads it: accessors and the entry it gives
 * the exports (streams.json, streams.env, .arn files, metrics).
 *
 * Must never: change the reconciler, or call AWS. */
#include "reconcile-internal.h"

const struct stream_decl *reconciler_decl(const struct reconciler *r) {
        return decl_of(r);
}

struct reconcile_region *reconcile_region_of(const struct reconciler *r) {
        return region_of(r);
}

bool reconciler_ready(const struct reconciler *r) {
        return r->phase == PHASE_DONE && obs_peek(r)->exists && obs_peek(r)->status == STREAM_STATUS_ACTIVE;
}

bool reconciler_converged(const struct reconciler *r) {
        return reconciler_ready(r) && !r->drift_left;
}

bool reconciler_failed(const struct reconciler *r) {
        return r->phase == PHASE_FAILED;
}

bool reconciler_failed_terminally(const struct reconciler *r) {
        return r->phase == PHASE_FAILED && r->terminal;
}

bool reconciler_observed(const struct reconciler *r) {
        return r->observed;
}

const struct stream_obs *reconciler_obs(const struct reconciler *r) {
        return obs_peek(r);
}

uint64_t reconciler_deep_usec(const struct reconciler *r) {
        return (uint64_t) r->deep_sec * USEC_PER_SEC;
}

bool reconciler_listed_only(const struct reconciler *r) {
        return r->shallow;
}

const struct plan *reconciler_plan(const struct reconciler *r) {
        return r->w && r->w->have_plan ? &r->w->plan : NULL;
}

const char *reconciler_last_error(const struct reconciler *r) {
        return r->last_error;
}

const char *reconciler_waiting(const struct reconciler *r) {
        return r->w && reconcile_wait_active(&r->w->wait) ? r->w->wait.reason : NULL;
}

/* What a producer can use: a stream ACTIVE, or UPDATING (it was ACTIVE, and
 * takes records while it reshards); before AWS has said, the ARN a previous
 * process exported. A CREATING stream refuses records, so its ARN is
 * withheld from the exports that start producers. */
static bool stream_usable(const struct reconciler *r) {
        const struct stream_obs *o = obs_peek(r);

        if (!o->exists)
                return rare_peek(r)->seed_arn && r->seed_exported;
        return o->status == STREAM_STATUS_ACTIVE || o->status == STREAM_STATUS_UPDATING;
}

/* A consumer ACTIVE, or one a previous process exported (no status yet). */
static bool consumer_usable(const struct stream_consumer_obs *c) {
        return !c->status || streq(c->status, "ACTIVE");
}

bool reconciler_creating(const struct reconciler *r) {
        const struct action *a = r->w && r->w->have_plan && r->w->plan.n_actions > 0 ? &r->w->plan.actions[0] : NULL;

        if (r->phase == PHASE_IDLE || r->phase == PHASE_DONE || r->phase == PHASE_FAILED)
                return false;
        /* A consumer of ours CREATING is part of the wave too: its ARN
         * and its stream's arrive together. */
        if ((obs_peek(r)->exists && obs_peek(r)->status == STREAM_STATUS_CREATING) || (r->w && r->w->consumer_slots > 0))
                return true;
        /* Queued for a slot, or its CreateStream (RegisterStreamConsumer) in
         * flight or refused for a limit: it will be CREATING soon. */
        return a && (a->type == ACTION_CREATE_STREAM || a->type == ACTION_REGISTER_CONSUMER) &&
               (r->phase == PHASE_WAIT_SLOT || r->phase == PHASE_ACT || r->phase == PHASE_WAIT_AWS);
}

void reconciler_export(const struct reconciler *r, struct state_stream *ret,
                       struct state_consumer *buf, size_t n_buf) {
        const struct stream_obs *o = obs_peek(r);
        size_t n = 0;

        for (size_t i = 0; i < decl_of(r)->x->n_consumers && n < n_buf; i++)
                for (size_t j = 0; j < o->n_consumers; j++)
                        if (o->consumers[j].arn && streq(o->consumers[j].name, decl_of(r)->x->consumers[i]) &&
                            consumer_usable(&o->consumers[j])) {
                                buf[n++] = (struct state_consumer){ o->consumers[j].name,
                                                                    o->consumers[j].arn };
                                break;
                        }

        *ret = (struct state_stream){
                .name = decl_of(r)->name,
                .region = region_of(r)->region,
                .account = decl_of(r)->x->account[0] ? decl_of(r)->x->account : NULL,
                .account_in_exports = decl_of(r)->account_in_exports,
                .arn = o->exists ? o->arn : rare_peek(r)->seed_arn,
                .arn_withheld = !stream_usable(r),
                /* A stream whose last pass failed is FAILED, whether or not it
                 * exists, until a pass succeeds: so kinesisd_stream_failed is
                 * right and the status does not flicker while a new pass looks. */
                .status = r->failed_last ? "FAILED"
                          : !o->exists   ? "MISSING"
                                         : stream_status_to_string(o->status),
                .mode = o->exists ? (o->mode == STREAM_MODE_ON_DEMAND ? "ON_DEMAND" : "PROVISIONED")
                                  : NULL,
                .shards = o->exists ? o->open_shards : 0,
                .retention_hours = o->exists ? o->retention_hours : 0,
                .consumers = buf,
                .n_consumers = n,
                .last_change_usec = (uint64_t) r->last_change_sec * USEC_PER_SEC,
                .last_error = r->last_error,
                .waiting = reconciler_waiting(r),
                .throughput_commitment = region_of(r)->commitment_status,
                .not_managed = rare_peek(r)->not_managed,
                .conflict_held = (unsigned) __builtin_popcount(
                        conflict_held_mask(&guard_peek(r)->conflicts, clock_now_usec(CLOCK_MONOTONIC))),
        };
}
