// SPDX-License-Identifier: MIT
/*
 * The userspace TCP proxy (`mode tcp` frontends when the XDP tier does not
 * serve them): accept, pick a server, connect with `timeout connect`, retry
 * and redispatch on failure, then copy both directions through two bounded
 * buffers with half-close, under `timeout client/server/tunnel` (and
 * `client-fin`/`server-fin` once a side is half-closed). A server with
 * `maxconn` full makes the connection wait in the worker's queue for
 * `timeout queue`; a backend with no usable server closes the client at once.
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

#include "srcport.h"
#include "acl.h"
#include "algo.h"
#include "lbd.h"
#include "log.h"
#include "tlog.h"
#include "http_proxy.h"
#include "logfmt.h"

/* Failed servers remembered per connection (retries beyond that reuse the oldest slot). */
#define TC_MAX_FAILED 8
/* Longest wait before retrying a server that refused (HAProxy's turn-around). */
#define TC_TURNAROUND_MS 1000

enum tconn_state {
	TC_QUEUED, /* waiting for a server slot */
	TC_CONNECTING, /* connect() in progress */
	TC_TURNAROUND, /* refused: waiting before trying the same server again */
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
	/* servers this connection failed on, most recent last: avoided on redispatch */
	struct server *failed[TC_MAX_FAILED];
	int nfailed;
	ev_tstamp t_accept, t_queued, t_connected, c_last, s_last, deadline;
	uint64_t rt; /* %rt */
	bool queued;
	char term[3]; /* termination state, HAProxy's two letters */
};

static int queued_total; /* connections queued in all workers; atomic */

/* Input a closing client may still have in flight that we read and drop. */
#define TC_DRAIN_MAX 65536

static void buf_init(struct pipebuf *b, size_t size)
{
	memset(b, 0, sizeof(*b));
	b->data = malloc(size);
	b->size = b->data ? size : 0;
}

/*
 * Read and drop what the client sent and nobody will forward, so that
 * close() ends the connection with a FIN instead of a reset (the kernel
 * resets connections closed with unread data). Bounded: a client still
 * sending after this gets the reset.
 */
static void client_drain(int fd)
{
	char buf[4096];
	size_t total = 0;
	ssize_t n;

	while (total < TC_DRAIN_MAX) {
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n <= 0)
			break;
		total += n;
	}
}

static void tconn_free(struct tconn *c)
{
	struct worker *w = c->w;
	struct ev_loop *loop = w->loop;

	ev_io_stop(loop, &c->cio);
	ev_io_stop(loop, &c->sio);
	ev_timer_stop(loop, &c->timer);
	if (c->cfd >= 0) {
		client_drain(c->cfd);
		close(c->cfd);
	}
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
	struct sockaddr_storage dst, bsrc;
	socklen_t dlen = sizeof(dst), blen = sizeof(bsrc);
	struct tlog_tcp t;
	unsigned needs;

	if (!(c->fe->options & PX_OPT_TCPLOG) && list_empty(&c->fe->logs))
		return;
	if ((c->fe->options & PX_OPT_DONTLOGNULL) && c->c2s.total == 0 && c->s2c.total == 0)
		return;
	memset(&t, 0, sizeof(t));
	t.fmt = l7_px_log_format(c->fe);
	t.uid_fmt = l7_px_uid_format(c->fe);
	needs = logfmt_needs(t.fmt ? t.fmt : logfmt_builtin(c->fe, false));
	if (t.uid_fmt && (needs & LF_NEED_ID))
		needs |= logfmt_needs(t.uid_fmt);
	/* addresses only when the format shows them (a system call each) */
	if ((needs & (LF_NEED_FADDR | LF_NEED_SMP)) && c->cfd >= 0 &&
	    !getsockname(c->cfd, (struct sockaddr *)&dst, &dlen))
		t.dst = &dst;
	if ((needs & LF_NEED_BADDR) && c->sfd >= 0 &&
	    !getsockname(c->sfd, (struct sockaddr *)&bsrc, &blen))
		t.bsrc = &bsrc;
	t.bytes_in = c->c2s.total;
	t.rt = c->rt;
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

/*
 * The inactivity timeouts of both sides: `timeout client`/`server`, both
 * replaced by `timeout tunnel` when it is set (a forwarded TCP connection is
 * a tunnel), and `timeout client-fin` once the client got our FIN
 * (`server-fin` once the server got it): a half-closed side that does not
 * finish is not kept for the full timeout.
 */
static void tconn_timeouts(const struct tconn *c, uint32_t *cto, uint32_t *sto)
{
	*cto = c->fe->to.client;
	*sto = c->be->to.server;
	if (c->fe->to.tunnel || c->be->to.tunnel)
		*cto = *sto = c->be->to.tunnel ? c->be->to.tunnel : c->fe->to.tunnel;
	if (c->s2c.wr_shut && c->fe->to.client_fin)
		*cto = c->fe->to.client_fin;
	if (c->c2s.wr_shut && c->be->to.server_fin)
		*sto = c->be->to.server_fin;
}

/*
 * When each side times out (0: never). A side is waited for while it may
 * still send (it has not sent its FIN) or while data waits to be written to
 * it; a client that shut its write side and waits for the answer is not
 * cut by `timeout client` while the server thinks. The clock of a side
 * restarts when it sends something and when something is written to it (as
 * HAProxy refreshes a side's read timeout on writes), so a long download to
 * a client that sends nothing is not cut either.
 */
static void tconn_deadlines(const struct tconn *c, ev_tstamp *cdl, ev_tstamp *sdl)
{
	uint32_t cto, sto;

	tconn_timeouts(c, &cto, &sto);
	*cdl = *sdl = 0;
	if (cto && (!c->c2s.rd_eof || c->s2c.end > c->s2c.start))
		*cdl = c->c_last + cto / 1000.0;
	if (sto && (!c->s2c.rd_eof || c->c2s.end > c->c2s.start))
		*sdl = c->s_last + sto / 1000.0;
}

/* Rearm the inactivity timer for the earlier of the two sides' deadlines. */
static void tconn_arm_timer(struct tconn *c)
{
	struct ev_loop *loop = c->w->loop;
	ev_tstamp now = ev_now(loop), dl, cdl, sdl;

	tconn_deadlines(c, &cdl, &sdl);
	dl = cdl;
	if (sdl && (!dl || sdl < dl))
		dl = sdl;
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

/* Write pending bytes of b to fd. Returns the number written (0 or more), or -1 on an error. */
static ssize_t buf_write(struct pipebuf *b, int fd)
{
	ssize_t n, done = 0;

	while (b->end > b->start) {
		n = send(fd, b->data + b->start, b->end - b->start, MSG_NOSIGNAL);
		if (n > 0) {
			b->start += n;
			done += n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return done;
		return -1;
	}
	b->start = b->end = 0;
	return done;
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
	uint64_t before;
	ssize_t n;

	if (cev & EV_READ) {
		before = c->c2s.total;
		if (buf_read(&c->c2s, c->cfd) < 0)
			return tconn_close(c, 'C', 'D');
		if (c->c2s.total != before || c->c2s.rd_eof)
			c->c_last = now;
	}
	if (sev & EV_READ) {
		before = c->s2c.total;
		if (buf_read(&c->s2c, c->sfd) < 0)
			return tconn_close(c, 'S', 'D');
		if (c->s2c.total != before || c->s2c.rd_eof)
			c->s_last = now;
	}
	if (c->c2s.end > c->c2s.start) {
		n = buf_write(&c->c2s, c->sfd);
		if (n < 0)
			return tconn_close(c, 'S', 'D');
		if (n > 0)
			c->s_last = now;
	}
	if (c->s2c.end > c->s2c.start) {
		n = buf_write(&c->s2c, c->cfd);
		if (n < 0)
			return tconn_close(c, 'C', 'D');
		if (n > 0)
			c->c_last = now;
	}
	/* A FIN forwarded now starts the other side's client-fin/server-fin. */
	if (!c->c2s.wr_shut && c->c2s.rd_eof && c->c2s.start == c->c2s.end)
		c->s_last = now;
	if (!c->s2c.wr_shut && c->s2c.rd_eof && c->s2c.start == c->s2c.end)
		c->c_last = now;
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
	case TC_TURNAROUND:
		tconn_try_server(c);
		return;
	case TC_FORWARDING: {
		ev_tstamp cdl, sdl, now = ev_now(loop) + 0.0005;
		bool client;

		tconn_deadlines(c, &cdl, &sdl);
		if ((!cdl || now < cdl) && (!sdl || now < sdl)) {
			tconn_arm_timer(c);
			return;
		}
		/* Who timed out: the side whose own deadline has passed. */
		client = cdl && now >= cdl;
		lb_dbg("proxy '%s': %s timeout, closing the connection", c->fe->name,
		       client ? "client" : "server");
		return tconn_close(c, client ? 'c' : 's', 'D');
	}
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

/* Remember a server this connection failed on (the oldest is forgotten past TC_MAX_FAILED). */
static void tconn_note_failed(struct tconn *c, struct server *s)
{
	int i;

	for (i = 0; i < c->nfailed; i++) {
		if (c->failed[i] == s) {
			/* Move it last: the most recent failure. */
			memmove(&c->failed[i], &c->failed[i + 1],
				(c->nfailed - i - 1) * sizeof(c->failed[0]));
			c->failed[c->nfailed - 1] = s;
			return;
		}
	}
	if (c->nfailed == TC_MAX_FAILED) {
		memmove(&c->failed[0], &c->failed[1], (TC_MAX_FAILED - 1) * sizeof(c->failed[0]));
		c->nfailed--;
	}
	c->failed[c->nfailed++] = s;
}

static const char *tconn_src(const struct tconn *c, char *buf, size_t len)
{
	tlog_addr(&c->src, buf, len);
	return buf;
}

/*
 * No server can take the connection: close the client cleanly (FIN, after
 * dropping what it sent) and log it, in the daemon log and in the traffic
 * log.
 */
static void tconn_no_server(struct tconn *c, char when)
{
	char src[INET6_ADDRSTRLEN + 16];

	/* lb_pick() counted it in be->no_srv. */
	lb_warn("proxy '%s': no server available for the connection from %s to '%s', closing it",
		c->be->name, tconn_src(c, src, sizeof(src)), c->fe->name);
	tconn_close(c, 'S', when);
}

static void connect_done(struct tconn *c, int err)
{
	char ip[INET6_ADDRSTRLEN + 16];
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
	tconn_note_failed(c, s);
	c->srv = NULL;
	if (c->retries_left > 0) {
		c->retries_left--;
		__atomic_add_fetch(&s->retries, 1, __ATOMIC_RELAXED);
		/*
		 * As HAProxy (and lbd's L7 tier): retries stay on the server
		 * unless `option redispatch`; with it every retry goes to
		 * another server, except with a hash (persistence) where only
		 * the last one does.
		 */
		if ((c->be->options & PX_OPT_REDISPATCH) &&
		    (!(c->be->algo && c->be->algo->hashed) || c->retries_left == 0)) {
			__atomic_add_fetch(&s->redispatches, 1, __ATOMIC_RELAXED);
			lbd_release_server(s);
			tconn_try_server(c);
			return;
		}
		c->srv = s;
		if (err != ETIMEDOUT) {
			/*
			 * Refused (say, a server restarting): the same server
			 * would refuse again at once, so wait min(timeout
			 * connect, 1 s) first, as HAProxy does.
			 */
			uint32_t cto = c->be->to.connect;
			uint32_t ms = cto && cto < TC_TURNAROUND_MS ? cto : TC_TURNAROUND_MS;

			c->state = TC_TURNAROUND;
			ev_timer_set(&c->timer, ms / 1000.0, 0.0);
			ev_timer_start(c->w->loop, &c->timer);
			return;
		}
		tconn_try_server(c);
		return;
	}
	lbd_release_server(s);
	lb_warn("proxy '%s': no server could take the connection from %s after %d retries, closing client",
		c->be->name, tconn_src(c, ip, sizeof(ip)), c->be->retries);
	/* HAProxy's flags: sC when the last attempt timed out, SC when it was refused. */
	tconn_close(c, err == ETIMEDOUT ? 's' : 'S', 'C');
}

static void tconn_connect(struct tconn *c)
{
	struct server *s = c->srv;
	struct ev_loop *loop = c->w->loop;
	uint32_t cto = c->be->to.connect;
	int one = 1;

	c->state = TC_CONNECTING;
	c->sfd = socket(s->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->sfd < 0) {
		connect_done(c, errno);
		return;
	}
	setsockopt(c->sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	srcport_apply(c->sfd);
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
		c->srv = lb_pick_ex(c->be, &req, c->failed, c->nfailed);
		if (!c->srv) {
			if (lb_backend_usable(c->be)) {
				/* Every usable server is at its maxconn: wait for a slot. */
				tconn_enqueue(c);
				return;
			}
			/* No server left (all down, in maintenance or removed). */
			return tconn_no_server(c, c->queued ? 'Q' : 'C');
		}
	}
	tconn_dequeue(c);
	lb_dbg("proxy '%s': connecting to %s/%s", c->fe->name, c->be->name, c->srv->name);
	tconn_connect(c);
}

void tcp_queue_retry(struct worker *w)
{
	struct tconn *c, *tmp;

	list_for_each_safe(c, tmp, &w->queue, list)
		tconn_try_server(c);
}

bool tcp_rules_reject(struct proxy *px, int fd, const struct sockaddr_storage *src)
{
	struct sockaddr_storage dst;
	socklen_t dlen = sizeof(dst);
	struct acl_env env = { .src = src };
	struct px_rule *r;

	if (!getsockname(fd, (struct sockaddr *)&dst, &dlen))
		env.dst = &dst;
	list_for_each(r, &px->tcp_req_rules, list) {
		if (r->nargs < 2 || !strcmp(r->args[0], "inspect-delay"))
			continue;
		if (r->cond && !acl_cond_eval(r->cond, &env))
			continue;
		return !strcmp(r->args[1], "reject");
	}
	return false;
}

/*
 * The backend of a new connection: the first `use_backend` whose condition
 * holds on the connection's addresses (src, dst, dst_port, ...), else the
 * default backend. Names built at run time are refused in mode tcp by the
 * config loader.
 */
static struct proxy *tcp_backend(struct proxy *fe, int cfd, const struct sockaddr_storage *src)
{
	struct sockaddr_storage dst;
	socklen_t dlen = sizeof(dst);
	struct acl_env env = { .src = src };
	struct switch_rule *sr;

	if (list_empty(&fe->switch_rules))
		return fe->default_backend;
	if (!getsockname(cfd, (struct sockaddr *)&dst, &dlen))
		env.dst = &dst;
	list_for_each(sr, &fe->switch_rules, list) {
		if (sr->be && (!sr->cond || acl_cond_eval(sr->cond, &env)))
			return sr->be;
	}
	return fe->default_backend;
}

void tcp_conn_accept(struct worker *w, struct listener *l, int cfd, struct sockaddr_storage *src)
{
	struct proxy *fe = l->fe;
	struct proxy *be = tcp_backend(fe, cfd, src);
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
	c->rt = logfmt_next_rt();
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
	/* A backend's own `tcp-request content` rules (the frontend's ran at accept). */
	if (be != fe && !list_empty(&be->tcp_req_rules) && tcp_rules_reject(be, cfd, src)) {
		lb_dbg("proxy '%s': connection rejected by a tcp-request rule", be->name);
		return tconn_close(c, 'P', 'R');
	}
	if (lb_log_enabled(LB_LOG_DEBUG)) {
		char a[INET6_ADDRSTRLEN + 16];

		lb_dbg("proxy '%s': accepted fd %d from %s", fe->name, cfd,
		       tconn_src(c, a, sizeof(a)));
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
