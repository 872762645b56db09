/* GET /containers/{id}/export: moby's getContainersExport. The container's
 * root filesystem (its image's files with its own changes; deleted files
 * absent; no volume, bind or tmpfs mount) as an uncompressed tar, streamed
 * chunk by chunk from a worker (containers_tar.c), for running and stopped
 * containers alike. An `export` event is published. */
#include "containers.h"
#include "containers_tar.h"

void h_containers_export(struct srv_req *req)
{
    ctr_tar_start(req, CTR_TAR_EXPORT, NULL);
}
