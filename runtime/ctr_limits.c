/* HostConfig resources as cgroup limits (pointers borrowed from hc). */
#include "ctr_internal.h"

void ctr_limits_from(const struct ctr_hostcfg *hc, struct cg_limits *l)
{
    const struct ctr_resources *r = &hc->res;
    cgroup_limits_init(l);
    l->memory = r->memory;
    l->memory_swap = r->memory_swap;
    l->memory_reservation = r->memory_reservation;
    l->memory_swappiness = r->memory_swappiness;
    l->oom_kill_disable = r->oom_kill_disable;
    l->nano_cpus = r->nano_cpus;
    l->cpu_shares = r->cpu_shares;
    l->cpu_quota = r->cpu_quota;
    l->cpu_period = r->cpu_period;
    l->cpuset_cpus = r->cpuset_cpus;
    l->cpuset_mems = r->cpuset_mems;
    l->pids_limit = r->pids_limit;
    l->blkio_weight = r->blkio_weight;
    l->weight_device = r->weight_device;
    l->nweight_device = r->nweight_device;
    l->read_bps = r->read_bps;
    l->nread_bps = r->nread_bps;
    l->write_bps = r->write_bps;
    l->nwrite_bps = r->nwrite_bps;
    l->read_iops = r->read_iops;
    l->nread_iops = r->nread_iops;
    l->write_iops = r->write_iops;
    l->nwrite_iops = r->nwrite_iops;
    l->privileged = hc->privileged;
}
