/* SPDX-License-Identifier: MIT */
/*
 * Traffic logs (`option tcplog`, `option httplog`) in HAProxy's formats, sent
 * to the proxy's `log` targets: stdout, stderr, fd@N, a unix syslog socket
 * (/dev/log) or a UDP syslog server (ADDR[:PORT]), each in its `format`,
 * cut to its `len`, filtered by its level.
 */
#ifndef XLB_TLOG_H
#define XLB_TLOG_H

#include <stdint.h>
#include <sys/socket.h>

#include "model.h"

struct logfmt;

/* One mode tcp connection, for its log line. */
struct tlog_tcp {
	struct proxy *fe, *be;
	struct server *srv;
	const struct sockaddr_storage *src;
	const struct sockaddr_storage *dst; /* %fi %fp; NULL: unknown */
	const struct sockaddr_storage *bsrc; /* %bi %bp; NULL: unknown */
	double accept_time; /* wall clock seconds (ev_now) */
	int tw_ms, tc_ms, tt_ms;
	uint64_t bytes; /* bytes sent to the client */
	uint64_t bytes_in; /* %U: bytes received from the client */
	char term[2];
	int fe_conns, srv_conns;
	int retries;
	uint64_t rt; /* %rt */
	const struct logfmt *fmt; /* the frontend's log-format; NULL: tcplog */
	const struct logfmt *uid_fmt; /* its unique-id-format (%ID), or NULL */
};

/* Where a log_target writes (log_target.kind). */
enum {
	TLOG_T_NONE,
	TLOG_T_FD, /* stdout, stderr, fd@N: one line per write() */
	TLOG_T_DGRAM, /* a unix datagram socket (/dev/log) or UDP syslog */
};

/* HAProxy's log formats (log_target.fmt). */
enum {
	TLOG_F_RFC3164, /* <PRI>Mmm dd hh:mm:ss lbd[PID]: text (the default) */
	TLOG_F_LOCAL, /* the same (lbd sends no host name in either) */
	TLOG_F_RFC5424, /* <PRI>1 ISO-DATE HOST lbd PID - - text */
	TLOG_F_PRIORITY, /* <PRI>text */
	TLOG_F_SHORT, /* <LEVEL>text */
	TLOG_F_TIMED, /* <LEVEL>ISO-DATE text */
	TLOG_F_ISO, /* ISO-DATE text */
	TLOG_F_RAW, /* text (the default for stdout and stderr) */
};

#define TLOG_DEFAULT_LEN 1024 /* `len` when not given, as HAProxy */
#define TLOG_MAX_LEN 65535 /* the largest `len` */

/*
 * Resolve a parsed target once (kind, fd or address; facility, levels and
 * format as numbers): the emitting path then only formats and writes.
 * -1 with *err on an invalid or unsupported target.
 */
int tlog_target_init(struct log_target *lt, char **err);
/*
 * The message for one target: its header in the target's format, then the
 * line, cut to the target's `len`; level capped by MINLEVEL. Returns the
 * length written to buf (NUL-terminated; size must exceed the length).
 */
int tlog_format(const struct log_target *lt, int level, const char *line, char *buf, size_t size);

/* Syslog facility names, NULL-terminated; the index is the facility number. */
extern const char *const tlog_facilities[];
/* Level names (the index is the level) and `format` names (by TLOG_F_*), NULL-terminated. */
extern const char *const tlog_levels[];
extern const char *const tlog_formats[];

/* Log a mode tcp connection with t->fmt (or the tcplog format). */
void tlog_tcp(const struct tlog_tcp *t);
/* Send one formatted line to the proxy's log targets (or the global ones). */
void tlog_emit(struct proxy *px, int level, const char *line);
/* "[26/Nov/2026:08:40:01.123]" style date of HAProxy logs. */
void tlog_date(double when, char *buf, size_t len);
/* The host name (gethostname, looked up once), for %H and rfc5424 headers. */
const char *tlog_hostname(void);
/* "ip:port" of a sockaddr */
void tlog_addr(const struct sockaddr_storage *ss, char *buf, size_t len);
/* The global section, for `log global` (set by lbd at start and on reload). */
void tlog_set_global(struct global *g);

#endif
