/* The record of deep checks (deep-checks.h). */
#include "deep-checks.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "atomic-file.h"
#include "buf.h"
#include "file-read.h"
#include "util.h"

#define HEADER "kinesisd-deep-checks 1\n"
/* Seconds since the epoch we take: up to the year 9999. */
#define SECONDS_MAX UINT64_C(253402300799)

static bool name_ok(const char *s) {
        size_t l = strlen(s);

        return l > 0 && l <= DEEP_CHECKS_NAME_MAX &&
               strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == l;
}

static int entry_cmp(const void *a, const void *b) {
        const struct deep_check *x = a, *y = b;
        int c = strcmp(x->key, y->key);
        return c ? c : strcmp(x->name, y->name);
}

/* "SECONDS": digits only, no sign, no leading zero but for 0 itself. */
static bool parse_seconds(const char *s, uint64_t *ret) {
        uint64_t v = 0;

        if (!*s || (s[0] == '0' && s[1]) || strspn(s, "0123456789") != strlen(s) || strlen(s) > 12)
                return false;
        for (; *s; s++)
                v = v * 10 + (uint64_t) (*s - '0');
        if (v > SECONDS_MAX)
                return false;
        *ret = v * USEC_PER_SEC;
        return true;
}

void deep_checks_done(struct deep_checks *d) {
        free(d->text);
        free(d->v);
        *d = (struct deep_checks){};
}

int deep_checks_parse(const char *text, size_t len, struct deep_checks *ret) {
        _cleanup_free_ char *t = NULL;
        _cleanup_free_ struct deep_check *v = NULL;
        size_t n = 0, cap = 0, hl = strlen(HEADER);
        char *p;

        if (!text || len > DEEP_CHECKS_MAX || len < hl || memchr(text, 0, len) ||
            memcmp(text, HEADER, hl) != 0 || text[len - 1] != '\n')
                return -EBADMSG;
        t = strndup(text, len);
        if (!t)
                return -ENOMEM;
        for (p = t + hl; *p;) {
                char *nl = strchr(p, '\n'), *key = p, *name, *secs;
                struct deep_check e;

                *nl = 0; /* every line ends in one: the text does */
                name = strchr(key, ' ');
                secs = name ? strchr(name + 1, ' ') : NULL;
                if (!secs)
                        return -EBADMSG;
                *name++ = 0;
                *secs++ = 0;
                e = (struct deep_check){ key, name, 0 };
                if (!name_ok(key) || !name_ok(name) || !parse_seconds(secs, &e.usec) || e.usec == 0)
                        return -EBADMSG;
                if (n == cap) {
                        size_t c = cap ? cap * 2 : 64;
                        struct deep_check *w = reallocarray(v, c, sizeof *w);
                        if (!w)
                                return -ENOMEM;
                        v = w;
                        cap = c;
                }
                v[n++] = e;
                p = nl + 1;
        }
        if (n > 1)
                qsort(v, n, sizeof *v, entry_cmp);
        for (size_t i = 1; i < n; i++)
                if (entry_cmp(&v[i - 1], &v[i]) == 0)
                        return -EBADMSG; /* never written twice */
        *ret = (struct deep_checks){ TAKE_PTR(t), TAKE_PTR(v), n };
        return 0;
}

int deep_checks_load(int dirfd, struct deep_checks *ret) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r;

        r = read_file_bounded_at(dirfd, DEEP_CHECKS_FILE, O_NOFOLLOW, DEEP_CHECKS_MAX, &text, &len, NULL);
        if (r < 0)
                return r;
        return deep_checks_parse(text, len, ret);
}

uint64_t deep_checks_find(const struct deep_checks *d, const char *key, const char *name) {
        struct deep_check k = { key, name, 0 }, *e;

        if (!d || d->n == 0)
                return 0;
        e = bsearch(&k, d->v, d->n, sizeof k, entry_cmp);
        return e ? e->usec : 0;
}

int deep_checks_format(const struct deep_check *v, size_t n, char **ret_text, size_t *ret_len) {
        _cleanup_free_ struct deep_check *s = NULL;
        struct buf out = BUF_INIT(DEEP_CHECKS_MAX, false);
        size_t m = 0;
        char *text;

        /* Sorted, each stream once: the same book gives the same bytes. */
        s = calloc(n ? n : 1, sizeof *s);
        if (!s)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (v[i].usec >= USEC_PER_SEC && v[i].usec / USEC_PER_SEC <= SECONDS_MAX &&
                    name_ok(v[i].key) && name_ok(v[i].name))
                        s[m++] = v[i];
        if (m > 1)
                qsort(s, m, sizeof *s, entry_cmp);
        buf_puts(&out, HEADER);
        for (size_t i = 0; i < m; i++)
                if (i == 0 || entry_cmp(&s[i - 1], &s[i]) != 0)
                        buf_printf(&out, "%s %s %" PRIu64 "\n", s[i].key, s[i].name, s[i].usec / USEC_PER_SEC);
        if (out.err) {
                int r = out.err;
                buf_done(&out);
                return r;
        }
        text = buf_steal(&out, ret_len);
        if (!text)
                return -ENOMEM;
        *ret_text = text;
        return 0;
}

int deep_checks_save(int dirfd, const struct deep_check *v, size_t n) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r;

        r = deep_checks_format(v, n, &text, &len);
        if (r < 0)
                return r;
        r = atomic_file_write(dirfd, DEEP_CHECKS_FILE, text, len);
        return r < 0 ? r : 0;
}
