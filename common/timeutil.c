#include "timeutil.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t time_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void format_base(int64_t ns, char out[TIME_RFC3339_MAX], long *ret_frac)
{
    time_t sec = (time_t)(ns / 1000000000LL);
    long frac = (long)(ns % 1000000000LL);
    if (frac < 0) {
        frac += 1000000000L;
        sec -= 1;
    }
    struct tm tm;
    gmtime_r(&sec, &tm);
    strftime(out, TIME_RFC3339_MAX, "%Y-%m-%dT%H:%M:%S", &tm);
    *ret_frac = frac;
}

void time_format_rfc3339nano(int64_t ns, char out[TIME_RFC3339_MAX])
{
    long frac;
    format_base(ns, out, &frac);
    size_t n = strlen(out);
    if (frac == 0) {
        snprintf(out + n, TIME_RFC3339_MAX - n, "Z");
        return;
    }
    char digits[16];
    snprintf(digits, sizeof(digits), "%09ld", frac);
    size_t d = strlen(digits);
    while (d > 0 && digits[d - 1] == '0')
        digits[--d] = '\0';
    snprintf(out + n, TIME_RFC3339_MAX - n, ".%sZ", digits);
}

void time_format_rfc3339nano_fixed(int64_t ns, char out[TIME_RFC3339_MAX])
{
    long frac;
    format_base(ns, out, &frac);
    size_t n = strlen(out);
    snprintf(out + n, TIME_RFC3339_MAX - n, ".%09ldZ", frac);
}

static int parse_digits(const char *s, size_t n, int64_t *ret)
{
    int64_t v = 0;
    if (n == 0 || n > 18)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -EINVAL;
        v = v * 10 + (s[i] - '0');
    }
    *ret = v;
    return 0;
}

int time_parse_unix(const char *s, int64_t *ret_ns)
{
    const char *dot = strchr(s, '.');
    size_t nsec_len = dot ? (size_t)(dot - s) : strlen(s);
    int64_t sec, frac = 0;
    if (parse_digits(s, nsec_len, &sec) < 0)
        return -EINVAL;
    if (dot) {
        size_t flen = strlen(dot + 1);
        if (flen > 9 || parse_digits(dot + 1, flen, &frac) < 0)
            return -EINVAL;
        for (size_t i = flen; i < 9; i++)
            frac *= 10;
    }
    if (sec > INT64_MAX / 1000000000LL - 1)
        return -EINVAL;
    *ret_ns = sec * 1000000000LL + frac;
    return 0;
}
