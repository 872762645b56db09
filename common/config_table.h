/* Internal: the option table behind struct config, shared by the config files. */
#ifndef BERTH_COMMON_CONFIG_TABLE_H
#define BERTH_COMMON_CONFIG_TABLE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "berr.h"
#include "config.h"

enum cfg_type { CFG_STRING, CFG_STRINGS, CFG_BOOL, CFG_INT, CFG_POOLS };

struct cfg_option {
    const char *key;  /* daemon.json key */
    const char *flag; /* long command-line flag */
    char short_flag;  /* 0 when none */
    enum cfg_type type;
    size_t offset;
    bool reloadable;  /* SIGHUP applies a new value */
    const char *def;  /* default, as text; NULL = empty */
    int64_t min, max; /* CFG_INT bounds */
    const char *help;
};

extern const struct cfg_option cfg_options[];
extern const size_t cfg_noptions;

const struct cfg_option *cfg_find_key(const char *key);

/* Typed access to the field a row describes. */
void *cfg_field(const struct config *cfg, const struct cfg_option *o);

/* Sets a row's value from text (flags, defaults); repeated list flags append. */
int cfg_set_text(struct config *cfg, const struct cfg_option *o, const char *text,
                 struct berr *err);
/* Sets a row's value from JSON (the file). */
int cfg_set_json(struct config *cfg, const struct cfg_option *o, const cJSON *v, struct berr *err);

int cfg_copy_value(const struct cfg_option *o, const struct config *src, struct config *dst);
void cfg_free_value(const struct cfg_option *o, struct config *cfg);
bool cfg_equal_value(const struct cfg_option *o, const struct config *a, const struct config *b);

#endif
