/* Value parsers of the configuration loader: each checks one node of the
 * tree against its rule (a range, a duration, a name, a region, an endpoint,
 * a path, a choice, encryption, metrics, consumers, tags) and stores it, or
 * reports what is wrong with the node's position.
 *
 * Only config*.c include this header. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config-internal.h"

/* Sort the pairs of mapping m into slots[] (n_keys of them) by keys[];
 * report unknown keys and return how many there were. */
size_t value_keys(const struct walk *w, const struct node *m, const struct key_desc *keys,
                  size_t n_keys, struct slot *slots);
/* A mapping section to walk. A null value (e.g. "aws:" alone) is an empty
 * section: false without an error. */
bool value_map(const struct walk *w, const char *label, const struct node *v);
/* Like value_map() for lists. */
bool value_list(const struct walk *w, const char *label, const struct node *v);
/* The text of a scalar value, or NULL after reporting why not. */
const char *value_scalar(const struct walk *w, const char *label, const struct node *v,
                         const char *expected);

/* Key table entries (key_parse_fn): 0, or -EINVAL after reporting, or
 * -ENOMEM. dest is the field at the entry's offset. */
int value_uint_range(const struct walk *w, const struct key_desc *k, const char *label,
                     const struct node *v, void *dest);   /* unsigned, k->min..k->max */
int value_duration(const struct walk *w, const struct key_desc *k, const char *label,
                   const struct node *v, void *dest);     /* uint64_t usec */
int value_share(const struct walk *w, const struct key_desc *k, const char *label,
                const struct node *v, void *dest);        /* double in (0, 1] */
int value_region(const struct walk *w, const struct key_desc *k, const char *label,
                 const struct node *v, void *dest);       /* char * */
int value_profile(const struct walk *w, const struct key_desc *k, const char *label,
                  const struct node *v, void *dest);      /* char * */
int value_role_arn(const struct walk *w, const struct key_desc *k, const char *label,
                   const struct node *v, void *dest);     /* char *, arn:...:iam::ACCOUNT:role/NAME */
int value_external_id(const struct walk *w, const struct key_desc *k, const char *label,
                      const struct node *v, void *dest);  /* char *, never quoted in messages */
int value_endpoint(const struct walk *w, const struct key_desc *k, const char *label,
                   const struct node *v, void *dest);     /* char * */
int value_abs_path(const struct walk *w, const struct key_desc *k, const char *label,
                   const struct node *v, void *dest);     /* char * */
int value_name(const struct walk *w, const struct key_desc *k, const char *label,
               const struct node *v, void *dest);         /* char * */
int value_stream_mode(const struct walk *w, const struct key_desc *k, const char *label,
                      const struct node *v, void *dest);  /* enum stream_mode */
int value_distribution(const struct walk *w, const struct key_desc *k, const char *label,
                       const struct node *v, void *dest); /* enum record_distribution */
int value_manage(const struct walk *w, const struct key_desc *k, const char *label,
                 const struct node *v, void *dest);       /* enum manage_mode */
int value_encryption(const struct walk *w, const struct key_desc *k, const char *label,
                     const struct node *v, void *dest);   /* char *kms_key, NULL for none */
int value_metrics(const struct walk *w, const struct key_desc *k, const char *label,
                  const struct node *v, void *dest);      /* unsigned, enum shard_metric bits */
/* dest: the struct stream_decl itself. Consumers end up sorted and unique. */
int value_consumers(const struct walk *w, const struct key_desc *k, const char *label,
                    const struct node *v, void *dest);

/* One level's tags (the stream's, file defaults' or main defaults'),
 * unmerged: *ret and *ret_n are set to NULL, 0 on any failure. */
int value_tags(const struct walk *w, const struct node *v, struct stream_tag **ret, size_t *ret_n);
