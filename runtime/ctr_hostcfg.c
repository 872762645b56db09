#include "ctr_hostcfg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "common/jsonutil.h"
#include "ctr_mounts.h"

const char *ctr_restart_name(enum ctr_restart r)
{
    static const char *const names[] = {"no", "always", "unless-stopped", "on-failure"};
    return names[r];
}

static int parse_restart(const cJSON *hc, struct ctr_hostcfg *ret, struct berr *err)
{
    const cJSON *rp = cJSON_GetObjectItemCaseSensitive(hc, "RestartPolicy");
    const char *name = json_get_str(rp, "Name");
    int64_t max = json_get_int64(rp, "MaximumRetryCount", 0);
    if (!name || !*name || !strcmp(name, "no"))
        ret->restart = RESTART_NO;
    else if (!strcmp(name, "always"))
        ret->restart = RESTART_ALWAYS;
    else if (!strcmp(name, "unless-stopped"))
        ret->restart = RESTART_UNLESS_STOPPED;
    else if (!strcmp(name, "on-failure"))
        ret->restart = RESTART_ON_FAILURE;
    else
        return berr_set(err, 400, EINVAL,
                        "invalid restart policy: unknown policy '%s'; use one "
                        "of 'no', 'always', 'on-failure', or 'unless-stopped'",
                        name);
    if (max < 0)
        return berr_set(err, 400, EINVAL,
                        "invalid restart policy: maximum retry count can't be negative");
    if (max > 0 && ret->restart != RESTART_ON_FAILURE)
        return berr_set(err, 400, EINVAL,
                        "invalid restart policy: maximum retry count can only be used with "
                        "'on-failure'");
    ret->restart_max = (int)max;
    if (ret->auto_remove && ret->restart != RESTART_NO)
        return berr_set(err, 400, EINVAL,
                        "can't create 'AutoRemove' container with restart policy");
    return 0;
}

/* NetworkMode: "" and "default" mean bridge; user networks come with the
 * networking work, until then they are unknown. */
static int parse_network_mode(const cJSON *hc, struct ctr_hostcfg *ret, struct berr *err)
{
    const char *m = json_get_str(hc, "NetworkMode");
    if (!m || !*m || !strcmp(m, "default"))
        m = "bridge";
    if (strcmp(m, "bridge") && strcmp(m, "none") && strcmp(m, "host") &&
        strncmp(m, "container:", 10))
        return berr_set(err, 404, ENOENT, "network %s not found", m);
    if (!strcmp(m, "container:"))
        return berr_set(err, 400, EINVAL, "invalid container format container:<name|id>");
    snprintf(ret->network_mode, sizeof(ret->network_mode), "%s", m);
    return 0;
}

static int mode_in(const char *what, const char *m, const char *const *allowed, char *out,
                   size_t outlen, struct berr *err)
{
    m = m ? m : "";
    for (size_t i = 0; allowed[i]; i++)
        if (!strcmp(m, allowed[i]) ||
            (!strcmp(allowed[i], "container:") && !strncmp(m, "container:", 10) && m[10]))
            return snprintf(out, outlen, "%s", m), 0;
    return berr_set(err, 400, EINVAL, "invalid %s mode: %s", what, m);
}

static int parse_modes(const cJSON *hc, struct ctr_hostcfg *ret, struct berr *err)
{
    static const char *const pid[] = {"", "host", "container:", NULL};
    static const char *const ipc[] = {"",     "private",    "shareable", "host",
                                      "none", "container:", NULL};
    static const char *const uts[] = {"", "host", NULL};
    static const char *const cgns[] = {"", "private", "host", NULL};
    if (mode_in("PID", json_get_str(hc, "PidMode"), pid, ret->pid_mode, sizeof(ret->pid_mode),
                err) ||
        mode_in("IPC", json_get_str(hc, "IpcMode"), ipc, ret->ipc_mode, sizeof(ret->ipc_mode),
                err) ||
        mode_in("UTS", json_get_str(hc, "UTSMode"), uts, ret->uts_mode, sizeof(ret->uts_mode),
                err) ||
        mode_in("cgroup namespace", json_get_str(hc, "CgroupnsMode"), cgns, ret->cgroupns_mode,
                sizeof(ret->cgroupns_mode), err))
        return -EINVAL;
    return 0;
}

static const struct {
    const char *name;
    int resource;
} ulimit_names[] = {
    {"as", RLIMIT_AS},           {"core", RLIMIT_CORE},         {"cpu", RLIMIT_CPU},
    {"data", RLIMIT_DATA},       {"fsize", RLIMIT_FSIZE},       {"locks", RLIMIT_LOCKS},
    {"memlock", RLIMIT_MEMLOCK}, {"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE},
    {"nofile", RLIMIT_NOFILE},   {"nproc", RLIMIT_NPROC},       {"rss", RLIMIT_RSS},
    {"rtprio", RLIMIT_RTPRIO},   {"rttime", RLIMIT_RTTIME},     {"sigpending", RLIMIT_SIGPENDING},
    {"stack", RLIMIT_STACK},
};

static int ulimit_resource(const char *name)
{
    for (size_t i = 0; i < sizeof(ulimit_names) / sizeof(ulimit_names[0]); i++)
        if (name && !strcmp(name, ulimit_names[i].name))
            return ulimit_names[i].resource;
    return -1;
}

static int parse_ulimits(const cJSON *hc, struct ctr_hostcfg *ret, struct berr *err)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(hc, "Ulimits");
    int n = cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : 0;
    if (n == 0)
        return 0;
    if (!(ret->ulimits = calloc((size_t)n, sizeof(*ret->ulimits))))
        return berr_set(err, 500, ENOMEM, "out of memory");
    const cJSON *u;
    cJSON_ArrayForEach(u, arr)
    {
        struct ctr_ulimit *l = &ret->ulimits[ret->nulimits];
        const char *name = json_get_str(u, "Name");
        if ((l->resource = ulimit_resource(name)) < 0)
            return berr_set(err, 400, EINVAL, "invalid ulimit type: %s", name ? name : "");
        l->soft = json_get_int64(u, "Soft", 0);
        l->hard = json_get_int64(u, "Hard", 0);
        if (l->soft > l->hard)
            return berr_set(err, 400, EINVAL,
                            "ulimit soft limit must be less than or equal to hard limit: %lld > "
                            "%lld",
                            (long long)l->soft, (long long)l->hard);
        ret->nulimits++;
    }
    return 0;
}

/* HostConfig.ConsoleSize is Go's [2]uint: anything else fails Docker's JSON
 * decoding with a 400, before the container exists. */
static int parse_console_size(const cJSON *cs, struct ctr_hostcfg *ret, struct berr *err)
{
    if (!cs || cJSON_IsNull(cs))
        return 0;
    int vals[2] = {0, 0};
    for (int i = 0; i < 2 && cJSON_IsArray(cs); i++) {
        const cJSON *v = cJSON_GetArrayItem(cs, i);
        if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 65535 ||
            v->valuedouble != (double)(int)v->valuedouble)
            return berr_set(err, 400, EINVAL,
                            "json: cannot unmarshal %s into Go struct field "
                            "HostConfig.HostConfig.ConsoleSize of type uint",
                            v && cJSON_IsNumber(v) ? "number" : "value");
        vals[i] = (int)v->valuedouble;
    }
    if (!cJSON_IsArray(cs) || cJSON_GetArraySize(cs) != 2)
        return berr_set(err, 400, EINVAL,
                        "json: cannot unmarshal into Go struct field "
                        "HostConfig.HostConfig.ConsoleSize of type [2]uint");
    ret->console_h = vals[0];
    ret->console_w = vals[1];
    return 0;
}

static int parse_flags(const cJSON *hc, struct ctr_hostcfg *ret, struct berr *err)
{
    ret->privileged = json_get_bool(hc, "Privileged");
    ret->readonly_rootfs = json_get_bool(hc, "ReadonlyRootfs");
    ret->auto_remove = json_get_bool(hc, "AutoRemove");
    ret->init = json_get_bool(hc, "Init");
    ret->shm_size = json_get_int64(hc, "ShmSize", 0);
    if (ret->shm_size < 0)
        return berr_set(err, 400, EINVAL, "SHM size can not be less than 0");
    int64_t adj = json_get_int64(hc, "OomScoreAdj", 0);
    if (adj < -1000 || adj > 1000)
        return berr_set(err, 400, EINVAL,
                        "Invalid value %lld, range for oom score adj is [-1000, 1000]",
                        (long long)adj);
    ret->oom_score_adj = (int)adj;
    if (parse_console_size(cJSON_GetObjectItemCaseSensitive(hc, "ConsoleSize"), ret, err) < 0)
        return -EINVAL;
    const char *parent = json_get_str(hc, "CgroupParent");
    snprintf(ret->cgroup_parent, sizeof(ret->cgroup_parent), "%s", parent ? parent : "");
    return 0;
}

static int parse_lists(const cJSON *hc, struct ctr_hostcfg *ret, struct berr *err)
{
    struct {
        const char *key;
        struct strv *out;
    } lists[] = {
        {"CapAdd", &ret->cap_add},
        {"CapDrop", &ret->cap_drop},
        {"SecurityOpt", &ret->security_opt},
        {"GroupAdd", &ret->group_add},
        {"Dns", &ret->dns},
        {"DnsSearch", &ret->dns_search},
        {"DnsOptions", &ret->dns_options},
        {"ExtraHosts", &ret->extra_hosts},
    };
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
        if (json_get_strv(hc, lists[i].key, lists[i].out, err) < 0)
            return -EINVAL;
    return 0;
}

static int parse_log_config(const cJSON *hc, struct ctr_hostcfg *ret, struct berr *err)
{
    const cJSON *lc = cJSON_GetObjectItemCaseSensitive(hc, "LogConfig");
    const char *type = json_get_str(lc, "Type");
    if (!type || !*type)
        type = "json-file";
    if (strcmp(type, "json-file") && strcmp(type, "none"))
        return berr_set(err, 400, EINVAL,
                        "failed to create logging driver: logger: no log "
                        "driver named '%s' is registered",
                        type);
    snprintf(ret->log_type, sizeof(ret->log_type), "%s", type);
    ret->log_opts = cJSON_GetObjectItemCaseSensitive(lc, "Config");
    return 0;
}

int ctr_hostcfg_parse(const cJSON *hc, struct ctr_hostcfg *ret, struct berr *err)
{
    ret->restart = RESTART_NO;
    int r = 0;
    if (hc && !cJSON_IsObject(hc))
        r = berr_set(err, 400, EINVAL, "HostConfig must be an object");
    if (r == 0)
        r = parse_flags(hc, ret, err);
    if (r == 0)
        r = parse_restart(hc, ret, err);
    if (r == 0)
        r = parse_network_mode(hc, ret, err);
    if (r == 0)
        r = parse_modes(hc, ret, err);
    if (r == 0)
        r = parse_lists(hc, ret, err);
    if (r == 0)
        r = parse_ulimits(hc, ret, err);
    if (r == 0)
        r = parse_log_config(hc, ret, err);
    if (r == 0)
        r = ctr_mounts_parse(hc, &ret->mounts, &ret->nmounts, err);
    if (r == 0)
        r = ctr_resources_parse(hc, &ret->res, err);
    if (r < 0)
        ctr_hostcfg_done(ret);
    return r < 0 ? r : 0;
}

void ctr_hostcfg_done(struct ctr_hostcfg *hc)
{
    struct strv *lists[] = {&hc->cap_add, &hc->cap_drop,   &hc->security_opt, &hc->group_add,
                            &hc->dns,     &hc->dns_search, &hc->dns_options,  &hc->extra_hosts};
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
        strv_done(lists[i]);
    ctr_mounts_free(hc->mounts, hc->nmounts);
    hc->mounts = NULL;
    hc->nmounts = 0;
    free(hc->ulimits);
    hc->ulimits = NULL;
    hc->nulimits = 0;
    ctr_resources_done(&hc->res);
}
