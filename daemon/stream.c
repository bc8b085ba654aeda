/* The domain types of a stream: the one table of shard-level metric names,
 * the names of statuses, and teardown of declared and observed streams.
 * Plain data: this file must never do I/O or know where a value came from. */
#include "stream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static const char *const shard_metric_names[SHARD_METRIC_COUNT] = {
        "IncomingBytes",
        "IncomingRecords",
        "OutgoingBytes",
        "OutgoingRecords",
        "WriteProvisionedThroughputExceeded",
        "ReadProvisionedThroughputExceeded",
        "IteratorAgeMilliseconds",
};

const char *shard_metric_name(unsigned bit_index) {
        if (bit_index >= SHARD_METRIC_COUNT)
                return NULL;
        return shard_metric_names[bit_index];
}

unsigned shard_metric_from_name(const char *name) {
        if (!name)
                return 0;
        if (streq(name, "ALL"))
                return METRIC_ALL;
        for (unsigned i = 0; i < SHARD_METRIC_COUNT; i++)
                if (streq(name, shard_metric_names[i]))
                        return 1u << i;
        return 0;
}

void stream_tags_free(struct stream_tag *tags, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(tags[i].key);
                free(tags[i].value);
        }
        free(tags);
}

void consumer_decl_done(struct consumer_decl *c) {
        stream_tags_free(c->tags, c->n_tags);
        free(c->policy);
        free(c->policy_norm);
        *c = (struct consumer_decl){};
}

struct stream_decl_extra stream_decl_extra_none;

static void stream_decl_extra_free(struct stream_decl_extra *x) {
        free(x->kms_key);
        stream_tags_free(x->tags, x->n_tags);
        for (size_t i = 0; i < x->n_consumers; i++) {
                free(x->consumers[i]);
                if (x->consumer_opts)
                        consumer_decl_done(&x->consumer_opts[i]);
        }
        free(x->consumers);
        free(x->consumer_opts);
        free(x->resource_policy);
        free(x->resource_policy_norm);
        free(x->role_arn);
        free(x->external_id);
        free(x);
}

void stream_decl_done(struct stream_decl *d) {
        free(d->name);
        if (!d->region_inherited)
                free(d->region);
        if (d->x && d->x != &stream_decl_extra_none && --d->x->refs == 0)
                stream_decl_extra_free(d->x);
        *d = (struct stream_decl){};
}

int stream_decl_extra_own(struct stream_decl *d) {
        struct stream_decl_extra *x = calloc(1, sizeof(*x));
        if (!x)
                return -ENOMEM;
        x->refs = 1;
        if (d->x && d->x != &stream_decl_extra_none && --d->x->refs == 0)
                stream_decl_extra_free(d->x);
        d->x = x;
        return 0;
}

bool stream_tags_equal(const struct stream_tag *a, size_t na, const struct stream_tag *b, size_t nb) {
        if (na != nb)
                return false;
        for (size_t i = 0; i < na; i++)
                if (!streq_ptr(a[i].key, b[i].key) || !streq_ptr(a[i].value, b[i].value))
                        return false;
        return true;
}

bool stream_decl_extra_equal(const struct stream_decl_extra *a, const struct stream_decl_extra *b) {
        if (a == b)
                return true;
        if (!streq_ptr(a->kms_key, b->kms_key) ||
            !stream_tags_equal(a->tags, a->n_tags, b->tags, b->n_tags) || a->n_consumers != b->n_consumers ||
            !a->consumer_opts != !b->consumer_opts ||
            !streq_ptr(a->resource_policy, b->resource_policy) ||
            !streq_ptr(a->resource_policy_norm, b->resource_policy_norm) ||
            !streq_ptr(a->role_arn, b->role_arn) || !streq_ptr(a->external_id, b->external_id) ||
            !streq(a->account, b->account))
                return false;
        for (size_t i = 0; i < a->n_consumers; i++) {
                if (!streq(a->consumers[i], b->consumers[i]))
                        return false;
                if (!a->consumer_opts)
                        continue;
                const struct consumer_decl *x = &a->consumer_opts[i], *y = &b->consumer_opts[i];
                if (x->tags_declared != y->tags_declared || x->policy_declared != y->policy_declared ||
                    !stream_tags_equal(x->tags, x->n_tags, y->tags, y->n_tags) ||
                    !streq_ptr(x->policy, y->policy) || !streq_ptr(x->policy_norm, y->policy_norm))
                        return false;
        }
        return true;
}

void stream_decl_extra_settle(struct stream_decl *d) {
        if (!d->x || d->x == &stream_decl_extra_none) {
                d->x = &stream_decl_extra_none;
                return;
        }
        if (d->x->refs == 1 && stream_decl_extra_equal(d->x, &stream_decl_extra_none)) {
                stream_decl_extra_free(d->x);
                d->x = &stream_decl_extra_none;
        }
}

const char *record_distribution_to_aws(enum record_distribution d) {
        switch (d) {
        case DISTRIBUTION_USER_PARTITION_KEY:
                return "USER_PARTITION_KEY";
        case DISTRIBUTION_AUTO:
                return "AUTO";
        default:
                return NULL;
        }
}

enum record_distribution record_distribution_from_aws(const char *s) {
        if (s && streq(s, "USER_PARTITION_KEY"))
                return DISTRIBUTION_USER_PARTITION_KEY;
        if (s && streq(s, "AUTO"))
                return DISTRIBUTION_AUTO;
        return DISTRIBUTION_UNSET;
}

static const char *const status_names[] = {
        [STREAM_STATUS_UNKNOWN] = "UNKNOWN",   [STREAM_STATUS_CREATING] = "CREATING",
        [STREAM_STATUS_DELETING] = "DELETING", [STREAM_STATUS_ACTIVE] = "ACTIVE",
        [STREAM_STATUS_UPDATING] = "UPDATING",
};

const char *stream_status_to_string(enum stream_status s) {
        if ((size_t)s >= ELEMENTSOF(status_names))
                return "UNKNOWN";
        return status_names[s];
}

enum stream_status stream_status_from_string(const char *s) {
        if (!s)
                return STREAM_STATUS_UNKNOWN;
        for (size_t i = 1; i < ELEMENTSOF(status_names); i++)
                if (streq(s, status_names[i]))
                        return (enum stream_status)i;
        return STREAM_STATUS_UNKNOWN;
}

void stream_consumer_obs_done(struct stream_consumer_obs *c) {
        free(c->name);
        free(c->arn);
        free(c->status);
        stream_tags_free(c->tags, c->n_tags);
        free(c->policy);
        *c = (struct stream_consumer_obs){};
}

bool stream_obs_is_empty(const struct stream_obs *o) {
        return !o->exists && !o->arn && o->status == STREAM_STATUS_UNKNOWN &&
               o->mode == STREAM_MODE_PROVISIONED && !o->open_shards && !o->retention_hours && !o->kms_key &&
               !o->metrics && !o->max_record_size_kib && o->distribution == DISTRIBUTION_UNSET &&
               !o->warm_target_mibps && !o->consumer_count && !o->tags_known && !o->tags && !o->n_tags &&
               !o->policy_known && !o->resource_policy && !o->consumers_known && !o->consumers &&
               !o->n_consumers;
}

void stream_obs_done(struct stream_obs *o) {
        if (!o)
                return;
        free(o->arn);
        free(o->kms_key);
        free(o->resource_policy);
        stream_tags_free(o->tags, o->n_tags);
        for (size_t i = 0; i < o->n_consumers; i++)
                stream_consumer_obs_done(&o->consumers[i]);
        free(o->consumers);
        *o = (struct stream_obs){};
}
