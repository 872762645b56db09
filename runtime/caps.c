/* Capability names and Docker's CapAdd/CapDrop rules. The facts (names,
 * numbers, default set, rule order, messages) follow moby's oci/caps. */
#include "runtime/caps.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/macros.h"

/* Index = capability number (include/uapi/linux/capability.h). */
static const char *const cap_names[CAPS_COUNT] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

/* Longer than any capability name; longer input is unknown anyway. */
#define CAP_NAME_MAX 64

uint64_t caps_default_mask(void)
{
    return CAPS_BIT(0) /* CHOWN */ | CAPS_BIT(1) /* DAC_OVERRIDE */ | CAPS_BIT(4) /* FSETID */ |
           CAPS_BIT(3) /* FOWNER */ | CAPS_BIT(27) /* MKNOD */ | CAPS_BIT(13) /* NET_RAW */ |
           CAPS_BIT(6) /* SETGID */ | CAPS_BIT(7) /* SETUID */ | CAPS_BIT(31) /* SETFCAP */ |
           CAPS_BIT(8) /* SETPCAP */ | CAPS_BIT(10) /* NET_BIND_SERVICE */ |
           CAPS_BIT(18) /* SYS_CHROOT */ | CAPS_BIT(5) /* KILL */ | CAPS_BIT(29) /* AUDIT_WRITE */;
}

const char *caps_name(int cap)
{
    if (cap < 0 || cap > CAPS_LAST)
        return NULL;
    return cap_names[cap];
}

/* Docker's normalisation: upper-case, then add "CAP_" unless present. The
 * result is also what error messages quote. Returns false when too long. */
static bool normalize(const char *name, char out[CAP_NAME_MAX])
{
    char up[CAP_NAME_MAX];
    size_t n = strlen(name);
    if (n >= sizeof(up))
        return false;
    for (size_t i = 0; i <= n; i++)
        up[i] = (char)toupper((unsigned char)name[i]);
    int w = snprintf(out, CAP_NAME_MAX, "%s%s", strncmp(up, "CAP_", 4) == 0 ? "" : "CAP_", up);
    return w > 0 && w < CAP_NAME_MAX;
}

static int lookup_normalized(const char *norm)
{
    for (int i = 0; i <= CAPS_LAST; i++)
        if (strcmp(cap_names[i], norm) == 0)
            return i;
    return -EINVAL;
}

int caps_from_name(const char *name)
{
    char norm[CAP_NAME_MAX];
    if (!name || !normalize(name, norm))
        return -EINVAL;
    return lookup_normalized(norm);
}

int caps_parse_status(const char *status, const char *field, uint64_t *ret_mask)
{
    size_t flen = strlen(field);
    for (const char *line = status; line && *line; line = strchr(line, '\n')) {
        if (*line == '\n')
            line++;
        if (strncmp(line, field, flen) != 0 || line[flen] != ':')
            continue;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(line + flen + 1, &end, 16);
        if (errno != 0 || end == line + flen + 1)
            return -EINVAL;
        *ret_mask = (uint64_t)v;
        return 0;
    }
    return -ENOENT;
}

int caps_read_bounding(uint64_t *ret_mask)
{
    FILE *f = fopen("/proc/self/status", "re");
    if (!f)
        return -errno;
    char text[8192];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    int r = ferror(f) ? -EIO : 0;
    fclose(f);
    if (r < 0)
        return r;
    text[n] = '\0';
    return caps_parse_status(text, "CapBnd", ret_mask);
}

/* One name of CapAdd/CapDrop: sets *ret_all for "ALL", else the bit. Known
 * but unavailable capabilities are refused as dockerd refuses them. */
static int check_one(const char *name, uint64_t bounding, uint64_t *mask, bool *ret_all,
                     struct berr *err)
{
    char norm[CAP_NAME_MAX];
    if (strcasecmp(name, "ALL") == 0) {
        *ret_all = true;
        return 0;
    }
    if (!normalize(name, norm))
        return berr_set(err, 400, EINVAL, "unknown capability: \"%.200s\"", name);
    int cap = lookup_normalized(norm);
    if (cap < 0)
        return berr_set(err, 400, EINVAL, "unknown capability: \"%s\"", norm);
    if (!(bounding & CAPS_BIT(cap)))
        return berr_set(err, 400, EINVAL,
                        "capability not supported by your kernel or not available in the "
                        "current environment: \"%s\"",
                        norm);
    *mask |= CAPS_BIT(cap);
    return 0;
}

static int check_list(const char *const *names, size_t n, uint64_t bounding, uint64_t *ret_mask,
                      bool *ret_all, struct berr *err)
{
    *ret_mask = 0;
    *ret_all = false;
    for (size_t i = 0; i < n; i++) {
        int r = check_one(names[i], bounding, ret_mask, ret_all, err);
        if (r < 0)
            return r;
    }
    return 0;
}

int caps_compute(const char *const *add, size_t nadd, const char *const *drop, size_t ndrop,
                 bool privileged, uint64_t bounding, uint64_t *ret_mask, struct berr *err)
{
    bounding &= CAPS_ALL_KNOWN;
    if (privileged) {
        *ret_mask = bounding;
        return 0;
    }
    uint64_t addm, dropm;
    bool add_all, drop_all;
    /* Docker normalises drops before adds, so a bad drop is reported first. */
    int r = check_list(drop, ndrop, bounding, &dropm, &drop_all, err);
    if (r == 0)
        r = check_list(add, nadd, bounding, &addm, &add_all, err);
    if (r < 0)
        return r;
    uint64_t mask;
    if (add_all)
        mask = bounding & ~dropm;
    else if (drop_all)
        mask = addm;
    else
        mask = (caps_default_mask() & ~dropm) | addm;
    *ret_mask = mask & bounding;
    return 0;
}

size_t caps_to_names(uint64_t mask, const char **ret_names, size_t max)
{
    size_t n = 0;
    for (int i = 0; i <= CAPS_LAST; i++) {
        if (!(mask & CAPS_BIT(i)))
            continue;
        if (n < max)
            ret_names[n] = cap_names[i];
        n++;
    }
    return n;
}
