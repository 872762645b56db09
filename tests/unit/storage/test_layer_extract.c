/* storage/layer_extract.c and friends: formats, metadata, whiteouts, the
 * diff-id, and layers that try to write outside their root. Needs root, as
 * on every test machine here (ownership, device nodes, trusted.* xattrs, a
 * tmpfs for ENOSPC). Normal layers are written with libarchive; malicious
 * ones with a raw ustar writer, so nothing sanitises them on the way. */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>

#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>

#include "common/macros.h"
#include "storage/layer_extract.h"
#include "storage/safe_path.h"
#include "unit_helpers.h"

/* ---- fixture: <base>/root is the layer root, <base>/layer.tar the input ---- */

struct fx {
    char base[UNIT_PATH_MAX];
    char root[UNIT_PATH_MAX];
    char tar[UNIT_PATH_MAX];
    char gz[UNIT_PATH_MAX];
    struct extract_result res;
    struct berr err;
};

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    unit_mkdtemp(f->base);
    unit_path(f->root, f->base, "root");
    unit_path(f->tar, f->base, "layer.tar");
    unit_path(f->gz, f->base, "layer.tar.z");
    assert_int_equal(mkdir(f->root, 0755), 0);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    unit_rm_rf(f->base);
    free(f);
    safe_path__no_openat2 = false;
    return 0;
}

/* A fresh, empty root (for running a case again with the other resolver). */
static void fx_reset_root(struct fx *f)
{
    unit_rm_rf(f->root);
    assert_int_equal(mkdir(f->root, 0755), 0);
}

/* Runs body once with openat2 and once with the userspace walk. */
#define BOTH_RESOLVERS(f, body)                                                                    \
    for (int _pass = 0; _pass < 2; _pass++) {                                                      \
        safe_path__no_openat2 = _pass == 1;                                                        \
        fx_reset_root(f);                                                                          \
        body;                                                                                      \
    }

static int fx_extract_from(struct fx *f, const char *src, enum whiteout_mode mode)
{
    struct extract_opts opts = {.whiteouts = mode, .compression = -1};
    memset(&f->res, 0, sizeof(f->res));
    berr_clear(&f->err);
    return layer_extract(src, f->root, &opts, &f->res, &f->err);
}

static int fx_extract(struct fx *f, enum whiteout_mode mode)
{
    return fx_extract_from(f, f->tar, mode);
}

static void fx_in(const struct fx *f, const char *rel, char out[UNIT_PATH_MAX])
{
    unit_path(out, f->root, rel);
}

static bool fx_exists(const struct fx *f, const char *rel)
{
    char p[UNIT_PATH_MAX];
    struct stat st;
    fx_in(f, rel, p);
    return lstat(p, &st) == 0;
}

static void fx_lstat(const struct fx *f, const char *rel, struct stat *st)
{
    char p[UNIT_PATH_MAX];
    fx_in(f, rel, p);
    assert_int_equal(lstat(p, st), 0);
}

static bool path_exists(const char *p)
{
    struct stat st;
    return lstat(p, &st) == 0;
}

/* ---- writing tars with libarchive ---- */

struct ent {
    const char *name;
    unsigned type; /* AE_IFREG, AE_IFDIR, ... */
    unsigned perm;
    const char *data; /* content, or a symlink's target */
    const char *hardlink;
    int64_t uid, gid;
    time_t mtime;
    unsigned major, minor;
    const char *xname, *xvalue;
    size_t zeros; /* content of that many zero bytes instead of data */
};

static void write_zeros(struct archive *a, size_t n)
{
    static const char zero[65536];
    while (n > 0) {
        size_t k = n < sizeof(zero) ? n : sizeof(zero);
        assert_int_equal(archive_write_data(a, zero, k), (la_ssize_t)k);
        n -= k;
    }
}

static void set_entry(struct archive_entry *e, const struct ent *s)
{
    archive_entry_set_pathname(e, s->name);
    archive_entry_set_filetype(e, s->type);
    archive_entry_set_perm(e, s->perm ? s->perm : 0644);
    archive_entry_set_uid(e, s->uid);
    archive_entry_set_gid(e, s->gid);
    archive_entry_set_mtime(e, s->mtime ? s->mtime : 1700000000, 0);
    if (s->type == AE_IFLNK)
        archive_entry_set_symlink(e, s->data);
    if (s->hardlink)
        archive_entry_set_hardlink(e, s->hardlink);
    if (s->type == AE_IFCHR || s->type == AE_IFBLK) {
        archive_entry_set_rdevmajor(e, s->major);
        archive_entry_set_rdevminor(e, s->minor);
    }
    if (s->xname)
        archive_entry_xattr_add_entry(e, s->xname, s->xvalue, strlen(s->xvalue));
    if (s->type == AE_IFREG && !s->hardlink)
        archive_entry_set_size(e, s->zeros ? (la_int64_t)s->zeros
                                           : (la_int64_t)(s->data ? strlen(s->data) : 0));
}

static void write_tar_with(const char *path, const struct ent *ents, size_t n, int filter)
{
    struct archive *a = archive_write_new();
    assert_int_equal(archive_write_set_format_pax(a), ARCHIVE_OK);
    assert_int_equal(archive_write_add_filter(a, filter), ARCHIVE_OK);
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        set_entry(e, &ents[i]);
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        if (ents[i].zeros)
            write_zeros(a, ents[i].zeros);
        else if (ents[i].type == AE_IFREG && ents[i].data && !ents[i].hardlink)
            archive_write_data(a, ents[i].data, strlen(ents[i].data));
        archive_entry_free(e);
    }
    assert_int_equal(archive_write_free(a), ARCHIVE_OK);
}

static void write_tar(const char *path, const struct ent *ents, size_t n)
{
    write_tar_with(path, ents, n, ARCHIVE_FILTER_NONE);
}

/* Compresses src into dst byte for byte (libarchive's raw format). */
static void compress_file(const char *src, const char *dst, int filter)
{
    struct archive *a = archive_write_new();
    archive_write_set_format_raw(a);
    assert_int_equal(archive_write_add_filter(a, filter), ARCHIVE_OK);
    assert_int_equal(archive_write_open_filename(a, dst), ARCHIVE_OK);
    struct stat st;
    assert_int_equal(stat(src, &st), 0);
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, "data");
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_size(e, st.st_size);
    assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
    FILE *in = fopen(src, "rb");
    char buf[65536];
    size_t k;
    while ((k = fread(buf, 1, sizeof(buf), in)) > 0)
        assert_int_equal(archive_write_data(a, buf, k), (la_ssize_t)k);
    fclose(in);
    archive_entry_free(e);
    assert_int_equal(archive_write_free(a), ARCHIVE_OK);
}

/* ---- writing raw ustar, for names no well-behaved writer would emit ---- */

static void ustar_header(FILE *out, const char *name, char type, const char *link, size_t size)
{
    unsigned char h[512] = {0};
    assert_true(strlen(name) < 100 && (!link || strlen(link) < 100));
    memcpy(h, name, strlen(name));
    snprintf((char *)h + 100, 8, "%07o", type == '5' ? 0755 : type == '2' ? 0777 : 0644);
    snprintf((char *)h + 108, 8, "%07o", 0);
    snprintf((char *)h + 116, 8, "%07o", 0);
    char octal[32]; /* wide enough for any size_t; a ustar size field holds 11 digits */
    assert_true(size < 077777777777ULL);
    snprintf(octal, sizeof(octal), "%011zo", size);
    memcpy(h + 124, octal, 12);
    snprintf((char *)h + 136, 12, "%011o", 1700000000);
    h[156] = (unsigned char)type;
    if (link)
        memcpy(h + 157, link, strlen(link));
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (size_t i = 0; i < sizeof(h); i++)
        sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
    assert_int_equal(fwrite(h, 1, sizeof(h), out), sizeof(h));
}

struct raw {
    const char *name;
    char type; /* '0' file, '1' hardlink, '2' symlink, '5' dir */
    const char *link;
    const char *data;
};

static void write_raw_tar(const char *path, const struct raw *ents, size_t n)
{
    FILE *out = fopen(path, "wb");
    assert_non_null(out);
    static const char pad[1024];
    for (size_t i = 0; i < n; i++) {
        size_t len = ents[i].data ? strlen(ents[i].data) : 0;
        ustar_header(out, ents[i].name, ents[i].type, ents[i].link, len);
        if (len) {
            assert_int_equal(fwrite(ents[i].data, 1, len, out), len);
            assert_int_equal(fwrite(pad, 1, (512 - len % 512) % 512, out), (512 - len % 512) % 512);
        }
    }
    assert_int_equal(fwrite(pad, 1, sizeof(pad), out), sizeof(pad));
    assert_int_equal(fclose(out), 0);
}

/* ---- whiteout_kind ---- */

static void test_whiteout_kind(void **state)
{
    (void)state;
    const char *t = NULL;
    assert_int_equal(whiteout_kind(".wh.foo", &t), 1);
    assert_string_equal(t, "foo");
    assert_int_equal(whiteout_kind(".wh..hidden", &t), 1);
    assert_string_equal(t, ".hidden");
    assert_int_equal(whiteout_kind(".wh..wh..opq", NULL), 2);
    assert_int_equal(whiteout_kind(".wh..wh.plnk", NULL), 0);
    assert_int_equal(whiteout_kind(".wh..wh.aufs", NULL), 0);
    assert_int_equal(whiteout_kind("foo", NULL), 0);
    assert_int_equal(whiteout_kind("x.wh.foo", NULL), 0);
    assert_int_equal(whiteout_kind(".wh.", NULL), 0);
    assert_int_equal(whiteout_kind(".wh..", NULL), 0);
    assert_int_equal(whiteout_kind(".wh...", NULL), 0);
}

/* ---- a normal layer, every member type ---- */

static const struct ent full_layer[] = {
    {"etc/", AE_IFDIR, 0750, .mtime = 1000000},
    {"etc/motd", AE_IFREG, 04755, "hello\n", .uid = 1234, .gid = 5678, .mtime = 1500000000,
     .xname = "user.berth", .xvalue = "v1"},
    {"etc/motd.hard", AE_IFREG, 04755, .hardlink = "etc/motd", .uid = 1234, .gid = 5678,
     .mtime = 1500000000},
    {"etc/caps", AE_IFREG, 0755, "bin", .xname = "trusted.berth", .xvalue = "t"},
    {"etc/forged", AE_IFREG, 0644, "x", .xname = "trusted.overlay.opaque", .xvalue = "y"},
    {"bin/", AE_IFDIR, 0755},
    {"bin/abs", AE_IFLNK, 0777, "/etc/motd", .uid = 7, .gid = 8, .xname = "trusted.link",
     .xvalue = "l"},
    {"bin/rel", AE_IFLNK, 0777, "../etc/motd"},
    {"bin/dangling", AE_IFLNK, 0777, "/nonexistent/x"},
    {"dev/null", AE_IFCHR, 0666, .major = 1, .minor = 3},
    {"dev/loop9", AE_IFBLK, 0660, .major = 7, .minor = 9},
    {"dev/fifo", AE_IFIFO, 0640},
    {"/abs/file", AE_IFREG, 0600, "abs"},
    {"./dot/./file", AE_IFREG, 0644, "dot"},
    {"sparse", AE_IFREG, 0644, .zeros = 300000},
};

static void assert_file(const struct fx *f, const char *rel, const char *content)
{
    char p[UNIT_PATH_MAX], buf[256] = {0};
    fx_in(f, rel, p);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(read(fd, buf, sizeof(buf) - 1), (ssize_t)strlen(content));
    close(fd);
    assert_string_equal(buf, content);
}

static void assert_link(const struct fx *f, const char *rel, const char *target)
{
    char p[UNIT_PATH_MAX], buf[256] = {0};
    fx_in(f, rel, p);
    assert_int_equal(readlink(p, buf, sizeof(buf) - 1), (ssize_t)strlen(target));
    assert_string_equal(buf, target);
}

static void assert_xattr(const struct fx *f, const char *rel, const char *name, const char *value)
{
    char p[UNIT_PATH_MAX], buf[64] = {0};
    fx_in(f, rel, p);
    ssize_t n = lgetxattr(p, name, buf, sizeof(buf) - 1);
    if (!value) {
        assert_true(n < 0);
        return;
    }
    assert_int_equal(n, (ssize_t)strlen(value));
    assert_string_equal(buf, value);
}

static void check_full_files(const struct fx *f)
{
    struct stat st, hard;
    assert_file(f, "etc/motd", "hello\n");
    fx_lstat(f, "etc/motd", &st);
    assert_int_equal(st.st_mode & 07777, 04755);
    assert_int_equal(st.st_uid, 1234);
    assert_int_equal(st.st_gid, 5678);
    assert_int_equal(st.st_mtim.tv_sec, 1500000000);
    assert_int_equal(st.st_nlink, 2);
    fx_lstat(f, "etc/motd.hard", &hard);
    assert_int_equal(hard.st_ino, st.st_ino);
    assert_xattr(f, "etc/motd", "user.berth", "v1");
    assert_xattr(f, "etc/caps", "trusted.berth", "t");
    assert_xattr(f, "etc/forged", "trusted.overlay.opaque", NULL);
    assert_file(f, "abs/file", "abs");
    assert_file(f, "dot/file", "dot");
    fx_lstat(f, "sparse", &st);
    assert_int_equal(st.st_size, 300000);
    fx_lstat(f, "etc", &st);
    assert_int_equal(st.st_mode & 07777, 0750);
    assert_int_equal(st.st_mtim.tv_sec, 1000000); /* kept after children were added */
}

static void check_full_special(const struct fx *f)
{
    struct stat st;
    assert_link(f, "bin/abs", "/etc/motd");
    assert_link(f, "bin/rel", "../etc/motd");
    assert_link(f, "bin/dangling", "/nonexistent/x");
    assert_xattr(f, "bin/abs", "trusted.link", "l"); /* on the link, through /proc */
    fx_lstat(f, "bin/abs", &st);
    assert_int_equal(st.st_uid, 7);
    assert_int_equal(st.st_gid, 8);
    fx_lstat(f, "dev/null", &st);
    assert_true(S_ISCHR(st.st_mode));
    assert_int_equal(major(st.st_rdev), 1);
    assert_int_equal(minor(st.st_rdev), 3);
    assert_int_equal(st.st_mode & 07777, 0666);
    fx_lstat(f, "dev/loop9", &st);
    assert_true(S_ISBLK(st.st_mode));
    assert_int_equal(minor(st.st_rdev), 9);
    fx_lstat(f, "dev/fifo", &st);
    assert_true(S_ISFIFO(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0640);
    fx_lstat(f, "dev", &st); /* implied: 0755 root */
    assert_int_equal(st.st_mode & 07777, 0755);
    assert_int_equal(st.st_uid, 0);
}

static void check_digest(struct fx *f)
{
    char want[DIGEST_STR_MAX];
    uint64_t size;
    struct berr err = {0};
    assert_int_equal(sha256_file(f->tar, want, &size, &err), 0);
    assert_string_equal(f->res.diff_id, want);
    assert_int_equal(f->res.tar_size, size);
    assert_int_equal(f->res.content_size, strlen("hello\n") + 3 + 1 + 3 + 3 + 300000);
}

static void run_full(struct fx *f, const char *src)
{
    _Atomic uint64_t progress = 0;
    struct extract_opts opts = {.whiteouts = WHITEOUT_OVERLAY, .progress_bytes = &progress};
    berr_clear(&f->err);
    int r = layer_extract(src, f->root, &opts, &f->res, &f->err);
    if (r < 0)
        fail_msg("%s", f->err.msg);
    check_full_files(f);
    check_full_special(f);
    check_digest(f);
    struct stat st;
    assert_int_equal(stat(src, &st), 0);
    assert_int_equal(atomic_load(&progress), (uint64_t)st.st_size);
}

static void test_plain(void **state)
{
    struct fx *f = *state;
    write_tar(f->tar, full_layer, ARRAY_SIZE(full_layer));
    run_full(f, f->tar);
}

static void test_gzip(void **state)
{
    struct fx *f = *state;
    write_tar(f->tar, full_layer, ARRAY_SIZE(full_layer));
    compress_file(f->tar, f->gz, ARCHIVE_FILTER_GZIP);
    run_full(f, f->gz);
}

static void test_zstd(void **state)
{
    struct fx *f = *state;
    write_tar(f->tar, full_layer, ARRAY_SIZE(full_layer));
    compress_file(f->tar, f->gz, ARCHIVE_FILTER_ZSTD);
    run_full(f, f->gz);
}

static void test_empty_layer(void **state)
{
    struct fx *f = *state;
    unit_write_file(f->tar, "");
    assert_int_equal(fx_extract(f, WHITEOUT_OVERLAY), 0);
    assert_string_equal(f->res.diff_id, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca"
                                        "495991b7852b855");
    assert_int_equal(f->res.tar_size, 0);
}

/* The end-of-archive blocks and anything after them are in the diff-id. */
static void test_digest_covers_trailing_data(void **state)
{
    struct fx *f = *state;
    static const struct raw ents[] = {{"a", '0', NULL, "data"}};
    write_raw_tar(f->tar, ents, ARRAY_SIZE(ents));
    FILE *out = fopen(f->tar, "ab");
    static const char extra[10240];
    fwrite(extra, 1, sizeof(extra), out);
    fclose(out);
    compress_file(f->tar, f->gz, ARCHIVE_FILTER_GZIP);
    assert_int_equal(fx_extract_from(f, f->gz, WHITEOUT_OVERLAY), 0);
    char want[DIGEST_STR_MAX];
    uint64_t size;
    assert_int_equal(sha256_file(f->tar, want, &size, &f->err), 0);
    assert_string_equal(f->res.diff_id, want);
    assert_int_equal(f->res.tar_size, size);
}

/* ---- replacing what is there ---- */

static void test_replace_existing(void **state)
{
    struct fx *f = *state;
    char p[UNIT_PATH_MAX];
    fx_in(f, "x", p);
    unit_write_file(p, "old");
    fx_in(f, "d", p);
    assert_int_equal(mkdir(p, 0700), 0);
    fx_in(f, "d/child", p);
    unit_write_file(p, "kept");
    fx_in(f, "gone", p);
    assert_int_equal(mkdir(p, 0700), 0);
    fx_in(f, "gone/child", p);
    unit_write_file(p, "x");
    static const struct ent ents[] = {
        {"x/", AE_IFDIR, 0711},
        {"d/", AE_IFDIR, 0705, .uid = 3, .gid = 4},
        {"gone", AE_IFREG, 0644, "file now"},
    };
    write_tar(f->tar, ents, ARRAY_SIZE(ents));
    assert_int_equal(fx_extract(f, WHITEOUT_VFS), 0);
    struct stat st;
    fx_lstat(f, "x", &st);
    assert_true(S_ISDIR(st.st_mode));
    fx_lstat(f, "d", &st);
    assert_int_equal(st.st_mode & 07777, 0705);
    assert_int_equal(st.st_uid, 3);
    assert_file(f, "d/child", "kept");
    assert_file(f, "gone", "file now");
}

/* ---- whiteouts ---- */

static void test_whiteouts_overlay(void **state)
{
    struct fx *f = *state;
    static const struct ent ents[] = {
        {".wh.foo", AE_IFREG},          {"dir/", AE_IFDIR, 0755},
        {"dir/.wh..wh..opq", AE_IFREG}, {"dir/new", AE_IFREG, 0644, "n"},
        {"mine", AE_IFREG, 0644, "m"},  {".wh.mine", AE_IFREG},
        {"deep/er/.wh.x", AE_IFREG},    {".wh..wh.plnk/123", AE_IFREG, 0644, "aufs"},
    };
    write_tar(f->tar, ents, ARRAY_SIZE(ents));
    assert_int_equal(fx_extract(f, WHITEOUT_OVERLAY), 0);
    struct stat st;
    fx_lstat(f, "foo", &st);
    assert_true(S_ISCHR(st.st_mode));
    assert_int_equal(st.st_rdev, makedev(0, 0));
    fx_lstat(f, "deep/er/x", &st);
    assert_true(S_ISCHR(st.st_mode));
    assert_xattr(f, "dir", "trusted.overlay.opaque", "y");
    assert_file(f, "dir/new", "n");
    assert_file(f, "mine", "m"); /* a whiteout never hides its own layer */
    assert_false(fx_exists(f, ".wh.foo"));
    assert_false(fx_exists(f, "dir/.wh..wh..opq"));
    assert_false(fx_exists(f, ".wh..wh.plnk"));
}

static void make_lower(const struct fx *f)
{
    static const char *dirs[] = {"bar", "bar/sub", "dir", "dir/old2", "dir/sub", "dir/keep"};
    static const char *files[] = {"foo",        "bar/a",       "bar/sub/b",          "dir/old1",
                                  "dir/old2/x", "dir/sub/old", "dir/keep/lowerfile", "other"};
    char p[UNIT_PATH_MAX];
    for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
        fx_in(f, dirs[i], p);
        assert_int_equal(mkdir(p, 0755), 0);
    }
    for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
        fx_in(f, files[i], p);
        unit_write_file(p, "lower");
    }
}

static void test_whiteouts_vfs(void **state)
{
    struct fx *f = *state;
    make_lower(f);
    static const struct ent ents[] = {
        {".wh.foo", AE_IFREG},
        {".wh.bar", AE_IFREG},
        {".wh.absent", AE_IFREG},
        {"nodir/.wh.x", AE_IFREG},
        {"dir/before", AE_IFREG, 0644, "b"},
        {"dir/sub/new", AE_IFREG, 0644, "s"},
        {"dir/keep/", AE_IFDIR, 0755},
        {"dir/.wh..wh..opq", AE_IFREG},
        {"dir/after", AE_IFREG, 0644, "a"},
        {"mine", AE_IFREG, 0644, "m"},
        {".wh.mine", AE_IFREG},
    };
    write_tar(f->tar, ents, ARRAY_SIZE(ents));
    assert_int_equal(fx_extract(f, WHITEOUT_VFS), 0);
    assert_false(fx_exists(f, "foo"));
    assert_false(fx_exists(f, "bar"));
    assert_false(fx_exists(f, "nodir"));
    assert_false(fx_exists(f, "dir/old1"));
    assert_false(fx_exists(f, "dir/old2"));
    assert_false(fx_exists(f, "dir/sub/old"));
    assert_false(fx_exists(f, "dir/keep/lowerfile"));
    assert_false(fx_exists(f, ".wh.foo"));
    assert_file(f, "dir/before", "b");
    assert_file(f, "dir/sub/new", "s");
    assert_file(f, "dir/after", "a");
    assert_true(fx_exists(f, "dir/keep"));
    assert_file(f, "mine", "m");
    assert_file(f, "other", "lower");
    assert_xattr(f, "dir", "trusted.overlay.opaque", NULL);
}

enum { DEEP = 2 * SAFE_RM_MAX_DEPTH + 3 };

/* <root>/a/a/.../a (DEEP levels)/lower, and <root>/top. */
static void make_deep_lower(const struct fx *f)
{
    char p[UNIT_PATH_MAX];
    int fd = open(f->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    for (int i = 0; i < DEEP; i++) {
        assert_int_equal(mkdirat(fd, "a", 0755), 0);
        int next = openat(fd, "a", O_PATH | O_DIRECTORY | O_CLOEXEC);
        close(fd);
        fd = next;
    }
    close(openat(fd, "lower", O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    close(fd);
    fx_in(f, "top", p);
    unit_write_file(p, "lower");
}

/* An opaque directory over a lower tree deeper than any fd budget. */
static void test_opaque_deep(void **state)
{
    struct fx *f = *state;
    static char name[2 * DEEP + 8];
    for (int i = 0; i < DEEP; i++)
        memcpy(name + 2 * i, "a/", 2);
    memcpy(name + 2 * DEEP, "f", 2);
    const struct ent ents[] = {{name, AE_IFREG, 0644, "new"}, {".wh..wh..opq", AE_IFREG}};
    write_tar(f->tar, ents, ARRAY_SIZE(ents));
    BOTH_RESOLVERS(f, {
        make_deep_lower(f);
        assert_int_equal(fx_extract(f, WHITEOUT_VFS), 0);
        int root = open(f->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        struct stat st;
        memcpy(name + 2 * DEEP, "f", 2);
        assert_int_equal(fstatat(root, name, &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(st.st_size, 3);
        memcpy(name + 2 * DEEP, "lower", 6);
        assert_true(fstatat(root, name, &st, AT_SYMLINK_NOFOLLOW) < 0);
        close(root);
        assert_false(fx_exists(f, "top"));
    });
}

static void test_invalid_whiteout(void **state)
{
    struct fx *f = *state;
    static const struct raw ents[] = {{"a/.wh...", '0', NULL, NULL}};
    write_raw_tar(f->tar, ents, ARRAY_SIZE(ents));
    assert_int_equal(fx_extract(f, WHITEOUT_VFS), -EINVAL);
    assert_int_equal(f->err.status, 400);
    assert_non_null(strstr(f->err.msg, "a/.wh..."));
}

/* ---- layers that try to leave their root ---- */

static void expect_refused(struct fx *f, const char *needle)
{
    int r = fx_extract(f, WHITEOUT_OVERLAY);
    assert_true(r < 0);
    assert_int_equal(f->err.status, 400);
    if (!strstr(f->err.msg, needle))
        fail_msg("'%s' not in '%s'", needle, f->err.msg);
}

static void test_dotdot_refused(void **state)
{
    struct fx *f = *state;
    static const struct raw a[] = {{"../escape", '0', NULL, "x"}};
    static const struct raw b[] = {{"a/../../escape", '0', NULL, "x"}};
    static const struct raw c[] = {{"ok", '0', NULL, "x"}, {"./../escape", '5', NULL, NULL}};
    char outside[UNIT_PATH_MAX];
    unit_path(outside, f->base, "escape");
    BOTH_RESOLVERS(f, {
        write_raw_tar(f->tar, a, ARRAY_SIZE(a));
        expect_refused(f, "path '../escape' escapes the root");
        write_raw_tar(f->tar, b, ARRAY_SIZE(b));
        expect_refused(f, "'a/../../escape'");
        write_raw_tar(f->tar, c, ARRAY_SIZE(c));
        expect_refused(f, "'./../escape'");
        assert_false(path_exists(outside));
    });
}

/* A name for a directory outside every root: /tmp/outside-<random>. */
static void outside_name(char out[UNIT_PATH_MAX])
{
    snprintf(out, UNIT_PATH_MAX, "/tmp/outside-XXXXXX");
    assert_non_null(mkdtemp(out));
    assert_int_equal(rmdir(out), 0);
}

static void test_symlink_escape(void **state)
{
    struct fx *f = *state;
    char out[UNIT_PATH_MAX], victim[UNIT_PATH_MAX + 8];
    outside_name(out);
    snprintf(victim, sizeof(victim), "%s/file", out);
    struct raw ents[] = {{"evil", '2', out, NULL}, {"evil/file", '0', NULL, "pwned"}};
    BOTH_RESOLVERS(f, {
        /* The target absent, then present: neither is ever written. */
        write_raw_tar(f->tar, ents, ARRAY_SIZE(ents));
        assert_true(fx_extract(f, WHITEOUT_OVERLAY) < 0);
        assert_false(path_exists(out));
        fx_reset_root(f);
        assert_int_equal(mkdir(out, 0755), 0);
        assert_true(fx_extract(f, WHITEOUT_OVERLAY) < 0);
        assert_false(path_exists(victim));
        assert_int_equal(rmdir(out), 0);
    });
}

static void test_symlink_final_component_replaced(void **state)
{
    struct fx *f = *state;
    char out[UNIT_PATH_MAX];
    outside_name(out);
    struct raw ents[] = {{"lnk", '2', out, NULL}, {"lnk", '0', NULL, "not through the link"}};
    BOTH_RESOLVERS(f, {
        write_raw_tar(f->tar, ents, ARRAY_SIZE(ents));
        assert_int_equal(fx_extract(f, WHITEOUT_OVERLAY), 0);
        assert_false(path_exists(out));
        assert_file(f, "lnk", "not through the link");
    });
}

/* "a/b/up -> ../../../../.." then "a/b/up/<name>": lands in the root. */
static void test_dotdot_symlink_chain(void **state)
{
    struct fx *f = *state;
    char name[32], rel[64], above[UNIT_PATH_MAX], slash[64];
    snprintf(name, sizeof(name), "esc-%d-%ld", (int)getpid(), (long)time(NULL));
    snprintf(rel, sizeof(rel), "a/b/up/%s", name);
    unit_path(above, f->base, name);
    snprintf(slash, sizeof(slash), "/%s", name);
    struct raw ents[] = {{"a/b/up", '2', "../../../../../../..", NULL}, {rel, '0', NULL, "x"}};
    BOTH_RESOLVERS(f, {
        write_raw_tar(f->tar, ents, ARRAY_SIZE(ents));
        assert_int_equal(fx_extract(f, WHITEOUT_OVERLAY), 0);
        assert_false(path_exists(above));
        assert_false(path_exists(slash));
        assert_file(f, name, "x");
    });
}

/* Whiteouts below a symlink that points out delete nothing out there. */
static void test_whiteout_through_symlink(void **state)
{
    struct fx *f = *state;
    char out[UNIT_PATH_MAX], victim[UNIT_PATH_MAX + 8], opq[64];
    outside_name(out);
    assert_int_equal(mkdir(out, 0755), 0);
    snprintf(victim, sizeof(victim), "%s/victim", out);
    unit_write_file(victim, "keep");
    struct raw ents[] = {{"lnk", '2', out, NULL},
                         {"lnk/.wh.victim", '0', NULL, NULL},
                         {"lnk/.wh..wh..opq", '0', NULL, NULL}};
    BOTH_RESOLVERS(f, {
        write_raw_tar(f->tar, ents, ARRAY_SIZE(ents));
        assert_int_equal(fx_extract(f, WHITEOUT_VFS), 0);
        fx_reset_root(f);
        assert_true(fx_extract(f, WHITEOUT_OVERLAY) < 0);
    });
    assert_true(path_exists(victim));
    assert_true(getxattr(out, "trusted.overlay.opaque", opq, sizeof(opq)) < 0);
    unit_rm_rf(out);
}

static void test_hardlink_escape(void **state)
{
    struct fx *f = *state;
    struct stat before, after;
    assert_int_equal(stat("/etc/passwd", &before), 0);
    static const struct raw abs[] = {{"pw", '1', "/etc/passwd", NULL}};
    static const struct raw via[] = {{"hostetc", '2', "/etc", NULL},
                                     {"pw", '1', "hostetc/passwd", NULL}};
    static const struct raw up[] = {{"pw", '1', "../../../../etc/passwd", NULL}};
    BOTH_RESOLVERS(f, {
        write_raw_tar(f->tar, abs, ARRAY_SIZE(abs));
        expect_refused(f, "hardlink 'pw' to '/etc/passwd'");
        write_raw_tar(f->tar, via, ARRAY_SIZE(via));
        expect_refused(f, "hardlink 'pw' to 'hostetc/passwd'");
        write_raw_tar(f->tar, up, ARRAY_SIZE(up));
        expect_refused(f, "escapes the root");
        assert_false(fx_exists(f, "pw"));
    });
    assert_int_equal(stat("/etc/passwd", &after), 0);
    assert_int_equal(after.st_nlink, before.st_nlink);
}

/* An absolute hardlink target is a name in the layer: Docker joins it to the root. */
static void test_hardlink_absolute_inside(void **state)
{
    struct fx *f = *state;
    static const struct raw ents[] = {{"etc/", '5', NULL, NULL},
                                      {"etc/passwd", '0', NULL, "root:x:0:0::/:/bin/sh\n"},
                                      {"pw", '1', "/etc/passwd", NULL}};
    write_raw_tar(f->tar, ents, ARRAY_SIZE(ents));
    assert_int_equal(fx_extract(f, WHITEOUT_OVERLAY), 0);
    struct stat a, b;
    fx_lstat(f, "etc/passwd", &a);
    fx_lstat(f, "pw", &b);
    assert_int_equal(a.st_ino, b.st_ino);
}

/* ---- broken input ---- */

static void test_corrupt_gzip(void **state)
{
    struct fx *f = *state;
    write_tar(f->tar, full_layer, ARRAY_SIZE(full_layer));
    compress_file(f->tar, f->gz, ARCHIVE_FILTER_GZIP);
    int fd = open(f->gz, O_RDWR | O_CLOEXEC);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    static const char junk[64] = "this is not deflate data, not at all, no.";
    assert_int_equal(pwrite(fd, junk, sizeof(junk), st.st_size / 2), (ssize_t)sizeof(junk));
    close(fd);
    assert_true(fx_extract_from(f, f->gz, WHITEOUT_OVERLAY) < 0);
    assert_int_equal(f->err.status, 400);
    assert_non_null(strstr(f->err.msg, "invalid layer"));
}

/* libarchive ends a gzip stream quietly where a corrupt member seems to
 * end: the bytes left over must not go unnoticed. */
static void test_gzip_trailing_junk(void **state)
{
    struct fx *f = *state;
    write_tar(f->tar, full_layer, ARRAY_SIZE(full_layer));
    compress_file(f->tar, f->gz, ARCHIVE_FILTER_GZIP);
    FILE *out = fopen(f->gz, "ab");
    fputs("junk after the gzip member", out);
    fclose(out);
    assert_true(fx_extract_from(f, f->gz, WHITEOUT_OVERLAY) < 0);
    assert_int_equal(f->err.status, 400);
    assert_non_null(strstr(f->err.msg, "corrupt compressed data"));
}

/* Several gzip members in a row are one stream (gzip -d does the same). */
static void test_gzip_members(void **state)
{
    struct fx *f = *state;
    static const struct raw one[] = {{"one", '0', NULL, "1"}};
    write_raw_tar(f->tar, one, 1);
    assert_int_equal(truncate(f->tar, 1024), 0); /* no end blocks: the next member goes on */
    compress_file(f->tar, f->gz, ARCHIVE_FILTER_GZIP);
    static const struct raw two[] = {{"two", '0', NULL, "2"}};
    write_raw_tar(f->tar, two, 1);
    char gz2[UNIT_PATH_MAX + 4];
    snprintf(gz2, sizeof(gz2), "%s.2", f->gz);
    compress_file(f->tar, gz2, ARCHIVE_FILTER_GZIP);
    FILE *out = fopen(f->gz, "ab"), *in = fopen(gz2, "rb");
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        fwrite(buf, 1, n, out);
    fclose(in);
    fclose(out);
    assert_int_equal(fx_extract_from(f, f->gz, WHITEOUT_OVERLAY), 0);
    assert_file(f, "one", "1");
    assert_file(f, "two", "2");
    assert_int_equal(f->res.tar_size, 1024 + 2048);
}

/* gzip in gzip would multiply a bomb's ratio; Docker wants a tar after one. */
static void test_nested_compression(void **state)
{
    struct fx *f = *state;
    char twice[UNIT_PATH_MAX + 4];
    snprintf(twice, sizeof(twice), "%s.2", f->gz);
    write_tar(f->tar, full_layer, ARRAY_SIZE(full_layer));
    compress_file(f->tar, f->gz, ARCHIVE_FILTER_GZIP);
    compress_file(f->gz, twice, ARCHIVE_FILTER_ZSTD);
    assert_true(fx_extract_from(f, twice, WHITEOUT_OVERLAY) < 0);
    assert_int_equal(f->err.status, 400);
    assert_non_null(strstr(f->err.msg, "compressed more than once"));
}

static void test_truncated_tar(void **state)
{
    struct fx *f = *state;
    static const struct ent ents[] = {{"big", AE_IFREG, 0644, .zeros = 100000}};
    write_tar(f->tar, ents, ARRAY_SIZE(ents));
    assert_int_equal(truncate(f->tar, 50000), 0);
    assert_true(fx_extract(f, WHITEOUT_OVERLAY) < 0);
    assert_int_equal(f->err.status, 400);
    assert_non_null(strstr(f->err.msg, "big"));
}

static void test_not_a_tar(void **state)
{
    struct fx *f = *state;
    unit_write_file(f->tar, "BZh91AY&SY this is not a tar archive at all, just some text.");
    assert_true(fx_extract(f, WHITEOUT_OVERLAY) < 0);
    assert_int_equal(f->err.status, 400);
}

static void test_missing_source(void **state)
{
    struct fx *f = *state;
    assert_int_equal(fx_extract(f, WHITEOUT_OVERLAY), -ENOENT);
    assert_int_equal(f->err.status, 404);
}

/* ---- cancellation, progress, ENOSPC ---- */

static void test_cancel_before(void **state)
{
    struct fx *f = *state;
    write_tar(f->tar, full_layer, ARRAY_SIZE(full_layer));
    atomic_bool stop = true;
    struct extract_opts opts = {.whiteouts = WHITEOUT_OVERLAY, .stop = &stop};
    assert_int_equal(layer_extract(f->tar, f->root, &opts, &f->res, &f->err), -ECANCELED);
    assert_false(fx_exists(f, "etc"));
}

struct canceller {
    char path[UNIT_PATH_MAX];
    atomic_bool stop;
    atomic_bool done; /* the extraction returned: give up waiting */
};

/* Sets stop once the copy of the file is under way. */
static void *cancel_thread(void *arg)
{
    struct canceller *c = arg;
    struct stat st;
    while ((stat(c->path, &st) < 0 || st.st_size < (1 << 20)) && !atomic_load(&c->done))
        sched_yield();
    atomic_store(&c->stop, true);
    return NULL;
}

/* stop is polled inside a long file copy too: 512 MiB of zeros take far
 * longer to write than the flag takes to be seen. */
static void test_cancel_during_copy(void **state)
{
    struct fx *f = *state;
    static const struct ent ents[] = {{"huge", AE_IFREG, 0644, .zeros = 512u << 20}};
    write_tar_with(f->gz, ents, ARRAY_SIZE(ents), ARCHIVE_FILTER_ZSTD);
    struct canceller c = {0};
    fx_in(f, "huge", c.path);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, cancel_thread, &c), 0);
    _Atomic uint64_t progress = 0;
    struct extract_opts opts = {
        .whiteouts = WHITEOUT_OVERLAY, .stop = &c.stop, .progress_bytes = &progress};
    int r = layer_extract(f->gz, f->root, &opts, &f->res, &f->err);
    atomic_store(&c.done, true);
    pthread_join(t, NULL);
    assert_int_equal(r, -ECANCELED);
    assert_non_null(strstr(f->err.msg, "cancelled"));
    struct stat st;
    fx_lstat(f, "huge", &st);
    assert_true(st.st_size >= (1 << 20) && st.st_size < (512 << 20));
    assert_true(atomic_load(&progress) > 0);
}

/* A 256 KiB tmpfs in a private mount namespace, in a child process. */
static int enospc_child(struct fx *f)
{
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        mount("tmpfs", f->root, "tmpfs", 0, "size=256k") < 0)
        return 77;
    int r = fx_extract(f, WHITEOUT_OVERLAY);
    if (r != -ENOSPC || f->err.status != 500 || !strstr(f->err.msg, "no space left on device") ||
        !strstr(f->err.msg, "big"))
        return 1;
    return 0;
}

static void test_enospc(void **state)
{
    struct fx *f = *state;
    static const struct ent ents[] = {{"big", AE_IFREG, 0644, .zeros = 4u << 20}};
    write_tar(f->tar, ents, ARRAY_SIZE(ents));
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(enospc_child(f));
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77)
        skip();
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_bad_destination(void **state)
{
    struct fx *f = *state;
    write_tar(f->tar, full_layer, 1);
    struct extract_opts opts = {.whiteouts = WHITEOUT_OVERLAY};
    assert_int_equal(layer_extract(f->tar, "/nonexistent/berth", &opts, &f->res, &f->err), -ENOENT);
    assert_int_equal(f->err.status, 404);
}

static int count_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* Successes and failures alike close every fd they open. */
static void test_no_fd_leak(void **state)
{
    struct fx *f = *state;
    static const struct raw bad[] = {{"ok/file", '0', NULL, "x"}, {"pw", '1', "/etc/passwd", NULL}};
    int before = count_fds();
    write_tar(f->tar, full_layer, ARRAY_SIZE(full_layer));
    compress_file(f->tar, f->gz, ARCHIVE_FILTER_GZIP);
    BOTH_RESOLVERS(f, {
        assert_int_equal(fx_extract_from(f, f->gz, WHITEOUT_OVERLAY), 0);
        make_lower(f);
        assert_int_equal(fx_extract_from(f, f->gz, WHITEOUT_VFS), 0);
        write_raw_tar(f->tar, bad, ARRAY_SIZE(bad));
        assert_true(fx_extract(f, WHITEOUT_VFS) < 0);
    });
    assert_int_equal(count_fds(), before);
}

/* ---- safe_path ---- */

static void test_path_clean(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(safe_path_clean("/etc//./x/", out, sizeof(out)), 0);
    assert_string_equal(out, "etc/x");
    assert_int_equal(safe_path_clean("./", out, sizeof(out)), 0);
    assert_string_equal(out, "");
    assert_int_equal(safe_path_clean("a/..b/c..", out, sizeof(out)), 0);
    assert_string_equal(out, "a/..b/c..");
    assert_int_equal(safe_path_clean("a/../b", out, sizeof(out)), -EINVAL);
    assert_int_equal(safe_path_clean("..", out, sizeof(out)), -EINVAL);
    assert_int_equal(safe_path_clean("abcdefgh/abcdefgh", out, 10), -ENAMETOOLONG);
}

/* Any depth goes, symlinks are removed and never followed. */
static void test_remove_tree_deep(void **state)
{
    struct fx *f = *state;
    char keep[UNIT_PATH_MAX], p[UNIT_PATH_MAX];
    unit_path(keep, f->base, "keep");
    assert_int_equal(mkdir(keep, 0755), 0);
    unit_path(p, keep, "file");
    unit_write_file(p, "keep me");
    int fd = open(f->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    assert_true(fd >= 0);
    for (int i = 0; i < 3 * SAFE_RM_MAX_DEPTH + 7; i++) {
        assert_int_equal(mkdirat(fd, "d", 0700), 0);
        assert_int_equal(symlinkat(keep, fd, "ln"), 0);
        int next = openat(fd, "d", O_PATH | O_DIRECTORY | O_CLOEXEC);
        assert_true(next >= 0);
        close(fd);
        fd = next;
    }
    assert_int_equal(mkdirat(fd, "last", 0), 0);
    close(fd);
    int base = open(f->base, O_PATH | O_DIRECTORY | O_CLOEXEC);
    assert_int_equal(safe_remove_tree(base, "root"), 0);
    assert_int_equal(safe_remove_tree(base, "root"), 0); /* already gone: fine */
    close(base);
    assert_false(path_exists(f->root));
    assert_true(path_exists(p));
    assert_int_equal(mkdir(f->root, 0755), 0);
}

/* The userspace walk resolves as openat2(RESOLVE_IN_ROOT) does. */
static void test_walk_matches_openat2(void **state)
{
    struct fx *f = *state;
    static const struct raw tree[] = {
        {"d/e/", '5', NULL, NULL},         {"d/e/f", '0', NULL, "f"},
        {"abs", '2', "/d/e", NULL},        {"rel", '2', "d/../d/e/f", NULL},
        {"up", '2', "../../..", NULL},     {"loop", '2', "loop", NULL},
        {"d/back", '2', "../abs/f", NULL}, {"dangling", '2', "/nope", NULL},
    };
    static const char *paths[] = {"abs/f",      "rel",       "up/d/e/f",   "d/back",
                                  "abs/../e/f", "up/up/abs", "loop",       "dangling",
                                  "d/e/f/x",    "",          "d/../../..", "abs"};
    write_raw_tar(f->tar, tree, ARRAY_SIZE(tree));
    assert_int_equal(fx_extract(f, WHITEOUT_OVERLAY), 0);
    int root = open(f->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
        for (int fl = 0; fl < 2; fl++) {
            int flags = O_PATH | (fl ? O_NOFOLLOW : O_DIRECTORY);
            struct stat s1, s2;
            safe_path__no_openat2 = false;
            int a = safe_open_in_root(root, paths[i], flags);
            safe_path__no_openat2 = true;
            int b = safe_open_in_root(root, paths[i], flags);
            if ((a < 0) != (b < 0) || (a < 0 && a != b))
                fail_msg("'%s' flags %#x: openat2 %d, walk %d", paths[i], flags, a, b);
            if (a >= 0) {
                assert_int_equal(fstat(a, &s1), 0);
                assert_int_equal(fstat(b, &s2), 0);
                assert_int_equal(s1.st_ino, s2.st_ino);
                close(a);
                close(b);
            }
        }
    }
    close(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whiteout_kind),
        cmocka_unit_test(test_path_clean),
#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)
        T(test_plain),
        T(test_gzip),
        T(test_zstd),
        T(test_empty_layer),
        T(test_digest_covers_trailing_data),
        T(test_replace_existing),
        T(test_whiteouts_overlay),
        T(test_whiteouts_vfs),
        T(test_opaque_deep),
        T(test_invalid_whiteout),
        T(test_dotdot_refused),
        T(test_symlink_escape),
        T(test_symlink_final_component_replaced),
        T(test_dotdot_symlink_chain),
        T(test_whiteout_through_symlink),
        T(test_hardlink_escape),
        T(test_hardlink_absolute_inside),
        T(test_corrupt_gzip),
        T(test_gzip_trailing_junk),
        T(test_gzip_members),
        T(test_nested_compression),
        T(test_truncated_tar),
        T(test_not_a_tar),
        T(test_missing_source),
        T(test_cancel_before),
        T(test_cancel_during_copy),
        T(test_enospc),
        T(test_bad_destination),
        T(test_no_fd_leak),
        T(test_walk_matches_openat2),
        T(test_remove_tree_deep),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
