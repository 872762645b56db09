/* TLS client sessions over a memory BIO: the loop owns the socket and
 * shuttles ciphertext in and out; mbedtls never touches a file descriptor.
 *
 * A tls_conf holds trust anchors and an optional client certificate; it is
 * built from files (blocking: on a worker or at startup), then shared,
 * read-only, by sessions on the loop thread. */
#ifndef BERTH_COMMON_TLS_H
#define BERTH_COMMON_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "berr.h"
#include "buf.h"

#define TLS_SYSTEM_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

struct tls_conf_opts {
    const char *ca_bundle;   /* PEM file of trusted CAs; NULL = none */
    const char *ca_dir;      /* extra *.crt files (Docker's certs.d layout); NULL = none */
    const char *client_cert; /* PEM, with client_key; NULL = no client auth */
    const char *client_key;
    bool insecure_skip_verify; /* only for registries marked insecure */
};

struct tls_conf;
struct tls_session;

int tls_conf_new(const struct tls_conf_opts *o, struct tls_conf **ret, struct berr *err);
void tls_conf_ref(struct tls_conf *c);
void tls_conf_unref(struct tls_conf *c);

/* A session for one connection, verifying the server name hostname. */
int tls_session_new(struct tls_conf *c, const char *hostname, struct tls_session **ret,
                    struct berr *err);
void tls_session_free(struct tls_session *s);

/* Ciphertext received from the peer. */
int tls_feed(struct tls_session *s, const char *data, size_t len);

/* Advances the handshake: 0 done, 1 needs more input, <0 error (message in err). */
int tls_handshake(struct tls_session *s, struct berr *err);

/* Decrypts into buf: n > 0 bytes, 0 needs more input, -EPIPE peer closed
 * (close_notify), other <0 errors. */
ssize_t tls_read(struct tls_session *s, char *buf, size_t len, struct berr *err);

/* Encrypts plaintext; the ciphertext waits in tls_outgoing(). */
int tls_write(struct tls_session *s, const void *data, size_t len, struct berr *err);

/* Ciphertext to send; the caller takes it (buf_steal) and sends it. */
struct buf *tls_outgoing(struct tls_session *s);

#endif
