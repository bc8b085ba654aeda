/* The slots of one region: AWS lets an account have at most 5 streams
 * CREATING or DELETING at once, and at most 5 consumers CREATING, so our
 * streams queue for a slot (FIFO), and while AWS says the account is full
 * because of someone else's streams, the region's creations are held (see
 * struct reconcile_region).
 *
 * Must never: send anything to AWS itself, or let a stream overtake one
 * queued before it. */
#include "reconcile-internal.h"

#include "reconcile-wait.h"

static void queue_push(struct reconcile_queue *q, struct reconciler *r) {
        slot_dequeue(r);
        r->slot_next = NULL;
        if (q->tail)
                q->tail->slot_next = r;
        else
                q->head = r;
        q->tail = r;
        r->queue = q;
}

void slot_dequeue(struct reconciler *r) {
        struct reconcile_queue *q = r->queue;
        struct reconciler *prev = NULL;

        if (!q)
                return;
        for (struct reconciler *i = q->head; i; prev = i, i = i->slot_next)
                if (i == r) {
                        if (prev)
                                prev->slot_next = r->slot_next;
                        else
                                q->head = r->slot_next;
                        if (q->tail == r)
                                q->tail = prev;
                        break;
                }
        r->slot_next = NULL;
        r->queue = NULL;
}

void slot_enqueue(struct reconciler *r) {
        if (r->queue != &r->region->slot_queue)
                queue_push(&r->region->slot_queue, r);
}

/* Back to the head of the queue: refused, it keeps its place. */
void slot_requeue_first(struct reconciler *r) {
        struct reconcile_queue *q = &r->region->slot_queue;

        slot_dequeue(r);
        r->slot_next = q->head;
        q->head = r;
        if (!q->tail)
                q->tail = r;
        r->queue = q;
        r->phase = PHASE_WAIT_SLOT;
}

unsigned slot_cap(const struct reconcile_region *g) {
        return g->create_cap ? g->create_cap : RECONCILE_MAX_CREATING;
}

void slot_created(struct reconcile_region *g) {
        g->hold_tries = 0;
        if (g->create_cap && ++g->create_ok >= g->create_cap) {
                g->create_ok = 0;
                if (++g->create_cap >= RECONCILE_MAX_CREATING)
                        g->create_cap = 0;
        }
        slot_dispatch(g, RECONCILE_MAX_CREATING);
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
             n < max && !g->create_hold && g->slot_queue.head && g->creating < slot_cap(g);) {
                struct reconciler *next = g->slot_queue.head;
                slot_dequeue(next);
                if (next->phase == PHASE_WAIT_SLOT && !next->stopping) {
                        n++;
                        slot_take(next); /* so that act() does not queue it again */
                        act(next);
                }
        }
}

void consumer_slot_enqueue(struct reconciler *r) {
        queue_push(&r->region->consumer_queue, r);
        r->phase = PHASE_WAIT_SLOT;
}

void consumer_slot_dispatch(struct reconcile_region *g) {
        while (g->consumer_queue.head && g->consumers_creating < RECONCILE_MAX_CONSUMERS_CREATING) {
                struct reconciler *next = g->consumer_queue.head;
                slot_dequeue(next);
                if (next->phase == PHASE_WAIT_SLOT && !next->stopping) {
                        next->consumer_turn = true;
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

        /* r still holds the slot it was refused with: the others of ours
         * are what the account lets us have now. */
        g->create_cap = g->creating > 1 ? g->creating - 1 : 1;
        g->create_ok = 0;
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
