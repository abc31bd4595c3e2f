/* SPDX-License-Identifier: MIT */
/*
 * Address and port translation with incremental checksum updates, the TTL
 * decrement of a forwarded packet, and the next-hop lookup.
 */
#ifndef XLB_BPF_NAT_H
#define XLB_BPF_NAT_H

#include "csum.h"
#include "parse.h"

#define AF_INET 2
#define AF_INET6 10
#define ETH_ALEN 6

/*
 * The tuple a packet leaves with. The addresses point at where they already
 * are (the flow or reverse entry, the packet's tuple): nothing is copied.
 */
struct xlb_xlate {
	const __be32 *saddr; /* 16 bytes, v4-mapped for IPv4 */
	const __be32 *daddr; /* 16 bytes, v4-mapped for IPv4 */
	__be16 sport;
	__be16 dport;
};

/*
 * Rewrite addresses and ports to *x and fix the IPv4 header checksum and the
 * TCP/UDP checksum (its pseudo-header covers the addresses). A UDP/IPv4
 * checksum of 0 means "none" and stays 0; a computed 0 is sent as 0xffff.
 * With dec_ttl (a packet XDP forwards itself: one router hop) the TTL or hop
 * limit is decremented too (the caller checked it is > 1), its change folded
 * into the same IPv4 header checksum update. A constant at every call site.
 *
 * The headers were bounds checked by the parser, but the verifier does not
 * tie p->family and p->t.proto (read back from the stack) to the checks made
 * on that path, so each header is checked again against data_end here.
 * Returns 0, or -1 if a check fails (it cannot for a parsed packet).
 */
static __always_inline int xlb_rewrite(struct xdp_md *ctx, struct xlb_pkt *p,
				       const struct xlb_xlate *x, bool dec_ttl)
{
	void *data_end = (void *)(long)ctx->data_end;
	__u64 diff = 0;
	__u16 *check;
	bool udp = p->t.proto == IPPROTO_UDP;

	if (p->family == 4) {
		struct iphdr *ip = p->l3;
		__u64 ipdiff;

		if ((void *)(ip + 1) > data_end)
			return -1;
		diff = csum_diff32(diff, ip->saddr, x->saddr[3]);
		diff = csum_diff32(diff, ip->daddr, x->daddr[3]);
		ip->saddr = x->saddr[3];
		ip->daddr = x->daddr[3];
		ipdiff = diff;
		if (dec_ttl) {
			/* The 16-bit word holding TTL and protocol; only the TTL byte changes. */
			__u16 old = *(__u16 *)&ip->ttl;

			ip->ttl--;
			ipdiff = csum_diff16(ipdiff, old, *(__u16 *)&ip->ttl);
		}
		ip->check = csum_apply(ip->check, ipdiff);
	} else {
		struct ipv6hdr *ip6 = p->l3;

		if ((void *)(ip6 + 1) > data_end)
			return -1;
		diff = csum_diff128(diff, p->t.src, x->saddr);
		diff = csum_diff128(diff, p->t.dst, x->daddr);
		__builtin_memcpy(&ip6->saddr, x->saddr, 16);
		__builtin_memcpy(&ip6->daddr, x->daddr, 16);
		if (dec_ttl)
			ip6->hop_limit--;
	}

	/* Both L4 headers start with source port, destination port. */
	diff = csum_diff16(diff, p->t.sport, x->sport);
	diff = csum_diff16(diff, p->t.dport, x->dport);
	if (udp) {
		struct udphdr *uh = p->l4;

		if ((void *)(uh + 1) > data_end)
			return -1;
		uh->source = x->sport;
		uh->dest = x->dport;
		check = &uh->check;
		if (*check == 0)
			return 0; /* IPv4 only: the parser refused it for IPv6 */
		*check = csum_apply(*check, diff);
		if (*check == 0)
			*check = 0xffff;
	} else {
		struct tcphdr *th = p->l4;

		if ((void *)(th + 1) > data_end)
			return -1;
		th->source = x->sport;
		th->dest = x->dport;
		th->check = csum_apply(th->check, diff);
	}
	return 0;
}

/*
 * Route the translated packet as if it were forwarded from the ingress
 * interface, checking the egress MTU for an IP length of tot_len (at least
 * the packet's). With BPF_FIB_LOOKUP_SRC in flags, x->saddr is ignored and
 * the route's preferred source is returned in fib->ipv4_src/ipv6_src.
 */
static __always_inline int xlb_fib(struct xdp_md *ctx, const struct xlb_pkt *p,
				   const struct xlb_xlate *x, struct bpf_fib_lookup *fib,
				   __u32 flags, __u16 tot_len)
{
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->ifindex = p->iif;
	fib->l4_protocol = p->t.proto;
	fib->sport = x->sport;
	fib->dport = x->dport;
	fib->tot_len = tot_len;
	if (p->family == 4) {
		fib->family = AF_INET;
		fib->tos = p->tos;
		if (!(flags & BPF_FIB_LOOKUP_SRC))
			fib->ipv4_src = x->saddr[3];
		fib->ipv4_dst = x->daddr[3];
	} else {
		fib->family = AF_INET6;
		if (!(flags & BPF_FIB_LOOKUP_SRC))
			__builtin_memcpy(fib->ipv6_src, x->saddr, 16);
		__builtin_memcpy(fib->ipv6_dst, x->daddr, 16);
	}
	return bpf_fib_lookup(ctx, fib, sizeof(*fib), flags);
}

#endif
