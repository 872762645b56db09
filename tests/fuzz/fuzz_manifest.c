/* libFuzzer target: registry manifests and image configs
 * (storage/manifest.c, storage/platform.c). The input is a manifest body:
 * it is parsed without a Content-Type, with one picked from the input's
 * length, and with its own media type; indexes are matched against a set
 * of platforms; the same bytes are then parsed as an image config and, as
 * text, as a time and a platform. Invariants of a successful parse are
 * checked (abort on violation), so the fuzzer finds wrong acceptances too. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/macros.h"
#include "storage/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "invariant violated: %s\n", what);
        abort();
    }
}

static bool digest_ok(const char *d)
{
    if (strncmp(d, "sha256:", 7) != 0 || strlen(d) != 7 + DIGEST_HEX_LEN)
        return false;
    return strspn(d + 7, "0123456789abcdef") == DIGEST_HEX_LEN;
}

static void check_descriptor(const struct descriptor *d, bool need_type)
{
    check(digest_ok(d->digest), "descriptor digest");
    check(d->size >= 0, "descriptor size");
    check(!need_type || d->media_type[0], "descriptor media type");
    check(memchr(d->media_type, '\0', sizeof(d->media_type)) != NULL, "media type terminated");
}

static void select_all(const struct manifest *m)
{
    static const char *const wants[] = {
        "",
        "linux/amd64",
        "linux/arm64",
        "linux/arm64/v8",
        "linux/arm/v7",
        "linux/arm",
        "linux/arm/v5",
        "linux/386",
        "linux/amd64/v3",
        "linux/arm64/v9.3",
        "windows/amd64",
        "linux/riscv64",
        "linux/s390x",
    };
    for (size_t i = 0; i < ARRAY_SIZE(wants); i++) {
        struct platform p;
        struct berr err = {0};
        check(platform_parse(wants[i], &p, &err) == 0, "platform_parse of a fixed spec");
        const struct descriptor *d = NULL;
        int r = manifest_select(m, &p, &d, &err);
        if (r == 0)
            check(d >= m->manifests && d < m->manifests + m->nmanifests, "selected entry");
        else
            check(err.status == 404 && d == NULL, "select failure");
    }
    const struct descriptor *d = NULL;
    struct berr err = {0};
    (void)manifest_select(m, NULL, &d, &err);
}

static void parse_manifest(const char *body, size_t len, const char *ct, bool again)
{
    struct manifest m;
    struct berr err = {0};
    if (manifest_parse(body, len, ct, &m, &err) < 0) {
        check(err.status == 400 && err.msg[0], "manifest error status");
        check(!m.layers && !m.manifests, "manifest cleared on failure");
        return;
    }
    check(len <= MANIFEST_MAX_BYTES, "manifest size limit");
    if (m.kind == MANIFEST_IMAGE) {
        check(m.nlayers <= MANIFEST_MAX_LAYERS && !m.manifests, "image manifest shape");
        check_descriptor(&m.config, true);
        for (size_t i = 0; i < m.nlayers; i++) {
            check_descriptor(&m.layers[i], true);
            (void)layer_compression(m.layers[i].media_type);
        }
    } else {
        check(m.kind == MANIFEST_INDEX && m.nmanifests <= 1024 && !m.layers, "index shape");
        for (size_t i = 0; i < m.nmanifests; i++)
            check_descriptor(&m.manifests[i], false);
        select_all(&m);
    }
    /* The media type found must be accepted as the Content-Type too. */
    if (again) {
        char ct2[160];
        snprintf(ct2, sizeof(ct2), "%s; charset=utf-8", m.media_type);
        struct manifest m2;
        struct berr err2 = {0};
        int r = manifest_parse(body, len, ct2, &m2, &err2);
        check(r == 0, "own media type as Content-Type");
        check(m2.kind == m.kind && strcmp(m2.media_type, m.media_type) == 0 &&
                  m2.nlayers == m.nlayers && m2.nmanifests == m.nmanifests,
              "same result");
        manifest_done(&m2);
    }
    manifest_done(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const cts[] = {
        NULL,
        MT_DOCKER_MANIFEST,
        MT_DOCKER_LIST "; charset=utf-8",
        MT_OCI_MANIFEST,
        MT_OCI_INDEX,
        "application/json",
        MT_DOCKER_SCHEMA1S,
        "text/html",
    };
    const char *body = (const char *)data;
    parse_manifest(body, size, NULL, true);
    parse_manifest(body, size, cts[size % ARRAY_SIZE(cts)], false);

    struct image_config c;
    struct berr err = {0};
    if (image_config_parse(body, size, &c, &err) == 0) {
        check(c.json != NULL && c.ndiff_ids <= MANIFEST_MAX_LAYERS, "config shape");
        for (size_t i = 0; i < c.ndiff_ids; i++)
            check(digest_ok(c.diff_ids[i]), "diff_id");
    } else {
        check(err.status == 400 && !c.json && !c.diff_ids, "config failure");
    }
    image_config_done(&c);

    /* The bytes as text: a time, a platform specifier, a layer type. */
    if (size <= 256) {
        char text[257];
        memcpy(text, data, size);
        text[size] = '\0';
        int64_t ns;
        (void)parse_rfc3339(text, &ns);
        struct platform p;
        struct berr perr = {0};
        if (platform_parse(text, &p, &perr) == 0) {
            char out[128];
            platform_string(&p, out, sizeof(out));
            check(out[0] != '\0', "platform string");
        }
        (void)layer_compression(text);
    }
    return 0;
}
