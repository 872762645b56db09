/* The route table of the Docker API subset berthd serves. api-spec/ must
 * describe exactly these routes (checked by a test). */
#ifndef BERTH_HANDLERS_ROUTES_H
#define BERTH_HANDLERS_ROUTES_H

#include "server/router.h"

const struct srv_router *routes_router(void);

#endif
