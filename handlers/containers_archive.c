/* docker cp: HEAD, GET and PUT /containers/{id}/archive?path=, as moby's
 * headContainersArchive, getContainersArchive and putContainersArchive.
 *
 * HEAD and GET (containers_tar.c) answer with X-Docker-Container-Path-Stat
 * (and GET with the tar of the path). PUT takes a tar (plain, gzip, bzip2,
 * xz or zstd) and extracts it into the directory path names: the body goes
 * to a file below tmp/ first (body_file), then one worker job opens the
 * container's filesystem view, resolves the destination inside it (every
 * symlink followed, never out of the root), applies moby's checks
 * (extraction point a directory, read-only volume or root) and extracts
 * (storage/path_extract) with noOverwriteDirNonDir and, with copyUIDGID,
 * every member owned by the container's user. A relative path is taken
 * from the root, as moby joins it to "/". */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "body_file.h"
#include "common/job.h"
#include "common/macros.h"
#include "containers.h"
#include "containers_tar.h"
#include "runtime/ctr_fs.h"
#include "storage/path_extract.h"
#include "storage/path_resolve.h"

/* moby's archiveFormValues: the path must be given. */
static const char *path_param(struct srv_req *req)
{
    const char *path = srv_req_query(req, "path");
    if (path && *path)
        return path;
    srv_reply_error(req, 400, "path is empty");
    return NULL;
}

void h_containers_archive_head(struct srv_req *req)
{
    const char *path = path_param(req);
    if (path)
        ctr_tar_start(req, CTR_TAR_STAT, path);
}

void h_containers_archive_get(struct srv_req *req)
{
    const char *path = path_param(req);
    if (path)
        ctr_tar_start(req, CTR_TAR_PATH, path);
}

/* ---- PUT ---- */

struct put_req {
    struct srv_req *req; /* NULL once the request has ended */
    struct engine *e;
    char *path, *name;
    bool no_overwrite_dir_nondir, copy_uidgid;
    struct ctr_fs fs;
    char body[4096];
    struct job job;
    bool busy;
};

static void put_free(struct put_req *p)
{
    ctr_fs_release(&p->fs);
    free(p->path);
    free(p->name);
    free(p);
}

/* The destination, every symlink followed inside the root (moby's
 * GetResourcePath), as a path and as a directory that exists. */
static int resolve_dest(struct put_req *p, int rootfd, char *dest, size_t len, struct berr *err)
{
    char abs[SAFE_PATH_MAX];
    int r = path_abs_clean(p->path, abs, sizeof(abs));
    if (r == 0)
        r = path_follow_in_root(rootfd, abs, dest, len);
    _cleanup_close_ int fd = r < 0 ? r : safe_open_in_root(rootfd, dest + 1, O_PATH | O_DIRECTORY);
    if (fd == -ENOENT)
        return berr_set(err, 404, ENOENT, "Could not find the file %s in container %s", p->path,
                        p->name);
    if (fd == -ENOTDIR)
        return berr_set(err, 400, ENOTDIR, "extraction point is not a directory");
    if (fd < 0)
        return berr_errno(err, fd == -ENAMETOOLONG || fd == -ELOOP ? 400 : 500, -fd, "resolving %s",
                          p->path);
    return 0;
}

static int extract_into(struct put_req *p, int rootfd, struct berr *err)
{
    char dest[SAFE_PATH_MAX];
    struct path_extract_opts o = {.no_overwrite_dir_nondir = p->no_overwrite_dir_nondir,
                                  .uid = -1,
                                  .gid = -1,
                                  .stop = &p->job.stop};
    if (resolve_dest(p, rootfd, dest, sizeof(dest), err) < 0 ||
        ctr_fs_check_writable(&p->fs, dest, err) < 0 ||
        (p->copy_uidgid && ctr_fs_user_sync(&p->fs, rootfd, &o.uid, &o.gid, err) < 0))
        return -EIO;
    o.dest = dest + 1;
    return path_extract(p->body, rootfd, &o, err);
}

static int extract_run(struct job *job)
{
    struct put_req *p = container_of(job, struct put_req, job);
    int rootfd = -1;
    int r = ctr_fs_open_sync(&p->fs, &rootfd, &job->err);
    if (r == 0) {
        r = extract_into(p, rootfd, &job->err);
        close(rootfd); /* dissolves the view's mounts */
    }
    unlink(p->body);
    return r;
}

static void extract_done(struct job *job)
{
    struct put_req *p = container_of(job, struct put_req, job);
    struct container *c = p->fs.c;
    ctr_ref(c);             /* for the event */
    ctr_fs_release(&p->fs); /* before the reply: a start sent next must not find it busy */
    if (p->req) {
        p->req->on_abort = NULL;
        if (job->result < 0) {
            srv_reply_berr(p->req,
                           job->err.status ? &job->err : &(struct berr){500, "copy cancelled"});
        } else {
            if (!c->removed)
                rt_event(&p->e->rt, c, "extract-to-dir", NULL);
            srv_reply_empty(p->req, 200);
        }
    }
    ctr_unref(c);
    put_free(p);
}

static void body_done(struct body_file *bf, int result, const struct berr *err, void *ud)
{
    struct put_req *p = ud;
    (void)bf;
    if (result < 0) {
        p->req->on_abort = NULL;
        srv_reply_berr(p->req, err);
        put_free(p); /* body_file removed the file */
        return;
    }
    p->busy = true;
    job_init(&p->job, extract_run, extract_done);
    (void)job_queue(p->e->loop, &p->job);
}

static void put_abort(struct srv_req *req)
{
    bool in_body = req->on_body != NULL;
    struct put_req *p = in_body ? body_file_ud(req->data) : req->data;
    req->on_abort = NULL;
    srv_reply_error(req, 500, "client gone");
    p->req = NULL;
    if (in_body) {
        body_file_cancel(req->data);
        put_free(p);
    } else if (p->busy) {
        job_cancel(&p->job); /* extract_done frees */
    }
}

static struct put_req *put_new(struct srv_req *req, const char *path)
{
    struct put_req *p = calloc(1, sizeof(*p));
    if (!p || !(p->path = strdup(path)) || !(p->name = strdup(req->params[0]))) {
        if (p)
            free(p->path);
        free(p);
        return NULL;
    }
    p->e = srv_req_ctx(req);
    p->no_overwrite_dir_nondir = srv_req_query_bool(req, "noOverwriteDirNonDir");
    p->copy_uidgid = srv_req_query_bool(req, "copyUIDGID");
    return p;
}

void h_containers_archive_put(struct srv_req *req)
{
    struct container *c = ctr_from_req(req);
    const char *path = c ? path_param(req) : NULL;
    if (!path)
        return;
    struct put_req *p = put_new(req, path);
    struct berr err = {0};
    if (!p) {
        srv_reply_error(req, 500, "out of memory");
        return;
    }
    if (ctr_fs_prepare(&p->e->rt, c, true, &p->fs, &err) < 0) {
        put_free(p);
        srv_reply_berr(req, &err);
        return;
    }
    store_tmp_path(p->e->store, "cp", p->body, sizeof(p->body));
    p->req = req;
    if (body_file_start(req, p->body, 0, body_done, p, &err) < 0) {
        put_free(p);
        srv_reply_berr(req, &err);
        return;
    }
    req->on_abort = put_abort;
}
