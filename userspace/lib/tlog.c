// SPDX-License-Identifier: MIT
/* Traffic logs in HAProxy's formats, to stdout, stderr, fd@N and syslog targets. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <sys/un.h>
#include <pthread.h>

#include "cfg.h"
#include "logfmt.h"
#include "tlog.h"

static struct global *tlog_global;

const char *const tlog_facilities[] = {
	"kern",	  "user",   "mail",   "daemon", "auth",	  "syslog", "lpr",   "news",   "uucp",
	"cron",	  "auth2",  "ftp",    "ntp",	"audit",  "alert",  "cron2", "local0", "local1",
	"local2", "local3", "local4", "local5", "local6", "local7", NULL,
};

void tlog_set_global(struct global *g)
{
	tlog_global = g;
}

void tlog_date(double when, char *buf, size_t len)
{
	time_t sec = (time_t)when;
	struct tm tm;
	char tmp[40];

	localtime_r(&sec, &tm);
	strftime(tmp, sizeof(tmp), "%d/%b/%Y:%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03d", tmp, (int)((when - (double)sec) * 1000) % 1000);
}

void tlog_addr(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "-";

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)ss;

		inet_ntop(AF_INET, &s->sin_addr, ip, sizeof(ip));
		snprintf(buf, len, "%s:%d", ip, ntohs(s->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)ss;

		inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof(ip));
		snprintf(buf, len, "%s:%d", ip, ntohs(s->sin6_port));
	} else {
		snprintf(buf, len, "-:-");
	}
}

const char *const tlog_levels[] = {
	"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug", NULL,
};

const char *const tlog_formats[] = {
	[TLOG_F_RFC3164] = "rfc3164",	[TLOG_F_LOCAL] = "local", [TLOG_F_RFC5424] = "rfc5424",
	[TLOG_F_PRIORITY] = "priority", [TLOG_F_SHORT] = "short", [TLOG_F_TIMED] = "timed",
	[TLOG_F_ISO] = "iso",		[TLOG_F_RAW] = "raw",	  NULL,
};

static int word_index(const char *const *list, int n, const char *w, int dflt)
{
	for (int i = 0; w && i < n; i++)
		if (list[i] && !strcmp(w, list[i]))
			return i;
	return dflt;
}

int tlog_target_init(struct log_target *lt, char **err)
{
	const char *t = lt->target;
	long long fd;
	char *e = NULL, *spec = NULL;
	int rc;

	lt->fac = word_index(tlog_facilities, 24, lt->facility, 16);
	lt->maxlvl = word_index(tlog_levels, 8, lt->level, 7);
	lt->minlvl = word_index(tlog_levels, 8, lt->minlevel, 0);
	lt->fmt = word_index(tlog_formats, TLOG_F_RAW + 1, lt->format, TLOG_F_RFC3164);
	if (!strcmp(t, "stdout") || !strcmp(t, "stderr")) {
		lt->kind = TLOG_T_FD;
		lt->fd = t[3] == 'o' ? 1 : 2;
		/* lbd's choice: a terminal or a log collector reads plain lines */
		if (!lt->format)
			lt->fmt = TLOG_F_RAW;
		return 0;
	}
	if (!strncmp(t, "fd@", 3)) {
		if (cfg_parse_int(t + 3, 0, 65535, &fd) < 0)
			return cfg_err(err, "'log': expected fd@N, got '%s'", t);
		lt->kind = TLOG_T_FD;
		lt->fd = (int)fd;
		return 0;
	}
	if (t[0] == '/') {
		struct sockaddr_un *un = (struct sockaddr_un *)&lt->addr;

		if (strlen(t) >= sizeof(un->sun_path))
			return cfg_err(err, "'log': unix socket path too long: '%s'", t);
		un->sun_family = AF_UNIX;
		snprintf(un->sun_path, sizeof(un->sun_path), "%s", t);
		lt->addrlen = sizeof(*un);
		lt->kind = TLOG_T_DGRAM;
		return 0;
	}
	if (!strncmp(t, "ring@", 5) || !strncmp(t, "tcp@", 4))
		return cfg_err(err, "'log': target '%s' is not supported by lbd", t);
	if (!strncmp(t, "udp@", 4) || !strncmp(t, "udp4@", 5) || !strncmp(t, "udp6@", 5)) {
		if (asprintf(&spec, "%s%s",
			     t[3] == '4' ? "ipv4@" :
			     t[3] == '6' ? "ipv6@" :
					   "",
			     strchr(t, '@') + 1) < 0)
			return cfg_err(err, "out of memory");
		t = spec;
	}
	rc = cfg_parse_addr(t, &lt->addr, &lt->addrlen, 514, &e);
	free(spec);
	if (rc < 0) {
		cfg_err(err, "'log': invalid target '%s': %s", lt->target,
			e ? e : "invalid address");
		free(e);
		return -1;
	}
	lt->kind = TLOG_T_DGRAM;
	return 0;
}

/*
 * One datagram socket per address family, shared by every thread (sendto
 * on a shared socket is atomic per datagram), made on first use.
 */
static int dgram_sock(int family)
{
	static int socks[3] = { -1, -1, -1 };
	int i = family == AF_UNIX ? 0 : family == AF_INET ? 1 : 2, fd, none = -1;

	fd = __atomic_load_n(&socks[i], __ATOMIC_ACQUIRE);
	if (fd >= 0)
		return fd;
	fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (!__atomic_compare_exchange_n(&socks[i], &none, fd, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		close(fd);
		fd = none;
	}
	return fd;
}

/* Header dates, rebuilt once per second per thread. */
struct tlog_clock {
	time_t sec;
	char bsd[20]; /* "Nov 26 10:42:42" */
	char iso[40]; /* "2026-11-26T10:42:42" + ".%06ld" + "+01:00" added per line */
	char tz[8];
};

static const struct tlog_clock *tlog_clock(struct timespec *ts)
{
	static __thread struct tlog_clock c;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, ts);
	if (ts->tv_sec != c.sec) {
		char z[8];

		localtime_r(&ts->tv_sec, &tm);
		strftime(c.bsd, sizeof(c.bsd), "%b %e %H:%M:%S", &tm);
		strftime(c.iso, sizeof(c.iso), "%Y-%m-%dT%H:%M:%S", &tm);
		strftime(z, sizeof(z), "%z", &tm); /* +0100 -> +01:00 */
		snprintf(c.tz, sizeof(c.tz), "%.3s:%.2s", z, z + 3);
		c.sec = ts->tv_sec;
	}
	return &c;
}

static char tlog_host[256];

static void tlog_host_init(void)
{
	if (gethostname(tlog_host, sizeof(tlog_host) - 1) < 0 || !tlog_host[0])
		snprintf(tlog_host, sizeof(tlog_host), "-");
}

const char *tlog_hostname(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, tlog_host_init);
	return tlog_host;
}

int tlog_format(const struct log_target *lt, int level, const char *line, char *buf, size_t size)
{
	const struct tlog_clock *c;
	struct timespec ts;
	int pri, n = 0, max = lt->len > 0 ? lt->len : TLOG_DEFAULT_LEN;
	size_t len;

	if (level < lt->minlvl)
		level = lt->minlvl;
	pri = lt->fac * 8 + level;
	if (max > (int)size - 1)
		max = (int)size - 1;
	switch (lt->fmt) {
	case TLOG_F_RFC3164:
	case TLOG_F_LOCAL:
		c = tlog_clock(&ts);
		n = snprintf(buf, size, "<%d>%s lbd[%d]: ", pri, c->bsd, (int)getpid());
		break;
	case TLOG_F_RFC5424:
		c = tlog_clock(&ts);
		n = snprintf(buf, size, "<%d>1 %s.%06ld%s %s lbd %d - - ", pri, c->iso,
			     ts.tv_nsec / 1000, c->tz, tlog_hostname(), (int)getpid());
		break;
	case TLOG_F_PRIORITY:
		n = snprintf(buf, size, "<%d>", pri);
		break;
	case TLOG_F_SHORT:
		n = snprintf(buf, size, "<%d>", level);
		break;
	case TLOG_F_TIMED:
		c = tlog_clock(&ts);
		n = snprintf(buf, size, "<%d>%s.%06ld%s ", level, c->iso, ts.tv_nsec / 1000, c->tz);
		break;
	case TLOG_F_ISO:
		c = tlog_clock(&ts);
		n = snprintf(buf, size, "%s.%06ld%s ", c->iso, ts.tv_nsec / 1000, c->tz);
		break;
	default: /* raw */
		break;
	}
	if (n < 0)
		n = 0;
	if (n > max)
		n = max;
	len = strlen(line);
	if (len > (size_t)(max - n))
		len = (size_t)(max - n);
	memcpy(buf + n, line, len);
	buf[n + len] = 0;
	return n + (int)len;
}

static void emit_list(struct list_head *logs, int level, const char *line)
{
	struct log_target *t;
	char msg[TLOG_MAX_LEN + 2];
	int n, fd;

	list_for_each(t, logs, list) {
		if (!t->target || t->kind == TLOG_T_NONE || level > t->maxlvl)
			continue;
		n = tlog_format(t, level, line, msg, sizeof(msg) - 1);
		if (t->kind == TLOG_T_FD) {
			/* one write per line: lines of several threads do not mix */
			msg[n++] = '\n';
			if (write(t->fd, msg, n) < 0) {
				/* a full pipe or a closed descriptor: the line is lost, as HAProxy */
			}
			continue;
		}
		fd = dgram_sock(t->addr.ss_family);
		if (fd >= 0)
			sendto(fd, msg, n, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&t->addr,
			       t->addrlen);
	}
}

void tlog_emit(struct proxy *px, int level, const char *line)
{
	if (px)
		emit_list(&px->logs, level, line);
	if ((!px || px->log_global) && tlog_global)
		emit_list(&tlog_global->logs, level, line);
}

void tlog_tcp(const struct tlog_tcp *t)
{
	static __thread char line[TLOG_MAX_LEN + 1];
	struct acl_env env = { .src = t->src, .dst = t->dst };
	const struct logfmt *f = t->fmt ? t->fmt : logfmt_builtin(t->fe, false);
	char uid[128];
	struct lf_data d;

	memset(&d, 0, sizeof(d));
	d.fe = t->fe;
	d.be_name = t->be ? t->be->name : "<NOSRV>";
	d.srv_name = t->srv ? t->srv->name : "<NOSRV>";
	d.cli = t->src;
	d.fe_addr = t->dst;
	d.be_src = t->bsrc;
	d.srv_addr = t->srv ? &t->srv->addr : NULL;
	d.t_accept = d.t_req = t->accept_time;
	d.t_R = d.t_r = -1; /* no request, no response (HTTP timers are refused in mode tcp) */
	d.t_w = t->tw_ms;
	d.t_c = t->tc_ms;
	d.t_a = d.t_t = t->tt_ms;
	d.status = -1;
	d.bytes_out = t->bytes;
	d.bytes_in = t->bytes_in;
	d.term[0] = t->term[0];
	d.term[1] = t->term[1];
	/* %ac/%fc/%bc/%sc: lbd counts the frontend's and the server's connections */
	d.actconn = d.feconn = t->fe_conns;
	d.beconn = d.srvconn = t->srv_conns;
	d.retries = t->retries;
	d.rt = t->rt;
	d.lc = __atomic_fetch_add(&t->fe->log_count, 1, __ATOMIC_RELAXED);
	d.env = &env;
	if (t->uid_fmt && (logfmt_needs(f) & LF_NEED_ID)) {
		logfmt_render(t->uid_fmt, &d, uid, sizeof(uid));
		d.unique_id = env.unique_id = uid;
	}
	logfmt_render(f, &d, line, sizeof(line));
	tlog_emit(t->fe, 6, line);
}
