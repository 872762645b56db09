/* The image store: opening and closing, paths, lookups and the jobs the
 * store queues itself. Loading is in store_load.c, layers in
 * store_layers.c, images in store_images.c, references in store_refs.c. */
#include "store.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/macros.h"
#include "common/timeutil.h"
#include "store_internal.h"

/* ---- shared state and jobs ---- */

static struct store_shared *store_shared_new(void)
{
    struct store_shared *sh = calloc(1, sizeof(*sh));
    if (!sh)
        return NULL;
    atomic_init(&sh->refs, 1);
    pthread_mutex_init(&sh->refs_lock, NULL);
    pthread_mutex_init(&sh->tomb_lock, NULL);
    return sh;
}

void store_shared_unref(struct store_shared *sh)
{
    if (!sh || atomic_fetch_sub(&sh->refs, 1) != 1)
        return;
    pthread_mutex_destroy(&sh->refs_lock);
    pthread_mutex_destroy(&sh->tomb_lock);
    map_done(&sh->tombs);
    free(sh);
}

int store_job_queue(struct store_full *sf, struct store_job *sj, job_run_fn run, job_done_fn done)
{
    if (!sf->pub.loop)
        return UV_EINVAL;
    job_init(&sj->job, run, done);
    sj->owner = sf;
    sj->shared = sf->shared;
    atomic_fetch_add(&sf->shared->refs, 1);
    list_add_tail(&sf->jobs, &sj->link);
    int r = job_queue(sf->pub.loop, &sj->job);
    if (r < 0)
        store_job_finish(sj);
    return r;
}

void store_job_finish(struct store_job *sj)
{
    list_del(&sj->link);
    store_shared_unref(sj->shared);
    sj->shared = NULL;
}

void store_warn(struct strv *w, const char *fmt, ...)
{
    if (!w)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    (void)strv_push(w, msg); /* out of memory: the warning is lost, nothing else */
}

/* ---- open / close ---- */

static int parse_driver(const char *driver, enum store_driver *ret, struct berr *err)
{
    if (!driver || !*driver || strcmp(driver, "overlay2") == 0 || strcmp(driver, "overlay") == 0)
        *ret = STORE_OVERLAY;
    else if (strcmp(driver, "vfs") == 0)
        *ret = STORE_VFS;
    else
        return berr_set(err, 400, EINVAL,
                        "error initializing graphdriver: driver not supported: %s", driver);
    return 0;
}

static struct store_full *store_alloc(const char *root, enum store_driver drv, uv_loop_t *loop)
{
    struct store_full *sf = calloc(1, sizeof(*sf));
    if (!sf)
        return NULL;
    list_init(&sf->jobs);
    list_init(&sf->refs_waiters);
    sf->pub.driver = drv;
    sf->pub.loop = loop;
    sf->pub.images = (struct map)MAP_INIT;
    sf->pub.layers = (struct map)MAP_INIT;
    sf->pub.refs = (struct map)MAP_INIT;
    sf->pub.root = strdup(root);
    sf->shared = store_shared_new();
    if (!sf->pub.root || !sf->shared) {
        store_close(&sf->pub);
        return NULL;
    }
    /* Trailing slashes would double up in every path. */
    size_t n = strlen(sf->pub.root);
    while (n > 1 && sf->pub.root[n - 1] == '/')
        sf->pub.root[--n] = '\0';
    return sf;
}

int store_open(const char *root, const char *driver, uv_loop_t *loop, struct store **ret,
               struct strv *ret_warnings, struct berr *err)
{
    enum store_driver drv = STORE_OVERLAY;
    int r = parse_driver(driver, &drv, err);
    if (r < 0)
        return r;
    if (!root || !*root || strlen(root) > STORE_PATH_MAX - 256)
        return berr_set(err, 400, EINVAL, "invalid data root '%s'", root ? root : "");
    struct store_full *sf = store_alloc(root, drv, loop);
    if (!sf)
        return berr_set(err, 500, ENOMEM, "out of memory");
    r = store_load_all(&sf->pub, ret_warnings, err);
    if (r == 0)
        r = store_refs_load(&sf->pub, ret_warnings);
    if (r == -ENOMEM)
        berr_set(err, 500, ENOMEM, "out of memory");
    if (r < 0) {
        store_close(&sf->pub);
        return r;
    }
    *ret = &sf->pub;
    return 0;
}

void store_close(struct store *s)
{
    if (!s)
        return;
    struct store_full *sf = store_full(s);
    store_refs_drop_waiters(sf);
    /* Jobs still in flight finish on their own and only free themselves. */
    struct list *pos, *tmp;
    list_for_each_safe(pos, tmp, &sf->jobs)
    {
        container_of(pos, struct store_job, link)->owner = NULL;
        list_del(pos);
    }
    const char *key;
    void *v;
    for (size_t i = 0; map_next(&s->images, &i, &key, &v);)
        store_image_free(v);
    for (size_t i = 0; map_next(&s->layers, &i, &key, &v);)
        free(v);
    map_done(&s->images);
    map_done(&s->layers);
    map_done(&s->refs);
    store_shared_unref(sf->shared);
    free(s->root);
    free(sf);
}

/* ---- paths ---- */

void store_path(const struct store *s, char *out, size_t outlen, const char *fmt, ...)
{
    int n = snprintf(out, outlen, "%s/", s->root);
    if (n < 0 || (size_t)n >= outlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out + n, outlen - (size_t)n, fmt, ap);
    va_end(ap);
}

void store_blob_path(const struct store *s, const char *digest, char *out, size_t outlen)
{
    const char *colon = strchr(digest, ':');
    if (!colon) {
        store_path(s, out, outlen, "blobs/sha256/%s", digest);
        return;
    }
    store_path(s, out, outlen, "blobs/%.*s/%s", (int)(colon - digest), digest, colon + 1);
}

void store_layer_dir(const struct store *s, const char *chain_id, char *out, size_t outlen)
{
    store_path(s, out, outlen, "layers/%s", digest_hex(chain_id));
}

void store_layer_diff_dir(const struct store *s, const char *chain_id, char *out, size_t outlen)
{
    store_path(s, out, outlen, "layers/%s/diff", digest_hex(chain_id));
}

void store_image_record_path(const struct store *s, const char *id, char *out, size_t outlen)
{
    store_path(s, out, outlen, "images/%s.json", digest_hex(id));
}

void store_tmp_path(const struct store *s, const char *prefix, char *out, size_t outlen)
{
    static atomic_uint_fast64_t counter;
    uint64_t n = atomic_fetch_add(&counter, 1);
    /* tmp/ is emptied at every start, so time + counter is unique enough. */
    store_path(s, out, outlen, "tmp/%s-%llx-%llx", prefix && *prefix ? prefix : "tmp",
               (unsigned long long)time_now_ns(), (unsigned long long)n);
}

bool store_blob_exists_sync(const struct store *s, const char *digest)
{
    char path[STORE_PATH_MAX];
    store_blob_path(s, digest, path, sizeof(path));
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* ---- lookups ---- */

static bool is_lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

bool store_id_valid(const char *id)
{
    return id && strncmp(id, "sha256:", 7) == 0 && strlen(id + 7) == DIGEST_HEX_LEN &&
           is_lower_hex(id + 7, DIGEST_HEX_LEN);
}

struct layer *store_layer(const struct store *s, const char *chain_id)
{
    return chain_id ? map_get(&s->layers, chain_id) : NULL;
}

struct image *store_image_by_id(const struct store *s, const char *id)
{
    if (!id)
        return NULL;
    if (strncmp(id, "sha256:", 7) == 0)
        return map_get(&s->images, id);
    char full[DIGEST_STR_MAX];
    snprintf(full, sizeof(full), "sha256:%s", id);
    return map_get(&s->images, full);
}

/* moby's reference store Get: name:tag@digest is looked up by name@digest
 * only; a bare name gets the default tag. */
static struct image *lookup_ref(const struct store *s, const struct image_ref *in)
{
    struct image_ref r = *in;
    if (r.digest[0])
        r.tag[0] = '\0';
    else
        ref_default_tag(&r);
    char full[REF_STRING_MAX];
    ref_string(&r, full, sizeof(full));
    return map_get(&s->refs, full);
}

/* moby's image store Search (digestset.Lookup): a "sha256:"-optional hex
 * prefix that matches exactly one ID. */
static struct image *lookup_prefix(const struct store *s, const char *in)
{
    const char *hex = strncmp(in, "sha256:", 7) == 0 ? in + 7 : in;
    size_t n = strlen(hex);
    if (n == 0 || n >= DIGEST_HEX_LEN || !is_lower_hex(hex, n))
        return NULL;
    struct image *found = NULL;
    const char *key;
    void *v;
    for (size_t i = 0; map_next(&s->images, &i, &key, &v);) {
        if (strncmp(digest_hex(key), hex, n) != 0)
            continue;
        if (found)
            return NULL; /* ambiguous */
        found = v;
    }
    return found;
}

/* As moby's ImageService.GetImage (daemon/images/image.go, unchanged through
 * v28): a full ID; else the input as a reference (invalid syntax -> 400);
 * else a unique ID prefix. An ambiguous prefix is not an error of its own:
 * digestset.Lookup fails with ErrDigestAmbiguous, which GetImage turns into
 * ErrImageDoesNotExist, i.e. 404 "No such image: <ref>" where <ref> is the
 * familiar form with ":latest" added to a bare name (TagNameOnly). */
struct image *store_image_lookup(const struct store *s, const char *name, struct berr *err)
{
    if (!name)
        name = "";
    if (ref_is_full_id(name)) {
        char id[DIGEST_STR_MAX];
        snprintf(id, sizeof(id), "sha256:%s", digest_hex(name));
        struct image *img = map_get(&s->images, id);
        if (!img)
            berr_set(err, 404, ENOENT, "No such image: %s", id);
        return img;
    }
    struct image_ref ref;
    if (ref_parse(name, &ref, err) < 0)
        return NULL;
    struct image *img = lookup_ref(s, &ref);
    if (!img)
        img = lookup_prefix(s, name);
    if (!img) {
        char shown[REF_STRING_MAX];
        ref_default_tag(&ref);
        ref_familiar_string(&ref, shown, sizeof(shown));
        berr_set(err, 404, ENOENT, "No such image: %s", shown);
    }
    return img;
}
