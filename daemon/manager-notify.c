/* systemd's view of the manager while it runs: STATUS= (kept current, sent
 * only when it changes) and, while streams still converge at start, requests
 * for more start-up time.
 *
 * Must never decide anything: it reports what the rest of the manager did. */
#include <stdio.h>
#include <systemd/sd-daemon.h>

#include "log.h"
#include "manager-internal.h"

/* Ask systemd for more start-up time this often while streams converge,
 * the first time after EXTEND_FIRST_USEC: a start that takes longer than a
 * second is asking early enough for any TimeoutStartSec= an operator might
 * set (a drop-in of 8 s, say), and one that is done sooner never asks. */
#define EXTEND_FIRST_USEC (1 * USEC_PER_SEC)
#define EXTEND_EVERY_USEC (10 * USEC_PER_SEC)

void manager_count_streams(const struct manager *m, struct stream_counts *ret) {
        struct stream_counts c = {};

        for (size_t i = 0; i < m->n_streams; i++) {
                const struct stream_obs *o = reconciler_obs(manager_stream(m, i));
                if (reconciler_failed(manager_stream(m, i)))
                        c.failed++;
                else if (reconciler_waiting(manager_stream(m, i)))
                        c.waiting++;
                else if (o->exists && o->status == STREAM_STATUS_ACTIVE)
                        c.active++;
                else if (o->exists && o->status == STREAM_STATUS_CREATING)
                        c.creating++;
                else if (o->exists && o->status == STREAM_STATUS_UPDATING)
                        c.updating++;
                else
                        c.other++;
        }
        *ret = c;
}

void manager_notify_status(struct manager *m) {
        struct stream_counts c;
        char buf[512];

        if (m->opts.mode != RUN_DAEMON)
                return;
        manager_count_streams(m, &c);
        int k = snprintf(buf, sizeof buf, "%zu stream%s: %zu active", m->n_streams,
                         m->n_streams == 1 ? "" : "s", c.active);
#define PART(n, what)                                                                    \
        if ((n) > 0 && k > 0 && (size_t) k < sizeof buf)                                 \
                k += snprintf(buf + k, sizeof buf - (size_t) k, ", %zu " what, (size_t) (n));
        PART(c.creating, "creating");
        PART(c.updating, "updating");
        PART(c.failed, "failed");
        PART(c.other, "pending");
        PART(c.waiting, "waiting on AWS limits");
#undef PART
        if (m->export_status && k > 0 && (size_t) k < sizeof buf)
                k += snprintf(buf + k, sizeof buf - (size_t) k, "; %s", m->export_status);
        if (m->reload_error && k > 0 && (size_t) k < sizeof buf)
                snprintf(buf + k, sizeof buf - (size_t) k, "; reload failed: %s", m->reload_error);

        if (streq_ptr(m->last_status, buf))
                return;
        free(m->last_status);
        m->last_status = strdup(buf);
        (void) sd_notifyf(false, "STATUS=%s", buf);
}

static int on_extend(sd_event_source *s, uint64_t usec, void *userdata) {
        struct manager *m = userdata;

        /* Once the first pass is done only the exports can hold READY=1
         * back, and waiting for a disk is no progress: systemd's
         * TimeoutStartSec= then decides how long a start-up may wait. The
         * same for a reload waited for: until its pass is done. */
        bool starting = !m->ready_sent && !m->first_pass_done;

        if (m->stopping || (!starting && m->reload_converging == 0)) {
                m->extend_timer = sd_event_source_disable_unref(m->extend_timer);
                return 0;
        }
        /* Streams still converging: ask for more time (to start, or for a
         * reload: systemd extends whichever it waits for), a bit more than
         * until we ask again. */
        (void) sd_notifyf(false, "EXTEND_TIMEOUT_USEC=%llu",
                          (unsigned long long) (3 * EXTEND_EVERY_USEC));
        /* A time source is off once it fired: on again, for the next one. */
        if (sd_event_source_set_time_relative(s, EXTEND_EVERY_USEC) < 0 ||
            sd_event_source_set_enabled(s, SD_EVENT_ONESHOT) < 0)
                m->extend_timer = sd_event_source_disable_unref(m->extend_timer);
        return 0;
}

/* The first request for more time EXTEND_FIRST_USEC from now (sooner than
 * one already due, say 10 s after the start-up's last). */
static void extend_arm(struct manager *m) {
        int r;

        if (m->extend_timer) {
                r = sd_event_source_set_time_relative(m->extend_timer, EXTEND_FIRST_USEC);
                if (r >= 0)
                        r = sd_event_source_set_enabled(m->extend_timer, SD_EVENT_ONESHOT);
        } else
                r = sd_event_add_time_relative(m->event, &m->extend_timer, CLOCK_MONOTONIC,
                                               EXTEND_FIRST_USEC, EXTEND_FIRST_USEC / 10, on_extend, m);
        if (r < 0)
                log_debug_errno(r, "Cannot arm the time extension timer, ignoring: %m");
}

void manager_notify_starting(struct manager *m) {
        manager_notify_status(m);
        extend_arm(m);
}

void manager_notify_reloading(struct manager *m) {
        extend_arm(m);
}
