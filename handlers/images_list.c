/* GET /images/json: the image list, as moby's daemon/images/image_list.go
 * (graphdriver store): filters dangling, label, before, since, reference;
 * `all` adds untagged intermediate images; newest first. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "images.h"
#include "images_json.h"

static const char *const list_filters[] = {"dangling", "label",     "before",
                                           "since",    "reference", NULL};

struct list_query {
    struct filters f;
    bool all;
    bool shared_size;
    bool containers;
    int dangling; /* -1 no filter, 0 dangling=false, 1 dangling=true */
    int64_t before_ns, since_ns;
    bool has_before, has_since;
    bool by_reference;      /* the reference filter is present (even empty) */
    const char *legacy_ref; /* API < 1.41: `filter`, a reference pattern */
    int api_minor;
};

struct row {
    int64_t created;
    int64_t loaded_ns;
    const char *id;
    cJSON *json;
};

/* before/since name images; several values AND together: the oldest
 * "before" and the newest "since" win. */
static int resolve_times(const struct store *s, struct list_query *q, const char *key,
                         struct berr *err)
{
    const struct strv *v = filters_get(&q->f, key);
    bool before = strcmp(key, "before") == 0;
    for (size_t i = 0; v && i < v->n; i++) {
        const struct image *img = store_image_lookup(s, v->v[i], err);
        if (!img)
            return -ENOENT;
        int64_t t = img->config.created_ns;
        if (before && (!q->has_before || t < q->before_ns)) {
            q->before_ns = t;
            q->has_before = true;
        } else if (!before && (!q->has_since || t > q->since_ns)) {
            q->since_ns = t;
            q->has_since = true;
        }
    }
    return 0;
}

static int check_patterns(const struct list_query *q, struct berr *err)
{
    const struct strv *v = filters_get(&q->f, "reference");
    for (size_t i = 0; v && i < v->n; i++) {
        if (!images_glob_valid(v->v[i]))
            return berr_set(err, 400, EINVAL,
                            "invalid filter 'reference=%s': syntax error in pattern", v->v[i]);
    }
    if (q->legacy_ref && !images_glob_valid(q->legacy_ref))
        return berr_set(err, 400, EINVAL, "invalid filter '%s': syntax error in pattern",
                        q->legacy_ref);
    return 0;
}

static int parse_query(struct srv_req *req, const struct store *s, struct list_query *q,
                       struct berr *err)
{
    q->api_minor = req->api_minor;
    q->all = srv_req_query_bool(req, "all");
    /* shared-size arrived in API 1.42, `filter` left in 1.41. */
    q->shared_size = req->api_minor >= 42 && srv_req_query_bool(req, "shared-size");
    q->legacy_ref = req->api_minor < 41 ? srv_req_query(req, "filter") : NULL;
    if (q->legacy_ref && !*q->legacy_ref)
        q->legacy_ref = NULL;
    if (filters_parse(srv_req_query(req, "filters"), &q->f, err) < 0)
        return -EINVAL;
    int r = filters_validate(&q->f, list_filters, err);
    bool dangling = false;
    if (r == 0)
        r = images_filter_bool(&q->f, "dangling", false, &dangling, err);
    q->dangling = filters_get(&q->f, "dangling") ? dangling : -1;
    if (r >= 0)
        r = resolve_times(s, q, "before", err);
    if (r >= 0)
        r = resolve_times(s, q, "since", err);
    if (r >= 0)
        r = check_patterns(q, err);
    q->by_reference = filters_get(&q->f, "reference") || q->legacy_ref;
    return r < 0 ? r : 0;
}

/* reference.FamiliarMatch: the familiar string, else the familiar name. */
static bool ref_wanted(const struct list_query *q, const char *full)
{
    if (!q->by_reference)
        return true;
    struct image_ref ref;
    struct berr err;
    if (ref_parse(full, &ref, &err) < 0)
        return false;
    char fam[REF_STRING_MAX], name[REF_STRING_MAX];
    ref_familiar_string(&ref, fam, sizeof(fam));
    ref_familiar_name(&ref, name, sizeof(name));
    const struct strv *v = filters_get(&q->f, "reference");
    for (size_t i = 0; v && i < v->n; i++) {
        if (images_glob_match(v->v[i], fam) || images_glob_match(v->v[i], name))
            return true;
    }
    return q->legacy_ref &&
           (images_glob_match(q->legacy_ref, fam) || images_glob_match(q->legacy_ref, name));
}

static cJSON *wanted_refs(const struct list_query *q, const struct strv *refs)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < refs->n; i++) {
        if (!ref_wanted(q, refs->v[i]))
            continue;
        char fam[REF_STRING_MAX];
        images_familiar(refs->v[i], fam, sizeof(fam));
        cJSON_AddItemToArray(a, cJSON_CreateString(fam));
    }
    return a;
}

static bool labels_match(const struct list_query *q, const struct image *img)
{
    if (!filters_get(&q->f, "label"))
        return true;
    if (!images_config(img)) /* moby: very old images without a config never match */
        return false;
    size_t n;
    struct event_attr *attrs = images_label_attrs(img, &n);
    bool ok = filters_match_labels(&q->f, "label", attrs, n);
    free(attrs);
    return ok;
}

static bool image_wanted(const struct list_query *q, const struct image *img, bool has_children)
{
    int64_t t = img->config.created_ns;
    if (q->dangling == 1 && has_children) /* dangling=true looks at heads only */
        return false;
    if (q->has_before && !(t < q->before_ns))
        return false;
    if (q->has_since && !(t > q->since_ns))
        return false;
    return labels_match(q, img);
}

/* An image without (matching) references: listed when it is a head or
 * `all` was asked, unless dangling=false or a reference filter is set.
 * Before API 1.43 such rows carried "<none>" placeholders. */
static bool keep_unreferenced(const struct list_query *q, bool has_children, cJSON *tags,
                              cJSON *digests)
{
    if ((!q->all && has_children) || q->dangling == 0 || q->by_reference)
        return false;
    if (q->api_minor < 43) {
        cJSON_AddItemToArray(tags, cJSON_CreateString("<none>:<none>"));
        cJSON_AddItemToArray(digests, cJSON_CreateString("<none>@<none>"));
    }
    return true;
}

/* The row's JSON, or NULL when the image is filtered out (or out of memory). */
static cJSON *list_entry(const struct store *s, const struct list_query *q, const struct image *img,
                         bool has_children)
{
    if (!image_wanted(q, img, has_children))
        return NULL;
    cJSON *tags = wanted_refs(q, &img->tags);
    cJSON *digests = wanted_refs(q, &img->digests);
    bool keep = tags && digests;
    if (keep && cJSON_GetArraySize(tags) == 0 && cJSON_GetArraySize(digests) == 0)
        keep = keep_unreferenced(q, has_children, tags, digests);
    else if (keep && q->dangling == 1 && cJSON_GetArraySize(tags) > 0)
        keep = false;
    if (!keep) {
        cJSON_Delete(tags);
        cJSON_Delete(digests);
        return NULL;
    }
    struct images_summary_opts o = {q->shared_size, q->containers, q->api_minor};
    return images_summary(s, img, tags, digests, &o);
}

/* Newest first; ties (same second) by load time, then ID, so the order is stable. */
static int row_cmp(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    if (x->created != y->created)
        return x->created < y->created ? 1 : -1;
    if (x->loaded_ns != y->loaded_ns)
        return x->loaded_ns < y->loaded_ns ? 1 : -1;
    return strcmp(x->id, y->id);
}

static cJSON *rows_to_array(struct row *rows, size_t n)
{
    qsort(rows, n, sizeof(*rows), row_cmp);
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        if (!a || !cJSON_AddItemToArray(a, rows[i].json))
            cJSON_Delete(rows[i].json);
    }
    return a;
}

static cJSON *list_images(const struct store *s, const struct list_query *q)
{
    struct map parents;
    if (images_parent_set(s, &parents) < 0)
        return NULL;
    struct row *rows = calloc(s->images.len ? s->images.len : 1, sizeof(*rows));
    size_t n = 0;
    const char *key;
    void *v;
    for (size_t i = 0; rows && map_next(&s->images, &i, &key, &v);) {
        const struct image *img = v;
        cJSON *j = list_entry(s, q, img, map_get(&parents, img->id) != NULL);
        if (j)
            rows[n++] = (struct row){images_created_sec(img), img->loaded_ns, img->id, j};
    }
    cJSON *out = rows ? rows_to_array(rows, n) : NULL;
    free(rows);
    map_done(&parents);
    return out;
}

cJSON *images_df_summaries(const struct store *s, int api_minor)
{
    struct list_query q = {
        .shared_size = true, .containers = true, .dangling = -1, .api_minor = api_minor};
    return list_images(s, &q);
}

void h_images_list(struct srv_req *req)
{
    struct store *s = images_store(req);
    if (!s)
        return;
    struct list_query q = {.dangling = -1};
    struct berr err = {0};
    if (parse_query(req, s, &q, &err) < 0) {
        filters_done(&q.f);
        srv_reply_berr(req, &err);
        return;
    }
    cJSON *out = list_images(s, &q);
    filters_done(&q.f);
    if (!out)
        srv_reply_error(req, 500, "out of memory");
    else
        srv_reply_json(req, 200, out);
}
