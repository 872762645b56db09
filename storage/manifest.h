/* Registry manifests and image configs: Docker schema2, Docker manifest
 * list, OCI image manifest and OCI index; platform selection; the parts of
 * an image config the engine needs. Pure parsing, no I/O. */
#ifndef BERTH_STORAGE_MANIFEST_H
#define BERTH_STORAGE_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "common/berr.h"
#include "digest.h"

#define MANIFEST_MAX_BYTES  (4 * 1024 * 1024) /* as moby's limit on manifests */
#define CONFIG_MAX_BYTES    (8 * 1024 * 1024)
#define MANIFEST_MAX_LAYERS 256

#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST     "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_CONFIG   "application/vnd.docker.container.image.v1+json"
#define MT_DOCKER_LAYER    "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define MT_DOCKER_FOREIGN  "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
#define MT_OCI_MANIFEST    "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX       "application/vnd.oci.image.index.v1+json"
#define MT_OCI_CONFIG      "application/vnd.oci.image.config.v1+json"
#define MT_OCI_LAYER       "application/vnd.oci.image.layer.v1.tar"
#define MT_OCI_LAYER_GZIP  "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_OCI_LAYER_ZSTD  "application/vnd.oci.image.layer.v1.tar+zstd"
#define MT_DOCKER_SCHEMA1  "application/vnd.docker.distribution.manifest.v1+json"
#define MT_DOCKER_SCHEMA1S "application/vnd.docker.distribution.manifest.v1+prettyjws"

/* The Accept header value to send for manifests (every supported type). */
extern const char *const manifest_accept_types[];

enum manifest_kind { MANIFEST_IMAGE, MANIFEST_INDEX };

struct platform {
    char os[32];
    char architecture[32];
    char variant[32];
};

struct descriptor {
    char media_type[128];
    char digest[DIGEST_STR_MAX];
    int64_t size;
    struct platform platform; /* index entries only */
    bool has_platform;
    bool foreign; /* has urls / non-distributable: not fetched from the registry */
};

struct manifest {
    enum manifest_kind kind;
    char media_type[128];
    struct descriptor config;  /* MANIFEST_IMAGE */
    struct descriptor *layers; /* MANIFEST_IMAGE */
    size_t nlayers;
    struct descriptor *manifests; /* MANIFEST_INDEX */
    size_t nmanifests;
};

/* Parses a manifest body. content_type (HTTP header, parameters ignored) may
 * be NULL; it must agree with the body's mediaType when both are present.
 * Schema1 -> 400 with Docker's deprecation wording; unknown types, bad
 * digests, negative sizes, too many layers, oversize bodies -> 400. */
int manifest_parse(const char *body, size_t len, const char *content_type, struct manifest *ret,
                   struct berr *err);
void manifest_done(struct manifest *m);

/* Picks the entry of an index for a platform (os/arch[/variant]); arm64 with
 * no variant matches v8; attestation entries (unknown/unknown) are skipped.
 * 404-style error naming the platform when none matches. */
int manifest_select(const struct manifest *index, const struct platform *want,
                    const struct descriptor **ret, struct berr *err);

/* "linux/arm64/v8" -> platform; "" gives the host's (linux/<goarch>). */
int platform_parse(const char *s, struct platform *ret, struct berr *err);
void platform_host(struct platform *ret);
void platform_string(const struct platform *p, char *out, size_t outlen);

/* Layer media types: 1 compressed with gzip, 2 zstd, 0 plain tar, -1 unknown. */
int layer_compression(const char *media_type);

struct image_config {
    cJSON *json;     /* the whole document, owned */
    char **diff_ids; /* rootfs.diff_ids */
    size_t ndiff_ids;
    char os[32];
    char architecture[32];
    char variant[32];
    int64_t created_ns; /* 0 when absent */
};

/* Parses an image config; rootfs.type must be "layers" and every diff_id a
 * valid digest. */
int image_config_parse(const char *body, size_t len, struct image_config *ret, struct berr *err);
void image_config_done(struct image_config *c);

/* RFC 3339 (Go's time format, any fraction) to ns; -EINVAL when malformed. */
int parse_rfc3339(const char *s, int64_t *ret_ns);

#endif
