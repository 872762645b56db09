#include "stream_frame.h"

#include <string.h>

#include "server/http.h"

/* One frame: header and payload go out in a single write. */
#define FRAME_MAX (64 * 1024 + 8)

void stream_frame_write(struct srv_req *req, int stream, const char *data, size_t len)
{
    static unsigned char frame[FRAME_MAX]; /* loop thread only; the write copies it */
    while (len > 0) {
        size_t n = len < FRAME_MAX - 8 ? len : FRAME_MAX - 8;
        frame[0] = (unsigned char)stream;
        frame[1] = frame[2] = frame[3] = 0;
        frame[4] = (unsigned char)(n >> 24);
        frame[5] = (unsigned char)(n >> 16);
        frame[6] = (unsigned char)(n >> 8);
        frame[7] = (unsigned char)n;
        memcpy(frame + 8, data, n);
        srv_raw_write(req, frame, n + 8);
        data += n;
        len -= n;
    }
}
