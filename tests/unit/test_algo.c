// SPDX-License-Identifier: MIT
/*
 * Balancing algorithms through lb_pick()/lb_release(), on backends built by
 * hand (no config, no model.c): each fixture fills be->pool the way
 * backend_recalc() does and calls the algorithm's rebuild.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/un.h>

#include "algo.h"
#include "lb_kern_user.h"
#include "t.h"

#define MAXS 16

struct fx {
	struct proxy be;
	struct lb_pool pool;
	struct server *all[MAXS]; /* every server, in config order */
	struct server *in[MAXS]; /* pool storage */
	int nall;
};

static void fx_init(struct fx *f, const char *algo)
{
	memset(f, 0, sizeof(*f));
	list_init(&f->be.servers);
	pthread_mutex_init(&f->be.lock, NULL);
	f->be.name = "be";
	f->be.cap = PX_CAP_BE;
	f->be.algo = lb_algo_find(algo);
	f->be.pool = &f->pool;
	f->pool.srv = f->in;
}

/* Servers are named by one letter each so that sequences read as strings. */
static struct server *fx_srv(struct fx *f, const char *name, int weight)
{
	struct server *s = calloc(1, sizeof(*s));

	s->name = strdup(name);
	s->be = &f->be;
	s->weight = s->iweight = weight;
	s->puid = f->nall + 1;
	s->refcnt = 1;
	list_add_tail(&s->list, &f->be.servers);
	f->be.nservers++;
	f->all[f->nall++] = s;
	return s;
}

/* What backend_recalc() does: usable servers (ready, weight > 0) into the pool, then rebuild. */
static int fx_recalc(struct fx *f)
{
	int i;

	f->pool.n = 0;
	f->pool.tot_weight = 0;
	for (i = 0; i < f->nall; i++) {
		struct server *s = f->all[i];

		if (s->admin != SRV_ADMIN_READY || s->weight <= 0 || s->removed)
			continue;
		f->in[f->pool.n++] = s;
		f->pool.tot_weight += s->weight;
	}
	return f->be.algo->rebuild(&f->be);
}

static void fx_free(struct fx *f)
{
	int i;

	f->be.algo->destroy(&f->be);
	for (i = 0; i < f->nall; i++) {
		free(f->all[i]->name);
		free(f->all[i]);
	}
	pthread_mutex_destroy(&f->be.lock);
}

/* One short-lived connection: pick and release at once, so loads stay 0. */
static struct server *pick1(struct fx *f, const struct lb_req *req, struct server *avoid)
{
	struct server *s = lb_pick(&f->be, req, avoid);

	if (s)
		lb_release(s);
	return s;
}

/* n picks as a string of server letters ('-' for none). */
static const char *seq(struct fx *f, const struct lb_req *req, int n)
{
	static char buf[512];
	int i;

	for (i = 0; i < n && i < (int)sizeof(buf) - 1; i++) {
		struct server *s = pick1(f, req, NULL);

		buf[i] = s ? s->name[0] : '-';
	}
	buf[i] = 0;
	return buf;
}

/* The first n letters of the smooth round-robin sequence of the pool's weights. */
static const char *rr_expect(struct fx *f, int n)
{
	static char buf[512];
	uint32_t w[MAXS], slots[512];
	int i, k;

	for (i = 0; i < f->pool.n; i++)
		w[i] = f->in[i]->weight;
	k = lb_rr_slots(w, f->pool.n, slots, 512);
	for (i = 0; i < n && k > 0; i++)
		buf[i] = f->in[slots[i % k]]->name[0];
	buf[i] = 0;
	return buf;
}

static int count(const char *s, char c)
{
	int n = 0;

	for (; *s; s++)
		n += *s == c;
	return n;
}

static void test_registry(void)
{
	static const char *const names[] = { "roundrobin", "static-rr", "leastconn",
					     "first",	   "source",	"uri",
					     "url_param",  "hdr",	"random" };
	unsigned i;
	int ok = 1;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct lb_algo_ops *a = lb_algo_find(names[i]);

		if (!a || strcmp(a->name, names[i]) || !a->rebuild || !a->pick || !a->destroy)
			ok = 0;
	}
	T_OK(ok, "lb_algo_find finds the nine algorithms, each complete");
	T_OK(lb_algo_find("hdr(Host)") == &lb_algo_hdr, "lb_algo_find(\"hdr(Host)\") is hdr");
	T_OK(lb_algo_find("random(3)") == &lb_algo_random, "lb_algo_find(\"random(3)\") is random");
	T_OK(!lb_algo_find("roundrobinx") && !lb_algo_find("round") && !lb_algo_find(NULL),
	     "lb_algo_find rejects unknown names");
	for (i = 0; lb_algos[i]; i++)
		;
	T_EQ_INT(i, 9, "lb_algos[] lists nine algorithms");
	T_OK(lb_algo_roundrobin.l4_ok && lb_algo_static_rr.l4_ok && lb_algo_source.l4_ok &&
		     !lb_algo_leastconn.l4_ok && !lb_algo_uri.l4_ok && !lb_algo_hdr.l4_ok &&
		     !lb_algo_random.l4_ok && !lb_algo_first.l4_ok && !lb_algo_url_param.l4_ok,
	     "l4_ok: roundrobin, static-rr and source only");
	T_OK(lb_algo_hdr.needs_arg && lb_algo_url_param.needs_arg && !lb_algo_uri.needs_arg &&
		     !lb_algo_random.needs_arg,
	     "needs_arg: hdr and url_param");
	T_OK(lb_algo_source.hashed && lb_algo_uri.hashed && lb_algo_url_param.hashed &&
		     lb_algo_hdr.hashed && !lb_algo_roundrobin.hashed && !lb_algo_random.hashed,
	     "hashed: source, uri, url_param, hdr");
}

static void test_pick_accounting(void)
{
	struct fx f;
	struct server *a, *s1, *s2;

	fx_init(&f, "roundrobin");
	a = fx_srv(&f, "a", 1);
	fx_recalc(&f);
	s1 = lb_pick(&f.be, NULL, NULL);
	s2 = lb_pick(&f.be, NULL, NULL);
	T_OK(s1 == a && s2 == a, "lb_pick returns the only server");
	T_EQ_INT(a->cur_conns, 2, "lb_pick counts cur_conns");
	T_EQ_INT(a->total_conns, 2, "lb_pick counts total_conns");
	T_EQ_INT(a->max_conns_seen, 2, "lb_pick tracks max_conns_seen");
	T_EQ_INT(a->refcnt, 3, "lb_pick takes a reference per connection");
	lb_release(s1);
	lb_release(s2);
	lb_release(NULL);
	T_EQ_INT(a->cur_conns, 0, "lb_release gives cur_conns back");
	T_EQ_INT(a->refcnt, 1, "lb_release drops the reference");
	T_EQ_INT(a->max_conns_seen, 2, "max_conns_seen stays at the peak");

	/* Empty pool. */
	a->admin = SRV_ADMIN_MAINT;
	fx_recalc(&f);
	errno = 0;
	s1 = lb_pick(&f.be, NULL, NULL);
	T_OK(!s1 && errno == EAGAIN, "empty pool: NULL with EAGAIN");
	T_EQ_INT(f.be.no_srv, 1, "empty pool: counted in be->no_srv");
	fx_free(&f);
}

static void test_roundrobin(void)
{
	struct fx f;
	struct server *a, *b, *c;
	const char *s;
	int i, ok;

	fx_init(&f, "roundrobin");
	a = fx_srv(&f, "a", 3);
	b = fx_srv(&f, "b", 1);
	fx_recalc(&f);
	s = seq(&f, NULL, 40);
	T_OK(s[0] == 'a', "rr 3,1: the first pick is the first server (%s)", s);
	ok = 1;
	for (i = 0; i + 4 <= 40; i++) {
		if (count(s + i, 'b') - count(s + i + 4, 'b') != 1)
			ok = 0;
	}
	T_OK(ok, "rr 3,1: 3:1 in every window of 4 (%s)", s);
	fx_free(&f);

	fx_init(&f, "roundrobin");
	fx_srv(&f, "a", 1);
	fx_srv(&f, "b", 1);
	fx_srv(&f, "c", 1);
	fx_recalc(&f);
	T_EQ_STR(seq(&f, NULL, 9), "abcabcabc", "rr 1,1,1");
	fx_free(&f);

	fx_init(&f, "roundrobin");
	fx_srv(&f, "a", 5);
	fx_srv(&f, "b", 1);
	fx_srv(&f, "c", 1);
	fx_recalc(&f);
	T_EQ_STR(seq(&f, NULL, 14), "aabacaaaabacaa", "rr 5,1,1: smooth interleave");
	fx_free(&f);

	/* The L7 sequence is the XDP slot array's. */
	{
		static const uint32_t w[] = { 7, 3, 5, 3, 1, 12 };
		uint32_t slots[64];
		char want[65];
		int n;

		fx_init(&f, "roundrobin");
		for (i = 0; i < 6; i++) {
			char name[2] = { 'a' + i, 0 };

			fx_srv(&f, name, w[i]);
		}
		fx_recalc(&f);
		n = lb_rr_slots(w, 6, slots, 64);
		for (i = 0; i < n; i++)
			want[i] = 'a' + slots[i];
		want[n] = 0;
		T_EQ_STR(seq(&f, NULL, n), want, "rr 7,3,5,3,1,12 equals lb_rr_slots");
		fx_free(&f);
	}

	/* Weight change mid-stream. */
	fx_init(&f, "roundrobin");
	a = fx_srv(&f, "a", 1);
	b = fx_srv(&f, "b", 1);
	fx_recalc(&f);
	T_EQ_STR(seq(&f, NULL, 5), "ababa", "rr 1,1");
	a->weight = 3;
	fx_recalc(&f);
	s = seq(&f, NULL, 400);
	T_OK(count(s, 'a') >= 298 && count(s, 'a') <= 302,
	     "rr 1,1 -> 3,1: 3:1 after the change (%d of 400)", count(s, 'a'));
	ok = 1;
	for (i = 8; i + 4 <= 400; i++) {
		if (count(s + i, 'b') - count(s + i + 4, 'b') != 1)
			ok = 0;
	}
	T_OK(ok, "rr 1,1 -> 3,1: every window of 4 is 3:1 once settled");
	b->weight = 0;
	fx_recalc(&f);
	T_EQ_STR(seq(&f, NULL, 4), "aaaa", "rr: weight 0 leaves the pool");
	fx_free(&f);

	/* A server leaving the pool is skipped; coming back it takes its share again. */
	fx_init(&f, "roundrobin");
	a = fx_srv(&f, "a", 1);
	b = fx_srv(&f, "b", 1);
	c = fx_srv(&f, "c", 1);
	fx_recalc(&f);
	seq(&f, NULL, 4);
	b->admin = SRV_ADMIN_DRAIN;
	fx_recalc(&f);
	s = seq(&f, NULL, 6);
	T_OK(count(s, 'b') == 0 && count(s, 'a') >= 2 && count(s, 'c') >= 2,
	     "rr: a server leaving the pool is skipped (%s)", s);
	s = seq(&f, NULL, 20);
	T_OK(count(s, 'a') == 10 && count(s, 'c') == 10, "rr: the others share equally (%s)", s);
	b->admin = SRV_ADMIN_READY;
	fx_recalc(&f);
	s = seq(&f, NULL, 30);
	T_OK(count(s, 'a') == 10 && count(s, 'b') == 10 && count(s, 'c') == 10,
	     "rr: back in the pool, equal shares again (%s)", s);

	/* Full servers are skipped; all full gives EAGAIN. */
	{
		struct server *held;

		a->maxconn = 1;
		held = lb_pick(&f.be, NULL, NULL); /* whoever comes next */
		held->maxconn = 1;
		s = seq(&f, NULL, 6);
		T_OK(count(s, held->name[0]) == 0 && count(s, '-') == 0,
		     "rr: a server at maxconn is skipped (%s)", s);
		lb_release(held);
		s = seq(&f, NULL, 30);
		T_OK(count(s, held->name[0]) >= 9, "rr: below maxconn again, it is used (%s)", s);
		a->maxconn = b->maxconn = c->maxconn = 1;
		lb_pick(&f.be, NULL, NULL);
		lb_pick(&f.be, NULL, NULL);
		lb_pick(&f.be, NULL, NULL);
		errno = 0;
		T_OK(!lb_pick(&f.be, NULL, NULL) && errno == EAGAIN, "rr: all full: NULL, EAGAIN");
		a->cur_conns = b->cur_conns = c->cur_conns = 0;
		a->maxconn = b->maxconn = c->maxconn = 0;
	}

	/* avoid (redispatch) */
	ok = 1;
	for (i = 0; i < 12; i++) {
		if (pick1(&f, NULL, b) == b)
			ok = 0;
	}
	T_OK(ok, "rr: avoid is never picked while others are usable");
	a->admin = c->admin = SRV_ADMIN_MAINT;
	fx_recalc(&f);
	T_OK(pick1(&f, NULL, b) == b, "rr: avoid is picked when it is the only one");
	b->maxconn = 1;
	b->cur_conns = 1;
	T_OK(!pick1(&f, NULL, b), "rr: ... unless it is full");
	fx_free(&f);

	/* Before any rebuild (or after a failed one) the pick still works. */
	fx_init(&f, "roundrobin");
	a = fx_srv(&f, "a", 1);
	f.in[0] = a;
	f.pool.n = 1;
	T_OK(pick1(&f, NULL, NULL) == a, "rr: no state yet: falls back to a scan of the pool");
	fx_free(&f);
}

static void test_static_rr(void)
{
	struct fx f;
	struct server *a, *b;
	const char *s;

	fx_init(&f, "static-rr");
	a = fx_srv(&f, "a", 3);
	b = fx_srv(&f, "b", 1);
	fx_recalc(&f);
	T_EQ_STR(seq(&f, NULL, 8), "aabaaaba", "static-rr 3,1");
	a->weight = 1; /* run-time weight change: no effect */
	fx_recalc(&f);
	s = seq(&f, NULL, 40);
	T_EQ_INT(count(s, 'a'), 30, "static-rr: run-time weight changes have no effect");
	b->admin = SRV_ADMIN_MAINT;
	fx_recalc(&f);
	T_EQ_STR(seq(&f, NULL, 4), "aaaa", "static-rr: a server leaving the pool is skipped");
	b->admin = SRV_ADMIN_READY;
	fx_recalc(&f);
	s = seq(&f, NULL, 40);
	T_EQ_INT(count(s, 'b'), 10, "static-rr: back in the pool");
	a->maxconn = 1;
	a->cur_conns = 1;
	T_EQ_STR(seq(&f, NULL, 4), "bbbb", "static-rr: full server skipped");
	b->maxconn = 1;
	b->cur_conns = 1;
	errno = 0;
	T_OK(!pick1(&f, NULL, NULL) && errno == EAGAIN, "static-rr: all full: EAGAIN");
	a->cur_conns = b->cur_conns = 0;
	T_OK(pick1(&f, NULL, a) == b && pick1(&f, NULL, a) == b, "static-rr: avoid honoured");
	fx_free(&f);
}

static void test_leastconn(void)
{
	struct fx f;
	struct server *a, *b, *c, *s1;

	fx_init(&f, "leastconn");
	a = fx_srv(&f, "a", 1);
	b = fx_srv(&f, "b", 1);
	c = fx_srv(&f, "c", 1);
	fx_recalc(&f);
	a->cur_conns = 5;
	b->cur_conns = 2;
	c->cur_conns = 7;
	T_OK(pick1(&f, NULL, NULL) == b, "leastconn: picks the least loaded");
	T_OK(pick1(&f, NULL, b) == a, "leastconn: with avoid, the next least loaded");
	a->cur_conns = b->cur_conns = c->cur_conns = 0;
	/* The last pick was a: ties go on from b. */
	T_EQ_STR(seq(&f, NULL, 7), "bcabcab", "leastconn: ties broken round-robin");
	/* Connections held: the load spreads evenly. */
	s1 = lb_pick(&f.be, NULL, NULL);
	lb_pick(&f.be, NULL, NULL);
	lb_pick(&f.be, NULL, NULL);
	T_OK(a->cur_conns == 1 && b->cur_conns == 1 && c->cur_conns == 1,
	     "leastconn: 3 held connections land on 3 servers");
	lb_release(s1);
	T_OK(pick1(&f, NULL, NULL) == s1, "leastconn: the server that freed a slot is next");
	a->cur_conns = b->cur_conns = c->cur_conns = 0;

	/* Relative to weight: (cur + 1) / weight. */
	a->weight = 2;
	fx_recalc(&f);
	a->cur_conns = 2; /* 3/2 */
	b->cur_conns = 1; /* 2/1 */
	c->cur_conns = 2; /* 3/1 */
	T_OK(pick1(&f, NULL, NULL) == a, "leastconn: load is relative to weight");
	a->cur_conns = 4; /* 5/2 */
	T_OK(pick1(&f, NULL, NULL) == b, "leastconn: ... and follows the load");
	b->maxconn = 1;
	T_OK(pick1(&f, NULL, NULL) == a, "leastconn: full server skipped");
	fx_free(&f);
}

static void test_first(void)
{
	struct fx f;
	struct server *a, *b, *c, *h[8];
	int i;

	fx_init(&f, "first");
	a = fx_srv(&f, "a", 1);
	b = fx_srv(&f, "b", 1);
	c = fx_srv(&f, "c", 1);
	a->puid = 3; /* `id 3` */
	b->puid = 1;
	c->puid = 2;
	a->maxconn = b->maxconn = c->maxconn = 2;
	fx_recalc(&f);
	for (i = 0; i < 7; i++)
		h[i] = lb_pick(&f.be, NULL, NULL);
	T_OK(h[0] == b && h[1] == b && h[2] == c && h[3] == c && h[4] == a && h[5] == a && !h[6],
	     "first: fills servers in id order up to maxconn, then none");
	lb_release(h[2]);
	T_OK(pick1(&f, NULL, NULL) == c, "first: a freed slot on an earlier server is reused");
	lb_release(h[0]);
	T_OK(pick1(&f, NULL, NULL) == b, "first: the lowest id with a free slot wins");
	T_OK(pick1(&f, NULL, b) == c, "first: avoid honoured");
	for (i = 0; i < 6; i++) {
		if (h[i] && i != 0 && i != 2)
			lb_release(h[i]);
	}
	b->maxconn = 0;
	T_EQ_STR(seq(&f, NULL, 5), "bbbbb", "first: no maxconn takes everything");
	fx_free(&f);
}

static struct sockaddr_in v4(const char *ip, int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };

	inet_pton(AF_INET, ip, &sin.sin_addr);
	return sin;
}

/* The server map-based hashing must pick: h % total weight over the servers laid end to end. */
static struct server *map_expect(struct fx *f, uint32_t h)
{
	uint32_t r = h % f->pool.tot_weight;
	int i;

	for (i = 0; i < f->pool.n; i++) {
		if (r < (uint32_t)f->in[i]->weight)
			return f->in[i];
		r -= f->in[i]->weight;
	}
	return NULL;
}

static void test_source(void)
{
	struct fx f;
	struct server *s1, *s2;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct lb_req req = { 0 };
	int i, cnt[4] = { 0 }, ok, mism;
	char ip[32];

	fx_init(&f, "source");
	fx_srv(&f, "a", 1);
	fx_srv(&f, "b", 2);
	fx_srv(&f, "c", 1);
	fx_srv(&f, "d", 1);
	fx_recalc(&f);

	sin = v4("192.0.2.7", 1000);
	req.src = (struct sockaddr *)&sin;
	s1 = pick1(&f, &req, NULL);
	ok = 1;
	for (i = 0; i < 20; i++) {
		sin.sin_port = htons(1000 + i); /* ports do not matter */
		if (pick1(&f, &req, NULL) != s1)
			ok = 0;
	}
	T_OK(s1 && ok, "source: the same address always gets the same server");
	T_OK(s1 == map_expect(&f, lb_hash_addr(req.src)), "source map-based: hash %% total weight");

	mism = 0;
	for (i = 0; i < 5000; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		sin = v4(ip, 5);
		s2 = pick1(&f, &req, NULL);
		cnt[s2->name[0] - 'a']++;
		mism += s2 != map_expect(&f, lb_hash_addr(req.src));
	}
	T_EQ_INT(mism, 0, "source map-based: every pick is the expected server");
	T_OK(cnt[0] > 800 && cnt[0] < 1200 && cnt[1] > 1800 && cnt[1] < 2200 && cnt[2] > 800 &&
		     cnt[3] > 800,
	     "source: 5000 addresses spread by weight (%d %d %d %d)", cnt[0], cnt[1], cnt[2],
	     cnt[3]);

	/* IPv6, and IPv4-mapped IPv6 equal to IPv4. */
	inet_pton(AF_INET6, "2001:db8::1", &sin6.sin6_addr);
	req.src = (struct sockaddr *)&sin6;
	s1 = pick1(&f, &req, NULL);
	T_OK(s1 && s1 == pick1(&f, &req, NULL), "source: IPv6 deterministic");
	inet_pton(AF_INET6, "::ffff:192.0.2.7", &sin6.sin6_addr);
	sin = v4("192.0.2.7", 1);
	T_EQ_INT(lb_hash_addr((struct sockaddr *)&sin6), lb_hash_addr((struct sockaddr *)&sin),
		 "source: IPv4-mapped IPv6 hashes as IPv4");

	/* No usable source: round-robin. */
	req.src = NULL;
	T_EQ_STR(seq(&f, &req, 5), rr_expect(&f, 5), "source: no address -> roundrobin");
	T_EQ_STR(seq(&f, NULL, 5), rr_expect(&f, 5), "source: no request -> roundrobin");
	req.src = (struct sockaddr *)&sun;
	T_EQ_STR(seq(&f, &req, 5), rr_expect(&f, 5), "source: unix socket client -> roundrobin");

	/* Full or avoided hashed server: another one, still deterministic. */
	sin = v4("192.0.2.7", 1000);
	req.src = (struct sockaddr *)&sin;
	s1 = pick1(&f, &req, NULL);
	s2 = pick1(&f, &req, s1);
	T_OK(s2 && s2 != s1 && pick1(&f, &req, s1) == s2, "source: avoid moves to a stable other");
	s1->maxconn = 1;
	s1->cur_conns = 1;
	T_OK(pick1(&f, &req, NULL) == s2, "source: a full hashed server moves to the same other");
	s1->maxconn = 0;
	s1->cur_conns = 0;
	fx_free(&f);
}

static void test_consistent(void)
{
	static uint32_t table[LB_MAGLEV_SIZE];
	struct lb_maglev_entry e[6];
	struct fx f;
	struct sockaddr_in sin;
	struct lb_req req = { 0 };
	struct server *before[2000];
	char ip[32];
	int i, mism = 0, movedn = 0, leaked = 0;

	fx_init(&f, "source");
	f.be.hash_type = HASH_CONSISTENT;
	fx_srv(&f, "a", 1);
	fx_srv(&f, "b", 3);
	fx_srv(&f, "c", 2);
	fx_srv(&f, "d", 1);
	fx_srv(&f, "e", 2);
	fx_srv(&f, "f", 1);
	f.all[2]->hash_key = 12345; /* keys set by the model win over the name's hash */
	fx_recalc(&f);

	/* Independently: the table lb_maglev_build makes from the same keys and weights. */
	for (i = 0; i < 6; i++) {
		e[i].key =
			f.all[i]->hash_key ? f.all[i]->hash_key : lb_hash_bytes(f.all[i]->name, 1);
		e[i].weight = f.all[i]->weight;
	}
	T_EQ_INT(lb_maglev_build(e, 6, table, LB_MAGLEV_SIZE), 0, "consistent: reference table");
	req.src = (struct sockaddr *)&sin;
	for (i = 0; i < 2000; i++) {
		snprintf(ip, sizeof(ip), "172.16.%d.%d", i >> 8, i & 255);
		sin = v4(ip, 80);
		before[i] = pick1(&f, &req, NULL);
		if (before[i] != f.all[table[lb_hash_addr(req.src) % LB_MAGLEV_SIZE]])
			mism++;
	}
	T_EQ_INT(mism, 0, "consistent: L7 picks equal lb_maglev_build lookups");

	/* lb_pool_maglev is the same table. */
	{
		static uint32_t t2[LB_MAGLEV_SIZE];

		lb_pool_maglev(&f.pool, t2, LB_MAGLEV_SIZE);
		T_OK(!memcmp(t2, table, sizeof(t2)),
		     "consistent: lb_pool_maglev equals the reference");
	}

	/* Take one server out: only its clients move (plus a little). */
	f.all[1]->admin = SRV_ADMIN_MAINT;
	fx_recalc(&f);
	for (i = 0; i < 2000; i++) {
		struct server *s;

		snprintf(ip, sizeof(ip), "172.16.%d.%d", i >> 8, i & 255);
		sin = v4(ip, 80);
		s = pick1(&f, &req, NULL);
		if (s == f.all[1])
			leaked++;
		else if (before[i] != f.all[1] && s != before[i])
			movedn++;
	}
	T_EQ_INT(leaked, 0, "consistent: no client goes to the removed server");
	T_OK(movedn < 2000 / 50, "consistent: few other clients move (%d of 2000)", movedn);
	fx_free(&f);
}

static const char *uri_srv(struct fx *f, const char *uri)
{
	struct lb_req req = { .uri = uri, .uri_len = strlen(uri) };
	struct server *s = pick1(f, &req, NULL);

	return s ? s->name : "-";
}

static void test_uri(void)
{
	struct fx f;
	struct lb_req req = { 0 };
	int i, same;
	char u[64];

	fx_init(&f, "uri");
	for (i = 0; i < 8; i++) {
		char name[2] = { 'a' + i, 0 };

		fx_srv(&f, name, 1 + i % 3);
	}
	fx_recalc(&f);
	T_EQ_STR(uri_srv(&f, "/img/logo.png"), uri_srv(&f, "/img/logo.png"), "uri: deterministic");
	T_EQ_STR(uri_srv(&f, "/img/logo.png"),
		 map_expect(&f, lb_hash_bytes("/img/logo.png", 13))->name,
		 "uri: hash of the path, modulo the total weight");
	T_EQ_STR(uri_srv(&f, "/img/logo.png?v=1"), uri_srv(&f, "/img/logo.png?v=2"),
		 "uri: query string ignored");
	same = 0;
	for (i = 0; i < 64; i++) {
		snprintf(u, sizeof(u), "/p%d", i);
		same += !strcmp(uri_srv(&f, u), uri_srv(&f, "/p0"));
	}
	T_OK(same < 32, "uri: different paths spread (%d of 64 on one server)", same);

	f.be.algo_whole = true;
	T_EQ_STR(uri_srv(&f, "/x?v=1"), map_expect(&f, lb_hash_bytes("/x?v=1", 6))->name,
		 "uri whole: the query string is hashed too");
	f.be.algo_whole = false;

	f.be.algo_depth = 1;
	T_EQ_STR(uri_srv(&f, "/a/b/c"), map_expect(&f, lb_hash_bytes("/a", 2))->name,
		 "uri depth 1: /a/b/c hashes /a");
	f.be.algo_depth = 2;
	T_EQ_STR(uri_srv(&f, "/a/b/c?q"), map_expect(&f, lb_hash_bytes("/a/b", 4))->name,
		 "uri depth 2: /a/b/c hashes /a/b");
	f.be.algo_depth = 0;
	f.be.algo_len = 4;
	T_EQ_STR(uri_srv(&f, "/abcdef"), map_expect(&f, lb_hash_bytes("/abc", 4))->name,
		 "uri len 4: /abcdef hashes /abc");
	T_EQ_STR(uri_srv(&f, "/ab?c"), map_expect(&f, lb_hash_bytes("/ab", 3))->name,
		 "uri len 4: the query string still stops it");
	f.be.algo_len = 0;

	/* No URI (TCP mode): round-robin. */
	T_EQ_STR(seq(&f, &req, 4), rr_expect(&f, 4), "uri: no URI -> roundrobin");
	fx_free(&f);
}

static void test_url_param(void)
{
	struct fx f;
	struct server *bob;
	struct lb_req req = { 0 };
	const char *rr;

	fx_init(&f, "url_param");
	fx_srv(&f, "a", 1);
	fx_srv(&f, "b", 1);
	fx_srv(&f, "c", 1);
	fx_srv(&f, "d", 1);
	f.be.algo_arg = "user";
	fx_recalc(&f);
	bob = map_expect(&f, lb_hash_bytes("bob", 3));
	T_EQ_STR(uri_srv(&f, "/p?user=bob"), bob->name, "url_param: hashes the value");
	T_EQ_STR(uri_srv(&f, "/q?x=1&user=bob&y=2"), bob->name,
		 "url_param: found among other parameters");
	T_EQ_STR(uri_srv(&f, "/q?x=1&user=bob"), bob->name, "url_param: as the last parameter");

	/* Absent, empty or only a prefix: round-robin, as HAProxy. */
	rr = seq(&f, &req, 4);
	T_EQ_STR(rr, "abcd", "url_param: no URI -> roundrobin");
	T_EQ_STR(uri_srv(&f, "/p"), "a", "url_param: no query string -> roundrobin");
	T_EQ_STR(uri_srv(&f, "/p?username=bob"), "b", "url_param: other name -> roundrobin");
	T_EQ_STR(uri_srv(&f, "/p?user="), "c", "url_param: empty value -> roundrobin");
	T_EQ_STR(uri_srv(&f, "/p?xuser=bob&user"), "d", "url_param: no '=' -> roundrobin");
	fx_free(&f);
}

struct hdrs {
	const char *name, *value;
};

static const char *get_hdr(void *ctx, const char *name, size_t *len)
{
	const struct hdrs *h = ctx;

	for (; h->name; h++) {
		if (!strcasecmp(h->name, name)) {
			*len = strlen(h->value);
			return h->value;
		}
	}
	return NULL;
}

static void test_hdr(void)
{
	static const struct hdrs h1[] = { { "Host", "www.example.com" }, { NULL, NULL } },
				 h2[] = { { "Accept", "*/*" },
					  { "host", "www.example.com" },
					  { NULL, NULL } },
				 h3[] = { { "Host", "" }, { NULL, NULL } },
				 none[] = { { NULL, NULL } };
	struct lb_req req = { .get_hdr = get_hdr };
	struct server *s1;
	struct fx f;

	fx_init(&f, "hdr");
	fx_srv(&f, "a", 1);
	fx_srv(&f, "b", 1);
	fx_srv(&f, "c", 1);
	f.be.algo_arg = "host";
	f.be.hash_type = HASH_CONSISTENT;
	fx_recalc(&f);
	req.hdr_ctx = (void *)h1;
	s1 = pick1(&f, &req, NULL);
	req.hdr_ctx = (void *)h2;
	T_OK(s1 && pick1(&f, &req, NULL) == s1, "hdr(host): same value, same server");
	{
		static uint32_t table[LB_MAGLEV_SIZE];

		lb_pool_maglev(&f.pool, table, LB_MAGLEV_SIZE);
		T_OK(s1 == f.in[table[lb_hash_bytes("www.example.com", 15) % LB_MAGLEV_SIZE]],
		     "hdr(host) consistent: the Maglev slot of the value's hash");
	}
	req.hdr_ctx = (void *)none;
	T_EQ_STR(seq(&f, &req, 4), "abca", "hdr: absent -> roundrobin");
	req.hdr_ctx = (void *)h3;
	T_EQ_STR(seq(&f, &req, 2), "bc", "hdr: empty -> roundrobin");
	req.get_hdr = NULL;
	T_EQ_STR(seq(&f, &req, 1), "a", "hdr: no header access -> roundrobin");
	fx_free(&f);
}

static void test_random(void)
{
	struct fx f;
	struct server *a, *b, *s;
	const char *seqs;
	int i, n, ok;

	fx_init(&f, "random");
	a = fx_srv(&f, "a", 1);
	b = fx_srv(&f, "b", 3);
	f.be.algo_draws = 1;
	fx_recalc(&f);
	seqs = seq(&f, NULL, 400);
	n = count(seqs, 'b');
	for (i = 0; i < 19; i++)
		n += count(seq(&f, NULL, 400), 'b');
	T_OK(n > 8000 * 0.72 && n < 8000 * 0.78, "random draws 1: weight 1,3 gives ~75%% (%.1f%%)",
	     n * 100.0 / 8000);

	/* Two draws: a loaded server is chosen only when drawn twice. */
	b->weight = 1;
	f.be.algo_draws = 0; /* default: 2 */
	fx_recalc(&f);
	a->cur_conns = 50;
	n = 0;
	for (i = 0; i < 20; i++)
		n += count(seq(&f, NULL, 400), 'a');
	T_OK(n < 8000 * 0.32, "random(2): the loaded server gets ~25%% (%.1f%%)", n * 100.0 / 8000);
	a->cur_conns = 0;

	/* random(N) from algo_arg: with 8 draws over 2 servers, the loaded one is avoided. */
	f.be.algo_arg = "8";
	fx_recalc(&f);
	a->cur_conns = 50;
	n = count(seq(&f, NULL, 400), 'a');
	T_OK(n < 12, "random(8) via algo_arg: the loaded server is nearly never picked (%d)", n);
	a->cur_conns = 0;

	/* Full and avoided servers. */
	a->maxconn = 1;
	a->cur_conns = 1;
	T_EQ_INT(count(seq(&f, NULL, 100), 'a'), 0, "random: full server never picked");
	a->maxconn = 0;
	a->cur_conns = 0;
	ok = 1;
	for (i = 0; i < 100; i++) {
		s = pick1(&f, NULL, b);
		if (s != a)
			ok = 0;
	}
	T_OK(ok, "random: avoid honoured");
	b->admin = SRV_ADMIN_MAINT;
	fx_recalc(&f);
	T_OK(pick1(&f, NULL, a) == a, "random: avoid when it is the only one");
	fx_free(&f);
}

static void test_hash_helpers(void)
{
	char buf[64], *p = buf + 1;
	struct sockaddr_in s1 = v4("198.51.100.9", 1), s2 = v4("198.51.100.9", 2),
			   s3 = v4("198.51.100.10", 1);
	uint32_t seen[256];
	int i, j, dup = 0;

	/* Alignment does not matter; every length and byte counts. */
	memcpy(p, "hello, world", 12);
	T_EQ_INT(lb_hash_bytes(p, 12), lb_hash_bytes("hello, world", 12),
		 "lb_hash_bytes: independent of alignment");
	T_OK(lb_hash_bytes("hello, world", 12) != lb_hash_bytes("hello, world", 11) &&
		     lb_hash_bytes("hello, worle", 12) != lb_hash_bytes("hello, world", 12) &&
		     lb_hash_bytes("", 0) != lb_hash_bytes("\0", 1),
	     "lb_hash_bytes: length and content matter");
	for (i = 0; i < 256; i++) {
		unsigned char c = i;

		seen[i] = lb_hash_bytes(&c, 1);
		for (j = 0; j < i; j++)
			dup += seen[j] == seen[i];
	}
	T_EQ_INT(dup, 0, "lb_hash_bytes: 256 one-byte inputs, 256 hashes");
	T_EQ_INT(lb_hash_addr((struct sockaddr *)&s1), lb_hash_addr((struct sockaddr *)&s2),
		 "lb_hash_addr: the port is ignored");
	T_EQ_INT(lb_hash_addr((struct sockaddr *)&s1), lb_hash_bytes(&s1.sin_addr, 4),
		 "lb_hash_addr: IPv4 is the hash of the 4 address bytes");
	T_OK(lb_hash_addr((struct sockaddr *)&s1) != lb_hash_addr((struct sockaddr *)&s3),
	     "lb_hash_addr: the address matters");
	/* The XDP program's copy of the address hash agrees, for both families. */
	{
		struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
		struct sockaddr_storage s4 = { 0 }; /* room for either family */
		__be32 a[4];
		int bad = 0;
		char ip[64];

		for (i = 0; i < 500; i++) {
			snprintf(ip, sizeof(ip), "%d.%d.%d.%d", i & 255, (i * 7) & 255, i >> 3,
				 200 - i % 200);
			*(struct sockaddr_in *)&s4 = v4(ip, i);
			xlb_addr_from_sockaddr((struct sockaddr *)&s4, a);
			bad += xlb_hash_addr(a) != lb_hash_addr((struct sockaddr *)&s4);
			snprintf(ip, sizeof(ip), "2001:db8:%x::%x:%x", i, i * 13, 65535 - i);
			inet_pton(AF_INET6, ip, &s6.sin6_addr);
			xlb_addr_from_sockaddr((struct sockaddr *)&s6, a);
			bad += xlb_hash_addr(a) != lb_hash_addr((struct sockaddr *)&s6);
		}
		T_EQ_INT(bad, 0,
			 "lb_hash_addr equals the XDP program's xlb_hash_addr (1000 addresses)");
	}
	{
		struct server s = { .name = "web1" };

		T_EQ_INT(lb_server_key(&s), lb_hash_bytes("web1", 4),
			 "lb_server_key: the name's hash by default");
		s.hash_key = 7;
		T_EQ_INT(lb_server_key(&s), 7, "lb_server_key: hash_key when set");
	}
}

/*
 * lb_pick_ex(): a connection that failed on several servers reaches one it
 * has not tried, whatever the algorithm would pick, while any is left.
 */
static void test_pick_ex(void)
{
	static const char *const algos[] = { "first",	  "source",    "roundrobin",
					     "leastconn", "static-rr", "random" };
	struct sockaddr_in sin = v4("198.51.100.7", 1000);
	struct lb_req req = { .src = (struct sockaddr *)&sin };
	struct server *s, *failed[3];
	struct fx f;
	int i, k, bad;

	for (k = 0; k < (int)(sizeof(algos) / sizeof(algos[0])); k++) {
		fx_init(&f, algos[k]);
		fx_srv(&f, "a", 1);
		fx_srv(&f, "b", 1);
		fx_srv(&f, "c", 1);
		fx_srv(&f, "d", 1);
		fx_recalc(&f);
		/* Failures on a, b and c in each of the 6 orders: d must come next. */
		bad = 0;
		for (i = 0; i < 6; i++) {
			failed[0] = f.all[i / 2];
			failed[1] = f.all[(i / 2 + 1 + i % 2) % 3];
			failed[2] = f.all[(i / 2 + 2 - i % 2) % 3];
			s = lb_pick_ex(&f.be, &req, failed, 3);
			bad += s != f.all[3];
			lb_release(s);
		}
		T_EQ_INT(bad, 0, "%s: after failing on a, b and c (any order), d is picked",
			 algos[k]);
		/* With every server failed, one is still returned (it may be back). */
		s = lb_pick_ex(&f.be, &req,
			       (struct server *[]){ f.all[0], f.all[1], f.all[2], f.all[3] }, 4);
		T_OK(s != NULL, "%s: every server failed: one is still tried", algos[k]);
		lb_release(s);
		fx_free(&f);
	}

	/* A full untried server is not taken; a failed one is retried instead. */
	fx_init(&f, "first");
	fx_srv(&f, "a", 1);
	fx_srv(&f, "b", 1);
	fx_srv(&f, "c", 1);
	fx_recalc(&f);
	f.all[2]->maxconn = 1;
	f.all[2]->cur_conns = 1; /* c is full */
	failed[0] = f.all[0];
	failed[1] = f.all[1];
	s = lb_pick_ex(&f.be, NULL, failed, 2);
	T_OK(s == f.all[0], "failed on a then b, c full: a is retried (%s)", s ? s->name : "none");
	lb_release(s);
	for (i = 0; i < 3; i++)
		f.all[i]->maxconn = f.all[i]->cur_conns = 1;
	T_OK(!lb_pick(&f.be, NULL, NULL) && errno == EAGAIN && f.be.no_srv == 0,
	     "every server full: NULL with EAGAIN, not counted as no server");
	for (i = 0; i < 3; i++)
		f.all[i]->maxconn = f.all[i]->cur_conns = 0;
	s = lb_pick_ex(&f.be, NULL, failed, 2);
	T_OK(s == f.all[2], "... and c once it has a free slot (%s)", s ? s->name : "none");
	lb_release(s);
	T_OK(lb_backend_usable(&f.be), "lb_backend_usable: servers in the pool");
	for (i = 0; i < 3; i++)
		f.all[i]->admin = SRV_ADMIN_MAINT;
	fx_recalc(&f);
	T_OK(!lb_backend_usable(&f.be), "lb_backend_usable: every server in maintenance");
	T_OK(!lb_pick_ex(&f.be, NULL, failed, 2) && errno == EAGAIN,
	     "lb_pick_ex: no usable server: NULL with EAGAIN");
	T_EQ_INT(f.be.no_srv, 1, "no usable server: counted once in be->no_srv");
	T_OK(!lb_backend_usable(NULL), "lb_backend_usable(NULL) is false");
	fx_free(&f);
}

int main(void)
{
	test_registry();
	test_hash_helpers();
	test_pick_accounting();
	test_roundrobin();
	test_static_rr();
	test_leastconn();
	test_first();
	test_source();
	test_consistent();
	test_uri();
	test_url_param();
	test_hdr();
	test_random();
	test_pick_ex();
	T_DONE();
}
