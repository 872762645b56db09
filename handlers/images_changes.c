/* The `changes` of import (and commit): Dockerfile instructions applied to
 * a container config, as moby's BuildFromConfig with buildkit's parser and
 * shell lexer: CMD ENTRYPOINT ENV EXPOSE HEALTHCHECK LABEL ONBUILD STOPSIGNAL
 * USER VOLUME WORKDIR. Quotes, escapes and $VAR / ${VAR} / ${VAR:-x} /
 * ${VAR:+x} expansion against the config's Env, as a build would do. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/jsonutil.h"
#include "common/macros.h"
#include "images.h"

#define WORKDIR_MAX 4096

/* ---- Dockerfile words: buildkit's shell lexer, the part changes use ---- */

static int chg_err(struct berr *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int chg_err(struct berr *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    err->status = 400;
    return -EINVAL;
}

/* Value of name in an Env array ("K=V" strings); NULL when unset. */
static const char *env_get(const cJSON *env, const char *name, size_t len)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, env)
    {
        const char *kv = cJSON_GetStringValue(it);
        if (kv && strncmp(kv, name, len) == 0 && kv[len] == '=')
            return kv + len + 1;
    }
    return NULL;
}

struct lex {
    const char *p;
    const cJSON *env;
    struct berr *err;
};

static int lex_word_until(struct lex *lx, struct buf *out, char stop);

/* ${name}, ${name:-word}, ${name-word}, ${name:+word}, ${name+word}. */
static int lex_braced(struct lex *lx, struct buf *out)
{
    const char *name = lx->p;
    while (isalnum((unsigned char)*lx->p) || *lx->p == '_')
        lx->p++;
    size_t len = (size_t)(lx->p - name);
    const char *val = env_get(lx->env, name, len);
    if (*lx->p == '}') {
        lx->p++;
        return val ? buf_append_str(out, val) : 0;
    }
    bool colon = *lx->p == ':';
    char op = colon ? lx->p[1] : *lx->p;
    if (op != '-' && op != '+')
        return chg_err(lx->err,
                       "failed to process \"%s\": unsupported modifier (%c) in substitution", name,
                       op ? op : '}');
    lx->p += colon ? 2 : 1;
    struct buf word = BUF_INIT;
    int r = lex_word_until(lx, &word, '}');
    if (r == 0 && *lx->p != '}')
        r = chg_err(lx->err, "failed to process \"%s\": missing '}'", name);
    lx->p += r == 0;
    bool set = val && (!colon || *val);
    if (r == 0 && op == '-')
        r = buf_append_str(out, set ? val : (word.data ? word.data : ""));
    else if (r == 0 && set)
        r = buf_append_str(out, word.data ? word.data : "");
    buf_done(&word);
    return r;
}

static int lex_dollar(struct lex *lx, struct buf *out)
{
    lx->p++; /* '$' */
    if (*lx->p == '{') {
        lx->p++;
        return lex_braced(lx, out);
    }
    const char *name = lx->p;
    while (isalnum((unsigned char)*lx->p) || *lx->p == '_')
        lx->p++;
    if (lx->p == name)
        return buf_append(out, "$", 1);
    const char *val = env_get(lx->env, name, (size_t)(lx->p - name));
    return val ? buf_append_str(out, val) : 0;
}

static int lex_double(struct lex *lx, struct buf *out)
{
    lx->p++; /* '"' */
    int r = 0;
    while (r == 0 && *lx->p && *lx->p != '"') {
        if (*lx->p == '$') {
            r = lex_dollar(lx, out);
            continue;
        }
        if (*lx->p == '\\' && (lx->p[1] == '"' || lx->p[1] == '$' || lx->p[1] == '\\'))
            lx->p++;
        r = buf_append(out, lx->p++, 1);
    }
    if (r == 0 && *lx->p != '"')
        return chg_err(lx->err,
                       "unexpected end of statement while looking for matching double-quote");
    lx->p++;
    return r;
}

static int lex_single(struct lex *lx, struct buf *out)
{
    const char *end = strchr(++lx->p, '\'');
    if (!end)
        return chg_err(lx->err,
                       "unexpected end of statement while looking for matching single-quote");
    int r = buf_append(out, lx->p, (size_t)(end - lx->p));
    lx->p = end + 1;
    return r;
}

/* Quotes removed, escapes applied, variables expanded; stops at stop
 * (unquoted) or the end. */
static int lex_word_until(struct lex *lx, struct buf *out, char stop)
{
    int r = buf_append(out, "", 0);
    while (r == 0 && *lx->p && *lx->p != stop) {
        if (*lx->p == '\'')
            r = lex_single(lx, out);
        else if (*lx->p == '"')
            r = lex_double(lx, out);
        else if (*lx->p == '$')
            r = lex_dollar(lx, out);
        else if (*lx->p == '\\' && lx->p[1])
            r = buf_append(out, ++lx->p, 1), lx->p++;
        else
            r = buf_append(out, lx->p++, 1);
    }
    return r;
}

/* ProcessWord: one word expanded (the caller frees it). */
static char *lex_word(const char *word, const cJSON *env, struct berr *err)
{
    struct lex lx = {.p = word, .env = env, .err = err};
    struct buf out = BUF_INIT;
    if (lex_word_until(&lx, &out, '\0') < 0) {
        buf_done(&out);
        if (!err->msg[0])
            chg_err(err, "out of memory");
        return NULL;
    }
    return buf_steal(&out);
}

/* The parser's word split: whitespace outside quotes ends a word; quotes
 * and escapes stay in it for lex_word. */
static int split_words(const char *s, struct strv *ret)
{
    struct buf w = BUF_INIT;
    char quote = 0;
    int r = 0;
    for (const char *p = s;; p++) {
        bool end = !*p || (!quote && isspace((unsigned char)*p));
        if (end && w.len) {
            r = strv_push(ret, w.data);
            buf_reset(&w);
        }
        if (!*p || r < 0)
            break;
        if (end)
            continue;
        if (*p == '\\' && p[1] && quote != '\'')
            r = buf_append(&w, p++, 1);
        else if (quote && *p == quote)
            quote = 0;
        else if (!quote && (*p == '"' || *p == '\''))
            quote = *p;
        if (r == 0)
            r = buf_append(&w, p, 1);
    }
    buf_done(&w);
    return r;
}

/* A JSON array of strings ("exec form"); NULL when args is not one. */
static cJSON *json_form(const char *args)
{
    if (args[0] != '[')
        return NULL;
    cJSON *a = cJSON_Parse(args);
    bool ok = cJSON_IsArray(a);
    const cJSON *it, *items = ok ? a : NULL;
    cJSON_ArrayForEach(it, items)
    {
        ok = ok && cJSON_IsString(it);
    }
    if (!ok)
        cJSON_Delete(a);
    return ok ? a : NULL;
}

/* ---- applying one instruction to the config ---- */

static int set_key(cJSON *obj, const char *key, cJSON *item)
{
    if (!item)
        return -ENOMEM;
    if (cJSON_GetObjectItemCaseSensitive(obj, key))
        return cJSON_ReplaceItemInObjectCaseSensitive(obj, key, item) ? 0 : -ENOMEM;
    if (cJSON_AddItemToObject(obj, key, item))
        return 0;
    cJSON_Delete(item);
    return -ENOMEM;
}

/* The object member key, made an object first if it is null or absent. */
static cJSON *object_member(cJSON *obj, const char *key)
{
    cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (cJSON_IsObject(m))
        return m;
    return set_key(obj, key, cJSON_CreateObject()) < 0 ? NULL
                                                       : cJSON_GetObjectItemCaseSensitive(obj, key);
}

static cJSON *array_member(cJSON *obj, const char *key)
{
    cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (cJSON_IsArray(m))
        return m;
    return set_key(obj, key, cJSON_CreateArray()) < 0 ? NULL
                                                      : cJSON_GetObjectItemCaseSensitive(obj, key);
}

/* The command of CMD/ENTRYPOINT: exec form as given, shell form run by
 * the config's Shell (default /bin/sh -c). */
static cJSON *command_line(const cJSON *config, const char *args)
{
    cJSON *exec = json_form(args);
    if (exec)
        return exec;
    const cJSON *shell = cJSON_GetObjectItemCaseSensitive(config, "Shell");
    cJSON *cmd = cJSON_IsArray(shell) && cJSON_GetArraySize(shell) ? cJSON_Duplicate(shell, 1)
                                                                   : cJSON_CreateArray();
    if (cmd && !cJSON_GetArraySize(shell)) {
        cJSON_AddItemToArray(cmd, cJSON_CreateString("/bin/sh"));
        cJSON_AddItemToArray(cmd, cJSON_CreateString("-c"));
    }
    if (cmd)
        cJSON_AddItemToArray(cmd, cJSON_CreateString(args));
    return cmd;
}

struct change_state {
    bool cmd_set; /* ENTRYPOINT keeps Cmd only when a CMD came before it */
};

/* One key and value, expanded, appended to ret. */
static int push_pair(const char *instr, const char *key, const char *value, const cJSON *env,
                     struct strv *ret, struct berr *err)
{
    char *k = lex_word(key, env, err);
    char *v = k ? lex_word(value, env, err) : NULL;
    int r = v ? 0 : -EINVAL;
    if (r == 0 && !*k)
        r = chg_err(err, "%s names can not be blank", instr);
    if (r == 0 && (strv_push(ret, k) < 0 || strv_push(ret, v) < 0))
        r = -ENOMEM;
    free(k);
    free(v);
    return r;
}

/* key=value words (or the legacy "key value" form): the pairs, expanded
 * against the config's Env as it was before the instruction. */
static int name_values(const char *instr, const char *args, const cJSON *env, struct strv *ret,
                       struct berr *err)
{
    struct strv words = {0};
    int r = split_words(args, &words);
    if (r == 0 && words.n == 0)
        r = chg_err(err, "%s requires at least one argument", instr);
    bool pairs = r == 0 && strchr(words.v[0], '=');
    if (r == 0 && !pairs) { /* legacy form: key, then the rest of the line */
        const char *rest = args + strcspn(args, " \t");
        rest += strspn(rest, " \t");
        r = *rest ? push_pair(instr, words.v[0], rest, env, ret, err)
                  : chg_err(err, "%s must have two arguments", instr);
    }
    for (size_t i = 0; r == 0 && pairs && i < words.n; i++) {
        char *eq = strchr(words.v[i], '=');
        if (!eq) {
            r = chg_err(err,
                        "Syntax error - can't find = in \"%s\". Must be of the form: name=value",
                        words.v[i]);
            break;
        }
        *eq = '\0';
        r = push_pair(instr, words.v[i], eq + 1, env, ret, err);
    }
    strv_done(&words);
    return r;
}

static int env_set(cJSON *config, const char *k, const char *v)
{
    cJSON *env = array_member(config, "Env");
    if (!env)
        return -ENOMEM;
    struct buf kv = BUF_INIT;
    if (buf_printf(&kv, "%s=%s", k, v) < 0)
        return -ENOMEM;
    cJSON *item = cJSON_CreateString(kv.data);
    buf_done(&kv);
    if (!item)
        return -ENOMEM;
    cJSON *it;
    int i = 0;
    cJSON_ArrayForEach(it, env)
    {
        const char *s = cJSON_GetStringValue(it);
        if (s && strncmp(s, k, strlen(k)) == 0 && s[strlen(k)] == '=')
            return cJSON_ReplaceItemInArray(env, i, item) ? 0 : -ENOMEM;
        i++;
    }
    return cJSON_AddItemToArray(env, item) ? 0 : -ENOMEM;
}

static int do_env(cJSON *config, const char *args, struct berr *err)
{
    struct strv kv = {0};
    int r = name_values("ENV", args, cJSON_GetObjectItemCaseSensitive(config, "Env"), &kv, err);
    for (size_t i = 0; r == 0 && i + 1 < kv.n; i += 2)
        r = env_set(config, kv.v[i], kv.v[i + 1]);
    strv_done(&kv);
    return r;
}

static int do_label(cJSON *config, const char *args, struct berr *err)
{
    struct strv kv = {0};
    int r = name_values("LABEL", args, cJSON_GetObjectItemCaseSensitive(config, "Env"), &kv, err);
    cJSON *labels = r == 0 ? object_member(config, "Labels") : NULL;
    for (size_t i = 0; labels && i + 1 < kv.n; i += 2)
        r = set_key(labels, kv.v[i], cJSON_CreateString(kv.v[i + 1]));
    strv_done(&kv);
    return r == 0 && !labels ? -ENOMEM : r;
}

/* Expanded whitespace-separated words, or the items of a JSON array. */
static int word_list(const char *args, const cJSON *env, bool json, struct strv *ret,
                     struct berr *err)
{
    cJSON *a = json ? json_form(args) : NULL;
    const cJSON *it;
    int r = 0;
    cJSON_ArrayForEach(it, a)
    {
        char *w = lex_word(it->valuestring, env, err);
        r = w ? strv_push(ret, w) : -EINVAL;
        free(w);
        if (r < 0)
            break;
    }
    if (!a)
        r = split_words(args, ret);
    for (size_t i = 0; !a && r == 0 && i < ret->n; i++) {
        char *w = lex_word(ret->v[i], env, err);
        if (!w)
            return -EINVAL;
        free(ret->v[i]);
        ret->v[i] = w;
    }
    cJSON_Delete(a);
    return r;
}

/* nat.ParsePortSpecs for EXPOSE: "80", "80/udp", "8000-8010/tcp". */
static int add_ports(cJSON *exposed, const char *spec, struct berr *err)
{
    char proto[16] = "tcp";
    const char *slash = strchr(spec, '/');
    if (slash && (strlen(slash + 1) == 0 || strlen(slash + 1) >= sizeof(proto)))
        return chg_err(err, "Invalid proto: %s", slash + 1);
    if (slash)
        snprintf(proto, sizeof(proto), "%s", slash + 1);
    for (char *p = proto; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if (strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp"))
        return chg_err(err, "Invalid proto: %s", proto);
    char *end;
    unsigned long lo = strtoul(spec, &end, 10), hi = lo;
    if (*end == '-')
        hi = strtoul(end + 1, &end, 10);
    if (end == spec || (*end && *end != '/') || !isdigit((unsigned char)spec[0]) || hi < lo ||
        hi > 65535)
        return chg_err(err, "Invalid containerPort: %.*s", (int)(slash ? slash - spec : 64), spec);
    for (unsigned long port = lo; port <= hi; port++) {
        char key[32];
        snprintf(key, sizeof(key), "%lu/%s", port, proto);
        if (!cJSON_GetObjectItemCaseSensitive(exposed, key) &&
            !cJSON_AddItemToObject(exposed, key, cJSON_CreateObject()))
            return -ENOMEM;
    }
    return 0;
}

static int do_expose(cJSON *config, const char *args, struct berr *err)
{
    struct strv ports = {0};
    int r = word_list(args, cJSON_GetObjectItemCaseSensitive(config, "Env"), false, &ports, err);
    if (r == 0 && ports.n == 0)
        r = chg_err(err, "EXPOSE requires at least one argument");
    cJSON *exposed = r == 0 ? object_member(config, "ExposedPorts") : NULL;
    for (size_t i = 0; exposed && r == 0 && i < ports.n; i++)
        r = add_ports(exposed, ports.v[i], err);
    strv_done(&ports);
    return r == 0 && !exposed ? -ENOMEM : r;
}

static int do_volume(cJSON *config, const char *args, struct berr *err)
{
    struct strv vols = {0};
    int r = word_list(args, cJSON_GetObjectItemCaseSensitive(config, "Env"), true, &vols, err);
    if (r == 0 && vols.n == 0)
        r = chg_err(err, "VOLUME requires at least one argument");
    cJSON *volumes = r == 0 ? object_member(config, "Volumes") : NULL;
    for (size_t i = 0; volumes && r == 0 && i < vols.n; i++) {
        if (!*vols.v[i])
            r = chg_err(err, "VOLUME specified can not be an empty string");
        else if (!cJSON_GetObjectItemCaseSensitive(volumes, vols.v[i]))
            r = cJSON_AddItemToObject(volumes, vols.v[i], cJSON_CreateObject()) ? 0 : -ENOMEM;
    }
    strv_done(&vols);
    return r == 0 && !volumes ? -ENOMEM : r;
}

/* filepath.Join("/", current, requested) for a relative WORKDIR. */
static int join_workdir(const char *cur, const char *req, struct buf *out)
{
    char tmp[2 * WORKDIR_MAX];
    snprintf(tmp, sizeof(tmp), "%s/%s", cur, req);
    char *save = NULL;
    int r = 0;
    for (char *c = strtok_r(tmp, "/", &save); r == 0 && c; c = strtok_r(NULL, "/", &save)) {
        if (strcmp(c, ".") == 0)
            continue;
        if (strcmp(c, "..") == 0) {
            char *slash = out->data ? strrchr(out->data, '/') : NULL;
            out->len = slash ? (size_t)(slash - out->data) : 0;
            if (out->data)
                out->data[out->len] = '\0';
            continue;
        }
        r = buf_printf(out, "/%s", c);
    }
    return r == 0 && out->len == 0 ? buf_append_str(out, "/") : r;
}

static int do_string(cJSON *config, const char *instr, const char *key, const char *args,
                     struct berr *err)
{
    if (!*args)
        return chg_err(err, "%s requires exactly one argument", instr);
    char *v = lex_word(args, cJSON_GetObjectItemCaseSensitive(config, "Env"), err);
    if (!v)
        return -EINVAL;
    int r = 0;
    struct buf joined = BUF_INIT;
    if (strcmp(key, "WorkingDir") == 0 && v[0] != '/') {
        const char *cur = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(config, key));
        r = join_workdir(cur ? cur : "", v, &joined);
    }
    if (r == 0)
        r = set_key(config, key, cJSON_CreateString(joined.data ? joined.data : v));
    buf_done(&joined);
    free(v);
    return r;
}

/* moby's signal.ParseSignal: a number > 0 or a name, SIG optional. */
static bool signal_valid(const char *s)
{
    static const char *const names[] = {
        "ABRT", "ALRM",   "BUS",  "CHLD",   "CLD",   "CONT", "FPE",  "HUP",   "ILL",
        "INT",  "IO",     "IOT",  "KILL",   "PIPE",  "POLL", "PROF", "PWR",   "QUIT",
        "SEGV", "STKFLT", "STOP", "SYS",    "TERM",  "TRAP", "TSTP", "TTIN",  "TTOU",
        "URG",  "USR1",   "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ", "RTMIN", "RTMAX"};
    char *end;
    long n = strtol(s, &end, 10);
    if (*s && !*end)
        return n > 0;
    if (strncasecmp(s, "SIG", 3) == 0)
        s += 3;
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        size_t len = strlen(names[i]);
        if (strncasecmp(s, names[i], len) != 0)
            continue;
        if (!s[len])
            return true;
        /* RTMIN+1..15, RTMAX-14..-1 */
        bool rt = strcmp(names[i], "RTMIN") == 0 ? s[len] == '+' : s[len] == '-';
        n = strtol(s + len + 1, &end, 10);
        if (len == 5 && rt && !*end && n >= 1 && n <= (s[len] == '+' ? 15 : 14))
            return true;
    }
    return false;
}

static int do_stopsignal(cJSON *config, const char *args, struct berr *err)
{
    char *v = *args ? lex_word(args, cJSON_GetObjectItemCaseSensitive(config, "Env"), err) : NULL;
    if (!*args)
        return chg_err(err, "STOPSIGNAL requires exactly one argument");
    if (!v)
        return -EINVAL;
    int r = signal_valid(v) ? set_key(config, "StopSignal", cJSON_CreateString(v))
                            : chg_err(err, "Invalid signal: %s", v);
    free(v);
    return r;
}

static int do_onbuild(cJSON *config, const char *args, struct berr *err)
{
    size_t n = strcspn(args, " \t");
    if (!n)
        return chg_err(err, "ONBUILD requires at least one argument");
    if ((n == 7 && strncasecmp(args, "ONBUILD", 7) == 0))
        return chg_err(err, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
    if ((n == 4 && strncasecmp(args, "FROM", 4) == 0) ||
        (n == 10 && strncasecmp(args, "MAINTAINER", 10) == 0))
        return chg_err(err, "%.*s isn't allowed as an ONBUILD trigger", (int)n, args);
    cJSON *list = array_member(config, "OnBuild");
    return list && cJSON_AddItemToArray(list, cJSON_CreateString(args)) ? 0 : -ENOMEM;
}

/* Go's time.ParseDuration, for HEALTHCHECK options: "30s", "1m30s", "1.5h". */
static int parse_duration(const char *s, int64_t *ret)
{
    static const struct {
        const char *unit;
        double ns;
    } units[] = {{"ns", 1},  {"us", 1e3}, {"µs", 1e3},  {"ms", 1e6},
                 {"s", 1e9}, {"m", 6e10}, {"h", 3.6e12}};
    double total = 0;
    if (strcmp(s, "0") == 0)
        return *ret = 0, 0;
    while (*s) {
        char *end;
        double v = strtod(s, &end);
        if (end == s || v < 0)
            return -EINVAL;
        size_t k = 0, best = ARRAY_SIZE(units);
        for (; k < ARRAY_SIZE(units); k++)
            if (strncmp(end, units[k].unit, strlen(units[k].unit)) == 0 &&
                (best == ARRAY_SIZE(units) || strlen(units[k].unit) > strlen(units[best].unit)))
                best = k;
        if (best == ARRAY_SIZE(units))
            return -EINVAL;
        total += v * units[best].ns;
        s = end + strlen(units[best].unit);
    }
    *ret = (int64_t)total;
    return 0;
}

static int health_flag(cJSON *hc, const char *flag, struct berr *err)
{
    static const char *const durations[][2] = {{"interval", "Interval"},
                                               {"timeout", "Timeout"},
                                               {"start-period", "StartPeriod"},
                                               {"start-interval", "StartInterval"}};
    const char *eq = strchr(flag, '=');
    size_t n = eq ? (size_t)(eq - flag) : strlen(flag);
    for (size_t i = 0; eq && i < ARRAY_SIZE(durations); i++) {
        int64_t ns;
        if (strlen(durations[i][0]) != n || strncmp(flag, durations[i][0], n) != 0)
            continue;
        if (parse_duration(eq + 1, &ns) < 0)
            return chg_err(err, "time: invalid duration \"%s\"", eq + 1);
        if (ns != 0 && ns < 1000000)
            return chg_err(err, "%s cannot be less than 1ms", durations[i][1]);
        return json_add_int64(hc, durations[i][1], ns) ? 0 : -ENOMEM;
    }
    if (eq && n == 7 && strncmp(flag, "retries", 7) == 0) {
        char *end;
        long v = strtol(eq + 1, &end, 10);
        if (!eq[1] || *end || v < 0)
            return chg_err(err, "--retries cannot be negative (%s)", eq + 1);
        return json_add_int64(hc, "Retries", v) ? 0 : -ENOMEM;
    }
    return chg_err(err, "Unknown flag: %.*s", (int)n, flag);
}

/* Test of HEALTHCHECK: NONE, CMD <shell form> or CMD [exec form]. */
static int health_test(const char *type, size_t n, const char *rest, cJSON **ret, struct berr *err)
{
    if (n == 4 && strncasecmp(type, "NONE", 4) == 0) {
        if (*rest)
            return chg_err(err, "HEALTHCHECK NONE takes no arguments");
        *ret = cJSON_CreateStringArray((const char *[]){"NONE"}, 1);
    } else if (n == 3 && strncasecmp(type, "CMD", 3) == 0) {
        if (!*rest)
            return chg_err(err, "Missing command after HEALTHCHECK CMD");
        *ret = json_form(rest);
        if (*ret && !cJSON_InsertItemInArray(*ret, 0, cJSON_CreateString("CMD"))) {
            cJSON_Delete(*ret);
            *ret = NULL;
        } else if (!*ret) {
            *ret = cJSON_CreateStringArray((const char *[]){"CMD-SHELL", rest}, 2);
        }
    } else {
        return chg_err(err, "Unknown type \"%.*s\" in HEALTHCHECK (try CMD)", (int)n, type);
    }
    return *ret ? 0 : -ENOMEM;
}

/* {"Test":[...], options...}: Test first, as moby's HealthConfig. */
static int do_healthcheck(cJSON *config, const char *args, struct berr *err)
{
    cJSON *opts = cJSON_CreateObject(), *test = NULL;
    int r = opts ? 0 : -ENOMEM;
    while (r == 0 && strncmp(args, "--", 2) == 0) {
        size_t n = strcspn(args, " \t");
        char flag[128];
        snprintf(flag, sizeof(flag), "%.*s", (int)(n - 2), args + 2);
        r = health_flag(opts, flag, err);
        args += n + strspn(args + n, " \t");
    }
    size_t n = strcspn(args, " \t");
    if (r == 0)
        r = health_test(args, n, args + n + strspn(args + n, " \t"), &test, err);
    cJSON *hc = r == 0 ? cJSON_CreateObject() : NULL;
    if (r == 0 && (!hc || !cJSON_AddItemToObject(hc, "Test", test))) {
        cJSON_Delete(test);
        r = -ENOMEM;
    }
    while (r == 0 && opts->child)
        cJSON_AddItemToArray(hc, cJSON_DetachItemViaPointer(opts, opts->child));
    cJSON_Delete(opts);
    if (r == 0)
        return set_key(config, "Healthcheck", hc);
    cJSON_Delete(hc);
    return r;
}

static int do_command(cJSON *config, bool entrypoint, const char *args, struct change_state *st)
{
    int r = set_key(config, entrypoint ? "Entrypoint" : "Cmd", command_line(config, args));
    if (r == 0 && entrypoint && !st->cmd_set)
        r = set_key(config, "Cmd", cJSON_CreateNull());
    st->cmd_set = st->cmd_set || !entrypoint;
    return r;
}

/* One instruction line: "<INSTR> <args>". */
static int apply_line(cJSON *config, const char *line, struct change_state *st, struct berr *err)
{
    char instr[16];
    size_t n = strcspn(line, " \t");
    const char *args = line + n + strspn(line + n, " \t");
    snprintf(instr, sizeof(instr), "%.*s", (int)(n < sizeof(instr) ? n : sizeof(instr) - 1), line);
    for (char *p = instr; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if (!strcmp(instr, "cmd") || !strcmp(instr, "entrypoint"))
        return do_command(config, instr[0] == 'e', args, st);
    if (!strcmp(instr, "env"))
        return do_env(config, args, err);
    if (!strcmp(instr, "label"))
        return do_label(config, args, err);
    if (!strcmp(instr, "expose"))
        return do_expose(config, args, err);
    if (!strcmp(instr, "volume"))
        return do_volume(config, args, err);
    if (!strcmp(instr, "user"))
        return do_string(config, "USER", "User", args, err);
    if (!strcmp(instr, "workdir"))
        return do_string(config, "WORKDIR", "WorkingDir", args, err);
    if (!strcmp(instr, "stopsignal"))
        return do_stopsignal(config, args, err);
    if (!strcmp(instr, "onbuild"))
        return do_onbuild(config, args, err);
    if (!strcmp(instr, "healthcheck"))
        return do_healthcheck(config, args, err);
    return chg_err(err, "%.*s is not a valid change command", (int)n, instr);
}

/* Changes joined by newlines, as moby parses them: a trailing backslash
 * continues a line; blank lines and # comments are skipped. */
static int logical_lines(const char *const *changes, size_t n, struct strv *ret)
{
    struct buf line = BUF_INIT;
    int r = 0;
    for (size_t i = 0; r == 0 && i < n; i++) {
        const char *c = changes[i];
        size_t len = strlen(c);
        bool cont = len && c[len - 1] == '\\';
        r = buf_append(&line, c, cont ? len - 1 : len);
        if (cont && i + 1 < n)
            continue;
        const char *s = line.data ? line.data + strspn(line.data, " \t") : "";
        if (r == 0 && *s && *s != '#') {
            char *end = (char *)s + strlen(s);
            while (end > s && isspace((unsigned char)end[-1]))
                *--end = '\0';
            r = strv_push(ret, s);
        }
        buf_reset(&line);
    }
    buf_done(&line);
    return r;
}

int images_apply_changes(cJSON *config, const char *const *changes, size_t n, struct berr *err)
{
    struct strv lines = {0};
    struct change_state st = {0};
    berr_clear(err);
    int r = logical_lines(changes, n, &lines);
    for (size_t i = 0; r == 0 && i < lines.n; i++)
        r = apply_line(config, lines.v[i], &st, err);
    strv_done(&lines);
    if (r == -ENOMEM && !err->msg[0])
        berr_set(err, 500, ENOMEM, "out of memory");
    return r;
}
