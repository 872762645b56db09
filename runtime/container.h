/* Containers: the in-memory table, each container's persisted record, and
 * its live state. Loop thread only, except the *_sync functions (workers or
 * startup). Disk layout (DESIGN §3):
 *
 *   <root>/containers/<id>/config.json   Id, Name, Created, Image, ImageName,
 *                                        Config, HostConfig, NetworkingConfig
 *   <root>/containers/<id>/state.json    struct ctr_state
 *   <root>/containers/<id>/<id>-json.log
 *   <root>/containers/<id>/{upper,work,merged}, hostname, hosts, resolv.conf
 *
 * Config and HostConfig are kept as the JSON documents Docker returns from
 * inspect (Config merged with the image's config at create); the fields the
 * runtime acts on are parsed once into struct ctr_hostcfg. */
#ifndef BERTH_RUNTIME_CONTAINER_H
#define BERTH_RUNTIME_CONTAINER_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/berr.h"
#include "common/list.h"
#include "common/map.h"
#include "ctr_hostcfg.h"

#define CTR_ID_LEN 64

enum ctr_status {
    CTR_CREATED,
    CTR_RUNNING,
    CTR_PAUSED,
    CTR_RESTARTING,
    CTR_REMOVING,
    CTR_EXITED,
    CTR_DEAD,
};

/* What state.json holds. */
struct ctr_state {
    enum ctr_status status;
    pid_t pid;
    int exit_code;
    bool oom_killed;
    bool manually_stopped; /* docker stop/kill: unless-stopped stays down */
    bool has_been_started;
    int restart_count;
    int64_t started_ns;
    int64_t finished_ns;
    char error[BERR_MSG_MAX];
};

struct job;
struct ctr_runtime; /* live process, stdio and watchers (ctr_run.c) */

struct container {
    char id[CTR_ID_LEN + 1];
    char name[256];    /* without the leading "/" */
    char image_id[80]; /* "sha256:..." */
    char *image_name;  /* Config.Image as the user gave it */
    int64_t created_ns;
    cJSON *config;      /* merged Config, owned */
    cJSON *host_config; /* HostConfig as given (normalised), owned */
    cJSON *net_config;  /* NetworkingConfig, owned, may be NULL */
    struct ctr_hostcfg hc;
    struct ctr_state st;
    char *dir; /* <root>/containers/<id> */
    struct ctr_runtime *rt;
    struct list waiters;  /* struct ctr_waiter */
    struct list attaches; /* struct ctr_attach (rt.h) */
    char *stdin_pending;  /* stdin written by attach before start */
    size_t stdin_pending_len;
    bool stdin_close_pending;
    int refs;      /* handlers and jobs holding it */
    bool removed;  /* out of the table; freed on last unref */
    bool creating; /* its directory is being prepared */
    bool starting; /* a start job is in flight */
    int fs_busy;   /* cp/export jobs with their own mount of its root (ctr_fs.c): no start, no rm */
    struct ctr_restart_timer *restart_timer; /* restart policy delay running */
    int64_t restart_delay_ms;
    bool state_saving, state_dirty;
    int saves_in_flight;            /* state/config writes queued or running */
    int layer_readers;              /* jobs reading its layer (rt_layer_hold) */
    struct job *remove_after_saves; /* a removal waiting for both (ctr_remove.c) */
};

struct ctr_table {
    char *root; /* <data-root>/containers */
    struct map by_id;
    struct map by_name;
};

int ctr_table_init(struct ctr_table *t, const char *data_root);
void ctr_table_done(struct ctr_table *t);

/* Docker's lookup order: full id, exact name (with or without "/"), unique id
 * prefix. 404 "No such container: <name>" otherwise. */
struct container *ctr_lookup(const struct ctr_table *t, const char *name, struct berr *err);

/* Names: [a-zA-Z0-9][a-zA-Z0-9_.-]+ (400), unique (409 like Docker's
 * "Conflict. The container name "/x" is already in use by container "<id>". ...").
 * ctr_name_generate makes a free adjective_surname name. */
int ctr_name_check(const struct ctr_table *t, const char *name, struct berr *err);
void ctr_name_generate(const struct ctr_table *t, char *out, size_t outlen);

/* Adds to / removes from the table (remove leaves memory to the last unref). */
int ctr_table_add(struct ctr_table *t, struct container *c);
void ctr_table_remove(struct ctr_table *t, struct container *c);
int ctr_table_rename(struct ctr_table *t, struct container *c, const char *name, struct berr *err);

struct container *ctr_new(const char *id, const char *name, const char *table_root);
void ctr_ref(struct container *c);
void ctr_unref(struct container *c);

const char *ctr_status_name(enum ctr_status s); /* "created", "running", ... */
int ctr_status_parse(const char *s, enum ctr_status *ret);
bool ctr_is_running(const struct container *c); /* running, paused or restarting */

/* ---- persistence ---- */

/* Serialised config.json / state.json documents (heap strings). */
char *ctr_config_doc(const struct container *c);
char *ctr_state_doc(const struct ctr_state *st);
/* Worker or startup: loads every container under t->root; records that
 * cannot be parsed are skipped with a warning line in ret_warnings. */
struct strv;
int ctr_table_load_sync(struct ctr_table *t, struct strv *ret_warnings, struct berr *err);

#endif
