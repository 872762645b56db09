/* libFuzzer target: the path matcher (server/router.c) with greedy
 * parameters, which routes_router() does not use yet.
 *
 * Input "PATTERN\nPATH" matches one pattern; a bare PATH is matched against
 * a fixed set shaped like Docker's routes. Oracle: a match must rebuild the
 * path exactly when its parameters are put back into the pattern. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const patterns[] = {
    "/_ping",
    "/containers/{id}/json",
    "/images/{name*}/json",
    "/images/{name*}/push",
    "/images/{name*}/tag",
    "/images/{name*}",
    "/distribution/{name*}/json",
    "/plugins/{name*}/{action}",
    "/{a*}/{b*}/x/{c}",
};

static bool is_param_segment(const char *s, size_t len)
{
    return len >= 3 && s[0] == '{' && s[len - 1] == '}';
}

/* Puts params back into pattern, segment by segment as the router reads it;
 * returns 0 when the result equals path. */
static int rebuild(const char *pattern, const char *const *params, size_t n, const char *path)
{
    size_t cap = strlen(pattern) + strlen(path) + 2, used = 0, k = 0;
    char *out = malloc(cap);
    if (!out)
        return 0;
    int r = 0;
    for (const char *p = pattern; *p == '/' && r == 0;) {
        p++;
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        const char *seg = p;
        if (is_param_segment(p, len)) {
            if (k >= n) {
                r = -1;
                break;
            }
            seg = params[k++];
            len = strlen(seg);
        }
        if (used + len + 2 > cap) {
            char *bigger = realloc(out, used + len + 2);
            if (!bigger) {
                free(out);
                return 0;
            }
            out = bigger;
            cap = used + len + 2;
        }
        out[used++] = '/';
        memcpy(out + used, seg, len);
        used += len;
        p += slash ? (size_t)(slash - p) : strlen(p);
    }
    out[used] = '\0';
    if (r == 0 && (k != n || strcmp(out, path) != 0))
        r = -1;
    free(out);
    return r;
}

static void match_one(const char *pattern, const char *path)
{
    /* The server sizes the parameter buffer from the decoded path the same way. */
    size_t scratch_len = strlen(path) + SRV_MAX_PARAMS + 1;
    char *scratch = malloc(scratch_len);
    const char *params[SRV_MAX_PARAMS];
    size_t n = 0;
    if (!scratch)
        return;
    if (srv_route_match_path(pattern, path, scratch, scratch_len, params, &n)) {
        if (n > SRV_MAX_PARAMS)
            abort();
        for (size_t i = 0; i < n; i++) {
            if (params[i][0] == '\0') {
                fprintf(stderr, "empty parameter %zu: '%s' ~ '%s'\n", i, pattern, path);
                abort();
            }
        }
        if (rebuild(pattern, params, n, path) < 0) {
            fprintf(stderr, "match does not rebuild the path: '%s' ~ '%s'\n", pattern, path);
            abort();
        }
    }
    free(scratch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (strlen(text) != size) {
        free(text); /* paths are C strings: the server rejects encoded NULs */
        return 0;
    }
    char *nl = strchr(text, '\n');
    if (nl) {
        *nl = '\0';
        match_one(text, nl + 1);
    } else {
        for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++)
            match_one(patterns[i], text);
    }
    free(text);
    return 0;
}
