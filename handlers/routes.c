#include "routes.h"

#include "auth.h"
#include "berth_version.h"
#include "common/macros.h"
#include "containers.h"
#include "events.h"
#include "images.h"
#include "system.h"

/* One route per line; api-spec/openapi.yaml lists the same set. */
/* clang-format off */
static const struct srv_route routes[] = {
    {SRV_GET,  "/_ping",         h_ping,          0},
    {SRV_HEAD, "/_ping",         h_ping,          0},
    {SRV_GET,  "/version",       h_version,       0},
    {SRV_GET,  "/info",          h_info,          0},
    {SRV_GET,  "/events",        h_events,        0},
    {SRV_GET,  "/system/df",     h_system_df,     0},
    {SRV_POST, "/images/create", h_images_create, SRV_ROUTE_STREAM_BODY},
    {SRV_GET,    "/images/json",            h_images_list,    0},
    {SRV_GET,    "/images/get",             h_images_get,     0},
    {SRV_POST,   "/images/load",            h_images_load,    SRV_ROUTE_STREAM_BODY},
    {SRV_POST,   "/images/prune",           h_images_prune,   0},
    {SRV_GET,    "/images/{name*}/json",    h_images_inspect, 0},
    {SRV_GET,    "/images/{name*}/history", h_images_history, 0},
    {SRV_GET,    "/images/{name*}/get",     h_images_get_one, 0},
    {SRV_POST,   "/images/{name*}/tag",     h_images_tag,     0},
    {SRV_DELETE, "/images/{name*}",         h_images_delete,  0},
    {SRV_POST, "/auth",          h_auth,          0},
    {SRV_POST,   "/containers/create",         h_containers_create,  0},
    {SRV_GET,    "/containers/json",           h_containers_list,    0},
    {SRV_POST,   "/containers/prune",          h_containers_prune,   0},
    {SRV_GET,    "/containers/{name}/json",    h_containers_inspect, 0},
    {SRV_POST,   "/containers/{name}/start",   h_containers_start,   0},
    {SRV_POST,   "/containers/{name}/stop",    h_containers_stop,    0},
    {SRV_POST,   "/containers/{name}/restart", h_containers_restart, 0},
    {SRV_POST,   "/containers/{name}/kill",    h_containers_kill,    0},
    {SRV_POST,   "/containers/{name}/wait",    h_containers_wait,    0},
    {SRV_POST,   "/containers/{name}/rename",  h_containers_rename,  0},
    {SRV_POST,   "/containers/{name}/attach",  h_containers_attach,  0},
    {SRV_POST,   "/containers/{name}/resize",  h_containers_resize,  0},
    {SRV_GET,    "/containers/{name}/logs",    h_containers_logs,    0},
    {SRV_GET,    "/containers/{name}/top",     h_containers_top,     0},
    {SRV_POST,   "/containers/{name}/update",  h_containers_update,  0},
    {SRV_POST,   "/containers/{name}/pause",   h_containers_pause,   0},
    {SRV_POST,   "/containers/{name}/unpause", h_containers_unpause, 0},
    {SRV_GET,    "/containers/{name}/stats",   h_containers_stats,   0},
    {SRV_GET,    "/containers/{name}/changes", h_containers_changes, 0},
    {SRV_POST,   "/commit",                    h_commit,             0},
    {SRV_HEAD,   "/containers/{name}/archive", h_containers_archive_head, 0},
    {SRV_GET,    "/containers/{name}/archive", h_containers_archive_get,  0},
    {SRV_PUT,    "/containers/{name}/archive", h_containers_archive_put,  SRV_ROUTE_STREAM_BODY},
    {SRV_GET,    "/containers/{name}/export",  h_containers_export,       0},
    {SRV_DELETE, "/containers/{name}",         h_containers_delete,  0},
    {SRV_POST,   "/containers/{name}/exec",    h_exec_create,        0},
    {SRV_POST,   "/exec/{name}/start",         h_exec_start,         0},
    {SRV_POST,   "/exec/{name}/resize",        h_exec_resize,        0},
    {SRV_GET,    "/exec/{name}/json",          h_exec_inspect,       0},
};
/* clang-format on */

static const struct srv_router router = {
    .routes = routes,
    .nroutes = ARRAY_SIZE(routes),
    .api_min_minor = BERTH_API_MIN_MINOR,
    .api_max_minor = BERTH_API_MAX_MINOR,
};

const struct srv_router *routes_router(void)
{
    return &router;
}
