/* Validation of a merged configuration. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"

static int parse_cidr4(const char *s, struct in_addr *addr, int *prefix)
{
    char ip[64];
    const char *slash = strchr(s, '/');
    if (!slash || (size_t)(slash - s) >= sizeof(ip))
        return -EINVAL;
    memcpy(ip, s, (size_t)(slash - s));
    ip[slash - s] = '\0';
    char *end;
    long p = strtol(slash + 1, &end, 10);
    if (*end || end == slash + 1 || p < 0 || p > 32 || inet_pton(AF_INET, ip, addr) != 1)
        return -EINVAL;
    *prefix = (int)p;
    return 0;
}

/* 0..32 from all-digit text, else -1. */
static int parse_prefix_len(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);
    return (*s && !*end && v >= 0 && v <= 32) ? (int)v : -1;
}

int config_parse_pool(const char *s, struct addr_pool *ret, struct berr *err)
{
    char base[64] = "";
    int size = -1;
    char *copy = strdup(s), *save = NULL;
    if (!copy)
        return -ENOMEM;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (strncmp(tok, "base=", 5) == 0)
            snprintf(base, sizeof(base), "%s", tok + 5);
        else if (strncmp(tok, "size=", 5) == 0)
            size = parse_prefix_len(tok + 5);
        else
            size = -2;
    }
    free(copy);
    struct in_addr a;
    int prefix;
    if (!base[0] || size < 0 || parse_cidr4(base, &a, &prefix) < 0 || size < prefix || size > 32)
        return berr_set(err, 400, EINVAL,
                        "invalid default address pool '%s': want base=<IPv4 CIDR>,size=<prefix "
                        "length not shorter than the base's>",
                        s);
    memset(ret, 0, sizeof(*ret));
    snprintf(ret->base, sizeof(ret->base), "%s", base);
    ret->size = size;
    return 0;
}

static int check_abs(const char *key, const char *path, struct berr *err)
{
    if (!path || path[0] != '/')
        return berr_set(err, 400, EINVAL, "%s must be an absolute path, got '%s'", key,
                        path ? path : "");
    return 0;
}

static int check_host(const char *h, struct berr *err)
{
    if (strncmp(h, "unix://", 7) == 0 && h[7] == '/')
        return 0;
    if (strncmp(h, "tcp://", 6) == 0 && strrchr(h + 6, ':'))
        return 0;
    return berr_set(err, 400, EINVAL,
                    "invalid host '%s': use unix:///absolute/path or tcp://host:port", h);
}

static int check_insecure(const char *r, struct berr *err)
{
    if (strstr(r, "://"))
        return berr_set(err, 400, EINVAL, "insecure registry %s should not contain '://'", r);
    if (!*r || strchr(r, ' '))
        return berr_set(err, 400, EINVAL, "invalid insecure registry '%s'", r);
    return 0;
}

static int check_mirror(const char *m, struct berr *err)
{
    if (strncmp(m, "http://", 7) != 0 && strncmp(m, "https://", 8) != 0)
        return berr_set(err, 400, EINVAL,
                        "invalid mirror: unsupported scheme in '%s' (use http:// or https://)", m);
    return 0;
}

static int check_lists(const struct config *cfg, struct berr *err)
{
    if (cfg->hosts.n == 0)
        return berr_set(err, 400, EINVAL, "no hosts to listen on");
    for (size_t i = 0; i < cfg->hosts.n; i++) {
        if (check_host(cfg->hosts.v[i], err) < 0)
            return -EINVAL;
    }
    for (size_t i = 0; i < cfg->insecure_registries.n; i++) {
        if (check_insecure(cfg->insecure_registries.v[i], err) < 0)
            return -EINVAL;
    }
    for (size_t i = 0; i < cfg->registry_mirrors.n; i++) {
        if (check_mirror(cfg->registry_mirrors.v[i], err) < 0)
            return -EINVAL;
    }
    return 0;
}

int config_validate(const struct config *cfg, struct berr *err)
{
    enum log_level lvl;
    if (!cfg->log_level || log_level_parse(cfg->log_level, &lvl) < 0)
        return berr_set(err, 400, EINVAL,
                        "invalid log-level '%s': use debug, info, warn, error or fatal",
                        cfg->log_level ? cfg->log_level : "");
    if (check_abs("certs-dir", cfg->certs_dir, err) < 0 ||
        check_abs("data-root", cfg->data_root, err) < 0 ||
        check_abs("exec-root", cfg->exec_root, err) < 0 ||
        check_abs("pidfile", cfg->pidfile, err) < 0)
        return -EINVAL;
    if (!cfg->storage_driver ||
        (strcmp(cfg->storage_driver, "overlay2") != 0 && strcmp(cfg->storage_driver, "vfs") != 0))
        return berr_set(err, 400, EINVAL, "unsupported storage-driver '%s': use overlay2 or vfs",
                        cfg->storage_driver ? cfg->storage_driver : "");
    /* TLS serving is a later milestone: refuse rather than listen in clear. */
    if (cfg->tls || cfg->tlsverify)
        return berr_set(err, 400, ENOTSUP,
                        "tls/tlsverify are not supported by this berthd yet: remove them, or "
                        "listen on a unix socket only");
    return check_lists(cfg, err);
}
