/* Startup: the layout, the tmp/ sweep, and loading layers and images.
 * Anything incomplete or inconsistent is skipped with a warning; nothing
 * found on disk is deleted except leftovers of interrupted writes. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/atomicfile.h"
#include "fsutil.h"
#include "store_internal.h"

/* ---- JSON helpers ---- */

int store_json_str(const cJSON *obj, const char *key, char *out, size_t outlen)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    out[0] = '\0';
    if (!item || cJSON_IsNull(item))
        return 0;
    if (!cJSON_IsString(item) || strlen(item->valuestring) >= outlen)
        return -EINVAL;
    memcpy(out, item->valuestring, strlen(item->valuestring) + 1);
    return 0;
}

/* The digits after "key": in text, when their value agrees with cJSON's. */
static bool raw_int64(const char *text, const char *key, double want, int64_t *ret)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "\"%s\"", key);
    for (const char *p = strstr(text, pat); p; p = strstr(p + 1, pat)) {
        const char *q = p + strlen(pat);
        q += strspn(q, " \t\r\n");
        if (*q != ':')
            continue;
        char *end;
        errno = 0;
        long long v = strtoll(q + 1, &end, 10);
        if (errno == 0 && end != q + 1 && (double)v == want) {
            *ret = v;
            return true;
        }
    }
    return false;
}

int store_json_int64(const cJSON *obj, const char *text, const char *key, int64_t *ret)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsNumber(item))
        return -EINVAL;
    double d = item->valuedouble;
    if (d != d || d < -9.2e18 || d > 9.2e18)
        return -EINVAL;
    /* cJSON keeps a double: exact below 2^53, beyond that read the digits. */
    if ((d < 0 ? -d : d) < 9007199254740992.0 || !raw_int64(text, key, d, ret))
        *ret = (int64_t)d;
    return 0;
}

/* ---- layout ---- */

static int make_dir(const struct store *s, const char *sub, mode_t mode, struct berr *err)
{
    char path[STORE_PATH_MAX];
    store_path(s, path, sizeof(path), "%s", sub);
    int r = mkdir_p(path, mode);
    return r < 0 ? berr_errno(err, 500, -r, "create '%s'", path) : 0;
}

/* Removes the "<name>.tmp-<tid>" files atomic_write_file left in a crash,
 * for names that start with prefix (the root is shared with others). */
static void sweep_stale_writes(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    for (struct dirent *de; (de = readdir(d));)
        if (strncmp(de->d_name, prefix, strlen(prefix)) == 0 && strstr(de->d_name, ".tmp-"))
            (void)unlinkat(dirfd(d), de->d_name, 0);
    closedir(d);
}

static int store_layout(struct store *s, struct berr *err)
{
    int r = mkdir_p(s->root, 0711);
    if (r < 0)
        return berr_errno(err, 500, -r, "create data root '%s'", s->root);
    if ((r = make_dir(s, "blobs/sha256", 0711, err)) < 0 ||
        (r = make_dir(s, "layers", 0711, err)) < 0 || (r = make_dir(s, "images", 0711, err)) < 0 ||
        (r = make_dir(s, "tmp", 0700, err)) < 0)
        return r;
    char path[STORE_PATH_MAX];
    store_path(s, path, sizeof(path), "tmp");
    /* Whatever is in tmp/ was being downloaded or extracted when we died. */
    r = fs_empty_dir(path);
    if (r < 0)
        return berr_errno(err, 500, -r, "empty '%s'", path);
    sweep_stale_writes(s->root, "repositories.json.tmp-");
    store_path(s, path, sizeof(path), "images");
    sweep_stale_writes(path, "");
    return 0;
}

/* ---- directory walk ---- */

typedef int (*entry_fn)(struct store *s, const char *name, struct strv *w);

static int for_each_entry(struct store *s, const char *sub, entry_fn fn, struct strv *w,
                          struct berr *err)
{
    char path[STORE_PATH_MAX];
    store_path(s, path, sizeof(path), "%s", sub);
    DIR *d = opendir(path);
    if (!d)
        return berr_errno(err, 500, errno, "open '%s'", path);
    int r = 0;
    for (struct dirent *de; r == 0 && (de = readdir(d));)
        if (de->d_name[0] != '.')
            r = fn(s, de->d_name, w);
    closedir(d);
    if (r == -ENOMEM)
        berr_set(err, 500, ENOMEM, "out of memory");
    return r;
}

static bool is_hex64(const char *s, size_t n)
{
    if (n != DIGEST_HEX_LEN)
        return false;
    char id[DIGEST_STR_MAX];
    snprintf(id, sizeof(id), "sha256:%.*s", (int)n, s);
    return store_id_valid(id);
}

/* ---- layers ---- */

static int load_layer(struct store *s, const char *name, struct strv *w)
{
    if (!is_hex64(name, strlen(name))) {
        store_warn(w, "layers/%s: not a layer directory, skipped", name);
        return 0;
    }
    char path[STORE_PATH_MAX], *text = NULL;
    size_t len = 0;
    struct berr err = {0};
    struct layer l;
    store_path(s, path, sizeof(path), "layers/%s/layer.json", name);
    int r = read_file_all(path, STORE_META_MAX, &text, &len, &err);
    if (r == 0)
        r = store_layer_from_json(text, len, &l, &err);
    free(text);
    if (r == 0 && strcmp(digest_hex(l.chain_id), name) != 0)
        r = berr_set(&err, 500, EINVAL, "layer.json names %s", l.chain_id);
    store_path(s, path, sizeof(path), "layers/%s/diff", name);
    if (r == 0 && !fs_is_dir(path))
        r = berr_set(&err, 500, ENOENT, "diff/ is missing");
    if (r < 0) {
        store_warn(w, "layer sha256:%s skipped: %s", name, err.msg);
        return 0;
    }
    return store_layer_table_add(s, &l);
}

/* ---- images ---- */

struct record {
    cJSON *json;
    const cJSON *chain;
    char parent[DIGEST_STR_MAX];
    int64_t loaded_ns;
};

static int read_record(const struct store *s, const char *id, struct record *rec, struct berr *err)
{
    char path[STORE_PATH_MAX], *text = NULL;
    store_image_record_path(s, id, path, sizeof(path));
    int r = read_file_all(path, STORE_META_MAX, &text, NULL, err);
    if (r < 0)
        return r;
    rec->json = cJSON_Parse(text);
    const cJSON *rid = cJSON_GetObjectItemCaseSensitive(rec->json, "id");
    rec->chain = cJSON_GetObjectItemCaseSensitive(rec->json, "chain");
    r = -EINVAL;
    if (cJSON_IsString(rid) && strcmp(rid->valuestring, id) == 0 && cJSON_IsArray(rec->chain) &&
        store_json_str(rec->json, "parent", rec->parent, sizeof(rec->parent)) == 0 &&
        store_json_int64(rec->json, text, "loaded", &rec->loaded_ns) == 0)
        r = 0;
    free(text);
    return r < 0 ? berr_set(err, 500, EINVAL, "malformed record %s", path) : 0;
}

/* The config blob must hash to the ID and parse. */
static int read_config(const struct store *s, const char *id, struct image_config *ret,
                       struct berr *err)
{
    char path[STORE_PATH_MAX], *data = NULL, got[DIGEST_STR_MAX];
    size_t len = 0;
    store_blob_path(s, id, path, sizeof(path));
    int r = read_file_all(path, CONFIG_MAX_BYTES, &data, &len, err);
    if (r < 0)
        return r;
    sha256_digest(data, len, got);
    if (strcmp(got, id) != 0)
        r = berr_set(err, 500, EINVAL, "config blob hashes to %s", got);
    else
        r = image_config_parse(data, len, ret, err);
    free(data);
    return r;
}

/* The stored chain must be the one the config's diff_ids give. */
static bool chain_matches(const cJSON *stored, char **chain, size_t n)
{
    if ((size_t)cJSON_GetArraySize(stored) != n)
        return false;
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, stored)
    {
        if (!cJSON_IsString(it) || strcmp(it->valuestring, chain[i++]) != 0)
            return false;
    }
    return true;
}

static int build_image(struct store *s, const char *id, struct record *rec, struct berr *err)
{
    struct image *img = calloc(1, sizeof(*img));
    if (!img)
        return -ENOMEM;
    snprintf(img->id, sizeof(img->id), "%s", id);
    snprintf(img->parent, sizeof(img->parent), "%s", rec->parent);
    img->loaded_ns = rec->loaded_ns;
    int r = read_config(s, id, &img->config, err);
    if (r == 0)
        r = store_image_chain(s, &img->config, &img->chain, err);
    if (r == 0)
        img->nchain = img->config.ndiff_ids;
    if (r == 0 && !chain_matches(rec->chain, img->chain, img->nchain))
        r = berr_set(err, 500, EINVAL, "its layer chain does not match its config");
    if (r == 0 && (r = store_image_attach(s, img)) == 0)
        return 0;
    store_image_free(img);
    return r;
}

static int load_image(struct store *s, const char *name, struct strv *w)
{
    size_t n = strlen(name);
    if (n != DIGEST_HEX_LEN + 5 || strcmp(name + DIGEST_HEX_LEN, ".json") != 0 ||
        !is_hex64(name, DIGEST_HEX_LEN)) {
        store_warn(w, "images/%s: not an image record, skipped", name);
        return 0;
    }
    char id[DIGEST_STR_MAX];
    snprintf(id, sizeof(id), "sha256:%.*s", DIGEST_HEX_LEN, name);
    struct record rec = {0};
    struct berr err = {0};
    int r = read_record(s, id, &rec, &err);
    if (r == 0)
        r = build_image(s, id, &rec, &err);
    cJSON_Delete(rec.json);
    if (r == -ENOMEM)
        return r;
    if (r < 0)
        store_warn(w, "image %s dropped: %s", id, err.msg);
    return 0;
}

int store_load_all(struct store *s, struct strv *warnings, struct berr *err)
{
    int r = store_layout(s, err);
    if (r == 0)
        r = for_each_entry(s, "layers", load_layer, warnings, err);
    if (r == 0)
        r = for_each_entry(s, "images", load_image, warnings, err);
    return r;
}
