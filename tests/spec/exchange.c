/* Sends the bytes read from stdin to an in-process berthd (tests/fuzz/wire.c:
 * the real engine, server and routes_router() on a socketpair) and writes
 * everything the server answered to stdout. The write side stays open (a
 * half-close would abort the request), so the request must make the server
 * close the connection ("Connection: close"). check_responses.py
 * uses it to validate real responses against api-spec/openapi.yaml. */
#include <stdio.h>
#include <stdlib.h>

#include "wire.h"

int main(void)
{
    struct buf in = BUF_INIT, out = BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0) {
        if (buf_append(&in, chunk, n) < 0)
            return 1;
    }
    wire_init();
    wire_exchange((const uint8_t *)(in.data ? in.data : ""), in.len, 0, WIRE_KEEP_WRITE_OPEN, &out,
                  (size_t)-1);
    int r = out.len && fwrite(out.data, 1, out.len, stdout) != out.len ? 1 : 0;
    buf_done(&in);
    buf_done(&out);
    return r;
}
