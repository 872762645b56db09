#include "map.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static char tombstone_mark;
#define MAP_TOMBSTONE (&tombstone_mark)

/* FNV-1a: short keys, no adversarial input worth a keyed hash here. */
static size_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return (size_t)h;
}

static bool live(const struct map_slot *s)
{
    return s->key && s->key != MAP_TOMBSTONE;
}

static struct map_slot *find(const struct map *m, const char *key)
{
    if (m->cap == 0)
        return NULL;
    for (size_t i = hash(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        struct map_slot *s = &m->slots[i];
        if (!s->key)
            return NULL;
        if (live(s) && strcmp(s->key, key) == 0)
            return s;
    }
}

static int grow(struct map *m)
{
    size_t cap = m->cap ? m->cap * 2 : 16;
    if (m->len * 2 < m->cap)
        cap = m->cap; /* mostly tombstones: rehash at the same size */
    struct map_slot *slots = calloc(cap, sizeof(*slots));
    if (!slots)
        return -ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        struct map_slot *s = &m->slots[i];
        if (!live(s))
            continue;
        size_t j = hash(s->key) & (cap - 1);
        while (slots[j].key)
            j = (j + 1) & (cap - 1);
        slots[j] = *s;
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    m->used = m->len;
    return 0;
}

void *map_get(const struct map *m, const char *key)
{
    struct map_slot *s = find(m, key);
    return s ? s->value : NULL;
}

int map_put(struct map *m, const char *key, void *value)
{
    struct map_slot *s = find(m, key);
    if (s) {
        s->value = value;
        return 0;
    }
    if ((m->used + 1) * 4 > m->cap * 3 && grow(m) < 0)
        return -ENOMEM;
    char *k = strdup(key);
    if (!k)
        return -ENOMEM;
    size_t i = hash(key) & (m->cap - 1);
    while (live(&m->slots[i]))
        i = (i + 1) & (m->cap - 1);
    if (!m->slots[i].key)
        m->used++;
    m->slots[i] = (struct map_slot){k, value};
    m->len++;
    return 0;
}

void *map_del(struct map *m, const char *key)
{
    struct map_slot *s = find(m, key);
    if (!s)
        return NULL;
    void *v = s->value;
    free(s->key);
    s->key = MAP_TOMBSTONE;
    s->value = NULL;
    m->len--;
    return v;
}

void map_done(struct map *m)
{
    for (size_t i = 0; i < m->cap; i++) {
        if (live(&m->slots[i]))
            free(m->slots[i].key);
    }
    free(m->slots);
    *m = (struct map)MAP_INIT;
}

bool map_next(const struct map *m, size_t *iter, const char **ret_key, void **ret_value)
{
    for (; *iter < m->cap; (*iter)++) {
        struct map_slot *s = &m->slots[*iter];
        if (!live(s))
            continue;
        if (ret_key)
            *ret_key = s->key;
        if (ret_value)
            *ret_value = s->value;
        (*iter)++;
        return true;
    }
    return false;
}
