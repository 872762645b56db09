/* `docker top`: the host's ps, as moby's ContainerTop runs it, with the
 * rows cut down to the processes of the container's cgroup. ps runs on a
 * worker (posix_spawn: safe from a threaded process, and no libuv handle
 * may be touched off the loop). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/macros.h"
#include "ctr_internal.h"
#include "ctr_manage.h"

#define PS_OUT_MAX     (32u << 20) /* a host with a million processes stays below this */
#define PS_TIMEOUT_MS  30000
#define PS_ERRLINE_MAX 512

extern char **environ;

/* ---- running ps ------------------------------------------------------------ */

struct ps_out {
    char *out;
    size_t len, cap;
    char errbuf[PS_ERRLINE_MAX];
    size_t errlen;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads what is ready on fd; 0 at EOF, 1 for more, -errno on failure. */
static int drain_out(int fd, struct ps_out *po)
{
    if (po->cap - po->len < 4096) {
        size_t cap = po->cap ? po->cap * 2 : 65536;
        if (cap > PS_OUT_MAX)
            return -E2BIG;
        char *p = realloc(po->out, cap + 1);
        if (!p)
            return -ENOMEM;
        po->out = p;
        po->cap = cap;
    }
    ssize_t n = read(fd, po->out + po->len, po->cap - po->len);
    if (n < 0)
        return errno == EINTR || errno == EAGAIN ? 1 : -errno;
    po->len += (size_t)n;
    po->out[po->len] = '\0';
    return n > 0;
}

/* Keeps the start of stderr: its first line is the reason ps gives. */
static int drain_err(int fd, struct ps_out *po)
{
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0)
        return errno == EINTR || errno == EAGAIN ? 1 : -errno;
    size_t room = sizeof(po->errbuf) - 1 - po->errlen;
    size_t take = (size_t)n < room ? (size_t)n : room;
    memcpy(po->errbuf + po->errlen, buf, take);
    po->errlen += take;
    po->errbuf[po->errlen] = '\0';
    return n > 0;
}

/* Reads stdout and stderr until both close or the deadline passes. */
static int read_both(int fds[2], struct ps_out *po)
{
    int64_t deadline = now_ms() + PS_TIMEOUT_MS;
    bool open[2] = {true, true};
    while (open[0] || open[1]) {
        struct pollfd p[2] = {{open[0] ? fds[0] : -1, POLLIN, 0},
                              {open[1] ? fds[1] : -1, POLLIN, 0}};
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return -ETIMEDOUT;
        int n = poll(p, 2, (int)left);
        if (n < 0 && errno != EINTR)
            return -errno;
        for (int i = 0; n > 0 && i < 2; i++) {
            if (!p[i].revents)
                continue;
            int r = i == 0 ? drain_out(fds[0], po) : drain_err(fds[1], po);
            if (r < 0)
                return r;
            open[i] = r > 0;
        }
    }
    return 0;
}

static int spawn_ps(char *const argv[], int out_w, int err_w, pid_t *ret)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out_w, 1);
    posix_spawn_file_actions_adddup2(&fa, err_w, 2);
    /* The daemon ignores SIGPIPE and its threads may block signals: ps gets
     * default dispositions and an empty mask. */
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    int r = posix_spawnp(ret, "ps", &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    return -r;
}

static int wait_ps(pid_t pid, bool kill_it, int *status)
{
    if (kill_it)
        kill(pid, SIGKILL);
    while (waitpid(pid, status, 0) < 0)
        if (errno != EINTR)
            return -errno;
    return 0;
}

/* The reason ps failed, in Go's words when it printed none. */
static void ps_failure(const struct ps_out *po, int rc, int status, struct berr *err)
{
    size_t n = strcspn(po->errbuf, "\n");
    if (n > 0)
        berr_set(err, 500, EIO, "ps: %.*s", (int)n, po->errbuf);
    else if (rc == -E2BIG)
        berr_set(err, 500, E2BIG, "ps: output larger than %u bytes", PS_OUT_MAX);
    else if (rc == -ENOENT)
        berr_set(err, 500, ENOENT, "ps: exec: \"ps\": executable file not found in $PATH");
    else if (rc < 0)
        berr_errno(err, 500, -rc, "ps");
    else if (WIFSIGNALED(status))
        berr_set(err, 500, EIO, "ps: signal: %s", strsignal(WTERMSIG(status)));
    else
        berr_set(err, 500, EIO, "ps: exit status %d", WEXITSTATUS(status));
}

/* Runs ps argv; 0 with its output in po, or -1 with err set. */
static int run_ps(char *const argv[], struct ps_out *po, struct berr *err)
{
    int out[2] = {-1, -1}, errp[2] = {-1, -1}, status = 0;
    pid_t pid = -1;
    int rc = pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 ? -errno : 0;
    if (rc == 0)
        rc = spawn_ps(argv, out[1], errp[1], &pid);
    /* Only ps may hold the write ends, so EOF comes when it exits. */
    if (out[1] >= 0)
        close(out[1]);
    if (errp[1] >= 0)
        close(errp[1]);
    if (rc == 0)
        rc = read_both((int[2]){out[0], errp[0]}, po);
    if (pid > 0) {
        int w = wait_ps(pid, rc < 0, &status);
        rc = rc < 0 ? rc : w;
    }
    if (out[0] >= 0)
        close(out[0]);
    if (errp[0] >= 0)
        close(errp[0]);
    if (rc == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    ps_failure(po, rc, status, err);
    return -1;
}

/* ---- arguments ------------------------------------------------------------- */

/* Go's strings.Split(s, " "): empty pieces stay. */
static int split_args(const char *s, struct strv *ret)
{
    for (;;) {
        const char *sp = strchr(s, ' ');
        size_t n = sp ? (size_t)(sp - s) : strlen(s);
        char *piece = strndup(s, n);
        int r = piece ? strv_push(ret, piece) : -ENOMEM;
        free(piece);
        if (r < 0)
            return r;
        if (!sp)
            return 0;
        s = sp + 1;
    }
}

/* GNU long options of ps that take a value ("--sort k" or "--sort=k"). */
static bool long_takes_value(const char *opt, size_t len)
{
    static const char *const v[] = {"--cols", "--columns", "--Group",     "--group", "--lines",
                                    "--pid",  "--ppid",    "--quick-pid", "--rows",  "--sid",
                                    "--sort", "--tty",     "--User",      "--user",  "--width"};
    for (size_t i = 0; i < ARRAY_SIZE(v); i++)
        if (strlen(v[i]) == len && !strncmp(opt, v[i], len))
            return true;
    return false;
}

/* One argument: *found when it chooses columns, *skip when the next
 * argument is this option's value. Mirrors moby's customFields, which
 * looks at long options, then dash options, then glued BSD letters. */
static void check_arg(const char *a, bool *found, bool *skip)
{
    size_t len = strlen(a);
    if (len > 2 && a[0] == '-' && a[1] == '-') {
        size_t name = strcspn(a, "=");
        if (name == 8 && !strncmp(a, "--format", 8)) {
            *found = true;
            return;
        }
        if (long_takes_value(a, name)) {
            *skip = a[name] == '\0'; /* "--sort k", not "--sort=k" */
            return;
        }
    }
    if (len >= 2 && a[0] == '-') {
        if (a[1] == 'o') {
            *found = true;
            return;
        }
        if (strchr("CGgOpqstuU", a[1])) {
            *skip = len == 2; /* "-U root", not "-Uroot" */
            return;
        }
    }
    /* BSD style letters, possibly glued together ("efocmd", "eUroot"). */
    for (size_t i = 0; i < len; i++) {
        if (a[i] == 'o') {
            *found = true;
            return;
        }
        if (strchr("pqtUOk", a[i])) {
            *skip = i + 1 == len;
            return;
        }
    }
}

bool ctr_top_custom_fields(const char *const *args, size_t n)
{
    bool skip = false, found = false;
    for (size_t i = 0; i < n && !found; i++) {
        if (skip) {
            skip = false;
            continue;
        }
        const char *a = args[i];
        if (!strncmp(a, "-o", 2) || a[0] == 'o' || !strncmp(a, "--format", 8))
            return true;
        check_arg(a, &found, &skip);
    }
    return found;
}

/* ---- parsing --------------------------------------------------------------- */

static bool ascii_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\f' || ch == '\r';
}

/* Go's fieldsASCII over [s, end). */
static int fields(const char *s, const char *end, struct strv *ret)
{
    while (s < end) {
        while (s < end && ascii_space(*s))
            s++;
        const char *b = s;
        while (s < end && !ascii_space(*s))
            s++;
        if (s > b) {
            char *f = strndup(b, (size_t)(s - b));
            int r = f ? strv_push(ret, f) : -ENOMEM;
            free(f);
            if (r < 0)
                return r;
        }
    }
    return 0;
}

void ctr_top_done(struct ctr_top *t)
{
    strv_done(&t->titles);
    for (size_t i = 0; i < t->nrows; i++)
        strv_done(&t->rows[i]);
    free(t->rows);
    memset(t, 0, sizeof(*t));
}

/* Joins f->v[from..] with single spaces. */
static char *join_rest(const struct strv *f, size_t from)
{
    size_t len = 1;
    for (size_t i = from; i < f->n; i++)
        len += strlen(f->v[i]) + 1;
    char *s = malloc(len), *p = s;
    if (!s)
        return NULL;
    *p = '\0';
    for (size_t i = from; i < f->n; i++)
        p += sprintf(p, "%s%s", i > from ? " " : "", f->v[i]);
    return s;
}

/* As many columns as titles: the extra fields of a line are the last
 * column's words (a command line), missing ones are empty. */
static int add_row(struct ctr_top *t, const struct strv *f, size_t first)
{
    struct strv *rows = realloc(t->rows, (t->nrows + 1) * sizeof(*rows));
    if (!rows)
        return -ENOMEM;
    t->rows = rows;
    struct strv *row = &rows[t->nrows++];
    *row = (struct strv){0};
    size_t ncol = t->titles.n, have = f->n - first;
    int r = 0;
    for (size_t i = 0; r == 0 && i + 1 < ncol; i++)
        r = strv_push(row, i < have ? f->v[first + i] : "");
    char *last = r == 0 ? join_rest(f, first + ncol - 1) : NULL;
    if (r == 0)
        r = last ? strv_push(row, last) : -ENOMEM;
    free(last);
    return r;
}

static bool has_pid(const pid_t *pids, size_t n, long p)
{
    for (size_t i = 0; i < n; i++)
        if (pids[i] == p)
            return true;
    return false;
}

static int find_pid_column(struct ctr_top *t, bool pid_first, size_t *ret, struct berr *err)
{
    for (size_t i = 0; i < t->titles.n; i++) {
        if (!strcmp(t->titles.v[i], "PID") && (!pid_first || i == 0)) {
            *ret = i;
            if (pid_first) { /* the column we added is not the user's */
                free(t->titles.v[0]);
                memmove(t->titles.v, t->titles.v + 1, --t->titles.n * sizeof(char *));
            }
            return 0;
        }
        if (pid_first)
            break;
    }
    return berr_set(err, 500, EINVAL, "Couldn't find PID field in ps output");
}

/* Strict decimal, as Go's strconv.Atoi. */
static int parse_pid(const char *s, long *ret, struct berr *err)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || ascii_space(*s))
        return berr_set(err, 500, EINVAL,
                        "Unexpected pid '%s': strconv.Atoi: parsing \"%s\": invalid syntax", s, s);
    *ret = v;
    return 0;
}

/* One process line; *prev says whether the last PID line was the
 * container's (thread lines, PID "-", follow their process). */
static int parse_line(struct ctr_top *t, const struct strv *f, size_t pidx, bool pid_first,
                      const pid_t *pids, size_t npids, bool *prev, struct berr *err)
{
    const char *p = pidx < f->n ? f->v[pidx] : "";
    size_t first = pid_first ? 1 : 0;
    long pid = 0;
    if (!strcmp(p, "-"))
        return *prev ? add_row(t, f, first) : 0;
    if (parse_pid(p, &pid, err) < 0)
        return -EINVAL;
    *prev = has_pid(pids, npids, pid);
    return *prev ? add_row(t, f, first) : 0;
}

int ctr_top_parse(const char *out, const pid_t *pids, size_t npids, bool pid_first,
                  struct ctr_top *ret, struct berr *err)
{
    memset(ret, 0, sizeof(*ret));
    const char *nl = strchr(out, '\n');
    const char *end = nl ? nl : out + strlen(out);
    size_t pidx = 0;
    int r = fields(out, end, &ret->titles);
    if (r == 0)
        r = find_pid_column(ret, pid_first, &pidx, err);
    bool prev = false;
    for (const char *s = nl ? nl + 1 : end; r == 0 && *s;) {
        const char *e = strchr(s, '\n');
        e = e ? e : s + strlen(s);
        struct strv f = {0};
        if (e > s && (r = fields(s, e, &f)) == 0)
            r = parse_line(ret, &f, pidx, pid_first, pids, npids, &prev, err);
        strv_done(&f);
        s = *e ? e + 1 : e;
    }
    if (r == -ENOMEM)
        berr_set(err, 500, ENOMEM, "out of memory");
    if (r < 0)
        ctr_top_done(ret);
    return r < 0 ? r : 0;
}

/* ---- the job --------------------------------------------------------------- */

struct top_job {
    struct job job;
    struct rt *rt;
    struct container *c;
    struct cgroup cg;
    struct strv args; /* ps_args split */
    bool custom;      /* "-opid" goes first */
    rt_top_fn done;
    void *ud;
    struct ctr_top top;
};

/* "-q1,2,3": ps selects those PIDs itself (quick on busy hosts). */
static char *pids_arg(const pid_t *pids, size_t n)
{
    size_t cap = 3 + n * 12;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    size_t len = (size_t)snprintf(s, cap, "-q");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(s + len, cap - len, "%s%d", i ? "," : "", (int)pids[i]);
    return s;
}

/* argv: ps [-opid] args... [-q<pids>] */
static char **build_argv(struct top_job *tj, char *q)
{
    char **argv = calloc(tj->args.n + 4, sizeof(char *));
    if (!argv)
        return NULL;
    size_t n = 0;
    argv[n++] = "ps";
    if (tj->custom)
        argv[n++] = "-opid";
    for (size_t i = 0; i < tj->args.n; i++)
        argv[n++] = tj->args.v[i];
    argv[n] = q;
    return argv;
}

/* Some ps options (f, -C) can't go with -q: then all processes are listed
 * and the parser filters them. */
static int ps_output(struct top_job *tj, const pid_t *pids, size_t n, struct ps_out *po)
{
    char *q = pids_arg(pids, n);
    char **argv = q ? build_argv(tj, q) : NULL;
    int r = argv ? run_ps(argv, po, &tj->job.err) : -1;
    if (r < 0 && argv) {
        free(po->out);
        *po = (struct ps_out){0};
        argv[tj->args.n + 1 + tj->custom] = NULL;
        r = run_ps(argv, po, &tj->job.err);
    } else if (!argv) {
        berr_set(&tj->job.err, 500, ENOMEM, "out of memory");
    }
    free(argv);
    free(q);
    return r;
}

static int top_run(struct job *job)
{
    struct top_job *tj = container_of(job, struct top_job, job);
    pid_t *pids = NULL;
    size_t n = 0;
    struct ps_out po = {0};
    int r = cgroup_pids(&tj->cg, &pids, &n, &job->err);
    if (r == 0)
        r = ps_output(tj, pids, n, &po);
    if (r == 0)
        r = ctr_top_parse(po.out ? po.out : "", pids, n, tj->custom, &tj->top, &job->err);
    free(po.out);
    free(pids);
    return r < 0 ? -EIO : 0;
}

static void top_job_free(struct top_job *tj)
{
    ctr_unref(tj->c);
    strv_done(&tj->args);
    ctr_top_done(&tj->top);
    free(tj);
}

static int top_check(const struct container *c, struct berr *err)
{
    if (c->st.status == CTR_RESTARTING)
        return berr_set(err, 409, EBUSY,
                        "Container %s is restarting, wait until the container is running", c->id);
    if (!ctr_is_running(c) || !c->rt || c->rt->exited)
        return berr_set(err, 409, ESRCH, "Container %s is not running", c->id);
    return 0;
}

static void top_done(struct job *job)
{
    struct top_job *tj = container_of(job, struct top_job, job);
    if (job->result < 0 || job->cancelled) {
        /* A container that exited meanwhile lost its cgroup: say so. */
        if (top_check(tj->c, &job->err) == 0 && !job->err.status)
            berr_set(&job->err, 500, ECANCELED, "ps: cancelled");
        tj->done(tj->ud, &job->err, NULL);
    } else {
        if (!tj->c->removed)
            rt_event(tj->rt, tj->c, "top", NULL);
        tj->done(tj->ud, &(struct berr){0}, &tj->top);
    }
    top_job_free(tj);
}

void rt_top(struct rt *rt, struct container *c, const char *ps_args, rt_top_fn done, void *ud)
{
    struct berr err = {0};
    if (top_check(c, &err) < 0) {
        done(ud, &err, NULL);
        return;
    }
    struct top_job *tj = calloc(1, sizeof(*tj));
    bool custom_args = ps_args && *ps_args;
    if (!tj || split_args(custom_args ? ps_args : "-ef", &tj->args) < 0) {
        if (tj)
            strv_done(&tj->args);
        free(tj);
        done(ud, &(struct berr){500, "out of memory"}, NULL);
        return;
    }
    tj->custom = custom_args && ctr_top_custom_fields((const char *const *)tj->args.v, tj->args.n);
    tj->rt = rt;
    tj->c = c;
    tj->cg = c->rt->cg;
    tj->done = done;
    tj->ud = ud;
    ctr_ref(c);
    job_init(&tj->job, top_run, top_done);
    if (job_queue(rt->loop, &tj->job) < 0) {
        done(ud, &(struct berr){500, "cannot queue work"}, NULL);
        top_job_free(tj);
    }
}
