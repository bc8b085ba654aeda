/* An AWS STS client: AssumeRole and AssumeRoleWithWebIdentity over the Query
 * protocol (POST, form-encoded Action=...&Version=2011-06-15), answers in
 * XML read with libexpat.
 *
 * AssumeRole is signed (SigV4, service "sts") with the caller's
 * credentials; AssumeRoleWithWebIdentity is sent unsigned: the token is the
 * proof. The pure parts (the request body, the answer) are apart from the
 * call so that they can be tested and fuzzed.
 *
 * Never logs a credential or a token; every text taken from an answer is
 * escaped before it leaves this module. */
#pragma once

#include <stddef.h>

#include "aws/creds-file.h"
#include "aws/http.h"

#define STS_VERSION "2011-06-15"
/* STS caps a web identity token at 20000 characters. */
#define STS_WEB_TOKEN_MAX 20000
/* The longest error code and message kept from an answer. */
#define STS_ERROR_CODE_MAX 128
#define STS_ERROR_MESSAGE_MAX 1024

struct sts_params {
        const char *action;             /* "AssumeRole" or "AssumeRoleWithWebIdentity" */
        const char *role_arn;
        const char *session_name;
        const char *external_id;        /* AssumeRole only; NULL: none */
        unsigned duration_seconds;      /* 0: STS's default */
        const char *web_identity_token; /* AssumeRoleWithWebIdentity only */
};

/* The form-encoded body of the request. -EINVAL for a missing parameter. */
int sts_query_body(const struct sts_params *p, char **ret);

/* What an answer says. Every field may be NULL. The credential fields are
 * raw (secret); error_code and error_message are raw too: escape them
 * before showing them. */
struct sts_answer {
        char *access_key_id, *secret_access_key, *session_token, *expiration;
        char *assumed_arn;              /* AssumedRoleUser/Arn */
        char *error_code, *error_message;
        char *request_id;
};
void sts_answer_done(struct sts_answer *a);
/* Parse an answer (success or ErrorResponse). -EBADMSG for text that is not
 * well-formed XML, holds a document type declaration, nests deeper than 32
 * elements or has a value past its cap. */
int sts_answer_parse(const char *xml, size_t len, struct sts_answer *ret);
/* http.h's error parser for STS: the code and message of an ErrorResponse,
 * escaped (at most STS_ERROR_CODE_MAX and STS_ERROR_MESSAGE_MAX characters);
 * NULL when the body holds none. Returns 0 or -ENOMEM. */
int sts_error_parse(const char *body, size_t len, char **ret_code, char **ret_message);
/* The credentials of a successful answer; -EBADMSG if incomplete. */
int sts_answer_credentials(const struct sts_answer *a, struct aws_credentials *ret);

/* The endpoint's URL and the region to sign for. */
struct sts_target {
        const char *url;
        const char *region;
};

struct sts_call;
/* error 0: c holds the credentials (borrowed for the callback). Else
 * error_text says what failed, escaped: "AccessDenied: MESSAGE (HTTP 403)"
 * for an answer of STS (error -EACCES, error_code its code, escaped), or the
 * transport's text (error_code NULL). */
typedef void (*sts_callback)(int error, const struct aws_credentials *c, const char *error_code,
                             const char *error_text, void *userdata);
/* Start a call. signer NULL sends it unsigned (web identity); else it is
 * copied. cb is never called from within this function. */
int sts_call_start(struct http_client *http, const struct sts_target *t, const struct sts_params *p,
                   const struct aws_credentials *signer, sts_callback cb, void *userdata,
                   struct sts_call **ret);
/* Abort; cb is not called. Returns NULL. */
struct sts_call *sts_call_cancel(struct sts_call *c);
