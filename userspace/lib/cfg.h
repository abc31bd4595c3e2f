/* SPDX-License-Identifier: MIT */
/*
 * Config parser: HAProxy's language. The core (cfg.c) reads files, lexes
 * lines (cfg_lex.c), tracks sections and dispatches each line to the keyword
 * that registered for it. Subsystems register their keywords next to the code
 * they configure, with CFG_REGISTER().
 */
#ifndef XLB_CFG_H
#define XLB_CFG_H

#include <stdbool.h>
#include <stdint.h>

#include "model.h"

/* Sections a keyword is valid in (mask). */
#define CFG_SEC_GLOBAL 0x01
#define CFG_SEC_DEFAULTS 0x02
#define CFG_SEC_FRONTEND 0x04
#define CFG_SEC_BACKEND 0x08
#define CFG_SEC_LISTEN 0x10
#define CFG_SEC_PROXY (CFG_SEC_DEFAULTS | CFG_SEC_FRONTEND | CFG_SEC_BACKEND | CFG_SEC_LISTEN)
#define CFG_SEC_FE (CFG_SEC_DEFAULTS | CFG_SEC_FRONTEND | CFG_SEC_LISTEN)
#define CFG_SEC_BE (CFG_SEC_DEFAULTS | CFG_SEC_BACKEND | CFG_SEC_LISTEN)

struct cfg_ctx {
	struct model *m;
	unsigned section; /* CFG_SEC_* of the current section, 0 before any */
	struct proxy *px; /* current proxy (defaults, frontend, backend, listen) */
	struct proxy *defproxy; /* the last defaults section: what new proxies inherit */
	const char *file; /* interned */
	int line;
	bool no; /* the line started with "no" (`no option X`, `no log`) */
};

/*
 * A keyword handler gets the words of the line (args[0] is the keyword) and
 * returns 0, or -1 with *err set to a malloc'd message without the
 * "file:line: " prefix, which the core adds. Example:
 *   "'timeout connect': expected a time such as 5s, got 'abc'"
 */
typedef int (*cfg_kw_fn)(struct cfg_ctx *ctx, char **args, int nargs, char **err);

struct cfg_kw {
	unsigned sections;
	const char *kw; /* first word; "option" keywords use "option NAME" */
	cfg_kw_fn parse;
};

struct cfg_kw_list {
	struct cfg_kw_list *next;
	const struct cfg_kw *kws; /* terminated by an entry with kw == NULL */
};

void cfg_register(struct cfg_kw_list *list);

/* Register a keyword table from any file: CFG_REGISTER(my_kws); */
#define CFG_REGISTER(table)                                             \
	static struct cfg_kw_list table##_list = { .kws = table };      \
	static void __attribute__((constructor)) table##_register(void) \
	{                                                               \
		cfg_register(&table##_list);                            \
	}

/*
 * Parse files into a new model and finalise it (resolve backends, validate
 * references, build pools). Returns NULL with *err set to a malloc'd
 * "file:line: message" (several errors separated by newlines).
 */
struct model *cfg_load(char *const *files, int nfiles, char **err);

/* Parse a string as if it were a file named `name` (tests). */
struct model *cfg_load_string(const char *name, const char *text, char **err);

/* Helpers for keyword parsers. */
/* "5s", "100ms", "2m", "1h", "1d", "500us", "42" (ms) -> ms; -1 on error */
int cfg_parse_time(const char *s, uint32_t *ms);
/* "16k", "1m", "42" -> bytes; -1 on error */
int cfg_parse_size(const char *s, uint64_t *out);
/* "10.0.0.1:80", "[::1]:80", "host:port", "unix@/path" -> sockaddr; default_port used when no port */
int cfg_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len, int default_port,
		   char **err);
/* A proxy or server name HAProxy accepts: letters, digits, '-', '_', '.', ':'. */
bool cfg_valid_name(const char *s);
/* Format the err message (asprintf). Always returns -1. */
int cfg_err(char **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Report a warning for the current line ("file:line: " is prepended). */
void cfg_warn(struct cfg_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * Check that args[first..nargs) holds between min and max words (max < 0: no
 * limit). Errors read "'KW': expected WHAT, got nothing" or "'KW': expected
 * WHAT, got extra argument 'X'". Returns 0 or -1.
 */
int cfg_nargs(const char *kw, char **args, int nargs, int first, int min, int max, const char *what,
	      char **err);
/* Decimal integer within [min, max]; -1 when not a number or out of range. */
int cfg_parse_int(const char *s, long long min, long long max, long long *out);
/* Words joined with single spaces (malloc'd), NULL on ENOMEM. */
char *cfg_join(char *const *args, int nargs);
/* A NULL-terminated malloc'd copy of n words (free with cfg_words_free()); NULL on ENOMEM. */
char **cfg_dup_words(char *const *args, int nargs);
/* True when s is one of the words of the NULL-terminated list. */
bool cfg_in_list(const char *const *list, const char *s);
/* Replace *dst by a copy of s; "'KW': out of memory" in *err on ENOMEM. */
int cfg_store(char **dst, const char *s, const char *kw, char **err);
/*
 * Split "words... [if|unless COND...]": *nbefore gets the number of words
 * before `if`/`unless`, *cond the condition (NULL when there is none).
 * -1 with *err on `if` without a condition or ENOMEM.
 */
int cfg_split_cond(const char *kw, char **args, int nargs, int *nbefore, struct cond **cond,
		   char **err);
/*
 * `log global` | `log TARGET [len N] [format F] FACILITY [LEVEL [MINLEVEL]]`
 * (args[0] is "log"). Appends to `logs`; `log global` sets *log_global
 * (proxies only: log_global NULL refuses it).
 */
int cfg_parse_log(char **args, int nargs, struct list_head *logs, bool *log_global, char **err);
/* "global", "defaults", "frontend", "backend", "listen" */
const char *cfg_section_name(unsigned section);

/* Messages other than errors: `.notice`, `.warning`, `.diag` and parser warnings. */
enum cfg_msg_level {
	CFG_MSG_DIAG = 0, /* only shown in diagnostic mode */
	CFG_MSG_NOTICE,
	CFG_MSG_WARNING,
};
/* msg is "file:line: text". The default handler prints notices and warnings to stderr. */
typedef void (*cfg_msg_fn)(enum cfg_msg_level level, const char *msg, void *arg);
void cfg_set_msg_handler(cfg_msg_fn fn, void *arg);

#endif
