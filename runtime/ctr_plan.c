/* Building a start job from a container (loop thread): the spawn plan
 * (namespaces, mounts, identity, environment), the cgroup and its limits,
 * the root filesystem's layers, and the security choices. Everything is
 * copied: the worker never reads the container. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "caps.h"
#include "common/jsonutil.h"
#include "ctr_config.h"
#include "ctr_internal.h"
#include "secopt.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

const char *start_plan_keep(struct start_plan *sp, const char *s)
{
    if (!s || strv_push(&sp->strings, s) < 0)
        return NULL;
    return sp->strings.v[sp->strings.n - 1];
}

const char **start_plan_keep_list(struct start_plan *sp, const char *const *l, size_t n)
{
    const char **v = calloc(n + 1, sizeof(*v));
    for (size_t i = 0; v && i < n; i++)
        if (!(v[i] = start_plan_keep(sp, l[i])))
            return free(v), NULL;
    return v;
}

#define keep             start_plan_keep
#define keep_list(sp, l) start_plan_keep_list(sp, (const char *const *)(l)->v, (l)->n)

void start_plan_done(struct start_plan *sp)
{
    strv_done(&sp->strings);
    free(sp->argv);
    free(sp->env);
    free(sp->group_add);
    free(sp->mounts);
    free(sp->rlimits);
    free(sp->binds);
    free(sp->joins);
    for (size_t i = 0; i < 5; i++)
        free(sp->throttles[i]);
}

/* moby's ReplaceOrAppendEnvValues: "K=V" replaces K or is appended; a bare
 * "K" removes K. */
static int env_merge(struct strv *env, const struct strv *over)
{
    for (size_t i = 0; over && i < over->n; i++) {
        const char *o = over->v[i];
        const char *eq = strchr(o, '=');
        size_t k = eq ? (size_t)(eq - o) : strlen(o);
        size_t j = 0;
        while (j < env->n && (strncmp(env->v[j], o, k) || env->v[j][k] != '='))
            j++;
        if (j < env->n && !eq) {
            free(env->v[j]);
            memmove(&env->v[j], &env->v[j + 1], (env->n - j - 1) * sizeof(char *));
            env->n--;
        } else if (j < env->n) {
            free(env->v[j]);
            if (!(env->v[j] = strdup(o)))
                return -ENOMEM;
        } else if (eq && strv_push(env, o) < 0) {
            return -ENOMEM;
        }
    }
    return 0;
}

int ctr_plan_env(const struct container *c, bool tty, const struct strv *extra, struct strv *env)
{
    struct strv user = {0};
    struct berr err = {0};
    char host[300];
    const char *h = json_get_str(c->config, "Hostname");
    snprintf(host, sizeof(host), "HOSTNAME=%s", h ? h : "");
    int r = strv_push(env, DEFAULT_PATH) | strv_push(env, host);
    if (tty)
        r |= strv_push(env, "TERM=xterm");
    r |= json_get_strv(c->config, "Env", &user, &err);
    if (r == 0)
        r = env_merge(env, &user);
    if (r == 0)
        r = env_merge(env, extra);
    strv_done(&user);
    return r ? -ENOMEM : 0;
}

static uint64_t propagation_flags(const char *p)
{
    if (!p || !*p || !strcmp(p, "rprivate"))
        return MS_PRIVATE | MS_REC;
    if (!strcmp(p, "private"))
        return MS_PRIVATE;
    if (!strcmp(p, "rshared"))
        return MS_SHARED | MS_REC;
    if (!strcmp(p, "shared"))
        return MS_SHARED;
    if (!strcmp(p, "rslave"))
        return MS_SLAVE | MS_REC;
    return MS_SLAVE;
}

static int plan_mount(struct rt *rt, struct start_plan *sp, const struct ctr_mount *m,
                      struct spawn_mount *out)
{
    char vol[4096];
    out->target = keep(sp, m->target);
    if (m->type == MNT_TMPFS) {
        out->source = "tmpfs";
        out->fstype = "tmpfs";
        out->data = m->tmpfs_options ? keep(sp, m->tmpfs_options) : NULL;
        out->flags = m->tmpfs_flags | (m->readonly ? MS_RDONLY : 0);
        out->propagation = m->propagation ? propagation_flags(m->propagation) : 0;
        return out->target ? 0 : -ENOMEM;
    }
    if (m->type == MNT_VOLUME)
        snprintf(vol, sizeof(vol), "%s/volumes/%s/_data", rt->data_root, m->source);
    out->source = keep(sp, m->type == MNT_VOLUME ? vol : m->source);
    out->fstype = "bind";
    out->flags = MS_REC | (m->readonly ? MS_RDONLY : 0);
    out->propagation = propagation_flags(m->propagation);
    return out->source && out->target ? 0 : -ENOMEM;
}

static int plan_mounts(struct rt *rt, struct container *c, struct start_plan *sp)
{
    sp->mounts = calloc(c->hc.nmounts + 1, sizeof(*sp->mounts));
    if (!sp->mounts)
        return -ENOMEM;
    for (size_t i = 0; i < c->hc.nmounts; i++)
        if (plan_mount(rt, sp, &c->hc.mounts[i], &sp->mounts[i]) < 0)
            return -ENOMEM;
    sp->plan.mounts = sp->mounts;
    sp->plan.n_mounts = c->hc.nmounts;
    return 0;
}

/* The container's ulimits and OOM score: Docker applies both to its execs
 * too (withRlimits in execSetPlatformOpt; the exec's spec is the
 * container's). */
int ctr_plan_limits(const struct container *c, struct start_plan *sp)
{
    sp->rlimits = calloc(c->hc.nulimits + 1, sizeof(*sp->rlimits));
    if (!sp->rlimits)
        return -ENOMEM;
    for (size_t i = 0; i < c->hc.nulimits; i++)
        sp->rlimits[i] =
            (struct spawn_rlimit){(uint32_t)c->hc.ulimits[i].resource,
                                  (uint64_t)c->hc.ulimits[i].soft, (uint64_t)c->hc.ulimits[i].hard};
    sp->plan.rlimits = sp->rlimits;
    sp->plan.n_rlimits = c->hc.nulimits;
    sp->plan.oom_score_adj = c->hc.oom_score_adj;
    sp->plan.set_oom_score_adj = c->hc.oom_score_adj != 0;
    return 0;
}

static int plan_files(const struct container *c, struct start_plan *sp)
{
    char p[4200];
    snprintf(p, sizeof(p), "%s/hosts", c->dir);
    sp->plan.hosts_path = keep(sp, p);
    snprintf(p, sizeof(p), "%s/hostname", c->dir);
    sp->plan.hostname_path = keep(sp, p);
    snprintf(p, sizeof(p), "%s/resolv.conf", c->dir);
    sp->plan.resolv_path = keep(sp, p);
    return sp->plan.hosts_path && sp->plan.hostname_path && sp->plan.resolv_path ? 0 : -ENOMEM;
}

int ctr_plan_user(const struct container *c, const char *user, const char *cwd,
                  struct start_plan *sp)
{
    if (!user || !*user)
        user = json_get_str(c->config, "User");
    if (!cwd || !*cwd)
        cwd = json_get_str(c->config, "WorkingDir");
    sp->plan.user = keep(sp, user ? user : "");
    sp->plan.cwd = cwd && *cwd ? keep(sp, cwd) : NULL;
    sp->group_add = keep_list(sp, &c->hc.group_add);
    sp->plan.group_add = sp->group_add;
    return sp->plan.user && (!cwd || !*cwd || sp->plan.cwd) && sp->group_add ? 0 : -ENOMEM;
}

static int plan_identity(const struct container *c, struct start_plan *sp)
{
    const char *h = json_get_str(c->config, "Hostname");
    const char *d = json_get_str(c->config, "Domainname");
    sp->plan.hostname = keep(sp, h ? h : "");
    sp->plan.domainname = keep(sp, d ? d : "");
    if (!sp->plan.hostname || !sp->plan.domainname)
        return -ENOMEM;
    return ctr_plan_user(c, NULL, NULL, sp);
}

int ctr_plan_argv_env(const struct container *c, const struct strv *argv, bool tty,
                      const struct strv *extra_env, struct start_plan *sp)
{
    struct strv env = {0};
    int r = ctr_plan_env(c, tty, extra_env, &env);
    if (r == 0 && (!(sp->argv = keep_list(sp, argv)) || !(sp->env = keep_list(sp, &env))))
        r = -ENOMEM;
    strv_done(&env);
    sp->plan.argv = sp->argv;
    sp->plan.env = sp->env;
    sp->plan.tty = tty;
    return r;
}

static int plan_process(const struct container *c, struct start_plan *sp, struct berr *err)
{
    struct strv argv = {0};
    int r = ctr_config_argv(c->config, &argv, err);
    if (r == 0 && ctr_plan_argv_env(c, &argv, json_get_bool(c->config, "Tty"), NULL, sp) < 0)
        r = berr_set(err, 500, ENOMEM, "out of memory");
    strv_done(&argv);
    sp->plan.init = c->hc.init;
    /* HostConfig.ConsoleSize [h, w] (the CLI's terminal, API >= 1.42): the
     * size from the first byte, before the CLI's resize call arrives */
    sp->plan.tty_rows = (uint16_t)(c->hc.console_h > 0 ? c->hc.console_h : 0);
    sp->plan.tty_cols = (uint16_t)(c->hc.console_w > 0 ? c->hc.console_w : 0);
    return r;
}

/* The running container a "container:<name>" mode names, with Docker's
 * wording for each namespace (moby getIPCContainer, getPidContainer,
 * getNetworkedContainer): `prefix` goes before the lookup error and, unless
 * NULL (network: its own message), `run_prefix` before "is not running". */
static struct container *ns_donor(struct rt *rt, const char *name, const char *prefix,
                                  const char *run_prefix, struct berr *err)
{
    struct berr lookup = {0};
    struct container *o = ctr_lookup(&rt->ctrs, name, &lookup);
    if (!o) {
        berr_set(err, lookup.status, ENOENT, "%s%s", prefix, lookup.msg);
        return NULL;
    }
    if ((o->st.status == CTR_RUNNING || o->st.status == CTR_PAUSED) && o->rt)
        return o; /* a paused one's namespaces can be joined, as moby's IsRunning */
    if (run_prefix)
        berr_set(err, 409, EINVAL, "%sContainer %s is not running", run_prefix, o->id);
    else
        berr_set(err, 409, EINVAL, "cannot join network of a non running container: %s", name);
    return NULL;
}

static int add_join(struct start_plan *sp, const struct container *o, const char *ns, uint32_t type)
{
    char p[64];
    snprintf(p, sizeof(p), "/proc/%d/ns/%s", (int)o->st.pid, ns);
    const char *kept = keep(sp, p);
    if (!kept)
        return -ENOMEM;
    sp->joins[sp->plan.n_ns_join++] = (struct spawn_nsjoin){type, kept};
    return 0;
}

/* Where a container's /dev/shm lives on the host when others may share it:
 * NULL for a private one (its own tmpfs) or none. */
static const char *shm_host_path(struct rt *rt, const struct container *c, char *buf, size_t size)
{
    const char *m = c->hc.ipc_mode;
    for (int depth = 0; depth < 8 && !strncmp(m, "container:", 10); depth++) {
        struct berr ignored = {0};
        const struct container *o = ctr_lookup(&rt->ctrs, m + 10, &ignored);
        if (!o)
            return NULL;
        c = o;
        m = c->hc.ipc_mode;
    }
    if (!strcmp(m, "host"))
        return "/dev/shm";
    if (!strcmp(m, "shareable"))
        return snprintf(buf, size, "%s/shm", c->dir), buf;
    return NULL;
}

/* Docker's IPC modes: private (default) and none, shareable (a daemon-owned
 * /dev/shm others may join), host, container:<c> (its namespace and shm). */
static int plan_ipc(struct rt *rt, const struct container *c, struct start_job *sj,
                    struct berr *err)
{
    const char *m = c->hc.ipc_mode;
    char shm[4200], prefix[300];
    sj->sp.plan.no_shm = !strcmp(m, "none");
    sj->fs.shm = !strcmp(m, "shareable");
    sj->fs.shm_size = c->hc.shm_size ? (unsigned long long)c->hc.shm_size : SPAWN_SHM_DEFAULT;
    if (!strncmp(m, "container:", 10)) {
        snprintf(prefix, sizeof(prefix), "can't join IPC of container %s: ", m + 10);
        const struct container *o = ns_donor(rt, m + 10, prefix, prefix, err);
        if (!o)
            return -EINVAL;
        if (!shm_host_path(rt, o, shm, sizeof(shm)))
            return berr_set(err, 400, EINVAL,
                            "%snon-shareable IPC (hint: use IpcMode:shareable for the donor "
                            "container)",
                            prefix);
        if (add_join(&sj->sp, o, "ipc", CLONE_NEWIPC) < 0)
            return berr_set(err, 500, ENOMEM, "out of memory");
    }
    const char *path = shm_host_path(rt, c, shm, sizeof(shm));
    if (path && !(sj->sp.plan.shm_path = keep(&sj->sp, path)))
        return berr_set(err, 500, ENOMEM, "out of memory");
    return 0;
}

static int plan_joins(struct rt *rt, const struct container *c, struct start_job *sj,
                      struct berr *err)
{
    const struct ctr_hostcfg *hc = &c->hc;
    struct start_plan *sp = &sj->sp;
    char prefix[300];
    if (!strncmp(hc->pid_mode, "container:", 10)) {
        snprintf(prefix, sizeof(prefix),
                 "cannot join PID of a non running container: %s: ", hc->pid_mode + 10);
        const struct container *o = ns_donor(rt, hc->pid_mode + 10, prefix, "", err);
        if (!o)
            return -EINVAL;
        /* pid_for_children: a donor that itself joined another's pid
         * namespace is tracked through its fork parent, which stays in
         * the host's; for any other init it names the same namespace */
        if (add_join(sp, o, "pid_for_children", CLONE_NEWPID) < 0)
            return berr_set(err, 500, ENOMEM, "out of memory");
    }
    if (!strncmp(hc->network_mode, "container:", 10)) {
        const struct container *o = ns_donor(rt, hc->network_mode + 10, "", NULL, err);
        if (!o)
            return -EINVAL;
        if (o == c)
            return berr_set(err, 400, EINVAL, "cannot join own network");
        if (add_join(sp, o, "net", CLONE_NEWNET) < 0)
            return berr_set(err, 500, ENOMEM, "out of memory");
    }
    return plan_ipc(rt, c, sj, err);
}

static int plan_namespaces(struct rt *rt, const struct container *c, struct start_job *sj,
                           struct berr *err)
{
    const struct ctr_hostcfg *hc = &c->hc;
    struct start_plan *sp = &sj->sp;
    uint64_t f = CLONE_NEWNS;
    sp->joins = calloc(4, sizeof(*sp->joins));
    sp->plan.ns_join = sp->joins;
    if (!sp->joins)
        return berr_set(err, 500, ENOMEM, "out of memory");
    f |= strcmp(hc->pid_mode, "host") && strncmp(hc->pid_mode, "container:", 10) ? CLONE_NEWPID : 0;
    f |= strcmp(hc->uts_mode, "host") ? CLONE_NEWUTS : 0;
    f |= strcmp(hc->network_mode, "host") && strncmp(hc->network_mode, "container:", 10)
             ? CLONE_NEWNET
             : 0;
    f |= strcmp(hc->ipc_mode, "host") && strncmp(hc->ipc_mode, "container:", 10) ? CLONE_NEWIPC : 0;
    /* Docker's default cgroup namespace: private on v2, the host's on v1 */
    if (!strcmp(hc->cgroupns_mode, "private") || (!*hc->cgroupns_mode && rt->cg.version == 2))
        f |= CLONE_NEWCGROUP;
    sp->plan.clone_flags = f;
    return plan_joins(rt, c, sj, err);
}

/* v1: the container sees its own cgroup dirs (read-only) at the usual
 * places, so `cat /sys/fs/cgroup/memory/memory.limit_in_bytes` shows its
 * limit as under Docker. */
static int plan_cgroup_binds(struct start_job *sj)
{
    struct start_plan *sp = &sj->sp;
    sp->plan.cgroup2 = sj->cg_v2;
    if (sj->cg_v2)
        return 0;
    sp->binds = calloc(CG_NCTRL, sizeof(*sp->binds));
    if (!sp->binds)
        return -ENOMEM;
    for (int i = 0; i < CG_NCTRL; i++) {
        if (!*sj->cg.dir[i])
            continue;
        char inside[64];
        snprintf(inside, sizeof(inside), "/sys/fs/cgroup/%s", cgroup_v1_name((enum cg_ctrl)i));
        sp->binds[sp->plan.n_cgroup_binds++] =
            (struct spawn_bind){keep(sp, sj->cg.dir[i]), keep(sp, inside)};
    }
    sp->plan.cgroup_binds = sp->binds;
    return 0;
}

int ctr_plan_security(struct rt *rt, const struct container *c, bool all_caps,
                      struct spawn_plan *plan, struct plan_seccomp *sec, struct berr *err)
{
    const struct ctr_hostcfg *hc = &c->hc;
    struct secopt so;
    if (caps_compute((const char *const *)hc->cap_add.v, hc->cap_add.n,
                     (const char *const *)hc->cap_drop.v, hc->cap_drop.n, hc->privileged,
                     rt->cap_bounding, &plan->caps, err) < 0 ||
        secopt_parse((const char *const *)hc->security_opt.v, hc->security_opt.n, &so, err) < 0)
        return -EINVAL;
    plan->no_new_privs = so.no_new_privs;
    sec->want = secopt_wants_seccomp(&so, hc->privileged);
    sec->caps = plan->caps;
    if (so.seccomp == SECOPT_SECCOMP_CUSTOM)
        sec->json = so.seccomp_profile, so.seccomp_profile = NULL;
    secopt_done(&so);
    /* exec --privileged: every capability, as a privileged container */
    if (all_caps)
        return caps_compute(NULL, 0, NULL, 0, true, rt->cap_bounding, &plan->caps, err);
    return 0;
}

static int plan_security(struct rt *rt, const struct container *c, struct start_job *sj,
                         struct berr *err)
{
    const struct ctr_hostcfg *hc = &c->hc;
    if (ctr_plan_security(rt, c, false, &sj->sp.plan, &sj->sec, err) < 0)
        return -EINVAL;
    sj->sp.plan.privileged = hc->privileged;
    sj->sp.plan.readonly_rootfs = hc->readonly_rootfs;
    sj->sp.plan.shm_size = (uint64_t)hc->shm_size;
    if (!hc->privileged) {
        sj->sp.plan.masked_paths = spawn_default_masked_paths;
        sj->sp.plan.readonly_paths = spawn_default_readonly_paths;
    }
    return 0;
}

static int plan_rootfs(struct rt *rt, const struct container *c, struct start_job *sj,
                       struct berr *err)
{
    struct image *img = store_image_by_id(rt->store, c->image_id);
    if (!img)
        return berr_set(err, 404, ENOENT, "No such image: %s", c->image_id);
    sj->fs.dir = c->dir;
    sj->fs.vfs = rt->store->driver == STORE_VFS;
    sj->fs.layers = calloc(img->nchain + 1, sizeof(char *));
    if (!sj->fs.layers)
        return berr_set(err, 500, ENOMEM, "out of memory");
    for (size_t i = 0; i < img->nchain; i++) {
        char p[4096];
        store_layer_diff_dir(rt->store, img->chain[i], p, sizeof(p));
        if (!(sj->fs.layers[sj->fs.nlayers++] = strdup(p)))
            return berr_set(err, 500, ENOMEM, "out of memory");
    }
    return 0;
}

/* A copy of one device list, paths kept in sp's strings. */
static int own_throttles(struct start_plan *sp, size_t slot, const struct cg_throttle **t, size_t n)
{
    if (n == 0)
        return 0;
    struct cg_throttle *copy = calloc(n, sizeof(*copy));
    if (!copy)
        return -ENOMEM;
    sp->throttles[slot] = copy;
    for (size_t i = 0; i < n; i++) {
        copy[i].rate = (*t)[i].rate;
        if (!(copy[i].path = keep(sp, (*t)[i].path)))
            return -ENOMEM;
    }
    *t = copy;
    return 0;
}

/* The worker applies the limits while the loop may replace the container's
 * HostConfig (docker update ends): the job gets its own copies of what
 * ctr_limits_from() borrowed. */
static int own_limits(struct start_plan *sp, struct cg_limits *l)
{
    if ((l->cpuset_cpus && !(l->cpuset_cpus = keep(sp, l->cpuset_cpus))) ||
        (l->cpuset_mems && !(l->cpuset_mems = keep(sp, l->cpuset_mems))))
        return -ENOMEM;
    int r = own_throttles(sp, 0, &l->weight_device, l->nweight_device);
    if (r == 0)
        r = own_throttles(sp, 1, &l->read_bps, l->nread_bps);
    if (r == 0)
        r = own_throttles(sp, 2, &l->write_bps, l->nwrite_bps);
    if (r == 0)
        r = own_throttles(sp, 3, &l->read_iops, l->nread_iops);
    if (r == 0)
        r = own_throttles(sp, 4, &l->write_iops, l->nwrite_iops);
    return r;
}

int start_plan_build(struct rt *rt, struct container *c, struct start_job *sj, struct berr *err)
{
    spawn_plan_init(&sj->sp.plan);
    sj->cg_v2 = rt->cg.version == 2;
    sj->open_stdin = json_get_bool(c->config, "OpenStdin");
    if (plan_rootfs(rt, c, sj, err) < 0 || plan_process(c, &sj->sp, err) < 0 ||
        plan_namespaces(rt, c, sj, err) < 0 || plan_security(rt, c, sj, err) < 0)
        return -EINVAL;
    if (cgroup_init(&sj->cg, &rt->cg, c->hc.cgroup_parent, c->id, err) < 0)
        return -EINVAL;
    ctr_limits_from(&c->hc, &sj->limits);
    if (own_limits(&sj->sp, &sj->limits) < 0 || plan_identity(c, &sj->sp) < 0 ||
        plan_files(c, &sj->sp) < 0 || plan_mounts(rt, c, &sj->sp) < 0 ||
        ctr_plan_limits(c, &sj->sp) < 0 || plan_cgroup_binds(sj) < 0)
        return berr_set(err, 500, ENOMEM, "out of memory");
    return 0;
}
