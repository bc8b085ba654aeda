/* The resource_policy key of a stream (DESIGN §3): a YAML mapping turned
 * into JSON, { file: PATH } read at load time, or none.
 *
 * Only config*.c include this header. */
#pragma once

#include "config-internal.h"

/* Key table entry; dest: the struct stream_decl itself (it sets
 * resource_policy_declared, resource_policy and resource_policy_norm). */
int value_resource_policy(const struct walk *w, const struct key_desc *k, const char *label,
                          const struct node *v, void *dest);

/* The same for any owner of a policy (a consumer): sets *declared and
 * replaces *ret_send (the JSON to send) and *ret_norm (its normal form);
 * both NULL for none. */
int value_policy(const struct walk *w, const char *label, const struct node *v, bool *declared,
                 char **ret_send, char **ret_norm);
