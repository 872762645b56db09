/* Shared pieces of the image endpoints (see images_json.h). */
#include "images_json.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonutil.h"
#include "common/timeutil.h"
#include "engine.h"

struct store *images_store(struct srv_req *req)
{
    struct engine *e = srv_req_ctx(req);
    /* Only harnesses that run the router without storage (spec, fuzz) get here. */
    if (!e || !e->store) {
        srv_reply_error(req, 500, "image store not available");
        return NULL;
    }
    return e->store;
}

void images_familiar(const char *full, char *out, size_t outlen)
{
    struct image_ref ref;
    struct berr err;
    if (ref_parse(full, &ref, &err) < 0) {
        snprintf(out, outlen, "%s", full);
        return;
    }
    ref_familiar_string(&ref, out, outlen);
}

cJSON *images_familiar_list(const struct strv *refs)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < refs->n; i++) {
        char fam[REF_STRING_MAX];
        images_familiar(refs->v[i], fam, sizeof(fam));
        cJSON_AddItemToArray(a, cJSON_CreateString(fam));
    }
    return a;
}

const cJSON *images_config(const struct image *img)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(img->config.json, "config");
    return cJSON_IsObject(c) ? c : NULL;
}

const cJSON *images_labels(const struct image *img)
{
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(images_config(img), "Labels");
    return cJSON_IsObject(l) ? l : NULL;
}

struct event_attr *images_label_attrs(const struct image *img, size_t *ret_n)
{
    const cJSON *labels = images_labels(img), *it;
    *ret_n = 0;
    int n = cJSON_GetArraySize(labels);
    if (n <= 0)
        return NULL;
    struct event_attr *a = calloc((size_t)n, sizeof(*a));
    if (!a)
        return NULL;
    cJSON_ArrayForEach(it, labels)
    {
        if (cJSON_IsString(it))
            a[(*ret_n)++] = (struct event_attr){it->string, it->valuestring};
    }
    return a;
}

int64_t images_created_sec(const struct image *img)
{
    int64_t ns = img->config.created_ns;
    /* Floor, as Go's Time.Unix for instants before 1970. */
    return ns >= 0 ? ns / 1000000000LL : -((-ns + 999999999LL) / 1000000000LL);
}

int64_t images_shared_size(const struct store *s, const struct image *img)
{
    int64_t shared = 0;
    for (size_t i = 0; i < img->nchain; i++) {
        const struct layer *l = store_layer(s, img->chain[i]);
        if (l && l->refs > 1)
            shared += l->size;
    }
    return shared;
}

int64_t images_layers_size(const struct store *s)
{
    int64_t total = 0;
    const char *key;
    void *v;
    for (size_t i = 0; map_next(&s->layers, &i, &key, &v);)
        total += ((const struct layer *)v)->size;
    return total;
}

int images_parent_set(const struct store *s, struct map *ret)
{
    *ret = (struct map)MAP_INIT;
    const char *key;
    void *v;
    for (size_t i = 0; map_next(&s->images, &i, &key, &v);) {
        const struct image *img = v;
        if (img->parent[0] && map_put(ret, img->parent, v) < 0) {
            map_done(ret);
            return -ENOMEM;
        }
    }
    return 0;
}

int images_filter_bool(const struct filters *f, const char *key, bool def, bool *ret,
                       struct berr *err)
{
    const struct strv *v = filters_get(f, key);
    *ret = def;
    if (!v)
        return 0;
    bool yes = false, no = false;
    for (size_t i = 0; i < v->n; i++) {
        yes |= strcmp(v->v[i], "1") == 0 || strcmp(v->v[i], "true") == 0;
        no |= strcmp(v->v[i], "0") == 0 || strcmp(v->v[i], "false") == 0;
    }
    if (yes != no) {
        *ret = yes;
        return 0;
    }
    if (v->n == 0)
        return berr_set(err, 400, EINVAL, "invalid filter '%s'", key);
    /* Go prints the values as a []string: [a b]. */
    char vals[256] = "";
    size_t used = 0;
    for (size_t i = 0; i < v->n && used < sizeof(vals); i++) {
        int w = snprintf(vals + used, sizeof(vals) - used, "%s%s", i ? " " : "", v->v[i]);
        used += w > 0 ? (size_t)w : 0;
    }
    return berr_set(err, 400, EINVAL, "invalid filter '%s=[%s]'", key, vals);
}

/* One class character (Go's getEsc): not '-' or ']', maybe escaped. */
static bool glob_class_char(const char **pp)
{
    const char *p = *pp;
    if (*p == '\0' || *p == '-' || *p == ']')
        return false;
    if (*p == '\\' && *++p == '\0')
        return false;
    *pp = p + 1;
    return true;
}

/* A "[...]" class after its '[': at least one char or range, then ']'. */
static bool glob_class_valid(const char **pp)
{
    const char *p = *pp;
    if (*p == '^')
        p++;
    for (int nrange = 0;; nrange++) {
        if (*p == ']' && nrange > 0) {
            *pp = p + 1;
            return true;
        }
        if (!glob_class_char(&p))
            return false;
        if (*p == '-') {
            p++;
            if (!glob_class_char(&p))
                return false;
        }
    }
}

bool images_glob_valid(const char *pattern)
{
    const char *p = pattern;
    while (*p) {
        if (*p == '\\') {
            if (*++p == '\0')
                return false;
            p++;
        } else if (*p == '[') {
            p++;
            if (!glob_class_valid(&p))
                return false;
        } else {
            p++;
        }
    }
    return true;
}

bool images_glob_match(const char *pattern, const char *s)
{
    /* FNM_PATHNAME: '*', '?' and classes never match '/', as in path.Match. */
    return fnmatch(pattern, s, FNM_PATHNAME) == 0;
}

/* ---- prune's `until` ---- */

static double duration_unit(const char *u, size_t n)
{
    static const struct {
        const char *name;
        double ns;
    } units[] = {{"ns", 1},   {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"\xce\xbcs", 1e3},
                 {"ms", 1e6}, {"s", 1e9},  {"m", 60e9},        {"h", 3600e9}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strlen(units[i].name) == n && memcmp(units[i].name, u, n) == 0)
            return units[i].ns;
    }
    return 0;
}

/* Go's time.ParseDuration: [-+]? then (number unit)+, e.g. "1h30m", "1.5s". */
static int parse_go_duration(const char *s, int64_t *ret_ns)
{
    bool neg = *s == '-';
    if (*s == '-' || *s == '+')
        s++;
    if (!*s)
        return -EINVAL;
    double total = 0;
    while (*s) {
        char *end;
        if (!isdigit((unsigned char)*s) && !(*s == '.' && isdigit((unsigned char)s[1])))
            return -EINVAL;
        double v = strtod(s, &end); /* only digits and '.' reach here */
        size_t n = 0;
        while (end[n] && !isdigit((unsigned char)end[n]) && end[n] != '.')
            n++;
        double unit = duration_unit(end, n);
        if (unit == 0)
            return -EINVAL;
        total += v * unit;
        s = end + n;
    }
    if (total > 9.2e18)
        return -ERANGE;
    *ret_ns = (int64_t)(neg ? -total : total);
    return 0;
}

/* "2006-01-02", "2006-01-02T15", "...T15:04", "...T15:04:05[.frac]" -> UTC. */
static int parse_zoneless(const char *v, int64_t *ret_ns)
{
    char buf[64];
    const char *t = strchr(v, 'T');
    size_t len = strlen(v);
    if (len >= sizeof(buf) - 12 || strpbrk(t ? t : v, "Zz+") || (t && strchr(t, '-')))
        return -EINVAL;
    int colons = 0;
    for (const char *p = t; p && *p; p++)
        colons += *p == ':';
    const char *suffix = !t ? "T00:00:00Z" : colons == 0 ? ":00:00Z" : colons == 1 ? ":00Z" : "Z";
    snprintf(buf, sizeof(buf), "%s%s", v, suffix);
    return parse_rfc3339(buf, ret_ns);
}

int images_parse_until(const char *value, int64_t now_ns, int64_t *ret_ns, struct berr *err)
{
    int64_t d;
    if (time_parse_unix(value, ret_ns) == 0 || parse_rfc3339(value, ret_ns) == 0 ||
        parse_zoneless(value, ret_ns) == 0)
        return 0;
    if (strcmp(value, "0") != 0 && parse_go_duration(value, &d) == 0) {
        *ret_ns = now_ns - d;
        return 0;
    }
    return berr_set(err, 400, EINVAL,
                    "invalid value for 'until' filter: failed to parse value as time or "
                    "duration: \"%s\"",
                    value);
}

static cJSON *labels_or_null(const struct image *img)
{
    const cJSON *l = images_labels(img);
    return l ? cJSON_Duplicate(l, true) : cJSON_CreateNull();
}

/* Field order of moby's image.Summary; no key is ever omitted (API-NOTES §7.13). */
cJSON *images_summary(const struct store *s, const struct image *img, cJSON *tags, cJSON *digests,
                      const struct images_summary_opts *o)
{
    cJSON *j = cJSON_CreateObject();
    if (!j) {
        cJSON_Delete(tags);
        cJSON_Delete(digests);
        return NULL;
    }
    cJSON_AddNumberToObject(j, "Containers", o->containers ? img->users : -1);
    json_add_int64(j, "Created", images_created_sec(img));
    cJSON_AddStringToObject(j, "Id", img->id);
    cJSON_AddItemToObject(j, "Labels", labels_or_null(img));
    cJSON_AddStringToObject(j, "ParentId", img->parent);
    cJSON_AddItemToObject(j, "RepoDigests", digests);
    cJSON_AddItemToObject(j, "RepoTags", tags);
    json_add_int64(j, "SharedSize", o->shared_size ? images_shared_size(s, img) : -1);
    json_add_int64(j, "Size", img->size);
    if (o->api_minor < 44) /* removed in API 1.44 */
        json_add_int64(j, "VirtualSize", img->size);
    return j;
}

void images_event(struct engine *e, const char *action, const char *id, const struct image *img,
                  const char *name)
{
    size_t n = 0;
    struct event_attr *labels = img ? images_label_attrs(img, &n) : NULL;
    const char **attrs = calloc(2 * n + 3, sizeof(*attrs));
    if (!attrs) {
        free(labels);
        return; /* the event is lost, as evbus_publish drops it on ENOMEM */
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        /* "name" is the event's own attribute and wins over a label of that key. */
        if (strcmp(labels[i].key, "name") == 0)
            continue;
        attrs[k++] = labels[i].key;
        attrs[k++] = labels[i].value;
    }
    attrs[k++] = "name";
    attrs[k++] = name;
    (void)evbus_publish(e->events, "image", action, id, attrs);
    free(attrs);
    free(labels);
}
