/* runtime/logread*.c: the json-file reader. The line scanner (fast and
 * generic paths, malformed input), query parsing, exact stdcopy and raw
 * output with and without timestamps, stream/since/until/tail selection
 * across rotated files, hand-written files, follow (new data, rotation,
 * writer close), backpressure and cancellation. */
#include <errno.h>
#include <fcntl.h>
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

#include "common/buf.h"
#include "runtime/logfile.h"
#include "runtime/logread.h"
#include "unit_helpers.h"

#define T0  1795514400000000000LL /* 2026-11-24T10:00:00Z */
#define SEC 1000000000LL

/* ---- scanner ---- */

static void expect_line(const char *line, int stream, const char *log, int64_t ts)
{
    char dst[512];
    struct logread__entry e;
    assert_int_equal(logread__parse_line(line, strlen(line), dst, true, &e), 0);
    assert_int_equal(e.stream, stream);
    assert_true(e.has_log);
    assert_int_equal(e.log_len, strlen(log));
    assert_memory_equal(dst, log, e.log_len);
    assert_int_equal(e.ts, ts);
}

static void expect_bad_line(const char *line)
{
    char dst[512];
    struct logread__entry e;
    assert_int_equal(logread__parse_line(line, strlen(line), dst, true, &e), -EINVAL);
}

static void test_parse_line(void **state)
{
    (void)state;
    expect_line("{\"log\":\"hi\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-24T10:00:00.5Z\"}", 1,
                "hi\n", T0 + SEC / 2);
    expect_line("{\"log\":\"\\u003cb\\u003e \\\"q\\\" \\\\ \\/ \\t\\r\\b\\f\\u00e9\\ud83d\\udc33"
                "\\ud800x\",\"stream\":\"stderr\",\"time\":\"2026-11-24T10:00:00Z\"}",
                2, "<b> \"q\" \\ / \t\r\b\f\xc3\xa9\xf0\x9f\x90\xb3\xef\xbf\xbdx", T0);
    /* Other key orders, attrs, spaces and offsets take the generic path. */
    expect_line("{\"time\":\"2026-11-24T11:00:00.000000001+01:00\",\"stream\":\"stdout\","
                "\"log\":\"x\"}",
                1, "x", T0 + 1);
    expect_line(
        "{\"log\":\"a\",\"stream\":\"stderr\",\"attrs\":{\"tag\":\"t\",\"n\":[1,{\"}\":2}]},"
        "\"time\":\"2026-11-24T10:00:00Z\"}",
        2, "a", T0);
    expect_line(" { \"stream\" : \"stdout\" , \"extra\" : null , \"log\" : \"y\\n\" , \"time\" : "
                "\"2026-11-24T10:00:01Z\" } ",
                1, "y\n", T0 + SEC);
    expect_line("{\"log\":\"z\",\"stream\":\"other\",\"time\":\"2026-11-24T10:00:00Z\"}", 0, "z",
                T0);
    expect_bad_line("");
    expect_bad_line("garbage");
    expect_bad_line("{\"log\":\"unterminated");
    expect_bad_line("{\"log\":\"a\",\"stream\":\"stdout\",\"time\":\"yesterday\"}");
    expect_bad_line(
        "{\"log\":\"bad \\x escape\",\"stream\":\"stdout\",\"time\":\"2026-11-24T10:00:00Z\"}");
    expect_bad_line("{\"log\":\"a\",\"stream\":\"stdout\",\"time\":\"2026-11-24T10:00:00Z\"");
    expect_bad_line("{\"log\":\"a\"} trailing");
}

static void test_parse_query_values(void **state)
{
    (void)state;
    int64_t ns;
    assert_int_equal(logread_parse_time("1700000000", &ns), 0);
    assert_int_equal(ns, 1700000000 * SEC);
    assert_int_equal(logread_parse_time("1700000000.5", &ns), 0);
    assert_int_equal(ns, 1700000000 * SEC + SEC / 2);
    assert_int_equal(logread_parse_time("1700000000.000000001", &ns), 0);
    assert_int_equal(ns, 1700000000 * SEC + 1);
    assert_int_equal(logread_parse_time("2026-11-24T10:00:00.123456789Z", &ns), 0);
    assert_int_equal(ns, T0 + 123456789);
    assert_int_equal(logread_parse_time("2026-11-24T12:30:00+02:30", &ns), 0);
    assert_int_equal(ns, T0);
    assert_int_equal(logread_parse_time("", &ns), 0);
    assert_int_equal(ns, 0);
    assert_int_equal(logread_parse_time("abc", &ns), -EINVAL);
    assert_int_equal(logread_parse_time("1.2.3", &ns), -EINVAL);
    assert_int_equal(logread_parse_time("1700000000.1234567890", &ns), -EINVAL);
    assert_int_equal(logread_parse_time("2026-11-24T10:00:00", &ns), -EINVAL);

    assert_int_equal(logread_parse_tail("all"), -1);
    assert_int_equal(logread_parse_tail(""), -1);
    assert_int_equal(logread_parse_tail("-3"), -1);
    assert_int_equal(logread_parse_tail("x1"), -1);
    assert_int_equal(logread_parse_tail("0"), 0);
    assert_int_equal(logread_parse_tail("25"), 25);

    struct logread_opts o = {0};
    struct berr err = {0};
    assert_int_equal(logread_check_opts(&o, &err), -EINVAL);
    assert_int_equal(err.status, 400);
    assert_string_equal(err.msg, "You must choose at least one stream");
    o.show_stderr = true;
    assert_int_equal(logread_check_opts(&o, &err), 0);

    char ts[LOGREAD__TS_LEN + 1] = {0};
    struct logread__tscache tc = {0};
    logread__format_fixed(ts, T0 + 120000000, &tc);
    assert_string_equal(ts, "2026-11-24T10:00:00.120000000Z");
    logread__format_fixed(ts, 951782400LL * SEC + 7, &tc); /* leap day 2000 */
    assert_string_equal(ts, "2000-02-29T00:00:00.000000007Z");
    logread__format_fixed(ts, 0, &tc);
    assert_string_equal(ts, "1970-01-01T00:00:00.000000000Z");
}

/* ---- helpers driving a loop ---- */

struct rd {
    struct buf out;
    int chunks, ends, status;
    size_t max_chunk;
    bool manual; /* the test calls logread_next itself */
    size_t cancel_at;
    struct logread *r;
};

static void rd_chunk(void *ud, char *data, size_t len)
{
    struct rd *rd = ud;
    assert_int_equal(rd->ends, 0);
    assert_int_equal(buf_append(&rd->out, data, len), 0);
    free(data);
    rd->chunks++;
    if (len > rd->max_chunk)
        rd->max_chunk = len;
    if (rd->cancel_at && rd->out.len >= rd->cancel_at) {
        logread_cancel(rd->r);
        return;
    }
    if (!rd->manual)
        logread_next(rd->r);
}

static void rd_end(void *ud, int status)
{
    struct rd *rd = ud;
    rd->ends++;
    rd->status = status;
}

static struct logread *rd_start(uv_loop_t *loop, const struct logread_opts *o, const char *path,
                                struct logw *w, struct rd *rd)
{
    rd->r = logread_start(loop, o, path, w, rd_chunk, rd_end, rd);
    assert_non_null(rd->r);
    return rd->r;
}

static void read_all(uv_loop_t *loop, const struct logread_opts *o, const char *path, struct rd *rd)
{
    rd_start(loop, o, path, NULL, rd);
    assert_int_equal(uv_run(loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(rd->ends, 1);
    assert_int_equal(rd->status, 0);
}

static void done_cb(void *ud, int status)
{
    (void)status;
    *(int *)ud += 1;
}

static struct logw *writer_open(uv_loop_t *loop, const char *path, int64_t max_size, int max_file)
{
    struct logw_opts wo;
    logw_opts_init(&wo);
    wo.max_size = max_size;
    wo.max_file = max_file;
    struct logw *w;
    struct berr err = {0};
    assert_int_equal(logw_open(loop, path, &wo, &w, &err), 0);
    return w;
}

static void writer_close(uv_loop_t *loop, struct logw *w)
{
    int done = 0;
    logw_close(w, done_cb, &done);
    while (!done)
        uv_run(loop, UV_RUN_ONCE);
}

static void write_lines(struct logw *w, int from, int to, int64_t step)
{
    for (int i = from; i < to; i++) {
        char line[64];
        int n = snprintf(line, sizeof(line), "line %06d\n", i);
        logw_write(w, i % 3 == 2 ? LOGW_STDERR : LOGW_STDOUT, line, (size_t)n, T0 + i * step);
    }
}

/* Numbers of "line N" in raw output, in order. */
static int numbers(const struct buf *b, int *out, int max)
{
    int n = 0;
    for (const char *p = b->data; p && (p = strstr(p, "line ")) && n < max; p += 5)
        out[n++] = atoi(p + 5);
    return n;
}

static void assert_contiguous(const struct buf *b, int first, int last)
{
    int max = last - first + 2;
    int *nums = calloc((size_t)max, sizeof(int));
    int n = numbers(b, nums, max);
    assert_int_equal(n, last - first + 1);
    for (int i = 0; i < n; i++)
        assert_int_equal(nums[i], first + i);
    free(nums);
}

struct fixture {
    uv_loop_t loop;
    char dir[UNIT_PATH_MAX];
    char path[UNIT_PATH_MAX];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    uv_loop_init(&f->loop);
    unit_mkdtemp(f->dir);
    unit_path(f->path, f->dir, "c-json.log");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    unit_rm_rf(f->dir);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    free(f);
    return 0;
}

static struct logread_opts both(void)
{
    struct logread_opts o = {.show_stdout = true, .show_stderr = true, .tail = -1};
    return o;
}

/* ---- reading ---- */

static void test_stdcopy_and_raw_exact(void **state)
{
    struct fixture *f = *state;
    struct logw *w = writer_open(&f->loop, f->path, -1, 1);
    logw_write(w, LOGW_STDOUT, "a\n", 2, T0 + 1);
    logw_write(w, LOGW_STDERR, "bb\n", 3, T0 + 2);
    logw_write(w, LOGW_STDOUT, "part", 4, T0 + 3);
    logw_flush_partial(w, LOGW_STDOUT, T0 + 3);
    writer_close(&f->loop, w);

    struct logread_opts o = both();
    struct rd rd = {0};
    read_all(&f->loop, &o, f->path, &rd);
    static const char mux[] = "\x01\0\0\0\0\0\0\x02"
                              "a\n"
                              "\x02\0\0\0\0\0\0\x03"
                              "bb\n"
                              "\x01\0\0\0\0\0\0\x04"
                              "part";
    assert_int_equal(rd.out.len, sizeof(mux) - 1);
    assert_memory_equal(rd.out.data, mux, sizeof(mux) - 1);
    buf_done(&rd.out);

    o.timestamps = true;
    o.show_stdout = false;
    rd = (struct rd){0};
    read_all(&f->loop, &o, f->path, &rd);
    static const char ts[] = "\x02\0\0\0\0\0\0\x22"
                             "2026-11-24T10:00:00.000000002Z bb\n";
    assert_int_equal(rd.out.len, sizeof(ts) - 1);
    assert_memory_equal(rd.out.data, ts, sizeof(ts) - 1);
    buf_done(&rd.out);

    o = both();
    o.tty = true;
    o.timestamps = true;
    rd = (struct rd){0};
    read_all(&f->loop, &o, f->path, &rd);
    assert_string_equal(rd.out.data, "2026-11-24T10:00:00.000000001Z a\n"
                                     "2026-11-24T10:00:00.000000002Z bb\n"
                                     "2026-11-24T10:00:00.000000003Z part");
    buf_done(&rd.out);
}

static void test_since_until(void **state)
{
    struct fixture *f = *state;
    struct logw *w = writer_open(&f->loop, f->path, -1, 1);
    write_lines(w, 0, 10, SEC);
    writer_close(&f->loop, w);
    struct logread_opts o = both();
    o.tty = true;
    o.since_ns = T0 + 3 * SEC;
    o.until_ns = T0 + 6 * SEC;
    struct rd rd = {0};
    read_all(&f->loop, &o, f->path, &rd);
    assert_contiguous(&rd.out, 3, 6);
    buf_done(&rd.out);
}

static void test_missing_file_is_empty(void **state)
{
    struct fixture *f = *state;
    struct logread_opts o = both();
    o.follow = true; /* no writer: ends at EOF */
    struct rd rd = {0};
    read_all(&f->loop, &o, f->path, &rd);
    assert_int_equal(rd.chunks, 0);
    assert_int_equal(rd.out.len, 0);
}

/* Rotated files are read oldest first; tail counts lines across them. */
static void test_rotated_files_and_tail(void **state)
{
    struct fixture *f = *state;
    struct logw *w = writer_open(&f->loop, f->path, 2000, 5);
    for (int i = 0; i < 300; i += 10) {
        write_lines(w, i, i + 10, 1);
        uv_run(&f->loop, UV_RUN_NOWAIT);
    }
    writer_close(&f->loop, w);
    char name[UNIT_PATH_MAX + 8];
    snprintf(name, sizeof(name), "%s.4", f->path);
    assert_int_equal(access(name, F_OK), 0);

    struct logread_opts o = both();
    o.tty = true;
    struct rd rd = {0};
    read_all(&f->loop, &o, f->path, &rd);
    int nums[400];
    int n = numbers(&rd.out, nums, 400);
    assert_true(n > 60);
    assert_contiguous(&rd.out, 300 - n, 299);
    buf_done(&rd.out);

    static const int64_t tails[] = {0, 1, 7, 50, 100000};
    for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
        o.tail = tails[i];
        rd = (struct rd){0};
        read_all(&f->loop, &o, f->path, &rd);
        int want = tails[i] < n ? (int)tails[i] : n;
        if (want)
            assert_contiguous(&rd.out, 300 - want, 299);
        else
            assert_int_equal(rd.out.len, 0);
        buf_done(&rd.out);
    }
    /* tail counts every stream; the stream filter applies afterwards. */
    o.tail = 3;
    o.show_stderr = false;
    rd = (struct rd){0};
    read_all(&f->loop, &o, f->path, &rd);
    assert_int_equal(numbers(&rd.out, nums, 400), 2);
    assert_int_equal(nums[0], 297);
    assert_int_equal(nums[1], 298);
    buf_done(&rd.out);
}

/* Files written by others: any key order, malformed lines skipped, a
 * truncated last line (crash mid-write) ignored, in rotated files too. */
static void test_hand_written_files(void **state)
{
    struct fixture *f = *state;
    char name[UNIT_PATH_MAX + 8];
    snprintf(name, sizeof(name), "%s.1", f->path);
    unit_write_file(name,
                    "{\"log\":\"old\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-24T09:00:00Z\"}\n"
                    "{\"log\":\"cut in the mid");
    unit_write_file(f->path,
                    "{\"stream\":\"stderr\",\"time\":\"2026-11-24T10:00:00Z\",\"log\":\"one\\n\"}\n"
                    "not json at all\n"
                    "\n"
                    "{\"log\":\"two\\n\",\"stream\":\"stdout\",\"attrs\":{\"tag\":\"x\"},\"time\":"
                    "\"2026-11-24T10:00:01Z\"}\n"
                    "{\"log\":\"bad time\\n\",\"stream\":\"stdout\",\"time\":\"noon\"}\n"
                    "{\"log\":\"three\",\"stream\":\"stdout\",\"time\":\"2026-11-24T10:00:02Z\"}\n"
                    "{\"log\":\"trunc");
    struct logread_opts o = both();
    o.tty = true;
    struct rd rd = {0};
    read_all(&f->loop, &o, f->path, &rd);
    assert_string_equal(rd.out.data, "old\none\ntwo\nthree");
    buf_done(&rd.out);

    o.tail = 2;
    rd = (struct rd){0};
    read_all(&f->loop, &o, f->path, &rd);
    assert_string_equal(rd.out.data, "three"); /* the bad line counts, then is skipped */
    buf_done(&rd.out);

    o.timestamps = true;
    rd = (struct rd){0};
    read_all(&f->loop, &o, f->path, &rd);
    assert_string_equal(rd.out.data, "2026-11-24T10:00:02.000000000Z three");
    buf_done(&rd.out);
}

/* The consumer paces the reader: nothing is read until it asks. */
static void test_backpressure_one_chunk(void **state)
{
    struct fixture *f = *state;
    struct logw *w = writer_open(&f->loop, f->path, -1, 1);
    write_lines(w, 0, 20000, 1);
    writer_close(&f->loop, w);
    struct logread_opts o = both();
    o.tty = true;
    o.chunk_size = 4096;
    struct rd rd = {.manual = true};
    rd_start(&f->loop, &o, f->path, NULL, &rd);
    uv_run(&f->loop, UV_RUN_DEFAULT); /* returns: nothing in flight */
    assert_int_equal(rd.chunks, 1);
    assert_true(rd.max_chunk >= 4096 && rd.max_chunk < 4096 + 16);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(rd.chunks, 1);
    while (rd.ends == 0) {
        int before = rd.chunks;
        logread_next(rd.r);
        uv_run(&f->loop, UV_RUN_DEFAULT);
        assert_true(rd.chunks == before + 1 || rd.ends == 1);
    }
    assert_contiguous(&rd.out, 0, 19999);
    buf_done(&rd.out);
}

static void test_cancel(void **state)
{
    struct fixture *f = *state;
    struct logw *w = writer_open(&f->loop, f->path, -1, 1);
    write_lines(w, 0, 50000, 1);
    writer_close(&f->loop, w);
    struct logread_opts o = both();

    /* Inside the first chunk callback. */
    struct rd rd = {.cancel_at = 1};
    rd_start(&f->loop, &o, f->path, NULL, &rd);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(rd.chunks, 1);
    assert_int_equal(rd.ends, 0);
    buf_done(&rd.out);

    /* With the first job in flight. */
    rd = (struct rd){0};
    logread_cancel(rd_start(&f->loop, &o, f->path, NULL, &rd));
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(rd.chunks, 0);
    assert_int_equal(rd.ends, 0);

    /* Between chunks, while the consumer holds one. */
    rd = (struct rd){.manual = true};
    rd_start(&f->loop, &o, f->path, NULL, &rd);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    logread_next(rd.r);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    logread_cancel(rd.r);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(rd.chunks, 2);
    assert_int_equal(rd.ends, 0);
    buf_done(&rd.out);
}

/* ---- follow ---- */

struct feeder {
    uv_timer_t timer;
    struct logw *w;
    int step, steps, per_step;
    bool closed;
};

static void feed_cb(uv_timer_t *t)
{
    struct feeder *fd = t->data;
    if (fd->step < fd->steps) {
        write_lines(fd->w, fd->step * fd->per_step, (fd->step + 1) * fd->per_step, 1);
        fd->step++;
        return;
    }
    logw_close(fd->w, NULL, NULL);
    fd->closed = true;
    uv_timer_stop(t);
    uv_close((uv_handle_t *)t, NULL);
}

static void follow_case(struct fixture *f, int64_t max_size, int max_file, int64_t tail)
{
    struct logw *w = writer_open(&f->loop, f->path, max_size, max_file);
    write_lines(w, 0, 50, 1);
    uv_run(&f->loop, UV_RUN_DEFAULT); /* on disk before the reader starts */
    struct logread_opts o = both();
    o.follow = true;
    o.tty = true;
    o.tail = tail;
    struct rd rd = {0};
    rd_start(&f->loop, &o, f->path, w, &rd);
    struct feeder fd = {.w = w, .steps = 20, .per_step = 37};
    fd.step = 2; /* lines 0..73 exist already: 50 written plus the ones below */
    write_lines(w, 50, 74, 1);
    uv_timer_init(&f->loop, &fd.timer);
    fd.timer.data = &fd;
    uv_timer_start(&fd.timer, feed_cb, 2, 2);
    assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
    assert_true(fd.closed);
    assert_int_equal(rd.ends, 1);
    assert_int_equal(rd.status, 0);
    int last = fd.steps * fd.per_step - 1;
    if (tail >= 0)
        assert_contiguous(&rd.out, 50 - (int)tail, last);
    else if (max_size < 0)
        assert_contiguous(&rd.out, 0, last);
    else
        assert_contiguous(&rd.out, last + 1 - numbers(&rd.out, (int[4096]){0}, 4096), last);
    buf_done(&rd.out);
}

static void test_follow(void **state)
{
    follow_case(*state, -1, 1, -1);
}

static void test_follow_tail(void **state)
{
    follow_case(*state, -1, 1, 5);
}

/* Rotations while following: nothing lost or repeated, even with one file
 * (the writer starts a new inode, the reader finishes the old one). */
static void test_follow_across_rotation(void **state)
{
    follow_case(*state, 100000, 3, -1);
}

static void test_follow_across_rotation_one_file(void **state)
{
    follow_case(*state, 3000, 1, 5);
}

/* A follower cancelled while waiting for the writer: no callbacks later. */
static void test_cancel_while_following(void **state)
{
    struct fixture *f = *state;
    struct logw *w = writer_open(&f->loop, f->path, -1, 1);
    write_lines(w, 0, 10, 1);
    struct logread_opts o = both();
    o.follow = true;
    struct rd rd = {0};
    rd_start(&f->loop, &o, f->path, w, &rd);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(rd.ends, 0);
    assert_true(rd.chunks >= 1);
    logread_cancel(rd.r);
    write_lines(w, 10, 20, 1);
    writer_close(&f->loop, w);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(rd.ends, 0);
    buf_done(&rd.out);
}

/* Without follow a reader of a live log stops at what was written when it
 * started, and a writer closing mid-read does not disturb it. */
static void test_live_writer_no_follow(void **state)
{
    struct fixture *f = *state;
    struct logw *w = writer_open(&f->loop, f->path, -1, 1);
    write_lines(w, 0, 100, 1);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    struct logread_opts o = both();
    o.tty = true;
    struct rd rd = {.manual = true};
    rd_start(&f->loop, &o, f->path, w, &rd);
    write_lines(w, 100, 200, 1);
    writer_close(&f->loop, w);
    while (rd.ends == 0) {
        uv_run(&f->loop, UV_RUN_DEFAULT);
        if (rd.ends == 0)
            logread_next(rd.r);
    }
    /* The end may come inside writer_close's last UV_RUN_ONCE: the reader's
     * fds are then still being closed on the pool. */
    assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
    int nums[400];
    int n = numbers(&rd.out, nums, 400);
    assert_true(n >= 100 && n <= 200);
    assert_contiguous(&rd.out, 0, n - 1);
    buf_done(&rd.out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_line),
        cmocka_unit_test(test_parse_query_values),
        cmocka_unit_test_setup_teardown(test_stdcopy_and_raw_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_since_until, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_file_is_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotated_files_and_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hand_written_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backpressure_one_chunk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_follow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_follow_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_follow_across_rotation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_follow_across_rotation_one_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_while_following, setup, teardown),
        cmocka_unit_test_setup_teardown(test_live_writer_no_follow, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
