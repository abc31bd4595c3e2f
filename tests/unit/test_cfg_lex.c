// SPDX-License-Identifier: MIT
/* Config lexer: words, quotes, escapes, environment, conditional blocks. */
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "cfg_lex.h"
#include "t.h"

/* The words of a line joined with '|', or "ERR: message". */
static char *lex(const char *line)
{
	static char out[4096];
	char **w = NULL, *err = NULL;
	int n, i;

	n = cfg_lex_line(line, &w, &err);
	if (n < 0) {
		snprintf(out, sizeof(out), "ERR: %s", err ? err : "?");
		free(err);
		return out;
	}
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		if (i)
			strcat(out, "|");
		strcat(out, w[i]);
	}
	if (w[n] != NULL)
		strcpy(out, "array not NULL-terminated");
	cfg_words_free(w);
	return out;
}

static void test_words(void)
{
	T_EQ_STR(lex(""), "", "empty line");
	T_EQ_STR(lex("   \t  "), "", "blank line");
	T_EQ_STR(lex("# comment"), "", "comment line");
	T_EQ_STR(lex("  bind :80  # the port"), "bind|:80", "trailing comment");
	T_EQ_STR(lex("a#b c"), "a", "# inside a word starts a comment");
	T_EQ_STR(lex("timeout\tclient  5s\r\n"), "timeout|client|5s", "tabs and CRLF");
	T_EQ_STR(lex("'a b' c"), "a b|c", "single quotes");
	T_EQ_STR(lex("\"a b\" c"), "a b|c", "double quotes");
	T_EQ_STR(lex("a'b c'd"), "ab cd", "quotes inside a word");
	T_EQ_STR(lex("a\"b c\"d"), "ab cd", "double quotes inside a word");
	T_EQ_STR(lex("x \"\" y"), "x||y", "empty quoted word is kept");
	T_EQ_STR(lex("x ''"), "x|", "empty single-quoted word is kept");
	T_EQ_STR(lex("'a#b' \"c#d\""), "a#b|c#d", "# protected by quotes");
	T_EQ_STR(lex("'a\\tb $X'"), "a\\tb $X", "single quotes: nothing expanded");
	T_EQ_STR(lex("'it\"s'"), "it\"s", "double quote inside single quotes");
	T_EQ_STR(lex("\"it's\""), "it's", "single quote inside double quotes");
}

static void test_escapes(void)
{
	T_EQ_STR(lex("a\\ b"), "a b", "\\<space>");
	T_EQ_STR(lex("a\\#b"), "a#b", "\\#");
	T_EQ_STR(lex("a\\\\b"), "a\\b", "\\\\");
	T_EQ_STR(lex("a\\\"b"), "a\"b", "\\\"");
	T_EQ_STR(lex("a\\'b"), "a'b", "\\'");
	T_EQ_STR(lex("a\\tb"), "a\tb", "\\t");
	T_EQ_STR(lex("a\\nb"), "a\nb", "\\n");
	T_EQ_STR(lex("a\\rb"), "a\rb", "\\r");
	T_EQ_STR(lex("a\\x41b\\x7a"), "aAbz", "\\xHH");
	T_EQ_STR(lex("\"q\\\"x\\'y\\#z\\ w\""), "q\"x'y#z w", "escapes inside double quotes");
	T_EQ_STR(lex("\"a\\$b\""), "a$b", "\\$ inside double quotes");
	T_EQ_STR(lex("^/foo\\.bar\\d"), "^/foo\\.bar\\d", "unknown escapes kept (regexes)");
	T_EQ_STR(lex("a\\"), "a\\", "trailing backslash kept");
	T_OK(!strncmp(lex("a\\xZZ"), "ERR: truncated or invalid hexadecimal sequence at column 2",
		      58),
	     "bad \\x: %s", lex("a\\xZZ"));
	T_OK(!strncmp(lex("ab\\x4"), "ERR: truncated or invalid hexadecimal", 37),
	     "truncated \\x: %s", lex("ab\\x4"));
	T_OK(strstr(lex("a\\x00"), "NUL") != NULL, "\\x00 refused: %s", lex("a\\x00"));
}

static void test_env(void)
{
	setenv("XLB_T_X", "a b", 1);
	setenv("XLB_T_EMPTY", "", 1);
	setenv("XLB_T_FD", "7", 1);
	unsetenv("XLB_T_UNSET");

	T_EQ_STR(lex("\"${XLB_T_X}\""), "a b", "\"${VAR}\" is one word");
	T_EQ_STR(lex("\"$XLB_T_X\""), "a b", "\"$VAR\"");
	T_EQ_STR(lex("\"x${XLB_T_X}y\""), "xa by", "expansion inside a word");
	T_EQ_STR(lex("\"${XLB_T_X}\"suffix"), "a bsuffix", "quoted expansion then text");
	T_EQ_STR(lex("${XLB_T_X}"), "a|b", "unquoted ${VAR} is split into words");
	T_EQ_STR(lex("p${XLB_T_X}q"), "pa|bq", "unquoted split joins the edges");
	T_EQ_STR(lex("\"${XLB_T_X[*]}\""), "a|b", "\"${VAR[*]}\" is split");
	T_EQ_STR(lex("fd@${XLB_T_FD}"), "fd@7", "fd@${VAR}");
	T_EQ_STR(lex("$XLB_T_X"), "$XLB_T_X", "unquoted $VAR without braces stays literal");
	T_EQ_STR(lex("\"${XLB_T_UNSET}\""), "", "unset variable in quotes: empty word");
	T_EQ_STR(lex("a ${XLB_T_UNSET} b"), "a|b", "unset unquoted variable: no word");
	T_EQ_STR(lex("a ${XLB_T_EMPTY} b"), "a|b", "empty unquoted variable: no word");
	T_EQ_STR(lex("\"${XLB_T_UNSET-def val}\""), "def val", "default value");
	T_EQ_STR(lex("${XLB_T_UNSET-def}"), "def", "unquoted default value");
	T_EQ_STR(lex("\"${XLB_T_X-def}\""), "a b", "default unused when set");
	T_EQ_STR(lex("\"${XLB_T_EMPTY-def}\""), "", "default unused when empty");
	T_EQ_STR(lex("\"x${XLB_T_UNSET-}y\""), "xy", "empty default");
	T_EQ_STR(lex("'${XLB_T_X}'"), "${XLB_T_X}", "no expansion in single quotes");
	T_EQ_STR(lex("\\${XLB_T_X}"), "${XLB_T_X}", "escaped $ is literal");
	T_OK(strstr(lex("\"${XLB_T_X\""), "unmatched brace") != NULL, "unmatched brace: %s",
	     lex("\"${XLB_T_X\""));
	T_OK(strstr(lex("\"${}\""), "forbidden first character") != NULL, "empty name: %s",
	     lex("\"${}\""));
	T_OK(strstr(lex("\"a$\""), "forbidden first character") != NULL, "lone $: %s",
	     lex("\"a$\""));
	T_OK(strstr(lex("\"${1X}\""), "column 4") != NULL, "digit first, with column: %s",
	     lex("\"${1X}\""));
	T_OK(strstr(lex("\"${X:-def}\""), "unknown ${} syntax") != NULL, "shell :- syntax: %s",
	     lex("\"${X:-def}\""));
	T_OK(strstr(lex("${XLB_T_X"), "unmatched brace") != NULL, "unquoted unmatched brace");
}

static void test_errors(void)
{
	T_EQ_STR(lex(".notice \"abc"), "ERR: unmatched quote (\") at column 9", "unmatched \"");
	T_EQ_STR(lex("a 'bc"), "ERR: unmatched quote (') at column 3", "unmatched '");
	T_OK(strstr(lex("\"a\\\""), "unmatched quote") != NULL, "escaped closing quote");
}

static int eval(const char *expr)
{
	char *err = NULL;
	int v = cfg_cond_eval(expr, &err);

	if (v < 0) {
		printf("#   %s -> %s\n", expr, err ? err : "?");
		free(err);
	}
	return v;
}

static void test_cond_eval(void)
{
	char *err = NULL;

	setenv("XLB_T_X", "a b", 1);
	unsetenv("XLB_T_UNSET");
	T_EQ_INT(eval(""), 0, "empty is false");
	T_EQ_INT(eval("1"), 1, "1");
	T_EQ_INT(eval("0"), 0, "0");
	T_EQ_INT(eval("2"), 1, "non-zero");
	T_EQ_INT(eval("defined(XLB_T_X)"), 1, "defined");
	T_EQ_INT(eval("defined(XLB_T_UNSET)"), 0, "not defined");
	T_EQ_INT(eval("!defined(XLB_T_UNSET)"), 1, "negation");
	T_EQ_INT(eval("!!1"), 1, "double negation");
	T_EQ_INT(eval("feature(OPENSSL)"), 1, "feature OPENSSL");
	T_EQ_INT(eval("feature(LIBBPF)"), 1, "feature LIBBPF");
	T_EQ_INT(eval("feature(XDP)"), 1, "feature XDP");
	T_EQ_INT(eval("feature(LUA)"), 0, "no feature LUA");
	T_EQ_INT(eval("feature(OPEN)"), 0, "feature needs the whole name");
	T_EQ_INT(eval("version_atleast(2.4)"), 1, "version_atleast 2.4");
	T_EQ_INT(eval("version_atleast(2.6)"), 1, "version_atleast 2.6");
	T_EQ_INT(eval("version_atleast(2.6.1)"), 0, "not version_atleast 2.6.1");
	T_EQ_INT(eval("version_atleast(3.0)"), 0, "not version_atleast 3.0");
	T_EQ_INT(eval("version_before(2.7)"), 1, "version_before 2.7");
	T_EQ_INT(eval("version_before(2.6)"), 0, "not version_before 2.6");
	T_EQ_INT(eval("version_before(2.6-dev1)"), 0, "dev suffix ignored");
	T_EQ_INT(eval("streq(a,a)"), 1, "streq");
	T_EQ_INT(eval("streq(a b,a b)"), 1, "streq with spaces");
	T_EQ_INT(eval("streq(a,b)"), 0, "streq false");
	T_EQ_INT(eval("strneq(a,b)"), 1, "strneq");
	T_EQ_INT(eval("strneq(a,a)"), 0, "strneq false");
	T_EQ_INT(eval("streq(,)"), 1, "streq of two empty strings");
	T_EQ_INT(eval("defined(XLB_T_X) && defined(XLB_T_UNSET)"), 0, "&&");
	T_EQ_INT(eval("defined(XLB_T_UNSET) || defined(XLB_T_X)"), 1, "||");
	T_EQ_INT(eval("(defined(XLB_T_UNSET) || 1) && !defined(XLB_T_UNSET)"), 1, "parentheses");
	T_EQ_INT(eval("0 || 0 && 1"), 0, "&& binds tighter than ||");
	T_EQ_INT(eval("1 || 0 && 0"), 1, "&& binds tighter than || (2)");

	T_EQ_INT(cfg_cond_eval("foo(a)", &err), -1, "unknown predicate");
	T_OK(err && strstr(err, "unknown predicate 'foo'"), "message: %s", err);
	free(err);
	err = NULL;
	T_EQ_INT(cfg_cond_eval("streq(a)", &err), -1, "wrong argument count");
	T_OK(err && strstr(err, "expects 2 arguments, got 1"), "message: %s", err);
	free(err);
	err = NULL;
	T_EQ_INT(cfg_cond_eval("defined(X) junk", &err), -1, "trailing junk");
	T_OK(err && strstr(err, "unexpected 'junk'"), "message: %s", err);
	free(err);
	err = NULL;
	T_EQ_INT(cfg_cond_eval("(1", &err), -1, "missing )");
	free(err);
	err = NULL;
	T_EQ_INT(cfg_cond_eval("defined(X", &err), -1, "missing ) after args");
	free(err);
	err = NULL;
	T_EQ_INT(cfg_cond_eval("a", &err), -1, "bare word");
	free(err);
	err = NULL;
	T_EQ_INT(cfg_cond_eval("1 &&", &err), -1, "dangling &&");
	free(err);
	err = NULL;
	T_EQ_INT(cfg_cond_eval("version_atleast(abc)", &err), -1, "bad version");
	free(err);
	err = NULL;
	{
		char deep[400];

		memset(deep, '(', 200);
		strcpy(deep + 200, "1");
		T_EQ_INT(cfg_cond_eval(deep, &err), -1, "nesting is bounded");
		free(err);
		err = NULL;
	}
}

/* Feed lines to the block tracker; returns the processed lines joined with ','. */
static char *blocks(const char *const *lines, char *errs, size_t errlen)
{
	static char out[1024];
	struct cfg_cond c = { 0 };
	char **w, *err = NULL;
	int i, n, r;

	out[0] = '\0';
	errs[0] = '\0';
	for (i = 0; lines[i]; i++) {
		n = cfg_lex_line(lines[i], &w, &err);
		if (n < 0) {
			snprintf(errs + strlen(errs), errlen - strlen(errs), "%d:%s;", i + 1, err);
			free(err);
			err = NULL;
			continue;
		}
		r = cfg_cond_line(&c, w, n, i + 1, &err);
		if (r < 0) {
			snprintf(errs + strlen(errs), errlen - strlen(errs), "%d:%s;", i + 1, err);
			free(err);
			err = NULL;
		} else if (r == 0 && n) {
			if (out[0])
				strcat(out, ",");
			strcat(out, w[0]);
		}
		cfg_words_free(w);
	}
	if (cfg_cond_finish(&c, &err) < 0) {
		snprintf(errs + strlen(errs), errlen - strlen(errs), "eof:%s;", err);
		free(err);
	}
	return out;
}

static void test_blocks(void)
{
	char errs[1024];

	setenv("XLB_T_X", "1", 1);
	unsetenv("XLB_T_UNSET");
	{
		const char *l[] = {
			".if defined(XLB_T_X)", "yes", ".else", "no", ".endif", "after", NULL
		};

		T_EQ_STR(blocks(l, errs, sizeof(errs)), "yes,after", ".if true");
		T_EQ_STR(errs, "", "no error");
	}
	{
		const char *l[] = {
			".if defined(XLB_T_UNSET)", "yes", ".else", "no", ".endif", NULL
		};

		T_EQ_STR(blocks(l, errs, sizeof(errs)), "no", ".if false -> .else");
	}
	{
		const char *l[] = { ".if 0",   "a", ".elif 0", "b", ".elif 1", "c",
				    ".elif 1", "d", ".else",   "e", ".endif",  NULL };

		T_EQ_STR(blocks(l, errs, sizeof(errs)), "c", ".elif chain takes the first true");
	}
	{
		const char *l[] = { ".if 0",  ".if 1",	"inner",  ".endif", "still",
				    ".else",  ".if 1",	"nested", ".else",  "not",
				    ".endif", ".endif", "out",	  NULL };

		T_EQ_STR(blocks(l, errs, sizeof(errs)), "nested,out", "nested blocks");
		T_EQ_STR(errs, "", "nested: no error");
	}
	{
		const char *l[] = { ".if 0", ".if foo(bar)", "x", ".endif", ".endif", "y", NULL };

		T_EQ_STR(blocks(l, errs, sizeof(errs)), "y",
			 "conditions inside a skipped block are not evaluated");
		T_EQ_STR(errs, "", "skipped: no error");
	}
	{
		const char *l[] = { ".if 0", "bind \"abc", ".endif", NULL };

		blocks(l, errs, sizeof(errs));
		T_OK(strstr(errs, "2:unmatched quote") != NULL,
		     "lexing errors are reported in skipped blocks too (%s)", errs);
	}
	{
		const char *l[] = { ".else", NULL };

		blocks(l, errs, sizeof(errs));
		T_EQ_STR(errs, "1:lone '.else' with no matching '.if';", "lone .else");
	}
	{
		const char *l[] = { "a", ".endif", NULL };

		blocks(l, errs, sizeof(errs));
		T_EQ_STR(errs, "2:lone '.endif' with no matching '.if';", "lone .endif");
	}
	{
		const char *l[] = { ".elif 1", NULL };

		blocks(l, errs, sizeof(errs));
		T_EQ_STR(errs, "1:lone '.elif' with no matching '.if';", "lone .elif");
	}
	{
		const char *l[] = { ".if 1", ".else", ".else", ".endif", NULL };

		blocks(l, errs, sizeof(errs));
		T_EQ_STR(errs, "3:'.else' after '.else' is not permitted;", ".else twice");
	}
	{
		const char *l[] = { ".if 1", ".else", ".elif 1", ".endif", NULL };

		blocks(l, errs, sizeof(errs));
		T_EQ_STR(errs, "3:'.elif' after '.else' is not permitted;", ".elif after .else");
	}
	{
		const char *l[] = { "x", ".if 1", "y", NULL };

		blocks(l, errs, sizeof(errs));
		T_EQ_STR(errs, "eof:non-terminated '.if' block (opened at line 2);",
			 "unterminated .if");
	}
	{
		const char *l[] = { ".if 1", ".endif junk", NULL };

		blocks(l, errs, sizeof(errs));
		T_EQ_STR(errs, "2:'.endif' takes no argument, got 'junk';", ".endif with argument");
	}
	{
		const char *l[] = { ".if bogus(1)", "a", ".else", "b", ".endif", NULL };

		T_EQ_STR(blocks(l, errs, sizeof(errs)), "", "bad condition skips the whole block");
		T_OK(strstr(errs, "1:'.if': unknown predicate") != NULL,
		     "bad condition reported: %s", errs);
	}
	{
		const char *l[] = { ".if", "a", ".else", "b", ".endif", NULL };

		T_EQ_STR(blocks(l, errs, sizeof(errs)), "b", "empty .if is false");
	}
	{
		static char lines[70][8];
		const char *l[72];
		int i;

		for (i = 0; i < 70; i++) {
			strcpy(lines[i], ".if 1");
			l[i] = lines[i];
		}
		l[70] = NULL;
		blocks(l, errs, sizeof(errs));
		T_OK(strstr(errs, "too many nested") != NULL, "nesting depth bounded");
	}
}

/* The same through the parser: messages carry file:line. */
static void test_through_parser(void)
{
	char *err = NULL;
	struct model *m;

	m = cfg_load_string("lex.cfg", "global\n  maxconn 10\n  user \"abc\n", &err);
	T_OK(!m, "unterminated quote fails the load");
	T_OK(err && strstr(err, "lex.cfg:3: unmatched quote (\") at column 8"), "file:line: %s",
	     err);
	free(err);
	err = NULL;

	m = cfg_load_string("lex.cfg", "global\n\n  node a\\x4g\n", &err);
	T_OK(!m && err && strstr(err, "lex.cfg:3: truncated or invalid hexadecimal"),
	     "bad escape with file:line: %s", err);
	free(err);
	err = NULL;

	m = cfg_load_string("lex.cfg", "global\n  node \"${XLB_T_X:-a}\"\n", &err);
	T_OK(!m && err && strstr(err, "lex.cfg:2: unknown ${} syntax"), "bad ${}: %s", err);
	free(err);
	err = NULL;

	m = cfg_load_string("lex.cfg", "global\n.if 1\n  maxconn 10\n", &err);
	T_OK(!m && err && strstr(err, "lex.cfg:3: non-terminated '.if' block (opened at line 2)"),
	     "unterminated .if: %s", err);
	free(err);
	err = NULL;

	setenv("XLB_T_MAXCONN", "1234", 1);
	m = cfg_load_string("lex.cfg",
			    "global\n"
			    ".if defined(XLB_T_MAXCONN)\n"
			    "  maxconn \"${XLB_T_MAXCONN}\"\n"
			    ".else\n"
			    "  this is not parsed\n"
			    ".endif\n",
			    &err);
	T_OK(m && m->global.maxconn == 1234, "env in a conditional block (%s)", err ? err : "ok");
	model_free(m);
	free(err);
	err = NULL;

	setenv("XLB_T_TIMEOUT", "client 7s", 1);
	m = cfg_load_string("lex.cfg", "defaults\n  timeout ${XLB_T_TIMEOUT}\n", &err);
	T_OK(m, "unquoted ${VAR} split into keyword arguments (%s)", err ? err : "ok");
	model_free(m);
	free(err);
	err = NULL;
}

int main(void)
{
	test_words();
	test_escapes();
	test_env();
	test_errors();
	test_cond_eval();
	test_blocks();
	test_through_parser();
	T_DONE();
}
