/* Trust per registry host, as Docker's certs.d: the system CA bundle plus
 * <certs_dir>/<host[:port]>/{name}.crt as CAs, and a {name}.cert + {name}.key pair as the
 * client certificate. Built on a worker (file reads), cached per registry. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/job.h"
#include "common/macros.h"
#include "registry_internal.h"

struct tls_job {
    struct job job;
    struct registry *r;
    char key[300];
    char dir[4096];
    bool skip_verify;
    struct tls_conf *conf;
    reg_tls_fn done;
    void *ud;
};

/* Finds "<name>.cert" with a matching "<name>.key" in dir. */
static bool find_client_pair(const char *dir, char *cert, char *key, size_t len)
{
    DIR *d = opendir(dir);
    if (!d)
        return false;
    bool found = false;
    struct dirent *de;
    while (!found && (de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n < 6 || strcmp(de->d_name + n - 5, ".cert") != 0)
            continue;
        snprintf(cert, len, "%s/%s", dir, de->d_name);
        snprintf(key, len, "%s/%.*s.key", dir, (int)(n - 5), de->d_name);
        found = access(key, R_OK) == 0;
    }
    closedir(d);
    return found;
}

static int tls_run(struct job *job)
{
    struct tls_job *tj = container_of(job, struct tls_job, job);
    char cert[4096 + 256], key[4096 + 256];
    bool pair = tj->dir[0] && find_client_pair(tj->dir, cert, key, sizeof(cert));
    struct tls_conf_opts o = {
        .ca_bundle = access(TLS_SYSTEM_CA_BUNDLE, R_OK) == 0 ? TLS_SYSTEM_CA_BUNDLE : NULL,
        .ca_dir = tj->dir[0] ? tj->dir : NULL,
        .client_cert = pair ? cert : NULL,
        .client_key = pair ? key : NULL,
        .insecure_skip_verify = tj->skip_verify,
    };
    return tls_conf_new(&o, &tj->conf, &job->err);
}

static void tls_done(struct job *job)
{
    struct tls_job *tj = container_of(job, struct tls_job, job);
    struct registry *r = tj->r;
    if (job->result == 0 && !r->closing && map_put(&r->tls, tj->key, tj->conf) == 0)
        tls_conf_ref(tj->conf); /* the cache's reference */
    if (job->cancelled)
        berr_set(&job->err, 500, ECANCELED, "cancelled");
    if (!r->closing)
        tj->done(r, job->result == 0 ? tj->conf : NULL, &job->err, tj->ud);
    tls_conf_unref(tj->conf); /* NULL-safe; the job's reference */
    free(tj);
    reg_unref(r);
}

void reg_tls_get(struct registry *r, const char *hostport, bool skip_verify, reg_tls_fn done,
                 void *ud)
{
    char key[300];
    snprintf(key, sizeof(key), "%s|%d", hostport, skip_verify);
    struct tls_conf *cached = map_get(&r->tls, key);
    if (cached) {
        done(r, cached, NULL, ud);
        return;
    }
    struct tls_job *tj = calloc(1, sizeof(*tj));
    struct berr err = {0};
    if (!tj) {
        berr_set(&err, 500, ENOMEM, "out of memory");
        done(r, NULL, &err, ud);
        return;
    }
    tj->r = r;
    snprintf(tj->key, sizeof(tj->key), "%s", key);
    if (r->certs_dir)
        snprintf(tj->dir, sizeof(tj->dir), "%s/%s", r->certs_dir, hostport);
    tj->skip_verify = skip_verify;
    tj->done = done;
    tj->ud = ud;
    job_init(&tj->job, tls_run, tls_done);
    reg_ref(r);
    if (job_queue(r->loop, &tj->job) < 0) {
        reg_unref(r);
        free(tj);
        berr_set(&err, 500, EIO, "cannot queue work");
        done(r, NULL, &err, ud);
    }
}

void reg_tls_clear(struct registry *r)
{
    void *conf;
    for (size_t it = 0; map_next(&r->tls, &it, NULL, &conf);)
        tls_conf_unref(conf);
    map_done(&r->tls);
}
