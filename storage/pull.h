/* Pulling an image (DESIGN §4 "pull"): manifest -> platform -> config ->
 * layers downloaded concurrently into tmp/ while hashed on workers, verified,
 * extracted in order on workers, committed by rename, then the image and its
 * references registered. Runs on the loop; progress is reported as
 * structured events that handlers render as Docker's JSON messages.
 *
 * Two clients pulling the same reference and platform share one pull: the
 * second attaches and first receives a replay of the progress so far. When
 * the last client detaches the pull is cancelled; what was registered stays
 * (complete layers), what was not is removed. */
#ifndef BERTH_STORAGE_PULL_H
#define BERTH_STORAGE_PULL_H

#include <stdbool.h>
#include <stdint.h>

#include "common/list.h"
#include "manifest.h"
#include "reference.h"
#include "registry.h"
#include "store.h"

enum pull_event_kind {
    PULL_EV_RESOLVED, /* manifest found: "Pulling from <name>" (id = tag or digest) */
    PULL_EV_LAYER,    /* one layer changed state (id = 12-hex short digest) */
    PULL_EV_DIGEST,   /* text = "sha256:..." of the manifest (or index) pulled */
    PULL_EV_STATUS,   /* final: text = image reference; up_to_date tells which message */
};

enum pull_layer_state {
    PULL_LAYER_QUEUED,      /* "Pulling fs layer" */
    PULL_LAYER_WAITING,     /* "Waiting" (beyond the concurrent download limit) */
    PULL_LAYER_EXISTS,      /* "Already exists" */
    PULL_LAYER_DOWNLOADING, /* "Downloading" current/total */
    PULL_LAYER_VERIFYING,   /* "Verifying Checksum" */
    PULL_LAYER_DOWNLOADED,  /* "Download complete" */
    PULL_LAYER_EXTRACTING,  /* "Extracting" current/total */
    PULL_LAYER_COMPLETE,    /* "Pull complete" */
};

struct pull_event {
    enum pull_event_kind kind;
    const char *id;
    enum pull_layer_state state;
    int64_t current, total; /* bytes, for DOWNLOADING and EXTRACTING */
    const char *text;
    bool up_to_date;
};

struct pull;
struct pull_listener;

typedef void (*pull_event_fn)(struct pull_listener *l, const struct pull_event *ev);
/* result 0: img is the pulled image; else err says why (status ready for HTTP). */
typedef void (*pull_done_fn)(struct pull_listener *l, int result, const struct berr *err,
                             struct image *img);

struct pull_listener {
    struct list link;
    struct pull *pull;
    pull_event_fn on_event;
    pull_done_fn on_done;
    void *data;
};

struct pull_ctx {
    uv_loop_t *loop;
    struct store *store;
    struct httpc_pool *pool;
    struct registry_opts reg;
    int max_downloads; /* concurrent layer downloads per pull (Docker: 3) */
    struct map active; /* "ref|platform" -> struct pull*, shared pulls */
};

/* Starts a pull (or joins the identical one in progress) and attaches l.
 * Before the manifest is resolved, errors arrive through on_done only, so a
 * handler can still answer with a plain HTTP error status. */
int pull_start(struct pull_ctx *ctx, const struct image_ref *ref, const struct platform *plat,
               const struct auth_config *creds, struct pull_listener *l, struct berr *err);

/* The listener leaves (client gone); the last one leaving cancels the pull.
 * on_done is not called for a detached listener. */
void pull_detach(struct pull_listener *l);

/* Cancels every pull (daemon shutdown). */
void pull_cancel_all(struct pull_ctx *ctx);

#endif
