// SPDX-License-Identifier: MIT
/*
 * `balance random` / `balance random(N)`: power of N choices. Each pick
 * draws N servers at random, each with a probability proportional to its
 * weight, and keeps the least loaded of them ((cur_conns + 1) / weight, the
 * first drawn among equals). N = 1 is plain weighted random; the default,
 * 2, avoids piling onto a busy server at almost no cost. The draw count
 * comes from be->algo_draws, else from a numeric be->algo_arg.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "algo.h"

#define RANDOM_DEFAULT_DRAWS 2
#define RANDOM_MAX_DRAWS 64

struct rnd {
	int n;
	int draws;
	uint64_t tot;
	uint64_t rng; /* splitmix64 state */
	struct server **srv;
	int *w;
	uint64_t *cum; /* cum[i] = sum of weights of servers 0..i */
};

/* splitmix64: small, fast, and good enough to spread connections. */
static uint64_t rnd_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rnd_seed(const void *salt)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)(uintptr_t)salt ^
	       ((uint64_t)getpid() << 16);
}

static int rnd_draws(const struct proxy *be)
{
	long v = 0;

	if (be->algo_draws > 0)
		v = be->algo_draws;
	else if (be->algo_arg)
		v = strtol(be->algo_arg, NULL, 10);
	if (v <= 0)
		v = RANDOM_DEFAULT_DRAWS;
	return v > RANDOM_MAX_DRAWS ? RANDOM_MAX_DRAWS : (int)v;
}

static int rnd_rebuild(struct proxy *be)
{
	struct rnd *old = be->algo_state, *st;
	int n = be->pool ? be->pool->n : 0;
	int i;

	st = calloc(1,
		    sizeof(*st) + n * (sizeof(uint64_t) + sizeof(struct server *) + sizeof(int)));
	if (st) {
		st->cum = (uint64_t *)(st + 1);
		st->srv = (struct server **)(st->cum + n);
		st->w = (int *)(st->srv + n);
		st->n = n;
		st->draws = rnd_draws(be);
		st->rng = old ? old->rng : rnd_seed(st);
		for (i = 0; i < n; i++) {
			st->srv[i] = be->pool->srv[i];
			st->w[i] = st->srv[i]->weight > 0 ? st->srv[i]->weight : 0;
			st->tot += st->w[i];
			st->cum[i] = st->tot;
		}
	}
	free(old);
	be->algo_state = st;
	return st ? 0 : -ENOMEM;
}

static struct server *rnd_pick(struct proxy *be, const struct lb_req *req, struct server *avoid)
{
	struct rnd *st = be->algo_state;
	int d, i, best = -1, tries = 0;

	if (!st)
		return lb_pick_scan(be->pool, avoid);
	if (!st->tot)
		return lb_pick_avoided(be->pool, avoid);
	/* Draws that land on full servers or `avoid` do not count, within a bound. */
	for (d = 0; d < st->draws && tries < 4 * st->draws + 8; tries++) {
		i = lb_cum_find(st->cum, st->n, rnd_next(&st->rng) % st->tot);
		if (st->srv[i] == avoid || lb_srv_full(st->srv[i]))
			continue;
		d++;
		if (best < 0 ||
		    lb_srv_less_loaded(st->srv[i], st->w[i], st->srv[best], st->w[best]))
			best = i;
	}
	if (best >= 0)
		return st->srv[best];
	/* Unlucky or nearly everything full: any usable server, then `avoid`. */
	return lb_pick_scan(be->pool, avoid);
}

static void rnd_destroy(struct proxy *be)
{
	free(be->algo_state);
	be->algo_state = NULL;
}

const struct lb_algo_ops lb_algo_random = {
	.name = "random",
	.rebuild = rnd_rebuild,
	.pick = rnd_pick,
	.destroy = rnd_destroy,
};
