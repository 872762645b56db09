/* Image archives: the blocking half of `docker save`, `docker load` and
 * `docker import`. Writing a save archive, reading a load archive, and
 * staging then committing the layers they carry. Workers only; nothing here
 * touches the store's tables (the loop inserts what a commit produced).
 *
 * A save archive holds both layouts in one tar, as moby >= 25 writes it:
 *
 *   oci-layout                  {"imageLayoutVersion": "1.0.0"}
 *   index.json                  OCI index: per tag one entry for the image's
 *                               manifest, annotated io.containerd.image.name
 *                               (full name) and org.opencontainers.image.ref.name
 *                               (the tag); an untagged image gets one plain entry
 *   blobs/sha256/<hex>          each image's config, its OCI manifest, and every
 *                               layer once, as an uncompressed tar (digest = diff ID)
 *   manifest.json               docker-archive: [{"Config","RepoTags","Layers"}]
 *                               with blobs/ paths and familiar tags (null if none)
 *   repositories                {"<familiar name>":{"<tag>":"<top diff ID hex>"}}
 *
 * A load archive (plain tar, or gzip, bzip2, xz or zstd compressed) is either
 * a docker-archive (manifest.json; layer paths as "<id>/layer.tar" in the
 * layout of docker < 25 or blobs/ in the newer one), or a bare OCI image
 * layout (index.json, used when there is no manifest.json; nested indexes
 * resolve to the host platform). Tar gives no random access, so the members
 * are first split into numbered files of a work directory, each hashed on
 * the way: every member named blobs/sha256/<hex> must hash to <hex>. Symlinks
 * and hardlinks between members are followed inside the archive only. */
#ifndef BERTH_STORAGE_IMAGE_ARCHIVE_H
#define BERTH_STORAGE_IMAGE_ARCHIVE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/berr.h"
#include "common/config.h"
#include "manifest.h"
#include "store.h"

#define IA_PATH_MAX 4096

/* ---- save ---- */

struct save_layer {
    char diff_id[DIGEST_STR_MAX];
    char *blob;     /* the stored blob (plain, gzip or zstd), or NULL */
    char *diff_dir; /* layers/<chain>/diff: archived when there is no blob */
    bool full_root; /* diff_dir holds the parents' files too (vfs, not a base layer) */
};

struct save_image {
    char id[DIGEST_STR_MAX];
    char *config_path; /* blobs/sha256/<id> */
    struct strv refs;  /* full tagged references to record ("docker.io/library/x:1") */
    struct save_layer *layers;
    size_t nlayers;
};

void save_image_done(struct save_image *img);

/* Writes the archive of imgs (in this order, shared layers once) to out_path,
 * which must not exist; scratch files go next to it and are removed. A layer
 * whose content no longer hashes to its diff ID is an error. stop is polled
 * (-ECANCELED). On failure out_path is removed. */
int image_archive_save(const struct save_image *imgs, size_t n, const char *out_path,
                       const atomic_bool *stop, struct berr *err);

/* ---- load ---- */

struct load_layer {
    char diff_id[DIGEST_STR_MAX];
    char chain_id[DIGEST_STR_MAX];
    char parent[DIGEST_STR_MAX]; /* parent chain ID, "" for a base layer */
    char src[IA_PATH_MAX];       /* the member file holding the layer tar */
    char digest[DIGEST_STR_MAX]; /* of that file */
    int64_t size;
    char media_type[128]; /* from the OCI manifest, "" when unknown */
};

struct load_image {
    char id[DIGEST_STR_MAX]; /* digest of config */
    char *config;            /* the config blob, exactly as in the archive */
    size_t config_len;
    struct strv refs; /* full tagged references from RepoTags / annotations */
    size_t *layers;   /* indexes into load_plan.layers, base first */
    size_t nlayers;
};

struct load_plan {
    struct load_image *images; /* archive order, each ID once */
    size_t nimages;
    struct load_layer *layers; /* each chain ID once, parents before children */
    size_t nlayers;
};

/* Splits the archive into work_dir (created, 0700; the caller removes it)
 * and reads its manifests into ret. Nothing in the store changes. 400 for a
 * malformed archive (no manifest, bad JSON, missing member, digest or size
 * mismatch, a layer count that does not match its config, an invalid tag). */
int image_archive_read(const char *archive_path, const char *work_dir, const atomic_bool *stop,
                       struct load_plan *ret, struct berr *err);
void load_plan_done(struct load_plan *p);

/* ---- layers of loads and imports ---- */

struct stage_opts {
    const char *src;        /* layer tar, plain or compressed */
    const char *src_digest; /* its sha256 */
    int64_t src_size;
    const char *media_type;     /* of src; NULL or "": told by its first bytes */
    const char *parent_chain;   /* "" for a base layer */
    const char *parent_dir;     /* vfs: the parent's diff/ (staged or committed) */
    const char *want_diff_id;   /* NULL: whatever the tar hashes to */
    const atomic_bool *stop;    /* -ECANCELED */
    _Atomic uint64_t *progress; /* bytes of src consumed */
};

struct staged_layer {
    char dir[IA_PATH_MAX];  /* below tmp/, holding diff/ */
    char blob[IA_PATH_MAX]; /* src, to become the layer's blob */
    struct layer layer;     /* what image_archive_commit_layer registers */
};

/* Extracts o->src into a new directory below the store's tmp/ (for vfs on a
 * copy of the parent's tree) and checks its diff ID. 400 for a hostile or
 * malformed layer (layer_extract refuses it) and for a diff ID mismatch. */
int image_archive_stage_layer(const struct store *s, const struct stage_opts *o,
                              struct staged_layer *ret, struct berr *err);
/* Moves the source into blobs/ and the staged directory into layers/. A
 * layer registered meanwhile by someone else wins; ours is dropped. */
int image_archive_commit_layer(const struct store *s, const struct staged_layer *sl,
                               struct berr *err);
/* Removes what staging left in tmp/ (not the source file). */
void image_archive_discard_layer(const struct staged_layer *sl);

/* Media type of a layer file by its first bytes: gzip, zstd or plain tar.
 * Blocking (reads the file). */
const char *image_archive_sniff_layer(const char *path);

#endif
