/* The planner: declared + observed -> ordered actions (DESIGN §1.4).
 *
 * Pure: no I/O, no clock, no logging, no globals. Everything it needs, including
 * the scaling budget already used, comes in through its arguments, so that it
 * can be tested with tables of cases. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "conflict.h"
#include "stream.h"

/* AWS's limits the planner respects (DESIGN §6). */
#define PLAN_MAX_SCALINGS_PER_DAY 10
#define PLAN_MAX_MODE_CHANGES_PER_DAY 2
#define PLAN_TAGS_PER_CALL 10
#define PLAN_CREATE_MAX_TAGS STREAM_TAGS_MAX /* CreateStream's Tags: the stream's whole cap */
#define PLAN_DEFAULT_RETENTION_HOURS 24      /* what CreateStream gives a new stream */
#define PLAN_DEFAULT_MAX_RECORD_SIZE_KIB 1024 /* assumed when AWS does not report it */

enum action_type {
        ACTION_CREATE_STREAM,
        ACTION_UPDATE_STREAM_MODE,
        ACTION_UPDATE_SHARD_COUNT,
        ACTION_INCREASE_RETENTION,
        ACTION_DECREASE_RETENTION,
        ACTION_START_ENCRYPTION,
        ACTION_STOP_ENCRYPTION,
        ACTION_ENABLE_MONITORING,
        ACTION_DISABLE_MONITORING,
        ACTION_ADD_TAGS,
        ACTION_REMOVE_TAGS,
        ACTION_REGISTER_CONSUMER,
        ACTION_UPDATE_MAX_RECORD_SIZE,
        ACTION_PUT_RESOURCE_POLICY,
        ACTION_DELETE_RESOURCE_POLICY,
        ACTION_TAG_RESOURCE,
        ACTION_UNTAG_RESOURCE,
        ACTION_UPDATE_DISTRIBUTION,
        ACTION_UPDATE_WARM_THROUGHPUT,
        _ACTION_TYPE_MAX,
};
/* The Kinesis operation name: "CreateStream", "UpdateShardCount", ... */
const char *action_type_to_string(enum action_type t);

struct action {
        enum action_type type;
        /* CREATE_STREAM: shards (0 for on-demand) and mode, tags, max record size.
         * UPDATE_STREAM_MODE: mode. UPDATE_SHARD_COUNT: the target of this step.
         * *_RETENTION: hours. *_MONITORING: metrics bits. UPDATE_MAX_RECORD_SIZE: KiB.
         * UPDATE_DISTRIBUTION: enum record_distribution. UPDATE_WARM_THROUGHPUT: MiB/s. */
        unsigned value;
        enum stream_mode mode;
        unsigned metrics;
        char *kms_key;               /* START_ENCRYPTION: the key to use (also when it replaces
                                        another key: StartStreamEncryption updates it in place);
                                        STOP_ENCRYPTION: the stream's current key, which
                                        StopStreamEncryption requires */
        struct stream_tag *tags;     /* ADD_TAGS, TAG_RESOURCE: key and value; REMOVE_TAGS,
                                        UNTAG_RESOURCE: keys (value NULL);
                                        CREATE_STREAM: all tags (at most 50) */
        size_t n_tags;
        char *consumer;              /* REGISTER_CONSUMER (tags: its declared tags); and the
                                        consumer a TAG_RESOURCE, UNTAG_RESOURCE or
                                        *_RESOURCE_POLICY is about (NULL: the stream) */
        unsigned max_record_size_kib; /* CREATE_STREAM: MaxRecordSizeInKiB; 0: leave it out
                                         (AWS's default) */
        unsigned warm_mibps;         /* CREATE_STREAM: WarmThroughputMiBps; 0: leave it out */
        char *policy;                /* PUT_RESOURCE_POLICY: the JSON document */
        char *resource_arn;          /* TAG_RESOURCE, UNTAG_RESOURCE, *_RESOURCE_POLICY of a
                                        consumer: its ARN (NULL: the stream's) */
};

enum plan_verdict {
        PLAN_IN_SYNC,      /* nothing to do */
        PLAN_CREATE,       /* the stream does not exist (or is being deleted) and will be
                              created */
        PLAN_CHANGE,       /* it exists and differs; actions correct it */
        PLAN_OBSERVE,      /* differs (or missing) but nothing may be done now: manage forbids
                              changes, or every correction is refused (budget spent, see
                              refusal); reported only, no actions */
};

struct plan {
        enum plan_verdict verdict;
        struct action *actions;   /* in the order they must run */
        size_t n_actions;
        /* Human-readable differences for --plan, e.g. "shards 4 -> 16 (steps 8, 16)",
         * "retention 24h -> 48h", "create: 2 shards, provisioned, retention 24h, tags 2",
         * "in sync", "exists as ON_DEMAND, declared manage: observe (no change)". */
        char *summary;
        /* A change that is declared but cannot be made (scaling budget spent,
         * mode-change budget spent, stream missing under manage: observe, ...):
         * the plan carries everything else and says why here. NULL if none. */
        char *refusal;
        /* The settings that differ from the declaration (1u << enum
         * stream_setting), whether or not anything is planned for them, and
         * those of them left alone because they were held. */
        unsigned differs;
        unsigned held;
        /* --once would fail on this stream for a reason visible now: it is
         * missing (or being deleted) and may not be created. */
        bool fails;
};

/* Plan one stream. obs->exists false means it is not there. Returns 0,
 * -ENOMEM, or -EINVAL for a NULL argument; *ret is written only on success;
 * free with plan_done(). The plan owns copies of every string it holds, so it
 * may outlive decl and obs. */
int plan_stream(const struct stream_decl *decl, const struct stream_obs *obs, struct plan *ret);
/* Likewise, leaving the settings in hold (1u << enum stream_setting) alone:
 * under manage: full a held setting that differs gets no action; the plan
 * names it in refusal as "<difference> held (changed back by another
 * party)". */
int plan_stream_holding(const struct stream_decl *decl, const struct stream_obs *obs, unsigned hold,
                        struct plan *ret);
void plan_done(struct plan *p);

/* Shard steps from `from` to `to`, each within [ceil(cur/2), 2*cur] of the
 * current count (2 -> 16: 4, 8, 16; 16 -> 3: 8, 4, 3). Writes at most max
 * steps into out (which may be NULL when max is 0) and returns the number of
 * steps needed (which may be more). 0 when from == to, or when either is 0
 * (not a shard count a stream can have). */
size_t plan_shard_steps(unsigned from, unsigned to, unsigned *out, size_t max);

/* The --plan line for a stream: "+ clicks            create: ...": the sigil
 * (+ create, ~ change, = in sync, ! observe or refused), a space, the name
 * left-justified in name_width columns (longer names are not cut), a space,
 * the summary; a create or change that also carries a refusal ends with
 * "; refused: <refusal>". No newline. malloc'd, or NULL on OOM. */
char *plan_format_line(const struct stream_decl *decl, const struct plan *p, size_t name_width);
