/* storage/manifest.c, second half: image configs (image_config_parse) and
 * Go-compatible RFC 3339 times (parse_rfc3339). */
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

#define ROOTFS     "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" DIG_A "\",\"" DIG_B "\"]}"
#define CFG(extra) "{\"architecture\":\"amd64\",\"os\":\"linux\"," extra "}"

/* A config as docker build writes it (trimmed). */
static const char busybox_config[] =
    "{\"architecture\":\"arm\",\"variant\":\"v7\",\"config\":{\"Env\":[\"PATH=/usr/local/sbin:"
    "/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"],\"Cmd\":[\"sh\"]},\"created\":"
    "\"2023-10-05T14:21:07.123456789Z\",\"history\":[{\"created\":\"2023-10-05T14:21:07Z\","
    "\"created_by\":\"/bin/sh -c #(nop) ADD file:abc in / \"},{\"created\":"
    "\"2023-10-05T14:21:07Z\",\"created_by\":\"/bin/sh -c #(nop)  CMD [\\\"sh\\\"]\","
    "\"empty_layer\":true}],\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" DIG_A
    "\"]}}";

static void test_config_valid(void **state)
{
    (void)state;
    struct image_config c;
    struct berr err = {0};
    assert_int_equal(image_config_parse(busybox_config, strlen(busybox_config), &c, &err), 0);
    assert_int_equal(c.ndiff_ids, 1);
    assert_string_equal(c.diff_ids[0], DIG_A);
    assert_string_equal(c.os, "linux");
    assert_string_equal(c.architecture, "arm");
    assert_string_equal(c.variant, "v7");
    assert_int_equal(c.created_ns, 1696515667123456789LL);
    /* The whole document is kept for the handlers. */
    assert_non_null(c.json);
    const cJSON *cmd =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(c.json, "config"), "Cmd");
    assert_true(cJSON_IsArray(cmd));
    assert_string_equal(cJSON_GetArrayItem(cmd, 0)->valuestring, "sh");
    image_config_done(&c);
    assert_null(c.json);
    assert_null(c.diff_ids);
    assert_int_equal(c.ndiff_ids, 0);
    image_config_done(&c);
    image_config_done(NULL);
}

struct config_case {
    const char *name;
    const char *body;
    int status; /* 0: success */
    const char *msg;
    size_t ndiff_ids;
    int64_t created_ns;
};

static void test_config_cases(void **state)
{
    (void)state;
    static const struct config_case cases[] = {
        {"minimal", "{\"rootfs\":{\"type\":\"layers\"}}", 0, NULL, 0, 0},
        {"empty diff_ids", "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}", 0, NULL, 0, 0},
        {"null diff_ids", "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":null}}", 0, NULL, 0, 0},
        {"two layers", CFG(ROOTFS), 0, NULL, 2, 0},
        {"created Z", CFG(ROOTFS ",\"created\":\"2006-01-02T15:04:05Z\""), 0, NULL, 2,
         1136214245000000000LL},
        {"created offset", CFG(ROOTFS ",\"created\":\"2006-01-02T15:04:05+07:00\""), 0, NULL, 2,
         1136189045000000000LL},
        {"created null", CFG(ROOTFS ",\"created\":null"), 0, NULL, 2, 0},
        {"created zero time", CFG(ROOTFS ",\"created\":\"0001-01-01T00:00:00Z\""), 0, NULL, 2, 0},
        {"created epoch", CFG(ROOTFS ",\"created\":\"1970-01-01T00:00:00Z\""), 0, NULL, 2, 0},
        {"os null", "{\"os\":null,\"rootfs\":{\"type\":\"layers\"}}", 0, NULL, 0, 0},
        {"keys in other case", "{\"RootFS\":{\"Type\":\"layers\",\"DIFF_IDS\":[\"" DIG_A "\"]}}", 0,
         NULL, 1, 0},

        {"too short", "", 400, "invalid image config: empty body"},
        {"garbage", "not json", 400, "invalid image config: malformed JSON"},
        {"truncated", "{\"rootfs\":{\"type\":\"lay", 400, "malformed JSON"},
        {"array", "[1,2]", 400, "invalid image config: not a JSON object"},
        {"trailing", "{\"rootfs\":{\"type\":\"layers\"}}}", 400, "unexpected data after JSON"},
        {"control character", "{\"rootfs\":\x7f{\"type\":\"layers\"}\x02}", 400,
         "control character 0x02"},
        {"rootfs missing", "{\"architecture\":\"amd64\",\"os\":\"linux\"}", 400,
         "invalid image config: rootfs is missing"},
        {"rootfs null", CFG("\"rootfs\":null"), 400, "rootfs is missing"},
        {"rootfs array", CFG("\"rootfs\":[]"), 400, "rootfs must be an object"},
        {"rootfs twice", CFG(ROOTFS "," ROOTFS), 400, "duplicate key 'rootfs'"},
        {"type missing", CFG("\"rootfs\":{\"diff_ids\":[]}"), 400, "rootfs.type is missing"},
        {"type number", CFG("\"rootfs\":{\"type\":1}"), 400, "rootfs.type must be a string"},
        {"type other", CFG("\"rootfs\":{\"type\":\"layers+squashfs\"}"), 400,
         "rootfs.type must be \"layers\", not \"layers+squashfs\""},
        {"diff_ids object", CFG("\"rootfs\":{\"type\":\"layers\",\"diff_ids\":{}}"), 400,
         "rootfs.diff_ids must be an array"},
        {"diff_id number", CFG("\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" DIG_A "\",5]}"),
         400, "rootfs.diff_ids[1] must be a string"},
        {"diff_id bad", CFG("\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:00\"]}"), 400,
         "rootfs.diff_ids[0] 'sha256:00' is not a valid sha256 digest"},
        {"diff_id sha512",
         CFG("\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha512:" HEX16A HEX16A HEX16A HEX16A
                 HEX16A HEX16A HEX16A HEX16A "\"]}"),
         400, "unsupported digest algorithm"},
        {"diff_ids twice",
         CFG("\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[],\"diff_ids\":[\"" DIG_A "\"]}"), 400,
         "duplicate key 'rootfs.diff_ids'"},
        {"os number", "{\"os\":1,\"rootfs\":{\"type\":\"layers\"}}", 400, "os must be a string"},
        {"architecture too long",
         "{\"architecture\":\"" HEX16A HEX16A "\",\"rootfs\":{\"type\":\"layers\"}}", 400,
         "architecture is too long (32 bytes, limit 31)"},
        {"variant object", "{\"variant\":{},\"rootfs\":{\"type\":\"layers\"}}", 400,
         "variant must be a string"},
        {"created number", CFG(ROOTFS ",\"created\":1696515667"), 400, "created must be a string"},
        {"created bad", CFG(ROOTFS ",\"created\":\"2023-10-05 14:21:07\""), 400,
         "invalid image config: created '2023-10-05 14:21:07' is not an RFC 3339 time"},
        {"created twice",
         CFG(ROOTFS ",\"created\":\"2006-01-02T15:04:05Z\",\"Created\":\"2006-01-02T15:04:05Z\""),
         400, "duplicate key 'created'"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        const struct config_case *t = &cases[i];
        struct image_config c;
        struct berr err = {0};
        memset(&c, 0x5a, sizeof(c));
        int r = image_config_parse(t->body, strlen(t->body), &c, &err);
        if (t->status == 0) {
            if (r != 0)
                fail_msg("%s: %d %s", t->name, r, err.msg);
            if (c.ndiff_ids != t->ndiff_ids || c.created_ns != t->created_ns)
                fail_msg("%s: %zu diff_ids, created %lld", t->name, c.ndiff_ids,
                         (long long)c.created_ns);
            if (!c.json)
                fail_msg("%s: json not kept", t->name);
        } else {
            if (r != -EINVAL || err.status != t->status)
                fail_msg("%s: r=%d status=%d (%s)", t->name, r, err.status, err.msg);
            if (!strstr(err.msg, t->msg))
                fail_msg("%s: message '%s' lacks '%s'", t->name, err.msg, t->msg);
            if (c.json || c.diff_ids || c.ndiff_ids)
                fail_msg("%s: output not cleared on failure", t->name);
        }
        image_config_done(&c);
    }
}

static void test_config_limits(void **state)
{
    (void)state;
    struct image_config c;
    struct berr err = {0};

    /* MANIFEST_MAX_LAYERS diff_ids are fine, one more is not. */
    for (size_t n = MANIFEST_MAX_LAYERS; n <= MANIFEST_MAX_LAYERS + 1; n++) {
        size_t cap = 64 + n * (DIGEST_STR_MAX + 4);
        char *s = malloc(cap);
        assert_non_null(s);
        char *p = s + sprintf(s, "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[");
        for (size_t i = 0; i < n; i++)
            p += sprintf(p, "%s\"%s\"", i ? "," : "", DIG_B);
        sprintf(p, "]}}");
        int r = image_config_parse(s, strlen(s), &c, &err);
        if (n == MANIFEST_MAX_LAYERS) {
            assert_int_equal(r, 0);
            assert_int_equal(c.ndiff_ids, n);
            image_config_done(&c);
        } else {
            assert_int_equal(r, -EINVAL);
            assert_string_equal(err.msg,
                                "invalid image config: too many rootfs.diff_ids (more than 256)");
        }
        free(s);
    }

    /* A bad diff_id after good ones frees the ones copied so far. */
    static const char late[] =
        "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" DIG_A "\",\"" DIG_B "\",\"x\"]}}";
    assert_int_equal(image_config_parse(late, strlen(late), &c, &err), -EINVAL);
    assert_string_equal(
        err.msg, "invalid image config: rootfs.diff_ids[2] 'x' is not a valid sha256 digest");

    /* Size limit: exactly CONFIG_MAX_BYTES is parsed, one more is not. */
    static const char small[] = "{\"rootfs\":{\"type\":\"layers\"}}";
    char *big = malloc(CONFIG_MAX_BYTES + 1);
    assert_non_null(big);
    memset(big, '\n', CONFIG_MAX_BYTES + 1);
    memcpy(big, small, sizeof(small) - 1);
    assert_int_equal(image_config_parse(big, CONFIG_MAX_BYTES, &c, &err), 0);
    image_config_done(&c);
    assert_int_equal(image_config_parse(big, CONFIG_MAX_BYTES + 1, &c, &err), -EINVAL);
    assert_int_equal(err.status, 400);
    assert_string_equal(err.msg, "image config is too large: 8388609 bytes (limit 8388608)");
    free(big);

    assert_int_equal(image_config_parse(NULL, 0, &c, &err), -EINVAL);
    assert_string_equal(err.msg, "invalid image config: empty body");
    assert_int_equal(image_config_parse(NULL, 3, &c, &err), -EINVAL);
    assert_string_equal(err.msg, "invalid image config: no body");
}

/* ---- parse_rfc3339 ---- */

static void test_rfc3339_valid(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int64_t ns;
    } cases[] = {
        {"2006-01-02T15:04:05Z", 1136214245000000000LL},
        {"2006-01-02T15:04:05+07:00", 1136189045000000000LL},
        {"2006-01-02T15:04:05-07:30", 1136241245000000000LL},
        {"2006-01-02T15:04:05+00:00", 1136214245000000000LL},
        {"2006-01-02T15:04:05-00:00", 1136214245000000000LL},
        {"2006-01-02T15:04:05.5Z", 1136214245500000000LL},
        {"2006-01-02T15:04:05.000000001Z", 1136214245000000001LL},
        {"2006-01-02T15:04:05.123456789Z", 1136214245123456789LL},
        {"2006-01-02T15:04:05.1234567891234Z", 1136214245123456789LL},
        {"2006-01-02T15:04:05.999999999999999999999999999Z", 1136214245999999999LL},
        {"2006-01-02T15:04:05.5+07:00", 1136189045500000000LL},
        {"2024-02-29T12:00:00Z", 1709208000000000000LL},
        {"2000-01-01T00:30:00+01:00", 946683000000000000LL},
        {"2000-02-29T00:00:00Z", 951782400000000000LL},
        {"1970-01-01T00:00:00Z", 0},
        {"1970-01-01T01:00:00+01:00", 0},
        {"1969-12-31T23:59:59.5Z", -500000000LL},
        {"1900-03-01T00:00:00Z", -2203891200000000000LL},
        {"2006-01-02T23:59:59+23:59", 1136160059000000000LL},
        {"2262-04-11T23:47:16.854775807Z", INT64_MAX},
        {"1677-09-21T00:12:43.145224192Z", INT64_MIN},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        int64_t ns = 42;
        int r = parse_rfc3339(cases[i].s, &ns);
        if (r != 0 || ns != cases[i].ns)
            fail_msg("%s: r=%d ns=%lld want %lld", cases[i].s, r, (long long)ns,
                     (long long)cases[i].ns);
    }
}

static void test_rfc3339_invalid(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "2006",
        "2006-01-02",
        "2006-01-02T15:04:05",
        "2006-01-02T15:04:05z",
        "2006-01-02t15:04:05Z",
        "2006-01-02 15:04:05Z",
        "2006-01-02T15:04Z",
        "2006-1-02T15:04:05Z",
        "2006-01-2T15:04:05Z",
        "2006-01-02T5:04:05Z",
        "06-01-02T15:04:05Z",
        "20060-01-02T15:04:05Z",
        "2006/01/02T15:04:05Z",
        "2006-01-02T15.04.05Z",
        "2006-01/02T15:04:05Z",
        "2006-01-02T15:04.05Z",
        "2006-01-02T15-04:05Z",
        "2006-00-02T15:04:05Z",
        "2006-13-02T15:04:05Z",
        "2006-01-00T15:04:05Z",
        "2006-01-32T15:04:05Z",
        "2006-04-31T15:04:05Z",
        "2023-02-29T15:04:05Z",
        "1900-02-29T15:04:05Z",
        "2006-01-02T24:00:00Z",
        "2006-01-02T15:60:05Z",
        "2006-01-02T15:04:60Z",
        "2006-01-02T15:04:05.Z",
        "2006-01-02T15:04:05,5Z",
        "2006-01-02T15:04:05.5",
        "2006-01-02T15:04:05ZZ",
        "2006-01-02T15:04:05Z ",
        " 2006-01-02T15:04:05Z",
        "2006-01-02T15:04:05+0700",
        "2006-01-02T15:04:05+07",
        "2006-01-02T15:04:05+7:00",
        "2006-01-02T15:04:05+24:00",
        "2006-01-02T15:04:05+07:60",
        "2006-01-02T15:04:05*07:00",
        "2006-01-02T15:04:05+07-00",
        "2006-01-02T15:04:05+07:00:00",
        "2006-01-02T15:04:05+07:0a",
        "-006-01-02T15:04:05Z",
        "+2006-01-02T15:04:05Z",
        "2006-01-02T15:04:05.1e5Z",
        "２006-01-02T15:04:05Z",
        "2006-01-02T15:04:05UTC",
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        int64_t ns = 42;
        int r = parse_rfc3339(bad[i], &ns);
        if (r != -EINVAL || ns != 42)
            fail_msg("'%s': r=%d ns=%lld", bad[i], r, (long long)ns);
    }
    int64_t ns = 42;
    assert_int_equal(parse_rfc3339(NULL, &ns), -EINVAL);
}

/* Valid times that int64 nanoseconds cannot hold. */
static void test_rfc3339_range(void **state)
{
    (void)state;
    static const char *const far[] = {
        "2262-04-11T23:47:16.854775808Z", "1677-09-21T00:12:43.145224191Z",
        "0001-01-01T00:00:00Z",           "0000-01-01T00:00:00Z",
        "9999-12-31T23:59:59.999999999Z", "2262-04-11T23:47:16.854775807-00:01",
    };
    for (size_t i = 0; i < ARRAY_SIZE(far); i++) {
        int64_t ns = 42;
        int r = parse_rfc3339(far[i], &ns);
        if (r != -ERANGE || ns != 42)
            fail_msg("'%s': r=%d", far[i], r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_valid),    cmocka_unit_test(test_config_cases),
        cmocka_unit_test(test_config_limits),   cmocka_unit_test(test_rfc3339_valid),
        cmocka_unit_test(test_rfc3339_invalid), cmocka_unit_test(test_rfc3339_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
