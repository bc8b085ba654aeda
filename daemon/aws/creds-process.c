/* credential_process for the credential chain (see creds.h, creds.c).
 *
 * It runs without a shell via posix_spawnp() in a process group of its own,
 * with its stdout and stderr on pipes watched by sd-event, and its exit is
 * polled for on a timer, so no SIGCHLD handling is needed from the rest of
 * the daemon. When it exits (or is given up on) its group is ended, SIGTERM
 * then SIGKILL: nothing it started outlives it or holds a fetch up. What it
 * writes on stderr is logged with our own messages, escaped: never passed
 * through as it is.
 *
 * Must never log a key, a token or a document that holds one. */
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/wait.h>

#include "aws/aws-error.h"
#include "aws/creds-internal.h"
#include "json-util.h"
#include "log.h"

extern char **environ;


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
void creds_process_linger_finish(struct creds_provider *p) {
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
        creds_process_linger_finish(userdata);
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
        creds_process_linger_finish(p); /* the group of an earlier run, if still pending */
        (void) kill(-pid, SIGTERM);
        p->linger_pid = pid;
        if (sd_event_add_time(p->event, &p->linger_timer, CLOCK_MONOTONIC,
                              creds_mono_usec(p) + PROCESS_KILL_GRACE_USEC, 10 * USEC_PER_MSEC,
                              on_linger_timer, p) < 0)
                creds_process_linger_finish(p);
}

void creds_process_cleanup(struct creds_provider *p) {
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

        const char *said = process_said(p, said_buf);

        creds_process_cleanup(p);
        creds_fail(p, -EFBIG, "credential_process of profile %s printed more than %d KiB, refusing it%s",
                   aws_profile_name(p->config_profile), PROCESS_OUTPUT_MAX / 1024, said);
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
                creds_process_cleanup(p);
                creds_fail(p, -EIO, "credential_process of profile %s failed (%s %d)%s",
                           aws_profile_name(p->config_profile), exited ? "exit status" : "signal", code,
                           said);
                return;
        }
        o = aws_json_parse(p->out ? p->out : "", p->out_len);
        if (!o || !json_object_object_get_ex(o, "Version", &v) ||
            !json_object_is_type(v, json_type_int) || json_object_get_int(v) != 1) {
                creds_process_cleanup(p);
                creds_fail(p, -EBADMSG, "credential_process of profile %s did not print a Version 1 JSON "
                           "document%s", aws_profile_name(p->config_profile), said);
                return;
        }
        r = aws_credentials_from_json(o, "SessionToken", &c);
        if (r < 0) {
                creds_process_cleanup(p);
                creds_fail(p, r, "credential_process of profile %s printed incomplete or malformed "
                           "credentials%s", aws_profile_name(p->config_profile), said);
                return;
        }
        if (*said)
                log_debug("credential_process of profile %s ran%s", aws_profile_name(p->config_profile),
                          said);
        creds_process_cleanup(p);
        creds_fetch_done(p, 0, &c);
}

/* Polls for the child's exit (no SIGCHLD handling needed from the rest of
 * the daemon), and ends it at the deadline. waitid(WNOWAIT) leaves it a
 * zombie: its process group id stays reserved until the group is ended. */
static int on_proc_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct creds_provider *p = userdata;
        siginfo_t si = {};
        uint64_t now = creds_mono_usec(p), next;

        if (waitid(P_PID, (id_t) p->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0) {
                if (errno != EINTR) {
                        log_error_errno(errno, "Cannot wait for credential_process: %m");
                        p->pid = 0; /* not ours to reap any more */
                        creds_process_cleanup(p);
                        creds_fetch_done(p, -ECHILD, NULL);
                        return 0;
                }
        } else if (si.si_pid == p->pid) {
                process_finish(p, si.si_code == CLD_EXITED, si.si_status);
                return 0;
        }
        if (now >= p->proc_deadline) {
                char said_buf[PROCESS_SAID_SIZE];
                const char *said = process_said(p, said_buf);
                creds_process_cleanup(p);
                creds_fail(p, -ETIMEDOUT, "credential_process of profile %s did not finish within %" PRIu64
                           " s, killed%s", aws_profile_name(p->config_profile),
                           p->process_timeout_usec / USEC_PER_SEC, said);
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
                (void) sd_event_source_set_time(p->proc_timer, creds_mono_usec(p) + USEC_PER_MSEC);
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

int creds_process_start(struct creds_provider *p, const char *command) {
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
        p->proc_deadline = creds_mono_usec(p) + p->process_timeout_usec;
        r = sd_event_add_io(p->event, &p->pipe_src, p->pipe_fd, EPOLLIN, on_proc_output, p);
        if (r >= 0)
                r = sd_event_add_io(p->event, &p->err_src, p->err_fd, EPOLLIN, on_proc_stderr, p);
        if (r >= 0)
                r = sd_event_add_time(p->event, &p->proc_timer, CLOCK_MONOTONIC,
                                      creds_mono_usec(p) + PROCESS_POLL_USEC, USEC_PER_MSEC, on_proc_timer,
                                      p);
        if (r < 0) {
                creds_process_cleanup(p);
                return r;
        }
        return 0;
}
