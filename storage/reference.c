/* Image references, checked the way dockerd checks them so that the same
 * inputs are accepted and refusals carry the same message. Sources followed:
 * distribution/reference (regexp.go, normalize.go ParseNormalizedNamed and
 * splitDockerDomain, reference.go Parse, familiarizeName) and go-digest
 * (Digest.Validate with sha256, sha384 and sha512 registered).
 *
 *   reference := name [":" tag] ["@" digest]
 *   name      := [domain "/"] path
 *   domain    := (domain-name | "[" [a-fA-F0-9:]+ "]") [":" [0-9]+]
 *   path      := component ("/" component)*, at most 255 characters
 *   component := [a-z0-9]+ (("." | "_" | "__" | "-"+) [a-z0-9]+)*
 *   tag       := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
 *   digest    := algorithm ":" [0-9a-fA-F]{32,}
 *
 * Docker matches with regular expressions; here each piece is scanned by
 * hand. Nothing is copied before it has been measured, so arbitrarily long
 * input is safe and the fixed-size fields of struct image_ref never overflow.
 *
 * Known differences from dockerd. In a message only: Go lowercases with
 * Unicode tables, so a non-ASCII upper-case letter or invalid UTF-8 in a
 * repository name gets Docker's "must be lowercase" message, where here
 * only ASCII counts as upper case (both refuse the input: the grammar is
 * ASCII). In a result: Docker puts no limit on the length of a registry
 * domain, while ours must fit REF_DOMAIN_MAX (255 characters). */
#include "reference.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define HUB_PREFIX     "library/"
#define HUB_PREFIX_LEN (sizeof(HUB_PREFIX) - 1)
#define NAME_TOTAL_MAX 255 /* Docker's RepositoryNameTotalLengthMax */
#define TAG_LEN_MAX    128
#define DIGEST_HEX_MIN 32

/* A piece of the input: not NUL-terminated. */
struct span {
    const char *p;
    size_t n;
};

static struct span span_str(const char *s)
{
    return (struct span){s, strlen(s)};
}

static bool span_eq(struct span s, const char *lit)
{
    return s.n == strlen(lit) && memcmp(s.p, lit, s.n) == 0;
}

/* First occurrence of c, or NULL. */
static const char *span_chr(struct span s, char c)
{
    return s.n ? memchr(s.p, c, s.n) : NULL;
}

/* Last occurrence of c, or NULL. */
static const char *span_rchr(struct span s, char c)
{
    for (size_t i = s.n; i > 0; i--) {
        if (s.p[i - 1] == c)
            return s.p + i - 1;
    }
    return NULL;
}

static struct span span_before(struct span s, const char *at)
{
    return (struct span){s.p, (size_t)(at - s.p)};
}

static struct span span_after(struct span s, const char *at)
{
    return (struct span){at + 1, s.n - (size_t)(at + 1 - s.p)};
}

/* ---- character classes (ASCII only, independent of the C locale) ---- */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_lower(char c)
{
    return c >= 'a' && c <= 'z';
}

static bool is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

static bool is_alnum(char c)
{
    return is_digit(c) || is_lower(c) || is_upper(c);
}

static bool is_word(char c)
{
    return is_alnum(c) || c == '_';
}

static bool is_lower_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f');
}

static bool is_hex(char c)
{
    return is_lower_hex(c) || (c >= 'A' && c <= 'F');
}

static bool has_upper(struct span s)
{
    for (size_t i = 0; i < s.n; i++) {
        if (is_upper(s.p[i]))
            return true;
    }
    return false;
}

static bool all_of(struct span s, bool (*pred)(char))
{
    for (size_t i = 0; i < s.n; i++) {
        if (!pred(s.p[i]))
            return false;
    }
    return true;
}

/* ---- path (the repository name without its domain) ---- */

/* fold lets upper case through: Parse retries its regexp on the lowercased
 * input to tell "must be lowercase" from any other malformed name, and only
 * path characters are case-sensitive in the grammar. */
static bool path_alnum(char c, bool fold)
{
    return is_digit(c) || is_lower(c) || (fold && is_upper(c));
}

/* "." | "_" | "__" | "-"+ ; any other run (".." or "_-" or "$") is refused. */
static bool separator_valid(struct span s)
{
    if (s.n == 1)
        return s.p[0] == '.' || s.p[0] == '_' || s.p[0] == '-';
    if (s.n == 2 && s.p[0] == '_' && s.p[1] == '_')
        return true;
    for (size_t i = 0; i < s.n; i++) {
        if (s.p[i] != '-')
            return false;
    }
    return true;
}

/* Alternating runs of alphanumerics and separators, alphanumerics first and
 * last; an empty component is refused. */
static bool path_component_valid(struct span s, bool fold)
{
    size_t i = 0;
    for (;;) {
        size_t start = i;
        while (i < s.n && path_alnum(s.p[i], fold))
            i++;
        if (i == start)
            return false;
        if (i == s.n)
            return true;
        start = i;
        while (i < s.n && !path_alnum(s.p[i], fold))
            i++;
        if (i == s.n || !separator_valid((struct span){s.p + start, i - start}))
            return false;
    }
}

static bool path_valid(struct span s, bool fold)
{
    for (;;) {
        const char *slash = span_chr(s, '/');
        if (!slash)
            return path_component_valid(s, fold);
        if (!path_component_valid(span_before(s, slash), fold))
            return false;
        s = span_after(s, slash);
    }
}

/* ---- domain ---- */

/* [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9] */
static bool domain_component_valid(struct span s)
{
    if (s.n == 0 || !is_alnum(s.p[0]) || !is_alnum(s.p[s.n - 1]))
        return false;
    for (size_t i = 1; i + 1 < s.n; i++) {
        if (!is_alnum(s.p[i]) && s.p[i] != '-')
            return false;
    }
    return true;
}

static bool domain_name_valid(struct span s)
{
    for (;;) {
        const char *dot = span_chr(s, '.');
        if (!dot)
            return domain_component_valid(s);
        if (!domain_component_valid(span_before(s, dot)))
            return false;
        s = span_after(s, dot);
    }
}

static bool ipv6_char(char c)
{
    return is_hex(c) || c == ':';
}

/* "[" [a-fA-F0-9:]+ "]": deliberately no zone ("%eth0") and no embedded
 * IPv4, as Docker. */
static bool ipv6_valid(struct span s)
{
    return s.n >= 3 && s.p[0] == '[' && s.p[s.n - 1] == ']' &&
           all_of((struct span){s.p + 1, s.n - 2}, ipv6_char);
}

/* An empty port is no port; otherwise ":" and one or more digits (Docker
 * does not bound the value). */
static bool port_valid(struct span s)
{
    if (s.n == 0)
        return true;
    return s.n >= 2 && s.p[0] == ':' && all_of((struct span){s.p + 1, s.n - 1}, is_digit);
}

/* host [":" port]: a domain name ends at its first ':', an IPv6 address at
 * its first ']'. */
static bool domain_valid(struct span s)
{
    const char *end;
    if (s.n && s.p[0] == '[') {
        end = span_chr(s, ']');
        if (!end || !ipv6_valid(span_before(s, end + 1)))
            return false;
        end++;
    } else {
        end = span_chr(s, ':');
        if (!end)
            return domain_name_valid(s);
        if (!domain_name_valid(span_before(s, end)))
            return false;
    }
    return port_valid((struct span){end, s.n - (size_t)(end - s.p)});
}

/* ---- tag and digest ---- */

static bool tag_char(char c)
{
    return is_word(c) || c == '.' || c == '-';
}

static bool tag_valid(struct span s)
{
    return s.n >= 1 && s.n <= TAG_LEN_MAX && is_word(s.p[0]) &&
           all_of((struct span){s.p + 1, s.n - 1}, tag_char);
}

static bool is_letter(char c)
{
    return is_lower(c) || is_upper(c);
}

/* [A-Za-z][A-Za-z0-9]* ([-_+.] [A-Za-z][A-Za-z0-9]*)* */
static bool algorithm_valid(struct span s)
{
    size_t i = 0;
    for (;;) {
        if (i == s.n || !is_letter(s.p[i]))
            return false;
        for (i++; i < s.n && is_alnum(s.p[i]); i++)
            ;
        if (i == s.n)
            return true;
        if (s.p[i] != '-' && s.p[i] != '_' && s.p[i] != '+' && s.p[i] != '.')
            return false;
        i++;
    }
}

/* The digest as reference's regexp takes it: any algorithm, at least 128
 * bits of hex in either case. go-digest then narrows it (digest_problem). */
static bool digest_grammar_valid(struct span s)
{
    const char *colon = span_chr(s, ':');
    if (!colon)
        return false;
    struct span hex = span_after(s, colon);
    return algorithm_valid(span_before(s, colon)) && hex.n >= DIGEST_HEX_MIN && all_of(hex, is_hex);
}

/* The algorithms dockerd links in, with the hex length of their sums. */
static const struct {
    const char *name;
    size_t hex_len;
} registered_algorithms[] = {
    {"sha256", 64},
    {"sha384", 96},
    {"sha512", 128},
};

/* go-digest's Digest.Validate on a digest that passed digest_grammar_valid:
 * NULL when accepted, else go-digest's own error text. */
static const char *digest_problem(struct span d)
{
    const char *colon = span_chr(d, ':');
    struct span alg = span_before(d, colon);
    struct span hex = span_after(d, colon);
    for (size_t i = 0; i < sizeof(registered_algorithms) / sizeof(registered_algorithms[0]); i++) {
        if (!span_eq(alg, registered_algorithms[i].name))
            continue;
        if (hex.n != registered_algorithms[i].hex_len)
            return "invalid checksum digest length";
        return all_of(hex, is_lower_hex) ? NULL : "invalid checksum digest format";
    }
    /* go-digest tells a malformed digest from an unknown algorithm with its
     * own regexp; past reference's grammar the only thing that regexp still
     * refuses is upper case in the algorithm. */
    return has_upper(alg) ? "invalid checksum digest format" : "unsupported digest algorithm";
}

/* ---- Parse: name [":" tag] ["@" digest] ---- */

/* Empty tag or digest means absent: an empty one present is malformed. */
struct ref_parts {
    struct span name;
    struct span tag;
    struct span digest;
};

/* Neither a name nor a tag can hold '@', so the first '@' starts the digest.
 * A name holds ':' only in its domain, which a '/' always follows, so the
 * last ':' with no '/' after it starts the tag. This is the only split
 * under which Parse's anchored regexp can match. */
static bool split_parts(struct span s, struct ref_parts *ret)
{
    *ret = (struct ref_parts){.name = s};
    const char *at = span_chr(s, '@');
    if (at) {
        ret->digest = span_after(s, at);
        ret->name = span_before(s, at);
        if (!digest_grammar_valid(ret->digest))
            return false;
    }
    const char *colon = span_rchr(ret->name, ':');
    if (colon && !span_chr(span_after(ret->name, colon), '/')) {
        ret->tag = span_after(ret->name, colon);
        ret->name = span_before(ret->name, colon);
        if (!tag_valid(ret->tag))
            return false;
    }
    return true;
}

/* As anchoredNameRegexp: the first component is the domain when it is a
 * valid one and the rest a valid path; otherwise the whole name must be a
 * path. So "foo_bar.com/x" is a path with no domain, exactly as in Docker. */
static bool split_name(struct span name, bool fold, struct span *domain, struct span *path)
{
    const char *slash = span_chr(name, '/');
    if (slash && domain_valid(span_before(name, slash)) &&
        path_valid(span_after(name, slash), fold)) {
        *domain = span_before(name, slash);
        *path = span_after(name, slash);
        return true;
    }
    *domain = (struct span){name.p, 0};
    *path = name;
    return path_valid(name, fold);
}

/* ---- ParseNormalizedNamed ---- */

/* What splitDockerDomain hands to Parse, "<domain>/<remainder>", without
 * building it: for Docker Hub it is "docker.io/" ["library/"] rem, for any
 * other domain it is the input itself. */
struct normalized {
    bool hub;
    bool library;      /* "library/" goes in front of rem */
    struct span input; /* all of the input */
    struct span rem;   /* the remainder, without "library/" */
};

/* splitDockerDomain's guess that a first component names a registry. Upper
 * case counts because Hub namespaces cannot have it. */
static bool looks_like_domain(struct span first)
{
    return span_eq(first, "localhost") || span_chr(first, '.') || span_chr(first, ':') ||
           has_upper(first);
}

static void split_docker_domain(struct span in, struct normalized *ret)
{
    *ret = (struct normalized){.hub = true, .input = in, .rem = in};
    const char *slash = span_chr(in, '/');
    if (slash) {
        struct span first = span_before(in, slash);
        if (span_eq(first, "index.docker.io") || span_eq(first, REF_DEFAULT_DOMAIN)) {
            ret->rem = span_after(in, slash);
        } else if (looks_like_domain(first)) {
            ret->hub = false;
            ret->rem = span_after(in, slash);
        }
    }
    /* Only Hub's single-component names are official images. */
    ret->library = ret->hub && !span_chr(ret->rem, '/');
}

static int invalid_format(struct berr *err)
{
    return berr_set(err, 400, EINVAL, "invalid reference format");
}

/* Keeps a printed piece of user input within what a message can hold. */
static int msg_len(struct span s)
{
    return (int)(s.n < BERR_MSG_MAX ? s.n : BERR_MSG_MAX);
}

/* ParseNormalizedNamed's first check: upper case in the remainder up to its
 * first ':', shown with the "library/" it was given. */
static int check_lowercase(const struct normalized *nm, struct berr *err)
{
    const char *colon = span_chr(nm->rem, ':');
    struct span remote = colon ? span_before(nm->rem, colon) : nm->rem;
    if (!has_upper(remote))
        return 0;
    return berr_set(err, 400, EINVAL,
                    "invalid reference format: repository name (%s%.*s) must be lowercase",
                    nm->library ? HUB_PREFIX : "", msg_len(remote), remote.p);
}

struct match {
    struct ref_parts parts;
    struct span domain;
    struct span path; /* without the "library/" of nm->library */
};

static bool match(const struct normalized *nm, bool fold, struct match *m)
{
    if (!split_parts(nm->hub ? nm->rem : nm->input, &m->parts))
        return false;
    if (!nm->hub)
        return split_name(m->parts.name, fold, &m->domain, &m->path);
    m->domain = span_str(REF_DEFAULT_DOMAIN);
    m->path = m->parts.name;
    return path_valid(m->path, fold);
}

/* Parse's checks, in Parse's order, so the first failure gives Docker's
 * message. The domain limit is ours alone and comes last. */
static int parse_checked(const struct normalized *nm, struct match *m, struct berr *err)
{
    if (!match(nm, false, m)) {
        if (match(nm, true, m))
            return berr_set(err, 400, EINVAL, "repository name must be lowercase");
        return invalid_format(err);
    }
    if ((nm->library ? HUB_PREFIX_LEN : 0) + m->path.n > NAME_TOTAL_MAX)
        return berr_set(err, 400, EINVAL, "repository name must not be more than %d characters",
                        NAME_TOTAL_MAX);
    const char *problem = m->parts.digest.n ? digest_problem(m->parts.digest) : NULL;
    if (problem)
        return berr_set(err, 400, EINVAL, "%s", problem);
    if (m->domain.n >= REF_DOMAIN_MAX)
        return berr_set(err, 400, EINVAL,
                        "invalid reference format: registry domain must not be more than %d "
                        "characters",
                        REF_DOMAIN_MAX - 1);
    return 0;
}

/* Copies a and b, one after the other; the caller has checked the room. */
static void put(char *dst, struct span a, struct span b)
{
    /* An absent tag or digest is an empty span with no pointer. */
    if (a.n)
        memcpy(dst, a.p, a.n);
    if (b.n)
        memcpy(dst + a.n, b.p, b.n);
    dst[a.n + b.n] = '\0';
}

static void fill(const struct normalized *nm, const struct match *m, struct image_ref *ret)
{
    struct span none = {"", 0};
    memset(ret, 0, sizeof(*ret));
    put(ret->domain, none, m->domain);
    put(ret->path, nm->library ? span_str(HUB_PREFIX) : none, m->path);
    put(ret->tag, none, m->parts.tag);
    put(ret->digest, none, m->parts.digest);
}

/* [a-f0-9]{64}: an image ID, which Docker will not take for a name. */
static bool is_identifier(struct span s)
{
    return s.n == 64 && all_of(s, is_lower_hex);
}

int ref_parse(const char *s, struct image_ref *ret, struct berr *err)
{
    if (!s)
        return invalid_format(err);
    struct span in = span_str(s);
    if (is_identifier(in))
        return berr_set(err, 400, EINVAL,
                        "invalid repository name (%s), cannot specify 64-byte hexadecimal strings",
                        s);
    struct normalized nm;
    split_docker_domain(in, &nm);
    int r = check_lowercase(&nm, err);
    if (r < 0)
        return r;
    struct match m;
    r = parse_checked(&nm, &m, err);
    if (r < 0)
        return r;
    fill(&nm, &m, ret);
    return 0;
}

void ref_default_tag(struct image_ref *r)
{
    if (!r->tag[0] && !r->digest[0])
        memcpy(r->tag, REF_DEFAULT_TAG, sizeof(REF_DEFAULT_TAG));
}

/* ---- printing ---- */

static void format_ref(const char *domain, const char *path, const char *tag, const char *digest,
                       char *out, size_t outlen)
{
    if (!out || outlen == 0)
        return;
    snprintf(out, outlen, "%s%s%s%s%s%s%s", domain, *domain ? "/" : "", path, *tag ? ":" : "", tag,
             *digest ? "@" : "", digest);
}

/* familiarizeName: Hub loses its domain, and an official image its
 * "library/" (but "library/a/b" keeps it, as in Docker). Familiar forms are
 * for display: Docker's are ambiguous for a Hub path whose first component
 * looks like a domain ("docker.io/foo.com/x" shows as "foo.com/x"), and so
 * are ours. */
static void familiarize(const struct image_ref *r, const char **domain, const char **path)
{
    *domain = r->domain;
    *path = r->path;
    if (strcmp(r->domain, REF_DEFAULT_DOMAIN) != 0)
        return;
    *domain = "";
    if (strncmp(r->path, HUB_PREFIX, HUB_PREFIX_LEN) == 0 && !strchr(r->path + HUB_PREFIX_LEN, '/'))
        *path = r->path + HUB_PREFIX_LEN;
}

void ref_name(const struct image_ref *r, char *out, size_t outlen)
{
    format_ref(r->domain, r->path, "", "", out, outlen);
}

void ref_string(const struct image_ref *r, char *out, size_t outlen)
{
    format_ref(r->domain, r->path, r->tag, r->digest, out, outlen);
}

void ref_familiar_name(const struct image_ref *r, char *out, size_t outlen)
{
    const char *domain, *path;
    familiarize(r, &domain, &path);
    format_ref(domain, path, "", "", out, outlen);
}

void ref_familiar_string(const struct image_ref *r, char *out, size_t outlen)
{
    const char *domain, *path;
    familiarize(r, &domain, &path);
    format_ref(domain, path, r->tag, r->digest, out, outlen);
}

const char *ref_repository(const struct image_ref *r)
{
    return r->path;
}

/* ---- standalone checks ---- */

bool ref_digest_valid(const char *digest)
{
    if (!digest)
        return false;
    struct span d = span_str(digest);
    return digest_grammar_valid(d) && !digest_problem(d);
}

bool ref_is_full_id(const char *s)
{
    if (!s)
        return false;
    if (strncmp(s, "sha256:", 7) == 0)
        s += 7;
    return is_identifier(span_str(s));
}

bool ref_tag_valid(const char *tag)
{
    return tag && tag_valid(span_str(tag));
}
