// SPDX-License-Identifier: MIT
/*
 * The hash-based algorithms: `source`, `uri`, `url_param NAME` and
 * `hdr(NAME)`. Each reduces the request to a key, hashes it with
 * lb_hash_bytes()/lb_hash_addr() and maps the hash to a server according to
 * the backend's hash-type:
 *
 *   map-based  (default) hash % total weight, over the pool's servers laid
 *              out one after the other, each as wide as its weight. Cheap,
 *              but any change to the pool moves most keys.
 *   consistent a weighted Maglev table of LB_MAGLEV_SIZE slots built at
 *              rebuild (lb_pool_maglev(), the table the XDP tier uses);
 *              the server is table[hash % size]. A change moves few keys.
 *
 * When the request has no key (TCP mode has no URI, the parameter or header
 * is absent or empty, the client is not an IP address), the pick falls back
 * to smooth weighted round-robin, as HAProxy does. When the hashed server
 * is full or is `avoid`, the next one in the layout (map-based) or the next
 * slot of the table (consistent) that can take it is used.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "algo.h"

enum hash_kind {
	HK_SOURCE,
	HK_URI,
	HK_URL_PARAM,
	HK_HDR,
};

struct hash_state {
	struct lb_swrr *rr; /* fallback when the request has no key */
	int n;
	uint64_t tot;
	struct server **srv;
	uint64_t *cum; /* cum[i] = sum of weights of servers 0..i (map-based) */
	uint32_t *table; /* Maglev table (consistent), NULL for map-based */
};

static void hs_free(struct hash_state *st)
{
	if (!st)
		return;
	lb_swrr_free(st->rr);
	free(st->table);
	free(st);
}

static int hash_rebuild(struct proxy *be)
{
	struct hash_state *old = be->algo_state, *st;
	const struct lb_pool *pool = be->pool;
	int n = pool ? pool->n : 0;
	int i, ret = -ENOMEM;

	be->algo_state = NULL;
	st = calloc(1, sizeof(*st) + n * (sizeof(uint64_t) + sizeof(struct server *)));
	if (!st)
		goto out_free;
	st->cum = (uint64_t *)(st + 1);
	st->srv = (struct server **)(st->cum + n);
	st->n = n;
	for (i = 0; i < n; i++) {
		st->srv[i] = pool->srv[i];
		st->tot += pool->srv[i]->weight > 0 ? pool->srv[i]->weight : 0;
		st->cum[i] = st->tot;
	}
	st->rr = lb_swrr_new(old ? old->rr : NULL, pool);
	if (!st->rr)
		goto out_free;
	if (be->hash_type == HASH_CONSISTENT && st->tot) {
		st->table = malloc(LB_MAGLEV_SIZE * sizeof(*st->table));
		if (!st->table)
			goto out_free;
		ret = lb_pool_maglev(pool, st->table, LB_MAGLEV_SIZE);
		if (ret < 0)
			goto out_free;
	}
	ret = 0;
	be->algo_state = st;
	st = NULL;
out_free:
	hs_free(st);
	hs_free(old);
	return ret;
}

/* `uri [len N] [depth N] [whole]`: the path (and query with `whole`), cut at len / depth. */
static bool uri_key(const struct proxy *be, const struct lb_req *req, uint32_t *h)
{
	const char *u = req->uri;
	size_t len = req->uri_len, i;
	int slashes = 0;

	if (!u || !len)
		return false;
	if (be->algo_len > 0 && len > (size_t)be->algo_len)
		len = be->algo_len;
	for (i = 0; i < len; i++) {
		if (u[i] == '?' && !be->algo_whole)
			break;
		/* depth N keeps N directory levels: "/a/b/c" at depth 1 is "/a". */
		if (u[i] == '/' && be->algo_depth > 0 && slashes++ == be->algo_depth)
			break;
	}
	*h = lb_hash_bytes(u, i);
	return true;
}

/* `url_param NAME`: the value of NAME=value in the query string, when not empty. */
static bool param_key(const struct proxy *be, const struct lb_req *req, uint32_t *h)
{
	const char *name = be->algo_arg, *p, *end, *amp, *v;
	size_t nlen;

	if (!name || !*name || !req->uri || !req->uri_len)
		return false;
	nlen = strlen(name);
	end = req->uri + req->uri_len;
	p = memchr(req->uri, '?', req->uri_len);
	if (!p)
		return false;
	for (p++; p < end; p = amp + 1) {
		amp = memchr(p, '&', end - p);
		if (!amp)
			amp = end;
		if ((size_t)(amp - p) > nlen && !memcmp(p, name, nlen) && p[nlen] == '=') {
			v = p + nlen + 1;
			if (v == amp)
				return false; /* NAME= without a value */
			*h = lb_hash_bytes(v, amp - v);
			return true;
		}
	}
	return false;
}

/* `hdr(NAME)`: the header's value, when present and not empty. */
static bool hdr_key(const struct proxy *be, const struct lb_req *req, uint32_t *h)
{
	const char *v;
	size_t len = 0;

	if (!be->algo_arg || !req->get_hdr)
		return false;
	v = req->get_hdr(req->hdr_ctx, be->algo_arg, &len);
	if (!v || !len)
		return false;
	*h = lb_hash_bytes(v, len);
	return true;
}

static bool src_key(const struct lb_req *req, uint32_t *h)
{
	if (!req->src || (req->src->sa_family != AF_INET && req->src->sa_family != AF_INET6))
		return false;
	*h = lb_hash_addr(req->src);
	return true;
}

static bool req_key(const struct proxy *be, enum hash_kind kind, const struct lb_req *req,
		    uint32_t *h)
{
	if (!req)
		return false;
	switch (kind) {
	case HK_SOURCE:
		return src_key(req, h);
	case HK_URI:
		return uri_key(be, req, h);
	case HK_URL_PARAM:
		return param_key(be, req, h);
	case HK_HDR:
		return hdr_key(be, req, h);
	}
	return false;
}

static bool hs_ok(const struct server *s, const struct server *avoid)
{
	return s != avoid && !lb_srv_full(s);
}

static struct server *hash_lookup(struct proxy *be, struct hash_state *st, uint32_t h,
				  struct server *avoid)
{
	uint32_t slot, k;
	int i, j;

	if (st->table) {
		slot = h % LB_MAGLEV_SIZE;
		i = st->table[slot];
	} else {
		slot = 0;
		i = lb_cum_find(st->cum, st->n, h % st->tot); /* map-based */
	}
	if (hs_ok(st->srv[i], avoid))
		return st->srv[i];

	/* The hashed server cannot take it: is any other one worth looking for? */
	for (j = 0; j < st->n; j++) {
		if (hs_ok(st->srv[j], avoid))
			break;
	}
	if (j == st->n)
		return lb_pick_avoided(be->pool, avoid);
	if (st->table) {
		for (k = 1; k < LB_MAGLEV_SIZE; k++) {
			i = st->table[(slot + k) % LB_MAGLEV_SIZE];
			if (hs_ok(st->srv[i], avoid))
				return st->srv[i];
		}
		return st->srv[j]; /* usable servers too light to own a slot */
	}
	for (k = 1; k < (uint32_t)st->n; k++) {
		j = (i + k) % st->n;
		if (hs_ok(st->srv[j], avoid))
			return st->srv[j];
	}
	return lb_pick_avoided(be->pool, avoid);
}

static struct server *hash_pick(struct proxy *be, enum hash_kind kind, const struct lb_req *req,
				struct server *avoid)
{
	struct hash_state *st = be->algo_state;
	uint32_t h;

	if (!st)
		return lb_pick_scan(be->pool, avoid);
	if (!st->tot || !req_key(be, kind, req, &h))
		return lb_swrr_pick(st->rr, avoid);
	return hash_lookup(be, st, h, avoid);
}

static void hash_destroy(struct proxy *be)
{
	hs_free(be->algo_state);
	be->algo_state = NULL;
}

static struct server *source_pick(struct proxy *be, const struct lb_req *req, struct server *avoid)
{
	return hash_pick(be, HK_SOURCE, req, avoid);
}

static struct server *uri_pick(struct proxy *be, const struct lb_req *req, struct server *avoid)
{
	return hash_pick(be, HK_URI, req, avoid);
}

static struct server *param_pick(struct proxy *be, const struct lb_req *req, struct server *avoid)
{
	return hash_pick(be, HK_URL_PARAM, req, avoid);
}

static struct server *hdr_pick(struct proxy *be, const struct lb_req *req, struct server *avoid)
{
	return hash_pick(be, HK_HDR, req, avoid);
}

const struct lb_algo_ops lb_algo_source = {
	.name = "source",
	.hashed = true,
	.l4_ok = true,
	.rebuild = hash_rebuild,
	.pick = source_pick,
	.destroy = hash_destroy,
};

const struct lb_algo_ops lb_algo_uri = {
	.name = "uri",
	.hashed = true,
	.rebuild = hash_rebuild,
	.pick = uri_pick,
	.destroy = hash_destroy,
};

const struct lb_algo_ops lb_algo_url_param = {
	.name = "url_param",
	.needs_arg = true,
	.hashed = true,
	.rebuild = hash_rebuild,
	.pick = param_pick,
	.destroy = hash_destroy,
};

const struct lb_algo_ops lb_algo_hdr = {
	.name = "hdr",
	.needs_arg = true,
	.hashed = true,
	.rebuild = hash_rebuild,
	.pick = hdr_pick,
	.destroy = hash_destroy,
};
