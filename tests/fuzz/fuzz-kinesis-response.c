/* Fuzz target for the Kinesis response and error parsers.
 *
 * Input: an optional first line "x-amzn-ErrorType: VALUE" (the error-type
 * header, as http.c would hand it over), then the response body. The body
 * goes through aws_json_parse() exactly as http.c parses an answer, and the
 * result (an object, any other JSON value, or NULL for an unparseable or
 * empty body) is given to every kinesis_parse_* function and to
 * aws_error_parse(), with and without the header.
 *
 * Besides not crashing or leaking, the parsers must keep their promises:
 * what a successful parse returns is complete (names, ARNs and keys set), a
 * failed parse leaves nothing half-owned (whatever it counted can be freed),
 * a listing appended twice holds twice the entries, error codes come out
 * normalized ("prefix#" and ":suffix" gone, no trailing blanks) and bounded. */

#include <errno.h>
#include <strings.h>

#include "fuzz-common.h"
#include "aws/aws-error.h"
#include "aws/http.h"
#include "kinesis.h"
#include "log.h"
#include "policy.h"
#include "stream.h"
#include "util.h"

#define HEADER_PREFIX "x-amzn-ErrorType:"

/* Text kept from an answer is escaped: no control character, and no more
 * than the escaped form of its cap. */
static void check_escaped(const char *s, size_t max_chars) {
        ASSERT(strlen(s) < LOG_ESCAPE_SIZE(max_chars));
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                ASSERT(*p >= 0x20 && *p != 0x7f);
}

static void check_error_code(const char *code) {
        size_t n;

        if (!code)
                return;
        n = strlen(code);
        ASSERT(n >= 1);
        check_escaped(code, AWS_ERROR_CODE_MAX);
        ASSERT(!strchr(code, '#') && !strchr(code, ':'));
        ASSERT(!strchr(" \t\r\n", code[n - 1]));
}

static void fuzz_error(const char *header, const json_object *body) {
        _cleanup_free_ char *code = NULL, *message = NULL;
        int r;

        r = aws_error_parse(header, body, &code, &message);
        ASSERT(r == 0 || r == -ENOMEM);
        if (r < 0)
                return;
        check_error_code(code);
        if (message)
                check_escaped(message, AWS_ERROR_MESSAGE_MAX);

        /* A non-empty header wins over the body: its normalized form,
         * escaped, or nothing if normalizing leaves it empty. */
        if (header && *header) {
                _cleanup_free_ char *expect = strndup(header, AWS_ERROR_CODE_MAX);
                ASSERT(expect);
                aws_error_code_normalize(expect);
                if (*expect) {
                        _cleanup_free_ char *escaped = log_escape_dup(expect, strlen(expect),
                                                                      AWS_ERROR_CODE_MAX);
                        ASSERT(escaped);
                        ASSERT(code && streq(code, escaped));
                } else
                        ASSERT(!code);
        }

        /* Normalizing is idempotent. */
        if (code) {
                _cleanup_free_ char *again = strdup(code);
                ASSERT(again);
                aws_error_code_normalize(again);
                ASSERT(streq(again, code));
        }
}

static void fuzz_summary(const json_object *body) {
        struct stream_obs obs = {};
        int r;

        r = kinesis_parse_stream_summary(body, &obs);
        ASSERT(r == 0 || r == -EBADMSG || r == -ENOMEM);
        if (r == 0) {
                ASSERT(obs.exists && obs.arn);
                ASSERT(obs.status <= STREAM_STATUS_UPDATING);
                ASSERT(obs.mode == STREAM_MODE_PROVISIONED || obs.mode == STREAM_MODE_ON_DEMAND);
                ASSERT((obs.metrics & ~(unsigned) METRIC_ALL) == 0);
                /* Parsing into a filled obs replaces what it held (no leak). */
                ASSERT(kinesis_parse_stream_summary(body, &obs) == 0);
                ASSERT(obs.exists && obs.arn);
        } else
                ASSERT(!obs.exists && !obs.arn && !obs.kms_key);
        stream_obs_done(&obs);
}

static void fuzz_list_streams(const json_object *body) {
        struct kinesis_stream_entry *e = NULL;
        _cleanup_free_ char *token = NULL, *token2 = NULL;
        size_t n = 0, first;
        bool more = false;
        int r;

        r = kinesis_parse_list_streams(body, &e, &n, &more, &token);
        ASSERT(r == 0 || r == -EBADMSG || r == -ENOMEM);
        for (size_t i = 0; i < n; i++) {
                ASSERT(e[i].name);
                ASSERT(e[i].status <= STREAM_STATUS_UPDATING);
                ASSERT(e[i].has_summary || !e[i].arn);
        }
        if (r == 0) {
                /* A second page appends. */
                first = n;
                r = kinesis_parse_list_streams(body, &e, &n, NULL, &token2);
                ASSERT(r == 0 || r == -ENOMEM);
                if (r == 0) {
                        ASSERT(n == 2 * first);
                        ASSERT(!token == !token2);
                        for (size_t i = 0; i < first; i++)
                                ASSERT(streq(e[i].name, e[first + i].name));
                }
        }
        kinesis_stream_entries_free(e, n);
}

static void fuzz_list_tags(const json_object *body) {
        struct stream_tag *t = NULL;
        size_t n = 0;
        bool more = false;
        int r;

        r = kinesis_parse_list_tags(body, &t, &n, &more);
        ASSERT(r == 0 || r == -EBADMSG || r == -ENOMEM);
        for (size_t i = 0; i < n; i++)
                ASSERT(t[i].key && t[i].value);
        if (r == 0) {
                size_t first = n;
                r = kinesis_parse_list_tags(body, &t, &n, NULL);
                ASSERT(r == 0 || r == -ENOMEM);
                if (r == 0)
                        ASSERT(n == 2 * first);
        }
        kinesis_tags_free(t, n);
}

static void fuzz_list_consumers(const json_object *body) {
        struct stream_consumer_obs *c = NULL;
        _cleanup_free_ char *token = NULL;
        size_t n = 0;
        int r;

        r = kinesis_parse_list_consumers(body, &c, &n, &token);
        ASSERT(r == 0 || r == -EBADMSG || r == -ENOMEM);
        for (size_t i = 0; i < n; i++)
                ASSERT(c[i].name && c[i].arn);
        if (r == 0) {
                _cleanup_free_ char *token2 = NULL;
                size_t first = n;
                r = kinesis_parse_list_consumers(body, &c, &n, &token2);
                ASSERT(r == 0 || r == -ENOMEM);
                if (r == 0) {
                        ASSERT(n == 2 * first);
                        ASSERT(!token == !token2);
                }
        }
        kinesis_consumers_free(c, n);
}

static void fuzz_consumer(const json_object *body) {
        struct stream_consumer_obs c = {};
        int r;

        r = kinesis_parse_consumer(body, &c);
        ASSERT(r == 0 || r == -EBADMSG || r == -ENOMEM);
        if (r == 0)
                ASSERT(c.name && c.arn);
        else
                ASSERT(!c.name && !c.arn && !c.status);
        free(c.name);
        free(c.arn);
        free(c.status);
}

static void fuzz_limits(const json_object *body) {
        struct kinesis_limits l = { 7, 7, 7, 7 };
        int r;

        r = kinesis_parse_describe_limits(body, &l);
        ASSERT(r == 0 || r == -EBADMSG);
        if (r < 0)
                ASSERT(l.shard_limit == 7 && l.open_shard_count == 7 && l.on_demand_stream_count == 7 &&
                       l.on_demand_stream_count_limit == 7);
}

static void fuzz_policy(const json_object *body) {
        char *p = (char *)"unset", *again = NULL;
        int r;

        r = kinesis_parse_resource_policy(body, &p);
        ASSERT(r == 0 || r == -EBADMSG || r == -ENOMEM);
        if (r < 0)
                ASSERT(!p);
        if (r == 0 && p) {
                /* The normal form is a fixed point. */
                json_object *doc = policy_parse(p, strlen(p));
                ASSERT(doc);
                ASSERT(policy_normalize(doc, &again) == 0);
                ASSERT(strcmp(p, again) == 0);
                json_object_put(doc);
                free(again);
        }
        free(p);
}

static void fuzz_account_settings(const json_object *body) {
        char *status = (char *)"unset";
        int r = kinesis_parse_account_settings(body, &status);

        ASSERT(r == 0 || r == -EBADMSG || r == -ENOMEM);
        if (r < 0)
                ASSERT(!status);
        else
                /* Goes into a log line and streams.json as it is: capitals only. */
                ASSERT(status && *status && strspn(status, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") == strlen(status));
        free(r < 0 ? NULL : status);
}

static void fuzz_body(const char *header, const json_object *body) {
        fuzz_error(header, body);
        fuzz_error(NULL, body);
        fuzz_summary(body);
        fuzz_list_streams(body);
        fuzz_list_tags(body);
        fuzz_list_consumers(body);
        fuzz_consumer(body);
        fuzz_limits(body);
        fuzz_policy(body);
        fuzz_account_settings(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *text = (const char *) data;
        _cleanup_free_ char *header = NULL;
        json_object *body;
        size_t len = size;

        if (size > HTTP_MAX_BODY + 4096)
                return 0;

        /* Optional header line, as curl would deliver it (value trimmed by
         * http_response_header(); we leave the blanks in to be harsher). */
        if (len >= strlen(HEADER_PREFIX) && strncasecmp(text, HEADER_PREFIX, strlen(HEADER_PREFIX)) == 0) {
                const char *v = text + strlen(HEADER_PREFIX);
                const char *nl = memchr(v, '\n', len - strlen(HEADER_PREFIX));
                size_t hl = nl ? (size_t) (nl - v) : len - strlen(HEADER_PREFIX);

                header = strndup(v, hl); /* stops at a NUL, as a C string would */
                ASSERT(header);
                text = nl ? nl + 1 : text + len;
                len = size - (size_t) (text - (const char *) data);
        }

        body = aws_json_parse(text, len);
        if (body)
                ASSERT(len > 0 && len <= HTTP_MAX_BODY);
        fuzz_body(header, body);

        /* Nested objects, as if they had been the body: the parsers must not
         * assume anything about where an object came from. */
        if (body && json_object_is_type(body, json_type_object)) {
                unsigned k = 0;
                json_object_object_foreach(body, key, val) {
                        (void) key;
                        if (k++ >= 4)
                                break;
                        if (json_object_is_type(val, json_type_object))
                                fuzz_body(NULL, val);
                }
        }
        json_object_put(body);
        return 0;
}
