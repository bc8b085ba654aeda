/* The owner object: the event loop, the configuration, the AWS clients, the
 * per-stream reconcilers, the timers and the state directory. Only this module
 * talks to systemd (sd_notify). */
#pragma once

#include <stdbool.h>

enum run_mode {
        RUN_DAEMON,  /* reconcile, then resync every interval until SIGTERM */
        RUN_ONCE,    /* one full reconcile, wait until all ACTIVE, export, exit */
        RUN_PLAN,    /* observe and print the plan; change nothing anywhere */
};

struct run_options {
        enum run_mode mode;
        const char *config_path;
        const char *state_dir;  /* NULL: config, $STATE_DIRECTORY, /var/lib/kinesisd */
        const char *region;     /* NULL: config, environment */
        const char *endpoint;   /* NULL: config, environment */
};

/* Exit codes (DESIGN §2). */
#define EXIT_STREAM_FAILED 1
#define EXIT_PLAN_CHANGES 2
#define EXIT_USAGE 64
#define EXIT_CONFIG 78

/* Load the configuration, run in the given mode, return the process exit code. */
int manager_main(const struct run_options *opts);
