/* The bounded file reader (file-read.h). Nothing here logs. */
#include <fcntl.h>

#include "buf.h"
#include "file-read.h"

int read_file_bounded_at(int dirfd, const char *path, int flags, size_t max, char **ret_text,
                         size_t *ret_len, struct stat *ret_st) {
        _cleanup_close_ int fd = -1;
        struct buf b = BUF_INIT(max, false);
        struct stat st;
        char chunk[16384];
        size_t len;
        char *text;

        fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | flags);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        /* st_size is a hint only: the file may grow while it is read. */
        if (st.st_size > (off_t) max)
                return -EFBIG;
        for (;;) {
                ssize_t k = read(fd, chunk, sizeof chunk);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        buf_done(&b);
                        return -errno;
                }
                if (k == 0)
                        break;
                buf_append(&b, chunk, (size_t) k);
                if (b.err) {
                        int r = b.err;
                        buf_done(&b);
                        return r;
                }
        }
        text = buf_steal(&b, &len);
        if (!text)
                return -ENOMEM;
        *ret_text = text;
        if (ret_len)
                *ret_len = len;
        if (ret_st)
                *ret_st = st;
        return 0;
}

int read_file_bounded(const char *path, size_t max, char **ret_text, size_t *ret_len,
                      struct stat *ret_st) {
        return read_file_bounded_at(AT_FDCWD, path, 0, max, ret_text, ret_len, ret_st);
}
