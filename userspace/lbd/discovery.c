// SPDX-License-Identifier: MIT
/*
 * Service discovery, the generic part: the `discovery` keyword, one source
 * per backend, the entries each source reported (key -> server) and how they
 * reach the model, the state file, and `show discovery`.
 *
 * The entries are what the store says; the backend's servers of origin etcd
 * follow them. A put adds a server (server_new() gives it the backend's
 * default-server settings) or changes its address or weight in place; a
 * delete removes it: it gets no new connections and its open ones finish
 * (backend_del_server() only drops the model's reference). Both tiers follow
 * through backend_recalc() (the XDP tier's change hook runs inside it), and
 * health checks start and stop with the servers.
 *
 * A source never holds a pointer into the model: it names its backend, which
 * is looked up in the model the module is attached to. When a reload swaps a
 * new model in, the sources re-attach to it (discovery_reload(), or the check
 * watcher on the next loop iteration) and reconcile its discovered servers
 * with their entries.
 */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netdb.h>

#include "api.h"
#include "cfg.h"
#include "discovery.h"
#include "health.h"
#include "log.h"

#define DISC_MAX_OPS 8
/* Changes within this delay are written to the state file once. */
#define DISC_SAVE_DELAY 0.5
#define DISC_STATE_VERSION 1
/* Longest value a put may carry: a registration is a few dozen bytes. */
#define DISC_MAX_VALUE 4096

static const struct discovery_ops *disc_ops[DISC_MAX_OPS];
static int ndisc_ops;

static struct list_head sources = LIST_HEAD_INIT(sources);
static struct model *cur_model; /* the model the sources apply to */
static bool running;
static ev_check model_watch; /* notices a reload that did not call discovery_reload() */
static ev_timer save_timer; /* debounces state file writes */
static bool save_pending;
static char *state_path; /* global `xlb-state-file`, NULL = none */
static json_t *state_old; /* the state file as read at start, for sources not yet synced */
static bool state_err_logged;
/* Address strings replaced at run time: workers may still be formatting them. */
static char **graveyard;
static int ngraveyard;

void discovery_register(const struct discovery_ops *ops)
{
	if (ndisc_ops < DISC_MAX_OPS)
		disc_ops[ndisc_ops++] = ops;
}

static const struct discovery_ops *ops_find(const char *name)
{
	for (int i = 0; i < ndisc_ops; i++)
		if (!strcmp(disc_ops[i]->name, name))
			return disc_ops[i];
	return NULL;
}

/* ---- config ---- */

static void disc_cfg_put(void *p)
{
	struct disc_cfg *dc = p;

	if (!dc || __atomic_sub_fetch(&dc->refcnt, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	if (dc->priv && dc->ops->cfg_free)
		dc->ops->cfg_free(dc->priv);
	free(dc->text);
	free(dc->prefix);
	free(dc);
}

static void disc_cfg_get(struct disc_cfg *dc)
{
	__atomic_add_fetch(&dc->refcnt, 1, __ATOMIC_RELAXED);
}

/* `discovery SOURCE OPTIONS...` in a backend or listen section. */
static int kw_discovery(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	struct proxy *px = ctx->px;
	const struct discovery_ops *ops;
	struct disc_cfg *dc;

	if (px->discovery) {
		dc = px->discovery;
		return cfg_err(err,
			       "'discovery': backend '%s' already has a discovery source (line %d)",
			       px->name, dc->loc.line);
	}
	if (nargs < 2)
		return cfg_err(err, "'discovery': expected a source such as 'etcd', got nothing");
	ops = ops_find(args[1]);
	if (!ops)
		return cfg_err(err, "'discovery': unknown source '%s' (expected etcd)", args[1]);
	dc = calloc(1, sizeof(*dc));
	if (!dc)
		return cfg_err(err, "'discovery': out of memory");
	dc->refcnt = 1;
	dc->ops = ops;
	dc->loc.file = ctx->file;
	dc->loc.line = ctx->line;
	dc->text = cfg_join(args + 1, nargs - 1);
	if (!dc->text) {
		disc_cfg_put(dc);
		return cfg_err(err, "'discovery': out of memory");
	}
	dc->priv = ops->parse(dc, ctx, args + 2, nargs - 2, err);
	if (!dc->priv) {
		disc_cfg_put(dc);
		return -1;
	}
	if (!dc->prefix) {
		disc_cfg_put(dc);
		return cfg_err(err, "'discovery %s': no key prefix", ops->name);
	}
	px->discovery = dc;
	px->discovery_free = disc_cfg_put;
	return 0;
}

static const struct cfg_kw discovery_kws[] = {
	{ CFG_SEC_BACKEND | CFG_SEC_LISTEN, "discovery", kw_discovery },
	{ 0, NULL, NULL },
};
CFG_REGISTER(discovery_kws);

/* ---- values ---- */

static int parse_ip(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		*len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		*len = sizeof(*sin6);
		return 0;
	}
	return -1;
}

/*
 * A host name lbd resolves: letters, digits, '-', '_' and '.', labels of at
 * most 63 bytes, 253 in all, not starting with '-' or '.', and not all
 * digits and dots (that is a malformed IPv4 address, not a name).
 */
static bool valid_host(const char *s)
{
	size_t len = strlen(s), label = 0;
	bool alpha = false;

	if (!len || len > DISC_MAX_HOST || s[0] == '-' || s[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (!label)
				return false;
			label = 0;
			continue;
		}
		if (!isalnum(c) && c != '-' && c != '_')
			return false;
		if (++label > 63)
			return false;
		alpha |= !isdigit(c);
	}
	return alpha;
}

/* host is an IP literal (to addr) or a name to resolve (to v->host). */
static int set_host(struct disc_value *v, const char *host, bool bracketed)
{
	if (parse_ip(host, &v->addr, &v->addrlen) == 0)
		return v->addr.ss_family == AF_INET6 && !bracketed ? -1 : 0;
	if (bracketed || !valid_host(host))
		return -1;
	snprintf(v->host, sizeof(v->host), "%s", host);
	return 0;
}

static void set_port(struct sockaddr_storage *ss, int port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

/* "1".."65535" -> port, else -1. */
static int parse_port(const char *s)
{
	long long n;

	if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 5)
		return -1;
	n = atoll(s);
	return n >= 1 && n <= 65535 ? (int)n : -1;
}

static int parse_json_value(const char *val, size_t len, struct disc_value *out, const char **why)
{
	json_t *root = json_loadb(val, len, 0, NULL), *a, *p, *w;
	char pbuf[16];
	int port = -1, ret = -1;

	if (!root || !json_is_object(root)) {
		*why = "not a JSON object";
		goto out;
	}
	a = json_object_get(root, "addr");
	p = json_object_get(root, "port");
	w = json_object_get(root, "weight");
	if (!json_is_string(a) || (parse_ip(json_string_value(a), &out->addr, &out->addrlen) < 0 &&
				   set_host(out, json_string_value(a), false) < 0)) {
		*why = "'addr' is not an IP address or a host name";
		goto out;
	}
	if (json_is_integer(p) && json_integer_value(p) >= 1 && json_integer_value(p) <= 65535) {
		port = (int)json_integer_value(p);
	} else if (json_is_string(p)) {
		snprintf(pbuf, sizeof(pbuf), "%s", json_string_value(p));
		port = parse_port(pbuf);
	}
	if (port < 0) {
		*why = "'port' is not a port number (1-65535)";
		goto out;
	}
	out->port = port;
	if (!out->host[0])
		set_port(&out->addr, port);
	out->weight = -1;
	if (w && !json_is_null(w)) {
		if (!json_is_integer(w) || json_integer_value(w) < 0 ||
		    json_integer_value(w) > 256) {
			*why = "'weight' is not an integer between 0 and 256";
			goto out;
		}
		out->weight = (int)json_integer_value(w);
	}
	ret = 0;
out:
	json_decref(root);
	return ret;
}

/* "IP:PORT" or "[IPv6]:PORT". */
static int parse_bare_value(const char *val, size_t len, struct disc_value *out, const char **why)
{
	char buf[DISC_MAX_HOST + 16], *host, *port;
	int p;

	if (len >= sizeof(buf)) {
		*why = "value too long for HOST:PORT";
		return -1;
	}
	memcpy(buf, val, len);
	buf[len] = '\0';
	if (buf[0] == '[') {
		char *end = strchr(buf, ']');

		if (!end || end[1] != ':') {
			*why = "expected [IPv6]:PORT";
			return -1;
		}
		*end = '\0';
		host = buf + 1;
		port = end + 2;
		if (!strchr(host, ':')) {
			*why = "expected [IPv6]:PORT";
			return -1;
		}
	} else {
		port = strrchr(buf, ':');
		if (!port || strchr(buf, ':') != port) {
			*why = "not JSON and not IP:PORT";
			return -1;
		}
		*port++ = '\0';
		host = buf;
	}
	if (set_host(out, host, buf[0] == '[') < 0) {
		*why = "the host is not an IP address or a host name";
		return -1;
	}
	p = parse_port(port);
	if (p < 0) {
		*why = "the port is not a port number (1-65535)";
		return -1;
	}
	out->port = p;
	if (!out->host[0])
		set_port(&out->addr, p);
	out->weight = -1;
	return 0;
}

int disc_parse_value(const char *val, size_t len, struct disc_value *out, const char **why)
{
	static const char *ws = " \t\r\n";

	memset(out, 0, sizeof(*out));
	if (!val) {
		*why = "no value";
		return -1;
	}
	while (len && strchr(ws, val[0]) && val[0]) {
		val++;
		len--;
	}
	while (len && strchr(ws, val[len - 1]) && val[len - 1])
		len--;
	if (!len) {
		*why = "empty value";
		return -1;
	}
	if (len > DISC_MAX_VALUE) {
		*why = "value too long";
		return -1;
	}
	if (memchr(val, '\0', len)) {
		*why = "binary value";
		return -1;
	}
	if (val[0] == '{')
		return parse_json_value(val, len, out, why);
	return parse_bare_value(val, len, out, why);
}

char *disc_server_name(const char *id, size_t len)
{
	char *n;

	if (!id || !len || len > 255)
		return NULL;
	n = malloc(len + 1);
	if (!n)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)id[i];

		n[i] = (c < 0x80 && (isalnum(c) || strchr("-_.:", c)) && c) ? (char)c : '_';
	}
	n[len] = '\0';
	return n;
}

/* ---- entries (sorted by key) ---- */

static int ent_search(const struct disc_source *src, const char *key, bool *found)
{
	int lo = 0, hi = src->nents;

	*found = false;
	while (lo < hi) {
		int mid = (lo + hi) / 2, c = strcmp(src->ents[mid]->key, key);

		if (!c) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct disc_entry *ent_find(const struct disc_source *src, const char *key)
{
	bool found;
	int i = ent_search(src, key, &found);

	return found ? src->ents[i] : NULL;
}

/* A new entry for key (not present), NULL on ENOMEM. */
static struct disc_entry *ent_insert(struct disc_source *src, const char *key)
{
	struct disc_entry *e;
	bool found;
	int i = ent_search(src, key, &found);

	if (src->nents == src->ments) {
		int m = src->ments ? src->ments * 2 : 16;
		struct disc_entry **n = realloc(src->ents, m * sizeof(*n));

		if (!n)
			return NULL;
		src->ents = n;
		src->ments = m;
	}
	e = calloc(1, sizeof(*e));
	if (!e || !(e->key = strdup(key))) {
		free(e);
		return NULL;
	}
	e->weight = -1;
	memmove(&src->ents[i + 1], &src->ents[i], (src->nents - i) * sizeof(*src->ents));
	src->ents[i] = e;
	src->nents++;
	return e;
}

static void ent_free(struct disc_entry *e)
{
	if (!e)
		return;
	free(e->key);
	free(e->name);
	free(e);
}

static void ent_remove(struct disc_source *src, struct disc_entry *e)
{
	bool found;
	int i = ent_search(src, e->key, &found);

	if (!found)
		return;
	memmove(&src->ents[i], &src->ents[i + 1], (src->nents - i - 1) * sizeof(*src->ents));
	src->nents--;
	ent_free(e);
}

/* ---- applying entries to the model ---- */

static struct proxy *src_backend(const struct disc_source *src)
{
	struct proxy *be = cur_model ? model_find_backend(cur_model, src->be_name) : NULL;

	return be && be->discovery ? be : NULL;
}

static int default_weight(const struct proxy *be)
{
	return be->defsrv ? be->defsrv->iweight : 1;
}

static int entry_weight(const struct proxy *be, const struct disc_entry *e)
{
	return e->weight >= 0 ? e->weight : default_weight(be);
}

/* The server of this entry in be: same name, discovered, from the same key. */
static struct server *entry_server(struct proxy *be, const struct disc_entry *e)
{
	struct server *s = e->name ? backend_find_server(be, e->name) : NULL;

	if (!s || s->removed || s->origin != SRV_ORIGIN_ETCD || !s->origin_key ||
	    strcmp(s->origin_key, e->key))
		return NULL;
	return s;
}

static void schedule_save(void)
{
	if (!state_path || !running)
		return;
	save_pending = true;
	if (lbd.loop && !ev_is_active(&save_timer)) {
		ev_timer_set(&save_timer, DISC_SAVE_DELAY, 0.);
		ev_timer_start(lbd.loop, &save_timer);
	}
}

static void srv_add(struct disc_source *src, struct proxy *be, struct disc_entry *e, bool quiet)
{
	char abuf[80], *perr;
	struct server *s, *o;
	int rc;

	e->applied = false;
	o = backend_find_server(be, e->name);
	if (o) {
		lb_warn("discovery: backend '%s': key '%s' skipped: server name '%s' is already used "
			"in the backend",
			be->name, e->key, e->name);
		src->nskipped++;
		return;
	}
	s = server_new(be, e->name);
	if (!s)
		goto nomem;
	lbd_addr_str(&e->addr, abuf, sizeof(abuf));
	s->addr = e->addr;
	s->addrlen = e->addrlen;
	free(s->addr_str);
	s->addr_str = strdup(abuf);
	s->origin = SRV_ORIGIN_ETCD;
	s->origin_key = strdup(e->key);
	if (!s->addr_str || !s->origin_key) {
		server_put(s);
		goto nomem;
	}
	if (e->weight >= 0)
		s->weight = s->iweight = e->weight;
	s->last_change = now_ms();
	rc = lbd_add_server(be, s, false, &perr);
	if (rc) {
		lb_err("discovery: backend '%s': cannot add server '%s' (key '%s'): %s", be->name,
		       e->name, e->key,
		       rc == LBD_SRV_REFUSED ? (perr ? perr : "?") : strerror(-rc));
		free(perr);
		server_put(s);
		return;
	}
	health_server_added(s);
	e->applied = true;
	lb_log(quiet ? LB_LOG_INFO : LB_LOG_NOTICE,
	       "discovery: server %s/%s added at %s, weight %d (key '%s')", be->name, s->name, abuf,
	       s->weight, e->key);
	return;
nomem:
	lb_err("discovery: backend '%s': cannot add server '%s': out of memory", be->name, e->name);
}

/* Bring s in line with its entry: address and (when it changed in the store) weight. */
static void srv_update(struct proxy *be, struct server *s, const struct disc_entry *e,
		       bool weight_changed, bool quiet)
{
	bool addr_changed = !lbd_addr_equal(&s->addr, &e->addr);
	int w = entry_weight(be, e);
	char abuf[80], *nstr = NULL;

	if (!weight_changed || s->iweight == w)
		weight_changed = false;
	if (!addr_changed && !weight_changed)
		return;
	if (addr_changed) {
		lbd_addr_str(&e->addr, abuf, sizeof(abuf));
		nstr = strdup(abuf);
		if (!nstr) {
			lb_err("discovery: %s/%s: cannot change the address: out of memory",
			       be->name, s->name);
			return;
		}
	}
	pthread_mutex_lock(&be->lock);
	if (addr_changed) {
		char **g = realloc(graveyard, (ngraveyard + 1) * sizeof(*g));

		s->addr = e->addr;
		s->addrlen = e->addrlen;
		if (g) {
			graveyard = g;
			graveyard[ngraveyard++] = s->addr_str;
		}
		s->addr_str = nstr;
	}
	if (weight_changed)
		s->weight = s->iweight = w;
	s->last_change = now_ms();
	backend_recalc(be);
	pthread_mutex_unlock(&be->lock);
	if (addr_changed)
		health_server_changed(s);
	lb_log(quiet ? LB_LOG_INFO : LB_LOG_NOTICE,
	       "discovery: server %s/%s updated: address %s, weight %d (key '%s')", be->name,
	       s->name, s->addr_str, s->weight, e->key);
}

static void srv_remove(struct proxy *be, struct server *s, const char *why, bool quiet)
{
	char name[512];

	snprintf(name, sizeof(name), "%s/%s", be->name, s->name);
	lb_log(quiet ? LB_LOG_INFO : LB_LOG_NOTICE,
	       "discovery: server %s removed (%s); its open connections finish", name, why);
	health_server_removed(s);
	pthread_mutex_lock(&be->lock);
	backend_del_server(be, s);
	pthread_mutex_unlock(&be->lock);
}

/* A name was freed: an entry skipped because of it may take it now. */
static void retry_name(struct disc_source *src, struct proxy *be, const char *name)
{
	for (int i = 0; i < src->nents; i++) {
		struct disc_entry *e = src->ents[i];

		if (e->valid && !e->applied && e->name && !strcmp(e->name, name)) {
			srv_add(src, be, e, false);
			return;
		}
	}
}

/*
 * Make be's discovered servers match the entries: remove those without a
 * usable entry (only when the entries are complete), update the others, add
 * the missing ones.
 */
static void reconcile(struct disc_source *src, struct proxy *be, bool quiet)
{
	bool complete = src->synced || src->from_state;
	struct server *s, *tmp;
	struct disc_entry *e;

	for (int i = 0; i < src->nents; i++)
		src->ents[i]->applied = false;
	list_for_each_safe(s, tmp, &be->servers, list) {
		if (s->origin != SRV_ORIGIN_ETCD || s->removed)
			continue;
		e = s->origin_key ? ent_find(src, s->origin_key) : NULL;
		if (!e || !e->valid || !e->name || strcmp(e->name, s->name)) {
			if (complete)
				srv_remove(be, s, "no longer registered", quiet);
			continue;
		}
		srv_update(be, s, e, true, quiet);
		e->applied = true;
	}
	for (int i = 0; i < src->nents; i++) {
		e = src->ents[i];
		if (e->valid && !e->applied)
			srv_add(src, be, e, quiet);
	}
}

/* Set an entry from a usable value and apply it. */
/* The entry of key, made (with its server name) if new; NULL when the key is unusable. */
static struct disc_entry *ent_named(struct disc_source *src, const char *key)
{
	struct disc_entry *e = ent_find(src, key);
	size_t plen = strlen(src->cfg->prefix);

	if (!e || !e->name) {
		char *name = NULL;

		if (strncmp(key, src->cfg->prefix, plen)) {
			lb_warn("discovery: backend '%s': key '%s' skipped: outside prefix '%s'",
				src->be_name, key, src->cfg->prefix);
			src->nskipped++;
			return NULL;
		}
		name = disc_server_name(key + plen, strlen(key + plen));
		if (!name) {
			lb_warn("discovery: backend '%s': key '%s' skipped: no usable instance id "
				"after the prefix",
				src->be_name, key);
			src->nskipped++;
			return NULL;
		}
		if (!e)
			e = ent_insert(src, key);
		if (!e) {
			free(name);
			lb_err("discovery: backend '%s': key '%s' dropped: out of memory",
			       src->be_name, key);
			return NULL;
		}
		e->name = name;
	}
	return e;
}

static void ent_set(struct disc_source *src, const char *key, const struct disc_value *v,
		    int64_t rev)
{
	struct disc_entry *e = ent_named(src, key);
	int old_weight;
	bool was_valid;
	struct proxy *be;
	struct server *s;

	if (!e)
		return;
	e->resolving = 0; /* a name resolution still running for an older value is void */
	if (src->in_sync)
		e->seen = src->sync_gen;
	e->mod_rev = rev;
	was_valid = e->valid;
	old_weight = e->weight;
	if (was_valid && lbd_addr_equal(&e->addr, &v->addr) && old_weight == v->weight)
		return; /* nothing changed (a re-list, or a put of the same value) */
	e->addr = v->addr;
	e->addrlen = v->addrlen;
	e->weight = v->weight;
	e->valid = true;
	schedule_save();
	be = src_backend(src);
	if (!be)
		return;
	s = entry_server(be, e);
	if (s) {
		srv_update(be, s, e, !was_valid || old_weight != v->weight, src->in_sync);
		e->applied = true;
	} else {
		srv_add(src, be, e, src->in_sync);
	}
}

/*
 * A value with a host name: the entry counts as reported (a listing keeps
 * it) while the resolver thread looks the name up; the server is added or
 * updated when the answer comes (disc_resolved), unless the key changed or
 * went away meanwhile. Until then a server the key already had keeps its
 * address.
 */
static void ent_resolve(struct disc_source *src, const char *key, const struct disc_value *v,
			int64_t rev)
{
	static uint64_t seq;
	struct disc_entry *e = ent_named(src, key);

	if (!e)
		return;
	if (src->in_sync)
		e->seen = src->sync_gen;
	e->mod_rev = rev;
	e->resolving = ++seq;
	if (disc_dns_submit(src, key, v, rev, e->resolving) < 0) {
		e->resolving = 0;
		src->nskipped++;
		lb_warn("discovery: backend '%s': key '%s' skipped: cannot queue the resolution of '%s'",
			src->be_name, key, v->host);
	}
}

void disc_resolved(struct disc_source *src, uint64_t serial, const char *key, uint64_t id,
		   int64_t rev, const char *host, int weight, const struct sockaddr_storage *addr,
		   socklen_t addrlen, int gai)
{
	struct disc_source *it;
	struct disc_entry *e;
	struct disc_value v;
	bool found = false;

	list_for_each(it, &sources, list) {
		if (it == src && it->serial == serial) {
			found = true;
			break;
		}
	}
	if (!found)
		return; /* the source stopped (reload, exit) */
	e = ent_find(src, key);
	if (!e || e->resolving != id)
		return; /* the key changed or went away meanwhile */
	e->resolving = 0;
	if (gai) {
		src->nskipped++;
		lb_warn("discovery: backend '%s': key '%s' skipped: cannot resolve '%s': %s",
			src->be_name, key, host, gai_strerror(gai));
		return;
	}
	memset(&v, 0, sizeof(v));
	v.addr = *addr;
	v.addrlen = addrlen;
	v.weight = weight;
	lb_info("discovery: backend '%s': key '%s': '%s' resolved", src->be_name, key, host);
	ent_set(src, key, &v, rev);
}

void disc_put(struct disc_source *src, const char *key, const char *val, size_t len, int64_t rev)
{
	struct disc_entry *e = ent_find(src, key);
	struct disc_value v;
	const char *why = NULL;

	src->nputs++;
	if (disc_parse_value(val, len, &v, &why) < 0) {
		src->nskipped++;
		/* A re-list reports the same bad value again: it was logged already. */
		if (!e || !rev || e->mod_rev != rev)
			lb_warn("discovery: backend '%s': key '%s' skipped: %s", src->be_name, key,
				why);
		if (!e)
			e = ent_insert(src, key); /* remembered without a server */
		if (e) {
			e->mod_rev = rev;
			if (src->in_sync)
				e->seen = src->sync_gen;
		}
		return;
	}
	if (v.host[0])
		ent_resolve(src, key, &v, rev);
	else
		ent_set(src, key, &v, rev);
}

static void ent_drop(struct disc_source *src, struct disc_entry *e, const char *why, bool quiet)
{
	struct proxy *be = src_backend(src);
	struct server *s = be && e->valid ? entry_server(be, e) : NULL;
	char *name = e->name ? strdup(e->name) : NULL;

	if (s)
		srv_remove(be, s, why, quiet);
	if (e->valid)
		schedule_save();
	ent_remove(src, e);
	if (s && name)
		retry_name(src, be, name);
	free(name);
}

void disc_del(struct disc_source *src, const char *key, int64_t rev)
{
	struct disc_entry *e = ent_find(src, key);

	src->ndels++;
	if (e)
		ent_drop(src, e, "deregistered", false);
}

void disc_sync_begin(struct disc_source *src)
{
	src->sync_gen++;
	src->in_sync = true;
	src->sync_before = 0;
	for (int i = 0; i < src->nents; i++)
		src->sync_before += src->ents[i]->valid;
}

void disc_sync_end(struct disc_source *src)
{
	struct proxy *be;
	int i, after = 0;

	for (i = src->nents - 1; i >= 0; i--) {
		struct disc_entry *e = src->ents[i];

		if (e->seen != src->sync_gen)
			ent_drop(src, e, "not registered any more", true);
	}
	src->in_sync = false;
	src->synced = true;
	src->from_state = false;
	be = src_backend(src);
	if (be)
		reconcile(src, be, true);
	for (i = 0; i < src->nents; i++)
		after += src->ents[i]->valid;
	lb_notice("discovery: backend '%s': %d server(s) registered under '%s' (%d before)",
		  src->be_name, after, src->cfg->prefix, src->sync_before);
	schedule_save();
}

/* ---- state file ---- */

static json_t *state_section(const char *be_name, const char *prefix, const char *source)
{
	json_t *arr = json_object_get(state_old, "sources"), *it;
	size_t i;

	json_array_foreach(arr, i, it)
	{
		const char *b = json_string_value(json_object_get(it, "backend"));
		const char *p = json_string_value(json_object_get(it, "prefix"));
		const char *s = json_string_value(json_object_get(it, "source"));

		if (b && p && s && !strcmp(b, be_name) && !strcmp(p, prefix) && !strcmp(s, source))
			return it;
	}
	return NULL;
}

static void state_load_into(struct disc_source *src)
{
	json_t *sec, *arr, *it;
	struct proxy *be;
	size_t i;
	int n = 0;

	src->state_tried = true;
	if (!state_old)
		return;
	sec = state_section(src->be_name, src->cfg->prefix, src->cfg->ops->name);
	if (!sec)
		return;
	arr = json_object_get(sec, "servers");
	json_array_foreach(arr, i, it)
	{
		const char *key = json_string_value(json_object_get(it, "key"));
		const char *ip = json_string_value(json_object_get(it, "addr"));
		json_t *p = json_object_get(it, "port"), *w = json_object_get(it, "weight");
		struct disc_value v = { .weight = -1 };

		if (!key || !ip || !json_is_integer(p) || json_integer_value(p) < 1 ||
		    json_integer_value(p) > 65535 || parse_ip(ip, &v.addr, &v.addrlen) < 0)
			continue;
		set_port(&v.addr, (int)json_integer_value(p));
		if (json_is_integer(w) && json_integer_value(w) >= 0 &&
		    json_integer_value(w) <= 256)
			v.weight = (int)json_integer_value(w);
		ent_set(src, key, &v, 0);
		n++;
	}
	src->from_state = true;
	be = src_backend(src);
	if (be)
		reconcile(src, be, true);
	lb_notice("discovery: backend '%s': starting from the %d server(s) saved in '%s'",
		  src->be_name, n, state_path);
}

static json_t *state_of_source(const struct disc_source *src)
{
	json_t *sec = json_object(), *arr = json_array();

	if (!sec || !arr)
		goto fail;
	json_object_set_new(sec, "backend", json_string(src->be_name));
	json_object_set_new(sec, "source", json_string(src->cfg->ops->name));
	json_object_set_new(sec, "prefix", json_string(src->cfg->prefix));
	for (int i = 0; i < src->nents; i++) {
		const struct disc_entry *e = src->ents[i];
		char ip[INET6_ADDRSTRLEN];
		json_t *o;
		int port;

		if (!e->valid)
			continue;
		lbd_addr_ip_port(&e->addr, ip, sizeof(ip), &port);
		o = json_pack("{s:s, s:s, s:i}", "key", e->key, "addr", ip, "port", port);
		if (!o)
			goto fail;
		if (e->weight >= 0)
			json_object_set_new(o, "weight", json_integer(e->weight));
		json_array_append_new(arr, o);
	}
	json_object_set_new(sec, "servers", arr);
	return sec;
fail:
	json_decref(sec);
	json_decref(arr);
	return NULL;
}

int discovery_save_state(void)
{
	struct disc_source *src;
	json_t *root, *arr;
	char *tmp = NULL;
	int ret = 0;

	save_pending = false;
	if (!state_path)
		return 0;
	root = json_object();
	arr = json_array();
	if (!root || !arr) {
		json_decref(root);
		json_decref(arr);
		return -ENOMEM;
	}
	json_object_set_new(root, "version", json_integer(DISC_STATE_VERSION));
	json_object_set_new(root, "sources", arr);
	list_for_each(src, &sources, list) {
		json_t *sec = NULL;

		if (src->synced || src->from_state) {
			sec = state_of_source(src);
		} else {
			/* Never listed yet: keep what the file had for it. */
			sec = state_section(src->be_name, src->cfg->prefix, src->cfg->ops->name);
			json_incref(sec);
		}
		if (sec)
			json_array_append_new(arr, sec);
	}
	if (asprintf(&tmp, "%s.tmp.%d", state_path, (int)getpid()) < 0) {
		tmp = NULL;
		ret = -ENOMEM;
	} else if (json_dump_file(root, tmp, JSON_INDENT(1) | JSON_PRESERVE_ORDER) < 0 ||
		   rename(tmp, state_path) < 0) {
		ret = errno ? -errno : -EIO;
		unlink(tmp);
	}
	json_decref(root);
	free(tmp);
	if (ret < 0 && !state_err_logged) {
		lb_err("discovery: cannot write the state file '%s': %s", state_path,
		       strerror(-ret));
		state_err_logged = true;
	} else if (ret == 0) {
		state_err_logged = false;
	}
	return ret;
}

static void save_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	discovery_save_state();
}

static void state_open(const char *path)
{
	json_error_t jerr;

	free(state_path);
	state_path = path ? strdup(path) : NULL;
	json_decref(state_old);
	state_old = NULL;
	if (!state_path || access(state_path, F_OK))
		return;
	state_old = json_load_file(state_path, 0, &jerr);
	if (!state_old ||
	    json_integer_value(json_object_get(state_old, "version")) != DISC_STATE_VERSION) {
		lb_warn("discovery: ignoring the state file '%s': %s", state_path,
			state_old ? "unknown version" : jerr.text);
		json_decref(state_old);
		state_old = NULL;
	}
}

/* ---- online / offline ---- */

void disc_set_online(struct disc_source *src, bool online, const char *detail)
{
	if (online) {
		if (src->outage_logged)
			lb_notice("discovery: backend '%s': %s reachable again (%s)", src->be_name,
				  src->cfg->ops->name, detail ? detail : "");
		src->outage_logged = false;
		src->online = true;
		return;
	}
	src->online = false;
	if (!src->outage_logged) {
		int n = 0;

		for (int i = 0; i < src->nents; i++)
			n += src->ents[i]->valid;
		lb_warn("discovery: backend '%s': %s unreachable (%s); keeping the %d known "
			"server(s), retrying",
			src->be_name, src->cfg->ops->name, detail ? detail : "", n);
		src->outage_logged = true;
	}
	if (!src->synced && !src->from_state && !src->state_tried)
		state_load_into(src);
}

/* ---- sources ---- */

static struct disc_source *src_new(const char *be_name, struct disc_cfg *dc)
{
	static uint64_t serials;
	struct disc_source *src = calloc(1, sizeof(*src));
	int rc;

	if (!src || !(src->be_name = strdup(be_name))) {
		free(src);
		lb_err("discovery: backend '%s': out of memory", be_name);
		return NULL;
	}
	disc_cfg_get(dc);
	src->cfg = dc;
	src->serial = ++serials;
	list_add_tail(&src->list, &sources);
	rc = dc->ops->start(src);
	if (rc < 0)
		lb_err("%s:%d: discovery: backend '%s': cannot start the %s source: %s",
		       dc->loc.file, dc->loc.line, be_name, dc->ops->name, strerror(-rc));
	else
		lb_notice("discovery: backend '%s': watching %s prefix '%s'", be_name,
			  dc->ops->name, dc->prefix);
	return src;
}

static void src_free(struct disc_source *src)
{
	src->cfg->ops->stop(src);
	list_del(&src->list);
	for (int i = 0; i < src->nents; i++)
		ent_free(src->ents[i]);
	free(src->ents);
	disc_cfg_put(src->cfg);
	free(src->be_name);
	free(src);
}

struct disc_source *discovery_find(const char *be_name)
{
	struct disc_source *src;

	list_for_each(src, &sources, list)
		if (!strcmp(src->be_name, be_name))
			return src;
	return NULL;
}

static void model_watch_cb(struct ev_loop *loop, ev_check *w, int revents)
{
	if (lbd.m && lbd.m != cur_model)
		discovery_reload(&lbd, lbd.m);
}

int discovery_start(struct lbd *d)
{
	struct proxy *px;

	if (running)
		return 0;
	running = true;
	cur_model = d->m;
	state_open(d->m->global.state_file);
	ev_check_init(&model_watch, model_watch_cb);
	ev_check_start(d->loop, &model_watch);
	ev_unref(d->loop);
	ev_timer_init(&save_timer, save_cb, DISC_SAVE_DELAY, 0.);
	list_for_each(px, &d->m->proxies, list)
		if ((px->cap & PX_CAP_BE) && px->discovery)
			src_new(px->name, px->discovery);
	return 0;
}

void discovery_stop(void)
{
	struct disc_source *src, *tmp;

	if (!running)
		return;
	if (save_pending)
		discovery_save_state();
	list_for_each_safe(src, tmp, &sources, list)
		src_free(src);
	ev_ref(lbd.loop);
	ev_check_stop(lbd.loop, &model_watch);
	ev_timer_stop(lbd.loop, &save_timer);
	json_decref(state_old);
	state_old = NULL;
	free(state_path);
	state_path = NULL;
	save_pending = false;
	cur_model = NULL;
	running = false;
}

void discovery_reload(struct lbd *d, struct model *nm)
{
	struct disc_source *src, *tmp;
	struct server *s, *stmp;
	struct proxy *px;
	bool save = false;

	if (!running || !nm || nm == cur_model)
		return;
	cur_model = nm;
	if ((state_path == NULL) != (nm->global.state_file == NULL) ||
	    (state_path && strcmp(state_path, nm->global.state_file))) {
		if (save_pending)
			discovery_save_state();
		state_open(nm->global.state_file);
		save = true;
	}
	/* Sources whose backend or line is gone stop. */
	list_for_each_safe(src, tmp, &sources, list) {
		struct proxy *be = model_find_backend(nm, src->be_name);
		struct disc_cfg *dc = be ? be->discovery : NULL;

		if (!dc || dc->ops != src->cfg->ops || strcmp(dc->text, src->cfg->text)) {
			lb_notice("discovery: backend '%s': %s source stopped by the reload",
				  src->be_name, src->cfg->ops->name);
			src_free(src);
		}
	}
	list_for_each(px, &nm->proxies, list) {
		if (!(px->cap & PX_CAP_BE))
			continue;
		if (!px->discovery) {
			/* Servers discovered for a backend that lost its source go with it. */
			list_for_each_safe(s, stmp, &px->servers, list)
				if (s->origin == SRV_ORIGIN_ETCD && !s->removed)
					srv_remove(px, s, "the backend has no discovery any more",
						   false);
			continue;
		}
		src = discovery_find(px->name);
		if (src)
			reconcile(src, px, false);
		else
			src_new(px->name, px->discovery);
	}
	if (save)
		schedule_save();
}

/* ---- runtime API ---- */

static void cmd_show_discovery(struct api_req *r, char **args, int nargs)
{
	struct disc_source *src;

	sbuf_puts(r->out, "# backend,source,prefix,state,synced,entries,servers,skipped,puts,dels,"
			  "detail\n");
	list_for_each(src, &sources, list) {
		struct proxy *be = src_backend(src);
		int valid = 0, nsrv = 0;
		char detail[256] = "";
		struct server *s;

		for (int i = 0; i < src->nents; i++)
			valid += src->ents[i]->valid;
		if (be)
			list_for_each(s, &be->servers, list)
				nsrv += s->origin == SRV_ORIGIN_ETCD && !s->removed;
		if (src->cfg->ops->describe)
			src->cfg->ops->describe(src, detail, sizeof(detail));
		sbuf_printf(r->out, "%s,%s,%s,%s,%s,%d,%d,%llu,%llu,%llu,%s\n", src->be_name,
			    src->cfg->ops->name, src->cfg->prefix,
			    src->online ? "online" : "offline",
			    src->synced	    ? "yes" :
			    src->from_state ? "state-file" :
					      "no",
			    valid, nsrv, (unsigned long long)src->nskipped,
			    (unsigned long long)src->nputs, (unsigned long long)src->ndels, detail);
	}
}

static const struct api_cmd discovery_cmds[] = {
	{ { "show", "discovery" },
	  API_LVL_USER,
	  "show discovery",
	  "discovery sources: state, revision, servers found (lbd)",
	  cmd_show_discovery },
	{ { NULL } },
};
API_REGISTER(discovery_cmds);
