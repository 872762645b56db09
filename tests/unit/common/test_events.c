/* common/events.c: the in-process event bus. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/events.h"

#define MAX_SEEN 16

/* What a subscriber (or a replay) saw, copied out of the events. */
struct seen {
    size_t n;
    int64_t time[MAX_SEEN];
    uint64_t seq[MAX_SEEN];
    char action[MAX_SEEN][32];
};

static void record_cb(const struct event *ev, void *data)
{
    struct seen *s = data;
    assert_true(s->n < MAX_SEEN);
    s->time[s->n] = ev->time_ns;
    s->seq[s->n] = ev->seq;
    snprintf(s->action[s->n], sizeof(s->action[0]), "%s", ev->action);
    s->n++;
}

static int setup_bus(void **state)
{
    *state = evbus_new(4);
    return *state ? 0 : -1;
}

static int teardown_bus(void **state)
{
    evbus_free(*state);
    return 0;
}

static void publish(struct evbus *bus, int64_t t, const char *action)
{
    assert_int_equal(evbus_publish_at(bus, t, "container", action, "abc", NULL), 0);
}

static void test_publish_reaches_subscriber(void **state)
{
    struct evbus *bus = *state;
    struct seen s = {0};
    struct evbus_sub sub;
    evbus_subscribe(bus, &sub, record_cb, &s);
    publish(bus, 100, "create");
    publish(bus, 200, "start");
    assert_int_equal(s.n, 2);
    assert_string_equal(s.action[0], "create");
    assert_string_equal(s.action[1], "start");
    assert_int_equal(s.time[1], 200);
    assert_true(s.seq[1] == s.seq[0] + 1);
    evbus_unsubscribe(&sub);
}

/* Checks the copy the bus made of everything published. */
static void check_packed_cb(const struct event *ev, void *data)
{
    int *calls = data;
    (*calls)++;
    assert_string_equal(ev->type, "network");
    assert_string_equal(ev->action, "connect");
    assert_string_equal(ev->id, "net1");
    assert_string_equal(ev->scope, "local");
    assert_int_equal(ev->nattrs, 2);
    assert_string_equal(ev->attrs[0].key, "name");
    assert_string_equal(ev->attrs[0].value, "bridge");
    assert_string_equal(ev->attrs[1].key, "container");
    assert_string_equal(ev->attrs[1].value, "c1");
}

static void test_event_contents_are_copied(void **state)
{
    struct evbus *bus = *state;
    char type[] = "network", action[] = "connect", id[] = "net1";
    char k0[] = "name", v0[] = "bridge", k1[] = "container", v1[] = "c1";
    const char *attrs[] = {k0, v0, k1, v1, NULL};
    assert_int_equal(evbus_publish_at(bus, 5, type, action, id, attrs), 0);
    /* The caller's strings may change afterwards. */
    memset(type, 'x', sizeof(type) - 1);
    memset(v0, 'x', sizeof(v0) - 1);
    int calls = 0;
    evbus_replay(bus, 0, 10, check_packed_cb, &calls);
    assert_int_equal(calls, 1);
}

static void id_cb(const struct event *ev, void *data)
{
    *(const char **)data = ev->id;
}

static void test_null_id_is_empty(void **state)
{
    struct evbus *bus = *state;
    const char *id = NULL;
    assert_int_equal(evbus_publish_at(bus, 1, "daemon", "reload", NULL, NULL), 0);
    evbus_replay(bus, 0, 1, id_cb, &id);
    assert_non_null(id);
    assert_string_equal(id, "");
}

static void test_replay_window(void **state)
{
    struct evbus *bus = *state;
    publish(bus, 100, "a");
    publish(bus, 200, "b");
    publish(bus, 300, "c");
    publish(bus, 400, "d");
    struct seen s = {0};
    evbus_replay(bus, 200, 300, record_cb, &s);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.action[0], "b");
    assert_string_equal(s.action[1], "c");

    memset(&s, 0, sizeof(s));
    evbus_replay(bus, 301, 399, record_cb, &s);
    assert_int_equal(s.n, 0);
    evbus_replay(bus, INT64_MIN, INT64_MAX, record_cb, &s);
    assert_int_equal(s.n, 4);
}

static void test_history_eviction(void **state)
{
    struct evbus *bus = *state; /* history of 4 */
    const char *actions[] = {"e1", "e2", "e3", "e4", "e5", "e6"};
    for (int i = 0; i < 6; i++)
        publish(bus, 10 * (i + 1), actions[i]);
    struct seen s = {0};
    evbus_replay(bus, 0, INT64_MAX, record_cb, &s);
    assert_int_equal(s.n, 4);
    assert_string_equal(s.action[0], "e3");
    assert_string_equal(s.action[3], "e6");
    assert_int_equal(s.time[0], 30);
    assert_true(s.seq[3] == s.seq[0] + 3);
}

static void test_history_of_one(void **state)
{
    (void)state;
    struct evbus *bus = evbus_new(0); /* 0 keeps one */
    assert_non_null(bus);
    publish(bus, 1, "first");
    publish(bus, 2, "second");
    struct seen s = {0};
    evbus_replay(bus, 0, 10, record_cb, &s);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.action[0], "second");
    evbus_free(bus);
}

struct self_unsub {
    struct evbus_sub sub;
    int calls;
};

static void unsub_self_cb(const struct event *ev, void *data)
{
    (void)ev;
    struct self_unsub *u = data;
    u->calls++;
    evbus_unsubscribe(&u->sub);
}

static void test_unsubscribe_inside_callback(void **state)
{
    struct evbus *bus = *state;
    struct self_unsub a = {0}, c = {0};
    struct seen b_seen = {0};
    struct evbus_sub b;
    evbus_subscribe(bus, &a.sub, unsub_self_cb, &a);
    evbus_subscribe(bus, &b, record_cb, &b_seen);
    evbus_subscribe(bus, &c.sub, unsub_self_cb, &c);
    assert_int_equal(evbus_subscriber_count(bus), 3);

    publish(bus, 1, "one");
    assert_int_equal(a.calls, 1);
    assert_int_equal(c.calls, 1);
    assert_int_equal(b_seen.n, 1);
    assert_int_equal(evbus_subscriber_count(bus), 1);

    publish(bus, 2, "two");
    assert_int_equal(a.calls, 1);
    assert_int_equal(c.calls, 1);
    assert_int_equal(b_seen.n, 2);
    evbus_unsubscribe(&b);
}

static void test_subscriber_count(void **state)
{
    struct evbus *bus = *state;
    struct seen s1 = {0}, s2 = {0};
    struct evbus_sub a, b;
    assert_int_equal(evbus_subscriber_count(bus), 0);
    evbus_subscribe(bus, &a, record_cb, &s1);
    evbus_subscribe(bus, &b, record_cb, &s2);
    assert_int_equal(evbus_subscriber_count(bus), 2);
    evbus_unsubscribe(&a);
    assert_int_equal(evbus_subscriber_count(bus), 1);
    /* A second unsubscribe is harmless. */
    evbus_unsubscribe(&a);
    assert_int_equal(evbus_subscriber_count(bus), 1);
    publish(bus, 1, "x");
    assert_int_equal(s1.n, 0);
    assert_int_equal(s2.n, 1);
    evbus_unsubscribe(&b);
    assert_int_equal(evbus_subscriber_count(bus), 0);
}

static void test_publish_stamps_time(void **state)
{
    struct evbus *bus = *state;
    struct seen s = {0};
    struct evbus_sub sub;
    evbus_subscribe(bus, &sub, record_cb, &s);
    assert_int_equal(evbus_publish(bus, "daemon", "reload", "id", NULL), 0);
    assert_int_equal(s.n, 1);
    /* After 2023-11-14 (1.7e18 ns): a real wall-clock time in nanoseconds. */
    assert_true(s.time[0] > 1700000000000000000LL);
    evbus_unsubscribe(&sub);
}

#define BUS_TEST(f) cmocka_unit_test_setup_teardown(f, setup_bus, teardown_bus)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BUS_TEST(test_publish_reaches_subscriber),
        BUS_TEST(test_event_contents_are_copied),
        BUS_TEST(test_null_id_is_empty),
        BUS_TEST(test_replay_window),
        BUS_TEST(test_history_eviction),
        cmocka_unit_test(test_history_of_one),
        BUS_TEST(test_unsubscribe_inside_callback),
        BUS_TEST(test_subscriber_count),
        BUS_TEST(test_publish_stamps_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
