// SPDX-License-Identifier: MIT
/* Traffic logs in HAProxy's tcplog format, to stdout/stderr/syslog targets. */
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

#include "tlog.h"

static struct global *tlog_global;
static pthread_mutex_t tlog_lock = PTHREAD_MUTEX_INITIALIZER;

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

static int facility_num(const char *f)
{
	for (int i = 0; f && tlog_facilities[i]; i++)
		if (!strcmp(f, tlog_facilities[i]))
			return i;
	return 16; /* local0 */
}

static void send_syslog(const char *target, int fac, int level, const char *line)
{
	char msg[4096], when[32];
	time_t now = time(NULL);
	struct tm tm;
	int fd, n;

	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%b %e %H:%M:%S", &tm);
	n = snprintf(msg, sizeof(msg), "<%d>%s lbd[%d]: %s", fac * 8 + level, when, (int)getpid(),
		     line);
	if (n < 0)
		return;
	if (n >= (int)sizeof(msg))
		n = sizeof(msg) - 1;
	if (target[0] == '/') {
		struct sockaddr_un un = { .sun_family = AF_UNIX };

		fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return;
		snprintf(un.sun_path, sizeof(un.sun_path), "%s", target);
		sendto(fd, msg, n, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&un, sizeof(un));
		close(fd);
		return;
	}
	{
		char host[256], *colon;
		const char *port = "514";
		struct addrinfo hints = { .ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICHOST },
				*ai = NULL;

		snprintf(host, sizeof(host), "%s", target);
		if (!strncmp(host, "udp@", 4))
			memmove(host, host + 4, strlen(host + 4) + 1);
		colon = strrchr(host, ':');
		if (colon && !strchr(colon, ']') && strchr(host, ':') == colon) {
			*colon = 0;
			port = colon + 1;
		}
		if (host[0] == '[') {
			char *e = strchr(host, ']');

			if (e)
				*e = 0;
			memmove(host, host + 1, strlen(host));
		}
		if (getaddrinfo(host, port, &hints, &ai) || !ai)
			return;
		fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd >= 0) {
			sendto(fd, msg, n, MSG_DONTWAIT | MSG_NOSIGNAL, ai->ai_addr,
			       ai->ai_addrlen);
			close(fd);
		}
		freeaddrinfo(ai);
	}
}

static void emit_list(struct list_head *logs, int level, const char *line)
{
	struct log_target *t;

	list_for_each(t, logs, list) {
		if (!t->target)
			continue;
		if (!strcmp(t->target, "stdout") || !strcmp(t->target, "stderr")) {
			FILE *f = t->target[3] == 'o' ? stdout : stderr;

			pthread_mutex_lock(&tlog_lock);
			fprintf(f, "%s\n", line);
			fflush(f);
			pthread_mutex_unlock(&tlog_lock);
		} else if (strcmp(t->target, "global")) {
			send_syslog(t->target, facility_num(t->facility), level, line);
		}
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
	char line[1024], src[80], date[48];

	tlog_addr(t->src, src, sizeof(src));
	tlog_date(t->accept_time, date, sizeof(date));
	/* %ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq */
	snprintf(line, sizeof(line), "%s [%s] %s %s/%s %d/%d/%d %llu %c%c %d/%d/%d/%d/%d 0/0", src,
		 date, t->fe->name, t->be ? t->be->name : "<NOSRV>",
		 t->srv ? t->srv->name : "<NOSRV>", t->tw_ms, t->tc_ms, t->tt_ms,
		 (unsigned long long)t->bytes, t->term[0], t->term[1], t->fe_conns, t->fe_conns,
		 t->srv_conns, t->srv_conns, t->retries);
	tlog_emit(t->fe, 6, line);
}
