/* The state directory other services read (DESIGN §4): streams.json,
 * streams.env, streams/<region>/<name>.arn (streams/<account>-<region>/ where
 * two accounts declare one name in one region) and metrics.prom.
 *
 * Every file is replaced atomically (temp file in the same directory, write,
 * fsync, rename, fsync the directory), mode 0644, and only when its content
 * changes. Never writes anywhere but the state directory. Does not log above
 * debug; returns negative errno.
 *
 * A new process also reads back what an earlier one exported
 * (state_read_previous), as data: the state module never calls the manager
 * or the configuration. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A consumer exported: in streams.env and streams.json (pass only those
 * that are ACTIVE). */
struct state_consumer {
        const char *name;
        const char *arn;
};

struct state_stream {
        const char *name;
        const char *region;
        const char *account;      /* 12 digits, or NULL while unknown */
        bool account_in_exports;  /* another account has a stream of this name and region:
                                     streams.env and the .arn path name the account */
        const char *arn;          /* NULL while unknown: the stream is left out of
                                     streams.env and gets no .arn file */
        bool arn_withheld;        /* the ARN is in streams.json only, not in streams.env
                                     nor a .arn file: the stream is not ACTIVE yet, or
                                     its export waits for others being created */
        const char *status;       /* "ACTIVE", "CREATING", ..., or "FAILED" */
        const char *mode;         /* "PROVISIONED" or "ON_DEMAND", or NULL */
        unsigned shards;
        unsigned retention_hours;
        const struct state_consumer *consumers;
        size_t n_consumers;
        uint64_t last_change_usec; /* CLOCK_REALTIME of the last change kinesisd made, 0: never */
        const char *last_error;    /* NULL: none */
        unsigned conflict_held;    /* settings left alone now: another party changed them back */
        const char *waiting;       /* what it waits on in AWS (a limit, a busy stream); NULL: not */
        const char *throughput_commitment; /* the account's minimum throughput billing commitment
                                              ("ENABLED", "DISABLED", "NONE", ...); NULL: unknown */
        const char *not_managed;   /* declared settings left alone, and why; NULL: none */
};

/* Counters for metrics.prom. */
struct state_metrics {
        uint64_t api_calls;
        uint64_t api_errors;
        uint64_t api_throttled;
        uint64_t changes_made;
        uint64_t conflicts;               /* corrections found changed back by another party */
        uint64_t reconcile_passes;
        uint64_t last_pass_usec;          /* CLOCK_REALTIME, 0: never */
        uint64_t last_pass_duration_usec;
        uint64_t oldest_deep_usec;        /* CLOCK_REALTIME of the oldest deep check of a stream
                                             that exists; 0: none */
        uint64_t oldest_deep_age_usec;    /* its age when the metrics were collected */
        bool config_reload_failed;
};

struct state_export {
        const char *default_region;  /* aws.region: streams elsewhere get the region in
                                        their streams.env name */
        uint64_t now_usec;           /* CLOCK_REALTIME; generated_at changes only when the
                                        rest of streams.json changes */
        const struct state_stream *streams; /* any order; written sorted by region, name */
        size_t n_streams;
        const struct state_metrics *metrics; /* NULL: metrics.prom not written */
};

/* A file of the export that is not as it should be: its path relative to
 * the state directory ("streams.env", "streams/us-east-1/orders.arn", or
 * "streams/" and "streams/us-east-1/" for a directory that cannot be used),
 * whether it was to be written or (a stream no longer declared) removed, and
 * why. */
struct state_failure {
        char *path;
        bool removal;
        int error; /* negative errno; -ELOOP: a symlink in the way, not followed */
};

/* A report lists at most this many failures; the rest are only counted. */
#define STATE_FAILURES_MAX 64

/* What an export did. */
struct state_changes {
        unsigned files_written;
        unsigned files_removed;
        bool json_written; /* streams.json among the files written */
        /* Streams of the export that are not wholly in place: streams.json,
         * or the streams.env line or .arn file they should have, could not be
         * written. A consumer cannot rely on these. */
        size_t streams_unexported;
        struct state_failure *failures; /* in the order tried: streams.env and
                                           streams.json come first */
        size_t n_failures;              /* listed, at most STATE_FAILURES_MAX */
        size_t n_failed;                /* in all */
};

void state_changes_done(struct state_changes *ch);

/* Why a file failed, in words for a log line or STATUS=: strerror(), or
 * "a symbolic link, not followed" for -ELOOP. */
const char *state_error_text(int error);

struct state_dir;

/* Whether a directory on the way to the state directory can be trusted with
 * what other services read from it: NULL if so, else why not, in words that
 * follow its path in a message ("is writable by others"). Pure.
 *
 * Trusted are only directories owned by root or by self (the daemon's own
 * uid) that no one else can change: the state directory itself must not be
 * writable by its group or by others, sticky bit or not (anyone could add
 * streams/ or a region directory of their own); a directory above it may be
 * group- or world-writable only with the sticky bit (/tmp, 1777), which keeps
 * others from renaming or removing the entry of ours below it. A symbolic
 * link on the way (mode S_IFLNK) must be owned by root or self: in a sticky
 * directory its owner can replace it. */
const char *state_dir_refusal(mode_t mode, uid_t owner, bool is_state_dir, uid_t self);

/* The directory (or symbolic link) that made state_dir_open() refuse a
 * state directory, as lstat() saw it, and why (state_dir_refusal()). */
struct state_dir_unsafe {
        char *path;
        uid_t uid;
        gid_t gid;
        mode_t mode;
        const char *why;
};
void state_dir_unsafe_done(struct state_dir_unsafe *u);

/* Open (creating it and missing parents 0755 whatever the umask, if needed)
 * the state directory, check it, and remove temp files a crash left behind
 * (".streams.json.XXXXXX" and the like, also inside streams/<region>/). The
 * path itself may be a symlink; nothing inside the directory is ever
 * followed.
 *
 * The check walks the path as the kernel resolves it, from / down, following
 * every symbolic link (at most 40): each directory looked into on the way,
 * each symbolic link met and the state directory itself must pass
 * state_dir_refusal() for geteuid(). One that does not: -EPERM, with
 * *ret_unsafe (if not NULL) saying which and why; nothing is made below a
 * refused directory, and nothing in the state directory is touched. A
 * relative path is taken from the working directory. */
int state_dir_open(const char *path, struct state_dir **ret, struct state_dir_unsafe *ret_unsafe);
struct state_dir *state_dir_free(struct state_dir *d);
/* The directory's O_DIRECTORY file descriptor, owned by d. */
int state_dir_fd(const struct state_dir *d);
/* The path d was opened from. */
const char *state_dir_path(const struct state_dir *d);

/* Whether d's path still names the directory d holds open: 1 if it does; 0
 * if the path is gone, or now names another directory or file (removed and
 * made again while we ran: whatever we write through d then reaches no one,
 * and d has to be opened anew); negative errno if that cannot be told. */
int state_dir_is_current(const struct state_dir *d);

/* Write every export, remove .arn files of streams not in e.
 *
 * A stream gets a streams.env line and a .arn file only when its ARN is known,
 * not withheld (arn_withheld), and looks like one ("arn:" and no character that would need quoting); its
 * .arn file also needs a region and name usable as file names
 * ([A-Za-z0-9_.-], not "." or ".."). Every stream is in streams.json and
 * metrics.prom. streams.env and streams.json are written first, then the .arn
 * files, metrics.prom, and the removals: on a nearly full disk the files
 * most consumers read get the space first.
 *
 * Each file is tried even when another fails. Returns 0 when every file is in
 * place; 1 when some could not be written or removed (*ret, if not NULL,
 * lists them); -EINVAL (before anything is written) when a stream has no
 * name or region, or two variables of streams.env would have the same name;
 * -ENOMEM. *ret is set when the return value is not negative; release it
 * with state_changes_done(). */
int state_export(struct state_dir *d, const struct state_export *e, struct state_changes *ret);

/* What an earlier run exported in streams.json, for a new process to seed
 * from. Strings point into text and live as long as it. */
struct state_previous_consumer {
        const char *name;
        const char *arn; /* an "arn:..." value, or NULL */
};

struct state_previous_stream {
        const char *name;
        const char *region;
        const char *account; /* NULL: none written */
        const char *arn; /* an "arn:..." value, or NULL */
        const struct state_previous_consumer *consumers;
        size_t n_consumers;
        uint64_t last_change_usec; /* 0: never, or not readable */
        unsigned shards, retention_hours; /* 0: none, or not readable */
};

struct state_previous {
        char *text;
        struct state_previous_stream *streams; /* in file order; every one has a name and region */
        size_t n_streams;
        struct state_previous_consumer *consumers; /* every stream's, one after another */
        size_t n_consumers;
};

/* The largest streams.json read back. */
#define STATE_PREVIOUS_MAX ((size_t) 16 * 1024 * 1024)

/* Read the streams.json in d that state_export() wrote. A string value with an
 * escape sequence counts as absent (no name, region or ARN has one). Returns 0
 * and fills *ret; -ENOENT when there is none; -EFBIG over STATE_PREVIOUS_MAX;
 * -EBADMSG when it is not a streams.json as written here (truncated,
 * corrupt); -ELOOP for a symlink; -ENOMEM; another negative errno from
 * reading it. *ret is written only on success. */
int state_read_previous(const struct state_dir *d, struct state_previous *ret);
/* Whether streams/<region>/<name>.arn (or, account not NULL,
 * streams/<account>-<region>/<name>.arn) in d holds arn and a newline: the
 * stream was exported, not only shown in streams.json. */
bool state_arn_file_holds(const struct state_dir *d, const char *account, const char *region,
                          const char *name, const char *arn);
void state_previous_done(struct state_previous *p);
