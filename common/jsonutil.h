/* cJSON helpers. cJSON stores numbers as doubles, which cannot hold every
 * int64 (nanosecond timestamps, byte sizes): these add exact integers. */
#ifndef BERTH_COMMON_JSONUTIL_H
#define BERTH_COMMON_JSONUTIL_H

#include <cjson/cJSON.h>
#include <stdint.h>

cJSON *json_add_int64(cJSON *obj, const char *key, int64_t v);
cJSON *json_create_int64(int64_t v);

#endif
