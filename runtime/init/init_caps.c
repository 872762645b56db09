/* Identity and privileges: bounding set, uid/gid switch keeping the
 * capability sets, capset, seccomp. */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "init.h"

/* Capabilities the kernel has, below 64; filled by caps_bound(). */
static uint64_t kernel_bounding;

/* Drops what mask lacks; a capability the kernel doesn't know ends the walk
 * (PR_CAPBSET_READ fails with EINVAL past the last one). Capabilities the
 * daemon itself lacks in its bounding set can't be kept and are left out. */
int caps_bound(uint64_t mask)
{
    kernel_bounding = 0;
    for (int cap = 0; cap < 64; cap++) {
        int in = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
        if (in < 0)
            break;
        if (in && (mask & (1ull << cap))) {
            kernel_bounding |= 1ull << cap;
            continue;
        }
        if (in && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
            return init_fail_errno(errno, "drop capability %d from the bounding set", cap);
    }
    return 0;
}

static int capset_mask(uint64_t mask)
{
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof(data));
    for (int i = 0; i < 2; i++) {
        data[i].permitted = (uint32_t)(mask >> (32 * i));
        data[i].effective = data[i].permitted;
    }
    if (syscall(SYS_capset, &hdr, data) < 0)
        return init_fail_errno(errno, "capset");
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return init_fail_errno(errno, "clear ambient capabilities");
    return 0;
}

/* setresuid away from 0 clears the permitted and effective sets unless
 * PR_SET_KEEPCAPS is on; with it, the permitted set survives and capset
 * brings the effective one back. An exec by a non-root uid then keeps only
 * what file capabilities grant, exactly as in Docker. */
int caps_switch_user(const struct init_user *user, uint64_t mask)
{
    if (setgroups(user->n_groups, user->groups) < 0)
        return init_fail_errno(errno, "setgroups");
    if (setresgid(user->gid, user->gid, user->gid) < 0)
        return init_fail_errno(errno, "setresgid %u", (unsigned)user->gid);
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        return init_fail_errno(errno, "set keepcaps");
    if (setresuid(user->uid, user->uid, user->uid) < 0)
        return init_fail_errno(errno, "setresuid %u", (unsigned)user->uid);
    prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
    return capset_mask(mask & kernel_bounding);
}

int seccomp_load(const void *bpf, size_t len)
{
    size_t n = len / sizeof(struct sock_filter);
    if (len % sizeof(struct sock_filter) != 0 || n == 0 || n > BPF_MAXINSNS)
        return init_fail(EINVAL, "seccomp: invalid filter length %zu", len);
    /* The plan holds the bytes unaligned; the kernel wants an array. */
    struct sock_filter *filter = malloc(len);
    if (!filter)
        return init_fail(ENOMEM, "seccomp: out of memory");
    memcpy(filter, bpf, len);
    struct sock_fprog prog = {.len = (unsigned short)n, .filter = filter};
    long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
    int e = errno;
    free(filter);
    if (r < 0)
        return init_fail_errno(e, "error loading seccomp filter into kernel");
    return 0;
}
