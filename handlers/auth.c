/* POST /auth (docker login): checks the credentials against the registry
 * (Basic on /v2/, or a token request for the Bearer flow) and reports
 * success; the CLI keeps the credentials itself. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "engine.h"

struct login {
    struct srv_req *req;
    struct registry *reg;
    bool aborted;
};

/* "https://index.docker.io/v1/", "localhost:5000", "http://reg:5000/" -> domain */
static int login_domain(const char *server, char *out, size_t outlen, struct berr *err)
{
    const char *s = server && *server ? server : "docker.io";
    const char *p = strstr(s, "://");
    p = p ? p + 3 : s;
    size_t n = strcspn(p, "/");
    if (n == 0 || n >= outlen)
        return berr_set(err, 400, EINVAL, "invalid registry address \"%s\"", s);
    snprintf(out, outlen, "%.*s", (int)n, p);
    if (strcmp(out, "index.docker.io") == 0 || strcmp(out, "registry-1.docker.io") == 0)
        snprintf(out, outlen, "docker.io");
    return 0;
}

static void login_ready(struct registry *r, int result, const struct berr *err, void *ud)
{
    struct login *l = ud;
    (void)r;
    if (l->aborted) {
        free(l);
        return;
    }
    struct srv_req *req = l->req;
    req->on_abort = NULL;
    if (result < 0) {
        srv_reply_error(req, result == -EACCES ? 401 : 500, "%s", err->msg);
    } else {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "Status", "Login Succeeded");
        cJSON_AddStringToObject(o, "IdentityToken", "");
        srv_reply_json(req, 200, o);
    }
    registry_close(l->reg);
    free(l);
}

static void login_abort(struct srv_req *req)
{
    struct login *l = req->data;
    l->aborted = true;
    registry_close(l->reg); /* login_ready is not called after close */
    srv_reply_error(req, 500, "client gone");
    free(l);
}

void h_auth(struct srv_req *req)
{
    struct engine *e = srv_req_ctx(req);
    struct berr err = {0};
    if (!e->http) { /* an engine built without a registry client (test harnesses) */
        srv_reply_error(req, 500, "registry client not available");
        return;
    }
    cJSON *body = cJSON_ParseWithLength(req->body, req->body_len);
    if (!cJSON_IsObject(body)) {
        cJSON_Delete(body);
        srv_reply_error(req, 400, "invalid JSON in request body");
        return;
    }
    struct auth_config creds;
    auth_config_from_json(body, &creds);
    char domain[REF_DOMAIN_MAX];
    int r = login_domain(creds.server_address, domain, sizeof(domain), &err);
    cJSON_Delete(body);
    struct login *l = r == 0 ? calloc(1, sizeof(*l)) : NULL;
    if (r == 0 && !l)
        berr_set(&err, 500, ENOMEM, "out of memory");
    if (l) {
        l->req = req;
        req->data = l;
        req->on_abort = login_abort;
        r = registry_open(e->loop, e->http, &e->pulls.reg, domain, NULL, NULL, &creds, login_ready,
                          l, &l->reg, &err);
        if (r < 0) {
            req->on_abort = NULL;
            free(l);
            l = NULL;
        }
    }
    auth_config_done(&creds);
    if (!l)
        srv_reply_berr(req, &err);
}
