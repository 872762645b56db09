/* Loading the configuration: flags, file, merge, defaults, reload. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomicfile.h"
#include "buf.h"
#include "config_table.h"

#define MAX_CONFIG_FILE (1024 * 1024)

/* Flags that are not configuration keys. */
enum { OPT_CONFIG_FILE = 1000, OPT_VALIDATE, OPT_HELP, OPT_VERSION, OPT_TABLE_BASE = 2000 };

void strv_done(struct strv *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

int strv_push(struct strv *s, const char *v)
{
    char **nv = realloc(s->v, (s->n + 1) * sizeof(*nv));
    if (!nv)
        return -ENOMEM;
    s->v = nv;
    s->v[s->n] = strdup(v);
    if (!s->v[s->n])
        return -ENOMEM;
    s->n++;
    return 0;
}

void config_done(struct config *cfg)
{
    for (size_t i = 0; i < cfg_noptions; i++)
        cfg_free_value(&cfg_options[i], cfg);
    free(cfg->config_file);
    memset(cfg, 0, sizeof(*cfg));
}

int config_copy(const struct config *src, struct config *dst)
{
    memset(dst, 0, sizeof(*dst));
    for (size_t i = 0; i < cfg_noptions; i++) {
        if (cfg_copy_value(&cfg_options[i], src, dst) < 0) {
            config_done(dst);
            return -ENOMEM;
        }
    }
    dst->config_file = src->config_file ? strdup(src->config_file) : NULL;
    dst->config_file_explicit = src->config_file_explicit;
    memcpy(dst->flag_set, src->flag_set, sizeof(dst->flag_set));
    memcpy(dst->file_set, src->file_set, sizeof(dst->file_set));
    return 0;
}

const char *config_log_level(const struct config *cfg)
{
    return cfg->debug ? "debug" : cfg->log_level;
}

/* ---- command line ---- */

static struct option *build_long_options(struct buf *shorts)
{
    struct option *lo = calloc(cfg_noptions + 5, sizeof(*lo));
    if (!lo)
        return NULL;
    size_t n = 0;
    buf_append_str(shorts, "+hv");
    for (size_t i = 0; i < cfg_noptions; i++) {
        const struct cfg_option *o = &cfg_options[i];
        bool is_bool = o->type == CFG_BOOL;
        lo[n++] = (struct option){o->flag, is_bool ? optional_argument : required_argument, NULL,
                                  OPT_TABLE_BASE + (int)i};
        if (o->short_flag)
            buf_printf(shorts, "%c%s", o->short_flag, is_bool ? "" : ":");
    }
    lo[n++] = (struct option){"config-file", required_argument, NULL, OPT_CONFIG_FILE};
    lo[n++] = (struct option){"validate", no_argument, NULL, OPT_VALIDATE};
    lo[n++] = (struct option){"help", no_argument, NULL, OPT_HELP};
    lo[n++] = (struct option){"version", no_argument, NULL, OPT_VERSION};
    return lo;
}

static int option_index_for(int c)
{
    if (c >= OPT_TABLE_BASE && c < OPT_TABLE_BASE + (int)cfg_noptions)
        return c - OPT_TABLE_BASE;
    for (size_t i = 0; i < cfg_noptions; i++) {
        if (cfg_options[i].short_flag && cfg_options[i].short_flag == c)
            return (int)i;
    }
    return -1;
}

static int apply_flag(struct config *cfg, int c, const char *arg, struct berr *err)
{
    switch (c) {
    case OPT_CONFIG_FILE:
        free(cfg->config_file);
        cfg->config_file = strdup(arg);
        cfg->config_file_explicit = true;
        return cfg->config_file ? 0 : -ENOMEM;
    case OPT_VALIDATE:
        cfg->validate_only = true;
        return 0;
    case 'h':
    case OPT_HELP:
        cfg->show_help = true;
        return 0;
    case 'v':
    case OPT_VERSION:
        cfg->show_version = true;
        return 0;
    }
    int idx = option_index_for(c);
    if (idx < 0)
        return berr_set(err, 400, EINVAL, "unknown flag (see --help)");
    const struct cfg_option *o = &cfg_options[idx];
    cfg->flag_set[idx] = true;
    return cfg_set_text(cfg, o, arg ? arg : "true", err);
}

/* Names the offending flag: a short one by its letter (it may sit inside a
 * group such as -qD), a long one as written. */
static int bad_flag(char **argv, struct berr *err)
{
    if (optopt && optopt < OPT_CONFIG_FILE)
        return berr_set(err, 400, EINVAL, "invalid or incomplete flag '-%c' (see --help)", optopt);
    return berr_set(err, 400, EINVAL, "invalid or incomplete flag '%s' (see --help)",
                    argv[optind - 1]);
}

static int parse_flags(int argc, char **argv, struct config *cfg, struct berr *err)
{
    struct buf shorts = BUF_INIT;
    struct option *lo = build_long_options(&shorts);
    int r = lo && shorts.data ? 0 : -ENOMEM;
    optind = 0; /* 0, not 1: glibc then also forgets a half-parsed "-abc" group */
    opterr = 0;
    while (r == 0) {
        int c = getopt_long(argc, argv, shorts.data, lo, NULL);
        if (c == -1)
            break;
        if (c == '?' || c == ':') {
            r = bad_flag(argv, err);
            break;
        }
        r = apply_flag(cfg, c, optarg, err);
    }
    if (r == 0 && optind < argc)
        r = berr_set(err, 400, EINVAL, "unexpected argument '%s'", argv[optind]);
    free(lo);
    buf_done(&shorts);
    return r;
}

/* ---- file ---- */

static int unknown_keys_error(const cJSON *root, struct berr *err)
{
    struct buf names = BUF_INIT;
    size_t unknown = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, root)
    {
        if (cfg_find_key(it->string))
            continue;
        /* Counted, not inferred from the text: an empty key adds no text. */
        unknown++;
        buf_printf(&names, "%s%s", unknown > 1 ? ", " : "", it->string);
    }
    if (unknown == 0)
        return 0;
    berr_set(err, 400, EINVAL, "the following directives don't match any configuration option: %s",
             names.data);
    buf_done(&names);
    return -EINVAL;
}

int config_parse_json(const char *text, struct config *cfg, bool *set_keys, struct berr *err)
{
    cJSON *root = cJSON_Parse(text);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return berr_set(err, 400, EINVAL, "configuration file is not a JSON object");
    }
    int r = unknown_keys_error(root, err);
    const cJSON *it;
    cJSON_ArrayForEach(it, root)
    {
        if (r < 0)
            break;
        const struct cfg_option *o = cfg_find_key(it->string);
        if (!o) /* unknown_keys_error already refused these */
            break;
        if (set_keys[o - cfg_options]) {
            r = berr_set(err, 400, EINVAL, "duplicate configuration key '%s'", it->string);
            break;
        }
        set_keys[o - cfg_options] = true;
        r = cfg_set_json(cfg, o, it, err);
    }
    cJSON_Delete(root);
    return r;
}

/* Reads the file if present; a missing default file is an empty config. */
static int read_config_file(const struct config *flags, struct config *file, bool *set_keys,
                            struct berr *err)
{
    const char *path = flags->config_file ? flags->config_file : CONFIG_DEFAULT_FILE;
    char *text = NULL;
    int r = read_file_all(path, MAX_CONFIG_FILE, &text, NULL, err);
    if (r == -ENOENT && !flags->config_file_explicit)
        return 0;
    if (r < 0)
        return r;
    r = config_parse_json(text, file, set_keys, err);
    free(text);
    if (r < 0)
        berr_wrap(err, "configuration file '%s'", path);
    return r;
}

/* ---- merge ---- */

static int merge(const struct config *flags, const struct config *file, const bool *file_set,
                 struct config *out, struct berr *err)
{
    for (size_t i = 0; i < cfg_noptions; i++) {
        const struct cfg_option *o = &cfg_options[i];
        if (flags->flag_set[i] && file_set[i])
            return berr_set(err, 400, EINVAL,
                            "the following directives are specified both as a flag and in the "
                            "configuration file: %s",
                            o->key);
        const struct config *src = flags->flag_set[i] ? flags : file_set[i] ? file : NULL;
        if (src && cfg_copy_value(o, src, out) < 0)
            return -ENOMEM;
        if (!src && o->def && cfg_set_text(out, o, o->def, err) < 0)
            return -EINVAL;
    }
    memcpy(out->flag_set, flags->flag_set, sizeof(out->flag_set));
    memcpy(out->file_set, file_set, sizeof(out->file_set));
    return 0;
}

bool config_is_set(const struct config *cfg, const char *key)
{
    const struct cfg_option *o = cfg_find_key(key);
    if (!o)
        return false;
    size_t i = (size_t)(o - cfg_options);
    return cfg->flag_set[i] || cfg->file_set[i];
}

int config_finish(struct config *cfg, struct berr *err)
{
    for (size_t i = 0; i < cfg_noptions; i++) {
        const struct cfg_option *o = &cfg_options[i];
        if (o->type == CFG_STRINGS && ((struct strv *)cfg_field(cfg, o))->n == 0 && o->def &&
            cfg_set_text(cfg, o, o->def, err) < 0)
            return -EINVAL;
    }
    return config_validate(cfg, err);
}

int config_load(int argc, char **argv, struct config *ret, struct berr *err)
{
    struct config flags = {0}, file = {0};
    bool file_set[CONFIG_MAX_OPTIONS] = {0};
    memset(ret, 0, sizeof(*ret));
    int r = parse_flags(argc, argv, &flags, err);
    if (r == 0 && (flags.show_help || flags.show_version)) {
        ret->show_help = flags.show_help;
        ret->show_version = flags.show_version;
        config_done(&flags);
        return 0;
    }
    if (r == 0)
        r = read_config_file(&flags, &file, file_set, err);
    if (r == 0)
        r = merge(&flags, &file, file_set, ret, err);
    if (r == 0) {
        ret->config_file = strdup(flags.config_file ? flags.config_file : CONFIG_DEFAULT_FILE);
        ret->config_file_explicit = flags.config_file_explicit;
        ret->validate_only = flags.validate_only;
        r = ret->config_file ? config_finish(ret, err) : -ENOMEM;
    }
    config_done(&flags);
    config_done(&file);
    if (r < 0)
        config_done(ret);
    return r;
}

/* ---- reload ---- */

int config_reload(const struct config *cur, struct config *ret, struct strv *ret_ignored,
                  struct berr *err)
{
    struct config file = {0}, fresh = {0};
    bool file_set[CONFIG_MAX_OPTIONS] = {0};
    struct strv ignored = {0};
    int r = read_config_file(cur, &file, file_set, err);
    if (r == 0)
        r = merge(cur, &file, file_set, &fresh, err);
    if (r == 0)
        r = config_finish(&fresh, err);
    if (r == 0)
        r = config_copy(cur, ret);
    if (r == 0)
        memcpy(ret->file_set, fresh.file_set, sizeof(ret->file_set));
    for (size_t i = 0; r == 0 && i < cfg_noptions; i++) {
        const struct cfg_option *o = &cfg_options[i];
        if (cfg_equal_value(o, cur, &fresh))
            continue;
        if (o->reloadable)
            r = cfg_copy_value(o, &fresh, ret);
        else
            r = strv_push(&ignored, o->key);
    }
    config_done(&file);
    config_done(&fresh);
    if (r < 0) {
        strv_done(&ignored);
        return r;
    }
    *ret_ignored = ignored;
    return 0;
}

void config_print_help(const char *prog)
{
    printf("Usage: %s [OPTIONS]\n\nberth container engine daemon (Docker Engine API)\n\n"
           "Options:\n",
           prog);
    for (size_t i = 0; i < cfg_noptions; i++) {
        const struct cfg_option *o = &cfg_options[i];
        char left[64];
        if (o->short_flag)
            snprintf(left, sizeof(left), "-%c, --%s", o->short_flag, o->flag);
        else
            snprintf(left, sizeof(left), "    --%s", o->flag);
        printf("  %-32s %s%s%s%s\n", left, o->help, o->def ? " (default " : "",
               o->def ? o->def : "", o->def ? ")" : "");
    }
    printf("  %-32s %s\n", "    --config-file string",
           "Daemon configuration file (default " CONFIG_DEFAULT_FILE ")");
    printf("  %-32s %s\n", "    --validate", "Validate the configuration and exit");
    printf("  %-32s %s\n", "-h, --help", "Print usage");
    printf("  %-32s %s\n", "-v, --version", "Print version information and quit");
}
