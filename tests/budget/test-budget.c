/* Unit tests of budget.c: counting across the 24 h window, times from the
 * future, save/load round trips, no rewrite without a change, every kind of
 * untrustworthy budgets.json set aside with a warning, pending creations, and
 * a book of 10,000 streams. Runs under umask 077 so that the mode check also
 * checks umask independence. */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "budget.h"
#include "testlib.h"
#include "util.h"

#define NOW  UINT64_C(1700000000000000) /* 2023-11-14T22:13:20Z */
#define HOUR (UINT64_C(3600) * USEC_PER_SEC)
#define DAY  (24 * HOUR)

static char *base_dir;

static void write_bytes(const char *dir, const char *name, const char *data, size_t len) {
        _cleanup_free_ char *p = test_path_join(dir, name);
        FILE *f = fopen(p, "we");
        if (!f || fwrite(data, 1, len, f) != len) {
                perror(p);
                abort();
        }
        fclose(f);
}

static void write_text(const char *dir, const char *name, const char *text) {
        write_bytes(dir, name, text, strlen(text));
}

static bool lstat_at(const char *dir, const char *name, struct stat *st) {
        _cleanup_free_ char *p = test_path_join(dir, name);
        return lstat(p, st) == 0;
}

static bool exists(const char *dir, const char *name) {
        struct stat st;
        return lstat_at(dir, name, &st);
}

/* ---- counting ----------------------------------------------------------- */

static void test_limits(void) {
        CHECK_INTEQ(budget_limit(BUDGET_UPDATE_SHARD_COUNT), 10);
        CHECK_INTEQ(budget_limit(BUDGET_UPDATE_STREAM_MODE), 2);
        CHECK_INTEQ(budget_limit(BUDGET_START_ENCRYPTION), 25);
        CHECK_INTEQ(budget_limit(BUDGET_STOP_ENCRYPTION), 25);
        CHECK_INTEQ(budget_limit(_BUDGET_KIND_MAX), 0);
        CHECK_STREQ(budget_kind_to_string(BUDGET_UPDATE_SHARD_COUNT), "UpdateShardCount");
        CHECK_STREQ(budget_kind_to_string(BUDGET_UPDATE_STREAM_MODE), "UpdateStreamMode");
        CHECK_STREQ(budget_kind_to_string(BUDGET_START_ENCRYPTION), "StartStreamEncryption");
        CHECK_STREQ(budget_kind_to_string(BUDGET_STOP_ENCRYPTION), "StopStreamEncryption");
        CHECK(!budget_kind_to_string((enum budget_kind)99));
        CHECK(!budget_book_free(NULL));
}

static void test_window(void) {
        struct budget_book *b = budget_book_new();
        const enum budget_kind usc = BUDGET_UPDATE_SHARD_COUNT;

        CHECK(b);
        /* Nothing recorded: free. */
        CHECK_INTEQ(budget_used(b, "us-east-1", "orders", usc, NOW), 0);
        CHECK_INTEQ(budget_next_free(b, "us-east-1", "orders", usc, NOW), 0);

        /* Ten scalings an hour apart: the budget is spent until the first
         * leaves the window, 24 h after it was made. */
        for (unsigned i = 0; i < 10; i++) {
                CHECK_INTEQ(budget_next_free(b, "us-east-1", "orders", usc, NOW + i * HOUR), 0);
                CHECK_INTEQ(budget_record(b, "us-east-1", "orders", usc, NOW + i * HOUR), 0);
        }
        CHECK_INTEQ(budget_used(b, "us-east-1", "orders", usc, NOW + 9 * HOUR), 10);
        CHECK(budget_next_free(b, "us-east-1", "orders", usc, NOW + 9 * HOUR) == NOW + DAY);
        CHECK_INTEQ(budget_used(b, "us-east-1", "orders", usc, NOW + DAY - 1), 10);
        CHECK(budget_next_free(b, "us-east-1", "orders", usc, NOW + DAY - 1) == NOW + DAY);
        /* The window is (now - 24 h, now]: at exactly 24 h the first is out. */
        CHECK_INTEQ(budget_used(b, "us-east-1", "orders", usc, NOW + DAY), 9);
        CHECK_INTEQ(budget_next_free(b, "us-east-1", "orders", usc, NOW + DAY), 0);
        CHECK_INTEQ(budget_used(b, "us-east-1", "orders", usc, NOW + DAY + 9 * HOUR), 0);

        /* An 11th call (AWS would refuse it, but the caller counts what it
         * sent): still 10 counted, the next free slot is the second call's. */
        CHECK_INTEQ(budget_record(b, "us-east-1", "orders", usc, NOW + 10 * HOUR), 0);
        CHECK_INTEQ(budget_used(b, "us-east-1", "orders", usc, NOW + 10 * HOUR), 10);
        CHECK(budget_next_free(b, "us-east-1", "orders", usc, NOW + 10 * HOUR) == NOW + HOUR + DAY);

        /* Other kinds, streams and regions are separate. */
        CHECK_INTEQ(budget_used(b, "us-east-1", "orders", BUDGET_UPDATE_STREAM_MODE, NOW + HOUR), 0);
        CHECK_INTEQ(budget_used(b, "us-west-2", "orders", usc, NOW + HOUR), 0);
        CHECK_INTEQ(budget_used(b, "us-east-1", "orders2", usc, NOW + HOUR), 0);
        CHECK_INTEQ(budget_used(b, "us-east-1", "order", usc, NOW + HOUR), 0);

        /* Mode switches: two a day. */
        CHECK_INTEQ(budget_record(b, "us-west-2", "orders", BUDGET_UPDATE_STREAM_MODE, NOW), 0);
        CHECK_INTEQ(budget_next_free(b, "us-west-2", "orders", BUDGET_UPDATE_STREAM_MODE, NOW), 0);
        CHECK_INTEQ(budget_record(b, "us-west-2", "orders", BUDGET_UPDATE_STREAM_MODE, NOW + 5), 0);
        CHECK(budget_next_free(b, "us-west-2", "orders", BUDGET_UPDATE_STREAM_MODE, NOW + 5) == NOW + DAY);

        /* Recorded out of order (the clock stepped back): kept sorted, the
         * oldest still decides. */
        for (unsigned i = 0; i < 25; i++)
                CHECK_INTEQ(budget_record(b, "eu-west-1", "s", BUDGET_STOP_ENCRYPTION,
                                          NOW + ((i * 7) % 25) * HOUR / 2),
                            0);
        CHECK_INTEQ(budget_used(b, "eu-west-1", "s", BUDGET_STOP_ENCRYPTION, NOW + 12 * HOUR), 25);
        CHECK(budget_next_free(b, "eu-west-1", "s", BUDGET_STOP_ENCRYPTION, NOW + 12 * HOUR) == NOW + DAY);
        CHECK_INTEQ(budget_used(b, "eu-west-1", "s", BUDGET_START_ENCRYPTION, NOW + 12 * HOUR), 0);

        /* Refused input, and nothing added for it. */
        CHECK_INTEQ(budget_book_size(b), 3);
        CHECK_INTEQ(budget_record(b, "us-east-1", "a/b", usc, NOW), -EINVAL);
        CHECK_INTEQ(budget_record(b, "us-east-1", "", usc, NOW), -EINVAL);
        CHECK_INTEQ(budget_record(b, "", "x", usc, NOW), -EINVAL);
        CHECK_INTEQ(budget_record(b, NULL, "x", usc, NOW), -EINVAL);
        CHECK_INTEQ(budget_record(b, "us-east-1", "x\"y", usc, NOW), -EINVAL);
        CHECK_INTEQ(budget_record(b, "us-east-1", "x", _BUDGET_KIND_MAX, NOW), -EINVAL);
        CHECK_INTEQ(budget_record(NULL, "us-east-1", "x", usc, NOW), -EINVAL);
        {
                char longname[BUDGET_NAME_MAX + 2];
                memset(longname, 'a', sizeof longname - 1);
                longname[sizeof longname - 1] = 0;
                CHECK_INTEQ(budget_record(b, "us-east-1", longname, usc, NOW), -EINVAL);
                longname[BUDGET_NAME_MAX] = 0;
                CHECK_INTEQ(budget_record(b, "us-east-1", longname, usc, NOW), 0);
        }
        CHECK_INTEQ(budget_book_size(b), 4);
        CHECK_INTEQ(budget_used(NULL, "us-east-1", "orders", usc, NOW), 0);
        CHECK_INTEQ(budget_used(b, NULL, "orders", usc, NOW), 0);
        budget_book_free(b);
}

/* The clock went back (or a file came from a machine whose clock was ahead):
 * a call "in the future" counts as made now, never longer. */
static void test_future(void) {
        struct budget_book *b = budget_book_new();
        const enum budget_kind m = BUDGET_UPDATE_STREAM_MODE;

        CHECK_INTEQ(budget_record(b, "us-east-1", "s", m, NOW + 365 * DAY), 0);
        CHECK_INTEQ(budget_record(b, "us-east-1", "s", m, NOW + 2 * DAY), 0);
        CHECK_INTEQ(budget_used(b, "us-east-1", "s", m, NOW), 2);
        CHECK(budget_next_free(b, "us-east-1", "s", m, NOW) == NOW + DAY);
        CHECK(budget_next_free(b, "us-east-1", "s", m, NOW + HOUR) == NOW + HOUR + DAY);

        /* budget_expire (as on save) moves them to now, so they leave the
         * window 24 h from the present. */
        budget_expire(b, NOW);
        CHECK_INTEQ(budget_used(b, "us-east-1", "s", m, NOW + DAY - 1), 2);
        CHECK_INTEQ(budget_used(b, "us-east-1", "s", m, NOW + DAY), 0);
        CHECK_INTEQ(budget_next_free(b, "us-east-1", "s", m, NOW + DAY), 0);
        budget_book_free(b);
}

/* What a saver needs to know: whether anything was recorded since. */
static void test_changes(void) {
        struct budget_book *b = budget_book_new();

        CHECK(budget_book_changes(b) == 0);
        CHECK(budget_book_changes(NULL) == 0);
        CHECK_INTEQ(budget_record(b, "r", "s", BUDGET_START_ENCRYPTION, NOW), 0);
        CHECK(budget_book_changes(b) == 1);
        CHECK_INTEQ(budget_record(b, "r", "bad name", BUDGET_START_ENCRYPTION, NOW), -EINVAL);
        CHECK(budget_book_changes(b) == 1);
        CHECK_INTEQ(budget_set_pending(b, "r", "s", NOW), 0);
        CHECK(budget_book_changes(b) == 2);
        budget_clear_pending(b, "r", "s");
        CHECK(budget_book_changes(b) == 3);
        budget_clear_pending(b, "r", "s"); /* not pending: nothing changes */
        budget_clear_pending(b, "r", "other");
        budget_expire(b, NOW + 2 * DAY);
        CHECK(budget_book_changes(b) == 3);
        budget_book_free(b);
}

static void test_pending_and_forget(void) {
        struct budget_book *b = budget_book_new();
        uint64_t t = 0;

        CHECK(!budget_pending(b, "us-east-1", "new", &t));
        CHECK_INTEQ(budget_set_pending(b, "us-east-1", "new", NOW), 0);
        CHECK(budget_pending(b, "us-east-1", "new", &t));
        CHECK(t == NOW);
        CHECK(budget_pending(b, "us-east-1", "new", NULL));
        CHECK(!budget_pending(b, "us-west-2", "new", NULL));
        CHECK_INTEQ(budget_set_pending(b, "us-east-1", "bad name", NOW), -EINVAL);

        /* Pending creations and counted calls survive forget; the rest goes. */
        CHECK_INTEQ(budget_record(b, "us-east-1", "old", BUDGET_UPDATE_SHARD_COUNT, NOW), 0);
        CHECK_INTEQ(budget_record(b, "us-east-1", "gone", BUDGET_UPDATE_SHARD_COUNT, NOW - 2 * DAY), 0);
        CHECK_INTEQ(budget_book_size(b), 3);
        budget_forget(b, "us-east-1", "new", NOW + 3 * DAY);
        budget_forget(b, "us-east-1", "old", NOW + HOUR);
        budget_forget(b, "us-east-1", "gone", NOW);
        budget_forget(b, "us-east-1", "never-there", NOW);
        CHECK_INTEQ(budget_book_size(b), 2);
        CHECK(budget_pending(b, "us-east-1", "new", NULL));
        CHECK_INTEQ(budget_used(b, "us-east-1", "old", BUDGET_UPDATE_SHARD_COUNT, NOW + HOUR), 1);
        budget_forget(b, "us-east-1", "old", NOW + DAY);
        CHECK_INTEQ(budget_book_size(b), 1);

        budget_clear_pending(b, "us-east-1", "new");
        budget_clear_pending(b, "us-east-1", "never-there");
        CHECK(!budget_pending(b, "us-east-1", "new", &t));
        budget_expire(b, NOW);
        CHECK_INTEQ(budget_book_size(b), 0);
        budget_book_free(b);
}

/* ---- budgets.json --------------------------------------------------------- */

static void test_missing(void) {
        _cleanup_free_ char *dir = test_new_dir(base_dir, "missing");
        _cleanup_close_ int fd = test_open_dir(dir);
        struct budget_book *b = NULL;
        char *warning = (char *)"untouched";

        CHECK_INTEQ(budget_load(fd, &b, &warning), 0);
        CHECK(b);
        CHECK(!warning);
        CHECK_INTEQ(budget_book_size(b), 0);
        CHECK(!exists(dir, BUDGET_FILE_CORRUPT));
        /* An empty book is still written: a valid, small file. */
        CHECK_INTEQ(budget_save(fd, b, NOW), 1);
        {
                _cleanup_free_ char *text = test_read_text(dir, BUDGET_FILE);
                CHECK_STREQ(text, "{\"version\":1,\"streams\":[\n]}\n");
        }
        CHECK_INTEQ(budget_save(fd, b, NOW), 0);
        CHECK_INTEQ(budget_save(fd, NULL, NOW), -EINVAL);
        budget_book_free(b);
        b = NULL;
        CHECK_INTEQ(budget_load(fd, &b, NULL), 0);
        CHECK_INTEQ(budget_book_size(b), 0);
        budget_book_free(b);
}

static void test_round_trip(void) {
        _cleanup_free_ char *dir = test_new_dir(base_dir, "round-trip");
        _cleanup_close_ int fd = test_open_dir(dir);
        _cleanup_free_ char *text = NULL, *text2 = NULL, *warning = NULL;
        struct budget_book *b = budget_book_new(), *l = NULL;
        struct stat st1, st2;
        uint64_t t = 0;

        /* Added out of order: written sorted by region, then name. */
        CHECK_INTEQ(budget_record(b, "us-west-2", "b", BUDGET_UPDATE_SHARD_COUNT, NOW - 2 * HOUR), 0);
        CHECK_INTEQ(budget_record(b, "us-west-2", "b", BUDGET_UPDATE_SHARD_COUNT, NOW - HOUR), 0);
        CHECK_INTEQ(budget_record(b, "us-east-1", "z", BUDGET_START_ENCRYPTION, NOW - 3), 0);
        CHECK_INTEQ(budget_record(b, "us-east-1", "z", BUDGET_STOP_ENCRYPTION, NOW - 2), 0);
        CHECK_INTEQ(budget_record(b, "us-east-1", "z", BUDGET_UPDATE_STREAM_MODE, NOW - 1), 0);
        CHECK_INTEQ(budget_set_pending(b, "us-west-2", "a", NOW - 10), 0);
        CHECK_INTEQ(budget_record(b, "us-east-1", "expired", BUDGET_UPDATE_SHARD_COUNT, NOW - DAY), 0);

        CHECK_INTEQ(budget_save(fd, b, NOW), 1);
        CHECK_INTEQ(budget_book_size(b), 3); /* "expired" dropped */
        text = test_read_text(dir, BUDGET_FILE);
        CHECK_STREQ(
                text,
                "{\"version\":1,\"streams\":[\n"
                "{\"region\":\"us-east-1\",\"name\":\"z\",\"update_stream_mode\":[1699999999999999],"
                "\"start_encryption\":[1699999999999997],\"stop_encryption\":[1699999999999998]},\n"
                "{\"region\":\"us-west-2\",\"name\":\"a\",\"pending\":{\"created_at\":1699999999999990}},\n"
                "{\"region\":\"us-west-2\",\"name\":\"b\","
                "\"update_shard_count\":[1699992800000000,1699996400000000]}\n"
                "]}\n");
        CHECK(lstat_at(dir, BUDGET_FILE, &st1));
        CHECK_INTEQ(st1.st_mode & 07777, 0644);

        CHECK_INTEQ(budget_load(fd, &l, &warning), 0);
        CHECK(!warning);
        CHECK_INTEQ(budget_book_size(l), 3);
        CHECK_INTEQ(budget_used(l, "us-west-2", "b", BUDGET_UPDATE_SHARD_COUNT, NOW), 2);
        CHECK_INTEQ(budget_used(l, "us-east-1", "z", BUDGET_UPDATE_STREAM_MODE, NOW), 1);
        CHECK_INTEQ(budget_used(l, "us-east-1", "z", BUDGET_START_ENCRYPTION, NOW), 1);
        CHECK_INTEQ(budget_used(l, "us-east-1", "z", BUDGET_STOP_ENCRYPTION, NOW), 1);
        CHECK(budget_pending(l, "us-west-2", "a", &t));
        CHECK(t == NOW - 10);
        CHECK(!budget_pending(l, "us-west-2", "b", NULL));
        CHECK_INTEQ(budget_format(l, &text2, NULL), 0);
        CHECK_STREQ(text2, text);

        /* Same content: not rewritten, not even touched. */
        usleep(20000);
        CHECK_INTEQ(budget_save(fd, l, NOW + 1), 0);
        CHECK(lstat_at(dir, BUDGET_FILE, &st2));
        CHECK_INTEQ(st2.st_ino, st1.st_ino);
        CHECK(st2.st_mtim.tv_sec == st1.st_mtim.tv_sec && st2.st_mtim.tv_nsec == st1.st_mtim.tv_nsec);

        /* A call leaving the window is a change. */
        CHECK_INTEQ(budget_save(fd, l, NOW - 2 * HOUR + DAY), 1);
        CHECK(lstat_at(dir, BUDGET_FILE, &st2));
        CHECK(st2.st_ino != st1.st_ino);
        CHECK_INTEQ(budget_used(l, "us-west-2", "b", BUDGET_UPDATE_SHARD_COUNT, NOW - 2 * HOUR + DAY), 1);

        /* Pending clears round trip too. */
        budget_clear_pending(l, "us-west-2", "a");
        CHECK_INTEQ(budget_save(fd, l, NOW - 2 * HOUR + DAY), 1);
        budget_book_free(l);
        l = NULL;
        CHECK_INTEQ(budget_load(fd, &l, &warning), 0);
        CHECK(!budget_pending(l, "us-west-2", "a", NULL));
        CHECK_INTEQ(budget_book_size(l), 2);
        CHECK(!exists(dir, BUDGET_FILE_CORRUPT));
        budget_book_free(l);
        budget_book_free(b);
}

/* Lenient where it cannot unlock a budget: unknown members, unsorted or
 * duplicated times, a stream listed twice, more times than the limit. */
static void test_tolerated(void) {
        _cleanup_free_ char *dir = test_new_dir(base_dir, "tolerated");
        _cleanup_close_ int fd = test_open_dir(dir);
        _cleanup_free_ char *warning = NULL;
        struct budget_book *b = NULL;
        uint64_t t = 0;

        write_text(dir, BUDGET_FILE,
                   "  {\"version\": 1, \"future\": {\"x\": [1]}, \"streams\": [\n"
                   "  {\"region\": \"r\", \"name\": \"s\", \"note\": \"hi\",\n"
                   "   \"update_stream_mode\": [1700000000000005, 1700000000000001, 1700000000000003]},\n"
                   "  {\"region\": \"r\", \"name\": \"s\", \"update_stream_mode\": [1700000000000002],\n"
                   "   \"pending\": {\"created_at\": 7}},\n"
                   "  {\"region\": \"r\", \"name\": \"s\", \"pending\": {\"created_at\": 9}},\n"
                   "  {\"region\": \"a\", \"name\": \"s\", \"update_shard_count\": []}\n"
                   "]}\n\n");
        CHECK_INTEQ(budget_load(fd, &b, &warning), 0);
        CHECK(!warning);
        CHECK_INTEQ(budget_book_size(b), 2);
        CHECK_INTEQ(budget_used(b, "r", "s", BUDGET_UPDATE_STREAM_MODE, NOW + 10), 2);
        /* The newest two kept: the 3rd and 5th microsecond. */
        CHECK(budget_next_free(b, "r", "s", BUDGET_UPDATE_STREAM_MODE, NOW + 10) == NOW + 3 + DAY);
        CHECK(budget_pending(b, "r", "s", &t));
        CHECK(t == 7);
        CHECK(!exists(dir, BUDGET_FILE_CORRUPT));
        budget_book_free(b);
}

/* --plan's read: a bad file is reported and read as empty, never moved. */
static void test_readonly(void) {
        _cleanup_free_ char *dir = test_new_dir(base_dir, "readonly");
        _cleanup_close_ int fd = test_open_dir(dir);
        struct budget_book *b = NULL;
        char *warning = NULL;

        CHECK_INTEQ(budget_load_readonly(fd, &b, &warning), 0);
        CHECK(b && !warning && budget_book_size(b) == 0);
        budget_book_free(b);
        b = NULL;

        write_text(dir, BUDGET_FILE,
                   "{\"version\":1,\"streams\":[{\"region\":\"r\",\"name\":\"s\","
                   "\"update_shard_count\":[1700000000000000]}]}\n");
        CHECK_INTEQ(budget_load_readonly(fd, &b, &warning), 0);
        CHECK(!warning);
        CHECK_INTEQ(budget_used(b, "r", "s", BUDGET_UPDATE_SHARD_COUNT, NOW), 1);
        budget_book_free(b);
        b = NULL;

        write_text(dir, BUDGET_FILE, "{\"version\": 1, \"str");
        CHECK_INTEQ(budget_load_readonly(fd, &b, &warning), 0);
        CHECK(b && budget_book_size(b) == 0);
        CHECK(warning && strstr(warning, "budgets.json: it is not valid JSON") &&
              strstr(warning, "left as it is"));
        CHECK(exists(dir, BUDGET_FILE));
        CHECK(!exists(dir, BUDGET_FILE_CORRUPT));
        free(warning);
        budget_book_free(b);
}

struct bad_case {
        const char *name;
        const char *content;
        const char *reason;
};

static void check_set_aside(const char *dir, int fd, const char *reason) {
        _cleanup_free_ char *warning = NULL;
        struct budget_book *b = NULL;

        CHECK_INTEQ(budget_load(fd, &b, &warning), 0);
        CHECK(b);
        CHECK_INTEQ(budget_book_size(b), 0);
        CHECK(warning);
        if (warning) {
                if (!strstr(warning, reason) || !strstr(warning, "budgets.json: ") ||
                    !strstr(warning, "set aside as budgets.json.corrupt"))
                        fprintf(stderr, "unexpected warning: %s (wanted %s)\n", warning, reason);
                CHECK(strstr(warning, reason));
                CHECK(strstr(warning, "budgets.json: "));
                CHECK(strstr(warning, "set aside as budgets.json.corrupt"));
        }
        CHECK(!exists(dir, BUDGET_FILE));
        CHECK(exists(dir, BUDGET_FILE_CORRUPT));
        /* The next save writes a fresh, regular file. */
        CHECK_INTEQ(budget_save(fd, b, NOW), 1);
        {
                struct stat st;
                CHECK(lstat_at(dir, BUDGET_FILE, &st) && S_ISREG(st.st_mode));
        }
        budget_book_free(b);
}

static void test_bad_files(void) {
        static const struct bad_case cases[] = {
                {"empty", "", "not valid JSON"},
                {"truncated", "{\"version\":1,\"streams\":[", "not valid JSON"},
                {"garbage after", "{\"version\":1,\"streams\":[]} x", "not valid JSON"},
                {"two documents", "{\"version\":1,\"streams\":[]}{}", "not valid JSON"},
                {"nul inside", "{\"version\":1,\"streams\":[]}\n\0", "not valid JSON"},
                {"too deep", "{\"version\":1,\"streams\":[[[[[[[[[[[[]]]]]]]]]]]]}", "not valid JSON"},
                {"array", "[]", "not a JSON object"},
                {"string", "\"1\"", "not a JSON object"},
                {"number", "1\n", "not a JSON object"},
                {"no version", "{\"streams\":[]}", "no integer \"version\""},
                {"version string", "{\"version\":\"1\",\"streams\":[]}", "no integer \"version\""},
                {"version 2", "{\"version\":2,\"streams\":[]}", "\"version\" is not 1"},
                {"version 0", "{\"version\":0,\"streams\":[]}", "\"version\" is not 1"},
                {"no streams", "{\"version\":1}", "no \"streams\" array"},
                {"streams object", "{\"version\":1,\"streams\":{}}", "no \"streams\" array"},
                {"stream not object", "{\"version\":1,\"streams\":[1]}", "not an object"},
                {"no region", "{\"version\":1,\"streams\":[{\"name\":\"s\"}]}", "valid \"region\""},
                {"region number", "{\"version\":1,\"streams\":[{\"region\":1,\"name\":\"s\"}]}",
                 "valid \"region\""},
                {"name slash", "{\"version\":1,\"streams\":[{\"region\":\"r\",\"name\":\"../s\"}]}",
                 "valid \"region\""},
                {"name nul", "{\"version\":1,\"streams\":[{\"region\":\"r\",\"name\":\"s\\u0000t\"}]}",
                 "valid \"region\""},
                {"times string",
                 "{\"version\":1,\"streams\":[{\"region\":\"r\",\"name\":\"s\",\"update_shard_count\":\"1\"}"
                 "]}",
                 "not an array"},
                {"time float",
                 "{\"version\":1,\"streams\":[{\"region\":\"r\",\"name\":\"s\",\"update_shard_count\":[1.5]}"
                 "]}",
                 "not a non-negative integer"},
                {"time negative",
                 "{\"version\":1,\"streams\":[{\"region\":\"r\",\"name\":\"s\",\"stop_encryption\":[-1]}]}",
                 "not a non-negative integer"},
                {"time null",
                 "{\"version\":1,\"streams\":[{\"region\":\"r\",\"name\":\"s\",\"start_encryption\":[null]}]"
                 "}",
                 "not a non-negative integer"},
                {"pending true",
                 "{\"version\":1,\"streams\":[{\"region\":\"r\",\"name\":\"s\",\"pending\":true}]}",
                 "\"pending\" is not"},
                {"pending no time",
                 "{\"version\":1,\"streams\":[{\"region\":\"r\",\"name\":\"s\",\"pending\":{}}]}",
                 "\"pending\" is not"},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *name = NULL, *dir = NULL, *kept = NULL;
                _cleanup_close_ int fd = -1;
                size_t len = strlen(cases[i].content);

                if (streq(cases[i].name, "nul inside"))
                        len++;
                if (asprintf(&name, "bad-%zu", i) < 0)
                        abort();
                dir = test_new_dir(base_dir, name);
                fd = test_open_dir(dir);
                write_bytes(dir, BUDGET_FILE, cases[i].content, len);
                fprintf(stderr, "bad file: %s\n", cases[i].name);
                check_set_aside(dir, fd, cases[i].reason);
                kept = test_read_text(dir, BUDGET_FILE_CORRUPT);
                CHECK(kept && strncmp(kept, cases[i].content, strlen(cases[i].content)) == 0);
        }
}

static void test_odd_files(void) {
        _cleanup_free_ char *dir = test_new_dir(base_dir, "odd");
        _cleanup_close_ int fd = test_open_dir(dir);
        _cleanup_free_ char *victim = NULL, *link_target = NULL, *p = NULL;
        static const char valid[] = "{\"version\":1,\"streams\":[{\"region\":\"r\",\"name\":\"s\",\"update_"
                                    "stream_mode\":[1,2]}]}";
        struct stat st;

        /* A symlink at budgets.json, even to a valid file: not followed, set
         * aside itself; the file it points at is neither read nor written. */
        victim = test_new_dir(base_dir, "odd-victim");
        write_text(victim, "target.json", valid);
        link_target = test_path_join(victim, "target.json");
        p = test_path_join(dir, BUDGET_FILE);
        CHECK(symlink(link_target, p) == 0);
        check_set_aside(dir, fd, "symbolic link");
        CHECK(lstat_at(dir, BUDGET_FILE_CORRUPT, &st) && S_ISLNK(st.st_mode));
        {
                _cleanup_free_ char *t = test_read_text(victim, "target.json");
                CHECK_STREQ(t, valid);
        }

        /* A dangling symlink too. */
        CHECK(unlink(p) == 0);
        CHECK(symlink("/nonexistent/budgets.json", p) == 0);
        check_set_aside(dir, fd, "symbolic link");

        /* A directory. */
        CHECK(unlink(p) == 0);
        {
                _cleanup_free_ char *c = test_path_join(dir, BUDGET_FILE_CORRUPT);
                CHECK(unlink(c) == 0);
        }
        CHECK(mkdir(p, 0755) == 0);
        check_set_aside(dir, fd, "not a regular file");
        CHECK(lstat_at(dir, BUDGET_FILE_CORRUPT, &st) && S_ISDIR(st.st_mode));

        /* A FIFO: must not hang. The set-aside name is now a directory, so
         * the rename fails, and the warning says that. */
        CHECK(unlink(p) == 0);
        CHECK(mkfifo(p, 0644) == 0);
        {
                _cleanup_free_ char *warning = NULL;
                struct budget_book *b = NULL;

                CHECK_INTEQ(budget_load(fd, &b, &warning), 0);
                CHECK_INTEQ(budget_book_size(b), 0);
                CHECK(warning &&
                      strstr(warning, "budgets.json: it is not a regular file; could not set it aside"));
                budget_book_free(b);
        }
}

static void test_oversized(void) {
        _cleanup_free_ char *dir = test_new_dir(base_dir, "oversized");
        _cleanup_close_ int fd = test_open_dir(dir);
        _cleanup_free_ char *big = malloc(BUDGET_FILE_MAX + 1);
        static const char head[] = "{\"version\":1,\"streams\":[]}";

        /* Valid JSON, one byte over the cap: still refused. */
        memset(big, ' ', BUDGET_FILE_MAX + 1);
        memcpy(big, head, strlen(head));
        write_bytes(dir, BUDGET_FILE, big, BUDGET_FILE_MAX + 1);
        check_set_aside(dir, fd, "larger than 4 MiB");
        {
                struct stat st;
                CHECK(lstat_at(dir, BUDGET_FILE_CORRUPT, &st) && st.st_size == (off_t)BUDGET_FILE_MAX + 1);
        }

        /* At the cap exactly: fine. */
        write_bytes(dir, BUDGET_FILE, big, BUDGET_FILE_MAX);
        {
                _cleanup_free_ char *warning = NULL;
                struct budget_book *b = NULL;
                CHECK_INTEQ(budget_load(fd, &b, &warning), 0);
                CHECK(!warning);
                budget_book_free(b);
        }
}

/* A book whose file would pass the load cap is not written: what is saved
 * must load. The old file stays. */
static void test_save_too_big(void) {
        _cleanup_free_ char *dir = test_new_dir(base_dir, "too-big");
        _cleanup_close_ int fd = test_open_dir(dir);
        _cleanup_free_ char *before = NULL, *after = NULL;
        struct budget_book *b = budget_book_new();

        CHECK_INTEQ(budget_record(b, "r", "first", BUDGET_UPDATE_SHARD_COUNT, NOW), 0);
        CHECK_INTEQ(budget_save(fd, b, NOW), 1);
        before = test_read_text(dir, BUDGET_FILE);
        for (unsigned i = 0; i < 6000; i++) {
                char name[32];
                snprintf(name, sizeof name, "s%u", i);
                for (unsigned j = 0; j < 25; j++) {
                        CHECK(budget_record(b, "r", name, BUDGET_START_ENCRYPTION, NOW + j) == 0);
                        CHECK(budget_record(b, "r", name, BUDGET_STOP_ENCRYPTION, NOW + j) == 0);
                }
        }
        CHECK_INTEQ(budget_save(fd, b, NOW + 100), -EFBIG);
        after = test_read_text(dir, BUDGET_FILE);
        CHECK_STREQ(after, before);
        budget_book_free(b);
}

/* 10,000 streams in two regions, added in a scrambled order: every lookup
 * right, and the whole book survives a save and load. */
static void test_many(void) {
        _cleanup_free_ char *dir = test_new_dir(base_dir, "many");
        _cleanup_close_ int fd = test_open_dir(dir);
        _cleanup_free_ char *warning = NULL;
        struct budget_book *b = budget_book_new(), *l = NULL;
        const unsigned n = 10000;
        unsigned bad = 0;
        struct stat st;

        for (unsigned i = 0; i < n; i++) {
                unsigned k = (i * 7919) % n; /* 7919 is prime, so this visits every k */
                char name[32];

                snprintf(name, sizeof name, "stream-%05u", k);
                if (budget_record(b, k % 2 ? "us-east-1" : "eu-central-1", name, BUDGET_UPDATE_SHARD_COUNT,
                                  NOW - (k % 3) * HOUR) < 0)
                        bad++;
                if (k % 10 == 0 && budget_set_pending(b, k % 2 ? "us-east-1" : "eu-central-1", name, k) < 0)
                        bad++;
        }
        CHECK_INTEQ(bad, 0);
        CHECK_INTEQ(budget_book_size(b), n);
        CHECK_INTEQ(budget_save(fd, b, NOW), 1);
        CHECK(lstat_at(dir, BUDGET_FILE, &st));
        fprintf(stderr, "%u streams: budgets.json is %lld bytes\n", n, (long long)st.st_size);
        CHECK(st.st_size < (off_t)BUDGET_FILE_MAX / 4);

        CHECK_INTEQ(budget_load(fd, &l, &warning), 0);
        CHECK(!warning);
        CHECK_INTEQ(budget_book_size(l), n);
        for (unsigned k = 0; k < n; k++) {
                const char *region = k % 2 ? "us-east-1" : "eu-central-1";
                char name[32];
                uint64_t t = 0;

                snprintf(name, sizeof name, "stream-%05u", k);
                if (budget_used(l, region, name, BUDGET_UPDATE_SHARD_COUNT, NOW) != 1 ||
                    budget_used(l, k % 2 ? "eu-central-1" : "us-east-1", name, BUDGET_UPDATE_SHARD_COUNT,
                                NOW) != 0 ||
                    budget_used(l, region, name, BUDGET_UPDATE_SHARD_COUNT, NOW - (k % 3) * HOUR + DAY) !=
                            0 ||
                    budget_pending(l, region, name, &t) != (k % 10 == 0) || (k % 10 == 0 && t != k))
                        bad++;
        }
        CHECK_INTEQ(bad, 0);
        /* Unchanged: not rewritten. */
        CHECK_INTEQ(budget_save(fd, l, NOW), 0);
        budget_book_free(l);
        budget_book_free(b);
}

/* A file written by a clock far ahead: on load nothing locks for more than
 * 24 h, and the next save writes the times as now. */
static void test_future_file(void) {
        _cleanup_free_ char *dir = test_new_dir(base_dir, "future");
        _cleanup_close_ int fd = test_open_dir(dir);
        _cleanup_free_ char *warning = NULL, *text = NULL;
        struct budget_book *b = NULL;

        write_text(dir, BUDGET_FILE,
                   "{\"version\":1,\"streams\":[{\"region\":\"r\",\"name\":\"s\","
                   "\"update_stream_mode\":[1800000000000000,9223372036854775807],"
                   "\"update_shard_count\":[99999999999999999999999]}]}");
        CHECK_INTEQ(budget_load(fd, &b, &warning), 0);
        CHECK(!warning);
        CHECK_INTEQ(budget_used(b, "r", "s", BUDGET_UPDATE_STREAM_MODE, NOW), 2);
        CHECK(budget_next_free(b, "r", "s", BUDGET_UPDATE_STREAM_MODE, NOW) == NOW + DAY);
        CHECK_INTEQ(budget_used(b, "r", "s", BUDGET_UPDATE_SHARD_COUNT, NOW), 1);
        CHECK_INTEQ(budget_save(fd, b, NOW), 1);
        text = test_read_text(dir, BUDGET_FILE);
        CHECK_STREQ(text, "{\"version\":1,\"streams\":[\n"
                          "{\"region\":\"r\",\"name\":\"s\",\"update_shard_count\":[1700000000000000],"
                          "\"update_stream_mode\":[1700000000000000,1700000000000000]}\n"
                          "]}\n");
        CHECK_INTEQ(budget_used(b, "r", "s", BUDGET_UPDATE_STREAM_MODE, NOW + DAY), 0);
        budget_book_free(b);
}

static void test_parse_direct(void) {
        struct budget_book *b = (struct budget_book *)0x1;
        const char *reason = NULL;

        CHECK_INTEQ(budget_parse("{}", 2, &b, &reason), -EBADMSG);
        CHECK(b == (struct budget_book *)0x1);
        CHECK(reason && strstr(reason, "version"));
        CHECK_INTEQ(budget_parse(NULL, 0, &b, NULL), -EBADMSG);
        CHECK_INTEQ(budget_parse("{\"version\":1,\"streams\":[]}", 26, &b, &reason), 0);
        CHECK(!reason);
        CHECK_INTEQ(budget_book_size(b), 0);
        budget_book_free(b);
}

int main(void) {
        base_dir = test_temp_dir("test-budget");

        test_limits();
        test_window();
        test_future();
        test_pending_and_forget();
        test_changes();
        test_missing();
        test_round_trip();
        test_tolerated();
        test_readonly();
        test_bad_files();
        test_odd_files();
        test_oversized();
        test_save_too_big();
        test_many();
        test_future_file();
        test_parse_direct();

        test_temp_dir_done(base_dir);
        return test_summary("test-budget");
}
