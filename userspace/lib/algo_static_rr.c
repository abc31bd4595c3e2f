// SPDX-License-Identifier: MIT
/*
 * `balance static-rr`: weighted round-robin over a precomputed slot array.
 *
 * The weights are the servers' configured (initial) weights: as in
 * HAProxy, changing a server's weight at run time has no effect, but
 * servers entering or leaving the pool do. The slot array is the one
 * lb_rr_slots() builds for the XDP tier, so a pick is O(1) and the order
 * matches what the XDP tier does with the same servers.
 */
#include <errno.h>
#include <stdlib.h>

#include "algo.h"

/* Slot array cap: sums of weights above it are cut to a prefix (shares stay within a slot). */
#define STATIC_RR_MAX_SLOTS (1 << 16)

struct static_rr {
	int n;
	struct server **srv;
	uint32_t *slots;
	int nslots;
	int pos; /* next slot */
};

static void srr_free(struct static_rr *st)
{
	if (!st)
		return;
	free(st->srv);
	free(st->slots);
	free(st);
}

static int srr_weight(const struct server *s)
{
	if (s->iweight > 0)
		return s->iweight;
	return s->weight > 0 ? s->weight : 0;
}

static int srr_rebuild(struct proxy *be)
{
	struct static_rr *old = be->algo_state, *st;
	const struct lb_pool *pool = be->pool;
	uint32_t *w = NULL;
	uint64_t tot = 0;
	int i, ret = -ENOMEM;

	be->algo_state = NULL;
	st = calloc(1, sizeof(*st));
	if (!st)
		goto out_free;
	st->n = pool ? pool->n : 0;
	if (!st->n)
		goto out_ok;
	st->srv = malloc(st->n * sizeof(*st->srv));
	w = malloc(st->n * sizeof(*w));
	if (!st->srv || !w)
		goto out_free;
	for (i = 0; i < st->n; i++) {
		st->srv[i] = pool->srv[i];
		w[i] = srr_weight(pool->srv[i]);
		tot += w[i];
	}
	if (tot > STATIC_RR_MAX_SLOTS)
		tot = STATIC_RR_MAX_SLOTS;
	if (!tot)
		goto out_ok;
	st->slots = malloc(tot * sizeof(*st->slots));
	if (!st->slots)
		goto out_free;
	ret = lb_rr_slots(w, st->n, st->slots, (int)tot);
	if (ret < 0)
		goto out_free;
	st->nslots = ret;
	/* Keep going from about where we were rather than restarting at the first server. */
	if (old && st->nslots)
		st->pos = old->pos % st->nslots;
out_ok:
	ret = 0;
	be->algo_state = st;
	st = NULL;
out_free:
	free(w);
	srr_free(st);
	srr_free(old);
	return ret;
}

static bool srr_any_usable(const struct static_rr *st, const struct server *avoid)
{
	int i;

	for (i = 0; i < st->n; i++) {
		if (st->srv[i] != avoid && !lb_srv_full(st->srv[i]))
			return true;
	}
	return false;
}

static struct server *srr_pick(struct proxy *be, const struct lb_req *req, struct server *avoid)
{
	struct static_rr *st = be->algo_state;
	struct server *s;
	int i;

	if (!st)
		return lb_pick_scan(be->pool, avoid);
	for (i = 0; i < st->nslots; i++) {
		/* Full servers: after a short walk, check that one is worth finding. */
		if (i == 2 * st->n && !srr_any_usable(st, avoid))
			break;
		s = st->srv[st->slots[st->pos]];
		if (++st->pos == st->nslots)
			st->pos = 0;
		if (s != avoid && !lb_srv_full(s))
			return s;
	}
	return lb_pick_avoided(be->pool, avoid);
}

static void srr_destroy(struct proxy *be)
{
	srr_free(be->algo_state);
	be->algo_state = NULL;
}

const struct lb_algo_ops lb_algo_static_rr = {
	.name = "static-rr",
	.l4_ok = true,
	.rebuild = srr_rebuild,
	.pick = srr_pick,
	.destroy = srr_destroy,
};
