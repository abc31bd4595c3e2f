/* SPDX-License-Identifier: MIT */
/*
 * The XDP tier's owner: loads bpf/lb.bpf.c (embedded skeleton), creates or
 * reuses its pinned maps, attaches it to interfaces through pinned bpf_links
 * (traffic keeps flowing while lbd restarts), and keeps the maps equal to the
 * model: VIPs from frontends' binds, backend rows, servers, round-robin slots
 * and Maglev rows (only changed entries are written: a shadow copy is kept).
 * Every BPF fd of lbd lives here.
 *
 * One instance per process. Functions return 0 or -errno; after a failure
 * xlb_maps_error() gives a human-readable message. Safe to call from several
 * threads (one internal lock; the model change hook runs under be->lock, so
 * the lock order is be->lock, then the maps lock).
 */
#ifndef XLB_LBD_MAPS_H
#define XLB_LBD_MAPS_H

#include <stdbool.h>
#include <stdint.h>

#include "lb_kern_user.h"
#include "model.h"

/* Same values as global.xdp_mode. */
enum xlb_xdp_mode {
	XLB_XDP_NATIVE = 0, /* driver mode only */
	XLB_XDP_GENERIC = 1, /* skb mode only (slow; for interfaces without native XDP) */
	XLB_XDP_AUTO = 2, /* native, else generic */
};

struct xlb_maps_opts {
	const char *pin_root; /* NULL: XLB_PIN_ROOT_DEFAULT; created if missing */
	uint32_t flow_entries; /* size of flows and rev_flows when created; 0: XLB_FLOWS_DEFAULT */
	/* fullnat range ports probed per new flow (after the previous and the client's port); 0: 16, at most 32 */
	uint32_t snat_probes;
	bool fresh; /* remove the pinned maps first: start from empty tables */
	bool no_mount; /* do not mount bpffs on /sys/fs/bpf when it is missing */
};

/*
 * Load the program; reuse the maps pinned under the pin root (VIP ids,
 * backend rows, flows and counters survive a restart) or create and pin
 * them. Nothing is attached yet.
 */
int xlb_maps_open(const struct xlb_maps_opts *opts);
bool xlb_maps_is_open(void);
/* Close every fd. Pins and pinned links stay: the program keeps serving flows. */
void xlb_maps_close(void);
/*
 * `lbctl down`: detach every link pinned under pin_root (NULL: default),
 * unpin every map, remove the directory. Works whether or not the module is
 * open (it is closed first when open on that root).
 */
int xlb_maps_down(const char *pin_root);
/* The message of the last failure ("" if none). */
const char *xlb_maps_error(void);
const char *xlb_maps_pin_root(void);

/*
 * Attach to an interface as <root>/link_<ifname>. An existing pinned link
 * gets the newly loaded program (atomic replace, flows kept). The interface
 * is added to tx_ports. -EOPNOTSUPP when the mode is not available.
 */
int xlb_maps_attach(const char *ifname, enum xlb_xdp_mode mode);
/* Detach and unpin the link of an interface, remove it from tx_ports. */
int xlb_maps_detach(const char *ifname);
/* How the program runs on an attached interface: XLB_XDP_NATIVE or XLB_XDP_GENERIC; -ENOENT. */
int xlb_maps_link_mode(const char *ifname);
const char *xlb_maps_mode_name(int mode); /* "native", "generic", "auto" */
/*
 * A start that failed half-way: detach the links this process created and
 * close. When the pin root held no maps before xlb_maps_open(), everything
 * is removed (as xlb_maps_down()); otherwise the state a previous lbd left
 * keeps serving.
 */
int xlb_maps_abort(void);
/* Add or remove an egress interface the program may redirect to. */
int xlb_maps_set_tx_port(int ifindex, bool on);

/* Run-time settings (SNAT sources, port range, UDP timeout); set_cfg bumps cfg.fib_gen. */
int xlb_maps_get_cfg(struct xlb_cfg *cfg);
int xlb_maps_set_cfg(const struct xlb_cfg *cfg);
/*
 * Routes, neighbours, addresses or links changed: next hops cached in flow
 * entries are looked up again on their next packet (cfg.fib_gen + 1).
 */
int xlb_maps_bump_fib_gen(void);

/*
 * Make the maps describe the model: a VIP per specific bind address of each
 * frontend (L7-flagged when the XDP tier cannot serve it), a backend row
 * with its servers and slot tables per backend an XDP frontend uses. Sets
 * px->xdp (non-NULL: served by XDP) and px->xdp_reason (why not) on
 * frontends. VIPs and backends that left the model are removed; servers
 * that left are set draining (their flows finish). Takes each be->lock.
 */
int xlb_maps_sync_model(struct model *m);

/*
 * Consulted for every bind of a frontend XDP could serve: NULL keeps it,
 * a reason ("bind address not on an attached interface") leaves the
 * frontend to userspace. lbd uses it to serve only VIPs whose address is on
 * an attached interface.
 */
typedef const char *(*xlb_vip_filter_fn)(const struct proxy *fe, const struct bind *b);
void xlb_maps_set_vip_filter(xlb_vip_filter_fn fn);
/*
 * Rewrite one backend's servers and slot tables from be->servers and
 * be->pool. Caller holds be->lock. A no-op (0) for a backend the XDP tier
 * does not use.
 */
int xlb_maps_sync_backend(struct proxy *be);
/* model_set_change_hook(xlb_maps_change_hook, NULL): runs after every backend_recalc(). */
void xlb_maps_change_hook(struct proxy *be, void *arg);

/*
 * Send every valid server an empty UDP datagram (port 9) so that the kernel
 * resolves the neighbour the program needs to forward to it. Done by the
 * sync for each new server address; call it periodically when servers have
 * no health checks (neighbour entries of idle next hops expire). Returns the
 * number of servers kicked.
 */
int xlb_maps_kick_neighbours(void);

/* Per-server override for operators and tests; the next sync recomputes it. */
enum xlb_srv_state {
	XLB_SRV_ACTIVE = 0, /* new and existing flows */
	XLB_SRV_DRAINING, /* existing flows only */
	XLB_SRV_INVALID, /* none: its flows re-pick */
};
int xlb_maps_set_server_state(uint32_t srv_id, enum xlb_srv_state st);

/* Counters, summed over CPUs. */
int xlb_maps_read_global(uint64_t out[XLB_STAT_MAX]);
const char *xlb_stat_name(unsigned stat); /* "non_vip", ...; NULL when out of range */
const char *xlb_stat_verdict(unsigned stat); /* "drop", "pass", "tx" or "" */
int xlb_maps_read_vip(uint32_t vip_id, struct xlb_vip_stats *out);
int xlb_maps_read_server(uint32_t srv_id, struct xlb_srv_stats *out);
/* Sum over a frontend's VIPs; -ENOENT when it has none. */
int xlb_maps_read_frontend(const struct proxy *fe, struct xlb_vip_stats *out);
/* The vip id of a bind (-ENOENT when it has no VIP). */
int xlb_maps_vip_id(const struct bind *b, uint32_t *id);

/* One flow entry, for `lbctl` and tests; -ENOENT when absent. */
int xlb_maps_lookup_flow(const struct xlb_tuple *t, struct xlb_flow *out);
int xlb_maps_lookup_rev_flow(const struct xlb_tuple *t, struct xlb_rev_flow *out);

/* For tests and benchmarks (bpf_prog_test_run_opts): the program's fd, -1 when closed. */
int xlb_maps_prog_fd(void);

#endif
