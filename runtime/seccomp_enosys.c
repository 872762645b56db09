/* The "-ENOSYS stub" runc's patchbpf puts in front of every filter: a
 * syscall newer than any the profile names answers ENOSYS instead of the
 * default EPERM, so a libc built for a newer kernel (fchmodat2, futex_wake,
 * ...) sees "not implemented" and falls back, as it does under Docker.
 * Syscalls libseccomp 2.5.4 does not know are exactly those. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <seccomp.h>

#include "runtime/seccomp.h"

#define X32_BIT     0x40000000U
#define STUB_MAX    64
#define LABEL_NOSYS (-1)
#define LABEL_PROG  (-2)

/* Instructions with symbolic jump targets, resolved once the stub is laid out. */
struct stub {
    struct sock_filter insn[STUB_MAX];
    int jt[STUB_MAX], jf[STUB_MAX]; /* >= 0: relative skip; < 0: label */
    size_t n;
};

static void emit(struct stub *s, uint16_t code, uint32_t k, int jt, int jf)
{
    s->insn[s->n] = (struct sock_filter)BPF_STMT(code, k);
    s->jt[s->n] = jt;
    s->jf[s->n] = jf;
    s->n++;
}

/* Highest syscall number the applied rules name on arch, or -1. */
static int arch_max(const struct seccomp_profile *p, uint64_t caps, uint32_t arch)
{
    int max = -1;
    for (size_t i = 0; i < p->nrules; i++) {
        if (!seccomp__rule_applies(&p->rules[i], caps))
            continue;
        for (size_t j = 0; j < p->rules[i].nnames; j++) {
            int nr = seccomp_syscall_resolve_name_arch(arch, p->rules[i].names[j]);
            if (nr > max)
                max = nr;
        }
    }
    return max;
}

static bool has_arch(const struct seccomp_profile *p, uint32_t arch)
{
    for (size_t i = 0; i < p->narches; i++)
        if (p->arches[i] == arch)
            return true;
    return false;
}

/* One architecture: if A holds its audit value, load nr and compare. x86_64
 * carries x32 too (same audit value, nr with X32_BIT set). */
static void emit_arch(struct stub *s, uint32_t audit, int max, int max_x32)
{
    bool x32 = audit == AUDIT_ARCH_X86_64;
    emit(s, BPF_JMP | BPF_JEQ | BPF_K, audit, 0, x32 ? 6 : 3);
    emit(s, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr), 0, 0);
    if (x32)
        emit(s, BPF_JMP | BPF_JSET | BPF_K, X32_BIT, 2, 0);
    emit(s, BPF_JMP | BPF_JGT | BPF_K, max < 0 ? UINT32_MAX : (uint32_t)max, LABEL_NOSYS, 0);
    emit(s, BPF_JMP | BPF_JA, 0, LABEL_PROG, LABEL_PROG);
    if (!x32)
        return;
    emit(s, BPF_JMP | BPF_JGT | BPF_K, max_x32 < 0 ? UINT32_MAX : (uint32_t)max_x32, LABEL_NOSYS,
         0);
    emit(s, BPF_JMP | BPF_JA, 0, LABEL_PROG, LABEL_PROG);
}

static int resolve(struct stub *s)
{
    size_t nosys = s->n - 1, prog = s->n; /* the final RET, then the filter */
    for (size_t i = 0; i < s->n; i++) {
        struct sock_filter *f = &s->insn[i];
        int t[2] = {s->jt[i], s->jf[i]};
        for (int k = 0; k < 2; k++) {
            long to = t[k] == LABEL_NOSYS ? (long)nosys : t[k] == LABEL_PROG ? (long)prog : -1;
            long off = to < 0 ? t[k] : to - (long)i - 1;
            if (off < 0 || off > 255)
                return -E2BIG;
            if (BPF_CLASS(f->code) != BPF_JMP)
                continue;
            if (BPF_OP(f->code) == BPF_JA && k == 0)
                f->k = (uint32_t)off;
            else if (BPF_OP(f->code) != BPF_JA)
                *(k == 0 ? &f->jt : &f->jf) = (uint8_t)off;
        }
    }
    return 0;
}

static void build_stub(const struct seccomp_profile *p, uint64_t caps, struct stub *s)
{
    uint32_t native = seccomp_arch_native();
    emit(s, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch), 0, 0);
    if (native == SCMP_ARCH_X86_64) {
        int x32 = has_arch(p, SCMP_ARCH_X32) ? arch_max(p, caps, SCMP_ARCH_X32) : -1;
        emit_arch(s, AUDIT_ARCH_X86_64, arch_max(p, caps, native), x32);
    } else {
        emit_arch(s, native, arch_max(p, caps, native), -1);
    }
    for (size_t i = 0; i < p->narches; i++)
        if (p->arches[i] != native && p->arches[i] != SCMP_ARCH_X32)
            emit_arch(s, p->arches[i], arch_max(p, caps, p->arches[i]), -1);
    emit(s, BPF_JMP | BPF_JA, 0, LABEL_PROG, LABEL_PROG); /* other arch: the filter decides */
    emit(s, BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS, 0, 0);
}

static bool permissive(uint32_t action)
{
    return action == SCMP_ACT_ALLOW || action == SCMP_ACT_LOG;
}

int seccomp__add_enosys_stub(const struct seccomp_profile *p, uint64_t caps,
                             struct seccomp_bpf *bpf)
{
    if (permissive(p->default_action))
        return 0;
    struct stub *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    build_stub(p, caps, s);
    size_t stub_len = s->n * sizeof(struct sock_filter);
    int r = resolve(s);
    void *data = r == 0 ? malloc(stub_len + bpf->len) : NULL;
    if (r == 0 && !data)
        r = -ENOMEM;
    if (r == 0) {
        memcpy(data, s->insn, stub_len);
        memcpy((char *)data + stub_len, bpf->data, bpf->len);
        free(bpf->data);
        bpf->data = data;
        bpf->len += stub_len;
    }
    free(s);
    return r;
}
