/* Docker's JSON progress messages (pull, push, load, build), as the CLI's
 * jsonmessage package decodes them (API-NOTES §4.8). */
#ifndef BERTH_HANDLERS_PROGRESS_H
#define BERTH_HANDLERS_PROGRESS_H

#include <stdint.h>

#include <cjson/cJSON.h>

/* {"status":...,"id":...} (id omitted when NULL) */
cJSON *progress_status(const char *status, const char *id);
/* {"status","progressDetail":{current,total},"progress","id"}; current and
 * total < 0 give an empty progressDetail ({}), as Docker sends on state changes. */
cJSON *progress_detail(const char *status, const char *id, int64_t current, int64_t total);
/* {"errorDetail":{"message"},"error"}: the CLI reads the first, docker-py the second. */
cJSON *progress_error(const char *message);
/* {"stream": text} (build and load output) */
cJSON *progress_stream(const char *text);

/* "[=====>      ]  1.23MB/4.56MB" */
void progress_bar(int64_t current, int64_t total, char *out, size_t outlen);
/* Docker's units.HumanSize: 4 significant digits, decimal units. */
void human_size(double bytes, char *out, size_t outlen);

#endif
