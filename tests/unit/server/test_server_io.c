/* The HTTP server over real sockets, with test-only routes: keep-alive and
 * pipelining, hijack (101 and 200, raw bytes after the head, half-close),
 * streamed request bodies with llhttp paused, streams and aborts, limits,
 * timeouts and graceful shutdown.
 *
 * The server runs on this thread's loop; each scenario's client runs in a
 * thread with blocking sockets and wakes the loop through a uv_async when done. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/job.h"
#include "common/macros.h"
#include "server/server.h"

/* ---- test routes ---- */

static int aborts_seen;
static int streams_started;

static void h_hello(struct srv_req *req)
{
    srv_reply(req, 200, "text/plain", "hi", 2);
}

struct body_sum {
    struct srv_req *req;
    uv_timer_t resume;
    size_t len;
    uint32_t sum;
};

static void body_free_cb(uv_handle_t *h)
{
    free(h->data);
}

static void resume_cb(uv_timer_t *t)
{
    struct body_sum *b = t->data;
    srv_req_resume_body(b->req);
}

/* Pauses after every chunk and resumes from a timer: the body must still
 * arrive whole and in order. */
static int body_chunk(struct srv_req *req, const char *data, size_t len)
{
    struct body_sum *b = req->data;
    if (!data) {
        char out[64];
        int n = snprintf(out, sizeof(out), "len=%zu sum=%u", b->len, b->sum);
        srv_reply(req, 200, "text/plain", out, (size_t)n);
        uv_close((uv_handle_t *)&b->resume, body_free_cb);
        return SRV_BODY_CONTINUE;
    }
    for (size_t i = 0; i < len; i++)
        b->sum = b->sum * 31 + (unsigned char)data[i];
    b->len += len;
    uv_timer_start(&b->resume, resume_cb, 0, 0);
    return SRV_BODY_PAUSE;
}

static void h_body(struct srv_req *req)
{
    struct body_sum *b = calloc(1, sizeof(*b));
    b->req = req;
    uv_timer_init(uv_default_loop(), &b->resume);
    b->resume.data = b;
    req->data = b;
    req->on_body = body_chunk;
}

static void echo_raw(struct srv_req *req, const char *data, ssize_t n)
{
    if (n < 0) {
        srv_raw_write(req, "bye\n", 4);
        srv_hijack_end(req);
        return;
    }
    char up[256];
    for (ssize_t off = 0; off < n; off += (ssize_t)sizeof(up)) {
        size_t len = (size_t)(n - off) < sizeof(up) ? (size_t)(n - off) : sizeof(up);
        for (size_t i = 0; i < len; i++)
            up[i] = (char)((data[off + (ssize_t)i] >= 'a' && data[off + (ssize_t)i] <= 'z')
                               ? data[off + (ssize_t)i] - 32
                               : data[off + (ssize_t)i]);
        srv_raw_write(req, up, len);
    }
}

static void hijack_abort(struct srv_req *req)
{
    aborts_seen++;
    srv_hijack_end(req);
}

static void h_hijack(struct srv_req *req)
{
    req->on_abort = hijack_abort;
    srv_hijack(req, "application/vnd.docker.raw-stream", echo_raw);
    if (req->body_len)
        srv_raw_write(req, req->body, req->body_len); /* echo the JSON body first */
}

struct ticker {
    struct srv_req *req;
    uv_timer_t timer;
    int n;
};

static void ticker_stop(struct ticker *t)
{
    uv_timer_stop(&t->timer);
    srv_stream_end(t->req);
    uv_close((uv_handle_t *)&t->timer, body_free_cb);
}

static void tick_cb(uv_timer_t *h)
{
    struct ticker *t = h->data;
    char line[32];
    int n = snprintf(line, sizeof(line), "tick %d\n", t->n++);
    srv_stream_write(t->req, line, (size_t)n);
}

static void ticker_abort(struct srv_req *req)
{
    aborts_seen++;
    ticker_stop(req->data);
}

/* Streams a line every 20 ms until the client leaves or the server stops. */
static void h_stream(struct srv_req *req)
{
    struct ticker *t = calloc(1, sizeof(*t));
    t->req = req;
    uv_timer_init(uv_default_loop(), &t->timer);
    t->timer.data = t;
    req->data = t;
    req->on_abort = ticker_abort;
    srv_stream_begin(req, 200, "text/plain");
    uv_timer_start(&t->timer, tick_cb, 0, 20);
    streams_started++;
}

/* A handler whose work outlives its client: the job must finish, its reply
 * be dropped, and the connection freed afterwards. */
struct slow_job {
    struct job job;
    struct srv_req *req;
};

static int jobs_done;
static atomic_int jobs_started; /* read by the client thread */

static int slow_run(struct job *job)
{
    (void)job;
    usleep(200 * 1000);
    return 0;
}

static void slow_done(struct job *job)
{
    struct slow_job *sj = container_of(job, struct slow_job, job);
    jobs_done++;
    assert_true(sj->req->aborted); /* the client left while we worked */
    srv_reply(sj->req, 200, "text/plain", "late", 4);
    free(sj);
}

static void h_slow(struct srv_req *req)
{
    atomic_store(&jobs_started, 1);
    struct slow_job *sj = calloc(1, sizeof(*sj));
    sj->req = req;
    job_init(&sj->job, slow_run, slow_done);
    job_queue(uv_default_loop(), &sj->job);
}

static const struct srv_route test_routes[] = {
    {SRV_GET, "/slow", h_slow, 0},
    {SRV_GET, "/hello", h_hello, 0},
    {SRV_POST, "/body", h_body, SRV_ROUTE_STREAM_BODY},
    {SRV_POST, "/hijack", h_hijack, 0},
    {SRV_GET, "/stream", h_stream, 0},
};

static const struct srv_router test_router = {test_routes, ARRAY_SIZE(test_routes), 24, 47};

/* ---- harness ---- */

struct scenario {
    void (*client)(int fd, struct buf *out);
    int fd;
    struct buf out;
    uv_async_t done;
    volatile int finished;
};

static void *client_thread(void *arg)
{
    struct scenario *s = arg;
    s->client(s->fd, &s->out);
    s->finished = 1;
    uv_async_send(&s->done);
    return NULL;
}

static void done_cb(uv_async_t *a)
{
    (void)a;
}

static struct srv_server *new_server(void)
{
    struct srv_options opt = {
        .limits = {.max_header_bytes = 4096,
                   .max_body_bytes = 1024,
                   .header_timeout_ms = 300,
                   .idle_timeout_ms = 2000,
                   .max_connections = 16,
                   .stream_high_water = 1 << 20,
                   .shutdown_grace_ms = 2000},
        .router = &test_router,
        .extra_headers = "Api-Version: 1.47\r\n",
    };
    return srv_new(uv_default_loop(), &opt);
}

static void free_server_cb(void *arg)
{
    srv_free(arg);
}

/* Runs client() against a fresh server; returns what the client recorded. */
static void run_scenario(void (*client)(int, struct buf *), void (*midway)(struct srv_server *),
                         struct buf *ret)
{
    uv_loop_t *loop = uv_default_loop();
    struct srv_server *srv = new_server();
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    struct berr err = {0};
    assert_int_equal(srv_adopt_fd(srv, sv[0], &err), 0);
    struct scenario s = {.client = client, .fd = sv[1], .out = BUF_INIT};
    uv_async_init(loop, &s.done, done_cb);
    pthread_t th;
    pthread_create(&th, NULL, client_thread, &s);
    bool midway_done = false;
    streams_started = 0;
    while (!s.finished) {
        uv_run(loop, UV_RUN_ONCE);
        /* midway() acts once a stream is in progress on the server. */
        if (midway && !midway_done && streams_started > 0) {
            midway(srv);
            midway_done = true;
        }
    }
    pthread_join(th, NULL);
    close(sv[1]);
    if (!midway)
        srv_shutdown(srv, free_server_cb, srv);
    uv_close((uv_handle_t *)&s.done, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_alive(loop), 0);
    *ret = s.out;
}

/* Client helpers: blocking I/O with a receive timeout so a bug fails, not hangs. */
static void send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static void send_str(int fd, const char *s)
{
    send_all(fd, s, strlen(s));
}

static void set_timeout(int fd, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

static void read_until_eof(int fd, struct buf *out)
{
    char b[4096];
    set_timeout(fd, 5000);
    ssize_t n;
    while ((n = read(fd, b, sizeof(b))) > 0)
        buf_append(out, b, (size_t)n);
}

/* Reads until the buffer holds `count` copies of needle (or timeout/EOF). */
static void read_until_count(int fd, struct buf *out, const char *needle, int count)
{
    char b[4096];
    set_timeout(fd, 5000);
    for (;;) {
        int seen = 0;
        for (const char *p = out->data; p && (p = strstr(p, needle)); p += strlen(needle))
            seen++;
        if (seen >= count)
            return;
        ssize_t n = read(fd, b, sizeof(b));
        if (n <= 0)
            return;
        buf_append(out, b, (size_t)n);
    }
}

static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; p && (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* ---- scenarios ---- */

static void c_pipelined(int fd, struct buf *out)
{
    send_str(fd,
             "GET /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /v1.40/hello HTTP/1.1\r\nHost: x\r\n\r\n"
             "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
    read_until_count(fd, out, "HTTP/1.1 ", 3);
    send_str(fd, "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    read_until_eof(fd, out);
}

static void test_keepalive_pipelining(void **state)
{
    (void)state;
    struct buf out;
    run_scenario(c_pipelined, NULL, &out);
    assert_int_equal(count_of(out.data, "HTTP/1.1 200 OK"), 3);
    assert_int_equal(count_of(out.data, "HTTP/1.1 404 Not Found"), 1);
    assert_non_null(strstr(out.data, "{\"message\":\"page not found\"}\n"));
    assert_non_null(strstr(out.data, "Connection: close\r\n"));
    assert_int_equal(count_of(out.data, "Api-Version: 1.47\r\n"), 4);
    buf_done(&out);
}

/* Raw bytes sent right behind the upgrade request must reach the stream,
 * and our half-close must still let the server answer before closing. */
static void c_hijack(int fd, struct buf *out)
{
    send_str(fd, "POST /hijack HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
                 "Content-Length: 0\r\n\r\nhello ");
    read_until_count(fd, out, "HELLO ", 1);
    send_str(fd, "world");
    read_until_count(fd, out, "WORLD", 1);
    shutdown(fd, SHUT_WR);
    read_until_eof(fd, out);
}

static void test_hijack_upgrade_half_close(void **state)
{
    (void)state;
    struct buf out;
    run_scenario(c_hijack, NULL, &out);
    const char *head =
        "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
        "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n";
    assert_true(strncmp(out.data, head, strlen(head)) == 0);
    assert_string_equal(out.data + strlen(head), "HELLO WORLDbye\n");
    buf_done(&out);
}

/* exec start carries a JSON body before the raw stream begins. */
static void c_hijack_body(int fd, struct buf *out)
{
    send_str(fd, "POST /hijack HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
                 "Content-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"Tty\":false}abc");
    shutdown(fd, SHUT_WR);
    read_until_eof(fd, out);
}

static void test_hijack_after_body(void **state)
{
    (void)state;
    struct buf out;
    run_scenario(c_hijack_body, NULL, &out);
    const char *body = strstr(out.data, "\r\n\r\n");
    assert_non_null(body);
    assert_string_equal(body + 4, "{\"Tty\":false}ABCbye\n");
    buf_done(&out);
}

static void c_hijack_plain(int fd, struct buf *out)
{
    send_str(fd, "POST /hijack HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\nxyz");
    shutdown(fd, SHUT_WR);
    read_until_eof(fd, out);
}

static void test_hijack_without_upgrade_is_200(void **state)
{
    (void)state;
    struct buf out;
    run_scenario(c_hijack_plain, NULL, &out);
    assert_true(strncmp(out.data, "HTTP/1.1 200 OK\r\n", 17) == 0);
    assert_non_null(strstr(out.data, "\r\n\r\nXYZbye\n"));
    buf_done(&out);
}

#define BODY_CHUNKS 256
#define CHUNK_LEN   4096

static void c_chunked_body(int fd, struct buf *out)
{
    send_str(fd, "POST /body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    char chunk[CHUNK_LEN];
    for (int i = 0; i < BODY_CHUNKS; i++) {
        memset(chunk, 'a' + i % 26, sizeof(chunk));
        char hdr[16];
        snprintf(hdr, sizeof(hdr), "%x\r\n", CHUNK_LEN);
        send_str(fd, hdr);
        send_all(fd, chunk, sizeof(chunk));
        send_str(fd, "\r\n");
    }
    send_str(fd, "0\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    read_until_eof(fd, out);
}

static void test_streamed_chunked_body_with_pauses(void **state)
{
    (void)state;
    uint32_t sum = 0;
    for (int i = 0; i < BODY_CHUNKS; i++)
        for (int j = 0; j < CHUNK_LEN; j++)
            sum = sum * 31 + (unsigned char)('a' + i % 26);
    char want[64];
    snprintf(want, sizeof(want), "len=%d sum=%u", BODY_CHUNKS * CHUNK_LEN, sum);
    struct buf out;
    run_scenario(c_chunked_body, NULL, &out);
    assert_non_null(strstr(out.data, want));
    assert_int_equal(count_of(out.data, "HTTP/1.1 200 OK"), 2); /* keep-alive after the body */
    buf_done(&out);
}

static void c_drop_stream(int fd, struct buf *out)
{
    send_str(fd, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
    read_until_count(fd, out, "tick 2", 1);
    /* vanish mid-stream */
}

static void test_client_drop_mid_stream(void **state)
{
    (void)state;
    aborts_seen = 0;
    struct buf out;
    run_scenario(c_drop_stream, NULL, &out);
    assert_non_null(strstr(out.data, "Transfer-Encoding: chunked"));
    assert_int_equal(aborts_seen, 1);
    buf_done(&out);
}

static void c_stream_until_shutdown(int fd, struct buf *out)
{
    send_str(fd, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
    read_until_eof(fd, out);
}

static void shutdown_soon(struct srv_server *srv)
{
    srv_shutdown(srv, free_server_cb, srv);
}

static void test_shutdown_ends_streams(void **state)
{
    (void)state;
    aborts_seen = 0;
    struct buf out;
    run_scenario(c_stream_until_shutdown, shutdown_soon, &out);
    /* the stream ended properly: last chunk, then the connection closed */
    size_t n = out.len;
    assert_true(n >= 5);
    assert_memory_equal(out.data + n - 5, "0\r\n\r\n", 5);
    assert_int_equal(aborts_seen, 1);
    buf_done(&out);
}

static void c_leave_during_job(int fd, struct buf *out)
{
    (void)out;
    send_str(fd, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    /* leave only once the job runs (it sleeps 200 ms), before its reply */
    for (int i = 0; i < 5000 && !atomic_load(&jobs_started); i++)
        usleep(1000);
    /* gone before the reply: the harness closes our end when we return */
}

static void test_job_outlives_client(void **state)
{
    (void)state;
    jobs_done = 0;
    atomic_store(&jobs_started, 0);
    struct buf out;
    run_scenario(c_leave_during_job, NULL, &out);
    /* run_scenario drained the loop: the job finished after the close */
    assert_int_equal(jobs_done, 1);
    assert_int_equal(out.len, 0);
    buf_done(&out);
}

static void c_big_header(int fd, struct buf *out)
{
    struct buf req = BUF_INIT;
    buf_append_str(&req, "GET /hello HTTP/1.1\r\nX-Big: ");
    for (int i = 0; i < 5000; i++)
        buf_append(&req, "a", 1);
    buf_append_str(&req, "\r\n\r\n");
    send_all(fd, req.data, req.len);
    buf_done(&req);
    read_until_eof(fd, out);
}

static void test_header_too_large_431(void **state)
{
    (void)state;
    struct buf out;
    run_scenario(c_big_header, NULL, &out);
    assert_true(strncmp(out.data, "HTTP/1.1 431 ", 13) == 0);
    assert_non_null(strstr(out.data, "{\"message\":\"request header fields too large\"}"));
    buf_done(&out);
}

static void c_body_too_large(int fd, struct buf *out)
{
    send_str(fd, "POST /hijack HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n");
    read_until_eof(fd, out);
}

static void test_body_too_large_413(void **state)
{
    (void)state;
    struct buf out;
    run_scenario(c_body_too_large, NULL, &out);
    assert_true(strncmp(out.data, "HTTP/1.1 413 ", 13) == 0);
    buf_done(&out);
}

/* 3 chunks of 600 bytes exceed the 1024-byte limit of a buffered body. */
static void c_chunked_too_large(int fd, struct buf *out)
{
    send_str(fd, "POST /hijack HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    char chunk[600];
    memset(chunk, 'z', sizeof(chunk));
    for (int i = 0; i < 3; i++) {
        send_str(fd, "258\r\n");
        send_all(fd, chunk, sizeof(chunk));
        send_str(fd, "\r\n");
    }
    send_str(fd, "0\r\n\r\n");
    read_until_eof(fd, out);
}

static void test_chunked_body_too_large_413(void **state)
{
    (void)state;
    struct buf out;
    run_scenario(c_chunked_too_large, NULL, &out);
    assert_true(strncmp(out.data, "HTTP/1.1 413 ", 13) == 0);
    assert_int_equal(count_of(out.data, "HTTP/1.1 "), 1);
    buf_done(&out);
}

static void c_malformed(int fd, struct buf *out)
{
    send_str(fd, "GET /hello HTTP/1.1\r\nBad Header Without Colon\r\n\r\n");
    read_until_eof(fd, out);
}

static void test_malformed_400(void **state)
{
    (void)state;
    struct buf out;
    run_scenario(c_malformed, NULL, &out);
    assert_true(strncmp(out.data, "HTTP/1.1 400 ", 13) == 0);
    assert_non_null(strstr(out.data, "malformed HTTP request"));
    buf_done(&out);
}

static void c_slow_head(int fd, struct buf *out)
{
    send_str(fd, "GET /hello HTTP/1.1\r\nHo");
    read_until_eof(fd, out); /* the 300 ms header timeout answers */
}

static void test_slow_head_408(void **state)
{
    (void)state;
    struct buf out;
    run_scenario(c_slow_head, NULL, &out);
    assert_true(strncmp(out.data, "HTTP/1.1 408 ", 13) == 0);
    buf_done(&out);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* as berthd: a vanished peer is an EPIPE, not a death */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keepalive_pipelining),
        cmocka_unit_test(test_hijack_upgrade_half_close),
        cmocka_unit_test(test_hijack_after_body),
        cmocka_unit_test(test_hijack_without_upgrade_is_200),
        cmocka_unit_test(test_streamed_chunked_body_with_pauses),
        cmocka_unit_test(test_client_drop_mid_stream),
        cmocka_unit_test(test_shutdown_ends_streams),
        cmocka_unit_test(test_job_outlives_client),
        cmocka_unit_test(test_header_too_large_431),
        cmocka_unit_test(test_body_too_large_413),
        cmocka_unit_test(test_chunked_body_too_large_413),
        cmocka_unit_test(test_malformed_400),
        cmocka_unit_test(test_slow_head_408),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
