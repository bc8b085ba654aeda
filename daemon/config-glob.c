/* Bounded expansion of include: patterns (see config-glob.h).
 *
 * The pattern is taken one path component at a time, depth first: a
 * component without wildcards is appended as it is, one with wildcards is
 * matched with fnmatch(3) against the names of the directory reached so far.
 * A directory's matching names are read whole and the directory closed
 * before descending, so the descriptors in use never depend on the depth;
 * the memory in use is one path, the names of the directories on the current
 * branch and the matches, all bounded by the budget and max_matches.
 *
 * This file must never log, never read a file's content and never do more
 * than *budget units of work. */
#include "config-glob.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

/* Names of one directory held before the list first grows. */
#define GLOB_NAMES_ALLOC_FIRST 16

struct expansion {
        size_t *budget;
        size_t max_matches;
        char **paths; /* NULL-terminated once returned */
        size_t n, n_alloc;
        char path[PATH_MAX]; /* the path reached so far */
        int stop;            /* a negative errno once expansion must end */
};

/* Take one unit of work; false (and stop set) when none is left. */
static bool spend(struct expansion *e) {
        if (*e->budget == 0) {
                e->stop = -ENOBUFS;
                return false;
        }
        (*e->budget)--;
        return true;
}

static bool has_wildcard(const char *s, size_t len) {
        for (size_t i = 0; i < len; i++) {
                if (s[i] == '\\' && i + 1 < len)
                        i++;
                else if (s[i] == '*' || s[i] == '?' || s[i] == '[')
                        return true;
        }
        return false;
}

static void add_match(struct expansion *e) {
        char *p;

        if (e->n == e->max_matches) {
                e->stop = -E2BIG;
                return;
        }
        if (e->n + 1 >= e->n_alloc) {
                size_t na = e->n_alloc ? e->n_alloc * 2 : GLOB_NAMES_ALLOC_FIRST;
                char **v = reallocarray(e->paths, na, sizeof(*v));
                if (!v) {
                        e->stop = -ENOMEM;
                        return;
                }
                e->paths = v;
                e->n_alloc = na;
        }
        p = strdup(e->path);
        if (!p) {
                e->stop = -ENOMEM;
                return;
        }
        e->paths[e->n++] = p;
        e->paths[e->n] = NULL;
}

static int name_cmp(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* The names in the directory e->path (of length plen; "" is the current
 * directory) that match the pattern component comp; with dirs_only, not those
 * the directory says are neither directories nor symlinks (no descent into
 * them would find anything). */
static char **read_matching(struct expansion *e, size_t plen, const char *comp, bool dirs_only,
                            size_t *ret_n) {
        _cleanup_strv_free_ char **names = NULL;
        size_t n = 0, n_alloc = 0;
        DIR *d;

        *ret_n = 0;
        if (!spend(e))
                return NULL;
        d = opendir(plen > 0 ? e->path : ".");
        if (!d)
                return NULL; /* missing, not a directory, unreadable: no match here */
        for (;;) {
                struct dirent *de;

                if (!spend(e))
                        break;
                errno = 0;
                de = readdir(d);
                if (!de)
                        break;
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (dirs_only && de->d_type != DT_DIR && de->d_type != DT_LNK && de->d_type != DT_UNKNOWN)
                        continue;
                if (fnmatch(comp, de->d_name, FNM_PERIOD) != 0)
                        continue;
                if (n + 1 >= n_alloc) {
                        size_t na = n_alloc ? n_alloc * 2 : GLOB_NAMES_ALLOC_FIRST;
                        char **v = reallocarray(names, na, sizeof(*v));
                        if (!v) {
                                e->stop = -ENOMEM;
                                break;
                        }
                        names = v;
                        n_alloc = na;
                }
                names[n] = strdup(de->d_name);
                if (!names[n]) {
                        e->stop = -ENOMEM;
                        break;
                }
                names[++n] = NULL;
        }
        closedir(d);
        if (e->stop < 0 || n == 0)
                return NULL;
        /* Deterministic order, so that the same tree stops at the same place. */
        qsort(names, n, sizeof(*names), name_cmp);
        *ret_n = n;
        return TAKE_PTR(names);
}

/* Append s (len bytes, '\' escapes removed when unescape) to e->path at plen.
 * Returns the new length, or 0 when the path would not fit (no match). */
static size_t path_append(struct expansion *e, size_t plen, const char *s, size_t len, bool unescape) {
        for (size_t i = 0; i < len; i++) {
                if (unescape && s[i] == '\\' && i + 1 < len)
                        i++;
                if (plen + 1 >= sizeof(e->path))
                        return 0;
                e->path[plen++] = s[i];
        }
        e->path[plen] = '\0';
        return plen;
}

/* Match rest (what is left of the pattern) below e->path (plen bytes, empty
 * or ending in '/'). Recursion depth is bounded by the components of the
 * pattern, each of which adds at least two bytes to a path of PATH_MAX. */
static void expand(struct expansion *e, size_t plen, const char *rest) {
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_free_ char *comp = NULL;
        const char *end, *next;
        size_t clen, n;
        bool last;

        while (*rest == '/')
                rest++;
        end = strchrnul(rest, '/');
        clen = (size_t) (end - rest);
        next = end;
        while (*next == '/')
                next++;
        last = *next == '\0';

        if (!has_wildcard(rest, clen)) {
                struct stat st;
                size_t nl;

                if (!spend(e))
                        return;
                nl = path_append(e, plen, rest, clen, true);
                if (nl == 0)
                        return;
                if (last) {
                        /* A trailing '/' asks for a directory, as it does in glob(3). */
                        if (*end == '/')
                                nl = path_append(e, nl, "/", 1, false);
                        if (nl > 0 && lstat(e->path, &st) >= 0)
                                add_match(e);
                        return;
                }
                nl = path_append(e, nl, "/", 1, false);
                if (nl > 0)
                        expand(e, nl, next);
                return;
        }

        comp = strndup(rest, clen);
        if (!comp) {
                e->stop = -ENOMEM;
                return;
        }
        names = read_matching(e, plen, comp, !last || *end == '/', &n);
        for (size_t i = 0; i < n && e->stop == 0; i++) {
                size_t nl = path_append(e, plen, names[i], strlen(names[i]), false);
                if (nl == 0)
                        continue;
                if (last) {
                        if (*end == '/') {
                                struct stat st;
                                if (!spend(e))
                                        return;
                                nl = path_append(e, nl, "/", 1, false);
                                if (nl == 0 || stat(e->path, &st) < 0 || !S_ISDIR(st.st_mode))
                                        continue;
                        }
                        add_match(e);
                        continue;
                }
                nl = path_append(e, nl, "/", 1, false);
                if (nl > 0)
                        expand(e, nl, next);
        }
}

int config_glob(const char *pattern, size_t max_matches, size_t *budget, char ***ret_paths,
                size_t *ret_n) {
        struct expansion *e;
        size_t plen = 0;
        int r;

        e = calloc(1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        e->budget = budget;
        e->max_matches = max_matches;
        if (pattern[0] == '/')
                plen = path_append(e, 0, "/", 1, false);
        if (pattern[strspn(pattern, "/")] != '\0')
                expand(e, plen, pattern);
        r = e->stop;
        if (r >= 0) {
                if (e->n > 1)
                        qsort(e->paths, e->n, sizeof(*e->paths), name_cmp);
                if (!e->paths)
                        e->paths = calloc(1, sizeof(char *));
                if (!e->paths)
                        r = -ENOMEM;
        }
        if (r >= 0) {
                *ret_paths = TAKE_PTR(e->paths);
                *ret_n = e->n;
        }
        strv_free(e->paths);
        free(e);
        return r;
}
