/* What docker cp checks and looks up in a container's filesystem before
 * extracting into it: moby's read-only rules and copyUIDGID's owner, read
 * from the container's own /etc/passwd and /etc/group below its root fd
 * (never the host's, never through a symlink out of it). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "ctr_fs.h"
#include "storage/safe_path.h"

#define DB_MAX (4 * 1024 * 1024)

/* moby's HasResource: abs is dest or below it. */
static bool below(const char *dest, const char *abs)
{
    size_t n = strlen(dest);
    while (n > 1 && dest[n - 1] == '/')
        n--;
    if (n == 1)
        return true; /* a volume on "/" */
    return strncmp(dest, abs, n) == 0 && (abs[n] == '\0' || abs[n] == '/');
}

int ctr_fs_check_writable(const struct ctr_fs *fs, const char *abs, struct berr *err)
{
    const struct ctr_fs_mount *best = NULL;
    for (size_t i = 0; i < fs->nmounts; i++) {
        const struct ctr_fs_mount *m = &fs->mounts[i];
        if (m->is_volume && below(m->target, abs) &&
            (!best || strlen(m->target) > strlen(best->target)))
            best = m;
    }
    if (best && best->readonly)
        return berr_set(err, 400, EROFS, "mounted volume is marked read-only");
    if (!best && fs->readonly_rootfs)
        return berr_set(err, 400, EROFS, "container rootfs is marked read-only");
    return 0;
}

/* ---- /etc/passwd and /etc/group ---- */

/* The whole database file of the container ("" when it has none). */
static int read_db(int rootfd, const char *rel, struct buf *out)
{
    _cleanup_close_ int pfd = safe_open_in_root(rootfd, rel, O_PATH);
    struct stat st;
    if (pfd == -ENOENT)
        return 0;
    if (pfd < 0 || fstat(pfd, &st) < 0)
        return pfd < 0 ? pfd : -errno;
    if (!S_ISREG(st.st_mode)) /* a FIFO or a device must not make us block */
        return 0;
    char proc[64], block[8192];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
    _cleanup_close_ int fd = open(proc, O_RDONLY | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n;
    while ((n = read(fd, block, sizeof(block))) > 0)
        if (out->len + (size_t)n > DB_MAX || buf_append(out, block, (size_t)n) < 0)
            return -EFBIG;
    return n < 0 ? -errno : 0;
}

static bool parse_id(const char *s, int64_t *ret)
{
    char *end;
    if (!*s || *s < '0' || *s > '9')
        return false;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno || v > 2147483647ull)
        return false;
    *ret = (int64_t)v;
    return true;
}

/* The entry of db ("name:x:id:gid..." lines) whose name, or whose id when
 * numeric, is key: its third and fourth fields. */
static bool db_find(char *db, const char *key, bool numeric, int64_t id, int64_t *ret_id,
                    int64_t *ret_gid)
{
    for (char *save = NULL, *line = strtok_r(db, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char *f[4] = {line, NULL, NULL, NULL};
        for (int i = 1; i < 4 && f[i - 1]; i++)
            if ((f[i] = strchr(f[i - 1], ':')))
                *f[i]++ = '\0';
        int64_t v, g = 0;
        if (!f[2] || !parse_id(f[2], &v))
            continue;
        if (f[3] && !parse_id(strsep(&f[3], ":"), &g))
            g = 0; /* /etc/group: members, not a gid */
        if (numeric ? v == id : strcmp(f[0], key) == 0) {
            *ret_id = v;
            *ret_gid = g;
            return true;
        }
    }
    return false;
}

/* A name must have an entry; a number needs none (runc's rules). */
static int lookup(int rootfd, const char *rel, const char *key, int64_t *ret_id, int64_t *ret_gid,
                  struct berr *err)
{
    struct buf db = BUF_INIT;
    int64_t id = -1;
    bool numeric = parse_id(key, &id);
    int r = read_db(rootfd, rel, &db);
    if (r < 0) {
        buf_done(&db);
        return berr_errno(err, 500, -r, "reading /%s of the container", rel);
    }
    bool found = db.data && db_find(db.data, key, numeric, id, ret_id, ret_gid);
    buf_done(&db);
    if (found || numeric) {
        if (!found)
            *ret_id = id, *ret_gid = 0;
        return 0;
    }
    return berr_set(err, 500, ENOENT, "unable to find %s %s: no matching entries in %s file",
                    strcmp(rel, "etc/passwd") == 0 ? "user" : "group", key,
                    strcmp(rel, "etc/passwd") == 0 ? "passwd" : "group");
}

int ctr_fs_user_sync(const struct ctr_fs *fs, int rootfd, int64_t *ret_uid, int64_t *ret_gid,
                     struct berr *err)
{
    *ret_uid = *ret_gid = -1;
    if (!fs->user || !*fs->user)
        return 0;
    char user[256];
    snprintf(user, sizeof(user), "%s", fs->user);
    char *group = strchr(user, ':');
    if (group)
        *group++ = '\0';
    int64_t uid, gid, unused;
    if (lookup(rootfd, "etc/passwd", user, &uid, &gid, err) < 0)
        return -EIO;
    if (group && *group && lookup(rootfd, "etc/group", group, &gid, &unused, err) < 0)
        return -EIO;
    *ret_uid = uid;
    *ret_gid = gid;
    return 0;
}
