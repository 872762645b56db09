/* storage/registry_auth.c and common/base64.c: credentials from
 * X-Registry-Auth, WWW-Authenticate challenges, token URLs and responses. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/base64.h"
#include "storage/registry.h"
#include "storage/registry_auth.h"

static void test_base64_round_trip_and_leniency(void **state)
{
    (void)state;
    struct buf enc = BUF_INIT, dec = BUF_INIT;
    assert_int_equal(base64_encode("user:pa?ss>", 11, &enc), 0);
    assert_string_equal(enc.data, "dXNlcjpwYT9zcz4=");
    assert_int_equal(base64_decode(enc.data, enc.len, &dec), 0);
    assert_string_equal(dec.data, "user:pa?ss>");
    buf_reset(&dec);
    /* URL-safe alphabet without padding decodes to the same bytes */
    assert_int_equal(base64_decode("dXNlcjpwYT9zcz4", 15, &dec), 0);
    assert_string_equal(dec.data, "user:pa?ss>");
    buf_reset(&dec);
    assert_int_equal(base64_decode("-_-_", 4, &dec), 0);
    assert_memory_equal(dec.data, "\xfb\xff\xbf", 3);
    buf_reset(&dec);
    assert_int_equal(base64_decode("a", 1, &dec), -EINVAL);
    assert_int_equal(base64_decode("ab*d", 4, &dec), -EINVAL);
    buf_done(&enc);
    buf_done(&dec);
}

static void test_header_decoding(void **state)
{
    (void)state;
    struct auth_config a;
    /* {"username":"alice","password":"s3cret","serveraddress":"localhost:5000"} */
    auth_config_decode_header("eyJ1c2VybmFtZSI6ImFsaWNlIiwicGFzc3dvcmQiOiJzM2NyZXQiLCJzZXJ2ZXJh"
                              "ZGRyZXNzIjoibG9jYWxob3N0OjUwMDAifQ==",
                              &a);
    assert_string_equal(a.username, "alice");
    assert_string_equal(a.password, "s3cret");
    assert_string_equal(a.server_address, "localhost:5000");
    assert_true(auth_config_has_secret(&a));
    auth_config_done(&a);
    auth_config_decode_header("e30=", &a); /* {} = anonymous */
    assert_null(a.username);
    assert_false(auth_config_has_secret(&a));
    auth_config_done(&a);
    auth_config_decode_header("!!not base64!!", &a); /* undecodable: anonymous, as moby */
    assert_null(a.username);
    auth_config_done(&a);
    /* {"auth":"Ym9iOnB3"} (bob:pw) and {"registrytoken":"tok"} */
    auth_config_decode_header("eyJhdXRoIjoiWW05aU9uQjMifQ", &a);
    assert_string_equal(a.username, "bob");
    assert_string_equal(a.password, "pw");
    auth_config_done(&a);
    auth_config_decode_header("eyJyZWdpc3RyeXRva2VuIjoidG9rIn0", &a);
    assert_string_equal(a.registry_token, "tok");
    assert_true(auth_config_has_secret(&a));
    auth_config_done(&a);
}

static void test_challenges(void **state)
{
    (void)state;
    struct auth_challenge c;
    assert_int_equal(auth_challenge_parse("Bearer realm=\"https://auth.docker.io/token\","
                                          "service=\"registry.docker.io\",scope=\"repository:"
                                          "library/busybox:pull\",error=\"insufficient_scope\"",
                                          &c),
                     0);
    assert_string_equal(c.scheme, "Bearer");
    assert_string_equal(c.realm, "https://auth.docker.io/token");
    assert_string_equal(c.service, "registry.docker.io");
    assert_string_equal(c.scope, "repository:library/busybox:pull");
    assert_string_equal(c.error, "insufficient_scope");
    auth_challenge_done(&c);
    assert_int_equal(auth_challenge_parse("basic realm=\"Registry Realm\"", &c), 0);
    assert_string_equal(c.scheme, "Basic");
    assert_string_equal(c.realm, "Registry Realm");
    auth_challenge_done(&c);
    assert_int_equal(auth_challenge_parse("Bearer service=\"x\"", &c), -EINVAL); /* no realm */
    assert_int_equal(auth_challenge_parse("", &c), -EINVAL);
    assert_int_equal(auth_challenge_parse(NULL, &c), -EINVAL);
    assert_int_equal(auth_challenge_parse("Bearer realm=\"unterminated", &c), -EINVAL);
}

static void test_token_url_and_response(void **state)
{
    (void)state;
    struct auth_challenge c = {.scheme = "Bearer",
                               .realm = (char *)"https://auth.example/token",
                               .service = (char *)"reg ex"};
    struct buf url = BUF_INIT;
    assert_int_equal(auth_token_url(&c, "repository:a/b:pull,push", "al ice", &url), 0);
    assert_string_equal(url.data, "https://auth.example/token?service=reg%20ex&scope=repository"
                                  "%3Aa%2Fb%3Apull%2Cpush&account=al%20ice");
    buf_reset(&url);
    c.realm = (char *)"https://auth.example/token?x=1";
    assert_int_equal(auth_token_url(&c, NULL, NULL, &url), 0);
    assert_string_equal(url.data, "https://auth.example/token?x=1&service=reg%20ex");
    buf_done(&url);
    char *tok = NULL;
    struct berr err = {0};
    assert_int_equal(auth_token_parse("{\"token\":\"abc\",\"expires_in\":60}", 32, &tok, &err), 0);
    assert_string_equal(tok, "abc");
    free(tok);
    const char *alt = "{\"access_token\":\"xyz\"}";
    assert_int_equal(auth_token_parse(alt, strlen(alt), &tok, &err), 0);
    assert_string_equal(tok, "xyz");
    free(tok);
    assert_int_equal(auth_token_parse("{}", 2, &tok, &err), -EPROTO);
    assert_int_equal(auth_token_parse("garbage", 7, &tok, &err), -EPROTO);
}

static void test_insecure_rules(void **state)
{
    (void)state;
    struct strv list = {0};
    strv_push(&list, "10.1.0.0/16");
    strv_push(&list, "myreg:5000");
    struct registry_opts o = {.insecure = &list};
    assert_true(registry_is_insecure(&o, "127.0.0.1:5000"));
    assert_true(registry_is_insecure(&o, "127.9.9.9"));
    assert_true(registry_is_insecure(&o, "localhost:443"));
    assert_true(registry_is_insecure(&o, "[::1]:5000"));
    assert_true(registry_is_insecure(&o, "10.1.2.3:80"));
    assert_true(registry_is_insecure(&o, "myreg:5000"));
    assert_false(registry_is_insecure(&o, "myreg:5001"));
    assert_false(registry_is_insecure(&o, "10.2.0.1"));
    assert_false(registry_is_insecure(&o, "registry-1.docker.io"));
    assert_string_equal(registry_api_host("docker.io"), "registry-1.docker.io");
    assert_string_equal(registry_api_host("quay.io"), "quay.io");
    strv_done(&list);
}

static void test_registry_error_text(void **state)
{
    (void)state;
    char text[256], code[64];
    const char *body = "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest "
                       "unknown\",\"detail\":{\"Tag\":\"x\"}}]}";
    registry_error_text(body, strlen(body), text, sizeof(text), code, sizeof(code));
    assert_string_equal(text, "manifest unknown: manifest unknown");
    assert_string_equal(code, "MANIFEST_UNKNOWN");
    registry_error_text("not json", 8, text, sizeof(text), code, sizeof(code));
    assert_string_equal(text, "");
    assert_string_equal(code, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_round_trip_and_leniency),
        cmocka_unit_test(test_header_decoding),
        cmocka_unit_test(test_challenges),
        cmocka_unit_test(test_token_url_and_response),
        cmocka_unit_test(test_insecure_rules),
        cmocka_unit_test(test_registry_error_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
