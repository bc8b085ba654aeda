/* Unit tests of SSO credentials' pure parts: the token cache file name rule
 * (the SHA-1 of the session name, or of the start URL for the legacy keys),
 * the cache file parser and the refreshed file, the CreateToken request and
 * answer, the portal's answer, SSO-OIDC errors, the [sso-session] section
 * and the profile keys, and the checks of a profile's SSO settings. No
 * network. */
#include <fcntl.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "atomic-file.h"
#include "aws/aws-error.h"
#include "aws/creds-file.h"
#include "aws/sso-json.h"
#include "aws/sso.h"
#include "testlib.h"
#include "util.h"

#define T_2030 UINT64_C(1893456000) /* 2030-01-01T00:00:00Z */

static void test_cache_name(void) {
        char name[SSO_CACHE_NAME_SIZE];

        /* The digests as Python's hashlib.sha1(key).hexdigest() gives them,
         * which is what botocore's SSOTokenLoader names the file. */
        CHECK_INTEQ(sso_cache_file_name("my-sso", name), 0);
        CHECK_STREQ(name, "0ad374308c5a4e22f723adf10145eafad7c4031c.json");
        CHECK_INTEQ(sso_cache_file_name("https://my-sso-portal.awsapps.com/start", name), 0);
        CHECK_STREQ(name, "c7aaaf71fcc8777ae2475525ed049d39fe16c484.json");
        CHECK_INTEQ(sso_cache_file_name("dev", name), 0);
        CHECK_STREQ(name, "34c6fceca75e456f25e7e99531e2425c6c1de443.json");
        CHECK_INTEQ(sso_cache_file_name("", name), -EINVAL);
        CHECK_INTEQ(sso_cache_file_name(NULL, name), -EINVAL);
}

static const char FULL[] =
        "{\"startUrl\": \"https://d-123.awsapps.com/start\", \"region\": \"eu-west-1\", "
        "\"accessToken\": \"aoaAAA\", \"expiresAt\": \"2030-01-01T00:00:00Z\", "
        "\"clientId\": \"cid\", \"clientSecret\": \"csecret\", "
        "\"registrationExpiresAt\": \"2030-02-01T00:00:00Z\", \"refreshToken\": \"rtok\", "
        "\"extra\": {\"kept\": [1, 2]}}";

static void test_token_parse(void) {
        struct sso_token t = {};

        CHECK_INTEQ(sso_token_parse(FULL, strlen(FULL), &t), 0);
        CHECK_STREQ(t.access_token, "aoaAAA");
        CHECK_INTEQ(t.expires_at_usec, T_2030 * USEC_PER_SEC);
        CHECK_STREQ(t.refresh_token, "rtok");
        CHECK_STREQ(t.client_id, "cid");
        CHECK_STREQ(t.client_secret, "csecret");
        CHECK_INTEQ(t.registration_expires_at_usec, (T_2030 + 31 * 86400) * USEC_PER_SEC);
        CHECK(sso_token_refreshable(&t, T_2030 * USEC_PER_SEC));
        /* The registration expired: no refresh. */
        CHECK(!sso_token_refreshable(&t, (T_2030 + 32 * 86400) * USEC_PER_SEC));
        sso_token_done(&t);
        CHECK(!t.access_token && !t.refresh_token);

        /* The older CLI's "UTC" suffix; no refresh token: not refreshable. */
        static const char old[] = "{\"accessToken\":\"x\",\"expiresAt\":\"2030-01-01T00:00:00UTC\","
                                  "\"region\":\"us-east-1\",\"startUrl\":\"https://a/start\"}";
        CHECK_INTEQ(sso_token_parse(old, strlen(old), &t), 0);
        CHECK_INTEQ(t.expires_at_usec, T_2030 * USEC_PER_SEC);
        CHECK(!t.refresh_token && !sso_token_refreshable(&t, 0));
        sso_token_done(&t);

        static const char *const bad[] = {
                "",
                "[]",
                "{}",
                "not json",
                "{\"accessToken\":\"x\"}",
                "{\"expiresAt\":\"2030-01-01T00:00:00Z\"}",
                "{\"accessToken\":\"\",\"expiresAt\":\"2030-01-01T00:00:00Z\"}",
                "{\"accessToken\":\"a\\nb\",\"expiresAt\":\"2030-01-01T00:00:00Z\"}",
                "{\"accessToken\":\"a\\u0000b\",\"expiresAt\":\"2030-01-01T00:00:00Z\"}",
                "{\"accessToken\":\"x\",\"expiresAt\":\"tomorrow\"}",
                "{\"accessToken\":7,\"expiresAt\":\"2030-01-01T00:00:00Z\"}",
                "{\"accessToken\":\"x\",\"expiresAt\":\"2030-01-01T00:00:00Z\",\"refreshToken\":\"\"}",
                ("{\"accessToken\":\"x\",\"registrationExpiresAt\":\"no\","
                 "\"expiresAt\":\"2030-01-01T00:00:00Z\"}"),
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                CHECK_INTEQ(sso_token_parse(bad[i], strlen(bad[i]), &t), -EBADMSG);
                CHECK(!t.access_token);
        }
}

static void test_create_token(void) {
        struct sso_token t = {};
        struct sso_refreshed x = {};
        _cleanup_free_ char *body = NULL, *text = NULL;
        json_object *o, *v;
        size_t len = 0;

        CHECK_INTEQ(sso_token_parse(FULL, strlen(FULL), &t), 0);
        CHECK_INTEQ(sso_create_token_request(&t, &body), 0);
        o = json_tokener_parse(body);
        CHECK(o);
        CHECK(json_object_object_get_ex(o, "grantType", &v) &&
              streq(json_object_get_string(v), "refresh_token"));
        CHECK(json_object_object_get_ex(o, "clientId", &v) && streq(json_object_get_string(v), "cid"));
        CHECK(json_object_object_get_ex(o, "clientSecret", &v) &&
              streq(json_object_get_string(v), "csecret"));
        CHECK(json_object_object_get_ex(o, "refreshToken", &v) && streq(json_object_get_string(v), "rtok"));
        CHECK_INTEQ(json_object_object_length(o), 4);
        json_object_put(o);

        /* The answer, and the file rewritten from it. */
        o = json_tokener_parse("{\"accessToken\":\"new-at\",\"tokenType\":\"Bearer\",\"expiresIn\":3600,"
                               "\"refreshToken\":\"new-rt\"}");
        CHECK_INTEQ(sso_create_token_parse(o, &x), 0);
        json_object_put(o);
        CHECK_STREQ(x.access_token, "new-at");
        CHECK_STREQ(x.refresh_token, "new-rt");
        CHECK_INTEQ(x.expires_in_sec, 3600);
        CHECK_INTEQ(sso_token_render_refreshed(FULL, strlen(FULL), &x, T_2030 * USEC_PER_SEC, &text, &len),
                    0);
        CHECK_INTEQ(strlen(text), len);
        CHECK(len > 0 && text[len - 1] == '\n');
        CHECK_STREQ(text, "{\"startUrl\":\"https://d-123.awsapps.com/start\",\"region\":\"eu-west-1\","
                          "\"accessToken\":\"new-at\",\"expiresAt\":\"2030-01-01T01:00:00Z\","
                          "\"clientId\":\"cid\",\"clientSecret\":\"csecret\","
                          "\"registrationExpiresAt\":\"2030-02-01T00:00:00Z\",\"refreshToken\":\"new-rt\","
                          "\"extra\":{\"kept\":[1,2]}}\n");
        sso_refreshed_done(&x);
        free(TAKE_PTR(text));

        /* An answer without a refresh token keeps the file's. */
        o = json_tokener_parse("{\"accessToken\":\"at2\",\"expiresIn\":60}");
        CHECK_INTEQ(sso_create_token_parse(o, &x), 0);
        json_object_put(o);
        CHECK(!x.refresh_token);
        CHECK_INTEQ(sso_token_render_refreshed(FULL, strlen(FULL), &x, T_2030 * USEC_PER_SEC, &text, &len),
                    0);
        CHECK(strstr(text, "\"refreshToken\":\"rtok\"") && strstr(text, "\"accessToken\":\"at2\"") &&
              strstr(text, "\"expiresAt\":\"2030-01-01T00:01:00Z\""));
        CHECK_INTEQ(sso_token_render_refreshed("[]", 2, &x, 0, &text, &len), -EBADMSG);
        sso_refreshed_done(&x);

        static const char *const bad[] = {
                "{}",
                "[]",
                "{\"accessToken\":\"a\"}",
                "{\"accessToken\":\"a\",\"expiresIn\":0}",
                "{\"accessToken\":\"a\",\"expiresIn\":\"60\"}",
                "{\"expiresIn\":60}",
                "{\"accessToken\":\"a\\r\",\"expiresIn\":60}",
                "{\"accessToken\":\"a\",\"expiresIn\":-5}",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                o = json_tokener_parse(bad[i]);
                CHECK_INTEQ(sso_create_token_parse(o, &x), -EBADMSG);
                CHECK(!x.access_token);
                json_object_put(o);
        }
        CHECK_INTEQ(sso_create_token_parse(NULL, &x), -EBADMSG);
        sso_token_done(&t);

        /* Nothing to refresh with. */
        static const char none[] = "{\"accessToken\":\"x\",\"expiresAt\":\"2030-01-01T00:00:00Z\"}";
        CHECK_INTEQ(sso_token_parse(none, strlen(none), &t), 0);
        CHECK_INTEQ(sso_create_token_request(&t, &body), -EINVAL);
        sso_token_done(&t);
}

static void test_role_credentials(void) {
        struct aws_credentials c = {};
        json_object *o;

        o = json_tokener_parse("{\"roleCredentials\":{\"accessKeyId\":\"ASIA1\",\"secretAccessKey\":\"sk\","
                               "\"sessionToken\":\"st\",\"expiration\":1893456000123}}");
        CHECK_INTEQ(sso_role_credentials_parse(o, &c), 0);
        json_object_put(o);
        CHECK_STREQ(c.access_key_id, "ASIA1");
        CHECK_STREQ(c.secret_access_key, "sk");
        CHECK_STREQ(c.session_token, "st");
        CHECK_INTEQ(c.expiration_usec, UINT64_C(1893456000123000));
        aws_credentials_done(&c);

        static const char *const bad[] = {
                "{}",
                "{\"roleCredentials\":null}",
                "{\"roleCredentials\":{\"accessKeyId\":\"A\",\"secretAccessKey\":\"s\",\"sessionToken\":"
                "\"t\"}}",
                "{\"roleCredentials\":{\"accessKeyId\":\"A\",\"sessionToken\":\"t\",\"expiration\":1}}",
                "{\"roleCredentials\":{\"secretAccessKey\":\"s\",\"expiration\":1}}",
                "{\"roleCredentials\":{\"accessKeyId\":\"A B\",\"secretAccessKey\":\"s\",\"expiration\":1}}",
                "{\"roleCredentials\":{\"accessKeyId\":\"A\",\"secretAccessKey\":\"s\",\"expiration\":\"1\"}"
                "}",
                "{\"roleCredentials\":{\"accessKeyId\":\"A\",\"secretAccessKey\":\"s\",\"expiration\":-1}}",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                o = json_tokener_parse(bad[i]);
                CHECK_INTEQ(sso_role_credentials_parse(o, &c), -EBADMSG);
                CHECK(!c.access_key_id);
                json_object_put(o);
        }
}

static void test_oidc_error(void) {
        _cleanup_free_ char *e = NULL, *d = NULL;
        json_object *o;

        o = json_tokener_parse(
                "{\"error\":\"invalid_grant\",\"error_description\":\"bad\\u001b[31m token\"}");
        CHECK_INTEQ(sso_oidc_error_parse(o, &e, &d), 0);
        json_object_put(o);
        CHECK_STREQ(e, "invalid_grant");
        CHECK_STREQ(d, "bad\\x1b[31m token");
        free(TAKE_PTR(e));
        free(TAKE_PTR(d));
        CHECK_INTEQ(sso_oidc_error_parse(NULL, &e, &d), 0);
        CHECK(!e && !d);
}

static const char CONFIG[] = "[profile legacy]\n"
                             "sso_start_url = https://old.awsapps.com/start\n"
                             "sso_region = us-east-1\n"
                             "sso_account_id = 111122223333\n"
                             "sso_role_name = Reader\n"
                             "[profile dev]\n"
                             "sso_session = my-sso\n"
                             "sso_account_id = 444455556666\n"
                             "sso_role_name = Admin Role\n"
                             "region = eu-west-1\n"
                             "[sso-session my-sso]\n"
                             "sso_start_url = https://d-123.awsapps.com/start\n"
                             "sso_region = eu-central-1\n"
                             "sso_registration_scopes = sso:account:access\n"
                             "[sso-session other]\n"
                             "sso_region = us-west-2\n"
                             "[profile my-sso]\n"
                             "sso_region = ap-south-1\n";

static void test_sections(void) {
        struct aws_profile p = {};
        struct aws_sso_session s = {};

        CHECK_INTEQ(aws_profile_parse(CONFIG, strlen(CONFIG), "dev", true, &p), 1);
        CHECK_STREQ(p.sso_session, "my-sso");
        CHECK_STREQ(p.sso_account_id, "444455556666");
        CHECK_STREQ(p.sso_role_name, "Admin Role");
        CHECK(!p.sso_start_url && !p.sso_region);
        aws_profile_done(&p);
        CHECK_INTEQ(aws_profile_parse(CONFIG, strlen(CONFIG), "legacy", true, &p), 1);
        CHECK_STREQ(p.sso_start_url, "https://old.awsapps.com/start");
        CHECK_STREQ(p.sso_region, "us-east-1");
        aws_profile_done(&p);

        /* "[sso-session my-sso]" is not "[profile my-sso]", nor the reverse. */
        CHECK_INTEQ(aws_sso_session_parse(CONFIG, strlen(CONFIG), "my-sso", &s), 1);
        CHECK(s.found);
        CHECK_STREQ(s.sso_start_url, "https://d-123.awsapps.com/start");
        CHECK_STREQ(s.sso_region, "eu-central-1");
        CHECK_STREQ(s.sso_registration_scopes, "sso:account:access");
        aws_sso_session_done(&s);
        CHECK_INTEQ(aws_profile_parse(CONFIG, strlen(CONFIG), "my-sso", true, &p), 1);
        CHECK_STREQ(p.sso_region, "ap-south-1");
        CHECK(!p.sso_start_url);
        aws_profile_done(&p);
        CHECK_INTEQ(aws_sso_session_parse(CONFIG, strlen(CONFIG), "dev", &s), 0);
        CHECK(!s.found && !s.sso_region);
        CHECK_INTEQ(aws_sso_session_parse(CONFIG, strlen(CONFIG), "other", &s), 1);
        CHECK(!s.sso_start_url);
        aws_sso_session_done(&s);
}

/* The profile's SSO settings from config text; *ret_why (may be NULL)
 * the message of a refusal. */
static int config_for(const char *text, const char *profile, struct sso_config *ret, char **ret_why) {
        struct aws_profile p = {.config_path = (char *)"/test/config"};
        char *why = NULL;
        int r;

        CHECK(aws_profile_parse(text, strlen(text), profile, true, &p) >= 0);
        if (p.sso_session)
                CHECK(aws_sso_session_parse(text, strlen(text), p.sso_session, &p.session) >= 0);
        r = sso_config_from_profile(profile, &p, ret, &why);
        CHECK(r < 0 ? why != NULL : why == NULL);
        p.config_path = NULL;
        aws_profile_done(&p);
        if (ret_why)
                *ret_why = why;
        else
                free(why);
        return r;
}

static void test_config(void) {
        struct sso_config c = {};

        CHECK_INTEQ(config_for(CONFIG, "dev", &c, NULL), 1);
        CHECK_STREQ(c.profile, "dev");
        CHECK_STREQ(c.session, "my-sso");
        CHECK_STREQ(c.start_url, "https://d-123.awsapps.com/start");
        CHECK_STREQ(c.region, "eu-central-1");
        CHECK_STREQ(c.account_id, "444455556666");
        CHECK_STREQ(c.role_name, "Admin Role");
        CHECK_STREQ(c.config_path, "/test/config");
        sso_config_done(&c);

        CHECK_INTEQ(config_for(CONFIG, "legacy", &c, NULL), 1);
        CHECK(!c.session);
        CHECK_STREQ(c.start_url, "https://old.awsapps.com/start");
        CHECK_STREQ(c.region, "us-east-1");
        sso_config_done(&c);

        /* Not SSO at all; or SSO keys beside static keys, as the SDKs read it. */
        CHECK_INTEQ(config_for("[profile x]\nregion = us-east-1\n", "x", &c, NULL), 0);
        CHECK_INTEQ(config_for("[profile x]\nsso_session = s\naws_access_key_id = A\n"
                               "aws_secret_access_key = B\n",
                               "x", &c, NULL),
                    0);

        static const char *const bad[] = {
                /* no such session */
                "[profile x]\nsso_session = nope\nsso_account_id = 111122223333\nsso_role_name = R\n",
                /* a session without a start URL */
                "[profile x]\nsso_session = s\nsso_account_id = 111122223333\nsso_role_name = R\n"
                "[sso-session s]\nsso_region = us-east-1\n",
                /* the profile and the session disagree */
                "[profile x]\nsso_session = s\nsso_region = us-west-2\nsso_account_id = 111122223333\n"
                "sso_role_name = R\n[sso-session s]\nsso_start_url = https://a/start\nsso_region = "
                "us-east-1\n",
                /* legacy without a region, or without a role */
                "[profile x]\nsso_start_url = https://a/start\nsso_account_id = 111122223333\nsso_role_name "
                "= R\n",
                "[profile x]\nsso_start_url = https://a/start\nsso_region = us-east-1\nsso_account_id = "
                "111122223333\n",
                /* a session and nothing else: meant SSO, cannot be used */
                "[profile x]\nsso_session = s\n[sso-session s]\nsso_start_url = https://a/start\n"
                "sso_region = us-east-1\n",
                /* not an account id; not a region */
                "[profile x]\nsso_start_url = https://a/start\nsso_region = us-east-1\nsso_account_id = 12\n"
                "sso_role_name = R\n",
                "[profile x]\nsso_start_url = https://a/start\nsso_region = Mars\nsso_account_id = "
                "111122223333\n"
                "sso_role_name = R\n",
        };
        /* Each refusal names the profile, the file and what is wrong. */
        static const char *const says[] = {
                "sso_session names \"nope\", but there is no [sso-session nope] section in /test/config",
                "uses SSO (sso_session \"s\") but lacks sso_start_url (in the profile or its [sso-session]",
                "sso_region is \"us-west-2\", but its sso-session \"s\" says \"us-east-1\"",
                "uses SSO but lacks sso_region",
                "uses SSO but lacks sso_role_name",
                "but lacks sso_account_id, sso_role_name",
                "sso_account_id \"12\" is not a 12-digit account id",
                "sso_region \"Mars\" is not a region name",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char *why = NULL;
                CHECK_INTEQ(config_for(bad[i], "x", &c, &why), -EINVAL);
                CHECK(!c.profile);
                CHECK(why && strstr(why, "profile \"x\" in /test/config") && strstr(why, says[i]));
                if (why && !strstr(why, says[i]))
                        fprintf(stderr, "  got: %s\n", why);
                free(why);
        }
}

static void test_private_write(void) {
        char *dir = test_temp_dir("sso-unit");
        int dfd = test_open_dir(dir);
        struct stat st;
        char *text;

        CHECK_INTEQ(atomic_file_write_private(dfd, "t.json", "{}\n", 3), 1);
        CHECK(fstatat(dfd, "t.json", &st, 0) == 0 && (st.st_mode & 07777) == 0600);
        /* Written again even when the same, still 0600 (a file made 0644 is replaced). */
        CHECK(fchmodat(dfd, "t.json", 0644, 0) == 0);
        CHECK_INTEQ(atomic_file_write_private(dfd, "t.json", "{}\n", 3), 1);
        CHECK(fstatat(dfd, "t.json", &st, 0) == 0 && (st.st_mode & 07777) == 0600);
        text = test_read_text(dir, "t.json");
        CHECK_STREQ(text, "{}\n");
        free(text);
        close(dfd);
        test_temp_dir_done(dir);
}

int main(void) {
        test_cache_name();
        test_token_parse();
        test_create_token();
        test_role_credentials();
        test_oidc_error();
        test_sections();
        test_config();
        test_private_write();
        return test_summary("sso-unit");
}
