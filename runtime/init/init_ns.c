/* Joining existing namespaces: --ipc=container:X and friends in run mode,
 * every namespace of the container in exec mode. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "init.h"

/* All paths are opened before the first setns: once the mount namespace is
 * joined, /proc/<pid>/ns/... may name something else or nothing. */
static int open_all(const struct spawn_plan *plan, int *fds)
{
    for (size_t i = 0; i < plan->n_ns_join; i++) {
        const char *path = plan->ns_join[i].path;
        fds[i] = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
        if (fds[i] < 0)
            return init_fail_errno(path ? errno : EINVAL, "open namespace %s",
                                   path ? path : "(null)");
    }
    return 0;
}

static int join_pass(const struct spawn_plan *plan, const int *fds, bool mnt_pass)
{
    for (size_t i = 0; i < plan->n_ns_join; i++) {
        uint32_t type = plan->ns_join[i].nstype;
        if ((type == CLONE_NEWNS) != mnt_pass)
            continue;
        if (setns(fds[i], (int)type) < 0)
            return init_fail_errno(errno, "join namespace %s", plan->ns_join[i].path);
    }
    return 0;
}

int ns_join_all(const struct spawn_plan *plan, bool *ret_joined_pid)
{
    *ret_joined_pid = false;
    if (plan->n_ns_join == 0)
        return 0;
    int *fds = malloc(plan->n_ns_join * sizeof(*fds));
    if (!fds)
        return init_fail(ENOMEM, "namespaces: out of memory");
    for (size_t i = 0; i < plan->n_ns_join; i++)
        fds[i] = -1;
    int r = open_all(plan, fds);
    if (r == 0)
        r = join_pass(plan, fds, false);
    if (r == 0)
        r = join_pass(plan, fds, true);
    for (size_t i = 0; i < plan->n_ns_join; i++) {
        if (fds[i] >= 0)
            close(fds[i]);
        if (plan->ns_join[i].nstype == CLONE_NEWPID)
            *ret_joined_pid = true;
    }
    free(fds);
    return r;
}

int ns_loopback_up(const struct spawn_plan *plan)
{
    if (plan->mode != SPAWN_MODE_RUN || !(plan->clone_flags & CLONE_NEWNET))
        return 0;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return init_fail_errno(errno, "bring up the loopback: socket");
    int r = ioctl(fd, SIOCGIFFLAGS, &ifr);
    if (r == 0 && !(ifr.ifr_flags & IFF_UP)) {
        ifr.ifr_flags |= IFF_UP;
        r = ioctl(fd, SIOCSIFFLAGS, &ifr);
    }
    int e = errno;
    close(fd);
    return r < 0 ? init_fail_errno(e, "bring up the loopback") : 0;
}
