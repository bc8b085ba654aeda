/* Fuzz target for the STS answer reader (aws/sts.c) and the request body.
 *
 * Input: an STS answer as it comes off the network. It is read with
 * sts_answer_parse(); the credentials of a successful answer with
 * sts_answer_credentials(); an error code and message are escaped as the
 * client escapes them for its messages, and read with sts_error_parse() as
 * http.c does. The same bytes, split at NUL bytes
 * into a role ARN, a session name, an external id and a token, go through
 * sts_query_body().
 *
 * Invariants: the reader returns 0, -EBADMSG or -ENOMEM and is
 * deterministic; no value is longer than the input; credentials taken are
 * complete, with no line break in a key, and an expiration; an escaped
 * code or message holds no control character; the request body holds only
 * unreserved characters, '%' escapes, '=' and '&'. */
#include <errno.h>

#include "fuzz-common.h"
#include "aws/sts.h"
#include "log.h"
#include "util.h"

static void check_escaped(const char *s, size_t max) {
        char *e;

        if (!s)
                return;
        e = log_escape_dup(s, strlen(s), max);
        if (!e)
                return;
        for (const unsigned char *q = (const unsigned char *) e; *q; q++)
                ASSERT(*q >= 0x20 && *q != 0x7f);
        free(e);
}

static void check_answer(const char *xml, size_t len) {
        struct sts_answer a = {}, again = {};
        struct aws_credentials c = {};
        int r, r2;

        r = sts_answer_parse(xml, len, &a);
        ASSERT(r == 0 || r == -EBADMSG || r == -ENOMEM);
        if (r < 0)
                return;
        char *const fields[] = { a.access_key_id, a.secret_access_key, a.session_token, a.expiration,
                                 a.assumed_arn, a.error_code, a.error_message, a.request_id };
        for (size_t i = 0; i < ELEMENTSOF(fields); i++)
                ASSERT(!fields[i] || strlen(fields[i]) <= len);
        r2 = sts_answer_parse(xml, len, &again);
        if (r2 >= 0) {
                ASSERT(fuzz_opt_eq(a.access_key_id, again.access_key_id));
                ASSERT(fuzz_opt_eq(a.session_token, again.session_token));
                ASSERT(fuzz_opt_eq(a.error_code, again.error_code));
                ASSERT(fuzz_opt_eq(a.error_message, again.error_message));
        }
        r = sts_answer_credentials(&a, &c);
        ASSERT(r == 0 || r == -EBADMSG || r == -ENOMEM);
        if (r == 0) {
                ASSERT(c.access_key_id && *c.access_key_id && !strpbrk(c.access_key_id, "\r\n "));
                ASSERT(c.secret_access_key && *c.secret_access_key && !strpbrk(c.secret_access_key, "\r\n"));
                ASSERT(c.session_token && *c.session_token && !strpbrk(c.session_token, "\r\n"));
                ASSERT(c.expiration_usec > 0);
        }
        check_escaped(a.error_code, STS_ERROR_CODE_MAX);
        check_escaped(a.error_message, STS_ERROR_MESSAGE_MAX);

        /* What http.c gets for an error answer: escaped already. */
        char *code = NULL, *msg = NULL;
        r = sts_error_parse(xml, len, &code, &msg);
        ASSERT(r == 0 || r == -ENOMEM);
        ASSERT(!msg || code);
        for (const char *s = code; s && *s; s++)
                ASSERT((unsigned char) *s >= 0x20 && *s != 0x7f);
        for (const char *s = msg; s && *s; s++)
                ASSERT((unsigned char) *s >= 0x20 && *s != 0x7f);
        free(code);
        free(msg);
        aws_credentials_done(&c);
        sts_answer_done(&a);
        sts_answer_done(&again);
}

static void check_body(const char *data, size_t len) {
        /* Up to four NUL-terminated parts of the input. */
        const char *part[4] = { "", "", "", "" };
        char *copy = malloc(len + 1), *body = NULL;
        size_t n = 0;
        int r;

        if (!copy)
                return;
        memcpy(copy, data, len);
        copy[len] = 0;
        for (char *s = copy; n < 4 && s <= copy + len; s += strlen(s) + 1)
                part[n++] = s;
        struct sts_params p = {
                .action = part[3][0] & 1 ? "AssumeRoleWithWebIdentity" : "AssumeRole",
                .role_arn = part[0],
                .session_name = part[1],
                .external_id = part[2],
                .duration_seconds = len,
                .web_identity_token = part[3],
        };
        r = sts_query_body(&p, &body);
        ASSERT(r == 0 || r == -EINVAL || r == -ENOMEM);
        if (r == 0) {
                ASSERT(strncmp(body, "Action=", 7) == 0);
                for (const char *q = body; *q; q++)
                        ASSERT(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                      "0123456789-_.~%=&", *q));
                free(body);
        }
        free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size > 256 * 1024)
                return 0;
        check_answer((const char *) data, size);
        check_body((const char *) data, size);
        return 0;
}
