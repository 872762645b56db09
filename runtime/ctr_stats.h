/* `docker stats` samples: a container's cgroup counters and the host's CPU
 * time, read together on a worker (ctr_stats.c). Loop thread API. */
#ifndef BERTH_RUNTIME_CTR_STATS_H
#define BERTH_RUNTIME_CTR_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include "cgroup.h"
#include "rt.h"

struct ctr_stats_sample {
    bool running; /* false: a stopped container's sample, every counter zero */
    int cg_version;
    int64_t read_ns; /* wall clock when it was read */
    struct cg_stats cg;
    uint64_t system_cpu_ns; /* host CPU time (/proc/stat), Docker's system_cpu_usage */
    uint32_t online_cpus;
};

typedef void (*rt_stats_fn)(void *ud, const struct ctr_stats_sample *s);
struct rt_stats_op;

/* Queues one sample of c, whose process must be there (running or paused):
 * 0 and *ret_op set, fn called later on the loop unless cancelled first;
 * -ESRCH when c is not running, -ENOMEM or -EAGAIN, and fn is never called.
 * The sample is read close to the host CPU time, so Docker's CPU
 * percentage (container delta over host delta) has little noise. */
int rt_stats_sample(struct rt *rt, struct container *c, rt_stats_fn fn, void *ud,
                    struct rt_stats_op **ret_op);
/* fn will not be called; the worker's memory goes when it ends. */
void rt_stats_cancel(struct rt_stats_op *op);

#endif
