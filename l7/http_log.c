// SPDX-License-Identifier: MIT
/*
 * Traffic log lines of the L7 tier: the values of one transaction (struct
 * l7_log, filled by http_proxy.c) rendered with the frontend's format
 * (logfmt.h): its `log-format`, or the built-in string of its options:
 *
 *   option httplog:
 *   %ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc
 *   %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r
 *
 *   option httplog clf: HAProxy's CLF variant.
 *
 *   otherwise (option tcplog or no option): the tcplog fields, one line per
 *   request, dated at the start of the request:
 *   %ci:%cp [%tr] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq
 *
 * Timers are in milliseconds, -1 when the step was not reached, as HAProxy.
 */
#include <string.h>

#include "http_proxy.h"
#include "logfmt.h"
#include "tlog.h"

void l7_log_data(const struct l7_log *l, struct lf_data *d)
{
	memset(d, 0, sizeof(*d));
	d->fe = l->fe;
	d->be_name = l->be ? l->be->name : l->fe->name;
	d->srv_name = l->srv ? l->srv->name : "<NOSRV>";
	d->cli = l->src;
	d->fe_addr = l->dst;
	d->be_src = l->bsrc;
	d->srv_addr = l->srv ? &l->srv->addr : NULL;
	d->ssl = l->ssl;
	d->t_accept = l->t_accept;
	d->t_req = l->t_req;
	d->t_h = 0; /* lbd counts a TLS handshake in %TR */
	d->t_i = l->ti;
	d->t_R = l->tr;
	d->t_w = l->tw;
	d->t_c = l->tc;
	d->t_r = l->trs;
	d->t_a = l->ta;
	d->t_t = l->tt;
	d->status = l->status;
	d->bytes_out = l->bytes;
	d->bytes_in = l->bytes_in;
	d->term[0] = l->term[0];
	d->term[1] = l->term[1];
	d->ck[0] = l->ck[0];
	d->ck[1] = l->ck[1];
	d->actconn = l->actconn;
	d->feconn = l->feconn;
	d->beconn = l->beconn;
	d->srvconn = l->srvconn;
	d->retries = l->retries;
	d->redispatched = l->redispatched;
	d->srv_queue = l->srv_queue;
	d->be_queue = l->be_queue;
	d->reqline = l->reqline;
	d->reqline_len = l->reqline_len;
	d->req_cap = l->req_cap;
	d->rsp_cap = l->rsp_cap;
	d->nreq_cap = l->req_cap ? l->fe->nreq_caps : 0;
	d->nrsp_cap = l->rsp_cap ? l->fe->nrsp_caps : 0;
	d->unique_id = l->unique_id;
	d->rt = l->rt;
	d->env = l->env;
}

/* The frontend's log-format, else the built-in format of its options for HTTP lines. */
static const struct logfmt *fe_format(const struct proxy *fe)
{
	const struct logfmt *f = l7_px_log_format(fe);

	return f ? f : logfmt_builtin(fe, true);
}

size_t l7_log_format(const struct l7_log *l, char *buf, size_t size)
{
	struct lf_data d;

	l7_log_data(l, &d);
	return logfmt_render(fe_format(l->fe), &d, buf, size);
}

void l7_log_http(const struct l7_log *l)
{
	static __thread char line[TLOG_MAX_LEN + 1];
	struct lf_data d;

	if (list_empty(&l->fe->logs) && !l->fe->log_global)
		return;
	l7_log_data(l, &d);
	d.lc = __atomic_fetch_add(&l->fe->log_count, 1, __ATOMIC_RELAXED);
	logfmt_render(fe_format(l->fe), &d, line, sizeof(line));
	tlog_emit(l->fe, 6, line);
}
