/* Pure parsing for the credential chain: the shared credentials and config
 * files (INI), credential JSON documents (credential_process, container,
 * instance metadata), ISO 8601 times, and credential_process command lines.
 *
 * No network, no logging, no process spawning. Everything read is bounded:
 * files at AWS_FILE_MAX bytes, values at AWS_VALUE_MAX. Hostile input makes
 * these return an error or ignore a line, never overrun anything. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AWS_FILE_MAX (1024 * 1024)
#define AWS_VALUE_MAX 4096
#define AWS_ARGV_MAX 256

/* A set of credentials. Expiration is wall-clock microseconds since the
 * epoch, 0 for credentials that do not expire. */
struct aws_credentials {
        char *access_key_id;
        char *secret_access_key;
        char *session_token; /* NULL if none */
        uint64_t expiration_usec;
};
void aws_credentials_done(struct aws_credentials *c);
int aws_credentials_copy(const struct aws_credentials *from, struct aws_credentials *to);

/* An [sso-session NAME] section of the config file. */
struct aws_sso_session {
        bool found;
        char *sso_start_url, *sso_region, *sso_registration_scopes;
};
void aws_sso_session_done(struct aws_sso_session *s);
/* Parse config file text for "[sso-session NAME]". Fills only the keys not
 * set yet. Returns 1 if the section exists, 0 if not, -ENOMEM. */
int aws_sso_session_parse(const char *text, size_t len, const char *name, struct aws_sso_session *s);

/* The keys of a profile kinesisd reads, in the order of struct aws_profile's
 * string fields. */
enum aws_profile_key {
        AWS_KEY_ACCESS_KEY_ID,
        AWS_KEY_SECRET_ACCESS_KEY,
        AWS_KEY_SESSION_TOKEN,
        AWS_KEY_CREDENTIAL_PROCESS,
        AWS_KEY_REGION,
        AWS_KEY_ROLE_ARN,
        AWS_KEY_SOURCE_PROFILE,
        AWS_KEY_CREDENTIAL_SOURCE,
        AWS_KEY_EXTERNAL_ID,
        AWS_KEY_ROLE_SESSION_NAME,
        AWS_KEY_DURATION_SECONDS,
        AWS_KEY_WEB_IDENTITY_TOKEN_FILE,
        AWS_KEY_ENDPOINT_URL,
        AWS_KEY_SERVICES,
        AWS_KEY_IGNORE_CONFIGURED_ENDPOINT_URLS,
        AWS_KEY_USE_FIPS_ENDPOINT,
        AWS_KEY_USE_DUALSTACK_ENDPOINT,
        AWS_KEY_SSO_SESSION,
        AWS_KEY_SSO_START_URL,
        AWS_KEY_SSO_REGION,
        AWS_KEY_SSO_ACCOUNT_ID,
        AWS_KEY_SSO_ROLE_NAME,
        _AWS_KEY_MAX,
};
/* The key's name as files spell it. */
const char *aws_profile_key_name(enum aws_profile_key k);

/* What one profile says, merged from the credentials file (wins) and the
 * config file. */
struct aws_profile {
        char *access_key_id;
        char *secret_access_key;
        char *session_token;
        char *credential_process;
        char *region;
        char *role_arn;
        char *source_profile;
        char *credential_source;
        char *external_id;
        char *role_session_name;
        char *duration_seconds;
        char *web_identity_token_file;
        char *endpoint_url;
        char *services;
        char *ignore_configured_endpoint_urls;
        char *use_fips_endpoint;
        char *use_dualstack_endpoint;
        /* SSO: the name of an [sso-session NAME] section of the config file,
         * or the legacy keys sso_start_url and sso_region in the profile
         * itself; the account and role whose credentials the portal gives. */
        char *sso_session;
        char *sso_start_url;
        char *sso_region;
        char *sso_account_id;
        char *sso_role_name;
        unsigned from_credentials; /* bit (1 << key): the value came from the credentials file */
        struct aws_sso_session session; /* the section sso_session names */
        bool in_credentials;    /* the section exists in the credentials file */
        bool in_config;         /* ... in the config file */
        char *credentials_path, *config_path;
        bool credentials_insecure, config_insecure; /* group- or world-writable */
};
/* The value of a key (NULL: not set), and the file it came from. */
const char *aws_profile_get(const struct aws_profile *p, enum aws_profile_key k);
const char *aws_profile_key_path(const struct aws_profile *p, enum aws_profile_key k);
/* The file that holds the profile's section: the credentials file if it has
 * one, else the config file. */
const char *aws_profile_path(const struct aws_profile *p);
void aws_profile_done(struct aws_profile *p);

/* The profile to use: config's aws.profile, else $AWS_PROFILE, else "default". */
const char *aws_profile_name(const char *config_profile);
/* $AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials; $AWS_CONFIG_FILE or
 * ~/.aws/config. -ENOENT if there is no home directory to look in. */
int aws_shared_credentials_path(char **ret);
int aws_config_path(char **ret);

/* Parse INI text for the section of one profile: "[NAME]" in a credentials
 * file; "[profile NAME]" in a config file (and "[default]" for the default
 * profile). Fills only the keys found (does not overwrite what is already
 * set, so parse the winning file first). Returns 1 if the section exists,
 * 0 if not, -ENOMEM. */
int aws_profile_parse(const char *text, size_t len, const char *profile, bool config_file,
                      struct aws_profile *p);
/* In a config file, the endpoint_url of service (its lowercase service id,
 * "kinesis" or "sts") in the section "[services NAME]":
 *     [services NAME]
 *     kinesis =
 *       endpoint_url = https://...
 * Returns 1 and *ret, 0 if not there, -ENOMEM. */
int aws_services_endpoint(const char *text, size_t len, const char *name, const char *service,
                          char **ret);
/* The same, read from the config file ($AWS_CONFIG_FILE). */
int aws_services_endpoint_load(const char *name, const char *service, char **ret);

/* $HOME/rel (the password database's home when HOME is unset). -ENOENT if
 * there is no home directory. */
int aws_home_path(const char *rel, char **ret);

/* Read a whole file, at most max bytes (-EFBIG past it). *ret_insecure tells
 * whether it is group- or world-writable. -ENOENT if missing. */
int aws_file_read(const char *path, size_t max, char **ret_text, size_t *ret_len,
                  bool *ret_insecure);

/* Load a profile from both files. Missing files are fine. Returns 0 (with
 * in_credentials/in_config telling whether it exists), or a negative errno
 * for an unreadable file. When the profile names an sso_session, that
 * section of the config file is loaded into ret->session. */
int aws_profile_load(const char *profile, struct aws_profile *ret);

/* Credentials from a JSON document: AccessKeyId, SecretAccessKey, the token
 * under token_key ("SessionToken" for credential_process, "Token" for
 * container and instance metadata), Expiration (ISO 8601, optional).
 * -EBADMSG if malformed or incomplete. */
int aws_credentials_from_json(const json_object *o, const char *token_key,
                              struct aws_credentials *ret);

/* Credentials from their parts, checked as aws_credentials_from_json()
 * checks them (an empty token is none). -EBADMSG, -ENOMEM. */
int aws_credentials_make(const char *id, const char *secret, const char *token, uint64_t expiration_usec,
                         struct aws_credentials *ret);

/* "2024-01-02T03:04:05Z", with optional fractional seconds and a "Z" or
 * "+hh:mm" offset. */
int aws_parse_iso8601(const char *s, uint64_t *ret_usec);

/* Split a credential_process command line into argv without a shell:
 * whitespace separates words; '...' and "..." quote; backslash escapes the
 * next character outside single quotes. -EINVAL for an unterminated quote or
 * an empty command. */
int aws_split_command(const char *s, char ***ret_argv);

/* The container credentials URL from the environment: FULL_URI as given,
 * else http://169.254.170.2 + RELATIVE_URI. -ENOENT if neither is set,
 * -EINVAL for a relative URI not starting with '/'. */
int aws_container_credentials_url(char **ret);
