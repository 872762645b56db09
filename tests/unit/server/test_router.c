/* server/router.c: pattern matching and the /vX.Y API version prefix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/macros.h"
#include "server/router.h"

/* ---- srv_route_match_path ---- */

struct match {
    char scratch[256];
    const char *params[SRV_MAX_PARAMS + 4];
    size_t nparams;
};

static int match(struct match *m, const char *pattern, const char *path)
{
    memset(m, 0, sizeof(*m));
    m->nparams = 99;
    return srv_route_match_path(pattern, path, m->scratch, sizeof(m->scratch), m->params,
                                &m->nparams);
}

static void test_literal(void **state)
{
    (void)state;
    struct match m;
    assert_int_equal(match(&m, "/_ping", "/_ping"), 1);
    assert_int_equal(m.nparams, 0);
    assert_int_equal(match(&m, "/system/df", "/system/df"), 1);
    assert_int_equal(match(&m, "/_ping", "/_pong"), 0);
    assert_int_equal(match(&m, "/_ping", "/_pin"), 0);
    assert_int_equal(match(&m, "/_ping", "/_pingg"), 0);
    assert_int_equal(match(&m, "/system/df", "/system"), 0);
    assert_int_equal(match(&m, "/system", "/system/df"), 0);
}

static void test_literal_needs_leading_slash(void **state)
{
    (void)state;
    struct match m;
    assert_int_equal(match(&m, "/_ping", "_ping"), 0);
    assert_int_equal(match(&m, "/_ping", ""), 0);
}

static void test_param_one_segment(void **state)
{
    (void)state;
    struct match m;
    assert_int_equal(match(&m, "/containers/{id}/json", "/containers/abc123/json"), 1);
    assert_int_equal(m.nparams, 1);
    assert_string_equal(m.params[0], "abc123");
    /* A plain parameter never spans a '/'. */
    assert_int_equal(match(&m, "/containers/{id}/json", "/containers/a/b/json"), 0);
}

static void test_two_params(void **state)
{
    (void)state;
    struct match m;
    assert_int_equal(match(&m, "/a/{x}/b/{y}", "/a/one/b/two"), 1);
    assert_int_equal(m.nparams, 2);
    assert_string_equal(m.params[0], "one");
    assert_string_equal(m.params[1], "two");
}

static void test_param_greedy(void **state)
{
    (void)state;
    struct match m;
    assert_int_equal(match(&m, "/images/{name*}/json", "/images/localhost:5000/foo/bar/json"), 1);
    assert_int_equal(m.nparams, 1);
    assert_string_equal(m.params[0], "localhost:5000/foo/bar");

    assert_int_equal(match(&m, "/images/{name*}/json", "/images/alpine/json"), 1);
    assert_string_equal(m.params[0], "alpine");
}

static void test_param_greedy_takes_longest(void **state)
{
    (void)state;
    struct match m;
    /* The reference itself may end in a "json" segment. */
    assert_int_equal(match(&m, "/images/{name*}/json", "/images/a/json/json"), 1);
    assert_string_equal(m.params[0], "a/json");
}

static void test_param_greedy_at_end(void **state)
{
    (void)state;
    struct match m;
    assert_int_equal(match(&m, "/distribution/{name*}", "/distribution/docker.io/library/x"), 1);
    assert_string_equal(m.params[0], "docker.io/library/x");
    assert_int_equal(match(&m, "/images/{name*}/json", "/images/json"), 0);
}

static void test_empty_segments_do_not_match(void **state)
{
    (void)state;
    struct match m;
    assert_int_equal(match(&m, "/containers/{id}/json", "/containers//json"), 0);
    assert_int_equal(match(&m, "/images/{name*}/json", "/images//json"), 0);
    assert_int_equal(match(&m, "/images/{name*}/json", "/images//foo/json"), 0);
    assert_int_equal(match(&m, "/_ping", "//_ping"), 0);
}

/* Regression test, once a bug (server/router.c match_from): only the first segment a greedy
 * parameter takes is checked for emptiness, so empty segments inside or at
 * the end of a {name*} match are accepted ("foo/", "a//b" and a trailing
 * slash below). */
static void test_greedy_rejects_inner_empty_segments(void **state)
{
    (void)state;
    struct match m;
    assert_int_equal(match(&m, "/images/{name*}", "/images/foo/"), 0);
    assert_int_equal(match(&m, "/images/{name*}/json", "/images/foo//json"), 0);
    assert_int_equal(match(&m, "/images/{name*}/json", "/images/a//b/json"), 0);
}

static void test_trailing_slash_does_not_match(void **state)
{
    (void)state;
    struct match m;
    assert_int_equal(match(&m, "/_ping", "/_ping/"), 0);
    assert_int_equal(match(&m, "/containers/{id}/json", "/containers/x/json/"), 0);
    assert_int_equal(match(&m, "/images/{name*}/json", "/images/alpine/json/"), 0);
}

static void test_too_many_params(void **state)
{
    (void)state;
    struct match m;
    assert_int_equal(match(&m, "/{a}/{b}/{c}/{d}", "/1/2/3/4"), 1);
    assert_int_equal(m.nparams, SRV_MAX_PARAMS);
    assert_string_equal(m.params[3], "4");
    assert_int_equal(match(&m, "/{a}/{b}/{c}/{d}/{e}", "/1/2/3/4/5"), 0);
}

static void test_scratch_too_small(void **state)
{
    (void)state;
    char scratch[4];
    const char *params[SRV_MAX_PARAMS];
    size_t n = 0;
    assert_int_equal(
        srv_route_match_path("/c/{id}", "/c/abc", scratch, sizeof(scratch), params, &n), 1);
    assert_string_equal(params[0], "abc");
    assert_int_equal(
        srv_route_match_path("/c/{id}", "/c/abcd", scratch, sizeof(scratch), params, &n), 0);
}

static void test_too_many_segments(void **state)
{
    (void)state;
    char path[256] = "";
    for (int i = 0; i < 70; i++)
        strcat(path, "/a");
    struct match m;
    assert_int_equal(match(&m, "/{x*}", path), 0);
}

/* ---- srv_router_match ---- */

static void h_dummy(struct srv_req *req)
{
    (void)req;
}

static const struct srv_route test_routes[] = {
    {SRV_GET, "/x", h_dummy, 0},
    {SRV_POST, "/x", h_dummy, 0},
    {SRV_GET, "/containers/{id}/json", h_dummy, 0},
    {SRV_GET, "/images/{name*}/json", h_dummy, 0},
};

static const struct srv_router test_router = {
    .routes = test_routes,
    .nroutes = ARRAY_SIZE(test_routes),
    .api_min_minor = 24,
    .api_max_minor = 47,
};

struct routed {
    struct srv_req req;
    char params[256];
    const struct srv_route *route;
    struct berr err;
};

static enum srv_route_result route(struct routed *r, enum srv_method method, const char *path)
{
    memset(r, 0, sizeof(*r));
    r->req.method = method;
    return srv_router_match(&test_router, &r->req, path, r->params, sizeof(r->params), &r->route,
                            &r->err);
}

static void test_router_unversioned(void **state)
{
    (void)state;
    struct routed r;
    assert_int_equal(route(&r, SRV_GET, "/x"), SRV_ROUTE_FOUND);
    assert_ptr_equal(r.route, &test_routes[0]);
    assert_int_equal(r.req.api_major, 1);
    assert_int_equal(r.req.api_minor, 47);
    assert_false(r.req.api_versioned);
    assert_string_equal(r.req.path, "/x");
}

static void test_router_method_selects_route(void **state)
{
    (void)state;
    struct routed r;
    assert_int_equal(route(&r, SRV_POST, "/x"), SRV_ROUTE_FOUND);
    assert_ptr_equal(r.route, &test_routes[1]);
}

static void test_router_versioned(void **state)
{
    (void)state;
    struct routed r;
    assert_int_equal(route(&r, SRV_GET, "/v1.40/x"), SRV_ROUTE_FOUND);
    assert_int_equal(r.req.api_major, 1);
    assert_int_equal(r.req.api_minor, 40);
    assert_true(r.req.api_versioned);
    assert_string_equal(r.req.path, "/x");
}

static void test_router_version_bounds_inclusive(void **state)
{
    (void)state;
    struct routed r;
    assert_int_equal(route(&r, SRV_GET, "/v1.24/x"), SRV_ROUTE_FOUND);
    assert_int_equal(r.req.api_minor, 24);
    assert_int_equal(route(&r, SRV_GET, "/v1.47/x"), SRV_ROUTE_FOUND);
    assert_int_equal(r.req.api_minor, 47);
}

static void test_router_versioned_params(void **state)
{
    (void)state;
    struct routed r;
    assert_int_equal(route(&r, SRV_GET, "/v1.41/images/reg:5000/a/b/json"), SRV_ROUTE_FOUND);
    assert_ptr_equal(r.route, &test_routes[3]);
    assert_int_equal(r.req.nparams, 1);
    assert_string_equal(r.req.params[0], "reg:5000/a/b");
}

static void test_router_too_new(void **state)
{
    (void)state;
    struct routed r;
    assert_int_equal(route(&r, SRV_GET, "/v1.99/x"), SRV_ROUTE_BAD_VERSION);
    assert_int_equal(r.err.status, 400);
    assert_string_equal(r.err.msg,
                        "client version 1.99 is too new. Maximum supported API version is 1.47");
}

static void test_router_too_old(void **state)
{
    (void)state;
    struct routed r;
    assert_int_equal(route(&r, SRV_GET, "/v1.12/x"), SRV_ROUTE_BAD_VERSION);
    assert_int_equal(r.err.status, 400);
    assert_string_equal(r.err.msg, "client version 1.12 is too old. Minimum supported API version "
                                   "is 1.24, please upgrade your client to a newer version");
}

static void test_router_version_compared_numerically(void **state)
{
    (void)state;
    struct routed r;
    /* 1.100 > 1.47 numerically even though "1.100" < "1.47" as text. */
    assert_int_equal(route(&r, SRV_GET, "/v1.100/x"), SRV_ROUTE_BAD_VERSION);
    assert_int_equal(route(&r, SRV_GET, "/v2.0/x"), SRV_ROUTE_BAD_VERSION);
    assert_int_equal(route(&r, SRV_GET, "/v1.9/x"), SRV_ROUTE_BAD_VERSION);
}

static void test_router_unknown_path_with_bad_version(void **state)
{
    (void)state;
    struct routed r;
    assert_int_equal(route(&r, SRV_GET, "/v1.99/nope"), SRV_ROUTE_NOT_FOUND);
    assert_int_equal(route(&r, SRV_GET, "/v1.12/nope"), SRV_ROUTE_NOT_FOUND);
    assert_int_equal(route(&r, SRV_GET, "/nope"), SRV_ROUTE_NOT_FOUND);
}

static void test_router_method_mismatch(void **state)
{
    (void)state;
    struct routed r;
    assert_int_equal(route(&r, SRV_DELETE, "/x"), SRV_ROUTE_NOT_FOUND);
    assert_int_equal(route(&r, SRV_POST, "/containers/abc/json"), SRV_ROUTE_NOT_FOUND);
    assert_int_equal(route(&r, SRV_DELETE, "/v1.99/x"), SRV_ROUTE_NOT_FOUND);
}

static void test_router_not_a_version_prefix(void **state)
{
    (void)state;
    struct routed r;
    assert_int_equal(route(&r, SRV_GET, "/vabc/x"), SRV_ROUTE_NOT_FOUND);
    assert_string_equal(r.req.path, "/vabc/x");
    assert_false(r.req.api_versioned);
    assert_int_equal(route(&r, SRV_GET, "/v/x"), SRV_ROUTE_NOT_FOUND);
    assert_string_equal(r.req.path, "/v/x");
}

static void test_router_version_alone_is_a_path(void **state)
{
    (void)state;
    struct routed r;
    assert_int_equal(route(&r, SRV_GET, "/v1.40"), SRV_ROUTE_NOT_FOUND);
    assert_string_equal(r.req.path, "/v1.40");
}

static void test_method_names(void **state)
{
    (void)state;
    assert_string_equal(srv_method_name(SRV_GET), "GET");
    assert_string_equal(srv_method_name(SRV_HEAD), "HEAD");
    assert_string_equal(srv_method_name(SRV_POST), "POST");
    assert_string_equal(srv_method_name(SRV_PUT), "PUT");
    assert_string_equal(srv_method_name(SRV_DELETE), "DELETE");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literal),
        cmocka_unit_test(test_literal_needs_leading_slash),
        cmocka_unit_test(test_param_one_segment),
        cmocka_unit_test(test_two_params),
        cmocka_unit_test(test_param_greedy),
        cmocka_unit_test(test_param_greedy_takes_longest),
        cmocka_unit_test(test_param_greedy_at_end),
        cmocka_unit_test(test_empty_segments_do_not_match),
        cmocka_unit_test(test_greedy_rejects_inner_empty_segments),
        cmocka_unit_test(test_trailing_slash_does_not_match),
        cmocka_unit_test(test_too_many_params),
        cmocka_unit_test(test_scratch_too_small),
        cmocka_unit_test(test_too_many_segments),
        cmocka_unit_test(test_router_unversioned),
        cmocka_unit_test(test_router_method_selects_route),
        cmocka_unit_test(test_router_versioned),
        cmocka_unit_test(test_router_version_bounds_inclusive),
        cmocka_unit_test(test_router_versioned_params),
        cmocka_unit_test(test_router_too_new),
        cmocka_unit_test(test_router_too_old),
        cmocka_unit_test(test_router_version_compared_numerically),
        cmocka_unit_test(test_router_unknown_path_with_bad_version),
        cmocka_unit_test(test_router_method_mismatch),
        cmocka_unit_test(test_router_not_a_version_prefix),
        cmocka_unit_test(test_router_version_alone_is_a_path),
        cmocka_unit_test(test_method_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
