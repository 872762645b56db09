/* libFuzzer target: raw bytes from a client, through the real server (llhttp,
 * limits, request target and query decoding, the router with its version
 * prefix, keep-alive and pipelining, hijack refusal) and the real handlers of
 * routes_router(), over a socketpair.
 *
 * The input is exactly what the client sends; the connection is then
 * half-closed and the server must close it and go idle again, with nothing
 * leaked. Whether the bytes arrive in one read or in pieces is chosen from a
 * hash of the input, as is (for one input in 16) a slow client that meets
 * 2 ms server timeouts, so a crash reproduces from the file alone.
 *
 * BERTH_FUZZ_DUMP=1 prints each exchange's output to stderr.
 *
 * Oracle: the server's output must be a well-framed sequence of HTTP/1.1
 * responses, nothing after one that says "Connection: close", and only a
 * chunked stream may be cut short (the client's half-close aborts it). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

#define MAX_INPUT (64 * 1024)
#define KEEP_OUT  (16 * 1024 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t fnv1a(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static void bad_output(const char *why, const char *all, size_t len, size_t at)
{
    size_t from = at > 200 ? at - 200 : 0;
    size_t n = len - from < 400 ? len - from : 400;
    fprintf(stderr, "server output is not valid HTTP at offset %zu: %s\n---\n%.*s\n---\n", at, why,
            (int)n, all + from);
    abort();
}

static const char *find(const char *p, const char *end, const char *needle)
{
    size_t n = strlen(needle);
    for (; p + n <= end; p++) {
        if (memcmp(p, needle, n) == 0)
            return p;
    }
    return NULL;
}

static bool header_has(const char *head, const char *head_end, const char *line)
{
    return find(head, head_end, line) != NULL;
}

/* Walks "hex\r\n data \r\n" chunks to "0\r\n\r\n". Returns the end, or NULL
 * if the output stops at a chunk boundary first (an aborted stream). */
static const char *walk_chunks(const char *all, const char *p, const char *end, size_t len)
{
    for (;;) {
        if (p == end)
            return NULL;
        char *after;
        unsigned long n = strtoul(p, &after, 16);
        if (after == p || after + 2 > end || memcmp(after, "\r\n", 2) != 0)
            bad_output("bad chunk size line", all, len, (size_t)(p - all));
        p = after + 2;
        if (n == 0) {
            if (p + 2 > end || memcmp(p, "\r\n", 2) != 0)
                bad_output("chunked body without its final CRLF", all, len, (size_t)(p - all));
            return p + 2;
        }
        if ((size_t)(end - p) < n + 2 || memcmp(p + n, "\r\n", 2) != 0)
            bad_output("truncated or unterminated chunk", all, len, (size_t)(p - all));
        p += n + 2;
    }
}

static void check_responses(const char *all, size_t len)
{
    const char *p = all, *end = all + len;
    while (p < end) {
        if ((size_t)(end - p) < 13 || memcmp(p, "HTTP/1.1 ", 9) != 0 || p[12] != ' ')
            bad_output("expected a status line", all, len, (size_t)(p - all));
        int status = atoi(p + 9);
        const char *head_end = find(p, end, "\r\n\r\n");
        if (!head_end)
            bad_output("headers not terminated", all, len, (size_t)(p - all));
        head_end += 2; /* keep the last header's CRLF inside the head */
        const char *body = head_end + 2;
        bool closes = header_has(p, head_end, "\r\nConnection: close\r\n");
        const char *cl = find(p, head_end, "\r\nContent-Length: ");
        if (status < 200 || status == 204 || status == 304) {
            p = body;
        } else if (header_has(p, head_end, "\r\nTransfer-Encoding: chunked\r\n")) {
            p = walk_chunks(all, body, end, len);
            if (!p)
                return; /* stream cut by the client's half-close */
        } else if (cl) {
            size_t n = strtoul(cl + 18, NULL, 10);
            bool head_reply =
                n > 0 && ((size_t)(end - body) == 0 ||
                          ((size_t)(end - body) >= 9 && memcmp(body, "HTTP/1.1 ", 9) == 0));
            if (!head_reply && (size_t)(end - body) < n)
                bad_output("body shorter than its Content-Length", all, len, (size_t)(body - all));
            p = head_reply ? body : body + n;
        } else {
            bad_output("response without a length", all, len, (size_t)(p - all));
        }
        if (closes && p != end)
            bad_output("bytes after a Connection: close response", all, len, (size_t)(p - all));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wire_init();
    if (size > MAX_INPUT)
        size = MAX_INPUT;
    uint32_t h = fnv1a(data, size);
    uint32_t split_seed = (h & 1) ? h : 0;
    unsigned flags = (h >> 8) % 16 == 0 ? WIRE_SLOW_CLIENT : 0;
    struct buf out = BUF_INIT;
    size_t total = wire_exchange(data, size, split_seed, flags, &out, KEEP_OUT);
    if (getenv("BERTH_FUZZ_DUMP")) /* show the exchange when replaying by hand */
        fprintf(stderr, "--- %zu bytes in, %zu bytes out:\n%.*s\n", size, total, (int)out.len,
                out.data ? out.data : "");
    if (total == out.len && total > 0)
        check_responses(out.data, out.len);
    buf_done(&out);
    return 0;
}
