// SPDX-License-Identifier: MIT
/*
 * The L7 HTTP/1.1 proxy (see http_proxy.h and doc/http.md).
 *
 * One struct hconn per client connection, served by the worker that
 * accepted it. A connection carries one transaction (struct txn) at a time:
 * pipelined requests wait in the client buffer until the previous response
 * is complete, so they are answered in order.
 *
 * Buffers: cin holds the request head at its start for the whole
 * transaction (the fetches and the balancing hashes point into it), then the
 * body and any pipelined bytes; sin holds what the server sent. Body bytes
 * are validated (Content-Length count or chunk framing) and then written
 * straight from cin/sin to the other side, so a body is never stored whole:
 * reading stops while a buffer is full. Rebuilt heads and the responses the
 * proxy makes go through sout (to the server) and cout (to the client).
 *
 * Server connections (struct sconn) come from a per-worker pool of idle
 * connections keyed by server, with HAProxy's `http-reuse safe` rule: the
 * first request of a client connection gets a new server connection, later
 * ones may reuse an idle one. A request that fails on a reused connection
 * before any response byte (the server closed it meanwhile) is sent again on
 * a new connection.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <time.h>

#include <ev.h>

#include "srcport.h"
#include "algo.h"
#include "cfg.h"
#include "http1.h"
#include "http_proxy.h"
#include "logfmt.h"
#include "stats_page.h"
#include "cookie.h"
#include "lbd.h"
#include "log.h"
#include "tls.h"

/*
 * lbd's own symbols are weak: l7/ is also linked into the tools and tests,
 * which have no worker threads.
 */
#pragma weak lbd
#pragma weak http_accept_hook
#pragma weak worker_conn_closed
#pragma weak lbd_release_server

#define L7_IDLE_BUCKETS 64 /* hash buckets of the idle server connection pool */
#define L7_POOL_PER_SRV 32 /* idle connections kept per server and worker */
#define L7_POOL_IDLE_MS 10000 /* idle server connections close after this (no keep-alive timeout) */
#define L7_LINGER_MS 1000 /* after a closing response: drain the client this long */
#define L7_QUEUE_POLL 0.005 /* seconds between server picks while queued */
#define L7_CIN_EXTRA 8192 /* room for body bytes beyond a maximal head in cin */
#define L7_HDR_EXTRA 32 /* header slots rules may add beyond tune.http.maxhdr */
#define L7_MERGE_MAX 8192 /* body bytes copied behind a head to save a send() */
#define L7_TURNAROUND_MS 1000 /* longest wait before retrying a server that refused */
#define L7_PARK_MS 100 /* idle this long, a server connection may serve another worker */
#define L7_UID_MAX 128 /* longest unique-id + 1, as HAProxy */

/* ---- buffers ---- */

struct buf {
	char *data;
	size_t size;
	size_t rd, wr; /* data[rd..wr) is pending */
};

static int buf_alloc(struct buf *b, size_t size)
{
	b->data = malloc(size);
	b->size = b->data ? size : 0;
	b->rd = b->wr = 0;
	return b->data ? 0 : -ENOMEM;
}

static size_t buf_len(const struct buf *b)
{
	return b->wr - b->rd;
}

/* Make room for n more bytes at the end of an output buffer (grows it). */
static int buf_reserve(struct buf *b, size_t n)
{
	if (b->rd == b->wr)
		b->rd = b->wr = 0;
	if (b->size - b->wr >= n)
		return 0;
	if (b->rd) {
		memmove(b->data, b->data + b->rd, b->wr - b->rd);
		b->wr -= b->rd;
		b->rd = 0;
		if (b->size - b->wr >= n)
			return 0;
	}
	{
		size_t ns = b->size ? b->size : 4096;
		char *d;

		while (ns - b->wr < n)
			ns *= 2;
		d = realloc(b->data, ns);
		if (!d)
			return -ENOMEM;
		b->data = d;
		b->size = ns;
	}
	return 0;
}

static int buf_put(struct buf *b, const void *data, size_t len)
{
	if (buf_reserve(b, len) < 0)
		return -ENOMEM;
	memcpy(b->data + b->wr, data, len);
	b->wr += len;
	return 0;
}

/* ---- per-proxy compiled state ---- */

struct l7_tls_bind {
	struct bind *b;
	void *ctx;
};

struct l7_dyn_be {
	struct switch_rule *sr;
	struct l7_fmt *fmt;
};

struct l7_px {
	bool has_ff_except;
	struct acl_net ff_except;
	struct l7_tls_bind *tls;
	int ntls;
	struct l7_dyn_be *dyn;
	int ndyn;
	struct l7_cookie *cookie; /* the backend's `cookie` persistence, NULL = none */
	struct logfmt *log_fmt; /* `log-format`; NULL: the built-in format of the options */
	struct logfmt *uid_fmt; /* `unique-id-format` */
	struct l7_srv_tls *stls; /* servers with `ssl` or `check-ssl` */
	int nstls;
};

/* TLS to a server: its context (also in srv->tls, for the health checks) and `sni`. */
struct l7_srv_tls {
	struct server *srv;
	struct tls_srv *ts;
	struct smp_expr *sni; /* NULL: no SNI sent */
};

/* Compile a frontend's log-format or unique-id-format; *err gets "file:line: ..." */
static int compile_format(struct proxy *px, const char *text, const struct cfg_loc *loc,
			  const char *what, struct logfmt **out, char **err)
{
	char *sub = NULL;

	*out = logfmt_compile(text, px->mode == PX_MODE_HTTP, what, &sub);
	if (*out)
		return 0;
	cfg_err(err, "%s:%d: proxy '%s': %s", loc->file ? loc->file : "?", loc->line, px->name,
		sub ? sub : "invalid format");
	free(sub);
	return -1;
}

const struct logfmt *l7_px_log_format(const struct proxy *px)
{
	const struct l7_px *lp = __atomic_load_n(&px->l7, __ATOMIC_ACQUIRE);

	return lp ? lp->log_fmt : NULL;
}

const struct logfmt *l7_px_uid_format(const struct proxy *px)
{
	const struct l7_px *lp = __atomic_load_n(&px->l7, __ATOMIC_ACQUIRE);

	return lp ? lp->uid_fmt : NULL;
}

static pthread_mutex_t compile_lock = PTHREAD_MUTEX_INITIALIZER;

static int compile_proxy(struct proxy *px, char **err)
{
	struct l7_px *lp;
	struct switch_rule *sr;
	struct bind *b;
	char *sub = NULL;

	if (px->l7 || (px->cap & PX_CAP_DEF))
		return 0;
	if (l7_stats_check(px, err) < 0)
		return -1;
	lp = calloc(1, sizeof(*lp));
	if (!lp)
		return cfg_err(err, "out of memory");
	if (acl_compile_defs(px, err) < 0)
		goto fail;
	list_for_each(sr, &px->switch_rules, list) {
		if (sr->cond && acl_cond_compile(px, sr->cond, &sub) < 0) {
			cfg_err(err, "%s:%d: 'use_backend %s' condition: %s",
				sr->loc.file ? sr->loc.file : "?", sr->loc.line, sr->be_name, sub);
			free(sub);
			goto fail;
		}
		if (!sr->be && strstr(sr->be_name, "%[")) {
			struct l7_dyn_be *nd = realloc(lp->dyn, (lp->ndyn + 1) * sizeof(*nd));

			if (!nd) {
				cfg_err(err, "out of memory");
				goto fail;
			}
			lp->dyn = nd;
			nd[lp->ndyn].sr = sr;
			nd[lp->ndyn].fmt = l7_fmt_compile(sr->be_name, &sub);
			if (!nd[lp->ndyn].fmt) {
				cfg_err(err, "%s:%d: 'use_backend %s': %s",
					sr->loc.file ? sr->loc.file : "?", sr->loc.line,
					sr->be_name, sub);
				free(sub);
				goto fail;
			}
			lp->ndyn++;
		}
	}
	if (l7_rules_compile(px, err) < 0)
		goto fail;
	if (l7_cookie_compile(px, &lp->cookie, err) < 0)
		goto fail;
	/* formats of frontends only: HAProxy ignores a backend's */
	if ((px->cap & PX_CAP_FE) && px->log_format &&
	    compile_format(px, px->log_format, &px->log_format_loc, "log-format", &lp->log_fmt,
			   err) < 0)
		goto fail;
	if ((px->cap & PX_CAP_FE) && px->unique_id_format &&
	    compile_format(px, px->unique_id_format, &px->unique_id_format_loc, "unique-id-format",
			   &lp->uid_fmt, err) < 0)
		goto fail;
	if (px->forwardfor_except) {
		if (acl_net_parse(px->forwardfor_except, &lp->ff_except) < 0) {
			cfg_err(err,
				"%s:%d: proxy '%s': 'option forwardfor except %s': not a network",
				px->loc.file ? px->loc.file : "?", px->loc.line, px->name,
				px->forwardfor_except);
			goto fail;
		}
		lp->has_ff_except = true;
	}
	if (px->mode == PX_MODE_HTTP) {
		list_for_each(b, &px->binds, list) {
			struct l7_tls_bind *nt;
			const struct global *g = px->m ? &px->m->global : NULL;
			void *ctx;

			if (!b->ssl)
				continue;
			ctx = tls_ctx_new(b->crt, g, &sub);
			if (!ctx) {
				cfg_err(err, "%s:%d: bind '%s': %s",
					b->loc.file ? b->loc.file : "?", b->loc.line,
					b->name ? b->name : "?", sub);
				free(sub);
				goto fail;
			}
			nt = realloc(lp->tls, (lp->ntls + 1) * sizeof(*nt));
			if (!nt) {
				tls_ctx_free(ctx);
				cfg_err(err, "out of memory");
				goto fail;
			}
			lp->tls = nt;
			nt[lp->ntls].b = b;
			nt[lp->ntls].ctx = ctx;
			lp->ntls++;
		}
	}
	if (px->cap & PX_CAP_BE) {
		const struct global *g = px->m ? &px->m->global : NULL;
		struct server *s;
		int n = 0;

		list_for_each(s, &px->servers, list)
			n++;
		lp->stls = n ? calloc(n, sizeof(*lp->stls)) : NULL;
		if (n && !lp->stls) {
			cfg_err(err, "out of memory");
			goto fail;
		}
		list_for_each(s, &px->servers, list) {
			struct l7_srv_tls *st = &lp->stls[lp->nstls];

			if (!s->ssl && s->check.ssl != SRV_CHK_SSL_ON)
				continue;
			bool bad_sni = false;

			st->srv = s;
			st->ts = tls_srv_new(s, g, &sub);
			if (st->ts && s->sni && !(st->sni = smp_expr_parse(s->sni, &sub))) {
				tls_srv_free(st->ts);
				st->ts = NULL;
				bad_sni = true;
			}
			if (!st->ts) {
				cfg_err(err, "%s:%d: 'server %s': %s%s",
					s->loc.file ? s->loc.file : "?", s->loc.line, s->name,
					bad_sni ? "'sni': " : "", sub ? sub : "?");
				free(sub);
				goto fail;
			}
			lp->nstls++;
			s->tls = st->ts;
		}
	}
	__atomic_store_n(&px->l7, lp, __ATOMIC_RELEASE);
	return 0;
fail:
	px->l7 = lp;
	l7_free_proxy(px);
	return -1;
}

int l7_compile_proxy(struct proxy *px, char **err)
{
	int rc;

	if (err)
		*err = NULL;
	if (!px)
		return 0;
	pthread_mutex_lock(&compile_lock);
	rc = compile_proxy(px, err);
	pthread_mutex_unlock(&compile_lock);
	return rc;
}

int l7_compile_model(struct model *m, char **err)
{
	struct proxy *px;

	list_for_each(px, &m->proxies, list) {
		if (l7_compile_proxy(px, err) < 0)
			return -1;
	}
	return 0;
}

void l7_free_proxy(struct proxy *px)
{
	struct l7_px *lp;
	struct switch_rule *sr;

	if (!px)
		return;
	lp = px->l7;
	list_for_each(sr, &px->switch_rules, list) {
		if (sr->cond) {
			acl_cond_free(sr->cond->compiled);
			sr->cond->compiled = NULL;
		}
	}
	l7_rules_free(px);
	acl_free_defs(px);
	if (lp) {
		for (int i = 0; i < lp->ntls; i++)
			tls_ctx_free(lp->tls[i].ctx);
		free(lp->tls);
		for (int i = 0; i < lp->nstls; i++) {
			if (lp->stls[i].srv->tls == lp->stls[i].ts)
				lp->stls[i].srv->tls = NULL;
			smp_expr_free(lp->stls[i].sni);
			tls_srv_free(lp->stls[i].ts);
		}
		free(lp->stls);
		for (int i = 0; i < lp->ndyn; i++)
			l7_fmt_free(lp->dyn[i].fmt);
		free(lp->dyn);
		l7_cookie_free(lp->cookie);
		logfmt_free(lp->log_fmt);
		logfmt_free(lp->uid_fmt);
		free(lp);
	}
	px->l7 = NULL;
}

/* Compiled state of px, compiling it now if the config loader did not. */
static struct l7_px *px_l7(struct proxy *px)
{
	struct l7_px *lp = __atomic_load_n(&px->l7, __ATOMIC_ACQUIRE);
	char *err = NULL;

	if (lp)
		return lp;
	if (l7_compile_proxy(px, &err) < 0) {
		lb_err("%s", err ? err : "cannot compile the L7 rules");
		free(err);
		return NULL;
	}
	return px->l7;
}

/* ---- connections ---- */

struct hconn;

/*
 * Idle server connections a worker's transactions left (http-reuse safe:
 * shared across clients). A connection stays watched by its worker's loop
 * at first, which sees at once a server that closes it and reuses it at no
 * cost. Once idle for L7_PARK_MS the worker's tick parks it: watched by no
 * loop, it may then be taken by any worker whose own pool has nothing for
 * the server (hence the lock), after a check that the server neither
 * closed it nor wrote to it meanwhile.
 */
struct l7_pool {
	pthread_mutex_t lock;
	struct list_head bucket[L7_IDLE_BUCKETS]; /* per server hash, most recent first */
	struct list_head lru; /* oldest first */
};

/* Per-worker state of the L7 tier (only touched by that worker's thread, but the pool). */
struct l7_worker {
	struct worker *w;
	bool ready;
	struct list_head conns; /* struct hconn */
	ev_timer tick; /* pool expiry, soft stop, reload clean-up */
	struct l7_pool pool;
};

static struct l7_worker l7w[LBD_MAX_WORKERS];
static int l7_clients; /* open client connections of the L7 tier, all workers; atomic */

/* A connection to a server: owned by a transaction, or idle in the pool. */
struct sconn {
	struct list_head bucket; /* in a pool's bucket[] while idle */
	struct list_head lru; /* in a pool's lru while idle */
	struct l7_worker *lw; /* the worker whose loop watches fd; NULL while parked */
	struct server *srv; /* reference held for the connection's life */
	struct model *m; /* generation it was opened for */
	int fd;
	struct xconn x; /* transport: plain, or TLS with `ssl` */
	bool tcp_up; /* connect() done (the TLS handshake may follow) */
	bool hs_done; /* TLS handshake done (always for plain) */
	char *sni; /* SNI sent, NULL when none: reused only for the same one */
	ev_io io;
	struct hconn *owner; /* NULL while idle */
	bool parked; /* idle and watched by no loop: any worker may take it */
	ev_tstamp idle_since;
	unsigned nreq; /* requests carried */
};

enum rq_state {
	RQ_IDLE = 0, /* no request byte yet */
	RQ_HEAD, /* receiving the head */
	RQ_BODY, /* forwarding the body */
	RQ_DONE, /* request complete (or answered locally) */
	RQ_TUNNEL, /* after an upgrade: raw bytes */
};

enum rs_state {
	RS_NONE = 0, /* no server connection yet */
	RS_HEAD, /* waiting for the response head */
	RS_BODY,
	RS_DONE,
	RS_TUNNEL,
};

enum sv_state {
	SV_NONE = 0,
	SV_QUEUED, /* every usable server is at its maxconn */
	SV_TURNAROUND, /* a connect failed: wait before trying the same server again */
	SV_CONNECTING,
	SV_READY,
};

struct txn {
	enum rq_state rq;
	enum rs_state rs;
	enum sv_state sv;
	struct h1_msg req, rsp;
	struct l7_msg reqv, rspv; /* what the rules and fetches see */
	struct proxy *be;
	struct server *srv; /* lb_pick's reference: counted in srv->cur_conns */
	struct server *failed;
	int retries_left;
	int nretries;
	bool redispatched;
	size_t head_len; /* request head length, kept at the start of cin */
	uint64_t req_left;
	struct h1_chunk req_ck;
	size_t req_fwd; /* validated request bytes at cin.rd, to send */
	uint64_t rsp_left;
	struct h1_chunk rsp_ck;
	size_t rsp_fwd; /* validated response bytes at sin.rd, to send */
	bool rsp_dechunk; /* chunked response to an HTTP/1.0 client: send the payload only */
	bool s_eof; /* the server closed (or failed) */
	bool s_shut; /* FIN sent to the server (tunnel) */
	bool cli_close; /* close the client connection after this transaction */
	bool srv_close; /* do not reuse the server connection */
	bool upgrade; /* the request asks for a protocol upgrade */
	bool first; /* first request of the connection: never on a reused server connection */
	bool reused; /* the server connection came from the pool */
	bool req_body_sent; /* request body bytes reached the server: no transparent retry */
	bool conn_tried; /* the head was offered to the connecting socket once */
	bool rsp_head_sent; /* the final response head went to the client */
	int status;
	uint64_t bytes_out; /* to the client */
	uint64_t bytes_in; /* from the client */
	ev_tstamp t_start, t_head, t_queued, t_conn, t_rsp, q_deadline, conn_deadline, retry_at;
	double wall_start;
	char term[2];
	char *reqline;
	size_t reqline_len;
	struct l7_arena arena;
	bool active; /* a request started: log it when it ends */
	struct l7_ck_txn ck; /* cookie persistence (cookie.h) */
	bool req_parsed; /* the request head was parsed (captures are shown) */
	uint64_t rt; /* %rt */
	char *uid; /* unique-id (in arena), NULL when none */
};

struct hconn {
	struct list_head list; /* in lw->conns */
	struct l7_worker *lw;
	struct worker *w;
	struct listener *l;
	struct proxy *fe;
	struct xconn cx;
	bool hs_done;
	bool ssl;
	int cfd;
	ev_io cio;
	ev_timer timer;
	struct sockaddr_storage src, dst;
	struct buf cin, cout, sin, sout;
	size_t bufsize; /* head limit (tune.bufsize) */
	uint32_t maxhdr;
	struct h1_hdr *req_hdrs, *rsp_hdrs, *reqv_hdrs, *rspv_hdrs;
	bool c_eof, c_more, c_wblocked;
	bool s_more, s_wblocked;
	bool closing; /* flushing cout, then close */
	bool lingering; /* cout flushed and FIN sent: draining the client */
	bool dead;
	bool in_progress;
	ev_tstamp t_accept, c_last, s_last, t_idle, close_at;
	double wall_accept;
	unsigned ntxn;
	uint64_t bytes_rx_total; /* anything received from the client */
	struct sconn *sc;
	/* `capture ... header` values: cap[0..nreq) request, then response; NULL = absent */
	const char **cap;
	char *cap_data; /* one slot of len + 1 bytes per capture */
	struct txn t;
};

static void hc_progress(struct hconn *h, int crev, int srev);
static void hc_update(struct hconn *h);

static ev_tstamp now_of(struct hconn *h)
{
	return ev_now(h->w->loop);
}

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void set_io(struct ev_loop *loop, ev_io *io, int fd, int events)
{
	if (fd < 0)
		return;
	if (ev_is_active(io) && io->events == events)
		return;
	ev_io_stop(loop, io);
	if (!events)
		return;
	ev_io_set(io, fd, events);
	ev_io_start(loop, io);
}

/* ---- server connection pool ---- */

static unsigned srv_bucket(const struct server *s)
{
	uintptr_t v = (uintptr_t)s;

	return (unsigned)((v >> 4) ^ (v >> 12)) % L7_IDLE_BUCKETS;
}

/* Close a server connection that is in no pool list. */
static void sconn_close(struct sconn *sc)
{
	struct l7_worker *lw = sc->lw;

	if (lw) {
		ev_io_stop(lw->w->loop, &sc->io);
		lw->w->nconns--;
	}
	if (sc->x.ops) {
		if (sc->x.ssl && sc->hs_done)
			sc->x.ops->shutw(&sc->x); /* close_notify */
		sc->x.ops->release(&sc->x);
	}
	free(sc->sni);
	if (sc->fd >= 0)
		close(sc->fd);
	server_put(sc->srv);
	free(sc);
}

static void pool_unlink(struct sconn *sc)
{
	list_del(&sc->bucket);
	list_del(&sc->lru);
}

static void sconn_io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct sconn *sc = io->data;
	struct l7_pool *p;

	if (sc->owner) {
		hc_progress(sc->owner, 0, revents);
		return;
	}
	/* Idle (not parked): the server closed it, or sent bytes nobody asked for. */
	p = &sc->lw->pool;
	pthread_mutex_lock(&p->lock);
	pool_unlink(sc);
	pthread_mutex_unlock(&p->lock);
	sconn_close(sc);
}

/*
 * A parked connection the server has neither closed nor written to. With
 * TLS too: an idle server sends nothing, so anything readable (close_notify
 * or garbage) means the connection is not reusable.
 */
static bool sconn_alive(const struct sconn *sc)
{
	char c;
	ssize_t n = recv(sc->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);

	return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

/* Unlink the most recently idle connection to srv from pool p (only parked ones unless own). */
static bool same_sni(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static struct sconn *pool_pop(struct l7_pool *p, struct server *srv, const char *sni, bool own)
{
	struct list_head *b = &p->bucket[srv_bucket(srv)];
	struct sconn *sc, *found = NULL;

	pthread_mutex_lock(&p->lock);
	list_for_each(sc, b, bucket) {
		if (sc->srv == srv && (own || sc->parked) && same_sni(sc->sni, sni)) {
			found = sc;
			pool_unlink(sc);
			break;
		}
	}
	pthread_mutex_unlock(&p->lock);
	return found;
}

/*
 * An idle connection to srv, from lw's pool, else a parked one from another
 * worker's; now watched (or to be watched) by lw's loop. NULL when none.
 */
static struct sconn *pool_take(struct l7_worker *lw, struct server *srv, const char *sni)
{
	int self = (int)(lw - l7w), nw = &lbd ? lbd.nworkers : 1;
	struct sconn *sc;

	if (nw < 1 || nw > LBD_MAX_WORKERS)
		nw = LBD_MAX_WORKERS;
	for (int i = 0; i < nw; i++) {
		struct l7_pool *p = &l7w[(self + i) % nw].pool;

		while ((sc = pool_pop(p, srv, sni, i == 0))) {
			if (!sc->parked)
				return sc; /* still watched by this loop: known alive */
			if (sconn_alive(sc)) {
				sc->parked = false;
				sc->lw = lw;
				lw->w->nconns++;
				return sc;
			}
			sconn_close(sc);
		}
	}
	return NULL;
}

static void pool_put(struct l7_worker *lw, struct sconn *sc)
{
	struct l7_pool *p = &lw->pool;
	struct list_head *b = &p->bucket[srv_bucket(sc->srv)];
	struct sconn *o;
	int n = 0;

	sc->owner = NULL;
	list_init(&sc->bucket);
	if (sc->srv->removed || sc->m != lbd.m || sc->srv->admin == SRV_ADMIN_MAINT ||
	    lw->w->stopping) {
		sconn_close(sc);
		return;
	}
	sc->idle_since = ev_now(lw->w->loop);
	/* watched until parked: a close by the server is seen at once */
	set_io(lw->w->loop, &sc->io, sc->fd, EV_READ);
	pthread_mutex_lock(&p->lock);
	list_for_each(o, b, bucket) {
		if (o->srv == sc->srv)
			n++;
	}
	if (n < L7_POOL_PER_SRV) {
		/* Most recent first: the connection a client just used is the one it reuses. */
		list_add_between(&sc->bucket, b, b->next);
		list_add_tail(&sc->lru, &p->lru);
		sc = NULL;
	}
	pthread_mutex_unlock(&p->lock);
	if (sc)
		sconn_close(sc);
}

static uint32_t pool_idle_ms(const struct sconn *sc)
{
	const struct proxy *be = sc->srv->be;

	if (be && be->to.http_keep_alive)
		return be->to.http_keep_alive;
	return L7_POOL_IDLE_MS;
}

/* ---- transactions ---- */

static struct proxy *txn_be(struct hconn *h)
{
	return h->t.be;
}

static uint32_t to_http_request(struct hconn *h)
{
	return h->fe->to.http_request ? h->fe->to.http_request : h->fe->to.client;
}

static uint32_t to_keep_alive(struct hconn *h)
{
	return h->fe->to.http_keep_alive ? h->fe->to.http_keep_alive : to_http_request(h);
}

static uint32_t to_server(struct hconn *h)
{
	struct proxy *be = txn_be(h);

	return be ? be->to.server : 0;
}

static uint32_t to_tunnel(struct hconn *h)
{
	struct proxy *be = txn_be(h);

	if (be && be->to.tunnel)
		return be->to.tunnel;
	return h->fe->to.tunnel;
}

static void set_term(struct hconn *h, char who, char when)
{
	if (!h->t.term[0]) {
		h->t.term[0] = who;
		h->t.term[1] = when;
	}
}

static int ms_between(ev_tstamp a, ev_tstamp b)
{
	if (a <= 0 || b <= 0 || b < a)
		return -1;
	return (int)((b - a) * 1000 + 0.5);
}

/* The frontend sends its traffic log somewhere. */
static bool fe_logs(const struct proxy *fe)
{
	return !list_empty(&fe->logs) || fe->log_global;
}

/* The transaction's number (%rt), taken when first needed. */
static uint64_t txn_rt(struct hconn *h)
{
	struct txn *t = &h->t;

	if (!t->rt)
		t->rt = logfmt_next_rt() + 1;
	return t->rt - 1;
}

/* The captures and unique-id the fetches of env may read (capture.req.hdr, unique-id). */
static void env_txn(struct hconn *h, struct acl_env *env)
{
	if (h->cap) {
		env->req_cap = h->cap;
		env->nreq_cap = h->fe->nreq_caps;
		env->rsp_cap = h->cap + h->fe->nreq_caps;
		env->nrsp_cap = h->fe->nrsp_caps;
	}
	env->unique_id = h->t.uid;
}

/* What the fetches read: the request, the connection, the captures and unique-id. */
static void hc_env(struct hconn *h, struct acl_env *env)
{
	memset(env, 0, sizeof(*env));
	env->req = &h->t.reqv;
	env->src = &h->src;
	env->dst = &h->dst;
	env->ssl = h->ssl;
	env->sni = h->ssl ? xconn_sni(&h->cx) : NULL;
	env_txn(h, env);
}

/*
 * What the log line (or the unique-id) of the transaction shows, as of
 * now. env is set up for the %[...] samples: the request as the rules left
 * it, no response (its head is gone by the end of the transaction).
 */
static void txn_fill_log(struct hconn *h, struct l7_log *l, struct acl_env *env)
{
	struct txn *t = &h->t;
	ev_tstamp now = now_of(h);
	struct proxy *be = t->be, *cbe;

	memset(l, 0, sizeof(*l));
	hc_env(h, env);
	if (!t->reqv.h1)
		env->req = NULL;
	l->fe = h->fe;
	l->be = be;
	l->srv = t->srv;
	l->src = &h->src;
	l->dst = &h->dst;
	l->ssl = h->ssl;
	l->t_req = t->wall_start;
	/* a keep-alive request's "accept date" is the end of the previous one, as HAProxy */
	l->t_accept = h->ntxn ? h->t_idle : h->wall_accept;
	l->ti = h->ntxn ? ms_between(h->t_idle, t->t_start) : 0;
	if (l->ti < 0)
		l->ti = 0;
	/*
	 * As HAProxy: Tw once the request left the queue for a server, Tc once
	 * connected, Tr once the response head came; -1 for a step not reached
	 * (a rule's reply, no server, a failed connect, no response).
	 */
	l->tr = ms_between(t->t_start, t->t_head);
	l->tw = t->t_head > 0 && t->t_queued > 0 ? ms_between(t->t_head, t->t_queued) : -1;
	l->tc = t->t_conn > 0 && t->t_queued > 0 ? ms_between(t->t_queued, t->t_conn) : -1;
	l->trs = t->t_rsp > 0 && t->t_conn > 0 ? ms_between(t->t_conn, t->t_rsp) : -1;
	l->ta = ms_between(t->t_start, now);
	if (l->ta < 0)
		l->ta = 0;
	l->tt = ms_between(h->ntxn ? h->t_idle : h->t_accept, now);
	l->status = t->status ? t->status : -1;
	l->bytes = t->bytes_out;
	l->bytes_in = t->bytes_in;
	l->term[0] = t->term[0] ? t->term[0] : '-';
	l->term[1] = t->term[1] ? t->term[1] : '-';
	l->actconn = __atomic_load_n(&l7_clients, __ATOMIC_RELAXED);
	l->feconn = __atomic_load_n(&h->fe->cur_conns, __ATOMIC_RELAXED);
	l->beconn = be ? __atomic_load_n(&be->cur_conns, __ATOMIC_RELAXED) : 0;
	/* the transaction still holds its slot: HAProxy logs the count without it */
	l->srvconn = t->srv ? __atomic_load_n(&t->srv->cur_conns, __ATOMIC_RELAXED) - 1 : 0;
	if (l->srvconn < 0)
		l->srvconn = 0;
	l->retries = t->nretries;
	l->redispatched = t->redispatched;
	l->reqline = t->reqline;
	l->reqline_len = t->reqline_len;
	if (t->req_parsed && h->cap) {
		l->req_cap = h->cap;
		l->rsp_cap = h->cap + h->fe->nreq_caps;
	}
	l->unique_id = t->uid;
	/* the cookie letters of %tsc; a listen section is its own backend from the start */
	cbe = be ? be : h->fe;
	if (cbe->l7)
		l7_cookie_log(((struct l7_px *)cbe->l7)->cookie, &t->ck, l->ck);
	l->rt = txn_rt(h);
	l->env = env;
}

static void txn_log(struct hconn *h)
{
	struct txn *t = &h->t;
	struct sockaddr_storage bsrc;
	socklen_t blen = sizeof(bsrc);
	struct acl_env env;
	struct l7_log l;

	if (!t->active)
		return;
	t->active = false;
	if (!fe_logs(h->fe))
		return;
	if ((h->fe->options & PX_OPT_DONTLOGNULL) && t->rq <= RQ_HEAD && !t->reqline &&
	    buf_len(&h->cin) == 0 && t->bytes_in == 0)
		return;
	txn_fill_log(h, &l, &env);
	if (h->sc && h->sc->fd >= 0 && (logfmt_needs(l7_px_log_format(h->fe)) & LF_NEED_BADDR) &&
	    !getsockname(h->sc->fd, (struct sockaddr *)&bsrc, &blen))
		l.bsrc = &bsrc;
	l7_log_http(&l);
}

/* The request's unique-id (`unique-id-format`), made once before the rules run. */
static void txn_unique_id(struct hconn *h)
{
	const struct logfmt *f = l7_px_uid_format(h->fe);
	struct txn *t = &h->t;
	char tmp[L7_UID_MAX];
	struct acl_env env;
	struct l7_log l;
	struct lf_data d;
	size_t n;

	if (!f || t->uid)
		return;
	txn_fill_log(h, &l, &env);
	l7_log_data(&l, &d);
	n = logfmt_render(f, &d, tmp, sizeof(tmp));
	t->uid = l7_arena_alloc(&t->arena, n + 1);
	if (t->uid)
		memcpy(t->uid, tmp, n + 1);
}

/* Capture slots of the frontend's `capture ... header` lines, made with the connection. */
static int caps_alloc(struct hconn *h)
{
	const struct proxy *fe = h->fe;
	int n = fe->nreq_caps + fe->nrsp_caps;
	size_t total = 0;

	if (!n)
		return 0;
	for (int i = 0; i < fe->nreq_caps; i++)
		total += (size_t)fe->req_caps[i].len + 1;
	for (int i = 0; i < fe->nrsp_caps; i++)
		total += (size_t)fe->rsp_caps[i].len + 1;
	h->cap = calloc(n, sizeof(*h->cap));
	h->cap_data = malloc(total);
	return h->cap && h->cap_data ? 0 : -ENOMEM;
}

/*
 * Capture the headers of a message as received (before the rules), as
 * HAProxy: the last occurrence of each name, cut to its length.
 */
static void capture_hdrs(struct hconn *h, const struct h1_msg *m, bool rsp)
{
	const struct proxy *fe = h->fe;
	const struct px_capture *caps = rsp ? fe->rsp_caps : fe->req_caps;
	int n = rsp ? fe->nrsp_caps : fe->nreq_caps, base = rsp ? fe->nreq_caps : 0;
	size_t off = 0;

	if (!h->cap)
		return;
	for (int i = 0; rsp && i < fe->nreq_caps; i++)
		off += (size_t)fe->req_caps[i].len + 1;
	for (int i = 0; i < n; i++) {
		size_t nlen = strlen(caps[i].name), len;
		char *slot = h->cap_data + off;
		int last = -1;

		off += (size_t)caps[i].len + 1;
		for (uint32_t j = 0; j < m->nhdrs; j++) {
			if (m->hdrs[j].name_len == nlen &&
			    !strncasecmp(m->hdrs[j].name, caps[i].name, nlen))
				last = (int)j;
		}
		h->cap[base + i] = NULL;
		if (last < 0)
			continue;
		len = m->hdrs[last].value_len;
		if (len > (size_t)caps[i].len)
			len = (size_t)caps[i].len;
		memcpy(slot, m->hdrs[last].value, len);
		slot[len] = 0;
		h->cap[base + i] = slot;
	}
}

/* The transaction's server slot (lb_pick's reference and in-flight count). */
static void txn_release_srv(struct hconn *h)
{
	if (h->t.srv) {
		if (&lbd_release_server)
			lbd_release_server(h->t.srv);
		else
			lb_release(h->t.srv);
		h->t.srv = NULL;
	}
}

static void count_status(struct proxy *px, int status)
{
	int k = status >= 100 && status < 600 ? status / 100 - 1 : 5;

	if (px)
		__atomic_add_fetch(&px->http_rsp[k], 1, __ATOMIC_RELAXED);
}

/* Drop the server connection (closing it) and stop watching it. */
static void txn_drop_sconn(struct hconn *h)
{
	if (h->sc) {
		h->sc->owner = NULL;
		list_init(&h->sc->bucket);
		sconn_close(h->sc);
		h->sc = NULL;
	}
}

static void hc_start_close(struct hconn *h)
{
	if (h->closing)
		return;
	h->closing = true;
	h->close_at = now_of(h) + L7_LINGER_MS / 1000.0;
}

/*
 * Put a Connection header right after the status line of a response the
 * proxy built, unless its head already has one. Takes and returns data.
 */
static char *add_conn_hdr(char *data, size_t *len, const char *value)
{
	const char *eol = memchr(data, '\n', *len), *end;
	size_t vlen = strlen(value), off, hlen = 14 + vlen;
	char *n;

	if (!eol)
		return data;
	end = memmem(data, *len, "\r\n\r\n", 4);
	for (const char *p = eol + 1; end && p < end;) {
		if (!strncasecmp(p, "connection:", 11))
			return data;
		p = memchr(p, '\n', end + 2 - p);
		if (!p)
			break;
		p++;
	}
	n = malloc(*len + hlen);
	if (!n)
		return data;
	off = eol + 1 - data;
	memcpy(n, data, off);
	memcpy(n + off, "connection: ", 12);
	memcpy(n + off + 12, value, vlen);
	memcpy(n + off + 12 + vlen, "\r\n", 2);
	memcpy(n + off + hlen, data + off, *len - off);
	*len += hlen;
	free(data);
	return n;
}

/* The head of a response the proxy sends (an errorfile, say) asks to close. */
static bool head_says_close(const char *data, size_t len)
{
	const char *end = memmem(data, len, "\r\n\r\n", 4), *p = data;

	if (!end)
		return true; /* no complete head: only the close can end it */
	while ((p = memchr(p, '\n', end - p)) && p < end) {
		p++;
		if (!strncasecmp(p, "connection:", 11)) {
			const char *eol = memchr(p, '\r', end + 2 - p);

			if (eol && h1_value_has_token(p + 11, eol - p - 11, "close"))
				return true;
		}
	}
	return false;
}

/*
 * Answer with a response the proxy made (error pages, deny, return,
 * redirect). The server side, if any, is abandoned. The client connection
 * stays open when the request was read completely and allows it.
 */
static void txn_reply(struct hconn *h, int status, char *data, size_t len, bool close)
{
	struct txn *t = &h->t;

	if (t->rsp_head_sent) {
		/* Too late for a response: just cut the connection. */
		free(data);
		t->cli_close = true;
		txn_drop_sconn(h);
		t->rs = RS_DONE;
		t->rq = RQ_DONE;
		t->rsp_fwd = 0;
		h->sin.rd = h->sin.wr = 0;
		hc_start_close(h);
		return;
	}
	if (h->sc)
		t->srv_close = true;
	txn_drop_sconn(h);
	h->sin.rd = h->sin.wr = 0;
	t->rsp_fwd = 0;
	t->sv = SV_NONE;
	h->sout.rd = h->sout.wr = 0;
	t->status = status;
	count_status(h->fe, status);
	/* A request whose body was not read entirely cannot be followed by another one. */
	if (t->rq != RQ_DONE || t->req_fwd) {
		close = true;
		t->rq = RQ_DONE;
	}
	t->req_fwd = 0;
	if (data && head_says_close(data, len))
		close = true;
	if (close || t->cli_close || h->closing) {
		t->cli_close = true;
		if (data)
			data = add_conn_hdr(data, &len, "close");
	} else if (t->req.version == 10 && data) {
		data = add_conn_hdr(data, &len, "keep-alive");
	}
	if (data) {
		if (buf_put(&h->cout, data, len) == 0)
			t->bytes_out += len;
		free(data);
	}
	t->rsp_head_sent = true;
	t->rs = RS_DONE;
}

static void txn_error(struct hconn *h, int status, char who, char when)
{
	size_t len = 0;
	char *page = l7_error_page(h->fe, h->t.be, status, &len);

	set_term(h, who, when);
	/* after a malformed or late request the connection cannot go on */
	txn_reply(h, status, page, page ? len : 0,
		  status == 400 || status == 408 || status == 413 || status == 414 ||
			  status == 431 || status == 501 || status == 422);
}

/* ---- request analysis ---- */

static const char *lb_get_hdr(void *ctx, const char *name, size_t *len)
{
	const struct l7_msg *m = ctx;
	int i = l7_msg_find(m, name, strlen(name), 0);

	if (i < 0)
		return NULL;
	*len = m->hdrs[i].value_len;
	return m->hdrs[i].value;
}

static bool is_hop_by_hop(const struct h1_hdr *hd)
{
	return h1_hdr_is(hd, "connection") || h1_hdr_is(hd, "keep-alive") ||
	       h1_hdr_is(hd, "proxy-connection");
}

/*
 * The header is named in a Connection header of msg (hop-by-hop by option).
 * Only worth asking when msg has H1_F_CONN_NAMES.
 */
static bool named_in_connection(const struct h1_msg *msg, const struct h1_hdr *hd)
{
	struct h1_iter it = H1_ITER_INIT;
	const char *el;
	size_t len;

	while (h1_iter_next(msg, "connection", &it, &el, &len)) {
		if (len == hd->name_len && !strncasecmp(el, hd->name, len) &&
		    !(len == 7 && !strncasecmp(el, "upgrade", 7)))
			return true;
	}
	return false;
}

static struct proxy *route(struct hconn *h, struct acl_env *env)
{
	struct l7_px *lp = h->fe->l7;
	struct switch_rule *sr;

	list_for_each(sr, &h->fe->switch_rules, list) {
		if (!acl_cond_eval(sr->cond, env))
			continue;
		if (sr->be)
			return sr->be;
		for (int i = 0; lp && i < lp->ndyn; i++) {
			char name[256];

			if (lp->dyn[i].sr != sr)
				continue;
			l7_fmt_expand(lp->dyn[i].fmt, env, name, sizeof(name));
			if (h->fe->m) {
				struct proxy *be = model_find_backend(h->fe->m, name);

				if (be && be->mode == PX_MODE_HTTP)
					return be;
			}
		}
		/* a dynamic name that names no backend: try the next rule */
	}
	return h->fe->default_backend;
}

static int build_req_head(struct hconn *h)
{
	struct txn *t = &h->t;
	const struct h1_msg *m = &t->req;
	struct proxy *be = t->be;
	struct h1_out o;
	size_t need = t->head_len + 1024;
	bool conn_hdr = m->flags & H1_F_CONN_NAMES;
	uint32_t i;
	long n;

	for (i = 0; i < t->reqv.nhdrs; i++)
		need += t->reqv.hdrs[i].name_len + t->reqv.hdrs[i].value_len + 4;
	if (buf_reserve(&h->sout, need) < 0)
		return -ENOMEM;
	h1_out_init(&o, h->sout.data + h->sout.wr, h->sout.size - h->sout.wr);
	/* HTTP/1.0 requests stay 1.0 (they may lack Host); the rest goes as 1.1 */
	h1_out_request(&o, m->method_str, m->method_len, m->target, m->target_len,
		       m->version == 10 ? 10 : 11);
	for (i = 0; i < t->reqv.nhdrs; i++) {
		const struct h1_hdr *hd = &t->reqv.hdrs[i];

		if (is_hop_by_hop(hd) || (conn_hdr && named_in_connection(m, hd)))
			continue;
		if (h1_hdr_is(hd, "upgrade") && !t->upgrade)
			continue;
		if (h1_hdr_is(hd, "content-length")) {
			/* one normalised Content-Length below, none beside chunked */
			continue;
		}
		h1_out_header(&o, hd->name, hd->name_len, hd->value, hd->value_len);
	}
	if (m->body == H1_BODY_CL && !(m->flags & H1_F_CL_TE_CONFLICT) && (m->flags & H1_F_HAS_CL))
		h1_out_header_u64(&o, "content-length", m->content_length);
	if (t->upgrade)
		h1_out_header_str(&o, "connection", "upgrade");
	else if (t->srv_close)
		h1_out_header_str(&o, "connection", "close");
	else if (m->version == 10)
		h1_out_header_str(&o, "connection", "keep-alive");
	/* option forwardfor: the backend's settings win over the frontend's */
	if ((be && (be->options & PX_OPT_FORWARDFOR)) || (h->fe->options & PX_OPT_FORWARDFOR)) {
		struct proxy *ffp = be && (be->options & PX_OPT_FORWARDFOR) ? be : h->fe;
		struct l7_px *lp = ffp->l7;
		const char *hname =
			ffp->forwardfor_header ? ffp->forwardfor_header : "X-Forwarded-For";
		bool skip = lp && lp->has_ff_except && acl_net_match(&lp->ff_except, &h->src);

		if (!skip && ffp->forwardfor_if_none &&
		    l7_msg_find(&t->reqv, hname, strlen(hname), 0) >= 0)
			skip = true;
		if (!skip) {
			char ip[INET6_ADDRSTRLEN] = "";
			struct acl_net a;

			/* an IPv4-mapped IPv6 client is shown as IPv4 */
			acl_net_from_ss(&a, &h->src);
			if (a.family && inet_ntop(a.family, a.addr, ip, sizeof(ip)))
				h1_out_header_str(&o, hname, ip);
		}
	}
	h1_out_end(&o);
	n = h1_out_result(&o);
	if (n < 0)
		return (int)n;
	h->sout.wr += (size_t)n;
	return 0;
}

static void conn_failed(struct hconn *h, int err);
static void txn_connect(struct hconn *h);

static bool be_has_servers(struct proxy *be)
{
	bool any;

	pthread_mutex_lock(&be->lock);
	any = be->pool && be->pool->n > 0;
	pthread_mutex_unlock(&be->lock);
	return any;
}

static void srv_connected(struct hconn *h)
{
	struct txn *t = &h->t;

	t->sv = SV_READY;
	t->t_conn = now_of(h);
	h->s_last = t->t_conn;
	h->s_wblocked = false;
	if (t->rs == RS_NONE) {
		t->rs = RS_HEAD;
		h1_msg_init_resp(&t->rsp, h->rsp_hdrs, h->maxhdr, h->bufsize, t->req.method);
	}
}

static struct sconn *sconn_new(struct hconn *h, struct server *srv)
{
	struct sconn *sc = calloc(1, sizeof(*sc));

	if (!sc)
		return NULL;
	sc->lw = h->lw;
	sc->srv = srv;
	server_get(srv);
	sc->m = lbd.m;
	sc->fd = -1;
	list_init(&sc->bucket);
	list_init(&sc->lru);
	ev_io_init(&sc->io, sconn_io_cb, -1, 0);
	sc->io.data = sc;
	h->w->nconns++;
	return sc;
}

/* The TLS handshake with the server: connected once it is done. */
static void srv_handshake(struct hconn *h)
{
	struct sconn *sc = h->sc;
	int r = sc->x.ops->handshake(&sc->x);

	if (r > 0) {
		sc->hs_done = true;
		srv_connected(h);
	} else if (r < 0) {
		conn_failed(h, EPROTO);
	}
}

/*
 * The SNI for a connection to s (`sni EXPR` evaluated on the request) in
 * buf, or NULL when none is sent.
 */
static const char *txn_sni(struct hconn *h, struct server *s, char *buf, size_t size)
{
	struct l7_px *lp;
	struct acl_env env;

	if (!s->ssl || !s->sni || !s->be || !(lp = px_l7(s->be)))
		return NULL;
	for (int i = 0; i < lp->nstls; i++) {
		if (lp->stls[i].srv != s || !lp->stls[i].sni)
			continue;
		hc_env(h, &env);
		if (smp_expr_str(lp->stls[i].sni, &env, buf, size) <= 0)
			return NULL;
		return buf;
	}
	if (s->tls_sni) { /* a server added at run time */
		hc_env(h, &env);
		if (smp_expr_str(s->tls_sni, &env, buf, size) <= 0)
			return NULL;
		return buf;
	}
	return NULL;
}

/*
 * A server added at run time (`add server`, discovery, carried over a
 * reload) does not go through l7_compile_proxy: make its TLS client
 * context and `sni` here (server_prepare_hook), owned by the server.
 */
static int l7_server_prepare(struct proxy *be, struct server *s, char **err)
{
	const struct global *g = be->m ? &be->m->global : NULL;
	struct tls_srv *ts;
	struct smp_expr *sni = NULL;
	char *sub = NULL;

	if (!s->ssl && s->check.ssl != SRV_CHK_SSL_ON)
		return 0;
	if (s->ssl && be->mode != PX_MODE_HTTP)
		return cfg_err(err, "server '%s': 'ssl' needs a mode http backend", s->name);
	ts = tls_srv_new(s, g, &sub);
	if (ts && s->sni && !(sni = smp_expr_parse(s->sni, &sub))) {
		tls_srv_free(ts);
		ts = NULL;
	}
	if (!ts) {
		cfg_err(err, "server '%s': TLS: %s", s->name, sub ? sub : "?");
		free(sub);
		return -1;
	}
	s->tls = ts;
	s->tls_sni = sni;
	s->tls_own = true;
	return 0;
}

static void l7_server_release(struct server *s)
{
	tls_srv_free(s->tls);
	smp_expr_free(s->tls_sni);
	s->tls = NULL;
	s->tls_sni = NULL;
}

/* Open a new connection to t->srv (TLS with `ssl`, sending sni). */
static void txn_open(struct hconn *h, const char *sni)
{
	struct txn *t = &h->t;
	struct server *s = t->srv;
	uint32_t cto = t->be->to.connect;
	int one = 1, fd;

	h->sc = sconn_new(h, s);
	if (!h->sc) {
		conn_failed(h, ENOMEM);
		return;
	}
	h->sc->owner = h;
	t->sv = SV_CONNECTING;
	t->reused = false;
	t->conn_tried = false;
	fd = socket(s->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		conn_failed(h, errno);
		return;
	}
	h->sc->fd = fd;
	if (s->ssl) {
		if (!s->tls || xconn_init_tls_client(&h->sc->x, s->tls, fd, sni) < 0 ||
		    (sni && !(h->sc->sni = strdup(sni)))) {
			h->sc->x.err =
				s->tls ? "cannot set up TLS" : "no TLS context for the server";
			conn_failed(h, EPROTO);
			return;
		}
	} else {
		xconn_init_raw(&h->sc->x, fd);
		h->sc->hs_done = true;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	srcport_apply(fd);
	if ((h->fe->options | t->be->options) & PX_OPT_TCPKA)
		setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	t->conn_deadline = cto ? now_of(h) + cto / 1000.0 : 0;
	if (connect(fd, (struct sockaddr *)&s->addr, s->addrlen) == 0) {
		h->sc->tcp_up = true;
		if (h->sc->hs_done)
			srv_connected(h);
		else
			srv_handshake(h);
		return;
	}
	if (errno != EINPROGRESS) {
		conn_failed(h, errno);
		return;
	}
}

/* Connect failed (or timed out): retry, redispatch, or answer 503. */
static void conn_failed(struct hconn *h, int err)
{
	struct txn *t = &h->t;
	struct server *s = t->srv;
	const char *why = strerror(err), *tls = "";

	if (h->sc && h->sc->x.err) {
		why = h->sc->x.err; /* static text */
		tls = "TLS: ";
	} else if (h->sc && h->sc->tcp_up && !h->sc->hs_done) {
		tls = "TLS handshake: ";
	}
	if (h->sc) {
		h->sc->owner = NULL;
		list_init(&h->sc->bucket);
		sconn_close(h->sc);
		h->sc = NULL;
	}
	t->sv = SV_NONE;
	if (!s) {
		txn_error(h, 503, 'S', 'C');
		return;
	}
	__atomic_add_fetch(&s->conn_errors, 1, __ATOMIC_RELAXED);
	lb_info("proxy '%s': connect to server %s/%s failed: %s%s", t->be->name, t->be->name,
		s->name, tls, why);
	if (t->retries_left > 0) {
		bool hashed = t->be->algo && t->be->algo->hashed;

		t->retries_left--;
		t->nretries++;
		__atomic_add_fetch(&s->retries, 1, __ATOMIC_RELAXED);
		/*
		 * As HAProxy: retries stay on the server unless `option
		 * redispatch`; with it every retry goes elsewhere, except with
		 * a hash or a persistence cookie where only the last one does.
		 */
		if ((t->be->options & PX_OPT_REDISPATCH) &&
		    (!(hashed || t->ck.direct) || t->retries_left == 0)) {
			__atomic_add_fetch(&s->redispatches, 1, __ATOMIC_RELAXED);
			t->failed = s;
			txn_release_srv(h);
			t->redispatched = true;
		} else if (err != ETIMEDOUT) {
			/*
			 * Refused (say, a server restarting): trying the same
			 * server at once would fail the same way, so wait
			 * min(timeout connect, 1s) first, as HAProxy does.
			 */
			uint32_t cto = t->be->to.connect;
			uint32_t ms = cto && cto < L7_TURNAROUND_MS ? cto : L7_TURNAROUND_MS;

			t->sv = SV_TURNAROUND;
			t->retry_at = now_of(h) + ms / 1000.0;
			return;
		}
		txn_connect(h);
		return;
	}
	/* termination state: sC for a connect timeout, SC for a refusal */
	txn_error(h, 503, err == ETIMEDOUT ? 's' : 'S', 'C');
}

/* Pick a server if needed, then take an idle connection to it or open one. */
static void txn_connect(struct hconn *h)
{
	struct txn *t = &h->t;
	struct lb_req req;
	struct sconn *sc;
	char snibuf[256];
	const char *sni;

	if (!t->srv) {
		memset(&req, 0, sizeof(req));
		req.src = (struct sockaddr *)&h->src;
		if (t->req.path) {
			req.uri = t->req.path;
			req.uri_len = t->req.path_len;
		} else {
			req.uri = t->req.target;
			req.uri_len = t->req.target_len;
		}
		req.get_hdr = lb_get_hdr;
		req.hdr_ctx = &t->reqv;
		/* a persistence cookie names the server, unless a redispatch moved on */
		if (t->ck.srv_id && !t->redispatched)
			t->srv = l7_cookie_take(t->be, &t->ck);
		if (!t->srv && !t->ck.wait) {
			t->ck.direct = false;
			t->srv = lb_pick(t->be, &req, t->failed);
			l7_cookie_balanced(&t->ck, t->srv);
		}
		if (!t->srv) {
			if (t->ck.wait || be_has_servers(t->be)) {
				/* Every usable server is full: wait for a slot. */
				if (t->sv != SV_QUEUED) {
					uint32_t qto = t->be->to.queue ? t->be->to.queue :
									 t->be->to.connect;

					t->sv = SV_QUEUED;
					t->q_deadline = qto ? now_of(h) + qto / 1000.0 : 0;
				}
				return;
			}
			__atomic_add_fetch(&h->fe->no_srv, 1, __ATOMIC_RELAXED);
			txn_error(h, 503, 'S', 'C');
			return;
		}
	}
	/* Tw ends here; Tc then covers every attempt (retries, turn-around) */
	if (!t->t_queued)
		t->t_queued = now_of(h);
	sni = txn_sni(h, t->srv, snibuf, sizeof(snibuf));
	if (!t->first && (sc = pool_take(h->lw, t->srv, sni))) {
		h->sc = sc;
		sc->owner = h;
		t->reused = true;
		t->t_conn = 0;
		srv_connected(h);
		return;
	}
	txn_open(h, sni);
}

/* Start the request toward the backend (after rules and routing). */
static void txn_forward(struct hconn *h)
{
	struct txn *t = &h->t;

	if (build_req_head(h) < 0) {
		txn_error(h, 500, 'P', 'R');
		return;
	}
	t->retries_left = t->be->retries >= 0 ? t->be->retries : 3;
	txn_connect(h);
}

/* The request line for the traffic log: "METHOD target HTTP/1.x". */
static void copy_reqline(struct hconn *h)
{
	struct txn *t = &h->t;
	const struct h1_msg *m = &t->req;
	size_t len = m->method_len + 1 + m->target_len + 9;
	char *s = malloc(len + 1), *p = s;

	if (!s)
		return;
	memcpy(p, m->method_str, m->method_len);
	p += m->method_len;
	*p++ = ' ';
	memcpy(p, m->target, m->target_len);
	p += m->target_len;
	memcpy(p, m->version == 10 ? " HTTP/1.0" : " HTTP/1.1", 10);
	t->reqline = s;
	t->reqline_len = len;
}

static void process_request(struct hconn *h)
{
	struct txn *t = &h->t;
	struct h1_msg *m = &t->req;
	struct l7_reply reply = { 0 };
	struct acl_env env;
	enum l7_verdict v;
	struct proxy *be;

	h->cin.rd = t->head_len;
	t->bytes_in += t->head_len;
	/* only the traffic log and the unique-id read it */
	if (fe_logs(h->fe) || l7_px_uid_format(h->fe))
		copy_reqline(h);
	memcpy(h->reqv_hdrs, m->hdrs, m->nhdrs * sizeof(*m->hdrs));
	t->reqv.h1 = m;
	t->reqv.hdrs = h->reqv_hdrs;
	t->reqv.nhdrs = m->nhdrs;
	t->reqv.maxhdrs = h->maxhdr + L7_HDR_EXTRA;
	t->req_parsed = true;
	capture_hdrs(h, m, false);
	txn_unique_id(h);
	if (!(m->flags & H1_F_KEEP_ALIVE) || (h->fe->options & PX_OPT_HTTPCLOSE) || h->w->stopping)
		t->cli_close = true;
	if (m->flags & H1_F_CL_TE_CONFLICT) {
		/* Content-Length beside Transfer-Encoding: forward chunked, then close both. */
		t->cli_close = true;
		t->srv_close = true;
	}
	if (m->flags & H1_F_UPGRADE) {
		t->upgrade = true;
		/* a WebSocket handshake needs its key (RFC 6455), as HAProxy checks */
		if (h1_msg_has_token(m, "upgrade", "websocket") &&
		    !h1_find_hdr(m, "sec-websocket-key", NULL)) {
			__atomic_add_fetch(&h->fe->failed_req, 1, __ATOMIC_RELAXED);
			txn_error(h, 400, 'P', 'R');
			return;
		}
	}
	switch (m->body) {
	case H1_BODY_CL:
		t->req_left = m->content_length;
		t->rq = t->req_left ? RQ_BODY : RQ_DONE;
		break;
	case H1_BODY_CHUNKED:
		h1_chunk_init(&t->req_ck);
		t->rq = RQ_BODY;
		break;
	default:
		t->rq = RQ_DONE;
		break;
	}
	hc_env(h, &env);
	v = l7_http_req_rules(h->fe, &env, &t->reqv, &t->arena, &reply);
	/* the statistics page: after the frontend's rules, before use_backend (as HAProxy) */
	if (v == L7_CONTINUE && l7_stats_request(h->fe, &t->reqv, &reply))
		v = L7_REPLY;
	if (v == L7_CONTINUE) {
		be = route(h, &env);
		if (!be) {
			/* no backend: HAProxy logs it as a connect failure (SC) */
			__atomic_add_fetch(&h->fe->no_srv, 1, __ATOMIC_RELAXED);
			txn_error(h, 503, 'S', 'C');
			return;
		}
		t->be = be;
		if (be != h->fe) {
			if (!px_l7(be)) {
				txn_error(h, 500, 'P', 'R');
				return;
			}
			v = l7_http_req_rules(be, &env, &t->reqv, &t->arena, &reply);
			if (v == L7_CONTINUE && l7_stats_request(be, &t->reqv, &reply))
				v = L7_REPLY;
		}
	}
	if (v == L7_REPLY && !reply.data && reply.term == 'L' && reply.status == 500) {
		txn_error(h, 500, 'P', 'R');
		return;
	}
	if (v == L7_REPLY) {
		if (reply.status == 403 || reply.close)
			__atomic_add_fetch(&h->fe->denied_req, 1, __ATOMIC_RELAXED);
		set_term(h, reply.term ? reply.term : 'P', 'R');
		txn_reply(h, reply.status, reply.data, reply.len, reply.close);
		return;
	}
	if (v == L7_FAIL) {
		txn_error(h, 500, 'P', 'R');
		return;
	}
	if ((t->be->options | h->fe->options) & (PX_OPT_HTTP_SERVER_CLOSE | PX_OPT_HTTPCLOSE))
		t->srv_close = true;
	/* cookie persistence: the server the cookie names, the Cookie headers rewritten */
	if (t->be->l7 && ((struct l7_px *)t->be->l7)->cookie &&
	    l7_cookie_req(((struct l7_px *)t->be->l7)->cookie, t->be, &t->reqv, &t->arena, &t->ck) <
		    0) {
		txn_error(h, 500, 'P', 'R');
		return;
	}
	/* after every http-request rule, as HAProxy (before X-Forwarded-For) */
	if (h->fe->unique_id_header && t->uid &&
	    l7_hdr_add(&t->reqv, h->fe->unique_id_header, strlen(h->fe->unique_id_header), t->uid,
		       strlen(t->uid)) < 0) {
		txn_error(h, 500, 'P', 'R');
		return;
	}
	txn_forward(h);
}

/* Account newly received request body bytes; returns -1 on bad framing. */
static int req_body(struct hconn *h)
{
	struct txn *t = &h->t;
	size_t start = h->cin.rd + t->req_fwd, avail = h->cin.wr - start;

	if (!avail)
		return 0;
	if (t->req.body == H1_BODY_CL) {
		size_t k = avail < t->req_left ? avail : (size_t)t->req_left;

		t->req_fwd += k;
		t->req_left -= k;
		t->bytes_in += k;
		if (!t->req_left)
			t->rq = RQ_DONE;
		return 0;
	}
	{
		size_t used = 0, data = 0;
		int r = h1_chunk_feed(&t->req_ck, h->cin.data + start, avail, &used, &data);

		t->req_fwd += used;
		t->bytes_in += used;
		if (r < 0)
			return -1;
		if (r == 1)
			t->rq = RQ_DONE;
	}
	return 0;
}

static void req_analyze(struct hconn *h)
{
	struct txn *t = &h->t;
	int r;

	switch (t->rq) {
	case RQ_IDLE:
		if (h->cin.wr == h->cin.rd) {
			if (h->c_eof) {
				/* The client closed between requests: nothing to answer. */
				if (h->ntxn == 0 && h->bytes_rx_total == 0) {
					t->active = !(h->fe->options & PX_OPT_DONTLOGNULL);
					t->t_start = h->t_accept;
					t->wall_start = h->wall_accept;
					set_term(h, 'C', 'R');
					t->status = 400;
				}
				hc_start_close(h);
				t->cli_close = true;
			}
			return;
		}
		t->rq = RQ_HEAD;
		t->active = true;
		if (h->ntxn == 0) {
			t->t_start = h->t_accept;
			t->wall_start = h->wall_accept;
		} else {
			t->t_start = now_of(h);
			t->wall_start = wall_now();
		}
		/* fallthrough */
	case RQ_HEAD:
		r = h1_parse(&t->req, h->cin.data, h->cin.wr);
		if (r == H1_NEED_MORE) {
			if (h->cin.wr >= h->bufsize) {
				__atomic_add_fetch(&h->fe->failed_req, 1, __ATOMIC_RELAXED);
				txn_error(h, 400, 'P', 'R');
			} else if (h->c_eof) {
				__atomic_add_fetch(&h->fe->failed_req, 1, __ATOMIC_RELAXED);
				txn_error(h, 400, 'C', 'R');
			}
			return;
		}
		if (r == H1_ERROR) {
			__atomic_add_fetch(&h->fe->failed_req, 1, __ATOMIC_RELAXED);
			lb_dbg("frontend '%s': bad request: %s", h->fe->name,
			       t->req.err ? t->req.err : "?");
			txn_error(h, t->req.err_status ? t->req.err_status : 400, 'P', 'R');
			return;
		}
		t->head_len = (size_t)r;
		t->t_head = now_of(h);
		process_request(h);
		if (t->rq != RQ_BODY)
			return;
		/* body bytes that came with the head can leave with it */
		/* fallthrough */
	case RQ_BODY:
		if (req_body(h) < 0) {
			__atomic_add_fetch(&h->fe->failed_req, 1, __ATOMIC_RELAXED);
			if (t->rsp_head_sent) {
				set_term(h, 'P', 'D');
				txn_reply(h, t->status, NULL, 0, true);
			} else {
				txn_error(h, 400, 'P', 'D');
			}
			return;
		}
		if (t->rq == RQ_BODY && h->c_eof && h->cin.wr == h->cin.rd + t->req_fwd) {
			/* The client ended in the middle of the body. */
			if (t->rsp_head_sent || t->rs == RS_DONE) {
				set_term(h, 'C', 'D');
				t->cli_close = true;
				t->srv_close = true;
				t->rq = RQ_DONE;
			} else {
				txn_error(h, 400, 'C', 'D');
			}
		}
		return;
	case RQ_TUNNEL:
		t->req_fwd = h->cin.wr - h->cin.rd;
		return;
	case RQ_DONE:
		return;
	}
}

/* ---- response analysis ---- */

static int build_rsp_head(struct hconn *h, const struct h1_msg *m, unsigned int status,
			  const char *reason, size_t reason_len, bool final)
{
	struct txn *t = &h->t;
	const struct l7_msg *v = &t->rspv;
	struct h1_out o;
	size_t need = 1024;
	char rbuf[256];
	uint32_t i, n_hdrs = final ? v->nhdrs : m->nhdrs;
	const struct h1_hdr *hdrs = final ? v->hdrs : m->hdrs;
	bool conn_hdr = m->flags & H1_F_CONN_NAMES;
	long n;

	for (i = 0; i < n_hdrs; i++)
		need += hdrs[i].name_len + hdrs[i].value_len + 4;
	if (buf_reserve(&h->cout, need + reason_len) < 0)
		return -ENOMEM;
	h1_out_init(&o, h->cout.data + h->cout.wr, h->cout.size - h->cout.wr);
	if (reason && reason_len < sizeof(rbuf)) {
		memcpy(rbuf, reason, reason_len);
		rbuf[reason_len] = 0;
		h1_out_status(&o, 11, status, rbuf);
	} else {
		h1_out_status(&o, 11, status, NULL);
	}
	for (i = 0; i < n_hdrs; i++) {
		const struct h1_hdr *hd = &hdrs[i];

		if (is_hop_by_hop(hd) || (conn_hdr && named_in_connection(m, hd)))
			continue;
		if (t->rsp_dechunk && h1_hdr_is(hd, "transfer-encoding"))
			continue;
		h1_out_header(&o, hd->name, hd->name_len, hd->value, hd->value_len);
	}
	if (final) {
		if (t->rs == RS_TUNNEL)
			h1_out_header_str(&o, "connection", "upgrade");
		else if (t->cli_close)
			h1_out_header_str(&o, "connection", "close");
		else if (t->req.version == 10)
			h1_out_header_str(&o, "connection", "keep-alive");
	}
	h1_out_end(&o);
	n = h1_out_result(&o);
	if (n < 0)
		return (int)n;
	h->cout.wr += (size_t)n;
	t->bytes_out += (size_t)n;
	return 0;
}

static void process_response(struct hconn *h, size_t head_len)
{
	struct txn *t = &h->t;
	struct h1_msg *m = &t->rsp;
	unsigned int status = m->status;
	const char *reason = m->reason;
	size_t reason_len = m->reason_len;
	struct acl_env env;
	enum l7_verdict v = L7_CONTINUE;
	const char *new_reason = NULL;

	if (status < 200 && status != 101) {
		/* Interim response (100 Continue, 103 Early Hints): relay it to HTTP/1.1 clients. */
		if (t->req.version >= 11 &&
		    build_rsp_head(h, m, status, reason, reason_len, false) < 0) {
			txn_error(h, 502, 'P', 'H');
			return;
		}
		h->sin.rd += head_len;
		h1_msg_init_resp(&t->rsp, h->rsp_hdrs, h->maxhdr, h->bufsize, t->req.method);
		return;
	}
	if (!t->t_rsp)
		t->t_rsp = now_of(h);
	capture_hdrs(h, m, true);
	memcpy(h->rspv_hdrs, m->hdrs, m->nhdrs * sizeof(*m->hdrs));
	t->rspv.h1 = m;
	t->rspv.hdrs = h->rspv_hdrs;
	t->rspv.nhdrs = m->nhdrs;
	t->rspv.maxhdrs = h->maxhdr + L7_HDR_EXTRA;
	hc_env(h, &env);
	env.rsp = &t->rspv;
	if (t->be && t->be != h->fe)
		v = l7_http_rsp_rules(t->be, &env, &t->rspv, &t->arena, &status, &new_reason);
	if (v == L7_CONTINUE)
		v = l7_http_rsp_rules(h->fe, &env, &t->rspv, &t->arena, &status, &new_reason);
	if (v == L7_DENY_RSP || v == L7_FAIL) {
		__atomic_add_fetch(&h->fe->denied_req, 1, __ATOMIC_RELAXED);
		t->srv_close = true;
		txn_error(h, 502, 'P', 'H');
		return;
	}
	/* cookie persistence, after the rules as HAProxy: the server's Set-Cookie, lbd's own */
	if (t->be && t->be->l7 && ((struct l7_px *)t->be->l7)->cookie &&
	    l7_cookie_rsp(((struct l7_px *)t->be->l7)->cookie, t->srv, &t->rspv, status,
			  t->req.method, &t->arena, &t->ck) < 0) {
		t->srv_close = true;
		txn_error(h, 502, 'P', 'H');
		return;
	}
	if (status != m->status) {
		reason = new_reason;
		reason_len = new_reason ? strlen(new_reason) : 0;
	}
	if (status == 101 && t->upgrade && h1_msg_has_token(&t->req, "upgrade", "websocket") &&
	    !h1_find_hdr(m, "sec-websocket-accept", NULL)) {
		/* a WebSocket switch without its accept key is not a valid answer */
		t->srv_close = true;
		txn_error(h, 502, 'P', 'H');
		return;
	}
	if ((status == 101 && t->upgrade) || (m->flags & H1_F_TUNNEL)) {
		t->rs = RS_TUNNEL;
		t->cli_close = t->srv_close = true;
	} else {
		if (!(m->flags & H1_F_KEEP_ALIVE) || m->body == H1_BODY_CLOSE)
			t->srv_close = true;
		if (m->body == H1_BODY_CLOSE)
			t->cli_close = true;
		if (m->body == H1_BODY_CHUNKED && t->req.version == 10) {
			t->rsp_dechunk = true;
			t->cli_close = true;
		}
		/* a response that comes before the request was sent: the rest is not sent */
		if (t->rq == RQ_BODY) {
			t->cli_close = true;
			t->srv_close = true;
		}
	}
	t->status = (int)status;
	count_status(h->fe, (int)status);
	if (t->be && t->be != h->fe)
		count_status(t->be, (int)status);
	if (build_rsp_head(h, m, status, reason, reason_len, true) < 0) {
		txn_error(h, 502, 'P', 'H');
		return;
	}
	t->rsp_head_sent = true;
	h->sin.rd += head_len;
	if (t->rs == RS_TUNNEL) {
		t->rq = RQ_TUNNEL;
		t->req_fwd = h->cin.wr - h->cin.rd;
		return;
	}
	switch (m->body) {
	case H1_BODY_CL:
		t->rsp_left = m->content_length;
		t->rs = t->rsp_left ? RS_BODY : RS_DONE;
		break;
	case H1_BODY_CHUNKED:
		h1_chunk_init(&t->rsp_ck);
		t->rs = RS_BODY;
		break;
	case H1_BODY_CLOSE:
		t->rs = RS_BODY;
		break;
	default:
		t->rs = RS_DONE;
		break;
	}
}

/* Chunked response to an HTTP/1.0 client: copy the payload only, into cout. */
static int rsp_dechunk(struct hconn *h)
{
	struct txn *t = &h->t;

	while (h->sin.rd < h->sin.wr && buf_len(&h->cout) < h->bufsize) {
		size_t avail = h->sin.wr - h->sin.rd, used = 0, data = 0, k;
		const char *p = h->sin.data + h->sin.rd;
		int r;

		/* Inside a chunk's payload, `remain` bytes of data follow. */
		k = avail;
		if (t->rsp_ck.remain && t->rsp_ck.total)
			k = t->rsp_ck.remain < avail ? (size_t)t->rsp_ck.remain : avail;
		else
			k = 1;
		r = h1_chunk_feed(&t->rsp_ck, p, k, &used, &data);
		if (data) {
			/* payload bytes are the last `data` bytes of what was used */
			if (buf_put(&h->cout, p + used - data, data) < 0)
				return -1;
			t->bytes_out += data;
		}
		h->sin.rd += used;
		if (r < 0)
			return -1;
		if (r == 1) {
			t->rs = RS_DONE;
			break;
		}
		if (!used)
			break;
	}
	if (h->sin.rd == h->sin.wr)
		h->sin.rd = h->sin.wr = 0;
	return 0;
}

static void rsp_body(struct hconn *h)
{
	struct txn *t = &h->t;
	size_t start = h->sin.rd + t->rsp_fwd, avail = h->sin.wr - start;

	if (t->rsp_dechunk) {
		if (rsp_dechunk(h) < 0) {
			set_term(h, 'S', 'D');
			txn_reply(h, t->status, NULL, 0, true);
			return;
		}
	} else if (t->rsp.body == H1_BODY_CL) {
		size_t k = avail < t->rsp_left ? avail : (size_t)t->rsp_left;

		t->rsp_fwd += k;
		t->rsp_left -= k;
		if (!t->rsp_left) {
			t->rs = RS_DONE;
			if (avail > k)
				t->srv_close = true; /* bytes beyond the body: not reusable */
		}
	} else if (t->rsp.body == H1_BODY_CHUNKED) {
		size_t used = 0, data = 0;
		int r = avail ? h1_chunk_feed(&t->rsp_ck, h->sin.data + start, avail, &used,
					      &data) :
				0;

		t->rsp_fwd += used;
		if (r < 0) {
			set_term(h, 'S', 'D');
			t->srv_close = true;
			t->cli_close = true;
			t->rs = RS_DONE; /* what was valid is sent, then the client is closed */
			return;
		}
		if (r == 1) {
			t->rs = RS_DONE;
			if (avail > used)
				t->srv_close = true;
		}
	} else {
		t->rsp_fwd += avail; /* until the server closes */
		if (t->s_eof)
			t->rs = RS_DONE;
	}
	if (t->rs == RS_BODY && t->s_eof && t->rsp.body != H1_BODY_CLOSE &&
	    h->sin.rd + t->rsp_fwd == h->sin.wr) {
		/* truncated response: send what came and close the client */
		set_term(h, 'S', 'D');
		t->srv_close = true;
		t->cli_close = true;
		t->rs = RS_DONE;
	}
}

/* The server failed before a complete response head. */
static void srv_failed_early(struct hconn *h, char when)
{
	struct txn *t = &h->t;

	if (t->reused && !t->req_body_sent && h->sin.wr == 0 && !t->rsp_head_sent) {
		/* An idle connection the server had closed: send again on a new one. */
		txn_drop_sconn(h);
		t->sv = SV_NONE;
		t->rs = RS_NONE;
		t->s_eof = false;
		h->sout.rd = 0;
		t->first = true; /* no reuse this time */
		txn_connect(h);
		return;
	}
	txn_error(h, 502, 'S', when);
}

static void rsp_analyze(struct hconn *h)
{
	struct txn *t = &h->t;
	int r;

	switch (t->rs) {
	case RS_NONE:
	case RS_DONE:
		return;
	case RS_HEAD:
		/* interim responses the client does not read: stop until it does */
		if (buf_len(&h->cout) > h->bufsize)
			return;
		if (h->sin.wr == h->sin.rd) {
			if (t->s_eof)
				srv_failed_early(h, 'H');
			return;
		}
		if (h->sin.rd) {
			/* parse from the start of the buffer (offsets stay valid) */
			memmove(h->sin.data, h->sin.data + h->sin.rd, h->sin.wr - h->sin.rd);
			h->sin.wr -= h->sin.rd;
			h->sin.rd = 0;
		}
		r = h1_parse(&t->rsp, h->sin.data, h->sin.wr);
		if (r == H1_NEED_MORE) {
			if (t->s_eof || h->sin.wr >= h->sin.size) {
				set_term(h, 'S', 'H');
				t->srv_close = true;
				txn_error(h, 502, 'S', 'H');
			}
			return;
		}
		if (r == H1_ERROR) {
			lb_dbg("backend '%s': bad response: %s", t->be ? t->be->name : "?",
			       t->rsp.err ? t->rsp.err : "?");
			t->srv_close = true;
			txn_error(h, 502, 'P', 'H');
			return;
		}
		process_response(h, (size_t)r);
		if (t->rs != RS_BODY)
			return;
		/* body bytes that came with the head leave with it (one send) */
		/* fallthrough */
	case RS_BODY:
		rsp_body(h);
		return;
	case RS_TUNNEL:
		t->rsp_fwd = h->sin.wr - h->sin.rd;
		return;
	}
}

/* ---- I/O ---- */

static void cli_read(struct hconn *h)
{
	struct buf *b = &h->cin;
	ssize_t n;
	size_t room, base;

	h->c_more = false;
	if (h->c_eof)
		return;
	if (h->lingering) {
		char junk[4096];

		n = h->cx.ops->recv(&h->cx, junk, sizeof(junk));
		if (n == 0 || (n < 0 && errno != EAGAIN))
			h->c_eof = true;
		else if (n > 0)
			h->c_more = true;
		return;
	}
	/* Compact: keep the request head (during a transaction) at the start. */
	base = h->t.rq == RQ_TUNNEL ? 0 : h->t.head_len;
	if (b->wr == b->size && h->t.rq >= RQ_BODY && b->rd > base) {
		memmove(b->data + base, b->data + b->rd, b->wr - b->rd);
		b->wr -= b->rd - base;
		b->rd = base;
	}
	room = b->size - b->wr;
	if (!room)
		return;
	n = h->cx.ops->recv(&h->cx, b->data + b->wr, room);
	if (n > 0) {
		b->wr += n;
		h->bytes_rx_total += n;
		h->c_last = now_of(h);
		h->c_more = (size_t)n == room || h->cx.ops->pending(&h->cx);
		return;
	}
	if (n == 0 || errno != EAGAIN) {
		h->c_eof = true;
		if (n < 0)
			set_term(h, 'C', h->t.rs >= RS_BODY ? 'D' : 'R');
	}
}

static void srv_read(struct hconn *h)
{
	struct buf *b = &h->sin;
	struct sconn *sc = h->sc;
	ssize_t n;
	size_t room;

	h->s_more = false;
	if (!sc || h->t.sv != SV_READY || h->t.s_eof)
		return;
	if (b->rd == b->wr && !h->t.rsp_fwd)
		b->rd = b->wr = 0;
	if (b->wr == b->size && b->rd > 0 && h->t.rs != RS_HEAD) {
		memmove(b->data, b->data + b->rd, b->wr - b->rd);
		b->wr -= b->rd;
		b->rd = 0;
	}
	room = b->size - b->wr;
	if (!room)
		return;
	n = sc->x.ops->recv(&sc->x, b->data + b->wr, room);
	if (n > 0) {
		b->wr += n;
		h->s_last = now_of(h);
		h->s_more = (size_t)n == room;
		if (h->t.srv)
			__atomic_add_fetch(&h->t.srv->bytes_out, n, __ATOMIC_RELAXED);
		return;
	}
	if (n == 0 || errno != EAGAIN)
		h->t.s_eof = true;
}

static bool sock_again(void)
{
	return errno == EAGAIN || errno == EWOULDBLOCK;
}

static void srv_send(struct hconn *h)
{
	struct txn *t = &h->t;
	struct sconn *sc = h->sc;
	ssize_t n;

	if (!sc || h->s_wblocked)
		return;
	if (t->sv == SV_CONNECTING) {
		/*
		 * The connection is often up as soon as connect() returns (a
		 * server nearby): try sending once rather than wait a loop
		 * round for writability; EAGAIN only means not yet.
		 */
		if (t->conn_tried || h->sout.rd != 0 || h->sout.wr == 0 || !sc->hs_done)
			return;
		t->conn_tried = true;
	} else if (t->sv != SV_READY) {
		return;
	}
	/* A small body goes out with the head: one send, and a retry can resend it. */
	if (h->sout.rd == 0 && h->sout.wr && t->req_fwd && t->req_fwd <= L7_MERGE_MAX &&
	    buf_put(&h->sout, h->cin.data + h->cin.rd, t->req_fwd) == 0) {
		if (t->srv)
			__atomic_add_fetch(&t->srv->bytes_in, t->req_fwd, __ATOMIC_RELAXED);
		h->cin.rd += t->req_fwd;
		t->req_fwd = 0;
	}
	while (h->sout.rd < h->sout.wr) {
		n = sc->x.ops->send(&sc->x, h->sout.data + h->sout.rd, h->sout.wr - h->sout.rd);
		if (n > 0) {
			if (t->sv == SV_CONNECTING)
				srv_connected(h);
			h->sout.rd += n;
			h->s_last = now_of(h);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && sock_again()) {
			if (t->sv == SV_READY)
				h->s_wblocked = true;
			return;
		}
		if (t->sv == SV_CONNECTING) {
			/* the connect failed (refused, unreachable) */
			conn_failed(h, n < 0 ? errno : EPIPE);
			return;
		}
		t->s_eof = true;
		if (t->rs == RS_HEAD)
			srv_failed_early(h, 'H');
		return;
	}
	while (t->req_fwd > 0) {
		n = sc->x.ops->send(&sc->x, h->cin.data + h->cin.rd, t->req_fwd);
		if (n > 0) {
			h->cin.rd += n;
			t->req_fwd -= n;
			t->req_body_sent = true;
			h->s_last = now_of(h);
			if (t->srv)
				__atomic_add_fetch(&t->srv->bytes_in, n, __ATOMIC_RELAXED);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && sock_again()) {
			h->s_wblocked = true;
			return;
		}
		/* The server stopped reading: it may still answer (an early 413, say). */
		t->s_eof = t->rs == RS_HEAD ? t->s_eof : true;
		t->req_fwd = 0;
		h->cin.rd = h->cin.wr;
		t->srv_close = true;
		t->cli_close = true;
		if (t->rq == RQ_BODY)
			t->rq = RQ_DONE;
		return;
	}
	if (h->cin.rd == h->cin.wr && t->rq != RQ_IDLE && t->rq != RQ_HEAD)
		h->cin.rd = h->cin.wr = t->rq == RQ_TUNNEL ? 0 : t->head_len;
	if (t->rq == RQ_TUNNEL && h->c_eof && !t->s_shut) {
		sc->x.ops->shutw(&sc->x);
		t->s_shut = true;
	}
}

static void cli_send(struct hconn *h)
{
	struct txn *t = &h->t;
	ssize_t n;

	if (h->c_wblocked || h->lingering)
		return;
	/* A small body goes out with the head in one send. */
	if (h->cout.rd < h->cout.wr && t->rsp_fwd && t->rsp_fwd <= L7_MERGE_MAX &&
	    buf_put(&h->cout, h->sin.data + h->sin.rd, t->rsp_fwd) == 0) {
		h->sin.rd += t->rsp_fwd;
		t->bytes_out += t->rsp_fwd;
		t->rsp_fwd = 0;
	}
	while (h->cout.rd < h->cout.wr) {
		n = h->cx.ops->send(&h->cx, h->cout.data + h->cout.rd, h->cout.wr - h->cout.rd);
		if (n > 0) {
			h->cout.rd += n;
			h->c_last = now_of(h);
			continue;
		}
		if (n < 0 && errno == EAGAIN) {
			h->c_wblocked = true;
			return;
		}
		goto gone;
	}
	h->cout.rd = h->cout.wr = 0;
	while (t->rsp_fwd > 0) {
		n = h->cx.ops->send(&h->cx, h->sin.data + h->sin.rd, t->rsp_fwd);
		if (n > 0) {
			h->sin.rd += n;
			t->rsp_fwd -= n;
			t->bytes_out += n;
			h->c_last = now_of(h);
			continue;
		}
		if (n < 0 && errno == EAGAIN) {
			h->c_wblocked = true;
			return;
		}
		goto gone;
	}
	if (h->sin.rd == h->sin.wr && t->rs != RS_HEAD)
		h->sin.rd = h->sin.wr = 0;
	return;
gone:
	/* The client went away: nothing more can be delivered. */
	set_term(h, 'C', 'D');
	h->cout.rd = h->cout.wr = 0;
	t->rsp_fwd = 0;
	t->srv_close = true;
	t->cli_close = true;
	h->c_eof = true;
	h->dead = true;
}

/* ---- transaction end ---- */

static void txn_reset(struct hconn *h)
{
	struct txn *t = &h->t;

	free(t->reqline);
	l7_arena_reset(&t->arena);
	memset(t, 0, sizeof(*t));
	if (h->cap)
		memset(h->cap, 0, (h->fe->nreq_caps + h->fe->nrsp_caps) * sizeof(*h->cap));
	h1_msg_init_req(&t->req, h->req_hdrs, h->maxhdr, h->bufsize);
}

static void txn_finish(struct hconn *h)
{
	struct txn *t = &h->t;
	struct buf *b = &h->cin;

	txn_log(h);
	if (t->be) {
		__atomic_add_fetch(&t->be->bytes_in, t->bytes_in, __ATOMIC_RELAXED);
		__atomic_add_fetch(&t->be->bytes_out, t->bytes_out, __ATOMIC_RELAXED);
	}
	__atomic_add_fetch(&h->fe->bytes_in, t->bytes_in, __ATOMIC_RELAXED);
	__atomic_add_fetch(&h->fe->bytes_out, t->bytes_out, __ATOMIC_RELAXED);
	if (h->sc) {
		struct sconn *sc = h->sc;

		h->sc = NULL;
		sc->nreq++;
		if (!t->srv_close && !t->s_eof && t->rs == RS_DONE && t->rq == RQ_DONE &&
		    h->sin.rd == h->sin.wr && h->sout.rd == h->sout.wr)
			pool_put(h->lw, sc);
		else {
			sc->owner = NULL;
			list_init(&sc->bucket);
			sconn_close(sc);
		}
	}
	txn_release_srv(h);
	h->ntxn++;
	h->sin.rd = h->sin.wr = 0;
	h->sout.rd = h->sout.wr = 0;
	if (t->cli_close) {
		hc_start_close(h);
		t->rq = RQ_DONE;
		t->rs = RS_DONE;
		return;
	}
	/* Keep-alive: the next request (maybe already here) starts at the buffer's start. */
	if (b->rd < b->wr && b->rd > 0)
		memmove(b->data, b->data + b->rd, b->wr - b->rd);
	b->wr -= b->rd;
	b->rd = 0;
	txn_reset(h);
	h->t_idle = now_of(h);
}

static bool txn_complete(struct hconn *h)
{
	struct txn *t = &h->t;
	bool rsp_done = t->rs == RS_DONE && h->cout.rd == h->cout.wr && !t->rsp_fwd;

	if (!rsp_done)
		return false;
	if (t->rq == RQ_DONE && h->sout.rd == h->sout.wr && !t->req_fwd)
		return true;
	if (t->rq == RQ_BODY || (t->rq == RQ_DONE && (t->req_fwd || h->sout.rd < h->sout.wr))) {
		/* the response is complete before the request: stop sending it */
		t->cli_close = true;
		t->srv_close = true;
		return true;
	}
	return false;
}

/* ---- connection lifetime ---- */

static void hc_free(struct hconn *h)
{
	struct worker *w = h->w;
	struct ev_loop *loop = w->loop;

	if (h->t.active) {
		if (!h->t.term[0])
			set_term(h, 'C', h->t.rs >= RS_BODY ? 'D' : 'R');
		txn_log(h);
	}
	txn_drop_sconn(h);
	txn_release_srv(h);
	ev_io_stop(loop, &h->cio);
	ev_timer_stop(loop, &h->timer);
	if (h->cx.ops)
		h->cx.ops->release(&h->cx);
	close(h->cfd);
	list_del(&h->list);
	free(h->t.reqline);
	l7_arena_reset(&h->t.arena);
	free(h->cap);
	free(h->cap_data);
	free(h->cin.data);
	free(h->cout.data);
	free(h->sin.data);
	free(h->sout.data);
	free(h->req_hdrs);
	w->nconns--;
	__atomic_sub_fetch(&l7_clients, 1, __ATOMIC_RELAXED);
	if (&worker_conn_closed)
		worker_conn_closed(w, h->fe);
	free(h);
}

/*
 * timeout server runs from the moment the server connection is up until the
 * response is complete, restarted by every byte exchanged with the server.
 * As in HAProxy, a client that stalls in the middle of its request body
 * therefore ends with a 504 once the server timeout expires.
 */
static bool srv_timer_active(struct hconn *h)
{
	struct txn *t = &h->t;

	if (t->sv != SV_READY || !to_server(h))
		return false;
	return t->rs == RS_HEAD || t->rs == RS_BODY;
}

/* timeout client runs while the proxy waits for the client to read, or to send a body no server takes yet. */
static bool cli_timer_active(struct hconn *h)
{
	struct txn *t = &h->t;

	if (!h->fe->to.client)
		return false;
	if (h->cout.rd < h->cout.wr || t->rsp_fwd)
		return true;
	return t->rq == RQ_BODY && t->sv != SV_READY;
}

static void hc_update(struct hconn *h)
{
	struct txn *t = &h->t;
	struct ev_loop *loop = h->w->loop;
	ev_tstamp now = ev_now(loop), dl = 0;
	int cev = 0, sev = 0;

#define DL(x)                                   \
	do {                                    \
		ev_tstamp _d = (x);             \
		if (_d > 0 && (!dl || _d < dl)) \
			dl = _d;                \
	} while (0)

	if (!h->hs_done) {
		cev = h->cx.want ? h->cx.want : EV_READ;
		if (to_http_request(h))
			DL(h->t_accept + to_http_request(h) / 1000.0);
		goto arm;
	}
	/* client events */
	if (h->lingering) {
		if (!h->c_eof)
			cev |= EV_READ;
	} else if (!h->c_eof && !h->closing) {
		bool room =
			h->cin.wr < h->cin.size ||
			(t->rq >= RQ_BODY && h->cin.rd > (t->rq == RQ_TUNNEL ? 0 : t->head_len));

		if (room)
			cev |= EV_READ;
	}
	if ((h->cout.rd < h->cout.wr || t->rsp_fwd) && !h->lingering)
		cev |= EV_WRITE;
	if (h->cx.want)
		cev |= h->cx.want;
	/* server events */
	if (h->sc && h->sc->owner == h) {
		if (t->sv == SV_CONNECTING) {
			sev = h->sc->tcp_up && h->sc->x.want ? h->sc->x.want : EV_WRITE;
		} else if (t->sv == SV_READY) {
			sev |= h->sc->x.want; /* TLS may need to read to write, or the reverse */
			if (!t->s_eof && (h->sin.wr < h->sin.size || h->sin.rd > 0) &&
			    (t->rs == RS_HEAD || t->rs == RS_BODY || t->rs == RS_TUNNEL))
				sev |= EV_READ;
			if (h->sout.rd < h->sout.wr || t->req_fwd)
				sev |= EV_WRITE;
		}
		set_io(loop, &h->sc->io, h->sc->fd, sev);
	}
	/* deadlines */
	if (h->closing) {
		DL(h->close_at);
	} else if (t->rq == RQ_IDLE) {
		if (h->ntxn == 0) {
			if (to_http_request(h))
				DL(h->t_accept + to_http_request(h) / 1000.0);
		} else if (to_keep_alive(h)) {
			DL(h->t_idle + to_keep_alive(h) / 1000.0);
		}
	} else if (t->rq == RQ_HEAD) {
		if (to_http_request(h))
			DL(t->t_start + to_http_request(h) / 1000.0);
	} else if (t->rq == RQ_TUNNEL || t->rs == RS_TUNNEL) {
		uint32_t tt = to_tunnel(h);

		if (tt) {
			DL((h->c_last > h->s_last ? h->c_last : h->s_last) + tt / 1000.0);
		} else {
			if (h->fe->to.client)
				DL(h->c_last + h->fe->to.client / 1000.0);
			if (to_server(h))
				DL(h->s_last + to_server(h) / 1000.0);
		}
	} else {
		if (t->sv == SV_QUEUED) {
			DL(now + L7_QUEUE_POLL);
			DL(t->q_deadline);
		} else if (t->sv == SV_TURNAROUND) {
			DL(t->retry_at);
		} else if (t->sv == SV_CONNECTING) {
			DL(t->conn_deadline);
		} else if (srv_timer_active(h)) {
			DL(h->s_last + to_server(h) / 1000.0);
		}
		if (cli_timer_active(h))
			DL(h->c_last + h->fe->to.client / 1000.0);
	}
arm:
	set_io(loop, &h->cio, h->cfd, cev);
	ev_timer_stop(loop, &h->timer);
	if (dl) {
		ev_timer_set(&h->timer, dl > now ? dl - now : 0.0, 0.0);
		ev_timer_start(loop, &h->timer);
	}
#undef DL
}

static void hc_handshake(struct hconn *h)
{
	int r = h->cx.ops->handshake(&h->cx);

	if (r == 1) {
		h->hs_done = true;
		h->c_last = now_of(h);
		return;
	}
	if (r < 0) {
		lb_dbg("frontend '%s': TLS handshake failed: %s", h->fe->name,
		       h->cx.err ? h->cx.err : "?");
		h->dead = true;
	}
}

static void hc_progress(struct hconn *h, int crev, int srev)
{
	struct txn *t = &h->t;
	int iter;

	if (h->in_progress)
		return;
	h->in_progress = true;
	/* TLS may need to read before it can write: any event may unblock it */
	if ((crev & EV_WRITE) || (h->cx.ssl && crev))
		h->c_wblocked = false;
	if ((srev & EV_WRITE) || (h->sc && h->sc->x.ssl && srev))
		h->s_wblocked = false;
	if (!h->hs_done) {
		hc_handshake(h);
		if (!h->hs_done)
			goto out;
		crev |= EV_READ;
	}
	if (t->sv == SV_CONNECTING && (srev & (EV_WRITE | EV_READ)) && h->sc->tcp_up) {
		srv_handshake(h);
	} else if (t->sv == SV_CONNECTING && (srev & (EV_WRITE | EV_READ))) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (getsockopt(h->sc->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			conn_failed(h, err);
		} else {
			h->sc->tcp_up = true;
			if (h->sc->hs_done)
				srv_connected(h);
			else
				srv_handshake(
					h); /* counted in the connect time, under timeout connect */
		}
	}
	for (iter = 0; iter < 32 && !h->dead; iter++) {
		size_t snap[8] = { h->cin.wr,  h->cin.rd,  h->sin.wr, h->sin.rd,
				   h->cout.rd, h->sout.rd, h->ntxn,   t->req_fwd + t->rsp_fwd };
		unsigned states = t->rq | t->rs << 4 | t->sv << 8;
		bool ceof = h->c_eof, seof = t->s_eof;

		if ((crev & EV_READ) || h->c_more || (h->cx.ssl && (crev & EV_WRITE)) ||
		    (iter == 0 && h->cx.ops->pending(&h->cx)))
			cli_read(h);
		if ((srev & EV_READ) || h->s_more ||
		    (h->sc && h->sc->x.ssl &&
		     ((srev & EV_WRITE) || (iter == 0 && h->sc->x.ops->pending(&h->sc->x)))))
			srv_read(h);
		crev = srev = 0;
		if (h->lingering) {
			if (h->c_eof)
				h->dead = true;
			break;
		}
		if (!h->closing) {
			req_analyze(h);
			srv_send(h);
			rsp_analyze(h);
		}
		cli_send(h);
		if (h->dead)
			break;
		if (!h->closing && txn_complete(h))
			txn_finish(h);
		if (h->closing && h->cout.rd == h->cout.wr && !t->rsp_fwd) {
			/* Response delivered: send FIN, then drain what the client still sends. */
			h->cx.ops->shutw(&h->cx);
			h->lingering = true;
			if (h->c_eof)
				h->dead = true;
			break;
		}
		if (snap[0] == h->cin.wr && snap[1] == h->cin.rd && snap[2] == h->sin.wr &&
		    snap[3] == h->sin.rd && snap[4] == h->cout.rd && snap[5] == h->sout.rd &&
		    snap[6] == h->ntxn && snap[7] == t->req_fwd + t->rsp_fwd &&
		    states == (t->rq | t->rs << 4 | t->sv << 8) && ceof == h->c_eof &&
		    seof == t->s_eof && !h->c_more && !h->s_more)
			break;
	}
	/* Tunnel: both directions ended. */
	if (!h->dead && t->rs == RS_TUNNEL && h->c_eof && t->s_eof && !t->req_fwd && !t->rsp_fwd &&
	    h->cout.rd == h->cout.wr)
		h->dead = true;
	if (!h->dead && t->rs == RS_TUNNEL && t->s_eof && !t->rsp_fwd && !h->cx.shut)
		h->cx.ops->shutw(&h->cx);
out:
	h->in_progress = false;
	if (h->dead) {
		hc_free(h);
		return;
	}
	hc_update(h);
}

static void cio_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	hc_progress(io->data, revents, 0);
}

static void timer_cb(struct ev_loop *loop, ev_timer *tm, int revents)
{
	struct hconn *h = tm->data;
	struct txn *t = &h->t;
	ev_tstamp now = ev_now(loop);

	if (!h->hs_done || h->closing) {
		h->dead = true;
		goto done;
	}
	switch (t->rq) {
	case RQ_IDLE:
		if (h->ntxn == 0 && to_http_request(h) &&
		    now + 0.0005 >= h->t_accept + to_http_request(h) / 1000.0) {
			t->active = true;
			t->t_start = h->t_accept;
			t->wall_start = h->wall_accept;
			txn_error(h, 408, 'c', 'R');
			goto done;
		}
		if (h->ntxn > 0 && to_keep_alive(h) &&
		    now + 0.0005 >= h->t_idle + to_keep_alive(h) / 1000.0) {
			h->dead = true; /* idle keep-alive connection: closed silently */
			goto done;
		}
		goto done;
	case RQ_HEAD:
		if (to_http_request(h) &&
		    now + 0.0005 >= t->t_start + to_http_request(h) / 1000.0) {
			__atomic_add_fetch(&h->fe->failed_req, 1, __ATOMIC_RELAXED);
			txn_error(h, 408, 'c', 'R');
		}
		goto done;
	default:
		break;
	}
	if (t->rq == RQ_TUNNEL || t->rs == RS_TUNNEL) {
		uint32_t tt = to_tunnel(h);
		ev_tstamp last = h->c_last > h->s_last ? h->c_last : h->s_last;

		if (tt && now + 0.0005 >= last + tt / 1000.0) {
			set_term(h, h->c_last <= h->s_last ? 'c' : 's', 'D');
			h->dead = true;
		} else if (!tt && h->fe->to.client &&
			   now + 0.0005 >= h->c_last + h->fe->to.client / 1000.0) {
			set_term(h, 'c', 'D');
			h->dead = true;
		} else if (!tt && to_server(h) &&
			   now + 0.0005 >= h->s_last + to_server(h) / 1000.0) {
			set_term(h, 's', 'D');
			h->dead = true;
		}
		goto done;
	}
	if (t->sv == SV_TURNAROUND) {
		if (now + 0.0005 >= t->retry_at) {
			t->sv = SV_NONE;
			txn_connect(h);
		}
		goto done;
	}
	if (t->sv == SV_QUEUED) {
		if (t->q_deadline && now + 0.0005 >= t->q_deadline) {
			t->t_queued = now; /* Tw: the time spent in the queue */
			set_term(h, 's', 'Q');
			txn_error(h, 503, 's', 'Q');
		} else {
			txn_connect(h);
		}
		goto done;
	}
	if (t->sv == SV_CONNECTING && t->conn_deadline && now + 0.0005 >= t->conn_deadline) {
		conn_failed(h, ETIMEDOUT);
		goto done;
	}
	if (srv_timer_active(h) && now + 0.0005 >= h->s_last + to_server(h) / 1000.0) {
		t->srv_close = true;
		if (t->rs == RS_HEAD && !t->rsp_head_sent) {
			txn_error(h, 504, 's', 'H');
		} else {
			set_term(h, 's', 'D');
			txn_reply(h, t->status, NULL, 0, true);
		}
		goto done;
	}
	if (cli_timer_active(h) && now + 0.0005 >= h->c_last + h->fe->to.client / 1000.0) {
		if (t->rq == RQ_BODY && !t->rsp_head_sent) {
			txn_error(h, 408, 'c', 'D');
		} else {
			set_term(h, 'c', 'D');
			h->dead = true;
		}
		goto done;
	}
done:
	hc_progress(h, 0, 0);
}

/* ---- per-worker housekeeping ---- */

/*
 * In lw's pool, close the idle connections that expired, belong to an old
 * generation or a removed server (all of them at stop), and park those
 * idle for L7_PARK_MS so that other workers may take them.
 */
static void pool_expire(struct l7_worker *lw, ev_tstamp now, bool all)
{
	struct l7_pool *p = &lw->pool;
	struct sconn *sc, *st;
	struct list_head dead = LIST_HEAD_INIT(dead);

	pthread_mutex_lock(&p->lock);
	list_for_each_safe(sc, st, &p->lru, lru) {
		if (all || sc->m != lbd.m || sc->srv->removed ||
		    sc->srv->admin == SRV_ADMIN_MAINT ||
		    now - sc->idle_since >= pool_idle_ms(sc) / 1000.0) {
			pool_unlink(sc);
			list_add_tail(&sc->lru, &dead);
		} else if (!sc->parked && now - sc->idle_since >= L7_PARK_MS / 1000.0) {
			ev_io_stop(lw->w->loop, &sc->io);
			lw->w->nconns--;
			sc->lw = NULL;
			sc->parked = true;
		}
	}
	pthread_mutex_unlock(&p->lock);
	list_for_each_safe(sc, st, &dead, lru)
		sconn_close(sc);
}

static void l7_tick_cb(struct ev_loop *loop, ev_timer *tm, int revents)
{
	struct l7_worker *lw = tm->data;
	struct hconn *h, *ht;
	bool stopping = lw->w->stopping;

	pool_expire(lw, ev_now(loop), stopping);
	if (!stopping)
		return;
	/* Soft stop: idle keep-alive clients go now, busy ones after their response. */
	list_for_each_safe(h, ht, &lw->conns, list) {
		if (h->t.rq == RQ_IDLE && h->cin.wr == 0 && !h->closing) {
			h->dead = true;
			hc_progress(h, 0, 0);
		} else {
			h->t.cli_close = true;
		}
	}
}

static struct l7_worker *l7_worker_get(struct worker *w)
{
	struct l7_worker *lw = &l7w[w->id];

	if (lw->ready)
		return lw;
	lw->w = w;
	list_init(&lw->conns);
	ev_timer_init(&lw->tick, l7_tick_cb, 0.25, 0.25);
	lw->tick.data = lw;
	ev_timer_start(w->loop, &lw->tick);
	ev_unref(w->loop); /* housekeeping does not keep the loop alive */
	lw->ready = true;
	return lw;
}

void http_conn_close_all(struct worker *w)
{
	struct l7_worker *lw = &l7w[w->id];
	struct hconn *h, *ht;

	if (!lw->ready)
		return;
	list_for_each_safe(h, ht, &lw->conns, list) {
		set_term(h, 'K', 'D');
		hc_free(h);
	}
	pool_expire(lw, 0, true);
}

static void *bind_tls_ctx(struct proxy *fe, struct bind *b)
{
	struct l7_px *lp = fe->l7;

	for (int i = 0; lp && i < lp->ntls; i++) {
		if (lp->tls[i].b == b)
			return lp->tls[i].ctx;
	}
	return NULL;
}

void http_conn_accept(struct worker *w, struct listener *l, int cfd, struct sockaddr_storage *src)
{
	struct proxy *fe = l->fe;
	const struct global *g = lbd.m ? &lbd.m->global : NULL;
	size_t bufsize = g && g->tune_bufsize > 0 ? (size_t)g->tune_bufsize : H1_DEFAULT_BUFSIZE;
	uint32_t maxhdr = g && g->tune_maxhdr > 0 ? (uint32_t)g->tune_maxhdr : H1_DEFAULT_MAXHDR;
	struct l7_worker *lw = l7_worker_get(w);
	socklen_t slen = sizeof(struct sockaddr_storage);
	struct hconn *h;
	int one = 1;

	h = calloc(1, sizeof(*h));
	if (!h || !px_l7(fe))
		goto fail;
	h->lw = lw;
	h->w = w;
	h->l = l;
	h->fe = fe;
	h->cfd = cfd;
	h->src = *src;
	h->bufsize = bufsize;
	h->maxhdr = maxhdr;
	getsockname(cfd, (struct sockaddr *)&h->dst, &slen);
	if (buf_alloc(&h->cin, bufsize + L7_CIN_EXTRA) < 0 || buf_alloc(&h->sin, bufsize) < 0 ||
	    buf_alloc(&h->cout, 4096) < 0 || buf_alloc(&h->sout, 4096) < 0)
		goto fail_free;
	/* one block for the four header arrays (written before they are read) */
	h->req_hdrs = malloc((4 * (size_t)maxhdr + 2 * L7_HDR_EXTRA) * sizeof(struct h1_hdr));
	if (!h->req_hdrs)
		goto fail_free;
	h->rsp_hdrs = h->req_hdrs + maxhdr;
	h->reqv_hdrs = h->rsp_hdrs + maxhdr;
	h->rspv_hdrs = h->reqv_hdrs + maxhdr + L7_HDR_EXTRA;
	if (caps_alloc(h) < 0)
		goto fail_free;
	if (l->bind && l->bind->ssl) {
		void *ctx = bind_tls_ctx(fe, l->bind);

		if (!ctx || xconn_init_tls(&h->cx, ctx, cfd) < 0)
			goto fail_free;
		h->ssl = true;
	} else {
		xconn_init_raw(&h->cx, cfd);
		h->hs_done = true;
	}
	setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (fe->options & PX_OPT_TCPKA)
		setsockopt(cfd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	h->t_accept = h->c_last = h->s_last = ev_now(w->loop);
	h->wall_accept = wall_now();
	txn_reset(h);
	ev_io_init(&h->cio, cio_cb, cfd, 0);
	h->cio.data = h;
	ev_timer_init(&h->timer, timer_cb, 0.0, 0.0);
	h->timer.data = h;
	list_add_tail(&h->list, &lw->conns);
	w->nconns++;
	__atomic_add_fetch(&l7_clients, 1, __ATOMIC_RELAXED);
	h->t.first = true;
	hc_update(h);
	return;
fail_free:
	if (h->cx.ops)
		h->cx.ops->release(&h->cx);
	free(h->cin.data);
	free(h->cout.data);
	free(h->sin.data);
	free(h->sout.data);
	free(h->req_hdrs);
	free(h->cap);
	free(h->cap_data);
fail:
	free(h);
	close(cfd);
	if (&worker_conn_closed)
		worker_conn_closed(w, fe);
}

static void __attribute__((constructor)) http_proxy_register(void)
{
	server_prepare_hook = l7_server_prepare;
	server_release_hook = l7_server_release;
	for (int w = 0; w < LBD_MAX_WORKERS; w++) {
		struct l7_pool *p = &l7w[w].pool;

		pthread_mutex_init(&p->lock, NULL);
		list_init(&p->lru);
		for (int i = 0; i < L7_IDLE_BUCKETS; i++)
			list_init(&p->bucket[i]);
	}
	if (&http_accept_hook)
		http_accept_hook = http_conn_accept;
}
