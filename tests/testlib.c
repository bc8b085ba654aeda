#include "testlib.h"

unsigned test_failures = 0;
unsigned test_checks = 0;

int test_summary(const char *name) {
        fprintf(stderr, "%s: %u checks, %u failed\n", name, test_checks, test_failures);
        return test_failures ? 1 : 0;
}
