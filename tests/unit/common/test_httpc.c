/* common/httpc*.c against berth's own HTTP server on 127.0.0.1 (same loop):
 * bodies by length and chunked, keep-alive reuse, backpressure, HEAD,
 * cancellation, refused connections and timeouts. TLS is exercised by the
 * integration tests against a TLS registry. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/httpc.h"
#include "common/macros.h"
#include "server/server.h"

#define BIG_LEN (3 * 1024 * 1024 + 17)

static int accepts; /* requests seen by the server */

static void h_hello(struct srv_req *req)
{
    accepts++;
    srv_add_header(req, "X-Test", "yes");
    srv_reply(req, 200, "text/plain", "hello", 5);
}

/* A big chunked stream produced in one go: the client must pace itself. */
static void h_big(struct srv_req *req)
{
    accepts++;
    srv_stream_begin(req, 200, "application/octet-stream");
    static char block[64 * 1024];
    for (size_t off = 0; off < BIG_LEN; off += sizeof(block)) {
        size_t n = BIG_LEN - off < sizeof(block) ? BIG_LEN - off : sizeof(block);
        memset(block, (int)('a' + (off / sizeof(block)) % 26), n);
        srv_stream_write(req, block, n);
    }
    srv_stream_end(req);
}

static void never_abort(struct srv_req *req)
{
    srv_reply_error(req, 500, "gone");
}

static void h_never(struct srv_req *req)
{
    accepts++;
    req->on_abort = never_abort; /* answers only when the client leaves */
}

static const struct srv_route routes[] = {
    {SRV_GET, "/hello", h_hello, 0},
    {SRV_HEAD, "/hello", h_hello, 0},
    {SRV_GET, "/big", h_big, 0},
    {SRV_GET, "/never", h_never, 0},
};
static const struct srv_router router = {routes, ARRAY_SIZE(routes), 24, 47};

struct fixture {
    uv_loop_t *loop;
    struct srv_server *srv;
    struct httpc_pool *pool;
    int port;
};

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    getsockname(fd, (struct sockaddr *)&sa, &len);
    close(fd);
    return ntohs(sa.sin_port);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->loop = uv_default_loop();
    struct srv_options opt = {
        .limits = {.max_header_bytes = 8192,
                   .max_body_bytes = 1024,
                   .header_timeout_ms = 2000,
                   .idle_timeout_ms = 2000,
                   .max_connections = 64,
                   .stream_high_water = 1 << 20,
                   .shutdown_grace_ms = 100},
        .router = &router,
    };
    f->srv = srv_new(f->loop, &opt);
    f->port = free_port();
    char addr[64];
    snprintf(addr, sizeof(addr), "tcp://127.0.0.1:%d", f->port);
    struct berr err = {0};
    assert_int_equal(srv_listen(f->srv, addr, (gid_t)-1, &err), 0);
    f->pool = httpc_pool_new(f->loop);
    accepts = 0;
    *state = f;
    return 0;
}

static void srv_gone(void *arg)
{
    srv_free(arg);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    httpc_pool_close(f->pool);
    srv_shutdown(f->srv, srv_gone, f->srv);
    uv_run(f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_alive(f->loop), 0);
    free(f);
    return 0;
}

/* ---- a recording client ---- */

struct result {
    int done;
    int code;
    int status;
    struct berr err;
    struct buf body;
    char x_test[16];
    int64_t clen;
    int pause_every; /* pause after this many data callbacks, resume from a timer */
    int data_calls;
    uv_timer_t resume;
    struct httpc_req *req;
};

static int on_head(struct httpc_req *r, void *ud)
{
    struct result *res = ud;
    res->status = httpc_status(r);
    res->clen = httpc_content_length(r);
    const char *x = httpc_header(r, "x-TEST");
    snprintf(res->x_test, sizeof(res->x_test), "%s", x ? x : "");
    return 0;
}

static void resume_cb(uv_timer_t *t)
{
    struct result *res = t->data;
    httpc_resume(res->req);
}

static int on_data(struct httpc_req *r, const char *d, size_t n, void *ud)
{
    struct result *res = ud;
    (void)r;
    buf_append(&res->body, d, n);
    if (res->pause_every && ++res->data_calls % res->pause_every == 0) {
        uv_timer_start(&res->resume, resume_cb, 1, 0);
        return HTTPC_PAUSE;
    }
    return HTTPC_CONTINUE;
}

static void on_done(struct httpc_req *r, int code, const struct berr *err, void *ud)
{
    struct result *res = ud;
    (void)r;
    res->done++;
    res->code = code;
    res->err = *err;
}

static const struct httpc_cbs cbs = {on_head, on_data, on_done};

static void start(struct fixture *f, struct result *res, const char *method, const char *path,
                  unsigned timeout_ms)
{
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", f->port, path);
    struct httpc_opts o = {.method = method, .url = url, .timeout_ms = timeout_ms};
    uv_timer_init(f->loop, &res->resume);
    res->resume.data = res;
    struct berr err = {0};
    assert_int_equal(httpc_start(f->pool, &o, &cbs, res, &res->req, &err), 0);
}

/* The result lives on the stack: its timer must be fully closed before reuse. */
static void finish(struct result *res)
{
    uv_close((uv_handle_t *)&res->resume, NULL);
    uv_run(res->resume.loop, UV_RUN_NOWAIT);
    buf_done(&res->body);
}

static void run_until_done(struct fixture *f, struct result *res)
{
    while (!res->done)
        uv_run(f->loop, UV_RUN_ONCE);
}

static void test_get_and_keepalive_reuse(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 3; i++) {
        struct result res = {0};
        start(f, &res, "GET", "/hello", 0);
        run_until_done(f, &res);
        assert_int_equal(res.code, 0);
        assert_int_equal(res.status, 200);
        assert_int_equal(res.clen, 5);
        assert_string_equal(res.body.data, "hello");
        assert_string_equal(res.x_test, "yes");
        finish(&res);
    }
    /* one connection served all three */
    assert_int_equal(srv_connection_count(f->srv), 1);
    assert_int_equal(accepts, 3);
}

static void test_head_has_no_body(void **state)
{
    struct fixture *f = *state;
    struct result res = {0};
    start(f, &res, "HEAD", "/hello", 0);
    run_until_done(f, &res);
    assert_int_equal(res.code, 0);
    assert_int_equal(res.status, 200);
    assert_int_equal(res.clen, 5);
    assert_int_equal(res.body.len, 0);
    finish(&res);
    struct result again = {0}; /* the connection is still in step */
    start(f, &again, "GET", "/hello", 0);
    run_until_done(f, &again);
    assert_string_equal(again.body.data, "hello");
    finish(&again);
}

static void test_chunked_with_pauses(void **state)
{
    struct fixture *f = *state;
    struct result res = {.pause_every = 3};
    start(f, &res, "GET", "/big", 0);
    run_until_done(f, &res);
    assert_int_equal(res.code, 0);
    assert_int_equal(res.clen, -1);
    assert_int_equal(res.body.len, BIG_LEN);
    for (size_t off = 0; off < BIG_LEN; off += 64 * 1024)
        assert_int_equal(res.body.data[off], 'a' + (off / (64 * 1024)) % 26);
    assert_true(res.data_calls >= 3);
    finish(&res);
}

static void test_not_found_status(void **state)
{
    struct fixture *f = *state;
    struct result res = {0};
    start(f, &res, "GET", "/missing", 0);
    run_until_done(f, &res);
    assert_int_equal(res.code, 0);
    assert_int_equal(res.status, 404);
    assert_string_equal(res.body.data, "{\"message\":\"page not found\"}\n");
    finish(&res);
}

static void cancel_soon(uv_timer_t *t)
{
    httpc_cancel(t->data);
    uv_close((uv_handle_t *)t, NULL);
}

static void test_cancel_and_timeout(void **state)
{
    struct fixture *f = *state;
    struct result res = {0};
    start(f, &res, "GET", "/never", 0);
    uv_timer_t t;
    uv_timer_init(f->loop, &t);
    t.data = res.req;
    uv_timer_start(&t, cancel_soon, 50, 0);
    run_until_done(f, &res);
    assert_int_equal(res.code, -ECANCELED);
    assert_int_equal(res.done, 1);
    finish(&res);

    struct result slow = {0};
    start(f, &slow, "GET", "/never", 100);
    run_until_done(f, &slow);
    assert_int_equal(slow.code, -ETIMEDOUT);
    assert_non_null(strstr(slow.err.msg, "timeout"));
    finish(&slow);
}

static void test_connection_refused(void **state)
{
    struct fixture *f = *state;
    struct result res = {0};
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", free_port());
    struct httpc_opts o = {.method = "GET", .url = url};
    uv_timer_init(f->loop, &res.resume);
    res.resume.data = &res;
    struct berr err = {0};
    assert_int_equal(httpc_start(f->pool, &o, &cbs, &res, NULL, &err), 0);
    run_until_done(f, &res);
    assert_int_equal(res.code, -ECONNREFUSED);
    assert_non_null(strstr(res.err.msg, "connect: connection refused"));
    finish(&res);
}

static void test_bad_urls(void **state)
{
    struct fixture *f = *state;
    const char *bad[] = {"ftp://x/",     "http://",     "http://host:99999/",
                         "http://[::1/", "http://a b/", "http://host:/x"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        struct httpc_opts o = {.method = "GET", .url = bad[i]};
        struct berr err = {0};
        assert_int_equal(httpc_start(f->pool, &o, &cbs, NULL, NULL, &err), -EINVAL);
        assert_int_equal(err.status, 400);
    }
    struct httpc_url u;
    assert_int_equal(httpc_parse_url("https://[::1]:5000/v2/?x=1", &u), 0);
    assert_true(u.tls);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 5000);
    assert_string_equal(u.hostport, "[::1]:5000");
    assert_string_equal(u.path, "/v2/?x=1");
    assert_int_equal(httpc_parse_url("http://registry.local", &u), 0);
    assert_int_equal(u.port, 80);
    assert_string_equal(u.path, "/");
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_get_and_keepalive_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_head_has_no_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chunked_with_pauses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_found_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_and_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_urls, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
