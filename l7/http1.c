// SPDX-License-Identifier: MIT
/*
 * HTTP/1.1 head parser, chunked body decoder and head writer. See http1.h
 * for the interface and doc/http.md for the accept/reject rules.
 *
 * The head is handled in two passes. The first (scan) runs as bytes arrive:
 * it looks for the empty line ending the head, rejects bytes that can never
 * be valid (NUL, a CR not followed by LF), enforces the size limit and checks
 * the start line as soon as it is complete, so garbage is refused early. The
 * second runs once over the complete head: it splits lines, fills the header
 * array and derives framing, keep-alive and the other flags.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http1.h"

/* Scan flags (struct h1_msg.scan_flags). */
#define SF_STARTED 0x1 /* a byte of the start line was seen (empty lines before it skipped) */
#define SF_CR 0x2 /* the previous byte was a CR */
#define SF_INLINE 0x4 /* the current line has content */
#define SF_LINE1 0x8 /* the start line was checked */

/* Character classes, one bit each, indexed by byte value. */
#define C_TCHAR 0x01 /* token character (RFC 9110 section 5.6.2) */
#define C_FVAL 0x02 /* allowed in a field value or reason phrase: HTAB, SP, VCHAR, obs-text */
#define C_HOST 0x04 /* reg-name characters: unreserved, sub-delims, '%' (RFC 3986) */
#define C_URI 0x08 /* allowed in a request target: VCHAR except '#' */
#define C_HEX 0x10
#define C_DIGIT 0x20

static uint8_t cclass[256];

/* Filled before main() so that worker threads only ever read the table. */
__attribute__((constructor)) static void cclass_init(void)
{
	static const char tspecial[] = "!#$%&'*+-.^_`|~";
	static const char hostsym[] = "-._~%!$&'()*+,;=";
	int c;

	for (c = 0; c < 256; c++) {
		uint8_t v = 0;
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
		bool digit = c >= '0' && c <= '9';

		if (alpha || digit || (c && strchr(tspecial, c)))
			v |= C_TCHAR;
		if (c == '\t' || (c >= 0x20 && c != 0x7f))
			v |= C_FVAL;
		if (alpha || digit || (c && strchr(hostsym, c)))
			v |= C_HOST;
		if (c > 0x20 && c < 0x7f && c != '#')
			v |= C_URI;
		if (digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))
			v |= C_HEX;
		if (digit)
			v |= C_DIGIT;
		cclass[c] = v;
	}
}

static inline bool is_c(unsigned char c, uint8_t cls)
{
	return cclass[c] & cls;
}

static inline bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static inline int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	return (c | 0x20) - 'a' + 10;
}

/* a[0..alen) equals the NUL-terminated lowercase b, ignoring case. */
static bool ieq(const char *a, size_t alen, const char *b)
{
	size_t i;

	for (i = 0; i < alen; i++) {
		unsigned char x = (unsigned char)a[i];

		if (!b[i])
			return false;
		if (x >= 'A' && x <= 'Z')
			x |= 0x20;
		if (x != (unsigned char)b[i])
			return false;
	}
	return b[i] == '\0';
}

static bool ieq2(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && (alen == 0 || strncasecmp(a, b, alen) == 0);
}

static int fail(struct h1_msg *m, int status, const char *why, size_t pos)
{
	m->state = -1;
	m->err_status = m->response ? 502 : status;
	m->err = why;
	m->err_pos = pos;
	return H1_ERROR;
}

/* --- methods --- */

static const char *const method_names[] = {
	[H1_M_GET] = "GET",	    [H1_M_HEAD] = "HEAD",     [H1_M_POST] = "POST",
	[H1_M_PUT] = "PUT",	    [H1_M_DELETE] = "DELETE", [H1_M_CONNECT] = "CONNECT",
	[H1_M_OPTIONS] = "OPTIONS", [H1_M_TRACE] = "TRACE",   [H1_M_PATCH] = "PATCH",
};

const char *h1_method_name(enum h1_method m)
{
	if ((unsigned int)m >= sizeof(method_names) / sizeof(method_names[0]))
		return NULL;
	return method_names[m];
}

enum h1_method h1_method_lookup(const char *s, size_t len)
{
	unsigned int i;

	/* methods are case-sensitive (RFC 9110 section 9.1) */
	for (i = 1; i < sizeof(method_names) / sizeof(method_names[0]); i++)
		if (strlen(method_names[i]) == len && memcmp(method_names[i], s, len) == 0)
			return (enum h1_method)i;
	return H1_M_OTHER;
}

/* --- init --- */

static void msg_init(struct h1_msg *m, struct h1_hdr *hdrs, uint32_t maxhdr, size_t bufsize)
{
	memset(m, 0, sizeof(*m));
	m->hdrs = hdrs;
	m->maxhdr = maxhdr ? maxhdr : H1_DEFAULT_MAXHDR;
	m->bufsize = bufsize ? bufsize : H1_DEFAULT_BUFSIZE;
}

void h1_msg_init_req(struct h1_msg *m, struct h1_hdr *hdrs, uint32_t maxhdr, size_t bufsize)
{
	msg_init(m, hdrs, maxhdr, bufsize);
}

void h1_msg_init_resp(struct h1_msg *m, struct h1_hdr *hdrs, uint32_t maxhdr, size_t bufsize,
		      enum h1_method req_method)
{
	msg_init(m, hdrs, maxhdr, bufsize);
	m->response = true;
	m->req_method = req_method;
}

/* --- start line --- */

/* "HTTP/1.0" or "HTTP/1.1", exactly: 10 or 11, else 0. */
static unsigned int parse_version(const char *p, size_t n)
{
	if (n != 8 || memcmp(p, "HTTP/1.", 7) != 0)
		return 0;
	if (p[7] == '0')
		return 10;
	if (p[7] == '1')
		return 11;
	return 0;
}

/*
 * host [":" port] as in an authority or a Host value (RFC 3986 section
 * 3.2.2): a reg-name (possibly empty when allow_empty) or an IP literal in
 * brackets, then an optional port of at most 5 digits. need_port: the port
 * must be there and not empty (CONNECT targets).
 */
static bool valid_hostport(const char *s, size_t n, bool need_port, bool allow_empty)
{
	size_t i = 0, d;
	unsigned long port = 0;

	if (n && s[0] == '[') {
		for (i = 1; i < n && s[i] != ']'; i++)
			if (!is_c(s[i], C_HEX) && s[i] != ':' && s[i] != '.' && !is_c(s[i], C_HOST))
				return false;
		if (i == n || i == 1)
			return false;
		i++;
	} else {
		while (i < n && s[i] != ':') {
			if (!is_c(s[i], C_HOST))
				return false;
			if (s[i] == '%') {
				if (n - i < 3 || !is_c(s[i + 1], C_HEX) || !is_c(s[i + 2], C_HEX))
					return false;
				i += 2;
			}
			i++;
		}
		if (i == 0 && !allow_empty)
			return false;
	}
	if (i == n)
		return !need_port;
	if (s[i] != ':')
		return false;
	for (d = ++i; i < n; i++) {
		if (!is_c(s[i], C_DIGIT) || i - d >= 5)
			return false;
		port = port * 10 + (unsigned long)(s[i] - '0');
	}
	if (port > 65535)
		return false;
	return !(need_port && i == d);
}

/*
 * Absolute-form target: scheme "://" authority [path-abempty] ["?" query].
 * Fills authority and path; false when malformed.
 */
static bool parse_absolute(struct h1_msg *m, const char *t, size_t n)
{
	size_t i = 0, a;

	if (!n || !((t[0] | 0x20) >= 'a' && (t[0] | 0x20) <= 'z'))
		return false;
	while (i < n && (is_c(t[i], C_DIGIT) || ((t[i] | 0x20) >= 'a' && (t[i] | 0x20) <= 'z') ||
			 t[i] == '+' || t[i] == '-' || t[i] == '.'))
		i++;
	if (n - i < 3 || memcmp(t + i, "://", 3) != 0)
		return false;
	a = i + 3;
	for (i = a; i < n && t[i] != '/' && t[i] != '?'; i++)
		;
	/* userinfo ('@') is deprecated and a classic spoofing trick: refused */
	if (!valid_hostport(t + a, i - a, false, false))
		return false;
	m->authority = t + a;
	m->authority_len = i - a;
	m->path = t + i;
	m->path_len = n - i;
	return true;
}

static int parse_request_line(struct h1_msg *m, const char *buf, const char *ls, const char *le)
{
	const char *q = ls, *t;
	size_t tlen;

	while (q < le && is_c(*q, C_TCHAR))
		q++;
	if (q == ls || q == le || *q != ' ')
		return fail(m, 400, "invalid method", (size_t)(q - buf));
	m->method_str = ls;
	m->method_len = (size_t)(q - ls);
	m->method = h1_method_lookup(ls, m->method_len);

	t = ++q;
	while (q < le && *q != ' ') {
		if (!is_c(*q, C_URI))
			return fail(m, 400, "invalid character in request target",
				    (size_t)(q - buf));
		q++;
	}
	if (q == t)
		return fail(m, 400, "empty request target", (size_t)(q - buf));
	if (q == le)
		return fail(m, 400, "missing HTTP version", (size_t)(q - buf));
	m->target = t;
	m->target_len = tlen = (size_t)(q - t);

	q++;
	m->version = parse_version(q, (size_t)(le - q));
	if (!m->version)
		return fail(m, 400, "unsupported HTTP version", (size_t)(q - buf));

	m->authority = NULL;
	m->authority_len = 0;
	m->path = "";
	m->path_len = 0;
	if (t[0] == '/') {
		if (m->method == H1_M_CONNECT)
			return fail(m, 400, "CONNECT needs an authority-form target",
				    (size_t)(t - buf));
		m->target_form = H1_TGT_ORIGIN;
		m->path = t;
		m->path_len = tlen;
	} else if (t[0] == '*' && tlen == 1) {
		if (m->method != H1_M_OPTIONS)
			return fail(m, 400, "'*' target outside OPTIONS", (size_t)(t - buf));
		m->target_form = H1_TGT_ASTERISK;
	} else if (m->method == H1_M_CONNECT) {
		if (!valid_hostport(t, tlen, true, false))
			return fail(m, 400, "invalid CONNECT target", (size_t)(t - buf));
		m->target_form = H1_TGT_AUTHORITY;
		m->authority = t;
		m->authority_len = tlen;
	} else {
		if (!parse_absolute(m, t, tlen))
			return fail(m, 400, "invalid request target", (size_t)(t - buf));
		m->target_form = H1_TGT_ABSOLUTE;
	}
	return 0;
}

static int parse_status_line(struct h1_msg *m, const char *buf, const char *ls, const char *le)
{
	const char *q;
	size_t n = (size_t)(le - ls);

	if (n < 12 || ls[8] != ' ')
		return fail(m, 502, "invalid status line", (size_t)(ls - buf));
	m->version = parse_version(ls, 8);
	if (!m->version)
		return fail(m, 502, "unsupported HTTP version", (size_t)(ls - buf));
	q = ls + 9;
	if (!is_c(q[0], C_DIGIT) || !is_c(q[1], C_DIGIT) || !is_c(q[2], C_DIGIT))
		return fail(m, 502, "invalid status code", (size_t)(q - buf));
	m->status = (unsigned int)((q[0] - '0') * 100 + (q[1] - '0') * 10 + (q[2] - '0'));
	if (m->status < 100 || m->status > 599)
		return fail(m, 502, "status code out of range", (size_t)(q - buf));
	q += 3;
	/* "HTTP/1.1 200" without the space before an empty reason is common: accepted */
	if (q < le && *q++ != ' ')
		return fail(m, 502, "invalid status line", (size_t)(q - 1 - buf));
	m->reason = q;
	m->reason_len = (size_t)(le - q);
	for (; q < le; q++)
		if (!is_c(*q, C_FVAL))
			return fail(m, 502, "invalid character in reason", (size_t)(q - buf));
	return 0;
}

static int parse_start_line(struct h1_msg *m, const char *buf, const char *ls, const char *le)
{
	if (m->response)
		return parse_status_line(m, buf, ls, le);
	return parse_request_line(m, buf, ls, le);
}

/* --- scan: find the end of the head as bytes arrive --- */

static int scan(struct h1_msg *m, const char *buf, size_t len)
{
	size_t lim = len < m->bufsize ? len : m->bufsize;
	size_t i;

	for (i = m->scan_pos; i < lim; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c == '\r') {
			if (m->scan_flags & SF_CR)
				return fail(m, 400, "CR not followed by LF", i - 1);
			m->scan_flags |= SF_CR;
			continue;
		}
		if (c != '\n') {
			if (m->scan_flags & SF_CR)
				return fail(m, 400, "CR not followed by LF", i - 1);
			if (c == '\0')
				return fail(m, 400, "NUL byte in head", i);
			m->scan_flags |= SF_STARTED | SF_INLINE;
			continue;
		}
		/* end of a line */
		m->scan_flags &= (uint8_t)~SF_CR;
		if (!(m->scan_flags & SF_STARTED)) {
			/* RFC 9112 section 2.2: empty lines before a request line are ignored */
			if (m->response)
				return fail(m, 502, "empty line before status line", i);
			m->skip = i + 1;
			continue;
		}
		if (!(m->scan_flags & SF_INLINE)) {
			m->scan_pos = i + 1;
			return (int)(i + 1);
		}
		if (!(m->scan_flags & SF_LINE1)) {
			size_t e = i;

			if (e > m->skip && buf[e - 1] == '\r')
				e--;
			m->scan_flags |= SF_LINE1;
			if (parse_start_line(m, buf, buf + m->skip, buf + e) < 0)
				return H1_ERROR;
		}
		m->scan_flags &= (uint8_t)~SF_INLINE;
	}
	m->scan_pos = i;
	if (len >= m->bufsize)
		return fail(m, 400, "head too large", m->bufsize);
	return H1_NEED_MORE;
}

/* --- second pass: lines, headers and their meaning --- */

/* Next line of a complete head: content in [*ls, *le), *p moved past its LF. */
static void next_line(struct h1_msg *m, const char **p, const char *end, const char **ls,
		      const char **le)
{
	const char *lf = memchr(*p, '\n', (size_t)(end - *p));

	/* the scan saw the LF that ends the head, so there is one */
	if (!lf)
		lf = end - 1;
	*ls = *p;
	*le = lf;
	if (lf > *p && lf[-1] == '\r')
		*le = lf - 1;
	else
		m->flags |= H1_F_BARE_LF;
	*p = lf + 1;
}

static int parse_header_line(struct h1_msg *m, const char *buf, const char *ls, const char *le)
{
	const char *q = ls, *v, *ve;
	struct h1_hdr *h;

	if (is_ows(*ls))
		return fail(m, 400, "folded header line (obs-fold)", (size_t)(ls - buf));
	while (q < le && is_c(*q, C_TCHAR))
		q++;
	if (q == le || *q != ':')
		return fail(m, 400, "invalid character in header name", (size_t)(q - buf));
	if (q == ls)
		return fail(m, 400, "empty header name", (size_t)(q - buf));
	for (v = q + 1; v < le; v++)
		if (!is_c(*v, C_FVAL))
			return fail(m, 400, "invalid character in header value", (size_t)(v - buf));
	v = q + 1;
	while (v < le && is_ows(*v))
		v++;
	ve = le;
	while (ve > v && is_ows(ve[-1]))
		ve--;
	if (m->nhdrs >= m->maxhdr)
		return fail(m, 400, "too many headers", (size_t)(ls - buf));
	h = &m->hdrs[m->nhdrs++];
	h->name = ls;
	h->name_len = (uint32_t)(q - ls);
	h->value = v;
	h->value_len = (uint32_t)(ve - v);
	return 0;
}

/* Collects what the framing headers say while the header array is walked. */
struct framing {
	bool have_cl;
	uint64_t cl;
	unsigned int te_hdrs;
	unsigned int n_chunked; /* "chunked" codings seen */
	unsigned int n_other; /* other codings seen */
	bool last_chunked; /* the latest coding seen is "chunked" */
};

/* One Content-Length value: a comma list of equal decimal numbers. */
static int parse_cl(struct h1_msg *m, const char *buf, const struct h1_hdr *h, struct framing *f)
{
	const char *p = h->value, *end = p + h->value_len;

	if (p == end)
		return fail(m, 400, "empty Content-Length", (size_t)(p - buf));
	for (;;) {
		const char *s;
		uint64_t v = 0;

		while (p < end && is_ows(*p))
			p++;
		for (s = p; p < end && is_c(*p, C_DIGIT); p++) {
			if (p - s >= 19)
				return fail(m, 400, "Content-Length too large", (size_t)(p - buf));
			v = v * 10 + (uint64_t)(*p - '0');
		}
		if (p == s)
			return fail(m, 400, "invalid Content-Length", (size_t)(p - buf));
		if (v > (uint64_t)INT64_MAX)
			return fail(m, 400, "Content-Length too large", (size_t)(s - buf));
		while (p < end && is_ows(*p))
			p++;
		if (f->have_cl && v != f->cl)
			return fail(m, 400, "conflicting Content-Length values", (size_t)(s - buf));
		f->have_cl = true;
		f->cl = v;
		if (p == end)
			return 0;
		if (*p != ',')
			return fail(m, 400, "invalid Content-Length", (size_t)(p - buf));
		p++;
	}
}

/* quoted-string at *p (RFC 9110 section 5.6.4); moves *p past it. */
static bool skip_quoted(const char **p, const char *end)
{
	const char *q = *p + 1;

	while (q < end) {
		if (*q == '"') {
			*p = q + 1;
			return true;
		}
		if (*q == '\\') {
			if (++q == end)
				return false;
		}
		q++;
	}
	return false;
}

/* One Transfer-Encoding value: transfer-coding *( OWS "," OWS transfer-coding ). */
static int parse_te(struct h1_msg *m, const char *buf, const struct h1_hdr *h, struct framing *f)
{
	const char *p = h->value, *end = p + h->value_len;

	f->te_hdrs++;
	if (p == end)
		return fail(m, 400, "empty Transfer-Encoding", (size_t)(p - buf));
	for (;;) {
		const char *s;
		bool params = false, chunked;

		while (p < end && is_ows(*p))
			p++;
		for (s = p; p < end && is_c(*p, C_TCHAR); p++)
			;
		if (p == s)
			return fail(m, 400, "invalid Transfer-Encoding", (size_t)(p - buf));
		chunked = ieq(s, (size_t)(p - s), "chunked");
		while (p < end && is_ows(*p))
			p++;
		/* transfer-parameter: OWS ";" OWS token BWS "=" BWS ( token / quoted-string ) */
		while (p < end && *p == ';') {
			const char *n;

			params = true;
			p++;
			while (p < end && is_ows(*p))
				p++;
			for (n = p; p < end && is_c(*p, C_TCHAR); p++)
				;
			while (p < end && is_ows(*p))
				p++;
			if (p == n || p == end || *p != '=')
				return fail(m, 400, "invalid Transfer-Encoding", (size_t)(p - buf));
			p++;
			while (p < end && is_ows(*p))
				p++;
			if (p < end && *p == '"') {
				if (!skip_quoted(&p, end))
					return fail(m, 400, "invalid Transfer-Encoding",
						    (size_t)(p - buf));
			} else {
				for (n = p; p < end && is_c(*p, C_TCHAR); p++)
					;
				if (p == n)
					return fail(m, 400, "invalid Transfer-Encoding",
						    (size_t)(p - buf));
			}
			while (p < end && is_ows(*p))
				p++;
		}
		if (chunked) {
			if (params)
				return fail(m, 400, "parameters on chunked", (size_t)(s - buf));
			f->n_chunked++;
		} else {
			f->n_other++;
		}
		f->last_chunked = chunked;
		if (p == end)
			return 0;
		if (*p != ',')
			return fail(m, 400, "invalid Transfer-Encoding", (size_t)(p - buf));
		p++;
	}
}

/* Strips a port equal to the scheme's default (80 for http, 443 for https) or empty. */
static size_t host_norm_len(const char *s, size_t n, unsigned int dflt_port)
{
	size_t i = n;

	while (i > 0 && is_c(s[i - 1], C_DIGIT))
		i--;
	if (i == 0 || s[i - 1] != ':')
		return n;
	/* a colon inside "[v6]" is not a port separator */
	if (i >= 2 && s[i - 2] != ']' && memchr(s, ']', n))
		return n;
	if (i == n)
		return i - 1;
	if (dflt_port) {
		unsigned long port = 0;
		size_t k;

		for (k = i; k < n; k++)
			port = port * 10 + (unsigned long)(s[k] - '0');
		if (n - i <= 5 && port == dflt_port)
			return i - 1;
	}
	return n;
}

/* Length of the host part of "host[:port]" (an IP literal keeps its brackets). */
static size_t host_part_len(const char *s, size_t n)
{
	const char *e = n && s[0] == '[' ? memchr(s, ']', n) : memchr(s, ':', n);

	if (!e)
		return n;
	return (size_t)(e - s) + (s[0] == '[');
}

/*
 * The target's authority names the same host and port as the Host header,
 * ignoring case, an empty port and the scheme's default port. For CONNECT,
 * a Host without a port only has to name the same host.
 */
static bool authority_matches_host(const struct h1_msg *m, const char *host, size_t host_len)
{
	unsigned int dflt = 0;
	size_t a, h;

	if (m->target_form == H1_TGT_AUTHORITY && host_part_len(host, host_len) == host_len)
		return ieq2(m->authority, host_part_len(m->authority, m->authority_len), host,
			    host_len);
	if (m->target_form == H1_TGT_ABSOLUTE) {
		size_t slen = (size_t)(m->authority - 3 - m->target);

		if (ieq(m->target, slen, "http"))
			dflt = 80;
		else if (ieq(m->target, slen, "https"))
			dflt = 443;
	}
	a = host_norm_len(m->authority, m->authority_len, dflt);
	h = host_norm_len(host, host_len, dflt);
	return ieq2(m->authority, a, host, h);
}

static int analyse(struct h1_msg *m, const char *buf)
{
	struct framing f = { 0 };
	const struct h1_hdr *host = NULL;
	unsigned int nhost = 0, i;
	bool upgrade_hdr = false, expect_100 = false, ka;

	for (i = 0; i < m->nhdrs; i++) {
		const struct h1_hdr *h = &m->hdrs[i];

		switch (h->name_len) {
		case 4:
			if (ieq(h->name, 4, "host")) {
				nhost++;
				host = h;
			}
			break;
		case 6:
			if (ieq(h->name, 6, "expect") &&
			    h1_value_has_token(h->value, h->value_len, "100-continue"))
				expect_100 = true;
			break;
		case 7:
			if (ieq(h->name, 7, "upgrade") && h->value_len)
				upgrade_hdr = true;
			break;
		case 10:
			if (ieq(h->name, 10, "connection")) {
				const char *p = h->value, *e;
				size_t el;

				while (h1_list_next(&p, h->value + h->value_len, &e, &el)) {
					if (ieq(e, el, "close"))
						m->flags |= H1_F_CONN_CLOSE | H1_F_CONN_NAMES;
					else if (ieq(e, el, "keep-alive"))
						m->flags |= H1_F_CONN_KA;
					else if (ieq(e, el, "upgrade"))
						m->flags |= H1_F_CONN_UPGRADE;
					else
						m->flags |= H1_F_CONN_NAMES;
				}
			}
			break;
		case 14:
			if (ieq(h->name, 14, "content-length")) {
				m->flags |= H1_F_HAS_CL;
				if (parse_cl(m, buf, h, &f) < 0)
					return H1_ERROR;
			}
			break;
		case 17:
			if (ieq(h->name, 17, "transfer-encoding")) {
				m->flags |= H1_F_HAS_TE;
				if (parse_te(m, buf, h, &f) < 0)
					return H1_ERROR;
			}
			break;
		}
	}

	/* body framing, RFC 9112 section 6.3 */
	m->body = m->response ? H1_BODY_CLOSE : H1_BODY_NONE;
	if (f.te_hdrs) {
		size_t pos = (size_t)(h1_find_hdr(m, "transfer-encoding", NULL)->name - buf);

		if (m->version == 10)
			return fail(m, 400, "Transfer-Encoding in an HTTP/1.0 message", pos);
		if (f.n_chunked > 1)
			return fail(m, 400, "chunked applied more than once", pos);
		if (!m->response) {
			if (!f.last_chunked)
				return fail(m, 400, "final transfer coding is not chunked", pos);
			if (f.n_other)
				return fail(m, 422, "unsupported transfer coding", pos);
		}
		m->body = f.last_chunked ? H1_BODY_CHUNKED : H1_BODY_CLOSE;
		if (f.have_cl)
			m->flags |= H1_F_CL_TE_CONFLICT;
	} else if (f.have_cl) {
		m->body = H1_BODY_CL;
		m->content_length = f.cl;
	}

	if (m->response) {
		if (m->status < 200 || m->status == 204 || m->status == 304 ||
		    m->req_method == H1_M_HEAD)
			m->body = H1_BODY_NONE;
		if (m->status == 101 ||
		    (m->req_method == H1_M_CONNECT && m->status >= 200 && m->status < 300)) {
			m->body = H1_BODY_NONE;
			m->flags |= H1_F_TUNNEL;
		}
		if (m->body != H1_BODY_CL)
			m->content_length = 0;
	} else {
		if (nhost > 1)
			return fail(m, 400, "several Host headers", (size_t)(host->name - buf));
		if (host) {
			m->flags |= H1_F_HAS_HOST;
			if (host->value_len &&
			    !valid_hostport(host->value, host->value_len, false, false))
				return fail(m, 400, "invalid Host", (size_t)(host->value - buf));
			m->host = host->value;
			m->host_len = host->value_len;
		} else if (m->version == 11) {
			return fail(m, 400, "missing Host", (size_t)(m->target - buf));
		}
		if (m->authority) {
			if (!host) {
				m->host = m->authority;
				m->host_len = m->authority_len;
			} else if (!authority_matches_host(m, host->value, host->value_len)) {
				return fail(m, 400, "Host differs from the target's authority",
					    (size_t)(host->value - buf));
			}
		}
	}

	if (m->version == 11)
		ka = !(m->flags & H1_F_CONN_CLOSE);
	else
		ka = (m->flags & H1_F_CONN_KA) && !(m->flags & H1_F_CONN_CLOSE);
	/* a message framed two ways is relayed once, then the connection closes */
	if (m->flags & H1_F_CL_TE_CONFLICT)
		ka = false;
	if (m->body == H1_BODY_CLOSE)
		ka = false;
	if (ka)
		m->flags |= H1_F_KEEP_ALIVE;
	/* RFC 9110 sections 7.8 and 10.1.1: both are ignored in HTTP/1.0 */
	if (m->version == 11 && (m->flags & H1_F_CONN_UPGRADE) && upgrade_hdr)
		m->flags |= H1_F_UPGRADE;
	if (!m->response && m->version == 11 && expect_100)
		m->flags |= H1_F_EXPECT_100;
	return 0;
}

static int parse_head(struct h1_msg *m, const char *buf, size_t head_len)
{
	const char *p = buf + m->skip, *end = buf + head_len;
	const char *ls, *le;

	m->nhdrs = 0;
	m->flags = 0;
	next_line(m, &p, end, &ls, &le);
	if (parse_start_line(m, buf, ls, le) < 0)
		return H1_ERROR;
	for (;;) {
		next_line(m, &p, end, &ls, &le);
		if (ls == le)
			break;
		if (parse_header_line(m, buf, ls, le) < 0)
			return H1_ERROR;
	}
	if (analyse(m, buf) < 0)
		return H1_ERROR;
	m->head_len = head_len;
	m->state = 1;
	return (int)head_len;
}

int h1_parse(struct h1_msg *m, const char *buf, size_t len)
{
	int r;

	if (m->state == 1)
		return (int)m->head_len;
	if (m->state < 0)
		return H1_ERROR;
	if (m->bufsize > INT32_MAX)
		m->bufsize = INT32_MAX;
	r = scan(m, buf, len);
	if (r <= 0)
		return r;
	return parse_head(m, buf, (size_t)r);
}

/* --- header helpers --- */

const struct h1_hdr *h1_find_hdr(const struct h1_msg *m, const char *name,
				 const struct h1_hdr *prev)
{
	uint32_t i = prev ? (uint32_t)(prev - m->hdrs) + 1 : 0;

	for (; i < m->nhdrs; i++)
		if (h1_hdr_is(&m->hdrs[i], name))
			return &m->hdrs[i];
	return NULL;
}

unsigned int h1_hdr_count(const struct h1_msg *m, const char *name)
{
	const struct h1_hdr *h = NULL;
	unsigned int n = 0;

	while ((h = h1_find_hdr(m, name, h)))
		n++;
	return n;
}

bool h1_list_next(const char **pp, const char *end, const char **elem, size_t *elem_len)
{
	const char *p = *pp;

	while (p < end) {
		const char *s, *e;

		while (p < end && (is_ows(*p) || *p == ','))
			p++;
		if (p == end)
			break;
		s = p;
		while (p < end && *p != ',') {
			if (*p == '"') {
				if (!skip_quoted(&p, end))
					p = end;
				continue;
			}
			p++;
		}
		e = p;
		while (e > s && is_ows(e[-1]))
			e--;
		if (e > s) {
			*elem = s;
			*elem_len = (size_t)(e - s);
			*pp = p;
			return true;
		}
	}
	*pp = end;
	return false;
}

bool h1_value_has_token(const char *value, size_t len, const char *tok)
{
	const char *p = value, *e;
	size_t el, tl = strlen(tok);

	while (h1_list_next(&p, value + len, &e, &el))
		if (ieq2(e, el, tok, tl))
			return true;
	return false;
}

bool h1_iter_next(const struct h1_msg *m, const char *name, struct h1_iter *it, const char **elem,
		  size_t *elem_len)
{
	for (;;) {
		if (it->hdr &&
		    h1_list_next(&it->p, it->hdr->value + it->hdr->value_len, elem, elem_len))
			return true;
		it->hdr = h1_find_hdr(m, name, it->hdr);
		if (!it->hdr)
			return false;
		it->p = it->hdr->value;
	}
}

bool h1_msg_has_token(const struct h1_msg *m, const char *name, const char *tok)
{
	const struct h1_hdr *h = NULL;

	while ((h = h1_find_hdr(m, name, h)))
		if (h1_value_has_token(h->value, h->value_len, tok))
			return true;
	return false;
}

/* --- chunked bodies --- */

enum {
	CK_SIZE0 = 0, /* first hex digit of a chunk size */
	CK_SIZE, /* more hex digits */
	CK_SIZE_WS, /* whitespace after the size */
	CK_EXT, /* chunk extensions, skipped up to the CR */
	CK_SIZE_LF, /* LF closing the size line */
	CK_DATA, /* payload */
	CK_DATA_CR, /* CR after the payload */
	CK_DATA_LF, /* LF after the payload */
	CK_TRL_START, /* start of a trailer line, or CR of the final CRLF */
	CK_TRL_NAME, /* trailer field name */
	CK_TRL_VALUE, /* trailer field value */
	CK_TRL_LF, /* LF closing a trailer line */
	CK_FINAL_LF, /* LF of the final CRLF */
	CK_DONE,
	CK_ERROR,
};

void h1_chunk_init(struct h1_chunk *st)
{
	memset(st, 0, sizeof(*st));
}

static int chunk_fail(struct h1_chunk *st, const char *why)
{
	st->state = CK_ERROR;
	st->err = why;
	return -1;
}

int h1_chunk_feed(struct h1_chunk *st, const char *buf, size_t len, size_t *consumed,
		  size_t *data_bytes)
{
	size_t i = 0, data = 0;
	int ret = 0;

	*consumed = 0;
	*data_bytes = 0;
	if (st->state == CK_DONE)
		return 1;
	if (st->state == CK_ERROR)
		return -1;

	while (i < len) {
		unsigned char c = (unsigned char)buf[i];

		if (st->state == CK_DATA) {
			size_t n = len - i;

			if (n > st->remain)
				n = (size_t)st->remain;
			i += n;
			data += n;
			st->remain -= n;
			st->total += n;
			if (!st->remain)
				st->state = CK_DATA_CR;
			continue;
		}
		if (st->state <= CK_SIZE_LF && ++st->line_len > H1_CHUNK_LINE_MAX) {
			ret = chunk_fail(st, "chunk size line too long");
			break;
		}
		if (st->state >= CK_TRL_START && st->state <= CK_FINAL_LF &&
		    ++st->trailers_len > H1_TRAILERS_MAX) {
			ret = chunk_fail(st, "trailers too large");
			break;
		}
		switch (st->state) {
		case CK_SIZE0:
		case CK_SIZE:
			if (is_c(c, C_HEX)) {
				uint64_t d = (uint64_t)hexval(c);

				if (++st->ndigits > 16) {
					ret = chunk_fail(st, "too many digits in chunk size");
					break;
				}
				if (st->remain > ((uint64_t)INT64_MAX - d) / 16) {
					ret = chunk_fail(st, "chunk size too large");
					break;
				}
				st->remain = st->remain * 16 + d;
				st->state = CK_SIZE;
				break;
			}
			if (st->state == CK_SIZE0) {
				ret = chunk_fail(st, "invalid chunk size");
				break;
			}
			/* fall through */
		case CK_SIZE_WS:
			if (is_ows((char)c))
				st->state = CK_SIZE_WS;
			else if (c == ';')
				st->state = CK_EXT;
			else if (c == '\r')
				st->state = CK_SIZE_LF;
			else
				ret = chunk_fail(st, "invalid chunk size line");
			break;
		case CK_EXT:
			if (c == '\r')
				st->state = CK_SIZE_LF;
			else if (!is_c(c, C_FVAL))
				ret = chunk_fail(st, "invalid character in chunk extension");
			break;
		case CK_SIZE_LF:
			if (c != '\n') {
				ret = chunk_fail(st, "CR not followed by LF in chunk size line");
				break;
			}
			st->line_len = 0;
			st->ndigits = 0;
			st->state = st->remain ? CK_DATA : CK_TRL_START;
			break;
		case CK_DATA_CR:
			if (c != '\r')
				ret = chunk_fail(st, "missing CRLF after chunk data");
			else
				st->state = CK_DATA_LF;
			break;
		case CK_DATA_LF:
			if (c != '\n')
				ret = chunk_fail(st, "missing CRLF after chunk data");
			else
				st->state = CK_SIZE0;
			break;
		case CK_TRL_START:
			if (c == '\r') {
				st->state = CK_FINAL_LF;
			} else if (is_c(c, C_TCHAR)) {
				st->state = CK_TRL_NAME;
				if (++st->ntrailers > H1_TRAILERS_MAXHDR)
					ret = chunk_fail(st, "too many trailers");
			} else {
				ret = chunk_fail(st, "invalid trailer line");
			}
			break;
		case CK_TRL_NAME:
			if (c == ':')
				st->state = CK_TRL_VALUE;
			else if (!is_c(c, C_TCHAR))
				ret = chunk_fail(st, "invalid character in trailer name");
			break;
		case CK_TRL_VALUE:
			if (c == '\r')
				st->state = CK_TRL_LF;
			else if (!is_c(c, C_FVAL))
				ret = chunk_fail(st, "invalid character in trailer value");
			break;
		case CK_TRL_LF:
			if (c != '\n')
				ret = chunk_fail(st, "CR not followed by LF in trailers");
			else
				st->state = CK_TRL_START;
			break;
		case CK_FINAL_LF:
			if (c != '\n') {
				ret = chunk_fail(st, "CR not followed by LF after trailers");
				break;
			}
			st->state = CK_DONE;
			ret = 1;
			break;
		default:
			ret = chunk_fail(st, "internal state error");
			break;
		}
		if (ret)
			break;
		i++;
	}
	if (ret == 1)
		i++; /* the final LF */
	*consumed = i;
	*data_bytes = data;
	return ret;
}

/* --- building heads --- */

/* Reason phrases of RFC 9110 section 15 (and a few common extensions). */
static const struct {
	uint16_t code;
	const char *text;
} status_texts[] = {
	{ 100, "Continue" },
	{ 101, "Switching Protocols" },
	{ 102, "Processing" },
	{ 103, "Early Hints" },
	{ 200, "OK" },
	{ 201, "Created" },
	{ 202, "Accepted" },
	{ 203, "Non-Authoritative Information" },
	{ 204, "No Content" },
	{ 205, "Reset Content" },
	{ 206, "Partial Content" },
	{ 207, "Multi-Status" },
	{ 208, "Already Reported" },
	{ 226, "IM Used" },
	{ 300, "Multiple Choices" },
	{ 301, "Moved Permanently" },
	{ 302, "Found" },
	{ 303, "See Other" },
	{ 304, "Not Modified" },
	{ 305, "Use Proxy" },
	{ 307, "Temporary Redirect" },
	{ 308, "Permanent Redirect" },
	{ 400, "Bad Request" },
	{ 401, "Unauthorized" },
	{ 402, "Payment Required" },
	{ 403, "Forbidden" },
	{ 404, "Not Found" },
	{ 405, "Method Not Allowed" },
	{ 406, "Not Acceptable" },
	{ 407, "Proxy Authentication Required" },
	{ 408, "Request Timeout" },
	{ 409, "Conflict" },
	{ 410, "Gone" },
	{ 411, "Length Required" },
	{ 412, "Precondition Failed" },
	{ 413, "Content Too Large" },
	{ 414, "URI Too Long" },
	{ 415, "Unsupported Media Type" },
	{ 416, "Range Not Satisfiable" },
	{ 417, "Expectation Failed" },
	{ 421, "Misdirected Request" },
	{ 422, "Unprocessable Content" },
	{ 425, "Too Early" },
	{ 426, "Upgrade Required" },
	{ 428, "Precondition Required" },
	{ 429, "Too Many Requests" },
	{ 431, "Request Header Fields Too Large" },
	{ 451, "Unavailable For Legal Reasons" },
	{ 500, "Internal Server Error" },
	{ 501, "Not Implemented" },
	{ 502, "Bad Gateway" },
	{ 503, "Service Unavailable" },
	{ 504, "Gateway Timeout" },
	{ 505, "HTTP Version Not Supported" },
	{ 507, "Insufficient Storage" },
	{ 508, "Loop Detected" },
	{ 511, "Network Authentication Required" },
};

const char *h1_status_text(unsigned int status)
{
	size_t i;

	for (i = 0; i < sizeof(status_texts) / sizeof(status_texts[0]); i++)
		if (status_texts[i].code == status)
			return status_texts[i].text;
	return "Unknown";
}

void h1_out_init(struct h1_out *o, char *buf, size_t size)
{
	o->buf = buf;
	o->size = size;
	o->len = 0;
	o->err = 0;
}

static void out_raw(struct h1_out *o, const char *s, size_t n)
{
	if (o->err)
		return;
	if (n > o->size - o->len) {
		o->err = -ENOSPC;
		return;
	}
	if (n)
		memcpy(o->buf + o->len, s, n);
	o->len += n;
}

/* Text that goes into a line: no CR, LF or NUL, which would end or split it. */
static void out_text(struct h1_out *o, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0') {
			if (!o->err)
				o->err = -EINVAL;
			return;
		}
	}
	out_raw(o, s, n);
}

static void out_version(struct h1_out *o, unsigned int version)
{
	out_raw(o, version == 10 ? "HTTP/1.0" : "HTTP/1.1", 8);
}

void h1_out_status(struct h1_out *o, unsigned int version, unsigned int status, const char *reason)
{
	char code[4];

	if (status < 100 || status > 999) {
		if (!o->err)
			o->err = -EINVAL;
		return;
	}
	code[0] = (char)('0' + status / 100);
	code[1] = (char)('0' + status / 10 % 10);
	code[2] = (char)('0' + status % 10);
	code[3] = ' ';
	if (!reason)
		reason = h1_status_text(status);
	out_version(o, version);
	out_raw(o, " ", 1);
	out_raw(o, code, 4);
	out_text(o, reason, strlen(reason));
	out_raw(o, "\r\n", 2);
}

void h1_out_request(struct h1_out *o, const char *method, size_t method_len, const char *target,
		    size_t target_len, unsigned int version)
{
	if (!method_len || !target_len || memchr(method, ' ', method_len) ||
	    memchr(target, ' ', target_len)) {
		if (!o->err)
			o->err = -EINVAL;
		return;
	}
	out_text(o, method, method_len);
	out_raw(o, " ", 1);
	out_text(o, target, target_len);
	out_raw(o, " ", 1);
	out_version(o, version);
	out_raw(o, "\r\n", 2);
}

void h1_out_header(struct h1_out *o, const char *name, size_t name_len, const char *value,
		   size_t value_len)
{
	size_t i;

	for (i = 0; i < name_len; i++)
		if (!is_c(name[i], C_TCHAR))
			break;
	if (!name_len || i < name_len) {
		if (!o->err)
			o->err = -EINVAL;
		return;
	}
	out_raw(o, name, name_len);
	out_raw(o, ": ", 2);
	out_text(o, value, value_len);
	out_raw(o, "\r\n", 2);
}

void h1_out_header_str(struct h1_out *o, const char *name, const char *value)
{
	h1_out_header(o, name, strlen(name), value, strlen(value));
}

void h1_out_header_u64(struct h1_out *o, const char *name, uint64_t value)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%llu", (unsigned long long)value);

	h1_out_header(o, name, strlen(name), num, (size_t)n);
}

void h1_out_end(struct h1_out *o)
{
	out_raw(o, "\r\n", 2);
}

long h1_out_result(const struct h1_out *o)
{
	return o->err ? o->err : (long)o->len;
}

long h1_build_error(char *buf, size_t size, unsigned int status)
{
	const char *why;
	char body[256];
	struct h1_out o;
	int n;

	if (status < 100 || status > 999)
		status = 500;
	switch (status / 100) {
	case 4:
		why = "The request was refused by the proxy.";
		break;
	case 5:
		why = "The proxy could not get a valid response from a server.";
		break;
	default:
		why = "";
		break;
	}
	n = snprintf(body, sizeof(body), "<html><body><h1>%u %s</h1>\n%s\n</body></html>\n", status,
		     h1_status_text(status), why);
	if (n < 0 || (size_t)n >= sizeof(body))
		return -ENOSPC;
	h1_out_init(&o, buf, size);
	h1_out_status(&o, 11, status, NULL);
	h1_out_header_str(&o, "Content-Type", "text/html");
	h1_out_header_u64(&o, "Content-Length", (uint64_t)n);
	h1_out_header_str(&o, "Cache-Control", "no-cache");
	h1_out_header_str(&o, "Connection", "close");
	h1_out_end(&o);
	out_raw(&o, body, (size_t)n);
	return h1_out_result(&o);
}
