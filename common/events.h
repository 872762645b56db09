/* In-process event bus (loop thread only). Subsystems publish Docker-style
 * events (type, action, actor id, attributes); GET /events subscribers get
 * them live, and a bounded history serves `since` replays. */
#ifndef BERTH_COMMON_EVENTS_H
#define BERTH_COMMON_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "list.h"

struct event_attr {
    const char *key;
    const char *value;
};

struct event {
    uint64_t seq;
    int64_t time_ns;
    const char *type;   /* container, image, volume, network, daemon, ... */
    const char *action; /* create, start, die, reload, ... */
    const char *id;     /* Actor.ID */
    const char *scope;  /* "local" */
    const struct event_attr *attrs;
    size_t nattrs;
};

typedef void (*evbus_fn)(const struct event *ev, void *data);

struct evbus_sub {
    struct list link;
    evbus_fn fn;
    void *data;
};

struct evbus;

struct evbus *evbus_new(size_t history);
void evbus_free(struct evbus *bus);

/* Publishes an event now; attrs is a NULL-terminated key, value, ... list.
 * Returns 0 or -ENOMEM (the event is then dropped). */
int evbus_publish(struct evbus *bus, const char *type, const char *action, const char *id,
                  const char *const *attrs);
/* As evbus_publish with an explicit time (tests, replays of stored state). */
int evbus_publish_at(struct evbus *bus, int64_t time_ns, const char *type, const char *action,
                     const char *id, const char *const *attrs);

/* Subscribers are called synchronously by publish. A subscriber may remove
 * itself from inside its callback, but no other subscriber. */
void evbus_subscribe(struct evbus *bus, struct evbus_sub *sub, evbus_fn fn, void *data);
void evbus_unsubscribe(struct evbus_sub *sub);

/* Calls fn for each stored event with since_ns <= time <= until_ns, oldest first. */
void evbus_replay(const struct evbus *bus, int64_t since_ns, int64_t until_ns, evbus_fn fn,
                  void *data);

size_t evbus_subscriber_count(const struct evbus *bus);

#endif
