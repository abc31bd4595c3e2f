// SPDX-License-Identifier: MIT
/*
 * Keywords of proxy sections (defaults, frontend, backend, listen): listening
 * addresses, mode, timeouts, balancing, routing rules, options, logging and
 * error files. Server lines live in cfg_server.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "algo.h"
#include "cfg.h"
#include "cfg_lex.h"
#include "cookie.h"

/* `-XX-`, `-XXX`, `--XX` of HAProxy's keyword matrix. */
#define SEC_FE_ONLY (CFG_SEC_FRONTEND | CFG_SEC_LISTEN)
#define SEC_NODEF (CFG_SEC_FRONTEND | CFG_SEC_BACKEND | CFG_SEC_LISTEN)
#define SEC_BE_ONLY (CFG_SEC_BACKEND | CFG_SEC_LISTEN)

/* ---- bind ---- */

/* What the options of one `bind` line set, applied to every address of it. */
struct bind_opts {
	bool ssl, transparent, v4v6, v6only;
	const char *crt, *label, *alpn;
};

static const char *const bind_unsupported[] = {
	"accept-netscaler-cip",
	"allow-0rtt",
	"backlog",
	"ca-file",
	"ca-ignore-err",
	"ca-sign-file",
	"ca-sign-pass",
	"ca-verify-file",
	"ciphers",
	"ciphersuites",
	"crl-file",
	"crt-ignore-err",
	"crt-list",
	"curves",
	"defer-accept",
	"ecdhe",
	"expose-fd",
	"force-sslv3",
	"force-tlsv10",
	"force-tlsv11",
	"force-tlsv12",
	"force-tlsv13",
	"generate-certificates",
	"gid",
	"group",
	"id",
	"interface",
	"level",
	"maxconn",
	"mode",
	"mss",
	"namespace",
	"nice",
	"no-ca-names",
	"no-sslv3",
	"no-tls-tickets",
	"no-tlsv10",
	"no-tlsv11",
	"no-tlsv12",
	"no-tlsv13",
	"npn",
	"prefer-client-ciphers",
	"process",
	"proto",
	"quic-cc-algo",
	"quic-force-retry",
	"severity-output",
	"shards",
	"ssl-max-ver",
	"ssl-min-ver",
	"strict-sni",
	"tcp-ut",
	"tfo",
	"thread",
	"tls-ticket-keys",
	"uid",
	"user",
	"verify",
	NULL,
};

static int bind_parse_opts(struct cfg_ctx *ctx, char **args, int nargs, struct bind_opts *o,
			   char **crt_path, char **err)
{
	const char *base = ctx->m->global.crt_base;
	int i;

	for (i = 2; i < nargs; i++) {
		const char *opt = args[i], *val = i + 1 < nargs ? args[i + 1] : NULL;

		if (!strcmp(opt, "ssl")) {
			o->ssl = true;
		} else if (!strcmp(opt, "transparent")) {
			o->transparent = true;
		} else if (!strcmp(opt, "v4v6")) {
			o->v4v6 = true;
		} else if (!strcmp(opt, "v6only")) {
			o->v6only = true;
		} else if (!strcmp(opt, "crt") || !strcmp(opt, "name") || !strcmp(opt, "alpn")) {
			if (!val || !*val)
				return cfg_err(
					err, "'bind': option '%s' expects %s, got nothing", opt,
					opt[0] == 'c' ? "a certificate file" :
					opt[0] == 'n' ? "a name" :
							"a protocol list such as h2,http/1.1");
			if (opt[0] == 'c') {
				if (o->crt)
					return cfg_err(
						err,
						"'bind': lbd supports one 'crt' per bind line, got a second one '%s'",
						val);
				o->crt = val;
			} else if (opt[0] == 'n') {
				o->label = val;
			} else {
				o->alpn = val;
			}
			i++;
		} else if (!strcmp(opt, "accept-proxy")) {
			return cfg_err(
				err,
				"'bind': 'accept-proxy' (PROXY protocol) is not supported by lbd");
		} else if (cfg_in_list(bind_unsupported, opt)) {
			return cfg_err(
				err,
				"'bind': option '%s' is an HAProxy option that lbd does not support",
				opt);
		} else {
			return cfg_err(
				err,
				"'bind': unknown option '%s' (expected ssl, crt, name, transparent, v4v6, v6only or alpn)",
				opt);
		}
	}
	if (o->v4v6 && o->v6only)
		return cfg_err(err, "'bind': 'v4v6' and 'v6only' cannot be used together");
	if (o->ssl && !o->crt)
		return cfg_err(err, "'bind': 'ssl' needs a certificate: add 'crt FILE'");
	if (o->crt && !o->ssl)
		cfg_warn(ctx, "'bind': 'crt' without 'ssl' has no effect");
	if (o->crt) {
		if (o->crt[0] != '/' && base) {
			if (asprintf(crt_path, "%s/%s", base, o->crt) < 0)
				return cfg_err(err, "'bind': out of memory");
		} else {
			*crt_path = strdup(o->crt);
			if (!*crt_path)
				return cfg_err(err, "'bind': out of memory");
		}
		if (access(*crt_path, R_OK))
			return cfg_err(err, "'bind': cannot read certificate '%s': %s", *crt_path,
				       strerror(errno));
	}
	return 0;
}

static struct bind *bind_add(struct cfg_ctx *ctx, const char *spec, const struct bind_opts *o,
			     const char *crt_path)
{
	struct bind *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->fe = ctx->px;
	b->inherited_fd = -1;
	b->fd = -1;
	b->loc.file = ctx->file;
	b->loc.line = ctx->line;
	b->ssl = o->ssl;
	b->transparent = o->transparent;
	b->v4v6 = o->v4v6;
	b->v6only = o->v6only;
	b->name = strdup(spec);
	b->crt = crt_path ? strdup(crt_path) : NULL;
	b->label = o->label ? strdup(o->label) : NULL;
	b->alpn = o->alpn ? strdup(o->alpn) : NULL;
	list_add_tail(&b->list, &ctx->px->binds);
	if (!b->name || (crt_path && !b->crt) || (o->label && !b->label) || (o->alpn && !b->alpn))
		return NULL; /* linked: freed with the proxy */
	return b;
}

/* Most ports one `bind` line may expand to (a range). */
#define BIND_MAX_PORTS 4096

/* One comma-separated element of a bind line. */
static int bind_one(struct cfg_ctx *ctx, const char *spec, const struct bind_opts *o,
		    const char *crt_path, char **err)
{
	enum bind_proto proto = BIND_TCP;
	const char *s = spec, *prefix = "", *colon, *dash;
	char addr[512], *e = NULL;
	struct sockaddr_storage ss;
	long long lo, hi, port, fd;
	struct bind *b;
	socklen_t len;

	if (!*s)
		return cfg_err(err, "'bind': expected ADDR:PORT, got an empty address");
	if (!strncmp(s, "fd@", 3)) {
		if (cfg_parse_int(s + 3, 0, 65535, &fd) < 0)
			return cfg_err(
				err,
				"'bind': expected fd@N with a file descriptor number, got '%s'",
				spec);
		b = bind_add(ctx, spec, o, crt_path);
		if (!b)
			return cfg_err(err, "'bind': out of memory");
		b->inherited_fd = (int)fd;
		return 0;
	}
	if (!strncmp(s, "udp@", 4) || !strncmp(s, "udp4@", 5) || !strncmp(s, "udp6@", 5) ||
	    !strncmp(s, "tcp@", 4) || !strncmp(s, "tcp4@", 5) || !strncmp(s, "tcp6@", 5)) {
		proto = s[0] == 'u' ? BIND_UDP : BIND_TCP;
		prefix = s[3] == '4' ? "ipv4@" : s[3] == '6' ? "ipv6@" : "";
		s = strchr(s, '@') + 1;
	} else if (!strncmp(s, "ipv4@", 5) || !strncmp(s, "ipv6@", 5)) {
		prefix = s[3] == '4' ? "ipv4@" : "ipv6@";
		s += 5;
	} else if (s[0] == '/' || !strncmp(s, "unix@", 5) || !strncmp(s, "abns@", 5)) {
		return cfg_err(err, "'bind': unix sockets are not supported by lbd, got '%s'",
			       spec);
	} else if (strchr(s, '@')) {
		return cfg_err(err, "'bind': unsupported address prefix in '%s'", spec);
	}
	if (o->ssl && proto == BIND_UDP)
		return cfg_err(err, "'bind': 'ssl' cannot be used on a UDP address ('%s')", spec);
	/* The port part: after the last colon, possibly a range "a-b". */
	if (s[0] == '[') {
		colon = strchr(s, ']');
		colon = colon && colon[1] == ':' ? colon + 1 : NULL;
	} else {
		colon = strrchr(s, ':');
	}
	if (!colon)
		return cfg_err(err, "'bind': expected ADDR:PORT, got '%s' (no port)", spec);
	if (strlen(s) >= sizeof(addr) - 8)
		return cfg_err(err, "'bind': address too long '%s'", spec);
	dash = strchr(colon + 1, '-');
	if (dash) {
		char tmp[16];
		size_t l = dash - colon - 1;

		if (l >= sizeof(tmp))
			return cfg_err(err, "'bind': invalid port range in '%s'", spec);
		memcpy(tmp, colon + 1, l);
		tmp[l] = '\0';
		if (cfg_parse_int(tmp, 1, 65535, &lo) < 0 ||
		    cfg_parse_int(dash + 1, 1, 65535, &hi) < 0 || lo > hi)
			return cfg_err(
				err,
				"'bind': invalid port range in '%s': expected LOW-HIGH within 1..65535",
				spec);
		if (hi - lo + 1 > BIND_MAX_PORTS)
			return cfg_err(err,
				       "'bind': port range too large in '%s' (at most %d ports)",
				       spec, BIND_MAX_PORTS);
	} else {
		if (cfg_parse_int(colon + 1, 1, 65535, &lo) < 0)
			return cfg_err(err,
				       "'bind': expected a port within 1..65535 in '%s', got '%s'",
				       spec, colon + 1);
		hi = lo;
	}
	for (port = lo; port <= hi; port++) {
		snprintf(addr, sizeof(addr), "%s%.*s:%lld", prefix, (int)(colon - s), s, port);
		if (cfg_parse_addr(addr, &ss, &len, -1, &e) < 0) {
			cfg_err(err, "'bind': invalid address '%s': %s", spec,
				e ? e : "invalid address");
			free(e);
			return -1;
		}
		if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)
			return cfg_err(err, "'bind': expected an IPv4 or IPv6 address, got '%s'",
				       spec);
		if (o->v4v6 && ss.ss_family != AF_INET6)
			cfg_warn(ctx, "'bind': 'v4v6' only applies to IPv6 addresses ('%s')", spec);
		b = bind_add(ctx, spec, o, crt_path);
		if (!b)
			return cfg_err(err, "'bind': out of memory");
		b->addr = ss;
		b->addrlen = len;
		b->proto = proto;
	}
	return 0;
}

static int kw_bind(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	struct bind_opts o = { 0 };
	char *crt_path = NULL, *list, *tok, *save = NULL;
	int ret = 0;

	if (nargs < 2)
		return cfg_err(err,
			       "'bind': expected ADDR:PORT[,ADDR:PORT...] [options], got nothing");
	if (bind_parse_opts(ctx, args, nargs, &o, &crt_path, err) < 0) {
		free(crt_path);
		return -1;
	}
	list = strdup(args[1]);
	if (!list) {
		free(crt_path);
		return cfg_err(err, "'bind': out of memory");
	}
	if (args[1][0] == ',' || (*args[1] && args[1][strlen(args[1]) - 1] == ',') ||
	    strstr(args[1], ",,")) {
		ret = cfg_err(err, "'bind': empty address in the list '%s'", args[1]);
		goto out;
	}
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		ret = bind_one(ctx, tok, &o, crt_path, err);
		if (ret < 0)
			break;
	}
out:
	free(list);
	free(crt_path);
	return ret;
}

/* ---- mode, maxconn, timeouts ---- */

static int kw_mode(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	if (cfg_nargs(args[0], args, nargs, 1, 1, 1, "'tcp' or 'http'", err) < 0)
		return -1;
	if (!strcmp(args[1], "tcp"))
		ctx->px->mode = PX_MODE_TCP;
	else if (!strcmp(args[1], "http"))
		ctx->px->mode = PX_MODE_HTTP;
	else
		return cfg_err(err, "'mode': expected 'tcp' or 'http', got '%s'", args[1]);
	return 0;
}

static int kw_maxconn(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	long long v;

	if (cfg_nargs(args[0], args, nargs, 1, 1, 1, "a number of connections", err) < 0)
		return -1;
	if (cfg_parse_int(args[1], 0, 10000000, &v) < 0)
		return cfg_err(
			err, "'maxconn': expected a number of connections (0..10000000), got '%s'",
			args[1]);
	ctx->px->maxconn = (int)v;
	return 0;
}

static int kw_fullconn(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	long long v;

	if (cfg_nargs(args[0], args, nargs, 1, 1, 1, "a number of connections", err) < 0)
		return -1;
	if (cfg_parse_int(args[1], 0, 10000000, &v) < 0)
		return cfg_err(
			err, "'fullconn': expected a number of connections (0..10000000), got '%s'",
			args[1]);
	ctx->px->fullconn = (int)v;
	return 0;
}

static int kw_retries(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	long long v;

	if (cfg_nargs(args[0], args, nargs, 1, 1, 1, "a number of retries", err) < 0)
		return -1;
	if (cfg_parse_int(args[1], 0, 1000, &v) < 0)
		return cfg_err(err, "'retries': expected a number of retries (0..1000), got '%s'",
			       args[1]);
	ctx->px->retries = (int)v;
	return 0;
}

/*
 * `http-reuse`: lbd's L7 tier always behaves as HAProxy's `safe` (the
 * default): a server connection is reused for a client's later requests,
 * never for its first. `safe` is accepted so HAProxy configs load; the
 * modes lbd does not implement are refused by name.
 */
static int kw_http_reuse(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	if (cfg_nargs(args[0], args, nargs, 1, 1, 1, "safe", err) < 0)
		return -1;
	if (strcmp(args[1], "safe"))
		return cfg_err(err,
			       "'http-reuse %s': lbd implements 'http-reuse safe' only (HAProxy's "
			       "default)",
			       args[1]);
	return 0;
}

#define TO_FE PX_CAP_FE
#define TO_BE PX_CAP_BE

static const struct {
	const char *name;
	size_t off; /* in struct px_timeouts */
	unsigned cap; /* the side it applies to */
} timeouts[] = {
	{ "connect", offsetof(struct px_timeouts, connect), TO_BE },
	{ "client", offsetof(struct px_timeouts, client), TO_FE },
	{ "server", offsetof(struct px_timeouts, server), TO_BE },
	{ "queue", offsetof(struct px_timeouts, queue), TO_BE },
	{ "tunnel", offsetof(struct px_timeouts, tunnel), TO_BE },
	{ "check", offsetof(struct px_timeouts, check), TO_BE },
	{ "http-request", offsetof(struct px_timeouts, http_request), TO_FE | TO_BE },
	{ "http-keep-alive", offsetof(struct px_timeouts, http_keep_alive), TO_FE | TO_BE },
	{ "client-fin", offsetof(struct px_timeouts, client_fin), TO_FE },
	{ "server-fin", offsetof(struct px_timeouts, server_fin), TO_BE },
};

static int kw_timeout(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	uint32_t ms;
	size_t i;

	if (nargs < 2)
		return cfg_err(
			err,
			"'timeout': expected connect, client, server, queue, tunnel, check, http-request, http-keep-alive, client-fin or server-fin, got nothing");
	for (i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]); i++) {
		if (!strcmp(timeouts[i].name, args[1]))
			break;
	}
	if (i == sizeof(timeouts) / sizeof(timeouts[0])) {
		if (!strcmp(args[1], "tarpit"))
			return cfg_err(
				err,
				"'timeout tarpit' is an HAProxy keyword that lbd does not support");
		return cfg_err(
			err,
			"'timeout': expected connect, client, server, queue, tunnel, check, http-request, http-keep-alive, client-fin or server-fin, got '%s'",
			args[1]);
	}
	if (nargs < 3)
		return cfg_err(err, "'timeout %s': expected a time such as 5s, got nothing",
			       args[1]);
	if (nargs > 3)
		return cfg_err(err,
			       "'timeout %s': expected a time such as 5s, got extra argument '%s'",
			       args[1], args[3]);
	if (cfg_parse_time(args[2], &ms) < 0)
		return cfg_err(
			err,
			"'timeout %s': expected a time such as 5s (units us, ms, s, m, h, d; default ms), got '%s'",
			args[1], args[2]);
	if (!(ctx->px->cap & PX_CAP_DEF) && !(ctx->px->cap & timeouts[i].cap))
		cfg_warn(ctx, "'timeout %s' has no effect in a %s: it applies to %ss", args[1],
			 cfg_section_name(ctx->section),
			 timeouts[i].cap & TO_FE ? "frontend" : "backend");
	*(uint32_t *)((char *)&ctx->px->to + timeouts[i].off) = ms;
	return 0;
}

/* Keywords HAProxy removed, with what replaces them. */
static int kw_removed(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	static const struct {
		const char *kw, *use;
	} removed[] = {
		{ "contimeout", "timeout connect" },
		{ "clitimeout", "timeout client" },
		{ "srvtimeout", "timeout server" },
		{ "redispatch", "option redispatch" },
		{ "reqadd", "http-request add-header" },
		{ "reqdel", "http-request del-header" },
		{ "reqrep", "http-request replace-header" },
		{ "reqirep", "http-request replace-header" },
		{ "reqidel", "http-request del-header" },
		{ "reqallow", "http-request allow" },
		{ "reqiallow", "http-request allow" },
		{ "reqdeny", "http-request deny" },
		{ "reqideny", "http-request deny" },
		{ "reqtarpit", "http-request tarpit" },
		{ "reqpass", "http-request" },
		{ "rspadd", "http-response add-header" },
		{ "rspdel", "http-response del-header" },
		{ "rsprep", "http-response replace-header" },
		{ "rspirep", "http-response replace-header" },
		{ "rspdeny", "http-response deny" },
		{ "block", "http-request deny" },
	};
	size_t i;

	for (i = 0; i < sizeof(removed) / sizeof(removed[0]); i++) {
		if (!strcmp(removed[i].kw, args[0]))
			return cfg_err(err, "'%s' was removed from HAProxy; use '%s' instead",
				       args[0], removed[i].use);
	}
	return cfg_err(err, "'%s' was removed from HAProxy", args[0]);
}

/* ---- balance, hash-type ---- */

static int balance_unknown(const char *name, char **err)
{
	char known[512];
	size_t off = 0;
	int i;

	known[0] = '\0';
	for (i = 0; lb_algos[i]; i++)
		off += snprintf(known + off, off < sizeof(known) ? sizeof(known) - off : 0, "%s%s",
				i ? ", " : "", lb_algos[i]->name);
	return cfg_err(err, "'balance': unknown algorithm '%s' (known: %s)", name, known);
}

static int kw_balance(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	struct proxy *px = ctx->px;
	const struct lb_algo_ops *algo;
	const char *name, *paren;
	char *arg = NULL;
	long long v;
	int i, draws = 0, len = 0, depth = 0;
	bool whole = false;

	if (nargs < 2)
		return cfg_err(
			err,
			"'balance': expected an algorithm (roundrobin, leastconn, source, uri, ...), got nothing");
	name = args[1];
	algo = lb_algo_find(name);
	if (!algo)
		return balance_unknown(name, err);
	paren = strchr(name, '(');
	if (paren) {
		size_t l = strlen(paren + 1);

		if (!l || paren[l] != ')')
			return cfg_err(err, "'balance': expected '%.*s(ARG)', got '%s'",
				       (int)(paren - name), name, name);
		if (strcmp(algo->name, "hdr") && strcmp(algo->name, "random"))
			return cfg_err(err,
				       "'balance %s' takes no argument in parentheses, got '%s'",
				       algo->name, name);
		arg = strndup(paren + 1, l - 1);
		if (!arg)
			return cfg_err(err, "'balance': out of memory");
		if (!*arg) {
			free(arg);
			return cfg_err(err, "'balance': empty argument in '%s'", name);
		}
	}
	if (!strcmp(algo->name, "hdr")) {
		if (!arg)
			return cfg_err(err, "'balance hdr': expected hdr(NAME), got '%s'", name);
		if (nargs > 2) {
			free(arg);
			return cfg_err(err,
				       "'balance hdr(%s)': option '%s' is not supported by lbd",
				       paren ? paren + 1 : "", args[2]);
		}
	} else if (!strcmp(algo->name, "url_param")) {
		if (nargs < 3)
			return cfg_err(
				err, "'balance url_param': expected a parameter name, got nothing");
		if (nargs > 3)
			return cfg_err(err,
				       "'balance url_param': option '%s' is not supported by lbd",
				       args[3]);
		arg = strdup(args[2]);
		if (!arg)
			return cfg_err(err, "'balance': out of memory");
	} else if (!strcmp(algo->name, "uri")) {
		for (i = 2; i < nargs; i++) {
			if (!strcmp(args[i], "whole")) {
				whole = true;
			} else if (!strcmp(args[i], "len") || !strcmp(args[i], "depth")) {
				if (i + 1 >= nargs || cfg_parse_int(args[i + 1], 1, 65535, &v) < 0)
					return cfg_err(
						err,
						"'balance uri': '%s' expects a positive number, got '%s'",
						args[i], i + 1 < nargs ? args[i + 1] : "nothing");
				if (args[i][0] == 'l')
					len = (int)v;
				else
					depth = (int)v;
				i++;
			} else {
				return cfg_err(
					err,
					"'balance uri': expected len N, depth N or whole, got '%s'",
					args[i]);
			}
		}
	} else if (!strcmp(algo->name, "random")) {
		const char *d = arg;

		if (nargs > 3 || (nargs == 3 && arg)) {
			free(arg);
			return cfg_err(
				err,
				"'balance random': expected random or random(DRAWS), got extra argument '%s'",
				args[nargs - 1]);
		}
		if (nargs == 3)
			d = args[2];
		if (d) {
			if (cfg_parse_int(d, 1, 100, &v) < 0) {
				cfg_err(err,
					"'balance random': expected a number of draws (1..100), got '%s'",
					d);
				free(arg);
				return -1;
			}
			draws = (int)v;
		}
		free(arg);
		arg = NULL;
	} else if (nargs > 2) {
		return cfg_err(err, "'balance %s': expected no argument, got '%s'", algo->name,
			       args[2]);
	}
	if (algo->needs_arg && !arg)
		return cfg_err(err, "'balance %s': expected an argument", algo->name);
	px->algo = algo;
	free(px->algo_arg);
	px->algo_arg = arg;
	px->algo_len = len;
	px->algo_depth = depth;
	px->algo_whole = whole;
	px->algo_draws = draws;
	return 0;
}

static int kw_hash_type(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	static const char *const fns[] = { "sdbm", "djb2", "wt6", "crc32", "none", NULL };
	struct proxy *px = ctx->px;
	bool aval = false;
	const char *fn = NULL;
	int i = 2;

	if (nargs < 2)
		return cfg_err(err,
			       "'hash-type': expected 'map-based' or 'consistent', got nothing");
	if (!strcmp(args[1], "map-based"))
		px->hash_type = HASH_MAP_BASED;
	else if (!strcmp(args[1], "consistent"))
		px->hash_type = HASH_CONSISTENT;
	else
		return cfg_err(err, "'hash-type': expected 'map-based' or 'consistent', got '%s'",
			       args[1]);
	if (i < nargs && cfg_in_list(fns, args[i]))
		fn = args[i++];
	if (i < nargs && !strcmp(args[i], "avalanche")) {
		aval = true;
		i++;
	}
	if (i < nargs)
		return cfg_err(
			err,
			"'hash-type': expected a function (sdbm, djb2, wt6, crc32, none) then 'avalanche', got '%s'",
			args[i]);
	if (cfg_store(&px->hash_fn, fn ? fn : "sdbm", args[0], err) < 0)
		return -1;
	px->hash_avalanche = aval;
	return 0;
}

/* ---- routing ---- */

static int kw_default_backend(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	if (cfg_nargs(args[0], args, nargs, 1, 1, 1, "a backend name", err) < 0)
		return -1;
	if (cfg_store(&ctx->px->default_backend_name, args[1], args[0], err) < 0)
		return -1;
	ctx->px->default_backend_loc.file = ctx->file;
	ctx->px->default_backend_loc.line = ctx->line;
	return 0;
}

static int kw_use_backend(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	struct switch_rule *r;
	struct cond *cond;
	int n;

	if (cfg_split_cond(args[0], args, nargs, &n, &cond, err) < 0)
		return -1;
	if (n != 2) {
		cond_free(cond);
		if (n < 2)
			return cfg_err(err, "'use_backend': expected a backend name, got nothing");
		return cfg_err(
			err,
			"'use_backend': expected 'use_backend NAME [if|unless COND]', got extra argument '%s'",
			args[2]);
	}
	r = calloc(1, sizeof(*r));
	if (!r || !(r->be_name = strdup(args[1]))) {
		free(r);
		cond_free(cond);
		return cfg_err(err, "'use_backend': out of memory");
	}
	r->cond = cond;
	r->loc.file = ctx->file;
	r->loc.line = ctx->line;
	list_add_tail(&r->list, &ctx->px->switch_rules);
	return 0;
}

static int kw_acl(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	struct acl_def *acl;

	if (nargs < 2)
		return cfg_err(err,
			       "'acl': expected 'acl NAME FETCH [flags] [values]', got nothing");
	if (!cfg_valid_name(args[1]))
		return cfg_err(
			err,
			"'acl': invalid name '%s' (letters, digits, '-', '_', '.' and ':' only)",
			args[1]);
	if (nargs < 3)
		return cfg_err(
			err,
			"'acl %s': expected a fetch method (path_beg, hdr(host), src, ...), got nothing",
			args[1]);
	acl = calloc(1, sizeof(*acl));
	if (!acl)
		return cfg_err(err, "'acl': out of memory");
	acl->name = strdup(args[1]);
	acl->nargs = nargs - 2;
	acl->args = cfg_dup_words(args + 2, nargs - 2);
	acl->loc.file = ctx->file;
	acl->loc.line = ctx->line;
	if (!acl->name || !acl->args) {
		free(acl->name);
		cfg_words_free(acl->args);
		free(acl);
		return cfg_err(err, "'acl': out of memory");
	}
	list_add_tail(&acl->list, &ctx->px->acls);
	return 0;
}

/* Store `KW ACTION ... [if|unless COND]` in `list`. args[first..] is the action. */
static int add_rule(struct cfg_ctx *ctx, struct list_head *list, char **args, int nargs, int first,
		    char **err)
{
	struct px_rule *r;
	struct cond *cond;
	int n;

	if (cfg_split_cond(args[0], args, nargs, &n, &cond, err) < 0)
		return -1;
	if (n <= first) {
		cond_free(cond);
		return cfg_err(err, "'%s': expected an action, got %s", args[0],
			       n < nargs ? "a condition only" : "nothing");
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		cond_free(cond);
		return cfg_err(err, "'%s': out of memory", args[0]);
	}
	r->kw = strdup(args[0]);
	r->nargs = n - 1;
	r->args = cfg_dup_words(args + 1, n - 1);
	r->cond = cond;
	r->loc.file = ctx->file;
	r->loc.line = ctx->line;
	list_add_tail(&r->list, list);
	if (!r->kw || !r->args)
		return cfg_err(err, "'%s': out of memory", args[0]); /* freed with the proxy */
	return 0;
}

static int kw_http_request(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	return add_rule(ctx,
			!strcmp(args[0], "http-request") ? &ctx->px->http_req_rules :
							   &ctx->px->http_rsp_rules,
			args, nargs, 1, err);
}

static int kw_tcp_request(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	uint32_t ms;

	if (nargs < 2)
		return cfg_err(
			err,
			"'tcp-request': expected connection, session, content or inspect-delay, got nothing");
	if (!strcmp(args[1], "inspect-delay")) {
		if (cfg_nargs("tcp-request inspect-delay", args, nargs, 2, 1, 1,
			      "a time such as 5s", err) < 0)
			return -1;
		if (cfg_parse_time(args[2], &ms) < 0)
			return cfg_err(
				err,
				"'tcp-request inspect-delay': expected a time such as 5s, got '%s'",
				args[2]);
	} else if (!strcmp(args[1], "connection") || !strcmp(args[1], "session")) {
		if (!(ctx->px->cap & PX_CAP_FE))
			return cfg_err(
				err,
				"'tcp-request %s' is not allowed in '%s' section (only in: frontend, listen)",
				args[1], cfg_section_name(ctx->section));
	} else if (strcmp(args[1], "content")) {
		return cfg_err(
			err,
			"'tcp-request': expected connection, session, content or inspect-delay, got '%s'",
			args[1]);
	}
	/*
	 * lbd evaluates connection, session and content rules when it accepts
	 * the connection, on its addresses (src, dst, ...): accept and reject
	 * are the actions that can mean the same as in HAProxy there.
	 */
	if (nargs > 2 && strcmp(args[1], "inspect-delay") && strcmp(args[2], "accept") &&
	    strcmp(args[2], "reject") && strcmp(args[2], "if") && strcmp(args[2], "unless"))
		return cfg_err(
			err,
			"'tcp-request %s %s': action not supported by lbd (expected accept or reject)",
			args[1], args[2]);
	return add_rule(ctx, &ctx->px->tcp_req_rules, args, nargs, 2, err);
}

static int kw_http_check(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	if (nargs < 2)
		return cfg_err(err, "'http-check': expected send, expect or connect, got nothing");
	if (!strcmp(args[1], "expect")) {
		int i = 2;

		if (i < nargs && !strcmp(args[i], "!"))
			i++;
		if (nargs - i < 2)
			return cfg_err(
				err,
				"'http-check expect': expected a match such as 'status 200', got %s",
				nargs > i ? "no pattern" : "nothing");
	} else if (!strcmp(args[1], "send") || !strcmp(args[1], "connect")) {
		/* options are compiled by the health checker */
	} else if (!strcmp(args[1], "comment") || !strcmp(args[1], "disable-on-404") ||
		   !strcmp(args[1], "send-state") || !strcmp(args[1], "set-var") ||
		   !strcmp(args[1], "unset-var")) {
		return cfg_err(err,
			       "'http-check %s' is an HAProxy keyword that lbd does not support",
			       args[1]);
	} else {
		return cfg_err(err, "'http-check': expected send, expect or connect, got '%s'",
			       args[1]);
	}
	return add_rule(ctx, &ctx->px->http_check_rules, args, nargs, 1, err);
}

/* ---- options ---- */

static const struct {
	const char *name;
	unsigned flag;
	unsigned clears; /* options this one replaces */
} opt_flags[] = {
	{ "redispatch", PX_OPT_REDISPATCH, 0 },
	{ "tcplog", PX_OPT_TCPLOG, PX_OPT_HTTPLOG },
	{ "dontlognull", PX_OPT_DONTLOGNULL, 0 },
	{ "allbackups", PX_OPT_ALLBACKUPS, 0 },
	{ "http-keep-alive", PX_OPT_HTTP_KEEP_ALIVE, PX_OPT_HTTP_SERVER_CLOSE | PX_OPT_HTTPCLOSE },
	{ "http-server-close", PX_OPT_HTTP_SERVER_CLOSE,
	  PX_OPT_HTTP_KEEP_ALIVE | PX_OPT_HTTPCLOSE },
	{ "httpclose", PX_OPT_HTTPCLOSE, PX_OPT_HTTP_KEEP_ALIVE | PX_OPT_HTTP_SERVER_CLOSE },
	{ "tcpka", PX_OPT_TCPKA, 0 },
	{ "log-health-checks", PX_OPT_LOG_HEALTH, 0 },
	{ "abortonclose", PX_OPT_ABORTONCLOSE, 0 },
	{ "splice-auto", PX_OPT_SPLICE, 0 },
	{ "splice-request", PX_OPT_SPLICE, 0 },
	{ "splice-response", PX_OPT_SPLICE, 0 },
};

static int kw_option_flag(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	size_t i;

	for (i = 0; i < sizeof(opt_flags) / sizeof(opt_flags[0]); i++) {
		if (!strcmp(opt_flags[i].name, args[1]))
			break;
	}
	if (i == sizeof(opt_flags) / sizeof(opt_flags[0]))
		return cfg_err(err, "'option %s': unknown option", args[1]);
	if (nargs > 2)
		return cfg_err(err, "'%soption %s': expected no argument, got '%s'",
			       ctx->no ? "no " : "", args[1], args[2]);
	if (ctx->no) {
		ctx->px->options &= ~opt_flags[i].flag;
	} else {
		/* Accepted so that configs load, but said: nothing is ignored silently. */
		if (opt_flags[i].flag == PX_OPT_SPLICE)
			cfg_warn(
				ctx,
				"'option %s': lbd copies through user space buffers, the option has no effect",
				args[1]);
		else if (opt_flags[i].flag == PX_OPT_ABORTONCLOSE)
			cfg_warn(ctx,
				 "'option %s': not implemented by lbd, the option has no effect",
				 args[1]);
		ctx->px->options &= ~opt_flags[i].clears;
		ctx->px->options |= opt_flags[i].flag;
		if (opt_flags[i].flag == PX_OPT_TCPLOG) {
			/* the last of option tcplog/httplog and log-format wins, as HAProxy */
			ctx->px->options &= ~PX_OPT_HTTPLOG_CLF;
			free(ctx->px->log_format);
			ctx->px->log_format = NULL;
		}
	}
	return 0;
}

static int kw_option_httplog(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	if (ctx->no) {
		if (nargs > 2)
			return cfg_err(err, "'no option httplog': expected no argument, got '%s'",
				       args[2]);
		ctx->px->options &= ~(PX_OPT_HTTPLOG | PX_OPT_HTTPLOG_CLF);
		return 0;
	}
	if (nargs > 3 || (nargs == 3 && strcmp(args[2], "clf")))
		return cfg_err(err, "'option httplog': expected nothing or 'clf', got '%s'",
			       args[nargs > 3 ? 3 : 2]);
	ctx->px->options &= ~(PX_OPT_TCPLOG | PX_OPT_HTTPLOG_CLF);
	ctx->px->options |= PX_OPT_HTTPLOG;
	if (nargs == 3)
		ctx->px->options |= PX_OPT_HTTPLOG_CLF;
	/* the last of option tcplog/httplog and log-format wins, as HAProxy */
	free(ctx->px->log_format);
	ctx->px->log_format = NULL;
	return 0;
}

/* "10.0.0.0/8", "10.0.0.0/255.0.0.0", "192.168.1.1", "fd00::/8" */
static int check_network(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];
	char net[INET6_ADDRSTRLEN + 1], *slash;
	bool v6 = strchr(s, ':') != NULL;
	long long bits;

	if (strlen(s) >= sizeof(net) + 4)
		return -1;
	snprintf(net, sizeof(net), "%.*s", (int)strcspn(s, "/"), s);
	if (inet_pton(v6 ? AF_INET6 : AF_INET, net, buf) != 1)
		return -1;
	slash = strchr(s, '/');
	if (!slash)
		return 0;
	if (!cfg_parse_int(slash + 1, 0, v6 ? 128 : 32, &bits))
		return 0;
	if (!v6 && inet_pton(AF_INET, slash + 1, buf) == 1)
		return 0;
	return -1;
}

static int kw_option_forwardfor(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	struct proxy *px = ctx->px;
	const char *except = NULL, *header = NULL;
	bool if_none = false;
	int i;

	if (ctx->no) {
		if (nargs > 2)
			return cfg_err(err,
				       "'no option forwardfor': expected no argument, got '%s'",
				       args[2]);
		px->options &= ~PX_OPT_FORWARDFOR;
		return 0;
	}
	for (i = 2; i < nargs; i++) {
		if (!strcmp(args[i], "except") || !strcmp(args[i], "header")) {
			if (i + 1 >= nargs || !*args[i + 1])
				return cfg_err(err,
					       "'option forwardfor': '%s' expects %s, got nothing",
					       args[i],
					       args[i][0] == 'e' ? "a network such as 10.0.0.0/8" :
								   "a header name");
			if (args[i][0] == 'e') {
				except = args[i + 1];
				if (check_network(except) < 0)
					return cfg_err(
						err,
						"'option forwardfor': 'except' expects a network such as 10.0.0.0/8, got '%s'",
						except);
			} else {
				header = args[i + 1];
			}
			i++;
		} else if (!strcmp(args[i], "if-none")) {
			if_none = true;
		} else {
			return cfg_err(
				err,
				"'option forwardfor': expected except NET, header NAME or if-none, got '%s'",
				args[i]);
		}
	}
	free(px->forwardfor_except);
	px->forwardfor_except = NULL;
	free(px->forwardfor_header);
	px->forwardfor_header = NULL;
	if ((except && cfg_store(&px->forwardfor_except, except, "option forwardfor", err) < 0) ||
	    (header && cfg_store(&px->forwardfor_header, header, "option forwardfor", err) < 0))
		return -1;
	px->forwardfor_if_none = if_none;
	px->options |= PX_OPT_FORWARDFOR;
	return 0;
}

static int kw_option_httpchk(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	struct proxy *px = ctx->px;
	const char *meth = NULL, *uri = NULL, *ver = NULL;

	free(px->httpchk_method);
	free(px->httpchk_uri);
	free(px->httpchk_version);
	px->httpchk_method = px->httpchk_uri = px->httpchk_version = NULL;
	if (ctx->no) {
		if (nargs > 2)
			return cfg_err(err, "'no option httpchk': expected no argument, got '%s'",
				       args[2]);
		px->options &= ~PX_OPT_HTTPCHK;
		return 0;
	}
	if (nargs > 5)
		return cfg_err(
			err,
			"'option httpchk': expected [METHOD] [URI] [VERSION], got extra argument '%s'",
			args[5]);
	if (nargs == 3) {
		uri = args[2];
	} else if (nargs >= 4) {
		meth = args[2];
		uri = args[3];
		if (nargs == 5)
			ver = args[4];
	}
	if (uri && !*uri)
		return cfg_err(err, "'option httpchk': expected a URI, got an empty word");
	if ((meth && cfg_store(&px->httpchk_method, meth, "option httpchk", err) < 0) ||
	    (uri && cfg_store(&px->httpchk_uri, uri, "option httpchk", err) < 0) ||
	    (ver && cfg_store(&px->httpchk_version, ver, "option httpchk", err) < 0))
		return -1;
	px->options |= PX_OPT_HTTPCHK;
	return 0;
}

static int kw_option_tcp_check(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	return cfg_err(
		err,
		"'option tcp-check' is not supported by lbd yet; use 'check' (plain TCP connect) or 'option httpchk'");
}

/* ---- logging ---- */

static int kw_log(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	if (ctx->no) {
		if (nargs > 1)
			return cfg_err(err, "'no log': expected no argument, got '%s'", args[1]);
		logs_free(&ctx->px->logs);
		ctx->px->log_global = false;
		return 0;
	}
	return cfg_parse_log(args, nargs, &ctx->px->logs, &ctx->px->log_global, err);
}

static int kw_format(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	struct proxy *px = ctx->px;
	bool lf = !strcmp(args[0], "log-format");
	char **dst = lf ? &px->log_format : &px->unique_id_format;
	struct cfg_loc *loc = lf ? &px->log_format_loc : &px->unique_id_format_loc;

	if (cfg_nargs(args[0], args, nargs, 1, 1, 1, "one format string (use quotes around spaces)",
		      err) < 0)
		return -1;
	if (cfg_store(dst, args[1], args[0], err) < 0)
		return -1;
	/* compiled with the L7 tier (l7_compile_proxy), which reports errors here */
	loc->file = ctx->file;
	loc->line = ctx->line;
	if (lf) /* replaces option httplog/tcplog (the last one wins, as HAProxy) */
		px->options &= ~(PX_OPT_HTTPLOG | PX_OPT_HTTPLOG_CLF | PX_OPT_TCPLOG);
	return 0;
}

static int kw_unique_id_header(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	if (cfg_nargs(args[0], args, nargs, 1, 1, 1, "a header name", err) < 0)
		return -1;
	return cfg_store(&ctx->px->unique_id_header, args[1], args[0], err);
}

/* `capture request header NAME len N`, `capture response header NAME len N` */
static int kw_capture(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	struct proxy *px = ctx->px;
	struct px_capture **caps, *nc;
	int *n;
	long long len;
	bool req;

	if (nargs >= 2 && !strcmp(args[1], "cookie"))
		return cfg_err(err, "'capture cookie' is not supported by lbd");
	if (nargs < 2 || (strcmp(args[1], "request") && strcmp(args[1], "response")))
		return cfg_err(err, "'capture' expects 'cookie' or 'request header' or "
				    "'response header'");
	req = args[1][2] == 'q';
	if (nargs < 6 || strcmp(args[2], "header") || strcmp(args[4], "len"))
		return cfg_err(err, "'capture %s' expects 'header' <header_name> 'len' <len>",
			       args[1]);
	if (nargs > 6)
		return cfg_err(err, "'capture %s' cannot handle unexpected argument '%s'", args[1],
			       args[6]);
	if (cfg_parse_int(args[5], 0, 65535, &len) < 0)
		return cfg_err(err,
			       "'capture %s': 'len' expects a length from 0 to 65535, got '%s'",
			       args[1], args[5]);
	caps = req ? &px->req_caps : &px->rsp_caps;
	n = req ? &px->nreq_caps : &px->nrsp_caps;
	nc = realloc(*caps, (*n + 1) * sizeof(*nc));
	if (!nc)
		return cfg_err(err, "out of memory");
	*caps = nc;
	nc[*n].name = strdup(args[3]);
	if (!nc[*n].name)
		return cfg_err(err, "out of memory");
	nc[*n].len = (int)len;
	(*n)++;
	return 0;
}

/* Append a copy of w to the NULL-terminated list *list. */
static int words_append(char ***list, const char *w, const char *kw, char **err)
{
	int n = 0;
	char **nl;

	while (*list && (*list)[n])
		n++;
	nl = realloc(*list, (n + 2) * sizeof(*nl));
	if (!nl)
		return cfg_err(err, "'%s': out of memory", kw);
	*list = nl;
	nl[n] = strdup(w);
	nl[n + 1] = NULL;
	if (!nl[n])
		return cfg_err(err, "'%s': out of memory", kw);
	return 0;
}

/*
 * `stats KEYWORD ...`: HAProxy's HTTP statistics page (l7/stats_page.c).
 * Every keyword enables the page; `stats admin` and `stats http-request`
 * (actions from the page) are refused.
 */
static int kw_stats(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	struct px_stats *st = &ctx->px->stats;
	const char *sub = nargs > 1 ? args[1] : "";
	char kw[64];

	snprintf(kw, sizeof(kw), "stats %s", sub);
	if (nargs < 2)
		return cfg_err(err, "'stats': expected one of 'enable', 'uri', 'realm', 'auth', "
				    "'refresh', 'hide-version', 'show-legends', 'show-node', "
				    "'show-desc', 'scope'");
	if (!strcmp(sub, "admin") || !strcmp(sub, "http-request"))
		return cfg_err(err,
			       "'stats %s' is not supported by lbd (the statistics page is "
			       "read-only); change servers' state through the runtime API "
			       "('stats socket' in 'global', lbctl)",
			       sub);
	if (!strcmp(sub, "socket") || !strcmp(sub, "timeout") || !strcmp(sub, "maxconn"))
		return cfg_err(err, "'stats %s' is only allowed in the 'global' section", sub);
	if (!strcmp(sub, "enable") || !strcmp(sub, "hide-version") ||
	    !strcmp(sub, "show-legends") || !strcmp(sub, "show-modules")) {
		if (cfg_nargs(kw, args, nargs, 2, 0, 0, "no argument", err) < 0)
			return -1;
		if (!strcmp(sub, "hide-version"))
			st->hide_version = true;
		else if (!strcmp(sub, "show-legends"))
			st->show_legends = true;
	} else if (!strcmp(sub, "uri") || !strcmp(sub, "realm") || !strcmp(sub, "auth") ||
		   !strcmp(sub, "scope")) {
		static const char *const what[] = { "a URI prefix such as /stats",
						    "a realm (escape spaces with '\\')",
						    "user:password", "a proxy name or '.'" };
		int w = !strcmp(sub, "uri")   ? 0 :
			!strcmp(sub, "realm") ? 1 :
			!strcmp(sub, "auth")  ? 2 :
						3;

		if (cfg_nargs(kw, args, nargs, 2, 1, 1, what[w], err) < 0)
			return -1;
		if (!args[2][0])
			return cfg_err(err, "'%s': expected %s, got an empty word", kw, what[w]);
		if (w == 0 && cfg_store(&st->uri, args[2], kw, err) < 0)
			return -1;
		if (w == 1 && cfg_store(&st->realm, args[2], kw, err) < 0)
			return -1;
		if (w == 2) {
			const char *colon = strchr(args[2], ':');

			if (!colon || colon == args[2])
				return cfg_err(err, "'%s': expected user:password, got '%s'", kw,
					       args[2]);
			if (words_append(&st->auth, args[2], kw, err) < 0)
				return -1;
		}
		if (w == 3 && words_append(&st->scope, args[2], kw, err) < 0)
			return -1;
	} else if (!strcmp(sub, "refresh")) {
		uint32_t ms;

		if (cfg_nargs(kw, args, nargs, 2, 1, 1, "a delay such as 10s", err) < 0)
			return -1;
		if (cfg_parse_time(args[2], &ms) < 0)
			return cfg_err(err, "'%s': expected a delay such as 10s, got '%s'", kw,
				       args[2]);
		st->refresh_s = ms / 1000;
	} else if (!strcmp(sub, "show-node")) {
		if (cfg_nargs(kw, args, nargs, 2, 0, 1, "at most a node name", err) < 0)
			return -1;
		if (nargs > 2 && !cfg_valid_name(args[2]))
			return cfg_err(err, "'%s': invalid node name '%s'", kw, args[2]);
		st->show_node = true;
		free(st->node);
		st->node = NULL;
		if (nargs > 2 && cfg_store(&st->node, args[2], kw, err) < 0)
			return -1;
	} else if (!strcmp(sub, "show-desc")) {
		st->show_desc = true;
		free(st->desc);
		st->desc = NULL;
		if (nargs > 2 && !(st->desc = cfg_join(args + 2, nargs - 2)))
			return cfg_err(err, "'%s': out of memory", kw);
	} else {
		return cfg_err(err,
			       "'stats %s': unknown keyword; expected one of 'enable', 'uri', "
			       "'realm', 'auth', 'refresh', 'hide-version', 'show-legends', "
			       "'show-node', 'show-desc', 'scope'",
			       sub);
	}
	if (!st->own) {
		st->own = true;
		st->loc.file = ctx->file;
		st->loc.line = ctx->line;
	}
	st->enabled = true;
	return 0;
}

/* ---- errorfile ---- */

static const int errorfile_codes[] = { 200, 400, 401, 403, 404, 405, 407, 408, 410,
				       413, 425, 429, 500, 501, 502, 503, 504 };

static int kw_errorfile(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	struct proxy *px = ctx->px;
	size_t cap = (size_t)ctx->m->global.tune_bufsize, len = 0, i;
	struct errorfile *ef = NULL;
	char *body = NULL, *path;
	long long code;
	FILE *f;

	if (cfg_nargs(args[0], args, nargs, 1, 2, 2, "a status code and a file", err) < 0)
		return -1;
	if (cfg_parse_int(args[1], 100, 599, &code) < 0)
		goto badcode;
	for (i = 0; i < sizeof(errorfile_codes) / sizeof(errorfile_codes[0]); i++) {
		if (errorfile_codes[i] == code)
			break;
	}
	if (i == sizeof(errorfile_codes) / sizeof(errorfile_codes[0]))
		goto badcode;
	f = fopen(args[2], "r");
	if (!f)
		return cfg_err(err, "'errorfile': cannot open '%s': %s", args[2], strerror(errno));
	body = malloc(cap + 1);
	if (body)
		len = fread(body, 1, cap + 1, f);
	fclose(f);
	if (!body)
		return cfg_err(err, "'errorfile': out of memory");
	if (len > cap) {
		free(body);
		return cfg_err(err, "'errorfile': '%s' is larger than tune.bufsize (%zu bytes)",
			       args[2], cap);
	}
	body[len] = '\0';
	if (len < 8 || strncmp(body, "HTTP/1.", 7)) {
		free(body);
		return cfg_err(
			err,
			"'errorfile': '%s' must hold a full HTTP response starting with 'HTTP/1.x'",
			args[2]);
	}
	for (i = 0; i < (size_t)px->nerrorfiles; i++) {
		if (px->errorfiles[i].status == code) {
			ef = &px->errorfiles[i];
			break;
		}
	}
	if (!ef) {
		if (px->nerrorfiles >= PX_MAX_ERRORFILES) {
			free(body);
			return cfg_err(err, "'errorfile': too many error files");
		}
		ef = &px->errorfiles[px->nerrorfiles++];
		memset(ef, 0, sizeof(*ef));
	}
	path = strdup(args[2]);
	if (!path) {
		free(body);
		return cfg_err(err, "'errorfile': out of memory");
	}
	free(ef->path);
	free(ef->body);
	ef->status = (int)code;
	ef->path = path;
	ef->body = body;
	ef->len = len;
	return 0;
badcode:
	return cfg_err(
		err,
		"'errorfile': expected a status code among 200, 400, 401, 403, 404, 405, 407, 408, 410, 413, 425, 429, 500, 501, 502, 503, 504, got '%s'",
		args[1]);
}

/* ---- backend settings ---- */

static int kw_source(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char *e = NULL;

	if (nargs < 2)
		return cfg_err(err, "'source': expected an address, got nothing");
	if (nargs > 2)
		return cfg_err(err,
			       "'source': option '%s' is not supported by lbd (only 'source ADDR')",
			       args[2]);
	if (cfg_parse_addr(args[1], &ss, &len, 0, &e) < 0) {
		cfg_err(err, "'source': invalid address '%s': %s", args[1], e ? e : "invalid");
		free(e);
		return -1;
	}
	if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)
		return cfg_err(err, "'source': expected an IPv4 or IPv6 address, got '%s'",
			       args[1]);
	ctx->px->source = ss;
	return 0;
}

static int kw_cookie(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	static const char *const flags[] = { "rewrite", "insert",   "prefix",	"indirect",
					     "nocache", "postonly", "preserve", "httponly",
					     "secure",	"dynamic",  NULL };
	struct proxy *px = ctx->px;
	uint32_t ms;
	char **words;
	int i;

	if (nargs < 2)
		return cfg_err(err, "'cookie': expected a cookie name, got nothing");
	for (i = 2; i < nargs; i++) {
		if (cfg_in_list(flags, args[i]))
			continue;
		if (!strcmp(args[i], "domain") || !strcmp(args[i], "attr")) {
			if (i + 1 >= nargs)
				return cfg_err(err, "'cookie': '%s' expects a value, got nothing",
					       args[i]);
			i++;
		} else if (!strcmp(args[i], "maxidle") || !strcmp(args[i], "maxlife")) {
			if (i + 1 >= nargs || cfg_parse_time(args[i + 1], &ms) < 0)
				return cfg_err(
					err, "'cookie': '%s' expects a time such as 30m, got '%s'",
					args[i], i + 1 < nargs ? args[i + 1] : "nothing");
			i++;
		} else {
			return cfg_err(
				err,
				"'cookie': unknown option '%s' (expected rewrite, insert, prefix, indirect, nocache, postonly, preserve, httponly, secure, domain, maxidle, maxlife, dynamic, attr)",
				args[i]);
		}
	}
	/* modes, dynamic, attribute values: checked by the L7 tier (l7/cookie.c) */
	if (l7_cookie_check(args + 2, nargs - 2, err) < 0)
		return -1;
	words = cfg_dup_words(args + 2, nargs - 2);
	if (!words || cfg_store(&px->cookie_name, args[1], args[0], err) < 0) {
		cfg_words_free(words);
		return cfg_err(err, "'cookie': out of memory");
	}
	cfg_words_free(px->cookie_args);
	px->cookie_args = words;
	return 0;
}

static int kw_description(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	char *d;

	if (cfg_nargs(args[0], args, nargs, 1, 1, -1, "a text", err) < 0)
		return -1;
	d = cfg_join(args + 1, nargs - 1);
	if (!d)
		return cfg_err(err, "'description': out of memory");
	free(ctx->px->description);
	ctx->px->description = d;
	return 0;
}

static int kw_disabled(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	if (cfg_nargs(args[0], args, nargs, 1, 0, 0, "no argument", err) < 0)
		return -1;
	ctx->px->disabled = args[0][0] == 'd';
	return 0;
}

static int kw_xlb_forward(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	if (cfg_nargs(args[0], args, nargs, 1, 1, 1, "'fullnat' or 'nat'", err) < 0)
		return -1;
	if (!strcmp(args[1], "fullnat"))
		ctx->px->fwd = FWD_FULLNAT;
	else if (!strcmp(args[1], "nat"))
		ctx->px->fwd = FWD_NAT;
	else
		return cfg_err(err, "'xlb-forward': expected 'fullnat' or 'nat', got '%s'",
			       args[1]);
	return 0;
}

static const struct cfg_kw proxy_kws[] = {
	{ SEC_FE_ONLY, "bind", kw_bind },
	{ CFG_SEC_PROXY, "mode", kw_mode },
	{ CFG_SEC_FE, "maxconn", kw_maxconn },
	{ CFG_SEC_BE, "fullconn", kw_fullconn },
	{ CFG_SEC_BE, "retries", kw_retries },
	{ CFG_SEC_BE, "http-reuse", kw_http_reuse },
	{ CFG_SEC_PROXY, "timeout", kw_timeout },
	{ CFG_SEC_BE, "balance", kw_balance },
	{ CFG_SEC_BE, "hash-type", kw_hash_type },
	{ CFG_SEC_FE, "default_backend", kw_default_backend },
	{ SEC_FE_ONLY, "use_backend", kw_use_backend },
	{ SEC_NODEF, "acl", kw_acl },
	{ SEC_NODEF, "http-request", kw_http_request },
	{ SEC_NODEF, "http-response", kw_http_request },
	{ SEC_NODEF, "tcp-request", kw_tcp_request },
	{ CFG_SEC_BE, "http-check", kw_http_check },
	{ CFG_SEC_BE, "option redispatch", kw_option_flag },
	{ CFG_SEC_PROXY, "option forwardfor", kw_option_forwardfor },
	{ CFG_SEC_BE, "option httpchk", kw_option_httpchk },
	{ CFG_SEC_FE, "option httplog", kw_option_httplog },
	{ CFG_SEC_PROXY, "option tcplog", kw_option_flag },
	{ CFG_SEC_FE, "option dontlognull", kw_option_flag },
	{ CFG_SEC_BE, "option allbackups", kw_option_flag },
	{ CFG_SEC_PROXY, "option http-keep-alive", kw_option_flag },
	{ CFG_SEC_PROXY, "option http-server-close", kw_option_flag },
	{ CFG_SEC_PROXY, "option httpclose", kw_option_flag },
	{ CFG_SEC_PROXY, "option tcpka", kw_option_flag },
	{ CFG_SEC_BE, "option log-health-checks", kw_option_flag },
	{ CFG_SEC_BE, "option abortonclose", kw_option_flag },
	{ CFG_SEC_PROXY, "option splice-auto", kw_option_flag },
	{ CFG_SEC_PROXY, "option splice-request", kw_option_flag },
	{ CFG_SEC_PROXY, "option splice-response", kw_option_flag },
	{ CFG_SEC_BE, "option tcp-check", kw_option_tcp_check },
	{ CFG_SEC_PROXY, "log", kw_log },
	{ CFG_SEC_FE, "log-format", kw_format },
	{ CFG_SEC_FE, "unique-id-format", kw_format },
	{ CFG_SEC_FE, "unique-id-header", kw_unique_id_header },
	{ SEC_FE_ONLY, "capture", kw_capture },
	{ CFG_SEC_PROXY, "stats", kw_stats },
	{ CFG_SEC_PROXY, "errorfile", kw_errorfile },
	{ CFG_SEC_BE, "source", kw_source },
	{ CFG_SEC_BE, "cookie", kw_cookie },
	{ SEC_NODEF, "description", kw_description },
	{ CFG_SEC_PROXY, "disabled", kw_disabled },
	{ CFG_SEC_PROXY, "enabled", kw_disabled },
	{ CFG_SEC_BE, "xlb-forward", kw_xlb_forward },
	{ CFG_SEC_PROXY, "contimeout", kw_removed },
	{ CFG_SEC_PROXY, "clitimeout", kw_removed },
	{ CFG_SEC_PROXY, "srvtimeout", kw_removed },
	{ CFG_SEC_PROXY, "redispatch", kw_removed },
	{ CFG_SEC_PROXY, "reqadd", kw_removed },
	{ CFG_SEC_PROXY, "reqdel", kw_removed },
	{ CFG_SEC_PROXY, "reqrep", kw_removed },
	{ CFG_SEC_PROXY, "reqirep", kw_removed },
	{ CFG_SEC_PROXY, "reqidel", kw_removed },
	{ CFG_SEC_PROXY, "reqallow", kw_removed },
	{ CFG_SEC_PROXY, "reqiallow", kw_removed },
	{ CFG_SEC_PROXY, "reqdeny", kw_removed },
	{ CFG_SEC_PROXY, "reqideny", kw_removed },
	{ CFG_SEC_PROXY, "reqtarpit", kw_removed },
	{ CFG_SEC_PROXY, "reqpass", kw_removed },
	{ CFG_SEC_PROXY, "rspadd", kw_removed },
	{ CFG_SEC_PROXY, "rspdel", kw_removed },
	{ CFG_SEC_PROXY, "rsprep", kw_removed },
	{ CFG_SEC_PROXY, "rspirep", kw_removed },
	{ CFG_SEC_PROXY, "rspdeny", kw_removed },
	{ CFG_SEC_PROXY, "block", kw_removed },
	{ 0, NULL, NULL },
};
CFG_REGISTER(proxy_kws);

/* HAProxy 2.6 proxy keywords lbd knows but does not implement (parse == NULL). */
#define UNSUPPORTED(k)                 \
	{                              \
		CFG_SEC_PROXY, k, NULL \
	}
static const struct cfg_kw proxy_unsupported_kws[] = {
	UNSUPPORTED("backlog"),
	UNSUPPORTED("bind-process"),
	UNSUPPORTED("clitcpka-cnt"),
	UNSUPPORTED("clitcpka-idle"),
	UNSUPPORTED("clitcpka-intvl"),
	UNSUPPORTED("compression"),
	UNSUPPORTED("declare"),
	UNSUPPORTED("dispatch"),
	UNSUPPORTED("email-alert"),
	UNSUPPORTED("error-log-format"),
	UNSUPPORTED("errorfiles"),
	UNSUPPORTED("errorloc"),
	UNSUPPORTED("errorloc302"),
	UNSUPPORTED("errorloc303"),
	UNSUPPORTED("external-check"),
	UNSUPPORTED("filter"),
	UNSUPPORTED("force-persist"),
	UNSUPPORTED("grace"),
	UNSUPPORTED("http-after-response"),
	UNSUPPORTED("http-error"),
	UNSUPPORTED("http-send-name-header"),
	UNSUPPORTED("id"),
	UNSUPPORTED("ignore-persist"),
	UNSUPPORTED("load-server-state-from-file"),
	UNSUPPORTED("log-format-sd"),
	UNSUPPORTED("log-tag"),
	UNSUPPORTED("max-keep-alive-queue"),
	UNSUPPORTED("monitor"),
	UNSUPPORTED("monitor-net"),
	UNSUPPORTED("monitor-uri"),
	UNSUPPORTED("persist"),
	UNSUPPORTED("rate-limit"),
	UNSUPPORTED("redirect"),
	UNSUPPORTED("retry-on"),
	UNSUPPORTED("server-state-file-name"),
	UNSUPPORTED("server-template"),
	UNSUPPORTED("srvtcpka-cnt"),
	UNSUPPORTED("srvtcpka-idle"),
	UNSUPPORTED("srvtcpka-intvl"),
	UNSUPPORTED("stick"),
	UNSUPPORTED("stick-table"),
	UNSUPPORTED("tcp-check"),
	UNSUPPORTED("tcp-response"),
	UNSUPPORTED("transparent"),
	UNSUPPORTED("use-fcgi-app"),
	UNSUPPORTED("use-server"),
	UNSUPPORTED("option accept-invalid-http-request"),
	UNSUPPORTED("option accept-invalid-http-response"),
	UNSUPPORTED("option checkcache"),
	UNSUPPORTED("option clitcpka"),
	UNSUPPORTED("option contstats"),
	UNSUPPORTED("option disable-h2-upgrade"),
	UNSUPPORTED("option dontlog-normal"),
	UNSUPPORTED("option external-check"),
	UNSUPPORTED("option h1-case-adjust-bogus-client"),
	UNSUPPORTED("option h1-case-adjust-bogus-server"),
	UNSUPPORTED("option http-buffer-request"),
	UNSUPPORTED("option http-ignore-probes"),
	UNSUPPORTED("option http-no-delay"),
	UNSUPPORTED("option http-pretend-keepalive"),
	UNSUPPORTED("option http-restrict-req-hdr-names"),
	UNSUPPORTED("option http-use-proxy-header"),
	UNSUPPORTED("option httpslog"),
	UNSUPPORTED("option idle-close-on-response"),
	UNSUPPORTED("option independent-streams"),
	UNSUPPORTED("option ldap-check"),
	UNSUPPORTED("option log-separate-errors"),
	UNSUPPORTED("option logasap"),
	UNSUPPORTED("option mysql-check"),
	UNSUPPORTED("option nolinger"),
	UNSUPPORTED("option originalto"),
	UNSUPPORTED("option persist"),
	UNSUPPORTED("option pgsql-check"),
	UNSUPPORTED("option prefer-last-server"),
	UNSUPPORTED("option redis-check"),
	UNSUPPORTED("option smtpchk"),
	UNSUPPORTED("option socket-stats"),
	UNSUPPORTED("option spop-check"),
	UNSUPPORTED("option srvtcpka"),
	UNSUPPORTED("option ssl-hello-chk"),
	UNSUPPORTED("option tcp-smart-accept"),
	UNSUPPORTED("option tcp-smart-connect"),
	UNSUPPORTED("option transparent"),
	{ 0, NULL, NULL },
};
CFG_REGISTER(proxy_unsupported_kws);
