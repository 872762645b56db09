/* /etc/hostname, /etc/hosts and /etc/resolv.conf of a container, written in
 * its directory and bind-mounted at start. */
#ifndef BERTH_RUNTIME_CTR_FILES_H
#define BERTH_RUNTIME_CTR_FILES_H

#include "common/berr.h"
#include "common/config.h"
#include "container.h"

struct ctr_files {
    char *hostname; /* Config.Hostname */
    char *domainname;
    bool host_network; /* copy the host's hosts file */
    struct strv extra_hosts, dns, dns_search, dns_options;
};

/* Loop: copies what the worker needs. */
int ctr_files_plan(const struct container *c, struct ctr_files *ret);
/* Worker: writes dir/hostname, dir/hosts, dir/resolv.conf. */
int ctr_files_write_sync(const struct ctr_files *f, const char *dir, struct berr *err);
void ctr_files_done(struct ctr_files *f);

#endif
