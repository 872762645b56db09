/* Registry manifests and image configs (see manifest.h). The rules follow
 * moby's distribution/pull_v2.go and config.go, docker/distribution's
 * unmarshallers (schema2, manifestlist, ocischema) and containerd's
 * media-type sanity checks. Platform matching lives in platform.c. */
#include "manifest.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/macros.h"

#define MANIFEST_MAX_ENTRIES 1024

/* Largest integer a double (cJSON's number type) holds exactly. */
#define JSON_MAX_EXACT_INT 9007199254740992.0

/* moby's DeprecatedSchema1ImageError (distribution/errors.go), without the
 * reference, which the parser does not know. */
#define SCHEMA1_MSG                                                                                \
    "Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has been "       \
    "removed. More information at https://docs.docker.com/go/deprecated-image-specs/"

const char *const manifest_accept_types[] = {
    MT_OCI_INDEX,
    MT_DOCKER_LIST,
    MT_OCI_MANIFEST,
    MT_DOCKER_MANIFEST,
    /* Asked for as moby does, only so that a schema1-only image gets the
     * deprecation error instead of a confusing 404. */
    MT_DOCKER_SCHEMA1S,
    MT_DOCKER_SCHEMA1,
    NULL,
};

/* ---- JSON helpers ------------------------------------------------------ */

/* Rejects raw control characters, which JSON never allows (cJSON would
 * treat NUL and friends between tokens as whitespace). */
static int json_check_bytes(const char *body, size_t len, const char *what, struct berr *err)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)body[i];
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
            return berr_set(err, 400, EINVAL, "invalid %s: control character 0x%02x at byte %zu",
                            what, c, i);
    }
    return 0;
}

/* Parses a whole JSON object: nothing but whitespace may follow it. */
static int json_parse_object(const char *body, size_t len, const char *what, cJSON **ret,
                             struct berr *err)
{
    if (len == 0)
        return berr_set(err, 400, EINVAL, "invalid %s: empty body", what);
    int r = json_check_bytes(body, len, what, err);
    if (r < 0)
        return r;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, false);
    if (!root) {
        size_t at = end && end >= body && end <= body + len ? (size_t)(end - body) : 0;
        return berr_set(err, 400, EINVAL, "invalid %s: malformed JSON at byte %zu", what, at);
    }
    size_t off = (size_t)(end - body);
    while (off < len && strchr(" \t\r\n", body[off]))
        off++;
    if (off < len) {
        cJSON_Delete(root);
        return berr_set(err, 400, EINVAL, "invalid %s: unexpected data after JSON at byte %zu",
                        what, off);
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return berr_set(err, 400, EINVAL, "invalid %s: not a JSON object", what);
    }
    *ret = root;
    return 0;
}

/* Finds key in obj as Go's encoding/json does (exact or case-insensitive
 * match). Go keeps the last of duplicate keys and cJSON the first, so a
 * repeated key is ambiguous and rejected. JSON null counts as absent. */
static int json_field(const cJSON *obj, const char *key, const char *what, const char *ctx,
                      const cJSON **ret, struct berr *err)
{
    const cJSON *found = NULL;
    for (const cJSON *c = obj->child; c; c = c->next) {
        if (!c->string || strcasecmp(c->string, key) != 0)
            continue;
        if (found)
            return berr_set(err, 400, EINVAL, "invalid %s: duplicate key '%s%s'", what, ctx, key);
        found = c;
    }
    *ret = found && !cJSON_IsNull(found) ? found : NULL;
    return 0;
}

/* A string field; *ret is NULL when absent (unless required). */
static int json_string(const cJSON *obj, const char *key, bool required, const char *what,
                       const char *ctx, const char **ret, struct berr *err)
{
    const cJSON *item;
    int r = json_field(obj, key, what, ctx, &item, err);
    if (r < 0)
        return r;
    *ret = NULL;
    if (!item) {
        if (required)
            return berr_set(err, 400, EINVAL, "invalid %s: %s%s is missing", what, ctx, key);
        return 0;
    }
    if (!cJSON_IsString(item) || !item->valuestring)
        return berr_set(err, 400, EINVAL, "invalid %s: %s%s must be a string", what, ctx, key);
    *ret = item->valuestring;
    return 0;
}

/* Copies a string field into a fixed buffer, refusing to truncate. */
static int copy_field(char *dst, size_t dstlen, const char *src, const char *what, const char *ctx,
                      const char *key, struct berr *err)
{
    size_t n = strlen(src);
    if (n >= dstlen)
        return berr_set(err, 400, EINVAL, "invalid %s: %s%s is too long (%zu bytes, limit %zu)",
                        what, ctx, key, n, dstlen - 1);
    memcpy(dst, src, n + 1);
    return 0;
}

static int json_string_copy(const cJSON *obj, const char *key, bool required, char *dst,
                            size_t dstlen, const char *what, const char *ctx, struct berr *err)
{
    const char *s;
    int r = json_string(obj, key, required, what, ctx, &s, err);
    if (r < 0)
        return r;
    dst[0] = '\0';
    return s ? copy_field(dst, dstlen, s, what, ctx, key, err) : 0;
}

/* "sha256:" and exactly 64 lowercase hex digits: the only algorithm the
 * store computes. Other registered algorithms get their own message. */
static int digest_check(const char *s, const char *what, const char *ctx, const char *key,
                        struct berr *err)
{
    const char *colon = strchr(s, ':');
    if (colon && colon != s && strncmp(s, "sha256:", 7) != 0 &&
        (strncmp(s, "sha384:", 7) == 0 || strncmp(s, "sha512:", 7) == 0))
        return berr_set(err, 400, EINVAL, "invalid %s: %s%s '%.80s': unsupported digest algorithm",
                        what, ctx, key, s);
    bool ok = strncmp(s, "sha256:", 7) == 0;
    size_t i = 0;
    for (; ok && s[7 + i]; i++)
        ok = isdigit((unsigned char)s[7 + i]) || (s[7 + i] >= 'a' && s[7 + i] <= 'f');
    if (!ok || i != DIGEST_HEX_LEN)
        return berr_set(err, 400, EINVAL, "invalid %s: %s%s '%.80s' is not a valid sha256 digest",
                        what, ctx, key, s);
    return 0;
}

/* A non-negative integer that a double holds exactly. */
static int json_size(const cJSON *obj, const char *key, const char *what, const char *ctx,
                     int64_t *ret, struct berr *err)
{
    const cJSON *item;
    int r = json_field(obj, key, what, ctx, &item, err);
    if (r < 0)
        return r;
    if (!item)
        return berr_set(err, 400, EINVAL, "invalid %s: %s%s is missing", what, ctx, key);
    if (!cJSON_IsNumber(item))
        return berr_set(err, 400, EINVAL, "invalid %s: %s%s must be a number", what, ctx, key);
    double d = item->valuedouble;
    if (d < 0)
        return berr_set(err, 400, EINVAL, "invalid %s: %s%s must not be negative", what, ctx, key);
    if (d > JSON_MAX_EXACT_INT)
        return berr_set(err, 400, EINVAL, "invalid %s: %s%s is too large", what, ctx, key);
    if (d != (double)(int64_t)d)
        return berr_set(err, 400, EINVAL, "invalid %s: %s%s must be an integer", what, ctx, key);
    *ret = (int64_t)d;
    return 0;
}

/* ---- media types ------------------------------------------------------- */

static bool mt_is(const char *a, const char *b)
{
    return a && strcasecmp(a, b) == 0;
}

static bool mt_is_schema1(const char *mt)
{
    return mt_is(mt, MT_DOCKER_SCHEMA1) || mt_is(mt, MT_DOCKER_SCHEMA1S);
}

/* The four manifest types we pull, in their canonical spelling, or NULL. */
static const char *mt_manifest_canonical(const char *mt)
{
    static const char *const known[] = {MT_DOCKER_MANIFEST, MT_DOCKER_LIST, MT_OCI_MANIFEST,
                                        MT_OCI_INDEX};
    for (size_t i = 0; mt && i < ARRAY_SIZE(known); i++) {
        if (strcasecmp(mt, known[i]) == 0)
            return known[i];
    }
    return NULL;
}

static bool mt_is_index(const char *mt)
{
    return mt_is(mt, MT_DOCKER_LIST) || mt_is(mt, MT_OCI_INDEX);
}

/* moby's checkSupportedMediaType (distribution/pull_v2.go): types that may
 * be fetched as a config or layer blob. */
static int check_supported_media_type(const char *mt, struct berr *err)
{
    static const char *const supported[] = {"application/vnd.oci.image", "application/vnd.docker",
                                            "application/octet-stream", "application/json",
                                            "text/html"};
    if (strncasecmp(mt, "application/vnd.docker.ai.", 26) == 0)
        return berr_set(err, 400, EINVAL,
                        "AI models are not yet supported by the Engine, please use \"docker "
                        "model pull/run\" instead");
    for (size_t i = 0; i < ARRAY_SIZE(supported); i++) {
        size_t n = strlen(supported[i]);
        if (strncasecmp(mt, supported[i], n) == 0 && (mt[n] == '\0' || mt[n] == '.'))
            return 0;
    }
    return berr_set(err, 400, EINVAL, "unsupported media type %.100s", mt);
}

/* moby's validateMediaType for schema2 configs: images only (plugins are
 * pulled through another API). */
static int check_config_class(const char *mt, struct berr *err)
{
    static const char *const images[] = {MT_DOCKER_CONFIG, MT_OCI_CONFIG,
                                         "application/octet-stream", "application/json",
                                         "text/html"};
    for (size_t i = 0; i < ARRAY_SIZE(images); i++) {
        if (strcmp(mt, images[i]) == 0)
            return 0;
    }
    const char *class =
        strcmp(mt, "application/vnd.docker.plugin.v1+json") == 0 ? "plugin" : "unknown";
    return berr_set(err, 400, EINVAL, "Encountered remote \"%.100s\"(%s) when fetching", mt, class);
}

static bool mt_is_foreign(const char *mt)
{
    return mt_is(mt, MT_DOCKER_FOREIGN) ||
           mt_is(mt, "application/vnd.docker.image.rootfs.foreign.diff.tar") ||
           strncasecmp(mt, "application/vnd.oci.image.layer.nondistributable.v1.tar", 55) == 0;
}

int layer_compression(const char *media_type)
{
    static const struct {
        const char *mt;
        int compression;
    } table[] = {
        {MT_DOCKER_LAYER, 1},
        {MT_DOCKER_FOREIGN, 1},
        {MT_OCI_LAYER_GZIP, 1},
        {"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", 1},
        {MT_OCI_LAYER_ZSTD, 2},
        {"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", 2},
        {"application/vnd.docker.image.rootfs.diff.tar.zstd", 2},
        {MT_OCI_LAYER, 0},
        {"application/vnd.oci.image.layer.nondistributable.v1.tar", 0},
        {"application/vnd.docker.image.rootfs.diff.tar", 0},
        {"application/vnd.docker.image.rootfs.foreign.diff.tar", 0},
    };
    for (size_t i = 0; media_type && i < ARRAY_SIZE(table); i++) {
        if (strcasecmp(media_type, table[i].mt) == 0)
            return table[i].compression;
    }
    return -1;
}

/* The media type of a Content-Type header: lowercase, without parameters
 * or surrounding blanks. Generic types say nothing about the manifest and
 * give "". */
static int content_type_media_type(const char *header, char out[128], struct berr *err)
{
    static const char *const generic[] = {"application/json", "application/octet-stream",
                                          "text/plain", "binary/octet-stream"};
    out[0] = '\0';
    if (!header)
        return 0;
    while (*header == ' ' || *header == '\t')
        header++;
    size_t n = strcspn(header, ";");
    while (n > 0 && (header[n - 1] == ' ' || header[n - 1] == '\t'))
        n--;
    if (n >= 128)
        return berr_set(err, 400, EINVAL, "unsupported manifest media type '%.80s...'", header);
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)header[i]);
    out[n] = '\0';
    for (size_t i = 0; i < ARRAY_SIZE(generic); i++) {
        if (strcmp(out, generic[i]) == 0)
            out[0] = '\0';
    }
    if (mt_is_schema1(out))
        return berr_set(err, 400, EINVAL, SCHEMA1_MSG);
    if (out[0] && !mt_manifest_canonical(out))
        return berr_set(err, 400, EINVAL, "unsupported manifest media type '%s'", out);
    return 0;
}

/* ---- manifests --------------------------------------------------------- */

enum desc_kind { DESC_CONFIG, DESC_LAYER, DESC_ENTRY };

static int parse_platform(const cJSON *obj, const char *ctx, struct descriptor *d, struct berr *err)
{
    static const char *const what = "manifest";
    const cJSON *p;
    int r = json_field(obj, "platform", what, ctx, &p, err);
    if (r < 0 || !p)
        return r;
    char pctx[48];
    snprintf(pctx, sizeof(pctx), "%splatform.", ctx);
    if (!cJSON_IsObject(p))
        return berr_set(err, 400, EINVAL, "invalid manifest: %splatform must be an object", ctx);
    if ((r = json_string_copy(p, "os", false, d->platform.os, sizeof(d->platform.os), what, pctx,
                              err)) < 0 ||
        (r = json_string_copy(p, "architecture", false, d->platform.architecture,
                              sizeof(d->platform.architecture), what, pctx, err)) < 0 ||
        (r = json_string_copy(p, "variant", false, d->platform.variant, sizeof(d->platform.variant),
                              what, pctx, err)) < 0)
        return r;
    d->has_platform = true;
    return 0;
}

static int parse_urls(const cJSON *obj, const char *ctx, bool *ret_foreign, struct berr *err)
{
    const cJSON *urls;
    int r = json_field(obj, "urls", "manifest", ctx, &urls, err);
    if (r < 0 || !urls)
        return r;
    if (!cJSON_IsArray(urls))
        return berr_set(err, 400, EINVAL, "invalid manifest: %surls must be an array", ctx);
    const cJSON *u;
    cJSON_ArrayForEach(u, urls)
    {
        if (!cJSON_IsString(u))
            return berr_set(err, 400, EINVAL, "invalid manifest: %surls must hold strings", ctx);
        *ret_foreign = true;
    }
    return 0;
}

static int parse_descriptor(const cJSON *j, enum desc_kind kind, const char *ctx,
                            struct descriptor *d, struct berr *err)
{
    static const char *const what = "manifest";
    if (!cJSON_IsObject(j))
        return berr_set(err, 400, EINVAL, "invalid manifest: %.*s must be an object",
                        (int)strlen(ctx) - 1, ctx);
    memset(d, 0, sizeof(*d));
    const char *digest;
    int r;
    if ((r = json_string_copy(j, "mediaType", kind != DESC_ENTRY, d->media_type,
                              sizeof(d->media_type), what, ctx, err)) < 0 ||
        (r = json_string(j, "digest", true, what, ctx, &digest, err)) < 0 ||
        (r = digest_check(digest, what, ctx, "digest", err)) < 0 ||
        (r = json_size(j, "size", what, ctx, &d->size, err)) < 0)
        return r;
    snprintf(d->digest, sizeof(d->digest), "%s", digest);
    if (kind != DESC_ENTRY && !d->media_type[0])
        return berr_set(err, 400, EINVAL, "invalid manifest: %smediaType is empty", ctx);
    if (kind != DESC_ENTRY && (r = check_supported_media_type(d->media_type, err)) < 0)
        return r;
    if (kind == DESC_LAYER) {
        if ((r = parse_urls(j, ctx, &d->foreign, err)) < 0)
            return r;
        d->foreign = d->foreign || mt_is_foreign(d->media_type);
    }
    if (kind == DESC_ENTRY)
        return parse_platform(j, ctx, d, err);
    return 0;
}

/* A required array of descriptors. */
static int parse_descriptor_array(const cJSON *root, const char *key, enum desc_kind kind,
                                  size_t limit, struct descriptor **ret, size_t *ret_n,
                                  struct berr *err)
{
    const cJSON *arr;
    int r = json_field(root, key, "manifest", "", &arr, err);
    if (r < 0)
        return r;
    if (!arr)
        return berr_set(err, 400, EINVAL, "invalid manifest: %s is missing", key);
    if (!cJSON_IsArray(arr))
        return berr_set(err, 400, EINVAL, "invalid manifest: %s must be an array", key);
    size_t n = 0;
    for (const cJSON *c = arr->child; c; c = c->next) {
        if (++n > limit)
            return berr_set(err, 400, EINVAL, "invalid manifest: too many %s (more than %zu)", key,
                            limit);
    }
    if (n == 0)
        return 0;
    struct descriptor *v = calloc(n, sizeof(*v));
    if (!v)
        return berr_set(err, 500, ENOMEM, "out of memory parsing manifest %s", key);
    size_t i = 0;
    for (const cJSON *c = arr->child; c; c = c->next, i++) {
        char ctx[48];
        snprintf(ctx, sizeof(ctx), "%s[%zu].", key, i);
        if ((r = parse_descriptor(c, kind, ctx, &v[i], err)) < 0) {
            free(v);
            return r;
        }
    }
    *ret = v;
    *ret_n = n;
    return 0;
}

/* docker/distribution's unmarshallers: Docker types must carry their own
 * mediaType; OCI ones may omit it but must not contradict it. */
static int check_body_media_type(const char *mt, const char *body_mt, struct berr *err)
{
    const char *have = body_mt ? body_mt : "";
    if (mt_is(mt, MT_DOCKER_MANIFEST) && strcmp(have, MT_DOCKER_MANIFEST) != 0)
        return berr_set(err, 400, EINVAL, "mediaType in manifest should be '%s' not '%.100s'",
                        MT_DOCKER_MANIFEST, have);
    if (mt_is(mt, MT_DOCKER_LIST) && strcmp(have, MT_DOCKER_LIST) != 0)
        return berr_set(err, 400, EINVAL, "mediaType in manifest list should be '%s' not '%.100s'",
                        MT_DOCKER_LIST, have);
    if (mt_is(mt, MT_OCI_MANIFEST) && *have && strcmp(have, MT_OCI_MANIFEST) != 0)
        return berr_set(err, 400, EINVAL,
                        "if present, mediaType in manifest should be '%s' not '%.100s'",
                        MT_OCI_MANIFEST, have);
    if (mt_is(mt, MT_OCI_INDEX) && *have && strcmp(have, MT_OCI_INDEX) != 0)
        return berr_set(err, 400, EINVAL,
                        "if present, mediaType in image index should be '%s' not '%.100s'",
                        MT_OCI_INDEX, have);
    return 0;
}

static bool has_key(const cJSON *root, const char *key)
{
    const cJSON *c = cJSON_GetObjectItem(root, key);
    return c && !cJSON_IsNull(c);
}

static bool has_entries(const cJSON *root, const char *key)
{
    const cJSON *c = cJSON_GetObjectItem(root, key);
    return c && !cJSON_IsNull(c) && (!cJSON_IsArray(c) || c->child);
}

/* Works out the manifest type from the header, the body's mediaType and,
 * for OCI documents without one, the keys present. */
static int resolve_media_type(const cJSON *root, const char *ct, const char **ret, struct berr *err)
{
    const char *body_mt;
    int r = json_string(root, "mediaType", false, "manifest", "", &body_mt, err);
    if (r < 0)
        return r;
    /* Schema 1 is recognised by any of its marks, so that its pulls fail
     * with the deprecation notice rather than a parse error. */
    const cJSON *sv = cJSON_GetObjectItem(root, "schemaVersion");
    if (mt_is_schema1(body_mt) || (cJSON_IsNumber(sv) && sv->valuedouble == 1) ||
        has_key(root, "fsLayers"))
        return berr_set(err, 400, EINVAL, SCHEMA1_MSG);

    if (ct[0]) {
        if ((r = check_body_media_type(ct, body_mt, err)) < 0)
            return r;
        *ret = mt_manifest_canonical(ct);
    } else if (body_mt && body_mt[0]) {
        *ret = mt_manifest_canonical(body_mt);
        if (!*ret)
            return berr_set(err, 400, EINVAL, "unsupported manifest media type '%.100s'", body_mt);
        if ((r = check_body_media_type(*ret, body_mt, err)) < 0)
            return r;
    } else if (has_key(root, "manifests")) {
        *ret = MT_OCI_INDEX;
    } else if (has_key(root, "config") && has_key(root, "layers")) {
        *ret = MT_OCI_MANIFEST;
    } else {
        return berr_set(err, 400, EINVAL,
                        "unsupported manifest format: no mediaType and neither 'manifests' nor "
                        "'config' and 'layers'");
    }
    /* containerd's validateMediaType: a document must not look like both. */
    if (mt_is_index(*ret) && (has_entries(root, "layers") || has_key(root, "config")))
        return berr_set(err, 400, EINVAL,
                        "invalid manifest: expected index but found manifest (%s)", *ret);
    if (!mt_is_index(*ret) && has_entries(root, "manifests"))
        return berr_set(err, 400, EINVAL,
                        "invalid manifest: expected manifest but found index (%s)", *ret);
    return 0;
}

static int check_schema_version(const cJSON *root, struct berr *err)
{
    const cJSON *sv = NULL;
    int r = json_field(root, "schemaVersion", "manifest", "", &sv, err);
    if (r < 0)
        return r;
    if (!sv)
        return berr_set(err, 400, EINVAL, "invalid manifest: schemaVersion is missing");
    if (!cJSON_IsNumber(sv))
        return berr_set(err, 400, EINVAL, "invalid manifest: schemaVersion must be a number");
    if (sv->valuedouble != 2)
        return berr_set(err, 400, EINVAL, "invalid manifest: schemaVersion must be 2, not %g",
                        sv->valuedouble);
    return 0;
}

static int parse_image_manifest(const cJSON *root, struct manifest *m, struct berr *err)
{
    const cJSON *config = NULL;
    int r = json_field(root, "config", "manifest", "", &config, err);
    if (r < 0)
        return r;
    if (!config)
        return berr_set(err, 400, EINVAL, "invalid manifest: config is missing");
    if ((r = parse_descriptor(config, DESC_CONFIG, "config.", &m->config, err)) < 0)
        return r;
    if (strcmp(m->media_type, MT_DOCKER_MANIFEST) == 0 &&
        (r = check_config_class(m->config.media_type, err)) < 0)
        return r;
    return parse_descriptor_array(root, "layers", DESC_LAYER, MANIFEST_MAX_LAYERS, &m->layers,
                                  &m->nlayers, err);
}

int manifest_parse(const char *body, size_t len, const char *content_type, struct manifest *ret,
                   struct berr *err)
{
    memset(ret, 0, sizeof(*ret));
    if (len > MANIFEST_MAX_BYTES)
        return berr_set(err, 400, EINVAL, "manifest is too large: %zu bytes (limit %d)", len,
                        MANIFEST_MAX_BYTES);
    if (!body && len > 0)
        return berr_set(err, 400, EINVAL, "invalid manifest: no body");
    char ct[128];
    int r = content_type_media_type(content_type, ct, err);
    if (r < 0)
        return r;
    cJSON *root;
    if ((r = json_parse_object(body, len, "manifest", &root, err)) < 0)
        return r;

    struct manifest m = {0};
    const char *mt = NULL;
    if ((r = resolve_media_type(root, ct, &mt, err)) < 0 ||
        (r = check_schema_version(root, err)) < 0)
        goto out;
    snprintf(m.media_type, sizeof(m.media_type), "%s", mt);
    if (mt_is_index(mt)) {
        m.kind = MANIFEST_INDEX;
        r = parse_descriptor_array(root, "manifests", DESC_ENTRY, MANIFEST_MAX_ENTRIES,
                                   &m.manifests, &m.nmanifests, err);
    } else {
        m.kind = MANIFEST_IMAGE;
        r = parse_image_manifest(root, &m, err);
    }
out:
    cJSON_Delete(root);
    if (r < 0) {
        manifest_done(&m);
        return r;
    }
    *ret = m;
    return 0;
}

void manifest_done(struct manifest *m)
{
    if (!m)
        return;
    free(m->layers);
    free(m->manifests);
    memset(m, 0, sizeof(*m));
}

/* ---- image configs ----------------------------------------------------- */

static int parse_rootfs(const cJSON *root, struct image_config *c, struct berr *err)
{
    static const char *const what = "image config";
    const cJSON *rootfs = NULL, *ids = NULL;
    const char *type;
    int r = json_field(root, "rootfs", what, "", &rootfs, err);
    if (r < 0)
        return r;
    if (!rootfs)
        return berr_set(err, 400, EINVAL, "invalid image config: rootfs is missing");
    if (!cJSON_IsObject(rootfs))
        return berr_set(err, 400, EINVAL, "invalid image config: rootfs must be an object");
    if ((r = json_string(rootfs, "type", true, what, "rootfs.", &type, err)) < 0)
        return r;
    if (strcmp(type, "layers") != 0)
        return berr_set(err, 400, EINVAL,
                        "invalid image config: rootfs.type must be \"layers\", not \"%.80s\"",
                        type);
    if ((r = json_field(rootfs, "diff_ids", what, "rootfs.", &ids, err)) < 0 || !ids)
        return r;
    if (!cJSON_IsArray(ids))
        return berr_set(err, 400, EINVAL, "invalid image config: rootfs.diff_ids must be an array");
    size_t n = 0;
    for (const cJSON *e = ids->child; e; e = e->next) {
        if (++n > MANIFEST_MAX_LAYERS)
            return berr_set(err, 400, EINVAL,
                            "invalid image config: too many rootfs.diff_ids (more than %d)",
                            MANIFEST_MAX_LAYERS);
    }
    if (n == 0)
        return 0;
    c->diff_ids = calloc(n, sizeof(*c->diff_ids));
    if (!c->diff_ids)
        return berr_set(err, 500, ENOMEM, "out of memory parsing image config");
    for (const cJSON *e = ids->child; e; e = e->next) {
        char ctx[40];
        snprintf(ctx, sizeof(ctx), "rootfs.diff_ids[%zu]", c->ndiff_ids);
        if (!cJSON_IsString(e) || !e->valuestring)
            return berr_set(err, 400, EINVAL, "invalid image config: %s must be a string", ctx);
        if ((r = digest_check(e->valuestring, what, ctx, "", err)) < 0)
            return r;
        c->diff_ids[c->ndiff_ids] = strdup(e->valuestring);
        if (!c->diff_ids[c->ndiff_ids])
            return berr_set(err, 500, ENOMEM, "out of memory parsing image config");
        c->ndiff_ids++;
    }
    return 0;
}

static int parse_created(const cJSON *root, int64_t *ret, struct berr *err)
{
    const char *created;
    int r = json_string(root, "created", false, "image config", "", &created, err);
    if (r < 0 || !created)
        return r;
    r = parse_rfc3339(created, ret);
    /* Valid times outside int64 nanoseconds (tools that write Go's zero
     * time, 0001-01-01T00:00:00Z) read as "unknown", like an absent one. */
    if (r == -ERANGE) {
        *ret = 0;
        return 0;
    }
    if (r < 0)
        return berr_set(err, 400, EINVAL,
                        "invalid image config: created '%.80s' is not an RFC 3339 time", created);
    return 0;
}

int image_config_parse(const char *body, size_t len, struct image_config *ret, struct berr *err)
{
    static const char *const what = "image config";
    memset(ret, 0, sizeof(*ret));
    if (len > CONFIG_MAX_BYTES)
        return berr_set(err, 400, EINVAL, "image config is too large: %zu bytes (limit %d)", len,
                        CONFIG_MAX_BYTES);
    if (!body && len > 0)
        return berr_set(err, 400, EINVAL, "invalid image config: no body");
    struct image_config c = {0};
    int r = json_parse_object(body, len, what, &c.json, err);
    if (r < 0)
        return r;
    if ((r = parse_rootfs(c.json, &c, err)) < 0 ||
        (r = json_string_copy(c.json, "os", false, c.os, sizeof(c.os), what, "", err)) < 0 ||
        (r = json_string_copy(c.json, "architecture", false, c.architecture, sizeof(c.architecture),
                              what, "", err)) < 0 ||
        (r = json_string_copy(c.json, "variant", false, c.variant, sizeof(c.variant), what, "",
                              err)) < 0 ||
        (r = parse_created(c.json, &c.created_ns, err)) < 0) {
        image_config_done(&c);
        return r;
    }
    *ret = c;
    return 0;
}

void image_config_done(struct image_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->ndiff_ids; i++)
        free(c->diff_ids[i]);
    free(c->diff_ids);
    cJSON_Delete(c->json);
    memset(c, 0, sizeof(*c));
}

/* ---- RFC 3339 ---------------------------------------------------------- */

/* n decimal digits, no sign, within [lo, hi]. */
static bool parse_uint(const char *s, size_t n, int lo, int hi, int *ret)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *ret = v;
    return v >= lo && v <= hi;
}

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int m, int y)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Go's parseRFC3339 (time/format_rfc3339.go), which json.Unmarshal uses
 * for time.Time: "2006-01-02T15:04:05[.frac](Z|+hh:mm|-hh:mm)"; fractions
 * of any length (digits past nanoseconds are dropped). */
int parse_rfc3339(const char *s, int64_t *ret_ns)
{
    if (!s)
        return -EINVAL;
    size_t len = strlen(s);
    int year, month, day, hour, min, sec;
    if (len < 20 || !parse_uint(s, 4, 0, 9999, &year) || !parse_uint(s + 5, 2, 1, 12, &month) ||
        !parse_uint(s + 8, 2, 1, days_in_month(month, year), &day) ||
        !parse_uint(s + 11, 2, 0, 23, &hour) || !parse_uint(s + 14, 2, 0, 59, &min) ||
        !parse_uint(s + 17, 2, 0, 59, &sec) || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
        s[13] != ':' || s[16] != ':')
        return -EINVAL;
    s += 19;
    int64_t nsec = 0;
    if (s[0] == '.' && isdigit((unsigned char)s[1])) {
        size_t n = 1;
        for (; isdigit((unsigned char)s[n]); n++) {
            if (n <= 9)
                nsec = nsec * 10 + (s[n] - '0');
        }
        for (size_t i = n; i <= 9; i++)
            nsec *= 10;
        s += n;
    }
    int64_t offset = 0;
    if (strcmp(s, "Z") != 0) {
        int oh, om;
        if (strlen(s) != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' ||
            !parse_uint(s + 1, 2, 0, 23, &oh) || !parse_uint(s + 4, 2, 0, 59, &om))
            return -EINVAL;
        offset = (oh * 60 + om) * 60 * (s[0] == '-' ? -1 : 1);
    }
    int64_t secs =
        days_from_civil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec - offset;
    if (secs < 0 && nsec > 0) {
        /* Borrow a second so that the product cannot overflow first. */
        secs++;
        nsec -= 1000000000;
    }
    int64_t ns;
    if (__builtin_mul_overflow(secs, (int64_t)1000000000, &ns) ||
        __builtin_add_overflow(ns, nsec, &ns))
        return -ERANGE;
    *ret_ns = ns;
    return 0;
}
