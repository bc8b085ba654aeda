/* Kinesis JSON 1.1 request bodies, one builder per operation kinesisd uses
 * (see kinesis-request.h).
 *
 * Must never: log, send anything, or emit a key AWS does not document for
 * the operation. */
#include "kinesis-request.h"

#include <errno.h>
#include <stdlib.h>

#include "util.h"

static int add_str(json_object *o, const char *key, const char *v) {
        json_object *s;
        if (!v)
                return -EINVAL;
        s = json_object_new_string(v);
        if (!s)
                return -ENOMEM;
        return json_object_object_add(o, key, s) < 0 ? -ENOMEM : 0;
}

static int add_int(json_object *o, const char *key, int64_t v) {
        json_object *i = json_object_new_int64(v);
        if (!i)
                return -ENOMEM;
        return json_object_object_add(o, key, i) < 0 ? -ENOMEM : 0;
}

/* key: an array of the n strings. */
static int add_str_array(json_object *o, const char *key, const char *const *v, size_t n) {
        json_object *a = json_object_new_array();
        int r = 0;

        if (!a)
                return -ENOMEM;
        for (size_t i = 0; i < n && r >= 0; i++) {
                json_object *e = json_object_new_string(v[i]);
                r = e ? json_object_array_add(a, e) : -ENOMEM;
                if (r < 0)
                        json_object_put(e);
        }
        if (r < 0) {
                json_object_put(a);
                return -ENOMEM;
        }
        return json_object_object_add(o, key, a) < 0 ? -ENOMEM : 0;
}

static json_object *obj_with(const char *key, const char *value) {
        json_object *o = json_object_new_object();
        if (o && add_str(o, key, value) < 0)
                o = (json_object_put(o), NULL);
        return o;
}

static json_object *finish(json_object *o, int r) {
        if (r < 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

static const char *mode_name(enum stream_mode m) {
        return m == STREAM_MODE_ON_DEMAND ? "ON_DEMAND" : "PROVISIONED";
}

static int add_tag_map(json_object *o, const char *key, const struct stream_tag *tags, size_t n) {
        json_object *m = json_object_new_object();
        int r = 0;
        if (!m)
                return -ENOMEM;
        for (size_t i = 0; i < n && r >= 0; i++)
                r = add_str(m, tags[i].key, tags[i].value ? tags[i].value : "");
        if (r < 0) {
                json_object_put(m);
                return r;
        }
        return json_object_object_add(o, key, m) < 0 ? -ENOMEM : 0;
}

json_object *kinesis_req_create_stream(const char *name, enum stream_mode mode, unsigned shards,
                                       const struct stream_tag *tags, size_t n_tags,
                                       unsigned max_record_size_kib, unsigned warm_mibps) {
        json_object *o = obj_with("StreamName", name), *md;
        int r;

        if (!o)
                return NULL;
        if (mode == STREAM_MODE_PROVISIONED)
                r = add_int(o, "ShardCount", shards);
        else
                r = 0;
        md = obj_with("StreamMode", mode_name(mode));
        if (r >= 0)
                r = md && json_object_object_add(o, "StreamModeDetails", md) >= 0 ? 0 : -ENOMEM;
        if (r >= 0 && tags && n_tags > 0)
                r = add_tag_map(o, "Tags", tags, n_tags);
        if (r >= 0 && max_record_size_kib > 0)
                r = add_int(o, "MaxRecordSizeInKiB", max_record_size_kib);
        if (r >= 0 && warm_mibps > 0 && mode == STREAM_MODE_ON_DEMAND)
                r = add_int(o, "WarmThroughputMiBps", warm_mibps);
        return finish(o, r);
}

json_object *kinesis_req_update_shard_count(const char *name, unsigned target) {
        json_object *o = obj_with("StreamName", name);
        int r;
        if (!o)
                return NULL;
        r = add_int(o, "TargetShardCount", target);
        if (r >= 0)
                r = add_str(o, "ScalingType", "UNIFORM_SCALING");
        return finish(o, r);
}

json_object *kinesis_req_update_stream_mode(const char *arn, enum stream_mode mode) {
        json_object *o = obj_with("StreamARN", arn), *md;
        if (!o)
                return NULL;
        md = obj_with("StreamMode", mode_name(mode));
        return finish(o, md && json_object_object_add(o, "StreamModeDetails", md) >= 0 ? 0 : -ENOMEM);
}

json_object *kinesis_req_retention(const char *name, unsigned hours) {
        json_object *o = obj_with("StreamName", name);
        return o ? finish(o, add_int(o, "RetentionPeriodHours", hours)) : NULL;
}

static json_object *encryption(const char *name, const char *kms_key) {
        json_object *o = obj_with("StreamName", name);
        int r;
        if (!o)
                return NULL;
        r = add_str(o, "EncryptionType", "KMS");
        if (r >= 0)
                r = add_str(o, "KeyId", kms_key);
        return finish(o, r);
}

json_object *kinesis_req_start_encryption(const char *name, const char *kms_key) {
        return encryption(name, kms_key);
}

json_object *kinesis_req_stop_encryption(const char *name, const char *kms_key) {
        return encryption(name, kms_key);
}

json_object *kinesis_req_monitoring(const char *name, unsigned metrics) {
        json_object *o = obj_with("StreamName", name);
        const char *names[SHARD_METRIC_COUNT];
        size_t n = 0;

        if (!o)
                return NULL;
        if ((metrics & METRIC_ALL) == METRIC_ALL)
                names[n++] = "ALL";
        else
                for (unsigned i = 0; i < SHARD_METRIC_COUNT; i++)
                        if (metrics & (1u << i))
                                names[n++] = shard_metric_name(i);
        return finish(o, add_str_array(o, "ShardLevelMetrics", names, n));
}

/* {key: value, "Tags": {...}}: AddTagsToStream, TagResource. */
static json_object *tags_of(const char *key, const char *value, const struct stream_tag *tags, size_t n) {
        json_object *o = obj_with(key, value);
        return o ? finish(o, add_tag_map(o, "Tags", tags, n)) : NULL;
}

/* {key: value, "TagKeys": [...]}: RemoveTagsFromStream, UntagResource. */
static json_object *tag_keys_of(const char *key, const char *value, const struct stream_tag *tags, size_t n) {
        json_object *o = obj_with(key, value);
        _cleanup_free_ const char **keys = NULL;

        if (!o)
                return NULL;
        keys = calloc(n > 0 ? n : 1, sizeof *keys);
        if (!keys)
                return finish(o, -ENOMEM);
        for (size_t i = 0; i < n; i++)
                keys[i] = tags[i].key;
        return finish(o, add_str_array(o, "TagKeys", keys, n));
}

json_object *kinesis_req_add_tags(const char *name, const struct stream_tag *tags, size_t n) {
        return tags_of("StreamName", name, tags, n);
}

json_object *kinesis_req_remove_tags(const char *name, const struct stream_tag *tags, size_t n) {
        return tag_keys_of("StreamName", name, tags, n);
}

json_object *kinesis_req_tag_resource(const char *arn, const struct stream_tag *tags, size_t n) {
        return tags_of("ResourceARN", arn, tags, n);
}

json_object *kinesis_req_untag_resource(const char *arn, const struct stream_tag *tags, size_t n) {
        return tag_keys_of("ResourceARN", arn, tags, n);
}

static json_object *stream_and_consumer(const char *arn, const char *consumer) {
        json_object *o = obj_with("StreamARN", arn);
        return o ? finish(o, add_str(o, "ConsumerName", consumer)) : NULL;
}

json_object *kinesis_req_register_consumer(const char *arn, const char *consumer, const struct stream_tag *tags,
                                           size_t n) {
        json_object *o = stream_and_consumer(arn, consumer);
        return o && n > 0 ? finish(o, add_tag_map(o, "Tags", tags, n)) : o;
}

json_object *kinesis_req_describe_consumer(const char *arn, const char *consumer) {
        return stream_and_consumer(arn, consumer);
}

json_object *kinesis_req_update_max_record_size(const char *arn, unsigned kib) {
        json_object *o = obj_with("StreamARN", arn);
        return o ? finish(o, add_int(o, "MaxRecordSizeInKiB", kib)) : NULL;
}

json_object *kinesis_req_update_warm_throughput(const char *arn, unsigned mibps) {
        json_object *o = obj_with("StreamARN", arn);
        return o ? finish(o, add_int(o, "WarmThroughputMiBps", mibps)) : NULL;
}

json_object *kinesis_req_update_distribution(const char *arn, enum record_distribution d) {
        json_object *o = obj_with("StreamARN", arn);
        return o ? finish(o, add_str(o, "RecordDistributionStrategy", record_distribution_to_aws(d))) : NULL;
}

/* GetResourcePolicy, DeleteResourcePolicy: the stream's or consumer's ARN. */
json_object *kinesis_req_resource(const char *arn) {
        return obj_with("ResourceARN", arn);
}

json_object *kinesis_req_put_resource_policy(const char *arn, const char *policy) {
        json_object *o = obj_with("ResourceARN", arn);
        return o ? finish(o, add_str(o, "Policy", policy)) : NULL;
}

json_object *kinesis_req_describe_stream_summary(const char *name) {
        return obj_with("StreamName", name);
}

json_object *kinesis_req_list_streams(unsigned limit, const char *next_token,
                                      const char *exclusive_start_name) {
        json_object *o = json_object_new_object();
        int r = 0;
        if (!o)
                return NULL;
        if (limit)
                r = add_int(o, "Limit", limit);
        /* NextToken cannot be combined with other parameters. */
        if (r >= 0 && next_token) {
                json_object_object_del(o, "Limit");
                r = add_str(o, "NextToken", next_token);
        } else if (r >= 0 && exclusive_start_name)
                r = add_str(o, "ExclusiveStartStreamName", exclusive_start_name);
        return finish(o, r);
}

/* One page of a listing of what key names: its size, and where to go on. */
static json_object *page(const char *key, const char *value, const char *limit_key, unsigned limit,
                         const char *token_key, const char *token) {
        json_object *o = obj_with(key, value);
        int r = 0;
        if (!o)
                return NULL;
        if (limit)
                r = add_int(o, limit_key, limit);
        if (r >= 0 && token)
                r = add_str(o, token_key, token);
        return finish(o, r);
}

json_object *kinesis_req_list_tags(const char *name, unsigned limit, const char *exclusive_start_key) {
        return page("StreamName", name, "Limit", limit, "ExclusiveStartTagKey", exclusive_start_key);
}

json_object *kinesis_req_list_consumers(const char *arn, unsigned limit, const char *next_token) {
        return page("StreamARN", arn, "MaxResults", limit, "NextToken", next_token);
}

json_object *kinesis_req_describe_limits(void) {
        return json_object_new_object();
}

json_object *kinesis_req_describe_account_settings(void) {
        return json_object_new_object();
}
