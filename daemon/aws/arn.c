/* IAM role ARNs and external IDs (arn.h): the rules AssumeRole documents
 * for RoleArn and ExternalId, so that a typo is a configuration error at
 * its line instead of an AccessDenied at run time.
 *
 * Must never: allocate, log, or accept what AWS would refuse. */
#include "arn.h"

#include <errno.h>
#include <string.h>

#define ARN_PREFIX "arn:"
#define ARN_IAM ":iam::"
#define ARN_ROLE ":role/"
#define ARN_ACCOUNT_DIGITS 12
#define ARN_PARTITION_MAX 32
/* IAM's limits on a role's name and path. */
#define ARN_ROLE_NAME_MAX 64
#define ARN_ROLE_PATH_MAX 512

static bool is_alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* aws, aws-cn, aws-us-gov, aws-iso-b, ...: lower-case letters, digits and '-'. */
static bool partition_is_valid(const char *s, size_t n) {
        if (n == 0 || n > ARN_PARTITION_MAX || s[0] == '-' || s[n - 1] == '-')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
                        return false;
        return true;
}

int arn_role_parse(const char *s, char *ret_account, const char **ret_problem) {
        const char *problem = NULL, *p, *colon, *name;
        size_t n;

        if (!s)
                return -EINVAL;
        n = strlen(s);
        if (n > ARN_ROLE_MAX)
                problem = "is longer than 2048 characters";
        else if (strncmp(s, ARN_PREFIX, strlen(ARN_PREFIX)) != 0)
                problem = "does not start with arn:";
        if (problem)
                goto fail;

        p = s + strlen(ARN_PREFIX);
        colon = strchr(p, ':');
        if (!colon || !partition_is_valid(p, (size_t) (colon - p))) {
                problem = "has no valid partition (arn:aws:..., arn:aws-cn:...)";
                goto fail;
        }
        p = colon;
        if (strncmp(p, ARN_IAM, strlen(ARN_IAM)) != 0) {
                problem = "is not an IAM ARN (arn:PARTITION:iam::ACCOUNT:role/NAME)";
                goto fail;
        }
        p += strlen(ARN_IAM);
        for (size_t i = 0; i < ARN_ACCOUNT_DIGITS; i++)
                if (p[i] < '0' || p[i] > '9') {
                        problem = "has no 12-digit account id";
                        goto fail;
                }
        if (strncmp(p + ARN_ACCOUNT_DIGITS, ARN_ROLE, strlen(ARN_ROLE)) != 0) {
                problem = p[ARN_ACCOUNT_DIGITS] == ':' ? "is not the ARN of a role (...:role/NAME)"
                                                       : "has no 12-digit account id";
                goto fail;
        }

        /* role/NAME or role/PATH/NAME: the path is printable ASCII between
         * slashes, the name 1-64 of [A-Za-z0-9+=,.@_-]. */
        name = strrchr(p + ARN_ACCOUNT_DIGITS + strlen(ARN_ROLE) - 1, '/') + 1;
        if ((size_t) (name - (p + ARN_ACCOUNT_DIGITS + strlen(ARN_ROLE) - 1)) > ARN_ROLE_PATH_MAX) {
                problem = "has a role path longer than 512 characters";
                goto fail;
        }
        for (const char *c = p + ARN_ACCOUNT_DIGITS + strlen(ARN_ROLE); c < name; c++)
                if (*c < 0x21 || *c > 0x7e || (*c == '/' && c[-1] == '/')) {
                        problem = "has an invalid role path";
                        goto fail;
                }
        n = strlen(name);
        if (n == 0 || n > ARN_ROLE_NAME_MAX) {
                problem = n ? "has a role name longer than 64 characters" : "has no role name";
                goto fail;
        }
        for (size_t i = 0; i < n; i++)
                if (!is_alnum(name[i]) && !strchr("+=,.@_-", name[i])) {
                        problem = "has a role name with a character other than A-Z a-z 0-9 +=,.@_-";
                        goto fail;
                }

        if (ret_account) {
                memcpy(ret_account, p, ARN_ACCOUNT_DIGITS);
                ret_account[ARN_ACCOUNT_DIGITS] = '\0';
        }
        return 0;

fail:
        if (ret_problem)
                *ret_problem = problem;
        return -EINVAL;
}

bool arn_external_id_is_valid(const char *s) {
        size_t n;

        if (!s)
                return false;
        n = strlen(s);
        if (n < ARN_EXTERNAL_ID_MIN || n > ARN_EXTERNAL_ID_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_alnum(s[i]) && !strchr("+=,.@:/_-", s[i]))
                        return false;
        return true;
}
