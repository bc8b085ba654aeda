/* The AWS credential provider chain (DESIGN §5), asynchronous on sd-event.
 *
 * Order: environment variables; the profile's SSO settings (sso.h); the
 * shared credentials and config files (static keys, then credential_process);
 * container credentials; EC2 instance metadata (IMDSv2 only). The first provider that is configured answers: one
 * that is configured but fails (a credential_process that exits non-zero, a
 * container endpoint that refuses) ends the search with its error, as the AWS
 * SDKs do. Results are cached; temporary credentials are refreshed in the
 * background 5 minutes before they expire (or half-way through a shorter
 * lifetime), and at once after creds_invalidate(). A set that arrives
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
 * not exist, -EBADMSG a malformed answer, -ETIMEDOUT, ... */
typedef void (*creds_callback)(int error, const struct aws_credentials *c, void *userdata);

struct creds_options {
        const char *profile;               /* config's aws.profile; NULL: $AWS_PROFILE, else default */
        uint64_t process_timeout_usec;     /* credential_process; default 60 s */
        uint64_t refresh_before_usec;      /* default 5 min */
};

int creds_provider_new(sd_event *e, struct http_client *http, const struct creds_options *o,
                       struct creds_provider **ret);
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
/* Number of completed fetches (for tests and metrics). */
unsigned creds_fetch_count(const struct creds_provider *p);
