#include "progress.h"

#include <stdio.h>
#include <string.h>

#include "common/jsonutil.h"

void human_size(double bytes, char *out, size_t outlen)
{
    static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
    size_t u = 0;
    while (bytes >= 1000.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
        bytes /= 1000.0;
        u++;
    }
    snprintf(out, outlen, "%.4g%s", bytes, units[u]);
}

void progress_bar(int64_t current, int64_t total, char *out, size_t outlen)
{
    char cur[32], tot[32];
    human_size((double)current, cur, sizeof(cur));
    if (total <= 0) {
        snprintf(out, outlen, "%8s", cur);
        return;
    }
    human_size((double)total, tot, sizeof(tot));
    int pct = (int)((double)current / (double)total * 100.0) / 2;
    if (pct > 50)
        pct = 50;
    if (pct < 0)
        pct = 0;
    char bar[64];
    memset(bar, '=', (size_t)pct);
    bar[pct] = '>';
    memset(bar + pct + 1, ' ', (size_t)(50 - pct));
    bar[51] = '\0';
    snprintf(out, outlen, "[%s] %8s/%s", bar, cur, tot);
}

cJSON *progress_status(const char *status, const char *id)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", status);
    if (id)
        cJSON_AddStringToObject(o, "id", id);
    return o;
}

cJSON *progress_detail(const char *status, const char *id, int64_t current, int64_t total)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", status);
    cJSON *d = cJSON_AddObjectToObject(o, "progressDetail");
    if (current >= 0 && total >= 0) {
        json_add_int64(d, "current", current);
        json_add_int64(d, "total", total);
        char bar[160];
        progress_bar(current, total, bar, sizeof(bar));
        cJSON_AddStringToObject(o, "progress", bar);
    }
    if (id)
        cJSON_AddStringToObject(o, "id", id);
    return o;
}

cJSON *progress_error(const char *message)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *d = cJSON_AddObjectToObject(o, "errorDetail");
    cJSON_AddStringToObject(d, "message", message);
    cJSON_AddStringToObject(o, "error", message);
    return o;
}

cJSON *progress_stream(const char *text)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "stream", text);
    return o;
}
