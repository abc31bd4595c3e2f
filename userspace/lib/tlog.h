/* SPDX-License-Identifier: MIT */
/*
 * Traffic logs (`option tcplog`, `option httplog`) in HAProxy's formats, sent
 * to the proxy's `log` targets: stdout, stderr, a unix syslog socket
 * (/dev/log) or a UDP syslog server (ADDR[:PORT]).
 */
#ifndef XLB_TLOG_H
#define XLB_TLOG_H

#include <stdint.h>
#include <sys/socket.h>

#include "model.h"

struct tlog_tcp {
	struct proxy *fe, *be;
	struct server *srv;
	const struct sockaddr_storage *src;
	double accept_time; /* wall clock seconds (ev_now) */
	int tw_ms, tc_ms, tt_ms;
	uint64_t bytes; /* bytes sent to the client */
	char term[2];
	int fe_conns, srv_conns;
	int retries;
};

/* Syslog facility names, NULL-terminated; the index is the facility number. */
extern const char *const tlog_facilities[];

void tlog_tcp(const struct tlog_tcp *t);
/* Send one formatted line to the proxy's log targets (or the global ones). */
void tlog_emit(struct proxy *px, int level, const char *line);
/* "[26/Nov/2026:08:40:01.123]" style date of HAProxy logs. */
void tlog_date(double when, char *buf, size_t len);
/* "ip:port" of a sockaddr */
void tlog_addr(const struct sockaddr_storage *ss, char *buf, size_t len);
/* The global section, for `log global` (set by lbd at start and on reload). */
void tlog_set_global(struct global *g);

#endif
