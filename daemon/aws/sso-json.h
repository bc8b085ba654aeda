/* Pure parts of SSO credentials (DESIGN §5): the token cache file's name and
 * contents (~/.aws/sso/cache/<sha1>.json, as the AWS CLI writes it after
 * `aws sso login`), the SSO portal's GetRoleCredentials answer, and the
 * SSO-OIDC CreateToken answer and errors.
 *
 * No I/O, no logging. Tokens, client secrets and keys are secrets: what is
 * freed here is wiped first. Every string handed on for a message is escaped
 * (log_escape_dup()). */
#pragma once

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "aws/creds-file.h"

/* A token cache file larger than this is refused. */
#define SSO_CACHE_FILE_MAX  (64 * 1024)
/* "<40 hex digits>.json" and its NUL. */
#define SSO_CACHE_NAME_SIZE 46
/* Longest token (access or refresh) or client secret accepted. */
#define SSO_TOKEN_MAX       16384

/* The cache file name the AWS SDKs use: the SHA-1 of the key in lowercase
 * hex, then ".json". The key is the sso_session name for a profile that
 * names one, the sso_start_url for the legacy keys. -EINVAL, -EIO. */
int sso_cache_file_name(const char *key, char ret[static SSO_CACHE_NAME_SIZE]);

/* What a token cache file holds. Times are wall-clock microseconds. */
struct sso_token {
        char *access_token; /* secret */
        uint64_t expires_at_usec;
        char *refresh_token;                   /* secret; NULL if none */
        char *client_id;                       /* NULL if none */
        char *client_secret;                   /* secret; NULL if none */
        uint64_t registration_expires_at_usec; /* 0 if none */
};
void sso_token_done(struct sso_token *t);

/* Parse a cache file. accessToken and expiresAt must be there (expiresAt in
 * ISO 8601, "2024-01-02T03:04:05Z"; the older "...UTC" suffix is read too);
 * refreshToken, clientId, clientSecret and registrationExpiresAt are
 * optional (all four are needed to refresh). -EBADMSG if malformed,
 * -ENOMEM. */
int sso_token_parse(const char *text, size_t len, struct sso_token *ret);
/* Can this token be refreshed at now: refresh token and client registration
 * present, registration not expired? */
bool sso_token_refreshable(const struct sso_token *t, uint64_t now_usec);

/* The body of a CreateToken request that refreshes t: JSON with grantType
 * "refresh_token", clientId, clientSecret and refreshToken. A secret: wipe
 * it before freeing it. -EINVAL if t cannot be refreshed, -ENOMEM. */
int sso_create_token_request(const struct sso_token *t, char **ret_body);

/* A CreateToken answer: accessToken, expiresIn (seconds), refreshToken
 * (optional). */
struct sso_refreshed {
        char *access_token; /* secret */
        uint64_t expires_in_sec;
        char *refresh_token; /* secret; NULL if the answer has none */
};
void sso_refreshed_done(struct sso_refreshed *r);
int sso_create_token_parse(const json_object *answer, struct sso_refreshed *ret);

/* The cache file after a refresh: the original JSON object (text) with
 * accessToken and expiresAt (now + expiresIn, "YYYY-MM-DDTHH:MM:SSZ")
 * replaced, refreshToken replaced when the answer has one, every other
 * member kept as it was. A secret: wipe it before freeing it. -EBADMSG if
 * text is not a JSON object, -ENOMEM. */
int sso_token_render_refreshed(const char *text, size_t len, const struct sso_refreshed *r,
                               uint64_t now_usec, char **ret_text, size_t *ret_len);

/* A GetRoleCredentials answer: roleCredentials { accessKeyId,
 * secretAccessKey, sessionToken, expiration (milliseconds since the
 * epoch) }. -EBADMSG if malformed or incomplete, -ENOMEM. */
int sso_role_credentials_parse(const json_object *answer, struct aws_credentials *ret);

/* An SSO-OIDC error body: {"error": "invalid_grant", "error_description":
 * "..."}; each escaped, NULL when absent. Returns 0 or -ENOMEM. */
int sso_oidc_error_parse(const json_object *body, char **ret_error, char **ret_description);
