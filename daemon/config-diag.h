/* Diagnostics of the configuration loader: foreign text quoted safely into
 * messages, messages kept in file and position order, and did-you-mean.
 *
 * Only config*.c include this header. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "config-internal.h"

/* Text of a value for a message: control characters escaped, cut after
 * QUOTE_CHARS characters, optionally in double quotes. Returns buf. */
const char *diag_escape(const char *s, size_t len, bool quotes, char buf[static QUOTE_SIZE]);
/* A scalar node's text in double quotes, escaped like diag_escape(). */
const char *diag_quote(const struct node *n, char buf[static QUOTE_SIZE]);
/* "a mapping", "a list", "nothing" or the quoted scalar. */
const char *diag_describe(const struct node *n, char buf[static QUOTE_SIZE]);
/* "line 5", or "column 12" when both are on one line: where a repeated
 * key or name was first written. */
const char *diag_first_at(const struct node *first, const struct node *again,
                          char buf[static FIRST_AT_SIZE]);

/* The closest of names[] to word, if it is close enough to be a likely typo. */
const char *diag_suggest(const char *word, const char *const *names, size_t n);

enum diag_level {
        DIAG_ERROR,
        DIAG_WARNING,
};

/* Add "PATH:LINE:COLUMN: message" to the errors or warnings of sink s.
 * Past CONFIG_MAX_ERRORS messages are only counted; on OOM s->oom is set. */
void diag_addv(struct diag_sink *s, enum diag_level level, const char *path, size_t file,
               unsigned line, unsigned column, const char *fmt, va_list ap) _printf_(7, 0);
void diag_at(struct diag_sink *s, enum diag_level level, const char *path, size_t file,
             unsigned line, unsigned column, const char *fmt, ...) _printf_(7, 8);

/* Report a problem with node n. Returns -EINVAL, for "return walk_error(...)". */
int walk_error(const struct walk *w, const struct node *n, const char *fmt, ...) _printf_(3, 4);
/* Note that memory ran out. Returns -ENOMEM. */
int walk_oom(const struct walk *w);
/* "unknown key "x"", with a did-you-mean among keys[] when one is close.
 * Returns -EINVAL. */
int diag_unknown_key(const struct walk *w, const struct node *key, const struct key_desc *keys,
                     size_t n_keys);

/* Add every message of src to dst (as far as dst has room) and empty src;
 * dst->oom is set if either ran out of memory. For messages held back until
 * it is known whether they may be shown. */
void diag_sink_move(struct diag_sink *dst, struct diag_sink *src);

void diag_list_done(struct diag_list *d);
/* Move the messages, in file and position order, into *ret (may be NULL). */
int diag_list_export(struct diag_list *d, struct config_errors *ret);
