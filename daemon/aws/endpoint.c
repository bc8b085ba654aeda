/* Region, endpoint and CA bundle resolution (see endpoint.h).
 *
 * Must never: let a later source override an earlier one, return an endpoint
 * url.c refuses, or log a value of the environment above warning. */
#include "aws/endpoint.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aws/creds-file.h"
#include "aws/url.h"
#include "log.h"
#include "util.h"

#define LOWER "abcdefghijklmnopqrstuvwxyz"
#define DIGITS "0123456789"
#define REGION_NUMBER_MAX_DIGITS 2
#define REGION_FIRST_MIN 2
#define REGION_FIRST_MAX 4
#define CHINA_REGION_PREFIX "cn-"

static bool set(const char *s) {
        return s && *s;
}

bool endpoint_region_is_valid(const char *region) {
        const char *p;
        size_t n, words = 0;

        if (!region || strlen(region) > ENDPOINT_REGION_MAX)
                return false;
        /* The first part names the partition's geography: two letters
         * (us-, eu-, cn-), or up to four (eusc-de-east-1). */
        n = strspn(region, LOWER);
        if (n < REGION_FIRST_MIN || n > REGION_FIRST_MAX || region[n] != '-')
                return false;
        /* Words of letters, each followed by '-', up to the number. */
        for (p = region + n + 1; (n = strspn(p, LOWER)) > 0; p += n + 1) {
                if (p[n] != '-')
                        return false;
                words++;
        }
        n = strspn(p, DIGITS);
        return words > 0 && n > 0 && n <= REGION_NUMBER_MAX_DIGITS && p[n] == '\0';
}

static int region_from_profile(const char *profile, char **ret) {
        struct aws_profile p = {};
        char *v;
        int r;

        r = aws_profile_load(aws_profile_name(profile), &p);
        if (r < 0)
                return r;
        /* Said here too: with credentials from the environment the
         * credential chain never reads this file, but the region does. */
        if (p.config_insecure && p.region)
                log_warning("%s is group- or world-writable; anyone who can write it chooses "
                            "the region kinesisd uses.", p.config_path);
        v = TAKE_PTR(p.region);
        aws_profile_done(&p);
        if (!v)
                return -ENOENT;
        *ret = v;
        return 0;
}

int endpoint_resolve_region(const char *cli, const char *config, const char *profile, char **ret,
                            const char **ret_source) {
        _cleanup_free_ char *v = NULL;
        const char *source, *e;
        int r;

        if (set(cli))
                source = "--region", e = cli;
        else if (set(config))
                source = "aws.region", e = config;
        else if (set(e = getenv("AWS_REGION")))
                source = "$AWS_REGION";
        else if (set(e = getenv("AWS_DEFAULT_REGION")))
                source = "$AWS_DEFAULT_REGION";
        else
                source = "the profile's region", e = NULL;
        if (e)
                v = strdup(e);
        else {
                r = region_from_profile(profile, &v);
                if (r < 0)
                        return r;
        }
        if (!v)
                return -ENOMEM;
        if (!endpoint_region_is_valid(v))
                return -EINVAL;
        *ret = TAKE_PTR(v);
        if (ret_source)
                *ret_source = source;
        return 0;
}

void endpoint_setting_done(struct endpoint_setting *s) {
        free(s->owned);
        *s = (struct endpoint_setting){};
}

static bool truthy(const char *s) {
        return s && strcasecmp(s, "true") == 0;
}

/* The services kinesisd talks to: the id their [services] subsection and
 * AWS_ENDPOINT_URL_<ID> use, and the host part of the default endpoint
 * (HOST[-fips].REGION.DOMAIN). */
static const struct service {
        const char *id, *variable, *source, *host;
} services[] = {
        { "kinesis", "AWS_ENDPOINT_URL_KINESIS", "$AWS_ENDPOINT_URL_KINESIS", "kinesis" },
        { "sts", "AWS_ENDPOINT_URL_STS", "$AWS_ENDPOINT_URL_STS", "sts" },
        { "sso", "AWS_ENDPOINT_URL_SSO", "$AWS_ENDPOINT_URL_SSO", "portal.sso" },
        { "sso_oidc", "AWS_ENDPOINT_URL_SSO_OIDC", "$AWS_ENDPOINT_URL_SSO_OIDC", "oidc" },
};

/* The service of an id; Kinesis for one not in the table. */
static const struct service *service_find(const char *id) {
        for (size_t i = 0; i < ELEMENTSOF(services); i++)
                if (streq(services[i].id, id))
                        return &services[i];
        return &services[0];
}

int endpoint_service_setting(const char *service, const char *cli, const char *config, const char *profile,
                             struct endpoint_setting *ret) {
        _cleanup_(aws_profile_done) struct aws_profile p = {};
        struct endpoint_setting s = {};
        const struct service *svc = service_find(service);
        const char *e;
        bool ignore;
        int r;

        if (set(cli)) {
                *ret = (struct endpoint_setting){ .source = "--endpoint", .value = cli };
                return 0;
        }
        if (set(config)) {
                *ret = (struct endpoint_setting){ .source = "aws.endpoint", .value = config };
                return 0;
        }
        r = aws_profile_load(aws_profile_name(profile), &p);
        if (r < 0)
                return r;
        e = getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
        ignore = set(e) ? truthy(e) : truthy(p.ignore_configured_endpoint_urls);
        e = getenv("AWS_USE_FIPS_ENDPOINT");
        s.fips = set(e) ? truthy(e) : truthy(p.use_fips_endpoint);
        e = getenv("AWS_USE_DUALSTACK_ENDPOINT");
        s.dualstack = set(e) ? truthy(e) : truthy(p.use_dualstack_endpoint);
        s.source = "the region";
        if (!ignore) {
                if (set(e = getenv(svc->variable))) {
                        s.source = svc->source;
                        s.value = e;
                } else if (set(e = getenv("AWS_ENDPOINT_URL"))) {
                        s.source = "$AWS_ENDPOINT_URL";
                        s.value = e;
                } else if (set(p.services)) {
                        r = aws_services_endpoint_load(p.services, service, &s.owned);
                        if (r < 0)
                                return r;
                        if (r > 0) {
                                s.source = "the profile's services section";
                                s.value = s.owned;
                        }
                }
                if (!s.value && set(p.endpoint_url)) {
                        s.owned = TAKE_PTR(p.endpoint_url);
                        s.source = "the profile's endpoint_url";
                        s.value = s.owned;
                }
        }
        *ret = s;
        return 0;
}

int endpoint_kinesis_setting(const char *cli, const char *config, const char *profile,
                             struct endpoint_setting *ret) {
        return endpoint_service_setting("kinesis", cli, config, profile, ret);
}

int endpoint_service_url(const char *service, const struct endpoint_setting *s, const char *region,
                         char **ret) {
        _cleanup_free_ char *v = NULL;
        int r;

        if (s->value)
                v = strdup(s->value);
        else {
                if (!endpoint_region_is_valid(region))
                        return -EINVAL;
                bool china = strncmp(region, CHINA_REGION_PREFIX, strlen(CHINA_REGION_PREFIX)) == 0;
                const char *domain = s->dualstack ? (china ? "api.amazonwebservices.com.cn" : "api.aws")
                                                  : (china ? "amazonaws.com.cn" : "amazonaws.com");
                if (asprintf(&v, "https://%s%s.%s.%s", service_find(service)->host, s->fips ? "-fips" : "",
                             region, domain) < 0)
                        v = NULL;
        }
        if (!v)
                return -ENOMEM;
        r = url_check(v, false);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(v);
        return 0;
}

int endpoint_kinesis_url(const struct endpoint_setting *s, const char *region, char **ret) {
        return endpoint_service_url("kinesis", s, region, ret);
}

int endpoint_resolve_service(const char *service, const char *region, const char *profile, char **ret_url,
                             const char **ret_source) {
        _cleanup_(endpoint_setting_done) struct endpoint_setting s = {};
        int r;

        r = endpoint_service_setting(service, NULL, NULL, profile, &s);
        if (r < 0)
                return r;
        r = endpoint_service_url(service, &s, region, ret_url);
        if (r < 0)
                return r;
        if (ret_source)
                *ret_source = s.source;
        return 0;
}

int endpoint_resolve_kinesis(const char *cli, const char *config, const char *region, char **ret_url,
                             const char **ret_source) {
        _cleanup_(endpoint_setting_done) struct endpoint_setting s = {};
        int r;

        r = endpoint_kinesis_setting(cli, config, NULL, &s);
        if (r < 0)
                return r;
        r = endpoint_kinesis_url(&s, region, ret_url);
        if (r < 0)
                return r;
        if (ret_source)
                *ret_source = s.source;
        return 0;
}

const char *endpoint_ca_bundle(const char *config) {
        const char *e;

        if (set(config))
                return config;
        e = getenv("AWS_CA_BUNDLE");
        return set(e) ? e : NULL;
}
