/* Container management beyond the lifecycle: `docker top` (the host's ps,
 * filtered to the container's cgroup), `docker update` (resources and
 * restart policy, applied live to a running container's cgroup) and the
 * size of a container's writable layer (`ps -s`, `inspect --size`,
 * `container prune`). Loop thread, except the *_sync functions (workers);
 * ps runs and directory walks happen on worker jobs. */
#ifndef BERTH_RUNTIME_CTR_MANAGE_H
#define BERTH_RUNTIME_CTR_MANAGE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup.h"
#include "common/berr.h"
#include "common/config.h" /* struct strv */
#include "ctr_hostcfg.h"
#include "rt.h"

/* ---- top (ctr_top.c) ------------------------------------------------------ */

/* ps output cut to the container's processes: Titles, and one row per
 * process with exactly as many columns as titles (the last column takes
 * the rest of the line, as COMMAND lines hold spaces). */
struct ctr_top {
    struct strv titles;
    struct strv *rows;
    size_t nrows;
};
void ctr_top_done(struct ctr_top *t);

typedef void (*rt_top_fn)(void *ud, const struct berr *err, const struct ctr_top *top);

/* Docker's ContainerTop: ps_args (NULL or "" = "-ef") split on single
 * spaces, ps run on a worker with "-q<pids>" (again without it when ps
 * refuses the pair), rows kept when their PID is in the container's cgroup.
 * 409 "Container <id> is not running" / "... is restarting, wait until the
 * container is running"; 500 "ps: <ps's first error line>", "Couldn't find
 * PID field in ps output", "Unexpected pid '<x>': ...". Publishes the `top`
 * event. done may run before rt_top returns. */
void rt_top(struct rt *rt, struct container *c, const char *ps_args, rt_top_fn done, void *ud);

/* Pure pieces, for tests. Whether the arguments choose ps's columns
 * (o, -o, --format in any of ps's spellings): then "-opid" is put first so
 * the PID column is known. */
bool ctr_top_custom_fields(const char *const *args, size_t n);
/* Parses ps output; pid_first: the first column is the added "-opid" and is
 * dropped from the result. */
int ctr_top_parse(const char *out, const pid_t *pids, size_t npids, bool pid_first,
                  struct ctr_top *ret, struct berr *err);

/* ---- update (ctr_update.c) ------------------------------------------------ */

/* A `POST /containers/{id}/update` body, parsed and checked (Docker's
 * verifyContainerSettings with update=true): numbers are Docker's "0 means
 * unchanged", except MemorySwap -1 (unlimited) and PidsLimit (present:
 * set, <= 0 meaning unlimited). */
struct ctr_update {
    struct ctr_resources res;
    bool has_pids;
    bool has_restart;
    cJSON *restart; /* RestartPolicy to store, owned; NULL when unchanged */
    struct cg_warnings warn;
};

/* body may be NULL/empty (an update that changes nothing). 400 with
 * Docker's wording ("invalid JSON: ...", "Minimum memory limit allowed is
 * 6MB", "Invalid value x for cpuset cpus: ...", restart policy errors). */
int rt_update_parse(const struct rt *rt, const char *body, size_t len, struct ctr_update *ret,
                    struct berr *err);
void ctr_update_done(struct ctr_update *u);

/* err.status 0 on success; warn: the parse's notes and the cgroup's. */
typedef void (*rt_update_fn)(void *ud, const struct berr *err, const struct cg_warnings *warn);

/* Merges u into c's HostConfig (409 "Cannot update container <id>: ..." for
 * Docker's conflicts), writes the merged limits to the cgroup of a running
 * container on a worker (500 "Cannot update container <id>: ..." leaves
 * the config as it was), then keeps the new HostConfig, persists it and
 * publishes `update`. A stopped container only gets the new config. Updates
 * of one container run one after the other. u is consumed (done or not);
 * done may run before rt_update returns. */
void rt_update(struct rt *rt, struct container *c, struct ctr_update *u, rt_update_fn done,
               void *ud);

/* ---- sizes (ctr_size.c) --------------------------------------------------- */

/* Bytes of the files in dir (directories not counted, a hard-linked inode
 * once, other filesystems mounted below not entered). base non-NULL: only
 * files that are new or differ from base's (vfs: the image's tree). A
 * missing dir is 0. Returns the size or a negative errno. */
int64_t ctr_rw_size_sync(const char *dir, const char *base);

/* size_rw[i] for cs[i] (-1 when it could not be measured); the array lives
 * until done returns. */
typedef void (*rt_sizes_fn)(void *ud, const int64_t *size_rw, size_t n);

/* Measures the writable layers of n containers on one worker job (overlay:
 * the upper dir; vfs: the copy against the image's top layer). done may run
 * before rt_sizes returns (n == 0, or no memory: all -1). */
void rt_sizes(struct rt *rt, struct container *const *cs, size_t n, rt_sizes_fn done, void *ud);

/* Size of c's image (0 when gone): SizeRootFs = SizeRw + this. */
int64_t rt_image_size(const struct rt *rt, const struct container *c);

#endif
