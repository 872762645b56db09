/* System endpoints: /_ping, /version, /info, /system/df. */
#ifndef BERTH_HANDLERS_SYSTEM_H
#define BERTH_HANDLERS_SYSTEM_H

#include "server/http.h"

void h_ping(struct srv_req *req);
void h_version(struct srv_req *req);
void h_info(struct srv_req *req);
void h_system_df(struct srv_req *req);

/* The "Server" header value and the engine's name for it. */
#define BERTH_SERVER_NAME "Berth"

#endif
