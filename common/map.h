/* String-keyed hash map (open addressing, linear probing). Keys are copied;
 * values are caller-owned pointers. Not thread-safe: engine tables live on
 * the loop thread. */
#ifndef BERTH_COMMON_MAP_H
#define BERTH_COMMON_MAP_H

#include <stdbool.h>
#include <stddef.h>

struct map_slot {
    char *key; /* NULL = empty; MAP_TOMBSTONE = deleted */
    void *value;
};

struct map {
    struct map_slot *slots;
    size_t cap; /* power of two */
    size_t len;
    size_t used; /* len + tombstones */
};

#define MAP_INIT                                                                                   \
    {                                                                                              \
        NULL, 0, 0, 0                                                                              \
    }

void *map_get(const struct map *m, const char *key);
/* Inserts or replaces; returns 0 or -ENOMEM. */
int map_put(struct map *m, const char *key, void *value);
/* Removes and returns the value (NULL when absent). */
void *map_del(struct map *m, const char *key);
void map_done(struct map *m); /* frees keys and slots, not values */

/* Iteration: for (size_t i = 0; map_next(m, &i, &k, &v);) ...  Removing the
 * current entry while iterating is allowed. */
bool map_next(const struct map *m, size_t *iter, const char **ret_key, void **ret_value);

#endif
