/* What AWS reports about one stream (the "observed" side of the planner).
 * Filled by kinesis.c from DescribeStreamSummary, ListTagsForStream and
 * ListStreamConsumers; read by plan.c. Plain data, no I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

enum stream_status {
        STREAM_STATUS_UNKNOWN,
        STREAM_STATUS_CREATING,
        STREAM_STATUS_DELETING,
        STREAM_STATUS_ACTIVE,
        STREAM_STATUS_UPDATING,
};
const char *stream_status_to_string(enum stream_status s); /* "ACTIVE", ... */
enum stream_status stream_status_from_string(const char *s); /* UNKNOWN if not one */

struct stream_consumer_obs {
        char *name;
        char *arn;
        char *status; /* CREATING, DELETING, ACTIVE */
};

struct stream_obs {
        bool exists;
        char *name;
        char *arn;
        enum stream_status status;
        enum stream_mode mode;
        unsigned open_shards;
        unsigned retention_hours;
        char *kms_key;                /* NULL when EncryptionType is NONE */
        unsigned metrics;             /* enum shard_metric bits */
        unsigned max_record_size_kib; /* 0: not reported */
        unsigned consumer_count;

        bool tags_known;              /* ListTagsForStream was read */
        struct stream_tag *tags;      /* sorted by key */
        size_t n_tags;

        bool consumers_known;         /* ListStreamConsumers was read */
        struct stream_consumer_obs *consumers; /* sorted by name */
        size_t n_consumers;

        /* UpdateShardCount calls made in the rolling 24 h window, as far as
         * kinesisd knows (DescribeLimits does not report it), and UpdateStreamMode
         * calls likewise. Used by the planner's budget. */
        unsigned scalings_last_24h;
        unsigned mode_changes_last_24h;
};

void stream_obs_done(struct stream_obs *o);
