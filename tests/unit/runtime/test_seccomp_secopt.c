/* runtime/secopt.c: HostConfig.SecurityOpt as dockerd's parseSecurityOpt
 * reads it, including its two error messages. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/macros.h"
#include "runtime/secopt.h"

static void parse_ok(const char *const *opts, size_t n, struct secopt *o)
{
    struct berr err = {0};
    if (secopt_parse(opts, n, o, &err) != 0)
        fail_msg("refused: %s", err.msg);
}

static void parse_fails(const char *opt, const char *msg)
{
    struct secopt o;
    struct berr err = {0};
    assert_int_equal(secopt_parse(&opt, 1, &o, &err), -EINVAL);
    assert_int_equal(err.status, 400);
    assert_string_equal(err.msg, msg);
    assert_null(o.seccomp_profile);
    assert_null(o.apparmor_profile);
}

static void test_empty(void **state)
{
    (void)state;
    struct secopt o;
    parse_ok(NULL, 0, &o);
    assert_false(o.no_new_privs);
    assert_int_equal(o.seccomp, SECOPT_SECCOMP_DEFAULT);
    assert_null(o.seccomp_profile);
    assert_int_equal(o.writable_cgroups, -1);
    assert_true(secopt_wants_seccomp(&o, false));
    assert_false(secopt_wants_seccomp(&o, true)); /* privileged: no filter */
    secopt_done(&o);
}

static void test_no_new_privileges(void **state)
{
    (void)state;
    static const struct {
        const char *opt;
        bool want;
    } cases[] = {
        {"no-new-privileges", true},        {"no-new-privileges=true", true},
        {"no-new-privileges:true", true},   {"no-new-privileges=1", true},
        {"no-new-privileges=T", true},      {"no-new-privileges=false", false},
        {"no-new-privileges:False", false}, {"no-new-privileges=0", false},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct secopt o;
        parse_ok(&cases[i].opt, 1, &o);
        if (o.no_new_privs != cases[i].want)
            fail_msg("'%s': got %d", cases[i].opt, o.no_new_privs);
        secopt_done(&o);
    }
    /* The last one wins. */
    const char *two[] = {"no-new-privileges", "no-new-privileges=false"};
    struct secopt o;
    parse_ok(two, 2, &o);
    assert_false(o.no_new_privs);
    secopt_done(&o);
}

static void test_seccomp(void **state)
{
    (void)state;
    const char *unconf[] = {"seccomp=unconfined"};
    const char *builtin[] = {"seccomp=builtin"};
    const char *json[] = {"seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\",\"a\":\"b=c:d\"}"};
    const char *colon[] = {"seccomp:unconfined"};
    struct secopt o;
    parse_ok(unconf, 1, &o);
    assert_int_equal(o.seccomp, SECOPT_SECCOMP_UNCONFINED);
    assert_false(secopt_wants_seccomp(&o, false));
    secopt_done(&o);
    parse_ok(colon, 1, &o);
    assert_int_equal(o.seccomp, SECOPT_SECCOMP_UNCONFINED);
    secopt_done(&o);
    parse_ok(builtin, 1, &o);
    assert_int_equal(o.seccomp, SECOPT_SECCOMP_DEFAULT);
    secopt_done(&o);
    parse_ok(json, 1, &o);
    assert_int_equal(o.seccomp, SECOPT_SECCOMP_CUSTOM);
    assert_string_equal(o.seccomp_profile,
                        "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"a\":\"b=c:d\"}");
    assert_true(secopt_wants_seccomp(&o, false));
    secopt_done(&o);
    assert_null(o.seccomp_profile);
    secopt_done(NULL);
}

static void test_accepted_and_ignored(void **state)
{
    (void)state;
    const char *opts[] = {"apparmor=docker-default", "label=type:svirt_apparmor_t",
                          "label=disable",           "disable",
                          "label:level:s0",          "writable-cgroups",
                          "apparmor=unconfined"};
    struct secopt o;
    parse_ok(opts, ARRAY_SIZE(opts), &o);
    assert_string_equal(o.apparmor_profile, "unconfined");
    assert_int_equal(o.writable_cgroups, 1);
    assert_false(o.no_new_privs);
    assert_int_equal(o.seccomp, SECOPT_SECCOMP_DEFAULT);
    secopt_done(&o);
    const char *wc[] = {"writable-cgroups=false"};
    parse_ok(wc, 1, &o);
    assert_int_equal(o.writable_cgroups, 0);
    secopt_done(&o);
}

static void test_invalid(void **state)
{
    (void)state;
    parse_fails("foo", "invalid --security-opt 1: \"foo\"");
    parse_fails("", "invalid --security-opt 1: \"\"");
    parse_fails("foo=bar", "invalid --security-opt 2: \"foo=bar\"");
    parse_fails("foo:bar", "invalid --security-opt 2: \"foo:bar\"");
    parse_fails("no-new-privileges=yes", "invalid --security-opt 2: \"no-new-privileges=yes\"");
    parse_fails("writable-cgroups=maybe", "invalid --security-opt 2: \"writable-cgroups=maybe\"");
    parse_fails("Seccomp=unconfined", "invalid --security-opt 2: \"Seccomp=unconfined\"");
    /* An error after good options frees what they stored. */
    const char *mixed[] = {"seccomp={}", "apparmor=x", "bogus"};
    struct secopt o;
    struct berr err = {0};
    assert_int_equal(secopt_parse(mixed, 3, &o, &err), -EINVAL);
    assert_string_equal(err.msg, "invalid --security-opt 1: \"bogus\"");
    assert_null(o.seccomp_profile);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),   cmocka_unit_test(test_no_new_privileges),
        cmocka_unit_test(test_seccomp), cmocka_unit_test(test_accepted_and_ignored),
        cmocka_unit_test(test_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
