/* Logging: structured journald records when stderr is connected to the
 * journal ($JOURNAL_STREAM matches stderr), plain lines on stderr otherwise.
 *
 * Helpers below log_* level should not log above debug; the caller that decides
 * what happens logs once (STYLE.md). log_*_errno() return the negative errno
 * they were given, so "return log_error_errno(r, ...)" works, and expand %m
 * to strerror of that errno.
 *
 * Never pass a secret (secret key, session token, signature) to any of these. */
#pragma once

#include <stdarg.h>
#include <syslog.h>

#include "util.h"

/* Structured fields attached to one record. Any may be NULL. */
struct log_fields {
        const char *stream;        /* STREAM= */
        const char *region;        /* REGION= */
        const char *account;       /* ACCOUNT= (a role's account; NULL for the daemon's own) */
        const char *stream_arn;    /* STREAM_ARN= */
        const char *action;        /* ACTION= */
        const char *aws_operation; /* AWS_OPERATION= */
        const char *aws_error;     /* AWS_ERROR= */
        const char *aws_request_id;/* AWS_REQUEST_ID= */
        const char *message_id;    /* MESSAGE_ID= (one of the LOG_MESSAGE_* below) */
};

/* Fixed MESSAGE_IDs (DESIGN §8), documented in contrib/systemd/kinesisd.catalog. */
#define LOG_MESSAGE_STREAM_CREATED   "6b1e5c0a7f2d4c1e9a3b8d2f4e6a1c01"
#define LOG_MESSAGE_STREAM_ACTIVE    "6b1e5c0a7f2d4c1e9a3b8d2f4e6a1c02"
#define LOG_MESSAGE_DRIFT_CORRECTED  "6b1e5c0a7f2d4c1e9a3b8d2f4e6a1c03"
#define LOG_MESSAGE_STREAM_FAILED    "6b1e5c0a7f2d4c1e9a3b8d2f4e6a1c04"
#define LOG_MESSAGE_CONFIG_REJECTED  "6b1e5c0a7f2d4c1e9a3b8d2f4e6a1c05"
#define LOG_MESSAGE_CONFLICT         "6b1e5c0a7f2d4c1e9a3b8d2f4e6a1c08"
#define LOG_MESSAGE_EXPORT_FAILED    "6b1e5c0a7f2d4c1e9a3b8d2f4e6a1c09"

void log_set_max_level(int level);
int log_get_max_level(void);
/* "error", "warning", "notice", "info", "debug" -> LOG_ERR..LOG_DEBUG, or -EINVAL. */
int log_level_from_string(const char *s);
/* Decide journald vs stderr from $JOURNAL_STREAM. */
void log_open(void);
/* Plain lines go to a terminal (not the journal). */
bool log_stderr_is_terminal(void);
/* On a terminal: one status line below the log lines, replaced in place by
 * the next, taken away while a log line is written and put back below it.
 * NULL erases it for good. Elsewhere nothing happens. text is ours (no
 * foreign text): it is written as it is. */
void log_status_line(const char *text);

/* The one primitive. error is a positive or negative errno, or 0; %m in fmt
 * expands to its text. Returns -abs(error). */
int log_internal(int level, int error, const struct log_fields *f, const char *file, int line,
                 const char *func, const char *fmt, ...) _printf_(7, 8);

#define log_full_errno_fields(level, error, fields, ...)                                           \
        ({                                                                                          \
                int _lvl_ = (level), _e_ = (error);                                                 \
                _lvl_ <= log_get_max_level()                                                        \
                        ? log_internal(_lvl_, _e_, fields, __FILE__, __LINE__, __func__, __VA_ARGS__) \
                        : -abs(_e_);                                                                \
        })

#define log_full_errno(level, error, ...) log_full_errno_fields(level, error, NULL, __VA_ARGS__)
#define log_full(level, ...) (void) log_full_errno(level, 0, __VA_ARGS__)

#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, __VA_ARGS__)

#define log_debug_errno(e, ...) log_full_errno(LOG_DEBUG, e, __VA_ARGS__)
#define log_info_errno(e, ...) log_full_errno(LOG_INFO, e, __VA_ARGS__)
#define log_notice_errno(e, ...) log_full_errno(LOG_NOTICE, e, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, e, __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, e, __VA_ARGS__)

/* With fields: log_stream(LOG_NOTICE, &(struct log_fields){ .stream = n }, "...") */
#define log_fields(level, fields, ...) (void) log_full_errno_fields(level, 0, fields, __VA_ARGS__)
#define log_fields_errno(level, error, fields, ...) log_full_errno_fields(level, error, fields, __VA_ARGS__)

static inline int log_oom(void) {
        return log_error_errno(-ENOMEM, "Out of memory.");
}

/* Foreign text (from AWS, a file, a child) for a message: control
 * characters as \xNN, bidirectional controls and the Unicode line and
 * paragraph separators as \uNNNN, quotes and backslashes with a backslash, UTF-8 kept
 * whole; cut after max_chars characters with "..."; in double quotes if
 * quotes. buf needs LOG_ESCAPE_SIZE(max_chars) bytes. Returns buf. */
#define LOG_ESCAPE_SIZE(max_chars) ((max_chars) * 4 + 8)
const char *log_escape(const char *s, size_t len, size_t max_chars, bool quotes, char *buf);
/* Foreign text kept for later messages, a status line or streams.json (an
 * AWS error message or code, a request id, a transport error): escaped as
 * log_escape() does without quotes, but a quote stays a quote. A newly
 * allocated string, or NULL on ENOMEM. Escape such text once, where it
 * enters, and keep only the escaped copy. */
char *log_escape_dup(const char *s, size_t len, size_t max_chars);
/* Control characters and bytes that are not UTF-8 only, cut as log_escape()
 * cuts: for text escaped already (it comes out unchanged, only shortened). */
const char *log_escape_controls(const char *s, size_t len, size_t max_chars, char *buf);
