/* The capped growable buffer (buf.h). Nothing here logs. */
#include <stdio.h>

#include "buf.h"

static void wipe(void *p, size_t n) {
        /* A volatile pointer keeps the compiler from dropping the stores. */
        volatile unsigned char *v = p;
        while (n--)
                *v++ = 0;
}

static size_t buf_max(const struct buf *b) {
        return b->max ? b->max : BUF_MAX_DEFAULT;
}

/* Room for n more bytes and a terminator. */
static bool buf_reserve(struct buf *b, size_t n) {
        size_t need, cap;
        char *p;

        if (b->err)
                return false;
        if (n > buf_max(b) - b->len) {
                b->err = -EFBIG;
                return false;
        }
        need = b->len + n + 1;
        if (need <= b->cap)
                return true;
        cap = b->cap ? b->cap : 64;
        while (cap < need)
                cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        if (cap > buf_max(b) + 1)
                cap = buf_max(b) + 1;
        if (b->wipe) {
                /* Copy rather than realloc, so that the old block can be wiped. */
                p = malloc(cap);
                if (p && b->data) {
                        memcpy(p, b->data, b->len + 1);
                        wipe(b->data, b->cap);
                        free(b->data);
                }
        } else
                p = realloc(b->data, cap);
        if (!p) {
                b->err = -ENOMEM;
                return false;
        }
        b->data = p;
        b->cap = cap;
        b->data[b->len] = 0; /* a fresh block holds no terminator yet */
        return true;
}

void buf_append(struct buf *b, const void *p, size_t n) {
        if (!buf_reserve(b, n))
                return;
        if (n > 0)
                memcpy(b->data + b->len, p, n);
        b->len += n;
        b->data[b->len] = 0;
}

void buf_puts(struct buf *b, const char *s) {
        buf_append(b, s, strlen(s));
}

void buf_putc(struct buf *b, char c) {
        buf_append(b, &c, 1);
}

void buf_vprintf(struct buf *b, const char *fmt, va_list ap) {
        va_list aq;
        int n;

        if (b->err)
                return;
        va_copy(aq, ap);
        n = vsnprintf(NULL, 0, fmt, aq);
        va_end(aq);
        if (n < 0) {
                b->err = -EINVAL;
                return;
        }
        if (!buf_reserve(b, (size_t) n))
                return;
        (void) vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
        b->len += (size_t) n;
}

void buf_printf(struct buf *b, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        buf_vprintf(b, fmt, ap);
        va_end(ap);
}

void buf_clear(struct buf *b) {
        if (b->data) {
                if (b->wipe)
                        wipe(b->data, b->cap);
                b->data[0] = 0;
        }
        b->len = 0;
        b->err = 0;
}

char *buf_steal(struct buf *b, size_t *ret_len) {
        char *p;

        if (b->err || !buf_reserve(b, 0)) {
                buf_done(b);
                return NULL;
        }
        p = TAKE_PTR(b->data);
        if (ret_len)
                *ret_len = b->len;
        *b = BUF_INIT(b->max, b->wipe);
        return p;
}

void buf_done(struct buf *b) {
        if (b->data && b->wipe)
                wipe(b->data, b->cap);
        free(b->data);
        *b = BUF_INIT(b->max, b->wipe);
}
