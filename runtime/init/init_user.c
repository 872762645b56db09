/* Docker's User resolution, done inside the container after pivot_root
 * through its own /etc/passwd and /etc/group, with runc's rules: a number
 * needs no entry (uid N without one gets gid 0), a name must have one; the
 * user's other groups come from /etc/group membership unless a group was
 * given; GroupAdd entries are names or numbers. glibc's getpwnam is not an
 * option: this binary is static and the NSS it would load is the host's. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "init.h"

#define ID_MAX     2147483647u
#define FIELDS     7
#define GROUPS_MAX 65536

struct pwent {
    bool found;
    uid_t uid;
    gid_t gid;
    char *name;
    char *home;
};

/* A database the image may have left out (no entries) but must not be able
 * to make us block on (a FIFO). */
static FILE *open_db(const char *path)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return NULL;
    }
    FILE *f = fdopen(fd, "r");
    if (!f)
        close(fd);
    return f;
}

static bool parse_id(const char *s, uint32_t *ret)
{
    uint64_t v = 0;
    if (!*s)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || (v = v * 10 + (uint64_t)(*s - '0')) > ID_MAX)
            return false;
    }
    *ret = (uint32_t)v;
    return true;
}

/* Splits a line at ':' in place; returns the field count. */
static int split(char *line, char **f)
{
    line[strcspn(line, "\n")] = '\0';
    int n = 0;
    for (char *p = line; n < FIELDS; n++) {
        f[n] = p;
        p = strchr(p, ':');
        if (!p)
            return n + 1;
        *p++ = '\0';
    }
    return n;
}

static bool pw_match(char **f, int n, const char *name, bool numeric, uint32_t id)
{
    uint32_t uid;
    if (n < 4 || !parse_id(f[2], &uid))
        return false;
    return numeric ? uid == id : strcmp(f[0], name) == 0;
}

static int passwd_find(const char *name, bool numeric, uint32_t id, struct pwent *ret)
{
    char *line = NULL, *f[FIELDS] = {0};
    size_t cap = 0;
    FILE *db = open_db("/etc/passwd");
    while (db && !ret->found && getline(&line, &cap, db) >= 0) {
        int n = split(line, f);
        uint32_t gid;
        if (!pw_match(f, n, name, numeric, id) || !parse_id(f[3], &gid))
            continue;
        ret->found = true;
        parse_id(f[2], &ret->uid);
        ret->gid = gid;
        ret->name = strdup(f[0]);
        ret->home = strdup(n > 5 && *f[5] ? f[5] : "/");
    }
    free(line);
    if (db)
        fclose(db);
    return (ret->found && (!ret->name || !ret->home)) ? -ENOMEM : 0;
}

/* Calls fn for every /etc/group entry (name, gid, members). */
static void group_each(bool (*fn)(char *name, gid_t gid, char *members, void *ud), void *ud)
{
    char *line = NULL, *f[FIELDS];
    size_t cap = 0;
    FILE *db = open_db("/etc/group");
    while (db && getline(&line, &cap, db) >= 0) {
        uint32_t gid;
        int n = split(line, f);
        if (n >= 3 && parse_id(f[2], &gid) && !fn(f[0], gid, n > 3 ? f[3] : "", ud))
            break;
    }
    free(line);
    if (db)
        fclose(db);
}

struct group_query {
    const char *name;
    bool found;
    gid_t gid;
};

static bool group_by_name(char *name, gid_t gid, char *members, void *ud)
{
    struct group_query *q = ud;
    (void)members;
    if (strcmp(name, q->name) != 0)
        return true;
    q->found = true;
    q->gid = gid;
    return false;
}

static int group_resolve(const char *arg, gid_t *ret)
{
    uint32_t id;
    if (parse_id(arg, &id)) {
        *ret = id;
        return 0;
    }
    struct group_query q = {.name = arg};
    group_each(group_by_name, &q);
    if (!q.found)
        return init_fail(ENOENT, "unable to find group %s: no matching entries in group file", arg);
    *ret = q.gid;
    return 0;
}

static int add_group(struct init_user *u, gid_t gid)
{
    for (size_t i = 0; i < u->n_groups; i++)
        if (u->groups[i] == gid)
            return 0;
    if (u->n_groups >= GROUPS_MAX)
        return init_fail(E2BIG, "too many groups");
    gid_t *g = realloc(u->groups, (u->n_groups + 1) * sizeof(*g));
    if (!g)
        return init_fail(ENOMEM, "groups: out of memory");
    u->groups = g;
    u->groups[u->n_groups++] = gid;
    return 0;
}

struct member_query {
    const char *user;
    struct init_user *u;
    int err;
};

static bool group_of_member(char *name, gid_t gid, char *members, void *ud)
{
    struct member_query *q = ud;
    (void)name;
    for (char *m = strtok(members, ","); m && gid != q->u->gid; m = strtok(NULL, ",")) {
        if (strcmp(m, q->user) == 0) {
            q->err = add_group(q->u, gid);
            break;
        }
    }
    return q->err == 0;
}

static int resolve_groups(const char *group_arg, const struct pwent *pw,
                          const char *const *group_add, struct init_user *u)
{
    int r = 0;
    if (group_arg && *group_arg)
        r = group_resolve(group_arg, &u->gid);
    /* The primary group is a supplementary one too, as in Docker since
     * CVE-2022-36109: otherwise a setgid program could shed it and get past
     * a file mode that denies that group. */
    if (r == 0)
        r = add_group(u, u->gid);
    if (r == 0 && !(group_arg && *group_arg) && pw->found) {
        struct member_query q = {.user = pw->name, .u = u};
        group_each(group_of_member, &q);
        r = q.err;
    }
    for (size_t i = 0; r == 0 && group_add && group_add[i]; i++) {
        gid_t gid = 0;
        r = group_resolve(group_add[i], &gid);
        if (r == 0)
            r = add_group(u, gid);
    }
    return r;
}

static int resolve(char *user_arg, const char *group_arg, const char *const *group_add,
                   struct init_user *u)
{
    uint32_t id = 0;
    bool numeric = !*user_arg || parse_id(user_arg, &id);
    struct pwent pw = {0};
    if (*user_arg && !numeric && strspn(user_arg, "0123456789") == strlen(user_arg))
        return init_fail(EINVAL, "uids and gids must be in range 0-%u", ID_MAX);
    int r = passwd_find(user_arg, numeric, id, &pw);
    if (r == 0 && !pw.found && !numeric)
        r = init_fail(ENOENT, "unable to find user %s: no matching entries in passwd file",
                      user_arg);
    if (r == 0) {
        u->uid = pw.found ? pw.uid : id;
        u->gid = pw.found ? pw.gid : 0;
        u->home = strdup(pw.found ? pw.home : "/");
        r = u->home ? resolve_groups(group_arg, &pw, group_add, u) : -ENOMEM;
    }
    free(pw.name);
    free(pw.home);
    return r == -ENOMEM ? init_fail(ENOMEM, "user: out of memory") : r;
}

int user_resolve(const char *spec, const char *const *group_add, struct init_user *ret)
{
    char *copy = strdup(spec ? spec : "");
    if (!copy)
        return init_fail(ENOMEM, "user: out of memory");
    char *group_arg = strchr(copy, ':');
    if (group_arg)
        *group_arg++ = '\0';
    memset(ret, 0, sizeof(*ret));
    int r = resolve(copy, group_arg, group_add, ret);
    free(copy);
    return r;
}
