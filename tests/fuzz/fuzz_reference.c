/* libFuzzer target: image references (storage/reference.c). Every input is
 * parsed as a reference. A refusal must say why and leave the output alone;
 * an accepted reference must hold the grammar's invariants and survive the
 * round trips: the full string parses back to the same reference, and so
 * does the familiar string, except where Docker's familiar form is itself
 * ambiguous (see familiar_is_ambiguous). abort() marks a violation. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "storage/reference.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define POISON 0x5a

static bool same_ref(const struct image_ref *a, const struct image_ref *b)
{
    return strcmp(a->domain, b->domain) == 0 && strcmp(a->path, b->path) == 0 &&
           strcmp(a->tag, b->tag) == 0 && strcmp(a->digest, b->digest) == 0;
}

static bool terminated(const char *field, size_t size)
{
    return memchr(field, '\0', size) != NULL;
}

static bool is_prefix(const char *prefix, const char *s)
{
    return strncmp(prefix, s, strlen(prefix)) == 0;
}

static bool is_hex64(const char *s)
{
    return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/* What a parsed reference must look like, whatever the input was. */
static void check_fields(const struct image_ref *r)
{
    if (!terminated(r->domain, sizeof(r->domain)) || !terminated(r->path, sizeof(r->path)) ||
        !terminated(r->tag, sizeof(r->tag)) || !terminated(r->digest, sizeof(r->digest)))
        abort();
    if (!r->path[0] || strlen(r->path) > 255 || strcmp(ref_repository(r), r->path) != 0)
        abort();
    /* Without a domain the path must be one Docker would split the same
     * way again: it holds a '/' (see reference.c split_name). */
    if (!r->domain[0] && !strchr(r->path, '/'))
        abort();
    if (r->tag[0] && !ref_tag_valid(r->tag))
        abort();
    if (r->digest[0] && !ref_digest_valid(r->digest))
        abort();
}

static void parse_or_abort(const char *s, struct image_ref *ret)
{
    struct berr err = {0};
    if (ref_parse(s, ret, &err) != 0)
        abort();
}

static void check_full_round_trip(const struct image_ref *r)
{
    char full[REF_STRING_MAX], name[REF_STRING_MAX];
    struct image_ref again;
    ref_string(r, full, sizeof(full));
    ref_name(r, name, sizeof(name));
    if (strlen(full) >= sizeof(full) - 1 || !is_prefix(name, full))
        abort();
    parse_or_abort(full, &again);
    if (!same_ref(r, &again))
        abort();
}

/* Docker's familiar form drops "docker.io/", so a Hub path whose first
 * component looks like a registry ("docker.io/foo.com/x" shows as
 * "foo.com/x") reads back as another registry's name. */
static bool familiar_is_ambiguous(const struct image_ref *r, const char *fam_name)
{
    if (strcmp(r->domain, REF_DEFAULT_DOMAIN) != 0)
        return false;
    size_t first = strcspn(fam_name, "/");
    if (!fam_name[first])
        return false;
    return memchr(fam_name, '.', first) || memchr(fam_name, ':', first) ||
           (first == 9 && memcmp(fam_name, "localhost", 9) == 0);
}

static void check_familiar_round_trip(const struct image_ref *r)
{
    char fam[REF_STRING_MAX], fam_name[REF_STRING_MAX];
    struct image_ref again;
    struct berr err = {0};
    ref_familiar_string(r, fam, sizeof(fam));
    ref_familiar_name(r, fam_name, sizeof(fam_name));
    if (!is_prefix(fam_name, fam))
        abort();
    /* "docker.io/library/<64 hex>" shows as a bare ID, which Docker (and we)
     * refuse to read as a name. */
    if (is_hex64(fam)) {
        if (ref_parse(fam, &again, &err) != -EINVAL || !ref_is_full_id(fam))
            abort();
        return;
    }
    parse_or_abort(fam, &again);
    if (familiar_is_ambiguous(r, fam_name))
        check_full_round_trip(&again);
    else if (!same_ref(r, &again))
        abort();
}

static void check_default_tag(const struct image_ref *r)
{
    struct image_ref t = *r;
    ref_default_tag(&t);
    if (r->tag[0] || r->digest[0]) {
        if (!same_ref(r, &t))
            abort();
    } else if (strcmp(t.tag, REF_DEFAULT_TAG) != 0) {
        abort();
    }
}

/* A refusal is a 400 with a message and leaves the output untouched. */
static void check_refusal(const struct image_ref *r, const struct berr *err)
{
    if (err->status != 400 || !err->msg[0])
        abort();
    for (size_t i = 0; i < sizeof(*r); i++) {
        if (((const unsigned char *)r)[i] != POISON)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    struct image_ref r;
    struct berr err = {0};
    memset(&r, POISON, sizeof(r));
    int rc = ref_parse(s, &r, &err);
    if (rc == 0) {
        check_fields(&r);
        check_full_round_trip(&r);
        check_familiar_round_trip(&r);
        check_default_tag(&r);
    } else if (rc != -EINVAL) {
        abort();
    } else {
        check_refusal(&r, &err);
    }
    /* The standalone checks must not disagree with the parser. */
    if (ref_is_full_id(s) && strncmp(s, "sha256:", 7) != 0 && rc == 0)
        abort();
    (void)ref_digest_valid(s);
    (void)ref_tag_valid(s);
    free(s);
    return 0;
}
