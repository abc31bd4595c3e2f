/* SPDX-License-Identifier: MIT */
/*
 * Packet parsing: Ethernet, at most one VLAN tag, IPv4 without options or
 * IPv6 without extension headers, then TCP or UDP. Every read is bounds
 * checked against data_end; anything else is reported with the counter that
 * explains it, and the caller turns that into a verdict.
 */
#ifndef XLB_BPF_PARSE_H
#define XLB_BPF_PARSE_H

#include "lb_kern_user.h"

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8

#define IP_MF 0x2000 /* more fragments */
#define IP_OFFSET 0x1fff /* fragment offset mask */

/* IPv6 next-header values that are extension headers, not an upper layer. */
#define NEXTHDR_HOP 0
#define NEXTHDR_ROUTING 43
#define NEXTHDR_FRAGMENT 44
#define NEXTHDR_AUTH 51
#define NEXTHDR_DEST 60
#define NEXTHDR_MOBILITY 135
#define NEXTHDR_HIP 139
#define NEXTHDR_SHIM6 140

#define TCPF_FIN 0x01
#define TCPF_SYN 0x02
#define TCPF_RST 0x04
#define TCPF_ACK 0x10

struct xlb_vlan_hdr {
	__be16 tci; /* priority, DEI, VLAN id */
	__be16 proto; /* encapsulated ethertype */
};

/* What the program needs from a parsed packet. */
struct xlb_pkt {
	struct ethhdr *eth; /* MACs rewritten on the way out */
	void *l3; /* struct iphdr or struct ipv6hdr */
	void *l4; /* struct tcphdr or struct udphdr */
	struct xlb_tuple t; /* as on the wire; IPv4 v4-mapped */
	__u32 len; /* frame length, for byte counters */
	__u32 iif; /* ingress ifindex, read once (the verifier refuses ctx reads at an offset) */
	__u16 l3_len; /* IP datagram length, for the fib MTU check */
	__u8 family; /* 4 or 6 */
	__u8 tcp_flags; /* TCP flags byte; 0 for UDP */
	__u8 ttl; /* TTL or hop limit */
	__u8 tos; /* IPv4 TOS, for the fib lookup */
};

static __always_inline void xlb_v4_mapped(__be32 *a, __be32 v4)
{
	a[0] = 0;
	a[1] = 0;
	a[2] = bpf_htonl(0xffff);
	a[3] = v4;
}

/* TCP or UDP header at l4, with `room` bytes of IP payload. 0 or a counter. */
static __always_inline __u32 xlb_parse_l4(struct xlb_pkt *p, void *l4, void *data_end, __u32 room)
{
	if (p->t.proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;

		if ((void *)(th + 1) > data_end || room < sizeof(*th))
			return XLB_STAT_TRUNCATED;
		if (th->doff < 5 || th->doff * 4 > room)
			return XLB_STAT_BAD_L4;
		p->t.sport = th->source;
		p->t.dport = th->dest;
		p->tcp_flags = ((__u8 *)th)[13];
	} else {
		struct udphdr *uh = l4;

		if ((void *)(uh + 1) > data_end || room < sizeof(*uh))
			return XLB_STAT_TRUNCATED;
		if (bpf_ntohs(uh->len) < sizeof(*uh))
			return XLB_STAT_BAD_L4;
		/* IPv6 forbids a zero UDP checksum: nothing to update incrementally. */
		if (p->family == 6 && uh->check == 0)
			return XLB_STAT_BAD_L4;
		p->t.sport = uh->source;
		p->t.dport = uh->dest;
	}
	p->l4 = l4;
	return 0;
}

static __always_inline __u32 xlb_parse_v4(struct xlb_pkt *p, struct iphdr *ip, void *data_end)
{
	__u32 tot;

	if ((void *)(ip + 1) > data_end)
		return XLB_STAT_TRUNCATED;
	if (ip->ihl < 5)
		return XLB_STAT_BAD_IHL;
	tot = bpf_ntohs(ip->tot_len);
	if (tot < ip->ihl * 4)
		return XLB_STAT_BAD_IHL;
	if ((void *)ip + tot > data_end)
		return XLB_STAT_TRUNCATED;
	if (ip->ihl > 5)
		return XLB_STAT_IP_OPTIONS;
	if (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET))
		return XLB_STAT_FRAGMENT;
	if (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP)
		return XLB_STAT_NON_L4;

	p->family = 4;
	p->l3 = ip;
	p->l3_len = tot;
	p->ttl = ip->ttl;
	p->tos = ip->tos;
	p->t.proto = ip->protocol;
	xlb_v4_mapped(p->t.src, ip->saddr);
	xlb_v4_mapped(p->t.dst, ip->daddr);
	return xlb_parse_l4(p, ip + 1, data_end, tot - sizeof(*ip));
}

static __always_inline __u32 xlb_parse_v6(struct xlb_pkt *p, struct ipv6hdr *ip6, void *data_end)
{
	__u32 plen;

	if ((void *)(ip6 + 1) > data_end)
		return XLB_STAT_TRUNCATED;
	plen = bpf_ntohs(ip6->payload_len);
	if ((void *)(ip6 + 1) + plen > data_end)
		return XLB_STAT_TRUNCATED;
	switch (ip6->nexthdr) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		break;
	case NEXTHDR_FRAGMENT:
		return XLB_STAT_V6_FRAG;
	case NEXTHDR_HOP:
	case NEXTHDR_ROUTING:
	case NEXTHDR_AUTH:
	case NEXTHDR_DEST:
	case NEXTHDR_MOBILITY:
	case NEXTHDR_HIP:
	case NEXTHDR_SHIM6:
		return XLB_STAT_V6_EXT;
	default:
		return XLB_STAT_NON_L4;
	}

	p->family = 6;
	p->l3 = ip6;
	p->l3_len = plen + sizeof(*ip6);
	p->ttl = ip6->hop_limit;
	p->t.proto = ip6->nexthdr;
	__builtin_memcpy(p->t.src, &ip6->saddr, 16);
	__builtin_memcpy(p->t.dst, &ip6->daddr, 16);
	return xlb_parse_l4(p, ip6 + 1, data_end, plen);
}

/* Fill *p from the frame. Returns 0, or the enum xlb_stat that explains why not. */
static __always_inline __u32 xlb_parse(struct xdp_md *ctx, struct xlb_pkt *p)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	void *l3 = eth + 1;
	__be16 proto;

	p->len = data_end - data;
	p->iif = ctx->ingress_ifindex;
	if (l3 > data_end)
		return XLB_STAT_TRUNCATED;
	p->eth = eth;
	proto = eth->h_proto;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		struct xlb_vlan_hdr *vh = l3;

		if ((void *)(vh + 1) > data_end)
			return XLB_STAT_TRUNCATED;
		proto = vh->proto;
		l3 = vh + 1;
	}
	if (proto == bpf_htons(ETH_P_IP))
		return xlb_parse_v4(p, l3, data_end);
	if (proto == bpf_htons(ETH_P_IPV6))
		return xlb_parse_v6(p, l3, data_end);
	return XLB_STAT_NON_IP;
}

/* The verdict for a packet the parser turned down: drop what no stack would accept. */
static __always_inline int xlb_parse_verdict(__u32 reason)
{
	switch (reason) {
	case XLB_STAT_TRUNCATED:
	case XLB_STAT_BAD_IHL:
	case XLB_STAT_BAD_L4:
		return XDP_DROP;
	default:
		return XDP_PASS;
	}
}

#endif
