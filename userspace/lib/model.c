// SPDX-License-Identifier: MIT
/*
 * The in-memory model: allocation, defaults, inheritance from `defaults`
 * sections, server lifetime (reference counted: a connection may outlive the
 * server's removal) and the backend pool the algorithms work on.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "algo.h"
#include "cfg.h"
#include "cfg_lex.h"
#include "model.h"
#include "http_proxy.h"
#include "acl.h"

/* Default settings of a server without `default-server`, as HAProxy. */
#define SRV_DEF_WEIGHT 1
#define SRV_DEF_INTER 2000
#define SRV_DEF_RISE 2
#define SRV_DEF_FALL 3

/* The change hook: the XDP tier follows every pool rebuild through it. */
static backend_change_fn change_hook;
static void *change_hook_arg;

void model_set_change_hook(backend_change_fn fn, void *arg)
{
	change_hook = fn;
	change_hook_arg = arg;
}

static char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* Replace *dst by a copy of src; -1 on ENOMEM (dst unchanged then). */
static int dup_str(char **dst, const char *src)
{
	char *n = NULL;

	if (src) {
		n = strdup(src);
		if (!n)
			return -1;
	}
	free(*dst);
	*dst = n;
	return 0;
}

/* ---- Model ---- */

struct model *model_new(void)
{
	struct model *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	list_init(&m->proxies);
	list_init(&m->global.stats_sockets);
	list_init(&m->global.logs);
	m->global.maxconn = 4096;
	m->global.uid = -1;
	m->global.gid = -1;
	m->global.stats_timeout = 10000;
	m->global.tune_bufsize = 16384;
	m->global.tune_maxhdr = 101;
	m->global.xdp_mode = 0; /* native only: generic only when asked (xlb-xdp-mode) */
	m->global.bpf_pin_root = strdup("/sys/fs/bpf/xlb");
	if (!m->global.bpf_pin_root) {
		free(m);
		return NULL;
	}
	m->next_srv_id = 1;
	m->refcnt = 1;
	return m;
}

const char *model_intern_file(struct model *m, const char *file)
{
	char **files;
	int i;

	if (!m || !file)
		return NULL;
	for (i = 0; i < m->nfiles; i++) {
		if (!strcmp(m->files[i], file))
			return m->files[i];
	}
	files = realloc(m->files, (m->nfiles + 1) * sizeof(*files));
	if (!files)
		return NULL;
	m->files = files;
	files[m->nfiles] = strdup(file);
	if (!files[m->nfiles])
		return NULL;
	return files[m->nfiles++];
}

void log_target_free(struct log_target *lt)
{
	if (!lt)
		return;
	free(lt->target);
	free(lt->facility);
	free(lt->level);
	free(lt->format);
	free(lt->minlevel);
	free(lt);
}

void logs_free(struct list_head *logs)
{
	struct log_target *lt, *tmp;

	list_for_each_safe(lt, tmp, logs, list) {
		list_del(&lt->list);
		log_target_free(lt);
	}
}

void model_free(struct model *m)
{
	struct stats_socket *ss, *sst;
	struct proxy *px, *tmp;
	struct global *g;
	int i;

	if (!m)
		return;
	list_for_each_safe(px, tmp, &m->proxies, list)
		proxy_free(px);
	g = &m->global;
	list_for_each_safe(ss, sst, &g->stats_sockets, list) {
		list_del(&ss->list);
		free(ss->path);
		free(ss);
	}
	logs_free(&g->logs);
	free(g->pidfile);
	free(g->user);
	free(g->group);
	free(g->chroot);
	free(g->ca_base);
	free(g->crt_base);
	free(g->ssl_bind_ciphers);
	free(g->ssl_bind_ciphersuites);
	free(g->ssl_bind_options);
	free(g->ssl_server_ciphers);
	free(g->ssl_server_options);
	free(g->ssl_server_ciphersuites);
	free(g->ssl_dh_param_file);
	free(g->xdp_ifaces);
	free(g->bpf_pin_root);
	free(g->state_file);
	free(g->node);
	free(g->description);
	for (i = 0; i < m->nfiles; i++)
		free(m->files[i]);
	free(m->files);
	free(m);
}

/* ---- Servers ---- */

static struct server *srv_alloc(struct proxy *be, const char *name)
{
	struct server *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->name = strdup(name ? name : "");
	if (!s->name) {
		free(s);
		return NULL;
	}
	list_init(&s->list);
	s->be = be;
	s->weight = SRV_DEF_WEIGHT;
	s->iweight = SRV_DEF_WEIGHT;
	s->check.inter = SRV_DEF_INTER;
	s->check.rise = SRV_DEF_RISE;
	s->check.fall = SRV_DEF_FALL;
	s->admin = SRV_ADMIN_READY;
	s->chk_state = SRV_CHK_UP;
	s->origin = SRV_ORIGIN_CONFIG;
	s->refcnt = 1;
	return s;
}

int (*server_prepare_hook)(struct proxy *be, struct server *s, char **err);
void (*server_release_hook)(struct server *s);

static void srv_destroy(struct server *s)
{
	if (s->tls_own && server_release_hook)
		server_release_hook(s);
	free(s->name);
	free(s->addr_str);
	free(s->cookie);
	free(s->origin_key);
	free(s->last_chk);
	free(s->ca_file);
	free(s->crt);
	free(s->sni);
	free(s);
}

/* Copy what `default-server` sets from src to dst. -1 on ENOMEM. */
static int srv_copy_settings(struct server *dst, const struct server *src)
{
	dst->weight = src->weight;
	dst->iweight = src->iweight;
	dst->maxconn = src->maxconn;
	dst->minconn = src->minconn;
	dst->backup = src->backup;
	dst->check = src->check;
	dst->admin = src->admin;
	dst->ssl = src->ssl;
	dst->verify_none = src->verify_none;
	if (dup_str(&dst->ca_file, src->ca_file) < 0 || dup_str(&dst->crt, src->crt) < 0 ||
	    dup_str(&dst->sni, src->sni) < 0)
		return -1;
	return 0;
}

struct server *server_new(struct proxy *be, const char *name)
{
	struct server *s;

	if (!be || !name) {
		errno = EINVAL;
		return NULL;
	}
	s = srv_alloc(be, name);
	if (!s)
		return NULL;
	if (be->defsrv && srv_copy_settings(s, be->defsrv) < 0) {
		srv_destroy(s);
		errno = ENOMEM;
		return NULL;
	}
	return s;
}

void server_get(struct server *s)
{
	if (s)
		__atomic_add_fetch(&s->refcnt, 1, __ATOMIC_RELAXED);
}

void server_put(struct server *s)
{
	if (s && __atomic_sub_fetch(&s->refcnt, 1, __ATOMIC_ACQ_REL) == 0)
		srv_destroy(s);
}

struct server *backend_find_server(struct proxy *be, const char *name)
{
	struct server *s;

	if (!be || !name)
		return NULL;
	list_for_each(s, &be->servers, list) {
		if (!strcmp(s->name, name))
			return s;
	}
	return NULL;
}

/* The stable key of a server for Maglev: hash of "backend/server". */
static uint32_t srv_hash_key(const struct proxy *be, const struct server *s)
{
	size_t bl = strlen(be->name ? be->name : ""), sl = strlen(s->name);
	char buf[256], *p = buf;
	uint32_t h;

	if (bl + sl + 2 > sizeof(buf)) {
		p = malloc(bl + sl + 2);
		if (!p)
			return lb_hash_bytes(s->name, sl);
	}
	memcpy(p, be->name ? be->name : "", bl);
	p[bl] = '/';
	memcpy(p + bl + 1, s->name, sl);
	h = lb_hash_bytes(p, bl + 1 + sl);
	if (p != buf)
		free(p);
	return h ? h : 1; /* 0 means "not computed" */
}

int backend_add_server(struct proxy *be, struct server *s)
{
	struct server *o;
	uint32_t max = 0;

	if (!be || !s || !s->name || !(be->cap & PX_CAP_BE))
		return -EINVAL;
	if (backend_find_server(be, s->name))
		return -EEXIST;
	list_for_each(o, &be->servers, list) {
		if (o->puid > max)
			max = o->puid;
		if (s->puid && o->puid == s->puid)
			return -EEXIST;
	}
	if (!s->id && be->m)
		s->id = be->m->next_srv_id++;
	if (!s->puid)
		s->puid = max + 1;
	if (s->puid >= be->next_puid)
		be->next_puid = s->puid + 1;
	if (!s->hash_key)
		s->hash_key = srv_hash_key(be, s);
	if (!s->check.fastinter)
		s->check.fastinter = s->check.inter;
	if (!s->check.downinter)
		s->check.downinter = s->check.inter;
	s->be = be;
	s->removed = false;
	list_add_tail(&s->list, &be->servers);
	be->nservers++;
	backend_recalc(be);
	return 0;
}

int backend_del_server(struct proxy *be, struct server *s)
{
	if (!be || !s)
		return -EINVAL;
	if (s->be != be || s->removed)
		return -ENOENT;
	list_del(&s->list);
	s->removed = true;
	be->nservers--;
	backend_recalc(be);
	server_put(s);
	return 0;
}

struct server *model_find_server(const struct model *m, const char *be_slash_srv)
{
	const char *slash;
	struct proxy *be;
	struct server *s;
	char *bname;

	if (!m || !be_slash_srv || !(slash = strchr(be_slash_srv, '/'))) {
		errno = ENOENT;
		return NULL;
	}
	bname = strndup(be_slash_srv, slash - be_slash_srv);
	if (!bname)
		return NULL;
	be = model_find_backend(m, bname);
	free(bname);
	s = be ? backend_find_server(be, slash + 1) : NULL;
	if (!s)
		errno = ENOENT;
	return s;
}

bool server_usable(const struct server *s)
{
	return s && !s->removed && s->admin == SRV_ADMIN_READY && s->chk_state == SRV_CHK_UP &&
	       s->weight > 0;
}

const char *server_state_str(const struct server *s)
{
	if (!s)
		return "?";
	if (s->admin == SRV_ADMIN_MAINT)
		return "MAINT";
	if (s->chk_state == SRV_CHK_DOWN)
		return "DOWN";
	if (s->admin == SRV_ADMIN_DRAIN)
		return "DRAIN";
	if (s->weight <= 0)
		return "NOLB";
	return "UP";
}

const char *srv_origin_str(enum srv_origin o)
{
	switch (o) {
	case SRV_ORIGIN_CONFIG:
		return "config";
	case SRV_ORIGIN_API:
		return "api";
	case SRV_ORIGIN_ETCD:
		return "etcd";
	}
	return "?";
}

const char *px_mode_str(enum px_mode m)
{
	return m == PX_MODE_HTTP ? "http" : "tcp";
}

/* ---- Pool ---- */

void backend_recalc(struct proxy *be)
{
	struct lb_pool *pool;
	struct server *s;
	int n = 0;

	if (!be)
		return;
	pool = be->pool;
	if (!pool) {
		pool = calloc(1, sizeof(*pool));
		if (!pool)
			return;
		be->pool = pool;
	}
	free(pool->srv);
	pool->srv = calloc(be->nservers > 0 ? be->nservers : 1, sizeof(*pool->srv));
	pool->n = 0;
	pool->tot_weight = 0;
	pool->backup = false;
	if (pool->srv) {
		list_for_each(s, &be->servers, list) {
			if (n < be->nservers && !s->backup && server_usable(s))
				pool->srv[n++] = s;
		}
		if (!n) {
			list_for_each(s, &be->servers, list) {
				if (n >= be->nservers || !s->backup || !server_usable(s))
					continue;
				pool->srv[n++] = s;
				if (!(be->options & PX_OPT_ALLBACKUPS))
					break;
			}
			pool->backup = n > 0;
		}
		pool->n = n;
		while (n--)
			pool->tot_weight += (uint32_t)pool->srv[n]->weight;
	}
	if (be->algo && be->algo->rebuild)
		be->algo->rebuild(be);
	if (change_hook)
		change_hook(be, change_hook_arg);
}

/* ---- Proxies ---- */

struct proxy *proxy_new(struct model *m, const char *name, unsigned cap)
{
	struct proxy *px = calloc(1, sizeof(*px));

	if (!px)
		return NULL;
	px->name = strdup(name ? name : "");
	if (!px->name)
		goto err_px;
	px->cap = cap;
	px->m = m;
	px->mode = PX_MODE_TCP;
	px->retries = 3;
	px->fwd = FWD_FULLNAT;
	px->hash_type = HASH_MAP_BASED;
	px->next_puid = 1;
	list_init(&px->list);
	list_init(&px->binds);
	list_init(&px->acls);
	list_init(&px->switch_rules);
	list_init(&px->http_req_rules);
	list_init(&px->http_rsp_rules);
	list_init(&px->tcp_req_rules);
	list_init(&px->logs);
	list_init(&px->servers);
	list_init(&px->http_check_rules);
	if (cap & (PX_CAP_BE | PX_CAP_DEF)) {
		px->algo = lb_algo_find("roundrobin");
		px->defsrv = srv_alloc(px, "default-server");
		if (!px->defsrv)
			goto err_name;
	}
	if (pthread_mutex_init(&px->lock, NULL))
		goto err_defsrv;
	if (m && (cap & (PX_CAP_FE | PX_CAP_BE)))
		list_add_tail(&px->list, &m->proxies);
	return px;
err_defsrv:
	if (px->defsrv)
		srv_destroy(px->defsrv);
err_name:
	free(px->name);
err_px:
	free(px);
	errno = ENOMEM;
	return NULL;
}

void cond_free(struct cond *c)
{
	if (!c)
		return;
	cfg_words_free(c->words);
	free(c);
}

static void rules_free(struct list_head *rules)
{
	struct px_rule *r, *tmp;

	list_for_each_safe(r, tmp, rules, list) {
		list_del(&r->list);
		free(r->kw);
		cfg_words_free(r->args);
		cond_free(r->cond);
		free(r);
	}
}

void proxy_free(struct proxy *px)
{
	struct switch_rule *sr, *srt;
	struct acl_def *acl, *aclt;
	struct server *s, *st;
	struct bind *b, *bt;
	struct px_rule *r;
	int i;

	if (!px)
		return;
	/* tcp-request conditions (compiled by cfg.c) point to the ACLs freed below. */
	list_for_each(r, &px->tcp_req_rules, list) {
		if (r->cond) {
			acl_cond_free(r->cond->compiled);
			r->cond->compiled = NULL;
		}
	}
	l7_free_proxy(px); /* compiled ACLs, rules, TLS contexts */
	list_del(&px->list);
	if (px->algo && px->algo->destroy && px->algo_state)
		px->algo->destroy(px);
	if (px->discovery_free)
		px->discovery_free(px->discovery);
	list_for_each_safe(b, bt, &px->binds, list) {
		list_del(&b->list);
		free(b->crt);
		free(b->name);
		free(b->label);
		free(b->alpn);
		free(b);
	}
	list_for_each_safe(acl, aclt, &px->acls, list) {
		list_del(&acl->list);
		free(acl->name);
		cfg_words_free(acl->args);
		free(acl);
	}
	list_for_each_safe(sr, srt, &px->switch_rules, list) {
		list_del(&sr->list);
		free(sr->be_name);
		cond_free(sr->cond);
		free(sr);
	}
	rules_free(&px->http_req_rules);
	rules_free(&px->http_rsp_rules);
	rules_free(&px->tcp_req_rules);
	rules_free(&px->http_check_rules);
	logs_free(&px->logs);
	list_for_each_safe(s, st, &px->servers, list) {
		list_del(&s->list);
		s->removed = true;
		server_put(s);
	}
	if (px->defsrv)
		server_put(px->defsrv);
	for (i = 0; i < px->nerrorfiles; i++) {
		free(px->errorfiles[i].path);
		free(px->errorfiles[i].body);
	}
	if (px->pool) {
		free(px->pool->srv);
		free(px->pool);
	}
	free(px->name);
	free(px->default_backend_name);
	free(px->forwardfor_header);
	free(px->forwardfor_except);
	free(px->algo_arg);
	free(px->hash_fn);
	free(px->httpchk_method);
	free(px->httpchk_uri);
	free(px->httpchk_version);
	free(px->description);
	free(px->log_format);
	free(px->unique_id_format);
	free(px->unique_id_header);
	for (int i = 0; i < px->nreq_caps; i++)
		free(px->req_caps[i].name);
	for (int i = 0; i < px->nrsp_caps; i++)
		free(px->rsp_caps[i].name);
	free(px->req_caps);
	free(px->rsp_caps);
	free(px->cookie_name);
	cfg_words_free(px->cookie_args);
	free(px->xdp_reason);
	free(px->stats.uri);
	free(px->stats.realm);
	cfg_words_free(px->stats.auth);
	free(px->stats.node);
	free(px->stats.desc);
	cfg_words_free(px->stats.scope);
	pthread_mutex_destroy(&px->lock);
	free(px);
}

static int logs_copy(struct list_head *dst, const struct list_head *src)
{
	struct log_target *lt, *n;

	list_for_each(lt, src, list) {
		n = calloc(1, sizeof(*n));
		if (!n)
			return -1;
		*n = *lt; /* the resolved fields; the strings are duplicated below */
		n->target = n->facility = n->level = n->format = n->minlevel = NULL;
		list_add_tail(&n->list, dst);
		if (dup_str(&n->target, lt->target) < 0 ||
		    dup_str(&n->facility, lt->facility) < 0 || dup_str(&n->level, lt->level) < 0 ||
		    dup_str(&n->format, lt->format) < 0 || dup_str(&n->minlevel, lt->minlevel) < 0)
			return -1;
	}
	return 0;
}

static struct cond *cond_dup(const struct cond *c)
{
	struct cond *n;

	if (!c)
		return NULL;
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->unless = c->unless;
	n->nwords = c->nwords;
	n->words = cfg_dup_words(c->words, c->nwords);
	if (!n->words) {
		free(n);
		return NULL;
	}
	return n;
}

static int rules_copy(struct list_head *dst, const struct list_head *src)
{
	struct px_rule *r, *n;

	list_for_each(r, src, list) {
		n = calloc(1, sizeof(*n));
		if (!n)
			return -1;
		list_add_tail(&n->list, dst);
		n->loc = r->loc;
		n->nargs = r->nargs;
		n->kw = xstrdup(r->kw);
		n->args = cfg_dup_words(r->args, r->nargs);
		if (!n->kw || !n->args)
			return -1;
		if (r->cond && !(n->cond = cond_dup(r->cond)))
			return -1;
	}
	return 0;
}

int proxy_inherit(struct proxy *px, const struct proxy *def)
{
	int i;

	if (!px || !def)
		return -EINVAL;
	px->mode = def->mode;
	px->disabled = def->disabled;
	px->maxconn = def->maxconn;
	px->fullconn = def->fullconn;
	px->retries = def->retries;
	px->options = def->options;
	px->to = def->to;
	px->log_global = def->log_global;
	px->forwardfor_if_none = def->forwardfor_if_none;
	px->algo = def->algo;
	px->algo_len = def->algo_len;
	px->algo_depth = def->algo_depth;
	px->algo_whole = def->algo_whole;
	px->algo_draws = def->algo_draws;
	px->hash_type = def->hash_type;
	px->hash_avalanche = def->hash_avalanche;
	px->fwd = def->fwd;
	px->source = def->source;
	px->default_backend_loc = def->default_backend_loc;
	px->log_format_loc = def->log_format_loc;
	px->unique_id_format_loc = def->unique_id_format_loc;
	if (dup_str(&px->forwardfor_header, def->forwardfor_header) < 0 ||
	    dup_str(&px->forwardfor_except, def->forwardfor_except) < 0 ||
	    dup_str(&px->default_backend_name, def->default_backend_name) < 0 ||
	    dup_str(&px->algo_arg, def->algo_arg) < 0 || dup_str(&px->hash_fn, def->hash_fn) < 0 ||
	    dup_str(&px->httpchk_method, def->httpchk_method) < 0 ||
	    dup_str(&px->httpchk_uri, def->httpchk_uri) < 0 ||
	    dup_str(&px->httpchk_version, def->httpchk_version) < 0 ||
	    dup_str(&px->log_format, def->log_format) < 0 ||
	    dup_str(&px->unique_id_format, def->unique_id_format) < 0 ||
	    dup_str(&px->unique_id_header, def->unique_id_header) < 0 ||
	    dup_str(&px->cookie_name, def->cookie_name) < 0)
		return -ENOMEM;
	if (def->cookie_args) {
		int n = 0;

		while (def->cookie_args[n])
			n++;
		cfg_words_free(px->cookie_args);
		px->cookie_args = cfg_dup_words(def->cookie_args, n);
		if (!px->cookie_args)
			return -ENOMEM;
	}
	if (def->stats.enabled) {
		const struct px_stats *ds = &def->stats;
		struct px_stats *st = &px->stats;
		int n;

		st->enabled = true;
		st->own = false;
		st->loc = ds->loc;
		st->refresh_s = ds->refresh_s;
		st->hide_version = ds->hide_version;
		st->show_legends = ds->show_legends;
		st->show_node = ds->show_node;
		st->show_desc = ds->show_desc;
		if (dup_str(&st->uri, ds->uri) < 0 || dup_str(&st->realm, ds->realm) < 0 ||
		    dup_str(&st->node, ds->node) < 0 || dup_str(&st->desc, ds->desc) < 0)
			return -ENOMEM;
		for (n = 0; ds->auth && ds->auth[n]; n++)
			;
		cfg_words_free(st->auth);
		st->auth = ds->auth ? cfg_dup_words(ds->auth, n) : NULL;
		for (n = 0; ds->scope && ds->scope[n]; n++)
			;
		cfg_words_free(st->scope);
		st->scope = ds->scope ? cfg_dup_words(ds->scope, n) : NULL;
		if ((ds->auth && !st->auth) || (ds->scope && !st->scope))
			return -ENOMEM;
	}
	if (logs_copy(&px->logs, &def->logs) < 0 ||
	    rules_copy(&px->http_check_rules, &def->http_check_rules) < 0)
		return -ENOMEM;
	if (def->defsrv && px->defsrv && srv_copy_settings(px->defsrv, def->defsrv) < 0)
		return -ENOMEM;
	for (i = 0; i < def->nerrorfiles && px->nerrorfiles < PX_MAX_ERRORFILES; i++) {
		const struct errorfile *ef = &def->errorfiles[i];
		struct errorfile *n = &px->errorfiles[px->nerrorfiles];

		n->status = ef->status;
		n->len = ef->len;
		n->path = xstrdup(ef->path);
		n->body = malloc(ef->len + 1);
		if (n->body) {
			memcpy(n->body, ef->body, ef->len);
			n->body[ef->len] = '\0';
		}
		px->nerrorfiles++;
		if ((ef->path && !n->path) || !n->body)
			return -ENOMEM;
	}
	return 0;
}

struct proxy *model_find_proxy(const struct model *m, const char *name, unsigned cap)
{
	struct proxy *px;

	if (!m || !name)
		return NULL;
	list_for_each(px, &m->proxies, list) {
		if ((!cap || (px->cap & cap)) && !strcmp(px->name, name))
			return px;
	}
	return NULL;
}

struct proxy *model_find_backend(const struct model *m, const char *name)
{
	return model_find_proxy(m, name, PX_CAP_BE);
}
