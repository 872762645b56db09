/* POST /containers/{name}/exec, GET /exec/{id}/json, POST /exec/{id}/resize
 * (moby's exec router: the body is a container.ExecOptions, decoded as Go
 * does; the records and their checks are in runtime/exec.h). The start is
 * in exec_start.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "common/jsonutil.h"
#include "containers.h"
#include "detach_keys.h"
#include "runtime/exec.h"

struct exec_body {
    struct strv cmd, env;
    const char *user, *workdir, *detach_keys;
    struct rt_exec_opts o;
    struct detach_keys keys;
};

/* The Go struct being decoded, for the messages. */
static const char *go_struct = "ExecOptions";

static int type_error(const cJSON *v, const char *key, const char *gotype, struct berr *err)
{
    return berr_set(err, 400, EINVAL,
                    "invalid JSON: json: cannot unmarshal %s into Go struct field %s.%s of type %s",
                    json_kind_name(v), go_struct, key, gotype);
}

/* A member of the given cJSON type, or NULL when absent or null. */
static const cJSON *member(const cJSON *o, const char *key, int type, const char *gotype,
                           struct berr *err, int *r)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v) || *r < 0)
        return NULL;
    if ((v->type & 0xff) == type || (type == cJSON_True && cJSON_IsBool(v)))
        return v;
    *r = type_error(v, key, gotype, err);
    return NULL;
}

static int get_bool(const cJSON *o, const char *key, bool *out, struct berr *err, int *r)
{
    const cJSON *v = member(o, key, cJSON_True, "bool", err, r);
    *out = v && cJSON_IsTrue(v);
    return *r;
}

static const char *get_str(const cJSON *o, const char *key, struct berr *err, int *r)
{
    const cJSON *v = member(o, key, cJSON_String, "string", err, r);
    return v ? v->valuestring : NULL;
}

/* []string; Cmd is a strslice.StrSlice, which takes a lone string too. */
static int get_strv(const cJSON *o, const char *key, bool one_ok, struct strv *out,
                    struct berr *err, int *r)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    const cJSON *it;
    if (!v || cJSON_IsNull(v) || *r < 0)
        return *r;
    if (one_ok && cJSON_IsString(v))
        return *r = strv_push(out, v->valuestring) < 0 ? -ENOMEM : 0;
    if (!cJSON_IsArray(v))
        return *r = type_error(v, key, one_ok ? "strslice.StrSlice" : "[]string", err);
    cJSON_ArrayForEach(it, v)
    {
        if (!cJSON_IsString(it))
            return *r = type_error(it, key, "string", err);
        if (strv_push(out, it->valuestring) < 0)
            return *r = berr_set(err, 500, ENOMEM, "out of memory");
    }
    return *r;
}

/* ConsoleSize *[2]uint: two non-negative integers, or null. */
static int console_size(const cJSON *o, bool *has, unsigned hw[2], struct berr *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "ConsoleSize");
    *has = false;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 2)
        return type_error(v, "ConsoleSize", "[2]uint", err);
    for (int i = 0; i < 2; i++) {
        const cJSON *n = cJSON_GetArrayItem(v, i);
        if (!cJSON_IsNumber(n) || n->valuedouble < 0 || n->valuedouble > 65535 ||
            n->valuedouble != (double)(unsigned)n->valuedouble)
            return type_error(n, "ConsoleSize", "uint", err);
        hw[i] = (unsigned)n->valuedouble;
    }
    *has = true;
    return 0;
}

static int parse_fields(const cJSON *j, struct exec_body *b, struct berr *err)
{
    unsigned hw[2] = {0, 0};
    int r = 0;
    get_strv(j, "Cmd", true, &b->cmd, err, &r);
    get_strv(j, "Env", false, &b->env, err, &r);
    b->user = get_str(j, "User", err, &r);
    b->workdir = get_str(j, "WorkingDir", err, &r);
    b->detach_keys = get_str(j, "DetachKeys", err, &r);
    get_bool(j, "Tty", &b->o.tty, err, &r);
    get_bool(j, "Privileged", &b->o.privileged, err, &r);
    get_bool(j, "AttachStdin", &b->o.attach_stdin, err, &r);
    get_bool(j, "AttachStdout", &b->o.attach_stdout, err, &r);
    get_bool(j, "AttachStderr", &b->o.attach_stderr, err, &r);
    if (r == 0)
        r = console_size(j, &b->o.has_console, hw, err);
    b->o.console_h = hw[0];
    b->o.console_w = hw[1];
    return r;
}

/* moby's ReadJSON: an empty body decodes to nothing; anything else must be
 * one JSON object. */
static int parse_json(const struct srv_req *req, const char *type, cJSON **ret, struct berr *err)
{
    go_struct = type;
    *ret = NULL;
    if (req->body_len == 0)
        return 0;
    cJSON *j = *ret = cJSON_ParseWithLength(req->body, req->body_len);
    if (!j)
        return berr_set(err, 400, EINVAL, "invalid JSON: the request body is not a JSON document");
    if (!cJSON_IsObject(j))
        return berr_set(err, 400, EINVAL,
                        "invalid JSON: json: cannot unmarshal %s into Go value of type "
                        "container.%s",
                        json_kind_name(j), type);
    return 0;
}

static int parse_body(const struct srv_req *req, cJSON **ret, struct exec_body *b, struct berr *err)
{
    if (parse_json(req, "ExecOptions", ret, err) < 0 || parse_fields(*ret, b, err) < 0)
        return -EINVAL;
    if (b->cmd.n == 0)
        return berr_set(err, 400, EINVAL, "No exec command specified");
    if (req->api_minor < 42) /* not in the API before 1.42 */
        b->o.has_console = false;
    if (b->detach_keys && *b->detach_keys) {
        struct berr ignored = {0};
        if (detach_keys_parse(b->detach_keys, &b->keys, &ignored) < 0)
            return berr_set(err, 400, EINVAL, "Invalid escape keys (%s) provided", b->detach_keys);
        b->o.detach = b->keys.seq;
        b->o.n_detach = b->keys.len;
    }
    return 0;
}

void h_exec_create(struct srv_req *req)
{
    struct container *c = ctr_from_req(req);
    if (!c)
        return;
    struct engine *e = srv_req_ctx(req);
    struct exec_body b = {0};
    struct berr err = {0};
    struct rt_exec *x = NULL;
    cJSON *j = NULL;
    int r = parse_body(req, &j, &b, &err);
    if (r == 0) {
        b.o.cmd = &b.cmd;
        b.o.env = &b.env;
        b.o.user = b.user;
        b.o.workdir = b.workdir;
        r = rt_exec_create(&e->rt, c, req->params[0], &b.o, &x, &err);
    }
    cJSON_Delete(j);
    strv_done(&b.cmd);
    strv_done(&b.env);
    if (r < 0) {
        srv_reply_berr(req, &err);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "Id", x->id);
    srv_reply_json(req, 201, o);
}

struct rt_exec *exec_from_req(struct srv_req *req, bool check)
{
    struct engine *e = srv_req_ctx(req);
    struct berr err = {0};
    if (!ctr_ready(req))
        return NULL;
    struct rt_exec *x = rt_exec_find(&e->rt, req->params[0], &err);
    if (x && check && rt_exec_check(x, &err) < 0)
        x = NULL;
    if (!x)
        srv_reply_berr(req, &err);
    return x;
}

static cJSON *process_config(const struct rt_exec *x)
{
    cJSON *pc = cJSON_CreateObject();
    cJSON *args = cJSON_AddArrayToObject(pc, "arguments");
    cJSON_AddBoolToObject(pc, "tty", x->tty);
    cJSON_AddStringToObject(pc, "entrypoint", x->argv.n ? x->argv.v[0] : "");
    for (size_t i = 1; i < x->argv.n; i++)
        cJSON_AddItemToArray(args, cJSON_CreateString(x->argv.v[i]));
    cJSON_AddBoolToObject(pc, "privileged", x->privileged);
    if (*x->user) /* omitempty */
        cJSON_AddStringToObject(pc, "user", x->user);
    return pc;
}

/* DetachKeys is a []byte in moby's ExecInspect: base64 in JSON. */
static void add_detach_keys(cJSON *o, const struct rt_exec *x)
{
    struct buf b = BUF_INIT;
    int r = base64_encode(x->detach, x->n_detach, &b);
    cJSON_AddStringToObject(o, "DetachKeys", r == 0 && b.len ? b.data : "");
    buf_done(&b);
}

void h_exec_inspect(struct srv_req *req)
{
    struct rt_exec *x = exec_from_req(req, false);
    if (!x)
        return;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "ID", x->id);
    cJSON_AddBoolToObject(o, "Running", x->running);
    if (x->has_exit_code)
        cJSON_AddNumberToObject(o, "ExitCode", x->exit_code);
    else
        cJSON_AddNullToObject(o, "ExitCode");
    cJSON_AddItemToObject(o, "ProcessConfig", process_config(x));
    cJSON_AddBoolToObject(o, "OpenStdin", x->open_stdin);
    cJSON_AddBoolToObject(o, "OpenStderr", x->open_stderr);
    cJSON_AddBoolToObject(o, "OpenStdout", x->open_stdout);
    cJSON_AddBoolToObject(o, "CanRemove", x->can_remove);
    cJSON_AddStringToObject(o, "ContainerID", x->c->id);
    add_detach_keys(o, x);
    cJSON_AddNumberToObject(o, "Pid", x->pid);
    srv_reply_json(req, 200, o);
}

/* moby: httputils.Uint32Value, an empty value being 0. */
static int size_param(struct srv_req *req, const char *key, const char *what, unsigned *out)
{
    const char *v = srv_req_query(req, key);
    char *end = NULL;
    errno = 0;
    unsigned long n = v && *v ? strtoul(v, &end, 10) : 0;
    if (v && *v && (*end || errno || n > 0xffffffffUL || *v == '-' || *v == '+')) {
        srv_reply_error(req, 400, "invalid resize %s \"%s\": strconv.ParseUint: parsing \"%s\": %s",
                        what, v, v,
                        errno || n > 0xffffffffUL ? "value out of range" : "invalid syntax");
        return -EINVAL;
    }
    *out = (unsigned)n;
    return 0;
}

void h_exec_resize(struct srv_req *req)
{
    unsigned h, w;
    if (size_param(req, "h", "height", &h) < 0 || size_param(req, "w", "width", &w) < 0)
        return;
    struct rt_exec *x = exec_from_req(req, true);
    if (!x)
        return;
    struct berr err = {0};
    if (rt_exec_resize(x, h, w, &err) < 0) {
        srv_reply_berr(req, &err);
        return;
    }
    srv_reply_empty(req, 200);
}

int exec_start_parse(const struct srv_req *req, struct exec_start_body *ret, struct berr *err)
{
    cJSON *j = NULL;
    unsigned hw[2] = {0, 0};
    int r = parse_json(req, "ExecStartOptions", &j, err);
    memset(ret, 0, sizeof(*ret));
    get_bool(j, "Detach", &ret->detach, err, &r);
    get_bool(j, "Tty", &ret->tty, err, &r);
    if (r == 0)
        r = console_size(j, &ret->has_console, hw, err);
    cJSON_Delete(j);
    /* moby: no console without a tty, nor before API 1.42 */
    ret->has_console = ret->has_console && ret->tty && req->api_minor >= 42;
    ret->console_hw[0] = hw[0];
    ret->console_hw[1] = hw[1];
    return r;
}
