/* Unit tests of the shared primitives: the capped buffer (buf.h) and the
 * bounded file reader (file-read.h). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "buf.h"
#include "file-read.h"
#include "log.h"
#include "testlib.h"

static void test_buf(void) {
        struct buf b = BUF_INIT(16, true);
        char *s;
        size_t n;

        buf_puts(&b, "abc");
        buf_printf(&b, "-%d-", 42);
        buf_putc(&b, 'x');
        CHECK_INTEQ(b.err, 0);
        CHECK_STREQ(b.data, "abc-42-x");
        /* Past the cap: sticky -EFBIG, content untouched, later appends no-ops. */
        buf_puts(&b, "0123456789");
        CHECK_INTEQ(b.err, -EFBIG);
        CHECK_STREQ(b.data, "abc-42-x");
        buf_puts(&b, "y");
        CHECK_INTEQ(b.len, 8);
        CHECK(buf_steal(&b, &n) == NULL);
        CHECK(b.data == NULL && b.len == 0 && b.err == 0 && b.max == 16 && b.wipe);

        /* Exactly the cap fits; the growth path copies (wipe set) and keeps content. */
        buf_puts(&b, "0123456789abcdef");
        CHECK_INTEQ(b.err, 0);
        s = buf_steal(&b, &n);
        CHECK_STREQ(s, "0123456789abcdef");
        CHECK_INTEQ(n, 16);
        free(s);

        /* An empty buffer steals as "". */
        s = buf_steal(&b, &n);
        CHECK_STREQ(s, "");
        CHECK_INTEQ(n, 0);
        free(s);

        buf_puts(&b, "secret");
        buf_clear(&b);
        CHECK_INTEQ(b.len, 0);
        CHECK_STREQ(b.data, "");
        buf_done(&b);

        /* Unwiped, default cap: grows through realloc over many appends. */
        struct buf big = BUF_INIT(0, false);
        for (int i = 0; i < 10000; i++)
                buf_printf(&big, "%04d", i % 10000);
        CHECK_INTEQ(big.err, 0);
        CHECK_INTEQ(big.len, 40000);
        CHECK(memcmp(big.data + 39996, "9999", 4) == 0);
        buf_done(&big);
}

static void write_file(const char *path, size_t n) {
        FILE *f = fopen(path, "w");
        CHECK(f != NULL);
        if (!f)
                return;
        for (size_t i = 0; i < n; i++)
                fputc('a' + (int) (i % 26), f);
        fclose(f);
}

static void test_read_file(const char *dir) {
        char path[4096], *text = NULL;
        size_t len = 0;
        struct stat st;

        snprintf(path, sizeof path, "%s/f", dir);
        write_file(path, 40000);
        CHECK_INTEQ(read_file_bounded(path, 40000, &text, &len, &st), 0);
        CHECK_INTEQ(len, 40000);
        CHECK_INTEQ(strlen(text), 40000);
        CHECK(text && text[39999] == 'a' + (39999 % 26));
        CHECK_INTEQ(st.st_size, 40000);
        free(text);
        text = NULL;

        CHECK_INTEQ(read_file_bounded(path, 39999, &text, &len, NULL), -EFBIG);
        CHECK(text == NULL);
        CHECK_INTEQ(read_file_bounded(dir, 100, &text, NULL, NULL), -EISDIR);
        CHECK_INTEQ(read_file_bounded("/dev/null", 100, &text, NULL, NULL), -EBADFD);
        snprintf(path, sizeof path, "%s/fifo", dir);
        CHECK_INTEQ(mkfifo(path, 0600), 0);
        /* A FIFO is refused at once, never waited on. */
        CHECK_INTEQ(read_file_bounded(path, 100, &text, NULL, NULL), -EBADFD);
        unlink(path);
        snprintf(path, sizeof path, "%s/missing", dir);
        CHECK_INTEQ(read_file_bounded(path, 100, &text, NULL, NULL), -ENOENT);

        snprintf(path, sizeof path, "%s/empty", dir);
        write_file(path, 0);
        CHECK_INTEQ(read_file_bounded(path, 100, &text, &len, NULL), 0);
        CHECK_STREQ(text, "");
        CHECK_INTEQ(len, 0);
        free(text);
        unlink(path);
        snprintf(path, sizeof path, "%s/f", dir);
        unlink(path);
}

/* Relative to a directory fd, with extra open flags. */
static void test_read_file_at(const char *dir) {
        char path[4096], link[4096], *text = NULL;
        size_t len = 0;
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        CHECK(dfd >= 0);
        snprintf(path, sizeof path, "%s/g", dir);
        snprintf(link, sizeof link, "%s/link", dir);
        write_file(path, 100);
        CHECK_INTEQ(symlink("g", link), 0);

        CHECK_INTEQ(read_file_bounded_at(dfd, "g", O_NOFOLLOW, 100, &text, &len, NULL), 0);
        CHECK_INTEQ(len, 100);
        free(text);
        text = NULL;
        CHECK_INTEQ(read_file_bounded_at(dfd, "g", 0, 99, &text, &len, NULL), -EFBIG);
        /* Without O_NOFOLLOW a symlink is followed; with it, refused. */
        CHECK_INTEQ(read_file_bounded_at(dfd, "link", 0, 100, &text, &len, NULL), 0);
        free(text);
        text = NULL;
        CHECK_INTEQ(read_file_bounded_at(dfd, "link", O_NOFOLLOW, 100, &text, &len, NULL), -ELOOP);
        CHECK(text == NULL);

        unlink(link);
        unlink(path);
        close(dfd);
}

/* Foreign text in a log line: no control character, no unescaped quote,
 * UTF-8 whole, cut where asked. */
static void test_log_escape(void) {
        char buf[LOG_ESCAPE_SIZE(8)];
        const char *forged = "x\nkinesisd: ok\r\x1b]0;pwned\a";

        CHECK_STREQ(log_escape(forged, strlen(forged), 8, false, buf), "x\\x0akinesi...");
        CHECK_STREQ(log_escape("a\"b\\c", 5, 8, true, buf), "\"a\\\"b\\\\c\"");
        CHECK_STREQ(log_escape("h\xc3\xa9llo", 6, 8, false, buf), "h\xc3\xa9llo");
        CHECK_STREQ(log_escape("\xc3\xa9\xc3\xa9\xc3\xa9", 6, 2, false, buf), "\xc3\xa9\xc3\xa9...");
        CHECK_STREQ(log_escape("", 0, 8, true, buf), "\"\"");
        /* A right-to-left override would show "txt.exe" as "exe.txt"; a line
         * separator would break the line for some readers. */
        CHECK_STREQ(log_escape("a\xe2\x80\xaetxt.exe", 11, 20, false, buf), "a\\u202etxt.exe");
        CHECK_STREQ(log_escape("\xe2\x80\xa8\xd8\x9c\xe2\x81\xa9", 8, 8, false, buf), "\\u2028\\u061c\\u2069");
        for (size_t i = 0; i < strlen(forged); i++) {
                log_escape(forged, strlen(forged), 8, false, buf);
                CHECK(strcspn(buf, "\n\r\x1b\a") == strlen(buf));
        }
}

/* Kept foreign text (an AWS message): controls, C1 controls, NUL and bytes
 * that are not UTF-8 as \xNN, a backslash doubled, a quote as it is; and
 * escaping it again for controls changes nothing. */
static void test_log_escape_dup(void) {
        static const char in[] = "a\"b\\c\x00" "d\xc2\x9b" "31m\xc3\xa9\xff\xc3\x28\xe0\x80\x8a\x7f";
        const char *want = "a\"b\\\\c\\x00d\\x9b31m\xc3\xa9\\xff\\xc3(\\xe0\\x80\\x8a\\x7f";
        char *e = log_escape_dup(in, sizeof in - 1, 100);
        char again[LOG_ESCAPE_SIZE(100)];

        CHECK_STREQ(e, want);
        if (e)
                CHECK_STREQ(log_escape_controls(e, strlen(e), 100, again), want);
        free(e);
        e = log_escape_dup("\xe2\x80\xae", 3, 100);
        CHECK_STREQ(e, "\\u202e");
        if (e)
                CHECK_STREQ(log_escape_controls(e, strlen(e), 100, again), "\\u202e");
        free(e);
        e = log_escape_dup("\x1b\x1b\x1b", 3, 2);
        CHECK_STREQ(e, "\\x1b\\x1b...");
        free(e);
}

int main(void) {
        char tmpl[] = "/tmp/test-util.XXXXXX";
        const char *dir = mkdtemp(tmpl);

        CHECK(dir != NULL);
        test_buf();
        test_log_escape();
        test_log_escape_dup();
        if (dir) {
                test_read_file(dir);
                test_read_file_at(dir);
                rmdir(dir);
        }
        return test_summary("util");
}
