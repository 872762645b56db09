/* Docker-format JSON seccomp profiles (moby profiles/seccomp types, as the
 * CLI sends them in SecurityOpt "seccomp=<json>"), parsed with cJSON into a
 * struct seccomp_profile. Like Go's encoding/json, keys match
 * case-insensitively, unknown keys and null values are ignored, and a wrong
 * type is an error. Includes/excludes are resolved for this host here, so
 * the profile is ready for seccomp_build. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <seccomp.h>

#include "common/macros.h"
#include "runtime/caps.h"
#include "runtime/seccomp.h"

#define DECODE_FAILED "Decoding seccomp profile failed: "
#define INVALID       "invalid seccomp profile: "

/* Every allocation of a parsed profile, freed together. */
struct owned_profile {
    struct seccomp_profile pub;
    void **ptrs;
    size_t nptrs;
    size_t cap;
};

struct parse {
    struct owned_profile *op;
    struct berr *err;
};

static void *arena_calloc(struct parse *ps, size_t n, size_t size)
{
    struct owned_profile *op = ps->op;
    if (op->nptrs == op->cap) {
        size_t cap = op->cap ? op->cap * 2 : 16;
        void **p = realloc(op->ptrs, cap * sizeof(*p));
        if (!p)
            return NULL;
        op->ptrs = p;
        op->cap = cap;
    }
    void *mem = calloc(n ? n : 1, size);
    if (mem)
        op->ptrs[op->nptrs++] = mem;
    return mem;
}

static int oom(struct parse *ps)
{
    return berr_set(ps->err, 500, ENOMEM, "out of memory parsing seccomp profile");
}

/* Go's wording for a JSON value of the wrong type. */
static int type_error(struct parse *ps, const cJSON *v, const char *field, const char *want)
{
    const char *got = cJSON_IsString(v)   ? "string"
                      : cJSON_IsNumber(v) ? "number"
                      : cJSON_IsBool(v)   ? "bool"
                      : cJSON_IsArray(v)  ? "array"
                                          : "object";
    return berr_set(ps->err, 400, EINVAL,
                    DECODE_FAILED "json: cannot unmarshal %s into Go struct field %s of type %s",
                    got, field, want);
}

/* Absent and null both leave *ret NULL. */
static int get_item(const cJSON *obj, const char *key, const cJSON **ret)
{
    const cJSON *v = cJSON_GetObjectItem(obj, key);
    *ret = (v && !cJSON_IsNull(v)) ? v : NULL;
    return 0;
}

static int get_string(struct parse *ps, const cJSON *obj, const char *key, const char *field,
                      const char **ret)
{
    const cJSON *v;
    get_item(obj, key, &v);
    *ret = NULL;
    if (v && !cJSON_IsString(v))
        return type_error(ps, v, field, "string");
    if (v)
        *ret = v->valuestring;
    return 0;
}

static int get_array(struct parse *ps, const cJSON *obj, const char *key, const char *field,
                     const char *want, const cJSON **ret)
{
    get_item(obj, key, ret);
    if (*ret && !cJSON_IsArray(*ret))
        return type_error(ps, *ret, field, want);
    return 0;
}

/* A JSON number into an unsigned Go field. cJSON keeps numbers as doubles,
 * so values past 2^53 lose precision (documented limitation). */
static int number_to_u64(struct parse *ps, const cJSON *v, const char *field, uint64_t max,
                         uint64_t *ret)
{
    double d = cJSON_IsNumber(v) ? v->valuedouble : -1;
    if (!cJSON_IsNumber(v))
        return type_error(ps, v, field, "uint");
    if (d < 0 || d >= 18446744073709551616.0 || d != (double)(uint64_t)d || (uint64_t)d > max)
        return berr_set(ps->err, 400, EINVAL,
                        DECODE_FAILED "json: cannot unmarshal number %g into Go struct field "
                                      "%s of type uint",
                        d, field);
    *ret = (uint64_t)d;
    return 0;
}

static int get_u64(struct parse *ps, const cJSON *obj, const char *key, const char *field,
                   uint64_t max, bool *present, uint64_t *ret)
{
    const cJSON *v;
    get_item(obj, key, &v);
    *present = v != NULL;
    *ret = 0;
    return v ? number_to_u64(ps, v, field, max, ret) : 0;
}

/* ---- actions, operators, architectures ---------------------------------- */

/* runc's getAction: KILL is KILL_THREAD; ERRNO and TRACE default to EPERM. */
static int parse_action(struct parse *ps, const char *s, bool has_errno, uint64_t errno_ret,
                        uint32_t *ret)
{
    uint32_t e = has_errno ? (uint32_t)errno_ret : EPERM;
    if (!strcmp(s, "SCMP_ACT_KILL") || !strcmp(s, "SCMP_ACT_KILL_THREAD"))
        *ret = SCMP_ACT_KILL_THREAD;
    else if (!strcmp(s, "SCMP_ACT_KILL_PROCESS"))
        *ret = SCMP_ACT_KILL_PROCESS;
    else if (!strcmp(s, "SCMP_ACT_TRAP"))
        *ret = SCMP_ACT_TRAP;
    else if (!strcmp(s, "SCMP_ACT_ERRNO"))
        *ret = SCMP_ACT_ERRNO(e);
    else if (!strcmp(s, "SCMP_ACT_TRACE"))
        *ret = SCMP_ACT_TRACE(e);
    else if (!strcmp(s, "SCMP_ACT_ALLOW"))
        *ret = SCMP_ACT_ALLOW;
    else if (!strcmp(s, "SCMP_ACT_LOG"))
        *ret = SCMP_ACT_LOG;
    else if (!strcmp(s, "SCMP_ACT_NOTIFY"))
        return berr_set(ps->err, 400, ENOTSUP,
                        INVALID "SCMP_ACT_NOTIFY is not supported (no seccomp agent)");
    else
        return berr_set(ps->err, 400, EINVAL, INVALID "unknown action \"%.100s\"", s);
    return 0;
}

static const struct {
    const char *name;
    enum scmp_compare op;
} ops[] = {
    {"SCMP_CMP_NE", SCMP_CMP_NE},
    {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

static int parse_op(struct parse *ps, const char *s, uint8_t *ret)
{
    for (size_t i = 0; s && i < ARRAY_SIZE(ops); i++) {
        if (strcmp(s, ops[i].name) == 0) {
            *ret = (uint8_t)ops[i].op;
            return 0;
        }
    }
    return berr_set(ps->err, 400, EINVAL, INVALID "unknown operator \"%.100s\"", s ? s : "");
}

/* "SCMP_ARCH_X86_64" -> libseccomp's token for "x86_64". */
static int parse_arch(struct parse *ps, const cJSON *v, const char *field, uint32_t *ret)
{
    if (!cJSON_IsString(v))
        return type_error(ps, v, field, "specs.Arch");
    const char *s = v->valuestring;
    char low[32];
    size_t n = strncmp(s, "SCMP_ARCH_", 10) == 0 ? strlen(s + 10) : sizeof(low);
    for (size_t i = 0; n < sizeof(low) && i <= n; i++)
        low[i] = (char)tolower((unsigned char)s[10 + i]);
    *ret = n < sizeof(low) ? seccomp_arch_resolve_name(low) : 0;
    if (*ret == 0)
        return berr_set(ps->err, 400, EINVAL, INVALID "unknown architecture \"%.100s\"", s);
    return 0;
}

static int arch_list(struct parse *ps, const cJSON *arr, const char *field, uint32_t *out,
                     size_t *n)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        int r = parse_arch(ps, it, field, &out[*n]);
        if (r < 0)
            return r;
        (*n)++;
    }
    return 0;
}

/* Docker keeps only the archMap entry of the host's architecture. */
static int parse_archmap(struct parse *ps, const cJSON *map, uint32_t *out, size_t *n)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, map)
    {
        const cJSON *a, *subs = NULL;
        uint32_t tok;
        if (!cJSON_IsObject(e))
            return type_error(ps, e, "Seccomp.archMap", "seccomp.Architecture");
        get_item(e, "architecture", &a);
        if (!a || parse_arch(ps, a, "Architecture.architecture", &tok) < 0) {
            berr_clear(ps->err);
            continue; /* not the host's: moby never looks at it */
        }
        if (tok != seccomp_arch_native())
            continue;
        out[(*n)++] = tok;
        int r = get_array(ps, e, "subArchitectures", "Architecture.subArchitectures",
                          "[]specs.Arch", &subs);
        return r < 0 ? r : arch_list(ps, subs, "Architecture.subArchitectures", out, n);
    }
    return 0;
}

static size_t count_arches(const cJSON *archs, const cJSON *map)
{
    size_t n = (size_t)cJSON_GetArraySize(archs) + 1;
    const cJSON *e;
    cJSON_ArrayForEach(e, map)
    {
        const cJSON *subs = cJSON_IsObject(e) ? cJSON_GetObjectItem(e, "subArchitectures") : NULL;
        n += 1 + (cJSON_IsArray(subs) ? (size_t)cJSON_GetArraySize(subs) : 0);
    }
    return n;
}

static int parse_arches(struct parse *ps, const cJSON *root)
{
    const cJSON *archs, *map;
    int r = get_array(ps, root, "architectures", "Seccomp.architectures", "[]specs.Arch", &archs);
    if (r == 0)
        r = get_array(ps, root, "archMap", "Seccomp.archMap", "[]seccomp.Architecture", &map);
    if (r < 0)
        return r;
    if (cJSON_GetArraySize(archs) > 0 && cJSON_GetArraySize(map) > 0)
        return berr_set(ps->err, 400, EINVAL,
                        "'architectures' and 'archMap' were specified in the seccomp profile, "
                        "use either 'architectures' or 'archMap'");
    uint32_t *out = arena_calloc(ps, count_arches(archs, map), sizeof(*out));
    if (!out)
        return oom(ps);
    size_t n = 0;
    r = archs ? arch_list(ps, archs, "Seccomp.architectures", out, &n) : 0;
    if (r == 0 && map)
        r = parse_archmap(ps, map, out, &n);
    ps->op->pub.arches = out;
    ps->op->pub.narches = n;
    return r;
}

/* ---- syscalls[] ---------------------------------------------------------- */

/* moby's KernelVersion: "<kernel>.<major>", neither part above 255. */
static int parse_min_kernel(struct parse *ps, const char *s, uint32_t *ret)
{
    unsigned k, m;
    int end = 0;
    *ret = 0;
    if (!s || !*s)
        return 0;
    if (sscanf(s, "%3u.%3u%n", &k, &m, &end) != 2 || s[end] != '\0' ||
        !isdigit((unsigned char)*s) || k > 255 || m > 255 || (k == 0 && m == 0))
        return berr_set(ps->err, 400, EINVAL,
                        DECODE_FAILED "invalid kernel version: \"%.50s\", expected "
                                      "\"<kernel>.<major>\"",
                        s);
    *ret = k << 16 | m;
    return 0;
}

/* Docker compares the caps of a filter literally with "CAP_*" names. */
static void cond_cap(struct seccomp_cond *c, const char *name)
{
    for (int i = 0; i <= CAPS_LAST; i++) {
        if (strcmp(caps_name(i), name) == 0) {
            c->caps |= CAPS_BIT(i);
            return;
        }
    }
    c->caps_unknown = true;
}

static int cond_strings(struct parse *ps, const cJSON *obj, const char *key, const char *field,
                        const cJSON **ret)
{
    int r = get_array(ps, obj, key, field, "[]string", ret);
    const cJSON *arr = r == 0 ? *ret : NULL, *it;
    cJSON_ArrayForEach(it, arr)
    {
        if (!cJSON_IsString(it))
            return type_error(ps, it, field, "string");
    }
    return r;
}

static int parse_cond(struct parse *ps, const cJSON *obj, struct seccomp_cond *c)
{
    const cJSON *arches, *caps, *it;
    const char *mk = NULL;
    if (!obj)
        return 0;
    if (!cJSON_IsObject(obj))
        return type_error(ps, obj, "Syscall.includes", "seccomp.Filter");
    int r = cond_strings(ps, obj, "arches", "Filter.arches", &arches);
    if (r == 0)
        r = cond_strings(ps, obj, "caps", "Filter.caps", &caps);
    if (r == 0)
        r = get_string(ps, obj, "minKernel", "Filter.minKernel", &mk);
    if (r == 0)
        r = parse_min_kernel(ps, mk, &c->min_kernel);
    if (r < 0)
        return r;
    if (cJSON_GetArraySize(arches) > 0)
        c->arches = SECCOMP_ARCHES_OTHER;
    cJSON_ArrayForEach(it, arches)
    {
        if (strcmp(it->valuestring, seccomp__native_arch_name()) == 0)
            c->arches = SECCOMP_ARCHES_NATIVE;
    }
    cJSON_ArrayForEach(it, caps) cond_cap(c, it->valuestring);
    return 0;
}

static int parse_arg(struct parse *ps, const cJSON *obj, struct seccomp_arg *a)
{
    const char *op;
    uint64_t index;
    bool has;
    if (!cJSON_IsObject(obj))
        return type_error(ps, obj, "Syscall.args", "specs.LinuxSeccompArg");
    int r = get_u64(ps, obj, "index", "LinuxSeccompArg.index", UINT32_MAX, &has, &index);
    if (r == 0)
        r = get_u64(ps, obj, "value", "LinuxSeccompArg.value", UINT64_MAX, &has, &a->value);
    if (r == 0)
        r = get_u64(ps, obj, "valueTwo", "LinuxSeccompArg.valueTwo", UINT64_MAX, &has,
                    &a->value_two);
    if (r == 0)
        r = get_string(ps, obj, "op", "LinuxSeccompArg.op", &op);
    if (r == 0)
        r = parse_op(ps, op, &a->op);
    if (r == 0 && index >= SECCOMP_ARGS_MAX)
        return berr_set(ps->err, 400, EINVAL,
                        INVALID "argument index %" PRIu64 " out of range (a syscall has %d)", index,
                        SECCOMP_ARGS_MAX);
    a->index = (uint8_t)index;
    return r;
}

static int parse_args(struct parse *ps, const cJSON *obj, struct seccomp_rule *rule)
{
    const cJSON *args, *it;
    int r = get_array(ps, obj, "args", "Syscall.args", "[]*specs.LinuxSeccompArg", &args);
    int n = cJSON_GetArraySize(args);
    if (r < 0 || n == 0)
        return r;
    if (n > SECCOMP_ARGS_MAX)
        return berr_set(ps->err, 400, EINVAL, INVALID "too many argument conditions (%d, max %d)",
                        n, SECCOMP_ARGS_MAX);
    struct seccomp_arg *a = arena_calloc(ps, (size_t)n, sizeof(*a));
    if (!a)
        return oom(ps);
    size_t i = 0;
    cJSON_ArrayForEach(it, args)
    {
        if ((r = parse_arg(ps, it, &a[i++])) < 0)
            return r;
    }
    rule->args = a;
    rule->nargs = (size_t)n;
    return 0;
}

static int add_name(struct parse *ps, const char *s, const char **names, size_t *n)
{
    if (!*s)
        return berr_set(ps->err, 400, EINVAL, INVALID "empty string is not a valid syscall");
    char *copy = arena_calloc(ps, strlen(s) + 1, 1);
    if (!copy)
        return oom(ps);
    names[(*n)++] = strcpy(copy, s);
    return 0;
}

/* "name" (old format) or "names", not both. */
static int parse_names(struct parse *ps, const cJSON *obj, struct seccomp_rule *rule)
{
    const char *name;
    const cJSON *names = NULL, *it;
    int r = get_string(ps, obj, "name", "Syscall.name", &name);
    if (r == 0)
        r = cond_strings(ps, obj, "names", "Syscall.names", &names);
    if (r < 0)
        return r;
    if (name && *name && cJSON_GetArraySize(names) > 0)
        return berr_set(ps->err, 400, EINVAL,
                        "'name' and 'names' were specified in the seccomp profile, use either "
                        "'name' or 'names'");
    const char **out = arena_calloc(ps, (size_t)cJSON_GetArraySize(names) + 1, sizeof(*out));
    if (!out)
        return oom(ps);
    size_t n = 0;
    if (name && *name)
        r = add_name(ps, name, out, &n);
    cJSON_ArrayForEach(it, names)
    {
        if (r == 0)
            r = add_name(ps, it->valuestring, out, &n);
    }
    rule->names = out;
    rule->nnames = n;
    return r;
}

static int parse_rule_action(struct parse *ps, const cJSON *obj, struct seccomp_rule *rule)
{
    const char *action;
    uint64_t errno_ret = 0;
    bool has_errno = false;
    int r = get_string(ps, obj, "action", "Syscall.action", &action);
    if (r == 0)
        r = get_u64(ps, obj, "errnoRet", "Syscall.errnoRet", UINT16_MAX, &has_errno, &errno_ret);
    if (r < 0)
        return r;
    return parse_action(ps, action ? action : "", has_errno, errno_ret, &rule->action);
}

static int parse_rule(struct parse *ps, const cJSON *obj, struct seccomp_rule *rule)
{
    const cJSON *inc, *exc;
    if (!cJSON_IsObject(obj))
        return type_error(ps, obj, "Seccomp.syscalls", "seccomp.Syscall");
    get_item(obj, "includes", &inc);
    get_item(obj, "excludes", &exc);
    int r = parse_names(ps, obj, rule);
    if (r == 0)
        r = parse_rule_action(ps, obj, rule);
    if (r == 0)
        r = parse_args(ps, obj, rule);
    if (r == 0)
        r = parse_cond(ps, inc, &rule->includes);
    if (r == 0)
        r = parse_cond(ps, exc, &rule->excludes);
    return r;
}

static int parse_rules(struct parse *ps, const cJSON *root)
{
    const cJSON *arr, *it;
    int r = get_array(ps, root, "syscalls", "Seccomp.syscalls", "[]*seccomp.Syscall", &arr);
    int n = cJSON_GetArraySize(arr);
    if (r < 0 || n == 0)
        return r;
    struct seccomp_rule *rules = arena_calloc(ps, (size_t)n, sizeof(*rules));
    if (!rules)
        return oom(ps);
    size_t i = 0;
    cJSON_ArrayForEach(it, arr)
    {
        if ((r = parse_rule(ps, it, &rules[i++])) < 0)
            return r;
    }
    ps->op->pub.rules = rules;
    ps->op->pub.nrules = (size_t)n;
    return 0;
}

/* ---- top level ----------------------------------------------------------- */

static int parse_flags(struct parse *ps, const cJSON *root)
{
    const cJSON *flags, *it;
    int r = cond_strings(ps, root, "flags", "LinuxSeccomp.flags", &flags);
    if (r < 0)
        return r;
    cJSON_ArrayForEach(it, flags)
    {
        const char *f = it->valuestring;
        if (strcmp(f, "SECCOMP_FILTER_FLAG_LOG") == 0)
            ps->op->pub.flags |= SECCOMP_FILTER_FLAG_LOG;
        else if (strcmp(f, "SECCOMP_FILTER_FLAG_SPEC_ALLOW") == 0)
            ps->op->pub.flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
        else if (strcmp(f, "SECCOMP_FILTER_FLAG_TSYNC") != 0) /* one thread: moot */
            return berr_set(ps->err, 400, EINVAL, INVALID "seccomp flag %.100s is not known", f);
    }
    return 0;
}

static int parse_default(struct parse *ps, const cJSON *root)
{
    const char *action, *listener;
    uint64_t errno_ret = 0;
    bool has_errno = false;
    int r = get_string(ps, root, "defaultAction", "Seccomp.defaultAction", &action);
    if (r == 0)
        r = get_u64(ps, root, "defaultErrnoRet", "Seccomp.defaultErrnoRet", UINT16_MAX, &has_errno,
                    &errno_ret);
    if (r == 0)
        r = get_string(ps, root, "listenerPath", "Seccomp.listenerPath", &listener);
    if (r < 0)
        return r;
    if (listener && *listener)
        return berr_set(ps->err, 400, ENOTSUP,
                        INVALID "listenerPath is not supported (no seccomp agent)");
    struct seccomp_profile *p = &ps->op->pub;
    /* moby: neither a default action nor syscalls means "no seccomp". */
    p->disabled = (!action || !*action) && p->nrules == 0;
    if (p->disabled)
        return 0;
    return parse_action(ps, action ? action : "", has_errno, errno_ret, &p->default_action);
}

static int parse_root(struct parse *ps, const cJSON *root)
{
    if (cJSON_IsNull(root)) {
        ps->op->pub.disabled = true;
        return 0;
    }
    if (!cJSON_IsObject(root))
        return type_error(ps, root, "(root)", "seccomp.Seccomp");
    int r = parse_rules(ps, root);
    if (r == 0)
        r = parse_default(ps, root);
    if (r == 0 && !ps->op->pub.disabled)
        r = parse_arches(ps, root);
    if (r == 0)
        r = parse_flags(ps, root);
    return r;
}

static size_t skip_space(const char *json, size_t len, size_t off)
{
    while (off < len && isspace((unsigned char)json[off]))
        off++;
    return off;
}

/* Go-like syntax errors. cJSON's failure position is approximate, so only
 * trailing garbage after a complete value names the offending byte. */
static int syntax_error(const char *json, size_t len, const char *end, bool parsed,
                        struct berr *err)
{
    size_t off = skip_space(json, len, end ? (size_t)(end - json) : 0);
    if (!parsed && off + 1 >= len)
        return berr_set(err, 400, EINVAL, DECODE_FAILED "unexpected end of JSON input");
    if (!parsed)
        return berr_set(err, 400, EINVAL, DECODE_FAILED "invalid JSON near offset %zu", off);
    unsigned char c = (unsigned char)json[off];
    if (!isprint(c))
        return berr_set(err, 400, EINVAL, DECODE_FAILED "invalid byte 0x%02x after top-level value",
                        c);
    return berr_set(err, 400, EINVAL, DECODE_FAILED "invalid character '%c' after top-level value",
                    c);
}

int seccomp_profile_parse_json(const char *json, size_t len, struct seccomp_profile **ret,
                               struct berr *err)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, false);
    if (!root || skip_space(json, len, (size_t)(end - json)) != len) {
        bool parsed = root != NULL;
        cJSON_Delete(root);
        return syntax_error(json, len, end, parsed, err);
    }
    struct owned_profile *op = calloc(1, sizeof(*op));
    if (!op) {
        cJSON_Delete(root);
        return berr_set(err, 500, ENOMEM, "out of memory parsing seccomp profile");
    }
    struct parse ps = {op, err};
    int r = parse_root(&ps, root);
    cJSON_Delete(root);
    if (r < 0) {
        seccomp_profile_free(&op->pub);
        return r;
    }
    *ret = &op->pub;
    return 0;
}

void seccomp_profile_free(struct seccomp_profile *p)
{
    if (!p)
        return;
    struct owned_profile *op = container_of(p, struct owned_profile, pub);
    for (size_t i = 0; i < op->nptrs; i++)
        free(op->ptrs[i]);
    free(op->ptrs);
    free(op);
}
