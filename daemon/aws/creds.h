/* The AWS credential provider chain (DESIGN §5), asynchronous on sd-event.
 *
 * Order, as the AWS SDKs have it: environment variables; assume role (a
 * profile's role_arn with source_profile or credential_source); web identity
 * (AWS_WEB_IDENTITY_TOKEN_FILE or the profile's web_identity_token_file);
 * SSO (sso.h: sso_session or the legacy sso_ keys); static keys in the
 * shared credentials file; credential_process; static keys in the config
 * file; container credentials; EC2 instance metadata
 * (IMDSv2 only). The first source that is configured answers: one that is
 * configured but fails (a credential_process that exits non-zero, a role
 * whose source profile has no keys, an unreadable token file) ends the search
 * with its error, never falling through to other credentials. Results are
 * cached; temporary credentials are refreshed in the background 5 minutes
 * before they expire (or half-way through a shorter lifetime), and at once
 * after creds_invalidate(). A set that arrives
 * already expired is used (AWS decides whether it still takes it), warned
 * about once, and the next fetch waits: 1 s, doubling up to 60 s, shared by
 * every call that wants credentials meanwhile.
 *
 * Logs at info which provider supplied credentials, never a value. */
#pragma once

#include <stdint.h>
#include <systemd/sd-event.h>

#include "aws/creds-file.h"
#include "aws/http.h"
#include "util.h"

struct creds_provider;
struct creds_wait;

/* error is 0 with c set (borrowed: copy what you keep), or a negative errno:
 * -ENOKEY nothing in the chain had credentials, -ENOENT a named profile does
 * not exist, -ELOOP a source_profile loop, -EINVAL a profile's setting that
 * cannot be used, -EACCES STS refused a role, -EBADMSG a malformed answer,
 * -ETIMEDOUT, ... creds_error_text() says which and why. */
typedef void (*creds_callback)(int error, const struct aws_credentials *c, void *userdata);

struct creds_options {
        const char *profile;               /* config's aws.profile; NULL: $AWS_PROFILE, else default */
        const char *region;                /* the daemon's region, where STS is called for the
                                              chain's roles; NULL: the profile's region, else
                                              STS's global endpoint */
        uint64_t process_timeout_usec;     /* credential_process; default 60 s */
        uint64_t refresh_before_usec;      /* default 5 min */
};

int creds_provider_new(sd_event *e, struct http_client *http, const struct creds_options *o,
                       struct creds_provider **ret);
/* Options of a role assumed with sts:AssumeRole (creds_provider_new_role()). */
struct creds_role_options {
        const char *role_arn;          /* required */
        const char *external_id;       /* NULL: none */
        const char *session_name;      /* NULL: the default (creds_default_session_name()) */
        unsigned duration_seconds;     /* 0: STS default */
        const char *region;            /* region of the STS endpoint */
        const char *sts_endpoint;      /* NULL: resolved as for any STS call (endpoint.h) */
};
/* A provider whose credentials come from sts:AssumeRole, signed with the
 * credentials of source (borrowed; must outlive it); cached and refreshed
 * like any temporary credentials. -EINVAL for a role_arn that is not an IAM
 * role ARN, an invalid region or a session name STS would refuse. */
int creds_provider_new_role(sd_event *e, struct http_client *http, struct creds_provider *source,
                            const struct creds_role_options *o, struct creds_provider **ret);

/* "kinesisd-HOST": the role session name when none is configured, stable
 * across restarts so that CloudTrail shows one name per host; cut to STS's
 * 64 characters, characters STS refuses replaced by '-'. */
int creds_default_session_name(char **ret);

/* Cancels waiters (no callbacks) and kills a running credential_process. */
struct creds_provider *creds_provider_free(struct creds_provider *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct creds_provider *, creds_provider_free);

/* Fresh cached credentials: 0 and *ret (borrowed until control returns to the
 * loop). A background refresh starts when they are close to expiry. -EAGAIN
 * when there are none usable yet: use creds_request(). */
int creds_get(struct creds_provider *p, const struct aws_credentials **ret);
/* Call cb from the loop once credentials are available (or the chain failed).
 * Never calls back from within this function. *ret (may be NULL) cancels. */
int creds_request(struct creds_provider *p, creds_callback cb, void *userdata,
                  struct creds_wait **ret);
struct creds_wait *creds_wait_cancel(struct creds_wait *w);
/* Forget the cached credentials (after ExpiredTokenException and the like). */
void creds_invalidate(struct creds_provider *p);
/* Why the last fetch failed, for messages: what was tried and what failed
 * ("no credentials: environment (none), profile \"ops\" in FILE (no keys),
 * IMDS (disabled by AWS_EC2_METADATA_DISABLED)"), escaped; NULL after a
 * success. Borrowed until the next fetch ends. */
const char *creds_error_text(const struct creds_provider *p);
/* Number of completed fetches (for tests and metrics). */
unsigned creds_fetch_count(const struct creds_provider *p);
