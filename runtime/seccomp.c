/* Compiles a seccomp profile into a raw BPF program with libseccomp, the way
 * runc's libcontainer/seccomp does (KILL means KILL_THREAD, a rule whose
 * action equals the default is redundant and skipped, unknown syscalls are
 * skipped, conditions on one argument index are ORed), and caches the
 * default profile's programs. Loading is berth-init's job, not ours. */
#include "runtime/seccomp.h"

#include <errno.h>
#include <linux/filter.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <seccomp.h>

#include "common/macros.h"
#include "runtime/caps.h"

/* The kernel refuses longer programs (BPF_MAXINSNS). */
#define BPF_INSNS_MAX 4096
/* libseccomp's binary-tree layout pays off only past a few dozen syscalls
 * (runc's threshold); it also misbehaves in 2.5.4 with no rules at all. */
#define OPTIMIZE_MIN_SYSCALLS 32

const char *seccomp__native_arch_name(void)
{
#if defined(__x86_64__)
    return "amd64";
#elif defined(__aarch64__)
    return "arm64";
#elif defined(__i386__)
    return "x86";
#elif defined(__arm__)
    return "arm";
#elif defined(__s390x__)
    return "s390x";
#elif defined(__powerpc64__) && defined(__LITTLE_ENDIAN__)
    return "ppc64le";
#elif defined(__riscv) && __riscv_xlen == 64
    return "riscv64";
#else
    return "unknown";
#endif
}

static uint32_t kernel_version;
static pthread_once_t host_once = PTHREAD_ONCE_INIT;

/* Host facts read once: the kernel release for minKernel, and libseccomp's
 * API level, which it otherwise probes lazily and without a lock. */
static void host_init(void)
{
    struct utsname u;
    unsigned major = 0, minor = 0;
    if (uname(&u) == 0 && sscanf(u.release, "%u.%u", &major, &minor) == 2)
        kernel_version = major << 16 | minor;
    (void)seccomp_api_get();
}

uint32_t seccomp__kernel_version(void)
{
    pthread_once(&host_once, host_init);
    return kernel_version;
}

/* Docker's setupSeccomp filter: excludes first, then includes. */
static bool rule_applies(const struct seccomp_rule *r, uint64_t caps, uint32_t kver)
{
    const struct seccomp_cond *ex = &r->excludes, *in = &r->includes;
    if (ex->arches == SECCOMP_ARCHES_NATIVE || (ex->caps & caps) != 0)
        return false;
    if (ex->min_kernel && kver >= ex->min_kernel)
        return false;
    if (in->arches == SECCOMP_ARCHES_OTHER || in->caps_unknown || (in->caps & ~caps) != 0)
        return false;
    return !(in->min_kernel && kver < in->min_kernel);
}

bool seccomp__rule_applies(const struct seccomp_rule *r, uint64_t caps)
{
    return rule_applies(r, caps, seccomp__kernel_version());
}

static void to_cmp(const struct seccomp_arg *a, struct scmp_arg_cmp *c)
{
    *c = (struct scmp_arg_cmp){.arg = a->index,
                               .op = (enum scmp_compare)a->op,
                               .datum_a = a->value,
                               .datum_b = a->value_two};
}

/* runc: conditions on distinct arguments are ANDed in one rule; when two
 * name the same argument, each becomes a rule of its own (ORed). */
static bool args_share_index(const struct seccomp_rule *r)
{
    unsigned seen = 0;
    for (size_t i = 0; i < r->nargs; i++) {
        if (seen & (1u << r->args[i].index))
            return true;
        seen |= 1u << r->args[i].index;
    }
    return false;
}

static int add_syscall(scmp_filter_ctx ctx, const struct seccomp_rule *r, int nr)
{
    struct scmp_arg_cmp cmp[SECCOMP_ARGS_MAX];
    if (r->nargs == 0)
        return seccomp_rule_add(ctx, r->action, nr, 0);
    if (!args_share_index(r)) {
        for (size_t i = 0; i < r->nargs; i++)
            to_cmp(&r->args[i], &cmp[i]);
        return seccomp_rule_add_array(ctx, r->action, nr, (unsigned)r->nargs, cmp);
    }
    for (size_t i = 0; i < r->nargs; i++) {
        to_cmp(&r->args[i], &cmp[0]);
        int rc = seccomp_rule_add_array(ctx, r->action, nr, 1, cmp);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int add_rule(scmp_filter_ctx ctx, const struct seccomp_rule *r, uint32_t def,
                    struct berr *err)
{
    if (r->action == def)
        return 0;
    for (size_t i = 0; i < r->nnames; i++) {
        int nr = seccomp_syscall_resolve_name(r->names[i]);
        if (nr == __NR_SCMP_ERROR)
            continue; /* unknown to libseccomp: not on this kernel either */
        int rc = add_syscall(ctx, r, nr);
        if (rc < 0)
            return berr_errno(err, 400, -rc, "error adding seccomp rule for syscall %s",
                              r->names[i]);
    }
    return 0;
}

static int setup_ctx(scmp_filter_ctx ctx, const struct seccomp_profile *p, size_t nsyscalls,
                     struct berr *err)
{
    /* berth-init sets no_new_privs itself when asked (and loads the filter
     * while it still holds CAP_SYS_ADMIN otherwise). */
    int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
    for (size_t i = 0; rc == 0 && i < p->narches; i++) {
        rc = seccomp_arch_add(ctx, p->arches[i]);
        if (rc == -EEXIST)
            rc = 0;
    }
    if (rc == 0 && nsyscalls > OPTIMIZE_MIN_SYSCALLS)
        rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    if (rc < 0)
        return berr_errno(err, 500, -rc, "error setting up seccomp filter");
    return 0;
}

static int populate(scmp_filter_ctx ctx, const struct seccomp_profile *p, uint64_t caps,
                    struct berr *err)
{
    uint32_t kver = seccomp__kernel_version();
    size_t nsyscalls = 0;
    for (size_t i = 0; i < p->nrules; i++)
        if (rule_applies(&p->rules[i], caps, kver))
            nsyscalls += p->rules[i].nnames;
    int r = setup_ctx(ctx, p, nsyscalls, err);
    for (size_t i = 0; r == 0 && i < p->nrules; i++)
        if (rule_applies(&p->rules[i], caps, kver))
            r = add_rule(ctx, &p->rules[i], p->default_action, err);
    return r;
}

/* libseccomp 2.5 exports only to an fd: go through a memfd. */
static int export_bpf(scmp_filter_ctx ctx, struct seccomp_bpf *ret, struct berr *err)
{
    int fd = memfd_create("berth-seccomp", MFD_CLOEXEC);
    if (fd < 0)
        return berr_errno(err, 500, errno, "error exporting seccomp filter");
    int r = seccomp_export_bpf(ctx, fd);
    struct stat st;
    if (r == 0 && fstat(fd, &st) < 0)
        r = -errno;
    void *data = NULL;
    if (r == 0 && (st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) != 0))
        r = -EIO;
    if (r == 0 && !(data = malloc((size_t)st.st_size)))
        r = -ENOMEM;
    if (r == 0) {
        ssize_t n = pread(fd, data, (size_t)st.st_size, 0);
        r = n == st.st_size ? 0 : n < 0 ? -errno : -EIO;
    }
    close(fd);
    if (r < 0) {
        free(data);
        return berr_errno(err, 500, -r, "error exporting seccomp filter");
    }
    *ret = (struct seccomp_bpf){.data = data, .len = (size_t)st.st_size, .flags = 0};
    return 0;
}

static int compile(const struct seccomp_profile *p, uint64_t caps, struct seccomp_bpf *ret,
                   struct berr *err)
{
    scmp_filter_ctx ctx = seccomp_init(p->default_action);
    if (!ctx)
        return berr_set(err, 400, EINVAL, "error creating seccomp filter: invalid default action");
    int r = populate(ctx, p, caps, err);
    if (r == 0)
        r = export_bpf(ctx, ret, err);
    seccomp_release(ctx);
    if (r == 0 && (r = seccomp__add_enosys_stub(p, caps, ret)) < 0) {
        seccomp_bpf_done(ret);
        return berr_errno(err, 500, -r, "error adding the ENOSYS stub to the seccomp filter");
    }
    if (r == 0 && ret->len / sizeof(struct sock_filter) > BPF_INSNS_MAX) {
        seccomp_bpf_done(ret);
        return berr_set(err, 400, E2BIG, "seccomp filter is too long (%zu instructions, max %d)",
                        ret->len / sizeof(struct sock_filter), BPF_INSNS_MAX);
    }
    if (r == 0)
        ret->flags = p->flags;
    return r;
}

/* ---- cache of the default profile's programs ------------------------------
 * Nearly every container runs the default profile with one of a handful of
 * capability sets, and only the capabilities the profile mentions change
 * the program: key the cache on those. */

#define CACHE_SLOTS 8

struct cache_slot {
    bool used;
    uint64_t key;
    uint64_t last_use;
    void *data;
    size_t len;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cache_slot cache[CACHE_SLOTS];
static uint64_t cache_clock;

static uint64_t profile_caps(const struct seccomp_profile *p)
{
    uint64_t m = 0;
    for (size_t i = 0; i < p->nrules; i++)
        m |= p->rules[i].includes.caps | p->rules[i].excludes.caps;
    return m;
}

static int dup_bpf(const void *data, size_t len, struct seccomp_bpf *ret)
{
    void *copy = malloc(len);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, data, len);
    *ret = (struct seccomp_bpf){.data = copy, .len = len, .flags = 0};
    return 0;
}

static int cache_get(uint64_t key, struct seccomp_bpf *ret)
{
    int r = -ENOENT;
    pthread_mutex_lock(&cache_lock);
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        if (cache[i].used && cache[i].key == key) {
            cache[i].last_use = ++cache_clock;
            r = dup_bpf(cache[i].data, cache[i].len, ret);
            break;
        }
    }
    pthread_mutex_unlock(&cache_lock);
    return r;
}

static struct cache_slot *cache_victim(uint64_t key)
{
    struct cache_slot *victim = &cache[0];
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        if (cache[i].used && cache[i].key == key)
            return NULL; /* another thread compiled it meanwhile */
        if (!cache[i].used)
            return &cache[i];
        if (cache[i].last_use < victim->last_use)
            victim = &cache[i];
    }
    return victim;
}

/* Best effort: a failed copy only costs a later recompilation. */
static void cache_put(uint64_t key, const struct seccomp_bpf *bpf)
{
    struct seccomp_bpf copy;
    if (dup_bpf(bpf->data, bpf->len, &copy) < 0)
        return;
    pthread_mutex_lock(&cache_lock);
    struct cache_slot *s = cache_victim(key);
    if (s) {
        free(s->data);
        *s = (struct cache_slot){true, key, ++cache_clock, copy.data, copy.len};
        copy.data = NULL;
    }
    pthread_mutex_unlock(&cache_lock);
    free(copy.data);
}

static int build_default(uint64_t caps, struct seccomp_bpf *ret, struct berr *err)
{
    const struct seccomp_profile *p = seccomp_default_profile();
    uint64_t key = caps & profile_caps(p);
    int r = cache_get(key, ret);
    if (r != -ENOENT)
        return r < 0 ? berr_errno(err, 500, -r, "error compiling seccomp filter") : 0;
    r = compile(p, key, ret, err);
    if (r == 0)
        cache_put(key, ret);
    return r;
}

int seccomp_build(const struct seccomp_profile *p, uint64_t caps, struct seccomp_bpf *ret,
                  struct berr *err)
{
    pthread_once(&host_once, host_init);
    if (!p || p == seccomp_default_profile())
        return build_default(caps, ret, err);
    if (p->disabled) {
        *ret = (struct seccomp_bpf){0};
        return 0;
    }
    return compile(p, caps, ret, err);
}

void seccomp_bpf_done(struct seccomp_bpf *bpf)
{
    if (!bpf)
        return;
    free(bpf->data);
    *bpf = (struct seccomp_bpf){0};
}
