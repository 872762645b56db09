/* The sealed memfd holding berth-init.
 *
 * Every container process starts by executing berth-init from this memfd, not
 * from a file on the host: a process in the container that opens
 * /proc/<pid>/exe for writing finds a sealed, read-only copy instead of a
 * host binary it could overwrite (CVE-2019-5736). The binary is embedded in
 * berthd at build time (runtime/init/CMakeLists.txt), so the daemon needs no
 * helper path on disk either. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/atomicfile.h"
#include "runtime/spawn.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

extern const unsigned char berth_init_bin[];
extern const size_t berth_init_bin_len;

static pthread_mutex_t memfd_lock = PTHREAD_MUTEX_INITIALIZER;
static int memfd = -1;

/* Kernels with vm.memfd_noexec want MFD_EXEC spelled out (and warn without
 * it); older kernels reject the unknown flag. */
static int memfd_open(void)
{
    unsigned flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
    int fd = memfd_create("berth-init", flags | MFD_EXEC);
    if (fd < 0 && errno == EINVAL)
        fd = memfd_create("berth-init", flags);
    return fd < 0 ? -errno : fd;
}

static int memfd_build(struct berr *err)
{
    int fd = memfd_open();
    if (fd < 0)
        return berr_errno(err, 500, -fd, "berth-init: memfd_create");
    int r = fd_write_all(fd, berth_init_bin, berth_init_bin_len);
    if (r == 0 && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL))
        r = -errno;
    if (r < 0) {
        close(fd);
        return berr_errno(err, 500, -r, "berth-init: seal memfd");
    }
    return fd;
}

int spawn__init_memfd(struct berr *err)
{
    pthread_mutex_lock(&memfd_lock);
    if (memfd < 0) {
        int fd = memfd_build(err);
        if (fd < 0) {
            pthread_mutex_unlock(&memfd_lock);
            return fd;
        }
        memfd = fd;
    }
    int fd = memfd;
    pthread_mutex_unlock(&memfd_lock);
    return fd;
}
