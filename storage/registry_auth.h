/* Registry credentials and the token protocol's pure parts: X-Registry-Auth
 * decoding, WWW-Authenticate challenges, token URLs and token responses.
 * (API-NOTES §5.1-5.2; distribution's token spec.) */
#ifndef BERTH_STORAGE_REGISTRY_AUTH_H
#define BERTH_STORAGE_REGISTRY_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "common/berr.h"
#include "common/buf.h"

struct auth_config {
    char *username;
    char *password;
    char *identity_token; /* OAuth refresh token from an earlier login */
    char *registry_token; /* used as the Bearer token directly */
    char *server_address;
};

/* Decodes the header value leniently (either base64 alphabet, any padding).
 * Anything undecodable means anonymous, as moby does: returns 0 with an
 * empty config. */
void auth_config_decode_header(const char *value, struct auth_config *ret);
/* From an AuthConfig JSON object (POST /auth, header payload). The legacy
 * "auth" field (base64 of user:password) fills username/password. */
void auth_config_from_json(const cJSON *j, struct auth_config *ret);
void auth_config_done(struct auth_config *a);
bool auth_config_has_secret(const struct auth_config *a);

struct auth_challenge {
    char scheme[16]; /* "Bearer" or "Basic" */
    char *realm;
    char *service;
    char *scope;
    char *error;
};

/* Parses the first challenge of a WWW-Authenticate value; -EINVAL if none. */
int auth_challenge_parse(const char *value, struct auth_challenge *ret);
void auth_challenge_done(struct auth_challenge *c);

/* "<realm>?service=...&scope=...[&account=...]" with proper escaping. */
int auth_token_url(const struct auth_challenge *c, const char *scope, const char *account,
                   struct buf *out);
/* {"token"| "access_token"} -> token (heap). 500 when absent. */
int auth_token_parse(const char *body, size_t len, char **ret_token, struct berr *err);
/* "Authorization: Basic <base64 user:password>" */
int auth_basic_header(const char *user, const char *password, struct buf *out);

/* Appends s percent-encoded for a query component. */
void url_query_escape(const char *s, struct buf *out);

#endif
