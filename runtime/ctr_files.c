#include "ctr_files.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/atomicfile.h"
#include "common/buf.h"
#include "common/jsonutil.h"

static int copy_strv(const struct strv *from, struct strv *to)
{
    for (size_t i = 0; i < from->n; i++)
        if (strv_push(to, from->v[i]) < 0)
            return -ENOMEM;
    return 0;
}

int ctr_files_plan(const struct container *c, struct ctr_files *f)
{
    const char *h = json_get_str(c->config, "Hostname");
    const char *d = json_get_str(c->config, "Domainname");
    f->hostname = strdup(h ? h : "");
    f->domainname = strdup(d ? d : "");
    f->host_network = !strcmp(c->hc.network_mode, "host");
    if (!f->hostname || !f->domainname || copy_strv(&c->hc.extra_hosts, &f->extra_hosts) < 0 ||
        copy_strv(&c->hc.dns, &f->dns) < 0 || copy_strv(&c->hc.dns_search, &f->dns_search) < 0 ||
        copy_strv(&c->hc.dns_options, &f->dns_options) < 0)
        return -ENOMEM;
    return 0;
}

void ctr_files_done(struct ctr_files *f)
{
    free(f->hostname);
    free(f->domainname);
    strv_done(&f->extra_hosts);
    strv_done(&f->dns);
    strv_done(&f->dns_search);
    strv_done(&f->dns_options);
}

static int write_in(const char *dir, const char *name, const struct buf *b, struct berr *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    /* the create job makes the names durable with one directory fsync */
    return write_new_file(path, b->data ? b->data : "", b->len, 0644, true, err);
}

/* --add-host entries are "name:ip" (Docker also accepts "name=ip"). */
static void add_extra_hosts(const struct ctr_files *f, struct buf *b)
{
    for (size_t i = 0; i < f->extra_hosts.n; i++) {
        const char *e = f->extra_hosts.v[i];
        size_t n = strcspn(e, ":=");
        if (!e[n])
            continue;
        buf_printf(b, "%s\t%.*s\n", e + n + 1, (int)n, e);
    }
}

static int write_hosts(const struct ctr_files *f, const char *dir, struct berr *err)
{
    struct buf b = BUF_INIT;
    char *host = NULL;
    size_t len = 0;
    if (f->host_network && read_file_all("/etc/hosts", 1 << 20, &host, &len, err) == 0)
        buf_append(&b, host, len);
    else
        buf_printf(&b, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                       "fe00::\tip6-localnet\nff00::\tip6-mcastprefix\nff02::1\tip6-allnodes\n"
                       "ff02::2\tip6-allrouters\n");
    free(host);
    add_extra_hosts(f, &b);
    int r = write_in(dir, "hosts", &b, err);
    buf_done(&b);
    return r;
}

/* The host's resolv.conf without loopback name servers (unreachable from a
 * container's own network namespace); Google's servers when none is left,
 * as Docker does. --dns, --dns-search and --dns-option replace their parts. */
static void host_resolv(const char *text, const struct ctr_files *f, struct buf *b, int *ns)
{
    char *copy = strdup(text ? text : ""), *save = NULL;
    for (char *line = copy ? strtok_r(copy, "\n", &save) : NULL; line;
         line = strtok_r(NULL, "\n", &save)) {
        bool is_ns = !strncmp(line, "nameserver", 10);
        bool is_search = !strncmp(line, "search", 6) || !strncmp(line, "domain", 6);
        bool is_opt = !strncmp(line, "options", 7);
        if ((is_ns && (f->dns.n || strstr(line, "127.") || strstr(line, "::1"))) ||
            (is_search && f->dns_search.n) || (is_opt && f->dns_options.n))
            continue;
        *ns += is_ns;
        buf_printf(b, "%s\n", line);
    }
    free(copy);
}

static int write_resolv(const struct ctr_files *f, const char *dir, struct berr *err)
{
    struct buf b = BUF_INIT;
    char *host = NULL;
    size_t len = 0;
    int ns = 0;
    struct berr ignored = {0};
    if (read_file_all("/etc/resolv.conf", 1 << 20, &host, &len, &ignored) < 0)
        host = NULL;
    host_resolv(host, f, &b, &ns);
    free(host);
    for (size_t i = 0; i < f->dns.n; i++, ns++)
        buf_printf(&b, "nameserver %s\n", f->dns.v[i]);
    if (ns == 0)
        buf_printf(&b, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
    for (size_t i = 0; i < f->dns_search.n; i++)
        buf_printf(&b, "%s%s%s", i ? " " : "search ", f->dns_search.v[i],
                   i + 1 == f->dns_search.n ? "\n" : "");
    for (size_t i = 0; i < f->dns_options.n; i++)
        buf_printf(&b, "%s%s%s", i ? " " : "options ", f->dns_options.v[i],
                   i + 1 == f->dns_options.n ? "\n" : "");
    int r = write_in(dir, "resolv.conf", &b, err);
    buf_done(&b);
    return r;
}

int ctr_files_write_sync(const struct ctr_files *f, const char *dir, struct berr *err)
{
    struct buf b = BUF_INIT;
    buf_printf(&b, "%s\n", f->hostname);
    int r = write_in(dir, "hostname", &b, err);
    buf_done(&b);
    if (r == 0)
        r = write_hosts(f, dir, err);
    if (r == 0)
        r = write_resolv(f, dir, err);
    return r;
}
