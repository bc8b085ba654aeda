/* SSO credentials (DESIGN §5), asynchronous on sd-event through http.c.
 *
 * A profile uses SSO with sso_account_id and sso_role_name, and either
 * sso_session naming an [sso-session NAME] section of the config file (with
 * sso_start_url and sso_region), or the legacy sso_start_url and sso_region
 * in the profile itself. A fetch reads the token `aws sso login` cached in
 * ~/.aws/sso/cache/<sha1>.json (sso-json.h); for an sso_session whose token
 * expires within 15 minutes, it first refreshes it with its refresh token
 * (SSO-OIDC CreateToken) and writes the new one back to the file; then it
 * asks the SSO portal (GetRoleCredentials) for the role's credentials.
 * When the token is expired and cannot be refreshed, the error says to run
 * `aws sso login` for that session (or profile).
 *
 * Endpoints (endpoint.h, services "sso" and "sso_oidc"):
 * $AWS_ENDPOINT_URL_SSO / $AWS_ENDPOINT_URL_SSO_OIDC, $AWS_ENDPOINT_URL, the
 * profile's services section and endpoint_url (none of these with
 * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true), else
 * https://portal.sso.<sso_region>.amazonaws.com and
 * https://oidc.<sso_region>.amazonaws.com (FIPS and dual-stack forms).
 *
 * Says what fails (to the caller, who logs it), naming the profile, the
 * session, the file and the key, with AWS's error code and message escaped;
 * logs only a refresh (info) and a refresh that failed while the old token
 * still serves (warning); never a token, a client secret or a key. */
#pragma once

#include "aws/creds-file.h"
#include "aws/http.h"

/* What a profile says about SSO, checked and merged with its session. */
struct sso_config {
        char *profile;
        char *session; /* sso_session; NULL: the legacy keys */
        char *start_url, *region, *account_id, *role_name;
        char *config_path; /* where they come from, for messages */
};
void sso_config_done(struct sso_config *c);

/* Does profile p (named profile) take its credentials from SSO? 0: no; 1:
 * yes, *ret filled; -EINVAL: it means to but a key is missing, malformed or
 * differs between the profile and its session (*ret_error says so, naming
 * the profile, the file and the key); -ENOMEM. */
int sso_config_from_profile(const char *profile, const struct aws_profile *p, struct sso_config *ret,
                            char **ret_error);

struct sso_fetch;
/* error 0 with c (the callee takes its contents), or a negative errno with
 * error_text, what failed (no final period; NULL only on ENOMEM):
 * -EKEYEXPIRED the token is expired and cannot be refreshed, or the portal
 * does not take it (log in again); -ENOENT no cached token; -EACCES the
 * portal refused; -EBADMSG a malformed file or answer; a transport error. */
typedef void (*sso_done_t)(int error, struct aws_credentials *c, const char *error_text, void *userdata);

/* Start a fetch for cfg (copied). Returns 0 (done is called later, from the
 * loop), or a negative errno and *ret_error (done is never called). */
int sso_fetch_start(struct http_client *http, const struct sso_config *cfg, sso_done_t done, void *userdata,
                    struct sso_fetch **ret, char **ret_error);
/* Abort; done is not called. NULL is fine. Returns NULL. */
struct sso_fetch *sso_fetch_cancel(struct sso_fetch *f);
