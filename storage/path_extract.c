/* docker cp's upload through the layer extractor's member writer; see
 * path_extract.h. */
#include "path_extract.h"

#include <fcntl.h>
#include <unistd.h>

#include "layer_extract_int.h"

int path_extract(const char *src_path, int rootfd, const struct path_extract_opts *o,
                 struct berr *err)
{
    struct extract_ctx x = {
        .rootfd = fcntl(rootfd, F_DUPFD_CLOEXEC, 3),
        .whiteouts = WHITEOUT_OVERLAY, /* unused: literal */
        .stop = o->stop,
        .err = err,
        .name = "",
        .prefix = o->dest,
        .label = "archive",
        .literal = true,
        .no_overwrite_dir_nondir = o->no_overwrite_dir_nondir,
        .force_uid = o->uid,
        .force_gid = o->gid,
    };
    if (x.rootfd < 0)
        return berr_errno(err, 500, errno, "duplicating the root directory fd");
    struct layer_stream_opts so = {.stop = o->stop, .label = "archive", .more_filters = true};
    struct extract_result res;
    int r = extract_archive(&x, src_path, &so, &res);
    extract_ctx_done(&x);
    return r;
}
