/* Token buckets and pacers (see pacer.h).
 *
 * Must never: call a waiter from within pacer_acquire(), let a waiter overtake
 * one queued before it, or know what the paced calls are. */
#include "aws/pacer.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

#define TOKEN_EPSILON 1e-9   /* rounding slack when counting whole tokens */
#define RATE_MIN 0.01        /* a rate of 0 or less becomes this */
#define FLOOR_DIVISOR 16     /* throttling slows a bucket to rate/16 at most */
#define FLOOR_RATE 0.1       /* ... and never below one call in 10 s */
#define RECOVERY_STEPS 10    /* successes from the floor back to the ceiling, roughly */
/* Accuracy of the timer, in microseconds: sd-event's default (0) lets a
 * timer fire up to 250 ms late, which would dominate every call. */
#define PACER_TIMER_ACCURACY 1

void token_bucket_init(struct token_bucket *b, double rate, double capacity, uint64_t now_usec) {
        if (rate <= 0)
                rate = RATE_MIN;
        if (capacity < 1)
                capacity = 1;
        *b = (struct token_bucket){
                .ceiling = rate,
                .rate = rate,
                /* Never slower than a call every 10 s, however hard AWS pushes back. */
                .floor = fmin(rate, fmax(rate / FLOOR_DIVISOR, FLOOR_RATE)),
                .capacity = capacity,
                /* One token to start with, the burst only once earned by
                 * idling: a process just restarted cannot know what the one
                 * before it spent in the same second. */
                .tokens = 1,
                .last_usec = now_usec,
        };
}

static void token_bucket_refill(struct token_bucket *b, uint64_t now_usec) {
        if (now_usec <= b->last_usec)
                return;
        b->tokens += (double) (now_usec - b->last_usec) / (double) USEC_PER_SEC * b->rate;
        if (b->tokens > b->capacity)
                b->tokens = b->capacity;
        b->last_usec = now_usec;
}

bool token_bucket_take(struct token_bucket *b, uint64_t now_usec) {
        token_bucket_refill(b, now_usec);
        /* Tolerate rounding: a token "almost there" by a nanosecond counts. */
        if (b->tokens < 1 - TOKEN_EPSILON)
                return false;
        b->tokens -= 1;
        if (b->tokens < 0)
                b->tokens = 0;
        return true;
}

uint64_t token_bucket_delay(struct token_bucket *b, uint64_t now_usec) {
        token_bucket_refill(b, now_usec);
        if (b->tokens >= 1 - TOKEN_EPSILON)
                return 0;
        return (uint64_t) ceil((1 - b->tokens) / b->rate * (double) USEC_PER_SEC);
}

void token_bucket_throttled(struct token_bucket *b) {
        b->rate = fmax(b->floor, b->rate / 2);
        /* AWS said slow down: whatever burst was saved up is gone too, so
         * the next call waits a whole interval of the lowered rate. */
        b->tokens = 0;
}

void token_bucket_succeeded(struct token_bucket *b) {
        b->rate = fmin(b->ceiling, b->rate + b->ceiling / RECOVERY_STEPS);
}

bool token_bucket_idle(struct token_bucket *b, uint64_t now_usec) {
        token_bucket_refill(b, now_usec);
        return b->rate >= b->ceiling && b->tokens >= b->capacity - TOKEN_EPSILON;
}

/* The window is one second long as AWS counts it, at the arrival of
 * requests. What the pacer records is when it let a call go; the call
 * reaches AWS a little later, and a call that the next ones overtake on the
 * wire (held up on a new connection, or behind other work of the loop)
 * brings its successors closer to it than the pacer spaced them. Hence
 * the margin: a call is released no sooner than a second and
 * PACE_WINDOW_MARGIN_USEC after the call cap places before it. Measured
 * against the strict proxy of the tests (tests/limits/test_daemon_30.py
 * prints it), three runs on a shared, loaded two-core machine: from
 * release to arrival 0.3 ms median, 5.6-8.1 ms at the 99th percentile; the
 * 10,000-stream run saw 11 calls spaced 0.1 s apart arrive within 0.997 s.
 * 20 ms covers those with room and costs 2% of the rate where the cap binds
 * (10 a second: 10 calls every 1.02 s). The worst single call of each run
 * (25-95 ms: the machine held it back) it does not cover; that would cost
 * a tenth of every rate. */
#define WINDOW_EPSILON 1e-6 /* rate x share rounding: 20 x 0.3 is 6, not 5.999... */

unsigned pace_window_cap(double rate) {
        double c = floor(rate + WINDOW_EPSILON);

        return c < 1 ? 1 : c > PACE_WINDOW_MAX ? PACE_WINDOW_MAX : (unsigned) c;
}

void pace_window_init(struct pace_window *w, uint64_t *ring, unsigned size) {
        *w = (struct pace_window){ .at = ring, .size = size };
}

uint64_t pace_window_delay(const struct pace_window *w, unsigned cap, uint64_t now_usec) {
        uint64_t free_at;

        if (cap > w->size)
                cap = w->size;
        if (cap == 0 || w->used < cap)
                return 0;
        /* The cap-th latest release: the window starting there is full. */
        free_at = w->at[(w->next + w->size - cap) % w->size] + USEC_PER_SEC + PACE_WINDOW_MARGIN_USEC;
        return free_at > now_usec ? free_at - now_usec : 0;
}

void pace_window_record(struct pace_window *w, uint64_t now_usec) {
        if (w->size == 0)
                return;
        w->at[w->next] = now_usec;
        w->next = (w->next + 1) % w->size;
        if (w->used < w->size)
                w->used++;
}

bool pace_window_idle(const struct pace_window *w, uint64_t now_usec) {
        if (w->used == 0)
                return true;
        /* The latest release is the last to leave the window. */
        return w->at[(w->next + w->size - 1) % w->size] + USEC_PER_SEC + PACE_WINDOW_MARGIN_USEC <= now_usec;
}

uint64_t pace_limit_delay(struct pace_limit *l, uint64_t now_usec) {
        uint64_t b = token_bucket_delay(&l->bucket, now_usec);
        uint64_t w = pace_window_delay(&l->window, pace_window_cap(l->bucket.rate), now_usec);

        return b > w ? b : w;
}

bool pace_limit_take(struct pace_limit *l, uint64_t now_usec) {
        if (pace_window_delay(&l->window, pace_window_cap(l->bucket.rate), now_usec) > 0 ||
            !token_bucket_take(&l->bucket, now_usec))
                return false;
        pace_window_record(&l->window, now_usec);
        return true;
}

struct pacer {
        unsigned n_ref;
        sd_event *event;
        char *name;
        struct pace_limit limit;
        struct pacer_waiter *wait_head, *wait_tail;
        sd_event_source *timer;
        uint64_t window_ring[]; /* limit.window's, pace_window_cap(ceiling) entries */
};

/* The clock itself, not the loop's time of waking (sd_event_now()): a
 * release is recorded as close to its request's leaving as the pacer can
 * know it, whatever ran before it in the same iteration. */
static uint64_t pacer_now(void) {
        return clock_now_usec(CLOCK_MONOTONIC);
}

/* The timer stays enabled, at USEC_INFINITY while nobody waits: it moves
 * once or twice per request, and switching a source on and off costs
 * sd-event several times what moving it does. */
static void pacer_arm(struct pacer *p) {
        uint64_t now, when = USEC_INFINITY;
        int r;

        if (p->wait_head) {
                now = pacer_now();
                when = now + pace_limit_delay(&p->limit, now);
        }
        r = sd_event_source_set_time(p->timer, when);
        if (r < 0)
                log_debug_errno(r, "HTTP: cannot arm pacer %s: %m", p->name);
}

static bool pacer_take(struct pacer *p, uint64_t now) {
        if (!pace_limit_take(&p->limit, now))
                return false;
        /* The tests check the window on these (the daemon's own decisions;
         * arrival times at a proxy on a loaded machine may bunch). */
        log_debug("HTTP: pacer %s released a call at monotonic %" PRIu64 " us", p->name, now);
        return true;
}

static int on_pacer_timer(sd_event_source *src, uint64_t usec, void *userdata) {
        /* A waiter's callback may drop the last other reference. */
        struct pacer *p = pacer_ref(userdata);
        uint64_t now = pacer_now();

        while (p->wait_head && pacer_take(p, now)) {
                struct pacer_waiter *w = p->wait_head;
                p->wait_head = w->next;
                if (!p->wait_head)
                        p->wait_tail = NULL;
                w->next = NULL;
                w->ready(w->userdata);
        }
        pacer_arm(p);
        pacer_unref(p);
        return 0;
}

int pacer_new(sd_event *e, const char *name, double rate, double burst, struct pacer **ret) {
        _cleanup_(pacer_unrefp) struct pacer *p = NULL;
        struct token_bucket b;
        unsigned ring;
        int r;

        /* The ring holds the cap at the ceiling rate: AIMD only lowers it. */
        token_bucket_init(&b, rate, burst, 0);
        ring = pace_window_cap(b.ceiling);
        p = calloc(1, sizeof *p + ring * sizeof p->window_ring[0]);
        if (!p)
                return -ENOMEM;
        p->n_ref = 1;
        p->event = sd_event_ref(e);
        p->name = strdup(name ? name : "?");
        if (!p->name)
                return -ENOMEM;
        token_bucket_init(&p->limit.bucket, rate, burst, pacer_now());
        pace_window_init(&p->limit.window, p->window_ring, ring);
        r = sd_event_add_time(e, &p->timer, CLOCK_MONOTONIC, USEC_INFINITY, PACER_TIMER_ACCURACY, on_pacer_timer,
                              p);
        if (r < 0)
                return r;
        r = sd_event_source_set_enabled(p->timer, SD_EVENT_ON);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(p->timer, "http-pacer");
        *ret = TAKE_PTR(p);
        return 0;
}

struct pacer *pacer_ref(struct pacer *p) {
        if (p)
                p->n_ref++;
        return p;
}

struct pacer *pacer_unref(struct pacer *p) {
        if (!p || --p->n_ref > 0)
                return NULL;
        sd_event_source_disable_unref(p->timer);
        sd_event_unref(p->event);
        free(p->name);
        free(p);
        return NULL;
}

static void pacer_enqueue(struct pacer *p, struct pacer_waiter *w, pacer_ready_t ready, void *userdata) {
        *w = (struct pacer_waiter){ .ready = ready, .userdata = userdata };
        if (p->wait_tail)
                p->wait_tail->next = w;
        else
                p->wait_head = w;
        p->wait_tail = w;
        pacer_arm(p);
}

bool pacer_acquire(struct pacer *p, struct pacer_waiter *w, pacer_ready_t ready, void *userdata) {
        /* FIFO: nobody overtakes a waiter already queued. */
        if (!p->wait_head && pacer_take(p, pacer_now()))
                return true;
        pacer_enqueue(p, w, ready, userdata);
        return false;
}

bool pacer_queue_if_busy(struct pacer *p, struct pacer_waiter *w, pacer_ready_t ready, void *userdata) {
        if (!p->wait_head && pace_limit_delay(&p->limit, pacer_now()) == 0)
                return false;
        pacer_enqueue(p, w, ready, userdata);
        return true;
}

void pacer_cancel(struct pacer *p, struct pacer_waiter *w) {
        struct pacer_waiter **i = &p->wait_head, *prev = NULL;

        for (; *i; prev = *i, i = &(*i)->next)
                if (*i == w) {
                        *i = w->next;
                        if (p->wait_tail == w)
                                p->wait_tail = prev;
                        w->next = NULL;
                        return;
                }
}

/* A lower rate lowers the window's cap at once (its ring keeps the latest
 * releases, so the cap-th latest is always known); recovering raises it
 * back with the rate. */
void pacer_throttled(struct pacer *p) {
        token_bucket_throttled(&p->limit.bucket);
}

void pacer_succeeded(struct pacer *p) {
        token_bucket_succeeded(&p->limit.bucket);
}

bool pacer_is_idle(struct pacer *p) {
        uint64_t now = pacer_now();

        return p->n_ref <= 1 && !p->wait_head && token_bucket_idle(&p->limit.bucket, now) &&
               pace_window_idle(&p->limit.window, now);
}
