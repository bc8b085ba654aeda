/* The create slots of one region: AWS lets an account have at most 5
 * streams CREATING or DELETING at once, so our streams queue for a slot
 * (FIFO), and while AWS says the account is full because of someone else's
 * streams, the region's creations are held (see struct reconcile_region).
 *
 * Must never: send anything to AWS itself, or let a stream overtake one
 * queued before it. */
#include "reconcile-internal.h"

#include "reconcile-wait.h"

void slot_dequeue(struct reconciler *r) {
        struct reconcile_region *g = r->region;

        if (!r->in_slot_queue)
                return;
        for (struct reconciler **p = &g->slot_queue_head; *p; p = &(*p)->slot_next)
                if (*p == r) {
                        *p = r->slot_next;
                        break;
                }
        g->slot_queue_tail = NULL;
        for (struct reconciler *i = g->slot_queue_head; i; i = i->slot_next)
                g->slot_queue_tail = i;
        r->slot_next = NULL;
        r->in_slot_queue = false;
}

void slot_enqueue(struct reconciler *r) {
        struct reconcile_region *g = r->region;

        if (r->in_slot_queue)
                return;
        r->slot_next = NULL;
        if (g->slot_queue_tail)
                g->slot_queue_tail->slot_next = r;
        else
                g->slot_queue_head = r;
        g->slot_queue_tail = r;
        r->in_slot_queue = true;
}

/* Back to the head of the queue: refused, it keeps its place. */
void slot_requeue_first(struct reconciler *r) {
        struct reconcile_region *g = r->region;

        slot_dequeue(r);
        r->slot_next = g->slot_queue_head;
        g->slot_queue_head = r;
        if (!g->slot_queue_tail)
                g->slot_queue_tail = r;
        r->in_slot_queue = true;
        r->phase = PHASE_WAIT_SLOT;
}

void slot_take(struct reconciler *r) {
        if (r->holds_slot)
                return;
        r->holds_slot = true;
        r->region->creating++;
}

void slot_release(struct reconciler *r) {
        struct reconcile_region *g = r->region;

        if (!r->holds_slot)
                return;
        r->holds_slot = false;
        g->creating--;
        slot_dispatch(g, RECONCILE_MAX_CREATING);
}

/* Hand free slots to the streams that have waited longest; at most `max`
 * of them (one: a probe after a hold). Nothing moves during a hold. */
void slot_dispatch(struct reconcile_region *g, unsigned max) {
        for (unsigned n = 0;
             n < max && !g->create_hold && g->slot_queue_head && g->creating < RECONCILE_MAX_CREATING;) {
                struct reconciler *next = g->slot_queue_head;
                slot_dequeue(next);
                if (next->phase == PHASE_WAIT_SLOT && !next->stopping) {
                        n++;
                        slot_take(next); /* so that act() does not queue it again */
                        act(next);
                }
        }
}

static int on_hold_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct reconcile_region *g = userdata;

        g->hold_timer = sd_event_source_disable_unref(g->hold_timer);
        g->create_hold = false;
        slot_dispatch(g, 1);
        return 0;
}

/* One of ours left CREATING: the account has a free slot, try one stream. */
void region_hold_end(struct reconcile_region *g) {
        if (!g->create_hold)
                return;
        g->hold_timer = sd_event_source_disable_unref(g->hold_timer);
        g->create_hold = false;
        slot_dispatch(g, 1);
}

/* A CreateStream of r was refused for the account's CREATING limit. */
int region_hold(struct reconciler *r, uint64_t base_usec) {
        struct reconcile_region *g = r->region;

        if (g->create_hold)
                return 0;
        g->create_hold = true;
        g->hold_tries++;
        return sd_event_add_time_relative(r->event, &g->hold_timer, CLOCK_MONOTONIC,
                                          reconcile_wait_backoff(&g->hold_rng, g->hold_tries, base_usec),
                                          base_usec / 10, on_hold_timer, g);
}

void reconcile_region_done(struct reconcile_region *g) {
        g->hold_timer = sd_event_source_disable_unref(g->hold_timer);
        g->create_hold = false;
}
