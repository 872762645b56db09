#include "events.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "timeutil.h"

struct evbus {
    struct list subs;
    struct event **ring; /* oldest at head */
    size_t cap, head, len;
    uint64_t next_seq;
};

struct evbus *evbus_new(size_t history)
{
    struct evbus *bus = calloc(1, sizeof(*bus));
    if (!bus)
        return NULL;
    bus->cap = history ? history : 1;
    bus->ring = calloc(bus->cap, sizeof(*bus->ring));
    if (!bus->ring) {
        free(bus);
        return NULL;
    }
    list_init(&bus->subs);
    return bus;
}

void evbus_free(struct evbus *bus)
{
    if (!bus)
        return;
    for (size_t i = 0; i < bus->len; i++)
        free(bus->ring[(bus->head + i) % bus->cap]);
    free(bus->ring);
    free(bus);
}

static size_t count_attrs(const char *const *attrs)
{
    size_t n = 0;
    while (attrs && attrs[2 * n] && attrs[2 * n + 1])
        n++;
    return n;
}

/* One allocation holds the event, its attribute array and every string. */
static struct event *event_pack(const char *type, const char *action, const char *id,
                                const char *const *attrs)
{
    size_t n = count_attrs(attrs);
    size_t strs = strlen(type) + strlen(action) + strlen(id) + strlen("local") + 4;
    for (size_t i = 0; i < 2 * n; i++)
        strs += strlen(attrs[i]) + 1;
    struct event *ev = malloc(sizeof(*ev) + n * sizeof(struct event_attr) + strs);
    if (!ev)
        return NULL;
    struct event_attr *av = (struct event_attr *)(ev + 1);
    char *p = (char *)(av + n);
#define PUT(dst, src)                                                                              \
    do {                                                                                           \
        size_t l_ = strlen(src) + 1;                                                               \
        memcpy(p, src, l_);                                                                        \
        (dst) = p;                                                                                 \
        p += l_;                                                                                   \
    } while (0)
    PUT(ev->type, type);
    PUT(ev->action, action);
    PUT(ev->id, id);
    PUT(ev->scope, "local");
    for (size_t i = 0; i < n; i++) {
        PUT(av[i].key, attrs[2 * i]);
        PUT(av[i].value, attrs[2 * i + 1]);
    }
#undef PUT
    ev->attrs = av;
    ev->nattrs = n;
    return ev;
}

static void ring_push(struct evbus *bus, struct event *ev)
{
    if (bus->len == bus->cap) {
        free(bus->ring[bus->head]);
        bus->head = (bus->head + 1) % bus->cap;
        bus->len--;
    }
    bus->ring[(bus->head + bus->len) % bus->cap] = ev;
    bus->len++;
}

int evbus_publish_at(struct evbus *bus, int64_t time_ns, const char *type, const char *action,
                     const char *id, const char *const *attrs)
{
    struct event *ev = event_pack(type, action, id ? id : "", attrs);
    if (!ev)
        return -ENOMEM;
    ev->seq = bus->next_seq++;
    ev->time_ns = time_ns;
    ring_push(bus, ev);
    struct list *pos, *tmp;
    list_for_each_safe(pos, tmp, &bus->subs)
    {
        struct evbus_sub *sub = container_of(pos, struct evbus_sub, link);
        sub->fn(ev, sub->data);
    }
    return 0;
}

int evbus_publish(struct evbus *bus, const char *type, const char *action, const char *id,
                  const char *const *attrs)
{
    return evbus_publish_at(bus, time_now_ns(), type, action, id, attrs);
}

void evbus_subscribe(struct evbus *bus, struct evbus_sub *sub, evbus_fn fn, void *data)
{
    sub->fn = fn;
    sub->data = data;
    list_add_tail(&bus->subs, &sub->link);
}

void evbus_unsubscribe(struct evbus_sub *sub)
{
    if (list_empty(&sub->link) || !sub->fn)
        return;
    list_del(&sub->link);
    sub->fn = NULL;
}

void evbus_replay(const struct evbus *bus, int64_t since_ns, int64_t until_ns, evbus_fn fn,
                  void *data)
{
    for (size_t i = 0; i < bus->len; i++) {
        const struct event *ev = bus->ring[(bus->head + i) % bus->cap];
        if (ev->time_ns >= since_ns && ev->time_ns <= until_ns)
            fn(ev, data);
    }
}

size_t evbus_subscriber_count(const struct evbus *bus)
{
    size_t n = 0;
    const struct list *pos;
    for (pos = bus->subs.next; pos != &bus->subs; pos = pos->next)
        n++;
    return n;
}
