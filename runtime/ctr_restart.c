/* Restart policies with Docker's backoff: the delay starts at 100 ms and
 * doubles on each restart up to a minute, and starts over when the
 * container had run for 10 s. The container shows "restarting" meanwhile. */
#include <stdlib.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "ctr_internal.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 60000
#define RESET_AFTER_NS (10LL * 1000000000LL)

struct ctr_restart_timer {
    uv_timer_t t;
    struct rt *rt;
    struct container *c;
};

static bool within_retries(const struct restart_facts *f)
{
    return f->max_retries == 0 || f->restart_count < f->max_retries;
}

bool ctr_restart_after_exit(const struct restart_facts *f)
{
    switch (f->policy) {
    case RESTART_ALWAYS:
    case RESTART_UNLESS_STOPPED:
        return !f->manually_stopped;
    case RESTART_ON_FAILURE:
        return f->exit_code != 0 && !f->manually_stopped && within_retries(f);
    default:
        return false;
    }
}

bool ctr_restart_at_boot(const struct restart_facts *f)
{
    switch (f->policy) {
    case RESTART_ALWAYS:
        return true;
    case RESTART_UNLESS_STOPPED:
        return !f->manually_stopped;
    case RESTART_ON_FAILURE:
        return f->exit_code != 0 && within_retries(f);
    default:
        return false;
    }
}

void ctr_restart_facts_of(const struct container *c, struct restart_facts *ret)
{
    *ret = (struct restart_facts){.policy = c->hc.restart,
                                  .max_retries = c->hc.restart_max,
                                  .restart_count = c->st.restart_count,
                                  .exit_code = c->st.exit_code,
                                  .manually_stopped = c->st.manually_stopped};
}

int64_t ctr_restart_next_delay(int64_t prev_ms, int64_t ran_ns)
{
    if (ran_ns >= RESET_AFTER_NS || prev_ms <= 0)
        return BACKOFF_MIN_MS;
    return prev_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : prev_ms * 2;
}

static void timer_closed(uv_handle_t *h)
{
    struct ctr_restart_timer *rt = h->data;
    ctr_unref(rt->c);
    free(rt);
}

static void restarted(void *ud, const struct berr *err)
{
    struct container *c = ud;
    if (err->status)
        log_warn("container %.12s: restart failed: %s", c->id, err->msg);
    ctr_unref(c);
}

static void fire(uv_timer_t *t)
{
    struct ctr_restart_timer *rtm = t->data;
    struct container *c = rtm->c;
    c->restart_timer = NULL;
    if (!c->removed && c->st.status == CTR_RESTARTING) {
        c->st.restart_count++;
        ctr_ref(c);
        rt_start(rtm->rt, c, restarted, c);
    }
    uv_close((uv_handle_t *)t, timer_closed);
}

void ctr_restart_cancel(struct container *c)
{
    struct ctr_restart_timer *rtm = c->restart_timer;
    if (!rtm)
        return;
    c->restart_timer = NULL;
    uv_timer_stop(&rtm->t);
    uv_close((uv_handle_t *)&rtm->t, timer_closed);
    if (c->st.status == CTR_RESTARTING)
        c->st.status = CTR_EXITED;
}

void ctr_restart_maybe(struct rt *rt, struct container *c)
{
    struct restart_facts f;
    ctr_restart_facts_of(c, &f);
    if (rt->shutting_down || c->removed || !ctr_restart_after_exit(&f))
        return;
    struct ctr_restart_timer *rtm = calloc(1, sizeof(*rtm));
    if (!rtm)
        return;
    c->restart_delay_ms =
        ctr_restart_next_delay(c->restart_delay_ms, c->st.finished_ns - c->st.started_ns);
    rtm->rt = rt;
    rtm->c = c;
    ctr_ref(c);
    uv_timer_init(rt->loop, &rtm->t);
    rtm->t.data = rtm;
    c->restart_timer = rtm;
    c->st.status = CTR_RESTARTING;
    rt_save_state(rt, c);
    uv_timer_start(&rtm->t, fire, (uint64_t)c->restart_delay_ms, 0);
}
