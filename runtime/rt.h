/* The container runtime as the handlers see it: the container table and the
 * operations on containers (create, start, stop, kill, wait, remove). Loop
 * thread only; blocking work runs in jobs. Results come back through
 * callbacks with a struct berr (status 0 on success). */
#ifndef BERTH_RUNTIME_RT_H
#define BERTH_RUNTIME_RT_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "cgroup.h"
#include "common/berr.h"
#include "common/events.h"
#include "container.h"
#include "storage/store.h"

struct exec_table;

struct rt {
    uv_loop_t *loop;
    struct store *store;
    struct evbus *events;
    struct ctr_table ctrs;
    char *data_root;
    char *cgroup_root; /* "/sys/fs/cgroup" */
    struct cg_host cg;
    uint64_t cap_bounding; /* the daemon's own bounding set */
    int nrunning;
    bool shutting_down;
    struct exec_table *execs; /* runtime/exec.h; NULL until the first exec */
};

/* Startup (blocking, before the API serves): loads the containers, takes
 * image references and reconciles those recorded as running: processes
 * that survived a killed daemon are killed through their cgroup, cgroups
 * and root mounts are cleaned up, and the container is exited (255, as
 * Docker reports a container whose exit it could not collect). Then, as
 * moby's restore(), it queues the start of containers their restart policy
 * brings back (always; unless-stopped not stopped by the user; on-failure
 * after a failure within its retries) and the removal of AutoRemove ones. */
int rt_init(struct rt *rt, uv_loop_t *loop, struct store *store, struct evbus *events,
            const char *data_root, struct strv *ret_warnings, struct berr *err);
void rt_done(struct rt *rt);

typedef void (*rt_done_fn)(void *ud, const struct berr *err);

/* Persist state.json / config.json on a worker (coalesced per container). */
void rt_save_state(struct rt *rt, struct container *c);
void rt_save_config(struct rt *rt, struct container *c);

/* Publishes a container event with Docker's attributes (labels, name, image)
 * plus the extra NULL-terminated key/value list. */
void rt_event(struct rt *rt, const struct container *c, const char *action,
              const char *const *extra);

/* Create: c is a fully built container not yet in the table (config, host
 * config and image set). Reserves the name, prepares the directory on a
 * worker, persists it and calls done; on failure the container is gone. */
void rt_create(struct rt *rt, struct container *c, struct image *img, rt_done_fn done, void *ud);

void rt_start(struct rt *rt, struct container *c, rt_done_fn done, void *ud);

/* Stop: signal (NULL: the container's StopSignal or SIGTERM), then SIGKILL
 * after timeout_s (-1: the container's StopTimeout or 10). */
void rt_stop(struct rt *rt, struct container *c, const char *signal, int timeout_s, rt_done_fn done,
             void *ud);
int rt_kill(struct rt *rt, struct container *c, int sig, struct berr *err);

/* Pause / unpause (ctr_pause.c): freezes or thaws the container's cgroup on
 * a worker, then the state becomes paused (running), is saved, and the
 * pause (unpause) event is published. Docker's refusals, 409: "Container
 * <id> is not running", "... is already paused", "... is not paused";
 * freezer failures are 500. Operations on one container run in arrival
 * order. done may run before the call returns. */
void rt_pause(struct rt *rt, struct container *c, rt_done_fn done, void *ud);
void rt_unpause(struct rt *rt, struct container *c, rt_done_fn done, void *ud);

/* Remove (force kills a running one first; remove_volumes is accepted). */
void rt_remove(struct rt *rt, struct container *c, bool force, rt_done_fn done, void *ud);

/* Wait conditions (API: not-running, next-exit, removed). */
enum rt_wait_cond { WAIT_NOT_RUNNING, WAIT_NEXT_EXIT, WAIT_REMOVED };
typedef void (*rt_wait_fn)(void *ud, int exit_code, const char *error);
struct ctr_waiter {
    struct list link;
    enum rt_wait_cond cond;
    rt_wait_fn fn;
    void *ud;
};
/* Registers w (caller-owned) or calls fn at once when the condition holds. */
void rt_wait(struct rt *rt, struct container *c, struct ctr_waiter *w);
void rt_wait_cancel(struct ctr_waiter *w);

/* Attach: output of the container's stdout/stderr (stream 1/2) as it is
 * read, then end() once the process has exited and its output is drained.
 * May be registered before start. */
typedef void (*rt_attach_out_fn)(void *ud, int stream, const char *data, size_t len);
typedef void (*rt_attach_end_fn)(void *ud);
struct ctr_attach {
    struct list link;
    bool want[3]; /* [1] stdout, [2] stderr */
    rt_attach_out_fn out;
    rt_attach_end_fn end;
    void *ud;
    /* Called when the container's queued stdin falls below
     * RT_STDIN_LOW_WATER (may be NULL). */
    void (*stdin_drained)(void *ud);
    /* runtime-owned */
    struct container *c;
    bool blocked;
};
void rt_attach(struct container *c, struct ctr_attach *a);
void rt_detach(struct ctr_attach *a);
/* Flow control, as Docker's attach copy that blocks on a client that does
 * not read: while any attached client is blocked (its connection holds too
 * much unsent output), the container's stdout/stderr are not read, so the
 * process waits on its pipe; unblocking or detaching resumes at once. */
void rt_attach_block(struct ctr_attach *a, bool blocked);
/* Stdin for containers with OpenStdin: written to the process, or kept
 * until it starts. Returns the bytes now queued for the process, so a
 * client past RT_STDIN_HIGH_WATER can stop reading until stdin_drained;
 * or a negative errno. rt_stdin_close ends the input once what is queued
 * has been written, as a pipe's reader sees EOF after the data. */
#define RT_STDIN_HIGH_WATER (1024 * 1024)
#define RT_STDIN_LOW_WATER  (256 * 1024)
ssize_t rt_stdin_write(struct container *c, const char *data, size_t len);
void rt_stdin_close(struct container *c);

/* POST /containers/{id}/resize: sets the terminal's window size (the
 * kernel sends SIGWINCH to its foreground process group) and publishes
 * "resize" with height and width, as Docker; a container without a tty
 * only gets the event. 409 "Container <id> is not running". */
int rt_resize(struct rt *rt, struct container *c, uint32_t h, uint32_t w, struct berr *err);

/* The live json-file writer (NULL when the container is not running). */
struct logw;
struct logw *rt_log_writer(const struct container *c);

/* Daemon shutdown: stops every running container (its stop signal, then
 * SIGKILL after its timeout) and calls done when all have exited. */
void rt_shutdown(struct rt *rt, void (*done)(void *ud), void *ud);

/* Signals by name ("SIGKILL", "KILL", "9"); -EINVAL when unknown. */
int rt_signal_parse(const char *s, int *ret);

#endif
