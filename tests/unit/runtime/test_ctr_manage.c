/* runtime/ctr_top.c (ps argument and output handling), ctr_update.c (the
 * update body's checks) and ctr_size.c (writable layer sizes, on a
 * temporary tree). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/jsonutil.h"
#include "runtime/ctr_manage.h"
#include "unit_helpers.h"

/* ---- top --------------------------------------------------------------------- */

static bool custom(int n, ...)
{
    const char *args[8];
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        args[i] = va_arg(ap, const char *);
    va_end(ap);
    return ctr_top_custom_fields(args, (size_t)n);
}

static void test_custom_fields(void **state)
{
    (void)state;
    assert_true(custom(2, "-o", "pid,comm"));
    assert_true(custom(1, "-ocmd"));
    assert_true(custom(1, "ocmd"));
    assert_true(custom(1, "efocmd"));
    assert_true(custom(2, "--format", "pid"));
    assert_true(custom(1, "--format=pid"));
    assert_true(custom(3, "-e", "-o", "args"));
    assert_false(custom(1, "-ef"));
    assert_false(custom(1, "aux"));
    assert_false(custom(2, "-C", "ocmd"));     /* ocmd is -C's value */
    assert_false(custom(1, "eUocmd"));         /* U takes the rest */
    assert_false(custom(2, "--sort", "ocmd")); /* --sort takes the next */
    assert_true(custom(2, "--sort=pid", "-o"));
    assert_false(custom(2, "-U", "o"));
}

static const char PS_EF[] = "UID          PID    PPID  C STIME TTY          TIME CMD\n"
                            "root           1       0  0 10:00 ?        00:00:01 /sbin/init\n"
                            "root         100       1  0 10:01 ?        00:00:00 sleep 1000 x\n"
                            "root         101     100  0 10:01 ?        00:00:00 sh\n";

static void test_parse_filters_and_joins(void **state)
{
    (void)state;
    pid_t pids[] = {100, 7};
    struct ctr_top t;
    struct berr err = {0};
    assert_int_equal(ctr_top_parse(PS_EF, pids, 2, false, &t, &err), 0);
    assert_int_equal(t.titles.n, 8);
    assert_string_equal(t.titles.v[7], "CMD");
    assert_int_equal(t.nrows, 1);
    assert_int_equal(t.rows[0].n, 8);
    assert_string_equal(t.rows[0].v[1], "100");
    assert_string_equal(t.rows[0].v[7], "sleep 1000 x");
    ctr_top_done(&t);
    /* No PID of the container: no rows. */
    assert_int_equal(ctr_top_parse(PS_EF, NULL, 0, false, &t, &err), 0);
    assert_int_equal(t.nrows, 0);
    ctr_top_done(&t);
}

static void test_parse_pid_first_and_threads(void **state)
{
    (void)state;
    const char *out = "  PID   PID COMMAND\n"
                      "   10    10 sleep\n"
                      "    -     - sleep\n"
                      "   11    11 other\n"
                      "    -     - other\n"
                      "   12    12\n";
    pid_t pids[] = {10, 12};
    struct ctr_top t;
    struct berr err = {0};
    assert_int_equal(ctr_top_parse(out, pids, 2, true, &t, &err), 0);
    assert_int_equal(t.titles.n, 2);
    assert_string_equal(t.titles.v[0], "PID");
    assert_string_equal(t.titles.v[1], "COMMAND");
    assert_int_equal(t.nrows, 3); /* 10, its thread line, 12 (padded) */
    assert_string_equal(t.rows[0].v[0], "10");
    assert_string_equal(t.rows[1].v[0], "-");
    assert_string_equal(t.rows[2].v[0], "12");
    assert_string_equal(t.rows[2].v[1], "");
    ctr_top_done(&t);
}

static void test_parse_errors(void **state)
{
    (void)state;
    struct ctr_top t;
    struct berr err = {0};
    assert_int_equal(ctr_top_parse("USER COMMAND\nroot sh\n", NULL, 0, false, &t, &err), -EINVAL);
    assert_int_equal(err.status, 500);
    assert_string_equal(err.msg, "Couldn't find PID field in ps output");
    berr_clear(&err);
    assert_int_equal(ctr_top_parse("", NULL, 0, false, &t, &err), -EINVAL);
    berr_clear(&err);
    /* "-opid" first: its PID must be the first column. */
    assert_int_equal(ctr_top_parse("COMMAND PID\nsh 1\n", NULL, 0, true, &t, &err), -EINVAL);
    berr_clear(&err);
    assert_int_equal(ctr_top_parse("PID CMD\nx1 sh\n", NULL, 0, false, &t, &err), -EINVAL);
    assert_string_equal(err.msg,
                        "Unexpected pid 'x1': strconv.Atoi: parsing \"x1\": invalid syntax");
}

/* ---- update ---------------------------------------------------------------- */

static struct rt *v1_rt(void)
{
    static struct rt rt;
    memset(&rt, 0, sizeof(rt));
    struct cg_host *h = &rt.cg;
    *h = (struct cg_host){.version = 1, .ncpu = 2, .cpus = "0-1", .mems = "0"};
    h->memory = h->swap = h->swappiness = h->oom_kill_disable = h->cpu_cfs = true;
    h->cpu_shares = h->cpuset = h->blkio_weight = h->blkio_throttle = h->freezer = true;
    h->pids = true;
    return &rt;
}

static const char *parse_msg(const struct rt *rt, const char *body, struct ctr_update *u)
{
    static struct berr err;
    berr_clear(&err);
    int r = rt_update_parse(rt, body, body ? strlen(body) : 0, u, &err);
    if (r < 0)
        assert_int_equal(err.status, 400);
    return r < 0 ? err.msg : "";
}

static void test_update_parse_ok(void **state)
{
    (void)state;
    struct rt *rt = v1_rt();
    struct ctr_update u;
    assert_string_equal(parse_msg(rt, NULL, &u), "");
    assert_false(u.has_pids || u.has_restart);
    ctr_update_done(&u);
    assert_string_equal(parse_msg(rt,
                                  "{\"Memory\":67108864,\"MemorySwap\":134217728,\"PidsLimit\":-1,"
                                  "\"NanoCpus\":500000000,\"CpusetCpus\":\"0\",\"RestartPolicy\":"
                                  "{\"Name\":\"on-failure\",\"MaximumRetryCount\":3}}",
                                  &u),
                        "");
    assert_int_equal(u.res.memory, 64 << 20);
    assert_int_equal(u.res.memory_swap, 128 << 20);
    assert_true(u.has_pids);
    assert_int_equal(u.res.pids_limit, 0); /* -1 and 0 both mean unlimited */
    assert_string_equal(u.res.cpuset_cpus, "0");
    assert_true(u.has_restart);
    assert_int_equal(json_get_int64(u.restart, "MaximumRetryCount", -1), 3);
    assert_string_equal(json_get_str(u.restart, "Name"), "on-failure");
    ctr_update_done(&u);
    /* Without swap accounting Docker keeps memory and drops swap, with a warning. */
    rt->cg.swap = false;
    assert_string_equal(parse_msg(rt, "{\"Memory\":67108864}", &u), "");
    assert_int_equal(u.res.memory_swap, -1);
    assert_int_equal(u.warn.n, 1);
    ctr_update_done(&u);
}

static void test_update_parse_errors(void **state)
{
    (void)state;
    struct rt *rt = v1_rt();
    struct ctr_update u;
    assert_string_equal(parse_msg(rt, "{\"Memory\":1048576}", &u),
                        "Minimum memory limit allowed is 6MB");
    assert_string_equal(parse_msg(rt, "{\"CpusetCpus\":\"abc\"}", &u),
                        "Invalid value abc for cpuset cpus: invalid format: abc");
    assert_string_equal(parse_msg(rt, "{\"CpusetCpus\":\"5\"}", &u),
                        "Requested CPUs are not available - requested 5, available: 0-1");
    assert_string_equal(parse_msg(rt, "{\"Memory\":\"1g\"}", &u),
                        "invalid JSON: json: cannot unmarshal string into Go struct field "
                        "UpdateConfig.Memory of type int64");
    assert_string_equal(parse_msg(rt, "{\"PidsLimit\":0.5}", &u),
                        "invalid JSON: json: cannot unmarshal number 0.5 into Go struct field "
                        "UpdateConfig.PidsLimit of type int64");
    assert_string_equal(parse_msg(rt, "{\"RestartPolicy\":\"always\"}", &u),
                        "invalid JSON: json: cannot unmarshal string into Go struct field "
                        "UpdateConfig.RestartPolicy of type struct");
    assert_string_equal(parse_msg(rt, "true", &u),
                        "invalid JSON: json: cannot unmarshal bool into Go value of type "
                        "container.UpdateConfig");
    assert_string_equal(parse_msg(rt,
                                  "{\"RestartPolicy\":{\"Name\":\"always\","
                                  "\"MaximumRetryCount\":2}}",
                                  &u),
                        "invalid restart policy: maximum retry count can only be used with "
                        "'on-failure'");
    assert_string_equal(parse_msg(rt, "{\"BlkioWeight\":2000}", &u),
                        "Range of blkio weight is from 10 to 1000");
    assert_string_equal(parse_msg(rt, "{\"NanoCpus\":3000000000}", &u),
                        "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available");
}

/* ---- sizes ------------------------------------------------------------------- */

static void write_bytes(const char *dir, const char *name, size_t n)
{
    char p[UNIT_PATH_MAX], buf[1000];
    unit_path(p, dir, name);
    memset(buf, 'x', sizeof(buf));
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    for (size_t left = n; left > 0;) {
        size_t k = left < sizeof(buf) ? left : sizeof(buf);
        assert_int_equal(write(fd, buf, k), (ssize_t)k);
        left -= k;
    }
    assert_int_equal(close(fd), 0);
}

static void test_rw_size(void **state)
{
    (void)state;
    char dir[UNIT_PATH_MAX], p[UNIT_PATH_MAX], q[UNIT_PATH_MAX];
    unit_mkdtemp(dir);
    assert_int_equal(ctr_rw_size_sync(dir, NULL), 0);
    write_bytes(dir, "a", 1000);
    unit_path(p, dir, "sub");
    assert_int_equal(mkdir(p, 0755), 0);
    write_bytes(p, "b", 2500);
    unit_path(p, dir, "a");
    unit_path(q, dir, "a-link"); /* a hard link counts once */
    assert_int_equal(link(p, q), 0);
    unit_path(q, dir, "sym"); /* a symlink counts its target's length */
    assert_int_equal(symlink("abcd", q), 0);
    assert_int_equal(ctr_rw_size_sync(dir, NULL), 1000 + 2500 + 4);
    unit_path(p, dir, "missing");
    assert_int_equal(ctr_rw_size_sync(p, NULL), 0);
    unit_rm_rf(dir);
}

/* vfs: only what differs from the base tree. */
static void test_rw_size_against_base(void **state)
{
    (void)state;
    char base[UNIT_PATH_MAX], dir[UNIT_PATH_MAX], p[UNIT_PATH_MAX], q[UNIT_PATH_MAX];
    unit_mkdtemp(base);
    unit_mkdtemp(dir);
    write_bytes(base, "same", 300);
    write_bytes(dir, "same", 300);
    write_bytes(base, "changed", 300);
    write_bytes(dir, "changed", 301);
    write_bytes(dir, "new", 50);
    unit_path(p, base, "same");
    unit_path(q, dir, "same");
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    assert_int_equal(utimensat(AT_FDCWD, q, times, 0), 0);
    assert_int_equal(ctr_rw_size_sync(dir, base), 301 + 50);
    unit_rm_rf(base);
    unit_rm_rf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_custom_fields),
        cmocka_unit_test(test_parse_filters_and_joins),
        cmocka_unit_test(test_parse_pid_first_and_threads),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_update_parse_ok),
        cmocka_unit_test(test_update_parse_errors),
        cmocka_unit_test(test_rw_size),
        cmocka_unit_test(test_rw_size_against_base),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
