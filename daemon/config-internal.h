/* What the configuration loader's own files share: the node tree with its
 * positions, the error sink, the entry of a key table, and the limits more
 * than one of them needs. config.c, config-yaml.c, config-value.c and
 * config-diag.c include this header and never each other's .c.
 *
 * Nothing outside daemon/config*.c may include it: the loader's face to the
 * rest of the daemon is config.h. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "stream.h"
#include "util.h"

/* A stream or consumer name: 1-128 of [A-Za-z0-9_.-]. */
#define NAME_MAX_LEN 128
/* Values quoted in messages are cut after this many characters; one may take
 * four bytes (escapes, UTF-8), plus the quotes, "..." and the NUL. */
#define QUOTE_CHARS 64
#define QUOTE_SIZE (QUOTE_CHARS * 4 + 8)
/* "line 4294967295" or "column 4294967295", with room to spare. */
#define FIRST_AT_SIZE 32

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

static inline bool node_is_null(const struct node *n) {
        if (n->kind != NODE_SCALAR || !n->plain)
                return false;
        return n->len == 0 || streq(n->text, "~") || streq(n->text, "null") ||
               streq(n->text, "Null") || streq(n->text, "NULL");
}

static inline size_t node_n_pairs(const struct node *m) {
        return m->n_items / 2;
}

/* ---------------------------------------------------------------------------
 * The error sink */

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

/* Every error and warning of one config_load(), and whether memory ran out
 * on the way (then nothing else counts). */
struct diag_sink {
        struct diag_list errors, warnings;
        size_t seq; /* keeps messages at one position in the order they were found */
        bool oom;
};

/* The loader's own state; only config.c looks inside. */
struct loader;

/* Where a walk is: which file, and whether problems are to be reported (not
 * for values a stream inherits from defaults: those were checked where they
 * were written). */
struct walk {
        struct loader *l;
        struct diag_sink *sink;
        const char *path;
        size_t file;
        bool report;
};

/* ---------------------------------------------------------------------------
 * Key tables */

struct key_desc;
typedef int (*key_parse_fn)(const struct walk *w, const struct key_desc *k, const char *label,
                            const struct node *v, void *dest);

/* One known key of a mapping. The name comes first: diagnostics read a
 * table's names through it. */
struct key_desc {
        const char *name;
        key_parse_fn parse;
        size_t offset;
        unsigned min, max;
        bool extra; /* a stream key whose offset is into struct stream_decl_extra */
};

/* Where a known key and its value were written in one mapping (NULL: not). */
struct slot {
        const struct node *key, *value;
};
