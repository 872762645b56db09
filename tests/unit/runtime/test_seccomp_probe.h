/* Shared by the seccomp tests: load a compiled program in a forked child
 * the way berth-init does, and run probes there. Include after <cmocka.h>. */
#ifndef BERTH_TESTS_UNIT_RUNTIME_SECCOMP_PROBE_H
#define BERTH_TESTS_UNIT_RUNTIME_SECCOMP_PROBE_H

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/seccomp.h"

#define PTRACE_PEEKDATA_NR 2

/* Probes return 0 when every expectation holds; the failing line is told
 * on stderr (write(2) stays allowed by every profile under test). */
#define PROBE(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            dprintf(2, "probe %s:%d: %s (errno %d)\n", __func__, __LINE__, #cond, errno);          \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

#define PROBE_ERRNO(call, e)                                                                       \
    do {                                                                                           \
        errno = 0;                                                                                 \
        long _r = (long)(call);                                                                    \
        if (_r != -1 || errno != (e)) {                                                            \
            dprintf(2, "probe %s:%d: %s = %ld errno %d, want errno %d\n", __func__, __LINE__,      \
                    #call, _r, errno, e);                                                          \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

static inline void probe_load(const struct seccomp_bpf *bpf)
{
    struct sock_fprog prog = {.len = (unsigned short)(bpf->len / sizeof(struct sock_filter)),
                              .filter = bpf->data};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        _exit(90);
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, bpf->flags, &prog) != 0)
        _exit(91);
}

/* _exit, never exit: the child must not run atexit handlers (LSan). */
static inline void probe_run(const struct seccomp_bpf *bpf, int (*probe)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        probe_load(bpf);
        _exit(probe());
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("probe in filtered child failed (wait status 0x%x)", st);
}

#endif
