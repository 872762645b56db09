/* Shared between runtime/cgroup*.c only: file helpers and the two backends. */
#ifndef BERTH_RUNTIME_CGROUP_INTERNAL_H
#define BERTH_RUNTIME_CGROUP_INTERNAL_H

#include <stdarg.h>

#include "cgroup.h"

/* ---- cgroup_fs.c: small-file I/O on cgroupfs (and on fake trees) -------- */

/* Writes value to dir/file in one write(). Files are opened with O_CREAT so
 * a fake tree of plain files works; on cgroupfs O_CREAT is a no-op for
 * existing files, and a missing one is reported as "not supported". The
 * message names the file and value; kernel refusals (EINVAL, EBUSY...) are
 * 400, the rest 500. */
int cg__write(const char *dir, const char *file, const char *value, struct berr *err);
/* cpuset.cpus and cpuset.mems from lim (files named alike on v1 and v2). */
int cg__apply_cpuset(const char *dir, const struct cg_limits *lim, struct berr *err);
int cg__writef(struct berr *err, const char *dir, const char *file, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Reads dir/file into buf (NUL-terminated, truncated at size - 1). */
int cg__read(const char *dir, const char *file, char *buf, size_t size, struct berr *err);
/* Reads a whole file of any size; *ret is malloc'ed. */
int cg__read_all(const char *dir, const char *file, char **ret, struct berr *err);
int cg__read_u64(const char *dir, const char *file, uint64_t *ret, struct berr *err);
bool cg__exists(const char *dir, const char *file);
/* Finds "key N" in a flat-keyed file's text (memory.events, oom_control). */
int cg__key_u64(const char *text, const char *key, uint64_t *ret);
/* mkdir -p of path, never above root (which must exist). */
int cg__mkdir_p(const char *root, const char *path, struct berr *err);
/* rmdir of path and every sub-directory (depth first), retrying EBUSY for
 * about a second; ENOENT is success. */
int cg__rmdir_tree(const char *path, struct berr *err);
/* Parses dir/cgroup.procs. */
int cg__read_pids(const char *dir, pid_t **ret, size_t *ret_n, struct berr *err);
/* SIGKILLs what is listed in dir/cgroup.procs until it stays empty. */
int cg__kill_loop(const char *dir, struct berr *err);
/* Polls dir/file until its "key" counter equals want (or the file is gone);
 * used for cgroup.events "populated 0" / "frozen 1". */
int cg__wait_key(const char *dir, const char *file, const char *key, uint64_t want,
                 struct berr *err);
/* Resolves a block device path to "MAJ:MIN". */
int cg__devnum(const char *path, char out[32], struct berr *err);
void cg__warn(struct cg_warnings *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- cgroup_devices.c -------------------------------------------------- */

/* Docker's default allow list (runc's AllowedDevices), in write order. */
extern const struct cg_dev_rule cg__default_devices[];
extern const size_t cg__ndefault_devices;
/* Formats a rule as the v1 devices files take it: "c 1:3 rwm". */
void cg__dev_rule_str(const struct cg_dev_rule *r, char out[64]);
int cg__v1_devices(const char *dir, const struct cg_limits *lim, struct berr *err);
/* Loads a BPF_PROG_TYPE_CGROUP_DEVICE program for lim and attaches it to the
 * v2 leaf. -EPERM/-ENOSYS when the kernel refuses BPF. */
int cg__v2_devices(const char *dir, const struct cg_limits *lim, struct berr *err);

/* ---- backends ---------------------------------------------------------- */

int cg__v1_create(const struct cgroup *cg, const struct cg_limits *lim, struct cg_warnings *w,
                  struct berr *err);
int cg__v1_apply(const struct cgroup *cg, const struct cg_limits *lim, struct cg_warnings *w,
                 struct berr *err);
int cg__v1_freeze(const struct cgroup *cg, bool frozen, struct berr *err);
int cg__v1_kill_all(const struct cgroup *cg, struct berr *err);
int cg__v1_oom_watch_fd(const struct cgroup *cg, struct berr *err);
/* The v1 dir holding every process (pids, else freezer, memory, ...). */
const char *cg__v1_procs_dir(const struct cgroup *cg);

int cg__v2_create(const struct cgroup *cg, const struct cg_limits *lim, struct cg_warnings *w,
                  struct berr *err);
int cg__v2_apply(const struct cgroup *cg, const struct cg_limits *lim, struct cg_warnings *w,
                 struct berr *err);
int cg__v2_freeze(const struct cgroup *cg, bool frozen, struct berr *err);
int cg__v2_kill_all(const struct cgroup *cg, struct berr *err);
int cg__v2_oom_watch_fd(const struct cgroup *cg, struct berr *err);

/* Block IO throttles grouped per device, for v2 io.max lines. */
int cg__v2_io_max(const char *dir, const struct cg_limits *lim, struct berr *err);

#endif
