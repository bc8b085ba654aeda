/* Kinesis JSON 1.1 answers parsed into the structs of stream.h (see
 * kinesis-response.h).
 *
 * Must never: trust a length, a count or a string of the answer beyond the
 * caps below, or log. */
#include "kinesis-response.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json-util.h"
#include "kinesis-request.h"
#include "policy.h"
#include "util.h"

/* Names, ARNs and tags are all far below this; longer is not an answer we trust. */
#define KINESIS_MAX_STRING 4096
/* More than AWS ever returns: EnhancedMonitoring has one entry, and seven metrics. */
#define MAX_MONITORING_ENTRIES 16
#define MAX_METRICS_PER_ENTRY 64

void kinesis_stream_entries_free(struct kinesis_stream_entry *e, size_t n) {
        for (size_t i = 0; e && i < n; i++) {
                free(e[i].name);
                free(e[i].arn);
        }
        free(e);
}

void kinesis_tags_free(struct stream_tag *t, size_t n) {
        for (size_t i = 0; t && i < n; i++) {
                free(t[i].key);
                free(t[i].value);
        }
        free(t);
}

void kinesis_consumers_free(struct stream_consumer_obs *c, size_t n) {
        for (size_t i = 0; c && i < n; i++)
                stream_consumer_obs_done(&c[i]);
        free(c);
}

static json_object *get(const json_object *o, const char *key, json_type t) {
        json_object *v;
        if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v) ||
            !json_object_is_type(v, t))
                return NULL;
        return v;
}

static const char *get_str(const json_object *o, const char *key) {
        json_object *v = get(o, key, json_type_string);
        const char *s = v ? json_object_get_string(v) : NULL;
        /* Names, ARNs and tags are all far below this; longer is not an answer we trust. */
        return s && strlen(s) <= KINESIS_MAX_STRING ? s : NULL;
}

static bool get_uint(const json_object *o, const char *key, unsigned *ret) {
        json_object *v = get(o, key, json_type_int);
        int64_t x;
        if (!v)
                return false;
        x = json_object_get_int64(v);
        if (x < 0 || x > UINT32_MAX)
                return false;
        *ret = (unsigned) x;
        return true;
}

static int dup_opt(const char *s, char **ret) {
        if (!s) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

static unsigned metric_bits(const json_object *summary) {
        json_object *em = get(summary, "EnhancedMonitoring", json_type_array);
        unsigned bits = 0;

        for (size_t i = 0; em && i < json_object_array_length(em) && i < MAX_MONITORING_ENTRIES; i++) {
                json_object *m = get(json_object_array_get_idx(em, i), "ShardLevelMetrics", json_type_array);
                for (size_t j = 0; m && j < json_object_array_length(m) && j < MAX_METRICS_PER_ENTRY; j++) {
                        json_object *s = json_object_array_get_idx(m, j);
                        if (!json_object_is_type(s, json_type_string))
                                continue;
                        const char *name = json_object_get_string(s);
                        if (streq(name, "ALL"))
                                bits |= METRIC_ALL;
                        for (unsigned k = 0; k < SHARD_METRIC_COUNT; k++)
                                if (streq(name, shard_metric_name(k)))
                                        bits |= 1u << k;
                }
        }
        return bits;
}

int kinesis_parse_stream_summary(const json_object *body, struct stream_obs *obs) {
        json_object *s = get(body, "StreamDescriptionSummary", json_type_object);
        const char *name, *arn, *status, *enc, *key, *mode = NULL;
        _cleanup_free_ char *a = NULL, *k = NULL;
        unsigned shards = 0, retention = 0, maxrec = 0, consumers = 0;

        if (!s)
                return -EBADMSG;
        name = get_str(s, "StreamName");
        arn = get_str(s, "StreamARN");
        status = get_str(s, "StreamStatus");
        if (!name || !arn || !status)
                return -EBADMSG;
        (void) get_uint(s, "OpenShardCount", &shards);
        (void) get_uint(s, "RetentionPeriodHours", &retention);
        (void) get_uint(s, "MaxRecordSizeInKiB", &maxrec);
        (void) get_uint(s, "ConsumerCount", &consumers);
        enc = get_str(s, "EncryptionType");
        key = enc && streq(enc, "KMS") ? get_str(s, "KeyId") : NULL;
        mode = get_str(get(s, "StreamModeDetails", json_type_object), "StreamMode");
        if (dup_opt(arn, &a) < 0 || dup_opt(key, &k) < 0)
                return -ENOMEM;

        free(obs->arn);
        free(obs->kms_key);
        obs->exists = true;
        obs->arn = TAKE_PTR(a);
        obs->kms_key = TAKE_PTR(k);
        obs->status = stream_status_from_string(status);
        obs->mode = mode && streq(mode, "ON_DEMAND") ? STREAM_MODE_ON_DEMAND : STREAM_MODE_PROVISIONED;
        obs->open_shards = shards;
        obs->retention_hours = retention;
        obs->metrics = metric_bits(s);
        obs->max_record_size_kib = maxrec;
        obs->distribution = record_distribution_from_aws(get_str(s, "RecordDistributionStrategy"));
        /* The target, not the current value: that one lags behind while AWS scales. */
        obs->warm_target_mibps = 0;
        (void) get_uint(get(s, "WarmThroughput", json_type_object), "TargetMiBps", &obs->warm_target_mibps);
        obs->consumer_count = consumers;
        return 0;
}

static int grow(void **p, size_t n, size_t size) {
        void *q;
        if (n >= KINESIS_MAX_LIST_ITEMS)
                return -EBADMSG;
        q = realloc(*p, (n + 1) * size);
        if (!q)
                return -ENOMEM;
        *p = q;
        return 0;
}

int kinesis_parse_list_streams(const json_object *body, struct kinesis_stream_entry **entries,
                               size_t *n, bool *ret_has_more, char **ret_next_token) {
        json_object *sums = get(body, "StreamSummaries", json_type_array);
        json_object *names = get(body, "StreamNames", json_type_array);
        json_object *more = get(body, "HasMoreStreams", json_type_boolean);
        const char *token = get_str(body, "NextToken");
        int r;

        if (!sums && !names)
                return -EBADMSG;
        if (sums)
                for (size_t i = 0; i < json_object_array_length(sums); i++) {
                        json_object *s = json_object_array_get_idx(sums, i);
                        const char *name = get_str(s, "StreamName");
                        if (!name)
                                return -EBADMSG;
                        r = grow((void **) entries, *n, sizeof **entries);
                        if (r < 0)
                                return r;
                        struct kinesis_stream_entry *e = &(*entries)[*n];
                        *e = (struct kinesis_stream_entry){ .has_summary = true };
                        const char *mode =
                                get_str(get(s, "StreamModeDetails", json_type_object), "StreamMode");
                        e->status = stream_status_from_string(get_str(s, "StreamStatus"));
                        e->mode = mode && streq(mode, "ON_DEMAND") ? STREAM_MODE_ON_DEMAND
                                                                   : STREAM_MODE_PROVISIONED;
                        if (dup_opt(name, &e->name) < 0 || dup_opt(get_str(s, "StreamARN"), &e->arn) < 0) {
                                free(e->name);
                                return -ENOMEM;
                        }
                        (*n)++;
                }
        else
                for (size_t i = 0; i < json_object_array_length(names); i++) {
                        json_object *s = json_object_array_get_idx(names, i);
                        if (!json_object_is_type(s, json_type_string) || json_object_get_string_len(s) > 4096)
                                return -EBADMSG;
                        r = grow((void **) entries, *n, sizeof **entries);
                        if (r < 0)
                                return r;
                        struct kinesis_stream_entry *e = &(*entries)[*n];
                        *e = (struct kinesis_stream_entry){};
                        e->name = strdup(json_object_get_string(s));
                        if (!e->name)
                                return -ENOMEM;
                        (*n)++;
                }
        if (ret_has_more)
                *ret_has_more = more && json_object_get_boolean(more);
        if (ret_next_token) {
                *ret_next_token = NULL;
                if (token && dup_opt(token, ret_next_token) < 0)
                        return -ENOMEM;
        }
        return 0;
}

int kinesis_parse_list_tags(const json_object *body, struct stream_tag **tags, size_t *n,
                            bool *ret_has_more) {
        json_object *a = get(body, "Tags", json_type_array);
        json_object *more = get(body, "HasMoreTags", json_type_boolean);
        int r;

        if (!a)
                return -EBADMSG;
        for (size_t i = 0; i < json_object_array_length(a); i++) {
                json_object *t = json_object_array_get_idx(a, i);
                const char *k = get_str(t, "Key"), *v = get_str(t, "Value");
                if (!k)
                        return -EBADMSG;
                r = grow((void **) tags, *n, sizeof **tags);
                if (r < 0)
                        return r;
                struct stream_tag *e = &(*tags)[*n];
                e->key = strdup(k);
                e->value = strdup(v ? v : "");
                if (!e->key || !e->value) {
                        free(e->key);
                        free(e->value);
                        return -ENOMEM;
                }
                (*n)++;
        }
        if (ret_has_more)
                *ret_has_more = more && json_object_get_boolean(more);
        return 0;
}

static int parse_consumer_obj(const json_object *o, struct stream_consumer_obs *ret) {
        const char *name = get_str(o, "ConsumerName"), *arn = get_str(o, "ConsumerARN");
        const char *status = get_str(o, "ConsumerStatus");
        struct stream_consumer_obs c = {};

        if (!name || !arn)
                return -EBADMSG;
        if (dup_opt(name, &c.name) < 0 || dup_opt(arn, &c.arn) < 0 || dup_opt(status, &c.status) < 0) {
                stream_consumer_obs_done(&c);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}

int kinesis_parse_list_consumers(const json_object *body, struct stream_consumer_obs **consumers,
                                 size_t *n, char **ret_next_token) {
        json_object *a = get(body, "Consumers", json_type_array);
        const char *token = get_str(body, "NextToken");
        int r;

        if (!a)
                return -EBADMSG;
        for (size_t i = 0; i < json_object_array_length(a); i++) {
                r = grow((void **) consumers, *n, sizeof **consumers);
                if (r < 0)
                        return r;
                r = parse_consumer_obj(json_object_array_get_idx(a, i), &(*consumers)[*n]);
                if (r < 0)
                        return r;
                (*n)++;
        }
        if (ret_next_token) {
                *ret_next_token = NULL;
                if (token && dup_opt(token, ret_next_token) < 0)
                        return -ENOMEM;
        }
        return 0;
}

int kinesis_parse_consumer(const json_object *body, struct stream_consumer_obs *ret) {
        json_object *o = get(body, "ConsumerDescription", json_type_object);
        if (!o)
                o = get(body, "Consumer", json_type_object);
        if (!o)
                return -EBADMSG;
        return parse_consumer_obj(o, ret);
}

int kinesis_parse_describe_limits(const json_object *body, struct kinesis_limits *ret) {
        struct kinesis_limits l = {};

        if (!get_uint(body, "ShardLimit", &l.shard_limit) ||
            !get_uint(body, "OpenShardCount", &l.open_shard_count))
                return -EBADMSG;
        (void) get_uint(body, "OnDemandStreamCount", &l.on_demand_stream_count);
        (void) get_uint(body, "OnDemandStreamCountLimit", &l.on_demand_stream_count_limit);
        *ret = l;
        return 0;
}

int kinesis_parse_resource_policy(const json_object *body, char **ret) {
        json_object *v = get(body, "Policy", json_type_string);
        _cleanup_json_ json_object *doc = NULL;
        const char *text;
        size_t len;

        *ret = NULL;
        if (!v)
                return body && json_object_is_type(body, json_type_object) ? 0 : -EBADMSG;
        text = json_object_get_string(v);
        len = (size_t)json_object_get_string_len(v);
        if (len > 4 * POLICY_MAX_BYTES)
                return -EBADMSG;
        doc = policy_parse(text, len);
        if (!doc || !json_object_is_type(doc, json_type_object))
                return -EBADMSG;
        if (json_object_object_length(doc) == 0)
                return 0; /* "{}": no policy */
        return policy_normalize(doc, ret);
}

int kinesis_parse_account_settings(const json_object *body, char **ret_status) {
        json_object *c;
        const char *status;

        *ret_status = NULL;
        if (!body || !json_object_is_type(body, json_type_object))
                return -EBADMSG;
        if (!json_object_object_get_ex(body, "MinimumThroughputBillingCommitment", &c) || !c)
                status = "NONE"; /* no commitment at all */
        else {
                status = get_str(c, "Status");
                /* ENABLED, DISABLED, ENABLED_UNTIL_EARLIEST_ALLOWED_END, ...: a
                 * word of capitals, nothing to escape. */
                if (!status || !*status || strlen(status) > 64 || strspn(status, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") !=
                                                                           strlen(status))
                        return -EBADMSG;
        }
        *ret_status = strdup(status);
        return *ret_status ? 0 : -ENOMEM;
}
