/* When each declared stream was last deep-checked, kept in the state
 * directory as "deep-checks" so that a restart continues the round of deep
 * checks (reconcile.deep_interval) where the last process left it instead
 * of starting it over. kinesisd's own record, not an interface.
 *
 * The file: a first line "kinesisd-deep-checks 1", then one line per stream,
 * "KEY NAME SECONDS": the stream's region (ACCOUNT-REGION in a role's
 * account), its name, and the time of its last deep check in seconds since
 * the epoch. Keys and names are 1..DEEP_CHECKS_NAME_MAX characters of
 * [A-Za-z0-9_.-] (what AWS accepts), so a line needs no quoting.
 *
 * Never logs; returns negative errno; output parameters are written only on
 * success. Writes only through atomic-file, reads at most DEEP_CHECKS_MAX
 * bytes, never follows a symlink. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define DEEP_CHECKS_FILE "deep-checks"
/* 50,000 streams take about 2 MiB. */
#define DEEP_CHECKS_MAX ((size_t) 8 * 1024 * 1024)
#define DEEP_CHECKS_NAME_MAX 128

struct deep_check {
        const char *key;
        const char *name;
        uint64_t usec; /* CLOCK_REALTIME, whole seconds */
};

struct deep_checks {
        char *text;            /* what the entries point into */
        struct deep_check *v;  /* sorted by key, name; each pair once */
        size_t n;
};

/* Parse a file's bytes (len of them; NUL bytes are refused). 0, -EBADMSG
 * for anything this module would not have written, -ENOMEM. */
int deep_checks_parse(const char *text, size_t len, struct deep_checks *ret);
/* Read dirfd's file: as deep_checks_parse(), or -ENOENT, -ELOOP, -EFBIG, or
 * another error from reading it. */
int deep_checks_load(int dirfd, struct deep_checks *ret);
void deep_checks_done(struct deep_checks *d);
/* The time of (key, name)'s last deep check; 0: none recorded. */
uint64_t deep_checks_find(const struct deep_checks *d, const char *key, const char *name);

/* The file's text for v (n entries, any order; entries with usec 0 or a key
 * or name that could not be read back are left out). 0 or -ENOMEM/-EFBIG. */
int deep_checks_format(const struct deep_check *v, size_t n, char **ret_text, size_t *ret_len);
/* Write dirfd's file from v (deep_checks_format()), unless it already holds
 * that. 0 or negative errno. */
int deep_checks_save(int dirfd, const struct deep_check *v, size_t n);
