#include "containers_shape.h"

#include <stdio.h>
#include <string.h>

static const char *mount_type_name(enum ctr_mount_type t)
{
    return t == MNT_BIND ? "bind" : t == MNT_TMPFS ? "tmpfs" : "volume";
}

cJSON *ctr_mounts_json(const struct container *c)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < c->hc.nmounts; i++) {
        const struct ctr_mount *m = &c->hc.mounts[i];
        if (m->from_tmpfs_map)
            continue; /* Docker lists --mount type=tmpfs only */
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "Type", mount_type_name(m->type));
        if (m->type == MNT_VOLUME)
            cJSON_AddStringToObject(o, "Name", m->source ? m->source : "");
        cJSON_AddStringToObject(o, "Source", m->type == MNT_BIND && m->source ? m->source : "");
        cJSON_AddStringToObject(o, "Destination", m->target);
        cJSON_AddStringToObject(o, "Mode", m->from_binds ? (m->readonly ? "ro" : "") : "");
        cJSON_AddBoolToObject(o, "RW", !m->readonly);
        cJSON_AddStringToObject(o, "Propagation",
                                m->type == MNT_BIND ? (m->propagation ? m->propagation : "rprivate")
                                                    : "");
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

static cJSON *endpoint_json(void)
{
    static const char *const strings[] = {"NetworkID", "EndpointID",  "Gateway",
                                          "IPAddress", "IPv6Gateway", "GlobalIPv6Address",
                                          "MacAddress"};
    cJSON *ep = cJSON_CreateObject();
    cJSON_AddNullToObject(ep, "IPAMConfig");
    cJSON_AddNullToObject(ep, "Links");
    cJSON_AddNullToObject(ep, "Aliases");
    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
        cJSON_AddStringToObject(ep, strings[i], "");
    cJSON_AddNumberToObject(ep, "IPPrefixLen", 0);
    cJSON_AddNumberToObject(ep, "GlobalIPv6PrefixLen", 0);
    cJSON_AddNullToObject(ep, "DriverOpts");
    cJSON_AddNullToObject(ep, "DNSNames");
    return ep;
}

/* Until the networking work lands a container is attached to the network
 * its mode names, without addresses (bridge mode gets only loopback). */
cJSON *ctr_network_settings_json(const struct container *c, bool full)
{
    cJSON *ns = cJSON_CreateObject(), *nets = cJSON_CreateObject();
    if (full) {
        cJSON_AddStringToObject(ns, "Bridge", "");
        cJSON_AddStringToObject(ns, "SandboxID", "");
        cJSON_AddStringToObject(ns, "SandboxKey", "");
        cJSON_AddItemToObject(ns, "Ports", cJSON_CreateObject());
        cJSON_AddStringToObject(ns, "Gateway", "");
        cJSON_AddStringToObject(ns, "IPAddress", "");
        cJSON_AddNumberToObject(ns, "IPPrefixLen", 0);
        cJSON_AddStringToObject(ns, "MacAddress", "");
    }
    if (strncmp(c->hc.network_mode, "container:", 10))
        cJSON_AddItemToObject(nets, c->hc.network_mode, endpoint_json());
    cJSON_AddItemToObject(ns, "Networks", nets);
    return ns;
}

void human_duration(int64_t ns, char *out, size_t outlen)
{
    double s = (double)ns / 1e9;
    long secs = (long)s, mins = (long)(s / 60), hours = (long)(s / 3600 + 0.5);
    if (s < 1)
        snprintf(out, outlen, "Less than a second");
    else if (secs == 1)
        snprintf(out, outlen, "1 second");
    else if (secs < 60)
        snprintf(out, outlen, "%ld seconds", secs);
    else if (mins == 1)
        snprintf(out, outlen, "About a minute");
    else if (mins < 60)
        snprintf(out, outlen, "%ld minutes", mins);
    else if (hours == 1)
        snprintf(out, outlen, "About an hour");
    else if (hours < 48)
        snprintf(out, outlen, "%ld hours", hours);
    else if (hours < 24 * 7 * 2)
        snprintf(out, outlen, "%ld days", hours / 24);
    else if (hours < 24 * 30 * 2)
        snprintf(out, outlen, "%ld weeks", hours / 24 / 7);
    else if (hours < 24 * 365 * 2)
        snprintf(out, outlen, "%ld months", hours / 24 / 30);
    else
        snprintf(out, outlen, "%ld years", hours / 24 / 365);
}

void ctr_status_text(const struct container *c, int64_t now_ns, char *out, size_t outlen)
{
    char d[64];
    const struct ctr_state *st = &c->st;
    switch (st->status) {
    case CTR_RUNNING:
    case CTR_PAUSED:
        human_duration(now_ns - st->started_ns, d, sizeof(d));
        snprintf(out, outlen, "Up %s%s", d, st->status == CTR_PAUSED ? " (Paused)" : "");
        return;
    case CTR_RESTARTING:
    case CTR_EXITED:
        human_duration(now_ns - st->finished_ns, d, sizeof(d));
        snprintf(out, outlen, "%s (%d) %s ago", st->status == CTR_EXITED ? "Exited" : "Restarting",
                 st->exit_code, d);
        return;
    case CTR_REMOVING:
        snprintf(out, outlen, "Removal In Progress");
        return;
    case CTR_DEAD:
        snprintf(out, outlen, "Dead");
        return;
    default:
        snprintf(out, outlen, "Created");
    }
}

void ctr_add_warnings(cJSON *o, const struct cg_warnings *warn)
{
    cJSON *w = cJSON_AddArrayToObject(o, "Warnings");
    for (size_t i = 0; w && warn && i < warn->n; i++)
        cJSON_AddItemToArray(w, cJSON_CreateString(warn->msg[i]));
}
