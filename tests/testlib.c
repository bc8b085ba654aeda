#include "testlib.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

unsigned test_failures = 0;
unsigned test_checks = 0;

int test_summary(const char *name) {
        fprintf(stderr, "%s: %u checks, %u failed\n", name, test_checks, test_failures);
        return test_failures ? 1 : 0;
}

char *test_path_join(const char *a, const char *b) {
        char *p;

        if (asprintf(&p, "%s/%s", a, b) < 0)
                abort();
        return p;
}

char *test_new_dir(const char *base, const char *name) {
        char *p = test_path_join(base, name);

        if (mkdir(p, 0755) < 0) {
                perror(p);
                abort();
        }
        return p;
}

int test_open_dir(const char *dir) {
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0) {
                perror(dir);
                abort();
        }
        return fd;
}

char *test_read_text(const char *dir, const char *name) {
        char *p = test_path_join(dir, name);
        FILE *f = fopen(p, "re");
        char *buf = NULL;
        size_t len = 0;
        FILE *m;

        free(p);
        if (!f)
                return NULL;
        m = open_memstream(&buf, &len);
        if (!m)
                abort();
        for (int c; (c = fgetc(f)) != EOF;)
                fputc(c, m);
        fclose(m);
        fclose(f);
        return buf;
}

char *test_temp_dir(const char *name) {
        static char tmpl[4096];
        const char *tmp = getenv("TMPDIR");
        char *d;

        umask(077);
        snprintf(tmpl, sizeof tmpl, "%s/%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
        d = mkdtemp(tmpl);
        if (!d) {
                perror("mkdtemp");
                abort();
        }
        return d;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        if (remove(path) < 0)
                fprintf(stderr, "could not remove %s: %m\n", path);
        return 0;
}

void test_temp_dir_done(const char *dir) {
        if (getenv("KINESISD_TEST_KEEP")) {
                fprintf(stderr, "kept %s\n", dir);
                return;
        }
        /* Depth first, never following a symbolic link out of the tree. */
        (void) nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}
