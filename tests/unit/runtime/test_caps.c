/* runtime/caps.c: capability names, Docker's default set and its
 * CapAdd/CapDrop/Privileged rules (moby oci/caps). The bounding set is faked
 * as this machine's (everything up to CAP_CHECKPOINT_RESTORE but
 * CAP_SYS_RESOURCE) so the tests do not depend on the host. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/macros.h"
#include "runtime/caps.h"

#define CAP_SYS_RESOURCE_NR 24
#define FAKE_BND            (CAPS_ALL_KNOWN & ~CAPS_BIT(CAP_SYS_RESOURCE_NR))

static int cap(const char *name)
{
    int c = caps_from_name(name);
    if (c < 0)
        fail_msg("'%s' not a capability", name);
    return c;
}

static uint64_t compute_ok(const char *const *add, size_t nadd, const char *const *drop,
                           size_t ndrop, bool privileged, uint64_t bounding)
{
    struct berr err = {0};
    uint64_t mask = 0xdeadbeef;
    int r = caps_compute(add, nadd, drop, ndrop, privileged, bounding, &mask, &err);
    if (r != 0)
        fail_msg("caps_compute failed: %s", err.msg);
    return mask;
}

static void compute_fails(const char *const *add, size_t nadd, const char *const *drop,
                          size_t ndrop, const char *msg)
{
    struct berr err = {0};
    uint64_t mask = 0x5a5a;
    int r = caps_compute(add, nadd, drop, ndrop, false, FAKE_BND, &mask, &err);
    assert_int_equal(r, -EINVAL);
    assert_int_equal(err.status, 400);
    assert_string_equal(err.msg, msg);
    assert_int_equal(mask, 0x5a5a);
}

static void test_names_round_trip(void **state)
{
    (void)state;
    for (int i = 0; i <= CAPS_LAST; i++) {
        const char *n = caps_name(i);
        assert_non_null(n);
        assert_int_equal(caps_from_name(n), i);
        assert_int_equal(caps_from_name(n + 4), i); /* without "CAP_" */
    }
    assert_null(caps_name(-1));
    assert_null(caps_name(CAPS_COUNT));
    assert_string_equal(caps_name(0), "CAP_CHOWN");
    assert_string_equal(caps_name(21), "CAP_SYS_ADMIN");
    assert_string_equal(caps_name(40), "CAP_CHECKPOINT_RESTORE");
}

static void test_names_docker_spellings(void **state)
{
    (void)state;
    assert_int_equal(caps_from_name("chown"), 0);
    assert_int_equal(caps_from_name("cap_chown"), 0);
    assert_int_equal(caps_from_name("Cap_Net_Admin"), 12);
    assert_int_equal(caps_from_name("sys_admin"), 21);
    assert_int_equal(caps_from_name("ALL"), -EINVAL);
    assert_int_equal(caps_from_name("CAP_"), -EINVAL);
    assert_int_equal(caps_from_name(""), -EINVAL);
    assert_int_equal(caps_from_name("CAP_FOO"), -EINVAL);
    assert_int_equal(caps_from_name("CAPCHOWN"), -EINVAL);
    char longname[300];
    memset(longname, 'A', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_int_equal(caps_from_name(longname), -EINVAL);
}

static void test_default_set_exact(void **state)
{
    (void)state;
    static const char *const docker[] = {
        "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
        "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
        "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
        "CAP_KILL",    "CAP_AUDIT_WRITE",
    };
    uint64_t want = 0;
    for (size_t i = 0; i < ARRAY_SIZE(docker); i++)
        want |= CAPS_BIT(cap(docker[i]));
    assert_int_equal(caps_default_mask(), want);
    assert_int_equal(__builtin_popcountll(caps_default_mask()), 14);
    assert_int_equal(caps_default_mask(), UINT64_C(0xa80425fb));
    assert_int_equal(compute_ok(NULL, 0, NULL, 0, false, FAKE_BND), want);
}

static void test_add_drop(void **state)
{
    (void)state;
    const char *add[] = {"NET_ADMIN", "cap_sys_ptrace"};
    const char *drop[] = {"chown", "CAP_MKNOD"};
    uint64_t want =
        (caps_default_mask() | CAPS_BIT(cap("NET_ADMIN")) | CAPS_BIT(cap("SYS_PTRACE"))) &
        ~(CAPS_BIT(cap("CHOWN")) | CAPS_BIT(cap("MKNOD")));
    assert_int_equal(compute_ok(add, 2, drop, 2, false, FAKE_BND), want);
    /* Docker drops from the defaults first, then adds: both → kept. */
    const char *both[] = {"CHOWN"};
    assert_int_equal(compute_ok(both, 1, both, 1, false, FAKE_BND), caps_default_mask());
}

static void test_all(void **state)
{
    (void)state;
    const char *all[] = {"ALL"};
    const char *all_lower[] = {"all"};
    const char *chown[] = {"chown"};
    const char *two[] = {"NET_ADMIN", "SYS_ADMIN"};
    /* ALL in add: the bounding set, never CAP_SYS_RESOURCE here. */
    assert_int_equal(compute_ok(all, 1, NULL, 0, false, FAKE_BND), FAKE_BND);
    assert_int_equal(compute_ok(all_lower, 1, chown, 1, false, FAKE_BND), FAKE_BND & ~CAPS_BIT(0));
    /* ALL in drop: only what is added. */
    assert_int_equal(compute_ok(chown, 1, all, 1, false, FAKE_BND), CAPS_BIT(0));
    assert_int_equal(compute_ok(NULL, 0, all, 1, false, FAKE_BND), 0);
    assert_int_equal(compute_ok(two, 2, all, 1, false, FAKE_BND),
                     CAPS_BIT(cap("NET_ADMIN")) | CAPS_BIT(cap("SYS_ADMIN")));
    /* ALL in both: add wins (moby checks add first). */
    assert_int_equal(compute_ok(all, 1, all, 1, false, FAKE_BND), FAKE_BND);
}

static void test_unknown_names(void **state)
{
    (void)state;
    const char *foo[] = {"foo"};
    const char *capfoo[] = {"CAP_FOO"};
    const char *capall[] = {"cap_all"};
    compute_fails(foo, 1, NULL, 0, "unknown capability: \"CAP_FOO\"");
    compute_fails(NULL, 0, capfoo, 1, "unknown capability: \"CAP_FOO\"");
    compute_fails(capall, 1, NULL, 0, "unknown capability: \"CAP_ALL\"");
    /* A drop is reported before an add, as moby normalises drops first. */
    const char *bar[] = {"bar"};
    compute_fails(foo, 1, bar, 1, "unknown capability: \"CAP_BAR\"");
}

static void test_outside_bounding(void **state)
{
    (void)state;
    const char *res[] = {"sys_resource"};
    compute_fails(res, 1, NULL, 0,
                  "capability not supported by your kernel or not available in the current "
                  "environment: \"CAP_SYS_RESOURCE\"");
    /* The defaults are cut to the bounding set rather than refused. */
    uint64_t small = caps_default_mask() & ~CAPS_BIT(cap("KILL"));
    assert_int_equal(compute_ok(NULL, 0, NULL, 0, false, small), small);
}

static void test_privileged(void **state)
{
    (void)state;
    const char *junk[] = {"NOT_A_CAP"};
    assert_int_equal(compute_ok(NULL, 0, NULL, 0, true, FAKE_BND), FAKE_BND);
    /* moby returns before looking at add/drop. */
    assert_int_equal(compute_ok(junk, 1, junk, 1, true, FAKE_BND), FAKE_BND);
    /* Bits the kernel may report beyond the known ones are not granted. */
    assert_int_equal(compute_ok(NULL, 0, NULL, 0, true, UINT64_MAX), CAPS_ALL_KNOWN);
}

static void test_parse_status(void **state)
{
    (void)state;
    const char *status = "Name:\tx\nCapInh:\t0000000000000000\nCapPrm:\t000001fffeffffff\n"
                         "CapBnd:\t000001fffeffffff\nCapAmb:\t0000000000000000\n";
    uint64_t m = 0;
    assert_int_equal(caps_parse_status(status, "CapBnd", &m), 0);
    assert_int_equal(m, UINT64_C(0x1fffeffffff));
    assert_int_equal(m, FAKE_BND);
    assert_int_equal(caps_parse_status(status, "CapEff", &m), -ENOENT);
    assert_int_equal(caps_parse_status("CapBnd:\tzz\n", "CapBnd", &m), -EINVAL);
    assert_int_equal(caps_parse_status("CapBndX:\t1\n", "CapBnd", &m), -ENOENT);
}

static void test_read_bounding(void **state)
{
    (void)state;
    uint64_t m = 0;
    assert_int_equal(caps_read_bounding(&m), 0);
    /* Whatever the host, CAP_CHOWN is in any root daemon's bounding set. */
    assert_true(m & CAPS_BIT(0));
}

static void test_to_names(void **state)
{
    (void)state;
    const char *names[CAPS_COUNT];
    size_t n = caps_to_names(caps_default_mask(), names, ARRAY_SIZE(names));
    assert_int_equal(n, 14);
    assert_string_equal(names[0], "CAP_CHOWN");
    assert_string_equal(names[13], "CAP_SETFCAP");
    uint64_t back = 0;
    for (size_t i = 0; i < n; i++)
        back |= CAPS_BIT(cap(names[i]));
    assert_int_equal(back, caps_default_mask());
    /* Too small an array: still counts. */
    assert_int_equal(caps_to_names(FAKE_BND, names, 2), 40);
    assert_int_equal(caps_to_names(0, names, 2), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_round_trip),
        cmocka_unit_test(test_names_docker_spellings),
        cmocka_unit_test(test_default_set_exact),
        cmocka_unit_test(test_add_drop),
        cmocka_unit_test(test_all),
        cmocka_unit_test(test_unknown_names),
        cmocka_unit_test(test_outside_bounding),
        cmocka_unit_test(test_privileged),
        cmocka_unit_test(test_parse_status),
        cmocka_unit_test(test_read_bounding),
        cmocka_unit_test(test_to_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
