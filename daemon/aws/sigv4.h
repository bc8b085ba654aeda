/* AWS Signature Version 4 (header form). Pure: no clock, no I/O, no globals;
 * the caller passes the time and the credentials, and gets back the headers
 * to add. Uses mbedTLS for SHA-256 and HMAC.
 *
 * Must never log: everything it touches is secret or derived from a secret. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <mbedtls/sha256.h>

/* Hard limits; a request beyond them is refused with -EINVAL. */
#define SIGV4_MAX_HEADERS 128             /* caller's headers, duplicates counted */
#define SIGV4_MAX_HEADER_NAME 128         /* bytes */
#define SIGV4_MAX_SECRET 256              /* bytes of the secret access key */
#define SIGV4_MAX_TEXT (256u * 1024u)     /* canonical request, and any one output string */

struct sigv4_header {
        const char *name;  /* as the request will carry it; case folded for signing */
        const char *value; /* raw; trimmed and inner spaces folded for signing */
};

/* Every header passed in is signed, so pass only the ones the request will
 * carry unchanged: leave out those a proxy may rewrite (User-Agent, Expect,
 * hop-by-hop headers). Authorization, X-Amz-Date and X-Amz-Security-Token are
 * the signer's to add and are refused; so is X-Amz-Content-SHA256 when
 * add_content_sha256 is set. Names that differ only in case are one header,
 * their values joined with ',' in the order given. */
struct sigv4_request {
        const char *method;             /* "POST" */
        const char *path;               /* "/" ; raw, before any encoding by the signer:
                                         * exactly what the request line carries before
                                         * '?' (the caller's own percent-escapes are kept
                                         * as they are, never decoded). Empty means "/". */
        const char *query;              /* raw query string without '?', or NULL; escapes
                                         * are decoded and re-encoded canonically */
        const struct sigv4_header *headers; /* must include Host */
        size_t n_headers;
        const void *body;
        size_t body_len;

        const char *region;
        const char *service;            /* "kinesis" */
        const char *access_key_id;
        const char *secret_access_key;
        const char *session_token;      /* NULL or "" for none */
        time_t now;                     /* seconds since the epoch, UTC */

        bool normalize_path;            /* RFC 3986 dot-segment removal (and empty segments
                                         * dropped); true for Kinesis */
        bool double_encode_path;        /* true for every service but S3: the path is
                                         * percent-encoded once more for signing; false
                                         * signs it as given */
        bool omit_session_token;        /* sign without it, add it afterwards (test suite only) */
        bool add_content_sha256;        /* add and sign x-amz-content-sha256 */
        struct sigv4_key_cache *key_cache; /* NULL: derive the key every time */
};

/* The signing key depends only on (secret, date, region, service): a cache
 * of the last one saves four of the five HMACs of a signature, and keeping
 * the key's two padded HMAC blocks already absorbed saves two of the five
 * SHA-256 blocks the last one costs. It keeps the secret to recognize it:
 * the cache is as sensitive as the credentials, so wipe it with
 * sigv4_key_cache_wipe() when they go (it is wiped whenever it is replaced). */
struct sigv4_key_cache {
        bool valid;
        char date[9];
        char region[64];
        char service[32];
        size_t secret_len;
        char secret[SIGV4_MAX_SECRET];
        mbedtls_sha256_context inner, outer; /* HMAC(kSigning, ·) with its key blocks absorbed */
};
void sigv4_key_cache_wipe(struct sigv4_key_cache *c);

/* The headers to add to the request, and (for tests) the intermediate steps. */
struct sigv4_result {
        char amz_date[17];         /* X-Amz-Date: yyyymmddThhmmssZ */
        char *authorization;       /* Authorization: value */
        char *security_token;      /* X-Amz-Security-Token: value, or NULL */
        char *content_sha256;      /* x-amz-content-sha256: value, or NULL */
        char *canonical_request;
        char *string_to_sign;
        char signature[65];
};

/* Returns 0, -EINVAL for a request it cannot sign (malformed or over a limit
 * above), -ENOMEM, -EOPNOTSUPP if mbedTLS was built without SHA-256. *ret is
 * written only on success; free with sigv4_result_done(). */
int sigv4_sign(const struct sigv4_request *req, struct sigv4_result *ret);

/* Frees and wipes what sigv4_sign() returned; accepts NULL and a zeroed struct. */
void sigv4_result_done(struct sigv4_result *r);

/* Lower-case hex SHA-256 of data into out[65] (empty string if mbedTLS lacks SHA-256). */
void sigv4_sha256_hex(const void *data, size_t len, char out[65]);
