/* Stop, kill, wait, remove, and what happens after a container exits
 * (events, waiters, restart policy, auto-remove). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonutil.h"
#include "common/log.h"
#include "common/macros.h"
#include "ctr_internal.h"
#include "exec.h"

/* ---- wait ---- */

static bool cond_holds(const struct container *c, enum rt_wait_cond cond)
{
    return cond == WAIT_NOT_RUNNING && !ctr_is_running(c) && !c->starting;
}

void rt_wait(struct rt *rt, struct container *c, struct ctr_waiter *w)
{
    (void)rt;
    if (cond_holds(c, w->cond)) {
        w->fn(w->ud, c->st.exit_code, NULL);
        return;
    }
    list_add_tail(&c->waiters, &w->link);
}

void rt_wait_cancel(struct ctr_waiter *w)
{
    list_del(&w->link);
}

void ctr_waiters_fire(struct container *c, bool removed)
{
    struct list *it = c->waiters.next;
    while (it != &c->waiters) {
        struct ctr_waiter *w = container_of(it, struct ctr_waiter, link);
        it = it->next;
        if (w->cond == WAIT_REMOVED && !removed)
            continue;
        list_del(&w->link);
        w->fn(w->ud, c->st.exit_code, NULL);
    }
}

/* ---- kill and stop ---- */

/* moby's killWithSignal thaws a paused container after sending SIGKILL or
 * its stop signal (any signal when it has no StopSignal), so the signal is
 * acted on; other signals wait for an unpause. */
static bool thaws_for(const struct container *c, int sig)
{
    const char *s = json_get_str(c->config, "StopSignal");
    int stop_sig;
    if (sig == SIGKILL || !s || !*s || rt_signal_parse(s, &stop_sig) < 0)
        return true;
    return sig == stop_sig;
}

/* by_user: the user's kill or stop, which keeps an unless-stopped container
 * down; the daemon stopping its containers at shutdown is not (moby does
 * the same: their policies apply when it comes back). */
static int kill_signal(struct rt *rt, struct container *c, int sig, bool by_user, struct berr *err)
{
    if (!ctr_is_running(c) || !c->rt)
        return berr_set(err, 409, EINVAL, "cannot kill container: %s: container %s is not running",
                        c->name, c->id);
    int r = ctr_proc_signal(c, sig);
    if (r < 0 && r != -ESRCH)
        return berr_errno(err, 500, -r, "cannot kill container %s", c->id);
    if ((sig == SIGKILL || sig == SIGTERM || sig == SIGINT) && by_user)
        c->st.manually_stopped = true;
    if (thaws_for(c, sig))
        ctr_thaw_for_signal(rt, c);
    char num[16];
    snprintf(num, sizeof(num), "%d", sig);
    const char *extra[] = {"signal", num, NULL};
    rt_event(rt, c, "kill", extra);
    return 0;
}

int rt_kill(struct rt *rt, struct container *c, int sig, struct berr *err)
{
    return kill_signal(rt, c, sig, true, err);
}

static void stop_timeout(uv_timer_t *t)
{
    struct ctr_runtime *r = t->data;
    if (!r->exited) {
        log_info("container %.12s did not stop in time, killing it", r->c->id);
        struct berr err = {0};
        kill_signal(r->rt, r->c, SIGKILL, false, &err); /* the stop decided already */
    }
}

static int stop_signal_of(const struct container *c, const char *given)
{
    int sig = SIGTERM;
    const char *s = given ? given : json_get_str(c->config, "StopSignal");
    if (s && *s && rt_signal_parse(s, &sig) < 0)
        sig = SIGTERM;
    return sig;
}

static void stop(struct rt *rt, struct container *c, const char *signal, int timeout_s,
                 bool by_user, rt_done_fn done, void *ud)
{
    struct ctr_runtime *r = c->rt;
    struct ctr_stop_waiter *sw = r ? calloc(1, sizeof(*sw)) : NULL;
    if (!sw) {
        /* not running (any more), or waiting to be restarted */
        if (c->restart_timer) {
            c->st.manually_stopped |= by_user;
            ctr_restart_cancel(c);
            rt_save_state(rt, c);
        }
        done(ud, &(struct berr){0});
        return;
    }
    sw->done = done;
    sw->ud = ud;
    list_add_tail(&r->stop_waiters, &sw->link);
    c->st.manually_stopped |= by_user;
    if (timeout_s < 0)
        timeout_s = (int)json_get_int64(c->config, "StopTimeout", 10);
    if (r->stop_requested)
        return;
    r->stop_requested = true;
    struct berr err = {0};
    kill_signal(rt, c, stop_signal_of(c, signal), by_user, &err);
    uv_timer_start(&r->stop_timer, stop_timeout, (uint64_t)(timeout_s < 0 ? 0 : timeout_s) * 1000,
                   0);
}

void rt_stop(struct rt *rt, struct container *c, const char *signal, int timeout_s, rt_done_fn done,
             void *ud)
{
    stop(rt, c, signal, timeout_s, true, done, ud);
}

void ctr_stop_by_daemon(struct rt *rt, struct container *c, rt_done_fn done, void *ud)
{
    stop(rt, c, NULL, -1, false, done, ud);
}

static void fire_stop_waiters(struct ctr_runtime *r)
{
    while (!list_empty(&r->stop_waiters)) {
        struct ctr_stop_waiter *sw =
            container_of(r->stop_waiters.next, struct ctr_stop_waiter, link);
        list_del(&sw->link);
        sw->done(sw->ud, &(struct berr){0});
        free(sw);
    }
}

/* ---- after exit ---- */

static void auto_removed(void *ud, const struct berr *err)
{
    struct container *c = ud;
    if (err->status)
        log_warn("container %.12s: auto-remove failed: %s", c->id, err->msg);
    ctr_unref(c);
}

void ctr_after_exit(struct rt *rt, struct container *c)
{
    char code[16];
    snprintf(code, sizeof(code), "%d", c->st.exit_code);
    const char *extra[] = {"exitCode", code, NULL};
    rt_save_state(rt, c);
    rt_event(rt, c, "die", extra);
    ctr_waiters_fire(c, false);
    if (c->st.status == CTR_REMOVING || c->removed)
        return; /* a waiter was rm -f: it removes, no policy applies */
    if (c->hc.auto_remove && !rt->shutting_down) {
        ctr_ref(c);
        rt_remove(rt, c, true, auto_removed, c);
        return;
    }
    ctr_restart_maybe(rt, c);
}

void ctr_stopped(struct ctr_runtime *r)
{
    if (r->stop_requested)
        rt_event(r->rt, r->c, "stop", NULL);
    fire_stop_waiters(r);
}

/* ---- daemon shutdown: stop every running container ---- */

struct shutdown_ctx {
    int pending;
    void (*done)(void *ud);
    void *ud;
};

static void one_stopped(void *ud, const struct berr *err)
{
    struct shutdown_ctx *sc = ud;
    (void)err;
    if (--sc->pending == 0) {
        sc->done(sc->ud);
        free(sc);
    }
}

void rt_shutdown(struct rt *rt, void (*done)(void *ud), void *ud)
{
    struct shutdown_ctx *sc = calloc(1, sizeof(*sc));
    rt->shutting_down = true;
    if (!sc) {
        done(ud);
        return;
    }
    *sc = (struct shutdown_ctx){1, done, ud};
    rt_exec_shutdown(rt);
    const char *k;
    void *v;
    for (size_t i = 0; map_next(&rt->ctrs.by_id, &i, &k, &v);) {
        struct container *c = v;
        if (c->restart_timer) {
            ctr_restart_cancel(c); /* exited, and its policy applies at next start */
            rt_save_state(rt, c);
        }
        if (!c->rt)
            continue;
        sc->pending++;
        ctr_stop_by_daemon(rt, c, one_stopped, sc);
    }
    one_stopped(sc, NULL);
}
