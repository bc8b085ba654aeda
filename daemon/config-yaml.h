/* YAML -> the loader's node tree, each node with the line and column it was
 * written at; and the refusals of the file format itself (invalid UTF-8,
 * anchors, aliases, explicit tags, duplicate keys, complex keys, more than
 * one document, nesting deeper than CONFIG_DEPTH_MAX).
 *
 * Only config*.c include this header. */
#pragma once

#include <stddef.h>

#include "config-internal.h"

/* Build the tree of one file's bytes (at most CONFIG_FILE_MAX). Returns 0
 * with *ret_root (NULL for a file without content), -EINVAL after a problem
 * that makes the rest of the file unreadable (already reported through w),
 * or -ENOMEM. Problems that leave the file readable (an anchor, a duplicate
 * key) are reported and the node is marked ignore.
 *
 * A file whose top level is a list or a single value is not a configuration
 * (a credentials file, a token): 0 and the tree as far as it could be read,
 * with nothing reported, not even a syntax error, since those messages quote
 * the file; the caller refuses it by the kind of its root alone. */
int node_parse_yaml(const struct walk *w, const char *buf, size_t len, struct node **ret_root);

/* Free a tree; takes NULL, returns NULL. */
struct node *node_free(struct node *n);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct node *, node_free);
