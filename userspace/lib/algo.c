// SPDX-License-Identifier: MIT
/*
 * Balancing algorithms: the registry, the locked pick/release wrappers the
 * tiers call, the hash helpers both tiers share, and small helpers the
 * algorithm files share. Each algorithm lives in its own algo_*.c file.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "algo.h"

/* In the order `lbd -h` and the docs list them. */
const struct lb_algo_ops *const lb_algos[] = {
	&lb_algo_roundrobin, &lb_algo_static_rr,
	&lb_algo_leastconn,  &lb_algo_first,
	&lb_algo_source,     &lb_algo_uri,
	&lb_algo_url_param,  &lb_algo_hdr,
	&lb_algo_random,     NULL,
};

/*
 * "hdr" and "hdr(Host)" both find `hdr`, and "random(3)" finds `random`: the
 * name stops at an opening parenthesis. The config parser stores the
 * argument itself.
 */
const struct lb_algo_ops *lb_algo_find(const char *name)
{
	size_t len;
	int i;

	if (!name)
		return NULL;
	len = strcspn(name, "(");
	for (i = 0; lb_algos[i]; i++) {
		if (strlen(lb_algos[i]->name) == len && !strncmp(lb_algos[i]->name, name, len))
			return lb_algos[i];
	}
	return NULL;
}

bool lb_srv_full(const struct server *s)
{
	return s->maxconn > 0 && __atomic_load_n(&s->cur_conns, __ATOMIC_RELAXED) >= s->maxconn;
}

/* (cur_a + 1) / wa < (cur_b + 1) / wb, cross-multiplied so that no division rounds. */
bool lb_srv_less_loaded(const struct server *a, int wa, const struct server *b, int wb)
{
	int64_t ca = __atomic_load_n(&a->cur_conns, __ATOMIC_RELAXED);
	int64_t cb = __atomic_load_n(&b->cur_conns, __ATOMIC_RELAXED);

	if (ca < 0)
		ca = 0;
	if (cb < 0)
		cb = 0;
	if (wa <= 0)
		wa = 1;
	if (wb <= 0)
		wb = 1;
	return (ca + 1) * wb < (cb + 1) * wa;
}

struct server *lb_pick_avoided(const struct lb_pool *pool, struct server *avoid)
{
	int i;

	if (avoid && pool && !lb_srv_full(avoid)) {
		for (i = 0; i < pool->n; i++) {
			if (pool->srv[i] == avoid)
				return avoid;
		}
	}
	errno = EAGAIN;
	return NULL;
}

struct server *lb_pick_scan(const struct lb_pool *pool, struct server *avoid)
{
	int i;

	if (!pool)
		goto none;
	for (i = 0; i < pool->n; i++) {
		struct server *s = pool->srv[i];

		if (s != avoid && !lb_srv_full(s))
			return s;
	}
none:
	return lb_pick_avoided(pool, avoid);
}

int lb_cum_find(const uint64_t *cum, int n, uint64_t r)
{
	int lo = 0, hi = n - 1;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;

		if (cum[mid] > r)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static bool in_set(const struct server *s, struct server *const *set, int n)
{
	for (int i = 0; i < n; i++)
		if (set[i] == s)
			return true;
	return false;
}

/*
 * The algorithm picked a server this connection already failed on: take the
 * next pool server after it that is neither failed nor full, so that each
 * retry reaches a server not tried yet. NULL when there is none.
 */
static struct server *pick_untried(const struct lb_pool *pool, const struct server *picked,
				   struct server *const *avoid, int navoid)
{
	int i, start = 0;

	if (!pool || pool->n <= 0)
		return NULL;
	for (i = 0; i < pool->n; i++) {
		if (pool->srv[i] == picked) {
			start = i + 1;
			break;
		}
	}
	for (i = 0; i < pool->n; i++) {
		struct server *s = pool->srv[(start + i) % pool->n];

		if (!in_set(s, avoid, navoid) && !lb_srv_full(s))
			return s;
	}
	return NULL;
}

void lb_account(struct server *s)
{
	int cur = __atomic_add_fetch(&s->cur_conns, 1, __ATOMIC_RELAXED);
	int seen = __atomic_load_n(&s->max_conns_seen, __ATOMIC_RELAXED);

	__atomic_add_fetch(&s->total_conns, 1, __ATOMIC_RELAXED);
	while (cur > seen && !__atomic_compare_exchange_n(&s->max_conns_seen, &seen, cur, true,
							  __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	server_get(s);
}

struct server *lb_pick(struct proxy *be, const struct lb_req *req, struct server *avoid)
{
	return lb_pick_ex(be, req, avoid ? &avoid : NULL, avoid ? 1 : 0);
}

struct server *lb_pick_ex(struct proxy *be, const struct lb_req *req, struct server *const *avoid,
			  int navoid)
{
	const struct lb_algo_ops *algo;
	struct server *s, *other;
	bool empty = false;

	if (!be) {
		errno = EINVAL;
		return NULL;
	}
	if (!avoid)
		navoid = 0;
	algo = be->algo ? be->algo : &lb_algo_roundrobin;

	pthread_mutex_lock(&be->lock);
	/* The algorithm steers away from the last failure itself. */
	s = algo->pick(be, req, navoid ? avoid[navoid - 1] : NULL);
	if (s && navoid > 1 && in_set(s, avoid, navoid - 1)) {
		other = pick_untried(be->pool, s, avoid, navoid);
		if (other)
			s = other;
	}
	if (s) {
		lb_account(s);
	} else {
		empty = !be->pool || be->pool->n <= 0;
	}
	pthread_mutex_unlock(&be->lock);

	if (!s) {
		/* Only a backend without usable server counts; full servers mean a queue. */
		if (empty)
			__atomic_add_fetch(&be->no_srv, 1, __ATOMIC_RELAXED);
		errno = EAGAIN;
	}
	return s;
}

bool lb_backend_usable(struct proxy *be)
{
	bool any;

	if (!be)
		return false;
	pthread_mutex_lock(&be->lock);
	any = be->pool && be->pool->n > 0;
	pthread_mutex_unlock(&be->lock);
	return any;
}

void lb_release(struct server *s)
{
	if (!s)
		return;
	__atomic_sub_fetch(&s->cur_conns, 1, __ATOMIC_RELAXED);
	server_put(s);
}

/*
 * lb_hash_bytes: a 32-bit multiply-rotate hash in the style of MurmurHash3
 * with a fixed seed. The input is read byte by byte into little-endian
 * words, so the result does not depend on the host's byte order or on
 * alignment; the BPF program can compute the same value (doc/balancing.md).
 */
#define LB_HASH_SEED 0x3c6ef372u
#define LB_HASH_M1 0xcc9e2d51u
#define LB_HASH_M2 0x1b873593u

static inline uint32_t rotl32(uint32_t x, int r)
{
	return (x << r) | (x >> (32 - r));
}

/* Final avalanche: every input bit affects every output bit. */
static inline uint32_t hash_final(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

static inline uint32_t hash_word(uint32_t k)
{
	k *= LB_HASH_M1;
	k = rotl32(k, 15);
	return k * LB_HASH_M2;
}

uint32_t lb_hash_bytes(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t h = LB_HASH_SEED;
	uint32_t k;
	size_t i;

	for (i = 0; i + 4 <= len; i += 4) {
		k = (uint32_t)p[i] | (uint32_t)p[i + 1] << 8 | (uint32_t)p[i + 2] << 16 |
		    (uint32_t)p[i + 3] << 24;
		h ^= hash_word(k);
		h = rotl32(h, 13);
		h = h * 5 + 0xe6546b64u;
	}
	k = 0;
	switch (len & 3) {
	case 3:
		k |= (uint32_t)p[i + 2] << 16;
		/* fallthrough */
	case 2:
		k |= (uint32_t)p[i + 1] << 8;
		/* fallthrough */
	case 1:
		k |= p[i];
		h ^= hash_word(k);
	}
	h ^= (uint32_t)len;
	return hash_final(h);
}

/*
 * Only the address bytes, in network order: the client's port changes with
 * every connection. An IPv4-mapped IPv6 address hashes as the IPv4 address,
 * so that a dual-stack listener and the XDP tier agree.
 */
uint32_t lb_hash_addr(const struct sockaddr *sa)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const struct sockaddr_in6 *sin6;

	if (!sa)
		return lb_hash_bytes(NULL, 0);
	switch (sa->sa_family) {
	case AF_INET:
		return lb_hash_bytes(&((const struct sockaddr_in *)sa)->sin_addr, 4);
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)sa;
		if (!memcmp(sin6->sin6_addr.s6_addr, v4mapped, sizeof(v4mapped)))
			return lb_hash_bytes(sin6->sin6_addr.s6_addr + 12, 4);
		return lb_hash_bytes(sin6->sin6_addr.s6_addr, 16);
	default:
		return lb_hash_bytes(NULL, 0);
	}
}

uint32_t lb_server_key(const struct server *s)
{
	if (s->hash_key)
		return s->hash_key;
	return s->name ? lb_hash_bytes(s->name, strlen(s->name)) : 0;
}

int lb_pool_maglev(const struct lb_pool *pool, uint32_t *table, uint32_t size)
{
	struct lb_maglev_entry *ents;
	int i, ret;

	if (!pool || !table)
		return -EINVAL;
	if (pool->n <= 0)
		return -ENOENT;
	ents = calloc(pool->n, sizeof(*ents));
	if (!ents)
		return -ENOMEM;
	for (i = 0; i < pool->n; i++) {
		ents[i].key = lb_server_key(pool->srv[i]);
		ents[i].weight = pool->srv[i]->weight > 0 ? pool->srv[i]->weight : 0;
	}
	ret = lb_maglev_build(ents, pool->n, table, size);
	free(ents);
	return ret;
}
