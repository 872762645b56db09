/* Small filesystem helpers for storage code: path-level rm -rf, emptying a
 * directory and directory fsync. Blocking: workers or startup only. Removal
 * never follows a symlink (it removes the link), so a hostile tree below the
 * path cannot redirect it elsewhere. */
#ifndef BERTH_STORAGE_FSUTIL_H
#define BERTH_STORAGE_FSUTIL_H

#include <stdbool.h>

/* rm -rf path: the last component is removed whatever it is (a symlink is
 * unlinked, not followed); a missing path is success. 0 or -errno. */
int fs_rm_rf(const char *path);

/* Removes everything inside the directory path and keeps the directory.
 * 0 or -errno (-ENOTDIR when path is a symlink or not a directory). */
int fs_empty_dir(const char *path);

/* fsync of a directory, so a rename or unlink inside it is durable. */
int fs_fsync_dir(const char *path);

/* True when path is a directory (lstat: a symlink to one is not). */
bool fs_is_dir(const char *path);

#endif
