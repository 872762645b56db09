/* handlers/events_filter.c: moby's event filter and the event JSON shape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/macros.h"
#include "handlers/events.h"

static const char cid[] = "4f1c2d3e5a6b7c8d9e0f4f1c2d3e5a6b7c8d9e0f4f1c2d3e5a6b7c8d9e0fabcd";

static const struct event_attr container_attrs[] = {
    {"image", "alpine:3.19"},
    {"name", "web"},
    {"com.example.app", "shop"},
};

static const struct event_attr image_attrs[] = {
    {"name", "localhost:5000/team/app:v1"},
};

static const struct event_attr network_attrs[] = {
    {"name", "bridge"},
    {"type", "bridge"},
    {"container", "4f1c2d3e"},
};

static struct event container_event(const char *action)
{
    return (struct event){
        .seq = 1,
        .time_ns = 1795505415300803612LL,
        .type = "container",
        .action = action,
        .id = cid,
        .scope = "local",
        .attrs = container_attrs,
        .nattrs = ARRAY_SIZE(container_attrs),
    };
}

static struct event image_event(void)
{
    return (struct event){
        .time_ns = 1700000000000000000LL,
        .type = "image",
        .action = "tag",
        .id = "sha256:0123456789abcdef",
        .scope = "local",
        .attrs = image_attrs,
        .nattrs = ARRAY_SIZE(image_attrs),
    };
}

static struct event network_event(void)
{
    return (struct event){
        .time_ns = 1700000000123456789LL,
        .type = "network",
        .action = "connect",
        .id = "9a8b7c6d5e4f",
        .scope = "local",
        .attrs = network_attrs,
        .nattrs = ARRAY_SIZE(network_attrs),
    };
}

static bool matches(const char *filters_json, const struct event *ev)
{
    struct filters f;
    struct berr err = {0};
    assert_int_equal(filters_parse(filters_json, &f, &err), 0);
    bool r = events_filter_match(&f, ev);
    filters_done(&f);
    return r;
}

static void test_no_filters(void **state)
{
    (void)state;
    struct event ev = container_event("start");
    assert_true(matches(NULL, &ev));
    assert_true(matches("{}", &ev));
}

static void test_type(void **state)
{
    (void)state;
    struct event c = container_event("start"), i = image_event();
    assert_true(matches("{\"type\":[\"container\"]}", &c));
    assert_false(matches("{\"type\":[\"container\"]}", &i));
    assert_true(matches("{\"type\":[\"container\",\"image\"]}", &i));
    assert_false(matches("{\"type\":[\"contain\"]}", &c));
}

static void test_event_exact(void **state)
{
    (void)state;
    struct event ev = container_event("start");
    assert_true(matches("{\"event\":[\"start\"]}", &ev));
    assert_true(matches("{\"event\":[\"die\",\"start\"]}", &ev));
    assert_false(matches("{\"event\":[\"stop\"]}", &ev));
    assert_false(matches("{\"event\":[\"sta\"]}", &ev));
}

static void test_event_prefix_for_detailed_actions(void **state)
{
    (void)state;
    struct event health = container_event("health_status: healthy");
    struct event exec = container_event("exec_start: sh -c true");
    assert_true(matches("{\"event\":[\"health_status\"]}", &health));
    assert_false(matches("{\"event\":[\"start\"]}", &health));
    assert_true(matches("{\"event\":[\"exec_start\"]}", &exec));
    assert_false(matches("{\"event\":[\"exec_create\",\"die\"]}", &exec));
    assert_true(matches("{\"event\":[\"health_status: healthy\"]}", &health));
}

static void test_event_no_prefix_for_other_actions(void **state)
{
    (void)state;
    /* "exec_die" is not one of the detailed actions: exact only. */
    struct event ev = container_event("exec_die: 1");
    assert_false(matches("{\"event\":[\"exec_die\"]}", &ev));
}

static void test_container_by_id_prefix(void **state)
{
    (void)state;
    struct event ev = container_event("start");
    assert_true(matches("{\"container\":[\"4f1c2d\"]}", &ev));
    assert_true(matches("{\"container\":{\"4f1c2d3e5a6b\":true}}", &ev));
    assert_true(matches("{\"container\":[\"0000\",\"4f1c\"]}", &ev));
    assert_false(matches("{\"container\":[\"1c2d\"]}", &ev));
}

static void test_container_by_name(void **state)
{
    (void)state;
    struct event ev = container_event("start");
    assert_true(matches("{\"container\":[\"web\"]}", &ev));
    assert_false(matches("{\"container\":[\"db\"]}", &ev));
}

static void test_container_filter_on_other_object(void **state)
{
    (void)state;
    struct event img = image_event();
    assert_false(matches("{\"container\":[\"web\"]}", &img));
}

static void test_image_for_container_event(void **state)
{
    (void)state;
    struct event ev = container_event("create");
    assert_true(matches("{\"image\":[\"alpine:3.19\"]}", &ev));
    /* The tag is stripped before a second comparison. */
    assert_true(matches("{\"image\":[\"alpine\"]}", &ev));
    assert_false(matches("{\"image\":[\"alpine:3.18\"]}", &ev));
    assert_false(matches("{\"image\":[\"busybox\"]}", &ev));
    assert_true(matches("{\"image\":[\"busybox\",\"alpine\"]}", &ev));
}

static void test_image_for_image_event(void **state)
{
    (void)state;
    struct event ev = image_event();
    assert_true(matches("{\"image\":[\"sha256:0123456789abcdef\"]}", &ev));
    assert_true(matches("{\"image\":[\"localhost:5000/team/app:v1\"]}", &ev));
    /* The registry port is not a tag. */
    assert_true(matches("{\"image\":[\"localhost:5000/team/app\"]}", &ev));
    assert_false(matches("{\"image\":[\"localhost\"]}", &ev));
    assert_false(matches("{\"image\":[\"sha256:0123\"]}", &ev));
}

static void test_image_without_attribute(void **state)
{
    (void)state;
    struct event ev = network_event();
    assert_false(matches("{\"image\":[\"alpine\"]}", &ev));
}

static void test_label(void **state)
{
    (void)state;
    struct event ev = container_event("start");
    assert_true(matches("{\"label\":[\"com.example.app\"]}", &ev));
    assert_true(matches("{\"label\":[\"com.example.app=shop\"]}", &ev));
    assert_false(matches("{\"label\":[\"com.example.app=blog\"]}", &ev));
    assert_false(matches("{\"label\":[\"com.example.app=shop\",\"tier\"]}", &ev));
}

static void test_scope(void **state)
{
    (void)state;
    struct event ev = container_event("start");
    assert_true(matches("{\"scope\":[\"local\"]}", &ev));
    assert_false(matches("{\"scope\":[\"swarm\"]}", &ev));
}

static void test_network(void **state)
{
    (void)state;
    struct event net = network_event(), c = container_event("start");
    assert_true(matches("{\"network\":[\"bridge\"]}", &net));
    assert_true(matches("{\"network\":[\"9a8b7c6d5e4f\"]}", &net));
    assert_false(matches("{\"network\":[\"host\"]}", &net));
    assert_false(matches("{\"network\":[\"bridge\"]}", &c));
}

static void test_swarm_only_keys_never_match(void **state)
{
    (void)state;
    struct event ev = container_event("start");
    assert_false(matches("{\"node\":[\"n1\"]}", &ev));
    assert_false(matches("{\"service\":[\"s\"]}", &ev));
    assert_false(matches("{\"secret\":[\"x\"]}", &ev));
    assert_false(matches("{\"config\":[\"c\"]}", &ev));
    /* An empty value list is no filter at all. */
    assert_true(matches("{\"node\":[]}", &ev));
}

static void test_keys_are_anded(void **state)
{
    (void)state;
    struct event ev = container_event("start");
    assert_true(
        matches("{\"type\":[\"container\"],\"event\":[\"start\"],\"container\":[\"web\"]}", &ev));
    assert_false(matches("{\"type\":[\"container\"],\"event\":[\"die\"]}", &ev));
}

/* ---- events_to_json ---- */

static char *json_text(const struct event *ev)
{
    cJSON *j = events_to_json(ev);
    assert_non_null(j);
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    assert_non_null(s);
    return s;
}

static void test_json_container_event(void **state)
{
    (void)state;
    struct event ev = container_event("start");
    char *s = json_text(&ev);
    char want[1024];
    snprintf(want, sizeof(want),
             "{\"status\":\"start\",\"id\":\"%s\",\"from\":\"alpine:3.19\",\"Type\":\"container\","
             "\"Action\":\"start\",\"Actor\":{\"ID\":\"%s\",\"Attributes\":{\"image\":\"alpine:"
             "3.19\",\"name\":\"web\",\"com.example.app\":\"shop\"}},\"scope\":\"local\","
             "\"time\":1795505415,\"timeNano\":1795505415300803612}",
             cid, cid);
    assert_string_equal(s, want);
    free(s);
}

static void test_json_time_nano_exact(void **state)
{
    (void)state;
    struct event ev = container_event("die");
    ev.time_ns = 1700000000999999999LL;
    char *s = json_text(&ev);
    assert_non_null(strstr(s, "\"time\":1700000000,"));
    assert_non_null(strstr(s, "\"timeNano\":1700000000999999999}"));
    free(s);
}

static void test_json_image_event(void **state)
{
    (void)state;
    struct event ev = image_event();
    char *s = json_text(&ev);
    assert_string_equal(s, "{\"status\":\"tag\",\"id\":\"sha256:0123456789abcdef\",\"Type\":"
                           "\"image\",\"Action\":\"tag\",\"Actor\":{\"ID\":\"sha256:"
                           "0123456789abcdef\",\"Attributes\":{\"name\":\"localhost:5000/team/"
                           "app:v1\"}},\"scope\":\"local\",\"time\":1700000000,\"timeNano\":"
                           "1700000000000000000}");
    free(s);
}

static void test_json_network_event_has_no_legacy_fields(void **state)
{
    (void)state;
    struct event ev = network_event();
    cJSON *j = events_to_json(&ev);
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "status"));
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "id"));
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "from"));
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(j, "Type")->valuestring, "network");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(j, "Action")->valuestring, "connect");
    cJSON *actor = cJSON_GetObjectItemCaseSensitive(j, "Actor");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(actor, "ID")->valuestring, "9a8b7c6d5e4f");
    cJSON *attrs = cJSON_GetObjectItemCaseSensitive(actor, "Attributes");
    assert_int_equal(cJSON_GetArraySize(attrs), 3);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(attrs, "container")->valuestring,
                        "4f1c2d3e");
    cJSON_Delete(j);
    char *s = json_text(&ev);
    assert_non_null(strstr(s, "\"timeNano\":1700000000123456789"));
    free(s);
}

static void test_json_no_attributes(void **state)
{
    (void)state;
    struct event ev = {
        .time_ns = 0, .type = "daemon", .action = "reload", .id = "X", .scope = "local"};
    char *s = json_text(&ev);
    assert_string_equal(s, "{\"Type\":\"daemon\",\"Action\":\"reload\",\"Actor\":{\"ID\":\"X\","
                           "\"Attributes\":{}},\"scope\":\"local\",\"time\":0,\"timeNano\":0}");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_filters),
        cmocka_unit_test(test_type),
        cmocka_unit_test(test_event_exact),
        cmocka_unit_test(test_event_prefix_for_detailed_actions),
        cmocka_unit_test(test_event_no_prefix_for_other_actions),
        cmocka_unit_test(test_container_by_id_prefix),
        cmocka_unit_test(test_container_by_name),
        cmocka_unit_test(test_container_filter_on_other_object),
        cmocka_unit_test(test_image_for_container_event),
        cmocka_unit_test(test_image_for_image_event),
        cmocka_unit_test(test_image_without_attribute),
        cmocka_unit_test(test_label),
        cmocka_unit_test(test_scope),
        cmocka_unit_test(test_network),
        cmocka_unit_test(test_swarm_only_keys_never_match),
        cmocka_unit_test(test_keys_are_anded),
        cmocka_unit_test(test_json_container_event),
        cmocka_unit_test(test_json_time_nano_exact),
        cmocka_unit_test(test_json_image_event),
        cmocka_unit_test(test_json_network_event_has_no_legacy_fields),
        cmocka_unit_test(test_json_no_attributes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
