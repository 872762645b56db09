#include "main_reload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/job.h"
#include "common/log.h"
#include "common/macros.h"
#include "handlers/engine.h"

struct reload_job {
    struct job job;
    struct engine *e;
    void (*applied)(struct engine *e);
    struct config cur; /* the worker's own copy */
    struct config fresh;
    struct strv ignored;
};

static bool reload_busy;

static int reload_run(struct job *job)
{
    struct reload_job *rj = container_of(job, struct reload_job, job);
    return config_reload(&rj->cur, &rj->fresh, &rj->ignored, &job->err);
}

static void list_text(struct buf *b, const struct strv *v)
{
    buf_append_str(b, "[");
    for (size_t i = 0; i < v->n; i++)
        buf_printf(b, "%s%s", i ? " " : "", v->v[i]);
    buf_append_str(b, "]");
}

/* Like dockerd, the event carries the reloadable settings as attributes. */
static void publish_reload(struct engine *e)
{
    char shutdown[24];
    struct buf insecure = BUF_INIT, mirrors = BUF_INIT;
    snprintf(shutdown, sizeof(shutdown), "%lld", (long long)e->cfg.shutdown_timeout);
    list_text(&insecure, &e->cfg.insecure_registries);
    list_text(&mirrors, &e->cfg.registry_mirrors);
    const char *attrs[] = {
        "debug",
        e->cfg.debug ? "true" : "false",
        "insecure-registries",
        insecure.data,
        "log-level",
        e->cfg.log_level,
        "name",
        e->host.hostname,
        "registry-mirrors",
        mirrors.data,
        "shutdown-timeout",
        shutdown,
        NULL,
    };
    evbus_publish(e->events, "daemon", "reload", e->id, attrs);
    buf_done(&insecure);
    buf_done(&mirrors);
}

static void reload_done(struct job *job)
{
    struct reload_job *rj = container_of(job, struct reload_job, job);
    struct engine *e = rj->e;
    reload_busy = false;
    if (job->result < 0) {
        log_error("reload failed, configuration unchanged: %s", job->err.msg);
    } else {
        for (size_t i = 0; i < rj->ignored.n; i++)
            log_warn("reload: '%s' changed but needs a restart, ignoring", rj->ignored.v[i]);
        config_done(&e->cfg);
        e->cfg = rj->fresh;
        memset(&rj->fresh, 0, sizeof(rj->fresh));
        rj->applied(e);
        publish_reload(e);
        log_info("configuration reloaded from %s", e->cfg.config_file);
    }
    config_done(&rj->cur);
    config_done(&rj->fresh);
    strv_done(&rj->ignored);
    free(rj);
}

void reload_start(struct engine *e, void (*applied)(struct engine *e))
{
    if (reload_busy)
        return;
    struct reload_job *rj = calloc(1, sizeof(*rj));
    if (!rj || config_copy(&e->cfg, &rj->cur) < 0) {
        free(rj);
        log_error("reload: out of memory");
        return;
    }
    rj->e = e;
    rj->applied = applied;
    job_init(&rj->job, reload_run, reload_done);
    if (job_queue(e->loop, &rj->job) < 0) {
        config_done(&rj->cur);
        free(rj);
        return;
    }
    reload_busy = true;
}
