/* POST /auth: docker login. */
#ifndef BERTH_HANDLERS_AUTH_H
#define BERTH_HANDLERS_AUTH_H

#include "server/http.h"

void h_auth(struct srv_req *req);

#endif
