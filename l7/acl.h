/* SPDX-License-Identifier: MIT */
/*
 * ACLs of the L7 tier: sample fetches (path, hdr(), src, ...), pattern
 * matching (-m str|beg|end|sub|dir|dom|reg|found|len|int|ip, -i, -f FILE)
 * and conditions (`if`/`unless`, implicit AND, `or`/`||`, `!`, anonymous
 * ACLs in braces), compiled once from the words the config parser stored in
 * struct acl_def and struct cond, then evaluated per request without
 * allocating.
 *
 * What the fetches read is a struct acl_env: the request (and, for
 * http-response rules, the response) as the proxy currently sees it, after
 * earlier rules changed headers, plus the connection's addresses.
 */
#ifndef XLB_ACL_H
#define XLB_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "http1.h"
#include "model.h"

/*
 * One HTTP message as the rules see it: the parsed head for the start line,
 * and the current header list (rules add, replace and remove entries; the
 * values of added entries live in memory the proxy owns).
 */
struct l7_msg {
	const struct h1_msg *h1; /* start line, version, status */
	struct h1_hdr *hdrs; /* current headers, in order */
	uint32_t nhdrs;
	uint32_t maxhdrs; /* capacity of hdrs */
};

/* Everything a fetch may read. Any pointer may be NULL (no such sample). */
struct acl_env {
	const struct l7_msg *req; /* the request (absent for responses of unknown requests) */
	const struct l7_msg *rsp; /* the response, for http-response rules only */
	const struct sockaddr_storage *src; /* client address */
	const struct sockaddr_storage *dst; /* local address the client connected to */
	bool ssl; /* the client connection is TLS */
	const char *sni; /* TLS server name sent by the client */
	/* `capture request|response header` values (capture.req.hdr(N)); NULL entries: absent */
	const char *const *req_cap, *const *rsp_cap;
	int nreq_cap, nrsp_cap;
	const char *unique_id; /* the request's unique-id (unique-id-format), or NULL */
};

/* Index of the first header named name at or after from, or -1. */
int l7_msg_find(const struct l7_msg *m, const char *name, size_t name_len, uint32_t from);

/* A fetch with its argument and converters (`hdr(host),lower`), no patterns. */
struct smp_expr;

/* Parse a fetch expression; NULL with *err (malloc'd) on failure. */
struct smp_expr *smp_expr_parse(const char *text, char **err);
void smp_expr_free(struct smp_expr *e);
/*
 * The expression's value as text for log-format strings (`%[src]`): the last
 * occurrence of a multi-valued fetch, as HAProxy. Writes at most size-1
 * bytes plus a NUL; returns the length, or -1 when there is no sample.
 */
int smp_expr_str(const struct smp_expr *e, const struct acl_env *env, char *buf, size_t size);

/* What a fetch reads (smp_expr_src()). */
enum smp_src {
	SMP_SRC_CONN = 0, /* the connection: addresses, TLS */
	SMP_SRC_REQ, /* the request head */
	SMP_SRC_RSP, /* the response head */
	SMP_SRC_TXN, /* what the transaction keeps: captures, unique-id, status */
};
enum smp_src smp_expr_src(const struct smp_expr *e);
/* The fetch's name, for messages. */
const char *smp_expr_name(const struct smp_expr *e);

/* The compiled form of one `acl` line or one anonymous `{ ... }` ACL. */
struct acl_expr;

/*
 * Compile an ACL body: args[0] is the fetch, then flags, then patterns.
 * NULL with *err (malloc'd, no file:line prefix) on failure.
 */
struct acl_expr *acl_expr_compile(char *const *args, int nargs, char **err);
void acl_expr_free(struct acl_expr *e);
/* True when some sample of the fetch matches some pattern. */
bool acl_expr_match(const struct acl_expr *e, const struct acl_env *env);

/* A compiled `if`/`unless` condition. */
struct acl_cond;

/*
 * Compile the condition's words against the ACLs of px (named ACLs must be
 * declared in px, or be one of HAProxy's predefined ACLs such as TRUE,
 * METH_GET or LOCALHOST). Compiles the acl_defs of px on the way. The result
 * is stored in c->compiled. -1 with *err (malloc'd, no prefix) on failure.
 */
int acl_cond_compile(struct proxy *px, struct cond *c, char **err);
/* Compile every `acl` line of px (idempotent); *err gets "file:line: ..." */
int acl_compile_defs(struct proxy *px, char **err);
/*
 * The first fetch of a compiled condition that needs more than the
 * connection's addresses (src, dst, src_port, dst_port, always_true/false):
 * an HTTP message or a TLS session. NULL when the condition is decidable at
 * accept time.
 */
const char *acl_cond_l7_fetch(const struct cond *c);
/* Evaluate a condition: NULL (no condition) is true; `unless` is applied. */
bool acl_cond_eval(const struct cond *c, const struct acl_env *env);
void acl_cond_free(struct acl_cond *ac);
/* Free what acl_compile_defs() and acl_cond_compile() attached to px's ACLs. */
void acl_free_defs(struct proxy *px);

/* Parse "10.0.0.0/8", "::1", "192.168.0.0/255.255.0.0" (an address family, 16 bytes, prefix). */
struct acl_net {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	int plen;
};
int acl_net_parse(const char *s, struct acl_net *net);
/*
 * The address of ss as a full-length net (plen left 0); an IPv4-mapped IPv6
 * address becomes IPv4. family is 0 for a family other than AF_INET/AF_INET6.
 */
void acl_net_from_ss(struct acl_net *net, const struct sockaddr_storage *ss);
/* The address (IPv4-mapped IPv6 counts as IPv4) lies inside net. */
bool acl_net_match(const struct acl_net *net, const struct sockaddr_storage *ss);

#endif
