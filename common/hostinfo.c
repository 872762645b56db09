#include "hostinfo.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "macros.h"

const char *hostinfo_goarch(const char *machine)
{
    static const char *const map[][2] = {
        {"x86_64", "amd64"}, {"aarch64", "arm64"},   {"armv7l", "arm"},  {"i686", "386"},
        {"i386", "386"},     {"ppc64le", "ppc64le"}, {"s390x", "s390x"}, {"riscv64", "riscv64"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
        if (strcmp(map[i][0], machine) == 0)
            return map[i][1];
    }
    return machine;
}

/* Copies the value of KEY= from an os-release style file, unquoted. */
static void os_release_value(const char *key, char *out, size_t outlen)
{
    FILE *f = fopen("/etc/os-release", "re");
    if (!f)
        f = fopen("/usr/lib/os-release", "re");
    if (!f)
        return;
    char line[512];
    size_t klen = strlen(key);
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, key, klen) != 0 || line[klen] != '=')
            continue;
        char *v = line + klen + 1;
        v[strcspn(v, "\n")] = '\0';
        size_t n = strlen(v);
        if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
            v[n - 1] = '\0';
            v++;
        }
        snprintf(out, outlen, "%s", v);
        break;
    }
    fclose(f);
}

static int64_t meminfo_total(void)
{
    FILE *f = fopen("/proc/meminfo", "re");
    if (!f)
        return 0;
    char line[256];
    long long kb = 0;
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "MemTotal: %lld kB", &kb) == 1)
            break;
    }
    fclose(f);
    return (int64_t)kb * 1024;
}

static bool seccomp_supported(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    if (!f)
        return false;
    char line[256];
    bool yes = false;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "Seccomp:", 8) == 0) {
            yes = true;
            break;
        }
    }
    fclose(f);
    return yes;
}

void hostinfo_static(struct host_static *h)
{
    memset(h, 0, sizeof(*h));
    struct utsname u;
    if (uname(&u) == 0) {
        snprintf(h->kernel, sizeof(h->kernel), "%s", u.release);
        snprintf(h->machine, sizeof(h->machine), "%s", u.machine);
    }
    snprintf(h->goarch, sizeof(h->goarch), "%s", hostinfo_goarch(h->machine));
    if (gethostname(h->hostname, sizeof(h->hostname) - 1) < 0)
        snprintf(h->hostname, sizeof(h->hostname), "localhost");
    os_release_value("PRETTY_NAME", h->os_name, sizeof(h->os_name));
    os_release_value("VERSION_ID", h->os_version, sizeof(h->os_version));
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    h->ncpu = n > 0 ? (int)n : 1;
    h->mem_total = meminfo_total();
    h->seccomp = seccomp_supported();
}

static int count_dir_entries(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        n += de->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the fd opendir itself holds */
}

static bool read_flag(const char *path)
{
    char c = '0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    if (read(fd, &c, 1) != 1)
        c = '0';
    close(fd);
    return c == '1';
}

static int thread_count(void)
{
    return count_dir_entries("/proc/self/task") + 1;
}

static const char *fs_name(long type)
{
    switch ((unsigned long)type) {
    case 0xEF53:
        return "extfs";
    case 0x58465342:
        return "xfs";
    case 0x9123683E:
        return "btrfs";
    case 0x01021994:
        return "tmpfs";
    case 0x794c7630:
        return "overlayfs";
    case 0x2fc12fc1:
        return "zfs";
    default:
        return "unknown";
    }
}

void hostinfo_dynamic(const char *data_root, struct host_dynamic *d)
{
    memset(d, 0, sizeof(*d));
    d->nfd = count_dir_entries("/proc/self/fd");
    d->nthreads = thread_count();
    d->ipv4_forwarding = read_flag("/proc/sys/net/ipv4/ip_forward");
    d->bridge_nf_iptables = read_flag("/proc/sys/net/bridge/bridge-nf-call-iptables");
    d->bridge_nf_ip6tables = read_flag("/proc/sys/net/bridge/bridge-nf-call-ip6tables");
    struct statfs sf;
    snprintf(d->backing_fs, sizeof(d->backing_fs), "%s",
             statfs(data_root, &sf) == 0 ? fs_name(sf.f_type) : "unknown");
    /* overlay needs d_type: readdir of the data root shows whether it is filled in. */
    DIR *dir = opendir(data_root);
    if (dir) {
        struct dirent *de = readdir(dir);
        d->d_type = de && de->d_type != DT_UNKNOWN;
        closedir(dir);
    }
}
