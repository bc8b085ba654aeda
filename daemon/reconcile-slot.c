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
        r->w->slot_next = NULL;
        if (q->tail)
                q->tail->w->slot_next = r;
        else
                q->head = r;
        q->tail = r;
        r->w->queue = q;
}

void slot_dequeue(struct reconciler *r) {
        struct reconcile_queue *q = r->w ? r->w->queue : NULL;
        struct reconciler *prev = NULL;

        if (!q)
                return;
        if (region_of(r)->requeued_last == r)
                region_of(r)->requeued_last = NULL;
        for (struct reconciler *i = q->head; i; prev = i, i = i->w->slot_next)
                if (i == r) {
                        if (prev)
                                prev->w->slot_next = r->w->slot_next;
                        else
                                q->head = r->w->slot_next;
                        if (q->tail == r)
                                q->tail = prev;
                        break;
                }
        r->w->slot_next = NULL;
        r->w->queue = NULL;
}

void slot_enqueue(struct reconciler *r) {
        if (r->w->queue != &region_of(r)->slot_queue)
                queue_push(&region_of(r)->slot_queue, r);
}

/* Put r back after `after` (NULL: at the head). */
static void queue_insert_after(struct reconcile_queue *q, struct reconciler *after, struct reconciler *r) {
        slot_dequeue(r);
        if (after) {
                r->w->slot_next = after->w->slot_next;
                after->w->slot_next = r;
        } else {
                r->w->slot_next = q->head;
                q->head = r;
        }
        if (q->tail == after)
                q->tail = r;
        r->w->queue = q;
        r->phase = PHASE_WAIT_SLOT;
}

/* Back to the head of the queue: refused, it keeps its place. */
void slot_requeue_first(struct reconciler *r) {
        queue_insert_after(&region_of(r)->slot_queue, NULL, r);
        region_of(r)->requeued_last = r;
}

/* Withdrawn before it went out: it was dispatched after those put back
 * before it, and before any still in the queue. */
void slot_requeue_withdrawn(struct reconciler *r) {
        struct reconcile_region *g = region_of(r);
        struct reconciler *after = g->requeued_last && g->requeued_last->w &&
                                                   g->requeued_last->w->queue == &g->slot_queue
                                           ? g->requeued_last : NULL;

        queue_insert_after(&g->slot_queue, after, r);
        g->requeued_last = r;
}

unsigned share_cap(const struct slot_share *s, unsigned max) {
        return s->cap ? s->cap : max;
}

/* One of ours went through: after grow_after of them, or once refusals
 * stopped for two of the creation times `settle` learnt, one slot more. */
static void share_granted(struct slot_share *s, unsigned max, const struct settle_time *settle) {
        uint64_t quiet = 2 * settle_time_estimate(settle);
        bool calm = quiet > 0 && clock_now_usec(CLOCK_MONOTONIC) - s->refused_usec >= quiet;

        if (s->cap && (++s->ok >= s->grow_after || calm)) {
                s->ok = 0;
                if (++s->cap >= max)
                        s->cap = s->grow_after = 0;
        }
}

void share_refused(struct slot_share *s, unsigned held) {
        s->cap = held > 0 ? held : 1;
        s->ok = 0;
        s->refused_usec = clock_now_usec(CLOCK_MONOTONIC);
        if (!s->grow_after)
                s->grow_after = s->cap;
        else if (s->grow_after < RECONCILE_GROW_AFTER_MAX / 2)
                s->grow_after *= 2;
        else
                s->grow_after = RECONCILE_GROW_AFTER_MAX;
}

unsigned slot_cap(const struct reconcile_region *g) {
        return share_cap(&g->create_share, RECONCILE_MAX_CREATING);
}

void slot_created(struct reconcile_region *g) {
        g->hold_tries = 0;
        share_granted(&g->create_share, RECONCILE_MAX_CREATING, &g->stream_settle);
        slot_dispatch(g, RECONCILE_MAX_CREATING);
}

void consumer_registered_ok(struct reconcile_region *g) {
        share_granted(&g->consumer_share, RECONCILE_MAX_CONSUMERS_CREATING, &g->consumer_settle);
}

static int hold_timer_arm(struct reconcile_region *g, sd_event *e);

void slot_take(struct reconciler *r) {
        if (r->w->holds_slot)
                return;
        r->w->holds_slot = true;
        region_of(r)->creating++;
}

void slot_release(struct reconciler *r) {
        struct reconcile_region *g = region_of(r);

        if (!r->w || !r->w->holds_slot)
                return;
        r->w->holds_slot = false;
        g->creating--;
        /* Held, and the last of ours left CREATING other than by turning
         * ACTIVE (failed, gone, stopped): only a timer can end the hold now. */
        if (g->create_hold && g->creating == 0 && !g->hold_timer && hold_timer_arm(g, region_of(r)->event) < 0)
                g->create_hold = false;
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
        queue_push(&region_of(r)->consumer_queue, r);
        r->phase = PHASE_WAIT_SLOT;
}

void consumer_slot_dispatch(struct reconcile_region *g) {
        while (g->consumer_queue.head &&
               g->consumers_creating < share_cap(&g->consumer_share, RECONCILE_MAX_CONSUMERS_CREATING)) {
                struct reconciler *next = g->consumer_queue.head;
                slot_dequeue(next);
                if (next->phase == PHASE_WAIT_SLOT && !next->stopping) {
                        next->w->consumer_turn = true;
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

static int hold_timer_arm(struct reconcile_region *g, sd_event *e) {
        return sd_event_add_time_relative(e, &g->hold_timer, CLOCK_MONOTONIC,
                                          reconcile_wait_backoff(&g->hold_rng, g->hold_tries, g->hold_base_usec),
                                          g->hold_base_usec / 10, on_hold_timer, g);
}

/* A CreateStream of r was refused for the account's CREATING limit. */
int region_hold(struct reconciler *r, uint64_t base_usec) {
        struct reconcile_region *g = region_of(r);

        /* r still holds the slot it was refused with: the others of ours
         * are what the account lets us have now. */
        if (g->create_hold) {
                g->create_share.cap = g->creating > 1 ? g->creating - 1 : 1;
                g->create_share.refused_usec = clock_now_usec(CLOCK_MONOTONIC);
                return 0;
        }
        share_refused(&g->create_share, g->creating - 1);
        g->create_hold = true;
        g->hold_tries++;
        g->hold_base_usec = base_usec;
        /* Others of ours are CREATING: the first of them to turn ACTIVE
         * frees a slot that is ours to take (region_hold_end), where a
         * probe on a timer races every other host for the next free one.
         * The timer is for when none of ours is left CREATING
         * (slot_release). */
        if (g->creating > 1)
                return 0;
        return hold_timer_arm(g, region_of(r)->event);
}

void reconcile_region_done(struct reconcile_region *g) {
        g->hold_timer = sd_event_source_disable_unref(g->hold_timer);
        g->create_hold = false;
        g->event = sd_event_unref(g->event);
}
