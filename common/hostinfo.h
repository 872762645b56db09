/* Facts about the host that /info and /version report. Gathering reads
 * /proc, /sys and /etc files: blocking, so call it before the loop runs
 * (static facts) or from a worker (dynamic facts). */
#ifndef BERTH_COMMON_HOSTINFO_H
#define BERTH_COMMON_HOSTINFO_H

#include <stdbool.h>
#include <stdint.h>

struct host_static {
    char kernel[128];    /* uname release */
    char os_name[128];   /* PRETTY_NAME */
    char os_version[64]; /* VERSION_ID */
    char machine[65];    /* uname machine: x86_64 */
    char goarch[65];     /* Docker's architecture name: amd64 */
    char hostname[256];
    int ncpu;
    int64_t mem_total;
    /* cgroup features: the runtime's cgroup_detect (struct cg_host) */
    bool seccomp; /* kernel supports seccomp filters */
};

struct host_dynamic {
    int nfd; /* open fds of this process */
    int nthreads;
    bool ipv4_forwarding;
    bool bridge_nf_iptables;
    bool bridge_nf_ip6tables;
    char backing_fs[32]; /* filesystem type under the data root */
    bool d_type;
};

void hostinfo_static(struct host_static *ret);
void hostinfo_dynamic(const char *data_root, struct host_dynamic *ret);

/* Maps uname machine names to Docker's (GOARCH) names. */
const char *hostinfo_goarch(const char *machine);

#endif
