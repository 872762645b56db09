/* The read side of docker cp and docker export: a tar of a container's
 * files (storage/path_archive) streamed as 200 application/x-tar, one chunk
 * made on a worker at a time and only while the client keeps up, from a
 * view of the container's filesystem (runtime/ctr_fs) that lives as long
 * as the request. Shared by containers_archive.c and containers_export.c. */
#ifndef BERTH_HANDLERS_CONTAINERS_TAR_H
#define BERTH_HANDLERS_CONTAINERS_TAR_H

#include "server/http.h"

enum ctr_tar_kind {
    CTR_TAR_STAT,   /* HEAD /containers/{id}/archive: the stat header alone */
    CTR_TAR_PATH,   /* GET /containers/{id}/archive: the stat header and the tar */
    CTR_TAR_EXPORT, /* GET /containers/{id}/export: the root, without mounts */
};

/* Ends the request (an error reply, or the stream). path: the path query
 * parameter for STAT and PATH (checked by the caller), else NULL. */
void ctr_tar_start(struct srv_req *req, enum ctr_tar_kind kind, const char *path);

#endif
