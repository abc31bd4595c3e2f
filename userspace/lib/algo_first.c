// SPDX-License-Identifier: MIT
/*
 * `balance first`: the first server, by position id (`id`, else config
 * order), that still has a free connection slot (cur_conns < maxconn). A
 * server without maxconn takes everything. Meant to keep the number of busy
 * servers low, so the others can be powered down. Weights are ignored.
 */
#include <errno.h>
#include <stdlib.h>

#include "algo.h"

struct first {
	int n;
	struct server **srv; /* sorted by puid, then config order */
};

static int cmp_puid(const void *a, const void *b)
{
	const struct server *sa = *(struct server *const *)a, *sb = *(struct server *const *)b;

	if (sa->puid != sb->puid)
		return sa->puid < sb->puid ? -1 : 1;
	return 0;
}

static int first_rebuild(struct proxy *be)
{
	struct first *st;
	int n = be->pool ? be->pool->n : 0;
	int i, j;

	free(be->algo_state);
	st = calloc(1, sizeof(*st) + n * sizeof(struct server *));
	be->algo_state = st;
	if (!st)
		return -ENOMEM;
	st->srv = (struct server **)(st + 1);
	st->n = n;
	/* Insertion sort: stable (config order among equal ids) and pools are nearly sorted. */
	for (i = 0; i < n; i++) {
		struct server *s = be->pool->srv[i];

		for (j = i; j > 0 && cmp_puid(&st->srv[j - 1], &s) > 0; j--)
			st->srv[j] = st->srv[j - 1];
		st->srv[j] = s;
	}
	return 0;
}

static struct server *first_pick(struct proxy *be, const struct lb_req *req, struct server *avoid)
{
	struct first *st = be->algo_state;
	int i;

	if (!st)
		return lb_pick_scan(be->pool, avoid);
	for (i = 0; i < st->n; i++) {
		if (st->srv[i] != avoid && !lb_srv_full(st->srv[i]))
			return st->srv[i];
	}
	return lb_pick_avoided(be->pool, avoid);
}

static void first_destroy(struct proxy *be)
{
	free(be->algo_state);
	be->algo_state = NULL;
}

const struct lb_algo_ops lb_algo_first = {
	.name = "first",
	.rebuild = first_rebuild,
	.pick = first_pick,
	.destroy = first_destroy,
};
