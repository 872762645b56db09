/* Daemon start: bring each container's record in line with the machine
 * (moby's restore() without live-restore). Whatever a container left behind
 * when the daemon died (kill -9, crash, power cut) is cleaned: processes
 * still in its cgroup (berth-init, reparented when the daemon died) are
 * killed, the cgroup is removed, the root is unmounted. A container that was
 * running can't have its exit collected any more: it becomes exited with
 * 255, as Docker shows it. This runs in rt_init, before the loop serves any
 * client, where blocking is allowed; the restarts it decides are ordinary
 * start jobs on the loop. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/atomicfile.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "ctr_internal.h"

/* moby's ExitStatus when containerd has no exit status to give. */
#define EXIT_UNKNOWN 255

/* Kills what is left in the container's cgroup and removes the cgroup.
 * Returns whether any process was found there. */
static bool kill_leftovers(struct rt *rt, const struct container *c)
{
    struct cgroup cg;
    struct berr err = {0};
    if (cgroup_init(&cg, &rt->cg, c->hc.cgroup_parent, c->id, &err) < 0) {
        log_warn("container %.12s: %s", c->id, err.msg);
        return false;
    }
    pid_t *pids = NULL;
    size_t n = 0;
    bool found = cgroup_pids(&cg, &pids, &n, &err) == 0 && n > 0;
    free(pids);
    if (found) {
        log_info("container %.12s: killing %zu process(es) left from before (recorded pid %d)",
                 c->id, n, (int)c->st.pid);
        if (cgroup_kill_all(&cg, &err) < 0)
            log_warn("container %.12s: %s", c->id, err.msg);
    }
    err = (struct berr){0};
    if (cgroup_remove(&cg, &err) < 0)
        log_warn("container %.12s: %s", c->id, err.msg);
    return found;
}

static void save_state_sync(const struct container *c)
{
    char path[4200];
    char *doc = ctr_state_doc(&c->st);
    struct berr err = {0};
    snprintf(path, sizeof(path), "%s/state.json", c->dir);
    if (!doc || atomic_write_file(path, doc, strlen(doc), 0600, &err) < 0)
        log_error("container %.12s: saving its state: %s", c->id, doc ? err.msg : "no memory");
    free(doc);
}

static void mark_exited(struct container *c)
{
    c->st.status = CTR_EXITED;
    c->st.exit_code = EXIT_UNKNOWN;
    c->st.pid = 0;
    c->st.finished_ns = time_now_ns();
}

void ctr_reconcile_sync(struct rt *rt, struct container *c)
{
    /* Every container, whatever its record says: the daemon may have died
     * between spawning a process and saving "running". Without leftovers
     * this is a few failing syscalls. */
    bool found = kill_leftovers(rt, c);
    int r = ctr_rootfs_unmount_sync(c->dir);
    if (r < 0)
        log_warn("container %.12s: unmounting its root: %s", c->id, strerror(-r));
    bool changed = true;
    if (c->st.status == CTR_RUNNING || c->st.status == CTR_PAUSED || c->st.status == CTR_RESTARTING)
        mark_exited(c);
    else if (c->st.status == CTR_REMOVING)
        c->st.status = CTR_DEAD; /* as moby: the user decides what to remove */
    else
        changed = false;
    if (changed || found)
        save_state_sync(c);
}

static void boot_started(void *ud, const struct berr *err)
{
    struct container *c = ud;
    if (err->status)
        log_warn("container %.12s: starting it at daemon start: %s", c->id, err->msg);
    ctr_unref(c);
}

static void boot_removed(void *ud, const struct berr *err)
{
    struct container *c = ud;
    if (err->status)
        log_warn("container %.12s: auto-remove at daemon start: %s", c->id, err->msg);
    ctr_unref(c);
}

void ctr_reconcile_restart(struct rt *rt)
{
    const char *k;
    void *v;
    for (size_t i = 0; map_next(&rt->ctrs.by_id, &i, &k, &v);) {
        struct container *c = v;
        struct restart_facts f;
        ctr_restart_facts_of(c, &f);
        if (c->st.has_been_started && ctr_restart_at_boot(&f)) {
            log_info("container %.12s: restart policy %s: starting it", c->id,
                     ctr_restart_name(c->hc.restart));
            ctr_ref(c);
            rt_start(rt, c, boot_started, c);
        } else if (c->hc.auto_remove) {
            ctr_ref(c);
            rt_remove(rt, c, true, boot_removed, c);
        }
    }
}
