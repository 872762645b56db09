/* Readers for `docker stats`: whatever the host's files offer; a missing
 * file leaves its fields at zero rather than failing the whole sample. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup_internal.h"

static uint64_t u64_or_zero(const char *dir, const char *file)
{
    uint64_t v = 0;
    struct berr ignored = {0};
    if (!*dir || cg__read_u64(dir, file, &v, &ignored) < 0 || v == UINT64_MAX)
        return 0;
    return v;
}

static uint64_t key_or_zero(const char *text, const char *key)
{
    uint64_t v = 0;
    return cg__key_u64(text, key, &v) == 0 ? v : 0;
}

static char *read_or_null(const char *dir, const char *file)
{
    char *text = NULL;
    struct berr ignored = {0};
    if (!*dir || cg__read_all(dir, file, &text, &ignored) < 0)
        return NULL;
    return text;
}

static void parse_kv(const char *text, struct cg_stats *s)
{
    for (const char *p = text; p && *p && s->nmem_stat < CG_STAT_MAX;) {
        struct cg_kv *kv = &s->mem_stat[s->nmem_stat];
        size_t len = strcspn(p, " \n");
        if (p[len] == ' ' && len < sizeof(kv->key)) {
            memcpy(kv->key, p, len);
            kv->key[len] = '\0';
            kv->value = strtoull(p + len + 1, NULL, 10);
            s->nmem_stat++;
        }
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
}

static void mem_stat(const char *dir, struct cg_stats *s)
{
    char *text = read_or_null(dir, "memory.stat");
    if (text)
        parse_kv(text, s);
    free(text);
}

static uint64_t ticks_to_ns(uint64_t ticks)
{
    long hz = sysconf(_SC_CLK_TCK);
    return ticks * (1000000000ull / (uint64_t)(hz > 0 ? hz : 100));
}

/* ---- v1 ---------------------------------------------------------------- */

static void v1_cpu(const struct cgroup *cg, struct cg_stats *s)
{
    const char *acct = cg->dir[CG_CPUACCT];
    s->cpu_total_ns = u64_or_zero(acct, "cpuacct.usage");
    char *text = read_or_null(acct, "cpuacct.stat");
    if (text) {
        s->cpu_user_ns = ticks_to_ns(key_or_zero(text, "user"));
        s->cpu_system_ns = ticks_to_ns(key_or_zero(text, "system"));
        free(text);
    }
    if ((text = read_or_null(acct, "cpuacct.usage_percpu"))) {
        char *p = text, *end;
        while (s->npercpu < CG_PERCPU_MAX) {
            uint64_t v = strtoull(p, &end, 10);
            if (end == p)
                break;
            s->percpu_ns[s->npercpu++] = v;
            p = end;
        }
        free(text);
    }
    if ((text = read_or_null(cg->dir[CG_CPU], "cpu.stat"))) {
        s->nr_periods = key_or_zero(text, "nr_periods");
        s->throttled_periods = key_or_zero(text, "nr_throttled");
        s->throttled_ns = key_or_zero(text, "throttled_time");
        free(text);
    }
}

/* "8:0 Read 4096" lines; the last line "Total N" is skipped. */
static size_t v1_blkio_file(const char *dir, const char *file, struct cg_blkio_entry *out)
{
    char *text = read_or_null(dir, file);
    size_t n = 0;
    for (const char *p = text; p && *p && n < CG_BLKIO_MAX;) {
        struct cg_blkio_entry *e = &out[n];
        unsigned long long v;
        if (sscanf(p, "%u:%u %7s %llu", &e->major, &e->minor, e->op, &v) == 4) {
            e->value = v;
            n++;
        }
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    free(text);
    return n;
}

/* The throttle files, as containerd reads them when the CFQ ones are
 * absent (every kernel since CFQ was removed). */
static void v1_blkio(const char *dir, struct cg_stats *s)
{
    s->nio = v1_blkio_file(dir, "blkio.throttle.io_service_bytes", s->io);
    s->nio_ops = v1_blkio_file(dir, "blkio.throttle.io_serviced", s->io_ops);
}

static void v1_stats(const struct cgroup *cg, struct cg_stats *s)
{
    const char *mem = cg->dir[CG_MEMORY];
    s->mem_usage = u64_or_zero(mem, "memory.usage_in_bytes");
    s->mem_max_usage = u64_or_zero(mem, "memory.max_usage_in_bytes");
    s->mem_limit = u64_or_zero(mem, "memory.limit_in_bytes");
    s->mem_failcnt = u64_or_zero(mem, "memory.failcnt");
    mem_stat(mem, s);
    v1_cpu(cg, s);
    s->pids_current = u64_or_zero(cg->dir[CG_PIDS], "pids.current");
    s->pids_limit = u64_or_zero(cg->dir[CG_PIDS], "pids.max");
    v1_blkio(cg->dir[CG_BLKIO], s);
}

/* ---- v2 ---------------------------------------------------------------- */

/* "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0" per device. */
static void v2_io(const char *dir, struct cg_stats *s)
{
    char *text = read_or_null(dir, "io.stat");
    for (const char *p = text; p && *p && s->nio + 2 <= CG_BLKIO_MAX;) {
        unsigned maj, min;
        const char *rb = strstr(p, "rbytes="), *wb = strstr(p, "wbytes=");
        const char *eol = strchr(p, '\n');
        if (sscanf(p, "%u:%u", &maj, &min) == 2 && rb && wb && (!eol || wb < eol)) {
            s->io[s->nio] = (struct cg_blkio_entry){maj, min, "read", strtoull(rb + 7, NULL, 10)};
            s->io[s->nio + 1] =
                (struct cg_blkio_entry){maj, min, "write", strtoull(wb + 7, NULL, 10)};
            s->nio += 2;
        }
        p = eol ? eol + 1 : NULL;
    }
    free(text);
}

static void v2_stats(const struct cgroup *cg, struct cg_stats *s)
{
    const char *dir = cg->dir[0];
    s->mem_usage = u64_or_zero(dir, "memory.current");
    s->mem_max_usage = u64_or_zero(dir, "memory.peak");
    s->mem_limit = u64_or_zero(dir, "memory.max");
    char *events = read_or_null(dir, "memory.events");
    s->mem_failcnt = events ? key_or_zero(events, "oom") : 0;
    free(events);
    mem_stat(dir, s);
    char *text = read_or_null(dir, "cpu.stat");
    if (text) {
        s->cpu_total_ns = key_or_zero(text, "usage_usec") * 1000;
        s->cpu_user_ns = key_or_zero(text, "user_usec") * 1000;
        s->cpu_system_ns = key_or_zero(text, "system_usec") * 1000;
        s->nr_periods = key_or_zero(text, "nr_periods");
        s->throttled_periods = key_or_zero(text, "nr_throttled");
        s->throttled_ns = key_or_zero(text, "throttled_usec") * 1000;
        free(text);
    }
    s->pids_current = u64_or_zero(dir, "pids.current");
    s->pids_limit = u64_or_zero(dir, "pids.max");
    v2_io(dir, s);
}

int cgroup_stats(const struct cgroup *cg, struct cg_stats *ret, struct berr *err)
{
    (void)err;
    memset(ret, 0, sizeof(*ret));
    if (cg->version == 2)
        v2_stats(cg, ret);
    else
        v1_stats(cg, ret);
    /* v1 reports "no limit" as a huge page-aligned number. */
    if (ret->mem_limit >= (UINT64_MAX >> 2))
        ret->mem_limit = 0;
    return 0;
}

int cgroup_system_cpu_ns(const char *proc_stat, uint64_t *ret, struct berr *err)
{
    char buf[512];
    const char *path = proc_stat ? proc_stat : "/proc/stat";
    char dir[CG_PATH_MAX];
    const char *slash = strrchr(path, '/');
    snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    int r = cg__read(dir, slash ? slash + 1 : path, buf, sizeof(buf), err);
    if (r < 0)
        return r;
    unsigned long long f[7];
    if (sscanf(buf, "cpu %llu %llu %llu %llu %llu %llu %llu", &f[0], &f[1], &f[2], &f[3], &f[4],
               &f[5], &f[6]) != 7)
        return berr_set(err, 500, EINVAL, "cgroup: %s: unexpected format", path);
    uint64_t ticks = 0;
    for (int i = 0; i < 7; i++)
        ticks += f[i];
    *ret = ticks_to_ns(ticks);
    return 0;
}
