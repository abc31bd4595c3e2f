// SPDX-License-Identifier: MIT
/*
 * Control plane orchestration: start and stop the subsystems in order, and
 * reload. A reload builds a complete new model; on any error the running one
 * keeps serving. On success, servers that still exist keep their state and
 * counters, servers added at run time (API, etcd) are carried over,
 * unchanged listeners keep their sockets, and open connections finish on the
 * old generation, which is freed once no connection is left.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "algo.h"
#include "cfg.h"
#include "control.h"
#include "log.h"
#include "tlog.h"

/* Old generations waiting for their connections to finish. */
static struct model *retired[64];
static int nretired;
static ev_timer retire_timer;

static void retire_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	listeners_gc(&lbd, false);
	if (nretired == 0 || workers_total_conns(&lbd) != 0)
		return;
	/* No connection of any generation is open: the old ones can go. */
	for (int i = 0; i < nretired; i++)
		model_free(retired[i]);
	nretired = 0;
}

int control_pre_listen(struct lbd *d, char **err)
{
	struct proxy *px;

	list_for_each(px, &d->m->proxies, list) {
		if (!(px->cap & PX_CAP_FE))
			continue;
		if (!px->xdp && !px->xdp_reason)
			px->xdp_reason = strdup(d->m->global.xdp_ifaces ?
							"bind address not on an attached interface" :
							"no XDP interface attached");
	}
	return 0;
}

int control_start(struct lbd *d, char **err)
{
	ev_timer_init(&retire_timer, retire_cb, 1.0, 1.0);
	ev_timer_start(d->loop, &retire_timer);
	ev_unref(d->loop);
	return 0;
}

void control_stop(struct lbd *d)
{
}

void control_exit(struct lbd *d)
{
}

/* Copy the run-time state of a server that survives a reload. */
static void carry_server_state(struct server *to, const struct server *from)
{
	to->id = from->id;
	to->admin = from->admin;
	to->chk_state = from->chk_state;
	to->chk_disabled = from->chk_disabled;
	if (from->weight != from->iweight)
		to->weight = from->weight; /* set at run time: keep it */
	to->total_conns = from->total_conns;
	to->bytes_in = from->bytes_in;
	to->bytes_out = from->bytes_out;
	to->conn_errors = from->conn_errors;
	to->retries = from->retries;
	to->redispatches = from->redispatches;
	to->chk_fails = from->chk_fails;
	to->down_trans = from->down_trans;
	to->last_change = from->last_change;
}

/* Re-create a server added at run time (API, etcd) in the new model. */
static void carry_dynamic_server(struct proxy *be, const struct server *from)
{
	struct server *s = server_new(be, from->name);

	if (!s)
		return;
	s->addr = from->addr;
	s->addrlen = from->addrlen;
	free(s->addr_str);
	s->addr_str = from->addr_str ? strdup(from->addr_str) : NULL;
	s->weight = from->weight;
	s->iweight = from->iweight;
	s->maxconn = from->maxconn;
	s->backup = from->backup;
	s->check = from->check;
	s->origin = from->origin;
	s->origin_key = from->origin_key ? strdup(from->origin_key) : NULL;
	carry_server_state(s, from);
	if (backend_add_server(be, s) < 0)
		server_put(s);
}

static void carry_state(struct model *nm, struct model *om)
{
	struct proxy *obe, *nbe;
	struct server *os, *ns;
	uint32_t max_id = nm->next_srv_id;

	list_for_each(obe, &om->proxies, list) {
		if (!(obe->cap & PX_CAP_BE))
			continue;
		nbe = model_find_backend(nm, obe->name);
		if (!nbe)
			continue;
		pthread_mutex_lock(&obe->lock);
		list_for_each(os, &obe->servers, list) {
			if (os->removed)
				continue;
			ns = backend_find_server(nbe, os->name);
			if (ns && os->origin == SRV_ORIGIN_CONFIG)
				carry_server_state(ns, os);
			else if (!ns && os->origin != SRV_ORIGIN_CONFIG)
				carry_dynamic_server(nbe, os);
			if (os->id >= max_id)
				max_id = os->id + 1;
		}
		pthread_mutex_unlock(&obe->lock);
		pthread_mutex_lock(&nbe->lock);
		backend_recalc(nbe);
		pthread_mutex_unlock(&nbe->lock);
	}
	if (om->next_srv_id > max_id)
		max_id = om->next_srv_id;
	nm->next_srv_id = max_id;
}

int control_reload(struct lbd *d, char **errp)
{
	struct model *nm, *om = d->m;
	char *err = NULL;

	lb_notice("reloading configuration");
	nm = cfg_load(d->cfg_files, d->ncfg_files, &err);
	if (!nm) {
		lb_err("reload rejected, the running configuration keeps serving:\n%s",
		       err ? err : "error");
		if (errp)
			*errp = err;
		else
			free(err);
		return -1;
	}
	carry_state(nm, om);
	pthread_mutex_lock(&lbd_listeners_lock);
	if (listeners_open(d, nm, &err) < 0) {
		pthread_mutex_unlock(&lbd_listeners_lock);
		lb_err("reload rejected, the running configuration keeps serving: %s",
		       err ? err : "error");
		if (errp)
			*errp = err;
		else
			free(err);
		model_free(nm);
		return -1;
	}
	d->m = nm;
	tlog_set_global(&nm->global);
	pthread_mutex_unlock(&lbd_listeners_lock);
	workers_wake_all(d);
	if (nretired < (int)(sizeof(retired) / sizeof(retired[0])))
		retired[nretired++] = om;
	lb_notice("configuration reloaded");
	return 0;
}
