// SPDX-License-Identifier: MIT
/*
 * `balance roundrobin`: smooth weighted round-robin with dynamic weights.
 *
 * Each pick adds every eligible server's weight to its current weight,
 * chooses the server with the highest current weight (the first in config
 * order among equals) and takes the total weight off it. Weights 3,1 give
 * a a b a, repeating; 5,1,1 give a a b a c a a. Weight changes and servers
 * joining or leaving take effect at the next pick: the current weights of
 * the servers still in the pool carry over, so a change does not restart
 * the sequence in favour of the first server.
 *
 * The sequence is the one lb_rr_slots() writes for the XDP tier. A pick
 * costs O(servers in the pool).
 */
#include <errno.h>
#include <stdlib.h>

#include "algo.h"

struct lb_swrr {
	int n;
	struct server **srv; /* snapshot of the pool at the last rebuild */
	int *w; /* weights of that snapshot */
	int64_t *cur; /* current weights */
};

void lb_swrr_free(struct lb_swrr *st)
{
	free(st);
}

/*
 * Current weight of `s` in `old`, 0 for a server new to the pool. Pools keep
 * config order, so the search starts after the previous match and usually
 * succeeds at once. Old server pointers are only compared, never followed:
 * a server that left may be freed already.
 */
static int64_t carry_cur(const struct lb_swrr *old, const struct server *s, int *from)
{
	int j, k;

	for (k = 0; k < old->n; k++) {
		j = (*from + k) % old->n;
		if (old->srv[j] == s) {
			*from = (j + 1) % old->n;
			return old->cur[j];
		}
	}
	return 0;
}

struct lb_swrr *lb_swrr_new(const struct lb_swrr *old, const struct lb_pool *pool)
{
	struct lb_swrr *st;
	int n = pool ? pool->n : 0;
	int64_t tot = 0, sum = 0;
	int i, from = 0;
	char *p;

	/* One block: the struct, then the three arrays, widest first. */
	st = calloc(1, sizeof(*st) + n * (sizeof(int64_t) + sizeof(struct server *) + sizeof(int)));
	if (!st)
		return NULL;
	p = (char *)(st + 1);
	st->cur = (int64_t *)p;
	p += n * sizeof(int64_t);
	st->srv = (struct server **)p;
	p += n * sizeof(struct server *);
	st->w = (int *)p;
	st->n = n;

	for (i = 0; i < n; i++) {
		st->srv[i] = pool->srv[i];
		st->w[i] = pool->srv[i]->weight > 0 ? pool->srv[i]->weight : 0;
		tot += st->w[i];
	}
	if (!old || !old->n || !n)
		return st;

	/*
	 * Carry the current weights over. They summed to 0; servers that left
	 * took theirs with them, so spread the difference back and keep every
	 * value within one round of the new total.
	 */
	for (i = 0; i < n; i++) {
		st->cur[i] = carry_cur(old, st->srv[i], &from);
		sum += st->cur[i];
	}
	for (i = 0; i < n; i++) {
		st->cur[i] -= sum / n;
		if (st->cur[i] > tot)
			st->cur[i] = tot;
		else if (st->cur[i] < -tot)
			st->cur[i] = -tot;
	}
	return st;
}

static bool swrr_eligible(const struct lb_swrr *st, int i, const struct server *avoid)
{
	return st->w[i] > 0 && st->srv[i] != avoid && !lb_srv_full(st->srv[i]);
}

struct server *lb_swrr_pick(struct lb_swrr *st, struct server *avoid)
{
	int64_t tot = 0;
	int i, best = -1;

	if (!st)
		goto none;
	for (i = 0; i < st->n; i++) {
		if (!swrr_eligible(st, i, avoid))
			continue;
		st->cur[i] += st->w[i];
		tot += st->w[i];
		if (best < 0 || st->cur[i] > st->cur[best])
			best = i;
	}
	if (best < 0 && avoid) {
		/* Nothing else: `avoid` is better than no server. */
		for (i = 0; i < st->n; i++) {
			if (st->srv[i] == avoid && swrr_eligible(st, i, NULL)) {
				st->cur[i] += st->w[i];
				tot = st->w[i];
				best = i;
				break;
			}
		}
	}
	if (best < 0)
		goto none;
	st->cur[best] -= tot;
	return st->srv[best];
none:
	errno = EAGAIN;
	return NULL;
}

static int rr_rebuild(struct proxy *be)
{
	struct lb_swrr *old = be->algo_state;

	be->algo_state = lb_swrr_new(old, be->pool);
	lb_swrr_free(old);
	return be->algo_state ? 0 : -ENOMEM;
}

static struct server *rr_pick(struct proxy *be, const struct lb_req *req, struct server *avoid)
{
	if (!be->algo_state) /* the last rebuild failed */
		return lb_pick_scan(be->pool, avoid);
	return lb_swrr_pick(be->algo_state, avoid);
}

static void rr_destroy(struct proxy *be)
{
	lb_swrr_free(be->algo_state);
	be->algo_state = NULL;
}

const struct lb_algo_ops lb_algo_roundrobin = {
	.name = "roundrobin",
	.l4_ok = true,
	.rebuild = rr_rebuild,
	.pick = rr_pick,
	.destroy = rr_destroy,
};
