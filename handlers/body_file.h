/* Streams a request body (Content-Length or chunked) into a file, written
 * on workers one buffer at a time while the next fills; reading from the
 * client pauses whenever the disk falls behind, so memory stays bounded
 * whatever the body's size. */
#ifndef BERTH_HANDLERS_BODY_FILE_H
#define BERTH_HANDLERS_BODY_FILE_H

#include <stdint.h>

#include "server/http.h"
#include "storage/digest.h"

struct body_file;

/* result 0: the whole body is in path (size bytes, sha256 digest). On error
 * the file is removed and the caller ends the request (the rest of the body
 * is discarded). Before done runs, req->data is set back to ud and
 * req->on_body cleared, so the request is the caller's alone again. Called on
 * the loop; the body_file is freed after. */
typedef void (*body_file_fn)(struct body_file *bf, int result, const struct berr *err, void *ud);

struct body_file_result {
    uint64_t size;
    char digest[DIGEST_STR_MAX];
};

/* Takes req->on_body and req->data (the body_file; body_file_ud gives the
 * caller's context back, e.g. in on_abort). While req->on_body is set,
 * req->data is the body_file; once it is cleared, the caller's ud. Must be
 * called from a SRV_ROUTE_STREAM_BODY handler before the body arrives.
 * max_size 0 = unlimited. */
int body_file_start(struct srv_req *req, const char *path, uint64_t max_size, body_file_fn done,
                    void *ud, struct berr *err);
const struct body_file_result *body_file_result(const struct body_file *bf);
void *body_file_ud(const struct body_file *bf);
/* The client went away: stop, remove the file; done is not called. Valid
 * until done has run (or this was called once). */
void body_file_cancel(struct body_file *bf);

#endif
