// SPDX-License-Identifier: MIT
/*
 * xlb's XDP program: the L4 tier. Packets to a `mode tcp` (or UDP) VIP pick a
 * server (weighted round-robin slots or a Maglev row), remember the choice
 * in the flow table, are translated (fullnat or nat) and leave through
 * XDP_TX or a devmap redirect toward the next hop bpf_fib_lookup found; the
 * next hop is cached in the flow entry, so established packets skip the
 * lookup. Server replies are found in the reverse table and translated back.
 * Everything else goes to the kernel (XDP_PASS), counted by reason.
 *
 * Map layouts: lb_kern_user.h. Docs: doc/xdp.md.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "lb_kern_user.h"
#include "maps.h"
#include "parse.h"
#include "nat.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Load-time settings (set by lbd before loading; a change reloads the program). */
const volatile __u32 snat_probes = 16; /* range ports probed per new fullnat flow */
const volatile __u32 pick_tries = 4; /* rr slots tried when a slot's server is unusable */
const volatile __u64 touch_ns = 1000000000; /* flows refresh last_seen at most this often */
const volatile __u64 nh_cache_ns = XLB_NH_CACHE_NS; /* a cached next hop is looked up again after */

#define XLB_PICK_TRIES_MAX 16

/*
 * May a new flow of this family go to server *id? When not because of the
 * family, *stat says so.
 */
static __always_inline bool xlb_srv_try(const __u32 *id, __u8 family, __u32 *stat)
{
	const struct xlb_server *s = bpf_map_lookup_elem(&servers, id);

	if (!s)
		return false;
	if ((s->flags & (XLB_SRV_VALID | XLB_SRV_DRAIN)) == XLB_SRV_VALID && s->family == family)
		return true;
	if (s->family && s->family != family)
		*stat = XLB_STAT_FAMILY;
	return false;
}

static __always_inline bool xlb_addr_eq(const __be32 *a, const __be32 *b)
{
	return !((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]));
}

static __always_inline bool xlb_addr_zero(const __be32 *a)
{
	return !(a[0] | a[1] | a[2] | a[3]);
}

/*
 * Choose a server for a new flow of backend be_idx. Returns its id, or
 * XLB_NO_SERVER (*stat says why).
 */
static __always_inline __u32 xlb_pick(__u32 be_idx, struct xlb_backend *be, const struct xlb_pkt *p,
				      __u32 *stat)
{
	__u32 key, *id, i;

	*stat = XLB_STAT_NO_SERVER;
	if (be->algo == XLB_ALGO_RR) {
		__u64 n = be->nslots, c;

		if (!n || n > XLB_RR_SLOTS)
			return XLB_NO_SERVER;
		c = __sync_fetch_and_add(&be->rr_cursor, 1);
		for (i = 0; i < XLB_PICK_TRIES_MAX; i++) {
			if (i >= pick_tries)
				break;
			key = be_idx * XLB_RR_SLOTS + (__u32)((c + i) % n);
			id = bpf_map_lookup_elem(&rr_slots, &key);
			if (!id)
				break;
			if (xlb_srv_try(id, p->family, stat))
				return *id;
		}
		return XLB_NO_SERVER;
	}
	if (be->algo == XLB_ALGO_MAGLEV) {
		if (be->ring >= XLB_MAX_RINGS)
			return XLB_NO_SERVER;
		key = be->ring * XLB_MAGLEV_SIZE + xlb_hash_addr(p->t.src) % XLB_MAGLEV_SIZE;
		id = bpf_map_lookup_elem(&maglev, &key);
		if (id && xlb_srv_try(id, p->family, stat))
			return *id;
	}
	return XLB_NO_SERVER;
}

/* Key of the reverse entry of a flow: the tuple of the server's replies. */
static __always_inline void xlb_rev_key(struct xlb_tuple *rk, const struct xlb_tuple *ct,
					const struct xlb_flow *f)
{
	__builtin_memcpy(rk->src, f->srv_addr, 16);
	rk->sport = f->srv_port;
	if (f->fwd == XLB_FWD_FULLNAT) {
		__builtin_memcpy(rk->dst, f->snat_addr, 16);
		rk->dport = f->snat_port;
	} else {
		__builtin_memcpy(rk->dst, ct->src, 16);
		rk->dport = ct->sport;
	}
	rk->proto = ct->proto;
	rk->pad[0] = rk->pad[1] = rk->pad[2] = 0;
}

/* A start point for the source port search that spreads clients over the range. */
static __always_inline __u32 xlb_tuple_hash(const struct xlb_tuple *t)
{
	__u32 h = XLB_HASH_SEED;

	h = xlb_hash_step(h, t->src[3]);
	h = xlb_hash_step(h, t->src[2] ^ t->src[1] ^ t->src[0]);
	h = xlb_hash_step(h, t->dst[3]);
	h = xlb_hash_step(h, ((__u32)t->sport << 16) | t->dport);
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	return h;
}

#define XLB_NS_PER_S 1000000000ULL

/* Do two reverse entries belong to the same client tuple (client and VIP)? */
static __always_inline bool xlb_rev_same_owner(const struct xlb_rev_flow *a,
					       const struct xlb_rev_flow *b)
{
	return a->client_port == b->client_port && a->vip_port == b->vip_port &&
	       xlb_addr_eq(a->client_addr, b->client_addr) && xlb_addr_eq(a->vip_addr, b->vip_addr);
}

/*
 * Does the owner's flow still translate to the reverse entry rk -> old? An
 * idle connection may be quiet for longer than the hold: its entry stays
 * taken while its flow points at it (until the LRU evicts either).
 */
static __always_inline bool xlb_rev_live(const struct xlb_tuple *rk, const struct xlb_rev_flow *old,
					 struct xlb_tuple *okey)
{
	struct xlb_flow *of;

	__builtin_memcpy(okey->src, old->client_addr, 16);
	__builtin_memcpy(okey->dst, old->vip_addr, 16);
	okey->sport = old->client_port;
	okey->dport = old->vip_port;
	okey->proto = rk->proto;
	okey->pad[0] = okey->pad[1] = okey->pad[2] = 0;
	of = bpf_map_lookup_elem(&flows, okey);
	return of && of->fwd == XLB_FWD_FULLNAT && of->snat_port == rk->dport &&
	       of->srv_port == rk->sport && xlb_addr_eq(of->srv_addr, rk->src) &&
	       xlb_addr_eq(of->snat_addr, rk->dst);
}

/*
 * Claim reverse entry rk (its dport set) for rv. Free: no entry; one of the
 * same client tuple (its own previous mapping, as conntrack re-uses it); or
 * one of another client tuple that is XLB_SNAT_HOLD_S old and no longer its
 * flow's. A taken-over entry is rewritten in place (no LRU node churn). Two
 * CPUs taking over the same stale entry at the same instant may both get it;
 * a fresh insert stays atomic (BPF_NOEXIST). Returns 0 when claimed.
 */
static __always_inline int xlb_snat_claim(struct xlb_tuple *rk, const struct xlb_rev_flow *rv,
					  __u32 now_s, struct xlb_tuple *okey)
{
	struct xlb_rev_flow *old = bpf_map_lookup_elem(&rev_flows, rk);

	if (!old)
		return bpf_map_update_elem(&rev_flows, rk, rv, BPF_NOEXIST);
	if (!xlb_rev_same_owner(old, rv) &&
	    (now_s - old->last_used < XLB_SNAT_HOLD_S || xlb_rev_live(rk, old, okey)))
		return -1;
	__builtin_memcpy(old, rv, sizeof(*rv));
	return 0;
}

/*
 * Insert the reverse entry of a new fullnat flow under a free source port.
 * Candidates, in order: prev (the port this client tuple had before a
 * re-pick, 0 = none: the server-side tuple then stays a function of the
 * client tuple, whose TCP timestamps are monotonic), the client's own
 * source port unless it is in lbd's own band (XLB_HOST_PORT_MIN..MAX),
 * then snat_probes ports of the range from a per-tuple start.
 * Returns the port (network order) or 0.
 */
static __always_inline __be16 xlb_snat_port(struct xlb_tuple *rk, const struct xlb_rev_flow *rv,
					    const struct xlb_cfg *c, __u32 seed, __be16 prev,
					    __be16 cport, __u32 now_s, struct xlb_tuple *okey)
{
	__u32 lo = XLB_PORT_MIN_DEFAULT, hi = XLB_PORT_MAX_DEFAULT, range, i;
	__be16 port;

	if (c && c->port_min && c->port_max >= c->port_min) {
		lo = c->port_min;
		hi = c->port_max;
	}
	range = hi - lo + 1;
	for (i = 0; i < XLB_SNAT_PROBES_MAX + 2; i++) {
		if (i == 0) {
			port = prev;
		} else if (i == 1) {
			/*
			 * The client's own port, as nf_nat keeps it, unless it
			 * lies in the band of lbd's own connections (health
			 * checks, userspace proxies), whose replies would then be
			 * taken for the flow's.
			 */
			__u32 cp = bpf_ntohs(cport);

			port = cport == prev || (cp >= XLB_HOST_PORT_MIN &&
						 cp <= XLB_HOST_PORT_MAX) ?
				       0 :
				       cport;
		} else {
			if (i - 2 >= snat_probes)
				break;
			port = bpf_htons((__u16)(lo + (seed + i - 2) % range));
			if (port == prev || port == cport)
				continue;
		}
		if (!port)
			continue;
		rk->dport = port;
		if (!xlb_snat_claim(rk, rv, now_s, okey))
			return port;
	}
	return 0;
}

/* May the packet leave through the next hop cached in a flow entry? */
static __always_inline bool xlb_nh_ok(const struct xlb_nh *nh, const struct xlb_pkt *p, __u32 gen,
				      __u64 now)
{
	return nh->at && nh->gen == gen && nh->iif == p->iif && now - nh->at < nh_cache_ns &&
	       p->l3_len <= nh->max_len;
}

/*
 * The IP length a next-hop lookup checks the egress MTU for: at least a
 * full-size Ethernet packet, so that the entry a short packet (a SYN, a bare
 * ACK) caches also serves the full-size packets that follow.
 */
#define XLB_NH_PROBE_LEN 1500

/*
 * Look the next hop of the translated packet up for max(its length,
 * XLB_NH_PROBE_LEN) bytes. When the path's MTU is smaller than that but
 * still fits the packet, the answer (BPF_FIB_LKUP_RET_FRAG_NEEDED) carries
 * the MTU: looked up again for exactly that. *len: the length the returned
 * answer checked (what the cache entry may serve).
 */
static __always_inline int xlb_fib_nh(struct xdp_md *ctx, const struct xlb_pkt *p,
				      const struct xlb_xlate *x, struct bpf_fib_lookup *fib,
				      __u32 flags, __u16 *len)
{
	__u16 l = p->l3_len > XLB_NH_PROBE_LEN ? p->l3_len : XLB_NH_PROBE_LEN;
	int rc = xlb_fib(ctx, p, x, fib, flags, l);

	if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED && l > p->l3_len && fib->mtu_result >= p->l3_len) {
		l = fib->mtu_result;
		rc = xlb_fib(ctx, p, x, fib, flags, l);
	}
	*len = l;
	return rc;
}

/*
 * Turn a route lookup (made for len bytes) into a next hop. Returns 0 with
 * *nh filled (and so cached, when nh is in a flow entry) when the frame can
 * leave through XDP, else the counter that says why the kernel gets it. A
 * failed lookup leaves *nh as it was: a stale entry fails xlb_nh_ok() again
 * on the next packet.
 */
static __always_inline __u32 xlb_nh_set(const struct xlb_pkt *p, const struct bpf_fib_lookup *fib,
					int rc, struct xlb_nh *nh, __u32 gen, __u64 now, __u16 len)
{
	__u32 oif = fib->ifindex;

	switch (rc) {
	case BPF_FIB_LKUP_RET_SUCCESS:
		break;
	case BPF_FIB_LKUP_RET_NO_NEIGH:
		return XLB_STAT_FIB_NO_NEIGH;
	case BPF_FIB_LKUP_RET_FWD_DISABLED:
		return XLB_STAT_FIB_FWD_OFF;
	case BPF_FIB_LKUP_RET_FRAG_NEEDED:
		return XLB_STAT_FIB_MTU;
	default:
		return XLB_STAT_FIB_FAIL;
	}
	if (oif != p->iif && !bpf_map_lookup_elem(&tx_ports, &oif))
		return XLB_STAT_NO_TX_PORT;
	/* The stamp last: a reader on another CPU checks it first. */
	__builtin_memcpy(nh->dmac, fib->dmac, ETH_ALEN);
	__builtin_memcpy(nh->smac, fib->smac, ETH_ALEN);
	nh->oif = oif;
	nh->iif = p->iif;
	nh->max_len = len;
	nh->gen = gen;
	nh->at = now;
	return 0;
}

/*
 * Translate the packet, decrement its TTL and send it to the next hop:
 * XDP_TX or a devmap redirect.
 */
static __always_inline int xlb_send(struct xdp_md *ctx, struct xlb_pkt *p,
				    const struct xlb_xlate *x, const struct xlb_nh *nh,
				    struct xlb_stats *st)
{
	struct ethhdr *eth = p->eth;
	__u32 oif = nh->oif;

	if (xlb_rewrite(ctx, p, x, true) || (void *)(eth + 1) > (void *)(long)ctx->data_end)
		return XDP_DROP;
	__builtin_memcpy(eth->h_dest, nh->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, nh->smac, ETH_ALEN);
	if (oif == p->iif) {
		xlb_count(st, XLB_STAT_XDP_TX);
		return XDP_TX;
	}
	xlb_count(st, XLB_STAT_REDIRECT);
	return bpf_redirect_map(&tx_ports, oif, 0);
}

/*
 * No next hop for XDP (why: a XLB_STAT_FIB_* or NO_TX_PORT counter): hand
 * the translated packet to the kernel, MACs and TTL as received; it forwards
 * the packet by itself (and resolves a missing neighbour).
 */
static __always_inline int xlb_pass_translated(struct xdp_md *ctx, struct xlb_pkt *p,
					       const struct xlb_xlate *x, __u32 why)
{
	if (xlb_rewrite(ctx, p, x, false))
		return XDP_DROP;
	xlb_count_var(why);
	return XDP_PASS;
}

static __always_inline __u64 xlb_udp_timeout(const struct xlb_cfg *c)
{
	return c && c->udp_timeout_ns ? c->udp_timeout_ns : XLB_UDP_TIMEOUT_NS;
}

/*
 * How stale a UDP flow's last_seen may get: touch_ns (1 s), or a sixteenth
 * of a shorter timeout. The stamp is written only when it is at least this
 * old (a write to a shared entry moves its cache line between the CPUs that
 * serve the flow), and a flow expires once it is this much past the
 * timeout, so it never re-picks before it has been idle for the timeout.
 */
static __always_inline __u64 xlb_udp_touch(__u64 timeout)
{
	__u64 t = timeout >> 4;

	return t < touch_ns ? t : touch_ns;
}

/* Idle for longer than timeout, given a stamp that may lag by touch? */
static __always_inline bool xlb_udp_expired(__u64 now, __u64 last, __u64 timeout, __u64 touch)
{
	/* A stamp ahead of now (another CPU's, a clock tick later) is not idle. */
	return now > last && now - last > touch && now - last - touch > timeout;
}

/* Scratch space for the new-flow path: more than the 512-byte stack allows next to the rest. */
struct xlb_scratch {
	struct xlb_flow flow;
	struct xlb_tuple rkey;
	struct xlb_tuple okey; /* another client tuple, to check its flow */
	struct xlb_rev_flow rev;
	struct bpf_fib_lookup fib;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xlb_scratch);
} scratch SEC(".maps");

/* Client -> VIP. */
static __always_inline int xlb_forward(struct xdp_md *ctx, struct xlb_pkt *p,
				       const struct xlb_vip *vip, struct xlb_stats *st)
{
	struct xlb_vip_stats *vs;
	struct xlb_srv_stats *ss;
	struct xlb_backend *be;
	struct xlb_server *srv = NULL;
	struct xlb_scratch *sc = NULL;
	struct xlb_flow *f, *nf;
	struct xlb_xlate x;
	struct xlb_nh *nh;
	struct xlb_cfg *c;
	__u32 zero = 0, reason = 0, be_idx = vip->be_idx, vip_id = vip->id, srv_id, why, gen;
	__be16 prev_port = 0;
	__u64 now, touch;
	__u16 len;
	int rc;

	if (vip->flags & XLB_VIP_L7) {
		xlb_count(st, XLB_STAT_L7_VIP);
		return XDP_PASS;
	}
	if (p->ttl <= 1) {
		xlb_count(st, XLB_STAT_TTL);
		return XDP_PASS;
	}
	vs = bpf_map_lookup_elem(&vip_stats, &vip_id);
	c = bpf_map_lookup_elem(&cfg, &zero);
	gen = c ? c->fib_gen : 0;
	/* Idle timeouts and the next-hop cache need seconds, not nanoseconds: the cheap clock. */
	now = bpf_ktime_get_coarse_ns();

	f = bpf_map_lookup_elem(&flows, &p->t);
	if (p->t.proto == IPPROTO_TCP) {
		touch = touch_ns;
		if ((p->tcp_flags & (TCPF_SYN | TCPF_ACK)) == TCPF_SYN) {
			reason = f ? XLB_STAT_REPICK_SYN : XLB_STAT_NEW_FLOW;
		} else if (!f) {
			if (p->tcp_flags & TCPF_RST) {
				xlb_count(st, XLB_STAT_RST_NO_FLOW);
				if (vs)
					vs->rst_no_flow++;
				return XDP_DROP;
			}
			reason = XLB_STAT_MIDSTREAM;
		}
	} else {
		__u64 timeout = xlb_udp_timeout(c);

		touch = xlb_udp_touch(timeout);
		if (!f)
			reason = XLB_STAT_NEW_FLOW;
		else if (xlb_udp_expired(now, f->last_seen, timeout, touch))
			reason = XLB_STAT_REPICK_EXPIRED;
	}
	if (!reason) {
		srv = bpf_map_lookup_elem(&servers, &f->srv_id);
		if (!srv || !(srv->flags & XLB_SRV_VALID) || srv->cookie != f->srv_cookie)
			reason = XLB_STAT_REPICK_INVALID;
	}

	if (!reason) {
		/* Established: follow the flow entry (scratch only for a route lookup). */
		srv_id = f->srv_id;
		x.daddr = f->srv_addr;
		x.dport = f->srv_port;
		if (f->fwd == XLB_FWD_FULLNAT) {
			x.saddr = f->snat_addr;
			x.sport = f->snat_port;
		} else {
			x.saddr = p->t.src;
			x.sport = p->t.sport;
		}
		/* TCP: at most 1 s old; UDP: see xlb_udp_touch(). Not a write per packet. */
		if (now - f->last_seen >= touch)
			f->last_seen = now;
		nh = &f->nh;
		why = 0;
		if (!xlb_nh_ok(nh, p, gen, now)) {
			sc = bpf_map_lookup_elem(&scratch, &zero);
			if (!sc)
				return XDP_PASS;
			rc = xlb_fib_nh(ctx, p, &x, &sc->fib, 0, &len);
			why = xlb_nh_set(p, &sc->fib, rc, nh, gen, now, len);
		}
		goto out;
	}

	/*
	 * New flow, or a re-pick. nat: forget the old reverse entry. fullnat:
	 * keep it (the server may hold its tuple in TIME_WAIT; its stamp keeps
	 * other clients off it) and try its port first.
	 */
	sc = bpf_map_lookup_elem(&scratch, &zero);
	if (!sc)
		return XDP_PASS;
	if (f) {
		if (f->fwd == XLB_FWD_FULLNAT) {
			prev_port = f->snat_port;
		} else {
			xlb_rev_key(&sc->rkey, &p->t, f);
			bpf_map_delete_elem(&rev_flows, &sc->rkey);
		}
	}
	be = bpf_map_lookup_elem(&backends, &be_idx);
	srv_id = be ? xlb_pick(be_idx, be, p, &why) : XLB_NO_SERVER;
	if (srv_id != XLB_NO_SERVER)
		srv = bpf_map_lookup_elem(&servers, &srv_id);
	if (!be || !srv) {
		if (!be)
			why = XLB_STAT_NO_SERVER;
		xlb_count_var(why);
		if (vs)
			vs->no_server++;
		if (f)
			bpf_map_delete_elem(&flows, &p->t);
		return XDP_DROP;
	}

	nf = &sc->flow;
	__builtin_memcpy(nf->srv_addr, srv->addr, 16);
	nf->srv_port = srv->port ? srv->port : p->t.dport;
	nf->srv_id = srv_id;
	nf->srv_cookie = srv->cookie;
	nf->last_seen = now;
	nf->fwd = be->fwd;
	nf->pad[0] = nf->pad[1] = nf->pad[2] = 0;
	/* Scratch memory holds the last packet's values: no next hop is known yet. */
	__builtin_memset(&nf->nh, 0, sizeof(nf->nh));

	sc->rev.vip_id = vip_id;
	sc->rev.srv_id = srv_id;
	sc->rev.last_used = now / XLB_NS_PER_S;
	__builtin_memset(&sc->rev.nh, 0, sizeof(sc->rev.nh));
	__builtin_memcpy(sc->rev.vip_addr, p->t.dst, 16);
	sc->rev.vip_port = p->t.dport;
	__builtin_memcpy(sc->rev.client_addr, p->t.src, 16);
	sc->rev.client_port = p->t.sport;

	x.daddr = nf->srv_addr;
	x.dport = nf->srv_port;
	__builtin_memset(nf->snat_addr, 0, 16);
	if (nf->fwd == XLB_FWD_FULLNAT) {
		__u32 fib_flags = 0;

		/* Source: the backend's `source`, else the global one, else the route's. */
		if (p->family == 4) {
			__be32 a = be->snat4 ? be->snat4 : (c ? c->snat4 : 0);

			if (a)
				xlb_v4_mapped(nf->snat_addr, a);
		} else if (!xlb_addr_zero(be->snat6)) {
			__builtin_memcpy(nf->snat_addr, be->snat6, 16);
		} else if (c) {
			__builtin_memcpy(nf->snat_addr, c->snat6, 16);
		}
		if (xlb_addr_zero(nf->snat_addr))
			fib_flags = BPF_FIB_LOOKUP_SRC;
		x.saddr = nf->snat_addr; /* ignored with BPF_FIB_LOOKUP_SRC */
		x.sport = 0;
		rc = xlb_fib_nh(ctx, p, &x, &sc->fib, fib_flags, &len);
		if (fib_flags) {
			if (p->family == 4 && sc->fib.ipv4_src)
				xlb_v4_mapped(nf->snat_addr, sc->fib.ipv4_src);
			else if (p->family == 6)
				__builtin_memcpy(nf->snat_addr, sc->fib.ipv6_src, 16);
			if (xlb_addr_zero(nf->snat_addr)) {
				xlb_count(st, XLB_STAT_NO_SNAT_ADDR);
				if (vs)
					vs->snat_fail++;
				bpf_map_delete_elem(&flows, &p->t);
				return XDP_DROP;
			}
		}
		nf->snat_port = 0;
		xlb_rev_key(&sc->rkey, &p->t, nf);
		nf->snat_port = xlb_snat_port(&sc->rkey, &sc->rev, c, xlb_tuple_hash(&p->t),
					      prev_port, p->t.sport, sc->rev.last_used, &sc->okey);
		if (!nf->snat_port) {
			xlb_count(st, XLB_STAT_SNAT_PORTS);
			if (vs)
				vs->snat_fail++;
			bpf_map_delete_elem(&flows, &p->t);
			return XDP_DROP;
		}
		x.sport = nf->snat_port;
	} else {
		nf->snat_port = 0;
		x.saddr = p->t.src;
		x.sport = p->t.sport;
		xlb_rev_key(&sc->rkey, &p->t, nf);
		bpf_map_update_elem(&rev_flows, &sc->rkey, &sc->rev, BPF_ANY);
		rc = xlb_fib_nh(ctx, p, &x, &sc->fib, 0, &len);
	}
	nh = &nf->nh;
	why = xlb_nh_set(p, &sc->fib, rc, nh, gen, now, len);
	bpf_map_update_elem(&flows, &p->t, nf, BPF_ANY);

	xlb_count_var(reason);
out:
	xlb_count(st, XLB_STAT_FWD);
	if (vs) {
		vs->new_flows += !!reason;
		vs->packets++;
		vs->bytes += p->len;
	}
	ss = bpf_map_lookup_elem(&srv_stats, &srv_id);
	if (ss) {
		ss->new_flows += !!reason;
		ss->packets++;
		ss->bytes += p->len;
	}
	if (why)
		return xlb_pass_translated(ctx, p, &x, why);
	return xlb_send(ctx, p, &x, nh, st);
}

/* Server -> balancer: translate back to VIP -> client. */
static __always_inline int xlb_reply(struct xdp_md *ctx, struct xlb_pkt *p, struct xlb_rev_flow *r,
				     struct xlb_stats *st)
{
	struct xlb_vip_stats *vs;
	struct xlb_srv_stats *ss;
	struct xlb_scratch *sc;
	struct xlb_xlate x;
	struct xlb_cfg *c;
	__u32 zero = 0, why = 0, gen;
	__u64 now;
	__u16 len;
	int rc;

	if (p->ttl <= 1) {
		xlb_count(st, XLB_STAT_TTL);
		return XDP_PASS;
	}
	x.saddr = r->vip_addr;
	x.daddr = r->client_addr;
	x.sport = r->vip_port;
	x.dport = r->client_port;
	vs = bpf_map_lookup_elem(&vip_stats, &r->vip_id);
	if (vs) {
		vs->reply_packets++;
		vs->reply_bytes += p->len;
	}
	ss = bpf_map_lookup_elem(&srv_stats, &r->srv_id);
	if (ss) {
		ss->reply_packets++;
		ss->reply_bytes += p->len;
	}
	xlb_count(st, XLB_STAT_REPLY);
	c = bpf_map_lookup_elem(&cfg, &zero);
	gen = c ? c->fib_gen : 0;
	now = bpf_ktime_get_coarse_ns();
	/*
	 * The fullnat hold counts from the last reply: a write at most once a
	 * second, when now is past the stamp's second (a multiplication, where
	 * now / 1 s would be a 64-bit division on every packet).
	 */
	if (now - (__u64)r->last_used * XLB_NS_PER_S >= XLB_NS_PER_S)
		r->last_used = now / XLB_NS_PER_S;
	if (!xlb_nh_ok(&r->nh, p, gen, now)) {
		sc = bpf_map_lookup_elem(&scratch, &zero);
		if (!sc)
			return XDP_PASS;
		rc = xlb_fib_nh(ctx, p, &x, &sc->fib, 0, &len);
		why = xlb_nh_set(p, &sc->fib, rc, &r->nh, gen, now, len);
	}
	if (why)
		return xlb_pass_translated(ctx, p, &x, why);
	return xlb_send(ctx, p, &x, &r->nh, st);
}

SEC("xdp")
int xlb_lb(struct xdp_md *ctx)
{
	struct xlb_pkt p = {};
	struct xlb_vip_key vk;
	struct xlb_vip *vip;
	struct xlb_rev_flow *r;
	struct xlb_stats *st;
	__u32 why;

	/* One lookup of the global counters per packet: the pointer goes down. */
	st = xlb_stats_get();
	if (!st)
		return XDP_PASS;
	xlb_count(st, XLB_STAT_RX);
	why = xlb_parse(ctx, &p);
	if (why) {
		xlb_count_var(why);
		return xlb_parse_verdict(why);
	}

	__builtin_memcpy(vk.addr, p.t.dst, 16);
	vk.port = p.t.dport;
	vk.proto = p.t.proto;
	vk.pad = 0;
	vip = bpf_map_lookup_elem(&vips, &vk);
	if (vip)
		return xlb_forward(ctx, &p, vip, st);

	r = bpf_map_lookup_elem(&rev_flows, &p.t);
	if (r)
		return xlb_reply(ctx, &p, r, st);

	xlb_count(st, XLB_STAT_NON_VIP);
	return XDP_PASS;
}
