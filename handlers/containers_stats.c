/* GET /containers/{name}/stats?stream=&one-shot=: moby's ContainerStats.
 * A stream writes one JSON line a second (chunked) until the client goes
 * away or the container is removed; a stopped container streams Docker's
 * empty samples (name and id, every counter zero). stream=0 answers one
 * sample whose precpu_stats come from a read a second earlier, as moby
 * primes its first frame, unless one-shot=1 (then precpu is zero). Each
 * sample is read on a worker (runtime/ctr_stats.c); a timer paces them. */
#include <stdlib.h>

#include "containers.h"
#include "containers_stats.h"

#define STATS_INTERVAL_MS 1000
/* A client that does not read loses samples rather than growing a queue. */
#define STATS_QUEUED_MAX (1u << 20)

struct stats_req {
    struct srv_req *req; /* NULL once the request has ended */
    struct engine *e;
    struct container *c; /* referenced */
    bool stream, one_shot, primed;
    uv_timer_t timer;
    struct rt_stats_op *op; /* a sample being read */
    struct ctr_stats_sample prev;
    bool have_prev;
};

static const struct ctr_stats_sample not_running = {.running = false};

static cJSON *sample_json(const struct stats_req *sr, const struct ctr_stats_sample *s)
{
    struct stats_view v = {.name = sr->c->name,
                           .id = sr->c->id,
                           .cur = s,
                           .pre = sr->have_prev ? &sr->prev : NULL,
                           .host_mem = (uint64_t)sr->e->host.mem_total};
    return ctr_stats_json(&v);
}

static void timer_closed(uv_handle_t *h)
{
    struct stats_req *sr = h->data;
    ctr_unref(sr->c);
    free(sr);
}

/* Ends the request (a stream, or the one answer of stream=0) and lets go
 * of everything; a sample still being read is dropped when it comes. */
static void end_request(struct stats_req *sr, cJSON *answer)
{
    struct srv_req *req = sr->req;
    req->on_abort = NULL;
    if (sr->stream)
        srv_stream_end(req);
    else
        srv_reply_json(req, 200, answer ? answer : sample_json(sr, &not_running));
    sr->req = NULL;
    if (sr->op)
        rt_stats_cancel(sr->op);
    sr->op = NULL;
    uv_close((uv_handle_t *)&sr->timer, timer_closed);
}

static void take_sample(struct stats_req *sr);

static void tick(uv_timer_t *t)
{
    take_sample(t->data);
}

static void keep_and_wait(struct stats_req *sr, const struct ctr_stats_sample *s)
{
    sr->prev = *s;
    sr->have_prev = true;
    uv_timer_start(&sr->timer, tick, STATS_INTERVAL_MS, 0);
}

static void deliver(struct stats_req *sr, const struct ctr_stats_sample *s)
{
    if (!sr->stream && s->running && !sr->one_shot && !sr->primed) {
        sr->primed = true; /* the first read only primes precpu_stats */
        keep_and_wait(sr, s);
        return;
    }
    cJSON *j = sample_json(sr, s);
    if (!sr->stream) {
        end_request(sr, j);
        return;
    }
    if (srv_req_queued(sr->req) < STATS_QUEUED_MAX)
        srv_stream_write_json(sr->req, j);
    cJSON_Delete(j);
    keep_and_wait(sr, s);
}

static void on_sample(void *ud, const struct ctr_stats_sample *s)
{
    struct stats_req *sr = ud;
    sr->op = NULL;
    deliver(sr, s);
}

static void take_sample(struct stats_req *sr)
{
    if (sr->c->removed) { /* moby's StopCollection closes the stream */
        end_request(sr, NULL);
        return;
    }
    if (rt_stats_sample(&sr->e->rt, sr->c, on_sample, sr, &sr->op) < 0)
        deliver(sr, &not_running);
}

static void on_abort(struct srv_req *req)
{
    end_request(req->data, NULL);
}

/* one-shot exists from API 1.41 on; older requests ignore it. */
static bool one_shot_of(const struct srv_req *req)
{
    bool known = !req->api_versioned || req->api_major > 1 || req->api_minor >= 41;
    return known && srv_req_query_bool(req, "one-shot");
}

void h_containers_stats(struct srv_req *req)
{
    struct container *c = ctr_from_req(req);
    if (!c)
        return;
    bool stream = !srv_req_query(req, "stream") || srv_req_query_bool(req, "stream");
    bool one_shot = one_shot_of(req);
    if (stream && one_shot) {
        srv_reply_error(req, 400, "cannot have stream=true and one-shot=true");
        return;
    }
    struct stats_req *sr = calloc(1, sizeof(*sr));
    if (!sr) {
        srv_reply_error(req, 500, "out of memory");
        return;
    }
    struct engine *e = srv_req_ctx(req);
    *sr = (struct stats_req){.req = req, .e = e, .c = c, .stream = stream, .one_shot = one_shot};
    ctr_ref(c);
    uv_timer_init(e->loop, &sr->timer);
    sr->timer.data = req->data = sr;
    req->on_abort = on_abort;
    if (stream)
        srv_stream_begin(req, 200, "application/json");
    take_sample(sr);
}
