/* Diagnostics of the configuration loader: how foreign text (values, keys,
 * anchors, tags from a file) is quoted into a message, how messages are kept
 * and put in file and position order, and did-you-mean for misspelt keys and
 * values.
 *
 * Every byte of a message is decided here or by the caller's format: this
 * file must never log, never read files and never put foreign text into a
 * message without diag_escape(). */
#include "config-diag.h"

#include <assert.h>
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* Messages a list holds before it first grows. */
#define DIAG_ALLOC_FIRST 8

/* ---------------------------------------------------------------------------
 * Quoting */

const char *diag_first_at(const struct node *first, const struct node *again,
                          char buf[static FIRST_AT_SIZE]) {
        if (first->line == again->line)
                snprintf(buf, FIRST_AT_SIZE, "column %u", first->column);
        else
                snprintf(buf, FIRST_AT_SIZE, "line %u", first->line);
        return buf;
}

const char *diag_escape(const char *s, size_t len, bool quotes, char buf[static QUOTE_SIZE]) {
        static_assert(QUOTE_SIZE >= LOG_ESCAPE_SIZE(QUOTE_CHARS), "room for an escaped quote");
        return log_escape(s, len, QUOTE_CHARS, quotes, buf);
}

const char *diag_quote(const struct node *n, char buf[static QUOTE_SIZE]) {
        return diag_escape(n->text, n->len, true, buf);
}

const char *diag_describe(const struct node *n, char buf[static QUOTE_SIZE]) {
        switch (n->kind) {
        case NODE_MAPPING:
                return "a mapping";
        case NODE_SEQUENCE:
                return "a list";
        case NODE_SCALAR:
                break;
        }
        if (node_is_null(n))
                return "nothing";
        return diag_quote(n, buf);
}

/* ---------------------------------------------------------------------------
 * Keeping and ordering messages */

void diag_list_done(struct diag_list *d) {
        for (size_t i = 0; i < d->n; i++)
                free(d->items[i].message);
        free(d->items);
        *d = (struct diag_list) {};
}

static int diag_cmp(const void *a, const void *b) {
        const struct diag *x = a, *y = b;
        if (x->file != y->file)
                return x->file < y->file ? -1 : 1;
        if (x->line != y->line)
                return x->line < y->line ? -1 : 1;
        if (x->column != y->column)
                return x->column < y->column ? -1 : 1;
        if (x->seq != y->seq)
                return x->seq < y->seq ? -1 : 1;
        return 0;
}

int diag_list_export(struct diag_list *d, struct config_errors *ret) {
        char **v;

        if (!ret)
                return 0;
        *ret = (struct config_errors) { .n_dropped = d->n_dropped };
        if (d->n == 0)
                return 0;
        qsort(d->items, d->n, sizeof(d->items[0]), diag_cmp);
        v = calloc(d->n, sizeof(char *));
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < d->n; i++)
                v[i] = TAKE_PTR(d->items[i].message);
        ret->messages = v;
        ret->n = d->n;
        return 0;
}

void diag_sink_move(struct diag_sink *dst, struct diag_sink *src) {
        struct diag_list *from[] = { &src->errors, &src->warnings }, *to[] = { &dst->errors, &dst->warnings };

        for (size_t k = 0; k < ELEMENTSOF(from); k++) {
                struct diag_list *f = from[k], *t = to[k];
                for (size_t i = 0; i < f->n; i++) {
                        if (t->n >= CONFIG_MAX_ERRORS) {
                                t->n_dropped++;
                                continue;
                        }
                        if (t->n == t->n_alloc) {
                                size_t na = t->n_alloc ? t->n_alloc * 2 : DIAG_ALLOC_FIRST;
                                struct diag *d = reallocarray(t->items, na, sizeof(*d));
                                if (!d) {
                                        dst->oom = true;
                                        break;
                                }
                                t->items = d;
                                t->n_alloc = na;
                        }
                        t->items[t->n++] = f->items[i];
                        f->items[i].message = NULL;
                }
                t->n_dropped += f->n_dropped;
        }
        if (src->oom)
                dst->oom = true;
        if (src->seq > dst->seq)
                dst->seq = src->seq;
        diag_list_done(&src->errors);
        diag_list_done(&src->warnings);
}

void diag_addv(struct diag_sink *s, enum diag_level level, const char *path, size_t file,
               unsigned line, unsigned column, const char *fmt, va_list ap) {
        struct diag_list *list = level == DIAG_WARNING ? &s->warnings : &s->errors;
        _cleanup_free_ char *body = NULL;
        char *msg;

        if (list->n >= CONFIG_MAX_ERRORS) {
                list->n_dropped++;
                return;
        }
        if (vasprintf(&body, fmt, ap) < 0) {
                body = NULL;
                s->oom = true;
                return;
        }
        if (asprintf(&msg, "%s:%u:%u: %s", path, line, column, body) < 0) {
                s->oom = true;
                return;
        }
        if (list->n == list->n_alloc) {
                size_t na = list->n_alloc ? list->n_alloc * 2 : DIAG_ALLOC_FIRST;
                struct diag *d = reallocarray(list->items, na, sizeof(*d));
                if (!d) {
                        free(msg);
                        s->oom = true;
                        return;
                }
                list->items = d;
                list->n_alloc = na;
        }
        list->items[list->n++] = (struct diag) {
                .message = msg, .file = file, .line = line, .column = column, .seq = s->seq++,
        };
}

void diag_at(struct diag_sink *s, enum diag_level level, const char *path, size_t file,
             unsigned line, unsigned column, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        diag_addv(s, level, path, file, line, column, fmt, ap);
        va_end(ap);
}

int walk_error(const struct walk *w, const struct node *n, const char *fmt, ...) {
        va_list ap;

        if (!w->report)
                return -EINVAL;
        va_start(ap, fmt);
        diag_addv(w->sink, DIAG_ERROR, w->path, w->file, n->line, n->column, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

int walk_oom(const struct walk *w) {
        w->sink->oom = true;
        return -ENOMEM;
}

/* ---------------------------------------------------------------------------
 * Did-you-mean */

#define SUGGEST_MAX_LEN 64

/* Optimal string alignment distance (edits and adjacent swaps), ignoring
 * ASCII case. UINT_MAX for words too long to be worth it. */
static unsigned edit_distance(const char *a, const char *b) {
        unsigned d[SUGGEST_MAX_LEN + 1][SUGGEST_MAX_LEN + 1];
        size_t la = strlen(a), lb = strlen(b);

        if (la > SUGGEST_MAX_LEN || lb > SUGGEST_MAX_LEN)
                return UINT_MAX;
        for (size_t i = 0; i <= la; i++)
                d[i][0] = (unsigned) i;
        for (size_t j = 0; j <= lb; j++)
                d[0][j] = (unsigned) j;
        for (size_t i = 1; i <= la; i++)
                for (size_t j = 1; j <= lb; j++) {
                        int ca = tolower((unsigned char) a[i - 1]), cb = tolower((unsigned char) b[j - 1]);
                        unsigned v = d[i - 1][j - 1] + (ca != cb);
                        if (d[i - 1][j] + 1 < v)
                                v = d[i - 1][j] + 1;
                        if (d[i][j - 1] + 1 < v)
                                v = d[i][j - 1] + 1;
                        if (i > 1 && j > 1 && ca == tolower((unsigned char) b[j - 2]) &&
                            tolower((unsigned char) a[i - 2]) == cb && d[i - 2][j - 2] + 1 < v)
                                v = d[i - 2][j - 2] + 1;
                        d[i][j] = v;
                }
        return d[la][lb];
}

/* The closest of n names to word, the i-th at base + i * stride (so that a
 * table of structs whose first member is the name serves as it is). */
static const char *suggest_strided(const char *word, const void *base, size_t n, size_t stride) {
        size_t len = strlen(word);
        /* A likely typo: one edit in a short word, two up to eight letters, three beyond. */
        unsigned limit = len <= 4 ? 1 : len <= 8 ? 2 : 3, best_d = UINT_MAX;
        const char *best = NULL;

        for (size_t i = 0; i < n; i++) {
                const char *name = *(const char *const *) ((const char *) base + i * stride);
                unsigned dist = edit_distance(word, name);
                if (dist <= limit && dist < best_d && dist < strlen(name)) {
                        best = name;
                        best_d = dist;
                }
        }
        return best;
}

const char *diag_suggest(const char *word, const char *const *names, size_t n) {
        return suggest_strided(word, names, n, sizeof(names[0]));
}

int diag_unknown_key(const struct walk *w, const struct node *key, const struct key_desc *keys,
                     size_t n_keys) {
        const char *s;
        char q[QUOTE_SIZE];

        static_assert(offsetof(struct key_desc, name) == 0, "diagnostics read a key table by name");
        s = suggest_strided(key->text, keys, n_keys, sizeof(keys[0]));
        if (s)
                return walk_error(w, key, "unknown key %s (did you mean \"%s\"?)", diag_quote(key, q), s);
        return walk_error(w, key, "unknown key %s", diag_quote(key, q));
}
