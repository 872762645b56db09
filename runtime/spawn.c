/* Container process spawner, daemon side: clone3 + execveat(berth-init),
 * placement callback, plan hand-over and the status read-back.
 *
 * This runs on a worker thread of a multi-threaded daemon, so the cloned
 * child (a copy of this process without the other threads, with any lock
 * another thread held) calls no libc function that could take a lock or
 * allocate: only dup2, close_range, execveat and raw writes, and it has all
 * signals blocked so no daemon signal handler runs in it. */
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/sched.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/spawn.h"

/* Namespaces a plan may ask clone3 to create. */
#define NS_FLAGS                                                                                   \
    (CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWCGROUP)

/* The child's fds, all duplicated above FD_HIGH so that the dup2 calls onto
 * 0..3 in the child can't clobber a source. */
#define FD_HIGH 10
struct child_fds {
    int io[3];
    int sock;  /* the child's end of the plan/status socketpair */
    int memfd; /* berth-init */
};

/* The daemon-side state of one spawn, torn down by spawn_abort(). */
struct spawn_ctx {
    int sock; /* our end of the socketpair */
    pid_t pid;
    int pidfd;
};

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        int saved = errno;
        close(*fd);
        errno = saved;
        *fd = -1;
    }
}

static void child_fds_close(struct child_fds *f)
{
    for (int i = 0; i < 3; i++)
        close_fd(&f->io[i]);
    close_fd(&f->sock);
    close_fd(&f->memfd);
}

static int dup_high(int fd)
{
    int r = fcntl(fd, F_DUPFD_CLOEXEC, FD_HIGH);
    return r < 0 ? -errno : r;
}

static int child_fds_prepare(const struct spawn_plan *plan, int sock, int memfd,
                             struct child_fds *f)
{
    /* with a tty berth-init puts the terminal on 0-2 itself */
    const int src[3] = {plan->tty ? -1 : plan->stdin_fd, plan->tty ? -1 : plan->stdout_fd,
                        plan->tty ? -1 : plan->stderr_fd};
    int devnull = -1;
    int r = 0;
    for (int i = 0; i < 3 && r >= 0; i++) {
        if (src[i] < 0 && devnull < 0)
            devnull = open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY);
        if (src[i] < 0 && devnull < 0)
            r = -errno;
        else
            r = f->io[i] = dup_high(src[i] >= 0 ? src[i] : devnull);
    }
    if (r >= 0)
        r = f->sock = dup_high(sock);
    if (r >= 0)
        r = f->memfd = dup_high(memfd);
    close_fd(&devnull);
    return r < 0 ? r : 0;
}

/* The cloned child: async-signal-safe calls only (see the file comment). The
 * dup2 calls clear close-on-exec on 0..3; everything else, the memfd
 * included, is marked close-on-exec so that only 0..3 reach berth-init. */
static __attribute__((noreturn)) void child_main(const struct child_fds *f)
{
    static char *const argv[] = {"berth-init", NULL};
    static char *const envp[] = {NULL};
    uint8_t rec[sizeof(struct spawn_status) + SPAWN_STATUS_MSG_MAX];

    if (dup2(f->io[0], 0) < 0 || dup2(f->io[1], 1) < 0 || dup2(f->io[2], 2) < 0 ||
        dup2(f->sock, SPAWN_PLAN_FD) < 0)
        syscall(SYS_exit_group, 127);
    syscall(SYS_close_range, SPAWN_PLAN_FD + 1, ~0U, CLOSE_RANGE_CLOEXEC);
    syscall(SYS_execveat, f->memfd, "", argv, envp, AT_EMPTY_PATH);
    size_t n = spawn_status_encode(rec, SPAWN_STEP_INIT_EXEC, errno, "exec berth-init");
    (void)!write(SPAWN_PLAN_FD, rec, n);
    /* exit_group, not _exit: sanitizers intercept _exit to run their reports. */
    syscall(SYS_exit_group, 127);
    __builtin_unreachable();
}

/* clone3 with every signal blocked, so that nothing runs in the child
 * before it executes berth-init (which restores a clean signal state). */
static int clone_child(const struct spawn_plan *plan, const struct child_fds *f,
                       struct spawn_ctx *ctx)
{
    struct clone_args args;
    memset(&args, 0, sizeof(args));
    args.flags = (plan->clone_flags & NS_FLAGS) | CLONE_PIDFD;
    /* v1: berth-init makes the cgroup namespace once placed (init_main.c). */
    if (!plan->cgroup2)
        args.flags &= ~(uint64_t)CLONE_NEWCGROUP;
    args.pidfd = (uint64_t)(uintptr_t)&ctx->pidfd;
    args.exit_signal = SIGCHLD;
    if (plan->cgroup_fd >= 0) {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = (uint64_t)plan->cgroup_fd;
    }
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    long pid = syscall(SYS_clone3, &args, sizeof(args));
    if (pid == 0)
        child_main(f);
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (pid < 0)
        return -saved;
    ctx->pid = (pid_t)pid;
    return 0;
}

static void spawn_abort(struct spawn_ctx *ctx)
{
    if (ctx->pidfd >= 0) {
        siginfo_t info;
        syscall(SYS_pidfd_send_signal, ctx->pidfd, SIGKILL, NULL, 0);
        while (waitid(P_PIDFD, (id_t)ctx->pidfd, &info, WEXITED) < 0 && errno == EINTR)
            ;
    }
    close_fd(&ctx->pidfd);
    close_fd(&ctx->sock);
}

static int send_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* What berth-init answered (spawn_plan.h): bytes up to EOF, and the fd
 * passed with them, if any. */
struct reply {
    uint8_t buf[sizeof(uint32_t) + sizeof(struct spawn_status) + SPAWN_STATUS_MSG_MAX];
    size_t len;
    int fd;
    bool bad_fds; /* more than one fd, or truncated ancillary data */
};

static void take_fds(struct msghdr *msg, struct reply *rp)
{
    if (msg->msg_flags & MSG_CTRUNC)
        rp->bad_fds = true;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < n; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (rp->fd < 0) {
                rp->fd = fd;
            } else {
                close(fd);
                rp->bad_fds = true;
            }
        }
    }
}

/* Reads until EOF or a full buffer, collecting a passed fd (O_CLOEXEC). */
static int read_reply(int sock, struct reply *rp)
{
    for (;;) {
        union {
            struct cmsghdr h;
            char buf[CMSG_SPACE(sizeof(int) * 4)];
        } ctl;
        struct iovec iov = {.iov_base = rp->buf + rp->len, .iov_len = sizeof(rp->buf) - rp->len};
        struct msghdr msg = {.msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = ctl.buf,
                             .msg_controllen = sizeof(ctl.buf)};
        ssize_t r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        take_fds(&msg, rp);
        if (r == 0 || (rp->len += (size_t)r) == sizeof(rp->buf))
            return 0;
    }
}

int spawn_exit_code_for_error(const char *msg)
{
    if (strcasestr(msg, "permission denied") || strcasestr(msg, "is a directory"))
        return 126;
    if (strcasestr(msg, "executable file not found") ||
        strcasestr(msg, "no such file or directory") || strcasestr(msg, "not a directory"))
        return 127;
    return 128;
}

/* Turns berth-init's failure record into Docker's wording (runc's, as
 * containerd words a failed task start or exec). */
static int status_to_berr(const uint8_t *rec, size_t len, uint32_t mode, struct berr *err)
{
    char msg[SPAWN_STATUS_MSG_MAX + 1];
    int step, code;
    if (spawn_status_decode(rec, len, &step, &code, msg, sizeof(msg)) < 0)
        return berr_set(err, 500, EPROTO,
                        "failed to create task for container: "
                        "malformed status from berth-init");
    if (code <= 0)
        code = EINVAL;
    if (step == SPAWN_STEP_USER)
        return berr_set(err, 500, code, "%s", msg);
    if (step == SPAWN_STEP_INIT_EXEC) /* the child could not format errno */
        return berr_errno(err, 500, code, "failed to create task for container: %s", msg);
    int status = spawn_exit_code_for_error(msg) == 128 ? 500 : 400;
    if (mode == SPAWN_MODE_EXEC)
        return berr_set(err, status, code,
                        "OCI runtime exec failed: exec failed: unable to start container process: "
                        "%s: unknown",
                        msg);
    return berr_set(err, status, code,
                    "failed to create task for container: unable to start container process: "
                    "error during container init: %s: unknown",
                    msg);
}

/* The terminal message, then a failure record or nothing. A failure wins
 * over a terminal already received; a terminal is required exactly when
 * the plan has a tty. */
static int parse_reply(const struct spawn_plan *plan, const struct reply *rp, struct berr *err)
{
    const uint8_t *p = rp->buf;
    size_t n = rp->len;
    uint32_t magic = 0;
    if (n >= sizeof(magic))
        memcpy(&magic, p, sizeof(magic));
    bool pty_msg = magic == SPAWN_PTY_MAGIC;
    if (pty_msg) {
        p += sizeof(magic);
        n -= sizeof(magic);
    }
    if (n > 0)
        return status_to_berr(p, n, plan->mode, err);
    if (rp->bad_fds || pty_msg != (rp->fd >= 0) || pty_msg != plan->tty)
        return berr_set(err, 500, EPROTO,
                        "failed to create task for container: "
                        "berth-init did not hand the terminal over");
    return 0;
}

/* Sends the plan, then waits for berth-init to execute the command; the pty
 * master (tty) lands in *ret_pty. A send error is not final: berth-init may
 * have died with a record to read. */
static int handover(struct spawn_ctx *ctx, const struct spawn_plan *plan, const uint8_t *buf,
                    size_t len, int *ret_pty, struct berr *err)
{
    struct reply rp = {.len = 0, .fd = -1, .bad_fds = false};
    int sent = send_all(ctx->sock, buf, len);
    shutdown(ctx->sock, SHUT_WR);
    int r = read_reply(ctx->sock, &rp);
    if (r < 0)
        r = berr_errno(err, 500, -r, "failed to create task for container: read status");
    else if (rp.len == 0 && sent < 0)
        r = berr_errno(err, 500, -sent, "failed to create task for container: send plan");
    else
        r = parse_reply(plan, &rp, err);
    if (r != 0)
        close_fd(&rp.fd);
    *ret_pty = rp.fd;
    return r;
}

static int start_child(const struct spawn_plan *plan, struct spawn_ctx *ctx, struct berr *err)
{
    int memfd = spawn__init_memfd(err);
    if (memfd < 0)
        return memfd;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return berr_errno(err, 500, errno, "failed to create task for container: socketpair");
    ctx->sock = sv[0];
    struct child_fds f = {{-1, -1, -1}, -1, -1};
    int r = child_fds_prepare(plan, sv[1], memfd, &f);
    close(sv[1]);
    if (r == 0)
        r = clone_child(plan, &f, ctx);
    child_fds_close(&f);
    if (r < 0)
        return berr_errno(err, 500, -r, "failed to create task for container: clone3");
    return 0;
}

int spawn_container(const struct spawn_plan *plan, spawn_place_fn place, void *ud,
                    struct spawn_result *ret, struct berr *err)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    *ret = (struct spawn_result){.pid = 0, .pidfd = -1, .pty_master = -1};
    int r = spawn_plan_encode(plan, &buf, &len);
    if (r < 0)
        return berr_errno(err, r == -EINVAL ? 400 : 500, -r,
                          "failed to create task for container: invalid process plan");
    struct spawn_ctx ctx = {.sock = -1, .pid = 0, .pidfd = -1};
    int pty = -1;
    r = start_child(plan, &ctx, err);
    if (r == 0 && place)
        r = place(ctx.pid, ud, err);
    if (r == 0)
        r = handover(&ctx, plan, buf, len, &pty, err);
    free(buf);
    if (r != 0) {
        spawn_abort(&ctx);
        return r < 0 ? r : -EIO;
    }
    close_fd(&ctx.sock);
    ret->pid = ctx.pid;
    ret->pidfd = ctx.pidfd;
    ret->pty_master = pty;
    return 0;
}
