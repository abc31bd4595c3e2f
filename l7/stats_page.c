// SPDX-License-Identifier: MIT
/*
 * HAProxy's HTTP statistics page, served by the L7 workers from the
 * snapshot the control loop publishes (see stats_page.h for the design).
 *
 * A request whose path starts with the proxy's `stats uri` is answered here:
 * 401 with `WWW-Authenticate` when `stats auth` is set and the request has
 * no valid Basic credentials; GET and HEAD get the HTML page, or the CSV of
 * `show stat` when the URI holds `;csv`; POST (admin actions) is sent back
 * to the page with `;st=DENY` (303); other methods are not for the page and
 * are proxied like any request, as HAProxy 2.6 does. `;json` and `;typed`
 * are refused with 501.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include "cfg.h"
#include "http1.h"
#include "http_proxy.h"
#include "sbuf.h"
#include "stats_page.h"
#include "version.h"

#define STATS_DEFAULT_URI "/haproxy?stats"
#define STATS_DEFAULT_REALM "HAProxy Statistics"

/* ---- snapshots ---- */

/*
 * The published snapshot. The lock is held only to copy the pointer and
 * take a reference (worker) or to swap it (control loop), so a snapshot
 * can never be freed between a worker reading the pointer and counting
 * itself as a user.
 */
static pthread_mutex_t snap_lock = PTHREAD_MUTEX_INITIALIZER;
static struct stats_snap *snap_cur;

static void snap_free(struct stats_snap *s)
{
	for (int i = 0; i < s->nrows; i++)
		free(s->rows[i].v);
	free(s->rows);
	free(s->csv);
	free(s->node);
	free(s->desc);
	free(s);
}

struct stats_snap *stats_snap_new(const char *const *cols, int ncols)
{
	struct stats_snap *s = calloc(1, sizeof(*s));
	struct timeval tv;

	if (!s)
		return NULL;
	gettimeofday(&tv, NULL);
	s->refcnt = 1;
	s->taken_ms = (uint64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
	s->cols = cols;
	s->ncols = ncols;
	return s;
}

int stats_snap_add_row(struct stats_snap *s, const char *const *v, int type, bool up, bool maint,
		       size_t csv_off, size_t csv_len)
{
	size_t bytes = s->ncols * sizeof(char *);
	struct stats_row *r;
	char *p;

	if (s->nrows == s->cap) {
		int ncap = s->cap ? s->cap * 2 : 32;
		struct stats_row *nr = realloc(s->rows, ncap * sizeof(*nr));

		if (!nr)
			return -1;
		s->rows = nr;
		s->cap = ncap;
	}
	for (int i = 0; i < s->ncols; i++)
		if (v[i])
			bytes += strlen(v[i]) + 1;
	r = &s->rows[s->nrows];
	r->v = malloc(bytes);
	if (!r->v)
		return -1;
	p = (char *)(r->v + s->ncols);
	for (int i = 0; i < s->ncols; i++) {
		size_t n;

		if (!v[i]) {
			r->v[i] = NULL;
			continue;
		}
		n = strlen(v[i]) + 1;
		memcpy(p, v[i], n);
		r->v[i] = p;
		p += n;
	}
	r->type = type;
	r->up = up;
	r->maint = maint;
	r->csv_off = csv_off;
	r->csv_len = csv_len;
	s->nrows++;
	return 0;
}

void stats_snap_set_csv(struct stats_snap *s, char *csv, size_t len, size_t hdr_len)
{
	free(s->csv);
	s->csv = csv;
	s->csv_len = len;
	s->hdr_len = hdr_len;
}

void stats_snap_publish(struct stats_snap *s)
{
	struct stats_snap *old;

	pthread_mutex_lock(&snap_lock);
	old = snap_cur;
	snap_cur = s;
	pthread_mutex_unlock(&snap_lock);
	if (old)
		stats_snap_put(old);
}

struct stats_snap *stats_snap_get(void)
{
	struct stats_snap *s;

	pthread_mutex_lock(&snap_lock);
	s = snap_cur;
	if (s)
		__atomic_add_fetch(&s->refcnt, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&snap_lock);
	return s;
}

void stats_snap_put(struct stats_snap *s)
{
	if (s && __atomic_sub_fetch(&s->refcnt, 1, __ATOMIC_ACQ_REL) == 0)
		snap_free(s);
}

bool stats_page_wanted(const struct model *m)
{
	const struct proxy *px;

	if (!m)
		return false;
	list_for_each(px, &m->proxies, list)
		if (px->stats.enabled && px->mode == PX_MODE_HTTP)
			return true;
	return false;
}

int l7_stats_check(struct proxy *px, char **err)
{
	const struct px_stats *st = &px->stats;

	/* Inherited from defaults only: ignored in mode tcp, as HAProxy does. */
	if (!st->enabled || !st->own || px->mode == PX_MODE_HTTP || (px->cap & PX_CAP_DEF))
		return 0;
	return cfg_err(err,
		       "%s:%d: proxy '%s': the statistics page ('stats ...') needs 'mode http'; "
		       "this proxy is in mode tcp",
		       st->loc.file ? st->loc.file : "?", st->loc.line, px->name);
}

/* Text in HTML. */
static void sp_html(struct sbuf *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<':
			sbuf_puts(b, "&lt;");
			break;
		case '>':
			sbuf_puts(b, "&gt;");
			break;
		case '&':
			sbuf_puts(b, "&amp;");
			break;
		case '"':
			sbuf_puts(b, "&quot;");
			break;
		default:
			sbuf_add(b, s, 1);
		}
	}
}

/* ---- the request ---- */

struct stats_opts {
	bool csv, json, typed, norefresh, up, no_maint;
};

/* The part of the URI compared with the prefix: the path and query for "/..." prefixes. */
static bool stats_match(const struct px_stats *st, const struct h1_msg *m, const char **rest,
			size_t *rest_len)
{
	const char *uri = st->uri ? st->uri : STATS_DEFAULT_URI;
	size_t ulen = strlen(uri), len;
	const char *s;

	if (uri[0] == '/') {
		s = m->path;
		len = m->path_len;
	} else {
		s = m->target;
		len = m->target_len;
	}
	if (!s || len < ulen || memcmp(s, uri, ulen))
		return false;
	*rest = s + ulen;
	*rest_len = len - ulen;
	return true;
}

static bool opt_at(const char *p, const char *end, const char *opt)
{
	size_t n = strlen(opt);

	return (size_t)(end - p) >= n && !memcmp(p, opt, n) &&
	       ((size_t)(end - p) == n || p[n] == ';' || p[n] == '&' || p[n] == '#');
}

static void parse_opts(const char *p, size_t len, struct stats_opts *o)
{
	const char *end = p + len;

	for (; p < end; p++) {
		if (*p != ';')
			continue;
		if (opt_at(p, end, ";csv"))
			o->csv = true;
		else if (opt_at(p, end, ";json") || opt_at(p, end, ";json-schema"))
			o->json = true;
		else if (opt_at(p, end, ";typed"))
			o->typed = true;
		else if (opt_at(p, end, ";norefresh"))
			o->norefresh = true;
		else if (opt_at(p, end, ";up"))
			o->up = true;
		else if (opt_at(p, end, ";no-maint"))
			o->no_maint = true;
	}
}

static int b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decode base64 into out (NUL-terminated); -1 when malformed or too long. */
static int b64_decode(const char *in, size_t len, char *out, size_t size)
{
	uint32_t acc = 0;
	size_t o = 0;
	int bits = 0;

	while (len && in[len - 1] == '=')
		len--;
	for (size_t i = 0; i < len; i++) {
		int v = b64_val((unsigned char)in[i]);

		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o + 1 >= size)
				return -1;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[o] = '\0';
	return (int)o;
}

/* The request carries Basic credentials that match one `stats auth` line. */
static bool auth_ok(const struct px_stats *st, const struct l7_msg *req)
{
	char cred[512];
	const char *v;
	size_t len;
	int i = l7_msg_find(req, "authorization", 13, 0), n;

	if (i < 0)
		return false;
	v = req->hdrs[i].value;
	len = req->hdrs[i].value_len;
	if (len < 6 || strncasecmp(v, "basic", 5) || (v[5] != ' ' && v[5] != '\t'))
		return false;
	v += 6;
	len -= 6;
	while (len && (*v == ' ' || *v == '\t')) {
		v++;
		len--;
	}
	n = b64_decode(v, len, cred, sizeof(cred));
	if (n <= 0 || memchr(cred, '\0', n))
		return false;
	for (char **a = st->auth; *a; a++)
		if (!strcmp(*a, cred))
			return true;
	return false;
}

static bool reply_head(struct sbuf *b, int status, const char *ctype)
{
	sbuf_printf(b, "HTTP/1.1 %d %s\r\n", status, h1_status_text(status));
	sbuf_puts(b, "cache-control: no-cache\r\n");
	if (ctype)
		sbuf_printf(b, "content-type: %s\r\n", ctype);
	return !b->oom;
}

/* Always true (the request was for the page); out of memory leaves reply->data NULL (500). */
static bool reply_done(struct sbuf *b, struct l7_reply *reply, int status, bool close)
{
	reply->term = 'L';
	if (b->oom) {
		free(b->buf);
		reply->status = 500;
		reply->data = NULL;
		return true;
	}
	reply->status = status;
	reply->data = b->buf;
	reply->len = b->len;
	reply->close = close;
	return true;
}

/* A built-in or errorfile page of px with a header added after its status line. */
static bool reply_error(struct proxy *px, int status, const char *hdr, struct l7_reply *reply)
{
	size_t len = 0;
	char *page = l7_error_page(px, NULL, status, &len);
	struct sbuf b = { 0 };
	const char *eol;

	if (!page) {
		b.oom = true;
		return reply_done(&b, reply, 500, false);
	}
	eol = hdr ? memchr(page, '\n', len) : NULL;
	if (eol) {
		sbuf_add(&b, page, eol + 1 - page);
		sbuf_puts(&b, hdr);
		sbuf_add(&b, eol + 1, len - (eol + 1 - page));
		free(page);
	} else {
		b.buf = page;
		b.len = len;
	}
	return reply_done(&b, reply, status, false);
}

/* ---- rendering ---- */

enum {
	C_PXNAME,
	C_SVNAME,
	C_QCUR,
	C_QMAX,
	C_SCUR,
	C_SMAX,
	C_SLIM,
	C_STOT,
	C_BIN,
	C_BOUT,
	C_DREQ,
	C_EREQ,
	C_ECON,
	C_ERESP,
	C_WRETR,
	C_WREDIS,
	C_STATUS,
	C_WEIGHT,
	C_ACT,
	C_BCK,
	C_CHKFAIL,
	C_CHKDOWN,
	C_LASTCHG,
	C_IID,
	C_SID,
	C_CHECK_STATUS,
	C_CHECK_CODE,
	C_CHECK_DURATION,
	C_CHECK_DESC,
	C_LAST_CHK,
	C_ADDR,
	C_COOKIE,
	C_MODE,
	C_ALGO,
	C_HRSP_2XX,
	C_HRSP_4XX,
	C_HRSP_5XX,
	C_N,
};

static const char *const col_names[C_N] = {
	"pxname",   "svname",	    "qcur",	  "qmax",	    "scur",	  "smax",
	"slim",	    "stot",	    "bin",	  "bout",	    "dreq",	  "ereq",
	"econ",	    "eresp",	    "wretr",	  "wredis",	    "status",	  "weight",
	"act",	    "bck",	    "chkfail",	  "chkdown",	    "lastchg",	  "iid",
	"sid",	    "check_status", "check_code", "check_duration", "check_desc", "last_chk",
	"addr",	    "cookie",	    "mode",	  "algo",	    "hrsp_2xx",	  "hrsp_4xx",
	"hrsp_5xx",
};

struct render {
	const struct stats_snap *s;
	int idx[C_N]; /* column index, -1 when the snapshot lacks it */
	struct proxy *px;
	const struct stats_opts *o;
};

static const char *val(const struct render *r, const struct stats_row *row, int c)
{
	int i = r->idx[c];

	return i >= 0 && row->v[i] ? row->v[i] : "";
}

static bool in_scope(const struct render *r, const char *pxname)
{
	char **sc = r->px->stats.scope;

	if (!sc)
		return true;
	for (; *sc; sc++) {
		const char *name = strcmp(*sc, ".") ? *sc : r->px->name;

		if (!strcmp(name, pxname))
			return true;
	}
	return false;
}

static bool row_shown(const struct render *r, const struct stats_row *row)
{
	if (!in_scope(r, val(r, row, C_PXNAME)))
		return false;
	if (row->type == STATS_ROW_SRV &&
	    ((r->o->up && !row->up) || (r->o->no_maint && row->maint)))
		return false;
	return true;
}

static void render_csv(const struct render *r, struct sbuf *b)
{
	const struct stats_snap *s = r->s;

	if (!r->px->stats.scope && !r->o->up && !r->o->no_maint) {
		sbuf_add(b, s->csv, s->csv_len);
		return;
	}
	sbuf_add(b, s->csv, s->hdr_len);
	for (int i = 0; i < s->nrows; i++)
		if (row_shown(r, &s->rows[i]))
			sbuf_add(b, s->csv + s->rows[i].csv_off, s->rows[i].csv_len);
}

/* "2d3h", "1h04m", "5m02s", "7s" */
static void human_time(struct sbuf *b, const char *secs)
{
	unsigned long long t;
	char *end;

	if (!*secs) {
		return;
	}
	t = strtoull(secs, &end, 10);
	if (*end) {
		sp_html(b, secs);
		return;
	}
	if (t >= 86400)
		sbuf_printf(b, "%llud%lluh", t / 86400, t % 86400 / 3600);
	else if (t >= 3600)
		sbuf_printf(b, "%lluh%02llum", t / 3600, t % 3600 / 60);
	else if (t >= 60)
		sbuf_printf(b, "%llum%02llus", t / 60, t % 60);
	else
		sbuf_printf(b, "%llus", t);
}

static const char *row_class(const struct render *r, const struct stats_row *row)
{
	const char *st = val(r, row, C_STATUS);
	bool bck = !strcmp(val(r, row, C_BCK), "1");

	if (row->type == STATS_ROW_FE)
		return strcmp(st, "STOP") ? "frontend" : "active_down";
	if (row->type == STATS_ROW_BE)
		return strncmp(st, "UP", 2) ? "active_down" : "backend";
	if (!strcmp(st, "MAINT"))
		return "maintain";
	if (!strcmp(st, "DRAIN"))
		return "draining";
	if (!strcmp(st, "no check"))
		return bck ? "backup_no_check" : "active_no_check";
	if (!strncmp(st, "UP ", 3))
		return bck ? "backup_going_down" : "active_going_down";
	if (!strncmp(st, "DOWN ", 5))
		return bck ? "backup_going_up" : "active_going_up";
	if (!strncmp(st, "UP", 2))
		return bck ? "backup_up" : "active_up";
	return bck ? "backup_down" : "active_down";
}

static void td(struct sbuf *b, const char *v)
{
	sbuf_puts(b, "<td>");
	sp_html(b, v);
	sbuf_puts(b, "</td>");
}

static void render_row(const struct render *r, const struct stats_row *row, struct sbuf *b)
{
	const char *name = row->type == STATS_ROW_FE ? "Frontend" :
			   row->type == STATS_ROW_BE ? "Backend" :
						       val(r, row, C_SVNAME);
	const char *chk = val(r, row, C_CHECK_STATUS), *code = val(r, row, C_CHECK_CODE);
	const char *dur = val(r, row, C_CHECK_DURATION);

	sbuf_printf(b, "<tr class=\"%s\">", row_class(r, row));
	sbuf_puts(b, "<td class=\"name\">");
	sp_html(b, name);
	if (row->type == STATS_ROW_SRV && r->px->stats.show_legends && *val(r, row, C_ADDR)) {
		sbuf_puts(b, " <span class=\"addr\">(");
		sp_html(b, val(r, row, C_ADDR));
		sbuf_printf(b, ", id %s)</span>", val(r, row, C_SID));
	}
	sbuf_puts(b, "</td>");
	td(b, val(r, row, C_QCUR));
	td(b, val(r, row, C_QMAX));
	td(b, val(r, row, C_SCUR));
	td(b, val(r, row, C_SMAX));
	td(b, val(r, row, C_SLIM));
	td(b, val(r, row, C_STOT));
	td(b, val(r, row, C_BIN));
	td(b, val(r, row, C_BOUT));
	td(b, val(r, row, C_DREQ));
	td(b, val(r, row, C_EREQ));
	td(b, val(r, row, C_ECON));
	td(b, val(r, row, C_ERESP));
	td(b, val(r, row, C_WRETR));
	td(b, val(r, row, C_WREDIS));
	sbuf_puts(b, "<td class=\"status\">");
	if (row->type != STATS_ROW_FE && *val(r, row, C_LASTCHG)) {
		human_time(b, val(r, row, C_LASTCHG));
		sbuf_puts(b, " ");
	}
	sp_html(b, val(r, row, C_STATUS));
	sbuf_puts(b, "</td>");
	/* LastChk: "L7OK/200 in 1ms", its description as a tooltip */
	sbuf_puts(b, "<td class=\"check\"");
	if (*val(r, row, C_CHECK_DESC) || *val(r, row, C_LAST_CHK)) {
		sbuf_puts(b, " title=\"");
		sp_html(b, val(r, row, C_CHECK_DESC));
		if (*val(r, row, C_LAST_CHK)) {
			sbuf_puts(b, ": ");
			sp_html(b, val(r, row, C_LAST_CHK));
		}
		sbuf_puts(b, "\"");
	}
	sbuf_puts(b, ">");
	sp_html(b, chk);
	if (*code) {
		sbuf_puts(b, "/");
		sp_html(b, code);
	}
	if (*chk && *dur) {
		sbuf_puts(b, " in ");
		sp_html(b, dur);
		sbuf_puts(b, "ms");
	}
	sbuf_puts(b, "</td>");
	td(b, val(r, row, C_WEIGHT));
	td(b, row->type == STATS_ROW_FE ? "" : val(r, row, C_ACT));
	td(b, row->type == STATS_ROW_FE ? "" : val(r, row, C_BCK));
	td(b, val(r, row, C_CHKFAIL));
	td(b, val(r, row, C_CHKDOWN));
	sbuf_puts(b, "</tr>\n");
}

static const char page_style[] =
	"<style type=\"text/css\">\n"
	"body { font-family: arial, helvetica, sans-serif; font-size: 12px; background: white; }\n"
	"table.px { border-collapse: collapse; margin-bottom: 1.5em; }\n"
	"table.px td, table.px th { border: 1px solid gray; padding: 1px 4px; font-size: 11px; "
	"text-align: right; }\n"
	"table.px td.name, table.px td.status, table.px td.check { text-align: left; }\n"
	"th.pxname { background: #b00040; color: white; text-align: left; font-size: 13px; }\n"
	"tr.titre th { background: #20D0D0; }\n"
	".frontend, .backend { background: #e8e8d0; font-weight: bold; }\n"
	".active_up { background: #c0ffc0; } .backup_up { background: #b0d0ff; }\n"
	".active_going_down, .backup_going_down { background: #ffffa0; }\n"
	".active_going_up, .backup_going_up { background: #ffd020; }\n"
	".active_down, .backup_down { background: #ff9090; }\n"
	".active_no_check, .backup_no_check { background: #e0e0e0; }\n"
	".maintain { background: #c07820; } .draining { background: #20a0ff; }\n"
	".addr { color: #606060; font-weight: normal; }\n"
	"</style>\n";

static void render_info(const struct render *r, struct sbuf *b, uint64_t now_ms)
{
	const struct stats_snap *s = r->s;
	const struct px_stats *st = &r->px->stats;
	const char *node = st->node ? st->node : s->node;
	const char *desc = st->desc ? st->desc : s->desc;
	uint64_t up = s->uptime_s + (now_ms > s->taken_ms ? (now_ms - s->taken_ms) / 1000 : 0);
	uint64_t age = now_ms > s->taken_ms ? now_ms - s->taken_ms : 0;

	sbuf_puts(b, "<!DOCTYPE html>\n<html><head><title>Statistics Report for lbd");
	if (st->show_node && node) {
		sbuf_puts(b, " on ");
		sp_html(b, node);
	}
	sbuf_puts(b, "</title>\n<meta charset=\"utf-8\">\n");
	sbuf_puts(b, page_style);
	sbuf_puts(b, "</head>\n<body>\n<h1>lbd");
	if (!st->hide_version)
		sbuf_puts(b, " version " XLB_VERSION);
	sbuf_puts(b, "</h1>\n<h2>Statistics Report for pid ");
	sbuf_printf(b, "%d", s->pid);
	if (st->show_node && node) {
		sbuf_puts(b, " on ");
		sp_html(b, node);
	}
	sbuf_puts(b, "</h2>\n");
	if (st->show_desc && desc) {
		sbuf_puts(b, "<h2 class=\"desc\">");
		sp_html(b, desc);
		sbuf_puts(b, "</h2>\n");
	}
	sbuf_puts(b, "<h3>General process information</h3>\n<p>");
	sbuf_printf(b, "<b>pid = </b>%d (nbthread = %d)<br>\n", s->pid, s->nbthread);
	sbuf_printf(b, "<b>uptime = </b>%llud %lluh%02llum%02llus<br>\n",
		    (unsigned long long)up / 86400, (unsigned long long)(up % 86400) / 3600,
		    (unsigned long long)(up % 3600) / 60, (unsigned long long)up % 60);
	sbuf_printf(b, "<b>maxconn = </b>%d; <b>current conns = </b>%d<br>\n", s->maxconn,
		    s->curconn);
	sbuf_printf(b, "<b>data age = </b>%llu ms (refreshed every %d ms)\n",
		    (unsigned long long)age, (int)(STATS_SNAP_INTERVAL * 1000));
	sbuf_puts(b, "</p>\n");
	if (st->show_legends) {
		static const char *const legend[][2] = {
			{ "active_up", "active UP" },
			{ "backup_up", "backup UP" },
			{ "active_going_down", "UP, going down" },
			{ "active_going_up", "DOWN, going up" },
			{ "active_down", "DOWN" },
			{ "active_no_check", "no check" },
			{ "maintain", "MAINT (set by the runtime API)" },
			{ "draining", "DRAIN (weight 0 or drain state)" },
		};

		sbuf_puts(b, "<h3>Legend</h3>\n<table class=\"px\"><tr>");
		for (size_t i = 0; i < sizeof(legend) / sizeof(legend[0]); i++)
			sbuf_printf(b, "<td class=\"%s\">%s</td>", legend[i][0], legend[i][1]);
		sbuf_puts(b, "</tr></table>\n");
	}
	sbuf_puts(b, "<p>Display option: <a href=\"");
	sp_html(b, st->uri ? st->uri : STATS_DEFAULT_URI);
	sbuf_puts(b, ";csv\">CSV export</a></p>\n");
}

static void render_html(const struct render *r, struct sbuf *b)
{
	const struct stats_snap *s = r->s;
	struct timeval tv;
	uint64_t now_ms;
	const char *cur = NULL;

	gettimeofday(&tv, NULL);
	now_ms = (uint64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
	render_info(r, b, now_ms);
	for (int i = 0; i < s->nrows; i++) {
		const struct stats_row *row = &s->rows[i];
		const char *px = val(r, row, C_PXNAME);

		if (!row_shown(r, row))
			continue;
		if (!cur || strcmp(cur, px)) {
			if (cur)
				sbuf_puts(b, "</table>\n");
			cur = px;
			sbuf_puts(b,
				  "<table class=\"px\">\n<tr><th class=\"pxname\" colspan=\"25\">");
			sp_html(b, px);
			if (r->px->stats.show_legends) {
				sbuf_puts(b, " <span class=\"addr\">(mode ");
				sp_html(b, val(r, row, C_MODE));
				sbuf_puts(b, ", id ");
				sp_html(b, val(r, row, C_IID));
				sbuf_puts(b, ")</span>");
			}
			sbuf_puts(
				b,
				"</th></tr>\n<tr class=\"titre\"><th>Name</th><th>Queue Cur</th>"
				"<th>Queue Max</th><th>Sessions Cur</th><th>Max</th><th>Limit</th>"
				"<th>Total</th><th>Bytes In</th><th>Bytes Out</th>"
				"<th>Denied Req</th><th>Errors Req</th><th>Conn</th><th>Resp</th>"
				"<th>Warnings Retr</th><th>Redis</th><th>Status</th>"
				"<th>LastChk</th><th>Wght</th><th>Act</th><th>Bck</th>"
				"<th>Chk</th><th>Dwn</th></tr>\n");
		}
		render_row(r, row, b);
	}
	if (cur)
		sbuf_puts(b, "</table>\n");
	sbuf_puts(b, "</body>\n</html>\n");
}

bool l7_stats_request(struct proxy *px, const struct l7_msg *req, struct l7_reply *reply)
{
	const struct px_stats *st = &px->stats;
	const struct h1_msg *m = req->h1;
	struct stats_opts o = { 0 };
	struct sbuf b = { 0 }, body = { 0 };
	struct render r = { .px = px, .o = &o };
	struct stats_snap *s;
	const char *rest;
	size_t rest_len;
	bool head;

	if (!st->enabled || px->mode != PX_MODE_HTTP || !m)
		return false;
	/* as HAProxy: only GET, HEAD and POST are for the page; other methods are proxied */
	if ((m->method != H1_M_GET && m->method != H1_M_HEAD && m->method != H1_M_POST) ||
	    !stats_match(st, m, &rest, &rest_len))
		return false;
	memset(reply, 0, sizeof(*reply));
	if (st->auth && !auth_ok(st, req)) {
		static const char msg[] = "<html><body><h1>401 Unauthorized</h1>\n"
					  "This page needs a valid user name and password.\n"
					  "</body></html>\n";
		const char *realm = st->realm ? st->realm : STATS_DEFAULT_REALM;
		char hdr[600];
		size_t n = 0;

		/* the realm as a quoted-string: no quotes, backslashes or control characters */
		n = snprintf(hdr, sizeof(hdr), "www-authenticate: Basic realm=\"");
		for (; *realm && n < sizeof(hdr) - 4; realm++)
			if ((unsigned char)*realm >= 0x20 && *realm != '"' && *realm != '\\' &&
			    *realm != 0x7f)
				hdr[n++] = *realm;
		memcpy(hdr + n, "\"\r\n", 4);
		for (int i = 0; i < px->nerrorfiles; i++)
			if (px->errorfiles[i].status == 401 && px->errorfiles[i].body)
				return reply_error(px, 401, hdr, reply);
		reply_head(&b, 401, "text/html");
		sbuf_puts(&b, hdr);
		sbuf_printf(&b, "content-length: %zu\r\n\r\n", sizeof(msg) - 1);
		if (m->method != H1_M_HEAD)
			sbuf_puts(&b, msg);
		return reply_done(&b, reply, 401, false);
	}
	if (m->method == H1_M_POST) {
		/* admin actions are not served: back to the page, as HAProxy without `stats admin` */
		reply_head(&b, 303, "text/plain");
		sbuf_puts(&b, "content-length: 0\r\nlocation: ");
		sbuf_puts(&b, st->uri ? st->uri : STATS_DEFAULT_URI);
		sbuf_puts(&b, ";st=DENY\r\n\r\n");
		return reply_done(&b, reply, 303, false);
	}
	head = m->method == H1_M_HEAD;
	parse_opts(rest, rest_len, &o);
	if (o.json || o.typed) {
		static const char msg[] = "lbd serves the statistics page as HTML and ';csv' only; "
					  "for JSON use 'show servers json' or 'show status json' "
					  "on the stats socket.\n";

		reply_head(&b, 501, "text/plain");
		sbuf_printf(&b, "content-length: %zu\r\n\r\n", sizeof(msg) - 1);
		if (!head)
			sbuf_puts(&b, msg);
		return reply_done(&b, reply, 501, false);
	}
	s = stats_snap_get();
	if (!s) {
		static const char msg[] = "The statistics are not ready yet; retry in a second.\n";

		reply_head(&b, 503, "text/plain");
		sbuf_printf(&b, "content-length: %zu\r\nretry-after: 1\r\n\r\n", sizeof(msg) - 1);
		if (!head)
			sbuf_puts(&b, msg);
		return reply_done(&b, reply, 503, false);
	}
	r.s = s;
	for (int c = 0; c < C_N; c++) {
		r.idx[c] = -1;
		for (int i = 0; i < s->ncols; i++)
			if (!strcmp(s->cols[i], col_names[c]))
				r.idx[c] = i;
	}
	if (o.csv)
		render_csv(&r, &body);
	else
		render_html(&r, &body);
	stats_snap_put(s);
	reply_head(&b, 200, o.csv ? "text/plain" : "text/html");
	if (st->refresh_s && !o.norefresh)
		sbuf_printf(&b, "refresh: %u\r\n", st->refresh_s);
	sbuf_printf(&b, "content-length: %zu\r\n\r\n", body.len);
	if (!head)
		sbuf_add(&b, body.buf, body.len);
	if (body.oom)
		b.oom = true;
	free(body.buf);
	return reply_done(&b, reply, 200, false);
}
