/* Shared by runtime/ctr_exec*.c: the exec table, the start job and the live
 * process of an exec. */
#ifndef BERTH_RUNTIME_CTR_EXEC_INTERNAL_H
#define BERTH_RUNTIME_CTR_EXEC_INTERNAL_H

#include <uv.h>

#include "common/map.h"
#include "ctr_internal.h"
#include "exec.h"

struct exec_table {
    struct map by_id; /* id -> struct rt_exec (the table's reference) */
    uv_timer_t gc;    /* the collector's tick; unreferenced */
    bool gc_open;
};

/* A running exec on the loop (ctr_exec_io.c): its pidfd (exit), its stdout
 * and stderr pipes (to the client, or dropped), its stdin pipe. */
struct exec_proc {
    struct rt_exec *e;
    bool tty;     /* out[0] is the terminal's master: stdout and stdin */
    int pty_hold; /* the master, kept from its EIO until the exit (ctr_pty_hold) */
    int pidfd;
    uv_poll_t poll;
    uv_pipe_t out[2];
    bool out_open[2], out_eof[2], reading[2];
    uv_pipe_t in;
    bool in_open, in_shut_pending; /* EOF once in_queued is written */
    size_t in_queued;              /* stdin bytes handed to uv_write, not yet written */
    uv_timer_t drain;              /* output still open after the exit is cut off */
    int handles;                   /* open uv handles; the last close frees this */
    bool exited, blocked, finished;
    uint64_t exited_at_ms;
};

/* ctr_exec.c */
void exec_ref(struct rt_exec *e);
void exec_unref(struct rt_exec *e);
/* The process exited with code: ExitCode set, "exec_die" published. */
void exec_exited(struct rt_exec *e, int code);
/* The start failed: ExitCode as Docker sets it, the client told. */
void exec_start_failed(struct rt_exec *e, const struct berr *err);

/* ctr_exec_start.c: builds the plan on the loop and spawns on a worker;
 * then exec_proc_adopt() and io->started(). */
int exec_spawn(struct rt *rt, struct rt_exec *e, bool attach, struct berr *err);

/* ctr_exec_io.c */
/* Watches the process: fds are the parent ends (stdin write end, stdout
 * and stderr read ends; -1 for none), or pty_master (>= 0) is its
 * terminal, read as stdout and written as stdin; all taken over. */
void exec_proc_adopt(struct rt_exec *e, int pidfd, int fds[3], int pty_master);
/* TIOCSWINSZ on the terminal of a tty exec (no-op for others). */
int exec_proc_resize(struct exec_proc *p, unsigned h, unsigned w);
/* Queues stdin for the process: 0, 1 when the queue is over its high
 * mark (io->stdin_ready() follows once it is below), or -errno. */
int exec_proc_stdin_write(struct exec_proc *p, const char *data, size_t len);
void exec_proc_stdin_shut(struct exec_proc *p);
/* Starts or stops reading the output (client blocked or not). */
void exec_proc_out_update(struct exec_proc *p);

#endif
