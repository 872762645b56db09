/* runtime/ctr_config.c: a create request's Config merged with its image's
 * config as moby's merge() (daemon/commit.go) does it, and the argv that
 * Entrypoint + Cmd make. Each case builds both documents from JSON text and
 * compares the merged member with the JSON Docker would store. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "runtime/ctr_config.h"

static cJSON *parse(const char *text)
{
    cJSON *j = cJSON_Parse(text);
    if (!j)
        fail_msg("bad JSON in test: %s", text);
    return j;
}

/* Merges user into img and returns the merged user config (caller frees). */
static cJSON *merged(const char *user, const char *img)
{
    cJSON *cfg = parse(user);
    cJSON *icfg = img ? parse(img) : NULL;
    struct berr err = {0};
    if (ctr_config_merge(cfg, icfg, &err) != 0)
        fail_msg("merge failed: %d %s", err.status, err.msg);
    cJSON_Delete(icfg);
    return cfg;
}

/* The member key of cfg, compared as JSON with want ("null" when absent). */
static void assert_member(const cJSON *cfg, const char *key, const char *want)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
    cJSON *w = parse(want);
    if (!cJSON_Compare(v ? v : w, w, true) || (!v && !cJSON_IsNull(w))) {
        char *got = v ? cJSON_PrintUnformatted(v) : strdup("(absent)");
        fail_msg("%s: got %s, want %s", key, got, want);
    }
    cJSON_Delete(w);
}

static void assert_argv(const cJSON *cfg, const char *const *want)
{
    struct strv argv = {0};
    struct berr err = {0};
    assert_int_equal(ctr_config_argv(cfg, &argv, &err), 0);
    size_t n = 0;
    while (want[n])
        n++;
    assert_int_equal(argv.n, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(argv.v[i], want[i]);
    strv_done(&argv);
}

static const char *const IMG = "{\"Entrypoint\":[\"/entry\"],\"Cmd\":[\"img-cmd\",\"a\"],"
                               "\"Env\":[\"PATH=/img/bin\",\"A=img\",\"ONLY_IMG=1\"],"
                               "\"WorkingDir\":\"/img\",\"User\":\"imguser\","
                               "\"Labels\":{\"l1\":\"img\",\"l2\":\"img\"},"
                               "\"ExposedPorts\":{\"80/tcp\":{}},\"Volumes\":{\"/data\":{}},"
                               "\"StopSignal\":\"SIGQUIT\",\"OnBuild\":[\"RUN x\"],"
                               "\"Shell\":[\"/bin/bash\",\"-c\"]}";

/* Nothing given: every member comes from the image (but OnBuild and Shell,
 * which moby's merge never copies into a container's Config). */
static void test_all_from_image(void **state)
{
    (void)state;
    cJSON *cfg = merged("{}", IMG);
    assert_member(cfg, "Entrypoint", "[\"/entry\"]");
    assert_member(cfg, "Cmd", "[\"img-cmd\",\"a\"]");
    assert_member(cfg, "Env", "[\"PATH=/img/bin\",\"A=img\",\"ONLY_IMG=1\"]");
    assert_member(cfg, "WorkingDir", "\"/img\"");
    assert_member(cfg, "User", "\"imguser\"");
    assert_member(cfg, "Labels", "{\"l1\":\"img\",\"l2\":\"img\"}");
    assert_member(cfg, "ExposedPorts", "{\"80/tcp\":{}}");
    assert_member(cfg, "Volumes", "{\"/data\":{}}");
    assert_member(cfg, "StopSignal", "\"SIGQUIT\"");
    assert_member(cfg, "OnBuild", "null");
    assert_member(cfg, "Shell", "null");
    assert_argv(cfg, (const char *const[]){"/entry", "img-cmd", "a", NULL});
    cJSON_Delete(cfg);
}

/* User values win; Env and Labels merge key by key; ports and volumes are
 * unions; empty strings count as unset. */
static void test_user_wins_and_unions(void **state)
{
    (void)state;
    cJSON *cfg = merged("{\"Env\":[\"A=user\",\"U=1\",\"PATH\"],\"WorkingDir\":\"\","
                        "\"User\":\"1000:1000\",\"Labels\":{\"l1\":\"user\",\"u\":\"x\"},"
                        "\"ExposedPorts\":{\"443/tcp\":{}},\"Volumes\":{\"/v\":{}},"
                        "\"StopSignal\":\"SIGUSR1\"}",
                        IMG);
    /* "PATH" without '=' still names the key PATH: the image's is not added. */
    assert_member(cfg, "Env", "[\"A=user\",\"U=1\",\"PATH\",\"ONLY_IMG=1\"]");
    assert_member(cfg, "WorkingDir", "\"/img\"");
    assert_member(cfg, "User", "\"1000:1000\"");
    assert_member(cfg, "Labels", "{\"l1\":\"user\",\"u\":\"x\",\"l2\":\"img\"}");
    assert_member(cfg, "ExposedPorts", "{\"443/tcp\":{},\"80/tcp\":{}}");
    assert_member(cfg, "Volumes", "{\"/v\":{},\"/data\":{}}");
    assert_member(cfg, "StopSignal", "\"SIGUSR1\"");
    cJSON_Delete(cfg);
}

/* `docker run img cmd`: the image's Entrypoint stays, its Cmd goes. */
static void test_user_cmd_keeps_entrypoint(void **state)
{
    (void)state;
    cJSON *cfg = merged("{\"Cmd\":[\"mine\",\"b\"]}", IMG);
    assert_member(cfg, "Entrypoint", "[\"/entry\"]");
    assert_member(cfg, "Cmd", "[\"mine\",\"b\"]");
    assert_argv(cfg, (const char *const[]){"/entry", "mine", "b", NULL});
    cJSON_Delete(cfg);
}

/* `--entrypoint x`: the image's Cmd is dropped with its Entrypoint. */
static void test_user_entrypoint_drops_image_cmd(void **state)
{
    (void)state;
    cJSON *cfg = merged("{\"Entrypoint\":[\"/mine\"]}", IMG);
    assert_member(cfg, "Entrypoint", "[\"/mine\"]");
    assert_member(cfg, "Cmd", "null");
    assert_argv(cfg, (const char *const[]){"/mine", NULL});
    cJSON_Delete(cfg);
}

/* An empty (not null) Entrypoint list takes the image's Cmd but not its
 * Entrypoint (moby: `userConf.Entrypoint == nil`); `--entrypoint ""` arrives
 * as [""] and clears the entrypoint, the command running alone. */
static void test_empty_entrypoints(void **state)
{
    (void)state;
    cJSON *cfg = merged("{\"Entrypoint\":[]}", IMG);
    assert_member(cfg, "Entrypoint", "[]");
    assert_member(cfg, "Cmd", "[\"img-cmd\",\"a\"]");
    assert_argv(cfg, (const char *const[]){"img-cmd", "a", NULL});
    cJSON_Delete(cfg);

    cfg = merged("{\"Entrypoint\":null}", IMG);
    assert_member(cfg, "Entrypoint", "[\"/entry\"]");
    cJSON_Delete(cfg);

    cfg = merged("{\"Entrypoint\":[\"\"],\"Cmd\":[\"echo\",\"hi\"]}", IMG);
    assert_member(cfg, "Cmd", "[\"echo\",\"hi\"]");
    assert_argv(cfg, (const char *const[]){"echo", "hi", NULL});
    cJSON_Delete(cfg);
}

/* Healthcheck: the user's members win, the image fills the others. */
static void test_healthcheck_member_merge(void **state)
{
    (void)state;
    const char *img = "{\"Cmd\":[\"sh\"],\"Healthcheck\":{\"Test\":[\"CMD\",\"true\"],"
                      "\"Interval\":30000000000,\"Timeout\":5000000000,\"Retries\":3}}";
    cJSON *cfg = merged("{\"Healthcheck\":{\"Interval\":1000000000,\"Retries\":0}}", img);
    assert_member(cfg, "Healthcheck",
                  "{\"Interval\":1000000000,\"Test\":[\"CMD\",\"true\"],"
                  "\"Timeout\":5000000000,\"Retries\":3}");
    cJSON_Delete(cfg);

    cfg = merged("{}", img);
    assert_member(cfg, "Healthcheck",
                  "{\"Test\":[\"CMD\",\"true\"],\"Interval\":30000000000,"
                  "\"Timeout\":5000000000,\"Retries\":3}");
    cJSON_Delete(cfg);

    /* --no-healthcheck keeps its own Test ["NONE"] */
    cfg = merged("{\"Healthcheck\":{\"Test\":[\"NONE\"]}}", img);
    const cJSON *hc = cJSON_GetObjectItemCaseSensitive(cfg, "Healthcheck");
    assert_member(hc, "Test", "[\"NONE\"]");
    cJSON_Delete(cfg);
}

/* No image config at all: the request stands as it is. */
static void test_no_image_config(void **state)
{
    (void)state;
    cJSON *cfg = merged("{\"Cmd\":[\"true\"],\"Env\":[\"A=1\"]}", NULL);
    assert_member(cfg, "Env", "[\"A=1\"]");
    assert_argv(cfg, (const char *const[]){"true", NULL});
    cJSON_Delete(cfg);
}

/* Neither side has a command: Docker's 400 "No command specified", for the
 * merge and for an argv asked of a config without one. */
static void test_no_command(void **state)
{
    (void)state;
    struct berr err = {0};
    cJSON *cfg = parse("{\"Env\":[\"A=1\"]}");
    cJSON *img = parse("{\"Env\":[\"B=2\"],\"Cmd\":[]}");
    assert_int_equal(ctr_config_merge(cfg, img, &err), -EINVAL);
    assert_int_equal(err.status, 400);
    assert_string_equal(err.msg, "No command specified");
    struct strv argv = {0};
    struct berr err2 = {0};
    assert_int_equal(ctr_config_argv(cfg, &argv, &err2), -EINVAL);
    assert_int_equal(err2.status, 400);
    strv_done(&argv);
    cJSON_Delete(cfg);
    cJSON_Delete(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_from_image),
        cmocka_unit_test(test_user_wins_and_unions),
        cmocka_unit_test(test_user_cmd_keeps_entrypoint),
        cmocka_unit_test(test_user_entrypoint_drops_image_cmd),
        cmocka_unit_test(test_empty_entrypoints),
        cmocka_unit_test(test_healthcheck_member_merge),
        cmocka_unit_test(test_no_image_config),
        cmocka_unit_test(test_no_command),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
