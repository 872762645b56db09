/* common/atomicfile.c: atomic writes, bounded reads, mkdir -p. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "common/atomicfile.h"
#include "unit_helpers.h"

struct fixture {
    char dir[UNIT_PATH_MAX];
    char file[UNIT_PATH_MAX];
    mode_t old_umask;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    unit_mkdtemp(f->dir);
    unit_path(f->file, f->dir, "meta.json");
    f->old_umask = umask(022);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    umask(f->old_umask);
    unit_rm_rf(f->dir);
    free(f);
    return 0;
}

static size_t dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    closedir(d);
    return n;
}

static void assert_content(const char *path, const char *want)
{
    char *data = NULL;
    size_t len = 0;
    struct berr err = {0};
    assert_int_equal(read_file_all(path, 1 << 20, &data, &len, &err), 0);
    assert_int_equal(len, strlen(want));
    assert_string_equal(data, want);
    free(data);
}

static mode_t file_mode(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

static void test_write_new_file(void **state)
{
    struct fixture *f = *state;
    struct berr err = {0};
    assert_int_equal(atomic_write_file(f->file, "{\"a\":1}", 7, 0640, &err), 0);
    assert_content(f->file, "{\"a\":1}");
    assert_int_equal(file_mode(f->file), 0640);
    assert_int_equal(dir_entries(f->dir), 1);
}

static void test_write_replaces(void **state)
{
    struct fixture *f = *state;
    struct berr err = {0};
    assert_int_equal(atomic_write_file(f->file, "a much longer first version", 27, 0644, &err), 0);
    assert_int_equal(atomic_write_file(f->file, "v2", 2, 0600, &err), 0);
    assert_content(f->file, "v2");
    assert_int_equal(file_mode(f->file), 0600);
    assert_int_equal(dir_entries(f->dir), 1);
}

static void test_write_empty(void **state)
{
    struct fixture *f = *state;
    struct berr err = {0};
    assert_int_equal(atomic_write_file(f->file, "", 0, 0644, &err), 0);
    assert_content(f->file, "");
    assert_int_equal(dir_entries(f->dir), 1);
}

static void test_write_binary(void **state)
{
    struct fixture *f = *state;
    struct berr err = {0};
    const char bin[] = {'a', '\0', 'b', '\n', '\xff'};
    assert_int_equal(atomic_write_file(f->file, bin, sizeof(bin), 0644, &err), 0);
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(read_file_all(f->file, 100, &data, &len, &err), 0);
    assert_int_equal(len, sizeof(bin));
    assert_memory_equal(data, bin, sizeof(bin));
    assert_int_equal(data[len], '\0');
    free(data);
}

static void test_write_missing_dir(void **state)
{
    struct fixture *f = *state;
    struct berr err = {0};
    char path[UNIT_PATH_MAX];
    unit_path(path, f->dir, "no/such/dir/file");
    assert_int_equal(atomic_write_file(path, "x", 1, 0644, &err), -ENOENT);
    assert_int_equal(err.status, 500);
    assert_non_null(strstr(err.msg, "create '"));
    assert_int_equal(dir_entries(f->dir), 0);
}

static void test_write_over_directory_fails_cleanly(void **state)
{
    struct fixture *f = *state;
    struct berr err = {0};
    assert_int_equal(mkdir_p(f->file, 0755), 0);
    assert_true(atomic_write_file(f->file, "x", 1, 0644, &err) < 0);
    assert_int_equal(err.status, 500);
    assert_non_null(strstr(err.msg, "write '"));
    /* The temporary file was removed. */
    assert_int_equal(dir_entries(f->dir), 1);
}

/* Writes n bytes of 'z' to the fixture file. */
static void write_bytes(struct fixture *f, size_t n)
{
    char *data = malloc(n + 1);
    assert_non_null(data);
    memset(data, 'z', n);
    struct berr err = {0};
    assert_int_equal(atomic_write_file(f->file, data, n, 0644, &err), 0);
    free(data);
}

static int read_max(struct fixture *f, size_t max, size_t *ret_len, struct berr *err)
{
    char *data = NULL;
    int r = read_file_all(f->file, max, &data, ret_len, err);
    if (r == 0) {
        assert_non_null(data);
        assert_int_equal(data[*ret_len], '\0');
    }
    free(data);
    return r;
}

static void test_read_within_max(void **state)
{
    struct fixture *f = *state;
    struct berr err = {0};
    size_t len = 0;
    write_bytes(f, 10000);
    assert_int_equal(read_max(f, 10000, &len, &err), 0);
    assert_int_equal(len, 10000);
    assert_int_equal(read_max(f, 1 << 20, &len, &err), 0);
    assert_int_equal(len, 10000);
}

static void test_read_larger_than_max(void **state)
{
    struct fixture *f = *state;
    struct berr err = {0};
    size_t len = 0;
    write_bytes(f, 10);
    assert_int_equal(read_max(f, 9, &len, &err), -EFBIG);
    assert_int_equal(err.status, 500);
    write_bytes(f, 100000);
    assert_int_equal(read_max(f, 5000, &len, &err), -EFBIG);
    assert_int_equal(read_max(f, 99999, &len, &err), -EFBIG);
}

/* Regression test, once a bug (common/atomicfile.c read_file_all): the buffer must grow before the
 * read that sees EOF, and growing is refused once cap > max, so a file of
 * exactly max bytes is rejected with EFBIG when max + 1 is the buffer size
 * (4096 * 2^k), e.g. a 4095-byte file with max 4095. */
static void test_read_exactly_max(void **state)
{
    struct fixture *f = *state;
    struct berr err = {0};
    size_t len = 0;
    write_bytes(f, 4096);
    assert_int_equal(read_max(f, 4096, &len, &err), 0);
    write_bytes(f, 4095);
    int r = read_max(f, 4095, &len, &err);
    if (r != 0)
        fail_msg("4095-byte file with max 4095: %s", err.msg);
    assert_int_equal(len, 4095);
}

static void test_read_without_len(void **state)
{
    struct fixture *f = *state;
    struct berr err = {0};
    char *data = NULL;
    unit_write_file(f->file, "hello\n");
    assert_int_equal(read_file_all(f->file, 100, &data, NULL, &err), 0);
    assert_string_equal(data, "hello\n");
    free(data);
}

static void test_read_missing(void **state)
{
    struct fixture *f = *state;
    struct berr err = {0};
    char *data = (char *)"untouched";
    assert_int_equal(read_file_all(f->file, 100, &data, NULL, &err), -ENOENT);
    assert_int_equal(err.status, 404);
    assert_non_null(strstr(err.msg, f->file));
    assert_string_equal(data, "untouched");
}

static void test_mkdir_p_nested(void **state)
{
    struct fixture *f = *state;
    char path[UNIT_PATH_MAX];
    unit_path(path, f->dir, "a/b/c/d");
    assert_int_equal(mkdir_p(path, 0700), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0700);
    /* Again: everything exists already. */
    assert_int_equal(mkdir_p(path, 0700), 0);
}

static void test_mkdir_p_trailing_slash(void **state)
{
    struct fixture *f = *state;
    char path[UNIT_PATH_MAX];
    unit_path(path, f->dir, "x/y/");
    assert_int_equal(mkdir_p(path, 0755), 0);
    unit_path(path, f->dir, "x/y");
    assert_int_equal(file_mode(path), 0755);
}

static void test_mkdir_p_errors(void **state)
{
    struct fixture *f = *state;
    char path[UNIT_PATH_MAX];
    assert_int_equal(mkdir_p("", 0755), -EINVAL);
    unit_write_file(f->file, "not a dir");
    unit_path(path, f->file, "sub");
    assert_int_equal(mkdir_p(path, 0755), -ENOTDIR);
}

/* Regression test, once a bug (common/atomicfile.c mkdir_p): EEXIST is ignored for the last
 * component too, so mkdir_p succeeds when the path is an existing regular
 * file (mkdir -p fails with "File exists"). */
static void test_mkdir_p_existing_file(void **state)
{
    struct fixture *f = *state;
    unit_write_file(f->file, "not a dir");
    assert_true(mkdir_p(f->file, 0755) < 0);
}

#define FILE_TEST(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        FILE_TEST(test_write_new_file),
        FILE_TEST(test_write_replaces),
        FILE_TEST(test_write_empty),
        FILE_TEST(test_write_binary),
        FILE_TEST(test_write_missing_dir),
        FILE_TEST(test_write_over_directory_fails_cleanly),
        FILE_TEST(test_read_within_max),
        FILE_TEST(test_read_larger_than_max),
        FILE_TEST(test_read_exactly_max),
        FILE_TEST(test_read_without_len),
        FILE_TEST(test_read_missing),
        FILE_TEST(test_mkdir_p_nested),
        FILE_TEST(test_mkdir_p_trailing_slash),
        FILE_TEST(test_mkdir_p_errors),
        FILE_TEST(test_mkdir_p_existing_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
