/* handlers/commit_config.c: the new image's Config (changes, then moby's
 * merge with the container's) and the image config document of a commit
 * (moby's NewChildImage, keys sorted). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "handlers/commit.h"

static const char *const CTR =
    "{\"Hostname\":\"abc\",\"User\":\"\",\"Env\":[\"PATH=/bin\",\"K=ctr\"],"
    "\"Cmd\":[\"sh\",\"-c\",\"echo hi\"],\"Image\":\"busybox\",\"WorkingDir\":\"/w\","
    "\"Entrypoint\":null,\"Labels\":{\"a\":\"1\"},\"ExposedPorts\":{\"80/tcp\":{}}}";

static cJSON *new_config(const char *base, const char *const *changes, size_t n)
{
    cJSON *ctr = cJSON_Parse(CTR), *b = base ? cJSON_Parse(base) : NULL, *out = NULL;
    struct berr err = {0};
    if (commit_new_config(b, ctr, changes, n, &out, &err) < 0)
        fail_msg("commit_new_config: %s", err.msg);
    cJSON_Delete(ctr);
    cJSON_Delete(b);
    return out;
}

static char *member(const cJSON *o, const char *key)
{
    return cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(o, key));
}

static void expect_member(const cJSON *o, const char *key, const char *want)
{
    char *got = member(o, key);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

/* Without a body: the container's Config, changes on top. */
static void test_container_config_and_changes(void **state)
{
    (void)state;
    const char *ch[] = {"ENV K=new X=1", "LABEL b=2", "EXPOSE 53/udp"};
    cJSON *c = new_config(NULL, ch, 3);
    expect_member(c, "Hostname", "\"abc\"");
    expect_member(c, "Env", "[\"PATH=/bin\",\"K=new\",\"X=1\"]");
    expect_member(c, "Labels", "{\"a\":\"1\",\"b\":\"2\"}");
    expect_member(c, "ExposedPorts", "{\"80/tcp\":{},\"53/udp\":{}}");
    expect_member(c, "Cmd", "[\"sh\",\"-c\",\"echo hi\"]");
    /* container.Config's order, omitempty fields absent when empty */
    assert_string_equal(c->child->string, "Hostname");
    assert_null(cJSON_GetObjectItemCaseSensitive(c, "StopSignal"));
    assert_null(cJSON_GetObjectItemCaseSensitive(c, "Healthcheck"));
    cJSON_Delete(c);
}

/* ENTRYPOINT without a CMD before it clears Cmd; moby's merge then keeps
 * it empty (an Entrypoint is set). */
static void test_entrypoint_clears_cmd(void **state)
{
    (void)state;
    const char *ch[] = {"ENTRYPOINT [\"cat\"]"};
    cJSON *c = new_config(NULL, ch, 1);
    expect_member(c, "Entrypoint", "[\"cat\"]");
    expect_member(c, "Cmd", "null");
    cJSON_Delete(c);
    const char *ch2[] = {"CMD [\"/f\"]", "ENTRYPOINT cat"};
    c = new_config(NULL, ch2, 2);
    expect_member(c, "Cmd", "[\"/f\"]");
    expect_member(c, "Entrypoint", "[\"/bin/sh\",\"-c\",\"cat\"]");
    cJSON_Delete(c);
}

/* A body Config: what it leaves empty comes from the container's, the rest
 * (Hostname, Image) stays empty; Labels at least {}. */
static void test_body_config_merged(void **state)
{
    (void)state;
    cJSON *c = new_config("{\"Cmd\":[\"true\"],\"Env\":[\"K=body\"]}", NULL, 0);
    expect_member(c, "Cmd", "[\"true\"]");
    expect_member(c, "Env", "[\"K=body\",\"PATH=/bin\"]");
    expect_member(c, "WorkingDir", "\"/w\"");
    expect_member(c, "Hostname", "\"\"");
    expect_member(c, "Image", "\"\"");
    expect_member(c, "Labels", "{\"a\":\"1\"}");
    cJSON_Delete(c);
    cJSON *ctr = cJSON_Parse("{\"Cmd\":[\"x\"]}"), *out = NULL;
    struct berr err = {0};
    assert_int_equal(commit_new_config(NULL, ctr, NULL, 0, &out, &err), 0);
    expect_member(out, "Labels", "{}");
    cJSON_Delete(out);
    cJSON_Delete(ctr);
}

static void test_bad_change(void **state)
{
    (void)state;
    cJSON *ctr = cJSON_Parse(CTR), *out = (cJSON *)1;
    struct berr err = {0};
    const char *ch[] = {"RUN echo"};
    assert_int_equal(commit_new_config(NULL, ctr, ch, 1, &out, &err), -EINVAL);
    assert_int_equal(err.status, 400);
    assert_string_equal(err.msg, "run is not a valid change command");
    assert_null(out);
    cJSON_Delete(ctr);
}

static const char *const PARENT =
    "{\"architecture\":\"arm64\",\"variant\":\"v8\",\"os\":\"linux\",\"config\":{},"
    "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:aa\"]},"
    "\"history\":[{\"created\":\"2000-01-01T00:00:00Z\",\"created_by\":\"base\"}]}";

static cJSON *image_config(const char *diff_id, const char *author)
{
    cJSON *parent = cJSON_Parse(PARENT), *ctr = cJSON_Parse(CTR);
    struct commit_info ci = {.container_id = "cid",
                             .author = author,
                             .comment = "",
                             .created = "2024-05-06T07:08:09Z",
                             .diff_id = diff_id,
                             .docker_version = "0.1.0"};
    char *text = commit_image_config(parent, ctr, ctr, &ci);
    assert_non_null(text);
    cJSON *o = cJSON_Parse(text);
    free(text);
    cJSON_Delete(parent);
    cJSON_Delete(ctr);
    return o;
}

static void test_image_config(void **state)
{
    (void)state;
    cJSON *o = image_config("sha256:bb", "me");
    const char *keys[] = {
        "architecture",   "author",  "config", "container", "container_config", "created",
        "docker_version", "history", "os",     "rootfs",    "variant"};
    size_t i = 0;
    for (const cJSON *k = o->child; k; k = k->next, i++) {
        assert_true(i < sizeof(keys) / sizeof(keys[0]));
        assert_string_equal(k->string, keys[i]); /* sorted; empty comment left out */
    }
    assert_int_equal(i, sizeof(keys) / sizeof(keys[0]));
    expect_member(o, "architecture", "\"arm64\"");
    expect_member(o, "variant", "\"v8\"");
    expect_member(o, "rootfs", "{\"type\":\"layers\",\"diff_ids\":[\"sha256:aa\",\"sha256:bb\"]}");
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(o, "history");
    assert_int_equal(cJSON_GetArraySize(h), 2);
    char *last = cJSON_PrintUnformatted(cJSON_GetArrayItem(h, 1));
    assert_string_equal(last, "{\"created\":\"2024-05-06T07:08:09Z\",\"author\":\"me\","
                              "\"created_by\":\"sh -c echo hi\"}");
    free(last);
    cJSON_Delete(o);
}

/* An empty diff: no layer added, the history entry marked empty_layer. */
static void test_image_config_empty_layer(void **state)
{
    (void)state;
    cJSON *o = image_config(NULL, "");
    expect_member(o, "rootfs", "{\"type\":\"layers\",\"diff_ids\":[\"sha256:aa\"]}");
    assert_null(cJSON_GetObjectItemCaseSensitive(o, "author"));
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(o, "history");
    assert_true(
        cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(h, 1), "empty_layer")));
    cJSON_Delete(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_container_config_and_changes),
        cmocka_unit_test(test_entrypoint_clears_cmd),
        cmocka_unit_test(test_body_config_merged),
        cmocka_unit_test(test_bad_change),
        cmocka_unit_test(test_image_config),
        cmocka_unit_test(test_image_config_empty_layer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
