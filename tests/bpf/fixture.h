/* SPDX-License-Identifier: MIT */
/*
 * What the BPF tests share: a shell helper, and a model built by hand (the
 * config parser is tested elsewhere) that maps.c syncs into the maps the way
 * lbd does. Include from one test file per binary only.
 */
#ifndef XLB_TEST_BPF_FIXTURE_H
#define XLB_TEST_BPF_FIXTURE_H

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "algo.h"
#include "maps.h"

/* Run a shell command; its exit status, reported when not 0. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc)
		printf("# command failed (%d): %s\n", rc, cmd);
	return rc;
}

static struct model M;

static struct proxy *mk_proxy(const char *name, unsigned cap, enum px_mode mode)
{
	struct proxy *px = calloc(1, sizeof(*px));

	px->name = strdup(name);
	px->cap = cap;
	px->mode = mode;
	list_init(&px->binds);
	list_init(&px->acls);
	list_init(&px->switch_rules);
	list_init(&px->http_req_rules);
	list_init(&px->http_rsp_rules);
	list_init(&px->tcp_req_rules);
	list_init(&px->logs);
	list_init(&px->servers);
	list_init(&px->http_check_rules);
	pthread_mutex_init(&px->lock, NULL);
	list_add_tail(&px->list, &M.proxies);
	return px;
}

static void set_sa(struct sockaddr_storage *ss, const char *addr, int port)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		inet_pton(AF_INET6, addr, &s6->sin6_addr);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		inet_pton(AF_INET, addr, &s4->sin_addr);
	}
}

static struct bind *mk_bind(struct proxy *fe, const char *addr, int port, enum bind_proto proto)
{
	struct bind *b = calloc(1, sizeof(*b));

	b->fe = fe;
	set_sa(&b->addr, addr, port);
	b->proto = proto;
	b->fd = -1;
	b->inherited_fd = -1;
	list_add_tail(&b->list, &fe->binds);
	return b;
}

static struct proxy *mk_backend(const char *name, const struct lb_algo_ops *algo, enum fwd_mode fwd)
{
	struct proxy *be = mk_proxy(name, PX_CAP_BE, PX_MODE_TCP);

	be->algo = algo;
	be->fwd = fwd;
	return be;
}

static struct proxy *mk_frontend(const char *name, struct proxy *be, const char *addr, int port,
				 enum bind_proto proto)
{
	struct proxy *fe = mk_proxy(name, PX_CAP_FE, PX_MODE_TCP);

	fe->default_backend = be;
	mk_bind(fe, addr, port, proto);
	return fe;
}

static uint32_t next_id = 1;

static struct server *mk_server(struct proxy *be, const char *name, const char *addr, int port,
				int weight)
{
	struct server *s = calloc(1, sizeof(*s));

	s->be = be;
	s->name = strdup(name);
	s->id = next_id++;
	set_sa(&s->addr, addr, port);
	s->weight = weight;
	s->iweight = weight;
	s->hash_key = lb_hash_bytes(name, strlen(name));
	list_add_tail(&s->list, &be->servers);
	return s;
}

/* The pool as backend_recalc makes it (the usable servers), without telling the XDP tier. */
static void recalc_pool_only(struct proxy *be)
{
	struct server *s;
	struct lb_pool *p = be->pool;

	if (!p) {
		p = calloc(1, sizeof(*p));
		p->srv = calloc(64, sizeof(*p->srv));
		be->pool = p;
	}
	p->n = 0;
	p->tot_weight = 0;
	list_for_each(s, &be->servers, list) {
		if (s->admin == SRV_ADMIN_READY && s->chk_state == SRV_CHK_UP && s->weight > 0 &&
		    !s->removed) {
			p->srv[p->n++] = s;
			p->tot_weight += s->weight;
		}
	}
}

/* What backend_recalc does for these tests: the usable servers, then the XDP hook. */
static void recalc(struct proxy *be)
{
	recalc_pool_only(be);
	pthread_mutex_lock(&be->lock);
	xlb_maps_change_hook(be, NULL);
	pthread_mutex_unlock(&be->lock);
}

#endif
