/* The container process plan: everything berth-init needs to turn a freshly
 * cloned process into the container's first process, and the wire format the
 * daemon uses to hand it over (DESIGN §2).
 *
 * Shared by berthd and berth-init, so it depends on libc only.
 *
 * Protocol. The daemon clones the child with a SOCK_STREAM socketpair end on
 * fd 3. berth-init reads the encoded plan from fd 3 until EOF: the daemon
 * writes the plan only after its place() callback has returned (cgroup v1
 * placement, network setup), then shuts its write side down, so the end of
 * the plan doubles as the "go" signal.
 *
 * berth-init's answer on the same fd, read by the daemon until EOF:
 *  1. with plan.tty only: the terminal message, SPAWN_PTY_MAGIC (4 bytes)
 *     with the pty master attached as SCM_RIGHTS, sent once the slave is
 *     the process's fds 0-2 (a later step may still fail);
 *  2. on failure, one status record (struct spawn_status + message), after
 *     which berth-init exits;
 *  3. EOF: fd 3 is close-on-exec, so its closing on exec is the success
 *     signal. A tty plan that ends with EOF but no terminal message (berth-
 *     init killed before it got there) is a failed start. */
#ifndef BERTH_RUNTIME_SPAWN_PLAN_H
#define BERTH_RUNTIME_SPAWN_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The fd berth-init reads its plan from and reports failures on. */
#define SPAWN_PLAN_FD 3
/* Upper bound of an encoded plan; larger input is refused. */
#define SPAWN_PLAN_MAX (8u << 20)
/* Default size of /dev/shm (Docker's 64 MiB). */
#define SPAWN_SHM_DEFAULT (64ull << 20)
/* Upper bound of a status message. */
#define SPAWN_STATUS_MSG_MAX 1024
/* The terminal message: these 4 bytes (native-endian), the master attached. */
#define SPAWN_PTY_MAGIC 0x42505459u /* "BPTY" */

/* SPAWN_MODE_EXEC (docker exec): clone_flags 0 and no rootfs; ns_join names
 * every namespace of the container (/proc/<pid>/ns/{ipc,uts,net,pid,cgroup,
 * mnt}; the mount namespace is joined last); the daemon puts the process in
 * the container's cgroup (cgroup_fd, or place() on v1). Hostname and mounts
 * are skipped; rlimits, OOM score, user, capabilities, seccomp, cwd and env
 * apply. A failure is worded as runc's exec ("OCI runtime exec failed").
 * Since a joined pid namespace only holds children, berth-init forks the
 * command and stays as its parent (signals forwarded, exits with its
 * status); the pid/pidfd the daemon gets are berth-init's. */
enum spawn_mode {
    SPAWN_MODE_RUN = 0,  /* new container: namespaces, root, then the command */
    SPAWN_MODE_EXEC = 1, /* join a running container's namespaces (docker exec) */
};

/* A mount made inside the container's root before pivot_root. */
struct spawn_mount {
    const char *source;   /* bind: host path; otherwise the fs source ("tmpfs") */
    const char *target;   /* absolute path inside the container */
    const char *fstype;   /* "bind" or a filesystem type ("tmpfs", ...) */
    const char *data;     /* filesystem options ("size=65536k,mode=1777") or NULL */
    uint64_t flags;       /* MS_RDONLY MS_NOSUID MS_NODEV MS_NOEXEC; MS_REC = rbind */
    uint64_t propagation; /* MS_PRIVATE / MS_SLAVE / MS_SHARED (| MS_REC); 0 = leave */
};

/* A read-only bind of a host directory, for cgroup v1 controller dirs. */
struct spawn_bind {
    const char *host;      /* e.g. /sys/fs/cgroup/memory/berth/<id> */
    const char *container; /* e.g. /sys/fs/cgroup/memory */
};

struct spawn_rlimit {
    uint32_t resource; /* RLIMIT_* */
    uint64_t soft, hard;
};

/* A namespace to join instead of creating one (--ipc=container:X, ...). */
struct spawn_nsjoin {
    uint32_t nstype;  /* CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWUTS, ... */
    const char *path; /* /proc/<pid>/ns/<name> */
};

/* Every string and array is owned by the caller; NULL-terminated lists may be
 * NULL for "none". Initialise with spawn_plan_init() so the fd fields start
 * at -1. */
struct spawn_plan {
    uint32_t mode; /* enum spawn_mode */

    /* Namespaces. */
    uint64_t clone_flags; /* CLONE_NEW{PID,NS,UTS,IPC,NET,CGROUP} to create */
    const struct spawn_nsjoin *ns_join;
    size_t n_ns_join;

    /* Root filesystem (run mode). */
    const char *rootfs; /* host path of the prepared (overlay) root */
    bool readonly_rootfs;
    bool privileged; /* host devices, no masked/read-only paths, rw /sys */
    const struct spawn_mount *mounts;
    size_t n_mounts;
    const char *const *masked_paths;   /* spawn_default_masked_paths */
    const char *const *readonly_paths; /* spawn_default_readonly_paths */
    const char *hosts_path;            /* host files bound on /etc/hosts, ... */
    const char *hostname_path;
    const char *resolv_path;
    uint64_t shm_size; /* bytes; 0 = SPAWN_SHM_DEFAULT */
    /* --ipc: NULL = a private tmpfs on /dev/shm; else the host directory
     * bound there (shareable, host and container:<c> share one). */
    const char *shm_path;
    bool no_shm;  /* --ipc=none: no /dev/shm at all */
    bool cgroup2; /* cgroup v2: mount cgroup2 read-only on /sys/fs/cgroup */
    const struct spawn_bind *cgroup_binds; /* cgroup v1: per-controller binds */
    size_t n_cgroup_binds;

    /* Identity. */
    const char *hostname;
    const char *domainname;
    const char *user;             /* Docker's User: "", name, uid, x:group */
    const char *const *group_add; /* names or gids */
    uint64_t caps;                /* capability mask kept (bounding, P, E) */
    bool no_new_privs;
    const void *seccomp; /* struct sock_filter[] bytes, or NULL */
    size_t seccomp_len;  /* bytes; a multiple of 8 */

    /* Process. */
    const char *const *argv; /* argv[0] is looked up in the container's PATH */
    const char *const *env;  /* exactly the container's environment */
    const char *cwd;         /* created when missing; NULL = "/" */
    const struct spawn_rlimit *rlimits;
    size_t n_rlimits;
    int32_t oom_score_adj;
    bool set_oom_score_adj;
    bool init; /* --init: berth-init stays PID 1, reaps and forwards signals */
    /* -t: berth-init opens a pty of the container's devpts (/dev/ptmx, after
     * the mounts or the mount namespace join), makes the slave fds 0-2 of
     * the command, owned by the container's user (tty group, mode 0620),
     * and the command leads a new session with it as controlling terminal;
     * the master goes to the daemon (spawn_result.pty_master). */
    bool tty;
    uint16_t tty_rows, tty_cols; /* initial window size; 0 = the kernel's (0) */

    /* Daemon side only, never serialised. Unused with tty. */
    int stdin_fd; /* -1 = /dev/null */
    int stdout_fd;
    int stderr_fd;
    int cgroup_fd; /* cgroup v2 directory for CLONE_INTO_CGROUP, or -1 */
};

/* Where berth-init failed; carried in struct spawn_status. */
enum spawn_step {
    SPAWN_STEP_NONE = 0,
    SPAWN_STEP_INIT_EXEC, /* executing berth-init itself */
    SPAWN_STEP_PLAN,      /* reading or decoding the plan */
    SPAWN_STEP_NAMESPACES,
    SPAWN_STEP_MOUNTS,
    SPAWN_STEP_HOSTNAME,
    SPAWN_STEP_RLIMITS,
    SPAWN_STEP_USER,
    SPAWN_STEP_CAPS,
    SPAWN_STEP_SECCOMP,
    SPAWN_STEP_CWD,
    SPAWN_STEP_EXEC, /* looking up or executing the user's command */
    SPAWN_STEP_TTY,  /* making the terminal or handing its master over */
};

/* The failure record berth-init writes before exiting; msg_len bytes of
 * message (no NUL) follow it. */
struct spawn_status {
    uint32_t magic; /* SPAWN_STATUS_MAGIC */
    int32_t step;   /* enum spawn_step */
    int32_t err;    /* positive errno */
    uint32_t msg_len;
};
#define SPAWN_STATUS_MAGIC 0x42535431u /* "BST1" */

/* Docker's default masked and read-only paths (NULL-terminated). */
extern const char *const spawn_default_masked_paths[];
extern const char *const spawn_default_readonly_paths[];

/* Zeroes the plan and sets the fd fields to -1. */
void spawn_plan_init(struct spawn_plan *plan);

/* Encodes plan into a malloc'd buffer. Returns 0, -EINVAL for a plan that
 * can't be encoded (missing argv, oversized, seccomp length not a multiple of
 * 8) or -ENOMEM. */
int spawn_plan_encode(const struct spawn_plan *plan, uint8_t **ret_buf, size_t *ret_len);

/* Decodes buf into plan. Strings and the seccomp bytes point into buf, which
 * must outlive the plan; arrays are malloc'd and released with
 * spawn_plan_decoded_free(). Returns 0, -EBADMSG for malformed input or
 * -ENOMEM. Daemon-only fields are set to -1. */
int spawn_plan_decode(const uint8_t *buf, size_t len, struct spawn_plan *plan);
void spawn_plan_decoded_free(struct spawn_plan *plan);

/* Builds a status record into buf (at least sizeof(struct spawn_status) +
 * SPAWN_STATUS_MSG_MAX bytes); the message is truncated. Returns its length. */
size_t spawn_status_encode(uint8_t *buf, int step, int err, const char *msg);

/* Parses a status record; msg gets the NUL-terminated (maybe truncated)
 * message. Returns 0 or -EBADMSG. */
int spawn_status_decode(const uint8_t *buf, size_t len, int *ret_step, int *ret_err, char *msg,
                        size_t msg_size);

#endif
