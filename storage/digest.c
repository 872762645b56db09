#include "digest.h"

#include "sha256_ni.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void sha256_init(struct sha256 *h)
{
    static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    h->ni = sha256_ni_available();
    h->total = 0;
    h->used = 0;
    memcpy(h->state, iv, sizeof(iv));
    mbedtls_sha256_init(&h->ctx);
    if (!h->ni)
        mbedtls_sha256_starts_ret(&h->ctx, 0);
}

static void ni_update(struct sha256 *h, const unsigned char *p, size_t len)
{
    h->total += len;
    if (h->used) {
        size_t take = 64 - h->used < len ? 64 - h->used : len;
        memcpy(h->block + h->used, p, take);
        h->used += take;
        p += take;
        len -= take;
        if (h->used < 64)
            return;
        sha256_ni_blocks(h->state, h->block, 1);
        h->used = 0;
    }
    if (len >= 64) {
        sha256_ni_blocks(h->state, p, len / 64);
        p += len / 64 * 64;
        len %= 64;
    }
    memcpy(h->block, p, len);
    h->used = len;
}

void sha256_update(struct sha256 *h, const void *data, size_t len)
{
    if (len == 0) /* data may be NULL then, which memcpy must never see */
        return;
    if (h->ni)
        ni_update(h, data, len);
    else
        mbedtls_sha256_update_ret(&h->ctx, data, len);
}

static void hex_digest(const unsigned char bin[32], char out[DIGEST_STR_MAX])
{
    static const char hex[] = "0123456789abcdef";
    memcpy(out, "sha256:", 7);
    for (size_t i = 0; i < 32; i++) {
        out[7 + 2 * i] = hex[bin[i] >> 4];
        out[8 + 2 * i] = hex[bin[i] & 15];
    }
    out[7 + DIGEST_HEX_LEN] = '\0';
}

/* FIPS 180-4 padding: 0x80, zeros, then the bit length big-endian. */
static void ni_final(struct sha256 *h, unsigned char bin[32])
{
    uint64_t bits = h->total * 8;
    unsigned char pad[72] = {0x80};
    size_t padlen = (h->used < 56 ? 56 : 120) - h->used;
    for (int i = 0; i < 8; i++)
        pad[padlen + (size_t)i] = (unsigned char)(bits >> (56 - 8 * i));
    uint64_t total = h->total;
    ni_update(h, pad, padlen + 8);
    h->total = total;
    for (int i = 0; i < 8; i++) {
        bin[4 * i] = (unsigned char)(h->state[i] >> 24);
        bin[4 * i + 1] = (unsigned char)(h->state[i] >> 16);
        bin[4 * i + 2] = (unsigned char)(h->state[i] >> 8);
        bin[4 * i + 3] = (unsigned char)h->state[i];
    }
}

void sha256_final(struct sha256 *h, char out[DIGEST_STR_MAX])
{
    unsigned char bin[32];
    if (h->ni)
        ni_final(h, bin);
    else
        mbedtls_sha256_finish_ret(&h->ctx, bin);
    mbedtls_sha256_free(&h->ctx);
    hex_digest(bin, out);
}

void sha256_done(struct sha256 *h)
{
    mbedtls_sha256_free(&h->ctx);
}

void sha256_digest(const void *data, size_t len, char out[DIGEST_STR_MAX])
{
    struct sha256 h;
    sha256_init(&h);
    sha256_update(&h, data, len);
    sha256_final(&h, out);
}

int sha256_file(const char *path, char out[DIGEST_STR_MAX], uint64_t *ret_size, struct berr *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return berr_errno(err, errno == ENOENT ? 404 : 500, errno, "open '%s'", path);
    struct sha256 h;
    sha256_init(&h);
    static _Thread_local char block[256 * 1024];
    uint64_t total = 0;
    ssize_t n;
    while ((n = read(fd, block, sizeof(block))) > 0 || (n < 0 && errno == EINTR)) {
        if (n < 0)
            continue;
        sha256_update(&h, block, (size_t)n);
        total += (uint64_t)n;
    }
    int r = n < 0 ? -errno : 0;
    close(fd);
    if (r < 0) {
        sha256_done(&h);
        return berr_errno(err, 500, -r, "read '%s'", path);
    }
    sha256_final(&h, out);
    if (ret_size)
        *ret_size = total;
    return 0;
}

const char *digest_hex(const char *digest)
{
    const char *colon = strchr(digest, ':');
    return colon ? colon + 1 : digest;
}

void digest_chain_id(const char *parent_chain, const char *diff_id, char out[DIGEST_STR_MAX])
{
    if (!parent_chain || !*parent_chain) {
        snprintf(out, DIGEST_STR_MAX, "%s", diff_id);
        return;
    }
    char joined[2 * DIGEST_STR_MAX + 2];
    int n = snprintf(joined, sizeof(joined), "%s %s", parent_chain, diff_id);
    sha256_digest(joined, (size_t)n, out);
}
