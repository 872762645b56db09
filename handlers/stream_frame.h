/* Docker's stdio stream framing on hijacked connections (API-NOTES §4):
 * an 8-byte header {stream, 0, 0, 0, big-endian length} before each
 * payload. Used by attach and exec when the process has no TTY. */
#ifndef BERTH_HANDLERS_STREAM_FRAME_H
#define BERTH_HANDLERS_STREAM_FRAME_H

#include <stddef.h>

struct srv_req;

/* Writes data as one or more frames of the given stream (0 stdin, 1 stdout,
 * 2 stderr) on the hijacked request. */
void stream_frame_write(struct srv_req *req, int stream, const char *data, size_t len);

#endif
