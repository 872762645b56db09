/* Plan serialisation shared by berthd and berth-init (libc only).
 *
 * Format: native-endian (both ends run on the same host, and berth-init is
 * embedded in the daemon at build time, so they never differ in version).
 * Fields follow in a fixed order after a magic word. A string is a u32
 * length (STR_NULL for NULL) and the bytes plus a NUL, so the decoder can
 * point into the buffer; a list is a u32 count and its items. The decoder
 * checks every length against what is left and refuses trailing bytes. */
#include "spawn_plan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PLAN_MAGIC 0x42504c31u /* "BPL1" */
#define STR_NULL   0xffffffffu

enum plan_bits {
    BIT_RO_ROOTFS = 1u << 0,
    BIT_PRIVILEGED = 1u << 1,
    BIT_CGROUP2 = 1u << 2,
    BIT_NNP = 1u << 3,
    BIT_OOM = 1u << 4,
    BIT_INIT = 1u << 5,
    BIT_TTY = 1u << 6,
    BIT_NO_SHM = 1u << 7,
};

const char *const spawn_default_masked_paths[] = {
    "/proc/asound",
    "/proc/acpi",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
    NULL,
};

const char *const spawn_default_readonly_paths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

void spawn_plan_init(struct spawn_plan *plan)
{
    memset(plan, 0, sizeof(*plan));
    plan->stdin_fd = -1;
    plan->stdout_fd = -1;
    plan->stderr_fd = -1;
    plan->cgroup_fd = -1;
}

/* ---- encoder --------------------------------------------------------------- */

struct wbuf {
    uint8_t *p;
    size_t len, cap;
    int error; /* sticky: first failure wins */
};

static void put(struct wbuf *w, const void *data, size_t n)
{
    if (w->error || n == 0)
        return;
    if (n > SPAWN_PLAN_MAX || w->len + n > SPAWN_PLAN_MAX) {
        w->error = -EINVAL;
        return;
    }
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap : 4096;
        while (cap < w->len + n)
            cap *= 2;
        uint8_t *np = realloc(w->p, cap);
        if (!np) {
            w->error = -ENOMEM;
            return;
        }
        w->p = np;
        w->cap = cap;
    }
    memcpy(w->p + w->len, data, n);
    w->len += n;
}

static void put_u32(struct wbuf *w, uint32_t v)
{
    put(w, &v, sizeof(v));
}

static void put_u64(struct wbuf *w, uint64_t v)
{
    put(w, &v, sizeof(v));
}

static void put_str(struct wbuf *w, const char *s)
{
    if (!s) {
        put_u32(w, STR_NULL);
        return;
    }
    size_t n = strlen(s);
    if (n >= STR_NULL) {
        w->error = -EINVAL;
        return;
    }
    put_u32(w, (uint32_t)n);
    put(w, s, n + 1);
}

static void put_strv(struct wbuf *w, const char *const *v)
{
    uint32_t n = 0;
    while (v && v[n])
        n++;
    put_u32(w, n);
    for (uint32_t i = 0; i < n; i++)
        put_str(w, v[i]);
}

static uint32_t plan_bits(const struct spawn_plan *p)
{
    return (p->readonly_rootfs ? BIT_RO_ROOTFS : 0) | (p->privileged ? BIT_PRIVILEGED : 0) |
           (p->cgroup2 ? BIT_CGROUP2 : 0) | (p->no_new_privs ? BIT_NNP : 0) |
           (p->set_oom_score_adj ? BIT_OOM : 0) | (p->init ? BIT_INIT : 0) |
           (p->tty ? BIT_TTY : 0) | (p->no_shm ? BIT_NO_SHM : 0);
}

static void put_lists(struct wbuf *w, const struct spawn_plan *p)
{
    put_u32(w, (uint32_t)p->n_ns_join);
    for (size_t i = 0; i < p->n_ns_join; i++) {
        put_u32(w, p->ns_join[i].nstype);
        put_str(w, p->ns_join[i].path);
    }
    put_u32(w, (uint32_t)p->n_mounts);
    for (size_t i = 0; i < p->n_mounts; i++) {
        const struct spawn_mount *m = &p->mounts[i];
        put_str(w, m->source);
        put_str(w, m->target);
        put_str(w, m->fstype);
        put_str(w, m->data);
        put_u64(w, m->flags);
        put_u64(w, m->propagation);
    }
    put_u32(w, (uint32_t)p->n_cgroup_binds);
    for (size_t i = 0; i < p->n_cgroup_binds; i++) {
        put_str(w, p->cgroup_binds[i].host);
        put_str(w, p->cgroup_binds[i].container);
    }
    put_u32(w, (uint32_t)p->n_rlimits);
    for (size_t i = 0; i < p->n_rlimits; i++) {
        put_u32(w, p->rlimits[i].resource);
        put_u64(w, p->rlimits[i].soft);
        put_u64(w, p->rlimits[i].hard);
    }
}

static void put_plan(struct wbuf *w, const struct spawn_plan *p)
{
    put_u32(w, PLAN_MAGIC);
    put_u32(w, p->mode);
    put_u64(w, p->clone_flags);
    put_u32(w, plan_bits(p));
    put_str(w, p->rootfs);
    put_strv(w, p->masked_paths);
    put_strv(w, p->readonly_paths);
    put_str(w, p->hosts_path);
    put_str(w, p->hostname_path);
    put_str(w, p->resolv_path);
    put_u64(w, p->shm_size);
    put_str(w, p->shm_path);
    put_str(w, p->hostname);
    put_str(w, p->domainname);
    put_str(w, p->user);
    put_strv(w, p->group_add);
    put_u64(w, p->caps);
    put_u32(w, (uint32_t)p->seccomp_len);
    put(w, p->seccomp, p->seccomp_len);
    put_strv(w, p->argv);
    put_strv(w, p->env);
    put_str(w, p->cwd);
    put_u32(w, (uint32_t)p->oom_score_adj);
    put_u32(w, (uint32_t)p->tty_rows << 16 | p->tty_cols);
    put_lists(w, p);
}

int spawn_plan_encode(const struct spawn_plan *plan, uint8_t **ret_buf, size_t *ret_len)
{
    if (!plan->argv || !plan->argv[0] || plan->seccomp_len % 8 != 0 ||
        (plan->seccomp_len && !plan->seccomp) || plan->seccomp_len > SPAWN_PLAN_MAX)
        return -EINVAL;
    struct wbuf w = {0};
    put_plan(&w, plan);
    if (w.error) {
        free(w.p);
        return w.error;
    }
    *ret_buf = w.p;
    *ret_len = w.len;
    return 0;
}

/* ---- decoder --------------------------------------------------------------- */

struct rbuf {
    const uint8_t *p;
    size_t len, pos;
    int error; /* sticky */
};

static const void *take(struct rbuf *r, size_t n)
{
    if (r->error || n > r->len - r->pos) {
        if (!r->error)
            r->error = -EBADMSG;
        return NULL;
    }
    const void *at = r->p + r->pos;
    r->pos += n;
    return at;
}

static uint32_t get_u32(struct rbuf *r)
{
    uint32_t v = 0;
    const void *at = take(r, sizeof(v));
    if (at)
        memcpy(&v, at, sizeof(v));
    return v;
}

static uint64_t get_u64(struct rbuf *r)
{
    uint64_t v = 0;
    const void *at = take(r, sizeof(v));
    if (at)
        memcpy(&v, at, sizeof(v));
    return v;
}

/* A string must end with its NUL and hold no other. */
static const char *get_str(struct rbuf *r)
{
    uint32_t n = get_u32(r);
    if (r->error || n == STR_NULL)
        return NULL;
    const char *s = take(r, (size_t)n + 1);
    if (s && (s[n] != '\0' || memchr(s, '\0', n))) {
        r->error = -EBADMSG;
        return NULL;
    }
    return s;
}

/* Reads a count of items of at least min_size bytes each and allocates room
 * for count + extra entries of entry_size; NULL for zero items. */
static void *get_array(struct rbuf *r, size_t min_size, size_t entry_size, size_t extra,
                       size_t *ret_n)
{
    uint32_t n = get_u32(r);
    *ret_n = 0;
    if (r->error || n == 0)
        return NULL;
    if (n > (r->len - r->pos) / min_size) {
        r->error = -EBADMSG;
        return NULL;
    }
    void *a = calloc((size_t)n + extra, entry_size);
    if (!a) {
        r->error = -ENOMEM;
        return NULL;
    }
    *ret_n = n;
    return a;
}

static const char *const *get_strv(struct rbuf *r)
{
    size_t n;
    const char **v = get_array(r, 5, sizeof(char *), 1, &n);
    for (size_t i = 0; i < n; i++) {
        v[i] = get_str(r);
        if (!v[i] && !r->error)
            r->error = -EBADMSG; /* a list holds no NULL entry */
    }
    return v;
}

static void get_lists(struct rbuf *r, struct spawn_plan *p)
{
    struct spawn_nsjoin *ns = get_array(r, 8, sizeof(*ns), 0, &p->n_ns_join);
    p->ns_join = ns;
    for (size_t i = 0; i < p->n_ns_join; i++) {
        ns[i].nstype = get_u32(r);
        ns[i].path = get_str(r);
    }
    struct spawn_mount *m = get_array(r, 32, sizeof(*m), 0, &p->n_mounts);
    p->mounts = m;
    for (size_t i = 0; i < p->n_mounts; i++) {
        m[i].source = get_str(r);
        m[i].target = get_str(r);
        m[i].fstype = get_str(r);
        m[i].data = get_str(r);
        m[i].flags = get_u64(r);
        m[i].propagation = get_u64(r);
    }
    struct spawn_bind *b = get_array(r, 8, sizeof(*b), 0, &p->n_cgroup_binds);
    p->cgroup_binds = b;
    for (size_t i = 0; i < p->n_cgroup_binds; i++) {
        b[i].host = get_str(r);
        b[i].container = get_str(r);
    }
    struct spawn_rlimit *rl = get_array(r, 20, sizeof(*rl), 0, &p->n_rlimits);
    p->rlimits = rl;
    for (size_t i = 0; i < p->n_rlimits; i++) {
        rl[i].resource = get_u32(r);
        rl[i].soft = get_u64(r);
        rl[i].hard = get_u64(r);
    }
}

static void set_bits(struct spawn_plan *p, uint32_t bits)
{
    p->readonly_rootfs = bits & BIT_RO_ROOTFS;
    p->privileged = bits & BIT_PRIVILEGED;
    p->cgroup2 = bits & BIT_CGROUP2;
    p->no_new_privs = bits & BIT_NNP;
    p->set_oom_score_adj = bits & BIT_OOM;
    p->init = bits & BIT_INIT;
    p->tty = bits & BIT_TTY;
    p->no_shm = bits & BIT_NO_SHM;
}

static void get_plan(struct rbuf *r, struct spawn_plan *p)
{
    if (get_u32(r) != PLAN_MAGIC && !r->error)
        r->error = -EBADMSG;
    p->mode = get_u32(r);
    p->clone_flags = get_u64(r);
    set_bits(p, get_u32(r));
    p->rootfs = get_str(r);
    p->masked_paths = get_strv(r);
    p->readonly_paths = get_strv(r);
    p->hosts_path = get_str(r);
    p->hostname_path = get_str(r);
    p->resolv_path = get_str(r);
    p->shm_size = get_u64(r);
    p->shm_path = get_str(r);
    p->hostname = get_str(r);
    p->domainname = get_str(r);
    p->user = get_str(r);
    p->group_add = get_strv(r);
    p->caps = get_u64(r);
    p->seccomp_len = get_u32(r);
    p->seccomp = p->seccomp_len ? take(r, p->seccomp_len) : NULL;
    p->argv = get_strv(r);
    p->env = get_strv(r);
    p->cwd = get_str(r);
    p->oom_score_adj = (int32_t)get_u32(r);
    uint32_t size = get_u32(r);
    p->tty_rows = (uint16_t)(size >> 16);
    p->tty_cols = (uint16_t)size;
    get_lists(r, p);
}

int spawn_plan_decode(const uint8_t *buf, size_t len, struct spawn_plan *plan)
{
    spawn_plan_init(plan);
    if (len > SPAWN_PLAN_MAX)
        return -EBADMSG;
    struct rbuf r = {.p = buf, .len = len};
    get_plan(&r, plan);
    if (!r.error &&
        (r.pos != len || !plan->argv || plan->seccomp_len % 8 != 0 || plan->mode > SPAWN_MODE_EXEC))
        r.error = -EBADMSG;
    if (r.error) {
        spawn_plan_decoded_free(plan);
        return r.error;
    }
    return 0;
}

void spawn_plan_decoded_free(struct spawn_plan *plan)
{
    free((void *)plan->ns_join);
    free((void *)plan->mounts);
    free((void *)plan->cgroup_binds);
    free((void *)plan->rlimits);
    free((void *)plan->masked_paths);
    free((void *)plan->readonly_paths);
    free((void *)plan->group_add);
    free((void *)plan->argv);
    free((void *)plan->env);
    spawn_plan_init(plan);
}

/* ---- status record --------------------------------------------------------- */

size_t spawn_status_encode(uint8_t *buf, int step, int err, const char *msg)
{
    size_t n = msg ? strnlen(msg, SPAWN_STATUS_MSG_MAX) : 0;
    struct spawn_status st = {
        .magic = SPAWN_STATUS_MAGIC,
        .step = step,
        .err = err,
        .msg_len = (uint32_t)n,
    };
    memcpy(buf, &st, sizeof(st));
    if (n)
        memcpy(buf + sizeof(st), msg, n);
    return sizeof(st) + n;
}

int spawn_status_decode(const uint8_t *buf, size_t len, int *ret_step, int *ret_err, char *msg,
                        size_t msg_size)
{
    struct spawn_status st;
    if (len < sizeof(st) || msg_size == 0)
        return -EBADMSG;
    memcpy(&st, buf, sizeof(st));
    if (st.magic != SPAWN_STATUS_MAGIC || st.msg_len > SPAWN_STATUS_MSG_MAX ||
        st.msg_len != len - sizeof(st))
        return -EBADMSG;
    size_t n = st.msg_len < msg_size - 1 ? st.msg_len : msg_size - 1;
    memcpy(msg, buf + sizeof(st), n);
    msg[n] = '\0';
    *ret_step = st.step;
    *ret_err = st.err;
    return 0;
}
