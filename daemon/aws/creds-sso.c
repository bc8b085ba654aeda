/* The SSO step of the credential chain: a profile's SSO settings handed to
 * sso.c, its answer to the chain (see creds-internal.h).
 *
 * Logs nothing of its own but which source answered: sso.c says what
 * failed. */
#include "aws/creds-internal.h"
#include "log.h"

static void sso_done(int error, struct aws_credentials *c, void *userdata) {
        struct creds_provider *p = userdata;

        p->sso = NULL;
        creds_fetch_done(p, error, error < 0 ? NULL : c);
}

int creds_sso_start(struct creds_provider *p, const char *profile, const struct aws_profile *prof) {
        struct sso_config cfg = {};
        int r;

        r = sso_config_from_profile(profile, prof, &cfg);
        if (r <= 0)
                return r;
        if (cfg.session) {
                char b[LOG_ESCAPE_SIZE(128)];
                creds_set_pending_source(p, "SSO session %s of profile %s",
                                         log_escape(cfg.session, strlen(cfg.session), 128, true, b), profile);
        } else
                creds_set_pending_source(p, "SSO of profile %s", profile);
        p->step = STEP_SSO;
        r = sso_fetch_start(p->http, &cfg, sso_done, p, &p->sso);
        sso_config_done(&cfg);
        return r < 0 ? r : 1;
}
