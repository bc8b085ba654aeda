/* kinesisd.yaml and the files its include: globs match -> a fresh struct config
 * (DESIGN §3).
 *
 * Each file goes through three stages. Its bytes are checked first (size,
 * UTF-8), so that those errors carry a line and column too. The event parser
 * then builds a small tree of our own that keeps the line and column of every
 * node and refuses anchors, aliases, explicit tags, duplicate keys and deep
 * nesting. Finally tables of known keys are walked over the tree. Rules that
 * span streams or files (unique names, streams.env variables) run last.
 *
 * Every problem becomes one "FILE:LINE:COLUMN: message" string and loading
 * carries on, so that one run reports all of them (up to CONFIG_MAX_ERRORS).
 *
 * Includes: only the main file may name include: globs. An included file with
 * include: of its own is an error: one level keeps the set of files obvious
 * from the main file and makes include cycles impossible. A glob that matches
 * nothing is a warning only (an empty streams.d/ is normal). A file matched
 * more than once, or the main file matched by its own glob, is read once.
 *
 * Defaults: the main file's defaults: apply to every stream; an included
 * file's defaults: apply to its own streams and win over the main file's, key
 * by key. tags merge instead: main defaults < file defaults < the stream's own.
 * name cannot be defaulted; shards from defaults are not applied to on_demand
 * streams (a stream that itself sets shards and is on_demand is an error).
 *
 * This file never logs, never reads the AWS environment and never touches a
 * configuration in use: it builds a new one or a list of errors. */

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "config.h"
#include "env-name.h"
#include "file-read.h"
#include "util.h"

/* A glob that pulls in thousands of files is a mistake, not a configuration. */
#define CONFIG_FILES_MAX 1024
/* Long enough for any sane interval; keeps now + duration far from overflow. */
#define CONFIG_DURATION_MAX (30 * 24 * 3600 * USEC_PER_SEC)
#define TAG_KEY_MAX 128
#define TAG_VALUE_MAX 256
#define NAME_MAX_LEN 128
#define KMS_KEY_MAX 2048
#define ENDPOINT_MAX 2048
/* Values quoted in messages are cut after this many characters. */
#define QUOTE_CHARS 64
#define QUOTE_SIZE (QUOTE_CHARS * 4 + 8)

/* ---------------------------------------------------------------------------
 * Durations */

int config_parse_duration(const char *s, uint64_t *ret_usec) {
        static const struct {
                const char *suffix;
                uint64_t usec;
        } units[] = {
                /* "ms" before "m", so that the longer suffix wins. */
                { "ms", USEC_PER_MSEC },
                { "s", USEC_PER_SEC },
                { "m", 60 * USEC_PER_SEC },
                { "h", 3600 * USEC_PER_SEC },
        };
        uint64_t n = 0;
        const char *p = s;

        if (!s || !ret_usec)
                return -EINVAL;
        if (*p < '0' || *p > '9')
                return -EINVAL;
        for (; *p >= '0' && *p <= '9'; p++) {
                unsigned digit = (unsigned) (*p - '0');
                if (n > (UINT64_MAX - digit) / 10)
                        return -ERANGE;
                n = n * 10 + digit;
        }
        for (size_t i = 0; i < ELEMENTSOF(units); i++) {
                if (!streq(p, units[i].suffix))
                        continue;
                if (n > UINT64_MAX / units[i].usec)
                        return -ERANGE;
                *ret_usec = n * units[i].usec;
                return 0;
        }
        return -EINVAL;
}

/* ---------------------------------------------------------------------------
 * Freeing */

struct config *config_free(struct config *c) {
        if (!c)
                return NULL;
        free(c->path);
        free(c->region);
        free(c->profile);
        free(c->endpoint);
        free(c->ca_bundle);
        free(c->state_dir);
        for (size_t i = 0; i < c->n_streams; i++)
                stream_decl_done(&c->streams[i]);
        free(c->streams);
        free(c);
        return NULL;
}

void config_errors_done(struct config_errors *e) {
        if (!e)
                return;
        for (size_t i = 0; i < e->n; i++)
                free(e->messages[i]);
        free(e->messages);
        *e = (struct config_errors) {};
}

/* ---------------------------------------------------------------------------
 * The YAML tree: just enough of YAML to validate with positions. */

enum node_kind {
        NODE_SCALAR,
        NODE_SEQUENCE,
        NODE_MAPPING,
};

struct node {
        enum node_kind kind;
        unsigned line, column; /* 1-based */
        bool plain;            /* scalar without quotes or block style */
        bool ignore;           /* already reported (alias, bad or duplicate key): skip quietly */
        char *text;            /* scalar, NUL-terminated, may hold NULs from escapes */
        size_t len;
        struct node **items;   /* sequence: entries; mapping: key, value, key, value, ... */
        size_t n_items, n_alloc;
};

/* Recursion is bounded by CONFIG_DEPTH_MAX: deeper trees are never built. */
static struct node *node_free(struct node *n) {
        if (!n)
                return NULL;
        for (size_t i = 0; i < n->n_items; i++)
                node_free(n->items[i]);
        free(n->items);
        free(n->text);
        free(n);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct node *, node_free);

static bool node_is_null(const struct node *n) {
        if (n->kind != NODE_SCALAR || !n->plain)
                return false;
        return n->len == 0 || streq(n->text, "~") || streq(n->text, "null") ||
               streq(n->text, "Null") || streq(n->text, "NULL");
}

static size_t node_n_pairs(const struct node *m) {
        return m->n_items / 2;
}

/* ---------------------------------------------------------------------------
 * Messages */

/* "line 5", or "column 12" when both are on one line: where a repeated
 * key or name was first written. */
static const char *first_at(const struct node *first, const struct node *again, char buf[static 32]) {
        if (first->line == again->line)
                snprintf(buf, 32, "column %u", first->column);
        else
                snprintf(buf, 32, "line %u", first->line);
        return buf;
}

static size_t utf8_width(unsigned char c) {
        if (c < 0x80)
                return 1;
        if (c >= 0xc0 && c < 0xe0)
                return 2;
        if (c >= 0xe0 && c < 0xf0)
                return 3;
        if (c >= 0xf0 && c < 0xf8)
                return 4;
        return 1;
}

static size_t utf8_chars(const char *s, size_t len) {
        size_t n = 0;
        for (size_t i = 0; i < len; i++)
                if (((unsigned char) s[i] & 0xc0) != 0x80)
                        n++;
        return n;
}

/* Text of a value for a message: control characters escaped, cut after
 * QUOTE_CHARS characters, optionally in double quotes. */
static const char *escape(const char *s, size_t len, bool quotes, char buf[static QUOTE_SIZE]) {
        size_t o = 0, chars = 0;

        if (quotes)
                buf[o++] = '"';
        for (size_t i = 0; i < len; chars++) {
                unsigned char c = (unsigned char) s[i];

                if (chars == QUOTE_CHARS) {
                        memcpy(buf + o, "...", 3);
                        o += 3;
                        break;
                }
                if (c == '"' || c == '\\') {
                        buf[o++] = '\\';
                        buf[o++] = (char) c;
                        i++;
                } else if (c < 0x20 || c == 0x7f) {
                        o += (size_t) snprintf(buf + o, 5, "\\x%02x", c);
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

static const char *quote(const struct node *n, char buf[static QUOTE_SIZE]) {
        return escape(n->text, n->len, true, buf);
}

/* "a mapping", "a list", "nothing" or the quoted scalar. */
static const char *describe(const struct node *n, char buf[static QUOTE_SIZE]) {
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
        return quote(n, buf);
}

struct diag {
        char *message;
        size_t file; /* order of the file, then position, sorts the messages */
        unsigned line, column;
        size_t seq;
};

struct diag_list {
        struct diag *items;
        size_t n, n_alloc;
        size_t n_dropped;
};

static void diag_list_done(struct diag_list *d) {
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

/* Move the messages, in file and position order, into the caller's struct. */
static int diag_list_export(struct diag_list *d, struct config_errors *ret) {
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

/* ---------------------------------------------------------------------------
 * The loader */

struct source {
        char *path;
        dev_t dev;
        ino_t ino;
};

struct slot {
        const struct node *key, *value;
};

enum {
        SK_NAME,
        SK_REGION,
        SK_MODE,
        SK_SHARDS,
        SK_RETENTION_HOURS,
        SK_ENCRYPTION,
        SK_SHARD_LEVEL_METRICS,
        SK_MAX_RECORD_SIZE_KIB,
        SK_TAGS,
        SK_CONSUMERS,
        SK_MANAGE,
        _SK_MAX,
};

struct loader {
        struct config *config;
        struct diag_list errors, warnings;
        size_t seq;
        bool oom;

        struct source *files; /* [0] is the main file */
        size_t n_files;

        struct node *main_root;
        struct slot global_defaults[_SK_MAX];

        size_t *stream_file; /* parallel to config->streams: index into files */
        size_t n_stream_alloc;
};

/* Where a walk is: which file, and whether problems are to be reported (not
 * for values a stream inherits from defaults: those were checked where they
 * were written). */
struct walk {
        struct loader *l;
        const char *path;
        size_t file;
        bool report;
};

static void loader_done(struct loader *l) {
        diag_list_done(&l->errors);
        diag_list_done(&l->warnings);
        for (size_t i = 0; i < l->n_files; i++)
                free(l->files[i].path);
        free(l->files);
        node_free(l->main_root);
        free(l->stream_file);
        config_free(l->config);
}

static void diag_addv(struct loader *l, struct diag_list *list, const char *path, size_t file,
                      unsigned line, unsigned column, const char *fmt, va_list ap) _printf_(7, 0);
static void diag_addv(struct loader *l, struct diag_list *list, const char *path, size_t file,
                      unsigned line, unsigned column, const char *fmt, va_list ap) {
        _cleanup_free_ char *body = NULL;
        char *msg;

        if (list->n >= CONFIG_MAX_ERRORS) {
                list->n_dropped++;
                return;
        }
        if (vasprintf(&body, fmt, ap) < 0) {
                body = NULL;
                l->oom = true;
                return;
        }
        if (asprintf(&msg, "%s:%u:%u: %s", path, line, column, body) < 0) {
                l->oom = true;
                return;
        }
        if (list->n == list->n_alloc) {
                size_t na = list->n_alloc ? list->n_alloc * 2 : 8;
                struct diag *d = reallocarray(list->items, na, sizeof(*d));
                if (!d) {
                        free(msg);
                        l->oom = true;
                        return;
                }
                list->items = d;
                list->n_alloc = na;
        }
        list->items[list->n++] = (struct diag) {
                .message = msg, .file = file, .line = line, .column = column, .seq = l->seq++,
        };
}

static void loader_error_at(struct loader *l, const char *path, size_t file, unsigned line,
                            unsigned column, const char *fmt, ...) _printf_(6, 7);
static void loader_error_at(struct loader *l, const char *path, size_t file, unsigned line,
                            unsigned column, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        diag_addv(l, &l->errors, path, file, line, column, fmt, ap);
        va_end(ap);
}

static void loader_warning_at(struct loader *l, const char *path, size_t file, unsigned line,
                              unsigned column, const char *fmt, ...) _printf_(6, 7);
static void loader_warning_at(struct loader *l, const char *path, size_t file, unsigned line,
                              unsigned column, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        diag_addv(l, &l->warnings, path, file, line, column, fmt, ap);
        va_end(ap);
}

/* Report a problem with node n. Returns -EINVAL, for "return walk_error(...)". */
static int walk_error(const struct walk *w, const struct node *n, const char *fmt, ...) _printf_(3, 4);
static int walk_error(const struct walk *w, const struct node *n, const char *fmt, ...) {
        va_list ap;

        if (!w->report)
                return -EINVAL;
        va_start(ap, fmt);
        diag_addv(w->l, &w->l->errors, w->path, w->file, n->line, n->column, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

static int walk_oom(const struct walk *w) {
        w->l->oom = true;
        return -ENOMEM;
}

/* ---------------------------------------------------------------------------
 * Reading and parsing one file */

/* Find the first byte that is not valid UTF-8 (overlong forms, surrogates and
 * code points past U+10FFFF included). Returns true if all is valid. */
static bool utf8_validate(const char *buf, size_t len, size_t *ret_offset) {
        const unsigned char *s = (const unsigned char *) buf;

        for (size_t i = 0; i < len;) {
                unsigned char c = s[i];
                size_t w;
                uint32_t cp, min;

                if (c < 0x80) {
                        i++;
                        continue;
                }
                if (c >= 0xc2 && c <= 0xdf)
                        w = 2, cp = c & 0x1f, min = 0x80;
                else if (c >= 0xe0 && c <= 0xef)
                        w = 3, cp = c & 0x0f, min = 0x800;
                else if (c >= 0xf0 && c <= 0xf4)
                        w = 4, cp = c & 0x07, min = 0x10000;
                else
                        goto bad;
                if (w > len - i)
                        goto bad;
                for (size_t k = 1; k < w; k++) {
                        if ((s[i + k] & 0xc0) != 0x80)
                                goto bad;
                        cp = (cp << 6) | (s[i + k] & 0x3f);
                }
                if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                        goto bad;
                i += w;
                continue;
        bad:
                *ret_offset = i;
                return false;
        }
        return true;
}

/* Line and column (1-based, columns in characters) of a byte offset. */
static void offset_position(const char *buf, size_t len, size_t offset, unsigned *ret_line,
                            unsigned *ret_column) {
        unsigned line = 1, column = 1;

        if (offset > len)
                offset = len;
        for (size_t i = 0; i < offset; i++) {
                unsigned char c = (unsigned char) buf[i];
                if (c == '\n' || (c == '\r' && (i + 1 >= len || buf[i + 1] != '\n'))) {
                        line++;
                        column = 1;
                } else if ((c & 0xc0) != 0x80 && c != '\r')
                        column++;
        }
        *ret_line = line;
        *ret_column = column;
}

/* Read a regular file of at most CONFIG_FILE_MAX bytes. -EFBIG if larger,
 * -EBADFD if not a regular file. */
static int read_config_file(const char *path, char **ret_buf, size_t *ret_len, struct stat *ret_st) {
        return read_file_bounded(path, CONFIG_FILE_MAX, ret_buf, ret_len, ret_st);
}

static struct node *node_new(enum node_kind kind, const yaml_mark_t *mark) {
        struct node *n = calloc(1, sizeof(*n));
        if (!n)
                return NULL;
        n->kind = kind;
        n->line = (unsigned) mark->line + 1;
        n->column = (unsigned) mark->column + 1;
        return n;
}

static int key_node_cmp(const void *a, const void *b) {
        const struct node *x = *(const struct node *const *) a, *y = *(const struct node *const *) b;
        int r;

        r = memcmp(x->text, y->text, x->len < y->len ? x->len : y->len);
        if (r != 0)
                return r;
        if (x->len != y->len)
                return x->len < y->len ? -1 : 1;
        if (x->line != y->line)
                return x->line < y->line ? -1 : 1;
        return x->column < y->column ? -1 : x->column > y->column;
}

/* Sorting keeps this O(n log n) for maps with very many keys. */
static int check_duplicate_keys(const struct walk *w, struct node *m) {
        _cleanup_free_ struct node **keys = NULL;
        size_t n = 0, first = 0;

        if (m->n_items < 4)
                return 0;
        keys = calloc(node_n_pairs(m), sizeof(*keys));
        if (!keys)
                return walk_oom(w);
        for (size_t i = 0; i + 1 < m->n_items; i += 2)
                if (m->items[i]->kind == NODE_SCALAR && !m->items[i]->ignore)
                        keys[n++] = m->items[i];
        qsort(keys, n, sizeof(*keys), key_node_cmp);
        for (size_t i = 1; i < n; i++) {
                char q[QUOTE_SIZE], at[32];
                if (keys[i]->len != keys[first]->len ||
                    memcmp(keys[i]->text, keys[first]->text, keys[i]->len) != 0) {
                        first = i;
                        continue;
                }
                walk_error(w, keys[i], "duplicate key %s (first at %s)", quote(keys[i], q),
                           first_at(keys[first], keys[i], at));
                keys[i]->ignore = true;
        }
        return 0;
}

static int attach(const struct walk *w, struct node **stack, size_t depth, struct node **root,
                  struct node *n) {
        struct node *parent;

        if (depth == 0) {
                *root = n;
                return 0;
        }
        parent = stack[depth - 1];
        if (parent->kind == NODE_MAPPING && parent->n_items % 2 == 0 && n->kind != NODE_SCALAR) {
                char q[QUOTE_SIZE];
                walk_error(w, n, "a key must be a plain value, not %s", describe(n, q));
                n->ignore = true;
        }
        if (parent->n_items == parent->n_alloc) {
                size_t na = parent->n_alloc ? parent->n_alloc * 2 : 4;
                struct node **items = reallocarray(parent->items, na, sizeof(*items));
                if (!items) {
                        node_free(n);
                        return walk_oom(w);
                }
                parent->items = items;
                parent->n_alloc = na;
        }
        parent->items[parent->n_items++] = n;
        return 0;
}

static int report_yaml_error(const struct walk *w, const yaml_parser_t *p, const char *buf,
                             size_t len) {
        unsigned line, column;

        switch (p->error) {
        case YAML_MEMORY_ERROR:
                return walk_oom(w);
        case YAML_READER_ERROR:
                offset_position(buf, len, p->problem_offset, &line, &column);
                if (p->problem_value >= 0)
                        loader_error_at(w->l, w->path, w->file, line, column,
                                        "invalid YAML: %s (U+%04X)", strna(p->problem),
                                        (unsigned) p->problem_value);
                else
                        loader_error_at(w->l, w->path, w->file, line, column, "invalid YAML: %s",
                                        strna(p->problem));
                return -EINVAL;
        default:
                line = (unsigned) p->problem_mark.line + 1;
                column = (unsigned) p->problem_mark.column + 1;
                if (p->context)
                        loader_error_at(w->l, w->path, w->file, line, column,
                                        "invalid YAML: %s (%s at line %u, column %u)",
                                        strna(p->problem), p->context,
                                        (unsigned) p->context_mark.line + 1,
                                        (unsigned) p->context_mark.column + 1);
                else
                        loader_error_at(w->l, w->path, w->file, line, column, "invalid YAML: %s",
                                        strna(p->problem));
                return -EINVAL;
        }
}

/* Check for what DESIGN §3 refuses on any node: anchors and explicit tags. */
static void check_node_props(const struct walk *w, const struct node *n, const yaml_char_t *anchor,
                             const yaml_char_t *tag) {
        char q[QUOTE_SIZE];

        if (anchor)
                walk_error(w, n, "YAML anchors are not allowed (&%s)",
                           escape((const char *) anchor, strlen((const char *) anchor), false, q));
        if (tag) {
                const char *t = (const char *) tag;
                /* Show "!!str" as it was written, not as the parser resolved it. */
                bool core = strncmp(t, "tag:yaml.org,2002:", 18) == 0;
                if (core)
                        t += 18;
                walk_error(w, n, "YAML tags are not allowed (%s%s)", core ? "!!" : "",
                           escape(t, strlen(t), false, q));
        }
}

/* Build the tree of one file. Returns 0 with *ret_root (NULL for a file
 * without content), -EINVAL after a problem that makes the rest of the file
 * unreadable (already reported), or -ENOMEM. */
static int parse_yaml(const struct walk *w, const char *buf, size_t len, struct node **ret_root) {
        _cleanup_(node_freep) struct node *root = NULL;
        struct node *stack[CONFIG_DEPTH_MAX];
        size_t depth = 0, offset;
        unsigned documents = 0;
        yaml_parser_t p;
        int r = 0;

        if (!utf8_validate(buf, len, &offset)) {
                unsigned line, column;
                offset_position(buf, len, offset, &line, &column);
                loader_error_at(w->l, w->path, w->file, line, column,
                                "invalid UTF-8 (byte 0x%02x)", (unsigned char) buf[offset]);
                return -EINVAL;
        }

        if (!yaml_parser_initialize(&p))
                return walk_oom(w);
        yaml_parser_set_input_string(&p, (const unsigned char *) buf, len);
        yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);

        for (bool done = false; !done && r >= 0;) {
                yaml_event_t ev;
                struct node *n = NULL;

                if (!yaml_parser_parse(&p, &ev)) {
                        r = report_yaml_error(w, &p, buf, len);
                        break;
                }

                switch (ev.type) {
                case YAML_STREAM_END_EVENT:
                        done = true;
                        break;

                case YAML_DOCUMENT_START_EVENT:
                        if (++documents > 1) {
                                loader_error_at(w->l, w->path, w->file,
                                                (unsigned) ev.start_mark.line + 1,
                                                (unsigned) ev.start_mark.column + 1,
                                                "only one YAML document is allowed per file");
                                r = -EINVAL;
                        }
                        break;

                case YAML_ALIAS_EVENT: {
                        char q[QUOTE_SIZE];
                        const char *a = (const char *) ev.data.alias.anchor;
                        /* A stand-in keeps keys and values paired; it is skipped quietly. */
                        n = node_new(NODE_SCALAR, &ev.start_mark);
                        if (!n || !(n->text = strdup(""))) {
                                node_free(n);
                                r = walk_oom(w);
                                break;
                        }
                        n->plain = true;
                        n->ignore = true;
                        walk_error(w, n, "YAML aliases are not allowed (*%s)",
                                   escape(a, strlen(a), false, q));
                        r = attach(w, stack, depth, &root, n);
                        break;
                }

                case YAML_SCALAR_EVENT:
                        n = node_new(NODE_SCALAR, &ev.start_mark);
                        if (!n) {
                                r = walk_oom(w);
                                break;
                        }
                        n->len = ev.data.scalar.length;
                        n->text = malloc(n->len + 1);
                        if (!n->text) {
                                node_free(n);
                                r = walk_oom(w);
                                break;
                        }
                        memcpy(n->text, ev.data.scalar.value, n->len);
                        n->text[n->len] = '\0';
                        n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
                        check_node_props(w, n, ev.data.scalar.anchor, ev.data.scalar.tag);
                        r = attach(w, stack, depth, &root, n);
                        break;

                case YAML_SEQUENCE_START_EVENT:
                case YAML_MAPPING_START_EVENT: {
                        bool seq = ev.type == YAML_SEQUENCE_START_EVENT;
                        if (depth == CONFIG_DEPTH_MAX) {
                                loader_error_at(w->l, w->path, w->file,
                                                (unsigned) ev.start_mark.line + 1,
                                                (unsigned) ev.start_mark.column + 1,
                                                "nesting is deeper than %d levels",
                                                CONFIG_DEPTH_MAX);
                                r = -EINVAL;
                                break;
                        }
                        n = node_new(seq ? NODE_SEQUENCE : NODE_MAPPING, &ev.start_mark);
                        if (!n) {
                                r = walk_oom(w);
                                break;
                        }
                        if (seq)
                                check_node_props(w, n, ev.data.sequence_start.anchor,
                                                 ev.data.sequence_start.tag);
                        else
                                check_node_props(w, n, ev.data.mapping_start.anchor,
                                                 ev.data.mapping_start.tag);
                        r = attach(w, stack, depth, &root, n);
                        if (r >= 0)
                                stack[depth++] = n;
                        break;
                }

                case YAML_SEQUENCE_END_EVENT:
                case YAML_MAPPING_END_EVENT:
                        if (depth == 0)
                                break;
                        n = stack[--depth];
                        if (n->kind == NODE_MAPPING)
                                r = check_duplicate_keys(w, n);
                        break;

                default:
                        break;
                }
                yaml_event_delete(&ev);
        }
        yaml_parser_delete(&p);
        if (r < 0)
                return r;
        *ret_root = TAKE_PTR(root);
        return 0;
}

/* ---------------------------------------------------------------------------
 * Keys and did-you-mean */

struct key_desc;
typedef int (*key_parse_fn)(const struct walk *w, const struct key_desc *k, const char *label,
                            const struct node *v, void *dest);

struct key_desc {
        const char *name;
        key_parse_fn parse;
        size_t offset;
        unsigned min, max;
};

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

/* The closest of names[] to word, if it is close enough to be a likely typo. */
static const char *suggest(const char *word, const char *const *names, size_t n) {
        size_t len = strlen(word);
        unsigned limit = len <= 4 ? 1 : len <= 8 ? 2 : 3, best_d = UINT_MAX;
        const char *best = NULL;

        for (size_t i = 0; i < n; i++) {
                unsigned dist = edit_distance(word, names[i]);
                if (dist <= limit && dist < best_d && dist < strlen(names[i])) {
                        best = names[i];
                        best_d = dist;
                }
        }
        return best;
}

static int unknown_key(const struct walk *w, const struct node *key, const struct key_desc *keys,
                       size_t n_keys) {
        const char *names[16];
        const char *s;
        char q[QUOTE_SIZE];

        if (n_keys > ELEMENTSOF(names))
                n_keys = ELEMENTSOF(names);
        for (size_t i = 0; i < n_keys; i++)
                names[i] = keys[i].name;
        s = suggest(key->text, names, n_keys);
        if (s)
                return walk_error(w, key, "unknown key %s (did you mean \"%s\"?)", quote(key, q), s);
        return walk_error(w, key, "unknown key %s", quote(key, q));
}

/* Sort the pairs of mapping m into slots[] by keys[]; report unknown keys
 * and return how many there were. */
static size_t walk_keys(const struct walk *w, const struct node *m, const struct key_desc *keys,
                        size_t n_keys, struct slot *slots) {
        size_t n_unknown = 0;

        for (size_t i = 0; i < n_keys; i++)
                slots[i] = (struct slot) {};
        for (size_t i = 0; i + 1 < m->n_items; i += 2) {
                const struct node *key = m->items[i], *value = m->items[i + 1];
                size_t k;

                if (key->ignore || key->kind != NODE_SCALAR)
                        continue;
                for (k = 0; k < n_keys; k++)
                        if (key->len == strlen(keys[k].name) && streq(key->text, keys[k].name))
                                break;
                if (k == n_keys) {
                        unknown_key(w, key, keys, n_keys);
                        n_unknown++;
                        continue;
                }
                slots[k] = (struct slot) { .key = key, .value = value };
        }
        return n_unknown;
}

/* A mapping section to walk. A null value (e.g. "aws:" alone) is an empty
 * section: false without an error. */
static bool section_map(const struct walk *w, const char *label, const struct node *v) {
        char q[QUOTE_SIZE];

        if (v->ignore || node_is_null(v))
                return false;
        if (v->kind != NODE_MAPPING) {
                walk_error(w, v, "%s: expected a mapping, got %s", label, describe(v, q));
                return false;
        }
        return true;
}

/* Like section_map() for lists. */
static bool section_list(const struct walk *w, const char *label, const struct node *v) {
        char q[QUOTE_SIZE];

        if (v->ignore || node_is_null(v))
                return false;
        if (v->kind != NODE_SEQUENCE) {
                walk_error(w, v, "%s: expected a list, got %s", label, describe(v, q));
                return false;
        }
        return true;
}

/* The text of a scalar value, or NULL after reporting why not. */
static const char *scalar_text(const struct walk *w, const char *label, const struct node *v,
                               const char *expected) {
        char q[QUOTE_SIZE];

        if (v->ignore)
                return NULL;
        if (v->kind != NODE_SCALAR) {
                walk_error(w, v, "%s: expected %s, got %s", label, expected, describe(v, q));
                return NULL;
        }
        if (node_is_null(v)) {
                walk_error(w, v, "%s: a value is required", label);
                return NULL;
        }
        if (strlen(v->text) != v->len) {
                walk_error(w, v, "%s: must not contain a NUL character", label);
                return NULL;
        }
        for (size_t i = 0; i < v->len; i++) {
                unsigned char c = (unsigned char) v->text[i];
                if (c < 0x20 || c == 0x7f) {
                        walk_error(w, v, "%s: %s contains a control character", label, quote(v, q));
                        return NULL;
                }
        }
        return v->text;
}

static int set_string(const struct walk *w, char **dest, const char *s) {
        char *copy = strdup(s);
        if (!copy)
                return walk_oom(w);
        free(*dest);
        *dest = copy;
        return 0;
}

/* ---------------------------------------------------------------------------
 * Value parsers (table entries) */

static int parse_uint_range(const struct walk *w, const struct key_desc *k, const char *label,
                            const struct node *v, void *dest) {
        const char *t = scalar_text(w, label, v, "an integer");
        char q[QUOTE_SIZE];
        const char *p;
        uint64_t n = 0;
        bool negative, overflow = false;

        if (!t)
                return -EINVAL;
        negative = t[0] == '-';
        p = t + negative;
        if (*p == '\0' || strspn(p, "0123456789") != strlen(p))
                return walk_error(w, v, "%s: expected an integer, got %s", label, quote(v, q));
        if (!v->plain)
                return walk_error(w, v,
                                  "%s: expected an integer, got the string %s (write it without quotes)",
                                  label, quote(v, q));
        for (; *p; p++) {
                if (n > UINT_MAX)
                        overflow = true;
                else
                        n = n * 10 + (unsigned) (*p - '0');
        }
        if (negative || overflow || n < k->min || n > k->max)
                return walk_error(w, v, "%s: %s is out of range (%u-%u)", label,
                                  escape(t, v->len, false, q), k->min, k->max);
        *(unsigned *) dest = (unsigned) n;
        return 0;
}

static int parse_duration(const struct walk *w, const struct key_desc *k, const char *label,
                          const struct node *v, void *dest) {
        const char *t = scalar_text(w, label, v, "a duration");
        char q[QUOTE_SIZE];
        uint64_t usec;
        int r;

        if (!t)
                return -EINVAL;
        r = config_parse_duration(t, &usec);
        if (r == -ERANGE || (r >= 0 && usec > CONFIG_DURATION_MAX))
                return walk_error(w, v, "%s: %s is too long (at most 720h)", label, quote(v, q));
        if (r < 0)
                return walk_error(w, v,
                                  "%s: %s is not a duration (a number and ms, s, m or h: 500ms, 30s, 5m, 2h)",
                                  label, quote(v, q));
        if (usec == 0)
                return walk_error(w, v, "%s: must be longer than zero", label);
        *(uint64_t *) dest = usec;
        return 0;
}

static bool is_lower(char c) {
        return c >= 'a' && c <= 'z';
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

/* us-west-2, cn-north-1, us-gov-west-1: two letters, one or more words, a number. */
static bool region_is_valid(const char *s) {
        const char *p;
        unsigned words = 0;

        if (strlen(s) > 32 || !is_lower(s[0]) || !is_lower(s[1]) || s[2] != '-')
                return false;
        for (p = s + 3;;) {
                const char *start = p;
                if (is_digit(*p)) {
                        while (is_digit(*p))
                                p++;
                        return *p == '\0' && words > 0 && p - start <= 2;
                }
                while (is_lower(*p))
                        p++;
                if (p == start || *p != '-')
                        return false;
                p++;
                words++;
        }
}

static int parse_region(const struct walk *w, const struct key_desc *k, const char *label,
                        const struct node *v, void *dest) {
        const char *t = scalar_text(w, label, v, "a region name");
        char q[QUOTE_SIZE];

        if (!t)
                return -EINVAL;
        if (!region_is_valid(t))
                return walk_error(w, v, "%s: %s is not an AWS region name (like us-west-2)", label,
                                  quote(v, q));
        return set_string(w, dest, t);
}

static int parse_profile(const struct walk *w, const struct key_desc *k, const char *label,
                         const struct node *v, void *dest) {
        const char *t = scalar_text(w, label, v, "a profile name");
        char q[QUOTE_SIZE];

        if (!t)
                return -EINVAL;
        if (v->len == 0 || v->len > 256 || strpbrk(t, " \t[]"))
                return walk_error(w, v, "%s: %s is not a valid profile name", label, quote(v, q));
        return set_string(w, dest, t);
}

static bool host_is_loopback(const char *host, size_t len) {
        if (len == 9 && strncasecmp(host, "localhost", 9) == 0)
                return true;
        if (len == 5 && memcmp(host, "[::1]", 5) == 0)
                return true;
        return len >= 4 && memcmp(host, "127.", 4) == 0 && strspn(host, "0123456789.") >= len;
}

/* NULL if s is an http(s) URL kinesisd may talk to, else what is wrong. */
static const char *endpoint_problem(const char *s) {
        const char *host, *end, *colon;
        bool https;
        size_t hlen;

        if (strncasecmp(s, "https://", 8) == 0)
                https = true, host = s + 8;
        else if (strncasecmp(s, "http://", 7) == 0)
                https = false, host = s + 7;
        else
                return "is not an http:// or https:// URL";
        if (strlen(s) > ENDPOINT_MAX)
                return "is too long";
        if (strpbrk(s, " \t"))
                return "must not contain spaces";
        end = host + strcspn(host, "/?#");
        if (memchr(host, '@', (size_t) (end - host)))
                return "must not contain user information";
        /* The host ends at a port, except inside an IPv6 [literal]. */
        if (host[0] == '[') {
                const char *close = memchr(host, ']', (size_t) (end - host));
                if (!close)
                        return "has an unterminated IPv6 address";
                colon = close + 1;
                if (colon != end && *colon != ':')
                        return "has no valid host";
        } else
                colon = memchr(host, ':', (size_t) (end - host)) ?: end;
        hlen = (size_t) (colon - host);
        if (hlen == 0)
                return "has no host";
        if (host[0] != '[')
                for (size_t i = 0; i < hlen; i++)
                        if (!isalnum((unsigned char) host[i]) && host[i] != '-' && host[i] != '.')
                                return "has no valid host";
        if (colon != end) {
                const char *port = colon + 1;
                size_t plen = (size_t) (end - port);
                unsigned long n = 0;
                if (plen == 0 || plen > 5)
                        return "has an invalid port";
                for (size_t i = 0; i < plen; i++) {
                        if (!is_digit(port[i]))
                                return "has an invalid port";
                        n = n * 10 + (unsigned long) (port[i] - '0');
                }
                if (n == 0 || n > 65535)
                        return "has an invalid port";
        }
        /* DESIGN §5: credentials travel in plain text over http://. */
        if (!https && !host_is_loopback(host, hlen))
                return "uses http://, which is only allowed for a loopback host (localhost, 127.0.0.1, [::1])";
        return NULL;
}

static int parse_endpoint(const struct walk *w, const struct key_desc *k, const char *label,
                          const struct node *v, void *dest) {
        const char *t = scalar_text(w, label, v, "a URL"), *problem;
        char q[QUOTE_SIZE];

        if (!t)
                return -EINVAL;
        problem = endpoint_problem(t);
        if (problem)
                return walk_error(w, v, "%s: %s %s", label, quote(v, q), problem);
        return set_string(w, dest, t);
}

static int parse_abs_path(const struct walk *w, const struct key_desc *k, const char *label,
                          const struct node *v, void *dest) {
        const char *t = scalar_text(w, label, v, "a path");
        char q[QUOTE_SIZE];

        if (!t)
                return -EINVAL;
        if (t[0] != '/')
                return walk_error(w, v, "%s: %s is not an absolute path", label, quote(v, q));
        if (v->len >= PATH_MAX)
                return walk_error(w, v, "%s: path is too long", label);
        return set_string(w, dest, t);
}

/* NULL if s is a valid stream or consumer name, else what is wrong. */
static const char *name_problem(const char *s, size_t len) {
        if (len == 0)
                return "must not be empty";
        if (len > NAME_MAX_LEN)
                return "is longer than 128 characters";
        if (strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") != len)
                return "may only contain letters, digits, '_', '.' and '-'";
        return NULL;
}

static int parse_name(const struct walk *w, const struct key_desc *k, const char *label,
                      const struct node *v, void *dest) {
        const char *t, *problem;
        char q[QUOTE_SIZE];

        if (v->kind == NODE_SCALAR && !v->ignore && !node_is_null(v) && v->len == 0)
                return walk_error(w, v, "%s: must not be empty", label);
        t = scalar_text(w, label, v, "a name");
        if (!t)
                return -EINVAL;
        problem = name_problem(t, v->len);
        if (problem)
                return walk_error(w, v, "%s: %s %s", label, quote(v, q), problem);
        return set_string(w, dest, t);
}

/* The index of v's text in values[], or -EINVAL after reporting. */
static int parse_choice(const struct walk *w, const char *label, const struct node *v,
                        const char *const *values, size_t n) {
        const char *t = scalar_text(w, label, v, "a value"), *s;
        char q[QUOTE_SIZE], list[256] = "";

        if (!t)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (streq(t, values[i]))
                        return (int) i;
        for (size_t i = 0; i < n; i++) {
                strncat(list, i == 0 ? "" : i + 1 == n ? " or " : ", ", sizeof(list) - strlen(list) - 1);
                strncat(list, values[i], sizeof(list) - strlen(list) - 1);
        }
        s = suggest(t, values, n);
        if (s)
                return walk_error(w, v, "%s: %s is not %s (did you mean \"%s\"?)", label, quote(v, q),
                                  list, s);
        return walk_error(w, v, "%s: %s is not %s", label, quote(v, q), list);
}

static int parse_stream_mode(const struct walk *w, const struct key_desc *k, const char *label,
                             const struct node *v, void *dest) {
        static const char *const values[] = {
                [STREAM_MODE_PROVISIONED] = "provisioned",
                [STREAM_MODE_ON_DEMAND] = "on_demand",
        };
        int r = parse_choice(w, label, v, values, ELEMENTSOF(values));
        if (r < 0)
                return r;
        *(enum stream_mode *) dest = (enum stream_mode) r;
        return 0;
}

static int parse_manage(const struct walk *w, const struct key_desc *k, const char *label,
                        const struct node *v, void *dest) {
        static const char *const values[] = {
                [MANAGE_FULL] = "full",
                [MANAGE_CREATE_ONLY] = "create-only",
                [MANAGE_OBSERVE] = "observe",
        };
        int r = parse_choice(w, label, v, values, ELEMENTSOF(values));
        if (r < 0)
                return r;
        *(enum manage_mode *) dest = (enum manage_mode) r;
        return 0;
}

/* An alias (alias/...), a key id (UUID or mrk-...) or an ARN. */
static bool kms_key_is_valid(const char *s, size_t len) {
        if (len == 0 || len > KMS_KEY_MAX || strpbrk(s, " \t"))
                return false;
        if (strncmp(s, "alias/", 6) == 0)
                return len > 6;
        if (strncmp(s, "arn:", 4) == 0)
                return strncmp(s, "arn:aws", 7) == 0 && strstr(s, ":kms:");
        if (strncmp(s, "mrk-", 4) == 0)
                s += 4;
        return *s && strspn(s, "0123456789abcdefABCDEF-") == strlen(s);
}

static const struct key_desc encryption_keys[] = {
        { .name = "kms_key" },
};

static int parse_encryption(const struct walk *w, const struct key_desc *k, const char *label,
                            const struct node *v, void *dest) {
        struct slot slots[ELEMENTSOF(encryption_keys)];
        const struct node *key;
        size_t n_unknown;
        const char *t;
        char q[QUOTE_SIZE];

        if (v->ignore)
                return -EINVAL;
        if (v->kind == NODE_SCALAR && !node_is_null(v)) {
                if (!streq(v->text, "none"))
                        return walk_error(w, v, "%s: expected none or a mapping with kms_key, got %s",
                                          label, quote(v, q));
                free(*(char **) dest);
                *(char **) dest = NULL;
                return 0;
        }
        if (v->kind != NODE_MAPPING)
                return walk_error(w, v, "%s: expected none or a mapping with kms_key, got %s", label,
                                  describe(v, q));

        n_unknown = walk_keys(w, v, encryption_keys, ELEMENTSOF(encryption_keys), slots);
        key = slots[0].value;
        if (!key && n_unknown > 0) /* most likely a misspelt kms_key, already reported */
                return -EINVAL;
        if (!key)
                return walk_error(w, v, "%s: kms_key is required (or write encryption: none)", label);
        t = scalar_text(w, "kms_key", key, "a key alias, id or ARN");
        if (!t)
                return -EINVAL;
        if (!kms_key_is_valid(t, key->len))
                return walk_error(w, key,
                                  "kms_key: %s is not a KMS key alias (alias/...), key id or key ARN",
                                  quote(key, q));
        return set_string(w, dest, t);
}

static int parse_metrics(const struct walk *w, const struct key_desc *k, const char *label,
                         const struct node *v, void *dest) {
        const char *names[SHARD_METRIC_COUNT + 1];
        unsigned bits = 0;
        bool bad = false;
        char q[QUOTE_SIZE];

        if (v->ignore)
                return -EINVAL;
        if (v->kind == NODE_SCALAR && !node_is_null(v)) {
                if (!streq(v->text, "ALL"))
                        return walk_error(w, v, "%s: expected a list of metrics or ALL, got %s", label,
                                          quote(v, q));
                *(unsigned *) dest = METRIC_ALL;
                return 0;
        }
        if (node_is_null(v)) {
                *(unsigned *) dest = 0;
                return 0;
        }
        if (v->kind != NODE_SEQUENCE)
                return walk_error(w, v, "%s: expected a list of metrics or ALL, got %s", label,
                                  describe(v, q));

        for (size_t i = 0; i < SHARD_METRIC_COUNT; i++)
                names[i] = shard_metric_name((unsigned) i);
        names[SHARD_METRIC_COUNT] = "ALL";
        for (size_t i = 0; i < v->n_items; i++) {
                const struct node *e = v->items[i];
                const char *t = scalar_text(w, label, e, "a metric name"), *s;
                unsigned bit;

                if (!t) {
                        bad = true;
                        continue;
                }
                bit = shard_metric_from_name(t);
                if (bit == 0) {
                        s = suggest(t, names, ELEMENTSOF(names));
                        if (s)
                                walk_error(w, e, "%s: %s is not a shard-level metric (did you mean \"%s\"?)",
                                           label, quote(e, q), s);
                        else
                                walk_error(w, e, "%s: %s is not a shard-level metric", label, quote(e, q));
                        bad = true;
                        continue;
                }
                if (bit != METRIC_ALL && (bits & bit)) {
                        walk_error(w, e, "%s: %s is listed twice", label, quote(e, q));
                        bad = true;
                        continue;
                }
                bits |= bit;
        }
        if (bad)
                return -EINVAL;
        *(unsigned *) dest = bits;
        return 0;
}

static int node_ptr_text_cmp(const void *a, const void *b) {
        const struct node *x = *(const struct node *const *) a, *y = *(const struct node *const *) b;
        int r = strcmp(x->text, y->text);
        if (r != 0)
                return r;
        if (x->line != y->line)
                return x->line < y->line ? -1 : 1;
        return x->column < y->column ? -1 : x->column > y->column;
}

/* dest: the struct stream_decl. Consumers end up sorted and unique. */
static int parse_consumers(const struct walk *w, const struct key_desc *k, const char *label,
                           const struct node *v, void *dest) {
        struct stream_decl *d = dest;
        _cleanup_free_ const struct node **good = NULL;
        size_t n_good = 0;
        char **out;
        bool bad = false;

        if (!section_list(w, label, v))
                return v->ignore || !node_is_null(v) ? -EINVAL : 0;
        good = calloc(v->n_items, sizeof(*good));
        if (!good)
                return walk_oom(w);
        for (size_t i = 0; i < v->n_items; i++) {
                const struct node *e = v->items[i];
                const char *t = scalar_text(w, label, e, "a consumer name"), *problem;
                char q[QUOTE_SIZE];

                if (!t) {
                        bad = true;
                        continue;
                }
                if (e->len == 0) {
                        walk_error(w, e, "%s: a consumer name must not be empty", label);
                        bad = true;
                        continue;
                }
                problem = name_problem(t, e->len);
                if (problem) {
                        walk_error(w, e, "%s: %s %s", label, quote(e, q), problem);
                        bad = true;
                        continue;
                }
                good[n_good++] = e;
        }
        qsort(good, n_good, sizeof(*good), node_ptr_text_cmp);
        for (size_t i = 1, first = 0; i < n_good; i++) {
                char q[QUOTE_SIZE], at[32];
                if (!streq(good[i]->text, good[first]->text)) {
                        first = i;
                        continue;
                }
                walk_error(w, good[i], "%s: %s is listed twice (first at %s)", label,
                           quote(good[i], q), first_at(good[first], good[i], at));
                bad = true;
        }
        if (bad)
                return -EINVAL;

        out = calloc(n_good + 1, sizeof(char *));
        if (!out)
                return walk_oom(w);
        for (size_t i = 0; i < n_good; i++) {
                out[i] = strdup(good[i]->text);
                if (!out[i]) {
                        strv_free(out);
                        return walk_oom(w);
                }
        }
        for (size_t i = 0; i < d->n_consumers; i++)
                free(d->consumers[i]);
        free(d->consumers);
        d->consumers = out;
        d->n_consumers = n_good;
        return 0;
}

/* One level's tags: (stream, file defaults or main defaults), unmerged. */
static int parse_tags_level(const struct walk *w, const struct node *v, struct stream_tag **ret,
                            size_t *ret_n) {
        struct stream_tag *tags;
        size_t n = 0;
        bool bad = false;

        *ret = NULL;
        *ret_n = 0;
        if (!section_map(w, "tags", v))
                return v->ignore || !node_is_null(v) ? -EINVAL : 0;
        if (node_n_pairs(v) > STREAM_TAGS_MAX)
                return walk_error(w, v, "tags: %zu tags, at most %d are allowed", node_n_pairs(v),
                                  STREAM_TAGS_MAX);
        tags = calloc(node_n_pairs(v), sizeof(*tags));
        if (!tags)
                return walk_oom(w);
        for (size_t i = 0; i + 1 < v->n_items; i += 2) {
                const struct node *key = v->items[i], *value = v->items[i + 1];
                const char *kt, *vt;
                char q[QUOTE_SIZE];

                if (key->ignore) {
                        bad = true;
                        continue;
                }
                if (node_is_null(key) || key->len == 0) {
                        walk_error(w, key, "tags: a tag key must not be empty");
                        bad = true;
                        continue;
                }
                kt = scalar_text(w, "tags", key, "a tag key");
                if (!kt) {
                        bad = true;
                        continue;
                }
                if (utf8_chars(kt, key->len) > TAG_KEY_MAX) {
                        walk_error(w, key, "tags: key %s is longer than %d characters", quote(key, q),
                                   TAG_KEY_MAX);
                        bad = true;
                        continue;
                }
                if (strncasecmp(kt, "aws:", 4) == 0) {
                        walk_error(w, key, "tags: key %s uses the prefix aws:, which AWS reserves",
                                   quote(key, q));
                        bad = true;
                        continue;
                }
                /* "team:" with nothing after it is an empty value, which AWS allows. */
                if (node_is_null(value))
                        vt = "";
                else {
                        vt = scalar_text(w, "tags", value, "a tag value");
                        if (!vt) {
                                bad = true;
                                continue;
                        }
                        if (utf8_chars(vt, value->len) > TAG_VALUE_MAX) {
                                walk_error(w, value, "tags: value of %s is longer than %d characters",
                                           quote(key, q), TAG_VALUE_MAX);
                                bad = true;
                                continue;
                        }
                }
                tags[n].key = strdup(kt);
                tags[n].value = strdup(vt);
                n++;
                if (!tags[n - 1].key || !tags[n - 1].value) {
                        stream_tags_free(tags, n);
                        return walk_oom(w);
                }
        }
        if (bad) {
                stream_tags_free(tags, n);
                return -EINVAL;
        }
        *ret = tags;
        *ret_n = n;
        return 0;
}

/* Lay the tags of one level over what the levels below declared. */
static int merge_tags(const struct walk *w, struct stream_decl *d, struct stream_tag *tags, size_t n) {
        for (size_t i = 0; i < n; i++) {
                size_t j;
                for (j = 0; j < d->n_tags; j++)
                        if (streq(d->tags[j].key, tags[i].key))
                                break;
                if (j < d->n_tags) {
                        free(d->tags[j].value);
                        d->tags[j].value = TAKE_PTR(tags[i].value);
                        continue;
                }
                struct stream_tag *nt = reallocarray(d->tags, d->n_tags + 1, sizeof(*nt));
                if (!nt)
                        return walk_oom(w);
                d->tags = nt;
                d->tags[d->n_tags++] = (struct stream_tag) {
                        .key = TAKE_PTR(tags[i].key),
                        .value = TAKE_PTR(tags[i].value),
                };
        }
        return 0;
}

static int tag_cmp(const void *a, const void *b) {
        const struct stream_tag *x = a, *y = b;
        return strcmp(x->key, y->key);
}

/* Stream keys. parse NULL: handled by the stream walk itself (tags merge
 * across levels). Offsets point into struct stream_decl. */
static const struct key_desc stream_keys[_SK_MAX] = {
        [SK_NAME] = { .name = "name", .parse = parse_name,
                      .offset = offsetof(struct stream_decl, name) },
        [SK_REGION] = { .name = "region", .parse = parse_region,
                        .offset = offsetof(struct stream_decl, region) },
        [SK_MODE] = { .name = "mode", .parse = parse_stream_mode,
                      .offset = offsetof(struct stream_decl, mode) },
        [SK_SHARDS] = { .name = "shards", .parse = parse_uint_range,
                        .offset = offsetof(struct stream_decl, shards), .min = 1, .max = 10000 },
        [SK_RETENTION_HOURS] = { .name = "retention_hours", .parse = parse_uint_range,
                                 .offset = offsetof(struct stream_decl, retention_hours),
                                 .min = 24, .max = 8760 },
        [SK_ENCRYPTION] = { .name = "encryption", .parse = parse_encryption,
                            .offset = offsetof(struct stream_decl, kms_key) },
        [SK_SHARD_LEVEL_METRICS] = { .name = "shard_level_metrics", .parse = parse_metrics,
                                     .offset = offsetof(struct stream_decl, metrics) },
        [SK_MAX_RECORD_SIZE_KIB] = { .name = "max_record_size_kib", .parse = parse_uint_range,
                                     .offset = offsetof(struct stream_decl, max_record_size_kib),
                                     .min = 1024, .max = 10240 },
        [SK_TAGS] = { .name = "tags" },
        /* Offset 0: parse_consumers() fills consumers and n_consumers together. */
        [SK_CONSUMERS] = { .name = "consumers", .parse = parse_consumers, .offset = 0 },
        [SK_MANAGE] = { .name = "manage", .parse = parse_manage,
                        .offset = offsetof(struct stream_decl, manage) },
};

static const struct key_desc aws_keys[] = {
        { .name = "region", .parse = parse_region, .offset = offsetof(struct config, region) },
        { .name = "profile", .parse = parse_profile, .offset = offsetof(struct config, profile) },
        { .name = "endpoint", .parse = parse_endpoint, .offset = offsetof(struct config, endpoint) },
        { .name = "ca_bundle", .parse = parse_abs_path, .offset = offsetof(struct config, ca_bundle) },
};

static const struct key_desc reconcile_keys[] = {
        { .name = "interval", .parse = parse_duration, .offset = offsetof(struct config, interval_usec) },
        { .name = "poll", .parse = parse_duration, .offset = offsetof(struct config, poll_usec) },
        { .name = "timeout", .parse = parse_duration, .offset = offsetof(struct config, timeout_usec) },
};

static const struct key_desc state_keys[] = {
        { .name = "directory", .parse = parse_abs_path, .offset = offsetof(struct config, state_dir) },
};

enum {
        TOP_AWS,
        TOP_RECONCILE,
        TOP_STATE,
        TOP_INCLUDE,
        TOP_DEFAULTS,
        TOP_STREAMS,
        _TOP_MAX,
};

static const struct key_desc top_keys[_TOP_MAX] = {
        [TOP_AWS] = { .name = "aws" },
        [TOP_RECONCILE] = { .name = "reconcile" },
        [TOP_STATE] = { .name = "state" },
        [TOP_INCLUDE] = { .name = "include" },
        [TOP_DEFAULTS] = { .name = "defaults" },
        [TOP_STREAMS] = { .name = "streams" },
};

static void stream_decl_init(struct stream_decl *d) {
        *d = (struct stream_decl) {
                .mode = STREAM_MODE_PROVISIONED,
                .retention_hours = 24,
                .manage = MANAGE_FULL,
        };
}

/* ---------------------------------------------------------------------------
 * Walking sections */

static void walk_section(const struct walk *w, const char *section, const struct node *v,
                         const struct key_desc *keys, size_t n_keys, void *base) {
        struct slot slots[8];

        if (n_keys > ELEMENTSOF(slots) || !section_map(w, section, v))
                return;
        walk_keys(w, v, keys, n_keys, slots);
        for (size_t i = 0; i < n_keys; i++) {
                char label[64];
                if (!slots[i].value)
                        continue;
                snprintf(label, sizeof(label), "%s.%s", section, keys[i].name);
                (void) keys[i].parse(w, &keys[i], label, slots[i].value, (char *) base + keys[i].offset);
        }
}

/* Check a defaults: mapping where it is written; remember where each key is. */
static void walk_defaults(const struct walk *w, const struct node *v, struct slot *slots) {
        struct stream_decl scratch;

        for (size_t i = 0; i < _SK_MAX; i++)
                slots[i] = (struct slot) {};
        if (!section_map(w, "defaults", v))
                return;
        walk_keys(w, v, stream_keys, _SK_MAX, slots);
        if (slots[SK_NAME].key) {
                walk_error(w, slots[SK_NAME].key,
                           "name: cannot be set in defaults (each stream names itself)");
                slots[SK_NAME] = (struct slot) {};
        }

        stream_decl_init(&scratch);
        for (size_t i = 0; i < _SK_MAX; i++) {
                if (!slots[i].value)
                        continue;
                if (i == SK_TAGS) {
                        struct stream_tag *tags;
                        size_t n;
                        if (parse_tags_level(w, slots[i].value, &tags, &n) >= 0)
                                stream_tags_free(tags, n);
                        continue;
                }
                (void) stream_keys[i].parse(w, &stream_keys[i], stream_keys[i].name, slots[i].value,
                                            (char *) &scratch + stream_keys[i].offset);
        }
        stream_decl_done(&scratch);
}

static int add_stream(const struct walk *w, struct stream_decl *d) {
        struct loader *l = w->l;
        struct config *c = l->config;

        if (c->n_streams == l->n_stream_alloc) {
                size_t na = l->n_stream_alloc ? l->n_stream_alloc * 2 : 8;
                struct stream_decl *s = reallocarray(c->streams, na, sizeof(*s));
                if (!s)
                        return walk_oom(w);
                c->streams = s;
                size_t *f = reallocarray(l->stream_file, na, sizeof(*f));
                if (!f)
                        return walk_oom(w);
                l->stream_file = f;
                l->n_stream_alloc = na;
        }
        l->stream_file[c->n_streams] = w->file;
        c->streams[c->n_streams++] = *d;
        *d = (struct stream_decl) {};
        return 0;
}

/* One entry of streams:. file_defaults: the including file's own defaults
 * (NULL in the main file). */
static int walk_stream(const struct walk *w, const struct node *m, const struct slot *file_defaults) {
        const struct slot *levels[3] = { NULL, file_defaults, w->l->global_defaults };
        struct slot own[_SK_MAX];
        _cleanup_(stream_decl_done) struct stream_decl d = {};
        bool failed[_SK_MAX] = {};
        const struct node *name_node;
        char q[QUOTE_SIZE];
        int r;

        if (m->ignore)
                return -EINVAL;
        if (m->kind != NODE_MAPPING)
                return walk_error(w, m, "streams: each entry must be a mapping, got %s", describe(m, q));

        walk_keys(w, m, stream_keys, _SK_MAX, own);
        levels[0] = own;
        stream_decl_init(&d);

        for (size_t i = 0; i < _SK_MAX; i++) {
                struct walk sub = *w;
                const struct node *v = NULL;

                if (i == SK_TAGS)
                        continue;
                for (size_t lv = 0; lv < ELEMENTSOF(levels) && !v; lv++)
                        if (levels[lv])
                                v = levels[lv][i].value;
                if (!v)
                        continue;
                sub.report = w->report && v == own[i].value;
                r = stream_keys[i].parse(&sub, &stream_keys[i], stream_keys[i].name, v,
                                         (char *) &d + stream_keys[i].offset);
                if (r == -ENOMEM)
                        return r;
                failed[i] = r < 0;
        }

        /* Tags: main defaults, then file defaults, then the stream's own. */
        for (size_t lv = ELEMENTSOF(levels); lv-- > 0;) {
                struct walk sub = *w;
                struct stream_tag *tags;
                size_t n;

                if (!levels[lv] || !levels[lv][SK_TAGS].value)
                        continue;
                d.tags_declared = true;
                sub.report = w->report && lv == 0;
                r = parse_tags_level(&sub, levels[lv][SK_TAGS].value, &tags, &n);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        failed[SK_TAGS] = true;
                        continue;
                }
                r = merge_tags(&sub, &d, tags, n);
                stream_tags_free(tags, n);
                if (r < 0)
                        return r;
        }
        if (d.n_tags > STREAM_TAGS_MAX && !failed[SK_TAGS]) {
                const struct node *at = own[SK_TAGS].value ?: m;
                walk_error(w, at, "tags: %zu tags with those from defaults, at most %d are allowed",
                           d.n_tags, STREAM_TAGS_MAX);
                failed[SK_TAGS] = true;
        }
        if (d.n_tags > 1)
                qsort(d.tags, d.n_tags, sizeof(d.tags[0]), tag_cmp);

        name_node = own[SK_NAME].value;
        if (!name_node)
                return walk_error(w, m, "stream has no name (name: is required)");
        if (!d.name)
                return -EINVAL;

        if (!d.region && w->l->config->region) {
                d.region = strdup(w->l->config->region);
                if (!d.region)
                        return walk_oom(w);
                d.region_inherited = true;
        }

        if (d.mode == STREAM_MODE_ON_DEMAND && d.shards > 0) {
                if (own[SK_SHARDS].value)
                        walk_error(w, own[SK_SHARDS].value,
                                   "shards: not allowed for an on_demand stream (AWS sizes it)");
                else
                        d.shards = 0; /* inherited from defaults: meant for provisioned streams */
        }
        if (d.mode == STREAM_MODE_PROVISIONED && d.manage != MANAGE_OBSERVE && d.shards == 0 &&
            !failed[SK_SHARDS] && !failed[SK_MODE] && !failed[SK_MANAGE])
                walk_error(w, name_node,
                           "stream \"%s\": shards is required for a provisioned stream with manage: %s",
                           d.name, d.manage == MANAGE_FULL ? "full" : "create-only");

        d.file = strdup(w->path);
        if (!d.file)
                return walk_oom(w);
        d.line = name_node->line;
        d.column = name_node->column;
        return add_stream(w, &d);
}

static int walk_streams(const struct walk *w, const struct node *v, const struct slot *file_defaults) {
        if (!section_list(w, "streams", v))
                return 0;
        for (size_t i = 0; i < v->n_items; i++) {
                int r = walk_stream(w, v->items[i], file_defaults);
                if (r == -ENOMEM)
                        return r;
        }
        return 0;
}

/* ---------------------------------------------------------------------------
 * Files and includes */

static int load_file(struct loader *l, const char *path, bool main_file, struct node **ret_root);

/* Resolve a relative include glob against the directory of the naming file.
 * The directory part is escaped so that its own [, *, ? and \ match literally. */
static char *include_pattern(const char *naming_path, const char *pattern) {
        const char *slash = strrchr(naming_path, '/');
        size_t dirlen, o = 0;
        char *out;

        if (pattern[0] == '/' || !slash)
                return strdup(pattern);
        dirlen = (size_t) (slash - naming_path) + 1;
        out = malloc(dirlen * 2 + strlen(pattern) + 1);
        if (!out)
                return NULL;
        for (size_t i = 0; i < dirlen; i++) {
                if (strchr("*?[\\", naming_path[i]))
                        out[o++] = '\\';
                out[o++] = naming_path[i];
        }
        strcpy(out + o, pattern);
        return out;
}

static int path_cmp(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static int walk_top(struct loader *l, size_t file, const struct node *root, bool main_file);

static int load_include(struct loader *l, const struct walk *w, const struct node *entry) {
        _cleanup_free_ char *pattern = NULL;
        const char *t;
        glob_t g = {};
        char q[QUOTE_SIZE];
        int r;

        t = scalar_text(w, "include", entry, "a file name pattern");
        if (!t)
                return 0;
        if (entry->len == 0)
                return walk_error(w, entry, "include: a pattern must not be empty");
        pattern = include_pattern(w->path, t);
        if (!pattern)
                return walk_oom(w);

        r = glob(pattern, GLOB_NOSORT, NULL, &g);
        if (r == GLOB_NOMATCH) {
                loader_warning_at(l, w->path, w->file, entry->line, entry->column,
                                  "include: %s matches no file", quote(entry, q));
                globfree(&g);
                return 0;
        }
        if (r == GLOB_NOSPACE) {
                globfree(&g);
                return walk_oom(w);
        }
        if (r != 0) {
                globfree(&g);
                return walk_error(w, entry, "include: cannot read the files of %s", quote(entry, q));
        }

        /* Sorted byte-wise, not by locale, so every host loads in one order. */
        qsort(g.gl_pathv, g.gl_pathc, sizeof(char *), path_cmp);
        for (size_t i = 0; i < g.gl_pathc; i++) {
                _cleanup_(node_freep) struct node *root = NULL;
                if (l->n_files >= CONFIG_FILES_MAX) {
                        walk_error(w, entry, "include: more than %d files in all", CONFIG_FILES_MAX);
                        break;
                }
                r = load_file(l, g.gl_pathv[i], false, &root);
                if (r == -ENOMEM)
                        break;
                if (r > 0)
                        r = walk_top(l, l->n_files - 1, root, false);
                if (r == -ENOMEM)
                        break;
                r = 0;
        }
        globfree(&g);
        return r;
}

/* Walk the top level of one file. */
static int walk_top(struct loader *l, size_t file, const struct node *root, bool main_file) {
        struct walk w = { .l = l, .path = l->files[file].path, .file = file, .report = true };
        struct slot top[_TOP_MAX], file_defaults[_SK_MAX];
        char q[QUOTE_SIZE];
        int r;

        if (!root || node_is_null(root) || root->ignore)
                return 0;
        if (root->kind != NODE_MAPPING)
                return walk_error(&w, root,
                                  "expected a mapping (aws:, streams:, ...) at the top level, got %s",
                                  describe(root, q));
        walk_keys(&w, root, top_keys, _TOP_MAX, top);

        if (!main_file) {
                for (size_t i = 0; i < _TOP_MAX; i++) {
                        if (!top[i].key || i == TOP_DEFAULTS || i == TOP_STREAMS)
                                continue;
                        walk_error(&w, top[i].key, "%s: only allowed in the main configuration file%s",
                                   top_keys[i].name,
                                   i == TOP_INCLUDE ? " (included files cannot include others)" : "");
                }
                if (top[TOP_DEFAULTS].value)
                        walk_defaults(&w, top[TOP_DEFAULTS].value, file_defaults);
                else
                        memset(file_defaults, 0, sizeof(file_defaults));
                if (top[TOP_STREAMS].value && walk_streams(&w, top[TOP_STREAMS].value, file_defaults) < 0)
                        return -ENOMEM;
                return 1;
        }

        if (top[TOP_AWS].value)
                walk_section(&w, "aws", top[TOP_AWS].value, aws_keys, ELEMENTSOF(aws_keys), l->config);
        if (top[TOP_RECONCILE].value)
                walk_section(&w, "reconcile", top[TOP_RECONCILE].value, reconcile_keys,
                             ELEMENTSOF(reconcile_keys), l->config);
        if (top[TOP_STATE].value)
                walk_section(&w, "state", top[TOP_STATE].value, state_keys, ELEMENTSOF(state_keys),
                             l->config);
        if (top[TOP_DEFAULTS].value)
                walk_defaults(&w, top[TOP_DEFAULTS].value, l->global_defaults);
        if (l->oom)
                return -ENOMEM;
        if (top[TOP_STREAMS].value) {
                r = walk_streams(&w, top[TOP_STREAMS].value, NULL);
                if (r < 0)
                        return r;
        }
        if (top[TOP_INCLUDE].value && section_list(&w, "include", top[TOP_INCLUDE].value))
                for (size_t i = 0; i < top[TOP_INCLUDE].value->n_items; i++) {
                        r = load_include(l, &w, top[TOP_INCLUDE].value->items[i]);
                        if (r == -ENOMEM)
                                return r;
                }
        return 1;
}

/* Read and parse one file. Returns 1 with *ret_root when it is to be walked,
 * 0 when it was skipped (already loaded) or could not be read or parsed
 * (reported), or a negative errno: -ENOMEM, or for the main file the read
 * error. */
static int load_file(struct loader *l, const char *path, bool main_file, struct node **ret_root) {
        _cleanup_free_ char *buf = NULL, *copy = NULL;
        size_t len = 0, idx = l->n_files;
        struct source *files;
        struct stat st = {};
        struct walk w;
        int r;

        r = read_config_file(path, &buf, &len, &st);
        if (r == -ENOMEM) {
                l->oom = true;
                return r;
        }
        if (r < 0) {
                if (r == -EFBIG)
                        loader_error_at(l, path, idx, 1, 1, "file is larger than 1 MiB");
                else if (r == -EBADFD)
                        loader_error_at(l, path, idx, 1, 1, "not a regular file");
                else
                        loader_error_at(l, path, idx, 1, 1, "cannot read: %s", strerror(-r));
                if (main_file)
                        return r == -EFBIG || r == -EBADFD ? -EINVAL : r;
                return 0;
        }

        for (size_t i = 0; i < l->n_files; i++)
                if (l->files[i].dev == st.st_dev && l->files[i].ino == st.st_ino)
                        return 0;

        /* Whoever may write a configuration file decides which streams exist
         * and where their ARNs point: say so when that is not only its owner. */
        if (st.st_mode & (S_IWGRP | S_IWOTH))
                loader_warning_at(l, path, idx, 1, 1, "file is %s-writable (mode %04o)",
                                  st.st_mode & S_IWOTH ? "world" : "group",
                                  (unsigned) (st.st_mode & 07777));

        copy = strdup(path);
        files = reallocarray(l->files, l->n_files + 1, sizeof(*files));
        if (!copy || !files) {
                if (files)
                        l->files = files;
                l->oom = true;
                return -ENOMEM;
        }
        l->files = files;
        l->files[l->n_files++] = (struct source) {
                .path = TAKE_PTR(copy), .dev = st.st_dev, .ino = st.st_ino,
        };

        w = (struct walk) { .l = l, .path = l->files[idx].path, .file = idx, .report = true };
        r = parse_yaml(&w, buf, len, ret_root);
        if (r == -ENOMEM)
                return r;
        return r < 0 ? 0 : 1;
}

/* ---------------------------------------------------------------------------
 * Rules across streams and files */

static int stream_key_cmp(const struct stream_decl *x, const struct stream_decl *y) {
        if (!x->region || !y->region) {
                if (x->region != y->region)
                        return x->region ? 1 : -1;
        } else {
                int r = strcmp(x->region, y->region);
                if (r != 0)
                        return r;
        }
        return strcmp(x->name, y->name);
}

static int stream_cmp(const void *a, const void *b) {
        return stream_key_cmp(a, b);
}

static int stream_index_cmp(const void *a, const void *b, void *userdata) {
        const struct stream_decl *s = userdata;
        size_t x = *(const size_t *) a, y = *(const size_t *) b;
        int r = stream_key_cmp(&s[x], &s[y]);
        if (r != 0)
                return r;
        return x < y ? -1 : x > y;
}

struct env_entry {
        char *var;
        size_t stream;
        const char *consumer;
};

static int env_entry_cmp(const void *a, const void *b) {
        const struct env_entry *x = a, *y = b;
        int r = strcmp(x->var, y->var);
        if (r != 0)
                return r;
        if (x->stream != y->stream)
                return x->stream < y->stream ? -1 : 1;
        if (!x->consumer || !y->consumer)
                return x->consumer ? 1 : y->consumer ? -1 : 0;
        return strcmp(x->consumer, y->consumer);
}

static void describe_env_entry(const struct config *c, const struct env_entry *e, char *buf, size_t size) {
        const struct stream_decl *s = &c->streams[e->stream];
        if (e->consumer)
                snprintf(buf, size, "consumer \"%s\" of stream \"%s\"", e->consumer, s->name);
        else
                snprintf(buf, size, "stream \"%s\"", s->name);
}

static void stream_error(struct loader *l, size_t i, const char *fmt, ...) _printf_(3, 4);
static void stream_error(struct loader *l, size_t i, const char *fmt, ...) {
        const struct stream_decl *s = &l->config->streams[i];
        va_list ap;

        va_start(ap, fmt);
        diag_addv(l, &l->errors, s->file, l->stream_file[i], s->line, s->column, fmt, ap);
        va_end(ap);
}

static int check_streams(struct loader *l) {
        struct config *c = l->config;
        _cleanup_free_ size_t *order = NULL;
        _cleanup_free_ bool *dup = NULL;
        struct env_entry *env = NULL;
        size_t n_env = 0, n_alloc = 0;
        int r = 0;

        if (c->n_streams == 0)
                return 0;
        order = calloc(c->n_streams, sizeof(*order));
        dup = calloc(c->n_streams, sizeof(*dup));
        if (!order || !dup)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_streams; i++)
                order[i] = i;
        qsort_r(order, c->n_streams, sizeof(*order), stream_index_cmp, c->streams);
        for (size_t i = 1, first = 0; i < c->n_streams; i++) {
                const struct stream_decl *f = &c->streams[order[first]], *s = &c->streams[order[i]];
                if (stream_key_cmp(f, s) != 0) {
                        first = i;
                        continue;
                }
                dup[order[i]] = true;
                if (s->region)
                        stream_error(l, order[i],
                                     "stream \"%s\" in region %s is already declared at %s:%u:%u",
                                     s->name, s->region, f->file, f->line, f->column);
                else
                        stream_error(l, order[i], "stream \"%s\" is already declared at %s:%u:%u", s->name,
                                     f->file, f->line, f->column);
        }

        /* Every streams.env variable must name one thing (DESIGN §4). */
        for (size_t i = 0; i < c->n_streams; i++) {
                const struct stream_decl *s = &c->streams[i];
                if (dup[i])
                        continue;
                for (size_t j = 0; j <= s->n_consumers; j++) {
                        const char *consumer = j == 0 ? NULL : s->consumers[j - 1];
                        if (n_env == n_alloc) {
                                size_t na = n_alloc ? n_alloc * 2 : 16;
                                struct env_entry *ne = reallocarray(env, na, sizeof(*ne));
                                if (!ne) {
                                        r = -ENOMEM;
                                        goto finish;
                                }
                                env = ne;
                                n_alloc = na;
                        }
                        env[n_env].var = env_name_arn(c->region, s->region, s->name, consumer);
                        if (!env[n_env].var) {
                                r = -ENOMEM;
                                goto finish;
                        }
                        env[n_env].stream = i;
                        env[n_env].consumer = consumer;
                        n_env++;
                }
        }
        if (n_env > 1)
                qsort(env, n_env, sizeof(*env), env_entry_cmp);
        for (size_t i = 1, first = 0; i < n_env; i++) {
                const struct stream_decl *f;
                char a[2 * NAME_MAX_LEN + 64], b[2 * NAME_MAX_LEN + 64];

                if (!streq(env[i].var, env[first].var)) {
                        first = i;
                        continue;
                }
                f = &c->streams[env[first].stream];
                describe_env_entry(c, &env[i], a, sizeof(a));
                describe_env_entry(c, &env[first], b, sizeof(b));
                stream_error(l, env[i].stream,
                             "%s maps to the streams.env variable %s, as does %s at %s:%u:%u", a,
                             env[i].var, b, f->file, f->line, f->column);
        }

finish:
        for (size_t i = 0; i < n_env; i++)
                free(env[i].var);
        free(env);
        return r;
}

/* ---------------------------------------------------------------------------
 * Entry point */

int config_load(const char *path, struct config **ret, struct config_errors *errors,
                struct config_errors *warnings) {
        _cleanup_(loader_done) struct loader l = {};
        int r;

        if (errors)
                *errors = (struct config_errors) {};
        if (warnings)
                *warnings = (struct config_errors) {};
        if (!path || !ret)
                return -EINVAL;

        l.config = calloc(1, sizeof(*l.config));
        if (!l.config)
                return -ENOMEM;
        l.config->interval_usec = 5 * 60 * USEC_PER_SEC;
        l.config->poll_usec = 2 * USEC_PER_SEC;
        l.config->timeout_usec = 30 * 60 * USEC_PER_SEC;
        l.config->path = strdup(path);
        if (!l.config->path)
                return -ENOMEM;

        r = load_file(&l, path, true, &l.main_root);
        if (r > 0)
                r = walk_top(&l, 0, l.main_root, true);
        if (r >= 0 && !l.oom)
                r = check_streams(&l);
        if (l.oom)
                r = -ENOMEM;
        if (r >= 0 && l.errors.n == 0 && l.errors.n_dropped == 0 && l.config->n_streams == 0)
                loader_warning_at(&l, path, 0, 1, 1, "declares no stream");
        if (r >= 0 && l.oom)
                r = -ENOMEM;
        if (r == -ENOMEM)
                return r;

        if (diag_list_export(&l.warnings, warnings) < 0)
                return -ENOMEM;
        if (r < 0 || l.errors.n > 0 || l.errors.n_dropped > 0) {
                if (diag_list_export(&l.errors, errors) < 0) {
                        config_errors_done(warnings);
                        return -ENOMEM;
                }
                return r < 0 ? r : -EINVAL;
        }

        if (l.config->n_streams > 1)
                qsort(l.config->streams, l.config->n_streams, sizeof(struct stream_decl), stream_cmp);
        l.config->n_files = l.n_files;
        *ret = TAKE_PTR(l.config);
        return 0;
}
