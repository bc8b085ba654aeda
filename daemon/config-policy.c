/* resource_policy: one value, three spellings (config-policy.h).
 *
 *   resource_policy: none                  remove the stream's policy
 *   resource_policy: { file: policy.json } a JSON document, its path relative
 *                                          to the directory of the file that
 *                                          names it, read once at load time
 *   resource_policy:                       the policy itself, written in YAML;
 *     Version: "2012-10-17"                every scalar becomes a JSON string
 *     Statement: ...                       (IAM reads "true" and true alike)
 *
 * Either way the document must be a JSON object with Version and Statement
 * and, as compact JSON, at most POLICY_MAX_BYTES. Problems are reported at
 * the key or value they are about, with the file's line and column. */
#include "config-policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config-diag.h"
#include "file-read.h"
#include "json-util.h"
#include "policy.h"

/* A policy file is read whole; far more than any policy AWS accepts. */
#define POLICY_FILE_MAX (1024 * 1024)

/* The YAML tree as JSON, or NULL (reported, or out of memory). */
static json_object *node_to_json(const struct walk *w, const char *label, const struct node *n) {
        json_object *o;
        char q[QUOTE_SIZE];

        if (n->ignore)
                return NULL;
        switch (n->kind) {
        case NODE_SCALAR:
                if (node_is_null(n)) {
                        walk_error(w, n, "%s: a policy value must not be null", label);
                        return NULL;
                }
                o = json_object_new_string_len(n->text, (int)n->len);
                if (!o)
                        walk_oom(w);
                return o;
        case NODE_SEQUENCE:
                o = json_object_new_array_ext((int)n->n_items);
                if (!o) {
                        walk_oom(w);
                        return NULL;
                }
                for (size_t i = 0; i < n->n_items; i++) {
                        json_object *e = node_to_json(w, label, n->items[i]);
                        if (!e || json_object_array_add(o, e) < 0) {
                                json_object_put(e);
                                json_object_put(o);
                                return NULL;
                        }
                }
                return o;
        case NODE_MAPPING:
                o = json_object_new_object();
                if (!o) {
                        walk_oom(w);
                        return NULL;
                }
                for (size_t i = 0; i + 1 < n->n_items; i += 2) {
                        const struct node *key = n->items[i];
                        json_object *e;

                        if (key->ignore || key->kind != NODE_SCALAR) {
                                if (!key->ignore)
                                        walk_error(w, key, "%s: expected a key, got %s", label,
                                                   diag_describe(key, q));
                                json_object_put(o);
                                return NULL;
                        }
                        e = node_to_json(w, label, n->items[i + 1]);
                        if (!e || json_object_object_add(o, key->text, e) < 0) {
                                json_object_put(e);
                                json_object_put(o);
                                return NULL;
                        }
                }
                return o;
        }
        return NULL;
}

/* { file: PATH }: the document it names, or NULL after reporting. */
static json_object *policy_file(const struct walk *w, const char *label, const struct node *key,
                                const struct node *v) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        const char *slash = strrchr(w->path, '/');
        json_object *doc;
        size_t len;
        char q[QUOTE_SIZE];
        int k;

        if (v->ignore)
                return NULL;
        if (v->kind != NODE_SCALAR || node_is_null(v) || v->len == 0 || strlen(v->text) != v->len) {
                walk_error(w, v, "%s.file: expected the path of a JSON file, got %s", label,
                           diag_describe(v, q));
                return NULL;
        }
        if (v->text[0] == '/' || !slash)
                path = strdup(v->text);
        else if (asprintf(&path, "%.*s/%s", (int)(slash - w->path), w->path, v->text) < 0)
                path = NULL;
        if (!path) {
                walk_oom(w);
                return NULL;
        }
        k = read_file_bounded(path, POLICY_FILE_MAX, &text, &len, NULL);
        if (k == -ENOMEM) {
                walk_oom(w);
                return NULL;
        }
        if (k < 0) {
                walk_error(w, key, "%s.file: cannot read %s: %s", label, diag_quote(v, q),
                           k == -EFBIG ? "larger than 1 MiB" : strerror(-k));
                return NULL;
        }
        doc = policy_parse(text, len);
        if (!doc)
                walk_error(w, key, "%s.file: %s is not a JSON document", label, diag_quote(v, q));
        return doc;
}

int value_policy(const struct walk *w, const char *label, const struct node *v, bool *declared,
                 char **ret_send, char **ret_norm) {
        _cleanup_json_ json_object *doc = NULL;
        _cleanup_free_ char *send = NULL, *norm = NULL;
        const struct node *at = v;
        const char *problem;
        char q[QUOTE_SIZE];
        int r;

        if (v->ignore)
                return -EINVAL;
        if (v->kind == NODE_SCALAR && !node_is_null(v) && streq(v->text, "none")) {
                *declared = true;
                *ret_send = mfree(*ret_send);
                *ret_norm = mfree(*ret_norm);
                return 0;
        }
        if (v->kind != NODE_MAPPING)
                return walk_error(w, v, "%s: expected none, { file: PATH } or a policy mapping, got %s",
                                  label, diag_describe(v, q));
        if (node_n_pairs(v) == 1 && v->items[0]->kind == NODE_SCALAR && streq(v->items[0]->text, "file")) {
                at = v->items[0];
                doc = policy_file(w, label, at, v->items[1]);
        } else
                doc = node_to_json(w, label, v);
        if (!doc)
                return w->sink->oom ? -ENOMEM : -EINVAL;
        problem = policy_problem(doc);
        if (problem)
                return walk_error(w, at, "%s: the policy %s", label, problem);
        send = policy_compact(doc);
        if (!send)
                return walk_oom(w);
        if (strlen(send) > POLICY_MAX_BYTES)
                return walk_error(w, at, "%s: the policy is %zu bytes as compact JSON, AWS allows at most %d",
                                  label, strlen(send), POLICY_MAX_BYTES);
        r = policy_normalize(doc, &norm);
        if (r < 0)
                return walk_oom(w);
        *declared = true;
        free(*ret_send);
        free(*ret_norm);
        *ret_send = TAKE_PTR(send);
        *ret_norm = TAKE_PTR(norm);
        return 0;
}

int value_resource_policy(const struct walk *w, const struct key_desc *k, const char *label,
                          const struct node *v, void *dest) {
        struct stream_decl *d = dest;
        bool declared = d->resource_policy_declared;
        int r = value_policy(w, label, v, &declared, &d->x->resource_policy, &d->x->resource_policy_norm);

        d->resource_policy_declared = declared;
        return r;
}
