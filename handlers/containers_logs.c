/* GET /containers/{name}/logs?stdout=&stderr=&since=&until=&timestamps=&tail=&follow=:
 * the json-file log read on workers (runtime/logread.c) and streamed with
 * Docker's framing; the next chunk is read only once the client has taken
 * the previous one, and follow ends when the container stops. */
#include <stdlib.h>
#include <string.h>

#include "common/jsonutil.h"
#include "containers.h"
#include "runtime/logread.h"

struct logs_req {
    struct srv_req *req;
    struct logread *r;
    bool waiting_drain;
};

static void on_chunk(void *ud, char *data, size_t len)
{
    struct logs_req *lr = ud;
    srv_stream_write(lr->req, data, len);
    free(data);
    if (srv_req_queued(lr->req) > (1u << 20))
        lr->waiting_drain = true;
    else
        logread_next(lr->r);
}

static void on_drain(struct srv_req *req)
{
    struct logs_req *lr = req->data;
    if (lr->waiting_drain && lr->r) {
        lr->waiting_drain = false;
        logread_next(lr->r);
    }
}

static void on_end(void *ud, int status)
{
    struct logs_req *lr = ud;
    (void)status;
    lr->req->on_abort = NULL;
    lr->req->on_drain = NULL;
    srv_stream_end(lr->req);
    free(lr);
}

static void on_abort(struct srv_req *req)
{
    struct logs_req *lr = req->data;
    logread_cancel(lr->r);
    req->on_abort = NULL;
    req->on_drain = NULL;
    srv_stream_end(req);
    free(lr);
}

static int parse_opts(struct srv_req *req, const struct container *c, struct logread_opts *o,
                      struct berr *err)
{
    memset(o, 0, sizeof(*o));
    o->show_stdout = srv_req_query_bool(req, "stdout");
    o->show_stderr = srv_req_query_bool(req, "stderr");
    o->timestamps = srv_req_query_bool(req, "timestamps");
    o->follow = srv_req_query_bool(req, "follow");
    o->tty = json_get_bool(c->config, "Tty");
    const char *tail = srv_req_query(req, "tail");
    o->tail = tail ? logread_parse_tail(tail) : -1;
    const char *since = srv_req_query(req, "since"), *until = srv_req_query(req, "until");
    if ((since && logread_parse_time(since, &o->since_ns) < 0) ||
        (until && logread_parse_time(until, &o->until_ns) < 0))
        return berr_set(err, 400, 22, "invalid time value for since/until");
    return logread_check_opts(o, err);
}

void h_containers_logs(struct srv_req *req)
{
    struct container *c = ctr_from_req(req);
    if (!c)
        return;
    struct logread_opts o;
    struct berr err = {0};
    if (parse_opts(req, c, &o, &err) < 0) {
        srv_reply_berr(req, &err);
        return;
    }
    if (strcmp(c->hc.log_type, "json-file")) {
        srv_reply_error(req, 501, "configured logging driver does not support reading");
        return;
    }
    struct logs_req *lr = calloc(1, sizeof(*lr));
    char *path = NULL;
    if (!lr || logw_path_for(c->dir, c->id, &path) < 0) {
        free(lr);
        srv_reply_error(req, 500, "out of memory");
        return;
    }
    lr->req = req;
    req->data = lr;
    srv_stream_begin(req, 200,
                     o.tty ? "application/vnd.docker.raw-stream"
                           : "application/vnd.docker.multiplexed-stream");
    struct engine *e = srv_req_ctx(req);
    lr->r = logread_start(e->loop, &o, path, rt_log_writer(c), on_chunk, on_end, lr);
    free(path);
    if (!lr->r) {
        srv_stream_end(req);
        free(lr);
        return;
    }
    req->on_abort = on_abort;
    req->on_drain = on_drain;
}
