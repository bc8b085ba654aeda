/* Logging to journald (structured) or stderr (plain lines).
 *
 * Must never block the loop for long or allocate unboundedly: each record is
 * formatted into a fixed buffer and truncated if it is longer. */
#include "log.h"

#include <stdio.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>

static int max_level = LOG_INFO;
static bool use_journal = false;

static const char *const level_names[] = {
        [LOG_ERR] = "error", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
        [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

int log_level_from_string(const char *s) {
        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(level_names); i++)
                if (level_names[i] && streq(level_names[i], s))
                        return (int) i;
        /* Accept the usual aliases too. */
        if (streq(s, "err"))
                return LOG_ERR;
        if (streq(s, "warn"))
                return LOG_WARNING;
        return -EINVAL;
}

/* stderr is the journal stream when $JOURNAL_STREAM names its device:inode. */
static bool stderr_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

void log_open(void) {
        use_journal = stderr_is_journal();
}

#define MAX_FIELDS 16

static void add_field(struct iovec *iov, size_t *n, char *buf, size_t bufsz, const char *name,
                      const char *value) {
        if (!value || *n >= MAX_FIELDS)
                return;
        int k = snprintf(buf, bufsz, "%s=%s", name, value);
        if (k < 0)
                return;
        iov[*n].iov_base = buf;
        iov[*n].iov_len = (size_t) k < bufsz ? (size_t) k : bufsz - 1;
        (*n)++;
}

static void write_journal(int level, const struct log_fields *f, const char *file, int line,
                          const char *func, const char *msg) {
        struct iovec iov[MAX_FIELDS];
        size_t n = 0;
        char b_msg[4200], b_prio[32], b_file[256], b_line[32], b_func[128], b_mid[64];
        char b_f[7][1200];
        char num[16];

        add_field(iov, &n, b_msg, sizeof b_msg, "MESSAGE", msg);
        snprintf(num, sizeof num, "%d", level);
        add_field(iov, &n, b_prio, sizeof b_prio, "PRIORITY", num);
        add_field(iov, &n, b_file, sizeof b_file, "CODE_FILE", file);
        snprintf(num, sizeof num, "%d", line);
        add_field(iov, &n, b_line, sizeof b_line, "CODE_LINE", num);
        add_field(iov, &n, b_func, sizeof b_func, "CODE_FUNC", func);
        add_field(iov, &n, b_mid, sizeof b_mid, "SYSLOG_IDENTIFIER", "kinesisd");
        if (f) {
                add_field(iov, &n, b_f[0], sizeof b_f[0], "STREAM", f->stream);
                add_field(iov, &n, b_f[1], sizeof b_f[1], "REGION", f->region);
                add_field(iov, &n, b_f[2], sizeof b_f[2], "STREAM_ARN", f->stream_arn);
                add_field(iov, &n, b_f[3], sizeof b_f[3], "ACTION", f->action);
                add_field(iov, &n, b_f[4], sizeof b_f[4], "AWS_OPERATION", f->aws_operation);
                add_field(iov, &n, b_f[5], sizeof b_f[5], "AWS_ERROR", f->aws_error);
                add_field(iov, &n, b_f[6], sizeof b_f[6], "AWS_REQUEST_ID", f->aws_request_id);
        }
        char b_msgid[64];
        if (f && f->message_id)
                add_field(iov, &n, b_msgid, sizeof b_msgid, "MESSAGE_ID", f->message_id);
        if (sd_journal_sendv(iov, (int) n) < 0)
                fprintf(stderr, "%s\n", msg);
}

_printf_(7, 0) static int log_internalv(int level, int error, const struct log_fields *f, const char *file,
                                        int line, const char *func, const char *fmt, va_list ap) {
        char msg[4096];
        int saved = errno;

        if (error < 0)
                error = -error;
        /* glibc's %m reads errno: make it the error we were given. */
        errno = error;
        vsnprintf(msg, sizeof msg, fmt, ap);

        if (use_journal)
                write_journal(level, f, file, line, func, msg);
        else {
                /* Plain lines: the stream (and region) in front, so a line read
                 * on its own still says what it is about. */
                /* At debug level the MESSAGE_ID follows, as journalctl -o
                 * verbose would show it: the catalog entry is findable. */
                bool id = f && f->message_id && max_level >= LOG_DEBUG;

                if (f && f->stream)
                        fprintf(stderr, "kinesisd: %s%s%s: %s%s%s%s\n", f->region ? f->region : "",
                                f->region ? "/" : "", f->stream, msg, id ? " [MESSAGE_ID=" : "",
                                id ? f->message_id : "", id ? "]" : "");
                else
                        fprintf(stderr, "kinesisd: %s%s%s%s\n", msg, id ? " [MESSAGE_ID=" : "",
                                id ? f->message_id : "", id ? "]" : "");
        }
        errno = saved;
        return -error;
}

int log_internal(int level, int error, const struct log_fields *f, const char *file, int line,
                 const char *func, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int r = log_internalv(level, error, f, file, line, func, fmt, ap);
        va_end(ap);
        return r;
}

static size_t utf8_width(unsigned char c) {
        if (c >= 0xc0 && c < 0xe0)
                return 2;
        if (c >= 0xe0 && c < 0xf0)
                return 3;
        if (c >= 0xf0 && c < 0xf8)
                return 4;
        return 1;
}

const char *log_escape(const char *s, size_t len, size_t max_chars, bool quotes, char *buf) {
        size_t o = 0, chars = 0;

        if (quotes)
                buf[o++] = '"';
        for (size_t i = 0; i < len; chars++) {
                unsigned char c = (unsigned char) s[i];

                if (chars == max_chars) {
                        memcpy(buf + o, "...", 3);
                        o += 3;
                        break;
                }
                if (c == '"' || c == '\\') {
                        buf[o++] = '\\';
                        buf[o++] = (char) c;
                        i++;
                } else if (c < 0x20 || c == 0x7f) {
                        o += (size_t) snprintf(buf + o, sizeof("\\xff"), "\\x%02x", c);
                        i++;
                } else {
                        size_t w = utf8_width(c);
                        if (w > len - i)
                                w = len - i;
                        memcpy(buf + o, s + i, w);
                        o += w;
                        i += w;
                }
        }
        if (quotes)
                buf[o++] = '"';
        buf[o] = '\0';
        return buf;
}
