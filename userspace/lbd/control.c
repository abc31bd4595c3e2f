// SPDX-License-Identifier: MIT
/*
 * Control plane orchestration: start and stop the subsystems in order, and
 * reload. A reload builds a complete new model; on any error the running one
 * keeps serving. On success, servers that still exist keep their state and
 * counters, servers added at run time (API, etcd) are carried over,
 * unchanged listeners and stats sockets keep their sockets, health checks
 * restart on the new servers with their counters, and open connections
 * finish on the old generation, which is freed once none of its frontends
 * has a connection left.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "algo.h"
#include "api.h"
#include "cfg.h"
#include "control.h"
#include "discovery.h"
#include "health.h"
#include "log.h"
#include "tlog.h"

int (*control_xdp_reload)(struct lbd *d, struct model *nm, char **err);

/* An old generation waiting for its connections to finish. */
struct retired {
	struct model *m;
	int listeners_gen; /* workers attached to this generation's successor */
	int idle_ticks; /* consecutive timer ticks without a connection */
};

#define MAX_RETIRED 64
static struct retired retired[MAX_RETIRED];
static int nretired;
static ev_timer retire_timer;
static bool started;

/* Open connections of a generation: what its frontends count (queued ones included). */
static int model_conns(struct model *m)
{
	struct proxy *px;
	int n = 0;

	list_for_each(px, &m->proxies, list)
		if (px->cap & PX_CAP_FE)
			n += __atomic_load_n(&px->cur_conns, __ATOMIC_RELAXED);
	return n;
}

static bool workers_caught_up(struct lbd *d, int gen)
{
	for (int i = 0; i < d->nworkers; i++)
		if (__atomic_load_n(&d->workers[i].pending_listeners_gen, __ATOMIC_ACQUIRE) < gen)
			return false;
	return true;
}

static void retire_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	int i = 0;

	listeners_gc(&lbd, false);
	while (i < nretired) {
		struct retired *r = &retired[i];

		/*
		 * Free a generation once no worker can accept on its listeners
		 * and none of its connections is left, seen on two ticks in a row
		 * (a worker that just closed the last one may still be returning
		 * from the frontend's counters).
		 */
		if (workers_caught_up(&lbd, r->listeners_gen) && model_conns(r->m) == 0)
			r->idle_ticks++;
		else
			r->idle_ticks = 0;
		if (r->idle_ticks < 2) {
			i++;
			continue;
		}
		model_free(r->m);
		retired[i] = retired[--nretired];
	}
}

/* Say why each frontend of model m that the XDP tier did not take stays in userspace. */
static void mark_tiers(struct lbd *d, struct model *m)
{
	const char *why = d->xdp_enabled ? "bind address not on an attached interface" :
					   "no XDP interface attached";
	struct proxy *px;

	list_for_each(px, &m->proxies, list) {
		if (!(px->cap & PX_CAP_FE) || px->xdp || px->xdp_reason)
			continue;
		px->xdp_reason = strdup(why);
	}
}

int control_pre_listen(struct lbd *d, char **err)
{
	if (xdp_ctl_pre_listen(d, err) < 0)
		return -1;
	mark_tiers(d, d->m);
	return 0;
}

int control_start(struct lbd *d, char **err)
{
	ev_timer_init(&retire_timer, retire_cb, 1.0, 1.0);
	ev_timer_start(d->loop, &retire_timer);
	ev_unref(d->loop);
	if (api_start(d, err) < 0)
		return -1;
	if (health_start(d) < 0) {
		cfg_err(err, "cannot start the health checks");
		return -1;
	}
	discovery_start(d);
	started = true;
	return 0;
}

void control_stop(struct lbd *d)
{
	if (!started)
		return;
	api_stop();
	discovery_stop();
	health_stop();
}

void control_exit(struct lbd *d)
{
	discovery_stop();
	health_stop();
	api_exit();
	started = false;
}

/* Copy the run-time state of a server that survives a reload. */
static void carry_server_state(struct server *to, const struct server *from)
{
	to->id = from->id;
	to->admin = from->admin;
	/* A server whose check is gone from the config is no longer held down by it. */
	to->chk_state = to->check.enabled ? from->chk_state : SRV_CHK_UP;
	to->chk_disabled = from->chk_disabled;
	if (from->weight != from->iweight)
		to->weight = from->weight; /* set at run time: keep it */
	to->max_conns_seen = from->max_conns_seen;
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

/*
 * Re-create a server added at run time (API, etcd) in the new model. A
 * server added on the API keeps the options it was added with; a discovered
 * one takes the new model's `default-server` settings (server_new()), as a
 * server discovered now would, and keeps its address and weight, which
 * discovery reconciles with its entry right after the swap.
 */
static void carry_dynamic_server(struct proxy *be, const struct server *from)
{
	struct server *s = server_new(be, from->name);
	char *err;
	int rc;

	if (!s)
		return;
	s->addr = from->addr;
	s->addrlen = from->addrlen;
	free(s->addr_str);
	s->addr_str = from->addr_str ? strdup(from->addr_str) : NULL;
	s->weight = from->weight;
	s->iweight = from->iweight;
	if (from->origin != SRV_ORIGIN_ETCD) {
		s->maxconn = from->maxconn;
		s->minconn = from->minconn;
		s->backup = from->backup;
		s->check = from->check;
	}
	s->origin = from->origin;
	s->origin_key = from->origin_key ? strdup(from->origin_key) : NULL;
	carry_server_state(s, from);
	/* The caller holds be->lock. */
	rc = lbd_add_server(be, s, true, &err);
	if (rc == LBD_SRV_REFUSED) {
		lb_err("reload: server %s/%s not carried over: %s", be->name, s->name,
		       err ? err : "?");
		free(err);
	}
	if (rc)
		server_put(s);
}

static void carry_state(struct model *nm, struct model *om)
{
	struct proxy *obe, *nbe, *ofe, *nfe;
	struct server *os, *ns;
	uint32_t max_id = nm->next_srv_id;

	list_for_each(obe, &om->proxies, list) {
		if (!(obe->cap & PX_CAP_BE))
			continue;
		nbe = model_find_backend(nm, obe->name);
		if (!nbe)
			continue;
		pthread_mutex_lock(&obe->lock);
		pthread_mutex_lock(&nbe->lock);
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
		backend_recalc(nbe);
		pthread_mutex_unlock(&nbe->lock);
		pthread_mutex_unlock(&obe->lock);
	}
	/* Frontend counters continue across reloads, as the stats of a running process. */
	list_for_each(ofe, &om->proxies, list) {
		if (!(ofe->cap & PX_CAP_FE))
			continue;
		nfe = model_find_proxy(nm, ofe->name, PX_CAP_FE);
		if (!nfe)
			continue;
		nfe->cum_conns = __atomic_load_n(&ofe->cum_conns, __ATOMIC_RELAXED);
		nfe->bytes_in = __atomic_load_n(&ofe->bytes_in, __ATOMIC_RELAXED);
		nfe->bytes_out = __atomic_load_n(&ofe->bytes_out, __ATOMIC_RELAXED);
	}
	if (om->next_srv_id > max_id)
		max_id = om->next_srv_id;
	nm->next_srv_id = max_id;
}

static int reload_fail(char *err, char **errp)
{
	lb_err("reload rejected, the running configuration keeps serving:\n%s",
	       err ? err : "error");
	if (errp)
		*errp = err;
	else
		free(err);
	return -1;
}

int control_reload(struct lbd *d, char **errp)
{
	struct model *nm, *om = d->m;
	char *err = NULL;

	lb_notice("reloading configuration");
	nm = cfg_load(d->cfg_files, d->ncfg_files, &err);
	if (!nm)
		return reload_fail(err, errp);
	if (nretired >= MAX_RETIRED) {
		model_free(nm);
		return reload_fail(strdup("too many reloads with connections still open on old "
					  "generations; retry when they finish"),
				   errp);
	}
	carry_state(nm, om);
	if (control_xdp_reload) {
		if (control_xdp_reload(d, nm, &err) < 0) {
			model_free(nm);
			return reload_fail(err, errp);
		}
	}
	mark_tiers(d, nm);
	if (started && api_prepare(nm, &err) < 0) {
		model_free(nm);
		return reload_fail(err, errp);
	}
	pthread_mutex_lock(&lbd_listeners_lock);
	if (listeners_open(d, nm, &err) < 0) {
		pthread_mutex_unlock(&lbd_listeners_lock);
		if (started)
			api_abort();
		model_free(nm);
		return reload_fail(err, errp);
	}
	d->m = nm;
	tlog_set_global(&nm->global);
	pthread_mutex_unlock(&lbd_listeners_lock);
	workers_wake_all(d);
	if (started) {
		api_commit(nm);
		health_reload(d);
		discovery_reload(d, nm);
	}
	retired[nretired].m = om;
	retired[nretired].listeners_gen = d->listeners_gen;
	retired[nretired].idle_ticks = 0;
	nretired++;
	lb_notice("configuration reloaded");
	return 0;
}
