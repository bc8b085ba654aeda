/* Where kinesisd finds its region, its Kinesis endpoint and its CA bundle
 * (DESIGN §5), each with ONE order of precedence, and the name of the
 * setting each value came from, for messages.
 *
 * Region:   --region > aws.region > AWS_REGION > AWS_DEFAULT_REGION >
 *           the profile's region in the shared config file.
 * Endpoint: --endpoint > aws.endpoint > AWS_ENDPOINT_URL_KINESIS >
 *           AWS_ENDPOINT_URL > the profile's services section > the
 *           profile's endpoint_url > https://kinesis.<region>.amazonaws.com
 *           (.amazonaws.com.cn in cn-* regions; FIPS and dual-stack forms).
 *           The same for STS (AWS_ENDPOINT_URL_STS, sts.<region>...), the
 *           SSO portal (AWS_ENDPOINT_URL_SSO, portal.sso.<region>...) and
 *           SSO-OIDC (AWS_ENDPOINT_URL_SSO_OIDC, oidc.<region>...).
 * CA:       aws.ca_bundle > AWS_CA_BUNDLE > curl's default store.
 *
 * Reads the environment and the shared config file; never the network. */
#pragma once

#include <stdbool.h>

/* The longest region name accepted. */
#define ENDPOINT_REGION_MAX 32

/* An AWS region name: two to four lowercase letters, one or more lowercase
 * words and a number of one or two digits, joined by '-' (us-west-2,
 * cn-north-1, us-gov-west-1, eu-isoe-west-1, eusc-de-east-1), at most
 * ENDPOINT_REGION_MAX bytes. */
bool endpoint_region_is_valid(const char *region);

/* The region, from the command line (cli), the configuration (config),
 * the environment or the profile (NULL: the default profile). *ret_source
 * (may be NULL) is a static name of the setting: "--region", "aws.region",
 * "$AWS_REGION", "$AWS_DEFAULT_REGION", "the profile's region". Returns 0,
 * -ENOENT if none is set, -EINVAL if the one set is not a region name,
 * -ENOMEM, or an error reading the profile. */
int endpoint_resolve_region(const char *cli, const char *config, const char *profile, char **ret,
                            const char **ret_source);

/* The setting an endpoint comes from, as given. */
struct endpoint_setting {
        const char *source; /* "--endpoint", "aws.endpoint", "$AWS_ENDPOINT_URL_KINESIS" (or _STS, _SSO, _SSO_OIDC),
                               "$AWS_ENDPOINT_URL", "the profile's services section",
                               "the profile's endpoint_url" or "the region" */
        const char *value;  /* borrowed (or owned through owned); NULL for "the region" */
        char *owned;
        bool fips, dualstack; /* for "the region": AWS_USE_FIPS_ENDPOINT, AWS_USE_DUALSTACK_ENDPOINT
                                 (or the profile's use_fips_endpoint, use_dualstack_endpoint) */
};
void endpoint_setting_done(struct endpoint_setting *s);
/* Which setting wins for service ("kinesis", "sts", "sso" (the SSO portal,
 * portal.sso.REGION...) or "sso_oidc" (oidc.REGION...); no checks; an empty
 * setting counts as unset): cli > config > AWS_ENDPOINT_URL_<SERVICE> >
 * AWS_ENDPOINT_URL > the profile's services section > the profile's
 * endpoint_url > the region. AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true (or
 * the profile's ignore_configured_endpoint_urls) skips the variables and the
 * profile's settings. profile NULL: $AWS_PROFILE, else default. Returns 0,
 * or an error reading the config file. */
int endpoint_service_setting(const char *service, const char *cli, const char *config, const char *profile,
                             struct endpoint_setting *ret);
int endpoint_kinesis_setting(const char *cli, const char *config, const char *profile,
                             struct endpoint_setting *ret);
/* The URL of that setting (for "the region", built from region:
 * https://SERVICE[-fips].REGION.amazonaws.com, .amazonaws.com.cn in cn-*;
 * dual-stack: .api.aws, .api.amazonwebservices.com.cn). Returns 0, -EINVAL
 * (no valid region for the default), -ENOMEM, or url_check()'s refusal
 * (-EPERM for plain http to a host that is not loopback). */
int endpoint_service_url(const char *service, const struct endpoint_setting *s, const char *region,
                         char **ret);
int endpoint_kinesis_url(const struct endpoint_setting *s, const char *region, char **ret);
/* Both steps: the endpoint URL, and the name of its setting (may be NULL). */
int endpoint_resolve_service(const char *service, const char *region, const char *profile, char **ret_url,
                             const char **ret_source);
int endpoint_resolve_kinesis(const char *cli, const char *config, const char *region, char **ret_url,
                             const char **ret_source);

/* The CA bundle: config's aws.ca_bundle > AWS_CA_BUNDLE > NULL (curl's default). */
const char *endpoint_ca_bundle(const char *config);
