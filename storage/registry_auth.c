#include "registry_auth.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/base64.h"

static char *dup_or_null(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

void auth_config_done(struct auth_config *a)
{
    free(a->username);
    free(a->password);
    free(a->identity_token);
    free(a->registry_token);
    free(a->server_address);
    memset(a, 0, sizeof(*a));
}

bool auth_config_has_secret(const struct auth_config *a)
{
    return (a->username && a->password) || a->identity_token || a->registry_token;
}

static const char *json_str(const cJSON *j, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The legacy "auth" field holds base64("user:password"). */
static void split_legacy_auth(const char *auth, struct auth_config *a)
{
    struct buf plain = BUF_INIT;
    if (base64_decode(auth, strlen(auth), &plain) == 0 && plain.data) {
        char *colon = strchr(plain.data, ':');
        if (colon) {
            *colon = '\0';
            a->username = dup_or_null(plain.data);
            a->password = dup_or_null(colon + 1);
        }
    }
    buf_done(&plain);
}

void auth_config_from_json(const cJSON *j, struct auth_config *ret)
{
    memset(ret, 0, sizeof(*ret));
    if (!cJSON_IsObject(j))
        return;
    ret->username = dup_or_null(json_str(j, "username"));
    ret->password = dup_or_null(json_str(j, "password"));
    ret->identity_token = dup_or_null(json_str(j, "identitytoken"));
    ret->registry_token = dup_or_null(json_str(j, "registrytoken"));
    ret->server_address = dup_or_null(json_str(j, "serveraddress"));
    const char *legacy = json_str(j, "auth");
    if (legacy && *legacy && !ret->username) {
        free(ret->password);
        ret->password = NULL;
        split_legacy_auth(legacy, ret);
    }
}

void auth_config_decode_header(const char *value, struct auth_config *ret)
{
    memset(ret, 0, sizeof(*ret));
    if (!value || !*value)
        return;
    struct buf json = BUF_INIT;
    if (base64_decode(value, strlen(value), &json) == 0 && json.data) {
        cJSON *j = cJSON_ParseWithLength(json.data, json.len);
        auth_config_from_json(j, ret);
        cJSON_Delete(j);
    }
    buf_done(&json);
}

/* ---- challenges ---- */

void auth_challenge_done(struct auth_challenge *c)
{
    free(c->realm);
    free(c->service);
    free(c->scope);
    free(c->error);
    memset(c, 0, sizeof(*c));
}

/* Reads one key="value" (or key=token) pair; returns the end position. */
static const char *parse_param(const char *p, char *key, size_t keylen, struct buf *value)
{
    while (*p == ' ' || *p == ',')
        p++;
    size_t k = 0;
    while (*p && *p != '=' && *p != ' ' && *p != ',') {
        if (k + 1 < keylen)
            key[k++] = (char)tolower((unsigned char)*p);
        p++;
    }
    key[k] = '\0';
    if (*p != '=')
        return NULL;
    p++;
    if (*p == '"') {
        for (p++; *p && *p != '"'; p++) {
            if (*p == '\\' && p[1])
                p++;
            buf_append(value, p, 1);
        }
        if (*p != '"')
            return NULL;
        return p + 1;
    }
    while (*p && *p != ',' && *p != ' ')
        buf_append(value, p++, 1);
    return p;
}

static void assign_param(struct auth_challenge *c, const char *key, struct buf *v)
{
    char **slot = strcmp(key, "realm") == 0     ? &c->realm
                  : strcmp(key, "service") == 0 ? &c->service
                  : strcmp(key, "scope") == 0   ? &c->scope
                  : strcmp(key, "error") == 0   ? &c->error
                                                : NULL;
    if (slot && !*slot)
        *slot = v->data ? buf_steal(v) : strdup("");
}

int auth_challenge_parse(const char *value, struct auth_challenge *ret)
{
    memset(ret, 0, sizeof(*ret));
    if (!value)
        return -EINVAL;
    while (*value == ' ')
        value++;
    size_t n = strcspn(value, " ");
    if (n == 0 || n >= sizeof(ret->scheme))
        return -EINVAL;
    memcpy(ret->scheme, value, n);
    if (strcasecmp(ret->scheme, "bearer") == 0)
        strcpy(ret->scheme, "Bearer");
    else if (strcasecmp(ret->scheme, "basic") == 0)
        strcpy(ret->scheme, "Basic");
    const char *p = value + n;
    while (p && *p) {
        char key[32];
        struct buf v = BUF_INIT;
        p = parse_param(p, key, sizeof(key), &v);
        if (p)
            assign_param(ret, key, &v);
        buf_done(&v);
        while (p && (*p == ' ' || *p == ','))
            p++;
    }
    if (strcmp(ret->scheme, "Bearer") == 0 && !ret->realm) {
        auth_challenge_done(ret);
        return -EINVAL;
    }
    return 0;
}

void url_query_escape(const char *s, struct buf *out)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            buf_append(out, s, 1);
        } else {
            char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
            buf_append(out, esc, 3);
        }
    }
}

static void add_query(struct buf *out, bool *first, const char *key, const char *value)
{
    buf_append_str(out, *first ? "?" : "&");
    *first = false;
    buf_append_str(out, key);
    buf_append_str(out, "=");
    url_query_escape(value, out);
}

int auth_token_url(const struct auth_challenge *c, const char *scope, const char *account,
                   struct buf *out)
{
    if (!c->realm)
        return -EINVAL;
    buf_append_str(out, c->realm);
    bool first = strchr(c->realm, '?') == NULL;
    if (c->service)
        add_query(out, &first, "service", c->service);
    if (scope && *scope)
        add_query(out, &first, "scope", scope);
    if (account && *account)
        add_query(out, &first, "account", account);
    return out->data ? 0 : -ENOMEM;
}

int auth_token_parse(const char *body, size_t len, char **ret_token, struct berr *err)
{
    cJSON *j = cJSON_ParseWithLength(body, len);
    const char *t = json_str(j, "token");
    if (!t || !*t)
        t = json_str(j, "access_token");
    char *copy = t && *t ? strdup(t) : NULL;
    cJSON_Delete(j);
    if (!copy)
        return berr_set(err, 500, EPROTO, "token server answered without a token");
    *ret_token = copy;
    return 0;
}

int auth_basic_header(const char *user, const char *password, struct buf *out)
{
    struct buf pair = BUF_INIT;
    buf_printf(&pair, "%s:%s", user ? user : "", password ? password : "");
    buf_append_str(out, "Authorization: Basic ");
    int r = base64_encode(pair.data, pair.len, out);
    buf_done(&pair);
    return r;
}
