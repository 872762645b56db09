/* Throughput of the json-file writer and reader, printed, never asserted.
 * Quick by default (32 MiB); BERTH_LOG_BENCH_MB=512 for the full size, and
 * BERTH_LOG_BENCH_FILE=<path> to read an existing log (e.g. one written by
 * dockerd) instead of writing one. The output is only counted, as a client
 * draining the socket at full speed would. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/timeutil.h"
#include "runtime/logfile.h"
#include "runtime/logread.h"
#include "unit_helpers.h"

struct sink {
    size_t bytes;
    int chunks;
    int ends;
    struct logread *r;
};

static void sink_chunk(void *ud, char *data, size_t len)
{
    struct sink *s = ud;
    s->bytes += len;
    s->chunks++;
    free(data);
    logread_next(s->r);
}

static void sink_end(void *ud, int status)
{
    struct sink *s = ud;
    assert_int_equal(status, 0);
    s->ends++;
}

static double secs_since(int64_t t0)
{
    return (double)(time_now_ns() - t0) / 1e9;
}

static void drain_cb(struct logw *w, void *ud)
{
    (void)w;
    *(int *)ud += 1;
}

static void closed_cb(void *ud, int status)
{
    assert_int_equal(status, 0);
    *(int *)ud = 1;
}

/* Lines of 40 to 160 bytes of text, as a chatty service prints. */
static size_t fill_input(char *buf, size_t len)
{
    static const char words[] = "GET /api/v1/items?id=42 200 OK latency_ms=3 user=alice "
                                "request_id=9f3c2a \"quoted\" <tag> done ";
    size_t i = 0, line = 0;
    unsigned seed = 1;
    while (i + 200 < len) {
        seed = seed * 1103515245 + 12345;
        size_t n = 40 + (seed >> 16) % 120;
        for (size_t k = 0; k < n; k++)
            buf[i + k] = words[(line + k) % (sizeof(words) - 1)];
        buf[i + n] = '\n';
        i += n + 1;
        line++;
    }
    return i;
}

static void bench_write(uv_loop_t *loop, const char *path, size_t total)
{
    struct logw_opts o;
    logw_opts_init(&o);
    struct logw *w;
    struct berr err = {0};
    assert_int_equal(logw_open(loop, path, &o, &w, &err), 0);
    int drains = 0, closed = 0;
    logw_set_drain(w, drain_cb, &drains);
    static char input[1 << 20];
    size_t ilen = fill_input(input, sizeof(input)), done = 0;
    int64_t t0 = time_now_ns();
    while (done < total) {
        /* Pipe-sized pieces, as the loop reads them from a container. */
        for (size_t off = 0; off < ilen && done < total; off += 65536) {
            size_t n = ilen - off < 65536 ? ilen - off : 65536;
            int before = drains;
            if (logw_write(w, done % 3 ? 1 : 2, input + off, n, time_now_ns()) == LOGW_FULL)
                while (drains == before)
                    uv_run(loop, UV_RUN_ONCE);
            done += n;
        }
    }
    logw_close(w, closed_cb, &closed);
    uv_run(loop, UV_RUN_DEFAULT);
    double s = secs_since(t0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    printf("write: %zu MiB container output -> %.0f MiB json-file in %.2f s: %.0f MB/s in, "
           "%.0f MB/s out\n",
           done >> 20, (double)st.st_size / 1048576, s, (double)done / 1e6 / s,
           (double)st.st_size / 1e6 / s);
}

static void bench_read(uv_loop_t *loop, const char *path, const char *what,
                       const struct logread_opts *o)
{
    struct sink s = {0};
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    int64_t t0 = time_now_ns();
    s.r = logread_start(loop, o, path, NULL, sink_chunk, sink_end, &s);
    uv_run(loop, UV_RUN_DEFAULT);
    double sec = secs_since(t0);
    assert_int_equal(s.ends, 1);
    printf("read %-22s %7.0f MiB out in %6.3f s: %6.0f MB/s of output, %6.0f MB/s of file "
           "(%d chunks)\n",
           what, (double)s.bytes / 1048576, sec, (double)s.bytes / 1e6 / sec,
           (double)st.st_size / 1e6 / sec, s.chunks);
}

static void test_bench(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    char dir[UNIT_PATH_MAX], path[UNIT_PATH_MAX];
    unit_mkdtemp(dir);
    const char *file = getenv("BERTH_LOG_BENCH_FILE");
    const char *mb = getenv("BERTH_LOG_BENCH_MB");
    if (file && *file) {
        snprintf(path, sizeof(path), "%s", file);
    } else {
        unit_path(path, dir, "bench-json.log");
        bench_write(&loop, path, (size_t)(mb ? atoi(mb) : 32) << 20);
    }
    struct logread_opts o = {.show_stdout = true, .show_stderr = true, .tail = -1};
    bench_read(&loop, path, "(stdcopy)", &o);
    o.timestamps = true;
    bench_read(&loop, path, "(stdcopy, timestamps)", &o);
    o.timestamps = false;
    o.tty = true;
    bench_read(&loop, path, "(raw)", &o);
    o.show_stderr = false;
    bench_read(&loop, path, "(stdout only)", &o);
    o.show_stderr = true;
    o.tail = 100;
    bench_read(&loop, path, "(tail=100)", &o);
    unit_rm_rf(dir);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bench),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
