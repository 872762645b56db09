#include "tls.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/asn1.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

struct tls_conf {
    int refs;
    bool verify;
    mbedtls_ssl_config ssl;
    mbedtls_x509_crt ca;
    mbedtls_x509_crt cert;
    mbedtls_pk_context key;
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
};

struct tls_session {
    mbedtls_ssl_context ssl;
    struct tls_conf *conf;
    unsigned char ip[16]; /* the server as an IP literal, checked by us */
    size_t iplen;
    char host[64];
    struct buf in; /* ciphertext not yet consumed */
    size_t in_off;
    struct buf out;
};

static int tls_error(struct berr *err, int status, int code, const char *what)
{
    char text[160];
    mbedtls_strerror(code, text, sizeof(text));
    return berr_set(err, status, EPROTO, "%s: %s", what, text);
}

static void conf_free(struct tls_conf *c)
{
    mbedtls_ssl_config_free(&c->ssl);
    mbedtls_x509_crt_free(&c->ca);
    mbedtls_x509_crt_free(&c->cert);
    mbedtls_pk_free(&c->key);
    mbedtls_ctr_drbg_free(&c->drbg);
    mbedtls_entropy_free(&c->entropy);
    free(c);
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Docker's certs.d: every *.crt is a CA. */
static int load_ca_dir(struct tls_conf *c, const char *dir, int *loaded, struct berr *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : berr_errno(err, 500, errno, "open '%s'", dir);
    struct dirent *de;
    int r = 0;
    while (r == 0 && (de = readdir(d))) {
        if (!has_suffix(de->d_name, ".crt"))
            continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        int rc = mbedtls_x509_crt_parse_file(&c->ca, path);
        if (rc < 0)
            r = tls_error(err, 500, rc, path);
        else
            (*loaded)++;
    }
    closedir(d);
    return r;
}

static int load_trust(struct tls_conf *c, const struct tls_conf_opts *o, struct berr *err)
{
    int loaded = 0;
    if (o->ca_bundle) {
        int rc = mbedtls_x509_crt_parse_file(&c->ca, o->ca_bundle);
        if (rc < 0)
            return tls_error(err, 500, rc, o->ca_bundle);
        loaded++;
    }
    if (o->ca_dir && load_ca_dir(c, o->ca_dir, &loaded, err) < 0)
        return -EINVAL;
    if (loaded)
        mbedtls_ssl_conf_ca_chain(&c->ssl, &c->ca, NULL);
    return 0;
}

static int load_client_cert(struct tls_conf *c, const struct tls_conf_opts *o, struct berr *err)
{
    if (!o->client_cert || !o->client_key)
        return 0;
    int rc = mbedtls_x509_crt_parse_file(&c->cert, o->client_cert);
    if (rc < 0)
        return tls_error(err, 500, rc, o->client_cert);
    rc = mbedtls_pk_parse_keyfile(&c->key, o->client_key, NULL);
    if (rc < 0)
        return tls_error(err, 500, rc, o->client_key);
    rc = mbedtls_ssl_conf_own_cert(&c->ssl, &c->cert, &c->key);
    return rc < 0 ? tls_error(err, 500, rc, "client certificate") : 0;
}

int tls_conf_new(const struct tls_conf_opts *o, struct tls_conf **ret, struct berr *err)
{
    struct tls_conf *c = calloc(1, sizeof(*c));
    if (!c)
        return berr_set(err, 500, ENOMEM, "out of memory");
    c->refs = 1;
    mbedtls_ssl_config_init(&c->ssl);
    mbedtls_x509_crt_init(&c->ca);
    mbedtls_x509_crt_init(&c->cert);
    mbedtls_pk_init(&c->key);
    mbedtls_entropy_init(&c->entropy);
    mbedtls_ctr_drbg_init(&c->drbg);
    int rc = mbedtls_ctr_drbg_seed(&c->drbg, mbedtls_entropy_func, &c->entropy,
                                   (const unsigned char *)"berth", 5);
    int r = rc < 0 ? tls_error(err, 500, rc, "seed random generator") : 0;
    if (r == 0 && (rc = mbedtls_ssl_config_defaults(&c->ssl, MBEDTLS_SSL_IS_CLIENT,
                                                    MBEDTLS_SSL_TRANSPORT_STREAM,
                                                    MBEDTLS_SSL_PRESET_DEFAULT)) < 0)
        r = tls_error(err, 500, rc, "TLS defaults");
    if (r == 0) {
        mbedtls_ssl_conf_rng(&c->ssl, mbedtls_ctr_drbg_random, &c->drbg);
        mbedtls_ssl_conf_min_version(&c->ssl, MBEDTLS_SSL_MAJOR_VERSION_3,
                                     MBEDTLS_SSL_MINOR_VERSION_3); /* TLS 1.2 */
        mbedtls_ssl_conf_authmode(&c->ssl, o->insecure_skip_verify ? MBEDTLS_SSL_VERIFY_NONE
                                                                   : MBEDTLS_SSL_VERIFY_REQUIRED);
        c->verify = !o->insecure_skip_verify;
        r = load_trust(c, o, err);
    }
    if (r == 0)
        r = load_client_cert(c, o, err);
    if (r < 0) {
        conf_free(c);
        return r;
    }
    *ret = c;
    return 0;
}

void tls_conf_ref(struct tls_conf *c)
{
    c->refs++;
}

void tls_conf_unref(struct tls_conf *c)
{
    if (c && --c->refs == 0)
        conf_free(c);
}

static int bio_send(void *ctx, const unsigned char *data, size_t len)
{
    struct tls_session *s = ctx;
    if (buf_append(&s->out, data, len) < 0)
        return MBEDTLS_ERR_SSL_ALLOC_FAILED;
    return (int)len;
}

static int bio_recv(void *ctx, unsigned char *data, size_t len)
{
    struct tls_session *s = ctx;
    size_t avail = s->in.len - s->in_off;
    if (avail == 0)
        return MBEDTLS_ERR_SSL_WANT_READ;
    size_t n = avail < len ? avail : len;
    memcpy(data, s->in.data + s->in_off, n);
    s->in_off += n;
    if (s->in_off == s->in.len) {
        buf_reset(&s->in);
        s->in_off = 0;
    }
    return (int)n;
}

int tls_session_new(struct tls_conf *c, const char *hostname, struct tls_session **ret,
                    struct berr *err)
{
    struct tls_session *s = calloc(1, sizeof(*s));
    if (!s)
        return berr_set(err, 500, ENOMEM, "out of memory");
    mbedtls_ssl_init(&s->ssl);
    int rc = mbedtls_ssl_setup(&s->ssl, &c->ssl);
    /* mbedtls 2.28 matches host names only against DNS names: an IP literal
     * is checked against the iPAddress entries after the handshake, and is
     * not sent as SNI (RFC 6066). */
    if (inet_pton(AF_INET, hostname, s->ip) == 1)
        s->iplen = 4;
    else if (inet_pton(AF_INET6, hostname, s->ip) == 1)
        s->iplen = 16;
    snprintf(s->host, sizeof(s->host), "%s", hostname);
    if (rc == 0)
        rc = mbedtls_ssl_set_hostname(&s->ssl, s->iplen ? NULL : hostname);
    if (rc < 0) {
        mbedtls_ssl_free(&s->ssl);
        free(s);
        return tls_error(err, 500, rc, "TLS session");
    }
    mbedtls_ssl_set_bio(&s->ssl, s, bio_send, bio_recv, NULL);
    s->conf = c;
    tls_conf_ref(c);
    *ret = s;
    return 0;
}

void tls_session_free(struct tls_session *s)
{
    if (!s)
        return;
    mbedtls_ssl_free(&s->ssl);
    tls_conf_unref(s->conf);
    buf_done(&s->in);
    buf_done(&s->out);
    free(s);
}

int tls_feed(struct tls_session *s, const char *data, size_t len)
{
    return buf_append(&s->in, data, len);
}

static bool wants_io(int rc)
{
    return rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE;
}

/* Walks the certificate's subjectAltName extension for an iPAddress entry. */
static bool san_has_ip(const mbedtls_x509_crt *crt, const unsigned char *ip, size_t iplen)
{
    unsigned char *p = crt->v3_ext.p, *end = p + crt->v3_ext.len;
    size_t len;
    if (p < end && *p == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_ASN1_CONSTRUCTED | 3) &&
        mbedtls_asn1_get_tag(&p, end, &len, *p) != 0)
        return false;
    if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
        return false;
    end = p + len;
    static const unsigned char san_oid[] = {0x55, 0x1d, 0x11};
    while (p < end) {
        unsigned char *ext_end;
        if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
            return false;
        ext_end = p + len;
        if (mbedtls_asn1_get_tag(&p, ext_end, &len, MBEDTLS_ASN1_OID))
            return false;
        bool is_san = len == sizeof(san_oid) && memcmp(p, san_oid, len) == 0;
        p += len;
        if (is_san) {
            int critical; /* optional; absent is fine */
            (void)mbedtls_asn1_get_bool(&p, ext_end, &critical);
            if (mbedtls_asn1_get_tag(&p, ext_end, &len, MBEDTLS_ASN1_OCTET_STRING) ||
                mbedtls_asn1_get_tag(&p, ext_end, &len,
                                     MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
                return false;
            unsigned char *names_end = p + len;
            while (p < names_end) {
                unsigned char tag = *p;
                if (mbedtls_asn1_get_tag(&p, names_end, &len, tag))
                    return false;
                if (tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7) && len == iplen &&
                    memcmp(p, ip, iplen) == 0)
                    return true;
                p += len;
            }
            return false;
        }
        p = ext_end;
    }
    return false;
}

static int check_ip_host(struct tls_session *s, struct berr *err)
{
    if (!s->iplen || !s->conf->verify)
        return 0;
    const mbedtls_x509_crt *peer = mbedtls_ssl_get_peer_cert(&s->ssl);
    if (peer && san_has_ip(peer, s->ip, s->iplen))
        return 0;
    return berr_set(err, 500, EPROTO,
                    "x509: certificate is not valid for %s: no matching IP address in it", s->host);
}

int tls_handshake(struct tls_session *s, struct berr *err)
{
    int rc = mbedtls_ssl_handshake(&s->ssl);
    if (rc == 0)
        return check_ip_host(s, err);
    if (wants_io(rc))
        return 1;
    if (rc == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
        char why[512];
        mbedtls_x509_crt_verify_info(why, sizeof(why), "", mbedtls_ssl_get_verify_result(&s->ssl));
        why[strcspn(why, "\n")] = '\0';
        return berr_set(err, 500, EPROTO, "x509: certificate verification failed: %s", why);
    }
    return tls_error(err, 500, rc, "TLS handshake");
}

ssize_t tls_read(struct tls_session *s, char *buf, size_t len, struct berr *err)
{
    int rc = mbedtls_ssl_read(&s->ssl, (unsigned char *)buf, len);
    if (rc > 0)
        return rc;
    if (rc == 0 || rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
        return -EPIPE;
    if (wants_io(rc))
        return 0;
    return tls_error(err, 500, rc, "TLS read");
}

int tls_write(struct tls_session *s, const void *data, size_t len, struct berr *err)
{
    const unsigned char *p = data;
    while (len > 0) {
        int rc = mbedtls_ssl_write(&s->ssl, p, len);
        if (rc < 0)
            return tls_error(err, 500, rc, "TLS write");
        p += rc;
        len -= (size_t)rc;
    }
    return 0;
}

struct buf *tls_outgoing(struct tls_session *s)
{
    return &s->out;
}
