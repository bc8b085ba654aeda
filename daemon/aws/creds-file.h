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

/* What one profile says, merged from the credentials file (wins) and the
 * config file. */
struct aws_profile {
        char *access_key_id;
        char *secret_access_key;
        char *session_token;
        char *credential_process;
        char *region;
        char *role_arn;         /* not supported; reported */
        /* SSO: the name of an [sso-session NAME] section of the config file,
         * or the legacy keys sso_start_url and sso_region in the profile
         * itself; the account and role whose credentials the portal gives. */
        char *sso_session;
        char *sso_start_url, *sso_region, *sso_account_id, *sso_role_name;
        struct aws_sso_session session; /* the section sso_session names */
        bool in_credentials;    /* the section exists in the credentials file */
        bool in_config;         /* ... in the config file */
        char *credentials_path, *config_path;
        bool credentials_insecure, config_insecure; /* group- or world-writable */
};
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
