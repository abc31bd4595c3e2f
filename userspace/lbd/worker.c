// SPDX-License-Identifier: MIT
/*
 * Worker threads: one libev loop each. Every worker watches every listener
 * and serves the connections it accepts until they close. The control loop
 * talks to workers only through their ev_async (stop, resume accepting,
 * retry queued connections, pick up new listeners after a reload).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "algo.h"
#include "lbd.h"
#include "http_proxy.h"
#include "log.h"

pthread_mutex_t lbd_listeners_lock = PTHREAD_MUTEX_INITIALIZER;
conn_accept_fn http_accept_hook;

/* A frontend's limit: its own maxconn, else the global one (0: none). */
static int fe_maxconn(const struct proxy *fe)
{
	return fe->maxconn > 0 ? fe->maxconn : lbd.m->global.maxconn;
}

/* The process-wide limit: global maxconn over every frontend (0: none). */
static int global_maxconn(void)
{
	return lbd.m->global.maxconn;
}

/*
 * Take one of max slots of the counter *cur before accepting, so that
 * workers racing on the same limit never overshoot it. On failure the slot
 * is given back; when that brings the counter below the limit, a close that
 * happened meanwhile may have missed waking the paused listeners: wake them.
 */
static bool slot_take(int *cur, int max)
{
	int v = __atomic_add_fetch(cur, 1, __ATOMIC_ACQ_REL);

	if (max <= 0 || v <= max)
		return true;
	v = __atomic_sub_fetch(cur, 1, __ATOMIC_ACQ_REL);
	if (v < max)
		workers_wake_all(&lbd);
	return false;
}

/* Give a slot back; true when that made room under the limit (a paused listener may resume). */
static bool slot_give(int *cur, int max)
{
	int v = __atomic_sub_fetch(cur, 1, __ATOMIC_ACQ_REL);

	return max > 0 && v == max - 1;
}

/*
 * Every worker watches every listener, so a burst of new connections tends
 * to land on whichever worker wakes first. A worker holding clearly more
 * connections than the least loaded one stops accepting for a moment and
 * lets the others (woken by the same readiness) take them.
 */
#define ACCEPT_SLACK 8
#define ACCEPT_BACKOFF 0.002

/* The least loaded worker when w holds clearly more clients than it, else NULL. */
static struct worker *worker_overloaded(struct worker *w)
{
	struct worker *least = NULL;
	int mine = w->nclients, min = mine;

	for (int i = 0; i < lbd.nworkers; i++) {
		int n = __atomic_load_n(&lbd.workers[i].nclients, __ATOMIC_RELAXED);

		if (n < min) {
			min = n;
			least = &lbd.workers[i];
		}
	}
	return mine > min + ACCEPT_SLACK ? least : NULL;
}

static void accept_backoff(struct worker *w, struct worker *least)
{
	for (int i = 0; i < w->nlio; i++)
		ev_io_stop(w->loop, &w->lio[i]);
	if (!ev_is_active(&w->accept_backoff)) {
		ev_timer_set(&w->accept_backoff, ACCEPT_BACKOFF, 0.0);
		ev_timer_start(w->loop, &w->accept_backoff);
	}
	/* Make sure the least loaded worker is accepting (it may be backing off too). */
	ev_async_send(least->loop, &least->wake);
}

static void resume_listeners(struct worker *w);

static void accept_backoff_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct worker *w = ev_userdata(loop);

	if (w->stopping)
		return;
	resume_listeners(w);
}

static void accept_cb(struct ev_loop *loop, struct ev_io *io, int revents)
{
	struct worker *w = ev_userdata(loop);
	struct listener *l = io->data;
	struct proxy *fe = l->fe;
	int budget = 64;

	while (budget-- > 0) {
		struct sockaddr_storage src;
		socklen_t slen = sizeof(src);
		int cfd, maxconn = fe_maxconn(fe), gmax = global_maxconn();

		if (w->stopping)
			return;
		if (lbd.nworkers > 1) {
			struct worker *least = worker_overloaded(w);

			if (least) {
				accept_backoff(w, least);
				return;
			}
		}
		if (!slot_take(&fe->cur_conns, maxconn))
			goto pause;
		if (!slot_take(&lbd.cur_conns, gmax)) {
			slot_give(&fe->cur_conns, maxconn);
			goto pause;
		}
		cfd = accept4(io->fd, (struct sockaddr *)&src, &slen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			int e = errno;

			if (slot_give(&fe->cur_conns, maxconn) | slot_give(&lbd.cur_conns, gmax))
				workers_wake_all(&lbd);
			if (e == EMFILE || e == ENFILE)
				lb_warn("accept on '%s': %s", fe->name, strerror(e));
			return;
		}
		__atomic_add_fetch(&fe->cum_conns, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&lbd.cum_conns, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&w->nclients, 1, __ATOMIC_RELAXED);
		if (!list_empty(&fe->tcp_req_rules) && tcp_rules_reject(fe, cfd, &src)) {
			/* `tcp-request ... reject`: a reset, no byte read, no server. */
			struct linger lg = { .l_onoff = 1, .l_linger = 0 };

			setsockopt(cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			close(cfd);
			lb_dbg("proxy '%s': connection rejected by a tcp-request rule", fe->name);
			worker_conn_closed(w, fe);
			continue;
		}
		if (fe->mode == PX_MODE_HTTP && http_accept_hook)
			http_accept_hook(w, l, cfd, &src);
		else
			tcp_conn_accept(w, l, cfd, &src);
	}
	return;
pause:
	/*
	 * Leave the excess in the kernel backlog until a slot frees: the
	 * worker that frees it wakes every worker (worker_conn_closed).
	 */
	ev_io_stop(loop, io);
}

/* Whether a frontend may accept again (below its own and the global limit). */
static bool fe_has_room(const struct proxy *fe)
{
	int maxconn = fe_maxconn(fe), gmax = global_maxconn();

	return (maxconn <= 0 || __atomic_load_n(&fe->cur_conns, __ATOMIC_ACQUIRE) < maxconn) &&
	       (gmax <= 0 || __atomic_load_n(&lbd.cur_conns, __ATOMIC_ACQUIRE) < gmax);
}

/* Restart the stopped accept watchers whose frontend is below its limits again. */
static void resume_listeners(struct worker *w)
{
	for (int i = 0; i < w->nlio; i++) {
		struct listener *l = w->lio[i].data;

		if (!ev_is_active(&w->lio[i]) && fe_has_room(l->fe))
			ev_io_start(w->loop, &w->lio[i]);
	}
}

static void worker_attach_listeners(struct worker *w)
{
	int i;

	for (i = 0; i < w->nlio; i++)
		ev_io_stop(w->loop, &w->lio[i]);
	free(w->lio);
	w->lio = NULL;
	w->nlio = 0;
	if (w->stopping)
		return;
	pthread_mutex_lock(&lbd_listeners_lock);
	w->lio = calloc(lbd.nlisteners ? lbd.nlisteners : 1, sizeof(*w->lio));
	if (w->lio) {
		for (i = 0; i < lbd.nlisteners; i++) {
			ev_io_init(&w->lio[i], accept_cb, lbd.listeners[i].fd, EV_READ);
			w->lio[i].data = &lbd.listeners[i];
			ev_io_start(w->loop, &w->lio[i]);
		}
		w->nlio = lbd.nlisteners;
	}
	w->pending_listeners_gen = lbd.listeners_gen;
	pthread_mutex_unlock(&lbd_listeners_lock);
}

static void wake_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	struct worker *w = ev_userdata(loop);
	int i;

	if (w->hard_stop) {
		tcp_conn_close_all(w);
		http_conn_close_all(w);
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	if (w->stopping) {
		for (i = 0; i < w->nlio; i++)
			ev_io_stop(loop, &w->lio[i]);
		if (w->nconns == 0) {
			ev_break(loop, EVBREAK_ALL);
			return;
		}
	} else if (w->pending_listeners_gen != lbd.listeners_gen) {
		worker_attach_listeners(w);
	} else {
		resume_listeners(w);
	}
	tcp_queue_retry(w);
}

static void housekeeping_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct worker *w = ev_userdata(loop);

	if (w->stopping && w->nconns == 0) {
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	/*
	 * Queued connections also wait for changes that release no slot (a
	 * server added, a maxconn raised, the last server gone): look again.
	 */
	if (!list_empty(&w->queue))
		tcp_queue_retry(w);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	char name[16];

	snprintf(name, sizeof(name), "lbd-w%d", w->id);
	pthread_setname_np(pthread_self(), name);
	worker_attach_listeners(w);
	ev_run(w->loop, 0);
	return NULL;
}

int workers_start(struct lbd *d, int n)
{
	int i;

	if (n <= 0)
		n = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (n <= 0)
		n = 1;
	if (n > LBD_MAX_WORKERS)
		n = LBD_MAX_WORKERS;
	for (i = 0; i < n; i++) {
		struct worker *w = &d->workers[i];

		memset(w, 0, sizeof(*w));
		w->id = i;
		w->loop = ev_loop_new(EVFLAG_AUTO);
		if (!w->loop)
			return -ENOMEM;
		ev_set_userdata(w->loop, w);
		list_init(&w->conns);
		list_init(&w->queue);
		ev_async_init(&w->wake, wake_cb);
		ev_async_start(w->loop, &w->wake);
		ev_timer_init(&w->accept_backoff, accept_backoff_cb, 0.0, 0.0);
		ev_timer_init(&w->idle_check, housekeeping_cb, 0.1, 0.1);
		ev_timer_start(w->loop, &w->idle_check);
		ev_unref(w->loop); /* housekeeping does not keep the loop alive */
		w->pending_listeners_gen = -1;
	}
	d->nworkers = n;
	for (i = 0; i < n; i++) {
		if (pthread_create(&d->workers[i].thread, NULL, worker_main, &d->workers[i]))
			return -errno;
	}
	return 0;
}

void workers_wake_all(struct lbd *d)
{
	for (int i = 0; i < d->nworkers; i++)
		ev_async_send(d->workers[i].loop, &d->workers[i].wake);
}

void workers_soft_stop(struct lbd *d)
{
	for (int i = 0; i < d->nworkers; i++)
		__atomic_store_n(&d->workers[i].stopping, true, __ATOMIC_RELEASE);
	workers_wake_all(d);
}

void workers_hard_stop(struct lbd *d)
{
	for (int i = 0; i < d->nworkers; i++) {
		__atomic_store_n(&d->workers[i].stopping, true, __ATOMIC_RELEASE);
		__atomic_store_n(&d->workers[i].hard_stop, true, __ATOMIC_RELEASE);
	}
	workers_wake_all(d);
}

void workers_join(struct lbd *d)
{
	for (int i = 0; i < d->nworkers; i++) {
		pthread_join(d->workers[i].thread, NULL);
		ev_loop_destroy(d->workers[i].loop);
		free(d->workers[i].lio);
	}
	d->nworkers = 0;
}

int workers_total_conns(struct lbd *d)
{
	int n = 0;

	for (int i = 0; i < d->nworkers; i++)
		n += __atomic_load_n(&d->workers[i].nconns, __ATOMIC_RELAXED);
	return n;
}

void worker_conn_closed(struct worker *w, struct proxy *fe)
{
	bool room = slot_give(&fe->cur_conns, fe_maxconn(fe));

	__atomic_sub_fetch(&w->nclients, 1, __ATOMIC_RELAXED);
	/* Only the transition below a limit needs to wake paused listeners. */
	if (slot_give(&lbd.cur_conns, global_maxconn()) || room)
		workers_wake_all(&lbd);
	if (w->stopping && w->nconns == 0)
		ev_async_send(w->loop, &w->wake);
}

void lbd_release_server(struct server *s)
{
	lb_release(s);
	/* A slot freed: workers with queued connections try again. */
	if (tcp_queued_total() > 0)
		workers_wake_all(&lbd);
}
