/* The manager's side of the state directory: which directory, when to
 * export (coalesced), what to export (every reconciler's view and the
 * counters), and seeding the reconcilers from what an earlier run exported.
 *
 * Must never export before AWS has answered for every stream (that would
 * drop exports of streams not looked at yet), and never in --plan mode. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "manager-internal.h"

#define DEFAULT_STATE_DIR "/var/lib/kinesisd"
/* Coalesce exports: many streams change within one burst of answers. */
#define EXPORT_DELAY_USEC (50 * USEC_PER_MSEC)
/* How late the export timer may fire, to be woken together with others. */
#define EXPORT_ACCURACY_USEC (10 * USEC_PER_MSEC)

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
                c.attempts += k->attempts;
                c.errors += k->errors;
                c.throttles += k->throttles;
        }
        *ret = m->metrics;
        /* Every request sent counts: each page of a listing and each retry
         * is a call AWS sees and rate-limits. */
        ret->api_calls = c.attempts;
        ret->api_errors = c.errors;
        ret->api_throttled = c.throttles;
}

int manager_export_now(struct manager *m) {
        struct state_stream *streams = NULL;
        struct state_consumer *consumers = NULL;
        struct state_metrics metrics;
        struct state_changes ch = {};
        size_t n_consumers = 0, used = 0;
        int r;

        m->export_timer = sd_event_source_disable_unref(m->export_timer);
        if (!writes_state(m) || !m->state)
                return 0;
        manager_save_budget(m);
        /* Until AWS has answered for every stream, an export would drop the
         * .arn files and env lines of streams not looked at yet (the previous
         * run's exports are still in the directory): wait. The first answer
         * of the last stream asks for an export again. */
        for (size_t i = 0; i < m->n_streams; i++)
                if (!reconciler_observed(m->streams[i]))
                        return 0;

        for (size_t i = 0; i < m->n_streams; i++)
                n_consumers += reconciler_decl(m->streams[i])->n_consumers;
        streams = calloc(m->n_streams ? m->n_streams : 1, sizeof *streams);
        consumers = calloc(n_consumers ? n_consumers : 1, sizeof *consumers);
        if (!streams || !consumers) {
                free(streams);
                free(consumers);
                return log_oom();
        }
        for (size_t i = 0; i < m->n_streams; i++) {
                size_t want = reconciler_decl(m->streams[i])->n_consumers;
                reconciler_export(m->streams[i], &streams[i], consumers + used, want);
                used += want;
        }
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
        free(streams);
        free(consumers);
        if (r < 0)
                return log_error_errno(r, "Failed to write the state directory %s: %m", m->state_path);
        if (ch.files_written || ch.files_removed)
                log_debug("State exported: %u file(s) written, %u removed.", ch.files_written,
                          ch.files_removed);
        return 0;
}

static int on_export_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        (void) manager_export_now(userdata);
        return 0;
}

void manager_export_soon(struct manager *m) {
        if (!writes_state(m) || m->export_timer)
                return;
        if (sd_event_add_time_relative(m->event, &m->export_timer, CLOCK_MONOTONIC, EXPORT_DELAY_USEC,
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
        _cleanup_free_ char *first = NULL;
        struct state_dir *d = NULL;
        const char *p;
        int r;

        r = state_path(m, c, &p, &first);
        if (r < 0)
                return r;
        if (m->state && streq_ptr(m->state_path, p))
                return 0;
        r = state_dir_open(p, &d);
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
        int k;

        if (!m->state || m->n_streams == 0)
                return;
        k = state_read_previous(m->state, &p);
        if (k < 0) {
                if (k != -ENOENT)
                        log_debug_errno(k, "Cannot read the previous streams.json, ignoring: %m");
                return;
        }
        index = manager_index_new(m->streams, m->n_streams);
        for (size_t i = 0; index && i < p.n_streams; i++) {
                const struct state_previous_stream *s = &p.streams[i];
                struct reconciler *r = manager_index_find(index, m->n_streams, s->region, s->name);

                if (!r)
                        continue;
                if (s->arn)
                        (void) reconciler_seed_arn(r, s->arn);
                for (size_t j = 0; j < s->n_consumers; j++)
                        if (s->consumers[j].arn)
                                (void) reconciler_seed_consumer(r, s->consumers[j].name, s->consumers[j].arn);
                if (s->last_change_usec)
                        reconciler_seed_last_change(r, s->last_change_usec);
        }
}
