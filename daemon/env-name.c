/* The streams.env variable names (DESIGN §4), shared by the configuration's
 * collision check and the state directory's writer.
 *
 * This file must never read or write files, log, or know about struct config. */
#include "env-name.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define ENV_PREFIX "KINESIS_STREAM_"
#define ENV_CONSUMER "_CONSUMER_"
#define ENV_SUFFIX "_ARN"

/* Append s upper-cased, with every character but A-Z and 0-9 as '_'. */
static void env_append(char *out, size_t *o, const char *s) {
        for (; *s; s++) {
                char c = *s;
                if (c >= 'a' && c <= 'z')
                        c = (char) (c - 'a' + 'A');
                else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
                        c = '_';
                out[(*o)++] = c;
        }
}

char *env_name_arn(const char *default_region, const char *region, const char *account, const char *name,
                   const char *consumer) {
        bool with_region = region && !streq_ptr(region, default_region);
        size_t size, o = 0;
        char *out;

        if (!name) {
                errno = EINVAL;
                return NULL;
        }
        size = strlen(ENV_PREFIX) + strlen(name) + strlen(ENV_SUFFIX) + 1;
        if (with_region)
                size += strlen(region) + 1;
        if (account && account[0])
                size += strlen(account) + 1;
        if (consumer)
                size += strlen(ENV_CONSUMER) + strlen(consumer);
        out = malloc(size);
        if (!out)
                return NULL;

        env_append(out, &o, ENV_PREFIX);
        if (account && account[0]) {
                env_append(out, &o, account);
                out[o++] = '_';
        }
        if (with_region) {
                env_append(out, &o, region);
                out[o++] = '_';
        }
        env_append(out, &o, name);
        if (consumer) {
                env_append(out, &o, ENV_CONSUMER);
                env_append(out, &o, consumer);
        }
        env_append(out, &o, ENV_SUFFIX);
        out[o] = '\0';
        return out;
}
