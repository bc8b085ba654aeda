/* state-writer DIR [START [ITERATIONS]]: export into DIR in a tight loop,
 * with content that changes on every iteration, for state-crash-check.py to kill at
 * random moments. Iteration i's content is a pure function of i (documented
 * in state-crash-check.py, which recomputes it), so the checker can tell a complete
 * file from a partial one. Without ITERATIONS it runs until killed. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"
#include "util.h"

#define MAX_STREAMS 160

static const char *const regions[] = { "eu-west-1", "us-east-1", "us-west-2" };

struct stream_buf {
        char name[16];
        char arn[128];
        char consumer_arn[2][192];
        char error[64];
        struct state_consumer consumers[2];
};

static unsigned n_streams(uint64_t i) {
        return 150 + (unsigned) (i % 8);
}

static void fill(uint64_t i, struct stream_buf *buf, struct state_stream *s, unsigned j) {
        const char *region = regions[j % ELEMENTSOF(regions)];
        /* Each stream's ARN changes every 128 iterations, staggered, so that
         * most iterations rewrite one or two .arn files and kills land in all
         * kinds of writes. */
        uint64_t account = UINT64_C(100000000000) + (i + j * 7) / 128;
        size_t nc = 0;

        char name[16], arn[128];

        /* Built in locals first: the compiler cannot see that the fields of
         * *buf do not overlap. */
        snprintf(name, sizeof name, "s%04u", j);
        snprintf(arn, sizeof arn, "arn:aws:kinesis:%s:%012" PRIu64 ":stream/%s", region, account, name);
        memcpy(buf->name, name, sizeof name);
        memcpy(buf->arn, arn, sizeof arn);
        if (j == 0) {
                /* The marker the checker reads i from. */
                snprintf(buf->consumer_arn[nc], sizeof buf->consumer_arn[nc], "%s/consumer/gen:%" PRIu64, arn, i);
                buf->consumers[nc] = (struct state_consumer) { "gen", buf->consumer_arn[nc] };
                nc++;
        }
        if (j % 5 == 0) {
                snprintf(buf->consumer_arn[nc], sizeof buf->consumer_arn[nc], "%s/consumer/c%u:1700000000", arn, j);
                buf->consumers[nc] = (struct state_consumer) { "reader", buf->consumer_arn[nc] };
                nc++;
        }
        snprintf(buf->error, sizeof buf->error, "throttled at iteration %" PRIu64, i);

        *s = (struct state_stream) {
                .name = buf->name,
                .region = region,
                .arn = buf->arn,
                .status = j % 7 == 0 ? "UPDATING" : "ACTIVE",
                .mode = j % 2 ? "ON_DEMAND" : "PROVISIONED",
                .shards = (unsigned) ((i + j) % 100) + 1,
                .retention_hours = 24 * (1 + j % 3),
                .consumers = buf->consumers,
                .n_consumers = nc,
                .last_change_usec = (1700000000 + i) * USEC_PER_SEC,
                .last_error = j % 11 == 0 ? buf->error : NULL,
        };
}

int main(int argc, char **argv) {
        static struct stream_buf bufs[MAX_STREAMS];
        static struct state_stream streams[MAX_STREAMS];
        struct state_dir *d = NULL;
        uint64_t i, end = UINT64_MAX;
        int r;

        if (argc < 2 || argc > 4) {
                fprintf(stderr, "usage: %s DIR [START [ITERATIONS]]\n", argv[0]);
                return 64;
        }
        i = argc > 2 ? strtoull(argv[2], NULL, 10) : 0;
        if (argc > 3)
                end = i + strtoull(argv[3], NULL, 10);

        r = state_dir_open(argv[1], &d, NULL);
        if (r < 0) {
                fprintf(stderr, "state_dir_open(%s): %s\n", argv[1], strerror(-r));
                return 1;
        }
        /* Tell the test we are about to write, so its random delay measures
         * time spent writing, not process start-up (slow under sanitizers). */
        printf("writing\n");
        fflush(stdout);
        for (; i < end; i++) {
                unsigned n = n_streams(i);
                struct state_metrics m = {
                        .api_calls = i,
                        .api_errors = i / 3,
                        .api_throttled = i / 7,
                        .changes_made = i / 2,
                        .reconcile_passes = i,
                        .last_pass_usec = (1700000000 + i) * USEC_PER_SEC + 250000,
                        .last_pass_duration_usec = i % 1000,
                        .config_reload_failed = i % 2,
                };
                struct state_export e = {
                        .default_region = "us-west-2",
                        .now_usec = (1700000000 + i) * USEC_PER_SEC,
                        .streams = streams,
                        .n_streams = n,
                        .metrics = &m,
                };

                for (unsigned j = 0; j < n; j++)
                        fill(i, &bufs[j], &streams[j], j);
                r = state_export(d, &e, NULL);
                if (r < 0) {
                        fprintf(stderr, "state_export: %s\n", strerror(-r));
                        state_dir_free(d);
                        return 1;
                }
        }
        state_dir_free(d);
        return 0;
}
