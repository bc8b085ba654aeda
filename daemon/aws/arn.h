/* IAM role ARNs and external IDs as AssumeRole takes them: the checks the
 * configuration applies to a stream's role_arn and external_id, and the
 * account a role belongs to (what kinesisd paces and counts by, DESIGN §6).
 *
 * Pure string work: no I/O, no logging. */
#pragma once

#include <stdbool.h>

/* An account id: 12 digits, and the NUL. */
#define ARN_ACCOUNT_SIZE 13
/* AssumeRole's bounds on RoleArn and ExternalId. */
#define ARN_ROLE_MAX 2048
#define ARN_EXTERNAL_ID_MIN 2
#define ARN_EXTERNAL_ID_MAX 1224

/* Check arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME. Returns 0 and copies the
 * 12-digit account into ret_account (ARN_ACCOUNT_SIZE bytes; may be NULL),
 * or -EINVAL with *ret_problem (may be NULL) saying what is wrong, in words
 * that follow the value in a message. */
int arn_role_parse(const char *s, char *ret_account, const char **ret_problem);

/* 2-1224 characters of A-Z a-z 0-9 and +=,.@:/_- (AssumeRole's ExternalId). */
bool arn_external_id_is_valid(const char *s);
