/* The owner object: the event loop, the configuration, the AWS clients, the
 * per-stream reconcilers, the timers and the state directory. Only this module
 * talks to systemd (sd_notify). */
#pragma once

#include <stdbool.h>

#include "util.h"

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

/* How a run ended; run() turns it into the exit code (DESIGN §2). */
enum manager_result {
        MANAGER_OK,             /* --plan: nothing to change */
        MANAGER_STREAM_FAILED,  /* a stream failed or is not ready, or --plan cannot see it */
        MANAGER_PLAN_CHANGES,   /* --plan: there is something to change */
};

struct manager;

/* The event loop, signals (SIGTERM, SIGINT, SIGHUP) and the watchdog; no
 * configuration yet. Logs its failures; negative errno. */
int manager_new(const struct run_options *o, struct manager **ret);
struct manager *manager_free(struct manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct manager *, manager_free);

/* Load and validate the configuration and set up what it needs: HTTP,
 * region, endpoints, credentials, the state directory (read back what an
 * earlier run exported). Logs every failure. Returns 0; -EINVAL when the
 * configuration cannot be used (invalid, no region, an endpoint or
 * credential chain refused); -EIO when anything else failed. */
int manager_load(struct manager *m);

/* Tell systemd where start-up stands and start the first pass. */
void manager_start(struct manager *m);

/* Run the event loop until the run mode is done: returns how it ended (an
 * enum manager_result), or negative errno (logged) if the loop failed. */
int manager_loop(struct manager *m);
