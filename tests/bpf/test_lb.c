// SPDX-License-Identifier: MIT
/*
 * Packet tests of the XDP program (bpf/lb.bpf.c), driven through maps.c the
 * way lbd drives it: a model is synced into the maps, then crafted frames
 * run through bpf_prog_test_run_opts. Each case checks the verdict, every
 * output byte against a frame built from scratch (checksums computed
 * independently, not incrementally), the flow tables and the counters.
 *
 * The test enters its own network and mount namespaces and builds veth
 * pairs with addresses and permanent neighbours there, so bpf_fib_lookup
 * resolves next hops exactly as on a balancer:
 *
 *   client 10.0.0.2 / fd00::2 --- xc0 [balancer] xs0 --- servers 10.1.0.10-13 / fd01::10
 *                                 10.0.0.1             10.1.0.1
 *
 * Maps are pinned under /sys/fs/bpf/xlb-test-<pid>, removed at the end.
 * `bpf_test_lb --bench [N [WORD]]` prints ns/packet instead (live frames,
 * repeat N; only the cases whose name contains WORD, e.g. for perf).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/mount.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "algo.h"
#include "maps.h"
#include "fixture.h"
#include "stubs.h"
#include "t.h"
#include "xdp_pass.skel.h"

/* ---- Test network ---- */

static const uint8_t MAC_XC0[6] = { 0x02, 0, 0, 0, 0xaa, 0x01 }; /* balancer, client side */
static const uint8_t MAC_XS0[6] = { 0x02, 0, 0, 0, 0xaa, 0x02 }; /* balancer, server side */
static const uint8_t MAC_CLI[6] = { 0x02, 0, 0, 0, 0x00, 0x02 }; /* client 10.0.0.2 */
static const uint8_t MAC_TXS[6] = { 0x02, 0, 0, 0, 0x00, 0x50 }; /* server 10.0.0.50 */
static const uint8_t MAC_NEXT[6] = { 0x02, 0, 0, 0, 0x99, 0x99 }; /* anything, on ingress */

/* MAC of server 10.1.0.N / fd01::N */
static void srv_mac(uint8_t *mac, int n)
{
	const uint8_t m[6] = { 0x02, 0, 0, 0, 0x01, (uint8_t)n };

	memcpy(mac, m, 6);
}

static int ifx_c, ifx_s; /* ifindex of xc0, xs0 */

static int net_setup(void)
{
	int rc = 0, i;

	rc |= sh("ip link set lo up");
	rc |= sh("ip link add xc0 address 02:00:00:00:aa:01 type veth peer name xc1 "
		 "address 02:00:00:00:bb:01");
	rc |= sh("ip link add xs0 address 02:00:00:00:aa:02 type veth peer name xs1 "
		 "address 02:00:00:00:bb:02");
	rc |= sh("for i in xc0 xc1 xs0 xs1; do ip link set $i up; done");
	rc |= sh("ip addr add 10.0.0.1/24 dev xc0 && ip addr add 10.1.0.1/24 dev xs0");
	rc |= sh("ip addr add fd00::1/64 dev xc0 nodad && ip addr add fd01::1/64 dev xs0 nodad");
	rc |= sh("ip neigh add 10.0.0.2 lladdr 02:00:00:00:00:02 dev xc0 nud permanent");
	rc |= sh("ip neigh add 10.0.0.50 lladdr 02:00:00:00:00:50 dev xc0 nud permanent");
	rc |= sh("ip neigh add fd00::2 lladdr 02:00:00:00:00:02 dev xc0 nud permanent");
	for (i = 10; i <= 13; i++) {
		rc |= sh("ip neigh add 10.1.0.%d lladdr 02:00:00:00:01:%02x dev xs0 nud permanent",
			 i, i);
		rc |= sh("ip neigh add fd01::%d lladdr 02:00:00:00:01:%02x dev xs0 nud permanent",
			 i, i);
	}
	/* The client network behind a router, for clients other than 10.0.0.2. */
	rc |= sh("ip neigh add 10.0.0.254 lladdr 02:00:00:00:99:99 dev xc0 nud permanent");
	rc |= sh("ip route add 172.16.0.0/12 via 10.0.0.254");
	rc |= sh("ip neigh add fd00::fe lladdr 02:00:00:00:99:99 dev xc0 nud permanent");
	rc |= sh("ip -6 route add 2001:db8::/32 via fd00::fe");
	rc |= sh("echo 1 > /proc/sys/net/ipv4/ip_forward");
	rc |= sh("echo 1 > /proc/sys/net/ipv6/conf/all/forwarding");
	ifx_c = if_nametoindex("xc0");
	ifx_s = if_nametoindex("xs0");
	return rc || !ifx_c || !ifx_s ? -1 : 0;
}

/* ---- Frames ---- */

struct pkt {
	int family; /* 4 or 6 */
	const uint8_t *smac, *dmac;
	uint16_t vlan; /* 802.1Q id, 0 = untagged */
	const char *src, *dst;
	uint16_t sport, dport;
	uint8_t proto; /* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t flags; /* TCP flags */
	uint8_t ttl; /* 0 = 64 */
	bool udp_nocsum; /* IPv4 UDP without checksum */
	int ip_opts; /* bytes of IPv4 NOP options (multiple of 4) */
	uint8_t v6_ext; /* IPv6 extension header before L4 (0 = none; 0 is HBH, so use 0xff+) */
	uint16_t frag; /* IPv4 frag_off field (host order) */
	const char *payload;
};

#define V6EXT_HBH 1
#define V6EXT_FRAG 2

static uint32_t sum16(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;

	while (len > 1) {
		sum += (uint32_t)p[0] << 8 | p[1];
		p += 2;
		len -= 2;
	}
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

/* Build a frame with every checksum computed from scratch. Returns its length. */
static size_t build(const struct pkt *k, uint8_t *b)
{
	size_t off = 0, l3, l4, l4len, plen = k->payload ? strlen(k->payload) : 0;
	uint8_t a_src[16], a_dst[16];
	int alen = k->family == 4 ? 4 : 16;
	uint32_t s;

	inet_pton(k->family == 4 ? AF_INET : AF_INET6, k->src, a_src);
	inet_pton(k->family == 4 ? AF_INET : AF_INET6, k->dst, a_dst);
	memcpy(b, k->dmac, 6);
	memcpy(b + 6, k->smac, 6);
	off = 12;
	if (k->vlan) {
		put16(b + off, 0x8100);
		put16(b + off + 2, k->vlan);
		off += 4;
	}
	put16(b + off, k->family == 4 ? 0x0800 : 0x86dd);
	off += 2;
	l3 = off;
	l4len = (k->proto == IPPROTO_TCP ? 20 : 8) + plen;
	if (k->family == 4) {
		size_t ihl = 20 + k->ip_opts;

		memset(b + l3, 0, ihl);
		b[l3] = 0x40 | (ihl / 4);
		put16(b + l3 + 2, ihl + l4len);
		put16(b + l3 + 4, 0x1234);
		put16(b + l3 + 6, k->frag);
		b[l3 + 8] = k->ttl ? k->ttl : 64;
		b[l3 + 9] = k->proto;
		memcpy(b + l3 + 12, a_src, 4);
		memcpy(b + l3 + 16, a_dst, 4);
		memset(b + l3 + 20, 1, k->ip_opts); /* NOP options */
		put16(b + l3 + 10, fold(sum16(b + l3, ihl, 0)));
		l4 = l3 + ihl;
	} else {
		size_t ext = k->v6_ext ? 8 : 0;

		memset(b + l3, 0, 40 + ext);
		b[l3] = 0x60;
		put16(b + l3 + 4, ext + l4len);
		b[l3 + 6] = k->v6_ext == V6EXT_HBH ? 0 : k->v6_ext == V6EXT_FRAG ? 44 : k->proto;
		b[l3 + 7] = k->ttl ? k->ttl : 64;
		memcpy(b + l3 + 8, a_src, 16);
		memcpy(b + l3 + 24, a_dst, 16);
		if (ext) {
			b[l3 + 40] = k->proto; /* next header; the rest zero (PadN / offset 0) */
			if (k->v6_ext == V6EXT_HBH) {
				b[l3 + 42] = 1; /* PadN, 4 bytes */
				b[l3 + 43] = 4;
			}
		}
		l4 = l3 + 40 + ext;
	}
	memset(b + l4, 0, l4len);
	put16(b + l4, k->sport);
	put16(b + l4 + 2, k->dport);
	if (k->proto == IPPROTO_TCP) {
		put16(b + l4 + 4, 0x1111);
		put16(b + l4 + 8, 0x2222);
		b[l4 + 12] = 5 << 4;
		b[l4 + 13] = k->flags;
		put16(b + l4 + 14, 64240);
		memcpy(b + l4 + 20, k->payload ? k->payload : "", plen);
	} else {
		put16(b + l4 + 4, l4len);
		memcpy(b + l4 + 8, k->payload ? k->payload : "", plen);
	}
	/* pseudo-header */
	s = sum16(a_src, alen, 0);
	s = sum16(a_dst, alen, s);
	s += k->proto + l4len;
	s = sum16(b + l4, l4len, s);
	if (k->proto == IPPROTO_TCP) {
		put16(b + l4 + 16, fold(s));
	} else if (!k->udp_nocsum) {
		uint16_t c = fold(s);

		put16(b + l4 + 6, c ? c : 0xffff);
	}
	return l4 + l4len;
}

static void hexdump_diff(const uint8_t *got, const uint8_t *want, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (got[i] != want[i])
			printf("#   byte %zu: got %02x, expected %02x\n", i, got[i], want[i]);
	}
}

static int prog_fd;

/* Run one frame; returns the XDP verdict, the output in out and olen. */
static int run(const uint8_t *in, size_t len, int ifindex, uint8_t *out, uint32_t *olen)
{
	struct xdp_md ctx = { .data_end = len, .ingress_ifindex = ifindex };
	uint8_t sink[2048];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = len,
		    .data_out = out ? out : sink, .data_size_out = sizeof(sink), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);

	if (bpf_prog_test_run_opts(prog_fd, &o)) {
		printf("# test_run: %s\n", strerror(errno));
		return -1;
	}
	if (olen)
		*olen = o.data_size_out;
	return o.retval;
}

/* Run k in from ifindex; returns the verdict. */
static int run_pkt(const struct pkt *k, int ifindex)
{
	uint8_t in[2048];

	return run(in, build(k, in), ifindex, NULL, NULL);
}

/* Run k in from ifindex; expect verdict and, when want != NULL, exactly that frame out. */
static void expect(const char *what, const struct pkt *k, int ifindex, int verdict,
		   const struct pkt *want)
{
	uint8_t in[2048], out[2048], exp[2048];
	size_t ilen = build(k, in), elen;
	uint32_t olen = 0;
	int v = run(in, ilen, ifindex, out, &olen);

	T_EQ_INT(v, verdict, "%s: verdict", what);
	if (!want)
		return;
	elen = build(want, exp);
	T_OK(olen == elen && !memcmp(out, exp, elen), "%s: output frame", what);
	if (olen == elen)
		hexdump_diff(out, exp, elen);
	else
		printf("#   length %u, expected %zu\n", olen, elen);
}

/* ---- Counters ---- */

static uint64_t g0[XLB_STAT_MAX];

static void stats_mark(void)
{
	xlb_maps_read_global(g0);
}

static uint64_t stat_delta(int i)
{
	uint64_t g[XLB_STAT_MAX];

	xlb_maps_read_global(g);
	return g[i] - g0[i];
}

#define T_STAT(i, n, what) T_EQ_INT(stat_delta(i), n, "%s: counter %s", what, xlb_stat_name(i))

/* ---- A model built by hand (the parser is tested elsewhere) ---- */

static const struct lb_algo_ops t_rr = { .name = "roundrobin", .l4_ok = true };
static const struct lb_algo_ops t_src = { .name = "source", .l4_ok = true, .hashed = true };
static const struct lb_algo_ops t_lc = { .name = "leastconn" };

/* ---- Helpers on tuples and flows ---- */

static void addr16(const char *s, __be32 a[4])
{
	struct sockaddr_storage ss;

	memset(a, 0, 16);
	set_sa(&ss, s, 0);
	xlb_addr_from_sockaddr((struct sockaddr *)&ss, a);
}

static struct xlb_tuple tuple(const char *src, int sport, const char *dst, int dport, int proto)
{
	struct xlb_tuple t;

	memset(&t, 0, sizeof(t));
	addr16(src, t.src);
	addr16(dst, t.dst);
	t.sport = htons(sport);
	t.dport = htons(dport);
	t.proto = proto;
	return t;
}

/* The server id the flow of this client tuple points to, or -1. */
static int64_t flow_srv(const struct xlb_tuple *t, struct xlb_flow *f)
{
	struct xlb_flow tmp;

	if (!f)
		f = &tmp;
	if (xlb_maps_lookup_flow(t, f))
		return -1;
	return f->srv_id;
}

/* ---- The model of the tests ---- */

static struct proxy *be_s6, *fe_s6;
static struct server *s_s6[4];
static struct proxy *be_t, *be_u, *be_s, *be_n, *be_6, *be_tx, *be_nn, *be_one, *be_lc;
static struct proxy *fe_t, *fe_u, *fe_s, *fe_n, *fe_6, *fe_h, *fe_w, *fe_tx, *fe_nn, *fe_one,
	*fe_lc;
static struct server *s_t1, *s_t2, *s_u, *s_s[4], *s_n, *s_6, *s_tx, *s_nn, *s_one;

static void build_model(void)
{
	int i;

	list_init(&M.proxies);
	be_t = mk_backend("bt", &t_rr, FWD_FULLNAT);
	s_t1 = mk_server(be_t, "t1", "10.1.0.10", 8080, 3);
	s_t2 = mk_server(be_t, "t2", "10.1.0.11", 8080, 1);
	fe_t = mk_frontend("ft", be_t, "10.0.0.100", 80, BIND_TCP);

	be_u = mk_backend("bu", &t_rr, FWD_FULLNAT);
	s_u = mk_server(be_u, "u1", "10.1.0.12", 5353, 1);
	fe_u = mk_frontend("fu", be_u, "10.0.0.100", 53, BIND_UDP);

	be_s = mk_backend("bs", &t_src, FWD_FULLNAT);
	be_s->hash_type = HASH_CONSISTENT;
	for (i = 0; i < 4; i++) {
		char name[8], addr[16];

		snprintf(name, sizeof(name), "s%d", i);
		snprintf(addr, sizeof(addr), "10.1.0.%d", 10 + i);
		s_s[i] = mk_server(be_s, name, addr, 0, i == 2 ? 2 : 1); /* port 0: VIP's */
	}
	fe_s = mk_frontend("fs", be_s, "10.0.0.101", 80, BIND_TCP);
	be_s6 = mk_backend("bs6", &t_src, FWD_FULLNAT);
	for (i = 0; i < 4; i++) {
		char name[8], addr[16];

		snprintf(name, sizeof(name), "6s%d", i);
		snprintf(addr, sizeof(addr), "fd01::%d", 10 + i);
		s_s6[i] = mk_server(be_s6, name, addr, 0, i == 1 ? 3 : 1);
	}
	fe_s6 = mk_frontend("fs6", be_s6, "fd00::101", 80, BIND_TCP);

	be_n = mk_backend("bn", &t_rr, FWD_NAT);
	s_n = mk_server(be_n, "n1", "10.1.0.13", 80, 1);
	fe_n = mk_frontend("fn", be_n, "10.0.0.102", 80, BIND_TCP);

	be_6 = mk_backend("b6", &t_rr, FWD_FULLNAT);
	s_6 = mk_server(be_6, "v6a", "fd01::10", 8080, 1);
	fe_6 = mk_frontend("f6", be_6, "fd00::100", 80, BIND_TCP);

	fe_h = mk_proxy("fh", PX_CAP_FE, PX_MODE_HTTP);
	fe_h->default_backend = be_t;
	mk_bind(fe_h, "10.0.0.100", 8080, BIND_TCP);

	fe_w = mk_frontend("fw", be_t, "0.0.0.0", 9000, BIND_TCP);

	be_tx = mk_backend("btx", &t_rr, FWD_FULLNAT);
	s_tx = mk_server(be_tx, "tx1", "10.0.0.50", 80, 1);
	fe_tx = mk_frontend("ftx", be_tx, "10.0.0.103", 80, BIND_TCP);

	be_nn = mk_backend("bnn", &t_rr, FWD_FULLNAT);
	s_nn = mk_server(be_nn, "nn1", "10.1.0.99", 80, 1);
	fe_nn = mk_frontend("fnn", be_nn, "10.0.0.104", 80, BIND_TCP);

	/* One server, with `source` set: SNAT port exhaustion. */
	be_one = mk_backend("bone", &t_rr, FWD_FULLNAT);
	set_sa(&be_one->source, "10.1.0.254", 0);
	s_one = mk_server(be_one, "one", "10.1.0.10", 9999, 1);
	fe_one = mk_frontend("fone", be_one, "10.0.0.105", 80, BIND_TCP);

	be_lc = mk_backend("blc", &t_lc, FWD_FULLNAT);
	mk_server(be_lc, "lc1", "10.1.0.10", 80, 1);
	fe_lc = mk_frontend("flc", be_lc, "10.0.0.106", 80, BIND_TCP);
}

static void recalc_all(void)
{
	struct proxy *px;

	list_for_each(px, &M.proxies, list) {
		if (px->cap & PX_CAP_BE)
			recalc(px);
	}
}

/* ---- Cases ---- */

static void t_sync(void)
{
	uint32_t id;
	int ret;

	recalc_all(); /* before sync_model: pools exist, hooks are no-ops */
	ret = xlb_maps_sync_model(&M);
	T_EQ_INT(ret, 0, "sync_model: %s", xlb_maps_error());
	T_OK(fe_t->xdp && !fe_t->xdp_reason, "tcp frontend served by XDP");
	T_OK(!fe_h->xdp && fe_h->xdp_reason && strstr(fe_h->xdp_reason, "http"),
	     "http frontend left to L7: %s", fe_h->xdp_reason ? fe_h->xdp_reason : "(null)");
	T_OK(!fe_w->xdp && fe_w->xdp_reason && strstr(fe_w->xdp_reason, "wildcard"),
	     "wildcard bind left to L7: %s", fe_w->xdp_reason ? fe_w->xdp_reason : "(null)");
	T_OK(!fe_lc->xdp && fe_lc->xdp_reason && strstr(fe_lc->xdp_reason, "leastconn"),
	     "leastconn left to L7: %s", fe_lc->xdp_reason ? fe_lc->xdp_reason : "(null)");
	T_OK(xlb_maps_vip_id(list_entry(fe_t->binds.next, struct bind, list), &id) == 0,
	     "the tcp bind has a VIP");
	T_OK(xlb_maps_vip_id(list_entry(fe_w->binds.next, struct bind, list), &id) == -ENOENT,
	     "a wildcard bind has no VIP");
}

static uint16_t snat_port_of(const struct xlb_tuple *t)
{
	struct xlb_flow f;

	if (xlb_maps_lookup_flow(t, &f))
		return 0;
	return ntohs(f.snat_port);
}

static void t_fullnat_tcp(void)
{
	struct xlb_tuple t = tuple("10.0.0.2", 40000, "10.0.0.100", 80, IPPROTO_TCP);
	struct pkt in = { .family = 4,
			  .smac = MAC_CLI,
			  .dmac = MAC_XC0,
			  .src = "10.0.0.2",
			  .dst = "10.0.0.100",
			  .sport = 40000,
			  .dport = 80,
			  .proto = IPPROTO_TCP,
			  .flags = 0x02,
			  .payload = "" };
	struct pkt out;
	struct xlb_srv_stats ss0, ss1;
	struct xlb_vip_stats vs0, vs1;
	struct xlb_rev_flow rv;
	struct xlb_tuple rt;
	uint32_t vip_id;
	uint8_t smac[6];
	uint16_t port;
	int64_t sid;

	xlb_maps_vip_id(list_entry(fe_t->binds.next, struct bind, list), &vip_id);
	xlb_maps_read_vip(vip_id, &vs0);
	stats_mark();
	{
		uint8_t buf[2048], obuf[2048];
		size_t len = build(&in, buf);
		uint32_t olen;
		int v = run(buf, len, ifx_c, obuf, &olen);

		T_EQ_INT(v, XDP_REDIRECT, "fullnat SYN: redirected to the server side");
		sid = flow_srv(&t, NULL);
		T_OK(sid == s_t1->id || sid == s_t2->id, "fullnat SYN: flow created (server %lld)",
		     (long long)sid);
		port = snat_port_of(&t);
		T_EQ_INT(port, 40000, "fullnat SYN: the client's own port is the SNAT port");
		srv_mac(smac, sid == s_t1->id ? 10 : 11);
		out = (struct pkt){ .family = 4,
				    .smac = MAC_XS0,
				    .dmac = smac,
				    .src = "10.1.0.1",
				    .dst = sid == s_t1->id ? "10.1.0.10" : "10.1.0.11",
				    .sport = port,
				    .dport = 8080,
				    .proto = IPPROTO_TCP,
				    .flags = 0x02,
				    .ttl = 63,
				    .payload = "" };
		{
			uint8_t exp[2048];
			size_t elen = build(&out, exp);

			T_OK(olen == elen && !memcmp(obuf, exp, elen),
			     "fullnat SYN: output frame (MACs, addresses, ports, TTL, checksums)");
			if (olen == elen)
				hexdump_diff(obuf, exp, elen);
		}
	}
	T_STAT(XLB_STAT_NEW_FLOW, 1, "fullnat SYN");
	T_STAT(XLB_STAT_REDIRECT, 1, "fullnat SYN");
	T_STAT(XLB_STAT_FWD, 1, "fullnat SYN");

	/* The reverse entry: server -> snat addr:port gives the client and the VIP. */
	rt = tuple(out.dst, 8080, "10.1.0.1", port, IPPROTO_TCP);
	T_OK(xlb_maps_lookup_rev_flow(&rt, &rv) == 0 && rv.client_port == htons(40000) &&
		     rv.vip_port == htons(80) && rv.srv_id == sid && rv.vip_id == vip_id,
	     "fullnat SYN: reverse entry");

	/* The next packets of the flow follow it, with a payload. */
	xlb_maps_read_server(sid, &ss0);
	in.flags = 0x10;
	in.payload = "GET / HTTP/1.0\r\n\r\n";
	out.flags = 0x10;
	out.payload = in.payload;
	expect("fullnat ACK with data", &in, ifx_c, XDP_REDIRECT, &out);
	in.flags = out.flags = 0x18;
	expect("fullnat PSH|ACK", &in, ifx_c, XDP_REDIRECT, &out);
	T_EQ_INT(flow_srv(&t, NULL), sid, "fullnat: the flow kept its server");
	T_EQ_INT(snat_port_of(&t), port, "fullnat: the flow kept its source port");
	xlb_maps_read_server(sid, &ss1);
	T_EQ_INT(ss1.packets - ss0.packets, 2, "per-server packet counter");
	T_EQ_INT(ss1.bytes - ss0.bytes, 2 * (14 + 20 + 20 + strlen(in.payload)),
		 "per-server byte counter");

	/* The server's reply, back to the client from the VIP. */
	{
		struct pkt r = { .family = 4,
				 .smac = smac,
				 .dmac = MAC_XS0,
				 .src = out.dst,
				 .dst = "10.1.0.1",
				 .sport = 8080,
				 .dport = port,
				 .proto = IPPROTO_TCP,
				 .flags = 0x12,
				 .payload = "HTTP/1.0 200 OK\r\n" };
		struct pkt rw = { .family = 4,
				  .smac = MAC_XC0,
				  .dmac = MAC_CLI,
				  .src = "10.0.0.100",
				  .dst = "10.0.0.2",
				  .sport = 80,
				  .dport = 40000,
				  .proto = IPPROTO_TCP,
				  .flags = 0x12,
				  .ttl = 63,
				  .payload = r.payload };

		stats_mark();
		expect("fullnat reply", &r, ifx_s, XDP_REDIRECT, &rw);
		T_STAT(XLB_STAT_REPLY, 1, "fullnat reply");
	}
	xlb_maps_read_vip(vip_id, &vs1);
	T_EQ_INT(vs1.packets - vs0.packets, 3, "per-VIP packets");
	T_EQ_INT(vs1.new_flows - vs0.new_flows, 1, "per-VIP new flows");
	T_EQ_INT(vs1.reply_packets - vs0.reply_packets, 1, "per-VIP reply packets");

	/* A SYN for the known tuple re-picks: round-robin moves on. */
	stats_mark();
	in.flags = 0x02;
	in.payload = "";
	{
		uint8_t buf[2048];
		size_t len = build(&in, buf);

		T_EQ_INT(run(buf, len, ifx_c, NULL, NULL), XDP_REDIRECT, "SYN again: forwarded");
	}
	T_STAT(XLB_STAT_REPICK_SYN, 1, "SYN again");
	T_EQ_INT(snat_port_of(&t), port, "SYN again: the client tuple keeps its SNAT port");
	/* The old reverse entry stays (the server may hold it in TIME_WAIT), still the client's. */
	T_OK(xlb_maps_lookup_rev_flow(&rt, &rv) == 0 && rv.client_port == htons(40000) &&
		     rv.last_used,
	     "SYN again: the old reverse entry is kept, stamped");
	{
		struct xlb_flow f;
		int64_t nsid = flow_srv(&t, &f);
		struct xlb_tuple nrt = tuple(nsid == s_t1->id ? "10.1.0.10" : "10.1.0.11", 8080,
					     "10.1.0.1", port, IPPROTO_TCP);

		T_OK(xlb_maps_lookup_rev_flow(&nrt, &rv) == 0 && rv.client_port == htons(40000) &&
			     rv.srv_id == nsid,
		     "SYN again: the new reverse entry, same SNAT port");
	}
}

/* Round-robin: the order of picks is the weighted interleaved slot order. */
static void t_rr_order(void)
{
	uint32_t w[2] = { 3, 1 }, slots[16];
	int n = lb_rr_slots(w, 2, slots, 16), i, off, ok = 1, cnt1 = 0;
	int64_t got[16];

	T_EQ_INT(n, 4, "lb_rr_slots(3,1) has 4 slots");
	for (i = 0; i < 2 * n; i++) {
		struct pkt in = { .family = 4,
				  .smac = MAC_NEXT,
				  .dmac = MAC_XC0,
				  .src = "172.16.1.1",
				  .dst = "10.0.0.100",
				  .sport = 30000 + i,
				  .dport = 80,
				  .proto = IPPROTO_TCP,
				  .flags = 0x02 };
		struct xlb_tuple t = tuple("172.16.1.1", 30000 + i, "10.0.0.100", 80, IPPROTO_TCP);

		run_pkt(&in, ifx_c);
		got[i] = flow_srv(&t, NULL);
		cnt1 += got[i] == s_t1->id;
	}
	/* The cursor is wherever earlier tests left it: find the rotation. */
	for (off = 0; off < n; off++) {
		ok = 1;
		for (i = 0; i < 2 * n; i++) {
			uint32_t want = slots[(off + i) % n] == 0 ? s_t1->id : s_t2->id;

			ok &= got[i] == want;
		}
		if (ok)
			break;
	}
	T_OK(ok, "round-robin picks follow the slot order of weights 3:1");
	T_EQ_INT(cnt1, 6, "weight 3 server got 6 of 8 new flows");
}

/* Maglev: the program picks what the userspace library picks, for many clients. */
static void t_maglev(void)
{
	uint32_t *tab = malloc(LB_MAGLEV_SIZE * sizeof(*tab));
	uint32_t *tab6 = malloc(LB_MAGLEV_SIZE * sizeof(*tab6));
	int i, bad = 0, seen[4] = { 0 }, seen6[4] = { 0 }, hash_bad = 0;

	T_EQ_INT(lb_pool_maglev(be_s->pool, tab, LB_MAGLEV_SIZE), 0, "lb_pool_maglev (v4)");
	T_EQ_INT(lb_pool_maglev(be_s6->pool, tab6, LB_MAGLEV_SIZE), 0, "lb_pool_maglev (v6)");
	for (i = 0; i < 400; i++) {
		char src[64];
		struct sockaddr_storage ss;
		bool v6 = i % 4 == 3;
		struct pkt in = { .family = v6 ? 6 : 4,
				  .smac = MAC_NEXT,
				  .dmac = MAC_XC0,
				  .dst = v6 ? "fd00::101" : "10.0.0.101",
				  .sport = 1000 + i,
				  .dport = 80,
				  .proto = IPPROTO_TCP,
				  .flags = 0x02 };
		struct xlb_tuple t;
		struct server *want;
		__be32 a[4];
		int64_t got;

		if (v6)
			snprintf(src, sizeof(src), "2001:db8:%x:%x::%x", (i * 7919) & 0xffff,
				 i * 13, i);
		else
			snprintf(src, sizeof(src), "172.%d.%d.%d", 16 + i % 16, (i * 37) % 256,
				 (i * 101) % 256);
		in.src = src;
		set_sa(&ss, src, 0);
		addr16(src, a);
		hash_bad += xlb_hash_addr(a) != lb_hash_addr((struct sockaddr *)&ss);
		if (v6)
			want = be_s6->pool->srv[tab6[lb_hash_addr((struct sockaddr *)&ss) %
						     LB_MAGLEV_SIZE]];
		else
			want = be_s->pool->srv[tab[lb_hash_addr((struct sockaddr *)&ss) %
						   LB_MAGLEV_SIZE]];
		run_pkt(&in, ifx_c);
		t = tuple(src, 1000 + i, in.dst, 80, IPPROTO_TCP);
		got = flow_srv(&t, NULL);
		bad += got != want->id;
		for (int j = 0; j < 4; j++) {
			seen[j] += got == s_s[j]->id;
			seen6[j] += got == s_s6[j]->id;
		}
	}
	T_EQ_INT(hash_bad, 0, "xlb_hash_addr equals lb_hash_addr for 400 addresses");
	T_EQ_INT(bad, 0, "Maglev: the XDP pick equals the library's for 400 clients (v4, v6)");
	T_OK(seen[0] && seen[1] && seen[2] && seen[3] && seen6[0] && seen6[1] && seen6[2] &&
		     seen6[3],
	     "Maglev: every server gets clients");
	T_OK(seen6[1] > seen6[0] && seen6[1] > seen6[2], "Maglev: the weight 3 server gets more");
	free(tab);
	free(tab6);

	/* Port 0 server: the VIP's port is kept. */
	{
		struct pkt in = { .family = 4,
				  .smac = MAC_CLI,
				  .dmac = MAC_XC0,
				  .src = "10.0.0.2",
				  .dst = "10.0.0.101",
				  .sport = 41000,
				  .dport = 80,
				  .proto = IPPROTO_TCP,
				  .flags = 0x02 };
		struct xlb_tuple t = tuple("10.0.0.2", 41000, "10.0.0.101", 80, IPPROTO_TCP);
		struct xlb_flow f;

		run_pkt(&in, ifx_c);
		T_OK(flow_srv(&t, &f) >= 0 && f.srv_port == htons(80),
		     "a server without port gets the VIP's port");
	}
}

static void t_nat(void)
{
	struct pkt in = { .family = 4,
			  .smac = MAC_CLI,
			  .dmac = MAC_XC0,
			  .src = "10.0.0.2",
			  .dst = "10.0.0.102",
			  .sport = 42000,
			  .dport = 80,
			  .proto = IPPROTO_TCP,
			  .flags = 0x02 };
	struct pkt out = in;
	uint8_t m13[6];

	srv_mac(m13, 13);
	out.smac = MAC_XS0;
	out.dmac = m13;
	out.dst = "10.1.0.13";
	out.ttl = 63;
	expect("nat SYN: DNAT only, client address kept", &in, ifx_c, XDP_REDIRECT, &out);
	{
		struct pkt r = { .family = 4,
				 .smac = m13,
				 .dmac = MAC_XS0,
				 .src = "10.1.0.13",
				 .dst = "10.0.0.2",
				 .sport = 80,
				 .dport = 42000,
				 .proto = IPPROTO_TCP,
				 .flags = 0x12 };
		struct pkt rw = { .family = 4,
				  .smac = MAC_XC0,
				  .dmac = MAC_CLI,
				  .src = "10.0.0.102",
				  .dst = "10.0.0.2",
				  .sport = 80,
				  .dport = 42000,
				  .proto = IPPROTO_TCP,
				  .flags = 0x12,
				  .ttl = 63 };

		expect("nat reply: source back to the VIP", &r, ifx_s, XDP_REDIRECT, &rw);
	}
	/* A client behind a router: the next hop's MAC. */
	in.src = out.src = "172.16.9.9";
	in.smac = MAC_NEXT;
	in.sport = out.sport = 42001;
	expect("nat SYN from a routed client", &in, ifx_c, XDP_REDIRECT, &out);
	{
		struct pkt r = { .family = 4,
				 .smac = m13,
				 .dmac = MAC_XS0,
				 .src = "10.1.0.13",
				 .dst = "172.16.9.9",
				 .sport = 80,
				 .dport = 42001,
				 .proto = IPPROTO_TCP,
				 .flags = 0x12 };
		struct pkt rw = { .family = 4,
				  .smac = MAC_XC0,
				  .dmac = MAC_NEXT,
				  .src = "10.0.0.102",
				  .dst = "172.16.9.9",
				  .sport = 80,
				  .dport = 42001,
				  .proto = IPPROTO_TCP,
				  .flags = 0x12,
				  .ttl = 63 };

		expect("nat reply to a routed client: router's MAC", &r, ifx_s, XDP_REDIRECT, &rw);
	}
}

static int pinned_fd(const char *name);

/* The program's clock, bpf_ktime_get_coarse_ns(). */
static uint64_t coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void t_udp(void)
{
	struct xlb_tuple t = tuple("10.0.0.2", 5000, "10.0.0.100", 53, IPPROTO_UDP);
	struct pkt in = { .family = 4,
			  .smac = MAC_CLI,
			  .dmac = MAC_XC0,
			  .src = "10.0.0.2",
			  .dst = "10.0.0.100",
			  .sport = 5000,
			  .dport = 53,
			  .proto = IPPROTO_UDP,
			  .payload = "query" };
	struct pkt out;
	struct xlb_cfg c, c0;
	uint8_t m12[6];
	uint16_t port;

	srv_mac(m12, 12);
	stats_mark();
	run_pkt(&in, ifx_c);
	T_STAT(XLB_STAT_NEW_FLOW, 1, "UDP first packet");
	port = snat_port_of(&t);
	T_EQ_INT(flow_srv(&t, NULL), s_u->id, "UDP: flow to its server");
	out = (struct pkt){ .family = 4,
			    .smac = MAC_XS0,
			    .dmac = m12,
			    .src = "10.1.0.1",
			    .dst = "10.1.0.12",
			    .sport = port,
			    .dport = 5353,
			    .proto = IPPROTO_UDP,
			    .ttl = 63,
			    .payload = "query" };
	stats_mark();
	expect("UDP second packet", &in, ifx_c, XDP_REDIRECT, &out);
	T_STAT(XLB_STAT_NEW_FLOW, 0, "UDP second packet");
	in.udp_nocsum = out.udp_nocsum = true;
	expect("UDP without checksum keeps 0", &in, ifx_c, XDP_REDIRECT, &out);
	{
		struct pkt r = { .family = 4,
				 .smac = m12,
				 .dmac = MAC_XS0,
				 .src = "10.1.0.12",
				 .dst = "10.1.0.1",
				 .sport = 5353,
				 .dport = port,
				 .proto = IPPROTO_UDP,
				 .payload = "answer" };
		struct pkt rw = { .family = 4,
				  .smac = MAC_XC0,
				  .dmac = MAC_CLI,
				  .src = "10.0.0.100",
				  .dst = "10.0.0.2",
				  .sport = 53,
				  .dport = 5000,
				  .proto = IPPROTO_UDP,
				  .ttl = 63,
				  .payload = "answer" };

		expect("UDP reply", &r, ifx_s, XDP_REDIRECT, &rw);
	}

	/*
	 * last_seen is written at most once a second (default 30 s timeout: a
	 * sixteenth of it is longer), and a flow expires only when even the
	 * oldest packet that stamp may stand for is idle past the timeout.
	 */
	{
		int fd_fl = pinned_fd(XLB_MAP_FLOWS);
		struct xlb_flow f;
		uint64_t s;

		T_OK(fd_fl >= 0 && xlb_maps_lookup_flow(&t, &f) == 0, "UDP flow readable");
		s = coarse_ns() - 500000000ULL;
		f.last_seen = s;
		bpf_map_update_elem(fd_fl, &t, &f, BPF_EXIST);
		stats_mark();
		run_pkt(&in, ifx_c);
		xlb_maps_lookup_flow(&t, &f);
		T_STAT(XLB_STAT_FWD, 1, "UDP, stamp 0.5 s old");
		T_OK(f.last_seen == s, "a stamp younger than 1 s is not rewritten");
		f.last_seen = s = coarse_ns() - 1500000000ULL;
		bpf_map_update_elem(fd_fl, &t, &f, BPF_EXIST);
		run_pkt(&in, ifx_c);
		xlb_maps_lookup_flow(&t, &f);
		T_OK(f.last_seen > s + 1000000000ULL, "a stamp 1.5 s old is refreshed");

		f.last_seen = coarse_ns() - XLB_UDP_TIMEOUT_NS - 500000000ULL;
		bpf_map_update_elem(fd_fl, &t, &f, BPF_EXIST);
		stats_mark();
		run_pkt(&in, ifx_c);
		T_STAT(XLB_STAT_REPICK_EXPIRED, 0,
		       "stamp 30.5 s old (the flow may be 29.5 s idle)");
		xlb_maps_lookup_flow(&t, &f);
		f.last_seen = coarse_ns() - XLB_UDP_TIMEOUT_NS - 1500000000ULL;
		bpf_map_update_elem(fd_fl, &t, &f, BPF_EXIST);
		stats_mark();
		run_pkt(&in, ifx_c);
		T_STAT(XLB_STAT_REPICK_EXPIRED, 1, "stamp 31.5 s old: idle for over 30 s");
		T_EQ_INT(flow_srv(&t, NULL), s_u->id, "UDP: re-picked the same server");
		close(fd_fl);
	}

	/* Idle timeout: a flow idle longer re-picks. */
	xlb_maps_get_cfg(&c0);
	c = c0;
	c.udp_timeout_ns = 1000000; /* 1 ms */
	xlb_maps_set_cfg(&c);
	usleep(30000); /* the program reads the coarse clock: a few ticks */
	stats_mark();
	in.udp_nocsum = false;
	run_pkt(&in, ifx_c);
	T_STAT(XLB_STAT_REPICK_EXPIRED, 1, "UDP after the idle timeout");
	xlb_maps_set_cfg(&c0);
	stats_mark();
	run_pkt(&in, ifx_c);
	T_STAT(XLB_STAT_REPICK_EXPIRED, 0, "UDP within the timeout");
}

static void t_v6(void)
{
	struct xlb_tuple t = tuple("fd00::2", 43000, "fd00::100", 80, IPPROTO_TCP);
	struct pkt in = { .family = 6,
			  .smac = MAC_CLI,
			  .dmac = MAC_XC0,
			  .src = "fd00::2",
			  .dst = "fd00::100",
			  .sport = 43000,
			  .dport = 80,
			  .proto = IPPROTO_TCP,
			  .flags = 0x02 };
	struct pkt out;
	uint8_t m10[6];
	uint16_t port;

	srv_mac(m10, 10); /* fd01::10 has the MAC of 10.1.0.10 */
	run_pkt(&in, ifx_c);
	T_EQ_INT(flow_srv(&t, NULL), s_6->id, "IPv6 SYN: flow to the v6 server");
	port = snat_port_of(&t);
	in.flags = 0x10;
	in.payload = "hello";
	out = (struct pkt){ .family = 6,
			    .smac = MAC_XS0,
			    .dmac = m10,
			    .src = "fd01::1",
			    .dst = "fd01::10",
			    .sport = port,
			    .dport = 8080,
			    .proto = IPPROTO_TCP,
			    .flags = 0x10,
			    .ttl = 63,
			    .payload = "hello" };
	expect("IPv6 fullnat ACK: SNAT from the route's source, hop limit", &in, ifx_c,
	       XDP_REDIRECT, &out);
	{
		struct pkt r = { .family = 6,
				 .smac = m10,
				 .dmac = MAC_XS0,
				 .src = "fd01::10",
				 .dst = "fd01::1",
				 .sport = 8080,
				 .dport = port,
				 .proto = IPPROTO_TCP,
				 .flags = 0x10,
				 .payload = "world" };
		struct pkt rw = { .family = 6,
				  .smac = MAC_XC0,
				  .dmac = MAC_CLI,
				  .src = "fd00::100",
				  .dst = "fd00::2",
				  .sport = 80,
				  .dport = 43000,
				  .proto = IPPROTO_TCP,
				  .flags = 0x10,
				  .ttl = 63,
				  .payload = "world" };

		expect("IPv6 reply", &r, ifx_s, XDP_REDIRECT, &rw);
	}
	/* UDP over IPv6 with a zero checksum is invalid: dropped. */
	{
		struct pkt u = { .family = 6,
				 .smac = MAC_CLI,
				 .dmac = MAC_XC0,
				 .src = "fd00::2",
				 .dst = "fd00::100",
				 .sport = 1,
				 .dport = 80,
				 .proto = IPPROTO_UDP,
				 .udp_nocsum = true };

		stats_mark();
		expect("IPv6 UDP with checksum 0", &u, ifx_c, XDP_DROP, NULL);
		T_STAT(XLB_STAT_BAD_L4, 1, "IPv6 UDP with checksum 0");
	}
}

static void t_tx_and_vlan(void)
{
	struct pkt in = { .family = 4,
			  .smac = MAC_CLI,
			  .dmac = MAC_XC0,
			  .src = "10.0.0.2",
			  .dst = "10.0.0.103",
			  .sport = 44000,
			  .dport = 80,
			  .proto = IPPROTO_TCP,
			  .flags = 0x02 };
	struct xlb_tuple t = tuple("10.0.0.2", 44000, "10.0.0.103", 80, IPPROTO_TCP);
	struct pkt out;

	stats_mark();
	run_pkt(&in, ifx_c);
	out = (struct pkt){ .family = 4,
			    .smac = MAC_XC0,
			    .dmac = MAC_TXS,
			    .src = "10.0.0.1",
			    .dst = "10.0.0.50",
			    .sport = snat_port_of(&t),
			    .dport = 80,
			    .proto = IPPROTO_TCP,
			    .flags = 0x10,
			    .ttl = 63 };
	in.flags = 0x10;
	expect("server on the ingress network: XDP_TX", &in, ifx_c, XDP_TX, &out);
	T_STAT(XLB_STAT_XDP_TX, 2, "XDP_TX");

	/* A VLAN tag is parsed and kept. */
	in.vlan = out.vlan = 7;
	expect("802.1Q tagged packet: translated, tag kept", &in, ifx_c, XDP_TX, &out);
}

static void t_no_neigh(void)
{
	struct pkt in = { .family = 4,
			  .smac = MAC_CLI,
			  .dmac = MAC_XC0,
			  .src = "10.0.0.2",
			  .dst = "10.0.0.104",
			  .sport = 45000,
			  .dport = 80,
			  .proto = IPPROTO_TCP,
			  .flags = 0x02 };
	struct xlb_tuple t = tuple("10.0.0.2", 45000, "10.0.0.104", 80, IPPROTO_TCP);
	struct pkt out;
	uint8_t bi[256], bo[256], be[256];
	uint32_t olen;
	size_t elen;

	stats_mark();
	T_EQ_INT(run(bi, build(&in, bi), ifx_c, bo, &olen), XDP_PASS,
		 "server without a neighbour entry: passed to the kernel");
	T_STAT(XLB_STAT_FIB_NO_NEIGH, 1, "no neighbour");
	/* Translated, MACs and TTL untouched: the kernel forwards it and resolves. */
	out = (struct pkt){ .family = 4,
			    .smac = MAC_CLI,
			    .dmac = MAC_XC0,
			    .src = "10.1.0.1",
			    .dst = "10.1.0.99",
			    .sport = snat_port_of(&t),
			    .dport = 80,
			    .proto = IPPROTO_TCP,
			    .flags = 0x02 };
	elen = build(&out, be);
	T_OK(olen == elen && !memcmp(bo, be, elen), "no neighbour: passed translated");
}

/* A SYN from src:sport to 10.0.0.105:80 (fe_one); returns the verdict. */
static int syn_one(const char *src, int sport)
{
	struct pkt in = { .family = 4,
			  .smac = MAC_CLI,
			  .dmac = MAC_XC0,
			  .src = src,
			  .dst = "10.0.0.105",
			  .sport = sport,
			  .dport = 80,
			  .proto = IPPROTO_TCP,
			  .flags = 0x02 };

	return run_pkt(&in, ifx_c);
}

static void t_snat(void)
{
	struct xlb_vip_stats vs0, vs1;
	struct xlb_cfg c, c0;
	uint8_t m10[6];
	uint32_t vip;
	int i, v[3];

	srv_mac(m10, 10);
	/* Backend `source`: the SNAT address is the backend's. */
	{
		struct pkt in = { .family = 4,
				  .smac = MAC_CLI,
				  .dmac = MAC_XC0,
				  .src = "10.0.0.2",
				  .dst = "10.0.0.105",
				  .sport = 46000,
				  .dport = 80,
				  .proto = IPPROTO_TCP,
				  .flags = 0x02 };
		struct xlb_tuple t = tuple("10.0.0.2", 46000, "10.0.0.105", 80, IPPROTO_TCP);
		struct pkt out;

		run_pkt(&in, ifx_c);
		out = (struct pkt){ .family = 4,
				    .smac = MAC_XS0,
				    .dmac = m10,
				    .src = "10.1.0.254",
				    .dst = "10.1.0.10",
				    .sport = snat_port_of(&t),
				    .dport = 9999,
				    .proto = IPPROTO_TCP,
				    .flags = 0x10,
				    .ttl = 63 };
		in.flags = 0x10;
		expect("backend `source` is the SNAT address", &in, ifx_c, XDP_REDIRECT, &out);
	}
	/*
	 * A range of two ports, clients whose own port (20000, 20001) is in
	 * it: the first keeps its port, the second finds it taken and gets
	 * the other one, the third finds none.
	 */
	xlb_maps_get_cfg(&c0);
	c = c0;
	c.port_min = 20000;
	c.port_max = 20001;
	xlb_maps_set_cfg(&c);
	xlb_maps_vip_id(list_entry(fe_one->binds.next, struct bind, list), &vip);
	xlb_maps_read_vip(vip, &vs0);
	stats_mark();
	for (i = 0; i < 3; i++) {
		const char *src[3] = { "10.0.0.2", "10.0.0.3", "10.0.0.4" };

		v[i] = syn_one(src[i], 20000);
	}
	T_OK(v[0] == XDP_REDIRECT && v[1] == XDP_REDIRECT && v[2] == XDP_DROP,
	     "SNAT ports 20000-20001: two flows pass, the third is dropped (%d %d %d)", v[0], v[1],
	     v[2]);
	T_STAT(XLB_STAT_SNAT_PORTS, 1, "port range exhausted");
	xlb_maps_read_vip(vip, &vs1);
	T_EQ_INT(vs1.snat_fail - vs0.snat_fail, 1, "port range exhausted: per-VIP counter");
	{
		struct xlb_tuple t0 = tuple("10.0.0.2", 20000, "10.0.0.105", 80, IPPROTO_TCP);
		struct xlb_tuple t1 = tuple("10.0.0.3", 20000, "10.0.0.105", 80, IPPROTO_TCP);
		struct xlb_tuple t2 = tuple("10.0.0.4", 20000, "10.0.0.105", 80, IPPROTO_TCP);
		struct xlb_tuple r0 = tuple("10.1.0.10", 9999, "10.1.0.254", 20000, IPPROTO_TCP);
		struct xlb_tuple r1 = tuple("10.1.0.10", 9999, "10.1.0.254", 20001, IPPROTO_TCP);
		int fd_fl = pinned_fd(XLB_MAP_FLOWS), fd_rv = pinned_fd(XLB_MAP_REV_FLOWS);
		struct xlb_rev_flow rv;
		struct timespec ts;
		uint32_t old_s;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		old_s = (uint32_t)ts.tv_sec -
			(XLB_SNAT_HOLD_S + 30); /* u32 arithmetic, as the program's */
		T_EQ_INT(snat_port_of(&t0), 20000, "the first client keeps its own port");
		T_EQ_INT(snat_port_of(&t1), 20001,
			 "the second client's port is taken: it gets the other");
		T_EQ_INT(flow_srv(&t2, NULL), -1, "the dropped SYN left no flow");

		/* The first client's flow goes (LRU): its recent entry is still not handed out. */
		bpf_map_delete_elem(fd_fl, &t0);
		stats_mark();
		T_EQ_INT(syn_one("10.0.0.4", 20000), XDP_DROP,
			 "a recent reverse entry of another client is not handed out");
		T_STAT(XLB_STAT_SNAT_PORTS, 1, "recent reverse entry");

		/* Once older than the hold, it is. */
		T_OK(bpf_map_lookup_elem(fd_rv, &r0, &rv) == 0, "the first client's entry is kept");
		rv.last_used = old_s;
		bpf_map_update_elem(fd_rv, &r0, &rv, BPF_EXIST);
		T_EQ_INT(syn_one("10.0.0.4", 20000), XDP_REDIRECT,
			 "an old unused entry is taken over");
		T_EQ_INT(snat_port_of(&t2), 20000, "... with its port");
		T_OK(xlb_maps_lookup_rev_flow(&r0, &rv) == 0 && rv.client_addr[3] == t2.src[3],
		     "... and the entry is the new client's");

		/* An old entry whose flow still uses it (an idle connection) stays taken. */
		T_OK(bpf_map_lookup_elem(fd_rv, &r1, &rv) == 0, "the second client's entry");
		rv.last_used = old_s;
		bpf_map_update_elem(fd_rv, &r1, &rv, BPF_EXIST);
		stats_mark();
		T_EQ_INT(syn_one("10.0.0.5", 20001), XDP_DROP,
			 "an idle flow's entry is not taken over");
		T_STAT(XLB_STAT_SNAT_PORTS, 1, "idle flow's entry");

		/* Its own client tuple re-SYNs: same mapping. */
		T_EQ_INT(syn_one("10.0.0.3", 20000), XDP_REDIRECT, "re-SYN of the second client");
		T_EQ_INT(snat_port_of(&t1), 20001, "a re-SYN keeps its SNAT port");
		close(fd_fl);
		close(fd_rv);
	}
	xlb_maps_set_cfg(&c0);
}

static void t_server_states(void)
{
	struct xlb_tuple t = tuple("10.0.0.2", 48000, "10.0.0.100", 80, IPPROTO_TCP);
	struct pkt in = { .family = 4,
			  .smac = MAC_CLI,
			  .dmac = MAC_XC0,
			  .src = "10.0.0.2",
			  .dst = "10.0.0.100",
			  .sport = 48000,
			  .dport = 80,
			  .proto = IPPROTO_TCP,
			  .flags = 0x02 };
	struct server *cur, *other;
	int64_t sid;
	int i, hits = 0;

	run_pkt(&in, ifx_c);
	sid = flow_srv(&t, NULL);
	cur = sid == s_t1->id ? s_t1 : s_t2;
	other = cur == s_t1 ? s_t2 : s_t1;

	/* Drain: the flow stays, new flows avoid the server. */
	cur->admin = SRV_ADMIN_DRAIN;
	recalc(be_t);
	in.flags = 0x10;
	stats_mark();
	run_pkt(&in, ifx_c);
	T_EQ_INT(flow_srv(&t, NULL), cur->id, "drain: the existing flow stays");
	T_STAT(XLB_STAT_REPICK_INVALID, 0, "drain");
	for (i = 0; i < 4; i++) {
		struct pkt n = in;
		struct xlb_tuple nt = tuple("10.0.0.2", 48100 + i, "10.0.0.100", 80, IPPROTO_TCP);

		n.sport = 48100 + i;
		n.flags = 0x02;
		run_pkt(&n, ifx_c);
		hits += flow_srv(&nt, NULL) == other->id;
	}
	T_EQ_INT(hits, 4, "drain: new flows go to the other server");

	/* Weight 0: the same as drain. */
	cur->admin = SRV_ADMIN_READY;
	cur->weight = 0;
	recalc(be_t);
	in.flags = 0x10;
	stats_mark();
	run_pkt(&in, ifx_c);
	T_EQ_INT(flow_srv(&t, NULL), cur->id, "weight 0: the existing flow stays");
	T_STAT(XLB_STAT_REPICK_INVALID, 0, "weight 0");
	for (i = 0, hits = 0; i < 4; i++) {
		struct pkt n = in;
		struct xlb_tuple nt = tuple("10.0.0.2", 48110 + i, "10.0.0.100", 80, IPPROTO_TCP);

		n.sport = 48110 + i;
		n.flags = 0x02;
		run_pkt(&n, ifx_c);
		hits += flow_srv(&nt, NULL) == other->id;
	}
	T_EQ_INT(hits, 4, "weight 0: new flows go to the other server");
	cur->weight = cur->iweight;

	/* Maintenance: the flow re-picks. */
	cur->admin = SRV_ADMIN_MAINT;
	recalc(be_t);
	stats_mark();
	run_pkt(&in, ifx_c);
	T_STAT(XLB_STAT_REPICK_INVALID, 1, "maint");
	T_EQ_INT(flow_srv(&t, NULL), other->id, "maint: the flow moved to the other server");

	/* Health check down: same. Back up: flows stay where they are. */
	cur->admin = SRV_ADMIN_READY;
	recalc(be_t);
	other->chk_state = SRV_CHK_DOWN;
	recalc(be_t);
	stats_mark();
	run_pkt(&in, ifx_c);
	T_STAT(XLB_STAT_REPICK_INVALID, 1, "check down");
	T_EQ_INT(flow_srv(&t, NULL), cur->id, "check down: the flow moved back");
	other->chk_state = SRV_CHK_UP;
	recalc(be_t);

	/* The explicit override: invalid re-picks at once. */
	xlb_maps_set_server_state(cur->id, XLB_SRV_INVALID);
	stats_mark();
	run_pkt(&in, ifx_c);
	T_STAT(XLB_STAT_REPICK_INVALID, 1, "xlb_maps_set_server_state(INVALID)");
	recalc(be_t);

	/* A server deleted from the backend drains: its flows finish. */
	{
		struct server *gone;
		struct xlb_tuple gt;

		for (i = 0;; i++) {
			struct pkt n = in;

			n.sport = 48200 + i;
			n.flags = 0x02;
			gt = tuple("10.0.0.2", 48200 + i, "10.0.0.100", 80, IPPROTO_TCP);
			run_pkt(&n, ifx_c);
			if (flow_srv(&gt, NULL) == s_t2->id || i == 8)
				break;
		}
		gone = s_t2;
		list_del(&gone->list);
		gone->removed = true;
		recalc(be_t);
		in.sport = ntohs(gt.sport);
		stats_mark();
		run_pkt(&in, ifx_c);
		T_EQ_INT(flow_srv(&gt, NULL), gone->id, "deleted server: its flow continues");
		T_STAT(XLB_STAT_REPICK_INVALID, 0, "deleted server");
		list_add_tail(&gone->list, &be_t->servers);
		gone->removed = false;
		recalc(be_t);
	}
}

/* A pinned map of the test's root, by name. */
static char pin_root[64];

static int pinned_fd(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", pin_root, name);
	return bpf_obj_get(path);
}

/*
 * Only the entries that change are written: an entry the sync has no reason
 * to touch keeps a value poked behind its back.
 */
static void t_partial_writes(void)
{
	int fd_mg = pinned_fd(XLB_MAP_MAGLEV), fd_be = pinned_fd(XLB_MAP_BACKENDS);
	int fd_srv = pinned_fd(XLB_MAP_SERVERS);
	uint32_t *t0 = malloc(LB_MAGLEV_SIZE * sizeof(*t0));
	uint32_t *t1 = malloc(LB_MAGLEV_SIZE * sizeof(*t1));
	uint32_t ring = XLB_NO_RING, i, same = XLB_NO_SERVER, changed = 0, bad = 0, key, v;
	uint32_t sentinel = 0xfffffffe;
	struct xlb_backend row;
	struct xlb_server sv, sv1;

	for (i = 0; i < XLB_MAX_BACKENDS; i++) {
		if (!bpf_map_lookup_elem(fd_be, &i, &row) && !strcmp(row.name, "bs"))
			ring = row.ring;
	}
	T_OK(ring < XLB_MAX_RINGS, "backend bs has a Maglev row (%u)", ring);
	if (ring >= XLB_MAX_RINGS || !t0 || !t1)
		goto out;
	lb_pool_maglev(be_s->pool, t0, LB_MAGLEV_SIZE);
	s_s[0]->weight = 3;
	recalc_pool_only(be_s);
	lb_pool_maglev(be_s->pool, t1, LB_MAGLEV_SIZE);
	for (i = 0; i < LB_MAGLEV_SIZE; i++) {
		if (be_s->pool->srv[t0[i]] == be_s->pool->srv[t1[i]]) {
			if (same == XLB_NO_SERVER)
				same = i;
		} else {
			changed++;
		}
	}
	key = ring * XLB_MAGLEV_SIZE + same;
	bpf_map_update_elem(fd_mg, &key, &sentinel, BPF_ANY);
	/* And a server whose entry does not change. */
	key = s_s[3]->id;
	bpf_map_lookup_elem(fd_srv, &key, &sv);
	sv1 = sv;
	sv1.weight = 777;
	bpf_map_update_elem(fd_srv, &key, &sv1, BPF_ANY);

	recalc(be_s);
	for (i = 0; i < LB_MAGLEV_SIZE; i++) {
		key = ring * XLB_MAGLEV_SIZE + i;
		if (i == same || bpf_map_lookup_elem(fd_mg, &key, &v))
			continue;
		bad += v != be_s->pool->srv[t1[i]]->id;
	}
	T_EQ_INT(bad, 0, "weight 1 -> 3: the Maglev row equals the library's new table");
	T_OK(changed > 0 && changed < LB_MAGLEV_SIZE / 2,
	     "weight 1 -> 3 moves %u of %u Maglev entries", changed, LB_MAGLEV_SIZE);
	key = ring * XLB_MAGLEV_SIZE + same;
	bpf_map_lookup_elem(fd_mg, &key, &v);
	T_EQ_INT(v, sentinel, "an unchanged Maglev entry is not rewritten");
	key = s_s[3]->id;
	bpf_map_lookup_elem(fd_srv, &key, &sv1);
	T_EQ_INT(sv1.weight, 777, "an unchanged server entry is not rewritten");

	/* Put things back. */
	bpf_map_update_elem(fd_srv, &key, &sv, BPF_ANY);
	key = ring * XLB_MAGLEV_SIZE + same;
	v = be_s->pool->srv[t1[same]]->id;
	bpf_map_update_elem(fd_mg, &key, &v, BPF_ANY);
	s_s[0]->weight = 1;
	recalc(be_s);
out:
	free(t0);
	free(t1);
	close(fd_mg);
	close(fd_be);
	close(fd_srv);
}

/*
 * The next hop is cached in the flow entry: a neighbour's new MAC is used
 * once the generation moves, a packet longer than the cached one is looked
 * up again (MTU), replies cache theirs too, tx_ports changes move the
 * generation.
 */
static void t_nh_cache(void)
{
	struct xlb_tuple t = tuple("10.0.0.2", 51000, "10.0.0.102", 80, IPPROTO_TCP);
	struct pkt in = { .family = 4,
			  .smac = MAC_CLI,
			  .dmac = MAC_XC0,
			  .src = "10.0.0.2",
			  .dst = "10.0.0.102",
			  .sport = 51000,
			  .dport = 80,
			  .proto = IPPROTO_TCP,
			  .flags = 0x02 };
	static const uint8_t MAC_NEW[6] = { 0x02, 0, 0, 0, 0x77, 0x77 };
	static char big[1301], full[1461];
	struct pkt out = in;
	struct xlb_cfg c0, c1;
	struct xlb_flow f;
	uint8_t m13[6];

	srv_mac(m13, 13);
	run_pkt(&in, ifx_c);
	T_OK(flow_srv(&t, &f) == s_n->id && f.nh.at && f.nh.oif == (uint32_t)ifx_s &&
		     f.nh.iif == (uint32_t)ifx_c && !memcmp(f.nh.dmac, m13, 6) &&
		     !memcmp(f.nh.smac, MAC_XS0, 6),
	     "a new flow caches its next hop (xs0, the server's MAC)");
	T_EQ_INT(f.nh.max_len, 1500, "the SYN's lookup checked the MTU for a full-size packet");

	/* The neighbour moves to another MAC: the cached one is used until the generation moves. */
	sh("ip neigh replace 10.1.0.13 lladdr 02:00:00:00:77:77 dev xs0 nud permanent");
	in.flags = out.flags = 0x10;
	out.smac = MAC_XS0;
	out.dmac = m13;
	out.dst = "10.1.0.13";
	out.ttl = 63;
	expect("established: the cached next hop is used", &in, ifx_c, XDP_REDIRECT, &out);
	memset(full, 'x', sizeof(full) - 1);
	in.payload = out.payload = full;
	expect("a full-size packet uses it too (no second lookup)", &in, ifx_c, XDP_REDIRECT, &out);
	in.payload = out.payload = NULL;
	xlb_maps_get_cfg(&c0);
	T_EQ_INT(xlb_maps_bump_fib_gen(), 0, "bump the next-hop generation");
	xlb_maps_get_cfg(&c1);
	T_EQ_INT(c1.fib_gen, c0.fib_gen + 1, "cfg.fib_gen moved by one");
	out.dmac = MAC_NEW;
	expect("after the bump: the neighbour's new MAC", &in, ifx_c, XDP_REDIRECT, &out);
	sh("ip neigh replace 10.1.0.13 lladdr 02:00:00:00:01:0d dev xs0 nud permanent");
	xlb_maps_bump_fib_gen();
	out.dmac = m13;
	expect("and back", &in, ifx_c, XDP_REDIRECT, &out);

	/*
	 * An egress MTU below the full size (a link change: lbd moves the
	 * generation): the lookup is made again for the MTU, and a packet longer
	 * than the cached lookup checked is looked up again (and passed).
	 */
	memset(big, 'x', sizeof(big) - 1);
	sh("ip link set xs0 mtu 1280");
	xlb_maps_bump_fib_gen();
	in.payload = big;
	stats_mark();
	expect("1340-byte packet, egress MTU 1280: passed to the kernel", &in, ifx_c, XDP_PASS,
	       NULL);
	T_STAT(XLB_STAT_FIB_MTU, 1, "longer than the egress MTU");
	in.payload = NULL;
	stats_mark();
	expect("a short packet goes through", &in, ifx_c, XDP_REDIRECT, &out);
	T_STAT(XLB_STAT_FIB_MTU, 0, "short packet");
	xlb_maps_lookup_flow(&t, &f);
	T_EQ_INT(f.nh.max_len, 1280, "the cache covers packets up to the egress MTU");
	in.payload = big;
	stats_mark();
	expect("the 1340-byte packet again: passed", &in, ifx_c, XDP_PASS, NULL);
	T_STAT(XLB_STAT_FIB_MTU, 1, "longer than the cached lookup");
	in.payload = NULL;
	expect("a short packet still uses the cache", &in, ifx_c, XDP_REDIRECT, &out);
	sh("ip link set xs0 mtu 1500");
	xlb_maps_bump_fib_gen();
	in.payload = out.payload = big;
	expect("MTU back to 1500: the long packet goes through", &in, ifx_c, XDP_REDIRECT, &out);
	xlb_maps_lookup_flow(&t, &f);
	T_EQ_INT(f.nh.max_len, 1500, "the cache covers full-size packets again");
	sh("ip link set xs0 mtu 9000");
	xlb_maps_bump_fib_gen();
	{
		static char jumbo[1801];

		memset(jumbo, 'x', sizeof(jumbo) - 1);
		in.payload = out.payload = jumbo;
		expect("MTU 9000: a 1840-byte packet goes through", &in, ifx_c, XDP_REDIRECT, &out);
		xlb_maps_lookup_flow(&t, &f);
		T_EQ_INT(f.nh.max_len, 20 + 20 + 1800, "the cache covers it");
	}
	sh("ip link set xs0 mtu 1500");
	xlb_maps_bump_fib_gen();
	in.payload = out.payload = big;

	/* The reply path caches its next hop in the reverse entry. */
	{
		struct pkt r = { .family = 4,
				 .smac = m13,
				 .dmac = MAC_XS0,
				 .src = "10.1.0.13",
				 .dst = "10.0.0.2",
				 .sport = 80,
				 .dport = 51000,
				 .proto = IPPROTO_TCP,
				 .flags = 0x10 };
		struct xlb_tuple rt = tuple("10.1.0.13", 80, "10.0.0.2", 51000, IPPROTO_TCP);
		struct xlb_rev_flow rv;
		struct pkt rw = r;

		rw.smac = MAC_XC0;
		rw.dmac = MAC_CLI;
		rw.src = "10.0.0.102";
		rw.ttl = 63;
		expect("nat reply", &r, ifx_s, XDP_REDIRECT, &rw);
		T_OK(xlb_maps_lookup_rev_flow(&rt, &rv) == 0 && rv.nh.at &&
			     rv.nh.oif == (uint32_t)ifx_c && !memcmp(rv.nh.dmac, MAC_CLI, 6),
		     "the reverse entry caches the next hop toward the client");
		expect("nat reply from the cache", &r, ifx_s, XDP_REDIRECT, &rw);

		/* A reply refreshes the entry's stamp (seconds), at most once a second. */
		{
			int fd_rv = pinned_fd(XLB_MAP_REV_FLOWS);
			uint32_t now_s;

			xlb_maps_lookup_rev_flow(&rt, &rv);
			rv.last_used -= 5;
			bpf_map_update_elem(fd_rv, &rt, &rv, BPF_EXIST);
			expect("nat reply, stamp 5 s old", &r, ifx_s, XDP_REDIRECT, &rw);
			now_s = coarse_ns() / 1000000000ULL;
			xlb_maps_lookup_rev_flow(&rt, &rv);
			T_OK(rv.last_used == now_s || rv.last_used + 1 == now_s,
			     "a reply refreshes the reverse entry's stamp (%u, now %u)",
			     rv.last_used, now_s);
			close(fd_rv);
		}
	}

	/* tx_ports changes move the generation. */
	xlb_maps_get_cfg(&c0);
	xlb_maps_set_tx_port(ifx_s, true);
	xlb_maps_get_cfg(&c1);
	T_OK(c1.fib_gen != c0.fib_gen, "a tx_ports change moves the generation");
	/* set_cfg never moves it backwards, even with a stale copy. */
	xlb_maps_set_cfg(&c0);
	xlb_maps_get_cfg(&c0);
	T_OK(c0.fib_gen > c1.fib_gen, "set_cfg with a stale copy moves it forward");
}

/* Packets the program does not translate: verdicts and counters. */
static void t_malformed(void)
{
	struct pkt syn = { .family = 4,
			   .smac = MAC_CLI,
			   .dmac = MAC_XC0,
			   .src = "10.0.0.2",
			   .dst = "10.0.0.100",
			   .sport = 49000,
			   .dport = 80,
			   .proto = IPPROTO_TCP,
			   .flags = 0x02 };
	struct xlb_vip_stats vs0, vs1;
	uint32_t vip_t, vip_u;
	uint8_t b[256];
	size_t len;
	struct pkt k;

	xlb_maps_vip_id(list_entry(fe_t->binds.next, struct bind, list), &vip_t);
#define CASE(what, frame_len, verdict, stat)                                                  \
	do {                                                                                  \
		stats_mark();                                                                 \
		T_EQ_INT(run(b, frame_len, ifx_c, NULL, NULL), verdict, "%s: verdict", what); \
		T_STAT(stat, 1, what);                                                        \
	} while (0)

	len = build(&syn, b);
	CASE("frame cut inside the TCP header", len - 10, XDP_DROP, XLB_STAT_TRUNCATED);
	CASE("frame cut inside the IPv4 header", 14 + 12, XDP_DROP, XLB_STAT_TRUNCATED);
	b[14 + 3] += 40; /* tot_len beyond the frame */
	CASE("IPv4 total length beyond the frame", len, XDP_DROP, XLB_STAT_TRUNCATED);

	len = build(&syn, b);
	b[14] = 0x44;
	CASE("IPv4 ihl 4", len, XDP_DROP, XLB_STAT_BAD_IHL);

	k = syn;
	k.ip_opts = 4;
	len = build(&k, b);
	CASE("IPv4 with options", len, XDP_PASS, XLB_STAT_IP_OPTIONS);

	k = syn;
	k.frag = 0x2000;
	len = build(&k, b);
	CASE("IPv4 first fragment (MF)", len, XDP_PASS, XLB_STAT_FRAGMENT);
	k.frag = 0x0010;
	len = build(&k, b);
	CASE("IPv4 later fragment (offset)", len, XDP_PASS, XLB_STAT_FRAGMENT);

	k = (struct pkt){ .family = 6,
			  .smac = MAC_CLI,
			  .dmac = MAC_XC0,
			  .src = "fd00::2",
			  .dst = "fd00::100",
			  .sport = 1,
			  .dport = 80,
			  .proto = IPPROTO_TCP,
			  .flags = 0x02,
			  .v6_ext = V6EXT_HBH };
	len = build(&k, b);
	CASE("IPv6 hop-by-hop header", len, XDP_PASS, XLB_STAT_V6_EXT);
	k.v6_ext = V6EXT_FRAG;
	len = build(&k, b);
	CASE("IPv6 fragment header", len, XDP_PASS, XLB_STAT_V6_FRAG);
	k.v6_ext = 0;
	len = build(&k, b);
	b[14 + 5] += 30; /* payload length beyond the frame */
	CASE("IPv6 payload length beyond the frame", len, XDP_DROP, XLB_STAT_TRUNCATED);

	len = build(&syn, b);
	b[14 + 20 + 12] = 4 << 4;
	CASE("TCP doff 4", len, XDP_DROP, XLB_STAT_BAD_L4);
	k = syn;
	k.proto = IPPROTO_UDP;
	len = build(&k, b);
	b[14 + 20 + 5] = 4;
	CASE("UDP length 4", len, XDP_DROP, XLB_STAT_BAD_L4);

	len = build(&syn, b);
	b[12] = 0x08;
	b[13] = 0x06;
	CASE("ARP", len, XDP_PASS, XLB_STAT_NON_IP);
	len = build(&syn, b);
	memmove(b + 18, b + 14, len - 14); /* QinQ: two tags */
	b[12] = b[16] = 0x81;
	b[13] = b[17] = 0x00;
	b[14] = 0;
	b[15] = 5;
	CASE("two VLAN tags", len + 4, XDP_PASS, XLB_STAT_NON_IP);

	len = build(&syn, b);
	b[14 + 9] = 1; /* ICMP */
	CASE("ICMP", len, XDP_PASS, XLB_STAT_NON_L4);

	k = syn;
	k.dst = "10.0.0.1";
	len = build(&k, b);
	CASE("TCP to the balancer itself (no VIP)", len, XDP_PASS, XLB_STAT_NON_VIP);
	k = syn;
	k.dport = 81;
	len = build(&k, b);
	CASE("TCP to the VIP address on another port", len, XDP_PASS, XLB_STAT_NON_VIP);

	k = syn;
	k.dport = 8080;
	len = build(&k, b);
	CASE("mode http VIP", len, XDP_PASS, XLB_STAT_L7_VIP);

	k = syn;
	k.ttl = 1;
	len = build(&k, b);
	CASE("TTL 1", len, XDP_PASS, XLB_STAT_TTL);

	k = syn;
	k.flags = 0x04;
	k.sport = 49999;
	len = build(&k, b);
	xlb_maps_read_vip(vip_t, &vs0);
	CASE("RST without a flow", len, XDP_DROP, XLB_STAT_RST_NO_FLOW);
	xlb_maps_read_vip(vip_t, &vs1);
	T_EQ_INT(vs1.rst_no_flow - vs0.rst_no_flow, 1, "RST without a flow: per-VIP counter");
	{
		struct xlb_tuple t = tuple("10.0.0.2", 49999, "10.0.0.100", 80, IPPROTO_TCP);

		T_EQ_INT(flow_srv(&t, NULL), -1, "RST without a flow creates none");
	}
	k.flags = 0x10;
	len = build(&k, b);
	CASE("ACK without a flow: picked (mid-stream)", len, XDP_REDIRECT, XLB_STAT_MIDSTREAM);

	/* VIP whose backend has no usable server. */
	s_u->admin = SRV_ADMIN_MAINT;
	recalc(be_u);
	k = (struct pkt){ .family = 4,
			  .smac = MAC_CLI,
			  .dmac = MAC_XC0,
			  .src = "10.0.0.2",
			  .dst = "10.0.0.100",
			  .sport = 1234,
			  .dport = 53,
			  .proto = IPPROTO_UDP };
	len = build(&k, b);
	xlb_maps_vip_id(list_entry(fe_u->binds.next, struct bind, list), &vip_u);
	xlb_maps_read_vip(vip_u, &vs0);
	CASE("no usable server", len, XDP_DROP, XLB_STAT_NO_SERVER);
	xlb_maps_read_vip(vip_u, &vs1);
	T_EQ_INT(vs1.no_server - vs0.no_server, 1, "no usable server: per-VIP counter");
	s_u->admin = SRV_ADMIN_READY;
	recalc(be_u);

	/* An IPv4 client on a backend with only an IPv6 server. */
	{
		struct proxy *fe = mk_frontend("fmix", be_6, "10.0.0.107", 80, BIND_TCP);

		xlb_maps_sync_model(&M);
		k = syn;
		k.dst = "10.0.0.107";
		len = build(&k, b);
		/* XDP NAT keeps the family: the frontend is left to userspace. */
		T_OK(!fe->xdp && fe->xdp_reason && strstr(fe->xdp_reason, "family"),
		     "IPv4 bind on an IPv6-only backend left to userspace: %s",
		     fe->xdp_reason ? fe->xdp_reason : "(null)");
		CASE("IPv4 client, IPv6-only backend", len, XDP_PASS, XLB_STAT_L7_VIP);
		list_del(&fe->list);
		xlb_maps_sync_model(&M);
	}
#undef CASE
}

/* Model changes: VIPs come and go, rows are reused, counters start at 0. */
static void t_model_changes(void)
{
	struct bind *b = list_entry(fe_n->binds.next, struct bind, list);
	struct pkt in = { .family = 4,
			  .smac = MAC_CLI,
			  .dmac = MAC_XC0,
			  .src = "10.0.0.2",
			  .dst = "10.0.0.102",
			  .sport = 50000,
			  .dport = 80,
			  .proto = IPPROTO_TCP,
			  .flags = 0x02 };
	uint32_t id;

	list_del(&fe_n->list);
	T_EQ_INT(xlb_maps_sync_model(&M), 0, "sync without frontend fn");
	stats_mark();
	T_EQ_INT(run_pkt(&in, ifx_c), XDP_PASS, "removed frontend: its VIP is gone");
	T_STAT(XLB_STAT_NON_VIP, 1, "removed frontend");
	list_add_tail(&fe_n->list, &M.proxies);
	T_EQ_INT(xlb_maps_sync_model(&M), 0, "sync with fn again");
	T_EQ_INT(xlb_maps_vip_id(b, &id), 0, "fn has a VIP again");
	{
		struct xlb_vip_stats vs;

		xlb_maps_read_vip(id, &vs);
		T_EQ_INT(vs.packets, 0, "a new VIP starts with zero counters");
	}
	T_EQ_INT(run_pkt(&in, ifx_c), XDP_REDIRECT, "re-added frontend is served");
}

/* lbd restarts: maps are reused, flows and ids survive. */
static void t_restart(const char *root)
{
	struct xlb_tuple t = tuple("10.0.0.2", 40000, "10.0.0.100", 80, IPPROTO_TCP);
	struct bind *b = list_entry(fe_t->binds.next, struct bind, list);
	struct xlb_maps_opts o = { .pin_root = root };
	struct xlb_vip_stats vs0, vs1;
	uint32_t id0, id1;
	int64_t sid = flow_srv(&t, NULL);
	struct pkt in = { .family = 4,
			  .smac = MAC_CLI,
			  .dmac = MAC_XC0,
			  .src = "10.0.0.2",
			  .dst = "10.0.0.100",
			  .sport = 40000,
			  .dport = 80,
			  .proto = IPPROTO_TCP,
			  .flags = 0x10 };

	xlb_maps_vip_id(b, &id0);
	xlb_maps_read_vip(id0, &vs0);
	xlb_maps_close();
	T_EQ_INT(xlb_maps_open(&o), 0, "reopen on the pinned maps: %s", xlb_maps_error());
	prog_fd = xlb_maps_prog_fd();
	T_EQ_INT(xlb_maps_sync_model(&M), 0, "sync after reopen");
	T_OK(xlb_maps_vip_id(b, &id1) == 0 && id1 == id0, "the VIP kept its id (%u)", id0);
	xlb_maps_read_vip(id1, &vs1);
	T_OK(vs1.packets == vs0.packets && vs0.packets > 0, "the VIP kept its counters");
	T_EQ_INT(flow_srv(&t, NULL), sid, "the flow table survived");
	T_EQ_INT(run_pkt(&in, ifx_c), XDP_REDIRECT, "an old flow is still forwarded");
	T_EQ_INT(flow_srv(&t, NULL), sid, "to the same server");
}

static void t_attach(const char *root)
{
	char path[512];

	T_EQ_INT(xlb_maps_attach("xc0", XLB_XDP_NATIVE), 0, "native attach on veth: %s",
		 xlb_maps_error());
	snprintf(path, sizeof(path), "%s/link_xc0", root);
	T_OK(access(path, F_OK) == 0, "the link is pinned at %s", path);
	T_OK(sh("ip link show xc0 | grep -q 'xdp'") == 0, "ip link shows XDP on xc0");
	/* A new process would find the pinned link and swap its program in. */
	xlb_maps_close();
	T_OK(sh("ip link show xc0 | grep -q 'xdp'") == 0, "the program stays after close");
	T_EQ_INT(xlb_maps_open(&(struct xlb_maps_opts){ .pin_root = root }), 0, "reopen");
	prog_fd = xlb_maps_prog_fd();
	T_EQ_INT(xlb_maps_attach("xc0", XLB_XDP_NATIVE), 0, "re-attach replaces the program");
	T_EQ_INT(xlb_maps_attach("nosuchif0", XLB_XDP_NATIVE), -ENODEV, "unknown interface");
	T_OK(strstr(xlb_maps_error(), "nosuchif0") != NULL, "error names the interface: %s",
	     xlb_maps_error());
	T_EQ_INT(xlb_maps_detach("xc0"), 0, "detach");
	T_OK(access(path, F_OK) != 0, "the link pin is gone");
	T_OK(system("ip link show xc0 | grep -q 'xdp'") != 0, "no XDP on xc0 any more");
}

/* ---- Benchmark ---- */

/*
 * Average in-kernel run time of one frame: n single runs (repeat=1, so every
 * run sees the original frame; with repeat=N the program would see its own
 * translated output), each timed by the kernel around the program only.
 * When vary_port is set, each run gets a new TCP source port (a new flow).
 */
static double bench_avg(int fd, uint8_t *frame, size_t len, int n, size_t sport_off, int ifindex)
{
	struct xdp_md ctx = { .data_end = len, .ingress_ifindex = ifindex };
	uint8_t out[256];
	uint64_t total = 0;
	int i;

	for (i = 0; i < n; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = len,
			    .data_out = out, .data_size_out = sizeof(out), .ctx_in = &ctx,
			    .ctx_size_in = sizeof(ctx), .repeat = 1);

		if (sport_off)
			put16(frame + sport_off, 1024 + i % 64000);
		if (sport_off && i % 64000 == 0)
			frame[sport_off - 7]++; /* low byte of the source address */
		if (bpf_prog_test_run_opts(fd, &o))
			return -1;
		total += o.duration;
	}
	return (double)total / n;
}

static int bench(int n, const char *only)
{
	struct pkt syn = { .family = 4,
			   .smac = MAC_CLI,
			   .dmac = MAC_XC0,
			   .src = "172.16.0.1",
			   .dst = "10.0.0.100",
			   .sport = 60000,
			   .dport = 80,
			   .proto = IPPROTO_TCP,
			   .flags = 0x02 };
	struct pkt ack = syn;
	struct pkt v6 = { .family = 6,
			  .smac = MAC_CLI,
			  .dmac = MAC_XC0,
			  .src = "fd00::2",
			  .dst = "fd00::100",
			  .sport = 60001,
			  .dport = 80,
			  .proto = IPPROTO_TCP,
			  .flags = 0x10 };
	struct pkt nonvip = syn;
	struct pkt reply = { .family = 4,
			     .dmac = MAC_XS0,
			     .dst = "10.1.0.1",
			     .sport = 8080,
			     .proto = IPPROTO_TCP,
			     .flags = 0x10 };
	struct xdp_pass_bpf *pass = xdp_pass_bpf__open_and_load();
	struct {
		const char *what;
		struct pkt *k;
		bool vary;
		int ifindex;
	} cases[] = {
		{ "TCP SYN, new flow (fullnat, redirect)", &syn, true, ifx_c },
		{ "TCP ACK, established flow (redirect)", &ack, false, ifx_c },
		{ "TCP reply of that flow (redirect)", &reply, false, ifx_s },
		{ "IPv6 TCP ACK, established flow", &v6, false, ifx_c },
		{ "non-VIP packet (XDP_PASS)", &nonvip, false, ifx_c },
	};
	uint8_t rmac[6];
	uint64_t g[XLB_STAT_MAX];
	uint8_t f[256];
	double base, t;
	size_t len;
	unsigned i, j;

	if (!pass) {
		printf("# bench: cannot load the XDP_PASS stub\n");
		return -1;
	}
	/* The widest SNAT range: 2 servers x 64k ports outlast the runs (the LRU recycles). */
	{
		struct xlb_cfg c;

		xlb_maps_get_cfg(&c);
		c.port_min = 1024;
		c.port_max = 65535;
		xlb_maps_set_cfg(&c);
	}
	ack.flags = 0x10;
	ack.sport = 60002;
	nonvip.dst = "10.0.0.1";
	len = build(&ack, f);
	run(f, len, ifx_c, NULL, NULL); /* creates the flow */
	{
		struct xlb_tuple t = tuple("172.16.0.1", 60002, "10.0.0.100", 80, IPPROTO_TCP);
		struct xlb_flow fl;
		static char srv[INET_ADDRSTRLEN];

		if (xlb_maps_lookup_flow(&t, &fl)) {
			printf("# bench: the ACK created no flow\n");
			return -1;
		}
		inet_ntop(AF_INET, &fl.srv_addr[3], srv, sizeof(srv));
		srv_mac(rmac, ntohl(fl.srv_addr[3]) & 0xff);
		reply.smac = rmac;
		reply.src = srv;
		reply.dport = ntohs(fl.snat_port);
	}
	len = build(&v6, f);
	run(f, len, ifx_c, NULL, NULL);

	len = build(&nonvip, f);
	base = bench_avg(bpf_program__fd(pass->progs.xlb_pass), f, len, n, 0, ifx_c);
	printf("bench: %-40s %7.1f ns/run (the timing floor)\n", "empty XDP program", base);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (only && !strstr(cases[i].what, only))
			continue;
		len = build(cases[i].k, f);
		stats_mark();
		t = bench_avg(prog_fd, f, len, n, cases[i].vary ? 14 + 20 : 0, cases[i].ifindex);
		printf("bench: %-40s %7.1f ns/run, %7.1f ns over the empty program\n",
		       cases[i].what, t, t - base);
		xlb_maps_read_global(g);
		printf("#  counters:");
		for (j = 0; j < XLB_STAT_MAX; j++) {
			if (g[j] != g0[j])
				printf(" %s=%llu", xlb_stat_name(j),
				       (unsigned long long)(g[j] - g0[j]));
		}
		printf("\n");
	}
	printf("# %d runs each, in-kernel time per run (bpf_prog_test_run, repeat=1); "
	       "redirects are not executed\n",
	       n);
	xdp_pass_bpf__destroy(pass);
	return 0;
}

/* ---- Main ---- */

int main(int argc, char **argv)
{
	char root[64];
	struct xlb_maps_opts o = { 0 };
	const char *bench_only = NULL;
	int bench_n = 0;

	if (argc > 1 && !strcmp(argv[1], "--bench")) {
		bench_n = argc > 2 ? atoi(argv[2]) : 200000;
		bench_only = argc > 3 ? argv[3] : NULL;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		T_SKIP("BPF tests need root");
		return 0;
	}
	/* Private network and mount namespaces: nothing leaks to the host. */
	if (unshare(CLONE_NEWNET | CLONE_NEWNS) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
		T_SKIP("unshare: %s", strerror(errno));
		return 0;
	}
	if (net_setup()) {
		T_SKIP("could not set the test network up");
		return 0;
	}
	snprintf(root, sizeof(root), "/sys/fs/bpf/xlb-test-%d", getpid());
	snprintf(pin_root, sizeof(pin_root), "%s", root);
	o.pin_root = root;
	o.fresh = true;
	o.flow_entries = 65536;
	if (xlb_maps_open(&o)) {
		T_SKIP("cannot load the XDP program: %s", xlb_maps_error());
		return 0;
	}
	prog_fd = xlb_maps_prog_fd();
	{
		struct xlb_cfg c;

		T_EQ_INT(xlb_maps_get_cfg(&c), 0, "cfg readable");
		T_OK(c.port_min == XLB_PORT_MIN_DEFAULT && c.port_max == XLB_PORT_MAX_DEFAULT &&
			     c.udp_timeout_ns == XLB_UDP_TIMEOUT_NS,
		     "cfg has its defaults");
	}
	T_EQ_INT(xlb_maps_set_tx_port(ifx_s, true), 0, "tx port xs0");
	T_EQ_INT(xlb_maps_set_tx_port(ifx_c, true), 0, "tx port xc0");
	build_model();
	t_sync();
	if (bench_n) {
		int rc = bench(bench_n, bench_only);

		xlb_maps_down(root);
		return rc ? 1 : 0;
	}
	t_fullnat_tcp();
	t_rr_order();
	t_maglev();
	t_nat();
	t_udp();
	t_v6();
	t_tx_and_vlan();
	t_no_neigh();
	t_snat();
	t_server_states();
	t_partial_writes();
	t_nh_cache();
	t_malformed();
	t_model_changes();
	t_restart(root);
	t_attach(root);
	T_EQ_INT(xlb_maps_down(root), 0, "down: %s", xlb_maps_error());
	T_OK(access(root, F_OK) != 0, "down removed %s", root);
	printf("# %d checks, %d failed\n", t_count, t_failed);
	T_DONE();
}
