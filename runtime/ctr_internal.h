/* Shared by the runtime's container files (ctr_start, ctr_plan, ctr_proc,
 * ctr_ops); not for handlers. */
#ifndef BERTH_RUNTIME_CTR_INTERNAL_H
#define BERTH_RUNTIME_CTR_INTERNAL_H

#include <uv.h>

#include "cgroup.h"
#include "common/config.h"
#include "common/job.h"
#include "ctr_rootfs.h"
#include "logfile.h"
#include "rt.h"
#include "spawn_plan.h"

/* A spawn plan and the memory its pointers refer to. */
struct start_plan {
    struct spawn_plan plan;
    struct strv strings; /* every string the plan points to */
    const char **argv, **env, **group_add;
    struct spawn_mount *mounts;
    struct spawn_rlimit *rlimits;
    struct spawn_bind *binds;
    struct spawn_nsjoin *joins;
    struct cg_throttle *throttles[5]; /* the limits' device lists, owned */
};

/* The seccomp choice for a container's processes. The filter is compiled
 * (ctr_seccomp_compile, worker) with the container's own capabilities, so
 * its execs get the very filter its first process got: Docker keeps the
 * container's filter for `exec --privileged` too. */
struct plan_seccomp {
    bool want;
    char *json;    /* custom profile, or NULL for the default */
    uint64_t caps; /* the container's capabilities */
};

struct start_job {
    struct job job;
    struct rt *rt;
    struct container *c;
    rt_done_fn done;
    void *ud;
    struct start_plan sp;
    struct ctr_rootfs fs;
    struct cgroup cg;
    bool cg_v2;
    struct cg_limits limits;
    struct plan_seccomp sec;
    bool open_stdin;
    /* results */
    pid_t pid;
    int pidfd;
    int parent_fds[3]; /* stdin write end, stdout and stderr read ends */
    int pty_master;    /* Tty: the terminal's master instead of the pipes */
};

/* ctr_plan.c (loop): fills sj from the container; 400/409 for modes that
 * name containers that are not running. */
int start_plan_build(struct rt *rt, struct container *c, struct start_job *sj, struct berr *err);
void start_plan_done(struct start_plan *sp);

/* ctr_plan.c (loop): the process side of a plan, shared by a container's
 * start and its execs (ctr_exec_plan.c). Strings are copied into sp. */
const char *start_plan_keep(struct start_plan *sp, const char *s);
const char **start_plan_keep_list(struct start_plan *sp, const char *const *l, size_t n);
/* Docker's environment (moby CreateDaemonEnvironment): PATH, HOSTNAME,
 * TERM=xterm with a tty, then the container's Env and extra (an exec's Env)
 * merged in turn: "K=V" replaces or appends, a bare "K" removes. */
int ctr_plan_env(const struct container *c, bool tty, const struct strv *extra, struct strv *env);
/* argv as given, the environment above, and the tty flag. -ENOMEM. */
int ctr_plan_argv_env(const struct container *c, const struct strv *argv, bool tty,
                      const struct strv *extra_env, struct start_plan *sp);
/* User and working directory (NULL or "": the container's Config.User and
 * Config.WorkingDir), with the container's GroupAdd. -ENOMEM. */
int ctr_plan_user(const struct container *c, const char *user, const char *cwd,
                  struct start_plan *sp);
/* The container's ulimits and OOM score adjustment. -ENOMEM. */
int ctr_plan_limits(const struct container *c, struct start_plan *sp);
/* Capabilities (all_caps: every one the daemon has, for exec --privileged),
 * no_new_privs and the seccomp choice; 400 for bad options. */
int ctr_plan_security(struct rt *rt, const struct container *c, bool all_caps,
                      struct spawn_plan *plan, struct plan_seccomp *sec, struct berr *err);

/* ctr_start.c (worker): compiles sec into bpf and points plan at it (no
 * filter when !sec->want or the profile disables it). */
struct seccomp_bpf;
int ctr_seccomp_compile(const struct plan_seccomp *sec, struct spawn_plan *plan,
                        struct seccomp_bpf *bpf, struct berr *err);
/* Converts the parsed resources into cgroup limits (pointers borrowed). */
void ctr_limits_from(const struct ctr_hostcfg *hc, struct cg_limits *ret);

/* The live side of a running container (loop thread). */
struct ctr_runtime {
    struct rt *rt;
    struct container *c;
    pid_t pid;
    int pidfd;
    uv_poll_t poll;
    /* stdout, stderr; with a tty out[0] is the terminal's master, which
     * also takes the stdin writes, and out[1] is not used */
    uv_pipe_t out[2];
    bool tty;
    int pty_hold; /* tty: the master, kept from its EIO until the exit (ctr_pty_hold) */
    bool out_open[2], out_eof[2];
    int stdin_fd;
    uv_pipe_t in;
    bool in_open;
    uv_shutdown_t in_drain; /* rt_stdin_close: close once the writes are done */
    bool reading[2];        /* uv_read_start is in effect on out[i] */
    bool log_full;          /* the log writer asked us to wait for its drain */
    struct logw *log;
    struct cgroup cg;
    bool exited, log_closing, log_closed, cleanup_started, finishing;
    int exit_code;
    uint64_t exited_at_ms; /* uv_now when the process was collected */
    int open_handles;      /* uv handles open plus jobs in flight that use it */
    /* OOM watch (ctr_oom.c): a uv_poll on cgroup_oom_watch_fd. */
    uv_poll_t oom_poll;
    uv_timer_t oom_timer; /* re-reads the counter shortly after a wake-up */
    int oom_fd;
    int oom_retries;
    bool oom_polling, oom_counting, oom_recount;
    uint64_t ooms_reported; /* oom_kill count already published as events */
    uv_timer_t stop_timer;
    bool stop_timer_on;
    bool stop_requested;
    struct list stop_waiters; /* struct ctr_stop_waiter */
    bool freezing;            /* a freezer job runs (ctr_pause.c): the exit cleanup waits */
};

struct ctr_stop_waiter {
    struct list link;
    rt_done_fn done;
    void *ud;
};

/* ctr_proc.c: a terminal's master read EIO (no slave fd is left) while its
 * process may still run: a copy of the fd is returned (-1 when it can't be
 * made), to be closed once the process has exited. Closing the master
 * earlier would hang the terminal up and SIGHUP the session leader, which
 * containerd never does: its console stays until the process exits. */
int ctr_pty_hold(uv_pipe_t *master);
/* ctr_proc.c: close callback of every handle in struct ctr_runtime (the
 * last one frees it once the container has finished). */
void ctr_handle_closed(uv_handle_t *h);
/* Drops one of r->open_handles taken by a job (same rule as a handle). */
void ctr_runtime_release(struct ctr_runtime *r);
/* Starts or stops reading stdout/stderr: reading pauses while the log writer
 * is full or an attached client is blocked, and resumes when neither is. */
void ctr_out_update(struct ctr_runtime *r);
/* ctr_proc.c: takes the process from a finished start job. */
void ctr_proc_adopt(struct rt *rt, struct container *c, struct start_job *sj);
/* Sends sig through the pidfd. */
int ctr_proc_signal(struct container *c, int sig);
/* A freezer job has ended (r->freezing cleared): an exit that waited for it
 * goes on to its cleanup. */
void ctr_proc_freeze_done(struct ctr_runtime *r);

/* ctr_attach.c */
void ctr_attach_output(struct container *c, int stream, const char *data, size_t len);
/* Whether an attached client holds the container's output back. */
bool ctr_attach_blocked(const struct container *c);
void ctr_attach_end_all(struct container *c);
/* Opens the stdin pipe on the loop and flushes what attach buffered. */
void ctr_stdin_open(struct ctr_runtime *r);
/* Ends stdin: at once (the process is gone), or with drain once the
 * queued writes have reached the pipe. */
void ctr_stdin_shut(struct ctr_runtime *r, bool drain);

/* ctr_ops.c */
void ctr_waiters_fire(struct container *c, bool removed);
/* After the process is gone and cleaned up: die event, waiters, then
 * auto-remove or the restart policy. */
void ctr_after_exit(struct rt *rt, struct container *c);
/* Then: the stop event and `docker stop` callers. */
void ctr_stopped(struct ctr_runtime *r);
/* The daemon's own stop (shutdown): unlike rt_stop, it leaves the restart
 * policy to decide at the next start. */
void ctr_stop_by_daemon(struct rt *rt, struct container *c, rt_done_fn done, void *ud);
/* ctr_pause.c: after a stop or kill signal to a paused container (or one
 * with freezer work queued), thaws it so the signal is acted on, as moby's
 * killWithSignal resumes the task; publishes `unpause`. */
void ctr_thaw_for_signal(struct rt *rt, struct container *c);
/* ctr_restart.c: applies the restart policy to an exited container. */
void ctr_restart_maybe(struct rt *rt, struct container *c);
void ctr_restart_cancel(struct container *c);
/* Docker's backoff: next delay from the previous one (0: none yet) and how
 * long the container ran; 100 ms doubling to 60 s, back to 100 ms after a
 * run of 10 s or more. */
int64_t ctr_restart_next_delay(int64_t prev_ms, int64_t ran_ns);

/* What Docker's restart manager decides from (pure, for the unit test). */
struct restart_facts {
    enum ctr_restart policy;
    int max_retries; /* on-failure:N; 0 = no limit */
    int restart_count;
    int exit_code;
    bool manually_stopped;
};
/* After an exit: always/unless-stopped unless stopped by the user,
 * on-failure for a non-zero code within the retry limit. */
bool ctr_restart_after_exit(const struct restart_facts *f);
/* At daemon start (moby's ShouldRestart in restore()): always even when it
 * had been stopped by the user, unless-stopped only when it had not,
 * on-failure for a non-zero code within the retry limit. */
bool ctr_restart_at_boot(const struct restart_facts *f);
void ctr_restart_facts_of(const struct container *c, struct restart_facts *ret);

/* ctr_oom.c: watches the cgroup's OOM notifications while the container
 * runs and publishes an "oom" event each time the oom_kill count rises. */
void ctr_oom_watch_start(struct ctr_runtime *r);
void ctr_oom_watch_stop(struct ctr_runtime *r);
/* Publishes "oom" if count is above what was already reported. */
void ctr_oom_seen(struct ctr_runtime *r, uint64_t count);

/* ctr_reconcile.c (startup, blocking): a container recorded as running
 * (or caught mid-start) whose processes survived the daemon is killed
 * through its cgroup; the cgroup is removed and the root unmounted; a
 * container that was running becomes exited with Docker's 255. */
void ctr_reconcile_sync(struct rt *rt, struct container *c);
/* Then (loop): restarts what the restart policies bring back and removes
 * AutoRemove containers, as moby's restore() does. */
void ctr_reconcile_restart(struct rt *rt);

#endif
