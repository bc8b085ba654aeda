/* Unit tests of the shared texts (daemon/reconcile-text.c): one copy per
 * distinct text, counted, freed with its last holder; without a pool, a
 * copy each. Leaks show under the sanitizer build. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile-text.h"
#include "testlib.h"

static void test_shared(void) {
        struct text_pool *p = text_pool_new();
        char buf[32];
        const char *a, *b, *c;

        CHECK(p != NULL);
        CHECK(text_pool_get(p, NULL) == NULL);
        snprintf(buf, sizeof buf, "does not exist");
        a = text_pool_get(p, buf);
        b = text_pool_get(p, "does not exist");
        CHECK(a != NULL && a == b && a != buf);
        c = text_pool_get(p, "another reason");
        CHECK(c != NULL && c != a);
        CHECK_STREQ(a, "does not exist");
        text_pool_put(p, a);
        /* Still held by b. */
        CHECK_STREQ(b, "does not exist");
        text_pool_put(p, b);
        /* Gone with its last holder: a new get is a new copy of the same text. */
        a = text_pool_get(p, "does not exist");
        CHECK_STREQ(a, "does not exist");
        text_pool_put(p, a);
        text_pool_put(p, c);
        text_pool_put(p, NULL);
        text_pool_free(p);
}

/* Past the first buckets: every text found again, each its own. */
static void test_many(void) {
        struct text_pool *p = text_pool_new();
        const char *t[1000];
        char buf[32];

        for (int i = 0; i < 1000; i++) {
                snprintf(buf, sizeof buf, "text %d", i);
                t[i] = text_pool_get(p, buf);
                CHECK(t[i] != NULL);
        }
        for (int i = 0; i < 1000; i++) {
                snprintf(buf, sizeof buf, "text %d", i);
                const char *again = text_pool_get(p, buf);
                CHECK(again == t[i]);
                text_pool_put(p, again);
                text_pool_put(p, t[i]);
        }
        text_pool_free(p);
}

static void test_no_pool(void) {
        const char *a = text_pool_get(NULL, "x"), *b = text_pool_get(NULL, "x");

        CHECK(a != NULL && b != NULL && a != b);
        CHECK_STREQ(a, "x");
        text_pool_put(NULL, a);
        text_pool_put(NULL, b);
}

int main(void) {
        test_shared();
        test_many();
        test_no_pool();
        return test_summary("text-pool");
}
