/* Device access control: v1 devices.deny/devices.allow lines, v2 a
 * BPF_PROG_TYPE_CGROUP_DEVICE program attached to the leaf. Both enforce
 * Docker's default: deny everything, then allow the rules below. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup_internal.h"

/* runc's AllowedDevices, which Docker containers get: mknod of anything,
 * the standard character devices, ptys and tun. */
const struct cg_dev_rule cg__default_devices[] = {
    {'c', -1, -1, "m", true},    {'b', -1, -1, "m", true}, {'c', 1, 3, "rwm", true},
    {'c', 1, 8, "rwm", true},    {'c', 1, 7, "rwm", true}, {'c', 5, 0, "rwm", true},
    {'c', 1, 5, "rwm", true},    {'c', 1, 9, "rwm", true}, {'c', 5, 1, "rwm", true},
    {'c', 136, -1, "rwm", true}, {'c', 5, 2, "rwm", true}, {'c', 10, 200, "rwm", true},
};
const size_t cg__ndefault_devices = sizeof(cg__default_devices) / sizeof(cg__default_devices[0]);

static int parse_num(const char **p, int64_t *ret)
{
    if (**p == '*') {
        (*p)++;
        *ret = -1;
        return 0;
    }
    char *end;
    errno = 0;
    long long v = strtoll(*p, &end, 10);
    if (end == *p || errno || v < 0 || v > UINT32_MAX || **p == '-' || **p == '+')
        return -EINVAL;
    *p = end;
    *ret = v;
    return 0;
}

static int parse_access(const char *p, char out[4])
{
    size_t n = 0;
    for (; *p && n < 3; p++) {
        if (!strchr("rwm", *p) || memchr(out, *p, n))
            return -EINVAL;
        out[n++] = *p;
    }
    out[n] = '\0';
    return *p || n == 0 ? -EINVAL : 0;
}

int cgroup_dev_rule_parse(const char *s, struct cg_dev_rule *ret, struct berr *err)
{
    memset(ret, 0, sizeof(*ret));
    ret->allow = true;
    ret->major = ret->minor = -1;
    if (strcmp(s, "a") == 0 || strcmp(s, "a *:* rwm") == 0) {
        ret->type = 'a';
        memcpy(ret->access, "rwm", 4);
        return 0;
    }
    const char *p = s;
    int r = -EINVAL;
    if ((*p == 'a' || *p == 'b' || *p == 'c') && p[1] == ' ') {
        ret->type = *p;
        p += 2;
        r = parse_num(&p, &ret->major);
        if (r == 0)
            r = *p == ':' ? (p++, parse_num(&p, &ret->minor)) : -EINVAL;
        if (r == 0)
            r = *p == ' ' ? parse_access(p + 1, ret->access) : -EINVAL;
    }
    if (r < 0)
        return berr_set(err, 400, EINVAL, "invalid device cgroup rule '%s'", s);
    return 0;
}

static void num_str(int64_t v, char out[24])
{
    if (v < 0)
        snprintf(out, 24, "*");
    else
        snprintf(out, 24, "%" PRId64, v);
}

void cg__dev_rule_str(const struct cg_dev_rule *r, char out[64])
{
    char maj[24], min[24];
    if (r->type == 'a' && r->major < 0 && r->minor < 0) {
        snprintf(out, 64, "a");
        return;
    }
    num_str(r->major, maj);
    num_str(r->minor, min);
    snprintf(out, 64, "%c %s:%s %s", r->type, maj, min, r->access);
}

static int v1_rule(const char *dir, const struct cg_dev_rule *r, struct berr *err)
{
    char line[64];
    cg__dev_rule_str(r, line);
    return cg__write(dir, r->allow ? "devices.allow" : "devices.deny", line, err);
}

int cg__v1_devices(const char *dir, const struct cg_limits *lim, struct berr *err)
{
    if (lim->privileged)
        return cg__write(dir, "devices.allow", "a", err);
    int r = cg__write(dir, "devices.deny", "a", err);
    for (size_t i = 0; r == 0 && i < cg__ndefault_devices; i++)
        r = v1_rule(dir, &cg__default_devices[i], err);
    for (size_t i = 0; r == 0 && i < lim->ndevices; i++)
        r = v1_rule(dir, &lim->devices[i], err);
    return r;
}

/* ---- v2: BPF device program -------------------------------------------- */

#define INSN(c, d, s, o, i)                                                                        \
    ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})
#define LDX_W(d, s, o)      INSN(BPF_LDX | BPF_MEM | BPF_W, d, s, o, 0)
#define MOV32_REG(d, s)     INSN(BPF_ALU | BPF_MOV | BPF_X, d, s, 0, 0)
#define ALU32_IMM(op, d, i) INSN(BPF_ALU | (op) | BPF_K, d, 0, 0, i)
#define JNE_IMM(d, i, o)    INSN(BPF_JMP | BPF_JNE | BPF_K, d, 0, o, i)
#define MOV64_IMM(d, i)     INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define EXIT_INSN()         INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

/* Registers after the prologue: r2 device type, r3 access, r4 major,
 * r5 minor (bpf_cgroup_dev_ctx). r1 is free for scratch. */
enum { R_TYPE = 2, R_ACC = 3, R_MAJ = 4, R_MIN = 5, PROLOGUE = 6, RULE_MAX = 8 };

static void prologue(struct bpf_insn *p)
{
    p[0] = LDX_W(R_TYPE, 1, 0); /* access_type = (access << 16) | type */
    p[1] = MOV32_REG(R_ACC, R_TYPE);
    p[2] = ALU32_IMM(BPF_RSH, R_ACC, 16);
    p[3] = ALU32_IMM(BPF_AND, R_TYPE, 0xffff);
    p[4] = LDX_W(R_MAJ, 1, 4);
    p[5] = LDX_W(R_MIN, 1, 8);
}

static int access_bits(const char *a)
{
    return (strchr(a, 'm') ? BPF_DEVCG_ACC_MKNOD : 0) | (strchr(a, 'r') ? BPF_DEVCG_ACC_READ : 0) |
           (strchr(a, 'w') ? BPF_DEVCG_ACC_WRITE : 0);
}

/* One rule: every test that fails jumps past the block; a match returns
 * the rule's verdict. Returns the instruction count. */
static size_t rule_block(const struct cg_dev_rule *r, struct bpf_insn *p)
{
    size_t n = 0;
    int acc = access_bits(r->access);
    if (r->type != 'a')
        p[n++] = JNE_IMM(R_TYPE, r->type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK, 0);
    if (acc != (BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE)) {
        p[n++] = MOV32_REG(1, R_ACC);
        p[n++] = ALU32_IMM(BPF_AND, 1, ~acc);
        p[n++] = JNE_IMM(1, 0, 0);
    }
    if (r->major >= 0)
        p[n++] = JNE_IMM(R_MAJ, (int32_t)r->major, 0);
    if (r->minor >= 0)
        p[n++] = JNE_IMM(R_MIN, (int32_t)r->minor, 0);
    p[n++] = MOV64_IMM(0, r->allow ? 1 : 0);
    p[n++] = EXIT_INSN();
    for (size_t i = 0; i < n; i++)
        if (p[i].code == (BPF_JMP | BPF_JNE | BPF_K))
            p[i].off = (int16_t)(n - i - 1);
    return n;
}

/* Rules are tried last to first so that, as with v1's sequential writes,
 * a later rule overrides an earlier one; nothing matching means deny. */
static size_t build_prog(const struct cg_limits *lim, struct bpf_insn *p)
{
    size_t n = PROLOGUE;
    prologue(p);
    for (size_t i = lim->ndevices; i-- > 0;)
        n += rule_block(&lim->devices[i], p + n);
    for (size_t i = cg__ndefault_devices; i-- > 0;)
        n += rule_block(&cg__default_devices[i], p + n);
    p[n++] = MOV64_IMM(0, 0);
    p[n++] = EXIT_INSN();
    return n;
}

static int prog_load(const struct bpf_insn *insns, size_t n, struct berr *err)
{
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    a.insns = (uint64_t)(uintptr_t)insns;
    a.insn_cnt = (uint32_t)n;
    a.license = (uint64_t)(uintptr_t) "GPL";
    int fd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof(a));
    if (fd >= 0)
        return fd;
    int e = errno;
    /* Load again with the verifier log for the message (rare path). */
    char *log = calloc(1, 4096);
    if (log) {
        a.log_buf = (uint64_t)(uintptr_t)log;
        a.log_size = 4096;
        a.log_level = 1;
        int fd2 = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof(a));
        if (fd2 >= 0)
            close(fd2);
    }
    int r = berr_errno(err, 500, e, "cgroup: load device BPF program (%.200s)", log ? log : "");
    free(log);
    return r;
}

int cg__v2_devices(const char *dir, const struct cg_limits *lim, struct berr *err)
{
    if (lim->privileged)
        return 0; /* no program: every device is allowed */
    size_t cap = PROLOGUE + 2 + (cg__ndefault_devices + lim->ndevices) * RULE_MAX;
    struct bpf_insn *insns = calloc(cap, sizeof(*insns));
    if (!insns)
        return berr_set(err, 500, ENOMEM, "out of memory");
    size_t n = build_prog(lim, insns);
    int prog = prog_load(insns, n, err);
    free(insns);
    if (prog < 0)
        return prog;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int r = dfd < 0 ? berr_errno(err, 500, errno, "cgroup: open %s", dir) : 0;
    if (r == 0) {
        union bpf_attr a;
        memset(&a, 0, sizeof(a));
        a.target_fd = (uint32_t)dfd;
        a.attach_bpf_fd = (uint32_t)prog;
        a.attach_type = BPF_CGROUP_DEVICE;
        a.attach_flags = BPF_F_ALLOW_MULTI;
        if (syscall(SYS_bpf, BPF_PROG_ATTACH, &a, sizeof(a)) < 0)
            r = berr_errno(err, 500, errno, "cgroup: attach device BPF program to %s", dir);
        close(dfd);
    }
    close(prog); /* the attachment keeps the program alive */
    return r;
}
