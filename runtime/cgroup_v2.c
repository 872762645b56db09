/* cgroup v2 backend: one leaf in the unified tree; controllers are enabled
 * top-down in each ancestor's cgroup.subtree_control. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "cgroup_internal.h"
#include "common/macros.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

static const struct {
    unsigned bit;
    const char *name;
} ctrl_names[] = {
    {CG2_CPU, "cpu"},       {CG2_CPUSET, "cpuset"}, {CG2_IO, "io"},
    {CG2_MEMORY, "memory"}, {CG2_PIDS, "pids"},     {CG2_HUGETLB, "hugetlb"},
};

/* One write enables every controller; if the kernel refuses one (say the
 * cpu controller with realtime tasks around), enable them one by one and
 * let a limit that needs a missing controller fail on its own file. */
static int enable_controllers(const char *dir, unsigned mask, struct berr *err)
{
    char all[128] = "";
    size_t n = 0;
    for (size_t i = 0; i < ARRAY_SIZE(ctrl_names); i++)
        if (mask & ctrl_names[i].bit)
            n += (size_t)snprintf(all + n, sizeof(all) - n, "%s+%s", n ? " " : "",
                                  ctrl_names[i].name);
    if (!n)
        return 0;
    struct berr e = {0};
    if (cg__write(dir, "cgroup.subtree_control", all, &e) == 0)
        return 0;
    for (size_t i = 0; i < ARRAY_SIZE(ctrl_names); i++) {
        if (!(mask & ctrl_names[i].bit))
            continue;
        struct berr ignored = {0};
        cg__writef(&ignored, dir, "cgroup.subtree_control", "+%s", ctrl_names[i].name);
    }
    (void)err;
    return 0;
}

/* Walks root -> leaf: enable controllers in each ancestor, then mkdir the
 * next level (a child only sees what its parent delegates). */
static int make_path(const struct cgroup *cg, struct berr *err)
{
    char dir[CG_PATH_MAX];
    size_t n = strlen(cg->dir[0]) - strlen(cg->rel) - 1;
    memcpy(dir, cg->dir[0], n);
    dir[n] = '\0';
    for (const char *p = cg->rel; *p;) {
        int r = enable_controllers(dir, cg->mask, err);
        size_t len = strcspn(p, "/");
        snprintf(dir + n, sizeof(dir) - n, "/%.*s", (int)len, p);
        n = strlen(dir);
        p += len + (p[len] == '/');
        if (r == 0 && mkdir(dir, 0755) < 0 && errno != EEXIST)
            r = berr_errno(err, 500, errno, "cgroup: mkdir %s", dir);
        if (r < 0)
            return r;
    }
    return 0;
}

static bool on_cgroup2(const char *dir)
{
    struct statfs sf;
    return statfs(dir, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
}

int cg__v2_create(const struct cgroup *cg, const struct cg_limits *lim, struct cg_warnings *w,
                  struct berr *err)
{
    int r = make_path(cg, err);
    if (r < 0)
        return r;
    if (on_cgroup2(cg->dir[0]))
        r = cg__v2_devices(cg->dir[0], lim, err);
    else
        cg__warn(w, "%s is not on cgroup2: device rules not applied", cg->dir[0]);
    return r < 0 ? r : cg__v2_apply(cg, lim, w, err);
}

/* ---- memory ------------------------------------------------------------ */

static int write_max(const char *dir, const char *file, int64_t v, struct berr *err)
{
    if (v < 0)
        return cg__write(dir, file, "max", err);
    return cg__writef(err, dir, file, "%" PRId64, v);
}

/* Docker's MemorySwap is memory+swap; v2's memory.swap.max is swap alone. */
static int swap_max(const char *dir, int64_t mem, int64_t swap, struct cg_warnings *w,
                    struct berr *err)
{
    if (swap == 0 && mem != -1)
        return 0;
    int64_t v = swap;
    if (swap > 0 && mem > 0)
        v = swap - mem;
    else if (swap > 0 || mem == -1)
        v = -1; /* no memory limit to subtract from: leave swap unlimited */
    if (v < -1)
        return berr_set(err, 400, EINVAL,
                        "Minimum memoryswap limit should be larger than "
                        "memory limit, see usage");
    struct berr e = {0};
    int r = write_max(dir, "memory.swap.max", v, &e);
    if (r == -ENOENT) {
        cg__warn(w, "Your kernel does not support swap limit capabilities or the cgroup is not "
                    "mounted. Memory limited without swap.");
        return 0;
    }
    if (r < 0)
        *err = e;
    return r;
}

static int apply_memory(const char *dir, const struct cg_limits *lim, struct cg_warnings *w,
                        struct berr *err)
{
    int r = 0;
    if (lim->memory != 0)
        r = write_max(dir, "memory.max", lim->memory, err);
    if (r == 0)
        r = swap_max(dir, lim->memory, lim->memory_swap, w, err);
    if (r == 0 && lim->memory_reservation != 0)
        r = write_max(dir, "memory.low", lim->memory_reservation, err);
    if (lim->memory_swappiness >= 0)
        cg__warn(w, "memory swappiness is not supported on cgroup v2, ignoring");
    if (lim->oom_kill_disable)
        cg__warn(w, "OomKillDisable is not supported on cgroup v2, ignoring");
    return r;
}

/* ---- cpu, cpuset, pids ------------------------------------------------- */

static int apply_cpu(const char *dir, const struct cg_limits *lim, struct berr *err)
{
    int r = 0;
    if (lim->cpu_shares != 0)
        r = cg__writef(err, dir, "cpu.weight", "%" PRIu64,
                       cgroup_shares_to_weight((uint64_t)lim->cpu_shares));
    int64_t quota = lim->cpu_quota, period = lim->cpu_period;
    if (lim->nano_cpus > 0) {
        period = 100000;
        quota = lim->nano_cpus * 100000 / 1000000000;
    }
    if (r < 0 || (quota == 0 && period == 0))
        return r;
    char q[32] = "max";
    if (quota > 0)
        snprintf(q, sizeof(q), "%" PRId64, quota);
    /* Without a period the kernel keeps the current one. */
    if (period == 0)
        return cg__write(dir, "cpu.max", q, err);
    return cg__writef(err, dir, "cpu.max", "%s %" PRId64, q, period);
}

/* ---- io ---------------------------------------------------------------- */

/* blkio weight 10-1000 onto io.weight 1-10000 (runc's mapping). */
static uint64_t io_weight(uint64_t w)
{
    return 1 + (w - 10) * 9999 / 990;
}

static int io_weights(const char *dir, const struct cg_limits *lim, struct berr *err)
{
    if (!lim->blkio_weight && !lim->nweight_device)
        return 0;
    /* BFQ takes the blkio scale as is; io.weight (iocost) its own. */
    bool bfq = cg__exists(dir, "io.bfq.weight");
    const char *file = bfq ? "io.bfq.weight" : "io.weight";
    int r = 0;
    if (lim->blkio_weight) {
        uint64_t w = (uint64_t)lim->blkio_weight;
        r = bfq ? cg__writef(err, dir, file, "%" PRIu64, w)
                : cg__writef(err, dir, file, "default %" PRIu64, io_weight(w));
    }
    for (size_t i = 0; r == 0 && i < lim->nweight_device; i++) {
        char dev[32];
        uint64_t w = lim->weight_device[i].rate;
        r = cg__devnum(lim->weight_device[i].path, dev, err);
        if (r == 0)
            r = cg__writef(err, dir, file, "%s %" PRIu64, dev, bfq ? w : io_weight(w));
    }
    return r;
}

static bool wants(const struct cg_limits *l, unsigned bit)
{
    switch (bit) {
    case CG2_MEMORY:
        return l->memory > 0 || l->memory_swap > 0 || l->memory_reservation > 0;
    case CG2_CPU:
        return l->cpu_shares || l->cpu_quota || l->cpu_period || l->nano_cpus;
    case CG2_CPUSET:
        return (l->cpuset_cpus && *l->cpuset_cpus) || (l->cpuset_mems && *l->cpuset_mems);
    case CG2_PIDS:
        return l->pids_limit > 0;
    default:
        return l->blkio_weight || l->nweight_device || l->nread_bps || l->nwrite_bps ||
               l->nread_iops || l->nwrite_iops;
    }
}

/* A controller the host does not delegate: validation has already warned
 * and dropped such limits, so only say so again. */
static bool usable(const struct cgroup *cg, const struct cg_limits *l, unsigned bit,
                   const char *name, struct cg_warnings *w)
{
    if (cg->mask & bit)
        return true;
    if (wants(l, bit))
        cg__warn(w, "cgroup v2 controller '%s' is not available, its limits are ignored", name);
    return false;
}

int cg__v2_apply(const struct cgroup *cg, const struct cg_limits *lim, struct cg_warnings *w,
                 struct berr *err)
{
    const char *dir = cg->dir[0];
    int r = 0;
    if (usable(cg, lim, CG2_MEMORY, "memory", w))
        r = apply_memory(dir, lim, w, err);
    if (r == 0 && usable(cg, lim, CG2_CPU, "cpu", w))
        r = apply_cpu(dir, lim, err);
    if (r == 0 && usable(cg, lim, CG2_CPUSET, "cpuset", w))
        r = cg__apply_cpuset(dir, lim, err);
    if (r == 0 && usable(cg, lim, CG2_PIDS, "pids", w))
        r = write_max(dir, "pids.max", lim->pids_limit > 0 ? lim->pids_limit : -1, err);
    if (r == 0 && usable(cg, lim, CG2_IO, "io", w)) {
        r = io_weights(dir, lim, err);
        if (r == 0)
            r = cg__v2_io_max(dir, lim, err);
    }
    return r;
}

/* ---- freeze, kill, oom ------------------------------------------------- */

int cg__v2_freeze(const struct cgroup *cg, bool frozen, struct berr *err)
{
    int r = cg__write(cg->dir[0], "cgroup.freeze", frozen ? "1" : "0", err);
    if (r < 0)
        return r;
    return cg__wait_key(cg->dir[0], "cgroup.events", "frozen", frozen ? 1 : 0, err);
}

int cg__v2_kill_all(const struct cgroup *cg, struct berr *err)
{
    const char *dir = cg->dir[0];
    /* cgroup.kill (5.14+) kills atomically, forks in flight included. */
    if (cg__exists(dir, "cgroup.kill")) {
        int r = cg__write(dir, "cgroup.kill", "1", err);
        if (r == 0)
            r = cg__wait_key(dir, "cgroup.events", "populated", 0, err);
        if (r < 0)
            return r;
    }
    return cg__kill_loop(dir, err);
}

int cg__v2_oom_watch_fd(const struct cgroup *cg, struct berr *err)
{
    char path[CG_PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/memory.events", cg->dir[0]);
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0)
        return berr_errno(err, 500, errno, "cgroup: inotify_init1");
    /* The kernel signals IN_MODIFY on memory.events when a counter moves. */
    if (inotify_add_watch(fd, path, IN_MODIFY) < 0) {
        int e = errno;
        close(fd);
        return berr_errno(err, 500, e, "cgroup: watch %s", path);
    }
    return fd;
}

/* ---- io.max ------------------------------------------------------------ */

struct io_dev {
    char num[32];
    uint64_t v[4]; /* rbps wbps riops wiops */
    unsigned set;
};

static int io_collect(struct io_dev *devs, size_t *n, const struct cg_throttle *t, size_t nt,
                      int key, struct berr *err)
{
    for (size_t i = 0; i < nt; i++) {
        char num[32];
        int r = cg__devnum(t[i].path, num, err);
        if (r < 0)
            return r;
        size_t j = 0;
        while (j < *n && strcmp(devs[j].num, num) != 0)
            j++;
        if (j == *n) {
            memset(&devs[j], 0, sizeof(devs[j]));
            memcpy(devs[j].num, num, sizeof(num));
            (*n)++;
        }
        devs[j].v[key] = t[i].rate;
        devs[j].set |= 1u << key;
    }
    return 0;
}

static int io_write(const char *dir, const struct io_dev *d, struct berr *err)
{
    static const char *const keys[4] = {"rbps", "wbps", "riops", "wiops"};
    char line[256];
    size_t n = (size_t)snprintf(line, sizeof(line), "%s", d->num);
    for (int k = 0; k < 4; k++)
        if (d->set & (1u << k))
            n += (size_t)snprintf(line + n, sizeof(line) - n, " %s=%" PRIu64, keys[k], d->v[k]);
    return cg__write(dir, "io.max", line, err);
}

/* One "MAJ:MIN rbps=N wbps=N riops=N wiops=N" line per device (only the
 * keys that were asked for; the kernel keeps the others). */
int cg__v2_io_max(const char *dir, const struct cg_limits *lim, struct berr *err)
{
    size_t total = lim->nread_bps + lim->nwrite_bps + lim->nread_iops + lim->nwrite_iops;
    if (!total)
        return 0;
    struct io_dev *devs = calloc(total, sizeof(*devs));
    if (!devs)
        return berr_set(err, 500, ENOMEM, "out of memory");
    size_t n = 0;
    int r = io_collect(devs, &n, lim->read_bps, lim->nread_bps, 0, err);
    if (r == 0)
        r = io_collect(devs, &n, lim->write_bps, lim->nwrite_bps, 1, err);
    if (r == 0)
        r = io_collect(devs, &n, lim->read_iops, lim->nread_iops, 2, err);
    if (r == 0)
        r = io_collect(devs, &n, lim->write_iops, lim->nwrite_iops, 3, err);
    for (size_t i = 0; r == 0 && i < n; i++)
        r = io_write(dir, &devs[i], err);
    free(devs);
    return r;
}
