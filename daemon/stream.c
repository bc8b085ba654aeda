/* The observed side of a stream: names of statuses and teardown. Plain data,
 * no I/O. */
#include "stream.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

static const char *const status_names[] = {
        [STREAM_STATUS_UNKNOWN] = "UNKNOWN",   [STREAM_STATUS_CREATING] = "CREATING",
        [STREAM_STATUS_DELETING] = "DELETING", [STREAM_STATUS_ACTIVE] = "ACTIVE",
        [STREAM_STATUS_UPDATING] = "UPDATING",
};

const char *stream_status_to_string(enum stream_status s) {
        if ((size_t) s >= ELEMENTSOF(status_names))
                return "UNKNOWN";
        return status_names[s];
}

enum stream_status stream_status_from_string(const char *s) {
        if (!s)
                return STREAM_STATUS_UNKNOWN;
        for (size_t i = 1; i < ELEMENTSOF(status_names); i++)
                if (streq(s, status_names[i]))
                        return (enum stream_status) i;
        return STREAM_STATUS_UNKNOWN;
}

void stream_obs_done(struct stream_obs *o) {
        if (!o)
                return;
        free(o->name);
        free(o->arn);
        free(o->kms_key);
        for (size_t i = 0; i < o->n_tags; i++) {
                free(o->tags[i].key);
                free(o->tags[i].value);
        }
        free(o->tags);
        for (size_t i = 0; i < o->n_consumers; i++) {
                free(o->consumers[i].name);
                free(o->consumers[i].arn);
                free(o->consumers[i].status);
        }
        free(o->consumers);
        *o = (struct stream_obs){};
}
