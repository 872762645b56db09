/* The user's command: PATH lookup with Go's exec.LookPath rules and wording
 * (the docker CLI turns "executable file not found" / "no such file or
 * directory" into exit 127 and "permission denied" into 126), the exec, and
 * the --init PID 1 that reaps and forwards signals. */
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const char *env_get(const char *const *env, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; env && env[i]; i++)
        if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
            return env[i] + n + 1;
    return NULL;
}

/* Go's findExecutable: 0, or an errno; stat errors are flagged in *stat_err. */
static int check_exec(const char *path, bool *stat_err)
{
    struct stat st;
    *stat_err = false;
    if (stat(path, &st) < 0) {
        *stat_err = true;
        return errno;
    }
    if (S_ISDIR(st.st_mode))
        return EISDIR;
    if (!(st.st_mode & 0111))
        return EACCES;
    if (faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) < 0 && errno != ENOSYS && errno != EPERM)
        return errno;
    return 0;
}

static int lookup_explicit(const char *argv0, char **ret_path)
{
    bool stat_err;
    int e = check_exec(argv0, &stat_err);
    if (e && stat_err)
        return init_fail_errno(e, "exec: \"%s\": stat %s", argv0, argv0);
    if (e)
        return init_fail_errno(e, "exec: \"%s\"", argv0);
    *ret_path = strdup(argv0);
    return *ret_path ? 0 : init_fail(ENOMEM, "exec: out of memory");
}

int exec_lookup(const char *argv0, const char *const *env, char **ret_path)
{
    bool stat_err;
    if (strchr(argv0, '/'))
        return lookup_explicit(argv0, ret_path);
    const char *path = env_get(env, "PATH");
    if (!path)
        path = DEFAULT_PATH;
    while (*argv0) {
        size_t n = strcspn(path, ":");
        char *cand = NULL;
        if (asprintf(&cand, "%.*s/%s", (int)n, n ? path : ".", argv0) < 0)
            return init_fail(ENOMEM, "exec: out of memory");
        if (check_exec(cand, &stat_err) == 0) {
            *ret_path = cand;
            return 0;
        }
        free(cand);
        if (!path[n])
            break;
        path += n + 1;
    }
    return init_fail(ENOENT, "exec: \"%s\": executable file not found in $PATH", argv0);
}

char **exec_env(const char *const *env, const char *home)
{
    size_t n = 0;
    while (env && env[n])
        n++;
    char **out = calloc(n + 2, sizeof(*out));
    if (!out)
        return NULL;
    if (n)
        memcpy(out, env, n * sizeof(*out));
    if (!env_get(env, "HOME") && asprintf(&out[n], "HOME=%s", home ? home : "/") < 0) {
        free(out);
        return NULL;
    }
    return out;
}

/* The master goes to the daemon as SPAWN_PTY_MAGIC with SCM_RIGHTS
 * (spawn_plan.h); MSG_NOSIGNAL because SIGPIPE is back to its default. */
static int send_master(int master)
{
    uint32_t magic = SPAWN_PTY_MAGIC;
    struct iovec iov = {.iov_base = &magic, .iov_len = sizeof(magic)};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    memset(&ctl, 0, sizeof(ctl));
    struct msghdr msg = {.msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = ctl.buf,
                         .msg_controllen = sizeof(ctl.buf)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &master, sizeof(int));
    ssize_t n;
    while ((n = sendmsg(SPAWN_PLAN_FD, &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR)
        ;
    if (n != (ssize_t)sizeof(magic))
        return init_fail_errno(n < 0 ? errno : EIO, "send the terminal to the daemon");
    return 0;
}

/* The slave through TIOCGPTPEER (no path lookup that a container could
 * race), at the plan's size and owned by the user as runc's
 * fixStdioPermissions leaves it (the uid changes; the devpts mount's tty
 * gid and 0620 mode stay), on fds 0-2. */
static int open_slave(int master, const struct spawn_plan *plan, uid_t uid)
{
    int unlock = 0;
    if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
        return init_fail_errno(errno, "unlock the terminal");
    int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0)
        return init_fail_errno(errno, "open the terminal's slave");
    struct winsize ws = {.ws_row = plan->tty_rows, .ws_col = plan->tty_cols};
    struct stat st;
    int r = 0;
    if ((plan->tty_rows || plan->tty_cols) && ioctl(slave, TIOCSWINSZ, &ws) < 0)
        r = init_fail_errno(errno, "set the terminal size");
    if (r == 0 && (fstat(slave, &st) < 0 || (st.st_uid != uid && fchown(slave, uid, -1) < 0)))
        r = init_fail_errno(errno, "chown the terminal to uid %u", (unsigned)uid);
    for (int fd = 0; fd < 3 && r == 0; fd++)
        if (dup2(slave, fd) < 0)
            r = init_fail_errno(errno, "dup the terminal to fd %d", fd);
    close(slave);
    return r;
}

int tty_setup(const struct spawn_plan *plan, uid_t uid)
{
    if (!plan->tty)
        return 0;
    init_step = SPAWN_STEP_TTY;
    /* the container's /dev/ptmx: a link to its own devpts's ptmx */
    int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0)
        return init_fail_errno(errno, "open /dev/ptmx");
    int r = open_slave(master, plan, uid);
    if (r == 0)
        r = send_master(master);
    close(master);
    return r;
}

/* Last steps before exec, in the process that executes: a new session with
 * the terminal as controlling tty (-t), Docker's umask, default signals, and
 * every fd above 2 close-on-exec (fd 3 stays usable to report failure). */
static int exec_now(const struct spawn_plan *plan, const char *path, char **envp)
{
    if (plan->tty && (setsid() < 0 || ioctl(0, TIOCSCTTY, 0) < 0))
        return init_fail_errno(errno, "set controlling terminal");
    umask(022);
    sigset_t none;
    sigemptyset(&none);
    for (int sig = 1; sig < NSIG; sig++)
        signal(sig, SIG_DFL);
    sigprocmask(SIG_SETMASK, &none, NULL);
    syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
    execve(path, (char *const *)plan->argv, envp);
    return init_fail_errno(errno, "exec %s", path);
}

static int exit_code(int status)
{
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

/* Reaps every child (orphans reparented to us included) until the command
 * itself has exited; other signals go to the command. */
static __attribute__((noreturn)) void parent_loop(pid_t child)
{
    sigset_t all;
    sigfillset(&all);
    for (;;) {
        siginfo_t info;
        int sig = sigwaitinfo(&all, &info);
        if (sig < 0)
            continue;
        if (sig != SIGCHLD) {
            kill(child, sig);
            continue;
        }
        int status;
        pid_t p;
        while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
            if (p == child)
                _exit(exit_code(status));
        }
    }
}

static pid_t forked_from; /* the setup parent, in the child init_fork_parent() made */

int init_fork_parent(void)
{
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &old);
    pid_t child = fork();
    if (child < 0)
        return init_fail_errno(errno, "fork");
    if (child == 0) {
        /* A killed berth-init must not leave the command behind. */
        forked_from = getppid();
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        sigprocmask(SIG_SETMASK, &old, NULL);
        return 0;
    }
    /* The child's copy of fd 3 reports its failure or closes on exec: that
     * EOF tells the daemon the command runs. Ours must not hold it open,
     * nor the stdio: the end of the output (a pipe's EOF, the terminal's
     * EIO once its last slave closes) must not wait for our exit. */
    close(SPAWN_PLAN_FD);
    for (int fd = 0; fd < 3; fd++)
        close(fd);
    parent_loop(child);
}

void init_rearm_parent_death(void)
{
    if (!forked_from)
        return;
    /* changing the user cleared the signal; a parent already gone means
     * the container was killed while we were switching */
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (getppid() != forked_from)
        _exit(128 + SIGKILL);
}

int exec_command(const struct spawn_plan *plan, const char *path, char **envp, bool as_parent)
{
    int r = as_parent ? init_fork_parent() : 0;
    if (r < 0)
        return r;
    r = exec_now(plan, path, envp);
    if (as_parent) {
        init_report();
        _exit(127);
    }
    return r;
}
