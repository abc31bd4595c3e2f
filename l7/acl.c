// SPDX-License-Identifier: MIT
/*
 * ACLs: sample fetches, patterns and conditions (see acl.h and doc/acl.md).
 *
 * A fetch walks the samples it finds (every occurrence of a header, every
 * comma-separated value, ...) and hands each one to a callback, which stops
 * the walk on the first match. Samples point into the request buffers;
 * nothing is copied unless a converter (lower, upper) needs a scratch buffer.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "acl.h"
#include "cfg.h"

/* ---- samples ---- */

enum smp_kind {
	SMP_STR = 0,
	SMP_INT,
	SMP_IP,
	SMP_BOOL,
};

struct smp {
	enum smp_kind kind;
	const char *str; /* SMP_STR */
	size_t len;
	int64_t i; /* SMP_INT, SMP_BOOL */
	struct acl_net ip; /* SMP_IP (plen unused) */
};

/* Called for each sample; returns true to stop the walk (a match). */
typedef bool (*smp_cb)(const struct smp *s, void *arg);

/* How patterns are compared with samples. */
enum pat_match {
	PAT_STR = 0,
	PAT_BEG,
	PAT_END,
	PAT_SUB,
	PAT_DIR,
	PAT_DOM,
	PAT_REG,
	PAT_FOUND,
	PAT_LEN,
	PAT_INT,
	PAT_IP,
	PAT_BOOL,
};

static const char *const pat_names[] = {
	[PAT_STR] = "str", [PAT_BEG] = "beg", [PAT_END] = "end", [PAT_SUB] = "sub",
	[PAT_DIR] = "dir", [PAT_DOM] = "dom", [PAT_REG] = "reg", [PAT_FOUND] = "found",
	[PAT_LEN] = "len", [PAT_INT] = "int", [PAT_IP] = "ip",	 [PAT_BOOL] = "bool",
};

struct fetch_def;
typedef bool (*fetch_fn)(const struct smp_expr *e, const struct acl_env *env, smp_cb cb, void *arg);

/* Argument needs of a fetch. */
#define ARG_NONE 0
#define ARG_OPT 1
#define ARG_REQ 2

struct fetch_def {
	const char *name;
	enum smp_kind kind;
	enum pat_match match; /* default match method */
	int arg; /* ARG_* */
	fetch_fn fn;
};

enum conv {
	CONV_LOWER = 1,
	CONV_UPPER,
};

#define SMP_MAX_CONV 4

struct smp_expr {
	const struct fetch_def *f;
	char *arg; /* first argument (header, parameter or cookie name) */
	size_t arg_len;
	int occ; /* occurrence: 0 all, n > 0 the n-th, n < 0 the n-th from the end */
	char delim; /* url_param delimiter */
	int conv[SMP_MAX_CONV];
	int nconv;
};

/* ---- messages ---- */

int l7_msg_find(const struct l7_msg *m, const char *name, size_t name_len, uint32_t from)
{
	uint32_t i;

	if (!m)
		return -1;
	for (i = from; i < m->nhdrs; i++) {
		if (m->hdrs[i].name_len == name_len &&
		    !strncasecmp(m->hdrs[i].name, name, name_len))
			return (int)i;
	}
	return -1;
}

/* ---- addresses ---- */

void acl_net_from_ss(struct acl_net *ip, const struct sockaddr_storage *ss)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	memset(ip, 0, sizeof(*ip));
	if (ss->ss_family == AF_INET) {
		ip->family = AF_INET;
		memcpy(ip->addr, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		const uint8_t *a = ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;

		if (!memcmp(a, v4mapped, 12)) {
			ip->family = AF_INET;
			memcpy(ip->addr, a + 12, 4);
		} else {
			ip->family = AF_INET6;
			memcpy(ip->addr, a, 16);
		}
	}
}

static bool prefix_eq(const uint8_t *a, const uint8_t *b, int plen)
{
	int bytes = plen / 8, bits = plen % 8;

	if (memcmp(a, b, bytes))
		return false;
	if (bits) {
		uint8_t mask = (uint8_t)(0xff << (8 - bits));

		if ((a[bytes] & mask) != (b[bytes] & mask))
			return false;
	}
	return true;
}

static bool ip_in_net(const struct acl_net *net, const struct acl_net *ip)
{
	uint8_t mapped[16];

	if (net->family == ip->family)
		return prefix_eq(net->addr, ip->addr, net->plen);
	if (net->family == AF_INET6 && ip->family == AF_INET) {
		/* an IPv4 address against an IPv6 network: as its mapped form */
		memset(mapped, 0, 10);
		mapped[10] = mapped[11] = 0xff;
		memcpy(mapped + 12, ip->addr, 4);
		return prefix_eq(net->addr, mapped, net->plen);
	}
	return false;
}

bool acl_net_match(const struct acl_net *net, const struct sockaddr_storage *ss)
{
	struct acl_net ip;

	if (!ss)
		return false;
	acl_net_from_ss(&ip, ss);
	return ip.family && ip_in_net(net, &ip);
}

/* Number of leading one bits of a dotted mask, -1 when it is not contiguous. */
static int mask_len(const uint8_t *m, int n)
{
	int len = 0, i, b;
	bool zero = false;

	for (i = 0; i < n; i++) {
		for (b = 7; b >= 0; b--) {
			if (m[i] & (1 << b)) {
				if (zero)
					return -1;
				len++;
			} else {
				zero = true;
			}
		}
	}
	return len;
}

int acl_net_parse(const char *s, struct acl_net *net)
{
	char buf[INET6_ADDRSTRLEN + 64];
	char *slash, *end;
	long plen;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	memset(net, 0, sizeof(*net));
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = 0;
	if (inet_pton(AF_INET, buf, net->addr) == 1) {
		net->family = AF_INET;
		net->plen = 32;
	} else if (inet_pton(AF_INET6, buf, net->addr) == 1) {
		static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

		net->family = AF_INET6;
		net->plen = 128;
		/* "::ffff:10.0.0.1" is an IPv4 address */
		if (!memcmp(net->addr, v4mapped, 12) && (!slash || atoi(slash) >= 96)) {
			memmove(net->addr, net->addr + 12, 4);
			memset(net->addr + 4, 0, 12);
			net->family = AF_INET;
			net->plen = 32;
			if (slash) {
				plen = strtol(slash, &end, 10);
				if (*end || plen < 96 || plen > 128)
					return -EINVAL;
				net->plen = (int)plen - 96;
				slash = NULL;
			}
		}
	} else {
		return -EINVAL;
	}
	if (slash) {
		uint8_t m[4];

		if (!*slash)
			return -EINVAL;
		if (net->family == AF_INET && strchr(slash, '.')) {
			if (inet_pton(AF_INET, slash, m) != 1)
				return -EINVAL;
			plen = mask_len(m, 4);
			if (plen < 0)
				return -EINVAL;
		} else {
			plen = strtol(slash, &end, 10);
			if (*end || plen < 0 || plen > (net->family == AF_INET ? 32 : 128))
				return -EINVAL;
		}
		net->plen = (int)plen;
	}
	return 0;
}

/* ---- fetches ---- */

static bool emit_str(smp_cb cb, void *arg, const char *s, size_t len)
{
	struct smp smp = { .kind = SMP_STR, .str = s, .len = len };

	return cb(&smp, arg);
}

static bool emit_int(smp_cb cb, void *arg, int64_t v, enum smp_kind kind)
{
	struct smp smp = { .kind = kind, .i = v };

	return cb(&smp, arg);
}

static bool emit_ss(smp_cb cb, void *arg, const struct sockaddr_storage *ss)
{
	struct smp smp = { .kind = SMP_IP };

	if (!ss)
		return false;
	acl_net_from_ss(&smp.ip, ss);
	if (!smp.ip.family)
		return false;
	return cb(&smp, arg);
}

static const struct h1_msg *req_h1(const struct acl_env *env)
{
	return env->req ? env->req->h1 : NULL;
}

/* Path and query of the request target ("" for the asterisk and authority forms). */
static bool req_pathq(const struct acl_env *env, const char **p, size_t *len)
{
	const struct h1_msg *h = req_h1(env);

	if (!h || !h->path)
		return false;
	*p = h->path;
	*len = h->path_len;
	return true;
}

static bool f_path(const struct smp_expr *e, const struct acl_env *env, smp_cb cb, void *arg)
{
	const char *p, *q;
	size_t len;

	if (!req_pathq(env, &p, &len))
		return false;
	q = memchr(p, '?', len);
	return emit_str(cb, arg, p, q ? (size_t)(q - p) : len);
}

static bool f_url(const struct smp_expr *e, const struct acl_env *env, smp_cb cb, void *arg)
{
	const struct h1_msg *h = req_h1(env);

	if (!h || !h->target)
		return false;
	return emit_str(cb, arg, h->target, h->target_len);
}

static bool f_query(const struct smp_expr *e, const struct acl_env *env, smp_cb cb, void *arg)
{
	const struct h1_msg *h = req_h1(env);
	const char *q;

	if (!h || !h->target)
		return false;
	q = memchr(h->target, '?', h->target_len);
	if (!q)
		return false;
	q++;
	return emit_str(cb, arg, q, h->target + h->target_len - q);
}

static bool host_of(const struct acl_env *env, const char **host, size_t *len)
{
	const struct h1_msg *h = req_h1(env);
	int i = l7_msg_find(env->req, "host", 4, 0);

	if (i >= 0) {
		*host = env->req->hdrs[i].value;
		*len = env->req->hdrs[i].value_len;
		return true;
	}
	if (h && h->authority) {
		*host = h->authority;
		*len = h->authority_len;
		return true;
	}
	return false;
}

static bool f_base(const struct smp_expr *e, const struct acl_env *env, smp_cb cb, void *arg)
{
	const char *host = "", *p, *q;
	size_t hlen = 0, len;
	char buf[8192];

	if (!req_pathq(env, &p, &len))
		return false;
	q = memchr(p, '?', len);
	if (q)
		len = q - p;
	host_of(env, &host, &hlen);
	if (hlen + len > sizeof(buf))
		return false;
	memcpy(buf, host, hlen);
	memcpy(buf + hlen, p, len);
	return emit_str(cb, arg, buf, hlen + len);
}

static bool f_url_param(const struct smp_expr *e, const struct acl_env *env, smp_cb cb, void *arg)
{
	const struct h1_msg *h = req_h1(env);
	const char *p, *end, *amp, *eq;
	char delim = e->delim ? e->delim : '&';
	bool stop = false;

	if (!h || !h->target)
		return false;
	p = memchr(h->target, '?', h->target_len);
	if (!p)
		return false;
	end = h->target + h->target_len;
	for (p++; p < end && !stop; p = amp + 1) {
		amp = memchr(p, delim, end - p);
		if (!amp)
			amp = end;
		eq = memchr(p, '=', amp - p);
		if (!eq)
			continue;
		if (e->arg && ((size_t)(eq - p) != e->arg_len || memcmp(p, e->arg, e->arg_len)))
			continue;
		stop = emit_str(cb, arg, eq + 1, amp - eq - 1);
		if (!e->arg)
			break; /* without a name: the first parameter */
	}
	return stop;
}

static bool f_method(const struct smp_expr *e, const struct acl_env *env, smp_cb cb, void *arg)
{
	const struct h1_msg *h = req_h1(env);

	if (!h || !h->method_str)
		return false;
	return emit_str(cb, arg, h->method_str, h->method_len);
}

static bool f_ver(const struct l7_msg *m, smp_cb cb, void *arg)
{
	if (!m || !m->h1)
		return false;
	return emit_str(cb, arg, m->h1->version == 10 ? "1.0" : "1.1", 3);
}

static bool f_req_ver(const struct smp_expr *e, const struct acl_env *env, smp_cb cb, void *arg)
{
	return f_ver(env->req, cb, arg);
}

static bool f_res_ver(const struct smp_expr *e, const struct acl_env *env, smp_cb cb, void *arg)
{
	return f_ver(env->rsp, cb, arg);
}

/*
 * Next comma-separated element of a header value, blanks around it removed;
 * empty elements count (an empty value is one empty element). Commas inside
 * double quotes do not split. *p is NULL after the last element.
 */
static bool next_elem(const char **p, const char *end, const char **el, size_t *len)
{
	const char *s = *p, *e;
	bool quoted = false;

	if (!s)
		return false;
	for (e = s; e < end; e++) {
		if (*e == '"' && (e == s || e[-1] != '\\'))
			quoted = !quoted;
		else if (*e == ',' && !quoted)
			break;
	}
	*p = e < end ? e + 1 : NULL;
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*el = s;
	*len = e - s;
	return true;
}

/*
 * Walk the values of the headers named e->arg (every header without a name):
 * the comma-separated elements when split, else the whole lines. With an
 * occurrence, only that one value.
 */
static bool walk_hdr(const struct smp_expr *e, const struct l7_msg *m, bool split, smp_cb cb,
		     void *arg)
{
	uint32_t i;
	int total = 0, idx = 0, want = e->occ;
	int pass;

	if (!m)
		return false;
	/* A negative occurrence counts from the end: count first. */
	for (pass = want < 0 ? 0 : 1; pass < 2; pass++) {
		idx = 0;
		for (i = 0; i < m->nhdrs; i++) {
			const struct h1_hdr *h = &m->hdrs[i];
			const char *p, *el;
			size_t ellen;

			if (e->arg &&
			    (h->name_len != e->arg_len || strncasecmp(h->name, e->arg, e->arg_len)))
				continue;
			if (!split) {
				idx++;
				if (pass == 0)
					continue;
				if (want && idx != want)
					continue;
				if (emit_str(cb, arg, h->value, h->value_len))
					return true;
				continue;
			}
			p = h->value;
			while (next_elem(&p, h->value + h->value_len, &el, &ellen)) {
				idx++;
				if (pass == 0)
					continue;
				if (want && idx != want)
					continue;
				if (emit_str(cb, arg, el, ellen))
					return true;
			}
		}
		if (pass == 0) {
			total = idx;
			want = total + want + 1;
			if (want <= 0)
				return false;
		}
	}
	return false;
}

static bool f_hdr(const struct smp_expr *e, const struct acl_env *env, smp_cb cb, void *arg)
{
	return walk_hdr(e, env->req, true, cb, arg);
}

static bool f_fhdr(const struct smp_expr *e, const struct acl_env *env, smp_cb cb, void *arg)
{
	return walk_hdr(e, env->req, false, cb, arg);
}

static bool f_shdr(const struct smp_expr *e, const struct acl_env *env, smp_cb cb, void *arg)
{
	return walk_hdr(e, env->rsp, true, cb, arg);
}

static bool f_sfhdr(const struct smp_expr *e, const struct acl_env *env, smp_cb cb, void *arg)
{
	return walk_hdr(e, env->rsp, false, cb, arg);
}

static bool count_cb(const struct smp *s, void *arg)
{
	(*(int64_t *)arg)++;
	return false;
}

static bool f_hdr_cnt_msg(const struct smp_expr *e, const struct l7_msg *m, bool split, smp_cb cb,
			  void *arg)
{
	struct smp_expr all = *e;
	int64_t n = 0;

	if (!m)
		return false;
	all.occ = 0;
	walk_hdr(&all, m, split, count_cb, &n);
	return emit_int(cb, arg, n, SMP_INT);
}

static bool f_hdr_cnt(const struct smp_expr *e, const struct acl_env *env, smp_cb cb, void *arg)
{
	return f_hdr_cnt_msg(e, env->req, true, cb, arg);
}

static bool f_fhdr_cnt(const struct smp_expr *e, const struct acl_env *env, smp_cb cb, void *arg)
{
	return f_hdr_cnt_msg(e, env->req, false, cb, arg);
}

static bool f_shdr_cnt(const struct smp_expr *e, const struct acl_env *env, smp_cb cb, void *arg)
{
	return f_hdr_cnt_msg(e, env->rsp, true, cb, arg);
}

/* Signed decimal, surrounding blanks allowed; false when not a number. */
static bool parse_i64(const char *s, size_t len, int64_t *out)
{
	const char *end = s + len;
	bool neg = false;
	uint64_t v = 0;
	int digits = 0;

	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (s < end && (*s == '-' || *s == '+'))
		neg = *s++ == '-';
	for (; s < end; s++, digits++) {
		if (*s < '0' || *s > '9')
			return false;
		if (v > (uint64_t)INT64_MAX / 10)
			return false;
		v = v * 10 + (*s - '0');
	}
	if (!digits || v > (uint64_t)INT64_MAX)
		return false;
	*out = neg ? -(int64_t)v : (int64_t)v;
	return true;
}

struct cast_ctx {
	smp_cb cb;
	void *arg;
	enum smp_kind to;
};

/* Convert string samples to another kind on the way (hdr_val, hdr_ip). */
static bool cast_cb(const struct smp *s, void *arg)
{
	struct cast_ctx *c = arg;
	struct smp out = { .kind = c->to };
	char buf[INET6_ADDRSTRLEN + 8];

	if (c->to == SMP_INT) {
		if (!parse_i64(s->str, s->len, &out.i))
			return false;
	} else {
		if (s->len >= sizeof(buf))
			return false;
		memcpy(buf, s->str, s->len);
		buf[s->len] = 0;
		if (strchr(buf, '/') || acl_net_parse(buf, &out.ip) < 0)
			return false;
	}
	return c->cb(&out, c->arg);
}

static bool f_hdr_val(const struct smp_expr *e, const struct acl_env *env, smp_cb cb, void *arg)
{
	struct cast_ctx c = { cb, arg, SMP_INT };

	return walk_hdr(e, env->req, true, cast_cb, &c);
}

static bool f_hdr_ip(const struct smp_expr *e, const struct acl_env *env, smp_cb cb, void *arg)
{
	struct cast_ctx c = { cb, arg, SMP_IP };

	return walk_hdr(e, env->req, true, cast_cb, &c);
}

/* Cookie values named e->arg in the Cookie headers ("a=1; b=2"). */
static bool f_cook(const struct smp_expr *e, const struct acl_env *env, smp_cb cb, void *arg)
{
	const struct l7_msg *m = env->req;
	int i = -1;

	if (!m)
		return false;
	while ((i = l7_msg_find(m, "cookie", 6, i + 1)) >= 0) {
		const char *p = m->hdrs[i].value, *end = p + m->hdrs[i].value_len;

		while (p < end) {
			const char *semi = memchr(p, ';', end - p), *eq, *n;
			size_t nlen;

			if (!semi)
				semi = end;
			while (p < semi && (*p == ' ' || *p == '\t'))
				p++;
			eq = memchr(p, '=', semi - p);
			if (eq) {
				n = p;
				nlen = eq - p;
				while (nlen && (n[nlen - 1] == ' ' || n[nlen - 1] == '\t'))
					nlen--;
				if (!e->arg || (nlen == e->arg_len && !memcmp(n, e->arg, nlen))) {
					const char *v = eq + 1, *ve = semi;

					while (v < ve && (*v == ' ' || *v == '\t'))
						v++;
					while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
						ve--;
					if (emit_str(cb, arg, v, ve - v))
						return true;
				}
			}
			p = semi + 1;
		}
	}
	return false;
}

static bool f_src(const struct smp_expr *e, const struct acl_env *env, smp_cb cb, void *arg)
{
	return emit_ss(cb, arg, env->src);
}

static bool f_dst(const struct smp_expr *e, const struct acl_env *env, smp_cb cb, void *arg)
{
	return emit_ss(cb, arg, env->dst);
}

static int ss_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return -1;
}

static bool f_src_port(const struct smp_expr *e, const struct acl_env *env, smp_cb cb, void *arg)
{
	if (!env->src || ss_port(env->src) < 0)
		return false;
	return emit_int(cb, arg, ss_port(env->src), SMP_INT);
}

static bool f_dst_port(const struct smp_expr *e, const struct acl_env *env, smp_cb cb, void *arg)
{
	if (!env->dst || ss_port(env->dst) < 0)
		return false;
	return emit_int(cb, arg, ss_port(env->dst), SMP_INT);
}

static bool f_ssl_fc(const struct smp_expr *e, const struct acl_env *env, smp_cb cb, void *arg)
{
	return emit_int(cb, arg, env->ssl, SMP_BOOL);
}

static bool f_ssl_sni(const struct smp_expr *e, const struct acl_env *env, smp_cb cb, void *arg)
{
	if (!env->sni)
		return false;
	return emit_str(cb, arg, env->sni, strlen(env->sni));
}

static bool f_true(const struct smp_expr *e, const struct acl_env *env, smp_cb cb, void *arg)
{
	return emit_int(cb, arg, 1, SMP_BOOL);
}

static bool f_false(const struct smp_expr *e, const struct acl_env *env, smp_cb cb, void *arg)
{
	return emit_int(cb, arg, 0, SMP_BOOL);
}

static bool f_status(const struct smp_expr *e, const struct acl_env *env, smp_cb cb, void *arg)
{
	if (!env->rsp || !env->rsp->h1)
		return false;
	return emit_int(cb, arg, env->rsp->h1->status, SMP_INT);
}

static bool f_content_len(const struct smp_expr *e, const struct acl_env *env, smp_cb cb, void *arg)
{
	const struct h1_msg *h = req_h1(env);

	if (!h)
		return false;
	return emit_int(cb, arg, h->body == H1_BODY_CL ? (int64_t)h->content_length : 0, SMP_INT);
}

static bool f_capture(const char *const *cap, int ncap, const struct smp_expr *e, smp_cb cb,
		      void *arg)
{
	char *end;
	long i = strtol(e->arg ? e->arg : "", &end, 10);

	if (!cap || !e->arg || *end || i < 0 || i >= ncap || !cap[i])
		return false;
	return emit_str(cb, arg, cap[i], strlen(cap[i]));
}

static bool f_cap_req(const struct smp_expr *e, const struct acl_env *env, smp_cb cb, void *arg)
{
	return f_capture(env->req_cap, env->nreq_cap, e, cb, arg);
}

static bool f_cap_rsp(const struct smp_expr *e, const struct acl_env *env, smp_cb cb, void *arg)
{
	return f_capture(env->rsp_cap, env->nrsp_cap, e, cb, arg);
}

static bool f_unique_id(const struct smp_expr *e, const struct acl_env *env, smp_cb cb, void *arg)
{
	if (!env->unique_id)
		return false;
	return emit_str(cb, arg, env->unique_id, strlen(env->unique_id));
}

static const struct fetch_def fetches[] = {
	{ "path", SMP_STR, PAT_STR, ARG_NONE, f_path },
	{ "url", SMP_STR, PAT_STR, ARG_NONE, f_url },
	{ "req.uri", SMP_STR, PAT_STR, ARG_NONE, f_url },
	{ "query", SMP_STR, PAT_STR, ARG_NONE, f_query },
	{ "base", SMP_STR, PAT_STR, ARG_NONE, f_base },
	{ "url_param", SMP_STR, PAT_STR, ARG_OPT, f_url_param },
	{ "urlp", SMP_STR, PAT_STR, ARG_OPT, f_url_param },
	{ "method", SMP_STR, PAT_STR, ARG_NONE, f_method },
	{ "req.ver", SMP_STR, PAT_STR, ARG_NONE, f_req_ver },
	{ "req_ver", SMP_STR, PAT_STR, ARG_NONE, f_req_ver },
	{ "res.ver", SMP_STR, PAT_STR, ARG_NONE, f_res_ver },
	{ "hdr", SMP_STR, PAT_STR, ARG_OPT, f_hdr },
	{ "req.hdr", SMP_STR, PAT_STR, ARG_OPT, f_hdr },
	{ "req.fhdr", SMP_STR, PAT_STR, ARG_REQ, f_fhdr },
	{ "hdr_cnt", SMP_INT, PAT_INT, ARG_OPT, f_hdr_cnt },
	{ "req.hdr_cnt", SMP_INT, PAT_INT, ARG_OPT, f_hdr_cnt },
	{ "req.fhdr_cnt", SMP_INT, PAT_INT, ARG_OPT, f_fhdr_cnt },
	{ "hdr_val", SMP_INT, PAT_INT, ARG_REQ, f_hdr_val },
	{ "req.hdr_val", SMP_INT, PAT_INT, ARG_REQ, f_hdr_val },
	{ "hdr_ip", SMP_IP, PAT_IP, ARG_REQ, f_hdr_ip },
	{ "req.hdr_ip", SMP_IP, PAT_IP, ARG_REQ, f_hdr_ip },
	{ "cook", SMP_STR, PAT_STR, ARG_OPT, f_cook },
	{ "req.cook", SMP_STR, PAT_STR, ARG_OPT, f_cook },
	{ "shdr", SMP_STR, PAT_STR, ARG_OPT, f_shdr },
	{ "res.hdr", SMP_STR, PAT_STR, ARG_OPT, f_shdr },
	{ "res.fhdr", SMP_STR, PAT_STR, ARG_REQ, f_sfhdr },
	{ "shdr_cnt", SMP_INT, PAT_INT, ARG_OPT, f_shdr_cnt },
	{ "res.hdr_cnt", SMP_INT, PAT_INT, ARG_OPT, f_shdr_cnt },
	{ "status", SMP_INT, PAT_INT, ARG_NONE, f_status },
	{ "src", SMP_IP, PAT_IP, ARG_NONE, f_src },
	{ "dst", SMP_IP, PAT_IP, ARG_NONE, f_dst },
	{ "src_port", SMP_INT, PAT_INT, ARG_NONE, f_src_port },
	{ "dst_port", SMP_INT, PAT_INT, ARG_NONE, f_dst_port },
	{ "ssl_fc", SMP_BOOL, PAT_BOOL, ARG_NONE, f_ssl_fc },
	{ "ssl_fc_sni", SMP_STR, PAT_STR, ARG_NONE, f_ssl_sni },
	{ "req.ssl_sni", SMP_STR, PAT_STR, ARG_NONE, f_ssl_sni },
	{ "always_true", SMP_BOOL, PAT_BOOL, ARG_NONE, f_true },
	{ "always_false", SMP_BOOL, PAT_BOOL, ARG_NONE, f_false },
	{ "req.body_size", SMP_INT, PAT_INT, ARG_NONE, f_content_len },
	{ "capture.req.hdr", SMP_STR, PAT_STR, ARG_REQ, f_cap_req },
	{ "capture.res.hdr", SMP_STR, PAT_STR, ARG_REQ, f_cap_rsp },
	{ "unique-id", SMP_STR, PAT_STR, ARG_NONE, f_unique_id },
	{ NULL },
};

/* `path_beg` is `path -m beg`: the fetches that take these suffixes in ACLs. */
static const char *const suffix_bases[] = { "path", "url",  "hdr",  "base",
					    "urlp", "shdr", "cook", NULL };
static const struct {
	const char *suffix;
	enum pat_match match;
} suffixes[] = {
	{ "_beg", PAT_BEG }, { "_end", PAT_END }, { "_sub", PAT_SUB }, { "_dir", PAT_DIR },
	{ "_dom", PAT_DOM }, { "_reg", PAT_REG }, { "_len", PAT_LEN }, { "_val", PAT_INT },
	{ "_ip", PAT_IP },   { NULL, 0 },
};

static const struct fetch_def *fetch_find(const char *name, size_t len)
{
	for (int i = 0; fetches[i].name; i++) {
		if (strlen(fetches[i].name) == len && !strncmp(fetches[i].name, name, len))
			return &fetches[i];
	}
	return NULL;
}

/* ---- expressions ---- */

void smp_expr_free(struct smp_expr *e)
{
	if (!e)
		return;
	free(e->arg);
	free(e);
}

/*
 * Parse "name", "name(arg)", "name(arg,occ)" and ",conv" suffixes. With
 * acl_suffix, "name_beg(arg)" forms are accepted and the match they imply
 * is stored in *implied (else *implied is -1).
 */
static struct smp_expr *expr_parse(const char *text, bool acl_suffix, int *implied, char **err)
{
	const char *p = text, *open, *close, *name_end;
	const struct fetch_def *f;
	struct smp_expr *e;
	size_t nlen;

	*implied = -1;
	name_end = p + strcspn(p, "(,");
	nlen = name_end - p;
	f = fetch_find(p, nlen);
	if (!f && acl_suffix) {
		for (int i = 0; suffixes[i].suffix && !f; i++) {
			size_t sl = strlen(suffixes[i].suffix);

			if (nlen <= sl || strncmp(p + nlen - sl, suffixes[i].suffix, sl))
				continue;
			for (int j = 0; suffix_bases[j]; j++) {
				if (strlen(suffix_bases[j]) == nlen - sl &&
				    !strncmp(suffix_bases[j], p, nlen - sl)) {
					f = fetch_find(p, nlen - sl);
					*implied = suffixes[i].match;
					break;
				}
			}
		}
	}
	if (!f) {
		cfg_err(err, "unknown fetch method '%.*s'", (int)nlen, p);
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		cfg_err(err, "out of memory");
		return NULL;
	}
	e->f = f;
	p = name_end;
	if (*p == '(') {
		open = p + 1;
		close = strchr(open, ')');
		if (!close) {
			cfg_err(err, "missing closing ')' after arguments to '%.*s'", (int)nlen,
				text);
			goto fail;
		}
		if (close > open) {
			const char *comma = memchr(open, ',', close - open);
			const char *aend = comma ? comma : close;

			if (f->arg == ARG_NONE) {
				cfg_err(err, "fetch method '%s' takes no argument", f->name);
				goto fail;
			}
			e->arg = strndup(open, aend - open);
			e->arg_len = aend - open;
			if (!e->arg) {
				cfg_err(err, "out of memory");
				goto fail;
			}
			if (comma) {
				char tmp[32], *end;
				size_t l = close - comma - 1;
				long v;

				if (l == 0 || l >= sizeof(tmp)) {
					cfg_err(err, "invalid second argument to '%s'", f->name);
					goto fail;
				}
				memcpy(tmp, comma + 1, l);
				tmp[l] = 0;
				if (f->fn == f_url_param) {
					e->delim = tmp[0];
				} else {
					v = strtol(tmp, &end, 10);
					if (*end || v < -1000 || v > 1000) {
						cfg_err(err, "invalid occurrence '%s' for '%s'",
							tmp, f->name);
						goto fail;
					}
					e->occ = (int)v;
				}
			}
		}
		p = close + 1;
	}
	if (f->arg == ARG_REQ && !e->arg) {
		cfg_err(err, "fetch method '%s' expects an argument", f->name);
		goto fail;
	}
	while (*p == ',') {
		const char *c = p + 1;
		size_t clen = strcspn(c, ",");

		if (e->nconv >= SMP_MAX_CONV) {
			cfg_err(err, "too many converters");
			goto fail;
		}
		if (clen == 5 && !strncmp(c, "lower", 5)) {
			e->conv[e->nconv++] = CONV_LOWER;
		} else if (clen == 5 && !strncmp(c, "upper", 5)) {
			e->conv[e->nconv++] = CONV_UPPER;
		} else {
			cfg_err(err, "unknown converter '%.*s'", (int)clen, c);
			goto fail;
		}
		p = c + clen;
	}
	if (*p) {
		cfg_err(err, "unexpected '%s' after fetch method '%s'", p, f->name);
		goto fail;
	}
	return e;
fail:
	smp_expr_free(e);
	return NULL;
}

enum smp_src smp_expr_src(const struct smp_expr *e)
{
	fetch_fn fn = e->f->fn;

	if (fn == f_res_ver || fn == f_shdr || fn == f_sfhdr || fn == f_shdr_cnt)
		return SMP_SRC_RSP;
	if (fn == f_cap_req || fn == f_cap_rsp || fn == f_unique_id || fn == f_status)
		return SMP_SRC_TXN;
	if (fn == f_src || fn == f_dst || fn == f_src_port || fn == f_dst_port || fn == f_true ||
	    fn == f_false || fn == f_ssl_fc || fn == f_ssl_sni)
		return SMP_SRC_CONN;
	return SMP_SRC_REQ;
}

const char *smp_expr_name(const struct smp_expr *e)
{
	return e->f->name;
}

struct smp_expr *smp_expr_parse(const char *text, char **err)
{
	int implied;

	return expr_parse(text, false, &implied, err);
}

struct conv_ctx {
	const struct smp_expr *e;
	smp_cb cb;
	void *arg;
};

static bool conv_cb(const struct smp *s, void *arg)
{
	struct conv_ctx *c = arg;
	char buf[4096];
	struct smp out = *s;
	size_t i;

	if (s->kind != SMP_STR)
		return c->cb(s, c->arg);
	if (s->len > sizeof(buf))
		return false;
	memcpy(buf, s->str, s->len);
	for (int k = 0; k < c->e->nconv; k++) {
		for (i = 0; i < s->len; i++)
			buf[i] = (char)(c->e->conv[k] == CONV_LOWER ?
						tolower((unsigned char)buf[i]) :
						toupper((unsigned char)buf[i]));
	}
	out.str = buf;
	return c->cb(&out, c->arg);
}

static bool expr_walk(const struct smp_expr *e, const struct acl_env *env, smp_cb cb, void *arg)
{
	struct conv_ctx c = { e, cb, arg };

	if (e->nconv)
		return e->f->fn(e, env, conv_cb, &c);
	return e->f->fn(e, env, cb, arg);
}

/* Text form of a sample into buf (NUL-terminated); returns the length. */
static int smp_to_text(const struct smp *s, char *buf, size_t size)
{
	size_t n;

	switch (s->kind) {
	case SMP_STR:
		n = s->len < size - 1 ? s->len : size - 1;
		memcpy(buf, s->str, n);
		buf[n] = 0;
		return (int)n;
	case SMP_IP: {
		char ip[INET6_ADDRSTRLEN];

		if (!inet_ntop(s->ip.family, s->ip.addr, ip, sizeof(ip)))
			return -1;
		n = strlen(ip) < size - 1 ? strlen(ip) : size - 1;
		memcpy(buf, ip, n);
		buf[n] = 0;
		return (int)n;
	}
	case SMP_INT:
	case SMP_BOOL: {
		char num[24];

		snprintf(num, sizeof(num), "%lld", (long long)s->i);
		n = strlen(num) < size - 1 ? strlen(num) : size - 1;
		memcpy(buf, num, n);
		buf[n] = 0;
		return (int)n;
	}
	}
	return -1;
}

struct last_ctx {
	char *buf;
	size_t size;
	int len;
};

static bool last_cb(const struct smp *s, void *arg)
{
	struct last_ctx *c = arg;

	c->len = smp_to_text(s, c->buf, c->size);
	return false;
}

int smp_expr_str(const struct smp_expr *e, const struct acl_env *env, char *buf, size_t size)
{
	struct last_ctx c = { buf, size, -1 };

	if (!size)
		return -1;
	buf[0] = 0;
	expr_walk(e, env, last_cb, &c);
	return c.len;
}

/* ---- patterns ---- */

enum int_op {
	OP_NONE = 0,
	OP_EQ,
	OP_GE,
	OP_GT,
	OP_LE,
	OP_LT,
};

struct pat {
	char *s; /* string patterns (kept for every kind, for messages) */
	size_t len;
	regex_t re;
	bool has_re;
	int64_t lo, hi; /* integer range, inclusive */
	struct acl_net net;
};

struct acl_expr {
	struct smp_expr *smp;
	enum pat_match match;
	bool icase;
	struct pat *pats;
	int npats;
};

void acl_expr_free(struct acl_expr *e)
{
	if (!e)
		return;
	for (int i = 0; i < e->npats; i++) {
		free(e->pats[i].s);
		if (e->pats[i].has_re)
			regfree(&e->pats[i].re);
	}
	free(e->pats);
	smp_expr_free(e->smp);
	free(e);
}

static int parse_int_pat(struct pat *p, const char *s, enum int_op op, char **err)
{
	const char *colon = strchr(s, ':');
	int64_t v;

	p->lo = INT64_MIN;
	p->hi = INT64_MAX;
	if (colon && op == OP_NONE) {
		if (colon > s && !parse_i64(s, colon - s, &p->lo))
			goto bad;
		if (colon[1] && !parse_i64(colon + 1, strlen(colon + 1), &p->hi))
			goto bad;
		return 0;
	}
	if (!parse_i64(s, strlen(s), &v))
		goto bad;
	switch (op) {
	case OP_NONE:
	case OP_EQ:
		p->lo = p->hi = v;
		break;
	case OP_GE:
		p->lo = v;
		break;
	case OP_GT:
		if (v == INT64_MAX)
			goto bad;
		p->lo = v + 1;
		break;
	case OP_LE:
		p->hi = v;
		break;
	case OP_LT:
		if (v == INT64_MIN)
			goto bad;
		p->hi = v - 1;
		break;
	}
	return 0;
bad:
	return cfg_err(err, "'%s' is not a valid integer or range", s);
}

static int add_pattern(struct acl_expr *e, const char *s, enum int_op op, char **err)
{
	struct pat *p, *np;

	np = realloc(e->pats, (e->npats + 1) * sizeof(*e->pats));
	if (!np)
		return cfg_err(err, "out of memory");
	e->pats = np;
	p = &e->pats[e->npats];
	memset(p, 0, sizeof(*p));
	p->s = strdup(s);
	if (!p->s)
		return cfg_err(err, "out of memory");
	p->len = strlen(s);
	switch (e->match) {
	case PAT_INT:
	case PAT_LEN:
		if (parse_int_pat(p, s, op, err) < 0)
			goto fail;
		break;
	case PAT_IP:
		if (acl_net_parse(s, &p->net) < 0) {
			cfg_err(err, "'%s' is not a valid IPv4 or IPv6 address or network", s);
			goto fail;
		}
		break;
	case PAT_REG: {
		int rc = regcomp(&p->re, s, REG_EXTENDED | REG_NOSUB | (e->icase ? REG_ICASE : 0));

		if (rc) {
			char msg[128];

			regerror(rc, &p->re, msg, sizeof(msg));
			cfg_err(err, "regex '%s': %s", s, msg);
			goto fail;
		}
		p->has_re = true;
		break;
	}
	case PAT_DIR:
	case PAT_DOM: {
		/* Delimiters at either end of the pattern are ignored. */
		const char *delims = e->match == PAT_DIR ? "/?" : "/?.:";
		char *start = p->s;

		while (*start && strchr(delims, *start))
			start++;
		memmove(p->s, start, strlen(start) + 1);
		p->len = strlen(p->s);
		while (p->len && strchr(delims, p->s[p->len - 1]))
			p->s[--p->len] = 0;
		break;
	}
	case PAT_FOUND:
	case PAT_BOOL:
		cfg_err(err, "'-m %s' takes no pattern, got '%s'", pat_names[e->match], s);
		goto fail;
	default:
		break;
	}
	e->npats++;
	return 0;
fail:
	free(p->s);
	return -1;
}

/* Patterns of `-f FILE`: one per line, leading blanks removed, `#` comments and empty lines skipped. */
static int load_pattern_file(struct acl_expr *e, const char *path, char **err)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int lineno = 0, rc = 0;

	if (!f)
		return cfg_err(err, "failed to open pattern file '%s': %s", path, strerror(errno));
	while ((n = getline(&line, &cap, f)) >= 0) {
		char *s = line, *end = line + n;
		char *sub = NULL;

		lineno++;
		/* leading blanks go, trailing ones are part of the pattern (HAProxy) */
		while (s < end && isspace((unsigned char)*s))
			s++;
		while (end > s && (end[-1] == '\n' || end[-1] == '\r'))
			end--;
		*end = 0;
		if (!*s || *s == '#')
			continue;
		if (add_pattern(e, s, OP_NONE, &sub) < 0) {
			cfg_err(err, "pattern file '%s' line %d: %s", path, lineno, sub);
			free(sub);
			rc = -1;
			break;
		}
	}
	free(line);
	fclose(f);
	return rc;
}

static int match_by_name(const char *s)
{
	for (int i = 0; i < (int)(sizeof(pat_names) / sizeof(pat_names[0])); i++) {
		if (pat_names[i] && !strcmp(pat_names[i], s))
			return i;
	}
	return -1;
}

struct acl_expr *acl_expr_compile(char *const *args, int nargs, char **err)
{
	const char *files[16];
	int nfiles = 0, i, implied, forced = -1;
	enum int_op op = OP_NONE;
	struct acl_expr *e;

	if (nargs < 1 || !args[0]) {
		cfg_err(err, "missing fetch method");
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		cfg_err(err, "out of memory");
		return NULL;
	}
	e->smp = expr_parse(args[0], true, &implied, err);
	if (!e->smp)
		goto fail;
	e->match = implied >= 0 ? (enum pat_match)implied : e->smp->f->match;
	for (i = 1; i < nargs && args[i][0] == '-' && args[i][1]; i++) {
		const char *fl = args[i];

		if (!strcmp(fl, "--")) {
			i++;
			break;
		} else if (!strcmp(fl, "-i")) {
			e->icase = true;
		} else if (!strcmp(fl, "-n") || !strcmp(fl, "-M")) {
			/* no DNS resolution / map: nothing to do */
		} else if (!strcmp(fl, "-m") || !strcmp(fl, "-f") || !strcmp(fl, "-u")) {
			if (i + 1 >= nargs) {
				cfg_err(err, "'%s' expects an argument", fl);
				goto fail;
			}
			i++;
			if (fl[1] == 'm') {
				forced = match_by_name(args[i]);
				if (forced < 0) {
					cfg_err(err, "unknown matching method '%s' for '-m'",
						args[i]);
					goto fail;
				}
			} else if (fl[1] == 'f') {
				if (nfiles >= 16) {
					cfg_err(err, "too many '-f' files");
					goto fail;
				}
				files[nfiles++] = args[i];
			}
		} else {
			cfg_err(err, "'%s' is not a valid ACL option", fl);
			goto fail;
		}
	}
	if (forced >= 0) {
		if (implied >= 0 && forced != implied) {
			cfg_err(err, "'-m %s' conflicts with the match implied by '%s'",
				pat_names[forced], args[0]);
			goto fail;
		}
		e->match = (enum pat_match)forced;
	}
	for (int k = 0; k < nfiles; k++) {
		if (load_pattern_file(e, files[k], err) < 0)
			goto fail;
	}
	for (; i < nargs; i++) {
		const char *w = args[i];

		if (e->match == PAT_INT || e->match == PAT_LEN) {
			static const char *const ops[] = { "", "eq", "ge", "gt", "le", "lt" };
			int k;

			for (k = 1; k < 6 && strcmp(w, ops[k]); k++)
				;
			if (k < 6) {
				op = (enum int_op)k;
				continue;
			}
		}
		if (add_pattern(e, w, op, err) < 0)
			goto fail;
	}
	return e;
fail:
	acl_expr_free(e);
	return NULL;
}

/* ---- matching ---- */

static bool bytes_eq(const char *a, const char *b, size_t len, bool icase)
{
	return icase ? !strncasecmp(a, b, len) : !memcmp(a, b, len);
}

static const char *find_sub(const char *s, size_t slen, const char *p, size_t plen, bool icase)
{
	size_t i;

	if (plen == 0)
		return s;
	if (!icase)
		return memmem(s, slen, p, plen);
	for (i = 0; i + plen <= slen; i++) {
		if (!strncasecmp(s + i, p, plen))
			return s + i;
	}
	return NULL;
}

/* p occurs in s with a delimiter (or an end of s) on both sides. */
static bool match_word(const char *s, size_t slen, const char *p, size_t plen, bool icase,
		       const char *delims)
{
	size_t off = 0;

	if (plen == 0)
		return false;
	while (off + plen <= slen) {
		const char *hit = find_sub(s + off, slen - off, p, plen, icase);
		size_t at;

		if (!hit)
			return false;
		at = hit - s;
		if ((at == 0 || strchr(delims, s[at - 1])) &&
		    (at + plen == slen || strchr(delims, s[at + plen])))
			return true;
		off = at + 1;
	}
	return false;
}

static bool match_str(const struct acl_expr *e, const struct pat *p, const char *s, size_t len)
{
	switch (e->match) {
	case PAT_STR:
		return len == p->len && bytes_eq(s, p->s, len, e->icase);
	case PAT_BEG:
		return len >= p->len && bytes_eq(s, p->s, p->len, e->icase);
	case PAT_END:
		return len >= p->len && bytes_eq(s + len - p->len, p->s, p->len, e->icase);
	case PAT_SUB:
		return find_sub(s, len, p->s, p->len, e->icase) != NULL;
	case PAT_DIR:
		return match_word(s, len, p->s, p->len, e->icase, "/?");
	case PAT_DOM:
		return match_word(s, len, p->s, p->len, e->icase, "/?.:");
	case PAT_REG: {
		regmatch_t m = { .rm_so = 0, .rm_eo = (regoff_t)len };

		return regexec(&p->re, s ? s : "", 1, &m, REG_STARTEND) == 0;
	}
	default:
		return false;
	}
}

static bool pattern_cb(const struct smp *s, void *arg)
{
	const struct acl_expr *e = arg;
	char text[INET6_ADDRSTRLEN + 32];
	const char *str = s->str;
	size_t len = s->len;
	int64_t iv = s->i;
	struct acl_net ip;
	int i;

	switch (e->match) {
	case PAT_FOUND:
		return true;
	case PAT_BOOL:
		if (s->kind == SMP_STR)
			return s->len > 0;
		if (s->kind == SMP_IP)
			return true;
		return s->i != 0;
	case PAT_LEN:
		if (s->kind != SMP_STR) {
			int n = smp_to_text(s, text, sizeof(text));

			if (n < 0)
				return false;
			len = n;
		}
		for (i = 0; i < e->npats; i++) {
			if ((int64_t)len >= e->pats[i].lo && (int64_t)len <= e->pats[i].hi)
				return true;
		}
		return false;
	case PAT_INT:
		if (s->kind == SMP_STR) {
			if (!parse_i64(s->str, s->len, &iv))
				return false;
		} else if (s->kind == SMP_IP) {
			return false;
		}
		for (i = 0; i < e->npats; i++) {
			if (iv >= e->pats[i].lo && iv <= e->pats[i].hi)
				return true;
		}
		return false;
	case PAT_IP:
		if (s->kind == SMP_IP) {
			ip = s->ip;
		} else if (s->kind == SMP_STR) {
			if (s->len >= sizeof(text))
				return false;
			memcpy(text, s->str, s->len);
			text[s->len] = 0;
			if (strchr(text, '/') || acl_net_parse(text, &ip) < 0)
				return false;
		} else {
			return false;
		}
		for (i = 0; i < e->npats; i++) {
			if (ip_in_net(&e->pats[i].net, &ip))
				return true;
		}
		return false;
	default:
		break;
	}
	if (s->kind != SMP_STR) {
		int n = smp_to_text(s, text, sizeof(text));

		if (n < 0)
			return false;
		str = text;
		len = n;
	}
	for (i = 0; i < e->npats; i++) {
		if (match_str(e, &e->pats[i], str, len))
			return true;
	}
	return false;
}

bool acl_expr_match(const struct acl_expr *e, const struct acl_env *env)
{
	if (!e)
		return false;
	if (!e->npats && e->match != PAT_FOUND && e->match != PAT_BOOL)
		return false;
	return expr_walk(e->smp, env, pattern_cb, (void *)e);
}

/* ---- conditions ---- */

/* HAProxy's predefined ACLs, as the ACL bodies they stand for. */
static const struct {
	const char *name;
	const char *body;
} predefs[] = {
	{ "TRUE", "always_true" },
	{ "FALSE", "always_false" },
	{ "HTTP", "always_true" },
	{ "HTTP_1.0", "req.ver 1.0" },
	{ "HTTP_1.1", "req.ver 1.1" },
	{ "HTTP_2.0", "req.ver 2.0" },
	{ "HTTP_CONTENT", "hdr_val(content-length) gt 0" },
	{ "HTTP_URL_ABS", "url_reg ^[^/:]*://" },
	{ "HTTP_URL_SLASH", "url_beg /" },
	{ "HTTP_URL_STAR", "url *" },
	{ "LOCALHOST", "src 127.0.0.1/8 ::1" },
	{ "METH_CONNECT", "method CONNECT" },
	{ "METH_DELETE", "method DELETE" },
	{ "METH_GET", "method GET HEAD" },
	{ "METH_HEAD", "method HEAD" },
	{ "METH_OPTIONS", "method OPTIONS" },
	{ "METH_POST", "method POST" },
	{ "METH_PUT", "method PUT" },
	{ "METH_TRACE", "method TRACE" },
	{ "REQ_CONTENT", "req.body_size gt 0" },
	{ "WAIT_END", "always_true" },
	{ NULL, NULL },
};

/* One operand of a condition: a named ACL (the OR of its lines) or an inline one. */
struct acl_term {
	bool neg;
	struct acl_expr **ex;
	int nex;
	bool owned; /* ex[] belongs to the term (anonymous and predefined ACLs) */
};

struct acl_group {
	struct acl_term *terms;
	int nterms;
};

struct acl_cond {
	struct acl_group *groups; /* OR of groups, each an AND of terms */
	int ngroups;
};

void acl_cond_free(struct acl_cond *ac)
{
	if (!ac)
		return;
	for (int g = 0; g < ac->ngroups; g++) {
		for (int t = 0; t < ac->groups[g].nterms; t++) {
			struct acl_term *term = &ac->groups[g].terms[t];

			if (term->owned) {
				for (int k = 0; k < term->nex; k++)
					acl_expr_free(term->ex[k]);
			}
			free(term->ex);
		}
		free(ac->groups[g].terms);
	}
	free(ac->groups);
	free(ac);
}

int acl_compile_defs(struct proxy *px, char **err)
{
	struct acl_def *d;
	char *sub = NULL;

	list_for_each(d, &px->acls, list) {
		if (d->compiled)
			continue;
		d->compiled = acl_expr_compile(d->args, d->nargs, &sub);
		if (!d->compiled) {
			cfg_err(err, "%s:%d: acl '%s': %s", d->loc.file ? d->loc.file : "?",
				d->loc.line, d->name, sub ? sub : "invalid");
			free(sub);
			return -1;
		}
	}
	return 0;
}

void acl_free_defs(struct proxy *px)
{
	struct acl_def *d;

	list_for_each(d, &px->acls, list) {
		acl_expr_free(d->compiled);
		d->compiled = NULL;
	}
}

/* Split a predefined body into words (in place in buf). */
static int split_words(char *buf, char **words, int max)
{
	int n = 0;
	char *save = NULL, *w;

	for (w = strtok_r(buf, " ", &save); w && n < max; w = strtok_r(NULL, " ", &save))
		words[n++] = w;
	return n;
}

static int term_named(struct proxy *px, struct acl_term *t, const char *name, char **err)
{
	struct acl_def *d;
	int n = 0, k = 0;

	list_for_each(d, &px->acls, list) {
		if (!strcmp(d->name, name))
			n++;
	}
	if (n) {
		t->ex = calloc(n, sizeof(*t->ex));
		if (!t->ex)
			return cfg_err(err, "out of memory");
		list_for_each(d, &px->acls, list) {
			if (!strcmp(d->name, name))
				t->ex[k++] = d->compiled;
		}
		t->nex = n;
		return 0;
	}
	for (int i = 0; predefs[i].name; i++) {
		char buf[128], *words[8];
		int nw;

		if (strcmp(predefs[i].name, name))
			continue;
		snprintf(buf, sizeof(buf), "%s", predefs[i].body);
		nw = split_words(buf, words, 8);
		t->ex = calloc(1, sizeof(*t->ex));
		if (!t->ex)
			return cfg_err(err, "out of memory");
		t->owned = true;
		t->ex[0] = acl_expr_compile(words, nw, err);
		if (!t->ex[0])
			return -1;
		t->nex = 1;
		return 0;
	}
	return cfg_err(err, "no such ACL : '%s'", name);
}

static struct acl_term *group_add(struct acl_group *g, char **err)
{
	struct acl_term *nt = realloc(g->terms, (g->nterms + 1) * sizeof(*nt));

	if (!nt) {
		cfg_err(err, "out of memory");
		return NULL;
	}
	g->terms = nt;
	memset(&nt[g->nterms], 0, sizeof(*nt));
	return &nt[g->nterms++];
}

static struct acl_group *cond_add_group(struct acl_cond *ac, char **err)
{
	struct acl_group *ng = realloc(ac->groups, (ac->ngroups + 1) * sizeof(*ng));

	if (!ng) {
		cfg_err(err, "out of memory");
		return NULL;
	}
	ac->groups = ng;
	memset(&ng[ac->ngroups], 0, sizeof(*ng));
	return &ng[ac->ngroups++];
}

int acl_cond_compile(struct proxy *px, struct cond *c, char **err)
{
	struct acl_cond *ac;
	struct acl_group *g;
	struct acl_term *t;
	bool neg = false;
	int i = 0;

	if (!c || c->compiled)
		return 0;
	if (acl_compile_defs(px, err) < 0)
		return -1;
	ac = calloc(1, sizeof(*ac));
	if (!ac)
		return cfg_err(err, "out of memory");
	g = cond_add_group(ac, err);
	if (!g)
		goto fail;
	if (c->nwords > 0 && (!strcmp(c->words[0], "if") || !strcmp(c->words[0], "unless")))
		i = 1;
	for (; i < c->nwords; i++) {
		const char *w = c->words[i];

		if (!strcmp(w, "or") || !strcmp(w, "||")) {
			if (!g->nterms || neg) {
				cfg_err(err, "missing ACL before '%s'", w);
				goto fail;
			}
			g = cond_add_group(ac, err);
			if (!g)
				goto fail;
			continue;
		}
		if (!strcmp(w, "!")) {
			neg = !neg;
			continue;
		}
		/* "!name", and "!{" opening a negated anonymous ACL */
		while (*w == '!') {
			neg = !neg;
			w++;
		}
		if (!*w) {
			cfg_err(err, "missing ACL name after '!'");
			goto fail;
		}
		t = group_add(g, err);
		if (!t)
			goto fail;
		if (!strcmp(w, "{")) {
			int j;

			for (j = i + 1; j < c->nwords && strcmp(c->words[j], "}"); j++)
				;
			if (j >= c->nwords) {
				cfg_err(err, "missing closing '}' in condition");
				goto fail;
			}
			if (j == i + 1) {
				cfg_err(err, "empty anonymous ACL '{ }'");
				goto fail;
			}
			t->ex = calloc(1, sizeof(*t->ex));
			if (!t->ex) {
				cfg_err(err, "out of memory");
				goto fail;
			}
			t->owned = true;
			t->ex[0] = acl_expr_compile(c->words + i + 1, j - i - 1, err);
			if (!t->ex[0])
				goto fail;
			t->nex = 1;
			i = j;
		} else {
			if (term_named(px, t, w, err) < 0)
				goto fail;
		}
		t->neg = neg;
		neg = false;
	}
	if (!g->nterms) {
		cfg_err(err, ac->ngroups > 1 ? "missing ACL after 'or'" : "missing condition");
		goto fail;
	}
	c->compiled = ac;
	return 0;
fail:
	acl_cond_free(ac);
	return -1;
}

/* Fetches that read only the connection's addresses: known at accept. */
static bool fetch_is_conn(const struct fetch_def *f)
{
	return f->fn == f_src || f->fn == f_dst || f->fn == f_src_port || f->fn == f_dst_port ||
	       f->fn == f_true || f->fn == f_false;
}

const char *acl_cond_l7_fetch(const struct cond *c)
{
	const struct acl_cond *ac = c ? c->compiled : NULL;

	if (!ac)
		return NULL;
	for (int g = 0; g < ac->ngroups; g++) {
		for (int t = 0; t < ac->groups[g].nterms; t++) {
			const struct acl_term *term = &ac->groups[g].terms[t];

			for (int k = 0; k < term->nex; k++) {
				const struct fetch_def *f = term->ex[k]->smp->f;

				if (!fetch_is_conn(f))
					return f->name;
			}
		}
	}
	return NULL;
}

static bool term_eval(const struct acl_term *t, const struct acl_env *env)
{
	bool v = false;

	for (int k = 0; k < t->nex && !v; k++)
		v = acl_expr_match(t->ex[k], env);
	return t->neg ? !v : v;
}

bool acl_cond_eval(const struct cond *c, const struct acl_env *env)
{
	const struct acl_cond *ac;
	bool v = false;

	if (!c)
		return true;
	ac = c->compiled;
	if (!ac)
		return false; /* not compiled: never matches rather than always */
	for (int g = 0; g < ac->ngroups && !v; g++) {
		bool all = true;

		for (int t = 0; t < ac->groups[g].nterms && all; t++)
			all = term_eval(&ac->groups[g].terms[t], env);
		v = all;
	}
	return c->unless ? !v : v;
}
