/* SPDX-License-Identifier: MIT */
/*
 * Source ports of lbd's own outgoing connections (health checks, the
 * userspace TCP and HTTP proxies). While the XDP tier runs fullnat, it may
 * keep a client's own source port as the SNAT port, except in the band
 * XLB_HOST_PORT_MIN..MAX (bpf/lb_kern_user.h); lbd's own connections
 * take their ephemeral ports from that band, so a server's reply to lbd is
 * never mistaken for a reply to a fullnat flow.
 */
#ifndef XLB_SRCPORT_H
#define XLB_SRCPORT_H

#include <stdbool.h>

/* Set by the XDP glue when the program is attached. */
void srcport_set_host_band(bool on);
/* Call on a socket before connect(). */
void srcport_apply(int fd);

#endif
