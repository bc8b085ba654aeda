/* Resource-based policies: checks and the normal form they are compared in
 * (policy.h). AWS may give back a policy with its keys in another order,
 * other whitespace, or a single statement where one was sent as a list of
 * one: all of that is the same policy, and must never cause a rewrite. */
#include "policy.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json-util.h"
#include "util.h"

/* The configuration's own nesting cap: bounds the recursion of normalize(). */
#define POLICY_DEPTH_MAX 64

json_object *policy_parse(const char *text, size_t len) {
        struct json_tokener *tok;
        json_object *o;

        if (!text || len > INT32_MAX)
                return NULL;
        tok = json_tokener_new_ex(POLICY_DEPTH_MAX);
        if (!tok)
                return NULL;
        o = json_tokener_parse_ex(tok, text, (int)len);
        if (o && json_tokener_get_error(tok) == json_tokener_success)
                /* Only whitespace may follow the value. */
                for (size_t i = json_tokener_get_parse_end(tok); i < len; i++)
                        if (!strchr(" \t\r\n", text[i]) || text[i] == '\0') {
                                json_object_put(o);
                                o = NULL;
                                break;
                        }
        json_tokener_free(tok);
        return o;
}

const char *policy_problem(const json_object *doc) {
        json_object *v, *st;

        if (!doc || !json_object_is_type(doc, json_type_object))
                return "must be a JSON object";
        if (!json_object_object_get_ex(doc, "Version", &v) || !json_object_is_type(v, json_type_string))
                return "has no Version (a string, e.g. \"2012-10-17\")";
        if (!json_object_object_get_ex(doc, "Statement", &st))
                return "has no Statement";
        if (json_object_is_type(st, json_type_object))
                return NULL;
        if (!json_object_is_type(st, json_type_array) || json_object_array_length(st) == 0)
                return "Statement must be an object or a non-empty list of objects";
        for (size_t i = 0; i < json_object_array_length(st); i++)
                if (!json_object_is_type(json_object_array_get_idx(st, i), json_type_object))
                        return "Statement must be an object or a non-empty list of objects";
        return NULL;
}

char *policy_compact(const json_object *doc) {
        const char *s = json_object_to_json_string_ext((json_object *)doc,
                                                       JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        return s ? strdup(s) : NULL;
}

static int key_cmp(const void *a, const void *b) {
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A new value in normal form, or NULL on OOM or past POLICY_DEPTH_MAX. */
static json_object *normalize(json_object *v, unsigned depth) {
        if (depth > POLICY_DEPTH_MAX)
                return NULL;
        if (json_object_is_type(v, json_type_array)) {
                size_t n = json_object_array_length(v);
                json_object *out;

                if (n == 1)
                        return normalize(json_object_array_get_idx(v, 0), depth + 1);
                out = json_object_new_array_ext((int)n);
                if (!out)
                        return NULL;
                for (size_t i = 0; i < n; i++) {
                        json_object *e = normalize(json_object_array_get_idx(v, i), depth + 1);
                        if (!e || json_object_array_add(out, e) < 0) {
                                json_object_put(e);
                                json_object_put(out);
                                return NULL;
                        }
                }
                return out;
        }
        if (json_object_is_type(v, json_type_object)) {
                size_t n = (size_t)json_object_object_length(v), i = 0;
                _cleanup_free_ const char **keys = calloc(n + 1, sizeof(*keys));
                json_object *out = json_object_new_object();

                if (!keys || !out) {
                        json_object_put(out);
                        return NULL;
                }
                json_object_object_foreach(v, key, val) {
                        (void)val;
                        keys[i++] = key;
                }
                qsort(keys, i, sizeof(*keys), key_cmp);
                for (size_t j = 0; j < i; j++) {
                        json_object *e = normalize(json_object_object_get(v, keys[j]), depth + 1);
                        if (!e || json_object_object_add(out, keys[j], e) < 0) {
                                json_object_put(e);
                                json_object_put(out);
                                return NULL;
                        }
                }
                return out;
        }
        return json_object_get(v); /* scalars (and null) as they are */
}

int policy_normalize(const json_object *doc, char **ret) {
        _cleanup_json_ json_object *n = NULL;
        char *s;

        if (!doc || !ret)
                return -EINVAL;
        n = normalize((json_object *)doc, 0);
        if (!n)
                return -ENOMEM;
        s = policy_compact(n);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}
