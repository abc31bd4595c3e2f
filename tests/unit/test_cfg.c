// SPDX-License-Identifier: MIT
/*
 * Config parser and model: every keyword with a valid and an invalid line,
 * file:line in messages, sections, defaults inheritance, listen semantics,
 * finalisation (backend resolution, ids, pools) and Debian's stock config.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>

#include "algo.h"
#include "cfg.h"
#include "cfg_lex.h"
#include "t.h"

static char fix[256]; /* tests/unit/cfg */
static char msgs[16384]; /* warnings and notices seen */

static void capture(enum cfg_msg_level level, const char *msg, void *arg)
{
	static const char *const names[] = { "diag", "notice", "warning" };
	size_t len = strlen(msgs);

	snprintf(msgs + len, sizeof(msgs) - len, "[%s] %s\n", names[level], msg);
}

static struct model *load(const char *text, char **err)
{
	msgs[0] = '\0';
	return cfg_load_string("t.cfg", text, err);
}

/* The text must load; returns the model (free it) or NULL. */
static struct model *good_m(const char *text, const char *what)
{
	char *err = NULL;
	struct model *m = load(text, &err);

	T_OK(m != NULL, "valid: %s", what);
	if (!m)
		printf("#   error: %s\n", err ? err : "(none)");
	free(err);
	return m;
}

static void good(const char *text, const char *what)
{
	model_free(good_m(text, what));
}

/* The text must fail with a message containing `needle`. */
static void bad(const char *text, const char *needle, const char *what)
{
	char *err = NULL;
	struct model *m = load(text, &err);
	bool ok = !m && err && strstr(err, needle);

	T_OK(ok, "invalid: %s", what);
	if (!ok)
		printf("#   expected '%s', got: %s\n", needle,
		       m   ? "(loaded)" :
		       err ? err :
			     "(none)");
	model_free(m);
	free(err);
}

static struct proxy *px(struct model *m, const char *name)
{
	return m ? model_find_proxy(m, name, 0) : NULL;
}

static struct server *srv(struct model *m, const char *be_srv)
{
	return m ? model_find_server(m, be_srv) : NULL;
}

static int nbinds(const struct proxy *p)
{
	struct bind *b;
	int n = 0;

	list_for_each(b, &p->binds, list)
		n++;
	return n;
}

static struct bind *first_bind(const struct proxy *p)
{
	return list_empty(&p->binds) ? NULL : list_entry(p->binds.next, struct bind, list);
}

static int port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return -1;
}

static char *cat(const char *a, const char *b)
{
	static char buf[4][8192];
	static int i;
	char *o = buf[i++ & 3];

	snprintf(o, sizeof(buf[0]), "%s%s", a, b);
	return o;
}

#define GL(x) cat("global\n", x)
#define DEF(x) cat("defaults\n", x)
#define BE(x) cat("backend b\n", x)
#define FE(x) cat("frontend f\n bind :8080\n", x)

/* ---- global ---- */

static void test_global(void)
{
	struct model *m;
	char buf[2048];

	m = good_m("", "empty config");
	T_OK(m && m->global.maxconn == 4096 && m->global.tune_bufsize == 16384 &&
		     m->global.tune_maxhdr == 101 && m->global.stats_timeout == 10000 &&
		     m->global.uid == -1 && m->global.gid == -1,
	     "model defaults");
	T_OK(m && list_empty(&m->proxies), "no proxies");
	model_free(m);

	good(GL(" log /dev/log local0\n log 127.0.0.1:514 local1 notice\n"
		" log stdout format raw daemon\n log 10.0.0.1 len 1024 local2 info err\n"
		" log udp@10.0.0.2:514 local3\n log fd@1 user\n"),
	     "log targets");
	m = good_m(GL(" log /dev/log len 2048 format rfc5424 local0 info notice\n"), "log fields");
	if (m) {
		struct log_target *lt = list_entry(m->global.logs.next, struct log_target, list);

		T_OK(!strcmp(lt->target, "/dev/log") && !strcmp(lt->facility, "local0") &&
			     !strcmp(lt->level, "info") && !strcmp(lt->minlevel, "notice") &&
			     !strcmp(lt->format, "rfc5424") && lt->len == 2048,
		     "log stored");
	}
	model_free(m);
	bad(GL(" log\n"), "t.cfg:2: 'log': expected 'global' or a target", "log without target");
	bad(GL(" log /dev/log\n"), "t.cfg:2: 'log': expected a facility", "log without facility");
	bad(GL(" log /dev/log local9\n"), "'log': expected a facility", "log bad facility");
	bad(GL(" log /dev/log local0 loud\n"), "'log': expected a level", "log bad level");
	bad(GL(" log /dev/log local0 info loud\n"), "minimum level", "log bad min level");
	bad(GL(" log /dev/log local0 info err x\n"), "unexpected argument 'x'", "log extra");
	bad(GL(" log global\n"), "'log global' is only valid in proxies", "log global in global");
	bad(GL(" log /dev/log format xml local0\n"), "'format' expects", "log bad format");
	bad(GL(" log /dev/log len 10 local0\n"), "'len' expects", "log bad len");
	bad(GL(" log /dev/log sample 1:2 local0\n"), "not supported by lbd", "log sample");
	bad(GL(" log ring@buf local0\n"), "not supported by lbd", "log ring");
	m = good_m(GL(" log /dev/log local0\n no log\n"), "no log in global");
	T_OK(m && list_empty(&m->global.logs), "no log clears");
	model_free(m);

	m = good_m(GL(" maxconn 100\n"), "maxconn");
	T_EQ_INT(m ? m->global.maxconn : 0, 100, "maxconn stored");
	model_free(m);
	bad(GL(" maxconn abc\n"), "t.cfg:2: 'maxconn': expected a number of connections",
	    "maxconn abc");
	bad(GL(" maxconn 0\n"), "'maxconn'", "maxconn 0");
	bad(GL(" maxconn\n"),
	    "'maxconn': expected a number of connections (1..10000000), got nothing",
	    "maxconn missing");
	bad(GL(" maxconn 1 2\n"), "got extra argument '2'", "maxconn extra");

	m = good_m(GL(" nbthread 4\n"), "nbthread");
	T_EQ_INT(m ? m->global.nbthread : 0, 4, "nbthread stored");
	model_free(m);
	bad(GL(" nbthread 0\n"), "'nbthread': expected a number of threads", "nbthread 0");
	bad(GL(" nbthread 1000\n"), "'nbthread'", "nbthread too many");
	bad(GL(" nbproc 2\n"), "'nbproc' was removed in HAProxy 2.5; use 'nbthread'", "nbproc");

	m = good_m(GL(" daemon\n"), "daemon");
	T_OK(m && m->global.daemon, "daemon set");
	model_free(m);
	bad(GL(" daemon yes\n"), "'daemon': expected no argument, got extra argument 'yes'",
	    "daemon arg");

	m = good_m(GL(" pidfile /run/lbd.pid\n chroot /var/empty\n"), "pidfile chroot");
	T_OK(m && !strcmp(m->global.pidfile, "/run/lbd.pid") &&
		     !strcmp(m->global.chroot, "/var/empty"),
	     "pidfile chroot stored");
	model_free(m);
	bad(GL(" pidfile\n"), "'pidfile': expected a file path, got nothing", "pidfile missing");
	bad(GL(" chroot /a /b\n"), "'chroot': expected a directory, got extra argument '/b'",
	    "chroot extra");

	m = good_m(GL(" user root\n group root\n"), "user group");
	T_OK(m && m->global.uid == 0 && m->global.gid == 0 && !strcmp(m->global.user, "root"),
	     "user group resolved");
	model_free(m);
	bad(GL(" user xlb-no-such-user\n"), "'user': unknown user 'xlb-no-such-user'",
	    "unknown user");
	bad(GL(" group xlb-no-such-group\n"), "'group': unknown group", "unknown group");
	bad(GL(" user\n"), "'user': expected a user name, got nothing", "user missing");
	m = good_m(GL(" uid 1000\n gid 1001\n"), "uid gid");
	T_OK(m && m->global.uid == 1000 && m->global.gid == 1001, "uid gid stored");
	model_free(m);
	bad(GL(" uid -1\n"), "'uid': expected a numeric user id, got '-1'", "uid negative");
	bad(GL(" gid x\n"), "'gid': expected a numeric group id", "gid x");

	m = good_m(
		GL(" stats socket /run/lbd.sock mode 660 level admin expose-fd listeners uid 1 gid 2\n"
		   " stats socket ipv4@127.0.0.1:9999 level user user root group root\n"
		   " stats socket fd@5\n stats timeout 30s\n"),
		"stats socket and timeout");
	if (m) {
		struct stats_socket *s =
			list_entry(m->global.stats_sockets.next, struct stats_socket, list);
		struct stats_socket *s2 = list_entry(s->list.next, struct stats_socket, list);

		T_OK(!strcmp(s->path, "/run/lbd.sock") && s->mode == 0660 && s->level == 2 &&
			     s->expose_fd && s->uid == 1 && s->gid == 2 && s->loc.line == 2,
		     "stats socket stored");
		T_OK(s2->level == 0 && s2->uid == 0 && s2->gid == 0 && s2->mode == -1,
		     "second stats socket");
		T_EQ_INT(m->global.stats_timeout, 30000, "stats timeout");
	}
	model_free(m);
	m = good_m(GL(" stats socket /run/x.sock\n"), "stats socket default level");
	T_OK(m && list_entry(m->global.stats_sockets.next, struct stats_socket, list)->level == 1,
	     "default level operator");
	model_free(m);
	bad(GL(" stats socket\n"), "'stats socket': expected a path", "stats socket no path");
	bad(GL(" stats socket /x mode 999\n"), "'mode' expects an octal mode",
	    "stats socket bad mode");
	bad(GL(" stats socket /x level god\n"), "'level' expects user, operator or admin",
	    "bad level");
	bad(GL(" stats socket /x expose-fd all\n"), "'expose-fd' expects 'listeners'",
	    "bad expose-fd");
	bad(GL(" stats socket /x level\n"), "option 'level' expects a value", "level missing");
	bad(GL(" stats socket /x frob\n"), "'stats socket': unknown option 'frob'",
	    "unknown option");
	bad(GL(" stats socket /x process 1\n"), "not supported by lbd", "process option");
	bad(GL(" stats socket 127.0.0.1\n"), "missing port", "stats socket address without port");
	bad(GL(" stats timeout abc\n"), "'stats timeout': expected a time such as 30s, got 'abc'",
	    "stats timeout bad");
	bad(GL(" stats foo\n"), "'stats': expected 'socket' or 'timeout', got 'foo'", "stats foo");
	bad(GL(" stats\n"), "'stats': expected 'socket' or 'timeout', got nothing", "stats alone");
	bad(GL(" stats maxconn 10\n"), "'stats maxconn' is an HAProxy keyword", "stats maxconn");

	m = good_m(GL(" ca-base /etc/ssl/certs\n crt-base /etc/ssl/private\n"), "ca-base crt-base");
	T_OK(m && !strcmp(m->global.ca_base, "/etc/ssl/certs") &&
		     !strcmp(m->global.crt_base, "/etc/ssl/private"),
	     "bases stored");
	model_free(m);
	bad(GL(" ca-base\n"), "'ca-base': expected a directory, got nothing", "ca-base missing");
	bad(GL(" crt-base a b\n"), "'crt-base': expected a directory, got extra", "crt-base extra");

	m = good_m(GL(" ssl-default-bind-ciphers ECDHE-RSA-AES128-GCM-SHA256\n"
		      " ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256\n"
		      " ssl-default-server-ciphers HIGH\n"
		      " ssl-default-server-ciphersuites TLS_AES_256_GCM_SHA384\n"
		      " ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets\n"
		      " ssl-default-server-options no-sslv3 ssl-max-ver TLSv1.3\n"),
		   "ssl defaults");
	T_OK(m && !strcmp(m->global.ssl_bind_ciphers, "ECDHE-RSA-AES128-GCM-SHA256") &&
		     !strcmp(m->global.ssl_bind_ciphersuites, "TLS_AES_128_GCM_SHA256") &&
		     !strcmp(m->global.ssl_server_ciphers, "HIGH") &&
		     !strcmp(m->global.ssl_server_ciphersuites, "TLS_AES_256_GCM_SHA384") &&
		     !strcmp(m->global.ssl_bind_options, "ssl-min-ver TLSv1.2 no-tls-tickets") &&
		     !strcmp(m->global.ssl_server_options, "no-sslv3 ssl-max-ver TLSv1.3"),
	     "ssl defaults stored");
	model_free(m);
	bad(GL(" ssl-default-bind-ciphers\n"), "'ssl-default-bind-ciphers': expected a cipher list",
	    "ciphers missing");
	bad(GL(" ssl-default-bind-ciphersuites a b\n"), "got extra argument 'b'",
	    "ciphersuites extra");
	bad(GL(" ssl-default-server-ciphers\n"), "expected a cipher list",
	    "server ciphers missing");
	bad(GL(" ssl-default-server-ciphersuites\n"), "expected a cipher list",
	    "server ciphersuites missing");
	bad(GL(" ssl-default-bind-options ssl-min-ver TLSv9\n"), "expects SSLv3, TLSv1.0",
	    "bad TLS version");
	bad(GL(" ssl-default-bind-options frob\n"), "unknown option 'frob'", "bad bind option");
	bad(GL(" ssl-default-bind-options\n"), "expected options", "bind options missing");
	bad(GL(" ssl-default-server-options prefer-client-ciphers\n"), "unknown option",
	    "bind-only option on servers");
	m = good_m(GL(" ssl-server-verify none\n"), "ssl-server-verify");
	T_OK(m && m->global.ssl_server_verify_none, "ssl-server-verify stored");
	model_free(m);
	bad(GL(" ssl-server-verify maybe\n"), "expected 'none' or 'required', got 'maybe'",
	    "ssl-server-verify bad");
	snprintf(buf, sizeof(buf), "global\n ssl-dh-param-file %s/dummy.pem\n", fix);
	good(buf, "ssl-dh-param-file");
	bad(GL(" ssl-dh-param-file /nonexistent/dh.pem\n"), "cannot read '/nonexistent/dh.pem'",
	    "ssl-dh-param-file missing file");

	m = good_m(
		GL(" tune.bufsize 32768\n tune.http.maxhdr 200\n tune.ssl.default-dh-param 2048\n"),
		"tune");
	T_OK(m && m->global.tune_bufsize == 32768 && m->global.tune_maxhdr == 200 &&
		     m->global.tune_ssl_dh_param == 2048,
	     "tune stored");
	model_free(m);
	good(GL(" tune.bufsize 16k\n"), "tune.bufsize with unit");
	bad(GL(" tune.bufsize 10\n"), "'tune.bufsize': expected a size between 1024",
	    "bufsize small");
	bad(GL(" tune.http.maxhdr 0\n"), "'tune.http.maxhdr'", "maxhdr 0");
	bad(GL(" tune.ssl.default-dh-param 512\n"), "'tune.ssl.default-dh-param'", "dh 512");
	bad(GL(" tune.ssl.cachesize 100\n"),
	    "'tune.ssl.cachesize' is an HAProxy keyword that lbd does not support",
	    "unsupported tune");

	m = good_m(
		GL(" spread-checks 5\n hard-stop-after 1m\n node lb1\n description edge balancer\n"),
		"misc");
	T_OK(m && m->global.spread_checks == 5 && m->global.hard_stop_after == 60000 &&
		     !strcmp(m->global.node, "lb1") &&
		     !strcmp(m->global.description, "edge balancer"),
	     "misc stored");
	model_free(m);
	bad(GL(" spread-checks 60\n"), "'spread-checks': expected a percentage", "spread 60");
	bad(GL(" hard-stop-after soon\n"), "'hard-stop-after': expected a time", "hard-stop bad");
	bad(GL(" node\n"), "'node': expected a node name, got nothing", "node missing");
	bad(GL(" description\n"), "'description': expected a text, got nothing",
	    "description missing");

	m = good_m(
		GL(" xlb-interface eth0,eth1\n xlb-xdp-mode generic\n xlb-pin-root /sys/fs/bpf/t\n"
		   " xlb-state-file /var/lib/lbd/state\n"),
		"xlb keywords");
	T_OK(m && !strcmp(m->global.xdp_ifaces, "eth0,eth1") && m->global.xdp_mode == 1 &&
		     !strcmp(m->global.bpf_pin_root, "/sys/fs/bpf/t") &&
		     !strcmp(m->global.state_file, "/var/lib/lbd/state"),
	     "xlb keywords stored");
	model_free(m);
	m = good_m(GL(" xlb-xdp-mode native\n"), "xdp native");
	T_EQ_INT(m ? m->global.xdp_mode : -1, 0, "native = 0");
	model_free(m);
	m = good_m(GL(" xlb-xdp-mode auto\n"), "xdp auto");
	T_EQ_INT(m ? m->global.xdp_mode : -1, 2, "auto = 2");
	model_free(m);
	bad(GL(" xlb-interface eth0,,eth1\n"), "'xlb-interface': invalid interface name ''",
	    "empty iface");
	bad(GL(" xlb-interface averyveryverylongname0\n"), "invalid interface name", "long iface");
	bad(GL(" xlb-interface\n"), "'xlb-interface': expected interface names", "iface missing");
	bad(GL(" xlb-xdp-mode fast\n"),
	    "'xlb-xdp-mode': expected native, generic or auto, got 'fast'", "xdp mode bad");
	bad(GL(" xlb-pin-root relative/path\n"), "'xlb-pin-root': expected an absolute path",
	    "pin root relative");
	bad(GL(" xlb-state-file\n"), "'xlb-state-file': expected a file path",
	    "state file missing");

	bad(GL(" ulimit-n 1000\n"),
	    "t.cfg:2: 'ulimit-n' is an HAProxy keyword that lbd does not support",
	    "unsupported global keyword");
	bad(GL(" frobnicate 1\n"), "t.cfg:2: unknown keyword 'frobnicate' in 'global' section",
	    "unknown global keyword");
	bad(GL(" bind :80\n"),
	    "t.cfg:2: 'bind' is not allowed in 'global' section (only in: frontend, listen)",
	    "proxy keyword in global");
	bad(GL(" timeout client 5s\n"), "'timeout' is not allowed in 'global' section",
	    "timeout in global");
	bad("global extra\n", "t.cfg:1: 'global': expected no argument, got 'extra'", "global arg");
	good("global\nglobal\n maxconn 5\n", "several global sections");
}

/* ---- bind ---- */

static void test_bind(void)
{
	struct model *m;
	struct bind *b;
	char buf[2048];

	m = good_m("frontend f\n bind 127.0.0.1:80\n", "bind IPv4");
	b = m ? first_bind(px(m, "f")) : NULL;
	T_OK(b && b->addr.ss_family == AF_INET && port_of(&b->addr) == 80 && b->proto == BIND_TCP &&
		     b->inherited_fd == -1 && b->fd == -1 && !strcmp(b->name, "127.0.0.1:80") &&
		     b->loc.line == 2 && b->fe == px(m, "f"),
	     "bind stored");
	model_free(m);
	m = good_m("frontend f\n bind *:81\n bind :82\n", "bind * and empty host");
	b = m ? first_bind(px(m, "f")) : NULL;
	T_OK(b && b->addr.ss_family == AF_INET &&
		     ((struct sockaddr_in *)&b->addr)->sin_addr.s_addr == htonl(INADDR_ANY) &&
		     port_of(&b->addr) == 81,
	     "*:81 is any");
	T_EQ_INT(m ? nbinds(px(m, "f")) : 0, 2, "two binds");
	model_free(m);
	m = good_m("frontend f\n bind [::]:80\n bind :::81\n bind [::1]:82\n bind ipv6@::1:83\n",
		   "bind IPv6 forms");
	if (m) {
		int ok = 1, port = 80;

		list_for_each(b, &px(m, "f")->binds, list) {
			ok &= b->addr.ss_family == AF_INET6 && port_of(&b->addr) == port++;
		}
		T_OK(ok && nbinds(px(m, "f")) == 4, "IPv6 binds");
	}
	model_free(m);
	m = good_m("frontend f\n bind 127.0.0.1:8000-8009\n", "bind port range");
	T_EQ_INT(m ? nbinds(px(m, "f")) : 0, 10, "range expands to 10 binds");
	model_free(m);
	m = good_m("frontend f\n bind 127.0.0.1:80,127.0.0.2:81,[::1]:82\n", "bind address list");
	T_EQ_INT(m ? nbinds(px(m, "f")) : 0, 3, "list expands to 3 binds");
	model_free(m);
	setenv("XLB_T_FD", "5", 1);
	m = good_m("frontend f\n bind fd@3\n bind fd@${XLB_T_FD}\n", "bind fd@");
	if (m) {
		struct bind *b2;

		b = first_bind(px(m, "f"));
		b2 = list_entry(b->list.next, struct bind, list);
		T_OK(b->inherited_fd == 3 && b2->inherited_fd == 5, "fd@N and fd@${VAR}");
	}
	model_free(m);
	m = good_m("frontend f\n bind ipv4@127.0.0.1:80\n bind udp@:53\n bind udp4@127.0.0.1:54\n"
		   " bind udp6@[::1]:55\n bind tcp4@:56\n",
		   "bind prefixes");
	if (m) {
		int udp = 0;

		list_for_each(b, &px(m, "f")->binds, list)
			udp += b->proto == BIND_UDP;
		T_EQ_INT(udp, 3, "udp@ binds have proto UDP");
	}
	model_free(m);
	snprintf(buf, sizeof(buf),
		 "frontend f\n mode http\n"
		 " bind :443 ssl crt %s/test-cert.pem name web transparent alpn h2,http/1.1\n"
		 " bind [::]:444 v6only\n bind [::]:445 v4v6\n",
		 fix);
	m = good_m(buf, "bind options");
	if (m) {
		struct bind *b2, *b3;

		b = first_bind(px(m, "f"));
		b2 = list_entry(b->list.next, struct bind, list);
		b3 = list_entry(b2->list.next, struct bind, list);
		T_OK(b->ssl && b->crt && strstr(b->crt, "test-cert.pem") &&
			     !strcmp(b->label, "web") && b->transparent &&
			     !strcmp(b->alpn, "h2,http/1.1"),
		     "ssl crt name transparent alpn stored");
		T_OK(b2->v6only && !b2->v4v6 && b3->v4v6, "v6only v4v6 stored");
	}
	model_free(m);
	snprintf(buf, sizeof(buf),
		 "global\n crt-base %s\nfrontend f\n mode http\n bind :443 ssl crt test-cert.pem\n",
		 fix);
	m = good_m(buf, "crt relative to crt-base");
	b = m ? first_bind(px(m, "f")) : NULL;
	T_OK(b && b->crt && !strncmp(b->crt, fix, strlen(fix)) && strstr(b->crt, "/test-cert.pem"),
	     "crt path joined with crt-base");
	model_free(m);

	bad("frontend f\n bind\n", "t.cfg:2: 'bind': expected ADDR:PORT", "bind missing");
	bad("frontend f\n bind 127.0.0.1\n",
	    "t.cfg:2: 'bind': expected ADDR:PORT, got '127.0.0.1' (no port)", "bind without port");
	bad("frontend f\n bind [::1]\n", "(no port)", "bind [::1] without port");
	bad("frontend f\n bind :0\n", "'bind': expected a port within 1..65535", "bind port 0");
	bad("frontend f\n bind :70000\n", "expected a port within 1..65535", "bind port too big");
	bad("frontend f\n bind :82-80\n", "invalid port range", "bind reversed range");
	bad("frontend f\n bind :1-10000\n", "port range too large", "bind huge range");
	bad("frontend f\n bind unix@/tmp/x.sock\n", "unix sockets are not supported by lbd",
	    "bind unix");
	bad("frontend f\n bind /tmp/x.sock\n", "unix sockets are not supported by lbd",
	    "bind path");
	bad("frontend f\n bind foo@1.2.3.4:80\n", "unsupported address prefix", "bind bad prefix");
	bad("frontend f\n bind :80 accept-proxy\n",
	    "t.cfg:2: 'bind': 'accept-proxy' (PROXY protocol) is not supported by lbd",
	    "accept-proxy");
	bad("frontend f\n bind :80 ssl\n", "'bind': 'ssl' needs a certificate: add 'crt FILE'",
	    "ssl without crt");
	bad("frontend f\n bind :80 ssl crt /nonexistent.pem\n",
	    "'bind': cannot read certificate '/nonexistent.pem'", "crt missing file");
	bad("frontend f\n bind :80 crt\n", "'bind': option 'crt' expects a certificate file",
	    "crt no value");
	bad("frontend f\n bind :80 frob\n", "'bind': unknown option 'frob'", "bind unknown option");
	bad("frontend f\n bind :80 tfo\n",
	    "'bind': option 'tfo' is an HAProxy option that lbd does not support",
	    "bind unsupported option");
	bad("frontend f\n bind fd@x\n", "expected fd@N", "bind fd@x");
	bad("frontend f\n bind :80,,:81\n", "empty address in the list", "bind empty list element");
	bad("frontend f\n bind [::]:80 v4v6 v6only\n", "cannot be used together",
	    "v4v6 with v6only");
	bad("frontend f\n mode http\n bind udp@:53\n",
	    "t.cfg:3: 'bind': UDP address 'udp@:53' in http frontend", "udp bind in http frontend");
	snprintf(buf, sizeof(buf), "frontend f\n bind udp@:53 ssl crt %s/dummy.pem\n", fix);
	bad(buf, "'ssl' cannot be used on a UDP address", "ssl on udp");
	bad("frontend f\n bind xlb-no-such-host.invalid:80\n", "cannot resolve",
	    "bind unresolvable");
	bad("backend b\n bind :80\n",
	    "'bind' is not allowed in 'backend' section (only in: frontend, listen)",
	    "bind in backend");
	bad("defaults\n bind :80\n", "'bind' is not allowed in 'defaults' section",
	    "bind in defaults");
}

/* ---- proxy keywords ---- */

static void test_mode_maxconn_timeouts(void)
{
	struct model *m;
	struct proxy *p;

	m = good_m(FE(" mode http\n maxconn 500\n"), "mode http, maxconn");
	p = px(m, "f");
	T_OK(p && p->mode == PX_MODE_HTTP && p->maxconn == 500, "mode and maxconn stored");
	model_free(m);
	good(BE(" mode tcp\n"), "mode tcp");
	bad(BE(" mode health\n"), "t.cfg:2: 'mode': expected 'tcp' or 'http', got 'health'",
	    "mode health");
	bad(BE(" mode\n"), "'mode': expected 'tcp' or 'http', got nothing", "mode missing");
	bad(FE(" maxconn -1\n"), "t.cfg:3: 'maxconn': expected a number of connections",
	    "maxconn -1");
	bad(BE(" maxconn 10\n"),
	    "t.cfg:2: 'maxconn' is not allowed in 'backend' section (only in: global, defaults, frontend, listen)",
	    "maxconn in backend");

	m = good_m(DEF(" timeout connect 5s\n timeout client 1m\n timeout server 50000\n"
		       " timeout queue 1500ms\n timeout tunnel 1h\n timeout check 500us\n"
		       " timeout http-request 10s\n timeout http-keep-alive 2s\n"
		       " timeout client-fin 1s\n timeout server-fin 24d\nbackend b\n"),
		   "all timeouts");
	p = px(m, "b");
	T_OK(p && p->to.connect == 5000 && p->to.client == 60000 && p->to.server == 50000 &&
		     p->to.queue == 1500 && p->to.tunnel == 3600000 && p->to.check == 1 &&
		     p->to.http_request == 10000 && p->to.http_keep_alive == 2000 &&
		     p->to.client_fin == 1000 && p->to.server_fin == 24u * 86400000u,
	     "timeouts converted to ms (us rounded up)");
	model_free(m);
	bad(BE(" timeout connect abc\n"),
	    "t.cfg:2: 'timeout connect': expected a time such as 5s (units us, ms, s, m, h, d; default ms), got 'abc'",
	    "timeout bad value");
	bad(BE(" timeout connect 5x\n"), "'timeout connect': expected a time", "timeout bad unit");
	bad(BE(" timeout connect 30d\n"), "'timeout connect': expected a time", "timeout overflow");
	bad(BE(" timeout connect\n"), "'timeout connect': expected a time such as 5s, got nothing",
	    "timeout missing value");
	bad(BE(" timeout connect 5s 6s\n"), "got extra argument '6s'", "timeout extra");
	bad(BE(" timeout\n"), "'timeout': expected connect, client", "timeout alone");
	bad(BE(" timeout foo 5s\n"), "'timeout': expected connect, client, server",
	    "timeout unknown");
	bad(BE(" timeout tarpit 5s\n"),
	    "'timeout tarpit' is an HAProxy keyword that lbd does not support", "timeout tarpit");
	m = good_m(BE(" timeout client 5s\n"), "timeout client in a backend");
	T_OK(strstr(msgs, "[warning] t.cfg:2: 'timeout client' has no effect in a backend") != NULL,
	     "warning for timeout client in a backend");
	model_free(m);
	bad(BE(" contimeout 5s\n"),
	    "t.cfg:2: 'contimeout' was removed from HAProxy; use 'timeout connect' instead",
	    "contimeout");
	bad(BE(" clitimeout 5s\n"), "use 'timeout client'", "clitimeout");
	bad(BE(" srvtimeout 5s\n"), "use 'timeout server'", "srvtimeout");
	bad(BE(" reqadd X-A:\\ b\n"), "use 'http-request add-header'", "reqadd");
	{
		static const char *const removed[] = {
			"reqdel",  "reqrep",   "reqirep",   "reqidel", "reqallow",   "reqiallow",
			"reqdeny", "reqideny", "reqtarpit", "reqpass", "rspadd",     "rspdel",
			"rsprep",  "rspirep",  "rspdeny",   "block",   "redispatch", NULL
		};
		char line[128], want[128];
		int i;

		for (i = 0; removed[i]; i++) {
			snprintf(line, sizeof(line), "backend b\n %s x\n", removed[i]);
			snprintf(want, sizeof(want),
				 "t.cfg:2: '%s' was removed from HAProxy; use '", removed[i]);
			bad(line, want, removed[i]);
		}
	}
}

static void test_balance(void)
{
	static const char *const names[] = { "roundrobin", "static-rr", "leastconn",
					     "first",	   "source",	NULL };
	struct model *m;
	struct proxy *p;
	char buf[256];
	int i;

	for (i = 0; names[i]; i++) {
		if (!lb_algo_find(names[i])) {
			T_SKIP("balance %s: algorithm not built", names[i]);
			continue;
		}
		snprintf(buf, sizeof(buf), "backend b\n balance %s\n", names[i]);
		m = good_m(buf, names[i]);
		p = px(m, "b");
		T_OK(p && p->algo && !strcmp(p->algo->name, names[i]), "balance %s stored",
		     names[i]);
		model_free(m);
	}
	m = good_m("backend b\n mode http\n balance uri len 10 depth 2 whole\n",
		   "balance uri options");
	p = px(m, "b");
	T_OK(p && !strcmp(p->algo->name, "uri") && p->algo_len == 10 && p->algo_depth == 2 &&
		     p->algo_whole,
	     "uri options stored");
	model_free(m);
	m = good_m("backend b\n mode http\n balance url_param userid\n", "balance url_param");
	p = px(m, "b");
	T_OK(p && !strcmp(p->algo->name, "url_param") && !strcmp(p->algo_arg, "userid"),
	     "url_param stored");
	model_free(m);
	m = good_m("backend b\n mode http\n balance hdr(Host)\n", "balance hdr");
	p = px(m, "b");
	T_OK(p && !strcmp(p->algo->name, "hdr") && !strcmp(p->algo_arg, "Host"), "hdr stored");
	model_free(m);
	m = good_m("backend b\n balance random(3)\n", "balance random(3)");
	p = px(m, "b");
	T_OK(p && !strcmp(p->algo->name, "random") && p->algo_draws == 3 && !p->algo_arg,
	     "random draws stored");
	model_free(m);
	m = good_m("backend b\n balance random 2\n", "balance random 2");
	T_EQ_INT(px(m, "b") ? px(m, "b")->algo_draws : 0, 2, "random N form");
	model_free(m);
	good("backend b\n balance random\n", "balance random");
	m = good_m("backend b\n balance roundrobin\n", "default algo");
	T_OK(m && px(m, "b")->algo == lb_algo_find("roundrobin"), "roundrobin");
	model_free(m);
	m = good_m("backend b\n", "backend without balance");
	T_OK(m && px(m, "b")->algo == lb_algo_find("roundrobin"), "default is roundrobin");
	model_free(m);
	m = good_m("backend b\n mode tcp\n balance uri\n", "balance uri in tcp");
	T_OK(m && px(m, "b")->algo == lb_algo_find("roundrobin"), "falls back to roundrobin");
	T_OK(strstr(msgs, "needs mode http") != NULL, "with a warning");
	model_free(m);

	bad(BE(" balance\n"), "t.cfg:2: 'balance': expected an algorithm", "balance missing");
	bad(BE(" balance foo\n"), "t.cfg:2: 'balance': unknown algorithm 'foo' (known: roundrobin",
	    "balance unknown lists known");
	bad(BE(" balance hdr\n"), "'balance hdr': expected hdr(NAME)", "hdr without name");
	bad(BE(" balance hdr()\n"), "'balance': empty argument in 'hdr()'", "hdr empty");
	bad(BE(" balance hdr(Host\n"), "'balance': expected 'hdr(ARG)'", "hdr unclosed");
	bad(BE(" balance hdr(host) use_domain_only\n"), "not supported by lbd", "hdr option");
	bad(BE(" balance url_param\n"), "'balance url_param': expected a parameter name",
	    "url_param missing");
	bad(BE(" balance url_param a check_post\n"), "not supported by lbd",
	    "url_param check_post");
	bad(BE(" balance uri len x\n"), "'balance uri': 'len' expects a positive number",
	    "uri len x");
	bad(BE(" balance uri foo\n"), "'balance uri': expected len N, depth N or whole, got 'foo'",
	    "uri unknown option");
	bad(BE(" balance roundrobin extra\n"),
	    "'balance roundrobin': expected no argument, got 'extra'", "roundrobin extra");
	bad(BE(" balance random(0)\n"), "'balance random': expected a number of draws",
	    "random(0)");
	bad(BE(" balance source(x)\n"), "takes no argument in parentheses", "source(x)");
	bad(FE(" balance roundrobin\n"), "'balance' is not allowed in 'frontend' section",
	    "balance in frontend");

	m = good_m("backend b\n hash-type consistent djb2 avalanche\n", "hash-type consistent");
	p = px(m, "b");
	T_OK(p && p->hash_type == HASH_CONSISTENT && !strcmp(p->hash_fn, "djb2") &&
		     p->hash_avalanche,
	     "hash-type stored");
	model_free(m);
	m = good_m("backend b\n hash-type map-based\n", "hash-type map-based");
	p = px(m, "b");
	T_OK(p && p->hash_type == HASH_MAP_BASED && !strcmp(p->hash_fn, "sdbm"), "default sdbm");
	model_free(m);
	good("backend b\n hash-type consistent crc32\n", "hash-type crc32");
	bad(BE(" hash-type\n"), "'hash-type': expected 'map-based' or 'consistent', got nothing",
	    "hash-type missing");
	bad(BE(" hash-type ring\n"), "got 'ring'", "hash-type bad");
	bad(BE(" hash-type consistent md5\n"), "'hash-type': expected a function", "hash fn bad");
}

static void test_routing(void)
{
	struct switch_rule *sr;
	struct model *m;
	struct proxy *f;
	char buf[2048];

	m = good_m("frontend f\n bind :80\n mode http\n acl is_api path_beg /api /v2\n"
		   " use_backend api if is_api METH_GET\n use_backend web unless is_api\n"
		   " use_backend %[req.hdr(host),lower]\n default_backend web\n"
		   "backend api\n mode http\nbackend web\n mode http\n",
		   "routing");
	f = px(m, "f");
	if (f) {
		struct acl_def *acl = list_entry(f->acls.next, struct acl_def, list);
		struct switch_rule *r2, *r3;

		sr = list_entry(f->switch_rules.next, struct switch_rule, list);
		r2 = list_entry(sr->list.next, struct switch_rule, list);
		r3 = list_entry(r2->list.next, struct switch_rule, list);
		T_OK(!strcmp(acl->name, "is_api") && acl->nargs == 3 &&
			     !strcmp(acl->args[0], "path_beg") && !strcmp(acl->args[2], "/v2") &&
			     !acl->args[3] && acl->loc.line == 4,
		     "acl words stored");
		T_OK(sr->be == px(m, "api") && sr->cond && !sr->cond->unless &&
			     sr->cond->nwords == 2 && !strcmp(sr->cond->words[1], "METH_GET") &&
			     sr->loc.line == 5,
		     "use_backend if resolved with its condition");
		T_OK(r2->be == px(m, "web") && r2->cond && r2->cond->unless, "use_backend unless");
		T_OK(!r3->be && !r3->cond && !strcmp(r3->be_name, "%[req.hdr(host),lower]"),
		     "dynamic use_backend left for the L7 tier");
		T_OK(f->default_backend == px(m, "web"), "default_backend resolved");
	}
	model_free(m);

	bad(FE(" default_backend\n"),
	    "t.cfg:3: 'default_backend': expected a backend name, got nothing",
	    "default_backend missing");
	bad(FE(" default_backend a b\n"), "got extra argument 'b'", "default_backend extra");
	bad(FE(" default_backend nope\n"), "t.cfg:3: 'default_backend': no backend named 'nope'",
	    "default_backend unknown");
	bad("frontend g\n bind :81\n"
	    "frontend f\n bind :80\n default_backend g\n",
	    "t.cfg:5: 'default_backend': 'g' is a frontend, not a backend",
	    "default_backend to frontend");
	bad(FE(" mode http\n default_backend b\nbackend b\n mode tcp\n"),
	    "t.cfg:4: 'default_backend': http frontend 'f' cannot use backend 'b': it is in mode tcp",
	    "http frontend to tcp backend");
	good(FE(" mode tcp\n default_backend b\nbackend b\n mode http\n"),
	     "tcp frontend to http backend is allowed");
	bad(FE(" use_backend\n"), "'use_backend': expected a backend name, got nothing",
	    "use_backend missing");
	bad(FE(" use_backend b if\n"),
	    "t.cfg:3: 'use_backend': expected a condition after 'if', got nothing",
	    "use_backend if without condition");
	bad(FE(" use_backend b x\n"), "got extra argument 'x'", "use_backend extra");
	bad(FE(" use_backend nope if TRUE\n"), "t.cfg:3: 'use_backend': no backend named 'nope'",
	    "use_backend unknown");
	bad("frontend g\n bind :81\n"
	    "frontend f\n bind :80\n use_backend g\n",
	    "'use_backend': 'g' is a frontend, not a backend", "use_backend to a frontend");
	bad(FE(" mode http\n use_backend b\nbackend b\n"),
	    "cannot use backend 'b': it is in mode tcp", "use_backend mode mismatch");
	bad(BE(" use_backend x\n"),
	    "'use_backend' is not allowed in 'backend' section (only in: frontend, listen)",
	    "use_backend in backend");

	bad(FE(" acl\n"), "t.cfg:3: 'acl': expected 'acl NAME FETCH", "acl missing");
	bad(FE(" acl x\n"), "'acl x': expected a fetch method", "acl without fetch");
	bad(FE(" acl a/b src 1.2.3.4\n"), "'acl': invalid name 'a/b'", "acl bad name");
	bad(DEF(" acl x src 1.2.3.4\n"), "'acl' is not allowed in 'defaults' section",
	    "acl in defaults");
	good(BE(" acl x src 10.0.0.0/8\n"), "acl in backend");

	m = good_m(FE(" mode http\n http-request deny if { path_beg /admin }\n"
		      " http-request set-header X-A b\n http-response del-header Server\n"
		      " tcp-request inspect-delay 5s\n tcp-request content accept if TRUE\n"
		      " tcp-request connection reject unless { src 10.0.0.0/8 }\n"),
		   "rules");
	f = px(m, "f");
	if (f) {
		struct px_rule *r = list_entry(f->http_req_rules.next, struct px_rule, list);
		struct px_rule *r2 = list_entry(r->list.next, struct px_rule, list);
		struct px_rule *rr = list_entry(f->http_rsp_rules.next, struct px_rule, list);
		struct px_rule *t = list_entry(f->tcp_req_rules.next, struct px_rule, list);

		T_OK(!strcmp(r->kw, "http-request") && r->nargs == 1 &&
			     !strcmp(r->args[0], "deny") && r->cond && r->cond->nwords == 4 &&
			     !strcmp(r->cond->words[1], "path_beg") && r->loc.line == 4,
		     "http-request rule stored");
		T_OK(r2->nargs == 3 && !r2->cond && !strcmp(r2->args[2], "b"),
		     "second http-request");
		T_OK(!strcmp(rr->kw, "http-response") && rr->nargs == 2, "http-response rule");
		T_OK(!strcmp(t->kw, "tcp-request") && !strcmp(t->args[0], "inspect-delay"),
		     "tcp-request rules");
	}
	model_free(m);
	bad(FE(" http-request\n"), "t.cfg:3: 'http-request': expected an action, got nothing",
	    "http-request missing");
	bad(FE(" http-request if TRUE\n"),
	    "'http-request': expected an action, got a condition only",
	    "http-request condition only");
	bad(FE(" http-request deny unless\n"), "expected a condition after 'unless'",
	    "unless empty");
	bad(FE(" http-response\n"), "'http-response': expected an action", "http-response missing");
	bad(DEF(" http-request deny\n"), "'http-request' is not allowed in 'defaults' section",
	    "http-request in defaults");
	good(BE(" http-request set-header X 1\n http-response set-header Y 2\n"),
	     "rules in backend");
	bad(FE(" tcp-request\n"),
	    "'tcp-request': expected connection, session, content or inspect-delay",
	    "tcp-request missing");
	bad(FE(" tcp-request foo accept\n"), "got 'foo'", "tcp-request bad kind");
	bad(FE(" tcp-request inspect-delay x\n"), "'tcp-request inspect-delay': expected a time",
	    "inspect-delay bad");
	bad(FE(" tcp-request content\n"), "'tcp-request': expected an action",
	    "tcp content no action");
	bad(BE(" tcp-request connection reject\n"),
	    "'tcp-request connection' is not allowed in 'backend' section",
	    "tcp-request connection in backend");
	good(BE(" tcp-request content accept\n"), "tcp-request content in backend");
	bad(FE(" tcp-request connection track-sc0 src\n"),
	    "t.cfg:3: 'tcp-request connection track-sc0': action not supported by lbd (expected accept or reject)",
	    "tcp-request action lbd does not evaluate");
	bad(FE(" tcp-request content capture req.payload(0,4) len 4\n"),
	    "'tcp-request content capture': action not supported", "tcp-request content capture");
	bad(FE(" tcp-request connection reject if { nosuchfetch }\n"),
	    "t.cfg:3: 'tcp-request connection reject' condition:", "tcp-request bad condition");
	bad(FE(" tcp-request connection reject if unknown_acl\n"),
	    "t.cfg:3: 'tcp-request connection reject' condition:", "tcp-request unknown ACL");
	bad("backend b\n mode http\n tcp-request content reject\n server s 1.2.3.4:80\n",
	    "t.cfg:3: 'tcp-request content' in http backend 'b' is not supported by lbd",
	    "tcp-request content in an http backend");
	bad("frontend f\n bind :80\n use_backend be_%[src] if TRUE\n default_backend b\n"
	    "backend b\n server s 1.2.3.4:80\n",
	    "t.cfg:3: 'use_backend be_%[src]': a backend name built at run time needs mode http",
	    "run-time backend name in mode tcp");
	/* mode tcp sees the connection only: HTTP fetches and TLS are refused, not ignored */
	bad(FE(" tcp-request content reject if { hdr(host) -m found }\n"),
	    "t.cfg:3: 'tcp-request content reject': fetch 'hdr' is not supported there by lbd",
	    "tcp-request rule with an HTTP fetch");
	bad(FE(" mode http\n tcp-request connection reject if { path_beg /x }\n"),
	    "t.cfg:4: 'tcp-request connection reject': fetch 'path' is not supported there",
	    "tcp-request rule with an HTTP fetch in an http frontend");
	good(FE(" tcp-request connection reject unless { src 10.0.0.0/8 } || { dst_port 8080 }\n"
		" tcp-request content accept if TRUE\n"),
	     "tcp-request rules on addresses and predefined ACLs");
	bad("frontend f\n bind :80\n acl api path_beg /api\n use_backend b if api\n"
	    " default_backend b\nbackend b\n server s 1.2.3.4:80\n",
	    "t.cfg:4: 'use_backend b': fetch 'path' needs mode http (frontend 'f' is in mode tcp",
	    "mode tcp use_backend on an HTTP fetch");
	bad("listen l\n bind :80\n use_backend b if { src 10.0.0.0/8 } !{ ssl_fc }\n"
	    "backend b\n server s 1.2.3.4:80\n",
	    "t.cfg:3: 'use_backend b': fetch 'ssl_fc' needs mode http (listen 'l'",
	    "mode tcp use_backend on a TLS fetch");
	good("frontend f\n bind :80\n acl lan src 10.0.0.0/8\n use_backend b if lan { dst_port 80 }\n"
	     "backend b\n server s 1.2.3.4:80\n",
	     "mode tcp use_backend on addresses");
	good("frontend f\n mode http\n bind :80\n use_backend b if { path_beg /api }\n"
	     "backend b\n mode http\n server s 1.2.3.4:80\n",
	     "mode http use_backend on an HTTP fetch");
	snprintf(buf, sizeof(buf),
		 "frontend f\n bind :443 ssl crt %s/dummy.pem\n"
		 " default_backend b\nbackend b\n server s 1.2.3.4:80\n",
		 fix);
	bad(buf, "t.cfg:2: 'bind ... ssl' in frontend 'f': lbd terminates TLS in mode http only",
	    "ssl bind in mode tcp");

	m = good_m(
		BE(" option httpchk\n http-check connect\n http-check send meth GET uri /health\n"
		   " http-check expect status 200\n http-check expect ! rstatus ^5\n"),
		"http-check");
	if (m) {
		struct px_rule *r;
		int n = 0;

		list_for_each(r, &px(m, "b")->http_check_rules, list)
			n++;
		T_EQ_INT(n, 4, "http-check rules stored");
	}
	model_free(m);
	bad(BE(" http-check\n"),
	    "t.cfg:2: 'http-check': expected send, expect or connect, got nothing",
	    "http-check missing");
	bad(BE(" http-check expect status\n"),
	    "'http-check expect': expected a match such as 'status 200'",
	    "http-check expect without pattern");
	bad(BE(" http-check disable-on-404\n"), "'http-check disable-on-404' is an HAProxy keyword",
	    "http-check unsupported");
	bad(BE(" http-check foo\n"), "got 'foo'", "http-check unknown");
	bad(FE(" http-check send\n"), "'http-check' is not allowed in 'frontend' section",
	    "http-check in frontend");
}

static void test_options(void)
{
	struct model *m;
	struct proxy *p;

	m = good_m("defaults\n option redispatch\n option tcplog\n option dontlognull\n"
		   " option allbackups\n option tcpka\n option log-health-checks\n"
		   " option abortonclose\n option splice-auto\n option http-server-close\n"
		   "backend b\n",
		   "flag options");
	p = px(m, "b");
	T_OK(p && (p->options & PX_OPT_REDISPATCH) && (p->options & PX_OPT_TCPLOG) &&
		     (p->options & PX_OPT_DONTLOGNULL) && (p->options & PX_OPT_ALLBACKUPS) &&
		     (p->options & PX_OPT_TCPKA) && (p->options & PX_OPT_LOG_HEALTH) &&
		     (p->options & PX_OPT_ABORTONCLOSE) && (p->options & PX_OPT_SPLICE) &&
		     (p->options & PX_OPT_HTTP_SERVER_CLOSE),
	     "flags set and inherited");
	model_free(m);
	m = good_m(BE(" option http-keep-alive\n option httpclose\n option splice-request\n"
		      " option splice-response\n"),
		   "connection modes");
	p = px(m, "b");
	T_OK(p && (p->options & PX_OPT_HTTPCLOSE) && !(p->options & PX_OPT_HTTP_KEEP_ALIVE),
	     "httpclose replaces http-keep-alive");
	model_free(m);
	m = good_m(
		"defaults\n option redispatch\n option httplog\nbackend b\n no option redispatch\n",
		"no option");
	p = px(m, "b");
	T_OK(p && !(p->options & PX_OPT_REDISPATCH) && (p->options & PX_OPT_HTTPLOG),
	     "no option clears an inherited flag");
	model_free(m);
	m = good_m(FE(" option tcplog\n option httplog\n"), "httplog replaces tcplog");
	p = px(m, "f");
	T_OK(p && (p->options & PX_OPT_HTTPLOG) && !(p->options & PX_OPT_TCPLOG),
	     "log format flags");
	model_free(m);
	m = good_m(FE(" option forwardfor except 10.0.0.0/8 header X-Client if-none\n"),
		   "option forwardfor");
	p = px(m, "f");
	T_OK(p && (p->options & PX_OPT_FORWARDFOR) && !strcmp(p->forwardfor_except, "10.0.0.0/8") &&
		     !strcmp(p->forwardfor_header, "X-Client") && p->forwardfor_if_none,
	     "forwardfor stored");
	model_free(m);
	good(FE(" option forwardfor except 127.0.0.1\n option forwardfor except ::1/128\n"
		" option forwardfor except 10.0.0.0/255.0.0.0\n"),
	     "forwardfor networks");
	m = good_m(FE(" option forwardfor\n no option forwardfor\n"), "no option forwardfor");
	T_OK(m && !(px(m, "f")->options & PX_OPT_FORWARDFOR), "forwardfor cleared");
	model_free(m);
	m = good_m(BE(" option httpchk GET /health HTTP/1.1\n"), "option httpchk 3 args");
	p = px(m, "b");
	T_OK(p && (p->options & PX_OPT_HTTPCHK) && !strcmp(p->httpchk_method, "GET") &&
		     !strcmp(p->httpchk_uri, "/health") && !strcmp(p->httpchk_version, "HTTP/1.1"),
	     "httpchk stored");
	model_free(m);
	m = good_m(BE(" option httpchk /ping\n"), "option httpchk URI");
	p = px(m, "b");
	T_OK(p && !p->httpchk_method && !strcmp(p->httpchk_uri, "/ping"), "httpchk URI only");
	model_free(m);
	m = good_m(BE(" option httpchk\n no option httpchk\n"), "no option httpchk");
	T_OK(m && !(px(m, "b")->options & PX_OPT_HTTPCHK), "httpchk cleared");
	model_free(m);

	{
		/* every flag option: valid alone in a listen, invalid with an argument */
		static const char *const flags[] = {
			"redispatch",
			"tcplog",
			"dontlognull",
			"allbackups",
			"http-keep-alive",
			"http-server-close",
			"httpclose",
			"tcpka",
			"log-health-checks",
			"abortonclose",
			"splice-auto",
			"splice-request",
			"splice-response",
			"httplog",
			"forwardfor",
			"httpchk",
			NULL,
		};
		char line[256], want[256];
		int i;

		for (i = 0; flags[i]; i++) {
			snprintf(line, sizeof(line),
				 "listen l\n bind :80\n option %s\n no option %s\n", flags[i],
				 flags[i]);
			good(line, flags[i]);
			snprintf(line, sizeof(line), "listen l\n bind :80\n no option %s x\n",
				 flags[i]);
			snprintf(want, sizeof(want),
				 "t.cfg:3: 'no option %s': expected no argument, got", flags[i]);
			bad(line, want, flags[i]);
		}
	}
	bad(BE(" option\n"), "t.cfg:2: 'option': expected an option name", "option alone");
	bad(BE(" option frob\n"), "t.cfg:2: unknown keyword 'option frob' in 'backend' section",
	    "unknown option");
	bad(BE(" option httplog\n"), "'option httplog' is not allowed in 'backend' section",
	    "httplog in backend");
	bad(FE(" option redispatch\n"), "'option redispatch' is not allowed in 'frontend' section",
	    "redispatch in frontend");
	bad(BE(" option redispatch 1\n"), "'option redispatch': expected no argument, got '1'",
	    "option with argument");
	bad(BE(" no option redispatch 1\n"), "'no option redispatch': expected no argument",
	    "no option arg");
	bad(BE(" option tcp-check\n"), "t.cfg:2: 'option tcp-check' is not supported by lbd yet",
	    "option tcp-check");
	bad(BE(" option clitcpka\n"),
	    "'option clitcpka' is an HAProxy keyword that lbd does not support",
	    "unsupported option");
	bad(FE(" option forwardfor except 10.0.0.0/33\n"),
	    "'option forwardfor': 'except' expects a network", "forwardfor bad network");
	bad(FE(" option forwardfor except\n"), "'except' expects a network",
	    "forwardfor except missing");
	bad(FE(" option forwardfor header\n"), "'header' expects a header name",
	    "forwardfor header missing");
	bad(FE(" option forwardfor bogus\n"),
	    "expected except NET, header NAME or if-none, got 'bogus'", "forwardfor bogus");
	bad(BE(" option httpchk GET / HTTP/1.1 x\n"),
	    "'option httpchk': expected [METHOD] [URI] [VERSION]", "httpchk too many");
	bad(FE(" option httplog bogus\n"),
	    "'option httplog': expected nothing or 'clf', got 'bogus'", "httplog bogus");
	bad(BE(" no maxconn\n"), "'no maxconn': 'no' only applies to 'option' and 'log'",
	    "no maxconn");
	bad(BE(" no\n"), "'no': expected a keyword after it", "no alone");
	bad(GL(" option httplog\n"), "'option httplog' is not allowed in 'global' section",
	    "option in global");
}

/* log-format, unique-id and capture keywords (the formats compile with the L7 tier) */
static void test_log_format_cfg(void)
{
	struct model *m;
	struct proxy *p;

	m = good_m(FE(" mode http\n capture request header Host len 64\n"
		      " capture request header User-Agent len 8\n"
		      " capture response header Content-Type len 0\n"),
		   "capture");
	p = px(m, "f");
	T_OK(p && p->nreq_caps == 2 && p->nrsp_caps == 1 &&
		     !strcmp(p->req_caps[1].name, "User-Agent") && p->req_caps[1].len == 8 &&
		     p->rsp_caps[0].len == 0,
	     "captures stored in order");
	model_free(m);
	bad(FE(" capture cookie x len 10\n"), "t.cfg:3: 'capture cookie' is not supported by lbd",
	    "capture cookie");
	bad(FE(" capture request header Host\n"),
	    "t.cfg:3: 'capture request' expects 'header' <header_name> 'len' <len>",
	    "capture without len");
	bad(FE(" capture request header Host len 5 x\n"), "cannot handle unexpected argument 'x'",
	    "capture extra");
	bad(FE(" capture request header Host len x\n"), "'len' expects a length", "capture len");
	bad(FE(" capture foo\n"), "'capture' expects 'cookie' or 'request header'", "capture foo");
	bad(DEF(" capture request header Host len 5\n"),
	    "'capture' is not allowed in 'defaults' section", "capture in defaults");
	bad(BE(" capture request header Host len 5\n"),
	    "'capture' is not allowed in 'backend' section", "capture in backend");
	m = good_m(DEF(" unique-id-header X-Req\nfrontend f\n bind :8080\n"), "unique-id-header");
	p = px(m, "f");
	T_OK(p && p->unique_id_header && !strcmp(p->unique_id_header, "X-Req"),
	     "unique-id-header inherited");
	model_free(m);
	/* the last of option httplog / tcplog / log-format wins */
	m = good_m(
		DEF(" mode http\n log-format %ci\nfrontend f\n bind :8080\n option httplog clf\n"),
		"httplog clf after log-format");
	p = px(m, "f");
	T_OK(p && !p->log_format && (p->options & PX_OPT_HTTPLOG) &&
		     (p->options & PX_OPT_HTTPLOG_CLF),
	     "option httplog clf replaces an inherited log-format");
	model_free(m);
	m = good_m(DEF(" mode http\n option httplog\nfrontend f\n bind :8080\n log-format %ci\n"),
		   "log-format after httplog");
	p = px(m, "f");
	T_OK(p && p->log_format && !(p->options & PX_OPT_HTTPLOG), "log-format replaces httplog");
	model_free(m);
	/* compile errors carry the line of the format */
	bad(DEF(" mode http\n log-format \"%ci %foo\"\nfrontend f\n bind :8080\n"),
	    "t.cfg:3: proxy 'f': 'log-format': no such format variable '%foo'",
	    "unknown variable (inherited format, its line)");
	bad(FE(" log-format %r\n"),
	    "t.cfg:3: proxy 'f': 'log-format': format variable '%r' is reserved for mode http",
	    "HTTP variable in mode tcp");
	bad(FE(" mode http\n unique-id-format %[nosuch]\n"),
	    "t.cfg:4: proxy 'f': 'unique-id-format': sample '%[nosuch]': unknown fetch method 'nosuch'",
	    "unique-id-format bad sample");
	bad(FE(" mode http\n log-format %[res.hdr(x)]\n"),
	    "sample fetch 'res.hdr' is not available", "response fetch in log-format");
	bad(FE(" log-format %[path]\n"), "sample fetch 'path' needs an HTTP request",
	    "request fetch in mode tcp");
	bad(FE(" mode http\n log-format a%\n"), "truncated line after '%'", "truncated %");
	bad(FE(" mode http\n log-format a%[src\n"), "missing ']'", "missing ]");
	bad(FE(" mode http\n log-format %{+Q}\n"), "flags without a variable name", "flags alone");
	good(FE(" mode http\n log-format \"%{+Q,+E}r %{-Q}o %%%{+X}ci %[capture.req.hdr(0),lower]\"\n"),
	     "flags, %% and samples");
}

static void test_http_reuse(void)
{
	good("defaults\n mode http\nbackend b\n http-reuse safe\n server s 127.0.0.1:80\n",
	     "http-reuse safe is accepted (lbd's behaviour)");
	bad("defaults\n mode http\nbackend b\n http-reuse always\n", "t.cfg:4",
	    "http-reuse always is refused with file:line");
}

/* `stats ...` in proxies: HAProxy's HTTP statistics page. */
#define HTTP_FE(x) "defaults\n mode http\nfrontend f\n bind :8080\n" x
static void test_stats_page(void)
{
	struct model *m;
	struct proxy *p;

	m = good_m(HTTP_FE(" stats enable\n"), "stats enable");
	p = px(m, "f");
	T_OK(p && p->stats.enabled && !p->stats.uri && !p->stats.realm && !p->stats.auth &&
		     !p->stats.refresh_s,
	     "stats enable: defaults (uri, realm, no auth, no refresh)");
	model_free(m);
	m = good_m("defaults\n mode http\nlisten stats\n bind 127.0.0.1:8404\n"
		   " stats enable\n stats uri /stats\n stats refresh 10s\n"
		   " stats realm Haproxy\\ Statistics\n stats auth admin:secret\n"
		   " stats auth ops:p:w\n stats hide-version\n stats show-legends\n"
		   " stats show-node edge1\n stats show-desc front door\n stats scope .\n"
		   " stats scope other\n stats show-modules\n",
		   "the usual HAProxy stats listen");
	p = px(m, "stats");
	T_OK(p && p->stats.enabled && p->stats.own && !strcmp(p->stats.uri, "/stats") &&
		     p->stats.refresh_s == 10 && !strcmp(p->stats.realm, "Haproxy Statistics") &&
		     p->stats.auth && !strcmp(p->stats.auth[0], "admin:secret") &&
		     !strcmp(p->stats.auth[1], "ops:p:w") && !p->stats.auth[2] &&
		     p->stats.hide_version && p->stats.show_legends && p->stats.show_node &&
		     !strcmp(p->stats.node, "edge1") && p->stats.show_desc &&
		     !strcmp(p->stats.desc, "front door") && !strcmp(p->stats.scope[0], ".") &&
		     !strcmp(p->stats.scope[1], "other") && !p->stats.scope[2] &&
		     p->stats.loc.line == 5,
	     "stats keywords stored");
	model_free(m);
	m = good_m(HTTP_FE(" stats uri /s\n"), "stats uri alone");
	p = px(m, "f");
	T_OK(p && p->stats.enabled, "stats uri implies stats enable");
	model_free(m);
	m = good_m(HTTP_FE(" stats auth a:b\n"), "stats auth alone");
	p = px(m, "f");
	T_OK(p && p->stats.enabled && !p->stats.uri, "stats auth implies stats enable");
	model_free(m);
	m = good_m(HTTP_FE(" stats show-node\n stats show-desc\n"), "show-node/show-desc bare");
	p = px(m, "f");
	T_OK(p && p->stats.show_node && !p->stats.node && p->stats.show_desc && !p->stats.desc,
	     "show-node and show-desc without a value use the global ones");
	model_free(m);
	/* defaults: inherited and deep-copied */
	m = good_m("defaults\n mode http\n stats uri /st\n stats auth a:b\n stats refresh 5s\n"
		   "frontend f\n bind :8080\n stats auth c:d\nbackend b\n server s 127.0.0.1:80\n",
		   "stats in defaults");
	p = px(m, "f");
	T_OK(p && p->stats.enabled && p->stats.own && !strcmp(p->stats.uri, "/st") &&
		     p->stats.refresh_s == 5 && !strcmp(p->stats.auth[0], "a:b") &&
		     !strcmp(p->stats.auth[1], "c:d"),
	     "stats inherited from defaults, then extended");
	p = px(m, "b");
	T_OK(p && p->stats.enabled && !p->stats.own && !strcmp(p->stats.uri, "/st") &&
		     !strcmp(p->stats.auth[0], "a:b") && !p->stats.auth[1],
	     "the defaults' auth list is copied, not shared");
	model_free(m);
	/* inherited only, in a mode tcp proxy: ignored as HAProxy does */
	good("defaults\n mode http\n stats enable\nlisten db\n mode tcp\n bind :3306\n"
	     " server s 127.0.0.1:3306\n",
	     "stats from defaults in a tcp listen: ignored");
	bad(FE(" stats enable\n"),
	    "t.cfg:3: proxy 'f': the statistics page ('stats ...') needs 'mode http'",
	    "stats in a mode tcp frontend");
	bad("listen l\n bind :80\n stats uri /s\n mode tcp\n",
	    "t.cfg:3: proxy 'l': the statistics page", "stats uri then mode tcp");
	bad(HTTP_FE(" stats admin if TRUE\n"),
	    "t.cfg:5: 'stats admin' is not supported by lbd (the statistics page is read-only); "
	    "change servers' state through the runtime API",
	    "stats admin");
	bad(HTTP_FE(" stats http-request deny\n"), "'stats http-request' is not supported by lbd",
	    "stats http-request");
	bad(HTTP_FE(" stats frob\n"), "t.cfg:5: 'stats frob': unknown keyword", "stats frob");
	bad(HTTP_FE(" stats\n"), "'stats': expected one of 'enable', 'uri'", "stats alone");
	bad(HTTP_FE(" stats socket /run/x.sock\n"),
	    "'stats socket' is only allowed in the 'global' section", "stats socket in a proxy");
	bad(HTTP_FE(" stats enable x\n"), "'stats enable': expected no argument",
	    "stats enable extra");
	bad(HTTP_FE(" stats uri\n"), "'stats uri': expected a URI prefix", "stats uri missing");
	bad(HTTP_FE(" stats uri /a /b\n"), "got extra argument '/b'", "stats uri extra");
	bad(HTTP_FE(" stats auth admin\n"), "'stats auth': expected user:password, got 'admin'",
	    "stats auth without colon");
	bad(HTTP_FE(" stats auth :pw\n"), "'stats auth': expected user:password",
	    "stats auth without user");
	bad(HTTP_FE(" stats refresh soon\n"), "'stats refresh': expected a delay such as 10s",
	    "stats refresh bad time");
	bad(HTTP_FE(" stats realm\n"), "'stats realm': expected a realm", "stats realm missing");
	bad(HTTP_FE(" stats scope\n"), "'stats scope': expected a proxy name", "scope missing");
	bad(HTTP_FE(" stats show-node a b\n"), "'stats show-node': expected at most a node name",
	    "show-node extra");
	bad(HTTP_FE(" stats hide-version now\n"), "'stats hide-version': expected no argument",
	    "hide-version extra");
}

static void test_log_stats_misc(void)
{
	struct model *m;
	struct proxy *p;
	char buf[2048];

	m = good_m(FE(" log global\n log 127.0.0.1:514 local0 info\n"), "proxy log");
	p = px(m, "f");
	T_OK(p && p->log_global && !list_empty(&p->logs), "log global and target");
	model_free(m);
	m = good_m("defaults\n log global\n log /dev/log local0\nbackend b\n no log\n", "no log");
	p = px(m, "b");
	T_OK(p && !p->log_global && list_empty(&p->logs), "no log clears inherited logs");
	model_free(m);
	bad(FE(" log global x\n"), "t.cfg:3: 'log global': expected no more argument, got 'x'",
	    "log global extra");
	bad(FE(" log /dev/log\n"), "t.cfg:3: 'log': expected a facility",
	    "proxy log missing facility");

	m = good_m(FE(" mode http\n log-format \"%ci:%cp [%tr] %ft %b/%s\"\n"
		      " unique-id-format %{+X}o\\ %ci\n"),
		   "log-format unique-id-format");
	p = px(m, "f");
	T_OK(p && !strcmp(p->log_format, "%ci:%cp [%tr] %ft %b/%s") &&
		     !strcmp(p->unique_id_format, "%{+X}o %ci"),
	     "formats stored");
	model_free(m);
	bad(FE(" log-format %ci %cp\n"),
	    "'log-format': expected one format string (use quotes around spaces), got extra argument '%cp'",
	    "log-format unquoted");
	bad(FE(" log-format\n"), "'log-format': expected one format string", "log-format missing");
	bad(FE(" unique-id-format\n"), "'unique-id-format': expected one format string",
	    "unique-id missing");
	bad(BE(" log-format x\n"), "'log-format' is not allowed in 'backend' section",
	    "log-format in backend");

	test_stats_page();
	test_log_format_cfg();
	bad(FE(" frob\n"), "t.cfg:3: unknown keyword 'frob' in 'frontend' section",
	    "unknown in frontend");
	bad(BE(" frob\n"), "t.cfg:2: unknown keyword 'frob' in 'backend' section",
	    "unknown in backend");
	bad("listen l\n frob\n", "unknown keyword 'frob' in 'listen' section", "unknown in listen");
	bad(DEF(" frob\n"), "unknown keyword 'frob' in 'defaults' section", "unknown in defaults");
	bad(BE(" stick-table type ip size 1m\n"),
	    "'stick-table' is an HAProxy keyword that lbd does not support", "stick-table");

	snprintf(buf, sizeof(buf),
		 "defaults\n errorfile 503 %s/503.http\nbackend b\n errorfile 503 %s/503.http\n",
		 fix, fix);
	m = good_m(buf, "errorfile");
	p = px(m, "b");
	T_OK(p && p->nerrorfiles == 1 && p->errorfiles[0].status == 503 &&
		     p->errorfiles[0].len > 20 &&
		     !strncmp(p->errorfiles[0].body, "HTTP/1.0 503", 12),
	     "errorfile read and replaced, not duplicated");
	model_free(m);
	snprintf(buf, sizeof(buf), "backend b\n errorfile 999 %s/503.http\n", fix);
	bad(buf, "t.cfg:2: 'errorfile': expected a status code among 200, 400",
	    "errorfile bad code");
	snprintf(buf, sizeof(buf), "backend b\n errorfile 302 %s/503.http\n", fix);
	bad(buf, "'errorfile': expected a status code", "errorfile 302");
	bad(BE(" errorfile 503 /nonexistent/503.http\n"),
	    "t.cfg:2: 'errorfile': cannot open '/nonexistent/503.http'", "errorfile missing file");
	snprintf(buf, sizeof(buf), "backend b\n errorfile 503 %s/bad.http\n", fix);
	bad(buf, "must hold a full HTTP response", "errorfile not HTTP");
	bad(BE(" errorfile 503\n"),
	    "'errorfile': expected a status code and a file, got only '503'",
	    "errorfile missing path");

	m = good_m(
		BE(" source 10.0.0.1\n fullconn 100\n retries 5\n cookie SRV insert indirect nocache maxidle 30m domain .a.com\n"
		   " description my backend\n xlb-forward nat\n"),
		"backend settings");
	p = px(m, "b");
	T_OK(p && p->source.ss_family == AF_INET && p->fullconn == 100 && p->retries == 5 &&
		     !strcmp(p->cookie_name, "SRV") && !strcmp(p->cookie_args[0], "insert") &&
		     !strcmp(p->cookie_args[6], ".a.com") && !p->cookie_args[7] &&
		     !strcmp(p->description, "my backend") && p->fwd == FWD_NAT,
	     "backend settings stored");
	model_free(m);
	m = good_m(BE(" source ::1\n xlb-forward fullnat\n"), "source IPv6");
	T_OK(m && px(m, "b")->source.ss_family == AF_INET6 && px(m, "b")->fwd == FWD_FULLNAT,
	     "source v6, fullnat");
	model_free(m);
	bad(BE(" source\n"), "t.cfg:2: 'source': expected an address, got nothing",
	    "source missing");
	bad(BE(" source 1.2.3.4 usesrc client\n"),
	    "'source': option 'usesrc' is not supported by lbd", "source usesrc");
	bad(BE(" source xlb-no-such-host.invalid\n"), "'source': invalid address", "source bad");
	bad(BE(" fullconn x\n"), "'fullconn': expected a number of connections", "fullconn bad");
	bad(BE(" retries x\n"),
	    "t.cfg:2: 'retries': expected a number of retries (0..1000), got 'x'", "retries bad");
	bad(FE(" retries 3\n"), "'retries' is not allowed in 'frontend' section",
	    "retries in frontend");
	bad(BE(" cookie\n"), "'cookie': expected a cookie name, got nothing", "cookie missing");
	bad(BE(" cookie SRV frob\n"), "'cookie': unknown option 'frob'", "cookie bad option");
	bad(BE(" cookie SRV maxidle x\n"), "'maxidle' expects a time", "cookie maxidle bad");
	bad(BE(" description\n"), "'description': expected a text, got nothing",
	    "description missing");
	bad(BE(" xlb-forward dsr\n"),
	    "t.cfg:2: 'xlb-forward': expected 'fullnat' or 'nat', got 'dsr'", "xlb-forward bad");
	bad(FE(" xlb-forward nat\n"), "'xlb-forward' is not allowed in 'frontend' section",
	    "xlb-forward in frontend");

	m = good_m("frontend f\n disabled\nbackend b\n disabled\n enabled\n", "disabled/enabled");
	T_OK(m && px(m, "f")->disabled && !px(m, "b")->disabled, "disabled frontend needs no bind");
	model_free(m);
	bad(BE(" disabled now\n"), "'disabled': expected no argument, got extra argument 'now'",
	    "disabled arg");
}

/* ---- server ---- */

static void test_server(void)
{
	struct model *m;
	struct server *s;
	char buf[2048];

	m = good_m(BE(" server s1 127.0.0.1:8080\n"), "server basic");
	s = srv(m, "b/s1");
	T_OK(s && s->addr.ss_family == AF_INET && port_of(&s->addr) == 8080 && s->weight == 1 &&
		     s->iweight == 1 && s->check.inter == 2000 && s->check.fastinter == 2000 &&
		     s->check.downinter == 2000 && s->check.rise == 2 && s->check.fall == 3 &&
		     !s->check.enabled && s->admin == SRV_ADMIN_READY &&
		     s->chk_state == SRV_CHK_UP && s->origin == SRV_ORIGIN_CONFIG &&
		     !strcmp(s->addr_str, "127.0.0.1:8080") && s->loc.line == 2 && s->refcnt == 1 &&
		     s->be == px(m, "b"),
	     "server defaults");
	model_free(m);
	m = good_m(
		BE(" server s1 10.0.0.1:80 weight 10 maxconn 100 minconn 5 backup check inter 5s"
		   " fastinter 1s downinter 10s rise 4 fall 5 port 8081 addr 10.0.0.2 cookie c1 id 7\n"
		   " server s2 10.0.0.3 disabled no-check\n server s3 [::1]:81 enabled\n"
		   " server s4 localhost:82\n server s5 ipv6@::1\n server s6 unix@/run/app.sock\n"),
		"server options");
	s = srv(m, "b/s1");
	T_OK(s && s->weight == 10 && s->iweight == 10 && s->maxconn == 100 && s->minconn == 5 &&
		     s->backup && s->check.enabled && s->check.inter == 5000 &&
		     s->check.fastinter == 1000 && s->check.downinter == 10000 &&
		     s->check.rise == 4 && s->check.fall == 5 && s->check.port == 8081 &&
		     s->check.addr.ss_family == AF_INET && !strcmp(s->cookie, "c1") && s->puid == 7,
	     "server options stored");
	s = srv(m, "b/s2");
	T_OK(s && s->admin == SRV_ADMIN_MAINT && !s->check.enabled && port_of(&s->addr) == 0,
	     "disabled, no port");
	s = srv(m, "b/s3");
	T_OK(s && s->addr.ss_family == AF_INET6 && port_of(&s->addr) == 81, "IPv6 server");
	s = srv(m, "b/s4");
	T_OK(s && port_of(&s->addr) == 82, "host name resolved");
	s = srv(m, "b/s5");
	T_OK(s && s->addr.ss_family == AF_INET6 && port_of(&s->addr) == 0, "ipv6@::1 without port");
	s = srv(m, "b/s6");
	T_OK(s && s->addr.ss_family == AF_UNIX, "unix server");
	model_free(m);

	/* The TLS options are parsed and stored; `ssl` itself is refused at load. */
	snprintf(
		buf, sizeof(buf),
		"global\n ca-base %s\nbackend b\n server s1 1.2.3.4:443 ca-file dummy.pem sni str(a)\n"
		" server s2 1.2.3.4:443 verify none crt %s/dummy.pem\n",
		fix, fix);
	m = good_m(buf, "server TLS options");
	s = srv(m, "b/s1");
	T_OK(s && !s->ssl && !s->verify_none && s->ca_file &&
		     !strncmp(s->ca_file, fix, strlen(fix)) && !strcmp(s->sni, "str(a)"),
	     "ca-file sni stored");
	s = srv(m, "b/s2");
	T_OK(s && s->verify_none && s->crt, "verify none crt stored");
	model_free(m);
	/* `ssl`: TLS to the server, in mode http; the certificate is verified unless told not to */
#define HBE(x) cat("backend b\n mode http\n", x)
	m = good_m(HBE(" server s1 1.2.3.4:443 ssl verify none\n"), "ssl verify none");
	T_OK(m && srv(m, "b/s1")->ssl && srv(m, "b/s1")->tls, "ssl to a server: TLS context built");
	model_free(m);
	m = good_m("defaults\n mode http\n default-server ssl verify none\n"
		   "backend b\n server s1 1.2.3.4:443\n",
		   "ssl from default-server");
	T_OK(m && srv(m, "b/s1")->ssl && srv(m, "b/s1")->tls, "ssl from default-server applies");
	model_free(m);
	snprintf(buf, sizeof(buf),
		 "backend b\n mode http\n server s1 1.2.3.4:443 ssl ca-file %s/test-cert.pem"
		 " crt %s/test-cert.pem sni req.hdr(host)\n",
		 fix, fix);
	m = good_m(buf, "ssl verify required ca-file crt sni");
	T_OK(m && srv(m, "b/s1")->tls && !srv(m, "b/s1")->verify_none, "ca-file crt sni: built");
	model_free(m);
	bad(HBE(" server s1 1.2.3.4:443 ssl\n"),
	    "t.cfg:3: 'server s1': 'ssl' verifies the server's certificate: add 'ca-file FILE' or 'verify none'",
	    "ssl without verify");
	bad(HBE(" server s1 1.2.3.4:443 check-ssl check\n"),
	    "'server s1': 'check-ssl' verifies the server's certificate",
	    "check-ssl without verify");
	m = good_m("global\n ssl-server-verify none\nbackend b\n mode http\n"
		   " server s1 1.2.3.4:443 ssl\n",
		   "ssl-server-verify none");
	T_OK(m && srv(m, "b/s1")->verify_none, "global verify none applies");
	model_free(m);
	m = good_m(HBE(" server s1 1.2.3.4:443 ssl verify none check no-check-ssl\n"
		       " server s2 1.2.3.4:80 check check-ssl verify none\n"),
		   "check-ssl no-check-ssl");
	T_OK(m && srv(m, "b/s1")->check.ssl == SRV_CHK_SSL_OFF &&
		     srv(m, "b/s2")->check.ssl == SRV_CHK_SSL_ON && srv(m, "b/s2")->tls,
	     "check-ssl no-check-ssl stored");
	model_free(m);
	bad(BE(" server s1 1.2.3.4:443 ssl verify none\n"),
	    "t.cfg:2: 'server s1': 'ssl' (TLS to the server) is done by lbd in mode http only",
	    "ssl to a server in mode tcp refused, not sent in clear");
	bad(HBE(" server s1 1.2.3.4:443 ssl verify none sni frob(x)\n"),
	    "t.cfg:3: 'server s1': 'sni'", "sni bad expression");
	bad(HBE(" server s1 1.2.3.4:443 ssl verify none verifyhost a\n"),
	    "option 'verifyhost' is an HAProxy option that lbd does not support",
	    "verifyhost refused");
	snprintf(buf, sizeof(buf),
		 "backend b\n mode http\n server s1 1.2.3.4:443 ssl ca-file %s/dummy.pem\n", fix);
	bad(buf, "cannot load the CAs from", "ssl ca-file not a CA");
	bad("global\n ssl-default-server-options ssl-max-ver TLSv1.0 no-tlsv10\n"
	    "backend b\n mode http\n server s1 1.2.3.4:443 ssl verify none\n",
	    "ssl-default-server-options: no TLS version left", "server options: empty range");
	m = good_m("global\n ssl-server-verify none\n"
		   "backend b\n server s1 1.2.3.4:443 ssl no-ssl\n",
		   "ssl then no-ssl: in clear, accepted");
	T_OK(m && !srv(m, "b/s1")->ssl, "no-ssl clears ssl");
	model_free(m);

	bad(BE(" server\n"),
	    "t.cfg:2: 'server': expected 'server NAME ADDR[:PORT] [options]', got nothing",
	    "server missing");
	bad(BE(" server s1\n"),
	    "t.cfg:2: 'server s1': expected an address such as 10.0.0.1:80, got nothing",
	    "server without address");
	bad(BE(" server a/b 1.2.3.4\n"), "'server': invalid name 'a/b'", "server bad name");
	bad(BE(" server s1 1.2.3.4:80\n server s1 1.2.3.5:80\n"),
	    "t.cfg:3: 'server s1': backend 'b' already has a server with this name (at t.cfg:2)",
	    "duplicate server");
	bad(BE(" server s1 1.2.3.4:80-81\n"),
	    "'server s1': invalid address '1.2.3.4:80-81': port range not allowed",
	    "server port range");
	bad(BE(" server s1 1.2.3.4:+1\n"), "port offsets (+N/-N) are not supported",
	    "server port offset");
	bad(BE(" server s1 1.2.3.4:99999\n"), "invalid port", "server bad port");
	bad(BE(" server s1 0.0.0.0:80\n"),
	    "expected a server address, got '0.0.0.0:80' (any address)", "server any address");
	bad(BE(" server s1 [::]:80\n"), "(any address)", "server any v6 address");
	bad(BE(" server s1 xlb-no-such-host.invalid:80\n"),
	    "cannot resolve 'xlb-no-such-host.invalid'", "server unresolvable");
	bad(BE(" server s1 1.2.3.4 weight 257\n"),
	    "t.cfg:2: 'server s1': 'weight' expects a number between 0 and 256, got '257'",
	    "weight too big");
	bad(BE(" server s1 1.2.3.4 weight x\n"), "'weight' expects", "weight x");
	bad(BE(" server s1 1.2.3.4 weight\n"),
	    "'server s1': option 'weight' expects a value, got nothing", "weight missing");
	bad(BE(" server s1 1.2.3.4 maxconn -1\n"), "'maxconn' expects a number of connections",
	    "maxconn -1");
	bad(BE(" server s1 1.2.3.4 minconn x\n"), "'minconn' expects", "minconn x");
	bad(BE(" server s1 1.2.3.4 minconn 10 maxconn 5\n"),
	    "'minconn' (10) is larger than 'maxconn' (5)", "minconn > maxconn");
	bad(BE(" server s1 1.2.3.4 inter 0\n"), "'inter' expects a time such as 2s, got '0'",
	    "inter 0");
	bad(BE(" server s1 1.2.3.4 fastinter x\n"), "'fastinter' expects a time", "fastinter x");
	bad(BE(" server s1 1.2.3.4 downinter x\n"), "'downinter' expects a time", "downinter x");
	bad(BE(" server s1 1.2.3.4 rise 0\n"), "'rise' expects a count between 1 and 1000",
	    "rise 0");
	bad(BE(" server s1 1.2.3.4 fall x\n"), "'fall' expects a count", "fall x");
	bad(BE(" server s1 1.2.3.4 port 0\n"), "'port' expects a port between 1 and 65535",
	    "port 0");
	bad(BE(" server s1 1.2.3.4 addr bogus..\n"), "'addr' expects an IPv4 or IPv6 address",
	    "addr bad");
	bad(BE(" server s1 1.2.3.4 cookie\n"), "option 'cookie' expects a value", "cookie missing");
	bad(BE(" server s1 1.2.3.4 id 0\n"), "'id' expects a positive number", "id 0");
	bad(BE(" server s1 1.2.3.4 id 3\n server s2 1.2.3.5 id 3\n"),
	    "t.cfg:3: 'server s2': id 3 is already used by server 's1' (at t.cfg:2)",
	    "duplicate id");
	bad(BE(" server s1 1.2.3.4 resolvers dns\n"),
	    "t.cfg:2: 'server s1': 'resolvers' (DNS resolution at run time) is not supported by lbd",
	    "resolvers");
	bad(BE(" server s1 1.2.3.4 send-proxy\n"),
	    "'send-proxy' (PROXY protocol) is not supported by lbd", "send-proxy");
	bad(BE(" server s1 1.2.3.4 send-proxy-v2\n"), "'send-proxy-v2' (PROXY protocol)",
	    "send-proxy-v2");
	bad(BE(" server s1 1.2.3.4 slowstart 10s\n"),
	    "'server s1': option 'slowstart' is an HAProxy option that lbd does not support",
	    "slowstart");
	bad(BE(" server s1 1.2.3.4 frob\n"), "'server s1': unknown option 'frob'",
	    "server unknown option");
	bad(BE(" server s1 1.2.3.4 ssl verify maybe\n"), "'verify' expects 'none' or 'required'",
	    "verify bad");
	bad(BE(" server s1 1.2.3.4 ssl ca-file /nonexistent/ca.pem\n"),
	    "'ca-file' cannot read '/nonexistent/ca.pem'", "ca-file missing");
	bad(BE(" server s1 1.2.3.4 crt /nonexistent/c.pem\n"), "'crt' cannot read", "crt missing");
	bad(FE(" server s1 1.2.3.4\n"),
	    "t.cfg:3: 'server' is not allowed in 'frontend' section (only in: backend, listen)",
	    "server in frontend");
	bad(DEF(" server s1 1.2.3.4\n"), "'server' is not allowed in 'defaults' section",
	    "server in defaults");

	m = good_m(
		BE(" server s0 1.2.3.4\n default-server weight 5 check inter 1s rise 1 fall 1 maxconn 9\n"
		   " server s1 1.2.3.5\n server s2 1.2.3.6 weight 7 no-check\n"),
		"default-server");
	T_OK(m && srv(m, "b/s0")->weight == 1 && !srv(m, "b/s0")->check.enabled,
	     "default-server does not change earlier servers");
	s = srv(m, "b/s1");
	T_OK(s && s->weight == 5 && s->check.enabled && s->check.inter == 1000 &&
		     s->check.rise == 1 && s->check.fall == 1 && s->maxconn == 9,
	     "default-server applies to later servers");
	s = srv(m, "b/s2");
	T_OK(s && s->weight == 7 && !s->check.enabled, "server options override default-server");
	model_free(m);
	bad(BE(" default-server id 3\n"),
	    "t.cfg:2: 'default-server': option 'id' is per server, not allowed here",
	    "default-server id");
	bad(BE(" default-server cookie x\n"), "option 'cookie' is per server",
	    "default-server cookie");
	bad(BE(" default-server weight x\n"), "'default-server': 'weight' expects",
	    "default-server bad weight");
	bad(FE(" default-server weight 1\n"),
	    "'default-server' is not allowed in 'frontend' section", "default-server in frontend");
}

/* ---- sections, defaults, listen ---- */

static void test_sections(void)
{
	struct model *m;

	bad("frontend\n", "t.cfg:1: 'frontend': expected a name, got nothing",
	    "frontend without name");
	bad("backend\n", "'backend': expected a name", "backend without name");
	bad("frontend a/b\n bind :80\n", "t.cfg:1: 'frontend': invalid name 'a/b'",
	    "bad proxy name");
	bad("backend b x\n", "got extra argument 'x'", "section extra argument");
	bad("frontend x\n bind :80\nfrontend x\n bind :81\n",
	    "t.cfg:3: frontend 'x' has the same name as frontend 'x' declared at t.cfg:1",
	    "duplicate frontend");
	bad("backend x\nlisten x\n bind :80\n",
	    "t.cfg:2: listen 'x' has the same name as backend 'x'", "listen clashes with backend");
	bad("backend x\nbackend x\n", "has the same name as backend 'x'", "duplicate backend");
	good("frontend x\n bind :80\nbackend x\n", "frontend and backend may share a name");
	bad("  maxconn 10\n", "t.cfg:1: 'maxconn' outside of any section",
	    "keyword before any section");
	bad("resolvers dns\n nameserver a 1.1.1.1:53\n timeout retry 1s\n",
	    "t.cfg:1: 'resolvers' is an HAProxy section that lbd does not support",
	    "resolvers section");
	{
		char *err = NULL;

		m = load("userlist u\n user a password x\nbackend b\n", &err);
		T_OK(!m && err && !strchr(err, '\n'),
		     "unsupported section reported once, body skipped (%s)", err ? err : "");
		free(err);
	}
	bad("frontend f\n", "t.cfg:1: frontend 'f' has no 'bind' line", "frontend without bind");
	bad("listen l\n server s 1.2.3.4\n", "t.cfg:1: listen 'l' has no 'bind' line",
	    "listen without bind");
	bad("defaults d\ndefaults d\n",
	    "t.cfg:2: 'defaults': a defaults section named 'd' already exists",
	    "duplicate named defaults");
	bad("backend b from nowhere\n", "t.cfg:1: 'backend': no defaults section named 'nowhere'",
	    "from unknown");
	bad("backend b from\n", "expected the name of a defaults section after 'from'",
	    "from without name");

	/* directives */
	m = good_m("global\n.notice \"hello there\"\n.warning careful\n.diag dbg\n",
		   "notice/warning/diag");
	T_OK(strstr(msgs, "[notice] t.cfg:2: hello there") &&
		     strstr(msgs, "[warning] t.cfg:3: careful") &&
		     strstr(msgs, "[diag] t.cfg:4: dbg"),
	     "messages reported with file:line");
	model_free(m);
	bad("global\n.alert \"stop here\"\n", "t.cfg:2: stop here", ".alert is an error");
	bad(".notice a b\n", "t.cfg:1: '.notice': expected exactly one argument",
	    ".notice two args");
	bad(".frob x\n", "t.cfg:1: unknown directive '.frob'", "unknown directive");
	good(".notice before-any-section\nglobal\n", "directive before any section");
	bad("global\n.if defined(\n.endif\n", "t.cfg:2: '.if': missing ')'",
	    "bad .if through parser");

	/* error collection */
	{
		char *err = NULL;

		m = load("global\n maxconn x\n nbthread y\nbackend b\n retries z\n", &err);
		T_OK(!m && err && strstr(err, "t.cfg:2:") && strstr(err, "t.cfg:3:") &&
			     strstr(err, "t.cfg:5:"),
		     "parsing goes on after an error");
		free(err);
	}
	{
		char text[4096] = "global\n", *err = NULL;
		int i, n = 0;
		const char *p;

		for (i = 0; i < 40; i++)
			strcat(text, " maxconn x\n");
		m = load(text, &err);
		for (p = err; p && (p = strchr(p, '\n')); p++)
			n++;
		T_OK(!m && err && strstr(err, "too many errors") && n == 20,
		     "at most 20 errors reported (%d lines)", n + 1);
		free(err);
	}
}

static void test_defaults(void)
{
	struct model *m;
	struct proxy *f, *b, *b2;
	char buf[2048];

	snprintf(
		buf, sizeof(buf),
		"defaults\n mode http\n timeout connect 4s\n timeout client 40s\n option redispatch\n"
		" retries 7\n balance source\n maxconn 321\n log global\n default-server weight 9 check\n"
		" errorfile 503 %s/503.http\n default_backend b\n option forwardfor header X-Real\n"
		" option httpchk /h\n hash-type consistent\n xlb-forward nat\n"
		"frontend f\n bind :80\nbackend b\n server s1 1.2.3.4\n",
		fix);
	m = good_m(buf, "unnamed defaults");
	f = px(m, "f");
	b = px(m, "b");
	T_OK(f && b && f->mode == PX_MODE_HTTP && b->mode == PX_MODE_HTTP, "mode inherited");
	T_OK(b && b->to.connect == 4000 && f->to.client == 40000, "timeouts inherited");
	T_OK(b && (b->options & PX_OPT_REDISPATCH) && b->retries == 7,
	     "options, retries inherited");
	T_OK(b && b->algo && !strcmp(b->algo->name, "source") && b->hash_type == HASH_CONSISTENT,
	     "balance, hash-type inherited");
	T_OK(f && f->maxconn == 321 && f->log_global, "maxconn, log inherited");
	T_OK(m && srv(m, "b/s1")->weight == 9 && srv(m, "b/s1")->check.enabled,
	     "default-server inherited");
	T_OK(b && b->nerrorfiles == 1 && f->nerrorfiles == 1, "errorfile inherited");
	T_OK(f && f->default_backend == b, "default_backend inherited and resolved");
	T_OK(f && !strcmp(f->forwardfor_header, "X-Real") && b && !strcmp(b->httpchk_uri, "/h") &&
		     b->fwd == FWD_NAT,
	     "forwardfor, httpchk, xlb-forward inherited");
	model_free(m);

	m = good_m("defaults\n mode http\n timeout connect 4s\n"
		   "backend b1\n"
		   "defaults\n timeout server 9s\n"
		   "backend b2\n",
		   "a new defaults replaces the previous one");
	b = px(m, "b1");
	b2 = px(m, "b2");
	T_OK(b && b->mode == PX_MODE_HTTP && b->to.connect == 4000, "first defaults for b1");
	T_OK(b2 && b2->mode == PX_MODE_TCP && b2->to.connect == 0 && b2->to.server == 9000,
	     "second defaults reset everything for b2");
	model_free(m);

	m = good_m("defaults base\n mode http\n retries 1\n"
		   "defaults other\n retries 2\n"
		   "backend b1\n"
		   "backend b2 from base\n"
		   "defaults child from base\n timeout connect 1s\n"
		   "backend b3\n",
		   "named defaults and from");
	T_OK(m && px(m, "b1")->retries == 2 && px(m, "b1")->mode == PX_MODE_TCP,
	     "the last defaults applies");
	T_OK(m && px(m, "b2")->retries == 1 && px(m, "b2")->mode == PX_MODE_HTTP,
	     "'from' picks a named defaults");
	T_OK(m && px(m, "b3")->retries == 1 && px(m, "b3")->mode == PX_MODE_HTTP &&
		     px(m, "b3")->to.connect == 1000,
	     "defaults inheriting from defaults");
	model_free(m);

	m = good_m("defaults\n mode http\n log global\nbackend b\n log 127.0.0.1 local0\n",
		   "proxy log lines add to inherited ones");
	T_OK(m && px(m, "b")->log_global && !list_empty(&px(m, "b")->logs), "log global kept");
	model_free(m);
}

static void test_listen_and_ids(void)
{
	struct model *m;
	struct proxy *l, *b;
	struct server *s;
	uint32_t ids[8];
	int n = 0, i, j, uniq = 1;

	m = good_m(
		"listen l\n mode http\n bind :80\n server a 1.2.3.4:80\n server b 1.2.3.5:80 id 1\n"
		" server c 1.2.3.6:80\n"
		"backend b\n server x 1.2.3.7:80\n server y 1.2.3.8:80 backup\n",
		"listen");
	l = px(m, "l");
	b = px(m, "b");
	T_OK(l && l->cap == (PX_CAP_FE | PX_CAP_BE), "listen is frontend and backend");
	T_OK(l && l->default_backend == l, "a listen's default backend is itself");
	T_OK(l && l->uuid == 1 && b && b->uuid == 2, "proxy uuids in order");
	T_OK(m && model_find_backend(m, "l") == l && model_find_proxy(m, "l", PX_CAP_FE) == l,
	     "listen found as backend and frontend");
	T_OK(m && srv(m, "l/b")->puid == 1 && srv(m, "l/a")->puid == 2 && srv(m, "l/c")->puid == 3,
	     "explicit id kept, others get the lowest free ids");
	if (m) {
		list_for_each(l, &m->proxies, list) {
			list_for_each(s, &l->servers, list)
				ids[n++] = s->id;
		}
		for (i = 0; i < n; i++)
			for (j = i + 1; j < n; j++)
				uniq &= ids[i] != ids[j] && ids[i] && ids[j];
		T_OK(n == 5 && uniq && m->next_srv_id == 6, "server ids unique per model");
		s = srv(m, "b/x");
		T_OK(s && s->hash_key == lb_hash_bytes("b/x", 3), "hash key of backend/server");
		T_OK(b->pool && b->pool->n == 1 && b->pool->srv[0] == s &&
			     b->pool->tot_weight == 1 && !b->pool->backup,
		     "pool built at load (active servers only)");
	}
	model_free(m);

	bad("frontend f\n mode http\n bind :80\n use_backend l\nlisten l\n bind :81\n",
	    "t.cfg:4: 'use_backend': http frontend 'f' cannot use backend 'l': it is in mode tcp",
	    "mode mismatch with a listen");
}

static void test_files(void)
{
	char dir[] = "/tmp/xlb-cfg-XXXXXX", p1[600], p2[600], p3[600], *err = NULL;
	char *files[2];
	struct model *m;
	FILE *f;

	if (!mkdtemp(dir)) {
		T_SKIP("mkdtemp failed");
		return;
	}
	snprintf(p1, sizeof(p1), "%s/10-base.cfg", dir);
	snprintf(p2, sizeof(p2), "%s/20-app.cfg", dir);
	snprintf(p3, sizeof(p3), "%s/ignored.txt", dir);
	f = fopen(p1, "w");
	fputs("global\n maxconn 77\ndefaults\n mode http\n", f);
	fclose(f);
	f = fopen(p2, "w");
	fputs("\nbackend app\n timeout connect 1x\n", f);
	fclose(f);
	f = fopen(p3, "w");
	fputs("garbage\n", f);
	fclose(f);

	files[0] = p1;
	files[1] = p2;
	m = cfg_load(files, 2, &err);
	T_OK(!m && err && strstr(err, "20-app.cfg:3: 'timeout connect'"),
	     "file name and line of the second file: %s", err ? err : "");
	free(err);
	err = NULL;
	f = fopen(p2, "w");
	fputs("backend app\n timeout connect 1s\n", f);
	fclose(f);
	m = cfg_load(files, 2, &err);
	T_OK(m && m->global.maxconn == 77 && px(m, "app")->mode == PX_MODE_HTTP &&
		     !strcmp(px(m, "app")->loc.file, p2),
	     "defaults carry over to the next file (%s)", err ? err : "ok");
	model_free(m);
	free(err);
	err = NULL;

	files[0] = dir;
	m = cfg_load(files, 1, &err);
	T_OK(m && m->global.maxconn == 77 && px(m, "app") && m->nfiles == 2,
	     "a directory loads its *.cfg in order (%s)", err ? err : "ok");
	model_free(m);
	free(err);
	err = NULL;

	files[0] = "/nonexistent/lbd.cfg";
	m = cfg_load(files, 1, &err);
	T_OK(!m && err && strstr(err, "/nonexistent/lbd.cfg:0: cannot open"), "missing file: %s",
	     err ? err : "");
	free(err);
	err = NULL;
	m = cfg_load(files, 0, &err);
	T_OK(!m && err, "no file");
	free(err);

	unlink(p1);
	unlink(p2);
	unlink(p3);
	rmdir(dir);
}

static void test_fixtures(void)
{
	char path[600], *err = NULL, *files[1] = { path };
	struct model *m;

	snprintf(path, sizeof(path), "%s/full.cfg", fix);
	m = cfg_load(files, 1, &err);
	T_OK(m != NULL, "full.cfg loads (%s)", err ? err : "ok");
	if (m) {
		T_OK(px(m, "www") && px(m, "www")->default_backend == px(m, "static") &&
			     nbinds(px(m, "www")) == 2,
		     "full.cfg frontend");
		T_OK(px(m, "api")->pool->n == 1 && srv(m, "api/a1")->check.inter == 3000 &&
			     srv(m, "api/a1")->check.rise == 3,
		     "full.cfg default-server from defaults");
		T_OK(px(m, "l4")->fwd == FWD_NAT && px(m, "l4")->mode == PX_MODE_TCP,
		     "full.cfg listen");
	}
	model_free(m);
	free(err);
	err = NULL;

	if (access("/etc/haproxy/haproxy.cfg", R_OK)) {
		T_SKIP("Debian's /etc/haproxy/haproxy.cfg is not installed");
		return;
	}
	snprintf(path, sizeof(path), "/etc/haproxy/haproxy.cfg");
	m = cfg_load(files, 1, &err);
	T_OK(m != NULL, "Debian's stock haproxy.cfg validates (%s)", err ? err : "ok");
	if (m) {
		struct stats_socket *s =
			list_entry(m->global.stats_sockets.next, struct stats_socket, list);

		T_OK(m->global.daemon && m->global.chroot && m->global.ssl_bind_options &&
			     s->level == 2 && s->mode == 0660 && m->global.stats_timeout == 30000,
		     "Debian config values");
	}
	model_free(m);
	free(err);
}

/* ---- model API ---- */

static int hook_calls;
static void hook(struct proxy *be, void *arg)
{
	hook_calls++;
	*(struct proxy **)arg = be;
}

static void test_model(void)
{
	struct model *m = model_new();
	struct proxy *be, *fe, *def, *seen = NULL;
	struct server *a, *b, *c, *d;
	const char *f1, *f2;

	T_OK(m && m->next_srv_id == 1 && m->refcnt == 1 &&
		     !strcmp(m->global.bpf_pin_root, "/sys/fs/bpf/xlb"),
	     "model_new");
	f1 = model_intern_file(m, "a.cfg");
	f2 = model_intern_file(m, "a.cfg");
	T_OK(f1 && f1 == f2 && m->nfiles == 1, "file names interned once");

	be = proxy_new(m, "be", PX_CAP_BE);
	fe = proxy_new(m, "fe", PX_CAP_FE);
	def = proxy_new(m, "d", PX_CAP_DEF);
	T_OK(be && fe && def && be->retries == 3 && be->defsrv && !fe->defsrv && be->m == m,
	     "proxy_new");
	T_OK(model_find_backend(m, "be") == be && !model_find_backend(m, "fe") &&
		     model_find_proxy(m, "fe", PX_CAP_FE) == fe && !model_find_proxy(m, "d", 0),
	     "lookups; defaults not listed");
	def->mode = PX_MODE_HTTP;
	def->defsrv->weight = 4;
	T_EQ_INT(proxy_inherit(be, def), 0, "proxy_inherit");
	T_OK(be->mode == PX_MODE_HTTP && be->defsrv->weight == 4, "inherited");
	proxy_free(def);

	model_set_change_hook(hook, &seen);
	a = server_new(be, "a");
	b = server_new(be, "b");
	c = server_new(be, "c");
	d = server_new(be, "a");
	T_OK(a && a->weight == 4 && a->refcnt == 1 && a->be == be,
	     "server_new copies default-server");
	T_EQ_INT(backend_add_server(be, a), 0, "add a");
	T_EQ_INT(backend_add_server(be, b), 0, "add b");
	c->backup = true;
	T_EQ_INT(backend_add_server(be, c), 0, "add c (backup)");
	T_EQ_INT(backend_add_server(be, d), -EEXIST, "duplicate name refused");
	server_put(d);
	T_OK(a->id == 1 && b->id == 2 && c->id == 3 && m->next_srv_id == 4, "ids from the model");
	T_OK(a->puid == 1 && b->puid == 2 && c->puid == 3 && a->hash_key, "puids and hash keys");
	T_OK(hook_calls == 3 && seen == be, "change hook runs on every recalc");
	T_OK(be->pool->n == 2 && be->pool->tot_weight == 8 && !be->pool->backup, "pool of actives");
	T_EQ_STR(server_state_str(a), "UP", "UP");
	a->admin = SRV_ADMIN_DRAIN;
	T_EQ_STR(server_state_str(a), "DRAIN", "DRAIN");
	a->admin = SRV_ADMIN_MAINT;
	T_EQ_STR(server_state_str(a), "MAINT", "MAINT");
	a->admin = SRV_ADMIN_READY;
	a->chk_state = SRV_CHK_DOWN;
	T_EQ_STR(server_state_str(a), "DOWN", "DOWN");
	T_OK(!server_usable(a), "down is not usable");
	b->weight = 0;
	T_EQ_STR(server_state_str(b), "NOLB", "NOLB for weight 0");
	backend_recalc(be);
	T_OK(be->pool->n == 1 && be->pool->srv[0] == c && be->pool->backup,
	     "backup used when no active is usable");
	d = server_new(be, "d");
	d->backup = true;
	backend_add_server(be, d);
	T_OK(be->pool->n == 1 && be->pool->srv[0] == c, "only the first backup");
	be->options |= PX_OPT_ALLBACKUPS;
	backend_recalc(be);
	T_OK(be->pool->n == 2 && be->pool->tot_weight == 8, "allbackups uses every backup");
	a->chk_state = SRV_CHK_UP;
	backend_recalc(be);
	T_OK(be->pool->n == 1 && be->pool->srv[0] == a && !be->pool->backup, "active back");

	T_OK(model_find_server(m, "be/c") == c, "model_find_server");
	errno = 0;
	T_OK(!model_find_server(m, "be/zz") && errno == ENOENT, "missing server: ENOENT");
	T_OK(!model_find_server(m, "nobackend") && errno == ENOENT, "bad form: ENOENT");

	server_get(a);
	T_EQ_INT(backend_del_server(be, a), 0, "del a");
	T_OK(a->removed && a->refcnt == 1 && !backend_find_server(be, "a") && be->nservers == 3,
	     "removed server lives while referenced");
	T_EQ_INT(backend_del_server(be, a), -ENOENT, "del twice");
	T_OK(!server_usable(a), "removed is not usable");
	server_put(a);
	T_OK(be->pool->n == 2 && be->pool->backup, "pool without a");

	T_EQ_STR(px_mode_str(PX_MODE_HTTP), "http", "px_mode_str http");
	T_EQ_STR(px_mode_str(PX_MODE_TCP), "tcp", "px_mode_str tcp");
	T_EQ_STR(srv_origin_str(SRV_ORIGIN_ETCD), "etcd", "srv_origin_str");
	d = server_new(be, "x");
	T_EQ_INT(backend_add_server(fe, d), -EINVAL, "frontend has no servers");
	server_put(d);
	model_set_change_hook(NULL, NULL);
	model_free(m);
	model_free(NULL);
	proxy_free(NULL);
	server_put(NULL);
	cond_free(NULL);
}

static void test_helpers(void)
{
	struct sockaddr_storage ss;
	uint64_t sz;
	uint32_t ms;
	socklen_t len;
	char *err = NULL;

	T_OK(!cfg_parse_time("5s", &ms) && ms == 5000, "5s");
	T_OK(!cfg_parse_time("100", &ms) && ms == 100, "100 (ms)");
	T_OK(!cfg_parse_time("1500us", &ms) && ms == 2, "1500us rounds up");
	T_OK(!cfg_parse_time("0", &ms) && ms == 0, "0");
	T_OK(cfg_parse_time("", &ms) < 0 && cfg_parse_time("-1s", &ms) < 0 &&
		     cfg_parse_time("5 s", &ms) < 0 &&
		     cfg_parse_time("99999999999999999999", &ms) < 0,
	     "bad times");
	T_OK(!cfg_parse_size("16k", &sz) && sz == 16384 && !cfg_parse_size("1M", &sz) &&
		     sz == 1048576 && !cfg_parse_size("42", &sz) && sz == 42,
	     "sizes");
	T_OK(cfg_parse_size("1kb", &sz) < 0 && cfg_parse_size("x", &sz) < 0, "bad sizes");
	T_OK(!cfg_parse_addr("10.0.0.1:80", &ss, &len, -1, &err) && port_of(&ss) == 80, "v4:port");
	T_OK(!cfg_parse_addr("::1", &ss, &len, 7, &err) && ss.ss_family == AF_INET6 &&
		     port_of(&ss) == 7,
	     "bare ::1 is an address");
	T_OK(!cfg_parse_addr("::1:80", &ss, &len, 7, &err) && port_of(&ss) == 80,
	     "::1:80 has a port, as HAProxy");
	T_OK(!cfg_parse_addr("fe80::1", &ss, &len, 7, &err) && port_of(&ss) == 7, "fe80::1");
	T_OK(cfg_parse_addr("10.0.0.1", &ss, &len, -1, &err) < 0 && strstr(err, "missing port"),
	     "port required");
	free(err);
	err = NULL;
	T_OK(cfg_parse_addr("[::1", &ss, &len, 0, &err) < 0, "unclosed bracket");
	free(err);
	err = NULL;
	T_OK(cfg_parse_addr("ipv4@::1", &ss, &len, 0, &err) < 0, "ipv4@ with a v6 address");
	free(err);
	err = NULL;
	T_OK(cfg_err(&err, "x %d", 1) == -1 && !strcmp(err, "x 1"), "cfg_err");
	free(err);
	err = NULL;
	{
		char *words[] = { "a", "b", "c", NULL };
		char *j = cfg_join(words, 3);
		char **d = cfg_dup_words(words, 2);

		T_OK(j && !strcmp(j, "a b c") && d && !strcmp(d[1], "b") && !d[2], "join, dup");
		free(j);
		cfg_words_free(d);
	}
}

int main(void)
{
	const char *slash = strrchr(__FILE__, '/');

	snprintf(fix, sizeof(fix), "%.*scfg", slash ? (int)(slash - __FILE__ + 1) : 0, __FILE__);
	cfg_set_msg_handler(capture, NULL);
	test_global();
	test_bind();
	test_mode_maxconn_timeouts();
	test_balance();
	test_routing();
	test_options();
	test_http_reuse();
	test_log_stats_misc();
	test_server();
	test_sections();
	test_defaults();
	test_listen_and_ids();
	test_files();
	test_fixtures();
	test_model();
	test_helpers();
	T_DONE();
}
