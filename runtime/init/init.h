/* berth-init: the single-threaded helper every container process executes
 * first (DESIGN §2). It reads a struct spawn_plan on fd 3, builds the
 * container (namespaces joined, root, identity, capabilities, seccomp) and
 * executes the user's command, or stays as a minimal PID 1 with --init.
 * The first failure is kept with its step and errno and sent back on fd 3.
 *
 * Functions return 0 or a negative errno; the ones that fail call
 * init_fail() first so the daemon gets a message naming what failed. */
#ifndef BERTH_INIT_INIT_H
#define BERTH_INIT_INIT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "runtime/spawn_plan.h"

/* ---- init_main.c: failure record ----------------------------------------- */

/* The step being run; init_fail() records it with the failure. */
extern int init_step;

/* Records the first failure (later ones are dropped, the first is the
 * cause) and returns -err. */
int init_fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Like init_fail() with ": <error>" appended, worded as Go does
 * ("no such file or directory"): the docker CLI matches those words. */
int init_fail_errno(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The Go-style (lowercase) text of an errno value. */
const char *init_strerror(int err);

/* Writes the recorded failure on fd 3 (no-op when none). */
void init_report(void);

/* ---- init_fs.c: paths confined to a root --------------------------------- */

/* "/proc/self/fd/<fd>", for mount(2) and friends to act on an fd. */
struct fdpath {
    char s[32];
};
const char *fdpath(struct fdpath *p, int fd);

/* Opens path inside the tree rooted at rootfd, resolving symlinks and ".."
 * as if rootfd were "/" (openat2 RESOLVE_IN_ROOT). Returns an fd or -errno. */
int fs_open_in_root(int rootfd, const char *path, int flags);

/* mkdir -p of path inside rootfd; returns an O_PATH fd of it or -errno. */
int fs_mkdir_in_root(int rootfd, const char *path, mode_t mode);

/* Opens path inside rootfd, creating an empty file (and its parents) when it
 * is missing; returns an O_PATH fd or -errno. */
int fs_mkfile_in_root(int rootfd, const char *path);

/* Mounts a filesystem on target inside rootfd (a directory, created when
 * missing). Fails with a message. */
int fs_mount(int rootfd, const char *src, const char *target, const char *fstype,
             unsigned long flags, const char *data);

/* Bind-mounts host path src on target inside rootfd (created as a file or a
 * directory like src), then applies MS_RDONLY/NOSUID/NODEV/NOEXEC from flags
 * (MS_REC makes it recursive) and the propagation. Fails with a message. */
int fs_bind(int rootfd, const char *src, const char *target, unsigned long flags,
            unsigned long propagation);

/* Sets the propagation (MS_SHARED, MS_SLAVE, ... | MS_REC) of the mount at
 * target inside rootfd. */
int fs_propagate(int rootfd, const char *target, unsigned long propagation);

/* Remounts the mount at target inside rootfd with flags added to the ones it
 * has (bind remount). */
int fs_remount(int rootfd, const char *target, unsigned long flags);

/* Docker's check of a [r]shared (want_shared) or [r]slave bind's source:
 * the mount holding it must be shared (or, for slave, shared or a slave),
 * else "path X is mounted on Y but it is not a shared mount". */
int fs_check_source_propagation(const char *source, bool want_shared);

/* ---- init_root.c / init_dev.c: the container's root ----------------------- */

/* Builds the root under plan->rootfs, pivots into it and applies masked and
 * read-only paths and a read-only root. */
int root_setup(const struct spawn_plan *plan);

/* Mounts /dev, its default nodes and links, /dev/pts, /dev/shm, /dev/mqueue
 * inside rootfd; privileged copies every host device node. */
int dev_setup(int rootfd, const struct spawn_plan *plan);

/* ---- init_user.c: Docker's User resolution --------------------------------- */

struct init_user {
    uid_t uid;
    gid_t gid;
    gid_t *groups; /* supplementary groups (malloc'd) */
    size_t n_groups;
    char *home; /* malloc'd; "/" when unknown */
};

/* Resolves spec ("", name, uid, name:group, uid:gid) and group_add through
 * the container's /etc/passwd and /etc/group (after pivot_root). */
int user_resolve(const char *spec, const char *const *group_add, struct init_user *ret);

/* ---- init_caps.c: identity, capabilities, seccomp -------------------------- */

/* Drops every capability outside mask from the bounding set. */
int caps_bound(uint64_t mask);

/* Switches to the user, keeping mask as the permitted and effective sets
 * (inheritable and ambient cleared), as Docker does for any uid. */
int caps_switch_user(const struct init_user *user, uint64_t mask);

/* Loads the raw BPF program (a struct sock_filter[] as bytes). */
int seccomp_load(const void *bpf, size_t len);

/* ---- init_exec.c: the user's command --------------------------------------- */

/* Looks argv0 up in PATH (the container's, from env) as Go's exec.LookPath
 * does; ret_path is malloc'd. Fails with Docker's messages. */
int exec_lookup(const char *argv0, const char *const *env, char **ret_path);

/* Builds the final environment: env plus HOME when it has none. */
char **exec_env(const char *const *env, const char *home);

/* -t (plan->tty): makes the container's terminal, its slave fds 0-2 owned
 * by uid, and sends the master to the daemon (spawn_plan.h). Needs the
 * container's /dev (after the mounts, or the mount namespace join) and
 * root's rights to chown. No-op without tty. */
int tty_setup(const struct spawn_plan *plan, uid_t uid);

/* Forks: returns 0 in the child (which goes on with the setup), while this
 * process stays as its parent, reaping and forwarding signals, and exits
 * with the child's status; returns only on failure (-errno, recorded). */
int init_fork_parent(void);
/* In that child after a change of user: arms the parent-death signal
 * again (setuid clears it) and exits if the parent is already gone. */
void init_rearm_parent_death(void);

/* Executes path: directly, or (as_parent) from a forked child while this
 * process stays as its parent, reaping and forwarding signals, and exits
 * with the child's status. Returns only on failure. */
int exec_command(const struct spawn_plan *plan, const char *path, char **envp, bool as_parent);

/* ---- init_ns.c: namespaces -------------------------------------------------- */

/* Joins plan->ns_join (mount namespace last); sets *ret_joined_pid when a
 * pid namespace was joined (only children enter it). */
int ns_join_all(const struct spawn_plan *plan, bool *ret_joined_pid);

/* A new network namespace starts with its loopback down; Docker's have it
 * up (127.0.0.1 works with --network none too). */
int ns_loopback_up(const struct spawn_plan *plan);

#endif
