/* Container cgroups, Docker's "cgroupfs" driver: one cgroup per container at
 * <hierarchy>/<parent>/<id> (parent "berth" unless HostConfig.CgroupParent
 * says otherwise), for cgroup v1 (one hierarchy per controller, hybrid hosts
 * included) and cgroup v2 (one unified tree).
 *
 * Every function that touches the filesystem blocks: call it on a worker
 * thread. No function hard-codes /sys/fs/cgroup: the mount root comes from
 * cgroup_detect(), so the unit tests run against a fake tree of plain files.
 * Nothing here logs; failures fill a struct berr naming the file and value. */
#ifndef BERTH_RUNTIME_CGROUP_H
#define BERTH_RUNTIME_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/berr.h"

#define CG_PATH_MAX    512
#define CG_CPULIST_MAX 256

/* v1 controllers (each may be its own hierarchy or co-mounted). */
enum cg_ctrl {
    CG_CPU,
    CG_CPUACCT,
    CG_CPUSET,
    CG_MEMORY,
    CG_DEVICES,
    CG_FREEZER,
    CG_BLKIO,
    CG_PIDS,
    CG_NCTRL
};

/* The controller's name ("memory"), which is also its v1 mount dir name. */
const char *cgroup_v1_name(enum cg_ctrl c);

/* v2 controllers, as bits of cg_host.v2_mask. */
enum {
    CG2_CPU = 1u << 0,
    CG2_CPUSET = 1u << 1,
    CG2_IO = 1u << 2,
    CG2_MEMORY = 1u << 3,
    CG2_PIDS = 1u << 4,
    CG2_HUGETLB = 1u << 5,
};

/* What the host offers; filled once at daemon start by cgroup_detect() and
 * shared read-only by every worker afterwards. Also feeds /info. */
struct cg_host {
    int version; /* 1 or 2 */
    char root[CG_PATH_MAX];
    /* v1: mount dir of each controller ("" when not mounted); a co-mounted
     * pair (cpu,cpuacct) has the same dir twice. */
    char v1_dir[CG_NCTRL][CG_PATH_MAX];
    unsigned v1_mask;    /* bit (1u << cg_ctrl) per mounted controller */
    unsigned v1_primary; /* one bit per distinct hierarchy */
    unsigned v2_mask;    /* CG2_* listed in the root's cgroup.controllers */
    /* Features, as Docker's sysinfo names them (Docker's validation uses them). */
    bool memory, swap, swappiness, oom_kill_disable, cpu_cfs, cpu_shares, cpuset, pids;
    bool blkio_weight, blkio_throttle, freezer;
    int ncpu;                  /* CPUs this process may run on */
    char cpus[CG_CPULIST_MAX]; /* cpus the root cpuset offers, "0-1" */
    char mems[CG_CPULIST_MAX]; /* memory nodes, "0" */
};

/* Detects the cgroup layout under mount_root ("/sys/fs/cgroup"): v2 when the
 * root itself holds cgroup.controllers, else v1 hierarchies in its
 * subdirectories (a hybrid host's "unified" dir is ignored). */
int cgroup_detect(const char *mount_root, struct cg_host *ret, struct berr *err);

/* ---- limits ------------------------------------------------------------ */

/* A block device given by path; major:minor is resolved with stat() when
 * the limit is applied. rate is bytes/s, IO/s, or a weight (10-1000). */
struct cg_throttle {
    const char *path;
    uint64_t rate;
};

/* A device cgroup rule, "c 1:3 rwm" (major/minor -1 means '*'). */
struct cg_dev_rule {
    char type; /* 'a', 'b' or 'c' */
    int64_t major, minor;
    char access[4]; /* subset of "rwm" */
    bool allow;
};

/* HostConfig resources in Docker's units. Pointers are borrowed: the job
 * that calls cgroup_create/cgroup_update owns them. Start from
 * CG_LIMITS_INIT (or cgroup_limits_init) so "unset" is right. */
struct cg_limits {
    int64_t memory;             /* bytes; 0 = unset */
    int64_t memory_swap;        /* memory+swap bytes; 0 = unset, -1 = unlimited */
    int64_t memory_reservation; /* bytes; 0 = unset */
    int64_t memory_swappiness;  /* 0-100; -1 = unset (v1 only) */
    bool oom_kill_disable;      /* v1 only */
    int64_t nano_cpus;          /* 1e9 = one CPU; 0 = unset */
    int64_t cpu_shares;         /* 0 = unset */
    int64_t cpu_quota;          /* us; 0 = unset, -1 = unlimited */
    int64_t cpu_period;         /* us; 0 = unset */
    const char *cpuset_cpus;    /* NULL or "" = unset */
    const char *cpuset_mems;
    int64_t pids_limit; /* > 0 limit; 0 or -1 = unlimited ("max" is written) */
    int blkio_weight;   /* 10-1000; 0 = unset */
    const struct cg_throttle *weight_device, *read_bps, *write_bps, *read_iops, *write_iops;
    size_t nweight_device, nread_bps, nwrite_bps, nread_iops, nwrite_iops;
    bool privileged;                   /* devices: allow everything */
    const struct cg_dev_rule *devices; /* extra rules after the defaults */
    size_t ndevices;
};

#define CG_LIMITS_INIT                                                                             \
    {                                                                                              \
        .memory_swappiness = -1                                                                    \
    }
void cgroup_limits_init(struct cg_limits *lim);

/* Non-fatal notes for the client (Docker's "Warnings"). */
#define CG_WARN_MAX 8
struct cg_warnings {
    size_t n;
    char msg[CG_WARN_MAX][256];
};

/* Docker's verifyPlatformContainerResources: 400 with Docker's wording for
 * bad values; features the host lacks are dropped from lim with a warning.
 * On create (update == false) it also applies Docker's default of
 * MemorySwap = 2 * Memory. Pure: no filesystem access (host is enough). */
int cgroup_validate(const struct cg_host *host, struct cg_limits *lim, bool update,
                    struct cg_warnings *warn, struct berr *err);

/* Parses "c 1:3 rwm" / "a" (as --device-cgroup-rule); allow is set true. */
int cgroup_dev_rule_parse(const char *s, struct cg_dev_rule *ret, struct berr *err);

/* v2 cpu.weight for v1 shares, as runc and crun convert (0 stays 0). */
uint64_t cgroup_shares_to_weight(uint64_t shares);

/* ---- one container's cgroup -------------------------------------------- */

/* Everything needed to find a container's cgroup again after a daemon
 * restart is (host, parent, id): cgroup_init() rebuilds this struct. */
struct cgroup {
    int version;
    unsigned mask;         /* v1: controllers with a leaf dir; v2: CG2_* of the host */
    unsigned primary;      /* v1: one controller per distinct hierarchy */
    char rel[CG_PATH_MAX]; /* "<parent>/<id>" under each hierarchy root */
    /* v1: leaf dir per controller ("" when not mounted); v2: dir[0] only. */
    char dir[CG_NCTRL][CG_PATH_MAX];
};

/* Computes the paths, touches nothing. parent NULL or "" means "berth";
 * a leading '/' is allowed, ".." is refused (400). */
int cgroup_init(struct cgroup *cg, const struct cg_host *host, const char *parent, const char *id,
                struct berr *err);

/* Creates the leaf (and parents: v1 cpuset values copied down, v2
 * controllers enabled in each parent's cgroup.subtree_control), writes the
 * device rules and lim. On failure the leaf is removed again. */
int cgroup_create(const struct cgroup *cg, const struct cg_limits *lim, struct cg_warnings *warn,
                  struct berr *err);

/* Writes lim to an existing cgroup (`docker update`): every set value is
 * written, in an order the kernel accepts (memory vs memory+swap). Device
 * rules are left alone. */
int cgroup_update(const struct cgroup *cg, const struct cg_limits *lim, struct cg_warnings *warn,
                  struct berr *err);

/* Moves pid into the cgroup (every v1 hierarchy). */
int cgroup_add_pid(const struct cgroup *cg, pid_t pid, struct berr *err);

/* v2: an O_PATH|O_DIRECTORY|O_CLOEXEC fd of the leaf for clone3's
 * CLONE_INTO_CGROUP (caller closes it). v1: -EOPNOTSUPP. */
int cgroup_leaf_fd(const struct cgroup *cg, struct berr *err);

/* Freezes (pause) or thaws (unpause) every process, waiting up to ~2 s for
 * the kernel to report the new state. */
int cgroup_freeze(const struct cgroup *cg, bool frozen, struct berr *err);

/* SIGKILLs every process in the cgroup (v2 cgroup.kill when the kernel has
 * it) and waits up to ~2 s for cgroup.procs to drain. */
int cgroup_kill_all(const struct cgroup *cg, struct berr *err);

/* Removes the leaf (and any sub-cgroups the container made), retrying
 * briefly on EBUSY. A leaf that is already gone is success. */
int cgroup_remove(const struct cgroup *cg, struct berr *err);

/* PIDs in the cgroup (host pid namespace), for `docker top`. *ret is
 * malloc'ed (may be NULL when n is 0). */
int cgroup_pids(const struct cgroup *cg, pid_t **ret, size_t *ret_n, struct berr *err);

/* An fd that becomes readable when the cgroup hits OOM: v1 an eventfd
 * registered through cgroup.event_control (read 8 bytes to rearm; it also
 * fires once when the cgroup is removed), v2 an inotify fd watching
 * memory.events (drain it). Non-blocking, close-on-exec; caller closes.
 * After a wake-up, compare cgroup_oom_kill_count() with the last value. */
int cgroup_oom_watch_fd(const struct cgroup *cg, struct berr *err);

/* oom_kill counter: v1 memory.oom_control (kernel >= 4.13), v2
 * memory.events. Read it at exit to set State.OOMKilled. */
int cgroup_oom_kill_count(const struct cgroup *cg, uint64_t *ret, struct berr *err);

/* ---- stats (docker stats) ---------------------------------------------- */

#define CG_STAT_MAX   128 /* memory.stat lines (v2 on recent kernels has ~70) */
#define CG_PERCPU_MAX 256
#define CG_BLKIO_MAX  64 /* v1: six lines per device (Read ... Total) */

struct cg_kv {
    char key[48];
    uint64_t value;
};

struct cg_blkio_entry {
    uint32_t major, minor;
    char op[8]; /* "read", "write" (Docker's lower-case v2 names; v1 "Read"...) */
    uint64_t value;
};

struct cg_stats {
    /* failcnt: v1 memory.failcnt, v2 the "oom" count of memory.events (as
     * Docker reports it); max_usage: v1 only */
    uint64_t mem_usage, mem_max_usage, mem_limit, mem_failcnt;
    struct cg_kv mem_stat[CG_STAT_MAX]; /* memory.stat, in file order */
    size_t nmem_stat;
    uint64_t cpu_total_ns, cpu_user_ns, cpu_system_ns; /* container */
    uint64_t percpu_ns[CG_PERCPU_MAX];                 /* v1 only */
    size_t npercpu;
    uint64_t throttled_periods, throttled_ns, nr_periods;
    uint64_t pids_current, pids_limit;      /* limit 0 = unlimited */
    struct cg_blkio_entry io[CG_BLKIO_MAX]; /* bytes (io_service_bytes) */
    size_t nio;
    struct cg_blkio_entry io_ops[CG_BLKIO_MAX]; /* v1 only: operations (io_serviced) */
    size_t nio_ops;
};

/* Reads what the host offers; absent files leave zeros. */
int cgroup_stats(const struct cgroup *cg, struct cg_stats *ret, struct berr *err);

/* Host CPU time in ns (sum of /proc/stat "cpu" line in USER_HZ ticks
 * converted), Docker's system_cpu_usage. proc_stat NULL = "/proc/stat". */
int cgroup_system_cpu_ns(const char *proc_stat, uint64_t *ret, struct berr *err);

#endif
