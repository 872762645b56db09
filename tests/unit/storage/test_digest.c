/* storage/digest.c and sha256_ni.c: the SHA-NI path agrees with mbedtls for
 * every length and chunking; known FIPS vectors; chain IDs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "storage/digest.h"
#include "storage/sha256_ni.h"

static void reference_digest(const unsigned char *p, size_t n, char out[DIGEST_STR_MAX])
{
    struct sha256 h;
    sha256_init(&h);
    h.ni = false; /* force the mbedtls path */
    mbedtls_sha256_starts_ret(&h.ctx, 0);
    sha256_update(&h, p, n);
    sha256_final(&h, out);
}

static void test_known_vectors(void **state)
{
    (void)state;
    char d[DIGEST_STR_MAX];
    sha256_digest("", 0, d);
    assert_string_equal(d,
                        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    sha256_digest("abc", 3, d);
    assert_string_equal(d,
                        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha256_digest(two, strlen(two), d);
    assert_string_equal(d,
                        "sha256:248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

/* Every length 0..300 (all padding cases) and random chunkings. */
static void test_matches_mbedtls(void **state)
{
    (void)state;
    size_t cap = 70000;
    unsigned char *buf = malloc(cap);
    srand(42);
    for (size_t i = 0; i < cap; i++)
        buf[i] = (unsigned char)rand();
    size_t lengths[320];
    size_t nlen = 0;
    for (size_t n = 0; n <= 300; n++)
        lengths[nlen++] = n;
    size_t big[] = {1023, 4096, 65535, 65536, 65537, 69999};
    for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++)
        lengths[nlen++] = big[i];
    for (size_t k = 0; k < nlen; k++) {
        size_t n = lengths[k];
        char want[DIGEST_STR_MAX], got[DIGEST_STR_MAX];
        reference_digest(buf, n, want);
        struct sha256 h;
        sha256_init(&h);
        for (size_t off = 0; off < n;) {
            size_t step = (size_t)(rand() % 131) + 1;
            if (step > n - off)
                step = n - off;
            sha256_update(&h, buf + off, step);
            off += step;
        }
        sha256_final(&h, got);
        assert_string_equal(got, want);
    }
    free(buf);
}

static void test_ni_reported(void **state)
{
    (void)state;
    struct sha256 h;
    sha256_init(&h);
    /* this CI machine has SHA-NI (TESTING-NOTES); elsewhere the fallback runs */
    assert_int_equal(h.ni, sha256_ni_available());
    sha256_done(&h);
}

static void test_chain_ids(void **state)
{
    (void)state;
    char c[DIGEST_STR_MAX];
    const char *d0 = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    digest_chain_id("", d0, c);
    assert_string_equal(c, d0);
    char joined[DIGEST_STR_MAX * 2 + 2], want[DIGEST_STR_MAX];
    snprintf(joined, sizeof(joined), "%s %s", d0, d0);
    sha256_digest(joined, strlen(joined), want);
    digest_chain_id(d0, d0, c);
    assert_string_equal(c, want);
    assert_string_equal(digest_hex(d0), d0 + 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_vectors),
        cmocka_unit_test(test_matches_mbedtls),
        cmocka_unit_test(test_ni_reported),
        cmocka_unit_test(test_chain_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
