// SPDX-License-Identifier: MIT
/*
 * ACL tests: every fetch and match method, flags, pattern files, networks,
 * conditions (AND, or/||, !, unless, anonymous ACLs, repeated names,
 * predefined ACLs), compile errors with file:line, log-format strings,
 * http-request/http-response rules and the httplog line.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <unistd.h>

#include "t.h"
#include "acl.h"
#include "cfg.h"
#include "http_proxy.h"

/* A parsed request with the environment the fetches read. */
struct fx {
	char buf[8192];
	struct h1_hdr hdrs[128];
	struct h1_hdr vhdrs[160];
	struct h1_msg m;
	struct l7_msg v;
	struct sockaddr_storage src, dst;
	struct acl_env env;
};

static struct fx F;

static void set_addr(struct sockaddr_storage *ss, const char *ip, int port)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *s6 = (void *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		inet_pton(AF_INET6, ip, &s6->sin6_addr);
	} else {
		struct sockaddr_in *s4 = (void *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		inet_pton(AF_INET, ip, &s4->sin_addr);
	}
}

/* Parse raw as a request from src (to 127.0.0.1:8080); false when it does not parse. */
static bool mkreq_from(const char *raw, const char *src)
{
	int r;

	memset(&F, 0, sizeof(F));
	snprintf(F.buf, sizeof(F.buf), "%s", raw);
	h1_msg_init_req(&F.m, F.hdrs, 128, 0);
	r = h1_parse(&F.m, F.buf, strlen(F.buf));
	if (r <= 0)
		return false;
	memcpy(F.vhdrs, F.m.hdrs, F.m.nhdrs * sizeof(struct h1_hdr));
	F.v.h1 = &F.m;
	F.v.hdrs = F.vhdrs;
	F.v.nhdrs = F.m.nhdrs;
	F.v.maxhdrs = 160;
	set_addr(&F.src, src, 40000);
	set_addr(&F.dst, "127.0.0.1", 8080);
	F.env.req = &F.v;
	F.env.src = &F.src;
	F.env.dst = &F.dst;
	return true;
}

static bool mkreq(const char *raw)
{
	return mkreq_from(raw, "127.0.0.1");
}

/* Compile an ACL body given as one string of words separated by blanks. */
static struct acl_expr *expr(const char *body, char **err)
{
	char buf[1024], *words[64], *save = NULL, *w;
	int n = 0;

	snprintf(buf, sizeof(buf), "%s", body);
	for (w = strtok_r(buf, " ", &save); w && n < 64; w = strtok_r(NULL, " ", &save))
		words[n++] = w;
	return acl_expr_compile(words, n, err);
}

/* ACL body `body` against the current request. */
static int match(const char *body)
{
	char *err = NULL;
	struct acl_expr *e = expr(body, &err);
	int r;

	if (!e) {
		printf("#   compile '%s': %s\n", body, err ? err : "?");
		free(err);
		return -1;
	}
	r = acl_expr_match(e, &F.env);
	acl_expr_free(e);
	return r;
}

#define M_YES(body, what) T_EQ_INT(match(body), 1, "%s: %s matches", what, body)
#define M_NO(body, what) T_EQ_INT(match(body), 0, "%s: %s does not match", what, body)

static void test_path_url(void)
{
	T_OK(mkreq("GET /static/img/logo.png?v=3&user=bob&debug HTTP/1.1\r\nHost: www.Example.com\r\n\r\n"),
	     "request parses");
	M_YES("path /static/img/logo.png", "path");
	M_NO("path /static/img/logo.png?v=3", "path (no query)");
	M_YES("path_beg /static/ /js/", "path_beg");
	M_NO("path_beg /img", "path_beg");
	M_YES("path_end .png .jpg", "path_end");
	M_YES("path_sub img/lo", "path_sub");
	M_YES("path_dir img", "path_dir");
	M_YES("path_dir /img/", "path_dir ignores delimiters around the pattern");
	M_NO("path_dir im", "path_dir whole segments");
	M_YES("path_dom static", "path_dom");
	M_YES("path_reg ^/static/.*\\.png$", "path_reg");
	M_NO("path_reg ^/STATIC", "path_reg case");
	M_YES("path_reg -i ^/STATIC", "path_reg -i");
	M_YES("path_len 20", "path_len");
	M_NO("path_len 1:19", "path_len range");
	M_YES("path -i /STATIC/IMG/LOGO.PNG", "path -i");
	M_YES("path -m beg /static", "path -m beg");
	M_YES("url /static/img/logo.png?v=3&user=bob&debug", "url");
	M_YES("url_beg /static/img", "url_beg");
	M_YES("url_end debug", "url_end");
	M_YES("url_sub user=bob", "url_sub");
	M_YES("query v=3&user=bob&debug", "query");
	M_YES("query -m sub user=", "query -m sub");
	M_YES("url_param(user) bob", "url_param");
	M_YES("urlp(v) -m int 3", "urlp -m int");
	M_NO("url_param(debug) -m found", "url_param needs '='");
	M_NO("url_param(ser) bob", "url_param whole names");
	M_YES("url_param(v) -m found", "url_param -m found");
	M_YES("base www.Example.com/static/img/logo.png", "base");
	M_NO("base_beg www.example.com/static -i", "base: -i after a pattern is a pattern");
	M_YES("method GET", "method");
	M_NO("method get", "method is case-sensitive");
	M_YES("method -i get", "method -i");
	M_YES("req.ver 1.1", "req.ver");

	T_OK(mkreq("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), "request without query");
	M_NO("query -m found", "query absent");
	M_NO("url_param(a) -m found", "url_param without query");
	M_YES("path /", "path /");
}

static void test_hdr(void)
{
	T_OK(mkreq("GET / HTTP/1.1\r\nHost: api.Example.com:8080\r\nX-List: one, two ,three\r\n"
		   "X-List: four\r\nX-Empty: \r\nX-Num: 42\r\nX-Ip: 10.1.2.3\r\n"
		   "Cookie: a=1; session=xyz ; b=2\r\nUser-Agent: curl/8.0\r\n\r\n"),
	     "request with headers parses");
	M_YES("hdr(host) -i api.example.com:8080", "hdr -i");
	M_NO("hdr(host) api.example.com:8080", "hdr case");
	M_YES("hdr(HOST) api.Example.com:8080", "header names are case-insensitive");
	M_YES("hdr_beg(host) api.", "hdr_beg");
	M_YES("hdr_end(host) :8080", "hdr_end");
	M_YES("hdr_sub(user-agent) curl", "hdr_sub");
	M_YES("hdr_dom(host) -i example", "hdr_dom");
	M_YES("hdr_dom(host) 8080", "hdr_dom splits at ':'");
	M_NO("hdr_dom(host) xample", "hdr_dom whole labels");
	M_YES("hdr_reg(host) ^api\\.", "hdr_reg");
	M_YES("hdr(x-list) two", "hdr splits at commas");
	M_YES("hdr(x-list) four", "hdr covers every occurrence");
	M_NO("hdr(x-list) two\\ ", "hdr trims blanks");
	M_YES("req.fhdr(x-list) -m beg one,", "req.fhdr keeps the whole line");
	M_NO("hdr(x-list) -m beg one,", "hdr does not");
	M_YES("hdr(x-list,1) one", "hdr occurrence 1");
	M_YES("hdr(x-list,-1) four", "hdr occurrence -1");
	M_NO("hdr(x-list,-1) three", "hdr occurrence -1 is the last");
	M_YES("hdr_cnt(x-list) 4", "hdr_cnt counts values");
	M_YES("req.fhdr_cnt(x-list) 2", "req.fhdr_cnt counts lines");
	M_YES("hdr_cnt(x-list) gt 3", "hdr_cnt gt");
	M_NO("hdr_cnt(x-list) lt 4", "hdr_cnt lt");
	M_YES("hdr_cnt(x-none) eq 0", "hdr_cnt of an absent header is 0");
	M_YES("hdr(x-empty) -m found", "an empty header is found");
	M_YES("hdr(x-empty) -m len 0", "an empty header has length 0");
	M_NO("hdr(x-none) -m found", "absent header");
	M_YES("hdr_val(x-num) ge 40", "hdr_val");
	M_YES("hdr_val(x-num) 40:50", "hdr_val range");
	M_NO("hdr_val(x-num) :41", "hdr_val open range");
	M_YES("hdr_ip(x-ip) 10.0.0.0/8", "hdr_ip");
	M_YES("hdr(x-ip) -m ip 10.1.0.0/16", "hdr -m ip");
	M_YES("req.hdr(x-num) -m int 42", "req.hdr -m int");
	M_YES("cook(session) xyz", "cook");
	M_YES("req.cook(b) -m int 2", "req.cook");
	M_NO("cook(sess) -m found", "cook whole names");
	M_YES("hdr(host),lower api.example.com:8080", "lower converter");
	M_YES("hdr(host),upper -m beg API.", "upper converter");
}

static void test_addr(void)
{
	struct acl_net n;

	T_EQ_INT(acl_net_parse("10.0.0.0/8", &n), 0, "parse 10.0.0.0/8");
	T_EQ_INT(n.plen, 8, "prefix 8");
	T_EQ_INT(acl_net_parse("192.168.0.0/255.255.0.0", &n), 0, "dotted mask");
	T_EQ_INT(n.plen, 16, "dotted mask is /16");
	T_OK(acl_net_parse("10.0.0.0/255.0.255.0", &n) < 0, "non-contiguous mask refused");
	T_OK(acl_net_parse("10.0.0.0/33", &n) < 0, "prefix 33 refused");
	T_OK(acl_net_parse("10.0.0", &n) < 0, "short address refused");
	T_EQ_INT(acl_net_parse("2001:db8::/32", &n), 0, "IPv6 network");
	T_EQ_INT(acl_net_parse("::ffff:10.0.0.1", &n), 0, "IPv4-mapped address");
	T_EQ_INT(n.family, AF_INET, "IPv4-mapped counts as IPv4");

	T_OK(mkreq_from("GET / HTTP/1.1\r\nHost: x\r\n\r\n", "10.1.2.3"), "request from 10.1.2.3");
	M_YES("src 10.0.0.0/8", "src CIDR");
	M_YES("src 192.168.1.1 10.1.2.3", "src address list");
	M_NO("src 10.1.2.4", "src other address");
	M_NO("src 2001:db8::/32", "src IPv4 against IPv6 network");
	M_YES("src ::ffff:10.1.2.0/120", "src against an IPv4-mapped network");
	M_YES("dst 127.0.0.1", "dst");
	M_YES("dst_port 8080", "dst_port");
	M_YES("dst_port 1024:65535", "dst_port range");
	M_YES("dst_port ge 8000", "dst_port ge");
	M_NO("dst_port lt 8080", "dst_port lt");
	M_YES("src_port 40000", "src_port");
	M_YES("src -m found", "src -m found");

	T_OK(mkreq_from("GET / HTTP/1.1\r\nHost: x\r\n\r\n", "::ffff:10.9.8.7"),
	     "request from an IPv4-mapped address");
	M_YES("src 10.9.0.0/16", "mapped source matches IPv4 networks");
	T_OK(mkreq_from("GET / HTTP/1.1\r\nHost: x\r\n\r\n", "2001:db8::5"), "request from IPv6");
	M_YES("src 2001:db8::/32", "src IPv6 network");
	M_NO("src 10.0.0.0/8", "src IPv6 against IPv4");
	M_YES("src ::/0", "src ::/0");
}

static void test_files_and_errors(void)
{
	char path[] = "/tmp/xlb-acl-XXXXXX", *err = NULL;
	struct acl_expr *e;
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	T_OK(f != NULL, "temporary pattern file");
	if (!f)
		return;
	fprintf(f, "# comment\n\n  /a\n/b\r\n/c \n");
	fclose(f);
	T_OK(mkreq("GET /b HTTP/1.1\r\nHost: x\r\n\r\n"), "request /b");
	{
		char body[256];

		snprintf(body, sizeof(body), "path -f %s", path);
		M_YES(body, "-f file");
		snprintf(body, sizeof(body), "path -f %s /zz", path);
		M_YES(body, "-f file plus patterns");
		T_OK(mkreq("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"), "request /a");
		M_YES(body, "-f leading blanks removed");
		T_OK(mkreq("GET /c HTTP/1.1\r\nHost: x\r\n\r\n"), "request /c");
		M_NO(body, "-f trailing blanks are part of the pattern");
	}
	unlink(path);

	e = expr("path -f /nonexistent/xlb.lst", &err);
	T_OK(!e && err && strstr(err, "/nonexistent/xlb.lst"), "missing pattern file reported");
	free(err);
	err = NULL;
	e = expr("pathx /a", &err);
	T_OK(!e && err && strstr(err, "unknown fetch method 'pathx'"), "unknown fetch");
	free(err);
	err = NULL;
	e = expr("path_reg (", &err);
	T_OK(!e && err && strstr(err, "regex"), "bad regex");
	free(err);
	err = NULL;
	e = expr("src 10.0.0.300", &err);
	T_OK(!e && err && strstr(err, "not a valid IPv4"), "bad address");
	free(err);
	err = NULL;
	e = expr("dst_port abc", &err);
	T_OK(!e && err && strstr(err, "integer"), "bad integer");
	free(err);
	err = NULL;
	e = expr("path -m nope /a", &err);
	T_OK(!e && err && strstr(err, "matching method"), "bad -m");
	free(err);
	err = NULL;
	e = expr("path -z /a", &err);
	T_OK(!e && err && strstr(err, "-z"), "unknown flag");
	free(err);
	err = NULL;
	e = expr("hdr_val /a", &err);
	T_OK(!e && err && strstr(err, "expects an argument"), "missing argument");
	free(err);
	err = NULL;
	e = expr("hdr(host),nope x", &err);
	T_OK(!e && err && strstr(err, "converter"), "unknown converter");
	free(err);
	err = NULL;
	e = expr("path -m found /a", &err);
	T_OK(!e && err, "-m found takes no pattern");
	free(err);
	err = NULL;
	e = expr("path_beg -m end /a", &err);
	T_OK(!e && err && strstr(err, "conflicts"), "-m conflicting with the keyword");
	free(err);
	err = NULL;
	e = expr("path -- -i", &err);
	T_OK(e != NULL, "'--' ends the flags");
	T_OK(mkreq("GET /x HTTP/1.1\r\nHost: x\r\n\r\n"), "request /x");
	T_EQ_INT(e ? acl_expr_match(e, &F.env) : -1, 0, "'-i' after '--' is a pattern");
	acl_expr_free(e);
}

/* Free a model and what the L7 tier compiled for it. */
static void free_model(struct model *m)
{
	struct proxy *px;

	list_for_each(px, &m->proxies, list)
		l7_free_proxy(px);
	model_free(m);
}

/* Load a frontend with acls and one `use_backend b if COND` line. */
static struct model *load_fe(const char *acls, const char *cond, char **err)
{
	char cfg[4096];

	snprintf(cfg, sizeof(cfg),
		 "defaults\n mode http\nfrontend fe\n bind 127.0.0.1:1\n%s\n use_backend b %s\n"
		 "backend b\n server s 127.0.0.1:2\n",
		 acls, cond);
	return cfg_load_string("t.cfg", cfg, err);
}

/* 1 when COND holds for the current request, 0 when not, -1 on error. */
static int cond(const char *acls, const char *c)
{
	char *err = NULL;
	struct model *m = load_fe(acls, c, &err);
	struct proxy *fe;
	struct switch_rule *sr;
	int r = -1;

	if (!m) {
		printf("#   config: %s\n", err);
		free(err);
		return -1;
	}
	fe = model_find_proxy(m, "fe", PX_CAP_FE);
	if (fe && l7_compile_proxy(fe, &err) == 0) {
		sr = list_entry(fe->switch_rules.next, struct switch_rule, list);
		r = acl_cond_eval(sr->cond, &F.env);
	} else {
		printf("#   compile: %s\n", err ? err : "?");
		free(err);
	}
	free_model(m);
	return r;
}

/* The error of compiling COND, or NULL. */
static char *cond_err(const char *acls, const char *c)
{
	char *err = NULL;
	struct model *m = load_fe(acls, c, &err);
	struct proxy *fe;

	if (!m)
		return err;
	fe = model_find_proxy(m, "fe", PX_CAP_FE);
	if (fe)
		l7_compile_proxy(fe, &err);
	free_model(m);
	return err;
}

static void test_conditions(void)
{
	const char *acls = " acl api path_beg /api\n acl get method GET\n acl local src 127.0.0.1\n"
			   " acl two path /one\n acl two path /two\n";
	char *err;

	T_OK(mkreq("GET /api/x HTTP/1.1\r\nHost: x\r\n\r\n"), "GET /api/x");
	T_EQ_INT(cond(acls, "if api"), 1, "single ACL");
	T_EQ_INT(cond(acls, "if api get local"), 1, "implicit AND");
	T_EQ_INT(cond(acls, "if api !get"), 0, "negation");
	T_EQ_INT(cond(acls, "if api ! get"), 0, "detached '!'");
	T_EQ_INT(cond(acls, "if !api or get"), 1, "or");
	T_EQ_INT(cond(acls, "if !api || !get"), 0, "||");
	T_EQ_INT(cond(acls, "unless api"), 0, "unless");
	T_EQ_INT(cond(acls, "unless !api"), 1, "unless !");
	T_EQ_INT(cond(acls, "if { path_beg /api } { method GET }"), 1, "anonymous ACLs");
	T_EQ_INT(cond(acls, "if !{ path_beg /api }"), 0, "negated anonymous ACL");
	T_EQ_INT(cond(acls, "if two"), 0, "repeated name, no line matches");
	T_EQ_INT(cond(acls, "if METH_GET HTTP_1.1 LOCALHOST TRUE"), 1, "predefined ACLs");
	T_EQ_INT(cond(acls, "if FALSE or METH_POST"), 0, "predefined FALSE, METH_POST");
	T_EQ_INT(cond(acls, "if HTTP_URL_SLASH !HTTP_URL_ABS"), 1, "predefined URL ACLs");
	T_OK(mkreq("GET /two HTTP/1.1\r\nHost: x\r\n\r\n"), "GET /two");
	T_EQ_INT(cond(acls, "if two"), 1, "repeated name: the lines are ORed");

	err = cond_err(acls, "if nosuch");
	T_OK(err && strstr(err, "t.cfg:11:") && strstr(err, "no such ACL : 'nosuch'"),
	     "unknown ACL reported with file:line");
	free(err);
	err = cond_err(acls, "if { path_beg /a");
	T_OK(err && strstr(err, "missing closing '}'"), "unclosed brace");
	free(err);
	err = cond_err(acls, "if api or");
	T_OK(err && strstr(err, "or"), "dangling or");
	free(err);
	err = cond_err(acls, "if or api");
	T_OK(err && strstr(err, "missing ACL before 'or'"), "leading or");
	free(err);
	err = cond_err(" acl bad path_reg (\n", "if TRUE");
	T_OK(err && strstr(err, "t.cfg:5:") && strstr(err, "acl 'bad'"),
	     "bad acl line reported with file:line");
	free(err);
	err = cond_err(acls, "if { }");
	T_OK(err && strstr(err, "empty"), "empty anonymous ACL");
	free(err);
}

/* Load a frontend with the given rule lines and return it compiled. */
static struct model *load_rules(const char *lines, struct proxy **fe, char **err)
{
	char cfg[4096];
	struct model *m;

	snprintf(cfg, sizeof(cfg),
		 "defaults\n mode http\nfrontend fe\n bind 127.0.0.1:1\n%s\n default_backend b\n"
		 "backend b\n server s 127.0.0.1:2\n",
		 lines);
	m = cfg_load_string("r.cfg", cfg, err);
	if (!m)
		return NULL;
	*fe = model_find_proxy(m, "fe", PX_CAP_FE);
	if (l7_compile_proxy(*fe, err) < 0) {
		free_model(m);
		return NULL;
	}
	return m;
}

static const char *find_hdr_val(const struct l7_msg *m, const char *name)
{
	static char v[256];
	int i = l7_msg_find(m, name, strlen(name), 0);

	if (i < 0)
		return NULL;
	snprintf(v, sizeof(v), "%.*s", (int)m->hdrs[i].value_len, m->hdrs[i].value);
	return v;
}

static void test_rules(void)
{
	struct l7_arena arena = { 0 };
	struct l7_reply reply;
	struct proxy *fe = NULL;
	struct model *m;
	char *err = NULL;
	enum l7_verdict v;

	m = load_rules(
		" http-request set-header X-Set %[src]:%[dst_port]\n"
		" http-request add-header X-Add v1\n"
		" http-request add-header X-Add v2\n"
		" http-request del-header X-Del\n"
		" http-request del-header x-pre -m beg\n"
		" http-request set-header X-Host %[hdr(host),lower] if { hdr(host) -m found }\n"
		" http-request deny deny_status 429 if { path /limit }\n"
		" http-request return status 201 content-type text/plain string made if { path /ret }\n"
		" http-request redirect prefix https://e.x drop-query append-slash if { path_beg /r }\n"
		" http-request redirect scheme https code 301 if { path_beg /s }\n",
		&fe, &err);
	T_OK(m != NULL, "rules compile");
	if (!m) {
		printf("#   %s\n", err);
		free(err);
		return;
	}
	T_OK(mkreq("GET /x HTTP/1.1\r\nHost: A.B\r\nX-Del: 1\r\nX-Pre-1: a\r\nX-Prefix: b\r\n\r\n"),
	     "GET /x");
	memset(&reply, 0, sizeof(reply));
	v = l7_http_req_rules(fe, &F.env, &F.v, &arena, &reply);
	T_EQ_INT(v, L7_CONTINUE, "header rules continue");
	T_EQ_STR(find_hdr_val(&F.v, "x-set"), "127.0.0.1:8080", "set-header with samples");
	T_EQ_STR(find_hdr_val(&F.v, "x-host"), "a.b", "set-header with a converter");
	T_EQ_INT(l7_msg_find(&F.v, "x-del", 5, 0), -1, "del-header");
	T_EQ_INT(l7_msg_find(&F.v, "x-pre-1", 7, 0), -1, "del-header -m beg");
	T_EQ_INT(l7_msg_find(&F.v, "x-prefix", 8, 0), -1, "del-header -m beg (2)");
	T_OK(l7_msg_find(&F.v, "x-add", 5, 0) >= 0 &&
		     l7_msg_find(&F.v, "x-add", 5, l7_msg_find(&F.v, "x-add", 5, 0) + 1) >= 0,
	     "add-header twice gives two headers");
	l7_arena_reset(&arena);

	T_OK(mkreq("GET /limit HTTP/1.1\r\nHost: x\r\n\r\n"), "GET /limit");
	memset(&reply, 0, sizeof(reply));
	v = l7_http_req_rules(fe, &F.env, &F.v, &arena, &reply);
	T_EQ_INT(v, L7_REPLY, "deny replies");
	T_EQ_INT(reply.status, 429, "deny_status");
	T_OK(reply.data && !strncmp(reply.data, "HTTP/1.1 429 ", 13), "deny response line");
	free(reply.data);

	T_OK(mkreq("GET /ret HTTP/1.1\r\nHost: x\r\n\r\n"), "GET /ret");
	memset(&reply, 0, sizeof(reply));
	v = l7_http_req_rules(fe, &F.env, &F.v, &arena, &reply);
	T_EQ_INT(v, L7_REPLY, "return replies");
	T_OK(reply.data && strstr(reply.data, "HTTP/1.1 201 Created\r\n") &&
		     strstr(reply.data, "content-type: text/plain\r\n") &&
		     strstr(reply.data, "content-length: 4\r\n") &&
		     strstr(reply.data, "\r\n\r\nmade"),
	     "return response");
	T_EQ_INT(reply.term, 'L', "return is a local response");
	free(reply.data);

	T_OK(mkreq("GET /r/a?q=1 HTTP/1.1\r\nHost: x\r\n\r\n"), "GET /r/a?q=1");
	memset(&reply, 0, sizeof(reply));
	v = l7_http_req_rules(fe, &F.env, &F.v, &arena, &reply);
	T_EQ_INT(v, L7_REPLY, "redirect replies");
	T_OK(reply.data && strstr(reply.data, "HTTP/1.1 302 Found\r\n") &&
		     strstr(reply.data, "location: https://e.x/r/a/\r\n"),
	     "redirect prefix drop-query append-slash");
	free(reply.data);

	T_OK(mkreq("GET /s?k HTTP/1.1\r\nHost: shop.x\r\n\r\n"), "GET /s?k");
	memset(&reply, 0, sizeof(reply));
	v = l7_http_req_rules(fe, &F.env, &F.v, &arena, &reply);
	T_OK(reply.data && strstr(reply.data, "HTTP/1.1 301 Moved Permanently\r\n") &&
		     strstr(reply.data, "location: https://shop.x/s?k\r\n"),
	     "redirect scheme");
	free(reply.data);
	l7_arena_reset(&arena);
	free_model(m);

	/* compile errors name the line */
	m = load_rules(" http-request frobnicate\n", &fe, &err);
	T_OK(!m && err && strstr(err, "r.cfg:5:") && strstr(err, "unsupported action 'frobnicate'"),
	     "unknown action reported with file:line");
	free(err);
	err = NULL;
	m = load_rules(" http-request deny deny_status 99\n", &fe, &err);
	T_OK(!m && err && strstr(err, "status"), "bad deny_status");
	free(err);
	err = NULL;
	m = load_rules(" http-request return string x\n", &fe, &err);
	T_OK(!m && err && strstr(err, "content-type"), "return string without content-type");
	free(err);
	err = NULL;
	m = load_rules(" http-request redirect code 302\n", &fe, &err);
	T_OK(!m && err, "redirect without a target");
	free(err);
	err = NULL;
	m = load_rules(" http-request set-header X %[nope]\n", &fe, &err);
	T_OK(!m && err && strstr(err, "nope"), "bad sample in a log-format");
	free(err);
	err = NULL;
	m = load_rules(
		" http-response set-status 503 reason Busy\n http-response del-header server\n",
		&fe, &err);
	T_OK(m != NULL, "http-response rules compile");
	if (m) {
		struct h1_hdr rh[8];
		struct h1_msg rm;
		struct l7_msg rv = { 0 };
		unsigned int st = 200;
		const char *reason = NULL;
		char raw[] = "HTTP/1.1 200 OK\r\nServer: x\r\nContent-Length: 0\r\n\r\n";

		h1_msg_init_resp(&rm, rh, 8, 0, H1_M_GET);
		T_OK(h1_parse(&rm, raw, strlen(raw)) > 0, "response parses");
		rv.h1 = &rm;
		rv.hdrs = rh;
		rv.nhdrs = rm.nhdrs;
		rv.maxhdrs = 8;
		F.env.rsp = &rv;
		v = l7_http_rsp_rules(fe, &F.env, &rv, &arena, &st, &reason);
		T_EQ_INT(v, L7_CONTINUE, "response rules continue");
		T_EQ_INT(st, 503, "set-status");
		T_EQ_STR(reason, "Busy", "set-status reason");
		T_EQ_INT(l7_msg_find(&rv, "server", 6, 0), -1, "http-response del-header");
		F.env.rsp = NULL;
		l7_arena_reset(&arena);
		free_model(m);
	}
}

static void test_fmt(void)
{
	char *err = NULL, out[256];
	struct l7_fmt *f;

	T_OK(mkreq_from("GET /p?a=1 HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nX-A: 2\r\n\r\n", "10.0.0.9"),
	     "request for log-format");
	f = l7_fmt_compile("ip=%[src] port=%ci:%cp %% path=%[path] last=%[hdr(x-a)] "
			   "first=%[hdr(x-a,1)] none=%[hdr(x-b)].",
			   &err);
	T_OK(f != NULL, "log-format compiles");
	l7_fmt_expand(f, &F.env, out, sizeof(out));
	T_EQ_STR(out, "ip=10.0.0.9 port=10.0.0.9:40000 % path=/p last=2 first=1 none=.",
		 "log-format expands");
	l7_fmt_expand(f, &F.env, out, 8);
	T_EQ_STR(out, "ip=10.0", "log-format truncates to the buffer");
	l7_fmt_free(f);
	f = l7_fmt_compile("%[src", &err);
	T_OK(!f && err, "unclosed %%[ refused");
	free(err);
	err = NULL;
	f = l7_fmt_compile("%Q", &err);
	T_OK(!f && err && strstr(err, "%Q"), "unknown variable refused");
	free(err);
}

static void test_log_line(void)
{
	struct proxy fe = { .name = "fe", .options = PX_OPT_HTTPLOG };
	struct proxy be = { .name = "be" };
	struct server srv = { .name = "s1" };
	struct sockaddr_storage src;
	struct l7_log l = { 0 };
	char line[512];
	const char *p;

	set_addr(&src, "192.0.2.1", 5000);
	l.fe = &fe;
	l.be = &be;
	l.srv = &srv;
	l.src = &src;
	l.t_req = 1700000000.123;
	l.tr = 1;
	l.tw = 0;
	l.tc = 2;
	l.trs = 3;
	l.ta = 7;
	l.status = 200;
	l.bytes = 1234;
	l.term[0] = '-';
	l.term[1] = '-';
	l.actconn = 1;
	l.feconn = 1;
	l.reqline = "GET /a\"b HTTP/1.1";
	l.reqline_len = strlen(l.reqline);
	l7_log_format(&l, line, sizeof(line));
	p = strchr(line, ']');
	T_OK(!strncmp(line, "192.0.2.1:5000 [", 16), "httplog starts with client address and date");
	T_EQ_STR(p ? p + 1 : NULL,
		 " fe be/s1 1/0/2/3/7 200 1234 - - ---- 1/1/0/0/0 0/0 \"GET /a#22b HTTP/1.1\"",
		 "httplog fields and escaped request line");
	l.reqline = NULL;
	l.srv = NULL;
	l.status = 400;
	l.term[0] = 'P';
	l.term[1] = 'R';
	l.retries = 1;
	l.redispatched = true;
	l7_log_format(&l, line, sizeof(line));
	p = strchr(line, ']');
	T_EQ_STR(p ? p + 1 : NULL,
		 " fe be/<NOSRV> 1/0/2/3/7 400 1234 - - PR-- 1/1/0/0/+1 0/0 \"<BADREQ>\"",
		 "httplog of a bad request");
	fe.options = 0;
	l7_log_format(&l, line, sizeof(line));
	p = strchr(line, ']');
	T_EQ_STR(p ? p + 1 : NULL, " fe be/<NOSRV> 0/2/0 1234 PR 1/1/0/0/+1 0/0",
		 "tcplog format without option httplog");
}

static void test_error_page(void)
{
	struct proxy fe = { .name = "fe" };
	size_t len = 0;
	char *p = l7_error_page(&fe, NULL, 503, &len);

	T_OK(p && !strncmp(p, "HTTP/1.1 503 Service Unavailable\r\n", 34), "503 page status line");
	T_OK(p && strstr(p, "content-length: ") && strstr(p, "\r\n\r\n<html>"),
	     "503 page has a body");
	T_OK(p && !strstr(p, "onnection:"),
	     "error pages leave the connection decision to the proxy");
	free(p);
	fe.errorfiles[0].status = 503;
	fe.errorfiles[0].body = "HTTP/1.1 503 X\r\n\r\n";
	fe.errorfiles[0].len = strlen(fe.errorfiles[0].body);
	fe.nerrorfiles = 1;
	p = l7_error_page(&fe, NULL, 503, &len);
	T_OK(p && len == fe.errorfiles[0].len && !memcmp(p, fe.errorfiles[0].body, len),
	     "errorfile replaces the page");
	free(p);
}

int main(void)
{
	test_path_url();
	test_hdr();
	test_addr();
	test_files_and_errors();
	test_conditions();
	test_rules();
	test_fmt();
	test_log_line();
	test_error_page();
	printf("1..%d\n", t_count);
	T_DONE();
}
