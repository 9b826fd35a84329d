/* What the unit tests share: cmocka's headers in the order it needs, temporary directories
 * removed after each test, and a clean environment for settings. */
#ifndef USHER_TESTS_UNIT_H
#define USHER_TESTS_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

/* A new empty directory under $TMPDIR (or /tmp), heap-allocated; remove it with
 * unit_tempdir_remove. */
static inline char *unit_tempdir_new(void)
{
    const char *base = getenv("TMPDIR");
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s/usher-unit-XXXXXX", base && *base ? base : "/tmp");
    char *dir = mkdtemp(buf);
    assert_non_null(dir);
    char *copy = strdup(dir);
    assert_non_null(copy);
    return copy;
}

static inline int unit_tempdir_unlink(const char *path, const struct stat *st, int flag,
                                      struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Removes dir and everything under it, and frees the string. */
static inline void unit_tempdir_remove(char *dir)
{
    if (!dir)
        return;
    nftw(dir, unit_tempdir_unlink, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

/* Writes text to dir/name and returns the path (heap-allocated). */
static inline char *unit_file_write(const char *dir, const char *name, const char *text)
{
    size_t len = strlen(dir) + strlen(name) + 2;
    char *path = malloc(len);
    assert_non_null(path);
    snprintf(path, len, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* Unsets every USHER_* variable so the caller's shell cannot change a test's outcome, except
 * the test harness's own USHER_TEST_* (USHER_TEST_PG_URL picks the database the tests use). */
static inline void unit_env_clear(void)
{
    for (;;) {
        char name[128] = "";
        for (char **e = environ; *e; e++) {
            if (strncmp(*e, "USHER_", 6) == 0 && strncmp(*e, "USHER_TEST_", 11) != 0) {
                const char *eq = strchr(*e, '=');
                size_t n = eq ? (size_t)(eq - *e) : strlen(*e);
                if (n < sizeof(name)) {
                    memcpy(name, *e, n);
                    name[n] = '\0';
                }
                break;
            }
        }
        if (!name[0])
            return;
        unsetenv(name);
    }
}

#endif
