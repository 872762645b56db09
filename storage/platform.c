/* Platforms (os/architecture/variant) and the choice of an index entry,
 * following containerd's platforms package (Parse, Normalize, Only) as
 * moby's filterManifests uses it. */
#include "manifest.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>

#include "common/hostinfo.h"
#include "common/macros.h"

#define PLATFORM_FIELD_MAX sizeof(((struct platform *)0)->os)

/* Candidates Only() tries, best first; arm64/v9.9 needs 25. */
#define PLATFORM_VECTOR_MAX 32

/* Go lists every older variant of arm/vN or amd64/vN, however large N is;
 * variants above this one exist nowhere, so the lists start here. */
#define PLATFORM_VARIANT_TOP 16

static const char *const known_os[] = {
    "aix",   "android", "darwin", "dragonfly", "freebsd", "hurd",    "illumos", "ios",     "js",
    "linux", "nacl",    "netbsd", "openbsd",   "plan9",   "solaris", "wasip1",  "windows", "zos",
};

static const char *const known_arch[] = {
    "386",     "amd64",  "amd64p32", "arm",      "armbe",     "arm64",       "arm64be", "loong64",
    "mips",    "mipsle", "mips64",   "mips64le", "mips64p32", "mips64p32le", "ppc",     "ppc64",
    "ppc64le", "riscv",  "riscv64",  "s390",     "s390x",     "sparc",       "sparc64", "wasm",
};

static bool in_list(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(s, list[i]) == 0)
            return true;
    }
    return false;
}

static void lower_in_place(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

static void set_field(char dst[PLATFORM_FIELD_MAX], const char *src)
{
    snprintf(dst, PLATFORM_FIELD_MAX, "%s", src);
}

/* containerd's normalizeOS. */
static void normalize_os(char os[PLATFORM_FIELD_MAX])
{
    lower_in_place(os);
    if (!os[0])
        set_field(os, "linux");
    else if (strcmp(os, "macos") == 0)
        set_field(os, "darwin");
}

/* containerd's normalizeArch: aliases to Go's names, default and implied
 * variants ("arm" is v7, arm64 "v8" is no variant). */
static void normalize_arch(char arch[PLATFORM_FIELD_MAX], char variant[PLATFORM_FIELD_MAX])
{
    lower_in_place(arch);
    lower_in_place(variant);
    if (strcmp(arch, "i386") == 0) {
        set_field(arch, "386");
        variant[0] = '\0';
    } else if (strcmp(arch, "x86_64") == 0 || strcmp(arch, "x86-64") == 0 ||
               strcmp(arch, "amd64") == 0) {
        set_field(arch, "amd64");
        if (strcmp(variant, "v1") == 0)
            variant[0] = '\0';
    } else if (strcmp(arch, "aarch64") == 0 || strcmp(arch, "arm64") == 0) {
        set_field(arch, "arm64");
        if (strcmp(variant, "8") == 0 || strcmp(variant, "v8") == 0 || strcmp(variant, "v8.0") == 0)
            variant[0] = '\0';
        else if (strcmp(variant, "9") == 0 || strcmp(variant, "9.0") == 0 ||
                 strcmp(variant, "v9.0") == 0)
            set_field(variant, "v9");
    } else if (strcmp(arch, "armhf") == 0) {
        set_field(arch, "arm");
        set_field(variant, "v7");
    } else if (strcmp(arch, "armel") == 0) {
        set_field(arch, "arm");
        set_field(variant, "v6");
    } else if (strcmp(arch, "arm") == 0) {
        if (!variant[0] || strcmp(variant, "7") == 0)
            set_field(variant, "v7");
        else if (strcmp(variant, "5") == 0 || strcmp(variant, "6") == 0 ||
                 strcmp(variant, "8") == 0)
            snprintf(variant, PLATFORM_FIELD_MAX, "v%c", variant[0]);
    }
}

/* containerd's Normalize. */
static void normalize(struct platform *p)
{
    normalize_os(p->os);
    normalize_arch(p->architecture, p->variant);
}

void platform_host(struct platform *ret)
{
    memset(ret, 0, sizeof(*ret));
    set_field(ret->os, "linux");
    struct utsname u;
    if (uname(&u) < 0)
        snprintf(u.machine, sizeof(u.machine), "x86_64");
    const char *m = u.machine;
    if (strncmp(m, "armv", 4) == 0 && isdigit((unsigned char)m[4])) {
        /* 32-bit arm: the variant is the ISA version (armv7l -> arm/v7). */
        set_field(ret->architecture, "arm");
        snprintf(ret->variant, sizeof(ret->variant), "v%c", m[4]);
        return;
    }
    set_field(ret->architecture, hostinfo_goarch(m));
    normalize_arch(ret->architecture, ret->variant);
    if (strcmp(ret->architecture, "arm64") == 0)
        set_field(ret->variant, "v8"); /* as platforms.DefaultSpec() on arm64 */
}

void platform_string(const struct platform *p, char *out, size_t outlen)
{
    if (!outlen)
        return;
    if (!p->os[0]) {
        snprintf(out, outlen, "unknown");
        return;
    }
    int n = snprintf(out, outlen, "%s", p->os);
    if (p->architecture[0] && n >= 0 && (size_t)n < outlen)
        n += snprintf(out + n, outlen - (size_t)n, "/%s", p->architecture);
    if (p->variant[0] && n >= 0 && (size_t)n < outlen)
        snprintf(out + n, outlen - (size_t)n, "/%s", p->variant);
}

/* Component syntax of containerd's specifierRe: ^[A-Za-z0-9_.-]+$. */
static bool valid_component(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!isalnum((unsigned char)c) && c != '_' && c != '.' && c != '-')
            return false;
    }
    return true;
}

/* containerd's platforms.Parse ("os", "arch", "os/arch" or
 * "os/arch/variant"); "" is the host platform. */
int platform_parse(const char *s, struct platform *ret, struct berr *err)
{
    if (!s || !*s) {
        platform_host(ret);
        return 0;
    }
    char parts[3][PLATFORM_FIELD_MAX];
    size_t nparts = 0;
    for (const char *p = s;; nparts++) {
        size_t n = strcspn(p, "/");
        if (nparts == 3)
            return berr_set(err, 400, EINVAL,
                            "\"%.80s\": cannot parse platform specifier: invalid argument", s);
        if (!valid_component(p, n))
            return berr_set(err, 400, EINVAL,
                            "\"%.*s\" is an invalid component of \"%.80s\": platform specifier "
                            "component must match \"^[A-Za-z0-9_.-]+$\": invalid argument",
                            (int)(n > 80 ? 80 : n), p, s);
        if (n >= PLATFORM_FIELD_MAX)
            return berr_set(err, 400, EINVAL, "\"%.80s\": platform component is too long", s);
        memcpy(parts[nparts], p, n);
        parts[nparts][n] = '\0';
        lower_in_place(parts[nparts]);
        if (!p[n]) {
            nparts++;
            break;
        }
        p += n + 1;
    }

    struct platform host, out;
    memset(&out, 0, sizeof(out));
    platform_host(&host);
    if (nparts == 1) {
        /* An OS alone gets the host's architecture, an architecture alone
         * the host's OS (linux). */
        set_field(out.os, parts[0]);
        normalize_os(out.os);
        if (in_list(out.os, known_os, ARRAY_SIZE(known_os))) {
            set_field(out.architecture, host.architecture);
            if (strcmp(host.architecture, "arm") == 0 && strcmp(host.variant, "v7") != 0)
                set_field(out.variant, host.variant);
        } else {
            set_field(out.architecture, parts[0]);
            normalize_arch(out.architecture, out.variant);
            if (strcmp(out.architecture, "arm") == 0 && strcmp(out.variant, "v7") == 0)
                out.variant[0] = '\0';
            if (!in_list(out.architecture, known_arch, ARRAY_SIZE(known_arch)))
                return berr_set(err, 400, EINVAL,
                                "\"%.80s\": unknown operating system or architecture: invalid "
                                "argument",
                                s);
            set_field(out.os, host.os);
        }
    } else {
        set_field(out.os, parts[0]);
        normalize_os(out.os);
        set_field(out.architecture, parts[1]);
        if (nparts == 3)
            set_field(out.variant, parts[2]);
        normalize_arch(out.architecture, out.variant);
        /* Parse keeps an explicit arm64/v8 and drops the implied arm/v7. */
        if (nparts == 2 && strcmp(out.architecture, "arm") == 0 && strcmp(out.variant, "v7") == 0)
            out.variant[0] = '\0';
        if (nparts == 3 && strcmp(out.architecture, "arm64") == 0 && !out.variant[0])
            set_field(out.variant, "v8");
    }
    *ret = out;
    return 0;
}

/* ---- matching ---------------------------------------------------------- */

struct pvector {
    struct platform p[PLATFORM_VECTOR_MAX];
    size_t n;
};

static void vec_add(struct pvector *v, const struct platform *base, const char *arch,
                    const char *variant)
{
    if (v->n >= PLATFORM_VECTOR_MAX)
        return;
    struct platform *p = &v->p[v->n++];
    set_field(p->os, base->os);
    set_field(p->architecture, arch);
    set_field(p->variant, variant);
    normalize(p); /* as NewMatcher normalises each candidate */
}

/* Go's strconv.Atoi on a version number: -1 unless all digits and
 * within int64. */
static int64_t small_atoi(const char *s, size_t n)
{
    if (n == 0)
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]) || __builtin_mul_overflow(v, 10, &v) ||
            __builtin_add_overflow(v, s[i] - '0', &v))
            return -1;
    }
    return v;
}

static void vec_arm(struct pvector *v, const struct platform *base, const char *variant)
{
    vec_add(v, base, "arm", variant);
    int64_t ver = variant[0] == 'v' ? small_atoi(variant + 1, strlen(variant + 1)) : -1;
    if (ver > 5) {
        for (ver = ver - 1 > PLATFORM_VARIANT_TOP ? PLATFORM_VARIANT_TOP : ver - 1; ver >= 5;
             ver--) {
            char var[16];
            snprintf(var, sizeof(var), "v%d", (int)ver);
            vec_add(v, base, "arm", var);
        }
    }
}

static void vec_arm64(struct pvector *v, const struct platform *p)
{
    char variant[PLATFORM_FIELD_MAX];
    set_field(variant, p->variant[0] ? p->variant : "v8");
    const char *dot = strchr(variant, '.');
    const char *major_s = variant[0] == 'v' ? variant + 1 : variant;
    size_t major_len = dot ? (size_t)(dot - major_s) : strlen(major_s);
    int64_t major64 = small_atoi(major_s, major_len);
    if (major64 >= 8) {
        /* Only four-character "vM.m" has a minor, so the loops stay short. */
        int major = major64 > 1000 ? 1000 : (int)major64;
        int minor = 0;
        if (strlen(variant) == 4 && dot) {
            int64_t m = small_atoi(dot + 1, strlen(dot + 1));
            if (m >= 0)
                minor = (int)m;
        }
        char var[32];
        if (major == 9) {
            for (int i = minor - 1; i >= 0; i--) {
                snprintf(var, sizeof(var), i ? "v9.%d" : "v9", i);
                vec_add(v, p, "arm64", var);
            }
            /* v9.0 diverged from v8.5: v9.x also runs v8.{x+5} (max v8.9). */
            minor = minor + 5 > 9 ? 9 : minor + 5;
            major = 8;
            snprintf(var, sizeof(var), "v8.%d", minor);
            vec_add(v, p, "arm64", var);
        }
        for (int i = minor - 1; i >= 0; i--) {
            snprintf(var, sizeof(var), i ? "v%d.%d" : "v%d", major, i);
            vec_add(v, p, "arm64", var);
        }
    }
    /* Every arm64 runs 32-bit arm/v8 and below. */
    if (strncmp(variant, "v8.", 3) == 0 || strncmp(variant, "v9.", 3) == 0)
        set_field(variant, "v8");
    vec_arm(v, p, variant);
}

/* containerd's platformVector: the wanted platform, then those it can
 * also run, best first (Only()). p is normalised. */
static void platform_vector(const struct platform *p, struct pvector *v)
{
    v->n = 0;
    if (strcmp(p->architecture, "arm") == 0) {
        vec_arm(v, p, p->variant);
        return;
    }
    vec_add(v, p, p->architecture, p->variant);
    if (strcmp(p->architecture, "amd64") == 0) {
        int64_t ver =
            p->variant[0] == 'v' ? small_atoi(p->variant + 1, strlen(p->variant + 1)) : -1;
        if (ver > 1) {
            for (ver = ver - 1 > PLATFORM_VARIANT_TOP ? PLATFORM_VARIANT_TOP : ver - 1; ver >= 1;
                 ver--) {
                char var[16];
                snprintf(var, sizeof(var), "v%d", (int)ver);
                vec_add(v, p, "amd64", var);
            }
        }
        vec_add(v, p, "386", "");
    } else if (strcmp(p->architecture, "arm64") == 0) {
        vec_arm64(v, p);
    }
}

static bool platform_equal(const struct platform *a, const struct platform *b)
{
    return strcmp(a->os, b->os) == 0 && strcmp(a->architecture, b->architecture) == 0 &&
           strcmp(a->variant, b->variant) == 0;
}

/* Entries moby could pull as an image for a platform: manifests and
 * nested indexes (or no type at all, resolved when fetched). */
static bool selectable_type(const char *mt)
{
    static const char *const types[] = {MT_DOCKER_MANIFEST, MT_OCI_MANIFEST, MT_DOCKER_LIST,
                                        MT_OCI_INDEX};
    if (!mt[0])
        return true;
    for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
        if (strcasecmp(mt, types[i]) == 0)
            return true;
    }
    return false;
}

/* The rank of an entry in the vector (lower is better); entries without a
 * platform match anything, after every platform that does; -1: no match. */
static long entry_rank(const struct descriptor *d, const struct pvector *v)
{
    if (!selectable_type(d->media_type))
        return -1;
    const struct platform *ep = &d->platform;
    if (!d->has_platform || (!ep->os[0] && !ep->architecture[0] && !ep->variant[0]))
        return (long)v->n;
    /* Attestation manifests (buildkit): never an image to run. */
    if (strcasecmp(ep->os, "unknown") == 0 && strcasecmp(ep->architecture, "unknown") == 0)
        return -1;
    struct platform norm = *ep;
    normalize(&norm);
    for (size_t i = 0; i < v->n; i++) {
        if (platform_equal(&norm, &v->p[i]))
            return (long)i;
    }
    return -1;
}

int manifest_select(const struct manifest *index, const struct platform *want,
                    const struct descriptor **ret, struct berr *err)
{
    if (!index || index->kind != MANIFEST_INDEX)
        return berr_set(err, 400, EINVAL, "not a manifest list or image index");
    /* moby's withDefault: what is not asked for is the host's. */
    struct platform host, req;
    platform_host(&host);
    req = want && want->os[0] ? *want : host;
    if (!req.architecture[0]) {
        set_field(req.architecture, host.architecture);
        set_field(req.variant, host.variant);
    }
    struct platform norm = req;
    normalize(&norm);
    struct pvector v;
    platform_vector(&norm, &v);

    const struct descriptor *best = NULL;
    long best_rank = -1;
    for (size_t i = 0; i < index->nmanifests; i++) {
        long rank = entry_rank(&index->manifests[i], &v);
        if (rank >= 0 && (!best || rank < best_rank)) {
            best = &index->manifests[i];
            best_rank = rank;
        }
    }
    if (!best) {
        char name[3 * PLATFORM_FIELD_MAX + 4];
        platform_string(&req, name, sizeof(name));
        return berr_set(err, 404, ENOENT,
                        "no matching manifest for %s in the manifest list entries", name);
    }
    *ret = best;
    return 0;
}
