/* The planner: one declared stream and what AWS reports about it go in, the
 * ordered Kinesis calls that make AWS match the declaration come out, with a
 * one-line summary for --plan (DESIGN §1.4, §2).
 *
 * It must stay pure: no I/O, no clock, no logging, no mutable globals. The
 * budgets AWS enforces per stream over a rolling 24 h (UpdateShardCount,
 * UpdateStreamMode, Start/StopStreamEncryption) arrive already counted in
 * struct stream_obs, with the time they were counted at. It never plans a deletion of
 * anything: not a stream, not an undeclared consumer, not an aws: tag.
 *
 * The order of the actions, and why:
 *   1. CreateStream, when the stream is missing. It carries the mode, the shard
 *      count, the tags (up to 50) and the max record size; everything it cannot
 *      carry follows below, so --plan shows the whole way to the declaration.
 *   2. UpdateStreamMode before any UpdateShardCount: AWS accepts
 *      UpdateShardCount only on provisioned streams, and a switch to
 *      provisioned keeps the shards the stream has, so the steps start there.
 *   3. UpdateShardCount, stepped: each call may only move within half to
 *      double of the current open shards.
 *   4. Retention, encryption, enhanced monitoring (disable, then enable), max
 *      record size, record distribution (on-demand only, so after the mode):
 *      independent of each other and of the shard count; a fixed
 *      order keeps plans stable from one run to the next.
 *   5. RemoveTagsFromStream before AddTagsToStream: a stream holds at most 50
 *      tags, so removing undeclared keys first lets a full set be replaced
 *      without crossing that limit.
 *   6. PutResourcePolicy / DeleteResourcePolicy: it needs the stream's ARN.
 *   7. RegisterStreamConsumer last: it needs the stream's ARN (known once
 *      CreateStream has run) and nothing above depends on consumers.
 * The caller waits for the stream to be ACTIVE between calls that put it into
 * UPDATING; the planner only orders them.
 *
 * Summary phrases (joined with "; ", in the action order above):
 *   create: 2 shards, provisioned, retention 24h[, encryption KEY]
 *           [, metrics A,B | metrics ALL][, max record size N KiB][, tags N]
 *           [, resource policy][, consumers N]  (on-demand: "create: on-demand, ...")
 *   mode ON_DEMAND -> PROVISIONED          (reported only: "exists as ON_DEMAND")
 *   shards 4 -> 16 (steps 8, 16)           ("(steps ...)" only with more than one
 *                                           call, and only when acting)
 *   shards 1 -> 10 (steps 2, 4 now; 8, 10 from 2023-11-15 12:13 UTC)
 *                                          (the scaling budget allows only some
 *                                           steps: the rest are refused, with the
 *                                           time the window frees the next call)
 *   retention 24h -> 48h
 *   encryption none -> KEY, KEY -> none, KEY -> KEY
 *   metrics +A,B -C                        (a full set of seven is written ALL)
 *   max record size 1024 KiB -> 2048 KiB
 *   record distribution USER_PARTITION_KEY -> AUTO
 *   warm throughput 0 -> 20 MiB/s            (the target AWS reports)
 *   tags +2 ~1 -3                          (added, changed, removed; zero parts left out)
 *   resource policy none -> declared, differs -> declared, -> none
 *   consumers +2
 *   in sync
 * A stream being deleted is planned as a missing one, its summary starting
 * "being deleted, then create: ...". A setting held after a conflict (the
 * caller's hold mask) gets no action; its phrase goes into the refusal as
 * "tags ~1 held (changed back by another party)".
 * Under manage: create-only the differences end in " (create-only, no change)",
 * under manage: observe in ", declared manage: observe (no change)". A plan whose
 * every correction is refused reads "<refusal> (no change)". */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "plan.h"
#include "util.h"

static const char *const action_type_table[_ACTION_TYPE_MAX] = {
        [ACTION_CREATE_STREAM] = "CreateStream",
        [ACTION_UPDATE_STREAM_MODE] = "UpdateStreamMode",
        [ACTION_UPDATE_SHARD_COUNT] = "UpdateShardCount",
        [ACTION_INCREASE_RETENTION] = "IncreaseStreamRetentionPeriod",
        [ACTION_DECREASE_RETENTION] = "DecreaseStreamRetentionPeriod",
        [ACTION_START_ENCRYPTION] = "StartStreamEncryption",
        [ACTION_STOP_ENCRYPTION] = "StopStreamEncryption",
        [ACTION_ENABLE_MONITORING] = "EnableEnhancedMonitoring",
        [ACTION_DISABLE_MONITORING] = "DisableEnhancedMonitoring",
        [ACTION_ADD_TAGS] = "AddTagsToStream",
        [ACTION_REMOVE_TAGS] = "RemoveTagsFromStream",
        [ACTION_REGISTER_CONSUMER] = "RegisterStreamConsumer",
        [ACTION_UPDATE_MAX_RECORD_SIZE] = "UpdateMaxRecordSize",
        [ACTION_PUT_RESOURCE_POLICY] = "PutResourcePolicy",
        [ACTION_DELETE_RESOURCE_POLICY] = "DeleteResourcePolicy",
        [ACTION_TAG_RESOURCE] = "TagResource",
        [ACTION_UNTAG_RESOURCE] = "UntagResource",
        [ACTION_UPDATE_DISTRIBUTION] = "UpdateStreamRecordDistributionStrategy",
        [ACTION_UPDATE_WARM_THROUGHPUT] = "UpdateStreamWarmThroughput",
};

const char *action_type_to_string(enum action_type t) {
        if ((unsigned) t >= ELEMENTSOF(action_type_table))
                return NULL;
        return action_type_table[t];
}

size_t plan_shard_steps(unsigned from, unsigned to, unsigned *out, size_t max) {
        size_t n = 0;

        if (from == 0 || to == 0)
                return 0;

        /* 64-bit so that doubling a huge count cannot wrap. */
        for (uint64_t cur = from; cur != to; n++) {
                uint64_t next;

                if (to > 2 * cur)
                        next = 2 * cur;
                else if (to < (cur + 1) / 2)
                        next = (cur + 1) / 2;
                else
                        next = to;
                if (out && n < max)
                        out[n] = (unsigned) next;
                cur = next;
        }
        return n;
}

/* A growing string that remembers running out of memory, so the planner can
 * append freely and check once at the end. */
struct sbuf {
        char *s;
        size_t len, cap;
        bool oom;
};

_printf_(2, 3) static void sbuf_printf(struct sbuf *b, const char *fmt, ...) {
        va_list ap;
        int n;

        if (b->oom)
                return;
        va_start(ap, fmt);
        n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
                b->oom = true;
                return;
        }
        if (!b->s || b->len + (size_t) n >= b->cap) {
                size_t cap = b->cap ? b->cap : 64;
                char *s;

                while (cap <= b->len + (size_t) n)
                        cap *= 2;
                s = realloc(b->s, cap);
                if (!s) {
                        b->oom = true;
                        return;
                }
                b->s = s;
                b->cap = cap;
                va_start(ap, fmt);
                (void) vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
                va_end(ap);
        }
        b->len += (size_t) n;
}

/* Start a new "; "-separated item. */
static void sbuf_item(struct sbuf *b) {
        if (b->len > 0)
                sbuf_printf(b, "; ");
}

static void sbuf_done(struct sbuf *b) {
        free(b->s);
        *b = (struct sbuf) {};
}

struct builder {
        struct action *actions;
        size_t n_actions, cap;
        struct sbuf summary; /* phrases of what differs */
        struct sbuf refusal;
        bool oom;
};

static void action_done(struct action *a) {
        free(a->kms_key);
        for (size_t i = 0; i < a->n_tags; i++) {
                free(a->tags[i].key);
                free(a->tags[i].value);
        }
        free(a->tags);
        free(a->consumer);
        free(a->policy);
        free(a->resource_arn);
}

static void builder_done(struct builder *b) {
        for (size_t i = 0; i < b->n_actions; i++)
                action_done(&b->actions[i]);
        free(b->actions);
        sbuf_done(&b->summary);
        sbuf_done(&b->refusal);
}

static struct action *builder_push(struct builder *b, enum action_type type) {
        if (b->oom)
                return NULL;
        if (b->n_actions == b->cap) {
                size_t cap = b->cap ? b->cap * 2 : 8;
                struct action *a = reallocarray(b->actions, cap, sizeof(*a));

                if (!a) {
                        b->oom = true;
                        return NULL;
                }
                b->actions = a;
                b->cap = cap;
        }
        b->actions[b->n_actions] = (struct action) { .type = type };
        return &b->actions[b->n_actions++];
}

static char *builder_strdup(struct builder *b, const char *s) {
        char *d;

        if (!s)
                return NULL;
        d = strdup(s);
        if (!d)
                b->oom = true;
        return d;
}

/* Copy tags into a->tags; with_values false copies keys only (RemoveTags). */
static void action_set_tags(struct builder *b, struct action *a, const struct stream_tag *const *tags,
                            size_t n, bool with_values) {
        if (!a || n == 0)
                return;
        a->tags = calloc(n, sizeof(*a->tags));
        if (!a->tags) {
                b->oom = true;
                return;
        }
        a->n_tags = n;
        for (size_t i = 0; i < n; i++) {
                a->tags[i].key = builder_strdup(b, tags[i]->key);
                if (with_values)
                        /* A declared tag may have an empty value; never send null. */
                        a->tags[i].value = builder_strdup(b, strempty(tags[i]->value));
        }
}

/* One action per PLAN_TAGS_PER_CALL tags: AWS's limit per Add/RemoveTags call. */
static void builder_push_tags(struct builder *b, enum action_type type, const struct stream_tag *const *tags,
                              size_t n) {
        for (size_t i = 0; i < n; i += PLAN_TAGS_PER_CALL) {
                size_t chunk = n - i < PLAN_TAGS_PER_CALL ? n - i : PLAN_TAGS_PER_CALL;

                action_set_tags(b, builder_push(b, type), tags + i, chunk,
                                type == ACTION_ADD_TAGS || type == ACTION_TAG_RESOURCE);
        }
}

static const char *mode_upper(enum stream_mode m) {
        return m == STREAM_MODE_ON_DEMAND ? "ON_DEMAND" : "PROVISIONED";
}

/* "IncomingBytes,OutgoingBytes", or "ALL" for all seven. */
static void sbuf_metrics(struct sbuf *b, unsigned bits) {
        bool first = true;

        bits &= METRIC_ALL;
        if (bits == METRIC_ALL) {
                sbuf_printf(b, "ALL");
                return;
        }
        for (unsigned i = 0; i < SHARD_METRIC_COUNT; i++) {
                if (!(bits & (1u << i)))
                        continue;
                sbuf_printf(b, "%s%s", first ? "" : ",", strna(shard_metric_name(i)));
                first = false;
        }
}

static const struct stream_tag *tag_find(const struct stream_tag *tags, size_t n, const char *key) {
        for (size_t i = 0; i < n; i++)
                if (streq_ptr(tags[i].key, key))
                        return &tags[i];
        return NULL;
}

/* Tags AWS manages itself; never ours to remove. The prefix is matched
 * without regard to case, as AWS reserves it in any case. */
static bool tag_is_aws(const char *key) {
        return key && strncasecmp(key, "aws:", 4) == 0;
}

static const struct stream_consumer_obs *consumer_observed(const struct stream_obs *obs, const char *name) {
        for (size_t i = 0; i < obs->n_consumers; i++)
                if (streq_ptr(obs->consumers[i].name, name))
                        return &obs->consumers[i];
        return NULL;
}

/* RegisterStreamConsumer for declared consumer i, with its tags. */
static void push_register(const struct stream_decl *decl, size_t i, struct builder *b) {
        const struct consumer_decl *o = decl->x->consumer_opts ? &decl->x->consumer_opts[i] : NULL;
        struct action *a = builder_push(b, ACTION_REGISTER_CONSUMER);
        _cleanup_free_ const struct stream_tag **tags = NULL;

        if (!a)
                return;
        a->consumer = builder_strdup(b, decl->x->consumers[i]);
        if (!o || !o->tags_declared || o->n_tags == 0)
                return;
        tags = calloc(o->n_tags, sizeof(*tags));
        if (!tags) {
                b->oom = true;
                return;
        }
        for (size_t j = 0; j < o->n_tags; j++)
                tags[j] = &o->tags[j];
        action_set_tags(b, a, tags, o->n_tags, true);
}

static unsigned budget_left(const struct stream_obs *obs, enum budget_kind k) {
        unsigned limit = budget_limit(k), used = obs->budget[k].used;
        return used >= limit ? 0 : limit - used;
}

/* " from YYYY-MM-DD HH:MM UTC": when the window frees its first call of
 * kind k, given that `taking` more are made now. Nothing when that time is
 * unknown. */
static void sbuf_next_free(struct sbuf *out, const struct stream_obs *obs, enum budget_kind k,
                           unsigned taking) {
        uint64_t t = obs->budget[k].used > 0 ? (uint64_t) obs->budget[k].oldest_sec * USEC_PER_SEC
                     : taking > 0                ? obs->now_usec
                                                 : 0;
        time_t sec;
        struct tm tm;
        char when[32];

        if (t == 0)
                return;
        t += BUDGET_WINDOW_USEC;
        sec = (time_t)(t / 1000000);
        if (!gmtime_r(&sec, &tm) || strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm) == 0)
                return;
        sbuf_printf(out, " from %s UTC", when);
}

/* "<what> needs N calls, M left in the rolling 24 h window; <API> budget
 * N/24 h spent, the next call from YYYY-MM-DD HH:MM UTC". taking: calls of
 * this kind the plan makes now, before the refused ones. */
static void refuse_budget(struct builder *b, const struct stream_obs *obs, enum budget_kind k,
                          unsigned needed, unsigned taking, const char *what_singular,
                          const char *what_plural) {
        unsigned left = budget_left(obs, k) - taking;

        sbuf_printf(&b->refusal, " needs %u %s, %u left in the rolling 24 h window", needed,
                    needed == 1 ? what_singular : what_plural, left);
        if (left == 0) {
                sbuf_printf(&b->refusal, "; %s budget %u/24 h spent, the next call",
                            budget_kind_to_string(k), budget_limit(k));
                sbuf_next_free(&b->refusal, obs, k, taking);
        }
}

/* Warm throughput needs an on-demand stream in an account with a minimum
 * throughput commitment: without one it is not a difference kinesisd can
 * correct (the reconciler says so), and unknown it is tried. */
static bool warm_applies(const struct stream_decl *decl, const struct stream_obs *obs, enum stream_mode mode) {
        return decl->warm_throughput_mibps > 0 && mode == STREAM_MODE_ON_DEMAND &&
               obs->commitment != COMMITMENT_NONE;
}

/* The stream is missing and will be created. */
static void plan_create(const struct stream_decl *decl, const struct stream_obs *obs, struct builder *b) {
        const struct stream_tag **tags = NULL;
        size_t n_tags = decl->tags_declared ? decl->x->n_tags : 0;
        size_t n_create_tags = n_tags < PLAN_CREATE_MAX_TAGS ? n_tags : PLAN_CREATE_MAX_TAGS;
        struct action *a;

        if (n_tags > 0) {
                tags = calloc(n_tags, sizeof(*tags));
                if (!tags) {
                        b->oom = true;
                        return;
                }
                for (size_t i = 0; i < n_tags; i++)
                        tags[i] = &decl->x->tags[i];
        }

        a = builder_push(b, ACTION_CREATE_STREAM);
        if (a) {
                a->mode = decl->mode;
                a->value = decl->mode == STREAM_MODE_PROVISIONED ? decl->shards : 0;
                a->max_record_size_kib = decl->max_record_size_kib;
                /* Only with a known commitment: AWS refuses the whole creation without one. */
                if (warm_applies(decl, obs, decl->mode) && obs->commitment == COMMITMENT_ENABLED)
                        a->warm_mibps = decl->warm_throughput_mibps;
                action_set_tags(b, a, tags, n_create_tags, true);
        }

        if (decl->retention_hours != PLAN_DEFAULT_RETENTION_HOURS && decl->retention_hours != 0) {
                a = builder_push(b, decl->retention_hours > PLAN_DEFAULT_RETENTION_HOURS
                                            ? ACTION_INCREASE_RETENTION
                                            : ACTION_DECREASE_RETENTION);
                if (a)
                        a->value = decl->retention_hours;
        }
        if (decl->x->kms_key) {
                a = builder_push(b, ACTION_START_ENCRYPTION);
                if (a)
                        a->kms_key = builder_strdup(b, decl->x->kms_key);
        }
        if (decl->metrics & METRIC_ALL) {
                a = builder_push(b, ACTION_ENABLE_MONITORING);
                if (a)
                        a->metrics = decl->metrics & METRIC_ALL;
        }
        /* A new on-demand stream places records by partition key. */
        if (decl->mode == STREAM_MODE_ON_DEMAND && decl->distribution == DISTRIBUTION_AUTO) {
                a = builder_push(b, ACTION_UPDATE_DISTRIBUTION);
                if (a)
                        a->value = DISTRIBUTION_AUTO;
        }
        /* Only a declaration past CreateStream's limit gets here (config caps
         * tags at 50); the rest follow in AddTags calls. */
        if (n_tags > n_create_tags)
                builder_push_tags(b, ACTION_ADD_TAGS, tags + n_create_tags, n_tags - n_create_tags);
        if (decl->x->resource_policy) {
                a = builder_push(b, ACTION_PUT_RESOURCE_POLICY);
                if (a)
                        a->policy = builder_strdup(b, decl->x->resource_policy);
        }
        for (size_t i = 0; i < decl->x->n_consumers; i++)
                push_register(decl, i, b);
        free(tags);

        if (decl->mode == STREAM_MODE_PROVISIONED)
                sbuf_printf(&b->summary, "create: %u shard%s, provisioned", decl->shards,
                            decl->shards == 1 ? "" : "s");
        else
                sbuf_printf(&b->summary, "create: on-demand");
        sbuf_printf(&b->summary, ", retention %uh",
                    decl->retention_hours ? decl->retention_hours : PLAN_DEFAULT_RETENTION_HOURS);
        if (decl->x->kms_key)
                sbuf_printf(&b->summary, ", encryption %s", decl->x->kms_key);
        if (decl->metrics & METRIC_ALL) {
                sbuf_printf(&b->summary, ", metrics ");
                sbuf_metrics(&b->summary, decl->metrics);
        }
        if (decl->max_record_size_kib)
                sbuf_printf(&b->summary, ", max record size %u KiB", decl->max_record_size_kib);
        if (decl->mode == STREAM_MODE_ON_DEMAND && decl->distribution == DISTRIBUTION_AUTO)
                sbuf_printf(&b->summary, ", record distribution AUTO");
        if (warm_applies(decl, obs, decl->mode) && obs->commitment == COMMITMENT_ENABLED)
                sbuf_printf(&b->summary, ", warm throughput %u MiB/s", decl->warm_throughput_mibps);
        if (n_tags > 0)
                sbuf_printf(&b->summary, ", tags %zu", n_tags);
        if (decl->x->resource_policy)
                sbuf_printf(&b->summary, ", resource policy");
        if (decl->x->n_consumers > 0)
                sbuf_printf(&b->summary, ", consumers %zu", decl->x->n_consumers);
}

/* Each plan_*() below compares one setting of an existing stream. With act,
 * it pushes the actions that correct it (and a refusal for what the budgets
 * do not allow); without, it only describes the difference. */

/* Returns the mode the stream will have once the actions ran. */
static enum stream_mode plan_mode(const struct stream_decl *decl, const struct stream_obs *obs, bool act,
                                  struct builder *b) {
        struct action *a;

        if (decl->mode == obs->mode)
                return obs->mode;
        if (!act) {
                sbuf_item(&b->summary);
                sbuf_printf(&b->summary, "exists as %s", mode_upper(obs->mode));
                return obs->mode;
        }
        if (budget_left(obs, BUDGET_UPDATE_STREAM_MODE) == 0) {
                sbuf_item(&b->refusal);
                sbuf_printf(&b->refusal, "mode %s -> %s", mode_upper(obs->mode), mode_upper(decl->mode));
                refuse_budget(b, obs, BUDGET_UPDATE_STREAM_MODE, 1, 0, "mode change", "mode changes");
                return obs->mode;
        }
        a = builder_push(b, ACTION_UPDATE_STREAM_MODE);
        if (a)
                a->mode = decl->mode;
        sbuf_item(&b->summary);
        sbuf_printf(&b->summary, "mode %s -> %s", mode_upper(obs->mode), mode_upper(decl->mode));
        return decl->mode;
}

/* The UpdateShardCount calls from one count to another: those today's
 * budget allows now, the rest refused with the time the budget frees a call.
 * Steps taken now are never wasted: each is on the way to the declared count,
 * and the next run goes on from where they left the stream. */
static void plan_shard_steps_push(const struct stream_obs *obs, unsigned from, unsigned to, struct builder *b) {
        unsigned steps[32]; /* 1 -> 100000 takes 17 */
        size_t n = plan_shard_steps(from, to, steps, ELEMENTSOF(steps));
        size_t left = budget_left(obs, BUDGET_UPDATE_SHARD_COUNT), now = n < left ? n : left;
        struct action *a;

        for (size_t i = 0; i < now; i++) {
                a = builder_push(b, ACTION_UPDATE_SHARD_COUNT);
                if (a)
                        a->value = steps[i];
        }
        if (now < n) {
                sbuf_item(&b->refusal);
                sbuf_printf(&b->refusal, "shards %u -> %u", now > 0 ? steps[now - 1] : from, to);
                refuse_budget(b, obs, BUDGET_UPDATE_SHARD_COUNT, (unsigned)(n - now), (unsigned)now,
                              "scaling call", "scaling calls");
        }
        if (now == 0)
                return;
        sbuf_item(&b->summary);
        sbuf_printf(&b->summary, "shards %u -> %u", from, to);
        if (n == 1)
                return;
        const char *lead = now == 1 && now < n ? " (step " : " (steps ";
        for (size_t i = 0; i < now; i++)
                sbuf_printf(&b->summary, "%s%u", i > 0 ? ", " : lead, steps[i]);
        if (now < n) {
                sbuf_printf(&b->summary, " now;");
                for (size_t i = now; i < n && i < ELEMENTSOF(steps); i++)
                        sbuf_printf(&b->summary, "%s%u", i > now ? ", " : " ", steps[i]);
                if (n > ELEMENTSOF(steps))
                        sbuf_printf(&b->summary, ", ...");
                sbuf_next_free(&b->summary, obs, BUDGET_UPDATE_SHARD_COUNT, (unsigned)now);
        }
        sbuf_printf(&b->summary, ")");
}

/* Shards only mean something to a stream that is (or is about to be)
 * provisioned and declares a count; on-demand streams scale themselves. */
static void plan_shards(const struct stream_decl *decl, const struct stream_obs *obs,
                        enum stream_mode mode_after, bool act, struct builder *b) {
        unsigned from = obs->open_shards, to = decl->shards;

        if (decl->mode != STREAM_MODE_PROVISIONED || mode_after != STREAM_MODE_PROVISIONED ||
            decl->shards == 0 || obs->open_shards == decl->shards)
                return;
        if (!act) {
                sbuf_item(&b->summary);
                sbuf_printf(&b->summary, "shards %u -> %u", from, to);
        } else if (from == 0) {
                sbuf_item(&b->refusal);
                sbuf_printf(&b->refusal, "shards -> %u: open shard count not reported", to);
        } else
                plan_shard_steps_push(obs, from, to, b);
}

static void plan_retention(const struct stream_decl *decl, const struct stream_obs *obs, bool act,
                           struct builder *b) {
        struct action *a;

        if (decl->retention_hours == 0 || decl->retention_hours == obs->retention_hours)
                return;
        if (act) {
                a = builder_push(b, decl->retention_hours > obs->retention_hours ? ACTION_INCREASE_RETENTION
                                                                                 : ACTION_DECREASE_RETENTION);
                if (a)
                        a->value = decl->retention_hours;
        }
        sbuf_item(&b->summary);
        sbuf_printf(&b->summary, "retention %uh -> %uh", obs->retention_hours, decl->retention_hours);
}

/* Key ids are compared as given: an alias declared and an ARN reported for
 * the same key count as a difference, and StartStreamEncryption with the
 * declared one settles it. */
static void plan_encryption(const struct stream_decl *decl, const struct stream_obs *obs, bool act,
                            struct builder *b) {
        struct action *a;

        if (streq_ptr(decl->x->kms_key, obs->kms_key))
                return;
        enum budget_kind k = decl->x->kms_key ? BUDGET_START_ENCRYPTION : BUDGET_STOP_ENCRYPTION;
        if (act && budget_left(obs, k) == 0) {
                sbuf_item(&b->refusal);
                sbuf_printf(&b->refusal, "encryption %s -> %s", obs->kms_key ?: "none",
                            decl->x->kms_key ?: "none");
                refuse_budget(b, obs, k, 1, 0, "encryption change", "encryption changes");
                return;
        }
        if (act) {
                if (decl->x->kms_key) {
                        /* Also replaces a different key: no stop needed first. */
                        a = builder_push(b, ACTION_START_ENCRYPTION);
                        if (a)
                                a->kms_key = builder_strdup(b, decl->x->kms_key);
                } else {
                        a = builder_push(b, ACTION_STOP_ENCRYPTION);
                        if (a)
                                a->kms_key = builder_strdup(b, obs->kms_key);
                }
        }
        sbuf_item(&b->summary);
        sbuf_printf(&b->summary, "encryption %s -> %s", obs->kms_key ?: "none", decl->x->kms_key ?: "none");
}

static void plan_metrics(const struct stream_decl *decl, const struct stream_obs *obs, bool act,
                         struct builder *b) {
        unsigned want = decl->metrics & METRIC_ALL, have = obs->metrics & METRIC_ALL;
        unsigned enable = want & ~have, disable = have & ~want;
        struct action *a;

        if (act && disable) {
                a = builder_push(b, ACTION_DISABLE_MONITORING);
                if (a)
                        a->metrics = disable;
        }
        if (act && enable) {
                a = builder_push(b, ACTION_ENABLE_MONITORING);
                if (a)
                        a->metrics = enable;
        }
        if (!enable && !disable)
                return;
        sbuf_item(&b->summary);
        sbuf_printf(&b->summary, "metrics");
        if (enable) {
                sbuf_printf(&b->summary, " +");
                sbuf_metrics(&b->summary, enable);
        }
        if (disable) {
                sbuf_printf(&b->summary, " -");
                sbuf_metrics(&b->summary, disable);
        }
}

static void plan_max_record_size(const struct stream_decl *decl, const struct stream_obs *obs, bool act,
                                 struct builder *b) {
        unsigned have = obs->max_record_size_kib ?: PLAN_DEFAULT_MAX_RECORD_SIZE_KIB;
        struct action *a;

        if (decl->max_record_size_kib == 0 || have == decl->max_record_size_kib)
                return;
        if (act) {
                a = builder_push(b, ACTION_UPDATE_MAX_RECORD_SIZE);
                if (a)
                        a->value = decl->max_record_size_kib;
        }
        sbuf_item(&b->summary);
        sbuf_printf(&b->summary, "max record size %u KiB -> %u KiB", have, decl->max_record_size_kib);
}

/* On-demand streams only; a stream that does not report it uses AWS's
 * default, USER_PARTITION_KEY. */
static void plan_distribution(const struct stream_decl *decl, const struct stream_obs *obs,
                              enum stream_mode mode_after, bool act, struct builder *b) {
        enum record_distribution have = obs->distribution ?: DISTRIBUTION_USER_PARTITION_KEY;
        struct action *a;

        if (decl->distribution == DISTRIBUTION_UNSET || mode_after != STREAM_MODE_ON_DEMAND ||
            decl->distribution == have)
                return;
        if (act) {
                a = builder_push(b, ACTION_UPDATE_DISTRIBUTION);
                if (a)
                        a->value = decl->distribution;
        }
        sbuf_item(&b->summary);
        sbuf_printf(&b->summary, "record distribution %s -> %s", record_distribution_to_aws(have),
                    record_distribution_to_aws(decl->distribution));
}

/* Compared with the target AWS reports, which it scales towards: the
 * current value lags behind and would ask for the same change again. */
static void plan_warm_throughput(const struct stream_decl *decl, const struct stream_obs *obs,
                                 enum stream_mode mode_after, bool act, struct builder *b) {
        struct action *a;

        if (!warm_applies(decl, obs, mode_after) || obs->warm_target_mibps == decl->warm_throughput_mibps)
                return;
        if (act) {
                a = builder_push(b, ACTION_UPDATE_WARM_THROUGHPUT);
                if (a)
                        a->value = decl->warm_throughput_mibps;
        }
        sbuf_item(&b->summary);
        sbuf_printf(&b->summary, "warm throughput %u -> %u MiB/s", obs->warm_target_mibps,
                    decl->warm_throughput_mibps);
}

/* Declared tags against what AWS has: what to put (new or changed) and
 * what to remove (undeclared, but never aws: ones). put and del hold room
 * for every declared and every observed tag. Returns the total count. */
struct tag_diff {
        const struct stream_tag **put, **del;
        size_t n_put, n_del, n_new, n_changed;
};

static size_t tag_diff(const struct stream_tag *want, size_t n_want, const struct stream_tag *have,
                       size_t n_have, struct tag_diff *d) {
        for (size_t i = 0; i < n_want; i++) {
                const struct stream_tag *o = tag_find(have, n_have, want[i].key);

                if (!o)
                        d->n_new++;
                else if (!streq(strempty(o->value), strempty(want[i].value)))
                        d->n_changed++;
                else
                        continue;
                d->put[d->n_put++] = &want[i];
        }
        for (size_t i = 0; i < n_have; i++)
                if (!tag_is_aws(have[i].key) && !tag_find(want, n_want, have[i].key))
                        d->del[d->n_del++] = &have[i];
        return d->n_put + d->n_del;
}

/* " +N ~N -N" (added, changed, removed; zero parts left out). */
static void sbuf_tag_diff(struct sbuf *s, const struct tag_diff *d) {
        if (d->n_new)
                sbuf_printf(s, " +%zu", d->n_new);
        if (d->n_changed)
                sbuf_printf(s, " ~%zu", d->n_changed);
        if (d->n_del)
                sbuf_printf(s, " -%zu", d->n_del);
}

/* Declared tags are the whole set, but only when some are declared and only
 * when we could read what the stream has. */
static void plan_tags(const struct stream_decl *decl, const struct stream_obs *obs, bool act,
                      struct builder *b) {
        _cleanup_free_ const struct stream_tag **put = NULL, **del = NULL;
        struct tag_diff d = {};

        if (!decl->tags_declared || !obs->tags_known)
                return;
        put = calloc(decl->x->n_tags + 1, sizeof(*put));
        del = calloc(obs->n_tags + 1, sizeof(*del));
        if (!put || !del) {
                b->oom = true;
                return;
        }
        d.put = put;
        d.del = del;
        if (tag_diff(decl->x->tags, decl->x->n_tags, obs->tags, obs->n_tags, &d) == 0)
                return;
        if (act) {
                builder_push_tags(b, ACTION_REMOVE_TAGS, del, d.n_del);
                builder_push_tags(b, ACTION_ADD_TAGS, put, d.n_put);
        }
        sbuf_item(&b->summary);
        sbuf_printf(&b->summary, "tags");
        sbuf_tag_diff(&b->summary, &d);
}

/* A policy against what AWS has, for the stream (consumer NULL) or one
 * of its consumers. Policies are compared in their normal form (policy.h),
 * and only once GetResourcePolicy was read: an equal policy is never sent
 * again. */
static void plan_policy(bool declared, const char *send, const char *norm, bool known, const char *have,
                        const char *consumer, const char *arn, bool act, struct builder *b) {
        struct action *a;

        if (!declared || !known || streq_ptr(norm, have))
                return;
        if (act) {
                a = builder_push(b, send ? ACTION_PUT_RESOURCE_POLICY : ACTION_DELETE_RESOURCE_POLICY);
                if (a) {
                        a->policy = send ? builder_strdup(b, send) : NULL;
                        a->consumer = consumer ? builder_strdup(b, consumer) : NULL;
                        a->resource_arn = arn ? builder_strdup(b, arn) : NULL;
                }
        }
        sbuf_item(&b->summary);
        if (consumer)
                sbuf_printf(&b->summary, "consumer %s ", consumer);
        if (!send)
                sbuf_printf(&b->summary, "resource policy -> none");
        else
                sbuf_printf(&b->summary, "resource policy %s -> declared", have ? "differs" : "none");
}

static void plan_resource_policy(const struct stream_decl *decl, const struct stream_obs *obs, bool act,
                                 struct builder *b) {
        plan_policy(decl->resource_policy_declared, decl->x->resource_policy, decl->x->resource_policy_norm,
                    obs->policy_known, obs->resource_policy, NULL, NULL, act, b);
}

/* The tags and policy of a declared consumer that is ACTIVE, with what
 * ListTagsForResource and GetResourcePolicy said of it. */
static void plan_consumer_details(const char *name, const struct consumer_decl *o,
                                  const struct stream_consumer_obs *c, bool act, struct builder *b) {
        if (o->tags_declared && c->tags_known) {
                _cleanup_free_ const struct stream_tag **put = calloc(o->n_tags + 1, sizeof(*put));
                _cleanup_free_ const struct stream_tag **del = calloc(c->n_tags + 1, sizeof(*del));
                struct tag_diff d = { .put = put, .del = del };

                if (!put || !del) {
                        b->oom = true;
                        return;
                }
                if (tag_diff(o->tags, o->n_tags, c->tags, c->n_tags, &d) > 0) {
                        size_t first = b->n_actions;

                        if (act) {
                                builder_push_tags(b, ACTION_UNTAG_RESOURCE, del, d.n_del);
                                builder_push_tags(b, ACTION_TAG_RESOURCE, put, d.n_put);
                        }
                        for (size_t i = first; i < b->n_actions; i++) {
                                b->actions[i].consumer = builder_strdup(b, name);
                                b->actions[i].resource_arn = builder_strdup(b, c->arn);
                        }
                        sbuf_item(&b->summary);
                        sbuf_printf(&b->summary, "consumer %s tags", name);
                        sbuf_tag_diff(&b->summary, &d);
                }
        }
        plan_policy(o->policy_declared, o->policy, o->policy_norm, c->policy_known, c->policy, name, c->arn, act,
                    b);
}

/* Register what is missing; never deregister what was not declared: someone
 * else may be reading through it. */
static void plan_consumers(const struct stream_decl *decl, const struct stream_obs *obs, bool act,
                           struct builder *b) {
        size_t n = 0;

        if (!obs->consumers_known)
                return;
        for (size_t i = 0; i < decl->x->n_consumers; i++) {
                const struct stream_consumer_obs *c = consumer_observed(obs, decl->x->consumers[i]);

                if (c)
                        continue;
                n++;
                if (act)
                        push_register(decl, i, b);
        }
        if (n > 0) {
                sbuf_item(&b->summary);
                sbuf_printf(&b->summary, "consumers +%zu", n);
        }
}

/* The declared tags and policies of the consumers, compared only once all
 * of them can be: each consumer that declares any is ACTIVE and what it
 * declares was read. One setting for all of them (a conflict hold covers
 * them together), so a half-read set must not look in sync. */
static void plan_consumer_settings(const struct stream_decl *decl, const struct stream_obs *obs, bool act,
                                   struct builder *b) {
        if (!obs->consumers_known || !decl->x->consumer_opts)
                return;
        for (size_t i = 0; i < decl->x->n_consumers; i++) {
                const struct consumer_decl *o = &decl->x->consumer_opts[i];
                const struct stream_consumer_obs *c = consumer_observed(obs, decl->x->consumers[i]);

                if (!o->tags_declared && !o->policy_declared)
                        continue;
                if (!c || !c->arn || !streq_ptr(c->status, "ACTIVE") || (o->tags_declared && !c->tags_known) ||
                    (o->policy_declared && !c->policy_known))
                        return;
        }
        for (size_t i = 0; i < decl->x->n_consumers; i++) {
                const struct stream_consumer_obs *c = consumer_observed(obs, decl->x->consumers[i]);

                if (c)
                        plan_consumer_details(decl->x->consumers[i], &decl->x->consumer_opts[i], c, act, b);
        }
}

/* Around each setting's comparison: a held setting is compared without
 * acting, into a summary of its own that becomes part of the refusal; every
 * setting that left a trace (an action, a phrase, a refusal) differs. */
struct setting_mark {
        enum stream_setting setting;
        bool held;
        size_t n_actions, summary_len, refusal_len;
        struct sbuf summary; /* the builder's, while a held setting writes its own */
};

static bool setting_begin(struct builder *b, enum stream_setting s, bool act, unsigned hold,
                          struct setting_mark *m) {
        *m = (struct setting_mark) {
                .setting = s,
                .held = act && (hold & (1u << s)),
                .n_actions = b->n_actions,
                .summary_len = b->summary.len,
                .refusal_len = b->refusal.len,
        };
        if (m->held) {
                m->summary = b->summary;
                b->summary = (struct sbuf) {};
        }
        return act && !m->held;
}

static void setting_end(struct builder *b, struct setting_mark *m, unsigned *differs, unsigned *held) {
        if (m->held) {
                if (b->summary.oom)
                        b->oom = true;
                if (b->summary.len > 0) {
                        *differs |= 1u << m->setting;
                        *held |= 1u << m->setting;
                        sbuf_item(&b->refusal);
                        sbuf_printf(&b->refusal, "%s held (changed back by another party)", b->summary.s);
                }
                sbuf_done(&b->summary);
                b->summary = m->summary;
                return;
        }
        if (b->n_actions != m->n_actions || b->summary.len != m->summary_len ||
            b->refusal.len != m->refusal_len)
                *differs |= 1u << m->setting;
}

/* The stream exists: find every difference, setting by setting, in the
 * order the actions are to run. */
static void plan_existing(const struct stream_decl *decl, const struct stream_obs *obs, bool act,
                          unsigned hold, struct builder *b, unsigned *differs, unsigned *held) {
        struct setting_mark m;
        enum stream_mode mode_after;
        bool a;

        a = setting_begin(b, SETTING_MODE, act, hold, &m);
        mode_after = plan_mode(decl, obs, a, b);
        setting_end(b, &m, differs, held);
        a = setting_begin(b, SETTING_SHARDS, act, hold, &m);
        plan_shards(decl, obs, mode_after, a, b);
        setting_end(b, &m, differs, held);
        a = setting_begin(b, SETTING_RETENTION, act, hold, &m);
        plan_retention(decl, obs, a, b);
        setting_end(b, &m, differs, held);
        a = setting_begin(b, SETTING_ENCRYPTION, act, hold, &m);
        plan_encryption(decl, obs, a, b);
        setting_end(b, &m, differs, held);
        a = setting_begin(b, SETTING_METRICS, act, hold, &m);
        plan_metrics(decl, obs, a, b);
        setting_end(b, &m, differs, held);
        a = setting_begin(b, SETTING_MAX_RECORD_SIZE, act, hold, &m);
        plan_max_record_size(decl, obs, a, b);
        setting_end(b, &m, differs, held);
        a = setting_begin(b, SETTING_DISTRIBUTION, act, hold, &m);
        plan_distribution(decl, obs, mode_after, a, b);
        setting_end(b, &m, differs, held);
        a = setting_begin(b, SETTING_WARM_THROUGHPUT, act, hold, &m);
        plan_warm_throughput(decl, obs, mode_after, a, b);
        setting_end(b, &m, differs, held);
        a = setting_begin(b, SETTING_TAGS, act, hold, &m);
        plan_tags(decl, obs, a, b);
        setting_end(b, &m, differs, held);
        a = setting_begin(b, SETTING_RESOURCE_POLICY, act, hold, &m);
        plan_resource_policy(decl, obs, a, b);
        setting_end(b, &m, differs, held);
        a = setting_begin(b, SETTING_CONSUMERS, act, hold, &m);
        plan_consumers(decl, obs, a, b);
        setting_end(b, &m, differs, held);
        a = setting_begin(b, SETTING_CONSUMER_DETAILS, act, hold, &m);
        plan_consumer_settings(decl, obs, a, b);
        setting_end(b, &m, differs, held);
}

/* The stream is missing, or being deleted (gone soon): create it unless the
 * declaration forbids it, in which case --once would fail. */
static enum plan_verdict plan_missing(const struct stream_decl *decl, const struct stream_obs *obs,
                                      struct builder *b, struct sbuf *summary, bool *fails) {
        bool deleting = obs->exists;
        const char *state = deleting ? "being deleted" : "does not exist";

        if (decl->manage == MANAGE_OBSERVE) {
                *fails = true;
                sbuf_printf(summary, "%s, declared manage: observe (no change)", state);
                sbuf_printf(&b->refusal, "%s; manage: observe", state);
                return PLAN_OBSERVE;
        }
        if (decl->mode == STREAM_MODE_PROVISIONED && decl->shards == 0) {
                /* The configuration requires shards here; never guess a count. */
                *fails = true;
                sbuf_printf(&b->refusal, "%s and declares no shard count", state);
                sbuf_printf(summary, "%s (no change)", strempty(b->refusal.s));
                return PLAN_OBSERVE;
        }
        plan_create(decl, obs, b);
        /* Calls on a stream being deleted fail, a CreateStream too until it
         * is gone: the reconciler waits for that, then creates it. */
        sbuf_printf(summary, "%s%s", deleting ? "being deleted, then " : "", strempty(b->summary.s));
        return PLAN_CREATE;
}

int plan_stream(const struct stream_decl *decl, const struct stream_obs *obs, struct plan *ret) {
        return plan_stream_holding(decl, obs, 0, ret);
}

int plan_stream_holding(const struct stream_decl *decl, const struct stream_obs *obs, unsigned hold,
                        struct plan *ret) {
        struct builder b = {};
        enum plan_verdict verdict;
        struct sbuf summary = {};
        unsigned differs = 0, held = 0;
        bool fails = false;

        if (!decl || !obs || !ret)
                return -EINVAL;

        if (!obs->exists || obs->status == STREAM_STATUS_DELETING)
                verdict = plan_missing(decl, obs, &b, &summary, &fails);
        else if (decl->manage == MANAGE_FULL) {
                plan_existing(decl, obs, true, hold, &b, &differs, &held);
                if (b.n_actions > 0) {
                        verdict = PLAN_CHANGE;
                        sbuf_printf(&summary, "%s", strempty(b.summary.s));
                } else if (b.refusal.len > 0) {
                        verdict = PLAN_OBSERVE;
                        sbuf_printf(&summary, "%s (no change)", b.refusal.s);
                } else {
                        verdict = PLAN_IN_SYNC;
                        sbuf_printf(&summary, "in sync");
                }
        } else {
                plan_existing(decl, obs, false, 0, &b, &differs, &held);
                if (b.summary.len > 0) {
                        const char *why = decl->manage == MANAGE_CREATE_ONLY
                                                  ? " (create-only, no change)"
                                                  : ", declared manage: observe (no change)";

                        verdict = PLAN_OBSERVE;
                        sbuf_printf(&summary, "%s%s", b.summary.s, why);
                } else {
                        verdict = PLAN_IN_SYNC;
                        sbuf_printf(&summary, "in sync");
                }
        }

        if (b.oom || b.summary.oom || b.refusal.oom || summary.oom) {
                builder_done(&b);
                sbuf_done(&summary);
                return -ENOMEM;
        }

        *ret = (struct plan) {
                .verdict = verdict,
                .actions = TAKE_PTR(b.actions),
                .n_actions = b.n_actions,
                .summary = TAKE_PTR(summary.s),
                .refusal = b.refusal.len > 0 ? TAKE_PTR(b.refusal.s) : NULL,
                .differs = differs,
                .held = held,
                .fails = fails,
        };
        b.n_actions = 0;
        builder_done(&b);
        return 0;
}

void plan_done(struct plan *p) {
        if (!p)
                return;
        for (size_t i = 0; i < p->n_actions; i++)
                action_done(&p->actions[i]);
        free(p->actions);
        free(p->summary);
        free(p->refusal);
        *p = (struct plan) {};
}

char *plan_format_line(const struct stream_decl *decl, const struct plan *p, size_t name_width) {
        static const char sigils[] = {
                [PLAN_IN_SYNC] = '=',
                [PLAN_CREATE] = '+',
                [PLAN_CHANGE] = '~',
                [PLAN_OBSERVE] = '!',
        };
        char sigil = (unsigned) p->verdict < ELEMENTSOF(sigils) ? sigils[p->verdict] : '?';
        bool refused = p->refusal && (p->verdict == PLAN_CREATE || p->verdict == PLAN_CHANGE);
        int width = name_width > 1024 ? 1024 : (int) name_width;
        char *line;

        if (asprintf(&line, "%c %-*s %s%s%s", sigil, width, strempty(decl->name), strempty(p->summary),
                     refused ? "; refused: " : "", refused ? p->refusal : "") < 0)
                return NULL;
        return line;
}
