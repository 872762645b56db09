/* HostConfig's Resources members (shared by create and `docker update`).
 * Range checks against the host (CPU count, minimum memory) live with the
 * cgroup code, which knows the host. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonutil.h"
#include "ctr_hostcfg.h"

static int parse_throttles(const cJSON *hc, const char *key, const char *value_key,
                           struct cg_throttle **ret, size_t *ret_n, struct berr *err)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(hc, key);
    int n = cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : 0;
    if (n == 0)
        return 0;
    if (!(*ret = calloc((size_t)n, sizeof(**ret))))
        return berr_set(err, 500, ENOMEM, "out of memory");
    const cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        const char *path = json_get_str(e, "Path");
        int64_t v = json_get_int64(e, value_key, -1);
        if (!path || path[0] != '/' || v < 0)
            return berr_set(err, 400, EINVAL,
                            "invalid %s entry: need an absolute Path and a "
                            "non-negative %s",
                            key, value_key);
        struct cg_throttle *t = &(*ret)[(*ret_n)++];
        t->rate = (uint64_t)v;
        if (!(t->path = strdup(path)))
            return berr_set(err, 500, ENOMEM, "out of memory");
    }
    return 0;
}

static int dup_opt(const cJSON *hc, const char *key, char **out, struct berr *err)
{
    const char *s = json_get_str(hc, key);
    if (s && *s && !(*out = strdup(s)))
        return berr_set(err, 500, ENOMEM, "out of memory");
    return 0;
}

static void parse_numbers(const cJSON *hc, struct ctr_resources *r)
{
    r->memory = json_get_int64(hc, "Memory", 0);
    r->memory_swap = json_get_int64(hc, "MemorySwap", 0);
    r->memory_reservation = json_get_int64(hc, "MemoryReservation", 0);
    r->memory_swappiness = json_get_int64(hc, "MemorySwappiness", -1);
    r->oom_kill_disable = json_get_bool(hc, "OomKillDisable");
    r->nano_cpus = json_get_int64(hc, "NanoCpus", 0);
    r->cpu_shares = json_get_int64(hc, "CpuShares", 0);
    r->cpu_quota = json_get_int64(hc, "CpuQuota", 0);
    r->cpu_period = json_get_int64(hc, "CpuPeriod", 0);
    r->pids_limit = json_get_int64(hc, "PidsLimit", 0);
    r->blkio_weight = (int)json_get_int64(hc, "BlkioWeight", 0);
}

static int check_numbers(const struct ctr_resources *r, struct berr *err)
{
    if (r->memory < 0 || r->memory_reservation < 0 || r->memory_swap < -1)
        return berr_set(err, 400, EINVAL, "invalid memory value: must not be negative");
    if (r->memory_swappiness != -1 && (r->memory_swappiness < 0 || r->memory_swappiness > 100))
        return berr_set(err, 400, EINVAL,
                        "Invalid value: %lld, valid memory swappiness range is 0-100",
                        (long long)r->memory_swappiness);
    /* negative NanoCpus: cgroup_validate answers with Docker's range message */
    if (r->cpu_shares < 0 || r->cpu_quota < -1 || r->cpu_period < 0)
        return berr_set(err, 400, EINVAL, "invalid CPU value: must not be negative");
    if (r->blkio_weight != 0 && (r->blkio_weight < 10 || r->blkio_weight > 1000))
        return berr_set(err, 400, EINVAL, "Range of blkio weight is from 10 to 1000");
    return 0;
}

int ctr_resources_parse(const cJSON *hc, struct ctr_resources *r, struct berr *err)
{
    parse_numbers(hc, r);
    int rc = check_numbers(r, err);
    if (rc == 0)
        rc = dup_opt(hc, "CpusetCpus", &r->cpuset_cpus, err);
    if (rc == 0)
        rc = dup_opt(hc, "CpusetMems", &r->cpuset_mems, err);
    if (rc == 0)
        rc = parse_throttles(hc, "BlkioWeightDevice", "Weight", &r->weight_device,
                             &r->nweight_device, err);
    if (rc == 0)
        rc = parse_throttles(hc, "BlkioDeviceReadBps", "Rate", &r->read_bps, &r->nread_bps, err);
    if (rc == 0)
        rc = parse_throttles(hc, "BlkioDeviceWriteBps", "Rate", &r->write_bps, &r->nwrite_bps, err);
    if (rc == 0)
        rc = parse_throttles(hc, "BlkioDeviceReadIOps", "Rate", &r->read_iops, &r->nread_iops, err);
    if (rc == 0)
        rc = parse_throttles(hc, "BlkioDeviceWriteIOps", "Rate", &r->write_iops, &r->nwrite_iops,
                             err);
    if (rc < 0)
        ctr_resources_done(r);
    return rc < 0 ? rc : 0;
}

void ctr_throttles_free(struct cg_throttle **t, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        free((char *)(*t)[i].path);
    free(*t);
    *t = NULL;
    *n = 0;
}

void ctr_resources_done(struct ctr_resources *r)
{
    free(r->cpuset_cpus);
    free(r->cpuset_mems);
    r->cpuset_cpus = r->cpuset_mems = NULL;
    ctr_throttles_free(&r->weight_device, &r->nweight_device);
    ctr_throttles_free(&r->read_bps, &r->nread_bps);
    ctr_throttles_free(&r->write_bps, &r->nwrite_bps);
    ctr_throttles_free(&r->read_iops, &r->nread_iops);
    ctr_throttles_free(&r->write_iops, &r->nwrite_iops);
}
