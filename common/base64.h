/* Base64: encoding (standard alphabet, padded) and lenient decoding that
 * accepts both the standard and the URL-safe alphabet, with or without
 * padding, as Docker clients send X-Registry-Auth in either form. */
#ifndef BERTH_COMMON_BASE64_H
#define BERTH_COMMON_BASE64_H

#include <stddef.h>

#include "buf.h"

int base64_encode(const void *data, size_t len, struct buf *out);
/* Appends the decoded bytes (NUL-terminated by buf); -EINVAL on bad input. */
int base64_decode(const char *text, size_t len, struct buf *out);

#endif
