/* handlers/images_changes.c: the `changes` of import as moby's
 * BuildFromConfig applies them (buildkit parser and shell lexer). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "handlers/images.h"

/* Applies the changes to {"Env":null,...} and returns the config as compact
 * JSON (the caller frees it). */
static char *apply(const char *const *changes, size_t n)
{
    cJSON *c = cJSON_Parse("{\"User\":\"\",\"Env\":null,\"Cmd\":null,\"WorkingDir\":\"\","
                           "\"Entrypoint\":null,\"OnBuild\":null,\"Labels\":null}");
    struct berr err = {0};
    if (images_apply_changes(c, changes, n, &err) < 0)
        fail_msg("apply: %s", err.msg);
    char *s = cJSON_PrintUnformatted(c);
    cJSON_Delete(c);
    return s;
}

static void expect(const char *const *changes, size_t n, const char *want)
{
    char *got = apply(changes, n);
    assert_string_equal(got, want);
    free(got);
}

static void expect_error(const char *change, const char *msg)
{
    cJSON *c = cJSON_CreateObject();
    struct berr err = {0};
    assert_int_equal(images_apply_changes(c, &change, 1, &err), -EINVAL);
    assert_int_equal(err.status, 400);
    if (!strstr(err.msg, msg))
        fail_msg("'%s': error '%s' lacks '%s'", change, err.msg, msg);
    cJSON_Delete(c);
}

#define EXPECT(want, ...)                                                                          \
    do {                                                                                           \
        const char *ch[] = {__VA_ARGS__};                                                          \
        expect(ch, sizeof(ch) / sizeof(ch[0]), want);                                              \
    } while (0)

static void test_cmd_entrypoint(void **state)
{
    (void)state;
    EXPECT("{\"User\":\"\",\"Env\":null,\"Cmd\":[\"a\",\"b c\"],\"WorkingDir\":\"\","
           "\"Entrypoint\":null,\"OnBuild\":null,\"Labels\":null}",
           "CMD [\"a\", \"b c\"]");
    EXPECT("{\"User\":\"\",\"Env\":null,\"Cmd\":[\"/bin/sh\",\"-c\",\"echo $HOME  x\"],"
           "\"WorkingDir\":\"\",\"Entrypoint\":null,\"OnBuild\":null,\"Labels\":null}",
           "cmd echo $HOME  x");
    /* ENTRYPOINT drops a Cmd not set by these changes, keeps one that is. */
    EXPECT("{\"User\":\"\",\"Env\":null,\"Cmd\":[\"x\"],\"WorkingDir\":\"\","
           "\"Entrypoint\":[\"/e\"],\"OnBuild\":null,\"Labels\":null}",
           "CMD [\"x\"]", "ENTRYPOINT [\"/e\"]");
    /* not a JSON array of strings: shell form */
    EXPECT("{\"User\":\"\",\"Env\":null,\"Cmd\":[\"/bin/sh\",\"-c\",\"[1, 2]\"],"
           "\"WorkingDir\":\"\",\"Entrypoint\":null,\"OnBuild\":null,\"Labels\":null}",
           "CMD [1, 2]");
}

static void test_env_and_lexer(void **state)
{
    (void)state;
    EXPECT("{\"User\":\"\",\"Env\":[\"A=1\",\"B=two words\",\"C=it's\",\"D=1-x\",\"E=${A}\","
           "\"F=dflt\",\"G=alt\"],\"Cmd\":null,\"WorkingDir\":\"\",\"Entrypoint\":null,"
           "\"OnBuild\":null,\"Labels\":null}",
           "ENV A=1 B=\"two words\" C=it\\'s", "ENV D=$A-x E='${A}'",
           "ENV F=${NOPE:-dflt} G=${A:+alt}");
    /* one instruction sees the Env from before it; a later one replaces */
    EXPECT("{\"User\":\"\",\"Env\":[\"A=2\",\"B=\"],\"Cmd\":null,\"WorkingDir\":\"\","
           "\"Entrypoint\":null,\"OnBuild\":null,\"Labels\":null}",
           "ENV A=1", "ENV A=2 B=$C");
    /* legacy form: the rest of the line is the value */
    EXPECT("{\"User\":\"\",\"Env\":[\"K=a b  c\"],\"Cmd\":null,\"WorkingDir\":\"\","
           "\"Entrypoint\":null,\"OnBuild\":null,\"Labels\":null}",
           "ENV K a b  c");
}

static void test_other_instructions(void **state)
{
    (void)state;
    EXPECT("{\"User\":\"nobody\",\"Env\":null,\"Cmd\":null,\"WorkingDir\":\"/a/c\","
           "\"Entrypoint\":null,\"OnBuild\":[\"RUN echo hi\"],\"Labels\":{\"a\":\"b c\"},"
           "\"ExposedPorts\":{\"80/tcp\":{},\"53/udp\":{},\"8000/tcp\":{},\"8001/tcp\":{}},"
           "\"Volumes\":{\"/v\":{},\"/w\":{}},\"StopSignal\":\"SIGUSR1\"}",
           "USER nobody", "WORKDIR /a/b", "WORKDIR ../c", "ONBUILD RUN echo hi", "LABEL a=\"b c\"",
           "EXPOSE 80 53/UDP 8000-8001", "VOLUME [\"/v\", \"/w\"]", "STOPSIGNAL SIGUSR1",
           "# a comment", "");
    EXPECT("{\"User\":\"\",\"Env\":null,\"Cmd\":null,\"WorkingDir\":\"\",\"Entrypoint\":null,"
           "\"OnBuild\":null,\"Labels\":null,\"Healthcheck\":{\"Test\":[\"CMD-SHELL\","
           "\"curl -f x\"],\"Interval\":30000000000,\"Retries\":3}}",
           "HEALTHCHECK --interval=30s --retries=3 CMD curl -f x");
    EXPECT("{\"User\":\"\",\"Env\":null,\"Cmd\":null,\"WorkingDir\":\"\",\"Entrypoint\":null,"
           "\"OnBuild\":null,\"Labels\":null,\"Healthcheck\":{\"Test\":[\"NONE\"]}}",
           "HEALTHCHECK NONE");
    /* a trailing backslash continues into the next change */
    EXPECT("{\"User\":\"\",\"Env\":null,\"Cmd\":null,\"WorkingDir\":\"\",\"Entrypoint\":null,"
           "\"OnBuild\":null,\"Labels\":{\"a\":\"1\",\"b\":\"2\"}}",
           "LABEL a=1 \\", "b=2");
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("RUN echo", "run is not a valid change command");
    expect_error("FROM busybox", "from is not a valid change command");
    expect_error("ENV", "ENV requires at least one argument");
    expect_error("ENV A=1 B", "Syntax error - can't find = in \"B\"");
    expect_error("ENV =x", "ENV names can not be blank");
    expect_error("ENV K", "ENV must have two arguments");
    expect_error("ENV A=\"x", "matching double-quote");
    expect_error("EXPOSE 80/xyz", "Invalid proto: xyz");
    expect_error("EXPOSE abc", "Invalid containerPort: abc");
    expect_error("STOPSIGNAL SIGFOO", "Invalid signal: SIGFOO");
    expect_error("STOPSIGNAL 0", "Invalid signal: 0");
    expect_error("WORKDIR", "WORKDIR requires exactly one argument");
    expect_error("VOLUME [\"\"]", "VOLUME specified can not be an empty string");
    expect_error("ONBUILD ONBUILD RUN x", "Chaining ONBUILD");
    expect_error("ONBUILD FROM x", "FROM isn't allowed as an ONBUILD trigger");
    expect_error("HEALTHCHECK NONE x", "HEALTHCHECK NONE takes no arguments");
    expect_error("HEALTHCHECK --interval=1x CMD a", "invalid duration");
    expect_error("HEALTHCHECK --bogus=1 CMD a", "Unknown flag: bogus");
    expect_error("HEALTHCHECK RUN a", "Unknown type \"RUN\" in HEALTHCHECK");
    expect_error("ENV A=${B?x}", "unsupported modifier");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cmd_entrypoint),
        cmocka_unit_test(test_env_and_lexer),
        cmocka_unit_test(test_other_instructions),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
