#include "ctr_mounts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "common/buf.h"
#include "common/jsonutil.h"

/* Docker's tmpfs defaults (moby daemon/oci_linux.go). */
#define TMPFS_DEFAULT_FLAGS (MS_NOEXEC | MS_NOSUID | MS_NODEV)

struct mlist {
    struct ctr_mount *v;
    size_t n, cap;
};

static struct ctr_mount *mlist_add(struct mlist *l)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4;
        struct ctr_mount *v = realloc(l->v, cap * sizeof(*v));
        if (!v)
            return NULL;
        l->v = v;
        l->cap = cap;
    }
    memset(&l->v[l->n], 0, sizeof(l->v[0]));
    return &l->v[l->n++];
}

static bool is_propagation(const char *s)
{
    static const char *const p[] = {"rprivate", "private", "rshared", "shared", "rslave", "slave"};
    for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++)
        if (!strcmp(s, p[i]))
            return true;
    return false;
}

/* The mount(8) words Docker's tmpfs options accept as flags (moby's
 * mount.MergeTmpfsOptions): each sets and clears MS_* bits, the last word
 * for a bit wins. Propagation words are accepted and kept apart. */
static const struct {
    const char *name;
    unsigned long set, clear;
} tmpfs_words[] = {
    {"defaults", 0, 0},
    {"ro", MS_RDONLY, 0},
    {"rw", 0, MS_RDONLY},
    {"suid", 0, MS_NOSUID},
    {"nosuid", MS_NOSUID, 0},
    {"dev", 0, MS_NODEV},
    {"nodev", MS_NODEV, 0},
    {"exec", 0, MS_NOEXEC},
    {"noexec", MS_NOEXEC, 0},
    {"sync", MS_SYNCHRONOUS, 0},
    {"async", 0, MS_SYNCHRONOUS},
    {"dirsync", MS_DIRSYNC, 0},
    {"remount", 0, 0},
    {"mand", MS_MANDLOCK, 0},
    {"nomand", 0, MS_MANDLOCK},
    {"atime", 0, MS_NOATIME},
    {"noatime", MS_NOATIME, 0},
    {"diratime", 0, MS_NODIRATIME},
    {"nodiratime", MS_NODIRATIME, 0},
    {"bind", 0, 0},
    {"rbind", 0, 0},
    {"relatime", MS_RELATIME, 0},
    {"norelatime", 0, MS_RELATIME},
    {"strictatime", MS_STRICTATIME, 0},
    {"nostrictatime", 0, MS_STRICTATIME},
};

/* tmpfs's own options (moby's validFlags); anything else is refused. */
static bool tmpfs_data_key(const char *opt, size_t klen)
{
    static const char *const keys[] = {"size",      "mode",      "uid", "gid",
                                       "nr_inodes", "nr_blocks", "mpol"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strlen(keys[i]) == klen && !strncmp(opt, keys[i], klen))
            return true;
    return false;
}

static bool tmpfs_word(const char *opt, struct ctr_mount *m)
{
    for (size_t i = 0; i < sizeof(tmpfs_words) / sizeof(tmpfs_words[0]); i++) {
        if (!strcmp(opt, tmpfs_words[i].name)) {
            m->tmpfs_flags = (m->tmpfs_flags & ~tmpfs_words[i].clear) | tmpfs_words[i].set;
            return true;
        }
    }
    if (!is_propagation(opt))
        return false;
    free(m->propagation);
    m->propagation = strdup(opt);
    return true;
}

/* Go's %q of strings.SplitN(opt, "=", 2), which Docker prints. */
static int tmpfs_bad_option(const char *opt, struct berr *err)
{
    const char *eq = strchr(opt, '=');
    if (!eq)
        return berr_set(err, 400, EINVAL, "invalid tmpfs option [\"%s\"]", opt);
    return berr_set(err, 400, EINVAL, "invalid tmpfs option [\"%.*s\" \"%s\"]", (int)(eq - opt),
                    opt, eq + 1);
}

/* Keeps the last value of each tmpfs data key, in the order given. */
static void tmpfs_data_add(struct strv *data, const char *opt, size_t klen)
{
    for (size_t i = 0; i < data->n; i++) {
        if (!strncmp(data->v[i], opt, klen) && data->v[i][klen] == '=') {
            free(data->v[i]);
            data->v[i] = strdup(opt);
            return;
        }
    }
    strv_push(data, opt);
}

static int tmpfs_join(const struct strv *data, struct ctr_mount *m, struct berr *err)
{
    struct buf b = BUF_INIT;
    for (size_t i = 0; i < data->n; i++)
        buf_printf(&b, "%s%s", i ? "," : "", data->v[i] ? data->v[i] : "");
    int r = 0;
    if (data->n && !(m->tmpfs_options = strndup(b.data ? b.data : "", b.len)))
        r = berr_set(err, 500, ENOMEM, "out of memory");
    buf_done(&b);
    return r;
}

/* "--tmpfs /dst:opts": Docker's defaults, then each option in turn. */
static int tmpfs_parse_options(const char *opts, struct ctr_mount *m, struct berr *err)
{
    struct strv data = {0};
    char *copy = strdup(opts ? opts : ""), *save = NULL;
    int r = copy ? 0 : berr_set(err, 500, ENOMEM, "out of memory");
    m->tmpfs_flags = TMPFS_DEFAULT_FLAGS;
    for (char *o = copy ? strtok_r(copy, ",", &save) : NULL; r == 0 && o;
         o = strtok_r(NULL, ",", &save)) {
        size_t klen = strcspn(o, "=");
        if (tmpfs_word(o, m))
            continue;
        if (!o[klen] || !tmpfs_data_key(o, klen))
            r = tmpfs_bad_option(o, err);
        else
            tmpfs_data_add(&data, o, klen);
    }
    if (r == 0)
        r = tmpfs_join(&data, m, err);
    free(copy);
    strv_done(&data);
    return r;
}

static int check_target(const char *spec, const char *dst, struct berr *err)
{
    if (!dst || dst[0] != '/')
        return berr_set(err, 400, EINVAL,
                        "invalid mount config: invalid mount path: '%s' mount path must be "
                        "absolute",
                        dst ? dst : spec);
    if (!strcmp(dst, "/"))
        return berr_set(err, 400, EINVAL,
                        "invalid volume specification: '%s': invalid mount config: "
                        "destination can't be '/'",
                        spec);
    return 0;
}

/* One -v option: ro/rw, propagation, SELinux z/Z and nocopy (accepted). */
static int bind_option(struct ctr_mount *m, const char *spec, const char *opt, struct berr *err)
{
    if (!strcmp(opt, "ro"))
        m->readonly = true;
    else if (!strcmp(opt, "rw"))
        m->readonly = false;
    else if (is_propagation(opt)) {
        free(m->propagation);
        m->propagation = strdup(opt);
    } else if (strcmp(opt, "z") && strcmp(opt, "Z") && strcmp(opt, "nocopy"))
        return berr_set(err, 400, EINVAL, "invalid mode: %s", opt);
    (void)spec;
    return 0;
}

static int parse_bind_spec(const char *spec, struct ctr_mount *m, struct berr *err)
{
    char *copy = strdup(spec);
    if (!copy)
        return berr_set(err, 500, ENOMEM, "out of memory");
    char *save = NULL;
    char *src = strtok_r(copy, ":", &save);
    char *dst = strtok_r(NULL, ":", &save);
    char *opts = strtok_r(NULL, "", &save);
    int r = 0;
    if (!src || !dst || (opts && strchr(opts, ':')))
        r = berr_set(err, 400, EINVAL, "invalid volume specification: '%s'", spec);
    if (r == 0)
        r = check_target(spec, dst, err);
    m->type = src && src[0] == '/' ? MNT_BIND : MNT_VOLUME;
    m->from_binds = true;
    if (r == 0 && !(m->source = strdup(src)))
        r = berr_set(err, 500, ENOMEM, "out of memory");
    if (r == 0 && !(m->target = strdup(dst)))
        r = berr_set(err, 500, ENOMEM, "out of memory");
    for (char *o = opts ? strtok_r(opts, ",", &save) : NULL; r == 0 && o;
         o = strtok_r(NULL, ",", &save))
        r = bind_option(m, spec, o, err);
    free(copy);
    return r;
}

static int parse_binds(const cJSON *hc, struct mlist *l, struct berr *err)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(hc, "Binds");
    const cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        struct ctr_mount *m = mlist_add(l);
        if (!m)
            return berr_set(err, 500, ENOMEM, "out of memory");
        if (!cJSON_IsString(e))
            return berr_set(err, 400, EINVAL, "Binds must be a list of strings");
        if (parse_bind_spec(e->valuestring, m, err) < 0)
            return -EINVAL;
    }
    return 0;
}

static int mount_type(const char *t, enum ctr_mount_type *ret, struct berr *err)
{
    if (t && !strcmp(t, "bind"))
        *ret = MNT_BIND;
    else if (t && !strcmp(t, "tmpfs"))
        *ret = MNT_TMPFS;
    else if (t && !strcmp(t, "volume"))
        *ret = MNT_VOLUME;
    else
        return berr_set(err, 400, EINVAL, "invalid mount config: mount type unknown: \"%s\"",
                        t ? t : "");
    return 0;
}

/* TmpfsOptions.Options: [["exec"]] or [["noexec"]], nothing else (moby's
 * validateTmpfsOptions). */
static int tmpfs_api_options(const cJSON *opts, struct ctr_mount *m, struct berr *err)
{
    const cJSON *pair;
    cJSON_ArrayForEach(pair, opts)
    {
        int n = cJSON_GetArraySize(pair);
        const char *name = cJSON_GetStringValue(cJSON_GetArrayItem(pair, 0));
        if (!cJSON_IsArray(pair) || n < 1 || n > 2)
            return berr_set(err, 400, EINVAL,
                            "invalid mount config for type \"tmpfs\": invalid option array length");
        if (!name || (strcmp(name, "exec") && strcmp(name, "noexec")))
            return berr_set(err, 400, EINVAL,
                            "invalid mount config for type \"tmpfs\": invalid option: %s",
                            name ? name : "");
        tmpfs_word(name, m);
    }
    return 0;
}

static int tmpfs_opts_from(const cJSON *to, struct ctr_mount *m, struct berr *err)
{
    int64_t size = json_get_int64(to, "SizeBytes", 0);
    int64_t mode = json_get_int64(to, "Mode", 0);
    if (size < 0)
        return berr_set(err, 400, EINVAL, "invalid mount config: invalid tmpfs size");
    m->tmpfs_flags = TMPFS_DEFAULT_FLAGS | (m->readonly ? MS_RDONLY : 0);
    char buf[96] = "";
    int n = 0;
    if (size > 0)
        n = snprintf(buf, sizeof(buf), "size=%lld", (long long)size);
    if (mode > 0)
        snprintf(buf + n, sizeof(buf) - (size_t)n, "%smode=%llo", n ? "," : "",
                 (unsigned long long)mode);
    if (*buf && !(m->tmpfs_options = strdup(buf)))
        return berr_set(err, 500, ENOMEM, "out of memory");
    return tmpfs_api_options(cJSON_GetObjectItemCaseSensitive(to, "Options"), m, err);
}

static int parse_mount_obj(const cJSON *o, struct ctr_mount *m, struct berr *err)
{
    if (mount_type(json_get_str(o, "Type"), &m->type, err) < 0)
        return -EINVAL;
    const char *src = json_get_str(o, "Source");
    const char *dst = json_get_str(o, "Target");
    if (check_target(dst ? dst : "", dst, err) < 0)
        return -EINVAL;
    if (m->type == MNT_BIND && (!src || src[0] != '/'))
        return berr_set(err, 400, EINVAL,
                        "invalid mount config for type \"bind\": invalid mount path: '%s' "
                        "mount path must be absolute",
                        src ? src : "");
    if (m->type == MNT_TMPFS && src && *src)
        return berr_set(err, 400, EINVAL,
                        "invalid mount config for type \"tmpfs\": field Source must not be "
                        "specified");
    m->readonly = json_get_bool(o, "ReadOnly");
    const char *prop =
        json_get_str(cJSON_GetObjectItemCaseSensitive(o, "BindOptions"), "Propagation");
    if (prop && *prop && !is_propagation(prop))
        return berr_set(err, 400, EINVAL,
                        "invalid mount config for type \"%s\": invalid propagation mode: %s",
                        json_get_str(o, "Type"), prop);
    if ((src && *src && !(m->source = strdup(src))) || !(m->target = strdup(dst)) ||
        (prop && *prop && !(m->propagation = strdup(prop))))
        return berr_set(err, 500, ENOMEM, "out of memory");
    if (m->type == MNT_TMPFS)
        return tmpfs_opts_from(cJSON_GetObjectItemCaseSensitive(o, "TmpfsOptions"), m, err);
    return 0;
}

static int parse_mounts(const cJSON *hc, struct mlist *l, struct berr *err)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(hc, "Mounts"))
    {
        struct ctr_mount *m = mlist_add(l);
        if (!m)
            return berr_set(err, 500, ENOMEM, "out of memory");
        if (parse_mount_obj(e, m, err) < 0)
            return -EINVAL;
    }
    return 0;
}

static int parse_tmpfs(const cJSON *hc, struct mlist *l, struct berr *err)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(hc, "Tmpfs"))
    {
        struct ctr_mount *m = mlist_add(l);
        if (!m)
            return berr_set(err, 500, ENOMEM, "out of memory");
        m->type = MNT_TMPFS;
        m->from_tmpfs_map = true;
        if (check_target(e->string, e->string, err) < 0)
            return -EINVAL;
        const char *opts = cJSON_IsString(e) ? e->valuestring : "";
        if (!(m->target = strdup(e->string)))
            return berr_set(err, 500, ENOMEM, "out of memory");
        if (tmpfs_parse_options(opts, m, err) < 0)
            return -EINVAL;
    }
    return 0;
}

static int check_duplicates(const struct mlist *l, struct berr *err)
{
    for (size_t i = 0; i < l->n; i++)
        for (size_t j = i + 1; j < l->n; j++)
            if (!strcmp(l->v[i].target, l->v[j].target))
                return berr_set(err, 400, EINVAL, "Duplicate mount point: %s", l->v[i].target);
    return 0;
}

int ctr_mounts_parse(const cJSON *hc, struct ctr_mount **ret, size_t *ret_n, struct berr *err)
{
    struct mlist l = {0};
    int r = parse_binds(hc, &l, err);
    if (r == 0)
        r = parse_mounts(hc, &l, err);
    if (r == 0)
        r = parse_tmpfs(hc, &l, err);
    if (r == 0)
        r = check_duplicates(&l, err);
    if (r < 0) {
        ctr_mounts_free(l.v, l.n);
        return r;
    }
    *ret = l.v;
    *ret_n = l.n;
    return 0;
}

void ctr_mounts_free(struct ctr_mount *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(m[i].source);
        free(m[i].target);
        free(m[i].propagation);
        free(m[i].tmpfs_options);
    }
    free(m);
}
