// SPDX-License-Identifier: MIT
/*
 * Cookie-based persistence (see cookie.h and doc/http.md "Cookie
 * persistence"). The behaviour follows HAProxy 2.6, checked against it by
 * tests/vtc/l7_cookie.vtc; the code is lbd's own.
 *
 * Cookie values: NAME=SRV in insert and rewrite modes (with maxidle or
 * maxlife NAME=SRV|LAST[|FIRST], dates in 4-second units, base64),
 * NAME=SRV~APPVALUE in prefix mode.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "algo.h"
#include "cfg.h"
#include "cookie.h"
#include "log.h"
#include "http_proxy.h"

#define CK_DELIM_PFX '~'
#define CK_DELIM_DATE '|'
#define CK_FUTURE_MAX 86400 /* dates further ahead than this are taken as expired */

enum ck_mode {
	CK_PASSIVE = 0, /* no mode: the server sets the cookie, lbd only reads it */
	CK_INSERT,
	CK_REWRITE,
	CK_PREFIX,
};

struct l7_cookie {
	char *name;
	size_t name_len;
	enum ck_mode mode;
	bool indirect, nocache, postonly, preserve;
	uint32_t maxidle, maxlife; /* seconds, 0 = none */
	char *attrs; /* what follows "NAME=VALUE" in an inserted cookie */
	size_t attrs_len;
};

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void l7_ck_date_enc(uint32_t units, char out[5])
{
	for (int i = 0; i < 5; i++)
		out[i] = b64[(units >> (6 * (4 - i))) & 0x3f];
}

time_t l7_ck_date_dec(const char *in)
{
	uint32_t v = 0;

	for (int i = 0; i < 5; i++) {
		const char *c = in[i] ? strchr(b64, in[i]) : NULL;

		if (!c)
			return 0;
		v = v << 6 | (uint32_t)(c - b64);
	}
	return (time_t)v << 2;
}

/* ---- configuration ---- */

/* An attribute or domain value: no ';' and no control character. */
static int ck_value_ok(const char *opt, const char *v, char **err)
{
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (*p == ';' || *p < 0x20 || *p == 0x7f)
			return cfg_err(err,
				       "'cookie': character %#04x is not permitted in the %s '%s'",
				       *p, opt, v);
	}
	return 0;
}

static int ck_append(struct l7_cookie *ck, const char *a, const char *b)
{
	size_t la = strlen(a), lb = b ? strlen(b) : 0;
	char *n = realloc(ck->attrs, ck->attrs_len + la + lb + 1);

	if (!n)
		return -1;
	memcpy(n + ck->attrs_len, a, la);
	if (lb)
		memcpy(n + ck->attrs_len + la, b, lb);
	ck->attrs_len += la + lb;
	n[ck->attrs_len] = 0;
	ck->attrs = n;
	return 0;
}

/* Parse the options into ck (name not set). */
static int ck_parse(struct l7_cookie *ck, char *const *args, int nargs, char **err)
{
	bool httponly = false, secure = false;
	char **domains = NULL, **attrs = NULL;
	int ndom = 0, nattr = 0, modes = 0, rc = -1;
	uint32_t ms;

	domains = calloc(nargs + 1, sizeof(*domains));
	attrs = calloc(nargs + 1, sizeof(*attrs));
	if (!domains || !attrs) {
		cfg_err(err, "'cookie': out of memory");
		goto out;
	}
	for (int i = 0; i < nargs; i++) {
		const char *a = args[i];

		if (!strcmp(a, "insert") || !strcmp(a, "rewrite") || !strcmp(a, "prefix")) {
			enum ck_mode m = a[0] == 'i' ? CK_INSERT :
					 a[0] == 'r' ? CK_REWRITE :
						       CK_PREFIX;

			if (ck->mode != m)
				modes++;
			ck->mode = m;
		} else if (!strcmp(a, "indirect")) {
			ck->indirect = true;
		} else if (!strcmp(a, "nocache")) {
			ck->nocache = true;
		} else if (!strcmp(a, "postonly")) {
			ck->postonly = true;
		} else if (!strcmp(a, "preserve")) {
			ck->preserve = true;
		} else if (!strcmp(a, "httponly")) {
			httponly = true;
		} else if (!strcmp(a, "secure")) {
			secure = true;
		} else if (!strcmp(a, "dynamic")) {
			cfg_err(err,
				"'cookie': option 'dynamic' (cookie values derived from 'dynamic-cookie-key') is not supported by lbd; give each server a 'cookie VALUE'");
			goto out;
		} else if (!strcmp(a, "domain") || !strcmp(a, "attr")) {
			if (i + 1 >= nargs) {
				cfg_err(err, "'cookie': '%s' expects a value, got nothing", a);
				goto out;
			}
			if (ck_value_ok(a[0] == 'd' ? "domain" : "attribute", args[i + 1], err) < 0)
				goto out;
			if (a[0] == 'd')
				domains[ndom++] = args[++i];
			else
				attrs[nattr++] = args[++i];
		} else if (!strcmp(a, "maxidle") || !strcmp(a, "maxlife")) {
			if (i + 1 >= nargs || cfg_parse_time(args[i + 1], &ms) < 0) {
				cfg_err(err, "'cookie': '%s' expects a time such as 30m, got '%s'",
					a, i + 1 < nargs ? args[i + 1] : "nothing");
				goto out;
			}
			if (a[4] == 'i')
				ck->maxidle = ms / 1000;
			else
				ck->maxlife = ms / 1000;
			i++;
		} else {
			cfg_err(err,
				"'cookie': unknown option '%s' (expected rewrite, insert, prefix, indirect, nocache, postonly, preserve, httponly, secure, domain, maxidle, maxlife, attr)",
				a);
			goto out;
		}
	}
	if (modes > 1) {
		cfg_err(err, "'cookie': modes 'rewrite', 'insert' and 'prefix' are incompatible");
		goto out;
	}
	if (ck->preserve && ck->mode != CK_INSERT && !ck->indirect) {
		cfg_err(err, "'cookie': 'preserve' requires at least 'insert' or 'indirect'");
		goto out;
	}
	/* as HAProxy writes them: path, domains, HttpOnly, Secure, then attr */
	if (ck_append(ck, "; path=/", NULL) < 0)
		goto oom;
	for (int i = 0; i < ndom; i++) {
		if (ck_append(ck, "; domain=", domains[i]) < 0)
			goto oom;
	}
	if ((httponly && ck_append(ck, "; HttpOnly", NULL) < 0) ||
	    (secure && ck_append(ck, "; Secure", NULL) < 0))
		goto oom;
	for (int i = 0; i < nattr; i++) {
		if (ck_append(ck, "; ", attrs[i]) < 0)
			goto oom;
	}
	rc = 0;
	goto out;
oom:
	cfg_err(err, "'cookie': out of memory");
out:
	free(domains);
	free(attrs);
	return rc;
}

int l7_cookie_check(char *const *args, int nargs, char **err)
{
	struct l7_cookie ck = { 0 };
	int rc = ck_parse(&ck, args, nargs, err);

	free(ck.attrs);
	return rc;
}

void l7_cookie_free(struct l7_cookie *ck)
{
	if (!ck)
		return;
	free(ck->name);
	free(ck->attrs);
	free(ck);
}

int l7_cookie_compile(struct proxy *px, struct l7_cookie **out, char **err)
{
	struct l7_cookie *ck;
	char *sub = NULL;
	int n = 0;

	*out = NULL;
	if (!px->cookie_name || !(px->cap & PX_CAP_BE))
		return 0;
	if (px->mode != PX_MODE_HTTP) {
		/* as HAProxy: a warning, the line stays (a defaults section may set it for all) */
		lb_warn("proxy '%s': 'cookie %s' is ignored: cookie persistence needs mode http",
			px->name, px->cookie_name);
		return 0;
	}
	ck = calloc(1, sizeof(*ck));
	if (!ck || !(ck->name = strdup(px->cookie_name))) {
		free(ck);
		return cfg_err(err, "out of memory");
	}
	ck->name_len = strlen(ck->name);
	while (px->cookie_args && px->cookie_args[n])
		n++;
	if (ck_parse(ck, px->cookie_args, n, &sub) < 0) {
		cfg_err(err, "%s:%d: backend '%s': %s", px->loc.file ? px->loc.file : "?",
			px->loc.line, px->name, sub ? sub : "'cookie': invalid");
		free(sub);
		l7_cookie_free(ck);
		return -1;
	}
	*out = ck;
	return 0;
}

/* ---- Cookie header parsing ---- */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

bool l7_ck_next(const char **pp, const char *end, struct l7_ck_pair *o)
{
	const char *p = *pp, *q, *eq = NULL, *ne;
	bool quoted = false;

	/* skip empty elements and blanks */
	while (p < end && (is_blank(*p) || *p == ';'))
		p++;
	if (p >= end) {
		*pp = end;
		return false;
	}
	for (q = p; q < end; q++) {
		if (*q == '"' && eq)
			quoted = !quoted;
		else if (*q == ';' && !quoted)
			break;
		else if (*q == '=' && !eq)
			eq = q;
	}
	*pp = q < end ? q + 1 : end;
	ne = q;
	while (ne > p && is_blank(ne[-1]))
		ne--;
	o->beg = p;
	o->end = ne;
	o->name = p;
	o->has_eq = eq != NULL;
	if (eq) {
		const char *nend = eq, *v = eq + 1;

		while (nend > p && is_blank(nend[-1]))
			nend--;
		while (v < ne && is_blank(*v))
			v++;
		o->name_len = nend - p;
		o->value = v;
		o->value_len = ne - v;
	} else {
		o->name_len = ne - p;
		o->value = ne;
		o->value_len = 0;
	}
	return true;
}

/* ---- request ---- */

/* The server may take persistent requests: HAProxy's "not stopped" (drain included). */
static bool ck_srv_ok(const struct server *s)
{
	return !s->removed && s->admin != SRV_ADMIN_MAINT && s->chk_state == SRV_CHK_UP;
}

/*
 * The first server of be whose cookie is v[0..len) and that is usable: 1
 * and *id. 0 when such servers exist but none is usable, -1 when none has
 * that cookie.
 */
static int ck_find(struct proxy *be, const char *v, size_t len, uint32_t *id)
{
	struct server *s;
	int rc = -1;

	pthread_mutex_lock(&be->lock);
	list_for_each(s, &be->servers, list) {
		if (!s->cookie || strlen(s->cookie) != len || memcmp(s->cookie, v, len))
			continue;
		if (ck_srv_ok(s)) {
			*id = s->id;
			rc = 1;
			break;
		}
		rc = 0;
	}
	pthread_mutex_unlock(&be->lock);
	return rc;
}

/* An output string being built in the arena. */
struct ck_out {
	char *buf;
	size_t len, cap;
};

static int out_put(struct l7_arena *a, struct ck_out *o, const char *s, size_t n)
{
	if (o->len + n + 1 > o->cap) {
		size_t cap = (o->len + n + 1) * 2;
		char *nb = l7_arena_alloc(a, cap);

		if (!nb)
			return -ENOMEM;
		if (o->len)
			memcpy(nb, o->buf, o->len);
		o->buf = nb;
		o->cap = cap;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = 0;
	return 0;
}

static void hdr_remove(struct l7_msg *m, uint32_t i)
{
	memmove(&m->hdrs[i], &m->hdrs[i + 1], (m->nhdrs - i - 1) * sizeof(*m->hdrs));
	m->nhdrs--;
}

/*
 * Look at one persistence cookie's value v[0..vlen). Returns where the
 * server part ends (the date or prefix delimiter, or the end), the server
 * part being empty when the cookie is expired.
 */
static const char *ck_value(const struct l7_cookie *ck, const char *v, size_t vlen,
			    struct l7_ck_txn *ct, time_t now)
{
	const char *end = v + vlen, *delim = end, *bar;

	if (ck->mode == CK_PREFIX) {
		delim = memchr(v, CK_DELIM_PFX, vlen);
		return delim ? delim : end;
	}
	bar = memchr(v, CK_DELIM_DATE, vlen);
	if (bar) {
		time_t d;

		delim = bar++;
		if (end - bar >= 5 && (d = l7_ck_date_dec(bar)) > 0)
			ct->last_date = d;
		bar = memchr(bar, CK_DELIM_DATE, end - bar);
		if (bar && end - bar > 5 && (d = l7_ck_date_dec(bar + 1)) > 0)
			ct->first_date = d;
	}
	if (ct->first_date && ck->maxlife &&
	    (now - ct->first_date > (time_t)ck->maxlife || ct->first_date - now > CK_FUTURE_MAX)) {
		ct->first_date = ct->last_date = 0;
		ct->req_st = 'O';
		return v; /* too old: as if there were no cookie */
	}
	if (ct->last_date && ck->maxidle &&
	    (now - ct->last_date > (time_t)ck->maxidle || ct->last_date - now > CK_FUTURE_MAX)) {
		ct->first_date = ct->last_date = 0;
		ct->req_st = 'E';
		return v; /* idle too long */
	}
	return delim;
}

int l7_cookie_req(const struct l7_cookie *ck, struct proxy *be, struct l7_msg *req,
		  struct l7_arena *arena, struct l7_ck_txn *ct)
{
	bool assigned = false, strip = ck->mode == CK_INSERT && ck->indirect;
	time_t now = time(NULL);
	uint32_t i;

	ct->post = req->h1 && req->h1->method == H1_M_POST;
	for (i = 0; i < req->nhdrs; i++) {
		struct h1_hdr *hd = &req->hdrs[i];
		const char *p = hd->value, *end = p + hd->value_len;
		struct ck_out o = { 0 };
		struct l7_ck_pair c;
		bool changed = false;
		int rc, found;

		if (!h1_hdr_is(hd, "cookie"))
			continue;
		while (l7_ck_next(&p, end, &c)) {
			const char *delim;

			if (c.name_len != ck->name_len || memcmp(c.name, ck->name, c.name_len) ||
			    c.name[0] == '$') {
				rc = (o.len ? out_put(arena, &o, "; ", 2) : 0) ?:
					     out_put(arena, &o, c.beg, c.end - c.beg);
				if (rc < 0)
					return rc;
				continue;
			}
			/* the persistence cookie */
			delim = ck_value(ck, c.value, c.value_len, ct, now);
			found = -1;
			if (!assigned && delim > c.value) {
				uint32_t id = 0;

				found = ck_find(be, c.value, delim - c.value, &id);
				if (found > 0) {
					ct->srv_id = id;
					assigned = true;
					ct->req_st = 'V';
				} else if (!found) {
					ct->req_st = 'D';
				}
			}
			/* as HAProxy: the first letter set stays, but V, D, E, O replace it */
			if (found < 0 && !ct->req_st)
				ct->req_st = 'I';
			if (ck->mode == CK_PREFIX && delim != c.value + c.value_len) {
				/* NAME=SRV~APP: the server gets NAME=APP */
				const char *app = delim + 1;

				rc = (o.len ? out_put(arena, &o, "; ", 2) : 0)		  ?:
					     out_put(arena, &o, c.name, c.value - c.name) ?:
					     out_put(arena, &o, app, c.end - app);
				if (rc < 0)
					return rc;
				changed = true;
			} else if (strip) {
				changed = true; /* insert indirect: the server never sees it */
			} else {
				rc = (o.len ? out_put(arena, &o, "; ", 2) : 0) ?:
					     out_put(arena, &o, c.beg, c.end - c.beg);
				if (rc < 0)
					return rc;
			}
		}
		if (!changed)
			continue;
		if (!o.len) {
			hdr_remove(req, i);
			i--;
			continue;
		}
		hd->value = o.buf;
		hd->value_len = (uint32_t)o.len;
	}
	return 0;
}

struct server *l7_cookie_take(struct proxy *be, struct l7_ck_txn *ct)
{
	struct server *s, *found = NULL;

	pthread_mutex_lock(&be->lock);
	list_for_each(s, &be->servers, list) {
		if (s->id == ct->srv_id) {
			found = s;
			break;
		}
	}
	if (!found || !ck_srv_ok(found)) {
		ct->srv_id = 0;
		ct->wait = false;
		if (ct->req_st == 'V')
			ct->req_st = 'D'; /* went down since the request came */
		found = NULL;
	} else if (lb_srv_full(found)) {
		ct->wait = true;
		found = NULL;
	} else {
		lb_account(found);
		ct->wait = false;
		ct->direct = true;
	}
	pthread_mutex_unlock(&be->lock);
	return found;
}

void l7_cookie_balanced(struct l7_ck_txn *ct, const struct server *s)
{
	if (ct->req_st == 'V' && (!s || s->id != ct->srv_id))
		ct->req_st = 'D';
}

/* ---- response ---- */

static bool cc_token(const char *v, size_t n, const char *tok)
{
	return strlen(tok) == n && !strncasecmp(v, tok, n);
}

/*
 * Could a shared cache store this response (HAProxy's test before adding
 * `Cache-control: private` with `nocache`): GET or HEAD, a status
 * cacheable by default, no Pragma: no-cache, no Cache-Control private,
 * no-cache, no-store, max-age=0 or s-maxage=0, and an expiry (max-age,
 * s-maxage, Expires) or a validator (ETag, Last-Modified).
 */
static bool rsp_cacheable(const struct l7_msg *rsp, unsigned int status, enum h1_method meth)
{
	static const unsigned int ok[] = { 200, 203, 204, 206, 300, 301, 404, 405, 410, 414, 501 };
	bool fresh = false, validator = false, st = false;
	uint32_t i;

	if (meth != H1_M_GET && meth != H1_M_HEAD)
		return false;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		st |= ok[i] == status;
	if (!st)
		return false;
	for (i = 0; i < rsp->nhdrs; i++) {
		const struct h1_hdr *hd = &rsp->hdrs[i];

		if (h1_hdr_is(hd, "pragma")) {
			if (cc_token(hd->value, hd->value_len, "no-cache"))
				return false;
		} else if (h1_hdr_is(hd, "cache-control")) {
			const char *el, *cur = hd->value;
			size_t len;

			while (h1_list_next(&cur, hd->value + hd->value_len, &el, &len)) {
				if (cc_token(el, len, "private") || cc_token(el, len, "no-cache") ||
				    cc_token(el, len, "no-store") ||
				    cc_token(el, len, "max-age=0") ||
				    cc_token(el, len, "s-maxage=0"))
					return false;
				if ((len >= 7 && !strncasecmp(el, "max-age", 7)) ||
				    (len >= 8 && !strncasecmp(el, "s-maxage", 8)))
					fresh = true;
			}
		} else if (h1_hdr_is(hd, "expires")) {
			fresh = true;
		} else if (h1_hdr_is(hd, "etag") || h1_hdr_is(hd, "last-modified")) {
			validator = true;
		}
	}
	return fresh || validator;
}

/* Set-Cookie from the server naming our cookie: delete, rewrite or prefix it. */
static int ck_server_cookie(const struct l7_cookie *ck, const struct server *srv,
			    struct l7_msg *rsp, uint32_t *i, struct l7_arena *arena,
			    struct l7_ck_txn *ct)
{
	struct h1_hdr *hd = &rsp->hdrs[*i];
	const char *p = hd->value, *end = p + hd->value_len, *eq, *v, *ve, *n, *ne;
	struct ck_out o = { 0 };
	int rc;

	while (p < end && is_blank(*p))
		p++;
	eq = memchr(p, '=', end - p);
	if (!eq)
		return 0;
	n = p;
	ne = eq;
	while (ne > n && is_blank(ne[-1]))
		ne--;
	if ((size_t)(ne - n) != ck->name_len || memcmp(n, ck->name, ck->name_len))
		return 0;
	v = eq + 1;
	while (v < end && is_blank(*v))
		v++;
	for (ve = v; ve < end && *ve != ';'; ve++)
		;
	while (ve > v && is_blank(ve[-1]))
		ve--;
	ct->sck_found = true;
	ct->rsp_st = 'P';
	if (ck->preserve)
		return 0;
	if ((srv && ck->mode == CK_INSERT) || (ct->direct && ck->indirect)) {
		hdr_remove(rsp, *i);
		(*i)--;
		ct->rsp_st = 'D';
		return 0;
	}
	if (!srv || !srv->cookie || (ck->mode != CK_REWRITE && ck->mode != CK_PREFIX))
		return 0;
	/* rewrite: NAME=SRV; prefix: NAME=SRV~VALUE; the attributes stay */
	rc = out_put(arena, &o, hd->value, v - hd->value) ?:
		     out_put(arena, &o, srv->cookie, strlen(srv->cookie));
	if (!rc && ck->mode == CK_PREFIX)
		rc = out_put(arena, &o, "~", 1) ?: out_put(arena, &o, v, ve - v);
	if (!rc)
		rc = out_put(arena, &o, ve, end - ve);
	if (rc < 0)
		return rc;
	hd->value = o.buf;
	hd->value_len = (uint32_t)o.len;
	ct->rsp_st = 'R';
	return 0;
}

int l7_cookie_rsp(const struct l7_cookie *ck, const struct server *srv, struct l7_msg *rsp,
		  unsigned int status, enum h1_method meth, struct l7_arena *arena,
		  struct l7_ck_txn *ct)
{
	time_t now = time(NULL);
	struct ck_out o = { 0 };
	bool dates = ck->maxidle || ck->maxlife;
	uint32_t i;
	int rc;

	for (i = 0; i < rsp->nhdrs; i++) {
		if (h1_hdr_is(&rsp->hdrs[i], "set-cookie") &&
		    (rc = ck_server_cookie(ck, srv, rsp, &i, arena, ct)) < 0)
			return rc;
	}
	if (ck->mode != CK_INSERT || !srv || (ct->sck_found && ck->preserve))
		return 0;
	if (ck->postonly && !ct->post)
		return 0;
	/*
	 * Insert when the request was balanced, or when the dates the cookie
	 * carries must be refreshed (last seen in the past, first seen
	 * missing, or present without maxlife).
	 */
	if (ct->direct && !((dates || ct->last_date) && (!ct->last_date || ct->last_date < now)) &&
	    !(ck->maxlife && !ct->first_date) && !(!ck->maxlife && ct->first_date))
		return 0;
	rc = out_put(arena, &o, ck->name, ck->name_len) ?: out_put(arena, &o, "=", 1);
	if (!rc && !srv->cookie) {
		/* a server without cookie: the client forgets the one it had */
		rc = out_put(arena, &o, "; Expires=Thu, 01-Jan-1970 00:00:01 GMT", 39);
	} else if (!rc) {
		rc = out_put(arena, &o, srv->cookie, strlen(srv->cookie));
		if (!rc && dates) {
			char d[6] = { CK_DELIM_DATE };

			l7_ck_date_enc((uint32_t)((now + 3) >> 2), d + 1);
			rc = out_put(arena, &o, d, 6);
			if (!rc && ck->maxlife) {
				l7_ck_date_enc((uint32_t)(ct->first_date ? ct->first_date >> 2 :
									   (now + 3) >> 2),
					       d + 1);
				rc = out_put(arena, &o, d, 6);
			}
		}
	}
	if (!rc)
		rc = out_put(arena, &o, ck->attrs, ck->attrs_len);
	if (!rc)
		rc = l7_hdr_add(rsp, "set-cookie", 10, o.buf, o.len);
	if (!rc) /* the same server again: only its dates changed */
		ct->rsp_st = srv->cookie && ct->direct ? 'U' : 'I';
	if (!rc && ck->nocache && rsp_cacheable(rsp, status, meth))
		rc = l7_hdr_add(rsp, "cache-control", 13, "private", 7);
	return rc;
}

void l7_cookie_log(const struct l7_cookie *ck, const struct l7_ck_txn *ct, char out[2])
{
	if (!ck || (ck->mode == CK_PASSIVE && !ck->indirect))
		return;
	out[0] = ct->req_st ? ct->req_st : 'N';
	out[1] = ct->rsp_st ? ct->rsp_st : 'N';
}
