/* What the files of the credential chain share (creds.c the chain, the
 * cache and the waiters; creds-process.c credential_process;
 * creds-metadata.c the container and instance metadata endpoints): the
 * provider's state and the steps between them. Not for use outside aws/creds*.c. */
#pragma once

#include <sys/types.h>

#include "aws/creds.h"
#include "aws/sso.h"

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
 * next one waits this long, doubling up to the cap (see creds_fetch_done()). */
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
        STEP_SSO,
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
        pid_t linger_pid; /* an ended child's group, see creds_process_linger_finish() */
        sd_event_source *linger_timer;

        /* container / IMDS */
        struct http_request *req;
        char *imds_base, *imds_token, *imds_role;

        /* SSO */
        struct sso_fetch *sso;
};

uint64_t creds_mono_usec(struct creds_provider *p);
/* Ends the fetch: caches c (taken) or reports error to every waiter. */
void creds_fetch_done(struct creds_provider *p, int error, struct aws_credentials *c);

/* The name of the source being asked, for the log once it answers. */
void creds_set_pending_source(struct creds_provider *p, const char *fmt, ...) _printf_(2, 3);

/* creds-sso.c: 0 when the profile does not use SSO, 1 when a fetch started
 * (it ends in creds_fetch_done()), or a negative errno (logged). */
int creds_sso_start(struct creds_provider *p, const char *profile, const struct aws_profile *prof);

/* creds-process.c */
int creds_process_start(struct creds_provider *p, const char *command);
void creds_process_cleanup(struct creds_provider *p);
void creds_process_linger_finish(struct creds_provider *p);

/* creds-metadata.c: -ENOENT when no container endpoint is configured. */
int creds_container_start(struct creds_provider *p);
bool creds_imds_disabled(void);
int creds_imds_start(struct creds_provider *p);
