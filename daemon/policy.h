/* Resource-based policies (DESIGN §3 resource_policy): the checks a declared
 * policy must pass and the one form two policies are compared in.
 *
 * Pure: no I/O, no logging. Used by the configuration loader (the declared
 * policy) and by the answer parser (what GetResourcePolicy returns). */
#pragma once

#include <json-c/json.h>
#include <stddef.h>

/* The most bytes of a Policy kinesisd sends with PutResourcePolicy. The
 * Kinesis API reference gives Policy no length constraint; 20 KiB is the
 * resource-based policy size AWS documents for other services, kept here
 * so that an oversized declaration is refused at load, not at AWS. */
#define POLICY_MAX_BYTES 20480

/* What is wrong with a parsed policy document (not an object, no Version,
 * no Statement, a Statement that is neither an object nor a list of them),
 * or NULL if it is a policy. */
const char *policy_problem(const json_object *doc);

/* The document as compact JSON, as written (order kept): what is sent.
 * malloc'd, or NULL on OOM. */
char *policy_compact(const json_object *doc);

/* The form policies are compared in: object keys sorted, a list of one
 * value written as the value itself (IAM reads "Statement": {...} and
 * "Statement": [{...}], "Action": "a" and "Action": ["a"] alike), no
 * whitespace. 0, -EINVAL if doc is NULL, or -ENOMEM. */
int policy_normalize(const json_object *doc, char **ret);

/* Parse text (len bytes) as one JSON value: the document, or NULL if it is
 * not JSON or has bytes after the value. */
json_object *policy_parse(const char *text, size_t len);
