/* Host detection, per-container paths, and the operations that are the same
 * shape on both versions (dispatch to cgroup_v1.c / cgroup_v2.c). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup_internal.h"
#include "common/macros.h"

static const char *const v1_names[CG_NCTRL] = {
    [CG_CPU] = "cpu",       [CG_CPUACCT] = "cpuacct", [CG_CPUSET] = "cpuset",
    [CG_MEMORY] = "memory", [CG_DEVICES] = "devices", [CG_FREEZER] = "freezer",
    [CG_BLKIO] = "blkio",   [CG_PIDS] = "pids",
};

static const struct {
    const char *name;
    unsigned bit;
} v2_names[] = {
    {"cpu", CG2_CPU},       {"cpuset", CG2_CPUSET}, {"io", CG2_IO},
    {"memory", CG2_MEMORY}, {"pids", CG2_PIDS},     {"hugetlb", CG2_HUGETLB},
};

const char *cgroup_v1_name(enum cg_ctrl c)
{
    return v1_names[c];
}

static int v1_index(const char *name, size_t len)
{
    for (int c = 0; c < CG_NCTRL; c++)
        if (strlen(v1_names[c]) == len && strncmp(v1_names[c], name, len) == 0)
            return c;
    return -1;
}

/* A mount dir named "cpu,cpuacct" serves both controllers. */
static void v1_claim(struct cg_host *h, const char *entry)
{
    for (const char *p = entry; *p;) {
        size_t len = strcspn(p, ",");
        int c = v1_index(p, len);
        if (c >= 0 && !(h->v1_mask & (1u << c))) {
            int n = snprintf(h->v1_dir[c], sizeof(h->v1_dir[c]), "%s/%s", h->root, entry);
            if (n > 0 && (size_t)n < sizeof(h->v1_dir[c]))
                h->v1_mask |= 1u << c;
        }
        p += len + (p[len] == ',');
    }
}

/* Co-mounted controllers share a hierarchy: mkdir, cgroup.procs and rmdir
 * must happen once per hierarchy, so mark one controller of each. */
static void v1_primaries(struct cg_host *h)
{
    struct stat st[CG_NCTRL];
    for (int c = 0; c < CG_NCTRL; c++) {
        if (!(h->v1_mask & (1u << c)) || stat(h->v1_dir[c], &st[c]) < 0)
            continue;
        bool dup = false;
        for (int o = 0; o < c && !dup; o++)
            dup = (h->v1_primary & (1u << o)) && st[o].st_dev == st[c].st_dev &&
                  st[o].st_ino == st[c].st_ino;
        if (!dup)
            h->v1_primary |= 1u << c;
    }
}

static int v1_scan(struct cg_host *h, struct berr *err)
{
    DIR *d = opendir(h->root);
    if (!d)
        return berr_errno(err, 500, errno, "cgroup: open %s", h->root);
    struct dirent *de;
    while ((de = readdir(d))) {
        struct stat st;
        char path[CG_PATH_MAX + 256];
        snprintf(path, sizeof(path), "%s/%s", h->root, de->d_name);
        if (de->d_name[0] != '.' && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            v1_claim(h, de->d_name);
    }
    closedir(d);
    v1_primaries(h);
    if (!h->v1_mask)
        return berr_set(err, 500, ENOENT, "cgroup: no cgroup v1 controllers under %s", h->root);
    return 0;
}

static bool v1_has(const struct cg_host *h, enum cg_ctrl c, const char *file)
{
    return (h->v1_mask & (1u << c)) && (!file || cg__exists(h->v1_dir[c], file));
}

static void v1_features(struct cg_host *h)
{
    h->memory = v1_has(h, CG_MEMORY, "memory.limit_in_bytes");
    h->swap = v1_has(h, CG_MEMORY, "memory.memsw.limit_in_bytes");
    h->swappiness = v1_has(h, CG_MEMORY, "memory.swappiness");
    h->oom_kill_disable = v1_has(h, CG_MEMORY, "memory.oom_control");
    h->cpu_cfs = v1_has(h, CG_CPU, "cpu.cfs_quota_us");
    h->cpu_shares = v1_has(h, CG_CPU, "cpu.shares");
    h->cpuset = v1_has(h, CG_CPUSET, NULL);
    h->pids = v1_has(h, CG_PIDS, NULL);
    /* BFQ's weight file exists in child cgroups only; its stats file at
     * the root shows the policy is there. */
    h->blkio_weight = v1_has(h, CG_BLKIO, "blkio.weight") ||
                      v1_has(h, CG_BLKIO, "blkio.bfq.weight") ||
                      v1_has(h, CG_BLKIO, "blkio.bfq.io_service_bytes");
    h->blkio_throttle = v1_has(h, CG_BLKIO, "blkio.throttle.read_bps_device");
    h->freezer = v1_has(h, CG_FREEZER, NULL);
}

static void v2_features(struct cg_host *h, const char *controllers)
{
    for (const char *p = controllers; *p;) {
        p += strspn(p, " \n");
        size_t len = strcspn(p, " \n");
        for (size_t i = 0; i < ARRAY_SIZE(v2_names); i++)
            if (strlen(v2_names[i].name) == len && strncmp(v2_names[i].name, p, len) == 0)
                h->v2_mask |= v2_names[i].bit;
        p += len;
    }
    h->memory = h->swap = h->v2_mask & CG2_MEMORY;
    h->cpu_cfs = h->cpu_shares = h->v2_mask & CG2_CPU;
    h->cpuset = h->v2_mask & CG2_CPUSET;
    h->pids = h->v2_mask & CG2_PIDS;
    h->blkio_weight = h->blkio_throttle = h->v2_mask & CG2_IO;
    h->freezer = true; /* cgroup.freeze is core v2 (no controller) */
}

static void strip_nl(char *s)
{
    s[strcspn(s, "\n")] = '\0';
}

static void cpu_facts(struct cg_host *h)
{
    cpu_set_t set;
    h->ncpu = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 1;
    struct berr ignored = {0};
    const char *dir = h->version == 2 ? h->root : h->v1_dir[CG_CPUSET];
    bool v2 = h->version == 2;
    if (!*dir)
        return;
    if (cg__read(dir, v2 ? "cpuset.cpus.effective" : "cpuset.cpus", h->cpus, sizeof(h->cpus),
                 &ignored) < 0)
        h->cpus[0] = '\0';
    if (cg__read(dir, v2 ? "cpuset.mems.effective" : "cpuset.mems", h->mems, sizeof(h->mems),
                 &ignored) < 0)
        h->mems[0] = '\0';
    strip_nl(h->cpus);
    strip_nl(h->mems);
}

int cgroup_detect(const char *mount_root, struct cg_host *ret, struct berr *err)
{
    memset(ret, 0, sizeof(*ret));
    size_t len = strlen(mount_root);
    while (len > 1 && mount_root[len - 1] == '/')
        len--;
    if (len >= sizeof(ret->root))
        return berr_set(err, 500, ENAMETOOLONG, "cgroup: mount root too long");
    memcpy(ret->root, mount_root, len);
    char controllers[512];
    struct berr ignored = {0};
    if (cg__read(ret->root, "cgroup.controllers", controllers, sizeof(controllers), &ignored) ==
        0) {
        ret->version = 2;
        v2_features(ret, controllers);
    } else {
        ret->version = 1;
        int r = v1_scan(ret, err);
        if (r < 0)
            return r;
        v1_features(ret);
    }
    cpu_facts(ret);
    return 0;
}

/* ---- paths ------------------------------------------------------------- */

static bool bad_component(const char *p, size_t len)
{
    return (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.');
}

/* "/a/b/" -> "a/b"; refuses ".." and "." so a parent never escapes the
 * hierarchy. */
static int norm_parent(const char *parent, char *out, size_t size, struct berr *err)
{
    size_t n = 0;
    for (const char *p = parent; *p;) {
        p += strspn(p, "/");
        size_t len = strcspn(p, "/");
        if (!len)
            break;
        if (bad_component(p, len))
            return berr_set(err, 400, EINVAL, "invalid cgroup parent '%s'", parent);
        if (n + len + 2 > size)
            return berr_set(err, 400, ENAMETOOLONG, "cgroup parent too long: '%s'", parent);
        if (n)
            out[n++] = '/';
        memcpy(out + n, p, len);
        n += len;
        p += len;
    }
    out[n] = '\0';
    return 0;
}

static int build_rel(struct cgroup *cg, const char *parent, const char *id, struct berr *err)
{
    char norm[CG_PATH_MAX];
    if (!id || !*id || strchr(id, '/') || bad_component(id, strlen(id)))
        return berr_set(err, 400, EINVAL, "cgroup: invalid container id '%s'", id ? id : "");
    int r = norm_parent(parent && *parent ? parent : "berth", norm, sizeof(norm), err);
    if (r < 0)
        return r;
    int n = snprintf(cg->rel, sizeof(cg->rel), "%s%s%s", norm, *norm ? "/" : "", id);
    if (n < 0 || (size_t)n >= sizeof(cg->rel))
        return berr_set(err, 400, ENAMETOOLONG, "cgroup: path too long for '%s'", id);
    return 0;
}

static int set_dir(char *out, const char *root, const char *rel, struct berr *err)
{
    int n = snprintf(out, CG_PATH_MAX, "%s/%s", root, rel);
    if (n < 0 || n >= CG_PATH_MAX)
        return berr_set(err, 400, ENAMETOOLONG, "cgroup: path too long: %s/%s", root, rel);
    return 0;
}

int cgroup_init(struct cgroup *cg, const struct cg_host *host, const char *parent, const char *id,
                struct berr *err)
{
    memset(cg, 0, sizeof(*cg));
    cg->version = host->version;
    int r = build_rel(cg, parent, id, err);
    if (r < 0)
        return r;
    if (host->version == 2) {
        cg->mask = host->v2_mask;
        return set_dir(cg->dir[0], host->root, cg->rel, err);
    }
    cg->mask = host->v1_mask;
    cg->primary = host->v1_primary;
    for (int c = 0; c < CG_NCTRL && r == 0; c++)
        if (cg->mask & (1u << c))
            r = set_dir(cg->dir[c], host->v1_dir[c], cg->rel, err);
    return r;
}

/* ---- operations -------------------------------------------------------- */

void cgroup_limits_init(struct cg_limits *lim)
{
    memset(lim, 0, sizeof(*lim));
    lim->memory_swappiness = -1;
}

int cgroup_create(const struct cgroup *cg, const struct cg_limits *lim, struct cg_warnings *warn,
                  struct berr *err)
{
    int r =
        cg->version == 2 ? cg__v2_create(cg, lim, warn, err) : cg__v1_create(cg, lim, warn, err);
    if (r < 0) {
        struct berr ignored = {0};
        cgroup_remove(cg, &ignored); /* half-made cgroup: leave nothing behind */
    }
    return r;
}

int cgroup_update(const struct cgroup *cg, const struct cg_limits *lim, struct cg_warnings *warn,
                  struct berr *err)
{
    return cg->version == 2 ? cg__v2_apply(cg, lim, warn, err) : cg__v1_apply(cg, lim, warn, err);
}

int cgroup_add_pid(const struct cgroup *cg, pid_t pid, struct berr *err)
{
    if (cg->version == 2)
        return cg__writef(err, cg->dir[0], "cgroup.procs", "%d", (int)pid);
    for (int c = 0; c < CG_NCTRL; c++) {
        if (!(cg->primary & (1u << c)))
            continue;
        int r = cg__writef(err, cg->dir[c], "cgroup.procs", "%d", (int)pid);
        if (r < 0)
            return r;
    }
    return 0;
}

int cgroup_leaf_fd(const struct cgroup *cg, struct berr *err)
{
    if (cg->version != 2)
        return berr_set(err, 500, EOPNOTSUPP, "cgroup: CLONE_INTO_CGROUP needs cgroup v2");
    int fd = open(cg->dir[0], O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return berr_errno(err, 500, errno, "cgroup: open %s", cg->dir[0]);
    return fd;
}

int cgroup_freeze(const struct cgroup *cg, bool frozen, struct berr *err)
{
    return cg->version == 2 ? cg__v2_freeze(cg, frozen, err) : cg__v1_freeze(cg, frozen, err);
}

int cgroup_kill_all(const struct cgroup *cg, struct berr *err)
{
    return cg->version == 2 ? cg__v2_kill_all(cg, err) : cg__v1_kill_all(cg, err);
}

int cgroup_remove(const struct cgroup *cg, struct berr *err)
{
    if (cg->version == 2)
        return cg__rmdir_tree(cg->dir[0], err);
    int first = 0;
    for (int c = 0; c < CG_NCTRL; c++) {
        if (!(cg->primary & (1u << c)))
            continue;
        struct berr e = {0};
        int r = cg__rmdir_tree(cg->dir[c], &e);
        if (r < 0 && first == 0) {
            first = r;
            *err = e;
        }
    }
    return first;
}

int cgroup_pids(const struct cgroup *cg, pid_t **ret, size_t *ret_n, struct berr *err)
{
    const char *dir = cg->version == 2 ? cg->dir[0] : cg__v1_procs_dir(cg);
    if (!dir)
        return berr_set(err, 500, ENOENT, "cgroup: no hierarchy to list processes from");
    return cg__read_pids(dir, ret, ret_n, err);
}

int cgroup_oom_watch_fd(const struct cgroup *cg, struct berr *err)
{
    return cg->version == 2 ? cg__v2_oom_watch_fd(cg, err) : cg__v1_oom_watch_fd(cg, err);
}

int cgroup_oom_kill_count(const struct cgroup *cg, uint64_t *ret, struct berr *err)
{
    bool v2 = cg->version == 2;
    const char *dir = v2 ? cg->dir[0] : cg->dir[CG_MEMORY];
    const char *file = v2 ? "memory.events" : "memory.oom_control";
    char buf[1024];
    if (!*dir)
        return berr_set(err, 500, ENOENT, "cgroup: memory controller not mounted");
    int r = cg__read(dir, file, buf, sizeof(buf), err);
    if (r < 0)
        return r;
    if (cg__key_u64(buf, "oom_kill", ret) < 0)
        *ret = 0; /* v1 before 4.13 has no counter */
    return 0;
}
