// SPDX-License-Identifier: MIT
/*
 * http-request and http-response rules, log-format strings, and the
 * responses the proxy produces itself (deny, return, redirect, errors).
 *
 *   http-request allow | deny [deny_status N] [content-type T (string S | lf-string F | file P)]
 *                [hdr NAME FMT]*
 *              | return [status N] [content-type T (string S | lf-string F | file P | errorfile P)]
 *                [hdr NAME FMT]*
 *              | redirect (location L | prefix P | scheme S) [code N] [drop-query]
 *                [append-slash] [set-cookie NAME[=V]] [clear-cookie NAME[=]]
 *              | set-header | add-header NAME FMT | del-header NAME [-m str|beg|end|sub]
 *   http-response allow | deny | set-header | add-header | del-header | set-status N [reason R]
 * each optionally followed by `if COND` or `unless COND`.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "cfg.h"
#include "sbuf.h"
#include "http_proxy.h"

/* ---- arena ---- */

struct l7_arena_blk {
	struct l7_arena_blk *next;
	size_t size, used;
	char data[];
};

void *l7_arena_alloc(struct l7_arena *a, size_t n)
{
	struct l7_arena_blk *b = a->blk;
	void *p;

	n = (n + 7) & ~(size_t)7;
	if (!b || b->size - b->used < n) {
		size_t sz = n > 4096 ? n : 4096;

		b = malloc(sizeof(*b) + sz);
		if (!b)
			return NULL;
		b->size = sz;
		b->used = 0;
		b->next = a->blk;
		a->blk = b;
	}
	p = b->data + b->used;
	b->used += n;
	return p;
}

void l7_arena_reset(struct l7_arena *a)
{
	struct l7_arena_blk *b = a->blk, *n;

	while (b) {
		n = b->next;
		free(b);
		b = n;
	}
	a->blk = NULL;
}

/* ---- header edits ---- */

int l7_hdr_add(struct l7_msg *m, const char *name, size_t nlen, const char *value, size_t vlen)
{
	struct h1_hdr *h;

	if (m->nhdrs >= m->maxhdrs)
		return -ENOSPC;
	h = &m->hdrs[m->nhdrs++];
	h->name = name;
	h->name_len = (uint32_t)nlen;
	h->value = value;
	h->value_len = (uint32_t)vlen;
	return 0;
}

enum del_match {
	DEL_STR = 0,
	DEL_BEG,
	DEL_END,
	DEL_SUB,
};

static bool name_matches(const struct h1_hdr *h, const char *name, size_t nlen, int how)
{
	size_t hl = h->name_len, i;

	switch (how) {
	case DEL_BEG:
		return hl >= nlen && !strncasecmp(h->name, name, nlen);
	case DEL_END:
		return hl >= nlen && !strncasecmp(h->name + hl - nlen, name, nlen);
	case DEL_SUB:
		for (i = 0; i + nlen <= hl; i++) {
			if (!strncasecmp(h->name + i, name, nlen))
				return true;
		}
		return false;
	default:
		return hl == nlen && !strncasecmp(h->name, name, nlen);
	}
}

static void hdr_del_how(struct l7_msg *m, const char *name, size_t nlen, int how)
{
	uint32_t i, j = 0;

	for (i = 0; i < m->nhdrs; i++) {
		if (name_matches(&m->hdrs[i], name, nlen, how))
			continue;
		if (i != j)
			m->hdrs[j] = m->hdrs[i];
		j++;
	}
	m->nhdrs = j;
}

void l7_hdr_del(struct l7_msg *m, const char *name, size_t nlen)
{
	hdr_del_how(m, name, nlen, DEL_STR);
}

/* ---- log-format strings ---- */

enum fmt_kind {
	FMT_LIT = 0,
	FMT_SMP,
	FMT_CI,
	FMT_CP,
	FMT_FI,
	FMT_FP,
	FMT_PID,
	FMT_HOST,
	FMT_ID,
	FMT_TS,
};

struct fmt_seg {
	enum fmt_kind kind;
	char *lit;
	size_t len;
	struct smp_expr *smp;
};

struct l7_fmt {
	struct fmt_seg *segs;
	int nsegs;
};

void l7_fmt_free(struct l7_fmt *f)
{
	if (!f)
		return;
	for (int i = 0; i < f->nsegs; i++) {
		free(f->segs[i].lit);
		smp_expr_free(f->segs[i].smp);
	}
	free(f->segs);
	free(f);
}

static struct fmt_seg *fmt_add(struct l7_fmt *f, enum fmt_kind kind)
{
	struct fmt_seg *n = realloc(f->segs, (f->nsegs + 1) * sizeof(*n));

	if (!n)
		return NULL;
	f->segs = n;
	memset(&n[f->nsegs], 0, sizeof(*n));
	n[f->nsegs].kind = kind;
	return &n[f->nsegs++];
}

static int fmt_add_lit(struct l7_fmt *f, const char *s, size_t len)
{
	struct fmt_seg *seg;

	if (!len)
		return 0;
	/* Merge with a preceding literal. */
	if (f->nsegs && f->segs[f->nsegs - 1].kind == FMT_LIT) {
		seg = &f->segs[f->nsegs - 1];
		char *n = realloc(seg->lit, seg->len + len + 1);

		if (!n)
			return -1;
		memcpy(n + seg->len, s, len);
		seg->len += len;
		n[seg->len] = 0;
		seg->lit = n;
		return 0;
	}
	seg = fmt_add(f, FMT_LIT);
	if (!seg)
		return -1;
	seg->lit = strndup(s, len);
	seg->len = len;
	return seg->lit ? 0 : -1;
}

struct l7_fmt *l7_fmt_compile(const char *text, char **err)
{
	static const struct {
		const char *name;
		enum fmt_kind kind;
	} vars[] = {
		{ "ci", FMT_CI }, { "cp", FMT_CP },   { "fi", FMT_FI },
		{ "fp", FMT_FP }, { "pid", FMT_PID }, { "H", FMT_HOST },
		{ "ID", FMT_ID }, { "Ts", FMT_TS },   { NULL, 0 },
	};
	struct l7_fmt *f = calloc(1, sizeof(*f));
	const char *p = text, *lit = text;

	if (!f) {
		cfg_err(err, "out of memory");
		return NULL;
	}
	while (*p) {
		const char *q;
		size_t n;
		int i;

		if (*p != '%') {
			p++;
			continue;
		}
		if (fmt_add_lit(f, lit, p - lit) < 0)
			goto oom;
		q = p + 1;
		if (*q == '%') {
			if (fmt_add_lit(f, "%", 1) < 0)
				goto oom;
			p = lit = q + 1;
			continue;
		}
		if (*q == '{') {
			/* %{+Q} style flags: accepted and ignored */
			const char *e = strchr(q, '}');

			if (!e) {
				cfg_err(err, "missing '}' in log-format '%s'", text);
				goto fail;
			}
			q = e + 1;
		}
		if (*q == '[') {
			const char *e = strchr(q, ']');
			struct fmt_seg *seg;
			char *expr;

			if (!e) {
				cfg_err(err, "missing ']' in log-format '%s'", text);
				goto fail;
			}
			expr = strndup(q + 1, e - q - 1);
			if (!expr)
				goto oom;
			seg = fmt_add(f, FMT_SMP);
			if (!seg) {
				free(expr);
				goto oom;
			}
			seg->smp = smp_expr_parse(expr, err);
			free(expr);
			if (!seg->smp)
				goto fail;
			p = lit = e + 1;
			continue;
		}
		for (n = 0; q[n] && (q[n] == '_' || (q[n] >= 'a' && q[n] <= 'z') ||
				     (q[n] >= 'A' && q[n] <= 'Z'));
		     n++)
			;
		for (i = 0; vars[i].name; i++) {
			if (strlen(vars[i].name) == n && !strncmp(vars[i].name, q, n))
				break;
		}
		if (!vars[i].name) {
			cfg_err(err, "unsupported log-format variable '%%%.*s' in '%s'", (int)n, q,
				text);
			goto fail;
		}
		if (!fmt_add(f, vars[i].kind))
			goto oom;
		p = lit = q + n;
	}
	if (fmt_add_lit(f, lit, p - lit) < 0)
		goto oom;
	return f;
oom:
	cfg_err(err, "out of memory");
fail:
	l7_fmt_free(f);
	return NULL;
}

static size_t put_addr(const struct sockaddr_storage *ss, bool port, char *buf, size_t size)
{
	char ip[INET6_ADDRSTRLEN] = "-";
	int p = 0;

	if (!ss)
		return snprintf(buf, size, "-");
	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, ip, sizeof(ip));
		p = ntohs(((const struct sockaddr_in *)ss)->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, ip, sizeof(ip));
		p = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	}
	return port ? (size_t)snprintf(buf, size, "%d", p) : (size_t)snprintf(buf, size, "%s", ip);
}

size_t l7_fmt_expand(const struct l7_fmt *f, const struct acl_env *env, char *buf, size_t size)
{
	size_t pos = 0;

	if (!size)
		return 0;
	buf[0] = 0;
	for (int i = 0; f && i < f->nsegs && pos + 1 < size; i++) {
		const struct fmt_seg *s = &f->segs[i];
		size_t room = size - pos, n = 0;
		int r;

		switch (s->kind) {
		case FMT_LIT:
			n = s->len < room - 1 ? s->len : room - 1;
			memcpy(buf + pos, s->lit, n);
			break;
		case FMT_SMP:
			r = smp_expr_str(s->smp, env, buf + pos, room);
			n = r > 0 ? (size_t)r : 0;
			break;
		case FMT_CI:
		case FMT_CP:
			n = put_addr(env->src, s->kind == FMT_CP, buf + pos, room);
			break;
		case FMT_FI:
		case FMT_FP:
			n = put_addr(env->dst, s->kind == FMT_FP, buf + pos, room);
			break;
		case FMT_PID:
			n = snprintf(buf + pos, room, "%d", (int)getpid());
			break;
		case FMT_ID: /* the request's unique-id-format, "-" without one */
			n = snprintf(buf + pos, room, "%s", env->unique_id ? env->unique_id : "-");
			break;
		case FMT_TS:
			n = snprintf(buf + pos, room, "%lld", (long long)time(NULL));
			break;
		case FMT_HOST: {
			char h[256];

			if (gethostname(h, sizeof(h)) < 0)
				h[0] = 0;
			h[sizeof(h) - 1] = 0;
			n = snprintf(buf + pos, room, "%s", h);
			break;
		}
		}
		if (n >= room)
			n = room - 1;
		pos += n;
		buf[pos] = 0;
	}
	return pos;
}

/* ---- built responses ---- */

static void sb_hdr(struct sbuf *b, const char *name, const char *value, size_t vlen)
{
	/* A value from a sample or a log-format string must not split the head. */
	for (size_t i = 0; i < vlen; i++) {
		if (value[i] == '\r' || value[i] == '\n' || value[i] == 0) {
			vlen = i;
			break;
		}
	}
	sbuf_puts(b, name);
	sbuf_add(b, ": ", 2);
	sbuf_add(b, value, vlen);
	sbuf_add(b, "\r\n", 2);
}

/* The buffer's text (the caller frees it), or NULL after a failed append. */
static char *sb_done(struct sbuf *b, size_t *len)
{
	if (b->oom) {
		sbuf_free(b);
		return NULL;
	}
	*len = b->len;
	return b->buf;
}

/* One line of explanation per status the proxy produces itself. */
static const char *error_text(int status)
{
	switch (status) {
	case 400:
		return "The request could not be understood.";
	case 403:
		return "The request was refused by the proxy's rules.";
	case 404:
		return "Nothing is served here.";
	case 405:
		return "This method is not allowed here.";
	case 408:
		return "The request did not arrive in time.";
	case 410:
		return "This resource is gone.";
	case 413:
		return "The request is too large.";
	case 414:
		return "The request target is too long.";
	case 421:
		return "The request was sent to the wrong server.";
	case 422:
		return "The request could not be processed.";
	case 425:
		return "The request came too early.";
	case 429:
		return "Too many requests.";
	case 431:
		return "The request headers are too large.";
	case 500:
		return "The proxy failed to handle the request.";
	case 501:
		return "This request is not supported.";
	case 502:
		return "The server sent an invalid or incomplete response.";
	case 503:
		return "No server is available for this request.";
	case 504:
		return "The server did not answer in time.";
	default:
		return h1_status_text(status);
	}
}

char *l7_error_page(struct proxy *fe, struct proxy *be, int status, size_t *len)
{
	struct proxy *pxs[2] = { be, fe };
	struct sbuf b = { 0 };
	char line[64], body[512], num[24];
	char *out;
	int blen;

	for (int k = 0; k < 2; k++) {
		struct proxy *px = pxs[k];

		if (!px)
			continue;
		for (int i = 0; i < px->nerrorfiles; i++) {
			if (px->errorfiles[i].status == status && px->errorfiles[i].body) {
				out = malloc(px->errorfiles[i].len + 1);
				if (!out)
					return NULL;
				memcpy(out, px->errorfiles[i].body, px->errorfiles[i].len);
				*len = px->errorfiles[i].len;
				return out;
			}
		}
	}
	blen = snprintf(body, sizeof(body), "<html><body><h1>%d %s</h1>\n%s\n</body></html>\n",
			status, h1_status_text(status), error_text(status));
	if (blen < 0 || blen >= (int)sizeof(body))
		return NULL;
	snprintf(line, sizeof(line), "HTTP/1.1 %d %s\r\n", status, h1_status_text(status));
	sbuf_puts(&b, line);
	snprintf(num, sizeof(num), "%d", blen);
	sb_hdr(&b, "content-length", num, strlen(num));
	sb_hdr(&b, "cache-control", "no-cache", 8);
	sb_hdr(&b, "content-type", "text/html", 9);
	sbuf_add(&b, "\r\n", 2);
	sbuf_add(&b, body, blen);
	return sb_done(&b, len);
}

/* ---- rules ---- */

enum rule_act {
	RA_ALLOW = 0,
	RA_DENY,
	RA_RETURN,
	RA_REDIRECT,
	RA_SET_HDR,
	RA_ADD_HDR,
	RA_DEL_HDR,
	RA_SET_STATUS,
};

enum redir_type {
	REDIR_LOCATION = 0,
	REDIR_PREFIX,
	REDIR_SCHEME,
};

struct rule_hdr {
	char *name;
	struct l7_fmt *fmt;
};

struct l7_rule {
	enum rule_act act;
	int status; /* deny/return/redirect/set-status; 0 = default */
	char *name; /* header name */
	size_t nlen;
	int del_how; /* del-header -m */
	struct l7_fmt *fmt; /* header value, redirect target */
	char *ctype;
	char *body; /* string or file contents */
	size_t blen;
	bool raw; /* body is a complete response (errorfile) */
	struct l7_fmt *body_fmt; /* lf-string */
	struct rule_hdr *hdrs;
	int nhdrs;
	enum redir_type redir;
	bool drop_query, append_slash;
	char *set_cookie, *clear_cookie;
	char *reason;
};

static void rule_free(struct l7_rule *r)
{
	if (!r)
		return;
	free(r->name);
	l7_fmt_free(r->fmt);
	free(r->ctype);
	free(r->body);
	l7_fmt_free(r->body_fmt);
	for (int i = 0; i < r->nhdrs; i++) {
		free(r->hdrs[i].name);
		l7_fmt_free(r->hdrs[i].fmt);
	}
	free(r->hdrs);
	free(r->set_cookie);
	free(r->clear_cookie);
	free(r->reason);
	free(r);
}

static int read_file(const char *path, char **out, size_t *len, char **err)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	long sz;

	if (!f)
		return cfg_err(err, "cannot open '%s': %s", path, strerror(errno));
	if (fseek(f, 0, SEEK_END) < 0 || (sz = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0 ||
	    sz > 1024 * 1024) {
		fclose(f);
		return cfg_err(err, "cannot read '%s' (or larger than 1MB)", path);
	}
	buf = malloc(sz + 1);
	if (!buf || fread(buf, 1, sz, f) != (size_t)sz) {
		free(buf);
		fclose(f);
		return cfg_err(err, "cannot read '%s'", path);
	}
	buf[sz] = 0;
	fclose(f);
	*out = buf;
	*len = sz;
	return 0;
}

static int parse_status(const char *s, int lo, int hi, int *out, char **err)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*end || v < lo || v > hi)
		return cfg_err(err, "invalid status code '%s' (expected %d..%d)", s, lo, hi);
	*out = (int)v;
	return 0;
}

/* Options shared by deny and return: content-type, string, lf-string, file, errorfile, hdr. */
static int parse_reply_opt(struct l7_rule *r, char **a, int n, int *i, char **err)
{
	const char *w = a[*i];

	if (*i + 1 >= n)
		return cfg_err(err, "'%s' expects an argument", w);
	if (!strcmp(w, "content-type")) {
		free(r->ctype);
		r->ctype = strdup(a[++*i]);
		return r->ctype ? 0 : cfg_err(err, "out of memory");
	}
	if (!strcmp(w, "string")) {
		free(r->body);
		r->body = strdup(a[++*i]);
		r->blen = r->body ? strlen(r->body) : 0;
		return r->body ? 0 : cfg_err(err, "out of memory");
	}
	if (!strcmp(w, "lf-string")) {
		l7_fmt_free(r->body_fmt);
		r->body_fmt = l7_fmt_compile(a[++*i], err);
		return r->body_fmt ? 0 : -1;
	}
	if (!strcmp(w, "file") || !strcmp(w, "errorfile")) {
		r->raw = w[0] == 'e';
		free(r->body);
		r->body = NULL;
		return read_file(a[++*i], &r->body, &r->blen, err);
	}
	if (!strcmp(w, "hdr")) {
		struct rule_hdr *nh;

		if (*i + 2 >= n)
			return cfg_err(err, "'hdr' expects a name and a value");
		nh = realloc(r->hdrs, (r->nhdrs + 1) * sizeof(*nh));
		if (!nh)
			return cfg_err(err, "out of memory");
		r->hdrs = nh;
		nh[r->nhdrs].name = strdup(a[*i + 1]);
		nh[r->nhdrs].fmt = l7_fmt_compile(a[*i + 2], err);
		if (!nh[r->nhdrs].name || !nh[r->nhdrs].fmt) {
			free(nh[r->nhdrs].name);
			l7_fmt_free(nh[r->nhdrs].fmt);
			return -1;
		}
		r->nhdrs++;
		*i += 2;
		return 0;
	}
	return cfg_err(err, "unexpected '%s'", w);
}

static struct l7_rule *rule_compile(bool response, char **a, int n, char **err)
{
	struct l7_rule *r = calloc(1, sizeof(*r));
	const char *act;
	int i = 1;

	if (!r) {
		cfg_err(err, "out of memory");
		return NULL;
	}
	if (n < 1) {
		cfg_err(err, "missing action");
		goto fail;
	}
	act = a[0];
	if (!strcmp(act, "allow")) {
		r->act = RA_ALLOW;
	} else if (!strcmp(act, "deny")) {
		r->act = RA_DENY;
		for (; i < n; i++) {
			if (!strcmp(a[i], "deny_status") || !strcmp(a[i], "status")) {
				if (i + 1 >= n) {
					cfg_err(err, "'%s' expects a status code", a[i]);
					goto fail;
				}
				if (parse_status(a[++i], 200, 599, &r->status, err) < 0)
					goto fail;
			} else if (response) {
				cfg_err(err, "unexpected '%s' after 'deny'", a[i]);
				goto fail;
			} else if (parse_reply_opt(r, a, n, &i, err) < 0) {
				goto fail;
			}
		}
	} else if (!strcmp(act, "return") && !response) {
		r->act = RA_RETURN;
		r->status = 200;
		for (; i < n; i++) {
			if (!strcmp(a[i], "status")) {
				if (i + 1 >= n) {
					cfg_err(err, "'status' expects a status code");
					goto fail;
				}
				if (parse_status(a[++i], 200, 599, &r->status, err) < 0)
					goto fail;
			} else if (!strcmp(a[i], "default-errorfiles")) {
				/* the errorfile of the status, when there is one: the default */
			} else if (parse_reply_opt(r, a, n, &i, err) < 0) {
				goto fail;
			}
		}
		if ((r->body || r->body_fmt) && !r->raw && !r->ctype) {
			cfg_err(err, "'return' with a body needs 'content-type'");
			goto fail;
		}
	} else if (!strcmp(act, "redirect") && !response) {
		r->act = RA_REDIRECT;
		r->status = 302;
		if (n < 3) {
			cfg_err(err,
				"'redirect' expects 'location', 'prefix' or 'scheme' and a value");
			goto fail;
		}
		if (!strcmp(a[1], "location"))
			r->redir = REDIR_LOCATION;
		else if (!strcmp(a[1], "prefix"))
			r->redir = REDIR_PREFIX;
		else if (!strcmp(a[1], "scheme"))
			r->redir = REDIR_SCHEME;
		else {
			cfg_err(err,
				"'redirect' expects 'location', 'prefix' or 'scheme', got '%s'",
				a[1]);
			goto fail;
		}
		r->fmt = l7_fmt_compile(a[2], err);
		if (!r->fmt)
			goto fail;
		for (i = 3; i < n; i++) {
			if (!strcmp(a[i], "code")) {
				if (i + 1 >= n) {
					cfg_err(err, "'code' expects 301, 302, 303, 307 or 308");
					goto fail;
				}
				if (parse_status(a[++i], 301, 308, &r->status, err) < 0)
					goto fail;
				if (r->status > 303 && r->status < 307) {
					cfg_err(err, "'code' expects 301, 302, 303, 307 or 308");
					goto fail;
				}
			} else if (!strcmp(a[i], "drop-query")) {
				r->drop_query = true;
			} else if (!strcmp(a[i], "append-slash")) {
				r->append_slash = true;
			} else if (!strcmp(a[i], "set-cookie") && i + 1 < n) {
				r->set_cookie = strdup(a[++i]);
			} else if (!strcmp(a[i], "clear-cookie") && i + 1 < n) {
				r->clear_cookie = strdup(a[++i]);
			} else {
				cfg_err(err, "unexpected '%s' in 'redirect'", a[i]);
				goto fail;
			}
		}
	} else if (!strcmp(act, "set-header") || !strcmp(act, "add-header")) {
		r->act = act[0] == 's' ? RA_SET_HDR : RA_ADD_HDR;
		if (n != 3) {
			cfg_err(err, "'%s' expects exactly a name and a value", act);
			goto fail;
		}
		r->name = strdup(a[1]);
		r->nlen = strlen(a[1]);
		r->fmt = l7_fmt_compile(a[2], err);
		if (!r->name || !r->fmt)
			goto fail;
	} else if (!strcmp(act, "del-header")) {
		r->act = RA_DEL_HDR;
		if (n != 2 && !(n == 4 && !strcmp(a[2], "-m"))) {
			cfg_err(err, "'del-header' expects a name and optionally '-m METHOD'");
			goto fail;
		}
		if (n == 4) {
			static const char *const how[] = { "str", "beg", "end", "sub", NULL };
			int k;

			for (k = 0; how[k] && strcmp(how[k], a[3]); k++)
				;
			if (!how[k]) {
				cfg_err(err,
					"'del-header -m' expects str, beg, end or sub, got '%s'",
					a[3]);
				goto fail;
			}
			r->del_how = k;
		}
		r->name = strdup(a[1]);
		r->nlen = strlen(a[1]);
		if (!r->name)
			goto fail;
	} else if (!strcmp(act, "set-status") && response) {
		r->act = RA_SET_STATUS;
		if (n < 2 || parse_status(a[1], 100, 999, &r->status, err) < 0) {
			if (n < 2)
				cfg_err(err, "'set-status' expects a status code");
			goto fail;
		}
		if (n == 4 && !strcmp(a[2], "reason")) {
			r->reason = strdup(a[3]);
		} else if (n != 2) {
			cfg_err(err, "'set-status' expects a code and optionally 'reason TEXT'");
			goto fail;
		}
	} else {
		cfg_err(err, "unsupported action '%s'", act);
		goto fail;
	}
	return r;
fail:
	rule_free(r);
	return NULL;
}

static int rules_compile_list(struct proxy *px, struct list_head *list, bool response, char **err)
{
	struct px_rule *pr;
	char *sub = NULL;

	list_for_each(pr, list, list) {
		char **a = pr->args;
		int n = pr->nargs;

		if (pr->compiled)
			continue;
		/* The keyword itself may or may not be among the words. */
		if (n > 0 && pr->kw && !strcmp(a[0], pr->kw)) {
			a++;
			n--;
		}
		pr->compiled = rule_compile(response, a, n, &sub);
		if (!pr->compiled) {
			cfg_err(err, "%s:%d: '%s %s': %s", pr->loc.file ? pr->loc.file : "?",
				pr->loc.line,
				pr->kw ? pr->kw : (response ? "http-response" : "http-request"),
				n > 0 ? a[0] : "", sub ? sub : "invalid rule");
			free(sub);
			return -1;
		}
		if (pr->cond && acl_cond_compile(px, pr->cond, &sub) < 0) {
			cfg_err(err, "%s:%d: '%s %s' condition: %s",
				pr->loc.file ? pr->loc.file : "?", pr->loc.line,
				pr->kw ? pr->kw : "http-request", a[0], sub ? sub : "invalid");
			free(sub);
			return -1;
		}
	}
	return 0;
}

int l7_rules_compile(struct proxy *px, char **err)
{
	if (rules_compile_list(px, &px->http_req_rules, false, err) < 0)
		return -1;
	return rules_compile_list(px, &px->http_rsp_rules, true, err);
}

static void rules_free_list(struct list_head *list)
{
	struct px_rule *pr;

	list_for_each(pr, list, list) {
		rule_free(pr->compiled);
		pr->compiled = NULL;
		if (pr->cond) {
			acl_cond_free(pr->cond->compiled);
			pr->cond->compiled = NULL;
		}
	}
}

void l7_rules_free(struct proxy *px)
{
	rules_free_list(&px->http_req_rules);
	rules_free_list(&px->http_rsp_rules);
}

#define VALUE_MAX 8192

/* A header value from a format, copied into the arena. */
static char *fmt_value(const struct l7_fmt *f, const struct acl_env *env, struct l7_arena *a,
		       size_t *len)
{
	char buf[VALUE_MAX];
	size_t n = l7_fmt_expand(f, env, buf, sizeof(buf));
	char *out;

	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\r' || buf[i] == '\n' || buf[i] == 0) {
			n = i;
			break;
		}
	}
	out = l7_arena_alloc(a, n + 1);
	if (!out)
		return NULL;
	memcpy(out, buf, n);
	out[n] = 0;
	*len = n;
	return out;
}

static bool build_deny_return(struct proxy *px, const struct l7_rule *r, struct acl_env *env,
			      struct l7_reply *reply)
{
	struct sbuf b = { 0 };
	char num[32], *body = r->body, tmp[VALUE_MAX];
	size_t blen = r->blen;
	int status = r->status ? r->status : 403;

	if (r->raw) {
		reply->data = malloc(r->blen + 1);
		if (!reply->data)
			return false;
		memcpy(reply->data, r->body, r->blen);
		reply->len = r->blen;
		return true;
	}
	if (!r->ctype && !r->body_fmt && r->act == RA_DENY) {
		reply->data = l7_error_page(px, NULL, status, &reply->len);
		return reply->data != NULL;
	}
	if (r->body_fmt) {
		blen = l7_fmt_expand(r->body_fmt, env, tmp, sizeof(tmp));
		body = tmp;
	}
	if (!r->ctype && !r->body && !r->body_fmt && r->act == RA_RETURN) {
		/* no payload: the errorfile of that status if the proxy has one */
		for (int i = 0; i < px->nerrorfiles; i++) {
			if (px->errorfiles[i].status == status && px->errorfiles[i].body) {
				reply->data = malloc(px->errorfiles[i].len + 1);
				if (!reply->data)
					return false;
				memcpy(reply->data, px->errorfiles[i].body, px->errorfiles[i].len);
				reply->len = px->errorfiles[i].len;
				return true;
			}
		}
	}
	snprintf(num, sizeof(num), "HTTP/1.1 %d ", status);
	sbuf_puts(&b, num);
	sbuf_puts(&b, h1_status_text(status));
	sbuf_add(&b, "\r\n", 2);
	snprintf(num, sizeof(num), "%zu", body ? blen : 0);
	sb_hdr(&b, "content-length", num, strlen(num));
	if (r->ctype && body)
		sb_hdr(&b, "content-type", r->ctype, strlen(r->ctype));
	for (int i = 0; i < r->nhdrs; i++) {
		char v[VALUE_MAX];
		size_t vl = l7_fmt_expand(r->hdrs[i].fmt, env, v, sizeof(v));

		sb_hdr(&b, r->hdrs[i].name, v, vl);
	}
	sbuf_add(&b, "\r\n", 2);
	if (body)
		sbuf_add(&b, body, blen);
	reply->data = sb_done(&b, &reply->len);
	return reply->data != NULL;
}

static bool build_redirect(const struct l7_rule *r, struct acl_env *env, struct l7_reply *reply)
{
	const struct h1_msg *h = env->req && env->req->h1 ? env->req->h1 : NULL;
	struct sbuf loc = { 0 }, b = { 0 };
	char val[VALUE_MAX], num[48];
	const char *path = "/", *q;
	size_t plen = 1, vlen, llen;
	char *l;

	if (h && h->path && h->path_len) {
		path = h->path;
		plen = h->path_len;
	}
	vlen = l7_fmt_expand(r->fmt, env, val, sizeof(val));
	if (r->redir == REDIR_LOCATION) {
		sbuf_add(&loc, val, vlen);
	} else {
		bool slash;

		if (r->redir == REDIR_SCHEME) {
			int i = l7_msg_find(env->req, "host", 4, 0);

			sbuf_add(&loc, val, vlen);
			sbuf_add(&loc, "://", 3);
			if (i >= 0)
				sbuf_add(&loc, env->req->hdrs[i].value,
					 env->req->hdrs[i].value_len);
			else if (h && h->authority)
				sbuf_add(&loc, h->authority, h->authority_len);
		} else if (!(vlen == 1 && val[0] == '/')) {
			sbuf_add(&loc, val, vlen);
		}
		q = memchr(path, '?', plen);
		if (r->drop_query && q) {
			sbuf_add(&loc, path, q - path);
			slash = q > path && q[-1] == '/';
		} else {
			sbuf_add(&loc, path, plen);
			slash = path[plen - 1] == '/';
		}
		if (r->append_slash && r->drop_query && !slash)
			sbuf_add(&loc, "/", 1);
	}
	l = sb_done(&loc, &llen);
	if (!l)
		return false;
	snprintf(num, sizeof(num), "HTTP/1.1 %d ", r->status);
	sbuf_puts(&b, num);
	sbuf_puts(&b, h1_status_text(r->status));
	sbuf_add(&b, "\r\n", 2);
	sb_hdr(&b, "content-length", "0", 1);
	sb_hdr(&b, "location", l, llen);
	if (r->set_cookie)
		sb_hdr(&b, "set-cookie", r->set_cookie, strlen(r->set_cookie));
	if (r->clear_cookie) {
		char c[512];
		int n = snprintf(c, sizeof(c),
				 "%s%s; Max-Age=0; Expires=Thu, 01-Jan-1970 00:00:01 GMT",
				 r->clear_cookie, strchr(r->clear_cookie, '=') ? "" : "=");

		sb_hdr(&b, "set-cookie", c, n > 0 && n < (int)sizeof(c) ? (size_t)n : 0);
	}
	sbuf_add(&b, "\r\n", 2);
	free(l);
	reply->data = sb_done(&b, &reply->len);
	return reply->data != NULL;
}

/* Apply a header-editing rule; false when the header list is full. */
static bool apply_hdr_rule(const struct l7_rule *r, struct acl_env *env, struct l7_msg *m,
			   struct l7_arena *a)
{
	char *v;
	size_t vlen;

	switch (r->act) {
	case RA_DEL_HDR:
		hdr_del_how(m, r->name, r->nlen, r->del_how);
		return true;
	case RA_SET_HDR:
	case RA_ADD_HDR:
		/* The value is computed before the old header goes (it may refer to it). */
		v = fmt_value(r->fmt, env, a, &vlen);
		if (!v)
			return false;
		if (r->act == RA_SET_HDR)
			l7_hdr_del(m, r->name, r->nlen);
		return l7_hdr_add(m, r->name, r->nlen, v, vlen) == 0;
	default:
		return true;
	}
}

enum l7_verdict l7_http_req_rules(struct proxy *px, struct acl_env *env, struct l7_msg *req,
				  struct l7_arena *arena, struct l7_reply *reply)
{
	struct px_rule *pr;

	list_for_each(pr, &px->http_req_rules, list) {
		const struct l7_rule *r = pr->compiled;

		if (!r || !acl_cond_eval(pr->cond, env))
			continue;
		switch (r->act) {
		case RA_ALLOW:
			return L7_CONTINUE;
		case RA_DENY:
		case RA_RETURN:
			reply->status = r->status ? r->status : 403;
			if (!build_deny_return(px, r, env, reply))
				return L7_FAIL;
			reply->close = r->raw;
			reply->term = r->act == RA_DENY ? 'P' : 'L';
			return L7_REPLY;
		case RA_REDIRECT:
			reply->status = r->status;
			if (!build_redirect(r, env, reply))
				return L7_FAIL;
			reply->close = false;
			reply->term = 'L';
			return L7_REPLY;
		default:
			if (!apply_hdr_rule(r, env, req, arena))
				return L7_FAIL;
			break;
		}
	}
	return L7_CONTINUE;
}

enum l7_verdict l7_http_rsp_rules(struct proxy *px, struct acl_env *env, struct l7_msg *rsp,
				  struct l7_arena *arena, unsigned int *status, const char **reason)
{
	struct px_rule *pr;

	list_for_each(pr, &px->http_rsp_rules, list) {
		const struct l7_rule *r = pr->compiled;

		if (!r || !acl_cond_eval(pr->cond, env))
			continue;
		switch (r->act) {
		case RA_ALLOW:
			return L7_CONTINUE;
		case RA_DENY:
			return L7_DENY_RSP;
		case RA_SET_STATUS:
			*status = (unsigned int)r->status;
			*reason = r->reason;
			break;
		default:
			if (!apply_hdr_rule(r, env, rsp, arena))
				return L7_FAIL;
			break;
		}
	}
	return L7_CONTINUE;
}
