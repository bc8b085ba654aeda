/* Kinesis JSON 1.1 request bodies (DESIGN §5): one builder per operation,
 * pure, never logging. Each returns a new object, or NULL on OOM or an
 * invalid argument. */
#pragma once

#include <json-c/json.h>
#include <stddef.h>

#include "stream.h"


/* shards ignored for on-demand; tags may be NULL; max_record_size_kib 0: omitted;
 * warm_mibps 0 (or a provisioned stream): omitted. */
json_object *kinesis_req_create_stream(const char *name, enum stream_mode mode, unsigned shards,
                                       const struct stream_tag *tags, size_t n_tags,
                                       unsigned max_record_size_kib, unsigned warm_mibps);
json_object *kinesis_req_update_shard_count(const char *name, unsigned target);
json_object *kinesis_req_update_stream_mode(const char *arn, enum stream_mode mode);
/* For both IncreaseStreamRetentionPeriod and DecreaseStreamRetentionPeriod. */
json_object *kinesis_req_retention(const char *name, unsigned hours);
json_object *kinesis_req_start_encryption(const char *name, const char *kms_key);
json_object *kinesis_req_stop_encryption(const char *name, const char *kms_key);
/* For both Enable- and DisableEnhancedMonitoring; metrics is enum shard_metric
 * bits (METRIC_ALL becomes "ALL"). */
json_object *kinesis_req_monitoring(const char *name, unsigned metrics);
json_object *kinesis_req_add_tags(const char *name, const struct stream_tag *tags, size_t n);
/* Keys only (values ignored). */
json_object *kinesis_req_remove_tags(const char *name, const struct stream_tag *tags, size_t n);
/* tags may be NULL (n 0): no Tags. */
json_object *kinesis_req_register_consumer(const char *arn, const char *consumer, const struct stream_tag *tags,
                                           size_t n);
/* TagResource, UntagResource (keys only) on a stream's or consumer's ARN. */
json_object *kinesis_req_tag_resource(const char *arn, const struct stream_tag *tags, size_t n);
json_object *kinesis_req_untag_resource(const char *arn, const struct stream_tag *tags, size_t n);
json_object *kinesis_req_describe_consumer(const char *arn, const char *consumer);
json_object *kinesis_req_update_max_record_size(const char *arn, unsigned kib);
json_object *kinesis_req_update_warm_throughput(const char *arn, unsigned mibps);
/* UpdateStreamRecordDistributionStrategy; NULL for DISTRIBUTION_UNSET. */
json_object *kinesis_req_update_distribution(const char *arn, enum record_distribution d);
/* {"ResourceARN": arn}: GetResourcePolicy, DeleteResourcePolicy. */
json_object *kinesis_req_resource(const char *arn);
json_object *kinesis_req_put_resource_policy(const char *arn, const char *policy);
json_object *kinesis_req_describe_stream_summary(const char *name);
json_object *kinesis_req_list_streams(unsigned limit, const char *next_token,
                                      const char *exclusive_start_name);
json_object *kinesis_req_list_tags(const char *name, unsigned limit, const char *exclusive_start_key);
json_object *kinesis_req_list_consumers(const char *arn, unsigned limit, const char *next_token);
json_object *kinesis_req_describe_limits(void);
json_object *kinesis_req_describe_account_settings(void);
