/* Expanding one include: pattern into file names, with a bound on the work
 * done (DESIGN §3). glob(3) cannot be stopped: it lists every match of every
 * directory level before it returns, so a pattern with a wildcard in every
 * component walks the whole file system and holds all of it in memory
 * before the caller can count.
 *
 * Only config*.c and tests include this header. */
#pragma once

#include <stddef.h>

/* Expand pattern: '*', '?' and '[...]' within one path component, '\' makes
 * the next character literal; a leading '.' of a name is matched only by a
 * '.' in the pattern, and "." and ".." never match. A name matched by a
 * pattern component that is not the last is followed if it is a directory
 * (or a symlink to one). A pattern without any of '*', '?', '[' matches the
 * one path it spells when that exists.
 *
 * Every directory opened, name read and path looked up takes one unit of
 * *budget; expansion stops when it is used up. At most max_matches names are
 * collected.
 *
 * Returns 0 with the matches sorted byte-wise in *ret_paths (a
 * NULL-terminated vector, possibly empty) and their number in *ret_n;
 * -E2BIG when more than max_matches names match; -ENOBUFS when *budget ran
 * out first; -ENOMEM. Directories that cannot be read are skipped, as glob(3)
 * does. */
int config_glob(const char *pattern, size_t max_matches, size_t *budget, char ***ret_paths,
                size_t *ret_n);
