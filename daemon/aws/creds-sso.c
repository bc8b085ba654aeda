/* The SSO step of the credential chain: a profile's SSO settings handed to
 * sso.c, its answer to the chain (see creds-internal.h).
 *
 * Says what failed through creds_fail() (sso.c composes the text, escaped);
 * logs nothing else of its own. */
#include "aws/creds-internal.h"
#include "log.h"

static void sso_done(int error, struct aws_credentials *c, const char *error_text, void *userdata) {
        struct creds_provider *p = userdata;

        p->sso = NULL;
        if (error < 0)
                creds_fail(p, error, "%s", error_text ? error_text : strerror(-error));
        else
                creds_fetch_done(p, 0, c);
}

int creds_sso_from_profile(struct creds_provider *p, const struct aws_profile *prof, const char *profile) {
        _cleanup_free_ char *why = NULL;
        struct sso_config cfg = {};
        int r;

        r = sso_config_from_profile(profile, prof, &cfg, &why);
        if (r == 0)
                return 0;
        if (r < 0) {
                creds_fail(p, r, "%s", why ? why : strerror(-r));
                return 1;
        }
        if (cfg.session) {
                char b[LOG_ESCAPE_SIZE(128)];
                creds_set_pending_source(p, "SSO session %s of profile %s",
                                         log_escape(cfg.session, strlen(cfg.session), 128, true, b),
                                         profile);
        } else
                creds_set_pending_source(p, "SSO of profile %s", profile);
        p->step = STEP_SSO;
        r = sso_fetch_start(p->http, &cfg, sso_done, p, &p->sso, &why);
        sso_config_done(&cfg);
        if (r < 0)
                creds_fail(p, r, "%s", why ? why : strerror(-r));
        return 1;
}
