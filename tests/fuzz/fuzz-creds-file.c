/* Fuzz target for the shared credentials/config file parser (INI).
 *
 * Input: a first line naming a profile (at most 64 bytes; empty means
 * "default"), then the file's text. The text is parsed with
 * aws_profile_parse() as a credentials file and as a config file, for the
 * named profile, for "default" and for a profile that is never there; then
 * it is written to a private directory as both files and loaded the way the
 * daemon does it (aws_profile_load() through AWS_SHARED_CREDENTIALS_FILE and
 * AWS_CONFIG_FILE). A credential_process value found is split with
 * aws_split_command(). The named profile is also read as an [sso-session
 * NAME] section, the loaded profile's sso_session section is compared with
 * parsing it from the text, and the loaded profile goes through
 * sso_config_from_profile().
 *
 * The same text is also read as a config file's "[services NAME]" sections
 * (aws_services_endpoint()) for the profile's name and each service.
 *
 * Invariants: the parser returns 1, 0 or -ENOMEM; a profile whose section is
 * absent gets nothing; no value is longer than AWS_VALUE_MAX; what a first
 * parse set is never overwritten by a second (the credentials file wins);
 * parsing is deterministic; loading from the files gives what parsing the
 * same text gives; an SSO configuration accepted is complete (start URL,
 * a region name, a 12-digit account, a role). */

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "fuzz-common.h"
#include "aws/creds-file.h"
#include "aws/endpoint.h"
#include "aws/sso.h"
#include "util.h"

#define N_FIELDS _AWS_KEY_MAX
static char **fields(struct aws_profile *p, size_t i) {
        char **f[N_FIELDS] = {
                &p->access_key_id, &p->secret_access_key, &p->session_token, &p->credential_process,
                &p->region, &p->role_arn, &p->source_profile, &p->credential_source, &p->external_id,
                &p->role_session_name, &p->duration_seconds, &p->web_identity_token_file,
                &p->endpoint_url, &p->services, &p->ignore_configured_endpoint_urls,
                &p->use_fips_endpoint, &p->use_dualstack_endpoint, &p->sso_session, &p->sso_start_url,
                &p->sso_region, &p->sso_account_id, &p->sso_role_name,
        };
        ASSERT(aws_profile_get(p, (enum aws_profile_key) i) == *f[i]);
        return f[i];
}

#define N_SESSION_FIELDS 3
static char **session_fields(struct aws_sso_session *s, size_t i) {
        char **f[N_SESSION_FIELDS] = { &s->sso_start_url, &s->sso_region, &s->sso_registration_scopes };
        return f[i];
}

/* An [sso-session NAME] section: bounded values, nothing for an absent
 * section, the same answer twice. */
static void check_session(const char *text, size_t len, const char *name, struct aws_sso_session *ret) {
        struct aws_sso_session s = {}, again = {};
        int r, r2;

        r = aws_sso_session_parse(text, len, name, &s);
        ASSERT(r == 0 || r == 1 || r == -ENOMEM);
        if (r < 0) {
                aws_sso_session_done(&s);
                return;
        }
        ASSERT(s.found == (r == 1));
        for (size_t i = 0; i < N_SESSION_FIELDS; i++) {
                const char *v = *session_fields(&s, i);
                ASSERT(!v || strlen(v) <= AWS_VALUE_MAX);
                if (r == 0)
                        ASSERT(!v);
        }
        r2 = aws_sso_session_parse(text, len, name, &again);
        if (r2 >= 0) {
                ASSERT(r2 == r);
                for (size_t i = 0; i < N_SESSION_FIELDS; i++)
                        ASSERT(fuzz_opt_eq(*session_fields(&s, i), *session_fields(&again, i)));
        }
        aws_sso_session_done(&again);
        if (ret)
                *ret = s;
        else
                aws_sso_session_done(&s);
}

/* What sso.c makes of a profile: not SSO, SSO with every setting there (a
 * 12-digit account, a region name), or refused. */
static void check_sso_config(const struct aws_profile *p) {
        struct sso_config c = {};
        char *why = NULL;
        int r;

        r = sso_config_from_profile("fuzz", p, &c, &why);
        ASSERT(r == 0 || r == 1 || r == -EINVAL || r == -ENOMEM);
        /* A refusal says why (but for ENOMEM); an answer says nothing. */
        ASSERT(r == -EINVAL ? why != NULL : r == 0 || r == 1 ? why == NULL : true);
        free(why);
        if (r != 1) {
                ASSERT(!c.profile && !c.start_url);
                return;
        }
        ASSERT(c.profile && c.start_url && *c.start_url && c.region && c.account_id && c.role_name);
        ASSERT(strlen(c.account_id) == 12 && strspn(c.account_id, "0123456789") == 12);
        ASSERT(endpoint_region_is_valid(c.region));
        ASSERT(!c.session || (p->sso_session && streq(c.session, p->sso_session) && p->session.found));
        sso_config_done(&c);
}

static void check_values(struct aws_profile *p) {
        for (size_t i = 0; i < N_FIELDS; i++) {
                const char *v = *fields(p, i);
                ASSERT(!v || strlen(v) <= AWS_VALUE_MAX);
        }
}

static bool empty(struct aws_profile *p) {
        for (size_t i = 0; i < N_FIELDS; i++)
                if (*fields(p, i))
                        return false;
        return true;
}

static void check_command(const char *cmd) {
        _cleanup_strv_free_ char **argv = NULL;
        size_t n = 0;
        int r;

        if (!cmd)
                return;
        r = aws_split_command(cmd, &argv);
        ASSERT(r == 0 || r == -EINVAL || r == -E2BIG || r == -ENOMEM);
        if (r < 0)
                return;
        ASSERT(argv && argv[0]);
        for (; argv[n]; n++)
                ASSERT(strlen(argv[n]) <= strlen(cmd));
        ASSERT(n >= 1 && n <= AWS_ARGV_MAX);
}

/* Parse text for profile in one flavour; returns the parser's result. */
static int parse_one(const char *text, size_t len, const char *profile, bool config_file,
                     struct aws_profile *p) {
        struct aws_profile again = {};
        int r, r2;

        r = aws_profile_parse(text, len, profile, config_file, p);
        ASSERT(r == 0 || r == 1 || r == -ENOMEM);
        if (r < 0)
                return r;
        check_values(p);
        if (r == 0)
                ASSERT(empty(p));

        /* Deterministic. */
        r2 = aws_profile_parse(text, len, profile, config_file, &again);
        if (r2 >= 0) {
                ASSERT(r2 == r);
                for (size_t i = 0; i < N_FIELDS; i++)
                        ASSERT(fuzz_opt_eq(*fields(p, i), *fields(&again, i)));
        }
        aws_profile_done(&again);
        return r;
}

static void check_profile(const char *text, size_t len, const char *profile) {
        struct aws_profile cred = {}, conf = {}, merged = {};
        char *before[N_FIELDS];
        int r;

        r = parse_one(text, len, profile, false, &cred);
        if (r >= 0)
                check_command(cred.credential_process);
        r = parse_one(text, len, profile, true, &conf);
        if (r >= 0)
                check_command(conf.credential_process);

        /* The credentials file first, then the config file: the second parse
         * only fills what the first left empty. */
        if (parse_one(text, len, profile, false, &merged) >= 0) {
                for (size_t i = 0; i < N_FIELDS; i++)
                        before[i] = *fields(&merged, i);
                if (aws_profile_parse(text, len, profile, true, &merged) >= 0) {
                        for (size_t i = 0; i < N_FIELDS; i++) {
                                if (before[i])
                                        ASSERT(*fields(&merged, i) == before[i]);
                                else
                                        ASSERT(fuzz_opt_eq(*fields(&merged, i), *fields(&conf, i)));
                        }
                        check_values(&merged);
                }
        }
        aws_profile_done(&cred);
        aws_profile_done(&conf);
        aws_profile_done(&merged);
}

/* Every field came from the credentials file (a bit in from_credentials) or
 * the config file: never a bit for a key that is not set. */
static void check_origin(struct aws_profile *p) {
        for (size_t i = 0; i < N_FIELDS; i++)
                if (!*fields(p, i))
                        ASSERT(!(p->from_credentials & (1u << i)));
}

static void check_services(const char *text, size_t len, const char *name) {
        static const char *const services[] = { "kinesis", "sts", "" };

        for (size_t i = 0; i < ELEMENTSOF(services); i++) {
                char *v = NULL, *again = NULL;
                int r = aws_services_endpoint(text, len, name, services[i], &v);
                ASSERT(r == 0 || r == 1 || r == -ENOMEM);
                if (r == 1) {
                        ASSERT(v && strlen(v) <= AWS_VALUE_MAX && !strchr(v, '\n'));
                        ASSERT(aws_services_endpoint(text, len, name, services[i], &again) != 0);
                        ASSERT(!again || streq(v, again));
                } else
                        ASSERT(!v);
                free(v);
                free(again);
        }
}

static char dir[] = "/tmp/fuzz-creds-file-XXXXXX";
static char cred_path[sizeof dir + 32], conf_path[sizeof dir + 32];

/* A new file every time: truncating one that has data makes ext4 flush it
 * on close, which costs milliseconds per input. */
static void write_file(const char *path, const char *text, size_t len) {
        _cleanup_close_ int fd = -1;

        (void) unlink(path);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

        ASSERT(fd >= 0);
        for (size_t done = 0; done < len;) {
                ssize_t k = write(fd, text + done, len - done);
                if (k < 0 && errno == EINTR)
                        continue;
                ASSERT(k > 0);
                done += (size_t) k;
        }
}

static void cleanup_dir(void) {
        (void) unlink(cred_path);
        (void) unlink(conf_path);
        (void) rmdir(dir);
}

static void check_load(const char *text, size_t len, const char *profile) {
        static bool ready;
        struct aws_profile loaded = {}, cred = {};
        int r, rc, rf;

        if (!ready) {
                ASSERT(mkdtemp(dir));
                snprintf(cred_path, sizeof cred_path, "%s/credentials", dir);
                snprintf(conf_path, sizeof conf_path, "%s/config", dir);
                ASSERT(setenv("AWS_SHARED_CREDENTIALS_FILE", cred_path, 1) == 0);
                ASSERT(setenv("AWS_CONFIG_FILE", conf_path, 1) == 0);
                atexit(cleanup_dir);
                ready = true;
        }
        write_file(cred_path, text, len);
        write_file(conf_path, text, len);

        r = aws_profile_load(profile, &loaded);
        ASSERT(r == 0 || r == -ENOMEM);
        if (r < 0)
                return;
        ASSERT(loaded.credentials_path && streq(loaded.credentials_path, cred_path));
        ASSERT(loaded.config_path && streq(loaded.config_path, conf_path));
        ASSERT(!loaded.credentials_insecure && !loaded.config_insecure);
        check_values(&loaded);
        check_origin(&loaded);

        /* The same as parsing the text ourselves, credentials file first.
         * (A NUL in the text ends nothing for the file reader either.) */
        rc = aws_profile_parse(text, len, profile, false, &cred);
        rf = rc >= 0 ? aws_profile_parse(text, len, profile, true, &cred) : rc;
        if (rc >= 0 && rf >= 0) {
                ASSERT(loaded.in_credentials == (rc == 1));
                ASSERT(loaded.in_config == (rf == 1));
                for (size_t i = 0; i < N_FIELDS; i++)
                        ASSERT(fuzz_opt_eq(*fields(&loaded, i), *fields(&cred, i)));
                /* The session the profile names, from the config file. */
                if (cred.sso_session && *cred.sso_session) {
                        struct aws_sso_session s = {};
                        check_session(text, len, cred.sso_session, &s);
                        ASSERT(loaded.session.found == s.found);
                        for (size_t i = 0; i < N_SESSION_FIELDS; i++)
                                ASSERT(fuzz_opt_eq(*session_fields(&loaded.session, i),
                                                   *session_fields(&s, i)));
                        aws_sso_session_done(&s);
                } else
                        ASSERT(!loaded.session.found);
        }
        check_sso_config(&loaded);
        aws_profile_done(&cred);
        aws_profile_done(&loaded);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char profile[65] = "default";
        const char *text = (const char *) data, *nl;
        size_t len = size;

        if (size > 256 * 1024)
                return 0;
        nl = memchr(data, '\n', size < 65 ? size : 65);
        if (nl) {
                size_t pl = (size_t) (nl - text);
                if (pl > 0 && !memchr(text, '\0', pl)) {
                        memcpy(profile, text, pl);
                        profile[pl] = 0;
                }
                text = nl + 1;
                len = size - pl - 1;
        }

        check_profile(text, len, profile);
        check_session(text, len, profile, NULL);
        if (!streq(profile, "default"))
                check_profile(text, len, "default");
        /* A profile nobody wrote: must come back empty. The fuzzer may write
         * its name (it reads this file's strings), and then it is not absent. */
        if (!memmem(text, len, "never-there", strlen("never-there"))) {
                struct aws_profile none = {};
                int r = aws_profile_parse(text, len, "\x01never-there", false, &none);
                ASSERT(r == 0 || r == -ENOMEM);
                ASSERT(empty(&none));
                aws_profile_done(&none);
        }
        check_services(text, len, profile);
        check_load(text, len, profile);
        return 0;
}
