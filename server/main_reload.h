/* SIGHUP: re-read the configuration file on a worker and apply the
 * reloadable keys on the loop, then publish a daemon "reload" event. */
#ifndef BERTH_SERVER_MAIN_RELOAD_H
#define BERTH_SERVER_MAIN_RELOAD_H

struct engine;

/* applied() runs on the loop after e->cfg was replaced. A reload already in
 * flight makes this a no-op. */
void reload_start(struct engine *e, void (*applied)(struct engine *e));

#endif
