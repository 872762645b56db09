/* docker exec: more processes in a running container (DESIGN §2).
 *
 * An exec is created (command, user, environment, ...) and started once.
 * Its process is berth-init in exec mode: it joins every namespace of the
 * container and its cgroup, takes the identity and the security of the
 * container's own process (capabilities, no_new_privs, the same seccomp
 * filter; every capability with Privileged, as Docker's exec), then forks
 * the command and stays as its parent outside the container's pid
 * namespace, forwarding signals (Pid is berth-init's: signals sent to it
 * reach the command). It dies with the container: the container's init
 * going takes every process of its pid namespace along, and the stop kills
 * what is left in its cgroup.
 *
 * Records live in memory only, keyed by a random 64-hex id (exact match,
 * as moby's exec store), and go as Docker's go: with the container's
 * removal, and at the second 5-minute collection tick after the exec
 * exited, or after its container stopped when it never ran (moby's
 * execCommandGC marks CanRemove at one tick and drops at the next).
 *
 * Loop thread only; the spawn runs on a worker job, the loop watches the
 * pidfd and the pipes. The exec's output is never logged (as Docker). */
#ifndef BERTH_RUNTIME_EXEC_H
#define BERTH_RUNTIME_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/berr.h"
#include "common/config.h" /* struct strv */
#include "container.h"
#include "rt.h"

#define RT_EXEC_ID_LEN      64
#define RT_EXEC_DETACH_MAX  16
#define RT_EXEC_ERROR_EXIT  126 /* ExitCode of an exec that failed to start */
#define RT_EXEC_GC_INTERVAL (5 * 60 * 1000)
#define RT_EXEC_STDIN_HIGH  (1024 * 1024) /* stdin queued past this: "wait" */

/* A create request, validated by the caller. */
struct rt_exec_opts {
    const struct strv *cmd;      /* at least one entry */
    const struct strv *env;      /* merged over the container's; may be NULL */
    const char *user, *workdir;  /* NULL or "": the container's */
    const unsigned char *detach; /* parsed DetachKeys (n_detach == 0: none given) */
    size_t n_detach;
    bool tty, privileged, attach_stdin, attach_stdout, attach_stderr;
    bool has_console; /* ConsoleSize given (API >= 1.42) */
    unsigned console_h, console_w;
};

struct exec_proc;

/* What exec inspect shows; the runtime owns and updates it. */
struct rt_exec {
    char id[RT_EXEC_ID_LEN + 1];
    struct container *c; /* referenced while the record lives */
    struct strv argv;
    struct strv env; /* the exec's own Env, merged at start */
    char *user;      /* moby: the container's User when none was given */
    char *workdir;   /* moby: the container's WorkingDir when none was given */
    unsigned char detach[RT_EXEC_DETACH_MAX];
    size_t n_detach;
    bool tty, privileged, open_stdin, open_stdout, open_stderr;
    bool has_console;
    unsigned console_h, console_w; /* the last size asked for */
    bool started;                  /* start was called (it runs only once) */
    bool running;                  /* its process runs */
    bool has_exit_code;            /* ExitCode is not null */
    int exit_code;
    bool can_remove; /* marked by the collector; dropped at its next tick */
    pid_t pid;       /* 0 until it runs */

    /* runtime-owned */
    struct rt *rt;
    int64_t run_ns; /* the container's StartedAt at create: its run */
    int refs;       /* the table, a start job, a live process */
    bool in_table;
    struct exec_proc *proc;
    const struct rt_exec_io *io; /* the attached client, or NULL */
    char *stdin_pending;         /* stdin written before the process runs */
    size_t stdin_pending_len;
    bool stdin_close_pending;
};

/* The client of an attached (or detached) start. started() is called once:
 * with err->status 0 when the process runs, or with the failure (the record
 * then holds RT_EXEC_ERROR_EXIT, 127 or 126 as Docker sets it, and nothing
 * more is called). out() gets stdout (1) and stderr (2) as they are read;
 * end() comes once the process has exited (ExitCode set) and its output
 * is drained. None of them runs before rt_exec_start() returns. */
struct rt_exec_io {
    void (*started)(void *ud, const struct berr *err);
    rt_attach_out_fn out;
    rt_attach_end_fn end;
    void (*stdin_ready)(void *ud); /* stdin takes more again (see below) */
    void *ud;
};

/* Creates an exec in c, which must be running (409 "Container <id> is not
 * running", "Container <name> is paused, unpause the container before
 * exec", "Container <id> is restarting, wait until the container is
 * running", with name as given, as moby). Publishes "exec_create: <cmd
 * args>". */
int rt_exec_create(struct rt *rt, struct container *c, const char *name,
                   const struct rt_exec_opts *o, struct rt_exec **ret, struct berr *err);

/* The exec with this exact id: 404 "No such exec instance: <id>" when it is
 * unknown or its container is gone. */
struct rt_exec *rt_exec_find(struct rt *rt, const char *id, struct berr *err);

/* moby's getExecConfig checks for start and resize: the container must be
 * running, not paused or restarting (409). */
int rt_exec_check(const struct rt_exec *e, struct berr *err);

/* Starts e (once: 409 "Error: Exec command <id> is already running" or "...
 * has already run"). attach: stdio through io (pipes for the streams the
 * exec attaches); otherwise /dev/null and only io->started is called.
 * console: the size for a tty (NULL: the one given at create). io must stay
 * valid until end(), a failed started(), or rt_exec_io_detach().
 * Publishes "exec_start: <cmd args>". */
int rt_exec_start(struct rt *rt, struct rt_exec *e, const struct rt_exec_io *io, bool attach,
                  const unsigned *console_hw, struct berr *err);

/* The client leaves (or detached with its keys: by_keys publishes
 * "exec_detach"): no callback runs any more; output is read and dropped so
 * the process never blocks on it; stdin of a process without a tty is
 * closed, as Docker closes it when the copy ends. */
void rt_exec_io_detach(struct rt_exec *e, bool by_keys);

/* Stdin of an exec with AttachStdin: written to the process (kept until it
 * runs); close means EOF, after what was written. write returns 1 when the
 * process is behind (over 1 MiB queued): the client should send no more
 * until io->stdin_ready(). */
int rt_exec_stdin_write(struct rt_exec *e, const char *data, size_t len);
void rt_exec_stdin_close(struct rt_exec *e);

/* Flow control: while blocked (the client's connection holds too much),
 * the process's output is not read, so it waits on its pipe. */
void rt_exec_io_block(struct rt_exec *e, bool blocked);

/* A new terminal size (recorded; applied to the terminal of a running tty
 * exec). */
int rt_exec_resize(struct rt_exec *e, unsigned h, unsigned w, struct berr *err);

/* moby's container.ExecCommands (container inspect's ExecIDs): the ids of
 * c's execs made in its current run that have not ended, appended to ret.
 * -ENOMEM. */
int rt_exec_live_ids(struct rt *rt, const struct container *c, struct strv *ret);

/* Container removal: its execs go (one still running is freed when its
 * process has finished). */
void rt_exec_container_removed(struct rt *rt, struct container *c);

/* Daemon shutdown: stops the collector (running execs end with their
 * containers); rt_exec_table_free() frees what is left once the loop ran
 * out. */
void rt_exec_shutdown(struct rt *rt);
void rt_exec_table_free(struct rt *rt);

/* The event action for a command: "exec_create: sh -c true"; moby joins
 * the entrypoint and the arguments with a space even when there are none
 * ("exec_start: true "). */
void rt_exec_action(const char *prefix, const struct strv *argv, char *out, size_t size);

#endif
