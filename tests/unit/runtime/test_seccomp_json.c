/* runtime/seccomp_json.c: Docker-format JSON profiles, parsed, compiled and
 * checked for behaviour in a filtered child; malformed ones refused with 400. */
#include <errno.h>
#include <linux/seccomp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <seccomp.h>

#include "common/macros.h"
#include "runtime/caps.h"
#include "runtime/seccomp.h"
#include "test_seccomp_probe.h"

#define CAP_SYS_ADMIN_NR 21

static struct seccomp_profile *parse_ok(const char *json)
{
    struct seccomp_profile *p = NULL;
    struct berr err = {0};
    int r = seccomp_profile_parse_json(json, strlen(json), &p, &err);
    if (r != 0)
        fail_msg("refused: %s\n%s", err.msg, json);
    assert_non_null(p);
    return p;
}

/* Refused with 400 and a message starting with prefix. */
static void parse_fails(const char *json, const char *prefix)
{
    struct seccomp_profile *p = (void *)0x1;
    struct berr err = {0};
    int r = seccomp_profile_parse_json(json, strlen(json), &p, &err);
    if (r == 0)
        fail_msg("accepted: %s", json);
    assert_true(r == -EINVAL || r == -ENOTSUP);
    assert_int_equal(err.status, 400);
    if (strncmp(err.msg, prefix, strlen(prefix)) != 0)
        fail_msg("%s\n  got '%s'\n  want '%s...'", json, err.msg, prefix);
    assert_ptr_equal(p, (void *)0x1);
}

static void build_ok(const struct seccomp_profile *p, uint64_t caps, struct seccomp_bpf *bpf)
{
    struct berr err = {0};
    if (seccomp_build(p, caps, bpf, &err) != 0)
        fail_msg("seccomp_build: %s", err.msg);
}

/* ---- behaviour ---- */

static const char allow_but_getppid[] =
    "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
    " {\"names\": [\"getppid\", \"not_a_syscall_at_all\"], \"action\": \"SCMP_ACT_ERRNO\","
    "  \"errnoRet\": 42},"
    " {\"name\": \"personality\", \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 7,"
    "  \"args\": [{\"index\": 0, \"value\": 8, \"op\": \"SCMP_CMP_EQ\"}]},"
    " {\"names\": [\"uname\"], \"action\": \"SCMP_ACT_ERRNO\","
    "  \"includes\": {\"caps\": [\"CAP_SYS_ADMIN\"]}},"
    " {\"names\": [\"getcwd\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 9,"
    "  \"excludes\": {\"caps\": [\"CAP_SYS_ADMIN\"]}},"
    " {\"names\": [\"getpgrp\"], \"action\": \"SCMP_ACT_ERRNO\","
    "  \"includes\": {\"arches\": [\"s390x\"]}},"
    " {\"names\": [\"getsid\"], \"action\": \"SCMP_ACT_ERRNO\","
    "  \"includes\": {\"minKernel\": \"99.0\"}},"
    " {\"names\": [\"umask\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 5,"
    "  \"args\": [{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"},"
    "           {\"index\": 0, \"value\": 2, \"op\": \"SCMP_CMP_EQ\"}]},"
    " {\"names\": [\"getpriority\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 6,"
    "  \"args\": [{\"index\": 0, \"value\": 3, \"valueTwo\": 1, \"op\": \"SCMP_CMP_MASKED_EQ\"},"
    "           {\"index\": 1, \"value\": 4242, \"op\": \"SCMP_CMP_EQ\"}]}"
    "]}";

static int probe_custom_plain(void)
{
    char cwd[256];
    struct utsname u;
    PROBE_ERRNO(syscall(SYS_getppid), 42);
    PROBE(syscall(SYS_getpid) > 0);
    PROBE_ERRNO(syscall(SYS_personality, 8UL), 7);
    PROBE(syscall(SYS_personality, 0xffffffffUL) >= 0);
    PROBE(uname(&u) == 0);                                 /* CAP_SYS_ADMIN absent: not included */
    PROBE_ERRNO(syscall(SYS_getcwd, cwd, sizeof(cwd)), 9); /* ... so not excluded */
    /* getpgrp: other architecture; getsid: kernel too old for the rule. Both
     * return 0 when the leader lives outside our pid namespace (CI sandboxes). */
    PROBE(syscall(SYS_getpgrp) >= 0);
    PROBE(syscall(SYS_getsid, 0) >= 0);
    /* Two conditions on one argument are ORed (runc), ... */
    PROBE_ERRNO(syscall(SYS_umask, 1), 5);
    PROBE_ERRNO(syscall(SYS_umask, 2), 5);
    PROBE(syscall(SYS_umask, 022) >= 0);
    /* ... on distinct arguments ANDed; MASKED_EQ is (arg & value) == valueTwo. */
    PROBE_ERRNO(syscall(SYS_getpriority, 1 /* PRIO_PGRP */, 4242), 6);
    PROBE(syscall(SYS_getpriority, 0, 0) != -1 || errno != 6);
    PROBE(syscall(SYS_getpriority, 1, 0) != -1 || errno != 6);
    return 0;
}

static int probe_custom_admin(void)
{
    char cwd[256];
    struct utsname u;
    PROBE_ERRNO(uname(&u), EPERM); /* errnoRet defaults to EPERM */
    PROBE(syscall(SYS_getcwd, cwd, sizeof(cwd)) > 0);
    return 0;
}

static void test_custom_behaviour(void **state)
{
    (void)state;
    struct seccomp_profile *p = parse_ok(allow_but_getppid);
    assert_false(p->disabled);
    assert_int_equal(p->default_action, SCMP_ACT_ALLOW);
    assert_int_equal(p->nrules, 8);
    assert_int_equal(p->rules[0].nnames, 2);
    assert_int_equal(p->rules[0].action, SCMP_ACT_ERRNO(42));
    assert_int_equal(p->rules[2].includes.caps, CAPS_BIT(CAP_SYS_ADMIN_NR));
    struct seccomp_bpf bpf;
    double t0 = (double)clock() / CLOCKS_PER_SEC * 1e3;
    build_ok(p, caps_default_mask(), &bpf);
    print_message("small custom profile: compile %.2f ms CPU\n",
                  (double)clock() / CLOCKS_PER_SEC * 1e3 - t0);
    probe_run(&bpf, probe_custom_plain);
    seccomp_bpf_done(&bpf);
    build_ok(p, caps_default_mask() | CAPS_BIT(CAP_SYS_ADMIN_NR), &bpf);
    probe_run(&bpf, probe_custom_admin);
    seccomp_bpf_done(&bpf);
    seccomp_profile_free(p);
}

/* An allowlist profile with a non-EPERM default errno. */
static int probe_default_errno(void)
{
    PROBE(syscall(SYS_getpid) > 0);
    PROBE_ERRNO(syscall(SYS_getppid), ENOSYS);
    return 0;
}

static void test_default_errno(void **state)
{
    (void)state;
    /* Enough to run a probe and _exit: everything else gets ENOSYS. */
    struct seccomp_profile *p = parse_ok(
        "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":38,"
        "\"archMap\":[{\"architecture\":\"SCMP_ARCH_AARCH64\",\"subArchitectures\":[\"SCMP_ARCH_"
        "ARM\"]},"
        "{\"architecture\":\"SCMP_ARCH_X86_64\",\"subArchitectures\":[\"SCMP_ARCH_X86\",\"SCMP_"
        "ARCH_X32\"]}],"
        /* the sanitizers' runtime needs a few more in the child */
        "\"syscalls\":[{\"names\":[\"getpid\",\"write\",\"exit\",\"exit_group\",\"mmap\","
        "\"munmap\",\"mprotect\",\"madvise\",\"sigaltstack\",\"rt_sigaction\",\"rt_sigprocmask\","
        "\"gettid\",\"tgkill\",\"futex\",\"prctl\",\"sched_yield\",\"close\",\"read\",\"openat\","
        "\"readlink\",\"getrlimit\",\"prlimit64\"],"
        "\"action\":\"SCMP_ACT_ALLOW\"}]}");
    assert_int_equal(p->default_action, SCMP_ACT_ERRNO(ENOSYS));
#if defined(__x86_64__)
    assert_int_equal(p->narches, 3);
    assert_int_equal(p->arches[0], SCMP_ARCH_X86_64);
    assert_int_equal(p->arches[1], SCMP_ARCH_X86);
    assert_int_equal(p->arches[2], SCMP_ARCH_X32);
#endif
    struct seccomp_bpf bpf;
    build_ok(p, 0, &bpf);
    probe_run(&bpf, probe_default_errno);
    seccomp_bpf_done(&bpf);
    seccomp_profile_free(p);
}

/* ---- parsing ---- */

static void test_disabled(void **state)
{
    (void)state;
    static const char *const off[] = {"{}", "null", "{\"syscalls\": []}",
                                      "{\"defaultAction\": \"\", \"comment\": 1}"};
    for (size_t i = 0; i < ARRAY_SIZE(off); i++) {
        struct seccomp_profile *p = parse_ok(off[i]);
        assert_true(p->disabled);
        struct seccomp_bpf bpf = {(void *)0x1, 1, 1};
        build_ok(p, 0, &bpf);
        assert_null(bpf.data);
        assert_int_equal(bpf.len, 0);
        seccomp_profile_free(p);
    }
}

static void test_fields(void **state)
{
    (void)state;
    /* Go matches keys case-insensitively and ignores unknown ones. */
    struct seccomp_profile *p = parse_ok(
        "{\"DefaultAction\":\"SCMP_ACT_KILL\",\"whatever\":[1,2],\"architectures\":"
        "[\"SCMP_ARCH_X86\"],\"flags\":[\"SECCOMP_FILTER_FLAG_LOG\","
        "\"SECCOMP_FILTER_FLAG_TSYNC\",\"SECCOMP_FILTER_FLAG_SPEC_ALLOW\"],"
        "\"syscalls\":[{\"names\":[\"getpid\"],\"action\":\"SCMP_ACT_ALLOW\",\"comment\":\"x\","
        "\"includes\":{\"arches\":[\"amd64\",\"x32\"],\"caps\":[\"CAP_BPF\",\"CAP_WHAT\"],"
        "\"minKernel\":\"5.10\"},\"excludes\":{\"minKernel\":\"\"}},"
        "{\"names\":[\"kill\"],\"action\":\"SCMP_ACT_TRACE\",\"errnoRet\":3},"
        "{\"names\":[\"tkill\"],\"action\":\"SCMP_ACT_KILL_PROCESS\"},"
        "{\"names\":[\"tgkill\"],\"action\":\"SCMP_ACT_LOG\"},"
        "{\"names\":[\"pause\"],\"action\":\"SCMP_ACT_TRAP\"},"
        "{\"names\":[\"alarm\"],\"action\":\"SCMP_ACT_ERRNO\", \"args\": null}]}");
    assert_int_equal(p->default_action, SCMP_ACT_KILL_THREAD);
    assert_int_equal(p->narches, 1);
    assert_int_equal(p->arches[0], SCMP_ARCH_X86);
    assert_int_equal(p->flags, SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW);
    const struct seccomp_cond *in = &p->rules[0].includes;
    assert_int_equal(in->caps, CAPS_BIT(39));
    assert_true(in->caps_unknown);
    assert_int_equal(in->min_kernel, 5u << 16 | 10);
#if defined(__x86_64__)
    assert_int_equal(in->arches, SECCOMP_ARCHES_NATIVE);
#endif
    assert_int_equal(p->rules[1].action, SCMP_ACT_TRACE(3));
    assert_int_equal(p->rules[2].action, SCMP_ACT_KILL_PROCESS);
    assert_int_equal(p->rules[3].action, SCMP_ACT_LOG);
    assert_int_equal(p->rules[4].action, SCMP_ACT_TRAP);
    assert_int_equal(p->rules[5].action, SCMP_ACT_ERRNO(EPERM));
    struct seccomp_bpf bpf;
    build_ok(p, CAPS_ALL_KNOWN, &bpf);
    assert_int_equal(bpf.flags, SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW);
    seccomp_bpf_done(&bpf);
    seccomp_profile_free(p);
}

#define DF "Decoding seccomp profile failed: "
#define IV "invalid seccomp profile: "

static void test_malformed(void **state)
{
    (void)state;
    parse_fails("", DF "unexpected end of JSON input");
    parse_fails("{", DF "unexpected end of JSON input");
    parse_fails("{\"defaultAction\" \"SCMP_ACT_ALLOW\"}", DF "invalid JSON near offset");
    parse_fails("{\"defaultAction\": \"SCMP_ACT_ALLOW\"} x",
                DF "invalid character 'x' after top-level value");
    parse_fails("{} \x01", DF "invalid byte 0x01 after top-level value");
    parse_fails("{\"defaultAction\": \"SCMP_A", DF "invalid JSON near offset 19");
    parse_fails("[]", DF "json: cannot unmarshal array into Go struct field (root)");
    parse_fails("{\"defaultAction\": 5}",
                DF "json: cannot unmarshal number into Go struct field Seccomp.defaultAction of "
                   "type string");
    parse_fails("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":{}}",
                DF "json: cannot unmarshal object into Go struct field Seccomp.syscalls");
    parse_fails("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[1]}]}",
                DF "json: cannot unmarshal number into Go struct field Syscall.names");
    parse_fails("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":-1}",
                DF "json: cannot unmarshal number -1");
    parse_fails("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":1.5}",
                DF "json: cannot unmarshal number 1.5");
    parse_fails("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
                "\"action\":\"SCMP_ACT_ERRNO\",\"includes\":{\"minKernel\":\"4\"}}]}",
                DF "invalid kernel version: \"4\"");
    parse_fails("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
                "\"action\":\"SCMP_ACT_ERRNO\",\"excludes\":{\"minKernel\":\"0.0\"}}]}",
                DF "invalid kernel version");
}

static void test_invalid(void **state)
{
    (void)state;
    parse_fails("{\"defaultAction\": \"SCMP_ACT_FOO\"}", IV "unknown action \"SCMP_ACT_FOO\"");
    parse_fails("{\"syscalls\":[{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\"}]}",
                IV "unknown action \"\"");
    parse_fails("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
                "\"action\":\"SCMP_ACT_NOTIFY\"}]}",
                IV "SCMP_ACT_NOTIFY is not supported");
    parse_fails("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"/run/agent.sock\"}",
                IV "listenerPath is not supported");
    parse_fails("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
                "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":1,"
                "\"op\":\"SCMP_CMP_SORTA\"}]}]}",
                IV "unknown operator \"SCMP_CMP_SORTA\"");
    parse_fails("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
                "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":6,\"value\":1,"
                "\"op\":\"SCMP_CMP_EQ\"}]}]}",
                IV "argument index 6 out of range");
    parse_fails("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"name\":\"read\","
                "\"names\":[\"write\"],\"action\":\"SCMP_ACT_ERRNO\"}]}",
                "'name' and 'names' were specified in the seccomp profile, use either 'name' or "
                "'names'");
    parse_fails("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"\"],"
                "\"action\":\"SCMP_ACT_ERRNO\"}]}",
                IV "empty string is not a valid syscall");
    parse_fails("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_X86\"],"
                "\"archMap\":[{\"architecture\":\"SCMP_ARCH_X86_64\"}]}",
                "'architectures' and 'archMap' were specified in the seccomp profile, use "
                "either 'architectures' or 'archMap'");
    parse_fails("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_VAX\"]}",
                IV "unknown architecture \"SCMP_ARCH_VAX\"");
    parse_fails("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"x86_64\"]}",
                IV "unknown architecture \"x86_64\"");
    parse_fails("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"SECCOMP_FILTER_FLAG_NOPE\"]}",
                IV "seccomp flag SECCOMP_FILTER_FLAG_NOPE is not known");
}

/* Syscall names only the 32-bit table knows, and a rule equal to the
 * default action, compile as Docker's own profile needs them to. */
static void test_compile_edge_cases(void **state)
{
    (void)state;
    struct seccomp_profile *p =
        parse_ok("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":["
                 "{\"names\":[\"chown32\",\"_llseek\",\"socketcall\",\"read\",\"exit_group\"],"
                 "\"action\":\"SCMP_ACT_ALLOW\"},"
                 "{\"names\":[\"getpid\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":1}]}");
    struct seccomp_bpf bpf;
    build_ok(p, 0, &bpf);
    assert_true(bpf.len > 0);
    seccomp_bpf_done(&bpf);
    seccomp_profile_free(p);
}

/* ---- the built-in default profile, restated as Docker JSON ---- */

static const char *op_name(uint8_t op)
{
    static const char *const names[] = {
        [SCMP_CMP_NE] = "SCMP_CMP_NE",
        [SCMP_CMP_LT] = "SCMP_CMP_LT",
        [SCMP_CMP_LE] = "SCMP_CMP_LE",
        [SCMP_CMP_EQ] = "SCMP_CMP_EQ",
        [SCMP_CMP_GE] = "SCMP_CMP_GE",
        [SCMP_CMP_GT] = "SCMP_CMP_GT",
        [SCMP_CMP_MASKED_EQ] = "SCMP_CMP_MASKED_EQ",
    };
    return names[op];
}

static cJSON *cond_json(const struct seccomp_cond *c)
{
    cJSON *o = cJSON_CreateObject(), *caps = cJSON_AddArrayToObject(o, "caps");
    for (int i = 0; i <= CAPS_LAST; i++)
        if (c->caps & CAPS_BIT(i))
            cJSON_AddItemToArray(caps, cJSON_CreateString(caps_name(i)));
    cJSON *arches = cJSON_AddArrayToObject(o, "arches");
    if (c->arches != SECCOMP_ARCHES_NONE)
        cJSON_AddItemToArray(arches, cJSON_CreateString(c->arches == SECCOMP_ARCHES_NATIVE
                                                            ? seccomp__native_arch_name()
                                                            : "pdp11"));
    if (c->min_kernel) {
        char v[16];
        snprintf(v, sizeof(v), "%u.%u", c->min_kernel >> 16, c->min_kernel & 0xffff);
        cJSON_AddStringToObject(o, "minKernel", v);
    }
    return o;
}

static cJSON *rule_json(const struct seccomp_rule *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "names", cJSON_CreateStringArray(r->names, (int)r->nnames));
    bool errno_action = (r->action & 0xffff0000U) == SCMP_ACT_ERRNO(0);
    cJSON_AddStringToObject(o, "action", errno_action ? "SCMP_ACT_ERRNO" : "SCMP_ACT_ALLOW");
    if (errno_action)
        cJSON_AddNumberToObject(o, "errnoRet", r->action & 0xffff);
    cJSON *args = cJSON_AddArrayToObject(o, "args");
    for (size_t i = 0; i < r->nargs; i++) {
        cJSON *a = cJSON_CreateObject();
        cJSON_AddNumberToObject(a, "index", r->args[i].index);
        cJSON_AddNumberToObject(a, "value", (double)r->args[i].value);
        cJSON_AddNumberToObject(a, "valueTwo", (double)r->args[i].value_two);
        cJSON_AddStringToObject(a, "op", op_name(r->args[i].op));
        cJSON_AddItemToArray(args, a);
    }
    cJSON_AddItemToObject(o, "includes", cond_json(&r->includes));
    cJSON_AddItemToObject(o, "excludes", cond_json(&r->excludes));
    return o;
}

static char *default_profile_json(void)
{
    const struct seccomp_profile *d = seccomp_default_profile();
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "defaultAction", "SCMP_ACT_ERRNO");
    cJSON_AddNumberToObject(root, "defaultErrnoRet", d->default_action & 0xffff);
    cJSON *arches = cJSON_AddArrayToObject(root, "architectures");
    for (size_t i = 0; i < d->narches; i++) {
        char name[64];
        snprintf(name, sizeof(name), "SCMP_ARCH_%s",
                 seccomp_arch_resolve_name("x86") == d->arches[i] ? "X86" : "X32");
        cJSON_AddItemToArray(arches, cJSON_CreateString(name));
    }
    cJSON *rules = cJSON_AddArrayToObject(root, "syscalls");
    for (size_t i = 0; i < d->nrules; i++)
        cJSON_AddItemToArray(rules, rule_json(&d->rules[i]));
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    return text;
}

/* A full-size profile through the JSON path compiles to the very program
 * the built-in table gives. */
static void test_default_profile_as_json(void **state)
{
    (void)state;
#if !defined(__x86_64__)
    skip();
#endif
    char *json = default_profile_json();
    assert_non_null(json);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct seccomp_profile *p = parse_ok(json);
    struct seccomp_bpf from_json, builtin;
    build_ok(p, caps_default_mask(), &from_json);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    print_message("default profile as JSON (%zu bytes): parse + compile %.2f ms\n", strlen(json),
                  (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    build_ok(NULL, caps_default_mask(), &builtin);
    assert_int_equal(from_json.len, builtin.len);
    assert_memory_equal(from_json.data, builtin.data, builtin.len);
    seccomp_bpf_done(&from_json);
    seccomp_bpf_done(&builtin);
    uint64_t admin = caps_default_mask() | CAPS_BIT(CAP_SYS_ADMIN_NR) | CAPS_BIT(19);
    build_ok(p, admin, &from_json);
    build_ok(NULL, admin, &builtin);
    assert_int_equal(from_json.len, builtin.len);
    assert_memory_equal(from_json.data, builtin.data, builtin.len);
    seccomp_bpf_done(&from_json);
    seccomp_bpf_done(&builtin);
    seccomp_profile_free(p);
    free(json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_custom_behaviour),   cmocka_unit_test(test_default_errno),
        cmocka_unit_test(test_disabled),           cmocka_unit_test(test_fields),
        cmocka_unit_test(test_malformed),          cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_compile_edge_cases), cmocka_unit_test(test_default_profile_as_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
