/* Image references, parsed and normalised exactly as Docker does
 * (distribution/reference: ParseNormalizedNamed, FamiliarName, ...).
 *
 *   busybox                   -> docker.io/library/busybox        (tag added by ref_default_tag)
 *   localhost:5000/foo/bar:1  -> localhost:5000/foo/bar:1
 *   alpine@sha256:<64 hex>    -> docker.io/library/alpine@sha256:...
 *
 * Bad input gives -EINVAL with the 400 message "invalid reference format"
 * (plus Docker's more precise messages where Docker has them, e.g.
 * "invalid reference format: repository name (library/Foo) must be lowercase"). */
#ifndef BERTH_STORAGE_REFERENCE_H
#define BERTH_STORAGE_REFERENCE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/berr.h"

#define REF_DOMAIN_MAX 256
#define REF_PATH_MAX   256
#define REF_TAG_MAX    129 /* 128 chars + NUL */
#define REF_DIGEST_MAX 136 /* algorithm:hex, e.g. sha256: + 64 hex */
#define REF_STRING_MAX (REF_DOMAIN_MAX + REF_PATH_MAX + REF_TAG_MAX + REF_DIGEST_MAX + 4)

#define REF_DEFAULT_DOMAIN "docker.io"
#define REF_DEFAULT_TAG    "latest"

struct image_ref {
    char domain[REF_DOMAIN_MAX]; /* "docker.io", "localhost:5000", "[::1]:5000" */
    char path[REF_PATH_MAX];     /* "library/busybox" */
    char tag[REF_TAG_MAX];       /* "" when absent */
    char digest[REF_DIGEST_MAX]; /* "" when absent, else "sha256:<hex>" */
};

/* ParseNormalizedNamed: adds docker.io and library/ where Docker would.
 * Rejects 64-hex strings (those are IDs, not names), uppercase repository
 * names, bad tags and digests. No default tag is added. */
int ref_parse(const char *s, struct image_ref *ret, struct berr *err);

/* Adds ":latest" when the reference has neither tag nor digest. */
void ref_default_tag(struct image_ref *r);

/* Full forms: "docker.io/library/busybox", with ":tag" and/or "@digest". */
void ref_name(const struct image_ref *r, char *out, size_t outlen);
void ref_string(const struct image_ref *r, char *out, size_t outlen);

/* Familiar forms (what the CLI prints): "busybox", "busybox:latest",
 * "localhost:5000/foo:1", "myuser/app@sha256:...". */
void ref_familiar_name(const struct image_ref *r, char *out, size_t outlen);
void ref_familiar_string(const struct image_ref *r, char *out, size_t outlen);

/* The repository path as the registry API wants it ("library/busybox"). */
const char *ref_repository(const struct image_ref *r);

/* True for "sha256:<64 lowercase hex>" (and other registered algorithms'
 * well-formed digests); the OCI digest grammar. */
bool ref_digest_valid(const char *digest);

/* True when s is a 64-hex image ID or "sha256:"+64 hex. */
bool ref_is_full_id(const char *s);

/* Validates a tag alone ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}). */
bool ref_tag_valid(const char *tag);

#endif
