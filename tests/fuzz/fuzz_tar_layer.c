/* libFuzzer target: layer extraction (storage/layer_extract.c and its
 * parts). The input is a layer file (plain tar, gzip or zstd); it is
 * extracted into a fresh directory in both whiteout modes, the vfs run over
 * a small "lower" tree. After each run nothing may exist outside the root:
 * its parent directory holds the root alone, the outside names the seeds
 * aim at are absent, and no file in the root has a link outside it (a
 * hardlink to a host file). abort() otherwise, so libFuzzer keeps it.
 *
 * Header checksums of plain (uncompressed) inputs are recomputed before
 * the run, or nearly every mutation of a name would only reach libarchive's
 * checksum test.
 *
 * Layout: /tmp/berth-fuzz-tar.XXXXXX/{in, box/root}. Files are capped at
 * 8 MiB (RLIMIT_FSIZE, which also bounds libFuzzer's own logs) so a
 * decompression bomb cannot fill the disk. */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <ftw.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/layer_extract.h"
#include "storage/safe_path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char sandbox[64];
static char input[96];
static char box[96];
static char root[112];

/* Names the seeds use for escapes (../, absolute symlinks, hardlinks). */
static const char *const outside[] = {
    "/tmp/berth-fuzz-outside",
    "/berth-fuzz-outside",
    "/etc/berth-fuzz-outside",
};

static void sandbox_remove(void)
{
    int tmp = open("/tmp", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (tmp >= 0) {
        safe_remove_tree(tmp, sandbox + strlen("/tmp/"));
        close(tmp);
    }
}

static void sandbox_init(void)
{
    if (sandbox[0])
        return;
    snprintf(sandbox, sizeof(sandbox), "/tmp/berth-fuzz-tar.XXXXXX");
    if (!mkdtemp(sandbox))
        abort();
    atexit(sandbox_remove);
    snprintf(input, sizeof(input), "%s/in", sandbox);
    snprintf(box, sizeof(box), "%s/box", sandbox);
    snprintf(root, sizeof(root), "%s/root", box);
    if (mkdir(box, 0755) < 0)
        abort();
    struct rlimit fsize = {8 << 20, 8 << 20};
    signal(SIGXFSZ, SIG_IGN); /* writes past the cap fail with EFBIG instead */
    setrlimit(RLIMIT_FSIZE, &fsize);
}

/* Any 512-byte block with a ustar magic gets a valid checksum. */
static void fix_checksums(uint8_t *data, size_t size)
{
    if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b)
        return; /* gzip */
    if (size >= 4 && memcmp(data, "\x28\xb5\x2f\xfd", 4) == 0)
        return; /* zstd */
    for (size_t off = 0; off + 512 <= size; off += 512) {
        uint8_t *h = data + off;
        if (memcmp(h + 257, "ustar", 5) != 0)
            continue;
        memset(h + 148, ' ', 8);
        unsigned sum = 0;
        for (size_t i = 0; i < 512; i++)
            sum += h[i];
        snprintf((char *)h + 148, 8, "%06o", sum & 0777777);
    }
}

static void write_input(const uint8_t *data, size_t size)
{
    int fd = open(input, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        abort();
    for (size_t off = 0; off < size;) {
        ssize_t n = write(fd, data + off, size - off);
        if (n <= 0)
            abort();
        off += (size_t)n;
    }
    close(fd);
}

static void make_lower(void)
{
    static const char *const dirs[] = {"etc", "dir", "dir/sub"};
    static const char *const files[] = {"etc/passwd", "dir/a", "dir/sub/b", "top"};
    char p[256];
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", root, dirs[i]);
        mkdir(p, 0755);
    }
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", root, files[i]);
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0)
            close(fd);
    }
}

/* The box holds the root and nothing else; the outside names are absent. */
static void check_nothing_outside(void)
{
    DIR *d = opendir(box);
    if (!d)
        abort();
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, "root")) {
            fprintf(stderr, "escape: '%s' appeared next to the root\n", de->d_name);
            abort();
        }
    closedir(d);
    struct stat st;
    for (size_t i = 0; i < sizeof(outside) / sizeof(outside[0]); i++)
        if (lstat(outside[i], &st) == 0) {
            fprintf(stderr, "escape: '%s' exists\n", outside[i]);
            abort();
        }
}

/* Every link of every non-directory in the root is in the root. */
struct inode_seen {
    ino_t ino;
    nlink_t nlink;
};
static struct inode_seen *seen;
static size_t nseen, capseen;

static int seen_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)path;
    (void)flag;
    (void)ftw;
    if (S_ISDIR(st->st_mode))
        return 0;
    if (nseen == capseen) {
        capseen = capseen ? capseen * 2 : 256;
        seen = realloc(seen, capseen * sizeof(*seen));
        if (!seen)
            abort();
    }
    seen[nseen++] = (struct inode_seen){st->st_ino, st->st_nlink};
    return 0;
}

static int by_ino(const void *a, const void *b)
{
    const struct inode_seen *x = a, *y = b;
    return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static void check_links_inside(void)
{
    nseen = 0;
    if (nftw(root, seen_cb, 32, FTW_PHYS) != 0 || nseen == 0)
        return; /* nothing, or too deep for nftw: the other checks still ran */
    qsort(seen, nseen, sizeof(*seen), by_ino);
    for (size_t i = 0, j; i < nseen; i = j) {
        for (j = i; j < nseen && seen[j].ino == seen[i].ino; j++)
            ;
        if (seen[i].nlink > j - i) {
            fprintf(stderr, "escape: inode %lu has links outside the root\n",
                    (unsigned long)seen[i].ino);
            abort();
        }
    }
}

static void remove_root(void)
{
    int boxfd = open(box, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (boxfd < 0)
        abort();
    if (safe_remove_tree(boxfd, "root") < 0) {
        /* Deeper than safe_remove_tree goes: set it aside, start afresh. */
        static unsigned long n;
        char aside[160];
        snprintf(aside, sizeof(aside), "%s/aside-%lu", sandbox, n++);
        if (rename(root, aside) < 0)
            abort();
    }
    close(boxfd);
}

/* The overlay run resolves with openat2, the vfs run with the userspace
 * walk that stands in for it on old kernels: both resolvers see every input. */
static void run(enum whiteout_mode mode)
{
    safe_path__no_openat2 = mode == WHITEOUT_VFS;
    if (mkdir(root, 0755) < 0)
        abort();
    if (mode == WHITEOUT_VFS)
        make_lower();
    _Atomic uint64_t progress = 0;
    struct extract_opts opts = {.whiteouts = mode, .compression = -1, .progress_bytes = &progress};
    struct extract_result res;
    struct berr err = {0};
    int r = layer_extract(input, root, &opts, &res, &err);
    if (r < 0 && (err.status < 400 || err.msg[0] == '\0'))
        abort(); /* every failure carries a status and a message */
    if (r == 0 && strncmp(res.diff_id, "sha256:", 7) != 0)
        abort();
    check_nothing_outside();
    check_links_inside();
    remove_root();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sandbox_init();
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    fix_checksums(copy, size);
    write_input(copy, size);
    free(copy);
    run(WHITEOUT_OVERLAY);
    run(WHITEOUT_VFS);
    return 0;
}
