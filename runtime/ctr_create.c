/* Create: reserve the name, prepare the container's directory (root
 * filesystem, hostname/hosts/resolv.conf, bind sources) on a worker, then
 * persist its records. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/atomicfile.h"
#include "common/job.h"
#include "common/log.h"
#include "common/macros.h"
#include "ctr_files.h"
#include "ctr_rootfs.h"
#include "rt.h"

struct create_job {
    struct job job;
    struct rt *rt;
    struct container *c;
    struct image *img;
    struct ctr_rootfs fs;
    struct ctr_files files;
    char *config_doc, *state_doc;
    rt_done_fn done;
    void *ud;
};

static void cj_free(struct create_job *cj)
{
    for (size_t i = 0; i < cj->fs.nlayers; i++)
        free(cj->fs.layers[i]);
    free(cj->fs.layers);
    ctr_files_done(&cj->files);
    free(cj->config_doc);
    free(cj->state_doc);
    free(cj);
}

/* -v /host:/ctr creates a missing host directory (Docker does); --mount
 * type=bind refuses a missing source. */
static int check_bind_sources(const struct container *c, struct berr *err)
{
    for (size_t i = 0; i < c->hc.nmounts; i++) {
        const struct ctr_mount *m = &c->hc.mounts[i];
        struct stat st;
        if (m->type != MNT_BIND || stat(m->source, &st) == 0)
            continue;
        if (!m->from_binds)
            return berr_set(err, 400, ENOENT,
                            "invalid mount config for type \"bind\": bind source path does not "
                            "exist: %s",
                            m->source);
        if (mkdir_p(m->source, 0755) < 0)
            return berr_errno(err, 500, errno, "creating bind source %s", m->source);
    }
    return 0;
}

static int write_doc(const char *dir, const char *name, const char *doc, struct berr *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return write_new_file(path, doc, strlen(doc), 0600, true, err);
}

static int create_run(struct job *job)
{
    struct create_job *cj = container_of(job, struct create_job, job);
    if (check_bind_sources(cj->c, &job->err) < 0)
        return -EINVAL;
    if (ctr_rootfs_prepare_sync(&cj->fs, &job->err) < 0)
        goto fail;
    if (ctr_files_write_sync(&cj->files, cj->fs.dir, &job->err) < 0)
        goto fail;
    /* state first: a config.json on disk always has its state.json */
    if (write_doc(cj->fs.dir, "state.json", cj->state_doc, &job->err) < 0 ||
        write_doc(cj->fs.dir, "config.json", cj->config_doc, &job->err) < 0)
        goto fail;
    /* the records' names, then the container directory's own */
    if (fsync_dir(cj->fs.dir, &job->err) < 0 || fsync_dir(cj->rt->ctrs.root, &job->err) < 0)
        goto fail;
    return 0;
fail:
    ctr_rootfs_remove_sync(cj->fs.dir, &(struct berr){0});
    return -EIO;
}

static void create_done(struct job *job)
{
    struct create_job *cj = container_of(job, struct create_job, job);
    struct container *c = cj->c;
    struct berr err = job->err;
    if (job->result < 0 && !err.status)
        berr_set(&err, 500, ECANCELED, "container creation was cancelled");
    if (job->result < 0) {
        ctr_table_remove(&cj->rt->ctrs, c);
    } else {
        cj->img->users++;
        rt_event(cj->rt, c, "create", NULL);
    }
    c->creating = false;
    cj->done(cj->ud, &err);
    ctr_unref(c);
    cj_free(cj);
}

static int fill_layers(struct create_job *cj)
{
    struct image *img = cj->img;
    cj->fs.layers = calloc(img->nchain ? img->nchain : 1, sizeof(char *));
    if (!cj->fs.layers)
        return -ENOMEM;
    for (size_t i = 0; i < img->nchain; i++) {
        char path[4096];
        store_layer_diff_dir(cj->rt->store, img->chain[i], path, sizeof(path));
        if (!(cj->fs.layers[i] = strdup(path)))
            return -ENOMEM;
        cj->fs.nlayers++;
    }
    return 0;
}

static int cj_prepare(struct create_job *cj, struct berr *err)
{
    struct container *c = cj->c;
    cj->fs.dir = c->dir;
    cj->fs.vfs = cj->rt->store->driver == STORE_VFS;
    cj->config_doc = ctr_config_doc(c);
    cj->state_doc = ctr_state_doc(&c->st);
    if (fill_layers(cj) < 0 || !cj->config_doc || !cj->state_doc ||
        ctr_files_plan(c, &cj->files) < 0)
        return berr_set(err, 500, ENOMEM, "out of memory");
    return 0;
}

void rt_create(struct rt *rt, struct container *c, struct image *img, rt_done_fn done, void *ud)
{
    struct berr err = {0};
    struct create_job *cj = calloc(1, sizeof(*cj));
    if (!cj || ctr_name_check(&rt->ctrs, c->name, &err) < 0 || ctr_table_add(&rt->ctrs, c) < 0) {
        if (!err.status)
            berr_set(&err, 500, ENOMEM, "out of memory");
        free(cj);
        ctr_unref(c);
        done(ud, &err);
        return;
    }
    *cj = (struct create_job){.rt = rt, .c = c, .img = img, .done = done, .ud = ud};
    c->creating = true;
    ctr_ref(c);
    if (cj_prepare(cj, &err) < 0) {
        job_init(&cj->job, NULL, create_done);
        cj->job.result = -ENOMEM;
        cj->job.err = err;
        create_done(&cj->job);
        return;
    }
    job_init(&cj->job, create_run, create_done);
    (void)job_queue(rt->loop, &cj->job);
}
