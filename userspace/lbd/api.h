/* SPDX-License-Identifier: MIT */
/*
 * The runtime API: HAProxy's stats socket protocol on every `stats socket`
 * of the global section (unix path, ipv4@/ipv6@ADDR:PORT, fd@N), served by
 * the control loop (lbd.loop). One line of commands per connection,
 * separated by `;`, or several with `prompt` (interactive mode); every
 * command's answer ends with an empty line. Levels: user < operator < admin.
 *
 * Commands live in tables of {words, level, usage, help, handler}. Other
 * modules (XDP, discovery) add theirs with api_register() or
 * API_REGISTER(table); a table registered later wins over an earlier one for
 * the same words, so a module can replace a built-in placeholder such as
 * `show xdp`.
 */
#ifndef XLB_API_H
#define XLB_API_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "lbd.h"
#include "sbuf.h"

enum api_level {
	API_LVL_USER = 0,
	API_LVL_OPER = 1,
	API_LVL_ADMIN = 2,
};

/* One command being run. */
struct api_req {
	struct sbuf *out; /* the answer being built (sbuf_puts, sbuf_printf) */
	int level; /* the session's level */
	const char *origin; /* the socket it came through, as written in the config */
	void *sess; /* internal */
};

/*
 * A handler gets every word of the command (args[0] is the first keyword).
 * It writes its answer with sbuf_puts()/sbuf_printf() into r->out; the
 * dispatcher adds the final empty line. It must never block: it runs on the
 * control loop.
 */
typedef void (*api_cmd_fn)(struct api_req *r, char **args, int nargs);

#define API_MAX_WORDS 4
struct api_cmd {
	const char *words[API_MAX_WORDS]; /* the keywords that select it, e.g. {"show", "stat"} */
	int level; /* API_LVL_* needed */
	const char *usage; /* "show stat [BACKEND]" for help */
	const char *help; /* one line */
	api_cmd_fn fn;
};

struct api_cmd_list {
	struct api_cmd_list *next;
	const struct api_cmd *cmds; /* terminated by an entry with words[0] == NULL */
};

/* Add a table of commands (the list node must live as long as the process). */
void api_register(struct api_cmd_list *list);

#define API_REGISTER(table)                                                 \
	static struct api_cmd_list table##_api_list = { .cmds = table };    \
	static void __attribute__((constructor)) table##_api_register(void) \
	{                                                                   \
		api_register(&table##_api_list);                            \
	}

/*
 * `lbctl down` / `xdp down`: the XDP tier registers how to detach its
 * programs and remove its pins. Returns 0 or -1 with *err (malloc'd).
 */
typedef int (*api_xdp_down_fn)(struct lbd *d, char **err);
void api_set_xdp_down(api_xdp_down_fn fn);

/* Open the sockets of d->m and start serving them. -1 with *err ("file:line: ..."). */
int api_start(struct lbd *d, char **err);
/*
 * Reload in two steps: api_prepare() opens the sockets the new model adds
 * (those whose address, mode and owner did not change are kept); then
 * api_commit() closes the ones it dropped and serves the new ones, or
 * api_abort() undoes api_prepare().
 */
int api_prepare(struct model *nm, char **err);
void api_commit(struct model *nm);
void api_abort(void);
/* Stop accepting (soft stop); open sessions finish their answer. */
void api_stop(void);
/* Close everything and remove the unix sockets lbd created. */
void api_exit(void);

/* Run one command line as a session of `level` would, for tests: malloc'd answer. */
char *api_exec(const char *line, int level);

/* Split a line into commands and words with HAProxy's rules (`;`, `\` escapes); for tests. */
int api_split_words(char *cmd, char **words, int max);

#endif
