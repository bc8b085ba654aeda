/* Logging to journald (structured) or stderr (plain lines).
 *
 * Must never block the loop for long or allocate unboundedly: each record is
 * formatted into a fixed buffer and truncated if it is longer. */
#include "log.h"

#include <stdint.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
/* The record's place in the code is the caller's, passed as CODE_FILE=,
 * CODE_LINE= and CODE_FUNC= below: without this, sd_journal_sendv() adds
 * its own (this file's write_journal), and every record has two of each. */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

/* A message after the last escaping: room for some control characters. */
#define LOG_LINE_MAX 6144

static int max_level = LOG_INFO;
static bool use_journal = false;
/* stderr is a terminal: a status line may stand below the log lines. */
static bool stderr_tty = false;
static char *status_line;  /* what the status line says; NULL: none */
static bool status_shown;  /* it is on the terminal now, the cursor at its end */

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
        stderr_tty = !use_journal && isatty(STDERR_FILENO);
}

bool log_stderr_is_terminal(void) {
        return stderr_tty;
}

/* Take the status line off the terminal: back to its first column, erase
 * to the end of the line. */
static void status_erase(void) {
        if (status_shown)
                fputs("\r\033[K", stderr);
        status_shown = false;
}

/* Put it back, cut to the terminal's width: a line that wrapped could not
 * be erased with one \r. */
static void status_draw(void) {
        struct winsize ws = {};
        size_t width = 80, len;

        if (!status_line)
                return;
        if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1)
                width = ws.ws_col;
        len = strlen(status_line);
        fwrite(status_line, 1, len < width - 1 ? len : width - 1, stderr);
        fflush(stderr);
        status_shown = true;
}

void log_status_line(const char *text) {
        if (!stderr_tty)
                return;
        if (streq_ptr(text, status_line) && status_shown)
                return;
        char *copy = text ? strdup(text) : NULL;

        free(status_line);
        status_line = copy;
        status_erase();
        status_draw();
        fflush(stderr);
}

#define MAX_FIELDS 16

static size_t escape_into(const char *s, size_t len, size_t max_chars, unsigned flags, char *buf, size_t n);

/* NAME=value, the value's control characters escaped: a journal field holds
 * one line of text whoever wrote the value. */
static void add_field(struct iovec *iov, size_t *n, char *buf, size_t bufsz, const char *name,
                      const char *value) {
        if (!value || *n >= MAX_FIELDS)
                return;
        int k = snprintf(buf, bufsz, "%s=", name);
        if (k < 0 || (size_t) k + 16 > bufsz)
                return;
        iov[*n].iov_base = buf;
        iov[*n].iov_len = (size_t) k +
                          escape_into(value, strlen(value), SIZE_MAX, 0, buf + k, bufsz - (size_t) k);
        (*n)++;
}

static void write_journal(int level, const struct log_fields *f, const char *file, int line,
                          const char *func, const char *msg) {
        struct iovec iov[MAX_FIELDS];
        size_t n = 0;
        char b_msg[LOG_LINE_MAX + 64], b_prio[32], b_file[256], b_line[32], b_func[128], b_mid[64];
        char b_f[8][1200];
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
                add_field(iov, &n, b_f[7], sizeof b_f[7], "ACCOUNT", f->account);
        }
        char b_msgid[64];
        if (f && f->message_id)
                add_field(iov, &n, b_msgid, sizeof b_msgid, "MESSAGE_ID", f->message_id);
        if (sd_journal_sendv(iov, (int) n) < 0)
                fprintf(stderr, "%s\n", msg);
}

_printf_(7, 0) static int log_internalv(int level, int error, const struct log_fields *f, const char *file,
                                        int line, const char *func, const char *fmt, va_list ap) {
        char raw[4096], msg[LOG_LINE_MAX];
        int saved = errno;

        if (error < 0)
                error = -error;
        /* glibc's %m reads errno: make it the error we were given. */
        errno = error;
        vsnprintf(raw, sizeof raw, fmt, ap);
        /* Foreign text is escaped where it enters (log_escape_dup()); this is
         * the last line of defence: one record is one line, and no byte of it
         * is a terminal control, whatever a caller passed. */
        (void) escape_into(raw, strlen(raw), SIZE_MAX, 0, msg, sizeof msg);

        if (use_journal)
                write_journal(level, f, file, line, func, msg);
        else {
                /* Plain lines: the stream (and region, and a role's account)
                 * in front, so a line read on its own still says what it is
                 * about. */
                /* At debug level the MESSAGE_ID follows, as journalctl -o
                 * verbose would show it: the catalog entry is findable. */
                bool id = f && f->message_id && max_level >= LOG_DEBUG;

                /* A log line never shares its line with the status line:
                 * the status line goes, the log line is written, the status
                 * line comes back below it. */
                status_erase();
                if (f && f->stream)
                        fprintf(stderr, "kinesisd: %s%s%s%s%s: %s%s%s%s\n", strempty(f->account),
                                f->account ? "/" : "", f->region ? f->region : "", f->region ? "/" : "",
                                f->stream, msg, id ? " [MESSAGE_ID=" : "",
                                id ? f->message_id : "", id ? "]" : "");
                else
                        fprintf(stderr, "kinesisd: %s%s%s%s\n", msg, id ? " [MESSAGE_ID=" : "",
                                id ? f->message_id : "", id ? "]" : "");
                status_draw();
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

/* The length of the valid UTF-8 sequence at s (at most left bytes), or 0
 * for a byte that does not start one: a stray continuation byte, a lead byte
 * cut short, an overlong form, a surrogate, a code point past U+10FFFF. */
static size_t utf8_valid(const unsigned char *s, size_t left) {
        unsigned char c = s[0];
        size_t w;
        unsigned char lo = 0x80, hi = 0xbf;

        if (c < 0x80)
                return 1;
        if (c >= 0xc2 && c <= 0xdf)
                w = 2;
        else if (c >= 0xe0 && c <= 0xef) {
                w = 3;
                if (c == 0xe0)
                        lo = 0xa0;
                else if (c == 0xed)
                        hi = 0x9f;
        } else if (c >= 0xf0 && c <= 0xf4) {
                w = 4;
                if (c == 0xf0)
                        lo = 0x90;
                else if (c == 0xf4)
                        hi = 0x8f;
        } else
                return 0;
        if (w > left || s[1] < lo || s[1] > hi)
                return 0;
        for (size_t i = 2; i < w; i++)
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
        return w;
}

enum {
        ESCAPE_WRAP = 1 << 0,      /* in double quotes */
        ESCAPE_QUOTES = 1 << 1,    /* '"' as "\"" */
        ESCAPE_BACKSLASH = 1 << 2, /* '\' as "\\": the escapes stay unambiguous */
};

/* The code point of the valid UTF-8 sequence of w bytes at s. */
static uint32_t utf8_code_point(const unsigned char *s, size_t w) {
        static const unsigned char lead_mask[] = { 0, 0x7f, 0x1f, 0x0f, 0x07 };
        uint32_t cp = s[0] & lead_mask[w];

        for (size_t i = 1; i < w; i++)
                cp = cp << 6 | (s[i] & 0x3f);
        return cp;
}

/* Characters that are printable but change how a line reads: the
 * bidirectional marks, embeddings, overrides and isolates (text after them is
 * shown reordered, so an escaped name can be made to look like another), and
 * the line and paragraph separators (a reader may break the line there). */
static bool code_point_deceives(uint32_t cp) {
        return cp == 0x061c || cp == 0x200e || cp == 0x200f || (cp >= 0x2028 && cp <= 0x202e) ||
               (cp >= 0x2066 && cp <= 0x2069);
}

/* The one escaper. Control characters (C0, DEL and C1: a terminal or a line
 * reader would act on them) and bytes that are not UTF-8 become \xNN (the
 * code point for C1, the byte otherwise), the characters above \uNNNN; at
 * most max_chars characters, then "..."; and never more than n bytes
 * (n >= 16) with the NUL: a line of wide escapes is cut sooner. Returns the
 * length written. */
static size_t escape_into(const char *s, size_t len, size_t max_chars, unsigned flags, char *buf, size_t n) {
        const unsigned char *u = (const unsigned char *) s;
        size_t o = 0, chars = 0;
        /* Room kept for the widest unit (\uNNNN), "...", the closing quote and
         * the NUL. */
        const size_t reserve = 6 + 3 + 1 + 1;

        if (flags & ESCAPE_WRAP)
                buf[o++] = '"';
        for (size_t i = 0; i < len; chars++) {
                unsigned char c = u[i];
                size_t w = utf8_valid(u + i, len - i);

                if (chars == max_chars || o + reserve > n) {
                        memcpy(buf + o, "...", 3);
                        o += 3;
                        break;
                }
                if ((c == '"' && (flags & ESCAPE_QUOTES)) || (c == '\\' && (flags & ESCAPE_BACKSLASH))) {
                        buf[o++] = '\\';
                        buf[o++] = (char) c;
                        i++;
                } else if (w == 0 || c < 0x20 || c == 0x7f) {
                        o += (size_t) snprintf(buf + o, sizeof("\\xff"), "\\x%02x", c);
                        i++;
                } else if (w == 2 && c == 0xc2 && u[i + 1] < 0xa0) {
                        o += (size_t) snprintf(buf + o, sizeof("\\xff"), "\\x%02x", u[i + 1]);
                        i += 2;
                } else if (w > 1 && code_point_deceives(utf8_code_point(u + i, w))) {
                        o += (size_t) snprintf(buf + o, sizeof("\\uffff"), "\\u%04x",
                                               (unsigned) utf8_code_point(u + i, w));
                        i += w;
                } else {
                        memcpy(buf + o, s + i, w);
                        o += w;
                        i += w;
                }
        }
        if (flags & ESCAPE_WRAP)
                buf[o++] = '"';
        buf[o] = '\0';
        return o;
}

const char *log_escape(const char *s, size_t len, size_t max_chars, bool quotes, char *buf) {
        (void) escape_into(s, len, max_chars, ESCAPE_QUOTES | ESCAPE_BACKSLASH | (quotes ? ESCAPE_WRAP : 0),
                           buf, LOG_ESCAPE_SIZE(max_chars));
        return buf;
}

const char *log_escape_controls(const char *s, size_t len, size_t max_chars, char *buf) {
        (void) escape_into(s, len, max_chars, 0, buf, LOG_ESCAPE_SIZE(max_chars));
        return buf;
}

char *log_escape_dup(const char *s, size_t len, size_t max_chars) {
        size_t n = LOG_ESCAPE_SIZE(len < max_chars ? len : max_chars);
        char *buf = malloc(n);

        if (!buf)
                return NULL;
        n = escape_into(s, len, max_chars, ESCAPE_BACKSLASH, buf, n);
        char *shrunk = realloc(buf, n + 1);
        return shrunk ? shrunk : buf;
}
