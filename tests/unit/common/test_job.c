/* common/job.c: work runs on the pool, done() on the loop thread, errors
 * travel in the job, and cancellation reaches both queued and running jobs. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/job.h"
#include "common/macros.h"

struct tjob {
    struct job job;
    pthread_t loop_thread;
    pthread_t run_thread;
    int done_calls;
    bool done_on_loop;
    int spins;
    volatile bool started;
};

static int run_fail(struct job *job)
{
    struct tjob *t = container_of(job, struct tjob, job);
    t->run_thread = pthread_self();
    return berr_set(&job->err, 409, EEXIST, "object 'x' already exists");
}

/* Polls job_should_stop like a long extraction would. */
static int run_until_stopped(struct job *job)
{
    struct tjob *t = container_of(job, struct tjob, job);
    t->started = true;
    while (!job_should_stop(job) && t->spins < 5000) {
        usleep(1000);
        t->spins++;
    }
    return job_should_stop(job) ? -ECANCELED : 0;
}

static void done(struct job *job)
{
    struct tjob *t = container_of(job, struct tjob, job);
    t->done_calls++;
    t->done_on_loop = pthread_equal(pthread_self(), t->loop_thread);
}

static void test_error_carried_to_loop(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct tjob t = {.loop_thread = pthread_self()};
    job_init(&t.job, run_fail, done);
    assert_int_equal(job_queue(&loop, &t.job), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(t.done_calls, 1);
    assert_true(t.done_on_loop);
    assert_false(pthread_equal(t.run_thread, t.loop_thread));
    assert_int_equal(t.job.result, -EEXIST);
    assert_int_equal(t.job.err.status, 409);
    assert_string_equal(t.job.err.msg, "object 'x' already exists");
    assert_false(t.job.cancelled);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void wait_started(uv_timer_t *timer)
{
    struct tjob *t = timer->data;
    if (t->started) {
        job_cancel(&t->job);
        uv_timer_stop(timer);
        uv_close((uv_handle_t *)timer, NULL);
    }
}

static void test_cancel_running_job(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct tjob t = {.loop_thread = pthread_self()};
    job_init(&t.job, run_until_stopped, done);
    assert_int_equal(job_queue(&loop, &t.job), 0);
    uv_timer_t timer;
    uv_timer_init(&loop, &timer);
    timer.data = &t;
    uv_timer_start(&timer, wait_started, 1, 1);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(t.done_calls, 1);
    assert_true(t.job.cancelled);
    assert_true(t.spins < 5000); /* it stopped because it was asked to */
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* Fill the pool with blockers so the next job is still queued when cancelled. */
static void test_cancel_queued_job(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    enum { N = 8 };
    struct tjob blockers[N];
    for (int i = 0; i < N; i++) {
        blockers[i] = (struct tjob){.loop_thread = pthread_self()};
        job_init(&blockers[i].job, run_until_stopped, done);
        assert_int_equal(job_queue(&loop, &blockers[i].job), 0);
    }
    struct tjob queued = {.loop_thread = pthread_self()};
    job_init(&queued.job, run_fail, done);
    assert_int_equal(job_queue(&loop, &queued.job), 0);
    job_cancel(&queued.job);
    for (int i = 0; i < N; i++)
        job_cancel(&blockers[i].job);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(queued.done_calls, 1);
    assert_true(queued.job.cancelled);
    assert_int_equal(queued.job.result, -ECANCELED);
    assert_true(pthread_equal(queued.run_thread, (pthread_t)0)); /* run() never ran */
    for (int i = 0; i < N; i++)
        assert_int_equal(blockers[i].done_calls, 1);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    job_pool_configure(4);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_carried_to_loop),
        cmocka_unit_test(test_cancel_running_job),
        cmocka_unit_test(test_cancel_queued_job),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
