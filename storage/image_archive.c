/* Reading a load archive (layout in image_archive.h) and staging the layers
 * of loads and imports. The archive is split into work-dir files first, one
 * per regular member, named by number: member names choose nothing on disk,
 * so a hostile name cannot place a file anywhere. Links between members are
 * resolved inside the archive, lexically, with ".." stopping at its root. */
#include "image_archive.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <cjson/cJSON.h>

#include "common/atomicfile.h"
#include "common/map.h"
#include "fs_copy.h"
#include "fsutil.h"
#include "layer_extract.h"
#include "reference.h"
#include "safe_path.h"

#define COPY_BLOCK       (128 * 1024)
#define MAX_MEMBERS      65536
#define LINK_HOPS        40
#define ARCHIVE_JSON_MAX (16 * 1024 * 1024) /* manifest.json, index.json */
#define ANN_IMAGE_NAME   "io.containerd.image.name"
#define ANN_REF_NAME     "org.opencontainers.image.ref.name"
#define BLOB_PREFIX      "blobs/sha256/"

struct member {
    char *name; /* cleaned */
    char *link; /* symlink target as written, or hardlink target cleaned */
    bool hard;
    char digest[DIGEST_STR_MAX];
    int64_t size;
    size_t index; /* the file is <work_dir>/m<index> */
};

struct split {
    const char *work_dir;
    struct member *m;
    size_t n, cap;
    struct map by_name; /* name -> index + 1 */
    const atomic_bool *stop;
    struct berr *err;
    char buf[COPY_BLOCK];
};

/* What one manifest entry names, before it joins the plan. */
struct image_src {
    const struct member *config;
    const struct member **layers;
    const char **media_types; /* NULL when the manifest gives none */
    size_t nlayers;
    struct strv refs;
};

struct plan_builder {
    struct load_plan *p;
    struct split *sp;
    struct map chains; /* chain id -> layer index + 1 */
    struct map ids;    /* image id -> image index + 1 */
};

static int bad(struct berr *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* 400 "invalid archive: ..." */
static int bad(struct berr *err, const char *fmt, ...)
{
    char msg[BERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return berr_set(err, 400, EINVAL, "invalid archive: %s", msg);
}

static bool stopped(const atomic_bool *stop)
{
    return stop && atomic_load_explicit(stop, memory_order_relaxed);
}

/* ---- splitting ---- */

static void member_path(const struct split *sp, size_t index, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/m%zu", sp->work_dir, index);
}

static struct member *member_add(struct split *sp, const char *name)
{
    if (sp->n >= MAX_MEMBERS) {
        bad(sp->err, "more than %d members", MAX_MEMBERS);
        return NULL;
    }
    if (sp->n == sp->cap) {
        size_t cap = sp->cap ? sp->cap * 2 : 64;
        struct member *m = realloc(sp->m, cap * sizeof(*m));
        if (!m)
            goto oom;
        sp->m = m;
        sp->cap = cap;
    }
    struct member *m = &sp->m[sp->n];
    *m = (struct member){.name = strdup(name), .index = sp->n};
    /* A later member of the same name replaces an earlier one, as tar does. */
    if (!m->name || map_put(&sp->by_name, name, (void *)(uintptr_t)(sp->n + 1)) < 0) {
        free(m->name);
        goto oom;
    }
    sp->n++;
    return m;
oom:
    berr_set(sp->err, 500, ENOMEM, "out of memory");
    return NULL;
}

/* The archive is our own temp file: only an I/O error is ours, anything
 * else is the client's malformed archive. */
static int read_failed(struct split *sp, struct archive *a)
{
    const char *why = archive_error_string(a);
    int code = archive_errno(a);
    if (code == EIO || code == ENOMEM || code == ENOSPC)
        return berr_errno(sp->err, 500, code, "read archive");
    return bad(sp->err, "%s", why ? why : "unreadable");
}

/* Copies the current member's data into its file, hashing it. */
static int member_copy(struct split *sp, struct archive *a, struct member *m, int fd)
{
    struct sha256 h;
    sha256_init(&h);
    int r = 0;
    for (;;) {
        la_ssize_t n = archive_read_data(a, sp->buf, sizeof(sp->buf));
        if (n == 0)
            break;
        if (n < 0) {
            r = read_failed(sp, a);
            break;
        }
        if (stopped(sp->stop)) {
            r = berr_set(sp->err, 500, ECANCELED, "load cancelled");
            break;
        }
        if ((r = fd_write_all(fd, sp->buf, (size_t)n)) < 0) {
            berr_errno(sp->err, 500, -r, "write '%s'", sp->work_dir);
            break;
        }
        sha256_update(&h, sp->buf, (size_t)n);
        m->size += n;
    }
    if (r < 0)
        sha256_done(&h);
    else
        sha256_final(&h, m->digest);
    return r;
}

/* A member named blobs/sha256/<hex> must hash to that name. */
static int check_blob_name(struct split *sp, const struct member *m)
{
    const char *hex = m->name + strlen(BLOB_PREFIX);
    char want[DIGEST_STR_MAX + 8];
    if (strncmp(m->name, BLOB_PREFIX, strlen(BLOB_PREFIX)) != 0 || strlen(hex) != DIGEST_HEX_LEN)
        return 0;
    snprintf(want, sizeof(want), "sha256:%s", hex);
    if (strcmp(want, m->digest) == 0)
        return 0;
    return berr_set(sp->err, 400, EBADMSG,
                    "invalid archive: digest mismatch: %s holds content with digest %s", m->name,
                    m->digest);
}

static int member_file(struct split *sp, struct archive *a, const char *name)
{
    struct member *m = member_add(sp, name);
    if (!m)
        return -ENOMEM;
    char path[IA_PATH_MAX];
    member_path(sp, m->index, path, sizeof(path));
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return berr_errno(sp->err, 500, errno, "create '%s'", path);
    int r = member_copy(sp, a, m, fd);
    if (close(fd) < 0 && r == 0)
        r = berr_errno(sp->err, 500, errno, "write '%s'", path);
    return r < 0 ? r : check_blob_name(sp, m);
}

static int member_link(struct split *sp, const char *name, const char *target, bool hard)
{
    char clean[IA_PATH_MAX];
    if (hard && safe_path_clean(target, clean, sizeof(clean)) < 0)
        return bad(sp->err, "hardlink target '%s' leaves the archive", target);
    struct member *m = member_add(sp, name);
    if (!m)
        return -ENOMEM;
    m->hard = hard;
    m->link = strdup(hard ? clean : target);
    return m->link ? 0 : berr_set(sp->err, 500, ENOMEM, "out of memory");
}

static int split_member(struct split *sp, struct archive *a, struct archive_entry *e)
{
    const char *raw = archive_entry_pathname(e);
    char name[IA_PATH_MAX];
    if (!raw || safe_path_clean(raw, name, sizeof(name)) < 0)
        return bad(sp->err, "member name '%s' is not allowed", raw ? raw : "");
    if (!name[0])
        return 0; /* the root directory */
    const char *hard = archive_entry_hardlink(e);
    if (hard)
        return member_link(sp, name, hard, true);
    switch (archive_entry_filetype(e)) {
    case AE_IFREG:
        return member_file(sp, a, name);
    case AE_IFLNK:
        return member_link(sp, name, archive_entry_symlink(e) ? archive_entry_symlink(e) : "",
                           false);
    default:
        return 0; /* directories and anything else name nothing we read */
    }
}

/* The outer reader: decompression by libarchive itself (each filter must be
 * built in: ARCHIVE_WARN would mean running an external program), tar only. */
static struct archive *split_open(const char *path, struct berr *err)
{
    struct archive *a = archive_read_new();
    if (!a) {
        berr_set(err, 500, ENOMEM, "out of memory");
        return NULL;
    }
    if (archive_read_support_filter_gzip(a) != ARCHIVE_OK ||
        archive_read_support_filter_bzip2(a) != ARCHIVE_OK ||
        archive_read_support_filter_xz(a) != ARCHIVE_OK ||
        archive_read_support_filter_zstd(a) != ARCHIVE_OK ||
        archive_read_support_filter_none(a) != ARCHIVE_OK ||
        archive_read_support_format_tar(a) != ARCHIVE_OK) {
        berr_set(err, 500, ENOTSUP,
                 "libarchive lacks built-in decompressors; refusing to run "
                 "an external program");
        archive_read_free(a);
        return NULL;
    }
    if (archive_read_open_filename(a, path, COPY_BLOCK) != ARCHIVE_OK) {
        int code = archive_errno(a);
        const char *why = archive_error_string(a);
        if (code == EIO || code == ENOMEM || code == ENOSPC || code == ENOENT)
            berr_errno(err, 500, code, "open '%s'", path);
        else /* libarchive bids for the format while opening */
            bad(err, "%s", why ? why : "unreadable");
        archive_read_free(a);
        return NULL;
    }
    return a;
}

static int split_all(struct split *sp, const char *path)
{
    struct archive *a = split_open(path, sp->err);
    if (!a)
        return -EIO;
    int r = 0;
    while (r == 0) {
        struct archive_entry *e;
        int st = archive_read_next_header(a, &e);
        if (st == ARCHIVE_EOF)
            break;
        if (st < ARCHIVE_WARN)
            r = read_failed(sp, a);
        else if (archive_filter_count(a) > 2) /* one decompressor, as Docker */
            r = bad(sp->err, "%s", "compressed more than once");
        else
            r = split_member(sp, a, e);
    }
    archive_read_free(a);
    return r;
}

static void split_done(struct split *sp)
{
    for (size_t i = 0; i < sp->n; i++) {
        free(sp->m[i].name);
        free(sp->m[i].link);
    }
    free(sp->m);
    map_done(&sp->by_name);
}

/* ---- finding members ---- */

/* dir + "/" + rel, cleaned lexically with ".." stopping at the root (a
 * link cannot leave the archive); an absolute rel starts from the root. */
static void join_in_root(const char *dir, const char *rel, char *out, size_t outlen)
{
    char tmp[2 * IA_PATH_MAX + 2];
    snprintf(tmp, sizeof(tmp), "%s/%s", rel[0] == '/' ? "" : dir, rel);
    size_t len = 0;
    out[0] = '\0';
    for (char *save = NULL, *c = strtok_r(tmp, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (strcmp(c, ".") == 0)
            continue;
        if (strcmp(c, "..") == 0) {
            char *slash = strrchr(out, '/');
            len = slash ? (size_t)(slash - out) : 0;
            out[len] = '\0';
            continue;
        }
        int n = snprintf(out + len, outlen - len, "%s%s", len ? "/" : "", c);
        if (n < 0 || (size_t)n >= outlen - len) {
            out[0] = '\0';
            return;
        }
        len += (size_t)n;
    }
}

/* The regular member a name leads to, through links; NULL when none. */
static const struct member *resolve(const struct split *sp, const char *name)
{
    char cur[IA_PATH_MAX], next[IA_PATH_MAX];
    join_in_root("", name, cur, sizeof(cur));
    for (int hop = 0; hop < LINK_HOPS; hop++) {
        uintptr_t i = (uintptr_t)map_get(&sp->by_name, cur);
        if (!i)
            return NULL;
        const struct member *m = &sp->m[i - 1];
        if (!m->link)
            return m;
        char dir[IA_PATH_MAX];
        snprintf(dir, sizeof(dir), "%s", m->name);
        char *slash = strrchr(dir, '/');
        *(slash ? slash : dir) = '\0';
        join_in_root(m->hard ? "" : dir, m->link, next, sizeof(next));
        memcpy(cur, next, sizeof(cur));
    }
    return NULL;
}

static const struct member *need(struct split *sp, const char *name)
{
    const struct member *m = resolve(sp, name);
    if (!m)
        bad(sp->err, "%s: no such file in the archive", name);
    return m;
}

static const struct member *need_blob(struct split *sp, const char *digest, int64_t size)
{
    char name[DIGEST_STR_MAX + 16];
    if (!ref_digest_valid(digest) || strncmp(digest, "sha256:", 7) != 0) {
        bad(sp->err, "unsupported digest '%s'", digest);
        return NULL;
    }
    snprintf(name, sizeof(name), BLOB_PREFIX "%s", digest_hex(digest));
    const struct member *m = need(sp, name);
    if (m && strcmp(m->digest, digest) != 0) {
        berr_set(sp->err, 400, EBADMSG, "invalid archive: digest mismatch: blob %s has digest %s",
                 digest, m->digest);
        return NULL;
    }
    if (m && size >= 0 && m->size != size) {
        berr_set(sp->err, 400, EBADMSG,
                 "invalid archive: blob %s is %lld bytes, its descriptor says %lld", digest,
                 (long long)m->size, (long long)size);
        return NULL;
    }
    return m;
}

static int read_member(struct split *sp, const struct member *m, size_t max, char **ret,
                       size_t *ret_len)
{
    char path[IA_PATH_MAX];
    member_path(sp, m->index, path, sizeof(path));
    if ((uint64_t)m->size > max)
        return bad(sp->err, "%s is too large", m->name);
    return read_file_all(path, max, ret, ret_len, sp->err);
}

static cJSON *read_json(struct split *sp, const struct member *m)
{
    char *text = NULL;
    size_t len = 0;
    if (read_member(sp, m, ARCHIVE_JSON_MAX, &text, &len) < 0)
        return NULL;
    cJSON *j = cJSON_ParseWithLength(text, len);
    free(text);
    if (!j)
        bad(sp->err, "%s is not valid JSON", m->name);
    return j;
}

/* ---- the plan ---- */

/* A RepoTags value or name annotation: a tagged name, as moby requires. */
static int add_ref(struct split *sp, struct strv *refs, const char *s)
{
    struct image_ref ref;
    if (ref_parse(s, &ref, sp->err) < 0)
        return -EINVAL;
    if (!ref.tag[0] || ref.digest[0])
        return bad(sp->err, "invalid tag \"%s\"", s);
    char full[REF_STRING_MAX];
    ref_string(&ref, full, sizeof(full));
    for (size_t i = 0; i < refs->n; i++)
        if (strcmp(refs->v[i], full) == 0)
            return 0;
    return strv_push(refs, full) < 0 ? berr_set(sp->err, 500, ENOMEM, "out of memory") : 0;
}

static int config_check(struct split *sp, const struct image_src *src, const char *text, size_t len,
                        struct image_config *c)
{
    if (image_config_parse(text, len, c, sp->err) < 0) {
        sp->err->status = 400;
        berr_wrap(sp->err, "invalid archive: config %s", src->config->name);
        return -EINVAL;
    }
    if (c->os[0] && strcmp(c->os, "linux") != 0)
        return berr_set(sp->err, 400, EINVAL, "cannot load %s image on linux", c->os);
    if (c->ndiff_ids != src->nlayers)
        return berr_set(sp->err, 400, EINVAL,
                        "invalid archive: invalid manifest, layers length mismatch: "
                        "expected %zu, got %zu",
                        src->nlayers, c->ndiff_ids);
    return 0;
}

static int plan_layer(struct plan_builder *pb, const struct image_src *src, size_t i,
                      const char *diff_id, const char *parent, size_t *ret)
{
    char chain[DIGEST_STR_MAX];
    digest_chain_id(parent, diff_id, chain);
    uintptr_t k = (uintptr_t)map_get(&pb->chains, chain);
    if (k) {
        *ret = k - 1;
        return 0;
    }
    struct load_plan *p = pb->p;
    struct load_layer *ls = realloc(p->layers, (p->nlayers + 1) * sizeof(*ls));
    if (!ls)
        return berr_set(pb->sp->err, 500, ENOMEM, "out of memory");
    p->layers = ls;
    struct load_layer *l = memset(&ls[p->nlayers], 0, sizeof(*l));
    snprintf(l->diff_id, sizeof(l->diff_id), "%s", diff_id);
    snprintf(l->chain_id, sizeof(l->chain_id), "%s", chain);
    snprintf(l->parent, sizeof(l->parent), "%s", parent);
    member_path(pb->sp, src->layers[i]->index, l->src, sizeof(l->src));
    snprintf(l->digest, sizeof(l->digest), "%s", src->layers[i]->digest);
    l->size = src->layers[i]->size;
    if (src->media_types)
        snprintf(l->media_type, sizeof(l->media_type), "%s", src->media_types[i]);
    if (map_put(&pb->chains, chain, (void *)(uintptr_t)(p->nlayers + 1)) < 0)
        return berr_set(pb->sp->err, 500, ENOMEM, "out of memory");
    *ret = p->nlayers++;
    return 0;
}

static int plan_layers(struct plan_builder *pb, const struct image_src *src,
                       const struct image_config *c, struct load_image *img)
{
    img->layers = calloc(c->ndiff_ids ? c->ndiff_ids : 1, sizeof(*img->layers));
    if (!img->layers)
        return berr_set(pb->sp->err, 500, ENOMEM, "out of memory");
    char parent[DIGEST_STR_MAX] = ""; /* a copy: plan_layer moves the array */
    for (size_t i = 0; i < c->ndiff_ids; i++) {
        int r = plan_layer(pb, src, i, c->diff_ids[i], parent, &img->layers[i]);
        if (r < 0)
            return r;
        img->nlayers++;
        snprintf(parent, sizeof(parent), "%s", pb->p->layers[img->layers[i]].chain_id);
    }
    return 0;
}

static int merge_refs(struct split *sp, struct load_image *img, const struct strv *refs)
{
    for (size_t i = 0; i < refs->n; i++)
        if (add_ref(sp, &img->refs, refs->v[i]) < 0)
            return -EINVAL;
    return 0;
}

static int plan_image(struct plan_builder *pb, const struct image_src *src)
{
    struct load_plan *p = pb->p;
    uintptr_t k = (uintptr_t)map_get(&pb->ids, src->config->digest);
    if (k) /* the same image again: only its names count */
        return merge_refs(pb->sp, &p->images[k - 1], &src->refs);
    struct load_image *imgs = realloc(p->images, (p->nimages + 1) * sizeof(*imgs));
    if (!imgs)
        return berr_set(pb->sp->err, 500, ENOMEM, "out of memory");
    p->images = imgs;
    struct load_image *img = memset(&imgs[p->nimages++], 0, sizeof(*img));
    snprintf(img->id, sizeof(img->id), "%s", src->config->digest);
    struct image_config c = {0};
    int r = read_member(pb->sp, src->config, CONFIG_MAX_BYTES, &img->config, &img->config_len);
    if (r == 0)
        r = config_check(pb->sp, src, img->config, img->config_len, &c);
    if (r == 0)
        r = plan_layers(pb, src, &c, img);
    if (r == 0)
        r = merge_refs(pb->sp, img, &src->refs);
    if (r == 0 && map_put(&pb->ids, img->id, (void *)(uintptr_t)p->nimages) < 0)
        r = berr_set(pb->sp->err, 500, ENOMEM, "out of memory");
    image_config_done(&c);
    return r;
}

static void image_src_done(struct image_src *src)
{
    free(src->layers);
    free(src->media_types);
    strv_done(&src->refs);
    memset(src, 0, sizeof(*src));
}

/* ---- docker-archive: manifest.json ---- */

static int docker_layers(struct split *sp, const cJSON *layers, struct image_src *src)
{
    if (layers && !cJSON_IsArray(layers) && !cJSON_IsNull(layers))
        return bad(sp->err, "%s", "manifest.json: Layers is not an array");
    size_t n = (size_t)cJSON_GetArraySize(layers);
    src->layers = calloc(n ? n : 1, sizeof(*src->layers));
    if (!src->layers)
        return berr_set(sp->err, 500, ENOMEM, "out of memory");
    const cJSON *it;
    cJSON_ArrayForEach(it, layers)
    {
        if (!cJSON_IsString(it))
            return bad(sp->err, "%s", "manifest.json: a layer path is not a string");
        if (!(src->layers[src->nlayers++] = need(sp, it->valuestring)))
            return -EINVAL;
    }
    return 0;
}

static int docker_tags(struct split *sp, const cJSON *tags, struct strv *refs)
{
    if (tags && !cJSON_IsArray(tags) && !cJSON_IsNull(tags))
        return bad(sp->err, "%s", "manifest.json: RepoTags is not an array");
    const cJSON *it;
    cJSON_ArrayForEach(it, tags)
    {
        if (!cJSON_IsString(it))
            return bad(sp->err, "%s", "manifest.json: a tag is not a string");
        if (add_ref(sp, refs, it->valuestring) < 0)
            return -EINVAL;
    }
    return 0;
}

static int docker_item(struct plan_builder *pb, const cJSON *item)
{
    struct split *sp = pb->sp;
    const cJSON *config = cJSON_GetObjectItemCaseSensitive(item, "Config");
    if (!cJSON_IsObject(item) || !cJSON_IsString(config))
        return bad(sp->err, "%s", "manifest.json: an entry has no Config");
    struct image_src src = {0};
    int r = (src.config = need(sp, config->valuestring)) ? 0 : -EINVAL;
    if (r == 0)
        r = docker_layers(sp, cJSON_GetObjectItemCaseSensitive(item, "Layers"), &src);
    if (r == 0)
        r = docker_tags(sp, cJSON_GetObjectItemCaseSensitive(item, "RepoTags"), &src.refs);
    if (r == 0)
        r = plan_image(pb, &src);
    image_src_done(&src);
    return r;
}

static int read_docker_manifest(struct plan_builder *pb, const struct member *m)
{
    cJSON *doc = read_json(pb->sp, m);
    if (!doc)
        return -EINVAL;
    int r = 0;
    if (cJSON_IsNull(doc))
        r = bad(pb->sp->err, "%s", "invalid manifest, manifest cannot be null (but can be [])");
    else if (!cJSON_IsArray(doc))
        r = bad(pb->sp->err, "%s", "manifest.json is not a JSON array");
    const cJSON *it, *items = r == 0 ? doc : NULL;
    cJSON_ArrayForEach(it, items)
    {
        if ((r = docker_item(pb, it)) < 0)
            break;
    }
    cJSON_Delete(doc);
    return r;
}

/* ---- OCI image layout: index.json ---- */

static int read_manifest_blob(struct split *sp, const char *digest, int64_t size,
                              struct manifest *ret)
{
    const struct member *m = need_blob(sp, digest, size);
    char *text = NULL;
    size_t len = 0;
    int r = m ? read_member(sp, m, MANIFEST_MAX_BYTES, &text, &len) : -EINVAL;
    if (r == 0 && (r = manifest_parse(text, len, NULL, ret, sp->err)) < 0) {
        sp->err->status = 400;
        berr_wrap(sp->err, "invalid archive: manifest %s", digest);
    }
    free(text);
    return r;
}

/* An index entry down to an image manifest (nested indexes: the host's). */
static int oci_image_manifest(struct split *sp, const char *digest, int64_t size,
                              struct manifest *ret)
{
    int r = read_manifest_blob(sp, digest, size, ret);
    for (int depth = 0; r == 0 && ret->kind == MANIFEST_INDEX; depth++) {
        struct platform host;
        const struct descriptor *d;
        platform_host(&host);
        if (depth > 2)
            r = bad(sp->err, "%s", "indexes nested too deep");
        else if ((r = manifest_select(ret, &host, &d, sp->err)) < 0)
            sp->err->status = 400;
        if (r < 0)
            break;
        struct descriptor child = *d;
        manifest_done(ret);
        r = read_manifest_blob(sp, child.digest, child.size, ret);
    }
    return r;
}

static int oci_layers(struct split *sp, const struct manifest *m, struct image_src *src)
{
    src->layers = calloc(m->nlayers ? m->nlayers : 1, sizeof(*src->layers));
    src->media_types = calloc(m->nlayers ? m->nlayers : 1, sizeof(*src->media_types));
    if (!src->layers || !src->media_types)
        return berr_set(sp->err, 500, ENOMEM, "out of memory");
    for (size_t i = 0; i < m->nlayers; i++) {
        const struct descriptor *d = &m->layers[i];
        if (d->foreign)
            return bad(sp->err, "layer %s is a foreign layer: not supported", d->digest);
        if (!(src->layers[i] = need_blob(sp, d->digest, d->size)))
            return -EINVAL;
        src->media_types[i] = d->media_type;
        src->nlayers++;
    }
    return 0;
}

/* The names an index entry gives its image: the full name annotation, else
 * a ref.name that is a whole tagged reference (a bare tag names nothing). */
static int oci_refs(struct split *sp, const cJSON *ann, struct strv *refs)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(ann, ANN_IMAGE_NAME);
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(ann, ANN_REF_NAME);
    if (cJSON_IsString(name))
        return add_ref(sp, refs, name->valuestring);
    struct image_ref parsed;
    struct berr ignored;
    if (cJSON_IsString(ref) && ref_parse(ref->valuestring, &parsed, &ignored) == 0 &&
        parsed.tag[0] && (strchr(ref->valuestring, ':') || strchr(ref->valuestring, '/')))
        return add_ref(sp, refs, ref->valuestring);
    return 0;
}

static int oci_entry(struct plan_builder *pb, const cJSON *d)
{
    struct split *sp = pb->sp;
    const cJSON *digest = cJSON_GetObjectItemCaseSensitive(d, "digest");
    const cJSON *size = cJSON_GetObjectItemCaseSensitive(d, "size");
    if (!cJSON_IsString(digest))
        return bad(sp->err, "%s", "index.json: an entry has no digest");
    struct manifest m = {0};
    struct image_src src = {0};
    int r = oci_image_manifest(sp, digest->valuestring,
                               cJSON_IsNumber(size) ? (int64_t)size->valuedouble : -1, &m);
    if (r == 0 && !(src.config = need_blob(sp, m.config.digest, m.config.size)))
        r = -EINVAL;
    if (r == 0)
        r = oci_layers(sp, &m, &src);
    if (r == 0)
        r = oci_refs(sp, cJSON_GetObjectItemCaseSensitive(d, "annotations"), &src.refs);
    if (r == 0)
        r = plan_image(pb, &src);
    image_src_done(&src);
    manifest_done(&m);
    return r;
}

static int read_oci_index(struct plan_builder *pb, const struct member *m)
{
    cJSON *doc = read_json(pb->sp, m);
    if (!doc)
        return -EINVAL;
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(doc, "manifests");
    int r = cJSON_IsArray(list) ? 0 : bad(pb->sp->err, "%s", "index.json has no manifests list");
    const cJSON *it, *items = r == 0 ? list : NULL;
    cJSON_ArrayForEach(it, items)
    {
        if ((r = oci_entry(pb, it)) < 0)
            break;
    }
    cJSON_Delete(doc);
    return r;
}

/* ---- reading ---- */

static int read_plan(struct split *sp, struct load_plan *p)
{
    struct plan_builder pb = {.p = p, .sp = sp};
    const struct member *docker = resolve(sp, "manifest.json");
    const struct member *oci = resolve(sp, "index.json");
    int r;
    if (docker)
        r = read_docker_manifest(&pb, docker);
    else if (oci)
        r = read_oci_index(&pb, oci);
    else
        r = bad(sp->err, "%s",
                "neither manifest.json nor index.json found (not a `docker save` archive "
                "or OCI image layout)");
    map_done(&pb.chains);
    map_done(&pb.ids);
    return r;
}

int image_archive_read(const char *archive_path, const char *work_dir, const atomic_bool *stop,
                       struct load_plan *ret, struct berr *err)
{
    memset(ret, 0, sizeof(*ret));
    if (mkdir(work_dir, 0700) < 0)
        return berr_errno(err, 500, errno, "create '%s'", work_dir);
    struct split *sp = calloc(1, sizeof(*sp));
    if (!sp)
        return berr_set(err, 500, ENOMEM, "out of memory");
    sp->work_dir = work_dir;
    sp->stop = stop;
    sp->err = err;
    int r = split_all(sp, archive_path);
    if (r == 0)
        r = read_plan(sp, ret);
    split_done(sp);
    free(sp);
    if (r < 0)
        load_plan_done(ret);
    return r;
}

void load_plan_done(struct load_plan *p)
{
    for (size_t i = 0; i < p->nimages; i++) {
        free(p->images[i].config);
        free(p->images[i].layers);
        strv_done(&p->images[i].refs);
    }
    free(p->images);
    free(p->layers);
    memset(p, 0, sizeof(*p));
}

/* ---- staging and committing layers ---- */

const char *image_archive_sniff_layer(const char *path)
{
    unsigned char b[4] = {0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, b, sizeof(b));
    if (fd >= 0)
        close(fd);
    if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b)
        return MT_OCI_LAYER_GZIP;
    if (n == 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd)
        return MT_OCI_LAYER_ZSTD;
    return MT_OCI_LAYER;
}

static void staged_record(const struct stage_opts *o, const struct extract_result *res,
                          struct staged_layer *sl)
{
    struct layer *l = &sl->layer;
    snprintf(l->diff_id, sizeof(l->diff_id), "%s", res->diff_id);
    snprintf(l->parent, sizeof(l->parent), "%s", o->parent_chain ? o->parent_chain : "");
    digest_chain_id(l->parent, l->diff_id, l->chain_id);
    snprintf(l->blob_digest, sizeof(l->blob_digest), "%s", o->src_digest);
    const char *mt =
        o->media_type && o->media_type[0] ? o->media_type : image_archive_sniff_layer(o->src);
    snprintf(l->media_type, sizeof(l->media_type), "%s", mt);
    l->blob_size = o->src_size;
    l->size = (int64_t)res->content_size;
}

static int stage_into(const struct store *s, const struct stage_opts *o, const char *diff,
                      struct extract_result *res, struct berr *err)
{
    bool vfs = s->driver == STORE_VFS;
    if (mkdir_p(diff, 0755) < 0)
        return berr_errno(err, 500, errno, "create '%s'", diff);
    if (vfs && o->parent_dir && o->parent_dir[0]) {
        int r = fs_copy_tree(o->parent_dir, diff, err); /* vfs: each layer is a full root */
        if (r < 0)
            return r;
    }
    struct extract_opts eo = {
        .whiteouts = vfs ? WHITEOUT_VFS : WHITEOUT_OVERLAY,
        .compression = -1,
        .stop = o->stop,
        .progress_bytes = o->progress,
    };
    return layer_extract(o->src, diff, &eo, res, err);
}

int image_archive_stage_layer(const struct store *s, const struct stage_opts *o,
                              struct staged_layer *ret, struct berr *err)
{
    memset(ret, 0, sizeof(*ret));
    char prefix[32], diff[IA_PATH_MAX + 8];
    snprintf(prefix, sizeof(prefix), "layer-%.12s", digest_hex(o->src_digest));
    store_tmp_path(s, prefix, ret->dir, sizeof(ret->dir));
    snprintf(ret->blob, sizeof(ret->blob), "%s", o->src);
    snprintf(diff, sizeof(diff), "%s/diff", ret->dir);
    struct extract_result res;
    int r = stage_into(s, o, diff, &res, err);
    if (r == 0 && o->want_diff_id && strcmp(o->want_diff_id, res.diff_id) != 0)
        r = berr_set(err, 400, EBADMSG,
                     "invalid archive: layer diff ID mismatch: the image config says %s, "
                     "the layer is %s",
                     o->want_diff_id, res.diff_id);
    if (r < 0) {
        fs_rm_rf(ret->dir);
        return r;
    }
    staged_record(o, &res, ret);
    return 0;
}

int image_archive_commit_layer(const struct store *s, const struct staged_layer *sl,
                               struct berr *err)
{
    char blob[IA_PATH_MAX];
    store_blob_path(s, sl->layer.blob_digest, blob, sizeof(blob));
    /* Two chains may share one source file: the first commit moved it. */
    if (rename(sl->blob, blob) < 0 && !(errno == ENOENT && access(blob, F_OK) == 0))
        return berr_errno(err, 500, errno, "store blob %s", sl->layer.blob_digest);
    char *slash = strrchr(blob, '/');
    *slash = '\0';
    int r = fs_fsync_dir(blob);
    if (r < 0)
        return berr_errno(err, 500, -r, "sync '%s'", blob);
    return store_layer_commit_sync(s, sl->dir, &sl->layer, err);
}

void image_archive_discard_layer(const struct staged_layer *sl)
{
    if (sl->dir[0])
        (void)fs_rm_rf(sl->dir);
}
