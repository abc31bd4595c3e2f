/* SPDX-License-Identifier: MIT */
/*
 * Balancing algorithms behind one interface, shared by the L7 tier (pick a
 * server for a connection or request) and the XDP tier (fill a slot table).
 *
 * The model keeps, per backend, a pool of usable servers (struct lb_pool):
 * the active servers that are ready, up and have weight > 0, or the backup
 * servers when no active one is usable (the first backup, or all of them
 * with `option allbackups`). Algorithms work on the pool only; the pool and
 * the algorithm state are rebuilt by backend_recalc() under the backend's
 * lock whenever a server changes.
 */
#ifndef XLB_ALGO_H
#define XLB_ALGO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "model.h"

struct lb_pool {
	struct server **srv; /* usable servers, in config order */
	int n;
	uint32_t tot_weight; /* sum of weights */
	bool backup; /* the pool holds backup servers */
};

/* What a request offers to the hash-based algorithms. Any field may be NULL. */
struct lb_req {
	const struct sockaddr *src; /* client address: `source` */
	const char *uri; /* request target: `uri`, `url_param` */
	size_t uri_len;
	/* Look a header up: returns its value and length, or NULL. */
	const char *(*get_hdr)(void *ctx, const char *name, size_t *len);
	void *hdr_ctx;
};

struct lb_algo_ops {
	const char *name; /* as written after `balance` */
	bool needs_arg; /* hdr(name), url_param name */
	bool hashed; /* honours hash-type (map-based/consistent) */
	bool l4_ok; /* the XDP tier can express it (roundrobin, static-rr, source) */
	/* Build the state for the current pool. Called under be->lock. */
	int (*rebuild)(struct proxy *be);
	/*
	 * Pick a server for a new connection/request, NULL when none is usable.
	 * `avoid` (may be NULL) is skipped if another server is usable
	 * (redispatch). Called under be->lock.
	 */
	struct server *(*pick)(struct proxy *be, const struct lb_req *req, struct server *avoid);
	void (*destroy)(struct proxy *be);
};

/* Look an algorithm up by its `balance` name ("roundrobin", "hdr", ...). */
const struct lb_algo_ops *lb_algo_find(const char *name);
/* Every algorithm, NULL-terminated, for help texts. */
extern const struct lb_algo_ops *const lb_algos[];

/*
 * Pick a server for a connection: locks the backend, calls the algorithm,
 * takes a reference and counts the connection (cur_conns, total_conns).
 * Release with lb_release(). NULL with errno EAGAIN when no server is usable
 * (counted in be->no_srv when the pool is empty, not when it is full).
 */
struct server *lb_pick(struct proxy *be, const struct lb_req *req, struct server *avoid);
/*
 * lb_pick() for a connection that already failed on the servers in
 * avoid[0..navoid) (the last one most recently): the algorithm's choice is
 * kept unless it is one of them, then the next usable server not tried yet
 * is taken. A failed server is picked again only when no other is usable,
 * so retries reach every server before giving up.
 */
struct server *lb_pick_ex(struct proxy *be, const struct lb_req *req, struct server *const *avoid,
			  int navoid);
void lb_release(struct server *s);
/*
 * Count a connection or request to s and take a reference, as lb_pick()
 * does for the server it returns (cookie persistence chooses the server
 * itself). Release with lb_release().
 */
void lb_account(struct server *s);
/*
 * True when the backend has a usable server (its pool is not empty). When
 * lb_pick() fails on a usable backend, every server is at its maxconn and
 * the connection may wait in a queue; otherwise no server is left.
 */
bool lb_backend_usable(struct proxy *be);

/* Hash helpers shared by the algorithms and the XDP tier. */
uint32_t lb_hash_bytes(const void *data, size_t len); /* stable across runs and hosts */
uint32_t lb_hash_addr(const struct sockaddr *sa); /* address only, no port */

/*
 * Weighted Maglev table (hash-type consistent, `balance source` in XDP).
 * Fills table[size] with indexes 0..n-1 into the entries; size must be prime
 * (65537 by default). Entries with weight 0 get no slot. Deterministic for
 * the same keys and weights: both tiers build the same table.
 */
#define LB_MAGLEV_SIZE 65537
struct lb_maglev_entry {
	uint32_t key; /* stable per-server key (hash of the server name) */
	uint32_t weight; /* relative weight */
};
int lb_maglev_build(const struct lb_maglev_entry *ents, int n, uint32_t *table, uint32_t size);

/*
 * Weighted, interleaved slot array for round-robin in XDP: fills slots[] with
 * indexes into the pool following the smooth weighted round-robin sequence
 * (weights 3,1 give a a b a ...). Returns the number of slots used
 * (sum of weights reduced by their gcd, capped at max), or -errno.
 */
int lb_rr_slots(const uint32_t *weights, int n, uint32_t *slots, int max);

/* Stable Maglev key of a server: s->hash_key, or the hash of its name when that is 0. */
uint32_t lb_server_key(const struct server *s);
/*
 * Build the Maglev table of a pool exactly as the L7 tier does for hash-type
 * consistent: one entry per pool server, in pool order, keyed by
 * lb_server_key() and weighted by s->weight. table[slot] indexes pool->srv[].
 * The XDP tier uses it so that both tiers send a key to the same server.
 */
int lb_pool_maglev(const struct lb_pool *pool, uint32_t *table, uint32_t size);

/* ---- Internals shared by the algorithm implementations (algo*.c). ---- */

extern const struct lb_algo_ops lb_algo_roundrobin, lb_algo_static_rr, lb_algo_leastconn,
	lb_algo_first, lb_algo_source, lb_algo_uri, lb_algo_url_param, lb_algo_hdr, lb_algo_random;

/* The server has a maxconn and has reached it. */
bool lb_srv_full(const struct server *s);
/* Connections per unit of weight: true when a is less loaded than b. */
bool lb_srv_less_loaded(const struct server *a, int wa, const struct server *b, int wb);
/*
 * Last resort of every pick: `avoid` when it is in the pool and not full,
 * else NULL with errno EAGAIN.
 */
struct server *lb_pick_avoided(const struct lb_pool *pool, struct server *avoid);
/* The first pool server that is neither full nor `avoid`, then lb_pick_avoided(). */
struct server *lb_pick_scan(const struct lb_pool *pool, struct server *avoid);

/*
 * Weighted pick over cumulative weights (cum[i] = sum of weights 0..i):
 * the index whose range holds r (0 <= r < cum[n - 1]), the first i with
 * cum[i] > r. O(log n).
 */
int lb_cum_find(const uint64_t *cum, int n, uint64_t r);

/*
 * Smooth weighted round-robin over a snapshot of the pool, used by
 * `roundrobin` and as the fallback of the hash algorithms. lb_swrr_new()
 * carries the current weights of the servers still present over from `old`
 * (which it does not free); NULL with errno on failure.
 */
struct lb_swrr;
struct lb_swrr *lb_swrr_new(const struct lb_swrr *old, const struct lb_pool *pool);
struct server *lb_swrr_pick(struct lb_swrr *st, struct server *avoid);
void lb_swrr_free(struct lb_swrr *st);

#endif
