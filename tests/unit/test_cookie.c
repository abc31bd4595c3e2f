// SPDX-License-Identifier: MIT
/*
 * Cookie persistence helpers (l7/cookie.c): the Cookie header walker, the
 * date encoding HAProxy uses in `maxidle`/`maxlife` cookies, the
 * validation of a `cookie` line's options, and the letters of %tsc a
 * transaction gets (checked against HAProxy 2.6 by tests/e2e/l7_cookie.sh).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cookie.h"
#include "http_proxy.h"
#include "t.h"

/* Walk a Cookie value; returns "name=value|name=value|..." (no '=' for a bare name). */
static const char *walk(const char *v)
{
	static char out[512];
	const char *p = v, *end = v + strlen(v);
	struct l7_ck_pair c;
	size_t n = 0;

	out[0] = 0;
	while (l7_ck_next(&p, end, &c) && n < sizeof(out) - 64) {
		n += snprintf(out + n, sizeof(out) - n, "%s%.*s%s%.*s", n ? "|" : "",
			      (int)c.name_len, c.name, c.has_eq ? "=" : "", (int)c.value_len,
			      c.value);
	}
	return out;
}

static int check(const char *opts)
{
	char *args[16], *copy = strdup(opts), *err = NULL, *tok, *save = NULL;
	int n = 0, rc;

	for (tok = strtok_r(copy, " ", &save); tok && n < 16; tok = strtok_r(NULL, " ", &save))
		args[n++] = tok;
	rc = l7_cookie_check(args, n, &err);
	free(err);
	free(copy);
	return rc;
}

/* A backend with servers s1 (cookie s1), s2 (cookie s2) and nock (none). */
struct fx {
	struct proxy be;
	struct server srv[3];
	struct l7_cookie *ck;
	struct l7_arena arena;
};

static int fx_init(struct fx *f, const char *opts)
{
	static char buf[128];
	static char *args[16];
	static const char *names[] = { "s1", "s2", "nock" };
	char *tok, *save = NULL, *err = NULL;
	int n = 0, rc;

	memset(f, 0, sizeof(*f));
	list_init(&f->be.servers);
	pthread_mutex_init(&f->be.lock, NULL);
	f->be.name = "be";
	f->be.cap = PX_CAP_BE;
	f->be.mode = PX_MODE_HTTP;
	f->be.cookie_name = "SRV";
	snprintf(buf, sizeof(buf), "%s", opts);
	for (tok = strtok_r(buf, " ", &save); tok && n < 15; tok = strtok_r(NULL, " ", &save))
		args[n++] = tok;
	args[n] = NULL;
	f->be.cookie_args = args;
	for (int i = 0; i < 3; i++) {
		struct server *s = &f->srv[i];

		s->name = (char *)names[i];
		s->cookie = i < 2 ? (char *)names[i] : NULL;
		s->id = (uint32_t)i + 1;
		s->be = &f->be;
		s->refcnt = 1;
		list_add_tail(&s->list, &f->be.servers);
	}
	rc = l7_cookie_compile(&f->be, &f->ck, &err);
	free(err);
	return rc;
}

static void fx_free(struct fx *f)
{
	l7_cookie_free(f->ck);
	l7_arena_reset(&f->arena);
}

/*
 * One transaction: a request with Cookie (NULL: none) balanced to bal
 * when its cookie names no usable server, and a response with Set-Cookie
 * (NULL: none) from the server it went to. Returns the two letters.
 */
static const char *txn(struct fx *f, enum h1_method meth, const char *cookie, struct server *bal,
		       const char *set_cookie)
{
	static char out[3];
	struct h1_hdr rq[4] = { { "Host", "x", 4, 1 } }, rs[4] = { { "X", "y", 1, 1 } };
	struct h1_msg h1 = { 0 };
	struct l7_msg req = { &h1, rq, 1, 4 }, rsp = { NULL, rs, 1, 4 };
	struct l7_ck_txn ct = { 0 };
	struct server *s = NULL;

	h1.method = meth;
	if (cookie) {
		rq[1] = (struct h1_hdr){ "Cookie", cookie, 6, (uint32_t)strlen(cookie) };
		req.nhdrs = 2;
	}
	if (set_cookie) {
		rs[1] = (struct h1_hdr){ "Set-Cookie", set_cookie, 10,
					 (uint32_t)strlen(set_cookie) };
		rsp.nhdrs = 2;
	}
	out[0] = out[1] = '-';
	if (l7_cookie_req(f->ck, &f->be, &req, &f->arena, &ct) < 0)
		return "req failed";
	if (ct.srv_id)
		s = l7_cookie_take(&f->be, &ct);
	if (!s) {
		s = bal;
		l7_cookie_balanced(&ct, s);
	}
	if (l7_cookie_rsp(f->ck, s, &rsp, 200, meth, &f->arena, &ct) < 0)
		return "rsp failed";
	l7_cookie_log(f->ck, &ct, out);
	out[0] = out[0] ? out[0] : '-';
	out[1] = out[1] ? out[1] : '-';
	return out;
}

/* ct after a request whose cookie named s1 and that went to s (a redispatch) */
static char redispatched(struct fx *f, struct server *s)
{
	struct h1_hdr rq[2] = { { "Cookie", "SRV=s1", 6, 6 } };
	struct h1_msg h1 = { 0 };
	struct l7_msg req = { &h1, rq, 1, 2 };
	struct l7_ck_txn ct = { 0 };

	if (l7_cookie_req(f->ck, &f->be, &req, &f->arena, &ct) < 0 || ct.req_st != 'V')
		return '?';
	l7_cookie_balanced(&ct, s);
	return ct.req_st;
}

static void tsc_letters(void)
{
	struct fx f;
	char v[64], d_new[7] = { 0 }, d_old[7] = { 0 }, d_fut[7] = { 0 };
	time_t now = time(NULL);

	T_EQ_INT(fx_init(&f, "insert indirect"), 0, "insert indirect compiles");
	T_EQ_STR(txn(&f, H1_M_GET, NULL, &f.srv[0], NULL), "NI", "no cookie: balanced, inserted");
	T_EQ_STR(txn(&f, H1_M_GET, "SRV=s2", NULL, NULL), "VN", "valid cookie");
	T_EQ_STR(txn(&f, H1_M_GET, "SRV=nosuch", &f.srv[0], NULL), "II", "invalid cookie");
	T_EQ_STR(txn(&f, H1_M_GET, "SRV=", &f.srv[0], NULL), "II", "empty value: invalid");
	T_EQ_STR(txn(&f, H1_M_GET, "a=1; SRV=s1; SRV=s2", NULL, NULL), "VN",
		 "two persistence cookies: the first one");
	T_EQ_STR(txn(&f, H1_M_GET, "SRV=nosuch; SRV=s2", NULL, NULL), "VN",
		 "an invalid one, then a valid one: V");
	T_EQ_STR(txn(&f, H1_M_GET, "SRV=s2", NULL, "SRV=own"), "VD",
		 "direct, indirect: the server's cookie is deleted");
	T_EQ_STR(txn(&f, H1_M_GET, NULL, &f.srv[0], "SRV=own"), "NI",
		 "balanced: the server's cookie is replaced (I)");
	T_EQ_STR(txn(&f, H1_M_GET, NULL, &f.srv[2], NULL), "NI",
		 "a server without cookie: the \"delete me\" cookie is an insertion");
	f.srv[1].admin = SRV_ADMIN_MAINT;
	T_EQ_STR(txn(&f, H1_M_GET, "SRV=s2", &f.srv[0], NULL), "DI",
		 "a server in maintenance: D, balanced, inserted");
	f.srv[1].admin = SRV_ADMIN_READY;
	f.srv[1].chk_state = SRV_CHK_DOWN;
	T_EQ_STR(txn(&f, H1_M_GET, "SRV=s2", &f.srv[0], NULL), "DI", "a server checked down: D");
	f.srv[1].chk_state = SRV_CHK_UP;
	T_EQ_INT(redispatched(&f, &f.srv[1]), 'D', "redispatched to another server: D");
	T_EQ_INT(redispatched(&f, &f.srv[0]), 'V', "redispatched to the same server: V");
	T_EQ_INT(redispatched(&f, NULL), 'D', "redispatched to no server yet: D");
	fx_free(&f);

	T_EQ_INT(fx_init(&f, "insert preserve postonly"), 0, "insert preserve postonly compiles");
	T_EQ_STR(txn(&f, H1_M_POST, NULL, &f.srv[0], "SRV=own"), "NP", "preserve: passed as is");
	T_EQ_STR(txn(&f, H1_M_POST, NULL, &f.srv[0], NULL), "NI", "postonly: a POST gets it");
	T_EQ_STR(txn(&f, H1_M_GET, NULL, &f.srv[0], NULL), "NN", "postonly: a GET does not");
	fx_free(&f);

	T_EQ_INT(fx_init(&f, "rewrite"), 0, "rewrite compiles");
	T_EQ_STR(txn(&f, H1_M_GET, NULL, &f.srv[0], "SRV=app; path=/"), "NR", "rewrite: R");
	T_EQ_STR(txn(&f, H1_M_GET, "SRV=s1", NULL, "SRV=app"), "VR", "rewrite, valid cookie");
	T_EQ_STR(txn(&f, H1_M_GET, NULL, &f.srv[2], "SRV=app"), "NP",
		 "rewrite: a server without cookie passes its own");
	T_EQ_STR(txn(&f, H1_M_GET, "SRV=s1", NULL, "other=1"), "VN", "another cookie: N");
	fx_free(&f);

	T_EQ_INT(fx_init(&f, "prefix"), 0, "prefix compiles");
	T_EQ_STR(txn(&f, H1_M_GET, "SRV=s2~app", NULL, "SRV=app"), "VR", "prefix: R");
	T_EQ_STR(txn(&f, H1_M_GET, "SRV=s2~app", NULL, NULL), "VN", "prefix, no server cookie");
	fx_free(&f);

	T_EQ_INT(fx_init(&f, "indirect"), 0, "indirect alone compiles");
	T_EQ_STR(txn(&f, H1_M_GET, "SRV=s1", NULL, "SRV=x"), "VD", "indirect alone: deleted");
	T_EQ_STR(txn(&f, H1_M_GET, "SRV=zz", &f.srv[0], "SRV=x"), "IP", "... passed when balanced");
	fx_free(&f);

	T_EQ_INT(fx_init(&f, ""), 0, "passive (no mode) compiles");
	T_EQ_STR(txn(&f, H1_M_GET, "SRV=s1", NULL, "SRV=x"), "--",
		 "passive: the letters are not shown, as HAProxy");
	fx_free(&f);

	T_EQ_INT(fx_init(&f, "insert maxidle 1h maxlife 1d"), 0, "maxidle maxlife compiles");
	l7_ck_date_enc((uint32_t)((now - 100) >> 2), d_new + 1);
	l7_ck_date_enc((uint32_t)((now + 600) >> 2), d_fut + 1);
	l7_ck_date_enc(1, d_old + 1);
	d_new[0] = d_old[0] = d_fut[0] = '|';
	snprintf(v, sizeof(v), "SRV=s1%s", d_new);
	T_EQ_STR(txn(&f, H1_M_GET, v, NULL, NULL), "VU", "no first date: updated");
	snprintf(v, sizeof(v), "SRV=s1%s%s", d_new, d_new);
	T_EQ_STR(txn(&f, H1_M_GET, v, NULL, NULL), "VU", "last date in the past: updated");
	snprintf(v, sizeof(v), "SRV=s1%s%s", d_fut, d_new);
	T_EQ_STR(txn(&f, H1_M_GET, v, NULL, NULL), "VN", "dates up to date: nothing");
	snprintf(v, sizeof(v), "SRV=s1%s%s", d_old, d_new);
	T_EQ_STR(txn(&f, H1_M_GET, v, &f.srv[0], NULL), "EI", "idle too long: E");
	snprintf(v, sizeof(v), "SRV=s1%s%s", d_new, d_old);
	T_EQ_STR(txn(&f, H1_M_GET, v, &f.srv[0], NULL), "OI", "too old: O");
	fx_free(&f);

	{
		struct l7_ck_txn ct = { 0 };
		char out[2] = { 0 };

		l7_cookie_log(NULL, &ct, out);
		T_OK(!out[0] && !out[1], "no cookie line: nothing set (shown --)");
	}
}

int main(void)
{
	struct l7_ck_pair c;
	const char *p, *v;
	char d[6] = { 0 };

	T_EQ_STR(walk("a=1; SRV=s1; b=2"), "a=1|SRV=s1|b=2", "three cookies");
	T_EQ_STR(walk("  a = 1 ;;SRV=s1~x;  "), "a=1|SRV=s1~x", "blanks and empty elements");
	T_EQ_STR(walk("q=\"x;y\"; r=2"), "q=\"x;y\"|r=2", "a ';' inside a quoted value");
	T_EQ_STR(walk("flag; SRV="), "flag|SRV=", "a name without value, an empty value");
	T_EQ_STR(walk(""), "", "empty header");
	v = "a=1;  SRV=s2|abcde ; b";
	p = v;
	T_OK(l7_ck_next(&p, v + strlen(v), &c) && l7_ck_next(&p, v + strlen(v), &c),
	     "second pair found");
	T_OK(c.beg == v + 6 && c.end == v + 18, "pair span excludes the blanks around it");

	l7_ck_date_enc(0, d);
	T_EQ_STR(d, "AAAAA", "date 0");
	l7_ck_date_enc((1795691697u + 3) >> 2, d);
	T_EQ_STR(d, "awgUt", "the date HAProxy 2.6 wrote at 1795691697");
	T_EQ_INT(l7_ck_date_dec("awgUt"), 1795691700, "decoded back in 4-second units");
	T_EQ_INT(l7_ck_date_dec("AAAAB"), 4, "one unit");
	T_EQ_INT(l7_ck_date_dec("AA*AB"), 0, "invalid character");
	T_EQ_INT(l7_ck_date_dec("AAA"), 0, "too short");

	T_EQ_INT(check("insert indirect nocache"), 0, "insert indirect nocache");
	T_EQ_INT(
		check("insert indirect nocache maxidle 30m maxlife 8h domain .a domain .b attr x=y"),
		0, "every option but dynamic");
	T_EQ_INT(check("insert insert"), 0, "the same mode twice");
	T_EQ_INT(check("insert rewrite"), -1, "two modes");
	T_EQ_INT(check("prefix insert"), -1, "two modes, other order");
	T_EQ_INT(check("preserve"), -1, "preserve alone");
	T_EQ_INT(check("indirect preserve"), 0, "preserve with indirect");
	T_EQ_INT(check("insert dynamic"), -1, "dynamic is not supported");
	T_EQ_INT(check("insert attr a;b"), -1, "';' in an attribute");
	T_EQ_INT(check("insert domain"), -1, "domain without value");
	T_EQ_INT(check("insert maxidle soon"), -1, "maxidle without a time");
	T_EQ_INT(check("insert frobnicate"), -1, "unknown option");

	tsc_letters();
	T_DONE();
}
