/* storage/image_archive*.c: reading load archives (docker-archive old and
 * new, OCI layout, compressed, links between members) and every kind of
 * malformed one; writing save archives (layout, determinism, blobs
 * decompressed, a layer directory archived with overlay whiteouts turned
 * back into OCI ones, content that no longer matches its diff ID); and
 * staging and committing layers into a store. Each test gets its own dir. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <cmocka.h>

#include "common/atomicfile.h"
#include "common/job.h"
#include "storage/digest.h"
#include "storage/fsutil.h"
#include "storage/image_archive.h"
#include "unit_helpers.h"

struct fx {
    char dir[UNIT_PATH_MAX];
    char work[UNIT_PATH_MAX];
    char layer[UNIT_PATH_MAX]; /* a plain layer tar: hello.txt */
    char diff_id[DIGEST_STR_MAX];
    char config[4096];
    char id[DIGEST_STR_MAX];
    struct load_plan plan;
};

/* ---- tar building ---- */

struct ent {
    const char *name;
    char type;        /* 'f' file, 'd' dir, 'l' symlink, 'h' hardlink */
    const char *data; /* content, or the link target */
    size_t len;       /* of data when it is not a string (0: strlen) */
};

static void write_tar(const char *path, const struct ent *ents, size_t n, int filter)
{
    struct archive *a = archive_write_new();
    assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
    assert_int_equal(archive_write_add_filter(a, filter), ARCHIVE_OK);
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        const struct ent *s = &ents[i];
        size_t len = s->len ? s->len : (s->data ? strlen(s->data) : 0);
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, s->name);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_mtime(e, 946684800, 0);
        archive_entry_set_filetype(e, s->type == 'd'   ? AE_IFDIR
                                      : s->type == 'l' ? AE_IFLNK
                                                       : AE_IFREG);
        if (s->type == 'l')
            archive_entry_set_symlink(e, s->data);
        if (s->type == 'h')
            archive_entry_set_hardlink(e, s->data);
        if (s->type == 'f')
            archive_entry_set_size(e, (la_int64_t)len);
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        if (s->type == 'f' && len)
            assert_int_equal(archive_write_data(a, s->data, len), (la_ssize_t)len);
        archive_entry_free(e);
    }
    assert_int_equal(archive_write_free(a), ARCHIVE_OK);
}

static char *slurp(const char *path, size_t *len)
{
    char *data = NULL;
    struct berr err = {0};
    assert_int_equal(read_file_all(path, 64 << 20, &data, len, &err), 0);
    return data;
}

static void gzip_file(const char *src, const char *dst)
{
    size_t len;
    char *data = slurp(src, &len);
    struct archive *a = archive_write_new();
    archive_write_set_format_raw(a);
    assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
    assert_int_equal(archive_write_open_filename(a, dst), ARCHIVE_OK);
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_size(e, (la_int64_t)len);
    assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
    assert_int_equal(archive_write_data(a, data, len), (la_ssize_t)len);
    archive_entry_free(e);
    assert_int_equal(archive_write_free(a), ARCHIVE_OK);
    free(data);
}

/* Content of one member of a tar file (NULL when absent). */
static char *tar_member(const char *tar, const char *name, size_t *ret_len)
{
    struct archive *a = archive_read_new();
    archive_read_support_format_tar(a);
    assert_int_equal(archive_read_open_filename(a, tar, 10240), ARCHIVE_OK);
    struct archive_entry *e;
    char *out = NULL;
    while (!out && archive_read_next_header(a, &e) == ARCHIVE_OK) {
        if (strcmp(archive_entry_pathname(e), name) != 0)
            continue;
        size_t n = (size_t)archive_entry_size(e);
        out = calloc(1, n + 1);
        assert_int_equal(archive_read_data(a, out, n), (la_ssize_t)n);
        if (ret_len)
            *ret_len = n;
    }
    archive_read_free(a);
    return out;
}

static void path_in(const struct fx *f, const char *name, char out[UNIT_PATH_MAX])
{
    unit_path(out, f->dir, name);
}

/* ---- fixture ---- */

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    unit_mkdtemp(f->dir);
    unit_path(f->work, f->dir, "work");
    unit_path(f->layer, f->dir, "layer.tar");
    const struct ent layer[] = {{"hello.txt", 'f', "hello\n", 0}};
    write_tar(f->layer, layer, 1, ARCHIVE_FILTER_NONE);
    struct berr err = {0};
    assert_int_equal(sha256_file(f->layer, f->diff_id, NULL, &err), 0);
    snprintf(f->config, sizeof(f->config),
             "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"sh\"]},"
             "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}",
             f->diff_id);
    sha256_digest(f->config, strlen(f->config), f->id);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    load_plan_done(&f->plan);
    unit_rm_rf(f->dir);
    free(f);
    return 0;
}

static int read_archive(struct fx *f, const char *tar, struct berr *err)
{
    fs_rm_rf(f->work);
    load_plan_done(&f->plan);
    return image_archive_read(tar, f->work, NULL, &f->plan, err);
}

static void expect_bad(struct fx *f, const char *tar, const char *needle)
{
    struct berr err = {0};
    assert_int_equal(read_archive(f, tar, &err) < 0, 1);
    if (!strstr(err.msg, needle))
        fail_msg("error '%s' lacks '%s'", err.msg, needle);
    assert_int_equal(err.status, 400);
    assert_int_equal(f->plan.nimages, 0);
}

/* A docker < 25 archive: <id>/layer.tar, <config hex>.json, manifest.json. */
static void legacy_archive(struct fx *f, const char *path, const char *manifest, int filter)
{
    size_t len;
    char *layer = slurp(f->layer, &len);
    char cfg_name[128];
    snprintf(cfg_name, sizeof(cfg_name), "%s.json", digest_hex(f->id));
    const struct ent ents[] = {
        {"abc", 'd', NULL, 0},
        {"abc/layer.tar", 'f', layer, len},
        {"abc/VERSION", 'f', "1.0", 0},
        {cfg_name, 'f', f->config, 0},
        {"manifest.json", 'f', manifest, 0},
    };
    write_tar(path, ents, 5, filter);
    free(layer);
}

static void legacy_manifest(const struct fx *f, char *out, size_t len, const char *tags)
{
    snprintf(out, len, "[{\"Config\":\"%s.json\",\"RepoTags\":%s,\"Layers\":[\"abc/layer.tar\"]}]",
             digest_hex(f->id), tags);
}

/* ---- reading ---- */

static void test_read_legacy(void **state)
{
    struct fx *f = *state;
    char tar[UNIT_PATH_MAX], man[1024];
    path_in(f, "a.tar", tar);
    legacy_manifest(f, man, sizeof(man), "[\"foo:1\",\"localhost:5000/x/y:2\"]");
    legacy_archive(f, tar, man, ARCHIVE_FILTER_NONE);
    struct berr err = {0};
    if (read_archive(f, tar, &err) < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(f->plan.nimages, 1);
    struct load_image *img = &f->plan.images[0];
    assert_string_equal(img->id, f->id);
    assert_int_equal(img->refs.n, 2);
    assert_string_equal(img->refs.v[0], "docker.io/library/foo:1");
    assert_string_equal(img->refs.v[1], "localhost:5000/x/y:2");
    assert_int_equal(img->config_len, strlen(f->config));
    assert_memory_equal(img->config, f->config, img->config_len);
    assert_int_equal(f->plan.nlayers, 1);
    struct load_layer *l = &f->plan.layers[0];
    assert_string_equal(l->diff_id, f->diff_id);
    assert_string_equal(l->chain_id, f->diff_id); /* a base layer */
    assert_string_equal(l->parent, "");
    assert_string_equal(l->digest, f->diff_id); /* plain tar: same bytes */
    char got[DIGEST_STR_MAX];
    assert_int_equal(sha256_file(l->src, got, NULL, &err), 0);
    assert_string_equal(got, f->diff_id);
}

static void test_read_compressed(void **state)
{
    struct fx *f = *state;
    char tar[UNIT_PATH_MAX], gz[UNIT_PATH_MAX], man[1024];
    path_in(f, "a.tar", tar);
    path_in(f, "a.tar.gz", gz);
    legacy_manifest(f, man, sizeof(man), "null");
    legacy_archive(f, tar, man, ARCHIVE_FILTER_NONE);
    gzip_file(tar, gz);
    struct berr err = {0};
    assert_int_equal(read_archive(f, gz, &err), 0);
    assert_int_equal(f->plan.nimages, 1);
    assert_int_equal(f->plan.images[0].refs.n, 0);
    legacy_archive(f, tar, man, ARCHIVE_FILTER_XZ);
    assert_int_equal(read_archive(f, tar, &err), 0);
    assert_int_equal(f->plan.nimages, 1);
}

/* Docker < 1.10 style duplicate layers: a symlink to another member, and a
 * hardlink; a link climbing out stays inside the archive. */
static void test_read_links(void **state)
{
    struct fx *f = *state;
    size_t len;
    char *layer = slurp(f->layer, &len);
    char tar[UNIT_PATH_MAX], cfg[128], man[1024];
    snprintf(cfg, sizeof(cfg), "%s.json", digest_hex(f->id));
    snprintf(man, sizeof(man),
             "[{\"Config\":\"c.json\",\"RepoTags\":[\"a:1\"],"
             "\"Layers\":[\"x/layer.tar\"]}]");
    const struct ent ents[] = {
        {"real/layer.tar", 'f', layer, len},
        {"x/layer.tar", 'l', "../../../../real/layer.tar", 0},
        {cfg, 'f', f->config, 0},
        {"c.json", 'h', cfg, 0},
        {"manifest.json", 'f', man, 0},
    };
    path_in(f, "links.tar", tar);
    write_tar(tar, ents, 5, ARCHIVE_FILTER_NONE);
    free(layer);
    struct berr err = {0};
    if (read_archive(f, tar, &err) < 0)
        fail_msg("%s", err.msg);
    assert_string_equal(f->plan.images[0].id, f->id);
    assert_string_equal(f->plan.layers[0].digest, f->diff_id);
}

/* An OCI layout without manifest.json: index.json -> manifest -> blobs. */
static void oci_layout(struct fx *f, const char *path, const char *annotations,
                       const char *config_digest_override)
{
    size_t len;
    char *layer = slurp(f->layer, &len);
    char man[2048], idx[2048], man_digest[DIGEST_STR_MAX];
    char n_cfg[96], n_layer[96], n_man[96];
    snprintf(man, sizeof(man),
             "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
             "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
             "\"digest\":\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":"
             "\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"%s\",\"size\":%zu}]}",
             config_digest_override ? config_digest_override : f->id, strlen(f->config), f->diff_id,
             len);
    sha256_digest(man, strlen(man), man_digest);
    snprintf(idx, sizeof(idx),
             "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
             "\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"%s\",\"size\":%zu%s}]}",
             man_digest, strlen(man), annotations);
    snprintf(n_cfg, sizeof(n_cfg), "blobs/sha256/%s", digest_hex(f->id));
    snprintf(n_layer, sizeof(n_layer), "blobs/sha256/%s", digest_hex(f->diff_id));
    snprintf(n_man, sizeof(n_man), "blobs/sha256/%s", digest_hex(man_digest));
    const struct ent ents[] = {
        {"oci-layout", 'f', "{\"imageLayoutVersion\":\"1.0.0\"}", 0},
        {n_cfg, 'f', f->config, 0},
        {n_layer, 'f', layer, len},
        {n_man, 'f', man, 0},
        {"index.json", 'f', idx, 0},
    };
    write_tar(path, ents, 5, ARCHIVE_FILTER_NONE);
    free(layer);
}

static void test_read_oci_layout(void **state)
{
    struct fx *f = *state;
    char tar[UNIT_PATH_MAX];
    path_in(f, "oci.tar", tar);
    oci_layout(f, tar,
               ",\"annotations\":{\"io.containerd.image.name\":\"docker.io/library/bb:2\","
               "\"org.opencontainers.image.ref.name\":\"2\"}",
               NULL);
    struct berr err = {0};
    if (read_archive(f, tar, &err) < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(f->plan.nimages, 1);
    assert_string_equal(f->plan.images[0].refs.v[0], "docker.io/library/bb:2");
    assert_string_equal(f->plan.layers[0].media_type, "application/vnd.oci.image.layer.v1.tar");
    /* A bare tag as ref.name names nothing. */
    oci_layout(f, tar, ",\"annotations\":{\"org.opencontainers.image.ref.name\":\"latest\"}", NULL);
    assert_int_equal(read_archive(f, tar, &err), 0);
    assert_int_equal(f->plan.images[0].refs.n, 0);
}

static void test_read_malformed(void **state)
{
    struct fx *f = *state;
    char tar[UNIT_PATH_MAX], man[1024];
    path_in(f, "bad.tar", tar);

    const struct ent none[] = {{"hello", 'f', "x", 0}};
    write_tar(tar, none, 1, ARCHIVE_FILTER_NONE);
    expect_bad(f, tar, "neither manifest.json nor index.json");

    unit_write_file(tar, "this is not a tar archive at all, just some text");
    expect_bad(f, tar, "invalid archive");

    legacy_archive(f, tar, "[{\"Config\":", ARCHIVE_FILTER_NONE);
    expect_bad(f, tar, "manifest.json is not valid JSON");

    legacy_archive(f, tar, "null", ARCHIVE_FILTER_NONE);
    expect_bad(f, tar, "manifest cannot be null");

    snprintf(man, sizeof(man), "[{\"Config\":\"%s.json\",\"Layers\":[\"nope/layer.tar\"]}]",
             digest_hex(f->id));
    legacy_archive(f, tar, man, ARCHIVE_FILTER_NONE);
    expect_bad(f, tar, "nope/layer.tar: no such file in the archive");

    snprintf(man, sizeof(man), "[{\"Config\":\"%s.json\",\"Layers\":[]}]", digest_hex(f->id));
    legacy_archive(f, tar, man, ARCHIVE_FILTER_NONE);
    expect_bad(f, tar, "layers length mismatch: expected 0, got 1");

    legacy_manifest(f, man, sizeof(man), "[\"notag\"]");
    legacy_archive(f, tar, man, ARCHIVE_FILTER_NONE);
    expect_bad(f, tar, "invalid tag \"notag\"");

    legacy_manifest(f, man, sizeof(man), "[\"Bad:1\"]");
    legacy_archive(f, tar, man, ARCHIVE_FILTER_NONE);
    expect_bad(f, tar, "invalid reference format");
}

static void test_read_digest_mismatch(void **state)
{
    struct fx *f = *state;
    char tar[UNIT_PATH_MAX];
    path_in(f, "bad.tar", tar);
    /* blobs/sha256/<hex> holding other content */
    const struct ent ents[] = {
        {"blobs/sha256/0000000000000000000000000000000000000000000000000000000000000000", 'f', "x",
         0}};
    write_tar(tar, ents, 1, ARCHIVE_FILTER_NONE);
    expect_bad(f, tar, "digest mismatch");
    /* a manifest naming a config blob that is missing */
    oci_layout(f, tar, "",
               "sha256:1111111111111111111111111111111111111111111111111111111111111111");
    expect_bad(f, tar, "no such file in the archive");
}

/* Names with ".." are refused; odd names choose nothing on disk. */
static void test_read_member_names(void **state)
{
    struct fx *f = *state;
    char tar[UNIT_PATH_MAX];
    path_in(f, "bad.tar", tar);
    const struct ent ents[] = {{"../escape", 'f', "x", 0}};
    write_tar(tar, ents, 1, ARCHIVE_FILTER_NONE);
    expect_bad(f, tar, "member name '../escape' is not allowed");
    char escaped[UNIT_PATH_MAX];
    unit_path(escaped, f->dir, "escape");
    assert_int_equal(access(escaped, F_OK), -1);
}

/* ---- saving ---- */

static void save_one(struct fx *f, struct save_layer *layers, size_t n, const char *out,
                     struct berr *err, int want)
{
    char cfg[UNIT_PATH_MAX];
    path_in(f, "config.json", cfg);
    unit_write_file(cfg, f->config);
    struct save_image img = {.config_path = cfg, .layers = layers, .nlayers = n};
    snprintf(img.id, sizeof(img.id), "%s", f->id);
    assert_int_equal(strv_push(&img.refs, "docker.io/library/foo:1"), 0);
    int r = image_archive_save(&img, 1, out, NULL, err);
    strv_done(&img.refs);
    if (r != want)
        fail_msg("save returned %d (%s)", r, err->msg);
}

static void test_save_layout_and_round_trip(void **state)
{
    struct fx *f = *state;
    char out[UNIT_PATH_MAX], out2[UNIT_PATH_MAX], gz[UNIT_PATH_MAX], name[128];
    path_in(f, "save.tar", out);
    path_in(f, "save2.tar", out2);
    path_in(f, "layer.tar.gz", gz);
    gzip_file(f->layer, gz); /* stored as pulled: compressed */
    struct save_layer l = {.blob = gz};
    snprintf(l.diff_id, sizeof(l.diff_id), "%s", f->diff_id);
    struct berr err = {0};
    save_one(f, &l, 1, out, &err, 0);

    char *m = tar_member(out, "manifest.json", NULL);
    char want[1024];
    snprintf(want, sizeof(want),
             "[{\"Config\":\"blobs/sha256/%s\",\"RepoTags\":[\"foo:1\"],"
             "\"Layers\":[\"blobs/sha256/%s\"]}]\n",
             digest_hex(f->id), digest_hex(f->diff_id));
    assert_string_equal(m, want);
    free(m);
    m = tar_member(out, "repositories", NULL);
    snprintf(want, sizeof(want), "{\"foo\":{\"1\":\"%s\"}}\n", digest_hex(f->diff_id));
    assert_string_equal(m, want);
    free(m);
    m = tar_member(out, "index.json", NULL);
    assert_non_null(strstr(m, "\"io.containerd.image.name\":\"docker.io/library/foo:1\""));
    assert_non_null(strstr(m, "\"org.opencontainers.image.ref.name\":\"1\""));
    free(m);
    m = tar_member(out, "oci-layout", NULL);
    assert_string_equal(m, "{\"imageLayoutVersion\": \"1.0.0\"}");
    free(m);
    /* the layer is the uncompressed tar */
    snprintf(name, sizeof(name), "blobs/sha256/%s", digest_hex(f->diff_id));
    size_t len, orig_len;
    m = tar_member(out, name, &len);
    char *orig = slurp(f->layer, &orig_len);
    assert_int_equal(len, orig_len);
    assert_memory_equal(m, orig, len);
    free(m);
    free(orig);

    /* Same images, same bytes. */
    save_one(f, &l, 1, out2, &err, 0);
    size_t a_len, b_len;
    char *a = slurp(out, &a_len), *b = slurp(out2, &b_len);
    assert_int_equal(a_len, b_len);
    assert_memory_equal(a, b, a_len);
    free(a);
    free(b);

    /* And it loads back: both layouts are there, manifest.json wins. */
    if (read_archive(f, out, &err) < 0)
        fail_msg("%s", err.msg);
    assert_string_equal(f->plan.images[0].id, f->id);
    assert_string_equal(f->plan.images[0].refs.v[0], "docker.io/library/foo:1");
    assert_string_equal(f->plan.layers[0].digest, f->diff_id);
}

static void test_save_mismatch_and_missing(void **state)
{
    struct fx *f = *state;
    char out[UNIT_PATH_MAX];
    path_in(f, "save.tar", out);
    struct save_layer l = {.blob = f->layer};
    snprintf(l.diff_id, sizeof(l.diff_id), "sha256:%064d", 0);
    struct berr err = {0};
    save_one(f, &l, 1, out, &err, -EBADMSG);
    assert_non_null(strstr(err.msg, "its stored content hashes to"));
    assert_int_equal(access(out, F_OK), -1); /* removed on failure */

    char gone[UNIT_PATH_MAX];
    path_in(f, "gone", gone);
    struct save_layer l2 = {.blob = gone, .diff_dir = NULL};
    snprintf(l2.diff_id, sizeof(l2.diff_id), "%s", f->diff_id);
    save_one(f, &l2, 1, out, &err, -ENOENT);
    assert_non_null(strstr(err.msg, "no stored blob"));
}

/* No blob: the directory is archived; an overlay whiteout (0/0 char device)
 * and an opaque directory go back to .wh. entries. Needs root (mknod,
 * trusted.* xattrs); skipped otherwise. */
static void test_save_from_directory(void **state)
{
    struct fx *f = *state;
    if (geteuid() != 0)
        skip();
    char diff[UNIT_PATH_MAX], p[UNIT_PATH_MAX + 32], out[UNIT_PATH_MAX];
    path_in(f, "diff", diff);
    path_in(f, "save.tar", out);
    assert_int_equal(mkdir(diff, 0755), 0);
    snprintf(p, sizeof(p), "%s/file", diff);
    unit_write_file(p, "content\n");
    snprintf(p, sizeof(p), "%s/gone", diff);
    assert_int_equal(mknod(p, S_IFCHR | 0, makedev(0, 0)), 0);
    snprintf(p, sizeof(p), "%s/opq", diff);
    assert_int_equal(mkdir(p, 0755), 0);
    assert_int_equal(setxattr(p, "trusted.overlay.opaque", "y", 1, 0), 0);

    struct save_layer l = {.diff_dir = diff};
    snprintf(l.diff_id, sizeof(l.diff_id), "sha256:%064d", 0);
    struct berr err = {0};
    save_one(f, &l, 1, out, &err, -EBADMSG);
    /* The message names what the directory hashes to: save with that. */
    const char *got = strstr(err.msg, "hashes to ");
    assert_non_null(got);
    snprintf(l.diff_id, sizeof(l.diff_id), "%.71s", got + strlen("hashes to "));
    snprintf(f->config, sizeof(f->config),
             "{\"architecture\":\"amd64\",\"os\":\"linux\","
             "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}",
             l.diff_id);
    sha256_digest(f->config, strlen(f->config), f->id);
    save_one(f, &l, 1, out, &err, 0);

    char name[128];
    snprintf(name, sizeof(name), "blobs/sha256/%s", digest_hex(l.diff_id));
    char layer[UNIT_PATH_MAX];
    path_in(f, "extracted-layer.tar", layer);
    size_t len;
    char *data = tar_member(out, name, &len);
    int fd = open(layer, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
    free(data);
    char *c = tar_member(layer, "file", NULL);
    assert_string_equal(c, "content\n");
    free(c);
    c = tar_member(layer, ".wh.gone", NULL);
    assert_non_null(c);
    free(c);
    c = tar_member(layer, "opq/.wh..wh..opq", NULL);
    assert_non_null(c);
    free(c);
}

/* ---- staging into a store ---- */

static void test_stage_and_commit(void **state)
{
    struct fx *f = *state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    char root[UNIT_PATH_MAX];
    path_in(f, "root", root);
    struct store *s = NULL;
    struct berr err = {0};
    assert_int_equal(store_open(root, "overlay2", &loop, &s, NULL, &err), 0);

    struct staged_layer sl;
    struct stage_opts o = {.src = f->layer,
                           .src_digest = f->diff_id,
                           .src_size = 10240,
                           .parent_chain = "",
                           .want_diff_id = "sha256:"
                                           "00000000000000000000000000000000000000000000000000"
                                           "00000000000000"};
    assert_int_equal(image_archive_stage_layer(s, &o, &sl, &err), -EBADMSG);
    assert_int_equal(err.status, 400);
    assert_non_null(strstr(err.msg, "diff ID mismatch"));
    assert_int_equal(access(sl.dir, F_OK), -1);

    o.want_diff_id = f->diff_id;
    if (image_archive_stage_layer(s, &o, &sl, &err) < 0)
        fail_msg("%s", err.msg);
    assert_string_equal(sl.layer.chain_id, f->diff_id);
    assert_string_equal(sl.layer.media_type, "application/vnd.oci.image.layer.v1.tar");
    assert_int_equal(sl.layer.size, 6);
    assert_int_equal(image_archive_commit_layer(s, &sl, &err), 0);
    char p[UNIT_PATH_MAX + 64];
    store_layer_diff_dir(s, f->diff_id, p, sizeof(p));
    strcat(p, "/hello.txt");
    assert_int_equal(access(p, F_OK), 0);
    store_blob_path(s, f->diff_id, p, sizeof(p));
    assert_int_equal(access(p, F_OK), 0);
    assert_int_equal(access(f->layer, F_OK), -1); /* moved, not copied */
    assert_int_equal(store_layer_insert(s, &sl.layer), 0);
    assert_non_null(store_layer(s, f->diff_id));

    uv_run(&loop, UV_RUN_DEFAULT);
    store_close(s);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_sniff(void **state)
{
    struct fx *f = *state;
    char gz[UNIT_PATH_MAX];
    path_in(f, "l.gz", gz);
    gzip_file(f->layer, gz);
    assert_string_equal(image_archive_sniff_layer(gz),
                        "application/vnd.oci.image.layer.v1.tar+gzip");
    assert_string_equal(image_archive_sniff_layer(f->layer),
                        "application/vnd.oci.image.layer.v1.tar");
}

int main(void)
{
    job_pool_configure(4);
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_read_legacy),
        T(test_read_compressed),
        T(test_read_links),
        T(test_read_oci_layout),
        T(test_read_malformed),
        T(test_read_digest_mismatch),
        T(test_read_member_names),
        T(test_save_layout_and_round_trip),
        T(test_save_mismatch_and_missing),
        T(test_save_from_directory),
        T(test_stage_and_commit),
        T(test_sniff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
