/* GET /info: the engine's and the host's facts, shaped as Docker's SystemInfo.
 * Dynamic host facts are read on a worker; the reply is built on the loop. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth_version.h"
#include "common/job.h"
#include "common/jsonutil.h"
#include "common/macros.h"
#include "common/timeutil.h"
#include "engine.h"
#include "system.h"

struct info_job {
    struct job job;
    struct srv_req *req;
    char *data_root;
    struct host_dynamic dyn;
};

static int info_run(struct job *job)
{
    struct info_job *ij = container_of(job, struct info_job, job);
    hostinfo_dynamic(ij->data_root, &ij->dyn);
    return 0;
}

static cJSON *string_array(const struct strv *s)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < s->n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(s->v[i]));
    return a;
}

static void pair(cJSON *arr, const char *k, const char *v)
{
    cJSON *p = cJSON_CreateArray();
    cJSON_AddItemToArray(p, cJSON_CreateString(k));
    cJSON_AddItemToArray(p, cJSON_CreateString(v));
    cJSON_AddItemToArray(arr, p);
}

static bool is_cidr(const char *s)
{
    return strchr(s, '/') != NULL;
}

static cJSON *index_config(const char *name, const struct strv *mirrors, bool secure, bool official)
{
    cJSON *ic = cJSON_CreateObject();
    cJSON_AddStringToObject(ic, "Name", name);
    cJSON_AddItemToObject(ic, "Mirrors", mirrors ? string_array(mirrors) : cJSON_CreateArray());
    cJSON_AddBoolToObject(ic, "Secure", secure);
    cJSON_AddBoolToObject(ic, "Official", official);
    return ic;
}

/* As dockerd: loopback is always insecure; CIDRs and host names from the config. */
static cJSON *registry_config(const struct config *cfg)
{
    cJSON *rc = cJSON_CreateObject();
    cJSON_AddItemToObject(rc, "AllowNondistributableArtifactsCIDRs", cJSON_CreateArray());
    cJSON_AddItemToObject(rc, "AllowNondistributableArtifactsHostnames", cJSON_CreateArray());
    cJSON *cidrs = cJSON_AddArrayToObject(rc, "InsecureRegistryCIDRs");
    cJSON_AddItemToArray(cidrs, cJSON_CreateString("::1/128"));
    cJSON_AddItemToArray(cidrs, cJSON_CreateString("127.0.0.0/8"));
    cJSON *indexes = cJSON_AddObjectToObject(rc, "IndexConfigs");
    cJSON_AddItemToObject(indexes, "docker.io",
                          index_config("docker.io", &cfg->registry_mirrors, true, true));
    for (size_t i = 0; i < cfg->insecure_registries.n; i++) {
        const char *r = cfg->insecure_registries.v[i];
        if (is_cidr(r))
            cJSON_AddItemToArray(cidrs, cJSON_CreateString(r));
        else
            cJSON_AddItemToObject(indexes, r, index_config(r, NULL, false, false));
    }
    cJSON_AddItemToObject(rc, "Mirrors", string_array(&cfg->registry_mirrors));
    return rc;
}

static cJSON *driver_status(const struct host_dynamic *d)
{
    cJSON *ds = cJSON_CreateArray();
    pair(ds, "Backing Filesystem", d->backing_fs);
    pair(ds, "Supports d_type", d->d_type ? "true" : "false");
    return ds;
}

static cJSON *security_options(const struct host_static *h, const struct cg_host *cg)
{
    cJSON *so = cJSON_CreateArray();
    if (h->seccomp)
        cJSON_AddItemToArray(so, cJSON_CreateString("name=seccomp,profile=builtin"));
    if (cg->version == 2)
        cJSON_AddItemToArray(so, cJSON_CreateString("name=cgroupns"));
    return so;
}

static cJSON *warnings(const struct engine *e, const struct host_dynamic *d)
{
    cJSON *w = cJSON_CreateArray();
    for (size_t i = 0; i < e->cfg.hosts.n; i++) {
        const char *h = e->cfg.hosts.v[i];
        if (strncmp(h, "tcp://", 6) != 0)
            continue;
        char msg[512];
        snprintf(msg, sizeof(msg),
                 "WARNING: API is accessible on http://%s without encryption.\n"
                 "         Access to the remote API is equivalent to root access on the host.",
                 h + 6);
        cJSON_AddItemToArray(w, cJSON_CreateString(msg));
    }
    if (!d->bridge_nf_iptables)
        cJSON_AddItemToArray(w, cJSON_CreateString("WARNING: bridge-nf-call-iptables is disabled"));
    if (!d->bridge_nf_ip6tables)
        cJSON_AddItemToArray(w,
                             cJSON_CreateString("WARNING: bridge-nf-call-ip6tables is disabled"));
    return w;
}

static cJSON *address_pools(const struct config *cfg)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < cfg->pools.n; i++) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "Base", cfg->pools.v[i].base);
        cJSON_AddNumberToObject(p, "Size", cfg->pools.v[i].size);
        cJSON_AddItemToArray(a, p);
    }
    return a;
}

static cJSON *commit(const char *id)
{
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "ID", id);
    return c;
}

static cJSON *swarm_inactive(void)
{
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "NodeID", "");
    cJSON_AddStringToObject(s, "NodeAddr", "");
    cJSON_AddStringToObject(s, "LocalNodeState", "inactive");
    cJSON_AddBoolToObject(s, "ControlAvailable", false);
    cJSON_AddStringToObject(s, "Error", "");
    cJSON_AddNullToObject(s, "RemoteManagers");
    return s;
}

static cJSON *plugins(void)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddArrayToObject(p, "Volume");
    cJSON_AddArrayToObject(p, "Network");
    cJSON_AddNullToObject(p, "Authorization");
    cJSON_AddArrayToObject(p, "Log");
    return p;
}

static void add_counts(cJSON *o, const struct engine *e)
{
    int n[3] = {0}; /* running, paused, stopped */
    const char *k;
    void *v;
    for (size_t i = 0; e->rt.ctrs.root && map_next(&e->rt.ctrs.by_id, &i, &k, &v);) {
        const struct container *c = v;
        n[c->st.status == CTR_PAUSED ? 1 : ctr_is_running(c) ? 0 : 2]++;
    }
    cJSON_AddNumberToObject(o, "Containers", n[0] + n[1] + n[2]);
    cJSON_AddNumberToObject(o, "ContainersRunning", n[0]);
    cJSON_AddNumberToObject(o, "ContainersPaused", n[1]);
    cJSON_AddNumberToObject(o, "ContainersStopped", n[2]);
    /* Every image, intermediate ones included, as moby's CountImages. */
    cJSON_AddNumberToObject(o, "Images", e->store ? (double)e->store->images.len : 0);
}

/* From the cgroup features the runtime detected at startup: the same ones
 * create validates against. */
static void add_limits(cJSON *o, const struct cg_host *cg)
{
    cJSON_AddBoolToObject(o, "MemoryLimit", cg->memory);
    cJSON_AddBoolToObject(o, "SwapLimit", cg->swap);
    cJSON_AddBoolToObject(o, "CpuCfsPeriod", cg->cpu_cfs);
    cJSON_AddBoolToObject(o, "CpuCfsQuota", cg->cpu_cfs);
    cJSON_AddBoolToObject(o, "CPUShares", cg->cpu_shares);
    cJSON_AddBoolToObject(o, "CPUSet", cg->cpuset);
    cJSON_AddBoolToObject(o, "PidsLimit", cg->pids);
    cJSON_AddBoolToObject(o, "OomKillDisable", cg->oom_kill_disable);
}

static void add_host(cJSON *o, const struct engine *e, const struct host_dynamic *d)
{
    const struct host_static *h = &e->host;
    cJSON_AddBoolToObject(o, "IPv4Forwarding", d->ipv4_forwarding);
    cJSON_AddBoolToObject(o, "BridgeNfIptables", d->bridge_nf_iptables);
    cJSON_AddBoolToObject(o, "BridgeNfIp6tables", d->bridge_nf_ip6tables);
    cJSON_AddStringToObject(o, "KernelVersion", h->kernel);
    cJSON_AddStringToObject(o, "OperatingSystem", h->os_name);
    cJSON_AddStringToObject(o, "OSVersion", h->os_version);
    cJSON_AddStringToObject(o, "OSType", "linux");
    cJSON_AddStringToObject(o, "Architecture", h->machine);
    cJSON_AddNumberToObject(o, "NCPU", h->ncpu);
    json_add_int64(o, "MemTotal", h->mem_total);
    cJSON_AddStringToObject(o, "Name", h->hostname);
    cJSON_AddStringToObject(o, "CgroupDriver", "cgroupfs");
    cJSON_AddStringToObject(o, "CgroupVersion", e->rt.cg.version == 2 ? "2" : "1");
}

static void add_daemon(cJSON *o, const struct engine *e, const struct host_dynamic *d)
{
    char now[TIME_RFC3339_MAX];
    time_format_rfc3339nano(time_now_ns(), now);
    cJSON_AddBoolToObject(o, "Debug", strcmp(config_log_level(&e->cfg), "debug") == 0);
    cJSON_AddNumberToObject(o, "NFd", d->nfd);
    cJSON_AddNumberToObject(o, "NGoroutines", d->nthreads);
    cJSON_AddStringToObject(o, "SystemTime", now);
    cJSON_AddStringToObject(o, "LoggingDriver", "json-file");
    cJSON_AddNumberToObject(o, "NEventsListener", (double)evbus_subscriber_count(e->events));
    cJSON_AddStringToObject(o, "IndexServerAddress", "https://index.docker.io/v1/");
    cJSON_AddItemToObject(o, "RegistryConfig", registry_config(&e->cfg));
    cJSON_AddItemToObject(o, "GenericResources", cJSON_CreateNull());
    cJSON_AddStringToObject(o, "DockerRootDir", e->cfg.data_root);
    cJSON_AddStringToObject(o, "HttpProxy", getenv("HTTP_PROXY") ? getenv("HTTP_PROXY") : "");
    cJSON_AddStringToObject(o, "HttpsProxy", getenv("HTTPS_PROXY") ? getenv("HTTPS_PROXY") : "");
    cJSON_AddStringToObject(o, "NoProxy", getenv("NO_PROXY") ? getenv("NO_PROXY") : "");
    cJSON_AddArrayToObject(o, "Labels");
    cJSON_AddBoolToObject(o, "ExperimentalBuild", false);
    cJSON_AddStringToObject(o, "ServerVersion", BERTH_VERSION);
}

static void add_runtime(cJSON *o, const struct engine *e)
{
    cJSON_AddObjectToObject(o, "Runtimes");
    cJSON_AddStringToObject(o, "DefaultRuntime", "");
    cJSON_AddItemToObject(o, "Swarm", swarm_inactive());
    cJSON_AddBoolToObject(o, "LiveRestoreEnabled", false);
    cJSON_AddStringToObject(o, "Isolation", "");
    cJSON_AddStringToObject(o, "InitBinary", "");
    cJSON_AddItemToObject(o, "ContainerdCommit", commit(""));
    cJSON_AddItemToObject(o, "RuncCommit", commit(""));
    cJSON_AddItemToObject(o, "InitCommit", commit(""));
    cJSON_AddItemToObject(o, "SecurityOptions", security_options(&e->host, &e->rt.cg));
    cJSON_AddStringToObject(o, "ProductLicense", "");
    cJSON_AddItemToObject(o, "DefaultAddressPools", address_pools(&e->cfg));
    cJSON_AddArrayToObject(o, "CDISpecDirs");
}

static cJSON *info_json(const struct engine *e, const struct host_dynamic *d)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "ID", e->id);
    add_counts(o, e);
    cJSON_AddStringToObject(o, "Driver", e->cfg.storage_driver);
    cJSON_AddItemToObject(o, "DriverStatus", driver_status(d));
    cJSON_AddItemToObject(o, "Plugins", plugins());
    add_limits(o, &e->rt.cg);
    add_host(o, e, d);
    add_daemon(o, e, d);
    add_runtime(o, e);
    cJSON_AddItemToObject(o, "Warnings", warnings(e, d));
    return o;
}

static void info_done(struct job *job)
{
    struct info_job *ij = container_of(job, struct info_job, job);
    struct srv_req *req = ij->req;
    /* An aborted request is still answered: the reply is dropped if the
     * client is gone, and reaches one that only half-closed. */
    if (job->cancelled)
        srv_reply_error(req, 500, "request cancelled");
    else
        srv_reply_json(req, 200, info_json(srv_req_ctx(req), &ij->dyn));
    free(ij->data_root);
    free(ij);
}

void h_info(struct srv_req *req)
{
    const struct engine *e = srv_req_ctx(req);
    struct info_job *ij = calloc(1, sizeof(*ij));
    if (!ij || !(ij->data_root = strdup(e->cfg.data_root))) {
        free(ij);
        srv_reply_error(req, 500, "out of memory");
        return;
    }
    ij->req = req;
    job_init(&ij->job, info_run, info_done);
    if (job_queue(e->loop, &ij->job) < 0) {
        free(ij->data_root);
        free(ij);
        srv_reply_error(req, 500, "cannot queue work");
    }
}
