/* The streams.env variable names (DESIGN §4): the configuration checks that
 * no two declarations share one, the state directory writes them. One rule,
 * so the two can never disagree.
 *
 * Pure string work: this module must never read the configuration or the
 * state directory itself. */
#pragma once

/* KINESIS_STREAM_<NAME>_ARN, or KINESIS_STREAM_<REGION>_<NAME>_ARN when region
 * differs from default_region; with account (not NULL or "": the streams of
 * one name and region in two accounts) KINESIS_STREAM_<ACCOUNT>_..., before
 * the region; with consumer non-NULL, ..._CONSUMER_<CONSUMER>_ARN. Letters
 * are upper-cased and anything but letters and digits becomes '_'. Returns a
 * malloc'd string, or NULL with errno set (EINVAL without a name, ENOMEM). */
char *env_name_arn(const char *default_region, const char *region, const char *account, const char *name,
                   const char *consumer);
