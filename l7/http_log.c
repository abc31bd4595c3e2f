// SPDX-License-Identifier: MIT
/*
 * Traffic log lines of the L7 tier in HAProxy's formats:
 *
 *   option httplog:
 *   %ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc
 *   %ac/%fc/%bc/%sc/%rc %sq/%bq %{+Q}r
 *
 *   otherwise (option tcplog or no option): the tcplog format, one line per
 *   request:
 *   %ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq
 *
 * Timers are in milliseconds, -1 when the step was not reached, as HAProxy.
 */
#include <stdio.h>
#include <string.h>

#include "http_proxy.h"
#include "tlog.h"

/* Append the request line in double quotes, escaping what could break the line. */
static size_t put_quoted(char *buf, size_t size, size_t pos, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	if (pos + 1 < size)
		buf[pos++] = '"';
	for (i = 0; i < len && pos + 4 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f || c == '"' || c == '#') {
			buf[pos++] = '#';
			buf[pos++] = hex[c >> 4];
			buf[pos++] = hex[c & 15];
		} else {
			buf[pos++] = (char)c;
		}
	}
	if (pos + 1 < size)
		buf[pos++] = '"';
	buf[pos < size ? pos : size - 1] = 0;
	return pos;
}

size_t l7_log_format(const struct l7_log *l, char *buf, size_t size)
{
	char src[80], date[48], rc[16];
	const char *srv = l->srv ? l->srv->name : "<NOSRV>";
	const char *be = l->be ? l->be->name : l->fe->name;
	int n;

	tlog_addr(l->src, src, sizeof(src));
	tlog_date(l->t_req, date, sizeof(date));
	snprintf(rc, sizeof(rc), "%s%d", l->redispatched ? "+" : "", l->retries);
	if (l->fe->options & PX_OPT_HTTPLOG) {
		n = snprintf(
			buf, size,
			"%s [%s] %s%s %s/%s %d/%d/%d/%d/%d %d %llu - - %c%c-- %d/%d/%d/%d/%s %d/%d ",
			src, date, l->fe->name, l->ssl ? "~" : "", be, srv, l->tr, l->tw, l->tc,
			l->trs, l->ta, l->status, (unsigned long long)l->bytes, l->term[0],
			l->term[1], l->actconn, l->feconn, l->beconn, l->srvconn, rc, l->srv_queue,
			l->be_queue);
		if (n < 0)
			return 0;
		if ((size_t)n >= size)
			return size - 1;
		if (l->reqline)
			return put_quoted(buf, size, n, l->reqline, l->reqline_len);
		return put_quoted(buf, size, n, "<BADREQ>", 8);
	}
	n = snprintf(buf, size, "%s [%s] %s%s %s/%s %d/%d/%d %llu %c%c %d/%d/%d/%d/%s %d/%d", src,
		     date, l->fe->name, l->ssl ? "~" : "", be, srv, l->tw, l->tc, l->tt,
		     (unsigned long long)l->bytes, l->term[0], l->term[1], l->actconn, l->feconn,
		     l->beconn, l->srvconn, rc, l->srv_queue, l->be_queue);
	if (n < 0)
		return 0;
	return (size_t)n >= size ? size - 1 : (size_t)n;
}

void l7_log_http(const struct l7_log *l)
{
	char line[2048];

	if (list_empty(&l->fe->logs) && !l->fe->log_global)
		return;
	l7_log_format(l, line, sizeof(line));
	tlog_emit(l->fe, 6, line);
}
