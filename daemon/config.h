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

#include "stream.h"

struct config {
        char *path;       /* the main file, as given */
        char **files;     /* the main file's path, then the included files' */
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
        double api_share;       /* of each AWS limit, (0, 1]; default CONFIG_API_SHARE_DEFAULT */
        uint64_t deep_interval_usec; /* every stream deep-checked within it; default 30 min */

        /* state: */
        char *state_dir;  /* NULL: not set in the file */

        struct stream_decl *streams; /* sorted by (region, name); region NULL sorts first */
        char *names;                 /* the streams' names, one after the other: each
                                        stream_decl.name points into it */
        size_t n_streams;
};

/* Errors found while loading, each a complete "FILE:LINE:COLUMN: message". */
struct config_errors {
        char **messages;
        size_t n;
        size_t n_dropped; /* past the cap (CONFIG_MAX_ERRORS), counted only */
};
/* kinesisd is one client of the account among many (KCL workers, Firehose,
 * other tools): it leaves them half of every limit. On real AWS a creation
 * takes 30-60 s, so the 5-CREATING rule, not the call rate, bounds how fast
 * new streams converge. */
#define CONFIG_API_SHARE_DEFAULT 0.5
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

