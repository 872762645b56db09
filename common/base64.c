#include "base64.h"

#include <errno.h>
#include <stdint.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_encode(const void *data, size_t len, struct buf *out)
{
    const unsigned char *p = data;
    if (buf_reserve(out, (len + 2) / 3 * 4) < 0)
        return -ENOMEM;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < len)
            v |= p[i + 2];
        char q[4] = {alphabet[v >> 18], alphabet[(v >> 12) & 63],
                     i + 1 < len ? alphabet[(v >> 6) & 63] : '=',
                     i + 2 < len ? alphabet[v & 63] : '='};
        buf_append(out, q, 4);
    }
    return 0;
}

static int sextet(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

int base64_decode(const char *text, size_t len, struct buf *out)
{
    while (len > 0 && (text[len - 1] == '=' || text[len - 1] == '\n' || text[len - 1] == '\r'))
        len--;
    if (len % 4 == 1)
        return -EINVAL;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = sextet(text[i]);
        if (v < 0)
            return -EINVAL;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            char byte = (char)((acc >> bits) & 0xff);
            if (buf_append(out, &byte, 1) < 0)
                return -ENOMEM;
        }
    }
    if (!out->data)
        buf_append(out, "", 0);
    return 0;
}
