/* runtime/logfile*.c and logread*.c: no log-file fd is closed on the loop
 * thread. A follower's fd is often the last one of a file rotation has
 * unlinked, and that close() frees the page cache (a 6-33 ms stall), so
 * every such close must run on the libuv pool.
 *
 * This test defines close() itself: the static berth libraries linked in
 * call this one, which records which thread closed an fd that names a file
 * in the test directory, then closes it with the raw syscall. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/buf.h"
#include "runtime/logfile.h"
#include "runtime/logread.h"
#include "unit_helpers.h"

#define T0 1795514400000000000LL /* 2026-11-24T10:00:00Z */

static char g_dir[UNIT_PATH_MAX + 1]; /* "<dir>/" while a test runs */
static pthread_t g_loop_thread;
static atomic_int g_loop_closes, g_pool_closes;

static bool names_test_file(int fd)
{
    char link[64], target[UNIT_PATH_MAX + 64];
    if (!g_dir[0])
        return false;
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof(target) - 1);
    if (n <= 0)
        return false;
    target[n] = '\0';
    return strncmp(target, g_dir, strlen(g_dir)) == 0;
}

int close(int fd)
{
    if (names_test_file(fd)) {
        if (pthread_equal(pthread_self(), g_loop_thread))
            atomic_fetch_add(&g_loop_closes, 1);
        else
            atomic_fetch_add(&g_pool_closes, 1);
    }
    return (int)syscall(SYS_close, fd);
}

/* fds of this process that still name a file of the test directory. */
static int open_test_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        int fd = atoi(e->d_name);
        if (e->d_name[0] != '.' && fd != dirfd(d) && names_test_file(fd))
            n++;
    }
    closedir(d);
    return n;
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
    snprintf(g_dir, sizeof(g_dir), "%s/", f->dir);
    g_loop_thread = pthread_self();
    atomic_store(&g_loop_closes, 0);
    atomic_store(&g_pool_closes, 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    g_dir[0] = '\0';
    unit_rm_rf(f->dir);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    free(f);
    return 0;
}

/* Every fd is closed in the end, none of them on the loop thread. */
static void assert_closed_off_loop(int min_pool_closes)
{
    assert_int_equal(open_test_fds(), 0);
    assert_int_equal(atomic_load(&g_loop_closes), 0);
    assert_true(atomic_load(&g_pool_closes) >= min_pool_closes);
}

/* ---- helpers ---- */

struct rd {
    struct buf out;
    int chunks, ends, status;
    bool manual;
    struct logread *r;
};

static void rd_chunk(void *ud, char *data, size_t len)
{
    struct rd *rd = ud;
    assert_int_equal(buf_append(&rd->out, data, len), 0);
    free(data);
    rd->chunks++;
    if (!rd->manual)
        logread_next(rd->r);
}

static void rd_end(void *ud, int status)
{
    struct rd *rd = ud;
    rd->ends++;
    rd->status = status;
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

static void count_cb(void *ud, int status)
{
    (void)status;
    *(int *)ud += 1;
}

static void writer_close(uv_loop_t *loop, struct logw *w)
{
    int done = 0;
    logw_close(w, count_cb, &done);
    while (!done)
        uv_run(loop, UV_RUN_ONCE);
}

/* Writes lines in small batches, letting the writer's jobs (and so its
 * rotations and follower events) run in between. */
static void write_rounds(uv_loop_t *loop, struct logw *w, int rounds)
{
    for (int i = 0; i < rounds; i++) {
        char line[128];
        for (int k = 0; k < 10; k++) {
            int n = snprintf(line, sizeof(line), "line %06d padding padding padding\n", i * 10 + k);
            logw_write(w, LOGW_STDOUT, line, (size_t)n, T0 + i);
        }
        uv_run(loop, UV_RUN_NOWAIT);
        while (logw_buffered(w) > 0)
            uv_run(loop, UV_RUN_ONCE);
    }
}

static struct logread_opts follow_opts(void)
{
    struct logread_opts o = {.show_stdout = true, .show_stderr = true, .tail = -1};
    o.follow = true;
    o.tty = true;
    return o;
}

/* ---- cases ---- */

/* A follower that stops taking chunks falls behind while the writer
 * rotates (max-file 1: every old file is unlinked): it drops the files
 * past max-file, then is cancelled holding the rest. */
static void test_stalled_follower_cancelled(void **state)
{
    struct fixture *f = *state;
    struct logw *w = writer_open(&f->loop, f->path, 2000, 1);
    write_rounds(&f->loop, w, 2);
    struct logread_opts o = follow_opts();
    struct rd rd = {.manual = true};
    rd.r = logread_start(&f->loop, &o, f->path, w, rd_chunk, rd_end, &rd);
    assert_non_null(rd.r);
    while (rd.chunks == 0)
        uv_run(&f->loop, UV_RUN_ONCE);
    write_rounds(&f->loop, w, 60); /* ~30 rotations the follower does not read */
    assert_true(open_test_fds() >= 3);
    logread_cancel(rd.r);
    writer_close(&f->loop, w);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(rd.ends, 0);
    assert_closed_off_loop(20);
    buf_done(&rd.out);
}

/* A follower that keeps up reads across rotations and ends when the writer
 * closes: the files it passed and the one it ends on. */
static void test_follower_ends_with_writer(void **state)
{
    struct fixture *f = *state;
    struct logw *w = writer_open(&f->loop, f->path, 3000, 2);
    struct logread_opts o = follow_opts();
    struct rd rd = {0};
    rd.r = logread_start(&f->loop, &o, f->path, w, rd_chunk, rd_end, &rd);
    assert_non_null(rd.r);
    write_rounds(&f->loop, w, 40);
    writer_close(&f->loop, w);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(rd.ends, 1);
    assert_int_equal(rd.status, 0);
    assert_non_null(strstr(rd.out.data, "line 000399 "));
    assert_closed_off_loop(10);
    buf_done(&rd.out);
}

/* A reader cancelled before the writer has handed over its snapshot: the
 * writer's job opened the files, nobody takes them. */
static void test_snapshot_discarded(void **state)
{
    struct fixture *f = *state;
    struct logw *w = writer_open(&f->loop, f->path, 2000, 3);
    write_rounds(&f->loop, w, 10);
    struct logread_opts o = follow_opts();
    struct rd rd = {0};
    rd.r = logread_start(&f->loop, &o, f->path, w, rd_chunk, rd_end, &rd);
    assert_non_null(rd.r);
    logread_cancel(rd.r);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(rd.chunks, 0);
    writer_close(&f->loop, w);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_closed_off_loop(3);
}

/* A plain read of a closed log (files opened by name) that ends by itself,
 * and one cancelled between chunks. */
static void test_reader_end_and_cancel(void **state)
{
    struct fixture *f = *state;
    struct logw *w = writer_open(&f->loop, f->path, 4000, 3);
    write_rounds(&f->loop, w, 30);
    writer_close(&f->loop, w);
    struct logread_opts o = {.show_stdout = true, .show_stderr = true, .tail = -1, .tty = true};
    struct rd rd = {0};
    rd.r = logread_start(&f->loop, &o, f->path, NULL, rd_chunk, rd_end, &rd);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(rd.ends, 1);
    buf_done(&rd.out);

    o.chunk_size = 512;
    rd = (struct rd){.manual = true};
    rd.r = logread_start(&f->loop, &o, f->path, NULL, rd_chunk, rd_end, &rd);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(rd.chunks, 1);
    logread_cancel(rd.r);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(rd.ends, 0);
    buf_done(&rd.out);
    assert_closed_off_loop(6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stalled_follower_cancelled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_follower_ends_with_writer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_discarded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reader_end_and_cancel, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
