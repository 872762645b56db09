/* Listening sockets: "unix:///path" and "tcp://host:port". */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "conn.h"
#include "listener.h"

struct listener {
    union {
        uv_handle_t handle;
        uv_stream_t stream;
        uv_pipe_t pipe;
        uv_tcp_t tcp;
    } h;
    struct srv_server *srv;
    struct list link;
    bool is_unix;
    char *path; /* unix socket file, removed on close */
};

static void listener_closed_cb(uv_handle_t *h)
{
    struct listener *l = h->data;
    struct srv_server *srv = l->srv;
    free(l->path);
    free(l);
    srv->nlisteners--;
    srv_check_shutdown_done(srv);
}

void srv_listeners_close(struct srv_server *srv)
{
    struct list *pos, *tmp;
    list_for_each_safe(pos, tmp, &srv->listeners)
    {
        struct listener *l = container_of(pos, struct listener, link);
        list_del(&l->link);
        if (l->path)
            unlink(l->path);
        uv_close(&l->h.handle, listener_closed_cb);
    }
}

static void connection_cb(uv_stream_t *server, int status)
{
    struct listener *l = server->data;
    struct srv_server *srv = l->srv;
    if (status < 0) {
        log_warn("accept on listener failed: %s", uv_strerror(status));
        return;
    }
    struct srv_conn *c = srv_conn_new(srv, l->is_unix);
    if (!c)
        return; /* the pending connection waits in the backlog */
    if (uv_accept(server, &c->h.stream) < 0 || srv->shutting_down) {
        srv_conn_close(c);
        return;
    }
    if (!l->is_unix)
        uv_tcp_nodelay(&c->h.tcp, 1);
    if (srv->nconns > srv->limits.max_connections) {
        srv_send_simple_error(c, 503, "too many connections");
        srv_conn_close_graceful(c);
        return;
    }
    srv_conn_start(c);
}

/* A live daemon answers on the socket; a stale file from a crash does not. */
static bool unix_socket_in_use(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    bool used = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return used;
}

static int listen_unix(struct listener *l, const char *path, gid_t gid, struct berr *err)
{
    if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
        return berr_set(err, 400, ENAMETOOLONG, "unix socket path too long: '%s'", path);
    if (unix_socket_in_use(path))
        return berr_set(err, 409, EADDRINUSE, "socket '%s' is in use by another daemon", path);
    unlink(path);
    uv_pipe_init(l->srv->loop, &l->h.pipe, 0);
    l->h.handle.data = l;
    /* The socket file must never exist with a wider mode, even briefly. */
    mode_t old = umask(0117);
    int r = uv_pipe_bind(&l->h.pipe, path);
    umask(old);
    if (r < 0)
        return berr_set(err, 500, -r, "bind '%s': %s", path, uv_strerror(r));
    l->path = strdup(path);
    if (chmod(path, 0660) < 0)
        return berr_errno(err, 500, errno, "chmod '%s'", path);
    if (gid != (gid_t)-1 && chown(path, 0, gid) < 0)
        return berr_errno(err, 500, errno, "chown '%s'", path);
    return 0;
}

static int parse_tcp(const char *hostport, struct sockaddr_storage *ss, struct berr *err)
{
    char host[256];
    const char *colon = strrchr(hostport, ':');
    if (!colon || !colon[1])
        return berr_set(err, 400, EINVAL, "invalid tcp address '%s': missing port", hostport);
    size_t hlen = (size_t)(colon - hostport);
    if (hlen >= sizeof(host))
        return berr_set(err, 400, EINVAL, "invalid tcp address '%s'", hostport);
    memcpy(host, hostport, hlen);
    host[hlen] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port <= 0 || port > 65535)
        return berr_set(err, 400, EINVAL, "invalid tcp port in '%s'", hostport);
    if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
        host[hlen - 1] = '\0';
        if (uv_ip6_addr(host + 1, (int)port, (struct sockaddr_in6 *)ss) == 0)
            return 0;
    }
    const char *h4 = hlen == 0 ? "0.0.0.0" : strcmp(host, "localhost") == 0 ? "127.0.0.1" : host;
    if (uv_ip4_addr(h4, (int)port, (struct sockaddr_in *)ss) == 0)
        return 0;
    return berr_set(err, 400, EINVAL, "invalid tcp address '%s': host must be an IP address",
                    hostport);
}

static int listen_tcp(struct listener *l, const char *hostport, struct berr *err)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (parse_tcp(hostport, &ss, err) < 0)
        return -EINVAL;
    uv_tcp_init(l->srv->loop, &l->h.tcp);
    l->h.handle.data = l;
    int r = uv_tcp_bind(&l->h.tcp, (struct sockaddr *)&ss, 0);
    if (r < 0)
        return berr_set(err, 500, -r, "bind '%s': %s", hostport, uv_strerror(r));
    return 0;
}

static int listen_addr(struct listener *l, const char *addr, gid_t gid, struct berr *err)
{
    if (strncmp(addr, "unix://", 7) == 0) {
        l->is_unix = true;
        return listen_unix(l, addr + 7, gid, err);
    }
    if (strncmp(addr, "tcp://", 6) == 0)
        return listen_tcp(l, addr + 6, err);
    return berr_set(err, 400, EINVAL,
                    "invalid listen address '%s': use unix:///path or tcp://host:port", addr);
}

int srv_listen(struct srv_server *srv, const char *addr, gid_t gid, struct berr *err)
{
    struct listener *l = calloc(1, sizeof(*l));
    if (!l)
        return berr_set(err, 500, ENOMEM, "out of memory");
    l->srv = srv;
    srv->nlisteners++; /* until listener_closed_cb, whatever happens */
    list_init(&l->link);
    int r = listen_addr(l, addr, gid, err);
    if (r == 0) {
        r = uv_listen(&l->h.stream, SOMAXCONN, connection_cb);
        if (r < 0)
            berr_set(err, 500, -r, "listen on '%s': %s", addr, uv_strerror(r));
    }
    if (r < 0) {
        if (l->h.handle.type != UV_UNKNOWN_HANDLE) {
            if (l->path)
                unlink(l->path);
            uv_close(&l->h.handle, listener_closed_cb);
        } else {
            free(l);
            srv->nlisteners--;
        }
        return r;
    }
    list_add_tail(&srv->listeners, &l->link);
    return 0;
}
