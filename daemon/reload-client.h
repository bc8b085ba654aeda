/* A reload that can be waited for: `kinesisd --reload PID`, run as the
 * unit's ExecReload=, asks the daemon PID to reload and waits until that
 * reload is done, so `systemctl reload kinesisd` returns only then.
 *
 * The request is a real-time signal (queued by the kernel one per sender,
 * never merged as two SIGHUPs are), so the daemon learns every sender's pid
 * from signalfd; it answers each with sigqueue() of another, the value
 * saying how the reload ended. The waiter watches the daemon's pidfd and
 * gives up if the daemon dies. Both ends use the numbers below. */
#pragma once

#include <signal.h>
#include <sys/types.h>

/* glibc's SIGRTMIN is not a constant: these are functions of it. */
#define RELOAD_SIGNAL_REQUEST (SIGRTMIN + 4)
#define RELOAD_SIGNAL_ANSWER (SIGRTMIN + 5)

/* The answer's value, and the waiter's exit status. */
enum reload_answer {
        RELOAD_ANSWER_DONE = 0,     /* accepted; every stream ACTIVE and exported */
        RELOAD_ANSWER_FAILED = 1,   /* accepted, but a stream failed or is not exported,
                                       or the daemon stopped first */
        RELOAD_ANSWER_REFUSED = 78, /* the configuration was refused; the running one stays */
};

/* pidfd_open(2): a descriptor for pid, or -1 with errno (ENOSYS on an old
 * kernel). */
int reload_pidfd_open(pid_t pid);

/* The daemon's answer, as sigqueue() sends it, to the process pidfd refers
 * to (so never to another that took its pid after it exited), or to pid
 * when pidfd < 0. 0, or -errno. */
int reload_answer_send(int pidfd, pid_t pid, int value);

/* Send the request to pid and wait for its answer; returns the exit status
 * (an enum reload_answer, or 1 when pid cannot be asked or exits first).
 * Says what went wrong on stderr (the log). */
int reload_client_run(pid_t pid);
