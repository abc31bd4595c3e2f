// SPDX-License-Identifier: MIT
/*
 * The XDP tier's owner: the skeleton of bpf/lb.bpf.c, every BPF fd, the
 * pinned links, and the translation of the model into map entries.
 *
 * Identity across restarts: the maps are pinned, so a new lbd finds them
 * filled. VIP ids are recovered from the `vips` map and backend rows from
 * the names stored in `backends`, so counters, round-robin cursors and flows
 * carry over. Shadows of what was written (servers, slots, Maglev rows) let
 * a sync write only the entries that changed.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "algo.h"
#include "lb.skel.h"
#include "log.h"
#include "maps.h"

_Static_assert(XLB_MAGLEV_SIZE == LB_MAGLEV_SIZE, "Maglev row size differs from the library's");

#define BPFFS_ROOT "/sys/fs/bpf"
#define BPFFS_MAGIC 0xcafe4a11 /* BPF_FS_MAGIC */
#define XLB_MAX_LINKS 32

/* What the module knows about one proxy (by name and role) across generations. */
struct xlb_px {
	struct list_head list; /* in X.pxs */
	struct proxy *owner; /* the proxy of the current generation */
	char *name;
	unsigned cap; /* PX_CAP_FE and/or PX_CAP_BE: the key with name */
	unsigned gen; /* last sync_model that saw it */
	/* frontend role */
	bool fe_served;
	uint32_t *vip_ids;
	int nvips;
	/* backend role */
	int be_idx; /* row in backends and rr_slots; -1 when not an XDP backend */
	uint32_t ring; /* Maglev row or XLB_NO_RING */
	uint8_t algo; /* enum xlb_algo */
	bool slots_known;
	uint32_t nslots;
	uint32_t slots[XLB_RR_SLOTS]; /* shadow of the rr_slots row */
	uint32_t *ring_tab; /* shadow of the Maglev row; NULL: unknown */
};

struct vip_slot {
	bool used;
	unsigned gen; /* last sync_model that wrote it; 0: recovered from the map */
	struct xlb_vip_key key;
	struct xlb_vip val;
};

struct be_row {
	bool used;
	struct xlb_px *px; /* NULL while only reserved from a previous lbd */
	char name[XLB_NAME_LEN]; /* as stored in the map */
};

struct xlb_link {
	char ifname[IF_NAMESIZE];
	int ifindex;
	int fd;
	bool created; /* attached by this process (not a pinned link taken over) */
	enum xlb_xdp_mode mode; /* XLB_XDP_NATIVE or XLB_XDP_GENERIC, as attached */
};

static struct {
	pthread_mutex_t lock;
	struct lb_bpf *skel;
	char root[256]; /* pin root; shorter than PATH_MAX so that every path under it fits */
	char err[512];
	char last_libbpf[256]; /* the last libbpf warning: often the reason of a failure */
	int ncpus;
	unsigned gen;
	uint32_t stamp;
	struct list_head pxs;
	struct vip_slot vips[XLB_MAX_VIPS];
	struct be_row rows[XLB_MAX_BACKENDS];
	bool ring_used[XLB_MAX_RINGS];
	struct xlb_server *srv; /* shadow of `servers` */
	uint32_t *srv_stamp; /* sync_backend pass that last saw each server */
	struct xlb_link links[XLB_MAX_LINKS];
	int nlinks;
	bool adopted; /* the maps were pinned before this process opened them */
} X = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.pxs = LIST_HEAD_INIT(X.pxs),
};

#define STAT_NAME_(E, n, v, why) [XLB_STAT_##E] = #n,
static const char *const stat_names[XLB_STAT_MAX] = { XLB_STATS(STAT_NAME_) };
#define STAT_VERDICT_(E, n, v, why) [XLB_STAT_##E] = v,
static const char *const stat_verdicts[XLB_STAT_MAX] = { XLB_STATS(STAT_VERDICT_) };
_Static_assert(sizeof(struct xlb_stats) == XLB_STAT_MAX * sizeof(__u64),
	       "struct xlb_stats has one u64 per counter");

/* ---- Errors and libbpf messages ---- */

static int set_err(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int set_err(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(X.err, sizeof(X.err), fmt, ap);
	va_end(ap);
	lb_dbg("xdp: %s", X.err);
	return err < 0 ? err : -err;
}

const char *xlb_maps_error(void)
{
	return X.err;
}

const char *xlb_maps_pin_root(void)
{
	return X.root[0] ? X.root : XLB_PIN_ROOT_DEFAULT;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char buf[1024];
	size_t n;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = 0;
	if (level == LIBBPF_WARN) {
		snprintf(X.last_libbpf, sizeof(X.last_libbpf), "%s", buf);
		lb_warn("%s", buf);
	} else {
		lb_dbg("%s", buf);
	}
	return 0;
}

#define MAP_FD(name) bpf_map__fd(X.skel->maps.name)

/* ---- Addresses ---- */

static bool addr_is_zero(const __be32 a[4])
{
	return !(a[0] | a[1] | a[2] | a[3]);
}

/* 16-byte form, port and family (4/6) of an IP sockaddr; -1 for other families. */
static int sa_split(const struct sockaddr_storage *ss, __be32 a[4], __be16 *port, uint8_t *fam)
{
	if (xlb_addr_from_sockaddr((const struct sockaddr *)ss, a))
		return -1;
	if (ss->ss_family == AF_INET) {
		*port = ((const struct sockaddr_in *)ss)->sin_port;
		*fam = 4;
	} else {
		*port = ((const struct sockaddr_in6 *)ss)->sin6_port;
		*fam = 6;
	}
	return 0;
}

/* 0.0.0.0, :: and ::ffff:0.0.0.0 match every address: no VIP can be made of them. */
static bool addr_is_wildcard(const __be32 a[4])
{
	return addr_is_zero(a) || (xlb_addr_is_v4(a) && a[3] == 0);
}

/* Changes when the address behind a server id changes: flows to the old one re-pick. */
static uint32_t srv_cookie(const struct xlb_server *s)
{
	uint32_t c = xlb_hash_addr(s->addr) ^ ((uint32_t)s->port * 0x9e3779b1u);

	return c ? c : 1;
}

/* ---- Map writes ---- */

/*
 * Write the entries of vals[0..n) that differ from shadow[] (NULL: all) at
 * keys base + i of an array map, in one batch when the kernel allows it.
 */
static int write_u32_array(int fd, uint32_t base, const uint32_t *vals, const uint32_t *shadow,
			   uint32_t n)
{
	uint32_t *keys, *v, cnt = 0, i;
	int ret = 0;

	keys = malloc(n * sizeof(*keys));
	v = malloc(n * sizeof(*v));
	if (!keys || !v) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (shadow && shadow[i] == vals[i])
			continue;
		keys[cnt] = base + i;
		v[cnt] = vals[i];
		cnt++;
	}
	if (!cnt)
		goto out;
	i = cnt;
	if (bpf_map_update_batch(fd, keys, v, &i, NULL) == 0 && i == cnt)
		goto out;
	for (i = 0; i < cnt; i++) {
		if (bpf_map_update_elem(fd, &keys[i], &v[i], BPF_ANY)) {
			ret = -errno;
			break;
		}
	}
out:
	free(keys);
	free(v);
	return ret;
}

/* Zero every CPU's copy of one per-CPU array row (a new VIP starts at 0). */
static void clear_percpu_row(int fd, uint32_t key, size_t vsz)
{
	void *zero = calloc(X.ncpus, (vsz + 7) & ~(size_t)7);

	if (zero)
		bpf_map_update_elem(fd, &key, zero, BPF_ANY);
	free(zero);
}

/*
 * Have the kernel resolve the next hop toward a server: send it an empty UDP
 * datagram (discard port). The program forwards only to next hops that have
 * a neighbour entry, and the frames it forwards never create one; without
 * this, the first flows to a server nobody talked to yet would be handed to
 * the kernel (fib_no_neigh), which drops fullnat ones (their source is a
 * local address). Health checks keep the entries fresh afterwards.
 */
static void neigh_kick(const struct xlb_server *v)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons(9) };
	struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons(9) };
	int fd;

	if (!v->family || !(v->flags & XLB_SRV_VALID))
		return;
	fd = socket(v->family == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (v->family == 4) {
		s4.sin_addr.s_addr = v->addr[3];
		sendto(fd, "", 0, MSG_DONTWAIT, (struct sockaddr *)&s4, sizeof(s4));
	} else {
		memcpy(&s6.sin6_addr, v->addr, 16);
		sendto(fd, "", 0, MSG_DONTWAIT, (struct sockaddr *)&s6, sizeof(s6));
	}
	close(fd);
}

static int write_server(uint32_t id, const struct xlb_server *v)
{
	bool moved = memcmp(X.srv[id].addr, v->addr, sizeof(v->addr)) != 0;

	if (!memcmp(&X.srv[id], v, sizeof(*v)))
		return 0;
	if (bpf_map_update_elem(MAP_FD(servers), &id, v, BPF_ANY))
		return set_err(errno, "servers[%u]: %s", id, strerror(errno));
	X.srv[id] = *v;
	if (moved)
		neigh_kick(v);
	return 0;
}

/* Set a backend row, keeping the round-robin cursor the program advances. */
static int write_row(int be_idx, const struct xlb_backend *want)
{
	struct xlb_backend cur, v = *want;
	uint32_t key = be_idx;

	if (bpf_map_lookup_elem(MAP_FD(backends), &key, &cur))
		memset(&cur, 0, sizeof(cur));
	v.rr_cursor = cur.rr_cursor;
	if (!memcmp(&cur, &v, sizeof(v)))
		return 0;
	if (bpf_map_update_elem(MAP_FD(backends), &key, &v, BPF_ANY))
		return set_err(errno, "backends[%d]: %s", be_idx, strerror(errno));
	return 0;
}

/* ---- Proxy states, rows and rings ---- */

static struct xlb_px *px_find(const char *name, unsigned cap)
{
	struct xlb_px *st;

	list_for_each(st, &X.pxs, list) {
		if (st->cap == cap && !strcmp(st->name, name))
			return st;
	}
	return NULL;
}

static unsigned px_role(const struct proxy *px)
{
	return px->cap & (PX_CAP_FE | PX_CAP_BE);
}

static struct xlb_px *px_get(struct proxy *px)
{
	struct xlb_px *st = px_find(px->name, px_role(px));

	if (!st) {
		st = calloc(1, sizeof(*st));
		if (!st)
			return NULL;
		st->name = strdup(px->name);
		if (!st->name) {
			free(st);
			return NULL;
		}
		st->cap = px_role(px);
		st->be_idx = -1;
		st->ring = XLB_NO_RING;
		list_add_tail(&st->list, &X.pxs);
	}
	st->owner = px;
	return st;
}

static void ring_release(struct xlb_px *st)
{
	if (st->ring < XLB_MAX_RINGS)
		X.ring_used[st->ring] = false;
	st->ring = XLB_NO_RING;
	free(st->ring_tab);
	st->ring_tab = NULL;
}

/* Give the backend state a row (the one a previous lbd used for its name, if any) and a ring. */
static int row_claim(struct xlb_px *st, uint8_t algo)
{
	int i, free_idx = -1;

	if (st->be_idx < 0) {
		for (i = 0; i < XLB_MAX_BACKENDS; i++) {
			if (X.rows[i].used && !X.rows[i].px &&
			    !strncmp(X.rows[i].name, st->name, XLB_NAME_LEN - 1)) {
				free_idx = i;
				break;
			}
			if (!X.rows[i].used && free_idx < 0)
				free_idx = i;
		}
		if (free_idx < 0)
			return -ENOSPC;
		X.rows[free_idx].used = true;
		X.rows[free_idx].px = st;
		snprintf(X.rows[free_idx].name, XLB_NAME_LEN, "%s", st->name);
		st->be_idx = free_idx;
		st->slots_known = false;
	}
	if (algo == XLB_ALGO_MAGLEV && st->ring == XLB_NO_RING) {
		struct xlb_backend row;
		uint32_t key = st->be_idx;

		/* A previous lbd's ring for this row is reused as it is. */
		if (!bpf_map_lookup_elem(MAP_FD(backends), &key, &row) &&
		    row.ring < XLB_MAX_RINGS && !X.ring_used[row.ring] &&
		    row.algo == XLB_ALGO_MAGLEV)
			st->ring = row.ring;
		for (i = 0; st->ring == XLB_NO_RING && i < XLB_MAX_RINGS; i++) {
			if (!X.ring_used[i])
				st->ring = i;
		}
		if (st->ring == XLB_NO_RING)
			return -ENOSPC;
		X.ring_used[st->ring] = true;
	} else if (algo != XLB_ALGO_MAGLEV && st->ring != XLB_NO_RING) {
		ring_release(st);
	}
	st->algo = algo;
	return 0;
}

/* Empty a row: its VIPs are gone; servers that pointed to it keep their flows. */
static void row_release(int be_idx)
{
	struct xlb_backend empty = { .ring = XLB_NO_RING };
	uint32_t id;

	write_row(be_idx, &empty);
	for (id = 0; id < XLB_MAX_SERVERS; id++) {
		struct xlb_server v = X.srv[id];

		if (v.family && v.be_idx == (uint32_t)be_idx && !(v.flags & XLB_SRV_DRAIN)) {
			v.flags |= XLB_SRV_DRAIN;
			write_server(id, &v);
		}
	}
	memset(&X.rows[be_idx], 0, sizeof(X.rows[be_idx]));
}

static void px_free(struct xlb_px *st)
{
	if (st->be_idx >= 0)
		row_release(st->be_idx);
	ring_release(st);
	list_del(&st->list);
	free(st->vip_ids);
	free(st->name);
	free(st);
}

static int be_algo(const struct proxy *be)
{
	const char *n = be->algo ? be->algo->name : "roundrobin";

	if (!strcmp(n, "roundrobin") || !strcmp(n, "static-rr"))
		return XLB_ALGO_RR;
	if (!strcmp(n, "source"))
		return XLB_ALGO_MAGLEV;
	return XLB_ALGO_NONE;
}

/* ---- Backend sync ---- */

static int sync_servers(struct xlb_px *st, struct proxy *be)
{
	uint32_t stamp = ++X.stamp, id;
	struct server *s;
	int ret = 0, err;

	list_for_each(s, &be->servers, list) {
		struct xlb_server v = { 0 };
		bool in_pool = false;
		int i;

		if (s->id >= XLB_MAX_SERVERS) {
			ret = set_err(ERANGE, "server %s/%s: id %u beyond the XDP tier's %u",
				      be->name, s->name, s->id, XLB_MAX_SERVERS);
			continue;
		}
		if (sa_split(&s->addr, v.addr, &v.port, &v.family))
			continue; /* not an IP server: the XDP tier cannot reach it */
		for (i = 0; be->pool && i < be->pool->n; i++)
			in_pool |= be->pool->srv[i] == s;
		if (s->admin != SRV_ADMIN_MAINT && s->chk_state == SRV_CHK_UP)
			v.flags |= XLB_SRV_VALID;
		if (!in_pool)
			v.flags |= XLB_SRV_DRAIN;
		v.cookie = srv_cookie(&v);
		v.be_idx = st->be_idx;
		v.weight = s->weight > 0 ? s->weight : 0;
		err = write_server(s->id, &v);
		if (err)
			ret = err;
		X.srv_stamp[s->id] = stamp;
	}
	/* Servers deleted from the backend: their flows finish, no new ones. */
	for (id = 0; id < XLB_MAX_SERVERS; id++) {
		struct xlb_server v = X.srv[id];

		if (v.family && v.be_idx == (uint32_t)st->be_idx && X.srv_stamp[id] != stamp &&
		    !(v.flags & XLB_SRV_DRAIN)) {
			v.flags |= XLB_SRV_DRAIN;
			err = write_server(id, &v);
			if (err)
				ret = err;
		}
	}
	return ret;
}

static uint32_t pool_id(const struct lb_pool *pool, uint32_t i)
{
	uint32_t id = pool->srv[i]->id;

	return id < XLB_MAX_SERVERS ? id : XLB_NO_SERVER;
}

static int sync_rr(struct xlb_px *st, const struct lb_pool *pool, struct xlb_backend *row)
{
	uint32_t w[XLB_RR_SLOTS], idx[XLB_RR_SLOTS], ids[XLB_RR_SLOTS];
	int n = 0, i, ret;
	int fd = MAP_FD(rr_slots);

	if (pool && pool->n > 0) {
		int np = pool->n > XLB_RR_SLOTS ? XLB_RR_SLOTS : pool->n;

		for (i = 0; i < np; i++)
			w[i] = pool->srv[i]->weight > 0 ? pool->srv[i]->weight : 0;
		n = lb_rr_slots(w, np, idx, XLB_RR_SLOTS);
		if (n < 0)
			return set_err(n, "backend %s: round-robin slots: %s", st->name,
				       strerror(-n));
		for (i = 0; i < n; i++)
			ids[i] = pool_id(pool, idx[i]);
	}
	row->nslots = n;
	/* Readers must never see a count that covers slots not yet written. */
	if (!st->slots_known || (uint32_t)n > st->nslots) {
		ret = write_u32_array(fd, st->be_idx * XLB_RR_SLOTS, ids,
				      st->slots_known ? st->slots : NULL, n);
		if (!ret)
			ret = write_row(st->be_idx, row);
	} else {
		ret = write_row(st->be_idx, row);
		if (!ret)
			ret = write_u32_array(fd, st->be_idx * XLB_RR_SLOTS, ids, st->slots, n);
	}
	if (ret)
		return set_err(ret, "backend %s: writing round-robin slots: %s", st->name,
			       strerror(-ret));
	memcpy(st->slots, ids, n * sizeof(ids[0]));
	st->nslots = n;
	st->slots_known = true;
	return 0;
}

static int sync_maglev(struct xlb_px *st, const struct lb_pool *pool, struct xlb_backend *row)
{
	uint32_t *tab, i;
	int ret = 0;

	tab = malloc(XLB_MAGLEV_SIZE * sizeof(*tab));
	if (!tab)
		return -ENOMEM;
	if (pool && pool->n > 0 && lb_pool_maglev(pool, tab, XLB_MAGLEV_SIZE) == 0) {
		for (i = 0; i < XLB_MAGLEV_SIZE; i++)
			tab[i] = pool_id(pool, tab[i]);
	} else {
		for (i = 0; i < XLB_MAGLEV_SIZE; i++)
			tab[i] = XLB_NO_SERVER;
	}
	ret = write_u32_array(MAP_FD(maglev), st->ring * XLB_MAGLEV_SIZE, tab, st->ring_tab,
			      XLB_MAGLEV_SIZE);
	if (ret) {
		free(tab);
		return set_err(ret, "backend %s: writing the Maglev row: %s", st->name,
			       strerror(-ret));
	}
	free(st->ring_tab);
	st->ring_tab = tab;
	row->nslots = 0;
	return write_row(st->be_idx, row);
}

static void row_from_be(struct xlb_px *st, const struct proxy *be, struct xlb_backend *row)
{
	__be32 a[4];

	memset(row, 0, sizeof(*row));
	row->algo = st->algo;
	row->ring = st->ring;
	row->fwd = be->fwd == FWD_NAT ? XLB_FWD_NAT : XLB_FWD_FULLNAT;
	if (!xlb_addr_from_sockaddr((const struct sockaddr *)&be->source, a)) {
		if (be->source.ss_family == AF_INET)
			row->snat4 = a[3];
		else
			memcpy(row->snat6, a, sizeof(a));
	}
	snprintf(row->name, sizeof(row->name), "%s", be->name);
}

/* Caller holds X.lock (and be->lock). */
static int sync_backend_locked(struct proxy *be)
{
	struct xlb_backend row;
	struct xlb_px *st;
	int ret, err;

	if (!X.skel)
		return 0;
	st = px_find(be->name, px_role(be));
	if (!st || st->owner != be || st->be_idx < 0)
		return 0;
	row_from_be(st, be, &row);
	ret = sync_servers(st, be);
	if (st->algo == XLB_ALGO_MAGLEV)
		err = sync_maglev(st, be->pool, &row);
	else
		err = sync_rr(st, be->pool, &row);
	return err ? err : ret;
}

int xlb_maps_sync_backend(struct proxy *be)
{
	int ret;

	if (!be)
		return -EINVAL;
	pthread_mutex_lock(&X.lock);
	ret = sync_backend_locked(be);
	pthread_mutex_unlock(&X.lock);
	return ret;
}

void xlb_maps_change_hook(struct proxy *be, void *arg)
{
	(void)arg;
	if (xlb_maps_sync_backend(be))
		lb_warn("xdp: %s", X.err);
}

/* ---- Model sync ---- */

/* NULL when the XDP tier can serve the frontend, else why not (in buf). */
static xlb_vip_filter_fn vip_filter;

/* XDP translates addresses within one family: a VIP needs servers of its family. */
static bool be_has_family(const struct proxy *be, int family)
{
	const struct server *s;

	if (list_empty(&be->servers))
		return true; /* servers may come later (API, etcd) */
	list_for_each(s, &be->servers, list)
		if (s->addr.ss_family == family)
			return true;
	return false;
}

void xlb_maps_set_vip_filter(xlb_vip_filter_fn fn)
{
	vip_filter = fn;
}

static const char *fe_unserved(const struct proxy *fe, char *buf, size_t len)
{
	const struct proxy *be = fe->default_backend;
	const struct bind *b;

	if (fe->mode != PX_MODE_TCP)
		return "mode http: served by the L7 tier";
	if (!list_empty(&fe->switch_rules))
		return "use_backend rules need the L7 tier";
	if (!list_empty(&fe->tcp_req_rules))
		return "tcp-request rules need the L7 tier";
	if (!be)
		return "no default_backend";
	if (be->disabled)
		return "its backend is disabled";
	if (be_algo(be) == XLB_ALGO_NONE) {
		snprintf(buf, len,
			 "balance %s is not available in XDP (roundrobin, static-rr, source are)",
			 be->algo ? be->algo->name : "?");
		return buf;
	}
	if (list_empty(&fe->binds))
		return "no bind";
	list_for_each(b, &fe->binds, list) {
		__be32 a[4];

		if (b->ssl)
			return "ssl binds need the L7 tier";
		if (xlb_addr_from_sockaddr((const struct sockaddr *)&b->addr, a))
			return "bind on a non-IP address";
		if (addr_is_wildcard(a))
			return "bind on a wildcard address (a VIP needs a specific address)";
		if (!be_has_family(be, b->addr.ss_family))
			return b->addr.ss_family == AF_INET6 ?
				       "IPv6 bind but no IPv6 server (XDP NAT keeps the family)" :
				       "IPv4 bind but no IPv4 server (XDP NAT keeps the family)";
		if (vip_filter) {
			const char *why = vip_filter(fe, b);

			if (why)
				return why;
		}
	}
	return NULL;
}

static int vip_slot_find(const struct xlb_vip_key *k)
{
	int i, free_idx = -1;

	for (i = 0; i < XLB_MAX_VIPS; i++) {
		if (X.vips[i].used && !memcmp(&X.vips[i].key, k, sizeof(*k)))
			return i;
		if (!X.vips[i].used && free_idx < 0)
			free_idx = i;
	}
	return free_idx < 0 ? -ENOSPC : free_idx;
}

static int bind_key(const struct bind *b, struct xlb_vip_key *k)
{
	uint8_t fam;

	memset(k, 0, sizeof(*k));
	if (sa_split(&b->addr, k->addr, &k->port, &fam) || addr_is_wildcard(k->addr))
		return -1;
	k->proto = b->proto == BIND_UDP ? IPPROTO_UDP : IPPROTO_TCP;
	return 0;
}

/* Write the VIPs of one frontend; records their ids in its state. */
static int sync_fe_vips(struct xlb_px *st, struct proxy *fe, const struct xlb_px *bst)
{
	struct bind *b;
	int ret = 0, n = 0, cap = 0;

	st->nvips = 0;
	list_for_each(b, &fe->binds, list)
		cap++;
	if (cap > st->nvips) {
		uint32_t *ids = realloc(st->vip_ids, cap * sizeof(*ids));

		if (!ids)
			return -ENOMEM;
		st->vip_ids = ids;
	}
	list_for_each(b, &fe->binds, list) {
		struct xlb_vip_key k;
		struct xlb_vip v = { 0 };
		struct vip_slot *vs;
		int i;

		if (bind_key(b, &k))
			continue;
		i = vip_slot_find(&k);
		if (i < 0) {
			ret = set_err(ENOSPC, "frontend %s: more than %d VIPs", fe->name,
				      XLB_MAX_VIPS);
			continue;
		}
		vs = &X.vips[i];
		v.id = i;
		if (st->fe_served && bst)
			v.be_idx = bst->be_idx;
		else
			v.flags = XLB_VIP_L7;
		if (!vs->used)
			clear_percpu_row(MAP_FD(vip_stats), i, sizeof(struct xlb_vip_stats));
		if (!vs->used || memcmp(&vs->val, &v, sizeof(v))) {
			if (bpf_map_update_elem(MAP_FD(vips), &k, &v, BPF_ANY)) {
				ret = set_err(errno, "frontend %s: vips: %s", fe->name,
					      strerror(errno));
				continue;
			}
		}
		vs->used = true;
		vs->key = k;
		vs->val = v;
		vs->gen = X.gen;
		st->vip_ids[n++] = i;
	}
	st->nvips = n;
	return ret;
}

static void set_reason(struct proxy *px, const char *why)
{
	free(px->xdp_reason);
	px->xdp_reason = why ? strdup(why) : NULL;
}

int xlb_maps_sync_model(struct model *m)
{
	struct xlb_px *st, *tmp, *bst;
	struct proxy *px, **todo = NULL;
	int ntodo = 0, cap = 0, ret = 0, err, i;
	char buf[160];

	if (!m)
		return -EINVAL;
	pthread_mutex_lock(&X.lock);
	if (!X.skel) {
		pthread_mutex_unlock(&X.lock);
		return set_err(ENODEV, "the XDP program is not loaded");
	}
	X.gen++;

	/* 1: decide which frontends XDP serves; give their backends rows. */
	list_for_each(px, &m->proxies, list) {
		const char *why;

		if ((px->cap & PX_CAP_DEF) || !(px->cap & PX_CAP_FE))
			continue;
		if (px->disabled) {
			px->xdp = NULL;
			continue;
		}
		st = px_get(px);
		if (!st) {
			ret = -ENOMEM;
			break;
		}
		st->gen = X.gen;
		why = fe_unserved(px, buf, sizeof(buf));
		bst = NULL;
		if (!why) {
			bst = px_get(px->default_backend);
			if (!bst) {
				ret = -ENOMEM;
				break;
			}
			bst->gen = X.gen;
			err = row_claim(bst, be_algo(px->default_backend));
			if (err) {
				why = bst->be_idx < 0 ? "no free XDP backend row" :
							"no free Maglev row";
				set_err(err, "frontend %s: %s", px->name, why);
			}
		}
		st->fe_served = !why;
		px->xdp = why ? NULL : st;
		set_reason(px, why);
		if (why)
			continue;
		if (bst != st && !(px->default_backend->cap & PX_CAP_FE))
			px->default_backend->xdp = bst;
		for (i = 0; i < ntodo && todo[i] != px->default_backend; i++)
			;
		if (i == ntodo) {
			if (ntodo == cap) {
				struct proxy **t = realloc(todo, (cap ? cap * 2 : 8) * sizeof(*t));

				if (!t) {
					ret = -ENOMEM;
					break;
				}
				todo = t;
				cap = cap ? cap * 2 : 8;
			}
			todo[ntodo++] = px->default_backend;
		}
	}
	pthread_mutex_unlock(&X.lock);

	/* 2: fill backend rows before any VIP points to them (lock order: be, then maps). */
	for (i = 0; !ret && i < ntodo; i++) {
		pthread_mutex_lock(&todo[i]->lock);
		err = xlb_maps_sync_backend(todo[i]);
		pthread_mutex_unlock(&todo[i]->lock);
		if (err)
			ret = err;
	}
	free(todo);

	/* 3: VIPs, then whatever the model no longer has. */
	pthread_mutex_lock(&X.lock);
	list_for_each(px, &m->proxies, list) {
		if ((px->cap & PX_CAP_DEF) || !(px->cap & PX_CAP_FE) || px->disabled)
			continue;
		st = px_find(px->name, px_role(px));
		if (!st || st->gen != X.gen)
			continue;
		bst = st->fe_served ?
			      px_find(px->default_backend->name, px_role(px->default_backend)) :
			      NULL;
		err = sync_fe_vips(st, px, bst);
		if (err && !ret)
			ret = err;
	}
	for (i = 0; i < XLB_MAX_VIPS; i++) {
		if (X.vips[i].used && X.vips[i].gen != X.gen) {
			bpf_map_delete_elem(MAP_FD(vips), &X.vips[i].key);
			memset(&X.vips[i], 0, sizeof(X.vips[i]));
		}
	}
	list_for_each_safe(st, tmp, &X.pxs, list) {
		if (st->gen != X.gen)
			px_free(st);
	}
	for (i = 0; i < XLB_MAX_BACKENDS; i++) {
		if (X.rows[i].used && !X.rows[i].px)
			row_release(i); /* reserved by a previous lbd, not claimed */
	}
	pthread_mutex_unlock(&X.lock);
	return ret;
}

int xlb_maps_kick_neighbours(void)
{
	uint32_t id;
	int n = 0;

	pthread_mutex_lock(&X.lock);
	for (id = 0; X.srv && id < XLB_MAX_SERVERS; id++) {
		if (X.srv[id].family && (X.srv[id].flags & XLB_SRV_VALID)) {
			neigh_kick(&X.srv[id]);
			n++;
		}
	}
	pthread_mutex_unlock(&X.lock);
	return n;
}

/* ---- Operator overrides ---- */

int xlb_maps_set_server_state(uint32_t srv_id, enum xlb_srv_state st)
{
	struct xlb_server v;
	int ret;

	if (srv_id >= XLB_MAX_SERVERS)
		return -ERANGE;
	pthread_mutex_lock(&X.lock);
	if (!X.skel) {
		pthread_mutex_unlock(&X.lock);
		return -ENODEV;
	}
	v = X.srv[srv_id];
	v.flags &= ~(XLB_SRV_VALID | XLB_SRV_DRAIN);
	if (st != XLB_SRV_INVALID)
		v.flags |= XLB_SRV_VALID;
	if (st != XLB_SRV_ACTIVE)
		v.flags |= XLB_SRV_DRAIN;
	ret = write_server(srv_id, &v);
	pthread_mutex_unlock(&X.lock);
	return ret;
}

/* ---- Counters ---- */

const char *xlb_stat_name(unsigned stat)
{
	return stat < XLB_STAT_MAX ? stat_names[stat] : NULL;
}

const char *xlb_stat_verdict(unsigned stat)
{
	return stat < XLB_STAT_MAX ? stat_verdicts[stat] : "";
}

/* Sum a per-CPU row of u64 counters into out[nfields]. */
static int read_percpu(int fd, uint32_t key, uint64_t *out, size_t nfields)
{
	size_t stride = nfields * sizeof(uint64_t), i;
	uint64_t *buf;
	int c, ret = 0;

	buf = calloc(X.ncpus, stride);
	if (!buf)
		return -ENOMEM;
	memset(out, 0, stride);
	if (bpf_map_lookup_elem(fd, &key, buf)) {
		ret = -errno;
		goto out;
	}
	for (c = 0; c < X.ncpus; c++) {
		for (i = 0; i < nfields; i++)
			out[i] += buf[c * nfields + i];
	}
out:
	free(buf);
	return ret;
}

#define READ_PERCPU(map, key, out) \
	read_percpu(MAP_FD(map), key, (uint64_t *)(out), sizeof(*(out)) / sizeof(uint64_t))

int xlb_maps_read_global(uint64_t out[XLB_STAT_MAX])
{
	int ret;

	pthread_mutex_lock(&X.lock);
	ret = X.skel ? read_percpu(MAP_FD(stats), 0, out, XLB_STAT_MAX) : -ENODEV;
	pthread_mutex_unlock(&X.lock);
	return ret;
}

int xlb_maps_read_vip(uint32_t vip_id, struct xlb_vip_stats *out)
{
	int ret;

	if (vip_id >= XLB_MAX_VIPS)
		return -ERANGE;
	pthread_mutex_lock(&X.lock);
	ret = X.skel ? READ_PERCPU(vip_stats, vip_id, out) : -ENODEV;
	pthread_mutex_unlock(&X.lock);
	return ret;
}

int xlb_maps_read_server(uint32_t srv_id, struct xlb_srv_stats *out)
{
	int ret;

	if (srv_id >= XLB_MAX_SERVERS)
		return -ERANGE;
	pthread_mutex_lock(&X.lock);
	ret = X.skel ? READ_PERCPU(srv_stats, srv_id, out) : -ENODEV;
	pthread_mutex_unlock(&X.lock);
	return ret;
}

int xlb_maps_read_frontend(const struct proxy *fe, struct xlb_vip_stats *out)
{
	struct xlb_vip_stats one;
	struct xlb_px *st;
	int i, ret = -ENOENT;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&X.lock);
	st = X.skel ? px_find(fe->name, px_role(fe)) : NULL;
	for (i = 0; st && i < st->nvips; i++) {
		ret = READ_PERCPU(vip_stats, st->vip_ids[i], &one);
		if (ret)
			break;
		out->packets += one.packets;
		out->bytes += one.bytes;
		out->new_flows += one.new_flows;
		out->reply_packets += one.reply_packets;
		out->reply_bytes += one.reply_bytes;
		out->no_server += one.no_server;
		out->snat_fail += one.snat_fail;
		out->rst_no_flow += one.rst_no_flow;
	}
	pthread_mutex_unlock(&X.lock);
	return ret;
}

int xlb_maps_vip_id(const struct bind *b, uint32_t *id)
{
	struct xlb_vip_key k;
	int i, ret = -ENOENT;

	if (bind_key(b, &k))
		return -ENOENT;
	pthread_mutex_lock(&X.lock);
	for (i = 0; i < XLB_MAX_VIPS; i++) {
		if (X.vips[i].used && !memcmp(&X.vips[i].key, &k, sizeof(k))) {
			*id = i;
			ret = 0;
			break;
		}
	}
	pthread_mutex_unlock(&X.lock);
	return ret;
}

int xlb_maps_lookup_flow(const struct xlb_tuple *t, struct xlb_flow *out)
{
	int ret;

	pthread_mutex_lock(&X.lock);
	ret = !X.skel ? -ENODEV : bpf_map_lookup_elem(MAP_FD(flows), t, out) ? -errno : 0;
	pthread_mutex_unlock(&X.lock);
	return ret;
}

int xlb_maps_lookup_rev_flow(const struct xlb_tuple *t, struct xlb_rev_flow *out)
{
	int ret;

	pthread_mutex_lock(&X.lock);
	ret = !X.skel ? -ENODEV : bpf_map_lookup_elem(MAP_FD(rev_flows), t, out) ? -errno : 0;
	pthread_mutex_unlock(&X.lock);
	return ret;
}

/* ---- Settings and tx ports ---- */

int xlb_maps_get_cfg(struct xlb_cfg *c)
{
	uint32_t zero = 0;
	int ret;

	pthread_mutex_lock(&X.lock);
	ret = !X.skel ? -ENODEV : bpf_map_lookup_elem(MAP_FD(cfg), &zero, c) ? -errno : 0;
	pthread_mutex_unlock(&X.lock);
	return ret;
}

/*
 * Cached next hops of another generation are looked up again. Caller holds
 * X.lock. The generation is the program's: a cfg write keeps it moving.
 */
static int bump_fib_gen_locked(void)
{
	struct xlb_cfg c;
	uint32_t zero = 0;

	if (bpf_map_lookup_elem(MAP_FD(cfg), &zero, &c))
		return set_err(errno, "reading cfg: %s", strerror(errno));
	c.fib_gen++;
	if (bpf_map_update_elem(MAP_FD(cfg), &zero, &c, BPF_ANY))
		return set_err(errno, "writing cfg: %s", strerror(errno));
	return 0;
}

int xlb_maps_bump_fib_gen(void)
{
	int ret;

	pthread_mutex_lock(&X.lock);
	ret = X.skel ? bump_fib_gen_locked() : -ENODEV;
	pthread_mutex_unlock(&X.lock);
	return ret;
}

int xlb_maps_set_cfg(const struct xlb_cfg *c)
{
	struct xlb_cfg cur, v = *c;
	uint32_t zero = 0;
	int ret = 0;

	if (c->port_min && c->port_max < c->port_min)
		return set_err(EINVAL, "SNAT port range %u-%u is empty", c->port_min, c->port_max);
	pthread_mutex_lock(&X.lock);
	if (!X.skel) {
		ret = -ENODEV;
		goto out;
	}
	/* fib_gen is not the caller's: it only moves forward (a copy read earlier is stale). */
	if (bpf_map_lookup_elem(MAP_FD(cfg), &zero, &cur)) {
		ret = -errno;
		goto out;
	}
	v.fib_gen = cur.fib_gen + 1;
	if (bpf_map_update_elem(MAP_FD(cfg), &zero, &v, BPF_ANY))
		ret = -errno;
out:
	pthread_mutex_unlock(&X.lock);
	return ret;
}

static int tx_port_locked(int ifindex, bool on)
{
	uint32_t k = ifindex, v = ifindex;

	if (on && bpf_map_update_elem(MAP_FD(tx_ports), &k, &v, BPF_ANY))
		return set_err(errno, "tx_ports: ifindex %d: %s", ifindex, strerror(errno));
	if (!on && bpf_map_delete_elem(MAP_FD(tx_ports), &k) && errno != ENOENT)
		return set_err(errno, "tx_ports: ifindex %d: %s", ifindex, strerror(errno));
	/* Cached next hops passed the tx_ports check: have them checked again. */
	return bump_fib_gen_locked();
}

int xlb_maps_set_tx_port(int ifindex, bool on)
{
	int ret;

	pthread_mutex_lock(&X.lock);
	ret = X.skel ? tx_port_locked(ifindex, on) : -ENODEV;
	pthread_mutex_unlock(&X.lock);
	return ret;
}

/* ---- Links ---- */

static void link_path(char *buf, size_t len, const char *root, const char *ifname)
{
	snprintf(buf, len, "%s/" XLB_LINK_PREFIX "%s", root, ifname);
}

/* The ifindex a pinned XDP link is attached to; 0 when its interface is gone. */
static int link_ifindex(int fd)
{
	struct bpf_link_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) || info.type != BPF_LINK_TYPE_XDP)
		return 0;
	return info.xdp.ifindex;
}

static int attach_mode(int prog_fd, int ifindex, __u32 flags)
{
	LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = flags);
	int fd = bpf_link_create(prog_fd, ifindex, BPF_XDP, &lo);

	return fd < 0 ? -errno : fd;
}

/* How the XDP program of an interface runs: XLB_XDP_NATIVE, XLB_XDP_GENERIC, or -errno. */
static int if_xdp_mode(int ifindex)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	if (bpf_xdp_query(ifindex, 0, &q))
		return -errno;
	switch (q.attach_mode) {
	case XDP_ATTACHED_DRV:
		return XLB_XDP_NATIVE;
	case XDP_ATTACHED_SKB:
		return XLB_XDP_GENERIC;
	case XDP_ATTACHED_MULTI:
		return q.drv_prog_id ? XLB_XDP_NATIVE : XLB_XDP_GENERIC;
	default:
		return -ENOENT;
	}
}

static const char *mode_name(int mode)
{
	return mode == XLB_XDP_NATIVE  ? "native" :
	       mode == XLB_XDP_GENERIC ? "generic" :
	       mode == XLB_XDP_AUTO    ? "auto" :
					 "unknown";
}

/* Does the mode an existing link runs in satisfy the mode asked for? */
static bool mode_allowed(int have, enum xlb_xdp_mode want)
{
	return want == XLB_XDP_AUTO ? have >= 0 : have == (int)want;
}

int xlb_maps_attach(const char *ifname, enum xlb_xdp_mode mode)
{
	char path[PATH_MAX];
	int ifindex, fd = -1, prog_fd, ret = 0, i, got = XLB_XDP_NATIVE;
	bool created = false;

	pthread_mutex_lock(&X.lock);
	if (!X.skel) {
		ret = set_err(ENODEV, "%s: the XDP program is not loaded", ifname);
		goto out;
	}
	ifindex = if_nametoindex(ifname);
	if (!ifindex) {
		ret = set_err(errno, "%s: no such interface", ifname);
		goto out;
	}
	if (X.nlinks == XLB_MAX_LINKS) {
		ret = set_err(ENOSPC, "%s: more than %d interfaces", ifname, XLB_MAX_LINKS);
		goto out;
	}
	for (i = 0; i < X.nlinks; i++) {
		if (!strcmp(X.links[i].ifname, ifname))
			goto out; /* already attached by this process */
	}
	prog_fd = bpf_program__fd(X.skel->progs.xlb_lb);
	link_path(path, sizeof(path), X.root, ifname);

	/*
	 * A link a previous lbd pinned: swap our program in, flows are kept.
	 * One that runs in a mode that was not asked for is left serving: the
	 * other mode may not work, and changing it interrupts every flow.
	 */
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		int have = if_xdp_mode(ifindex);

		if (link_ifindex(fd) == ifindex && have >= 0 && !mode_allowed(have, mode)) {
			ret = set_err(
				EEXIST,
				"%s: a previous lbd attached XDP in %s mode and %s was asked; "
				"it keeps serving: allow %s mode, or detach it first (`lbctl "
				"down`, or remove %s)",
				ifname, mode_name(have), mode_name(mode), mode_name(have), path);
			close(fd);
			goto out;
		}
		if (link_ifindex(fd) == ifindex && !bpf_link_update(fd, prog_fd, NULL)) {
			got = have;
			goto pinned;
		}
		lb_notice("xdp: %s: replacing the stale pinned link %s", ifname, path);
		close(fd);
		unlink(path);
	}

	fd = -EOPNOTSUPP;
	if (mode != XLB_XDP_GENERIC) {
		fd = attach_mode(prog_fd, ifindex, XDP_FLAGS_DRV_MODE);
		got = XLB_XDP_NATIVE;
	}
	if (fd == -EBUSY || fd == -EEXIST) {
		ret = set_err(fd,
			      "%s: another XDP program is attached, not lbd's (`ip link set dev %s "
			      "xdp off` removes one attached with ip)",
			      ifname, ifname);
		goto out;
	}
	if (fd < 0 && mode == XLB_XDP_NATIVE) {
		ret = set_err(
			fd,
			"%s: native XDP attach failed: %s%s; generic (skb) mode is slower and "
			"used only when asked: `lbctl up --xdp-mode generic`, or `xlb-xdp-mode "
			"generic` (or `auto`: native, else generic) in global",
			ifname, strerror(-fd),
			fd == -EOPNOTSUPP ? " (the driver has no native XDP)" : "");
		goto out;
	}
	if (fd < 0) {
		int native = fd;

		fd = attach_mode(prog_fd, ifindex, XDP_FLAGS_SKB_MODE);
		got = XLB_XDP_GENERIC;
		if (fd < 0 && mode == XLB_XDP_AUTO) {
			ret = set_err(fd, "%s: XDP attach failed: native: %s, generic: %s", ifname,
				      strerror(-native), strerror(-fd));
			goto out;
		}
		if (fd < 0) {
			ret = set_err(fd, "%s: generic XDP attach failed: %s", ifname,
				      strerror(-fd));
			goto out;
		}
		if (mode == XLB_XDP_AUTO)
			lb_warn("xdp: %s: native XDP attach failed (%s%s); running in generic (skb) "
				"mode, which is slower (xdp mode auto allows it)",
				ifname, strerror(-native),
				native == -EOPNOTSUPP ? ": the driver has no native XDP" : "");
	}
	created = true;
	if (bpf_obj_pin(fd, path)) {
		ret = set_err(errno, "%s: pinning the link at %s: %s", ifname, path,
			      strerror(errno));
		bpf_link_detach(fd);
		close(fd);
		goto out;
	}
pinned:
	ret = tx_port_locked(ifindex, true);
	snprintf(X.links[X.nlinks].ifname, IF_NAMESIZE, "%s", ifname);
	X.links[X.nlinks].ifindex = ifindex;
	X.links[X.nlinks].fd = fd;
	X.links[X.nlinks].created = created;
	X.links[X.nlinks].mode = got;
	X.nlinks++;
out:
	pthread_mutex_unlock(&X.lock);
	return ret;
}

int xlb_maps_detach(const char *ifname)
{
	char path[PATH_MAX];
	int i, fd = -1, ifindex = 0, ret = 0;

	pthread_mutex_lock(&X.lock);
	for (i = 0; i < X.nlinks; i++) {
		if (!strcmp(X.links[i].ifname, ifname)) {
			fd = X.links[i].fd;
			ifindex = X.links[i].ifindex;
			X.links[i] = X.links[--X.nlinks];
			break;
		}
	}
	link_path(path, sizeof(path), xlb_maps_pin_root(), ifname);
	if (fd < 0)
		fd = bpf_obj_get(path);
	if (fd < 0) {
		ret = set_err(ENOENT, "%s: not attached (no %s)", ifname, path);
		goto out;
	}
	if (!ifindex)
		ifindex = link_ifindex(fd);
	if (bpf_link_detach(fd) && errno != ENOLINK)
		ret = set_err(errno, "%s: detach: %s", ifname, strerror(errno));
	close(fd);
	unlink(path);
	if (X.skel && ifindex)
		tx_port_locked(ifindex, false);
out:
	pthread_mutex_unlock(&X.lock);
	return ret;
}

int xlb_maps_link_mode(const char *ifname)
{
	int i, ret = -ENOENT;

	pthread_mutex_lock(&X.lock);
	for (i = 0; i < X.nlinks; i++) {
		if (!strcmp(X.links[i].ifname, ifname)) {
			ret = if_xdp_mode(X.links[i].ifindex);
			if (ret < 0)
				ret = X.links[i].mode;
			break;
		}
	}
	pthread_mutex_unlock(&X.lock);
	return ret;
}

const char *xlb_maps_mode_name(int mode)
{
	return mode_name(mode);
}

/* ---- Open, close, down ---- */

static int ensure_bpffs(const char *root, bool no_mount)
{
	struct statfs sfs;

	if (strncmp(root, BPFFS_ROOT "/", strlen(BPFFS_ROOT) + 1))
		return 0; /* elsewhere: the operator's bpffs */
	if (statfs(BPFFS_ROOT, &sfs) == 0 && sfs.f_type == BPFFS_MAGIC)
		return 0;
	if (no_mount)
		return set_err(ENOENT, "%s is not a bpffs mount", BPFFS_ROOT);
	if (mount("bpf", BPFFS_ROOT, "bpf", 0, "mode=0700"))
		return set_err(errno, "mounting bpffs on %s: %s", BPFFS_ROOT, strerror(errno));
	lb_notice("xdp: mounted bpffs on %s", BPFFS_ROOT);
	return 0;
}

/* Remove the map pins (not the links) under root: `fresh` start. */
static void unpin_maps(const char *root)
{
	struct dirent *de;
	char path[PATH_MAX];
	DIR *d = opendir(root);

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' ||
		    !strncmp(de->d_name, XLB_LINK_PREFIX, strlen(XLB_LINK_PREFIX)))
			continue;
		snprintf(path, sizeof(path), "%s/%s", root, de->d_name);
		unlink(path);
	}
	closedir(d);
}

/* The info of the map pinned for `map`; -1 when there is none. */
static int pinned_info(struct bpf_map *map, struct bpf_map_info *info)
{
	__u32 len = sizeof(*info);
	char path[PATH_MAX];
	int fd, ret;

	snprintf(path, sizeof(path), "%s/%s", X.root, bpf_map__name(map));
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -1;
	memset(info, 0, sizeof(*info));
	ret = bpf_obj_get_info_by_fd(fd, info, &len);
	close(fd);
	return ret ? -1 : 0;
}

/*
 * The size of a flow table: a pinned one keeps its size (libbpf refuses to
 * reuse a pin whose size differs, and the flows in it are worth keeping);
 * otherwise the requested size, if any.
 */
static void size_flow_table(struct bpf_map *map, uint32_t want)
{
	struct bpf_map_info info;

	if (!pinned_info(map, &info) && info.max_entries) {
		if (want && want != info.max_entries)
			lb_notice(
				"xdp: %s keeps its pinned size %u (asked %u; `lbctl down` to resize)",
				bpf_map__name(map), info.max_entries, want);
		want = info.max_entries;
	}
	if (want)
		bpf_map__set_max_entries(map, want);
}

/*
 * The kernel adds BPF_F_RDONLY_PROG to a devmap's flags but refuses it at
 * creation; libbpf reuses a pin only when the flags are equal. Expect the
 * pinned flags when there is a pin.
 */
static void devmap_flags(struct bpf_map *map)
{
	struct bpf_map_info info;

	if (!pinned_info(map, &info))
		bpf_map__set_map_flags(map, info.map_flags);
}

/* Pick up what a previous lbd left in the pinned maps. */
static int recover_state(void)
{
	struct xlb_vip_key k, next, *prev = NULL;
	struct xlb_vip v;
	struct xlb_backend row;
	struct xlb_cfg c;
	uint32_t i;

	while (bpf_map_get_next_key(MAP_FD(vips), prev, &next) == 0) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(MAP_FD(vips), &k, &v) || v.id >= XLB_MAX_VIPS ||
		    X.vips[v.id].used)
			continue;
		X.vips[v.id].used = true;
		X.vips[v.id].key = k;
		X.vips[v.id].val = v;
		X.vips[v.id].gen = 0;
	}
	for (i = 0; i < XLB_MAX_BACKENDS; i++) {
		if (bpf_map_lookup_elem(MAP_FD(backends), &i, &row) || !row.name[0])
			continue;
		X.rows[i].used = true;
		memcpy(X.rows[i].name, row.name, XLB_NAME_LEN);
		X.rows[i].name[XLB_NAME_LEN - 1] = 0;
	}
	for (i = 0; i < XLB_MAX_SERVERS; i++) {
		if (bpf_map_lookup_elem(MAP_FD(servers), &i, &X.srv[i]))
			memset(&X.srv[i], 0, sizeof(X.srv[i]));
	}
	i = 0;
	if (bpf_map_lookup_elem(MAP_FD(cfg), &i, &c))
		return set_err(errno, "reading cfg: %s", strerror(errno));
	if (!c.port_min && !c.port_max && !c.udp_timeout_ns) {
		c.port_min = XLB_PORT_MIN_DEFAULT;
		c.port_max = XLB_PORT_MAX_DEFAULT;
		c.udp_timeout_ns = XLB_UDP_TIMEOUT_NS;
		if (bpf_map_update_elem(MAP_FD(cfg), &i, &c, BPF_ANY))
			return set_err(errno, "writing cfg: %s", strerror(errno));
	}
	return 0;
}

static void reset_state(void)
{
	struct xlb_px *st, *tmp;

	list_for_each_safe(st, tmp, &X.pxs, list) {
		list_del(&st->list);
		free(st->ring_tab);
		free(st->vip_ids);
		free(st->name);
		free(st);
	}
	memset(X.vips, 0, sizeof(X.vips));
	memset(X.rows, 0, sizeof(X.rows));
	memset(X.ring_used, 0, sizeof(X.ring_used));
	free(X.srv);
	free(X.srv_stamp);
	X.srv = NULL;
	X.srv_stamp = NULL;
}

int xlb_maps_open(const struct xlb_maps_opts *opts)
{
	struct xlb_maps_opts none = { 0 };
	bool made_root = false;
	const char *root;
	int ret;

	if (!opts)
		opts = &none;
	root = opts->pin_root && *opts->pin_root ? opts->pin_root : XLB_PIN_ROOT_DEFAULT;
	if (strlen(root) >= sizeof(X.root))
		return set_err(ENAMETOOLONG, "pin root %s: longer than %zu bytes", root,
			       sizeof(X.root) - 1);

	pthread_mutex_lock(&X.lock);
	if (X.skel) {
		ret = set_err(EALREADY, "the XDP program is already loaded");
		goto out_unlock;
	}
	X.err[0] = 0;
	X.last_libbpf[0] = 0;
	libbpf_set_print(libbpf_print);
	snprintf(X.root, sizeof(X.root), "%s", root);
	ret = ensure_bpffs(root, opts->no_mount);
	if (ret)
		goto out_unlock;
	if (mkdir(root, 0700)) {
		if (errno != EEXIST) {
			ret = set_err(errno, "creating %s: %s", root, strerror(errno));
			goto out_unlock;
		}
	} else {
		made_root = true;
	}
	if (opts->fresh)
		unpin_maps(root);

	X.ncpus = libbpf_num_possible_cpus();
	X.srv = calloc(XLB_MAX_SERVERS, sizeof(*X.srv));
	X.srv_stamp = calloc(XLB_MAX_SERVERS, sizeof(*X.srv_stamp));
	if (X.ncpus <= 0 || !X.srv || !X.srv_stamp) {
		ret = set_err(ENOMEM, "out of memory");
		goto out_state;
	}

	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = X.root);
	X.skel = lb_bpf__open_opts(&oo);
	if (!X.skel) {
		ret = set_err(errno, "opening the XDP object: %s", strerror(errno));
		goto out_state;
	}
	if (opts->snat_probes)
		X.skel->rodata->snat_probes = opts->snat_probes < XLB_SNAT_PROBES_MAX ?
						      opts->snat_probes :
						      XLB_SNAT_PROBES_MAX;
	X.adopted = pinned_info(X.skel->maps.vips, &(struct bpf_map_info){ 0 }) == 0;
	size_flow_table(X.skel->maps.flows, opts->flow_entries);
	size_flow_table(X.skel->maps.rev_flows, opts->flow_entries);
	devmap_flags(X.skel->maps.tx_ports);
	ret = lb_bpf__load(X.skel);
	if (ret) {
		ret = set_err(ret, "loading the XDP program: %s%s%s%s", strerror(-ret),
			      X.last_libbpf[0] ? " (libbpf: " : "", X.last_libbpf,
			      X.last_libbpf[0] ? ")" : "");
		if (strstr(X.last_libbpf, "reuse"))
			snprintf(
				X.err + strlen(X.err), sizeof(X.err) - strlen(X.err),
				"; the maps pinned under %s have another layout: `lbctl down` removes them",
				X.root);
		goto out_skel;
	}
	ret = recover_state();
	if (!ret)
		ret = bump_fib_gen_locked(); /* routes may have changed while nobody watched */
	if (ret)
		goto out_skel;
	pthread_mutex_unlock(&X.lock);
	return 0;

out_skel:
	lb_bpf__destroy(X.skel);
	X.skel = NULL;
out_state:
	reset_state();
	if (made_root)
		rmdir(root); /* only when still empty: a failed load leaves nothing */
out_unlock:
	pthread_mutex_unlock(&X.lock);
	return ret;
}

bool xlb_maps_is_open(void)
{
	bool open;

	pthread_mutex_lock(&X.lock);
	open = X.skel != NULL;
	pthread_mutex_unlock(&X.lock);
	return open;
}

int xlb_maps_prog_fd(void)
{
	int fd;

	pthread_mutex_lock(&X.lock);
	fd = X.skel ? bpf_program__fd(X.skel->progs.xlb_lb) : -1;
	pthread_mutex_unlock(&X.lock);
	return fd;
}

void xlb_maps_close(void)
{
	int i;

	pthread_mutex_lock(&X.lock);
	for (i = 0; i < X.nlinks; i++)
		close(X.links[i].fd);
	X.nlinks = 0;
	if (X.skel)
		lb_bpf__destroy(X.skel);
	X.skel = NULL;
	reset_state();
	pthread_mutex_unlock(&X.lock);
}

int xlb_maps_abort(void)
{
	char root[sizeof(X.root)];
	int i;

	pthread_mutex_lock(&X.lock);
	if (!X.skel) {
		pthread_mutex_unlock(&X.lock);
		return 0;
	}
	snprintf(root, sizeof(root), "%s", X.root);
	if (!X.adopted) {
		/* Nothing was running here before: leave nothing behind. */
		pthread_mutex_unlock(&X.lock);
		return xlb_maps_down(root);
	}
	for (i = 0; i < X.nlinks; i++) {
		char path[PATH_MAX];

		if (!X.links[i].created)
			continue;
		link_path(path, sizeof(path), X.root, X.links[i].ifname);
		bpf_link_detach(X.links[i].fd);
		unlink(path);
		tx_port_locked(X.links[i].ifindex, false);
	}
	pthread_mutex_unlock(&X.lock);
	xlb_maps_close();
	return 0;
}

int xlb_maps_down(const char *pin_root)
{
	const char *root = pin_root && *pin_root ? pin_root : XLB_PIN_ROOT_DEFAULT;
	char path[PATH_MAX];
	struct dirent *de;
	int ret = 0, fd;
	DIR *d;

	pthread_mutex_lock(&X.lock);
	if (X.skel && !strcmp(X.root, root)) {
		pthread_mutex_unlock(&X.lock);
		xlb_maps_close();
		pthread_mutex_lock(&X.lock);
	}
	d = opendir(root);
	if (!d) {
		ret = errno == ENOENT ? 0 : set_err(errno, "%s: %s", root, strerror(errno));
		goto out;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", root, de->d_name);
		if (!strncmp(de->d_name, XLB_LINK_PREFIX, strlen(XLB_LINK_PREFIX))) {
			fd = bpf_obj_get(path);
			if (fd >= 0) {
				if (bpf_link_detach(fd) && errno != ENOLINK)
					ret = set_err(errno, "detaching %s: %s", path,
						      strerror(errno));
				close(fd);
			}
		}
		if (unlink(path))
			ret = set_err(errno, "unpinning %s: %s", path, strerror(errno));
	}
	closedir(d);
	if (rmdir(root) && errno != ENOENT)
		ret = set_err(errno, "removing %s: %s", root, strerror(errno));
out:
	pthread_mutex_unlock(&X.lock);
	return ret;
}
