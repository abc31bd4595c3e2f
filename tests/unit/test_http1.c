// SPDX-License-Identifier: MIT
/*
 * HTTP/1.1 parser tests: valid heads, every rejection rule with its status,
 * limits, incremental feeding at every byte boundary, pipelining, responses,
 * the chunked decoder and the head writer.
 */
#include <errno.h>
#include <stdint.h>

#include "t.h"
#include "http1.h"

static struct h1_hdr hdrs[256];
static struct h1_msg M;

static int req_n(const char *s, size_t n)
{
	h1_msg_init_req(&M, hdrs, 0, 0);
	return h1_parse(&M, s, n);
}

static int req(const char *s)
{
	return req_n(s, strlen(s));
}

static int resp_m(const char *s, enum h1_method m)
{
	h1_msg_init_resp(&M, hdrs, 0, 0, m);
	return h1_parse(&M, s, strlen(s));
}

static int resp(const char *s)
{
	return resp_m(s, H1_M_GET);
}

static void show_err(int r)
{
	if (r == H1_ERROR)
		printf("#   error %d: %s at %zu\n", M.err_status, M.err, M.err_pos);
	else
		printf("#   returned %d\n", r);
}

/* A request must be refused with status st. */
static void req_err_n(const char *s, size_t n, int st, const char *what)
{
	int r = req_n(s, n);
	bool ok = r == H1_ERROR && M.err_status == st;

	T_OK(ok, "request %s -> %d", what, st);
	if (!ok)
		show_err(r);
}

static void req_err(const char *s, int st, const char *what)
{
	req_err_n(s, strlen(s), st, what);
}

/* A request must parse completely. */
static void req_ok(const char *s, const char *what)
{
	int r = req(s);
	bool ok = r == (int)strlen(s);

	T_OK(ok, "request %s accepted", what);
	if (!ok)
		show_err(r);
}

static void resp_err(const char *s, enum h1_method m, const char *what)
{
	int r = resp_m(s, m);
	bool ok = r == H1_ERROR && M.err_status == 502;

	T_OK(ok, "response %s -> 502", what);
	if (!ok)
		show_err(r);
}

static bool span_eq(const char *p, size_t n, const char *s)
{
	return p && n == strlen(s) && memcmp(p, s, n) == 0;
}

/* Every strict prefix of a complete head needs more, fresh or fed byte by byte. */
static void check_prefixes(const char *s, bool response, const char *what)
{
	size_t n = strlen(s), k;
	struct h1_msg inc;
	bool fresh_ok = true, inc_ok = true;
	int r;

	for (k = 0; k < n; k++) {
		if (response)
			h1_msg_init_resp(&M, hdrs, 0, 0, H1_M_GET);
		else
			h1_msg_init_req(&M, hdrs, 0, 0);
		if (h1_parse(&M, s, k) != H1_NEED_MORE)
			fresh_ok = false;
	}
	T_OK(fresh_ok, "%s: every prefix needs more", what);

	if (response)
		h1_msg_init_resp(&inc, hdrs, 0, 0, H1_M_GET);
	else
		h1_msg_init_req(&inc, hdrs, 0, 0);
	for (k = 1; k < n; k++)
		if (h1_parse(&inc, s, k) != H1_NEED_MORE)
			inc_ok = false;
	r = h1_parse(&inc, s, n);
	T_OK(inc_ok && r == (int)n, "%s: byte by byte completes at %zu", what, n);
	T_EQ_INT(h1_parse(&inc, s, n), n, "%s: complete head answers the same again", what);
}

static void test_valid_requests(void)
{
	const char *get = "GET /index.html?a=b HTTP/1.1\r\n"
			  "Host: www.example.com\r\n"
			  "User-Agent:  curl/8 \t\r\n"
			  "Accept: */*\r\n"
			  "Connection: keep-alive\r\n"
			  "\r\n";
	const struct h1_hdr *h;
	int r;

	r = req(get);
	T_EQ_INT(r, strlen(get), "GET: head length");
	T_EQ_INT(M.method, H1_M_GET, "GET: method");
	T_OK(span_eq(M.method_str, M.method_len, "GET"), "GET: method token");
	T_OK(span_eq(M.target, M.target_len, "/index.html?a=b"), "GET: target");
	T_OK(span_eq(M.path, M.path_len, "/index.html?a=b"), "GET: path");
	T_EQ_INT(M.target_form, H1_TGT_ORIGIN, "GET: origin-form");
	T_EQ_INT(M.version, 11, "GET: version 1.1");
	T_EQ_INT(M.nhdrs, 4, "GET: 4 headers");
	T_OK(span_eq(M.host, M.host_len, "www.example.com"), "GET: host");
	T_OK(span_eq(M.hdrs[1].name, M.hdrs[1].name_len, "User-Agent"), "GET: header name kept");
	T_OK(span_eq(M.hdrs[1].value, M.hdrs[1].value_len, "curl/8"), "GET: value OWS trimmed");
	T_OK(M.flags & H1_F_KEEP_ALIVE, "GET: keep-alive");
	T_OK(M.flags & H1_F_CONN_KA, "GET: keep-alive token seen");
	T_OK(M.flags & H1_F_HAS_HOST, "GET: has Host");
	T_OK(!(M.flags & H1_F_BARE_LF), "GET: CRLF only");
	T_EQ_INT(M.body, H1_BODY_NONE, "GET: no body");
	T_OK(!h1_has_body(&M), "GET: h1_has_body false");
	h = h1_find_hdr(&M, "user-agent", NULL);
	T_OK(h == &M.hdrs[1], "h1_find_hdr is case-insensitive");
	T_OK(h1_find_hdr(&M, "user-agent", h) == NULL, "h1_find_hdr: no second one");
	T_OK(h1_find_hdr(&M, "cookie", NULL) == NULL, "h1_find_hdr: absent header");
	check_prefixes(get, false, "GET");

	r = req("POST /form HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello");
	T_EQ_INT(r, strlen("POST /form HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n"),
		 "POST CL: head length excludes the body");
	T_EQ_INT(M.method, H1_M_POST, "POST CL: method");
	T_EQ_INT(M.body, H1_BODY_CL, "POST CL: body by length");
	T_EQ_INT(M.content_length, 5, "POST CL: length 5");
	T_OK(h1_has_body(&M) && (M.flags & H1_F_HAS_CL), "POST CL: has body");

	r = req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
	T_OK(r > 0 && M.body == H1_BODY_CL && !h1_has_body(&M), "POST CL 0: no body bytes");

	r = req("POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
	T_OK(r > 0 && M.body == H1_BODY_CHUNKED, "POST chunked: chunked body");
	T_OK(M.flags & H1_F_KEEP_ALIVE, "POST chunked: keep-alive");
	r = req("POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: CHUNKED\r\n\r\n");
	T_OK(r > 0 && M.body == H1_BODY_CHUNKED, "TE coding name is case-insensitive");

	r = req("GET / HTTP/1.0\r\n\r\n");
	T_OK(r > 0 && M.version == 10, "HTTP/1.0 without Host accepted");
	T_OK(!(M.flags & H1_F_KEEP_ALIVE), "HTTP/1.0 closes by default");
	T_OK(M.host == NULL, "HTTP/1.0 without Host: no host");
	r = req("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
	T_OK(r > 0 && (M.flags & H1_F_KEEP_ALIVE), "HTTP/1.0 with keep-alive");
	r = req("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n");
	T_OK(r > 0 && !(M.flags & H1_F_KEEP_ALIVE), "HTTP/1.0: close beats keep-alive");
	r = req("GET / HTTP/1.1\r\nHost: a\r\nConnection: Close\r\n\r\n");
	T_OK(r > 0 && !(M.flags & H1_F_KEEP_ALIVE) && (M.flags & H1_F_CONN_CLOSE),
	     "HTTP/1.1 with Connection: close");
	r = req("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo\r\nConnection: bar, close\r\n\r\n");
	T_OK(r > 0 && !(M.flags & H1_F_KEEP_ALIVE), "close token in a second Connection header");

	r = req("GET http://Example.COM/x?y HTTP/1.1\r\nHost: example.com\r\n\r\n");
	T_OK(r > 0 && M.target_form == H1_TGT_ABSOLUTE, "absolute-form accepted");
	T_OK(span_eq(M.authority, M.authority_len, "Example.COM"), "absolute-form: authority");
	T_OK(span_eq(M.path, M.path_len, "/x?y"), "absolute-form: path");
	T_OK(span_eq(M.host, M.host_len, "example.com"), "absolute-form: host from Host");
	req_ok("GET http://example.com:80/ HTTP/1.1\r\nHost: example.com\r\n\r\n",
	       "absolute-form with default port, Host without");
	req_ok("GET https://example.com/ HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
	       "https absolute-form, Host with default port");
	req_ok("GET http://[::1]:8080/ HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
	       "absolute-form with IPv6 literal");
	r = req("GET http://example.com HTTP/1.0\r\n\r\n");
	T_OK(r > 0 && span_eq(M.host, M.host_len, "example.com") && M.path_len == 0,
	     "HTTP/1.0 absolute-form without Host: host from the target");

	r = req("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
	T_OK(r > 0 && M.method == H1_M_OPTIONS && M.target_form == H1_TGT_ASTERISK,
	     "OPTIONS * accepted");

	r = req("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
	T_OK(r > 0 && M.method == H1_M_CONNECT && M.target_form == H1_TGT_AUTHORITY,
	     "CONNECT authority-form accepted");
	T_OK(span_eq(M.authority, M.authority_len, "example.com:443"), "CONNECT: authority");
	r = req("CONNECT [2001:db8::1]:443 HTTP/1.0\r\n\r\n");
	T_OK(r > 0 && span_eq(M.host, M.host_len, "[2001:db8::1]:443"),
	     "CONNECT IPv6 in HTTP/1.0: host from the target");

	r = req("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
	T_OK(r == (int)strlen("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n") &&
		     M.method == H1_M_GET && span_eq(M.target, M.target_len, "/"),
	     "empty lines before the request line are skipped");

	r = req("GET / HTTP/1.1\nHost: a\nX: y\n\n");
	T_OK(r == (int)strlen("GET / HTTP/1.1\nHost: a\nX: y\n\n") && M.nhdrs == 2,
	     "bare LF line endings accepted in requests");
	T_OK(M.flags & H1_F_BARE_LF, "bare LF flagged");
	T_OK(span_eq(M.hdrs[1].value, M.hdrs[1].value_len, "y"), "bare LF: value");
	check_prefixes("GET / HTTP/1.1\nHost: a\r\n\n", false, "mixed LF/CRLF");

	r = req("GET /chat HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\n"
		"Upgrade: websocket\r\n\r\n");
	T_OK(r > 0 && (M.flags & H1_F_UPGRADE), "Connection: upgrade + Upgrade -> upgrade");
	r = req("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n");
	T_OK(r > 0 && !(M.flags & H1_F_UPGRADE), "Upgrade without Connection: upgrade ignored");
	r = req("GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n");
	T_OK(r > 0 && !(M.flags & H1_F_UPGRADE), "Upgrade ignored in HTTP/1.0");

	r = req("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n");
	T_OK(r > 0 && (M.flags & H1_F_EXPECT_100), "Expect: 100-continue (any case)");
	r = req("PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n");
	T_OK(r > 0 && !(M.flags & H1_F_EXPECT_100), "Expect ignored in HTTP/1.0");
	r = req("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n");
	T_OK(r > 0 && !(M.flags & H1_F_EXPECT_100), "other Expect values not flagged");

	r = req("get / HTTP/1.1\r\nHost: a\r\n\r\n");
	T_OK(r > 0 && M.method == H1_M_OTHER, "methods are case-sensitive: 'get' is another token");
	r = req("PROPFIND /d HTTP/1.1\r\nHost: a\r\n\r\n");
	T_OK(r > 0 && M.method == H1_M_OTHER && span_eq(M.method_str, M.method_len, "PROPFIND"),
	     "extension method accepted as a token");
	req_ok("GET / HTTP/1.1\r\nHost: a\r\nX-Tab: a\tb\r\nX-Latin: caf\xc3\xa9\r\n\r\n",
	       "HTAB and obs-text in values");
	r = req("GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-Spaces:   \r\n\r\n");
	T_OK(r > 0 && M.hdrs[1].value_len == 0 && M.hdrs[2].value_len == 0, "empty values");
	r = req("GET / HTTP/1.1\r\nHost:\r\n\r\n");
	T_OK(r > 0 && M.host_len == 0 && (M.flags & H1_F_HAS_HOST), "empty Host accepted");
	req_ok("GET / HTTP/1.1\r\nHost: www.example.com:8080\r\n\r\n", "Host with a port");
	req_ok("GET //two//slashes HTTP/1.1\r\nHost: a\r\n\r\n", "origin-form with empty segments");
}

static void test_content_length(void)
{
	int r;

	r = req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 7\r\nContent-Length: 7\r\n\r\n");
	T_OK(r > 0 && M.body == H1_BODY_CL && M.content_length == 7,
	     "identical Content-Length headers collapse");
	r = req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 7 , 7,7\r\n\r\n");
	T_OK(r > 0 && M.content_length == 7, "identical Content-Length list collapses");
	r = req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775807\r\n\r\n");
	T_OK(r > 0 && M.content_length == INT64_MAX, "Content-Length 2^63-1 accepted");
	r = req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 007\r\n\r\n");
	T_OK(r > 0 && M.content_length == 7, "leading zeros accepted");

	req_err("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 7\r\nContent-Length: 8\r\n\r\n", 400,
		"two different Content-Length headers");
	req_err("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 7, 8\r\n\r\n", 400,
		"different values in a Content-Length list");
	req_err("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400,
		"empty Content-Length");
	req_err("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", 400,
		"Content-Length +5");
	req_err("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -5\r\n\r\n", 400,
		"Content-Length -5");
	req_err("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n", 400,
		"non-numeric Content-Length");
	req_err("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5a\r\n\r\n", 400,
		"Content-Length with trailing garbage");
	req_err("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n", 400,
		"hex Content-Length");
	req_err("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 5\r\n\r\n", 400,
		"Content-Length with inner space");
	req_err("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5,\r\n\r\n", 400,
		"Content-Length list with an empty element");
	req_err("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775808\r\n\r\n", 400,
		"Content-Length 2^63 overflows");
	req_err("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", 400,
		"Content-Length with 20 digits");
	req_err("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 00000000000000000000001\r\n\r\n",
		400, "Content-Length with too many digits");
}

static void test_transfer_encoding(void)
{
	int r;

	r = req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n"
		"Transfer-Encoding: chunked\r\n\r\n");
	T_OK(r > 0 && M.body == H1_BODY_CHUNKED, "CL + TE: TE wins");
	T_OK(M.flags & H1_F_CL_TE_CONFLICT, "CL + TE: conflict flagged");
	T_OK(!(M.flags & H1_F_KEEP_ALIVE), "CL + TE: connection closes after");
	r = req("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
		"Content-Length: 10\r\n\r\n");
	T_OK(r > 0 && M.body == H1_BODY_CHUNKED && (M.flags & H1_F_CL_TE_CONFLICT),
	     "TE + CL in the other order: TE wins");
	req_err("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
		"Content-Length: x\r\n\r\n",
		400, "invalid CL next to TE");

	req_err("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 400,
		"TE gzip (not ending in chunked)");
	req_err("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400,
		"TE chunked, gzip");
	req_err("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 422,
		"TE gzip, chunked");
	req_err("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n"
		"Transfer-Encoding: chunked\r\n\r\n",
		422, "TE gzip then chunked in two headers");
	req_err("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400,
		"TE chunked, chunked");
	req_err("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
		"Transfer-Encoding: chunked\r\n\r\n",
		400, "two TE: chunked headers");
	req_err("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
		"TE in an HTTP/1.0 request");
	req_err("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n", 400, "empty TE");
	req_err("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;x=1\r\n\r\n", 400,
		"parameters on chunked");
	req_err("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked,\r\n\r\n", 400,
		"TE with an empty element");
	req_err("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \"chunked\"\r\n\r\n", 400,
		"TE quoted");
	req_err("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n", 400,
		"TE xchunked");
	req_err("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip;q=\"a,b\", chunked\r\n\r\n",
		422, "TE with a quoted parameter, then chunked");
	req_err("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip;q, chunked\r\n\r\n", 400,
		"TE with a broken parameter");
}

static void test_header_syntax(void)
{
	req_err("GET / HTTP/1.1\r\nHost: a\r\nX-A : b\r\n\r\n", 400, "space before colon");
	req_err("GET / HTTP/1.1\r\nHost: a\r\nX-A\t: b\r\n\r\n", 400, "tab before colon");
	req_err("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n", 400,
		"'Transfer-Encoding :' smuggling form");
	req_err("GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n", 400, "empty header name");
	req_err("GET / HTTP/1.1\r\nHost: a\r\nX(A): b\r\n\r\n", 400, "'(' in header name");
	req_err("GET / HTTP/1.1\r\nHost: a\r\nX\x80: b\r\n\r\n", 400, "non-ASCII header name");
	req_err("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400, "header line without colon");
	req_err("GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n", 400, "obs-fold (SP)");
	req_err("GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n\tc\r\n\r\n", 400, "obs-fold (HTAB)");
	req_err("GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400, "whitespace before the first header");
	req_err("GET / HTTP/1.1\r\nHost: a\r\nX: b\rc\r\n\r\n", 400, "bare CR in a value");
	req_err("GET / HTTP/1.1\r\nHost: a\r\nX: b\r\r\n\r\n", 400, "CR CR LF");
	req_err_n("GET / HTTP/1.1\r\nHost: a\r\nX: b\0c\r\n\r\n", 38, 400, "NUL in a value");
	req_err("GET / HTTP/1.1\r\nHost: a\r\nX: b\x01\r\n\r\n", 400, "CTL 0x01 in a value");
	req_err("GET / HTTP/1.1\r\nHost: a\r\nX: b\x1f\r\n\r\n", 400, "CTL 0x1f in a value");
	req_err("GET / HTTP/1.1\r\nHost: a\r\nX: b\x7f\r\n\r\n", 400, "DEL in a value");
	req_err("GET / HTTP/1.1\r\nHost: a\r\nX: b\x0b\r\n\r\n", 400, "VT in a value");

	/* a bare LF inside a value cannot exist: LF ends the line, what follows is a new line */
	req_err("GET / HTTP/1.1\r\nHost: a\r\nX: b\n c\r\n\r\n", 400,
		"LF inside a value becomes an obs-fold");
	req_err("GET / HTTP/1.1\r\nHost: a\r\nX: b\nTransfer-Encoding: x\r\n\r\n", 400,
		"LF inside a value starts a new header");
}

static void test_start_line(void)
{
	req_err("G@T / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "'@' in method");
	req_err(" / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "empty method");
	req_err("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, "tab after method");
	req_err("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "two spaces after method");
	req_err("GET /  HTTP/1.1\r\nHost: a\r\n\r\n", 400, "two spaces before version");
	req_err("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400, "space after version");
	req_err("GET /\r\n\r\n", 400, "HTTP/0.9 request (no version)");
	req_err("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 400, "HTTP/2.0");
	req_err("GET / HTTP/1.2\r\nHost: a\r\n\r\n", 400, "HTTP/1.2");
	req_err("GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400, "HTTP/1.10");
	req_err("GET / http/1.1\r\nHost: a\r\n\r\n", 400, "lowercase http/1.1");
	req_err("GET / HTTP/1\r\nHost: a\r\n\r\n", 400, "HTTP/1");
	req_err("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400, "HTTP/2 preface");
	req_err("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400, "space inside the target");
	req_err("GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n", 400, "fragment in the target");
	req_err("GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "CTL in the target");
	req_err("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "raw UTF-8 in the target");
	req_err("GET foo HTTP/1.1\r\nHost: a\r\n\r\n", 400, "relative target");
	req_err("GET example.com:80 HTTP/1.1\r\nHost: a\r\n\r\n", 400,
		"authority-form outside CONNECT");
	req_err("GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400, "'*' outside OPTIONS");
	req_err("OPTIONS *x HTTP/1.1\r\nHost: a\r\n\r\n", 400, "OPTIONS *x");
	req_err("CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "CONNECT origin-form");
	req_err("CONNECT example.com HTTP/1.1\r\nHost: example.com\r\n\r\n", 400,
		"CONNECT without a port");
	req_err("CONNECT example.com: HTTP/1.1\r\nHost: example.com\r\n\r\n", 400,
		"CONNECT with an empty port");
	req_err("CONNECT example.com:99999 HTTP/1.1\r\nHost: example.com\r\n\r\n", 400,
		"CONNECT with port 99999");
	req_err("CONNECT http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n", 400,
		"CONNECT absolute-form");
	req_err("CONNECT a.com:443 HTTP/1.1\r\nHost: b.com:443\r\n\r\n", 400,
		"CONNECT Host differing from the target");
	req_err("CONNECT a.com:443 HTTP/1.1\r\nHost: a.com:444\r\n\r\n", 400,
		"CONNECT Host with another port");
	req_err("CONNECT a.com:443 HTTP/1.1\r\nHost: b.com\r\n\r\n", 400,
		"CONNECT Host without port naming another host");
	req_ok("CONNECT A.com:443 HTTP/1.1\r\nHost: a.COM\r\n\r\n",
	       "CONNECT Host without port naming the same host");
	req_ok("CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]\r\n\r\n",
	       "CONNECT IPv6 Host without port");
	req_err("GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n", 400, "absolute-form with empty host");
	req_err("GET http://user@a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, "userinfo in absolute-form");
	req_err("GET 1http://a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, "scheme starting with a digit");
	req_err("GET http:/a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, "http:/ (one slash)");
	req_err_n("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11, 400, "TLS ClientHello");
}

static void test_host(void)
{
	req_err("GET / HTTP/1.1\r\n\r\n", 400, "HTTP/1.1 without Host");
	req_err("GET http://a/ HTTP/1.1\r\n\r\n", 400, "HTTP/1.1 absolute-form without Host");
	req_err("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "two different Host headers");
	req_err("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400, "two identical Host headers");
	req_err("GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", 400,
		"two Host headers in HTTP/1.0");
	req_err("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400, "'/' in Host");
	req_err("GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400, "'@' in Host");
	req_err("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, "space in Host");
	req_err("GET / HTTP/1.1\r\nHost: a, b\r\n\r\n", 400, "list in Host");
	req_err("GET / HTTP/1.1\r\nHost: a:b\r\n\r\n", 400, "non-numeric port in Host");
	req_err("GET / HTTP/1.1\r\nHost: :80\r\n\r\n", 400, "Host with a port only");
	req_err("GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 400, "unclosed IPv6 literal in Host");
	req_err("GET / HTTP/1.1\r\nHost: a%zz\r\n\r\n", 400, "bad percent-encoding in Host");
	req_err("GET http://a/ HTTP/1.1\r\nHost: b\r\n\r\n", 400,
		"Host differs from absolute-form");
	req_err("GET http://a:8080/ HTTP/1.1\r\nHost: a\r\n\r\n", 400,
		"Host without the target's non-default port");
	req_err("GET https://a/ HTTP/1.1\r\nHost: a:80\r\n\r\n", 400,
		"https target with Host on port 80");
	req_ok("GET http://A.example:/ HTTP/1.1\r\nHost: a.EXAMPLE\r\n\r\n",
	       "Host matches authority: empty port and case ignored");
}

static void fill_headers(char *buf, size_t size, int n)
{
	size_t off;
	int i;

	off = (size_t)snprintf(buf, size, "GET / HTTP/1.1\r\nHost: a\r\n");
	for (i = 1; i < n && off < size; i++)
		off += (size_t)snprintf(buf + off, size - off, "X-%d: v\r\n", i);
	snprintf(buf + off, size - off, "\r\n");
}

static void test_limits(void)
{
	static char buf[70000];
	struct h1_hdr few[4];
	size_t n;
	int r;

	fill_headers(buf, sizeof(buf), 101);
	r = req(buf);
	T_OK(r > 0 && M.nhdrs == 101, "101 headers accepted");
	fill_headers(buf, sizeof(buf), 102);
	req_err(buf, 400, "102 headers refused");

	h1_msg_init_req(&M, few, 4, 0);
	fill_headers(buf, sizeof(buf), 4);
	T_OK(h1_parse(&M, buf, strlen(buf)) > 0, "maxhdr 4: 4 headers accepted");
	h1_msg_init_req(&M, few, 4, 0);
	fill_headers(buf, sizeof(buf), 5);
	r = h1_parse(&M, buf, strlen(buf));
	T_OK(r == H1_ERROR && M.err_status == 400, "maxhdr 4: 5 headers refused with 400");

	/* a head of exactly bufsize bytes fits, one more does not */
	strcpy(buf, "GET / HTTP/1.1\r\nHost: a\r\nX: ");
	n = strlen(buf);
	memset(buf + n, 'v', 100);
	strcpy(buf + n + 100, "\r\n\r\n");
	n = strlen(buf);
	h1_msg_init_req(&M, hdrs, 0, n);
	T_EQ_INT(h1_parse(&M, buf, n), n, "head of exactly bufsize bytes accepted");
	h1_msg_init_req(&M, hdrs, 0, n - 1);
	r = h1_parse(&M, buf, n);
	T_OK(r == H1_ERROR && M.err_status == 400, "head of bufsize + 1 bytes refused with 400");
	h1_msg_init_req(&M, hdrs, 0, n - 1);
	r = h1_parse(&M, buf, n - 1);
	T_OK(r == H1_ERROR && M.err_status == 400,
	     "incomplete head filling the buffer refused with 400");
	h1_msg_init_req(&M, hdrs, 0, n - 1);
	r = h1_parse(&M, buf, n - 2);
	T_EQ_INT(r, H1_NEED_MORE, "incomplete head below bufsize needs more");

	/* default 16384 */
	strcpy(buf, "GET /");
	memset(buf + 5, 'a', 20000);
	strcpy(buf + 20005, " HTTP/1.1\r\nHost: a\r\n\r\n");
	req_err(buf, 400, "request line longer than the buffer");
	h1_msg_init_req(&M, hdrs, 0, 0);
	r = h1_parse(&M, buf, 16384);
	T_OK(r == H1_ERROR && M.err_status == 400, "16384 bytes without the end of the head: 400");
	h1_msg_init_req(&M, hdrs, 0, 0);
	T_EQ_INT(h1_parse(&M, buf, 16383), H1_NEED_MORE, "16383 bytes: still needs more");

	fill_headers(buf, sizeof(buf), 2);
	n = strlen(buf);
	memmove(buf + 16383, buf, n + 1);
	memset(buf, '\n', 16383);
	req_err(buf, 400, "empty lines before the request line count toward the limit");
}

static void test_early_errors(void)
{
	int r;

	r = req("BAD\r\n");
	T_OK(r == H1_ERROR && M.err_status == 400,
	     "invalid request line refused before the head ends");
	r = req("GET / HTTP/1.1\r\nX: a\rb");
	T_OK(r == H1_ERROR, "bare CR refused before the head ends");
	r = req_n("GET / HTTP/1.1\r\nX: \0", 21);
	T_OK(r == H1_ERROR, "NUL refused before the head ends");
	r = req("GET / HTTP/1.1\r\nX: a\r");
	T_EQ_INT(r, H1_NEED_MORE, "trailing CR waits for its LF");
	h1_msg_init_req(&M, hdrs, 0, 0);
	T_EQ_INT(h1_parse(&M, "BAD\r\n", 5), H1_ERROR, "failed parse");
	T_EQ_INT(h1_parse(&M, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 27), H1_ERROR,
		 "a failed parse stays failed");
}

static void test_pipeline(void)
{
	const char *buf = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
			  "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
			  "\r\n" /* an empty line some clients send after a body */
			  "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
			  "3\r\nxyz\r\n0\r\n\r\n"
			  "GET /d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	const char *p = buf, *end = buf + strlen(buf);
	const char *want[] = { "/a", "/b", "/c", "/d" };
	int i, r;

	for (i = 0; i < 4; i++) {
		h1_msg_init_req(&M, hdrs, 0, 0);
		r = h1_parse(&M, p, (size_t)(end - p));
		T_OK(r > 0 && span_eq(M.target, M.target_len, want[i]), "pipelined request %d: %s",
		     i + 1, want[i]);
		if (r <= 0)
			return;
		p += r;
		if (M.body == H1_BODY_CL) {
			p += M.content_length;
		} else if (M.body == H1_BODY_CHUNKED) {
			struct h1_chunk ck;
			size_t used, data;

			h1_chunk_init(&ck);
			r = h1_chunk_feed(&ck, p, (size_t)(end - p), &used, &data);
			T_OK(r == 1 && data == 3, "pipelined chunked body decoded");
			p += used;
		}
	}
	T_OK(p == end, "pipeline consumed exactly");
	T_OK(!(M.flags & H1_F_KEEP_ALIVE), "last pipelined request closes");
}

static void test_responses(void)
{
	int r;

	r = resp("HTTP/1.1 200 OK\r\nContent-Length: 12\r\nServer: x\r\n\r\n");
	T_OK(r > 0 && M.status == 200 && M.body == H1_BODY_CL && M.content_length == 12,
	     "200 with Content-Length");
	T_OK(span_eq(M.reason, M.reason_len, "OK"), "reason phrase");
	T_OK(M.flags & H1_F_KEEP_ALIVE, "200 CL keep-alive");
	check_prefixes("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", true, "response");

	r = resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
	T_OK(r > 0 && M.body == H1_BODY_CHUNKED && (M.flags & H1_F_KEEP_ALIVE), "200 chunked");
	r = resp("HTTP/1.1 200 OK\r\nServer: x\r\n\r\n");
	T_OK(r > 0 && M.body == H1_BODY_CLOSE && !(M.flags & H1_F_KEEP_ALIVE),
	     "200 without CL/TE: until close");
	T_OK(h1_has_body(&M), "until close has a body");
	r = resp("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n");
	T_OK(r > 0 && M.body == H1_BODY_NONE && (M.flags & H1_F_KEEP_ALIVE), "204: no body");
	r = resp("HTTP/1.1 304 Not Modified\r\nContent-Length: 500\r\n\r\n");
	T_OK(r > 0 && M.body == H1_BODY_NONE && M.content_length == 0, "304: no body");
	r = resp("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n");
	T_OK(r > 0 && M.body == H1_BODY_NONE, "304 with TE: no body");
	r = resp_m("HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n", H1_M_HEAD);
	T_OK(r > 0 && M.body == H1_BODY_NONE && (M.flags & H1_F_KEEP_ALIVE),
	     "HEAD response: no body");
	r = resp_m("HTTP/1.1 200 OK\r\n\r\n", H1_M_HEAD);
	T_OK(r > 0 && M.body == H1_BODY_NONE && (M.flags & H1_F_KEEP_ALIVE),
	     "HEAD response without CL: no body, keep-alive");
	r = resp("HTTP/1.1 100 Continue\r\n\r\n");
	T_OK(r > 0 && M.status == 100 && M.body == H1_BODY_NONE, "100 Continue: no body");
	r = resp("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n");
	T_OK(r > 0 && M.body == H1_BODY_NONE, "103: no body");
	r = resp("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
		 "Upgrade: websocket\r\n\r\n");
	T_OK(r > 0 && (M.flags & H1_F_TUNNEL) && (M.flags & H1_F_UPGRADE), "101: tunnel");
	r = resp_m("HTTP/1.1 200 Connection established\r\n\r\n", H1_M_CONNECT);
	T_OK(r > 0 && (M.flags & H1_F_TUNNEL) && M.body == H1_BODY_NONE, "CONNECT 200: tunnel");
	r = resp_m("HTTP/1.1 407 Auth\r\nContent-Length: 0\r\n\r\n", H1_M_CONNECT);
	T_OK(r > 0 && !(M.flags & H1_F_TUNNEL), "CONNECT 407: no tunnel");
	r = resp("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n");
	T_OK(r > 0 && M.body == H1_BODY_CHUNKED && (M.flags & H1_F_CL_TE_CONFLICT) &&
		     !(M.flags & H1_F_KEEP_ALIVE),
	     "response CL + TE: TE wins, close after");
	r = resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n");
	T_OK(r > 0 && M.body == H1_BODY_CLOSE, "response TE not ending in chunked: until close");
	r = resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
	T_OK(r > 0 && M.body == H1_BODY_CHUNKED, "response TE gzip, chunked: chunked");
	r = resp("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n");
	T_OK(r > 0 && M.version == 10 && !(M.flags & H1_F_KEEP_ALIVE), "HTTP/1.0 response closes");
	r = resp("HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive\r\n\r\n");
	T_OK(r > 0 && (M.flags & H1_F_KEEP_ALIVE), "HTTP/1.0 response with keep-alive");
	r = resp("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n");
	T_OK(r > 0 && M.reason_len == 0, "status line without reason");
	r = resp("HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n");
	T_OK(r > 0 && M.reason_len == 0, "status line with empty reason");
	r = resp("HTTP/1.1 404 Not  Found\tx\r\nContent-Length: 0\r\n\r\n");
	T_OK(r > 0 && M.status == 404 && span_eq(M.reason, M.reason_len, "Not  Found\tx"),
	     "reason with spaces and tab");
	r = resp("HTTP/1.1 200 OK\nContent-Length: 0\n\n");
	T_OK(r > 0 && (M.flags & H1_F_BARE_LF), "bare LF in a response");
	r = resp("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
		 "HTTP/1.1 200 OK\r\n");
	T_EQ_INT(r, strlen("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"),
		 "response head length excludes body and what follows");

	resp_err("HTTP/1.1 20 OK\r\n\r\n", H1_M_GET, "two-digit status");
	resp_err("HTTP/1.1 2000 OK\r\n\r\n", H1_M_GET, "four-digit status");
	resp_err("HTTP/1.1 099 X\r\n\r\n", H1_M_GET, "status 099");
	resp_err("HTTP/1.1 600 X\r\n\r\n", H1_M_GET, "status 600");
	resp_err("HTTP/1.1 2x0 OK\r\n\r\n", H1_M_GET, "status with a letter");
	resp_err("HTTP/2 200 OK\r\n\r\n", H1_M_GET, "HTTP/2 status line");
	resp_err("HTTP/2.0 200 OK\r\n\r\n", H1_M_GET, "HTTP/2.0 status line");
	resp_err("http/1.1 200 OK\r\n\r\n", H1_M_GET, "lowercase version");
	resp_err("HTTP/1.1  200 OK\r\n\r\n", H1_M_GET, "two spaces before status");
	resp_err("HTTP/1.1 200OK\r\n\r\n", H1_M_GET, "no space after status");
	resp_err("HTTP/1.1 200 O\x01K\r\n\r\n", H1_M_GET, "CTL in reason");
	resp_err("garbage\r\n\r\n", H1_M_GET, "garbage");
	resp_err("\r\nHTTP/1.1 200 OK\r\n\r\n", H1_M_GET, "empty line before status line");
	resp_err("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", H1_M_GET, "invalid CL");
	resp_err("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", H1_M_GET,
		 "conflicting CL");
	resp_err("HTTP/1.1 204 OK\r\nContent-Length: -1\r\n\r\n", H1_M_GET, "204 with invalid CL");
	resp_err("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", H1_M_GET,
		 "chunked twice");
	resp_err("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", H1_M_GET,
		 "TE in an HTTP/1.0 response");
	resp_err("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", H1_M_GET, "obs-fold");
	resp_err("HTTP/1.1 200 OK\r\nX : a\r\n\r\n", H1_M_GET, "space before colon");
	resp_err("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", H1_M_GET, "bare CR");
	resp_err("HTTP/1.1 200 OK\r\nX: \x7f\r\n\r\n", H1_M_GET, "DEL in a value");
}

/* Feed a chunked body in two parts split at k; returns the decoder result. */
static int chunk_split(const char *s, size_t n, size_t k, size_t *used, size_t *data)
{
	struct h1_chunk st;
	size_t u1, d1, u2 = 0, d2 = 0;
	int r;

	h1_chunk_init(&st);
	r = h1_chunk_feed(&st, s, k, &u1, &d1);
	if (r == 0)
		r = h1_chunk_feed(&st, s + k, n - k, &u2, &d2);
	*used = u1 + u2;
	*data = d1 + d2;
	return r;
}

/* Byte at a time; returns the decoder result. */
static int chunk_bytes(const char *s, size_t n, size_t *used, size_t *data)
{
	struct h1_chunk st;
	size_t i, u, d;
	int r = 0;

	h1_chunk_init(&st);
	*used = 0;
	*data = 0;
	for (i = 0; i < n && r == 0; i++) {
		r = h1_chunk_feed(&st, s + i, 1, &u, &d);
		*used += u;
		*data += d;
	}
	return r;
}

static void chunk_ok(const char *s, size_t body_len, size_t data_len, const char *what)
{
	size_t n = strlen(s), k, used, data;
	bool ok = true;
	int r;

	for (k = 0; k <= n; k++) {
		r = chunk_split(s, n, k, &used, &data);
		if (r != 1 || used != body_len || data != data_len) {
			ok = false;
			printf("#   split at %zu: r=%d used=%zu data=%zu\n", k, r, used, data);
			break;
		}
	}
	T_OK(ok, "chunked %s: done at every split point", what);
	r = chunk_bytes(s, n, &used, &data);
	T_OK(r == 1 && used == body_len && data == data_len, "chunked %s: byte by byte", what);
}

static void chunk_err(const char *s, const char *what)
{
	size_t n = strlen(s), used, data;
	struct h1_chunk st;
	int r;

	h1_chunk_init(&st);
	r = h1_chunk_feed(&st, s, n, &used, &data);
	T_OK(r == -1, "chunked %s: error", what);
	if (r != -1)
		printf("#   r=%d used=%zu\n", r, used);
	r = chunk_bytes(s, n, &used, &data);
	T_OK(r == -1, "chunked %s: error byte by byte", what);
}

static void test_chunked(void)
{
	static char big[8192];
	struct h1_chunk st;
	size_t used, data;
	const char *s;
	int r;

	chunk_ok("5\r\nhello\r\n0\r\n\r\n", 15, 5, "one chunk");
	chunk_ok("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", 26, 11, "two chunks");
	chunk_ok("A\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n", 35, 20, "hex digits");
	chunk_ok("0\r\n\r\n", 5, 0, "empty body");
	chunk_ok("000\r\n\r\n", 7, 0, "zero with leading zeros");
	chunk_ok("5;name=val;x=\"q;,\"\r\nhello\r\n0;last\r\n\r\n", 37, 5, "extensions");
	chunk_ok("5 \t;ext\r\nhello\r\n0 \r\n\r\n", 22, 5, "whitespace after size");
	chunk_ok("5\r\nhello\r\n0\r\nX-Sum: 1\r\nX-Other:\tb c\r\n\r\n", 39, 5, "trailers");
	chunk_ok("3\r\n\r\n\n\r\n0\r\n\r\n", 13, 3, "data holding CR and LF");

	s = "5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
	h1_chunk_init(&st);
	r = h1_chunk_feed(&st, s, strlen(s), &used, &data);
	T_OK(r == 1 && used == 15 && data == 5, "chunked: stops at the end of the body");
	r = h1_chunk_feed(&st, s + used, strlen(s + used), &used, &data);
	T_OK(r == 1 && used == 0 && data == 0, "chunked: done stays done, consumes nothing");

	h1_chunk_init(&st);
	r = h1_chunk_feed(&st, "7fffffffffffffff\r\nabc", 21, &used, &data);
	T_OK(r == 0 && used == 21 && data == 3 && st.remain == INT64_MAX - 3,
	     "chunk size 2^63-1 accepted, streaming");

	chunk_err("5\nhello\r\n0\r\n\r\n", "bare LF after size");
	chunk_err("5\r\nhello\n0\r\n\r\n", "bare LF after data");
	chunk_err("5\r\nhelloX\r\n0\r\n\r\n", "data longer than the size");
	chunk_err("5\r\nhell\r\n0\r\n\r\n", "data shorter than the size");
	chunk_err("x\r\n", "non-hex size");
	chunk_err("\r\n", "empty size");
	chunk_err(" 5\r\n", "space before size");
	chunk_err("-5\r\n", "negative size");
	chunk_err("+5\r\n", "signed size");
	chunk_err("0x5\r\n", "0x prefix");
	chunk_err("5 5\r\n", "space inside size");
	chunk_err("8000000000000000\r\n", "size 2^63 overflows");
	chunk_err("ffffffffffffffffff\r\n", "size of 18 hex digits");
	chunk_err("00000000000000005\r\n", "17 digits with leading zeros");
	chunk_err("5\rX", "CR not followed by LF");
	chunk_err("5;a\x01\r\n", "CTL in an extension");
	chunk_err("5;a\nb\r\n", "bare LF in an extension");
	chunk_err("5;a\rb\r\n", "bare CR in an extension");
	chunk_err("0\r\nX: a\r\n b\r\n\r\n", "obs-fold in trailers");
	chunk_err("0\r\nX : a\r\n\r\n", "space before colon in trailers");
	chunk_err("0\r\nX: a\n\r\n", "bare LF in trailers");
	chunk_err("0\r\nX: a\x01\r\n\r\n", "CTL in a trailer");
	chunk_err("0\r\n\n", "bare LF as the final line");
	chunk_err("0\r\n\rX", "final CR without LF");
	chunk_err("0\r\nNoColon\r\n\r\n", "trailer without colon");

	strcpy(big, "5;");
	memset(big + 2, 'e', H1_CHUNK_LINE_MAX);
	strcpy(big + 2 + H1_CHUNK_LINE_MAX, "\r\n");
	chunk_err(big, "extension longer than the line limit");

	{
		static char trl[H1_TRAILERS_MAX + 64];
		size_t off = (size_t)sprintf(trl, "0\r\n");
		int i;

		for (i = 0; i < H1_TRAILERS_MAXHDR + 1; i++)
			off += (size_t)sprintf(trl + off, "T%d: x\r\n", i);
		strcpy(trl + off, "\r\n");
		chunk_err(trl, "too many trailers");
		off = (size_t)sprintf(trl, "0\r\nX: ");
		memset(trl + off, 'v', H1_TRAILERS_MAX);
		strcpy(trl + off + H1_TRAILERS_MAX, "\r\n\r\n");
		chunk_err(trl, "trailers too large");
	}

	h1_chunk_init(&st);
	h1_chunk_feed(&st, "x", 1, &used, &data);
	r = h1_chunk_feed(&st, "0\r\n\r\n", 5, &used, &data);
	T_OK(r == -1 && used == 0, "chunked: error stays an error");
}

static void test_chunked_post_every_split(void)
{
	const char *msg = "POST /upload HTTP/1.1\r\n"
			  "Host: example.com\r\n"
			  "Transfer-Encoding: chunked\r\n"
			  "\r\n"
			  "4\r\nWiki\r\n"
			  "7;x=y\r\npedia i\r\n"
			  "B\r\nn \r\nchunks.\r\n"
			  "0\r\n"
			  "Expires: never\r\n"
			  "\r\n"
			  "GET /next HTTP/1.1\r\nHost: example.com\r\n\r\n";
	size_t n = strlen(msg), k;
	bool ok = true;

	/* the bytes arrive in two reads split at k; the proxy parses head then body */
	for (k = 0; k <= n && ok; k++) {
		struct h1_msg m;
		struct h1_chunk st;
		size_t avail = k, pos, used, data, total = 0;
		int r;

		h1_msg_init_req(&m, hdrs, 0, 0);
		r = h1_parse(&m, msg, avail);
		if (r == H1_NEED_MORE) {
			avail = n;
			r = h1_parse(&m, msg, avail);
		}
		if (r <= 0 || m.body != H1_BODY_CHUNKED) {
			ok = false;
			break;
		}
		pos = (size_t)r;
		h1_chunk_init(&st);
		if (avail > pos) {
			r = h1_chunk_feed(&st, msg + pos, avail - pos, &used, &data);
			pos += used;
			total += data;
		} else {
			r = 0;
		}
		if (r == 0) {
			r = h1_chunk_feed(&st, msg + pos, n - pos, &used, &data);
			pos += used;
			total += data;
		}
		if (r != 1 || total != 22 || strncmp(msg + pos, "GET /next", 9) != 0) {
			printf("#   split %zu: r=%d total=%zu\n", k, r, total);
			ok = false;
		}
	}
	T_OK(ok, "chunked POST split at every byte boundary: head, 22 data bytes, next request");
}

static void test_helpers(void)
{
	const char *e;
	const char *p, *v = " a, \"b,c\" ,, d ";
	struct h1_iter it = H1_ITER_INIT;
	size_t el;
	int r, n;

	p = v;
	T_OK(h1_list_next(&p, v + strlen(v), &e, &el) && span_eq(e, el, "a"), "list: a");
	T_OK(h1_list_next(&p, v + strlen(v), &e, &el) && span_eq(e, el, "\"b,c\""),
	     "list: quoted element kept whole");
	T_OK(h1_list_next(&p, v + strlen(v), &e, &el) && span_eq(e, el, "d"),
	     "list: empty elements skipped");
	T_OK(!h1_list_next(&p, v + strlen(v), &e, &el), "list: end");
	T_OK(h1_value_has_token("Keep-Alive, UPGRADE", 19, "upgrade"), "token match ignores case");
	T_OK(!h1_value_has_token("upgraded", 8, "upgrade"), "token match is whole-element");
	T_OK(!h1_value_has_token("\"a,close\"", 9, "close"), "token inside quotes not matched");

	r = req("GET / HTTP/1.1\r\nHost: a\r\nConnection: a, b\r\nX: 1\r\nconnection: c\r\n\r\n");
	T_OK(r > 0, "helpers: request parsed");
	n = 0;
	while (h1_iter_next(&M, "Connection", &it, &e, &el)) {
		const char *want = n == 0 ? "a" : n == 1 ? "b" : "c";

		T_OK(span_eq(e, el, want), "Connection token %d is %s", n, want);
		n++;
	}
	T_EQ_INT(n, 3, "three Connection tokens over two headers");
	T_EQ_INT(h1_hdr_count(&M, "CONNECTION"), 2, "h1_hdr_count");
	T_OK(h1_msg_has_token(&M, "connection", "C"), "h1_msg_has_token");
	T_OK(!h1_msg_has_token(&M, "connection", "close"), "h1_msg_has_token: absent");
	T_OK(h1_hdr_is(&M.hdrs[0], "HOST"), "h1_hdr_is");
	T_EQ_STR(h1_method_name(H1_M_OPTIONS), "OPTIONS", "h1_method_name");
	T_OK(h1_method_name(H1_M_OTHER) == NULL, "h1_method_name(OTHER) is NULL");
	T_EQ_INT(h1_method_lookup("PATCH", 5), H1_M_PATCH, "h1_method_lookup");
}

static void test_writer(void)
{
	char buf[512];
	struct h1_out o;
	long n;
	const char *want;

	T_EQ_STR(h1_status_text(200), "OK", "status text 200");
	T_EQ_STR(h1_status_text(404), "Not Found", "status text 404");
	T_EQ_STR(h1_status_text(422), "Unprocessable Content", "status text 422");
	T_EQ_STR(h1_status_text(502), "Bad Gateway", "status text 502");
	T_EQ_STR(h1_status_text(799), "Unknown", "status text for an unknown code");

	h1_out_init(&o, buf, sizeof(buf));
	h1_out_status(&o, 11, 404, NULL);
	h1_out_header_str(&o, "Content-Type", "text/plain");
	h1_out_header_u64(&o, "Content-Length", 12345678901ULL);
	h1_out_end(&o);
	n = h1_out_result(&o);
	want = "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n"
	       "Content-Length: 12345678901\r\n\r\n";
	T_EQ_INT(n, strlen(want), "writer: length");
	buf[n > 0 ? n : 0] = '\0';
	T_EQ_STR(buf, want, "writer: response head");

	h1_out_init(&o, buf, sizeof(buf));
	h1_out_request(&o, "GET", 3, "/x", 2, 10);
	h1_out_header_str(&o, "Host", "a");
	h1_out_end(&o);
	n = h1_out_result(&o);
	buf[n > 0 ? n : 0] = '\0';
	T_EQ_STR(buf, "GET /x HTTP/1.0\r\nHost: a\r\n\r\n", "writer: request head");
	h1_msg_init_req(&M, hdrs, 0, 0);
	T_EQ_INT(h1_parse(&M, buf, (size_t)n), n, "writer output parses back");

	h1_out_init(&o, buf, 20);
	h1_out_status(&o, 11, 200, "OK");
	h1_out_header_str(&o, "X", "long enough to overflow");
	T_EQ_INT(h1_out_result(&o), -ENOSPC, "writer: overflow is -ENOSPC");
	h1_out_init(&o, buf, sizeof(buf));
	h1_out_header_str(&o, "X", "a\r\nInjected: 1");
	T_EQ_INT(h1_out_result(&o), -EINVAL, "writer: CRLF in a value is -EINVAL");
	h1_out_init(&o, buf, sizeof(buf));
	h1_out_header_str(&o, "X Y", "a");
	T_EQ_INT(h1_out_result(&o), -EINVAL, "writer: bad header name is -EINVAL");
	h1_out_init(&o, buf, sizeof(buf));
	h1_out_status(&o, 11, 200, "OK\r\nX: y");
	T_EQ_INT(h1_out_result(&o), -EINVAL, "writer: CRLF in a reason is -EINVAL");
	h1_out_init(&o, buf, sizeof(buf));
	h1_out_request(&o, "GET", 3, "/a b", 4, 11);
	T_EQ_INT(h1_out_result(&o), -EINVAL, "writer: space in a target is -EINVAL");

	n = h1_build_error(buf, sizeof(buf), 400);
	T_OK(n > 0, "error response built");
	if (n > 0) {
		buf[n] = '\0';
		T_OK(strncmp(buf, "HTTP/1.1 400 Bad Request\r\n", 26) == 0, "error: status line");
		T_OK(strstr(buf, "\r\nConnection: close\r\n") != NULL, "error: Connection: close");
		h1_msg_init_resp(&M, hdrs, 0, 0, H1_M_GET);
		n -= h1_parse(&M, buf, (size_t)n);
		T_OK(M.body == H1_BODY_CL && (long)M.content_length == n,
		     "error: Content-Length matches the body");
	}
	T_EQ_INT(h1_build_error(buf, 40, 502), -ENOSPC, "error response: small buffer");
}

int main(void)
{
	test_valid_requests();
	test_content_length();
	test_transfer_encoding();
	test_header_syntax();
	test_start_line();
	test_host();
	test_limits();
	test_early_errors();
	test_pipeline();
	test_responses();
	test_chunked();
	test_chunked_post_every_split();
	test_helpers();
	test_writer();
	printf("# %d checks, %d failed\n", t_count, t_failed);
	T_DONE();
}
