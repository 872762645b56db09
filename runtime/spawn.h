/* Container process spawner, daemon side (DESIGN §2).
 *
 * spawn_container() runs on a worker thread: it clones the container's first
 * process with clone3() (namespaces, CLONE_PIDFD, CLONE_INTO_CGROUP when the
 * plan has a cgroup fd), the child at once executes berth-init from a sealed
 * memfd, the caller's place() callback runs (cgroup v1 placement, network
 * setup) while berth-init waits, then the plan is sent and berth-init sets up
 * the container and executes the command. The call returns once the command
 * runs (or berth-init failed): the pid and a pidfd the caller watches on the
 * loop and collects with waitid(P_PIDFD, ...).
 *
 * With plan.tty berth-init makes the terminal inside the container and
 * passes the master back before the command runs (spawn_plan.h), as runc's
 * console socket does.
 *
 * "The command runs" is seen as EOF on the status socket with no failure
 * record; a berth-init killed (SIGKILL, OOM) before it could report looks
 * like a command that started and exited at once, which the exit status then
 * tells (with plan.tty, one killed before it sent the terminal is a failed
 * start: 500 "berth-init did not hand the terminal over"). */
#ifndef BERTH_RUNTIME_SPAWN_H
#define BERTH_RUNTIME_SPAWN_H

#include <sys/types.h>

#include "common/berr.h"
#include "runtime/spawn_plan.h"

/* Filled in by spawn_container(): on failure pidfd and pty_master are -1. */
struct spawn_result {
    pid_t pid;
    int pidfd;      /* O_CLOEXEC; owned by the caller */
    int pty_master; /* plan.tty: the terminal's master, O_CLOEXEC, owned by the caller
                     * (blocking; EIO on read once every slave fd is closed); else -1 */
};

/* Called after clone, before berth-init reads its plan; the process is
 * blocked until it returns. Returning non-zero aborts the spawn (the child is
 * killed and reaped) with err as the error. */
typedef int (*spawn_place_fn)(pid_t pid, void *ud, struct berr *err);

/* Spawns the container process described by plan (worker thread only: it
 * blocks until the command is executed). place may be NULL. On failure the
 * child is killed and reaped, every fd it made is closed, and err holds a
 * Docker-like message: "failed to create task for container: ...", with
 * status 400 when the command can't be run (not found, permission denied;
 * Docker's "invalid configuration" start errors) and 500 otherwise (an exec
 * plan: "OCI runtime exec failed: exec failed: ...", as runc's); a user
 * the container's /etc/passwd doesn't know gives "unable to find user X: no
 * matching entries in passwd file" as Docker does. */
int spawn_container(const struct spawn_plan *plan, spawn_place_fn place, void *ud,
                    struct spawn_result *ret, struct berr *err);

/* The exit code Docker records for a container whose start failed with this
 * message: 126 (permission denied), 127 (command not found), else 128. */
int spawn_exit_code_for_error(const char *msg);

/* Internal to runtime/spawn*.c: the sealed memfd holding berth-init, created
 * once (thread-safe). Returns the fd (O_CLOEXEC, never to be closed) or a
 * negative errno with err filled. */
int spawn__init_memfd(struct berr *err);

#endif
