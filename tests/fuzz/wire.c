/* An in-process berthd on a socketpair (see wire.h).
 *
 * The client end is watched by a uv_poll on the server's own loop, so the
 * server's output is drained while the loop runs: a long pipelined exchange
 * never blocks on a full socket buffer. */
#include "wire.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "berth_version.h"
#include "common/events.h"
#include "common/log.h"
#include "handlers/engine.h"
#include "handlers/routes.h"
#include "handlers/system.h"
#include "server/server.h"

static const struct srv_limits normal_limits = {
    .max_header_bytes = 8192,
    .max_body_bytes = 16384, /* below the 64 KiB input cap, so 413 is reachable */
    .header_timeout_ms = 1000,
    .idle_timeout_ms = 1000,
    .max_connections = 64,
    .stream_high_water = 1024 * 1024,
    .shutdown_grace_ms = 1000,
};

static struct {
    bool ready;
    uv_loop_t loop;
    struct engine e;
} w;

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "wire: %s: %s\n", what, detail);
    abort();
}

/* The config goes through config_load (defaults and validation as in
 * berthd) from a memfd, so nothing is written to disk. The paths it names are
 * never created: the server and the handlers only read the data root (/info
 * statfs), which then reports its filesystem as unknown. */
static void load_config(void)
{
    int fd = memfd_create("berth-wire.json", MFD_CLOEXEC);
    if (fd < 0)
        die("memfd_create", strerror(errno));
    char text[1024];
    int n = snprintf(text, sizeof(text),
                     "{\"hosts\":[\"unix:///run/berth-wire.sock\",\"tcp://127.0.0.1:2375\"],"
                     "\"data-root\":\"/var/lib/berth-wire\",\"exec-root\":\"/run/berth-wire\","
                     "\"pidfile\":\"/run/berth-wire.pid\","
                     "\"insecure-registries\":[\"10.0.0.0/8\",\"registry.local:5000\"],"
                     "\"registry-mirrors\":[\"https://mirror.example\"],"
                     "\"default-address-pools\":[{\"base\":\"172.30.0.0/16\",\"size\":24}],"
                     "\"log-level\":\"error\"}\n");
    if (write(fd, text, (size_t)n) != n)
        die("write config", strerror(errno));
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    char *argv[] = {"berth-wire", "--config-file", path, NULL};
    struct berr err = {0};
    if (config_load(3, argv, &w.e.cfg, &err) < 0)
        die("config", err.msg);
    close(fd);
}

/* Stored events, so `since` replays and filters have something to match. */
static void publish_events(struct evbus *bus)
{
    const int64_t t0 = 1700000000LL * 1000000000LL;
    const char *ctr[] = {"image", "busybox:latest", "name", "web", "com.example.lb", "1", NULL};
    const char *img[] = {"name", "docker.io/library/busybox:latest", NULL};
    const char *net[] = {"name", "bridge", "type", "bridge", "container", "c0ffee", NULL};
    const char *vol[] = {"driver", "local", NULL};
    const char *dmn[] = {"name", "berth", NULL};
    const char *c = "c0ffee00112233445566778899aabbccddeeff00112233445566778899aabbcc";
    evbus_publish_at(bus, t0, "image", "pull", "busybox:latest", img);
    evbus_publish_at(bus, t0 + 1, "container", "create", c, ctr);
    evbus_publish_at(bus, t0 + 2, "network", "connect", "n3tw0rk", net);
    evbus_publish_at(bus, t0 + 3, "container", "start", c, ctr);
    evbus_publish_at(bus, t0 + 500000000LL, "container", "exec_start: sh -c true", c, ctr);
    evbus_publish_at(bus, t0 + 1000000000LL, "container", "health_status: healthy", c, ctr);
    evbus_publish_at(bus, t0 + 2000000000LL, "volume", "create", "data", vol);
    evbus_publish_at(bus, t0 + 3000000000LL, "daemon", "reload", "ENGINE", dmn);
}

void wire_init(void)
{
    if (w.ready)
        return;
    signal(SIGPIPE, SIG_IGN);
    log_set_level(LOG_LVL_ERROR);
    load_config();
    hostinfo_static(&w.e.host);
    snprintf(w.e.id, sizeof(w.e.id), "%s", "0f0f0f0f-wire-4000-8000-000000000000");
    if (uv_loop_init(&w.loop) < 0)
        die("uv_loop_init", "failed");
    w.e.loop = &w.loop;
    w.e.events = evbus_new(64);
    if (!w.e.events)
        die("evbus_new", "out of memory");
    publish_events(w.e.events);
    struct srv_options opt = {
        .limits = normal_limits,
        .router = routes_router(),
        .ctx = &w.e,
        .extra_headers =
            "Api-Version: " BERTH_API_VERSION "\r\nDocker-Experimental: false\r\n"
            "Ostype: linux\r\nServer: " BERTH_SERVER_NAME "/" BERTH_VERSION " (linux)\r\n",
    };
    w.e.srv = srv_new(&w.loop, &opt);
    if (!w.e.srv)
        die("srv_new", "out of memory");
    w.e.started_ns = 1700000000LL * 1000000000LL;
    w.ready = true;
}

/* ---- one exchange ---- */

struct client {
    uv_poll_t poll;
    uv_timer_t watchdog;
    uv_timer_t slow; /* wakes the loop for the slow client's half-close */
    bool slow_fired;
    int fd;
    bool eof; /* the server closed (or reset) the connection */
    struct buf *out;
    size_t out_max;
    size_t total;
    const char *phase;
};

static void client_read(struct client *cl)
{
    static char tmp[64 * 1024];
    for (;;) {
        ssize_t n = read(cl->fd, tmp, sizeof(tmp));
        if (n > 0) {
            cl->total += (size_t)n;
            if (cl->out && cl->out->len < cl->out_max) {
                size_t room = cl->out_max - cl->out->len;
                buf_append(cl->out, tmp, (size_t)n < room ? (size_t)n : room);
            }
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        cl->eof = true; /* 0, ECONNRESET, ... */
        uv_poll_stop(&cl->poll);
        return;
    }
}

static void client_poll_cb(uv_poll_t *p, int status, int events)
{
    struct client *cl = p->data;
    (void)events;
    if (status < 0) {
        cl->eof = true;
        uv_poll_stop(p);
        return;
    }
    client_read(cl);
}

static void watchdog_cb(uv_timer_t *t)
{
    struct client *cl = t->data;
    fprintf(stderr,
            "wire: the server did not finish the exchange within %d ms (phase %s, "
            "connections %zu, server closed: %s, %zu bytes received)\n",
            WIRE_DEADLINE_MS, cl->phase, srv_connection_count(w.e.srv), cl->eof ? "yes" : "no",
            cl->total);
    uv_print_all_handles(t->loop, stderr);
    abort();
}

static void slow_cb(uv_timer_t *t)
{
    struct client *cl = t->data;
    cl->slow_fired = true;
}

static uint32_t xorshift(uint32_t *s)
{
    uint32_t x = *s ? *s : 0x9e3779b9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

/* Writes everything, running the loop when the socket is full. Stops early
 * once the server has gone (EPIPE/ECONNRESET): the rest is never read. */
static void client_write(struct client *cl, const uint8_t *data, size_t len)
{
    while (len > 0 && !cl->eof) {
        ssize_t n = send(cl->fd, data, len, MSG_NOSIGNAL);
        if (n > 0) {
            data += n;
            len -= (size_t)n;
        } else if (n < 0 && errno == EAGAIN) {
            uv_run(&w.loop, UV_RUN_ONCE);
        } else if (n < 0 && errno != EINTR) {
            return;
        }
    }
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void close_cb(uv_handle_t *h)
{
    (void)h;
}

size_t wire_exchange(const uint8_t *data, size_t len, uint32_t split_seed, unsigned flags,
                     struct buf *out, size_t out_max)
{
    int sv[2];
    struct berr err = {0};
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        die("socketpair", strerror(errno));
    if (srv_adopt_fd(w.e.srv, sv[0], &err) < 0)
        die("srv_adopt_fd", err.msg);
    fcntl(sv[1], F_SETFL, fcntl(sv[1], F_GETFL) | O_NONBLOCK);

    struct client cl = {.fd = sv[1], .out = out, .out_max = out_max, .phase = "write"};
    struct srv_limits limits = normal_limits;
    if (flags & WIRE_SLOW_CLIENT)
        limits.header_timeout_ms = limits.idle_timeout_ms = 2;
    srv_set_limits(w.e.srv, &limits);
    uv_poll_init(&w.loop, &cl.poll, cl.fd);
    cl.poll.data = &cl;
    uv_poll_start(&cl.poll, UV_READABLE | UV_DISCONNECT, client_poll_cb);
    uv_timer_init(&w.loop, &cl.watchdog);
    cl.watchdog.data = &cl;
    uv_timer_start(&cl.watchdog, watchdog_cb, WIRE_DEADLINE_MS, 0);

    /* Pieces let the server read (and llhttp resume) at arbitrary offsets. */
    uint32_t s = split_seed;
    size_t off = 0;
    while (off < len && !cl.eof) {
        size_t piece = split_seed ? 1 + xorshift(&s) % (len / 4 + 1) : len;
        if (piece > len - off)
            piece = len - off;
        client_write(&cl, data + off, piece);
        off += piece;
        uv_run(&w.loop, UV_RUN_NOWAIT);
    }
    if (flags & WIRE_SLOW_CLIENT) {
        cl.phase = "slow client";
        uv_timer_init(&w.loop, &cl.slow);
        cl.slow.data = &cl;
        uv_timer_start(&cl.slow, slow_cb, WIRE_SLOW_CLOSE_MS, 0);
        while (!cl.eof && !cl.slow_fired)
            uv_run(&w.loop, UV_RUN_ONCE);
        uv_timer_stop(&cl.slow);
        uv_close((uv_handle_t *)&cl.slow, close_cb);
    }
    if (!(flags & WIRE_KEEP_WRITE_OPEN))
        shutdown(cl.fd, SHUT_WR);

    cl.phase = "wait for close";
    while (!cl.eof || srv_connection_count(w.e.srv) > 0)
        uv_run(&w.loop, UV_RUN_ONCE);

    /* Late close callbacks (handler timers, ...) must not outlive the exchange. */
    cl.phase = "drain loop";
    uv_timer_stop(&cl.watchdog);
    uv_close((uv_handle_t *)&cl.watchdog, close_cb);
    uv_close((uv_handle_t *)&cl.poll, close_cb);
    int64_t deadline = now_ms() + WIRE_DEADLINE_MS;
    while (uv_loop_alive(&w.loop)) {
        uv_run(&w.loop, UV_RUN_NOWAIT);
        if (now_ms() > deadline) {
            fprintf(stderr, "wire: the loop stayed alive after the connection closed\n");
            uv_print_all_handles(&w.loop, stderr);
            abort();
        }
    }
    close(cl.fd);
    return cl.total;
}
