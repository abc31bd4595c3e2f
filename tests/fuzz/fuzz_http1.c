// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the HTTP/1.1 parser (l7/http1.c).
 *
 * The first input byte picks settings (buffer size, header limit, the method
 * a response answers) and a split point; the rest is the message. Besides
 * looking for memory errors, it checks properties:
 * - a head fed in two parts, or byte by byte, gives the same answer as in one;
 * - every pointer of a parsed head lies inside it, values carry no OWS;
 * - a parsed request rebuilt with the writer parses back to the same meaning;
 * - the chunk decoder gives the same result, consumed count and payload count
 *   however its input is split.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http1.h"

#define CHECK(c)                          \
	do {                              \
		if (!(c))                 \
			__builtin_trap(); \
	} while (0)

#define MAXHDR 101

static bool inside(const char *p, size_t n, const char *buf, size_t len)
{
	return p >= buf && n <= len && (size_t)(p - buf) <= len - n;
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* A parsed head only points inside itself and holds what the rules allow. */
static void check_msg(const struct h1_msg *m, const char *buf, size_t head_len)
{
	uint32_t i;

	CHECK(m->version == 10 || m->version == 11);
	CHECK(m->nhdrs <= m->maxhdr);
	CHECK(head_len <= m->bufsize);
	if (m->response) {
		CHECK(m->status >= 100 && m->status <= 599);
		CHECK(inside(m->reason, m->reason_len, buf, head_len));
	} else {
		CHECK(inside(m->method_str, m->method_len, buf, head_len) && m->method_len);
		CHECK(inside(m->target, m->target_len, buf, head_len) && m->target_len);
		CHECK(m->method == h1_method_lookup(m->method_str, m->method_len));
		if (m->authority)
			CHECK(inside(m->authority, m->authority_len, buf, head_len));
		if (m->path_len)
			CHECK(inside(m->path, m->path_len, buf, head_len));
		if (m->host)
			CHECK(inside(m->host, m->host_len, buf, head_len));
		if (m->version == 11)
			CHECK(m->flags & H1_F_HAS_HOST);
		CHECK(m->body != H1_BODY_CLOSE);
	}
	for (i = 0; i < m->nhdrs; i++) {
		const struct h1_hdr *h = &m->hdrs[i];
		uint32_t k;

		CHECK(h->name_len > 0);
		CHECK(inside(h->name, h->name_len, buf, head_len));
		CHECK(inside(h->value, h->value_len, buf, head_len));
		if (h->value_len) {
			CHECK(!is_ows(h->value[0]) && !is_ows(h->value[h->value_len - 1]));
		}
		for (k = 0; k < h->value_len; k++)
			CHECK(h->value[k] != '\r' && h->value[k] != '\n' && h->value[k] != '\0');
		CHECK(memchr(h->name, ':', h->name_len) == NULL);
	}
	if (m->body == H1_BODY_CL)
		CHECK(m->content_length <= (uint64_t)INT64_MAX);
	else
		CHECK(m->content_length == 0);
	if (m->flags & H1_F_CL_TE_CONFLICT)
		CHECK((m->flags & H1_F_HAS_CL) && (m->flags & H1_F_HAS_TE) &&
		      !(m->flags & H1_F_KEEP_ALIVE));
}

static void same_result(const struct h1_msg *a, int ra, const struct h1_msg *b, int rb)
{
	CHECK(ra == rb);
	if (ra == H1_ERROR) {
		CHECK(a->err_status == b->err_status);
		CHECK(a->err_pos == b->err_pos);
	}
	if (ra > 0) {
		CHECK(a->nhdrs == b->nhdrs && a->flags == b->flags && a->body == b->body);
		CHECK(a->content_length == b->content_length);
		CHECK(a->host == b->host && a->host_len == b->host_len);
	}
}

/* Exercise the lookup helpers on a parsed head. */
static void use_helpers(const struct h1_msg *m)
{
	struct h1_iter it = H1_ITER_INIT;
	const struct h1_hdr *h = NULL;
	const char *e;
	size_t el;
	unsigned int n = 0;

	while (h1_iter_next(m, "connection", &it, &e, &el)) {
		CHECK(el > 0 && !is_ows(e[0]) && !is_ows(e[el - 1]));
		if (++n > 100000)
			break;
	}
	while ((h = h1_find_hdr(m, "transfer-encoding", h)))
		(void)h1_value_has_token(h->value, h->value_len, "chunked");
	(void)h1_msg_has_token(m, "connection", "close");
	(void)h1_hdr_count(m, "host");
}

/* Rebuild a request with the writer; it must parse back to the same meaning. */
static void round_trip(const struct h1_msg *m)
{
	static char out[1 << 17];
	static struct h1_hdr h2[MAXHDR];
	struct h1_msg back;
	struct h1_out o;
	uint32_t i;
	long n;
	int r;

	h1_out_init(&o, out, sizeof(out));
	h1_out_request(&o, m->method_str, m->method_len, m->target, m->target_len, m->version);
	for (i = 0; i < m->nhdrs; i++)
		h1_out_header(&o, m->hdrs[i].name, m->hdrs[i].name_len, m->hdrs[i].value,
			      m->hdrs[i].value_len);
	h1_out_end(&o);
	n = h1_out_result(&o);
	CHECK(n > 0);
	h1_msg_init_req(&back, h2, m->maxhdr, (size_t)n);
	r = h1_parse(&back, out, (size_t)n);
	CHECK(r == n);
	CHECK(back.nhdrs == m->nhdrs && back.body == m->body);
	CHECK(back.content_length == m->content_length);
	CHECK((back.flags & ~H1_F_BARE_LF) == (m->flags & ~H1_F_BARE_LF));
	CHECK(back.method == m->method && back.target_form == m->target_form);
}

static void fuzz_requests(const char *buf, size_t len, size_t split, size_t bufsize,
			  uint32_t maxhdr)
{
	static struct h1_hdr ha[MAXHDR], hb[MAXHDR], hc[MAXHDR];
	struct h1_msg a, b, c;
	int ra, rb, rc;
	size_t k;

	h1_msg_init_req(&a, ha, maxhdr, bufsize);
	ra = h1_parse(&a, buf, len);

	h1_msg_init_req(&b, hb, maxhdr, bufsize);
	rb = h1_parse(&b, buf, split);
	if (rb == H1_NEED_MORE)
		rb = h1_parse(&b, buf, len);
	same_result(&a, ra, &b, rb);

	h1_msg_init_req(&c, hc, maxhdr, bufsize);
	rc = H1_NEED_MORE;
	for (k = 0; k <= len && rc == H1_NEED_MORE; k++)
		rc = h1_parse(&c, buf, k);
	same_result(&a, ra, &c, rc);

	if (ra > 0) {
		CHECK((size_t)ra <= len);
		check_msg(&a, buf, (size_t)ra);
		use_helpers(&a);
		round_trip(&a);
	} else if (ra == H1_ERROR) {
		CHECK(a.err_status == 400 || a.err_status == 422);
		CHECK(a.err != NULL);
	}
}

/* Parse a pipeline of requests with their bodies, as the proxy would. */
static void fuzz_pipeline(const char *buf, size_t len)
{
	static struct h1_hdr h[MAXHDR];
	const char *p = buf, *end = buf + len;
	int guard = 0;

	while (p < end && guard++ < 1000) {
		struct h1_msg m;
		int r;

		h1_msg_init_req(&m, h, 0, 0);
		r = h1_parse(&m, p, (size_t)(end - p));
		if (r <= 0)
			return;
		check_msg(&m, p, (size_t)r);
		p += r;
		if (m.body == H1_BODY_CL) {
			if (m.content_length > (uint64_t)(end - p))
				return;
			p += m.content_length;
		} else if (m.body == H1_BODY_CHUNKED) {
			struct h1_chunk st;
			size_t used, data;

			h1_chunk_init(&st);
			r = h1_chunk_feed(&st, p, (size_t)(end - p), &used, &data);
			CHECK(used <= (size_t)(end - p) && data <= used);
			if (r != 1)
				return;
			p += used;
		}
		if (!(m.flags & H1_F_KEEP_ALIVE))
			return;
	}
}

static void fuzz_response(const char *buf, size_t len, size_t split, enum h1_method meth,
			  size_t bufsize)
{
	static struct h1_hdr ha[MAXHDR], hb[MAXHDR];
	struct h1_msg a, b;
	int ra, rb;

	h1_msg_init_resp(&a, ha, 0, bufsize, meth);
	ra = h1_parse(&a, buf, len);
	h1_msg_init_resp(&b, hb, 0, bufsize, meth);
	rb = h1_parse(&b, buf, split);
	if (rb == H1_NEED_MORE)
		rb = h1_parse(&b, buf, len);
	same_result(&a, ra, &b, rb);
	if (ra > 0) {
		check_msg(&a, buf, (size_t)ra);
		use_helpers(&a);
		if (a.status < 200 || a.status == 204 || a.status == 304 || meth == H1_M_HEAD)
			CHECK(a.body == H1_BODY_NONE);
		if (a.body == H1_BODY_CLOSE)
			CHECK(!(a.flags & H1_F_KEEP_ALIVE));
	} else if (ra == H1_ERROR) {
		CHECK(a.err_status == 502);
	}
}

static void fuzz_chunked(const char *buf, size_t len, size_t split)
{
	struct h1_chunk a, b, c;
	size_t ua, da, u1, d1, u2 = 0, d2 = 0, uc = 0, dc = 0, u, d, k;
	int ra, rb, rc = 0;

	h1_chunk_init(&a);
	ra = h1_chunk_feed(&a, buf, len, &ua, &da);
	CHECK(ra >= -1 && ra <= 1);
	CHECK(ua <= len && da <= ua);
	if (ra == 0)
		CHECK(ua == len);

	h1_chunk_init(&b);
	rb = h1_chunk_feed(&b, buf, split, &u1, &d1);
	if (rb == 0)
		rb = h1_chunk_feed(&b, buf + split, len - split, &u2, &d2);
	CHECK(ra == rb && ua == u1 + u2 && da == d1 + d2);

	h1_chunk_init(&c);
	for (k = 0; k < len && rc == 0; k++) {
		rc = h1_chunk_feed(&c, buf + k, 1, &u, &d);
		uc += u;
		dc += d;
	}
	CHECK(ra == rc && ua == uc && da == dc);
	CHECK(a.total == da);

	/* finished decoders stay finished */
	if (ra != 0) {
		CHECK(h1_chunk_feed(&a, buf, len, &u, &d) == ra && u == 0 && d == 0);
	}
}

static void fuzz_writer(const char *buf, size_t len, uint8_t ctl)
{
	char out[512];
	struct h1_out o;
	size_t half = len / 2;
	long n;

	h1_out_init(&o, out, (size_t)ctl * 2);
	h1_out_status(&o, ctl & 1 ? 10 : 11, 100 + ctl, NULL);
	h1_out_header(&o, buf, half, buf + half, len - half);
	h1_out_end(&o);
	n = h1_out_result(&o);
	CHECK(n <= (long)sizeof(out));
	if (n > 0) {
		static struct h1_hdr h[MAXHDR];
		struct h1_msg m;

		/* what the writer accepted is a valid head, unless the header is not */
		h1_msg_init_resp(&m, h, 0, 0, H1_M_GET);
		(void)h1_parse(&m, out, (size_t)n);
	}
	n = h1_build_error(out, sizeof(out), 100 + ctl * 2);
	CHECK(n > 0 && n <= (long)sizeof(out));
	(void)h1_status_text(ctl * 3);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum h1_method meths[4] = { H1_M_GET, H1_M_HEAD, H1_M_CONNECT, H1_M_POST };
	const char *buf;
	size_t len, split, bufsize;
	uint32_t maxhdr;
	uint8_t ctl;
	char *copy;

	if (size < 1)
		return 0;
	ctl = data[0];
	len = size - 1;
	/* an exact-size heap copy, so that ASan sees any read past the end */
	copy = malloc(len ? len : 1);
	if (!copy)
		return 0;
	memcpy(copy, data + 1, len);
	buf = copy;

	split = len ? ((size_t)ctl * 131 + len / 3) % (len + 1) : 0;
	bufsize = (ctl & 0x80) ? 32 + (size_t)(ctl & 0x1f) * 16 : 0;
	maxhdr = (ctl & 0x40) ? 1 + (ctl & 0x7) : 0;

	fuzz_requests(buf, len, split, bufsize, maxhdr);
	fuzz_pipeline(buf, len);
	fuzz_response(buf, len, split, meths[(ctl >> 3) & 3], bufsize);
	fuzz_chunked(buf, len, split);
	fuzz_writer(buf, len, ctl);
	free(copy);
	return 0;
}
