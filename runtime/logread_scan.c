/* A dedicated scanner for json-file lines: no JSON tree, no allocation.
 * The writer's own key order ({"log":…,"stream":…,"time":…}) is matched
 * literally; anything else (other key orders, "attrs", spaces) takes a
 * generic object walk. The "log" string is unescaped straight into the
 * caller's output buffer. */
#include "logread.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- strings ---- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static int read_u4(const char *p, const char *end)
{
    if (end - p < 4)
        return -1;
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p[i]);
        if (h < 0)
            return -1;
        v = v << 4 | h;
    }
    return v;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* \uXXXX at p (after the backslash and 'u'), with surrogate pairs; a lone
 * surrogate becomes U+FFFD as in Go. Returns the input consumed or 0. */
static size_t unescape_u(const char *p, const char *end, char *o, size_t *olen)
{
    int cp = read_u4(p, end);
    if (cp < 0)
        return 0;
    size_t used = 4;
    if (cp >= 0xd800 && cp < 0xdc00 && end - p >= 10 && p[4] == '\\' && p[5] == 'u') {
        int lo = read_u4(p + 6, end);
        if (lo >= 0xdc00 && lo < 0xe000) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            used = 10;
        }
    }
    if (cp >= 0xd800 && cp < 0xe000)
        cp = 0xfffd;
    *olen += put_utf8(o, (unsigned)cp);
    return used;
}

/* One escape at p (just after the backslash); returns input consumed or 0. */
static size_t unescape_one(const char *p, const char *end, char *o, size_t *olen)
{
    static const char simple_in[] = "\"\\/bfnrt";
    static const char simple_out[] = "\"\\/\b\f\n\r\t";
    if (p >= end)
        return 0;
    if (*p == 'u') {
        size_t k = unescape_u(p + 1, end, o, olen);
        return k ? k + 1 : 0;
    }
    const char *s = memchr(simple_in, *p, sizeof(simple_in) - 1);
    if (!s)
        return 0;
    o[0] = simple_out[s - simple_in];
    *olen += 1;
    return 1;
}

/* Unescapes the string body at p (after its opening quote) into o. Most
 * lines have one escape (the final \n): memchr finds the closing quote and
 * the backslashes, copying the runs between them in bulk. Returns the
 * position after the closing quote, or NULL. */
static const char *unescape_str(const char *p, const char *end, char *o, size_t *ret_len)
{
    size_t olen = 0;
    const char *q = NULL;
    for (;;) {
        if (!q || q < p)
            q = memchr(p, '"', (size_t)(end - p));
        if (!q)
            return NULL;
        const char *b = memchr(p, '\\', (size_t)(q - p));
        if (!b) {
            memcpy(o + olen, p, (size_t)(q - p));
            *ret_len = olen + (size_t)(q - p);
            return q + 1;
        }
        memcpy(o + olen, p, (size_t)(b - p));
        olen += (size_t)(b - p);
        size_t k = unescape_one(b + 1, end, o + olen, &olen);
        if (!k)
            return NULL;
        p = b + 1 + k;
    }
}

/* Skips a string body at p (after the quote); returns after the closing quote. */
static const char *skip_str(const char *p, const char *end)
{
    while (p < end) {
        const char *q = memchr(p, '"', (size_t)(end - p));
        if (!q)
            return NULL;
        /* The quote is escaped when an odd number of backslashes precede it. */
        size_t bs = 0;
        while (q - bs > p && q[-1 - (ptrdiff_t)bs] == '\\')
            bs++;
        if (bs % 2 == 0)
            return q + 1;
        p = q + 1;
    }
    return NULL;
}

/* ---- time ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int *ry, unsigned *rm, unsigned *rd)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *rd = doy - (153 * mp + 2) / 5 + 1;
    *rm = mp < 10 ? mp + 3 : mp - 9;
    *ry = (int)((int64_t)yoe + era * 400 + (*rm <= 2));
}

static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* Fraction digits after the dot at *pp; advances *pp. Extra digits beyond
 * nanoseconds are ignored, as Go truncates them. */
static int64_t parse_frac(const char **pp, const char *end)
{
    const char *p = *pp;
    int64_t v = 0;
    int n = 0;
    while (p < end && *p >= '0' && *p <= '9') {
        if (n < 9) {
            v = v * 10 + (*p - '0');
            n++;
        }
        p++;
    }
    for (; n < 9; n++)
        v *= 10;
    *pp = p;
    return v;
}

static int parse_zone(const char *p, const char *end, int64_t *ret_off)
{
    if (end - p == 1 && (*p == 'Z' || *p == 'z')) {
        *ret_off = 0;
        return 0;
    }
    if (end - p != 6 || (*p != '+' && *p != '-') || p[3] != ':')
        return -EINVAL;
    int h = digits(p + 1, 2), m = digits(p + 4, 2);
    if (h < 0 || m < 0 || h > 23 || m > 59)
        return -EINVAL;
    *ret_off = (*p == '-' ? -1 : 1) * ((int64_t)h * 3600 + m * 60);
    return 0;
}

int logread__parse_rfc3339(const char *s, size_t n, int64_t *ret_ns)
{
    const char *end = s + n;
    if (n < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
        s[16] != ':')
        return -EINVAL;
    int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
    int h = digits(s + 11, 2), mi = digits(s + 14, 2), se = digits(s + 17, 2);
    if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
        se < 0 || se > 59)
        return -EINVAL;
    const char *p = s + 19;
    int64_t frac = 0, off;
    if (p < end && *p == '.') {
        p++;
        const char *f = p;
        frac = parse_frac(&p, end);
        if (p == f)
            return -EINVAL;
    }
    if (parse_zone(p, end, &off) < 0)
        return -EINVAL;
    int64_t days = days_from_civil(y, (unsigned)mo, (unsigned)d);
    int64_t sec = days * 86400 + h * 3600 + mi * 60 + se - off;
    *ret_ns = sec * 1000000000LL + frac;
    return 0;
}

static void fill_base(struct logread__tscache *tc, int64_t sec)
{
    int64_t days = sec / 86400, rem = sec % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    int y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    unsigned v[6] = {(unsigned)y,         m, d, (unsigned)(rem / 3600), (unsigned)(rem / 60 % 60),
                     (unsigned)(rem % 60)};
    char *o = tc->base;
    for (int i = 3; i >= 0; i--, v[0] /= 10)
        o[i] = (char)('0' + v[0] % 10);
    static const char seps[] = "--T::";
    for (int k = 1; k < 6; k++) {
        o[4 + (k - 1) * 3] = seps[k - 1];
        o[5 + (k - 1) * 3] = (char)('0' + v[k] / 10 % 10);
        o[6 + (k - 1) * 3] = (char)('0' + v[k] % 10);
    }
    tc->sec = sec;
    tc->valid = true;
}

void logread__format_fixed(char *out, int64_t ns, struct logread__tscache *tc)
{
    int64_t sec = ns / 1000000000LL, frac = ns % 1000000000LL;
    if (frac < 0) {
        frac += 1000000000LL;
        sec--;
    }
    if (!tc->valid || tc->sec != sec)
        fill_base(tc, sec);
    memcpy(out, tc->base, 19);
    out[19] = '.';
    for (int i = 28; i >= 20; i--, frac /= 10)
        out[i] = (char)('0' + frac % 10);
    out[29] = 'Z';
}

/* ---- lines ---- */

static int stream_of(const char *s, size_t n)
{
    if (n == 6 && memcmp(s, "stdout", 6) == 0)
        return 1;
    if (n == 6 && memcmp(s, "stderr", 6) == 0)
        return 2;
    return 0;
}

#define LIT_LEN(s) (sizeof(s) - 1)
#define HAS_LIT(p, end, s)                                                                         \
    ((size_t)((end) - (p)) >= LIT_LEN(s) && memcmp((p), (s), LIT_LEN(s)) == 0)

/* {"log":"…","stream":"stdout|stderr","time":"…"} exactly, as written. */
static int parse_fast(const char *p, const char *end, char *dst, bool want_time,
                      struct logread__entry *e)
{
    if (!HAS_LIT(p, end, "{\"log\":\""))
        return -EINVAL;
    p = unescape_str(p + LIT_LEN("{\"log\":\""), end, dst, &e->log_len);
    if (!p || !HAS_LIT(p, end, ",\"stream\":\"") || end - p < 19 || p[17] != '"')
        return -EINVAL;
    e->stream = stream_of(p + 11, 6);
    p += 18;
    if (!HAS_LIT(p, end, ",\"time\":\""))
        return -EINVAL;
    p += LIT_LEN(",\"time\":\"");
    const char *q = memchr(p, '"', (size_t)(end - p));
    if (!q || end - q != 2 || q[1] != '}')
        return -EINVAL;
    if (want_time && logread__parse_rfc3339(p, (size_t)(q - p), &e->ts) < 0)
        return -EINVAL;
    e->has_log = true;
    return 0;
}

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    return p;
}

/* Skips any JSON value: strings, scalars, and nested objects and arrays
 * by depth counting. Returns the position after it. */
static const char *skip_value(const char *p, const char *end)
{
    int depth = 0;
    while (p < end) {
        char c = *p;
        if (c == '"') {
            p = skip_str(p + 1, end);
            if (!p || depth == 0)
                return p;
            continue;
        }
        if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (depth == 0)
                return p; /* a scalar ended by its enclosing object */
            if (--depth == 0)
                return p + 1;
        } else if (c == ',' && depth == 0) {
            return p;
        }
        p++;
    }
    return depth == 0 ? p : NULL;
}

/* The value of one member; known keys are decoded, others skipped. */
static const char *parse_member(const char *p, const char *end, const char *key, size_t klen,
                                char *dst, bool want_time, struct logread__entry *e)
{
    bool is_str = p < end && *p == '"';
    if (klen == 3 && memcmp(key, "log", 3) == 0 && is_str) {
        e->has_log = true;
        return unescape_str(p + 1, end, dst, &e->log_len);
    }
    if ((klen == 6 && memcmp(key, "stream", 6) == 0) ||
        (klen == 4 && memcmp(key, "time", 4) == 0)) {
        if (!is_str)
            return skip_value(p, end);
        const char *q = skip_str(p + 1, end);
        if (!q)
            return NULL;
        if (klen == 6)
            e->stream = stream_of(p + 1, (size_t)(q - p - 2));
        else if (want_time && logread__parse_rfc3339(p + 1, (size_t)(q - p - 2), &e->ts) < 0)
            return NULL;
        return q;
    }
    return skip_value(p, end);
}

static int parse_slow(const char *p, const char *end, char *dst, bool want_time,
                      struct logread__entry *e)
{
    p = skip_ws(p, end);
    if (p >= end || *p != '{')
        return -EINVAL;
    p = skip_ws(p + 1, end);
    if (p < end && *p == '}')
        return skip_ws(p + 1, end) == end ? 0 : -EINVAL;
    for (;;) {
        if (p >= end || *p != '"')
            return -EINVAL;
        const char *key = p + 1, *kend = skip_str(key, end);
        if (!kend)
            return -EINVAL;
        p = skip_ws(kend, end);
        if (p >= end || *p != ':')
            return -EINVAL;
        p = skip_ws(p + 1, end);
        p = parse_member(p, end, key, (size_t)(kend - key - 1), dst, want_time, e);
        if (!p)
            return -EINVAL;
        p = skip_ws(p, end);
        if (p < end && *p == ',') {
            p = skip_ws(p + 1, end);
            continue;
        }
        if (p < end && *p == '}')
            return skip_ws(p + 1, end) == end ? 0 : -EINVAL;
        return -EINVAL;
    }
}

int logread__parse_line(const char *p, size_t n, char *dst, bool want_time,
                        struct logread__entry *e)
{
    const char *end = p + n;
    memset(e, 0, sizeof(*e));
    if (parse_fast(p, end, dst, want_time, e) == 0)
        return 0;
    memset(e, 0, sizeof(*e));
    return parse_slow(p, end, dst, want_time, e);
}

/* ---- query values ---- */

static int parse_unix(const char *s, int64_t *ret_ns)
{
    bool neg = *s == '-';
    const char *p = s + neg, *dot = strchr(p, '.');
    size_t ilen = dot ? (size_t)(dot - p) : strlen(p);
    if (ilen == 0 || ilen > 11)
        return -EINVAL;
    int64_t sec = 0, frac = 0;
    for (size_t i = 0; i < ilen; i++) {
        if (!isdigit((unsigned char)p[i]))
            return -EINVAL;
        sec = sec * 10 + (p[i] - '0');
    }
    if (dot) {
        const char *f = dot + 1, *fe = f + strlen(f);
        if (f == fe || fe - f > 9)
            return -EINVAL;
        const char *q = f;
        frac = parse_frac(&q, fe);
        if (q != fe)
            return -EINVAL;
    }
    int64_t v = sec * 1000000000LL + frac;
    *ret_ns = neg ? -v : v;
    return 0;
}

int logread_parse_time(const char *s, int64_t *ret_ns)
{
    if (!s || !*s) {
        *ret_ns = 0;
        return 0;
    }
    if (parse_unix(s, ret_ns) == 0)
        return 0;
    return logread__parse_rfc3339(s, strlen(s), ret_ns);
}

int64_t logread_parse_tail(const char *s)
{
    if (!s || !*s)
        return -1;
    const char *p = s + (*s == '+');
    if (!*p || strlen(p) > 18)
        return -1;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q))
            return -1;
    return strtoll(p, NULL, 10);
}

int logread_check_opts(const struct logread_opts *o, struct berr *err)
{
    if (!o->show_stdout && !o->show_stderr)
        return berr_set(err, 400, EINVAL, "You must choose at least one stream");
    return 0;
}
