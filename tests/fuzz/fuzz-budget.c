/* Fuzz target for budget_parse(), the reader of budgets.json.
 *
 * The input is the file's bytes. Besides not crashing or leaking: a refusal
 * gives a reason and leaves the output alone; an accepted file formats into
 * text that parses again to the same text (so a save then load loses
 * nothing), stays so after budget_expire(), and never reports more calls than
 * the limit or a next free time more than 24 h ahead for the stream "s" in
 * region "r" (the seeds use those names). */

#include <errno.h>

#include "fuzz-common.h"
#include "budget.h"
#include "util.h"

#define NOW UINT64_C(1700000000000000)

/* Format b, parse that, format again: the same text. */
static void check_round_trip(const struct budget_book *b) {
        _cleanup_free_ char *text = NULL, *again = NULL;
        struct budget_book *c = NULL;
        const char *reason = NULL;
        size_t len, len2;
        int r;

        r = budget_format(b, &text, &len);
        ASSERT(r == 0 || r == -ENOMEM || r == -EFBIG);
        if (r < 0)
                return;
        ASSERT(strlen(text) == len);
        r = budget_parse(text, len, &c, &reason);
        ASSERT(r == 0 || r == -ENOMEM);
        if (r < 0)
                return;
        ASSERT(budget_book_size(c) == budget_book_size(b));
        ASSERT(budget_format(c, &again, &len2) == 0);
        ASSERT(len2 == len && memcmp(again, text, len) == 0);
        budget_book_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct budget_book *b = (struct budget_book *)&size;
        const char *reason = NULL;
        int r;

        if (size > 256 * 1024)
                return 0;
        r = budget_parse((const char *)data, size, &b, &reason);
        ASSERT(r == 0 || r == -EBADMSG || r == -ENOMEM);
        if (r < 0) {
                ASSERT(b == (struct budget_book *)&size);
                ASSERT(r == -ENOMEM || (reason && *reason));
                return 0;
        }
        ASSERT(b && !reason);

        check_round_trip(b);
        for (enum budget_kind k = 0; k < _BUDGET_KIND_MAX; k++) {
                uint64_t t = budget_next_free(b, "r", "s", k, NOW);

                ASSERT(budget_used(b, "r", "s", k, NOW) <= budget_limit(k));
                ASSERT(t == 0 || (t > NOW && t <= NOW + BUDGET_WINDOW_USEC));
        }
        budget_expire(b, NOW);
        check_round_trip(b);
        for (enum budget_kind k = 0; k < _BUDGET_KIND_MAX; k++)
                ASSERT(budget_used(b, "r", "s", k, NOW + BUDGET_WINDOW_USEC) == 0);
        budget_book_free(b);
        return 0;
}
