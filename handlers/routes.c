#include "routes.h"

#include "berth_version.h"
#include "common/macros.h"
#include "events.h"
#include "system.h"

static const struct srv_route routes[] = {
    {SRV_GET, "/_ping", h_ping, 0},      {SRV_HEAD, "/_ping", h_ping, 0},
    {SRV_GET, "/version", h_version, 0}, {SRV_GET, "/info", h_info, 0},
    {SRV_GET, "/events", h_events, 0},   {SRV_GET, "/system/df", h_system_df, 0},
};

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
