/* SPDX-License-Identifier: MIT */
/*
 * Cookie-based persistence: `cookie NAME [rewrite|insert|prefix] [indirect]
 * [nocache] [postonly] [preserve] [httponly] [secure] [domain D]*
 * [maxidle T] [maxlife T] [attr A]*` in a backend, with `cookie VALUE` on
 * its servers, as HAProxy 2.6 does it (see doc/http.md).
 *
 * The proxy calls, per transaction:
 *  - l7_cookie_req() once the backend is known and its rules ran: finds
 *    the server the request's persistence cookie names and rewrites the
 *    Cookie headers (indirect: the cookie is removed; prefix: the server
 *    part is removed);
 *  - l7_cookie_take() instead of the balancing algorithm while
 *    ct->srv_id is set;
 *  - l7_cookie_balanced() when the request was balanced instead;
 *  - l7_cookie_rsp() on the final response after the http-response rules:
 *    rewrites the server's Set-Cookie and inserts lbd's own;
 *  - l7_cookie_log() for the last two characters of %tsc.
 */
#ifndef XLB_L7_COOKIE_H
#define XLB_L7_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "acl.h"
#include "http1.h"
#include "model.h"

struct l7_arena;
struct l7_cookie; /* a backend's compiled `cookie` line */

/* Persistence state of one transaction; all zero at its start. */
struct l7_ck_txn {
	uint32_t srv_id; /* server the request's cookie names (usable), 0 = none */
	bool direct; /* the request went to that server without the algorithm */
	bool wait; /* that server is at its maxconn: wait for a slot */
	bool post; /* the request is a POST (postonly) */
	bool sck_found; /* the server's response set the cookie itself */
	time_t first_date, last_date; /* dates the cookie carried (maxlife, maxidle) */
	/*
	 * What %tsc shows, HAProxy's letters (0 is 'N'). Request: I (names
	 * no server), D (names a server that is down, or that a redispatch
	 * left), V (valid), E (expired by maxidle), O (older than maxlife).
	 * Response: P (the server's cookie passed as is), D (deleted), R
	 * (rewritten: rewrite and prefix modes), I (inserted), U (inserted
	 * again to refresh its dates).
	 */
	char req_st, rsp_st;
};

/*
 * Validate the options of a `cookie NAME ...` line (args are the words
 * after NAME). 0, or -1 with *err set (malloc'd).
 */
int l7_cookie_check(char *const *args, int nargs, char **err);
/* Compile px's `cookie` line; *out is NULL when px has none. */
int l7_cookie_compile(struct proxy *px, struct l7_cookie **out, char **err);
void l7_cookie_free(struct l7_cookie *ck);

/*
 * Request side. req's header list is edited in place (new values in
 * arena). Returns 0, or -ENOMEM / -ENOSPC when a header cannot be
 * rewritten.
 */
int l7_cookie_req(const struct l7_cookie *ck, struct proxy *be, struct l7_msg *req,
		  struct l7_arena *arena, struct l7_ck_txn *ct);
/*
 * The server ct->srv_id when it can still take the request: counted and
 * referenced as lb_pick() does (release with lb_release()), and
 * ct->direct set. NULL with ct->wait set when it is at its maxconn (try
 * again later), NULL with ct->srv_id cleared when it is gone or not usable
 * any more (balance the request instead).
 */
struct server *l7_cookie_take(struct proxy *be, struct l7_ck_txn *ct);
/*
 * The request was balanced to s (NULL: to no server yet): a valid cookie
 * whose server is not s (a redispatch) is reported as 'D', as HAProxy.
 */
void l7_cookie_balanced(struct l7_ck_txn *ct, const struct server *s);
/*
 * Response side, for the final response of server srv (after the
 * http-response rules). Returns 0, or -ENOMEM / -ENOSPC.
 */
int l7_cookie_rsp(const struct l7_cookie *ck, const struct server *srv, struct l7_msg *rsp,
		  unsigned int status, enum h1_method meth, struct l7_arena *arena,
		  struct l7_ck_txn *ct);

/*
 * The persistence letters of %tsc into out[0] (request) and out[1]
 * (response); left alone (0, shown '-') when ck is NULL or only reads the
 * server's cookie (no insert, rewrite, prefix nor indirect), as HAProxy.
 */
void l7_cookie_log(const struct l7_cookie *ck, const struct l7_ck_txn *ct, char out[2]);

/* ---- helpers, exposed for the unit tests ---- */

/* One `name=value` of a Cookie header; spans into the header value. */
struct l7_ck_pair {
	const char *beg, *end; /* the whole pair, blanks around it removed */
	const char *name, *value;
	size_t name_len, value_len; /* value_len 0 also without '=' */
	bool has_eq;
};

/*
 * Next pair of a Cookie header value from *p (separators ';', values may
 * be double-quoted). False at the end.
 */
bool l7_ck_next(const char **p, const char *end, struct l7_ck_pair *out);
/*
 * HAProxy's cookie dates count 4-second units since the epoch: the lower
 * 30 bits of such a count as 5 base64 characters, most significant first.
 */
void l7_ck_date_enc(uint32_t units, char out[5]);
/* The date (seconds) of 5 such characters, 0 when invalid. */
time_t l7_ck_date_dec(const char *in);

#endif
