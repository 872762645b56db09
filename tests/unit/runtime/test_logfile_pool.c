/* runtime/logfile*.c: the writer's pool half. The loop only hands over
 * raw chunks; the job splits, encodes and writes them. Batch and chunk
 * boundaries must not show in the output (nor when rotation stops a batch
 * inside a record), each chunk's time is formatted once yet a continued
 * partial line keeps its own, the caller's buffer is copied, and the raw
 * bytes held stay bounded under a flood that expands ~60-fold. */
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
#include "unit_helpers.h"

#define T0 1795514400000000000LL /* 2026-11-24T10:00:00Z */

/* ---- helpers ---- */

static void done_cb(void *ud, int status)
{
    int *st = ud;
    *st = status == 0 ? 1 : -1;
}

static void close_and_run(uv_loop_t *loop, struct logw *w)
{
    int st = 0;
    logw_close(w, done_cb, &st);
    assert_int_equal(uv_run(loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(st, 1);
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

/* ---- cases ---- */

/* Deterministic corpus: lines of assorted lengths (empty, short, around
 * and past the 16 KiB cut, with escapes and multi-byte UTF-8 that a cut
 * may split), all on stdout. */
static char *make_corpus(size_t *ret_len)
{
    struct buf b = BUF_INIT;
    static const size_t lens[] = {0, 1, 63, 200, 16383, 16384, 16385, 40000, 7, 3000};
    static const char alpha[] = "ab<c>&d\"e\\f\t\xc3\xa9g\xe2\x82\xac\xffh";
    uint32_t x = 12345;
    for (int rep = 0; rep < 12; rep++) {
        for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
            for (size_t k = 0; k < lens[i]; k++) {
                x = x * 1103515245u + 12345u;
                char c = alpha[(x >> 16) % (sizeof(alpha) - 1)];
                assert_int_equal(buf_append(&b, &c, 1), 0);
            }
            assert_int_equal(buf_append(&b, "\n", 1), 0);
        }
    }
    assert_int_equal(buf_append(&b, "tail without newline", 20), 0);
    *ret_len = b.len;
    return buf_steal(&b);
}

/* Feeds data in pseudo-random pieces, letting jobs run in between so that
 * batches end mid-line and mid-record; all at the same time T0. */
static void feed_chunked(uv_loop_t *loop, struct logw *w, const char *data, size_t len,
                         uint32_t seed)
{
    struct drain_state d = {.w = w};
    logw_set_drain(w, on_drain, &d);
    size_t off = 0;
    while (off < len) {
        seed = seed * 1103515245u + 12345u;
        size_t n = 1 + (seed >> 8) % 6000;
        if (n > len - off)
            n = len - off;
        int before = d.drains;
        if (logw_write(w, LOGW_STDOUT, data + off, n, T0) == LOGW_FULL)
            while (d.drains == before)
                uv_run(loop, UV_RUN_ONCE);
        if ((seed >> 4) % 3 == 0)
            uv_run(loop, UV_RUN_NOWAIT);
        off += n;
    }
    assert_int_equal(logw_flush_partial(w, LOGW_STDOUT, T0) >= 0, 1);
}

/* The file made from one big chunk (the reference). */
static char *reference_log(uv_loop_t *loop, const char *dir, const char *data, size_t len,
                           size_t *ret_len)
{
    char path[UNIT_PATH_MAX];
    struct logw_opts o;
    logw_opts_init(&o);
    struct logw *w = NULL;
    struct berr err = {0};
    unit_path(path, dir, "ref-json.log");
    assert_int_equal(logw_open(loop, path, &o, &w, &err), 0);
    assert_true(logw_write(w, LOGW_STDOUT, data, len, T0) >= 0);
    assert_true(logw_flush_partial(w, LOGW_STDOUT, T0) >= 0);
    close_and_run(loop, w);
    return unit_read_file(path, ret_len);
}

static void test_chunking_invisible(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    char dir[UNIT_PATH_MAX], path[UNIT_PATH_MAX];
    unit_mkdtemp(dir);
    size_t clen, rlen, glen;
    char *corpus = make_corpus(&clen);
    char *ref = reference_log(&loop, dir, corpus, clen, &rlen);
    assert_true(rlen > clen);
    for (uint32_t seed = 1; seed <= 3; seed++) {
        struct logw *w = open_in(&loop, dir, NULL, path);
        feed_chunked(&loop, w, corpus, clen, seed);
        close_and_run(&loop, w);
        char *got = unit_read_file(path, &glen);
        assert_int_equal(glen, rlen);
        assert_memory_equal(got, ref, rlen);
        free(got);
        assert_int_equal(unlink(path), 0);
    }
    free(ref);
    free(corpus);
    unit_rm_rf(dir);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* Rotation stops a batch between two entries of one record and resumes
 * there in the next job: nothing is lost, repeated or cut, and every file
 * holds entries up to the first that reaches max-size. */
static void test_rotation_mid_record(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    char dir[UNIT_PATH_MAX], path[UNIT_PATH_MAX], name[UNIT_PATH_MAX + 16];
    unit_mkdtemp(dir);
    size_t clen, rlen;
    char *corpus = make_corpus(&clen);
    char *ref = reference_log(&loop, dir, corpus, clen, &rlen);
    struct logw_opts o;
    logw_opts_init(&o);
    o.max_size = 60000;
    o.max_file = 100;
    struct logw *w = open_in(&loop, dir, &o, path);
    /* One record holding everything: rotation must cut inside it. */
    assert_true(logw_write(w, LOGW_STDOUT, corpus, clen, T0) >= 0);
    assert_true(logw_flush_partial(w, LOGW_STDOUT, T0) >= 0);
    close_and_run(&loop, w);
    struct buf all = BUF_INIT;
    int files = 0;
    for (int i = o.max_file - 1; i >= 0; i--) {
        if (i)
            snprintf(name, sizeof(name), "%s.%d", path, i);
        else
            snprintf(name, sizeof(name), "%s", path);
        size_t len;
        char *got = unit_read_file(name, &len);
        if (!got)
            continue;
        files++;
        assert_true(len > 0 && got[len - 1] == '\n');
        if (i) {
            /* The last entry is the one that reached max-size. */
            const char *last = memrchr(got, '\n', len - 1);
            size_t before_last = last ? (size_t)(last - got) + 1 : 0;
            assert_true(len >= (size_t)o.max_size);
            assert_true(before_last < (size_t)o.max_size);
        }
        assert_int_equal(buf_append(&all, got, len), 0);
        free(got);
    }
    assert_true(files > 5);
    assert_int_equal(all.len, rlen);
    assert_memory_equal(all.data, ref, rlen);
    buf_done(&all);
    free(ref);
    free(corpus);
    unit_rm_rf(dir);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* Each chunk's time is formatted once and reused, but a line continued
 * from a partial entry keeps its first piece's time within a later chunk. */
static void test_chunk_time_and_partial_time(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    char dir[UNIT_PATH_MAX], path[UNIT_PATH_MAX];
    unit_mkdtemp(dir);
    struct logw *w = open_in(&loop, dir, NULL, path);
    char *big = malloc(LOGW_LINE_MAX);
    memset(big, 'a', LOGW_LINE_MAX);
    assert_int_equal(logw_write(w, LOGW_STDOUT, "x\ny\n", 4, T0 + 5), 0);
    assert_int_equal(logw_write(w, LOGW_STDOUT, big, LOGW_LINE_MAX, T0 + 1000), 0);
    assert_int_equal(logw_write(w, LOGW_STDOUT, "bb\ncc\ndd\n", 9, T0 + 2000), 0);
    close_and_run(&loop, w);
    size_t len;
    char *got = unit_read_file(path, &len);
    const char *tail = strstr(got, "\"}\n{\"log\":\"bb");
    assert_non_null(tail);
    assert_string_equal(
        tail + 3,
        "{\"log\":\"bb\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-24T10:00:00.000001Z\"}\n"
        "{\"log\":\"cc\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-24T10:00:00.000002Z\"}\n"
        "{\"log\":\"dd\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-24T10:00:00.000002Z\"}\n");
    const char *head =
        "{\"log\":\"x\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-24T10:00:00.000000005Z\"}\n"
        "{\"log\":\"y\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-24T10:00:00.000000005Z\"}\n"
        "{\"log\":\"aaa";
    assert_memory_equal(got, head, strlen(head));
    free(got);
    free(big);
    unit_rm_rf(dir);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* logw_write copies the raw bytes and encodes nothing: the caller's buffer
 * (libuv's read buffer) is reused at once, and the backpressure counts the
 * raw bytes, not their up to 6-fold JSON expansion. */
static void test_takes_raw_copy(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    char dir[UNIT_PATH_MAX], path[UNIT_PATH_MAX];
    unit_mkdtemp(dir);
    struct logw *w = open_in(&loop, dir, NULL, path);
    char chunk[4] = "<&\n";
    size_t raw = 0;
    for (int i = 0; i < 2000; i++) {
        assert_int_equal(logw_write(w, LOGW_STDERR, chunk, 3, T0), 0);
        raw += 3;
    }
    /* Raw bytes plus a small header per chunk; encoded would be >= 70 each. */
    assert_true(logw_buffered(w) >= raw);
    assert_true(logw_buffered(w) <= raw + 2000 * 32);
    memcpy(chunk, "zz\n", 3); /* the caller reuses its buffer */
    close_and_run(&loop, w);
    size_t len;
    char *got = unit_read_file(path, &len);
    const char *line =
        "{\"log\":\"\\u003c\\u0026\\n\",\"stream\":\"stderr\",\"time\":\"2026-11-24T10:00:00Z\"}\n";
    assert_int_equal(len, 2000 * strlen(line));
    for (size_t i = 0; i < 2000; i++)
        assert_memory_equal(got + i * strlen(line), line, strlen(line));
    free(got);
    unit_rm_rf(dir);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* A flood of empty lines expands ~60-fold: the job encodes and writes it in
 * pieces, and the raw bytes held stay bounded by the high-water mark. */
static void test_expanding_flood(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    char dir[UNIT_PATH_MAX], path[UNIT_PATH_MAX];
    unit_mkdtemp(dir);
    struct logw *w = open_in(&loop, dir, NULL, path);
    struct drain_state d = {.w = w};
    logw_set_drain(w, on_drain, &d);
    static char nl[65536];
    memset(nl, '\n', sizeof(nl));
    for (int i = 0; i < 20; i++) {
        int before = d.drains;
        if (logw_write(w, LOGW_STDOUT, nl, sizeof(nl), T0) == LOGW_FULL)
            while (d.drains == before)
                uv_run(&loop, UV_RUN_ONCE);
        /* pending and the batch in flight: each at most one chunk past the mark */
        assert_true(logw_buffered(w) <= 2 * (LOGW_HIGH_WATER + sizeof(nl) + 64));
    }
    assert_true(d.drains >= 1); /* 1.25 MiB raw: the writer did push back */
    close_and_run(&loop, w);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    const char *line =
        "{\"log\":\"\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-24T10:00:00Z\"}\n";
    assert_int_equal(st.st_size, (off_t)(20 * sizeof(nl) * strlen(line)));
    unit_rm_rf(dir);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunking_invisible),
        cmocka_unit_test(test_rotation_mid_record),
        cmocka_unit_test(test_chunk_time_and_partial_time),
        cmocka_unit_test(test_takes_raw_copy),
        cmocka_unit_test(test_expanding_flood),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
