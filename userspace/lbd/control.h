/* SPDX-License-Identifier: MIT */
/*
 * The control plane, run by the main thread's loop: the XDP tier, the
 * runtime API, health checks, discovery, and reloads. control.c calls each
 * subsystem in order; each subsystem lives in its own file.
 */
#ifndef XLB_CONTROL_H
#define XLB_CONTROL_H

#include "lbd.h"

/* Before listeners are opened: attach XDP and mark the frontends it serves. */
int control_pre_listen(struct lbd *d, char **err);
/* After listeners: runtime API sockets, health checks, discovery. */
int control_start(struct lbd *d, char **err);
/* Soft/hard stop: close the API sockets, stop checks and discovery. */
void control_stop(struct lbd *d);
/* At exit: release what is left (XDP stays attached unless `lbctl down`). */
void control_exit(struct lbd *d);
/*
 * Re-read the config files and swap the new model in. On error the running
 * config is untouched and *err (if err) gets "file:line: ..." messages.
 * Returns 0 or -1.
 */
int control_reload(struct lbd *d, char **err);

/*
 * The XDP tier's part of a reload, set by lbd/maps.c (NULL without it):
 * called with the new model before its listeners are opened, to mark the
 * frontends it serves (px->xdp, px->xdp_reason). -1 with *err rejects the
 * reload. Frontends it leaves unmarked get the default reason.
 */
extern int (*control_xdp_reload)(struct lbd *d, struct model *nm, char **err);

/* xdp_ctl.c: attach the XDP tier before listeners open; release it at exit. */
int xdp_ctl_pre_listen(struct lbd *d, char **err);
void xdp_ctl_exit(struct lbd *d);

#endif
