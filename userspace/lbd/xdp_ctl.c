// SPDX-License-Identifier: MIT
/*
 * Glue between lbd's control plane and the XDP tier (maps.c): which
 * interfaces to attach (config `xlb-interface`, or XLB_IFACES from `lbctl
 * up`), which frontends XDP serves (mode tcp, bind address on an attached
 * interface, algorithm XDP can express), keeping the maps in step with the
 * model on every change and reload, `show xdp` and `xdp down`.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "api.h"
#include "cfg.h"
#include "control.h"
#include "log.h"
#include "maps.h"

#define XDP_MAX_IFACES 16

static char *ifaces[XDP_MAX_IFACES];
static int nifaces;
static enum xlb_xdp_mode xdp_mode;
static char *pin_root;
static ev_timer kick_timer;

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
	model_set_change_hook(NULL, NULL);
	lb_notice("XDP detached, pins removed under %s",
		  pin_root ? pin_root : XLB_PIN_ROOT_DEFAULT);
	ev_timer_stop(d->loop, &kick_timer);
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
	api_set_xdp_down(xdp_down);
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
			xlb_maps_close();
			return -1;
		}
		lb_notice("XDP attached to %s (%s mode)", ifaces[i],
			  xdp_mode == XLB_XDP_GENERIC ? "generic" :
			  xdp_mode == XLB_XDP_NATIVE  ? "native" :
							"native, generic fallback");
	}
	xlb_maps_set_vip_filter(vip_filter);
	model_set_change_hook(xlb_maps_change_hook, NULL);
	if (xdp_sync(d, d->m, err) < 0)
		return -1;
	d->xdp_enabled = true;
	ev_timer_init(&kick_timer, kick_cb, 1.0, 30.0);
	ev_timer_start(d->loop, &kick_timer);
	ev_unref(d->loop);
	return 0;
}

void xdp_ctl_exit(struct lbd *d)
{
	if (xlb_maps_is_open())
		xlb_maps_close(); /* pins and links stay: flows keep flowing */
	ifaces_free();
}

/* `show xdp`: interfaces, mode, global drop/pass counters, per-frontend counters. */
static void cmd_show_xdp(struct api_req *r, char **args, int nargs)
{
	uint64_t g[XLB_STAT_MAX];
	struct proxy *px;

	if (!xlb_maps_is_open()) {
		api_puts(r->out, "XDP: not attached\n");
		return;
	}
	api_printf(r->out, "pin_root: %s\n", xlb_maps_pin_root());
	api_puts(r->out, "interfaces:");
	for (int i = 0; i < nifaces; i++)
		api_printf(r->out, " %s", ifaces[i]);
	api_printf(r->out, "\nmode: %s\n",
		   xdp_mode == XLB_XDP_GENERIC ? "generic" :
		   xdp_mode == XLB_XDP_NATIVE  ? "native" :
						 "auto");
	if (xlb_maps_read_global(g) == 0) {
		api_puts(r->out, "# global counters\n");
		for (unsigned i = 0; i < XLB_STAT_MAX; i++)
			if (xlb_stat_name(i))
				api_printf(r->out, "%s: %llu\n", xlb_stat_name(i),
					   (unsigned long long)g[i]);
	}
	api_puts(r->out, "# frontend,packets,bytes,new_flows\n");
	list_for_each(px, &lbd.m->proxies, list) {
		struct xlb_vip_stats vs;

		if (!(px->cap & PX_CAP_FE) || !px->xdp)
			continue;
		if (xlb_maps_read_frontend(px, &vs) == 0)
			api_printf(r->out, "%s,%llu,%llu,%llu\n", px->name,
				   (unsigned long long)vs.packets, (unsigned long long)vs.bytes,
				   (unsigned long long)vs.new_flows);
	}
}

static const struct api_cmd xdp_cmds[] = {
	{ { "show", "xdp" },
	  API_LVL_USER,
	  "show xdp",
	  "XDP interfaces, mode, global and per-frontend counters (lbd)",
	  cmd_show_xdp },
	{ { NULL } },
};
API_REGISTER(xdp_cmds);
