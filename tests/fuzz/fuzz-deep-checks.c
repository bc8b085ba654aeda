/* Fuzz target for deep_checks_parse(), the reader of the state directory's
 * record of deep checks.
 *
 * The input is the file's bytes. Besides not crashing or leaking: a refusal
 * leaves the output alone; an accepted file has entries sorted, each stream
 * once, with a time; it formats into text that parses again to the same
 * entries, and formatting that gives the same text; every entry is found. */

#include <errno.h>

#include "fuzz-common.h"
#include "deep-checks.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct deep_checks d = { .n = 12345 }, e = {};
        _cleanup_free_ char *text = NULL, *again = NULL;
        size_t len = 0, len2 = 0;
        int r;

        r = deep_checks_parse((const char *) data, size, &d);
        ASSERT(r == 0 || r == -EBADMSG || r == -ENOMEM);
        if (r < 0) {
                ASSERT(d.n == 12345 && !d.text && !d.v);
                return 0;
        }
        for (size_t i = 0; i < d.n; i++) {
                ASSERT(d.v[i].usec > 0 && d.v[i].usec % USEC_PER_SEC == 0);
                ASSERT(deep_checks_find(&d, d.v[i].key, d.v[i].name) == d.v[i].usec);
                if (i > 0) {
                        int c = strcmp(d.v[i - 1].key, d.v[i].key);
                        ASSERT(c < 0 || (c == 0 && strcmp(d.v[i - 1].name, d.v[i].name) < 0));
                }
        }
        r = deep_checks_format(d.v, d.n, &text, &len);
        ASSERT(r == 0 || r == -ENOMEM);
        if (r == 0) {
                ASSERT(strlen(text) == len);
                r = deep_checks_parse(text, len, &e);
                ASSERT(r == 0 || r == -ENOMEM);
                if (r == 0) {
                        ASSERT(e.n == d.n);
                        for (size_t i = 0; i < e.n; i++)
                                ASSERT(strcmp(e.v[i].key, d.v[i].key) == 0 &&
                                       strcmp(e.v[i].name, d.v[i].name) == 0 && e.v[i].usec == d.v[i].usec);
                        ASSERT(deep_checks_format(e.v, e.n, &again, &len2) == 0 || !again);
                        ASSERT(!again || (len2 == len && memcmp(again, text, len) == 0));
                }
        }
        deep_checks_done(&d);
        deep_checks_done(&e);
        return 0;
}
