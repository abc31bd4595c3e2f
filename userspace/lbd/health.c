// SPDX-License-Identifier: MIT
/*
 * Health checks on the control loop. One `struct hcheck` per server with
 * `check`, holding a reference on the server. A check is a non-blocking
 * connect (plus, with `option httpchk`, one HTTP request and its response)
 * bounded by one timer: `timeout connect` (capped by `inter`) for the
 * connect phase, then `timeout check`, or what is left of `inter` when it
 * is unset. A server that accepts and then hangs, closes or answers garbage
 * fails an HTTP check.
 *
 * The counter is HAProxy's: `health` runs from 0 (down) to rise + fall - 1
 * (up); a failure decrements it while it is above `rise`, else drops it to 0
 * and marks the server DOWN; a success increments it while below `rise` and
 * then sets it to the maximum, marking the server UP. A new server, and one
 * leaving maintenance, starts UP at `rise`: its first failure takes it down.
 */
#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "srcport.h"
#include "health.h"
#include "log.h"
#include "tlog.h"
#include "tls.h"

#define HC_BUFSIZE 16384 /* response bytes kept, as HAProxy's tune.chksize */
#define HC_HASH 1024 /* buckets of the server -> check table */
#define HC_MAX_RANGES 16 /* status codes or ranges in one `expect status` */

/* syslog levels of HAProxy's messages, for the `log` targets */
#define SYSLOG_EMERG 0
#define SYSLOG_ALERT 1
#define SYSLOG_NOTICE 5

enum hc_phase {
	HC_IDLE, /* waiting for the next check */
	HC_CONNECTING, /* connect() in progress */
	HC_HANDSHAKE, /* TLS handshake in progress (`check-ssl`) */
	HC_SENDING, /* HTTP request being written */
	HC_READING, /* HTTP response being read */
};

enum hexp_type {
	HEXP_STATUS,
	HEXP_RSTATUS,
	HEXP_STRING,
	HEXP_RSTRING,
};

/* One `http-check expect` rule. */
struct hexpect {
	enum hexp_type type;
	bool neg; /* `!` */
	char *pat; /* the pattern as written */
	bool re_ok; /* re compiled */
	regex_t re; /* rstatus, rstring */
	int nranges; /* status: codes or ranges "200,301-302" */
	int lo[HC_MAX_RANGES], hi[HC_MAX_RANGES];
};

/* What the checks of one backend share: the request and the expectations. */
struct hbackend {
	struct list_head list; /* in hbackends */
	struct proxy *be;
	bool http; /* `option httpchk` */
	char *req; /* the full HTTP request */
	size_t reqlen;
	struct hexpect *exp;
	int nexp;
	bool need_body; /* a string expectation: read the whole response */
};

struct hcheck {
	struct list_head list; /* in checks */
	struct hcheck *hnext; /* chain of the server -> check table */
	struct server *srv; /* reference held */
	struct hbackend *hb;
	int health; /* 0 .. rise + fall - 1 */
	bool enabled; /* not `disable health` */
	enum hc_phase phase;
	int fd;
	struct xconn x; /* plain or TLS transport on fd */
	bool tls_up; /* TLS handshake done */
	ev_io io;
	ev_timer timer; /* next check while idle, timeout while running */
	uint64_t t_start; /* monotonic ms */
	size_t reqoff;
	char *rbuf;
	size_t rlen;
	bool rd_eof;
	/* last result */
	enum hchk_status status;
	enum hchk_result result;
	int code;
	int duration_ms;
	char info[160];
};

static struct list_head checks = LIST_HEAD_INIT(checks);
static struct list_head hbackends = LIST_HEAD_INIT(hbackends);
static struct hcheck *hc_hash[HC_HASH];
static struct ev_loop *hc_loop;
static int hc_spread; /* global spread-checks, percent */

static const char *const status_names[HCHK_NSTATUS] = {
	[HCHK_UNKNOWN] = "UNK",	  [HCHK_INI] = "INI",	    [HCHK_START] = "",
	[HCHK_CHECKED] = "",	  [HCHK_HANA] = "HANA",	    [HCHK_SOCKERR] = "SOCKERR",
	[HCHK_L4OK] = "L4OK",	  [HCHK_L4TOUT] = "L4TOUT", [HCHK_L4CON] = "L4CON",
	[HCHK_L6OK] = "L6OK",	  [HCHK_L6TOUT] = "L6TOUT", [HCHK_L6RSP] = "L6RSP",
	[HCHK_L7TOUT] = "L7TOUT", [HCHK_L7RSP] = "L7RSP",   [HCHK_L7OK] = "L7OK",
	[HCHK_L7OKC] = "L7OKC",	  [HCHK_L7STS] = "L7STS",
};

static const char *const status_descs[HCHK_NSTATUS] = {
	[HCHK_UNKNOWN] = "Unknown",
	[HCHK_INI] = "Initializing",
	[HCHK_START] = "",
	[HCHK_CHECKED] = "",
	[HCHK_HANA] = "Health analyze",
	[HCHK_SOCKERR] = "Socket error",
	[HCHK_L4OK] = "Layer4 check passed",
	[HCHK_L4TOUT] = "Layer4 timeout",
	[HCHK_L4CON] = "Layer4 connection problem",
	[HCHK_L6OK] = "Layer6 check passed",
	[HCHK_L6TOUT] = "Layer6 timeout",
	[HCHK_L6RSP] = "Layer6 invalid response",
	[HCHK_L7TOUT] = "Layer7 timeout",
	[HCHK_L7RSP] = "Layer7 invalid response",
	[HCHK_L7OK] = "Layer7 check passed",
	[HCHK_L7OKC] = "Layer7 check conditionally passed",
	[HCHK_L7STS] = "Layer7 wrong status",
};

const char *health_status_name(enum hchk_status st)
{
	return st < HCHK_NSTATUS && status_names[st] ? status_names[st] : "";
}

const char *health_status_desc(enum hchk_status st)
{
	return st < HCHK_NSTATUS && status_descs[st] ? status_descs[st] : "";
}

/* ---- logging shared with the runtime API ---- */

void health_count_usable(struct proxy *be, int *act, int *bck)
{
	struct server *s;

	*act = *bck = 0;
	list_for_each(s, &be->servers, list) {
		if (!server_usable(s))
			continue;
		if (s->backup)
			(*bck)++;
		else
			(*act)++;
	}
}

void health_log(struct proxy *be, int level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* On stderr, as HAProxy: state changes are warnings, "no server available" an alert. */
	lb_log(level == SYSLOG_EMERG ? LB_LOG_ALERT : LB_LOG_WARNING, "%s", line);
	tlog_emit(be, level, line);
}

void health_log_no_server(struct proxy *be, int usable_before, int usable_after)
{
	if (usable_before > 0 && usable_after == 0)
		health_log(be, SYSLOG_EMERG, "backend '%s' has no server available!", be->name);
}

/* ---- the server -> check table ---- */

static unsigned hc_bucket(const struct server *s)
{
	return (unsigned)(((uintptr_t)s >> 4) % HC_HASH);
}

static struct hcheck *hc_find(const struct server *s)
{
	struct hcheck *hc;

	for (hc = hc_hash[hc_bucket(s)]; hc; hc = hc->hnext)
		if (hc->srv == s)
			return hc;
	return NULL;
}

static void hc_hash_add(struct hcheck *hc)
{
	unsigned b = hc_bucket(hc->srv);

	hc->hnext = hc_hash[b];
	hc_hash[b] = hc;
}

static void hc_hash_del(struct hcheck *hc)
{
	struct hcheck **pp;

	for (pp = &hc_hash[hc_bucket(hc->srv)]; *pp; pp = &(*pp)->hnext) {
		if (*pp == hc) {
			*pp = hc->hnext;
			return;
		}
	}
}

/* ---- per-backend settings: request and expectations ---- */

static void hexpect_free(struct hexpect *e)
{
	if (e->re_ok)
		regfree(&e->re);
	free(e->pat);
}

static void hbackend_free(struct hbackend *hb)
{
	if (!hb)
		return;
	list_del(&hb->list);
	for (int i = 0; i < hb->nexp; i++)
		hexpect_free(&hb->exp[i]);
	free(hb->exp);
	free(hb->req);
	free(hb);
}

/* "200", "200-399", "200,301-302" */
static int parse_status_ranges(struct hexpect *e, const char *pat)
{
	const char *p = pat;

	while (*p) {
		char *end;
		long lo = strtol(p, &end, 10), hi;

		if (end == p || e->nranges >= HC_MAX_RANGES)
			return -1;
		hi = lo;
		p = end;
		if (*p == '-') {
			hi = strtol(p + 1, &end, 10);
			if (end == p + 1)
				return -1;
			p = end;
		}
		e->lo[e->nranges] = (int)lo;
		e->hi[e->nranges] = (int)hi;
		e->nranges++;
		if (*p == ',')
			p++;
		else if (*p)
			return -1;
	}
	return e->nranges ? 0 : -1;
}

/* Skip the options of `http-check expect` that take an argument. */
static bool expect_opt_with_arg(const char *w)
{
	static const char *const opts[] = {
		"min-recv",   "comment",  "ok-status",	 "error-status", "tout-status",
		"on-success", "on-error", "status-code", NULL,
	};

	for (int i = 0; opts[i]; i++)
		if (!strcmp(w, opts[i]))
			return true;
	return false;
}

static int hb_add_expect(struct hbackend *hb, char **w, int n, const struct cfg_loc *loc)
{
	struct hexpect e = { 0 }, *ne;
	int i = 0, flags = REG_EXTENDED | REG_NOSUB;

	while (i < n && expect_opt_with_arg(w[i]))
		i += 2;
	if (i < n && !strcmp(w[i], "!")) {
		e.neg = true;
		i++;
	}
	if (i + 1 >= n)
		goto bad;
	if (!strcmp(w[i], "status"))
		e.type = HEXP_STATUS;
	else if (!strcmp(w[i], "rstatus"))
		e.type = HEXP_RSTATUS;
	else if (!strcmp(w[i], "string"))
		e.type = HEXP_STRING;
	else if (!strcmp(w[i], "rstring"))
		e.type = HEXP_RSTRING;
	else
		goto bad;
	e.pat = strdup(w[i + 1]);
	if (!e.pat)
		return -1;
	if (e.type == HEXP_STATUS && parse_status_ranges(&e, e.pat) < 0) {
		free(e.pat);
		goto bad;
	}
	if (e.type == HEXP_RSTATUS || e.type == HEXP_RSTRING) {
		if (regcomp(&e.re, e.pat, flags)) {
			free(e.pat);
			goto bad;
		}
		e.re_ok = true;
	}
	if (e.type == HEXP_STRING || e.type == HEXP_RSTRING)
		hb->need_body = true;
	ne = realloc(hb->exp, (hb->nexp + 1) * sizeof(*ne));
	if (!ne) {
		hexpect_free(&e);
		return -1;
	}
	hb->exp = ne;
	hb->exp[hb->nexp++] = e;
	return 0;
bad:
	/* The config parser validated it; a rule lbd cannot evaluate is ignored. */
	lb_warn("%s:%d: 'http-check expect' rule not understood by the health checker, ignored",
		loc && loc->file ? loc->file : "?", loc ? loc->line : 0);
	return 0;
}

/* Append to a growing string; -1 on ENOMEM. */
static int sb_add(char **buf, size_t *len, const char *s, size_t n)
{
	char *nb = realloc(*buf, *len + n + 1);

	if (!nb)
		return -1;
	memcpy(nb + *len, s, n);
	*len += n;
	nb[*len] = '\0';
	*buf = nb;
	return 0;
}

static int sb_str(char **buf, size_t *len, const char *s)
{
	return sb_add(buf, len, s, strlen(s));
}

/* The version of `option httpchk` may carry headers written as "\r\n": unescape them. */
static int sb_unescaped(char **buf, size_t *len, const char *s)
{
	for (; *s; s++) {
		char c = *s;

		if (c == '\\' && (s[1] == 'r' || s[1] == 'n')) {
			c = s[1] == 'r' ? '\r' : '\n';
			s++;
		}
		if (sb_add(buf, len, &c, 1) < 0)
			return -1;
	}
	return 0;
}

static struct hbackend *hbackend_get(struct proxy *be)
{
	const char *meth, *uri, *ver, *body = NULL;
	struct hbackend *hb;
	struct px_rule *r;
	char **hdrs = NULL, *req = NULL;
	size_t reqlen = 0;
	int nhdrs = 0;
	bool has_conn = false;

	list_for_each(hb, &hbackends, list)
		if (hb->be == be)
			return hb;
	hb = calloc(1, sizeof(*hb));
	if (!hb)
		return NULL;
	hb->be = be;
	list_add_tail(&hb->list, &hbackends);
	hb->http = be->options & PX_OPT_HTTPCHK;
	if (!hb->http)
		return hb;

	meth = be->httpchk_method ? be->httpchk_method : "OPTIONS";
	uri = be->httpchk_uri ? be->httpchk_uri : "/";
	ver = be->httpchk_version ? be->httpchk_version : "HTTP/1.0";
	list_for_each(r, &be->http_check_rules, list) {
		char **w = r->args;
		int n = r->nargs, i;

		if (n > 0 && !strcmp(w[0], "http-check")) {
			w++;
			n--;
		}
		if (n < 1)
			continue;
		if (!strcmp(w[0], "expect")) {
			if (hb_add_expect(hb, w + 1, n - 1, &r->loc) < 0)
				goto nomem;
			continue;
		}
		if (strcmp(w[0], "send"))
			continue; /* connect, disable-on-404, comment...: nothing to do */
		for (i = 1; i + 1 < n; i += 2) {
			if (!strcmp(w[i], "meth"))
				meth = w[i + 1];
			else if (!strcmp(w[i], "uri") || !strcmp(w[i], "uri-lf"))
				uri = w[i + 1];
			else if (!strcmp(w[i], "ver"))
				ver = w[i + 1];
			else if (!strcmp(w[i], "body") || !strcmp(w[i], "body-lf"))
				body = w[i + 1];
			else if (!strcmp(w[i], "hdr") && i + 2 < n) {
				char **nh = realloc(hdrs, (nhdrs + 2) * sizeof(*nh));

				if (!nh)
					goto nomem;
				hdrs = nh;
				hdrs[nhdrs++] = w[i + 1];
				hdrs[nhdrs++] = w[i + 2];
				if (!strcasecmp(w[i + 1], "connection"))
					has_conn = true;
				i++;
			}
		}
	}
	if (sb_str(&req, &reqlen, meth) || sb_str(&req, &reqlen, " ") ||
	    sb_str(&req, &reqlen, uri) || sb_str(&req, &reqlen, " ") ||
	    sb_unescaped(&req, &reqlen, ver) || sb_str(&req, &reqlen, "\r\n"))
		goto nomem;
	for (int i = 0; i + 1 < nhdrs; i += 2) {
		if (sb_str(&req, &reqlen, hdrs[i]) || sb_str(&req, &reqlen, ": ") ||
		    sb_str(&req, &reqlen, hdrs[i + 1]) || sb_str(&req, &reqlen, "\r\n"))
			goto nomem;
	}
	/* One request per connection: say so to HTTP/1.1 servers. */
	if (!has_conn && strstr(ver, "HTTP/1.1") && sb_str(&req, &reqlen, "Connection: close\r\n"))
		goto nomem;
	if (body) {
		char cl[48];

		snprintf(cl, sizeof(cl), "Content-Length: %zu\r\n", strlen(body));
		if (sb_str(&req, &reqlen, cl))
			goto nomem;
	}
	if (sb_str(&req, &reqlen, "\r\n") || (body && sb_str(&req, &reqlen, body)))
		goto nomem;
	free(hdrs);
	hb->req = req;
	hb->reqlen = reqlen;
	return hb;
nomem:
	free(hdrs);
	free(req);
	hbackend_free(hb);
	return NULL;
}

/* ---- scheduling ---- */

static int hc_max_health(const struct server *s)
{
	int rise = s->check.rise > 0 ? s->check.rise : 1,
	    fall = s->check.fall > 0 ? s->check.fall : 1;

	return rise + fall - 1;
}

static int hc_rise(const struct server *s)
{
	return s->check.rise > 0 ? s->check.rise : 1;
}

/* HAProxy's choice: inter when fully up, downinter when fully down, fastinter in between. */
static uint32_t hc_interval(const struct hcheck *hc)
{
	const struct server *s = hc->srv;
	uint32_t inter = s->check.inter ? s->check.inter : 2000;

	if (hc->health == hc_max_health(s))
		return inter;
	if (hc->health == 0 && s->chk_state == SRV_CHK_DOWN)
		return s->check.downinter ? s->check.downinter : inter;
	return s->check.fastinter ? s->check.fastinter : inter;
}

/* `spread-checks N`: +/- N% of random jitter on every interval. */
static double hc_spread_ms(uint32_t ms)
{
	double d = ms;

	if (hc_spread > 0) {
		double r = (double)random() / (double)RAND_MAX * 2.0 - 1.0;

		d += d * r * hc_spread / 100.0;
	}
	return d > 1 ? d : 1;
}

static void hc_timer_cb(struct ev_loop *loop, ev_timer *t, int revents);
static void hc_io_cb(struct ev_loop *loop, ev_io *io, int revents);

static void hc_schedule(struct hcheck *hc, double ms)
{
	ev_timer_stop(hc_loop, &hc->timer);
	ev_timer_set(&hc->timer, ms / 1000.0, 0.0);
	ev_timer_start(hc_loop, &hc->timer);
}

static void hc_close(struct hcheck *hc)
{
	ev_io_stop(hc_loop, &hc->io);
	if (hc->x.ops) {
		if (hc->x.ssl && hc->tls_up)
			hc->x.ops->shutw(&hc->x); /* close_notify */
		hc->x.ops->release(&hc->x);
	}
	memset(&hc->x, 0, sizeof(hc->x));
	hc->tls_up = false;
	if (hc->fd >= 0)
		close(hc->fd);
	hc->fd = -1;
	hc->phase = HC_IDLE;
	hc->reqoff = 0;
	hc->rlen = 0;
	hc->rd_eof = false;
}

static struct hcheck *hcheck_new(struct server *s)
{
	struct hcheck *hc = calloc(1, sizeof(*hc));

	if (!hc)
		return NULL;
	hc->hb = hbackend_get(s->be);
	if (!hc->hb) {
		free(hc);
		return NULL;
	}
	server_get(s);
	hc->srv = s;
	hc->fd = -1;
	hc->enabled = !s->chk_disabled;
	/*
	 * As HAProxy: a server starts UP with the counter at `rise`, "up, but
	 * will fall down at first failure"; the first success makes it fully up.
	 */
	hc->health = s->chk_state == SRV_CHK_UP ? hc_rise(s) : 0;
	hc->status = HCHK_INI;
	hc->duration_ms = -1;
	ev_init(&hc->io, hc_io_cb);
	hc->io.data = hc;
	ev_init(&hc->timer, hc_timer_cb);
	hc->timer.data = hc;
	list_add_tail(&hc->list, &checks);
	hc_hash_add(hc);
	return hc;
}

static void hcheck_free(struct hcheck *hc)
{
	hc_close(hc);
	ev_timer_stop(hc_loop, &hc->timer);
	list_del(&hc->list);
	hc_hash_del(hc);
	free(hc->rbuf);
	server_put(hc->srv);
	free(hc);
}

/* ---- state machine ---- */

static void hc_set_state(struct hcheck *hc, enum srv_check_state st)
{
	struct server *s = hc->srv;
	struct proxy *be = s->be;
	int act0, bck0, act, bck, cur, queued;
	char extra[256] = "";
	const char *kind = s->backup ? "Backup " : "";

	pthread_mutex_lock(&be->lock);
	health_count_usable(be, &act0, &bck0);
	s->chk_state = st;
	s->last_change = now_ms();
	if (st == SRV_CHK_DOWN)
		s->down_trans++;
	backend_recalc(be);
	health_count_usable(be, &act, &bck);
	cur = __atomic_load_n(&s->cur_conns, __ATOMIC_RELAXED);
	queued = __atomic_load_n(&s->queued, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&be->lock);

	/* With `option log-health-checks` the check's line said why: HAProxy omits it here. */
	if (!(be->options & PX_OPT_LOG_HEALTH)) {
		size_t l;

		snprintf(extra, sizeof(extra), ", reason: %s", health_status_desc(hc->status));
		l = strlen(extra);
		if (hc->code)
			snprintf(extra + l, sizeof(extra) - l, ", code: %d", hc->code);
		l = strlen(extra);
		if (st == SRV_CHK_DOWN && hc->info[0])
			snprintf(extra + l, sizeof(extra) - l, ", info: \"%s\"", hc->info);
		l = strlen(extra);
		snprintf(extra + l, sizeof(extra) - l, ", check duration: %dms", hc->duration_ms);
	}
	if (st == SRV_CHK_DOWN)
		health_log(be, SYSLOG_ALERT,
			   "%sServer %s/%s is DOWN%s. %d active and %d backup servers left.%s %d "
			   "sessions active, 0 requeued, %d remaining in queue.",
			   kind, be->name, s->name, extra, act, bck,
			   act == 0 && bck > 0 ? " Running on backup." : "", cur, queued);
	else
		health_log(be, SYSLOG_NOTICE,
			   "%sServer %s/%s is UP%s. %d active and %d backup servers online.%s 0 "
			   "sessions requeued, %d total in queue.",
			   kind, be->name, s->name, extra, act, bck,
			   act == 0 && bck > 0 ? " Running on backup." : "", queued);
	health_log_no_server(be, act0 + bck0, act + bck);
}

/* Conclude the running check with a result, update the counter, schedule the next one. */
/*
 * `option log-health-checks`: one line per check that moves the counter,
 * "Health check for server web/s1 failed, reason: ..., status: 2/3 UP."
 */
static void hc_log_check(struct hcheck *hc, bool ok, bool up_after)
{
	struct server *s = hc->srv;
	int rise = hc_rise(s), fall = s->check.fall > 0 ? s->check.fall : 1;
	char extra[256] = "";

	if (hc->code)
		snprintf(extra, sizeof(extra), ", code: %d", hc->code);
	if (hc->info[0]) {
		size_t l = strlen(extra);

		snprintf(extra + l, sizeof(extra) - l, ", info: \"%s\"", hc->info);
	}
	health_log(s->be, SYSLOG_NOTICE,
		   "Health check for %sserver %s/%s %s, reason: %s%s, check duration: %dms, "
		   "status: %d/%d %s.",
		   s->backup ? "backup " : "", s->be->name, s->name, ok ? "succeeded" : "failed",
		   health_status_desc(hc->status), extra, hc->duration_ms,
		   up_after ? hc->health - rise + 1 : hc->health, up_after ? fall : rise,
		   up_after ? "UP" : "DOWN");
}

/* Conclude the running check with a result, update the counter, schedule the next one. */
static void hc_conclude(struct hcheck *hc, enum hchk_status st, int code, const char *info)
{
	struct server *s = hc->srv;
	bool ok = st == HCHK_L4OK || st == HCHK_L7OK || st == HCHK_L7OKC || st == HCHK_L6OK;
	int max = hc_max_health(s), rise = hc_rise(s), before = hc->health;
	enum srv_check_state next = s->chk_state;
	uint64_t now = now_ms();

	hc->duration_ms = (int)(now - hc->t_start);
	hc->status = st;
	hc->code = code;
	snprintf(hc->info, sizeof(hc->info), "%s", info ? info : "");
	hc_close(hc);
	if (!s->last_chk || strcmp(s->last_chk, hc->info)) {
		free(s->last_chk);
		s->last_chk = strdup(hc->info);
	}
	if (ok) {
		hc->result = HCHK_RES_PASSED;
		if (hc->health < rise)
			hc->health++;
		if (hc->health >= rise) {
			hc->health = max;
			next = SRV_CHK_UP;
		}
	} else {
		hc->result = HCHK_RES_FAILED;
		if (s->chk_state == SRV_CHK_UP)
			s->chk_fails++;
		if (hc->health > rise) {
			hc->health--;
		} else {
			hc->health = 0;
			next = SRV_CHK_DOWN;
		}
	}
	if (hc->health != before && (s->be->options & PX_OPT_LOG_HEALTH))
		hc_log_check(hc, ok, next == SRV_CHK_UP);
	if (next != s->chk_state)
		hc_set_state(hc, next);
	hc_schedule(hc, hc_spread_ms(hc_interval(hc)));
}

/* ---- HTTP response evaluation ---- */

struct hresp {
	bool bad; /* what arrived cannot be an HTTP response */
	bool status_ok; /* a valid status line */
	int code;
	char reason[96];
	bool hdrs_done;
	const char *body;
	size_t body_len;
	long long clen; /* -1 unknown */
	bool chunked;
};

static const char *find_hdr_end(const char *buf, size_t len, size_t *hlen)
{
	const char *p = memmem(buf, len, "\r\n\r\n", 4);

	if (p) {
		*hlen = p - buf + 4;
		return p;
	}
	p = memmem(buf, len, "\n\n", 2);
	if (p)
		*hlen = p - buf + 2;
	return p;
}

static void hresp_parse(const char *buf, size_t len, struct hresp *r)
{
	const char *eol = memchr(buf, '\n', len), *p;
	size_t hlen = 0;

	memset(r, 0, sizeof(*r));
	r->clen = -1;
	/* Not even starting like "HTTP/": no need to wait for more. */
	if (memcmp(buf, "HTTP/", len < 5 ? len : 5)) {
		r->bad = true;
		return;
	}
	if (!eol)
		return;
	/* "HTTP/x.y NNN reason" */
	r->bad = true;
	if (eol - buf < 12 || buf[5] < '0' || buf[5] > '9' || buf[6] != '.' || buf[7] < '0' ||
	    buf[7] > '9' || buf[8] != ' ')
		return;
	for (int i = 9; i < 12; i++)
		if (buf[i] < '0' || buf[i] > '9')
			return;
	if (buf + 12 < eol && buf[12] != ' ' && buf[12] != '\r')
		return;
	r->bad = false;
	r->code = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
	r->status_ok = true;
	p = buf + 12;
	while (p < eol && *p == ' ')
		p++;
	{
		size_t n = eol - p;

		if (n && p[n - 1] == '\r')
			n--;
		if (n >= sizeof(r->reason))
			n = sizeof(r->reason) - 1;
		memcpy(r->reason, p, n);
		r->reason[n] = '\0';
	}
	if (!find_hdr_end(buf, len, &hlen))
		return;
	r->hdrs_done = true;
	r->body = buf + hlen;
	r->body_len = len - hlen;
	/* Content-Length and Transfer-Encoding, to know when the body is complete. */
	for (p = eol + 1; p < buf + hlen;) {
		const char *e = memchr(p, '\n', buf + hlen - p);

		if (!e)
			break;
		if (e - p > 15 && !strncasecmp(p, "content-length:", 15))
			r->clen = strtoll(p + 15, NULL, 10);
		else if (e - p > 18 && !strncasecmp(p, "transfer-encoding:", 18) &&
			 memmem(p, e - p, "chunked", 7))
			r->chunked = true;
		p = e + 1;
	}
}

/* True when enough of the response arrived to evaluate it. */
static bool hresp_complete(const struct hcheck *hc, const struct hresp *r)
{
	if (r->bad || hc->rd_eof || hc->rlen >= HC_BUFSIZE)
		return true;
	if (!r->hdrs_done)
		return false;
	if (!hc->hb->need_body)
		return true;
	if (r->clen >= 0)
		return (long long)r->body_len >= r->clen;
	if (r->chunked)
		return r->body_len >= 5 && (!memcmp(r->body, "0\r\n\r\n", 5) ||
					    memmem(r->body, r->body_len, "\r\n0\r\n\r\n", 7));
	return false; /* body until close */
}

static bool status_in(const struct hexpect *e, int code)
{
	for (int i = 0; i < e->nranges; i++)
		if (code >= e->lo[i] && code <= e->hi[i])
			return true;
	return false;
}

static void hc_eval_http(struct hcheck *hc)
{
	struct hresp r;
	char codebuf[8];
	char *body = NULL;

	hresp_parse(hc->rbuf, hc->rlen, &r);
	if (!r.status_ok)
		return hc_conclude(hc, HCHK_L7RSP, 0, NULL);
	snprintf(codebuf, sizeof(codebuf), "%d", r.code);
	if (hc->hb->nexp == 0) {
		if (r.code >= 200 && r.code < 400)
			return hc_conclude(hc, HCHK_L7OK, r.code, NULL);
		return hc_conclude(hc, HCHK_L7STS, r.code, r.reason);
	}
	for (int i = 0; i < hc->hb->nexp; i++) {
		const struct hexpect *e = &hc->hb->exp[i];
		bool match = false;

		switch (e->type) {
		case HEXP_STATUS:
			match = status_in(e, r.code);
			break;
		case HEXP_RSTATUS:
			match = regexec(&e->re, codebuf, 0, NULL, 0) == 0;
			break;
		case HEXP_STRING:
			match = r.body && r.body_len &&
				memmem(r.body, r.body_len, e->pat, strlen(e->pat)) != NULL;
			break;
		case HEXP_RSTRING:
			if (!body) {
				body = strndup(r.body ? r.body : "", r.body ? r.body_len : 0);
				if (!body)
					return hc_conclude(hc, HCHK_SOCKERR, 0, "out of memory");
			}
			match = regexec(&e->re, body, 0, NULL, 0) == 0;
			break;
		}
		if (e->neg)
			match = !match;
		if (match)
			continue;
		free(body);
		if (e->type == HEXP_STATUS || e->type == HEXP_RSTATUS)
			return hc_conclude(hc, HCHK_L7STS, r.code, r.reason);
		return hc_conclude(hc, HCHK_L7RSP, 0,
				   e->neg ? "HTTP check matched unwanted content" :
					    "HTTP content check did not match");
	}
	free(body);
	hc_conclude(hc, HCHK_L7OK, r.code, NULL);
}

/* ---- I/O ---- */

static void hc_set_io(struct hcheck *hc, int events)
{
	ev_io_stop(hc_loop, &hc->io);
	ev_io_set(&hc->io, hc->fd, events);
	ev_io_start(hc_loop, &hc->io);
}

/* After the connect: the time left for the rest of the check. */
static double hc_rest_timeout_ms(struct hcheck *hc)
{
	struct proxy *be = hc->srv->be;
	uint32_t inter = hc->srv->check.inter ? hc->srv->check.inter : 2000;
	int64_t left;

	if (be->to.check)
		return be->to.check;
	left = (int64_t)inter - (int64_t)(now_ms() - hc->t_start);
	return left > 1 ? (double)left : 1.0;
}

/* The events the transport waits for, else ev. */
static void hc_wait(struct hcheck *hc, int ev)
{
	hc_set_io(hc, hc->x.want ? hc->x.want : ev);
}

static void hc_connected(struct hcheck *hc);

/* TLS checks: the handshake after the connect (a TCP check passes at its end). */
static void hc_handshake(struct hcheck *hc)
{
	int r;

	if (hc->phase != HC_HANDSHAKE) {
		hc->phase = HC_HANDSHAKE;
		hc_schedule(hc, hc_rest_timeout_ms(hc));
	}
	r = hc->x.ops->handshake(&hc->x);
	if (r == 0)
		return hc_wait(hc, EV_READ);
	if (r < 0)
		return hc_conclude(hc, HCHK_L6RSP, 0,
				   hc->x.err ? hc->x.err : "TLS handshake failed");
	hc->tls_up = true;
	if (!hc->hb->http)
		return hc_conclude(hc, HCHK_L6OK, 0, NULL);
	hc_connected(hc);
}

static void hc_connected(struct hcheck *hc)
{
	if (hc->x.ssl && !hc->tls_up)
		return hc_handshake(hc);
	if (!hc->hb->http)
		return hc_conclude(hc, HCHK_L4OK, 0, NULL);
	hc->phase = HC_SENDING;
	hc->reqoff = 0;
	hc->rlen = 0;
	hc_schedule(hc, hc_rest_timeout_ms(hc));
	hc_set_io(hc, EV_WRITE);
}

static void hc_do_send(struct hcheck *hc)
{
	while (hc->reqoff < hc->hb->reqlen) {
		ssize_t n = hc->x.ops->send(&hc->x, hc->hb->req + hc->reqoff,
					    hc->hb->reqlen - hc->reqoff);

		if (n > 0) {
			hc->reqoff += n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return hc_wait(hc, EV_WRITE);
		/* The server closed before taking the request. */
		return hc_conclude(hc, HCHK_L7RSP, 0, n < 0 ? strerror(errno) : NULL);
	}
	hc->phase = HC_READING;
	hc_set_io(hc, EV_READ);
}

static void hc_do_read(struct hcheck *hc)
{
	struct hresp r;

	if (!hc->rbuf) {
		hc->rbuf = malloc(HC_BUFSIZE);
		if (!hc->rbuf)
			return hc_conclude(hc, HCHK_SOCKERR, 0, "out of memory");
	}
	while (hc->rlen < HC_BUFSIZE) {
		ssize_t n = hc->x.ops->recv(&hc->x, hc->rbuf + hc->rlen, HC_BUFSIZE - hc->rlen);

		if (n > 0) {
			hc->rlen += n;
			continue;
		}
		if (n == 0) {
			hc->rd_eof = true;
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			hc_wait(hc, EV_READ);
			break;
		}
		/* Reset after a partial answer: judge what arrived. */
		hc->rd_eof = true;
		break;
	}
	hresp_parse(hc->rbuf, hc->rlen, &r);
	if (hresp_complete(hc, &r))
		hc_eval_http(hc);
}

static void hc_io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct hcheck *hc = io->data;

	switch (hc->phase) {
	case HC_CONNECTING: {
		int err = 0;
		socklen_t len = sizeof(err);

		if (getsockopt(hc->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err)
			return hc_conclude(hc, HCHK_L4CON, 0, strerror(err));
		return hc_connected(hc);
	}
	case HC_HANDSHAKE:
		return hc_handshake(hc);
	case HC_SENDING:
		hc_do_send(hc);
		if (hc->phase == HC_READING)
			hc_do_read(hc);
		return;
	case HC_READING:
		return hc_do_read(hc);
	case HC_IDLE:
		ev_io_stop(loop, io);
		return;
	}
}

/* The port of an address, in network order (AF_INET6, else read as AF_INET). */
static uint16_t ss_port(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)ss)->sin6_port :
					   ((const struct sockaddr_in *)ss)->sin_port;
}

/* The address a check connects to: `addr` and `port` override the server's. */
static int hc_target(const struct server *s, struct sockaddr_storage *ss, socklen_t *len)
{
	uint16_t port;

	if (s->check.addr.ss_family) {
		*ss = s->check.addr;
		*len = ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
						   sizeof(struct sockaddr_in);
		port = ss_port(ss);
		if (!port)
			port = ss_port(&s->addr);
	} else {
		*ss = s->addr;
		*len = s->addrlen		 ? s->addrlen :
		       ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
						   sizeof(struct sockaddr_in);
		port = ss_port(ss);
	}
	if (s->check.port > 0)
		port = htons((uint16_t)s->check.port);
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = port;
	else if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = port;
	else
		return -EAFNOSUPPORT;
	return port ? 0 : -EDESTADDRREQ;
}

static void hc_start_check(struct hcheck *hc)
{
	struct server *s = hc->srv;
	struct proxy *be = s->be;
	struct sockaddr_storage ss;
	socklen_t len;
	uint32_t inter = s->check.inter ? s->check.inter : 2000, cto;
	int one = 1, rc;

	hc->t_start = now_ms();
	hc->phase = HC_CONNECTING;
	rc = hc_target(s, &ss, &len);
	if (rc < 0)
		return hc_conclude(hc, HCHK_SOCKERR, 0,
				   rc == -EDESTADDRREQ ? "no port to check" : strerror(-rc));
	hc->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (hc->fd < 0)
		return hc_conclude(hc, HCHK_SOCKERR, 0, strerror(errno));
	/* TLS: `check-ssl`, or `ssl` when the check goes to the server's port */
	if (s->check.ssl == SRV_CHK_SSL_ON ||
	    (s->check.ssl == SRV_CHK_SSL_AUTO && s->ssl && !s->check.port)) {
		if (!s->tls || xconn_init_tls_client(&hc->x, s->tls, hc->fd, NULL) < 0)
			return hc_conclude(hc, HCHK_SOCKERR, 0,
					   s->tls ? "cannot set up TLS" : "no TLS context");
	} else {
		xconn_init_raw(&hc->x, hc->fd);
	}
	setsockopt(hc->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	srcport_apply(hc->fd);
	/* Connect phase: `timeout connect` when set, never longer than `inter`. */
	cto = be->to.connect && be->to.connect < inter ? be->to.connect : inter;
	if (connect(hc->fd, (struct sockaddr *)&ss, len) == 0)
		return hc_connected(hc);
	if (errno != EINPROGRESS)
		return hc_conclude(hc, HCHK_L4CON, 0, strerror(errno));
	hc_schedule(hc, cto);
	hc_set_io(hc, EV_WRITE);
}

static void hc_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct hcheck *hc = t->data;
	struct server *s = hc->srv;

	switch (hc->phase) {
	case HC_IDLE:
		/* Removed without health_server_removed(): drop the check and the reference. */
		if (s->removed)
			return hcheck_free(hc);
		/* Paused while disabled or in maintenance; looked at again after inter. */
		if (!hc->enabled || s->admin == SRV_ADMIN_MAINT) {
			hc_schedule(hc, s->check.inter ? s->check.inter : 2000);
			return;
		}
		return hc_start_check(hc);
	case HC_CONNECTING:
		return hc_conclude(hc, HCHK_L4TOUT, 0, NULL);
	case HC_HANDSHAKE:
		return hc_conclude(hc, HCHK_L6TOUT, 0, NULL);
	case HC_SENDING:
	case HC_READING:
		return hc_conclude(hc, HCHK_L7TOUT, 0, NULL);
	}
}

/* ---- public interface ---- */

static void hc_begin(struct hcheck *hc, double first_ms)
{
	if (hc->enabled)
		hc_schedule(hc, first_ms);
}

/* HAProxy spreads the first checks over the smallest interval: server i of n at i * inter / n. */
static int health_start_model(struct model *m)
{
	struct proxy *be;
	struct server *s;
	uint32_t mininter = 0;
	int n = 0, i = 0;

	hc_spread = m->global.spread_checks;
	list_for_each(be, &m->proxies, list) {
		if (!(be->cap & PX_CAP_BE))
			continue;
		list_for_each(s, &be->servers, list) {
			if (!s->check.enabled)
				continue;
			n++;
			if (!mininter || (s->check.inter && s->check.inter < mininter))
				mininter = s->check.inter;
		}
	}
	if (!mininter)
		mininter = 2000;
	list_for_each(be, &m->proxies, list) {
		if (!(be->cap & PX_CAP_BE))
			continue;
		list_for_each(s, &be->servers, list) {
			struct hcheck *hc;

			if (!s->check.enabled || hc_find(s))
				continue;
			hc = hcheck_new(s);
			if (!hc) {
				lb_err("health: cannot set up the check of %s/%s: out of memory",
				       be->name, s->name);
				continue;
			}
			hc_begin(hc, (double)i++ * mininter / n + 1);
		}
	}
	return 0;
}

int health_start(struct lbd *d)
{
	hc_loop = d->loop;
	return health_start_model(d->m);
}

static void health_free_all(struct list_head *list)
{
	struct hcheck *hc, *tmp;
	struct hbackend *hb, *hbt;

	list_for_each_safe(hc, tmp, list, list)
		hcheck_free(hc);
	list_for_each_safe(hb, hbt, &hbackends, list)
		hbackend_free(hb);
}

void health_stop(void)
{
	if (!hc_loop)
		return;
	health_free_all(&checks);
}

int health_reload(struct lbd *d)
{
	struct list_head old = LIST_HEAD_INIT(old);
	struct hcheck *hc, *tmp, *oc;
	struct list_head oldhb = LIST_HEAD_INIT(oldhb);
	struct hbackend *hb, *hbt;

	hc_loop = d->loop;
	/* Take the old checks (and their backend settings) aside. */
	list_for_each_safe(hc, tmp, &checks, list) {
		hc_close(hc);
		ev_timer_stop(hc_loop, &hc->timer);
		hc_hash_del(hc);
		list_del(&hc->list);
		list_add_tail(&hc->list, &old);
	}
	list_for_each_safe(hb, hbt, &hbackends, list) {
		list_del(&hb->list);
		list_add_tail(&hb->list, &oldhb);
	}
	health_start_model(d->m);
	/* Same backend and server name: keep the counter and the last result. */
	list_for_each(hc, &checks, list) {
		struct server *s = hc->srv;

		list_for_each(oc, &old, list) {
			int max = hc_max_health(s), rise = hc_rise(s);

			if (strcmp(oc->srv->name, s->name) || strcmp(oc->hb->be->name, s->be->name))
				continue;
			hc->health = oc->health;
			if (s->chk_state == SRV_CHK_UP) {
				if (hc->health < rise)
					hc->health = rise;
				if (hc->health > max)
					hc->health = max;
			} else if (hc->health >= rise) {
				hc->health = rise - 1;
			}
			hc->status = oc->status;
			hc->result = oc->result;
			hc->code = oc->code;
			hc->duration_ms = oc->duration_ms;
			memcpy(hc->info, oc->info, sizeof(hc->info));
			break;
		}
	}
	list_for_each_safe(oc, tmp, &old, list) {
		list_del(&oc->list);
		list_init(&oc->list);
		free(oc->rbuf);
		server_put(oc->srv);
		free(oc);
	}
	list_for_each_safe(hb, hbt, &oldhb, list)
		hbackend_free(hb);
	return 0;
}

void health_server_added(struct server *s)
{
	struct hcheck *hc;

	if (!hc_loop || !s->check.enabled || hc_find(s))
		return;
	hc = hcheck_new(s);
	if (!hc) {
		lb_err("health: cannot set up the check of %s/%s: out of memory", s->be->name,
		       s->name);
		return;
	}
	hc_begin(hc, 1);
}

void health_server_removed(struct server *s)
{
	struct hcheck *hc = hc_find(s);

	if (hc)
		hcheck_free(hc);
}

void health_server_changed(struct server *s)
{
	struct hcheck *hc = hc_find(s);

	if (!hc)
		return;
	hc_close(hc);
	if (hc->enabled)
		hc_schedule(hc, 1);
}

void health_admin_ready(struct server *s)
{
	struct hcheck *hc = hc_find(s);

	s->chk_state = SRV_CHK_UP;
	if (hc && hc->enabled)
		hc->health = hc_rise(s);
}

int health_set_enabled(struct server *s, bool on)
{
	struct hcheck *hc = hc_find(s);

	if (!s->check.enabled)
		return -ENOENT;
	if (!hc) {
		s->chk_disabled = !on;
		health_server_added(s);
		return 0;
	}
	s->chk_disabled = !on;
	if (hc->enabled == on)
		return 0;
	hc->enabled = on;
	if (!on) {
		hc_close(hc);
		ev_timer_stop(hc_loop, &hc->timer);
	} else {
		hc_schedule(hc, 1);
	}
	return 0;
}

int health_force(struct server *s, bool up)
{
	struct hcheck *hc = hc_find(s);
	struct proxy *be = s->be;
	int act0, bck0, act, bck;
	enum srv_check_state st = up ? SRV_CHK_UP : SRV_CHK_DOWN;

	if (hc)
		hc->health = up ? hc_max_health(s) : 0;
	if (s->chk_state == st)
		return 0;
	pthread_mutex_lock(&be->lock);
	health_count_usable(be, &act0, &bck0);
	s->chk_state = st;
	s->last_change = now_ms();
	if (!up)
		s->down_trans++;
	backend_recalc(be);
	health_count_usable(be, &act, &bck);
	pthread_mutex_unlock(&be->lock);
	if (up)
		health_log(
			be, SYSLOG_NOTICE,
			"%sServer %s/%s is UP (forced by the runtime API). %d active and %d backup "
			"servers online.",
			s->backup ? "Backup " : "", be->name, s->name, act, bck);
	else
		health_log(
			be, SYSLOG_ALERT,
			"%sServer %s/%s is DOWN (forced by the runtime API). %d active and %d backup "
			"servers left.",
			s->backup ? "Backup " : "", be->name, s->name, act, bck);
	health_log_no_server(be, act0 + bck0, act + bck);
	return 0;
}

bool health_get_info(const struct server *s, struct health_info *hi)
{
	const struct hcheck *hc = hc_find(s);

	memset(hi, 0, sizeof(*hi));
	hi->rise = hc_rise(s);
	hi->fall = s->check.fall > 0 ? s->check.fall : 1;
	hi->duration_ms = -1;
	hi->info = "";
	hi->status = HCHK_INI;
	hi->configured = s->check.enabled;
	hi->enabled = s->check.enabled && !s->chk_disabled;
	hi->paused = s->admin == SRV_ADMIN_MAINT;
	hi->health = s->chk_state == SRV_CHK_UP ? hc_max_health(s) : 0;
	if (!hc)
		return false;
	hi->enabled = hc->enabled;
	hi->running = hc->phase != HC_IDLE;
	hi->health = hc->health;
	hi->status = hc->status;
	hi->result = hc->result;
	hi->code = hc->code;
	hi->duration_ms = hc->duration_ms;
	hi->info = hc->info;
	return true;
}
