/* SPDX-License-Identifier: MIT */
/*
 * HAProxy's log-format strings (`log-format`, `unique-id-format`, and the
 * built-in formats of `option httplog`, `option httplog clf` and `option
 * tcplog`, which are predefined strings of the same language).
 *
 * A format is compiled once when the config is loaded (logfmt_compile(),
 * from l7_compile_proxy()) into a list of segments: literal text, a
 * separator (a run of spaces: one space, only after something was
 * written), a variable (`%ci`, `%{+Q}r`, ...) or a sample expression
 * (`%[src]`). Per request (or per mode tcp connection) the caller fills a
 * struct lf_data and logfmt_render() writes the line into a bounded buffer
 * without allocating.
 */
#ifndef XLB_LOGFMT_H
#define XLB_LOGFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "acl.h"
#include "model.h"

/* `option httplog` */
#define LOGFMT_HTTPLOG                                                                         \
	"%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc " \
	"%sq/%bq %hr %hs %{+Q}r"
/* `option httplog clf` */
#define LOGFMT_HTTPLOG_CLF                                                                     \
	"%{+Q}o %{-Q}ci - - [%trg] %r %ST %B \"\" \"\" %cp %ms %ft %b %s %TR %Tw %Tc %Tr %Ta " \
	"%tsc %ac %fc %bc %sc %rc %sq %bq %CC %CS %hrl %hsl"
/* `option tcplog` */
#define LOGFMT_TCPLOG "%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq"
/*
 * A mode http frontend with log targets but neither `option httplog` nor a
 * `log-format` (or with `option tcplog`): lbd logs the tcplog fields, dated
 * at the start of the request.
 */
#define LOGFMT_HTTP_TCPLOG "%ci:%cp [%tr] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq"

/* What a compiled format reads that costs something to get (logfmt_needs()). */
#define LF_NEED_FADDR (1u << 0) /* %fi %fp: the local address of the client connection */
#define LF_NEED_BADDR (1u << 1) /* %bi %bp: the local address of the server connection */
#define LF_NEED_ID (1u << 2) /* %ID or %[unique-id] */
#define LF_NEED_SMP (1u << 3) /* %[...] */

struct logfmt;

/*
 * Compile a format for a proxy of the given mode (HTTP variables such as
 * %r or %TR are refused in mode tcp, as HAProxy). what names the keyword in
 * messages ("log-format", "unique-id-format"). NULL with *err (malloc'd,
 * without file:line) on an error: unknown variable, truncated `%`, missing
 * `]`, a sample fetch that is not available when the line is written.
 */
struct logfmt *logfmt_compile(const char *text, bool http, const char *what, char **err);
void logfmt_free(struct logfmt *f);
unsigned logfmt_needs(const struct logfmt *f);

/*
 * Everything a line may show. Pointers may be NULL (the value is missing:
 * `-`, or `""` under +Q); timers are in milliseconds, -1 for a step not
 * reached.
 */
struct lf_data {
	struct proxy *fe; /* %f %ft (required) */
	const char *be_name, *srv_name; /* %b %s */
	const struct sockaddr_storage *cli; /* %ci %cp */
	const struct sockaddr_storage *fe_addr; /* %fi %fp */
	const struct sockaddr_storage *be_src; /* %bi %bp */
	const struct sockaddr_storage *srv_addr; /* %si %sp */
	bool ssl; /* `~` after the frontend name in %ft */
	double t_accept; /* wall clock: %t %T %Tl %Ts %ms */
	double t_req; /* wall clock of the request: %tr %trg %trl */
	int t_h, t_i, t_R, t_w, t_c, t_r, t_a, t_t; /* %Th %Ti %TR %Tw %Tc %Tr %Ta %Tt */
	int status; /* %ST, -1 when none */
	uint64_t bytes_out, bytes_in; /* %B %U */
	char term[2]; /* %ts, first half of %tsc */
	char ck[2]; /* persistence cookie flags, second half of %tsc (0: '-') */
	int actconn, feconn, beconn, srvconn, retries; /* %ac %fc %bc %sc %rc */
	bool redispatched; /* `+` before %rc */
	int srv_queue, be_queue; /* %sq %bq */
	const char *reqline; /* %r %HM %HU %HP %HQ %HV; NULL: <BADREQ> */
	size_t reqline_len;
	/*
	 * Captured header values (NULL entries: header absent); the arrays are
	 * NULL when there is nothing to show (no request parsed), and then
	 * %hr %hrl %hs %hsl write nothing, as HAProxy.
	 */
	const char *const *req_cap, *const *rsp_cap;
	int nreq_cap, nrsp_cap;
	const char *unique_id; /* %ID */
	uint64_t rt; /* %rt: request counter */
	uint64_t lc; /* %lc: the frontend's log counter */
	const struct acl_env *env; /* %[...] samples; NULL: every sample is missing */
};

/* Render into buf (NUL-terminated, truncated to size - 1); returns the length. */
size_t logfmt_render(const struct logfmt *f, const struct lf_data *d, char *buf, size_t size);

/* The next request/connection number (%rt), process-wide. */
uint64_t logfmt_next_rt(void);

/*
 * The built-in formats, compiled on first use (never freed): which of
 * LOGFMT_HTTPLOG, LOGFMT_HTTPLOG_CLF, LOGFMT_TCPLOG, LOGFMT_HTTP_TCPLOG the
 * options of px select for a line of the L7 tier (http) or of the TCP proxy.
 */
const struct logfmt *logfmt_builtin(const struct proxy *px, bool http);

#endif
