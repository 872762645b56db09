/* Crash-safe metadata writes: temp file, fsync, rename, fsync of the directory.
 * A kill -9 at any moment leaves either the old file or the new one.
 * Blocking: call from a worker thread (or before the loop runs). */
#ifndef BERTH_COMMON_ATOMICFILE_H
#define BERTH_COMMON_ATOMICFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "berr.h"

int atomic_write_file(const char *path, const void *data, size_t len, mode_t mode,
                      struct berr *err);

/* A file that does not exist yet, in a directory this process just made
 * (O_EXCL: nothing older can be seen half-replaced, so no temp file). sync
 * fsyncs the file; make the names durable with one fsync_dir() for the
 * whole batch. */
int write_new_file(const char *path, const void *data, size_t len, mode_t mode, bool sync,
                   struct berr *err);
int fsync_dir(const char *dir, struct berr *err);

/* write(2) until all n bytes are out (EINTR retried): 0 or -errno (-EIO
 * if the kernel writes nothing). Blocking. */
int fd_write_all(int fd, const void *p, size_t n);

/* Reads a whole regular file of at most max bytes into a NUL-terminated heap
 * buffer. Blocking. */
int read_file_all(const char *path, size_t max, char **ret_data, size_t *ret_len, struct berr *err);

/* mkdir -p with the given mode for every created component. */
int mkdir_p(const char *path, mode_t mode);

#endif
