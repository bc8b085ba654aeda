/* The manager's side of the state directory: which directory, when to
 * export (coalesced), what to export (every reconciler's view and the
 * counters), and seeding the reconcilers from what an earlier run exported.
 *
 * Must never export before AWS has answered for every stream (that would
 * drop exports of streams not looked at yet), and never in --plan mode. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "manager-internal.h"

#define DEFAULT_STATE_DIR "/var/lib/kinesisd"
/* Coalesce exports: many streams change within one burst of answers. */
#define EXPORT_DELAY_USEC (50 * USEC_PER_MSEC)
/* ... or this many times what the last export cost, at most EXPORT_DELAY_MAX_USEC. */
#define EXPORT_COST_FACTOR 10
#define EXPORT_DELAY_MAX_USEC (5 * USEC_PER_SEC)
/* How late the export timer may fire, to be woken together with others. */
#define EXPORT_ACCURACY_USEC (10 * USEC_PER_MSEC)
/* An export with a file that could not be written is tried again after
 * this long, twice as long each time up to the cap: a disk that is full or
 * read-only for a while is not hammered, and one that is fixed is used soon. */
#define EXPORT_RETRY_FIRST_USEC (1 * USEC_PER_SEC)
#define EXPORT_RETRY_MAX_USEC (30 * USEC_PER_SEC)
/* A new ARN waits for the streams still being created at most this long:
 * streams.env then changes at most once per wave of creations (AWS lets an
 * account have 5 streams CREATING at once, each for tens of seconds), and
 * a long queue of creations still shows its first ARNs before it ends. */
#define EXPORT_HOLD_MAX_USEC (30 * USEC_PER_SEC)
/* Failed files named in the journal and in STATUS=; the rest are counted. */
#define EXPORT_LOG_FILES 16
#define EXPORT_STATUS_FILES 3

static int state_path(const struct manager *m, const struct config *c, const char **ret, char **ret_alloc);

/* Write budgets.json when the book changed since it was last saved (and
 * then only if its bytes differ: budget_save compares). A failure is logged
 * and retried with the next export: the book stays in memory, so only a
 * crash before then could lose a count. */
void manager_save_budget(struct manager *m) {
        uint64_t changes;
        int r;

        if (!writes_state(m) || !m->state || !m->budget)
                return;
        changes = budget_book_changes(m->budget);
        if (changes == m->budget_saved)
                return;
        r = budget_save(state_dir_fd(m->state), m->budget, clock_now_usec(CLOCK_REALTIME));
        if (r >= 0)
                m->budget_saved = changes;
        if (r < 0)
                log_warning_errno(r, "Cannot write %s/%s, keeping the budgets in memory: %m", m->state_path,
                                  BUDGET_FILE);
        else if (r > 0)
                log_debug("Budgets saved to %s/%s.", m->state_path, BUDGET_FILE);
}

/* Read budgets.json before the first pass. Daemon and --once: from the
 * opened state directory, setting a bad file aside. --plan writes nothing:
 * it reads the file where it is, if the directory exists, and a bad file is
 * read as empty and left in place. The warning names the file. */
int manager_load_budget(struct manager *m, const struct config *c) {
        _cleanup_free_ char *alloc = NULL, *warning = NULL;
        _cleanup_close_ int fd = -1;
        struct budget_book *b = NULL;
        const char *p;
        int r;

        if (m->budget)
                return 0;
        if (writes_state(m)) {
                p = m->state_path;
                r = budget_load(state_dir_fd(m->state), &b, &warning);
        } else {
                r = state_path(m, c, &p, &alloc);
                if (r < 0)
                        return r;
                fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0 && errno != ENOENT)
                        return log_error_errno(errno, "Cannot open the state directory %s to read %s: %m", p,
                                               BUDGET_FILE);
                if (fd < 0) {
                        b = budget_book_new();
                        r = b ? 0 : -ENOMEM;
                } else
                        r = budget_load_readonly(fd, &b, &warning);
        }
        if (r < 0)
                return log_error_errno(r, "Cannot read %s/%s: %m", p, BUDGET_FILE);
        if (warning)
                log_warning("%s/%s", p, warning);
        m->budget = b;
        /* A file set aside is replaced by a valid one at the first export. */
        m->budget_saved = warning ? UINT64_MAX : budget_book_changes(b);
        log_debug("Budgets of %zu stream%s read from %s/%s.", budget_book_size(b),
                  budget_book_size(b) == 1 ? "" : "s", p, BUDGET_FILE);
        return 0;
}

static void collect_metrics(struct manager *m, struct state_metrics *ret) {
        struct kinesis_counters c = m->counters_base;

        for (size_t i = 0; i < m->n_regions; i++) {
                const struct kinesis_counters *k = kinesis_client_counters(m->regions[i]->shared.client);
                c.sent += k->sent;
                c.errors += k->errors;
                c.throttles += k->throttles;
        }
        *ret = m->metrics;
        /* Every request sent counts: each page of a listing, each retry,
         * each resend on a new connection, and requests of calls abandoned
         * later (a reload, a stop) are calls AWS sees and rate-limits. */
        ret->api_calls = c.sent;
        ret->api_errors = c.errors;
        ret->api_throttled = c.throttles;
        ret->oldest_deep_usec = 0;
        for (size_t i = 0; i < m->n_streams; i++) {
                uint64_t d = reconciler_deep_usec(manager_stream(m, i));
                /* Listed but never deep-checked (a fresh start spreads the
                 * first checks): its settings are unread since before this
                 * process began, and an alert on the age must see it. */
                if (!d && reconciler_listed_only(manager_stream(m, i)))
                        d = m->started_realtime_usec;
                if (d && (!ret->oldest_deep_usec || d < ret->oldest_deep_usec))
                        ret->oldest_deep_usec = d;
        }
        uint64_t now = clock_now_usec(CLOCK_REALTIME);
        ret->oldest_deep_age_usec = ret->oldest_deep_usec && now > ret->oldest_deep_usec
                                            ? now - ret->oldest_deep_usec : 0;
}

/* "streams.env (Read-only file system), streams/us-east-1/ (...) and 3
 * more": the first max failed files of ch and why. */
static char *failures_text(const struct state_changes *ch, size_t max) {
        _cleanup_free_ char *t = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&t, &len);
        size_t shown = 0;

        if (!f)
                return NULL;
        for (size_t i = 0; i < ch->n_failures && shown < max; i++, shown++)
                fprintf(f, "%s%s (%s%s)", i > 0 ? ", " : "", ch->failures[i].path,
                        ch->failures[i].removal ? "not removed: " : "",
                        state_error_text(ch->failures[i].error));
        if (ch->n_failed > shown)
                fprintf(f, "%s%zu more", shown > 0 ? " and " : "", ch->n_failed - shown);
        if (fclose(f) != 0)
                return NULL;
        return TAKE_PTR(t);
}

static int on_export_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        struct manager *m = userdata;

        m->export_retry_timer = sd_event_source_disable_unref(m->export_retry_timer);
        (void) manager_export_now(m);
        return 0;
}

/* An export left files unwritten: say which and why (once for each new set
 * of failures; the same again only at debug level), and in the daemon try
 * again with backoff. --once exits after its export and reports failure.
 * why, if not NULL, says why nothing was written instead of error's text. */
static void export_failed(struct manager *m, const struct state_changes *ch, int error, const char *why) {
        _cleanup_free_ char *logged = NULL, *status = NULL;
        bool repeat;

        if (error < 0) {
                /* Nothing was written: the export was refused (-EINVAL,
                 * -ENOMEM) or the state directory cannot be opened. */
                (void) asprintf(&logged, "nothing written: %s", why ? why : strerror(-error));
                (void) asprintf(&status, "exports not written: %s", why ? why : strerror(-error));
        } else {
                _cleanup_free_ char *list = failures_text(ch, EXPORT_LOG_FILES);
                _cleanup_free_ char *brief = failures_text(ch, EXPORT_STATUS_FILES);

                (void) asprintf(&logged, "%zu of %zu stream%s not exported; cannot write: %s",
                                ch->streams_unexported, m->n_streams, m->n_streams == 1 ? "" : "s",
                                strna(list));
                if (ch->streams_unexported > 0)
                        (void) asprintf(&status, "%zu not exported, cannot write %s", ch->streams_unexported,
                                        strna(brief));
                else
                        (void) asprintf(&status, "cannot write %s", strna(brief));
        }

        m->export_failing = true;
        m->export_unexported = error < 0 ? m->n_streams : ch->streams_unexported;
        repeat = logged && streq_ptr(logged, m->export_logged);
        log_full_errno_fields(repeat ? LOG_DEBUG : LOG_ERR, 0,
                              (&(struct log_fields){ .message_id = LOG_MESSAGE_EXPORT_FAILED }),
                              "State directory %s: %s%s", m->state_path, strna(logged),
                              m->opts.mode == RUN_DAEMON ? " (will retry)" : "");
        free(m->export_logged);
        m->export_logged = TAKE_PTR(logged);
        free(m->export_status);
        m->export_status = TAKE_PTR(status);

        if (m->opts.mode != RUN_DAEMON || m->stopping || m->export_retry_timer)
                return;
        if (m->export_retry_usec == 0)
                m->export_retry_usec = EXPORT_RETRY_FIRST_USEC;
        else if (m->export_retry_usec < EXPORT_RETRY_MAX_USEC / 2)
                m->export_retry_usec *= 2;
        else
                m->export_retry_usec = EXPORT_RETRY_MAX_USEC;
        if (sd_event_add_time_relative(m->event, &m->export_retry_timer, CLOCK_MONOTONIC,
                                       m->export_retry_usec, m->export_retry_usec / 10, on_export_retry, m) < 0)
                log_error("Cannot arm the export retry timer; the exports are tried again with the "
                          "next pass.");
}

static void export_succeeded(struct manager *m) {
        if (m->export_failing)
                log_info("State directory %s: every export written.", m->state_path);
        m->export_failing = false;
        m->export_unexported = 0;
        m->export_logged = mfree(m->export_logged);
        m->export_status = mfree(m->export_status);
        m->export_retry_timer = sd_event_source_disable_unref(m->export_retry_timer);
        m->export_retry_usec = 0;
}

/* p, to be the state directory, fails the check of state_dir_open(): say
 * which directory and why, and what follows (then). */
static void log_unsafe(const char *p, const struct state_dir_unsafe *u, const char *then) {
        log_error("Refusing the state directory %s: %s%s (owner uid %u, gid %u, mode %04o) %s%s.", p,
                  S_ISLNK(u->mode) ? "the symbolic link " : "", u->path, (unsigned) u->uid,
                  (unsigned) u->gid, (unsigned) (u->mode & 07777), u->why, then);
}

/* The state directory removed, or replaced by another (rm -rf and mkdir, a
 * restore, a new mount), while we ran: whatever we write through the
 * descriptor we hold reaches no one. Open the path again (creating it) and
 * let the export write every file there, budgets.json too; a new directory
 * others could change is refused like one at start-up, and nothing is
 * written until it is fixed. Returns 0 when the directory we hold is (again)
 * the one at the path; negative errno (logged, and an export failure, tried
 * again) when the path cannot be opened or is refused. */
static int state_reopen_if_replaced(struct manager *m) {
        _cleanup_(state_dir_unsafe_done) struct state_dir_unsafe unsafe = {};
        struct state_dir *d = NULL;
        int r;

        r = state_dir_is_current(m->state);
        if (r < 0)
                log_debug_errno(r, "Cannot tell whether %s is still the state directory, keeping it: %m",
                                m->state_path);
        if (r != 0)
                return 0;
        r = state_dir_open(m->state_path, &d, &unsafe);
        if (r < 0) {
                _cleanup_free_ char *why = NULL;

                if (unsafe.path) {
                        if (!m->export_failing)
                                log_unsafe(m->state_path, &unsafe,
                                           "; it was removed or replaced while kinesisd ran, and nothing is "
                                           "written into the new one");
                        (void) asprintf(&why, "refused, %s %s", unsafe.path, unsafe.why);
                } else if (!m->export_failing)
                        log_error_errno(r, "The state directory %s was removed or replaced and cannot be "
                                           "opened again: %m", m->state_path);
                export_failed(m, NULL, r, why);
                return r;
        }
        log_warning("The state directory %s was removed or replaced while kinesisd ran; writing every "
                    "file into the one there now.", m->state_path);
        state_dir_free(m->state);
        m->state = d;
        /* Not saved since, as far as the new directory is concerned. */
        m->budget_saved = UINT64_MAX;
        return 0;
}

/* ARNs come from AWS, and a collision costs nothing but a wait
 * (manager-internal.h). */
static uint64_t arn_hash(const char *s) {
        return fnv1a64(FNV1A64_INIT, s, strlen(s));
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

static bool arn_was_exported(const struct manager *m, const char *arn) {
        uint64_t h = arn_hash(arn);
        return m->n_exported_arns > 0 && bsearch(&h, m->exported_arns, m->n_exported_arns, sizeof h, cmp_u64);
}

/* Remember arns (n of them; NULL entries skipped) as the ARNs exported. */
static int exported_arns_set(struct manager *m, const char *const *arns, size_t n) {
        uint64_t *v = calloc(n + 1, sizeof *v);
        size_t k = 0;

        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (arns[i])
                        v[k++] = arn_hash(arns[i]);
        if (k > 1)
                qsort(v, k, sizeof *v, cmp_u64);
        free(m->exported_arns);
        m->exported_arns = v;
        m->n_exported_arns = k;
        return 0;
}

static int on_export_hold_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct manager *m = userdata;

        m->export_hold_timer = sd_event_source_disable_unref(m->export_hold_timer);
        (void) manager_export_now(m);
        return 0;
}

/* While any stream is being created, an ARN that is not in streams.env yet
 * (a stream or consumer that just turned ACTIVE) waits until none is, or
 * EXPORT_HOLD_MAX_USEC have passed since the first one waited: withhold
 * those in streams (consumers are dropped from their stream's list).
 * streams.json still shows every stream with its status and ARN. */
static void export_hold(struct manager *m, struct state_stream *streams, size_t n) {
        uint64_t now = clock_now_usec(CLOCK_MONOTONIC);
        bool creating = false;
        size_t held = 0;

        /* Stopping, nothing more becomes ACTIVE in this run: what did
         * is exported now rather than at the next start. */
        for (size_t i = 0; i < m->n_streams && !creating && !m->stopping; i++)
                creating = reconciler_creating(manager_stream(m, i));
        if (!creating || (m->hold_since != 0 && now - m->hold_since >= EXPORT_HOLD_MAX_USEC)) {
                m->hold_since = 0;
                m->export_hold_timer = sd_event_source_disable_unref(m->export_hold_timer);
                return;
        }
        for (size_t i = 0; i < n; i++) {
                struct state_stream *s = &streams[i];
                /* The consumers are the stream's own slice of one array:
                 * compact it in place. */
                struct state_consumer *c = (struct state_consumer *) s->consumers;
                size_t kept = 0;

                if (!s->arn_withheld && s->arn && !arn_was_exported(m, s->arn)) {
                        s->arn_withheld = true;
                        held++;
                }
                for (size_t j = 0; j < s->n_consumers; j++) {
                        if (!arn_was_exported(m, c[j].arn)) {
                                held++;
                                continue;
                        }
                        c[kept++] = c[j];
                }
                s->n_consumers = kept;
        }
        if (held == 0) {
                m->hold_since = 0;
                m->export_hold_timer = sd_event_source_disable_unref(m->export_hold_timer);
                return;
        }
        if (m->hold_since == 0) {
                m->hold_since = now;
                log_debug("%zu new ARN%s wait%s for the streams still being created.", held,
                          held == 1 ? "" : "s", held == 1 ? "s" : "");
        }
        if (!m->export_hold_timer &&
            sd_event_add_time(m->event, &m->export_hold_timer, CLOCK_MONOTONIC,
                              m->hold_since + EXPORT_HOLD_MAX_USEC, EXPORT_ACCURACY_USEC,
                              on_export_hold_timer, m) < 0)
                m->hold_since = 0; /* no timer: nothing waits, the next export shows them */
}

/* The ARNs in streams.env after exporting streams: remember them. */
static void export_remember(struct manager *m, const struct state_stream *streams, size_t n) {
        _cleanup_free_ const char **v = NULL;
        size_t k = 0, total = 0;

        for (size_t i = 0; i < n; i++)
                total += 1 + streams[i].n_consumers;
        v = calloc(total + 1, sizeof *v);
        if (!v) {
                log_oom();
                return;
        }
        for (size_t i = 0; i < n; i++) {
                if (!streams[i].arn_withheld)
                        v[k++] = streams[i].arn;
                for (size_t j = 0; j < streams[i].n_consumers; j++)
                        v[k++] = streams[i].consumers[j].arn;
        }
        if (exported_arns_set(m, v, k) < 0)
                log_oom();
}

int manager_export_now(struct manager *m) {
        _cleanup_(state_changes_done) struct state_changes ch = {};
        struct state_stream *streams = NULL;
        struct state_consumer *consumers = NULL;
        struct state_metrics metrics;
        size_t n_consumers = 0, used = 0;
        bool was_failing = m->export_failing;
        int r;

        m->export_timer = sd_event_source_disable_unref(m->export_timer);
        if (!writes_state(m) || !m->state)
                return 0;
        r = state_reopen_if_replaced(m);
        if (r < 0) {
                manager_notify_status(m);
                return r;
        }
        /* Until AWS has answered for every stream, an export would drop the
         * .arn files and env lines of streams not looked at yet (the previous
         * run's exports are still in the directory): wait. The first answer
         * of the last stream asks for an export again. Looked for from the
         * end: a pass mostly asks in declaration order, so during one the last
         * stream is the one not answered yet, found at once (from the
         * start, every answer's export looked at all answered before it). */
        for (size_t i = m->n_streams; i-- > 0;)
                if (!reconciler_observed(manager_stream(m, i))) {
                        manager_save_budget(m);
                        return 0;
                }

        uint64_t started = clock_now_usec(CLOCK_MONOTONIC);
        for (size_t i = 0; i < m->n_streams; i++)
                n_consumers += reconciler_decl(manager_stream(m, i))->x->n_consumers;
        streams = calloc(m->n_streams ? m->n_streams : 1, sizeof *streams);
        consumers = calloc(n_consumers ? n_consumers : 1, sizeof *consumers);
        if (!streams || !consumers) {
                free(streams);
                free(consumers);
                return log_oom();
        }
        for (size_t i = 0; i < m->n_streams; i++) {
                size_t want = reconciler_decl(manager_stream(m, i))->x->n_consumers;
                reconciler_export(manager_stream(m, i), &streams[i], consumers + used, want);
                used += want;
        }
        export_hold(m, streams, m->n_streams);
        collect_metrics(m, &metrics);
        r = state_export(m->state,
                         &(struct state_export){
                                 .default_region = m->default_region,
                                 .now_usec = clock_now_usec(CLOCK_REALTIME),
                                 .streams = streams,
                                 .n_streams = m->n_streams,
                                 .metrics = &metrics,
                         },
                         &ch);
        if (r >= 0)
                export_remember(m, streams, m->n_streams);
        free(streams);
        free(consumers);
        /* The exports first: on a nearly full disk they matter more than
         * kinesisd's own book, which stays in memory until it can be saved. */
        manager_save_budget(m);
        m->export_cost_usec = clock_now_usec(CLOCK_MONOTONIC) - started;
        if (r != 0)
                export_failed(m, &ch, r < 0 ? r : 0, NULL);
        else
                export_succeeded(m);
        if (ch.files_written || ch.files_removed)
                log_debug("State exported: %u file(s) written%s, %u removed.", ch.files_written,
                          ch.json_written ? " (streams.json among them)" : "", ch.files_removed);
        if (was_failing || m->export_failing)
                manager_notify_status(m);
        manager_ready_if_exported(m);
        return r == 0 ? 0 : r < 0 ? r : -EIO;
}

static int on_export_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        (void) manager_export_now(userdata);
        return 0;
}

void manager_export_soon(struct manager *m) {
        /* An export writes every stream: with thousands of them, changes
         * that come one by one (the deep checks of a pass) would have the
         * loop exporting most of the time, and its calls wait. The delay
         * grows with what the last export cost, so exporting takes at most
         * about a tenth of the loop; with few streams it stays 50 ms. */
        uint64_t delay = EXPORT_COST_FACTOR * m->export_cost_usec;

        if (delay < EXPORT_DELAY_USEC)
                delay = EXPORT_DELAY_USEC;
        else if (delay > EXPORT_DELAY_MAX_USEC)
                delay = EXPORT_DELAY_MAX_USEC;

        if (!writes_state(m) || m->export_timer)
                return;
        if (sd_event_add_time_relative(m->event, &m->export_timer, CLOCK_MONOTONIC, delay,
                                       EXPORT_ACCURACY_USEC, on_export_timer, m) < 0)
                (void) manager_export_now(m);
}

/* The state directory's path: --state-dir, state_dir:, $STATE_DIRECTORY or
 * the default. *ret_alloc holds what *ret points to when it was allocated. */
static int state_path(const struct manager *m, const struct config *c, const char **ret, char **ret_alloc) {
        const char *p = m->opts.state_dir;
        const char *env = getenv("STATE_DIRECTORY");

        *ret_alloc = NULL;
        if (!p)
                p = c->state_dir;
        if (!p && env && *env) {
                /* systemd may list several, separated by ':'; ours is the first. */
                *ret_alloc = strndup(env, strcspn(env, ":"));
                if (!*ret_alloc)
                        return log_oom();
                p = *ret_alloc;
        }
        *ret = p ? p : DEFAULT_STATE_DIR;
        return 0;
}

int manager_open_state(struct manager *m, const struct config *c) {
        _cleanup_(state_dir_unsafe_done) struct state_dir_unsafe unsafe = {};
        _cleanup_free_ char *first = NULL;
        struct state_dir *d = NULL;
        const char *p;
        int r;

        r = state_path(m, c, &p, &first);
        if (r < 0)
                return r;
        /* The same path: still the same directory? A reload is when an
         * operator who replaced it expects it to be used. One that cannot
         * be opened is no fault of the configuration: the exports report
         * it and try again. */
        if (m->state && streq_ptr(m->state_path, p)) {
                (void) state_reopen_if_replaced(m);
                return 0;
        }
        r = state_dir_open(p, &d, &unsafe);
        if (r < 0 && unsafe.path) {
                /* Not a passing fault: someone else could write what other
                 * services read. Like a bad configuration, it needs fixing. */
                log_unsafe(p, &unsafe, "");
                return -EINVAL;
        }
        if (r < 0)
                return log_error_errno(r, "Cannot open the state directory %s: %m", p);
        state_dir_free(m->state);
        m->state = d;
        free(m->state_path);
        m->state_path = strdup(p);
        return m->state_path ? 0 : log_oom();
}

/* A new process knows nothing of what an earlier run exported: take each
 * stream's last_change, ARN and consumer ARNs from the streams.json it left,
 * so that this run neither rewrites an unchanged file (and wakes its
 * watchers) only to say "never", nor takes ARNs away while AWS cannot be
 * asked. Anything else is ignored: this only seeds what AWS will confirm. */
void manager_seed_from_previous_export(struct manager *m) {
        _cleanup_(state_previous_done) struct state_previous p = {};
        _cleanup_free_ struct reconciler **index = NULL;
        _cleanup_free_ const char **exported = NULL;
        size_t n_exported = 0;
        int k;

        if (!m->state || m->n_streams == 0)
                return;
        k = state_read_previous(m->state, &p);
        if (k < 0) {
                if (k != -ENOENT)
                        log_debug_errno(k, "Cannot read the previous streams.json, ignoring: %m");
                return;
        }
        index = manager_index_new(m->stream_block, m->n_streams);
        /* What it exported is exported already: kept while others are
         * being created (export_hold()). */
        exported = calloc(p.n_streams + p.n_consumers + 1, sizeof *exported);
        for (size_t i = 0; index && i < p.n_streams; i++) {
                const struct state_previous_stream *s = &p.streams[i];
                /* A stream of the daemon's own account has that account in
                 * streams.json, learnt from its ARN; in the index it is "". */
                struct reconciler *r =
                        manager_index_find(index, m->n_streams, strempty(s->account), s->region, s->name);
                bool was_exported;

                if (!r && s->account)
                        r = manager_index_find(index, m->n_streams, "", s->region, s->name);

                if (!r)
                        continue;
                was_exported = s->arn &&
                               state_arn_file_holds(m->state, s->account, s->region, s->name, s->arn);
                if (was_exported && exported)
                        exported[n_exported++] = s->arn;
                for (size_t j = 0; j < s->n_consumers; j++)
                        if (s->consumers[j].arn && exported)
                                exported[n_exported++] = s->consumers[j].arn;
                if (s->arn)
                        (void) reconciler_seed_arn(r, s->arn, was_exported);
                /* streams.json lists the consumers exported (ACTIVE) only. */
                for (size_t j = 0; j < s->n_consumers; j++)
                        if (s->consumers[j].arn)
                                (void) reconciler_seed_consumer(r, s->consumers[j].name, s->consumers[j].arn);
                if (s->last_change_usec)
                        reconciler_seed_last_change(r, s->last_change_usec);
                reconciler_seed_shape(r, s->shards, s->retention_hours);
        }
        if (exported && exported_arns_set(m, exported, n_exported) < 0)
                log_oom();
}
