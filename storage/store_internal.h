/* Internals of the image store shared by store*.c. Not for other modules. */
#ifndef BERTH_STORAGE_STORE_INTERNAL_H
#define BERTH_STORAGE_STORE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "common/job.h"
#include "common/list.h"
#include "store.h"

#define STORE_META_MAX  (1024 * 1024)      /* layer.json, images/<id>.json */
#define STORE_REPOS_MAX (64 * 1024 * 1024) /* repositories.json */
#define STORE_PATH_MAX  4096

/* What worker jobs share with the store. Refcounted: a job still queued when
 * store_close runs keeps it alive until its done() runs. */
struct store_shared {
    atomic_int refs;
    /* Orders repositories.json writes: only a newer snapshot replaces the file
     * (held across the write, taken only by workers and store_flush_sync). */
    pthread_mutex_t refs_lock;
    uint64_t refs_written;
    /* Pending image deletions: id -> sequence of the latest request. A later
     * store_image_write_sync of the same id cancels them (held briefly, across
     * two unlinks at most, so the loop may take it). */
    pthread_mutex_t tomb_lock;
    struct map tombs;
    uintptr_t tomb_seq;
};

struct store_full {
    struct store pub;
    struct store_shared *shared;
    struct list jobs;         /* in-flight struct store_job */
    uint64_t refs_seq;        /* loop: sequence of the latest references snapshot */
    uint64_t refs_changes;    /* loop: reference changes made so far */
    struct list refs_waiters; /* struct refs_waiter, until their changes are on disk */
};

/* Base of every job the store queues itself. */
struct store_job {
    struct job job;
    struct list link;
    struct store_full *owner; /* NULL once the store has been closed */
    struct store_shared *shared;
};

static inline struct store_full *store_full(const struct store *s)
{
    return (struct store_full *)s;
}

/* Warnings collected while opening (ret_warnings may be NULL). */
void store_warn(struct strv *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Jobs (store.c). store_job_queue links the job and takes a shared ref; done()
 * calls store_job_finish, which unlinks it and drops the ref (not the memory). */
int store_job_queue(struct store_full *sf, struct store_job *sj, job_run_fn run, job_done_fn done);
void store_job_finish(struct store_job *sj);

/* Paths (store.c). */
void store_path(const struct store *s, char *out, size_t outlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void store_image_record_path(const struct store *s, const char *id, char *out, size_t outlen);
bool store_id_valid(const char *id); /* "sha256:" + 64 lowercase hex */

/* Exact int64 of a top-level number member of obj parsed from text (cJSON
 * keeps only a double); 0 or -EINVAL. */
int store_json_int64(const cJSON *obj, const char *text, const char *key, int64_t *ret);
/* Copies a string member ("" when absent); -EINVAL when not a string or too long. */
int store_json_str(const cJSON *obj, const char *key, char *out, size_t outlen);

/* References (store_refs.c): frees waiters left at close, unnotified. */
void store_refs_drop_waiters(struct store_full *sf);

/* Startup (store_load.c): layout, tmp/ sweep, layers and images. */
int store_load_all(struct store *s, struct strv *warnings, struct berr *err);

/* Layers (store_layers.c). */
char *store_layer_to_json(const struct layer *l);
int store_layer_from_json(const char *text, size_t len, struct layer *ret, struct berr *err);
bool store_layer_chain_ok(const struct layer *l);
int store_layer_table_add(struct store *s, const struct layer *l);

/* Images (store_images.c). */
char *store_image_record_json(const char *id, char *const *chain, size_t nchain, const char *parent,
                              int64_t loaded_ns, int64_t size);
int store_image_chain(const struct store *s, const struct image_config *c, char ***ret_chain,
                      struct berr *err);
int store_image_attach(struct store *s, struct image *img);
void store_image_free(struct image *img);

/* References (store_refs.c). */
int store_refs_load(struct store *s, struct strv *warnings);
int store_strv_remove(struct strv *v, const char *s);

/* Shared state (store.c). */
void store_shared_unref(struct store_shared *sh);

#endif
