/* Fuzz target for config_load().
 *
 * The input is written as kinesisd.yaml into a fresh private directory, so
 * that relative include: globs only ever see that directory (where the file
 * matches at most itself), and loaded like a real configuration.
 *
 * Besides not crashing or leaking, the result must keep the loader's promises:
 * success gives a configuration and no error; failure gives no configuration
 * and at least one "FILE:LINE:COLUMN: message" (unless memory ran out); the
 * error list respects its cap; a loaded configuration is sorted and every
 * value is in its range. */

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "fuzz-common.h"
#include "config.h"
#include "util.h"

/* "FILE:LINE:COLUMN: text" with both numbers at least 1. FILE is the input's
 * path, or that of a file an absolute include: glob found. */
static bool message_is_located(const char *m) {
        for (const char *p = strchr(m, ':'); p; p = strchr(p + 1, ':')) {
                const char *q = p + 1;
                char *end;
                unsigned long line, column;

                if (*q < '1' || *q > '9')
                        continue;
                line = strtoul(q, &end, 10);
                if (*end != ':' || end[1] < '1' || end[1] > '9')
                        continue;
                column = strtoul(end + 1, &end, 10);
                if (line >= 1 && column >= 1 && strncmp(end, ": ", 2) == 0 && end[2] != '\0')
                        return true;
        }
        return false;
}

static int cmp_region(const char *a, const char *b) {
        if (!a || !b)
                return (a != NULL) - (b != NULL);
        return strcmp(a, b);
}

static void check_config(const struct config *c) {
        ASSERT(c->n_files >= 1);
        ASSERT(c->interval_usec > 0 && c->poll_usec > 0 && c->timeout_usec > 0);
        for (size_t i = 0; i < c->n_streams; i++) {
                const struct stream_decl *s = &c->streams[i];

                ASSERT(s->name && strlen(s->name) >= 1 && strlen(s->name) <= 128);
                ASSERT(s->file < c->n_files && c->files[s->file] && s->line >= 1 && s->column >= 1);
                ASSERT(s->retention_hours >= 24 && s->retention_hours <= 8760);
                ASSERT(s->shards <= 10000);
                ASSERT(s->mode != STREAM_MODE_ON_DEMAND || s->shards == 0);
                ASSERT(s->mode != STREAM_MODE_PROVISIONED || s->manage == MANAGE_OBSERVE ||
                       s->shards >= 1);
                ASSERT(s->max_record_size_kib == 0 ||
                       (s->max_record_size_kib >= 1024 && s->max_record_size_kib <= 10240));
                ASSERT((s->metrics & ~(unsigned) METRIC_ALL) == 0);
                ASSERT(s->x->n_tags <= 50);
                ASSERT(s->tags_declared || s->x->n_tags == 0);
                for (size_t t = 1; t < s->x->n_tags; t++)
                        ASSERT(strcmp(s->x->tags[t - 1].key, s->x->tags[t].key) < 0);
                for (size_t k = 1; k < s->x->n_consumers; k++)
                        ASSERT(strcmp(s->x->consumers[k - 1], s->x->consumers[k]) < 0);
                if (i > 0) {
                        const struct stream_decl *p = &c->streams[i - 1];
                        int r = cmp_region(p->region, s->region);
                        if (r == 0)
                                r = strcmp(p->name, s->name);
                        /* One name in one region may be declared for several accounts. */
                        ASSERT(r < 0 || (r == 0 && strcmp(p->x->account, s->x->account) < 0));
                }
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char dir[] = "/tmp/fuzz-config-XXXXXX", path[sizeof(dir) + 32];
        struct config_errors errors = {}, warnings = {};
        struct config *c = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        if (!mkdtemp(dir))
                abort();
        snprintf(path, sizeof(path), "%s/kinesisd.yaml", dir);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
                abort();
        for (size_t done = 0; done < size;) {
                ssize_t k = write(fd, data + done, size - done);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        abort();
                done += (size_t) k;
        }
        close(TAKE_FD(fd));

        r = config_load(path, &c, &errors, &warnings);
        ASSERT(errors.n <= CONFIG_MAX_ERRORS && warnings.n <= CONFIG_MAX_ERRORS);
        if (r >= 0) {
                ASSERT(r == 0 && c);
                ASSERT(errors.n == 0 && errors.n_dropped == 0);
                check_config(c);
        } else {
                ASSERT(!c);
                ASSERT(r == -ENOMEM || errors.n > 0);
                ASSERT(errors.n_dropped == 0 || errors.n == CONFIG_MAX_ERRORS);
        }
        for (size_t i = 0; i < errors.n; i++)
                ASSERT(message_is_located(errors.messages[i]));
        for (size_t i = 0; i < warnings.n; i++)
                ASSERT(message_is_located(warnings.messages[i]));

        config_free(c);
        config_errors_done(&errors);
        config_errors_done(&warnings);
        (void) unlink(path);
        (void) rmdir(dir);
        return 0;
}
