/* `kinesisd --reload PID`: ask a running kinesisd to reload and wait for
 * its answer (reload-client.h).
 *
 * Must never hang on a daemon that is gone (its pidfd says so), and never
 * signal anything but the pid it was given. */
#include "reload-client.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "file-read.h"
#include "log.h"

/* Whether pid blocks (takes through signalfd) the request signal: a
 * kinesisd too old to answer would be killed by it, the default action of
 * a real-time signal. From the SigBlk: line of /proc/PID/status. That is
 * often out of sight: kinesisd makes itself non-dumpable, which gives its
 * /proc entries to root, and the unit's ProtectProc=invisible hides them
 * from the kinesisd user; -ENOENT or -EACCES then. */
static int takes_requests(pid_t pid) {
        _cleanup_free_ char *text = NULL;
        char path[64];
        unsigned long long mask;
        const char *l;
        int r;

        snprintf(path, sizeof path, "/proc/%d/status", (int) pid);
        r = read_file_bounded(path, 64 * 1024, &text, NULL, NULL);
        if (r < 0)
                return r;
        l = strstr(text, "\nSigBlk:");
        if (!l || sscanf(l + strlen("\nSigBlk:"), "%llx", &mask) != 1)
                return -EBADMSG;
        return !!(mask & (1ULL << (RELOAD_SIGNAL_REQUEST - 1)));
}

int reload_pidfd_open(pid_t pid) {
#ifdef SYS_pidfd_open
        return (int) syscall(SYS_pidfd_open, pid, 0);
#else
        errno = ENOSYS;
        return -1;
#endif
}

int reload_answer_send(int pidfd, pid_t pid, int value) {
#ifdef SYS_pidfd_send_signal
        if (pidfd >= 0) {
                siginfo_t si = {};

                /* What sigqueue() would send: the kernel takes a negative
                 * si_code from user space, with our pid and uid in it. */
                si.si_signo = RELOAD_SIGNAL_ANSWER;
                si.si_code = SI_QUEUE;
                si.si_pid = getpid();
                si.si_uid = getuid();
                si.si_value.sival_int = value;
                return syscall(SYS_pidfd_send_signal, pidfd, RELOAD_SIGNAL_ANSWER, &si, 0) < 0 ? -errno : 0;
        }
#endif
        return sigqueue(pid, RELOAD_SIGNAL_ANSWER, (union sigval){ .sival_int = value }) < 0 ? -errno : 0;
}

static int answer_text(int v, const char **ret) {
        switch (v) {
        case RELOAD_ANSWER_DONE:
                *ret = "done: every stream is ACTIVE and exported";
                return RELOAD_ANSWER_DONE;
        case RELOAD_ANSWER_REFUSED:
                *ret = "the configuration was refused, the running one stays (see the journal)";
                return RELOAD_ANSWER_REFUSED;
        default:
                *ret = "done, but not every stream is ACTIVE and exported (see the journal)";
                return RELOAD_ANSWER_FAILED;
        }
}

int reload_client_run(pid_t pid) {
        _cleanup_close_ int sfd = -1, pidfd = -1;
        sigset_t mask;
        int r;

        /* The answer comes through a signalfd: blocked before asking, so
         * an answer sent at once is not lost. */
        sigemptyset(&mask);
        sigaddset(&mask, RELOAD_SIGNAL_ANSWER);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "Cannot block signals: %m"), 1;
        sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sfd < 0)
                return log_error_errno(errno, "Cannot create a signalfd: %m"), 1;
        /* Before the request: from here on, pid is the process we ask even
         * if it exits and the number is used again. */
        pidfd = reload_pidfd_open(pid);
        if (pidfd < 0 && errno != ENOSYS)
                return log_error_errno(errno, "Cannot watch kinesisd (pid %d): %m", (int) pid), 1;

        r = takes_requests(pid);
        if (r < 0)
                /* Out of sight: the unit's own main process, the same
                 * kinesisd as this one (a package upgrade restarts it). */
                log_debug_errno(r, "Cannot read the state of kinesisd (pid %d), asking it anyway: %m",
                                (int) pid);
        if (r == 0) {
                /* Not ready for the request yet (still starting) or an older
                 * kinesisd: a plain reload, not waited for. */
                log_warning("kinesisd (pid %d) does not answer reload requests; sending SIGHUP without "
                            "waiting for the reload.", (int) pid);
                if (kill(pid, SIGHUP) < 0)
                        return log_error_errno(errno, "Cannot signal kinesisd (pid %d): %m", (int) pid), 1;
                return 0;
        }
        if (sigqueue(pid, RELOAD_SIGNAL_REQUEST, (union sigval){ .sival_int = 0 }) < 0)
                return log_error_errno(errno, "Cannot ask kinesisd (pid %d) to reload: %m", (int) pid), 1;

        for (;;) {
                struct pollfd p[2] = { { .fd = sfd, .events = POLLIN }, { .fd = pidfd, .events = POLLIN } };
                struct signalfd_siginfo si;
                const char *text;
                ssize_t n;

                /* Without a pidfd (an old kernel): look whether it lives once a second. */
                if (poll(p, pidfd >= 0 ? 2 : 1, pidfd >= 0 ? -1 : 1000) < 0) {
                        if (errno == EINTR)
                                continue;
                        return log_error_errno(errno, "Cannot wait for kinesisd (pid %d): %m", (int) pid), 1;
                }
                n = read(sfd, &si, sizeof si);
                if (n == (ssize_t) sizeof si) {
                        if ((pid_t) si.ssi_pid != pid || si.ssi_code != SI_QUEUE)
                                continue; /* not the daemon's answer */
                        r = answer_text(si.ssi_int, &text);
                        log_full(r == 0 ? LOG_DEBUG : LOG_ERR, "Reload of kinesisd (pid %d): %s.", (int) pid,
                                 text);
                        return r;
                }
                if (n < 0 && errno != EAGAIN && errno != EINTR)
                        return log_error_errno(errno, "Cannot read the answer of kinesisd (pid %d): %m",
                                               (int) pid), 1;
                if ((pidfd >= 0 && (p[1].revents & (POLLIN | POLLHUP))) || (pidfd < 0 && kill(pid, 0) < 0 &&
                                                                             errno == ESRCH)) {
                        log_error("kinesisd (pid %d) exited before its reload was done.", (int) pid);
                        return 1;
                }
        }
}
