/* Per-stream budgets for the reconciler (reconcile-budget.h): from the book
 * into struct stream_obs for the planner, and succeeded calls into the book.
 *
 * No state, no logging: the caller logs what could not be recorded. */
#include "reconcile-budget.h"
#include "reconcile-internal.h"

#include <stdbool.h>

static bool action_budget(enum action_type t, enum budget_kind *ret) {
        switch (t) {
        case ACTION_UPDATE_SHARD_COUNT:
                *ret = BUDGET_UPDATE_SHARD_COUNT;
                return true;
        case ACTION_UPDATE_STREAM_MODE:
                *ret = BUDGET_UPDATE_STREAM_MODE;
                return true;
        case ACTION_START_ENCRYPTION:
                *ret = BUDGET_START_ENCRYPTION;
                return true;
        case ACTION_STOP_ENCRYPTION:
                *ret = BUDGET_STOP_ENCRYPTION;
                return true;
        default:
                return false;
        }
}

void reconcile_budget_fill(const struct budget_book *b, const char *region, const char *name, uint64_t now,
                           struct stream_obs *obs) {
        obs->now_usec = now;
        for (unsigned k = 0; k < _BUDGET_KIND_MAX; k++)
                obs->budget[k] = (struct stream_budget){
                        .used = b ? budget_used(b, region, name, k, now) : 0,
                        .oldest_sec = b ? time_sec(budget_oldest(b, region, name, k, now)) : 0,
                };
}

int reconcile_budget_count(struct budget_book *b, const char *region, const char *name, enum action_type t,
                           uint64_t now) {
        enum budget_kind k;

        if (!b)
                return 0;
        if (t == ACTION_CREATE_STREAM)
                return budget_set_pending(b, region, name, now);
        if (!action_budget(t, &k))
                return 0;
        return budget_record(b, region, name, k, now);
}
