/* Docker's detach key parsing (moby's term.ToBytes rules) and a byte-wise
 * matcher. Matching byte by byte, rather than only on one-byte reads as
 * Docker's proxy does, detaches the same way however the terminal's input
 * is split into reads. */
#include "detach_keys.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

/* "ctrl-x" → its control code, or -1. */
static int ctrl_code(const char *name)
{
    if (strlen(name) != 1)
        return -1;
    int ch = tolower((unsigned char)name[0]);
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 1;
    const char *punct = "@[\\]^_";
    const char *p = strchr(punct, ch);
    if (!p || !ch)
        return -1;
    return p == punct ? 0 : 27 + (int)(p - punct - 1);
}

/* One key of the list, [s, s + n). */
static int key_code(const char *s, size_t n)
{
    char key[16];
    if (n == 0 || n >= sizeof(key))
        return -1;
    memcpy(key, s, n);
    key[n] = 0;
    if (n == 1)
        return (unsigned char)key[0];
    if (strncasecmp(key, "ctrl-", 5) == 0)
        return ctrl_code(key + 5);
    return -1;
}

int detach_keys_parse(const char *spec, struct detach_keys *ret, struct berr *err)
{
    const char *s = spec && *spec ? spec : DETACH_KEYS_DEFAULT;
    struct detach_keys k = {0};
    for (;;) {
        size_t n = strcspn(s, ",");
        int code = key_code(s, n);
        if (code < 0 || k.len == DETACH_KEYS_MAX)
            return berr_set(err, 400, EINVAL, "Invalid detach keys (%s) provided", spec);
        k.seq[k.len++] = (unsigned char)code;
        if (!s[n])
            break;
        s += n + 1;
    }
    *ret = k;
    return 0;
}

size_t detach_keys_filter(struct detach_keys *k, const char *in, size_t n, char *out,
                          bool *detached)
{
    size_t o = 0;
    for (size_t i = 0; i < n && k->len; i++) {
        unsigned char ch = (unsigned char)in[i];
        if (ch == k->seq[k->pos]) {
            if (++k->pos == k->len) {
                k->pos = 0;
                *detached = true;
                return o;
            }
            continue;
        }
        o += detach_keys_flush(k, out + o);
        if (ch == k->seq[0])
            k->pos = 1; /* a broken sequence may start the next one */
        else
            out[o++] = (char)ch;
    }
    if (!k->len) {
        memcpy(out, in, n);
        o = n;
    }
    return o;
}

size_t detach_keys_flush(struct detach_keys *k, char *out)
{
    size_t n = k->pos;
    memcpy(out, k->seq, n);
    k->pos = 0;
    return n;
}
