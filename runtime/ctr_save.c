/* Writing state.json and config.json off the loop. Saves of one container
 * are serialised (one job in flight, a later change marks it dirty and is
 * written when that job ends), so an older state can never land last. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/atomicfile.h"
#include "common/job.h"
#include "common/log.h"
#include "common/macros.h"
#include "rt.h"

struct save_job {
    struct job job;
    struct rt *rt;
    struct container *c;
    char path[4200];
    char *doc;
    bool config;
};

static void queue_save(struct rt *rt, struct container *c, bool config);

static int save_run(struct job *job)
{
    struct save_job *sj = container_of(job, struct save_job, job);
    return atomic_write_file(sj->path, sj->doc, strlen(sj->doc), 0600, &job->err);
}

static void save_done(struct job *job)
{
    struct save_job *sj = container_of(job, struct save_job, job);
    struct container *c = sj->c;
    bool going = c->removed || c->st.status == CTR_REMOVING;
    c->saves_in_flight--;
    if (job->result < 0 && !going)
        log_error("container %.12s: saving %s: %s", c->id, sj->config ? "config" : "state",
                  job->err.msg);
    c->state_saving = false;
    if (c->state_dirty && !going) {
        c->state_dirty = false;
        queue_save(sj->rt, c, false);
    }
    if (c->saves_in_flight == 0 && c->layer_readers == 0 && c->remove_after_saves) {
        /* the directory goes only once no save can recreate a file in it */
        (void)job_queue(sj->rt->loop, c->remove_after_saves);
        c->remove_after_saves = NULL;
    }
    ctr_unref(c);
    free(sj->doc);
    free(sj);
}

static void queue_save(struct rt *rt, struct container *c, bool config)
{
    struct save_job *sj = calloc(1, sizeof(*sj));
    if (!sj || !(sj->doc = config ? ctr_config_doc(c) : ctr_state_doc(&c->st))) {
        free(sj);
        log_error("container %.12s: out of memory saving its state", c->id);
        return;
    }
    sj->rt = rt;
    sj->c = c;
    sj->config = config;
    snprintf(sj->path, sizeof(sj->path), "%s/%s", c->dir, config ? "config.json" : "state.json");
    ctr_ref(c);
    c->saves_in_flight++;
    if (!config)
        c->state_saving = true;
    job_init(&sj->job, save_run, save_done);
    (void)job_queue(rt->loop, &sj->job);
}

void rt_save_state(struct rt *rt, struct container *c)
{
    if (c->removed || c->creating || c->st.status == CTR_REMOVING)
        return;
    if (c->state_saving) {
        c->state_dirty = true;
        return;
    }
    queue_save(rt, c, false);
}

void rt_save_config(struct rt *rt, struct container *c)
{
    if (!c->removed && !c->creating && c->st.status != CTR_REMOVING)
        queue_save(rt, c, true);
}
