/* Small helpers every module uses: cleanup attributes, ownership transfer,
 * array sizes, string equality. Nothing here allocates behind the caller's
 * back or logs. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))
#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _noreturn_ __attribute__((noreturn))

/* Hand a pointer on: returns it and leaves NULL behind, so a cleanup
 * attribute on the source no longer frees it. */
#define TAKE_PTR(p)                      \
        ({                               \
                __typeof__(p) _p_ = (p); \
                (p) = NULL;              \
                _p_;                     \
        })

#define TAKE_FD(fd)                  \
        ({                           \
                int _fd_ = (fd);     \
                (fd) = -1;           \
                _fd_;                \
        })

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                (void) close(*fd);
                errno = saved;
        }
}
#define _cleanup_close_ _cleanup_(closep)

/* Define NAME##p(T **) calling FUNC on a non-NULL pointer, for _cleanup_. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func) \
        static inline void func##p(type *p) {   \
                if (*p)                         \
                        func(*p);               \
        }

static inline bool streq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}

static inline bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}

static inline const char *strempty(const char *s) {
        return s ? s : "";
}

static inline const char *strna(const char *s) {
        return s ? s : "n/a";
}

/* Free every element of a NULL-terminated string vector, then the vector. */
static inline char **strv_free(char **v) {
        if (v)
                for (char **i = v; *i; i++)
                        free(*i);
        free(v);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free);
#define _cleanup_strv_free_ _cleanup_(strv_freep)

#define USEC_PER_SEC UINT64_C(1000000)
#define USEC_PER_MSEC UINT64_C(1000)
#define NSEC_PER_USEC UINT64_C(1000)

/* Microseconds on clock (CLOCK_MONOTONIC for waits, CLOCK_REALTIME for what
 * outlives the process). */
static inline uint64_t clock_now_usec(clockid_t clock) {
        struct timespec ts;

        (void) clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
}
#define USEC_INFINITY UINT64_MAX

/* Wipe a secret (a key, a token) before freeing it; NULL is fine. */
static inline void free_secret(char *s) {
        if (s)
                explicit_bzero(s, strlen(s));
        free(s);
}

/* Free and return NULL, for "p = mfree(p);". */
static inline void *mfree(void *p) {
        free(p);
        return NULL;
}

/* 64-bit FNV-1a over n bytes, going on from h (FNV1A64_INIT to begin): a
 * fingerprint of what kinesisd itself or AWS wrote, not a defence against
 * chosen collisions. */
#define FNV1A64_INIT UINT64_C(0xcbf29ce484222325)
static inline uint64_t fnv1a64(uint64_t h, const void *p, size_t n) {
        const unsigned char *c = p;

        for (size_t i = 0; i < n; i++)
                h = (h ^ c[i]) * UINT64_C(0x100000001b3);
        return h;
}
