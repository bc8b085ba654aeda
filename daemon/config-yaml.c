/* One configuration file's bytes -> the loader's node tree (DESIGN §3).
 *
 * The bytes are checked first (UTF-8), so that those errors carry a line and
 * column too. libyaml's event parser then drives a small tree of our own that
 * keeps the line and column of every node and refuses anchors, aliases,
 * explicit tags, duplicate keys, complex keys, a second document and deep
 * nesting. What the keys mean is not known here.
 *
 * This file must never read files, log, or look at a key's meaning: it
 * knows YAML and positions, nothing of kinesisd. */
#include "config-yaml.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config-diag.h"

/* How the parser spells the tags "!!str", "!!int", ... it resolved. */
#define YAML_CORE_TAG_PREFIX "tag:yaml.org,2002:"
/* Children a sequence or mapping holds before it first grows. */
#define NODE_ALLOC_FIRST 4

/* Recursion is bounded by CONFIG_DEPTH_MAX: deeper trees are never built. */
struct node *node_free(struct node *n) {
        if (!n)
                return NULL;
        for (size_t i = 0; i < n->n_items; i++)
                node_free(n->items[i]);
        free(n->items);
        free(n->text);
        free(n);
        return NULL;
}

/* ---------------------------------------------------------------------------
 * Bytes */

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

/* ---------------------------------------------------------------------------
 * The tree */

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

        if (node_n_pairs(m) < 2) /* one pair cannot repeat a key */
                return 0;
        keys = calloc(node_n_pairs(m), sizeof(*keys));
        if (!keys)
                return walk_oom(w);
        for (size_t i = 0; i + 1 < m->n_items; i += 2)
                if (m->items[i]->kind == NODE_SCALAR && !m->items[i]->ignore)
                        keys[n++] = m->items[i];
        qsort(keys, n, sizeof(*keys), key_node_cmp);
        for (size_t i = 1; i < n; i++) {
                char q[QUOTE_SIZE], at[FIRST_AT_SIZE];
                if (keys[i]->len != keys[first]->len ||
                    memcmp(keys[i]->text, keys[first]->text, keys[i]->len) != 0) {
                        first = i;
                        continue;
                }
                walk_error(w, keys[i], "duplicate key %s (first at %s)", diag_quote(keys[i], q),
                           diag_first_at(keys[first], keys[i], at));
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
                walk_error(w, n, "a key must be a plain value, not %s", diag_describe(n, q));
                n->ignore = true;
        }
        if (parent->n_items == parent->n_alloc) {
                size_t na = parent->n_alloc ? parent->n_alloc * 2 : NODE_ALLOC_FIRST;
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
                        diag_at(w->sink, DIAG_ERROR, w->path, w->file, line, column,
                                "invalid YAML: %s (U+%04X)", strna(p->problem),
                                (unsigned) p->problem_value);
                else
                        diag_at(w->sink, DIAG_ERROR, w->path, w->file, line, column, "invalid YAML: %s",
                                strna(p->problem));
                return -EINVAL;
        default:
                line = (unsigned) p->problem_mark.line + 1;
                column = (unsigned) p->problem_mark.column + 1;
                if (p->context)
                        diag_at(w->sink, DIAG_ERROR, w->path, w->file, line, column,
                                "invalid YAML: %s (%s at line %u, column %u)",
                                strna(p->problem), p->context,
                                (unsigned) p->context_mark.line + 1,
                                (unsigned) p->context_mark.column + 1);
                else
                        diag_at(w->sink, DIAG_ERROR, w->path, w->file, line, column, "invalid YAML: %s",
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
                           diag_escape((const char *) anchor, strlen((const char *) anchor), false, q));
        if (tag) {
                const char *t = (const char *) tag;
                /* Show "!!str" as it was written, not as the parser resolved it. */
                bool core = strncmp(t, YAML_CORE_TAG_PREFIX, strlen(YAML_CORE_TAG_PREFIX)) == 0;
                if (core)
                        t += strlen(YAML_CORE_TAG_PREFIX);
                walk_error(w, n, "YAML tags are not allowed (%s%s)", core ? "!!" : "",
                           diag_escape(t, strlen(t), false, q));
        }
}

/* An alias: reported, and a stand-in added that keeps keys and values
 * paired; it is skipped quietly. */
static int add_alias(const struct walk *w, const yaml_event_t *ev, struct node **stack, size_t depth,
                     struct node **root) {
        const char *a = (const char *) ev->data.alias.anchor;
        char q[QUOTE_SIZE];
        struct node *n;

        n = node_new(NODE_SCALAR, &ev->start_mark);
        if (!n || !(n->text = strdup(""))) {
                node_free(n);
                return walk_oom(w);
        }
        n->plain = true;
        n->ignore = true;
        walk_error(w, n, "YAML aliases are not allowed (*%s)", diag_escape(a, strlen(a), false, q));
        return attach(w, stack, depth, root, n);
}

static int add_scalar(const struct walk *w, const yaml_event_t *ev, struct node **stack, size_t depth,
                      struct node **root) {
        struct node *n = node_new(NODE_SCALAR, &ev->start_mark);

        if (!n)
                return walk_oom(w);
        n->len = ev->data.scalar.length;
        n->text = malloc(n->len + 1);
        if (!n->text) {
                node_free(n);
                return walk_oom(w);
        }
        memcpy(n->text, ev->data.scalar.value, n->len);
        n->text[n->len] = '\0';
        n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        check_node_props(w, n, ev->data.scalar.anchor, ev->data.scalar.tag);
        return attach(w, stack, depth, root, n);
}

/* A sequence or mapping starts: add it and make it the innermost open one. */
static int open_collection(const struct walk *w, const yaml_event_t *ev, struct node **stack,
                           size_t *depth, struct node **root) {
        bool seq = ev->type == YAML_SEQUENCE_START_EVENT;
        struct node *n;
        int r;

        if (*depth == CONFIG_DEPTH_MAX) {
                diag_at(w->sink, DIAG_ERROR, w->path, w->file, (unsigned) ev->start_mark.line + 1,
                        (unsigned) ev->start_mark.column + 1, "nesting is deeper than %d levels",
                        CONFIG_DEPTH_MAX);
                return -EINVAL;
        }
        n = node_new(seq ? NODE_SEQUENCE : NODE_MAPPING, &ev->start_mark);
        if (!n)
                return walk_oom(w);
        if (seq)
                check_node_props(w, n, ev->data.sequence_start.anchor, ev->data.sequence_start.tag);
        else
                check_node_props(w, n, ev->data.mapping_start.anchor, ev->data.mapping_start.tag);
        r = attach(w, stack, *depth, root, n);
        if (r >= 0)
                stack[(*depth)++] = n;
        return r;
}

/* The tree is built from the parser's events, with stack[] holding the open
 * sequences and mappings, innermost last. */
int node_parse_yaml(const struct walk *w, const char *buf, size_t len, struct node **ret_root) {
        _cleanup_(node_freep) struct node *root = NULL;
        struct diag_sink held = { .seq = w->sink->seq };
        struct walk pw = *w;
        struct node *stack[CONFIG_DEPTH_MAX];
        size_t depth = 0, offset;
        unsigned documents = 0;
        yaml_parser_t p;
        int r = 0;

        if (!utf8_validate(buf, len, &offset)) {
                unsigned line, column;
                offset_position(buf, len, offset, &line, &column);
                diag_at(w->sink, DIAG_ERROR, w->path, w->file, line, column,
                        "invalid UTF-8 (byte 0x%02x)", (unsigned char) buf[offset]);
                return -EINVAL;
        }

        if (!yaml_parser_initialize(&p))
                return walk_oom(w);
        /* What is found is held back until the kind of the top level is known. */
        pw.sink = &held;
        yaml_parser_set_input_string(&p, (const unsigned char *) buf, len);
        yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);

        for (bool done = false; !done && r >= 0;) {
                yaml_event_t ev;
                struct node *n;

                if (!yaml_parser_parse(&p, &ev)) {
                        r = report_yaml_error(&pw, &p, buf, len);
                        break;
                }

                switch (ev.type) {
                case YAML_STREAM_END_EVENT:
                        done = true;
                        break;

                case YAML_DOCUMENT_START_EVENT:
                        if (++documents > 1) {
                                diag_at(pw.sink, DIAG_ERROR, pw.path, pw.file,
                                        (unsigned) ev.start_mark.line + 1,
                                        (unsigned) ev.start_mark.column + 1,
                                        "only one YAML document is allowed per file");
                                r = -EINVAL;
                        }
                        break;

                case YAML_ALIAS_EVENT:
                        r = add_alias(&pw, &ev, stack, depth, &root);
                        break;

                case YAML_SCALAR_EVENT:
                        r = add_scalar(&pw, &ev, stack, depth, &root);
                        break;

                case YAML_SEQUENCE_START_EVENT:
                case YAML_MAPPING_START_EVENT:
                        r = open_collection(&pw, &ev, stack, &depth, &root);
                        break;

                case YAML_SEQUENCE_END_EVENT:
                case YAML_MAPPING_END_EVENT:
                        if (depth == 0)
                                break;
                        n = stack[--depth];
                        if (n->kind == NODE_MAPPING)
                                r = check_duplicate_keys(&pw, n);
                        break;

                default:
                        break;
                }
                yaml_event_delete(&ev);
        }
        yaml_parser_delete(&p);

        /* A top level that is a list or a single value is not a configuration:
         * likely a credentials file or another file an include: glob matched.
         * Nothing found in it is reported, since those messages quote its
         * content (a key, an anchor, a value); what was read of it is handed
         * on, even after a syntax error, so that the loader refuses it by its
         * kind alone. */
        if (r != -ENOMEM && !held.oom && root && root->kind != NODE_MAPPING && !node_is_null(root)) {
                diag_list_done(&held.errors);
                diag_list_done(&held.warnings);
                *ret_root = TAKE_PTR(root);
                return 0;
        }
        if (held.oom && r >= 0)
                r = -ENOMEM;
        diag_sink_move(w->sink, &held);
        if (r < 0)
                return r;
        *ret_root = TAKE_PTR(root);
        return 0;
}
