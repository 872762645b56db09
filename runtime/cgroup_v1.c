/* cgroup v1 backend: one leaf per hierarchy, limits in the per-controller
 * files (memory.limit_in_bytes, cpu.cfs_quota_us, blkio.throttle.*...). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "cgroup_internal.h"

#define HAS(cg, c) ((cg)->mask & (1u << (c)))

/* The hierarchy root of a leaf dir: the leaf minus "/<rel>". */
static void hier_root(const struct cgroup *cg, enum cg_ctrl c, char out[CG_PATH_MAX])
{
    size_t n = strlen(cg->dir[c]) - strlen(cg->rel) - 1;
    memcpy(out, cg->dir[c], n);
    out[n] = '\0';
}

/* A new cpuset cgroup starts with empty cpuset.cpus and cpuset.mems and
 * refuses tasks until both are set: copy each parent's values down the
 * path, top first (a pre-existing "berth" dir may be empty too). */
static int cpuset_copy_down(const struct cgroup *cg, struct berr *err)
{
    static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
    char dir[CG_PATH_MAX];
    hier_root(cg, CG_CPUSET, dir);
    size_t n = strlen(dir);
    for (const char *p = cg->rel; *p;) {
        char parent[CG_PATH_MAX];
        memcpy(parent, dir, n + 1);
        size_t len = strcspn(p, "/");
        snprintf(dir + n, sizeof(dir) - n, "/%.*s", (int)len, p);
        n = strlen(dir);
        p += len + (p[len] == '/');
        for (size_t i = 0; i < 2; i++) {
            char cur[CG_CPULIST_MAX], up[CG_CPULIST_MAX];
            struct berr ignored = {0};
            if (cg__read(dir, files[i], cur, sizeof(cur), &ignored) == 0 && cur[0] != '\n' &&
                cur[0] != '\0')
                continue;
            int r = cg__read(parent, files[i], up, sizeof(up), err);
            if (r == 0)
                r = cg__write(dir, files[i], up, err);
            if (r < 0)
                return r;
        }
    }
    return 0;
}

static int make_dirs(const struct cgroup *cg, struct berr *err)
{
    for (int c = 0; c < CG_NCTRL; c++) {
        if (!(cg->primary & (1u << c)))
            continue;
        char root[CG_PATH_MAX];
        hier_root(cg, c, root);
        int r = cg__mkdir_p(root, cg->dir[c], err);
        if (r < 0)
            return r;
    }
    return HAS(cg, CG_CPUSET) ? cpuset_copy_down(cg, err) : 0;
}

int cg__v1_create(const struct cgroup *cg, const struct cg_limits *lim, struct cg_warnings *w,
                  struct berr *err)
{
    int r = make_dirs(cg, err);
    if (r == 0 && HAS(cg, CG_DEVICES))
        r = cg__v1_devices(cg->dir[CG_DEVICES], lim, err);
    if (r == 0)
        r = cg__v1_apply(cg, lim, w, err);
    return r;
}

/* ---- memory ------------------------------------------------------------ */

static int write_i64(const char *dir, const char *file, int64_t v, struct berr *err)
{
    return cg__writef(err, dir, file, "%" PRId64, v);
}

/* The kernel keeps memsw >= memory at every step: raise memsw first when
 * growing, lower memory first when shrinking (runc's order). */
static int memory_and_swap(const struct cgroup *cg, int64_t mem, int64_t swap, struct berr *err)
{
    const char *dir = cg->dir[CG_MEMORY];
    char root[CG_PATH_MAX];
    hier_root(cg, CG_MEMORY, root);
    if (mem == -1 && swap == 0)
        swap = -1;
    /* Swap accounting is hierarchy-wide: the root tells (swapaccount=1). */
    bool memsw = swap != 0 && cg__exists(root, "memory.memsw.limit_in_bytes");
    bool swap_first = false;
    if (mem != 0 && memsw) {
        uint64_t cur = UINT64_MAX; /* no file yet (fake tree): as a new cgroup */
        int r = cg__read_u64(dir, "memory.limit_in_bytes", &cur, err);
        if (r < 0 && r != -ENOENT)
            return r;
        swap_first = swap == -1 || cur < (uint64_t)swap;
    }
    int r = 0;
    if (swap_first)
        r = write_i64(dir, "memory.memsw.limit_in_bytes", swap, err);
    if (r == 0 && mem != 0)
        r = write_i64(dir, "memory.limit_in_bytes", mem, err);
    if (r == 0 && memsw && !swap_first)
        r = write_i64(dir, "memory.memsw.limit_in_bytes", swap, err);
    return r;
}

static int apply_memory(const struct cgroup *cg, const struct cg_limits *lim, struct berr *err)
{
    const char *dir = cg->dir[CG_MEMORY];
    int r = memory_and_swap(cg, lim->memory, lim->memory_swap, err);
    if (r == 0 && lim->memory_reservation != 0)
        r = write_i64(dir, "memory.soft_limit_in_bytes", lim->memory_reservation, err);
    if (r == 0 && lim->memory_swappiness >= 0)
        r = write_i64(dir, "memory.swappiness", lim->memory_swappiness, err);
    if (r == 0 && lim->oom_kill_disable)
        r = cg__write(dir, "memory.oom_control", "1", err);
    return r;
}

/* ---- cpu, cpuset, pids ------------------------------------------------- */

static int cfs(const char *dir, int64_t quota, int64_t period, struct berr *err)
{
    int r = 0;
    bool retry = false;
    if (period != 0) {
        struct berr e = {0};
        r = write_i64(dir, "cpu.cfs_period_us", period, &e);
        /* A shorter period can fail against the old quota: set the quota
         * first and try the period again. */
        retry = r == -EINVAL && quota != 0;
        if (r < 0 && !retry) {
            *err = e;
            return r;
        }
    }
    if (quota != 0 && (r = write_i64(dir, "cpu.cfs_quota_us", quota, err)) < 0)
        return r;
    return retry ? write_i64(dir, "cpu.cfs_period_us", period, err) : 0;
}

static void cpu_quota_period(const struct cg_limits *lim, int64_t *quota, int64_t *period)
{
    *quota = lim->cpu_quota;
    *period = lim->cpu_period;
    if (lim->nano_cpus > 0) {
        /* Docker: NanoCpus over a 100 ms period. */
        *period = 100000;
        *quota = lim->nano_cpus * 100000 / 1000000000;
    }
}

static int apply_cpu(const char *dir, const struct cg_limits *lim, struct berr *err)
{
    int64_t quota, period;
    cpu_quota_period(lim, &quota, &period);
    int r = 0;
    if (lim->cpu_shares != 0)
        r = write_i64(dir, "cpu.shares", lim->cpu_shares, err);
    return r < 0 ? r : cfs(dir, quota, period, err);
}

static int apply_pids(const char *dir, int64_t limit, struct berr *err)
{
    if (limit > 0)
        return write_i64(dir, "pids.max", limit, err);
    return cg__write(dir, "pids.max", "max", err);
}

/* ---- blkio ------------------------------------------------------------- */

static int dev_lines(const char *dir, const char *file, const struct cg_throttle *t, size_t n,
                     struct berr *err)
{
    for (size_t i = 0; i < n; i++) {
        char dev[32];
        int r = cg__devnum(t[i].path, dev, err);
        if (r == 0)
            r = cg__writef(err, dir, file, "%s %" PRIu64, dev, t[i].rate);
        if (r < 0)
            return r;
    }
    return 0;
}

/* CFQ kernels have blkio.weight, BFQ ones blkio.bfq.weight, mq-deadline
 * neither: only an explicit request for a weight makes that an error. */
static int blkio_weights(const char *dir, const struct cg_limits *lim, struct berr *err)
{
    bool cfq = cg__exists(dir, "blkio.weight");
    bool bfq = !cfq && cg__exists(dir, "blkio.bfq.weight");
    if ((lim->blkio_weight || lim->nweight_device) && !cfq && !bfq)
        return berr_set(err, 400, EOPNOTSUPP,
                        "cgroup: blkio weight is not supported on this host (no blkio.weight or "
                        "blkio.bfq.weight in %s)",
                        dir);
    int r = 0;
    if (lim->blkio_weight)
        r = cg__writef(err, dir, cfq ? "blkio.weight" : "blkio.bfq.weight", "%d",
                       lim->blkio_weight);
    if (r == 0)
        r = dev_lines(dir, cfq ? "blkio.weight_device" : "blkio.bfq.weight_device",
                      lim->weight_device, lim->nweight_device, err);
    return r;
}

static int apply_blkio(const char *dir, const struct cg_limits *lim, struct berr *err)
{
    int r = blkio_weights(dir, lim, err);
    if (r == 0)
        r = dev_lines(dir, "blkio.throttle.read_bps_device", lim->read_bps, lim->nread_bps, err);
    if (r == 0)
        r = dev_lines(dir, "blkio.throttle.write_bps_device", lim->write_bps, lim->nwrite_bps, err);
    if (r == 0)
        r = dev_lines(dir, "blkio.throttle.read_iops_device", lim->read_iops, lim->nread_iops, err);
    if (r == 0)
        r = dev_lines(dir, "blkio.throttle.write_iops_device", lim->write_iops, lim->nwrite_iops,
                      err);
    return r;
}

static bool wants_blkio(const struct cg_limits *lim)
{
    return lim->blkio_weight || lim->nweight_device || lim->nread_bps || lim->nwrite_bps ||
           lim->nread_iops || lim->nwrite_iops;
}

int cg__v1_apply(const struct cgroup *cg, const struct cg_limits *lim, struct cg_warnings *w,
                 struct berr *err)
{
    (void)w; /* v1 supports every limit; validation warned about the rest */
    int r = 0;
    if (HAS(cg, CG_MEMORY))
        r = apply_memory(cg, lim, err);
    if (r == 0 && HAS(cg, CG_CPU))
        r = apply_cpu(cg->dir[CG_CPU], lim, err);
    if (r == 0 && HAS(cg, CG_CPUSET))
        r = cg__apply_cpuset(cg->dir[CG_CPUSET], lim, err);
    if (r == 0 && HAS(cg, CG_PIDS))
        r = apply_pids(cg->dir[CG_PIDS], lim->pids_limit, err);
    if (r == 0 && wants_blkio(lim)) {
        if (!HAS(cg, CG_BLKIO))
            return berr_set(err, 400, EOPNOTSUPP, "cgroup: blkio controller is not mounted");
        r = apply_blkio(cg->dir[CG_BLKIO], lim, err);
    }
    return r;
}

/* ---- freezer, kill, oom ------------------------------------------------ */

int cg__v1_freeze(const struct cgroup *cg, bool frozen, struct berr *err)
{
    if (!HAS(cg, CG_FREEZER))
        return berr_set(err, 500, EOPNOTSUPP, "cgroup: freezer controller is not mounted");
    const char *dir = cg->dir[CG_FREEZER];
    const char *want = frozen ? "FROZEN" : "THAWED";
    for (int i = 0; i < 200; i++) {
        /* Rewriting FROZEN retries tasks that were busy (FREEZING). */
        char state[32];
        int r = cg__write(dir, "freezer.state", want, err);
        if (r == 0)
            r = cg__read(dir, "freezer.state", state, sizeof(state), err);
        if (r < 0)
            return r;
        if (strncmp(state, want, strlen(want)) == 0)
            return 0;
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return berr_set(err, 500, ETIMEDOUT, "cgroup: %s: freezer did not reach %s", dir, want);
}

const char *cg__v1_procs_dir(const struct cgroup *cg)
{
    static const enum cg_ctrl order[] = {CG_PIDS,    CG_FREEZER, CG_MEMORY,  CG_CPU,
                                         CG_CPUACCT, CG_CPUSET,  CG_DEVICES, CG_BLKIO};
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
        if (HAS(cg, order[i]))
            return cg->dir[order[i]];
    return NULL;
}

int cg__v1_kill_all(const struct cgroup *cg, struct berr *err)
{
    const char *dir = cg__v1_procs_dir(cg);
    if (!dir)
        return berr_set(err, 500, ENOENT, "cgroup: no hierarchy to kill processes in");
    /* Usually the container's init has exited and taken the rest with it
     * (pid namespace): an empty cgroup stays empty, skip the freeze. */
    struct berr ignored = {0};
    pid_t *left = NULL;
    size_t nleft = 1;
    if (cg__read_pids(dir, &left, &nleft, &ignored) == 0 && nleft == 0) {
        free(left);
        return 0;
    }
    free(left);
    /* Frozen, nothing can fork between reading the list and the kills;
     * SIGKILL is delivered on thaw. */
    if (HAS(cg, CG_FREEZER) && cg__v1_freeze(cg, true, &ignored) == 0) {
        pid_t *pids = NULL;
        size_t n = 0;
        if (cg__read_pids(dir, &pids, &n, &ignored) == 0)
            for (size_t i = 0; i < n; i++)
                kill(pids[i], SIGKILL);
        free(pids);
        cg__v1_freeze(cg, false, &ignored);
    }
    return cg__kill_loop(dir, err);
}

int cg__v1_oom_watch_fd(const struct cgroup *cg, struct berr *err)
{
    if (!HAS(cg, CG_MEMORY))
        return berr_set(err, 500, EOPNOTSUPP, "cgroup: memory controller is not mounted");
    const char *dir = cg->dir[CG_MEMORY];
    char path[CG_PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/memory.oom_control", dir);
    int cfd = open(path, O_RDONLY | O_CLOEXEC);
    if (cfd < 0)
        return berr_errno(err, 500, errno, "cgroup: open %s", path);
    int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (efd < 0) {
        int e = errno;
        close(cfd);
        return berr_errno(err, 500, e, "cgroup: eventfd");
    }
    /* The kernel holds its own references once registered. */
    int r = cg__writef(err, dir, "cgroup.event_control", "%d %d", efd, cfd);
    close(cfd);
    if (r < 0) {
        close(efd);
        return r;
    }
    return efd;
}
