/* SPDX-License-Identifier: MIT */
#ifndef XLB_VERSION_H
#define XLB_VERSION_H

/* lbd's own version. */
#define XLB_VERSION "0.1.0"
/* The HAProxy version whose configuration language lbd follows (.if version_atleast). */
#define XLB_HAPROXY_COMPAT "2.6.0"

#endif
