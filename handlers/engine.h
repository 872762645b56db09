/* The engine context every handler receives through srv_req_ctx(): the
 * daemon's configuration and the subsystems' tables. Loop thread only. */
#ifndef BERTH_HANDLERS_ENGINE_H
#define BERTH_HANDLERS_ENGINE_H

#include <stdint.h>
#include <uv.h>

#include "common/config.h"
#include "common/events.h"
#include "common/hostinfo.h"
#include "common/httpc.h"
#include "runtime/rt.h"
#include "storage/pull.h"
#include "storage/store.h"

struct srv_server;

struct engine {
    uv_loop_t *loop;
    struct config cfg; /* replaced as a whole on reload */
    struct evbus *events;
    struct srv_server *srv;
    struct store *store;
    struct httpc_pool *http;
    struct pull_ctx pulls;
    struct rt rt;
    struct host_static host;
    char id[40]; /* engine ID, persisted in <data-root>/engine-id */
    int64_t started_ns;
};

#endif
