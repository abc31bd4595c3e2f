// SPDX-License-Identifier: MIT
/*
 * Config lexer: words of a line, and the `.if` blocks. See cfg_lex.h for the
 * rules. Every error names the column so that a user finds the culprit in a
 * long line; cfg.c adds the file and line.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "cfg_lex.h"
#include "version.h"

/* Build features `.if feature(NAME)` reports as present (see doc/config.md). */
const char cfg_features[] = "OPENSSL LIBBPF XDP LIBEV THREAD EPOLL LINUX_SPLICE";

/* Lexer errors use the parser's message helper. */
#define lex_err cfg_err

/* ---- Words of a line ---- */

struct lex {
	char *cur; /* the word being built */
	size_t len, cap; /* of cur */
	bool started; /* a word is open (even an empty one: "") */
	char **words; /* finished words, NULL-terminated */
	int n, wcap;
};

static int lex_putc(struct lex *lx, char c)
{
	if (lx->len + 1 >= lx->cap) {
		size_t ncap = lx->cap ? lx->cap * 2 : 64;
		char *p = realloc(lx->cur, ncap);

		if (!p)
			return -1;
		lx->cur = p;
		lx->cap = ncap;
	}
	lx->cur[lx->len++] = c;
	lx->cur[lx->len] = '\0';
	lx->started = true;
	return 0;
}

/* Close the open word, if any. */
static int lex_end_word(struct lex *lx, char **err)
{
	char *w;

	if (!lx->started)
		return 0;
	if (lx->n >= CFG_LEX_MAX_WORDS)
		return lex_err(err, "too many words on one line (at most %d)", CFG_LEX_MAX_WORDS);
	if (lx->n + 2 > lx->wcap) {
		int ncap = lx->wcap ? lx->wcap * 2 : 16;
		char **p = realloc(lx->words, ncap * sizeof(*p));

		if (!p)
			goto nomem;
		lx->words = p;
		lx->wcap = ncap;
	}
	w = strndup(lx->cur ? lx->cur : "", lx->len);
	if (!w)
		goto nomem;
	lx->words[lx->n++] = w;
	lx->words[lx->n] = NULL;
	lx->len = 0;
	if (lx->cur)
		lx->cur[0] = '\0';
	lx->started = false;
	return 0;
nomem:
	return lex_err(err, "out of memory");
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int is_name_first(char c)
{
	return isalpha((unsigned char)c) || c == '_';
}

static int is_name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* Append an expanded value; when `split`, blanks in it separate words. */
static int lex_put_value(struct lex *lx, const char *v, bool split, char **err)
{
	for (; *v; v++) {
		if (split && is_blank(*v)) {
			if (lex_end_word(lx, err) < 0)
				return -1;
			continue;
		}
		if (lex_putc(lx, *v) < 0)
			return lex_err(err, "out of memory");
	}
	return 0;
}

/*
 * Expand the variable at p (on the '$'). Returns the number of characters
 * consumed, or -1 with *err set.
 */
static int lex_env(struct lex *lx, const char *line, const char *p, bool quoted, char **err)
{
	const char *q = p + 1, *name, *close, *def = NULL;
	size_t nlen, dlen = 0;
	bool brace = false, star = false;
	const char *val;
	char *vname;
	int ret;

	if (*q == '{') {
		brace = true;
		q++;
	}
	name = q;
	if (!is_name_first(*q))
		return lex_err(
			err, "forbidden first character in environment variable name at column %d",
			(int)(q - line) + 1);
	while (is_name_char(*q))
		q++;
	nlen = q - name;
	if (brace) {
		close = strchr(q, '}');
		if (!close)
			return lex_err(err,
				       "unmatched brace in environment variable name at column %d",
				       (int)(p - line) + 1);
		if (*q == '-') {
			def = q + 1;
			dlen = close - def;
		} else if (!strncmp(q, "[*]}", 4)) {
			star = true;
		} else if (*q != '}') {
			return lex_err(
				err,
				"unknown ${} syntax at column %d: expected '}', '-default}' or '[*]}' after the variable name, got '%c'",
				(int)(q - line) + 1, *q);
		}
		q = close + 1;
	}
	vname = strndup(name, nlen);
	if (!vname)
		return lex_err(err, "out of memory");
	val = getenv(vname);
	free(vname);
	if (!val && def) {
		char *d = strndup(def, dlen);

		if (!d)
			return lex_err(err, "out of memory");
		ret = lex_put_value(lx, d, !quoted || star, err);
		free(d);
	} else {
		ret = lex_put_value(lx, val ? val : "", !quoted || star, err);
	}
	if (ret < 0)
		return -1;
	return (int)(q - p);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Backslash at p (not in single quotes). Returns characters consumed or -1. */
static int lex_escape(struct lex *lx, const char *line, const char *p, char **err)
{
	char n = p[1], c;
	int hi, lo;

	switch (n) {
	case '\0':
		/* A trailing backslash is kept: there are no continuation lines. */
		c = '\\';
		if (lex_putc(lx, c) < 0)
			goto nomem;
		return 1;
	case ' ':
	case '#':
	case '\\':
	case '\'':
	case '"':
	case '$':
		c = n;
		break;
	case 't':
		c = '\t';
		break;
	case 'n':
		c = '\n';
		break;
	case 'r':
		c = '\r';
		break;
	case 'x':
		hi = hexval(p[2]);
		lo = hi < 0 ? -1 : hexval(p[3]);
		if (hi < 0 || lo < 0)
			return lex_err(
				err,
				"truncated or invalid hexadecimal sequence at column %d: expected '\\xHH'",
				(int)(p - line) + 1);
		if (!hi && !lo)
			return lex_err(err, "'\\x00' (a NUL byte) is not allowed at column %d",
				       (int)(p - line) + 1);
		if (lex_putc(lx, (char)(hi << 4 | lo)) < 0)
			goto nomem;
		return 4;
	default:
		/* Kept as written: `\.`, `\d` and friends belong to regexes. */
		if (lex_putc(lx, '\\') < 0 || lex_putc(lx, n) < 0)
			goto nomem;
		return 2;
	}
	if (lex_putc(lx, c) < 0)
		goto nomem;
	return 2;
nomem:
	return lex_err(err, "out of memory");
}

void cfg_words_free(char **words)
{
	char **w;

	if (!words)
		return;
	for (w = words; *w; w++)
		free(*w);
	free(words);
}

int cfg_lex_line(const char *line, char ***words, char **err)
{
	struct lex lx = { 0 };
	const char *p = line;
	char quote = 0;
	int quote_col = 0, n;

	*words = NULL;
	while (*p) {
		char c = *p;

		if (quote == '\'') {
			if (c == '\'')
				quote = 0;
			else if (lex_putc(&lx, c) < 0)
				goto nomem;
			p++;
			continue;
		}
		if (c == '\\') {
			n = lex_escape(&lx, line, p, err);
			if (n < 0)
				goto fail;
			p += n;
			continue;
		}
		if (quote == '"') {
			if (c == '"') {
				quote = 0;
			} else if (c == '$') {
				n = lex_env(&lx, line, p, true, err);
				if (n < 0)
					goto fail;
				p += n;
				continue;
			} else if (lex_putc(&lx, c) < 0) {
				goto nomem;
			}
			p++;
			continue;
		}
		if (is_blank(c)) {
			if (lex_end_word(&lx, err) < 0)
				goto fail;
		} else if (c == '#') {
			break;
		} else if (c == '\'' || c == '"') {
			quote = c;
			quote_col = (int)(p - line) + 1;
			lx.started = true;
		} else if (c == '$' && p[1] == '{') {
			n = lex_env(&lx, line, p, false, err);
			if (n < 0)
				goto fail;
			p += n;
			continue;
		} else if (lex_putc(&lx, c) < 0) {
			goto nomem;
		}
		p++;
	}
	if (quote) {
		lex_err(err, "unmatched quote (%c) at column %d", quote, quote_col);
		goto fail;
	}
	if (lex_end_word(&lx, err) < 0)
		goto fail;
	if (!lx.words) {
		lx.words = calloc(1, sizeof(*lx.words));
		if (!lx.words)
			goto nomem;
	}
	free(lx.cur);
	*words = lx.words;
	return lx.n;
nomem:
	lex_err(err, "out of memory");
fail:
	free(lx.cur);
	if (lx.words) {
		lx.words[lx.n] = NULL;
		cfg_words_free(lx.words);
	}
	return -1;
}

/* ---- Conditional expressions ---- */

struct ev {
	const char *s; /* whole expression, for columns */
	const char *p;
	char **err;
	int depth; /* parentheses and '!' nesting, bounded */
};

#define EV_MAX_DEPTH 64

static void ev_ws(struct ev *e)
{
	while (*e->p == ' ' || *e->p == '\t')
		e->p++;
}

static int ev_col(const struct ev *e)
{
	return (int)(e->p - e->s) + 1;
}

/* "2.6.12", "2.4", "2.6-dev3" -> up to 4 numbers; -1 when not a version. */
static int parse_version(const char *s, long v[4])
{
	int i = 0;

	memset(v, 0, 4 * sizeof(*v));
	while (*s == ' ')
		s++;
	if (!isdigit((unsigned char)*s))
		return -1;
	while (i < 4 && isdigit((unsigned char)*s)) {
		char *end;

		errno = 0;
		v[i++] = strtol(s, &end, 10);
		if (errno)
			return -1;
		s = end;
		if (*s != '.')
			break;
		s++;
	}
	return 0;
}

static int vers_cmp(const long a[4], const long b[4])
{
	int i;

	for (i = 0; i < 4; i++) {
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	}
	return 0;
}

static bool has_feature(const char *name)
{
	size_t len = strlen(name);
	const char *p = cfg_features;

	if (!len)
		return false;
	while ((p = strstr(p, name))) {
		bool start = p == cfg_features || p[-1] == ' ';
		bool end = p[len] == '\0' || p[len] == ' ';

		if (start && end)
			return true;
		p += len;
	}
	return false;
}

#define EV_MAX_ARGS 4

static void trim(char *s)
{
	size_t len;
	char *b = s;

	while (*b == ' ' || *b == '\t')
		b++;
	if (b != s)
		memmove(s, b, strlen(b) + 1);
	len = strlen(s);
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		s[--len] = '\0';
}

static int ev_pred(struct ev *e, const char *name, char **args, int nargs, const char *at)
{
	static const struct {
		const char *name;
		int nargs;
	} preds[] = {
		{ "defined", 1 }, { "feature", 1 },	    { "streq", 2 },
		{ "strneq", 2 },  { "version_atleast", 1 }, { "version_before", 1 },
	};
	long want[4], have[4];
	size_t i;

	for (i = 0; i < sizeof(preds) / sizeof(preds[0]); i++) {
		if (!strcmp(preds[i].name, name))
			break;
	}
	if (i == sizeof(preds) / sizeof(preds[0]))
		return lex_err(
			e->err,
			"unknown predicate '%s' in conditional expression at column %d (known: defined, feature, streq, strneq, version_atleast, version_before)",
			name, (int)(at - e->s) + 1);
	if (nargs != preds[i].nargs)
		return lex_err(e->err, "predicate '%s' expects %d argument%s, got %d", name,
			       preds[i].nargs, preds[i].nargs > 1 ? "s" : "", nargs);
	if (!strcmp(name, "defined"))
		return getenv(args[0]) != NULL;
	if (!strcmp(name, "feature"))
		return has_feature(args[0]);
	if (!strcmp(name, "streq"))
		return strcmp(args[0], args[1]) == 0;
	if (!strcmp(name, "strneq"))
		return strcmp(args[0], args[1]) != 0;
	if (parse_version(args[0], want) < 0)
		return lex_err(e->err, "predicate '%s': expected a version such as 2.4, got '%s'",
			       name, args[0]);
	parse_version(XLB_HAPROXY_COMPAT, have);
	if (!strcmp(name, "version_atleast"))
		return vers_cmp(have, want) >= 0;
	return vers_cmp(have, want) < 0;
}

/* NAME(args) at e->p. */
static int ev_call(struct ev *e)
{
	const char *start = e->p, *q;
	char *name = NULL, *args[EV_MAX_ARGS] = { 0 };
	int nargs = 0, ret = -1, i;

	while (is_name_char(*e->p))
		e->p++;
	name = strndup(start, e->p - start);
	if (!name)
		return lex_err(e->err, "out of memory");
	ev_ws(e);
	if (*e->p != '(') {
		lex_err(e->err,
			"unparsable conditional expression at column %d: expected 'name(args)', got '%s'",
			(int)(start - e->s) + 1, start);
		goto out;
	}
	e->p++;
	q = strchr(e->p, ')');
	if (!q) {
		lex_err(e->err, "missing ')' after the arguments of '%s'", name);
		goto out;
	}
	/* Arguments: comma separated up to the ')'; "f()" has none. */
	while (e->p < q) {
		const char *c = memchr(e->p, ',', q - e->p);
		const char *end = c ? c : q;

		if (nargs == EV_MAX_ARGS) {
			lex_err(e->err, "too many arguments to '%s'", name);
			goto out;
		}
		args[nargs] = strndup(e->p, end - e->p);
		if (!args[nargs]) {
			lex_err(e->err, "out of memory");
			goto out;
		}
		trim(args[nargs++]);
		e->p = c ? c + 1 : q;
		if (c && c + 1 == q) {
			/* "f(a,)": an empty last argument */
			if (nargs == EV_MAX_ARGS) {
				lex_err(e->err, "too many arguments to '%s'", name);
				goto out;
			}
			args[nargs++] = strdup("");
			if (!args[nargs - 1]) {
				lex_err(e->err, "out of memory");
				goto out;
			}
		}
	}
	e->p = q + 1;
	ret = ev_pred(e, name, args, nargs, start);
out:
	for (i = 0; i < nargs; i++)
		free(args[i]);
	free(name);
	return ret;
}

static int ev_or(struct ev *e);

static int ev_unary(struct ev *e)
{
	int v;

	ev_ws(e);
	if (++e->depth > EV_MAX_DEPTH)
		return lex_err(e->err, "conditional expression nested too deeply");
	if (*e->p == '!') {
		e->p++;
		v = ev_unary(e);
		if (v >= 0)
			v = !v;
	} else if (*e->p == '(') {
		e->p++;
		v = ev_or(e);
		if (v >= 0) {
			ev_ws(e);
			if (*e->p != ')')
				v = lex_err(e->err,
					    "missing ')' in conditional expression at column %d",
					    ev_col(e));
			else
				e->p++;
		}
	} else if (isdigit((unsigned char)*e->p) || *e->p == '-') {
		char *end;
		long n;

		errno = 0;
		n = strtol(e->p, &end, 10);
		if (end == e->p || errno)
			return lex_err(e->err,
				       "unparsable conditional expression at column %d: '%s'",
				       ev_col(e), e->p);
		e->p = end;
		v = n != 0;
	} else if (is_name_first(*e->p)) {
		v = ev_call(e);
	} else if (!*e->p) {
		v = lex_err(e->err, "conditional expression ends early: expected a term");
	} else {
		v = lex_err(e->err, "unparsable conditional expression at column %d: '%s'",
			    ev_col(e), e->p);
	}
	e->depth--;
	return v;
}

static int ev_and(struct ev *e)
{
	int v = ev_unary(e), r;

	while (v >= 0) {
		ev_ws(e);
		if (strncmp(e->p, "&&", 2))
			break;
		e->p += 2;
		r = ev_unary(e);
		if (r < 0)
			return -1;
		v = v && r;
	}
	return v;
}

static int ev_or(struct ev *e)
{
	int v = ev_and(e), r;

	while (v >= 0) {
		ev_ws(e);
		if (strncmp(e->p, "||", 2))
			break;
		e->p += 2;
		r = ev_and(e);
		if (r < 0)
			return -1;
		v = v || r;
	}
	return v;
}

int cfg_cond_eval(const char *expr, char **err)
{
	struct ev e = { .s = expr, .p = expr, .err = err };
	int v;

	ev_ws(&e);
	if (!*e.p)
		return 0;
	v = ev_or(&e);
	if (v < 0)
		return -1;
	ev_ws(&e);
	if (*e.p)
		return lex_err(
			err,
			"unexpected '%s' at the end of conditional expression '%s' (column %d)",
			e.p, expr, ev_col(&e));
	return v;
}

/* ---- Conditional blocks ---- */

enum {
	C_ACTIVE, /* this branch is taken: lines are processed */
	C_WAIT, /* no branch taken yet: a later .elif/.else may be */
	C_DONE, /* a branch was taken: the rest is skipped */
	C_SKIP, /* the enclosing block is skipped: nothing here is evaluated */
};

static bool cond_active(const struct cfg_cond *c)
{
	return c->depth == 0 || c->lvl[c->depth - 1].state == C_ACTIVE;
}

/* Evaluate words[1..] for `.if`/`.elif`; err gets prefixed by the directive. */
static int cond_eval_words(char **words, int n, char **err)
{
	char *expr = cfg_join(words + 1, n - 1), *e2 = NULL;
	int v;

	if (!expr)
		return lex_err(err, "out of memory");
	v = cfg_cond_eval(expr, &e2);
	free(expr);
	if (v < 0) {
		lex_err(err, "'%s': %s", words[0], e2 ? e2 : "invalid condition");
		free(e2);
	}
	return v;
}

int cfg_cond_line(struct cfg_cond *c, char **words, int n, int line, char **err)
{
	const char *w = n ? words[0] : "";
	int v;

	if (!strcmp(w, ".if")) {
		if (c->depth == CFG_COND_MAX_DEPTH)
			return lex_err(err, "'.if': too many nested blocks (at most %d)",
				       CFG_COND_MAX_DEPTH);
		c->lvl[c->depth].seen_else = false;
		c->lvl[c->depth].line = line;
		if (!cond_active(c)) {
			c->lvl[c->depth++].state = C_SKIP;
			return 1;
		}
		v = cond_eval_words(words, n, err);
		c->lvl[c->depth++].state = v > 0 ? C_ACTIVE : v == 0 ? C_WAIT : C_DONE;
		return v < 0 ? -1 : 1;
	}
	if (!strcmp(w, ".elif") || !strcmp(w, ".else") || !strcmp(w, ".endif")) {
		bool is_else = !strcmp(w, ".else");
		unsigned char *st;

		if (!c->depth)
			return lex_err(err, "lone '%s' with no matching '.if'", w);
		if (!strcmp(w, ".endif")) {
			c->depth--;
			goto no_args;
		}
		st = &c->lvl[c->depth - 1].state;
		if (c->lvl[c->depth - 1].seen_else)
			return lex_err(err, "'%s' after '.else' is not permitted", w);
		if (is_else) {
			c->lvl[c->depth - 1].seen_else = true;
			if (*st == C_ACTIVE)
				*st = C_DONE;
			else if (*st == C_WAIT)
				*st = C_ACTIVE;
			goto no_args;
		}
		if (*st == C_ACTIVE) {
			*st = C_DONE;
		} else if (*st == C_WAIT) {
			v = cond_eval_words(words, n, err);
			if (v < 0) {
				*st = C_DONE;
				return -1;
			}
			if (v)
				*st = C_ACTIVE;
		}
		return 1;
no_args:
		if (n > 1)
			return lex_err(err, "'%s' takes no argument, got '%s'", w, words[1]);
		return 1;
	}
	return cond_active(c) ? 0 : 1;
}

int cfg_cond_finish(struct cfg_cond *c, char **err)
{
	int line;

	if (!c->depth)
		return 0;
	line = c->lvl[c->depth - 1].line;
	c->depth = 0;
	return lex_err(err, "non-terminated '.if' block (opened at line %d)", line);
}
