/* common/hostinfo.c: architecture names and host facts. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/hostinfo.h"

static void test_goarch_mapping(void **state)
{
    (void)state;
    assert_string_equal(hostinfo_goarch("x86_64"), "amd64");
    assert_string_equal(hostinfo_goarch("aarch64"), "arm64");
    assert_string_equal(hostinfo_goarch("armv7l"), "arm");
    assert_string_equal(hostinfo_goarch("i686"), "386");
    assert_string_equal(hostinfo_goarch("i386"), "386");
    assert_string_equal(hostinfo_goarch("ppc64le"), "ppc64le");
    assert_string_equal(hostinfo_goarch("s390x"), "s390x");
    assert_string_equal(hostinfo_goarch("riscv64"), "riscv64");
}

static void test_goarch_unknown_passes_through(void **state)
{
    (void)state;
    const char *m = "mips64";
    assert_ptr_equal(hostinfo_goarch(m), m);
    assert_string_equal(hostinfo_goarch(""), "");
    assert_string_equal(hostinfo_goarch("X86_64"), "X86_64");
}

static void test_static_facts(void **state)
{
    (void)state;
    struct host_static h;
    struct utsname u;
    hostinfo_static(&h);
    assert_int_equal(uname(&u), 0);
    assert_string_equal(h.machine, u.machine);
    assert_string_equal(h.kernel, u.release);
    assert_string_equal(h.goarch, hostinfo_goarch(u.machine));
    assert_true(h.ncpu >= 1);
    assert_true(h.mem_total > 0);
    assert_true(h.hostname[0] != '\0');
}

/* The kernel's own count of this process's threads. */
static int proc_threads(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    assert_non_null(f);
    char line[256];
    int n = -1;
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "Threads: %d", &n) == 1)
            break;
    }
    fclose(f);
    return n;
}

static void test_dynamic_counts(void **state)
{
    (void)state;
    struct host_dynamic before, after;
    hostinfo_dynamic("/", &before);
    int fds[3];
    for (int i = 0; i < 3; i++) {
        fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
        assert_true(fds[i] >= 0);
    }
    hostinfo_dynamic("/", &after);
    for (int i = 0; i < 3; i++)
        close(fds[i]);
    assert_true(before.nfd >= 3); /* stdin, stdout, stderr at least */
    assert_int_equal(after.nfd, before.nfd + 3);
    assert_int_equal(after.nthreads, proc_threads());
}

static void test_dynamic_missing_root(void **state)
{
    (void)state;
    struct host_dynamic d;
    hostinfo_dynamic("/nonexistent/berth-unit-root", &d);
    assert_string_equal(d.backing_fs, "unknown");
    assert_false(d.d_type);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_goarch_mapping),
        cmocka_unit_test(test_goarch_unknown_passes_through),
        cmocka_unit_test(test_static_facts),
        cmocka_unit_test(test_dynamic_counts),
        cmocka_unit_test(test_dynamic_missing_root),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
