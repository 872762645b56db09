/* The image store: blobs, layers, images and references on disk (DESIGN §3)
 * and their tables in memory.
 *
 *   <root>/blobs/sha256/<hex>          manifests, configs, compressed layers
 *   <root>/layers/<chain hex>/diff/    extracted layer (overlay lowerdir, or full
 *                                      rootfs copy for vfs)
 *   <root>/layers/<chain hex>/layer.json
 *   <root>/images/<id hex>.json        image record (see struct image)
 *   <root>/repositories.json           name:tag and name@digest -> image id
 *   <root>/tmp/                        downloads and extractions in progress
 *
 * Threads: store_open/store_close and everything named *_sync block and run
 * before the loop starts or on workers; every other function runs on the loop
 * thread and only touches memory. Writes to disk go through jobs the store
 * queues itself (repositories.json is rewritten atomically, coalescing bursts).
 * A kill -9 at any moment leaves every registered object whole: layers and
 * images appear by rename() from tmp/, and startup drops what is incomplete. */
#ifndef BERTH_STORAGE_STORE_H
#define BERTH_STORAGE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/berr.h"
#include "common/config.h"
#include "common/map.h"
#include "digest.h"
#include "manifest.h"
#include "reference.h"

struct layer {
    char chain_id[DIGEST_STR_MAX];
    char diff_id[DIGEST_STR_MAX];
    char parent[DIGEST_STR_MAX];      /* parent chain id; "" for a base layer */
    char blob_digest[DIGEST_STR_MAX]; /* compressed blob kept in blobs/ ("" if none) */
    char media_type[128];             /* of that blob */
    int64_t blob_size;
    int64_t size; /* bytes of file content in the layer */
    int refs;     /* images using it (derived, not stored) */
};

struct image {
    char id[DIGEST_STR_MAX]; /* "sha256:<hex>" = digest of the config blob */
    struct image_config config;
    char **chain; /* chain ids, base first; same count as config.ndiff_ids */
    size_t nchain;
    int64_t size;                /* sum of layer sizes */
    struct strv tags;            /* full names: "docker.io/library/busybox:latest" */
    struct strv digests;         /* full names: "docker.io/library/busybox@sha256:..." */
    char parent[DIGEST_STR_MAX]; /* local parent image (build cache), "" if none */
    int64_t loaded_ns;           /* when it entered this store */
    int users;                   /* containers using it (runtime keeps this) */
};

struct store {
    char *root;
    enum store_driver { STORE_OVERLAY, STORE_VFS } driver;
    uv_loop_t *loop;
    struct map images; /* id -> struct image* */
    struct map layers; /* chain id -> struct layer* */
    struct map refs;   /* full reference string -> struct image* */
    bool refs_dirty, refs_writing;
};

/* Creates the layout if needed, sweeps tmp/, loads layers, images and
 * references. Images whose layers or config are missing and references to
 * unknown images are dropped, each with a line in ret_warnings. Blocking. */
int store_open(const char *root, const char *driver, uv_loop_t *loop, struct store **ret,
               struct strv *ret_warnings, struct berr *err);
void store_close(struct store *s);

/* ---- paths (pure) ---- */
void store_blob_path(const struct store *s, const char *digest, char *out, size_t outlen);
void store_layer_dir(const struct store *s, const char *chain_id, char *out, size_t outlen);
void store_layer_diff_dir(const struct store *s, const char *chain_id, char *out, size_t outlen);
/* A new unique directory name under tmp/ (not created). */
void store_tmp_path(const struct store *s, const char *prefix, char *out, size_t outlen);

/* ---- lookups (loop) ---- */
struct layer *store_layer(const struct store *s, const char *chain_id);
struct image *store_image_by_id(const struct store *s, const char *id);
/* As Docker resolves an image name: full ID ("sha256:..." or 64 hex), a unique
 * ID prefix (any length, as "docker inspect 1234"), or a reference (default
 * tag "latest" added; "name@digest" matches repo digests). 404 "No such image:
 * <ref>" when absent or when a prefix is ambiguous (moby v28; <ref> is the
 * familiar form, ":latest" added to a bare name); 400 for a malformed name. */
struct image *store_image_lookup(const struct store *s, const char *name, struct berr *err);
bool store_blob_exists_sync(const struct store *s, const char *digest);

/* ---- registration ---- */

/* Worker: moves an extracted layer directory (tmp path holding diff/) into
 * layers/<chain>/ with its layer.json, atomically. If the chain already
 * exists (another pull won the race) the tmp dir is removed and 0 returned. */
int store_layer_commit_sync(const struct store *s, const char *tmp_dir, const struct layer *l,
                            struct berr *err);
/* Loop: adds a committed layer to the table (no-op if present). */
int store_layer_insert(struct store *s, const struct layer *l);

/* Worker: writes the config blob (if missing) and images/<id>.json. */
int store_image_write_sync(const struct store *s, const struct image *img, const char *config,
                           size_t config_len, struct berr *err);
/* Loop: builds an image from a parsed config whose layers are all present;
 * takes ownership of *config (zeroed on success). */
int store_image_insert(struct store *s, struct image_config *config, const char *id,
                       struct image **ret, struct berr *err);

/* Loop: point a reference (tag or digest form, full string from ref_string)
 * at an image; the previous holder loses it. Persisted asynchronously. */
int store_tag(struct store *s, struct image *img, const struct image_ref *ref, struct berr *err);
/* Loop: remove one reference; 404 when absent. */
int store_untag(struct store *s, const struct image_ref *ref, struct berr *err);

/* Loop: forget an image (no references may point at it any more) and return
 * the chain ids of layers no other image uses, for the caller to delete on a
 * worker (store_layer_remove_sync) after removing them from the table. */
int store_image_remove(struct store *s, struct image *img, struct strv *ret_unused_layers,
                       struct berr *err);
void store_layer_forget(struct store *s, const char *chain_id);
/* Loop: no layer in the table keeps this compressed blob (layers with
 * different parents may share one). */
bool store_blob_unused(const struct store *s, const char *digest);
/* Worker: removes blobs/sha256/<hex>; a missing file is success. */
int store_blob_remove_sync(const struct store *s, const char *digest, struct berr *err);
int store_layer_remove_sync(const struct store *s, const char *chain_id, struct berr *err);

/* Loop: done(ud, 0, NULL) once every reference change made so far is on
 * disk (at once when nothing is pending), or done(ud, <0, err) when the
 * write failed. A pull reports success only after this. */
typedef void (*store_saved_fn)(void *ud, int result, const struct berr *err);
void store_refs_saved(struct store *s, store_saved_fn done, void *ud);

/* Flushes repositories.json synchronously (shutdown). */
int store_flush_sync(struct store *s, struct berr *err);

#endif
