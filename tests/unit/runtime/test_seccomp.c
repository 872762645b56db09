/* runtime/seccomp.c + seccomp_default.c: Docker's default profile compiled
 * to raw BPF, then loaded in a forked child exactly as berth-init will
 * (no_new_privs + seccomp(2)), and probed with real syscalls. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/macros.h"
#include "runtime/caps.h"
#include "runtime/seccomp.h"
#include "test_seccomp_probe.h"

#define CAP_SYS_CHROOT_NR 18
#define CAP_SYS_ADMIN_NR  21

static void build_ok(const struct seccomp_profile *p, uint64_t caps, struct seccomp_bpf *bpf)
{
    struct berr err = {0};
    int r = seccomp_build(p, caps, bpf, &err);
    if (r != 0)
        fail_msg("seccomp_build: %s", err.msg);
    assert_non_null(bpf->data);
    assert_int_equal(bpf->len % sizeof(struct sock_filter), 0);
    assert_true(bpf->len / sizeof(struct sock_filter) <= 4096);
}

static void test_default_compiles(void **state)
{
    (void)state;
    struct seccomp_bpf bpf;
    build_ok(NULL, caps_default_mask(), &bpf);
    assert_int_equal(bpf.flags, 0);
    /* A program of its own: it checks the architecture before anything. */
    const struct sock_filter *f = bpf.data;
    assert_int_equal(f[0].code, BPF_LD | BPF_W | BPF_ABS);
    assert_int_equal(f[0].k, offsetof(struct seccomp_data, arch));
#if defined(__x86_64__)
    /* Docker's archMap for amd64: x86_64 (with x32) and x86. */
    bool x86_64 = false, i386 = false;
    for (size_t i = 0; i < bpf.len / sizeof(*f); i++) {
        x86_64 |= f[i].k == AUDIT_ARCH_X86_64;
        i386 |= f[i].k == AUDIT_ARCH_I386;
    }
    assert_true(x86_64 && i386);
#endif
    seccomp_bpf_done(&bpf);
    assert_null(bpf.data);
    seccomp_bpf_done(NULL);
}

/* Runs in the child, under the default profile and Docker's default caps. */
static int probe_default(void)
{
    PROBE(syscall(SYS_getpid) > 0);
    PROBE_ERRNO(syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -1, 0), EPERM);
    PROBE_ERRNO(syscall(SYS_add_key, "user", "k", "v", 1, -3), EPERM);
    PROBE_ERRNO(unshare(CLONE_NEWUTS), EPERM);
    PROBE_ERRNO(syscall(SYS_setns, 0, 0), EPERM);
    PROBE_ERRNO(mount("none", "/nonexistent", "tmpfs", 0, NULL), EPERM);
    /* clone3 answers ENOSYS so that libcs fall back to clone. */
    PROBE_ERRNO(syscall(SYS_clone3, NULL, 0), ENOSYS);
    /* clone is allowed without namespace flags only. */
    PROBE_ERRNO(syscall(SYS_clone, CLONE_NEWUTS | SIGCHLD, 0, 0, 0, 0), EPERM);
    pid_t pid = fork();
    if (pid == 0)
        _exit(7);
    int st = 0;
    PROBE(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 7);
    /* socket: anything but AF_VSOCK. */
    PROBE_ERRNO(socket(AF_VSOCK, SOCK_STREAM, 0), EPERM);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    PROBE(fd >= 0 && close(fd) == 0);
    /* personality: query and the Linux/32-bit/UNAME26 personas only. */
    PROBE(syscall(SYS_personality, 0xffffffffUL) >= 0);
    PROBE_ERRNO(syscall(SYS_personality, 0x0006UL), EPERM);
    PROBE(chroot("/") == 0); /* CAP_SYS_CHROOT is a default capability */
    PROBE_ERRNO(syscall(SYS_reboot, 0, 0, 0, 0), EPERM);
    PROBE_ERRNO(syscall(SYS_acct, NULL), EPERM);
#if defined(__x86_64__)
    unsigned long fs = 0;
    PROBE(syscall(SYS_arch_prctl, 0x1003 /* ARCH_GET_FS */, &fs) == 0);
#endif
    /* Syscalls newer than the profile: ENOSYS (runc's stub), so libcs fall
     * back; 452 is fchmodat2 (Linux 6.6), unknown to libseccomp 2.5.4. */
    PROBE_ERRNO(syscall(452, -100 /* AT_FDCWD */, ".", 0755, 0), ENOSYS);
    PROBE_ERRNO(syscall(1000), ENOSYS);
    PROBE_ERRNO(syscall(SYS_vhangup), EPERM); /* known but not allowed */
    /* ptrace is allowed on kernels >= 4.8: it fails for its own reasons. */
    errno = 0;
    PROBE(syscall(SYS_ptrace, PTRACE_PEEKDATA_NR, 1, 0, 0) == -1 && errno != EPERM);
    return 0;
}

#if defined(__x86_64__)
/* A 32-bit (i386) syscall from this 64-bit process: the filter must treat
 * it with the x86 numbering (AUDIT_ARCH_I386), as for a 32-bit binary. */
static long int80(long nr, long a, long b, long c)
{
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
    return ret;
}

static int probe_i386(void)
{
    PROBE(int80(20 /* getpid */, 0, 0, 0) == getpid());
    PROBE(int80(288 /* keyctl */, 0, -1, 0) == -EPERM);
    PROBE(int80(310 /* unshare */, CLONE_NEWUTS, 0, 0) == -EPERM);
    PROBE(int80(435 /* clone3 */, 0, 0, 0) == -ENOSYS);
    PROBE(int80(452 /* fchmodat2 */, -100, 0, 0) == -ENOSYS);
    return 0;
}

static void test_i386_syscalls(void **state)
{
    (void)state;
    if (int80(20, 0, 0, 0) != getpid())
        skip(); /* kernel without IA32 emulation */
    struct seccomp_bpf bpf;
    build_ok(NULL, caps_default_mask(), &bpf);
    probe_run(&bpf, probe_i386);
    seccomp_bpf_done(&bpf);
}
#endif

static void test_default_behaviour(void **state)
{
    (void)state;
    struct seccomp_bpf bpf;
    build_ok(NULL, caps_default_mask(), &bpf);
    probe_run(&bpf, probe_default);
    seccomp_bpf_done(&bpf);
}

static int probe_sys_admin(void)
{
    PROBE(unshare(CLONE_NEWUTS) == 0);
    /* clone3 reaches the kernel, which refuses a NULL argument itself. */
    PROBE_ERRNO(syscall(SYS_clone3, NULL, 0), EINVAL);
    PROBE_ERRNO(syscall(SYS_keyctl, 0, -1, 0), EPERM);
    return 0;
}

static void test_sys_admin_unfilters(void **state)
{
    (void)state;
    struct seccomp_bpf bpf;
    build_ok(NULL, caps_default_mask() | CAPS_BIT(CAP_SYS_ADMIN_NR), &bpf);
    probe_run(&bpf, probe_sys_admin);
    seccomp_bpf_done(&bpf);
}

static int probe_no_chroot(void)
{
    PROBE_ERRNO(chroot("/"), EPERM);
    PROBE(syscall(SYS_getppid) > 0);
    return 0;
}

static void test_dropped_cap_filters(void **state)
{
    (void)state;
    struct seccomp_bpf bpf;
    build_ok(NULL, caps_default_mask() & ~CAPS_BIT(CAP_SYS_CHROOT_NR), &bpf);
    probe_run(&bpf, probe_no_chroot);
    seccomp_bpf_done(&bpf);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The cache keys on the capabilities the profile mentions only. */
static void test_cache(void **state)
{
    (void)state;
    uint64_t caps = caps_default_mask() | CAPS_BIT(16) | CAPS_BIT(17); /* SYS_MODULE, RAWIO */
    struct seccomp_bpf a, b, c, d;
    double t0 = now_ms();
    build_ok(NULL, caps, &a);
    double t1 = now_ms();
    build_ok(NULL, caps, &b);
    double t2 = now_ms();
    print_message("default profile: compile %.2f ms (%zu insns), cached %.3f ms\n", t1 - t0,
                  a.len / sizeof(struct sock_filter), t2 - t1);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    assert_ptr_not_equal(a.data, b.data);
    /* CAP_NET_ADMIN plays no part in the profile: same program. */
    build_ok(NULL, caps | CAPS_BIT(12), &c);
    assert_int_equal(a.len, c.len);
    assert_memory_equal(a.data, c.data, a.len);
    build_ok(seccomp_default_profile(), caps_default_mask(), &d);
    assert_true(d.len != a.len || memcmp(d.data, a.data, a.len) != 0);
    seccomp_bpf_done(&a);
    seccomp_bpf_done(&b);
    seccomp_bpf_done(&c);
    seccomp_bpf_done(&d);
}

struct thread_arg {
    int idx;
    struct seccomp_bpf ref[4];
    int failures;
};

static uint64_t thread_caps(int i)
{
    static const int extra[] = {-1, CAP_SYS_ADMIN_NR, 19 /* SYS_PTRACE */, 25 /* SYS_TIME */};
    uint64_t m = caps_default_mask();
    return extra[i % 4] < 0 ? m : m | CAPS_BIT(extra[i % 4]);
}

static void *thread_main(void *p)
{
    struct thread_arg *ta = p;
    for (int i = 0; i < 40; i++) {
        struct seccomp_bpf bpf;
        struct berr err = {0};
        int k = (i + ta->idx) % 4;
        if (seccomp_build(NULL, thread_caps(k), &bpf, &err) != 0 || bpf.len != ta->ref[k].len ||
            memcmp(bpf.data, ta->ref[k].data, bpf.len) != 0)
            ta->failures++;
        seccomp_bpf_done(&bpf);
    }
    return NULL;
}

static void test_concurrent_builds(void **state)
{
    (void)state;
    struct thread_arg ta[4];
    pthread_t th[4];
    for (int t = 0; t < 4; t++) {
        ta[t] = (struct thread_arg){.idx = t};
        for (int k = 0; k < 4; k++) {
            struct berr err = {0};
            /* References from an uncached path: the same profile copied. */
            struct seccomp_profile copy = *seccomp_default_profile();
            assert_int_equal(seccomp_build(&copy, thread_caps(k), &ta[t].ref[k], &err), 0);
        }
    }
    for (int t = 0; t < 4; t++)
        assert_int_equal(pthread_create(&th[t], NULL, thread_main, &ta[t]), 0);
    for (int t = 0; t < 4; t++) {
        assert_int_equal(pthread_join(th[t], NULL), 0);
        assert_int_equal(ta[t].failures, 0);
        for (int k = 0; k < 4; k++)
            seccomp_bpf_done(&ta[t].ref[k]);
    }
}

/* Unknown syscall names are skipped, not fatal (runc does the same). */
static void test_unknown_syscall_skipped(void **state)
{
    (void)state;
    static const char *const names[] = {"no_such_syscall_berth", "getppid"};
    static const struct seccomp_rule rules[] = {
        {.names = names, .nnames = 2, .action = 0x00050000U | 42 /* SCMP_ACT_ERRNO(42) */}};
    struct seccomp_profile p = {
        .default_action = 0x7fff0000U /* SCMP_ACT_ALLOW */, .rules = rules, .nrules = 1};
    struct seccomp_bpf bpf;
    build_ok(&p, 0, &bpf);
    seccomp_bpf_done(&bpf);
}

static void test_host_facts(void **state)
{
    (void)state;
    assert_true(seccomp__kernel_version() >= (4u << 16 | 8));
#if defined(__x86_64__)
    assert_string_equal(seccomp__native_arch_name(), "amd64");
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_compiles),
        cmocka_unit_test(test_default_behaviour),
#if defined(__x86_64__)
        cmocka_unit_test(test_i386_syscalls),
#endif
        cmocka_unit_test(test_sys_admin_unfilters),
        cmocka_unit_test(test_dropped_cap_filters),
        cmocka_unit_test(test_cache),
        cmocka_unit_test(test_concurrent_builds),
        cmocka_unit_test(test_unknown_syscall_skipped),
        cmocka_unit_test(test_host_facts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
