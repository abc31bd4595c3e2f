// SPDX-License-Identifier: MIT
/*
 * Cookie persistence helpers (l7/cookie.c): the Cookie header walker, the
 * date encoding HAProxy uses in `maxidle`/`maxlife` cookies, and the
 * validation of a `cookie` line's options.
 */
#include <stdlib.h>
#include <string.h>

#include "cookie.h"
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
	T_DONE();
}
