/* Docker's container.StatsResponse from a runtime sample, member for
 * member as moby's statsV1/statsV2 fill it and encoding/json writes it:
 * members without omitempty are always present (zero), the others only
 * when non-zero. Numbers are written as exact integers: cJSON's doubles
 * would turn a v1 hierarchical_memory_limit into 9.2233720368547717e+18,
 * which the CLI's uint64 decoding refuses. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/macros.h"
#include "common/timeutil.h"
#include "containers_stats.h"

static cJSON *u64_item(uint64_t v)
{
    char num[24];
    snprintf(num, sizeof(num), "%" PRIu64, v);
    return cJSON_CreateRaw(num);
}

static void add_u64(cJSON *o, const char *key, uint64_t v)
{
    cJSON_AddItemToObject(o, key, u64_item(v));
}

static void add_u64_nonzero(cJSON *o, const char *key, uint64_t v)
{
    if (v)
        add_u64(o, key, v);
}

static void add_time(cJSON *o, const char *key, const struct ctr_stats_sample *s)
{
    char t[TIME_RFC3339_MAX];
    if (s && s->running)
        time_format_rfc3339nano(s->read_ns, t);
    else
        snprintf(t, sizeof(t), "0001-01-01T00:00:00Z"); /* Go's zero time */
    cJSON_AddStringToObject(o, key, t);
}

static cJSON *blkio_list(const struct cg_blkio_entry *e, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        add_u64(o, "major", e[i].major);
        add_u64(o, "minor", e[i].minor);
        cJSON_AddStringToObject(o, "op", e[i].op);
        add_u64(o, "value", e[i].value);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

/* v1: containerd copies every list (empty ones too); v2: only the bytes,
 * and nil when no device has any. */
static cJSON *blkio_json(const struct ctr_stats_sample *s)
{
    static const char *const keys[] = {
        "io_service_bytes_recursive", "io_serviced_recursive",  "io_queue_recursive",
        "io_service_time_recursive",  "io_wait_time_recursive", "io_merged_recursive",
        "io_time_recursive",          "sectors_recursive",
    };
    cJSON *o = cJSON_CreateObject();
    bool v1 = s->running && s->cg_version == 1;
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
        cJSON *v = NULL;
        if (v1)
            v = i == 0   ? blkio_list(s->cg.io, s->cg.nio)
                : i == 1 ? blkio_list(s->cg.io_ops, s->cg.nio_ops)
                         : cJSON_CreateArray();
        else if (s->running && i == 0 && s->cg.nio > 0)
            v = blkio_list(s->cg.io, s->cg.nio);
        cJSON_AddItemToObject(o, keys[i], v ? v : cJSON_CreateNull());
    }
    return o;
}

static cJSON *cpu_json(const struct ctr_stats_sample *s)
{
    const struct cg_stats *cg = &s->cg;
    cJSON *o = cJSON_CreateObject(), *u = cJSON_CreateObject(), *t = cJSON_CreateObject();
    bool on = s->running;
    add_u64(u, "total_usage", on ? cg->cpu_total_ns : 0);
    if (on && cg->npercpu > 0) {
        cJSON *p = cJSON_AddArrayToObject(u, "percpu_usage");
        for (size_t i = 0; p && i < cg->npercpu; i++)
            cJSON_AddItemToArray(p, u64_item(cg->percpu_ns[i]));
    }
    add_u64(u, "usage_in_kernelmode", on ? cg->cpu_system_ns : 0);
    add_u64(u, "usage_in_usermode", on ? cg->cpu_user_ns : 0);
    cJSON_AddItemToObject(o, "cpu_usage", u);
    add_u64_nonzero(o, "system_cpu_usage", on ? s->system_cpu_ns : 0);
    add_u64_nonzero(o, "online_cpus", on ? s->online_cpus : 0);
    add_u64(t, "periods", on ? cg->nr_periods : 0);
    add_u64(t, "throttled_periods", on ? cg->throttled_periods : 0);
    add_u64(t, "throttled_time", on ? cg->throttled_ns : 0);
    cJSON_AddItemToObject(o, "throttling_data", t);
    return o;
}

static cJSON *memory_json(const struct ctr_stats_sample *s, uint64_t host_mem)
{
    cJSON *o = cJSON_CreateObject();
    const struct cg_stats *cg = &s->cg;
    if (!s->running)
        return o;
    add_u64_nonzero(o, "usage", cg->mem_usage);
    if (s->cg_version == 1)
        add_u64_nonzero(o, "max_usage", cg->mem_max_usage);
    cJSON *st = cg->nmem_stat ? cJSON_AddObjectToObject(o, "stats") : NULL;
    for (size_t i = 0; st && i < cg->nmem_stat; i++)
        add_u64(st, cg->mem_stat[i].key, cg->mem_stat[i].value);
    add_u64_nonzero(o, "failcnt", cg->mem_failcnt);
    /* moby: no limit (or one above the machine's memory) shows the machine's */
    uint64_t limit = cg->mem_limit;
    add_u64_nonzero(o, "limit", limit == 0 || (host_mem && limit > host_mem) ? host_mem : limit);
    return o;
}

cJSON *ctr_stats_json(const struct stats_view *v)
{
    static const struct ctr_stats_sample none = {.running = false};
    const struct ctr_stats_sample *s = v->cur, *pre = v->pre ? v->pre : &none;
    cJSON *o = cJSON_CreateObject();
    add_time(o, "read", s);
    add_time(o, "preread", pre);
    cJSON *pids = cJSON_AddObjectToObject(o, "pids_stats");
    add_u64_nonzero(pids, "current", s->running ? s->cg.pids_current : 0);
    add_u64_nonzero(pids, "limit", s->running ? s->cg.pids_limit : 0);
    cJSON_AddItemToObject(o, "blkio_stats", blkio_json(s));
    add_u64(o, "num_procs", 0); /* Windows only */
    cJSON_AddObjectToObject(o, "storage_stats");
    cJSON_AddItemToObject(o, "cpu_stats", cpu_json(s));
    cJSON_AddItemToObject(o, "precpu_stats", cpu_json(pre));
    cJSON_AddItemToObject(o, "memory_stats", memory_json(s, v->host_mem));
    char name[260];
    snprintf(name, sizeof(name), "/%s", v->name);
    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddStringToObject(o, "id", v->id);
    return o;
}
