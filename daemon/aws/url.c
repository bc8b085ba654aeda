/* The URL policy (see url.h): which endpoints kinesisd may talk to, and the
 * Host header and path of a URL, as curl's URL parser reads them.
 *
 * Must never: accept plain http to a host that is not loopback (link-local
 * credential addresses only when the caller asks), accept user information,
 * resolve a name, or log. */
#include "aws/url.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

bool url_host_is_loopback(const char *host) {
        struct in_addr a4;
        struct in6_addr a6;
        char buf[INET6_ADDRSTRLEN]; /* the longest IPv6 text, and its NUL */

        if (!host || !*host)
                return false;
        if (strcasecmp(host, "localhost") == 0 || strcasecmp(host, "localhost.") == 0)
                return true;
        /* curl gives IPv6 literals in brackets. */
        size_t n = strlen(host);
        if (host[0] == '[' && n >= 2 && host[n - 1] == ']') {
                if (n - 2 >= sizeof buf)
                        return false;
                memcpy(buf, host + 1, n - 2);
                buf[n - 2] = 0;
                /* No zone ids: "::1%eth0" is not something we need. */
                return inet_pton(AF_INET6, buf, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
        }
        if (inet_pton(AF_INET6, host, &a6) == 1)
                return IN6_IS_ADDR_LOOPBACK(&a6);
        /* Dotted quad only: inet_aton() would take "127.1" or "0x7f.1" too. */
        if (inet_pton(AF_INET, host, &a4) == 1)
                return (ntohl(a4.s_addr) >> 24) == 127;
        return false;
}

static bool host_is_link_local_credential_endpoint(const char *host) {
        static const char *const hosts[] = {
                "169.254.169.254", "169.254.170.2", "169.254.170.23",
                "[fd00:ec2::254]", "[fd00:ec2::23]",
        };
        for (size_t i = 0; i < ELEMENTSOF(hosts); i++)
                if (strcasecmp(host, hosts[i]) == 0)
                        return true;
        return false;
}

static void curl_url_cleanupp(CURLU **u) {
        if (*u)
                curl_url_cleanup(*u);
}

static void curl_freep(char **p) {
        if (*p)
                curl_free(*p);
}

static int url_parse(const char *url, CURLU **ret) {
        CURLU *u;

        if (!url || strlen(url) > URL_MAX)
                return -EINVAL;
        u = curl_url();
        if (!u)
                return -ENOMEM;
        if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
                curl_url_cleanup(u);
                return -EINVAL;
        }
        *ret = u;
        return 0;
}

int url_check(const char *url, bool allow_link_local) {
        __attribute__((cleanup(curl_url_cleanupp))) CURLU *u = NULL;
        __attribute__((cleanup(curl_freep))) char *scheme = NULL, *host = NULL, *user = NULL;
        int r;

        r = url_parse(url, &u);
        if (r < 0)
                return r;
        if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK)
                return -EINVAL;
        if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0)
                return -EPROTONOSUPPORT;
        if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host)
                return -EINVAL;
        /* "user:password@" is never how AWS authenticates; from a command line
         * or the environment it would be a secret in every log of the URL. */
        if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK)
                return -EACCES;
        if (strcasecmp(scheme, "https") == 0)
                return 0;
        if (url_host_is_loopback(host))
                return 0;
        if (allow_link_local && host_is_link_local_credential_endpoint(host))
                return 0;
        return -EPERM;
}

bool url_is_loopback(const char *url) {
        __attribute__((cleanup(curl_url_cleanupp))) CURLU *u = NULL;
        __attribute__((cleanup(curl_freep))) char *host = NULL;

        if (url_parse(url, &u) < 0 || curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
                return false;
        return url_host_is_loopback(host);
}

int url_host_path(const char *url, char **ret_host, char **ret_path) {
        __attribute__((cleanup(curl_url_cleanupp))) CURLU *u = NULL;
        __attribute__((cleanup(curl_freep))) char *host = NULL, *port = NULL, *path = NULL;
        _cleanup_free_ char *h = NULL, *p = NULL;
        int r;

        r = url_parse(url, &u);
        if (r < 0)
                return r;
        if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
                return -EINVAL;
        /* Only a port the URL names: curl sends Host without a default one. */
        if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK)
                port = NULL;
        if (curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
                path = NULL;
        if (port ? asprintf(&h, "%s:%s", host, port) < 0 : !(h = strdup(host)))
                return -ENOMEM;
        p = strdup(path && *path ? path : "/");
        if (!p)
                return -ENOMEM;
        if (ret_host)
                *ret_host = TAKE_PTR(h);
        if (ret_path)
                *ret_path = TAKE_PTR(p);
        return 0;
}
