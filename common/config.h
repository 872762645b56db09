/* Daemon configuration: one declarative table drives the command-line flags,
 * /etc/berth/daemon.json (Docker's key names where Docker has the option),
 * defaults, validation and SIGHUP reload. */
#ifndef BERTH_COMMON_CONFIG_H
#define BERTH_COMMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "berr.h"

#define CONFIG_DEFAULT_FILE "/etc/berth/daemon.json"

struct addr_pool {
    char base[64]; /* CIDR, e.g. 172.17.0.0/16 */
    int size;      /* prefix length of each network carved from it */
};

struct strv {
    char **v;
    size_t n;
};

struct pool_list {
    struct addr_pool *v;
    size_t n;
};

#define CONFIG_MAX_OPTIONS 32

void strv_done(struct strv *s);
int strv_push(struct strv *s, const char *v);

struct config {
    struct strv hosts;
    char *data_root;
    char *exec_root;
    char *pidfile;
    char *group;
    char *log_level;
    bool debug;
    struct strv insecure_registries;
    struct strv registry_mirrors;
    char *storage_driver;
    bool tls;
    bool tlsverify;
    char *tlscacert;
    char *tlscert;
    char *tlskey;
    struct pool_list pools;   /* default-address-pools */
    int64_t shutdown_timeout; /* seconds */
    int64_t max_concurrent_downloads;
    char *certs_dir; /* per-registry trust, Docker's certs.d layout */
    /* berth's own keys */
    int64_t http_max_connections;
    int64_t http_header_timeout; /* seconds */
    int64_t http_idle_timeout;   /* seconds */
    int64_t http_max_header_bytes;
    int64_t http_max_body_bytes;

    /* not in the file: how the daemon was started */
    char *config_file;
    bool config_file_explicit;
    bool validate_only;
    bool show_help;
    bool show_version;
    bool flag_set[CONFIG_MAX_OPTIONS]; /* per table row: given on the command line */
    bool file_set[CONFIG_MAX_OPTIONS]; /* per table row: given in the file */
};

/* The key was configured explicitly (flag or file) rather than defaulted. */
bool config_is_set(const struct config *cfg, const char *key);

/* Parses argv, reads the config file, merges (a key set both as a flag and in
 * the file is an error, as in dockerd), applies defaults and validates. */
int config_load(int argc, char **argv, struct config *ret, struct berr *err);

/* Re-reads the file for SIGHUP: returns a config where only reloadable keys
 * take the file's new values; others keep cur's and their names are listed in
 * ret_ignored (they need a restart). Blocking (worker thread). */
int config_reload(const struct config *cur, struct config *ret, struct strv *ret_ignored,
                  struct berr *err);

/* Parses a JSON document with the config table (exposed for tests). */
int config_parse_json(const char *text, struct config *cfg, bool *set_keys, struct berr *err);

/* Fills unset values with defaults, then checks the whole config. */
int config_finish(struct config *cfg, struct berr *err);
int config_validate(const struct config *cfg, struct berr *err);

int config_copy(const struct config *src, struct config *dst);
void config_done(struct config *cfg);
void config_print_help(const char *prog);

/* Effective log level name ("debug" when debug is set). */
const char *config_log_level(const struct config *cfg);

/* Parses "base=CIDR,size=N" (the --default-address-pool flag form). */
int config_parse_pool(const char *s, struct addr_pool *ret, struct berr *err);

#endif
