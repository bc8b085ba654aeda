/* Kinesis JSON 1.1 answers (DESIGN §5) parsed into the structs of stream.h:
 * pure, never logging, bounded. A parser returns 0, -EBADMSG for an answer
 * that is not what AWS sends, or -ENOMEM. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "stream.h"

/* Items kept across all pages of one listing; more is not an answer we trust. */
#define KINESIS_MAX_LIST_ITEMS 100000

struct kinesis_stream_entry {
        char *name;
        char *arn;                 /* NULL if the answer carried only names */
        enum stream_status status; /* UNKNOWN without StreamSummaries */
        enum stream_mode mode;
        bool has_summary;
};
void kinesis_stream_entries_free(struct kinesis_stream_entry *e, size_t n);

void kinesis_tags_free(struct stream_tag *t, size_t n);
void kinesis_consumers_free(struct stream_consumer_obs *c, size_t n);

/* DescribeStreamSummary -> obs (name, arn, status, mode, open shards,
 * retention, kms key, metrics, max record size, consumer count; exists =
 * true). Does not touch tags/consumers or the budgets. -EBADMSG if the
 * summary is missing or malformed. */
int kinesis_parse_stream_summary(const json_object *body, struct stream_obs *obs);
/* One ListStreams page, appended to *entries. Handles answers with
 * StreamSummaries and answers with only StreamNames. */
int kinesis_parse_list_streams(const json_object *body, struct kinesis_stream_entry **entries,
                               size_t *n, bool *ret_has_more, char **ret_next_token);
int kinesis_parse_list_tags(const json_object *body, struct stream_tag **tags, size_t *n,
                            bool *ret_has_more);
int kinesis_parse_list_consumers(const json_object *body, struct stream_consumer_obs **consumers,
                                 size_t *n, char **ret_next_token);
/* DescribeStreamConsumer (ConsumerDescription) or RegisterStreamConsumer (Consumer). */
int kinesis_parse_consumer(const json_object *body, struct stream_consumer_obs *ret);

/* GetResourcePolicy -> the policy in normal form (policy.h), or NULL when
 * the stream has none (no Policy, or an empty document). */
int kinesis_parse_resource_policy(const json_object *body, char **ret);

/* DescribeAccountSettings -> the minimum throughput billing commitment's
 * Status ("ENABLED", "DISABLED", ...), or "NONE" when there is none. */
int kinesis_parse_account_settings(const json_object *body, char **ret_status);

struct kinesis_limits {
        unsigned shard_limit, open_shard_count;
        unsigned on_demand_stream_count, on_demand_stream_count_limit;
};
int kinesis_parse_describe_limits(const json_object *body, struct kinesis_limits *ret);
