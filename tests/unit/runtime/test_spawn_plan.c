/* runtime/spawn_plan.c: the plan survives encode/decode field by field, and
 * any damaged input is refused rather than half-decoded. */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include <cmocka.h>

#include "runtime/spawn_plan.h"

static const char *const argv[] = {"sh", "-c", "echo hi", NULL};
static const char *const env[] = {"PATH=/bin", "A=b c", "EMPTY=", NULL};
static const char *const masked[] = {"/proc/keys", NULL};
static const char *const groups[] = {"users", "1234", NULL};
static const struct spawn_mount mounts[] = {
    {"/host/data", "/data", "bind", NULL, MS_RDONLY | MS_REC, MS_PRIVATE},
    {"tmpfs", "/run", "tmpfs", "size=1m,mode=755", MS_NOSUID | MS_NODEV, 0},
};
static const struct spawn_bind binds[] = {{"/sys/fs/cgroup/memory/x", "/sys/fs/cgroup/memory"}};
static const struct spawn_rlimit rlimits[] = {{RLIMIT_NOFILE, 1024, 4096},
                                              {RLIMIT_CORE, 0, UINT64_MAX}};
static const struct spawn_nsjoin joins[] = {{CLONE_NEWIPC, "/proc/42/ns/ipc"}};
static const uint8_t bpf[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static void full_plan(struct spawn_plan *p)
{
    spawn_plan_init(p);
    p->mode = SPAWN_MODE_RUN;
    p->clone_flags = CLONE_NEWPID | CLONE_NEWNS;
    p->ns_join = joins;
    p->n_ns_join = 1;
    p->rootfs = "/var/lib/berth/containers/x/merged";
    p->readonly_rootfs = true;
    p->mounts = mounts;
    p->n_mounts = 2;
    p->masked_paths = masked;
    p->readonly_paths = spawn_default_readonly_paths;
    p->hosts_path = "/h/hosts";
    p->resolv_path = "";
    p->shm_size = 1 << 20;
    p->cgroup_binds = binds;
    p->n_cgroup_binds = 1;
    p->hostname = "abc";
    p->user = "u1000:users";
    p->group_add = groups;
    p->caps = 0xa80425fbull;
    p->no_new_privs = true;
    p->seccomp = bpf;
    p->seccomp_len = sizeof(bpf);
    p->argv = argv;
    p->env = env;
    p->cwd = "/work";
    p->rlimits = rlimits;
    p->n_rlimits = 2;
    p->oom_score_adj = -500;
    p->set_oom_score_adj = true;
    p->init = true;
    p->tty_rows = 40;
    p->tty_cols = 65535;
    p->stdin_fd = 7;
}

static void assert_strv_equal(const char *const *a, const char *const *b)
{
    size_t i = 0;
    for (; a && a[i]; i++)
        assert_string_equal(a[i], b[i]);
    assert_true((b == NULL && i == 0) || b[i] == NULL);
}

static void assert_str_or_null(const char *a, const char *b)
{
    if (!a)
        assert_null(b);
    else
        assert_string_equal(a, b);
}

static void assert_mounts_equal(const struct spawn_plan *a, const struct spawn_plan *b)
{
    assert_int_equal(a->n_mounts, b->n_mounts);
    for (size_t i = 0; i < a->n_mounts; i++) {
        assert_string_equal(a->mounts[i].source, b->mounts[i].source);
        assert_string_equal(a->mounts[i].target, b->mounts[i].target);
        assert_string_equal(a->mounts[i].fstype, b->mounts[i].fstype);
        assert_str_or_null(a->mounts[i].data, b->mounts[i].data);
        assert_int_equal(a->mounts[i].flags, b->mounts[i].flags);
        assert_int_equal(a->mounts[i].propagation, b->mounts[i].propagation);
    }
    assert_int_equal(a->n_cgroup_binds, b->n_cgroup_binds);
    assert_string_equal(a->cgroup_binds[0].host, b->cgroup_binds[0].host);
    assert_string_equal(a->cgroup_binds[0].container, b->cgroup_binds[0].container);
    assert_int_equal(a->n_rlimits, b->n_rlimits);
    for (size_t i = 0; i < a->n_rlimits; i++) {
        assert_int_equal(a->rlimits[i].resource, b->rlimits[i].resource);
        assert_true(a->rlimits[i].soft == b->rlimits[i].soft);
        assert_true(a->rlimits[i].hard == b->rlimits[i].hard);
    }
    assert_int_equal(a->n_ns_join, b->n_ns_join);
    assert_int_equal(a->ns_join[0].nstype, b->ns_join[0].nstype);
    assert_string_equal(a->ns_join[0].path, b->ns_join[0].path);
}

static void test_round_trip(void **state)
{
    (void)state;
    struct spawn_plan in, out;
    uint8_t *buf;
    size_t len;
    full_plan(&in);
    assert_int_equal(spawn_plan_encode(&in, &buf, &len), 0);
    assert_int_equal(spawn_plan_decode(buf, len, &out), 0);
    assert_int_equal(out.mode, in.mode);
    assert_true(out.clone_flags == in.clone_flags);
    assert_string_equal(out.rootfs, in.rootfs);
    assert_true(out.readonly_rootfs && !out.privileged && !out.cgroup2 && out.no_new_privs);
    assert_true(out.set_oom_score_adj && out.init && !out.tty);
    assert_strv_equal(in.masked_paths, out.masked_paths);
    assert_strv_equal(in.readonly_paths, out.readonly_paths);
    assert_string_equal(out.hosts_path, "/h/hosts");
    assert_null(out.hostname_path);
    assert_string_equal(out.resolv_path, "");
    assert_true(out.shm_size == in.shm_size);
    assert_string_equal(out.hostname, "abc");
    assert_null(out.domainname);
    assert_string_equal(out.user, in.user);
    assert_strv_equal(in.group_add, out.group_add);
    assert_true(out.caps == in.caps);
    assert_int_equal(out.seccomp_len, sizeof(bpf));
    assert_memory_equal(out.seccomp, bpf, sizeof(bpf));
    assert_strv_equal(in.argv, out.argv);
    assert_strv_equal(in.env, out.env);
    assert_string_equal(out.cwd, "/work");
    assert_int_equal(out.oom_score_adj, -500);
    assert_int_equal(out.tty_rows, 40);
    assert_int_equal(out.tty_cols, 65535);
    assert_int_equal(out.stdin_fd, -1); /* daemon-only fields are not sent */
    assert_int_equal(out.cgroup_fd, -1);
    assert_mounts_equal(&in, &out);
    spawn_plan_decoded_free(&out);
    free(buf);
}

static void test_minimal_round_trip(void **state)
{
    (void)state;
    struct spawn_plan in, out;
    uint8_t *buf;
    size_t len;
    spawn_plan_init(&in);
    in.argv = argv;
    assert_int_equal(spawn_plan_encode(&in, &buf, &len), 0);
    assert_int_equal(spawn_plan_decode(buf, len, &out), 0);
    assert_null(out.env);
    assert_null(out.mounts);
    assert_null(out.seccomp);
    assert_null(out.rootfs);
    assert_strv_equal(argv, out.argv);
    spawn_plan_decoded_free(&out);
    free(buf);
}

static void test_encode_rejects(void **state)
{
    (void)state;
    struct spawn_plan p;
    uint8_t *buf;
    size_t len;
    spawn_plan_init(&p);
    assert_int_equal(spawn_plan_encode(&p, &buf, &len), -EINVAL); /* no argv */
    full_plan(&p);
    p.seccomp_len = 12;
    assert_int_equal(spawn_plan_encode(&p, &buf, &len), -EINVAL);
}

/* Every proper prefix, and the plan with a byte more, must be refused. */
static void test_truncated_and_trailing(void **state)
{
    (void)state;
    struct spawn_plan in, out;
    uint8_t *buf;
    size_t len;
    full_plan(&in);
    assert_int_equal(spawn_plan_encode(&in, &buf, &len), 0);
    for (size_t n = 0; n < len; n++)
        assert_int_equal(spawn_plan_decode(buf, n, &out), -EBADMSG);
    uint8_t *more = malloc(len + 1);
    memcpy(more, buf, len);
    more[len] = 0;
    assert_int_equal(spawn_plan_decode(more, len + 1, &out), -EBADMSG);
    free(more);
    free(buf);
}

static void test_corrupted(void **state)
{
    (void)state;
    struct spawn_plan in, out;
    uint8_t *buf;
    size_t len;
    full_plan(&in);
    assert_int_equal(spawn_plan_encode(&in, &buf, &len), 0);
    buf[0] ^= 0xff; /* magic */
    assert_int_equal(spawn_plan_decode(buf, len, &out), -EBADMSG);
    buf[0] ^= 0xff;
    /* Find the rootfs string and break its terminating NUL. */
    uint8_t *s = memmem(buf, len, in.rootfs, strlen(in.rootfs));
    assert_non_null(s);
    s[strlen(in.rootfs)] = 'x';
    assert_int_equal(spawn_plan_decode(buf, len, &out), -EBADMSG);
    s[strlen(in.rootfs)] = '\0';
    s[3] = '\0'; /* an embedded NUL */
    assert_int_equal(spawn_plan_decode(buf, len, &out), -EBADMSG);
    s[3] = in.rootfs[3];
    /* A huge string length right after the magic/mode/flags/bits header. */
    uint32_t huge = 0xfffffff0u;
    memcpy(buf + 20, &huge, sizeof(huge));
    assert_int_equal(spawn_plan_decode(buf, len, &out), -EBADMSG);
    free(buf);
}

/* Flips every byte in turn: decoding must never crash, and whatever it
 * accepts must be freeable (run under ASan). */
static void test_flip_every_byte(void **state)
{
    (void)state;
    struct spawn_plan in, out;
    uint8_t *buf;
    size_t len;
    full_plan(&in);
    assert_int_equal(spawn_plan_encode(&in, &buf, &len), 0);
    for (size_t i = 0; i < len; i++) {
        for (int v = 0; v < 3; v++) {
            uint8_t saved = buf[i];
            buf[i] = v == 0 ? 0xff : v == 1 ? 0x00 : (uint8_t)(saved + 1);
            if (spawn_plan_decode(buf, len, &out) == 0)
                spawn_plan_decoded_free(&out);
            buf[i] = saved;
        }
    }
    free(buf);
}

static void test_status_record(void **state)
{
    (void)state;
    uint8_t rec[sizeof(struct spawn_status) + SPAWN_STATUS_MSG_MAX];
    char msg[64];
    int step, err;
    size_t n = spawn_status_encode(rec, SPAWN_STEP_EXEC, ENOENT, "exec: \"x\": not found");
    assert_int_equal(spawn_status_decode(rec, n, &step, &err, msg, sizeof(msg)), 0);
    assert_int_equal(step, SPAWN_STEP_EXEC);
    assert_int_equal(err, ENOENT);
    assert_string_equal(msg, "exec: \"x\": not found");
    assert_int_equal(spawn_status_decode(rec, n - 1, &step, &err, msg, sizeof(msg)), -EBADMSG);
    assert_int_equal(spawn_status_decode(rec, 3, &step, &err, msg, sizeof(msg)), -EBADMSG);
    rec[0] ^= 1;
    assert_int_equal(spawn_status_decode(rec, n, &step, &err, msg, sizeof(msg)), -EBADMSG);
    /* Truncated into a small buffer. */
    n = spawn_status_encode(rec, SPAWN_STEP_USER, EINVAL, "0123456789");
    assert_int_equal(spawn_status_decode(rec, n, &step, &err, msg, 5), 0);
    assert_string_equal(msg, "0123");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),     cmocka_unit_test(test_minimal_round_trip),
        cmocka_unit_test(test_encode_rejects), cmocka_unit_test(test_truncated_and_trailing),
        cmocka_unit_test(test_corrupted),      cmocka_unit_test(test_flip_every_byte),
        cmocka_unit_test(test_status_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
