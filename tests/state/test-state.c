/* Unit tests of state.c: atomic replacement, no rewrite without a change,
 * modes under a strict umask, symlinks in the state directory, the content of
 * every export, .arn cleanup and stale temp cleanup. Runs under umask 077 so
 * that every mode check also checks umask independence. */
#include <dirent.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "atomic-file.h"
#include "env-name.h"
#include "state.h"
#include "testlib.h"
#include "util.h"

#define NOW UINT64_C(1700000000000000) /* 2023-11-14T22:13:20Z */

static char *base_dir;

static void write_text(const char *dir, const char *name, const char *text) {
        _cleanup_free_ char *p = test_path_join(dir, name);
        FILE *f = fopen(p, "we");
        if (!f) {
                perror(p);
                abort();
        }
        fputs(text, f);
        fclose(f);
}

static bool lstat_at(const char *dir, const char *name, struct stat *st) {
        _cleanup_free_ char *p = test_path_join(dir, name);
        return lstat(p, st) == 0;
}

static bool exists(const char *dir, const char *name) {
        struct stat st;
        return lstat_at(dir, name, &st);
}

static ino_t inode_of(const char *dir, const char *name) {
        struct stat st;
        return lstat_at(dir, name, &st) ? st.st_ino : 0;
}

static unsigned mode_of(const char *dir, const char *name) {
        struct stat st;
        return lstat_at(dir, name, &st) ? (unsigned) (st.st_mode & 07777) : 01;
}

/* Entries of dir other than "." and ".." whose name starts with prefix. */
static unsigned count_entries(const char *dir, const char *prefix) {
        DIR *d = opendir(dir);
        struct dirent *de;
        unsigned n = 0;

        if (!d)
                return 0;
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, "..") &&
                    strncmp(de->d_name, prefix, strlen(prefix)) == 0)
                        n++;
        closedir(d);
        return n;
}

/* ---- atomic_file_write ---------------------------------------------- * */

static void test_write_atomic(void) {
        _cleanup_free_ char *dir = test_new_dir(base_dir, "atomic");
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct stat st1, st2;
        ino_t ino;

        CHECK_INTEQ(atomic_file_write(fd, "f", "hello\n", 6), 1);
        CHECK(lstat_at(dir, "f", &st1));
        CHECK(S_ISREG(st1.st_mode));
        CHECK_INTEQ(mode_of(dir, "f"), 0644);
        text = test_read_text(dir, "f");
        CHECK_STREQ(text, "hello\n");

        /* Same bytes: nothing happens, not even a new inode or mtime. */
        usleep(20000);
        CHECK_INTEQ(atomic_file_write(fd, "f", "hello\n", 6), 0);
        CHECK(lstat_at(dir, "f", &st2));
        CHECK_INTEQ(st2.st_ino, st1.st_ino);
        CHECK(st2.st_mtim.tv_sec == st1.st_mtim.tv_sec && st2.st_mtim.tv_nsec == st1.st_mtim.tv_nsec);
        CHECK(st2.st_ctim.tv_sec == st1.st_ctim.tv_sec && st2.st_ctim.tv_nsec == st1.st_ctim.tv_nsec);

        /* Changed bytes (same length too): replaced by a new inode. */
        CHECK_INTEQ(atomic_file_write(fd, "f", "hellO\n", 6), 1);
        ino = inode_of(dir, "f");
        CHECK(ino != st1.st_ino);
        free(text);
        text = test_read_text(dir, "f");
        CHECK_STREQ(text, "hellO\n");

        /* A prefix of the old content is a change. */
        CHECK_INTEQ(atomic_file_write(fd, "f", "hell", 4), 1);
        CHECK_INTEQ(atomic_file_write(fd, "f", "hell", 4), 0);

        /* Empty content is a valid file. */
        CHECK_INTEQ(atomic_file_write(fd, "empty", "", 0), 1);
        CHECK_INTEQ(atomic_file_write(fd, "empty", "", 0), 0);

        /* Wrong mode with right content: fixed. */
        {
                _cleanup_free_ char *p = test_path_join(dir, "f");
                CHECK(chmod(p, 0600) == 0);
        }
        CHECK_INTEQ(atomic_file_write(fd, "f", "hell", 4), 1);
        CHECK_INTEQ(mode_of(dir, "f"), 0644);

        /* Not plain file names. */
        CHECK_INTEQ(atomic_file_write(fd, "a/b", "x", 1), -EINVAL);
        CHECK_INTEQ(atomic_file_write(fd, "", "x", 1), -EINVAL);
        CHECK_INTEQ(atomic_file_write(fd, "..", "x", 1), -EINVAL);
        CHECK_INTEQ(atomic_file_write(fd, ".", "x", 1), -EINVAL);
        CHECK_INTEQ(atomic_file_write(-1, "f", "x", 1), -EINVAL);

        /* A directory in the way: an error, and no temp file is left. */
        {
                _cleanup_free_ char *p = test_path_join(dir, "d");
                CHECK(mkdir(p, 0755) == 0);
                CHECK(atomic_file_write(fd, "d", "x", 1) < 0);
        }

        /* No temp file left behind by any of this. */
        CHECK_INTEQ(count_entries(dir, "."), 0);
        CHECK_INTEQ(count_entries(dir, ""), 3);
}

/* ---- atomic_file_write_rendered ---------------------------------------------- */

/* Lines "line <i>\n" for i < lines, with the byte at offset flip_at (if set)
 * changed: many stdio buffers' worth, so comparing crosses buffer edges. */
struct numbered {
        unsigned lines;
        long flip_at;
        int fail_after; /* render fails after this many lines (-1: never) */
        unsigned calls;
};

static int render_numbered(FILE *f, const void *userdata) {
        struct numbered *n = (struct numbered *) userdata;
        long off = 0;

        n->calls++;
        for (unsigned i = 0; i < n->lines; i++) {
                char line[32];
                int l = snprintf(line, sizeof line, "line %u\n", i);

                if (n->fail_after >= 0 && (int) i == n->fail_after)
                        return -ENOSPC;
                if (n->flip_at >= off && n->flip_at < off + l)
                        line[n->flip_at - off] ^= 0x20;
                fputs(line, f);
                off += l;
        }
        return 0;
}

static void test_write_rendered(void) {
        _cleanup_free_ char *dir = test_new_dir(base_dir, "rendered");
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct numbered n = { .lines = 50000, .flip_at = -1, .fail_after = -1 };
        struct stat st1, st2;
        _cleanup_free_ char *text = NULL;
        long size;

        CHECK_INTEQ(atomic_file_write_rendered(fd, "big", render_numbered, &n, true), 1);
        CHECK(lstat_at(dir, "big", &st1));
        size = (long) st1.st_size;
        CHECK(size > 500000);
        CHECK_INTEQ(mode_of(dir, "big"), 0644);
        text = test_read_text(dir, "big");
        CHECK(text && strncmp(text, "line 0\nline 1\n", 14) == 0);
        CHECK(text && strcmp(text + size - 11, "line 49999\n") == 0);

        /* The same content: compared, not written. */
        n.calls = 0;
        CHECK_INTEQ(atomic_file_write_rendered(fd, "big", render_numbered, &n, true), 0);
        CHECK_INTEQ(n.calls, 1);
        CHECK(lstat_at(dir, "big", &st2));
        CHECK_INTEQ(st2.st_ino, st1.st_ino);

        /* One byte changed, near the end, in the middle, at the start: each
         * is a change, rendered a second time into the new file. */
        long offsets[] = { size - 2, size / 2, 4096, 8191, 8192, 0 };
        for (size_t i = 0; i < ELEMENTSOF(offsets); i++) {
                n.flip_at = offsets[i];
                n.calls = 0;
                CHECK_INTEQ(atomic_file_write_rendered(fd, "big", render_numbered, &n, true), 1);
                CHECK_INTEQ(n.calls, 2);
                CHECK_INTEQ(atomic_file_write_rendered(fd, "big", render_numbered, &n, true), 0);
        }
        n.flip_at = -1;
        CHECK_INTEQ(atomic_file_write_rendered(fd, "big", render_numbered, &n, true), 1);

        /* Fewer lines: the old file is longer with an equal beginning. */
        n.lines = 49999;
        CHECK_INTEQ(atomic_file_write_rendered(fd, "big", render_numbered, &n, true), 1);
        CHECK(lstat_at(dir, "big", &st2));
        CHECK_INTEQ(st2.st_size, size - 11);
        /* More lines: the old file is a prefix. */
        n.lines = 50000;
        CHECK_INTEQ(atomic_file_write_rendered(fd, "big", render_numbered, &n, true), 1);
        CHECK(lstat_at(dir, "big", &st2));
        CHECK_INTEQ(st2.st_size, size);

        /* Without compare, it is written even when equal. */
        CHECK_INTEQ(atomic_file_write_rendered(fd, "big", render_numbered, &n, false), 1);
        CHECK(inode_of(dir, "big") != st2.st_ino);

        /* A render that fails half way: the old file stays whole, and no
         * temp file is left. */
        st1.st_ino = inode_of(dir, "big");
        n.lines = 60000;
        n.fail_after = 55000;
        CHECK_INTEQ(atomic_file_write_rendered(fd, "big", render_numbered, &n, true), -ENOSPC);
        CHECK_INTEQ(atomic_file_write_rendered(fd, "big", render_numbered, &n, false), -ENOSPC);
        CHECK_INTEQ(inode_of(dir, "big"), st1.st_ino);
        CHECK(lstat_at(dir, "big", &st2));
        CHECK_INTEQ(st2.st_size, size);
        CHECK_INTEQ(count_entries(dir, "."), 0);

        CHECK_INTEQ(atomic_file_write_rendered(fd, "a/b", render_numbered, &n, true), -EINVAL);
        CHECK_INTEQ(atomic_file_write_rendered(fd, "x", NULL, NULL, true), -EINVAL);
}

/* ---- a small export ------------------------------------------------------ */

static const struct state_consumer a_consumers[] = {
        { "z-app", "arn:aws:kinesis:us-west-2:123456789012:stream/a/consumer/z-app:1700000000" },
        { "app.1", "arn:aws:kinesis:us-west-2:123456789012:stream/a/consumer/app.1:1700000001" },
        { "pending", NULL },
};

static const struct state_consumer clicks_consumers[] = {
        { "reader", "arn:aws:kinesis:eu-west-1:123456789012:stream/clicks/consumer/reader:1" },
};

/* Deliberately unsorted. */
static struct state_stream base_streams[] = {
        { .name = "orders", .region = "us-west-2",
          .arn = "arn:aws:kinesis:us-west-2:123456789012:stream/orders", .status = "ACTIVE",
          .mode = "PROVISIONED", .shards = 4, .retention_hours = 48,
          .last_change_usec = NOW - 60 * USEC_PER_SEC, .conflict_held = 2 },
        { .name = "clicks", .region = "eu-west-1",
          .arn = "arn:aws:kinesis:eu-west-1:123456789012:stream/clicks", .status = "ACTIVE",
          .mode = "ON_DEMAND", .shards = 3, .retention_hours = 24, .consumers = clicks_consumers,
          .n_consumers = ELEMENTSOF(clicks_consumers) },
        { .name = "audit", .region = "us-west-2", .arn = NULL, .status = "CREATING", .mode = NULL,
          .shards = 0, .retention_hours = 24,
          .waiting = "CreateStream: LimitExceededException: Rate exceeded \"x\"" },
        { .name = "a", .region = "us-west-2", .arn = "arn:aws:kinesis:us-west-2:123456789012:stream/a",
          .status = "FAILED", .mode = "PROVISIONED", .shards = 1, .retention_hours = 24,
          .consumers = a_consumers, .n_consumers = ELEMENTSOF(a_consumers),
          .last_error = "LimitExceededException: \"too many\" \\ streams" },
};

static const struct state_metrics base_metrics = {
        .api_calls = 42, .api_errors = 3, .api_throttled = 2, .changes_made = 5, .conflicts = 4,
        .reconcile_passes = 7, .last_pass_usec = NOW - 1500000, .last_pass_duration_usec = 250,
        .config_reload_failed = true,
};

static struct state_export base_export(struct state_stream *streams, size_t n) {
        return (struct state_export) {
                .default_region = "us-west-2", .now_usec = NOW, .streams = streams, .n_streams = n,
                .metrics = &base_metrics,
        };
}

static const char *json_str(struct json_object *o, const char *key) {
        struct json_object *v;
        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static bool json_is_null(struct json_object *o, const char *key) {
        struct json_object *v = (struct json_object *) 1;
        return json_object_object_get_ex(o, key, &v) && v == NULL;
}

static int64_t json_int(struct json_object *o, const char *key) {
        struct json_object *v;
        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
                return -1;
        return json_object_get_int64(v);
}

static void check_streams_json(const char *dir, const char *expect_generated_at) {
        _cleanup_free_ char *text = test_read_text(dir, "streams.json");
        struct json_object *root = text ? json_tokener_parse(text) : NULL, *arr, *s, *c;
        static const char *const order[][2] = {
                { "eu-west-1", "clicks" }, { "us-west-2", "a" }, { "us-west-2", "audit" }, { "us-west-2", "orders" },
        };

        CHECK(root);
        if (!root)
                return;
        CHECK(text[strlen(text) - 1] == '\n');
        CHECK(strstr(text, "\\/") == NULL); /* no slash escaping */
        CHECK(strstr(text, "\n  \"streams\"")); /* pretty */
        CHECK_STREQ(json_str(root, "generated_at"), expect_generated_at);
        CHECK(json_object_object_get_ex(root, "streams", &arr) && json_object_is_type(arr, json_type_array));
        CHECK_INTEQ(json_object_array_length(arr), ELEMENTSOF(order));
        for (size_t i = 0; i < ELEMENTSOF(order) && i < json_object_array_length(arr); i++) {
                s = json_object_array_get_idx(arr, i);
                CHECK_STREQ(json_str(s, "region"), order[i][0]);
                CHECK_STREQ(json_str(s, "name"), order[i][1]);
        }
        if (json_object_array_length(arr) != ELEMENTSOF(order))
                goto out;

        s = json_object_array_get_idx(arr, 0); /* clicks */
        CHECK_STREQ(json_str(s, "arn"), "arn:aws:kinesis:eu-west-1:123456789012:stream/clicks");
        CHECK_STREQ(json_str(s, "status"), "ACTIVE");
        CHECK_STREQ(json_str(s, "mode"), "ON_DEMAND");
        CHECK_INTEQ(json_int(s, "shards"), 3);
        CHECK_INTEQ(json_int(s, "retention_hours"), 24);
        CHECK(json_is_null(s, "last_change"));
        CHECK(json_is_null(s, "last_error"));
        CHECK(json_is_null(s, "waiting"));

        s = json_object_array_get_idx(arr, 1); /* a */
        CHECK_STREQ(json_str(s, "status"), "FAILED");
        CHECK_STREQ(json_str(s, "last_error"), "LimitExceededException: \"too many\" \\ streams");
        CHECK(json_object_object_get_ex(s, "consumers", &c) && json_object_is_type(c, json_type_object));
        CHECK_INTEQ(json_object_object_length(c), 3);
        {
                /* Consumers sorted by name. */
                static const char *const names[] = { "app.1", "pending", "z-app" };
                size_t k = 0;
                json_object_object_foreach(c, key, val) {
                        CHECK(k < 3 && streq(key, names[k]));
                        if (streq(key, "pending"))
                                CHECK(val == NULL);
                        k++;
                }
        }
        CHECK_STREQ(json_str(c, "z-app"), "arn:aws:kinesis:us-west-2:123456789012:stream/a/consumer/z-app:1700000000");

        s = json_object_array_get_idx(arr, 2); /* audit */
        CHECK(json_is_null(s, "arn"));
        CHECK(json_is_null(s, "mode"));
        CHECK_STREQ(json_str(s, "status"), "CREATING");
        CHECK_STREQ(json_str(s, "waiting"), "CreateStream: LimitExceededException: Rate exceeded \"x\"");

        s = json_object_array_get_idx(arr, 3); /* orders */
        CHECK_STREQ(json_str(s, "last_change"), "2023-11-14T22:12:20Z");
        CHECK_INTEQ(json_int(s, "shards"), 4);
        CHECK_INTEQ(json_int(s, "retention_hours"), 48);
out:
        json_object_put(root);
}

static const char expected_env[] =
        "# Generated by kinesisd from its stream declarations. Do not edit: changes are overwritten.\n"
        "KINESIS_STREAM_A_ARN=arn:aws:kinesis:us-west-2:123456789012:stream/a\n"
        "KINESIS_STREAM_A_CONSUMER_APP_1_ARN=arn:aws:kinesis:us-west-2:123456789012:stream/a/consumer/app.1:1700000001\n"
        "KINESIS_STREAM_A_CONSUMER_Z_APP_ARN=arn:aws:kinesis:us-west-2:123456789012:stream/a/consumer/z-app:1700000000\n"
        "KINESIS_STREAM_EU_WEST_1_CLICKS_ARN=arn:aws:kinesis:eu-west-1:123456789012:stream/clicks\n"
        "%s=arn:aws:kinesis:eu-west-1:123456789012:stream/clicks/consumer/reader:1\n"
        "KINESIS_STREAM_ORDERS_ARN=arn:aws:kinesis:us-west-2:123456789012:stream/orders\n";

static void check_streams_env(const char *dir) {
        _cleanup_free_ char *text = test_read_text(dir, "streams.env");
        /* DESIGN §4 does not spell out a consumer of a stream in another
         * region; whatever env_name_arn says, and it sorts between
         * KINESIS_STREAM_EU_WEST_1_CLICKS_ARN and KINESIS_STREAM_ORDERS_ARN. */
        _cleanup_free_ char *reader = env_name_arn("us-west-2", "eu-west-1", NULL, "clicks", "reader");
        _cleanup_free_ char *expect = NULL;

        CHECK(reader);
        CHECK(asprintf(&expect, expected_env, strempty(reader)) > 0);
        CHECK_STREQ(text, expect);
}

static void check_metrics(const char *dir) {
        _cleanup_free_ char *text = test_read_text(dir, "metrics.prom");
        static const char *const want[] = {
                "# HELP kinesisd_stream_active ",
                "# TYPE kinesisd_stream_active gauge\n"
                "kinesisd_stream_active{region=\"eu-west-1\",stream=\"clicks\"} 1\n"
                "kinesisd_stream_active{region=\"us-west-2\",stream=\"a\"} 0\n"
                "kinesisd_stream_active{region=\"us-west-2\",stream=\"audit\"} 0\n"
                "kinesisd_stream_active{region=\"us-west-2\",stream=\"orders\"} 1\n",
                "# TYPE kinesisd_stream_shards gauge\n"
                "kinesisd_stream_shards{region=\"eu-west-1\",stream=\"clicks\"} 3\n",
                "kinesisd_stream_retention_hours{region=\"us-west-2\",stream=\"orders\"} 48\n",
                "# TYPE kinesisd_stream_failed gauge\n"
                "kinesisd_stream_failed{region=\"eu-west-1\",stream=\"clicks\"} 0\n"
                "kinesisd_stream_failed{region=\"us-west-2\",stream=\"a\"} 1\n",
                "# TYPE kinesisd_stream_waiting gauge\n"
                "kinesisd_stream_waiting{region=\"eu-west-1\",stream=\"clicks\"} 0\n"
                "kinesisd_stream_waiting{region=\"us-west-2\",stream=\"a\"} 0\n"
                "kinesisd_stream_waiting{region=\"us-west-2\",stream=\"audit\"} 1\n",
                "# TYPE kinesisd_api_calls_total counter\nkinesisd_api_calls_total 42\n",
                "# TYPE kinesisd_api_errors_total counter\nkinesisd_api_errors_total 3\n",
                "# TYPE kinesisd_api_throttled_total counter\nkinesisd_api_throttled_total 2\n",
                "# TYPE kinesisd_changes_total counter\nkinesisd_changes_total 5\n",
                "# TYPE kinesisd_conflicts_total counter\nkinesisd_conflicts_total 4\n",
                "# TYPE kinesisd_stream_conflict_held gauge\n"
                "kinesisd_stream_conflict_held{region=\"eu-west-1\",stream=\"clicks\"} 0\n"
                "kinesisd_stream_conflict_held{region=\"us-west-2\",stream=\"a\"} 0\n"
                "kinesisd_stream_conflict_held{region=\"us-west-2\",stream=\"audit\"} 0\n"
                "kinesisd_stream_conflict_held{region=\"us-west-2\",stream=\"orders\"} 2\n",
                "# TYPE kinesisd_reconcile_passes_total counter\nkinesisd_reconcile_passes_total 7\n",
                "# TYPE kinesisd_last_pass_timestamp_seconds gauge\nkinesisd_last_pass_timestamp_seconds 1699999998.500000\n",
                "# TYPE kinesisd_last_pass_duration_seconds gauge\nkinesisd_last_pass_duration_seconds 0.000250\n",
                "# TYPE kinesisd_config_reload_failed gauge\nkinesisd_config_reload_failed 1\n",
        };

        CHECK(text);
        if (!text)
                return;
        for (size_t i = 0; i < ELEMENTSOF(want); i++)
                if (!strstr(text, want[i])) {
                        fprintf(stderr, "metrics.prom lacks:\n%s\n", want[i]);
                        CHECK(!"metrics.prom content");
                }
        CHECK(text[strlen(text) - 1] == '\n');
        /* No timestamps on samples: every sample line has exactly one space. */
        for (char *line = text, *end; *line; line = end + 1) {
                end = strchr(line, '\n');
                if (!end)
                        break;
                if (line[0] != '#') {
                        unsigned spaces = 0;
                        for (char *p = line; p < end; p++)
                                spaces += *p == ' ';
                        CHECK_INTEQ(spaces, 1);
                }
        }
}

static void test_export(void) {
        _cleanup_free_ char *dir = test_path_join(base_dir, "export/sub/state"); /* created by state_dir_open */
        _cleanup_free_ char *region_w = NULL, *region_e = NULL, *streams = NULL;
        struct state_stream streams_v[ELEMENTSOF(base_streams)];
        struct state_export e;
        struct state_changes ch = { .files_written = 99, .files_removed = 99 };
        struct state_dir *d = NULL;
        ino_t json_ino, env_ino, prom_ino, arn_ino;
        char *text;

        memcpy(streams_v, base_streams, sizeof streams_v);
        e = base_export(streams_v, ELEMENTSOF(streams_v));
        region_w = test_path_join(dir, "streams/us-west-2");
        region_e = test_path_join(dir, "streams/eu-west-1");
        streams = test_path_join(dir, "streams");

        CHECK_INTEQ(state_dir_open(dir, &d, NULL), 0);
        CHECK(d && state_dir_fd(d) >= 0);
        if (!d)
                return;
        CHECK_INTEQ(mode_of(base_dir, "export/sub/state"), 0755);
        /* The parents made on the way too: readers have to get through them. */
        CHECK_INTEQ(mode_of(base_dir, "export"), 0755);
        CHECK_INTEQ(mode_of(base_dir, "export/sub"), 0755);

        CHECK_INTEQ(state_export(d, &e, &ch), 0);
        /* 3 .arn files (audit has no ARN), env, json, metrics. */
        CHECK_INTEQ(ch.files_written, 6);
        CHECK_INTEQ(ch.files_removed, 0);

        check_streams_json(dir, "2023-11-14T22:13:20Z");
        check_streams_env(dir);
        check_metrics(dir);
        text = test_read_text(region_w, "orders.arn");
        CHECK_STREQ(text, "arn:aws:kinesis:us-west-2:123456789012:stream/orders\n");
        free(text);
        text = test_read_text(region_e, "clicks.arn");
        CHECK_STREQ(text, "arn:aws:kinesis:eu-west-1:123456789012:stream/clicks\n");
        free(text);
        CHECK(exists(region_w, "a.arn"));
        CHECK(!exists(region_w, "audit.arn"));
        CHECK_INTEQ(count_entries(region_w, ""), 2);

        /* Modes under umask 077. */
        CHECK_INTEQ(mode_of(dir, "streams.json"), 0644);
        CHECK_INTEQ(mode_of(dir, "streams.env"), 0644);
        CHECK_INTEQ(mode_of(dir, "metrics.prom"), 0644);
        CHECK_INTEQ(mode_of(region_w, "orders.arn"), 0644);
        CHECK_INTEQ(mode_of(dir, "streams"), 0755);
        CHECK_INTEQ(mode_of(streams, "us-west-2"), 0755);
        CHECK_INTEQ(count_entries(dir, "."), 0);

        /* Nothing changed but the clock: nothing is written, generated_at stays. */
        json_ino = inode_of(dir, "streams.json");
        env_ino = inode_of(dir, "streams.env");
        prom_ino = inode_of(dir, "metrics.prom");
        arn_ino = inode_of(region_w, "orders.arn");
        e.now_usec = NOW + 3600 * USEC_PER_SEC;
        CHECK_INTEQ(state_export(d, &e, &ch), 0);
        CHECK_INTEQ(ch.files_written, 0);
        CHECK_INTEQ(ch.files_removed, 0);
        CHECK_INTEQ(inode_of(dir, "streams.json"), json_ino);
        CHECK_INTEQ(inode_of(dir, "streams.env"), env_ino);
        CHECK_INTEQ(inode_of(dir, "metrics.prom"), prom_ino);
        CHECK_INTEQ(inode_of(region_w, "orders.arn"), arn_ino);
        check_streams_json(dir, "2023-11-14T22:13:20Z");

        /* The same after a restart (nothing kept in memory matters). */
        d = state_dir_free(d);
        CHECK_INTEQ(state_dir_open(dir, &d, NULL), 0);
        CHECK_INTEQ(state_export(d, &e, &ch), 0);
        CHECK_INTEQ(ch.files_written, 0);
        CHECK_INTEQ(inode_of(dir, "streams.json"), json_ino);

        /* Input order does not matter. */
        {
                struct state_stream rev[ELEMENTSOF(base_streams)];
                struct state_export e2 = e;
                for (size_t i = 0; i < ELEMENTSOF(rev); i++)
                        rev[i] = streams_v[ELEMENTSOF(rev) - 1 - i];
                e2.streams = rev;
                CHECK_INTEQ(state_export(d, &e2, &ch), 0);
                CHECK_INTEQ(ch.files_written, 0);
        }

        /* A real change: streams.json (new generated_at) and metrics.prom only. */
        streams_v[0].shards = 8;
        CHECK_INTEQ(state_export(d, &e, &ch), 0);
        CHECK_INTEQ(ch.files_written, 2);
        CHECK(inode_of(dir, "streams.json") != json_ino);
        CHECK(inode_of(dir, "metrics.prom") != prom_ino);
        CHECK_INTEQ(inode_of(dir, "streams.env"), env_ino);
        CHECK_INTEQ(inode_of(region_w, "orders.arn"), arn_ino);
        text = test_read_text(dir, "streams.json");
        CHECK(text && strstr(text, "\"generated_at\":\"2023-11-14T23:13:20Z\""));
        free(text);

        /* metrics NULL: metrics.prom is left alone. */
        {
                struct state_export e2 = e;
                e2.metrics = NULL;
                streams_v[0].shards = 16;
                prom_ino = inode_of(dir, "metrics.prom");
                CHECK_INTEQ(state_export(d, &e2, &ch), 0);
                CHECK_INTEQ(ch.files_written, 1);
                CHECK_INTEQ(inode_of(dir, "metrics.prom"), prom_ino);
        }

        /* A file that is not ours in a region directory stays, and keeps the
         * directory. */
        write_text(region_e, "README", "not ours\n");

        /* clicks disappears (its region dir keeps README), then orders'
         * ARN becomes unknown: both .arn files go. */
        streams_v[1] = streams_v[3];
        streams_v[0].arn = NULL;
        e.n_streams = 3;
        CHECK_INTEQ(state_export(d, &e, &ch), 0);
        CHECK_INTEQ(ch.files_removed, 2);
        CHECK(!exists(region_e, "clicks.arn"));
        CHECK(exists(region_e, "README"));
        CHECK(!exists(region_w, "orders.arn"));
        CHECK(exists(region_w, "a.arn"));
        text = test_read_text(dir, "streams.env");
        CHECK(text && !strstr(text, "CLICKS") && !strstr(text, "ORDERS"));
        free(text);

        /* Once README is gone, the empty region directory goes too. */
        {
                _cleanup_free_ char *p = test_path_join(region_e, "README");
                CHECK(unlink(p) == 0);
        }
        CHECK_INTEQ(state_export(d, &e, &ch), 0);
        CHECK_INTEQ(ch.files_written, 0);
        CHECK(!exists(streams, "eu-west-1"));
        CHECK(exists(streams, "us-west-2"));

        /* No streams at all: every .arn and region directory goes, the
         * top-level files stay (empty lists). */
        e.n_streams = 0;
        CHECK_INTEQ(state_export(d, &e, &ch), 0);
        CHECK_INTEQ(ch.files_removed, 1);
        CHECK_INTEQ(count_entries(streams, ""), 0);
        text = test_read_text(dir, "streams.json");
        CHECK(text && strstr(text, "\"streams\":[\n  ]") != NULL);
        free(text);
        CHECK_INTEQ(count_entries(dir, "."), 0);

        state_dir_free(d);
}

/* ---- symlinks planted in the state directory --------------------------- */

static void test_symlinks(void) {
        _cleanup_free_ char *dir = test_new_dir(base_dir, "sym");
        _cleanup_free_ char *outside = test_new_dir(base_dir, "outside");
        _cleanup_free_ char *outside_dir = test_new_dir(base_dir, "outside-dir");
        _cleanup_free_ char *target = test_path_join(outside, "precious");
        _cleanup_free_ char *link = test_path_join(dir, "streams.json");
        _cleanup_free_ char *streams = test_path_join(dir, "streams");
        _cleanup_free_ char *region_w = test_path_join(dir, "streams/us-west-2");
        _cleanup_free_ char *region_link = test_path_join(dir, "streams/eu-west-1");
        _cleanup_free_ char *arn_link = NULL, *stray_link = NULL, *text = NULL;
        struct state_stream streams_v[ELEMENTSOF(base_streams)];
        struct state_export e;
        struct state_changes ch;
        struct state_dir *d = NULL;
        struct stat st;

        memcpy(streams_v, base_streams, sizeof streams_v);
        e = base_export(streams_v, ELEMENTSOF(streams_v));
        write_text(outside, "precious", "do not touch\n");
        CHECK(symlink(target, link) == 0);
        CHECK(mkdir(streams, 0755) == 0 && mkdir(region_w, 0755) == 0);
        /* The region directory of clicks is a symlink to a directory outside. */
        CHECK(symlink(outside_dir, region_link) == 0);
        /* orders.arn is a symlink to the precious file. */
        arn_link = test_path_join(region_w, "orders.arn");
        CHECK(symlink(target, arn_link) == 0);
        /* A stray .arn symlink for no stream: not ours, not removed, not followed. */
        stray_link = test_path_join(region_w, "gone.arn");
        CHECK(symlink(target, stray_link) == 0);

        CHECK_INTEQ(state_dir_open(dir, &d, NULL), 0);
        if (!d)
                return;
        /* eu-west-1 cannot be used: the export says so, does the rest. */
        CHECK_INTEQ(state_export(d, &e, &ch), 1);
        CHECK_INTEQ(ch.n_failed, 1);
        CHECK_INTEQ(ch.n_failures, 1);
        if (ch.n_failures == 1) {
                CHECK_STREQ(ch.failures[0].path, "streams/eu-west-1/");
                CHECK_INTEQ(ch.failures[0].error, -ELOOP);
                CHECK(!ch.failures[0].removal);
                CHECK_STREQ(state_error_text(ch.failures[0].error), "a symbolic link, not followed");
        }
        /* clicks alone lacks its .arn file. */
        CHECK_INTEQ(ch.streams_unexported, 1);
        state_changes_done(&ch);
        CHECK(!ch.failures && ch.n_failed == 0);

        text = test_read_text(outside, "precious");
        CHECK_STREQ(text, "do not touch\n");
        CHECK_INTEQ(mode_of(outside, "precious"), 0600); /* created under umask 077, untouched */
        CHECK(lstat(link, &st) == 0 && S_ISREG(st.st_mode));
        CHECK(lstat(arn_link, &st) == 0 && S_ISREG(st.st_mode));
        CHECK(lstat(stray_link, &st) == 0 && S_ISLNK(st.st_mode));
        CHECK(lstat(region_link, &st) == 0 && S_ISLNK(st.st_mode));
        CHECK_INTEQ(count_entries(outside_dir, ""), 0);
        CHECK_INTEQ(count_entries(outside, ""), 1);
        check_streams_env(dir);
        free(text);
        text = test_read_text(region_w, "orders.arn");
        CHECK_STREQ(text, "arn:aws:kinesis:us-west-2:123456789012:stream/orders\n");

        /* A stream whose region directory is a symlink goes away: the
         * symlink stays (we never created it), nothing outside changes. */
        streams_v[1] = streams_v[3];
        e.n_streams = 3;
        CHECK_INTEQ(state_export(d, &e, &ch), 0);
        CHECK(lstat(region_link, &st) == 0 && S_ISLNK(st.st_mode));
        CHECK(lstat(stray_link, &st) == 0 && S_ISLNK(st.st_mode));
        CHECK_INTEQ(count_entries(outside_dir, ""), 0);

        /* The whole state directory given as a symlink is fine (an operator's
         * choice, not something planted inside). */
        state_dir_free(d);
        {
                _cleanup_free_ char *alias = test_path_join(base_dir, "sym-alias");
                CHECK(symlink(dir, alias) == 0);
                d = NULL;
                CHECK_INTEQ(state_dir_open(alias, &d, NULL), 0);
                CHECK_INTEQ(state_export(d, &e, &ch), 0);
                CHECK_INTEQ(ch.files_written, 0);
                state_dir_free(d);
        }
}

/* ---- files that cannot be written ----------------------------------------- */

static void test_unwritable(void) {
        _cleanup_free_ char *dir = test_new_dir(base_dir, "fail");
        _cleanup_free_ char *streams = test_path_join(dir, "streams");
        struct state_stream streams_v[ELEMENTSOF(base_streams)];
        struct state_export e;
        struct state_changes ch = {};
        struct state_dir *d = NULL;

        memcpy(streams_v, base_streams, sizeof streams_v);
        e = base_export(streams_v, ELEMENTSOF(streams_v));
        /* A file where streams/ should be: no .arn file can be written. */
        write_text(dir, "streams", "in the way\n");
        CHECK_INTEQ(state_dir_open(dir, &d, NULL), 0);
        if (!d)
                return;
        CHECK_INTEQ(state_export(d, &e, &ch), 1);
        CHECK_INTEQ(ch.n_failed, 1);
        if (ch.n_failures == 1) {
                CHECK_STREQ(ch.failures[0].path, "streams/");
                CHECK_INTEQ(ch.failures[0].error, -ENOTDIR);
        }
        /* orders, clicks and a have ARNs; audit has none and is whole in
         * streams.json. */
        CHECK_INTEQ(ch.streams_unexported, 3);
        /* streams.env and streams.json are written all the same. */
        check_streams_env(dir);
        check_streams_json(dir, "2023-11-14T22:13:20Z");
        state_changes_done(&ch);

        /* Once the way is clear, the next export puts everything in place. */
        CHECK(unlink(streams) == 0);
        CHECK_INTEQ(state_export(d, &e, &ch), 0);
        CHECK_INTEQ(ch.n_failed, 0);
        CHECK_INTEQ(ch.streams_unexported, 0);
        CHECK_INTEQ(ch.files_written, 3);
        state_changes_done(&ch);
        state_dir_free(d);
}

/* ---- whom the state directory trusts ------------------------------------- */

static void test_refusal_table(void) {
        static const struct {
                mode_t mode;
                uid_t owner;
                bool is_state_dir;
                uid_t self;
                const char *why; /* a part of the reason, NULL: trusted */
        } cases[] = {
                { S_IFDIR | 0755, 0, true, 0, NULL },
                { S_IFDIR | 0700, 0, true, 0, NULL },
                { S_IFDIR | 0755, 990, true, 990, NULL },   /* the daemon's own user */
                { S_IFDIR | 0755, 0, true, 990, NULL },     /* root */
                { S_IFDIR | 0755, 65534, true, 990, "owned by another user" },
                { S_IFDIR | 0755, 990, true, 0, "owned by another user" },
                { S_IFDIR | 0775, 0, true, 0, "writable by its group" },
                { S_IFDIR | 0757, 0, true, 0, "writable by others" },
                { S_IFDIR | 0777, 0, true, 0, "writable by others" },
                { S_IFDIR | 01777, 0, true, 0, "writable by others" }, /* sticky is no help here */
                { S_IFDIR | 01775, 0, true, 0, "writable by its group" },
                { S_IFDIR | 0755, 0, false, 0, NULL },
                { S_IFDIR | 01777, 0, false, 0, NULL },     /* /tmp above a private directory */
                { S_IFDIR | 01770, 0, false, 0, NULL },
                { S_IFDIR | 0777, 0, false, 0, "writable by others and not sticky" },
                { S_IFDIR | 0775, 0, false, 0, "writable by its group and not sticky" },
                { S_IFDIR | 01777, 65534, false, 0, "owned by another user" },
                { S_IFDIR | 0755, 65534, false, 0, "owned by another user" },
                { S_IFLNK | 0777, 0, false, 0, NULL },      /* a link's mode means nothing */
                { S_IFLNK | 0777, 990, false, 990, NULL },
                { S_IFLNK | 0777, 65534, false, 0, "owned by another user" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const char *why = state_dir_refusal(cases[i].mode, cases[i].owner, cases[i].is_state_dir,
                                                    cases[i].self);
                if (!cases[i].why) {
                        CHECK(!why);
                        if (why)
                                fprintf(stderr, "  case %zu: refused: %s\n", i, why);
                } else {
                        CHECK(why && strstr(why, cases[i].why));
                        if (!why || !strstr(why, cases[i].why))
                                fprintf(stderr, "  case %zu: %s, expected \"%s\"\n", i, strna(why),
                                        cases[i].why);
                }
        }
}

/* Open path; expect a refusal naming refused (a path) with why in it. */
static void check_refused(const char *path, const char *refused, const char *why) {
        struct state_dir_unsafe u = {};
        struct state_dir *d = NULL;

        CHECK_INTEQ(state_dir_open(path, &d, &u), -EPERM);
        CHECK(!d);
        CHECK_STREQ(u.path, refused);
        CHECK(u.why && strstr(u.why, why));
        if (!u.why || !strstr(u.why, why))
                fprintf(stderr, "  %s: %s, expected \"%s\"\n", path, strna(u.why), why);
        state_dir_free(d);
        state_dir_unsafe_done(&u);
}

static void check_accepted(const char *path) {
        struct state_dir_unsafe u = {};
        struct state_dir *d = NULL;

        CHECK_INTEQ(state_dir_open(path, &d, &u), 0);
        CHECK(!u.path);
        if (u.path)
                fprintf(stderr, "  %s refused: %s %s\n", path, u.path, strna(u.why));
        state_dir_free(d);
        state_dir_unsafe_done(&u);
}

static void test_trust(void) {
        _cleanup_free_ char *top = test_new_dir(base_dir, "trust");
        _cleanup_free_ char *ww = test_new_dir(top, "ww");
        _cleanup_free_ char *gw = test_new_dir(top, "gw");
        _cleanup_free_ char *sticky = test_new_dir(top, "sticky");
        _cleanup_free_ char *self_ww = test_new_dir(top, "self-ww");
        _cleanup_free_ char *in_ww = test_path_join(ww, "state");
        _cleanup_free_ char *in_gw = test_path_join(gw, "state");
        _cleanup_free_ char *in_sticky = test_path_join(sticky, "private/state");
        _cleanup_free_ char *stale = test_path_join(self_ww, ".streams.env.AbC123");
        _cleanup_free_ char *link = test_path_join(top, "link");
        _cleanup_free_ char *via_link = test_path_join(top, "link/private/state");
        _cleanup_free_ char *dotdot = test_path_join(top, "ww/../sticky/private/state");
        struct stat st;

        CHECK(chmod(ww, 0777) == 0 && chmod(gw, 0775) == 0 && chmod(sticky, 01777) == 0);

        /* A directory above that others can change: the state directory in it
         * could be swapped for theirs. */
        check_refused(in_ww, ww, "writable by others and not sticky");
        check_refused(in_gw, gw, "writable by its group and not sticky");
        /* Nothing is made in them. */
        CHECK_INTEQ(count_entries(ww, ""), 0);
        CHECK_INTEQ(count_entries(gw, ""), 0);
        /* /tmp-like: sticky above a private directory is fine, and the
         * parents made in it are 0755, not writable by others. */
        check_accepted(in_sticky);
        /* Only looked through with "..": nothing of ours is found in ww. */
        check_accepted(dotdot);
        /* The state directory itself writable by others, sticky or not; its
         * crash-left temp files are left alone when it is refused. */
        CHECK(chmod(self_ww, 01777) == 0);
        write_text(self_ww, ".streams.env.AbC123", "x\n");
        check_refused(self_ww, self_ww, "writable by others");
        CHECK(lstat(stale, &st) == 0);
        CHECK(chmod(self_ww, 0775) == 0);
        check_refused(self_ww, self_ww, "writable by its group");
        CHECK(chmod(self_ww, 0755) == 0);
        check_accepted(self_ww);
        CHECK(lstat(stale, &st) < 0 && errno == ENOENT);

        /* A symlink on the way is followed, and what it leads through is
         * checked: here into the sticky directory. */
        CHECK(symlink("sticky", link) == 0);
        check_accepted(via_link);

        if (geteuid() != 0) {
                fprintf(stderr, "  not root: the checks of other owners skipped\n");
                return;
        }
        /* Another user's directory, or link, on the way. */
        {
                _cleanup_free_ char *theirs = test_new_dir(top, "theirs");
                _cleanup_free_ char *in_theirs = test_path_join(theirs, "state");
                _cleanup_free_ char *their_state = test_new_dir(sticky, "their-state");

                CHECK(chown(theirs, 65534, 65534) == 0);
                check_refused(in_theirs, theirs, "owned by another user");
                /* In /tmp, made by someone else before us. */
                CHECK(chown(their_state, 65534, 65534) == 0);
                check_refused(their_state, their_state, "owned by another user");
                CHECK(lchown(link, 65534, 65534) == 0);
                check_refused(via_link, link, "owned by another user");
        }
}

/* ---- a state directory replaced under a running process ------------------ */

static void test_replaced_dir(void) {
        _cleanup_free_ char *dir = test_path_join(base_dir, "replaced");
        _cleanup_free_ char *aside = test_path_join(base_dir, "replaced.old");
        _cleanup_free_ char *file = test_path_join(base_dir, "replaced-file");
        struct state_dir *d = NULL;

        CHECK_INTEQ(state_dir_open(dir, &d, NULL), 0);
        if (!d)
                return;
        CHECK_STREQ(state_dir_path(d), dir);
        CHECK_INTEQ(state_dir_is_current(d), 1);
        /* Moved away and made again: another directory at the path. */
        CHECK(rename(dir, aside) == 0 && mkdir(dir, 0755) == 0);
        CHECK_INTEQ(state_dir_is_current(d), 0);
        /* Back in place: the same again. */
        CHECK(rmdir(dir) == 0 && rename(aside, dir) == 0);
        CHECK_INTEQ(state_dir_is_current(d), 1);
        /* Removed. */
        CHECK(rename(dir, aside) == 0);
        CHECK_INTEQ(state_dir_is_current(d), 0);
        /* A file in its place. */
        write_text(base_dir, "replaced-file", "x\n");
        CHECK(rename(file, dir) == 0);
        CHECK_INTEQ(state_dir_is_current(d), 0);
        state_dir_free(d);
}

/* ---- names and content edge cases --------------------------------------- */

static void test_escaping_and_odd_values(void) {
        _cleanup_free_ char *dir = test_new_dir(base_dir, "odd");
        _cleanup_free_ char *prom = NULL, *env = NULL, *json = NULL;
        struct state_stream s[] = {
                { .name = "we\"ird\\na\nme", .region = "us-west-2",
                  .arn = "arn:aws:kinesis:us-west-2:123456789012:stream/weird", .status = "ACTIVE",
                  .shards = 2, .retention_hours = 24 },
                { .name = "ok", .region = "r\"1", .arn = "arn:aws:kinesis:r1:123456789012:stream/ok",
                  .status = "UPDATING", .shards = 1, .retention_hours = 24 },
                /* ARNs that would need quoting are not exported as values. */
                { .name = "spaces", .region = "us-west-2", .arn = "arn:aws:kinesis:x y", .status = "ACTIVE" },
                { .name = "newline", .region = "us-west-2", .arn = "arn:aws:kinesis:x\nFOO=bar", .status = "ACTIVE" },
                { .name = "notarn", .region = "us-west-2", .arn = "hello", .status = "ACTIVE" },
                { .name = "..", .region = "us-west-2", .arn = "arn:aws:kinesis:us-west-2:1:stream/dotdot",
                  .status = "ACTIVE" },
                { .name = "plain", .region = "us-west-2", .arn = "arn:aws:kinesis:us-west-2:1:stream/plain",
                  .status = "ACTIVE" },
        };
        struct state_export e = base_export(s, ELEMENTSOF(s));
        struct state_changes ch;
        struct state_dir *d = NULL;
        _cleanup_free_ char *streams = test_path_join(dir, "streams");
        _cleanup_free_ char *region_w = test_path_join(dir, "streams/us-west-2");

        CHECK_INTEQ(state_dir_open(dir, &d, NULL), 0);
        if (!d)
                return;
        CHECK_INTEQ(state_export(d, &e, &ch), 0);
        prom = test_read_text(dir, "metrics.prom");
        CHECK(prom && strstr(prom, "kinesisd_stream_active{region=\"us-west-2\",stream=\"we\\\"ird\\\\na\\nme\"} 1\n"));
        CHECK(prom && strstr(prom, "kinesisd_stream_shards{region=\"r\\\"1\",stream=\"ok\"} 1\n"));

        env = test_read_text(dir, "streams.env");
        CHECK(env && !strstr(env, "x y") && !strstr(env, "FOO=bar") && !strstr(env, "hello"));
        CHECK(env && strstr(env, "=arn:aws:kinesis:us-west-2:123456789012:stream/weird\n"));
        /* Every line is a comment or KEY=VALUE with an upper-case key. */
        for (char *line = env, *end; env && *line; line = end + 1) {
                end = strchr(line, '\n');
                CHECK(end);
                if (!end)
                        break;
                if (line[0] == '#')
                        continue;
                CHECK(strncmp(line, "KINESIS_STREAM_", 15) == 0);
                CHECK(strcspn(line, "=") == strspn(line, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"));
        }

        /* JSON keeps every value, escaped. */
        json = test_read_text(dir, "streams.json");
        CHECK(json && strstr(json, "\"arn\":\"arn:aws:kinesis:x\\nFOO=bar\""));

        /* Only path-safe names with exportable ARNs get .arn files: "we..."
         * (quote, backslash, newline), region r"1, "..", and the bad ARNs do not. */
        CHECK_INTEQ(count_entries(streams, ""), 1);
        CHECK_INTEQ(count_entries(region_w, ""), 1);
        CHECK(exists(region_w, "plain.arn"));
        state_dir_free(d);
}

static void test_refused(void) {
        _cleanup_free_ char *dir = test_new_dir(base_dir, "refused");
        struct state_stream dup[] = {
                { .name = "a.b", .region = "us-west-2", .arn = "arn:aws:kinesis:us-west-2:1:stream/a.b" },
                { .name = "a-b", .region = "us-west-2", .arn = "arn:aws:kinesis:us-west-2:1:stream/a-b" },
        };
        struct state_stream noregion[] = { { .name = "x", .region = NULL } };
        struct state_consumer nameless[] = { { NULL, "arn:aws:kinesis:x" } };
        struct state_stream badconsumer[] = {
                { .name = "x", .region = "r", .consumers = nameless, .n_consumers = 1 },
        };
        struct state_export e = base_export(dup, ELEMENTSOF(dup));
        struct state_changes ch = { .files_written = 7, .files_removed = 7 };
        struct state_dir *d = NULL;

        CHECK_INTEQ(state_dir_open(dir, &d, NULL), 0);
        if (!d)
                return;
        /* Two streams mapping to one variable: nothing at all is written. */
        CHECK_INTEQ(state_export(d, &e, &ch), -EINVAL);
        CHECK_INTEQ(ch.files_written, 7);
        CHECK_INTEQ(count_entries(dir, ""), 0);
        e = base_export(noregion, 1);
        CHECK_INTEQ(state_export(d, &e, &ch), -EINVAL);
        e = base_export(badconsumer, 1);
        CHECK_INTEQ(state_export(d, &e, &ch), -EINVAL);
        CHECK_INTEQ(state_export(d, NULL, &ch), -EINVAL);
        CHECK_INTEQ(state_export(NULL, &e, &ch), -EINVAL);
        CHECK_INTEQ(count_entries(dir, ""), 0);

        /* ret may be NULL. */
        e = base_export(NULL, 0);
        CHECK_INTEQ(state_export(d, &e, NULL), 0);
        CHECK(exists(dir, "streams.json"));
        CHECK(!exists(dir, "streams"));
        state_dir_free(d);

        /* A plain file where the state directory should be. */
        write_text(base_dir, "notadir", "x");
        {
                _cleanup_free_ char *p = test_path_join(base_dir, "notadir");
                d = NULL;
                CHECK_INTEQ(state_dir_open(p, &d, NULL), -ENOTDIR);
                CHECK(!d);
        }
}

/* ---- stale temp files ------------------------------------------------------ */

static void test_stale_temps(void) {
        _cleanup_free_ char *dir = test_new_dir(base_dir, "stale");
        _cleanup_free_ char *region_w = test_path_join(dir, "streams/us-west-2");
        _cleanup_free_ char *streams = test_path_join(dir, "streams");
        _cleanup_free_ char *outside = test_new_dir(base_dir, "stale-outside");
        _cleanup_free_ char *link = test_path_join(dir, ".streams.env.Zz9Zz9");
        struct state_dir *d = NULL;

        CHECK(mkdir(streams, 0755) == 0 && mkdir(region_w, 0755) == 0);
        /* Ours, left by a crash: removed. */
        write_text(dir, ".streams.json.AbC123", "{\"generated_at\": \"2023");
        write_text(dir, ".metrics.prom.zzzzzz", "");
        write_text(dir, ".streams.env.000000", "KINESIS_");
        write_text(region_w, ".orders.arn.Q1w2E3", "arn:aws:kin");
        write_text(dir, ".budgets.json.a1B2c3", "{\"version\": 1, \"str");
        write_text(dir, "budgets.json", "{\"version\":1,\"streams\":[]}\n");
        /* Not ours: kept. */
        write_text(dir, ".budgets.json.corrupt", "x");
        write_text(dir, ".streams.json.toolong1", "x");
        write_text(dir, ".streams.json.AB-123", "x");
        write_text(dir, ".other.ABCDEF", "x");
        write_text(dir, "streams.json.ABCDEF", "x");
        write_text(dir, "keep.txt", "x");
        write_text(region_w, ".notes.txt.ABCDEF", "x");
        write_text(region_w, "orders.arn", "arn:aws:kinesis:us-west-2:1:stream/orders\n");
        write_text(outside, "t", "x");
        {
                _cleanup_free_ char *t = test_path_join(outside, "t");
                CHECK(symlink(t, link) == 0); /* a symlink with our temp name: not a file we wrote */
        }

        CHECK_INTEQ(state_dir_open(dir, &d, NULL), 0);
        CHECK(!exists(dir, ".streams.json.AbC123"));
        CHECK(!exists(dir, ".metrics.prom.zzzzzz"));
        CHECK(!exists(dir, ".streams.env.000000"));
        CHECK(!exists(region_w, ".orders.arn.Q1w2E3"));
        CHECK(!exists(dir, ".budgets.json.a1B2c3"));
        CHECK(exists(dir, "budgets.json"));
        CHECK(exists(dir, ".budgets.json.corrupt"));
        CHECK(exists(dir, ".streams.json.toolong1"));
        CHECK(exists(dir, ".streams.json.AB-123"));
        CHECK(exists(dir, ".other.ABCDEF"));
        CHECK(exists(dir, "streams.json.ABCDEF"));
        CHECK(exists(dir, "keep.txt"));
        CHECK(exists(dir, ".streams.env.Zz9Zz9"));
        CHECK(exists(region_w, ".notes.txt.ABCDEF"));
        CHECK(exists(region_w, "orders.arn"));
        CHECK(exists(outside, "t"));
        state_dir_free(d);
}

/* ---- reading streams.json back ------------------------------------------- */

static const struct state_previous_stream *previous_find(const struct state_previous *p, const char *region,
                                                         const char *name) {
        for (size_t i = 0; i < p->n_streams; i++)
                if (streq(p->streams[i].region, region) && streq(p->streams[i].name, name))
                        return &p->streams[i];
        return NULL;
}

/* What the export of base_streams reads back as, whatever the layout. */
static void check_previous(const struct state_previous *p) {
        const struct state_previous_stream *s;

        CHECK_INTEQ(p->n_streams, 4);
        if (p->n_streams != 4)
                return;
        /* In file order: sorted by region, name. */
        CHECK_STREQ(p->streams[0].name, "clicks");
        CHECK_STREQ(p->streams[3].name, "orders");

        s = previous_find(p, "eu-west-1", "clicks");
        CHECK(s);
        if (s) {
                CHECK_STREQ(s->arn, "arn:aws:kinesis:eu-west-1:123456789012:stream/clicks");
                CHECK_INTEQ(s->n_consumers, 1);
                CHECK_STREQ(s->consumers[0].name, "reader");
                CHECK_STREQ(s->consumers[0].arn,
                            "arn:aws:kinesis:eu-west-1:123456789012:stream/clicks/consumer/reader:1");
                CHECK_INTEQ(s->last_change_usec, 0);
        }
        s = previous_find(p, "us-west-2", "a");
        CHECK(s);
        if (s) {
                CHECK_STREQ(s->arn, "arn:aws:kinesis:us-west-2:123456789012:stream/a");
                CHECK_INTEQ(s->n_consumers, 3);
                if (s->n_consumers == 3) {
                        CHECK_STREQ(s->consumers[0].name, "app.1");
                        CHECK_STREQ(s->consumers[1].name, "pending");
                        CHECK(!s->consumers[1].arn);
                        CHECK_STREQ(s->consumers[2].name, "z-app");
                        CHECK_STREQ(s->consumers[2].arn,
                                    "arn:aws:kinesis:us-west-2:123456789012:stream/a/consumer/z-app:1700000000");
                }
        }
        s = previous_find(p, "us-west-2", "audit");
        CHECK(s && !s->arn && s->n_consumers == 0 && s->last_change_usec == 0);
        s = previous_find(p, "us-west-2", "orders");
        CHECK(s);
        if (s) {
                CHECK_STREQ(s->arn, "arn:aws:kinesis:us-west-2:123456789012:stream/orders");
                CHECK_INTEQ(s->last_change_usec, NOW - 60 * USEC_PER_SEC);
                CHECK_INTEQ(s->n_consumers, 0);
        }
}

/* Replace dir/streams.json with text and read it back: the error, or 0. */
static int read_previous_of(struct state_dir *d, const char *dir, const char *text) {
        struct state_previous p = { .n_streams = 12345 };
        int r;

        write_text(dir, "streams.json", text);
        r = state_read_previous(d, &p);
        if (r < 0)
                CHECK_INTEQ(p.n_streams, 12345); /* untouched on failure */
        state_previous_done(&p);
        return r;
}

static void test_read_previous(void) {
        _cleanup_free_ char *dir = test_new_dir(base_dir, "previous");
        _cleanup_free_ char *json = NULL, *path = NULL;
        struct state_stream streams_v[ELEMENTSOF(base_streams)];
        struct state_export e;
        struct state_previous p = {};
        struct state_dir *d = NULL;
        json_object *tree;
        size_t l;
        int fd;

        memcpy(streams_v, base_streams, sizeof streams_v);
        e = base_export(streams_v, ELEMENTSOF(streams_v));
        CHECK_INTEQ(state_dir_open(dir, &d, NULL), 0);
        if (!d)
                return;
        CHECK_INTEQ(state_read_previous(d, &p), -ENOENT);

        /* Round trip: export, read back. */
        CHECK_INTEQ(state_export(d, &e, NULL), 0);
        CHECK_INTEQ(state_read_previous(d, &p), 0);
        check_previous(&p);
        state_previous_done(&p);
        CHECK(!p.text && !p.streams && p.n_streams == 0);

        /* The same document laid out otherwise (tabs, a space after ':')
         * reads the same: nesting counts, not indentation. */
        json = test_read_text(dir, "streams.json");
        CHECK(json);
        if (!json)
                goto out;
        tree = json_tokener_parse(json);
        CHECK(tree);
        write_text(dir, "streams.json",
                   json_object_to_json_string_ext(tree, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_PRETTY_TAB | JSON_C_TO_STRING_NOSLASHESCAPE |
                                                                JSON_C_TO_STRING_SPACED));
        json_object_put(tree);
        CHECK_INTEQ(state_read_previous(d, &p), 0);
        check_previous(&p);
        state_previous_done(&p);

        /* Truncated anywhere: an error, never a partial answer. */
        l = strlen(json);
        for (size_t cut = 0; cut + 1 < l; cut += 7) {
                _cleanup_free_ char *part = strndup(json, cut);
                CHECK_INTEQ(read_previous_of(d, dir, part), -EBADMSG);
        }
        CHECK_INTEQ(read_previous_of(d, dir, ""), -EBADMSG);
        CHECK_INTEQ(read_previous_of(d, dir, "hello\n"), -EBADMSG);
        CHECK_INTEQ(read_previous_of(d, dir, "{\n}\n}\n"), -EBADMSG);
        CHECK_INTEQ(read_previous_of(d, dir, "{\n  \"streams\":[\n    {\n      {\n"), -EBADMSG);
        CHECK_INTEQ(read_previous_of(d, dir, "{\n  \"streams\":[\n  ]\n}\n{\n"), -EBADMSG);
        CHECK_INTEQ(read_previous_of(d, dir, "{\n  \"streams\":[\n    {\n      \"name\":\"x\n"), -EBADMSG);
        CHECK_INTEQ(read_previous_of(d, dir, "{\n  \"streams\":[\n  ]\n}\n"), 0);

        /* A NUL byte inside. */
        path = test_path_join(dir, "streams.json");
        fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
        CHECK(fd >= 0 && write(fd, "{\n\0}\n", 5) == 5);
        close(fd);
        CHECK_INTEQ(state_read_previous(d, &p), -EBADMSG);

        /* Oversized: refused before it is read. */
        fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
        CHECK(fd >= 0 && ftruncate(fd, (off_t) STATE_PREVIOUS_MAX + 1) == 0);
        close(fd);
        CHECK_INTEQ(state_read_previous(d, &p), -EFBIG);

        /* A symlink is not followed. */
        CHECK(unlink(path) == 0 && symlink("/etc/hostname", path) == 0);
        CHECK_INTEQ(state_read_previous(d, &p), -ELOOP);
out:
        state_dir_free(d);
}

/* One name in one region in two accounts and the daemon's own: the exports
 * of the role's accounts name the account (streams.env, the .arn path, a
 * metrics label), streams.json says every stream's account (the daemon's own
 * learnt from the ARN), and dropping one removes its account's directory. */
static void test_accounts(void) {
        _cleanup_free_ char *dir = test_path_join(base_dir, "accounts");
        _cleanup_free_ char *env = NULL, *json = NULL, *prom = NULL, *arn_a = NULL, *arn_own = NULL;
        struct state_stream v[] = {
                { .name = "orders", .region = "us-west-2", .status = "ACTIVE",
                  .arn = "arn:aws:kinesis:us-west-2:123456789012:stream/orders" },
                { .name = "orders", .region = "us-west-2", .status = "ACTIVE", .account = "111122223333",
                  .account_in_exports = true,
                  .arn = "arn:aws:kinesis:us-west-2:111122223333:stream/orders" },
                { .name = "solo", .region = "us-west-2", .status = "ACTIVE", .account = "444455556666",
                  .arn = "arn:aws:kinesis:us-west-2:444455556666:stream/solo" },
        };
        struct state_export e = { .default_region = "us-west-2", .now_usec = 1700000000000000,
                                  .streams = v, .n_streams = ELEMENTSOF(v), .metrics = &base_metrics };
        struct state_changes ch = {};
        struct state_dir *d = NULL;
        struct json_object *root = NULL, *arr = NULL;

        CHECK_INTEQ(state_dir_open(dir, &d, NULL), 0);
        if (!d)
                return;
        CHECK_INTEQ(state_export(d, &e, &ch), 0);
        state_changes_done(&ch);
        env = test_read_text(dir, "streams.env");
        CHECK(env && strstr(env, "\nKINESIS_STREAM_111122223333_ORDERS_ARN="
                                 "arn:aws:kinesis:us-west-2:111122223333:stream/orders\n"));
        CHECK(env && strstr(env, "\nKINESIS_STREAM_ORDERS_ARN="
                                 "arn:aws:kinesis:us-west-2:123456789012:stream/orders\n"));
        CHECK(env && strstr(env, "\nKINESIS_STREAM_SOLO_ARN="));
        arn_a = test_read_text(dir, "streams/111122223333-us-west-2/orders.arn");
        arn_own = test_read_text(dir, "streams/us-west-2/orders.arn");
        CHECK_STREQ(arn_a, "arn:aws:kinesis:us-west-2:111122223333:stream/orders\n");
        CHECK_STREQ(arn_own, "arn:aws:kinesis:us-west-2:123456789012:stream/orders\n");
        CHECK(exists(dir, "streams/us-west-2/solo.arn"));
        prom = test_read_text(dir, "metrics.prom");
        CHECK(prom && strstr(prom, "\nkinesisd_stream_active{account=\"111122223333\",region=\"us-west-2\","
                                   "stream=\"orders\"} 1\n"));
        CHECK(prom && strstr(prom, "\nkinesisd_stream_active{region=\"us-west-2\",stream=\"orders\"} 1\n"));

        json = test_read_text(dir, "streams.json");
        root = json ? json_tokener_parse(json) : NULL;
        CHECK(root && json_object_object_get_ex(root, "streams", &arr));
        CHECK_INTEQ(arr ? json_object_array_length(arr) : 0, 3);
        if (arr && json_object_array_length(arr) == 3) {
                /* Sorted by region, name, then account (the daemon's own first). */
                CHECK_STREQ(json_str(json_object_array_get_idx(arr, 0), "account"), "123456789012");
                CHECK_STREQ(json_str(json_object_array_get_idx(arr, 1), "account"), "111122223333");
                CHECK_STREQ(json_str(json_object_array_get_idx(arr, 2), "account"), "444455556666");
        }
        json_object_put(root);

        /* A new process reads each stream's account back, to seed the right one. */
        struct state_previous prev = {};
        CHECK_INTEQ(state_read_previous(d, &prev), 0);
        CHECK_INTEQ(prev.n_streams, 3);
        if (prev.n_streams == 3) {
                CHECK_STREQ(prev.streams[0].account, "123456789012");
                CHECK_STREQ(prev.streams[1].account, "111122223333");
                CHECK_STREQ(prev.streams[1].name, "orders");
        }
        state_previous_done(&prev);

        /* The role's "orders" is no longer declared: its file and directory go. */
        e.n_streams = 1;
        CHECK_INTEQ(state_export(d, &e, &ch), 0);
        CHECK_INTEQ(ch.files_removed, 2);
        state_changes_done(&ch);
        CHECK(!exists(dir, "streams/111122223333-us-west-2"));
        CHECK(exists(dir, "streams/us-west-2/orders.arn"));
        state_dir_free(d);
}

/* A stream not ACTIVE yet is in streams.json with its ARN, but neither in
 * streams.env nor in a .arn file; state_arn_file_holds() tells the two
 * apart for the next process. */
static void test_withheld(void) {
        _cleanup_free_ char *dir = test_new_dir(base_dir, "withheld");
        _cleanup_free_ char *region = test_path_join(dir, "streams/us-west-2");
        const char *live_arn = "arn:aws:kinesis:us-west-2:123456789012:stream/live";
        const char *new_arn = "arn:aws:kinesis:us-west-2:123456789012:stream/new";
        struct state_stream v[] = {
                { .name = "live", .region = "us-west-2", .arn = live_arn, .status = "ACTIVE" },
                { .name = "new", .region = "us-west-2", .arn = new_arn, .status = "CREATING",
                  .arn_withheld = true },
        };
        struct state_export e = { .default_region = "us-west-2", .now_usec = NOW, .streams = v,
                                  .n_streams = ELEMENTSOF(v) };
        struct state_dir *d = NULL;
        char *text;

        CHECK_INTEQ(state_dir_open(dir, &d, NULL), 0);
        if (!d)
                return;
        CHECK_INTEQ(state_export(d, &e, NULL), 0);
        text = test_read_text(dir, "streams.env");
        CHECK(text && strstr(text, "KINESIS_STREAM_LIVE_ARN=") && !strstr(text, "KINESIS_STREAM_NEW_ARN"));
        free(text);
        text = test_read_text(dir, "streams.json");
        CHECK(text && strstr(text, new_arn) && strstr(text, "\"CREATING\""));
        free(text);
        CHECK(exists(region, "live.arn"));
        CHECK(!exists(region, "new.arn"));
        CHECK(state_arn_file_holds(d, NULL, "us-west-2", "live", live_arn));
        CHECK(!state_arn_file_holds(d, NULL, "us-west-2", "live", new_arn));
        CHECK(!state_arn_file_holds(d, NULL, "us-west-2", "new", new_arn));
        CHECK(!state_arn_file_holds(d, NULL, "../x", "live", live_arn));

        /* ACTIVE now: exported like any other. */
        v[1].arn_withheld = false;
        v[1].status = "ACTIVE";
        CHECK_INTEQ(state_export(d, &e, NULL), 0);
        text = test_read_text(dir, "streams.env");
        CHECK(text && strstr(text, "KINESIS_STREAM_NEW_ARN="));
        free(text);
        CHECK(state_arn_file_holds(d, NULL, "us-west-2", "new", new_arn));

        /* Where the exports name the account: streams/ACCOUNT-REGION/. */
        v[1].account = "111122223333";
        v[1].account_in_exports = true;
        CHECK_INTEQ(state_export(d, &e, NULL), 0);
        CHECK(state_arn_file_holds(d, "111122223333", "us-west-2", "new", new_arn));
        CHECK(!state_arn_file_holds(d, NULL, "us-west-2", "new", new_arn));
        state_dir_free(d);
}

int main(void) {
        /* Every mode check below doubles as a check that the umask does not matter. */
        base_dir = test_temp_dir("test-state");

        test_write_atomic();
        test_write_rendered();
        test_export();
        test_symlinks();
        test_unwritable();
        test_replaced_dir();
        test_refusal_table();
        test_trust();
        test_escaping_and_odd_values();
        test_refused();
        test_stale_temps();
        test_read_previous();
        test_withheld();
        test_accounts();

        test_temp_dir_done(base_dir);
        return test_summary("test-state");
}
