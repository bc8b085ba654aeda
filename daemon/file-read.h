/* Reading a whole small file with a hard size cap: configuration files,
 * shared AWS files, token files. One reader, so every caller gets the same
 * refusals. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

/* Read the regular file at path, at most max bytes, NUL-terminated. Opened
 * O_NONBLOCK, so a FIFO never hangs the caller. Returns 0 (and the text, its
 * length and the file's stat, each pointer may be NULL but ret_text), or
 * -EISDIR (a directory), -EBADFD (not a regular file), -EFBIG (over max,
 * however the file grows while read), -ENOMEM, or open's and read's errno. */
int read_file_bounded(const char *path, size_t max, char **ret_text, size_t *ret_len,
                      struct stat *ret_st);

/* The same, path relative to dirfd (or AT_FDCWD), opened with flags added
 * (O_NOFOLLOW: a symlink at path is refused with -ELOOP, never followed). */
int read_file_bounded_at(int dirfd, const char *path, int flags, size_t max, char **ret_text,
                         size_t *ret_len, struct stat *ret_st);
