/* An in-process berthd for tests and fuzzing: the real engine context, the
 * real server and routes_router(), driven over a socketpair with no
 * listening socket. One instance per process, on its own loop. */
#ifndef BERTH_TESTS_FUZZ_WIRE_H
#define BERTH_TESTS_FUZZ_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/* Builds the engine and the server once; later calls do nothing. Aborts on
 * failure (a test harness has no way to go on). */
void wire_init(void);

/* One client connection: writes data (in pieces chosen from split_seed, 0 =
 * one write, letting the server read between pieces), half-closes unless
 * WIRE_KEEP_WRITE_OPEN is in flags (the request must then make the server
 * close, e.g. with "Connection: close"), and runs the loop until the server
 * has closed the connection and the loop is idle again. The server's bytes are appended to out (at
 * most out_max bytes kept; out may be NULL). Aborts when the server does not finish within
 * WIRE_DEADLINE_MS. Returns the number of bytes the server sent. */
size_t wire_exchange(const uint8_t *data, size_t len, uint32_t split_seed, unsigned flags,
                     struct buf *out, size_t out_max);

#define WIRE_KEEP_WRITE_OPEN 1u
/* A slow client: the server runs with 2 ms header and idle timeouts, and the
 * client half-closes only WIRE_SLOW_CLOSE_MS after its last byte, so 408s
 * and idle closes happen. */
#define WIRE_SLOW_CLIENT   2u
#define WIRE_SLOW_CLOSE_MS 10

#define WIRE_DEADLINE_MS 8000

#endif
