// SPDX-License-Identifier: MIT
/*
 * log-format strings (see logfmt.h and doc/config.md "Log formats").
 *
 * The language, as HAProxy 2.6 reads it: `%NAME` (letters and digits) is a
 * variable, `%{+Q,-X}NAME` the same with flags, `%[fetch,conv]` a sample,
 * `%{+Q}o` sets flags for every later variable, `%%` a percent sign. A run
 * of spaces is a separator: one space, written only when the line does not
 * already end with a separator's space (leading ones and repeats vanish).
 *
 * Flags: +Q quotes string values (not numbers, dates or flags), +X writes
 * addresses, ports, %Ts, %ms, %rt, %lc and %pid in hexadecimal, +E escapes
 * `"`, `\` and `]` with a backslash. A missing value is `-` (`""` under
 * +Q). Request-line variables escape control bytes, bytes above 0x7e, `"`
 * and `#` as `#XX`; captured headers also `{`, `|` and `}`.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>

#include "cfg.h"
#include "logfmt.h"
#include "tlog.h"

#define LF_Q 0x1u
#define LF_X 0x2u
#define LF_E 0x4u

enum lf_kind {
	LF_TEXT = 0,
	LF_SEP,
	LF_SMP,
	LF_CI,
	LF_CP,
	LF_FI,
	LF_FP,
	LF_BI,
	LF_BP,
	LF_SI,
	LF_SP,
	LF_DATE_T, /* %t */
	LF_DATE_TG, /* %T */
	LF_DATE_TL, /* %Tl */
	LF_TS, /* %Ts */
	LF_MS, /* %ms */
	LF_DATE_TR, /* %tr */
	LF_DATE_TRG, /* %trg */
	LF_DATE_TRL, /* %trl */
	LF_FT,
	LF_F,
	LF_B,
	LF_S,
	LF_T_R, /* %TR */
	LF_T_W,
	LF_T_C,
	LF_T_RS, /* %Tr */
	LF_T_A,
	LF_T_T,
	LF_T_H,
	LF_T_I,
	LF_T_Q,
	LF_ST,
	LF_BOUT, /* %B */
	LF_BIN, /* %U */
	LF_TSC,
	LF_TERM, /* %ts */
	LF_AC,
	LF_FC,
	LF_BC,
	LF_SC,
	LF_RC,
	LF_SQ,
	LF_BQ,
	LF_R,
	LF_HM,
	LF_HU,
	LF_HP,
	LF_HQ,
	LF_HV,
	LF_HR,
	LF_HRL,
	LF_HS,
	LF_HSL,
	LF_CC,
	LF_CS,
	LF_ID,
	LF_PID,
	LF_HOST,
	LF_RT,
	LF_LC,
	LF_OPT, /* %o: not a segment */
};

#define V_HTTP 0x1 /* HTTP mode only */

static const struct {
	const char *name;
	enum lf_kind kind;
	unsigned flags;
} lf_vars[] = {
	{ "ci", LF_CI, 0 },
	{ "cp", LF_CP, 0 },
	{ "fi", LF_FI, 0 },
	{ "fp", LF_FP, 0 },
	{ "bi", LF_BI, 0 },
	{ "bp", LF_BP, 0 },
	{ "si", LF_SI, 0 },
	{ "sp", LF_SP, 0 },
	{ "t", LF_DATE_T, 0 },
	{ "T", LF_DATE_TG, 0 },
	{ "Tl", LF_DATE_TL, 0 },
	{ "Ts", LF_TS, 0 },
	{ "ms", LF_MS, 0 },
	{ "tr", LF_DATE_TR, V_HTTP },
	{ "trg", LF_DATE_TRG, V_HTTP },
	{ "trl", LF_DATE_TRL, V_HTTP },
	{ "ft", LF_FT, 0 },
	{ "f", LF_F, 0 },
	{ "b", LF_B, 0 },
	{ "s", LF_S, 0 },
	{ "TR", LF_T_R, V_HTTP },
	{ "Tw", LF_T_W, 0 },
	{ "Tc", LF_T_C, 0 },
	{ "Tr", LF_T_RS, V_HTTP },
	{ "Ta", LF_T_A, V_HTTP },
	{ "Tt", LF_T_T, 0 },
	{ "Th", LF_T_H, 0 },
	{ "Ti", LF_T_I, V_HTTP },
	{ "Tq", LF_T_Q, V_HTTP },
	{ "ST", LF_ST, 0 },
	{ "B", LF_BOUT, 0 },
	{ "U", LF_BIN, 0 },
	{ "tsc", LF_TSC, 0 },
	{ "ts", LF_TERM, 0 },
	{ "ac", LF_AC, 0 },
	{ "fc", LF_FC, 0 },
	{ "bc", LF_BC, 0 },
	{ "sc", LF_SC, 0 },
	{ "rc", LF_RC, 0 },
	{ "sq", LF_SQ, 0 },
	{ "bq", LF_BQ, 0 },
	{ "r", LF_R, V_HTTP },
	{ "HM", LF_HM, V_HTTP },
	{ "HU", LF_HU, V_HTTP },
	{ "HP", LF_HP, V_HTTP },
	{ "HQ", LF_HQ, V_HTTP },
	{ "HV", LF_HV, V_HTTP },
	{ "hr", LF_HR, 0 },
	{ "hrl", LF_HRL, 0 },
	{ "hs", LF_HS, 0 },
	{ "hsl", LF_HSL, 0 },
	{ "CC", LF_CC, V_HTTP },
	{ "CS", LF_CS, V_HTTP },
	{ "ID", LF_ID, 0 },
	{ "pid", LF_PID, 0 },
	{ "H", LF_HOST, 0 },
	{ "rt", LF_RT, 0 },
	{ "lc", LF_LC, 0 },
	{ "o", LF_OPT, 0 },
	{ NULL, 0, 0 },
};

struct lf_seg {
	enum lf_kind kind;
	unsigned opts; /* LF_Q | LF_X | LF_E */
	char *text; /* LF_TEXT */
	size_t len;
	struct smp_expr *smp; /* LF_SMP */
};

struct logfmt {
	struct lf_seg *segs;
	int nsegs;
	unsigned needs; /* LF_NEED_* */
};

void logfmt_free(struct logfmt *f)
{
	if (!f)
		return;
	for (int i = 0; i < f->nsegs; i++) {
		free(f->segs[i].text);
		smp_expr_free(f->segs[i].smp);
	}
	free(f->segs);
	free(f);
}

unsigned logfmt_needs(const struct logfmt *f)
{
	return f ? f->needs : 0;
}

static struct lf_seg *seg_add(struct logfmt *f, enum lf_kind kind, unsigned opts)
{
	struct lf_seg *n = realloc(f->segs, (f->nsegs + 1) * sizeof(*n));

	if (!n)
		return NULL;
	f->segs = n;
	n += f->nsegs++;
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->opts = opts;
	return n;
}

/* Literal text, merged with a preceding literal. */
static int text_add(struct logfmt *f, const char *s, size_t len)
{
	struct lf_seg *seg = f->nsegs ? &f->segs[f->nsegs - 1] : NULL;
	char *n;

	if (!len)
		return 0;
	if (!seg || seg->kind != LF_TEXT) {
		seg = seg_add(f, LF_TEXT, 0);
		if (!seg)
			return -1;
	}
	n = realloc(seg->text, seg->len + len + 1);
	if (!n)
		return -1;
	memcpy(n + seg->len, s, len);
	seg->len += len;
	n[seg->len] = 0;
	seg->text = n;
	return 0;
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/*
 * "{+Q,-X}" at p: apply to *opts. Returns the character after '}', or NULL
 * when the braces are not closed. Unknown flags and flags without a sign
 * are ignored, as HAProxy does.
 */
static const char *parse_flags(const char *p, unsigned *opts)
{
	const char *end = strchr(p, '}');

	if (!end)
		return NULL;
	for (p++; p < end;) {
		char sign = *p;
		const char *name;
		size_t n;

		if (sign == '+' || sign == '-')
			p++;
		else
			sign = 0;
		name = p;
		while (p < end && *p != ',' && *p != '+' && *p != '-')
			p++;
		n = p - name;
		if (p < end && *p == ',')
			p++;
		if (!sign || n != 1)
			continue;
		unsigned bit = name[0] == 'Q' ? LF_Q :
			       name[0] == 'X' ? LF_X :
			       name[0] == 'E' ? LF_E :
						0;

		if (sign == '+')
			*opts |= bit;
		else
			*opts &= ~bit;
	}
	return end + 1;
}

static int add_sample(struct logfmt *f, const char *text, const char *start, bool http,
		      unsigned opts, const char *what, char **err, const char **next)
{
	const char *end = strchr(start, ']');
	struct lf_seg *seg;
	char *expr, *sub = NULL;
	enum smp_src src;

	if (!end)
		return cfg_err(err, "'%s': missing ']' after '%s' in '%s'", what, start + 1, text);
	expr = strndup(start + 1, end - start - 1);
	if (!expr)
		return cfg_err(err, "out of memory");
	seg = seg_add(f, LF_SMP, opts);
	if (!seg) {
		free(expr);
		return cfg_err(err, "out of memory");
	}
	seg->smp = smp_expr_parse(expr, &sub);
	if (!seg->smp) {
		cfg_err(err, "'%s': sample '%%[%s]': %s", what, expr, sub ? sub : "invalid");
		free(sub);
		free(expr);
		return -1;
	}
	src = smp_expr_src(seg->smp);
	if (src == SMP_SRC_RSP) {
		/* the response head is not kept until the line is written (HAProxy refuses it too) */
		cfg_err(err,
			"'%s': sample fetch '%s' is not available here: the response headers "
			"are gone when the line is written (capture them with 'capture "
			"response header' and use %%hs or capture.res.hdr)",
			what, smp_expr_name(seg->smp));
		free(expr);
		return -1;
	}
	if (src == SMP_SRC_REQ && !http) {
		cfg_err(err, "'%s': sample fetch '%s' needs an HTTP request (mode http)", what,
			smp_expr_name(seg->smp));
		free(expr);
		return -1;
	}
	if (seg->smp && !strcmp(smp_expr_name(seg->smp), "unique-id"))
		f->needs |= LF_NEED_ID;
	f->needs |= LF_NEED_SMP;
	free(expr);
	*next = end + 1;
	return 0;
}

struct logfmt *logfmt_compile(const char *text, bool http, const char *what, char **err)
{
	struct logfmt *f = calloc(1, sizeof(*f));
	unsigned cur = 0; /* flags set by %o */
	const char *p = text;

	if (!f) {
		cfg_err(err, "out of memory");
		return NULL;
	}
	while (*p) {
		const char *q, *name;
		unsigned opts;
		size_t n;
		int i;

		if (*p == ' ') {
			while (*p == ' ')
				p++;
			if (!f->nsegs || f->segs[f->nsegs - 1].kind != LF_SEP)
				if (!seg_add(f, LF_SEP, 0))
					goto oom;
			continue;
		}
		if (*p != '%') {
			n = strcspn(p, " %");
			if (text_add(f, p, n) < 0)
				goto oom;
			p += n;
			continue;
		}
		if (p[1] == '%') {
			if (text_add(f, "%", 1) < 0)
				goto oom;
			p += 2;
			continue;
		}
		q = p + 1;
		opts = cur;
		if (*q == '{') {
			q = parse_flags(q, &opts);
			if (!q) {
				cfg_err(err, "'%s': truncated line after '%s' in '%s'", what, p,
					text);
				goto fail;
			}
		}
		if (*q == '[') {
			if (add_sample(f, text, q, http, opts, what, err, &p) < 0)
				goto fail;
			continue;
		}
		name = q;
		while (is_alnum(*q))
			q++;
		n = q - name;
		if (!n) {
			if (name != p + 1)
				cfg_err(err,
					"'%s': flags without a variable name near '%.*s' in '%s'",
					what, (int)(name - p), p, text);
			else if (!*name)
				cfg_err(err,
					"'%s': truncated line after '%%' in '%s' (write %%%% for a '%%')",
					what, text);
			else
				cfg_err(err,
					"'%s': unexpected character after '%%' near '%s' in '%s' (write "
					"%%%% for a '%%')",
					what, p, text);
			goto fail;
		}
		for (i = 0; lf_vars[i].name; i++)
			if (strlen(lf_vars[i].name) == n && !strncmp(lf_vars[i].name, name, n))
				break;
		if (!lf_vars[i].name &&
		    ((n == 2 && !strncmp(name, "Tu", 2)) || (n == 4 && !strncmp(name, "sslc", 4)) ||
		     (n == 4 && !strncmp(name, "sslv", 4)))) {
			cfg_err(err, "'%s': format variable '%%%.*s' is not supported by lbd", what,
				(int)n, name);
			goto fail;
		}
		if (!lf_vars[i].name) {
			cfg_err(err,
				"'%s': no such format variable '%%%.*s' in '%s' (write %%%% for a '%%')",
				what, (int)n, name, text);
			goto fail;
		}
		if ((lf_vars[i].flags & V_HTTP) && !http) {
			cfg_err(err, "'%s': format variable '%%%s' is reserved for mode http", what,
				lf_vars[i].name);
			goto fail;
		}
		p = q;
		if (lf_vars[i].kind == LF_OPT) {
			cur = opts;
			continue;
		}
		if (!seg_add(f, lf_vars[i].kind, opts))
			goto oom;
		switch (lf_vars[i].kind) {
		case LF_FI:
		case LF_FP:
			f->needs |= LF_NEED_FADDR;
			break;
		case LF_BI:
		case LF_BP:
			f->needs |= LF_NEED_BADDR;
			break;
		case LF_ID:
			f->needs |= LF_NEED_ID;
			break;
		default:
			break;
		}
	}
	return f;
oom:
	cfg_err(err, "out of memory");
fail:
	logfmt_free(f);
	return NULL;
}

/* ---- rendering ---- */

struct out {
	char *buf;
	size_t size, pos; /* pos < size: buf[pos] is where the NUL goes */
	bool sep; /* the line ends with a separator's space (or is empty) */
};

static void put_c(struct out *o, char c)
{
	if (o->pos + 1 < o->size)
		o->buf[o->pos++] = c;
}

static void put_n(struct out *o, const char *s, size_t n)
{
	size_t room = o->size - 1 - o->pos;

	if (n > room)
		n = room;
	memcpy(o->buf + o->pos, s, n);
	o->pos += n;
}

static void put_s(struct out *o, const char *s)
{
	put_n(o, s, strlen(s));
}

static void put_fmt(struct out *o, const char *fmt, long long v)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), fmt, v);

	if (n > 0)
		put_n(o, tmp, (size_t)n);
}

enum esc_map {
	ESC_NONE = 0,
	ESC_REQ, /* request line: controls, >= 0x7f, '"', '#' */
	ESC_CAP, /* captured headers: the same and '{', '|', '}' */
};

static bool esc_hash(unsigned char c, enum esc_map map)
{
	if (map == ESC_NONE)
		return false;
	if (c < 0x20 || c >= 0x7f || c == '"' || c == '#')
		return true;
	return map == ESC_CAP && (c == '{' || c == '|' || c == '}');
}

static void put_esc(struct out *o, const char *s, size_t n, unsigned opts, enum esc_map map)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (esc_hash(c, map)) {
			put_c(o, '#');
			put_c(o, hex[c >> 4]);
			put_c(o, hex[c & 15]);
		} else if ((opts & LF_E) && (c == '"' || c == '\\' || c == ']')) {
			put_c(o, '\\');
			put_c(o, (char)c);
		} else {
			put_c(o, (char)c);
		}
	}
}

/* A string value: NULL is missing (`-`, `""` under +Q). */
static void put_str(struct out *o, const char *s, size_t n, unsigned opts, enum esc_map map)
{
	if (!s) {
		put_s(o, (opts & LF_Q) ? "\"\"" : "-");
		return;
	}
	if (opts & LF_Q)
		put_c(o, '"');
	put_esc(o, s, n, opts, map);
	if (opts & LF_Q)
		put_c(o, '"');
}

static void put_ip(struct out *o, const struct sockaddr_storage *ss, unsigned opts)
{
	char ip[INET6_ADDRSTRLEN];
	const uint8_t *a;
	int n;

	if (!ss || (ss->ss_family != AF_INET && ss->ss_family != AF_INET6)) {
		put_str(o, NULL, 0, opts, ESC_NONE);
		return;
	}
	if (ss->ss_family == AF_INET) {
		a = (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr;
		n = 4;
	} else {
		a = (const uint8_t *)&((const struct sockaddr_in6 *)ss)->sin6_addr;
		n = 16;
	}
	if (opts & LF_X) {
		for (int i = 0; i < n; i++)
			put_fmt(o, "%02llX", a[i]);
		return;
	}
	inet_ntop(ss->ss_family, a, ip, sizeof(ip));
	put_str(o, ip, strlen(ip), opts, ESC_NONE);
}

static void put_port(struct out *o, const struct sockaddr_storage *ss, unsigned opts)
{
	int port;

	if (!ss || (ss->ss_family != AF_INET && ss->ss_family != AF_INET6)) {
		put_s(o, "-");
		return;
	}
	port = ntohs(ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port :
						((const struct sockaddr_in6 *)ss)->sin6_port);
	put_fmt(o, (opts & LF_X) ? "%04llX" : "%lld", port);
}

/* "26/Nov/2026:08:40:01 +0000" (gmt) or with the local offset */
static void put_date_tz(struct out *o, double when, bool gmt)
{
	time_t sec = (time_t)when;
	struct tm tm;
	char tmp[48];

	if (gmt)
		gmtime_r(&sec, &tm);
	else
		localtime_r(&sec, &tm);
	if (gmt)
		strftime(tmp, sizeof(tmp), "%d/%b/%Y:%H:%M:%S +0000", &tm);
	else
		strftime(tmp, sizeof(tmp), "%d/%b/%Y:%H:%M:%S %z", &tm);
	put_s(o, tmp);
}

static void put_date_ms(struct out *o, double when)
{
	char tmp[48];

	tlog_date(when, tmp, sizeof(tmp));
	put_s(o, tmp);
}

/* The parts of the request line: method, target, path, query, version. */
static bool reqline_part(const struct lf_data *d, enum lf_kind k, const char **s, size_t *n)
{
	const char *p = d->reqline, *end = p + d->reqline_len, *sp1, *sp2, *qm;

	if (!p)
		return false;
	sp1 = memchr(p, ' ', d->reqline_len);
	if (!sp1)
		return false;
	sp2 = memrchr(sp1 + 1, ' ', end - sp1 - 1);
	if (!sp2)
		sp2 = end;
	qm = memchr(sp1 + 1, '?', sp2 - sp1 - 1);
	switch (k) {
	case LF_HM:
		*s = p;
		*n = sp1 - p;
		break;
	case LF_HU:
		*s = sp1 + 1;
		*n = sp2 - sp1 - 1;
		break;
	case LF_HP:
		*s = sp1 + 1;
		*n = (qm ? qm : sp2) - sp1 - 1;
		break;
	case LF_HQ:
		*s = qm ? qm : sp2;
		*n = qm ? (size_t)(sp2 - qm) : 0;
		break;
	default: /* LF_HV */
		*s = sp2 < end ? sp2 + 1 : end;
		*n = end - *s;
		break;
	}
	return true;
}

/* {v1|v2} */
static void put_caps_block(struct out *o, const char *const *cap, int n, unsigned opts)
{
	if (!cap || n <= 0)
		return;
	if (opts & LF_Q)
		put_c(o, '"');
	put_c(o, '{');
	for (int i = 0; i < n; i++) {
		if (i)
			put_c(o, '|');
		if (cap[i])
			put_esc(o, cap[i], strlen(cap[i]), opts, ESC_CAP);
	}
	put_c(o, '}');
	if (opts & LF_Q)
		put_c(o, '"');
}

/* v1 v2 (missing ones `-`) */
static void put_caps_list(struct out *o, const char *const *cap, int n, unsigned opts)
{
	if (!cap)
		return;
	for (int i = 0; i < n; i++) {
		if (i)
			put_c(o, ' ');
		put_str(o, cap[i], cap[i] ? strlen(cap[i]) : 0, opts, ESC_CAP);
	}
}

static void put_int_or_x(struct out *o, long long v, unsigned opts, const char *xfmt)
{
	put_fmt(o, (opts & LF_X) ? xfmt : "%lld", v);
}

static void render_seg(struct out *o, const struct lf_seg *s, const struct lf_data *d)
{
	unsigned opts = s->opts;
	const char *str;
	size_t n;

	switch (s->kind) {
	case LF_TEXT:
		put_n(o, s->text, s->len);
		break;
	case LF_SEP:
		break;
	case LF_SMP: {
		char tmp[4096];
		int r = d->env ? smp_expr_str(s->smp, d->env, tmp, sizeof(tmp)) : -1;

		put_str(o, r > 0 ? tmp : NULL, r > 0 ? (size_t)r : 0, opts, ESC_NONE);
		break;
	}
	case LF_CI:
		put_ip(o, d->cli, opts);
		break;
	case LF_CP:
		put_port(o, d->cli, opts);
		break;
	case LF_FI:
		put_ip(o, d->fe_addr, opts);
		break;
	case LF_FP:
		put_port(o, d->fe_addr, opts);
		break;
	case LF_BI:
		put_ip(o, d->be_src, opts);
		break;
	case LF_BP:
		put_port(o, d->be_src, opts);
		break;
	case LF_SI:
		put_ip(o, d->srv_addr, opts);
		break;
	case LF_SP:
		put_port(o, d->srv_addr, opts);
		break;
	case LF_DATE_T:
		put_date_ms(o, d->t_accept);
		break;
	case LF_DATE_TG:
		put_date_tz(o, d->t_accept, true);
		break;
	case LF_DATE_TL:
		put_date_tz(o, d->t_accept, false);
		break;
	case LF_TS:
		put_int_or_x(o, (long long)d->t_accept, opts, "%08llX");
		break;
	case LF_MS:
		put_fmt(o, (opts & LF_X) ? "%02llX" : "%03lld",
			(long long)((d->t_accept - (double)(time_t)d->t_accept) * 1000) % 1000);
		break;
	case LF_DATE_TR:
		put_date_ms(o, d->t_req);
		break;
	case LF_DATE_TRG:
		put_date_tz(o, d->t_req, true);
		break;
	case LF_DATE_TRL:
		put_date_tz(o, d->t_req, false);
		break;
	case LF_FT:
		if (opts & LF_Q)
			put_c(o, '"');
		put_esc(o, d->fe->name, strlen(d->fe->name), opts, ESC_NONE);
		if (d->ssl)
			put_c(o, '~');
		if (opts & LF_Q)
			put_c(o, '"');
		break;
	case LF_F:
		put_str(o, d->fe->name, strlen(d->fe->name), opts, ESC_NONE);
		break;
	case LF_B:
		put_str(o, d->be_name, d->be_name ? strlen(d->be_name) : 0, opts, ESC_NONE);
		break;
	case LF_S:
		put_str(o, d->srv_name, d->srv_name ? strlen(d->srv_name) : 0, opts, ESC_NONE);
		break;
	case LF_T_R:
		put_fmt(o, "%lld", d->t_R);
		break;
	case LF_T_W:
		put_fmt(o, "%lld", d->t_w);
		break;
	case LF_T_C:
		put_fmt(o, "%lld", d->t_c);
		break;
	case LF_T_RS:
		put_fmt(o, "%lld", d->t_r);
		break;
	case LF_T_A:
		put_fmt(o, "%lld", d->t_a);
		break;
	case LF_T_T:
		put_fmt(o, "%lld", d->t_t);
		break;
	case LF_T_H:
		put_fmt(o, "%lld", d->t_h);
		break;
	case LF_T_I:
		put_fmt(o, "%lld", d->t_i);
		break;
	case LF_T_Q:
		put_fmt(o, "%lld", d->t_R < 0 ? -1 : d->t_h + d->t_i + d->t_R);
		break;
	case LF_ST:
		put_fmt(o, "%lld", d->status);
		break;
	case LF_BOUT:
		put_fmt(o, "%llu", (long long)d->bytes_out);
		break;
	case LF_BIN:
		put_fmt(o, "%llu", (long long)d->bytes_in);
		break;
	case LF_TSC:
		put_c(o, d->term[0] ? d->term[0] : '-');
		put_c(o, d->term[1] ? d->term[1] : '-');
		put_c(o, d->ck[0] ? d->ck[0] : '-');
		put_c(o, d->ck[1] ? d->ck[1] : '-');
		break;
	case LF_TERM:
		put_c(o, d->term[0] ? d->term[0] : '-');
		put_c(o, d->term[1] ? d->term[1] : '-');
		break;
	case LF_AC:
		put_fmt(o, "%lld", d->actconn);
		break;
	case LF_FC:
		put_fmt(o, "%lld", d->feconn);
		break;
	case LF_BC:
		put_fmt(o, "%lld", d->beconn);
		break;
	case LF_SC:
		put_fmt(o, "%lld", d->srvconn);
		break;
	case LF_RC:
		if (d->redispatched)
			put_c(o, '+');
		put_fmt(o, "%lld", d->retries);
		break;
	case LF_SQ:
		put_fmt(o, "%lld", d->srv_queue);
		break;
	case LF_BQ:
		put_fmt(o, "%lld", d->be_queue);
		break;
	case LF_R:
		if (d->reqline)
			put_str(o, d->reqline, d->reqline_len, opts, ESC_REQ);
		else
			put_str(o, "<BADREQ>", 8, opts, ESC_NONE);
		break;
	case LF_HM:
	case LF_HU:
	case LF_HP:
	case LF_HQ:
	case LF_HV:
		if (reqline_part(d, s->kind, &str, &n))
			put_str(o, str, n, opts, ESC_REQ);
		else
			put_str(o, "<BADREQ>", 8, opts, ESC_NONE);
		break;
	case LF_HR:
		put_caps_block(o, d->req_cap, d->nreq_cap, opts);
		break;
	case LF_HS:
		put_caps_block(o, d->rsp_cap, d->nrsp_cap, opts);
		break;
	case LF_HRL:
		put_caps_list(o, d->req_cap, d->nreq_cap, opts);
		break;
	case LF_HSL:
		put_caps_list(o, d->rsp_cap, d->nrsp_cap, opts);
		break;
	case LF_CC:
	case LF_CS:
		/* lbd captures no cookie (`capture cookie` is refused): missing, as HAProxy */
		put_str(o, NULL, 0, opts, ESC_NONE);
		break;
	case LF_ID:
		put_str(o, d->unique_id, d->unique_id ? strlen(d->unique_id) : 0, opts, ESC_NONE);
		break;
	case LF_PID:
		put_int_or_x(o, getpid(), opts, "%04llX");
		break;
	case LF_HOST:
		str = tlog_hostname();
		put_str(o, str, strlen(str), opts, ESC_NONE);
		break;
	case LF_RT:
		put_int_or_x(o, (long long)d->rt, opts, "%04llX");
		break;
	case LF_LC:
		put_int_or_x(o, (long long)d->lc, opts, "%04llX");
		break;
	case LF_OPT:
		break;
	}
}

size_t logfmt_render(const struct logfmt *f, const struct lf_data *d, char *buf, size_t size)
{
	struct out o = { buf, size, 0, true };

	if (!size)
		return 0;
	for (int i = 0; f && i < f->nsegs; i++) {
		const struct lf_seg *s = &f->segs[i];
		size_t before = o.pos;

		if (s->kind == LF_SEP) {
			if (!o.sep) {
				put_c(&o, ' ');
				o.sep = true;
			}
			continue;
		}
		render_seg(&o, s, d);
		if (o.pos != before)
			o.sep = false;
	}
	buf[o.pos] = 0;
	return o.pos;
}

uint64_t logfmt_next_rt(void)
{
	static uint64_t rt;

	return __atomic_fetch_add(&rt, 1, __ATOMIC_RELAXED);
}

static struct logfmt *builtin[4];
static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;

static void builtin_init(void)
{
	static const char *const text[4] = {
		LOGFMT_HTTPLOG,
		LOGFMT_HTTPLOG_CLF,
		LOGFMT_TCPLOG,
		LOGFMT_HTTP_TCPLOG,
	};
	char *err = NULL;

	for (int i = 0; i < 4; i++) {
		builtin[i] = logfmt_compile(text[i], i != 2, "log-format", &err);
		if (!builtin[i]) {
			/* a bug in the strings above: every line would be empty */
			fprintf(stderr, "lbd: built-in log format: %s\n", err ? err : "?");
			free(err);
			err = NULL;
		}
	}
}

const struct logfmt *logfmt_builtin(const struct proxy *px, bool http)
{
	pthread_once(&builtin_once, builtin_init);
	if (!http)
		return builtin[2];
	if (px->options & PX_OPT_HTTPLOG)
		return builtin[(px->options & PX_OPT_HTTPLOG_CLF) ? 1 : 0];
	return builtin[3];
}
