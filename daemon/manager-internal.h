/* What the manager's files share: the owner object itself and the calls
 * one of its parts makes into another. Included by the manager's .c files
 * only; everyone else sees manager.h.
 *
 * Holds no code but two one-line helpers. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>
#include <time.h>

#include "aws/creds.h"
#include "aws/http.h"
#include "budget.h"
#include "config.h"
#include "kinesis.h"
#include "manager.h"
#include "reconcile-wait.h"
#include "reconcile.h"
#include "state.h"
#include "util.h"

struct region_ctx {
        struct reconcile_region shared; /* first: reconcilers see only this */
        struct manager *manager;
        struct kinesis_call *list_call;
        struct kinesis_call *account_call; /* DescribeAccountSettings, after a listing */
        bool account_warned;     /* a failed DescribeAccountSettings was said */
        /* ListStreams throttled: the region's pass waits, then lists again. */
        struct reconcile_wait list_wait;
        sd_event_source *list_timer;
        struct kinesis_stream_entry *entries; /* sorted by name */
        size_t n_entries;
};

/* The credentials of a role that streams name (role_arn), assumed from the
 * daemon's own: one per account (config.c sees to it that an account's
 * streams name one role). */
struct manager_role {
        char account[13];
        struct creds_provider *creds;
};

struct manager {
        sd_event *event;
        struct run_options opts;
        struct config *config;
        char *default_region;
        char *state_path;
        struct state_dir *state;
        struct budget_book *budget; /* budgets.json: read at start, saved with the exports */
        struct text_pool *texts;    /* the reconcilers' shared texts (reconcile-text.h) */
        uint64_t budget_saved;      /* budget_book_changes() when last saved; UINT64_MAX: save */

        struct http_client *http;
        struct creds_provider *creds;
        struct manager_role *roles; /* freed after the regions, whose clients use them */
        size_t n_roles;
        struct region_ctx **regions;
        size_t n_regions;
        struct reconciler *stream_block; /* reconcilers_new()'s, parallel to config->streams:
                                            manager_stream() */
        size_t n_streams;

        sd_event_source *pass_timer, *export_timer, *stop_timer, *extend_timer, *progress_timer;
        uint64_t export_cost_usec; /* CLOCK_MONOTONIC time the last export took */

        /* The last export: how many declared streams it left without their
         * files, and whether any file failed at all. While one did, the export
         * is tried again after export_retry_usec, twice as long each time. */
        size_t export_unexported;
        bool export_failing;
        char *export_status;  /* for STATUS=: the first failed files, or NULL */
        char *export_logged;  /* the failures last logged above debug */
        sd_event_source *export_retry_timer;
        uint64_t export_retry_usec;
        /* The ARNs (streams' and consumers') the last export put into
         * streams.env, as sorted 64-bit hashes (arn_hash(): a copy of each
         * ARN would cost 64 bytes a stream): while streams are being
         * created, one that is not among them yet waits (hold_since,
         * CLOCK_MONOTONIC: since when one waits; 0: none) so that
         * streams.env changes once per wave of creations, not once per
         * stream. A collision only lets an ARN through without waiting. */
        uint64_t *exported_arns;
        size_t n_exported_arns;
        uint64_t hold_since;
        sd_event_source *export_hold_timer;

        bool pass_running;
        bool first_pass_done; /* READY=1 then waits for the exports alone */
        size_t n_settled;

        /* Streams of this pass waiting to start, and how many have started and
         * not settled: at most START_WINDOW at once, so a pass over thousands
         * of streams does not hold thousands of queued requests in memory (the
         * pacers let only 16 a second through anyway). */
        struct pending_start {
                struct reconciler *r;
                const struct kinesis_stream_entry *listed; /* in its region's entries; NULL: not listed */
                bool deep;
        } *pending;
        size_t n_pending, next_pending, active;
        bool pumping, pump_again, settling_unstarted;
        unsigned in_flight;
        bool ready_sent;
        bool stopping;
        enum manager_result result;
        char *reload_error; /* shown in STATUS= until the next good reload */
        /* A reload is starting from its SIGHUP until its pass has the
         * listing of every region and RELOAD_HOLDOFF_USEC have passed. SIGHUPs
         * meanwhile are one request: a single reload after it, which reads
         * the files as they are then (a burst of signals is one more
         * ListStreams per region, not one each). */
        bool reload_starting, reload_queued;
        sd_event_source *reload_timer;
        /* Reloads begun, and the last one accepted whose pass is not done
         * yet (0: none): READY=1 and the answers to `kinesisd --reload`
         * wait for that pass. Each waiter waits for the reload numbered
         * gen: the one its request began, or the one queued then. */
        uint64_t reload_gen, reload_converging;
        bool reload_ready_due; /* its READY=1 too (not before the first one) */
        struct reload_waiter {
                pid_t pid;
                int pidfd; /* the answer goes to this very process; -1: by pid */
                uint64_t gen;
        } *reload_waiters;
        size_t n_reload_waiters;
        char *last_status;

        struct kinesis_counters counters_base; /* of clients freed by reloads */
        struct state_metrics metrics;
        uint64_t pass_started_usec;
        /* How long the listings took: this pass's so far (from its start
         * until the last region's listing came), and the last complete
         * pass's, which brings the next pass forward (pass_period()). */
        uint64_t pass_listed_usec, last_listing_usec;
        uint64_t started_realtime_usec; /* when this process began */
};

/* The i-th declared stream's reconciler (config->streams[i]'s). */
static inline struct reconciler *manager_stream(const struct manager *m, size_t i) {
        return reconciler_at(m->stream_block, i);
}

static inline bool writes_state(const struct manager *m) {
        return m->opts.mode != RUN_PLAN;
}

/* manager.c: the object, configurations, signals. */
void manager_stop_finish(struct manager *m);
/* A region's ListStreams was answered: a reload waiting for its pass's
 * listing (and a reload queued behind it) may go on. */
void manager_reload_listed(struct manager *m);
/* The first n reconcilers of block sorted for manager_index_find(), or
 * NULL (n == 0, or out of memory: callers then find nothing). */
struct reconciler **manager_index_new(struct reconciler *block, size_t n);
struct reconciler *manager_index_find(struct reconciler **index, size_t n, const char *account,
                                      const char *region, const char *name);

/* The reload that began the pass now done is done too: READY=1, and the
 * answers to those who wait for it. */
void manager_reload_pass_done(struct manager *m);
/* Answer every `kinesisd --reload` still waiting (stopping, say). */
void manager_reload_answer_all(struct manager *m, int answer);

/* manager-pass.c: passes over every stream, and the reconcilers' callbacks. */
extern const struct reconcile_ops manager_reconcile_ops;
void manager_pass_start(struct manager *m);
/* READY=1, if it is due: the first pass is done and every declared stream
 * is exported. */
void manager_ready_if_exported(struct manager *m);
void manager_call_finished(void *owner);

/* manager-export.c: the state directory. Opening it logs what went wrong;
 * -EINVAL: it (or a directory above it) is one others could change. */
int manager_open_state(struct manager *m, const struct config *c);
int manager_export_now(struct manager *m);
void manager_export_soon(struct manager *m);
void manager_seed_from_previous_export(struct manager *m);
int manager_load_budget(struct manager *m, const struct config *c);
void manager_save_budget(struct manager *m);

/* manager-notify.c: STATUS= and the start-up time extension. */
/* The declared streams by where they stand, each counted once (the first
 * that fits: failed, waiting on AWS, then by status; other: not known yet
 * or missing). */
struct stream_counts {
        size_t active, creating, updating, failed, waiting, other;
};
void manager_count_streams(const struct manager *m, struct stream_counts *ret);
void manager_notify_status(struct manager *m);
void manager_notify_starting(struct manager *m);
/* An accepted reload waits for its streams: ask for more time as a start does. */
void manager_notify_reloading(struct manager *m);

/* manager-progress.c: what a person watching sees while streams converge. */
void manager_progress_pass_started(struct manager *m);
/* The run is over (--once's pass done, a stop): the terminal line goes. */
void manager_progress_done(struct manager *m);
