/* SPDX-License-Identifier: MIT */
/*
 * The one header shared by the XDP program (bpf/lb.bpf.c) and userspace
 * (userspace/lbd/maps.c, tests, and the algorithms for the address hash):
 * map names, map key/value layouts, sizes, flags and the counters enum.
 *
 * Conventions: addresses are 16 bytes in network order, IPv4 as IPv4-mapped
 * IPv6 (::ffff:a.b.c.d), so one key type covers both families and a v4 key
 * never equals a v6 one. Ports are in network order unless a field says
 * otherwise. Every padding byte is explicit and must be zero (hash keys are
 * compared bytewise).
 *
 * Changing a layout here changes the pinned maps' sizes: lbd then refuses to
 * reuse the old pins (`lbctl down` removes them).
 */
#ifndef XLB_LB_KERN_USER_H
#define XLB_LB_KERN_USER_H

#ifndef __bpf__
#include <linux/types.h>
#endif

/* ---- Map names: the pin file names under the pin root ---- */

#define XLB_PIN_ROOT_DEFAULT "/sys/fs/bpf/xlb" /* where lbd pins maps and links */
#define XLB_MAP_VIPS "vips" /* VIP (addr, port, proto) -> vip id, backend */
#define XLB_MAP_BACKENDS "backends" /* backend row: algorithm, rr cursor, fwd mode */
#define XLB_MAP_SERVERS "servers" /* server id -> address, port, validity */
#define XLB_MAP_RR_SLOTS "rr_slots" /* per-backend weighted round-robin slot rows */
#define XLB_MAP_MAGLEV "maglev" /* Maglev rows of the hashing backends */
#define XLB_MAP_FLOWS "flows" /* client 5-tuple -> chosen server (LRU) */
#define XLB_MAP_REV_FLOWS "rev_flows" /* server reply 5-tuple -> client + VIP (LRU) */
#define XLB_MAP_VIP_STATS "vip_stats" /* per-CPU counters per vip id */
#define XLB_MAP_SRV_STATS "srv_stats" /* per-CPU counters per server id */
#define XLB_MAP_STATS "stats" /* per-CPU global counters (enum xlb_stat) */
#define XLB_MAP_TX_PORTS "tx_ports" /* devmap of egress interfaces for redirect */
#define XLB_MAP_CFG "cfg" /* one struct xlb_cfg: run-time settings */
#define XLB_LINK_PREFIX "link_" /* <root>/link_<ifname>: pinned XDP link */

/* ---- Sizes ---- */

#define XLB_MAX_VIPS 1024 /* vips entries and vip_stats rows: vip ids are 0..1023 */
#define XLB_MAX_BACKENDS 256 /* backends rows, each with one rr_slots row */
#define XLB_MAX_SERVERS 16384 /* servers and srv_stats rows: the model's server ids */
#define XLB_RR_SLOTS 4096 /* slots per rr row: sum(weight)/gcd is capped to this */
#define XLB_MAGLEV_SIZE 65537 /* entries per Maglev row; prime, == LB_MAGLEV_SIZE */
#define XLB_MAX_RINGS 16 /* Maglev rows (backends with `balance source`) */
#define XLB_MAX_TX_PORTS 64 /* interfaces a frame may be redirected to */
#define XLB_FLOWS_DEFAULT 262144 /* flows and rev_flows entries unless lbd sets another size */
#define XLB_SNAT_PROBES_MAX 32 /* upper bound of the fullnat source-port probe loop */
/*
 * A fullnat reverse entry last used this recently is not given to another
 * client tuple: the server may still hold (server, snat addr:port) in
 * TIME_WAIT (Linux: 60 s) and would refuse a new client's SYN (PAWS). The
 * stamp has 1 s steps and is refreshed at most once a second: 2 s of margin.
 */
#define XLB_SNAT_HOLD_S 62

#define XLB_NO_SERVER 0xffffffffu /* an empty slot: no server */
#define XLB_NO_RING 0xffffffffu /* backends.ring of a backend without a Maglev row */

/* ---- Keys and values ---- */

/*
 * A packet's 5-tuple as it appears on the wire: key of `flows` (client ->
 * VIP packets) and of `rev_flows` (server -> balancer packets).
 */
struct xlb_tuple {
	__be32 src[4]; /* source address, v4-mapped for IPv4 */
	__be32 dst[4]; /* destination address */
	__be16 sport; /* source port */
	__be16 dport; /* destination port */
	__u8 proto; /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 pad[3]; /* zero: part of the hashed key */
};

/* Key of `vips`: what a frontend's bind listens on. */
struct xlb_vip_key {
	__be32 addr[4]; /* VIP address, v4-mapped for IPv4; never a wildcard */
	__be16 port; /* VIP port */
	__u8 proto; /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 pad; /* zero: part of the hashed key */
};

#define XLB_VIP_L7 0x1 /* served by the userspace L7 tier: XDP passes its packets */

/* Value of `vips`. */
struct xlb_vip {
	__u32 id; /* row in vip_stats; allocated by lbd, stable while the VIP exists */
	__u32 be_idx; /* row in backends and rr_slots */
	__u32 flags; /* XLB_VIP_* */
};

enum xlb_algo {
	XLB_ALGO_NONE = 0, /* unused row: new flows find no server */
	XLB_ALGO_RR, /* roundrobin, static-rr: rr_slots walked by rr_cursor */
	XLB_ALGO_MAGLEV, /* source: maglev row indexed by the client address hash */
};

enum xlb_fwd {
	XLB_FWD_FULLNAT = 0, /* DNAT + SNAT to the balancer's address; servers need nothing */
	XLB_FWD_NAT, /* DNAT only; servers route replies through the balancer */
};

#define XLB_NAME_LEN 32 /* backend names in dumps and for lbd to find its rows again */

/* Value of `backends` (array indexed by be_idx). */
struct xlb_backend {
	__u64 rr_cursor; /* next round-robin position; every new flow adds 1 atomically */
	__u32 nslots; /* used slots of this row in rr_slots (0 = no server) */
	__u32 ring; /* Maglev row, XLB_NO_RING unless algo is MAGLEV */
	__u8 algo; /* enum xlb_algo */
	__u8 fwd; /* enum xlb_fwd */
	__u8 pad[2]; /* zero */
	__be32 snat4; /* fullnat source for IPv4 servers (`source`); 0 = cfg.snat4 */
	__be32 snat6[4]; /* fullnat source for IPv6 servers; :: = cfg.snat6 */
	char name[XLB_NAME_LEN]; /* backend name, NUL-terminated, truncated */
};

#define XLB_SRV_VALID 0x1 /* existing flows may use it; clear = flows re-pick (down, maint) */
#define XLB_SRV_DRAIN 0x2 /* not in the pool: keeps its flows, gets no new ones */

/* Value of `servers` (array indexed by the model's server id). */
struct xlb_server {
	__be32 addr[4]; /* server address, v4-mapped for IPv4 */
	__be16 port; /* server port; 0 = the VIP's port (HAProxy's server without port) */
	__u8 family; /* 4 or 6; 0 = unused row */
	__u8 flags; /* XLB_SRV_* */
	__u32 cookie; /* hash of (addr, port): a flow whose cookie differs re-picks */
	__u32 be_idx; /* owning backend, for dumps */
	__u32 weight; /* current weight, for dumps */
};

/*
 * A next hop cached in a flow entry: the result of a successful
 * bpf_fib_lookup, so that the packets of an established flow skip the route
 * and neighbour lookups. It is used only while all of these hold: `gen`
 * equals cfg.fib_gen (lbd bumps it on every route, neighbour, address and
 * link change it hears of, and when tx_ports changes), the lookup is younger
 * than the program's nh_cache_ns (1 s: the bound when lbd is not running),
 * the packet came in on `iif`, and it is no longer than `max_len` (the
 * lookup checked the egress MTU for that length). Anything else looks the
 * route up again. Only successful lookups are cached: a flow whose next hop
 * is missing keeps being handed to the kernel packet by packet.
 */
struct xlb_nh {
	__u64 at; /* bpf_ktime_get_coarse_ns() of the lookup; 0 = empty */
	__u32 gen; /* cfg.fib_gen at the lookup */
	__u32 iif; /* ingress interface the lookup was made from */
	__u32 oif; /* egress interface: XDP_TX when equal to the ingress, else redirect */
	__u16 max_len; /* IP length the lookup passed the MTU check with */
	__u8 dmac[6]; /* next hop's MAC */
	__u8 smac[6]; /* egress interface's MAC */
	__u8 pad[6]; /* zero */
};

/* Value of `flows`: where a client flow goes. Keyed by the client -> VIP tuple. */
struct xlb_flow {
	__be32 srv_addr[4]; /* DNAT destination, copied at pick time */
	__be32 snat_addr[4]; /* fullnat: our source toward the server; nat: 0 */
	__u64 last_seen; /* coarse ns of the last packet, refreshed in steps of up to 1 s */
	__u32 srv_id; /* row in servers and srv_stats */
	__u32 srv_cookie; /* servers[srv_id].cookie at pick time */
	__be16 srv_port; /* DNAT destination port */
	__be16 snat_port; /* fullnat: our source port toward the server; nat: 0 */
	__u8 fwd; /* enum xlb_fwd at pick time: how to find the reverse entry */
	__u8 pad[3]; /* zero */
	struct xlb_nh nh; /* next hop toward the server */
};

/*
 * Value of `rev_flows`: how to rewrite a server's reply. Keyed by the reply
 * tuple (server -> snat addr:port for fullnat, server -> client for nat).
 * The reply leaves as VIP -> client. (client, VIP) is the entry's owner: a
 * fullnat entry outlives its flow's re-pick, and only its owner may take it
 * again before it is XLB_SNAT_HOLD_S old (or while the owner's flow still
 * uses it).
 */
struct xlb_rev_flow {
	__be32 vip_addr[4]; /* new source address */
	__be32 client_addr[4]; /* new destination address */
	__be16 vip_port; /* new source port */
	__be16 client_port; /* new destination port */
	__u32 vip_id; /* row in vip_stats */
	__u32 srv_id; /* row in srv_stats */
	__u32 last_used; /* coarse seconds (ns / 1e9) of creation or the last reply, 1 s steps */
	struct xlb_nh nh; /* next hop toward the client */
};

/*
 * Per-CPU value of `vip_stats` (64 bytes: one cache line). Bytes are frame
 * lengths as received. The drops are those that can be blamed on the VIP;
 * the others (malformed frames, ...) are only in `stats`.
 */
struct xlb_vip_stats {
	__u64 packets; /* client -> VIP packets forwarded */
	__u64 bytes; /* their bytes */
	__u64 new_flows; /* flows created or re-picked */
	__u64 reply_packets; /* server -> client packets reverse-NATed */
	__u64 reply_bytes; /* their bytes */
	__u64 no_server; /* dropped: no usable server (of the client's family) for a new flow */
	__u64 snat_fail; /* dropped: fullnat found no source address or no free source port */
	__u64 rst_no_flow; /* dropped: TCP RST without a flow */
};

/* Per-CPU value of `srv_stats`. */
struct xlb_srv_stats {
	__u64 packets; /* packets forwarded to the server */
	__u64 bytes; /* their bytes */
	__u64 new_flows; /* flows that picked it */
	__u64 reply_packets; /* packets from it reverse-NATed */
	__u64 reply_bytes; /* their bytes */
};

/* Value of `cfg` (one entry): settings lbd may change at run time. */
struct xlb_cfg {
	__be32 snat4; /* fullnat IPv4 source; 0 = the route's preferred source */
	__be32 snat6[4]; /* fullnat IPv6 source; :: = the route's preferred source */
	__u16 port_min; /* host order: first fullnat source port */
	__u16 port_max; /* host order: last fullnat source port (inclusive) */
	__u32 fib_gen; /* next-hop generation: a cached next hop of another one is looked up again */
	__u64 udp_timeout_ns; /* a UDP flow idle this long re-picks; 0 = XLB_UDP_TIMEOUT_NS */
};

/*
 * Default fullnat source ports: below the kernel's ephemeral range
 * (32768-60999), so SNATed flows do not collide with the host's own
 * connections from the same address.
 */
#define XLB_PORT_MIN_DEFAULT 10000
#define XLB_PORT_MAX_DEFAULT 32767
/*
 * lbd's own ephemeral ports (userspace/lib/srcport.c), the top of Linux's
 * default ip_local_port_range (a per-socket range must lie inside it):
 * fullnat never keeps a client's own port in this band.
 */
#define XLB_HOST_PORT_MIN 56000
#define XLB_HOST_PORT_MAX 60999
#define XLB_UDP_TIMEOUT_NS (30ULL * 1000000000ULL) /* HAProxy-like idle default for UDP */
#define XLB_NH_CACHE_NS 1000000000ULL /* default lifetime of a cached next hop */

/*
 * Global counters: one table, X(ENUM, name, verdict, why), that makes
 * enum xlb_stat (XLB_STAT_<ENUM>, an index), struct xlb_stats (the value of
 * `stats`, one u64 field per counter, so that `bpftool map dump` names
 * them) and lbd's names and verdicts. The verdict is what the program does
 * with such a packet: "drop", "pass", "tx", or "" when it goes on.
 */
#define XLB_STATS(X)                                                                             \
	X(RX, rx, "", "every frame seen")                                                        \
	X(NON_IP, non_ip, "pass", "neither IPv4 nor IPv6 (ARP, LLDP, QinQ)")                     \
	X(TRUNCATED, truncated, "drop", "a header or the IP length runs past the frame")         \
	X(BAD_IHL, bad_ihl, "drop", "IPv4 ihl < 5 or tot_len < ihl*4")                           \
	X(IP_OPTIONS, ip_options, "pass", "IPv4 with options (ihl > 5)")                         \
	X(FRAGMENT, fragment, "pass", "IPv4 fragment (MF or offset)")                            \
	X(V6_EXT, v6_ext, "pass", "IPv6 extension header before L4")                             \
	X(V6_FRAG, v6_frag, "pass", "IPv6 fragment header")                                      \
	X(NON_L4, non_l4, "pass", "neither TCP nor UDP (ICMP, ND, ...)")                         \
	X(BAD_L4, bad_l4, "drop", "TCP doff < 5, UDP length < 8, IPv6 UDP checksum 0")           \
	X(NON_VIP, non_vip, "pass", "no VIP and no reverse flow")                                \
	X(L7_VIP, l7_vip, "pass", "VIP of the L7 tier")                                          \
	X(TTL, ttl, "pass", "TTL or hop limit <= 1 (the kernel answers ICMP)")                   \
	X(NEW_FLOW, new_flow, "", "a flow picked a server (first packet)")                       \
	X(REPICK_SYN, repick_syn, "", "a SYN for a known tuple re-picked")                       \
	X(REPICK_INVALID, repick_invalid, "", "the flow's server became invalid: re-picked")     \
	X(REPICK_EXPIRED, repick_expired, "", "a UDP flow idle past the timeout: re-picked")     \
	X(MIDSTREAM, midstream, "", "TCP non-SYN without a flow: picked anyway")                 \
	X(RST_NO_FLOW, rst_no_flow, "drop", "TCP RST without a flow: no flow created")           \
	X(NO_SERVER, no_server, "drop", "no usable server for a new flow")                       \
	X(FAMILY, family_mismatch, "drop", "server family differs from the client's")            \
	X(NO_SNAT_ADDR, no_snat_addr, "drop", "fullnat with no source address for the server")   \
	X(SNAT_PORTS, snat_ports_exhausted, "drop", "no free fullnat source port after probing") \
	X(FWD, fwd, "", "client -> server packets translated")                                   \
	X(REPLY, reply, "", "server -> client packets translated")                               \
	X(XDP_TX, xdp_tx, "tx", "sent back out of the ingress interface")                        \
	X(REDIRECT, redirect, "tx", "redirected to another interface of tx_ports")               \
	X(FIB_NO_NEIGH, fib_no_neigh, "pass", "next hop has no neighbour entry: translated")     \
	X(FIB_FWD_OFF, fib_fwd_disabled, "pass", "forwarding off on the ingress: translated")    \
	X(FIB_MTU, fib_mtu, "pass", "larger than the egress MTU: translated")                    \
	X(FIB_FAIL, fib_fail, "pass", "no route (unreachable, blackhole, ...): translated")      \
	X(NO_TX_PORT, no_tx_port, "pass", "egress interface not in tx_ports: translated")

#define XLB_STAT_ENUM_(E, n, v, why) XLB_STAT_##E,
enum xlb_stat {
	XLB_STATS(XLB_STAT_ENUM_) XLB_STAT_MAX, /* number of counters */
};

#define XLB_STAT_FIELD_(E, n, v, why) __u64 n;
/* Per-CPU value of `stats` (one entry): field i is counter i of enum xlb_stat. */
struct xlb_stats {
	XLB_STATS(XLB_STAT_FIELD_)
};

/* ---- The client-address hash both tiers use to index a Maglev row ---- */

/*
 * MurmurHash3-style, 32-bit, fixed seed, reading the address bytes as
 * little-endian words. An IPv4 (v4-mapped) address hashes its 4 bytes, an
 * IPv6 address its 16: the same value as lb_hash_bytes() over the raw
 * address, so lb_hash_addr() in userspace/lib/algo.c and the XDP program
 * agree. The Maglev slot of a client is xlb_hash_addr(addr) % XLB_MAGLEV_SIZE.
 */
#define XLB_HASH_SEED 0x3c6ef372u

static inline __u32 xlb_rotl32(__u32 x, int r)
{
	return (x << r) | (x >> (32 - r));
}

/* A 4-byte word of the address as a little-endian integer, whatever the host order. */
static inline __u32 xlb_le32(__be32 w)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return __builtin_bswap32((__u32)w);
#else
	return (__u32)w;
#endif
}

static inline __u32 xlb_hash_step(__u32 h, __u32 k)
{
	k *= 0xcc9e2d51u;
	k = xlb_rotl32(k, 15);
	k *= 0x1b873593u;
	h ^= k;
	h = xlb_rotl32(h, 13);
	return h * 5 + 0xe6546b64u;
}

static inline int xlb_addr_is_v4(const __be32 a[4])
{
	return a[0] == 0 && a[1] == 0 && xlb_le32(a[2]) == 0xffff0000u;
}

static inline __u32 xlb_hash_addr(const __be32 a[4])
{
	__u32 h = XLB_HASH_SEED;
	__u32 len;

	if (xlb_addr_is_v4(a)) {
		h = xlb_hash_step(h, xlb_le32(a[3]));
		len = 4;
	} else {
		h = xlb_hash_step(h, xlb_le32(a[0]));
		h = xlb_hash_step(h, xlb_le32(a[1]));
		h = xlb_hash_step(h, xlb_le32(a[2]));
		h = xlb_hash_step(h, xlb_le32(a[3]));
		len = 16;
	}
	h ^= len;
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

#ifndef __bpf__
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

/*
 * Userspace only: a sockaddr's address in the 16-byte form of the maps
 * (IPv4 as v4-mapped). Returns 0, or -1 for a family without an address.
 */
static inline int xlb_addr_from_sockaddr(const struct sockaddr *sa, __be32 out[4])
{
	if (sa && sa->sa_family == AF_INET) {
		out[0] = 0;
		out[1] = 0;
		out[2] = htonl(0xffff);
		out[3] = ((const struct sockaddr_in *)sa)->sin_addr.s_addr;
		return 0;
	}
	if (sa && sa->sa_family == AF_INET6) {
		memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		return 0;
	}
	return -1;
}
#endif

#endif
