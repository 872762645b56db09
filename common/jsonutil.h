/* cJSON helpers. cJSON stores numbers as doubles, which cannot hold every
 * int64 (nanosecond timestamps, byte sizes): these add exact integers. */
#ifndef BERTH_COMMON_JSONUTIL_H
#define BERTH_COMMON_JSONUTIL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "berr.h"

struct strv;

cJSON *json_add_int64(cJSON *obj, const char *key, int64_t v);
cJSON *json_create_int64(int64_t v);

/* Typed member reads that tolerate a missing or null object: the string (or
 * NULL), the number (or def; also reads raw int64 members), the boolean
 * (false unless true). */
const char *json_get_str(const cJSON *obj, const char *key);
int64_t json_get_int64(const cJSON *obj, const char *key, int64_t def);
bool json_get_bool(const cJSON *obj, const char *key);
/* The JSON kind of v as Go's decoder names it in its type errors
 * ("string", "bool", "array", "object", "number"). */
const char *json_kind_name(const cJSON *v);
/* Appends the strings of an array member (absent or null: nothing); 400
 * naming key when it is not an array of strings. */
int json_get_strv(const cJSON *obj, const char *key, struct strv *out, struct berr *err);

#endif
