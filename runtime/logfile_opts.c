/* LogConfig options of the json-file driver, with moby's parsing rules and
 * error texts (jsonfilelog.New / ValidateLogOpt, go-units FromHumanSize,
 * strconv errors), so clients see the messages Docker gives. */
#include "logfile.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void logw_opts_init(struct logw_opts *o)
{
    o->max_size = -1;
    o->max_file = 1;
    o->compress = false;
}

/* Number part of FromHumanSize's regex: \d+(\.\d+)* */
static const char *scan_number(const char *s, bool *ret_multi_dot)
{
    int dots = 0;
    if (!isdigit((unsigned char)*s))
        return NULL;
    while (isdigit((unsigned char)*s))
        s++;
    while (*s == '.' && isdigit((unsigned char)s[1])) {
        dots++;
        s++;
        while (isdigit((unsigned char)*s))
            s++;
    }
    *ret_multi_dot = dots > 1;
    return s;
}

static int64_t unit_multiplier(char c)
{
    switch (tolower((unsigned char)c)) {
    case 'k':
        return 1000LL;
    case 'm':
        return 1000000LL;
    case 'g':
        return 1000000000LL;
    case 't':
        return 1000000000000LL;
    case 'p':
        return 1000000000000000LL;
    default:
        return 0;
    }
}

/* Docker's sizes are decimal: go-units maps k/m/g to powers of 1000 in
 * FromHumanSize and accepts an optional "i" and "b" after the unit. */
int logw_parse_size(const char *s, int64_t *ret_bytes)
{
    bool multi_dot;
    const char *p = scan_number(s, &multi_dot);
    if (!p || multi_dot)
        return -EINVAL;
    const char *num_end = p;
    if (*p == ' ')
        p++;
    int64_t mul = unit_multiplier(*p);
    if (mul)
        p++;
    if (*p == 'i' || *p == 'I')
        p++;
    if (*p == 'b' || *p == 'B')
        p++;
    if (*p)
        return -EINVAL;
    char num[64];
    size_t n = (size_t)(num_end - s);
    if (n >= sizeof(num))
        return -ERANGE;
    memcpy(num, s, n);
    num[n] = '\0';
    double v = strtod(num, NULL) * (double)(mul ? mul : 1);
    if (v >= 9.2e18)
        return -ERANGE;
    *ret_bytes = (int64_t)v;
    return 0;
}

/* strconv.Atoi's rules: optional sign, decimal digits only. */
static int parse_atoi(const char *s, int *ret)
{
    const char *p = s + (*s == '+' || *s == '-');
    if (!*p)
        return -EINVAL;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q))
            return -EINVAL;
    errno = 0;
    long v = strtol(s, NULL, 10);
    if (errno == ERANGE || v > INT_MAX || v < INT_MIN)
        return -ERANGE;
    *ret = (int)v;
    return 0;
}

static int parse_bool(const char *s, bool *ret)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcmp(s, yes[i]) == 0 || strcmp(s, no[i]) == 0) {
            *ret = strcmp(s, yes[i]) == 0;
            return 0;
        }
    }
    return -EINVAL;
}

static int set_max_size(struct logw_opts *o, const char *v, struct berr *err)
{
    int64_t n;
    int r = logw_parse_size(v, &n);
    if (r == -EINVAL)
        return berr_set(err, 400, EINVAL, "invalid size: '%s'", v);
    if (r < 0 || n <= 0)
        return berr_set(err, 400, EINVAL, "max-size must be a positive number");
    o->max_size = n;
    return 0;
}

static int set_max_file(struct logw_opts *o, const char *v, struct berr *err)
{
    int n;
    int r = parse_atoi(v, &n);
    if (r < 0)
        return berr_set(err, 400, EINVAL, "strconv.Atoi: parsing \"%s\": %s", v,
                        r == -ERANGE ? "value out of range" : "invalid syntax");
    if (n < 1)
        return berr_set(err, 400, EINVAL, "max-file cannot be less than 1");
    o->max_file = n;
    return 0;
}

int logw_opts_set(struct logw_opts *o, const char *key, const char *value, struct berr *err)
{
    static const char *const ignored[] = {"labels", "labels-regex", "env", "env-regex", "tag"};
    if (strcmp(key, "max-size") == 0)
        return set_max_size(o, value, err);
    if (strcmp(key, "max-file") == 0)
        return set_max_file(o, value, err);
    if (strcmp(key, "compress") == 0) {
        if (parse_bool(value, &o->compress) < 0)
            return berr_set(err, 400, EINVAL, "strconv.ParseBool: parsing \"%s\": invalid syntax",
                            value);
        return 0;
    }
    for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
        if (strcmp(key, ignored[i]) == 0)
            return 0;
    return berr_set(err, 400, EINVAL, "unknown log opt '%s' for json-file log driver", key);
}

int logw_opts_check(const struct logw_opts *o, struct berr *err)
{
    /* moby accepts max-file without max-size (it then never rotates); only
     * compress has a cross-option rule. */
    if (o->compress && (o->max_file == 1 || o->max_size == -1))
        return berr_set(err, 400, EINVAL,
                        "compress cannot be true when max-file is less than 2 or max-size is not "
                        "set");
    return 0;
}

int logw_path_for(const char *dir, const char *id, char **ret_path)
{
    char *p;
    if (asprintf(&p, "%s/%s-json.log", dir, id) < 0)
        return -ENOMEM;
    *ret_path = p;
    return 0;
}
