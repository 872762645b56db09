/* Docker's `filters` query parameter: a JSON object mapping each filter name
 * to its values, either as {"k":{"v":true}} (CLI) or {"k":["v"]} (docker-py,
 * older clients). Values of one key are OR-ed, keys are AND-ed. */
#ifndef BERTH_HANDLERS_FILTERS_H
#define BERTH_HANDLERS_FILTERS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/berr.h"
#include "common/config.h"
#include "common/events.h"

struct filter_entry {
    char *key;
    struct strv values;
};

struct filters {
    struct filter_entry *v;
    size_t n;
};

/* NULL or "" gives an empty set. Bad JSON -> 400. */
int filters_parse(const char *json, struct filters *ret, struct berr *err);
void filters_done(struct filters *f);

/* 400 "invalid filter 'x'" for a key outside allowed (NULL-terminated). */
int filters_validate(const struct filters *f, const char *const *allowed, struct berr *err);

const struct strv *filters_get(const struct filters *f, const char *key);
bool filters_has(const struct filters *f, const char *key);
/* True when key is absent, or one of its values equals value. */
bool filters_match_exact(const struct filters *f, const char *key, const char *value);
/* moby's FuzzyMatch: true when key is absent, a value equals source, or a
 * value is a prefix of source (ID prefixes). */
bool filters_match_fuzzy(const struct filters *f, const char *key, const char *source);
/* Label filters ("k" or "k=v") against key/value attributes; true when absent. */
bool filters_match_labels(const struct filters *f, const char *key, const struct event_attr *attrs,
                          size_t nattrs);

#endif
