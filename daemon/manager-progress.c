/* What a person watching sees while streams converge: on a terminal,
 * --once keeps one status line up to date (active, creating, waiting,
 * failed, elapsed) below its log lines; elsewhere (a pipe, a file, the
 * journal) an info line says where the pass stands, 5 s into it and then
 * every 30 s while any stream is still waited for (in the daemon's resyncs,
 * only while one is being created, updated or waits on AWS).
 *
 * Must never decide anything, and never write on stdout (--plan's). */
#include <stdio.h>

#include "log.h"
#include "manager-internal.h"

/* The terminal line is looked at this often, and rewritten when it changed
 * (the counts, or another second). */
#define PROGRESS_TERMINAL_EVERY_USEC (250 * USEC_PER_MSEC)
/* A pass done sooner says nothing more than its log lines. */
#define PROGRESS_FIRST_USEC (5 * USEC_PER_SEC)
#define PROGRESS_EVERY_USEC (30 * USEC_PER_SEC)
#define PROGRESS_ACCURACY_USEC (100 * USEC_PER_MSEC)

static bool on_terminal(const struct manager *m) {
        return m->opts.mode == RUN_ONCE && log_stderr_is_terminal();
}

/* Streams of this pass not settled yet. */
static size_t unsettled(const struct manager *m) {
        return m->pass_running && m->n_settled < m->n_streams ? m->n_streams - m->n_settled : 0;
}

/* "3 active, 5 creating, 2 waiting, 0 failed": every part the terminal
 * line has (they do not move about as counts change), and in the info
 * line only those that are not 0. */
static void counts_text(const struct stream_counts *c, bool all, char *buf, size_t n) {
        size_t k = 0;
        const struct {
                const char *what;
                bool always;
        } parts[] = {
                { "active", true },   { "creating", true }, { "updating", false },
                { "waiting", true },  { "pending", false }, { "failed", true },
        };
        size_t v[ELEMENTSOF(parts)];

        v[0] = c->active;
        v[1] = c->creating;
        v[2] = c->updating;
        v[3] = c->waiting;
        v[4] = c->other;
        v[5] = c->failed;
        buf[0] = '\0';
        for (size_t i = 0; i < ELEMENTSOF(parts) && k < n; i++) {
                int l;

                if (v[i] == 0 && !(all && parts[i].always))
                        continue;
                l = snprintf(buf + k, n - k, "%s%zu %s", k > 0 ? ", " : "", v[i], parts[i].what);
                if (l < 0)
                        break;
                k += (size_t) l;
        }
}

static int progress_arm(struct manager *m, uint64_t delay);

static int on_progress(sd_event_source *s, uint64_t usec, void *userdata) {
        struct manager *m = userdata;
        uint64_t elapsed = (clock_now_usec(CLOCK_MONOTONIC) - m->pass_started_usec) / USEC_PER_SEC;
        char counts[256], line[320];
        size_t left = unsettled(m);
        struct stream_counts c;

        m->progress_timer = sd_event_source_disable_unref(m->progress_timer);
        if (m->stopping)
                return 0;
        manager_count_streams(m, &c);
        counts_text(&c, on_terminal(m), counts, sizeof counts);
        if (on_terminal(m)) {
                snprintf(line, sizeof line, "kinesisd: %zu stream%s: %s; %llu s", m->n_streams,
                         m->n_streams == 1 ? "" : "s", counts, (unsigned long long) elapsed);
                log_status_line(line);
                (void) progress_arm(m, PROGRESS_TERMINAL_EVERY_USEC);
                return 0;
        }
        if (left == 0)
                return 0; /* the next pass arms it again */
        /* A resync of a daemon whose streams are all there only looks: no
         * one waits for it, and its many streams take a while to look at
         * (the API's pace). A start, a reload, or a stream that converges
         * is waited for. */
        if (m->opts.mode == RUN_DAEMON && m->ready_sent && m->reload_converging == 0 &&
            c.creating + c.updating + c.waiting == 0) {
                (void) progress_arm(m, PROGRESS_EVERY_USEC);
                return 0;
        }
        log_info("Waiting for %zu of %zu stream%s: %s; %llu s into the pass.", left, m->n_streams,
                 m->n_streams == 1 ? "" : "s", counts, (unsigned long long) elapsed);
        (void) progress_arm(m, PROGRESS_EVERY_USEC);
        return 0;
}

static int progress_arm(struct manager *m, uint64_t delay) {
        int r;

        m->progress_timer = sd_event_source_disable_unref(m->progress_timer);
        r = sd_event_add_time_relative(m->event, &m->progress_timer, CLOCK_MONOTONIC, delay,
                                       PROGRESS_ACCURACY_USEC, on_progress, m);
        if (r < 0)
                log_debug_errno(r, "Cannot arm the progress timer, ignoring: %m");
        return r;
}

void manager_progress_pass_started(struct manager *m) {
        if (m->opts.mode == RUN_PLAN)
                return;
        if (on_terminal(m)) {
                /* At once, then as it changes. */
                (void) on_progress(NULL, 0, m);
                return;
        }
        (void) progress_arm(m, PROGRESS_FIRST_USEC);
}

void manager_progress_done(struct manager *m) {
        m->progress_timer = sd_event_source_disable_unref(m->progress_timer);
        log_status_line(NULL);
}
