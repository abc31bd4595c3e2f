// SPDX-License-Identifier: MIT
/*
 * `balance leastconn`: the server with the fewest connections per unit of
 * weight, (cur_conns + 1) / weight, so that with no load the heavier server
 * goes first. Among equally loaded servers the search starts after the last
 * pick, which turns ties into round-robin. A pick is O(servers in the pool).
 */
#include <errno.h>
#include <stdlib.h>

#include "algo.h"

struct leastconn {
	int n;
	int last; /* pool index of the last pick */
	struct server **srv;
	int *w;
};

static int lc_rebuild(struct proxy *be)
{
	struct leastconn *old = be->algo_state, *st;
	int n = be->pool ? be->pool->n : 0;
	int i;

	st = calloc(1, sizeof(*st) + n * (sizeof(struct server *) + sizeof(int)));
	if (st) {
		st->srv = (struct server **)(st + 1);
		st->w = (int *)(st->srv + n);
		st->n = n;
		for (i = 0; i < n; i++) {
			st->srv[i] = be->pool->srv[i];
			st->w[i] = st->srv[i]->weight > 0 ? st->srv[i]->weight : 1;
		}
		st->last = old && n ? old->last % n : n - 1;
	}
	free(old);
	be->algo_state = st;
	return st ? 0 : -ENOMEM;
}

static struct server *lc_pick(struct proxy *be, const struct lb_req *req, struct server *avoid)
{
	struct leastconn *st = be->algo_state;
	int i, k, best = -1;

	if (!st)
		return lb_pick_scan(be->pool, avoid);
	for (k = 1; k <= st->n; k++) {
		i = (st->last + k) % st->n;
		if (st->srv[i] == avoid || lb_srv_full(st->srv[i]))
			continue;
		if (best < 0 ||
		    lb_srv_less_loaded(st->srv[i], st->w[i], st->srv[best], st->w[best]))
			best = i;
	}
	if (best < 0)
		return lb_pick_avoided(be->pool, avoid);
	st->last = best;
	return st->srv[best];
}

static void lc_destroy(struct proxy *be)
{
	free(be->algo_state);
	be->algo_state = NULL;
}

const struct lb_algo_ops lb_algo_leastconn = {
	.name = "leastconn",
	.rebuild = lc_rebuild,
	.pick = lc_pick,
	.destroy = lc_destroy,
};
