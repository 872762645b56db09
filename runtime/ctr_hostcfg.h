/* HostConfig parsed into the plain values the runtime acts on. Parsing is
 * pure (no filesystem access) and answers bad values with Docker's 400
 * messages; checks that need the filesystem (bind sources) happen in the
 * create job. */
#ifndef BERTH_RUNTIME_CTR_HOSTCFG_H
#define BERTH_RUNTIME_CTR_HOSTCFG_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/berr.h"
#include "common/config.h" /* struct strv */

enum ctr_mount_type { MNT_BIND, MNT_TMPFS, MNT_VOLUME };

struct ctr_mount {
    enum ctr_mount_type type;
    char *source; /* host path (bind), volume name, or NULL (tmpfs) */
    char *target; /* absolute path in the container */
    bool readonly;
    bool from_binds;           /* -v: a missing source dir is created */
    bool from_tmpfs_map;       /* --tmpfs (HostConfig.Tmpfs): not listed in inspect's Mounts */
    char *propagation;         /* "", rprivate, private, rshared, shared, rslave, slave */
    char *tmpfs_options;       /* comma list for the tmpfs mount data, or NULL */
    unsigned long tmpfs_flags; /* MS_* of a tmpfs (Docker's noexec,nosuid,nodev + options) */
};

struct ctr_ulimit {
    int resource; /* RLIMIT_* */
    int64_t soft, hard;
};

enum ctr_restart { RESTART_NO, RESTART_ALWAYS, RESTART_UNLESS_STOPPED, RESTART_ON_FAILURE };

/* Device throttles use the cgroup code's type (path, rate/weight). */
#include "cgroup.h"

struct ctr_resources {
    int64_t memory, memory_swap, memory_reservation, memory_swappiness; /* -1: unset */
    bool oom_kill_disable;
    int64_t nano_cpus, cpu_shares, cpu_quota, cpu_period;
    char *cpuset_cpus, *cpuset_mems;
    int64_t pids_limit; /* 0 or -1: unlimited */
    int blkio_weight;
    struct cg_throttle *weight_device, *read_bps, *write_bps, *read_iops, *write_iops;
    size_t nweight_device, nread_bps, nwrite_bps, nread_iops, nwrite_iops;
};

struct ctr_hostcfg {
    char network_mode[128]; /* "bridge" for "" and "default" */
    char pid_mode[128], ipc_mode[128], uts_mode[16], cgroupns_mode[16];
    bool privileged, readonly_rootfs, auto_remove, init;
    struct strv cap_add, cap_drop, security_opt, group_add;
    struct strv dns, dns_search, dns_options, extra_hosts;
    int64_t shm_size; /* bytes; 0 = default 64 MiB */
    int oom_score_adj;
    struct ctr_mount *mounts;
    size_t nmounts;
    struct ctr_ulimit *ulimits;
    size_t nulimits;
    enum ctr_restart restart;
    int restart_max;
    char log_type[32]; /* "json-file" */
    cJSON *log_opts;   /* LogConfig.Config (borrowed from the HostConfig document) */
    char cgroup_parent[256];
    struct ctr_resources res;
    int console_h, console_w;
};

/* Parses hc (may be NULL: all defaults). ret must be zeroed; on error it is
 * cleaned up. 400 with Docker's wording for bad values. */
int ctr_hostcfg_parse(const cJSON *hc, struct ctr_hostcfg *ret, struct berr *err);
/* Parses just the Resources members (create and `docker update`). */
int ctr_resources_parse(const cJSON *hc, struct ctr_resources *ret, struct berr *err);
void ctr_resources_done(struct ctr_resources *r);
/* Frees a device list and its paths (*t NULL, *n 0 after). */
void ctr_throttles_free(struct cg_throttle **t, size_t *n);
void ctr_hostcfg_done(struct ctr_hostcfg *hc);

const char *ctr_restart_name(enum ctr_restart r);

#endif
