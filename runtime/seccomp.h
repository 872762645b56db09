/* Seccomp for containers: Docker's default profile, Docker-format JSON
 * profiles, and their compilation into a raw classic-BPF program.
 *
 * The daemon compiles (libseccomp, on a worker thread: seccomp_build blocks
 * for a few milliseconds on a cache miss) and berth-init loads the bytes with
 * seccomp(SECCOMP_SET_MODE_FILTER, bpf.flags, &(struct sock_fprog){len / 8,
 * data}) after setting no_new_privs or while it still holds CAP_SYS_ADMIN.
 * The program is self-contained: it checks the architecture itself (x86_64,
 * x86 and x32 on an x86_64 host, as Docker's archMap) and needs nothing from
 * libseccomp at load time. */
#ifndef BERTH_RUNTIME_SECCOMP_H
#define BERTH_RUNTIME_SECCOMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/berr.h"

#define SECCOMP_ARGS_MAX 6

/* Does an includes/excludes "arches" list name the host's architecture
 * (in Docker's Go naming: "amd64", "arm64", ...)? */
enum seccomp_arches {
    SECCOMP_ARCHES_NONE = 0, /* no list */
    SECCOMP_ARCHES_NATIVE,   /* a list that names the host */
    SECCOMP_ARCHES_OTHER,    /* a list that does not */
};

/* Docker's "includes"/"excludes" filter of one syscalls[] entry. */
struct seccomp_cond {
    uint64_t caps;       /* capabilities named, bit n = capability n */
    bool caps_unknown;   /* names a capability berth does not know */
    uint8_t arches;      /* enum seccomp_arches */
    uint32_t min_kernel; /* major << 16 | minor; 0: none */
};

/* One argument comparison; op is libseccomp's enum scmp_compare. For
 * SCMP_CMP_MASKED_EQ, value is the mask and value_two the expected result. */
struct seccomp_arg {
    uint8_t index;
    uint8_t op;
    uint64_t value;
    uint64_t value_two;
};

/* One syscalls[] entry: its action (a libseccomp SCMP_ACT_* value, errno
 * included) applies to every name when all args match. */
struct seccomp_rule {
    const char *const *names;
    size_t nnames;
    uint32_t action;
    const struct seccomp_arg *args;
    size_t nargs;
    struct seccomp_cond includes;
    struct seccomp_cond excludes;
};

struct seccomp_profile {
    /* Docker: a profile with neither defaultAction nor syscalls disables
     * seccomp; seccomp_build then returns an empty program. */
    bool disabled;
    uint32_t default_action;
    /* Extra architectures (libseccomp SCMP_ARCH_* tokens) besides the
     * native one, already resolved from "architectures" or "archMap". */
    const uint32_t *arches;
    size_t narches;
    const struct seccomp_rule *rules;
    size_t nrules;
    unsigned int flags; /* SECCOMP_FILTER_FLAG_LOG / _SPEC_ALLOW for seccomp(2) */
};

/* A compiled program: data holds len bytes of struct sock_filter[]. */
struct seccomp_bpf {
    void *data;
    size_t len;
    unsigned int flags; /* pass as seccomp(2)'s flags argument */
};

/* Docker's default profile (moby profiles/seccomp/default.json), static. */
const struct seccomp_profile *seccomp_default_profile(void);

/* Compiles profile p (NULL: the default) for a container whose final
 * capability mask is caps: capability-gated rules are kept or dropped as
 * Docker does against the container's bounding set. Syscalls unknown to
 * libseccomp are skipped. The default profile's programs are cached per
 * relevant capability mask, so repeated builds cost a copy. On success
 * *ret is filled (ret->len == 0: no filter, for a disabled profile); free
 * it with seccomp_bpf_done. Thread-safe. */
int seccomp_build(const struct seccomp_profile *p, uint64_t caps, struct seccomp_bpf *ret,
                  struct berr *err);

void seccomp_bpf_done(struct seccomp_bpf *bpf);

/* Parses a Docker-format JSON profile (the text `docker run --security-opt
 * seccomp=FILE` sends). Malformed input: 400 "Decoding seccomp profile
 * failed: ..."; valid JSON with a meaning berth cannot honour (unknown
 * action, operator, architecture, flag, SCMP_ACT_NOTIFY): 400 too. */
int seccomp_profile_parse_json(const char *json, size_t len, struct seccomp_profile **ret,
                               struct berr *err);

void seccomp_profile_free(struct seccomp_profile *p);

/* ---- internal to runtime/seccomp*.c (and tests) ---- */

/* Host facts used to evaluate includes/excludes. */
const char *seccomp__native_arch_name(void); /* "amd64", "arm64", ... */
uint32_t seccomp__kernel_version(void);      /* major << 16 | minor */

/* Docker's includes/excludes evaluation for this host and capability mask. */
bool seccomp__rule_applies(const struct seccomp_rule *r, uint64_t caps);

/* Prepends runc's ENOSYS stub (seccomp_enosys.c) to a compiled program; a
 * no-op for a permissive default action. Returns 0, -ENOMEM or -E2BIG. */
int seccomp__add_enosys_stub(const struct seccomp_profile *p, uint64_t caps,
                             struct seccomp_bpf *bpf);

#endif
