/* storage/manifest.c: manifest parsing (media types, schema1, descriptors,
 * limits), layer compression and the Accept list. Image configs and RFC
 * 3339 times are in test_image_config.c, platforms in test_platform.c. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/macros.h"
#include "storage/manifest.h"

#define HEX16A "0123456789abcdef"
#define HEX16B "fedcba9876543210"
#define DIG_A  "sha256:" HEX16A HEX16A HEX16A HEX16A
#define DIG_B  "sha256:" HEX16B HEX16B HEX16B HEX16B
#define DIG_C  "sha256:" HEX16A HEX16B HEX16A HEX16B

#define Q(s) "\"" s "\""

#define DESC(mt, dig, size) "{\"mediaType\":" Q(mt) ",\"digest\":" Q(dig) ",\"size\":" size "}"
#define CFG_DOCKER          DESC(MT_DOCKER_CONFIG, DIG_A, "1469")
#define CFG_OCI             DESC(MT_OCI_CONFIG, DIG_A, "1469")
#define LAYER_DOCKER        DESC(MT_DOCKER_LAYER, DIG_B, "2591575")
#define LAYER_OCI           DESC(MT_OCI_LAYER_GZIP, DIG_C, "3623807")

#define DOCKER_M(cfg, layers)                                                                      \
    "{\"schemaVersion\":2,\"mediaType\":" Q(MT_DOCKER_MANIFEST) ",\"config\":" cfg                 \
                                                                ",\"layers\":[" layers "]}"
#define OCI_M(cfg, layers) "{\"schemaVersion\":2,\"config\":" cfg ",\"layers\":[" layers "]}"
#define OCI_M_MT(cfg, layers)                                                                      \
    "{\"schemaVersion\":2,\"mediaType\":" Q(MT_OCI_MANIFEST) ",\"config\":" cfg                    \
                                                             ",\"layers\":[" layers "]}"

#define PLAT(os, arch) "{\"os\":" Q(os) ",\"architecture\":" Q(arch) "}"
#define ENTRY(mt, dig, plat)                                                                       \
    "{\"mediaType\":" Q(mt) ",\"digest\":" Q(dig) ",\"size\":528,\"platform\":" plat "}"
#define DOCKER_L(entries)                                                                          \
    "{\"schemaVersion\":2,\"mediaType\":" Q(MT_DOCKER_LIST) ",\"manifests\":[" entries "]}"
#define OCI_I(entries) "{\"schemaVersion\":2,\"manifests\":[" entries "]}"

#define SCHEMA1_TEXT                                                                               \
    "Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has been "       \
    "removed. More information at https://docs.docker.com/go/deprecated-image-specs/"

struct parse_case {
    const char *name;
    const char *ct;
    const char *body;
    int status;      /* 0: success */
    const char *msg; /* failure: substring of the message */
    enum manifest_kind kind;
    const char *mt;
    size_t n; /* layers or index entries */
};

static void run_parse_case(const struct parse_case *c)
{
    struct manifest m;
    struct berr err = {0};
    memset(&m, 0xa5, sizeof(m));
    int r = manifest_parse(c->body, strlen(c->body), c->ct, &m, &err);
    if (c->status == 0) {
        if (r != 0)
            fail_msg("%s: expected success, got %d (%d %s)", c->name, r, err.status, err.msg);
        if (m.kind != c->kind || strcmp(m.media_type, c->mt) != 0)
            fail_msg("%s: kind %d mediaType '%s'", c->name, m.kind, m.media_type);
        size_t n = m.kind == MANIFEST_IMAGE ? m.nlayers : m.nmanifests;
        if (n != c->n)
            fail_msg("%s: %zu entries, expected %zu", c->name, n, c->n);
    } else {
        if (r != -EINVAL || err.status != c->status)
            fail_msg("%s: expected %d, got r=%d status=%d (%s)", c->name, c->status, r, err.status,
                     err.msg);
        if (!strstr(err.msg, c->msg))
            fail_msg("%s: message '%s' lacks '%s'", c->name, err.msg, c->msg);
        /* Failure leaves a zeroed manifest, safe to release. */
        if (m.layers || m.manifests || m.nlayers || m.nmanifests)
            fail_msg("%s: output not cleared on failure", c->name);
    }
    manifest_done(&m);
    manifest_done(&m); /* idempotent */
}

static void run_parse_cases(const struct parse_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++)
        run_parse_case(&cases[i]);
}

/* ---- valid documents ---- */

static void test_parse_valid(void **state)
{
    (void)state;
    static const struct parse_case cases[] = {
        {"docker schema2", NULL, DOCKER_M(CFG_DOCKER, LAYER_DOCKER "," LAYER_DOCKER), 0, NULL,
         MANIFEST_IMAGE, MT_DOCKER_MANIFEST, 2},
        {"docker schema2 + header", MT_DOCKER_MANIFEST "; charset=utf-8",
         DOCKER_M(CFG_DOCKER, LAYER_DOCKER), 0, NULL, MANIFEST_IMAGE, MT_DOCKER_MANIFEST, 1},
        {"header case and blanks", "  Application/VND.Docker.Distribution.Manifest.v2+JSON ;q=1",
         DOCKER_M(CFG_DOCKER, LAYER_DOCKER), 0, NULL, MANIFEST_IMAGE, MT_DOCKER_MANIFEST, 1},
        {"generic header", "application/json", DOCKER_M(CFG_DOCKER, LAYER_DOCKER), 0, NULL,
         MANIFEST_IMAGE, MT_DOCKER_MANIFEST, 1},
        {"octet-stream header", "application/octet-stream", OCI_M(CFG_OCI, LAYER_OCI), 0, NULL,
         MANIFEST_IMAGE, MT_OCI_MANIFEST, 1},
        {"empty header", "", OCI_M(CFG_OCI, LAYER_OCI), 0, NULL, MANIFEST_IMAGE, MT_OCI_MANIFEST,
         1},
        {"oci inferred", NULL, OCI_M(CFG_OCI, LAYER_OCI "," LAYER_OCI "," LAYER_OCI), 0, NULL,
         MANIFEST_IMAGE, MT_OCI_MANIFEST, 3},
        {"oci header, no mediaType", MT_OCI_MANIFEST, OCI_M(CFG_OCI, LAYER_OCI), 0, NULL,
         MANIFEST_IMAGE, MT_OCI_MANIFEST, 1},
        {"oci both", MT_OCI_MANIFEST, OCI_M_MT(CFG_OCI, LAYER_OCI), 0, NULL, MANIFEST_IMAGE,
         MT_OCI_MANIFEST, 1},
        {"oci body only", NULL, OCI_M_MT(CFG_OCI, LAYER_OCI), 0, NULL, MANIFEST_IMAGE,
         MT_OCI_MANIFEST, 1},
        {"no layers", NULL, OCI_M(CFG_OCI, ""), 0, NULL, MANIFEST_IMAGE, MT_OCI_MANIFEST, 0},
        {"docker list", MT_DOCKER_LIST,
         DOCKER_L(ENTRY(MT_DOCKER_MANIFEST, DIG_A, PLAT("linux", "amd64")) "," ENTRY(
             MT_DOCKER_MANIFEST, DIG_B, PLAT("linux", "arm64"))),
         0, NULL, MANIFEST_INDEX, MT_DOCKER_LIST, 2},
        {"docker list, body only", NULL,
         DOCKER_L(ENTRY(MT_DOCKER_MANIFEST, DIG_A, PLAT("linux", "amd64"))), 0, NULL,
         MANIFEST_INDEX, MT_DOCKER_LIST, 1},
        {"oci index inferred", NULL, OCI_I(ENTRY(MT_OCI_MANIFEST, DIG_A, PLAT("linux", "amd64"))),
         0, NULL, MANIFEST_INDEX, MT_OCI_INDEX, 1},
        {"oci index header", MT_OCI_INDEX, OCI_I(ENTRY(MT_OCI_MANIFEST, DIG_A, "null")), 0, NULL,
         MANIFEST_INDEX, MT_OCI_INDEX, 1},
        {"empty index", NULL, OCI_I(""), 0, NULL, MANIFEST_INDEX, MT_OCI_INDEX, 0},
        {"index entry without mediaType", NULL, OCI_I("{\"digest\":" Q(DIG_A) ",\"size\":1}"), 0,
         NULL, MANIFEST_INDEX, MT_OCI_INDEX, 1},
        {"index entry of another type", NULL,
         OCI_I(ENTRY("application/vnd.in-toto+json", DIG_A, PLAT("unknown", "unknown"))), 0, NULL,
         MANIFEST_INDEX, MT_OCI_INDEX, 1},
        {"keys match case-insensitively", NULL,
         "{\"SchemaVersion\":2,\"MediaType\":" Q(MT_DOCKER_MANIFEST) ",\"Config\":" CFG_DOCKER
                                                                     ",\"LAYERS\":[]}",
         0, NULL, MANIFEST_IMAGE, MT_DOCKER_MANIFEST, 0},
        {"unknown keys ignored", NULL,
         "{\"schemaVersion\":2,\"x\":[1,{\"y\":null}],\"annotations\":{\"a\":\"b\"},"
         "\"config\":" CFG_OCI ",\"layers\":[],\"subject\":" CFG_OCI "}",
         0, NULL, MANIFEST_IMAGE, MT_OCI_MANIFEST, 0},
        {"whitespace around", NULL, " \r\n\t" OCI_M(CFG_OCI, "") "\n\n ", 0, NULL, MANIFEST_IMAGE,
         MT_OCI_MANIFEST, 0},
        {"null urls and annotations", NULL,
         OCI_M(CFG_OCI, "{\"mediaType\":" Q(MT_OCI_LAYER) ",\"digest\":" Q(
                            DIG_B) ",\"size\":0,\"urls\":null,\"annotations\":null}"),
         0, NULL, MANIFEST_IMAGE, MT_OCI_MANIFEST, 1},
        {"config media types of old images", NULL,
         DOCKER_M(DESC("application/octet-stream", DIG_A, "1"), ""), 0, NULL, MANIFEST_IMAGE,
         MT_DOCKER_MANIFEST, 0},
        {"largest exact size", NULL, OCI_M(DESC(MT_OCI_CONFIG, DIG_A, "9007199254740992"), ""), 0,
         NULL, MANIFEST_IMAGE, MT_OCI_MANIFEST, 0},
        {"size as exponent", NULL, OCI_M(DESC(MT_OCI_CONFIG, DIG_A, "1.5e3"), ""), 0, NULL,
         MANIFEST_IMAGE, MT_OCI_MANIFEST, 0},
        {"header with tabs", "\t" MT_OCI_MANIFEST "\t;\tcharset=utf-8", OCI_M(CFG_OCI, ""), 0, NULL,
         MANIFEST_IMAGE, MT_OCI_MANIFEST, 0},
        {"empty mediaType inferred", NULL,
         "{\"schemaVersion\":2,\"mediaType\":\"\",\"config\":" CFG_OCI ",\"layers\":[]}", 0, NULL,
         MANIFEST_IMAGE, MT_OCI_MANIFEST, 0},
        {"null schema1 marks", NULL,
         "{\"schemaVersion\":2,\"fsLayers\":null,\"signatures\":null,\"config\":" CFG_OCI
         ",\"layers\":[]}",
         0, NULL, MANIFEST_IMAGE, MT_OCI_MANIFEST, 0},
        {"manifest with null and empty manifests", MT_OCI_MANIFEST,
         "{\"schemaVersion\":2,\"config\":" CFG_OCI ",\"layers\":[],\"manifests\":[]}", 0, NULL,
         MANIFEST_IMAGE, MT_OCI_MANIFEST, 0},
        {"index with empty layers", NULL,
         "{\"schemaVersion\":2,\"manifests\":[],\"layers\":[],\"config\":null}", 0, NULL,
         MANIFEST_INDEX, MT_OCI_INDEX, 0},
    };
    run_parse_cases(cases, ARRAY_SIZE(cases));
}

static void test_parse_fields(void **state)
{
    (void)state;
    static const char body[] =
        DOCKER_M(CFG_DOCKER, LAYER_DOCKER ",{\"mediaType\":" Q(MT_DOCKER_FOREIGN) ",\"digest\":" Q(
                                 DIG_C) ",\"size\":1234,\"urls\":[\"https://example.com/l.tgz\"]}");
    struct manifest m;
    struct berr err = {0};
    assert_int_equal(manifest_parse(body, strlen(body), NULL, &m, &err), 0);
    assert_int_equal(m.kind, MANIFEST_IMAGE);
    assert_string_equal(m.config.media_type, MT_DOCKER_CONFIG);
    assert_string_equal(m.config.digest, DIG_A);
    assert_int_equal(m.config.size, 1469);
    assert_false(m.config.foreign);
    assert_int_equal(m.nlayers, 2);
    assert_string_equal(m.layers[0].media_type, MT_DOCKER_LAYER);
    assert_string_equal(m.layers[0].digest, DIG_B);
    assert_int_equal(m.layers[0].size, 2591575);
    assert_false(m.layers[0].foreign);
    assert_false(m.layers[0].has_platform);
    assert_string_equal(m.layers[1].digest, DIG_C);
    assert_true(m.layers[1].foreign);
    assert_null(m.manifests);
    manifest_done(&m);
    assert_null(m.layers);
    assert_int_equal(m.nlayers, 0);
}

static void test_parse_index_fields(void **state)
{
    (void)state;
    /* As buildkit pushes it: two images and their attestation manifests. */
    static const char body[] = "{\"schemaVersion\":2,\"mediaType\":" Q(
        MT_OCI_INDEX) ",\"manifests\":["
                      "{\"mediaType\":" Q(MT_OCI_MANIFEST) ",\"digest\":" Q(
                          DIG_A) ",\"size\":1,"
                                 "\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\","
                                 "\"variant\":\"v7\"}},"
                                 "{\"mediaType\":" Q(MT_OCI_MANIFEST) ",\"digest\":" Q(
                                     DIG_B) ",\"size\":2,"
                                            "\"platform\":{\"architecture\":\"amd64\",\"os\":"
                                            "\"linux\",\"os.version\":\"\"}},"
                                            "{\"mediaType\":" Q(MT_OCI_MANIFEST) ",\"digest\":" Q(
                                                DIG_C) ",\"size\":3,"
                                                       "\"annotations\":{\"vnd.docker.reference."
                                                       "digest\":" Q(
                                                           DIG_A) ","
                                                                  "\"vnd.docker.reference.type\":"
                                                                  "\"attestation-manifest\"},"
                                                                  "\"platform\":{\"architecture\":"
                                                                  "\"unknown\",\"os\":\"unknown\"}}"
                                                                  ","
                                                                  "{\"digest\":" Q(
                                                                      DIG_C) ",\"size\":4}]}";
    struct manifest m;
    struct berr err = {0};
    assert_int_equal(manifest_parse(body, strlen(body), MT_OCI_INDEX, &m, &err), 0);
    assert_int_equal(m.kind, MANIFEST_INDEX);
    assert_string_equal(m.media_type, MT_OCI_INDEX);
    assert_int_equal(m.nmanifests, 4);
    assert_true(m.manifests[0].has_platform);
    assert_string_equal(m.manifests[0].platform.os, "linux");
    assert_string_equal(m.manifests[0].platform.architecture, "arm");
    assert_string_equal(m.manifests[0].platform.variant, "v7");
    assert_int_equal(m.manifests[0].size, 1);
    assert_string_equal(m.manifests[1].platform.architecture, "amd64");
    assert_string_equal(m.manifests[1].platform.variant, "");
    assert_string_equal(m.manifests[1].digest, DIG_B);
    assert_string_equal(m.manifests[2].platform.os, "unknown");
    assert_false(m.manifests[3].has_platform);
    assert_string_equal(m.manifests[3].media_type, "");
    assert_int_equal(m.manifests[3].size, 4);
    assert_null(m.layers);
    manifest_done(&m);
}

static void test_parse_foreign(void **state)
{
    (void)state;
    static const struct {
        const char *layer;
        bool foreign;
    } cases[] = {
        {LAYER_DOCKER, false},
        {DESC(MT_DOCKER_FOREIGN, DIG_B, "1"), true},
        {DESC("application/vnd.docker.image.rootfs.foreign.diff.tar", DIG_B, "1"), true},
        {DESC("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", DIG_B, "1"), true},
        {DESC("application/vnd.oci.image.layer.nondistributable.v1.tar", DIG_B, "1"), true},
        {DESC(MT_OCI_LAYER_ZSTD, DIG_B, "1"), false},
        {"{\"mediaType\":" Q(MT_OCI_LAYER_GZIP) ",\"digest\":" Q(DIG_B) ",\"size\":1,\"urls\":[]}",
         false},
        {"{\"mediaType\":" Q(MT_OCI_LAYER_GZIP) ",\"digest\":" Q(
             DIG_B) ",\"size\":1,\"urls\":[\"https://mcr.microsoft.com/x\"]}",
         true},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char body[1024];
        snprintf(body, sizeof(body), "{\"schemaVersion\":2,\"config\":%s,\"layers\":[%s]}", CFG_OCI,
                 cases[i].layer);
        struct manifest m;
        struct berr err = {0};
        if (manifest_parse(body, strlen(body), NULL, &m, &err) != 0)
            fail_msg("case %zu: %s", i, err.msg);
        if (m.layers[0].foreign != cases[i].foreign)
            fail_msg("case %zu: foreign=%d", i, m.layers[0].foreign);
        manifest_done(&m);
    }
}

/* ---- media types and schema versions ---- */

static void test_parse_media_type_errors(void **state)
{
    (void)state;
    static const struct parse_case cases[] = {
        {"schema1 signed header", MT_DOCKER_SCHEMA1S, "{}", 400, SCHEMA1_TEXT},
        {"schema1 header", MT_DOCKER_SCHEMA1 "; x=1", DOCKER_M(CFG_DOCKER, ""), 400, SCHEMA1_TEXT},
        {"schema1 body", NULL,
         "{\"schemaVersion\":1,\"name\":\"library/x\",\"tag\":\"latest\",\"architecture\":"
         "\"amd64\",\"fsLayers\":[{\"blobSum\":" Q(DIG_A) "}],\"history\":[]}",
         400, SCHEMA1_TEXT},
        {"schema1 body, schema2 header", MT_DOCKER_MANIFEST,
         "{\"schemaVersion\":1,\"fsLayers\":[]}", 400, SCHEMA1_TEXT},
        {"schema1 by fsLayers", NULL, "{\"fsLayers\":[]}", 400, SCHEMA1_TEXT},
        {"signatures alone are not schema1", NULL, "{\"schemaVersion\":2,\"signatures\":[]}", 400,
         "unsupported manifest format"},
        {"schema1 body mediaType", NULL,
         "{\"schemaVersion\":2,\"mediaType\":" Q(MT_DOCKER_SCHEMA1) "}", 400, SCHEMA1_TEXT},
        {"unknown header", "text/html", DOCKER_M(CFG_DOCKER, ""), 400,
         "unsupported manifest media type 'text/html'"},
        {"artifact header", "application/vnd.oci.artifact.manifest.v1+json",
         DOCKER_M(CFG_DOCKER, ""), 400, "unsupported manifest media type"},
        {"overlong header",
         "application/vnd.docker.distribution.manifest.v2+json.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
         DOCKER_M(CFG_DOCKER, ""), 400, "unsupported manifest media type"},
        {"unknown body mediaType", NULL,
         "{\"schemaVersion\":2,\"mediaType\":\"application/foo\",\"config\":" CFG_OCI
         ",\"layers\":[]}",
         400, "unsupported manifest media type 'application/foo'"},
        {"mediaType not a string", NULL, "{\"schemaVersion\":2,\"mediaType\":2}", 400,
         "mediaType must be a string"},
        {"header docker, body oci", MT_DOCKER_MANIFEST, OCI_M_MT(CFG_OCI, ""), 400,
         "mediaType in manifest should be '" MT_DOCKER_MANIFEST "' not '" MT_OCI_MANIFEST "'"},
        {"header docker, body without", MT_DOCKER_MANIFEST, OCI_M(CFG_DOCKER, ""), 400,
         "mediaType in manifest should be '" MT_DOCKER_MANIFEST "' not ''"},
        {"header list, body manifest", MT_DOCKER_LIST, DOCKER_M(CFG_DOCKER, ""), 400,
         "mediaType in manifest list should be '" MT_DOCKER_LIST "' not '" MT_DOCKER_MANIFEST "'"},
        {"header oci, body docker", MT_OCI_MANIFEST, DOCKER_M(CFG_DOCKER, ""), 400,
         "if present, mediaType in manifest should be '" MT_OCI_MANIFEST
         "' not '" MT_DOCKER_MANIFEST "'"},
        {"header index, body list", MT_OCI_INDEX, DOCKER_L(""), 400,
         "if present, mediaType in image index should be '" MT_OCI_INDEX "' not '" MT_DOCKER_LIST
         "'"},
        {"body mediaType in other case", NULL,
         "{\"schemaVersion\":2,\"mediaType\":\"Application/vnd.docker.distribution.manifest.v2+"
         "json\",\"config\":" CFG_DOCKER ",\"layers\":[]}",
         400, "mediaType in manifest should be"},
        {"nothing to infer from", NULL, "{\"schemaVersion\":2}", 400,
         "unsupported manifest format"},
        {"config without layers", NULL, "{\"schemaVersion\":2,\"config\":" CFG_OCI "}", 400,
         "unsupported manifest format"},
        {"index with config", NULL, "{\"schemaVersion\":2,\"manifests\":[],\"config\":" CFG_OCI "}",
         400, "expected index but found manifest"},
        {"list with layers", MT_DOCKER_LIST,
         "{\"schemaVersion\":2,\"mediaType\":" Q(
             MT_DOCKER_LIST) ",\"manifests\":[],\"layers\":[" LAYER_DOCKER "]}",
         400, "expected index but found manifest"},
        {"manifest with odd manifests", MT_OCI_MANIFEST,
         "{\"schemaVersion\":2,\"config\":" CFG_OCI ",\"layers\":[],\"manifests\":{}}", 400,
         "expected manifest but found index"},
        {"manifest with entries", MT_OCI_MANIFEST,
         "{\"schemaVersion\":2,\"config\":" CFG_OCI ",\"layers\":[],\"manifests\":[{}]}", 400,
         "expected manifest but found index"},
        {"schemaVersion missing", NULL, "{\"config\":" CFG_OCI ",\"layers\":[]}", 400,
         "schemaVersion is missing"},
        {"schemaVersion null", NULL,
         "{\"schemaVersion\":null,\"config\":" CFG_OCI ",\"layers\":[]}", 400,
         "schemaVersion is missing"},
        {"schemaVersion string", NULL,
         "{\"schemaVersion\":\"2\",\"config\":" CFG_OCI ",\"layers\":[]}", 400,
         "schemaVersion must be a number"},
        {"schemaVersion 3", NULL, "{\"schemaVersion\":3,\"config\":" CFG_OCI ",\"layers\":[]}", 400,
         "schemaVersion must be 2, not 3"},
        {"schemaVersion 2.5", NULL, "{\"schemaVersion\":2.5,\"config\":" CFG_OCI ",\"layers\":[]}",
         400, "schemaVersion must be 2"},
        {"schemaVersion huge", NULL,
         "{\"schemaVersion\":1e400,\"config\":" CFG_OCI ",\"layers\":[]}", 400,
         "schemaVersion must be 2"},
        {"schemaVersion twice", NULL,
         "{\"schemaVersion\":2,\"schemaVersion\":2,\"config\":" CFG_OCI ",\"layers\":[]}", 400,
         "duplicate key 'schemaVersion'"},
        {"mediaType twice", NULL,
         "{\"schemaVersion\":2,\"mediaType\":" Q(MT_OCI_MANIFEST) ",\"mediaType\":" Q(
             MT_OCI_INDEX) ",\"config\":" CFG_OCI ",\"layers\":[]}",
         400, "duplicate key 'mediaType'"},
        {"mediaType in two cases", NULL,
         "{\"schemaVersion\":2,\"mediaType\":" Q(MT_OCI_MANIFEST) ",\"MEDIATYPE\":" Q(
             MT_OCI_MANIFEST) ",\"config\":" CFG_OCI ",\"layers\":[]}",
         400, "duplicate key 'mediaType'"},
    };
    run_parse_cases(cases, ARRAY_SIZE(cases));
}

/* ---- malformed JSON ---- */

static void test_parse_malformed(void **state)
{
    (void)state;
    static const struct parse_case cases[] = {
        {"not json", NULL, "hello", 400, "malformed JSON at byte 0"},
        {"truncated", NULL, "{\"schemaVersion\":2,\"config\":{", 400, "malformed JSON"},
        {"truncated string", NULL, "{\"schemaVersion\":2,\"mediaType\":\"appl", 400,
         "malformed JSON"},
        {"array", NULL, "[]", 400, "not a JSON object"},
        {"string", NULL, "\"x\"", 400, "not a JSON object"},
        {"number", NULL, "2", 400, "not a JSON object"},
        {"null", NULL, "null", 400, "not a JSON object"},
        {"trailing data", NULL, OCI_M(CFG_OCI, "") "x", 400, "unexpected data after JSON"},
        {"two objects", NULL, "{} {}", 400, "unexpected data after JSON at byte 3"},
        {"control character", NULL, "{\"schemaVersion\":2,\x01\"a\":1}", 400,
         "control character 0x01 at byte 19"},
        {"only blanks", NULL, "   ", 400, "malformed JSON"},
        {"bad escape", NULL, "{\"a\":\"\\q\"}", 400, "malformed JSON"},
        {"missing colon", NULL, "{\"a\" 1}", 400, "malformed JSON"},
    };
    run_parse_cases(cases, ARRAY_SIZE(cases));

    struct manifest m;
    struct berr err = {0};
    assert_int_equal(manifest_parse("", 0, NULL, &m, &err), -EINVAL);
    assert_string_equal(err.msg, "invalid manifest: empty body");
    assert_int_equal(manifest_parse(NULL, 0, NULL, &m, &err), -EINVAL);
    assert_int_equal(manifest_parse(NULL, 5, NULL, &m, &err), -EINVAL);
    assert_string_equal(err.msg, "invalid manifest: no body");

    /* An embedded NUL is not whitespace. */
    static const char nul[] = "{\"schemaVersion\":2}\0{}";
    assert_int_equal(manifest_parse(nul, sizeof(nul) - 1, NULL, &m, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "control character 0x00"));

    /* Nesting beyond cJSON's limit fails cleanly. */
    size_t depth = 5000;
    char *deep = malloc(2 * depth + 1);
    assert_non_null(deep);
    memset(deep, '[', depth);
    memset(deep + depth, ']', depth);
    deep[2 * depth] = '\0';
    assert_int_equal(manifest_parse(deep, 2 * depth, NULL, &m, &err), -EINVAL);
    assert_int_equal(err.status, 400);
    free(deep);

    /* The body need not be NUL-terminated. */
    static const char body[] = OCI_M(CFG_OCI, "") "GARBAGE";
    assert_int_equal(manifest_parse(body, sizeof(body) - 1 - 7, NULL, &m, &err), 0);
    manifest_done(&m);
}

/* ---- descriptors ---- */

static void test_parse_descriptor_errors(void **state)
{
    (void)state;
    static const struct parse_case cases[] = {
        {"config missing", NULL,
         "{\"schemaVersion\":2,\"layers\":[],\"mediaType\":" Q(MT_OCI_MANIFEST) "}", 400,
         "config is missing"},
        {"config not an object", NULL, OCI_M("[]", ""), 400, "config must be an object"},
        {"config mediaType missing", NULL, OCI_M("{\"digest\":" Q(DIG_A) ",\"size\":1}", ""), 400,
         "config.mediaType is missing"},
        {"config mediaType empty", NULL, OCI_M(DESC("", DIG_A, "1"), ""), 400,
         "config.mediaType is empty"},
        {"config mediaType number", NULL,
         OCI_M("{\"mediaType\":1,\"digest\":" Q(DIG_A) ",\"size\":1}", ""), 400,
         "config.mediaType must be a string"},
        {"config digest missing", NULL,
         OCI_M("{\"mediaType\":" Q(MT_OCI_CONFIG) ",\"size\":1}", ""), 400,
         "config.digest is missing"},
        {"config digest number", NULL,
         OCI_M("{\"mediaType\":" Q(MT_OCI_CONFIG) ",\"digest\":7,\"size\":1}", ""), 400,
         "config.digest must be a string"},
        {"digest short", NULL, OCI_M(DESC(MT_OCI_CONFIG, "sha256:abc", "1"), ""), 400,
         "config.digest 'sha256:abc' is not a valid sha256 digest"},
        {"digest long", NULL, OCI_M(DESC(MT_OCI_CONFIG, DIG_A "0", "1"), ""), 400,
         "not a valid sha256 digest"},
        {"digest uppercase", NULL,
         OCI_M(DESC(MT_OCI_CONFIG, "sha256:" HEX16A HEX16A HEX16A "0123456789ABCDEF", "1"), ""),
         400, "not a valid sha256 digest"},
        {"digest not hex", NULL,
         OCI_M(DESC(MT_OCI_CONFIG, "sha256:" HEX16A HEX16A HEX16A "0123456789abcdeg", "1"), ""),
         400, "not a valid sha256 digest"},
        {"digest without algorithm", NULL,
         OCI_M(DESC(MT_OCI_CONFIG, HEX16A HEX16A HEX16A HEX16A, "1"), ""), 400,
         "not a valid sha256 digest"},
        {"digest empty", NULL, OCI_M(DESC(MT_OCI_CONFIG, "", "1"), ""), 400,
         "config.digest '' is not a valid sha256 digest"},
        {"digest sha512", NULL,
         OCI_M(DESC(MT_OCI_CONFIG,
                    "sha512:" HEX16A HEX16A HEX16A HEX16A HEX16A HEX16A HEX16A HEX16A, "1"),
               ""),
         400, "unsupported digest algorithm"},
        {"digest sha384", NULL,
         OCI_M(DESC(MT_OCI_CONFIG, "sha384:" HEX16A HEX16A HEX16A HEX16A HEX16A HEX16A, "1"), ""),
         400, "config.digest 'sha384:"},
        {"digest colon first", NULL, OCI_M(DESC(MT_OCI_CONFIG, ":" HEX16A, "1"), ""), 400,
         "not a valid sha256 digest"},
        {"size twice", NULL,
         OCI_M("{\"mediaType\":" Q(MT_OCI_CONFIG) ",\"digest\":" Q(DIG_A) ",\"size\":1,\"size\":2}",
               ""),
         400, "duplicate key 'config.size'"},
        {"layers twice", NULL,
         "{\"schemaVersion\":2,\"config\":" CFG_OCI ",\"layers\":[],\"layers\":[]}", 400,
         "duplicate key 'layers'"},
        {"urls twice", NULL,
         OCI_M(CFG_OCI, "{\"mediaType\":" Q(MT_OCI_LAYER) ",\"digest\":" Q(
                            DIG_B) ",\"size\":1,\"urls\":[],\"URLs\":[]}"),
         400, "duplicate key 'layers[0].urls'"},
        {"platform twice", NULL,
         OCI_I("{\"digest\":" Q(DIG_A) ",\"size\":1,\"platform\":{},\"platform\":{}}"), 400,
         "duplicate key 'manifests[0].platform'"},
        {"digest other algorithm", NULL, OCI_M(DESC(MT_OCI_CONFIG, "md5:abcd", "1"), ""), 400,
         "not a valid sha256 digest"},
        {"size missing", NULL,
         OCI_M("{\"mediaType\":" Q(MT_OCI_CONFIG) ",\"digest\":" Q(DIG_A) "}", ""), 400,
         "config.size is missing"},
        {"size negative", NULL, OCI_M(DESC(MT_OCI_CONFIG, DIG_A, "-1"), ""), 400,
         "config.size must not be negative"},
        {"size fraction", NULL, OCI_M(DESC(MT_OCI_CONFIG, DIG_A, "1.5"), ""), 400,
         "config.size must be an integer"},
        {"size huge", NULL, OCI_M(DESC(MT_OCI_CONFIG, DIG_A, "1e300"), ""), 400,
         "config.size is too large"},
        {"size past 2^53", NULL, OCI_M(DESC(MT_OCI_CONFIG, DIG_A, "9007199254740994"), ""), 400,
         "config.size is too large"},
        {"size string", NULL, OCI_M(DESC(MT_OCI_CONFIG, DIG_A, "\"1\""), ""), 400,
         "config.size must be a number"},
        {"size bool", NULL, OCI_M(DESC(MT_OCI_CONFIG, DIG_A, "true"), ""), 400,
         "config.size must be a number"},
        {"digest twice", NULL,
         OCI_M("{\"mediaType\":" Q(MT_OCI_CONFIG) ",\"digest\":" Q(DIG_A) ",\"Digest\":" Q(
                   DIG_B) ",\"size\":1}",
               ""),
         400, "duplicate key 'config.digest'"},
        {"config twice", NULL,
         "{\"schemaVersion\":2,\"config\":" CFG_OCI ",\"config\":" CFG_OCI ",\"layers\":[]}", 400,
         "duplicate key 'config'"},
        {"plugin config", MT_DOCKER_MANIFEST,
         DOCKER_M(DESC("application/vnd.docker.plugin.v1+json", DIG_A, "1"), ""), 400,
         "Encountered remote \"application/vnd.docker.plugin.v1+json\"(plugin) when fetching"},
        {"odd docker config", NULL,
         DOCKER_M(DESC("application/vnd.docker.foo+json", DIG_A, "1"), ""), 400,
         "Encountered remote \"application/vnd.docker.foo+json\"(unknown) when fetching"},
        {"ai model", NULL,
         OCI_M(DESC("application/vnd.docker.ai.model.config.v0.1+json", DIG_A, "1"), ""), 400,
         "AI models are not yet supported by the Engine, please use \"docker model pull/run\" "
         "instead"},
        {"helm chart", NULL,
         OCI_M(DESC("application/vnd.cncf.helm.config.v1+json", DIG_A, "1"), ""), 400,
         "unsupported media type application/vnd.cncf.helm.config.v1+json"},
        {"prefix without dot", NULL,
         OCI_M(DESC("application/vnd.oci.images_are_fun", DIG_A, "1"), ""), 400,
         "unsupported media type application/vnd.oci.images_are_fun"},
        {"mediaType too long", NULL,
         OCI_M(DESC("application/vnd.oci.image." HEX16A HEX16A HEX16A HEX16A HEX16A HEX16A HEX16A,
                    DIG_A, "1"),
               ""),
         400, "config.mediaType is too long (138 bytes, limit 127)"},
        {"layers missing", NULL,
         "{\"schemaVersion\":2,\"mediaType\":" Q(MT_OCI_MANIFEST) ",\"config\":" CFG_OCI "}", 400,
         "layers is missing"},
        {"layers null", MT_OCI_MANIFEST,
         "{\"schemaVersion\":2,\"config\":" CFG_OCI ",\"layers\":null}", 400, "layers is missing"},
        {"layers object", NULL, "{\"schemaVersion\":2,\"config\":" CFG_OCI ",\"layers\":{}}", 400,
         "layers must be an array"},
        {"layer not an object", NULL, OCI_M(CFG_OCI, LAYER_OCI ",7"), 400,
         "layers[1] must be an object"},
        {"layer mediaType missing", NULL, OCI_M(CFG_OCI, "{\"digest\":" Q(DIG_B) ",\"size\":1}"),
         400, "layers[0].mediaType is missing"},
        {"layer digest bad", NULL, OCI_M(CFG_OCI, LAYER_OCI "," DESC(MT_OCI_LAYER, "sha256:", "1")),
         400, "layers[1].digest 'sha256:' is not a valid sha256 digest"},
        {"layer size negative", NULL, OCI_M(CFG_OCI, DESC(MT_OCI_LAYER, DIG_B, "-5")), 400,
         "layers[0].size must not be negative"},
        {"layer unsupported type", NULL, OCI_M(CFG_OCI, DESC("text/plain", DIG_B, "5")), 400,
         "unsupported media type text/plain"},
        {"urls not an array", NULL,
         OCI_M(CFG_OCI, "{\"mediaType\":" Q(MT_OCI_LAYER) ",\"digest\":" Q(
                            DIG_B) ",\"size\":1,\"urls\":\"https://x\"}"),
         400, "layers[0].urls must be an array"},
        {"urls of numbers", NULL,
         OCI_M(CFG_OCI, "{\"mediaType\":" Q(MT_OCI_LAYER) ",\"digest\":" Q(
                            DIG_B) ",\"size\":1,\"urls\":[1]}"),
         400, "layers[0].urls must hold strings"},
        {"manifests missing", MT_OCI_INDEX, "{\"schemaVersion\":2}", 400, "manifests is missing"},
        {"manifests object", NULL, "{\"schemaVersion\":2,\"manifests\":{\"a\":1}}", 400,
         "manifests must be an array"},
        {"entry not an object", NULL, OCI_I("\"x\""), 400, "manifests[0] must be an object"},
        {"entry digest bad", NULL, OCI_I(ENTRY(MT_OCI_MANIFEST, "sha256:zz", "null")), 400,
         "manifests[0].digest 'sha256:zz' is not a valid sha256 digest"},
        {"entry mediaType number", NULL,
         OCI_I("{\"mediaType\":[],\"digest\":" Q(DIG_A) ",\"size\":1}"), 400,
         "manifests[0].mediaType must be a string"},
        {"entry size missing", NULL, OCI_I("{\"digest\":" Q(DIG_A) "}"), 400,
         "manifests[0].size is missing"},
        {"platform not an object", NULL, OCI_I(ENTRY(MT_OCI_MANIFEST, DIG_A, "\"linux\"")), 400,
         "manifests[0].platform must be an object"},
        {"platform os number", NULL,
         OCI_I(ENTRY(MT_OCI_MANIFEST, DIG_A, "{\"os\":1,\"architecture\":\"amd64\"}")), 400,
         "manifests[0].platform.os must be a string"},
        {"platform arch too long", NULL,
         OCI_I(ENTRY(MT_OCI_MANIFEST, DIG_A, PLAT("linux", HEX16A HEX16A))), 400,
         "manifests[0].platform.architecture is too long (32 bytes, limit 31)"},
        {"platform variant twice", NULL,
         OCI_I(ENTRY(MT_OCI_MANIFEST, DIG_A,
                     "{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v6\",\"variant\":"
                     "\"v7\"}")),
         400, "duplicate key 'manifests[0].platform.variant'"},
    };
    run_parse_cases(cases, ARRAY_SIZE(cases));
}

/* ---- limits ---- */

static char *repeat_json(const char *head, const char *item, size_t n, const char *tail)
{
    size_t len = strlen(head) + n * (strlen(item) + 1) + strlen(tail) + 1;
    char *s = malloc(len);
    assert_non_null(s);
    char *p = s + sprintf(s, "%s", head);
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%s%s", i ? "," : "", item);
    sprintf(p, "%s", tail);
    return s;
}

static void test_parse_limits(void **state)
{
    (void)state;
    struct manifest m;
    struct berr err = {0};

    char *s = repeat_json("{\"schemaVersion\":2,\"config\":" CFG_OCI ",\"layers\":[", LAYER_OCI,
                          MANIFEST_MAX_LAYERS, "]}");
    assert_int_equal(manifest_parse(s, strlen(s), NULL, &m, &err), 0);
    assert_int_equal(m.nlayers, MANIFEST_MAX_LAYERS);
    manifest_done(&m);
    free(s);

    s = repeat_json("{\"schemaVersion\":2,\"config\":" CFG_OCI ",\"layers\":[", LAYER_OCI,
                    MANIFEST_MAX_LAYERS + 1, "]}");
    assert_int_equal(manifest_parse(s, strlen(s), NULL, &m, &err), -EINVAL);
    assert_int_equal(err.status, 400);
    assert_string_equal(err.msg, "invalid manifest: too many layers (more than 256)");
    free(s);

    const char *entry = ENTRY(MT_OCI_MANIFEST, DIG_A, PLAT("linux", "amd64"));
    s = repeat_json("{\"schemaVersion\":2,\"manifests\":[", entry, 1024, "]}");
    assert_int_equal(manifest_parse(s, strlen(s), NULL, &m, &err), 0);
    assert_int_equal(m.nmanifests, 1024);
    manifest_done(&m);
    free(s);

    s = repeat_json("{\"schemaVersion\":2,\"manifests\":[", entry, 1025, "]}");
    assert_int_equal(manifest_parse(s, strlen(s), NULL, &m, &err), -EINVAL);
    assert_string_equal(err.msg, "invalid manifest: too many manifests (more than 1024)");
    free(s);

    /* Size: exactly the limit is parsed (padded with blanks), one more is not. */
    static const char small[] = OCI_M(CFG_OCI, "");
    char *big = malloc(MANIFEST_MAX_BYTES + 1);
    assert_non_null(big);
    memset(big, ' ', MANIFEST_MAX_BYTES + 1);
    memcpy(big, small, sizeof(small) - 1);
    assert_int_equal(manifest_parse(big, MANIFEST_MAX_BYTES, NULL, &m, &err), 0);
    manifest_done(&m);
    assert_int_equal(manifest_parse(big, MANIFEST_MAX_BYTES + 1, NULL, &m, &err), -EINVAL);
    assert_int_equal(err.status, 400);
    assert_string_equal(err.msg, "manifest is too large: 4194305 bytes (limit 4194304)");
    free(big);
}

/* A failure half-way through the layers frees what was built. */
static void test_parse_error_after_allocation(void **state)
{
    (void)state;
    char *s = repeat_json("{\"schemaVersion\":2,\"config\":" CFG_OCI ",\"layers\":[", LAYER_OCI,
                          100, ",{}]}");
    struct manifest m;
    struct berr err = {0};
    assert_int_equal(manifest_parse(s, strlen(s), NULL, &m, &err), -EINVAL);
    assert_string_equal(err.msg, "invalid manifest: layers[100].mediaType is missing");
    assert_null(m.layers);
    free(s);
}

static void test_manifest_done_null(void **state)
{
    (void)state;
    manifest_done(NULL);
    struct manifest m = {0};
    manifest_done(&m);
}

/* ---- layer_compression, Accept ---- */

static void test_layer_compression(void **state)
{
    (void)state;
    static const struct {
        const char *mt;
        int want;
    } cases[] = {
        {MT_DOCKER_LAYER, 1},
        {MT_DOCKER_FOREIGN, 1},
        {MT_OCI_LAYER_GZIP, 1},
        {"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", 1},
        {"APPLICATION/VND.OCI.IMAGE.LAYER.V1.TAR+GZIP", 1},
        {MT_OCI_LAYER_ZSTD, 2},
        {"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", 2},
        {"application/vnd.docker.image.rootfs.diff.tar.zstd", 2},
        {MT_OCI_LAYER, 0},
        {"application/vnd.oci.image.layer.nondistributable.v1.tar", 0},
        {"application/vnd.docker.image.rootfs.diff.tar", 0},
        {"application/vnd.docker.image.rootfs.foreign.diff.tar", 0},
        {"application/octet-stream", -1},
        {"application/vnd.oci.image.layer.v1.tar+bzip2", -1},
        {MT_OCI_CONFIG, -1},
        {"", -1},
        {NULL, -1},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        if (layer_compression(cases[i].mt) != cases[i].want)
            fail_msg("%s: %d", cases[i].mt ? cases[i].mt : "(null)",
                     layer_compression(cases[i].mt));
    }
}

static void test_accept_types(void **state)
{
    (void)state;
    static const char *const want[] = {MT_OCI_INDEX, MT_DOCKER_LIST, MT_OCI_MANIFEST,
                                       MT_DOCKER_MANIFEST};
    size_t n = 0;
    while (manifest_accept_types[n])
        n++;
    assert_true(n >= ARRAY_SIZE(want));
    for (size_t i = 0; i < ARRAY_SIZE(want); i++)
        assert_string_equal(manifest_accept_types[i], want[i]);
    /* The schema1 types are offered only to answer them with the notice. */
    for (size_t i = ARRAY_SIZE(want); i < n; i++) {
        struct manifest m;
        struct berr err = {0};
        assert_int_equal(manifest_parse("{}", 2, manifest_accept_types[i], &m, &err), -EINVAL);
        assert_string_equal(err.msg, SCHEMA1_TEXT);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_parse_fields),
        cmocka_unit_test(test_parse_index_fields),
        cmocka_unit_test(test_parse_foreign),
        cmocka_unit_test(test_parse_media_type_errors),
        cmocka_unit_test(test_parse_malformed),
        cmocka_unit_test(test_parse_descriptor_errors),
        cmocka_unit_test(test_parse_limits),
        cmocka_unit_test(test_parse_error_after_allocation),
        cmocka_unit_test(test_manifest_done_null),
        cmocka_unit_test(test_layer_compression),
        cmocka_unit_test(test_accept_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
