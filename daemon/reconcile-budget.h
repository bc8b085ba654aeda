/* The reconciler's side of the budget book (budget.h): what the planner
 * needs to know of a stream's rolling-24 h budgets, and counting the calls
 * AWS counts against them once they succeeded.
 *
 * Holds no state of its own: the book is the manager's. Never logs. */
#pragma once

#include <stdint.h>

#include "budget.h"
#include "plan.h"
#include "stream.h"

/* Fill obs->budget and obs->now_usec for the stream (region, name) at now
 * (CLOCK_REALTIME). A NULL book counts nothing. */
void reconcile_budget_fill(const struct budget_book *b, const char *region, const char *name, uint64_t now,
                           struct stream_obs *obs);

/* Count a succeeded action at now: the four budgeted calls are recorded,
 * CreateStream marks the creation pending (its declared settings are not
 * all applied yet), anything else is not counted. 0 (also for a NULL book)
 * or the negative errno of budget_record / budget_set_pending. */
int reconcile_budget_count(struct budget_book *b, const char *region, const char *name, enum action_type t,
                           uint64_t now);
