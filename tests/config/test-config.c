/* Unit tests of the configuration loader through its C interface: the
 * helpers (durations, streams.env names, metric names) and the contents of a
 * loaded configuration, which --check-config alone does not show (defaults
 * and tag merging, sorting, regions, positions). Also the cases the golden
 * corpus cannot hold as files: oversized files, FIFOs, missing files.
 *
 * Every file is written below a fresh mkdtemp() directory and removed again. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config-glob.h"
#include "config.h"
#include "env-name.h"
#include "testlib.h"
#include "util.h"

static char tmpdir[] = "/tmp/test-config-XXXXXX";

static char *path_of(const char *name) {
        char *p;
        if (asprintf(&p, "%s/%s", tmpdir, name) < 0)
                abort();
        return p;
}

static void write_file(const char *name, const char *content) {
        _cleanup_free_ char *p = path_of(name);
        FILE *f = fopen(p, "we");
        if (!f) {
                perror(p);
                abort();
        }
        fputs(content, f);
        fclose(f);
}

static void make_dir(const char *name) {
        _cleanup_free_ char *p = path_of(name);
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
                abort();
}

static void remove_tree(void) {
        char *cmd;
        /* tmpdir is ours and has no shell metacharacters but the [ below, quoted. */
        if (asprintf(&cmd, "rm -rf '%s'", tmpdir) < 0)
                abort();
        if (system(cmd) != 0)
                fprintf(stderr, "could not remove %s\n", tmpdir);
        free(cmd);
}

static void dump_errors(const char *what, const struct config_errors *e) {
        for (size_t i = 0; i < e->n; i++)
                fprintf(stderr, "  %s: %s\n", what, e->messages[i]);
}

/* Load name below tmpdir; expect success. */
static struct config *load_ok(const char *name) {
        _cleanup_free_ char *p = path_of(name);
        struct config_errors errors = {}, warnings = {};
        struct config *c = NULL;
        int r;

        r = config_load(p, &c, &errors, &warnings);
        CHECK_INTEQ(r, 0);
        CHECK_INTEQ(errors.n, 0);
        dump_errors("unexpected error", &errors);
        config_errors_done(&errors);
        config_errors_done(&warnings);
        return c;
}

static bool has_message(const struct config_errors *e, const char *needle) {
        for (size_t i = 0; i < e->n; i++)
                if (strstr(e->messages[i], needle))
                        return true;
        return false;
}

static void test_durations(void) {
        uint64_t u = 12345;

        CHECK_INTEQ(config_parse_duration("500ms", &u), 0);
        CHECK(u == 500 * USEC_PER_MSEC);
        CHECK_INTEQ(config_parse_duration("30s", &u), 0);
        CHECK(u == 30 * USEC_PER_SEC);
        CHECK_INTEQ(config_parse_duration("5m", &u), 0);
        CHECK(u == 300 * USEC_PER_SEC);
        CHECK_INTEQ(config_parse_duration("2h", &u), 0);
        CHECK(u == 7200 * USEC_PER_SEC);
        CHECK_INTEQ(config_parse_duration("0s", &u), 0);
        CHECK(u == 0);
        CHECK_INTEQ(config_parse_duration("007m", &u), 0);
        CHECK(u == 420 * USEC_PER_SEC);

        u = 42;
        CHECK_INTEQ(config_parse_duration("", &u), -EINVAL);
        CHECK_INTEQ(config_parse_duration("30", &u), -EINVAL);
        CHECK_INTEQ(config_parse_duration("s", &u), -EINVAL);
        CHECK_INTEQ(config_parse_duration("5 m", &u), -EINVAL);
        CHECK_INTEQ(config_parse_duration(" 5m", &u), -EINVAL);
        CHECK_INTEQ(config_parse_duration("5m ", &u), -EINVAL);
        CHECK_INTEQ(config_parse_duration("5min", &u), -EINVAL);
        CHECK_INTEQ(config_parse_duration("5M", &u), -EINVAL);
        CHECK_INTEQ(config_parse_duration("-1s", &u), -EINVAL);
        CHECK_INTEQ(config_parse_duration("+1s", &u), -EINVAL);
        CHECK_INTEQ(config_parse_duration("1.5s", &u), -EINVAL);
        CHECK_INTEQ(config_parse_duration("1h30m", &u), -EINVAL);
        CHECK_INTEQ(config_parse_duration("0x10s", &u), -EINVAL);
        CHECK_INTEQ(config_parse_duration(NULL, &u), -EINVAL);
        /* 2^64 / 10^3 is about 1.8e16: one more digit overflows the multiplication. */
        CHECK_INTEQ(config_parse_duration("18446744073709551ms", &u), 0);
        CHECK_INTEQ(config_parse_duration("18446744073709552ms", &u), -ERANGE);
        CHECK_INTEQ(config_parse_duration("99999999999999999999999s", &u), -ERANGE);
        CHECK_INTEQ(config_parse_duration("5124095576h", &u), 0);
        CHECK_INTEQ(config_parse_duration("5124095577h", &u), -ERANGE);
}

static void check_env(const char *def, const char *region, const char *name, const char *consumer,
                      const char *expected) {
        _cleanup_free_ char *v = env_name_arn(def, region, NULL, name, consumer);
        CHECK_STREQ(v, expected);
}

static void test_env_names(void) {
        check_env("us-west-2", "us-west-2", "dsoaws-kinesis-data-stream", NULL,
                  "KINESIS_STREAM_DSOAWS_KINESIS_DATA_STREAM_ARN");
        check_env("us-west-2", "us-east-1", "clicks", NULL, "KINESIS_STREAM_US_EAST_1_CLICKS_ARN");
        check_env("us-west-2", "us-west-2", "orders.v2", "fraud-check",
                  "KINESIS_STREAM_ORDERS_V2_CONSUMER_FRAUD_CHECK_ARN");
        check_env("us-west-2", "eu-west-1", "orders", "billing",
                  "KINESIS_STREAM_EU_WEST_1_ORDERS_CONSUMER_BILLING_ARN");
        check_env("us-west-2", NULL, "Mixed_Case.9", NULL, "KINESIS_STREAM_MIXED_CASE_9_ARN");
        /* Without aws.region every explicit region is "elsewhere". */
        check_env(NULL, "us-gov-west-1", "x", NULL, "KINESIS_STREAM_US_GOV_WEST_1_X_ARN");
        check_env(NULL, NULL, "x", NULL, "KINESIS_STREAM_X_ARN");
        CHECK(env_name_arn("us-west-2", "us-west-2", NULL, NULL, NULL) == NULL);
}

static void test_env_names_accounts(void) {
        _cleanup_free_ char *a = env_name_arn("us-west-2", "us-west-2", "111122223333", "orders", NULL);
        _cleanup_free_ char *b = env_name_arn("us-west-2", "eu-west-1", "111122223333", "orders", "billing");
        _cleanup_free_ char *c = env_name_arn("us-west-2", "us-west-2", "", "orders", NULL);

        CHECK_STREQ(a, "KINESIS_STREAM_111122223333_ORDERS_ARN");
        CHECK_STREQ(b, "KINESIS_STREAM_111122223333_EU_WEST_1_ORDERS_CONSUMER_BILLING_ARN");
        CHECK_STREQ(c, "KINESIS_STREAM_ORDERS_ARN");
}

/* role_arn and external_id, from a stream or from either level of
 * defaults; the account of each stream, and which streams name it in their
 * exports (one name and region in two accounts). */
static void test_accounts(void) {
        struct config *c;

        make_dir("acct");
        write_file("acct/kinesisd.yaml",
                   "aws: { region: us-east-1 }\n"
                   "include: [ team.yaml ]\n"
                   "defaults: { shards: 1 }\n"
                   "streams:\n"
                   "  - name: orders\n"
                   "  - name: orders\n"
                   "    role_arn: arn:aws:iam::111122223333:role/k\n"
                   "  - name: solo\n"
                   "    role_arn: arn:aws:iam::111122223333:role/k\n");
        write_file("acct/team.yaml",
                   "defaults: { role_arn: \"arn:aws:iam::444455556666:role/p/q\", external_id: xy }\n"
                   "streams:\n"
                   "  - name: orders\n"
                   "  - name: orders\n"
                   "    region: eu-west-1\n");
        c = load_ok("acct/kinesisd.yaml");
        if (!c)
                return;
        /* Sorted by region, name, then account (the daemon's own first). */
        CHECK_INTEQ(c->n_streams, 5);
        if (c->n_streams == 5) {
                const struct stream_decl *s = c->streams;
                CHECK_STREQ(s[0].region, "eu-west-1");
                CHECK_STREQ(s[0].x->account, "444455556666");
                CHECK(!s[0].account_in_exports); /* alone in eu-west-1 */
                CHECK_STREQ(s[0].x->external_id, "xy");
                CHECK_STREQ(s[1].name, "orders");
                CHECK_STREQ(s[1].x->account, "");
                CHECK(s[1].x->role_arn == NULL && s[1].x->external_id == NULL);
                CHECK(!s[1].account_in_exports); /* the daemon's own keeps the plain names */
                CHECK_STREQ(s[2].x->account, "111122223333");
                CHECK(s[2].account_in_exports);
                CHECK(s[2].x->external_id == NULL);
                CHECK_STREQ(s[3].x->account, "444455556666");
                CHECK_STREQ(s[3].x->role_arn, "arn:aws:iam::444455556666:role/p/q");
                CHECK(s[3].account_in_exports);
                CHECK_STREQ(s[4].name, "solo");
                CHECK(!s[4].account_in_exports);
        }
        config_free(c);
}

static void test_metric_names(void) {
        CHECK_STREQ(shard_metric_name(0), "IncomingBytes");
        CHECK_STREQ(shard_metric_name(6), "IteratorAgeMilliseconds");
        CHECK(shard_metric_name(SHARD_METRIC_COUNT) == NULL);
        CHECK_INTEQ(shard_metric_from_name("ALL"), METRIC_ALL);
        CHECK_INTEQ(shard_metric_from_name("WriteProvisionedThroughputExceeded"),
                    METRIC_WRITE_PROVISIONED_THROUGHPUT_EXCEEDED);
        CHECK_INTEQ(shard_metric_from_name("incomingbytes"), 0);
        CHECK_INTEQ(shard_metric_from_name(""), 0);
        CHECK_INTEQ(shard_metric_from_name(NULL), 0);
        for (unsigned i = 0; i < SHARD_METRIC_COUNT; i++)
                CHECK_INTEQ(shard_metric_from_name(shard_metric_name(i)), 1u << i);
}

static const struct stream_decl *find(const struct config *c, const char *region, const char *name) {
        for (size_t i = 0; i < c->n_streams; i++)
                if (streq_ptr(c->streams[i].region, region) && streq(c->streams[i].name, name))
                        return &c->streams[i];
        fprintf(stderr, "stream %s/%s not loaded\n", strna(region), name);
        return NULL;
}

static const char *tag(const struct stream_decl *s, const char *key) {
        for (size_t i = 0; i < s->x->n_tags; i++)
                if (streq(s->x->tags[i].key, key))
                        return s->x->tags[i].value;
        return NULL;
}

static void test_rich_config(void) {
        const struct stream_decl *s;
        struct config *c;

        make_dir("rich");
        make_dir("rich/streams.d");
        write_file("rich/kinesisd.yaml",
                   "aws:\n"
                   "  region: us-west-2\n"
                   "  profile: ops\n"
                   "  endpoint: https://kinesis.us-west-2.amazonaws.com\n"
                   "  ca_bundle: /etc/ssl/certs/ca-certificates.crt\n"
                   "reconcile:\n"
                   "  interval: 10m\n"
                   "  poll: 500ms\n"
                   "  timeout: 1h\n"
                   "state:\n"
                   "  directory: /var/lib/kinesisd\n"
                   "include:\n"
                   "  - streams.d/*.yaml\n"
                   "  - streams.d/1*.yaml\n" /* matches 10-team.yaml again: read once */
                   "defaults:\n"
                   "  retention_hours: 48\n"
                   "  shards: 2\n"
                   "  tags: { managed-by: kinesisd, team: platform }\n"
                   "streams:\n"
                   "  - name: zeta\n"
                   "  - name: alpha\n"
                   "    retention_hours: 72\n"
                   "    tags: { team: data, extra: \"\" }\n"
                   "    consumers: [zz, aa, mm]\n"
                   "  - name: alpha\n"
                   "    region: eu-west-1\n"
                   "    mode: on_demand\n"
                   "    shard_level_metrics: [OutgoingBytes, IncomingBytes]\n"
                   "    encryption: { kms_key: alias/aws/kinesis }\n"
                   "    max_record_size_kib: 2048\n");
        write_file("rich/streams.d/10-team.yaml",
                   "defaults:\n"
                   "  region: us-east-1\n"
                   "  retention_hours: 96\n"
                   "  tags: { team: search, cost: \"42\" }\n"
                   "streams:\n"
                   "  - name: search-events\n"
                   "    tags: { cost: \"7\" }\n"
                   "  - name: search-raw\n"
                   "    region: us-west-2\n"
                   "    manage: create-only\n"
                   "    shard_level_metrics: ALL\n");
        write_file("rich/streams.d/20-empty.yaml", "# nothing yet\n");

        c = load_ok("rich/kinesisd.yaml");
        if (!c)
                return;

        CHECK_INTEQ(c->n_files, 3);
        CHECK_STREQ(c->region, "us-west-2");
        CHECK_STREQ(c->profile, "ops");
        CHECK_STREQ(c->endpoint, "https://kinesis.us-west-2.amazonaws.com");
        CHECK_STREQ(c->ca_bundle, "/etc/ssl/certs/ca-certificates.crt");
        CHECK_STREQ(c->state_dir, "/var/lib/kinesisd");
        CHECK(c->interval_usec == 600 * USEC_PER_SEC);
        CHECK(c->poll_usec == 500 * USEC_PER_MSEC);
        CHECK(c->timeout_usec == 3600 * USEC_PER_SEC);

        /* Sorted by (region, name). */
        CHECK_INTEQ(c->n_streams, 5);
        if (c->n_streams == 5) {
                CHECK_STREQ(c->streams[0].region, "eu-west-1");
                CHECK_STREQ(c->streams[0].name, "alpha");
                CHECK_STREQ(c->streams[1].region, "us-east-1");
                CHECK_STREQ(c->streams[1].name, "search-events");
                CHECK_STREQ(c->streams[2].region, "us-west-2");
                CHECK_STREQ(c->streams[2].name, "alpha");
                CHECK_STREQ(c->streams[3].name, "search-raw");
                CHECK_STREQ(c->streams[4].name, "zeta");
        }

        /* Everything from the main file's defaults. */
        s = find(c, "us-west-2", "zeta");
        if (s) {
                CHECK_INTEQ(s->retention_hours, 48);
                CHECK_INTEQ(s->shards, 2);
                CHECK_INTEQ(s->mode, STREAM_MODE_PROVISIONED);
                CHECK_INTEQ(s->manage, MANAGE_FULL);
                CHECK(s->x->kms_key == NULL);
                CHECK_INTEQ(s->metrics, 0);
                CHECK_INTEQ(s->max_record_size_kib, 0);
                CHECK(s->tags_declared);
                CHECK_INTEQ(s->x->n_tags, 2);
                CHECK_STREQ(tag(s, "managed-by"), "kinesisd");
                CHECK_STREQ(tag(s, "team"), "platform");
                CHECK_INTEQ(s->x->n_consumers, 0);
                CHECK(s->file < c->n_files && strstr(c->files[s->file], "rich/kinesisd.yaml"));
                CHECK_INTEQ(s->line, 20);
                CHECK_INTEQ(s->column, 11);
        }

        /* Own keys win; tags merge key by key and come out sorted. */
        s = find(c, "us-west-2", "alpha");
        if (s) {
                CHECK_INTEQ(s->retention_hours, 72);
                CHECK_INTEQ(s->x->n_tags, 3);
                if (s->x->n_tags == 3) {
                        CHECK_STREQ(s->x->tags[0].key, "extra");
                        CHECK_STREQ(s->x->tags[0].value, "");
                        CHECK_STREQ(s->x->tags[1].key, "managed-by");
                        CHECK_STREQ(s->x->tags[2].key, "team");
                        CHECK_STREQ(s->x->tags[2].value, "data");
                }
                CHECK_INTEQ(s->x->n_consumers, 3);
                if (s->x->n_consumers == 3) {
                        CHECK_STREQ(s->x->consumers[0], "aa");
                        CHECK_STREQ(s->x->consumers[1], "mm");
                        CHECK_STREQ(s->x->consumers[2], "zz");
                        CHECK(s->x->consumers[3] == NULL);
                }
                CHECK_INTEQ(s->line, 21);
        }

        /* shards from defaults are not applied to an on_demand stream. */
        s = find(c, "eu-west-1", "alpha");
        if (s) {
                CHECK_INTEQ(s->mode, STREAM_MODE_ON_DEMAND);
                CHECK_INTEQ(s->shards, 0);
                CHECK_INTEQ(s->metrics, METRIC_INCOMING_BYTES | METRIC_OUTGOING_BYTES);
                CHECK_STREQ(s->x->kms_key, "alias/aws/kinesis");
                CHECK_INTEQ(s->max_record_size_kib, 2048);
                CHECK_INTEQ(s->retention_hours, 48);
        }

        /* File defaults over main defaults; tags: main < file < stream. */
        s = find(c, "us-east-1", "search-events");
        if (s) {
                CHECK_INTEQ(s->retention_hours, 96);
                CHECK_INTEQ(s->shards, 2);
                CHECK_INTEQ(s->x->n_tags, 3);
                CHECK_STREQ(tag(s, "managed-by"), "kinesisd");
                CHECK_STREQ(tag(s, "team"), "search");
                CHECK_STREQ(tag(s, "cost"), "7");
                CHECK(s->file < c->n_files && strstr(c->files[s->file], "rich/streams.d/10-team.yaml"));
                CHECK_INTEQ(s->line, 6);
        }

        s = find(c, "us-west-2", "search-raw");
        if (s) {
                CHECK_INTEQ(s->manage, MANAGE_CREATE_ONLY);
                CHECK_INTEQ(s->metrics, METRIC_ALL);
                CHECK_STREQ(tag(s, "cost"), "42");
        }

        config_free(c);
}

static void test_no_region_and_no_tags(void) {
        struct config *c;

        write_file("plain.yaml",
                   "streams:\n"
                   "  - name: b\n"
                   "    shards: 1\n"
                   "  - name: a\n"
                   "    region: us-east-1\n"
                   "    shards: 1\n"
                   "  - name: a\n"
                   "    shards: 1\n");
        c = load_ok("plain.yaml");
        if (!c)
                return;
        CHECK(c->region == NULL);
        CHECK(c->state_dir == NULL);
        CHECK(c->interval_usec == 5 * 60 * USEC_PER_SEC);
        CHECK(c->poll_usec == 2 * USEC_PER_SEC);
        CHECK(c->timeout_usec == 30 * 60 * USEC_PER_SEC);
        CHECK_INTEQ(c->n_streams, 3);
        if (c->n_streams == 3) {
                /* A NULL region sorts first. */
                CHECK(c->streams[0].region == NULL);
                CHECK_STREQ(c->streams[0].name, "a");
                CHECK(c->streams[1].region == NULL);
                CHECK_STREQ(c->streams[1].name, "b");
                CHECK_STREQ(c->streams[2].region, "us-east-1");
                CHECK(!c->streams[0].tags_declared);
                CHECK_INTEQ(c->streams[0].x->n_tags, 0);
                CHECK_INTEQ(c->streams[0].retention_hours, 24);
        }
        config_free(c);

        /* tags: {} is a declaration too: the stream's tag set is empty. */
        write_file("empty-tags.yaml", "streams:\n  - { name: a, shards: 1, tags: {} }\n");
        c = load_ok("empty-tags.yaml");
        if (c && c->n_streams == 1) {
                CHECK(c->streams[0].tags_declared);
                CHECK_INTEQ(c->streams[0].x->n_tags, 0);
        }
        config_free(c);
}

/* The rarely set settings live apart from the declaration: a stream that
 * sets none of them points to the one empty extra, and consecutive streams
 * with equal values (a file's defaults) share one. */
static void test_shared_extras(void) {
        struct config *c;

        write_file("extras.yaml",
                   "defaults:\n"
                   "  tags: { team: a }\n"
                   "streams:\n"
                   "  - { name: s1, shards: 1 }\n"
                   "  - { name: s2, shards: 2 }\n"
                   "  - { name: s3, shards: 1, tags: { owner: b } }\n"
                   "  - { name: s4, shards: 1 }\n");
        c = load_ok("extras.yaml");
        CHECK(c && c->n_streams == 4);
        if (c && c->n_streams == 4) {
                CHECK(c->streams[0].x == c->streams[1].x);
                CHECK_INTEQ(c->streams[0].x->refs, 2);
                CHECK_INTEQ(c->streams[1].shards, 2);
                CHECK(c->streams[2].x != c->streams[0].x);
                CHECK_INTEQ(c->streams[2].x->n_tags, 2);
                CHECK_INTEQ(c->streams[0].x->n_tags, 1);
                CHECK_STREQ(c->streams[0].x->tags[0].value, "a");
                CHECK(stream_decl_extra_equal(c->streams[3].x, c->streams[0].x));
                CHECK(!stream_decl_extra_equal(c->streams[2].x, c->streams[0].x));
        }
        config_free(c);

        write_file("no-extras.yaml", "streams:\n  - { name: a, shards: 1 }\n  - { name: b, shards: 1 }\n");
        c = load_ok("no-extras.yaml");
        CHECK(c && c->n_streams == 2);
        if (c && c->n_streams == 2) {
                CHECK(c->streams[0].x == &stream_decl_extra_none);
                CHECK(c->streams[1].x == &stream_decl_extra_none);
        }
        config_free(c);
}

static void test_file_errors(void) {
        struct config_errors errors = {}, warnings = {};
        struct config *c = NULL;
        _cleanup_free_ char *missing = path_of("does-not-exist.yaml");
        _cleanup_free_ char *big = path_of("big.yaml");
        _cleanup_free_ char *dir = path_of("rich");
        _cleanup_free_ char *fifo = path_of("fifo-dir/fifo.yaml");
        _cleanup_free_ char *with_fifo = path_of("with-fifo.yaml");
        _cleanup_free_ char *expected = NULL;
        FILE *f;
        int r;

        r = config_load(missing, &c, &errors, &warnings);
        CHECK_INTEQ(r, -ENOENT);
        CHECK(c == NULL);
        CHECK_INTEQ(errors.n, 1);
        if (asprintf(&expected, "%s:1:1: cannot read: No such file or directory", missing) < 0)
                abort();
        if (errors.n == 1)
                CHECK_STREQ(errors.messages[0], expected);
        config_errors_done(&errors);
        config_errors_done(&warnings);
        CHECK(errors.messages == NULL && errors.n == 0);

        r = config_load(dir, &c, &errors, NULL);
        CHECK_INTEQ(r, -EISDIR);
        config_errors_done(&errors);

        /* Exactly 1 MiB is fine (all comment); one byte more is refused. */
        f = fopen(big, "we");
        if (!f)
                abort();
        fputc('#', f);
        for (size_t i = 1; i < 1024 * 1024 - 1; i++)
                fputc('x', f);
        fputc('\n', f);
        fclose(f);
        r = config_load(big, &c, &errors, &warnings);
        CHECK_INTEQ(r, 0);
        CHECK_INTEQ(warnings.n, 1);
        c = config_free(c);
        config_errors_done(&errors);
        config_errors_done(&warnings);
        f = fopen(big, "ae");
        if (!f)
                abort();
        fputc('\n', f);
        fclose(f);
        r = config_load(big, &c, &errors, &warnings);
        CHECK_INTEQ(r, -EINVAL);
        CHECK_INTEQ(errors.n, 1);
        CHECK(has_message(&errors, "big.yaml:1:1: file is larger than 1 MiB"));
        config_errors_done(&errors);
        config_errors_done(&warnings);

        /* A FIFO matched by a glob is refused without blocking on it. */
        make_dir("fifo-dir");
        if (mkfifo(fifo, 0600) < 0)
                abort();
        write_file("with-fifo.yaml", "include: [fifo-dir/*.yaml]\n");
        r = config_load(with_fifo, &c, &errors, &warnings);
        CHECK_INTEQ(r, -EINVAL);
        CHECK(has_message(&errors, "fifo.yaml:1:1: not a regular file"));
        config_errors_done(&errors);
        config_errors_done(&warnings);
}

static void test_many_errors(void) {
        struct config_errors errors = {};
        struct config *c = NULL;
        _cleanup_free_ char *p = path_of("many.yaml");
        FILE *f = fopen(p, "we");
        int r;

        if (!f)
                abort();
        fputs("streams:\n", f);
        for (unsigned i = 0; i < 200; i++)
                fprintf(f, "  - { name: s%u, shards: 0 }\n", i);
        fclose(f);

        /* warnings may be NULL. */
        r = config_load(p, &c, &errors, NULL);
        CHECK_INTEQ(r, -EINVAL);
        CHECK(c == NULL);
        CHECK_INTEQ(errors.n, CONFIG_MAX_ERRORS);
        CHECK_INTEQ(errors.n_dropped, 200 - CONFIG_MAX_ERRORS);
        if (errors.n > 0)
                CHECK(strstr(errors.messages[0], "many.yaml:2:25: shards: 0 is out of range (1-10000)"));
        config_errors_done(&errors);

        /* errors may be NULL too: only the result counts. */
        r = config_load(p, &c, NULL, NULL);
        CHECK_INTEQ(r, -EINVAL);
}

/* Glob characters in the directory of the main file match literally. */
static void test_glob_escaping(void) {
        struct config *c;

        make_dir("odd[dir]");
        make_dir("odd[dir]/inc");
        write_file("odd[dir]/main.yaml", "include: [inc/*.yaml, \"*.yaml\"]\n");
        write_file("odd[dir]/inc/a.yaml", "streams: [{name: a, shards: 1}]\n");
        /* The second glob matches main.yaml itself: it is not read twice. */
        c = load_ok("odd[dir]/main.yaml");
        if (c) {
                CHECK_INTEQ(c->n_files, 2);
                CHECK_INTEQ(c->n_streams, 1);
        }
        config_free(c);
}

/* Expand a pattern below tmpdir; the matches, relative to tmpdir, joined by
 * spaces into buf; or the error. */
static int glob_below(const char *pattern, size_t max_matches, size_t budget, char *buf, size_t size,
                      size_t *ret_left) {
        _cleanup_free_ char *p = path_of(pattern);
        _cleanup_strv_free_ char **paths = NULL;
        size_t n = 0, o = 0, skip = strlen(tmpdir) + 1;
        int r;

        buf[0] = '\0';
        r = config_glob(p, max_matches, &budget, &paths, &n);
        if (ret_left)
                *ret_left = budget;
        if (r < 0)
                return r;
        CHECK(paths && !paths[n]);
        for (size_t i = 0; i < n; i++)
                o += (size_t) snprintf(buf + o, size - o, "%s%s", i ? " " : "", paths[i] + skip);
        return (int) n;
}

/* The bounded include: expansion: what it matches, and where it stops. */
static void test_glob_bounded(void) {
        char buf[512];
        size_t left;

        make_dir("g");
        make_dir("g/b");
        make_dir("g/a");
        make_dir("g/a.d");
        make_dir("g/.hidden");
        write_file("g/a/2.yaml", "");
        write_file("g/a/1.yaml", "");
        write_file("g/a.d/x.yaml", "");
        write_file("g/b/3.yml", "");
        write_file("g/.hidden/h.yaml", "");
        write_file("g/a/.dot.yaml", "");
        write_file("g/star*.yaml", "");

        /* Byte order of whole paths; no hidden names without an explicit '.'. */
        CHECK_INTEQ(glob_below("g/*/*.yaml", 100, 1000, buf, sizeof(buf), NULL), 3);
        CHECK_STREQ(buf, "g/a.d/x.yaml g/a/1.yaml g/a/2.yaml");
        CHECK_INTEQ(glob_below("g/.*/*.yaml", 100, 1000, buf, sizeof(buf), NULL), 1);
        CHECK_STREQ(buf, "g/.hidden/h.yaml");
        CHECK_INTEQ(glob_below("g/a/.*", 100, 1000, buf, sizeof(buf), NULL), 1);
        CHECK_STREQ(buf, "g/a/.dot.yaml");
        CHECK_INTEQ(glob_below("g/?/[0-9].y*ml", 100, 1000, buf, sizeof(buf), NULL), 3);
        CHECK_STREQ(buf, "g/a/1.yaml g/a/2.yaml g/b/3.yml");
        /* Escapes, literal paths, a trailing '/' and nothing at all. */
        CHECK_INTEQ(glob_below("g/star\\*.yaml", 100, 1000, buf, sizeof(buf), NULL), 1);
        CHECK_STREQ(buf, "g/star*.yaml");
        CHECK_INTEQ(glob_below("g/a/1.yaml", 100, 1000, buf, sizeof(buf), NULL), 1);
        CHECK_STREQ(buf, "g/a/1.yaml");
        CHECK_INTEQ(glob_below("g/a/9.yaml", 100, 1000, buf, sizeof(buf), NULL), 0);
        CHECK_INTEQ(glob_below("g/*/", 100, 1000, buf, sizeof(buf), NULL), 3);
        CHECK_STREQ(buf, "g/a.d/ g/a/ g/b/");
        CHECK_INTEQ(glob_below("g/nothing/*", 100, 1000, buf, sizeof(buf), NULL), 0);

        /* More matches than allowed, then a budget used up: both stop early. */
        CHECK_INTEQ(glob_below("g/*/*", 3, 1000, buf, sizeof(buf), NULL), -E2BIG);
        CHECK_INTEQ(glob_below("g/*/*", 100, 10, buf, sizeof(buf), &left), -ENOBUFS);
        CHECK_INTEQ(left, 0);
        /* Two symlink loops make a tree that doubles at each level: the budget
         * ends it. */
        {
                _cleanup_free_ char *l1 = path_of("g/loop"), *l2 = path_of("g/loop2");
                CHECK(symlink(".", l1) == 0);
                CHECK(symlink(".", l2) == 0);
        }
        CHECK_INTEQ(glob_below("g/loop/*/*/*/*/*/*/*/*/*/*/*/*/none", 100, 5000, buf, sizeof(buf), &left),
                    -ENOBUFS);
}

int main(void) {
        if (!mkdtemp(tmpdir)) {
                perror("mkdtemp");
                return EXIT_FAILURE;
        }

        test_durations();
        test_env_names();
        test_env_names_accounts();
        test_metric_names();
        test_accounts();
        test_rich_config();
        test_no_region_and_no_tags();
        test_shared_extras();
        test_file_errors();
        test_many_errors();
        test_glob_escaping();
        test_glob_bounded();

        remove_tree();
        return test_summary("test-config");
}
