/* storage/layer_archive.c, layer_walk.c, layer_changes.c: a hand-made
 * overlay upper dir (0/0 whiteout devices made with mknod, opaque xattrs,
 * hardlinks, capabilities) written as a layer tar and read back with
 * libarchive; the `docker diff` changes of overlay and vfs layers; the
 * runtime's mount stubs left out. Needs root (mknod, chown, trusted.*). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <time.h>

#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>

#include "storage/layer_archive.h"
#include "storage/layer_extract.h"
#include "unit_helpers.h"

struct fx {
    char base[UNIT_PATH_MAX];
    char top[UNIT_PATH_MAX];
    char low[UNIT_PATH_MAX];
    char out[UNIT_PATH_MAX];
    struct layer_tar_result res;
    struct berr err;
};

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    unit_mkdtemp(f->base);
    unit_path(f->top, f->base, "upper");
    unit_path(f->low, f->base, "lower");
    unit_path(f->out, f->base, "layer.tar");
    assert_int_equal(mkdir(f->top, 0755), 0);
    assert_int_equal(mkdir(f->low, 0755), 0);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    unit_rm_rf(f->base);
    free(f);
    return 0;
}

/* ---- building trees ---- */

static void mk(const char *root, const char *rel, char out[UNIT_PATH_MAX])
{
    unit_path(out, root, rel);
}

static void mkdir_at(const char *root, const char *rel, mode_t mode)
{
    char p[UNIT_PATH_MAX];
    mk(root, rel, p);
    assert_int_equal(mkdir(p, mode), 0);
    assert_int_equal(chmod(p, mode), 0);
}

static void file_at(const char *root, const char *rel, const char *text)
{
    char p[UNIT_PATH_MAX];
    mk(root, rel, p);
    unit_write_file(p, text);
}

static void whiteout_at(const char *root, const char *rel)
{
    char p[UNIT_PATH_MAX];
    mk(root, rel, p);
    assert_int_equal(mknod(p, S_IFCHR | 0, makedev(0, 0)), 0);
}

static void xattr_at(const char *root, const char *rel, const char *name, const void *v, size_t n)
{
    char p[UNIT_PATH_MAX];
    mk(root, rel, p);
    assert_int_equal(lsetxattr(p, name, v, n, 0), 0);
}

static void times_at(const char *root, const char *rel, time_t sec)
{
    char p[UNIT_PATH_MAX];
    mk(root, rel, p);
    struct timespec ts[2] = {{sec, 500}, {sec, 500}};
    assert_int_equal(utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW), 0);
}

static struct layer_src src_of(struct fx *f, bool full, bool container)
{
    static char *lowers[1];
    lowers[0] = f->low;
    return (struct layer_src){
        .top = f->top, .lowers = lowers, .nlowers = 1, .full_tree = full, .container = container};
}

static int write_tar(struct fx *f, const struct layer_src *src, bool gzip)
{
    struct layer_tar_opts o = {.gzip = gzip};
    unlink(f->out);
    berr_clear(&f->err);
    return layer_tar_write_sync(src, f->out, &o, &f->res, &f->err);
}

/* ---- reading the tar back ---- */

struct member {
    char name[256];
    mode_t type, perm;
    int64_t uid, gid, size;
    time_t mtime;
    char link[256];   /* symlink target or hardlink */
    char data[64];    /* first bytes */
    char xattrs[256]; /* "name=value;" for each (values printable) */
};

static size_t read_members(const char *path, struct member *out, size_t max)
{
    struct archive *a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    assert_int_equal(archive_read_open_filename(a, path, 10240), ARCHIVE_OK);
    struct archive_entry *e;
    size_t n = 0;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        assert_true(n < max);
        struct member *m = &out[n++];
        memset(m, 0, sizeof(*m));
        snprintf(m->name, sizeof(m->name), "%s", archive_entry_pathname(e));
        m->type = archive_entry_filetype(e);
        m->perm = archive_entry_perm(e);
        m->uid = archive_entry_uid(e);
        m->gid = archive_entry_gid(e);
        m->size = archive_entry_size(e);
        m->mtime = archive_entry_mtime(e);
        const char *l =
            archive_entry_hardlink(e) ? archive_entry_hardlink(e) : archive_entry_symlink(e);
        snprintf(m->link, sizeof(m->link), "%s", l ? l : "");
        archive_read_data(a, m->data, sizeof(m->data) - 1);
        const char *xn;
        const void *xv;
        size_t xs;
        archive_entry_xattr_reset(e);
        while (archive_entry_xattr_next(e, &xn, &xv, &xs) == ARCHIVE_OK) {
            size_t used = strlen(m->xattrs);
            snprintf(m->xattrs + used, sizeof(m->xattrs) - used, "%s=%zu;", xn, xs);
        }
    }
    archive_read_free(a);
    return n;
}

static const struct member *find(const struct member *m, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(m[i].name, name) == 0)
            return &m[i];
    return NULL;
}

/* A function of its own: inlined, gcc 12's -Wstringop-overread (ASan
 * build) sees find()'s NULL reaching strstr, cmocka's fail not being
 * noreturn. */
static bool has_xattr(const struct member *m, const char *entry)
{
    return m && strstr(m->xattrs, entry) != NULL;
}

static void sha256_of_file(const char *path, char out[DIGEST_STR_MAX])
{
    struct berr err = {0};
    uint64_t size;
    assert_int_equal(sha256_file(path, out, &size, &err), 0);
}

/* ---- the upper dir of the tests ----
 *   a/            dir 0750 1000:1000, mtime 1700000000
 *   a/f           "hello\n" 0640, hardlinked as a/link
 *   a/gone        whiteout (0/0 char device)
 *   cap           file with security.capability v3 and user.note=x
 *   op/           trusted.overlay.opaque=y, holding op/new
 *   p             fifo
 *   s -> /etc/passwd
 *   sock          unix socket (left out)
 *   uop/          user.overlay.opaque=y */
static void make_upper(struct fx *f)
{
    mkdir_at(f->top, "a", 0750);
    file_at(f->top, "a/f", "hello\n");
    char p[UNIT_PATH_MAX], q[UNIT_PATH_MAX];
    mk(f->top, "a/f", p);
    assert_int_equal(chmod(p, 0640), 0);
    mk(f->top, "a/link", q);
    assert_int_equal(link(p, q), 0);
    whiteout_at(f->top, "a/gone");
    mk(f->top, "a", p);
    assert_int_equal(chown(p, 1000, 1000), 0);
    file_at(f->top, "cap", "#!/bin/true\n");
    unsigned char caps[24] = {0, 0, 0, 3, 0x00, 0x20, 0, 0}; /* v3, cap_net_bind_service */
    xattr_at(f->top, "cap", "security.capability", caps, sizeof(caps));
    xattr_at(f->top, "cap", "user.note", "x", 1);
    mkdir_at(f->top, "op", 0755);
    xattr_at(f->top, "op", "trusted.overlay.opaque", "y", 1);
    file_at(f->top, "op/new", "new\n");
    mk(f->top, "p", p);
    assert_int_equal(mkfifo(p, 0600), 0);
    mk(f->top, "s", p);
    assert_int_equal(symlink("/etc/passwd", p), 0);
    mkdir_at(f->top, "uop", 0700);
    xattr_at(f->top, "uop", "user.overlay.opaque", "y", 1);
    int sfd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    mk(f->top, "sock", p);
    assert_true(strlen(p) < sizeof(sa.sun_path));
    memcpy(sa.sun_path, p, strlen(p) + 1);
    assert_int_equal(bind(sfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(sfd);
    times_at(f->top, "a/f", 1700000000);
    times_at(f->top, "a", 1700000000);
}

static void test_overlay_tar(void **state)
{
    struct fx *f = *state;
    make_upper(f);
    struct layer_src src = src_of(f, false, false);
    assert_int_equal(write_tar(f, &src, false), 0);
    struct member m[32];
    size_t n = read_members(f->out, m, 32);
    /* sorted, each directory before what it holds, the opaque marks right
     * after their directory, whiteouts where the deleted name sorts */
    static const char *const want[] = {
        "a/", "a/f", "a/.wh.gone", "a/link",          "cap", "op/", "op/.wh..wh..opq", "op/new",
        "p",  "s",   "uop/",       "uop/.wh..wh..opq"};
    assert_int_equal(n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < n; i++)
        assert_string_equal(m[i].name, want[i]);
    assert_int_equal(f->res.entries, n);

    const struct member *a = find(m, n, "a/"), *fl = find(m, n, "a/f");
    assert_int_equal(a->type, AE_IFDIR);
    assert_int_equal(a->perm, 0750);
    assert_int_equal(a->uid, 1000);
    assert_int_equal(a->gid, 1000);
    assert_int_equal(a->mtime, 1700000000);
    assert_int_equal(fl->perm, 0640);
    assert_int_equal(fl->size, 6);
    assert_string_equal(fl->data, "hello\n");
    assert_int_equal(fl->mtime, 1700000000);

    const struct member *wh = find(m, n, "a/.wh.gone");
    assert_int_equal(wh->type, AE_IFREG);
    assert_int_equal(wh->perm, 0600);
    assert_int_equal(wh->size, 0);

    const struct member *hl = find(m, n, "a/link");
    assert_string_equal(hl->link, "a/f");
    assert_int_equal(hl->size, 0);

    const struct member *opq = find(m, n, "op/.wh..wh..opq");
    assert_int_equal(opq->type, AE_IFREG);
    assert_int_equal(opq->perm, 0755);
    assert_int_equal(opq->size, 0);
    assert_int_equal(find(m, n, "uop/.wh..wh..opq")->perm, 0700);
    /* overlay's own attributes never reach the tar */
    assert_string_equal(find(m, n, "op/")->xattrs, "");
    assert_string_equal(find(m, n, "uop/")->xattrs, "");

    /* the v3 capability is written as v2 (20 bytes), user.* kept */
    assert_true(has_xattr(find(m, n, "cap"), "security.capability=20;"));
    assert_true(has_xattr(find(m, n, "cap"), "user.note=1;"));
    assert_int_equal(find(m, n, "p")->type, AE_IFIFO);
    assert_string_equal(find(m, n, "s")->link, "/etc/passwd");
    assert_null(find(m, n, "sock"));

    /* plain tar: the file's digest is the diff ID */
    char d[DIGEST_STR_MAX];
    sha256_of_file(f->out, d);
    assert_string_equal(d, f->res.diff_id);
    assert_string_equal(f->res.digest, f->res.diff_id);
}

/* Extracting the tar back in overlay mode gives the same overlay form. */
static void test_overlay_round_trip(void **state)
{
    struct fx *f = *state;
    make_upper(f);
    struct layer_src src = src_of(f, false, false);
    assert_int_equal(write_tar(f, &src, true), 0);
    char dst[UNIT_PATH_MAX], p[UNIT_PATH_MAX], v[4];
    unit_path(dst, f->base, "extracted");
    assert_int_equal(mkdir(dst, 0755), 0);
    struct extract_opts eo = {.whiteouts = WHITEOUT_OVERLAY, .compression = -1};
    struct extract_result er;
    assert_int_equal(layer_extract(f->out, dst, &eo, &er, &f->err), 0);
    assert_string_equal(er.diff_id, f->res.diff_id);
    struct stat st;
    mk(dst, "a/gone", p);
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
    mk(dst, "op", p);
    assert_int_equal(getxattr(p, "trusted.overlay.opaque", v, sizeof(v)), 1);
    mk(dst, "uop", p);
    assert_int_equal(getxattr(p, "trusted.overlay.opaque", v, sizeof(v)), 1);
    struct stat s1, s2;
    mk(dst, "a/f", p);
    assert_int_equal(lstat(p, &s1), 0);
    mk(dst, "a/link", p);
    assert_int_equal(lstat(p, &s2), 0);
    assert_int_equal(s1.st_ino, s2.st_ino);
    /* and archived again (as save does for a layer without a blob), the
     * extracted directory gives the very same tar */
    char first[DIGEST_STR_MAX];
    snprintf(first, sizeof(first), "%s", f->res.diff_id);
    struct layer_src again = {.top = dst};
    assert_int_equal(write_tar(f, &again, false), 0);
    assert_string_equal(f->res.diff_id, first);
}

static void test_gzip_deterministic(void **state)
{
    struct fx *f = *state;
    make_upper(f);
    struct layer_src src = src_of(f, false, false);
    assert_int_equal(write_tar(f, &src, true), 0);
    struct layer_tar_result first = f->res;
    char d[DIGEST_STR_MAX];
    sha256_of_file(f->out, d);
    assert_string_equal(d, first.digest);
    assert_string_not_equal(first.digest, first.diff_id);
    assert_int_equal(write_tar(f, &src, true), 0);
    assert_string_equal(f->res.digest, first.digest);
    /* same diff ID as the plain tar */
    assert_int_equal(write_tar(f, &src, false), 0);
    assert_string_equal(f->res.diff_id, first.diff_id);
}

static void test_empty_layer(void **state)
{
    struct fx *f = *state;
    struct layer_src src = src_of(f, false, false);
    assert_int_equal(write_tar(f, &src, true), 0);
    assert_int_equal(f->res.entries, 0);
    assert_int_equal(f->res.tar_size, 1024);
    assert_string_equal(f->res.diff_id, LAYER_EMPTY_DIFF_ID);
}

/* A container's root: the runtime's mount stubs stay out. */
static void test_container_stubs(void **state)
{
    struct fx *f = *state;
    mkdir_at(f->top, "proc", 0755);
    mkdir_at(f->top, "dev", 0755);
    mkdir_at(f->top, "sys", 0755);
    mkdir_at(f->top, "etc", 0755);
    file_at(f->top, "etc/hosts", "");
    file_at(f->top, "etc/hostname", "");
    file_at(f->top, "etc/resolv.conf", "");
    struct layer_src src = src_of(f, false, true);
    assert_int_equal(write_tar(f, &src, false), 0);
    assert_int_equal(f->res.entries, 0);
    struct layer_changes ch;
    assert_int_equal(layer_changes_sync(&src, NULL, &ch, &f->err), 0);
    assert_int_equal(ch.n, 0);
    layer_changes_done(&ch);

    file_at(f->top, "etc/motd", "hi\n");
    assert_int_equal(write_tar(f, &src, false), 0);
    struct member m[8];
    size_t n = read_members(f->out, m, 8);
    assert_int_equal(n, 2);
    assert_string_equal(m[0].name, "etc/");
    assert_string_equal(m[1].name, "etc/motd");
    /* without the flag (a stored layer), everything is kept */
    src.container = false;
    assert_int_equal(write_tar(f, &src, false), 0);
    assert_int_equal(f->res.entries, 8);
}

static char *changes_text(struct fx *f, const struct layer_src *src)
{
    struct layer_changes ch;
    assert_int_equal(layer_changes_sync(src, NULL, &ch, &f->err), 0);
    static char text[1024];
    text[0] = '\0';
    for (size_t i = 0; i < ch.n; i++) {
        size_t used = strlen(text);
        snprintf(text + used, sizeof(text) - used, "%c %s\n", "CAD"[ch.v[i].kind], ch.v[i].path);
    }
    layer_changes_done(&ch);
    return text;
}

/* lower: bin/ls, bin/sh, data/old/x, etc/passwd, keep/k, wo/hidden (with
 * wo a whiteout in a second, higher lower layer). */
static void make_lower(struct fx *f)
{
    mkdir_at(f->low, "bin", 0755);
    file_at(f->low, "bin/ls", "ls");
    file_at(f->low, "bin/sh", "sh");
    mkdir_at(f->low, "data", 0755);
    mkdir_at(f->low, "data/old", 0755);
    file_at(f->low, "data/old/x", "x");
    mkdir_at(f->low, "etc", 0755);
    file_at(f->low, "etc/passwd", "root\n");
    mkdir_at(f->low, "keep", 0755);
    file_at(f->low, "keep/k", "k");
}

static void test_overlay_changes(void **state)
{
    struct fx *f = *state;
    make_lower(f);
    /* what a container did: rm /bin/ls, edit /etc/passwd (its dir copied
     * up with the same times), mkdir -p /x/y && touch /x/y/z, replace
     * /data (opaque) with data/new, and a new file in keep/ */
    mkdir_at(f->top, "bin", 0755);
    whiteout_at(f->top, "bin/ls");
    mkdir_at(f->top, "etc", 0755);
    file_at(f->top, "etc/passwd", "root\nx\n");
    file_at(f->top, "etc/hostname", ""); /* mount stub */
    char p[UNIT_PATH_MAX], q[UNIT_PATH_MAX];
    mk(f->low, "etc", q);
    mk(f->top, "etc", p);
    struct stat st;
    assert_int_equal(stat(q, &st), 0);
    assert_int_equal(utimensat(AT_FDCWD, p, (struct timespec[]){st.st_atim, st.st_mtim}, 0), 0);
    mkdir_at(f->top, "x", 0755);
    mkdir_at(f->top, "x/y", 0755);
    file_at(f->top, "x/y/z", "");
    mkdir_at(f->top, "data", 0755);
    xattr_at(f->top, "data", "trusted.overlay.opaque", "y", 1);
    file_at(f->top, "data/new", "");
    mkdir_at(f->top, "keep", 0700);
    file_at(f->top, "keep/k2", "");
    struct layer_src src = src_of(f, false, true);
    assert_string_equal(changes_text(f, &src), "C /bin\n"
                                               "D /bin/ls\n"
                                               "D /data\n"
                                               "A /data/new\n"
                                               "C /etc/passwd\n"
                                               "C /keep\n"
                                               "A /keep/k2\n"
                                               "A /x\n"
                                               "A /x/y\n"
                                               "A /x/y/z\n");
}

/* A whiteout in a higher image layer: the path is not in the image. */
static void test_overlay_lower_whiteout(void **state)
{
    struct fx *f = *state;
    char mid[UNIT_PATH_MAX];
    unit_path(mid, f->base, "mid");
    assert_int_equal(mkdir(mid, 0755), 0);
    file_at(f->low, "gone", "old");
    whiteout_at(mid, "gone");
    mkdir_at(f->low, "opq", 0755);
    file_at(f->low, "opq/hidden", "h");
    mkdir_at(mid, "opq", 0755);
    xattr_at(mid, "opq", "trusted.overlay.opaque", "y", 1);
    file_at(f->low, "kept", "k");
    file_at(f->top, "gone", "again");
    file_at(f->top, "kept", "k2");
    mkdir_at(f->top, "opq", 0755);
    file_at(f->top, "opq/hidden", "again");
    char *lowers[] = {mid, f->low};
    struct layer_src src = {.top = f->top, .lowers = lowers, .nlowers = 2};
    const char *text = changes_text(f, &src);
    assert_non_null(strstr(text, "A /gone\n"));
    assert_non_null(strstr(text, "C /kept\n"));
    assert_non_null(strstr(text, "A /opq/hidden\n"));
}

static void test_vfs_changes_and_tar(void **state)
{
    struct fx *f = *state;
    make_lower(f);
    /* the container's root: a copy, then changed */
    mkdir_at(f->top, "bin", 0755);
    file_at(f->top, "bin/sh", "sh");
    mkdir_at(f->top, "data", 0755); /* data/old gone */
    mkdir_at(f->top, "etc", 0755);
    file_at(f->top, "etc/passwd", "root\nx\n");
    file_at(f->top, "etc/hosts", ""); /* mount stub */
    mkdir_at(f->top, "keep", 0755);
    file_at(f->top, "keep/k", "k");
    mkdir_at(f->top, "new", 0755);
    file_at(f->top, "new/n", "n");
    static const char *const same[] = {"bin/sh", "keep/k"};
    for (size_t i = 0; i < 2; i++) {
        char a[UNIT_PATH_MAX], b[UNIT_PATH_MAX];
        mk(f->low, same[i], a);
        mk(f->top, same[i], b);
        struct stat st;
        assert_int_equal(stat(a, &st), 0);
        assert_int_equal(utimensat(AT_FDCWD, b, (struct timespec[]){st.st_atim, st.st_mtim}, 0), 0);
    }
    struct layer_src src = src_of(f, true, true);
    assert_string_equal(changes_text(f, &src), "C /bin\n"
                                               "D /bin/ls\n"
                                               "C /data\n"
                                               "D /data/old\n"
                                               "C /etc\n"
                                               "C /etc/passwd\n"
                                               "A /new\n"
                                               "A /new/n\n");
    assert_int_equal(write_tar(f, &src, false), 0);
    struct member m[16];
    size_t n = read_members(f->out, m, 16);
    static const char *const want[] = {"bin/", "bin/.wh.ls", "data/", "data/.wh.old",
                                       "etc/", "etc/passwd", "new/",  "new/n"};
    assert_int_equal(n, 8);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(m[i].name, want[i]);
}

static void test_missing_top(void **state)
{
    struct fx *f = *state;
    struct layer_src src = src_of(f, false, false);
    char gone[UNIT_PATH_MAX];
    unit_path(gone, f->base, "nope");
    src.top = gone;
    assert_int_equal(write_tar(f, &src, true) < 0, 1);
    assert_int_equal(f->err.status, 500);
    assert_int_equal(access(f->out, F_OK), -1); /* nothing left behind */
}

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "needs root (mknod, chown, trusted.* xattrs)\n");
        return 77;
    }
#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_overlay_tar),
        T(test_overlay_round_trip),
        T(test_gzip_deterministic),
        T(test_empty_layer),
        T(test_container_stubs),
        T(test_overlay_changes),
        T(test_overlay_lower_whiteout),
        T(test_vfs_changes_and_tar),
        T(test_missing_top),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
