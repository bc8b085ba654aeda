/* The configuration: kinesisd.yaml plus the files its include: globs match,
 * parsed and validated into a fresh struct config (DESIGN §3).
 *
 * config_load() never touches a live configuration: it returns a new one only
 * when every file is valid, and otherwise a list of "FILE:LINE:COLUMN: message"
 * errors. It performs no network I/O and reads no AWS environment: region,
 * endpoint and credentials from the environment are resolved later. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum stream_mode {
        STREAM_MODE_PROVISIONED,
        STREAM_MODE_ON_DEMAND,
};

enum manage_mode {
        MANAGE_FULL,
        MANAGE_CREATE_ONLY,
        MANAGE_OBSERVE,
};

/* Shard-level metrics as a bit set, in the order AWS documents them. */
enum shard_metric {
        METRIC_INCOMING_BYTES = 1u << 0,
        METRIC_INCOMING_RECORDS = 1u << 1,
        METRIC_OUTGOING_BYTES = 1u << 2,
        METRIC_OUTGOING_RECORDS = 1u << 3,
        METRIC_WRITE_PROVISIONED_THROUGHPUT_EXCEEDED = 1u << 4,
        METRIC_READ_PROVISIONED_THROUGHPUT_EXCEEDED = 1u << 5,
        METRIC_ITERATOR_AGE_MILLISECONDS = 1u << 6,
        METRIC_ALL = (1u << 7) - 1,
};
#define SHARD_METRIC_COUNT 7
/* AWS's name of metric bit i ("IncomingBytes", ...), or NULL. */
const char *shard_metric_name(unsigned bit_index);
/* Bit for an AWS metric name ("ALL" gives METRIC_ALL), or 0 if unknown. */
unsigned shard_metric_from_name(const char *name);

struct stream_tag {
        char *key;
        char *value;
};

struct stream_decl {
        char *name;
        char *region;   /* never NULL after loading: the stream's own, else aws.region,
                           else NULL only if neither is set (resolved at run time) */
        bool region_inherited; /* region is aws.region's, not the stream's or its defaults':
                                  a --region override moves it too */
        enum stream_mode mode;
        unsigned shards;              /* 0: not declared */
        unsigned retention_hours;     /* 24..8760, default 24 */
        char *kms_key;                /* NULL: encryption none */
        unsigned metrics;             /* enum shard_metric bits */
        unsigned max_record_size_kib; /* 0: AWS's default (not managed) */
        struct stream_tag *tags;      /* merged over defaults, sorted by key */
        size_t n_tags;
        bool tags_declared;           /* false: leave the stream's tags alone */
        char **consumers;             /* sorted, unique */
        size_t n_consumers;
        enum manage_mode manage;

        /* Where it was declared, for messages. */
        char *file;
        unsigned line, column;
};

struct config {
        char *path;       /* the main file, as given */
        size_t n_files;   /* main file plus included files */

        /* aws: */
        char *region;     /* NULL: from the environment at run time */
        char *profile;
        char *endpoint;
        char *ca_bundle;

        /* reconcile: */
        uint64_t interval_usec; /* default 5 min */
        uint64_t poll_usec;     /* default 2 s */
        uint64_t timeout_usec;  /* default 30 min */

        /* state: */
        char *state_dir;  /* NULL: not set in the file */

        struct stream_decl *streams; /* sorted by (region, name); region NULL sorts first */
        size_t n_streams;
};

/* Errors found while loading, each a complete "FILE:LINE:COLUMN: message". */
struct config_errors {
        char **messages;
        size_t n;
        size_t n_dropped; /* past the cap (CONFIG_MAX_ERRORS), counted only */
};
#define CONFIG_MAX_ERRORS 50
#define CONFIG_FILE_MAX ((size_t) 1024 * 1024)
#define CONFIG_DEPTH_MAX 64

/* Load and validate. On success returns 0 and sets *ret (and may leave
 * warnings in *warnings, which may be NULL). On a configuration error returns
 * -EINVAL with *errors filled; other negative errno for I/O failures of the
 * main file (also described in *errors). -ENOMEM may leave *errors partial.
 *
 * *errors and *warnings (either may be NULL) are overwritten, not appended
 * to: pass zeroed structs or ones emptied by config_errors_done(). Messages
 * come sorted by file (main file first, then included files in load order)
 * and position. FILE in a message is the main path as given, or an included
 * path as its glob produced it (relative globs are resolved against the
 * directory of the main file, so a relative main path gives relative names).
 *
 * Files: at most CONFIG_FILE_MAX bytes of UTF-8 each, one YAML document,
 * no anchors, aliases or tags, nesting at most CONFIG_DEPTH_MAX deep. Only
 * the main file may have include:; a glob matching nothing is a warning; a
 * file matched twice (or the main file matched by a glob) is read once and
 * counted once in n_files. */
int config_load(const char *path, struct config **ret, struct config_errors *errors,
                struct config_errors *warnings);
struct config *config_free(struct config *c);
void config_errors_done(struct config_errors *e);

/* Parse "500ms", "30s", "5m", "2h" into microseconds. */
int config_parse_duration(const char *s, uint64_t *ret_usec);

/* The streams.env variable for a stream (DESIGN §4): KINESIS_STREAM_<NAME>_ARN,
 * or KINESIS_STREAM_<REGION>_<NAME>_ARN when region differs from default_region;
 * with consumer non-NULL, ..._CONSUMER_<CONSUMER>_ARN. Returns a malloc'd string
 * or NULL on OOM. */
char *config_env_var_name(const char *default_region, const char *region, const char *name,
                          const char *consumer);
