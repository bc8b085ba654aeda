/* The rolling-24 h budgets AWS counts per stream, and pending creation
 * settings, kept across restarts in the state directory (budget.h).
 *
 * The book is a sorted array of streams (by region, then name), searched by
 * bisection: the daemon asks about every declared stream on every pass, and
 * 10,000 streams must not cost 10,000 string compares per question. Each
 * stream holds, per kind, its newest calls in ascending order, at most the
 * kind's limit of them.
 *
 * budgets.json is read without following a symlink and through the one
 * bounded file reader, written through atomic_file_write (temp file,
 * fsync, rename, only when the bytes change). A file that cannot be trusted
 * is moved aside, never deleted, and never half-used: the book starts empty.
 *
 * Must never log above debug, read a clock, write outside the state
 * directory, or let a recorded time lock a budget for more than 24 h past
 * the caller's "now". */
#include "budget.h"

#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <sys/stat.h>

#include "buf.h"
#include "file-read.h"
#include "json-util.h"
#include "atomic-file.h"
#include "util.h"

#define BUDGET_VERSION       1
#define BUDGET_FILE_MAX_TEXT "4 MiB"
_Static_assert(BUDGET_FILE_MAX == (size_t)4 * 1024 * 1024, "BUDGET_FILE_MAX_TEXT is out of date");
#define JSON_DEPTH 8 /* the format nests 4 deep */

struct kind_info {
        const char *api; /* for logs and --plan */
        const char *key; /* member in budgets.json */
        unsigned limit;  /* calls per stream per rolling 24 h (DESIGN §6) */
        unsigned offset; /* first slot in budget_stream.times */
};

static const struct kind_info kinds[_BUDGET_KIND_MAX] = {
        [BUDGET_UPDATE_SHARD_COUNT] = {"UpdateShardCount", "update_shard_count", 10, 0},
        [BUDGET_UPDATE_STREAM_MODE] = {"UpdateStreamMode", "update_stream_mode", 2, 10},
        [BUDGET_START_ENCRYPTION] = {"StartStreamEncryption", "start_encryption", 25, 12},
        [BUDGET_STOP_ENCRYPTION] = {"StopStreamEncryption", "stop_encryption", 25, 37},
};
#define SLOTS 62 /* sum of the limits */

struct budget_stream {
        const char *name;    /* points into region's allocation */
        uint64_t created_at; /* meaningful while pending */
        bool pending;
        uint8_t n[_BUDGET_KIND_MAX];
        uint64_t times[SLOTS]; /* per kind, ascending */
        char region[];         /* "region\0name\0" */
};

struct budget_book {
        struct budget_stream **streams; /* sorted by region, name */
        size_t n, allocated;
        uint64_t changes; /* see budget_book_changes() */
};

static bool kind_valid(enum budget_kind k) {
        return (unsigned)k < _BUDGET_KIND_MAX;
}

const char *budget_kind_to_string(enum budget_kind k) {
        return kind_valid(k) ? kinds[k].api : NULL;
}

unsigned budget_limit(enum budget_kind k) {
        return kind_valid(k) ? kinds[k].limit : 0;
}

/* What AWS accepts in a stream name and a region, so nothing we write into
 * budgets.json ever needs escaping. */
static bool name_valid(const char *s, size_t max) {
        size_t l;

        if (!s)
                return false;
        l = strlen(s);
        return l >= 1 && l <= max &&
               strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == l;
}

struct budget_book *budget_book_new(void) {
        return calloc(1, sizeof(struct budget_book));
}

struct budget_book *budget_book_free(struct budget_book *b) {
        if (!b)
                return NULL;
        for (size_t i = 0; i < b->n; i++)
                free(b->streams[i]);
        free(b->streams);
        return mfree(b);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct budget_book *, budget_book_free);
#define _cleanup_book_ _cleanup_(budget_book_freep)

size_t budget_book_size(const struct budget_book *b) {
        return b ? b->n : 0;
}

static int stream_cmp(const char *region_a, const char *name_a, const char *region_b, const char *name_b) {
        int c = strcmp(region_a, region_b);
        return c != 0 ? c : strcmp(name_a, name_b);
}

/* Index of (region, name), or where it would be inserted, with *found. */
static size_t book_search(const struct budget_book *b, const char *region, const char *name, bool *found) {
        size_t lo = 0, hi = b->n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = stream_cmp(b->streams[mid]->region, b->streams[mid]->name, region, name);
                if (c == 0) {
                        *found = true;
                        return mid;
                }
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        *found = false;
        return lo;
}

static struct budget_stream *book_find(const struct budget_book *b, const char *region, const char *name) {
        bool found;
        size_t i;

        if (!b || !region || !name)
                return NULL;
        i = book_search(b, region, name, &found);
        return found ? b->streams[i] : NULL;
}

static struct budget_stream *stream_new(const char *region, const char *name) {
        size_t lr = strlen(region), ln = strlen(name);
        struct budget_stream *s = calloc(1, sizeof(struct budget_stream) + lr + ln + 2);

        if (!s)
                return NULL;
        memcpy(s->region, region, lr + 1);
        memcpy(s->region + lr + 1, name, ln + 1);
        s->name = s->region + lr + 1;
        return s;
}

static int book_grow(struct budget_book *b, size_t need) {
        struct budget_stream **p;
        size_t a;

        if (need <= b->allocated)
                return 0;
        a = b->allocated ? b->allocated * 2 : 16;
        if (a < need)
                a = need;
        p = realloc(b->streams, a * sizeof *p);
        if (!p)
                return -ENOMEM;
        b->streams = p;
        b->allocated = a;
        return 0;
}

/* Find or add (region, name). */
static int book_get(struct budget_book *b, const char *region, const char *name,
                    struct budget_stream **ret) {
        struct budget_stream *s;
        bool found;
        size_t i;
        int r;

        if (!b || !name_valid(region, BUDGET_REGION_MAX) || !name_valid(name, BUDGET_NAME_MAX))
                return -EINVAL;
        i = book_search(b, region, name, &found);
        if (found) {
                *ret = b->streams[i];
                return 0;
        }
        if (b->n >= BUDGET_STREAMS_MAX)
                return -E2BIG;
        r = book_grow(b, b->n + 1);
        if (r < 0)
                return r;
        s = stream_new(region, name);
        if (!s)
                return -ENOMEM;
        memmove(b->streams + i + 1, b->streams + i, (b->n - i) * sizeof *b->streams);
        b->streams[i] = s;
        b->n++;
        *ret = s;
        return 0;
}

static void book_remove_at(struct budget_book *b, size_t i) {
        free(b->streams[i]);
        memmove(b->streams + i, b->streams + i + 1, (b->n - i - 1) * sizeof *b->streams);
        b->n--;
}

/* Insert t into kind k's ascending list; when full, the oldest goes (a call
 * older than the newest `limit` ones can no longer decide anything). */
static void stream_add_time(struct budget_stream *s, enum budget_kind k, uint64_t t) {
        uint64_t *v = s->times + kinds[k].offset;
        unsigned n = s->n[k], limit = kinds[k].limit, i;

        if (n == limit) {
                if (t < v[0])
                        return;
                memmove(v, v + 1, (n - 1) * sizeof *v);
                n--;
        }
        for (i = n; i > 0 && v[i - 1] > t; i--)
                v[i] = v[i - 1];
        v[i] = t;
        s->n[k] = (uint8_t)(n + 1);
}

int budget_record(struct budget_book *b, const char *region, const char *name, enum budget_kind k,
                  uint64_t now) {
        struct budget_stream *s;
        int r;

        if (!kind_valid(k))
                return -EINVAL;
        r = book_get(b, region, name, &s);
        if (r < 0)
                return r;
        stream_add_time(s, k, now);
        b->changes++;
        return 0;
}

/* A time as it counts at now: never later than now. */
static uint64_t effective(uint64_t t, uint64_t now) {
        return t < now ? t : now;
}

/* Whether t is in (now - 24 h, now], after moving it back to now if later. */
static bool in_window(uint64_t t, uint64_t now) {
        return now < BUDGET_WINDOW_USEC || effective(t, now) > now - BUDGET_WINDOW_USEC;
}

/* Index of the first counted call of kind k; the list is ascending. */
static unsigned first_counted(const struct budget_stream *s, enum budget_kind k, uint64_t now) {
        const uint64_t *v = s->times + kinds[k].offset;
        unsigned i = 0;

        while (i < s->n[k] && !in_window(v[i], now))
                i++;
        return i;
}

unsigned budget_used(const struct budget_book *b, const char *region, const char *name, enum budget_kind k,
                     uint64_t now) {
        const struct budget_stream *s;

        if (!kind_valid(k))
                return 0;
        s = book_find(b, region, name);
        if (!s)
                return 0;
        return s->n[k] - first_counted(s, k, now);
}

uint64_t budget_next_free(const struct budget_book *b, const char *region, const char *name,
                          enum budget_kind k, uint64_t now) {
        if (!kind_valid(k) || budget_used(b, region, name, k, now) < kinds[k].limit)
                return 0;
        /* At most `limit` calls are kept, so the oldest counted one is the
         * one whose leaving frees a call. */
        return budget_oldest(b, region, name, k, now) + BUDGET_WINDOW_USEC;
}

uint64_t budget_oldest(const struct budget_book *b, const char *region, const char *name, enum budget_kind k,
                       uint64_t now) {
        const struct budget_stream *s;
        unsigned first;

        if (!kind_valid(k))
                return 0;
        s = book_find(b, region, name);
        if (!s)
                return 0;
        first = first_counted(s, k, now);
        if (first >= s->n[k])
                return 0;
        return effective(s->times[kinds[k].offset + first], now);
}

int budget_set_pending(struct budget_book *b, const char *region, const char *name, uint64_t created_at) {
        struct budget_stream *s;
        int r;

        r = book_get(b, region, name, &s);
        if (r < 0)
                return r;
        s->pending = true;
        s->created_at = created_at;
        b->changes++;
        return 0;
}

void budget_clear_pending(struct budget_book *b, const char *region, const char *name) {
        struct budget_stream *s = book_find(b, region, name);

        if (s && s->pending) {
                s->pending = false;
                s->created_at = 0;
                b->changes++;
        }
}

uint64_t budget_book_changes(const struct budget_book *b) {
        return b ? b->changes : 0;
}

bool budget_pending(const struct budget_book *b, const char *region, const char *name,
                    uint64_t *ret_created_at) {
        const struct budget_stream *s = book_find(b, region, name);

        if (!s || !s->pending)
                return false;
        if (ret_created_at)
                *ret_created_at = s->created_at;
        return true;
}

/* Drop what left the window, clamp future times to now; true if nothing is
 * left to keep. */
static bool stream_expire(struct budget_stream *s, uint64_t now) {
        bool empty = !s->pending;

        for (enum budget_kind k = 0; k < _BUDGET_KIND_MAX; k++) {
                uint64_t *v = s->times + kinds[k].offset;
                unsigned first = first_counted(s, k, now);

                memmove(v, v + first, (s->n[k] - first) * sizeof *v);
                s->n[k] = (uint8_t)(s->n[k] - first);
                for (unsigned i = 0; i < s->n[k]; i++)
                        v[i] = effective(v[i], now);
                if (s->n[k] > 0)
                        empty = false;
        }
        return empty;
}

void budget_forget(struct budget_book *b, const char *region, const char *name, uint64_t now) {
        bool found;
        size_t i;

        if (!b || !region || !name)
                return;
        i = book_search(b, region, name, &found);
        if (found && stream_expire(b->streams[i], now))
                book_remove_at(b, i);
}

void budget_expire(struct budget_book *b, uint64_t now) {
        size_t j = 0;

        if (!b)
                return;
        for (size_t i = 0; i < b->n; i++) {
                if (stream_expire(b->streams[i], now))
                        free(b->streams[i]);
                else
                        b->streams[j++] = b->streams[i];
        }
        b->n = j;
}

/* ---- budgets.json ------------------------------------------------------- */

/* One stream per line, kinds and pending only when there is something in
 * them: small, diffable, and byte-identical for an unchanged book (which is
 * what lets atomic_file_write skip the write). Names need no escaping:
 * only [A-Za-z0-9_.-] enter the book. */
int budget_format(const struct budget_book *b, char **ret_text, size_t *ret_len) {
        struct buf out = BUF_INIT(BUDGET_FILE_MAX, false);
        char *text;
        size_t len;
        int r;

        buf_printf(&out, "{\"version\":%d,\"streams\":[", BUDGET_VERSION);
        for (size_t i = 0; b && i < b->n; i++) {
                const struct budget_stream *s = b->streams[i];

                buf_printf(&out, "%s\n{\"region\":\"%s\",\"name\":\"%s\"", i > 0 ? "," : "", s->region,
                           s->name);
                for (enum budget_kind k = 0; k < _BUDGET_KIND_MAX; k++) {
                        if (s->n[k] == 0)
                                continue;
                        buf_printf(&out, ",\"%s\":[", kinds[k].key);
                        for (unsigned j = 0; j < s->n[k]; j++)
                                buf_printf(&out, "%s%" PRIu64, j > 0 ? "," : "",
                                           s->times[kinds[k].offset + j]);
                        buf_putc(&out, ']');
                }
                if (s->pending)
                        buf_printf(&out, ",\"pending\":{\"created_at\":%" PRIu64 "}", s->created_at);
                buf_putc(&out, '}');
        }
        buf_puts(&out, "\n]}\n");
        if (out.err) {
                r = out.err;
                buf_done(&out);
                return r;
        }
        text = buf_steal(&out, &len);
        if (!text)
                return -ENOMEM;
        *ret_text = text;
        if (ret_len)
                *ret_len = len;
        return 0;
}

/* Parsing: anything but the exact shape is refused with a reason, so that a
 * half-understood file never silently unlocks a budget. Unknown members are
 * ignored (a later version 1 writer may add some). */

static bool get_member(json_object *o, const char *key, json_type type, json_object **ret) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v))
                return false;
        *ret = json_object_is_type(v, type) ? v : NULL;
        return true;
}

/* A time: a non-negative integer. The parser saturates larger ones to INT64_MAX,
 * which is harmless (it counts as "now" when queried). */
static bool get_time(json_object *v, uint64_t *ret) {
        int64_t t;

        if (!json_object_is_type(v, json_type_int))
                return false;
        t = json_object_get_int64(v);
        if (t < 0)
                return false;
        *ret = (uint64_t)t;
        return true;
}

static bool get_name(json_object *o, const char *key, size_t max, const char **ret) {
        json_object *v;
        const char *s;

        if (!get_member(o, key, json_type_string, &v) || !v)
                return false;
        s = json_object_get_string(v);
        /* name_valid also refuses an embedded NUL: its strlen would differ. */
        if ((size_t)json_object_get_string_len(v) != strlen(s) || !name_valid(s, max))
                return false;
        *ret = s;
        return true;
}

static int stream_cmp_ptr(const void *a, const void *b) {
        const struct budget_stream *x = *(const struct budget_stream *const *)a,
                                   *y = *(const struct budget_stream *const *)b;
        return stream_cmp(x->region, x->name, y->region, y->name);
}

static int parse_stream(json_object *o, struct budget_stream **ret, const char **reason) {
        _cleanup_free_ struct budget_stream *s = NULL;
        const char *region, *name;
        json_object *v;

        if (!json_object_is_type(o, json_type_object)) {
                *reason = "a stream entry is not an object";
                return -EBADMSG;
        }
        if (!get_name(o, "region", BUDGET_REGION_MAX, &region) ||
            !get_name(o, "name", BUDGET_NAME_MAX, &name)) {
                *reason = "a stream entry lacks a valid \"region\" or \"name\"";
                return -EBADMSG;
        }
        s = stream_new(region, name);
        if (!s)
                return -ENOMEM;

        for (enum budget_kind k = 0; k < _BUDGET_KIND_MAX; k++) {
                size_t n;

                if (!get_member(o, kinds[k].key, json_type_array, &v))
                        continue;
                if (!v) {
                        *reason = "a list of call times is not an array";
                        return -EBADMSG;
                }
                n = json_object_array_length(v);
                for (size_t i = 0; i < n; i++) {
                        uint64_t t;

                        if (!get_time(json_object_array_get_idx(v, i), &t)) {
                                *reason = "a call time is not a non-negative integer";
                                return -EBADMSG;
                        }
                        stream_add_time(s, k, t);
                }
        }

        if (get_member(o, "pending", json_type_object, &v)) {
                json_object *c;

                if (!v || !json_object_object_get_ex(v, "created_at", &c) || !get_time(c, &s->created_at)) {
                        *reason = "\"pending\" is not an object with an integer \"created_at\"";
                        return -EBADMSG;
                }
                s->pending = true;
        }
        *ret = TAKE_PTR(s);
        return 0;
}

/* Sort the streams read and fold a stream listed twice (we never write that)
 * into one that keeps every call of both: dropping one would unlock a
 * budget. Sorting once keeps a hostile file from costing a quadratic number
 * of insertions. */
static void book_sort_merge(struct budget_book *b) {
        size_t j = 0;

        if (b->n == 0)
                return;
        qsort(b->streams, b->n, sizeof *b->streams, stream_cmp_ptr);
        for (size_t i = 1; i < b->n; i++) {
                struct budget_stream *keep = b->streams[j], *s = b->streams[i];

                if (stream_cmp_ptr(&keep, &s) != 0) {
                        b->streams[++j] = s;
                        continue;
                }
                for (enum budget_kind k = 0; k < _BUDGET_KIND_MAX; k++)
                        for (unsigned t = 0; t < s->n[k]; t++)
                                stream_add_time(keep, k, s->times[kinds[k].offset + t]);
                if (s->pending && (!keep->pending || s->created_at < keep->created_at))
                        keep->created_at = s->created_at;
                keep->pending = keep->pending || s->pending;
                free(s);
        }
        b->n = j + 1;
}

int budget_parse(const char *text, size_t len, struct budget_book **ret, const char **ret_reason) {
        _cleanup_book_ struct budget_book *b = NULL;
        _cleanup_json_ json_object *root = NULL;
        json_object *v, *streams;
        const char *reason = NULL;
        json_tokener *tok;
        size_t end, n;
        bool ok;
        int r;

        if (!text || len > BUDGET_FILE_MAX) {
                reason = "it is too large";
                goto bad;
        }
        tok = json_tokener_new_ex(JSON_DEPTH);
        if (!tok)
                return -ENOMEM;
        root = json_tokener_parse_ex(tok, text, (int)len);
        ok = root && json_tokener_get_error(tok) == json_tokener_success;
        end = json_tokener_get_parse_end(tok);
        json_tokener_free(tok);
        for (size_t i = end; ok && i < len; i++)
                if (!strchr(" \t\r\n", text[i]) || text[i] == 0)
                        ok = false;
        if (!ok) {
                reason = "it is not valid JSON";
                goto bad;
        }
        if (!json_object_is_type(root, json_type_object)) {
                reason = "it is not a JSON object";
                goto bad;
        }
        if (!get_member(root, "version", json_type_int, &v) || !v) {
                reason = "it has no integer \"version\"";
                goto bad;
        }
        if (json_object_get_int64(v) != BUDGET_VERSION) {
                reason = "its \"version\" is not 1";
                goto bad;
        }
        if (!get_member(root, "streams", json_type_array, &streams) || !streams) {
                reason = "it has no \"streams\" array";
                goto bad;
        }
        n = json_object_array_length(streams);
        if (n > BUDGET_STREAMS_MAX) {
                reason = "it lists too many streams";
                goto bad;
        }

        b = budget_book_new();
        if (!b)
                return -ENOMEM;
        r = book_grow(b, n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                r = parse_stream(json_object_array_get_idx(streams, i), &b->streams[b->n], &reason);
                if (r == -EBADMSG)
                        goto bad;
                if (r < 0)
                        return r;
                b->n++;
        }
        book_sort_merge(b);
        *ret = TAKE_PTR(b);
        if (ret_reason)
                *ret_reason = NULL;
        return 0;

bad:
        if (ret_reason)
                *ret_reason = reason;
        return -EBADMSG;
}

/* Read budgets.json with the bounded reader, never following a symlink at
 * it: -ELOOP for a symlink, -EISDIR/-EBADFD for anything but a regular file
 * (opened O_NONBLOCK, so a FIFO planted there does not hang us), -EFBIG, or
 * another negative errno. */
static int read_budget_file(int dirfd, char **ret_text, size_t *ret_len) {
        return read_file_bounded_at(dirfd, BUDGET_FILE, O_NOFOLLOW, BUDGET_FILE_MAX, ret_text, ret_len,
                                    NULL);
}

static int set_aside(int dirfd, const char *what, char **ret_warning) {
        char *w;
        int r;

        if (renameat(dirfd, BUDGET_FILE, dirfd, BUDGET_FILE_CORRUPT) >= 0) {
                (void)fsync(dirfd);
                r = asprintf(&w,
                             BUDGET_FILE ": %s; set aside as " BUDGET_FILE_CORRUPT
                                         ", starting with no recorded budgets",
                             what);
        } else {
                int e = errno;
                r = asprintf(&w,
                             BUDGET_FILE ": %s; could not set it aside as " BUDGET_FILE_CORRUPT
                                         " (%s), starting with no recorded budgets",
                             what, strerror(e));
        }
        if (r < 0)
                return -ENOMEM;
        *ret_warning = w;
        return 0;
}

static int load(int dirfd, bool set_aside_bad, struct budget_book **ret, char **ret_warning) {
        _cleanup_book_ struct budget_book *b = NULL;
        _cleanup_free_ char *text = NULL, *warning = NULL;
        const char *what = NULL;
        size_t len = 0;
        int r;

        r = read_budget_file(dirfd, &text, &len);
        switch (r) {
        case 0:
                r = budget_parse(text, len, &b, &what);
                if (r < 0 && r != -EBADMSG)
                        return r;
                break;
        case -ENOENT:
                break;
        case -ELOOP:
                what = "it is a symbolic link (not followed)";
                break;
        case -EISDIR:
        case -EBADFD:
                what = "it is not a regular file";
                break;
        case -EFBIG:
                what = "it is larger than " BUDGET_FILE_MAX_TEXT;
                break;
        default:
                return r;
        }
        if (what && set_aside_bad) {
                r = set_aside(dirfd, what, &warning);
                if (r < 0)
                        return r;
        } else if (what &&
                   asprintf(&warning, BUDGET_FILE ": %s; left as it is, read as if no budget were spent",
                            what) < 0)
                return -ENOMEM;
        if (!b) {
                b = budget_book_new();
                if (!b)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(b);
        if (ret_warning)
                *ret_warning = TAKE_PTR(warning);
        return 0;
}

int budget_load(int dirfd, struct budget_book **ret, char **ret_warning) {
        return load(dirfd, true, ret, ret_warning);
}

int budget_load_readonly(int dirfd, struct budget_book **ret, char **ret_warning) {
        return load(dirfd, false, ret, ret_warning);
}

int budget_save(int dirfd, struct budget_book *b, uint64_t now) {
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r;

        /* No book is not an empty book: writing one would erase every budget. */
        if (!b)
                return -EINVAL;
        budget_expire(b, now);
        r = budget_format(b, &text, &len);
        if (r < 0)
                return r;
        return atomic_file_write(dirfd, BUDGET_FILE, text, len);
}
