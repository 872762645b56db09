/* GET /events: replays stored events from `since`, then streams live ones
 * until `until` (if given), the client leaves, or the daemon stops. */
#include "events.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "engine.h"

/* A listener that lets this much output pile up is dropped, as moby drops
 * event subscribers that cannot keep up. */
#define EVENTS_MAX_QUEUED (4 * 1024 * 1024)

static const char *const allowed_filters[] = {
    "config", "container", "daemon", "event",   "image", "label",  "network", "node",
    "plugin", "scope",     "secret", "service", "type",  "volume", NULL,
};

struct events_stream {
    struct srv_req *req;
    struct filters filters;
    struct evbus_sub sub;
    uv_timer_t until_timer;
    bool ended;
};

static void stream_free_cb(uv_handle_t *h)
{
    struct events_stream *s = h->data;
    filters_done(&s->filters);
    free(s);
}

/* Ends the response and releases everything; safe to call more than once. */
static void stream_end(struct events_stream *s)
{
    if (s->ended)
        return;
    s->ended = true;
    evbus_unsubscribe(&s->sub);
    uv_timer_stop(&s->until_timer);
    struct srv_req *req = s->req;
    s->req = NULL;
    srv_stream_end(req);
    uv_close((uv_handle_t *)&s->until_timer, stream_free_cb);
}

static void send_event(const struct event *ev, void *data)
{
    struct events_stream *s = data;
    if (s->ended || !events_filter_match(&s->filters, ev))
        return;
    cJSON *j = events_to_json(ev);
    int r = j ? srv_stream_write_json(s->req, j) : -ENOMEM;
    cJSON_Delete(j);
    if (r < 0 || srv_req_queued(s->req) > EVENTS_MAX_QUEUED) {
        if (r == 0)
            log_warn("events listener too slow, dropping it");
        stream_end(s);
    }
}

static void until_cb(uv_timer_t *t)
{
    stream_end(t->data);
}

static void on_abort(struct srv_req *req)
{
    stream_end(req->data);
}

static int parse_time(struct srv_req *req, const char *key, int64_t *ret, bool *present,
                      struct berr *err)
{
    const char *v = srv_req_query(req, key);
    *present = v && *v;
    if (!*present)
        return 0;
    if (time_parse_unix(v, ret) < 0)
        return berr_set(err, 400, EINVAL, "invalid value for %s: '%s' (want unix seconds)", key, v);
    return 0;
}

struct events_query {
    int64_t since, until;
    bool has_since, has_until;
};

static int parse_query(struct srv_req *req, struct events_query *q, struct filters *f,
                       struct berr *err)
{
    if (parse_time(req, "since", &q->since, &q->has_since, err) < 0 ||
        parse_time(req, "until", &q->until, &q->has_until, err) < 0)
        return -EINVAL;
    if (filters_parse(srv_req_query(req, "filters"), f, err) < 0)
        return -EINVAL;
    if (filters_validate(f, allowed_filters, err) < 0) {
        filters_done(f);
        return -EINVAL;
    }
    return 0;
}

static void start_stream(struct srv_req *req, struct events_stream *s, const struct events_query *q)
{
    struct engine *e = srv_req_ctx(req);
    int64_t now = time_now_ns();
    srv_stream_begin(req, 200, "application/json");
    if (q->has_since)
        evbus_replay(e->events, q->since, q->has_until && q->until < now ? q->until : now,
                     send_event, s);
    if (s->ended)
        return;
    if (q->has_until && q->until <= now) {
        stream_end(s);
        return;
    }
    evbus_subscribe(e->events, &s->sub, send_event, s);
    if (q->has_until)
        uv_timer_start(&s->until_timer, until_cb, (uint64_t)((q->until - now) / 1000000 + 1), 0);
}

void h_events(struct srv_req *req)
{
    struct engine *e = srv_req_ctx(req);
    struct berr err = {0};
    struct events_query q = {0};
    struct filters f = {0};
    if (parse_query(req, &q, &f, &err) < 0) {
        srv_reply_berr(req, &err);
        return;
    }
    struct events_stream *s = calloc(1, sizeof(*s));
    if (!s) {
        filters_done(&f);
        srv_reply_error(req, 500, "out of memory");
        return;
    }
    s->req = req;
    s->filters = f;
    list_init(&s->sub.link);
    uv_timer_init(e->loop, &s->until_timer);
    s->until_timer.data = s;
    req->data = s;
    req->on_abort = on_abort;
    start_stream(req, s, &q);
}
