/* Docker's checks on HostConfig resources before anything is created
 * (moby's verifyPlatformContainerResources and adaptContainerSettings),
 * with Docker's wording so clients and tests see the same errors. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup_internal.h"

#define MIN_MEMORY     6291456 /* 6 MiB: room for the runtime's own startup */
#define MIN_CPU_SHARES 2
#define MAX_CPU_SHARES 262144
/* Docker accepts CPU and node numbers up to 8192 (sysinfo's maxCPUs). */
#define LIST_MAX  8192
#define LIST_BITS (LIST_MAX + 64)

uint64_t cgroup_shares_to_weight(uint64_t shares)
{
    if (shares == 0)
        return 0;
    if (shares < MIN_CPU_SHARES)
        shares = MIN_CPU_SHARES;
    return 1 + ((shares - 2) * 9999) / 262142;
}

/* "0-3,5" into a bitmap; -ERANGE past LIST_MAX, -EINVAL on anything else
 * (Docker's ParseUintListMaximum). */
static int parse_list(const char *s, uint64_t bits[LIST_BITS / 64])
{
    memset(bits, 0, LIST_BITS / 8);
    const char *p = s;
    do {
        char *end;
        unsigned long a = strtoul(p, &end, 10), b;
        if (end == p || *p == '-' || *p == '+')
            return -EINVAL;
        b = a;
        if (*end == '-') {
            p = end + 1;
            b = strtoul(p, &end, 10);
            if (end == p || *p == '-' || *p == '+' || b < a)
                return -EINVAL;
        }
        if (a > LIST_MAX || b > LIST_MAX)
            return -ERANGE;
        for (unsigned long i = a; i <= b; i++)
            bits[i / 64] |= 1ull << (i % 64);
        p = end;
    } while (*p == ',' && *++p);
    return *p ? -EINVAL : 0;
}

static bool list_subset(const uint64_t *want, const uint64_t *have)
{
    for (size_t i = 0; i < LIST_BITS / 64; i++)
        if (want[i] & ~have[i])
            return false;
    return true;
}

/* Requested list must be well-formed and, when the host's list is known,
 * a subset of it. */
static int check_list(const char *req, const char *avail, const char *what, const char *label,
                      struct berr *err)
{
    uint64_t want[LIST_BITS / 64], have[LIST_BITS / 64];
    if (!req || !*req)
        return 0;
    int r = parse_list(req, want);
    if (r == -ERANGE)
        return berr_set(err, 400, EINVAL,
                        "Invalid value %s for cpuset %s: value of out range, maximum is %d", req,
                        what, LIST_MAX);
    if (r < 0)
        return berr_set(err, 400, EINVAL, "Invalid value %s for cpuset %s: invalid format: %s", req,
                        what, req);
    if (!*avail || parse_list(avail, have) < 0)
        return 0;
    if (!list_subset(want, have))
        return berr_set(err, 400, EINVAL,
                        "Requested %s are not available - requested %s, "
                        "available: %s",
                        label, req, avail);
    return 0;
}

static int memory_checks(const struct cg_host *h, struct cg_limits *l, bool update,
                         struct cg_warnings *w, struct berr *err)
{
    if (l->memory != 0 && l->memory < MIN_MEMORY)
        return berr_set(err, 400, EINVAL, "Minimum memory limit allowed is 6MB");
    if (l->memory > 0 && !h->memory) {
        cg__warn(w, "Your kernel does not support memory limit capabilities or the cgroup is "
                    "not mounted. Limitation discarded.");
        l->memory = 0;
        l->memory_swap = -1;
    }
    if (l->memory > 0 && l->memory_swap != -1 && !h->swap) {
        cg__warn(w, "Your kernel does not support swap limit capabilities or the cgroup is not "
                    "mounted. Memory limited without swap.");
        l->memory_swap = -1;
    }
    if (l->memory > 0 && l->memory_swap > 0 && l->memory_swap < l->memory)
        return berr_set(err, 400, EINVAL,
                        "Minimum memoryswap limit should be larger than memory limit, see usage");
    if (l->memory == 0 && l->memory_swap > 0 && !update)
        return berr_set(err, 400, EINVAL,
                        "You should always set the Memory limit when using "
                        "Memoryswap limit, see usage");
    return 0;
}

static int memory_checks2(const struct cg_host *h, struct cg_limits *l, struct cg_warnings *w,
                          struct berr *err)
{
    if (l->memory_swappiness != -1 && !h->swappiness) {
        cg__warn(w, "Your kernel does not support memory swappiness capabilities or the cgroup "
                    "is not mounted. Memory swappiness discarded.");
        l->memory_swappiness = -1;
    }
    if (l->memory_swappiness != -1 && (l->memory_swappiness < 0 || l->memory_swappiness > 100))
        return berr_set(err, 400, EINVAL,
                        "Invalid value: %" PRId64 ", valid memory swappiness range is 0-100",
                        l->memory_swappiness);
    if (l->memory_reservation > 0 && !h->memory) {
        cg__warn(w, "Your kernel does not support memory soft limit capabilities or the cgroup "
                    "is not mounted. Limitation discarded.");
        l->memory_reservation = 0;
    }
    if (l->memory_reservation != 0 && l->memory_reservation < MIN_MEMORY)
        return berr_set(err, 400, EINVAL, "Minimum memory reservation allowed is 6MB");
    if (l->memory > 0 && l->memory_reservation > 0 && l->memory < l->memory_reservation)
        return berr_set(err, 400, EINVAL,
                        "Minimum memory limit can not be less than memory "
                        "reservation limit, see usage");
    return 0;
}

static void oom_pids_checks(const struct cg_host *h, struct cg_limits *l, struct cg_warnings *w)
{
    if (l->oom_kill_disable && !h->oom_kill_disable) {
        cg__warn(w, "Your kernel does not support OomKillDisable. OomKillDisable discarded.");
        l->oom_kill_disable = false;
    }
    if (l->oom_kill_disable && l->memory == 0)
        cg__warn(w, "OOM killer is disabled for the container, but no memory limit is set, this "
                    "can result in the system running out of resources.");
    if (l->pids_limit > 0 && !h->pids) {
        cg__warn(w, "Your kernel does not support PIDs limit capabilities or the cgroup is not "
                    "mounted. PIDs limit discarded.");
        l->pids_limit = 0;
    }
}

static int cpu_checks(const struct cg_host *h, struct cg_limits *l, struct cg_warnings *w,
                      struct berr *err)
{
    if (l->nano_cpus > 0 && l->cpu_period > 0)
        return berr_set(err, 400, EINVAL,
                        "Conflicting options: Nano CPUs and CPU Period cannot both be set");
    if (l->nano_cpus > 0 && l->cpu_quota > 0)
        return berr_set(err, 400, EINVAL,
                        "Conflicting options: Nano CPUs and CPU Quota cannot both be set");
    if (l->nano_cpus > 0 && !h->cpu_cfs)
        return berr_set(err, 400, EINVAL,
                        "NanoCPUs can not be set, as your kernel does not "
                        "support CPU CFS scheduler or the cgroup is not mounted");
    if (l->nano_cpus < 0 || l->nano_cpus > (int64_t)h->ncpu * 1000000000)
        return berr_set(err, 400, EINVAL,
                        "Range of CPUs is from 0.01 to %d.00, as there are only %d CPUs available",
                        h->ncpu, h->ncpu);
    if (l->cpu_shares > 0 && !h->cpu_shares) {
        cg__warn(w, "Your kernel does not support CPU shares or the cgroup is not mounted. "
                    "Shares discarded.");
        l->cpu_shares = 0;
    }
    if ((l->cpu_period != 0 || l->cpu_quota != 0) && !h->cpu_cfs) {
        cg__warn(w, "Your kernel does not support CPU CFS scheduler. CPU period/quota discarded.");
        l->cpu_period = l->cpu_quota = 0;
    }
    if (l->cpu_period != 0 && (l->cpu_period < 1000 || l->cpu_period > 1000000))
        return berr_set(err, 400, EINVAL,
                        "CPU cfs period can not be less than 1ms (i.e. 1000) "
                        "or larger than 1s (i.e. 1000000)");
    if (l->cpu_quota > 0 && l->cpu_quota < 1000)
        return berr_set(err, 400, EINVAL, "CPU cfs quota can not be less than 1ms (i.e. 1000)");
    return 0;
}

static int cpuset_checks(const struct cg_host *h, struct cg_limits *l, struct cg_warnings *w,
                         struct berr *err)
{
    bool asked = (l->cpuset_cpus && *l->cpuset_cpus) || (l->cpuset_mems && *l->cpuset_mems);
    if (asked && !h->cpuset) {
        cg__warn(w, "Your kernel does not support cpuset or the cgroup is not mounted. Cpuset "
                    "discarded.");
        l->cpuset_cpus = l->cpuset_mems = NULL;
    }
    int r = check_list(l->cpuset_cpus, h->cpus, "cpus", "CPUs", err);
    return r < 0 ? r : check_list(l->cpuset_mems, h->mems, "mems", "memory nodes", err);
}

static int blkio_checks(const struct cg_host *h, struct cg_limits *l, struct cg_warnings *w,
                        struct berr *err)
{
    if (l->blkio_weight > 0 && !h->blkio_weight) {
        cg__warn(w, "Your kernel does not support Block I/O weight or the cgroup is not mounted. "
                    "Weight discarded.");
        l->blkio_weight = 0;
    }
    if (l->blkio_weight != 0 && (l->blkio_weight < 10 || l->blkio_weight > 1000))
        return berr_set(err, 400, EINVAL, "Range of blkio weight is from 10 to 1000");
    for (size_t i = 0; i < l->nweight_device; i++)
        if (l->weight_device[i].rate < 10 || l->weight_device[i].rate > 1000)
            return berr_set(err, 400, EINVAL, "Range of blkio weight is from 10 to 1000");
    if (l->nweight_device && !h->blkio_weight) {
        cg__warn(w, "Your kernel does not support Block I/O weight_device or the cgroup is not "
                    "mounted. Weight-device discarded.");
        l->nweight_device = 0;
    }
    if ((l->nread_bps || l->nwrite_bps || l->nread_iops || l->nwrite_iops) && !h->blkio_throttle) {
        cg__warn(w, "Your kernel does not support Block I/O throttling or the cgroup is not "
                    "mounted. Block I/O limits discarded.");
        l->nread_bps = l->nwrite_bps = l->nread_iops = l->nwrite_iops = 0;
    }
    return 0;
}

/* adaptContainerSettings: Docker's create-time defaults. */
static void adapt(struct cg_limits *l)
{
    if (l->cpu_shares > 0 && l->cpu_shares < MIN_CPU_SHARES)
        l->cpu_shares = MIN_CPU_SHARES;
    else if (l->cpu_shares > MAX_CPU_SHARES)
        l->cpu_shares = MAX_CPU_SHARES;
    if (l->memory > 0 && l->memory_swap == 0)
        l->memory_swap = l->memory * 2; /* Docker's default: as much swap as memory */
}

int cgroup_validate(const struct cg_host *host, struct cg_limits *lim, bool update,
                    struct cg_warnings *warn, struct berr *err)
{
    if (!update)
        adapt(lim);
    int r = memory_checks(host, lim, update, warn, err);
    if (r == 0)
        r = memory_checks2(host, lim, warn, err);
    if (r == 0) {
        oom_pids_checks(host, lim, warn);
        r = cpu_checks(host, lim, warn, err);
    }
    if (r == 0)
        r = cpuset_checks(host, lim, warn, err);
    if (r == 0)
        r = blkio_checks(host, lim, warn, err);
    return r;
}
