/* kinesisd's own record of the per-stream budgets AWS counts over a rolling
 * 24 h (DESIGN §6: UpdateShardCount, UpdateStreamMode, Start/Stop
 * StreamEncryption) and of streams it created whose declared settings are not
 * all applied yet (issue 12 items 4 and 6). Kept in the state directory as
 * budgets.json (DESIGN §4), so that a restart, --once and --plan honour
 * budgets spent by earlier runs.
 *
 * Times are CLOCK_REALTIME microseconds, passed in by the caller: nothing
 * here reads a clock. A time later than the caller's "now" (the clock went
 * back) counts as "now", so no record locks a budget for more than 24 h from
 * the present. Only the newest `limit` calls of a kind are kept per stream:
 * older ones cannot change whether or when the next call is allowed.
 *
 * Never logs above debug (the caller logs, once); returns negative errno;
 * output parameters are written only on success. Never writes anywhere but
 * budgets.json and budgets.json.corrupt in the state directory, never follows
 * a symlink there, never rewrites a file in place. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BUDGET_FILE         "budgets.json"
#define BUDGET_FILE_CORRUPT "budgets.json.corrupt"
#define BUDGET_WINDOW_USEC  (UINT64_C(24) * 3600 * 1000000)
/* budgets.json is refused on load, and not written on save, above this size.
 * 10,000 streams with a scale-up each a day take about 1 MiB. */
#define BUDGET_FILE_MAX     ((size_t)4 * 1024 * 1024)
#define BUDGET_STREAMS_MAX  100000
#define BUDGET_REGION_MAX   64
#define BUDGET_NAME_MAX     128

enum budget_kind {
        BUDGET_UPDATE_SHARD_COUNT, /* 10 per stream per rolling 24 h */
        BUDGET_UPDATE_STREAM_MODE, /* 2 */
        BUDGET_START_ENCRYPTION,   /* 25 */
        BUDGET_STOP_ENCRYPTION,    /* 25 */
        _BUDGET_KIND_MAX,
};

struct budget_book;

struct budget_book *budget_book_new(void);
struct budget_book *budget_book_free(struct budget_book *b);
/* Streams in the book (those with a call recorded or a creation pending). */
size_t budget_book_size(const struct budget_book *b);

/* Counts budget_record, budget_set_pending and budget_clear_pending calls
 * that changed the book, so that a caller can tell whether it has anything
 * new to save (expiry alone never needs saving: budget_used reads through
 * it). */
uint64_t budget_book_changes(const struct budget_book *b);

/* The API's name for a kind ("UpdateShardCount", ...), NULL if out of range. */
const char *budget_kind_to_string(enum budget_kind k);
/* Calls AWS allows per stream per rolling 24 h; 0 for a kind out of range. */
unsigned budget_limit(enum budget_kind k);

/* Count a call of kind k to stream (region, name) made at now. Region and name
 * are 1..BUDGET_REGION_MAX / BUDGET_NAME_MAX characters of [A-Za-z0-9_.-]
 * (what AWS accepts). "region" is where the stream lives: the caller passes
 * ACCOUNT-REGION for a stream in a role's account, so that one name in two
 * accounts has two records (a region never starts with a digit). Returns 0,
 * -EINVAL (bad name or kind), -E2BIG (already BUDGET_STREAMS_MAX streams) or
 * -ENOMEM. */
int budget_record(struct budget_book *b, const char *region, const char *name, enum budget_kind k,
                  uint64_t now);
/* Calls of kind k counted in (now - 24 h, now]; at most budget_limit(k). */
unsigned budget_used(const struct budget_book *b, const char *region, const char *name, enum budget_kind k,
                     uint64_t now);
/* 0 if a call of kind k is allowed at now, else the CLOCK_REALTIME at which
 * the oldest counted call leaves the window (never later than now + 24 h). */
uint64_t budget_next_free(const struct budget_book *b, const char *region, const char *name,
                          enum budget_kind k, uint64_t now);

/* The time of the oldest call of kind k counted at now (the first to leave
 * the window, 24 h later), or 0 if none is counted. */
uint64_t budget_oldest(const struct budget_book *b, const char *region, const char *name, enum budget_kind k,
                       uint64_t now);

/* kinesisd created the stream at created_at and has not applied every
 * declared setting yet. Same returns as budget_record. */
int budget_set_pending(struct budget_book *b, const char *region, const char *name, uint64_t created_at);
void budget_clear_pending(struct budget_book *b, const char *region, const char *name);
/* Whether the stream's creation is pending; if so and ret_created_at is not
 * NULL, *ret_created_at is set. */
bool budget_pending(const struct budget_book *b, const char *region, const char *name,
                    uint64_t *ret_created_at);

/* The stream is no longer declared: drop its record now if nothing in it
 * counts at now (no call in the window, no creation pending). Otherwise it is
 * kept, and budget_expire drops it once that is so; a pending creation stays
 * until budget_clear_pending. */
void budget_forget(struct budget_book *b, const char *region, const char *name, uint64_t now);

/* Drop calls that left the window at now, move times later than now to now,
 * and drop streams left with nothing to record. */
void budget_expire(struct budget_book *b, uint64_t now);

/* The book as budgets.json text, NUL-terminated. -EFBIG over BUDGET_FILE_MAX,
 * -ENOMEM. */
int budget_format(const struct budget_book *b, char **ret_text, size_t *ret_len);
/* Parse budgets.json text. -EBADMSG if it is not a budget file of version 1
 * within the limits above, with *ret_reason (if not NULL) set to a static
 * text saying what is wrong; -ENOMEM. */
int budget_parse(const char *text, size_t len, struct budget_book **ret, const char **ret_reason);

/* Read dirfd/budgets.json. A missing file gives an empty book. A file that is
 * not a regular file (a symlink is not followed), larger than BUDGET_FILE_MAX
 * or not a valid budget file is renamed to budgets.json.corrupt (replacing an
 * older one) and an empty book is returned, with *ret_warning set to a
 * message naming the file and what was wrong, for the caller to log;
 * otherwise *ret_warning is set to NULL (ret_warning may be NULL). Other
 * errors (unreadable file, -ENOMEM) are returned. */
int budget_load(int dirfd, struct budget_book **ret, char **ret_warning);
/* The same for a reader that must not change the state directory (--plan): a
 * bad file is left where it is and read as an empty book, with *ret_warning
 * saying so. */
int budget_load_readonly(int dirfd, struct budget_book **ret, char **ret_warning);
/* budget_expire, then replace dirfd/budgets.json atomically (mode 0644) if
 * its content changes. Returns 1 if written, 0 if unchanged, negative errno
 * (-EINVAL for no book; -EFBIG over BUDGET_FILE_MAX: the old file is left as
 * it is). */
int budget_save(int dirfd, struct budget_book *b, uint64_t now);
