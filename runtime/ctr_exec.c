/* Exec records: create, lookup with moby's checks, start, the client's
 * side (stdin, flow control, detach, resize), exit, events and the
 * collector that drops old records. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "common/jsonutil.h"
#include "common/log.h"
#include "ctr_exec_internal.h"
#include "spawn.h"

/* ---- references and the table --------------------------------------- */

void exec_ref(struct rt_exec *e)
{
    e->refs++;
}

void exec_unref(struct rt_exec *e)
{
    if (--e->refs > 0)
        return;
    ctr_unref(e->c);
    strv_done(&e->argv);
    strv_done(&e->env);
    free(e->user);
    free(e->workdir);
    free(e->stdin_pending);
    free(e);
}

static void table_drop(struct rt *rt, struct rt_exec *e)
{
    if (!e->in_table)
        return;
    map_del(&rt->execs->by_id, e->id);
    e->in_table = false;
    exec_unref(e);
}

/* Whether the container still runs the same run the exec was made in. */
static bool run_current(const struct rt_exec *e, int64_t run_ns)
{
    const struct container *c = e->c;
    return !c->removed && c->st.status != CTR_EXITED && c->st.status != CTR_CREATED &&
           c->st.status != CTR_DEAD && c->st.started_ns == run_ns;
}

/* moby's execCommandGC: what no container holds any more (exited, or never
 * run in a run that ended) is marked at one tick and dropped at the next. */
static void gc_tick(uv_timer_t *t)
{
    struct rt *rt = t->data;
    const char *k;
    void *v;
    for (size_t i = 0; map_next(&rt->execs->by_id, &i, &k, &v);) {
        struct rt_exec *e = v;
        if (e->can_remove)
            table_drop(rt, e);
        else if (e->has_exit_code || e->c->removed || (!e->started && !ctr_is_running(e->c)))
            e->can_remove = true;
    }
}

static int table_get(struct rt *rt, struct exec_table **ret)
{
    if (rt->execs) {
        *ret = rt->execs;
        return 0;
    }
    struct exec_table *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    *ret = rt->execs = t;
    if (rt->shutting_down)
        return 0; /* no collector to close again: rt_exec_table_free() takes all */
    uv_timer_init(rt->loop, &t->gc);
    t->gc.data = rt;
    t->gc_open = true;
    uv_timer_start(&t->gc, gc_tick, RT_EXEC_GC_INTERVAL, RT_EXEC_GC_INTERVAL);
    uv_unref((uv_handle_t *)&t->gc); /* never keeps the daemon up */
    return 0;
}

static void gc_closed(uv_handle_t *h)
{
    (void)h;
}

void rt_exec_shutdown(struct rt *rt)
{
    if (!rt->execs || !rt->execs->gc_open)
        return;
    rt->execs->gc_open = false;
    uv_close((uv_handle_t *)&rt->execs->gc, gc_closed);
}

void rt_exec_table_free(struct rt *rt)
{
    if (!rt->execs)
        return;
    const char *k;
    void *v;
    for (size_t i = 0; map_next(&rt->execs->by_id, &i, &k, &v);)
        table_drop(rt, v);
    map_done(&rt->execs->by_id);
    free(rt->execs);
    rt->execs = NULL;
}

void rt_exec_container_removed(struct rt *rt, struct container *c)
{
    if (!rt->execs)
        return;
    const char *k;
    void *v;
    for (size_t i = 0; map_next(&rt->execs->by_id, &i, &k, &v);)
        if (((struct rt_exec *)v)->c == c)
            table_drop(rt, v);
}

int rt_exec_live_ids(struct rt *rt, const struct container *c, struct strv *ret)
{
    const char *k;
    void *v;
    for (size_t i = 0; rt->execs && map_next(&rt->execs->by_id, &i, &k, &v);) {
        const struct rt_exec *e = v;
        /* moby drops an exec from its container at its exit, and all of
         * them when the container's run ends (daemon.Cleanup) */
        if (e->c != c || e->has_exit_code || !run_current(e, e->run_ns))
            continue;
        if (strv_push(ret, e->id) < 0)
            return -ENOMEM;
    }
    return 0;
}

/* ---- events ------------------------------------------------------------- */

void rt_exec_action(const char *prefix, const struct strv *argv, char *out, size_t size)
{
    size_t n = (size_t)snprintf(out, size, "%s: %s ", prefix, argv->n ? argv->v[0] : "");
    for (size_t i = 1; i < argv->n && n < size; i++)
        n += (size_t)snprintf(out + n, size - n, "%s%s", i > 1 ? " " : "", argv->v[i]);
}

static void exec_event(struct rt_exec *e, const char *action, const char *code)
{
    const char *extra[] = {"execID", e->id, code ? "exitCode" : NULL, code, NULL};
    rt_event(e->rt, e->c, action, extra);
}

static void exec_event_cmd(struct rt_exec *e, const char *prefix)
{
    char action[4096];
    rt_exec_action(prefix, &e->argv, action, sizeof(action));
    exec_event(e, action, NULL);
}

void exec_exited(struct rt_exec *e, int code)
{
    char s[16];
    e->running = false;
    e->has_exit_code = true;
    e->exit_code = code;
    snprintf(s, sizeof(s), "%d", code);
    exec_event(e, "exec_die", s);
}

void exec_start_failed(struct rt_exec *e, const struct berr *err)
{
    int code = spawn_exit_code_for_error(err->msg);
    e->running = false;
    e->has_exit_code = true;
    e->exit_code = code == 128 ? RT_EXEC_ERROR_EXIT : code;
    const struct rt_exec_io *io = e->io;
    e->io = NULL;
    if (io)
        io->started(io->ud, err);
}

/* ---- create and lookup ------------------------------------------------ */

/* moby's getActiveContainer: 409 unless the container runs. */
static int check_active(const struct container *c, const char *name, struct berr *err)
{
    if (c->st.status == CTR_PAUSED)
        return berr_set(err, 409, EBUSY,
                        "Container %s is paused, unpause the container before exec", name);
    if (c->st.status == CTR_RESTARTING)
        return berr_set(err, 409, EBUSY,
                        "Container %s is restarting, wait until the container is running", c->id);
    if (c->st.status != CTR_RUNNING || !c->rt || c->rt->exited)
        return berr_set(err, 409, EINVAL, "Container %s is not running", c->id);
    return 0;
}

static int new_id(char *out)
{
    unsigned char raw[RT_EXEC_ID_LEN / 2];
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
        return -EIO;
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
    return 0;
}

static int copy_strv(struct strv *dst, const struct strv *src)
{
    for (size_t i = 0; src && i < src->n; i++)
        if (strv_push(dst, src->v[i]) < 0)
            return -ENOMEM;
    return 0;
}

static int fill(struct rt_exec *e, const struct rt_exec_opts *o)
{
    const char *user = o->user && *o->user ? o->user : json_get_str(e->c->config, "User");
    const char *wd =
        o->workdir && *o->workdir ? o->workdir : json_get_str(e->c->config, "WorkingDir");
    e->user = strdup(user ? user : "");
    e->workdir = strdup(wd ? wd : "");
    e->n_detach = o->n_detach < RT_EXEC_DETACH_MAX ? o->n_detach : RT_EXEC_DETACH_MAX;
    if (e->n_detach)
        memcpy(e->detach, o->detach, e->n_detach);
    e->tty = o->tty;
    e->privileged = o->privileged;
    e->open_stdin = o->attach_stdin;
    e->open_stdout = o->attach_stdout;
    e->open_stderr = o->attach_stderr;
    e->has_console = o->has_console;
    e->console_h = o->console_h;
    e->console_w = o->console_w;
    if (!e->user || !e->workdir || copy_strv(&e->argv, o->cmd) < 0 || copy_strv(&e->env, o->env))
        return -ENOMEM;
    return new_id(e->id);
}

int rt_exec_create(struct rt *rt, struct container *c, const char *name,
                   const struct rt_exec_opts *o, struct rt_exec **ret, struct berr *err)
{
    struct exec_table *t;
    if (check_active(c, name, err) < 0)
        return -EINVAL;
    struct rt_exec *e = calloc(1, sizeof(*e));
    if (!e || table_get(rt, &t) < 0) {
        free(e);
        return berr_set(err, 500, ENOMEM, "out of memory");
    }
    e->rt = rt;
    e->c = c;
    ctr_ref(c);
    e->refs = 1;
    e->run_ns = c->st.started_ns;
    if (fill(e, o) < 0 || map_put(&t->by_id, e->id, e) < 0) {
        exec_unref(e);
        return berr_set(err, 500, ENOMEM, "out of memory");
    }
    e->in_table = true;
    exec_event_cmd(e, "exec_create");
    *ret = e;
    return 0;
}

struct rt_exec *rt_exec_find(struct rt *rt, const char *id, struct berr *err)
{
    struct rt_exec *e = rt->execs ? map_get(&rt->execs->by_id, id) : NULL;
    /* moby unregisters an exec that never ran when its container's run
     * ends (daemon.Cleanup), and forgets all of a removed container's */
    if (e && (e->c->removed || (!e->started && !run_current(e, e->run_ns)))) {
        table_drop(rt, e);
        e = NULL;
    }
    if (!e)
        berr_set(err, 404, ENOENT, "No such exec instance: %s", id);
    return e;
}

int rt_exec_check(const struct rt_exec *e, struct berr *err)
{
    return check_active(e->c, e->c->id, err);
}

/* ---- start and the client's side -------------------------------------- */

int rt_exec_start(struct rt *rt, struct rt_exec *e, const struct rt_exec_io *io, bool attach,
                  const unsigned *console_hw, struct berr *err)
{
    if (e->has_exit_code)
        return berr_set(err, 409, EBUSY, "Error: Exec command %s has already run", e->id);
    if (e->started)
        return berr_set(err, 409, EBUSY, "Error: Exec command %s is already running", e->id);
    if (rt->shutting_down)
        return berr_set(err, 503, ESHUTDOWN, "the daemon is shutting down");
    if (rt_exec_check(e, err) < 0)
        return -EINVAL;
    if (console_hw) {
        e->has_console = true;
        e->console_h = console_hw[0];
        e->console_w = console_hw[1];
    }
    e->started = true;
    e->io = io;
    exec_event_cmd(e, "exec_start");
    if (exec_spawn(rt, e, attach, err) < 0) {
        e->io = NULL;
        e->started = false;
        return -EIO;
    }
    return 0;
}

void rt_exec_io_detach(struct rt_exec *e, bool by_keys)
{
    e->io = NULL;
    if (by_keys)
        exec_event(e, "exec_detach", NULL);
    if (e->proc) {
        e->proc->blocked = false;
        exec_proc_out_update(e->proc);
    }
    if (!e->tty)
        rt_exec_stdin_close(e);
}

int rt_exec_stdin_write(struct rt_exec *e, const char *data, size_t len)
{
    if (e->proc)
        return exec_proc_stdin_write(e->proc, data, len);
    if (e->stdin_close_pending || e->has_exit_code)
        return 0; /* closed: dropped */
    char *p = realloc(e->stdin_pending, e->stdin_pending_len + len);
    if (!p)
        return -ENOMEM;
    memcpy(p + e->stdin_pending_len, data, len);
    e->stdin_pending = p;
    e->stdin_pending_len += len;
    /* held until the process runs; then the pipe's queue tells */
    return e->stdin_pending_len > RT_EXEC_STDIN_HIGH ? 1 : 0;
}

void rt_exec_stdin_close(struct rt_exec *e)
{
    if (e->proc)
        exec_proc_stdin_shut(e->proc);
    else
        e->stdin_close_pending = true;
}

void rt_exec_io_block(struct rt_exec *e, bool blocked)
{
    if (!e->proc || e->proc->blocked == blocked)
        return;
    e->proc->blocked = blocked;
    exec_proc_out_update(e->proc);
}

int rt_exec_resize(struct rt_exec *e, unsigned h, unsigned w, struct berr *err)
{
    e->has_console = true; /* a start still to come makes the terminal this size */
    e->console_h = h;
    e->console_w = w;
    int r = e->proc ? exec_proc_resize(e->proc, h, w) : 0;
    if (r < 0)
        return berr_errno(err, 500, -r, "resize the terminal of exec %s", e->id);
    return 0;
}
