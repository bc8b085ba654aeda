/* The AWS credential provider chain (see creds.h).
 *
 * One fetch at a time walks the chain; every waiter gets its result. Network
 * fetches go through http.c; credential_process runs without a shell via
 * posix_spawnp() in a process group of its own, with its stdout and stderr
 * on pipes watched by sd-event, and its exit is polled for on a timer, so no
 * SIGCHLD handling is needed from the rest of the daemon. When it exits (or
 * is given up on) its group is ended, SIGTERM then SIGKILL: nothing it
 * started outlives it or holds a fetch up. What it writes on stderr is
 * logged with our own messages, escaped: never passed through as it is.
 *
 * Must never log a key, a token or a document that holds one, and never
 * block the loop (reading two small local files is the only synchronous I/O). */
#include "aws/creds.h"

#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdio.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>

#include "aws/aws-error.h"
#include "aws/url.h"
#include "json-util.h"
#include "log.h"

extern char **environ;

#define PROCESS_OUTPUT_MAX (64 * 1024)
/* What credential_process writes on stderr: the first this many bytes are
 * kept for the log, the rest read and dropped (the child never blocks on a
 * full pipe). */
#define PROCESS_STDERR_MAX 1024
/* ... of which a message quotes at most this many characters. */
#define PROCESS_STDERR_QUOTE 300
#define IMDS_TOKEN_TTL "21600"
/* How often the child is looked at for its exit, and how long what it left
 * in its process group has between SIGTERM and SIGKILL. */
#define PROCESS_POLL_USEC (20 * USEC_PER_MSEC)
#define PROCESS_KILL_GRACE_USEC (1 * USEC_PER_SEC)
/* After a fetch that brought credentials already expired (or about to), the
 * next one waits this long, doubling up to the cap (see fetch_done()). */
#define EXPIRED_BACKOFF_FIRST_USEC (1 * USEC_PER_SEC)
#define EXPIRED_BACKOFF_MAX_USEC (60 * USEC_PER_SEC)
/* Credentials closer than this to their expiration are not signed with: a
 * request signed now might arrive expired. */
#define EXPIRY_MARGIN_USEC (10 * USEC_PER_SEC)

enum fetch_step {
        STEP_IDLE,
        STEP_PROCESS,
        STEP_CONTAINER,
        STEP_IMDS_TOKEN,
        STEP_IMDS_ROLE,
        STEP_IMDS_CREDS,
};

struct creds_wait {
        struct creds_provider *provider;
        creds_callback cb;
        void *userdata;
        struct creds_wait *next, *prev;
};

struct creds_provider {
        sd_event *event;
        struct http_client *http;
        char *config_profile;
        uint64_t process_timeout_usec, refresh_before_usec;

        struct aws_credentials cached;
        bool have;
        uint64_t stale_at_usec; /* realtime; 0: never */
        char *source;
        char *logged_source;
        unsigned fetches;
        /* The cached set came already expired: it is used as it is until
         * refetch_at (monotonic), and no fetch starts before then. */
        bool expired_in_use;
        uint64_t refetch_at_usec;
        uint64_t backoff_usec; /* the next wait after another expired set; 0: none yet */
        bool warned_expired;   /* warned once for this run of expired sets */

        struct creds_wait *waiters;
        sd_event_source *kick;
        bool fetching;
        enum fetch_step step;
        char *pending_source;

        /* credential_process */
        pid_t pid;
        int pipe_fd;
        sd_event_source *pipe_src, *proc_timer;
        char *out;
        size_t out_len;
        bool out_eof, out_too_big;
        int err_fd;
        sd_event_source *err_src;
        char err[PROCESS_STDERR_MAX];
        size_t err_len;
        uint64_t proc_deadline;
        pid_t linger_pid; /* an ended child's group, see linger_finish() */
        sd_event_source *linger_timer;

        /* container / IMDS */
        struct http_request *req;
        char *imds_base, *imds_token, *imds_role;
};


static uint64_t realtime_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
}

static uint64_t mono_usec(struct creds_provider *p) {
        uint64_t t = 0;
        (void) sd_event_now(p->event, CLOCK_MONOTONIC, &t);
        return t;
}

static void fetch_done(struct creds_provider *p, int error, struct aws_credentials *c);
static void chain_from(struct creds_provider *p, int stage);

/* ---- waiters and delivery -------------------------------------------- */

struct creds_wait *creds_wait_cancel(struct creds_wait *w) {
        if (!w)
                return NULL;
        if (w->prev)
                w->prev->next = w->next;
        else
                w->provider->waiters = w->next;
        if (w->next)
                w->next->prev = w->prev;
        free(w);
        return NULL;
}

static bool expiration_usable(uint64_t expiration_usec, uint64_t now) {
        return !expiration_usec || now + EXPIRY_MARGIN_USEC < expiration_usec;
}

static bool cached_usable(struct creds_provider *p, uint64_t now) {
        if (!p->have)
                return false;
        /* A set that came expired is signed with until the next fetch may
         * start: AWS, not our clock, says whether it is refused. */
        if (p->expired_in_use)
                return mono_usec(p) < p->refetch_at_usec;
        return expiration_usable(p->cached.expiration_usec, now);
}

/* No fetch before refetch_at: after an expired set, fetches are spaced. */
static bool fetch_allowed(struct creds_provider *p) {
        return mono_usec(p) >= p->refetch_at_usec;
}

static void deliver(struct creds_provider *p, int error) {
        /* One at a time from the head: a callback may cancel or add waiters. */
        while (p->waiters) {
                struct creds_wait *w = p->waiters;
                creds_callback cb = w->cb;
                void *ud = w->userdata;
                creds_wait_cancel(w);
                if (error < 0)
                        cb(error, NULL, ud);
                else
                        cb(0, &p->cached, ud);
        }
}

static int on_kick(sd_event_source *s, uint64_t usec, void *userdata) {
        struct creds_provider *p = userdata;

        if (cached_usable(p, realtime_usec()) && !(p->fetching && !p->have)) {
                deliver(p, 0);
                /* A stale-but-usable set still triggers the background refresh. */
                if (!p->fetching && p->stale_at_usec && realtime_usec() >= p->stale_at_usec &&
                    fetch_allowed(p))
                        chain_from(p, 0);
                return 0;
        }
        if (p->fetching)
                return 0;
        if (!fetch_allowed(p)) {
                /* Every waiter shares the one fetch that starts then. */
                (void) sd_event_source_set_time(s, p->refetch_at_usec);
                (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
                return 0;
        }
        chain_from(p, 0);
        return 0;
}

static int kick(struct creds_provider *p) {
        uint64_t now = mono_usec(p), at = now;
        int r;

        /* Nothing to hand out and no fetch allowed yet: wake when one is. */
        if (!cached_usable(p, realtime_usec()) && p->refetch_at_usec > now)
                at = p->refetch_at_usec;
        r = sd_event_source_set_time(p->kick, at);
        if (r >= 0)
                r = sd_event_source_set_enabled(p->kick, SD_EVENT_ONESHOT);
        return r;
}

int creds_get(struct creds_provider *p, const struct aws_credentials **ret) {
        uint64_t now = realtime_usec();

        if (!cached_usable(p, now))
                return -EAGAIN;
        if (p->stale_at_usec && now >= p->stale_at_usec && !p->fetching && fetch_allowed(p)) {
                log_debug("Credentials from %s expire soon, refreshing.", strna(p->source));
                (void) kick(p);
        }
        *ret = &p->cached;
        return 0;
}

int creds_request(struct creds_provider *p, creds_callback cb, void *userdata,
                  struct creds_wait **ret) {
        struct creds_wait *w;
        int r;

        w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        w->provider = p;
        w->cb = cb;
        w->userdata = userdata;
        w->next = p->waiters;
        if (p->waiters)
                p->waiters->prev = w;
        p->waiters = w;
        if (!p->fetching || cached_usable(p, realtime_usec())) {
                r = kick(p);
                if (r < 0) {
                        creds_wait_cancel(w);
                        return r;
                }
        }
        if (ret)
                *ret = w;
        return 0;
}

void creds_invalidate(struct creds_provider *p) {
        if (p->have)
                log_debug("Dropping cached credentials from %s.", strna(p->source));
        aws_credentials_done(&p->cached);
        p->have = false;
        p->expired_in_use = false;
        p->stale_at_usec = 0;
}

unsigned creds_fetch_count(const struct creds_provider *p) {
        return p->fetches;
}

/* ---- process --------------------------------------------------------- */

/* Read what the child wrote on stderr so far (all of it once it exited). */
static void process_read_stderr(struct creds_provider *p) {
        char buf[4096];

        if (p->err_fd < 0)
                return;
        for (;;) {
                ssize_t k = read(p->err_fd, buf, sizeof buf);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0 && errno == EAGAIN)
                        return;
                if (k <= 0)
                        break; /* EOF, or an error taken as one */
                size_t room = sizeof p->err - p->err_len, take = (size_t) k < room ? (size_t) k : room;
                memcpy(p->err + p->err_len, buf, take);
                p->err_len += take;
        }
        p->err_src = sd_event_source_disable_unref(p->err_src);
        close(p->err_fd);
        p->err_fd = -1;
}

static int on_proc_stderr(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        process_read_stderr(userdata);
        return 0;
}

/* "; it said: \"...\"" with the child's stderr quoted and escaped, or "". */
#define PROCESS_SAID_SIZE (LOG_ESCAPE_SIZE(PROCESS_STDERR_QUOTE) + 16)
static const char *process_said(struct creds_provider *p, char buf[static PROCESS_SAID_SIZE]) {
        size_t n;

        process_read_stderr(p);
        n = p->err_len;
        while (n > 0 && strchr(" \t\r\n", p->err[n - 1]))
                n--;
        if (n == 0)
                return "";
        memcpy(buf, "; it said: ", 11);
        log_escape(p->err, n, PROCESS_STDERR_QUOTE, true, buf + 11);
        return buf;
}

/* The child's process group after the child exited or was given up on: its
 * members had SIGTERM; now SIGKILL, and the child (kept a zombie until now,
 * so that its group id cannot be handed to anyone else) is reaped. */
static void linger_finish(struct creds_provider *p) {
        p->linger_timer = sd_event_source_disable_unref(p->linger_timer);
        if (p->linger_pid <= 0)
                return;
        (void) kill(-p->linger_pid, SIGKILL);
        /* Killed (or exited): reaping does not wait long. */
        while (waitpid(p->linger_pid, NULL, 0) < 0 && errno == EINTR)
                ;
        p->linger_pid = 0;
}

static int on_linger_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        linger_finish(userdata);
        return 0;
}

/* End the child's process group: whatever the child left behind (a helper
 * still holding its stdout, say) is not ours to keep running. SIGTERM now,
 * SIGKILL after a grace; the fetch does not wait for either. */
static void process_end_group(struct creds_provider *p) {
        pid_t pid = p->pid;

        if (pid <= 0)
                return;
        p->pid = 0;
        linger_finish(p); /* the group of an earlier run, if still pending */
        (void) kill(-pid, SIGTERM);
        p->linger_pid = pid;
        if (sd_event_add_time(p->event, &p->linger_timer, CLOCK_MONOTONIC,
                              mono_usec(p) + PROCESS_KILL_GRACE_USEC, 10 * USEC_PER_MSEC, on_linger_timer,
                              p) < 0)
                linger_finish(p);
}

static void process_cleanup(struct creds_provider *p) {
        p->pipe_src = sd_event_source_disable_unref(p->pipe_src);
        p->err_src = sd_event_source_disable_unref(p->err_src);
        if (p->err_fd >= 0) {
                close(p->err_fd);
                p->err_fd = -1;
        }
        explicit_bzero(p->err, p->err_len);
        p->err_len = 0;
        p->proc_timer = sd_event_source_disable_unref(p->proc_timer);
        if (p->pipe_fd >= 0) {
                close(p->pipe_fd);
                p->pipe_fd = -1;
        }
        process_end_group(p);
        if (p->out)
                explicit_bzero(p->out, p->out_len);
        p->out = mfree(p->out);
        p->out_len = 0;
        p->out_eof = p->out_too_big = false;
}

/* Read what is in the stdout pipe now; at EOF stop watching it. Past the cap
 * it stops with out_too_big set: the caller refuses the answer. */
static void process_read_stdout(struct creds_provider *p) {
        char buf[4096];

        if (p->pipe_fd < 0)
                return;
        for (;;) {
                ssize_t k = read(p->pipe_fd, buf, sizeof buf);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return;
                        break; /* treat as EOF */
                }
                if (k == 0)
                        break;
                if (p->out_len + (size_t) k > PROCESS_OUTPUT_MAX) {
                        p->out_too_big = true;
                        return;
                }
                char *n = realloc(p->out, p->out_len + (size_t) k + 1);
                if (!n) {
                        p->out_too_big = true;
                        return;
                }
                p->out = n;
                memcpy(p->out + p->out_len, buf, (size_t) k);
                p->out_len += (size_t) k;
                p->out[p->out_len] = 0;
        }
        p->out_eof = true;
        p->pipe_src = sd_event_source_disable_unref(p->pipe_src);
        close(p->pipe_fd);
        p->pipe_fd = -1;
}

/* More output than any credentials document: refused as soon as it is seen,
 * whether the child is still writing or exited; its group is ended. */
static void process_refuse_too_big(struct creds_provider *p) {
        char said_buf[PROCESS_SAID_SIZE];

        log_error("credential_process of profile %s printed more than %d KiB, refusing it%s.",
                  aws_profile_name(p->config_profile), PROCESS_OUTPUT_MAX / 1024, process_said(p, said_buf));
        process_cleanup(p);
        fetch_done(p, -EFBIG, NULL);
}

/* The child exited (signalled: killed) with code. */
static void process_finish(struct creds_provider *p, bool exited, int code) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        struct aws_credentials c = {};
        json_object *v;
        char said_buf[PROCESS_SAID_SIZE];
        const char *said;
        int r;

        /* Everything the child wrote is in the pipes by now: read it, and do
         * not wait for an end of file that a process it left behind holds
         * back. */
        process_read_stdout(p);
        if (p->out_too_big) {
                process_refuse_too_big(p);
                return;
        }
        said = process_said(p, said_buf);
        if (!exited || code != 0) {
                log_error("credential_process of profile %s failed (%s %d)%s.",
                          aws_profile_name(p->config_profile), exited ? "exit status" : "signal", code,
                          said);
                process_cleanup(p);
                fetch_done(p, -EIO, NULL);
                return;
        }
        o = aws_json_parse(p->out ? p->out : "", p->out_len);
        if (!o || !json_object_object_get_ex(o, "Version", &v) ||
            !json_object_is_type(v, json_type_int) || json_object_get_int(v) != 1) {
                log_error("credential_process did not print a Version 1 JSON document%s.", said);
                process_cleanup(p);
                fetch_done(p, -EBADMSG, NULL);
                return;
        }
        r = aws_credentials_from_json(o, "SessionToken", &c);
        if (r < 0) {
                log_error("credential_process printed incomplete or malformed credentials%s.", said);
                process_cleanup(p);
                fetch_done(p, r, NULL);
                return;
        }
        if (*said)
                log_debug("credential_process of profile %s ran%s", aws_profile_name(p->config_profile),
                          said);
        process_cleanup(p);
        fetch_done(p, 0, &c);
}

/* Polls for the child's exit (no SIGCHLD handling needed from the rest of
 * the daemon), and ends it at the deadline. waitid(WNOWAIT) leaves it a
 * zombie: its process group id stays reserved until the group is ended. */
static int on_proc_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct creds_provider *p = userdata;
        siginfo_t si = {};
        uint64_t now = mono_usec(p), next;

        if (waitid(P_PID, (id_t) p->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0) {
                if (errno != EINTR) {
                        log_error_errno(errno, "Cannot wait for credential_process: %m");
                        p->pid = 0; /* not ours to reap any more */
                        process_cleanup(p);
                        fetch_done(p, -ECHILD, NULL);
                        return 0;
                }
        } else if (si.si_pid == p->pid) {
                process_finish(p, si.si_code == CLD_EXITED, si.si_status);
                return 0;
        }
        if (now >= p->proc_deadline) {
                char said_buf[PROCESS_SAID_SIZE];
                log_error("credential_process did not finish within %" PRIu64 " s, killed%s.",
                          p->process_timeout_usec / USEC_PER_SEC, process_said(p, said_buf));
                process_cleanup(p);
                fetch_done(p, -ETIMEDOUT, NULL);
                return 0;
        }
        next = now + PROCESS_POLL_USEC < p->proc_deadline ? now + PROCESS_POLL_USEC : p->proc_deadline;
        (void) sd_event_source_set_time(p->proc_timer, next);
        (void) sd_event_source_set_enabled(p->proc_timer, SD_EVENT_ONESHOT);
        return 0;
}

static int on_proc_output(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct creds_provider *p = userdata;

        process_read_stdout(p);
        if (p->out_too_big) {
                process_refuse_too_big(p);
                return 0;
        }
        if (p->out_eof) {
                /* Most children exit right after closing their output. */
                (void) sd_event_source_set_time(p->proc_timer, mono_usec(p) + USEC_PER_MSEC);
                (void) sd_event_source_set_enabled(p->proc_timer, SD_EVENT_ONESHOT);
        }
        return 0;
}

/* A pipe whose reading end (ours) is non-blocking and close-on-exec, and
 * whose writing end (the child's stdout or stderr) blocks, as a program
 * expects of its output. */
static int process_pipe(int fds[2]) {
        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        if (fcntl(fds[0], F_SETFL, O_NONBLOCK) < 0) {
                int r = -errno;
                close(fds[0]);
                close(fds[1]);
                return r;
        }
        return 0;
}

static int process_start(struct creds_provider *p, const char *command) {
        _cleanup_strv_free_ char **argv = NULL;
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t none, defaults;
        int fds[2], efds[2], r;
        pid_t pid;

        r = aws_split_command(command, &argv);
        if (r < 0)
                return r;
        r = process_pipe(fds);
        if (r < 0)
                return r;
        r = process_pipe(efds);
        if (r < 0) {
                close(fds[0]);
                close(fds[1]);
                return r;
        }
        posix_spawn_file_actions_init(&fa);
        posix_spawnattr_init(&attr);
        /* The child starts with a clean signal state whatever the daemon blocks. */
        sigemptyset(&none);
        sigemptyset(&defaults);
        sigaddset(&defaults, SIGPIPE);
        sigaddset(&defaults, SIGTERM);
        sigaddset(&defaults, SIGINT);
        sigaddset(&defaults, SIGHUP);
        sigaddset(&defaults, SIGCHLD);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &defaults);
        /* Its own process group: what it leaves behind is ended with it. */
        posix_spawnattr_setpgroup(&attr, 0);
        posix_spawnattr_setflags(&attr,
                                 POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
        posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        /* dup2 clears O_CLOEXEC on the child's stdout. */
        posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
        /* Its stderr is ours to log, escaped: not our stderr. */
        posix_spawn_file_actions_adddup2(&fa, efds[1], STDERR_FILENO);
        r = posix_spawnp(&pid, argv[0], &fa, &attr, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        close(fds[1]);
        close(efds[1]);
        if (r != 0) {
                close(fds[0]);
                close(efds[0]);
                return -r;
        }
        p->pid = pid;
        p->pipe_fd = fds[0];
        p->err_fd = efds[0];
        p->proc_deadline = mono_usec(p) + p->process_timeout_usec;
        r = sd_event_add_io(p->event, &p->pipe_src, p->pipe_fd, EPOLLIN, on_proc_output, p);
        if (r >= 0)
                r = sd_event_add_io(p->event, &p->err_src, p->err_fd, EPOLLIN, on_proc_stderr, p);
        if (r >= 0)
                r = sd_event_add_time(p->event, &p->proc_timer, CLOCK_MONOTONIC,
                                      mono_usec(p) + PROCESS_POLL_USEC, USEC_PER_MSEC, on_proc_timer, p);
        if (r < 0) {
                process_cleanup(p);
                return r;
        }
        return 0;
}

/* ---- container and IMDS ---------------------------------------------- */

static void http_fetch_done(struct http_request *req, const struct http_response *resp, void *userdata);

static int container_prepare(struct http_request *req, void *userdata) {
        const char *file = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
        const char *tok = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r;

        /* The file wins and is read again for every fetch: it is rotated. */
        if (file && *file) {
                r = aws_file_read(file, 16384, &text, &len, NULL);
                if (r < 0) {
                        log_error_errno(r, "Cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %s: %m", file);
                        return r;
                }
                while (len > 0 && strchr("\r\n \t", text[len - 1]))
                        text[--len] = 0;
                tok = text;
        }
        if (tok && *tok) {
                r = http_request_add_header(req, "Authorization", tok);
                if (text)
                        explicit_bzero(text, len);
                if (r < 0)
                        return r == -EINVAL ? -EBADMSG : r;
        }
        return 0;
}

static bool container_url_allowed(const char *url) {
        _cleanup_free_ char *host = NULL;

        int r = url_check(url, false);

        if (r == 0)
                return true;
        if (r == -EACCES || strncasecmp(url, "http://", 7) != 0 || url_host_path(url, &host, NULL) < 0)
                return false;
        /* The ECS and EKS Pod Identity agents; never the instance metadata host. */
        return streq(host, "169.254.170.2") || streq(host, "169.254.170.23") ||
               strcasecmp(host, "[fd00:ec2::23]") == 0;
}

static int container_start(struct creds_provider *p) {
        _cleanup_free_ char *url = NULL;
        bool relative;
        int r;

        r = aws_container_credentials_url(&url);
        if (r < 0)
                return r;
        relative = getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") &&
                   *getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
        if (!relative && !container_url_allowed(url)) {
                log_error("AWS_CONTAINER_CREDENTIALS_FULL_URI must be https:// or http:// to a loopback "
                          "address, without user information, refusing it.");
                return -EPERM;
        }
        p->step = STEP_CONTAINER;
        struct http_request_params params = {
                .method = "GET",
                .url = url,
                .max_attempts = 3,
                .timeout_usec = 5 * USEC_PER_SEC,
                .connect_timeout_usec = 2 * USEC_PER_SEC,
                .allow_link_local = relative,
                .no_proxy = true,
                .log_name = "container-credentials",
                .prepare = container_prepare,
                .done = http_fetch_done,
                .userdata = p,
        };
        return http_request_start(p->http, &params, &p->req);
}

static int imds_prepare(struct http_request *req, void *userdata) {
        struct creds_provider *p = userdata;

        if (p->step == STEP_IMDS_TOKEN)
                return http_request_add_header(req, "X-aws-ec2-metadata-token-ttl-seconds",
                                               IMDS_TOKEN_TTL);
        return http_request_add_header(req, "X-aws-ec2-metadata-token", p->imds_token);
}

static int imds_request(struct creds_provider *p, const char *method, const char *path) {
        _cleanup_free_ char *url = NULL;

        if (asprintf(&url, "%s%s", p->imds_base, path) < 0)
                return -ENOMEM;
        struct http_request_params params = {
                .method = method,
                .url = url,
                .max_attempts = 2,
                .timeout_usec = 2 * USEC_PER_SEC,
                .connect_timeout_usec = USEC_PER_SEC,
                .allow_link_local = true,
                .no_proxy = true,
                /* Off EC2 the probe times out as a matter of course; once a
                 * role was found there, a timeout is news. */
                .quiet = !p->imds_role,
                .log_name = "instance-metadata",
                .prepare = imds_prepare,
                .done = http_fetch_done,
                .userdata = p,
        };
        return http_request_start(p->http, &params, &p->req);
}

static bool imds_disabled(void) {
        const char *e = getenv("AWS_EC2_METADATA_DISABLED");
        return e && strcasecmp(e, "true") == 0;
}

static int imds_start(struct creds_provider *p) {
        const char *ep = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
        const char *mode = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
        size_t n;
        int r;

        free(p->imds_base);
        if (ep && *ep)
                p->imds_base = strdup(ep);
        else if (mode && strcasecmp(mode, "IPv6") == 0)
                p->imds_base = strdup("http://[fd00:ec2::254]");
        else
                p->imds_base = strdup("http://169.254.169.254");
        if (!p->imds_base)
                return -ENOMEM;
        n = strlen(p->imds_base);
        while (n > 0 && p->imds_base[n - 1] == '/')
                p->imds_base[--n] = 0;
        /* Said by the caller as a refusal of the endpoint, not of a request. */
        r = url_check(p->imds_base, true);
        if (r < 0)
                return r;
        p->step = STEP_IMDS_TOKEN;
        return imds_request(p, "PUT", "/latest/api/token");
}

static bool valid_token_text(const char *s, size_t n, size_t max) {
        if (n == 0 || n > max)
                return false;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) s[i] < 0x21 || (unsigned char) s[i] > 0x7e)
                        return false;
        return true;
}

static void http_fetch_done(struct http_request *req, const struct http_response *resp,
                            void *userdata) {
        struct creds_provider *p = userdata;
        struct aws_credentials c = {};
        const char *what = p->step == STEP_CONTAINER ? "container credentials endpoint"
                                                     : "instance metadata service";
        int r;

        p->req = NULL;
        if (resp->error < 0 || resp->status != 200) {
                if (p->step == STEP_CONTAINER) {
                        if (resp->error < 0)
                                log_error_errno(resp->error, "The %s did not answer: %s", what,
                                                resp->error_text ? resp->error_text : "%m");
                        else
                                log_error("The %s answered HTTP %ld.", what, resp->status);
                        fetch_done(p, resp->error < 0 ? resp->error : -EACCES, NULL);
                        return;
                }
                /* No instance metadata (not on EC2, or IMDSv2 refused): the chain ends. */
                log_debug("The %s: %s (HTTP %ld).", what,
                          resp->error < 0 ? strna(resp->error_text) : "no answer", resp->status);
                fetch_done(p, -ENOKEY, NULL);
                return;
        }

        switch (p->step) {
        case STEP_CONTAINER:
        case STEP_IMDS_CREDS: {
                json_object *code;
                if (p->step == STEP_IMDS_CREDS && resp->json &&
                    json_object_object_get_ex(resp->json, "Code", &code) &&
                    (!json_object_is_type(code, json_type_string) ||
                     !streq(json_object_get_string(code), "Success"))) {
                        log_error("The %s did not return credentials for role %s.", what,
                                  strna(p->imds_role));
                        fetch_done(p, -EACCES, NULL);
                        return;
                }
                r = aws_credentials_from_json(resp->json, "Token", &c);
                if (r < 0) {
                        log_error("The %s returned incomplete or malformed credentials.", what);
                        fetch_done(p, r, NULL);
                        return;
                }
                fetch_done(p, 0, &c);
                return;
        }
        case STEP_IMDS_TOKEN:
                if (!valid_token_text(resp->body, resp->body_len, 4096)) {
                        fetch_done(p, -EBADMSG, NULL);
                        return;
                }
                free(p->imds_token);
                p->imds_token = strndup(resp->body, resp->body_len);
                if (!p->imds_token) {
                        fetch_done(p, -ENOMEM, NULL);
                        return;
                }
                p->step = STEP_IMDS_ROLE;
                r = imds_request(p, "GET", "/latest/meta-data/iam/security-credentials/");
                break;
        case STEP_IMDS_ROLE: {
                size_t n = strcspn(resp->body, "\r\n");
                /* Role names: letters, digits and +=,.@_- only, at most 64 (IAM's rule). */
                if (n == 0 || n > 64 || strspn(resp->body, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                         "0123456789+=,.@_-") < n) {
                        log_error("The %s names no usable instance profile role.", what);
                        fetch_done(p, -ENOKEY, NULL);
                        return;
                }
                free(p->imds_role);
                p->imds_role = strndup(resp->body, n);
                if (!p->imds_role) {
                        fetch_done(p, -ENOMEM, NULL);
                        return;
                }
                _cleanup_free_ char *path = NULL;
                if (asprintf(&path, "/latest/meta-data/iam/security-credentials/%s", p->imds_role) < 0) {
                        fetch_done(p, -ENOMEM, NULL);
                        return;
                }
                p->step = STEP_IMDS_CREDS;
                r = imds_request(p, "GET", path);
                break;
        }
        default:
                r = -EINVAL;
        }
        if (r < 0)
                fetch_done(p, r, NULL);
}

/* ---- the chain ------------------------------------------------------- */

static int try_env(struct aws_credentials *ret) {
        const char *id = getenv("AWS_ACCESS_KEY_ID"), *secret = getenv("AWS_SECRET_ACCESS_KEY");
        const char *token = getenv("AWS_SESSION_TOKEN");
        struct aws_credentials c = {};

        if (!id || !*id || !secret || !*secret)
                return 0;
        if (strlen(id) > 128 || strlen(secret) > 1024 || strpbrk(id, "\r\n ") || strpbrk(secret, "\r\n") ||
            (token && (strlen(token) > 16384 || strpbrk(token, "\r\n"))))
                return -EBADMSG;
        c.access_key_id = strdup(id);
        c.secret_access_key = strdup(secret);
        c.session_token = token && *token ? strdup(token) : NULL;
        if (!c.access_key_id || !c.secret_access_key || (token && *token && !c.session_token)) {
                aws_credentials_done(&c);
                return -ENOMEM;
        }
        *ret = c;
        return 1;
}

static void set_pending_source(struct creds_provider *p, const char *fmt, ...) _printf_(2, 3);
static void set_pending_source(struct creds_provider *p, const char *fmt, ...) {
        va_list ap;

        free(p->pending_source);
        va_start(ap, fmt);
        if (vasprintf(&p->pending_source, fmt, ap) < 0)
                p->pending_source = NULL;
        va_end(ap);
}

/* Walk the chain from a stage: 0 environment, 1 files, 2 container, 3 IMDS.
 * Ends in fetch_done() (now, or from a callback). */
static void chain_from(struct creds_provider *p, int stage) {
        struct aws_credentials c = {};
        const char *profile = aws_profile_name(p->config_profile);
        bool named = (p->config_profile && *p->config_profile) ||
                     (getenv("AWS_PROFILE") && *getenv("AWS_PROFILE"));
        int r;

        p->fetching = true;
        p->step = STEP_IDLE;

        if (stage <= 0) {
                r = try_env(&c);
                if (r < 0) {
                        log_error("AWS_ACCESS_KEY_ID or AWS_SECRET_ACCESS_KEY is malformed.");
                        fetch_done(p, r, NULL);
                        return;
                }
                if (r > 0) {
                        set_pending_source(p, "environment variables");
                        fetch_done(p, 0, &c);
                        return;
                }
        }
        if (stage <= 1) {
                struct aws_profile prof = {};
                r = aws_profile_load(profile, &prof);
                if (r < 0) {
                        log_error_errno(r, "Cannot read the shared AWS credentials or config file: %m");
                        fetch_done(p, r, NULL);
                        return;
                }
                if (prof.credentials_insecure)
                        log_warning("%s is group- or world-writable; anyone who can write it chooses "
                                    "the credentials kinesisd uses.", prof.credentials_path);
                if (prof.config_insecure)
                        log_warning("%s is group- or world-writable; anyone who can write it chooses "
                                    "the credentials kinesisd uses.", prof.config_path);
                if (named && !prof.in_credentials && !prof.in_config) {
                        log_error("AWS profile %s was not found in %s or %s.", profile,
                                  strna(prof.credentials_path), strna(prof.config_path));
                        aws_profile_done(&prof);
                        fetch_done(p, -ENOENT, NULL);
                        return;
                }
                if (prof.access_key_id && prof.secret_access_key) {
                        c.access_key_id = TAKE_PTR(prof.access_key_id);
                        c.secret_access_key = TAKE_PTR(prof.secret_access_key);
                        c.session_token = TAKE_PTR(prof.session_token);
                        set_pending_source(p, prof.in_credentials ? "the shared credentials file, profile %s"
                                                                  : "the shared config file, profile %s",
                                           profile);
                        aws_profile_done(&prof);
                        fetch_done(p, 0, &c);
                        return;
                }
                if (prof.credential_process) {
                        set_pending_source(p, "credential_process of profile %s", profile);
                        p->step = STEP_PROCESS;
                        r = process_start(p, prof.credential_process);
                        aws_profile_done(&prof);
                        if (r < 0) {
                                log_error_errno(r, "Cannot run credential_process of profile %s: %m", profile);
                                fetch_done(p, r, NULL);
                        }
                        return;
                }
                if (prof.role_arn)
                        log_warning("Profile %s uses role_arn, which kinesisd does not support; ignoring it.",
                                    profile);
                aws_profile_done(&prof);
        }
        if (stage <= 2) {
                r = container_start(p);
                if (r != -ENOENT) {
                        if (r < 0) {
                                if (r != -EPERM)
                                        log_error_errno(r, "Cannot fetch container credentials: %m");
                                fetch_done(p, r, NULL);
                        } else
                                set_pending_source(p, "the container credentials endpoint");
                        return;
                }
        }
        if (imds_disabled()) {
                fetch_done(p, -ENOKEY, NULL);
                return;
        }
        set_pending_source(p, "the EC2 instance metadata service");
        r = imds_start(p);
        if (r == -EPERM || r == -EACCES || r == -EINVAL || r == -EPROTONOSUPPORT) {
                /* A configured endpoint that cannot be used is an error, not
                 * the end of the chain. The URL is not quoted: it may hold a
                 * password. */
                log_error("AWS_EC2_METADATA_SERVICE_ENDPOINT is refused by the URL policy: %s.",
                          r == -EPERM    ? "plain http:// is allowed only to loopback hosts and the "
                                           "instance metadata addresses"
                          : r == -EACCES ? "user information (user:password@) is not allowed in the URL"
                                         : "it is not an http:// or https:// URL");
                fetch_done(p, r, NULL);
        } else if (r < 0) {
                log_debug_errno(r, "Cannot ask the instance metadata service: %m");
                fetch_done(p, -ENOKEY, NULL);
        }
}

/* The set just cached is expired already, or expires within the margin.
 *
 * It is used, not refused: our clock may be the one that is wrong, and AWS
 * is the judge of its own credentials (a refused one comes back as
 * ExpiredTokenException, which the caller reports). But asking the source
 * again at once would bring the same answer, so the next fetch waits: 1 s,
 * then twice as long each time, up to a minute; calls that want credentials
 * meanwhile share that one fetch. Warned about once until a valid set
 * arrives. */
static void expired_arrived(struct creds_provider *p, uint64_t now) {
        uint64_t exp = p->cached.expiration_usec;
        char when[32] = "?";
        time_t t = (time_t) (exp / USEC_PER_SEC);
        struct tm tm;

        p->backoff_usec = p->backoff_usec ? p->backoff_usec * 2 : EXPIRED_BACKOFF_FIRST_USEC;
        if (p->backoff_usec > EXPIRED_BACKOFF_MAX_USEC)
                p->backoff_usec = EXPIRED_BACKOFF_MAX_USEC;
        p->refetch_at_usec = mono_usec(p) + p->backoff_usec;
        p->expired_in_use = true;
        if (gmtime_r(&t, &tm))
                (void) strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        if (p->warned_expired) {
                log_debug("Credentials from %s are still expired (%s); not asking again for %" PRIu64 " s.",
                          strna(p->source), when, p->backoff_usec / USEC_PER_SEC);
                return;
        }
        p->warned_expired = true;
        log_warning("%s returned credentials that %s at %s; using them anyway (AWS decides whether "
                    "it still accepts them), and not asking again for %" PRIu64 " s, then for twice "
                    "as long each time, up to %" PRIu64 " s.",
                    strna(p->source), exp <= now ? "already expired" : "expire in less than 10 s,", when,
                    p->backoff_usec / USEC_PER_SEC, EXPIRED_BACKOFF_MAX_USEC / USEC_PER_SEC);
}

static void fetch_done(struct creds_provider *p, int error, struct aws_credentials *c) {
        uint64_t now = realtime_usec();

        p->fetching = false;
        p->step = STEP_IDLE;
        if (error < 0) {
                if (error == -ENOKEY)
                        log_error("No AWS credentials found (environment, shared files, container, "
                                  "instance metadata).");
                /* Keep a set that is still usable: a failed background refresh
                 * should not stop the daemon before the old one expires. */
                if (!cached_usable(p, now))
                        creds_invalidate(p);
                else
                        p->stale_at_usec = now + 30 * USEC_PER_SEC; /* try again soon */
                deliver(p, cached_usable(p, now) ? 0 : error);
                return;
        }
        aws_credentials_done(&p->cached);
        p->cached = *c;
        *c = (struct aws_credentials){};
        p->have = true;
        p->fetches++;
        free(p->source);
        p->source = TAKE_PTR(p->pending_source);
        if (!streq_ptr(p->source, p->logged_source)) {
                log_info("Using credentials from %s.", strna(p->source));
                free(p->logged_source);
                p->logged_source = p->source ? strdup(p->source) : NULL;
        } else
                log_debug("Refreshed credentials from %s.", strna(p->source));
        p->expired_in_use = false;
        p->stale_at_usec = 0;
        if (!expiration_usable(p->cached.expiration_usec, now))
                expired_arrived(p, now);
        else {
                if (p->warned_expired)
                        log_info("Credentials from %s are valid again.", strna(p->source));
                p->warned_expired = false;
                p->backoff_usec = 0;
                p->refetch_at_usec = 0;
        }
        if (!p->expired_in_use && p->cached.expiration_usec) {
                uint64_t exp = p->cached.expiration_usec;
                uint64_t early = exp > p->refresh_before_usec ? exp - p->refresh_before_usec : 0;
                uint64_t half = exp > now ? now + (exp - now) / 2 : now;
                /* 5 minutes ahead, or half-way through a lifetime shorter than that. */
                p->stale_at_usec = early > half ? early : half;
        }
        deliver(p, 0);
}

int creds_provider_new(sd_event *e, struct http_client *http, const struct creds_options *o,
                       struct creds_provider **ret) {
        struct creds_provider *p;
        int r;

        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->event = sd_event_ref(e);
        p->http = http;
        p->pipe_fd = -1;
        p->err_fd = -1;
        p->process_timeout_usec = o && o->process_timeout_usec ? o->process_timeout_usec : 60 * USEC_PER_SEC;
        p->refresh_before_usec = o && o->refresh_before_usec ? o->refresh_before_usec : 300 * USEC_PER_SEC;
        if (o && o->profile) {
                p->config_profile = strdup(o->profile);
                if (!p->config_profile) {
                        creds_provider_free(p);
                        return -ENOMEM;
                }
        }
        r = sd_event_add_time(e, &p->kick, CLOCK_MONOTONIC, 0, HTTP_TIMER_ACCURACY, on_kick, p);
        if (r < 0) {
                creds_provider_free(p);
                return r;
        }
        (void) sd_event_source_set_enabled(p->kick, SD_EVENT_OFF);
        (void) sd_event_source_set_description(p->kick, "creds-kick");
        *ret = p;
        return 0;
}

struct creds_provider *creds_provider_free(struct creds_provider *p) {
        if (!p)
                return NULL;
        while (p->waiters)
                creds_wait_cancel(p->waiters);
        p->req = http_request_cancel(p->req);
        process_cleanup(p);
        linger_finish(p);
        sd_event_source_disable_unref(p->kick);
        aws_credentials_done(&p->cached);
        free(p->config_profile);
        free(p->source);
        free(p->logged_source);
        free(p->pending_source);
        free(p->imds_base);
        if (p->imds_token)
                explicit_bzero(p->imds_token, strlen(p->imds_token));
        free(p->imds_token);
        free(p->imds_role);
        sd_event_unref(p->event);
        free(p);
        return NULL;
}
