// SPDX-License-Identifier: MIT
/*
 * The XDP tier with real traffic: a client namespace, the balancer (this
 * process, in its own network namespace, XDP attached natively to its two
 * veths through maps.c) and a server namespace running demo-server. curl and
 * socat talk to the VIPs; the real TCP/UDP stacks at both ends check every
 * checksum, and redirects really happen.
 *
 *   [cli] c1 10.0.0.2 --- c0 10.0.0.1 [balancer] 10.1.0.1 s0 --- s1 10.1.0.10, .11 [srv]
 *
 * VIPs are routed to the balancer (192.0.2.0/24, 2001:db8::/32): the client's
 * default route. Servers route back through the balancer too (for nat).
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "algo.h"
#include "maps.h"
#include "fixture.h"
#include "stubs.h"
#include "t.h"

static char cli[32], srv[32], demo[PATH_MAX];
static pid_t servers[4];
static int nservers;

/* Run a command, return its stdout (first 4 KiB, trailing newline cut). */
static char *out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *out(const char *fmt, ...)
{
	static char buf[4096];
	char cmd[1024];
	size_t n;
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	buf[0] = 0;
	f = popen(cmd, "r");
	if (!f)
		return buf;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	pclose(f);
	while (n && buf[n - 1] == '\n')
		buf[--n] = 0;
	return buf;
}

static void start_server(const char *name, const char *args)
{
	char cmd[PATH_MAX + 256];
	pid_t pid;

	snprintf(cmd, sizeof(cmd), "exec ip netns exec %s %s -n %s %s", srv, demo, name, args);
	pid = fork();
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		servers[nservers++] = pid;
}

static void cleanup(void)
{
	int i;

	for (i = 0; i < nservers; i++) {
		kill(servers[i], SIGTERM);
		waitpid(servers[i], NULL, 0);
	}
	nservers = 0;
	if (cli[0])
		sh("ip netns del %s 2>/dev/null; ip netns del %s 2>/dev/null; true", cli, srv);
}

static int net_setup(void)
{
	int rc = 0;

	rc |= sh("ip netns add %s && ip netns add %s", cli, srv);
	rc |= sh("ip link set lo up");
	rc |= sh("ip link add c0 type veth peer name c1 netns %s", cli);
	rc |= sh("ip link add s0 type veth peer name s1 netns %s", srv);
	rc |= sh("ip addr add 10.0.0.1/24 dev c0 && ip addr add fd00::1/64 dev c0 nodad");
	rc |= sh("ip addr add 10.1.0.1/24 dev s0 && ip addr add fd01::1/64 dev s0 nodad");
	rc |= sh("ip link set c0 up && ip link set s0 up");
	rc |= sh("echo 1 > /proc/sys/net/ipv4/ip_forward");
	rc |= sh("echo 1 > /proc/sys/net/ipv6/conf/all/forwarding");
	/* Client: VIPs through the balancer. Senders compute full checksums (tx off). */
	rc |= sh("ip -n %s link set lo up && ip -n %s addr add 10.0.0.2/24 dev c1 && "
		 "ip -n %s addr add fd00::2/64 dev c1 nodad && ip -n %s link set c1 up && "
		 "ip -n %s route add default via 10.0.0.1 && "
		 "ip -n %s -6 route add default via fd00::1",
		 cli, cli, cli, cli, cli, cli);
	rc |= sh("ip netns exec %s ethtool -K c1 tx off gro on >/dev/null", cli);
	rc |= sh("ip -n %s link set lo up && ip -n %s addr add 10.1.0.10/24 dev s1 && "
		 "ip -n %s addr add 10.1.0.11/24 dev s1 && "
		 "ip -n %s addr add fd01::10/64 dev s1 nodad && ip -n %s link set s1 up && "
		 "ip -n %s route add default via 10.1.0.1 && "
		 "ip -n %s -6 route add default via fd01::1",
		 srv, srv, srv, srv, srv, srv, srv);
	rc |= sh("ip netns exec %s ethtool -K s1 tx off gro on >/dev/null", srv);
	return rc;
}

/* ---- Model ---- */

static const struct lb_algo_ops t_rr = { .name = "roundrobin", .l4_ok = true };

/* A frontend and its round-robin backend b_<name>; returns the backend. */
static struct proxy *mk_service(const char *name, enum fwd_mode fwd, const char *vip, int port,
				enum bind_proto proto)
{
	char bname[64];
	struct proxy *be;

	snprintf(bname, sizeof(bname), "b_%s", name);
	be = mk_backend(bname, &t_rr, fwd);
	mk_frontend(name, be, vip, port, proto);
	return be;
}

/* ---- Main ---- */

static int count_lines(const char *text, const char *word)
{
	int n = 0;
	const char *p = text;

	while ((p = strstr(p, word))) {
		n++;
		p += strlen(word);
	}
	return n;
}

int main(int argc, char **argv)
{
	char root[64], self[PATH_MAX], *r;
	struct proxy *bt, *bn, *bu, *b6, *px;
	struct server *s2;
	uint64_t g[XLB_STAT_MAX];
	int i, ok;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		T_SKIP("needs root");
		return 0;
	}
	snprintf(self, sizeof(self), "%s", argv[0]);
	snprintf(demo, sizeof(demo), "%s/../demo-server", dirname(self));
	if (access(demo, X_OK) || system("command -v curl socat ethtool >/dev/null")) {
		T_SKIP("needs build/demo-server, curl, socat, ethtool");
		return 0;
	}
	if (unshare(CLONE_NEWNET | CLONE_NEWNS) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
		T_SKIP("unshare: %s", strerror(errno));
		return 0;
	}
	snprintf(cli, sizeof(cli), "xlbc%d", getpid());
	snprintf(srv, sizeof(srv), "xlbs%d", getpid());
	atexit(cleanup);
	if (net_setup()) {
		T_SKIP("could not build the namespaces");
		return 0;
	}
	start_server("s1", "-l 10.1.0.10:8080 -l [fd01::10]:8080 -u 10.1.0.10:5353");
	start_server("s2", "-l 10.1.0.11:8080 -u 10.1.0.11:5353");

	snprintf(root, sizeof(root), "/sys/fs/bpf/xlb-live-%d", getpid());
	if (xlb_maps_open(&(struct xlb_maps_opts){
		    .pin_root = root, .fresh = true, .flow_entries = 16384 })) {
		T_SKIP("cannot load the XDP program: %s", xlb_maps_error());
		return 0;
	}
	list_init(&M.proxies);
	bt = mk_service("web", FWD_FULLNAT, "192.0.2.100", 80, BIND_TCP);
	mk_server(bt, "s1", "10.1.0.10", 8080, 1);
	s2 = mk_server(bt, "s2", "10.1.0.11", 8080, 1);
	bn = mk_service("webnat", FWD_NAT, "192.0.2.102", 80, BIND_TCP);
	mk_server(bn, "n1", "10.1.0.10", 8080, 1);
	bu = mk_service("dns", FWD_FULLNAT, "192.0.2.100", 53, BIND_UDP);
	mk_server(bu, "u1", "10.1.0.10", 5353, 1);
	mk_server(bu, "u2", "10.1.0.11", 5353, 1);
	b6 = mk_service("web6", FWD_FULLNAT, "2001:db8::100", 80, BIND_TCP);
	mk_server(b6, "v6", "fd01::10", 8080, 1);
	list_for_each(px, &M.proxies, list) {
		if (px->cap & PX_CAP_BE)
			recalc(px);
	}
	T_EQ_INT(xlb_maps_sync_model(&M), 0, "sync_model: %s", xlb_maps_error());
	T_EQ_INT(xlb_maps_attach("c0", XLB_XDP_NATIVE), 0, "native XDP on c0: %s",
		 xlb_maps_error());
	T_EQ_INT(xlb_maps_attach("s0", XLB_XDP_NATIVE), 0, "native XDP on s0: %s",
		 xlb_maps_error());
	/* The servers need a moment to listen (their neighbours were kicked by the sync). */
	for (i = 0; i < 50 && !strstr(out("ip netns exec %s ss -ltn", srv), "10.1.0.11:8080"); i++)
		usleep(100000);

	r = out("for i in 1 2 3 4; do ip netns exec %s curl -s -m 3 http://192.0.2.100/; done",
		cli);
	T_OK(count_lines(r, "s1") == 2 && count_lines(r, "s2") == 2,
	     "fullnat TCP: 4 requests, round-robin over 2 servers (%s)", r);
	r = out("ip netns exec %s curl -s -m 5 -o /dev/null -w '%%{http_code} %%{size_download}' "
		"'http://192.0.2.100/big?n=3000000'",
		cli);
	T_EQ_STR(r, "200 3000000", "fullnat TCP: a 3 MB response arrives whole");
	r = out("ip netns exec %s curl -s -m 3 http://192.0.2.102/", cli);
	T_EQ_STR(r, "s1", "nat TCP: replies routed back through the balancer");
	r = out("echo ping | ip netns exec %s socat -T2 - UDP:192.0.2.100:53", cli);
	T_OK(!strcmp(r, "s1:ping") || !strcmp(r, "s2:ping"), "fullnat UDP echo (%s)", r);
	r = out("ip netns exec %s curl -s -m 3 -g 'http://[2001:db8::100]/'", cli);
	T_EQ_STR(r, "s1", "fullnat IPv6 TCP");

	/* Maintenance: the server leaves the rotation. */
	s2->admin = SRV_ADMIN_MAINT;
	recalc(bt);
	r = out("for i in 1 2 3; do ip netns exec %s curl -s -m 3 http://192.0.2.100/; done", cli);
	T_EQ_INT(count_lines(r, "s1"), 3, "a server in maintenance gets no new flows (%s)", r);
	s2->admin = SRV_ADMIN_READY;
	recalc(bt);

	/* lbd goes away and comes back: a transfer in flight continues. */
	sh("ip netns exec %s sh -c \"curl -s -m 6 -o /dev/null -w '%%{http_code}' "
	   "'http://192.0.2.100/slow?ms=1500' > /tmp/xlb-live-%d.out\" &",
	   cli, getpid());
	usleep(300000);
	xlb_maps_close();
	T_OK(strstr(out("ip link show c0"), "xdp") != NULL, "XDP stays attached without lbd");
	ok = xlb_maps_open(&(struct xlb_maps_opts){ .pin_root = root }) == 0;
	ok = ok && xlb_maps_sync_model(&M) == 0;
	ok = ok && xlb_maps_attach("c0", XLB_XDP_NATIVE) == 0 &&
	     xlb_maps_attach("s0", XLB_XDP_NATIVE) == 0;
	T_OK(ok, "restart: reopen, resync, re-attach (%s)", xlb_maps_error());
	for (i = 0; i < 40 && !strlen(out("cat /tmp/xlb-live-%d.out 2>/dev/null", getpid())); i++)
		usleep(100000);
	T_EQ_STR(out("cat /tmp/xlb-live-%d.out", getpid()), "200",
		 "a request in flight across the restart completes");
	sh("rm -f /tmp/xlb-live-%d.out", getpid());

	xlb_maps_read_global(g);
	T_OK(g[XLB_STAT_FWD] > 0 && g[XLB_STAT_REPLY] > 0 && g[XLB_STAT_REDIRECT] > 0,
	     "counters: fwd %llu, reply %llu, redirect %llu", (unsigned long long)g[XLB_STAT_FWD],
	     (unsigned long long)g[XLB_STAT_REPLY], (unsigned long long)g[XLB_STAT_REDIRECT]);
	T_EQ_INT(g[XLB_STAT_FIB_NO_NEIGH], 0, "no packet waited for a neighbour");
	{
		struct xlb_srv_stats ss;

		xlb_maps_read_server(s2->id, &ss);
		T_OK(ss.new_flows >= 2 && ss.reply_packets > 0, "per-server counters of s2");
	}
	(void)bn;
	(void)bu;
	(void)b6;

	T_EQ_INT(xlb_maps_down(root), 0, "down: %s", xlb_maps_error());
	T_OK(!strstr(out("ip link show c0"), "xdp"), "down detached XDP");
	printf("# %d checks, %d failed\n", t_count, t_failed);
	T_DONE();
}
