/* common/config.c, config_table.c, config_validate.c: the daemon's
 * configuration from flags and daemon.json, defaults, validation, reload.
 * Every config_load here names a config file in a temporary directory, so
 * /etc/berth/daemon.json is never read. */
#include <errno.h>
#include <getopt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/config.h"
#include "common/config_table.h"
#include "unit_helpers.h"

#define MAX_ARGS 32

struct reloaded {
    struct config cfg;
    struct strv ignored;
    struct berr err;
};

struct fixture {
    char dir[UNIT_PATH_MAX];
    char file[UNIT_PATH_MAX]; /* <dir>/daemon.json, written by each test */
    struct config cfg;
    struct berr err;
    struct reloaded rl; /* the last config_reload result */
};

/* Forgets any state glibc's getopt kept from an earlier, failed parse. */
static void reset_getopt(void)
{
    char *argv[] = {(char *)"reset", NULL};
    optind = 0;
    opterr = 0;
    assert_int_equal(getopt(1, argv, ""), -1);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    unit_mkdtemp(f->dir);
    unit_path(f->file, f->dir, "daemon.json");
    reset_getopt();
    *state = f;
    return 0;
}

static void reloaded_done(struct reloaded *r)
{
    config_done(&r->cfg);
    strv_done(&r->ignored);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    config_done(&f->cfg);
    reloaded_done(&f->rl);
    unit_rm_rf(f->dir);
    free(f);
    return 0;
}

/* config_load with "berthd" and the NULL-terminated args. */
static int load_args(struct fixture *f, const char *const *args)
{
    char *argv[MAX_ARGS + 2];
    int argc = 0;
    argv[argc++] = (char *)"berthd";
    for (; *args; args++) {
        assert_true(argc <= MAX_ARGS);
        argv[argc++] = (char *)*args;
    }
    argv[argc] = NULL;
    config_done(&f->cfg);
    memset(&f->err, 0, sizeof(f->err));
    return config_load(argc, argv, &f->cfg, &f->err);
}

/* Appends the NULL-terminated variadic arguments to args[n...]. */
static void collect(const char **args, int n, const char *first, va_list ap)
{
    for (const char *a = first; a; a = va_arg(ap, const char *)) {
        assert_true(n < MAX_ARGS);
        args[n++] = a;
    }
    args[n] = NULL;
}

static int load(struct fixture *f, const char *first, ...)
{
    const char *args[MAX_ARGS + 1];
    va_list ap;
    va_start(ap, first);
    collect(args, 0, first, ap);
    va_end(ap);
    return load_args(f, args);
}

/* Writes the file and loads it with extra flags (NULL-terminated). */
static int load_file(struct fixture *f, const char *json, const char *first, ...)
{
    const char *args[MAX_ARGS + 1] = {"--config-file", f->file};
    va_list ap;
    va_start(ap, first);
    collect(args, 2, first, ap);
    va_end(ap);
    unit_write_file(f->file, json);
    return load_args(f, args);
}

static void assert_msg_contains(const struct berr *err, const char *want)
{
    if (!strstr(err->msg, want))
        fail_msg("message '%s' does not contain '%s'", err->msg, want);
}

static bool *row_flag(bool *set, const char *key)
{
    const struct cfg_option *o = cfg_find_key(key);
    assert_non_null(o);
    return &set[o - cfg_options];
}

/* ---- config_parse_json ---- */

struct parsed {
    struct config cfg;
    bool set[CONFIG_MAX_OPTIONS];
    struct berr err;
    int r;
};

static void parse(struct parsed *p, const char *json)
{
    memset(p, 0, sizeof(*p));
    p->r = config_parse_json(json, &p->cfg, p->set, &p->err);
}

static void parse_fails_with(const char *json, const char *msg)
{
    struct parsed p;
    parse(&p, json);
    assert_int_equal(p.r, -EINVAL);
    assert_int_equal(p.err.status, 400);
    assert_string_equal(p.err.msg, msg);
    config_done(&p.cfg);
}

static void test_parse_json_values(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p, "{\"data-root\":\"/srv/berth\",\"debug\":true,\"hosts\":[\"unix:///a.sock\","
              "\"tcp://0.0.0.0:2375\"],\"shutdown-timeout\":30,\"http-max-body-bytes\":2048}");
    assert_int_equal(p.r, 0);
    assert_string_equal(p.cfg.data_root, "/srv/berth");
    assert_true(p.cfg.debug);
    assert_int_equal(p.cfg.hosts.n, 2);
    assert_string_equal(p.cfg.hosts.v[0], "unix:///a.sock");
    assert_string_equal(p.cfg.hosts.v[1], "tcp://0.0.0.0:2375");
    assert_int_equal(p.cfg.shutdown_timeout, 30);
    assert_int_equal(p.cfg.http_max_body_bytes, 2048);
    assert_true(*row_flag(p.set, "data-root"));
    assert_true(*row_flag(p.set, "hosts"));
    assert_false(*row_flag(p.set, "log-level"));
    assert_null(p.cfg.log_level);
    config_done(&p.cfg);
}

static void test_parse_json_unknown_keys(void **state)
{
    (void)state;
    parse_fails_with("{\"foo\":1,\"debug\":true,\"bar\":{}}",
                     "the following directives don't match any configuration option: foo, bar");
    parse_fails_with("{\"Debug\":true}",
                     "the following directives don't match any configuration option: Debug");
}

static void test_parse_json_wrong_types(void **state)
{
    (void)state;
    parse_fails_with("{\"debug\":\"yes\"}",
                     "invalid type for configuration key 'debug': expected true or false");
    parse_fails_with("{\"data-root\":5}",
                     "invalid type for configuration key 'data-root': expected a string");
    parse_fails_with("{\"hosts\":\"unix:///x\"}",
                     "invalid type for configuration key 'hosts': expected an array of strings");
    parse_fails_with("{\"hosts\":[\"unix:///x\",1]}",
                     "invalid type for configuration key 'hosts': expected an array of strings");
    parse_fails_with("{\"shutdown-timeout\":\"10\"}",
                     "invalid type for configuration key 'shutdown-timeout': expected an integer");
}

static void test_parse_json_int_bounds(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p, "{\"shutdown-timeout\":3600,\"http-max-connections\":1}");
    assert_int_equal(p.r, 0);
    assert_int_equal(p.cfg.shutdown_timeout, 3600);
    assert_int_equal(p.cfg.http_max_connections, 1);
    config_done(&p.cfg);
    parse(&p, "{\"shutdown-timeout\":0}");
    assert_int_equal(p.r, 0);
    config_done(&p.cfg);
    const char *msg = "invalid value for shutdown-timeout: must be an integer from 0 to 3600";
    parse_fails_with("{\"shutdown-timeout\":3601}", msg);
    parse_fails_with("{\"shutdown-timeout\":-1}", msg);
    parse_fails_with("{\"shutdown-timeout\":1.5}", msg);
    parse_fails_with("{\"shutdown-timeout\":1e30}", msg);
    parse_fails_with("{\"http-max-connections\":0}",
                     "invalid value for http-max-connections: must be an integer from 1 to "
                     "1000000");
}

static void test_parse_json_pools(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p, "{\"default-address-pools\":[{\"base\":\"10.10.0.0/16\",\"size\":24},"
              "{\"base\":\"192.168.0.0/20\",\"size\":28}]}");
    assert_int_equal(p.r, 0);
    assert_int_equal(p.cfg.pools.n, 2);
    assert_string_equal(p.cfg.pools.v[0].base, "10.10.0.0/16");
    assert_int_equal(p.cfg.pools.v[0].size, 24);
    assert_string_equal(p.cfg.pools.v[1].base, "192.168.0.0/20");
    assert_int_equal(p.cfg.pools.v[1].size, 28);
    config_done(&p.cfg);
}

static void test_parse_json_bad_pools(void **state)
{
    (void)state;
    const char *type_msg = "invalid type for configuration key 'default-address-pools': expected "
                           "an array of {\"base\",\"size\"} objects";
    parse_fails_with("{\"default-address-pools\":{\"base\":\"10.0.0.0/8\",\"size\":24}}", type_msg);
    parse_fails_with("{\"default-address-pools\":[{\"base\":\"10.0.0.0/8\"}]}", type_msg);
    parse_fails_with("{\"default-address-pools\":[{\"base\":10,\"size\":24}]}", type_msg);
    parse_fails_with("{\"default-address-pools\":[\"base=10.0.0.0/8,size=24\"]}", type_msg);

    struct parsed p;
    parse(&p, "{\"default-address-pools\":[{\"base\":\"10.0.0.0/16\",\"size\":8}]}");
    assert_int_equal(p.r, -EINVAL);
    assert_msg_contains(&p.err, "invalid default address pool 'base=10.0.0.0/16,size=8'");
    config_done(&p.cfg);
}

static void test_parse_json_not_an_object(void **state)
{
    (void)state;
    parse_fails_with("[]", "configuration file is not a JSON object");
    parse_fails_with("{\"debug\":", "configuration file is not a JSON object");
    parse_fails_with("", "configuration file is not a JSON object");
}

static void test_parse_json_duplicate_key(void **state)
{
    (void)state;
    parse_fails_with("{\"debug\":true,\"debug\":false}", "duplicate configuration key 'debug'");
}

/* ---- config_parse_pool ---- */

static void test_parse_pool(void **state)
{
    (void)state;
    struct addr_pool p;
    struct berr err = {0};
    assert_int_equal(config_parse_pool("base=10.0.0.0/16,size=24", &p, &err), 0);
    assert_string_equal(p.base, "10.0.0.0/16");
    assert_int_equal(p.size, 24);
    assert_int_equal(config_parse_pool("size=32,base=172.80.0.0/12", &p, &err), 0);
    assert_string_equal(p.base, "172.80.0.0/12");
    assert_int_equal(p.size, 32);
    assert_int_equal(config_parse_pool("base=10.0.0.0/16,size=16", &p, &err), 0);
}

static void test_parse_pool_invalid(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "base=10.0.0.0/16,size=8",  "base=10.0.0.0/16,size=33",
        "base=10.0.0.0/16",         "size=24",
        "base=10.0.0.0,size=24",    "base=300.0.0.0/8,size=24",
        "base=10.0.0.0/33,size=33", "base=10.0.0.0/16,size=24,x=1",
        "base=fd00::/8,size=64",    "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct addr_pool p;
        struct berr err = {0};
        if (config_parse_pool(bad[i], &p, &err) != -EINVAL)
            fail_msg("pool '%s' accepted", bad[i]);
        assert_int_equal(err.status, 400);
        assert_msg_contains(&err, "invalid default address pool");
    }
}

/* Regression test, once a bug (common/config_validate.c config_parse_pool, config_table.c
 * set_pools_json): the size is read with atoi() and cJSON's valueint, so a
 * size with trailing garbage ("24x") or a fraction (24.5) is accepted as 24,
 * while the base's prefix length is parsed strictly. */
static void test_parse_pool_size_must_be_integer(void **state)
{
    (void)state;
    struct addr_pool p;
    struct berr err = {0};
    int r_text = config_parse_pool("base=10.0.0.0/16,size=24x", &p, &err);
    struct parsed pj;
    parse(&pj, "{\"default-address-pools\":[{\"base\":\"10.0.0.0/16\",\"size\":24.5}]}");
    config_done(&pj.cfg);
    assert_int_equal(r_text, -EINVAL);
    assert_int_equal(pj.r, -EINVAL);
}

/* ---- config_load: defaults, flags, file ---- */

static void test_load_defaults(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load_file(f, "{}", NULL), 0);
    const struct config *c = &f->cfg;
    assert_string_equal(c->data_root, "/var/lib/berth");
    assert_string_equal(c->exec_root, "/run/berth");
    assert_string_equal(c->pidfile, "/run/berth.pid");
    assert_string_equal(c->group, "berth");
    assert_int_equal(c->hosts.n, 1);
    assert_string_equal(c->hosts.v[0], "unix:///run/berth.sock");
    assert_string_equal(c->storage_driver, "overlay2");
    assert_string_equal(c->log_level, "info");
    assert_string_equal(config_log_level(c), "info");
    assert_false(c->debug);
    assert_false(c->tls);
    assert_null(c->tlscacert);
    assert_int_equal(c->insecure_registries.n, 0);
    assert_int_equal(c->registry_mirrors.n, 0);
    assert_int_equal(c->pools.n, 0);
}

static void test_load_int_defaults(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load_file(f, "{}", NULL), 0);
    const struct config *c = &f->cfg;
    assert_int_equal(c->shutdown_timeout, 15);
    assert_int_equal(c->http_max_connections, 8192);
    assert_int_equal(c->http_header_timeout, 60);
    assert_int_equal(c->http_idle_timeout, 300);
    assert_int_equal(c->http_max_header_bytes, 1048576);
    assert_int_equal(c->http_max_body_bytes, 16777216);
    assert_string_equal(c->config_file, f->file);
    assert_true(c->config_file_explicit);
    assert_false(c->validate_only);
    assert_false(c->show_help);
    assert_false(config_is_set(c, "data-root"));
    assert_false(config_is_set(c, "hosts"));
}

static void test_load_flags(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load_file(f, "{}", "-H", "unix:///tmp/a.sock", "--host",
                               "tcp://127.0.0.1:2375", "-D", "--log-level", "warn", "--data-root",
                               "/srv/b", NULL),
                     0);
    const struct config *c = &f->cfg;
    assert_int_equal(c->hosts.n, 2);
    assert_string_equal(c->hosts.v[0], "unix:///tmp/a.sock");
    assert_string_equal(c->hosts.v[1], "tcp://127.0.0.1:2375");
    assert_true(c->debug);
    assert_string_equal(c->log_level, "warn");
    assert_string_equal(config_log_level(c), "debug");
    assert_string_equal(c->data_root, "/srv/b");
    assert_true(config_is_set(c, "hosts"));
    assert_true(config_is_set(c, "debug"));
    assert_true(config_is_set(c, "log-level"));
    assert_false(config_is_set(c, "exec-root"));
    assert_false(config_is_set(c, "no-such-key"));
}

static void test_load_flag_forms(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load_file(f, "{}", "--debug=false", "-l", "error", "--shutdown-timeout=99",
                               "--insecure-registry", "reg.local:5000", "--insecure-registry",
                               "10.0.0.0/8", "--registry-mirror", "https://mirror.example", NULL),
                     0);
    const struct config *c = &f->cfg;
    assert_false(c->debug);
    assert_true(config_is_set(c, "debug"));
    assert_string_equal(c->log_level, "error");
    assert_int_equal(c->shutdown_timeout, 99);
    assert_int_equal(c->insecure_registries.n, 2);
    assert_string_equal(c->insecure_registries.v[1], "10.0.0.0/8");
    assert_int_equal(c->registry_mirrors.n, 1);
    assert_string_equal(c->registry_mirrors.v[0], "https://mirror.example");
}

static void test_load_pool_flag(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load_file(f, "{}", "--default-address-pool", "base=10.1.0.0/16,size=24",
                               "--default-address-pool", "base=10.2.0.0/16,size=26", NULL),
                     0);
    assert_int_equal(f->cfg.pools.n, 2);
    assert_string_equal(f->cfg.pools.v[1].base, "10.2.0.0/16");
    assert_int_equal(f->cfg.pools.v[1].size, 26);
}

static void test_load_file_values(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load_file(f,
                               "{\"data-root\":\"/srv/file\",\"log-level\":\"debug\","
                               "\"storage-driver\":\"vfs\",\"registry-mirrors\":[\"http://m\"]}",
                               "-D", NULL),
                     0);
    const struct config *c = &f->cfg;
    assert_string_equal(c->data_root, "/srv/file");
    assert_string_equal(c->log_level, "debug");
    assert_string_equal(c->storage_driver, "vfs");
    assert_string_equal(c->registry_mirrors.v[0], "http://m");
    assert_true(c->debug);
    assert_true(config_is_set(c, "data-root"));
    assert_true(config_is_set(c, "debug"));
    assert_false(config_is_set(c, "exec-root"));
}

static void test_load_flag_and_file_conflict(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load_file(f, "{\"data-root\":\"/b\"}", "--data-root", "/a", NULL), -EINVAL);
    assert_int_equal(f->err.status, 400);
    assert_string_equal(f->err.msg, "the following directives are specified both as a flag and "
                                    "in the configuration file: data-root");
    assert_int_equal(load_file(f, "{\"hosts\":[\"unix:///b\"]}", "-H", "unix:///a", NULL), -EINVAL);
    assert_msg_contains(&f->err, "specified both as a flag and in the configuration file: hosts");
}

static void test_load_missing_explicit_file(void **state)
{
    struct fixture *f = *state;
    char missing[UNIT_PATH_MAX];
    unit_path(missing, f->dir, "nope.json");
    assert_int_equal(load(f, "--config-file", missing, NULL), -ENOENT);
    assert_msg_contains(&f->err, missing);
    assert_null(f->cfg.data_root);
}

static void test_load_bad_file(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load_file(f, "{\"debug\":true,", NULL), -EINVAL);
    char want[2 * UNIT_PATH_MAX];
    snprintf(want, sizeof(want), "configuration file '%s': configuration file is not a JSON object",
             f->file);
    assert_string_equal(f->err.msg, want);

    assert_int_equal(load_file(f, "{\"mystery\":1}", NULL), -EINVAL);
    assert_msg_contains(&f->err, "': the following directives don't match any configuration "
                                 "option: mystery");
}

static void test_load_validate_flag(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load_file(f, "{}", "--validate", NULL), 0);
    assert_true(f->cfg.validate_only);
}

static void test_load_help_and_version(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, "--help", NULL), 0);
    assert_true(f->cfg.show_help);
    assert_null(f->cfg.data_root);
    assert_int_equal(load(f, "-v", NULL), 0);
    assert_true(f->cfg.show_version);
    assert_false(f->cfg.show_help);
}

/* ---- config_load: validation ---- */

static void load_fails(struct fixture *f, const char *json, const char *flag, const char *arg,
                       int code, const char *msg)
{
    int r = load_file(f, json, flag, arg, NULL);
    if (r != -code)
        fail_msg("%s %s / %s: got %d (%s), want %d", flag ? flag : "", arg ? arg : "", json, r,
                 f->err.msg, -code);
    assert_int_equal(f->err.status, 400);
    assert_msg_contains(&f->err, msg);
    assert_null(f->cfg.data_root);
}

static void test_validate_paths(void **state)
{
    struct fixture *f = *state;
    load_fails(f, "{}", "--data-root", "rel/path", EINVAL,
               "data-root must be an absolute path, got 'rel/path'");
    load_fails(f, "{\"exec-root\":\"run\"}", NULL, NULL, EINVAL,
               "exec-root must be an absolute path, got 'run'");
    load_fails(f, "{\"pidfile\":\"\"}", NULL, NULL, EINVAL, "pidfile must be an absolute path");
}

static void test_validate_log_level(void **state)
{
    struct fixture *f = *state;
    load_fails(f, "{}", "--log-level", "verbose", EINVAL,
               "invalid log-level 'verbose': use debug, info, warn, error or fatal");
    load_fails(f, "{\"log-level\":\"INFO\"}", NULL, NULL, EINVAL, "invalid log-level 'INFO'");
}

static void test_validate_storage_driver(void **state)
{
    struct fixture *f = *state;
    load_fails(f, "{\"storage-driver\":\"aufs\"}", NULL, NULL, EINVAL,
               "unsupported storage-driver 'aufs': use overlay2 or vfs");
    load_fails(f, "{}", "-s", "btrfs", EINVAL, "unsupported storage-driver 'btrfs'");
}

static void test_validate_tls_refused(void **state)
{
    struct fixture *f = *state;
    load_fails(f, "{\"tls\":true}", NULL, NULL, ENOTSUP,
               "tls/tlsverify are not supported by this berthd yet");
    load_fails(f, "{}", "--tlsverify", NULL, ENOTSUP, "tls/tlsverify are not supported");
    assert_int_equal(load_file(f, "{\"tls\":false}", NULL), 0);
}

static void test_validate_hosts(void **state)
{
    struct fixture *f = *state;
    load_fails(f, "{}", "-H", "unix://relative.sock", EINVAL,
               "invalid host 'unix://relative.sock': use unix:///absolute/path or tcp://host:port");
    load_fails(f, "{}", "-H", "tcp://localhost", EINVAL, "invalid host 'tcp://localhost'");
    load_fails(f, "{}", "-H", "fd://", EINVAL, "invalid host 'fd://'");
    /* An empty list means the default socket, as in dockerd. */
    assert_int_equal(load_file(f, "{\"hosts\":[]}", NULL), 0);
    assert_int_equal(f->cfg.hosts.n, 1);
    assert_string_equal(f->cfg.hosts.v[0], "unix:///run/berth.sock");
}

static void test_validate_registries(void **state)
{
    struct fixture *f = *state;
    load_fails(f, "{}", "--insecure-registry", "http://reg:5000", EINVAL,
               "insecure registry http://reg:5000 should not contain '://'");
    load_fails(f, "{\"insecure-registries\":[\"\"]}", NULL, NULL, EINVAL,
               "invalid insecure registry ''");
    load_fails(f, "{}", "--registry-mirror", "mirror.example.com", EINVAL,
               "invalid mirror: unsupported scheme in 'mirror.example.com'");
    load_fails(f, "{\"registry-mirrors\":[\"ftp://m\"]}", NULL, NULL, EINVAL,
               "unsupported scheme in 'ftp://m'");
}

static void test_validate_pool_flag(void **state)
{
    struct fixture *f = *state;
    load_fails(f, "{}", "--default-address-pool", "base=10.0.0.0/16,size=8", EINVAL,
               "invalid default address pool 'base=10.0.0.0/16,size=8'");
}

static void test_invalid_flag_values(void **state)
{
    struct fixture *f = *state;
    load_fails(f, "{}", "--debug=maybe", NULL, EINVAL,
               "invalid value 'maybe' for debug: expected true or false");
    load_fails(f, "{}", "--shutdown-timeout", "abc", EINVAL,
               "invalid value 'abc' for shutdown-timeout: expected an integer");
    load_fails(f, "{}", "--shutdown-timeout", "3601", EINVAL,
               "invalid value for shutdown-timeout: must be an integer from 0 to 3600");
}

/* Regression test, once a bug (common/config_table.c set_int_text): integer flags are parsed with
 * strtod(), so "0x10" (16) and "1e2" (100) are accepted although the
 * message promises "expected an integer" (dockerd rejects both). */
static void test_int_flag_rejects_non_decimal(void **state)
{
    struct fixture *f = *state;
    load_fails(f, "{}", "--shutdown-timeout", "0x10", EINVAL, "expected an integer");
    load_fails(f, "{}", "--shutdown-timeout", "1e2", EINVAL, "expected an integer");
}

static void test_unknown_flag_and_argument(void **state)
{
    struct fixture *f = *state;
    load_fails(f, "{}", "--nope", NULL, EINVAL, "invalid or incomplete flag '--nope'");
    load_fails(f, "{}", "stray", NULL, EINVAL, "unexpected argument 'stray'");
    assert_int_equal(load(f, "--config-file", f->file, "--data-root", NULL), -EINVAL);
    assert_msg_contains(&f->err, "invalid or incomplete flag '--data-root'");
}

/* Regression test, once a bug (common/config.c parse_flags): an unknown short option that is not
 * the last of a group ("-qD") leaves optind on the group, so the message names argv[optind - 1],
 * the program name: "invalid or incomplete flag 'berthd'". */
static void test_unknown_short_flag_in_group_named(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, "-qD", "--config-file", f->file, NULL), -EINVAL);
    assert_msg_contains(&f->err, "-q");
}

/* Regression test, once a bug (common/config.c parse_flags): getopt is restarted with optind = 1
 * instead of glibc's optind = 0, so after a failure in the middle of a short
 * option group ("-qD") the next config_load resumes inside the old group: it
 * applies the stale -D and skips its own first argument ("--config-file"),
 * failing with "unexpected argument '<path>'". */
static void test_load_restarts_getopt(void **state)
{
    struct fixture *f = *state;
    unit_write_file(f->file, "{}");
    assert_int_equal(load(f, "-qD", NULL), -EINVAL);
    int r = load(f, "--config-file", f->file, NULL);
    if (r != 0)
        fail_msg("second config_load failed: %s", f->err.msg);
    assert_false(f->cfg.debug);
}

/* ---- config_reload ---- */

/* Rewrites the file (unless json is NULL) and reloads it into f->rl. */
static int reload(struct fixture *f, const char *json)
{
    reloaded_done(&f->rl);
    memset(&f->rl, 0, sizeof(f->rl));
    if (json)
        unit_write_file(f->file, json);
    return config_reload(&f->cfg, &f->rl.cfg, &f->rl.ignored, &f->rl.err);
}

static void test_reload_applies_reloadable(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load_file(f, "{\"data-root\":\"/srv/a\"}", NULL), 0);
    const struct reloaded *r = &f->rl;
    assert_int_equal(reload(f,
                            "{\"data-root\":\"/srv/a\",\"log-level\":\"debug\",\"debug\":true,"
                            "\"insecure-registries\":[\"reg:5000\"],\"registry-mirrors\":["
                            "\"https://m.example\"],\"shutdown-timeout\":42,\"http-idle-timeout\":"
                            "10,\"http-max-connections\":7}"),
                     0);
    assert_string_equal(r->cfg.log_level, "debug");
    assert_true(r->cfg.debug);
    assert_int_equal(r->cfg.insecure_registries.n, 1);
    assert_string_equal(r->cfg.insecure_registries.v[0], "reg:5000");
    assert_string_equal(r->cfg.registry_mirrors.v[0], "https://m.example");
    assert_int_equal(r->cfg.shutdown_timeout, 42);
    assert_int_equal(r->cfg.http_idle_timeout, 10);
    assert_int_equal(r->cfg.http_max_connections, 7);
    assert_int_equal(r->ignored.n, 0);
    assert_true(config_is_set(&r->cfg, "shutdown-timeout"));
    /* The current config is not modified. */
    assert_string_equal(f->cfg.log_level, "info");
    assert_int_equal(f->cfg.shutdown_timeout, 15);
}

static void test_reload_ignores_non_reloadable(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load_file(f, "{\"data-root\":\"/srv/a\"}", NULL), 0);
    const struct reloaded *r = &f->rl;
    assert_int_equal(reload(f, "{\"data-root\":\"/srv/b\",\"storage-driver\":\"vfs\",\"log-level\":"
                               "\"warn\"}"),
                     0);
    assert_string_equal(r->cfg.data_root, "/srv/a");
    assert_string_equal(r->cfg.storage_driver, "overlay2");
    assert_string_equal(r->cfg.log_level, "warn");
    assert_int_equal(r->ignored.n, 2);
    assert_string_equal(r->ignored.v[0], "data-root");
    assert_string_equal(r->ignored.v[1], "storage-driver");
}

static void test_reload_unchanged(void **state)
{
    struct fixture *f = *state;
    const char *json = "{\"data-root\":\"/srv/a\",\"log-level\":\"warn\",\"hosts\":[\"unix:///x\"],"
                       "\"insecure-registries\":[\"reg:5000\"]}";
    assert_int_equal(load_file(f, json, NULL), 0);
    const struct reloaded *r = &f->rl;
    assert_int_equal(reload(f, NULL), 0);
    assert_int_equal(r->ignored.n, 0);
    assert_string_equal(r->cfg.data_root, "/srv/a");
    assert_string_equal(r->cfg.log_level, "warn");
    assert_int_equal(r->cfg.hosts.n, 1);
    assert_string_equal(r->cfg.insecure_registries.v[0], "reg:5000");
    assert_string_equal(r->cfg.config_file, f->file);
}

/* Regression test, once a bug (common/config_table.c cfg_equal_value, CFG_POOLS): pools are
 * compared with memcmp over struct addr_pool, whose base[64] holds uninitialised stack bytes after
 * the NUL (config_parse_pool writes it with snprintf into the caller's uninitialised struct), so an
 * unchanged default-address-pools is reported as changed and listed in ret_ignored ("needs a
 * restart"). */
static void test_reload_unchanged_pools(void **state)
{
    struct fixture *f = *state;
    const char *json = "{\"default-address-pools\":[{\"base\":\"10.0.0.0/8\",\"size\":24}]}";
    assert_int_equal(load_file(f, json, NULL), 0);
    const struct reloaded *r = &f->rl;
    assert_int_equal(reload(f, NULL), 0);
    assert_int_equal(r->cfg.pools.n, 1);
    assert_string_equal(r->cfg.pools.v[0].base, "10.0.0.0/8");
    if (r->ignored.n != 0)
        fail_msg("unchanged '%s' reported as changed", r->ignored.v[0]);
}

static void test_reload_removed_key_returns_to_default(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load_file(f, "{\"log-level\":\"error\",\"data-root\":\"/srv/a\"}", NULL), 0);
    const struct reloaded *r = &f->rl;
    assert_int_equal(reload(f, "{}"), 0);
    assert_string_equal(r->cfg.log_level, "info");
    assert_string_equal(r->cfg.data_root, "/srv/a");
    assert_int_equal(r->ignored.n, 1);
    assert_string_equal(r->ignored.v[0], "data-root");
}

static void test_reload_keeps_flags(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load_file(f, "{}", "--log-level", "warn", "-D", NULL), 0);
    const struct reloaded *r = &f->rl;
    assert_int_equal(reload(f, "{\"shutdown-timeout\":5}"), 0);
    assert_string_equal(r->cfg.log_level, "warn");
    assert_true(r->cfg.debug);
    assert_int_equal(r->cfg.shutdown_timeout, 5);

    assert_int_equal(reload(f, "{\"log-level\":\"error\"}"), -EINVAL);
    assert_msg_contains(&r->err, "specified both as a flag and in the configuration file: "
                                 "log-level");
}

static void test_reload_invalid_file(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load_file(f, "{}", NULL), 0);
    const struct reloaded *r = &f->rl;
    assert_int_equal(reload(f, "{\"log-level\":"), -EINVAL);
    assert_msg_contains(&r->err, "not a JSON object");
    assert_null(r->cfg.data_root);
    assert_int_equal(r->ignored.n, 0);
    assert_int_equal(reload(f, "{\"log-level\":\"loud\"}"), -EINVAL);
    assert_msg_contains(&r->err, "invalid log-level 'loud'");
    assert_int_equal(reload(f, "{\"registry-mirrors\":[\"m\"]}"), -EINVAL);
    assert_string_equal(f->cfg.log_level, "info");
}

static void test_reload_missing_default_file_is_empty(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load_file(f, "{\"log-level\":\"warn\"}", NULL), 0);
    /* As if started without --config-file and the default file were deleted. */
    f->cfg.config_file_explicit = false;
    assert_int_equal(unlink(f->file), 0);
    const struct reloaded *r = &f->rl;
    assert_int_equal(reload(f, NULL), 0);
    assert_string_equal(r->cfg.log_level, "info");
    assert_int_equal(r->ignored.n, 0);

    f->cfg.config_file_explicit = true;
    assert_int_equal(reload(f, NULL), -ENOENT);
}

/* ---- config_copy ---- */

static void test_copy(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load_file(f, "{\"insecure-registries\":[\"a\",\"b\"]}", "-D", NULL), 0);
    struct config copy;
    assert_int_equal(config_copy(&f->cfg, &copy), 0);
    for (size_t i = 0; i < cfg_noptions; i++)
        assert_true(cfg_equal_value(&cfg_options[i], &f->cfg, &copy));
    assert_ptr_not_equal(copy.insecure_registries.v, f->cfg.insecure_registries.v);
    assert_string_equal(copy.config_file, f->file);
    assert_true(config_is_set(&copy, "debug"));
    assert_true(config_is_set(&copy, "insecure-registries"));
    config_done(&copy);
    assert_null(copy.data_root);
}

#define CFG_TEST(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_json_values),
        cmocka_unit_test(test_parse_json_unknown_keys),
        cmocka_unit_test(test_parse_json_wrong_types),
        cmocka_unit_test(test_parse_json_int_bounds),
        cmocka_unit_test(test_parse_json_pools),
        cmocka_unit_test(test_parse_json_bad_pools),
        cmocka_unit_test(test_parse_json_not_an_object),
        cmocka_unit_test(test_parse_json_duplicate_key),
        cmocka_unit_test(test_parse_pool),
        cmocka_unit_test(test_parse_pool_invalid),
        cmocka_unit_test(test_parse_pool_size_must_be_integer),
        CFG_TEST(test_load_defaults),
        CFG_TEST(test_load_int_defaults),
        CFG_TEST(test_load_flags),
        CFG_TEST(test_load_flag_forms),
        CFG_TEST(test_load_pool_flag),
        CFG_TEST(test_load_file_values),
        CFG_TEST(test_load_flag_and_file_conflict),
        CFG_TEST(test_load_missing_explicit_file),
        CFG_TEST(test_load_bad_file),
        CFG_TEST(test_load_validate_flag),
        CFG_TEST(test_load_help_and_version),
        CFG_TEST(test_validate_paths),
        CFG_TEST(test_validate_log_level),
        CFG_TEST(test_validate_storage_driver),
        CFG_TEST(test_validate_tls_refused),
        CFG_TEST(test_validate_hosts),
        CFG_TEST(test_validate_registries),
        CFG_TEST(test_validate_pool_flag),
        CFG_TEST(test_invalid_flag_values),
        CFG_TEST(test_int_flag_rejects_non_decimal),
        CFG_TEST(test_unknown_flag_and_argument),
        CFG_TEST(test_reload_applies_reloadable),
        CFG_TEST(test_reload_ignores_non_reloadable),
        CFG_TEST(test_reload_unchanged),
        CFG_TEST(test_reload_unchanged_pools),
        CFG_TEST(test_reload_removed_key_returns_to_default),
        CFG_TEST(test_reload_keeps_flags),
        CFG_TEST(test_reload_invalid_file),
        CFG_TEST(test_reload_missing_default_file_is_empty),
        CFG_TEST(test_copy),
        CFG_TEST(test_unknown_short_flag_in_group_named),
        CFG_TEST(test_load_restarts_getopt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
