/* Small helpers shared by the cmocka unit tests: temporary directories and
 * files. Include after <cmocka.h>. */
#ifndef BERTH_TESTS_UNIT_HELPERS_H
#define BERTH_TESTS_UNIT_HELPERS_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define UNIT_PATH_MAX 512

/* A fresh directory under $TMPDIR (or /tmp); the path goes into out. */
static inline void unit_mkdtemp(char out[UNIT_PATH_MAX])
{
    const char *base = getenv("TMPDIR");
    snprintf(out, UNIT_PATH_MAX, "%s/berth-unit-XXXXXX", base && *base ? base : "/tmp");
    assert_non_null(mkdtemp(out));
}

static inline int unit_rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* rm -rf of a directory made by unit_mkdtemp. */
static inline void unit_rm_rf(const char *dir)
{
    assert_int_equal(nftw(dir, unit_rm_cb, 16, FTW_DEPTH | FTW_PHYS), 0);
}

/* Joins dir and name into out. */
static inline void unit_path(char out[UNIT_PATH_MAX], const char *dir, const char *name)
{
    int n = snprintf(out, UNIT_PATH_MAX, "%s/%s", dir, name);
    assert_true(n > 0 && n < UNIT_PATH_MAX);
}

/* Writes text to path (created or truncated). */
static inline void unit_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "we");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* The whole file as a NUL-terminated heap string (its length in *ret_len),
 * or NULL with *ret_len 0 when it cannot be opened. */
static inline char *unit_read_file(const char *path, size_t *ret_len)
{
    *ret_len = 0;
    FILE *f = fopen(path, "re");
    if (!f)
        return NULL;
    char *data = NULL;
    size_t cap = 0, n;
    do {
        if (*ret_len + 65536 + 1 > cap) {
            cap = (*ret_len + 65536 + 1) * 2;
            data = realloc(data, cap);
            assert_non_null(data);
        }
        n = fread(data + *ret_len, 1, 65536, f);
        *ret_len += n;
    } while (n > 0);
    fclose(f);
    data[*ret_len] = '\0';
    return data;
}

/* Writes text to dir/name (a fake kernel file, say). */
static inline void unit_put(const char *dir, const char *name, const char *text)
{
    char p[UNIT_PATH_MAX];
    unit_path(p, dir, name);
    unit_write_file(p, text);
}

/* Contents of dir/name (up to 4 KiB, in a static buffer), or "<absent>". */
static inline const char *unit_get(const char *dir, const char *name)
{
    static char buf[4096];
    char p[UNIT_PATH_MAX];
    unit_path(p, dir, name);
    FILE *f = fopen(p, "re");
    if (!f)
        return "<absent>";
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

#endif
