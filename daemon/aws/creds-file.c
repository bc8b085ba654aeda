/* Pure parsing for the credential chain (see creds-file.h).
 *
 * Must never log (values here are secrets), never follow input past its
 * length, and never accept unbounded input. */
#include "aws/creds-file.h"

#include <ctype.h>
#include <fcntl.h>
#include <pwd.h>
#include <strings.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "file-read.h"
#include "util.h"

void aws_credentials_done(struct aws_credentials *c) {
        if (!c)
                return;
        /* Secrets: wipe before freeing. */
        if (c->secret_access_key)
                explicit_bzero(c->secret_access_key, strlen(c->secret_access_key));
        if (c->session_token)
                explicit_bzero(c->session_token, strlen(c->session_token));
        free(c->access_key_id);
        free(c->secret_access_key);
        free(c->session_token);
        *c = (struct aws_credentials){};
}

int aws_credentials_copy(const struct aws_credentials *from, struct aws_credentials *to) {
        struct aws_credentials c = { .expiration_usec = from->expiration_usec };

        c.access_key_id = strdup(from->access_key_id);
        c.secret_access_key = strdup(from->secret_access_key);
        c.session_token = from->session_token ? strdup(from->session_token) : NULL;
        if (!c.access_key_id || !c.secret_access_key || (from->session_token && !c.session_token)) {
                aws_credentials_done(&c);
                return -ENOMEM;
        }
        *to = c;
        return 0;
}

/* Indexed by enum aws_profile_key; the fields follow the same order. */
static const char *const profile_keys[_AWS_KEY_MAX] = {
        [AWS_KEY_ACCESS_KEY_ID] = "aws_access_key_id",
        [AWS_KEY_SECRET_ACCESS_KEY] = "aws_secret_access_key",
        [AWS_KEY_SESSION_TOKEN] = "aws_session_token",
        [AWS_KEY_CREDENTIAL_PROCESS] = "credential_process",
        [AWS_KEY_REGION] = "region",
        [AWS_KEY_ROLE_ARN] = "role_arn",
        [AWS_KEY_SOURCE_PROFILE] = "source_profile",
        [AWS_KEY_CREDENTIAL_SOURCE] = "credential_source",
        [AWS_KEY_EXTERNAL_ID] = "external_id",
        [AWS_KEY_ROLE_SESSION_NAME] = "role_session_name",
        [AWS_KEY_DURATION_SECONDS] = "duration_seconds",
        [AWS_KEY_WEB_IDENTITY_TOKEN_FILE] = "web_identity_token_file",
        [AWS_KEY_ENDPOINT_URL] = "endpoint_url",
        [AWS_KEY_SERVICES] = "services",
        [AWS_KEY_IGNORE_CONFIGURED_ENDPOINT_URLS] = "ignore_configured_endpoint_urls",
        [AWS_KEY_USE_FIPS_ENDPOINT] = "use_fips_endpoint",
        [AWS_KEY_USE_DUALSTACK_ENDPOINT] = "use_dualstack_endpoint",
        [AWS_KEY_SSO_SESSION] = "sso_session",
        [AWS_KEY_SSO_START_URL] = "sso_start_url",
        [AWS_KEY_SSO_REGION] = "sso_region",
        [AWS_KEY_SSO_ACCOUNT_ID] = "sso_account_id",
        [AWS_KEY_SSO_ROLE_NAME] = "sso_role_name",
};

static const size_t profile_offsets[_AWS_KEY_MAX] = {
        offsetof(struct aws_profile, access_key_id),
        offsetof(struct aws_profile, secret_access_key),
        offsetof(struct aws_profile, session_token),
        offsetof(struct aws_profile, credential_process),
        offsetof(struct aws_profile, region),
        offsetof(struct aws_profile, role_arn),
        offsetof(struct aws_profile, source_profile),
        offsetof(struct aws_profile, credential_source),
        offsetof(struct aws_profile, external_id),
        offsetof(struct aws_profile, role_session_name),
        offsetof(struct aws_profile, duration_seconds),
        offsetof(struct aws_profile, web_identity_token_file),
        offsetof(struct aws_profile, endpoint_url),
        offsetof(struct aws_profile, services),
        offsetof(struct aws_profile, ignore_configured_endpoint_urls),
        offsetof(struct aws_profile, use_fips_endpoint),
        offsetof(struct aws_profile, use_dualstack_endpoint),
        offsetof(struct aws_profile, sso_session),
        offsetof(struct aws_profile, sso_start_url),
        offsetof(struct aws_profile, sso_region),
        offsetof(struct aws_profile, sso_account_id),
        offsetof(struct aws_profile, sso_role_name),
};

static char **profile_field(struct aws_profile *p, enum aws_profile_key k) {
        return (char **) ((char *) p + profile_offsets[k]);
}

const char *aws_profile_key_name(enum aws_profile_key k) {
        return k < _AWS_KEY_MAX ? profile_keys[k] : NULL;
}

const char *aws_profile_get(const struct aws_profile *p, enum aws_profile_key k) {
        return k < _AWS_KEY_MAX ? *profile_field((struct aws_profile *) p, k) : NULL;
}

const char *aws_profile_key_path(const struct aws_profile *p, enum aws_profile_key k) {
        return p->from_credentials & (1u << k) ? p->credentials_path : p->config_path;
}

const char *aws_profile_path(const struct aws_profile *p) {
        return p->in_credentials || !p->in_config ? p->credentials_path : p->config_path;
}

void aws_profile_done(struct aws_profile *p) {
        if (!p)
                return;
        if (p->secret_access_key)
                explicit_bzero(p->secret_access_key, strlen(p->secret_access_key));
        if (p->session_token)
                explicit_bzero(p->session_token, strlen(p->session_token));
        for (enum aws_profile_key k = 0; k < _AWS_KEY_MAX; k++)
                free(*profile_field(p, k));
        aws_sso_session_done(&p->session);
        free(p->credentials_path);
        free(p->config_path);
        *p = (struct aws_profile){};
}

void aws_sso_session_done(struct aws_sso_session *s) {
        if (!s)
                return;
        free(s->sso_start_url);
        free(s->sso_region);
        free(s->sso_registration_scopes);
        *s = (struct aws_sso_session){};
}

const char *aws_profile_name(const char *config_profile) {
        const char *e;

        if (config_profile && *config_profile)
                return config_profile;
        e = getenv("AWS_PROFILE");
        if (e && *e)
                return e;
        return "default";
}

int aws_home_path(const char *rel, char **ret) {
        const char *home = getenv("HOME");
        struct passwd *pw;

        if (!home || !*home) {
                pw = getpwuid(getuid());
                home = pw ? pw->pw_dir : NULL;
        }
        if (!home || !*home)
                return -ENOENT;
        return asprintf(ret, "%s/%s", home, rel) < 0 ? -ENOMEM : 0;
}

static int env_or_home(const char *env, const char *rel, char **ret) {
        const char *e = getenv(env);

        if (e && *e) {
                /* "~/" at the start is what users write in these variables. */
                if (e[0] == '~' && e[1] == '/')
                        return aws_home_path(e + 2, ret);
                *ret = strdup(e);
                return *ret ? 0 : -ENOMEM;
        }
        return aws_home_path(rel, ret);
}

/* Under systemd, LoadCredential=aws-credentials:... hands the file in through
 * $CREDENTIALS_DIRECTORY; it is used unless AWS_SHARED_CREDENTIALS_FILE names
 * another file explicitly. */
int aws_shared_credentials_path(char **ret) {
        const char *e = getenv("AWS_SHARED_CREDENTIALS_FILE"), *d = getenv("CREDENTIALS_DIRECTORY");

        if ((!e || !*e) && d && *d) {
                char *p;
                if (asprintf(&p, "%s/aws-credentials", d) < 0)
                        return -ENOMEM;
                if (access(p, F_OK) == 0) {
                        *ret = p;
                        return 0;
                }
                free(p);
        }
        return env_or_home("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials", ret);
}

int aws_config_path(char **ret) {
        return env_or_home("AWS_CONFIG_FILE", ".aws/config", ret);
}

static const char *skip_space(const char *p, const char *end) {
        while (p < end && (*p == ' ' || *p == '\t'))
                p++;
        return p;
}

static const char *rtrim(const char *start, const char *end) {
        while (end > start && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
                end--;
        return end;
}

/* The section a parse looks for: "[NAME]" (kind NULL: a credentials
 * file), "[KIND NAME]" (a config file's "profile" or "sso-session"), and
 * "[default]" too when with_default. */
struct ini_section {
        const char *kind;
        const char *name;
        bool with_default;
};

/* Does "[ s ]" (section text between the brackets, trimmed) select it? */
static bool section_matches(const char *s, size_t n, const struct ini_section *want) {
        size_t nl = strlen(want->name), kl;

        if (!want->kind)
                return n == nl && memcmp(s, want->name, nl) == 0;
        if (want->with_default && n == 7 && memcmp(s, "default", 7) == 0)
                return true;
        kl = strlen(want->kind);
        if (n < kl + 1 || memcmp(s, want->kind, kl) != 0 || (s[kl] != ' ' && s[kl] != '\t'))
                return false;
        const char *q = skip_space(s + kl, s + n);
        return (size_t) (s + n - q) == nl && memcmp(q, want->name, nl) == 0;
}

static int set_once(char **field, const char *v, size_t n) {
        if (*field)
                return 0;
        if (n > AWS_VALUE_MAX)
                return 0; /* not a value anyone means; ignore it */
        *field = strndup(v, n);
        return *field ? 0 : -ENOMEM;
}

/* Called with each "key = value" of the section (key and value trimmed);
 * a negative errno stops the walk. */
typedef int (*ini_value_fn)(const char *key, size_t key_len, const char *v, size_t v_len, void *userdata);

/* Walk INI text for one section and hand its values to fn. Returns 1 if the
 * section exists, 0 if not, or fn's error. */
static int ini_parse(const char *text, size_t len, const struct ini_section *want, ini_value_fn fn,
                     void *userdata) {
        const char *end = text + len, *line = text;
        bool in_section = false, found = false;
        int r;

        while (line < end) {
                const char *eol = memchr(line, '\n', (size_t) (end - line));
                const char *next = eol ? eol + 1 : end;
                bool indented = line < end && (*line == ' ' || *line == '\t');
                const char *s = skip_space(line, eol ? eol : end);
                const char *e = rtrim(s, eol ? eol : end);

                if (s == e || *s == '#' || *s == ';') {
                        line = next;
                        continue;
                }
                if (*s == '[') {
                        const char *close = memchr(s, ']', (size_t) (e - s));
                        if (!close) {
                                in_section = false;
                                line = next;
                                continue;
                        }
                        const char *a = skip_space(s + 1, close), *b = rtrim(a, close);
                        in_section = section_matches(a, (size_t) (b - a), want);
                        found = found || in_section;
                        line = next;
                        continue;
                }
                /* Indented lines continue a nested setting (e.g. "s3 =" blocks): not ours. */
                if (!in_section || indented) {
                        line = next;
                        continue;
                }
                const char *eq = memchr(s, '=', (size_t) (e - s));
                if (!eq) {
                        line = next;
                        continue;
                }
                const char *k_end = rtrim(s, eq), *v = skip_space(eq + 1, e);
                r = fn(s, (size_t) (k_end - s), v, (size_t) (e - v), userdata);
                if (r < 0)
                        return r;
                line = next;
        }
        return found ? 1 : 0;
}

struct profile_parse {
        struct aws_profile *p;
        bool config_file;
};

static int profile_value(const char *key, size_t key_len, const char *v, size_t v_len, void *userdata) {
        struct profile_parse *pp = userdata;

        for (enum aws_profile_key k = 0; k < _AWS_KEY_MAX; k++)
                if (key_len == strlen(profile_keys[k]) && strncasecmp(key, profile_keys[k], key_len) == 0) {
                        char **field = profile_field(pp->p, k);
                        int r;

                        if (*field)
                                return 0;
                        r = set_once(field, v, v_len);
                        if (r < 0)
                                return r;
                        if (*field && !pp->config_file)
                                pp->p->from_credentials |= 1u << k;
                        return 0;
                }
        return 0;
}

int aws_profile_parse(const char *text, size_t len, const char *profile, bool config_file,
                      struct aws_profile *p) {
        const struct ini_section want = {
                .kind = config_file ? "profile" : NULL,
                .name = profile,
                .with_default = config_file && streq(profile, "default"),
        };

        return ini_parse(text, len, &want, profile_value, &(struct profile_parse){ p, config_file });
}

static int session_value(const char *key, size_t key_len, const char *v, size_t v_len, void *userdata) {
        static const struct {
                const char *key;
                size_t offset;
        } keys[] = {
                { "sso_start_url", offsetof(struct aws_sso_session, sso_start_url) },
                { "sso_region", offsetof(struct aws_sso_session, sso_region) },
                { "sso_registration_scopes", offsetof(struct aws_sso_session, sso_registration_scopes) },
        };

        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (key_len == strlen(keys[i].key) && strncasecmp(key, keys[i].key, key_len) == 0)
                        return set_once((char **) ((char *) userdata + keys[i].offset), v, v_len);
        return 0;
}

int aws_sso_session_parse(const char *text, size_t len, const char *name, struct aws_sso_session *s) {
        const struct ini_section want = { .kind = "sso-session", .name = name };
        int r;

        r = ini_parse(text, len, &want, session_value, s);
        if (r > 0)
                s->found = true;
        return r;
}

int aws_services_endpoint(const char *text, size_t len, const char *name, const char *service,
                          char **ret) {
        const char *end = text + len, *line = text;
        size_t nl = strlen(name), sl = strlen(service);
        bool in_section = false, in_service = false;

        while (line < end) {
                const char *eol = memchr(line, '\n', (size_t) (end - line));
                const char *next = eol ? eol + 1 : end;
                bool indented = *line == ' ' || *line == '\t';
                const char *s = skip_space(line, eol ? eol : end);
                const char *e = rtrim(s, eol ? eol : end);

                line = next;
                if (s == e || *s == '#' || *s == ';')
                        continue;
                if (*s == '[') {
                        const char *close = memchr(s, ']', (size_t) (e - s));
                        const char *a = skip_space(s + 1, close ? close : s + 1);
                        const char *b = rtrim(a, close ? close : a);
                        in_section = close && b - a > 9 && memcmp(a, "services", 8) == 0 &&
                                     (a[8] == ' ' || a[8] == '\t');
                        if (in_section) {
                                const char *q = skip_space(a + 8, b);
                                in_section = (size_t) (b - q) == nl && memcmp(q, name, nl) == 0;
                        }
                        in_service = false;
                        continue;
                }
                if (!in_section)
                        continue;
                const char *eq = memchr(s, '=', (size_t) (e - s));
                if (!eq)
                        continue;
                const char *k_end = rtrim(s, eq), *v = skip_space(eq + 1, e);
                if (!indented) {
                        /* "kinesis =" opens the service's nested settings. */
                        in_service = (size_t) (k_end - s) == sl && strncasecmp(s, service, sl) == 0;
                        continue;
                }
                if (in_service && k_end - s == 12 && strncasecmp(s, "endpoint_url", 12) == 0 && v < e) {
                        if ((size_t) (e - v) > AWS_VALUE_MAX)
                                return 0;
                        *ret = strndup(v, (size_t) (e - v));
                        return *ret ? 1 : -ENOMEM;
                }
        }
        return 0;
}

int aws_services_endpoint_load(const char *name, const char *service, char **ret) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        size_t len = 0;
        int r;

        r = aws_config_path(&path);
        if (r < 0)
                return r == -ENOENT ? 0 : r;
        r = aws_file_read(path, AWS_FILE_MAX, &text, &len, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        r = aws_services_endpoint(text, len, name, service, ret);
        explicit_bzero(text, len);
        return r;
}

int aws_file_read(const char *path, size_t max, char **ret_text, size_t *ret_len,
                  bool *ret_insecure) {
        struct stat st;
        int r;

        /* AWS_CONFIG_FILE=/dev/null is the usual way to say "no such file". */
        if (stat(path, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3))
                return -ENOENT;
        r = read_file_bounded(path, max, ret_text, ret_len, &st);
        if (r == -EISDIR)
                return -EBADFD;
        if (r < 0)
                return r;
        if (ret_insecure)
                *ret_insecure = (st.st_mode & (S_IWGRP | S_IWOTH)) != 0;
        return 0;
}

static int load_one(const char *path, const char *profile, bool config_file,
                    struct aws_profile *p, bool *ret_found, bool *ret_insecure) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r;

        r = aws_file_read(path, AWS_FILE_MAX, &text, &len, ret_insecure);
        if (r == -ENOENT) {
                *ret_found = false;
                return 0;
        }
        if (r < 0)
                return r;
        r = aws_profile_parse(text, len, profile, config_file, p);
        /* sso-session sections live in the config file only. */
        if (r >= 0 && config_file && p->sso_session && *p->sso_session)
                r = aws_sso_session_parse(text, len, p->sso_session, &p->session) < 0 ? -ENOMEM : r;
        explicit_bzero(text, len);
        if (r < 0)
                return r;
        *ret_found = r > 0;
        return 0;
}

int aws_profile_load(const char *profile, struct aws_profile *ret) {
        struct aws_profile p = {};
        int r;

        r = aws_shared_credentials_path(&p.credentials_path);
        if (r < 0 && r != -ENOENT)
                goto fail;
        r = aws_config_path(&p.config_path);
        if (r < 0 && r != -ENOENT)
                goto fail;
        if (p.credentials_path) {
                r = load_one(p.credentials_path, profile, false, &p, &p.in_credentials,
                             &p.credentials_insecure);
                if (r < 0)
                        goto fail;
        }
        if (p.config_path) {
                r = load_one(p.config_path, profile, true, &p, &p.in_config, &p.config_insecure);
                if (r < 0)
                        goto fail;
        }
        *ret = p;
        return 0;
fail:
        aws_profile_done(&p);
        return r;
}

static const char *json_str(const json_object *o, const char *key) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

int aws_credentials_make(const char *id, const char *secret, const char *token, uint64_t expiration_usec,
                         struct aws_credentials *ret) {
        struct aws_credentials c = { .expiration_usec = expiration_usec };

        if (!id || !secret || !*id || !*secret || strlen(id) > 128 || strlen(secret) > 1024 ||
            (token && strlen(token) > 16384))
                return -EBADMSG;
        /* Anything that would break a header line is not a credential. */
        if (strpbrk(id, "\r\n ") || strpbrk(secret, "\r\n") || (token && strpbrk(token, "\r\n")))
                return -EBADMSG;
        c.access_key_id = strdup(id);
        c.secret_access_key = strdup(secret);
        if (token && *token)
                c.session_token = strdup(token);
        if (!c.access_key_id || !c.secret_access_key || (token && *token && !c.session_token)) {
                aws_credentials_done(&c);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}

int aws_credentials_from_json(const json_object *o, const char *token_key,
                              struct aws_credentials *ret) {
        const char *exp;
        uint64_t expiration = 0;

        if (!o || !json_object_is_type(o, json_type_object))
                return -EBADMSG;
        exp = json_str(o, "Expiration");
        if (exp && *exp && aws_parse_iso8601(exp, &expiration) < 0)
                return -EBADMSG;
        return aws_credentials_make(json_str(o, "AccessKeyId"), json_str(o, "SecretAccessKey"),
                                    token_key ? json_str(o, token_key) : NULL, expiration, ret);
}

static bool parse_digits(const char **p, int n, int *ret) {
        int v = 0;
        for (int i = 0; i < n; i++) {
                if (!isdigit((unsigned char) (*p)[i]))
                        return false;
                v = v * 10 + ((*p)[i] - '0');
        }
        *p += n;
        *ret = v;
        return true;
}

int aws_parse_iso8601(const char *s, uint64_t *ret_usec) {
        int Y, M, D, h, m, sec, oh = 0, om = 0, sign = 0;
        const char *p = s;
        struct tm tm = {};
        time_t t;

        if (!s || strlen(s) > 64)
                return -EINVAL;
        if (!parse_digits(&p, 4, &Y) || *p++ != '-' || !parse_digits(&p, 2, &M) || *p++ != '-' ||
            !parse_digits(&p, 2, &D) || (*p != 'T' && *p != 't' && *p != ' '))
                return -EINVAL;
        p++;
        if (!parse_digits(&p, 2, &h) || *p++ != ':' || !parse_digits(&p, 2, &m) || *p++ != ':' ||
            !parse_digits(&p, 2, &sec))
                return -EINVAL;
        if (*p == '.' || *p == ',') {
                p++;
                if (!isdigit((unsigned char) *p))
                        return -EINVAL;
                while (isdigit((unsigned char) *p))
                        p++;
        }
        if (*p == 'Z' || *p == 'z')
                p++;
        else if (*p == '+' || *p == '-') {
                sign = *p == '+' ? 1 : -1;
                p++;
                if (!parse_digits(&p, 2, &oh))
                        return -EINVAL;
                if (*p == ':')
                        p++;
                if (!parse_digits(&p, 2, &om))
                        return -EINVAL;
        } else
                return -EINVAL;
        if (*p)
                return -EINVAL;
        if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60 || oh > 23 || om > 59 ||
            Y < 1970)
                return -EINVAL;
        tm.tm_year = Y - 1900;
        tm.tm_mon = M - 1;
        tm.tm_mday = D;
        tm.tm_hour = h;
        tm.tm_min = m;
        tm.tm_sec = sec;
        t = timegm(&tm);
        if (t == (time_t) -1)
                return -EINVAL;
        t -= sign * (oh * 3600 + om * 60);
        if (t < 0)
                return -EINVAL;
        *ret_usec = (uint64_t) t * USEC_PER_SEC;
        return 0;
}

int aws_split_command(const char *s, char ***ret_argv) {
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_free_ char *word = NULL;
        size_t n = 0, wl = 0, len;
        bool in_word = false;
        char quote = 0;

        if (!s)
                return -EINVAL;
        len = strlen(s);
        if (len > AWS_VALUE_MAX)
                return -EINVAL;
        word = malloc(len + 1);
        argv = calloc(AWS_ARGV_MAX + 1, sizeof(char *));
        if (!word || !argv)
                return -ENOMEM;
        for (size_t i = 0; i <= len; i++) {
                char ch = s[i];
                if (quote) {
                        if (ch == 0)
                                return -EINVAL;
                        if (ch == quote) {
                                quote = 0;
                                continue;
                        }
                        if (quote == '"' && ch == '\\' && (s[i + 1] == '"' || s[i + 1] == '\\'))
                                ch = s[++i];
                        word[wl++] = ch;
                        continue;
                }
                if (ch == '\'' || ch == '"') {
                        quote = ch;
                        in_word = true;
                        continue;
                }
                if (ch == '\\' && s[i + 1]) {
                        word[wl++] = s[++i];
                        in_word = true;
                        continue;
                }
                if (ch == 0 || ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
                        if (in_word) {
                                if (n >= AWS_ARGV_MAX)
                                        return -E2BIG;
                                argv[n] = strndup(word, wl);
                                if (!argv[n])
                                        return -ENOMEM;
                                n++;
                                wl = 0;
                                in_word = false;
                        }
                        continue;
                }
                word[wl++] = ch;
                in_word = true;
        }
        if (n == 0)
                return -EINVAL;
        *ret_argv = TAKE_PTR(argv);
        return 0;
}

int aws_container_credentials_url(char **ret) {
        const char *full = getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
        const char *rel = getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");

        /* The relative form wins when both are set (the SDKs' order). */
        if (rel && *rel) {
                if (rel[0] != '/' || strlen(rel) > 2048)
                        return -EINVAL;
                return asprintf(ret, "http://169.254.170.2%s", rel) < 0 ? -ENOMEM : 0;
        }
        if (full && *full) {
                if (strlen(full) > 2048)
                        return -EINVAL;
                *ret = strdup(full);
                return *ret ? 0 : -ENOMEM;
        }
        return -ENOENT;
}
