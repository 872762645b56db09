/* storage/platform.c: platform parsing and formatting, the host platform,
 * and choosing an index entry (containerd's Only() order, as moby). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include <cmocka.h>

#include "common/hostinfo.h"
#include "common/macros.h"
#include "storage/manifest.h"

#define HEX16A "0123456789abcdef"
#define DIG_A  "sha256:" HEX16A HEX16A HEX16A HEX16A

static void assert_platform(const struct platform *p, const char *os, const char *arch,
                            const char *variant, const char *what)
{
    if (strcmp(p->os, os) != 0 || strcmp(p->architecture, arch) != 0 ||
        strcmp(p->variant, variant) != 0)
        fail_msg("%s: got %s/%s/%s, want %s/%s/%s", what, p->os, p->architecture, p->variant, os,
                 arch, variant);
}

/* ---- platform_host ---- */

static void test_host(void **state)
{
    (void)state;
    struct platform h;
    platform_host(&h);
    struct utsname u;
    assert_int_equal(uname(&u), 0);
    assert_string_equal(h.os, "linux");
    if (strcmp(u.machine, "x86_64") == 0)
        assert_platform(&h, "linux", "amd64", "", "x86_64 host");
    else if (strcmp(u.machine, "aarch64") == 0)
        assert_platform(&h, "linux", "arm64", "v8", "aarch64 host");
    else if (strncmp(u.machine, "armv7", 5) == 0)
        assert_platform(&h, "linux", "arm", "v7", "armv7 host");
    else
        assert_string_equal(h.architecture, hostinfo_goarch(u.machine));
}

/* ---- platform_parse ---- */

static void test_parse_valid(void **state)
{
    (void)state;
    struct platform host;
    platform_host(&host);
    /* containerd's Parse keeps the host variant for "os" alone only on arm/v6 and such. */
    const char *host_variant =
        strcmp(host.architecture, "arm") == 0 && strcmp(host.variant, "v7") != 0 ? host.variant
                                                                                 : "";
    static const struct {
        const char *in, *os, *arch, *variant;
    } cases[] = {
        {"linux/amd64", "linux", "amd64", ""},
        {"linux/x86_64", "linux", "amd64", ""},
        {"linux/x86-64", "linux", "amd64", ""},
        {"LINUX/AMD64", "linux", "amd64", ""},
        {"linux/amd64/v1", "linux", "amd64", ""},
        {"linux/amd64/v3", "linux", "amd64", "v3"},
        {"linux/i386", "linux", "386", ""},
        {"linux/386", "linux", "386", ""},
        {"linux/aarch64", "linux", "arm64", ""},
        {"linux/arm64", "linux", "arm64", ""},
        {"linux/arm64/v8", "linux", "arm64", "v8"},
        {"linux/arm64/8", "linux", "arm64", "v8"},
        {"linux/aarch64/v8.0", "linux", "arm64", "v8"},
        {"linux/arm64/v8.2", "linux", "arm64", "v8.2"},
        {"linux/arm64/9", "linux", "arm64", "v9"},
        {"linux/arm64/9.0", "linux", "arm64", "v9"},
        {"linux/arm64/v9.0", "linux", "arm64", "v9"},
        {"linux/arm/8", "linux", "arm", "v8"},
        {"linux/arm/v100", "linux", "arm", "v100"},
        {"linux/arm", "linux", "arm", ""},
        {"linux/arm/v7", "linux", "arm", "v7"},
        {"linux/arm/7", "linux", "arm", "v7"},
        {"linux/arm/v6", "linux", "arm", "v6"},
        {"linux/arm/6", "linux", "arm", "v6"},
        {"linux/arm/5", "linux", "arm", "v5"},
        {"linux/armhf", "linux", "arm", ""},
        {"linux/armel", "linux", "arm", "v6"},
        {"linux/ppc64le", "linux", "ppc64le", ""},
        {"linux/riscv64", "linux", "riscv64", ""},
        {"linux/s390x", "linux", "s390x", ""},
        {"windows/amd64", "windows", "amd64", ""},
        {"macos/arm64", "darwin", "arm64", ""},
        {"freebsd/amd64", "freebsd", "amd64", ""},
        {"linux/mips64le/r6", "linux", "mips64le", "r6"},
        {"myos/myarch", "myos", "myarch", ""},
        {"amd64", "linux", "amd64", ""},
        {"x86_64", "linux", "amd64", ""},
        {"arm64", "linux", "arm64", ""},
        {"aarch64", "linux", "arm64", ""},
        {"armhf", "linux", "arm", ""},
        {"armel", "linux", "arm", "v6"},
        {"386", "linux", "386", ""},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct platform p;
        struct berr err = {0};
        if (platform_parse(cases[i].in, &p, &err) != 0)
            fail_msg("%s: %s", cases[i].in, err.msg);
        assert_platform(&p, cases[i].os, cases[i].arch, cases[i].variant, cases[i].in);
    }

    /* An OS alone gets the host's architecture; "" is the host. */
    struct platform p;
    struct berr err = {0};
    assert_int_equal(platform_parse("linux", &p, &err), 0);
    assert_platform(&p, "linux", host.architecture, host_variant, "linux");
    assert_int_equal(platform_parse("Windows", &p, &err), 0);
    assert_platform(&p, "windows", host.architecture, host_variant, "Windows");
    assert_int_equal(platform_parse("", &p, &err), 0);
    assert_platform(&p, host.os, host.architecture, host.variant, "\"\"");
    assert_int_equal(platform_parse(NULL, &p, &err), 0);
    assert_platform(&p, host.os, host.architecture, host.variant, "NULL");
}

static void test_parse_invalid(void **state)
{
    (void)state;
    static const struct {
        const char *in, *msg;
    } cases[] = {
        {"foo", "\"foo\": unknown operating system or architecture: invalid argument"},
        {"armv7l", "unknown operating system or architecture"},
        {"linux/", "\"\" is an invalid component of \"linux/\""},
        {"/amd64", "\"\" is an invalid component of \"/amd64\""},
        {"/", "invalid component"},
        {"linux//v7", "invalid component"},
        {"linux/amd64/", "invalid component"},
        {"linux/amd 64", "\"amd 64\" is an invalid component of \"linux/amd 64\": platform "
                         "specifier component must match \"^[A-Za-z0-9_.-]+$\""},
        {"linux/amd64/v8$", "invalid component"},
        {"linux(10.0)/amd64", "invalid component"},
        {"linux/arm/v7/x", "\"linux/arm/v7/x\": cannot parse platform specifier"},
        {"a/b/c/d/e", "cannot parse platform specifier"},
        {"linux/" HEX16A HEX16A, "platform component is too long"},
        {HEX16A HEX16A "/amd64", "platform component is too long"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct platform p;
        memset(&p, 0x5a, sizeof(p));
        struct platform before = p;
        struct berr err = {0};
        int r = platform_parse(cases[i].in, &p, &err);
        if (r != -EINVAL || err.status != 400 || !strstr(err.msg, cases[i].msg))
            fail_msg("%s: r=%d %d '%s'", cases[i].in, r, err.status, err.msg);
        if (memcmp(&p, &before, sizeof(p)) != 0)
            fail_msg("%s: output changed on failure", cases[i].in);
    }
}

/* ---- platform_string ---- */

static void test_string(void **state)
{
    (void)state;
    char out[128];
    struct platform p = {"linux", "arm64", "v8"};
    platform_string(&p, out, sizeof(out));
    assert_string_equal(out, "linux/arm64/v8");
    struct platform q = {"linux", "amd64", ""};
    platform_string(&q, out, sizeof(out));
    assert_string_equal(out, "linux/amd64");
    struct platform r = {"windows", "", ""};
    platform_string(&r, out, sizeof(out));
    assert_string_equal(out, "windows");
    struct platform e = {"", "amd64", ""};
    platform_string(&e, out, sizeof(out));
    assert_string_equal(out, "unknown");

    /* Truncates safely. */
    char small[8];
    platform_string(&p, small, sizeof(small));
    assert_string_equal(small, "linux/a");
    platform_string(&p, small, 6);
    assert_string_equal(small, "linux");
    platform_string(&p, small, 1);
    assert_string_equal(small, "");
    small[0] = 'x';
    platform_string(&p, small, 0);
    assert_int_equal(small[0], 'x');

    /* platform_string and platform_parse round-trip. */
    static const char *const specs[] = {"linux/amd64", "linux/arm64/v8", "linux/arm/v6",
                                        "windows/amd64", "linux/riscv64"};
    for (size_t i = 0; i < ARRAY_SIZE(specs); i++) {
        struct platform x;
        struct berr err = {0};
        assert_int_equal(platform_parse(specs[i], &x, &err), 0);
        platform_string(&x, out, sizeof(out));
        assert_string_equal(out, specs[i]);
    }
}

/* ---- manifest_select ---- */

/* Builds an index from entry specs: "os/arch[/variant]", "-" for an entry
 * without platform, "{...}" for a literal platform object, and "type|spec"
 * for an entry of another media type ("|spec": no mediaType at all). */
static void build_index(const char *const *entries, size_t n, struct manifest *m)
{
    size_t cap = 256 + n * 512;
    char *s = malloc(cap);
    assert_non_null(s);
    size_t len = (size_t)snprintf(
        s, cap, "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"manifests\":[", MT_OCI_INDEX);
    for (size_t i = 0; i < n; i++) {
        const char *spec = entries[i];
        const char *mt = MT_OCI_MANIFEST;
        char mtbuf[128];
        const char *bar = strchr(spec, '|');
        if (bar) {
            snprintf(mtbuf, sizeof(mtbuf), "%.*s", (int)(bar - spec), spec);
            mt = mtbuf;
            spec = bar + 1;
        }
        char plat[256];
        if (strcmp(spec, "-") == 0) {
            plat[0] = '\0';
        } else if (spec[0] == '{') {
            snprintf(plat, sizeof(plat), ",\"platform\":%s", spec);
        } else {
            char os[64] = "", arch[64] = "", variant[64] = "";
            sscanf(spec, "%63[^/]/%63[^/]/%63s", os, arch, variant);
            snprintf(plat, sizeof(plat),
                     ",\"platform\":{\"os\":\"%s\",\"architecture\":\"%s\"%s%s%s}", os, arch,
                     variant[0] ? ",\"variant\":\"" : "", variant, variant[0] ? "\"" : "");
        }
        char mtkey[160] = "";
        if (mt[0])
            snprintf(mtkey, sizeof(mtkey), "\"mediaType\":\"%s\",", mt);
        len += (size_t)snprintf(s + len, cap - len, "%s{%s\"digest\":\"%s\",\"size\":%zu%s}",
                                i ? "," : "", mtkey, DIG_A, i + 1, plat);
    }
    snprintf(s + len, cap - len, "]}");
    struct berr err = {0};
    if (manifest_parse(s, strlen(s), NULL, m, &err) != 0)
        fail_msg("index: %s (%s)", err.msg, s);
    free(s);
}

struct select_case {
    const char *name;
    const char *entries[8];
    const char *want; /* platform_parse input */
    int expect;       /* entry index, or -1 for no match */
};

static void test_select(void **state)
{
    (void)state;
    static const struct select_case cases[] = {
        {"exact amd64", {"linux/arm64/v8", "linux/amd64", "linux/arm/v7"}, "linux/amd64", 1},
        {"arm64 wants v8 entry", {"linux/amd64", "linux/arm64/v8"}, "linux/arm64", 1},
        {"arm64/v8 wants plain entry", {"linux/amd64", "linux/arm64"}, "linux/arm64/v8", 1},
        {"arm64 before arm/v7", {"linux/arm/v7", "linux/arm64"}, "linux/arm64/v8", 1},
        {"arm64 runs arm/v7", {"linux/amd64", "linux/arm/v7"}, "linux/arm64", 1},
        {"arm64 runs arm/v8 first", {"linux/arm/v7", "linux/arm/v8"}, "linux/arm64", 1},
        {"exact variant preferred", {"linux/arm/v6", "linux/arm/v7"}, "linux/arm/v7", 1},
        {"best older variant", {"linux/arm/v5", "linux/arm/v6"}, "linux/arm/v7", 1},
        {"arm default is v7", {"linux/arm/v7"}, "linux/arm", 0},
        {"entry arm without variant is v7", {"linux/arm"}, "linux/arm/v7", 0},
        {"newer arm variant refused", {"linux/arm/v7"}, "linux/arm/v6", -1},
        {"arm v8 32-bit", {"linux/arm/v7", "linux/arm/v8"}, "linux/arm/v8", 1},
        {"amd64 runs 386", {"linux/arm64", "linux/386"}, "linux/amd64", 1},
        {"amd64 prefers amd64", {"linux/386", "linux/amd64"}, "linux/amd64", 1},
        {"amd64 does not run amd64/v2", {"linux/amd64/v2"}, "linux/amd64", -1},
        {"amd64/v3 runs v2 first", {"linux/amd64", "linux/amd64/v2"}, "linux/amd64/v3", 1},
        {"amd64/v2 entry v1", {"linux/amd64/v1"}, "linux/amd64/v2", 0},
        {"386 does not run amd64", {"linux/amd64"}, "linux/386", -1},
        {"arm64/v8.2 runs v8.1", {"linux/arm64", "linux/arm64/v8.1"}, "linux/arm64/v8.2", 1},
        {"arm64/v9 runs v8.5", {"linux/arm64", "linux/arm64/v8.5"}, "linux/arm64/v9", 1},
        {"arm64/v9.1 runs v9", {"linux/arm64/v8.6", "linux/arm64/v9"}, "linux/arm64/v9.1", 1},
        {"arm64 does not run v9", {"linux/arm64/v9"}, "linux/arm64", -1},
        {"entry aliases x86_64", {"linux/arm64", "Linux/x86_64"}, "linux/amd64", 1},
        {"entry aliases aarch64", {"linux/amd64", "linux/aarch64/8"}, "linux/arm64/v8", 1},
        {"entry aliases armhf", {"linux/armhf"}, "linux/arm/v7", 0},
        {"entry aliases i386", {"linux/i386"}, "linux/amd64", 0},
        {"want aliases", {"linux/arm64/v8"}, "linux/aarch64", 0},
        {"other os", {"windows/amd64", "linux/amd64"}, "linux/amd64", 1},
        {"windows", {"linux/amd64", "windows/amd64"}, "windows/amd64", 1},
        {"os mismatch", {"windows/amd64", "darwin/arm64"}, "linux/amd64", -1},
        {"attestations skipped",
         {"unknown/unknown", "linux/amd64", "unknown/unknown", "linux/arm64"},
         "linux/arm64",
         3},
        {"only attestations", {"unknown/unknown", "UNKNOWN/unknown"}, "linux/amd64", -1},
        {"no platform matches last", {"-", "linux/amd64"}, "linux/amd64", 1},
        {"no platform matches", {"linux/arm64", "-"}, "linux/amd64", 1},
        {"empty platform matches", {"{}"}, "linux/s390x", 0},
        {"first of equals", {"linux/amd64", "linux/amd64"}, "linux/amd64", 0},
        {"other media types skipped",
         {"application/vnd.in-toto+json|linux/amd64", "linux/amd64"},
         "linux/amd64",
         1},
        {"nested index selectable", {MT_OCI_INDEX "|linux/amd64"}, "linux/amd64", 0},
        {"docker list entries", {MT_DOCKER_MANIFEST "|linux/amd64"}, "linux/amd64", 0},
        {"schema1 entries skipped", {MT_DOCKER_SCHEMA1S "|linux/amd64"}, "linux/amd64", -1},
        {"empty index", {NULL}, "linux/amd64", -1},
        {"unknown arch exact", {"linux/loong64", "linux/riscv64"}, "linux/riscv64", 1},
        {"entry without mediaType", {"|linux/amd64"}, "linux/amd64", 0},
        {"entry os defaults to linux", {"{\"architecture\":\"amd64\"}"}, "linux/amd64", 0},
        {"entry with variant only", {"{\"variant\":\"v7\"}"}, "linux/arm/v7", -1},
        {"unknown os, known arch", {"unknown/amd64", "linux/amd64"}, "linux/amd64", 1},
        {"arm64/v9.3 runs v9.1", {"linux/arm64/v8.7", "linux/arm64/v9.1"}, "linux/arm64/v9.3", 1},
        {"arm64/v9.3 runs v8.8", {"linux/arm64/v8.8", "linux/arm64/v8.9"}, "linux/arm64/v9.3", 0},
        {"arm64 variant without v", {"linux/arm64/8.2", "linux/arm/v8"}, "linux/arm64/8.2", 0},
        {"arm64 odd minor", {"linux/arm64/v8.x", "linux/arm64"}, "linux/arm64/v8.x", 0},
        /* As Go: "x" is no minor, so nothing below v8.x is tried but arm. */
        {"arm64 odd minor skips v8", {"linux/arm64"}, "linux/arm64/v8.x", -1},
        {"arm64 v8 without dot", {"linux/arm64/v812", "linux/arm64"}, "linux/arm64/v812", 0},
        {"arm64 bad variant", {"linux/arm64", "linux/arm/vx"}, "linux/arm64/vx", 1},
        {"arm variant not a number", {"linux/arm/v7", "linux/arm/vx"}, "linux/arm/vx", 1},
        {"arm/v100 runs v7", {"linux/arm/v7"}, "linux/arm/v100", 0},
        {"arm variant without v", {"linux/arm/v5"}, "linux/arm/r6", -1},
        {"arm64 long variant", {"linux/arm/v8"}, "linux/arm64/v123456", 0},
        {"amd64/v99 runs amd64", {"linux/amd64"}, "linux/amd64/v99", 0},
        {"amd64/v1000000000", {"linux/amd64"}, "linux/amd64/v1000000000", 0},
        {"amd64/v<int64 max>", {"linux/amd64"}, "linux/amd64/v9223372036854775807", 0},
        {"amd64 variant past int64", {"linux/amd64"}, "linux/amd64/v9223372036854775808", -1},
        {"arm64/12.3 (Go: majors past 9)",
         {"linux/arm64/v12.1", "linux/arm64/v12.2"},
         "linux/arm64/12.3",
         1},
        {"arm empty version", {"linux/arm/v6", "linux/arm/v"}, "linux/arm/v", 1},
        {"amd64 variant not a number", {"linux/386"}, "linux/amd64/vx", 0},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        const struct select_case *c = &cases[i];
        size_t n = 0;
        while (n < ARRAY_SIZE(c->entries) && c->entries[n])
            n++;
        struct manifest m;
        build_index(c->entries, n, &m);
        struct platform want;
        struct berr err = {0};
        if (platform_parse(c->want, &want, &err) != 0)
            fail_msg("%s: %s", c->name, err.msg);
        const struct descriptor *d = NULL;
        int r = manifest_select(&m, &want, &d, &err);
        if (c->expect >= 0) {
            if (r != 0)
                fail_msg("%s: %s", c->name, err.msg);
            if (d != &m.manifests[c->expect])
                fail_msg("%s: chose entry %td, want %d", c->name, d - m.manifests, c->expect);
        } else {
            char name[128], msg[256];
            platform_string(&want, name, sizeof(name));
            snprintf(msg, sizeof(msg), "no matching manifest for %s in the manifest list entries",
                     name);
            if (r != -ENOENT || err.status != 404 || strcmp(err.msg, msg) != 0)
                fail_msg("%s: r=%d %d '%s'", c->name, r, err.status, err.msg);
            if (d)
                fail_msg("%s: output set on failure", c->name);
        }
        manifest_done(&m);
    }
}

static void test_select_messages(void **state)
{
    (void)state;
    static const char *const entries[] = {"windows/amd64"};
    struct manifest m;
    build_index(entries, 1, &m);
    const struct descriptor *d;
    struct berr err = {0};

    /* moby's wording, naming the platform as asked for. */
    struct platform want = {"linux", "arm64", "v8"};
    assert_int_equal(manifest_select(&m, &want, &d, &err), -ENOENT);
    assert_int_equal(err.status, 404);
    assert_string_equal(err.msg,
                        "no matching manifest for linux/arm64/v8 in the manifest list entries");
    struct platform plain = {"linux", "arm64", ""};
    assert_int_equal(manifest_select(&m, &plain, &d, &err), -ENOENT);
    assert_string_equal(err.msg,
                        "no matching manifest for linux/arm64 in the manifest list entries");

    /* Nothing asked for: the host platform, named in full. */
    struct platform host;
    char name[128], msg[256];
    platform_host(&host);
    platform_string(&host, name, sizeof(name));
    snprintf(msg, sizeof(msg), "no matching manifest for %s in the manifest list entries", name);
    assert_int_equal(manifest_select(&m, NULL, &d, &err), -ENOENT);
    assert_string_equal(err.msg, msg);
    struct platform none;
    memset(&none, 0, sizeof(none));
    assert_int_equal(manifest_select(&m, &none, &d, &err), -ENOENT);
    assert_string_equal(err.msg, msg);

    /* An OS alone gets the host architecture. */
    struct platform os_only = {"windows", "", ""};
    bool host_amd64 = strcmp(host.architecture, "amd64") == 0;
    assert_int_equal(manifest_select(&m, &os_only, &d, &err), host_amd64 ? 0 : -ENOENT);
    manifest_done(&m);
}

static void test_select_host_default(void **state)
{
    (void)state;
    struct platform host;
    platform_host(&host);
    char spec[128];
    platform_string(&host, spec, sizeof(spec));
    const char *entries[] = {"unknown/unknown", "plan9/sparc", spec};
    struct manifest m;
    build_index(entries, 3, &m);
    const struct descriptor *d = NULL;
    struct berr err = {0};
    assert_int_equal(manifest_select(&m, NULL, &d, &err), 0);
    assert_ptr_equal(d, &m.manifests[2]);
    manifest_done(&m);
}

static void test_select_not_index(void **state)
{
    (void)state;
    static const char body[] = "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" MT_OCI_CONFIG
                               "\",\"digest\":\"" DIG_A "\",\"size\":2},\"layers\":[]}";
    struct manifest m;
    struct berr err = {0};
    assert_int_equal(manifest_parse(body, strlen(body), NULL, &m, &err), 0);
    const struct descriptor *d = NULL;
    struct platform want = {"linux", "amd64", ""};
    assert_int_equal(manifest_select(&m, &want, &d, &err), -EINVAL);
    assert_int_equal(err.status, 400);
    assert_string_equal(err.msg, "not a manifest list or image index");
    assert_int_equal(manifest_select(NULL, &want, &d, &err), -EINVAL);
    assert_null(d);
    manifest_done(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host),
        cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_parse_invalid),
        cmocka_unit_test(test_string),
        cmocka_unit_test(test_select),
        cmocka_unit_test(test_select_messages),
        cmocka_unit_test(test_select_host_default),
        cmocka_unit_test(test_select_not_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
