/* What the image endpoints share: Docker's ImageSummary shape (image list,
 * system df), familiar reference lists, the parts of an image config they
 * read, and image events with Docker's attributes. Loop thread only. */
#ifndef BERTH_HANDLERS_IMAGES_JSON_H
#define BERTH_HANDLERS_IMAGES_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "common/events.h"
#include "common/map.h"
#include "filters.h"
#include "server/http.h"
#include "storage/store.h"

struct engine;

struct images_summary_opts {
    bool shared_size; /* SharedSize computed; else -1, Docker's "not set" */
    bool containers;  /* Containers = users; else -1 */
    int api_minor;    /* VirtualSize is sent below API 1.44 */
};

/* The engine's image store; when there is none, replies 500 (ending req)
 * and returns NULL. */
struct store *images_store(struct srv_req *req);

/* Familiar form of a full reference ("busybox:latest"); the input itself
 * when it does not parse. */
void images_familiar(const char *full, char *out, size_t outlen);
/* JSON array of the familiar forms of refs; NULL only when out of memory. */
cJSON *images_familiar_list(const struct strv *refs);

/* The config's "config" object and its "Labels" object, or NULL. */
const cJSON *images_config(const struct image *img);
const cJSON *images_labels(const struct image *img);
/* Labels as key/value pairs for filters_match_labels: free() the array, the
 * strings stay the image's. NULL with *ret_n = 0 when there are none. */
struct event_attr *images_label_attrs(const struct image *img, size_t *ret_n);

/* A container.Config object with moby's fields in its order: the keys
 * Docker always writes filled with their zero value when src lacks them,
 * src's others kept (src may be NULL: defaults only). NULL on no memory. */
cJSON *images_config_shape(const cJSON *src);

/* Unix seconds of the config's "created" (0 when absent). */
int64_t images_created_sec(const struct image *img);
/* Bytes of img's layers that other images use too. */
int64_t images_shared_size(const struct store *s, const struct image *img);
/* Sum of every layer's size, each layer once. */
int64_t images_layers_size(const struct store *s);
/* Ids that some image names as its parent (values are the child images). */
int images_parent_set(const struct store *s, struct map *ret);

/* A boolean filter as moby's Args.GetBoolOrDefault: absent -> def; values
 * "1"/"true" or "0"/"false"; anything else, or both, -> 400 "invalid filter
 * 'key=[values]'". Returns 0 or -EINVAL. */
int images_filter_bool(const struct filters *f, const char *key, bool def, bool *ret,
                       struct berr *err);
/* Go's path.Match pattern syntax check (ErrBadPattern) and match, as
 * reference.FamiliarMatch uses it: '*' and '?' stop at '/'. */
bool images_glob_valid(const char *pattern);
bool images_glob_match(const char *pattern, const char *s);

/* A prune `until` value as moby's timestamp.GetTimestamp: Unix seconds
 * (optional fraction), a Go duration back from now_ns ("24h", "1h30m"), an
 * RFC 3339 time, or one without zone or seconds ("2006-01-02",
 * "2006-01-02T15:04"; read as UTC). 400 otherwise. */
int images_parse_until(const char *value, int64_t now_ns, int64_t *ret_ns, struct berr *err);

/* One ImageSummary; takes ownership of tags and digests (JSON arrays). */
cJSON *images_summary(const struct store *s, const struct image *img, cJSON *tags, cJSON *digests,
                      const struct images_summary_opts *o);

/* Publishes an image event as moby's LogImageEvent: Actor ID id, attributes
 * the image's labels (img may be NULL, e.g. once deleted) plus name. */
void images_event(struct engine *e, const char *action, const char *id, const struct image *img,
                  const char *name);

#endif
