/* Error object carried up the call chain and across the worker boundary.
 * Functions that can fail return 0 or a negative errno and fill a
 * caller-provided struct berr with an HTTP-ready status and a message that
 * names the object and the cause. Only handlers turn it into a response. */
#ifndef BERTH_COMMON_BERR_H
#define BERTH_COMMON_BERR_H

#define BERR_MSG_MAX 512

struct berr {
    int status; /* HTTP status: 400, 404, 409, 500, ...; 0 when unset */
    char msg[BERR_MSG_MAX];
};

/* Sets status and message; returns -code so callers can `return berr_set(...)`.
 * code is a positive errno value. */
int berr_set(struct berr *err, int status, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Like berr_set, with ": <strerror(code)>" appended. */
int berr_errno(struct berr *err, int status, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Prepends "<context>: " to an existing message (crun's error wrapping). */
void berr_wrap(struct berr *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Maps a negative errno to the HTTP status Docker would use for it. */
int berr_status_for_errno(int r);

void berr_clear(struct berr *err);

#endif
