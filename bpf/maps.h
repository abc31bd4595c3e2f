/* SPDX-License-Identifier: MIT */
/*
 * The XDP program's maps. Every map is pinned by name under the pin root lbd
 * chooses (libbpf `pin_root_path`), so lbd can restart and find its state,
 * and `bpftool map dump pinned <root>/<name>` prints typed values (BTF).
 * Layouts and names live in lb_kern_user.h; the map names below must equal
 * the XLB_MAP_* strings there.
 */
#ifndef XLB_BPF_MAPS_H
#define XLB_BPF_MAPS_H

#include "lb_kern_user.h"

/* VIP (addr, port, proto) -> vip id, backend row, flags. Written by lbd on config changes. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XLB_MAX_VIPS);
	__type(key, struct xlb_vip_key);
	__type(value, struct xlb_vip);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} vips SEC(".maps");

/* Backend rows: algorithm, round-robin cursor, forwarding mode, SNAT source. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XLB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct xlb_backend);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} backends SEC(".maps");

/* Server id -> address, port and validity: flows check it on every packet. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XLB_MAX_SERVERS);
	__type(key, __u32);
	__type(value, struct xlb_server);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} servers SEC(".maps");

/* Round-robin rows: be_idx * XLB_RR_SLOTS + slot -> server id, weighted and interleaved. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XLB_MAX_BACKENDS *XLB_RR_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rr_slots SEC(".maps");

/* Maglev rows: ring * XLB_MAGLEV_SIZE + hash % XLB_MAGLEV_SIZE -> server id. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XLB_MAX_RINGS *XLB_MAGLEV_SIZE);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} maglev SEC(".maps");

/*
 * Client tuple -> chosen server: a flow never moves while its server is
 * valid. One table for all CPUs (any CPU finds any flow); the LRU lists are
 * per CPU (BPF_F_NO_COMMON_LRU), which keeps inserts off a global lock: a
 * CPU that needs room evicts the least recently used of the flows it
 * created.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__uint(max_entries, XLB_FLOWS_DEFAULT);
	__type(key, struct xlb_tuple);
	__type(value, struct xlb_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flows SEC(".maps");

/*
 * Reply tuple -> client and VIP: how to translate a server's packets back.
 * Also the fullnat source-port allocator: a port is taken when its entry is
 * inserted (BPF_NOEXIST). Same LRU policy as flows.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__uint(max_entries, XLB_FLOWS_DEFAULT);
	__type(key, struct xlb_tuple);
	__type(value, struct xlb_rev_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rev_flows SEC(".maps");

/* Per-VIP counters, per CPU so that no packet writes a shared line. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XLB_MAX_VIPS);
	__type(key, __u32);
	__type(value, struct xlb_vip_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} vip_stats SEC(".maps");

/* Per-server counters, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XLB_MAX_SERVERS);
	__type(key, __u32);
	__type(value, struct xlb_srv_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} srv_stats SEC(".maps");

/* Global counters: one struct xlb_stats per CPU, a field per enum xlb_stat. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xlb_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} stats SEC(".maps");

/* Egress interfaces (ifindex -> ifindex) that bpf_redirect_map may send to. */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, XLB_MAX_TX_PORTS);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tx_ports SEC(".maps");

/* Run-time settings (SNAT sources, port range, UDP timeout, next-hop generation): one entry. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xlb_cfg);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cfg SEC(".maps");

/*
 * Count a packet in `stats`, whose per-CPU value the program looks up once
 * per packet (xlb_stats_get()) and hands down. stat is a constant.
 */
static __always_inline void xlb_count(struct xlb_stats *st, enum xlb_stat stat)
{
	_Static_assert(sizeof(struct xlb_stats) == XLB_STAT_MAX * sizeof(__u64),
		       "struct xlb_stats is an array of counters");
	((__u64 *)st)[stat] += 1;
}

/* This CPU's `stats` (the lookup of key 0 cannot fail: NULL only for the verifier). */
static __always_inline struct xlb_stats *xlb_stats_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&stats, &zero);
}

/*
 * The same for a counter chosen at run time (a reason in a variable). A
 * global function: the verifier checks its bounds check once, instead of
 * along every path of every caller. 64-bit argument: clang 14 would check
 * a zero-extended copy of a 32-bit one and index with the original.
 */
__noinline int xlb_count_var(__u64 stat)
{
	__u32 zero = 0;
	__u64 *c;

	if (stat >= XLB_STAT_MAX)
		return 0;
	c = bpf_map_lookup_elem(&stats, &zero);
	if (c)
		c[stat] += 1;
	return 0;
}

#endif
