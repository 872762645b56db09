/* sha256 digests (mbedtls) and the IDs built from them. */
#ifndef BERTH_STORAGE_DIGEST_H
#define BERTH_STORAGE_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mbedtls/sha256.h>

#include "common/berr.h"

#define DIGEST_HEX_LEN 64
#define DIGEST_STR_MAX 72 /* "sha256:" + 64 hex + NUL */

struct sha256 {
    bool ni; /* SHA-NI compression (sha256_ni.c) instead of mbedtls */
    uint32_t state[8];
    uint64_t total;          /* bytes hashed */
    unsigned char block[64]; /* a partial block */
    size_t used;
    mbedtls_sha256_context ctx; /* the fallback */
};

void sha256_init(struct sha256 *h);
void sha256_update(struct sha256 *h, const void *data, size_t len);
/* Writes "sha256:<hex>" and releases the context. */
void sha256_final(struct sha256 *h, char out[DIGEST_STR_MAX]);
void sha256_done(struct sha256 *h); /* release without a result */

/* One-shot "sha256:<hex>" of a buffer. */
void sha256_digest(const void *data, size_t len, char out[DIGEST_STR_MAX]);

/* Streams a file through sha256; blocking (workers only). */
int sha256_file(const char *path, char out[DIGEST_STR_MAX], uint64_t *ret_size, struct berr *err);

/* The hex part of "sha256:<hex>" (or the input when it has no prefix). */
const char *digest_hex(const char *digest);

/* Chain IDs of a layer stack: chain0 = diff0, chainN = sha256(chainN-1 + " " + diffN). */
void digest_chain_id(const char *parent_chain, const char *diff_id, char out[DIGEST_STR_MAX]);

#endif
