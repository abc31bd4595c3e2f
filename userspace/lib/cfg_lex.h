/* SPDX-License-Identifier: MIT */
/*
 * Config lexer: splits one line of HAProxy's configuration language into
 * words (quotes, escapes, comments, environment expansion) and tracks the
 * `.if`/`.elif`/`.else`/`.endif` conditional blocks. It knows nothing of
 * sections or keywords; cfg.c drives it line by line.
 */
#ifndef XLB_CFG_LEX_H
#define XLB_CFG_LEX_H

#include <stdbool.h>

/* Words per line: HAProxy allows 64, we allow more but keep a bound. */
#define CFG_LEX_MAX_WORDS 256
/* Nesting depth of `.if` blocks. */
#define CFG_COND_MAX_DEPTH 64

/*
 * Split a line into words. On success returns the number of words and sets
 * *words to a NULL-terminated array (free it with cfg_words_free(); an empty
 * or comment-only line gives 0 words and a non-NULL empty array). On error
 * returns -1 with *err set to a malloc'd message that names the column, e.g.
 * "unmatched quote at column 9" (the caller prefixes "file:line: ").
 *
 * Rules, as HAProxy: blanks separate words; `#` outside quotes starts a
 * comment; '...' protects everything; "..." expands `$VAR`, `${VAR}`,
 * `${VAR-default}` and `${VAR[*]}` (the last split into words); outside
 * quotes only `${...}` expands and its value is split into words at blanks;
 * a backslash escapes ` `, `#`, `\`, `'`, `"` and `$`, and `\t`, `\n`, `\r`,
 * `\xHH` give those bytes; any other backslash is kept as written (regexes).
 */
int cfg_lex_line(const char *line, char ***words, char **err);
void cfg_words_free(char **words);

/* State of the `.if` blocks of one file. Zero it to start. */
struct cfg_cond {
	int depth;
	struct {
		unsigned char state; /* enum in cfg_lex.c */
		bool seen_else;
		int line; /* where the `.if` was, for "non-terminated" */
	} lvl[CFG_COND_MAX_DEPTH];
};

/*
 * Feed a lexed line to the conditional blocks. Returns 1 when the line was
 * consumed (a `.if`/`.elif`/`.else`/`.endif` directive, or a line inside a
 * block whose condition is false), 0 when the caller must process it, -1
 * with *err set on a malformed directive (the line counts as consumed).
 */
int cfg_cond_line(struct cfg_cond *c, char **words, int nwords, int line, char **err);
/* End of file: -1 with *err when a `.if` is still open; resets the state. */
int cfg_cond_finish(struct cfg_cond *c, char **err);

/*
 * Evaluate a conditional expression: `defined(VAR)`, `feature(NAME)`,
 * `streq(a,b)`, `strneq(a,b)`, `version_atleast(X)`, `version_before(X)`,
 * integers (non-zero is true), `!`, `&&`, `||` and parentheses. An empty
 * expression is false. Returns 1 or 0, -1 with *err on a syntax error.
 */
int cfg_cond_eval(const char *expr, char **err);

/* The names `feature()` knows, space separated, for `lbd -vv` and docs. */
extern const char cfg_features[];

#endif
