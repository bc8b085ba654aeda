/* A growable byte buffer with a hard cap, shared by every module that builds
 * text or collects input of unknown size (SigV4 canonical requests, HTTP
 * bodies and headers, plan summaries).
 *
 * Errors are sticky: the first failure (-ENOMEM, or -EFBIG past the cap) is
 * kept in err and every later append is a no-op, so a caller may append
 * freely and check once at the end. The data is always NUL-terminated once
 * anything was appended. With wipe set, every block the buffer lets go of is
 * zeroed first: buffers that carry signatures, session tokens or secret keys
 * never leave copies behind in freed memory. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "util.h"

struct buf {
        char *data;
        size_t len, cap;
        size_t max;   /* cap on len; 0: BUF_MAX_DEFAULT */
        bool wipe;    /* zero memory before it is freed */
        int err;      /* 0, -ENOMEM or -EFBIG */
};
#define BUF_MAX_DEFAULT ((size_t) 16 * 1024 * 1024)

/* An empty buffer of at most max bytes (0: BUF_MAX_DEFAULT). */
#define BUF_INIT(max_, wipe_) ((struct buf){ .max = (max_), .wipe = (wipe_) })

void buf_append(struct buf *b, const void *p, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) _printf_(2, 3);
void buf_vprintf(struct buf *b, const char *fmt, va_list ap) _printf_(2, 0);
/* Forget the content, keep the memory (wiped first with wipe set). */
void buf_clear(struct buf *b);
/* Hand the content on (NUL-terminated, "" when empty) and reset the buffer;
 * NULL if the buffer holds an error or memory ran out. */
char *buf_steal(struct buf *b, size_t *ret_len);
/* Free (wiping with wipe set) and reset; max and wipe are kept. */
void buf_done(struct buf *b);
