#include "berr.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int berr_set(struct berr *err, int status, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    err->status = status;
    return -code;
}

int berr_errno(struct berr *err, int status, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    size_t n = strlen(err->msg);
    snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", strerror(code));
    err->status = status;
    return -code;
}

void berr_wrap(struct berr *err, const char *fmt, ...)
{
    char prefix[BERR_MSG_MAX];
    char old[BERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    /* Truncation is acceptable: the context comes first, the cause after. */
    size_t n = strlen(prefix);
    size_t room = sizeof(err->msg) - 1;
    n = n < room ? n : room;
    memcpy(err->msg, prefix, n);
    size_t sep = room - n < 2 ? room - n : 2;
    memcpy(err->msg + n, ": ", sep);
    n += sep;
    size_t rest = strnlen(old, sizeof(old) - 1);
    rest = rest < room - n ? rest : room - n;
    memcpy(err->msg + n, old, rest);
    err->msg[n + rest] = '\0';
}

int berr_status_for_errno(int r)
{
    switch (-r) {
    case ENOENT:
        return 404;
    case EEXIST:
    case EBUSY:
        return 409;
    case EINVAL:
        return 400;
    case EACCES:
    case EPERM:
        return 403;
    case ENOSYS:
    case EOPNOTSUPP:
        return 501;
    default:
        return 500;
    }
}

void berr_clear(struct berr *err)
{
    err->status = 0;
    err->msg[0] = '\0';
}
