/* The environment of a container's processes and of its execs (moby's
 * CreateDaemonEnvironment + ReplaceOrAppendEnvValues, runtime/ctr_plan.c)
 * and the exec event action text (runtime/ctr_exec.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "runtime/ctr_internal.h"
#include "runtime/exec.h"

#define PATH_ENV "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* env of a container with this Config, plus extra (NULL-terminated), as one
 * "|"-joined string. */
static char *env_of(const char *config, bool tty, const char *const *extra)
{
    struct container c;
    struct strv x = {0}, env = {0};
    memset(&c, 0, sizeof(c));
    c.config = cJSON_Parse(config);
    assert_non_null(c.config);
    for (size_t i = 0; extra && extra[i]; i++)
        assert_int_equal(strv_push(&x, extra[i]), 0);
    assert_int_equal(ctr_plan_env(&c, tty, extra ? &x : NULL, &env), 0);
    size_t len = 1;
    for (size_t i = 0; i < env.n; i++)
        len += strlen(env.v[i]) + 1;
    char *out = calloc(1, len);
    for (size_t i = 0; i < env.n; i++)
        strcat(strcat(out, i ? "|" : ""), env.v[i]);
    strv_done(&x);
    strv_done(&env);
    cJSON_Delete(c.config);
    return out;
}

static void check(const char *config, bool tty, const char *const *extra, const char *want)
{
    char *got = env_of(config, tty, extra);
    assert_string_equal(got, want);
    free(got);
}

static void test_defaults_then_container_env(void **state)
{
    (void)state;
    check("{\"Hostname\":\"h1\"}", false, NULL, PATH_ENV "|HOSTNAME=h1");
    check("{\"Hostname\":\"h1\"}", true, NULL, PATH_ENV "|HOSTNAME=h1|TERM=xterm");
    check("{\"Hostname\":\"h\",\"Env\":[\"PATH=/x\",\"A=1\",\"TERM=dumb\"]}", true, NULL,
          "PATH=/x|HOSTNAME=h|TERM=dumb|A=1");
}

static void test_exec_env_replaces_appends_and_unsets(void **state)
{
    (void)state;
    const char *const extra[] = {"A=2", "B=3", "HOSTNAME", "NOTSET", "C=", NULL};
    check("{\"Hostname\":\"h\",\"Env\":[\"A=1\",\"Z=9\"]}", false, extra,
          PATH_ENV "|A=2|Z=9|B=3|C=");
    /* a bare name in the container's own Env unsets a default too */
    check("{\"Hostname\":\"h\",\"Env\":[\"PATH\",\"X=a=b\"]}", false, NULL, "HOSTNAME=h|X=a=b");
}

static void test_event_action(void **state)
{
    (void)state;
    char out[64];
    struct strv argv = {0};
    assert_int_equal(strv_push(&argv, "true"), 0);
    rt_exec_action("exec_create", &argv, out, sizeof(out));
    assert_string_equal(out, "exec_create: true "); /* moby's trailing space */
    assert_int_equal(strv_push(&argv, "a b"), 0);
    assert_int_equal(strv_push(&argv, "c"), 0);
    rt_exec_action("exec_start", &argv, out, sizeof(out));
    assert_string_equal(out, "exec_start: true a b c");
    rt_exec_action("exec_start", &argv, out, 12); /* truncated, terminated */
    assert_string_equal(out, "exec_start:");
    strv_done(&argv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_then_container_env),
        cmocka_unit_test(test_exec_env_replaces_appends_and_unsets),
        cmocka_unit_test(test_event_action),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
