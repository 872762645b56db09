/* Wall-clock helpers in Docker's formats. */
#ifndef BERTH_COMMON_TIMEUTIL_H
#define BERTH_COMMON_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

#define TIME_RFC3339_MAX 40

int64_t time_now_ns(void);

/* Go's time.RFC3339Nano: fraction with trailing zeros trimmed, UTC "Z". */
void time_format_rfc3339nano(int64_t ns, char out[TIME_RFC3339_MAX]);

/* Fixed nine fraction digits, as Docker's log timestamps. */
void time_format_rfc3339nano_fixed(int64_t ns, char out[TIME_RFC3339_MAX]);

/* Parses the API's "<seconds>[.<nanoseconds>]" form (since/until); 0 or -EINVAL. */
int time_parse_unix(const char *s, int64_t *ret_ns);

#endif
