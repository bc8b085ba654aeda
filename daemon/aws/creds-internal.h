/* What the files of the credential chain share (creds.c the chain, the
 * cache and the waiters; creds-process.c credential_process;
 * creds-metadata.c the container and instance metadata endpoints): the
 * provider's state and the steps between them. Not for use outside aws/creds*.c. */
#pragma once

#include <sys/types.h>

#include "aws/creds.h"
#include "aws/sso.h"
#include "aws/sts.h"

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

/* What a provider draws on. */
enum creds_kind {
        CREDS_CHAIN,          /* the whole chain, for a profile */
        CREDS_SOURCE_PROFILE, /* a source_profile: the sources a profile holds itself */
        CREDS_PROFILE_KEYS,   /* a source_profile naming its own profile: its static keys */
        CREDS_ENV,            /* credential_source = Environment */
        CREDS_CONTAINER,      /* credential_source = EcsContainer */
        CREDS_IMDS,           /* credential_source = Ec2InstanceMetadata */
        CREDS_ROLE,           /* creds_provider_new_role() */
};

/* A role to assume, as a provider keeps it (owned strings). */
struct creds_role {
        char *role_arn, *external_id, *session_name, *region, *sts_endpoint;
        unsigned duration_seconds;
        char *web_token_file;   /* set: AssumeRoleWithWebIdentity with the token in it */
        char *what;             /* for messages: "role ARN (profile \"x\" in FILE)" */
};
void creds_role_done(struct creds_role *r);

struct creds_wait {
        struct creds_provider *provider;
        creds_callback cb;
        void *userdata;
        struct creds_wait *next, *prev;
};

struct creds_provider {
        sd_event *event;
        struct http_client *http;
        enum creds_kind kind;
        char *config_profile;
        char *region;           /* where STS is called; NULL: the profile's, else global */
        char *visited;          /* the source_profile path to this provider: "a -> b" */
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

        /* A role (creds-role.c): the credentials of role_source sign the
         * AssumeRole call (none for web identity). role_source is owned for
         * the chain's source_profile or credential_source, keyed by
         * role_source_key, and borrowed for CREDS_ROLE. */
        struct creds_role role;
        struct creds_provider *role_source;
        bool role_source_owned;
        char *role_source_key;
        struct creds_wait *role_wait;
        struct sts_call *sts;
        bool role_retried;      /* the source's credentials were fetched again once */

        /* Why the last fetch failed (creds_error_text()), and what this walk
         * of the chain tried so far. */
        char *error_text;
        char *fail_text;
        char *tried;

        /* SSO (creds-sso.c) */
        struct sso_fetch *sso;
};

uint64_t creds_mono_usec(struct creds_provider *p);
/* Ends the fetch: caches c (taken) or reports error to every waiter. */
void creds_fetch_done(struct creds_provider *p, int error, struct aws_credentials *c);

/* Ends the fetch with error, saying why: the message is logged and kept
 * for creds_error_text(). */
void creds_fail(struct creds_provider *p, int error, const char *fmt, ...) _printf_(3, 4);
/* Note what the chain tried: "environment (none)". */
void creds_tried(struct creds_provider *p, const char *fmt, ...) _printf_(2, 3);
void creds_set_pending_source(struct creds_provider *p, const char *fmt, ...) _printf_(2, 3);
/* A provider of a kind, with no source yet (creds.c). */
int creds_provider_alloc(sd_event *e, struct http_client *http, enum creds_kind kind,
                         struct creds_provider **ret);

/* creds-role.c (prof: the profile loaded, empty if it does not exist): the
 * role in p->role, assumed with role_source's credentials
 * or with the web identity token. Ends in creds_fetch_done(). */
void creds_role_fetch(struct creds_provider *p);
/* The chain's assume-role and web-identity steps for a profile: 0 if the
 * profile (or, for web identity, the environment) does not ask for one, 1 if
 * a fetch started (or failed, said), never a fall-through. */
int creds_role_from_profile(struct creds_provider *p, const struct aws_profile *prof,
                            const char *profile);
int creds_web_identity_from(struct creds_provider *p, const struct aws_profile *prof,
                            const char *profile, bool use_env);
void creds_role_stop(struct creds_provider *p);
/* Stops the role's calls, frees an owned source and the role. */
void creds_role_free(struct creds_provider *p);

/* creds-sso.c: the chain's SSO step for a profile: 0 if the profile does
 * not use SSO, 1 if a fetch started (or failed, said), never a
 * fall-through. */
int creds_sso_from_profile(struct creds_provider *p, const struct aws_profile *prof, const char *profile);

/* creds-process.c */
int creds_process_start(struct creds_provider *p, const char *command);
void creds_process_cleanup(struct creds_provider *p);
void creds_process_linger_finish(struct creds_provider *p);

/* creds-metadata.c: -ENOENT when no container endpoint is configured. */
int creds_container_start(struct creds_provider *p);
bool creds_imds_disabled(void);
int creds_imds_start(struct creds_provider *p);
