/* Minimal assertions for the C unit tests: each failing check prints
 * FILE:LINE and what differed, and the test exits non-zero at the end. */
#pragma once

#include <stdio.h>
#include <string.h>

extern unsigned test_failures;
extern unsigned test_checks;

#define CHECK(cond)                                                                     \
        do {                                                                            \
                test_checks++;                                                          \
                if (!(cond)) {                                                          \
                        test_failures++;                                                \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
                }                                                                       \
        } while (0)

#define CHECK_STREQ(a, b)                                                               \
        do {                                                                            \
                const char *_a_ = (a), *_b_ = (b);                                      \
                test_checks++;                                                          \
                if (!_a_ || !_b_ || strcmp(_a_, _b_) != 0) {                            \
                        test_failures++;                                                \
                        fprintf(stderr, "%s:%d: %s != %s\n  got:      \"%s\"\n  expected: \"%s\"\n", \
                                __FILE__, __LINE__, #a, #b, _a_ ? _a_ : "(null)",       \
                                _b_ ? _b_ : "(null)");                                  \
                }                                                                       \
        } while (0)

#define CHECK_INTEQ(a, b)                                                               \
        do {                                                                            \
                long long _a_ = (long long) (a), _b_ = (long long) (b);                 \
                test_checks++;                                                          \
                if (_a_ != _b_) {                                                       \
                        test_failures++;                                                \
                        fprintf(stderr, "%s:%d: %s != %s (%lld != %lld)\n", __FILE__,   \
                                __LINE__, #a, #b, _a_, _b_);                            \
                }                                                                       \
        } while (0)

/* File helpers of the C tests; each aborts the test on a failure that is
 * the test's own (out of memory, a directory it cannot make). */
/* A new directory under $TMPDIR (or /tmp), with the umask set to 077 so
 * that every mode the test checks is the code's own, not the umask's. */
char *test_temp_dir(const char *name);
/* Remove it and all below (KINESISD_TEST_KEEP set: keep it, and say where). */
void test_temp_dir_done(const char *dir);
char *test_path_join(const char *a, const char *b);          /* malloc'd "a/b" */
char *test_new_dir(const char *base, const char *name);      /* mkdir base/name 0755 */
int test_open_dir(const char *dir);                          /* O_DIRECTORY fd */
char *test_read_text(const char *dir, const char *name);     /* NULL if it cannot be read */

/* Print "N passed, M failed" and return the exit code for main(). */
int test_summary(const char *name);
