/* Writing a save archive (layout in image_archive.h). Every layer becomes an
 * uncompressed tar whose digest is its diff ID: the stored blob decompressed
 * (twice: the tar header needs the size before the data, and the first pass
 * also proves the content still hashes to the diff ID), or, for a layer
 * without a blob, its directory archived into a scratch file. Entries get
 * fixed modes and mtime 0, so saving the same images twice gives the same
 * bytes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <cjson/cJSON.h>

#include "common/atomicfile.h"
#include "common/jsonutil.h"
#include "common/map.h"
#include "image_archive.h"
#include "layer_archive.h"
#include "reference.h"

#define COPY_BLOCK      (128 * 1024)
#define OCI_LAYOUT_TEXT "{\"imageLayoutVersion\": \"1.0.0\"}"
#define ANN_IMAGE_NAME  "io.containerd.image.name"
#define ANN_REF_NAME    "org.opencontainers.image.ref.name"

struct save_session {
    struct archive *a;
    const char *out_path;
    const atomic_bool *stop;
    struct berr *err;
    struct map written; /* digest -> int64_t* size, blobs already in the archive */
    cJSON *index;       /* index.json "manifests" */
    cJSON *manifest;    /* manifest.json */
    cJSON *repos;       /* repositories */
    unsigned scratch_n;
    char buf[COPY_BLOCK];
};

void save_image_done(struct save_image *img)
{
    for (size_t i = 0; i < img->nlayers; i++) {
        free(img->layers[i].blob);
        free(img->layers[i].diff_dir);
    }
    free(img->layers);
    free(img->config_path);
    strv_done(&img->refs);
    memset(img, 0, sizeof(*img));
}

/* ---- writing entries ---- */

static bool stopped(const struct save_session *ss)
{
    return ss->stop && atomic_load_explicit(ss->stop, memory_order_relaxed);
}

static int cancelled(struct save_session *ss)
{
    return berr_set(ss->err, 500, ECANCELED, "save cancelled");
}

static int write_failed(struct save_session *ss)
{
    int code = archive_errno(ss->a) > 0 ? archive_errno(ss->a) : EIO;
    const char *why = archive_error_string(ss->a);
    return berr_set(ss->err, 500, code, "write '%s': %s", ss->out_path, why ? why : "failed");
}

static int put_header(struct save_session *ss, const char *name, unsigned type, int64_t size)
{
    struct archive_entry *e = archive_entry_new();
    if (!e)
        return berr_set(ss->err, 500, ENOMEM, "out of memory");
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
    archive_entry_set_size(e, type == AE_IFDIR ? 0 : size);
    archive_entry_set_mtime(e, 0, 0);
    int r = archive_write_header(ss->a, e);
    archive_entry_free(e);
    return r == ARCHIVE_OK ? 0 : write_failed(ss);
}

static int put_data(struct save_session *ss, const void *data, size_t len)
{
    while (len > 0) {
        la_ssize_t n = archive_write_data(ss->a, data, len);
        if (n <= 0)
            return write_failed(ss);
        data = (const char *)data + n;
        len -= (size_t)n;
    }
    return 0;
}

static int put_file(struct save_session *ss, const char *name, const void *data, size_t len)
{
    int r = put_header(ss, name, AE_IFREG, (int64_t)len);
    return r < 0 ? r : put_data(ss, data, len);
}

/* A JSON document as a member; with nl, a trailing newline as Go's
 * json.Encoder writes (manifest.json, repositories). */
static int put_json(struct save_session *ss, const char *name, const cJSON *doc, bool nl)
{
    char *text = cJSON_PrintUnformatted(doc);
    if (!text)
        return berr_set(ss->err, 500, ENOMEM, "out of memory");
    size_t len = strlen(text);
    char *full = nl ? realloc(text, len + 2) : text;
    if (!full) {
        free(text);
        return berr_set(ss->err, 500, ENOMEM, "out of memory");
    }
    if (nl)
        memcpy(full + len++, "\n", 2);
    int r = put_file(ss, name, full, len);
    free(full);
    return r;
}

static void blob_name(const char *digest, char *out, size_t outlen)
{
    snprintf(out, outlen, "blobs/sha256/%s", digest_hex(digest));
}

static int mark_written(struct save_session *ss, const char *digest, int64_t size)
{
    int64_t *v = malloc(sizeof(*v));
    if (!v || map_put(&ss->written, digest, v) < 0) {
        free(v);
        return berr_set(ss->err, 500, ENOMEM, "out of memory");
    }
    *v = size;
    return 0;
}

/* A blob from memory (config, manifest), once. */
static int put_blob(struct save_session *ss, const char *digest, const void *data, size_t len)
{
    if (map_get(&ss->written, digest))
        return 0;
    char name[96];
    blob_name(digest, name, sizeof(name));
    int r = put_file(ss, name, data, len);
    return r < 0 ? r : mark_written(ss, digest, (int64_t)len);
}

/* ---- reading a layer blob, decompressed ---- */

/* libarchive as a decompressor only (raw format), never running an external
 * program: gzip, zstd or nothing, once. */
static struct archive *raw_open(const char *path, bool *ret_eof, struct berr *err)
{
    struct archive *a = archive_read_new();
    struct archive_entry *e;
    if (!a) {
        berr_set(err, 500, ENOMEM, "out of memory");
        return NULL;
    }
    int r = ARCHIVE_FATAL;
    if (archive_read_support_filter_gzip(a) == ARCHIVE_OK &&
        archive_read_support_filter_zstd(a) == ARCHIVE_OK &&
        archive_read_support_filter_none(a) == ARCHIVE_OK &&
        archive_read_support_format_raw(a) == ARCHIVE_OK &&
        archive_read_support_format_empty(a) == ARCHIVE_OK &&
        archive_read_open_filename(a, path, COPY_BLOCK) == ARCHIVE_OK)
        r = archive_read_next_header(a, &e);
    *ret_eof = r == ARCHIVE_EOF;
    if ((r != ARCHIVE_OK && r != ARCHIVE_EOF) || archive_filter_count(a) > 2) {
        const char *why = archive_error_string(a);
        berr_set(err, 500, EIO, "read layer blob '%s': %s", path,
                 r == ARCHIVE_OK ? "compressed more than once"
                 : why           ? why
                                 : "unreadable");
        archive_read_free(a);
        return NULL;
    }
    return a;
}

/* Streams the decompressed blob: to the archive when out is set, else only
 * counting and hashing. */
static int blob_pass(struct save_session *ss, const char *path, bool out, int64_t *ret_size,
                     char digest[DIGEST_STR_MAX])
{
    bool eof;
    struct archive *in = raw_open(path, &eof, ss->err);
    if (!in)
        return -EIO;
    struct sha256 h;
    sha256_init(&h);
    int64_t size = 0;
    int r = 0;
    while (!eof && r == 0) {
        la_ssize_t n = archive_read_data(in, ss->buf, sizeof(ss->buf));
        if (n == 0)
            break;
        if (stopped(ss))
            r = cancelled(ss);
        else if (n < 0)
            r = berr_set(ss->err, 500, EIO, "read layer blob '%s': %s", path,
                         archive_error_string(in) ? archive_error_string(in) : "failed");
        else if (out)
            r = put_data(ss, ss->buf, (size_t)n);
        if (r == 0 && n > 0) {
            sha256_update(&h, ss->buf, (size_t)n);
            size += n;
        }
    }
    archive_read_free(in);
    if (r < 0) {
        sha256_done(&h);
        return r;
    }
    sha256_final(&h, digest);
    *ret_size = size;
    return 0;
}

/* ---- layers ---- */

static int layer_mismatch(struct save_session *ss, const struct save_layer *l, const char *got)
{
    return berr_set(ss->err, 500, EBADMSG,
                    "layer %s: its stored content hashes to %s; the image cannot be exported",
                    l->diff_id, got);
}

/* The layer tar in a file of its own: the stored blob, or the directory
 * archived into a scratch file (*ret_scratch set, for the caller to remove). */
static int layer_source(struct save_session *ss, const struct save_layer *l, char *scratch,
                        size_t len, bool *ret_scratch)
{
    *ret_scratch = false;
    if (l->blob && access(l->blob, F_OK) == 0) {
        snprintf(scratch, len, "%s", l->blob);
        return 0;
    }
    if (!l->diff_dir || l->full_root)
        return berr_set(ss->err, 500, ENOENT,
                        "layer %s: no stored blob, and its directory holds its parents too "
                        "(vfs): cannot export it",
                        l->diff_id);
    snprintf(scratch, len, "%s.layer-%u", ss->out_path, ss->scratch_n++);
    *ret_scratch = true;
    /* the same archiver as commit's: a layer it wrote hashes the same again */
    struct layer_src src = {.top = l->diff_dir};
    struct layer_tar_opts o = {.stop = ss->stop};
    struct layer_tar_result res;
    return layer_tar_write_sync(&src, scratch, &o, &res, ss->err);
}

static int put_layer(struct save_session *ss, const struct save_layer *l)
{
    if (map_get(&ss->written, l->diff_id))
        return 0;
    char src[IA_PATH_MAX + 32], name[96], got[DIGEST_STR_MAX];
    bool scratch;
    int64_t size = 0, copied = 0;
    int r = layer_source(ss, l, src, sizeof(src), &scratch);
    if (r == 0)
        r = blob_pass(ss, src, false, &size, got);
    if (r == 0 && strcmp(got, l->diff_id) != 0)
        r = layer_mismatch(ss, l, got);
    blob_name(l->diff_id, name, sizeof(name));
    if (r == 0)
        r = put_header(ss, name, AE_IFREG, size);
    if (r == 0)
        r = blob_pass(ss, src, true, &copied, got);
    if (r == 0 && (copied != size || strcmp(got, l->diff_id) != 0))
        r = berr_set(ss->err, 500, EIO, "layer %s changed while it was saved", l->diff_id);
    if (scratch)
        unlink(src);
    return r < 0 ? r : mark_written(ss, l->diff_id, size);
}

/* ---- one image ---- */

/* Attach item, or free it: the caller's reference is gone either way. */
static bool add_item(cJSON *obj, const char *key, cJSON *item)
{
    if (obj && item && cJSON_AddItemToObject(obj, key, item))
        return true;
    cJSON_Delete(item);
    return false;
}

static bool append(cJSON *arr, cJSON *item)
{
    if (arr && item && cJSON_AddItemToArray(arr, item))
        return true;
    cJSON_Delete(item);
    return false;
}

static cJSON *descriptor(const char *media_type, const char *digest, int64_t size)
{
    cJSON *d = cJSON_CreateObject();
    if (d && (!cJSON_AddStringToObject(d, "mediaType", media_type) ||
              !cJSON_AddStringToObject(d, "digest", digest) || !json_add_int64(d, "size", size))) {
        cJSON_Delete(d);
        return NULL;
    }
    return d;
}

static cJSON *platform_json(const struct image_config *c)
{
    cJSON *p = cJSON_CreateObject();
    if (p) {
        cJSON_AddStringToObject(p, "architecture", c->architecture);
        cJSON_AddStringToObject(p, "os", c->os);
        if (c->variant[0])
            cJSON_AddStringToObject(p, "variant", c->variant);
    }
    return p;
}

/* The image's OCI manifest, as it is written into blobs/. */
static char *oci_manifest(struct save_session *ss, const struct save_image *img, size_t config_len)
{
    cJSON *m = cJSON_CreateObject();
    cJSON *layers = cJSON_CreateArray();
    bool ok = add_item(m, "layers", layers) && json_add_int64(m, "schemaVersion", 2) &&
              cJSON_AddStringToObject(m, "mediaType", MT_OCI_MANIFEST) &&
              add_item(m, "config", descriptor(MT_OCI_CONFIG, img->id, (int64_t)config_len));
    for (size_t i = 0; ok && i < img->nlayers; i++) {
        const int64_t *size = map_get(&ss->written, img->layers[i].diff_id);
        ok = append(layers, descriptor(MT_OCI_LAYER, img->layers[i].diff_id, *size));
    }
    char *text = ok ? cJSON_PrintUnformatted(m) : NULL;
    cJSON_Delete(m);
    return text;
}

/* One index.json entry; ref NULL for an untagged image. */
static bool index_entry(struct save_session *ss, const char *digest, size_t len,
                        const struct image_config *c, const struct image_ref *ref)
{
    cJSON *d = descriptor(MT_OCI_MANIFEST, digest, (int64_t)len);
    if (!append(ss->index, d))
        return false;
    if (ref) {
        char full[REF_STRING_MAX];
        ref_string(ref, full, sizeof(full));
        cJSON *ann = cJSON_AddObjectToObject(d, "annotations");
        if (!ann || !cJSON_AddStringToObject(ann, ANN_IMAGE_NAME, full) ||
            !cJSON_AddStringToObject(ann, ANN_REF_NAME, ref->tag))
            return false;
    }
    return add_item(d, "platform", platform_json(c));
}

/* manifest.json RepoTags and repositories for one tag. */
static bool record_tag(struct save_session *ss, const struct save_image *img,
                       const struct image_ref *ref, cJSON *tags)
{
    char fam[REF_STRING_MAX], name[REF_STRING_MAX];
    ref_familiar_string(ref, fam, sizeof(fam));
    ref_familiar_name(ref, name, sizeof(name));
    cJSON *repo = cJSON_GetObjectItemCaseSensitive(ss->repos, name);
    if (!repo && !(repo = cJSON_AddObjectToObject(ss->repos, name)))
        return false;
    const char *top = img->nlayers ? digest_hex(img->layers[img->nlayers - 1].diff_id) : "";
    cJSON_DeleteItemFromObjectCaseSensitive(repo, ref->tag);
    return cJSON_AddStringToObject(repo, ref->tag, top) && append(tags, cJSON_CreateString(fam));
}

/* RepoTags of manifest.json (and repositories, index.json entries): JSON
 * null when there are none, as Go marshals a nil slice. */
static cJSON *repo_tags(struct save_session *ss, const struct save_image *img,
                        const struct image_config *c, const char *mdigest, size_t mlen)
{
    cJSON *tags = cJSON_CreateArray();
    bool ok = tags != NULL;
    for (size_t i = 0; ok && i < img->refs.n; i++) {
        struct image_ref ref;
        struct berr e;
        if (ref_parse(img->refs.v[i], &ref, &e) < 0 || !ref.tag[0])
            continue; /* only tags are recorded, as moby does */
        ok = record_tag(ss, img, &ref, tags) && index_entry(ss, mdigest, mlen, c, &ref);
    }
    if (ok && cJSON_GetArraySize(tags) == 0) {
        ok = index_entry(ss, mdigest, mlen, c, NULL);
        cJSON_Delete(tags);
        tags = cJSON_CreateNull();
    }
    if (!ok) {
        cJSON_Delete(tags);
        return NULL;
    }
    return tags;
}

/* One manifest.json item, fields in moby's manifestItem order. */
static int image_entries(struct save_session *ss, const struct save_image *img,
                         const struct image_config *c, const char *mdigest, size_t mlen)
{
    cJSON *item = cJSON_CreateObject();
    cJSON *layers = cJSON_CreateArray();
    char path[96];
    blob_name(img->id, path, sizeof(path));
    bool ok = append(ss->manifest, item) && cJSON_AddStringToObject(item, "Config", path) &&
              add_item(item, "RepoTags", repo_tags(ss, img, c, mdigest, mlen));
    ok = ok ? add_item(item, "Layers", layers) : (cJSON_Delete(layers), false);
    for (size_t i = 0; ok && i < img->nlayers; i++) {
        blob_name(img->layers[i].diff_id, path, sizeof(path));
        ok = append(layers, cJSON_CreateString(path));
    }
    return ok ? 0 : berr_set(ss->err, 500, ENOMEM, "out of memory");
}

static int read_config(struct save_session *ss, const struct save_image *img, char **ret,
                       size_t *ret_len, struct image_config *c)
{
    int r = read_file_all(img->config_path, CONFIG_MAX_BYTES, ret, ret_len, ss->err);
    if (r == 0 && (r = image_config_parse(*ret, *ret_len, c, ss->err)) < 0)
        berr_wrap(ss->err, "image %s", img->id);
    if (r == 0 && c->ndiff_ids != img->nlayers)
        r = berr_set(ss->err, 500, EINVAL, "image %s: %zu layers, config lists %zu", img->id,
                     img->nlayers, c->ndiff_ids);
    return r;
}

static int put_image(struct save_session *ss, const struct save_image *img)
{
    char *config = NULL, *man = NULL, mdigest[DIGEST_STR_MAX];
    size_t len = 0;
    struct image_config c = {0};
    int r = read_config(ss, img, &config, &len, &c);
    if (r == 0)
        r = put_blob(ss, img->id, config, len);
    for (size_t i = 0; r == 0 && i < img->nlayers; i++)
        r = put_layer(ss, &img->layers[i]);
    if (r == 0 && !(man = oci_manifest(ss, img, len)))
        r = berr_set(ss->err, 500, ENOMEM, "out of memory");
    if (r == 0) {
        sha256_digest(man, strlen(man), mdigest);
        r = put_blob(ss, mdigest, man, strlen(man));
    }
    if (r == 0)
        r = image_entries(ss, img, &c, mdigest, strlen(man));
    free(man);
    free(config);
    image_config_done(&c);
    return r;
}

/* ---- the archive ---- */

static int put_trailer(struct save_session *ss)
{
    cJSON *index = cJSON_CreateObject();
    int r = index && json_add_int64(index, "schemaVersion", 2) &&
                    cJSON_AddStringToObject(index, "mediaType", MT_OCI_INDEX) &&
                    cJSON_AddItemReferenceToObject(index, "manifests", ss->index)
                ? put_json(ss, "index.json", index, false)
                : berr_set(ss->err, 500, ENOMEM, "out of memory");
    cJSON_Delete(index);
    if (r == 0)
        r = put_json(ss, "manifest.json", ss->manifest, true);
    if (r == 0)
        r = put_file(ss, "oci-layout", OCI_LAYOUT_TEXT, strlen(OCI_LAYOUT_TEXT));
    if (r == 0 && ss->repos->child)
        r = put_json(ss, "repositories", ss->repos, true);
    return r;
}

static int save_all(struct save_session *ss, const struct save_image *imgs, size_t n)
{
    ss->a = archive_write_new();
    ss->index = cJSON_CreateArray();
    ss->manifest = cJSON_CreateArray();
    ss->repos = cJSON_CreateObject();
    if (!ss->a || !ss->index || !ss->manifest || !ss->repos)
        return berr_set(ss->err, 500, ENOMEM, "out of memory");
    if (archive_write_set_format_pax_restricted(ss->a) != ARCHIVE_OK ||
        archive_write_add_filter_none(ss->a) != ARCHIVE_OK)
        return write_failed(ss);
    int fd = open(ss->out_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return berr_errno(ss->err, 500, errno, "create '%s'", ss->out_path);
    if (archive_write_open_fd(ss->a, fd) != ARCHIVE_OK) {
        close(fd);
        return write_failed(ss);
    }
    int r = put_header(ss, "blobs/", AE_IFDIR, 0);
    if (r == 0)
        r = put_header(ss, "blobs/sha256/", AE_IFDIR, 0);
    for (size_t i = 0; r == 0 && i < n; i++)
        r = stopped(ss) ? cancelled(ss) : put_image(ss, &imgs[i]);
    if (r == 0)
        r = put_trailer(ss);
    if (r == 0 && archive_write_close(ss->a) != ARCHIVE_OK)
        r = write_failed(ss);
    if (r == 0 && fsync(fd) < 0)
        r = berr_errno(ss->err, 500, errno, "write '%s'", ss->out_path);
    /* Freed before the fd is closed: freeing a failed archive still writes
     * its end blocks, which must land in our (doomed) file, not in
     * whatever file reuses the number. */
    archive_write_free(ss->a);
    ss->a = NULL;
    close(fd);
    return r;
}

int image_archive_save(const struct save_image *imgs, size_t n, const char *out_path,
                       const atomic_bool *stop, struct berr *err)
{
    struct save_session *ss = calloc(1, sizeof(*ss));
    if (!ss)
        return berr_set(err, 500, ENOMEM, "out of memory");
    ss->out_path = out_path;
    ss->stop = stop;
    ss->err = err;
    int r = save_all(ss, imgs, n);
    if (ss->a)
        archive_write_free(ss->a);
    const char *k;
    void *v;
    for (size_t i = 0; map_next(&ss->written, &i, &k, &v);)
        free(v);
    map_done(&ss->written);
    cJSON_Delete(ss->index);
    cJSON_Delete(ss->manifest);
    cJSON_Delete(ss->repos);
    free(ss);
    if (r < 0)
        unlink(out_path);
    return r;
}
