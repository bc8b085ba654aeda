/* The command line and the process's life: parse options, then drive the
 * manager (new, load, start, loop, free) or, for --check-config, the loader,
 * and turn what happened into the exit code (DESIGN §2). Nothing here knows
 * about AWS requests or systemd. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "aws/http.h"
#include "aws/url.h"
#include "config.h"
#include "log.h"
#include "manager.h"
#include "reload-client.h"
#include "version.h"

#define DEFAULT_CONFIG "/etc/kinesisd/kinesisd.yaml"

/* Exit codes (DESIGN §2); 0 and EXIT_FAILURE (1) as usual. */
#define EXIT_PLAN_CHANGES 2
#define EXIT_USAGE 64
#define EXIT_CONFIG 78

static void help(void) {
        printf("Usage: kinesisd [OPTIONS]\n"
               "\n"
               "Keep the Kinesis data streams declared in YAML real: create what is\n"
               "missing, correct drift, wait until every stream is ACTIVE, and export\n"
               "the ARNs into the state directory.\n"
               "\n"
               "  -c, --config FILE      main configuration file (default:\n"
               "                         $CONFIGURATION_DIRECTORY/kinesisd.yaml, else\n"
               "                         " DEFAULT_CONFIG ")\n"
               "      --state-dir DIR    state directory (default: state.directory,\n"
               "                         $STATE_DIRECTORY, else /var/lib/kinesisd)\n"
               "      --region R         AWS region (overrides config and environment)\n"
               "      --endpoint URL     Kinesis endpoint (overrides config and environment)\n"
               "      --once             reconcile once, wait until all ACTIVE, export, exit\n"
               "      --plan             print the changes it would make; change nothing\n"
               "      --check-config     validate the configuration and exit\n"
               "      --reload PID       ask the kinesisd with this PID to reload and wait until\n"
               "                         the reload is done (the unit's ExecReload=)\n"
               "      --log-level LEVEL  error, warning, notice, info (default) or debug\n"
               "  -h, --help             show this help and exit\n"
               "      --version          show the version and exit\n"
               "\n"
               "Exit status: 0 success (--plan: nothing to change), 1 a stream failed, still\n"
               "differs (--once: a spent 24 h budget, a setting held after a conflict) or\n"
               "would fail (--plan), its exports could not be written (--once), or AWS was\n"
               "unreachable, 2 --plan found changes, 64 bad command line, 78 configuration\n"
               "invalid or a state directory another user could change. --reload: 0 the\n"
               "reload is done and every stream ACTIVE and exported, 1 not, 78 the new\n"
               "configuration was refused.\n"
               "\n"
               "See kinesisd(8) and kinesisd.yaml(5).\n");
}

/* The process holds AWS secret keys and session tokens in memory: no core
 * dump may carry them. Not dumpable, the kernel writes no core (unless
 * fs.suid_dumpable says otherwise: then the core limit of 0 still stops a
 * core file, and a core handler that honours the limit), and processes of
 * the same user cannot attach to it or read its memory and environment
 * (root with CAP_SYS_PTRACE still can, to debug it). credential_process
 * children are dumpable again after execve(), and inherit the limit of 0.
 * Neither is a reason not to start; a failure is only said. */
static void forbid_core_dumps(void) {
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                log_warning_errno(errno, "Cannot make the process non-dumpable, ignoring: %m");
        if (setrlimit(RLIMIT_CORE, &(struct rlimit){ .rlim_cur = 0, .rlim_max = 0 }) < 0)
                log_debug_errno(errno, "Cannot set the core size limit to 0, ignoring: %m");
}

static char *default_config_path(void) {
        const char *d = getenv("CONFIGURATION_DIRECTORY");
        char *p;

        /* systemd may pass several directories separated by ':'; ours is the first. */
        if (d && *d) {
                size_t n = strcspn(d, ":");
                if (asprintf(&p, "%.*s/kinesisd.yaml", (int) n, d) < 0)
                        return NULL;
                return p;
        }
        return strdup(DEFAULT_CONFIG);
}

static void print_errors(const struct config_errors *e, const char *prefix) {
        for (size_t i = 0; i < e->n; i++)
                fprintf(stderr, "%s%s\n", prefix, e->messages[i]);
        if (e->n_dropped > 0)
                fprintf(stderr, "%s... and %zu more errors\n", prefix, e->n_dropped);
}

static int check_config(const char *path) {
        struct config_errors errors = {}, warnings = {};
        struct config *c = NULL;
        int r;

        r = config_load(path, &c, &errors, &warnings);
        print_errors(&warnings, "warning: ");
        if (r < 0) {
                print_errors(&errors, "");
                if (errors.n == 0)
                        fprintf(stderr, "%s: %s\n", path, strerror(-r));
                config_errors_done(&errors);
                config_errors_done(&warnings);
                return EXIT_CONFIG;
        }
        printf("configuration OK: %zu stream%s (%zu file%s)\n", c->n_streams,
               c->n_streams == 1 ? "" : "s", c->n_files, c->n_files == 1 ? "" : "s");
        config_free(c);
        config_errors_done(&errors);
        config_errors_done(&warnings);
        return 0;
}

enum {
        ARG_STATE_DIR = 0x100,
        ARG_REGION,
        ARG_ENDPOINT,
        ARG_ONCE,
        ARG_PLAN,
        ARG_CHECK_CONFIG,
        ARG_LOG_LEVEL,
        ARG_VERSION,
        ARG_RELOAD,
};

struct args {
        struct run_options opts;
        bool check;
        pid_t reload_pid; /* --reload: ask this process; 0: not */
        char *config_default;
};

/* 1: go on with *ret; 0: done (--help, --version); -EINVAL: a bad command
 * line (said on stderr); -ENOMEM. */
static int parse_argv(int argc, char *argv[], struct args *ret) {
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                { "region", required_argument, NULL, ARG_REGION },
                { "endpoint", required_argument, NULL, ARG_ENDPOINT },
                { "once", no_argument, NULL, ARG_ONCE },
                { "plan", no_argument, NULL, ARG_PLAN },
                { "check-config", no_argument, NULL, ARG_CHECK_CONFIG },
                { "log-level", required_argument, NULL, ARG_LOG_LEVEL },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "reload", required_argument, NULL, ARG_RELOAD },
                {}
        };
        struct run_options o = { .mode = RUN_DAEMON };
        bool check = false;
        pid_t reload_pid = 0;
        int modes = 0, c;

        while ((c = getopt_long(argc, argv, "c:h", options, NULL)) >= 0) {
                switch (c) {
                case 'c':
                        o.config_path = optarg;
                        break;
                case ARG_STATE_DIR:
                        o.state_dir = optarg;
                        break;
                case ARG_REGION:
                        o.region = optarg;
                        break;
                case ARG_ENDPOINT: {
                        /* Refused here, before any configuration is read: a bad
                         * command line is exit 64, not a configuration error. */
                        int k = url_check(optarg, false);
                        if (k == -EACCES) {
                                /* Not echoed: the part before '@' may be a password. */
                                fprintf(stderr, "kinesisd: --endpoint: user information (user:password@) is not "
                                                "allowed in the URL\nTry 'kinesisd --help'.\n");
                                return -EINVAL;
                        }
                        if (k < 0) {
                                fprintf(stderr, "kinesisd: --endpoint %s: %s\nTry 'kinesisd --help'.\n", optarg,
                                        k == -EPERM ? "plain http:// is allowed only to loopback hosts"
                                                    : "not an http:// or https:// URL");
                                return -EINVAL;
                        }
                        o.endpoint = optarg;
                        break;
                }
                case ARG_ONCE:
                        o.mode = RUN_ONCE;
                        modes++;
                        break;
                case ARG_PLAN:
                        o.mode = RUN_PLAN;
                        modes++;
                        break;
                case ARG_CHECK_CONFIG:
                        check = true;
                        modes++;
                        break;
                case ARG_LOG_LEVEL: {
                        int l = log_level_from_string(optarg);
                        if (l < 0) {
                                fprintf(stderr, "kinesisd: --log-level: unknown level \"%s\" "
                                                "(error, warning, notice, info, debug)\n", optarg);
                                return -EINVAL;
                        }
                        log_set_max_level(l);
                        break;
                }
                case ARG_RELOAD: {
                        char *end;
                        long v;

                        errno = 0;
                        v = strtol(optarg, &end, 10);
                        if (errno != 0 || end == optarg || *end || v <= 1 || v > INT32_MAX) {
                                fprintf(stderr, "kinesisd: --reload: \"%s\" is not the pid of a kinesisd "
                                                "process\nTry 'kinesisd --help'.\n", optarg);
                                return -EINVAL;
                        }
                        reload_pid = (pid_t) v;
                        modes++;
                        break;
                }
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("kinesisd %s\n", KINESISD_VERSION);
                        return 0;
                default:
                        /* getopt_long printed what was wrong. */
                        fprintf(stderr, "Try 'kinesisd --help'.\n");
                        return -EINVAL;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "kinesisd: unexpected argument \"%s\"\nTry 'kinesisd --help'.\n",
                        argv[optind]);
                return -EINVAL;
        }
        if (modes > 1) {
                fprintf(stderr, "kinesisd: --once, --plan, --check-config and --reload exclude each other\n"
                                "Try 'kinesisd --help'.\n");
                return -EINVAL;
        }
        *ret = (struct args) { .opts = o, .check = check, .reload_pid = reload_pid };
        if (!o.config_path) {
                ret->config_default = default_config_path();
                if (!ret->config_default)
                        return -ENOMEM;
                ret->opts.config_path = ret->config_default;
        }
        return 1;
}

static int run(int argc, char *argv[]) {
        _cleanup_(manager_freep) struct manager *m = NULL;
        _cleanup_free_ char *config_default = NULL;
        struct args a = {};
        int r;

        /* A closed stderr (a pipe whose reader went away) must cost the log
         * lines, not the daemon and its final state flush: writes then fail
         * with EPIPE instead. credential_process children get SIGPIPE back
         * (creds.c). curl's sockets never raise it. */
        signal(SIGPIPE, SIG_IGN);
        log_open();
        /* Before any configuration or credential is read. */
        forbid_core_dumps();
        r = parse_argv(argc, argv, &a);
        config_default = a.config_default;
        if (r == -ENOMEM)
                return log_oom(), EXIT_FAILURE;
        if (r <= 0)
                return r == 0 ? 0 : EXIT_USAGE;
        if (a.check)
                return check_config(a.opts.config_path);
        if (a.reload_pid > 0)
                return reload_client_run(a.reload_pid);

        r = http_global_init();
        if (r < 0)
                return log_error_errno(r, "Cannot initialize the HTTP library: %m"), EXIT_FAILURE;
        r = manager_new(&a.opts, &m);
        if (r >= 0) {
                r = manager_load(m);
                if (r == -EINVAL)
                        r = EXIT_CONFIG;
        }
        if (r == 0) {
                manager_start(m);
                r = manager_loop(m);
                /* A stream that failed, is not ready, or that --plan cannot
                 * see is 1, like any other failure. */
                r = r == MANAGER_OK ? 0 : r == MANAGER_PLAN_CHANGES ? EXIT_PLAN_CHANGES : EXIT_FAILURE;
        }
        m = manager_free(m);
        http_global_cleanup();
        return r < 0 ? EXIT_FAILURE : r;
}

int main(int argc, char *argv[]) {
        return run(argc, argv);
}
