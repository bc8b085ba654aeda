/* The prologue every fuzz target shares: the entry point's prototype (the
 * fuzzer's runtime defines no header for it) and ASSERT(), which turns a
 * broken invariant into a crash the fuzzer keeps as an artifact.
 *
 * Only what every target needs belongs here; what a target checks stays in
 * its own file. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ASSERT(cond)                                                                                        \
        do {                                                                                                \
                if (!(cond)) {                                                                              \
                        fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond);        \
                        abort();                                                                            \
                }                                                                                           \
        } while (0)

/* Two optional strings are equal: both absent, or both there and the same. */
static inline bool fuzz_opt_eq(const char *a, const char *b) {
        return (!a && !b) || (a && b && strcmp(a, b) == 0);
}
