/* The state directory other services read (DESIGN §4): streams.json,
 * streams.env, streams/<region>/<name>.arn and metrics.prom.
 *
 * Readers may look at any file at any instant, and the daemon may die at any
 * instant, so every file is replaced through atomic-file (a complete,
 * fsync'ed temp file renamed over it, and only when its bytes change: a .path
 * unit or inotify watcher must fire on real changes only). streams.json,
 * written and read back, is state-json.c's; this file holds the directory,
 * streams.env, metrics.prom, the .arn files and the export.
 *
 * Everything inside the directory is reached with *at() calls and
 * O_NOFOLLOW: a symlink planted in the state directory is replaced or
 * ignored, never written through.
 *
 * This file must never write outside the state directory, never rewrite a
 * file in place, and never remove a file it could not have written itself. */
#include "state.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "atomic-file.h"
#include "budget.h"
#include "env-name.h"
#include "file-read.h"
#include "log.h"
#include "state-json.h"
#include "util.h"

#define STATE_DIR_MODE 0755
#define ARN_MAX 2048 /* longer ARNs are not exported */
#define PATH_NAME_MAX 200 /* a region or stream name used as a file name */

#define STREAMS_ENV "streams.env"
#define METRICS_PROM "metrics.prom"
#define STREAMS_DIR "streams"
#define ARN_SUFFIX ".arn"

struct state_dir {
        int fd;
        char *path;
        dev_t dev; /* of fd, to see whether path still names it */
        ino_t ino;
};

static inline void closedirp(DIR **d) {
        if (*d)
                (void) closedir(*d);
}
#define _cleanup_closedir_ _cleanup_(closedirp)



/* A region or stream name we are willing to turn into a path component. */
static bool name_is_path_safe(const char *s) {
        size_t l;

        if (!s)
                return false;
        l = strlen(s);
        if (l == 0 || l > PATH_NAME_MAX || streq(s, ".") || streq(s, ".."))
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                      (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '-'))
                        return false;
        return true;
}

/* An ARN we can put unquoted into streams.env and as one line into a .arn
 * file. Real ARNs only use these characters; anything else (whitespace,
 * quotes, '\\', '$', '#', control characters) would need quoting in one
 * reader or another, so such a value is treated as unknown. */
static bool arn_is_exportable(const char *arn) {
        size_t l;

        if (!arn || strncmp(arn, "arn:", 4) != 0)
                return false;
        l = strlen(arn);
        if (l > ARN_MAX)
                return false;
        for (const char *p = arn; *p; p++)
                switch (*p) {
                case 'A' ... 'Z':
                case 'a' ... 'z':
                case '0' ... '9':
                case ':': case '/': case '_': case '.': case '+': case '=': case ',': case '@': case '-':
                        break;
                default:
                        return false;
                }
        return true;
}

/* Whether s's own ARN goes into streams.env and a .arn file. */
static bool stream_exports_arn(const struct state_stream *s) {
        return !s->arn_withheld && arn_is_exportable(s->arn);
}

static bool is_top_level_export(const char *name) {
        return streq(name, STREAMS_JSON) || streq(name, STREAMS_ENV) || streq(name, METRICS_PROM);
}

/* A top-level file whose crash-left temp files we remove: the exports and
 * the budget book (budget.c writes it in this directory the same way). */
static bool is_top_level_temp_target(const char *name) {
        return is_top_level_export(name) || streq(name, BUDGET_FILE);
}

/* "<name>.arn" with a path-safe name: a file we could have written. */
static bool is_arn_file_name(const char *entry, char *stem) {
        size_t l = strlen(entry), sl = strlen(ARN_SUFFIX);

        if (l <= sl || l - sl > PATH_NAME_MAX || !streq(entry + l - sl, ARN_SUFFIX))
                return false;
        memcpy(stem, entry, l - sl);
        stem[l - sl] = 0;
        return name_is_path_safe(stem);
}

/* Open dirfd/name as a directory without following a symlink, creating it
 * 0755 (whatever the umask) if it is missing. */
static int open_or_create_dir(int dirfd, const char *name, int *ret_fd) {
        int fd;
        bool created = false;

        fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                int r = -errno;
                struct stat st;

                /* O_NOFOLLOW | O_DIRECTORY says ENOTDIR for a symlink: say
                 * what is in the way. */
                if (r == -ENOTDIR && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) >= 0 &&
                    S_ISLNK(st.st_mode))
                        return -ELOOP;
                if (r != -ENOENT)
                        return r;
                if (mkdirat(dirfd, name, STATE_DIR_MODE) < 0) {
                        if (errno != EEXIST)
                                return -errno;
                } else
                        created = true;
                fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return -errno;
        }
        if (created) {
                if (fchmod(fd, STATE_DIR_MODE) < 0 || fsync(dirfd) < 0) {
                        int r = -errno;
                        (void) close(fd);
                        return r;
                }
        }
        *ret_fd = fd;
        return 0;
}

/* A DIR stream over a duplicate of fd, so fd stays usable for *at(). */
static int opendir_at_fd(int fd, DIR **ret) {
        int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        DIR *d;

        if (dfd < 0)
                return -errno;
        d = fdopendir(dfd);
        if (!d) {
                int r = -errno;
                (void) close(dfd);
                return r;
        }
        rewinddir(d);
        *ret = d;
        return 0;
}

static bool is_regular_nofollow(int dirfd, const char *name) {
        struct stat st;
        return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) >= 0 && S_ISREG(st.st_mode);
}

static bool is_dir_nofollow(int dirfd, const char *name) {
        struct stat st;
        return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) >= 0 && S_ISDIR(st.st_mode);
}

/* Remove stale temp files (regular files named like ours) in one directory.
 * region_dir selects which targets count: "<name>.arn" or the top-level
 * exports. */
static void remove_stale_temps(int dirfd, bool region_dir) {
        _cleanup_closedir_ DIR *dir = NULL;
        char target[NAME_MAX + 1], stem[NAME_MAX + 1];
        bool removed = false;
        struct dirent *de;

        if (opendir_at_fd(dirfd, &dir) < 0)
                return;
        while ((de = readdir(dir))) {
                if (!atomic_file_temp_target(de->d_name, target))
                        continue;
                if (region_dir ? !is_arn_file_name(target, stem) : !is_top_level_temp_target(target))
                        continue;
                if (!is_regular_nofollow(dirfd, de->d_name))
                        continue;
                if (unlinkat(dirfd, de->d_name, 0) < 0)
                        log_debug_errno(errno, "Failed to remove stale temp file %s, ignoring: %m", de->d_name);
                else {
                        log_debug("Removed stale temp file %s.", de->d_name);
                        removed = true;
                }
        }
        if (removed)
                (void) fsync(dirfd);
}

static void remove_stale_temps_all(int fd) {
        _cleanup_close_ int streams_fd = -1;
        _cleanup_closedir_ DIR *dir = NULL;
        struct dirent *de;

        remove_stale_temps(fd, false);

        streams_fd = openat(fd, STREAMS_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (streams_fd < 0 || opendir_at_fd(streams_fd, &dir) < 0)
                return;
        while ((de = readdir(dir))) {
                _cleanup_close_ int region_fd = -1;

                if (!name_is_path_safe(de->d_name))
                        continue;
                region_fd = openat(streams_fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (region_fd < 0)
                        continue;
                remove_stale_temps(region_fd, true);
        }
}

/* mkdir -p: missing components are created 0755, whatever the umask. Sets
 * *ret_created when the last component was created here. */
static int mkdir_parents(const char *path, bool *ret_created) {
        _cleanup_free_ char *p = strdup(path);
        bool created = false;

        if (!p)
                return -ENOMEM;
        for (char *s = p + 1;; s++) {
                char c = *s;

                if (c != '/' && c != 0)
                        continue;
                /* Repeated or trailing slashes add no component. */
                if (s[-1] != '/') {
                        *s = 0;
                        if (mkdir(p, STATE_DIR_MODE) < 0) {
                                if (errno != EEXIST)
                                        return -errno;
                                created = false;
                        } else {
                                /* mkdir() applied the umask: readers have to
                                 * get through every directory we make. */
                                if (chmod(p, STATE_DIR_MODE) < 0)
                                        return -errno;
                                created = true;
                        }
                        *s = c;
                }
                if (c == 0)
                        break;
        }
        *ret_created = created;
        return 0;
}

/* ---- trust ------------------------------------------------------------ */

#define STATE_LINKS_MAX 40 /* as the kernel allows in one lookup */

const char *state_dir_refusal(mode_t mode, uid_t owner, bool is_state_dir, uid_t self) {
        if (owner != 0 && owner != self)
                return "is owned by another user (only root and kinesisd's own user are trusted)";
        /* A link's own mode means nothing; who owns it, and its directory, do. */
        if (S_ISLNK(mode))
                return NULL;
        if (!is_state_dir && (mode & S_ISVTX))
                return NULL;
        if (mode & S_IWOTH)
                return is_state_dir ? "is writable by others" : "is writable by others and not sticky";
        if (mode & S_IWGRP)
                return is_state_dir ? "is writable by its group" : "is writable by its group and not sticky";
        return NULL;
}

void state_dir_unsafe_done(struct state_dir_unsafe *u) {
        if (!u)
                return;
        free(u->path);
        *u = (struct state_dir_unsafe){};
}

static int refuse(const char *path, const struct stat *st, const char *why, struct state_dir_unsafe *ret) {
        if (ret) {
                char *p = strdup(path);
                if (!p)
                        return -ENOMEM;
                *ret = (struct state_dir_unsafe){ p, st->st_uid, st->st_gid, st->st_mode, why };
        }
        return -EPERM;
}

/* Walk path as the kernel resolves it (see state_dir_open()) and check what
 * it meets. cur is the real path resolved so far, todo what is left of the
 * path, with the targets of symbolic links put in front of it. Sets *ret_st
 * to the state directory's stat. */
static int check_path(const char *path, uid_t self, struct state_dir_unsafe *ret_unsafe,
                      struct stat *ret_st) {
        _cleanup_free_ char *todo = NULL;
        char cur[PATH_MAX] = "/";
        unsigned links = 0;
        struct stat st;
        const char *why;

        if (path[0] == '/')
                todo = strdup(path);
        else {
                char cwd[PATH_MAX];
                if (!getcwd(cwd, sizeof cwd))
                        return -errno;
                if (asprintf(&todo, "%s/%s", cwd, path) < 0)
                        todo = NULL;
        }
        if (!todo)
                return -ENOMEM;
        if (lstat(cur, &st) < 0)
                return -errno;

        for (char *t = todo;;) {
                char next[PATH_MAX], *c;
                size_t l, cl;

                t += strspn(t, "/");
                if (!*t)
                        break;
                c = t;
                cl = strcspn(t, "/");
                t += cl;
                if (cl == 1 && c[0] == '.')
                        continue;
                if (cl == 2 && c[0] == '.' && c[1] == '.') {
                        char *slash = strrchr(cur, '/');
                        slash[slash == cur ? 1 : 0] = 0;
                        if (lstat(cur, &st) < 0)
                                return -errno;
                        continue;
                }
                /* Looking into cur: whoever can change it can swap what we find. */
                why = state_dir_refusal(st.st_mode, st.st_uid, false, self);
                if (why)
                        return refuse(cur, &st, why, ret_unsafe);
                l = strlen(cur);
                if (l + 1 + cl >= sizeof next)
                        return -ENAMETOOLONG;
                memcpy(next, cur, l);
                if (l > 1)
                        next[l++] = '/';
                memcpy(next + l, c, cl);
                next[l + cl] = 0;
                if (lstat(next, &st) < 0)
                        return -errno;
                if (S_ISLNK(st.st_mode)) {
                        char target[PATH_MAX];
                        ssize_t n;
                        char *rest;

                        why = state_dir_refusal(st.st_mode, st.st_uid, false, self);
                        if (why)
                                return refuse(next, &st, why, ret_unsafe);
                        if (++links > STATE_LINKS_MAX)
                                return -ELOOP;
                        n = readlink(next, target, sizeof target);
                        if (n < 0)
                                return -errno;
                        if ((size_t) n >= sizeof target)
                                return -ENAMETOOLONG;
                        target[n] = 0;
                        if (asprintf(&rest, "%s/%s", target, t) < 0)
                                return -ENOMEM;
                        free(todo);
                        todo = t = rest;
                        if (target[0] == '/')
                                strcpy(cur, "/");
                        if (lstat(cur, &st) < 0)
                                return -errno;
                        continue;
                }
                if (!S_ISDIR(st.st_mode))
                        return -ENOTDIR;
                memcpy(cur, next, l + cl + 1);
        }
        why = state_dir_refusal(st.st_mode, st.st_uid, true, self);
        if (why)
                return refuse(cur, &st, why, ret_unsafe);
        *ret_st = st;
        return 0;
}

int state_dir_open(const char *path, struct state_dir **ret, struct state_dir_unsafe *ret_unsafe) {
        _cleanup_close_ int fd = -1;
        struct state_dir *d;
        bool created = false;
        struct stat st, walked;
        int r;

        if (!path || !*path || !ret)
                return -EINVAL;

        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                if (errno != ENOENT)
                        return -errno;
                /* Nothing is made below a directory that would be refused:
                 * the walk checks every directory it looks into before it
                 * meets the first one missing (-ENOENT). */
                r = check_path(path, geteuid(), ret_unsafe, &walked);
                if (r < 0 && r != -ENOENT)
                        return r;
                r = mkdir_parents(path, &created);
                if (r < 0)
                        return r;
                fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0)
                        return -errno;
                if (created && fchmod(fd, STATE_DIR_MODE) < 0)
                        return -errno;
        }

        if (fstat(fd, &st) < 0)
                return -errno;
        /* Checked after opening: the walk must end at the directory we hold,
         * else it was swapped meanwhile and proves nothing. */
        r = check_path(path, geteuid(), ret_unsafe, &walked);
        if (r < 0)
                return r;
        if (walked.st_dev != st.st_dev || walked.st_ino != st.st_ino)
                return -EAGAIN;

        remove_stale_temps_all(fd);

        d = calloc(1, sizeof *d);
        if (!d)
                return -ENOMEM;
        d->path = strdup(path);
        if (!d->path) {
                free(d);
                return -ENOMEM;
        }
        d->fd = TAKE_FD(fd);
        d->dev = st.st_dev;
        d->ino = st.st_ino;
        *ret = d;
        return 0;
}

struct state_dir *state_dir_free(struct state_dir *d) {
        if (!d)
                return NULL;
        closep(&d->fd);
        free(d->path);
        free(d);
        return NULL;
}

int state_dir_fd(const struct state_dir *d) {
        return d ? d->fd : -EBADF;
}

const char *state_dir_path(const struct state_dir *d) {
        return d ? d->path : NULL;
}

int state_dir_is_current(const struct state_dir *d) {
        struct stat st;

        if (!d)
                return -EINVAL;
        /* The path as given, symlinks followed: what readers open. */
        if (stat(d->path, &st) < 0)
                return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
        return st.st_dev == d->dev && st.st_ino == d->ino;
}

/* ---- content ---------------------------------------------------------- */

static int cmp_stream_ptr(const void *a, const void *b) {
        const struct state_stream *x = *(const struct state_stream *const *) a;
        const struct state_stream *y = *(const struct state_stream *const *) b;
        int c = strcmp(x->region, y->region);
        if (c == 0)
                c = strcmp(x->name, y->name);
        return c ? c : strcmp(strempty(x->account), strempty(y->account));
}

/* The account a stream's exports name, or NULL. */
static const char *export_account(const struct state_stream *s) {
        return s->account_in_exports ? s->account : NULL;
}

struct env_line {
        char *key;
        const char *value;
};

static int cmp_env_line(const void *a, const void *b) {
        return strcmp(((const struct env_line *) a)->key, ((const struct env_line *) b)->key);
}

static void env_lines_free(struct env_line *l, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(l[i].key);
        free(l);
}

static int env_add(struct env_line **lines, size_t *n, size_t *cap, char *key, const char *value) {
        if (!key)
                return -ENOMEM;
        if (*n == *cap) {
                size_t c = *cap ? *cap * 2 : 64;
                struct env_line *m = reallocarray(*lines, c, sizeof *m);
                if (!m) {
                        free(key);
                        return -ENOMEM;
                }
                *lines = m;
                *cap = c;
        }
        (*lines)[(*n)++] = (struct env_line) { key, value };
        return 0;
}

struct env_lines {
        struct env_line *v;
        size_t n;
};

static int render_streams_env(FILE *f, const void *userdata) {
        const struct env_lines *l = userdata;

        fputs("# Generated by kinesisd from its stream declarations. Do not edit: changes are overwritten.\n", f);
        for (size_t i = 0; i < l->n; i++) {
                fputs(l->v[i].key, f);
                fputc('=', f);
                fputs(l->v[i].value, f);
                fputc('\n', f);
        }
        return 0;
}

/* The lines of streams.env, sorted by variable name; -EINVAL if two exports
 * would share a variable. */
static int streams_env_lines(const struct state_export *e, const struct state_stream *const *v, size_t n,
                             struct env_lines *ret) {
        struct env_line *lines = NULL;
        size_t n_lines = 0, cap = 0;
        int r = 0;

        for (size_t i = 0; i < n && r >= 0; i++) {
                const struct state_stream *s = v[i];

                if (stream_exports_arn(s))
                        r = env_add(&lines, &n_lines, &cap,
                                    env_name_arn(e->default_region, s->region, export_account(s), s->name,
                                                 NULL),
                                    s->arn);
                for (size_t j = 0; j < s->n_consumers && r >= 0; j++)
                        if (arn_is_exportable(s->consumers[j].arn))
                                r = env_add(&lines, &n_lines, &cap,
                                            env_name_arn(e->default_region, s->region, export_account(s),
                                                         s->name, s->consumers[j].name),
                                            s->consumers[j].arn);
        }
        if (r < 0)
                goto fail;

        if (n_lines > 1)
                qsort(lines, n_lines, sizeof *lines, cmp_env_line);
        for (size_t i = 1; i < n_lines; i++)
                if (streq(lines[i - 1].key, lines[i].key)) {
                        /* The configuration should have refused this. */
                        log_debug("Two exports map to %s, refusing.", lines[i].key);
                        r = -EINVAL;
                        goto fail;
                }
        *ret = (struct env_lines) { lines, n_lines };
        return 0;
fail:
        env_lines_free(lines, n_lines);
        return r;
}

/* The per-stream lines of metrics.prom, gathered and handed to stdio in
 * blocks: a few fputs()/fprintf() per line were most of the cost of the
 * file (7 lines per stream, rewritten every pass). */
struct prom_out {
        FILE *f;
        size_t n;
        char b[4096];
};

static void prom_flush(struct prom_out *o) {
        if (o->n > 0)
                fwrite(o->b, 1, o->n, o->f);
        o->n = 0;
}

static void prom_put(struct prom_out *o, const char *p, size_t n) {
        if (n > sizeof o->b - o->n) {
                prom_flush(o);
                if (n > sizeof o->b) {
                        fwrite(p, 1, n, o->f);
                        return;
                }
        }
        memcpy(o->b + o->n, p, n);
        o->n += n;
}

static void prom_puts(struct prom_out *o, const char *s) {
        prom_put(o, s, strlen(s));
}

static void prom_u64(struct prom_out *o, uint64_t v) {
        char d[20];
        size_t i = sizeof d;

        do {
                d[--i] = (char) ('0' + v % 10);
                v /= 10;
        } while (v > 0);
        prom_put(o, d + i, sizeof d - i);
}

/* A label value per the text exposition format: \\, \" and \n escaped. */
static void prom_label_value(struct prom_out *o, const char *s) {
        const char *p, *run;

        for (p = run = strempty(s); *p; p++) {
                if (*p != '\\' && *p != '"' && *p != '\n')
                        continue;
                prom_put(o, run, (size_t) (p - run));
                run = p + 1;
                prom_puts(o, *p == '\\' ? "\\\\" : *p == '"' ? "\\\"" : "\\n");
        }
        prom_put(o, run, (size_t) (p - run));
}

static void prom_header(FILE *f, const char *name, const char *type, const char *help) {
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Microseconds as decimal seconds, exactly (no floating point rounding). */
static void prom_seconds(FILE *f, uint64_t usec) {
        fprintf(f, "%" PRIu64 ".%06" PRIu64 "\n", usec / USEC_PER_SEC, usec % USEC_PER_SEC);
}

enum stream_gauge {
        GAUGE_ACTIVE,
        GAUGE_SHARDS,
        GAUGE_RETENTION,
        GAUGE_FAILED,
        GAUGE_CONFLICT_HELD,
        GAUGE_WAITING,
        GAUGE_COMMITMENT,
};

static uint64_t stream_gauge_value(const struct state_stream *s, enum stream_gauge g) {
        switch (g) {
        case GAUGE_ACTIVE:
                return streq_ptr(s->status, "ACTIVE");
        case GAUGE_SHARDS:
                return s->shards;
        case GAUGE_RETENTION:
                return s->retention_hours;
        case GAUGE_FAILED:
                return streq_ptr(s->status, "FAILED");
        case GAUGE_CONFLICT_HELD:
                return s->conflict_held;
        case GAUGE_WAITING:
                return s->waiting != NULL;
        case GAUGE_COMMITMENT:
                return s->throughput_commitment && strncmp(s->throughput_commitment, "ENABLED", 7) == 0;
        }
        return 0;
}

struct metrics_doc {
        const struct state_metrics *m;
        const struct state_stream *const *v;
        size_t n;
};

static int render_metrics(FILE *f, const void *userdata) {
        const struct metrics_doc *d = userdata;
        const struct state_metrics *m = d->m;
        const struct state_stream *const *v = d->v;
        size_t n = d->n;
        static const struct {
                const char *name;
                enum stream_gauge gauge;
                const char *help;
        } gauges[] = {
                { "kinesisd_stream_active", GAUGE_ACTIVE, "Whether the declared stream is ACTIVE (1) or not (0)." },
                { "kinesisd_stream_shards", GAUGE_SHARDS, "Open shards of the stream as last observed." },
                { "kinesisd_stream_retention_hours", GAUGE_RETENTION, "Retention period of the stream in hours." },
                { "kinesisd_stream_failed", GAUGE_FAILED, "Whether kinesisd gave up on the stream (1) or not (0)." },
                { "kinesisd_stream_conflict_held", GAUGE_CONFLICT_HELD,
                  "Settings of the stream left alone because another party changed them back." },
                { "kinesisd_stream_waiting", GAUGE_WAITING,
                  "Whether the stream waits on an AWS limit or a busy stream (1) or not (0)." },
                { "kinesisd_stream_throughput_commitment", GAUGE_COMMITMENT,
                  "Whether the stream's account has a minimum throughput billing commitment (1) or not, "
                  "or it is unknown (0)." },
        };
        const struct {
                const char *name;
                uint64_t value;
                const char *help;
        } counters[] = {
                { "kinesisd_api_calls_total", m->api_calls,
                  "Kinesis API requests sent, each page, retry and resend included." },
                { "kinesisd_api_errors_total", m->api_errors,
                  "Kinesis API calls that failed after their retries." },
                { "kinesisd_api_throttled_total", m->api_throttled,
                  "Kinesis API requests answered with a throttling error." },
                { "kinesisd_changes_total", m->changes_made, "Changes kinesisd made in AWS." },
                { "kinesisd_conflicts_total", m->conflicts,
                  "Corrections kinesisd found changed back by another party." },
                { "kinesisd_reconcile_passes_total", m->reconcile_passes, "Reconcile passes completed." },
        };
        struct prom_out out, *o = &out;

        o->f = f;
        o->n = 0;
        for (size_t g = 0; g < ELEMENTSOF(gauges); g++) {
                prom_header(f, gauges[g].name, "gauge", gauges[g].help);
                for (size_t i = 0; i < n; i++) {
                        /* A role's account is a label: one name and region may
                         * be in two accounts, and then they are two series. */
                        prom_puts(o, gauges[g].name);
                        prom_put(o, "{", 1);
                        if (v[i]->account) {
                                prom_puts(o, "account=\"");
                                prom_label_value(o, v[i]->account);
                                prom_puts(o, "\",");
                        }
                        prom_puts(o, "region=\"");
                        prom_label_value(o, v[i]->region);
                        prom_puts(o, "\",stream=\"");
                        prom_label_value(o, v[i]->name);
                        prom_puts(o, "\"} ");
                        prom_u64(o, stream_gauge_value(v[i], gauges[g].gauge));
                        prom_put(o, "\n", 1);
                }
                prom_flush(o);
        }
        for (size_t c = 0; c < ELEMENTSOF(counters); c++) {
                prom_header(f, counters[c].name, "counter", counters[c].help);
                fprintf(f, "%s %" PRIu64 "\n", counters[c].name, counters[c].value);
        }
        prom_header(f, "kinesisd_last_pass_timestamp_seconds", "gauge",
                    "When the last reconcile pass ended, in seconds since the epoch (0: none yet).");
        fputs("kinesisd_last_pass_timestamp_seconds ", f);
        prom_seconds(f, m->last_pass_usec);
        prom_header(f, "kinesisd_last_pass_duration_seconds", "gauge", "How long the last reconcile pass took.");
        fputs("kinesisd_last_pass_duration_seconds ", f);
        prom_seconds(f, m->last_pass_duration_usec);
        /* The listing confirms status and mode every pass; the other
         * settings are as old as this (reconcile.deep_interval). */
        prom_header(f, "kinesisd_oldest_deep_check_timestamp_seconds", "gauge",
                    "When the stream checked longest ago was last deep-checked, in seconds since the epoch "
                    "(0: none).");
        fputs("kinesisd_oldest_deep_check_timestamp_seconds ", f);
        prom_seconds(f, m->oldest_deep_usec);
        prom_header(f, "kinesisd_oldest_deep_check_age_seconds", "gauge",
                    "Age of that check when this file was written (0: none).");
        fputs("kinesisd_oldest_deep_check_age_seconds ", f);
        prom_seconds(f, m->oldest_deep_age_usec);
        prom_header(f, "kinesisd_config_reload_failed", "gauge",
                    "Whether the last configuration reload was refused (1) or not (0).");
        fprintf(f, "kinesisd_config_reload_failed %d\n", m->config_reload_failed ? 1 : 0);
        return 0;
}

/* ---- streams/<region>/<name>.arn, streams/<account>-<region>/<name>.arn - */

/* "ACCOUNT-REGION": 12 digits, '-', a region, the NUL. */
#define ARN_DIR_SIZE (PATH_NAME_MAX + 16)

/* The directory of a stream's .arn file under streams/: its region, or
 * ACCOUNT-REGION where the exports name the account (a region never starts
 * with a digit, so the two cannot meet). */
static const char *arn_dir(const struct state_stream *s, char *buf) {
        if (!export_account(s))
                return s->region;
        snprintf(buf, ARN_DIR_SIZE, "%s-%s", s->account, s->region);
        return buf;
}

static bool stream_gets_arn_file(const struct state_stream *s) {
        return stream_exports_arn(s) && name_is_path_safe(s->region) && name_is_path_safe(s->name) &&
               (!export_account(s) || name_is_path_safe(s->account));
}

struct arn_key {
        const char *dir, *name;
};

static int cmp_arn_key(const void *k, const void *e) {
        const struct arn_key *x = k;
        const struct state_stream *y = *(const struct state_stream *const *) e;
        char buf[ARN_DIR_SIZE];
        int c = strcmp(x->dir, arn_dir(y, buf));
        return c ? c : strcmp(x->name, y->name);
}

/* The .arn set is sorted by (directory, name), to be searched. */
static int cmp_arn_ptr(const void *a, const void *b) {
        const struct state_stream *x = *(const struct state_stream *const *) a;
        char buf[ARN_DIR_SIZE];
        return cmp_arn_key(&(struct arn_key){ arn_dir(x, buf), x->name }, b);
}

static bool arn_set_contains(const struct state_stream *const *set, size_t n, const char *dir,
                             const char *name) {
        return n > 0 && bsearch(&(struct arn_key){ dir, name }, set, n, sizeof *set, cmp_arn_key);
}

/* Note that a file (path: printf-style, relative to the state directory)
 * failed: in the report, and at debug level. Only the first
 * STATE_FAILURES_MAX are kept; running out of memory for one drops it from
 * the list, never from the count. */
_printf_(4, 5) static void note_failure(struct state_changes *ch, int error, bool removal,
                                        const char *fmt, ...) {
        _cleanup_free_ char *path = NULL;
        va_list ap;
        int l;

        va_start(ap, fmt);
        l = vasprintf(&path, fmt, ap);
        va_end(ap);
        if (l < 0)
                path = NULL;
        log_debug_errno(error, "Failed to %s %s: %m", removal ? "remove" : "write", strna(path));
        ch->n_failed++;
        if (!path || ch->n_failures >= STATE_FAILURES_MAX)
                return;
        if (!ch->failures) {
                ch->failures = calloc(STATE_FAILURES_MAX, sizeof *ch->failures);
                if (!ch->failures)
                        return;
        }
        ch->failures[ch->n_failures++] = (struct state_failure){ TAKE_PTR(path), removal, -abs(error) };
}

/* Write the .arn files of set; failed[i] says whether set[i]'s failed. */
static void write_arn_files(int dirfd, const struct state_stream *const *set, size_t n, bool *failed,
                            struct state_changes *ch) {
        _cleanup_close_ int streams_fd = -1;
        int k;

        if (n == 0)
                return;
        k = open_or_create_dir(dirfd, STREAMS_DIR, &streams_fd);
        if (k < 0) {
                note_failure(ch, k, false, STREAMS_DIR "/");
                for (size_t i = 0; i < n; i++)
                        failed[i] = true;
                return;
        }

        for (size_t i = 0; i < n;) {
                _cleanup_close_ int region_fd = -1;
                char buf[ARN_DIR_SIZE], other[ARN_DIR_SIZE];
                const char *region = arn_dir(set[i], buf);
                size_t end = i;

                while (end < n && streq(arn_dir(set[end], other), region))
                        end++;
                k = open_or_create_dir(streams_fd, region, &region_fd);
                if (k < 0) {
                        note_failure(ch, k, false, STREAMS_DIR "/%s/", region);
                        for (; i < end; i++)
                                failed[i] = true;
                        continue;
                }
                for (; i < end; i++) {
                        /* Both fit: the set holds path-safe names and exportable ARNs. */
                        char name[PATH_NAME_MAX + sizeof ARN_SUFFIX], content[ARN_MAX + 2];
                        size_t nl = strlen(set[i]->name), al = strlen(set[i]->arn);

                        memcpy(name, set[i]->name, nl);
                        memcpy(name + nl, ARN_SUFFIX, sizeof ARN_SUFFIX);
                        memcpy(content, set[i]->arn, al);
                        content[al] = '\n';
                        k = atomic_file_write(region_fd, name, content, al + 1);
                        if (k < 0) {
                                note_failure(ch, k, false, STREAMS_DIR "/%s/%s" ARN_SUFFIX, region,
                                             set[i]->name);
                                failed[i] = true;
                        } else if (k > 0)
                                ch->files_written++;
                }
        }
}

/* Remove .arn files (regular files only, never through a symlink) of streams
 * not in set, and region directories left empty. */
static void remove_stale_arn_files(int dirfd, const struct state_stream *const *set, size_t n,
                                   struct state_changes *ch) {
        _cleanup_close_ int streams_fd = -1;
        _cleanup_closedir_ DIR *dir = NULL;
        char stem[NAME_MAX + 1];
        struct dirent *de;
        int k;

        streams_fd = openat(dirfd, STREAMS_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (streams_fd < 0) {
                /* Missing, or something else in its place (a symlink,
                 * a file): nothing of ours to remove. Any other error is
                 * reported by the writing, when there was any. */
                if (errno != ENOENT && errno != ELOOP && errno != ENOTDIR && n == 0)
                        note_failure(ch, errno, true, STREAMS_DIR "/");
                return;
        }
        k = opendir_at_fd(streams_fd, &dir);
        if (k < 0) {
                note_failure(ch, k, true, STREAMS_DIR "/");
                return;
        }

        while ((de = readdir(dir))) {
                _cleanup_close_ int region_fd = -1;
                _cleanup_closedir_ DIR *rdir = NULL;
                const char *region = de->d_name;
                struct dirent *re;
                bool region_removed_files = false, region_empty = true;

                if (!name_is_path_safe(region) || !is_dir_nofollow(streams_fd, region))
                        continue;
                region_fd = openat(streams_fd, region, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (region_fd < 0) {
                        note_failure(ch, errno, true, STREAMS_DIR "/%s/", region);
                        continue;
                }
                k = opendir_at_fd(region_fd, &rdir);
                if (k < 0) {
                        note_failure(ch, k, true, STREAMS_DIR "/%s/", region);
                        continue;
                }
                while ((re = readdir(rdir))) {
                        if (streq(re->d_name, ".") || streq(re->d_name, ".."))
                                continue;
                        if (!is_arn_file_name(re->d_name, stem) || arn_set_contains(set, n, region, stem) ||
                            !is_regular_nofollow(region_fd, re->d_name)) {
                                region_empty = false;
                                continue;
                        }
                        if (unlinkat(region_fd, re->d_name, 0) < 0) {
                                note_failure(ch, errno, true, STREAMS_DIR "/%s/%s", region, re->d_name);
                                region_empty = false;
                                continue;
                        }
                        log_debug("Removed " STREAMS_DIR "/%s/%s.", region, re->d_name);
                        ch->files_removed++;
                        region_removed_files = true;
                }
                if (region_removed_files && fsync(region_fd) < 0)
                        note_failure(ch, errno, true, STREAMS_DIR "/%s/", region);

                if (region_empty) {
                        /* ENOTEMPTY: something appeared meanwhile; leave it. */
                        if (unlinkat(streams_fd, region, AT_REMOVEDIR) < 0) {
                                if (errno != ENOTEMPTY && errno != EEXIST)
                                        note_failure(ch, errno, true, STREAMS_DIR "/%s/", region);
                        } else if (fsync(streams_fd) < 0)
                                note_failure(ch, errno, true, STREAMS_DIR "/");
                }
        }
}

/* ---- export ----------------------------------------------------------- */

static int validate_export(const struct state_export *e) {
        if (e->n_streams > 0 && !e->streams)
                return -EINVAL;
        for (size_t i = 0; i < e->n_streams; i++) {
                const struct state_stream *s = &e->streams[i];

                if (!s->name || !s->region || (s->n_consumers > 0 && !s->consumers))
                        return -EINVAL;
                for (size_t j = 0; j < s->n_consumers; j++)
                        if (!s->consumers[j].name)
                                return -EINVAL;
        }
        return 0;
}

static bool count_write(struct state_changes *ch, const char *name, int k) {
        if (k < 0) {
                note_failure(ch, k, false, "%s", name);
                return false;
        }
        if (k > 0)
                ch->files_written++;
        return true;
}

/* Whether s has a line in streams.env. */
static bool stream_in_env(const struct state_stream *s) {
        if (stream_exports_arn(s))
                return true;
        for (size_t j = 0; j < s->n_consumers; j++)
                if (arn_is_exportable(s->consumers[j].arn))
                        return true;
        return false;
}

/* Whether streams/<dir>/<name>.arn holds arn and a newline. */
static bool arn_file_holds(const struct state_dir *d, const char *dir, const char *name, const char *arn) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        size_t len;

        if (!name_is_path_safe(dir) || asprintf(&path, STREAMS_DIR "/%s/%s" ARN_SUFFIX, dir, name) < 0)
                return false;
        /* O_NOFOLLOW refuses a symlink as the file; the directories on the
         * way are ours (state_dir_open() checked the directory). */
        if (read_file_bounded_at(d->fd, path, O_NOFOLLOW, ARN_MAX + 2, &text, &len, NULL) < 0)
                return false;
        return len == strlen(arn) + 1 && strncmp(text, arn, len - 1) == 0 && text[len - 1] == '\n';
}

bool state_arn_file_holds(const struct state_dir *d, const char *account, const char *region,
                          const char *name, const char *arn) {
        char dir[ARN_DIR_SIZE];

        if (!d || !arn || !name_is_path_safe(region) || !name_is_path_safe(name))
                return false;
        if (arn_file_holds(d, region, name, arn))
                return true;
        /* Where two accounts declare the name: ACCOUNT-REGION. */
        if (!account || !name_is_path_safe(account))
                return false;
        snprintf(dir, sizeof dir, "%s-%s", account, region);
        return arn_file_holds(d, dir, name, arn);
}

void state_changes_done(struct state_changes *ch) {
        if (!ch)
                return;
        for (size_t i = 0; i < ch->n_failures; i++)
                free(ch->failures[i].path);
        free(ch->failures);
        *ch = (struct state_changes){};
}

const char *state_error_text(int error) {
        if (abs(error) == ELOOP)
                return "a symbolic link, not followed";
        return strerror(abs(error));
}

int state_export(struct state_dir *d, const struct state_export *e, struct state_changes *ret) {
        _cleanup_free_ const struct state_stream **v = NULL;
        _cleanup_free_ const struct state_stream **arn_set = NULL;
        _cleanup_free_ bool *arn_failed = NULL;
        struct env_lines env = {};
        size_t n_arn = 0;
        struct state_changes ch = {};
        bool env_ok, json_ok;
        int r, k;

        if (!d || !e)
                return -EINVAL;
        r = validate_export(e);
        if (r < 0)
                return r;

        /* A refused export (validate_export) leaves every file as it was. */
        if (e->n_streams > 0) {
                v = calloc(e->n_streams, sizeof *v);
                arn_set = calloc(e->n_streams, sizeof *arn_set);
                arn_failed = calloc(e->n_streams, sizeof *arn_failed);
                if (!v || !arn_set || !arn_failed)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < e->n_streams; i++)
                v[i] = &e->streams[i];
        if (e->n_streams > 1)
                qsort(v, e->n_streams, sizeof *v, cmp_stream_ptr);
        for (size_t i = 0; i < e->n_streams; i++)
                if (stream_gets_arn_file(v[i]))
                        arn_set[n_arn++] = v[i];
        if (n_arn > 1)
                qsort(arn_set, n_arn, sizeof *arn_set, cmp_arn_ptr);

        /* streams.env's lines first: they are where two streams meeting in one
         * variable is found (-EINVAL), and then nothing at all may be written.
         * Then streams.env and streams.json, which most consumers read, ahead
         * of the many small .arn files: on a disk with little room left they
         * get it first. metrics.prom, for a collector, and the removals come
         * last. Each file is rendered straight into its temp file (or
         * compared with the file in place), so no file is ever whole in
         * memory. */
        r = streams_env_lines(e, v, e->n_streams, &env);
        if (r < 0)
                return r;
        k = atomic_file_write_rendered(d->fd, STREAMS_ENV, render_streams_env, &env, true);
        env_lines_free(env.v, env.n);
        env_ok = count_write(&ch, STREAMS_ENV, k);
        k = state_json_write(d->fd, v, e->n_streams, e->now_usec);
        json_ok = count_write(&ch, STREAMS_JSON, k);
        ch.json_written = k > 0;
        write_arn_files(d->fd, arn_set, n_arn, arn_failed, &ch);
        if (e->metrics) {
                struct metrics_doc m = { e->metrics, v, e->n_streams };
                k = atomic_file_write_rendered(d->fd, METRICS_PROM, render_metrics, &m, true);
                (void) count_write(&ch, METRICS_PROM, k);
        }
        remove_stale_arn_files(d->fd, arn_set, n_arn, &ch);

        for (size_t i = 0; i < e->n_streams; i++) {
                bool arn_bad = false;

                if (stream_gets_arn_file(v[i])) {
                        char buf[ARN_DIR_SIZE];
                        const struct state_stream *const *at =
                                bsearch(&(struct arn_key){ arn_dir(v[i], buf), v[i]->name }, arn_set, n_arn,
                                        sizeof *arn_set, cmp_arn_key);
                        arn_bad = at && arn_failed[at - arn_set];
                }
                if (!json_ok || arn_bad || (!env_ok && stream_in_env(v[i])))
                        ch.streams_unexported++;
        }

        r = ch.n_failed > 0;
        if (ret)
                *ret = ch;
        else
                state_changes_done(&ch);
        return r;
}
