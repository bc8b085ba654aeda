/* The domain types of a stream: what a configuration declares (modes,
 * metrics, tags, struct stream_decl) and what AWS reports about it (the
 * "observed" side of the planner, filled by kinesis.c from
 * DescribeStreamSummary, ListTagsForStream and ListStreamConsumers).
 *
 * Plain data, no I/O: this header must never depend on the configuration
 * loader, the AWS client or the state directory. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "budget.h"

enum stream_mode {
        STREAM_MODE_PROVISIONED,
        STREAM_MODE_ON_DEMAND,
};

/* How an on-demand stream spreads records over its shards. */
enum record_distribution {
        DISTRIBUTION_UNSET,              /* declared: not managed; observed: not reported */
        DISTRIBUTION_USER_PARTITION_KEY, /* AWS's default */
        DISTRIBUTION_AUTO,
};
/* "USER_PARTITION_KEY", "AUTO" (AWS's names), or NULL for UNSET. */
const char *record_distribution_to_aws(enum record_distribution d);
/* The value for an AWS name, or DISTRIBUTION_UNSET if unknown. */
enum record_distribution record_distribution_from_aws(const char *s);

/* The account's minimum throughput billing commitment (DescribeAccountSettings),
 * which warm throughput needs. */
enum throughput_commitment {
        COMMITMENT_UNKNOWN, /* not read (yet), or the endpoint does not tell */
        COMMITMENT_NONE,    /* none, or not ENABLED */
        COMMITMENT_ENABLED,
};

enum manage_mode {
        MANAGE_FULL,
        MANAGE_CREATE_ONLY,
        MANAGE_OBSERVE,
};

/* Shard-level metrics as a bit set, in the order AWS documents them. */
enum shard_metric {
        METRIC_INCOMING_BYTES = 1u << 0,
        METRIC_INCOMING_RECORDS = 1u << 1,
        METRIC_OUTGOING_BYTES = 1u << 2,
        METRIC_OUTGOING_RECORDS = 1u << 3,
        METRIC_WRITE_PROVISIONED_THROUGHPUT_EXCEEDED = 1u << 4,
        METRIC_READ_PROVISIONED_THROUGHPUT_EXCEEDED = 1u << 5,
        METRIC_ITERATOR_AGE_MILLISECONDS = 1u << 6,
        METRIC_ALL = (1u << 7) - 1,
};
#define SHARD_METRIC_COUNT 7
/* AWS's name of metric bit i ("IncomingBytes", ...), or NULL. */
const char *shard_metric_name(unsigned bit_index);
/* Bit for an AWS metric name ("ALL" gives METRIC_ALL), or 0 if unknown. */
unsigned shard_metric_from_name(const char *name);

/* AWS's cap on the tags of one stream (and on the Tags of one CreateStream). */
#define STREAM_TAGS_MAX 50

struct stream_tag {
        char *key;
        char *value;
};

/* What a consumer written as a mapping ({ name, tags, resource_policy })
 * declares besides its name. */
struct consumer_decl {
        struct stream_tag *tags;
        size_t n_tags;
        bool tags_declared;   /* false: leave the consumer's tags alone */
        bool policy_declared; /* like the stream's resource_policy */
        char *policy;
        char *policy_norm;
};

/* AWS's cap on the consumers of one stream, and on those of an on-demand
 * stream of an account with a minimum throughput commitment. */
#define STREAM_CONSUMERS_MAX 20
#define STREAM_CONSUMERS_MAX_COMMITTED 50

/* The settings most streams leave unset (encryption, tags, consumers,
 * resource policy, role): kept apart from struct stream_decl, so a stream
 * that sets none of them costs a pointer to stream_decl_extra_none, and
 * consecutive streams whose values are equal (the defaults: of a
 * streams.d file) share one (config.c). Read-only once loaded. */
struct stream_decl_extra {
        char *kms_key;           /* NULL: encryption none */
        struct stream_tag *tags; /* merged over defaults, sorted by key */
        size_t n_tags;
        char **consumers; /* sorted, unique */
        size_t n_consumers;
        struct consumer_decl *consumer_opts; /* parallel to consumers; NULL when none */
        /* resource_policy: not declared (leave it alone), none (remove it:
         * both strings NULL), or a policy: the JSON to send and its normal
         * form (policy.h) to compare with what AWS reports. */
        char *resource_policy;
        char *resource_policy_norm;
        char *role_arn;    /* NULL: the daemon's own identity */
        char *external_id; /* sent with role_arn; NULL: none */
        size_t refs;       /* the declarations pointing here; 0 for the none */
        char account[13];  /* role_arn's 12-digit account; "": the daemon's own */
};

/* Nothing set: what x of a stream without any of these points to. */
extern struct stream_decl_extra stream_decl_extra_none;

/* Ordered by size (pointers, then 4-byte fields, then bytes and bits):
 * one per declared stream, tens of thousands of them, so 56 bytes without
 * padding holes. The small enums are held in a byte each. */
struct stream_decl {
        char *name;
        char *region; /* never NULL after loading: the stream's own, else aws.region,
                         else NULL only if neither is set (resolved at run time) */
        struct stream_decl_extra *x; /* never NULL once loaded; may be shared */
        /* Where it was declared, for messages: file is an index into the
         * configuration's files (struct config's files[]; at most
         * STREAM_DECL_FILES_MAX of them), line and column as in the file
         * (at most 1 MiB: fewer lines than STREAM_DECL_LINE_MAX). */
        unsigned file : 11;
        unsigned line : 21;
        unsigned column;

        unsigned shards;                /* 0: not declared */
        unsigned retention_hours;       /* 24..8760, default 24 */
        unsigned metrics;               /* enum shard_metric bits */
        unsigned max_record_size_kib;   /* 0: AWS's default (not managed) */
        unsigned warm_throughput_mibps; /* on-demand streams only; 0: not managed */

        uint8_t mode;         /* enum stream_mode */
        uint8_t manage;       /* enum manage_mode */
        uint8_t distribution; /* enum record_distribution; on-demand streams only */

        bool region_inherited : 1; /* region is aws.region's, not the stream's or its defaults':
                                      a --region override moves it too. The text is then the
                                      configuration's own (struct config), not the decl's:
                                      thousands of streams share it */
        bool tags_declared : 1;    /* false: leave the stream's tags alone */
        bool resource_policy_declared : 1;
        bool account_in_exports : 1; /* another account has a stream of this name and
                                        region: the exports name the account */
};
#define STREAM_DECL_FILES_MAX (1u << 11)
#define STREAM_DECL_LINE_MAX ((1u << 21) - 1)
_Static_assert(sizeof(struct stream_decl) <= 56, "struct stream_decl: one per declared stream");

/* A declaration and an extra of its own, for a copy that changes settings
 * of either part (reconcile_decl_supported()). */
struct stream_decl_scratch {
        struct stream_decl d;
        struct stream_decl_extra x;
};

/* A new empty extra of d's own (refs 1), replacing stream_decl_extra_none;
 * for building a declaration. -ENOMEM. */
int stream_decl_extra_own(struct stream_decl *d);
/* Whether a and b hold equal values. */
bool stream_decl_extra_equal(const struct stream_decl_extra *a, const struct stream_decl_extra *b);
/* Done building d: an extra that holds nothing is replaced by the none. */
void stream_decl_extra_settle(struct stream_decl *d);

/* Whether two tag lists hold the same tags in the same order. */
bool stream_tags_equal(const struct stream_tag *a, size_t na, const struct stream_tag *b, size_t nb);
/* Free n tags and the array. */
void stream_tags_free(struct stream_tag *tags, size_t n);
/* Free what c owns and zero it. */
void consumer_decl_done(struct consumer_decl *c);
/* Free what d owns and zero it (d itself is the caller's). */
void stream_decl_done(struct stream_decl *d);

enum stream_status {
        STREAM_STATUS_UNKNOWN,
        STREAM_STATUS_CREATING,
        STREAM_STATUS_DELETING,
        STREAM_STATUS_ACTIVE,
        STREAM_STATUS_UPDATING,
};
const char *stream_status_to_string(enum stream_status s);   /* "ACTIVE", ... */
enum stream_status stream_status_from_string(const char *s); /* UNKNOWN if not one */

struct stream_consumer_obs {
        char *name;
        char *arn;
        char *status; /* CREATING, DELETING, ACTIVE */
        /* Read for declared consumers with tags or a policy, once ACTIVE. */
        bool tags_known; /* ListTagsForResource was read */
        struct stream_tag *tags;
        size_t n_tags;
        bool policy_known; /* GetResourcePolicy was read */
        char *policy;      /* normal form; NULL: none */
};

struct stream_budget {
        uint32_t used;       /* calls counted in the window ending now */
        uint32_t oldest_sec; /* CLOCK_REALTIME of the oldest of them, in whole seconds (it
                                leaves the window 24 h later, freeing a call; --plan shows
                                that minute); 0 if none */
};

struct stream_obs {
        /* Pointers and counts first, the small fields packed after them:
         * one per stream that exists, for the daemon's lifetime. Its
         * name is the declaration's. */
        char *arn;
        char *kms_key;           /* NULL when EncryptionType is NONE */
        struct stream_tag *tags; /* sorted by key; read when tags_known */
        size_t n_tags;
        char *resource_policy; /* its normal form (policy.h); NULL: none; read when policy_known */
        struct stream_consumer_obs *consumers; /* sorted by name; read when consumers_known */
        size_t n_consumers;

        /* The per-stream budgets AWS counts over a rolling 24 h, as far as
         * kinesisd's book knows (budget.h; DescribeLimits does not report
         * them), indexed by enum budget_kind, and the CLOCK_REALTIME they were
         * counted at: the planner's only clock, for the times --plan shows. */
        struct stream_budget budget[_BUDGET_KIND_MAX];
        uint64_t now_usec;

        unsigned open_shards;
        unsigned retention_hours;
        unsigned metrics;             /* enum shard_metric bits */
        unsigned max_record_size_kib; /* 0: not reported */
        unsigned warm_target_mibps;   /* WarmThroughput.TargetMiBps; 0: not reported */
        unsigned consumer_count;
        enum stream_status status : 8;
        enum stream_mode mode : 8;
        enum record_distribution distribution : 8;
        enum throughput_commitment commitment : 8; /* the account's, as the region read it */
        bool exists : 1;
        bool tags_known : 1;      /* ListTagsForStream was read */
        bool policy_known : 1;    /* GetResourcePolicy was read */
        bool consumers_known : 1; /* ListStreamConsumers was read */
};
_Static_assert(sizeof(struct stream_obs) <= 128, "struct stream_obs: one per existing stream");

void stream_obs_done(struct stream_obs *o);
/* Nothing was observed: o is as a zeroed struct stream_obs, except for what
 * every pass sets afresh before use (budgets, their clock, the commitment). */
bool stream_obs_is_empty(const struct stream_obs *o);
/* Free what c holds and clear it. */
void stream_consumer_obs_done(struct stream_consumer_obs *c);
