/* storage/store*.c: layout and tmp/ sweep, layer commit (and its race),
 * image insert/remove, every kind of lookup, tag moves, persistence of
 * references across reopen (bursts, flush at shutdown), and what startup
 * does with what a crash leaves behind. Each test gets its own data root. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/atomicfile.h"
#include "storage/fsutil.h"
#include "storage/store.h"
#include "storage/store_internal.h"

struct fx {
    char root[256];
    uv_loop_t loop;
    struct store *s;
    struct strv warnings;
};

/* ---- helpers ---- */

static void fx_open(struct fx *f)
{
    struct berr err = {0};
    strv_done(&f->warnings);
    int r = store_open(f->root, "overlay2", &f->loop, &f->s, &f->warnings, &err);
    if (r < 0)
        fail_msg("store_open: %s", err.msg);
}

/* Runs every queued job to completion, then closes the store. */
static void fx_close(struct fx *f)
{
    uv_run(&f->loop, UV_RUN_DEFAULT);
    store_close(f->s);
    f->s = NULL;
}

static void fx_reopen(struct fx *f)
{
    fx_close(f);
    fx_open(f);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    snprintf(f->root, sizeof(f->root), "/tmp/berth-store-test-XXXXXX");
    assert_non_null(mkdtemp(f->root));
    uv_loop_init(&f->loop);
    fx_open(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    if (f->s)
        fx_close(f);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    assert_int_equal(fs_rm_rf(f->root), 0);
    strv_done(&f->warnings);
    free(f);
    return 0;
}

static void write_text(const char *path, const char *text)
{
    struct berr err = {0};
    assert_int_equal(atomic_write_file(path, text, strlen(text), 0644, &err), 0);
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static bool has_warning(const struct fx *f, const char *needle)
{
    for (size_t i = 0; i < f->warnings.n; i++)
        if (strstr(f->warnings.v[i], needle))
            return true;
    return false;
}

/* A layer whose diff/ holds one file with content; diff id = its sha256. */
static void layer_fill(struct layer *l, const char *parent, const char *content)
{
    memset(l, 0, sizeof(*l));
    sha256_digest(content, strlen(content), l->diff_id);
    snprintf(l->parent, sizeof(l->parent), "%s", parent ? parent : "");
    digest_chain_id(l->parent, l->diff_id, l->chain_id);
    l->size = (int64_t)strlen(content);
}

static void make_tmp_layer(struct fx *f, const char *content, char *tmp, size_t len)
{
    char path[STORE_PATH_MAX];
    store_tmp_path(f->s, "extract", tmp, len);
    assert_int_equal(mkdir(tmp, 0700), 0);
    snprintf(path, sizeof(path), "%s/diff", tmp);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof(path), "%s/diff/file", tmp);
    write_text(path, content);
}

static void add_layer(struct fx *f, const char *parent, const char *content, struct layer *ret)
{
    char tmp[STORE_PATH_MAX];
    struct berr err = {0};
    layer_fill(ret, parent, content);
    make_tmp_layer(f, content, tmp, sizeof(tmp));
    assert_int_equal(store_layer_commit_sync(f->s, tmp, ret, &err), 0);
    assert_int_equal(store_layer_insert(f->s, ret), 0);
}

static char *config_json(const struct layer *const *layers, size_t n, const char *comment)
{
    char *out = malloc(8192);
    int off = snprintf(out, 8192,
                       "{\"architecture\":\"amd64\",\"os\":\"linux\",\"comment\":\"%s\","
                       "\"created\":\"2024-01-02T03:04:05.123456789Z\",\"config\":{},"
                       "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[",
                       comment);
    for (size_t i = 0; i < n; i++)
        off +=
            snprintf(out + off, 8192 - (size_t)off, "%s\"%s\"", i ? "," : "", layers[i]->diff_id);
    snprintf(out + off, 8192 - (size_t)off, "]}}");
    return out;
}

/* Writes (worker side) and inserts (loop side) an image, as a pull would. */
static int add_image_err(struct fx *f, const struct layer *const *layers, size_t n,
                         const char *comment, struct image **ret, struct berr *err)
{
    char *text = config_json(layers, n, comment);
    struct image rec = {.loaded_ns = 1700000000123456789LL};
    sha256_digest(text, strlen(text), rec.id);
    struct image_config cfg;
    assert_int_equal(image_config_parse(text, strlen(text), &cfg, err), 0);
    int r = store_image_write_sync(f->s, &rec, text, strlen(text), err);
    if (r == 0)
        r = store_image_insert(f->s, &cfg, rec.id, ret, err);
    if (r < 0)
        image_config_done(&cfg);
    free(text);
    return r;
}

static struct image *add_image(struct fx *f, const struct layer *const *layers, size_t n,
                               const char *comment)
{
    struct image *img = NULL;
    struct berr err = {0};
    if (add_image_err(f, layers, n, comment, &img, &err) < 0)
        fail_msg("add_image: %s", err.msg);
    return img;
}

static void tag(struct fx *f, struct image *img, const char *name)
{
    struct image_ref ref;
    struct berr err = {0};
    assert_int_equal(ref_parse(name, &ref, &err), 0);
    if (store_tag(f->s, img, &ref, &err) < 0)
        fail_msg("tag %s: %s", name, err.msg);
}

static int untag(struct fx *f, const char *name, struct berr *err)
{
    struct image_ref ref;
    assert_int_equal(ref_parse(name, &ref, err), 0);
    return store_untag(f->s, &ref, err);
}

static struct image *lookup(struct fx *f, const char *name, struct berr *err)
{
    memset(err, 0, sizeof(*err));
    return store_image_lookup(f->s, name, err);
}

static bool strv_has(const struct strv *v, const char *s)
{
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->v[i], s) == 0)
            return true;
    return false;
}

/* ---- layout ---- */

static void test_open_layout(void **state)
{
    struct fx *f = *state;
    char path[STORE_PATH_MAX];
    struct stat st;
    assert_int_equal(f->warnings.n, 0);
    snprintf(path, sizeof(path), "%s/tmp", f->root);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    const char *dirs[] = {"blobs/sha256", "layers", "images"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%s", f->root, dirs[i]);
        assert_int_equal(stat(path, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 0777, 0711);
    }
    assert_int_equal(f->s->driver, STORE_OVERLAY);
}

static void test_open_bad_driver(void **state)
{
    struct fx *f = *state;
    struct store *s = NULL;
    struct berr err = {0};
    assert_int_equal(store_open(f->root, "zfs", &f->loop, &s, NULL, &err), -EINVAL);
    assert_int_equal(err.status, 400);
    assert_non_null(strstr(err.msg, "driver not supported: zfs"));
    assert_null(s);
}

static void test_paths(void **state)
{
    struct fx *f = *state;
    char a[STORE_PATH_MAX], b[STORE_PATH_MAX], want[STORE_PATH_MAX];
    const char *dig = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    store_blob_path(f->s, dig, a, sizeof(a));
    snprintf(want, sizeof(want), "%s/blobs/sha256/%s", f->root, dig + 7);
    assert_string_equal(a, want);
    store_layer_dir(f->s, dig, a, sizeof(a));
    snprintf(want, sizeof(want), "%s/layers/%s", f->root, dig + 7);
    assert_string_equal(a, want);
    store_layer_diff_dir(f->s, dig, a, sizeof(a));
    strcat(want, "/diff");
    assert_string_equal(a, want);
    store_tmp_path(f->s, "pull", a, sizeof(a));
    store_tmp_path(f->s, "pull", b, sizeof(b));
    snprintf(want, sizeof(want), "%s/tmp/pull-", f->root);
    assert_memory_equal(a, want, strlen(want));
    assert_string_not_equal(a, b);
    assert_false(store_blob_exists_sync(f->s, dig));
}

/* ---- layers ---- */

static void test_layer_commit_and_reload(void **state)
{
    struct fx *f = *state;
    struct layer base, top;
    add_layer(f, NULL, "base content", &base);
    layer_fill(&top, base.chain_id, "top");
    snprintf(top.blob_digest, sizeof(top.blob_digest), "%s", base.diff_id);
    snprintf(top.media_type, sizeof(top.media_type), "%s", MT_OCI_LAYER_GZIP);
    top.blob_size = 1234567890123LL;
    char tmp[STORE_PATH_MAX], path[STORE_PATH_MAX];
    struct berr err = {0};
    make_tmp_layer(f, "top", tmp, sizeof(tmp));
    assert_int_equal(store_layer_commit_sync(f->s, tmp, &top, &err), 0);
    assert_false(exists(tmp));
    assert_int_equal(store_layer_insert(f->s, &top), 0);
    store_layer_diff_dir(f->s, top.chain_id, path, sizeof(path));
    strcat(path, "/file");
    assert_true(exists(path));

    fx_reopen(f);
    assert_int_equal(f->warnings.n, 0);
    struct layer *l = store_layer(f->s, top.chain_id);
    assert_non_null(l);
    assert_string_equal(l->diff_id, top.diff_id);
    assert_string_equal(l->parent, base.chain_id);
    assert_string_equal(l->blob_digest, top.blob_digest);
    assert_string_equal(l->media_type, MT_OCI_LAYER_GZIP);
    assert_int_equal(l->blob_size, 1234567890123LL);
    assert_int_equal(l->size, 3);
    assert_int_equal(l->refs, 0);
    assert_non_null(store_layer(f->s, base.chain_id));
}

static void test_layer_commit_needs_diff(void **state)
{
    struct fx *f = *state;
    struct layer l;
    layer_fill(&l, NULL, "x");
    char tmp[STORE_PATH_MAX];
    struct berr err = {0};
    store_tmp_path(f->s, "extract", tmp, sizeof(tmp));
    assert_int_equal(mkdir(tmp, 0700), 0);
    assert_int_equal(store_layer_commit_sync(f->s, tmp, &l, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "is not a directory"));
    l.chain_id[10] ^= 1; /* chain that does not follow from parent + diff */
    assert_int_equal(store_layer_insert(f->s, &l), -EINVAL);
}

struct commit_arg {
    struct store *s;
    char tmp[STORE_PATH_MAX];
    struct layer l;
    pthread_barrier_t *barrier;
    int result;
};

static void *commit_thread(void *p)
{
    struct commit_arg *a = p;
    struct berr err = {0};
    pthread_barrier_wait(a->barrier);
    a->result = store_layer_commit_sync(a->s, a->tmp, &a->l, &err);
    return NULL;
}

/* Two pulls of the same layer race; both succeed, one copy stays. */
static void test_commit_same_chain_concurrently(void **state)
{
    struct fx *f = *state;
    for (int round = 0; round < 20; round++) {
        pthread_barrier_t barrier;
        pthread_barrier_init(&barrier, NULL, 2);
        struct commit_arg a[2];
        pthread_t th[2];
        char content[32];
        snprintf(content, sizeof(content), "shared %d", round);
        for (int i = 0; i < 2; i++) {
            a[i] = (struct commit_arg){.s = f->s, .barrier = &barrier, .result = -1};
            layer_fill(&a[i].l, NULL, content);
            make_tmp_layer(f, content, a[i].tmp, sizeof(a[i].tmp));
            pthread_create(&th[i], NULL, commit_thread, &a[i]);
        }
        for (int i = 0; i < 2; i++) {
            pthread_join(th[i], NULL);
            assert_int_equal(a[i].result, 0);
            assert_false(exists(a[i].tmp));
        }
        pthread_barrier_destroy(&barrier);
        char path[STORE_PATH_MAX];
        store_layer_diff_dir(f->s, a[0].l.chain_id, path, sizeof(path));
        strcat(path, "/file");
        assert_true(exists(path));
    }
    char tmpdir[STORE_PATH_MAX];
    snprintf(tmpdir, sizeof(tmpdir), "%s/tmp", f->root);
    assert_int_equal(rmdir(tmpdir), 0); /* empty: no copy left behind */
    assert_int_equal(mkdir(tmpdir, 0700), 0);
}

/* ---- images ---- */

static void test_image_insert(void **state)
{
    struct fx *f = *state;
    struct layer l1, l2;
    add_layer(f, NULL, "one", &l1);
    add_layer(f, l1.chain_id, "two!", &l2);
    const struct layer *ls[] = {&l1, &l2};
    struct image *img = add_image(f, ls, 2, "a");
    assert_int_equal(img->nchain, 2);
    assert_string_equal(img->chain[0], l1.chain_id);
    assert_string_equal(img->chain[1], l2.chain_id);
    assert_int_equal(img->size, 3 + 4);
    assert_int_equal(store_layer(f->s, l1.chain_id)->refs, 1);
    assert_ptr_equal(store_image_by_id(f->s, img->id), img);
    assert_ptr_equal(store_image_by_id(f->s, img->id + 7), img);
    assert_string_equal(img->config.os, "linux");

    /* The same config again gives the same image. */
    assert_ptr_equal(add_image(f, ls, 2, "a"), img);
    assert_int_equal(store_layer(f->s, l1.chain_id)->refs, 1);

    /* Loaded time and size survive a restart exactly. */
    char id[DIGEST_STR_MAX];
    snprintf(id, sizeof(id), "%s", img->id);
    fx_reopen(f);
    assert_int_equal(f->warnings.n, 0);
    img = store_image_by_id(f->s, id);
    assert_non_null(img);
    assert_int_equal(img->loaded_ns, 1700000000123456789LL);
    assert_int_equal(img->size, 7);
    assert_int_equal(store_layer(f->s, l2.chain_id)->refs, 1);
}

static void test_image_insert_missing_layer(void **state)
{
    struct fx *f = *state;
    struct layer l1, ghost;
    add_layer(f, NULL, "present", &l1);
    layer_fill(&ghost, l1.chain_id, "never committed");
    const struct layer *ls[] = {&l1, &ghost};
    struct image *img = NULL;
    struct berr err = {0};
    assert_int_equal(add_image_err(f, ls, 2, "x", &img, &err), -ENOENT);
    assert_int_equal(err.status, 404);
    assert_non_null(strstr(err.msg, ghost.chain_id));
    assert_non_null(strstr(err.msg, "not present"));
    assert_int_equal(store_layer(f->s, l1.chain_id)->refs, 0);
}

static void test_image_write_checks_id(void **state)
{
    struct fx *f = *state;
    struct image rec = {0};
    struct berr err = {0};
    const char *cfg = "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";
    snprintf(rec.id, sizeof(rec.id),
             "sha256:0000000000000000000000000000000000000000000000000000000000000000");
    assert_int_equal(store_image_write_sync(f->s, &rec, cfg, strlen(cfg), &err), -EINVAL);
    assert_non_null(strstr(err.msg, "does not match"));
    struct image_config c = {0};
    struct image *img = NULL;
    assert_int_equal(store_image_insert(f->s, &c, "sha256:abc", &img, &err), -EINVAL);
    assert_int_equal(err.status, 400);
}

/* Images until two share their first hex digit (at most 17 by pigeonhole). */
static void two_with_common_prefix(struct fx *f, const struct layer *const *ls, struct image **a,
                                   struct image **b)
{
    struct image *seen[16] = {0};
    for (int i = 0;; i++) {
        char comment[16];
        snprintf(comment, sizeof(comment), "p%d", i);
        struct image *img = add_image(f, ls, 1, comment);
        int d = img->id[7] <= '9' ? img->id[7] - '0' : img->id[7] - 'a' + 10;
        if (seen[d]) {
            *a = seen[d];
            *b = img;
            return;
        }
        seen[d] = img;
    }
}

static void test_lookup_ids(void **state)
{
    struct fx *f = *state;
    struct layer l;
    add_layer(f, NULL, "base", &l);
    const struct layer *ls[] = {&l};
    struct image *a, *b;
    two_with_common_prefix(f, ls, &a, &b);
    struct berr err;
    assert_ptr_equal(lookup(f, a->id, &err), a);
    assert_ptr_equal(lookup(f, a->id + 7, &err), a);
    /* The shortest unique prefix, with and without "sha256:". */
    size_t common = 0;
    while (a->id[7 + common] == b->id[7 + common])
        common++;
    char in[80];
    snprintf(in, sizeof(in), "%.*s", (int)common + 1, a->id + 7);
    assert_ptr_equal(lookup(f, in, &err), a);
    snprintf(in, sizeof(in), "sha256:%.*s", (int)common + 1, b->id + 7);
    assert_ptr_equal(lookup(f, in, &err), b);
    /* Ambiguous: moby v28 answers 404 No such image. */
    snprintf(in, sizeof(in), "%.*s", (int)common, a->id + 7);
    assert_null(lookup(f, in, &err));
    assert_int_equal(err.status, 404);
    char want[128];
    snprintf(want, sizeof(want), "No such image: %s:latest", in);
    assert_string_equal(err.msg, want);
    /* A full ID that is not there. */
    const char *none = "sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
    if (!store_image_by_id(f->s, none)) {
        assert_null(lookup(f, none + 7, &err));
        assert_int_equal(err.status, 404);
        snprintf(want, sizeof(want), "No such image: %s", none);
        assert_string_equal(err.msg, want);
    }
    /* Uppercase hex is no ID and no valid name either. */
    snprintf(in, sizeof(in), "%.*s", 12, a->id + 7);
    for (char *p = in; *p; p++)
        if (*p >= 'a')
            *p = (char)(*p - 'a' + 'A');
    if (strpbrk(in, "ABCDEF")) {
        assert_null(lookup(f, in, &err));
        assert_int_equal(err.status, 400);
    }
}

#define DIG1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"

/* a: busybox:latest and busybox@DIG1; b: localhost:5000/foo/bar:1.0. */
static void make_ref_images(struct fx *f, struct image **a, struct image **b)
{
    struct layer l;
    add_layer(f, NULL, "base", &l);
    const struct layer *ls[] = {&l};
    *a = add_image(f, ls, 1, "a");
    *b = add_image(f, ls, 1, "b");
    tag(f, *a, "busybox");
    tag(f, *b, "localhost:5000/foo/bar:1.0");
    tag(f, *a, "busybox@" DIG1);
    assert_true(strv_has(&(*a)->tags, "docker.io/library/busybox:latest"));
    assert_true(strv_has(&(*a)->digests, "docker.io/library/busybox@" DIG1));
}

static void test_lookup_refs(void **state)
{
    struct fx *f = *state;
    struct image *a, *b;
    make_ref_images(f, &a, &b);
    struct berr err;
    const char *to_a[] = {"busybox",
                          "busybox:latest",
                          "library/busybox",
                          "docker.io/busybox",
                          "docker.io/library/busybox:latest",
                          "index.docker.io/library/busybox",
                          "busybox@" DIG1,
                          "docker.io/library/busybox@" DIG1,
                          "busybox:whatever@" DIG1}; /* the digest decides */
    for (size_t i = 0; i < sizeof(to_a) / sizeof(*to_a); i++)
        if (lookup(f, to_a[i], &err) != a)
            fail_msg("lookup %s: %s", to_a[i], err.msg);
    assert_ptr_equal(lookup(f, "localhost:5000/foo/bar:1.0", &err), b);

    /* A reference wins over an ID prefix. */
    char in[64];
    snprintf(in, sizeof(in), "%.12s", a->id + 7);
    tag(f, b, in);
    assert_ptr_equal(lookup(f, in, &err), b);
}

static void test_lookup_refs_missing(void **state)
{
    struct fx *f = *state;
    struct image *a, *b;
    make_ref_images(f, &a, &b);
    struct berr err;
    assert_null(lookup(f, "localhost:5000/foo/bar", &err));
    assert_int_equal(err.status, 404);
    assert_string_equal(err.msg, "No such image: localhost:5000/foo/bar:latest");
    assert_null(lookup(f, "busybox:1", &err));
    assert_string_equal(err.msg, "No such image: busybox:1");
    char in[256];
    snprintf(in, sizeof(in), "busybox@sha256:%064d", 2);
    assert_null(lookup(f, in, &err));
    assert_int_equal(err.status, 404);
    assert_null(lookup(f, "Busybox", &err));
    assert_int_equal(err.status, 400);
    assert_non_null(strstr(err.msg, "invalid reference format"));
    assert_null(lookup(f, "", &err));
    assert_int_equal(err.status, 400);
    assert_null(lookup(f, "sha256:abc", &err)); /* a name (sha256:abc) and no prefix */
    assert_int_equal(err.status, 404);
    assert_string_equal(err.msg, "No such image: sha256:abc");
}

static void test_tag_moves(void **state)
{
    struct fx *f = *state;
    struct layer l;
    add_layer(f, NULL, "base", &l);
    const struct layer *ls[] = {&l};
    struct image *a = add_image(f, ls, 1, "a"), *b = add_image(f, ls, 1, "b");
    struct berr err = {0};
    tag(f, a, "app:1");
    tag(f, a, "app:1"); /* again: no change */
    assert_int_equal(a->tags.n, 1);
    tag(f, b, "app:1");
    assert_int_equal(a->tags.n, 0);
    assert_int_equal(b->tags.n, 1);
    assert_string_equal(b->tags.v[0], "docker.io/library/app:1");
    tag(f, a, "app:1"); /* and back */
    assert_int_equal(b->tags.n, 0);
    assert_ptr_equal(lookup(f, "app:1", &err), a);

    char in[256];
    snprintf(in, sizeof(in), "app@sha256:%064d", 7);
    tag(f, a, in);
    tag(f, b, in);
    assert_int_equal(a->digests.n, 0);
    assert_int_equal(b->digests.n, 1);

    assert_int_equal(untag(f, "app:1", &err), 0);
    assert_int_equal(a->tags.n, 0);
    assert_null(lookup(f, "app:1", &err));
    assert_int_equal(untag(f, "app:1", &err), -ENOENT);
    assert_int_equal(err.status, 404);
    assert_string_equal(err.msg, "No such image: app:1");
    assert_int_equal(untag(f, in, &err), 0);
    assert_int_equal(b->digests.n, 0);

    struct image_ref ref;
    snprintf(in, sizeof(in), "app:2@sha256:%064d", 7);
    assert_int_equal(ref_parse(in, &ref, &err), 0);
    assert_int_equal(store_tag(f->s, a, &ref, &err), -EINVAL);
    assert_int_equal(err.status, 400);
    assert_int_equal(ref_parse("sha256:abc", &ref, &err), 0);
    assert_int_equal(store_tag(f->s, a, &ref, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "ambiguous"));
}

/* ---- removal ---- */

/* What the caller of store_image_remove does with the unused layers. */
static void drop_layers(struct fx *f, const struct layer *used, const struct layer *unused)
{
    struct berr err = {0};
    store_layer_forget(f->s, used->chain_id); /* still used: kept */
    assert_non_null(store_layer(f->s, used->chain_id));
    store_layer_forget(f->s, unused->chain_id);
    assert_null(store_layer(f->s, unused->chain_id));
    assert_int_equal(store_layer_remove_sync(f->s, unused->chain_id, &err), 0);
    assert_int_equal(store_layer_remove_sync(f->s, unused->chain_id, &err), 0); /* gone: fine */
    char dir[STORE_PATH_MAX];
    store_layer_dir(f->s, unused->chain_id, dir, sizeof(dir));
    assert_false(exists(dir));
}

static void test_remove_returns_unused_layers(void **state)
{
    struct fx *f = *state;
    struct layer base, top;
    add_layer(f, NULL, "base", &base);
    add_layer(f, base.chain_id, "top", &top);
    const struct layer *la[] = {&base, &top}, *lb[] = {&base};
    struct image *a = add_image(f, la, 2, "a"), *b = add_image(f, lb, 1, "b");
    char ida[DIGEST_STR_MAX], idb[DIGEST_STR_MAX], rec[STORE_PATH_MAX], blob[STORE_PATH_MAX];
    snprintf(ida, sizeof(ida), "%s", a->id);
    snprintf(idb, sizeof(idb), "%s", b->id);
    store_image_record_path(f->s, ida, rec, sizeof(rec));
    store_blob_path(f->s, ida, blob, sizeof(blob));
    assert_true(exists(rec) && exists(blob));
    tag(f, a, "a:1");

    struct strv unused = {0};
    struct berr err = {0};
    assert_int_equal(store_image_remove(f->s, a, &unused, &err), -EBUSY);
    assert_int_equal(err.status, 409);
    assert_int_equal(unused.n, 0);
    assert_int_equal(untag(f, "a:1", &err), 0);
    assert_int_equal(store_image_remove(f->s, a, &unused, &err), 0);
    assert_int_equal(unused.n, 1);
    assert_string_equal(unused.v[0], top.chain_id);
    assert_null(store_image_by_id(f->s, ida));
    assert_int_equal(store_layer(f->s, base.chain_id)->refs, 1);

    strv_done(&unused);
    drop_layers(f, &base, &top);

    uv_run(&f->loop, UV_RUN_DEFAULT); /* the record and config go in a job */
    assert_false(exists(rec));
    assert_false(exists(blob));
    fx_reopen(f);
    assert_int_equal(f->warnings.n, 0);
    assert_null(store_image_by_id(f->s, ida));
    assert_non_null(store_image_by_id(f->s, idb));
    assert_null(store_layer(f->s, top.chain_id));
}

/* rmi then an immediate pull of the same image: the late deletion job must
 * not remove what the pull wrote. */
static void test_remove_then_write_again(void **state)
{
    struct fx *f = *state;
    struct layer l;
    add_layer(f, NULL, "base", &l);
    const struct layer *ls[] = {&l};
    struct image *a = add_image(f, ls, 1, "a");
    char id[DIGEST_STR_MAX], rec[STORE_PATH_MAX];
    snprintf(id, sizeof(id), "%s", a->id);
    struct strv unused = {0};
    struct berr err = {0};
    assert_int_equal(store_image_remove(f->s, a, &unused, &err), 0);
    assert_int_equal(unused.n, 1);
    strv_done(&unused);
    a = add_image(f, ls, 1, "a"); /* before the deletion job ran */
    assert_string_equal(a->id, id);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    store_image_record_path(f->s, id, rec, sizeof(rec));
    assert_true(exists(rec));
    fx_reopen(f);
    assert_non_null(store_image_by_id(f->s, id));
}

/* ---- persistence of references ---- */

static void test_refs_persist_burst(void **state)
{
    struct fx *f = *state;
    struct layer l;
    add_layer(f, NULL, "base", &l);
    const struct layer *ls[] = {&l};
    struct image *a = add_image(f, ls, 1, "a"), *b = add_image(f, ls, 1, "b");
    char ida[DIGEST_STR_MAX], idb[DIGEST_STR_MAX], name[64], dig[128];
    snprintf(ida, sizeof(ida), "%s", a->id);
    snprintf(idb, sizeof(idb), "%s", b->id);
    struct berr err = {0};
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "r%d:v%d", i % 10, i % 3);
        tag(f, i % 2 ? a : b, name);
    }
    snprintf(dig, sizeof(dig), "localhost:5000/x/y@sha256:%064d", 5);
    tag(f, a, dig);
    assert_int_equal(untag(f, "r0:v0", &err), 0);
    assert_true(f->s->refs_writing);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_false(f->s->refs_writing);
    assert_false(f->s->refs_dirty);
    /* One write for the first change, one for the rest of the burst. */
    assert_int_equal(store_full(f->s)->refs_seq, 2);

    /* Expected final holders, then compare after a restart. */
    struct image *want[10][3] = {{0}};
    for (int i = 0; i < 100; i++)
        want[i % 10][i % 3] = i % 2 ? a : b;
    want[0][0] = NULL;
    fx_reopen(f);
    assert_int_equal(f->warnings.n, 0);
    for (int r = 0; r < 10; r++)
        for (int v = 0; v < 3; v++) {
            snprintf(name, sizeof(name), "r%d:v%d", r, v);
            struct image *got = lookup(f, name, &err);
            const char *wid = want[r][v] == a ? ida : want[r][v] == b ? idb : NULL;
            if (!wid)
                assert_null(got);
            else if (!got || strcmp(got->id, wid) != 0)
                fail_msg("%s: wrong image after reopen", name);
        }
    a = store_image_by_id(f->s, ida);
    assert_int_equal(a->digests.n, 1);
    assert_ptr_equal(lookup(f, dig, &err), a);
}

/* Shutdown: flush writes at once; the older job still queued must not
 * overwrite it when it runs after the store has gone. */
static void test_flush_sync_wins_over_late_job(void **state)
{
    struct fx *f = *state;
    struct layer l;
    add_layer(f, NULL, "base", &l);
    const struct layer *ls[] = {&l};
    struct image *a = add_image(f, ls, 1, "a");
    struct berr err = {0};
    tag(f, a, "first");  /* queues a write of {first} */
    tag(f, a, "second"); /* dirty */
    assert_int_equal(store_flush_sync(f->s, &err), 0);
    assert_false(f->s->refs_dirty);
    store_close(f->s); /* the job is still queued */
    f->s = NULL;
    uv_run(&f->loop, UV_RUN_DEFAULT);
    fx_open(f);
    assert_non_null(lookup(f, "first", &err));
    assert_non_null(lookup(f, "second", &err));
    assert_int_equal(store_flush_sync(f->s, &err), 0); /* nothing to do */
}

/* ---- crash leftovers and damaged files ---- */

/* What a kill -9 or a damaged disk leaves: a half extraction in tmp/, a
 * stale temp record, layer dirs without (valid) layer.json, a config blob
 * with the wrong bytes. */
static void damage_data_root(const struct fx *f, const char *bad_id, const char *good_id)
{
    char path[STORE_PATH_MAX];
    snprintf(path, sizeof(path), "%s/blobs/sha256/%s", f->root, bad_id + 7);
    write_text(path, "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}");
    snprintf(path, sizeof(path), "%s/tmp/extract-half", f->root);
    assert_int_equal(mkdir_p(path, 0700), 0);
    strcat(path, "/partial");
    write_text(path, "half");
    snprintf(path, sizeof(path), "%s/images/%s.json.tmp-4242", f->root, good_id + 7);
    write_text(path, "{");
    snprintf(path, sizeof(path), "%s/layers/%064d", f->root, 3); /* no layer.json */
    assert_int_equal(mkdir_p(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/layers/%064d/diff", f->root, 4);
    assert_int_equal(mkdir_p(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/layers/%064d/layer.json", f->root, 4);
    write_text(path, "not json");
}

/* An image whose top layer never got committed (written, not inserted). */
static void write_orphan_image(struct fx *f, const struct layer *base, struct layer *ghost,
                               char lost_id[DIGEST_STR_MAX])
{
    layer_fill(ghost, base->chain_id, "ghost");
    const struct layer *lg[] = {base, ghost};
    char *cfg = config_json(lg, 2, "lost");
    struct image rec = {0};
    struct berr err = {0};
    assert_int_equal(store_image_write_sync(f->s, &rec, cfg, strlen(cfg), &err), 0);
    sha256_digest(cfg, strlen(cfg), lost_id);
    free(cfg);
}

static void test_startup_sweeps_and_drops(void **state)
{
    struct fx *f = *state;
    struct layer l, ghost;
    add_layer(f, NULL, "base", &l);
    const struct layer *ls[] = {&l};
    struct image *good = add_image(f, ls, 1, "good"), *bad = add_image(f, ls, 1, "bad blob");
    char good_id[DIGEST_STR_MAX], bad_id[DIGEST_STR_MAX], lost_id[DIGEST_STR_MAX];
    char path[STORE_PATH_MAX];
    snprintf(good_id, sizeof(good_id), "%s", good->id);
    snprintf(bad_id, sizeof(bad_id), "%s", bad->id);
    tag(f, good, "good");
    tag(f, bad, "bad");
    write_orphan_image(f, &l, &ghost, lost_id);
    fx_close(f);
    damage_data_root(f, bad_id, good_id);

    fx_open(f);
    snprintf(path, sizeof(path), "%s/tmp", f->root);
    assert_int_equal(rmdir(path), 0); /* emptied */
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/images/%s.json.tmp-4242", f->root, good_id + 7);
    assert_false(exists(path));
    assert_non_null(store_image_by_id(f->s, good_id));
    assert_null(store_image_by_id(f->s, bad_id));
    assert_null(store_image_by_id(f->s, lost_id));
    assert_true(has_warning(f, bad_id));
    assert_true(has_warning(f, lost_id));
    assert_true(has_warning(f, ghost.chain_id));
    assert_true(has_warning(f, "reference docker.io/library/bad:latest dropped"));
    for (int i = 3; i <= 4; i++) {
        snprintf(path, sizeof(path), "layer sha256:%064d skipped", i);
        assert_true(has_warning(f, path));
    }
    struct berr err = {0};
    assert_non_null(lookup(f, "good", &err));
    assert_int_equal(store_layer(f->s, l.chain_id)->refs, 1);
}

static void test_startup_bad_references(void **state)
{
    struct fx *f = *state;
    struct layer l;
    add_layer(f, NULL, "base", &l);
    const struct layer *ls[] = {&l};
    struct image *a = add_image(f, ls, 1, "a");
    char json[1024], path[STORE_PATH_MAX];
    snprintf(json, sizeof(json),
             "{\"Repositories\":{\"docker.io/library/ok\":{\"docker.io/library/ok:1\":\"%s\"},"
             "\"Bad\":{\"Bad:1\":\"%s\",\"docker.io/library/noid:1\":\"sha256:%064d\"},"
             "\"docker.io/library/short\":{\"short:1\":\"%s\"}}}",
             a->id, a->id, 9, a->id);
    fx_close(f);
    snprintf(path, sizeof(path), "%s/repositories.json", f->root);
    write_text(path, json);
    fx_open(f);
    struct berr err = {0};
    assert_non_null(lookup(f, "ok:1", &err));
    assert_null(lookup(f, "short:1", &err)); /* not in the full form we write */
    assert_true(has_warning(f, "'Bad:1' dropped"));
    assert_true(has_warning(f, "'short:1' dropped"));
    assert_true(has_warning(f, "docker.io/library/noid:1 dropped: unknown image"));
    assert_int_equal(f->warnings.n, 3);

    fx_close(f);
    write_text(path, "[1,2");
    fx_open(f);
    assert_true(has_warning(f, "not valid JSON"));
}

int main(void)
{
    job_pool_configure(4);
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_open_layout),
        T(test_open_bad_driver),
        T(test_paths),
        T(test_layer_commit_and_reload),
        T(test_layer_commit_needs_diff),
        T(test_commit_same_chain_concurrently),
        T(test_image_insert),
        T(test_image_insert_missing_layer),
        T(test_image_write_checks_id),
        T(test_lookup_ids),
        T(test_lookup_refs),
        T(test_lookup_refs_missing),
        T(test_tag_moves),
        T(test_remove_returns_unused_layers),
        T(test_remove_then_write_again),
        T(test_refs_persist_burst),
        T(test_flush_sync_wins_over_late_job),
        T(test_startup_sweeps_and_drops),
        T(test_startup_bad_references),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
