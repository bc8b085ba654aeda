/* Table-driven tests of the planner (daemon/plan.c).
 *
 * Each row of plan_cases is one (declared, observed) pair written compactly,
 * with the verdict, the exact actions (rendered one per " | "), the summary,
 * the refusal and the --plan line expected. The declared and observed structs
 * are freed before the plan is examined, so a plan that borrowed instead of
 * copying shows up under the sanitizer build. */

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "policy.h"
#include "testlib.h"
#include "util.h"

/* ------------------------------------------------------------------------ */
/* Compact descriptions of declared and observed streams. */

struct decl_spec {
        enum stream_mode mode;
        unsigned shards;
        unsigned retention;     /* 0: 24 */
        const char *kms;
        unsigned metrics;
        unsigned maxrec;
        const char *tags;       /* NULL: none declared; "k=v,k2=v2"; "@N": t00=v .. */
        const char *consumers;  /* NULL or "a,b" */
        const char *policy;     /* NULL: not declared; "none"; or a JSON document */
        const char *ctags;      /* every consumer's tags: NULL none declared; "k=v,..." */
        const char *cpolicy;    /* every consumer's policy, like policy */
        enum record_distribution dist;
        unsigned warm;
        enum manage_mode manage;
};

/* 2023-11-14 22:13:20 UTC: the planner's "now" in every case. */
#define PLAN_NOW  UINT64_C(1700000000000000)
#define PLAN_HOUR (UINT64_C(3600) * 1000000)

struct obs_spec {
        bool missing;
        enum stream_mode mode;
        unsigned shards;
        unsigned retention;     /* 0: 24 */
        const char *kms;
        unsigned metrics;
        unsigned maxrec;
        const char *tags;       /* NULL: not known (ListTagsForStream not read) */
        const char *consumers;  /* NULL: not known */
        const char *policy;     /* NULL: not known (GetResourcePolicy not read); "": none; JSON */
        const char *ctags;      /* every consumer's tags: NULL not known; "k=v,..." */
        const char *cpolicy;    /* every consumer's policy, like policy */
        const char *cstatus;    /* every consumer's status; NULL: ACTIVE */
        enum record_distribution dist; /* UNSET: not reported */
        unsigned warm;                 /* the target reported; 0: none */
        enum throughput_commitment commit;
        unsigned scalings, mode_changes, enc_starts, enc_stops; /* calls counted in the 24 h window */
        enum stream_status status; /* UNKNOWN (0): ACTIVE */
};

static char *xstrdup(const char *s) {
        char *d = strdup(s);
        if (!d) {
                fprintf(stderr, "out of memory\n");
                exit(EXIT_FAILURE);
        }
        return d;
}

static void *xcalloc(size_t n, size_t size) {
        void *p = calloc(n ? n : 1, size);
        if (!p) {
                fprintf(stderr, "out of memory\n");
                exit(EXIT_FAILURE);
        }
        return p;
}

static size_t count_items(const char *s) {
        size_t n = 1;
        if (!*s)
                return 0;
        for (; *s; s++)
                n += *s == ',';
        return n;
}

static void parse_tags(const char *spec, struct stream_tag **ret, size_t *ret_n) {
        struct stream_tag *tags;
        size_t n;

        if (spec[0] == '@') {
                n = strtoul(spec + 1, NULL, 10);
                tags = xcalloc(n, sizeof(*tags));
                for (size_t i = 0; i < n; i++) {
                        char key[32];
                        snprintf(key, sizeof(key), "t%02zu", i);
                        tags[i].key = xstrdup(key);
                        tags[i].value = xstrdup("v");
                }
        } else {
                char *copy = xstrdup(spec), *save = NULL;
                size_t i = 0;

                n = count_items(spec);
                tags = xcalloc(n, sizeof(*tags));
                for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
                        char *eq = strchr(item, '=');
                        *eq = '\0';
                        tags[i].key = xstrdup(item);
                        tags[i].value = xstrdup(eq + 1);
                        i++;
                }
                free(copy);
        }
        *ret = tags;
        *ret_n = n;
}

static char **parse_list(const char *spec, size_t *ret_n) {
        char *copy = xstrdup(spec), *save = NULL;
        size_t n = count_items(spec), i = 0;
        char **v = xcalloc(n + 1, sizeof(*v));

        for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save))
                v[i++] = xstrdup(item);
        free(copy);
        *ret_n = n;
        return v;
}

/* The normal form of a JSON policy, as the loader and the answer parser keep it. */
static char *normal_policy(const char *text) {
        json_object *doc = policy_parse(text, strlen(text));
        char *n = NULL;

        if (!doc || policy_normalize(doc, &n) < 0) {
                fprintf(stderr, "bad test policy: %s\n", text);
                exit(EXIT_FAILURE);
        }
        json_object_put(doc);
        return n;
}

static void make_decl(const struct decl_spec *s, struct stream_decl *d) {
        *d = (struct stream_decl) {
                .name = xstrdup("orders"),
                .region = xstrdup("us-east-1"),
                .mode = s->mode,
                .shards = s->shards,
                .retention_hours = s->retention ? s->retention : 24,
                .metrics = s->metrics,
                .max_record_size_kib = s->maxrec,
                .distribution = s->dist,
                .warm_throughput_mibps = s->warm,
                .tags_declared = s->tags != NULL,
                .manage = s->manage,
                .line = 1,
                .column = 3,
        };
        if (stream_decl_extra_own(d) < 0) {
                fprintf(stderr, "out of memory\n");
                exit(EXIT_FAILURE);
        }
        d->x->kms_key = s->kms ? xstrdup(s->kms) : NULL;
        if (s->tags)
                parse_tags(s->tags, &d->x->tags, &d->x->n_tags);
        if (s->consumers)
                d->x->consumers = parse_list(s->consumers, &d->x->n_consumers);
        if (s->consumers && (s->ctags || s->cpolicy)) {
                d->x->consumer_opts = xcalloc(d->x->n_consumers, sizeof(*d->x->consumer_opts));
                for (size_t i = 0; i < d->x->n_consumers; i++) {
                        struct consumer_decl *c = &d->x->consumer_opts[i];

                        if (s->ctags) {
                                c->tags_declared = true;
                                parse_tags(s->ctags, &c->tags, &c->n_tags);
                        }
                        if (s->cpolicy) {
                                c->policy_declared = true;
                                if (!streq(s->cpolicy, "none")) {
                                        c->policy = xstrdup(s->cpolicy);
                                        c->policy_norm = normal_policy(s->cpolicy);
                                }
                        }
                }
        }
        if (s->policy) {
                d->resource_policy_declared = true;
                if (!streq(s->policy, "none")) {
                        d->x->resource_policy = xstrdup(s->policy);
                        d->x->resource_policy_norm = normal_policy(s->policy);
                }
        }
}

static void free_tags(struct stream_tag *tags, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(tags[i].key);
                free(tags[i].value);
        }
        free(tags);
}

static void free_decl(struct stream_decl *d) {
        stream_decl_done(d);
}

static void make_obs(const struct obs_spec *s, struct stream_obs *o) {
        *o = (struct stream_obs) {
                .exists = !s->missing,
                .now_usec = PLAN_NOW,
        };
        const unsigned used[_BUDGET_KIND_MAX] = {
                [BUDGET_UPDATE_SHARD_COUNT] = s->scalings,
                [BUDGET_UPDATE_STREAM_MODE] = s->mode_changes,
                [BUDGET_START_ENCRYPTION] = s->enc_starts,
                [BUDGET_STOP_ENCRYPTION] = s->enc_stops,
        };
        /* The oldest counted call was made 10 h before "now": it leaves the
         * window at 12:13 UTC the next day. */
        for (unsigned k = 0; k < _BUDGET_KIND_MAX; k++)
                o->budget[k] = (struct stream_budget){
                        used[k], used[k] ? (uint32_t) ((PLAN_NOW - PLAN_HOUR * 10) / USEC_PER_SEC) : 0
                };
        o->commitment = s->commit; /* the account's: known for a missing stream too */
        if (s->missing)
                return;
        o->arn = xstrdup("arn:aws:kinesis:us-east-1:111122223333:stream/orders");
        o->status = s->status ? s->status : STREAM_STATUS_ACTIVE;
        o->mode = s->mode;
        o->open_shards = s->shards;
        o->retention_hours = s->retention ? s->retention : 24;
        o->kms_key = s->kms ? xstrdup(s->kms) : NULL;
        o->metrics = s->metrics;
        o->max_record_size_kib = s->maxrec;
        o->distribution = s->dist;
        o->warm_target_mibps = s->warm;
        if (s->policy) {
                o->policy_known = true;
                o->resource_policy = *s->policy ? normal_policy(s->policy) : NULL;
        }
        if (s->tags) {
                o->tags_known = true;
                parse_tags(s->tags, &o->tags, &o->n_tags);
        }
        if (s->consumers) {
                _cleanup_strv_free_ char **names = NULL;
                size_t n;

                names = parse_list(s->consumers, &n);
                o->consumers_known = true;
                o->consumers = xcalloc(n, sizeof(*o->consumers));
                o->n_consumers = n;
                o->consumer_count = (unsigned) n;
                for (size_t i = 0; i < n; i++) {
                        o->consumers[i].name = xstrdup(names[i]);
                        o->consumers[i].arn =
                                xstrdup("arn:aws:kinesis:us-east-1:111122223333:stream/orders/consumer/x:1");
                        o->consumers[i].status = xstrdup(s->cstatus ? s->cstatus : "ACTIVE");
                        if (s->ctags) {
                                o->consumers[i].tags_known = true;
                                parse_tags(s->ctags, &o->consumers[i].tags, &o->consumers[i].n_tags);
                        }
                        if (s->cpolicy) {
                                o->consumers[i].policy_known = true;
                                o->consumers[i].policy = *s->cpolicy ? normal_policy(s->cpolicy) : NULL;
                        }
                }
        }
}

static void free_obs(struct stream_obs *o) {
        free(o->arn);
        free(o->kms_key);
        free_tags(o->tags, o->n_tags);
        for (size_t i = 0; i < o->n_consumers; i++)
                stream_consumer_obs_done(&o->consumers[i]);
        free(o->consumers);
        free(o->resource_policy);
        *o = (struct stream_obs) {};
}

/* ------------------------------------------------------------------------ */
/* Actions rendered as text, so a row can state the whole list exactly. */

static void append(char *buf, size_t size, const char *fmt, ...) _printf_(3, 4);
static void append(char *buf, size_t size, const char *fmt, ...) {
        size_t len = strlen(buf);
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf + len, size - len, fmt, ap);
        va_end(ap);
}

static const char *mode_name(enum stream_mode m) {
        return m == STREAM_MODE_ON_DEMAND ? "ON_DEMAND" : m == STREAM_MODE_PROVISIONED ? "PROVISIONED" : "?";
}

static void render_tags(char *buf, size_t size, const struct action *a, bool values) {
        append(buf, size, " [");
        for (size_t i = 0; i < a->n_tags; i++) {
                append(buf, size, "%s%s", i ? "," : "", a->tags[i].key ? a->tags[i].key : "(null)");
                if (values)
                        append(buf, size, "=%s", a->tags[i].value ? a->tags[i].value : "(null)");
                else if (a->tags[i].value)
                        append(buf, size, "=UNEXPECTED-VALUE");
        }
        append(buf, size, "]");
}

static void render_action(char *buf, size_t size, const struct action *a) {
        const char *op = action_type_to_string(a->type);

        append(buf, size, "%s", op ? op : "(bad type)");
        switch (a->type) {
        case ACTION_CREATE_STREAM:
                append(buf, size, " %u %s", a->value, mode_name(a->mode));
                if (a->max_record_size_kib)
                        append(buf, size, " rec=%u", a->max_record_size_kib);
                if (a->warm_mibps)
                        append(buf, size, " warm=%u", a->warm_mibps);
                if (a->n_tags)
                        render_tags(buf, size, a, true);
                break;
        case ACTION_UPDATE_STREAM_MODE:
                append(buf, size, " %s", mode_name(a->mode));
                break;
        case ACTION_UPDATE_SHARD_COUNT:
        case ACTION_INCREASE_RETENTION:
        case ACTION_DECREASE_RETENTION:
        case ACTION_UPDATE_MAX_RECORD_SIZE:
        case ACTION_UPDATE_DISTRIBUTION:
        case ACTION_UPDATE_WARM_THROUGHPUT:
                append(buf, size, " %u", a->value);
                break;
        case ACTION_START_ENCRYPTION:
        case ACTION_STOP_ENCRYPTION:
                append(buf, size, " %s", a->kms_key ? a->kms_key : "(null)");
                break;
        case ACTION_ENABLE_MONITORING:
        case ACTION_DISABLE_MONITORING:
                append(buf, size, " 0x%02x", a->metrics);
                break;
        case ACTION_ADD_TAGS:
                render_tags(buf, size, a, true);
                break;
        case ACTION_REMOVE_TAGS:
                render_tags(buf, size, a, false);
                break;
        case ACTION_REGISTER_CONSUMER:
                append(buf, size, " %s", a->consumer ? a->consumer : "(null)");
                if (a->n_tags)
                        render_tags(buf, size, a, true);
                break;
        case ACTION_TAG_RESOURCE:
        case ACTION_UNTAG_RESOURCE:
                append(buf, size, " %s", a->consumer ? a->consumer : "(null)");
                render_tags(buf, size, a, a->type == ACTION_TAG_RESOURCE);
                break;
        case ACTION_PUT_RESOURCE_POLICY:
        case ACTION_DELETE_RESOURCE_POLICY:
                if (a->consumer)
                        append(buf, size, " %s", a->consumer);
                if (a->policy)
                        append(buf, size, " %s", a->policy);
                break;
        default:
                break;
        }
        /* Fields that do not belong to the action's type must stay empty. */
        if (a->n_tags && a->type != ACTION_CREATE_STREAM && a->type != ACTION_ADD_TAGS &&
            a->type != ACTION_REMOVE_TAGS && a->type != ACTION_REGISTER_CONSUMER &&
            a->type != ACTION_TAG_RESOURCE && a->type != ACTION_UNTAG_RESOURCE)
                append(buf, size, " STRAY-TAGS");
        if (a->consumer && a->type != ACTION_REGISTER_CONSUMER && a->type != ACTION_TAG_RESOURCE &&
            a->type != ACTION_UNTAG_RESOURCE && a->type != ACTION_PUT_RESOURCE_POLICY &&
            a->type != ACTION_DELETE_RESOURCE_POLICY)
                append(buf, size, " STRAY-CONSUMER");
        if (a->consumer && a->type != ACTION_REGISTER_CONSUMER && !a->resource_arn)
                append(buf, size, " NO-RESOURCE-ARN");
        if (a->policy && a->type != ACTION_PUT_RESOURCE_POLICY)
                append(buf, size, " STRAY-POLICY");
        if (a->kms_key && a->type != ACTION_START_ENCRYPTION && a->type != ACTION_STOP_ENCRYPTION)
                append(buf, size, " STRAY-KEY");
}

static void render_actions(char *buf, size_t size, const struct plan *p) {
        buf[0] = '\0';
        for (size_t i = 0; i < p->n_actions; i++) {
                if (i)
                        append(buf, size, " | ");
                render_action(buf, size, &p->actions[i]);
        }
}

/* ------------------------------------------------------------------------ */
/* The table. Lines are formatted with the name "orders" in a field of 8. */

#define P(n) .mode = STREAM_MODE_PROVISIONED, .shards = (n)
#define OD .mode = STREAM_MODE_ON_DEMAND
#define MISSING .missing = true
#define CREATE_ONLY .manage = MANAGE_CREATE_ONLY
#define OBSERVE .manage = MANAGE_OBSERVE
#define TV10(p) p "0=v," p "1=v," p "2=v," p "3=v," p "4=v," p "5=v," p "6=v," p "7=v," p "8=v," p "9=v"
#define TK10(p) p "0," p "1," p "2," p "3," p "4," p "5," p "6," p "7," p "8," p "9"
#define POL_A "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"kinesis:GetRecords\"]}]}"
#define POL_A_REORDERED "{ \"Statement\": {\"Action\": \"kinesis:GetRecords\",\n \"Effect\": \"Allow\"}, \"Version\": \"2012-10-17\" }"
#define POL_B "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Action\":\"kinesis:GetRecords\"}]}"
#define KEY_ARN "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

struct plan_case {
        const char *name;
        struct decl_spec d;
        struct obs_spec o;
        enum plan_verdict verdict;
        const char *actions;
        const char *summary;
        const char *refusal;
        const char *line;
};

static const struct plan_case plan_cases[] = {
        /* --- missing streams: CreateStream, then what it cannot carry --- */
        { "create provisioned with tags",
          { P(2), .tags = "env=prod,team=data" }, { MISSING },
          PLAN_CREATE, "CreateStream 2 PROVISIONED [env=prod,team=data]",
          "create: 2 shards, provisioned, retention 24h, tags 2", NULL,
          "+ orders   create: 2 shards, provisioned, retention 24h, tags 2" },
        { "create one shard",
          { P(1) }, { MISSING },
          PLAN_CREATE, "CreateStream 1 PROVISIONED",
          "create: 1 shard, provisioned, retention 24h", NULL,
          "+ orders   create: 1 shard, provisioned, retention 24h" },
        { "create on-demand, no shards",
          { OD }, { MISSING },
          PLAN_CREATE, "CreateStream 0 ON_DEMAND",
          "create: on-demand, retention 24h", NULL,
          "+ orders   create: on-demand, retention 24h" },
        { "create on-demand ignores a stray shard count",
          { OD, .shards = 5 }, { MISSING },
          PLAN_CREATE, "CreateStream 0 ON_DEMAND",
          "create: on-demand, retention 24h", NULL,
          "+ orders   create: on-demand, retention 24h" },
        { "create with retention 48h",
          { P(2), .retention = 48 }, { MISSING },
          PLAN_CREATE, "CreateStream 2 PROVISIONED | IncreaseStreamRetentionPeriod 48",
          "create: 2 shards, provisioned, retention 48h", NULL,
          "+ orders   create: 2 shards, provisioned, retention 48h" },
        { "create encrypted",
          { P(2), .kms = "alias/aws/kinesis" }, { MISSING },
          PLAN_CREATE, "CreateStream 2 PROVISIONED | StartStreamEncryption alias/aws/kinesis",
          "create: 2 shards, provisioned, retention 24h, encryption alias/aws/kinesis", NULL,
          "+ orders   create: 2 shards, provisioned, retention 24h, encryption alias/aws/kinesis" },
        { "create with all metrics",
          { P(2), .metrics = METRIC_ALL }, { MISSING },
          PLAN_CREATE, "CreateStream 2 PROVISIONED | EnableEnhancedMonitoring 0x7f",
          "create: 2 shards, provisioned, retention 24h, metrics ALL", NULL,
          "+ orders   create: 2 shards, provisioned, retention 24h, metrics ALL" },
        { "create with two metrics",
          { P(2), .metrics = METRIC_INCOMING_BYTES | METRIC_ITERATOR_AGE_MILLISECONDS }, { MISSING },
          PLAN_CREATE, "CreateStream 2 PROVISIONED | EnableEnhancedMonitoring 0x41",
          "create: 2 shards, provisioned, retention 24h, metrics "
          "IncomingBytes,IteratorAgeMilliseconds", NULL,
          "+ orders   create: 2 shards, provisioned, retention 24h, metrics "
          "IncomingBytes,IteratorAgeMilliseconds" },
        { "create with max record size",
          { P(2), .maxrec = 2048 }, { MISSING },
          PLAN_CREATE, "CreateStream 2 PROVISIONED rec=2048",
          "create: 2 shards, provisioned, retention 24h, max record size 2048 KiB", NULL,
          "+ orders   create: 2 shards, provisioned, retention 24h, max record size 2048 KiB" },
        { "create with consumers",
          { P(2), .consumers = "analytics,archive" }, { MISSING },
          PLAN_CREATE,
          "CreateStream 2 PROVISIONED | RegisterStreamConsumer analytics | RegisterStreamConsumer archive",
          "create: 2 shards, provisioned, retention 24h, consumers 2", NULL,
          "+ orders   create: 2 shards, provisioned, retention 24h, consumers 2" },
        { "create on-demand with everything",
          { OD, .retention = 168, .kms = "k1", .metrics = 0x03, .maxrec = 4096, .tags = "a=1",
            .consumers = "c1" },
          { MISSING },
          PLAN_CREATE,
          "CreateStream 0 ON_DEMAND rec=4096 [a=1] | IncreaseStreamRetentionPeriod 168 | "
          "StartStreamEncryption k1 | EnableEnhancedMonitoring 0x03 | RegisterStreamConsumer c1",
          "create: on-demand, retention 168h, encryption k1, metrics IncomingBytes,IncomingRecords, "
          "max record size 4096 KiB, tags 1, consumers 1",
          NULL,
          "+ orders   create: on-demand, retention 168h, encryption k1, "
          "metrics IncomingBytes,IncomingRecords, max record size 4096 KiB, tags 1, consumers 1" },
        { "create with an empty declared tag set",
          { P(3), .tags = "" }, { MISSING },
          PLAN_CREATE, "CreateStream 3 PROVISIONED",
          "create: 3 shards, provisioned, retention 24h", NULL,
          "+ orders   create: 3 shards, provisioned, retention 24h" },
        { "create-only creates a missing stream",
          { P(2), CREATE_ONLY }, { MISSING },
          PLAN_CREATE, "CreateStream 2 PROVISIONED",
          "create: 2 shards, provisioned, retention 24h", NULL,
          "+ orders   create: 2 shards, provisioned, retention 24h" },
        { "observe never creates",
          { P(2), OBSERVE }, { MISSING },
          PLAN_OBSERVE, "",
          "does not exist, declared manage: observe (no change)", "does not exist; manage: observe",
          "! orders   does not exist, declared manage: observe (no change)" },
        { "create carries 23 tags in one call",
          { P(2), .tags = "@23" }, { MISSING },
          PLAN_CREATE, "CreateStream 2 PROVISIONED [" TV10("t0") "," TV10("t1") ",t20=v,t21=v,t22=v]",
          "create: 2 shards, provisioned, retention 24h, tags 23", NULL,
          "+ orders   create: 2 shards, provisioned, retention 24h, tags 23" },
        { "missing provisioned stream without a shard count",
          { P(0) }, { MISSING },
          PLAN_OBSERVE, "",
          "does not exist and declares no shard count (no change)",
          "does not exist and declares no shard count",
          "! orders   does not exist and declares no shard count (no change)" },
        { "create ignores the scaling budget",
          { P(10000) }, { MISSING, .scalings = 10, .mode_changes = 2 },
          PLAN_CREATE, "CreateStream 10000 PROVISIONED",
          "create: 10000 shards, provisioned, retention 24h", NULL,
          "+ orders   create: 10000 shards, provisioned, retention 24h" },

        { "stream being deleted: created again once it is gone",
          { P(4), .retention = 48 }, { P(2), .status = STREAM_STATUS_DELETING },
          PLAN_CREATE, "CreateStream 4 PROVISIONED | IncreaseStreamRetentionPeriod 48",
          "being deleted, then create: 4 shards, provisioned, retention 48h", NULL,
          "+ orders   being deleted, then create: 4 shards, provisioned, retention 48h" },
        { "stream being deleted under manage: observe",
          { P(4), OBSERVE }, { P(4), .status = STREAM_STATUS_DELETING },
          PLAN_OBSERVE, "", "being deleted, declared manage: observe (no change)",
          "being deleted; manage: observe",
          "! orders   being deleted, declared manage: observe (no change)" },
        { "stream updating: planned as usual (the caller waits for ACTIVE)",
          { P(4) }, { P(2), .status = STREAM_STATUS_UPDATING },
          PLAN_CHANGE, "UpdateShardCount 4", "shards 2 -> 4", NULL, "~ orders   shards 2 -> 4" },

        /* --- in sync --- */
        { "in sync with every key declared",
          { P(4), .retention = 48, .kms = "k", .metrics = 0x03, .maxrec = 2048, .tags = "a=1,b=2",
            .consumers = "c1" },
          { P(4), .retention = 48, .kms = "k", .metrics = 0x03, .maxrec = 2048, .tags = "a=1,b=2",
            .consumers = "c1" },
          PLAN_IN_SYNC, "", "in sync", NULL, "= orders   in sync" },
        { "on-demand in sync, its shards not compared",
          { OD }, { OD, .shards = 4 },
          PLAN_IN_SYNC, "", "in sync", NULL, "= orders   in sync" },
        { "on-demand never scales shards, even with a stray count",
          { OD, .shards = 5 }, { OD, .shards = 3 },
          PLAN_IN_SYNC, "", "in sync", NULL, "= orders   in sync" },
        { "shards not declared",
          { P(0) }, { P(7) },
          PLAN_IN_SYNC, "", "in sync", NULL, "= orders   in sync" },
        { "tags not declared: stream keeps its tags",
          { P(2) }, { P(2), .tags = "x=1,y=2" },
          PLAN_IN_SYNC, "", "in sync", NULL, "= orders   in sync" },
        { "tags declared but not known",
          { P(2), .tags = "a=1" }, { P(2) },
          PLAN_IN_SYNC, "", "in sync", NULL, "= orders   in sync" },
        { "consumers declared but not known",
          { P(2), .consumers = "c1" }, { P(2) },
          PLAN_IN_SYNC, "", "in sync", NULL, "= orders   in sync" },
        { "undeclared consumer is never deregistered",
          { P(2), .consumers = "c1" }, { P(2), .consumers = "c0,c1" },
          PLAN_IN_SYNC, "", "in sync", NULL, "= orders   in sync" },
        { "aws: tags are not removed",
          { P(2), .tags = "a=1" }, { P(2), .tags = "a=1,aws:cloudformation:stack-name=s" },
          PLAN_IN_SYNC, "", "in sync", NULL, "= orders   in sync" },
        { "max record size not declared",
          { P(2) }, { P(2), .maxrec = 2048 },
          PLAN_IN_SYNC, "", "in sync", NULL, "= orders   in sync" },
        { "max record size unreported counts as 1024",
          { P(2), .maxrec = 1024 }, { P(2) },
          PLAN_IN_SYNC, "", "in sync", NULL, "= orders   in sync" },
        { "equal shards with budgets spent",
          { P(8) }, { P(8), .scalings = 10, .mode_changes = 2 },
          PLAN_IN_SYNC, "", "in sync", NULL, "= orders   in sync" },
        { "create-only in sync",
          { P(2), CREATE_ONLY }, { P(2) },
          PLAN_IN_SYNC, "", "in sync", NULL, "= orders   in sync" },
        { "observe in sync",
          { P(0), OBSERVE }, { P(5) },
          PLAN_IN_SYNC, "", "in sync", NULL, "= orders   in sync" },

        /* --- shards, stepped within half to double --- */
        { "shards 4 -> 16",
          { P(16) }, { P(4) },
          PLAN_CHANGE, "UpdateShardCount 8 | UpdateShardCount 16",
          "shards 4 -> 16 (steps 8, 16)", NULL, "~ orders   shards 4 -> 16 (steps 8, 16)" },
        { "shards 2 -> 16",
          { P(16) }, { P(2) },
          PLAN_CHANGE, "UpdateShardCount 4 | UpdateShardCount 8 | UpdateShardCount 16",
          "shards 2 -> 16 (steps 4, 8, 16)", NULL, "~ orders   shards 2 -> 16 (steps 4, 8, 16)" },
        { "shards 16 -> 3",
          { P(3) }, { P(16) },
          PLAN_CHANGE, "UpdateShardCount 8 | UpdateShardCount 4 | UpdateShardCount 3",
          "shards 16 -> 3 (steps 8, 4, 3)", NULL, "~ orders   shards 16 -> 3 (steps 8, 4, 3)" },
        { "shards 3 -> 5 in one call",
          { P(5) }, { P(3) },
          PLAN_CHANGE, "UpdateShardCount 5", "shards 3 -> 5", NULL, "~ orders   shards 3 -> 5" },
        { "shards 5 -> 3 in one call",
          { P(3) }, { P(5) },
          PLAN_CHANGE, "UpdateShardCount 3", "shards 5 -> 3", NULL, "~ orders   shards 5 -> 3" },
        { "shards 3 -> 1 needs two calls",
          { P(1) }, { P(3) },
          PLAN_CHANGE, "UpdateShardCount 2 | UpdateShardCount 1",
          "shards 3 -> 1 (steps 2, 1)", NULL, "~ orders   shards 3 -> 1 (steps 2, 1)" },
        { "shards 7 -> 25",
          { P(25) }, { P(7) },
          PLAN_CHANGE, "UpdateShardCount 14 | UpdateShardCount 25",
          "shards 7 -> 25 (steps 14, 25)", NULL, "~ orders   shards 7 -> 25 (steps 14, 25)" },
        { "shards 25 -> 7",
          { P(7) }, { P(25) },
          PLAN_CHANGE, "UpdateShardCount 13 | UpdateShardCount 7",
          "shards 25 -> 7 (steps 13, 7)", NULL, "~ orders   shards 25 -> 7 (steps 13, 7)" },
        { "shards 1 -> 10000 exceeds the budget",
          { P(10000) }, { P(1) },
          PLAN_CHANGE, "UpdateShardCount 2 | UpdateShardCount 4 | UpdateShardCount 8 | UpdateShardCount 16 | "
          "UpdateShardCount 32 | UpdateShardCount 64 | UpdateShardCount 128 | UpdateShardCount 256 | "
          "UpdateShardCount 512 | UpdateShardCount 1024",
          "shards 1 -> 10000 (steps 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024 now; 2048, 4096, 8192, "
          "10000 from 2023-11-15 22:13 UTC)",
          "shards 1024 -> 10000 needs 4 scaling calls, 0 left in the rolling 24 h window; "
          "UpdateShardCount budget 10/24 h spent, the next call from 2023-11-15 22:13 UTC",
          "~ orders   shards 1 -> 10000 (steps 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024 now; 2048, "
          "4096, 8192, 10000 from 2023-11-15 22:13 UTC); refused: shards 1024 -> 10000 needs 4 "
          "scaling calls, 0 left in the rolling 24 h window; UpdateShardCount budget 10/24 h spent, "
          "the next call from 2023-11-15 22:13 UTC" },
        { "shards 10000 -> 1 exceeds the budget",
          { P(1) }, { P(10000) },
          PLAN_CHANGE, "UpdateShardCount 5000 | UpdateShardCount 2500 | UpdateShardCount 1250 | UpdateShardCount "
          "625 | UpdateShardCount 313 | UpdateShardCount 157 | UpdateShardCount 79 | "
          "UpdateShardCount 40 | UpdateShardCount 20 | UpdateShardCount 10",
          "shards 10000 -> 1 (steps 5000, 2500, 1250, 625, 313, 157, 79, 40, 20, 10 now; 5, 3, 2, 1 "
          "from 2023-11-15 22:13 UTC)",
          "shards 10 -> 1 needs 4 scaling calls, 0 left in the rolling 24 h window; UpdateShardCount "
          "budget 10/24 h spent, the next call from 2023-11-15 22:13 UTC",
          "~ orders   shards 10000 -> 1 (steps 5000, 2500, 1250, 625, 313, 157, 79, 40, 20, 10 now; "
          "5, 3, 2, 1 from 2023-11-15 22:13 UTC); refused: shards 10 -> 1 needs 4 scaling calls, 0 "
          "left in the rolling 24 h window; UpdateShardCount budget 10/24 h spent, the next call "
          "from 2023-11-15 22:13 UTC" },
        { "shards 1 -> 1024 uses the whole budget",
          { P(1024) }, { P(1) },
          PLAN_CHANGE,
          "UpdateShardCount 2 | UpdateShardCount 4 | UpdateShardCount 8 | UpdateShardCount 16 | "
          "UpdateShardCount 32 | UpdateShardCount 64 | UpdateShardCount 128 | UpdateShardCount 256 | "
          "UpdateShardCount 512 | UpdateShardCount 1024",
          "shards 1 -> 1024 (steps 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)", NULL,
          "~ orders   shards 1 -> 1024 (steps 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)" },
        { "shards 1 -> 1024 one call short",
          { P(1024) }, { P(1), .scalings = 1 },
          PLAN_CHANGE, "UpdateShardCount 2 | UpdateShardCount 4 | UpdateShardCount 8 | UpdateShardCount 16 | "
          "UpdateShardCount 32 | UpdateShardCount 64 | UpdateShardCount 128 | UpdateShardCount 256 | "
          "UpdateShardCount 512",
          "shards 1 -> 1024 (steps 2, 4, 8, 16, 32, 64, 128, 256, 512 now; 1024 from 2023-11-15 "
          "12:13 UTC)",
          "shards 512 -> 1024 needs 1 scaling call, 0 left in the rolling 24 h window; "
          "UpdateShardCount budget 10/24 h spent, the next call from 2023-11-15 12:13 UTC",
          "~ orders   shards 1 -> 1024 (steps 2, 4, 8, 16, 32, 64, 128, 256, 512 now; 1024 from "
          "2023-11-15 12:13 UTC); refused: shards 512 -> 1024 needs 1 scaling call, 0 left in the "
          "rolling 24 h window; UpdateShardCount budget 10/24 h spent, the next call from 2023-11-15 "
          "12:13 UTC" },
        { "scaling budget spent",
          { P(16) }, { P(4), .scalings = 10 },
          PLAN_OBSERVE, "",
          "shards 4 -> 16 needs 2 scaling calls, 0 left in the rolling 24 h window; UpdateShardCount "
          "budget 10/24 h spent, the next call from 2023-11-15 12:13 UTC (no change)",
          "shards 4 -> 16 needs 2 scaling calls, 0 left in the rolling 24 h window; UpdateShardCount "
          "budget 10/24 h spent, the next call from 2023-11-15 12:13 UTC",
          "! orders   shards 4 -> 16 needs 2 scaling calls, 0 left in the rolling 24 h window; "
          "UpdateShardCount budget 10/24 h spent, the next call from 2023-11-15 12:13 UTC (no change)" },
        { "scaling budget overspent does not wrap",
          { P(5) }, { P(3), .scalings = 13 },
          PLAN_OBSERVE, "",
          "shards 3 -> 5 needs 1 scaling call, 0 left in the rolling 24 h window; UpdateShardCount "
          "budget 10/24 h spent, the next call from 2023-11-15 12:13 UTC (no change)",
          "shards 3 -> 5 needs 1 scaling call, 0 left in the rolling 24 h window; UpdateShardCount "
          "budget 10/24 h spent, the next call from 2023-11-15 12:13 UTC",
          "! orders   shards 3 -> 5 needs 1 scaling call, 0 left in the rolling 24 h window; "
          "UpdateShardCount budget 10/24 h spent, the next call from 2023-11-15 12:13 UTC (no change)" },
        { "refused shards, other corrections still planned",
          { P(10000), .retention = 48 }, { P(1) },
          PLAN_CHANGE, "UpdateShardCount 2 | UpdateShardCount 4 | UpdateShardCount 8 | UpdateShardCount 16 | "
          "UpdateShardCount 32 | UpdateShardCount 64 | UpdateShardCount 128 | UpdateShardCount 256 | "
          "UpdateShardCount 512 | UpdateShardCount 1024 | IncreaseStreamRetentionPeriod 48",
          "shards 1 -> 10000 (steps 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024 now; 2048, 4096, 8192, "
          "10000 from 2023-11-15 22:13 UTC); retention 24h -> 48h",
          "shards 1024 -> 10000 needs 4 scaling calls, 0 left in the rolling 24 h window; "
          "UpdateShardCount budget 10/24 h spent, the next call from 2023-11-15 22:13 UTC",
          "~ orders   shards 1 -> 10000 (steps 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024 now; 2048, "
          "4096, 8192, 10000 from 2023-11-15 22:13 UTC); retention 24h -> 48h; refused: shards 1024 "
          "-> 10000 needs 4 scaling calls, 0 left in the rolling 24 h window; UpdateShardCount "
          "budget 10/24 h spent, the next call from 2023-11-15 22:13 UTC" },
        { "remaining budget exactly enough",
          { P(16) }, { P(2), .scalings = 7 },
          PLAN_CHANGE, "UpdateShardCount 4 | UpdateShardCount 8 | UpdateShardCount 16",
          "shards 2 -> 16 (steps 4, 8, 16)", NULL, "~ orders   shards 2 -> 16 (steps 4, 8, 16)" },
        { "part of the steps now, the rest once the window frees a call",
          { P(10) }, { P(1), .scalings = 7 },
          PLAN_CHANGE, "UpdateShardCount 2 | UpdateShardCount 4 | UpdateShardCount 8",
          "shards 1 -> 10 (steps 2, 4, 8 now; 10 from 2023-11-15 12:13 UTC)",
          "shards 8 -> 10 needs 1 scaling call, 0 left in the rolling 24 h window; UpdateShardCount "
          "budget 10/24 h spent, the next call from 2023-11-15 12:13 UTC",
          "~ orders   shards 1 -> 10 (steps 2, 4, 8 now; 10 from 2023-11-15 12:13 UTC); refused: shards "
          "8 -> 10 needs 1 scaling call, 0 left in the rolling 24 h window; UpdateShardCount budget "
          "10/24 h spent, the next call from 2023-11-15 12:13 UTC" },
        { "one step now",
          { P(16) }, { P(2), .scalings = 9 },
          PLAN_CHANGE, "UpdateShardCount 4",
          "shards 2 -> 16 (step 4 now; 8, 16 from 2023-11-15 12:13 UTC)",
          "shards 4 -> 16 needs 2 scaling calls, 0 left in the rolling 24 h window; UpdateShardCount "
          "budget 10/24 h spent, the next call from 2023-11-15 12:13 UTC",
          "~ orders   shards 2 -> 16 (step 4 now; 8, 16 from 2023-11-15 12:13 UTC); refused: shards 4 "
          "-> 16 needs 2 scaling calls, 0 left in the rolling 24 h window; UpdateShardCount budget "
          "10/24 h spent, the next call from 2023-11-15 12:13 UTC" },
        { "no call counted before: the steps taken now free up in 24 h",
          { P(3) }, { P(1), .scalings = 0 },
          PLAN_CHANGE, "UpdateShardCount 2 | UpdateShardCount 3",
          "shards 1 -> 3 (steps 2, 3)", NULL, "~ orders   shards 1 -> 3 (steps 2, 3)" },
        { "shards 10000 -> 5000",
          { P(5000) }, { P(10000) },
          PLAN_CHANGE, "UpdateShardCount 5000", "shards 10000 -> 5000", NULL,
          "~ orders   shards 10000 -> 5000" },
        { "open shards not reported",
          { P(4) }, { P(0) },
          PLAN_OBSERVE, "",
          "shards -> 4: open shard count not reported (no change)",
          "shards -> 4: open shard count not reported",
          "! orders   shards -> 4: open shard count not reported (no change)" },

        /* --- capacity mode --- */
        { "on-demand -> provisioned keeping the shards",
          { P(4) }, { OD, .shards = 4 },
          PLAN_CHANGE, "UpdateStreamMode PROVISIONED",
          "mode ON_DEMAND -> PROVISIONED", NULL, "~ orders   mode ON_DEMAND -> PROVISIONED" },
        { "on-demand -> provisioned, then steps from the open shards",
          { P(16) }, { OD, .shards = 4 },
          PLAN_CHANGE, "UpdateStreamMode PROVISIONED | UpdateShardCount 8 | UpdateShardCount 16",
          "mode ON_DEMAND -> PROVISIONED; shards 4 -> 16 (steps 8, 16)", NULL,
          "~ orders   mode ON_DEMAND -> PROVISIONED; shards 4 -> 16 (steps 8, 16)" },
        { "provisioned -> on-demand",
          { OD }, { P(4) },
          PLAN_CHANGE, "UpdateStreamMode ON_DEMAND",
          "mode PROVISIONED -> ON_DEMAND", NULL, "~ orders   mode PROVISIONED -> ON_DEMAND" },
        { "mode-change budget spent",
          { OD }, { P(4), .mode_changes = 2 },
          PLAN_OBSERVE, "",
          "mode PROVISIONED -> ON_DEMAND needs 1 mode change, 0 left in the rolling 24 h window; "
          "UpdateStreamMode budget 2/24 h spent, the next call from 2023-11-15 12:13 UTC (no change)",
          "mode PROVISIONED -> ON_DEMAND needs 1 mode change, 0 left in the rolling 24 h window; "
          "UpdateStreamMode budget 2/24 h spent, the next call from 2023-11-15 12:13 UTC",
          "! orders   mode PROVISIONED -> ON_DEMAND needs 1 mode change, 0 left in the rolling 24 h "
          "window; UpdateStreamMode budget 2/24 h spent, the next call from 2023-11-15 12:13 UTC (no "
          "change)" },
        { "mode refused: shards wait, retention goes ahead",
          { P(16), .retention = 48 }, { OD, .shards = 4, .mode_changes = 2 },
          PLAN_CHANGE, "IncreaseStreamRetentionPeriod 48",
          "retention 24h -> 48h",
          "mode ON_DEMAND -> PROVISIONED needs 1 mode change, 0 left in the rolling 24 h window; "
          "UpdateStreamMode budget 2/24 h spent, the next call from 2023-11-15 12:13 UTC",
          "~ orders   retention 24h -> 48h; refused: mode ON_DEMAND -> PROVISIONED needs 1 mode "
          "change, 0 left in the rolling 24 h window; UpdateStreamMode budget 2/24 h spent, the next "
          "call from 2023-11-15 12:13 UTC" },
        { "mode to on-demand refused: no shard steps for a stray count",
          { OD, .shards = 5 }, { P(3), .mode_changes = 2 },
          PLAN_OBSERVE, "",
          "mode PROVISIONED -> ON_DEMAND needs 1 mode change, 0 left in the rolling 24 h window; "
          "UpdateStreamMode budget 2/24 h spent, the next call from 2023-11-15 12:13 UTC (no change)",
          "mode PROVISIONED -> ON_DEMAND needs 1 mode change, 0 left in the rolling 24 h window; "
          "UpdateStreamMode budget 2/24 h spent, the next call from 2023-11-15 12:13 UTC",
          "! orders   mode PROVISIONED -> ON_DEMAND needs 1 mode change, 0 left in the rolling 24 h "
          "window; UpdateStreamMode budget 2/24 h spent, the next call from 2023-11-15 12:13 UTC (no "
          "change)" },
        { "one mode change left",
          { OD }, { P(4), .mode_changes = 1 },
          PLAN_CHANGE, "UpdateStreamMode ON_DEMAND",
          "mode PROVISIONED -> ON_DEMAND", NULL, "~ orders   mode PROVISIONED -> ON_DEMAND" },
        { "mode switch planned, shard steps refused",
          { P(10000) }, { OD, .shards = 1 },
          PLAN_CHANGE, "UpdateStreamMode PROVISIONED | UpdateShardCount 2 | UpdateShardCount 4 | UpdateShardCount "
          "8 | UpdateShardCount 16 | UpdateShardCount 32 | UpdateShardCount 64 | UpdateShardCount "
          "128 | UpdateShardCount 256 | UpdateShardCount 512 | UpdateShardCount 1024",
          "mode ON_DEMAND -> PROVISIONED; shards 1 -> 10000 (steps 2, 4, 8, 16, 32, 64, 128, 256, "
          "512, 1024 now; 2048, 4096, 8192, 10000 from 2023-11-15 22:13 UTC)",
          "shards 1024 -> 10000 needs 4 scaling calls, 0 left in the rolling 24 h window; "
          "UpdateShardCount budget 10/24 h spent, the next call from 2023-11-15 22:13 UTC",
          "~ orders   mode ON_DEMAND -> PROVISIONED; shards 1 -> 10000 (steps 2, 4, 8, 16, 32, 64, "
          "128, 256, 512, 1024 now; 2048, 4096, 8192, 10000 from 2023-11-15 22:13 UTC); refused: "
          "shards 1024 -> 10000 needs 4 scaling calls, 0 left in the rolling 24 h window; "
          "UpdateShardCount budget 10/24 h spent, the next call from 2023-11-15 22:13 UTC" },
        { "both budgets spent",
          { P(16) }, { OD, .shards = 4, .scalings = 10, .mode_changes = 2 },
          PLAN_OBSERVE, "",
          "mode ON_DEMAND -> PROVISIONED needs 1 mode change, 0 left in the rolling 24 h window; "
          "UpdateStreamMode budget 2/24 h spent, the next call from 2023-11-15 12:13 UTC (no change)",
          "mode ON_DEMAND -> PROVISIONED needs 1 mode change, 0 left in the rolling 24 h window; "
          "UpdateStreamMode budget 2/24 h spent, the next call from 2023-11-15 12:13 UTC",
          "! orders   mode ON_DEMAND -> PROVISIONED needs 1 mode change, 0 left in the rolling 24 h "
          "window; UpdateStreamMode budget 2/24 h spent, the next call from 2023-11-15 12:13 UTC (no "
          "change)" },
        { "encryption start budget spent",
          { P(1), .kms = "k" }, { P(1), .enc_starts = 25 },
          PLAN_OBSERVE, "",
          "encryption none -> k needs 1 encryption change, 0 left in the rolling 24 h window; "
          "StartStreamEncryption budget 25/24 h spent, the next call from 2023-11-15 12:13 UTC (no change)",
          "encryption none -> k needs 1 encryption change, 0 left in the rolling 24 h window; "
          "StartStreamEncryption budget 25/24 h spent, the next call from 2023-11-15 12:13 UTC",
          "! orders   encryption none -> k needs 1 encryption change, 0 left in the rolling 24 h window; "
          "StartStreamEncryption budget 25/24 h spent, the next call from 2023-11-15 12:13 UTC (no change)" },
        { "encryption stop budget spent, retention goes ahead",
          { P(1), .retention = 48 }, { P(1), .kms = "k", .enc_stops = 25 },
          PLAN_CHANGE, "IncreaseStreamRetentionPeriod 48",
          "retention 24h -> 48h",
          "encryption k -> none needs 1 encryption change, 0 left in the rolling 24 h window; "
          "StopStreamEncryption budget 25/24 h spent, the next call from 2023-11-15 12:13 UTC",
          "~ orders   retention 24h -> 48h; refused: encryption k -> none needs 1 encryption change, 0 "
          "left in the rolling 24 h window; StopStreamEncryption budget 25/24 h spent, the next call "
          "from 2023-11-15 12:13 UTC" },
        { "last encryption start in the budget",
          { P(1), .kms = "k" }, { P(1), .enc_starts = 24 },
          PLAN_CHANGE, "StartStreamEncryption k", "encryption none -> k", NULL,
          "~ orders   encryption none -> k" },
        { "a spent stop budget does not hold back a start",
          { P(1), .kms = "k2" }, { P(1), .kms = "k", .enc_stops = 25 },
          PLAN_CHANGE, "StartStreamEncryption k2", "encryption k -> k2", NULL,
          "~ orders   encryption k -> k2" },
        { "encryption budget spent: reported only under create-only",
          { P(1), .kms = "k", CREATE_ONLY }, { P(1), .enc_starts = 25 },
          PLAN_OBSERVE, "", "encryption none -> k (create-only, no change)", NULL,
          "! orders   encryption none -> k (create-only, no change)" },
        { "provisioned -> on-demand with encryption",
          { OD, .kms = "k" }, { P(8) },
          PLAN_CHANGE, "UpdateStreamMode ON_DEMAND | StartStreamEncryption k",
          "mode PROVISIONED -> ON_DEMAND; encryption none -> k", NULL,
          "~ orders   mode PROVISIONED -> ON_DEMAND; encryption none -> k" },
        { "switch to provisioned without declared shards",
          { P(0) }, { OD, .shards = 6 },
          PLAN_CHANGE, "UpdateStreamMode PROVISIONED",
          "mode ON_DEMAND -> PROVISIONED", NULL, "~ orders   mode ON_DEMAND -> PROVISIONED" },

        /* --- retention --- */
        { "retention up",
          { P(2), .retention = 48 }, { P(2) },
          PLAN_CHANGE, "IncreaseStreamRetentionPeriod 48",
          "retention 24h -> 48h", NULL, "~ orders   retention 24h -> 48h" },
        { "retention down to the default",
          { P(2) }, { P(2), .retention = 168 },
          PLAN_CHANGE, "DecreaseStreamRetentionPeriod 24",
          "retention 168h -> 24h", NULL, "~ orders   retention 168h -> 24h" },
        { "retention down from a year",
          { P(2), .retention = 72 }, { P(2), .retention = 8760 },
          PLAN_CHANGE, "DecreaseStreamRetentionPeriod 72",
          "retention 8760h -> 72h", NULL, "~ orders   retention 8760h -> 72h" },

        /* --- encryption --- */
        { "encryption start",
          { P(2), .kms = "alias/aws/kinesis" }, { P(2) },
          PLAN_CHANGE, "StartStreamEncryption alias/aws/kinesis",
          "encryption none -> alias/aws/kinesis", NULL, "~ orders   encryption none -> alias/aws/kinesis" },
        { "encryption stop names the current key",
          { P(2) }, { P(2), .kms = KEY_ARN },
          PLAN_CHANGE, "StopStreamEncryption " KEY_ARN,
          "encryption " KEY_ARN " -> none", NULL, "~ orders   encryption " KEY_ARN " -> none" },
        { "encryption key change is one StartStreamEncryption",
          { P(2), .kms = "alias/new" }, { P(2), .kms = "alias/old" },
          PLAN_CHANGE, "StartStreamEncryption alias/new",
          "encryption alias/old -> alias/new", NULL, "~ orders   encryption alias/old -> alias/new" },

        /* --- enhanced monitoring --- */
        { "metrics enable two",
          { P(2), .metrics = METRIC_INCOMING_BYTES | METRIC_OUTGOING_BYTES }, { P(2) },
          PLAN_CHANGE, "EnableEnhancedMonitoring 0x05",
          "metrics +IncomingBytes,OutgoingBytes", NULL, "~ orders   metrics +IncomingBytes,OutgoingBytes" },
        { "metrics disable all",
          { P(2) }, { P(2), .metrics = METRIC_ALL },
          PLAN_CHANGE, "DisableEnhancedMonitoring 0x7f",
          "metrics -ALL", NULL, "~ orders   metrics -ALL" },
        { "metrics enable all",
          { P(2), .metrics = METRIC_ALL }, { P(2) },
          PLAN_CHANGE, "EnableEnhancedMonitoring 0x7f",
          "metrics +ALL", NULL, "~ orders   metrics +ALL" },
        { "metrics enable some, disable others",
          { P(2), .metrics = 0x03 }, { P(2), .metrics = 0x06 },
          PLAN_CHANGE, "DisableEnhancedMonitoring 0x04 | EnableEnhancedMonitoring 0x01",
          "metrics +IncomingBytes -OutgoingBytes", NULL,
          "~ orders   metrics +IncomingBytes -OutgoingBytes" },
        { "metrics all but one",
          { P(2), .metrics = METRIC_ALL & ~METRIC_ITERATOR_AGE_MILLISECONDS },
          { P(2), .metrics = METRIC_ALL },
          PLAN_CHANGE, "DisableEnhancedMonitoring 0x40",
          "metrics -IteratorAgeMilliseconds", NULL, "~ orders   metrics -IteratorAgeMilliseconds" },
        { "metrics to ALL enables only the missing ones",
          { P(2), .metrics = METRIC_ALL },
          { P(2), .metrics = METRIC_WRITE_PROVISIONED_THROUGHPUT_EXCEEDED |
                             METRIC_READ_PROVISIONED_THROUGHPUT_EXCEEDED },
          PLAN_CHANGE, "EnableEnhancedMonitoring 0x4f",
          "metrics "
          "+IncomingBytes,IncomingRecords,OutgoingBytes,OutgoingRecords,IteratorAgeMilliseconds", NULL,
          "~ orders   metrics "
          "+IncomingBytes,IncomingRecords,OutgoingBytes,OutgoingRecords,IteratorAgeMilliseconds" },

        /* --- tags --- */
        { "tags add two",
          { P(2), .tags = "a=1,b=2" }, { P(2), .tags = "" },
          PLAN_CHANGE, "AddTagsToStream [a=1,b=2]", "tags +2", NULL, "~ orders   tags +2" },
        { "tags change one value",
          { P(2), .tags = "a=1,b=3" }, { P(2), .tags = "a=1,b=2" },
          PLAN_CHANGE, "AddTagsToStream [b=3]", "tags ~1", NULL, "~ orders   tags ~1" },
        { "tags remove three",
          { P(2), .tags = "a=1" }, { P(2), .tags = "a=1,x=1,y=2,z=3" },
          PLAN_CHANGE, "RemoveTagsFromStream [x,y,z]", "tags -3", NULL, "~ orders   tags -3" },
        { "tags add, change and remove: removals first",
          { P(2), .tags = "a=1,b=2,c=new,d=4" }, { P(2), .tags = "a=1,c=old,x=1,y=2,z=3" },
          PLAN_CHANGE, "RemoveTagsFromStream [x,y,z] | AddTagsToStream [b=2,c=new,d=4]",
          "tags +2 ~1 -3", NULL, "~ orders   tags +2 ~1 -3" },
        { "tags 23 to add in three calls",
          { P(2), .tags = "@23" }, { P(2), .tags = "" },
          PLAN_CHANGE,
          "AddTagsToStream [" TV10("t0") "] | AddTagsToStream [" TV10("t1") "] | "
          "AddTagsToStream [t20=v,t21=v,t22=v]",
          "tags +23", NULL, "~ orders   tags +23" },
        { "tags 11 to remove in two calls",
          { P(2), .tags = "keep=1" }, { P(2), .tags = "@11" },
          PLAN_CHANGE,
          "RemoveTagsFromStream [" TK10("t0") "] | RemoveTagsFromStream [t10] | AddTagsToStream [keep=1]",
          "tags +1 -11", NULL, "~ orders   tags +1 -11" },
        { "tags exactly ten in one call",
          { P(2), .tags = "@10" }, { P(2), .tags = "" },
          PLAN_CHANGE, "AddTagsToStream [" TV10("t0") "]", "tags +10", NULL, "~ orders   tags +10" },
        { "tags aws: kept while others are removed",
          { P(2), .tags = "a=1" }, { P(2), .tags = "a=1,aws:cloudformation:stack-id=x,old=1" },
          PLAN_CHANGE, "RemoveTagsFromStream [old]", "tags -1", NULL, "~ orders   tags -1" },
        { "tags AWS: in any case kept",
          { P(2), .tags = "a=1" }, { P(2), .tags = "AWS:Owner=x,a=1" },
          PLAN_IN_SYNC, "", "in sync", NULL, "= orders   in sync" },
        { "tags declared empty remove all but aws:",
          { P(2), .tags = "" }, { P(2), .tags = "aws:x=1,b=2,c=3" },
          PLAN_CHANGE, "RemoveTagsFromStream [b,c]", "tags -2", NULL, "~ orders   tags -2" },
        { "tags empty value in sync",
          { P(2), .tags = "a=" }, { P(2), .tags = "a=" },
          PLAN_IN_SYNC, "", "in sync", NULL, "= orders   in sync" },
        { "tags value changed to empty",
          { P(2), .tags = "a=" }, { P(2), .tags = "a=1" },
          PLAN_CHANGE, "AddTagsToStream [a=]", "tags ~1", NULL, "~ orders   tags ~1" },

        /* --- max record size --- */
        { "max record size up",
          { P(2), .maxrec = 2048 }, { P(2), .maxrec = 1024 },
          PLAN_CHANGE, "UpdateMaxRecordSize 2048",
          "max record size 1024 KiB -> 2048 KiB", NULL, "~ orders   max record size 1024 KiB -> 2048 KiB" },
        { "max record size down",
          { P(2), .maxrec = 1024 }, { P(2), .maxrec = 10240 },
          PLAN_CHANGE, "UpdateMaxRecordSize 1024",
          "max record size 10240 KiB -> 1024 KiB", NULL,
          "~ orders   max record size 10240 KiB -> 1024 KiB" },
        { "max record size unreported, declared larger",
          { P(2), .maxrec = 4096 }, { P(2) },
          PLAN_CHANGE, "UpdateMaxRecordSize 4096",
          "max record size 1024 KiB -> 4096 KiB", NULL, "~ orders   max record size 1024 KiB -> 4096 KiB" },

        /* --- resource policy --- */
        { "create with a resource policy",
          { P(1), .policy = POL_A }, { MISSING },
          PLAN_CREATE, "CreateStream 1 PROVISIONED | PutResourcePolicy " POL_A,
          "create: 1 shard, provisioned, retention 24h, resource policy", NULL,
          "+ orders   create: 1 shard, provisioned, retention 24h, resource policy" },
        { "create with policy none puts nothing",
          { P(1), .policy = "none" }, { MISSING },
          PLAN_CREATE, "CreateStream 1 PROVISIONED",
          "create: 1 shard, provisioned, retention 24h", NULL,
          "+ orders   create: 1 shard, provisioned, retention 24h" },
        { "policy missing in AWS",
          { P(2), .policy = POL_A }, { P(2), .policy = "" },
          PLAN_CHANGE, "PutResourcePolicy " POL_A,
          "resource policy none -> declared", NULL, "~ orders   resource policy none -> declared" },
        { "policy equal once normalised (order, spaces, list of one)",
          { P(2), .policy = POL_A }, { P(2), .policy = POL_A_REORDERED },
          PLAN_IN_SYNC, "", "in sync", NULL, "= orders   in sync" },
        { "policy differs",
          { P(2), .policy = POL_A }, { P(2), .policy = POL_B },
          PLAN_CHANGE, "PutResourcePolicy " POL_A,
          "resource policy differs -> declared", NULL, "~ orders   resource policy differs -> declared" },
        { "policy none removes one",
          { P(2), .policy = "none" }, { P(2), .policy = POL_B },
          PLAN_CHANGE, "DeleteResourcePolicy",
          "resource policy -> none", NULL, "~ orders   resource policy -> none" },
        { "policy none and none in AWS",
          { P(2), .policy = "none" }, { P(2), .policy = "" },
          PLAN_IN_SYNC, "", "in sync", NULL, "= orders   in sync" },
        { "policy not read yet: nothing planned",
          { P(2), .policy = POL_A }, { P(2) },
          PLAN_IN_SYNC, "", "in sync", NULL, "= orders   in sync" },
        { "policy not declared: one in AWS is left alone",
          { P(2) }, { P(2), .policy = POL_B },
          PLAN_IN_SYNC, "", "in sync", NULL, "= orders   in sync" },
        { "policy differs under manage: observe",
          { P(2), .policy = POL_A, OBSERVE }, { P(2), .policy = POL_B },
          PLAN_OBSERVE, "", "resource policy differs -> declared, declared manage: observe (no change)", NULL,
          "! orders   resource policy differs -> declared, declared manage: observe (no change)" },

        /* --- record distribution strategy (2: AUTO, 1: USER_PARTITION_KEY) --- */
        { "create on-demand with auto distribution",
          { OD, .dist = DISTRIBUTION_AUTO }, { MISSING },
          PLAN_CREATE, "CreateStream 0 ON_DEMAND | UpdateStreamRecordDistributionStrategy 2",
          "create: on-demand, retention 24h, record distribution AUTO", NULL,
          "+ orders   create: on-demand, retention 24h, record distribution AUTO" },
        { "create on-demand with the default distribution",
          { OD, .dist = DISTRIBUTION_USER_PARTITION_KEY }, { MISSING },
          PLAN_CREATE, "CreateStream 0 ON_DEMAND", "create: on-demand, retention 24h", NULL,
          "+ orders   create: on-demand, retention 24h" },
        { "distribution to auto",
          { OD, .dist = DISTRIBUTION_AUTO }, { OD, .dist = DISTRIBUTION_USER_PARTITION_KEY },
          PLAN_CHANGE, "UpdateStreamRecordDistributionStrategy 2",
          "record distribution USER_PARTITION_KEY -> AUTO", NULL,
          "~ orders   record distribution USER_PARTITION_KEY -> AUTO" },
        { "distribution back to partition keys",
          { OD, .dist = DISTRIBUTION_USER_PARTITION_KEY }, { OD, .dist = DISTRIBUTION_AUTO },
          PLAN_CHANGE, "UpdateStreamRecordDistributionStrategy 1",
          "record distribution AUTO -> USER_PARTITION_KEY", NULL,
          "~ orders   record distribution AUTO -> USER_PARTITION_KEY" },
        { "distribution not reported: the default",
          { OD, .dist = DISTRIBUTION_USER_PARTITION_KEY }, { OD },
          PLAN_IN_SYNC, "", "in sync", NULL, "= orders   in sync" },
        { "distribution after a switch to on-demand",
          { OD, .dist = DISTRIBUTION_AUTO }, { P(2) },
          PLAN_CHANGE, "UpdateStreamMode ON_DEMAND | UpdateStreamRecordDistributionStrategy 2",
          "mode PROVISIONED -> ON_DEMAND; record distribution USER_PARTITION_KEY -> AUTO", NULL,
          "~ orders   mode PROVISIONED -> ON_DEMAND; record distribution USER_PARTITION_KEY -> AUTO" },

        /* --- warm throughput (on-demand, with the account's commitment) --- */
        { "create with warm throughput, commitment enabled",
          { OD, .warm = 20 }, { MISSING, .commit = COMMITMENT_ENABLED },
          PLAN_CREATE, "CreateStream 0 ON_DEMAND warm=20",
          "create: on-demand, retention 24h, warm throughput 20 MiB/s", NULL,
          "+ orders   create: on-demand, retention 24h, warm throughput 20 MiB/s" },
        { "create with warm throughput, commitment unknown: not sent with the creation",
          { OD, .warm = 20 }, { MISSING },
          PLAN_CREATE, "CreateStream 0 ON_DEMAND", "create: on-demand, retention 24h", NULL,
          "+ orders   create: on-demand, retention 24h" },
        { "warm throughput corrected against the target",
          { OD, .warm = 20 }, { OD, .warm = 40, .commit = COMMITMENT_ENABLED },
          PLAN_CHANGE, "UpdateStreamWarmThroughput 20", "warm throughput 40 -> 20 MiB/s", NULL,
          "~ orders   warm throughput 40 -> 20 MiB/s" },
        { "warm throughput in sync with the target",
          { OD, .warm = 20 }, { OD, .warm = 20, .commit = COMMITMENT_ENABLED },
          PLAN_IN_SYNC, "", "in sync", NULL, "= orders   in sync" },
        { "warm throughput unknown commitment: tried",
          { OD, .warm = 20 }, { OD },
          PLAN_CHANGE, "UpdateStreamWarmThroughput 20", "warm throughput 0 -> 20 MiB/s", NULL,
          "~ orders   warm throughput 0 -> 20 MiB/s" },
        { "warm throughput without commitment: nothing to do, not a failure",
          { OD, .warm = 20 }, { OD, .commit = COMMITMENT_NONE },
          PLAN_IN_SYNC, "", "in sync", NULL, "= orders   in sync" },
        { "warm throughput after a switch to on-demand",
          { OD, .warm = 20 }, { P(2), .commit = COMMITMENT_ENABLED },
          PLAN_CHANGE, "UpdateStreamMode ON_DEMAND | UpdateStreamWarmThroughput 20",
          "mode PROVISIONED -> ON_DEMAND; warm throughput 0 -> 20 MiB/s", NULL,
          "~ orders   mode PROVISIONED -> ON_DEMAND; warm throughput 0 -> 20 MiB/s" },

        /* --- consumers' tags and policies --- */
        { "consumer registered with its tags",
          { P(2), .consumers = "c1", .ctags = "team=a" }, { P(2), .consumers = "" },
          PLAN_CHANGE, "RegisterStreamConsumer c1 [team=a]", "consumers +1", NULL, "~ orders   consumers +1" },
        { "consumer tags and policy in sync",
          { P(2), .consumers = "c1,c2", .ctags = "team=a", .cpolicy = POL_A },
          { P(2), .consumers = "c1,c2", .ctags = "team=a", .cpolicy = POL_A_REORDERED },
          PLAN_IN_SYNC, "", "in sync", NULL, "= orders   in sync" },
        { "consumer tags drifted",
          { P(2), .consumers = "c1", .ctags = "team=a,tier=" },
          { P(2), .consumers = "c1", .ctags = "team=b,rogue=x,aws:cloudformation:x=y" },
          PLAN_CHANGE,
          "UntagResource c1 [rogue] | TagResource c1 [team=a,tier=]",
          "consumer c1 tags +1 ~1 -1", NULL, "~ orders   consumer c1 tags +1 ~1 -1" },
        { "consumer policy put and removed",
          { P(2), .consumers = "c1", .cpolicy = "none" }, { P(2), .consumers = "c1", .cpolicy = POL_B },
          PLAN_CHANGE, "DeleteResourcePolicy c1", "consumer c1 resource policy -> none", NULL,
          "~ orders   consumer c1 resource policy -> none" },
        { "consumer policy missing",
          { P(2), .consumers = "c1", .cpolicy = POL_A }, { P(2), .consumers = "c1", .cpolicy = "" },
          PLAN_CHANGE, "PutResourcePolicy c1 " POL_A, "consumer c1 resource policy none -> declared", NULL,
          "~ orders   consumer c1 resource policy none -> declared" },
        { "consumer details wait until every consumer is ACTIVE and read",
          { P(2), .consumers = "c1", .cpolicy = POL_A }, { P(2), .consumers = "c1", .cpolicy = "",
                                                             .cstatus = "CREATING" },
          PLAN_IN_SYNC, "", "in sync", NULL, "= orders   in sync" },
        { "consumer details not read yet",
          { P(2), .consumers = "c1", .ctags = "a=1" }, { P(2), .consumers = "c1" },
          PLAN_IN_SYNC, "", "in sync", NULL, "= orders   in sync" },

        /* --- consumers --- */
        { "consumers register the missing ones",
          { P(2), .consumers = "a,b,c" }, { P(2), .consumers = "b" },
          PLAN_CHANGE, "RegisterStreamConsumer a | RegisterStreamConsumer c",
          "consumers +2", NULL, "~ orders   consumers +2" },
        { "consumers first one",
          { P(2), .consumers = "c1" }, { P(2), .consumers = "" },
          PLAN_CHANGE, "RegisterStreamConsumer c1", "consumers +1", NULL, "~ orders   consumers +1" },

        /* --- manage: create-only --- */
        { "create-only reports drift",
          { P(16), .retention = 48, CREATE_ONLY }, { P(4) },
          PLAN_OBSERVE, "",
          "shards 4 -> 16; retention 24h -> 48h (create-only, no change)", NULL,
          "! orders   shards 4 -> 16; retention 24h -> 48h (create-only, no change)" },
        { "create-only reports the mode",
          { P(4), CREATE_ONLY }, { OD, .shards = 4 },
          PLAN_OBSERVE, "",
          "exists as ON_DEMAND (create-only, no change)", NULL,
          "! orders   exists as ON_DEMAND (create-only, no change)" },
        { "create-only has no budget to refuse",
          { P(10000), CREATE_ONLY }, { P(1) },
          PLAN_OBSERVE, "",
          "shards 1 -> 10000 (create-only, no change)", NULL,
          "! orders   shards 1 -> 10000 (create-only, no change)" },
        { "create-only reports tags and consumers",
          { P(2), .tags = "a=1", .consumers = "c", CREATE_ONLY }, { P(2), .tags = "b=1", .consumers = "" },
          PLAN_OBSERVE, "",
          "tags +1 -1; consumers +1 (create-only, no change)", NULL,
          "! orders   tags +1 -1; consumers +1 (create-only, no change)" },

        /* --- manage: observe --- */
        { "observe: exists as ON_DEMAND",
          { P(0), OBSERVE }, { OD, .shards = 3 },
          PLAN_OBSERVE, "",
          "exists as ON_DEMAND, declared manage: observe (no change)", NULL,
          "! orders   exists as ON_DEMAND, declared manage: observe (no change)" },
        { "observe reports retention and encryption",
          { P(0), .kms = "k", OBSERVE }, { P(3), .retention = 168 },
          PLAN_OBSERVE, "",
          "retention 168h -> 24h; encryption none -> k, declared manage: observe (no change)", NULL,
          "! orders   retention 168h -> 24h; encryption none -> k, declared manage: observe (no change)" },
        { "observe reports declared shards",
          { P(4), OBSERVE }, { P(2) },
          PLAN_OBSERVE, "",
          "shards 2 -> 4, declared manage: observe (no change)", NULL,
          "! orders   shards 2 -> 4, declared manage: observe (no change)" },
        { "observe reports metrics and max record size",
          { P(0), .metrics = 0x01, .maxrec = 2048, OBSERVE }, { P(2), .metrics = 0x02 },
          PLAN_OBSERVE, "",
          "metrics +IncomingBytes -IncomingRecords; max record size 1024 KiB -> 2048 KiB, "
          "declared manage: observe (no change)",
          NULL,
          "! orders   metrics +IncomingBytes -IncomingRecords; max record size 1024 KiB -> 2048 KiB, "
          "declared manage: observe (no change)" },

        /* --- the whole order --- */
        { "everything differs: documented order",
          { P(8), .retention = 48, .kms = "k2", .metrics = 0x01, .maxrec = 2048, .tags = "a=1,b=2",
            .consumers = "c1,c2" },
          { P(2), .kms = "k1", .metrics = 0x02, .maxrec = 1024, .tags = "a=0,z=1", .consumers = "c2" },
          PLAN_CHANGE,
          "UpdateShardCount 4 | UpdateShardCount 8 | IncreaseStreamRetentionPeriod 48 | "
          "StartStreamEncryption k2 | DisableEnhancedMonitoring 0x02 | EnableEnhancedMonitoring 0x01 | "
          "UpdateMaxRecordSize 2048 | RemoveTagsFromStream [z] | AddTagsToStream [a=1,b=2] | "
          "RegisterStreamConsumer c1",
          "shards 2 -> 8 (steps 4, 8); retention 24h -> 48h; encryption k1 -> k2; "
          "metrics +IncomingBytes -IncomingRecords; max record size 1024 KiB -> 2048 KiB; tags +1 ~1 -1; "
          "consumers +1",
          NULL,
          "~ orders   shards 2 -> 8 (steps 4, 8); retention 24h -> 48h; encryption k1 -> k2; "
          "metrics +IncomingBytes -IncomingRecords; max record size 1024 KiB -> 2048 KiB; tags +1 ~1 -1; "
          "consumers +1" },
        { "mode switch leads, then retention and encryption",
          { OD }, { P(3), .retention = 48, .kms = "k", .tags = "a=1" },
          PLAN_CHANGE,
          "UpdateStreamMode ON_DEMAND | DecreaseStreamRetentionPeriod 24 | StopStreamEncryption k",
          "mode PROVISIONED -> ON_DEMAND; retention 48h -> 24h; encryption k -> none", NULL,
          "~ orders   mode PROVISIONED -> ON_DEMAND; retention 48h -> 24h; encryption k -> none" },
};

static const char *verdict_name(enum plan_verdict v) {
        switch (v) {
        case PLAN_IN_SYNC:
                return "IN_SYNC";
        case PLAN_CREATE:
                return "CREATE";
        case PLAN_CHANGE:
                return "CHANGE";
        case PLAN_OBSERVE:
                return "OBSERVE";
        }
        return "?";
}

static void run_case(const struct plan_case *c) {
        struct stream_decl decl;
        struct stream_obs obs;
        struct plan p = {};
        _cleanup_free_ char *line = NULL;
        char actions[8192];
        unsigned failures = test_failures;
        int r;

        make_decl(&c->d, &decl);
        make_obs(&c->o, &obs);
        r = plan_stream(&decl, &obs, &p);
        CHECK_INTEQ(r, 0);
        line = plan_format_line(&decl, &p, 8);
        /* The plan must own everything it points to. */
        free_decl(&decl);
        free_obs(&obs);

        render_actions(actions, sizeof(actions), &p);
        CHECK_STREQ(verdict_name(p.verdict), verdict_name(c->verdict));
        CHECK_STREQ(actions, c->actions);
        CHECK_STREQ(p.summary, c->summary);
        if (c->refusal)
                CHECK_STREQ(p.refusal, c->refusal);
        else
                CHECK(p.refusal == NULL);
        CHECK_STREQ(line, c->line);
        if (test_failures != failures)
                fprintf(stderr, "  ^ in case \"%s\"\n", c->name);

        plan_done(&p);
}

/* ------------------------------------------------------------------------ */

static void test_plan_cases(void) {
        for (size_t i = 0; i < ELEMENTSOF(plan_cases); i++)
                run_case(&plan_cases[i]);
        fprintf(stderr, "plan: %zu table cases\n", ELEMENTSOF(plan_cases));
}

struct steps_case {
        unsigned from, to;
        size_t n;
        unsigned steps[16];
};

static const struct steps_case steps_cases[] = {
        { 2, 16, 3, { 4, 8, 16 } },
        { 16, 3, 3, { 8, 4, 3 } },
        { 4, 16, 2, { 8, 16 } },
        { 3, 5, 1, { 5 } },
        { 5, 3, 1, { 3 } },
        { 3, 1, 2, { 2, 1 } },
        { 2, 1, 1, { 1 } },
        { 1, 2, 1, { 2 } },
        { 1, 3, 2, { 2, 3 } },
        { 7, 7, 0, { 0 } },
        { 1, 1, 0, { 0 } },
        { 7, 25, 2, { 14, 25 } },
        { 25, 7, 2, { 13, 7 } },
        { 1, 10000, 14, { 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 10000 } },
        { 10000, 1, 14, { 5000, 2500, 1250, 625, 313, 157, 79, 40, 20, 10, 5, 3, 2, 1 } },
        { 10000, 5000, 1, { 5000 } },
        { 5000, 10000, 1, { 10000 } },
        { 0, 5, 0, { 0 } },
        { 5, 0, 0, { 0 } },
        { 0, 0, 0, { 0 } },
};

static void test_shard_steps_table(void) {
        for (size_t i = 0; i < ELEMENTSOF(steps_cases); i++) {
                const struct steps_case *c = &steps_cases[i];
                unsigned out[16] = {};
                size_t n = plan_shard_steps(c->from, c->to, out, ELEMENTSOF(out));

                CHECK_INTEQ(n, c->n);
                for (size_t j = 0; j < c->n && j < ELEMENTSOF(out); j++)
                        CHECK_INTEQ(out[j], c->steps[j]);
                for (size_t j = c->n; j < ELEMENTSOF(out); j++)
                        CHECK_INTEQ(out[j], 0);
                if (n != c->n)
                        fprintf(stderr, "  ^ steps %u -> %u\n", c->from, c->to);
        }
}

static void test_shard_steps_truncated(void) {
        unsigned out[8];

        /* Only max entries are written; the count is still the whole way. */
        for (size_t i = 0; i < ELEMENTSOF(out); i++)
                out[i] = 0xdead;
        CHECK_INTEQ(plan_shard_steps(1, 10000, out, 5), 14);
        CHECK_INTEQ(out[0], 2);
        CHECK_INTEQ(out[4], 32);
        CHECK_INTEQ(out[5], 0xdead);
        CHECK_INTEQ(plan_shard_steps(1, 10000, NULL, 0), 14);
        CHECK_INTEQ(plan_shard_steps(16, 3, NULL, 0), 3);
        CHECK_INTEQ(plan_shard_steps(4000000000u, 1, NULL, 0), 32);
        CHECK_INTEQ(plan_shard_steps(1, 4000000000u, NULL, 0), 32);
}

/* Every step is legal for AWS, the last one lands on the target, and no
 * shorter legal path exists (checked by breadth-first search). */
#define GRID 130
static void test_shard_steps_properties(void) {
        static unsigned dist[GRID + 1][GRID + 1];
        unsigned bad = 0;

        for (unsigned from = 1; from <= GRID; from++) {
                unsigned queue[GRID + 1], head = 0, tail = 0;

                for (unsigned i = 0; i <= GRID; i++)
                        dist[from][i] = UINT32_MAX;
                dist[from][from] = 0;
                queue[tail++] = from;
                while (head < tail) {
                        unsigned cur = queue[head++];
                        unsigned lo = (cur + 1) / 2, hi = 2 * cur > GRID ? GRID : 2 * cur;

                        for (unsigned next = lo; next <= hi; next++)
                                if (dist[from][next] == UINT32_MAX) {
                                        dist[from][next] = dist[from][cur] + 1;
                                        queue[tail++] = next;
                                }
                }
        }

        for (unsigned from = 1; from <= GRID; from++)
                for (unsigned to = 1; to <= GRID; to++) {
                        unsigned out[32];
                        size_t n = plan_shard_steps(from, to, out, ELEMENTSOF(out));
                        unsigned cur = from;
                        bool ok = n <= ELEMENTSOF(out) && n == dist[from][to];

                        for (size_t i = 0; ok && i < n; i++) {
                                ok = out[i] >= (cur + 1) / 2 && out[i] <= 2 * cur && out[i] != cur;
                                cur = out[i];
                        }
                        ok = ok && cur == to;
                        if (!ok && bad++ < 5)
                                fprintf(stderr, "  steps %u -> %u: %zu steps, shortest %u\n", from, to, n,
                                        dist[from][to]);
                        test_checks++;
                        if (!ok)
                                test_failures++;
                }
}

static void test_action_names(void) {
        static const char *const names[_ACTION_TYPE_MAX] = {
                "CreateStream", "UpdateStreamMode", "UpdateShardCount", "IncreaseStreamRetentionPeriod",
                "DecreaseStreamRetentionPeriod", "StartStreamEncryption", "StopStreamEncryption",
                "EnableEnhancedMonitoring", "DisableEnhancedMonitoring", "AddTagsToStream",
                "RemoveTagsFromStream", "RegisterStreamConsumer", "UpdateMaxRecordSize",
                "PutResourcePolicy", "DeleteResourcePolicy", "TagResource", "UntagResource",
                "UpdateStreamRecordDistributionStrategy", "UpdateStreamWarmThroughput",
        };

        for (unsigned t = 0; t < _ACTION_TYPE_MAX; t++)
                CHECK_STREQ(action_type_to_string((enum action_type) t), names[t]);
        CHECK(action_type_to_string(_ACTION_TYPE_MAX) == NULL);
        CHECK(action_type_to_string((enum action_type) -1) == NULL);
}

static void test_plan_done(void) {
        struct plan p = {};

        plan_done(&p); /* zeroed: fine */
        plan_done(&p);
        plan_done(NULL);
        CHECK(p.actions == NULL && p.summary == NULL && p.refusal == NULL && p.n_actions == 0);

        {
                struct stream_decl decl;
                struct stream_obs obs;

                make_decl(&(struct decl_spec) { P(2), .tags = "a=1", .consumers = "c" }, &decl);
                make_obs(&(struct obs_spec) { MISSING }, &obs);
                CHECK_INTEQ(plan_stream(&decl, &obs, &p), 0);
                CHECK_INTEQ(p.n_actions, 2);
                plan_done(&p);
                CHECK(p.actions == NULL && p.summary == NULL && p.n_actions == 0);
                plan_done(&p); /* after done: zeroed again, still fine */
                free_decl(&decl);
                free_obs(&obs);
        }
}

static void test_invalid_arguments(void) {
        struct stream_decl decl;
        struct stream_obs obs;
        struct plan p = { .summary = (char *) "untouched" };

        make_decl(&(struct decl_spec) { P(2) }, &decl);
        make_obs(&(struct obs_spec) { P(2) }, &obs);
        CHECK_INTEQ(plan_stream(NULL, &obs, &p), -EINVAL);
        CHECK_INTEQ(plan_stream(&decl, NULL, &p), -EINVAL);
        CHECK_INTEQ(plan_stream(&decl, &obs, NULL), -EINVAL);
        /* Output written only on success. */
        CHECK_STREQ(p.summary, "untouched");
        free_decl(&decl);
        free_obs(&obs);
}

/* A declaration past CreateStream's 50 tags (the configuration refuses it,
 * but the planner must not lose tags): 50 in CreateStream, the rest after. */
static void test_create_past_tag_limit(void) {
        struct stream_decl decl;
        struct stream_obs obs;
        struct plan p = {};

        make_decl(&(struct decl_spec) { P(2), .tags = "@61", .kms = "k" }, &decl);
        make_obs(&(struct obs_spec) { MISSING }, &obs);
        CHECK_INTEQ(plan_stream(&decl, &obs, &p), 0);
        free_decl(&decl);
        free_obs(&obs);

        CHECK_INTEQ(p.verdict, PLAN_CREATE);
        CHECK_INTEQ(p.n_actions, 4);
        if (p.n_actions == 4) {
                CHECK_INTEQ(p.actions[0].type, ACTION_CREATE_STREAM);
                CHECK_INTEQ(p.actions[0].n_tags, PLAN_CREATE_MAX_TAGS);
                CHECK_STREQ(p.actions[0].tags[49].key, "t49");
                CHECK_INTEQ(p.actions[1].type, ACTION_START_ENCRYPTION);
                CHECK_INTEQ(p.actions[2].type, ACTION_ADD_TAGS);
                CHECK_INTEQ(p.actions[2].n_tags, 10);
                CHECK_STREQ(p.actions[2].tags[0].key, "t50");
                CHECK_INTEQ(p.actions[3].type, ACTION_ADD_TAGS);
                CHECK_INTEQ(p.actions[3].n_tags, 1);
                CHECK_STREQ(p.actions[3].tags[0].key, "t60");
        }
        CHECK_STREQ(p.summary, "create: 2 shards, provisioned, retention 24h, encryption k, tags 61");
        plan_done(&p);
}

/* The four lines of DESIGN §2, with the width the example uses. */
static void test_design_example(void) {
        static const struct {
                const char *name;
                struct decl_spec d;
                struct obs_spec o;
                const char *line;
        } rows[] = {
                { "clicks", { P(2), .tags = "managed-by=kinesisd,team=web" }, { MISSING },
                  "+ clicks            create: 2 shards, provisioned, retention 24h, tags 2" },
                { "orders", { P(16), .retention = 48 }, { P(4) },
                  "~ orders            shards 4 -> 16 (steps 8, 16); retention 24h -> 48h" },
                { "audit", { P(1) }, { P(1) },
                  "= audit             in sync" },
                { "legacy", { OBSERVE }, { OD, .shards = 2 },
                  "! legacy            exists as ON_DEMAND, declared manage: observe (no change)" },
        };

        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                struct stream_decl decl;
                struct stream_obs obs;
                struct plan p = {};
                _cleanup_free_ char *line = NULL;

                make_decl(&rows[i].d, &decl);
                free(decl.name);
                decl.name = xstrdup(rows[i].name);
                make_obs(&rows[i].o, &obs);
                CHECK_INTEQ(plan_stream(&decl, &obs, &p), 0);
                line = plan_format_line(&decl, &p, 17);
                CHECK_STREQ(line, rows[i].line);
                plan_done(&p);
                free_decl(&decl);
                free_obs(&obs);
        }
}

/* A name longer than the field is printed whole, followed by one space. */
static void test_format_long_name(void) {
        struct stream_decl decl;
        struct stream_obs obs;
        struct plan p = {};
        _cleanup_free_ char *line = NULL, *line0 = NULL;

        make_decl(&(struct decl_spec) { P(2) }, &decl);
        free(decl.name);
        decl.name = xstrdup("dsoaws-kinesis-data-stream");
        make_obs(&(struct obs_spec) { P(2) }, &obs);
        CHECK_INTEQ(plan_stream(&decl, &obs, &p), 0);
        line = plan_format_line(&decl, &p, 10);
        line0 = plan_format_line(&decl, &p, 0);
        CHECK_STREQ(line, "= dsoaws-kinesis-data-stream in sync");
        CHECK_STREQ(line0, "= dsoaws-kinesis-data-stream in sync");
        plan_done(&p);
        free_decl(&decl);
        free_obs(&obs);
}

/* Planning twice from the same input gives the same plan; the inputs are
 * not modified. */
static void test_deterministic(void) {
        const struct plan_case *c = &plan_cases[ELEMENTSOF(plan_cases) - 2];
        struct stream_decl decl;
        struct stream_obs obs;
        struct plan a = {}, b = {};
        char ra[4096], rb[4096];

        make_decl(&c->d, &decl);
        make_obs(&c->o, &obs);
        CHECK_INTEQ(plan_stream(&decl, &obs, &a), 0);
        CHECK_INTEQ(plan_stream(&decl, &obs, &b), 0);
        render_actions(ra, sizeof(ra), &a);
        render_actions(rb, sizeof(rb), &b);
        CHECK_STREQ(ra, rb);
        CHECK_STREQ(a.summary, b.summary);
        CHECK_INTEQ(obs.open_shards, 2);
        CHECK_INTEQ(decl.shards, 8);
        CHECK_INTEQ(decl.x->n_tags, 2);
        CHECK_STREQ(obs.tags[1].key, "z");
        plan_done(&a);
        plan_done(&b);
        free_decl(&decl);
        free_obs(&obs);
}

/* The settings that differ, the ones held, and what --once would fail on. */
static void test_hold_and_differs(void) {
        struct stream_decl decl;
        struct stream_obs obs;
        struct plan p = {};
        char actions[1024];

        make_decl(&(struct decl_spec) { P(4), .retention = 48, .tags = "owner=a" }, &decl);
        make_obs(&(struct obs_spec) { P(2), .retention = 24, .tags = "owner=b" }, &obs);

        CHECK_INTEQ(plan_stream(&decl, &obs, &p), 0);
        CHECK_INTEQ(p.differs, (1u << SETTING_SHARDS) | (1u << SETTING_RETENTION) | (1u << SETTING_TAGS));
        CHECK_INTEQ(p.held, 0);
        CHECK(!p.fails);
        plan_done(&p);

        /* Tags held: no AddTags, the difference is told as held. */
        CHECK_INTEQ(plan_stream_holding(&decl, &obs, 1u << SETTING_TAGS, &p), 0);
        render_actions(actions, sizeof actions, &p);
        CHECK_STREQ(actions, "UpdateShardCount 4 | IncreaseStreamRetentionPeriod 48");
        CHECK_STREQ(p.summary, "shards 2 -> 4; retention 24h -> 48h");
        CHECK_STREQ(p.refusal, "tags ~1 held (changed back by another party)");
        CHECK_INTEQ(p.differs, (1u << SETTING_SHARDS) | (1u << SETTING_RETENTION) | (1u << SETTING_TAGS));
        CHECK_INTEQ(p.held, 1u << SETTING_TAGS);
        plan_done(&p);

        /* Everything held: nothing to do, said as a refusal. A hold of a
         * setting in sync holds nothing. */
        CHECK_INTEQ(plan_stream_holding(&decl, &obs,
                                        (1u << SETTING_SHARDS) | (1u << SETTING_RETENTION) |
                                                (1u << SETTING_TAGS) | (1u << SETTING_METRICS),
                                        &p),
                    0);
        CHECK_INTEQ(p.verdict, PLAN_OBSERVE);
        CHECK_INTEQ(p.n_actions, 0);
        CHECK_STREQ(p.summary, "shards 2 -> 4 held (changed back by another party); "
                               "retention 24h -> 48h held (changed back by another party); "
                               "tags ~1 held (changed back by another party) (no change)");
        CHECK_INTEQ(p.held, (1u << SETTING_SHARDS) | (1u << SETTING_RETENTION) | (1u << SETTING_TAGS));
        plan_done(&p);
        free_decl(&decl);
        free_obs(&obs);

        /* Missing under manage: observe: --once fails, and --plan says so. */
        make_decl(&(struct decl_spec) { P(1), OBSERVE }, &decl);
        make_obs(&(struct obs_spec) { MISSING }, &obs);
        CHECK_INTEQ(plan_stream(&decl, &obs, &p), 0);
        CHECK(p.fails);
        plan_done(&p);
        free_decl(&decl);
        free_obs(&obs);
}

int main(void) {
        test_plan_cases();
        test_hold_and_differs();
        test_shard_steps_table();
        test_shard_steps_truncated();
        test_shard_steps_properties();
        test_action_names();
        test_plan_done();
        test_invalid_arguments();
        test_create_past_tag_limit();
        test_design_example();
        test_format_long_name();
        test_deterministic();
        return test_summary("plan");
}
