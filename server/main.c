/* berthd: the composition root. Loads the configuration, takes the daemon's
 * locks, builds the engine and the HTTP server, and runs the loop until a
 * signal asks it to stop. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth_version.h"
#include "common/atomicfile.h"
#include "common/daemonfiles.h"
#include "common/job.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "handlers/engine.h"
#include "handlers/routes.h"
#include "handlers/system.h"
#include "main_reload.h"
#include "server/server.h"

#define STREAM_HIGH_WATER (1024 * 1024)
#define EVENT_HISTORY     256

struct daemon {
    struct engine e;
    uv_signal_t sig[3];
    int stop_requests;
    int pid_fd, root_fd;
    int exit_code;
};

static struct srv_limits limits_from(const struct config *c)
{
    return (struct srv_limits){
        .max_header_bytes = (size_t)c->http_max_header_bytes,
        .max_body_bytes = (size_t)c->http_max_body_bytes,
        .header_timeout_ms = (unsigned)c->http_header_timeout * 1000,
        .idle_timeout_ms = (unsigned)c->http_idle_timeout * 1000,
        .max_connections = (unsigned)c->http_max_connections,
        .stream_high_water = STREAM_HIGH_WATER,
        .shutdown_grace_ms = (unsigned)c->shutdown_timeout * 1000,
    };
}

static void apply_log_level(const struct config *c)
{
    enum log_level lvl = LOG_LVL_INFO;
    log_level_parse(config_log_level(c), &lvl);
    log_set_level(lvl);
}

/* Registry settings come from the configuration, which a reload replaces. */
static void apply_registry_config(struct engine *e)
{
    e->pulls.reg = (struct registry_opts){
        .insecure = &e->cfg.insecure_registries,
        .mirrors = &e->cfg.registry_mirrors,
        .certs_dir = e->cfg.certs_dir,
        .timeout_ms = 30000,
        .retries = 2,
    };
    e->pulls.max_downloads = (int)e->cfg.max_concurrent_downloads;
}

/* Called by the reload job on the loop thread with the new configuration. */
static void reload_applied(struct engine *e)
{
    apply_registry_config(e);
    apply_log_level(&e->cfg);
    struct srv_limits l = limits_from(&e->cfg);
    srv_set_limits(e->srv, &l);
}

static void shutdown_done(void *arg)
{
    struct daemon *d = arg;
    httpc_pool_close(d->e.http);
    d->e.http = NULL;
    for (size_t i = 0; i < 3; i++)
        uv_close((uv_handle_t *)&d->sig[i], NULL);
    log_info("daemon shutdown complete");
}

/* Containers first (their exits still reach /events and wait streams), then
 * the API. */
static void containers_stopped(void *arg)
{
    struct daemon *d = arg;
    srv_shutdown(d->e.srv, shutdown_done, d);
}

static void signal_cb(uv_signal_t *h, int signum)
{
    struct daemon *d = h->data;
    if (signum == SIGHUP) {
        reload_start(&d->e, reload_applied);
        return;
    }
    if (++d->stop_requests >= 3) {
        log_warn("forced shutdown after repeated signals");
        exit(1);
    }
    if (d->stop_requests == 1) {
        log_info("processing signal '%s', shutting down", strsignal(signum));
        pull_cancel_all(&d->e.pulls);
        rt_shutdown(&d->e.rt, containers_stopped, d);
    }
}

static int raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -errno;
    rl.rlim_cur = rl.rlim_max;
    return setrlimit(RLIMIT_NOFILE, &rl) < 0 ? -errno : 0;
}

static int prepare_dirs(const struct config *c, struct berr *err)
{
    if (mkdir_p(c->data_root, 0711) < 0)
        return berr_errno(err, 500, errno, "create data root '%s'", c->data_root);
    if (mkdir_p(c->exec_root, 0700) < 0)
        return berr_errno(err, 500, errno, "create exec root '%s'", c->exec_root);
    return 0;
}

/* A numeric ID, or a name from /etc/group read directly: getgrnam would load
 * NSS modules (libnss_systemd: ~300 KiB resident for the daemon's life). */
static bool find_group(const char *name, gid_t *ret)
{
    char *end;
    unsigned long id = strtoul(name, &end, 10);
    if (*name && !*end) {
        *ret = (gid_t)id;
        return true;
    }
    FILE *f = fopen("/etc/group", "re");
    char line[1024];
    bool found = false;
    size_t n = strlen(name);
    while (f && !found && fgets(line, sizeof(line), f)) {
        char *gid = strchr(line, ':') ? strchr(strchr(line, ':') + 1, ':') : NULL;
        if (gid && strncmp(line, name, n) == 0 && line[n] == ':') {
            *ret = (gid_t)strtoul(gid + 1, NULL, 10);
            found = true;
        }
    }
    if (f)
        fclose(f);
    return found;
}

/* As dockerd: the default group may be missing (root only), a chosen one may not. */
static int socket_gid(const struct config *c, gid_t *ret, struct berr *err)
{
    bool found = find_group(c->group, ret);
    if (!found)
        *ret = (gid_t)-1;
    if (!found && config_is_set(c, "group"))
        return berr_set(err, 400, EINVAL, "group '%s' not found for the API socket", c->group);
    if (!found)
        log_info("group '%s' not found, the API socket stays root-only", c->group);
    return 0;
}

static int listen_all(struct daemon *d, struct berr *err)
{
    gid_t gid;
    if (socket_gid(&d->e.cfg, &gid, err) < 0)
        return -EINVAL;
    for (size_t i = 0; i < d->e.cfg.hosts.n; i++) {
        const char *h = d->e.cfg.hosts.v[i];
        if (srv_listen(d->e.srv, h, gid, err) < 0)
            return -EINVAL;
        if (strncmp(h, "tcp://", 6) == 0)
            log_warn("API listening on %s without TLS: anyone who can reach it is root", h);
        log_info("API listen on %s", h);
    }
    return 0;
}

static int open_store(struct engine *e, struct berr *err)
{
    struct strv warnings = {0};
    int r = store_open(e->cfg.data_root, e->cfg.storage_driver, e->loop, &e->store, &warnings, err);
    for (size_t i = 0; i < warnings.n; i++)
        log_warn("%s", warnings.v[i]);
    strv_done(&warnings);
    if (r < 0)
        return r;
    e->http = httpc_pool_new(e->loop);
    if (!e->http)
        return berr_set(err, 500, ENOMEM, "out of memory");
    e->pulls.loop = e->loop;
    e->pulls.store = e->store;
    e->pulls.pool = e->http;
    apply_registry_config(e);
    return 0;
}

static int open_containers(struct engine *e, struct berr *err)
{
    struct strv warnings = {0};
    int r = rt_init(&e->rt, e->loop, e->store, e->events, e->cfg.data_root, &warnings, err);
    for (size_t i = 0; i < warnings.n; i++)
        log_warn("%s", warnings.v[i]);
    strv_done(&warnings);
    return r;
}

static int start_engine(struct daemon *d, struct berr *err)
{
    struct engine *e = &d->e;
    if (prepare_dirs(&e->cfg, err) < 0)
        return -1;
    if ((d->pid_fd = daemon_lock_pidfile(e->cfg.pidfile, err)) < 0)
        return -1;
    if ((d->root_fd = daemon_lock_data_root(e->cfg.data_root, err)) < 0)
        return -1;
    if (daemon_engine_id(e->cfg.data_root, e->id, sizeof(e->id), err) < 0)
        return -1;
    hostinfo_static(&e->host);
    e->loop = uv_default_loop();
    if (open_store(e, err) < 0)
        return -1;
    job_pool_configure((unsigned)(e->host.ncpu * 2 > 4 ? e->host.ncpu * 2 : 4));
    e->events = evbus_new(EVENT_HISTORY);
    if (e->events && open_containers(e, err) < 0)
        return -1;
    struct srv_options opt = {
        .limits = limits_from(&e->cfg),
        .router = routes_router(),
        .ctx = e,
        .extra_headers =
            "Api-Version: " BERTH_API_VERSION "\r\nDocker-Experimental: false\r\n"
            "Ostype: linux\r\nServer: " BERTH_SERVER_NAME "/" BERTH_VERSION " (linux)\r\n",
    };
    e->srv = e->events ? srv_new(e->loop, &opt) : NULL;
    if (!e->srv)
        return berr_set(err, 500, ENOMEM, "out of memory");
    e->started_ns = time_now_ns();
    return listen_all(d, err);
}

static void nothing_left(void *ud)
{
    (void)ud;
}

static void watch_signals(struct daemon *d)
{
    const int sigs[3] = {SIGTERM, SIGINT, SIGHUP};
    for (size_t i = 0; i < 3; i++) {
        uv_signal_init(d->e.loop, &d->sig[i]);
        d->sig[i].data = d;
        uv_signal_start(&d->sig[i], signal_cb, sigs[i]);
    }
}

static void stop_engine(struct daemon *d)
{
    struct engine *e = &d->e;
    if (e->store) {
        struct berr err = {0};
        if (store_flush_sync(e->store, &err) < 0)
            log_error("saving image references: %s", err.msg);
    }
    if (e->loop) {
        int r = uv_loop_close(e->loop);
        if (r < 0)
            log_error("event loop closed with live handles: %s", uv_strerror(r));
    }
    srv_free(e->srv);
    rt_done(&e->rt);
    evbus_free(e->events);
    map_done(&e->pulls.active);
    store_close(e->store);
    if (d->pid_fd >= 0) {
        unlink(e->cfg.pidfile);
        close(d->pid_fd);
    }
    if (d->root_fd >= 0)
        close(d->root_fd);
    config_done(&e->cfg);
}

static int early_exit(const struct config *c, int *code)
{
    if (c->show_help) {
        config_print_help("berthd");
        return *code = 0, 1;
    }
    if (c->show_version) {
        printf("berthd version %s, build %s (Docker Engine API %s)\n", BERTH_VERSION,
               BERTH_GIT_COMMIT, BERTH_API_VERSION);
        return *code = 0, 1;
    }
    if (c->validate_only) {
        printf("configuration OK\n");
        return *code = 0, 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static struct daemon d = {.pid_fd = -1, .root_fd = -1};
    struct berr err = {0};
    int code = 1;
    signal(SIGPIPE, SIG_IGN);
    if (config_load(argc, argv, &d.e.cfg, &err) < 0) {
        fprintf(stderr, "berthd: %s\n", err.msg);
        return 1;
    }
    if (early_exit(&d.e.cfg, &code)) {
        config_done(&d.e.cfg);
        return code;
    }
    apply_log_level(&d.e.cfg);
    if (geteuid() != 0) {
        fprintf(stderr, "berthd: needs to be started with root privileges\n");
        config_done(&d.e.cfg);
        return 1;
    }
    if (raise_nofile() < 0)
        log_warn("cannot raise the open file limit");
    if (start_engine(&d, &err) == 0) {
        watch_signals(&d);
        log_info("berthd %s started (API %s), data root %s", BERTH_VERSION, BERTH_API_VERSION,
                 d.e.cfg.data_root);
        uv_run(d.e.loop, UV_RUN_DEFAULT);
        code = 0;
    } else {
        log_error("%s", err.msg);
        if (d.e.http)
            httpc_pool_close(d.e.http);
        if (d.e.srv)
            srv_shutdown(d.e.srv, NULL, NULL);
        /* containers restarted by their policy at load keep the loop alive */
        if (d.e.rt.loop)
            rt_shutdown(&d.e.rt, nothing_left, NULL);
        if (d.e.loop)
            uv_run(d.e.loop, UV_RUN_DEFAULT);
    }
    stop_engine(&d);
    return code;
}
