/* SPDX-License-Identifier: MIT */
/*
 * lbd's L7 HTTP/1.1 proxy: `mode http` frontends. worker.c hands every
 * accepted client socket of such a frontend to http_conn_accept() (through
 * http_accept_hook, which this file's constructor sets).
 *
 * Per request: parse the head (http1.h), run the frontend's http-request
 * rules, pick the backend (use_backend / default_backend), run its
 * http-request rules, pick a server (lb_pick), take a pooled or new server
 * connection, forward the rebuilt head and stream the body, then the same
 * in the other direction with the http-response rules; one httplog line per
 * request. Bodies are streamed through bounded buffers, never stored.
 *
 * The compiled form of a proxy's ACLs, conditions and rules hangs off
 * px->l7, acl_def->compiled, cond->compiled and px_rule->compiled; it is
 * built by l7_compile_proxy() when the config is loaded and freed by
 * l7_free_proxy().
 */
#ifndef XLB_HTTP_PROXY_H
#define XLB_HTTP_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "acl.h"
#include "model.h"

struct worker;
struct listener;

/*
 * Compile everything the L7 tier needs from a proxy: ACLs, use_backend
 * conditions, http-request/http-response rules, `option forwardfor except`,
 * TLS contexts of `bind ... ssl crt`. Idempotent; safe on tcp proxies (does
 * nothing for what they do not use). Returns 0, or -1 with *err set to a
 * malloc'd "file:line: message".
 */
int l7_compile_proxy(struct proxy *px, char **err);
/* Compile every proxy of a model; the first error stops (same *err). */
int l7_compile_model(struct model *m, char **err);
/* Free what l7_compile_proxy() attached to px (call before freeing px's rules and ACLs). */
void l7_free_proxy(struct proxy *px);

/* The accept hook: takes ownership of cfd. */
void http_conn_accept(struct worker *w, struct listener *l, int cfd, struct sockaddr_storage *src);
/* Close every L7 connection of this worker (hard stop). */
void http_conn_close_all(struct worker *w);

/* ---- internals shared by http_proxy.c, http_rules.c and http_log.c ---- */

/* Memory for header values the rules create, freed per transaction. */
struct l7_arena_blk;
struct l7_arena {
	struct l7_arena_blk *blk;
};
void *l7_arena_alloc(struct l7_arena *a, size_t n);
void l7_arena_reset(struct l7_arena *a);

/* Header list edits on a message view; -ENOSPC when the list is full. */
int l7_hdr_add(struct l7_msg *m, const char *name, size_t nlen, const char *value, size_t vlen);
void l7_hdr_del(struct l7_msg *m, const char *name, size_t nlen);

/* A compiled log-format string ("%[src]", "%ci", literal text). */
struct l7_fmt;
struct l7_fmt *l7_fmt_compile(const char *text, char **err);
void l7_fmt_free(struct l7_fmt *f);
/* Expand into buf (NUL-terminated); returns the length (truncated to size - 1). */
size_t l7_fmt_expand(const struct l7_fmt *f, const struct acl_env *env, char *buf, size_t size);

/* A response the proxy produces itself (deny, return, redirect, errors). */
struct l7_reply {
	int status;
	char *data; /* the complete response, malloc'd */
	size_t len;
	bool close; /* close the client connection after it */
	char term; /* first letter of the termination state: 'P' deny, 'L' return/redirect */
};

/* Outcome of running a rule list. */
enum l7_verdict {
	L7_CONTINUE = 0, /* go on (no rule stopped, or `allow`) */
	L7_REPLY, /* reply holds the response to send; stop the request */
	L7_DENY_RSP, /* http-response deny: answer 502 instead of the response */
	L7_FAIL, /* a rewrite failed (header list full): 500 */
};

/*
 * Run the http-request rules of px on env->req (a mutable view: the
 * header list is edited in place). L7_REPLY fills *reply.
 */
enum l7_verdict l7_http_req_rules(struct proxy *px, struct acl_env *env, struct l7_msg *req,
				  struct l7_arena *arena, struct l7_reply *reply);
/*
 * Same for http-response rules on env->rsp; set-status writes *status and
 * *reason (NULL: the standard reason phrase).
 */
enum l7_verdict l7_http_rsp_rules(struct proxy *px, struct acl_env *env, struct l7_msg *rsp,
				  struct l7_arena *arena, unsigned int *status,
				  const char **reason);
int l7_rules_compile(struct proxy *px, char **err);
void l7_rules_free(struct proxy *px);

/*
 * The response for a status the proxy generates: the errorfile of be, else
 * of fe, else a built-in page. Returns a malloc'd buffer and its length, or
 * NULL.
 */
char *l7_error_page(struct proxy *fe, struct proxy *be, int status, size_t *len);

/* ---- traffic log lines (http_log.c, formats in logfmt.h) ---- */

struct lf_data;
struct logfmt;

/*
 * The frontend's compiled `log-format` and `unique-id-format` (NULL when
 * none: logfmt_builtin() gives the format of the options). Also for mode
 * tcp frontends.
 */
const struct logfmt *l7_px_log_format(const struct proxy *px);
const struct logfmt *l7_px_uid_format(const struct proxy *px);

struct l7_log {
	struct proxy *fe, *be;
	struct server *srv;
	const struct sockaddr_storage *src;
	const struct sockaddr_storage *dst; /* %fi %fp; NULL: unknown */
	const struct sockaddr_storage *bsrc; /* %bi %bp: local address toward the server */
	bool ssl;
	double t_req; /* wall clock of the start of the request (%tr) */
	double t_accept; /* wall clock of the accept, or of the end of the previous request (%t) */
	int ti; /* %Ti: idle time before the request */
	int tr, tw, tc, trs, ta; /* %TR %Tw %Tc %Tr %Ta in ms, -1 when not reached */
	int tt; /* %Tt: total time including the idle time before the request */
	int status; /* -1 when none */
	uint64_t bytes; /* bytes sent to the client */
	uint64_t bytes_in; /* %U: bytes received from the client */
	char term[2]; /* termination state */
	char ck[2]; /* persistence cookie flags of %tsc (0: '-') */
	int actconn, feconn, beconn, srvconn, retries;
	bool redispatched;
	int srv_queue, be_queue;
	const char *reqline; /* request line, or NULL for <BADREQ> */
	size_t reqline_len;
	/* captured headers (fe->nreq_caps, then fe->nrsp_caps values); NULL: show none */
	const char *const *req_cap, *const *rsp_cap;
	const char *unique_id;
	uint64_t rt; /* %rt */
	const struct acl_env *env; /* for %[...] samples; NULL: none */
};

/* Emit one log line for the frontend (nothing when it has no log target). */
void l7_log_http(const struct l7_log *l);
/* Format the line into buf with the frontend's format; returns its length. */
size_t l7_log_format(const struct l7_log *l, char *buf, size_t size);
/* The values of l as the log-format engine reads them (%lc left at 0). */
void l7_log_data(const struct l7_log *l, struct lf_data *d);

#endif
