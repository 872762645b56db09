/* storage/path_resolve.c (docker cp's path rules) and storage/path_archive.c
 * (the resumable tar of a path): names as moby cleans and bases them,
 * symlinks followed inside a root only, Go's FileMode bits, and archives
 * whose names and contents are checked by reading them back. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>

#include "storage/path_archive.h"
#include "storage/path_resolve.h"
#include "unit_helpers.h"

static void clean_is(const char *in, const char *want)
{
    char out[SAFE_PATH_MAX];
    assert_int_equal(path_abs_clean(in, out, sizeof(out)), 0);
    assert_string_equal(out, want);
}

static void test_abs_clean(void **state)
{
    (void)state;
    clean_is("/", "/");
    clean_is("a/b", "/a/b");
    clean_is("/a//b/./c/..", "/a/b");
    clean_is("../../../etc", "/etc");
    clean_is("/a/b/", "/a/b/");
    clean_is("/a/b/.", "/a/b/.");
    clean_is("/a/./", "/a/./");
    clean_is(".", "/.");
    clean_is("/.", "/.");
    clean_is("/..", "/");
    char big[NAME_MAX + 10];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    char out[SAFE_PATH_MAX];
    assert_int_equal(path_abs_clean(big, out, sizeof(out)), -ENAMETOOLONG);
}

static void test_base(void **state)
{
    (void)state;
    char out[NAME_MAX + 2];
    const char *cases[][2] = {{"/", "/"}, {"/a/b/", "b"}, {"/a/b/.", "."},
                              {"", "."},  {"///", "/"},   {"x", "x"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        path_base(cases[i][0], out);
        assert_string_equal(out, cases[i][1]);
    }
}

static void test_go_mode(void **state)
{
    (void)state;
    assert_int_equal(path_go_mode(S_IFDIR | 0755), (1u << 31) | 0755);
    assert_int_equal(path_go_mode(S_IFLNK | 0777), (1u << 27) | 0777);
    assert_int_equal(path_go_mode(S_IFCHR | 0666), (1u << 26) | (1u << 21) | 0666);
    assert_int_equal(path_go_mode(S_IFREG | S_ISUID | S_ISGID | S_ISVTX | 0700),
                     (1u << 23) | (1u << 22) | (1u << 20) | 0700);
    assert_int_equal(path_go_mode(S_IFIFO | 0600), (1u << 25) | 0600);
}

/* <base>/root: d/f, d/sub/, abs -> /d, up -> ../../../.., loop -> loop */
struct fx {
    char base[UNIT_PATH_MAX];
    int rootfd;
};

static void put(int dfd, const char *name, const char *data)
{
    int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
    close(fd);
}

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    char root[UNIT_PATH_MAX];
    unit_mkdtemp(f->base);
    unit_path(root, f->base, "root");
    assert_int_equal(mkdir(root, 0755), 0);
    f->rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    assert_int_equal(mkdirat(f->rootfd, "d", 0755), 0);
    assert_int_equal(mkdirat(f->rootfd, "d/sub", 0755), 0);
    int dfd = openat(f->rootfd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    put(dfd, "f", "hello\n");
    put(dfd, "sub/g", "deep\n");
    assert_int_equal(linkat(dfd, "f", dfd, "hard", 0), 0);
    close(dfd);
    assert_int_equal(symlinkat("/d", f->rootfd, "abs"), 0);
    assert_int_equal(symlinkat("../../../..", f->rootfd, "up"), 0);
    assert_int_equal(symlinkat("loop", f->rootfd, "loop"), 0);
    /* A host file a link tries to reach: never from inside the root. */
    put(AT_FDCWD, "/tmp/berth-unit-path-resolve-canary", "HOST\n");
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    close(f->rootfd);
    unit_rm_rf(f->base);
    unlink("/tmp/berth-unit-path-resolve-canary");
    free(f);
    return 0;
}

static void follow_is(struct fx *f, const char *in, const char *want)
{
    char out[SAFE_PATH_MAX];
    assert_int_equal(path_follow_in_root(f->rootfd, in, out, sizeof(out)), 0);
    assert_string_equal(out, want);
}

static void test_follow(void **state)
{
    struct fx *f = *state;
    follow_is(f, "/abs", "/d");
    follow_is(f, "/abs/sub/../f", "/d/f");
    follow_is(f, "/up", "/");
    follow_is(f, "/up/up/abs/missing/x", "/d/missing/x");
    follow_is(f, "/nope/../d", "/d");
    char out[SAFE_PATH_MAX];
    assert_int_equal(path_follow_in_root(f->rootfd, "/loop", out, sizeof(out)), -ELOOP);
}

static void test_target_and_stat(void **state)
{
    struct fx *f = *state;
    struct path_target t;
    struct path_stat st;
    assert_int_equal(path_target_open(f->rootfd, "/abs", &t), 0);
    assert_int_equal(path_target_stat(f->rootfd, &t, &st), 0);
    assert_string_equal(st.name, "abs");
    assert_int_equal(st.mode, (1u << 27) | 0777);
    assert_string_equal(st.link_target, "/d");
    path_target_close(&t);
    assert_int_equal(path_target_open(f->rootfd, "/abs/", &t), 0); /* followed */
    assert_int_equal(path_target_stat(f->rootfd, &t, &st), 0);
    assert_true(st.mode & (1u << 31));
    assert_string_equal(st.name, "abs");
    path_target_close(&t);
    /* Through "up" the host's /tmp is the root's tmp: missing. */
    assert_int_equal(path_target_open(f->rootfd, "/up/tmp/berth-unit-path-resolve-canary", &t),
                     -ENOENT);
    assert_int_equal(path_target_open(f->rootfd, "/d/f/x", &t), -ENOTDIR);
}

/* The whole archive of src, as "name=content|" items in order. */
static void archive_of(struct fx *f, const char *dir, const char *base, const char *top, char *out,
                       size_t outlen)
{
    (void)f;
    int dfd = *dir ? openat(f->rootfd, dir, O_PATH | O_DIRECTORY | O_CLOEXEC) : f->rootfd;
    struct path_archive_src src = {.dirfd = dfd, .base = base, .top = top};
    struct path_archive *pa;
    struct berr err = {0};
    struct buf tar = BUF_INIT;
    assert_int_equal(path_archive_open(&src, &pa, &err), 0);
    int r;
    while ((r = path_archive_fill(pa, &tar, tar.len + 700, NULL, &err)) > 0) /* resumes */
        ;
    assert_int_equal(r, 0);
    path_archive_free(pa);
    if (dfd != f->rootfd)
        close(dfd);
    struct archive *a = archive_read_new();
    archive_read_support_format_tar(a);
    assert_int_equal(archive_read_open_memory(a, tar.data, tar.len), ARCHIVE_OK);
    struct archive_entry *e;
    size_t n = 0;
    out[0] = '\0';
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        char data[64] = "";
        la_ssize_t got = archive_read_data(a, data, sizeof(data) - 1);
        data[got > 0 ? got : 0] = '\0';
        const char *link =
            archive_entry_hardlink(e) ? archive_entry_hardlink(e) : archive_entry_symlink(e);
        n += (size_t)snprintf(out + n, outlen - n, "%s=%s%s|", archive_entry_pathname(e),
                              link ? ">" : "", link ? link : data);
    }
    archive_read_free(a);
    buf_done(&tar);
}

static void test_archive_names(void **state)
{
    struct fx *f = *state;
    char got[2048];
    archive_of(f, "", "d", "d", got, sizeof(got));
    assert_string_equal(got, "d/=|d/f=hello\n|d/hard=>d/f|d/sub/=|d/sub/g=deep\n|");
    archive_of(f, "d", "", ".", got, sizeof(got));
    assert_string_equal(got, "./=|./f=hello\n|./hard=>./f|./sub/=|./sub/g=deep\n|");
    archive_of(f, "", "abs", "abs", got, sizeof(got)); /* the link itself */
    assert_string_equal(got, "abs=>/d|");
    archive_of(f, "d", "", "other", got, sizeof(got)); /* rebased */
    assert_string_equal(got, "other/=|other/f=hello\n|other/hard=>other/f|other/sub/=|"
                             "other/sub/g=deep\n|");
    archive_of(f, "d", "", NULL, got, sizeof(got)); /* bare, as an export */
    assert_string_equal(got, "f=hello\n|hard=>f|sub/=|sub/g=deep\n|");
    archive_of(f, "d/sub", "", "/", got, sizeof(got));
    assert_string_equal(got, "/=|/g=deep\n|");
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_abs_clean), cmocka_unit_test(test_base),
        cmocka_unit_test(test_go_mode),   T(test_follow),
        T(test_target_and_stat),          T(test_archive_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
