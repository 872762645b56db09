/* handlers/containers_stats_json.c: Docker's StatsResponse from samples,
 * for cgroup v1 and v2 and for a container that is not running (the
 * machines that run the integration tests are v1 only). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "handlers/containers_stats.h"

#define HOST_MEM 8000000000ull

static char *shape(const struct ctr_stats_sample *cur, const struct ctr_stats_sample *pre)
{
    struct stats_view v = {"web", "abc123", cur, pre, HOST_MEM};
    cJSON *j = ctr_stats_json(&v);
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return s;
}

static void assert_has(const char *s, const char *piece)
{
    if (!strstr(s, piece))
        fail_msg("%s\n  lacks %s", s, piece);
}

static void assert_lacks(const char *s, const char *piece)
{
    if (strstr(s, piece))
        fail_msg("%s\n  has %s", s, piece);
}

/* Byte for byte what Go encodes for types.StatsJSON{Name, ID}. */
static void test_not_running_is_gos_empty_sample(void **state)
{
    (void)state;
    struct ctr_stats_sample none = {.running = false};
    char *s = shape(&none, NULL);
    assert_string_equal(
        s, "{\"read\":\"0001-01-01T00:00:00Z\",\"preread\":\"0001-01-01T00:00:00Z\","
           "\"pids_stats\":{},\"blkio_stats\":{\"io_service_bytes_recursive\":null,"
           "\"io_serviced_recursive\":null,\"io_queue_recursive\":null,"
           "\"io_service_time_recursive\":null,\"io_wait_time_recursive\":null,"
           "\"io_merged_recursive\":null,\"io_time_recursive\":null,\"sectors_recursive\":null},"
           "\"num_procs\":0,\"storage_stats\":{},\"cpu_stats\":{\"cpu_usage\":{\"total_usage\":0,"
           "\"usage_in_kernelmode\":0,\"usage_in_usermode\":0},\"throttling_data\":{\"periods\":0,"
           "\"throttled_periods\":0,\"throttled_time\":0}},\"precpu_stats\":{\"cpu_usage\":{"
           "\"total_usage\":0,\"usage_in_kernelmode\":0,\"usage_in_usermode\":0},"
           "\"throttling_data\":{\"periods\":0,\"throttled_periods\":0,\"throttled_time\":0}},"
           "\"memory_stats\":{},\"name\":\"/web\",\"id\":\"abc123\"}");
    free(s);
}

static struct ctr_stats_sample v1_sample(void)
{
    struct ctr_stats_sample s = {.running = true, .cg_version = 1, .read_ns = 1700000000123456789};
    s.system_cpu_ns = 5000000000;
    s.online_cpus = 2;
    struct cg_stats *cg = &s.cg;
    cg->mem_usage = 4096;
    cg->mem_max_usage = 8192;
    cg->mem_failcnt = 3;
    cg->mem_stat[cg->nmem_stat++] =
        (struct cg_kv){"hierarchical_memory_limit", 9223372036854771712ull};
    cg->mem_stat[cg->nmem_stat++] = (struct cg_kv){"total_inactive_file", 100};
    cg->cpu_total_ns = 300;
    cg->cpu_user_ns = 200;
    cg->cpu_system_ns = 100;
    cg->percpu_ns[cg->npercpu++] = 250;
    cg->percpu_ns[cg->npercpu++] = 50;
    cg->pids_current = 2;
    cg->io[cg->nio++] = (struct cg_blkio_entry){8, 0, "Read", 10};
    cg->io_ops[cg->nio_ops++] = (struct cg_blkio_entry){8, 0, "Write", 1};
    return s;
}

static void test_v1(void **state)
{
    (void)state;
    struct ctr_stats_sample s = v1_sample();
    char *j = shape(&s, NULL);
    assert_has(j, "\"read\":\"2023-11-14T22:13:20.123456789Z\"");
    assert_has(j, "\"preread\":\"0001-01-01T00:00:00Z\"");
    assert_has(j, "\"pids_stats\":{\"current\":2}"); /* no limit: omitted */
    assert_has(j, "\"io_service_bytes_recursive\":[{\"major\":8,\"minor\":0,\"op\":\"Read\","
                  "\"value\":10}],\"io_serviced_recursive\":[{\"major\":8,\"minor\":0,"
                  "\"op\":\"Write\",\"value\":1}],\"io_queue_recursive\":[]");
    assert_has(j, "\"sectors_recursive\":[]");
    assert_has(j, "\"cpu_stats\":{\"cpu_usage\":{\"total_usage\":300,\"percpu_usage\":[250,50],"
                  "\"usage_in_kernelmode\":100,\"usage_in_usermode\":200},"
                  "\"system_cpu_usage\":5000000000,\"online_cpus\":2,");
    /* exact integers: a double would print 9.2233720368547717e+18 */
    assert_has(j, "\"memory_stats\":{\"usage\":4096,\"max_usage\":8192,\"stats\":{"
                  "\"hierarchical_memory_limit\":9223372036854771712,"
                  "\"total_inactive_file\":100},\"failcnt\":3,\"limit\":8000000000}");
    free(j);
}

static void test_v2(void **state)
{
    (void)state;
    struct ctr_stats_sample s = {.running = true, .cg_version = 2, .read_ns = 2000000000};
    s.cg.mem_usage = 1024;
    s.cg.mem_max_usage = 4096; /* memory.peak: Docker does not report it */
    s.cg.mem_limit = 1048576;
    s.cg.mem_failcnt = 1;
    s.cg.pids_current = 3;
    s.cg.pids_limit = 20;
    s.cg.io[s.cg.nio++] = (struct cg_blkio_entry){8, 0, "read", 10};
    s.cg.io[s.cg.nio++] = (struct cg_blkio_entry){8, 0, "write", 20};
    char *j = shape(&s, NULL);
    assert_has(j, "\"pids_stats\":{\"current\":3,\"limit\":20}");
    assert_has(j, "\"io_service_bytes_recursive\":[{\"major\":8,\"minor\":0,\"op\":\"read\","
                  "\"value\":10},{\"major\":8,\"minor\":0,\"op\":\"write\",\"value\":20}],"
                  "\"io_serviced_recursive\":null,");
    assert_lacks(j, "percpu_usage");
    assert_has(j, "\"memory_stats\":{\"usage\":1024,\"failcnt\":1,\"limit\":1048576}");
    free(j);
    /* no device with I/O: null, as containerd leaves the list nil */
    s.cg.nio = 0;
    j = shape(&s, NULL);
    assert_has(j, "\"io_service_bytes_recursive\":null");
    free(j);
}

static void test_limit_is_host_memory_when_none_or_larger(void **state)
{
    (void)state;
    struct ctr_stats_sample s = v1_sample();
    s.cg.mem_limit = 0; /* cgroup_stats: v1's "unlimited" huge value */
    char *j = shape(&s, NULL);
    assert_has(j, "\"limit\":8000000000}");
    free(j);
    s.cg.mem_limit = HOST_MEM * 2;
    j = shape(&s, NULL);
    assert_has(j, "\"limit\":8000000000}");
    free(j);
    s.cg.mem_limit = 6291456;
    j = shape(&s, NULL);
    assert_has(j, "\"limit\":6291456}");
    free(j);
}

static void test_precpu_is_the_previous_sample(void **state)
{
    (void)state;
    struct ctr_stats_sample pre = v1_sample(), cur = v1_sample();
    cur.read_ns += 1000000000;
    cur.cg.cpu_total_ns = 900;
    cur.system_cpu_ns = 7000000000;
    char *j = shape(&cur, &pre);
    assert_has(j, "\"read\":\"2023-11-14T22:13:21.123456789Z\",\"preread\":\"2023-11-14T22:13:20."
                  "123456789Z\"");
    assert_has(j, "\"cpu_stats\":{\"cpu_usage\":{\"total_usage\":900,");
    assert_has(j, "\"precpu_stats\":{\"cpu_usage\":{\"total_usage\":300,\"percpu_usage\":[250,50],"
                  "\"usage_in_kernelmode\":100,\"usage_in_usermode\":200},"
                  "\"system_cpu_usage\":5000000000,\"online_cpus\":2,");
    free(j);
    /* the first empty sample after a running one still carries it as precpu */
    struct ctr_stats_sample none = {.running = false};
    j = shape(&none, &pre);
    assert_has(j, "\"read\":\"0001-01-01T00:00:00Z\",\"preread\":\"2023-11-14T22:13:20.");
    assert_has(j, "\"precpu_stats\":{\"cpu_usage\":{\"total_usage\":300,");
    assert_has(j, "\"memory_stats\":{}");
    free(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_not_running_is_gos_empty_sample),
        cmocka_unit_test(test_v1),
        cmocka_unit_test(test_v2),
        cmocka_unit_test(test_limit_is_host_memory_when_none_or_larger),
        cmocka_unit_test(test_precpu_is_the_previous_sample),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
