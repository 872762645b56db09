/* config.json and state.json of each container: their documents, and
 * loading them all at startup. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/atomicfile.h"
#include "common/config.h"
#include "common/jsonutil.h"
#include "container.h"

#define DOC_MAX (16 << 20)

/* Times are nanoseconds since the epoch, past 2^53: a JSON number would come
 * back through cJSON's double rounded, so they are kept as decimal strings
 * (numbers written by older builds are still read). */
static void add_ns(cJSON *o, const char *key, int64_t ns)
{
    char s[24];
    snprintf(s, sizeof(s), "%lld", (long long)ns);
    cJSON_AddStringToObject(o, key, s);
}

static int64_t get_ns(const cJSON *o, const char *key)
{
    const char *s = json_get_str(o, key);
    return s ? strtoll(s, NULL, 10) : json_get_int64(o, key, 0);
}

char *ctr_config_doc(const struct container *c)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "Id", c->id);
    cJSON_AddStringToObject(o, "Name", c->name);
    add_ns(o, "Created", c->created_ns);
    cJSON_AddStringToObject(o, "Image", c->image_id);
    cJSON_AddStringToObject(o, "ImageName", c->image_name ? c->image_name : "");
    cJSON_AddItemReferenceToObject(o, "Config", c->config);
    cJSON_AddItemReferenceToObject(o, "HostConfig", c->host_config);
    if (c->net_config)
        cJSON_AddItemReferenceToObject(o, "NetworkingConfig", c->net_config);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

char *ctr_state_doc(const struct ctr_state *st)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "Status", ctr_status_name(st->status));
    cJSON_AddNumberToObject(o, "Pid", st->pid);
    cJSON_AddNumberToObject(o, "ExitCode", st->exit_code);
    cJSON_AddBoolToObject(o, "OOMKilled", st->oom_killed);
    cJSON_AddBoolToObject(o, "ManuallyStopped", st->manually_stopped);
    cJSON_AddBoolToObject(o, "HasBeenStarted", st->has_been_started);
    cJSON_AddNumberToObject(o, "RestartCount", st->restart_count);
    add_ns(o, "StartedAt", st->started_ns);
    add_ns(o, "FinishedAt", st->finished_ns);
    cJSON_AddStringToObject(o, "Error", st->error);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static void state_from(const cJSON *o, struct ctr_state *st)
{
    if (ctr_status_parse(json_get_str(o, "Status"), &st->status) < 0)
        st->status = CTR_EXITED;
    st->pid = (pid_t)json_get_int64(o, "Pid", 0);
    st->exit_code = (int)json_get_int64(o, "ExitCode", 0);
    st->oom_killed = json_get_bool(o, "OOMKilled");
    st->manually_stopped = json_get_bool(o, "ManuallyStopped");
    st->has_been_started = json_get_bool(o, "HasBeenStarted");
    st->restart_count = (int)json_get_int64(o, "RestartCount", 0);
    st->started_ns = get_ns(o, "StartedAt");
    st->finished_ns = get_ns(o, "FinishedAt");
    const char *e = json_get_str(o, "Error");
    snprintf(st->error, sizeof(st->error), "%s", e ? e : "");
}

static cJSON *detach(cJSON *o, const char *key)
{
    cJSON *v = cJSON_DetachItemFromObjectCaseSensitive(o, key);
    if (v && cJSON_IsNull(v)) {
        cJSON_Delete(v);
        return NULL;
    }
    return v;
}

/* Builds a container from config.json (doc: its members are moved out) and
 * state.json. */
static int container_from(cJSON *doc, const cJSON *state, const char *root, struct container **ret,
                          struct berr *err)
{
    const cJSON *cfg = doc;
    const char *id = json_get_str(cfg, "Id"), *name = json_get_str(cfg, "Name");
    if (!id || strlen(id) != CTR_ID_LEN || !name)
        return berr_set(err, 500, EINVAL, "config.json lacks Id or Name");
    struct container *c = ctr_new(id, name, root);
    if (!c)
        return berr_set(err, 500, ENOMEM, "out of memory");
    c->created_ns = get_ns(cfg, "Created");
    snprintf(c->image_id, sizeof(c->image_id), "%s", json_get_str(cfg, "Image") ?: "");
    c->image_name = strdup(json_get_str(cfg, "ImageName") ?: "");
    c->config = detach(doc, "Config");
    c->host_config = detach(doc, "HostConfig");
    c->net_config = detach(doc, "NetworkingConfig");
    state_from(state, &c->st);
    if (!c->config || ctr_hostcfg_parse(c->host_config, &c->hc, err) < 0) {
        ctr_unref(c);
        return err->status ? -EINVAL : berr_set(err, 500, EINVAL, "config.json lacks Config");
    }
    *ret = c;
    return 0;
}

static int load_doc(const char *dir, const char *file, cJSON **ret, struct berr *err)
{
    char path[4096];
    char *data = NULL;
    size_t len = 0;
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    if (read_file_all(path, DOC_MAX, &data, &len, err) < 0)
        return -EIO;
    *ret = cJSON_ParseWithLength(data, len);
    free(data);
    if (!*ret)
        return berr_set(err, 500, EINVAL, "%s: malformed JSON", path);
    return 0;
}

static int load_one(struct ctr_table *t, const char *id, struct berr *err)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/%s", t->root, id);
    cJSON *cfg = NULL, *state = NULL;
    struct container *c = NULL;
    int r = load_doc(dir, "config.json", &cfg, err);
    if (r == 0)
        r = load_doc(dir, "state.json", &state, err);
    if (r == 0)
        r = container_from(cfg, state, t->root, &c, err);
    cJSON_Delete(cfg);
    cJSON_Delete(state);
    if (r == 0 && ctr_table_add(t, c) < 0) {
        ctr_unref(c);
        r = berr_set(err, 500, ENOMEM, "out of memory");
    }
    return r;
}

int ctr_table_load_sync(struct ctr_table *t, struct strv *ret_warnings, struct berr *err)
{
    if (mkdir_p(t->root, 0710) < 0)
        return berr_errno(err, 500, errno, "creating %s", t->root);
    DIR *d = opendir(t->root);
    if (!d)
        return berr_errno(err, 500, errno, "opening %s", t->root);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strlen(de->d_name) != CTR_ID_LEN)
            continue;
        struct berr e = {0};
        if (load_one(t, de->d_name, &e) < 0) {
            char line[BERR_MSG_MAX + 100];
            snprintf(line, sizeof(line), "skipping container %.12s: %s", de->d_name, e.msg);
            strv_push(ret_warnings, line);
        }
    }
    closedir(d);
    return 0;
}
