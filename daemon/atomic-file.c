/* Atomic replacement of one file in a directory (atomic-file.h).
 *
 * Readers may look at the file at any instant and the process may die at any
 * instant, so the file is only ever replaced by rename(2) of a complete,
 * fsync'ed temp file beside it, and only when its bytes change. Everything is
 * reached with *at() calls and O_NOFOLLOW: a symlink planted in the directory
 * is replaced, never written through.
 *
 * This file must never rewrite a file in place, never leave a temp file
 * behind on a failure it saw, and never log. */
#include "atomic-file.h"

#include <fcntl.h>
#include <stdio_ext.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "util.h"

#define TEMP_SUFFIX_LEN 6
#define TEMP_TRIES 128
/* Compare an existing file with new content this many bytes at a time. */
#define COMPARE_CHUNK 4096
/* 2^64 divided by the golden ratio: spreads a counter over every bit. */
#define GOLDEN_RATIO_64 UINT64_C(0x9e3779b97f4a7c15)

/* A file name we may create in a directory: no '/', not "." or "..", and short
 * enough that ".NAME.XXXXXX" still fits NAME_MAX. */
static bool name_is_plain(const char *name) {
        size_t l;

        if (!name)
                return false;
        l = strlen(name);
        if (l == 0 || l + 2 + TEMP_SUFFIX_LEN > NAME_MAX)
                return false;
        if (streq(name, ".") || streq(name, ".."))
                return false;
        return !strchr(name, '/');
}

static bool is_suffix_char(char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static void random_suffix(char out[static TEMP_SUFFIX_LEN + 1]) {
        static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        static uint64_t counter;
        uint8_t bytes[TEMP_SUFFIX_LEN];

        if (getrandom(bytes, sizeof bytes, GRND_NONBLOCK) != (ssize_t) sizeof bytes) {
                /* Uniqueness comes from O_EXCL anyway; this only has to make
                 * collisions unlikely. */
                struct timespec ts = {};
                uint64_t x;

                (void) clock_gettime(CLOCK_MONOTONIC, &ts);
                x = ((uint64_t) getpid() << 40) ^ (uint64_t) ts.tv_nsec ^ (++counter * GOLDEN_RATIO_64);
                for (size_t i = 0; i < sizeof bytes; i++)
                        bytes[i] = (uint8_t) (x >> (8 * i));
        }
        for (size_t i = 0; i < TEMP_SUFFIX_LEN; i++)
                out[i] = chars[bytes[i] % (sizeof chars - 1)];
        out[TEMP_SUFFIX_LEN] = 0;
}

bool atomic_file_temp_target(const char *entry, char target[static NAME_MAX + 1]) {
        size_t l = strlen(entry);

        if (l < 1 + 1 + 1 + TEMP_SUFFIX_LEN || entry[0] != '.' || entry[l - TEMP_SUFFIX_LEN - 1] != '.')
                return false;
        for (size_t i = l - TEMP_SUFFIX_LEN; i < l; i++)
                if (!is_suffix_char(entry[i]))
                        return false;
        memcpy(target, entry + 1, l - TEMP_SUFFIX_LEN - 2);
        target[l - TEMP_SUFFIX_LEN - 2] = 0;
        return true;
}

static int write_all(int fd, const void *data, size_t len) {
        const uint8_t *p = data;

        while (len > 0) {
                ssize_t k = write(fd, p, len);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        return -EIO;
                p += k;
                len -= (size_t) k;
        }
        return 0;
}

/* Open dirfd/name for comparing, if it is a regular 0644 file; -1 if not.
 * Anything in the way of finding out (missing, a symlink, unreadable) counts
 * as "not there". */
int atomic_file_open_existing(int dirfd, const char *name, off_t *ret_size) {
        _cleanup_close_ int fd = -1;
        struct stat st, st2;

        /* Look before opening: opening a FIFO or device planted here could
         * block or have side effects. */
        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return -1;
        if (!S_ISREG(st.st_mode) || (st.st_mode & 07777) != ATOMIC_FILE_MODE)
                return -1;
        fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -1;
        if (fstat(fd, &st2) < 0 || st2.st_ino != st.st_ino || st2.st_dev != st.st_dev)
                return -1;
        *ret_size = st2.st_size;
        return TAKE_FD(fd);
}

/* A stdio sink that compares what is written to it with the bytes of an
 * existing file, in order, without keeping either: so a file of any size is
 * checked for "unchanged" in a buffer's worth of memory. */
struct compare_sink {
        int fd;
        off_t off;
        bool differs;
};

static ssize_t compare_sink_write(void *cookie, const char *data, size_t len) {
        struct compare_sink *c = cookie;
        size_t done = 0;

        while (!c->differs && done < len) {
                char buf[COMPARE_CHUNK];
                size_t want = len - done < sizeof buf ? len - done : sizeof buf;
                ssize_t k = pread(c->fd, buf, want, c->off + (off_t) done);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0 || memcmp(buf, data + done, (size_t) k) != 0)
                        c->differs = true;
                else
                        done += (size_t) k;
        }
        c->off += (off_t) len;
        return (ssize_t) len;
}

/* A stdio sink that writes through to a file descriptor. */
static ssize_t fd_sink_write(void *cookie, const char *data, size_t len) {
        int r = write_all(*(int *) cookie, data, len);

        if (r < 0) {
                errno = -r;
                return -1;
        }
        return (ssize_t) len;
}

/* Run render into a stdio stream over the given sink. The stream is ours
 * alone, so stdio's locking is switched off. */
static int render_into(cookie_write_function_t *sink, void *cookie, atomic_file_render_fn render,
                       const void *userdata) {
        FILE *f = fopencookie(cookie, "w", (cookie_io_functions_t) { .write = sink });
        int r;

        if (!f)
                return -ENOMEM;
        (void) __fsetlocking(f, FSETLOCKING_BYCALLER);
        r = render(f, userdata);
        if (ferror(f) && r >= 0)
                r = errno > 0 ? -errno : -EIO;
        if (fclose(f) != 0 && r >= 0)
                r = errno > 0 ? -errno : -EIO;
        return r;
}

/* 1 if fd (an existing file of size bytes) holds exactly what render
 * produces, 0 if not, negative errno if render fails. */
int atomic_file_matches(int fd, off_t size, atomic_file_render_fn render, const void *userdata) {
        struct compare_sink c = { .fd = fd };
        int r;

        r = render_into(compare_sink_write, &c, render, userdata);
        if (r < 0)
                return r;
        return !c.differs && c.off == size;
}

/* fd_matches() for dirfd/name, which must be a regular 0644 file. */
static int file_matches(int dirfd, const char *name, atomic_file_render_fn render, const void *userdata) {
        _cleanup_close_ int fd = -1;
        off_t size = 0;

        fd = atomic_file_open_existing(dirfd, name, &size);
        if (fd < 0)
                return 0;
        return atomic_file_matches(fd, size, render, userdata);
}

/* Create a new temp file beside name: ".<name>.<random>", of mode (before the umask). */
static int open_temp(int dirfd, const char *name, mode_t mode, char tmp[static NAME_MAX + 1]) {
        char suffix[TEMP_SUFFIX_LEN + 1];

        for (unsigned i = 0; i < TEMP_TRIES; i++) {
                int fd;

                random_suffix(suffix);
                (void) snprintf(tmp, NAME_MAX + 1, ".%s.%s", name, suffix);
                fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY,
                            mode);
                if (fd >= 0)
                        return fd;
                if (errno != EEXIST)
                        return -errno;
        }
        return -EEXIST;
}

/* Make the written temp file durable and put it in place of name; on
 * failure remove it. Takes fd. */
static int commit_temp(int dirfd, int fd, const char *tmp, const char *name, mode_t mode) {
        int r;

        /* The create mode went through the umask: set the one asked for. */
        if (fchmod(fd, mode) < 0 || fsync(fd) < 0) {
                r = -errno;
                (void) close(fd);
                goto fail;
        }
        if (close(fd) < 0) {
                r = -errno;
                goto fail;
        }
        if (renameat(dirfd, tmp, dirfd, name) < 0) {
                r = -errno;
                goto fail;
        }
        /* Make the rename itself durable. */
        if (fsync(dirfd) < 0)
                return -errno;
        return 1;

fail:
        (void) unlinkat(dirfd, tmp, 0);
        return r;
}

int atomic_file_write_rendered(int dirfd, const char *name, atomic_file_render_fn render,
                               const void *userdata, bool compare) {
        char tmp[NAME_MAX + 1];
        int fd, r;

        if (dirfd < 0 || !name_is_plain(name) || !render)
                return -EINVAL;
        if (compare) {
                r = file_matches(dirfd, name, render, userdata);
                if (r != 0)
                        return r < 0 ? r : 0;
        }

        fd = open_temp(dirfd, name, ATOMIC_FILE_MODE, tmp);
        if (fd < 0)
                return fd;
        r = render_into(fd_sink_write, &fd, render, userdata);
        if (r < 0) {
                (void) close(fd);
                (void) unlinkat(dirfd, tmp, 0);
                return r;
        }
        return commit_temp(dirfd, fd, tmp, name, ATOMIC_FILE_MODE);
}

/* Whether dirfd/name is a regular 0644 file holding exactly data. */
static bool file_has_content(int dirfd, const char *name, const void *data, size_t len) {
        _cleanup_close_ int fd = -1;
        struct compare_sink c = {};
        off_t size = 0;

        fd = atomic_file_open_existing(dirfd, name, &size);
        if (fd < 0 || (uint64_t) size != len)
                return false;
        c.fd = fd;
        (void) compare_sink_write(&c, data, len);
        return !c.differs;
}

static int write_replace(int dirfd, const char *name, const void *data, size_t len, mode_t mode) {
        char tmp[NAME_MAX + 1];
        int fd, r;

        fd = open_temp(dirfd, name, mode, tmp);
        if (fd < 0)
                return fd;
        r = write_all(fd, data, len);
        if (r < 0) {
                (void) close(fd);
                (void) unlinkat(dirfd, tmp, 0);
                return r;
        }
        return commit_temp(dirfd, fd, tmp, name, mode);
}

int atomic_file_write(int dirfd, const char *name, const void *data, size_t len) {
        if (dirfd < 0 || !name_is_plain(name) || (!data && len > 0))
                return -EINVAL;
        if (file_has_content(dirfd, name, data, len))
                return 0;
        return write_replace(dirfd, name, data, len, ATOMIC_FILE_MODE);
}

int atomic_file_write_private(int dirfd, const char *name, const void *data, size_t len) {
        if (dirfd < 0 || !name_is_plain(name) || (!data && len > 0))
                return -EINVAL;
        return write_replace(dirfd, name, data, len, ATOMIC_FILE_PRIVATE_MODE);
}


