// SPDX-License-Identifier: MIT
/*
 * Slot tables shared by both tiers: the weighted Maglev lookup table
 * (consistent hashing) and the interleaved smooth round-robin slot array.
 *
 * Maglev (Eisenbud et al., NSDI 2016): every entry has a preference list,
 * a permutation of the table's slots derived from two hashes of its key
 * (offset and skip; the table size is prime, so every skip walks all
 * slots). Entries take turns claiming their next preferred slot that is
 * still free until the table is full. Weights change how many turns an
 * entry gets: on each pass an entry earns credit equal to its weight and
 * claims one slot per `max weight` of credit, so the heaviest entry claims
 * one slot per pass and the others proportionally, interleaved over the
 * whole fill. Because each entry fills its slots in its own preference
 * order, removing or re-weighting one entry moves few slots of the others.
 */
#include <errno.h>
#include <stdlib.h>

#include "algo.h"

#define SLOT_FREE UINT32_MAX

/* A 32-bit integer mixer with full avalanche. */
static uint32_t mix32(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352du;
	x ^= x >> 15;
	x *= 0x846ca68bu;
	x ^= x >> 16;
	return x;
}

static bool is_prime(uint32_t v)
{
	uint32_t d;

	if (v < 2)
		return false;
	if (v % 2 == 0)
		return v == 2;
	for (d = 3; (uint64_t)d * d <= v; d += 2) {
		if (v % d == 0)
			return false;
	}
	return true;
}

/* Where an entry's preference list is: its next slot and its stride. */
struct mg_walk {
	uint32_t pos;
	uint32_t skip;
	uint64_t credit;
};

int lb_maglev_build(const struct lb_maglev_entry *ents, int n, uint32_t *table, uint32_t size)
{
	struct mg_walk *w;
	uint32_t wmax = 0, filled = 0, i, slot;
	int e;

	if (!ents || n <= 0 || !table || !is_prime(size))
		return -EINVAL;
	for (e = 0; e < n; e++) {
		if (ents[e].weight > wmax)
			wmax = ents[e].weight;
	}
	if (!wmax)
		return -ENOENT;

	w = calloc(n, sizeof(*w));
	if (!w)
		return -ENOMEM;
	for (e = 0; e < n; e++) {
		/* Two independent hashes of the key: offset and skip, as in the paper. */
		w[e].pos = mix32(ents[e].key ^ 0x9e3779b9u) % size;
		w[e].skip = size > 2 ? mix32(mix32(ents[e].key) ^ 0x85ebca77u) % (size - 1) + 1 : 1;
	}
	for (i = 0; i < size; i++)
		table[i] = SLOT_FREE;

	for (;;) {
		for (e = 0; e < n; e++) {
			w[e].credit += ents[e].weight;
			while (w[e].credit >= wmax) {
				w[e].credit -= wmax;
				/* The walk covers every slot, and one is free: this ends. */
				do {
					slot = w[e].pos;
					w[e].pos += w[e].skip;
					if (w[e].pos >= size)
						w[e].pos -= size;
				} while (table[slot] != SLOT_FREE);
				table[slot] = (uint32_t)e;
				if (++filled == size)
					goto done;
			}
		}
	}
done:
	free(w);
	return 0;
}

/*
 * Smooth weighted round-robin: at each step every entry's current weight
 * grows by its weight, the entry with the highest current weight (the
 * first one among equals) is chosen and loses the total weight. Over
 * sum(weights) steps each entry is chosen `weight` times, spread out.
 *
 * Entries of equal weight are chosen in index order within their group, so
 * the sequence is computed per group of equal weights: the group's
 * candidate is its next member, whose current weight is the group's.
 * Each step then costs the number of distinct weights, not of entries.
 */
struct rr_group {
	uint64_t w;
	int first; /* index of the first member in the sorted order */
	int m; /* members */
	uint64_t k; /* picks so far */
	int64_t cur;
};

static int cmp_by_weight(const void *a, const void *b, void *arg)
{
	const uint32_t *wt = arg;
	int ia = *(const int *)a, ib = *(const int *)b;

	if (wt[ia] != wt[ib])
		return wt[ia] < wt[ib] ? -1 : 1;
	return ia - ib;
}

static uint32_t gcd32(uint32_t a, uint32_t b)
{
	while (b) {
		uint32_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

int lb_rr_slots(const uint32_t *weights, int n, uint32_t *slots, int max)
{
	struct rr_group *grp = NULL;
	int *order = NULL;
	int i, nz = 0, ng = 0, t, count, best;
	uint32_t g = 0;
	uint64_t tot = 0;
	int ret = -ENOMEM;

	if (!weights || n <= 0 || !slots || max <= 0)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (weights[i]) {
			g = gcd32(g, weights[i]);
			nz++;
		}
	}
	if (!nz)
		return 0;
	for (i = 0; i < n; i++)
		tot += weights[i] / g;
	if (tot > INT64_MAX / 4)
		return -EINVAL; /* current weights would overflow */
	count = tot < (uint64_t)max ? (int)tot : max;

	order = malloc(nz * sizeof(*order));
	grp = calloc(nz, sizeof(*grp));
	if (!order || !grp)
		goto out_free;
	nz = 0;
	for (i = 0; i < n; i++) {
		if (weights[i])
			order[nz++] = i;
	}
	qsort_r(order, nz, sizeof(*order), cmp_by_weight, (void *)weights);
	for (i = 0; i < nz; i++) {
		if (!ng || grp[ng - 1].w != weights[order[i]] / g) {
			grp[ng].w = weights[order[i]] / g;
			grp[ng].first = i;
			ng++;
		}
		grp[ng - 1].m++;
	}

	for (t = 0; t < count; t++) {
		int cand, bcand = 0;

		best = -1;
		for (i = 0; i < ng; i++) {
			grp[i].cur += (int64_t)grp[i].w;
			cand = order[grp[i].first + (int)(grp[i].k % (uint64_t)grp[i].m)];
			if (best < 0 || grp[i].cur > grp[best].cur ||
			    (grp[i].cur == grp[best].cur && cand < bcand)) {
				best = i;
				bcand = cand;
			}
		}
		slots[t] = (uint32_t)bcand;
		grp[best].k++;
		if (grp[best].k % (uint64_t)grp[best].m == 0)
			grp[best].cur -= (int64_t)tot;
	}
	ret = count;
out_free:
	free(grp);
	free(order);
	return ret;
}
