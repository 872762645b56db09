/* Copying a directory tree with ownership, modes, times, symlinks, device
 * nodes, xattrs and hardlinks kept (the vfs driver stacks layers by copy).
 * Blocking: workers only. */
#ifndef BERTH_STORAGE_FS_COPY_H
#define BERTH_STORAGE_FS_COPY_H

#include "common/berr.h"

/* Copies the contents of src into the existing directory dst. */
int fs_copy_tree(const char *src, const char *dst, struct berr *err);

#endif
