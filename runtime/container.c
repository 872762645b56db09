#include "container.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const status_names[] = {
    [CTR_CREATED] = "created",   [CTR_RUNNING] = "running",
    [CTR_PAUSED] = "paused",     [CTR_RESTARTING] = "restarting",
    [CTR_REMOVING] = "removing", [CTR_EXITED] = "exited",
    [CTR_DEAD] = "dead",
};

const char *ctr_status_name(enum ctr_status s)
{
    return status_names[s];
}

int ctr_status_parse(const char *s, enum ctr_status *ret)
{
    for (size_t i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++)
        if (s && !strcmp(s, status_names[i]))
            return *ret = (enum ctr_status)i, 0;
    return -EINVAL;
}

bool ctr_is_running(const struct container *c)
{
    return c->st.status == CTR_RUNNING || c->st.status == CTR_PAUSED ||
           c->st.status == CTR_RESTARTING;
}

int ctr_table_init(struct ctr_table *t, const char *data_root)
{
    memset(t, 0, sizeof(*t));
    if (asprintf(&t->root, "%s/containers", data_root) < 0)
        return t->root = NULL, -ENOMEM;
    return 0;
}

void ctr_table_done(struct ctr_table *t)
{
    const char *k;
    void *v;
    for (size_t i = 0; map_next(&t->by_id, &i, &k, &v);) {
        struct container *c = v;
        c->removed = true;
        ctr_unref(c);
    }
    map_done(&t->by_id);
    map_done(&t->by_name);
    free(t->root);
    t->root = NULL;
}

struct container *ctr_new(const char *id, const char *name, const char *table_root)
{
    struct container *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    snprintf(c->id, sizeof(c->id), "%s", id);
    snprintf(c->name, sizeof(c->name), "%s", name);
    if (asprintf(&c->dir, "%s/%s", table_root, id) < 0) {
        free(c);
        return NULL;
    }
    list_init(&c->waiters);
    list_init(&c->attaches);
    c->refs = 1;
    return c;
}

void ctr_ref(struct container *c)
{
    c->refs++;
}

void ctr_unref(struct container *c)
{
    if (!c || --c->refs > 0)
        return;
    cJSON_Delete(c->config);
    cJSON_Delete(c->host_config);
    cJSON_Delete(c->net_config);
    ctr_hostcfg_done(&c->hc);
    free(c->image_name);
    free(c->stdin_pending);
    free(c->dir);
    free(c);
}

static bool is_hex(const char *s)
{
    for (; *s; s++)
        if (!isxdigit((unsigned char)*s) || isupper((unsigned char)*s))
            return false;
    return true;
}

static struct container *by_prefix(const struct ctr_table *t, const char *p, bool *ambiguous)
{
    struct container *found = NULL;
    size_t n = strlen(p);
    const char *k;
    void *v;
    for (size_t i = 0; map_next(&t->by_id, &i, &k, &v);) {
        if (strncmp(k, p, n))
            continue;
        if (found)
            return *ambiguous = true, NULL;
        found = v;
    }
    return found;
}

struct container *ctr_lookup(const struct ctr_table *t, const char *name, struct berr *err)
{
    struct container *c = map_get(&t->by_id, name);
    if (!c)
        c = map_get(&t->by_name, name[0] == '/' ? name + 1 : name);
    bool ambiguous = false;
    if (!c && *name && is_hex(name))
        c = by_prefix(t, name, &ambiguous);
    if (c)
        return c;
    if (ambiguous)
        berr_set(err, 404, ENOENT, "No such container: %s (multiple IDs match this prefix)", name);
    else
        berr_set(err, 404, ENOENT, "No such container: %s", name);
    return NULL;
}

static bool valid_name(const char *n)
{
    if (!isalnum((unsigned char)n[0]) || !n[1])
        return false;
    for (const char *p = n + 1; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.' && *p != '-')
            return false;
    return strlen(n) < 250;
}

int ctr_name_check(const struct ctr_table *t, const char *name, struct berr *err)
{
    if (name[0] == '/')
        name++;
    if (!valid_name(name))
        return berr_set(err, 400, EINVAL,
                        "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                        name);
    const struct container *c = map_get(&t->by_name, name);
    if (c)
        return berr_set(err, 409, EEXIST,
                        "Conflict. The container name \"/%s\" is already in use by container "
                        "\"%s\". You have to remove (or rename) that container to be able to "
                        "reuse that name.",
                        name, c->id);
    return 0;
}

int ctr_table_add(struct ctr_table *t, struct container *c)
{
    if (map_put(&t->by_id, c->id, c) < 0)
        return -ENOMEM;
    if (map_put(&t->by_name, c->name, c) < 0) {
        map_del(&t->by_id, c->id);
        return -ENOMEM;
    }
    return 0;
}

void ctr_table_remove(struct ctr_table *t, struct container *c)
{
    if (c->removed)
        return;
    map_del(&t->by_id, c->id);
    if (map_get(&t->by_name, c->name) == c)
        map_del(&t->by_name, c->name);
    c->removed = true;
    ctr_unref(c);
}

int ctr_table_rename(struct ctr_table *t, struct container *c, const char *name, struct berr *err)
{
    if (name[0] == '/')
        name++;
    if (!strcmp(name, c->name))
        return berr_set(err, 409, EEXIST,
                        "Renaming a container with the same name as its current name");
    if (ctr_name_check(t, name, err) < 0)
        return -EINVAL;
    if (map_put(&t->by_name, name, c) < 0)
        return berr_set(err, 500, ENOMEM, "out of memory");
    map_del(&t->by_name, c->name);
    snprintf(c->name, sizeof(c->name), "%s", name);
    return 0;
}
