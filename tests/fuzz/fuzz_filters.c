/* libFuzzer target: Docker's `filters=` JSON (handlers/filters.c) and the
 * events filter (handlers/events_filter.c) against fixed events, with the
 * names GET /events allows. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/events.h"
#include "handlers/filters.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* As handlers/events.c allowed_filters. */
static const char *const allowed[] = {
    "config", "container", "daemon", "event",   "image", "label",  "network", "node",
    "plugin", "scope",     "secret", "service", "type",  "volume", NULL,
};

static const struct event_attr ctr_attrs[] = {
    {"image", "docker.io/library/busybox:latest"},
    {"name", "web"},
    {"com.example.lb", "1"},
    {"com.example.empty", ""},
};
static const struct event_attr img_attrs[] = {{"name", "localhost:5000/foo/bar:3.19"}};
static const struct event_attr net_attrs[] = {{"name", "bridge"}, {"container", "c0ffee"}};

static const struct event events[] = {
    {1, 1700000000000000000LL, "container", "start", "c0ffee0011223344", "local", ctr_attrs, 4},
    {2, 1700000000000000001LL, "container", "exec_start: sh -c true", "c0ffee0011223344", "local",
     ctr_attrs, 4},
    {3, 1700000000000000002LL, "container", "health_status: healthy", "c0ffee", "local", ctr_attrs,
     2},
    {4, 1700000000000000003LL, "image", "tag", "sha256:abcdef", "local", img_attrs, 1},
    {5, 1700000000000000004LL, "image", "pull", "busybox:latest", "local", NULL, 0},
    {6, 1700000000000000005LL, "network", "connect", "n3tw0rk", "local", net_attrs, 2},
    {7, 1700000000000000006LL, "volume", "create", "data", "local", NULL, 0},
    {8, 1700000000000000007LL, "daemon", "reload", "ENGINE", "local", NULL, 0},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct filters f;
    struct berr err = {0};
    if (filters_parse(text, &f, &err) == 0) {
        struct berr verr = {0};
        (void)filters_validate(&f, allowed, &verr);
        for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++)
            (void)events_filter_match(&f, &events[i]);
        cJSON *j = events_to_json(&events[0]);
        cJSON_Delete(j);
        filters_done(&f);
    } else if (!err.status || !err.msg[0]) {
        abort(); /* a refusal must say why */
    }
    free(text);
    return 0;
}
