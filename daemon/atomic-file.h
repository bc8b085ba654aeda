/* Replacing one file in a directory atomically: a temp file beside it,
 * write, fsync, rename, fsync the directory; and nothing at all when the
 * file already holds exactly the new content, so a watcher of the file wakes
 * only on a real change.
 *
 * Works on a directory file descriptor and a plain name; never follows a
 * symlink at the name, never rewrites a file in place, never logs. */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

/* Every file written here gets this mode, whatever the umask... */
#define ATOMIC_FILE_MODE 0644
/* ... but those that hold secrets, this one. */
#define ATOMIC_FILE_PRIVATE_MODE 0600

/* Writes a file's content to f; returns negative errno on failure. It may be
 * called twice for one write (to compare, then to write). */
typedef int (*atomic_file_render_fn)(FILE *f, const void *userdata);

/* Replace dirfd/name atomically with data, mode 0644, unless it already is a
 * regular file of mode 0644 holding exactly data. name is a plain file name
 * (no '/'); a symlink at name is replaced, never followed. Returns 1 if
 * written, 0 if unchanged, negative errno. */
int atomic_file_write(int dirfd, const char *name, const void *data, size_t len);

/* Replace dirfd/name atomically with data that is a secret (a token): the
 * temp file is created 0600, so nobody else can read it even for a moment,
 * and it is always written. Returns 1, or negative errno. */
int atomic_file_write_private(int dirfd, const char *name, const void *data, size_t len);

/* Like atomic_file_write, with the content produced by render straight into
 * the temp file, so that it is never whole in memory. With compare, an
 * existing regular 0644 file whose bytes equal what render produces is left
 * alone (0). Returns 1 if written, 0 if unchanged, negative errno (the temp
 * file removed). */
int atomic_file_write_rendered(int dirfd, const char *name, atomic_file_render_fn render,
                               const void *userdata, bool compare);

/* For callers whose comparison is more than bytes (a file that carries its
 * own timestamp): open dirfd/name for reading if it is a regular 0644 file
 * (not a symlink, FIFO or device), and give its size. Returns the fd, or -1
 * when there is no such file to compare with. */
int atomic_file_open_existing(int dirfd, const char *name, off_t *ret_size);

/* 1 if fd (from atomic_file_open_existing, size bytes) holds exactly what
 * render produces, 0 if not, negative errno if render fails. Memory use does
 * not grow with the file. */
int atomic_file_matches(int fd, off_t size, atomic_file_render_fn render, const void *userdata);

/* If entry is a temp file name this module creates (".TARGET.XXXXXX"), copy
 * TARGET into target and return true: for removing what a crash left. */
bool atomic_file_temp_target(const char *entry, char target[static NAME_MAX + 1]);
