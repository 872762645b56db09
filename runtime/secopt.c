/* SecurityOpt parsing; facts (keys, separators, messages) from moby's
 * parseSecurityOpt and WithSeccomp. */
#include "runtime/secopt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Go's strconv.ParseBool. */
static int parse_bool(const char *s, bool *ret)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcmp(s, yes[i]) == 0 || strcmp(s, no[i]) == 0) {
            *ret = strcmp(s, yes[i]) == 0;
            return 0;
        }
    }
    return -EINVAL;
}

static int set_string(char **dst, const char *v)
{
    char *copy = strdup(v);
    if (!copy)
        return -ENOMEM;
    free(*dst);
    *dst = copy;
    return 0;
}

static int set_seccomp(struct secopt *o, const char *v)
{
    free(o->seccomp_profile);
    o->seccomp_profile = NULL;
    if (strcmp(v, "unconfined") == 0) {
        o->seccomp = SECOPT_SECCOMP_UNCONFINED;
        return 0;
    }
    if (*v == '\0' || strcmp(v, "builtin") == 0) {
        o->seccomp = SECOPT_SECCOMP_DEFAULT;
        return 0;
    }
    o->seccomp = SECOPT_SECCOMP_CUSTOM;
    return set_string(&o->seccomp_profile, v);
}

/* "key=value" (or the long-deprecated "key:value") with key known.
 * Returns 0, -EINVAL for a bad key or value, -ENOMEM. */
static int apply_kv(struct secopt *o, const char *key, size_t klen, const char *v)
{
    bool b;
#define KEY_IS(s) (klen == strlen(s) && strncmp(key, s, klen) == 0)
    if (KEY_IS("label"))
        return 0; /* SELinux is not enabled on this host: nothing to label */
    if (KEY_IS("apparmor"))
        return set_string(&o->apparmor_profile, v);
    if (KEY_IS("seccomp"))
        return set_seccomp(o, v);
    if (KEY_IS("no-new-privileges") && parse_bool(v, &b) == 0) {
        o->no_new_privs = b;
        return 0;
    }
    if (KEY_IS("writable-cgroups") && parse_bool(v, &b) == 0) {
        o->writable_cgroups = b;
        return 0;
    }
#undef KEY_IS
    return -EINVAL;
}

static int apply_one(struct secopt *o, const char *opt, struct berr *err)
{
    if (strcmp(opt, "no-new-privileges") == 0) {
        o->no_new_privs = true;
        return 0;
    }
    if (strcmp(opt, "writable-cgroups") == 0) {
        o->writable_cgroups = 1;
        return 0;
    }
    if (strcmp(opt, "disable") == 0)
        return 0; /* label=disable's short form */
    /* moby splits on '=' if there is one, else on ':'. */
    const char *sep = strchr(opt, '=');
    if (!sep)
        sep = strchr(opt, ':');
    if (!sep)
        return berr_set(err, 400, EINVAL, "invalid --security-opt 1: \"%.400s\"", opt);
    int r = apply_kv(o, opt, (size_t)(sep - opt), sep + 1);
    if (r == -ENOMEM)
        return berr_set(err, 500, ENOMEM, "out of memory");
    if (r < 0)
        return berr_set(err, 400, EINVAL, "invalid --security-opt 2: \"%.400s\"", opt);
    return 0;
}

int secopt_parse(const char *const *opts, size_t n, struct secopt *ret, struct berr *err)
{
    *ret = (struct secopt){.writable_cgroups = -1};
    for (size_t i = 0; i < n; i++) {
        int r = apply_one(ret, opts[i], err);
        if (r < 0) {
            secopt_done(ret);
            return r;
        }
    }
    return 0;
}

void secopt_done(struct secopt *o)
{
    if (!o)
        return;
    free(o->seccomp_profile);
    free(o->apparmor_profile);
    *o = (struct secopt){.writable_cgroups = -1};
}

bool secopt_wants_seccomp(const struct secopt *o, bool privileged)
{
    return !privileged && o->seccomp != SECOPT_SECCOMP_UNCONFINED;
}
