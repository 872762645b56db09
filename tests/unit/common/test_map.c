/* common/map.c: put/get/replace/delete, growth, tombstones, iteration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "common/map.h"

static void test_put_get_replace_delete(void **state)
{
    (void)state;
    struct map m = MAP_INIT;
    int a = 1, b = 2;
    assert_null(map_get(&m, "x"));
    assert_int_equal(map_put(&m, "x", &a), 0);
    assert_ptr_equal(map_get(&m, "x"), &a);
    assert_int_equal(map_put(&m, "x", &b), 0);
    assert_ptr_equal(map_get(&m, "x"), &b);
    assert_int_equal(m.len, 1);
    assert_ptr_equal(map_del(&m, "x"), &b);
    assert_null(map_get(&m, "x"));
    assert_null(map_del(&m, "x"));
    assert_int_equal(m.len, 0);
    map_done(&m);
}

static void test_many_keys_growth_and_tombstones(void **state)
{
    (void)state;
    struct map m = MAP_INIT;
    static int vals[5000];
    char key[32];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 5000; i++) {
            snprintf(key, sizeof(key), "sha256:%d", i);
            vals[i] = i;
            assert_int_equal(map_put(&m, key, &vals[i]), 0);
        }
        assert_int_equal(m.len, 5000);
        for (int i = 0; i < 5000; i += 2) {
            snprintf(key, sizeof(key), "sha256:%d", i);
            assert_ptr_equal(map_del(&m, key), &vals[i]);
        }
        for (int i = 0; i < 5000; i++) {
            snprintf(key, sizeof(key), "sha256:%d", i);
            assert_ptr_equal(map_get(&m, key), i % 2 ? &vals[i] : NULL);
        }
    }
    assert_true(m.cap < 64 * 1024); /* tombstones were reused or rehashed away */
    map_done(&m);
}

static void test_iteration_with_removal(void **state)
{
    (void)state;
    struct map m = MAP_INIT;
    static int v[100];
    char key[16];
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        v[i] = i;
        map_put(&m, key, &v[i]);
    }
    int seen = 0, sum = 0;
    const char *k;
    void *val;
    for (size_t it = 0; map_next(&m, &it, &k, &val);) {
        seen++;
        sum += *(int *)val;
        if (*(int *)val % 3 == 0)
            map_del(&m, k);
    }
    assert_int_equal(seen, 100);
    assert_int_equal(sum, 4950);
    assert_int_equal(m.len, 66);
    map_done(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_replace_delete),
        cmocka_unit_test(test_many_keys_growth_and_tombstones),
        cmocka_unit_test(test_iteration_with_removal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
