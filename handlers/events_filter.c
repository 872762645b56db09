/* Event filtering and shaping, as moby's daemon/events. */
#include <stdio.h>
#include <string.h>

#include "common/jsonutil.h"
#include "events.h"

static const char *attr(const struct event *ev, const char *key)
{
    for (size_t i = 0; i < ev->nattrs; i++) {
        if (strcmp(ev->attrs[i].key, key) == 0)
            return ev->attrs[i].value;
    }
    return NULL;
}

/* health_status, exec_create and exec_start carry a ": detail" suffix, so
 * they match by prefix (moby #25798). */
static bool match_event(const struct filters *f, const struct event *ev)
{
    static const char *const fuzzy[] = {"health_status", "exec_create", "exec_start"};
    const struct strv *v = filters_get(f, "event");
    for (size_t i = 0; v && i < v->n; i++) {
        for (size_t j = 0; j < sizeof(fuzzy) / sizeof(fuzzy[0]); j++) {
            if (strcmp(v->v[i], fuzzy[j]) == 0)
                return filters_match_fuzzy(f, "event", ev->action);
        }
    }
    return filters_match_exact(f, "event", ev->action);
}

/* A name filter (container=, daemon=, ...) matches the actor ID by prefix or its name. */
static bool match_name(const struct filters *f, const char *key, const struct event *ev)
{
    return filters_match_fuzzy(f, key, ev->id) || filters_match_fuzzy(f, key, attr(ev, "name"));
}

/* Drops a ":tag" after the last '/' (moby's stripTag). */
static void strip_tag(const char *ref, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s", ref ? ref : "");
    char *slash = strrchr(out, '/');
    char *colon = strrchr(slash ? slash : out, ':');
    if (colon && !strchr(out, '@'))
        *colon = '\0';
}

static bool match_image(const struct filters *f, const struct event *ev)
{
    if (!filters_has(f, "image"))
        return true;
    const char *name = attr(ev, strcmp(ev->type, "image") == 0 ? "name" : "image");
    char id_stripped[512], name_stripped[512];
    strip_tag(ev->id, id_stripped, sizeof(id_stripped));
    strip_tag(name, name_stripped, sizeof(name_stripped));
    return filters_match_exact(f, "image", ev->id) ||
           (name && filters_match_exact(f, "image", name)) ||
           filters_match_exact(f, "image", id_stripped) ||
           (name && filters_match_exact(f, "image", name_stripped));
}

/* Network and volume events name their object by ID or attribute. */
static bool match_typed(const struct filters *f, const char *key, const struct event *ev)
{
    if (!filters_has(f, key))
        return true;
    if (strcmp(ev->type, key) != 0)
        return false;
    return filters_match_exact(f, key, ev->id) || filters_match_exact(f, key, attr(ev, "name"));
}

bool events_filter_match(const struct filters *f, const struct event *ev)
{
    static const char *const swarm_only[] = {"node", "service", "secret", "config"};
    for (size_t i = 0; i < sizeof(swarm_only) / sizeof(swarm_only[0]); i++) {
        if (filters_has(f, swarm_only[i]))
            return false; /* no swarm objects on this engine */
    }
    return match_event(f, ev) && filters_match_exact(f, "type", ev->type) &&
           filters_match_exact(f, "scope", ev->scope) && match_name(f, "daemon", ev) &&
           match_name(f, "container", ev) && match_name(f, "plugin", ev) &&
           match_typed(f, "volume", ev) && match_typed(f, "network", ev) && match_image(f, ev) &&
           filters_match_labels(f, "label", ev->attrs, ev->nattrs);
}

cJSON *events_to_json(const struct event *ev)
{
    cJSON *o = cJSON_CreateObject();
    /* Deprecated fields that clients still read, for containers and images. */
    bool legacy = strcmp(ev->type, "container") == 0 || strcmp(ev->type, "image") == 0;
    if (legacy) {
        cJSON_AddStringToObject(o, "status", ev->action);
        cJSON_AddStringToObject(o, "id", ev->id);
        const char *from = attr(ev, "image");
        if (from && strcmp(ev->type, "container") == 0)
            cJSON_AddStringToObject(o, "from", from);
    }
    cJSON_AddStringToObject(o, "Type", ev->type);
    cJSON_AddStringToObject(o, "Action", ev->action);
    cJSON *actor = cJSON_AddObjectToObject(o, "Actor");
    cJSON_AddStringToObject(actor, "ID", ev->id);
    cJSON *attrs = cJSON_AddObjectToObject(actor, "Attributes");
    for (size_t i = 0; i < ev->nattrs; i++)
        cJSON_AddStringToObject(attrs, ev->attrs[i].key, ev->attrs[i].value);
    cJSON_AddStringToObject(o, "scope", ev->scope);
    json_add_int64(o, "time", ev->time_ns / 1000000000LL);
    json_add_int64(o, "timeNano", ev->time_ns);
    return o;
}
