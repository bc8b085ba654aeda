/* Changes without effect and changes undone by someone else (see
 * reconcile-guard.h). Must stay free of I/O, clocks and logging: the
 * reconciler decides what to say. */
#include "reconcile-guard.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "util.h"

/* ---- changes without effect ---------------------------------------------- */

static uint64_t fnv_str(uint64_t h, const char *s) {
        /* The NUL separates fields: "ab"+"c" and "a"+"bc" differ. */
        return s ? fnv1a64(h, s, strlen(s) + 1) : fnv1a64(h, "\xff", 1);
}

/* Type and target of a change: two actions with the same key ask AWS for
 * the same thing. */
static uint64_t action_key(const struct action *a) {
        uint64_t h = FNV1A64_INIT;
        unsigned v[6] = {(unsigned)a->type, a->value,   (unsigned)a->mode, a->metrics, a->max_record_size_kib,
                         a->warm_mibps};

        h = fnv1a64(h, v, sizeof v);
        h = fnv_str(h, a->kms_key);
        h = fnv_str(h, a->consumer);
        h = fnv_str(h, a->policy);
        h = fnv_str(h, a->resource_arn);
        for (size_t i = 0; i < a->n_tags; i++) {
                h = fnv_str(h, a->tags[i].key);
                h = fnv_str(h, a->tags[i].value);
        }
        return h | 1; /* never 0, which means none */
}

enum guard_verdict guard_before_act(struct reconcile_guard *g, const struct action *a, uint64_t poll_usec,
                                    uint64_t *ret_wait) {
        if (g->last_key != action_key(a)) {
                /* Something else this time: the last change took effect. */
                guard_nothing_to_do(g);
                return GUARD_ACT;
        }
        /* Accepted, and the stream, ACTIVE again, still needs it. AWS may
         * show a change late: look again after a wait that grows with every
         * acceptance before sending it once more. */
        if (!g->waited) {
                unsigned shift = g->attempts < 8 ? g->attempts : 8;

                g->waited = true;
                *ret_wait = (poll_usec ? poll_usec : 1) << shift;
                return GUARD_WAIT;
        }
        if (g->attempts >= RECONCILE_NO_EFFECT_ATTEMPTS)
                return GUARD_GIVE_UP;
        return GUARD_ACT;
}

void guard_accepted(struct reconcile_guard *g, const struct action *a) {
        uint64_t k = action_key(a);

        g->attempts = k == g->last_key ? g->attempts + 1 : 1;
        g->last_key = k;
        g->waited = false;
        if (a->type != ACTION_CREATE_STREAM)
                /* A consumer's policy is one of the consumer settings, as the planner compares it. */
                conflict_corrected(&g->conflicts, a->consumer && a->type != ACTION_REGISTER_CONSUMER
                                                          ? SETTING_CONSUMER_DETAILS
                                                          : guard_action_setting(a->type));
}

void guard_nothing_to_do(struct reconcile_guard *g) {
        g->last_key = 0;
        g->attempts = 0;
        g->waited = false;
}

bool guard_is_empty(const struct reconcile_guard *g) {
        if (g->last_key || g->attempts || g->waited)
                return false;
        for (unsigned s = 0; s < _SETTING_MAX; s++) {
                const struct conflict_entry *e = &g->conflicts.e[s];
                if (e->corrected || e->confirmed || e->reverts || e->hold_until)
                        return false;
        }
        return true;
}

unsigned guard_attempts(const struct reconcile_guard *g) {
        return g->attempts;
}

static const char *mode_name(enum stream_mode m) {
        return m == STREAM_MODE_ON_DEMAND ? "ON_DEMAND" : "PROVISIONED";
}

/* A string from AWS or the configuration for a message: quoted, escaped,
 * cut after QUOTE_CHARS characters. */
#define QUOTE_CHARS 64
static const char *quote(const char *s, char *buf, size_t n) {
        if (!s)
                return "none";
        assert(n >= LOG_ESCAPE_SIZE(QUOTE_CHARS));
        return log_escape(s, strlen(s), QUOTE_CHARS, true, buf);
}

void guard_no_effect_text(const struct reconcile_guard *g, const struct action *a,
                          const struct stream_obs *obs, const char *still, char *buf, size_t n) {
        const char *op = action_type_to_string(a->type);
        unsigned k = g->attempts;
        char q1[300], q2[300];

        switch (a->type) {
        case ACTION_UPDATE_SHARD_COUNT:
                snprintf(buf, n, "%s to %u was accepted %u times but AWS still shows %u open shard%s", op,
                         a->value, k, obs->open_shards, obs->open_shards == 1 ? "" : "s");
                break;
        case ACTION_INCREASE_RETENTION:
        case ACTION_DECREASE_RETENTION:
                snprintf(buf, n, "%s to %uh was accepted %u times but AWS still shows %uh", op, a->value, k,
                         obs->retention_hours);
                break;
        case ACTION_UPDATE_STREAM_MODE:
                snprintf(buf, n, "%s to %s was accepted %u times but AWS still shows %s", op,
                         mode_name(a->mode), k, mode_name(obs->mode));
                break;
        case ACTION_START_ENCRYPTION:
        case ACTION_STOP_ENCRYPTION:
                snprintf(buf, n, "%s with %s was accepted %u times but AWS still shows key %s", op,
                         quote(a->kms_key, q1, sizeof q1), k, quote(obs->kms_key, q2, sizeof q2));
                break;
        case ACTION_CREATE_STREAM:
                snprintf(buf, n, "%s was accepted %u times but AWS still shows no stream", op, k);
                break;
        default:
                snprintf(buf, n, "%s was accepted %u times but AWS still shows: %s", op, k, strna(still));
        }
}

/* ---- conflicts ----------------------------------------------------------- */

enum stream_setting guard_action_setting(enum action_type t) {
        switch (t) {
        case ACTION_UPDATE_STREAM_MODE:
                return SETTING_MODE;
        case ACTION_UPDATE_SHARD_COUNT:
                return SETTING_SHARDS;
        case ACTION_INCREASE_RETENTION:
        case ACTION_DECREASE_RETENTION:
                return SETTING_RETENTION;
        case ACTION_START_ENCRYPTION:
        case ACTION_STOP_ENCRYPTION:
                return SETTING_ENCRYPTION;
        case ACTION_ENABLE_MONITORING:
        case ACTION_DISABLE_MONITORING:
                return SETTING_METRICS;
        case ACTION_UPDATE_MAX_RECORD_SIZE:
                return SETTING_MAX_RECORD_SIZE;
        case ACTION_ADD_TAGS:
        case ACTION_REMOVE_TAGS:
                return SETTING_TAGS;
        case ACTION_REGISTER_CONSUMER:
                return SETTING_CONSUMERS;
        case ACTION_TAG_RESOURCE:
        case ACTION_UNTAG_RESOURCE:
                return SETTING_CONSUMER_DETAILS;
        case ACTION_UPDATE_DISTRIBUTION:
                return SETTING_DISTRIBUTION;
        case ACTION_UPDATE_WARM_THROUGHPUT:
                return SETTING_WARM_THROUGHPUT;
        case ACTION_PUT_RESOURCE_POLICY:
        case ACTION_DELETE_RESOURCE_POLICY:
                return SETTING_RESOURCE_POLICY;
        default:
                return _SETTING_MAX; /* CreateStream: no one setting */
        }
}

unsigned guard_observe(struct reconcile_guard *g, const struct plan *p, uint64_t now_mono,
                       uint64_t hold_base_usec) {
        unsigned reverted = 0;

        for (unsigned s = 0; s < _SETTING_MAX; s++)
                if (conflict_observe(&g->conflicts, (enum stream_setting)s, !(p->differs & (1u << s)),
                                     now_mono, hold_base_usec) == CONFLICT_REVERTED)
                        reverted |= 1u << s;
        return reverted;
}

static void metrics_text(unsigned bits, char *buf, size_t n) {
        size_t o = 0;

        buf[0] = '\0';
        if ((bits & METRIC_ALL) == 0) {
                snprintf(buf, n, "none");
                return;
        }
        for (unsigned i = 0; i < SHARD_METRIC_COUNT && o < n; i++)
                if (bits & (1u << i))
                        o += (size_t)snprintf(buf + o, n - o, "%s%s", o ? "," : "",
                                              strna(shard_metric_name(i)));
}

static const struct stream_tag *tag_find(const struct stream_tag *tags, size_t n, const char *key) {
        for (size_t i = 0; i < n; i++)
                if (streq_ptr(tags[i].key, key))
                        return &tags[i];
        return NULL;
}

/* The differing keys with both values: key "B" in AWS, kinesisd set "A". */
static void tags_text(const struct stream_decl *decl, const struct stream_obs *obs, char *buf, size_t n) {
        size_t o = (size_t)snprintf(buf, n, "tags were changed back:");
        char k[300], v1[300], v2[300];
        const char *sep = " ";

        for (size_t i = 0; i < decl->x->n_tags && o < n; i++) {
                const struct stream_tag *t = tag_find(obs->tags, obs->n_tags, decl->x->tags[i].key);

                if (t && streq(strempty(t->value), strempty(decl->x->tags[i].value)))
                        continue;
                o += (size_t)snprintf(buf + o, n - o, "%s%s %s in AWS, kinesisd set %s", sep,
                                      quote(decl->x->tags[i].key, k, sizeof k),
                                      t ? quote(strempty(t->value), v1, sizeof v1) : "missing",
                                      quote(strempty(decl->x->tags[i].value), v2, sizeof v2));
                sep = "; ";
        }
        for (size_t i = 0; i < obs->n_tags && o < n; i++) {
                if (tag_find(decl->x->tags, decl->x->n_tags, obs->tags[i].key) ||
                    strncasecmp(strempty(obs->tags[i].key), "aws:", 4) == 0)
                        continue;
                o += (size_t)snprintf(buf + o, n - o, "%s%s %s in AWS, not declared", sep,
                                      quote(obs->tags[i].key, k, sizeof k),
                                      quote(strempty(obs->tags[i].value), v1, sizeof v1));
                sep = "; ";
        }
}

void guard_conflict_text(enum stream_setting s, const struct stream_decl *decl, const struct stream_obs *obs,
                         char *buf, size_t n) {
        char a[300], b[300];

        switch (s) {
        case SETTING_MODE:
                snprintf(buf, n, "mode was changed back to %s after kinesisd set %s", mode_name(obs->mode),
                         mode_name(decl->mode));
                break;
        case SETTING_SHARDS:
                snprintf(buf, n, "shards was changed back to %u after kinesisd set %u (declared)",
                         obs->open_shards, decl->shards);
                break;
        case SETTING_RETENTION:
                snprintf(buf, n, "retention was changed back to %uh after kinesisd set %uh",
                         obs->retention_hours, decl->retention_hours);
                break;
        case SETTING_ENCRYPTION:
                snprintf(buf, n, "encryption was changed back to key %s after kinesisd set key %s",
                         quote(obs->kms_key, a, sizeof a), quote(decl->x->kms_key, b, sizeof b));
                break;
        case SETTING_METRICS:
                metrics_text(obs->metrics, a, sizeof a);
                metrics_text(decl->metrics, b, sizeof b);
                snprintf(buf, n, "shard-level metrics were changed back to %s after kinesisd set %s", a, b);
                break;
        case SETTING_MAX_RECORD_SIZE:
                snprintf(buf, n, "max record size was changed back to %u KiB after kinesisd set %u KiB",
                         obs->max_record_size_kib, decl->max_record_size_kib);
                break;
        case SETTING_TAGS:
                tags_text(decl, obs, buf, n);
                break;
        case SETTING_RESOURCE_POLICY:
                snprintf(buf, n, "the resource policy was %s after kinesisd set it",
                         obs->resource_policy ? "changed" : "removed");
                break;
        default:
                snprintf(buf, n, "%s were changed back after kinesisd set them",
                         strna(stream_setting_to_string(s)));
        }
}

static void format_span(uint64_t usec, char *buf, size_t n) {
        uint64_t sec = (usec + 999999) / 1000000;

        if (sec < 120)
                snprintf(buf, n, "%llu s", (unsigned long long)sec);
        else if (sec < 2 * 3600)
                snprintf(buf, n, "%llu min", (unsigned long long)((sec + 59) / 60));
        else
                snprintf(buf, n, "%llu h", (unsigned long long)((sec + 3599) / 3600));
}

void guard_conflict_message(const struct reconcile_guard *g, enum stream_setting s,
                            const struct stream_decl *decl, const struct stream_obs *obs, uint64_t now,
                            char *buf, size_t n) {
        uint64_t until = conflict_hold_until(&g->conflicts, s);
        char what[1024], hold[32];

        guard_conflict_text(s, decl, obs, what, sizeof what);
        format_span(until > now ? until - now : 0, hold, sizeof hold);
        snprintf(buf, n, "Stream %s: %s; another party manages it. Not correcting %s for %s.", decl->name,
                 what, strna(stream_setting_to_string(s)), hold);
}

static bool tags_equal(const struct stream_decl *a, const struct stream_decl *b) {
        return a->tags_declared == b->tags_declared &&
               stream_tags_equal(a->x->tags, a->x->n_tags, b->x->tags, b->x->n_tags);
}

static bool consumer_opts_equal(const struct consumer_decl *a, const struct consumer_decl *b) {
        static const struct consumer_decl none = {};

        a = a ?: &none;
        b = b ?: &none;
        return a->tags_declared == b->tags_declared &&
               stream_tags_equal(a->tags, a->n_tags, b->tags, b->n_tags) &&
               a->policy_declared == b->policy_declared && streq_ptr(a->policy_norm, b->policy_norm);
}

/* with_opts: compare what each declares besides its name too. */
static bool consumers_equal(const struct stream_decl *a, const struct stream_decl *b, bool with_opts) {
        if (a->x->n_consumers != b->x->n_consumers)
                return false;
        for (size_t i = 0; i < a->x->n_consumers; i++) {
                const struct consumer_decl *ao = a->x->consumer_opts ? &a->x->consumer_opts[i] : NULL;
                const struct consumer_decl *bo = b->x->consumer_opts ? &b->x->consumer_opts[i] : NULL;
                if (!streq_ptr(a->x->consumers[i], b->x->consumers[i]) ||
                    (with_opts && !consumer_opts_equal(ao, bo)))
                        return false;
        }
        return true;
}

static bool setting_equal(enum stream_setting s, const struct stream_decl *a, const struct stream_decl *b) {
        switch (s) {
        case SETTING_MODE:
                return a->mode == b->mode;
        case SETTING_SHARDS:
                return a->shards == b->shards;
        case SETTING_RETENTION:
                return a->retention_hours == b->retention_hours;
        case SETTING_ENCRYPTION:
                return streq_ptr(a->x->kms_key, b->x->kms_key);
        case SETTING_METRICS:
                return a->metrics == b->metrics;
        case SETTING_MAX_RECORD_SIZE:
                return a->max_record_size_kib == b->max_record_size_kib;
        case SETTING_TAGS:
                return tags_equal(a, b);
        case SETTING_CONSUMERS:
                return consumers_equal(a, b, false);
        case SETTING_CONSUMER_DETAILS:
                return consumers_equal(a, b, true);
        case SETTING_DISTRIBUTION:
                return a->distribution == b->distribution;
        case SETTING_WARM_THROUGHPUT:
                return a->warm_throughput_mibps == b->warm_throughput_mibps;
        case SETTING_RESOURCE_POLICY:
                return a->resource_policy_declared == b->resource_policy_declared &&
                       streq_ptr(a->x->resource_policy_norm, b->x->resource_policy_norm);
        default:
                return true;
        }
}

bool guard_decl_same(const struct stream_decl *decl, const struct stream_decl *old_decl) {
        if (decl->manage != old_decl->manage)
                return false;
        for (unsigned s = 0; s < _SETTING_MAX; s++)
                if (!setting_equal((enum stream_setting)s, decl, old_decl))
                        return false;
        return true;
}

bool guard_adopt(struct reconcile_guard *g, const struct reconcile_guard *old,
                 const struct stream_decl *decl, const struct stream_decl *old_decl) {
        bool same = decl->manage == old_decl->manage;

        /* A change without effect is tried afresh under the new configuration. */
        g->conflicts = old->conflicts;
        for (unsigned s = 0; s < _SETTING_MAX; s++)
                if (!setting_equal((enum stream_setting)s, decl, old_decl)) {
                        conflict_forget(&g->conflicts, (enum stream_setting)s);
                        same = false;
                }
        return same;
}
