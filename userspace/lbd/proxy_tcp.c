// SPDX-License-Identifier: MIT
/*
 * The userspace TCP proxy (`mode tcp` frontends when the XDP tier does not
 * serve them): accept, pick a server, connect with `timeout connect`, retry
 * and redispatch on failure, then copy both directions through two bounded
 * buffers with half-close, under `timeout client/server/tunnel`. A server
 * with `maxconn` full makes the connection wait in the worker's queue for
 * `timeout queue`.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "algo.h"
#include "lbd.h"
#include "log.h"
#include "tlog.h"

enum tconn_state {
	TC_QUEUED, /* waiting for a server slot */
	TC_CONNECTING, /* connect() in progress */
	TC_FORWARDING, /* both sides connected */
};

/* One direction of the copy: bytes read from one side, not yet written to the other. */
struct pipebuf {
	char *data;
	size_t size;
	size_t start, end; /* data[start..end) is pending */
	bool rd_eof; /* the reading side sent FIN */
	bool wr_shut; /* FIN forwarded to the writing side */
	uint64_t total;
};

struct tconn {
	struct list_head list; /* in worker->conns or worker->queue */
	struct worker *w;
	struct proxy *fe, *be;
	struct server *srv;
	struct sockaddr_storage src;
	int cfd, sfd;
	enum tconn_state state;
	ev_io cio, sio;
	ev_timer timer;
	struct pipebuf c2s, s2c;
	int retries_left;
	struct server *failed; /* last server that failed, avoided on redispatch */
	ev_tstamp t_accept, t_queued, t_connected, c_last, s_last, deadline;
	bool queued;
	char term[3]; /* termination state, HAProxy's two letters */
};

static int queued_total; /* connections queued in all workers; atomic */

static uint32_t conn_timeout_ms(struct tconn *c)
{
	return c->be->to.connect ? c->be->to.connect : 0;
}

static void buf_init(struct pipebuf *b, size_t size)
{
	memset(b, 0, sizeof(*b));
	b->data = malloc(size);
	b->size = b->data ? size : 0;
}

static void tconn_free(struct tconn *c)
{
	struct worker *w = c->w;
	struct ev_loop *loop = w->loop;

	ev_io_stop(loop, &c->cio);
	ev_io_stop(loop, &c->sio);
	ev_timer_stop(loop, &c->timer);
	if (c->cfd >= 0)
		close(c->cfd);
	if (c->sfd >= 0)
		close(c->sfd);
	if (c->queued)
		__atomic_sub_fetch(&queued_total, 1, __ATOMIC_RELAXED);
	list_del(&c->list);
	if (c->srv) {
		__atomic_add_fetch(&c->srv->bytes_in, c->c2s.total, __ATOMIC_RELAXED);
		__atomic_add_fetch(&c->srv->bytes_out, c->s2c.total, __ATOMIC_RELAXED);
		lbd_release_server(c->srv);
	}
	__atomic_add_fetch(&c->fe->bytes_in, c->c2s.total, __ATOMIC_RELAXED);
	__atomic_add_fetch(&c->fe->bytes_out, c->s2c.total, __ATOMIC_RELAXED);
	free(c->c2s.data);
	free(c->s2c.data);
	w->nconns--;
	worker_conn_closed(w, c->fe);
	free(c);
}

static void tconn_log(struct tconn *c)
{
	struct tlog_tcp t;

	if (!(c->fe->options & PX_OPT_TCPLOG) && list_empty(&c->fe->logs))
		return;
	if ((c->fe->options & PX_OPT_DONTLOGNULL) && c->c2s.total == 0 && c->s2c.total == 0)
		return;
	memset(&t, 0, sizeof(t));
	t.fe = c->fe;
	t.be = c->be;
	t.srv = c->srv;
	t.src = &c->src;
	t.accept_time = c->t_accept;
	t.tw_ms = c->t_queued > 0 && c->state != TC_QUEUED ?
			  (int)((c->t_queued - c->t_accept) * 1000) :
			  (c->state == TC_QUEUED ? -1 : 0);
	t.tc_ms = c->t_connected > 0 ? (int)((c->t_connected - c->t_accept) * 1000) : -1;
	t.tt_ms = (int)((ev_now(c->w->loop) - c->t_accept) * 1000);
	t.bytes = c->s2c.total;
	t.term[0] = c->term[0] ? c->term[0] : '-';
	t.term[1] = c->term[1] ? c->term[1] : '-';
	t.fe_conns = __atomic_load_n(&c->fe->cur_conns, __ATOMIC_RELAXED);
	t.srv_conns = c->srv ? __atomic_load_n(&c->srv->cur_conns, __ATOMIC_RELAXED) : 0;
	t.retries = c->be->retries - c->retries_left;
	tlog_tcp(&t);
}

static void tconn_close(struct tconn *c, char who, char when)
{
	if (!c->term[0]) {
		c->term[0] = who;
		c->term[1] = when;
	}
	tconn_log(c);
	tconn_free(c);
}

static void set_events(struct ev_loop *loop, ev_io *io, int fd, int events)
{
	if (fd < 0)
		return;
	if (io->events == events && ev_is_active(io))
		return;
	ev_io_stop(loop, io);
	if (!events)
		return;
	ev_io_set(io, fd, events);
	ev_io_start(loop, io);
}

static void tconn_update_events(struct tconn *c)
{
	int ce = 0, se = 0;

	if (c->state != TC_FORWARDING)
		return;
	/* Read from a side only while its buffer has room and it has not ended. */
	if (!c->c2s.rd_eof && c->c2s.end < c->c2s.size)
		ce |= EV_READ;
	if (!c->s2c.rd_eof && c->s2c.end < c->s2c.size)
		se |= EV_READ;
	/* Write to a side while there is something pending for it. */
	if (c->s2c.end > c->s2c.start)
		ce |= EV_WRITE;
	if (c->c2s.end > c->c2s.start)
		se |= EV_WRITE;
	set_events(c->w->loop, &c->cio, c->cfd, ce);
	set_events(c->w->loop, &c->sio, c->sfd, se);
}

/* Rearm the inactivity timer from the last activity on each side. */
static void tconn_arm_timer(struct tconn *c)
{
	struct ev_loop *loop = c->w->loop;
	ev_tstamp now = ev_now(loop), dl = 0;
	uint32_t cto = c->fe->to.client, sto = c->be->to.server;

	if (c->fe->to.tunnel || c->be->to.tunnel) {
		uint32_t tt = c->be->to.tunnel ? c->be->to.tunnel : c->fe->to.tunnel;

		cto = sto = tt;
	}
	if (cto)
		dl = c->c_last + cto / 1000.0;
	if (sto && (!dl || c->s_last + sto / 1000.0 < dl))
		dl = c->s_last + sto / 1000.0;
	c->deadline = dl;
	ev_timer_stop(loop, &c->timer);
	if (dl) {
		ev_timer_set(&c->timer, dl > now ? dl - now : 0.0, 0.0);
		ev_timer_start(loop, &c->timer);
	}
}

/* Move bytes from fd into b. Returns 0, or -1 on a hard error. */
static int buf_read(struct pipebuf *b, int fd)
{
	ssize_t n;

	if (b->start == b->end)
		b->start = b->end = 0;
	while (b->end < b->size) {
		n = read(fd, b->data + b->end, b->size - b->end);
		if (n > 0) {
			b->end += n;
			b->total += n;
			continue;
		}
		if (n == 0) {
			b->rd_eof = true;
			return 0;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			return 0;
		return -1;
	}
	return 0;
}

static int buf_write(struct pipebuf *b, int fd)
{
	ssize_t n;

	while (b->end > b->start) {
		n = send(fd, b->data + b->start, b->end - b->start, MSG_NOSIGNAL);
		if (n > 0) {
			b->start += n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		return -1;
	}
	b->start = b->end = 0;
	return 0;
}

/* Forward FIN once a side ended and everything it sent was written. */
static void buf_shut(struct pipebuf *b, int wfd)
{
	if (b->rd_eof && !b->wr_shut && b->start == b->end) {
		shutdown(wfd, SHUT_WR);
		b->wr_shut = true;
	}
}

static void tconn_pump(struct tconn *c, int cev, int sev)
{
	ev_tstamp now = ev_now(c->w->loop);

	if (cev & EV_READ) {
		if (buf_read(&c->c2s, c->cfd) < 0)
			return tconn_close(c, 'C', 'D');
		c->c_last = now;
	}
	if (sev & EV_READ) {
		if (buf_read(&c->s2c, c->sfd) < 0)
			return tconn_close(c, 'S', 'D');
		c->s_last = now;
	}
	if (c->c2s.end > c->c2s.start) {
		if (buf_write(&c->c2s, c->sfd) < 0)
			return tconn_close(c, 'S', 'D');
		if (sev & EV_WRITE)
			c->s_last = now;
	}
	if (c->s2c.end > c->s2c.start) {
		if (buf_write(&c->s2c, c->cfd) < 0)
			return tconn_close(c, 'C', 'D');
		if (cev & EV_WRITE)
			c->c_last = now;
	}
	buf_shut(&c->c2s, c->sfd);
	buf_shut(&c->s2c, c->cfd);
	if (c->c2s.wr_shut && c->s2c.wr_shut)
		return tconn_close(c, '-', '-');
	tconn_update_events(c);
	tconn_arm_timer(c);
}

static void cio_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	tconn_pump(io->data, revents, 0);
}

static void connect_done(struct tconn *c, int err);
static void tconn_try_server(struct tconn *c);

static void sio_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct tconn *c = io->data;

	if (c->state == TC_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (getsockopt(c->sfd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		connect_done(c, err);
		return;
	}
	tconn_pump(c, 0, revents);
}

static void timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct tconn *c = t->data;

	switch (c->state) {
	case TC_QUEUED:
		lb_warn("proxy '%s': no server slot freed within timeout queue, closing client",
			c->be->name);
		return tconn_close(c, 's', 'Q');
	case TC_CONNECTING:
		connect_done(c, ETIMEDOUT);
		return;
	case TC_FORWARDING:
		if (c->deadline && ev_now(loop) + 0.0005 < c->deadline) {
			tconn_arm_timer(c);
			return;
		}
		/* Who timed out: the side idle the longest relative to its timeout. */
		return tconn_close(c, c->c_last <= c->s_last ? 'c' : 's', 'D');
	}
}

static void tconn_start_forwarding(struct tconn *c)
{
	ev_tstamp now = ev_now(c->w->loop);

	c->state = TC_FORWARDING;
	c->t_connected = now;
	c->c_last = c->s_last = now;
	ev_io_stop(c->w->loop, &c->sio);
	ev_io_init(&c->sio, sio_cb, c->sfd, 0);
	c->sio.data = c;
	/* The client may already have sent data: pump once. */
	tconn_pump(c, EV_READ, 0);
}

static void connect_done(struct tconn *c, int err)
{
	char ip[INET6_ADDRSTRLEN + 8];
	struct server *s = c->srv;

	if (!err) {
		tconn_start_forwarding(c);
		return;
	}
	/* Failed: count it, drop this server and try again while retries remain. */
	__atomic_add_fetch(&s->conn_errors, 1, __ATOMIC_RELAXED);
	ev_io_stop(c->w->loop, &c->sio);
	ev_timer_stop(c->w->loop, &c->timer);
	close(c->sfd);
	c->sfd = -1;
	snprintf(ip, sizeof(ip), "%s", s->addr_str ? s->addr_str : "?");
	lb_info("proxy '%s': connect to server %s/%s (%s) failed: %s", c->be->name, c->be->name,
		s->name, ip, strerror(err));
	c->failed = s;
	c->srv = NULL;
	if (c->retries_left > 0) {
		c->retries_left--;
		__atomic_add_fetch(&s->retries, 1, __ATOMIC_RELAXED);
		/*
		 * With `option redispatch` every retry goes to another server;
		 * without it, retries stay on the same server (HAProxy) except
		 * the last one, so a dead server never costs the client its
		 * connection while another server could take it.
		 */
		if ((c->be->options & PX_OPT_REDISPATCH) || c->retries_left == 0) {
			__atomic_add_fetch(&s->redispatches, 1, __ATOMIC_RELAXED);
			lbd_release_server(s);
			tconn_try_server(c);
			return;
		}
		c->srv = s;
		tconn_try_server(c);
		return;
	}
	lbd_release_server(s);
	lb_warn("proxy '%s': no server could take the connection after %d retries, closing client",
		c->be->name, c->be->retries);
	c->term[0] = 's';
	c->term[1] = 'C';
	tconn_close(c, 's', 'C');
}

static void tconn_connect(struct tconn *c)
{
	struct server *s = c->srv;
	struct ev_loop *loop = c->w->loop;
	uint32_t cto = conn_timeout_ms(c);
	int one = 1;

	c->state = TC_CONNECTING;
	c->sfd = socket(s->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->sfd < 0) {
		connect_done(c, errno);
		return;
	}
	setsockopt(c->sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (c->fe->options & PX_OPT_TCPKA || c->be->options & PX_OPT_TCPKA)
		setsockopt(c->sfd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	if (connect(c->sfd, (struct sockaddr *)&s->addr, s->addrlen) == 0) {
		connect_done(c, 0);
		return;
	}
	if (errno != EINPROGRESS) {
		connect_done(c, errno);
		return;
	}
	ev_io_init(&c->sio, sio_cb, c->sfd, EV_WRITE);
	c->sio.data = c;
	ev_io_start(loop, &c->sio);
	ev_timer_stop(loop, &c->timer);
	if (cto) {
		ev_timer_set(&c->timer, cto / 1000.0, 0.0);
		ev_timer_start(loop, &c->timer);
	}
}

static void tconn_enqueue(struct tconn *c)
{
	struct ev_loop *loop = c->w->loop;
	uint32_t qto = c->be->to.queue ? c->be->to.queue : c->be->to.connect;

	if (!c->queued) {
		c->queued = true;
		__atomic_add_fetch(&queued_total, 1, __ATOMIC_RELAXED);
		list_del(&c->list);
		list_add_tail(&c->list, &c->w->queue);
		c->state = TC_QUEUED;
		ev_timer_stop(loop, &c->timer);
		if (qto) {
			ev_timer_set(&c->timer, qto / 1000.0, 0.0);
			ev_timer_start(loop, &c->timer);
		}
	}
}

static void tconn_dequeue(struct tconn *c)
{
	if (c->queued) {
		c->queued = false;
		__atomic_sub_fetch(&queued_total, 1, __ATOMIC_RELAXED);
		list_del(&c->list);
		list_add_tail(&c->list, &c->w->conns);
		ev_timer_stop(c->w->loop, &c->timer);
		c->t_queued = ev_now(c->w->loop);
	}
}

/* Pick a server (or keep the current one for a same-server retry) and connect. */
static void tconn_try_server(struct tconn *c)
{
	struct lb_req req = { .src = (struct sockaddr *)&c->src };

	if (!c->srv) {
		c->srv = lb_pick(c->be, &req, c->failed);
		if (!c->srv) {
			if (errno == EAGAIN) {
				/* Every usable server is at its maxconn: wait for a slot. */
				tconn_enqueue(c);
				return;
			}
			__atomic_add_fetch(&c->be->no_srv, 1, __ATOMIC_RELAXED);
			lb_warn("proxy '%s' has no server available, closing client connection",
				c->be->name);
			return tconn_close(c, 's', 'C');
		}
	}
	tconn_dequeue(c);
	tconn_connect(c);
}

void tcp_queue_retry(struct worker *w)
{
	struct tconn *c, *tmp;

	list_for_each_safe(c, tmp, &w->queue, list) {
		struct lb_req req = { .src = (struct sockaddr *)&c->src };
		struct server *s = lb_pick(c->be, &req, c->failed);

		if (!s) {
			if (errno == EAGAIN)
				continue;
			__atomic_add_fetch(&c->be->no_srv, 1, __ATOMIC_RELAXED);
			tconn_close(c, 's', 'Q');
			continue;
		}
		c->srv = s;
		tconn_dequeue(c);
		tconn_connect(c);
	}
}

void tcp_conn_accept(struct worker *w, struct listener *l, int cfd, struct sockaddr_storage *src)
{
	struct proxy *fe = l->fe;
	struct proxy *be = fe->default_backend;
	struct tconn *c;
	size_t bufsize = lbd.m->global.tune_bufsize > 0 ? lbd.m->global.tune_bufsize : 16384;
	int one = 1;

	c = calloc(1, sizeof(*c));
	if (!c) {
		close(cfd);
		worker_conn_closed(w, fe);
		return;
	}
	c->w = w;
	c->fe = fe;
	c->be = be;
	c->cfd = cfd;
	c->sfd = -1;
	c->src = *src;
	c->t_accept = ev_now(w->loop);
	c->retries_left = be ? be->retries : 0;
	list_add_tail(&c->list, &w->conns);
	w->nconns++;
	ev_io_init(&c->cio, cio_cb, cfd, 0);
	c->cio.data = c;
	ev_io_init(&c->sio, sio_cb, -1, 0);
	c->sio.data = c;
	ev_timer_init(&c->timer, timer_cb, 0.0, 0.0);
	c->timer.data = c;
	setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	buf_init(&c->c2s, bufsize);
	buf_init(&c->s2c, bufsize);
	if (!c->c2s.data || !c->s2c.data)
		return tconn_close(c, 'R', 'C');
	if (!be) {
		lb_warn("frontend '%s' has no backend for this connection, closing it", fe->name);
		return tconn_close(c, 'P', 'C');
	}
	tconn_try_server(c);
}

void tcp_conn_close_all(struct worker *w)
{
	struct tconn *c, *tmp;

	list_for_each_safe(c, tmp, &w->queue, list)
		tconn_close(c, 'K', 'D');
	list_for_each_safe(c, tmp, &w->conns, list)
		tconn_close(c, 'K', 'D');
}

int tcp_queued_total(void)
{
	return __atomic_load_n(&queued_total, __ATOMIC_RELAXED);
}
