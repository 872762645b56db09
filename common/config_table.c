/* The option table and typed value handling for each row. */
#include "config_table.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macros.h"

#define OFF(f) offsetof(struct config, f)

/* Keys are dockerd's where dockerd has the option; http-* are berth's own. */
const struct cfg_option cfg_options[] = {
    {"hosts", "host", 'H', CFG_STRINGS, OFF(hosts), false, "unix:///run/berth.sock", 0, 0,
     "Daemon socket(s) to listen on: unix:///path or tcp://host:port"},
    {"data-root", "data-root", 0, CFG_STRING, OFF(data_root), false, "/var/lib/berth", 0, 0,
     "Root directory of persistent state"},
    {"exec-root", "exec-root", 0, CFG_STRING, OFF(exec_root), false, "/run/berth", 0, 0,
     "Root directory of runtime state"},
    {"pidfile", "pidfile", 'p', CFG_STRING, OFF(pidfile), false, "/run/berth.pid", 0, 0,
     "Path of the daemon's PID file"},
    {"group", "group", 'G', CFG_STRING, OFF(group), false, "berth", 0, 0,
     "Group that owns the unix socket(s)"},
    {"log-level", "log-level", 'l', CFG_STRING, OFF(log_level), true, "info", 0, 0,
     "Logging level: debug, info, warn, error, fatal"},
    {"debug", "debug", 'D', CFG_BOOL, OFF(debug), true, "false", 0, 0, "Enable debug mode"},
    {"insecure-registries", "insecure-registry", 0, CFG_STRINGS, OFF(insecure_registries), true,
     NULL, 0, 0, "Registry (host[:port] or CIDR) reached over plain HTTP"},
    {"registry-mirrors", "registry-mirror", 0, CFG_STRINGS, OFF(registry_mirrors), true, NULL, 0, 0,
     "Preferred mirror for docker.io"},
    {"storage-driver", "storage-driver", 's', CFG_STRING, OFF(storage_driver), false, "overlay2", 0,
     0, "Storage driver: overlay2 or vfs"},
    {"tls", "tls", 0, CFG_BOOL, OFF(tls), false, "false", 0, 0, "Use TLS on tcp sockets"},
    {"tlsverify", "tlsverify", 0, CFG_BOOL, OFF(tlsverify), false, "false", 0, 0,
     "Use TLS and verify client certificates"},
    {"tlscacert", "tlscacert", 0, CFG_STRING, OFF(tlscacert), false, NULL, 0, 0,
     "CA certificate trusted for client certificates"},
    {"tlscert", "tlscert", 0, CFG_STRING, OFF(tlscert), false, NULL, 0, 0, "TLS certificate"},
    {"tlskey", "tlskey", 0, CFG_STRING, OFF(tlskey), false, NULL, 0, 0, "TLS key"},
    {"default-address-pools", "default-address-pool", 0, CFG_POOLS, OFF(pools), false, NULL, 0, 0,
     "Address pool for networks: base=CIDR,size=N"},
    {"shutdown-timeout", "shutdown-timeout", 0, CFG_INT, OFF(shutdown_timeout), true, "15", 0, 3600,
     "Seconds to wait for containers and streams at shutdown"},
    {"max-concurrent-downloads", "max-concurrent-downloads", 0, CFG_INT,
     OFF(max_concurrent_downloads), true, "3", 1, 64, "Layers downloaded at once per pull"},
    {"certs-dir", "certs-dir", 0, CFG_STRING, OFF(certs_dir), true, "/etc/berth/certs.d", 0, 0,
     "Per-registry certificates: <dir>/<host[:port]>/ca.crt, client.cert, client.key"},
    {"http-max-connections", "http-max-connections", 0, CFG_INT, OFF(http_max_connections), true,
     "8192", 1, 1000000, "Simultaneous API connections"},
    {"http-header-timeout", "http-header-timeout", 0, CFG_INT, OFF(http_header_timeout), true, "60",
     1, 3600, "Seconds a client has to send a request's head"},
    {"http-idle-timeout", "http-idle-timeout", 0, CFG_INT, OFF(http_idle_timeout), true, "300", 1,
     86400, "Seconds an idle keep-alive connection (or a stalled body) is kept"},
    {"http-max-header-bytes", "http-max-header-bytes", 0, CFG_INT, OFF(http_max_header_bytes), true,
     "1048576", 1024, 67108864, "Largest request head accepted (431 beyond)"},
    {"http-max-body-bytes", "http-max-body-bytes", 0, CFG_INT, OFF(http_max_body_bytes), true,
     "16777216", 1024, 1073741824, "Largest JSON request body accepted (413 beyond)"},
};

const size_t cfg_noptions = ARRAY_SIZE(cfg_options);

_Static_assert(ARRAY_SIZE(cfg_options) <= CONFIG_MAX_OPTIONS, "grow CONFIG_MAX_OPTIONS");

const struct cfg_option *cfg_find_key(const char *key)
{
    for (size_t i = 0; i < cfg_noptions; i++) {
        if (strcmp(cfg_options[i].key, key) == 0)
            return &cfg_options[i];
    }
    return NULL;
}

void *cfg_field(const struct config *cfg, const struct cfg_option *o)
{
    return (char *)cfg + o->offset;
}

static int set_bool_text(bool *dst, const struct cfg_option *o, const char *text, struct berr *err)
{
    if (strcmp(text, "true") == 0 || strcmp(text, "1") == 0)
        *dst = true;
    else if (strcmp(text, "false") == 0 || strcmp(text, "0") == 0)
        *dst = false;
    else
        return berr_set(err, 400, EINVAL, "invalid value '%s' for %s: expected true or false", text,
                        o->key);
    return 0;
}

static int set_int(int64_t *dst, const struct cfg_option *o, double v, struct berr *err)
{
    /* Range first: casting an out-of-range double to int64 is undefined. */
    if (!(v >= (double)o->min && v <= (double)o->max) || v != (double)(int64_t)v)
        return berr_set(err, 400, EINVAL,
                        "invalid value for %s: must be an integer from %lld to %lld", o->key,
                        (long long)o->min, (long long)o->max);
    *dst = (int64_t)v;
    return 0;
}

static int set_int_text(int64_t *dst, const struct cfg_option *o, const char *text,
                        struct berr *err)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || *end || end == text)
        return berr_set(err, 400, EINVAL, "invalid value '%s' for %s: expected an integer", text,
                        o->key);
    return set_int(dst, o, (double)v, err);
}

static int set_string(char **dst, const char *text)
{
    char *copy = strdup(text);
    if (!copy)
        return -ENOMEM;
    free(*dst);
    *dst = copy;
    return 0;
}

static int pools_push(struct pool_list *pl, const struct addr_pool *p)
{
    struct addr_pool *v = realloc(pl->v, (pl->n + 1) * sizeof(*v));
    if (!v)
        return -ENOMEM;
    pl->v = v;
    pl->v[pl->n++] = *p;
    return 0;
}

int cfg_set_text(struct config *cfg, const struct cfg_option *o, const char *text, struct berr *err)
{
    void *f = cfg_field(cfg, o);
    struct addr_pool pool;
    switch (o->type) {
    case CFG_STRING:
        return set_string(f, text);
    case CFG_STRINGS:
        return strv_push(f, text);
    case CFG_BOOL:
        return set_bool_text(f, o, text, err);
    case CFG_INT:
        return set_int_text(f, o, text, err);
    case CFG_POOLS:
        if (config_parse_pool(text, &pool, err) < 0)
            return -EINVAL;
        return pools_push(f, &pool);
    }
    return -EINVAL;
}

static int json_type_error(const struct cfg_option *o, const char *want, struct berr *err)
{
    return berr_set(err, 400, EINVAL, "invalid type for configuration key '%s': expected %s",
                    o->key, want);
}

static int set_strings_json(struct strv *dst, const struct cfg_option *o, const cJSON *v,
                            struct berr *err)
{
    if (!cJSON_IsArray(v))
        return json_type_error(o, "an array of strings", err);
    const cJSON *it;
    cJSON_ArrayForEach(it, v)
    {
        if (!cJSON_IsString(it))
            return json_type_error(o, "an array of strings", err);
        if (strv_push(dst, it->valuestring) < 0)
            return -ENOMEM;
    }
    return 0;
}

static int set_pools_json(struct pool_list *dst, const struct cfg_option *o, const cJSON *v,
                          struct berr *err)
{
    if (!cJSON_IsArray(v))
        return json_type_error(o, "an array of {\"base\",\"size\"} objects", err);
    const cJSON *it;
    cJSON_ArrayForEach(it, v)
    {
        const cJSON *base = cJSON_GetObjectItemCaseSensitive(it, "base");
        const cJSON *size = cJSON_GetObjectItemCaseSensitive(it, "size");
        if (!cJSON_IsString(base) || !cJSON_IsNumber(size) || size->valuedouble < 0 ||
            size->valuedouble > 32 || size->valuedouble != (double)size->valueint)
            return json_type_error(o, "an array of {\"base\",\"size\"} objects", err);
        char text[128];
        snprintf(text, sizeof(text), "base=%s,size=%d", base->valuestring, size->valueint);
        struct addr_pool pool;
        if (config_parse_pool(text, &pool, err) < 0 || pools_push(dst, &pool) < 0)
            return -EINVAL;
    }
    return 0;
}

int cfg_set_json(struct config *cfg, const struct cfg_option *o, const cJSON *v, struct berr *err)
{
    void *f = cfg_field(cfg, o);
    switch (o->type) {
    case CFG_STRING:
        if (!cJSON_IsString(v))
            return json_type_error(o, "a string", err);
        return set_string(f, v->valuestring);
    case CFG_STRINGS:
        return set_strings_json(f, o, v, err);
    case CFG_BOOL:
        if (!cJSON_IsBool(v))
            return json_type_error(o, "true or false", err);
        *(bool *)f = cJSON_IsTrue(v);
        return 0;
    case CFG_INT:
        if (!cJSON_IsNumber(v))
            return json_type_error(o, "an integer", err);
        return set_int(f, o, v->valuedouble, err);
    case CFG_POOLS:
        return set_pools_json(f, o, v, err);
    }
    return -EINVAL;
}

void cfg_free_value(const struct cfg_option *o, struct config *cfg)
{
    void *f = cfg_field(cfg, o);
    switch (o->type) {
    case CFG_STRING:
        free(*(char **)f);
        *(char **)f = NULL;
        break;
    case CFG_STRINGS:
        strv_done(f);
        break;
    case CFG_POOLS:
        free(((struct pool_list *)f)->v);
        memset(f, 0, sizeof(struct pool_list));
        break;
    case CFG_BOOL:
    case CFG_INT:
        break;
    }
}

int cfg_copy_value(const struct cfg_option *o, const struct config *src, struct config *dst)
{
    const void *s = cfg_field(src, o);
    void *d = cfg_field(dst, o);
    cfg_free_value(o, dst);
    switch (o->type) {
    case CFG_STRING:
        return *(char *const *)s ? set_string(d, *(char *const *)s) : 0;
    case CFG_STRINGS:
        for (size_t i = 0; i < ((const struct strv *)s)->n; i++) {
            if (strv_push(d, ((const struct strv *)s)->v[i]) < 0)
                return -ENOMEM;
        }
        return 0;
    case CFG_BOOL:
        *(bool *)d = *(const bool *)s;
        return 0;
    case CFG_INT:
        *(int64_t *)d = *(const int64_t *)s;
        return 0;
    case CFG_POOLS:
        for (size_t i = 0; i < ((const struct pool_list *)s)->n; i++) {
            if (pools_push(d, &((const struct pool_list *)s)->v[i]) < 0)
                return -ENOMEM;
        }
        return 0;
    }
    return -EINVAL;
}

static bool str_eq(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

bool cfg_equal_value(const struct cfg_option *o, const struct config *a, const struct config *b)
{
    const void *x = cfg_field(a, o), *y = cfg_field(b, o);
    const struct strv *sx = x, *sy = y;
    const struct pool_list *px = x, *py = y;
    bool same;
    switch (o->type) {
    case CFG_STRING:
        return str_eq(*(char *const *)x, *(char *const *)y);
    case CFG_STRINGS:
        if (sx->n != sy->n)
            return false;
        for (size_t i = 0; i < sx->n; i++) {
            if (!str_eq(sx->v[i], sy->v[i]))
                return false;
        }
        return true;
    case CFG_BOOL:
        return *(const bool *)x == *(const bool *)y;
    case CFG_INT:
        return *(const int64_t *)x == *(const int64_t *)y;
    case CFG_POOLS:
        same = px->n == py->n;
        for (size_t i = 0; same && i < px->n; i++)
            same = px->v[i].size == py->v[i].size && strcmp(px->v[i].base, py->v[i].base) == 0;
        return same;
    }
    return false;
}
