/* SHA-256 compression with the x86 SHA extensions (SHA-NI), several times
 * faster than mbedtls 2.28's portable code, which has no such path. Every
 * pulled byte is hashed twice (compressed, then uncompressed for the diff
 * ID), so this is the pull's hottest loop. */
#ifndef BERTH_STORAGE_SHA256_NI_H
#define BERTH_STORAGE_SHA256_NI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when this CPU has SHA-NI and SSE4.1 (checked once). */
bool sha256_ni_available(void);

/* Compresses nblocks 64-byte blocks into state (A..H, host order). Only call
 * when sha256_ni_available(). */
void sha256_ni_blocks(uint32_t state[8], const unsigned char *data, size_t nblocks);

#endif
