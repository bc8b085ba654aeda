/* kinesisd.yaml and the files its include: globs match -> a fresh struct config
 * (DESIGN §3): the key tables and the walkers over them, includes, and the
 * rules across streams and files.
 *
 * Each file goes through three stages. config-yaml.c checks its bytes and
 * builds a tree that keeps the line and column of every node and refuses what
 * the file format does not allow. The tables of known keys below are then
 * walked over the tree, handing each value to its parser in config-value.c.
 * Rules that span streams or files (unique names, streams.env variables) run
 * last.
 *
 * Every problem becomes one "FILE:LINE:COLUMN: message" string (config-diag.c)
 * and loading carries on, so that one run reports all of them (up to
 * CONFIG_MAX_ERRORS).
 *
 * Includes: only the main file may name include: globs. An included file with
 * include: of its own is an error: one level keeps the set of files obvious
 * from the main file and makes include cycles impossible. A glob that matches
 * nothing is a warning only (an empty streams.d/ is normal). A file matched
 * more than once, or the main file matched by its own glob, is read once.
 * Globs are expanded by config-glob.c, which stops at CONFIG_FILES_MAX
 * matches or after CONFIG_GLOB_ENTRIES_MAX directory entries for all of
 * them together: a reload must never walk the whole file system.
 *
 * Defaults: the main file's defaults: apply to every stream; an included
 * file's defaults: apply to its own streams and win over the main file's, key
 * by key. tags merge instead: main defaults < file defaults < the stream's own.
 * name cannot be defaulted; shards from defaults are not applied to on_demand
 * streams (a stream that itself sets shards and is on_demand is an error).
 *
 * This file never logs, never reads the AWS environment and never touches a
 * configuration in use: it builds a new one or a list of errors. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "aws/arn.h"
#include "config-diag.h"
#include "config-glob.h"
#include "config-policy.h"
#include "config-internal.h"
#include "config-value.h"
#include "config-yaml.h"
#include "config.h"
#include "env-name.h"
#include "file-read.h"
#include "util.h"

/* A glob that pulls in thousands of files is a mistake, not a configuration. */
#define CONFIG_FILES_MAX 1024
/* A declaration keeps its file's index and its line in a few bits. */
_Static_assert(CONFIG_FILES_MAX + 1 <= STREAM_DECL_FILES_MAX, "stream_decl.file");
_Static_assert(CONFIG_FILE_MAX + 1 <= STREAM_DECL_LINE_MAX, "stream_decl.line");
/* Directory entries the include: patterns of one load may read in all, so
 * that a pattern with a wildcard in every component cannot walk the whole
 * file system and hold a reload (and the only event loop) past the watchdog:
 * far more than any streams.d/ holds, and well under a second of work. */
#define CONFIG_GLOB_ENTRIES_MAX 65536
#define CONFIG_INTERVAL_DEFAULT (5 * 60 * USEC_PER_SEC)
#define CONFIG_POLL_DEFAULT (2 * USEC_PER_SEC)
#define CONFIG_TIMEOUT_DEFAULT (30 * 60 * USEC_PER_SEC)
/* 10,000 streams deep-checked in 30 min is 5.6 DescribeStreamSummary calls
 * a second, about half of the default share of the account's 20. */
#define CONFIG_DEEP_INTERVAL_DEFAULT (30 * 60 * USEC_PER_SEC)
#define RETENTION_HOURS_DEFAULT 24
#define RETENTION_HOURS_MIN 24
#define RETENTION_HOURS_MAX 8760
#define SHARDS_MIN 1
#define SHARDS_MAX 10000
#define MAX_RECORD_SIZE_KIB_MIN 1024
#define MAX_RECORD_SIZE_KIB_MAX 10240
/* AWS scales an on-demand stream's warm throughput to at most 10 GiB/s. */
#define WARM_THROUGHPUT_MIBPS_MIN 1
#define WARM_THROUGHPUT_MIBPS_MAX 10240
/* "section.key" of the longest section and key. */
#define KEY_LABEL_SIZE 64
/* "consumer "NAME" of stream "NAME"". */
#define ENV_DESCRIPTION_SIZE (2 * NAME_MAX_LEN + 64)
/* Entries a growing array holds before it first grows. */
#define STREAMS_ALLOC_FIRST 8
#define ENV_ALLOC_FIRST 16

/* ---------------------------------------------------------------------------
 * Freeing */

/* Move every stream's name into c->names; on failure nothing changes. */
static int config_pack_names(struct config *c) {
        size_t total = 0, o = 0;
        char *block;

        for (size_t i = 0; i < c->n_streams; i++)
                total += strlen(c->streams[i].name) + 1;
        if (total == 0)
                return 0;
        block = malloc(total);
        if (!block)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_streams; i++) {
                size_t n = strlen(c->streams[i].name) + 1;
                memcpy(block + o, c->streams[i].name, n);
                free(c->streams[i].name);
                c->streams[i].name = block + o;
                o += n;
        }
        c->names = block;
        return 0;
}

struct config *config_free(struct config *c) {
        if (!c)
                return NULL;
        /* The names are c->names', not each stream's own. */
        for (size_t i = 0; c->names && i < c->n_streams; i++)
                c->streams[i].name = NULL;
        free(c->names);
        free(c->path);
        free(c->region);
        free(c->profile);
        free(c->endpoint);
        free(c->ca_bundle);
        free(c->state_dir);
        for (size_t i = 0; i < c->n_streams; i++)
                stream_decl_done(&c->streams[i]);
        free(c->streams);
        for (size_t i = 0; i < c->n_files; i++)
                free(c->files[i]);
        free(c->files);
        free(c);
        return NULL;
}

void config_errors_done(struct config_errors *e) {
        if (!e)
                return;
        for (size_t i = 0; i < e->n; i++)
                free(e->messages[i]);
        free(e->messages);
        *e = (struct config_errors) {};
}

/* ---------------------------------------------------------------------------
 * The loader */

struct source {
        char *path;
        dev_t dev;
        ino_t ino;
};

enum {
        SK_NAME,
        SK_REGION,
        SK_MODE,
        SK_SHARDS,
        SK_RETENTION_HOURS,
        SK_ENCRYPTION,
        SK_SHARD_LEVEL_METRICS,
        SK_MAX_RECORD_SIZE_KIB,
        SK_TAGS,
        SK_CONSUMERS,
        SK_RESOURCE_POLICY,
        SK_DISTRIBUTION,
        SK_WARM_THROUGHPUT,
        SK_MANAGE,
        SK_ROLE_ARN,
        SK_EXTERNAL_ID,
        _SK_MAX,
};

struct loader {
        struct config *config;
        struct diag_sink diags;

        struct source *files; /* [0] is the main file */
        size_t n_files;

        struct node *main_root;
        struct slot global_defaults[_SK_MAX];
        size_t glob_budget; /* what include: patterns may still read (config-glob.h) */

        size_t n_stream_alloc;
};

static void loader_done(struct loader *l) {
        diag_list_done(&l->diags.errors);
        diag_list_done(&l->diags.warnings);
        for (size_t i = 0; i < l->n_files; i++)
                free(l->files[i].path);
        free(l->files);
        node_free(l->main_root);
        config_free(l->config);
}

/* A walk over file (an index into l->files) that reports what it finds. */
static struct walk walk_of(struct loader *l, size_t file) {
        return (struct walk) {
                .l = l, .sink = &l->diags, .path = l->files[file].path, .file = file, .report = true,
        };
}

/* Read a regular file of at most CONFIG_FILE_MAX bytes. -EFBIG if larger,
 * -EBADFD if not a regular file. */
static int read_config_file(const char *path, char **ret_buf, size_t *ret_len, struct stat *ret_st) {
        return read_file_bounded(path, CONFIG_FILE_MAX, ret_buf, ret_len, ret_st);
}

/* ---------------------------------------------------------------------------
 * Tags across levels */

/* Lay the tags of one level over what the levels below declared. */
static int merge_tags(const struct walk *w, struct stream_decl *d, struct stream_tag *tags, size_t n) {
        for (size_t i = 0; i < n; i++) {
                size_t j;
                for (j = 0; j < d->x->n_tags; j++)
                        if (streq(d->x->tags[j].key, tags[i].key))
                                break;
                if (j < d->x->n_tags) {
                        free(d->x->tags[j].value);
                        d->x->tags[j].value = TAKE_PTR(tags[i].value);
                        continue;
                }
                struct stream_tag *nt = reallocarray(d->x->tags, d->x->n_tags + 1, sizeof(*nt));
                if (!nt)
                        return walk_oom(w);
                d->x->tags = nt;
                d->x->tags[d->x->n_tags++] = (struct stream_tag) {
                        .key = TAKE_PTR(tags[i].key),
                        .value = TAKE_PTR(tags[i].value),
                };
        }
        return 0;
}

static int tag_cmp(const void *a, const void *b) {
        const struct stream_tag *x = a, *y = b;
        return strcmp(x->key, y->key);
}

/* ---------------------------------------------------------------------------
 * Key tables */

/* Stream keys. parse NULL: handled by the stream walk itself (tags merge
 * across levels). Offsets point into struct stream_decl. */
static const struct key_desc stream_keys[_SK_MAX] = {
        [SK_NAME] = { .name = "name", .parse = value_name,
                      .offset = offsetof(struct stream_decl, name) },
        [SK_REGION] = { .name = "region", .parse = value_region,
                        .offset = offsetof(struct stream_decl, region) },
        [SK_MODE] = { .name = "mode", .parse = value_stream_mode,
                      .offset = offsetof(struct stream_decl, mode) },
        [SK_SHARDS] = { .name = "shards", .parse = value_uint_range, .min = SHARDS_MIN, .max = SHARDS_MAX,
                        .offset = offsetof(struct stream_decl, shards) },
        [SK_RETENTION_HOURS] = { .name = "retention_hours", .parse = value_uint_range,
                                 .offset = offsetof(struct stream_decl, retention_hours),
                                 .min = RETENTION_HOURS_MIN, .max = RETENTION_HOURS_MAX },
        [SK_ENCRYPTION] = { .name = "encryption", .parse = value_encryption,
                            .offset = offsetof(struct stream_decl_extra, kms_key), .extra = true },
        [SK_SHARD_LEVEL_METRICS] = { .name = "shard_level_metrics", .parse = value_metrics,
                                     .offset = offsetof(struct stream_decl, metrics) },
        [SK_MAX_RECORD_SIZE_KIB] = { .name = "max_record_size_kib", .parse = value_uint_range,
                                     .offset = offsetof(struct stream_decl, max_record_size_kib),
                                     .min = MAX_RECORD_SIZE_KIB_MIN, .max = MAX_RECORD_SIZE_KIB_MAX },
        [SK_TAGS] = { .name = "tags" },
        /* Offset 0: value_consumers() fills consumers and n_consumers together. */
        [SK_CONSUMERS] = { .name = "consumers", .parse = value_consumers, .offset = 0 },
        /* Offset 0: it fills three fields of struct stream_decl. */
        [SK_RESOURCE_POLICY] = { .name = "resource_policy", .parse = value_resource_policy, .offset = 0 },
        [SK_DISTRIBUTION] = { .name = "record_distribution_strategy", .parse = value_distribution,
                              .offset = offsetof(struct stream_decl, distribution) },
        [SK_WARM_THROUGHPUT] = { .name = "warm_throughput_mibps", .parse = value_uint_range,
                                 .offset = offsetof(struct stream_decl, warm_throughput_mibps),
                                 .min = WARM_THROUGHPUT_MIBPS_MIN, .max = WARM_THROUGHPUT_MIBPS_MAX },
        [SK_MANAGE] = { .name = "manage", .parse = value_manage,
                        .offset = offsetof(struct stream_decl, manage) },
        [SK_ROLE_ARN] = { .name = "role_arn", .parse = value_role_arn,
                          .offset = offsetof(struct stream_decl_extra, role_arn), .extra = true },
        [SK_EXTERNAL_ID] = { .name = "external_id", .parse = value_external_id,
                             .offset = offsetof(struct stream_decl_extra, external_id), .extra = true },
};

static const struct key_desc aws_keys[] = {
        { .name = "region", .parse = value_region, .offset = offsetof(struct config, region) },
        { .name = "profile", .parse = value_profile, .offset = offsetof(struct config, profile) },
        { .name = "endpoint", .parse = value_endpoint, .offset = offsetof(struct config, endpoint) },
        { .name = "ca_bundle", .parse = value_abs_path, .offset = offsetof(struct config, ca_bundle) },
};

static const struct key_desc reconcile_keys[] = {
        { .name = "interval", .parse = value_duration, .offset = offsetof(struct config, interval_usec) },
        { .name = "poll", .parse = value_duration, .offset = offsetof(struct config, poll_usec) },
        { .name = "timeout", .parse = value_duration, .offset = offsetof(struct config, timeout_usec) },
        { .name = "api_share", .parse = value_share, .offset = offsetof(struct config, api_share) },
        { .name = "deep_interval", .parse = value_duration,
          .offset = offsetof(struct config, deep_interval_usec) },
};

static const struct key_desc state_keys[] = {
        { .name = "directory", .parse = value_abs_path, .offset = offsetof(struct config, state_dir) },
};

enum {
        TOP_AWS,
        TOP_RECONCILE,
        TOP_STATE,
        TOP_INCLUDE,
        TOP_DEFAULTS,
        TOP_STREAMS,
        _TOP_MAX,
};

static const struct key_desc top_keys[_TOP_MAX] = {
        [TOP_AWS] = { .name = "aws" },
        [TOP_RECONCILE] = { .name = "reconcile" },
        [TOP_STATE] = { .name = "state" },
        [TOP_INCLUDE] = { .name = "include" },
        [TOP_DEFAULTS] = { .name = "defaults" },
        [TOP_STREAMS] = { .name = "streams" },
};

/* A declaration to build, with an extra of its own. -ENOMEM. */
static int stream_decl_init(struct stream_decl *d) {
        *d = (struct stream_decl) {
                .mode = STREAM_MODE_PROVISIONED,
                .retention_hours = RETENTION_HOURS_DEFAULT,
                .manage = MANAGE_FULL,
        };
        return stream_decl_extra_own(d);
}

/* Where the value of stream key i goes in d. */
static void *stream_key_dest(struct stream_decl *d, size_t i) {
        return (char *) (stream_keys[i].extra ? (void *) d->x : (void *) d) + stream_keys[i].offset;
}

/* ---------------------------------------------------------------------------
 * Walking sections */

static void walk_section(const struct walk *w, const char *section, const struct node *v,
                         const struct key_desc *keys, size_t n_keys, void *base) {
        _cleanup_free_ struct slot *slots = NULL;

        if (!value_map(w, section, v))
                return;
        slots = calloc(n_keys, sizeof(*slots));
        if (!slots) {
                (void) walk_oom(w);
                return;
        }
        value_keys(w, v, keys, n_keys, slots);
        for (size_t i = 0; i < n_keys; i++) {
                char label[KEY_LABEL_SIZE];
                if (!slots[i].value)
                        continue;
                snprintf(label, sizeof(label), "%s.%s", section, keys[i].name);
                (void) keys[i].parse(w, &keys[i], label, slots[i].value, (char *) base + keys[i].offset);
        }
}

/* Check a defaults: mapping where it is written; remember where each key is. */
static void walk_defaults(const struct walk *w, const struct node *v, struct slot *slots) {
        struct stream_decl scratch;

        for (size_t i = 0; i < _SK_MAX; i++)
                slots[i] = (struct slot) {};
        if (!value_map(w, "defaults", v))
                return;
        value_keys(w, v, stream_keys, _SK_MAX, slots);
        if (slots[SK_NAME].key) {
                walk_error(w, slots[SK_NAME].key,
                           "name: cannot be set in defaults (each stream names itself)");
                slots[SK_NAME] = (struct slot) {};
        }
        if (slots[SK_RESOURCE_POLICY].key) {
                walk_error(w, slots[SK_RESOURCE_POLICY].key,
                           "resource_policy: cannot be set in defaults (a policy names its own stream)");
                slots[SK_RESOURCE_POLICY] = (struct slot) {};
        }

        if (stream_decl_init(&scratch) < 0) {
                stream_decl_done(&scratch);
                (void) walk_oom(w);
                return;
        }
        for (size_t i = 0; i < _SK_MAX; i++) {
                if (!slots[i].value)
                        continue;
                if (i == SK_TAGS) {
                        struct stream_tag *tags;
                        size_t n;
                        if (value_tags(w, slots[i].value, &tags, &n) >= 0)
                                stream_tags_free(tags, n);
                        continue;
                }
                (void) stream_keys[i].parse(w, &stream_keys[i], stream_keys[i].name, slots[i].value,
                                            stream_key_dest(&scratch, i));
        }
        stream_decl_done(&scratch);
}

static int add_stream(const struct walk *w, struct stream_decl *d) {
        struct loader *l = w->l;
        struct config *c = l->config;

        if (c->n_streams == l->n_stream_alloc) {
                size_t na = l->n_stream_alloc ? l->n_stream_alloc * 2 : STREAMS_ALLOC_FIRST;
                struct stream_decl *s = reallocarray(c->streams, na, sizeof(*s));
                if (!s)
                        return walk_oom(w);
                c->streams = s;
                l->n_stream_alloc = na;
        }
        /* The streams of one file mostly share their defaults: an extra equal
         * to the previous stream's is that one. */
        stream_decl_extra_settle(d);
        if (d->x != &stream_decl_extra_none && c->n_streams > 0) {
                struct stream_decl_extra *prev = c->streams[c->n_streams - 1].x;
                if (prev != &stream_decl_extra_none && stream_decl_extra_equal(d->x, prev)) {
                        prev->refs++;
                        stream_decl_done(&(struct stream_decl) { .x = d->x });
                        d->x = prev;
                }
        }
        c->streams[c->n_streams++] = *d;
        *d = (struct stream_decl) {};
        return 0;
}

/* One entry of streams:. file_defaults: the including file's own defaults
 * (NULL in the main file). */
static int walk_stream(const struct walk *w, const struct node *m, const struct slot *file_defaults) {
        const struct slot *levels[] = { NULL, file_defaults, w->l->global_defaults };
        struct slot own[_SK_MAX];
        _cleanup_(stream_decl_done) struct stream_decl d = {};
        bool failed[_SK_MAX] = {};
        const struct node *name_node;
        char q[QUOTE_SIZE];
        int r;

        if (m->ignore)
                return -EINVAL;
        if (m->kind != NODE_MAPPING)
                return walk_error(w, m, "streams: each entry must be a mapping, got %s",
                                  diag_describe(m, q));

        value_keys(w, m, stream_keys, _SK_MAX, own);
        levels[0] = own;
        if (stream_decl_init(&d) < 0)
                return walk_oom(w);

        for (size_t i = 0; i < _SK_MAX; i++) {
                struct walk sub = *w;
                const struct node *v = NULL;

                if (i == SK_TAGS)
                        continue;
                for (size_t lv = 0; lv < ELEMENTSOF(levels) && !v; lv++)
                        if (levels[lv])
                                v = levels[lv][i].value;
                if (!v)
                        continue;
                sub.report = w->report && v == own[i].value;
                r = stream_keys[i].parse(&sub, &stream_keys[i], stream_keys[i].name, v,
                                         stream_key_dest(&d, i));
                if (r == -ENOMEM)
                        return r;
                failed[i] = r < 0;
        }

        /* Tags: main defaults, then file defaults, then the stream's own. */
        for (size_t lv = ELEMENTSOF(levels); lv-- > 0;) {
                struct walk sub = *w;
                struct stream_tag *tags;
                size_t n;

                if (!levels[lv] || !levels[lv][SK_TAGS].value)
                        continue;
                d.tags_declared = true;
                sub.report = w->report && lv == 0;
                r = value_tags(&sub, levels[lv][SK_TAGS].value, &tags, &n);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        failed[SK_TAGS] = true;
                        continue;
                }
                r = merge_tags(&sub, &d, tags, n);
                stream_tags_free(tags, n);
                if (r < 0)
                        return r;
        }
        if (d.x->n_tags > STREAM_TAGS_MAX && !failed[SK_TAGS]) {
                const struct node *at = own[SK_TAGS].value ?: m;
                walk_error(w, at, "tags: %zu tags with those from defaults, at most %d are allowed",
                           d.x->n_tags, STREAM_TAGS_MAX);
                failed[SK_TAGS] = true;
        }
        if (d.x->n_tags > 1)
                qsort(d.x->tags, d.x->n_tags, sizeof(d.x->tags[0]), tag_cmp);

        name_node = own[SK_NAME].value;
        if (!name_node)
                return walk_error(w, m, "stream has no name (name: is required)");
        if (!d.name)
                return -EINVAL;

        if (!d.region && w->l->config->region) {
                d.region = w->l->config->region;
                d.region_inherited = true;
        }

        if (d.mode == STREAM_MODE_ON_DEMAND && d.shards > 0) {
                if (own[SK_SHARDS].value)
                        walk_error(w, own[SK_SHARDS].value,
                                   "shards: not allowed for an on_demand stream (AWS sizes it)");
                else
                        d.shards = 0; /* inherited from defaults: meant for provisioned streams */
        }
        if (d.warm_throughput_mibps > 0 && d.mode != STREAM_MODE_ON_DEMAND) {
                if (own[SK_WARM_THROUGHPUT].value && !failed[SK_MODE])
                        walk_error(w, own[SK_WARM_THROUGHPUT].value,
                                   "warm_throughput_mibps: only for on_demand streams (a provisioned stream "
                                   "has the throughput of its shards)");
                d.warm_throughput_mibps = 0; /* from defaults: meant for on-demand streams */
        }
        if (d.distribution != DISTRIBUTION_UNSET && d.mode != STREAM_MODE_ON_DEMAND) {
                if (own[SK_DISTRIBUTION].value && !failed[SK_MODE])
                        walk_error(w, own[SK_DISTRIBUTION].value,
                                   "record_distribution_strategy: only for on_demand streams (a provisioned "
                                   "stream always places records by partition key)");
                d.distribution = DISTRIBUTION_UNSET; /* from defaults: meant for on-demand streams */
        }
        if (!failed[SK_CONSUMERS] && !failed[SK_MODE] &&
            (d.x->n_consumers > STREAM_CONSUMERS_MAX_COMMITTED ||
             (d.x->n_consumers > STREAM_CONSUMERS_MAX && d.mode != STREAM_MODE_ON_DEMAND)))
                walk_error(w, own[SK_CONSUMERS].value ?: m,
                           "consumers: %zu consumers, AWS allows at most %d per stream (%d on an on_demand "
                           "stream of an account with a minimum throughput commitment)",
                           d.x->n_consumers, STREAM_CONSUMERS_MAX, STREAM_CONSUMERS_MAX_COMMITTED);
        if (d.mode == STREAM_MODE_PROVISIONED && d.manage != MANAGE_OBSERVE && d.shards == 0 &&
            !failed[SK_SHARDS] && !failed[SK_MODE] && !failed[SK_MANAGE])
                walk_error(w, name_node,
                           "stream \"%s\": shards is required for a provisioned stream with manage: %s",
                           d.name, d.manage == MANAGE_FULL ? "full" : "create-only");

        if (d.x->external_id && !d.x->role_arn && !failed[SK_ROLE_ARN]) {
                if (own[SK_EXTERNAL_ID].value)
                        walk_error(w, own[SK_EXTERNAL_ID].value,
                                   "external_id: needs role_arn (it is sent when assuming that role)");
                else
                        walk_error(w, name_node, "stream \"%s\": external_id from defaults needs role_arn",
                                   d.name);
        }
        if (d.x->role_arn)
                (void) arn_role_parse(d.x->role_arn, d.x->account, NULL);

        d.file = w->file;
        d.line = name_node->line;
        d.column = name_node->column;
        return add_stream(w, &d);
}

static int walk_streams(const struct walk *w, const struct node *v, const struct slot *file_defaults) {
        if (!value_list(w, "streams", v))
                return 0;
        for (size_t i = 0; i < v->n_items; i++) {
                int r = walk_stream(w, v->items[i], file_defaults);
                if (r == -ENOMEM)
                        return r;
        }
        return 0;
}

/* ---------------------------------------------------------------------------
 * Files and includes */

static int load_file(struct loader *l, const char *path, bool main_file, struct node **ret_root);

/* Resolve a relative include glob against the directory of the naming file.
 * The directory part is escaped so that its own [, *, ? and \ match literally. */
static char *include_pattern(const char *naming_path, const char *pattern) {
        const char *slash = strrchr(naming_path, '/');
        size_t dirlen, o = 0;
        char *out;

        if (pattern[0] == '/' || !slash)
                return strdup(pattern);
        dirlen = (size_t) (slash - naming_path) + 1;
        out = malloc(dirlen * 2 + strlen(pattern) + 1);
        if (!out)
                return NULL;
        for (size_t i = 0; i < dirlen; i++) {
                if (strchr("*?[\\", naming_path[i]))
                        out[o++] = '\\';
                out[o++] = naming_path[i];
        }
        strcpy(out + o, pattern);
        return out;
}

static int walk_top(struct loader *l, size_t file, const struct node *root, bool main_file);

static int load_include(struct loader *l, const struct walk *w, const struct node *entry) {
        _cleanup_free_ char *pattern = NULL;
        _cleanup_strv_free_ char **paths = NULL;
        const char *t;
        size_t n = 0;
        char q[QUOTE_SIZE];
        int r;

        t = value_scalar(w, "include", entry, "a file name pattern");
        if (!t)
                return 0;
        if (entry->len == 0)
                return walk_error(w, entry, "include: a pattern must not be empty");
        pattern = include_pattern(w->path, t);
        if (!pattern)
                return walk_oom(w);

        r = config_glob(pattern, CONFIG_FILES_MAX, &l->glob_budget, &paths, &n);
        if (r == -ENOMEM)
                return walk_oom(w);
        if (r == -E2BIG)
                return walk_error(w, entry, "include: %s matches more than %d files", diag_quote(entry, q),
                                  CONFIG_FILES_MAX);
        if (r == -ENOBUFS)
                return walk_error(w, entry,
                                  "include: %s: stopped after %d directory entries (the limit for all "
                                  "include: patterns together); use a narrower pattern",
                                  diag_quote(entry, q), CONFIG_GLOB_ENTRIES_MAX);
        if (n == 0) {
                diag_at(&l->diags, DIAG_WARNING, w->path, w->file, entry->line, entry->column,
                        "include: %s matches no file", diag_quote(entry, q));
                return 0;
        }

        /* In byte order (config_glob()), not by locale, so every host loads in one order. */
        for (size_t i = 0; i < n; i++) {
                _cleanup_(node_freep) struct node *root = NULL;
                if (l->n_files >= CONFIG_FILES_MAX) {
                        walk_error(w, entry, "include: more than %d files in all", CONFIG_FILES_MAX);
                        break;
                }
                r = load_file(l, paths[i], false, &root);
                if (r == -ENOMEM)
                        break;
                if (r > 0)
                        r = walk_top(l, l->n_files - 1, root, false);
                if (r == -ENOMEM)
                        break;
                r = 0;
        }
        return r;
}

/* Walk the top level of one file. */
static int walk_top(struct loader *l, size_t file, const struct node *root, bool main_file) {
        struct walk w = walk_of(l, file);
        struct slot top[_TOP_MAX], file_defaults[_SK_MAX];
        int r;

        if (!root || node_is_null(root) || root->ignore)
                return 0;
        /* Never quoted: a file that is not a mapping is most likely not a
         * configuration at all, and may hold a secret (config-yaml.c). */
        if (root->kind != NODE_MAPPING)
                return walk_error(&w, root,
                                  "expected a mapping (aws:, streams:, ...) at the top level, got %s",
                                  root->kind == NODE_SEQUENCE
                                          ? "a list"
                                          : "a single value (not shown: is this a configuration file?)");
        value_keys(&w, root, top_keys, _TOP_MAX, top);

        if (!main_file) {
                for (size_t i = 0; i < _TOP_MAX; i++) {
                        if (!top[i].key || i == TOP_DEFAULTS || i == TOP_STREAMS)
                                continue;
                        walk_error(&w, top[i].key, "%s: only allowed in the main configuration file%s",
                                   top_keys[i].name,
                                   i == TOP_INCLUDE ? " (included files cannot include others)" : "");
                }
                if (top[TOP_DEFAULTS].value)
                        walk_defaults(&w, top[TOP_DEFAULTS].value, file_defaults);
                else
                        memset(file_defaults, 0, sizeof(file_defaults));
                if (top[TOP_STREAMS].value && walk_streams(&w, top[TOP_STREAMS].value, file_defaults) < 0)
                        return -ENOMEM;
                return 1;
        }

        if (top[TOP_AWS].value)
                walk_section(&w, "aws", top[TOP_AWS].value, aws_keys, ELEMENTSOF(aws_keys), l->config);
        if (top[TOP_RECONCILE].value)
                walk_section(&w, "reconcile", top[TOP_RECONCILE].value, reconcile_keys,
                             ELEMENTSOF(reconcile_keys), l->config);
        if (top[TOP_STATE].value)
                walk_section(&w, "state", top[TOP_STATE].value, state_keys, ELEMENTSOF(state_keys),
                             l->config);
        if (top[TOP_DEFAULTS].value)
                walk_defaults(&w, top[TOP_DEFAULTS].value, l->global_defaults);
        if (l->diags.oom)
                return -ENOMEM;
        if (top[TOP_STREAMS].value) {
                r = walk_streams(&w, top[TOP_STREAMS].value, NULL);
                if (r < 0)
                        return r;
        }
        if (top[TOP_INCLUDE].value && value_list(&w, "include", top[TOP_INCLUDE].value))
                for (size_t i = 0; i < top[TOP_INCLUDE].value->n_items; i++) {
                        r = load_include(l, &w, top[TOP_INCLUDE].value->items[i]);
                        if (r == -ENOMEM)
                                return r;
                }
        return 1;
}

/* Read and parse one file. Returns 1 with *ret_root when it is to be walked,
 * 0 when it was skipped (already loaded) or could not be read or parsed
 * (reported), or a negative errno: -ENOMEM, or for the main file the read
 * error. */
static int load_file(struct loader *l, const char *path, bool main_file, struct node **ret_root) {
        _cleanup_free_ char *buf = NULL, *copy = NULL;
        size_t len = 0, idx = l->n_files;
        struct source *files;
        struct stat st = {};
        struct walk w;
        int r;

        r = read_config_file(path, &buf, &len, &st);
        if (r == -ENOMEM) {
                l->diags.oom = true;
                return r;
        }
        if (r < 0) {
                if (r == -EFBIG)
                        diag_at(&l->diags, DIAG_ERROR, path, idx, 1, 1, "file is larger than 1 MiB");
                else if (r == -EBADFD)
                        diag_at(&l->diags, DIAG_ERROR, path, idx, 1, 1, "not a regular file");
                else
                        diag_at(&l->diags, DIAG_ERROR, path, idx, 1, 1, "cannot read: %s", strerror(-r));
                if (main_file)
                        return r == -EFBIG || r == -EBADFD ? -EINVAL : r;
                return 0;
        }

        for (size_t i = 0; i < l->n_files; i++)
                if (l->files[i].dev == st.st_dev && l->files[i].ino == st.st_ino)
                        return 0;

        /* Whoever may write a configuration file decides which streams exist
         * and where their ARNs point: say so when that is not only its owner. */
        if (st.st_mode & (S_IWGRP | S_IWOTH))
                diag_at(&l->diags, DIAG_WARNING, path, idx, 1, 1, "file is %s-writable (mode %04o)",
                        st.st_mode & S_IWOTH ? "world" : "group",
                        (unsigned) (st.st_mode & 07777));

        copy = strdup(path);
        files = reallocarray(l->files, l->n_files + 1, sizeof(*files));
        if (!copy || !files) {
                if (files)
                        l->files = files;
                l->diags.oom = true;
                return -ENOMEM;
        }
        l->files = files;
        l->files[l->n_files++] = (struct source) {
                .path = TAKE_PTR(copy), .dev = st.st_dev, .ino = st.st_ino,
        };

        w = walk_of(l, idx);
        r = node_parse_yaml(&w, buf, len, ret_root);
        if (r == -ENOMEM)
                return r;
        return r < 0 ? 0 : 1;
}

/* ---------------------------------------------------------------------------
 * Rules across streams and files */

/* By region and name: what the exports are named by unless accounts collide. */
static int stream_place_cmp(const struct stream_decl *x, const struct stream_decl *y) {
        if (!x->region || !y->region) {
                if (x->region != y->region)
                        return x->region ? 1 : -1;
        } else {
                int r = strcmp(x->region, y->region);
                if (r != 0)
                        return r;
        }
        return strcmp(x->name, y->name);
}

/* A stream is one (account, region, name): the daemon's own account ("")
 * sorts first. */
static int stream_key_cmp(const struct stream_decl *x, const struct stream_decl *y) {
        int r = stream_place_cmp(x, y);
        return r ? r : strcmp(x->x->account, y->x->account);
}

static int stream_cmp(const void *a, const void *b) {
        return stream_key_cmp(a, b);
}

static int stream_index_cmp(const void *a, const void *b, void *userdata) {
        const struct stream_decl *s = userdata;
        size_t x = *(const size_t *) a, y = *(const size_t *) b;
        int r = stream_key_cmp(&s[x], &s[y]);
        if (r != 0)
                return r;
        return x < y ? -1 : x > y;
}

struct env_entry {
        char *var;
        size_t stream;
        const char *consumer;
};

static int env_entry_cmp(const void *a, const void *b) {
        const struct env_entry *x = a, *y = b;
        int r = strcmp(x->var, y->var);
        if (r != 0)
                return r;
        if (x->stream != y->stream)
                return x->stream < y->stream ? -1 : 1;
        if (!x->consumer || !y->consumer)
                return x->consumer ? 1 : y->consumer ? -1 : 0;
        return strcmp(x->consumer, y->consumer);
}

static void describe_env_entry(const struct config *c, const struct env_entry *e, char *buf, size_t size) {
        const struct stream_decl *s = &c->streams[e->stream];
        if (e->consumer)
                snprintf(buf, size, "consumer \"%s\" of stream \"%s\"", e->consumer, s->name);
        else
                snprintf(buf, size, "stream \"%s\"", s->name);
}

static void stream_error(struct loader *l, size_t i, const char *fmt, ...) _printf_(3, 4);
static void stream_error(struct loader *l, size_t i, const char *fmt, ...) {
        const struct stream_decl *s = &l->config->streams[i];
        va_list ap;

        va_start(ap, fmt);
        diag_addv(&l->diags, DIAG_ERROR, l->files[s->file].path, s->file, s->line, s->column, fmt, ap);
        va_end(ap);
}

static int stream_role_cmp(const void *a, const void *b, void *userdata) {
        const struct stream_decl *s = userdata;
        size_t x = *(const size_t *) a, y = *(const size_t *) b;
        int r = strcmp(s[x].x->account, s[y].x->account);
        if (r != 0)
                return r;
        return x < y ? -1 : x > y;
}

/* kinesisd paces an account's calls and counts its CREATING streams in one
 * place, which holds one set of credentials: every stream of an account is
 * reached through one role (and external ID). order is scratch space. */
static void check_one_role_per_account(struct loader *l, size_t *order) {
        struct config *c = l->config;

        for (size_t i = 0; i < c->n_streams; i++)
                order[i] = i;
        qsort_r(order, c->n_streams, sizeof(*order), stream_role_cmp, c->streams);
        for (size_t i = 1, first = 0; i < c->n_streams; i++) {
                const struct stream_decl *f = &c->streams[order[first]], *s = &c->streams[order[i]];
                if (!streq(f->x->account, s->x->account)) {
                        first = i;
                        continue;
                }
                if (!s->x->account[0] ||
                    (streq(f->x->role_arn, s->x->role_arn) &&
                     streq_ptr(f->x->external_id, s->x->external_id)))
                        continue;
                stream_error(l, order[i],
                             "stream \"%s\": account %s is already reached through role_arn %s%s at "
                             "%s:%u:%u; all streams of one account must use the same role_arn and "
                             "external_id",
                             s->name, s->x->account, f->x->role_arn,
                             streq(f->x->role_arn, s->x->role_arn) ? " with another external_id" : "",
                             l->files[f->file].path, f->line, f->column);
        }
}

static int check_streams(struct loader *l) {
        struct config *c = l->config;
        _cleanup_free_ size_t *order = NULL;
        _cleanup_free_ bool *dup = NULL;
        struct env_entry *env = NULL;
        size_t n_env = 0, n_alloc = 0;
        int r = 0;

        if (c->n_streams == 0)
                return 0;
        order = calloc(c->n_streams, sizeof(*order));
        dup = calloc(c->n_streams, sizeof(*dup));
        if (!order || !dup)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_streams; i++)
                order[i] = i;
        qsort_r(order, c->n_streams, sizeof(*order), stream_index_cmp, c->streams);
        for (size_t i = 1, first = 0; i < c->n_streams; i++) {
                const struct stream_decl *f = &c->streams[order[first]], *s = &c->streams[order[i]];
                if (stream_key_cmp(f, s) != 0) {
                        first = i;
                        continue;
                }
                dup[order[i]] = true;
                if (s->x->account[0])
                        stream_error(l, order[i],
                                     "stream \"%s\" in region %s of account %s is already declared at "
                                     "%s:%u:%u",
                                     s->name, strna(s->region), s->x->account, l->files[f->file].path, f->line, f->column);
                else if (s->region)
                        stream_error(l, order[i],
                                     "stream \"%s\" in region %s is already declared at %s:%u:%u",
                                     s->name, s->region, l->files[f->file].path, f->line, f->column);
                else
                        stream_error(l, order[i], "stream \"%s\" is already declared at %s:%u:%u", s->name,
                                     l->files[f->file].path, f->line, f->column);
        }

        /* One name in one region in two accounts: the exports of those in
         * a role's account name the account (the daemon's own keep the
         * plain name). order is sorted by region and name first. */
        for (size_t i = 0, first = 0; i <= c->n_streams; i++) {
                if (i < c->n_streams &&
                    stream_place_cmp(&c->streams[order[first]], &c->streams[order[i]]) == 0)
                        continue;
                if (stream_key_cmp(&c->streams[order[first]], &c->streams[order[i - 1]]) != 0)
                        for (size_t j = first; j < i; j++)
                                c->streams[order[j]].account_in_exports = c->streams[order[j]].x->account[0];
                first = i;
        }
        check_one_role_per_account(l, order);

        /* Every streams.env variable must name one thing (DESIGN §4). */
        for (size_t i = 0; i < c->n_streams; i++) {
                const struct stream_decl *s = &c->streams[i];
                if (dup[i])
                        continue;
                for (size_t j = 0; j <= s->x->n_consumers; j++) {
                        const char *consumer = j == 0 ? NULL : s->x->consumers[j - 1];
                        if (n_env == n_alloc) {
                                size_t na = n_alloc ? n_alloc * 2 : ENV_ALLOC_FIRST;
                                struct env_entry *ne = reallocarray(env, na, sizeof(*ne));
                                if (!ne) {
                                        r = -ENOMEM;
                                        goto finish;
                                }
                                env = ne;
                                n_alloc = na;
                        }
                        env[n_env].var = env_name_arn(c->region, s->region,
                                                      s->account_in_exports ? s->x->account : NULL, s->name,
                                                      consumer);
                        if (!env[n_env].var) {
                                r = -ENOMEM;
                                goto finish;
                        }
                        env[n_env].stream = i;
                        env[n_env].consumer = consumer;
                        n_env++;
                }
        }
        if (n_env > 1)
                qsort(env, n_env, sizeof(*env), env_entry_cmp);
        for (size_t i = 1, first = 0; i < n_env; i++) {
                const struct stream_decl *f;
                char a[ENV_DESCRIPTION_SIZE], b[ENV_DESCRIPTION_SIZE];

                if (!streq(env[i].var, env[first].var)) {
                        first = i;
                        continue;
                }
                f = &c->streams[env[first].stream];
                describe_env_entry(c, &env[i], a, sizeof(a));
                describe_env_entry(c, &env[first], b, sizeof(b));
                stream_error(l, env[i].stream,
                             "%s maps to the streams.env variable %s, as does %s at %s:%u:%u", a,
                             env[i].var, b, l->files[f->file].path, f->line, f->column);
        }

finish:
        for (size_t i = 0; i < n_env; i++)
                free(env[i].var);
        free(env);
        return r;
}

/* ---------------------------------------------------------------------------
 * Entry point */

int config_load(const char *path, struct config **ret, struct config_errors *errors,
                struct config_errors *warnings) {
        _cleanup_(loader_done) struct loader l = {};
        int r;

        if (errors)
                *errors = (struct config_errors) {};
        if (warnings)
                *warnings = (struct config_errors) {};
        if (!path || !ret)
                return -EINVAL;

        l.glob_budget = CONFIG_GLOB_ENTRIES_MAX;
        l.config = calloc(1, sizeof(*l.config));
        if (!l.config)
                return -ENOMEM;
        l.config->interval_usec = CONFIG_INTERVAL_DEFAULT;
        l.config->poll_usec = CONFIG_POLL_DEFAULT;
        l.config->timeout_usec = CONFIG_TIMEOUT_DEFAULT;
        l.config->deep_interval_usec = CONFIG_DEEP_INTERVAL_DEFAULT;
        l.config->api_share = CONFIG_API_SHARE_DEFAULT;
        l.config->path = strdup(path);
        if (!l.config->path)
                return -ENOMEM;

        r = load_file(&l, path, true, &l.main_root);
        if (r > 0)
                r = walk_top(&l, 0, l.main_root, true);
        if (r >= 0 && !l.diags.oom)
                r = check_streams(&l);
        if (l.diags.oom)
                r = -ENOMEM;
        if (r >= 0 && l.diags.errors.n == 0 && l.diags.errors.n_dropped == 0 && l.config->n_streams == 0)
                diag_at(&l.diags, DIAG_WARNING, path, 0, 1, 1, "declares no stream");
        if (r >= 0 && l.diags.oom)
                r = -ENOMEM;
        if (r == -ENOMEM)
                return r;

        if (diag_list_export(&l.diags.warnings, warnings) < 0)
                return -ENOMEM;
        if (r < 0 || l.diags.errors.n > 0 || l.diags.errors.n_dropped > 0) {
                if (diag_list_export(&l.diags.errors, errors) < 0) {
                        config_errors_done(warnings);
                        return -ENOMEM;
                }
                return r < 0 ? r : -EINVAL;
        }

        if (l.config->n_streams > 1)
                qsort(l.config->streams, l.config->n_streams, sizeof(struct stream_decl), stream_cmp);
        /* Exactly as many as declared: the array lives as long as the
         * configuration, and doubling leaves up to half of it unused. */
        if (l.config->n_streams > 0 && l.config->n_streams < l.n_stream_alloc) {
                struct stream_decl *s = reallocarray(l.config->streams, l.config->n_streams,
                                                     sizeof(*s));
                if (s)
                        l.config->streams = s;
        }
        /* The names in one block: a name is a few bytes, its own allocation
         * several times that, and there is one per declared stream. */
        r = config_pack_names(l.config);
        if (r < 0)
                return r;
        /* The streams' file names point into these: the configuration keeps them. */
        l.config->files = calloc(l.n_files, sizeof(char *));
        if (!l.config->files)
                return -ENOMEM;
        for (size_t i = 0; i < l.n_files; i++)
                l.config->files[i] = TAKE_PTR(l.files[i].path);
        l.config->n_files = l.n_files;
        *ret = TAKE_PTR(l.config);
        return 0;
}

