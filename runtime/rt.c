#include "rt.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "caps.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "common/macros.h"
#include "storage/fsutil.h"
#include "ctr_internal.h"
#include "exec.h"

/* Takes the container's image reference and cleans what a daemon that died
 * without us left behind (ctr_reconcile.c). */
static void reconcile(struct rt *rt, struct container *c)
{
    struct image *img = store_image_by_id(rt->store, c->image_id);
    if (img)
        img->users++;
    ctr_reconcile_sync(rt, c);
}

/* Removed containers' directories wait in <data-root>/trash for a worker
 * to delete them (ctr_remove.c); what a crash left there goes now. */
static void empty_trash_sync(const char *data_root)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/trash", data_root);
    int r = fs_rm_rf(path);
    if (r < 0 && r != -ENOENT)
        log_warn("emptying %s: %s", path, strerror(-r));
    if (mkdir(path, 0700) < 0 && errno != EEXIST)
        log_warn("creating %s: %s", path, strerror(errno));
}

int rt_init(struct rt *rt, uv_loop_t *loop, struct store *store, struct evbus *events,
            const char *data_root, struct strv *ret_warnings, struct berr *err)
{
    memset(rt, 0, sizeof(*rt));
    rt->loop = loop;
    rt->store = store;
    rt->events = events;
    if (!(rt->data_root = strdup(data_root)) || !(rt->cgroup_root = strdup("/sys/fs/cgroup")) ||
        ctr_table_init(&rt->ctrs, data_root) < 0)
        return berr_set(err, 500, ENOMEM, "out of memory");
    if (cgroup_detect(rt->cgroup_root, &rt->cg, err) < 0)
        return -EIO;
    if (caps_read_bounding(&rt->cap_bounding) < 0)
        rt->cap_bounding = CAPS_ALL_KNOWN;
    empty_trash_sync(rt->data_root);
    if (ctr_table_load_sync(&rt->ctrs, ret_warnings, err) < 0)
        return -EIO;
    const char *k;
    void *v;
    for (size_t i = 0; map_next(&rt->ctrs.by_id, &i, &k, &v);)
        reconcile(rt, v);
    ctr_reconcile_restart(rt);
    return 0;
}

void rt_done(struct rt *rt)
{
    rt_exec_table_free(rt); /* before the containers its records hold */
    if (rt->ctrs.root)
        ctr_table_done(&rt->ctrs);
    free(rt->data_root);
    free(rt->cgroup_root);
    rt->data_root = rt->cgroup_root = NULL;
}

#define EVENT_ATTRS_MAX 64

/* Docker's container event attributes: every label, then image and name. */
void rt_event(struct rt *rt, const struct container *c, const char *action,
              const char *const *extra)
{
    const char *attrs[2 * EVENT_ATTRS_MAX + 1];
    size_t n = 0;
    const cJSON *l;
    cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(c->config, "Labels"))
    {
        if (n + 2 < 2 * (EVENT_ATTRS_MAX - 8) && cJSON_IsString(l)) {
            attrs[n++] = l->string;
            attrs[n++] = l->valuestring;
        }
    }
    for (size_t i = 0; extra && extra[i] && extra[i + 1] && n + 2 < 2 * EVENT_ATTRS_MAX - 4;
         i += 2) {
        attrs[n++] = extra[i];
        attrs[n++] = extra[i + 1];
    }
    attrs[n++] = "image";
    attrs[n++] = c->image_name ? c->image_name : "";
    attrs[n++] = "name";
    attrs[n++] = c->name;
    attrs[n] = NULL;
    evbus_publish(rt->events, "container", action, c->id, attrs);
}

static const struct {
    const char *name;
    int sig;
} signals[] = {
    {"HUP", SIGHUP},       {"INT", SIGINT},   {"QUIT", SIGQUIT},     {"ILL", SIGILL},
    {"TRAP", SIGTRAP},     {"ABRT", SIGABRT}, {"IOT", SIGIOT},       {"BUS", SIGBUS},
    {"FPE", SIGFPE},       {"KILL", SIGKILL}, {"USR1", SIGUSR1},     {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2},     {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},     {"TERM", SIGTERM},
    {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT},     {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP},     {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},
    {"XCPU", SIGXCPU},     {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
    {"WINCH", SIGWINCH},   {"IO", SIGIO},     {"POLL", SIGPOLL},     {"PWR", SIGPWR},
    {"SYS", SIGSYS},
};

static int parse_rt_signal(const char *s)
{
    int base = !strncmp(s, "RTMIN", 5) ? SIGRTMIN : !strncmp(s, "RTMAX", 5) ? SIGRTMAX : 0;
    if (!base)
        return -EINVAL;
    s += 5;
    if (!*s)
        return base;
    char *end;
    long off = strtol(s, &end, 10);
    if (*end || (s[0] != '+' && s[0] != '-'))
        return -EINVAL;
    long sig = base + off;
    return sig >= SIGRTMIN && sig <= SIGRTMAX ? (int)sig : -EINVAL;
}

int rt_signal_parse(const char *s, int *ret)
{
    if (!s || !*s)
        return -EINVAL;
    if (isdigit((unsigned char)s[0])) {
        char *end;
        long n = strtol(s, &end, 10);
        if (*end || n <= 0 || n > SIGRTMAX)
            return -EINVAL;
        return *ret = (int)n, 0;
    }
    char up[32];
    size_t i = 0;
    for (; s[i] && i + 1 < sizeof(up); i++)
        up[i] = (char)toupper((unsigned char)s[i]);
    up[i] = 0;
    const char *name = !strncmp(up, "SIG", 3) ? up + 3 : up;
    for (size_t j = 0; j < ARRAY_SIZE(signals); j++)
        if (!strcmp(name, signals[j].name))
            return *ret = signals[j].sig, 0;
    int rtsig = parse_rt_signal(name);
    if (rtsig < 0)
        return -EINVAL;
    return *ret = rtsig, 0;
}
