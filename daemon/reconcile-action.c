/* One planned action as the Kinesis request that carries it out and as the
 * words the journal says once it is done (reconcile-action.h).
 *
 * Pure: no calls, no state, no logging. */
#include "reconcile-action.h"

#include <stdio.h>
#include <string.h>

#include "kinesis.h"

void reconcile_action_describe(const struct action *a, const struct stream_obs *obs, char *buf, size_t n) {
        switch (a->type) {
        case ACTION_CREATE_STREAM:
                if (a->mode == STREAM_MODE_ON_DEMAND)
                        snprintf(buf, n, "created (on-demand)");
                else
                        snprintf(buf, n, "created (%u shard%s)", a->value, a->value == 1 ? "" : "s");
                break;
        case ACTION_UPDATE_STREAM_MODE:
                snprintf(buf, n, "mode set to %s",
                         a->mode == STREAM_MODE_ON_DEMAND ? "ON_DEMAND" : "PROVISIONED");
                break;
        case ACTION_UPDATE_SHARD_COUNT:
                snprintf(buf, n, "shards %u -> %u", obs->open_shards, a->value);
                break;
        case ACTION_INCREASE_RETENTION:
        case ACTION_DECREASE_RETENTION:
                snprintf(buf, n, "retention %uh -> %uh", obs->retention_hours, a->value);
                break;
        case ACTION_START_ENCRYPTION:
                snprintf(buf, n, "encryption with %s", a->kms_key);
                break;
        case ACTION_STOP_ENCRYPTION:
                snprintf(buf, n, "encryption stopped");
                break;
        case ACTION_ENABLE_MONITORING:
        case ACTION_DISABLE_MONITORING:
                snprintf(buf, n, "%s %u shard-level metric(s)",
                         a->type == ACTION_ENABLE_MONITORING ? "enabled" : "disabled",
                         (unsigned) __builtin_popcount(a->metrics));
                break;
        case ACTION_ADD_TAGS:
                snprintf(buf, n, "%zu tag(s) set", a->n_tags);
                break;
        case ACTION_REMOVE_TAGS:
                snprintf(buf, n, "%zu tag(s) removed", a->n_tags);
                break;
        case ACTION_REGISTER_CONSUMER:
                snprintf(buf, n, "consumer %s registered", a->consumer);
                break;
        case ACTION_UPDATE_MAX_RECORD_SIZE:
                snprintf(buf, n, "max record size %u KiB", a->value);
                break;
        case ACTION_PUT_RESOURCE_POLICY:
        case ACTION_DELETE_RESOURCE_POLICY:
                snprintf(buf, n, "%s%s%sresource policy %s", a->consumer ? "consumer " : "", strempty(a->consumer),
                         a->consumer ? " " : "", a->type == ACTION_PUT_RESOURCE_POLICY ? "set" : "removed");
                break;
        case ACTION_UPDATE_WARM_THROUGHPUT:
                snprintf(buf, n, "warm throughput %u -> %u MiB/s", obs->warm_target_mibps, a->value);
                break;
        case ACTION_UPDATE_DISTRIBUTION:
                snprintf(buf, n, "record distribution strategy %s",
                         strna(record_distribution_to_aws((enum record_distribution)a->value)));
                break;
        case ACTION_TAG_RESOURCE:
                snprintf(buf, n, "consumer %s: %zu tag(s) set", strempty(a->consumer), a->n_tags);
                break;
        case ACTION_UNTAG_RESOURCE:
                snprintf(buf, n, "consumer %s: %zu tag(s) removed", strempty(a->consumer), a->n_tags);
                break;
        default:
                snprintf(buf, n, "%s", action_type_to_string(a->type));
        }
}

json_object *reconcile_action_request(const struct action *a, const char *name, const char *arn) {
        switch (a->type) {
        case ACTION_CREATE_STREAM:
                return kinesis_req_create_stream(name, a->mode, a->value, a->tags, a->n_tags,
                                                 a->max_record_size_kib, a->warm_mibps);
        case ACTION_UPDATE_STREAM_MODE:
                return arn ? kinesis_req_update_stream_mode(arn, a->mode) : NULL;
        case ACTION_UPDATE_SHARD_COUNT:
                return kinesis_req_update_shard_count(name, a->value);
        case ACTION_INCREASE_RETENTION:
        case ACTION_DECREASE_RETENTION:
                return kinesis_req_retention(name, a->value);
        case ACTION_START_ENCRYPTION:
                return kinesis_req_start_encryption(name, a->kms_key);
        case ACTION_STOP_ENCRYPTION:
                return kinesis_req_stop_encryption(name, a->kms_key);
        case ACTION_ENABLE_MONITORING:
        case ACTION_DISABLE_MONITORING:
                return kinesis_req_monitoring(name, a->metrics);
        case ACTION_ADD_TAGS:
                return kinesis_req_add_tags(name, a->tags, a->n_tags);
        case ACTION_REMOVE_TAGS:
                return kinesis_req_remove_tags(name, a->tags, a->n_tags);
        case ACTION_REGISTER_CONSUMER:
                return arn ? kinesis_req_register_consumer(arn, a->consumer, a->tags, a->n_tags) : NULL;
        case ACTION_UPDATE_MAX_RECORD_SIZE:
                return arn ? kinesis_req_update_max_record_size(arn, a->value) : NULL;
        case ACTION_PUT_RESOURCE_POLICY:
                arn = a->resource_arn ?: arn;
                return arn ? kinesis_req_put_resource_policy(arn, a->policy) : NULL;
        case ACTION_DELETE_RESOURCE_POLICY:
                arn = a->resource_arn ?: arn;
                return arn ? kinesis_req_resource(arn) : NULL;
        case ACTION_UPDATE_WARM_THROUGHPUT:
                return arn ? kinesis_req_update_warm_throughput(arn, a->value) : NULL;
        case ACTION_UPDATE_DISTRIBUTION:
                return arn ? kinesis_req_update_distribution(arn, (enum record_distribution)a->value) : NULL;
        case ACTION_TAG_RESOURCE:
                return a->resource_arn ? kinesis_req_tag_resource(a->resource_arn, a->tags, a->n_tags) : NULL;
        case ACTION_UNTAG_RESOURCE:
                return a->resource_arn ? kinesis_req_untag_resource(a->resource_arn, a->tags, a->n_tags) : NULL;
        default:
                return NULL;
        }
}

bool reconcile_consumers_need_listing(const struct stream_decl *decl, const struct stream_obs *obs) {
        const struct stream_obs *o = obs;

        if (decl->x->n_consumers == 0)
                return false;
        if (!o->consumers_known || o->n_consumers != o->consumer_count)
                return true;
        /* Listing again only pays while one of ours is missing or not ACTIVE. */
        for (size_t i = 0; i < decl->x->n_consumers; i++) {
                bool found = false;
                for (size_t j = 0; j < o->n_consumers; j++)
                        if (streq(o->consumers[j].name, decl->x->consumers[i])) {
                                found = !o->consumers[j].status ||
                                        streq(o->consumers[j].status, "ACTIVE");
                                break;
                        }
                if (!found)
                        return true;
        }
        return false;
}

unsigned reconcile_consumers_settling(const struct stream_decl *decl, const struct stream_obs *obs) {
        unsigned n = 0;

        for (size_t j = 0; j < obs->n_consumers; j++) {
                const char *s = obs->consumers[j].status;
                if (s && streq(s, "CREATING"))
                        for (size_t i = 0; i < decl->x->n_consumers; i++)
                                if (streq(decl->x->consumers[i], obs->consumers[j].name)) {
                                        n++;
                                        break;
                                }
        }
        return n;
}

enum stream_setting reconcile_operation_setting(const char *operation, bool consumer) {
        static const struct {
                const char *operation;
                enum stream_setting stream, consumer;
        } table[] = {
                { "UpdateMaxRecordSize", SETTING_MAX_RECORD_SIZE, _SETTING_MAX },
                { "UpdateStreamRecordDistributionStrategy", SETTING_DISTRIBUTION, _SETTING_MAX },
                { "UpdateStreamWarmThroughput", SETTING_WARM_THROUGHPUT, _SETTING_MAX },
                { "GetResourcePolicy", SETTING_RESOURCE_POLICY, SETTING_CONSUMER_DETAILS },
                { "PutResourcePolicy", SETTING_RESOURCE_POLICY, SETTING_CONSUMER_DETAILS },
                { "DeleteResourcePolicy", SETTING_RESOURCE_POLICY, SETTING_CONSUMER_DETAILS },
                { "ListTagsForResource", _SETTING_MAX, SETTING_CONSUMER_DETAILS },
                { "TagResource", _SETTING_MAX, SETTING_CONSUMER_DETAILS },
                { "UntagResource", _SETTING_MAX, SETTING_CONSUMER_DETAILS },
        };

        for (size_t i = 0; operation && i < ELEMENTSOF(table); i++)
                if (strcmp(table[i].operation, operation) == 0)
                        return consumer ? table[i].consumer : table[i].stream;
        return _SETTING_MAX;
}

const struct stream_decl *reconcile_decl_supported(const struct stream_decl *decl, unsigned unsupported,
                                                   struct stream_decl_scratch *scratch) {
        bool maxrec = (unsupported & (1u << SETTING_MAX_RECORD_SIZE)) && decl->max_record_size_kib;
        bool policy = (unsupported & (1u << SETTING_RESOURCE_POLICY)) && decl->resource_policy_declared;
        bool details = (unsupported & (1u << SETTING_CONSUMER_DETAILS)) && decl->x->consumer_opts;
        bool distribution = (unsupported & (1u << SETTING_DISTRIBUTION)) && decl->distribution;
        bool warm = (unsupported & (1u << SETTING_WARM_THROUGHPUT)) && decl->warm_throughput_mibps;

        if (!maxrec && !policy && !details && !distribution && !warm)
                return decl;
        scratch->d = *decl;
        scratch->x = *decl->x;
        scratch->d.x = &scratch->x;
        if (maxrec)
                scratch->d.max_record_size_kib = 0;
        if (policy)
                scratch->d.resource_policy_declared = false;
        if (details)
                scratch->x.consumer_opts = NULL;
        if (distribution)
                scratch->d.distribution = DISTRIBUTION_UNSET;
        if (warm)
                scratch->d.warm_throughput_mibps = 0;
        return &scratch->d;
}
