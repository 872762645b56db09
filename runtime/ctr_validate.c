/* Checks a container's settings the way Docker does before anything is
 * written: resources against the host's cgroups (Docker's 400 wording and
 * warnings) and the log driver's options. Docker stores the adjusted
 * resources (MemorySwap defaulting to twice Memory, features the host
 * lacks dropped), so inspect shows what the container will really get: the
 * adjusted numbers go back into both the parsed and the JSON HostConfig. */
#include "ctr_validate.h"

#include <errno.h>
#include <string.h>

#include "common/jsonutil.h"
#include "ctr_internal.h"

static void set_int(cJSON *hc, const char *key, int64_t v)
{
    cJSON *n = json_create_int64(v);
    if (!n)
        return;
    if (cJSON_GetObjectItemCaseSensitive(hc, key))
        cJSON_ReplaceItemInObjectCaseSensitive(hc, key, n);
    else
        cJSON_AddItemToObject(hc, key, n);
}

/* cgroup_validate may only lower or default these; write them back. */
static void write_back(struct container *c, const struct cg_limits *l)
{
    struct ctr_resources *r = &c->hc.res;
    r->memory = l->memory;
    r->memory_swap = l->memory_swap;
    r->memory_reservation = l->memory_reservation;
    r->memory_swappiness = l->memory_swappiness;
    r->oom_kill_disable = l->oom_kill_disable;
    r->cpu_shares = l->cpu_shares;
    r->cpu_quota = l->cpu_quota;
    r->cpu_period = l->cpu_period;
    r->pids_limit = l->pids_limit;
    r->blkio_weight = l->blkio_weight;
    cJSON *hc = c->host_config;
    set_int(hc, "Memory", r->memory);
    set_int(hc, "MemorySwap", r->memory_swap);
    set_int(hc, "MemoryReservation", r->memory_reservation);
    set_int(hc, "CpuShares", r->cpu_shares);
    set_int(hc, "CpuQuota", r->cpu_quota);
    set_int(hc, "CpuPeriod", r->cpu_period);
    set_int(hc, "BlkioWeight", r->blkio_weight);
    if (r->pids_limit > 0 || cJSON_GetObjectItemCaseSensitive(hc, "PidsLimit"))
        set_int(hc, "PidsLimit", r->pids_limit);
    if (r->memory_swappiness == -1 && cJSON_GetObjectItemCaseSensitive(hc, "MemorySwappiness"))
        cJSON_ReplaceItemInObjectCaseSensitive(hc, "MemorySwappiness", cJSON_CreateNull());
}

/* Host features that are missing empty these lists (with a warning). */
static void drop_discarded(struct container *c, const struct cg_limits *l)
{
    struct ctr_resources *r = &c->hc.res;
    if (!l->cpuset_cpus && r->cpuset_cpus)
        r->cpuset_cpus[0] = '\0';
    if (!l->cpuset_mems && r->cpuset_mems)
        r->cpuset_mems[0] = '\0';
    /* cgroup_validate drops a whole list or keeps it */
    if (l->nweight_device == 0)
        ctr_throttles_free(&r->weight_device, &r->nweight_device);
    if (l->nread_bps == 0)
        ctr_throttles_free(&r->read_bps, &r->nread_bps);
    if (l->nwrite_bps == 0)
        ctr_throttles_free(&r->write_bps, &r->nwrite_bps);
    if (l->nread_iops == 0)
        ctr_throttles_free(&r->read_iops, &r->nread_iops);
    if (l->nwrite_iops == 0)
        ctr_throttles_free(&r->write_iops, &r->nwrite_iops);
}

int ctr_resources_validate(const struct rt *rt, struct container *c, bool update,
                           struct cg_warnings *warn, struct berr *err)
{
    struct cg_limits lim;
    ctr_limits_from(&c->hc, &lim);
    if (cgroup_validate(&rt->cg, &lim, update, warn, err) < 0)
        return -EINVAL;
    write_back(c, &lim);
    drop_discarded(c, &lim);
    return 0;
}

int ctr_log_opts(const struct container *c, struct logw_opts *ret, struct berr *err)
{
    logw_opts_init(ret);
    if (strcmp(c->hc.log_type, "json-file"))
        return 0;
    const cJSON *opt;
    cJSON_ArrayForEach(opt, c->hc.log_opts)
    {
        if (!cJSON_IsString(opt))
            return berr_set(err, 400, EINVAL, "invalid log opt '%s': value must be a string",
                            opt->string ? opt->string : "");
        if (logw_opts_set(ret, opt->string, opt->valuestring, err) < 0)
            return -EINVAL;
    }
    return logw_opts_check(ret, err);
}
