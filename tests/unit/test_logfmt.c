// SPDX-License-Identifier: MIT
/*
 * The log-format compiler and renderer (l7/logfmt.c): separators, flags
 * (+Q, +X, +E, %o), escaping of the request line and of captures, missing
 * values, samples, the built-in formats, and compile errors. The expected
 * strings were checked against HAProxy 2.6 (tests/e2e/l7_logformat.sh
 * compares whole lines with it).
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "logfmt.h"
#include "t.h"

static void set_addr(struct sockaddr_storage *ss, const char *ip, int port)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, ip, &s6->sin6_addr);
		s6->sin6_port = htons(port);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		inet_pton(AF_INET, ip, &s4->sin_addr);
		s4->sin_port = htons(port);
	}
}

static struct proxy fe = { .name = "fe", .mode = PX_MODE_HTTP, .options = PX_OPT_HTTPLOG };
static struct sockaddr_storage cli, dst;
static struct lf_data D;
static const char *caps_req[3] = { "h.example", NULL, "a\"b|c#d\\e]" };
static const char *caps_rsp[1] = { "" };

static void reset(void)
{
	static const char req[] = "GET /p/x?q=1 HTTP/1.1";

	memset(&D, 0, sizeof(D));
	set_addr(&cli, "192.0.2.1", 5000);
	set_addr(&dst, "127.0.0.1", 8080);
	D.fe = &fe;
	D.be_name = "be";
	D.srv_name = "s1";
	D.cli = &cli;
	D.fe_addr = &dst;
	D.t_accept = D.t_req = 1700000000.042;
	D.t_R = 1;
	D.t_w = 0;
	D.t_c = 2;
	D.t_r = 3;
	D.t_a = 7;
	D.t_t = 9;
	D.status = 200;
	D.bytes_out = 1234;
	D.bytes_in = 99;
	D.term[0] = '-';
	D.term[1] = '-';
	D.actconn = D.feconn = 1;
	D.reqline = req;
	D.reqline_len = strlen(req);
	D.rt = 10;
}

/* Compile text (mode http unless tcp), render D; "ERR: message" on a compile error. */
static const char *render(const char *text, bool tcp)
{
	static char out[1024];
	char *err = NULL;
	struct logfmt *f = logfmt_compile(text, !tcp, "log-format", &err);

	if (!f) {
		snprintf(out, sizeof(out), "ERR: %s", err ? err : "?");
		free(err);
		return out;
	}
	logfmt_render(f, &D, out, sizeof(out));
	logfmt_free(f);
	return out;
}

static void test_separators_and_flags(void)
{
	reset();
	T_EQ_STR(render("  a   %ci  b %%  ", false), "a 192.0.2.1 b % ",
		 "runs of spaces are one separator; leading dropped, trailing kept");
	T_EQ_STR(render("%ci:%cp %{+Q}ci %{+Q}cp %{+Q}ST %{+Q}ft %{+Q,+X}ci %{+X}cp", false),
		 "192.0.2.1:5000 \"192.0.2.1\" 5000 200 \"fe\" C0000201 1388",
		 "+Q quotes strings only, +X writes addresses and ports in hex");
	T_EQ_STR(render("%{+Q}o %ci %{-Q}ci %b %{Q}s %{+Z}s", false),
		 "\"192.0.2.1\" 192.0.2.1 \"be\" \"s1\" \"s1\"",
		 "%%o sets the default flags; unsigned and unknown flags are ignored");
	T_EQ_STR(render("%{+X}Ts %Ts %ms %{+X}rt %rt", false), "6553F100 1700000000 042 000A 10",
		 "%%Ts %%ms %%rt");
	set_addr(&cli, "::1", 80);
	T_EQ_STR(render("%{+X}ci %ci", false), "00000000000000000000000000000001 ::1",
		 "IPv6 in hex");
}

static void test_http_vars(void)
{
	static const char bad[] = "GET /a\"b#c\x01 HTTP/1.0";

	reset();
	T_EQ_STR(render("%HM|%HU|%HP|%HQ|%HV|%{+Q}r", false),
		 "GET|/p/x?q=1|/p/x|?q=1|HTTP/1.1|\"GET /p/x?q=1 HTTP/1.1\"", "request line parts");
	D.reqline = bad;
	D.reqline_len = strlen(bad);
	T_EQ_STR(render("%r|%{+E}HU|%HQ|%{+Q}HQ", false),
		 "GET /a#22b#23c#01 HTTP/1.0|/a#22b#23c#01||\"\"",
		 "request line escapes '\"', '#', controls; an empty query is empty");
	D.reqline = NULL;
	T_EQ_STR(render("%r %{+Q}HM %HV", false), "<BADREQ> \"<BADREQ>\" <BADREQ>", "<BADREQ>");
	T_EQ_STR(render("%TR/%Tw/%Tc/%Tr/%Ta %Tt %Th %Ti %Tq %tsc %ts %B %U %CC %{+Q}CS", false),
		 "1/0/2/3/7 9 0 0 1 ---- -- 1234 99 - \"\"", "timers, flags, bytes, cookies");
	D.redispatched = true;
	D.retries = 2;
	T_EQ_STR(render("%ac/%fc/%bc/%sc/%rc %sq/%bq", false), "1/1/0/0/+2 0/0", "counters");
}

static void test_captures(void)
{
	reset();
	T_EQ_STR(render("a %hr %hs %hrl %hsl b", false), "a b",
		 "no captures: nothing, one separator");
	D.req_cap = caps_req;
	D.nreq_cap = 3;
	D.rsp_cap = caps_rsp;
	D.nrsp_cap = 1;
	T_EQ_STR(render("%hr %hs", false), "{h.example||a#22b#7Cc#23d\\e]} {}",
		 "blocks escape '\"', '|', '#' (and '{', '}')");
	T_EQ_STR(render("%hrl|%{+Q}hrl|%hsl|%{+Q}hsl", false),
		 "h.example - a#22b#7Cc#23d\\e]|\"h.example\" \"\" \"a#22b#7Cc#23d\\e]\"||\"\"",
		 "lists: absent is -, empty is empty");
	T_EQ_STR(render("%{+E}hrl", false), "h.example - a#22b#7Cc#23d\\\\e\\]",
		 "+E escapes backslash and ']' after the # escapes");
	T_EQ_STR(render("%{+Q}hr", false), "\"{h.example||a#22b#7Cc#23d\\e]}\"",
		 "+Q quotes a block");
}

static void test_samples(void)
{
	struct acl_env env = { 0 };

	reset();
	T_EQ_STR(render("%[src] %{+Q}[src]", false), "- \"\"",
		 "samples without an environment are missing");
	env.src = &cli;
	env.dst = &dst;
	env.req_cap = caps_req;
	env.nreq_cap = 3;
	env.unique_id = "ID-1";
	D.env = &env;
	D.unique_id = "ID-1";
	T_EQ_STR(
		render("%[src]:%{+Q}[src_port] %[dst_port] %[capture.req.hdr(0),upper] %[capture.req.hdr(1)]",
		       false),
		"192.0.2.1:\"5000\" 8080 H.EXAMPLE -", "connection samples, captures, converters");
	T_EQ_STR(render("%{+E}[capture.req.hdr(2)] %{+Q}[capture.req.hdr(2)]", false),
		 "a\\\"b|c#d\\\\e\\] \"a\"b|c#d\\e]\"", "samples are raw but for +E");
	T_EQ_STR(render("%ID %{+Q}[unique-id] %[status]", false), "ID-1 \"ID-1\" -",
		 "%%ID, unique-id; status is missing at log time (as HAProxy)");
	D.unique_id = NULL;
	T_EQ_STR(render("%ID %{+Q}ID", false), "- \"\"", "no unique-id");
}

static void test_builtin(void)
{
	char line[512];
	struct proxy tcp = { .name = "t" };
	const char *p;

	reset();
	D.req_cap = caps_req;
	D.nreq_cap = 1;
	D.rsp_cap = caps_rsp;
	D.nrsp_cap = 1;
	logfmt_render(logfmt_builtin(&fe, true), &D, line, sizeof(line));
	p = strchr(line, ']');
	T_OK(!strncmp(line, "192.0.2.1:5000 [", 16), "httplog starts with ci:cp [");
	T_EQ_STR(
		p ? p + 1 : NULL,
		" fe be/s1 1/0/2/3/7 200 1234 - - ---- 1/1/0/0/0 0/0 {h.example} {} \"GET /p/x?q=1 HTTP/1.1\"",
		"httplog with captures");
	fe.options |= PX_OPT_HTTPLOG_CLF;
	logfmt_render(logfmt_builtin(&fe, true), &D, line, sizeof(line));
	p = strchr(line, ']');
	T_EQ_STR(
		p ? p + 1 : NULL,
		" \"GET /p/x?q=1 HTTP/1.1\" 200 1234 \"\" \"\" 5000 042 \"fe\" \"be\" \"s1\" 1 0 2 3 7 ---- 1 1 0 0 0 0 0 \"\" \"\" \"h.example\" \"\"",
		"httplog clf");
	fe.options &= ~PX_OPT_HTTPLOG_CLF;
	D.fe = &tcp;
	D.req_cap = NULL;
	logfmt_render(logfmt_builtin(&tcp, false), &D, line, sizeof(line));
	p = strchr(line, ']');
	T_EQ_STR(p ? p + 1 : NULL, " t be/s1 0/2/9 1234 -- 1/1/0/0/0 0/0", "tcplog");
	logfmt_render(logfmt_builtin(&fe, true), &D, line, 20);
	T_EQ_INT(strlen(line), 19, "rendering stops at the buffer size");
}

static void test_errors(void)
{
	reset();
	T_EQ_STR(
		render("%ci %foo", false),
		"ERR: 'log-format': no such format variable '%foo' in '%ci %foo' (write %% for a '%')",
		"unknown variable");
	T_OK(strstr(render("%sslv", false), "'%sslv' is not supported by lbd") != NULL,
	     "HAProxy variables lbd cannot fill are refused by name");
	T_EQ_STR(render("%cp_%Ts", false), "5000_1700000000", "names are letters and digits");
	T_OK(strstr(render("%r", true), "format variable '%r' is reserved for mode http") != NULL,
	     "HTTP variables refused in mode tcp");
	T_OK(strstr(render("%TR", true), "reserved for mode http") != NULL, "%%TR in mode tcp");
	T_EQ_STR(render("%ST %hr %Tw %Th", true), "200 0 0",
		 "what HAProxy allows in mode tcp (a separator after nothing is dropped)");
	T_OK(strstr(render("%[path]", true), "needs an HTTP request") != NULL,
	     "request fetches refused in mode tcp");
	T_OK(strstr(render("%[res.hdr(x)]", false), "'res.hdr' is not available") != NULL,
	     "response fetches refused");
	T_OK(strstr(render("a%", false), "truncated line after '%'") != NULL, "trailing %%");
	T_OK(strstr(render("%{+Q", false), "truncated line") != NULL, "unclosed flags");
	T_OK(strstr(render("%[src", false), "missing ']'") != NULL, "unclosed sample");
	T_OK(strstr(render("%{+Q} x", false), "flags without a variable name") != NULL,
	     "flags alone");
	T_OK(strstr(render("%[nosuch]", false), "unknown fetch method 'nosuch'") != NULL,
	     "unknown fetch");
}

int main(void)
{
	test_separators_and_flags();
	test_http_vars();
	test_captures();
	test_samples();
	test_builtin();
	test_errors();
	T_DONE();
}
