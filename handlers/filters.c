#include "filters.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

void filters_done(struct filters *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->v[i].key);
        strv_done(&f->v[i].values);
    }
    free(f->v);
    f->v = NULL;
    f->n = 0;
}

static struct filter_entry *add_entry(struct filters *f, const char *key)
{
    struct filter_entry *v = realloc(f->v, (f->n + 1) * sizeof(*v));
    if (!v)
        return NULL;
    f->v = v;
    struct filter_entry *e = &f->v[f->n];
    memset(e, 0, sizeof(*e));
    e->key = strdup(key);
    if (!e->key)
        return NULL;
    f->n++;
    return e;
}

/* {"v": true} (map form) or ["v"] (list form). */
static int parse_values(const cJSON *vals, struct strv *out)
{
    const cJSON *it;
    if (cJSON_IsArray(vals)) {
        cJSON_ArrayForEach(it, vals)
        {
            if (!cJSON_IsString(it) || strv_push(out, it->valuestring) < 0)
                return -EINVAL;
        }
        return 0;
    }
    if (!cJSON_IsObject(vals))
        return -EINVAL;
    cJSON_ArrayForEach(it, vals)
    {
        if (!cJSON_IsBool(it))
            return -EINVAL;
        if (cJSON_IsTrue(it) && strv_push(out, it->string) < 0)
            return -ENOMEM;
    }
    return 0;
}

int filters_parse(const char *json, struct filters *ret, struct berr *err)
{
    memset(ret, 0, sizeof(*ret));
    if (!json || !*json)
        return 0;
    cJSON *root = cJSON_Parse(json);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return berr_set(err, 400, EINVAL, "invalid filters: '%s' is not a JSON object", json);
    }
    int r = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, root)
    {
        struct filter_entry *e = add_entry(ret, it->string);
        if (!e || parse_values(it, &e->values) < 0) {
            r = berr_set(err, 400, EINVAL,
                         "invalid filters: values of '%s' must be a list of strings or a map of "
                         "string to bool",
                         it->string);
            break;
        }
    }
    cJSON_Delete(root);
    if (r < 0)
        filters_done(ret);
    return r;
}

int filters_validate(const struct filters *f, const char *const *allowed, struct berr *err)
{
    for (size_t i = 0; i < f->n; i++) {
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = strcmp(*a, f->v[i].key) == 0;
        if (!ok)
            return berr_set(err, 400, EINVAL, "invalid filter '%s'", f->v[i].key);
    }
    return 0;
}

const struct strv *filters_get(const struct filters *f, const char *key)
{
    for (size_t i = 0; i < f->n; i++) {
        if (strcmp(f->v[i].key, key) == 0)
            return &f->v[i].values;
    }
    return NULL;
}

bool filters_has(const struct filters *f, const char *key)
{
    const struct strv *v = filters_get(f, key);
    return v && v->n > 0;
}

bool filters_match_exact(const struct filters *f, const char *key, const char *value)
{
    const struct strv *v = filters_get(f, key);
    if (!v || v->n == 0)
        return true;
    for (size_t i = 0; i < v->n; i++) {
        if (value && strcmp(v->v[i], value) == 0)
            return true;
    }
    return false;
}

bool filters_match_fuzzy(const struct filters *f, const char *key, const char *source)
{
    const struct strv *v = filters_get(f, key);
    if (!v || v->n == 0)
        return true;
    for (size_t i = 0; source && i < v->n; i++) {
        if (strncmp(source, v->v[i], strlen(v->v[i])) == 0)
            return true;
    }
    return false;
}

static const char *attr_value(const struct event_attr *attrs, size_t n, const char *key,
                              size_t klen)
{
    for (size_t i = 0; i < n; i++) {
        if (strlen(attrs[i].key) == klen && strncmp(attrs[i].key, key, klen) == 0)
            return attrs[i].value;
    }
    return NULL;
}

/* As moby's MatchKVList: every label filter must hold ("k" present, or k=v). */
bool filters_match_labels(const struct filters *f, const char *key, const struct event_attr *attrs,
                          size_t nattrs)
{
    const struct strv *v = filters_get(f, key);
    if (!v || v->n == 0)
        return true;
    for (size_t i = 0; i < v->n; i++) {
        const char *want = v->v[i];
        const char *eq = strchr(want, '=');
        size_t klen = eq ? (size_t)(eq - want) : strlen(want);
        const char *have = attr_value(attrs, nattrs, want, klen);
        if (!have || (eq && strcmp(have, eq + 1) != 0))
            return false;
    }
    return true;
}
