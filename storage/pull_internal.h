/* Internal: state shared by pull.c (the pull as a whole) and pull_layer.c
 * (one layer's download, verification and extraction). */
#ifndef BERTH_STORAGE_PULL_INTERNAL_H
#define BERTH_STORAGE_PULL_INTERNAL_H

#include <stdatomic.h>

#include "common/buf.h"
#include "common/job.h"
#include "layer_extract.h"
#include "pull.h"

#define PULL_PATH_MAX 4096

struct pull_layer {
    struct pull *p;
    size_t index;
    struct descriptor desc;
    char diff_id[DIGEST_STR_MAX];
    char chain_id[DIGEST_STR_MAX];
    char parent_chain[DIGEST_STR_MAX];
    char short_id[16];
    enum pull_layer_state state;
    int64_t current, total;
    bool downloaded, done, failed;
    struct reg_req *req;
    bool req_finished;
    /* download sink: the loop fills `fill`; one write job at a time appends
     * it to the temp file and the hash on a worker */
    char tmp_path[PULL_PATH_MAX];
    char blob_path[PULL_PATH_MAX];
    int fd;
    struct sha256 hash;
    struct buf fill;
    bool write_busy, paused;
    uint64_t received;
    uint64_t last_emit_ms;
    /* extraction */
    _Atomic uint64_t extract_bytes;
    atomic_bool stop;
};

struct pull {
    struct pull_ctx *ctx;
    char key[REF_STRING_MAX + 160];
    struct image_ref ref;
    struct platform plat;
    struct auth_config creds;
    struct registry *reg;
    struct list listeners;
    int refs; /* the pull itself + requests and jobs in flight */
    bool resolved, finished, cancelled, up_to_date;
    struct berr err;
    struct reg_req *req; /* manifest or config request */
    struct buf body;
    char content_type[128];
    char header_digest[DIGEST_STR_MAX];
    char top_digest[DIGEST_STR_MAX];              /* what RepoDigests records */
    char requested[REF_TAG_MAX + DIGEST_STR_MAX]; /* tag or digest of the manifest asked for */
    bool from_index;
    struct manifest man;
    struct image_config cfg;
    char *config;
    size_t config_len;
    char image_id[DIGEST_STR_MAX];
    struct pull_layer *layers;
    size_t nlayers;
    int downloading;
    size_t next_extract;
    bool extracting;
    uv_timer_t progress_timer; /* extraction progress ticks */
    bool timer_open;
};

/* pull.c */
void pull_ref(struct pull *p);
void pull_unref(struct pull *p);
void pull_emit(struct pull *p, const struct pull_event *ev);
void pull_emit_layer(struct pull_layer *pl, enum pull_layer_state state);
void pull_fail(struct pull *p, int result, const struct berr *err);
void pull_layers_progress(struct pull *p); /* a layer finished: start/extract/commit */

/* pull_layer.c */
void pull_layer_download(struct pull_layer *pl);
void pull_layer_extract(struct pull_layer *pl);
void pull_layer_cancel(struct pull_layer *pl);
void pull_layer_release(struct pull_layer *pl);

#endif
