/* Fuzz target for credential JSON documents: what a credential_process
 * prints (Version 1, "SessionToken") and what the container-credentials and
 * EC2 instance-metadata endpoints answer ("Token", IMDS also "Code").
 *
 * The input is the document's bytes. It is parsed with aws_json_parse() as
 * creds.c parses both (process output and HTTP bodies), then handed to
 * aws_credentials_from_json() under every token key the chain uses. The
 * Version 1 and IMDS "Code" checks that creds.c applies before that live in
 * static functions of creds.c (process_finish() and the IMDS/container step
 * of the HTTP callback), so they are mirrored here, not called. The
 * Expiration string, and the input itself, also go to aws_parse_iso8601().
 *
 * Invariants: success yields a key id and a secret that are non-empty,
 * bounded and free of anything that would break a header line, a token only
 * if one was given (under the right key) and non-empty, and the expiration
 * aws_parse_iso8601() gives for the document's Expiration; failure leaves
 * the result untouched; copying credentials gives equal ones. */

#include <errno.h>

#include "fuzz-common.h"
#include "aws/creds-file.h"
#include "aws/aws-error.h"
#include "util.h"

static const char *str_member(json_object *o, const char *key) {
        json_object *v;

        if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v) ||
            !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static void check_creds(json_object *o, const char *token_key) {
        struct aws_credentials c = {}, copy = {};
        const char *token, *exp;
        int r;

        r = aws_credentials_from_json(o, token_key, &c);
        ASSERT(r == 0 || r == -EBADMSG || r == -ENOMEM);
        if (r < 0) {
                ASSERT(!c.access_key_id && !c.secret_access_key && !c.session_token &&
                       c.expiration_usec == 0);
                return;
        }

        ASSERT(c.access_key_id && c.secret_access_key);
        ASSERT(strlen(c.access_key_id) >= 1 && strlen(c.access_key_id) <= 128);
        ASSERT(strlen(c.secret_access_key) >= 1 && strlen(c.secret_access_key) <= 1024);
        ASSERT(!strpbrk(c.access_key_id, "\r\n "));
        ASSERT(!strpbrk(c.secret_access_key, "\r\n"));
        ASSERT(streq(c.access_key_id, str_member(o, "AccessKeyId")));
        ASSERT(streq(c.secret_access_key, str_member(o, "SecretAccessKey")));

        token = token_key ? str_member(o, token_key) : NULL;
        if (token && *token) {
                ASSERT(c.session_token && streq(c.session_token, token));
                ASSERT(strlen(c.session_token) <= 16384 && !strpbrk(c.session_token, "\r\n"));
        } else
                ASSERT(!c.session_token);

        exp = str_member(o, "Expiration");
        if (exp && *exp) {
                uint64_t usec = 0;
                ASSERT(aws_parse_iso8601(exp, &usec) == 0);
                ASSERT(usec == c.expiration_usec);
        } else
                ASSERT(c.expiration_usec == 0);

        r = aws_credentials_copy(&c, &copy);
        ASSERT(r == 0 || r == -ENOMEM);
        if (r == 0) {
                ASSERT(streq(copy.access_key_id, c.access_key_id));
                ASSERT(streq(copy.secret_access_key, c.secret_access_key));
                ASSERT(fuzz_opt_eq(copy.session_token, c.session_token));
                ASSERT(copy.expiration_usec == c.expiration_usec);
                ASSERT(copy.access_key_id != c.access_key_id);
        }
        aws_credentials_done(&copy);
        aws_credentials_done(&c);
        ASSERT(!c.access_key_id && !c.secret_access_key && !c.session_token);
}

/* creds.c's process_finish(): Version must be the integer 1. */
static bool is_version_1(json_object *o) {
        json_object *v;

        return o && json_object_object_get_ex(o, "Version", &v) && json_object_is_type(v, json_type_int) &&
               json_object_get_int(v) == 1;
}

/* creds.c's IMDS step: a "Code" member, if present, must be "Success". */
static bool imds_code_ok(json_object *o) {
        json_object *code;

        if (!o || !json_object_object_get_ex(o, "Code", &code))
                return true;
        return json_object_is_type(code, json_type_string) && streq(json_object_get_string(code), "Success");
}

static void check_iso8601(const char *s) {
        uint64_t usec = 12345;
        int r;

        r = aws_parse_iso8601(s, &usec);
        ASSERT(r == 0 || r == -EINVAL);
        if (r < 0) {
                ASSERT(usec == 12345);
                return;
        }
        /* Not before 1970 (refused), not past year 9999 + a day of offset. */
        ASSERT(usec <= (uint64_t) 253402387200ULL * 1000000ULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *text = NULL;
        json_object *o;

        if (size > 64 * 1024)
                return 0;
        text = malloc(size + 1);
        ASSERT(text);
        memcpy(text, data, size);
        text[size] = 0;

        /* The raw input as a timestamp too (up to a NUL). */
        check_iso8601(text);

        o = aws_json_parse(text, size);
        if (!o)
                return 0;

        /* credential_process */
        if (is_version_1(o))
                check_creds(o, "SessionToken");
        /* container credentials */
        check_creds(o, "Token");
        /* instance metadata */
        if (imds_code_ok(o))
                check_creds(o, "Token");
        /* No token key at all. */
        check_creds(o, NULL);

        if (str_member(o, "Expiration"))
                check_iso8601(str_member(o, "Expiration"));

        /* Whatever the top level is, objects nested in it as well. */
        if (json_object_is_type(o, json_type_object)) {
                unsigned k = 0;
                json_object_object_foreach(o, key, val) {
                        (void) key;
                        if (k++ >= 4)
                                break;
                        if (json_object_is_type(val, json_type_object))
                                check_creds(val, "SessionToken");
                }
        } else if (json_object_is_type(o, json_type_array)) {
                for (size_t i = 0; i < json_object_array_length(o) && i < 4; i++)
                        check_creds(json_object_array_get_idx(o, i), "Token");
        }
        json_object_put(o);
        return 0;
}
