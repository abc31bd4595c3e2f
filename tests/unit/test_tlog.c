// SPDX-License-Identifier: MIT
/*
 * Traffic-log targets: each `log` line of a config is resolved once, then
 * every emitted line reaches the target in its format, cut to its `len`,
 * filtered by its levels. Real sockets: a unix datagram socket (as
 * /dev/log), a UDP socket on 127.0.0.1 and a pipe behind fd@N.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <regex.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "cfg.h"
#include "tlog.h"
#include "t.h"

static char dir[] = "/tmp/xlb-tlog.XXXXXX";

/* One datagram from fd (waits up to 1 s); "" when none came. */
static const char *recv_one(int fd, char *buf, size_t size)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	buf[0] = 0;
	if (poll(&p, 1, 1000) != 1)
		return buf;
	n = recv(fd, buf, size - 1, 0);
	buf[n > 0 ? n : 0] = 0;
	return buf;
}

/* Nothing more waiting on fd within 100 ms. */
static bool nothing_more(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 100) == 0;
}

static struct model *load(const char *text)
{
	char *err = NULL;
	struct model *m = cfg_load_string("t.cfg", text, &err);

	if (!m)
		printf("# %s\n", err ? err : "?");
	free(err);
	return m;
}

static struct proxy *fe(struct model *m)
{
	struct proxy *px;

	list_for_each(px, &m->proxies, list) {
		if (!strcmp(px->name, "f"))
			return px;
	}
	return NULL;
}

static bool matches(const char *s, const char *re)
{
	regex_t r;
	bool ok;

	if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB))
		return false;
	ok = !regexec(&r, s, 0, NULL, 0);
	regfree(&r);
	if (!ok)
		printf("#   '%s' !~ /%s/\n", s, re);
	return ok;
}

int main(void)
{
	char path[100], cfg[2048], buf[70000], *err = NULL, line[400];
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	struct sockaddr_in in = { .sin_family = AF_INET };
	socklen_t inlen = sizeof(in);
	int ux, udp, pfd[2];
	struct model *m;
	struct proxy *f;

	if (!mkdtemp(dir)) {
		T_OK(0, "mkdtemp: %s", strerror(errno));
		return 1;
	}
	snprintf(path, sizeof(path), "%s/log.sock", dir);
	snprintf(un.sun_path, sizeof(un.sun_path), "%s", path);
	ux = socket(AF_UNIX, SOCK_DGRAM, 0);
	T_OK(ux >= 0 && !bind(ux, (struct sockaddr *)&un, sizeof(un)), "unix syslog socket");
	in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	udp = socket(AF_INET, SOCK_DGRAM, 0);
	T_OK(udp >= 0 && !bind(udp, (struct sockaddr *)&in, sizeof(in)) &&
		     !getsockname(udp, (struct sockaddr *)&in, &inlen),
	     "UDP syslog socket on 127.0.0.1");
	T_OK(!pipe2(pfd, O_NONBLOCK), "pipe for fd@N");

	/* ---- formats, one target each ---- */
	snprintf(cfg, sizeof(cfg),
		 "frontend f\n bind :80\n"
		 " log %s local0\n"
		 " log 127.0.0.1:%d format rfc5424 local1 info\n"
		 " log %s format short local2\n"
		 " log udp@127.0.0.1:%d format priority local3\n"
		 " log %s format timed local4\n"
		 " log 127.0.0.1:%d format iso local5\n"
		 " log %s format raw local6\n"
		 " log fd@%d format local local7\n",
		 path, ntohs(in.sin_port), path, ntohs(in.sin_port), path, ntohs(in.sin_port), path,
		 pfd[1]);
	m = load(cfg);
	f = m ? fe(m) : NULL;
	T_OK(f != NULL, "a config with eight log targets loads");
	if (f) {
		ssize_t n;

		tlog_emit(f, 6, "hello world");
		T_OK(matches(recv_one(ux, buf, sizeof(buf)),
			     "^<134>[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} lbd\\[[0-9]+\\]: hello world$"),
		     "rfc3164 (default): <134> = local0.info, BSD date, lbd[PID]:");
		T_OK(matches(recv_one(udp, buf, sizeof(buf)),
			     "^<142>1 [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{6}[+-][0-9]{2}:[0-9]{2} [^ ]+ lbd [0-9]+ - - hello world$"),
		     "rfc5424 over UDP: <142> = local1.info, version 1, ISO date, host, app, pid");
		T_OK(!strcmp(recv_one(ux, buf, sizeof(buf)), "<6>hello world"),
		     "short: <LEVEL> then the text (got '%s')", buf);
		T_OK(!strcmp(recv_one(udp, buf, sizeof(buf)), "<158>hello world"),
		     "priority over udp@: <158> = local3.info (got '%s')", buf);
		T_OK(matches(recv_one(ux, buf, sizeof(buf)),
			     "^<6>[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{6}[+-][0-9:]{5} hello world$"),
		     "timed: <LEVEL>, ISO date, text");
		T_OK(matches(recv_one(udp, buf, sizeof(buf)),
			     "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{6}[+-][0-9:]{5} hello world$"),
		     "iso: ISO date, text");
		T_OK(!strcmp(recv_one(ux, buf, sizeof(buf)), "hello world"),
		     "raw: the text alone (got '%s')", buf);
		n = read(pfd[0], buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = 0;
		T_OK(matches(buf, "^<190>[A-Z][a-z]{2} .* lbd\\[[0-9]+\\]: hello world\n$"),
		     "fd@N: local format (<190> = local7.info), one line ending in a newline");
		T_OK(nothing_more(ux) && nothing_more(udp), "one message per target");

		/* the level filter of `log ... local1 info`: debug is not sent there */
		tlog_emit(f, 7, "debug line");
		T_OK(strstr(recv_one(ux, buf, sizeof(buf)), "<135>") != NULL,
		     "debug goes to a target without a level (<135> = local0.debug)");
		for (int i = 0; i < 3; i++)
			recv_one(ux, buf, sizeof(buf));
		for (int i = 0; i < 2; i++)
			recv_one(udp, buf, sizeof(buf));
		T_OK(nothing_more(udp),
		     "the 'local1 info' target drops debug (2 UDP targets of 3 got it)");
		while (read(pfd[0], buf, sizeof(buf)) > 0)
			;
	}
	model_free(m);

	/* ---- len, level and minlevel ---- */
	snprintf(cfg, sizeof(cfg),
		 "frontend f\n bind :80\n"
		 " log %s len 100 local0\n"
		 " log %s format raw local1 notice\n"
		 " log %s format priority local2 debug notice\n",
		 path, path, path);
	m = load(cfg);
	f = m ? fe(m) : NULL;
	T_OK(f != NULL, "len, level and minlevel load");
	if (f) {
		memset(line, 'x', sizeof(line) - 1);
		line[sizeof(line) - 1] = 0;
		tlog_emit(f, 6, line);
		recv_one(ux, buf, sizeof(buf));
		T_EQ_INT(strlen(buf), 100, "len 100: the message (header included) is cut at 100");
		T_OK(!strncmp(recv_one(ux, buf, sizeof(buf)), "<150>xxx", 8),
		     "an info line skips the 'notice' target; below minlevel it keeps its level: <150> = local2.info (got '%.12s')",
		     buf);
		T_OK(nothing_more(ux), "two messages for three targets");
		tlog_emit(f, 1, "alert");
		recv_one(ux, buf, sizeof(buf));
		T_OK(!strcmp(recv_one(ux, buf, sizeof(buf)), "alert"),
		     "an alert passes the notice filter (got '%s')", buf);
		T_OK(!strcmp(recv_one(ux, buf, sizeof(buf)), "<149>alert"),
		     "minlevel notice caps a more severe alert: <149> = local2.notice (got '%s')",
		     buf);
	}
	model_free(m);

	/* ---- the longest len: no line is cut below it ---- */
	snprintf(cfg, sizeof(cfg), "frontend f\n bind :80\n log %s len 65535 format raw local0\n",
		 path);
	m = load(cfg);
	f = m ? fe(m) : NULL;
	if (f) {
		char *big = malloc(60001);

		memset(big, 'y', 60000);
		big[60000] = 0;
		tlog_emit(f, 6, big);
		T_EQ_INT(strlen(recv_one(ux, buf, sizeof(buf))), 60000,
			 "len 65535: a 60000-byte line arrives whole");
		free(big);
	}
	model_free(m);

	/* ---- errors ---- */
	m = cfg_load_string("t.cfg", "frontend f\n bind :80\n log tcp@127.0.0.1:514 local0\n",
			    &err);
	T_OK(!m && err &&
		     strstr(err, "t.cfg:3: 'log': target 'tcp@127.0.0.1:514' is not supported"),
	     "tcp@ target refused by name (%s)", err ? err : "");
	free(err);
	err = NULL;
	model_free(m);
	m = cfg_load_string("t.cfg", "frontend f\n bind :80\n log 300.1.1.1 local0\n", &err);
	T_OK(!m && err && strstr(err, "'log': invalid target '300.1.1.1'"),
	     "invalid address refused (%s)", err ? err : "");
	free(err);
	model_free(m);

	close(ux);
	close(udp);
	unlink(path);
	rmdir(dir);
	return t_failed ? 1 : 0;
}
