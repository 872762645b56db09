/* runtime/logfile.c: the json-file writer. Exact line bytes (escaping as
 * moby's jsonlog, UTF-8 repair, RFC3339Nano), moby's copier line splitting
 * (partial lines, 16 KiB pieces, per-stream buffers), backpressure and
 * drain, rotation, LogConfig validation, close and follower events. */
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

#include "common/timeutil.h"
#include "runtime/logfile.h"
#include "unit_helpers.h"

#define T0 1795514400000000000LL /* 2026-11-24T10:00:00Z */

/* ---- helpers ---- */

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

struct closed {
    int calls;
    int status;
};

static void done_cb(void *ud, int status)
{
    struct closed *c = ud;
    c->calls++;
    c->status = status;
}

static void close_and_run(uv_loop_t *loop, struct logw *w)
{
    struct closed c = {0};
    logw_close(w, done_cb, &c);
    assert_int_equal(uv_run(loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(c.calls, 1);
    assert_int_equal(c.status, 0);
}

static struct logw *open_in(uv_loop_t *loop, const char *dir, const struct logw_opts *opts,
                            char path[UNIT_PATH_MAX])
{
    struct logw_opts def;
    logw_opts_init(&def);
    unit_path(path, dir, "c-json.log");
    struct logw *w = NULL;
    struct berr err = {0};
    assert_int_equal(logw_open(loop, path, opts ? opts : &def, &w, &err), 0);
    return w;
}

/* ---- encoding ---- */

static void test_encode_basic(void **state)
{
    (void)state;
    char out[256];
    struct logfile__tscache tc = {0};
    size_t n = logfile__encode(out, LOGW_STDOUT, "hello", 5, true, T0 + 123456789, &tc);
    out[n] = '\0';
    assert_string_equal(out, "{\"log\":\"hello\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-24T10:"
                             "00:00.123456789Z\"}\n");
    n = logfile__encode(out, LOGW_STDERR, "x", 1, false, T0 + 120000000, &tc);
    out[n] = '\0';
    assert_string_equal(
        out, "{\"log\":\"x\",\"stream\":\"stderr\",\"time\":\"2026-11-24T10:00:00.12Z\"}\n");
    n = logfile__encode(out, LOGW_STDOUT, "", 0, true, T0, &tc);
    out[n] = '\0';
    assert_string_equal(
        out, "{\"log\":\"\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-24T10:00:00Z\"}\n");
}

static void check_escape(const char *in, size_t len, const char *want)
{
    char out[512];
    size_t n = logfile__escape(out, in, len);
    out[n] = '\0';
    assert_string_equal(out, want);
}

static void test_escape_like_moby(void **state)
{
    (void)state;
    check_escape("<a href=\"x\">&</a>", 17,
                 "\\u003ca href=\\\"x\\\"\\u003e\\u0026\\u003c/a\\u003e");
    check_escape("\t\r\\\x01\x1f\x7f", 6, "\\u0009\\r\\\\\\u0001\\u001f\x7f");
    check_escape("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3", 14,
                 "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3");
    check_escape("a\xe2\x80\xa8"
                 "b\xe2\x80\xa9",
                 8, "a\\u2028b\\u2029");
    /* Invalid UTF-8: every bad byte becomes one U+FFFD, as utf8.DecodeRune. */
    check_escape("\xff", 1, "\\ufffd");
    check_escape("\xe2\x82x", 3, "\\ufffd\\ufffdx");
    check_escape("\xc0\x80", 2, "\\ufffd\\ufffd");                       /* overlong */
    check_escape("\xed\xa0\x80", 3, "\\ufffd\\ufffd\\ufffd");            /* surrogate */
    check_escape("\xf4\x90\x80\x80", 4, "\\ufffd\\ufffd\\ufffd\\ufffd"); /* > U+10FFFF */
    check_escape("\xef\xbf\xbd", 3, "\xef\xbf\xbd");                     /* a real U+FFFD stays */
    check_escape("a\0b", 3, "a\\u0000b");
}

/* The escaper tests 8 bytes at a time: every byte value at every position
 * of a word (and of the bytewise tail) must still be found. */
static void test_escape_every_byte_every_position(void **state)
{
    (void)state;
    for (int b = 0; b < 256; b++) {
        char want_esc[8];
        if (b == '\n')
            strcpy(want_esc, "\\n");
        else if (b == '\r')
            strcpy(want_esc, "\\r");
        else if (b == '"' || b == '\\')
            snprintf(want_esc, sizeof(want_esc), "\\%c", b);
        else if (b < 0x20 || b == '<' || b == '>' || b == '&')
            snprintf(want_esc, sizeof(want_esc), "\\u%04x", b);
        else if (b >= 0x80)
            strcpy(want_esc, "\\ufffd"); /* a lone byte >= 0x80 is invalid UTF-8 */
        else
            snprintf(want_esc, sizeof(want_esc), "%c", b);
        for (size_t pos = 0; pos < 21; pos++) {
            char in[21], want[64], out[256];
            memset(in, 'a', sizeof(in));
            in[pos] = (char)b;
            snprintf(want, sizeof(want), "%.*s%s%.*s", (int)pos, in, want_esc,
                     (int)(sizeof(in) - pos - 1), in + pos + 1);
            size_t n = logfile__escape(out, in, sizeof(in));
            out[n] = '\0';
            assert_string_equal(out, want);
        }
    }
}

static void test_format_time(void **state)
{
    (void)state;
    char out[64];
    struct logfile__tscache tc = {0};
    size_t n = logfile__format_time(out, T0 + 100, &tc);
    out[n] = '\0';
    assert_string_equal(out, "2026-11-24T10:00:00.0000001Z");
    n = logfile__format_time(out, T0 + 1000000000LL + 500000000, &tc);
    out[n] = '\0';
    assert_string_equal(out, "2026-11-24T10:00:01.5Z");
    n = logfile__format_time(out, 0, &tc);
    out[n] = '\0';
    assert_string_equal(out, "1970-01-01T00:00:00Z");
}

/* ---- options ---- */

static void expect_opt_error(const char *key, const char *val, const char *msg)
{
    struct logw_opts o;
    struct berr err = {0};
    logw_opts_init(&o);
    assert_int_equal(logw_opts_set(&o, key, val, &err), -EINVAL);
    assert_int_equal(err.status, 400);
    assert_string_equal(err.msg, msg);
}

static void test_opts(void **state)
{
    (void)state;
    struct logw_opts o;
    struct berr err = {0};
    logw_opts_init(&o);
    assert_int_equal(o.max_size, -1);
    assert_int_equal(o.max_file, 1);
    assert_int_equal(logw_opts_set(&o, "max-size", "10m", &err), 0);
    assert_int_equal(o.max_size, 10000000);
    assert_int_equal(logw_opts_set(&o, "max-file", "3", &err), 0);
    assert_int_equal(o.max_file, 3);
    assert_int_equal(logw_opts_set(&o, "labels", "a,b", &err), 0);
    assert_int_equal(logw_opts_set(&o, "tag", "{{.Name}}", &err), 0);
    assert_int_equal(logw_opts_set(&o, "compress", "true", &err), 0);
    assert_int_equal(logw_opts_check(&o, &err), 0);

    static const struct {
        const char *s;
        int64_t v;
    } sizes[] = {{"1", 1},           {"1k", 1000},        {"1.5k", 1500},
                 {"10MB", 10000000}, {"2 g", 2000000000}, {"3mib", 3000000},
                 {"7b", 7},          {"1KiB", 1000}};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        int64_t v;
        assert_int_equal(logw_parse_size(sizes[i].s, &v), 0);
        assert_int_equal(v, sizes[i].v);
    }

    expect_opt_error("foo", "1", "unknown log opt 'foo' for json-file log driver");
    expect_opt_error("max-size", "1x", "invalid size: '1x'");
    expect_opt_error("max-size", "", "invalid size: ''");
    expect_opt_error("max-size", "-1", "invalid size: '-1'");
    expect_opt_error("max-size", "0", "max-size must be a positive number");
    expect_opt_error("max-file", "0", "max-file cannot be less than 1");
    expect_opt_error("max-file", "x", "strconv.Atoi: parsing \"x\": invalid syntax");
    expect_opt_error("compress", "maybe", "strconv.ParseBool: parsing \"maybe\": invalid syntax");

    logw_opts_init(&o);
    assert_int_equal(logw_opts_set(&o, "compress", "1", &err), 0);
    assert_int_equal(logw_opts_check(&o, &err), -EINVAL);
    assert_string_equal(err.msg, "compress cannot be true when max-file is less than 2 or max-size "
                                 "is not set");
    /* As moby: max-file alone is accepted (and rotates nothing). */
    logw_opts_init(&o);
    assert_int_equal(logw_opts_set(&o, "max-file", "5", &err), 0);
    assert_int_equal(logw_opts_check(&o, &err), 0);

    char *p;
    assert_int_equal(logw_path_for("/var/lib/berth/containers/abc", "abc", &p), 0);
    assert_string_equal(p, "/var/lib/berth/containers/abc/abc-json.log");
    free(p);
}

/* ---- writer ---- */

static void test_lines_and_partials(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    char dir[UNIT_PATH_MAX], path[UNIT_PATH_MAX];
    unit_mkdtemp(dir);
    struct logw *w = open_in(&loop, dir, NULL, path);
    assert_string_equal(logw_path(w), path);

    assert_int_equal(logw_write(w, LOGW_STDOUT, "hel", 3, T0 + 1), 0);
    assert_int_equal(logw_write(w, LOGW_STDERR, "oops ", 5, T0 + 2), 0);
    assert_int_equal(logw_write(w, LOGW_STDOUT, "lo\n<b>\n\nta", 10, T0 + 3), 0);
    assert_int_equal(logw_write(w, LOGW_STDERR, "\"x\"\n", 4, T0 + 4), 0);
    assert_int_equal(logw_flush_partial(w, LOGW_STDERR, T0 + 5), 0);
    assert_int_equal(logw_write(w, LOGW_STDERR, "\xff\n", 2, T0 + 6), 0);
    assert_int_equal(logw_write(w, 3, "x", 1, T0), -EINVAL);
    close_and_run(&loop, w); /* "ta" is flushed as a partial entry at close */

    size_t len;
    char *got = unit_read_file(path, &len);
    const char *want_prefix =
        "{\"log\":\"hello\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-24T10:00:00.000000003Z\"}\n"
        "{\"log\":\"\\u003cb\\u003e\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-24T10:00:00."
        "000000003Z\"}\n"
        "{\"log\":\"\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-24T10:00:00.000000003Z\"}\n"
        "{\"log\":\"oops \\\"x\\\"\\n\",\"stream\":\"stderr\",\"time\":\"2026-11-24T10:00:00."
        "000000004Z\"}\n"
        "{\"log\":\"\\ufffd\\n\",\"stream\":\"stderr\",\"time\":\"2026-11-24T10:00:00."
        "000000006Z\"}\n"
        "{\"log\":\"ta\",\"stream\":\"stdout\",\"time\":\"";
    assert_true(len > strlen(want_prefix));
    assert_memory_equal(got, want_prefix, strlen(want_prefix));
    assert_string_equal(got + len - 3, "\"}\n");
    free(got);
    unit_rm_rf(dir);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* A line reaching 16 KiB without a newline is cut there, as moby's copier
 * does; the pieces share the first piece's time; 16383 bytes + '\n' fit. */
static void test_long_line_split(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    char dir[UNIT_PATH_MAX], path[UNIT_PATH_MAX];
    unit_mkdtemp(dir);
    struct logw *w = open_in(&loop, dir, NULL, path);
    size_t big = LOGW_LINE_MAX * 2 + 10;
    char *data = malloc(big + 1);
    memset(data, 'a', big);
    data[big] = '\n';
    /* Fed in uneven pieces to cross the buffer boundary mid-chunk. */
    assert_int_equal(logw_write(w, LOGW_STDOUT, data, 5000, T0 + 1), 0);
    assert_int_equal(logw_write(w, LOGW_STDOUT, data + 5000, 20000, T0 + 2), 0);
    assert_int_equal(logw_write(w, LOGW_STDOUT, data + 25000, big + 1 - 25000, T0 + 3), 0);
    memset(data, 'b', LOGW_LINE_MAX - 1);
    data[LOGW_LINE_MAX - 1] = '\n';
    assert_int_equal(logw_write(w, LOGW_STDERR, data, LOGW_LINE_MAX, T0 + 4), 0);
    close_and_run(&loop, w);

    size_t len;
    char *got = unit_read_file(path, &len);
    char *lines[8];
    int n = 0;
    for (char *save = NULL, *l = strtok_r(got, "\n", &save); l && n < 8;
         l = strtok_r(NULL, "\n", &save))
        lines[n++] = l;
    assert_int_equal(n, 4);
    const char *tail1 = "\",\"stream\":\"stdout\",\"time\":\"2026-11-24T10:00:00.000000002Z\"}";
    for (int i = 0; i < 2; i++) {
        assert_int_equal(strlen(lines[i]), 8 + LOGW_LINE_MAX + strlen(tail1));
        assert_string_equal(lines[i] + 8 + LOGW_LINE_MAX, tail1);
    }
    assert_string_equal(lines[2],
                        "{\"log\":\"aaaaaaaaaa\\n\",\"stream\":\"stdout\",\"time\":\"2026-"
                        "11-24T10:00:00.000000002Z\"}");
    assert_int_equal(strlen(lines[3]), 8 + LOGW_LINE_MAX - 1 + 2 + strlen(tail1));
    free(got);
    free(data);
    unit_rm_rf(dir);
    assert_int_equal(uv_loop_close(&loop), 0);
}

struct drain_state {
    int drains;
    struct logw *w;
};

static void on_drain(struct logw *w, void *ud)
{
    struct drain_state *d = ud;
    assert_ptr_equal(w, d->w);
    d->drains++;
}

/* Without the loop running nothing reaches the disk: the writer must say
 * stop past the high-water mark, then drain once the batch is taken. */
static void test_backpressure_and_drain(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    char dir[UNIT_PATH_MAX], path[UNIT_PATH_MAX];
    unit_mkdtemp(dir);
    struct logw *w = open_in(&loop, dir, NULL, path);
    struct drain_state d = {.w = w};
    logw_set_drain(w, on_drain, &d);
    char line[100];
    memset(line, 'x', sizeof(line) - 1);
    line[sizeof(line) - 1] = '\n';
    int r = 0, writes = 0;
    while (r == 0 && writes < 100000) {
        r = logw_write(w, LOGW_STDOUT, line, sizeof(line), T0 + writes);
        writes++;
    }
    assert_int_equal(r, LOGW_FULL);
    assert_true(logw_buffered(w) >= LOGW_HIGH_WATER);
    assert_true(logw_buffered(w) < LOGW_HIGH_WATER + 4096);
    assert_int_equal(d.drains, 0);
    while (d.drains == 0)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(d.drains, 1);
    close_and_run(&loop, w);
    size_t len;
    char *got = unit_read_file(path, &len);
    size_t per = strlen("{\"log\":\"\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-24T10:00:00."
                        "000000001Z\"}\n") +
                 99;
    /* Fractions with trailing zeros are shorter: count lines instead. */
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += got[i] == '\n';
    assert_int_equal(lines, (size_t)writes);
    assert_true(len <= per * (size_t)writes);
    free(got);
    unit_rm_rf(dir);
    assert_int_equal(uv_loop_close(&loop), 0);
}

struct ev_log {
    int data, rotated, closed;
    int64_t last_size;
};

static void on_event(void *ud, const struct logw_event *ev)
{
    struct ev_log *l = ud;
    if (ev->type == LOGW_EV_DATA) {
        l->data++;
        l->last_size = ev->size;
    } else if (ev->type == LOGW_EV_ROTATED) {
        assert_true(ev->fd >= 0);
        l->rotated++;
    } else {
        l->closed++;
    }
}

static void write_numbered(uv_loop_t *loop, struct logw *w, int from, int to, bool run)
{
    for (int i = from; i < to; i++) {
        char line[128];
        int n = snprintf(line, sizeof(line), "line %06d %s\n", i,
                         "padding padding padding padding padding padding");
        logw_write(w, LOGW_STDOUT, line, (size_t)n, T0 + i);
        if (run && i % 7 == 0)
            uv_run(loop, UV_RUN_NOWAIT);
    }
}

/* Extracts the numbers of "line N" entries of a file, in order. */
static int collect_numbers(const char *path, int *out, int max)
{
    size_t len;
    char *got = unit_read_file(path, &len);
    int n = 0;
    for (char *p = got; p && (p = strstr(p, "line ")) && n < max; p += 5)
        out[n++] = atoi(p + 5);
    free(got);
    return n;
}

static void test_rotation(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    char dir[UNIT_PATH_MAX], path[UNIT_PATH_MAX], name[UNIT_PATH_MAX + 8];
    unit_mkdtemp(dir);
    struct logw_opts o;
    struct berr err = {0};
    logw_opts_init(&o);
    assert_int_equal(logw_opts_set(&o, "max-size", "2k", &err), 0);
    assert_int_equal(logw_opts_set(&o, "max-file", "3", &err), 0);
    struct logw *w = open_in(&loop, dir, &o, path);
    struct logw_sub sub;
    struct ev_log evl = {0};
    logw_subscribe(w, &sub, on_event, &evl);
    write_numbered(&loop, w, 0, 300, true);
    close_and_run(&loop, w);
    assert_true(evl.rotated >= 2);
    assert_int_equal(evl.closed, 1);

    snprintf(name, sizeof(name), "%s.3", path);
    assert_false(exists(name));
    int nums[400], total = 0;
    for (int i = 2; i >= 0; i--) {
        if (i)
            snprintf(name, sizeof(name), "%s.%d", path, i);
        else
            snprintf(name, sizeof(name), "%s", path);
        struct stat st;
        assert_int_equal(stat(name, &st), 0);
        if (i)
            assert_true(st.st_size >= 2000 && st.st_size < 2000 + 200);
        else
            assert_true(st.st_size > 0 && st.st_size < 2000 + 200);
        total += collect_numbers(name, nums + total, 400 - total);
    }
    /* The three files hold the newest lines, contiguous and in order. */
    assert_true(total > 30);
    assert_int_equal(nums[total - 1], 299);
    for (int i = 1; i < total; i++)
        assert_int_equal(nums[i], nums[i - 1] + 1);
    unit_rm_rf(dir);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_rotation_single_file(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    char dir[UNIT_PATH_MAX], path[UNIT_PATH_MAX], name[UNIT_PATH_MAX + 8];
    unit_mkdtemp(dir);
    struct logw_opts o;
    logw_opts_init(&o);
    o.max_size = 1000;
    struct logw *w = open_in(&loop, dir, &o, path);
    write_numbered(&loop, w, 0, 100, true);
    close_and_run(&loop, w);
    snprintf(name, sizeof(name), "%s.1", path);
    assert_false(exists(name));
    int nums[100];
    int n = collect_numbers(path, nums, 100);
    assert_true(n > 0 && n < 20);
    assert_int_equal(nums[n - 1], 99);
    unit_rm_rf(dir);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* A restarted container appends to its log; DATA events carry the size. */
static void test_reopen_appends_and_events(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    char dir[UNIT_PATH_MAX], path[UNIT_PATH_MAX];
    unit_mkdtemp(dir);
    for (int round = 0; round < 2; round++) {
        struct logw *w = open_in(&loop, dir, NULL, path);
        struct logw_sub sub;
        struct ev_log evl = {0};
        logw_subscribe(w, &sub, on_event, &evl);
        write_numbered(&loop, w, round * 10, round * 10 + 10, false);
        uv_run(&loop, UV_RUN_DEFAULT); /* written, writer still open */
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_true(evl.data >= 1);
        assert_int_equal(evl.last_size, st.st_size);
        assert_int_equal(evl.closed, 0);
        close_and_run(&loop, w);
        assert_int_equal(evl.closed, 1);
    }
    int nums[40];
    assert_int_equal(collect_numbers(path, nums, 40), 20);
    for (int i = 0; i < 20; i++)
        assert_int_equal(nums[i], i);
    unit_rm_rf(dir);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_open_error_kept(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct logw_opts o;
    logw_opts_init(&o);
    struct logw *w = NULL;
    struct berr err = {0};
    assert_int_equal(logw_open(&loop, "/nonexistent-dir/x/c-json.log", &o, &w, &err), 0);
    assert_int_equal(logw_write(w, LOGW_STDOUT, "a\n", 2, T0), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(logw_error(w), -ENOENT);
    struct closed c = {0};
    logw_close(w, done_cb, &c);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(c.calls, 1);
    assert_int_equal(c.status, -ENOENT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* Formatting and writing throughput (printed, never asserted). */
static void test_writer_throughput(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    char dir[UNIT_PATH_MAX], path[UNIT_PATH_MAX];
    unit_mkdtemp(dir);
    struct logw *w = open_in(&loop, dir, NULL, path);
    struct drain_state d = {.w = w};
    logw_set_drain(w, on_drain, &d);
    char chunk[65536];
    for (size_t i = 0; i < sizeof(chunk); i++)
        chunk[i] = (i % 80 == 79) ? '\n' : (char)('a' + i % 26);
    size_t total = 64u << 20, done = 0;
    int64_t t0 = time_now_ns();
    while (done < total) {
        if (logw_write(w, LOGW_STDOUT, chunk, sizeof(chunk), T0 + (int64_t)done) == LOGW_FULL) {
            int before = d.drains;
            while (d.drains == before)
                uv_run(&loop, UV_RUN_ONCE);
        }
        done += sizeof(chunk);
    }
    close_and_run(&loop, w);
    double secs = (double)(time_now_ns() - t0) / 1e9;
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    printf("writer: %zu MiB of 80-byte lines in %.3f s: %.0f MB/s input, %.0f MB/s to disk\n",
           total >> 20, secs, (double)total / 1e6 / secs, (double)st.st_size / 1e6 / secs);
    unit_rm_rf(dir);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_basic),
        cmocka_unit_test(test_escape_like_moby),
        cmocka_unit_test(test_escape_every_byte_every_position),
        cmocka_unit_test(test_format_time),
        cmocka_unit_test(test_opts),
        cmocka_unit_test(test_lines_and_partials),
        cmocka_unit_test(test_long_line_split),
        cmocka_unit_test(test_backpressure_and_drain),
        cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_rotation_single_file),
        cmocka_unit_test(test_reopen_appends_and_events),
        cmocka_unit_test(test_open_error_kept),
        cmocka_unit_test(test_writer_throughput),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
