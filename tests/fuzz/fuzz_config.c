/* libFuzzer target: daemon.json parsing through the config table
 * (common/config.c, config_table.c, config_validate.c), then defaults,
 * validation, copy and release, as config_load and SIGHUP reload do. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    struct config cfg = {0};
    bool set_keys[CONFIG_MAX_OPTIONS] = {0};
    struct berr err = {0};
    if (config_parse_json(text, &cfg, set_keys, &err) == 0) {
        struct config copy;
        if (config_copy(&cfg, &copy) == 0)
            config_done(&copy);
        (void)config_finish(&cfg, &err);
        (void)config_is_set(&cfg, "hosts");
    }
    config_done(&cfg);

    /* The --default-address-pool flag form, on the same bytes. */
    struct addr_pool pool;
    struct berr perr = {0};
    (void)config_parse_pool(text, &pool, &perr);
    free(text);
    return 0;
}
