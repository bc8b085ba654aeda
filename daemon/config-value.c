/* Value parsers of the configuration loader (DESIGN §3): one function per
 * kind of value, called through the key tables of config.c. Each takes one
 * node, checks it against its rule, and either stores the value at dest or
 * reports what is wrong, at the node's position, and leaves dest alone.
 *
 * This file must never read files (a policy file is config-policy.c's), log,
 * or decide which key a value belongs
 * to or what a missing key means: that is config.c's. */
#include "config-value.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aws/arn.h"
#include "aws/endpoint.h"
#include "aws/url.h"
#include "config-diag.h"
#include "config-policy.h"

/* Long enough for any sane interval; keeps now + duration far from overflow. */
#define CONFIG_DURATION_MAX (30 * 24 * 3600 * USEC_PER_SEC)
#define TAG_KEY_MAX 128
#define TAG_VALUE_MAX 256
#define AWS_TAG_PREFIX "aws:" /* reserved by AWS, any case */
#define KMS_KEY_MAX 2048
#define KMS_ALIAS_PREFIX "alias/"
#define KMS_MULTI_REGION_PREFIX "mrk-"
#define KMS_ARN_PREFIX "arn:"
#define KMS_ARN_PARTITION "arn:aws" /* aws, aws-cn, aws-us-gov, ... */
#define PORT_MAX 65535
#define PORT_MAX_DIGITS 5
#define PROFILE_MAX_LEN 256
/* Room for the choices of any key, as "a, b or c". */
#define CHOICE_LIST_SIZE 256

/* ---------------------------------------------------------------------------
 * Durations */

int config_parse_duration(const char *s, uint64_t *ret_usec) {
        static const struct {
                const char *suffix;
                uint64_t usec;
        } units[] = {
                /* "ms" before "m", so that the longer suffix wins. */
                { "ms", USEC_PER_MSEC },
                { "s", USEC_PER_SEC },
                { "m", 60 * USEC_PER_SEC },
                { "h", 3600 * USEC_PER_SEC },
        };
        uint64_t n = 0;
        const char *p = s;

        if (!s || !ret_usec)
                return -EINVAL;
        if (*p < '0' || *p > '9')
                return -EINVAL;
        for (; *p >= '0' && *p <= '9'; p++) {
                unsigned digit = (unsigned) (*p - '0');
                if (n > (UINT64_MAX - digit) / 10)
                        return -ERANGE;
                n = n * 10 + digit;
        }
        for (size_t i = 0; i < ELEMENTSOF(units); i++) {
                if (!streq(p, units[i].suffix))
                        continue;
                if (n > UINT64_MAX / units[i].usec)
                        return -ERANGE;
                *ret_usec = n * units[i].usec;
                return 0;
        }
        return -EINVAL;
}

/* ---------------------------------------------------------------------------
 * Mappings, lists and scalars */

static size_t utf8_chars(const char *s, size_t len) {
        size_t n = 0;
        for (size_t i = 0; i < len; i++)
                if (((unsigned char) s[i] & 0xc0) != 0x80)
                        n++;
        return n;
}

size_t value_keys(const struct walk *w, const struct node *m, const struct key_desc *keys,
                  size_t n_keys, struct slot *slots) {
        size_t n_unknown = 0;

        for (size_t i = 0; i < n_keys; i++)
                slots[i] = (struct slot) {};
        for (size_t i = 0; i + 1 < m->n_items; i += 2) {
                const struct node *key = m->items[i], *value = m->items[i + 1];
                size_t k;

                if (key->ignore || key->kind != NODE_SCALAR)
                        continue;
                for (k = 0; k < n_keys; k++)
                        if (key->len == strlen(keys[k].name) && streq(key->text, keys[k].name))
                                break;
                if (k == n_keys) {
                        diag_unknown_key(w, key, keys, n_keys);
                        n_unknown++;
                        continue;
                }
                slots[k] = (struct slot) { .key = key, .value = value };
        }
        return n_unknown;
}

/* A section of the given kind to walk; a null value is an empty section. */
static bool section_of(const struct walk *w, const char *label, const struct node *v,
                       enum node_kind kind, const char *expected) {
        char q[QUOTE_SIZE];

        if (v->ignore || node_is_null(v))
                return false;
        if (v->kind != kind) {
                walk_error(w, v, "%s: expected %s, got %s", label, expected, diag_describe(v, q));
                return false;
        }
        return true;
}

bool value_map(const struct walk *w, const char *label, const struct node *v) {
        return section_of(w, label, v, NODE_MAPPING, "a mapping");
}

bool value_list(const struct walk *w, const char *label, const struct node *v) {
        return section_of(w, label, v, NODE_SEQUENCE, "a list");
}

const char *value_scalar(const struct walk *w, const char *label, const struct node *v,
                         const char *expected) {
        char q[QUOTE_SIZE];

        if (v->ignore)
                return NULL;
        if (v->kind != NODE_SCALAR) {
                walk_error(w, v, "%s: expected %s, got %s", label, expected, diag_describe(v, q));
                return NULL;
        }
        if (node_is_null(v)) {
                walk_error(w, v, "%s: a value is required", label);
                return NULL;
        }
        if (strlen(v->text) != v->len) {
                walk_error(w, v, "%s: must not contain a NUL character", label);
                return NULL;
        }
        for (size_t i = 0; i < v->len; i++) {
                unsigned char c = (unsigned char) v->text[i];
                if (c < 0x20 || c == 0x7f) {
                        walk_error(w, v, "%s: %s contains a control character", label, diag_quote(v, q));
                        return NULL;
                }
        }
        return v->text;
}

static int set_string(const struct walk *w, char **dest, const char *s) {
        char *copy = strdup(s);
        if (!copy)
                return walk_oom(w);
        free(*dest);
        *dest = copy;
        return 0;
}

/* ---------------------------------------------------------------------------
 * Value parsers (table entries) */

int value_uint_range(const struct walk *w, const struct key_desc *k, const char *label,
                     const struct node *v, void *dest) {
        const char *t = value_scalar(w, label, v, "an integer");
        char q[QUOTE_SIZE];
        const char *p;
        uint64_t n = 0;
        bool negative, overflow = false;

        if (!t)
                return -EINVAL;
        negative = t[0] == '-';
        p = t + negative;
        if (*p == '\0' || strspn(p, "0123456789") != strlen(p))
                return walk_error(w, v, "%s: expected an integer, got %s", label, diag_quote(v, q));
        if (!v->plain)
                return walk_error(w, v,
                                  "%s: expected an integer, got the string %s (write it without quotes)",
                                  label, diag_quote(v, q));
        for (; *p; p++) {
                if (n > UINT_MAX)
                        overflow = true;
                else
                        n = n * 10 + (unsigned) (*p - '0');
        }
        if (negative || overflow || n < k->min || n > k->max)
                return walk_error(w, v, "%s: %s is out of range (%u-%u)", label,
                                  diag_escape(t, v->len, false, q), k->min, k->max);
        *(unsigned *) dest = (unsigned) n;
        return 0;
}

int value_duration(const struct walk *w, const struct key_desc *k, const char *label,
                   const struct node *v, void *dest) {
        const char *t = value_scalar(w, label, v, "a duration");
        char q[QUOTE_SIZE];
        uint64_t usec;
        int r;

        if (!t)
                return -EINVAL;
        r = config_parse_duration(t, &usec);
        if (r == -ERANGE || (r >= 0 && usec > CONFIG_DURATION_MAX))
                return walk_error(w, v, "%s: %s is too long (at most 720h)", label, diag_quote(v, q));
        if (r < 0)
                return walk_error(w, v,
                                  "%s: %s is not a duration (a number and ms, s, m or h: 500ms, 30s, 5m, 2h)",
                                  label, diag_quote(v, q));
        if (usec == 0)
                return walk_error(w, v, "%s: must be longer than zero", label);
        *(uint64_t *) dest = usec;
        return 0;
}

/* A share of AWS's limits: a decimal in (0, 1] or a percentage in (0%, 100%].
 * strtod() alone would take "inf", "nan", hex and locale forms: only digits,
 * one dot and an optional trailing '%' are let through. */
int value_share(const struct walk *w, const struct key_desc *k, const char *label,
                const struct node *v, void *dest) {
        const char *t = value_scalar(w, label, v, "a share");
        char q[QUOTE_SIZE];
        size_t len, digits;
        bool percent;
        double x;

        if (!t)
                return -EINVAL;
        len = strlen(t);
        percent = len > 0 && t[len - 1] == '%';
        /* A sign is read (so "-1" is out of range, not "not a share"). */
        digits = strspn(t + (t[0] == '-'), "0123456789.") + (t[0] == '-');
        if (len == 0 || digits != len - percent || digits == 0 || strchr(t, '.') != strrchr(t, '.') ||
            streq(t, ".") || digits > 32)
                return walk_error(w, v, "%s: %s is not a share (a number above 0 and at most 1, "
                                        "like 0.5, or a percentage like 50%%)",
                                  label, diag_quote(v, q));
        x = strtod(t, NULL);
        if (percent)
                x /= 100;
        if (!(x > 0) || x > 1)
                return walk_error(w, v, "%s: %s is out of range (above 0 and at most 1, or at most 100%%)",
                                  label, diag_quote(v, q));
        *(double *) dest = x;
        return 0;
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

int value_region(const struct walk *w, const struct key_desc *k, const char *label,
                 const struct node *v, void *dest) {
        const char *t = value_scalar(w, label, v, "a region name");
        char q[QUOTE_SIZE];

        if (!t)
                return -EINVAL;
        if (!endpoint_region_is_valid(t))
                return walk_error(w, v, "%s: %s is not an AWS region name (like us-west-2)", label,
                                  diag_quote(v, q));
        return set_string(w, dest, t);
}

int value_profile(const struct walk *w, const struct key_desc *k, const char *label,
                  const struct node *v, void *dest) {
        const char *t = value_scalar(w, label, v, "a profile name");
        char q[QUOTE_SIZE];

        if (!t)
                return -EINVAL;
        if (v->len == 0 || v->len > PROFILE_MAX_LEN || strpbrk(t, " \t[]"))
                return walk_error(w, v, "%s: %s is not a valid profile name", label, diag_quote(v, q));
        return set_string(w, dest, t);
}

int value_role_arn(const struct walk *w, const struct key_desc *k, const char *label,
                   const struct node *v, void *dest) {
        const char *t = value_scalar(w, label, v, "an IAM role ARN"), *problem = NULL;
        char q[QUOTE_SIZE];

        if (!t)
                return -EINVAL;
        if (strlen(t) != v->len || arn_role_parse(t, NULL, &problem) < 0)
                return walk_error(w, v, "%s: %s %s", label, diag_quote(v, q),
                                  problem ?: "is not an IAM role ARN");
        return set_string(w, dest, t);
}

/* Never quoted: an external ID is a shared secret of sorts. */
int value_external_id(const struct walk *w, const struct key_desc *k, const char *label,
                      const struct node *v, void *dest) {
        const char *t = value_scalar(w, label, v, "an external ID");

        if (!t)
                return -EINVAL;
        if (strlen(t) != v->len || !arn_external_id_is_valid(t))
                return walk_error(w, v,
                                  "%s: must be %d-%d characters of A-Z a-z 0-9 and +=,.@:/_- "
                                  "(value not shown)",
                                  label, ARN_EXTERNAL_ID_MIN, ARN_EXTERNAL_ID_MAX);
        return set_string(w, dest, t);
}

static const char ENDPOINT_USER_INFORMATION[] = "must not contain user information";

/* NULL if s is an http(s) URL kinesisd may talk to, else what is wrong. */
static const char *endpoint_problem(const char *s) {
        const char *host, *end, *colon;
        bool https;
        size_t hlen;

        if (strncasecmp(s, "https://", 8) == 0)
                https = true, host = s + 8;
        else if (strncasecmp(s, "http://", 7) == 0)
                https = false, host = s + 7;
        else
                return "is not an http:// or https:// URL";
        if (strlen(s) > URL_MAX)
                return "is too long";
        if (strpbrk(s, " \t"))
                return "must not contain spaces";
        end = host + strcspn(host, "/?#");
        if (memchr(host, '@', (size_t) (end - host)))
                return ENDPOINT_USER_INFORMATION;
        /* The host ends at a port, except inside an IPv6 [literal]. */
        if (host[0] == '[') {
                const char *close = memchr(host, ']', (size_t) (end - host));
                if (!close)
                        return "has an unterminated IPv6 address";
                colon = close + 1;
                if (colon != end && *colon != ':')
                        return "has no valid host";
        } else
                colon = memchr(host, ':', (size_t) (end - host)) ?: end;
        hlen = (size_t) (colon - host);
        if (hlen == 0)
                return "has no host";
        if (host[0] != '[')
                for (size_t i = 0; i < hlen; i++)
                        if (!isalnum((unsigned char) host[i]) && host[i] != '-' && host[i] != '.')
                                return "has no valid host";
        if (colon != end) {
                const char *port = colon + 1;
                size_t plen = (size_t) (end - port);
                unsigned long n = 0;
                if (plen == 0 || plen > PORT_MAX_DIGITS)
                        return "has an invalid port";
                for (size_t i = 0; i < plen; i++) {
                        if (!is_digit(port[i]))
                                return "has an invalid port";
                        n = n * 10 + (unsigned long) (port[i] - '0');
                }
                if (n == 0 || n > PORT_MAX)
                        return "has an invalid port";
        }
        /* DESIGN §5: credentials travel in plain text over http://. The one
         * loopback rule of the HTTP client and the command line. */
        if (!https && !url_is_loopback(s))
                return "uses http://, which is only allowed for a loopback host (localhost, 127.0.0.1, [::1])";
        return NULL;
}

int value_endpoint(const struct walk *w, const struct key_desc *k, const char *label,
                   const struct node *v, void *dest) {
        const char *t = value_scalar(w, label, v, "a URL"), *problem;
        char q[QUOTE_SIZE];

        if (!t)
                return -EINVAL;
        problem = endpoint_problem(t);
        if (problem == ENDPOINT_USER_INFORMATION) /* not quoted: it may hold a password */
                return walk_error(w, v, "%s: %s (user:password@)", label, problem);
        if (problem)
                return walk_error(w, v, "%s: %s %s", label, diag_quote(v, q), problem);
        return set_string(w, dest, t);
}

int value_abs_path(const struct walk *w, const struct key_desc *k, const char *label,
                   const struct node *v, void *dest) {
        const char *t = value_scalar(w, label, v, "a path");
        char q[QUOTE_SIZE];

        if (!t)
                return -EINVAL;
        if (t[0] != '/')
                return walk_error(w, v, "%s: %s is not an absolute path", label, diag_quote(v, q));
        if (v->len >= PATH_MAX)
                return walk_error(w, v, "%s: path is too long", label);
        return set_string(w, dest, t);
}

/* NULL if s is a valid stream or consumer name, else what is wrong. */
static const char *name_problem(const char *s, size_t len) {
        if (len == 0)
                return "must not be empty";
        if (len > NAME_MAX_LEN)
                return "is longer than 128 characters";
        if (strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") != len)
                return "may only contain letters, digits, '_', '.' and '-'";
        return NULL;
}

int value_name(const struct walk *w, const struct key_desc *k, const char *label,
               const struct node *v, void *dest) {
        const char *t, *problem;
        char q[QUOTE_SIZE];

        if (v->kind == NODE_SCALAR && !v->ignore && !node_is_null(v) && v->len == 0)
                return walk_error(w, v, "%s: must not be empty", label);
        t = value_scalar(w, label, v, "a name");
        if (!t)
                return -EINVAL;
        problem = name_problem(t, v->len);
        if (problem)
                return walk_error(w, v, "%s: %s %s", label, diag_quote(v, q), problem);
        return set_string(w, dest, t);
}

/* The index of v's text in values[], or -EINVAL after reporting. */
static int parse_choice(const struct walk *w, const char *label, const struct node *v,
                        const char *const *values, size_t n) {
        const char *t = value_scalar(w, label, v, "a value"), *s;
        char q[QUOTE_SIZE], list[CHOICE_LIST_SIZE] = "";

        if (!t)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (streq(t, values[i]))
                        return (int) i;
        for (size_t i = 0; i < n; i++) {
                strncat(list, i == 0 ? "" : i + 1 == n ? " or " : ", ", sizeof(list) - strlen(list) - 1);
                strncat(list, values[i], sizeof(list) - strlen(list) - 1);
        }
        s = diag_suggest(t, values, n);
        if (s)
                return walk_error(w, v, "%s: %s is not %s (did you mean \"%s\"?)", label, diag_quote(v, q),
                                  list, s);
        return walk_error(w, v, "%s: %s is not %s", label, diag_quote(v, q), list);
}

int value_stream_mode(const struct walk *w, const struct key_desc *k, const char *label,
                      const struct node *v, void *dest) {
        static const char *const values[] = {
                [STREAM_MODE_PROVISIONED] = "provisioned",
                [STREAM_MODE_ON_DEMAND] = "on_demand",
        };
        int r = parse_choice(w, label, v, values, ELEMENTSOF(values));
        if (r < 0)
                return r;
        *(uint8_t *) dest = (uint8_t) r; /* struct stream_decl's mode */
        return 0;
}

int value_distribution(const struct walk *w, const struct key_desc *k, const char *label,
                       const struct node *v, void *dest) {
        static const char *const values[] = { "user_partition_key", "auto" };
        int r = parse_choice(w, label, v, values, ELEMENTSOF(values));
        if (r < 0)
                return r;
        *(uint8_t *) dest = r == 0 ? DISTRIBUTION_USER_PARTITION_KEY : DISTRIBUTION_AUTO;
        return 0;
}

int value_manage(const struct walk *w, const struct key_desc *k, const char *label,
                 const struct node *v, void *dest) {
        static const char *const values[] = {
                [MANAGE_FULL] = "full",
                [MANAGE_CREATE_ONLY] = "create-only",
                [MANAGE_OBSERVE] = "observe",
        };
        int r = parse_choice(w, label, v, values, ELEMENTSOF(values));
        if (r < 0)
                return r;
        *(uint8_t *) dest = (uint8_t) r; /* struct stream_decl's manage */
        return 0;
}

/* An alias (alias/...), a key id (UUID or mrk-...) or an ARN. */
static bool kms_key_is_valid(const char *s, size_t len) {
        if (len == 0 || len > KMS_KEY_MAX || strpbrk(s, " \t"))
                return false;
        if (strncmp(s, KMS_ALIAS_PREFIX, strlen(KMS_ALIAS_PREFIX)) == 0)
                return len > strlen(KMS_ALIAS_PREFIX);
        if (strncmp(s, KMS_ARN_PREFIX, strlen(KMS_ARN_PREFIX)) == 0)
                return strncmp(s, KMS_ARN_PARTITION, strlen(KMS_ARN_PARTITION)) == 0 && strstr(s, ":kms:");
        if (strncmp(s, KMS_MULTI_REGION_PREFIX, strlen(KMS_MULTI_REGION_PREFIX)) == 0)
                s += strlen(KMS_MULTI_REGION_PREFIX);
        return *s && strspn(s, "0123456789abcdefABCDEF-") == strlen(s);
}

static const struct key_desc encryption_keys[] = {
        { .name = "kms_key" },
};

int value_encryption(const struct walk *w, const struct key_desc *k, const char *label,
                     const struct node *v, void *dest) {
        struct slot slots[ELEMENTSOF(encryption_keys)];
        const struct node *key;
        size_t n_unknown;
        const char *t;
        char q[QUOTE_SIZE];

        if (v->ignore)
                return -EINVAL;
        if (v->kind == NODE_SCALAR && !node_is_null(v)) {
                if (!streq(v->text, "none"))
                        return walk_error(w, v, "%s: expected none or a mapping with kms_key, got %s",
                                          label, diag_quote(v, q));
                free(*(char **) dest);
                *(char **) dest = NULL;
                return 0;
        }
        if (v->kind != NODE_MAPPING)
                return walk_error(w, v, "%s: expected none or a mapping with kms_key, got %s", label,
                                  diag_describe(v, q));

        n_unknown = value_keys(w, v, encryption_keys, ELEMENTSOF(encryption_keys), slots);
        key = slots[0].value;
        if (!key && n_unknown > 0) /* most likely a misspelt kms_key, already reported */
                return -EINVAL;
        if (!key)
                return walk_error(w, v, "%s: kms_key is required (or write encryption: none)", label);
        t = value_scalar(w, "kms_key", key, "a key alias, id or ARN");
        if (!t)
                return -EINVAL;
        if (!kms_key_is_valid(t, key->len))
                return walk_error(w, key,
                                  "kms_key: %s is not a KMS key alias (alias/...), key id or key ARN",
                                  diag_quote(key, q));
        return set_string(w, dest, t);
}

int value_metrics(const struct walk *w, const struct key_desc *k, const char *label,
                  const struct node *v, void *dest) {
        const char *names[SHARD_METRIC_COUNT + 1];
        unsigned bits = 0;
        bool bad = false;
        char q[QUOTE_SIZE];

        if (v->ignore)
                return -EINVAL;
        if (v->kind == NODE_SCALAR && !node_is_null(v)) {
                if (!streq(v->text, "ALL"))
                        return walk_error(w, v, "%s: expected a list of metrics or ALL, got %s", label,
                                          diag_quote(v, q));
                *(unsigned *) dest = METRIC_ALL;
                return 0;
        }
        if (node_is_null(v)) {
                *(unsigned *) dest = 0;
                return 0;
        }
        if (v->kind != NODE_SEQUENCE)
                return walk_error(w, v, "%s: expected a list of metrics or ALL, got %s", label,
                                  diag_describe(v, q));

        for (size_t i = 0; i < SHARD_METRIC_COUNT; i++)
                names[i] = shard_metric_name((unsigned) i);
        names[SHARD_METRIC_COUNT] = "ALL";
        for (size_t i = 0; i < v->n_items; i++) {
                const struct node *e = v->items[i];
                const char *t = value_scalar(w, label, e, "a metric name"), *s;
                unsigned bit;

                if (!t) {
                        bad = true;
                        continue;
                }
                bit = shard_metric_from_name(t);
                if (bit == 0) {
                        s = diag_suggest(t, names, ELEMENTSOF(names));
                        if (s)
                                walk_error(w, e, "%s: %s is not a shard-level metric (did you mean \"%s\"?)",
                                           label, diag_quote(e, q), s);
                        else
                                walk_error(w, e, "%s: %s is not a shard-level metric", label,
                                           diag_quote(e, q));
                        bad = true;
                        continue;
                }
                if (bit != METRIC_ALL && (bits & bit)) {
                        walk_error(w, e, "%s: %s is listed twice", label, diag_quote(e, q));
                        bad = true;
                        continue;
                }
                bits |= bit;
        }
        if (bad)
                return -EINVAL;
        *(unsigned *) dest = bits;
        return 0;
}

static int node_ptr_text_cmp(const void *a, const void *b) {
        const struct node *x = *(const struct node *const *) a, *y = *(const struct node *const *) b;
        int r = strcmp(x->text, y->text);
        if (r != 0)
                return r;
        if (x->line != y->line)
                return x->line < y->line ? -1 : 1;
        return x->column < y->column ? -1 : x->column > y->column;
}

/* A consumer entry: its name node first (node_ptr_text_cmp() sorts these
 * by name), the entry itself, and where a mapping entry put its keys. */
enum {
        CK_NAME,
        CK_TAGS,
        CK_RESOURCE_POLICY,
        _CK_MAX,
};

static const struct key_desc consumer_keys[_CK_MAX] = {
        [CK_NAME] = { .name = "name" },
        [CK_TAGS] = { .name = "tags" },
        [CK_RESOURCE_POLICY] = { .name = "resource_policy" },
};

struct consumer_entry {
        const struct node *name;
        const struct node *entry;
        struct slot slots[_CK_MAX];
};

/* What a mapping entry declares besides its name: 0, or -EINVAL after
 * reporting, or -ENOMEM. */
static int consumer_options(const struct walk *w, const struct consumer_entry *e, struct consumer_decl *ret) {
        int r = 0;

        if (e->slots[CK_TAGS].value) {
                r = value_tags(w, e->slots[CK_TAGS].value, &ret->tags, &ret->n_tags);
                ret->tags_declared = r >= 0;
        }
        if (r != -ENOMEM && e->slots[CK_RESOURCE_POLICY].value) {
                int k = value_policy(w, "resource_policy", e->slots[CK_RESOURCE_POLICY].value,
                                     &ret->policy_declared, &ret->policy, &ret->policy_norm);
                r = r < 0 ? r : k;
        }
        return r;
}

int value_consumers(const struct walk *w, const struct key_desc *k, const char *label,
                    const struct node *v, void *dest) {
        struct stream_decl *d = dest;
        _cleanup_free_ struct consumer_entry *good = NULL;
        size_t n_good = 0;
        char **out;
        struct consumer_decl *opts;
        bool bad = false;

        if (!value_list(w, label, v))
                return v->ignore || !node_is_null(v) ? -EINVAL : 0;
        good = calloc(v->n_items, sizeof(*good));
        if (!good)
                return walk_oom(w);
        for (size_t i = 0; i < v->n_items; i++) {
                struct consumer_entry *ce = &good[n_good];
                const struct node *e = v->items[i];
                const char *t, *problem;
                char q[QUOTE_SIZE];

                *ce = (struct consumer_entry) { .name = e, .entry = e };
                if (e->kind == NODE_MAPPING && !e->ignore) {
                        size_t unknown = value_keys(w, e, consumer_keys, _CK_MAX, ce->slots);

                        ce->name = ce->slots[CK_NAME].value;
                        if (!ce->name) {
                                if (unknown == 0)
                                        walk_error(w, e, "%s: a consumer written as a mapping needs name:",
                                                   label);
                                bad = true;
                                continue;
                        }
                }
                t = value_scalar(w, label, ce->name, "a consumer name or { name, tags, resource_policy }");
                if (!t) {
                        bad = true;
                        continue;
                }
                if (ce->name->len == 0) {
                        walk_error(w, ce->name, "%s: a consumer name must not be empty", label);
                        bad = true;
                        continue;
                }
                problem = name_problem(t, ce->name->len);
                if (problem) {
                        walk_error(w, ce->name, "%s: %s %s", label, diag_quote(ce->name, q), problem);
                        bad = true;
                        continue;
                }
                n_good++;
        }
        /* A consumer_entry starts with its name node: sorted by name. */
        qsort(good, n_good, sizeof(*good), node_ptr_text_cmp);
        for (size_t i = 1, first = 0; i < n_good; i++) {
                char q[QUOTE_SIZE], at[FIRST_AT_SIZE];
                if (!streq(good[i].name->text, good[first].name->text)) {
                        first = i;
                        continue;
                }
                walk_error(w, good[i].name, "%s: %s is listed twice (first at %s)", label,
                           diag_quote(good[i].name, q), diag_first_at(good[first].name, good[i].name, at));
                bad = true;
        }
        out = calloc(n_good + 1, sizeof(char *));
        opts = calloc(n_good + 1, sizeof(*opts));
        if (!out || !opts) {
                free(out);
                free(opts);
                return walk_oom(w);
        }
        /* Each entry's options are checked even when another entry is bad. */
        int r = bad ? -EINVAL : 0;
        for (size_t i = 0; i < n_good && r != -ENOMEM; i++) {
                int q = consumer_options(w, &good[i], &opts[i]);

                out[i] = strdup(good[i].name->text);
                if (!out[i] || q == -ENOMEM)
                        q = walk_oom(w);
                r = q == -ENOMEM || r >= 0 ? q : r;
        }
        if (r < 0) {
                for (size_t i = 0; i < n_good; i++)
                        consumer_decl_done(&opts[i]);
                free(opts);
                strv_free(out);
                return r;
        }
        for (size_t i = 0; i < d->x->n_consumers; i++) {
                free(d->x->consumers[i]);
                if (d->x->consumer_opts)
                        consumer_decl_done(&d->x->consumer_opts[i]);
        }
        free(d->x->consumers);
        free(d->x->consumer_opts);
        d->x->consumers = out;
        d->x->consumer_opts = opts;
        d->x->n_consumers = n_good;
        return 0;
}

int value_tags(const struct walk *w, const struct node *v, struct stream_tag **ret,
               size_t *ret_n) {
        struct stream_tag *tags;
        size_t n = 0;
        bool bad = false;

        *ret = NULL;
        *ret_n = 0;
        if (!value_map(w, "tags", v))
                return v->ignore || !node_is_null(v) ? -EINVAL : 0;
        if (node_n_pairs(v) > STREAM_TAGS_MAX)
                return walk_error(w, v, "tags: %zu tags, at most %d are allowed", node_n_pairs(v),
                                  STREAM_TAGS_MAX);
        tags = calloc(node_n_pairs(v), sizeof(*tags));
        if (!tags)
                return walk_oom(w);
        for (size_t i = 0; i + 1 < v->n_items; i += 2) {
                const struct node *key = v->items[i], *value = v->items[i + 1];
                const char *kt, *vt;
                char q[QUOTE_SIZE];

                if (key->ignore) {
                        bad = true;
                        continue;
                }
                if (node_is_null(key) || key->len == 0) {
                        walk_error(w, key, "tags: a tag key must not be empty");
                        bad = true;
                        continue;
                }
                kt = value_scalar(w, "tags", key, "a tag key");
                if (!kt) {
                        bad = true;
                        continue;
                }
                if (utf8_chars(kt, key->len) > TAG_KEY_MAX) {
                        walk_error(w, key, "tags: key %s is longer than %d characters", diag_quote(key, q),
                                   TAG_KEY_MAX);
                        bad = true;
                        continue;
                }
                if (strncasecmp(kt, AWS_TAG_PREFIX, strlen(AWS_TAG_PREFIX)) == 0) {
                        walk_error(w, key, "tags: key %s uses the prefix aws:, which AWS reserves",
                                   diag_quote(key, q));
                        bad = true;
                        continue;
                }
                /* "team:" with nothing after it is an empty value, which AWS allows. */
                if (node_is_null(value))
                        vt = "";
                else {
                        vt = value_scalar(w, "tags", value, "a tag value");
                        if (!vt) {
                                bad = true;
                                continue;
                        }
                        if (utf8_chars(vt, value->len) > TAG_VALUE_MAX) {
                                walk_error(w, value, "tags: value of %s is longer than %d characters",
                                           diag_quote(key, q), TAG_VALUE_MAX);
                                bad = true;
                                continue;
                        }
                }
                tags[n].key = strdup(kt);
                tags[n].value = strdup(vt);
                n++;
                if (!tags[n - 1].key || !tags[n - 1].value) {
                        stream_tags_free(tags, n);
                        return walk_oom(w);
                }
        }
        if (bad) {
                stream_tags_free(tags, n);
                return -EINVAL;
        }
        *ret = tags;
        *ret_n = n;
        return 0;
}
