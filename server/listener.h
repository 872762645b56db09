/* Internal: listening sockets (unix and tcp). */
#ifndef BERTH_SERVER_LISTENER_H
#define BERTH_SERVER_LISTENER_H

struct srv_server;

/* Closes every listener (and removes unix socket files). */
void srv_listeners_close(struct srv_server *srv);

#endif
