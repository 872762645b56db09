/* HostConfig.SecurityOpt, parsed as dockerd's parseSecurityOpt does
 * (moby daemon/daemon_unix.go): "no-new-privileges[=|:bool]",
 * "seccomp=unconfined|builtin|<profile JSON>", "apparmor=...", "label=...",
 * "disable", "writable-cgroups[=bool]". AppArmor and SELinux options are
 * accepted and recorded but have no effect: this host has neither, and
 * dockerd then ignores them the same way. */
#ifndef BERTH_RUNTIME_SECOPT_H
#define BERTH_RUNTIME_SECOPT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/berr.h"

enum secopt_seccomp {
    SECOPT_SECCOMP_DEFAULT = 0, /* not given, "" or "builtin" */
    SECOPT_SECCOMP_UNCONFINED,  /* "unconfined" */
    SECOPT_SECCOMP_CUSTOM,      /* profile JSON in seccomp_profile */
};

struct secopt {
    bool no_new_privs;
    enum secopt_seccomp seccomp;
    char *seccomp_profile;  /* JSON text for SECOPT_SECCOMP_CUSTOM, else NULL */
    char *apparmor_profile; /* as given, for inspect; NULL if none */
    int writable_cgroups;   /* -1 unset, else 0/1 */
};

/* Fills *ret (zeroed first). Unknown or malformed options: 400 with
 * dockerd's messages `invalid --security-opt 1: "x"` (no separator) and
 * `invalid --security-opt 2: "x=y"` (unknown key or bad boolean). The
 * seccomp JSON is not parsed here: do that with seccomp_profile_parse_json
 * (dockerd too only decodes it when the container starts). */
int secopt_parse(const char *const *opts, size_t n, struct secopt *ret, struct berr *err);

void secopt_done(struct secopt *o);

/* Whether the container gets a seccomp filter at all: never for privileged
 * containers or "unconfined", as dockerd's WithSeccomp. */
bool secopt_wants_seccomp(const struct secopt *o, bool privileged);

#endif
