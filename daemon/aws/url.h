/* The URL policy of every AWS endpoint kinesisd talks to (DESIGN §5), in one
 * place for the HTTP client, the command line and the configuration:
 *
 *   - https:// to any host;
 *   - http:// only to a loopback host: "localhost" (also with the trailing
 *     dot of a fully qualified name), 127.0.0.0/8 as a dotted quad, and ::1
 *     in any of its spellings ("[::1]", "[0:0:0:0:0:0:0:1]"), all as curl's
 *     URL parser reads the host; the instance-metadata and container
 *     credential addresses only when the caller allows link-local hosts;
 *   - no user information ("user:password@host"), on any scheme;
 *   - at most URL_MAX bytes.
 *
 * Pure: no network, no logging. */
#pragma once

#include <stdbool.h>

/* Longest URL accepted anywhere (endpoints, credential URIs). AWS endpoints
 * are far shorter; the cap only bounds what the parsers see. */
#define URL_MAX 2048

/* Is this URL allowed? Returns 0, -EPERM (plain http to a host that is not
 * loopback, nor one of the fixed link-local credential addresses
 * 169.254.169.254, 169.254.170.2, 169.254.170.23, fd00:ec2::254, fd00:ec2::23
 * when allow_link_local), -EACCES (user information in the URL: never say
 * such a URL, it may hold a password), -EPROTONOSUPPORT (a scheme other than
 * http and https) or -EINVAL (not a URL, or longer than URL_MAX). */
int url_check(const char *url, bool allow_link_local);
/* A host as curl gives it (IPv6 literals in brackets): the loopback rule above. */
bool url_host_is_loopback(const char *host);
/* The URL parses and names a loopback host. */
bool url_is_loopback(const char *url);

/* The Host header for a URL ("host" or "host:port", IPv6 in brackets) and its
 * path ("/" when empty). Either output may be NULL. Returns 0, -EINVAL, -ENOMEM. */
int url_host_path(const char *url, char **ret_host, char **ret_path);
