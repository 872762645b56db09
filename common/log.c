#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum log_level current_level = LOG_LVL_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error", "fatal"};

int log_level_parse(const char *name, enum log_level *ret)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *ret = (enum log_level)i;
            return 0;
        }
    }
    return -EINVAL;
}

void log_set_level(enum log_level lvl)
{
    current_level = lvl;
}

enum log_level log_get_level(void)
{
    return current_level;
}

static void log_v(enum log_level lvl, const char *suffix, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void log_v(enum log_level lvl, const char *suffix, const char *fmt, va_list ap)
{
    char when[40];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);

    /* One fprintf per line, so concurrent lines from workers do not interleave. */
    char msg[2048];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    fprintf(stderr, "time=\"%s.%09ldZ\" level=%s msg=\"%s%s\"\n", when, ts.tv_nsec,
            level_names[lvl], msg, suffix ? suffix : "");
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
    if (lvl < current_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    log_v(lvl, NULL, fmt, ap);
    va_end(ap);
}

int log_errno(enum log_level lvl, int r, const char *fmt, ...)
{
    if (lvl < current_level)
        return r;
    char suffix[128];
    snprintf(suffix, sizeof(suffix), ": %s", strerror(r < 0 ? -r : r));
    va_list ap;
    va_start(ap, fmt);
    log_v(lvl, suffix, fmt, ap);
    va_end(ap);
    return r;
}
