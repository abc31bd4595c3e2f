// SPDX-License-Identifier: MIT
/*
 * Glue between lbd's control plane and the XDP tier (maps.c): which
 * interfaces to attach (config `xlb-interface`, or XLB_IFACES from `lbctl
 * up`) and in which mode (`xlb-xdp-mode`, or XLB_XDP_MODE from `lbctl up
 * --xdp-mode`), which frontends XDP serves (mode tcp, bind address on an
 * attached interface, algorithm XDP can express), keeping the maps in step
 * with the model on every change and reload, telling the program when
 * routes or neighbours change (rtnetlink: its cached next hops are looked
 * up again), `show xdp`, `show xdp stat` (what `lbctl stats` prints) and
 * `xdp down`.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "api.h"
#include "cfg.h"
#include "control.h"
#include "log.h"
#include "maps.h"
#include "srcport.h"

#define XDP_MAX_IFACES 16

static char *ifaces[XDP_MAX_IFACES];
static int nifaces;
static enum xlb_xdp_mode xdp_mode;
static char *pin_root;
static ev_timer kick_timer;
static ev_io nl_io;
static int nl_fd = -1;

static const char *env_or(const char *env, const char *val)
{
	const char *e = getenv(env);

	return e && *e ? e : val;
}

static void ifaces_free(void)
{
	for (int i = 0; i < nifaces; i++)
		free(ifaces[i]);
	nifaces = 0;
}

static int ifaces_parse(const char *list, char **err)
{
	char *dup = strdup(list), *save = NULL, *tok;

	if (!dup)
		return cfg_err(err, "out of memory");
	ifaces_free();
	for (tok = strtok_r(dup, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		if (nifaces == XDP_MAX_IFACES) {
			free(dup);
			return cfg_err(err, "xlb-interface: more than %d interfaces",
				       XDP_MAX_IFACES);
		}
		if (!if_nametoindex(tok)) {
			cfg_err(err, "xlb-interface: no interface named '%s'", tok);
			free(dup);
			return -1;
		}
		ifaces[nifaces++] = strdup(tok);
	}
	free(dup);
	return 0;
}

/*
 * True when the bind's address is assigned to one of the attached
 * interfaces: only then do its packets arrive where the program runs.
 */
static bool bind_on_attached(const struct bind *b)
{
	struct ifaddrs *ifa, *it;
	bool found = false;

	if (getifaddrs(&ifa) < 0)
		return false;
	for (it = ifa; it && !found; it = it->ifa_next) {
		int i;

		if (!it->ifa_addr || it->ifa_addr->sa_family != b->addr.ss_family)
			continue;
		for (i = 0; i < nifaces; i++)
			if (!strcmp(it->ifa_name, ifaces[i]))
				break;
		if (i == nifaces)
			continue;
		if (b->addr.ss_family == AF_INET) {
			const struct sockaddr_in *x = (const void *)it->ifa_addr;
			const struct sockaddr_in *y = (const void *)&b->addr;

			found = x->sin_addr.s_addr == y->sin_addr.s_addr;
		} else if (b->addr.ss_family == AF_INET6) {
			const struct sockaddr_in6 *x = (const void *)it->ifa_addr;
			const struct sockaddr_in6 *y = (const void *)&b->addr;

			found = !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr));
		}
	}
	freeifaddrs(ifa);
	return found;
}

static const char *vip_filter(const struct proxy *fe, const struct bind *b)
{
	if (!bind_on_attached(b))
		return "bind address not on an attached interface";
	return NULL;
}

/* Frontends XDP does not serve but that have UDP binds cannot be served at all. */
static void warn_udp(struct model *m)
{
	struct proxy *px;
	struct bind *b;

	list_for_each(px, &m->proxies, list) {
		if (!(px->cap & PX_CAP_FE) || px->xdp || px->disabled)
			continue;
		list_for_each(b, &px->binds, list)
			if (b->proto == BIND_UDP)
				lb_warn("%s:%d: frontend '%s': UDP bind '%s' is served only by the XDP "
					"tier (%s)",
					b->loc.file, b->loc.line, px->name, b->name,
					px->xdp_reason ? px->xdp_reason : "not attached");
	}
}

static void kick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	/* Keep neighbour entries of servers fresh for bpf_fib_lookup. */
	xlb_maps_kick_neighbours();
}

/* ---- Route and neighbour changes: the program's next-hop cache ---- */

/*
 * Every route, address, link or rule change bumps the program's next-hop
 * generation. Neighbour entries change state all the time (reachable,
 * stale, probe) without changing the answer of a route lookup, so a
 * neighbour bumps it only when it appears, changes its MAC, becomes
 * unusable or is deleted: the last MAC of each is remembered here.
 */
#define NUD_USABLE                                                           \
	(NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_PROBE | NUD_STALE | \
	 NUD_DELAY) /* the kernel's NUD_VALID: what bpf_fib_lookup accepts */
#define NEIGH_SLOTS 4096 /* neighbours remembered; a busier host bumps more often */
#define NEIGH_PROBES 16

struct neigh_seen {
	uint32_t ifindex; /* 0: free slot */
	uint8_t family;
	uint8_t lllen;
	uint8_t addr[16];
	uint8_t lladdr[16];
};

static struct neigh_seen *neighs;

static struct neigh_seen *neigh_slot(uint32_t ifindex, uint8_t family, const uint8_t *addr,
				     bool *found)
{
	uint32_t h = ifindex * 0x9e3779b1u ^ family, i;
	struct neigh_seen *free_slot = NULL;

	for (i = 0; i < 16; i++)
		h = (h ^ addr[i]) * 0x01000193u;
	*found = false;
	for (i = 0; i < NEIGH_PROBES; i++) {
		struct neigh_seen *n = &neighs[(h + i) % NEIGH_SLOTS];

		if (n->ifindex == ifindex && n->family == family && !memcmp(n->addr, addr, 16)) {
			*found = true;
			return n;
		}
		if (!n->ifindex && !free_slot)
			free_slot = n;
	}
	return free_slot ? free_slot : &neighs[h % NEIGH_SLOTS]; /* full: evict */
}

/* Does this neighbour message change what a route lookup answers? */
static bool neigh_changes(const struct nlmsghdr *nh)
{
	const struct ndmsg *nd = NLMSG_DATA(nh);
	int len = nh->nlmsg_len - NLMSG_LENGTH(sizeof(*nd));
	const struct rtattr *a;
	const uint8_t *dst = NULL, *ll = NULL;
	uint8_t addr[16] = { 0 };
	int dlen = 0, lllen = 0;
	struct neigh_seen *n;
	bool found;

	if (len < 0 || !neighs)
		return true;
	if (nd->ndm_family != AF_INET && nd->ndm_family != AF_INET6)
		return false; /* bridge fdb entries: not what a route lookup sees */
	for (a = (const struct rtattr *)((const char *)nd + NLMSG_ALIGN(sizeof(*nd)));
	     RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == NDA_DST) {
			dst = RTA_DATA(a);
			dlen = RTA_PAYLOAD(a);
		} else if (a->rta_type == NDA_LLADDR) {
			ll = RTA_DATA(a);
			lllen = RTA_PAYLOAD(a);
		}
	}
	if (!dst || dlen > 16 || lllen > 16)
		return true;
	memcpy(addr, dst, dlen);
	n = neigh_slot(nd->ndm_ifindex, nd->ndm_family, addr, &found);
	if (nh->nlmsg_type == RTM_DELNEIGH || !(nd->ndm_state & NUD_USABLE) || !ll) {
		if (found)
			memset(n, 0, sizeof(*n));
		return true;
	}
	if (found && n->lllen == lllen && !memcmp(n->lladdr, ll, lllen))
		return false;
	n->ifindex = nd->ndm_ifindex;
	n->family = nd->ndm_family;
	memcpy(n->addr, addr, 16);
	n->lllen = lllen;
	memcpy(n->lladdr, ll, lllen);
	return true;
}

static void nl_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	char buf[16384] __attribute__((aligned(NLMSG_ALIGNTO)));
	bool bump = false;
	int i;

	/* Bounded: a storm of messages is handled over several loop iterations. */
	for (i = 0; i < 64; i++) {
		ssize_t n = recv(nl_fd, buf, sizeof(buf), MSG_DONTWAIT);
		struct nlmsghdr *nh;
		int len;

		if (n < 0) {
			if (errno == ENOBUFS)
				bump = true; /* messages were lost */
			if (errno == EINTR || errno == ENOBUFS)
				continue;
			break;
		}
		len = n;
		for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
			if (nh->nlmsg_type == RTM_NEWNEIGH || nh->nlmsg_type == RTM_DELNEIGH)
				bump |= neigh_changes(nh);
			else if (nh->nlmsg_type >= RTM_BASE)
				bump = true;
		}
	}
	if (bump && xlb_maps_bump_fib_gen() < 0)
		lb_warn("xdp: %s", xlb_maps_error());
}

static void nl_stop(struct lbd *d)
{
	if (nl_fd < 0)
		return;
	ev_ref(d->loop);
	ev_io_stop(d->loop, &nl_io);
	close(nl_fd);
	nl_fd = -1;
	free(neighs);
	neighs = NULL;
}

/*
 * Listen to rtnetlink. Without it the program still follows changes, one
 * second late at most (its cache lifetime); so a failure is only a warning.
 */
static void nl_start(struct lbd *d)
{
	struct sockaddr_nl sa = {
		.nl_family = AF_NETLINK,
		.nl_groups = RTMGRP_LINK | RTMGRP_NEIGH | RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE |
			     RTMGRP_IPV6_IFADDR | RTMGRP_IPV6_ROUTE |
			     (1u << (RTNLGRP_IPV4_RULE - 1)) | (1u << (RTNLGRP_IPV6_RULE - 1)),
	};
	int rcvbuf = 1 << 20, nexthops = RTNLGRP_NEXTHOP;

	neighs = calloc(NEIGH_SLOTS, sizeof(*neighs));
	nl_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (!neighs || nl_fd < 0 || bind(nl_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		lb_warn("xdp: cannot listen to route changes (%s): cached next hops follow them "
			"within 1 s",
			strerror(errno));
		if (nl_fd >= 0)
			close(nl_fd);
		nl_fd = -1;
		free(neighs);
		neighs = NULL;
		return;
	}
	setsockopt(nl_fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	/* Nexthop objects change without route messages; group 32 needs the option. */
	setsockopt(nl_fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &nexthops, sizeof(nexthops));
	ev_io_init(&nl_io, nl_cb, nl_fd, EV_READ);
	ev_io_start(d->loop, &nl_io);
	ev_unref(d->loop);
}

static int xdp_sync(struct lbd *d, struct model *m, char **err)
{
	if (xlb_maps_sync_model(m) < 0) {
		cfg_err(err, "XDP: %s", xlb_maps_error());
		return -1;
	}
	warn_udp(m);
	return 0;
}

static int xdp_reload(struct lbd *d, struct model *nm, char **err)
{
	if (!xlb_maps_is_open()) {
		warn_udp(nm);
		return 0;
	}
	return xdp_sync(d, nm, err);
}

static int xdp_down(struct lbd *d, char **err)
{
	int ret = xlb_maps_down(pin_root);

	if (ret < 0) {
		cfg_err(err, "%s", xlb_maps_error());
		return -1;
	}
	srcport_set_host_band(false);
	model_set_change_hook(NULL, NULL);
	lb_notice("XDP detached, pins removed under %s",
		  pin_root ? pin_root : XLB_PIN_ROOT_DEFAULT);
	if (d->xdp_enabled) {
		ev_ref(d->loop);
		ev_timer_stop(d->loop, &kick_timer);
	}
	nl_stop(d);
	return 0;
}

int xdp_ctl_pre_listen(struct lbd *d, char **err)
{
	struct global *g = &d->m->global;
	const char *list = env_or("XLB_IFACES", g->xdp_ifaces);
	const char *mode = env_or("XLB_XDP_MODE", NULL);
	struct xlb_maps_opts opts = { 0 };
	int i;

	control_xdp_reload = xdp_reload;
	if (!list || !*list) {
		warn_udp(d->m);
		return 0;
	}
	if (ifaces_parse(list, err) < 0)
		return -1;
	xdp_mode = (enum xlb_xdp_mode)g->xdp_mode;
	if (mode) {
		if (!strcmp(mode, "native"))
			xdp_mode = XLB_XDP_NATIVE;
		else if (!strcmp(mode, "generic"))
			xdp_mode = XLB_XDP_GENERIC;
		else if (!strcmp(mode, "auto"))
			xdp_mode = XLB_XDP_AUTO;
		else
			return cfg_err(err,
				       "XLB_XDP_MODE: expected native, generic or auto, got '%s'",
				       mode);
	}
	free(pin_root);
	pin_root = NULL;
	if (env_or("XLB_PIN_ROOT", g->bpf_pin_root))
		pin_root = strdup(env_or("XLB_PIN_ROOT", g->bpf_pin_root));
	opts.pin_root = pin_root;
	if (xlb_maps_open(&opts) < 0)
		return cfg_err(err, "XDP: %s", xlb_maps_error());
	for (i = 0; i < nifaces; i++) {
		if (xlb_maps_attach(ifaces[i], xdp_mode) < 0) {
			cfg_err(err, "XDP: %s", xlb_maps_error());
			xlb_maps_abort(); /* leave the interfaces as they were */
			return -1;
		}
		lb_notice("XDP attached to %s (%s mode)", ifaces[i],
			  xlb_maps_mode_name(xlb_maps_link_mode(ifaces[i])));
	}
	xlb_maps_set_vip_filter(vip_filter);
	model_set_change_hook(xlb_maps_change_hook, NULL);
	if (xdp_sync(d, d->m, err) < 0) {
		model_set_change_hook(NULL, NULL);
		xlb_maps_abort();
		return -1;
	}
	d->xdp_enabled = true;
	srcport_set_host_band(true);
	/*
	 * Only an lbd that attached answers `xdp down` (`lbctl down`) by
	 * removing pins: a userspace-only one must not touch the pin root of
	 * another instance.
	 */
	api_set_xdp_down(xdp_down);
	nl_start(d);
	ev_timer_init(&kick_timer, kick_cb, 1.0, 30.0);
	ev_timer_start(d->loop, &kick_timer);
	ev_unref(d->loop);
	return 0;
}

void xdp_ctl_exit(struct lbd *d)
{
	nl_stop(d);
	if (xlb_maps_is_open())
		xlb_maps_close(); /* pins and links stay: flows keep flowing */
	ifaces_free();
}

/* ---- Runtime API ---- */

/* A backend's servers as seen by the XDP tier, one CSV row each (caller checked be->xdp). */
static void srv_rows(struct sbuf *o, struct proxy *be)
{
	struct server *sv;

	pthread_mutex_lock(&be->lock);
	list_for_each(sv, &be->servers, list) {
		struct xlb_srv_stats ss;

		if (xlb_maps_read_server(sv->id, &ss) < 0)
			continue;
		sbuf_printf(o, "%s/%s,%llu,%llu,%llu,%llu,%llu\n", be->name, sv->name,
			    (unsigned long long)ss.packets, (unsigned long long)ss.bytes,
			    (unsigned long long)ss.new_flows, (unsigned long long)ss.reply_packets,
			    (unsigned long long)ss.reply_bytes);
	}
	pthread_mutex_unlock(&be->lock);
}

/* Each backend of an XDP frontend once, in config order. */
static void backend_rows(struct sbuf *o)
{
	struct proxy *px, *q;

	list_for_each(px, &lbd.m->proxies, list) {
		struct proxy *be = px->default_backend;
		bool dup = false;

		if (!(px->cap & PX_CAP_FE) || !px->xdp || !be)
			continue;
		list_for_each(q, &lbd.m->proxies, list) {
			if (q == px)
				break;
			dup |= (q->cap & PX_CAP_FE) && q->xdp && q->default_backend == be;
		}
		if (!dup)
			srv_rows(o, be);
	}
}

static void frontend_rows(struct sbuf *o)
{
	struct proxy *px;

	list_for_each(px, &lbd.m->proxies, list) {
		struct xlb_vip_stats vs;

		if (!(px->cap & PX_CAP_FE) || !px->xdp || xlb_maps_read_frontend(px, &vs) < 0)
			continue;
		sbuf_printf(o, "%s,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu\n", px->name,
			    (unsigned long long)vs.packets, (unsigned long long)vs.bytes,
			    (unsigned long long)vs.new_flows, (unsigned long long)vs.reply_packets,
			    (unsigned long long)vs.reply_bytes, (unsigned long long)vs.no_server,
			    (unsigned long long)vs.snat_fail, (unsigned long long)vs.rst_no_flow);
	}
}

static void iface_list(struct sbuf *o)
{
	for (int i = 0; i < nifaces; i++)
		sbuf_printf(o, "%s%s(%s)", i ? " " : "", ifaces[i],
			    xlb_maps_mode_name(xlb_maps_link_mode(ifaces[i])));
}

#define FE_HDR "packets,bytes,new_flows,reply_packets,reply_bytes,no_server,snat_fail,rst_no_flow"
#define SRV_HDR "packets,bytes,new_flows,reply_packets,reply_bytes"

/* `show xdp`: interfaces, mode, global counters, per-frontend and per-server counters. */
static void cmd_show_xdp(struct api_req *r, char **args, int nargs)
{
	uint64_t g[XLB_STAT_MAX];

	if (!xlb_maps_is_open()) {
		sbuf_puts(r->out, "XDP: not attached\n");
		return;
	}
	sbuf_printf(r->out, "pin_root: %s\n", xlb_maps_pin_root());
	sbuf_puts(r->out, "interfaces: ");
	iface_list(r->out);
	sbuf_printf(r->out, "\nmode: %s (asked)\n", xlb_maps_mode_name(xdp_mode));
	if (xlb_maps_read_global(g) == 0) {
		sbuf_puts(r->out, "# global counters\n");
		for (unsigned i = 0; i < XLB_STAT_MAX; i++)
			if (xlb_stat_name(i))
				sbuf_printf(r->out, "%s: %llu\n", xlb_stat_name(i),
					    (unsigned long long)g[i]);
	}
	sbuf_puts(r->out, "# frontend," FE_HDR "\n");
	frontend_rows(r->out);
	sbuf_puts(r->out, "# server," SRV_HDR "\n");
	backend_rows(r->out);
}

/*
 * `show xdp stat`: the same in CSV sections for `lbctl stats`; each section
 * starts with a "# " header whose first column names it. Counter rows say
 * what the program did with such packets (drop, pass, tx, or nothing).
 */
static void cmd_show_xdp_stat(struct api_req *r, char **args, int nargs)
{
	uint64_t g[XLB_STAT_MAX];

	if (!xlb_maps_is_open()) {
		sbuf_puts(r->out, "# xdp,interfaces\n");
		return;
	}
	sbuf_puts(r->out, "# xdp,interfaces\nxdp,");
	iface_list(r->out);
	sbuf_puts(r->out, "\n# frontend," FE_HDR "\n");
	frontend_rows(r->out);
	sbuf_puts(r->out, "# server," SRV_HDR "\n");
	backend_rows(r->out);
	sbuf_puts(r->out, "# counter,value,verdict\n");
	if (xlb_maps_read_global(g) == 0) {
		for (unsigned i = 0; i < XLB_STAT_MAX; i++)
			if (xlb_stat_name(i))
				sbuf_printf(r->out, "%s,%llu,%s\n", xlb_stat_name(i),
					    (unsigned long long)g[i], xlb_stat_verdict(i));
	}
}

static const struct api_cmd xdp_cmds[] = {
	{ { "show", "xdp" },
	  API_LVL_USER,
	  "show xdp",
	  "XDP interfaces, mode, global, per-frontend and per-server counters (lbd)",
	  cmd_show_xdp },
	{ { "show", "xdp", "stat" },
	  API_LVL_USER,
	  "show xdp stat",
	  "XDP counters as CSV sections: frontends, servers, global counters (lbd)",
	  cmd_show_xdp_stat },
	{ { NULL } },
};
API_REGISTER(xdp_cmds);
