/* storage/reference.c: image references as Docker parses them. Most vectors
 * come from distribution/reference's normalize_test.go, reference_test.go and
 * regexp_test.go, restated for ParseNormalizedNamed (which is what dockerd
 * and the CLI call), plus edge cases of our own. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/macros.h"
#include "storage/reference.h"

#define F64  "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
#define HEX1 "dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c"
#define HEX2 "86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa"
#define ID64 "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a"
#define UP64 "7EC43B381E5AEFE6E04EFB0B3F0693FF2A4A50652D64AEC573905F2DB5889A1C"

#define BAD     "invalid reference format"
#define TOOLONG "repository name must not be more than 255 characters"

/* ---- helpers ---- */

static void parse_ok(const char *s, struct image_ref *r)
{
    struct berr err = {0};
    int rc = ref_parse(s, r, &err);
    if (rc != 0)
        fail_msg("'%s' refused: %s", s, err.msg);
    assert_int_equal(err.status, 0);
}

/* Refused with exactly msg; the output struct is left alone. */
static void parse_fails(const char *s, const char *msg)
{
    struct image_ref r;
    memset(&r, 0x5a, sizeof(r));
    struct berr err = {0};
    int rc = ref_parse(s, &r, &err);
    if (rc == 0)
        fail_msg("'%s' accepted", s);
    assert_int_equal(rc, -EINVAL);
    assert_int_equal(err.status, 400);
    if (strcmp(err.msg, msg) != 0)
        fail_msg("'%s': got message '%s', want '%s'", s, err.msg, msg);
    for (size_t i = 0; i < sizeof(r); i++)
        assert_int_equal(((unsigned char *)&r)[i], 0x5a);
}

/* n copies of unit, then tail, into out (which must be big enough). */
static const char *rep(char *out, size_t cap, const char *unit, size_t n, const char *tail)
{
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        strncat(out, unit, cap - strlen(out) - 1);
    strncat(out, tail, cap - strlen(out) - 1);
    return out;
}

/* ---- accepted references ---- */

struct good {
    const char *in;
    const char *domain;
    const char *path;
    const char *tag;
    const char *digest;
    const char *full;     /* ref_string */
    const char *familiar; /* ref_familiar_string */
};

static const struct good good[] = {
    /* normalize_test.go TestValidateReferenceName / TestParseRepositoryInfo */
    {"docker/docker", "docker.io", "docker/docker", "", "", "docker.io/docker/docker",
     "docker/docker"},
    {"library/debian", "docker.io", "library/debian", "", "", "docker.io/library/debian", "debian"},
    {"debian", "docker.io", "library/debian", "", "", "docker.io/library/debian", "debian"},
    {"docker.io/docker/docker", "docker.io", "docker/docker", "", "", "docker.io/docker/docker",
     "docker/docker"},
    {"docker.io/library/debian", "docker.io", "library/debian", "", "", "docker.io/library/debian",
     "debian"},
    {"docker.io/debian", "docker.io", "library/debian", "", "", "docker.io/library/debian",
     "debian"},
    {"index.docker.io/docker/docker", "docker.io", "docker/docker", "", "",
     "docker.io/docker/docker", "docker/docker"},
    {"index.docker.io/library/debian", "docker.io", "library/debian", "", "",
     "docker.io/library/debian", "debian"},
    {"index.docker.io/debian", "docker.io", "library/debian", "", "", "docker.io/library/debian",
     "debian"},
    {"127.0.0.1:5000/docker/docker", "127.0.0.1:5000", "docker/docker", "", "",
     "127.0.0.1:5000/docker/docker", "127.0.0.1:5000/docker/docker"},
    {"127.0.0.1:5000/library/debian", "127.0.0.1:5000", "library/debian", "", "",
     "127.0.0.1:5000/library/debian", "127.0.0.1:5000/library/debian"},
    {"127.0.0.1:5000/debian", "127.0.0.1:5000", "debian", "", "", "127.0.0.1:5000/debian",
     "127.0.0.1:5000/debian"},
    /* A bare IP is a single-component Hub name, ":80" its tag. */
    {"192.168.0.1", "docker.io", "library/192.168.0.1", "", "", "docker.io/library/192.168.0.1",
     "192.168.0.1"},
    {"192.168.0.1:80", "docker.io", "library/192.168.0.1", "80", "",
     "docker.io/library/192.168.0.1:80", "192.168.0.1:80"},
    {"192.168.0.1:8/debian", "192.168.0.1:8", "debian", "", "", "192.168.0.1:8/debian",
     "192.168.0.1:8/debian"},
    {"192.168.0.2:25000/debian", "192.168.0.2:25000", "debian", "", "", "192.168.0.2:25000/debian",
     "192.168.0.2:25000/debian"},
    {"thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev", "docker.io",
     "library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev", "", "",
     "docker.io/library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
     "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev"},
    {"[fc00::1]:5000/docker", "[fc00::1]:5000", "docker", "", "", "[fc00::1]:5000/docker",
     "[fc00::1]:5000/docker"},
    {"[fc00::1]:5000/docker/docker", "[fc00::1]:5000", "docker/docker", "", "",
     "[fc00::1]:5000/docker/docker", "[fc00::1]:5000/docker/docker"},
    {"[fc00:1:2:3:4:5:6:7]:5000/library/debian", "[fc00:1:2:3:4:5:6:7]:5000", "library/debian", "",
     "", "[fc00:1:2:3:4:5:6:7]:5000/library/debian", "[fc00:1:2:3:4:5:6:7]:5000/library/debian"},
    /* 64 hex is refused alone, but fine with a domain in front. Its familiar
     * form is then a bare ID that does not parse back (as in Docker). */
    {"docker.io/" ID64, "docker.io", "library/" ID64, "", "", "docker.io/library/" ID64, ID64},
    /* An upper-case first component is taken for a domain. */
    {"Docker/docker", "Docker", "docker", "", "", "Docker/docker", "Docker/docker"},
    {"DOCKER/docker", "DOCKER", "docker", "", "", "DOCKER/docker", "DOCKER/docker"},
    {"Foo/bar", "Foo", "bar", "", "", "Foo/bar", "Foo/bar"},
    {"FOO/bar", "FOO", "bar", "", "", "FOO/bar", "FOO/bar"},
    {"Docker.io/foo", "Docker.io", "foo", "", "", "Docker.io/foo", "Docker.io/foo"},
    /* TestValidateRemoteName */
    {"docker-rules/docker", "docker.io", "docker-rules/docker", "", "",
     "docker.io/docker-rules/docker", "docker-rules/docker"},
    {"docker---rules/docker", "docker.io", "docker---rules/docker", "", "",
     "docker.io/docker---rules/docker", "docker---rules/docker"},
    {"doc/docker", "docker.io", "doc/docker", "", "", "docker.io/doc/docker", "doc/docker"},
    {"d/docker", "docker.io", "d/docker", "", "", "docker.io/d/docker", "d/docker"},
    {"jess/t", "docker.io", "jess/t", "", "", "docker.io/jess/t", "jess/t"},
    {"dock__er/docker", "docker.io", "dock__er/docker", "", "", "docker.io/dock__er/docker",
     "dock__er/docker"},
    /* TestParseRepositoryInfo */
    {"fooo/bar", "docker.io", "fooo/bar", "", "", "docker.io/fooo/bar", "fooo/bar"},
    {"index.docker.io/fooo/bar", "docker.io", "fooo/bar", "", "", "docker.io/fooo/bar", "fooo/bar"},
    {"nonlibrary/ubuntu", "docker.io", "nonlibrary/ubuntu", "", "", "docker.io/nonlibrary/ubuntu",
     "nonlibrary/ubuntu"},
    {"other/library", "docker.io", "other/library", "", "", "docker.io/other/library",
     "other/library"},
    {"127.0.0.1:8000/private/moonbase", "127.0.0.1:8000", "private/moonbase", "", "",
     "127.0.0.1:8000/private/moonbase", "127.0.0.1:8000/private/moonbase"},
    {"127.0.0.1:8000/privatebase", "127.0.0.1:8000", "privatebase", "", "",
     "127.0.0.1:8000/privatebase", "127.0.0.1:8000/privatebase"},
    {"example.com/private/moonbase", "example.com", "private/moonbase", "", "",
     "example.com/private/moonbase", "example.com/private/moonbase"},
    {"example.com:8000/privatebasee", "example.com:8000", "privatebasee", "", "",
     "example.com:8000/privatebasee", "example.com:8000/privatebasee"},
    {"ubuntu-12.04-base", "docker.io", "library/ubuntu-12.04-base", "", "",
     "docker.io/library/ubuntu-12.04-base", "ubuntu-12.04-base"},
    {"docker.io/foo", "docker.io", "library/foo", "", "", "docker.io/library/foo", "foo"},
    /* Only a single-component official name loses "library/". */
    {"library/foo/bar", "docker.io", "library/foo/bar", "", "", "docker.io/library/foo/bar",
     "library/foo/bar"},
    {"docker.io/library/foo/bar", "docker.io", "library/foo/bar", "", "",
     "docker.io/library/foo/bar", "library/foo/bar"},
    {"store/foo/bar", "docker.io", "store/foo/bar", "", "", "docker.io/store/foo/bar",
     "store/foo/bar"},
    /* TestParseReferenceWithTagAndDigest: both are kept. */
    {"busybox:latest@sha256:" HEX2, "docker.io", "library/busybox", "latest", "sha256:" HEX2,
     "docker.io/library/busybox:latest@sha256:" HEX2, "busybox:latest@sha256:" HEX2},
    /* TestParseAnyReference (the name forms) */
    {"redis:latest", "docker.io", "library/redis", "latest", "", "docker.io/library/redis:latest",
     "redis:latest"},
    {"redis@sha256:" HEX1, "docker.io", "library/redis", "", "sha256:" HEX1,
     "docker.io/library/redis@sha256:" HEX1, "redis@sha256:" HEX1},
    {"dmcgowan/myapp@sha256:" HEX1, "docker.io", "dmcgowan/myapp", "", "sha256:" HEX1,
     "docker.io/dmcgowan/myapp@sha256:" HEX1, "dmcgowan/myapp@sha256:" HEX1},
    {"docker.io/mcgowan/myapp:latest", "docker.io", "mcgowan/myapp", "latest", "",
     "docker.io/mcgowan/myapp:latest", "mcgowan/myapp:latest"},
    /* 63 hex is a name. */
    {"dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9", "docker.io",
     "library/dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9", "", "",
     "docker.io/library/dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9",
     "dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9"},
    {"dbcc1", "docker.io", "library/dbcc1", "", "", "docker.io/library/dbcc1", "dbcc1"},
    /* TestNormalizedSplitHostname */
    {"test.com/foo", "test.com", "foo", "", "", "test.com/foo", "test.com/foo"},
    {"test_com/foo", "docker.io", "test_com/foo", "", "", "docker.io/test_com/foo", "test_com/foo"},
    {"docker/migrator", "docker.io", "docker/migrator", "", "", "docker.io/docker/migrator",
     "docker/migrator"},
    {"test.com:8080/foo", "test.com:8080", "foo", "", "", "test.com:8080/foo", "test.com:8080/foo"},
    {"test-com:8080/foo", "test-com:8080", "foo", "", "", "test-com:8080/foo", "test-com:8080/foo"},
    {"xn--n3h.com/foo", "xn--n3h.com", "foo", "", "", "xn--n3h.com/foo", "xn--n3h.com/foo"},
    {"xn--n3h.com:18080/foo", "xn--n3h.com:18080", "foo", "", "", "xn--n3h.com:18080/foo",
     "xn--n3h.com:18080/foo"},
    /* reference_test.go TestReferenceParse, through ParseNormalizedNamed */
    {"test_com", "docker.io", "library/test_com", "", "", "docker.io/library/test_com", "test_com"},
    {"test.com:tag", "docker.io", "library/test.com", "tag", "", "docker.io/library/test.com:tag",
     "test.com:tag"},
    {"test.com:5000", "docker.io", "library/test.com", "5000", "",
     "docker.io/library/test.com:5000", "test.com:5000"},
    {"test.com/repo:tag", "test.com", "repo", "tag", "", "test.com/repo:tag", "test.com/repo:tag"},
    {"test:5000/repo", "test:5000", "repo", "", "", "test:5000/repo", "test:5000/repo"},
    {"test:5000/repo:tag", "test:5000", "repo", "tag", "", "test:5000/repo:tag",
     "test:5000/repo:tag"},
    {"test:5000/repo@sha256:" F64, "test:5000", "repo", "", "sha256:" F64,
     "test:5000/repo@sha256:" F64, "test:5000/repo@sha256:" F64},
    {"test:5000/repo:tag@sha256:" F64, "test:5000", "repo", "tag", "sha256:" F64,
     "test:5000/repo:tag@sha256:" F64, "test:5000/repo:tag@sha256:" F64},
    {"lowercase:Uppercase", "docker.io", "library/lowercase", "Uppercase", "",
     "docker.io/library/lowercase:Uppercase", "lowercase:Uppercase"},
    {"sub-dom1.foo.com/bar/baz/quux", "sub-dom1.foo.com", "bar/baz/quux", "", "",
     "sub-dom1.foo.com/bar/baz/quux", "sub-dom1.foo.com/bar/baz/quux"},
    {"sub-dom1.foo.com/bar/baz/quux:some-long-tag", "sub-dom1.foo.com", "bar/baz/quux",
     "some-long-tag", "", "sub-dom1.foo.com/bar/baz/quux:some-long-tag",
     "sub-dom1.foo.com/bar/baz/quux:some-long-tag"},
    {"b.gcr.io/test.example.com/my-app:test.example.com", "b.gcr.io", "test.example.com/my-app",
     "test.example.com", "", "b.gcr.io/test.example.com/my-app:test.example.com",
     "b.gcr.io/test.example.com/my-app:test.example.com"},
    {"xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com", "myimage", "xn--n3h.com", "",
     "xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com/myimage:xn--n3h.com"},
    {"xn--7o8h.com/myimage:xn--7o8h.com@sha512:" F64 F64, "xn--7o8h.com", "myimage", "xn--7o8h.com",
     "sha512:" F64 F64, "xn--7o8h.com/myimage:xn--7o8h.com@sha512:" F64 F64,
     "xn--7o8h.com/myimage:xn--7o8h.com@sha512:" F64 F64},
    {"foo_bar.com:8080", "docker.io", "library/foo_bar.com", "8080", "",
     "docker.io/library/foo_bar.com:8080", "foo_bar.com:8080"},
    {"foo/foo_bar.com:8080", "docker.io", "foo/foo_bar.com", "8080", "",
     "docker.io/foo/foo_bar.com:8080", "foo/foo_bar.com:8080"},
    {"192.168.1.1:tag", "docker.io", "library/192.168.1.1", "tag", "",
     "docker.io/library/192.168.1.1:tag", "192.168.1.1:tag"},
    {"192.168.1.1/repo", "192.168.1.1", "repo", "", "", "192.168.1.1/repo", "192.168.1.1/repo"},
    {"192.168.1.1:5000/repo:5050", "192.168.1.1:5000", "repo", "5050", "",
     "192.168.1.1:5000/repo:5050", "192.168.1.1:5000/repo:5050"},
    {"[2001:db8::1]/repo", "[2001:db8::1]", "repo", "", "", "[2001:db8::1]/repo",
     "[2001:db8::1]/repo"},
    {"[2001:db8:1:2:3:4:5:6]/repo:tag", "[2001:db8:1:2:3:4:5:6]", "repo", "tag", "",
     "[2001:db8:1:2:3:4:5:6]/repo:tag", "[2001:db8:1:2:3:4:5:6]/repo:tag"},
    {"[2001:db8::1]:5000/repo:tag@sha256:" F64, "[2001:db8::1]:5000", "repo", "tag", "sha256:" F64,
     "[2001:db8::1]:5000/repo:tag@sha256:" F64, "[2001:db8::1]:5000/repo:tag@sha256:" F64},
    {"[2001:db8::]:5000/repo", "[2001:db8::]:5000", "repo", "", "", "[2001:db8::]:5000/repo",
     "[2001:db8::]:5000/repo"},
    {"[::1]:5000/repo", "[::1]:5000", "repo", "", "", "[::1]:5000/repo", "[::1]:5000/repo"},
    /* regexp_test.go: ports and "IPv6" are not range-checked by Docker. */
    {"192.168.1.1:750050/x", "192.168.1.1:750050", "x", "", "", "192.168.1.1:750050/x",
     "192.168.1.1:750050/x"},
    {"[fd00123123123]:75050/x", "[fd00123123123]:75050", "x", "", "", "[fd00123123123]:75050/x",
     "[fd00123123123]:75050/x"},
    {"Asdf.com/foo/bar", "Asdf.com", "foo/bar", "", "", "Asdf.com/foo/bar", "Asdf.com/foo/bar"},
    {"registry.io/foo/project--id.module--name.ver---sion--name", "registry.io",
     "foo/project--id.module--name.ver---sion--name", "", "",
     "registry.io/foo/project--id.module--name.ver---sion--name",
     "registry.io/foo/project--id.module--name.ver---sion--name"},
    {"example.com/some_separator__underscore/myimage", "example.com",
     "some_separator__underscore/myimage", "", "", "example.com/some_separator__underscore/myimage",
     "example.com/some_separator__underscore/myimage"},
    {"localhost:8080@sha256:" HEX1, "docker.io", "library/localhost", "8080", "sha256:" HEX1,
     "docker.io/library/localhost:8080@sha256:" HEX1, "localhost:8080@sha256:" HEX1},
    {"localhost:8080/name@sha256:" HEX1, "localhost:8080", "name", "", "sha256:" HEX1,
     "localhost:8080/name@sha256:" HEX1, "localhost:8080/name@sha256:" HEX1},
    /* localhost is a domain only in front of a '/'. */
    {"localhost", "docker.io", "library/localhost", "", "", "docker.io/library/localhost",
     "localhost"},
    {"localhost/foo", "localhost", "foo", "", "", "localhost/foo", "localhost/foo"},
    {"localhost:5000/foo/bar:1", "localhost:5000", "foo/bar", "1", "", "localhost:5000/foo/bar:1",
     "localhost:5000/foo/bar:1"},
    /* The first component looks like a domain but is not a valid one, and
     * the whole name is a valid path: Docker keeps it with no domain. */
    {"foo_bar.com/x", "", "foo_bar.com/x", "", "", "foo_bar.com/x", "foo_bar.com/x"},
    {"a__b.c/d:t", "", "a__b.c/d", "t", "", "a__b.c/d:t", "a__b.c/d:t"},
    /* A Hub path whose first component looks like a domain: its familiar
     * form means something else (Docker's ambiguity, kept). */
    {"docker.io/foo.com/bar", "docker.io", "foo.com/bar", "", "", "docker.io/foo.com/bar",
     "foo.com/bar"},
    /* "sha256:<hex>" alone is the name sha256 with a 64-char tag: callers
     * that accept IDs check ref_is_full_id first, as ParseAnyReference. */
    {"sha256:" HEX1, "docker.io", "library/sha256", HEX1, "", "docker.io/library/sha256:" HEX1,
     "sha256:" HEX1},
    {"alpine@sha384:" F64 "ffffffffffffffffffffffffffffffff", "docker.io", "library/alpine", "",
     "sha384:" F64 "ffffffffffffffffffffffffffffffff",
     "docker.io/library/alpine@sha384:" F64 "ffffffffffffffffffffffffffffffff",
     "alpine@sha384:" F64 "ffffffffffffffffffffffffffffffff"},
    /* A lone "docker.io" is the official image of that name. */
    {"docker.io", "docker.io", "library/docker.io", "", "", "docker.io/library/docker.io",
     "docker.io"},
    {"a.b-c_d__e---f", "docker.io", "library/a.b-c_d__e---f", "", "",
     "docker.io/library/a.b-c_d__e---f", "a.b-c_d__e---f"},
    {"foo:_", "docker.io", "library/foo", "_", "", "docker.io/library/foo:_", "foo:_"},
    {"foo:9.-_X", "docker.io", "library/foo", "9.-_X", "", "docker.io/library/foo:9.-_X",
     "foo:9.-_X"},
};

static void check_good(const struct good *g)
{
    struct image_ref r;
    char buf[REF_STRING_MAX];
    parse_ok(g->in, &r);
    assert_string_equal(r.domain, g->domain);
    assert_string_equal(r.path, g->path);
    assert_string_equal(r.tag, g->tag);
    assert_string_equal(r.digest, g->digest);
    assert_string_equal(ref_repository(&r), g->path);
    ref_string(&r, buf, sizeof(buf));
    assert_string_equal(buf, g->full);
    ref_familiar_string(&r, buf, sizeof(buf));
    assert_string_equal(buf, g->familiar);
}

/* The full string always parses back to the same reference. */
static void check_full_round_trip(const struct good *g)
{
    struct image_ref a, b;
    char buf[REF_STRING_MAX];
    parse_ok(g->in, &a);
    ref_string(&a, buf, sizeof(buf));
    parse_ok(buf, &b);
    assert_memory_equal(&a, &b, sizeof(a));
}

static void test_good_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
        check_good(&good[i]);
        check_full_round_trip(&good[i]);
    }
}

/* ---- refused references ---- */

struct bad {
    const char *in;
    const char *msg;
};

static const struct bad bad[] = {
    /* normalize_test.go invalidRepoNames / invalidRepositoryNames */
    {"https://github.com/docker/docker", BAD},
    {"docker/Docker",
     "invalid reference format: repository name (docker/Docker) must be lowercase"},
    {"-docker", BAD},
    {"-docker/docker", BAD},
    {"-docker.io/docker/docker", BAD},
    {"docker///docker", BAD},
    {"docker.io/docker/Docker",
     "invalid reference format: repository name (docker/Docker) must be lowercase"},
    {"docker.io/docker///docker", BAD},
    {"[fc00::1]", BAD},
    {"[fc00::1]:5000", BAD},
    {"fc00::1:5000/debian", BAD},
    {"[fe80::1%eth0]:5000/debian", BAD},
    {"[2001:db8:3:4::192.0.2.33]:5000/debian", BAD},
    {ID64, "invalid repository name (" ID64 "), cannot specify 64-byte hexadecimal strings"},
    {"docker-/docker", BAD},
    {"-docker-/docker", BAD},
    {"____/____", BAD},
    {"_docker/_docker", BAD},
    {"dock..er/docker", BAD},
    {"dock_.er/docker", BAD},
    {"dock-.er/docker", BAD},
    {"docker/", BAD},
    {"this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_"
     "namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_"
     "lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_"
     "255/docker",
     TOOLONG},
    /* reference_test.go */
    {"", BAD},
    {":justtag", BAD},
    {"@sha256:" F64, BAD},
    {"repo@sha256:ffffffffffffffffffffffffffffffffff", "invalid checksum digest length"},
    {"validname@invaliddigest:" F64, "unsupported digest algorithm"},
    {"Uppercase:tag",
     "invalid reference format: repository name (library/Uppercase) must be lowercase"},
    {"test:5000/Uppercase/lowercase:tag",
     "invalid reference format: repository name (Uppercase/lowercase) must be lowercase"},
    {"aa/asdf$$^/aa", BAD},
    {"[2001:db8::1]", BAD},
    {"[2001:db8::1]:5000", BAD},
    {"[2001:db8::1]:tag", BAD},
    {"[fe80::1%eth0]:5000/repo", BAD},
    {"[fe80::1%@invalidzone]:5000/repo", BAD},
    /* regexp_test.go */
    {"registry.com:8080/myapp@sha256:badbadbadbad", BAD},
    {"registry.com:8080/myapp:invalid~tag", BAD},
    {"bad_hostname.com:8080/myapp:tag", BAD},
    {"localhost:http/name@sha256:" HEX1, BAD},
    {"registry.com:8080/myapp@bad", BAD},
    {"registry.com:8080/myapp@2bad", BAD},
    {"test.com:http/bar", BAD},
    {"foo_bar.com:8080/app", BAD},
    {"do__cker:8080/docker", BAD},
    {"example.com/__underscore/myimage", BAD},
    {"example.com/..dots/myimage", BAD},
    {"example.com/.dots/myimage", BAD},
    {"example.com/nodouble..dots/myimage", BAD},
    {"docker./docker", BAD},
    {".docker/docker", BAD},
    {"a^a", BAD},
    {"-ab.com/x", BAD},
    {"ab-.com/x", BAD},
    {"ab.-com/x", BAD},
    {"[fd00:1:2::3]75050/x", BAD},
    {"[fd00:1:2::3]::75050/x", BAD},
    {"fd00:1:2::3:75050/x", BAD},
    /* Upper case: where Docker names it, and how. */
    {"Foo", "invalid reference format: repository name (library/Foo) must be lowercase"},
    {"docker.io/Foo", "invalid reference format: repository name (library/Foo) must be lowercase"},
    {"index.docker.io/a/B:t", "invalid reference format: repository name (a/B) must be lowercase"},
    {"localhost/Foo", "invalid reference format: repository name (Foo) must be lowercase"},
    /* Only up to the first ':' counts, so an upper-case algorithm is part
     * of the "repository name". */
    {"foo@SHA256:" HEX1,
     "invalid reference format: repository name (library/foo@SHA256) must be lowercase"},
    /* Taken for a domain (upper case) but not a valid one; lowercased it
     * would be a valid path: Parse's own message. */
    {"Foo_bar/x", "repository name must be lowercase"},
    {"Foo__bar/x:T", "repository name must be lowercase"},
    /* Empty or misplaced pieces. */
    {"foo:", BAD},
    {"foo@", BAD},
    {"foo:@sha256:" F64, BAD},
    {"foo:tag@", BAD},
    {"foo@sha256:" F64 "@sha256:" F64, BAD},
    {"foo:a:b", BAD},
    {":", BAD},
    {"@", BAD},
    {"/", BAD},
    {"/foo", BAD},
    {"foo/", BAD},
    {"foo//bar", BAD},
    {"foo/bar/", BAD},
    {"docker.io/", BAD},
    {"localhost/", BAD},
    {"example.com/", BAD},
    {"foo:-tag", BAD},
    {"foo:.tag", BAD},
    {"foo:ta/g", BAD},
    {"foo bar", BAD},
    {" foo", BAD},
    {"foo\t", BAD},
    {"foo\n", BAD},
    {"caf\xc3\xa9", BAD},
    {"a@b.c/foo", BAD},
    {"foo-", BAD},
    {"foo.", BAD},
    {"foo___bar", BAD},
    {"foo-_bar", BAD},
    {"foo._bar", BAD},
    {"a:b:c/d", BAD},
    {"host:/foo", BAD},
    {"[]:5000/foo", BAD},
    {"[::1/foo", BAD},
    {"[::1]x/foo", BAD},
    {"[::g]/foo", BAD},
    /* Digests: reference's grammar, then go-digest's checks. */
    {"foo@sha256:abc", BAD},
    {"foo@sha256:" UP64, "invalid checksum digest format"},
    {"foo@sha256:" HEX1 "0", "invalid checksum digest length"},
    {"foo@sha512:" F64, "invalid checksum digest length"},
    {"foo@md5:d41d8cd98f00b204e9800998ecf8427e", "unsupported digest algorithm"},
    {"foo@sha256+b64:" F64, "unsupported digest algorithm"},
    {"foo@sha256:" HEX1 "g", BAD},
    {"foo@1sha:" F64, BAD},
    {"foo@sha..256:" F64, BAD},
    {"foo@sha256-:" F64, BAD},
    {"foo@:" F64, BAD},
    {"foo@sha256", BAD},
};

static void test_bad_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        parse_fails(bad[i].in, bad[i].msg);
}

static void test_null_input(void **state)
{
    (void)state;
    struct image_ref r;
    struct berr err = {0};
    assert_int_equal(ref_parse(NULL, &r, &err), -EINVAL);
    assert_int_equal(err.status, 400);
    assert_string_equal(err.msg, BAD);
}

/* ---- lengths ---- */

/* n copies of c (out must hold n + 1). */
static char *chars(char *out, char c, size_t n)
{
    memset(out, c, n);
    out[n] = '\0';
    return out;
}

static void test_name_length_limit(void **state)
{
    (void)state;
    char in[1024], part[512];
    struct image_ref r;
    /* reference_test.go: 255 characters of path is fine... */
    parse_ok(rep(in, sizeof(in), "a/", 127, "a:tag-puts-this-over-max"), &r);
    assert_string_equal(r.domain, "docker.io");
    assert_int_equal(strlen(r.path), 255);
    assert_string_equal(r.tag, "tag-puts-this-over-max");
    /* ...256 is not, and neither is 257. */
    parse_fails(rep(in, sizeof(in), "a/", 127, "aa"), TOOLONG);
    parse_fails(rep(in, sizeof(in), "a/", 128, "a:tag"), TOOLONG);
    /* "library/" counts: 247 + 8 = 255 is the longest official name. */
    parse_ok(chars(in, 'a', 247), &r);
    assert_int_equal(strlen(r.path), 255);
    parse_fails(chars(in, 'a', 248), TOOLONG);
    /* Another registry's domain does not count. */
    snprintf(in, sizeof(in), "example.com/%s", chars(part, 'b', 255));
    parse_ok(in, &r);
    assert_int_equal(strlen(r.path), 255);
    snprintf(in, sizeof(in), "example.com/%s", chars(part, 'b', 256));
    parse_fails(in, TOOLONG);
}

static void test_tag_length_limit(void **state)
{
    (void)state;
    char in[512], tag[256];
    struct image_ref r;
    snprintf(in, sizeof(in), "foo:%s", chars(tag, 't', 128));
    parse_ok(in, &r);
    assert_int_equal(strlen(r.tag), 128);
    snprintf(in, sizeof(in), "foo:%s", chars(tag, 't', 129));
    parse_fails(in, BAD);
}

#define DOMAIN_TOOLONG                                                                             \
    "invalid reference format: registry domain must not be more than 255 characters"

/* Docker takes a domain of any length; ours must fit REF_DOMAIN_MAX. */
static void test_domain_length_limit(void **state)
{
    (void)state;
    char in[1024], label[64];
    struct image_ref r;
    /* Four 63-character labels: 4 * 64 - 1 = 255 characters. */
    chars(label, 'd', 63);
    snprintf(in, sizeof(in), "%s.%s.%s.%s/x", label, label, label, label);
    parse_ok(in, &r);
    assert_int_equal(strlen(r.domain), 255);
    snprintf(in, sizeof(in), "%s.%s.%s.%sd/x", label, label, label, label);
    parse_fails(in, DOMAIN_TOOLONG);
}

/* Much longer than anything valid: refused with the message Docker gives,
 * and without touching memory past the fields (ASan checks that). */
static void test_huge_inputs(void **state)
{
    (void)state;
    enum { HUGE = 60000 };
    static char in[HUGE + 64], part[HUGE + 1];
    chars(part, 'a', HUGE);
    parse_fails(part, TOOLONG);
    parse_fails(rep(in, sizeof(in), "a/", HUGE / 2, "a"), TOOLONG);
    snprintf(in, sizeof(in), "foo:%s", chars(part, 't', HUGE));
    parse_fails(in, BAD);
    snprintf(in, sizeof(in), "foo@sha256:%s", chars(part, 'f', HUGE));
    parse_fails(in, "invalid checksum digest length");
    snprintf(in, sizeof(in), "%s.com/a", chars(part, 'x', HUGE));
    parse_fails(in, DOMAIN_TOOLONG);
    /* The name in the message is cut to what a message holds. */
    struct image_ref r;
    struct berr err = {0};
    assert_int_equal(ref_parse(chars(part, 'A', HUGE), &r, &err), -EINVAL);
    assert_int_equal(err.status, 400);
    assert_int_equal(strlen(err.msg), BERR_MSG_MAX - 1);
    const char *want = "invalid reference format: repository name (library/AAA";
    assert_memory_equal(err.msg, want, strlen(want));
}

/* ---- printing ---- */

static void test_name_forms(void **state)
{
    (void)state;
    struct image_ref r;
    char buf[REF_STRING_MAX];
    parse_ok("busybox:1.36@sha256:" HEX1, &r);
    ref_name(&r, buf, sizeof(buf));
    assert_string_equal(buf, "docker.io/library/busybox");
    ref_familiar_name(&r, buf, sizeof(buf));
    assert_string_equal(buf, "busybox");
    parse_ok("localhost:5000/foo/bar:1", &r);
    ref_name(&r, buf, sizeof(buf));
    assert_string_equal(buf, "localhost:5000/foo/bar");
    ref_familiar_name(&r, buf, sizeof(buf));
    assert_string_equal(buf, "localhost:5000/foo/bar");
    parse_ok("myuser/app", &r);
    ref_familiar_name(&r, buf, sizeof(buf));
    assert_string_equal(buf, "myuser/app");
    parse_ok("foo_bar.com/x", &r);
    ref_name(&r, buf, sizeof(buf));
    assert_string_equal(buf, "foo_bar.com/x");
}

static void test_output_truncates(void **state)
{
    (void)state;
    struct image_ref r;
    char buf[8];
    parse_ok("busybox:latest", &r);
    memset(buf, 'x', sizeof(buf));
    ref_string(&r, buf, sizeof(buf));
    assert_string_equal(buf, "docker.");
    ref_familiar_string(&r, buf, 1);
    assert_string_equal(buf, "");
    /* A zero-sized or missing buffer is left alone. */
    buf[0] = 'q';
    ref_name(&r, buf, 0);
    assert_int_equal(buf[0], 'q');
    ref_familiar_name(&r, NULL, 0);
}

/* The longest possible reference fits REF_STRING_MAX. */
static void test_longest_fits(void **state)
{
    (void)state;
    char label[64], path[256], tag[129], in[REF_STRING_MAX + 64];
    memset(label, 'd', 63);
    label[63] = '\0';
    rep(path, sizeof(path), "p", 255, "");
    rep(tag, sizeof(tag), "t", 128, "");
    snprintf(in, sizeof(in), "%s.%s.%s.%s/%s:%s@sha512:%s%s", label, label, label, label, path, tag,
             F64, F64);
    struct image_ref r;
    char out[REF_STRING_MAX];
    parse_ok(in, &r);
    ref_string(&r, out, sizeof(out));
    assert_string_equal(out, in);
}

static void test_default_tag(void **state)
{
    (void)state;
    struct image_ref r;
    char buf[REF_STRING_MAX];
    parse_ok("busybox", &r);
    ref_default_tag(&r);
    ref_string(&r, buf, sizeof(buf));
    assert_string_equal(buf, "docker.io/library/busybox:latest");
    ref_familiar_string(&r, buf, sizeof(buf));
    assert_string_equal(buf, "busybox:latest");
    /* An existing tag or a digest stays as it is. */
    parse_ok("busybox:1", &r);
    ref_default_tag(&r);
    assert_string_equal(r.tag, "1");
    parse_ok("alpine@sha256:" HEX1, &r);
    ref_default_tag(&r);
    assert_string_equal(r.tag, "");
    ref_string(&r, buf, sizeof(buf));
    assert_string_equal(buf, "docker.io/library/alpine@sha256:" HEX1);
}

/* ---- standalone checks ---- */

static void test_digest_valid(void **state)
{
    (void)state;
    assert_true(ref_digest_valid("sha256:" HEX1));
    assert_true(ref_digest_valid("sha384:" F64 "ffffffffffffffffffffffffffffffff"));
    assert_true(ref_digest_valid("sha512:" F64 F64));
    assert_false(ref_digest_valid("sha256:" UP64));
    assert_false(ref_digest_valid("sha256:" HEX1 "a"));
    assert_false(ref_digest_valid("sha256:abc"));
    assert_false(ref_digest_valid("sha512:" F64));
    assert_false(ref_digest_valid("SHA256:" HEX1));
    assert_false(ref_digest_valid("md5:d41d8cd98f00b204e9800998ecf8427e"));
    assert_false(ref_digest_valid(HEX1));
    assert_false(ref_digest_valid("sha256:"));
    assert_false(ref_digest_valid(":" HEX1));
    assert_false(ref_digest_valid(""));
    assert_false(ref_digest_valid(NULL));
}

static void test_is_full_id(void **state)
{
    (void)state;
    /* regexp_test.go TestIdentifierRegexp */
    assert_true(ref_is_full_id("da304e823d8ca2b9d863a3c897baeb852ba21ea9a9f1414736394ae7fcaf9821"));
    assert_false(ref_is_full_id(UP64));
    assert_false(ref_is_full_id("da304e823d8ca2b9d863a3c897baeb852ba21ea9a9f1414736394ae7fcaf"));
    assert_false(
        ref_is_full_id("da304e823d8ca2b9d863a3c897baeb852ba21ea9a9f1414736394ae7fcaf98218482"));
    /* ...and the prefixed form, which ours also takes. */
    assert_true(ref_is_full_id("sha256:" HEX1));
    assert_false(ref_is_full_id("sha256:" UP64));
    assert_false(ref_is_full_id("sha512:" HEX1));
    assert_false(ref_is_full_id("sha256:"));
    assert_false(ref_is_full_id("busybox"));
    assert_false(ref_is_full_id(""));
    assert_false(ref_is_full_id(NULL));
}

static void test_tag_valid(void **state)
{
    (void)state;
    char tag[200];
    assert_true(ref_tag_valid("latest"));
    assert_true(ref_tag_valid("_"));
    assert_true(ref_tag_valid("A"));
    assert_true(ref_tag_valid("1.36.1-glibc_x86"));
    assert_true(ref_tag_valid("v1..2--3"));
    assert_true(ref_tag_valid(rep(tag, sizeof(tag), "x", 128, "")));
    assert_false(ref_tag_valid(rep(tag, sizeof(tag), "x", 129, "")));
    assert_false(ref_tag_valid(""));
    assert_false(ref_tag_valid("-x"));
    assert_false(ref_tag_valid(".x"));
    assert_false(ref_tag_valid("a:b"));
    assert_false(ref_tag_valid("a/b"));
    assert_false(ref_tag_valid("a@b"));
    assert_false(ref_tag_valid("a b"));
    assert_false(ref_tag_valid("caf\xc3\xa9"));
    assert_false(ref_tag_valid(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_table),       cmocka_unit_test(test_bad_table),
        cmocka_unit_test(test_null_input),       cmocka_unit_test(test_name_length_limit),
        cmocka_unit_test(test_tag_length_limit), cmocka_unit_test(test_domain_length_limit),
        cmocka_unit_test(test_huge_inputs),      cmocka_unit_test(test_name_forms),
        cmocka_unit_test(test_output_truncates), cmocka_unit_test(test_longest_fits),
        cmocka_unit_test(test_default_tag),      cmocka_unit_test(test_digest_valid),
        cmocka_unit_test(test_is_full_id),       cmocka_unit_test(test_tag_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
