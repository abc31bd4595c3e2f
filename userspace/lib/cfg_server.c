// SPDX-License-Identifier: MIT
/*
 * `server` and `default-server`: a backend's servers, their weights, limits,
 * health-check settings and TLS. Servers get their ids and hash keys when the
 * parser finalises the model (cfg.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"

static const char *const srv_unsupported[] = {
	"agent-addr",
	"agent-check",
	"agent-inter",
	"agent-port",
	"agent-send",
	"allow-0rtt",
	"alpn",
	"check-alpn",
	"check-proto",
	"check-send-proxy",
	"check-sni",
	"check-via-socks4",
	"ciphers",
	"ciphersuites",
	"crl-file",
	"error-limit",
	"force-sslv3",
	"force-tlsv10",
	"force-tlsv11",
	"force-tlsv12",
	"force-tlsv13",
	"init-addr",
	"log-proto",
	"max-reuse",
	"maxqueue",
	"namespace",
	"no-agent-check",
	"no-send-proxy",
	"no-send-proxy-v2",
	"no-send-proxy-v2-ssl",
	"no-send-proxy-v2-ssl-cn",
	"no-ssl-reuse",
	"no-sslv3",
	"no-tfo",
	"no-tls-tickets",
	"no-tlsv10",
	"no-tlsv11",
	"no-tlsv12",
	"no-tlsv13",
	"no-verifyhost",
	"non-stick",
	"npn",
	"observe",
	"on-error",
	"on-marked-down",
	"on-marked-up",
	"pool-low-conn",
	"pool-max-conn",
	"pool-purge-delay",
	"proto",
	"proxy-v2-options",
	"redir",
	"resolve-net",
	"resolve-opts",
	"resolve-prefer",
	"slowstart",
	"socks4",
	"source",
	"ssl-max-ver",
	"ssl-min-ver",
	"ssl-reuse",
	"stick",
	"tcp-ut",
	"tfo",
	"tls-tickets",
	"track",
	"verifyhost",
	"ws",
	NULL,
};

static int store(char **dst, const char *s, char **err)
{
	char *n = strdup(s);

	if (!n)
		return cfg_err(err, "out of memory");
	free(*dst);
	*dst = n;
	return 0;
}

/* A file option: relative paths are taken from `base` (ca-base, crt-base). */
static int store_file(char **dst, const char *kw, const char *opt, const char *path,
		      const char *base, char **err)
{
	char *full = NULL;

	if (path[0] != '/' && base) {
		if (asprintf(&full, "%s/%s", base, path) < 0)
			return cfg_err(err, "'%s': out of memory", kw);
	} else {
		full = strdup(path);
		if (!full)
			return cfg_err(err, "'%s': out of memory", kw);
	}
	if (access(full, R_OK)) {
		cfg_err(err, "'%s': '%s' cannot read '%s': %s", kw, opt, full, strerror(errno));
		free(full);
		return -1;
	}
	free(*dst);
	*dst = full;
	return 0;
}

/*
 * Options from args[first..] applied to s. `kw` names the line in messages
 * ("server web1" or "default-server"); `is_default` refuses the options that
 * only make sense per server.
 */
static int srv_options(struct cfg_ctx *ctx, struct server *s, char **args, int nargs, int first,
		       const char *kw, bool is_default, char **err)
{
	const struct global *g = &ctx->m->global;
	struct server *o;
	long long v;
	uint32_t ms;
	int i;

	for (i = first; i < nargs; i++) {
		const char *opt = args[i], *val = i + 1 < nargs ? args[i + 1] : NULL;

		if (!strcmp(opt, "backup")) {
			s->backup = true;
		} else if (!strcmp(opt, "no-backup")) {
			s->backup = false;
		} else if (!strcmp(opt, "disabled")) {
			s->admin = SRV_ADMIN_MAINT;
		} else if (!strcmp(opt, "enabled")) {
			s->admin = SRV_ADMIN_READY;
		} else if (!strcmp(opt, "check")) {
			s->check.enabled = true;
		} else if (!strcmp(opt, "no-check")) {
			s->check.enabled = false;
		} else if (!strcmp(opt, "ssl")) {
			s->ssl = true;
		} else if (!strcmp(opt, "no-ssl")) {
			s->ssl = false;
		} else if (!strcmp(opt, "check-ssl")) {
			s->check.ssl = SRV_CHK_SSL_ON;
		} else if (!strcmp(opt, "no-check-ssl")) {
			s->check.ssl = SRV_CHK_SSL_OFF;
		} else if (!strcmp(opt, "resolvers")) {
			return cfg_err(
				err,
				"'%s': 'resolvers' (DNS resolution at run time) is not supported by lbd",
				kw);
		} else if (!strncmp(opt, "send-proxy", 10)) {
			return cfg_err(err, "'%s': '%s' (PROXY protocol) is not supported by lbd",
				       kw, opt);
		} else if (cfg_in_list(srv_unsupported, opt)) {
			return cfg_err(
				err,
				"'%s': option '%s' is an HAProxy option that lbd does not support",
				kw, opt);
		} else {
			/* Options with a value. */
			static const char *const valued[] = {
				"weight", "maxconn", "minconn", "inter", "fastinter", "downinter",
				"rise",	  "fall",    "port",	"addr",	 "cookie",    "id",
				"verify", "ca-file", "crt",	"sni",	 NULL,
			};

			if (!cfg_in_list(valued, opt))
				return cfg_err(
					err,
					"'%s': unknown option '%s' (expected weight, maxconn, minconn, backup, disabled, enabled, check, no-check, inter, fastinter, downinter, rise, fall, port, addr, cookie, id, ssl, no-ssl, check-ssl, no-check-ssl, verify, ca-file, crt or sni)",
					kw, opt);
			if (!val)
				return cfg_err(err,
					       "'%s': option '%s' expects a value, got nothing", kw,
					       opt);
			i++;
			if (!strcmp(opt, "weight")) {
				if (cfg_parse_int(val, 0, 256, &v) < 0)
					return cfg_err(
						err,
						"'%s': 'weight' expects a number between 0 and 256, got '%s'",
						kw, val);
				s->weight = s->iweight = (int)v;
			} else if (!strcmp(opt, "maxconn") || !strcmp(opt, "minconn")) {
				if (cfg_parse_int(val, 0, 10000000, &v) < 0)
					return cfg_err(
						err,
						"'%s': '%s' expects a number of connections, got '%s'",
						kw, opt, val);
				if (opt[1] == 'a')
					s->maxconn = (int)v;
				else
					s->minconn = (int)v;
			} else if (!strcmp(opt, "inter") || !strcmp(opt, "fastinter") ||
				   !strcmp(opt, "downinter")) {
				if (cfg_parse_time(val, &ms) < 0 || !ms)
					return cfg_err(
						err,
						"'%s': '%s' expects a time such as 2s, got '%s'",
						kw, opt, val);
				if (opt[0] == 'i')
					s->check.inter = ms;
				else if (opt[0] == 'f')
					s->check.fastinter = ms;
				else
					s->check.downinter = ms;
			} else if (!strcmp(opt, "rise") || !strcmp(opt, "fall")) {
				if (cfg_parse_int(val, 1, 1000, &v) < 0)
					return cfg_err(
						err,
						"'%s': '%s' expects a count between 1 and 1000, got '%s'",
						kw, opt, val);
				if (opt[0] == 'r')
					s->check.rise = (int)v;
				else
					s->check.fall = (int)v;
			} else if (!strcmp(opt, "port")) {
				if (cfg_parse_int(val, 1, 65535, &v) < 0)
					return cfg_err(
						err,
						"'%s': 'port' expects a port between 1 and 65535, got '%s'",
						kw, val);
				s->check.port = (int)v;
			} else if (!strcmp(opt, "addr")) {
				struct sockaddr_storage ss;
				socklen_t len;
				char *e = NULL;

				if (cfg_parse_addr(val, &ss, &len, 0, &e) < 0 ||
				    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)) {
					cfg_err(err,
						"'%s': 'addr' expects an IPv4 or IPv6 address, got '%s'%s%s",
						kw, val, e ? ": " : "", e ? e : "");
					free(e);
					return -1;
				}
				s->check.addr = ss;
			} else if (!strcmp(opt, "cookie") || !strcmp(opt, "id")) {
				if (is_default)
					return cfg_err(
						err,
						"'%s': option '%s' is per server, not allowed here",
						kw, opt);
				if (opt[0] == 'c') {
					if (store(&s->cookie, val, err) < 0)
						return -1;
					continue;
				}
				if (cfg_parse_int(val, 1, 2147483647, &v) < 0)
					return cfg_err(
						err,
						"'%s': 'id' expects a positive number, got '%s'",
						kw, val);
				list_for_each(o, &s->be->servers, list) {
					if (o->puid == (uint32_t)v)
						return cfg_err(
							err,
							"'%s': id %lld is already used by server '%s' (at %s:%d)",
							kw, v, o->name, o->loc.file, o->loc.line);
				}
				s->puid = (uint32_t)v;
			} else if (!strcmp(opt, "verify")) {
				if (!strcmp(val, "none"))
					s->verify_none = true;
				else if (!strcmp(val, "required"))
					s->verify_none = false;
				else
					return cfg_err(
						err,
						"'%s': 'verify' expects 'none' or 'required', got '%s'",
						kw, val);
			} else if (!strcmp(opt, "ca-file")) {
				if (store_file(&s->ca_file, kw, opt, val, g->ca_base, err) < 0)
					return -1;
			} else if (!strcmp(opt, "crt")) {
				if (store_file(&s->crt, kw, opt, val, g->crt_base, err) < 0)
					return -1;
			} else if (!strcmp(opt, "sni")) {
				if (store(&s->sni, val, err) < 0)
					return -1;
			}
		}
	}
	if (s->maxconn && s->minconn > s->maxconn)
		return cfg_err(err, "'%s': 'minconn' (%d) is larger than 'maxconn' (%d)", kw,
			       s->minconn, s->maxconn);
	return 0;
}

static int kw_server(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	struct proxy *be = ctx->px;
	struct server *s, *o;
	char *e = NULL, *kw = NULL;
	int ret = -1;

	if (nargs < 2)
		return cfg_err(
			err, "'server': expected 'server NAME ADDR[:PORT] [options]', got nothing");
	if (!cfg_valid_name(args[1]))
		return cfg_err(
			err,
			"'server': invalid name '%s' (letters, digits, '-', '_', '.' and ':' only)",
			args[1]);
	if (nargs < 3)
		return cfg_err(err,
			       "'server %s': expected an address such as 10.0.0.1:80, got nothing",
			       args[1]);
	o = backend_find_server(be, args[1]);
	if (o)
		return cfg_err(
			err, "'server %s': %s '%s' already has a server with this name (at %s:%d)",
			args[1], cfg_section_name(ctx->section), be->name, o->loc.file,
			o->loc.line);
	if (asprintf(&kw, "server %s", args[1]) < 0)
		return cfg_err(err, "'server': out of memory");
	s = server_new(be, args[1]);
	if (!s) {
		cfg_err(err, "'server': out of memory");
		goto out;
	}
	s->loc.file = ctx->file;
	s->loc.line = ctx->line;
	if (cfg_parse_addr(args[2], &s->addr, &s->addrlen, 0, &e) < 0) {
		cfg_err(err, "'%s': invalid address '%s': %s", kw, args[2], e ? e : "invalid");
		goto fail;
	}
	if (s->addr.ss_family == AF_INET &&
	    ((struct sockaddr_in *)&s->addr)->sin_addr.s_addr == htonl(INADDR_ANY)) {
		cfg_err(err, "'%s': expected a server address, got '%s' (any address)", kw,
			args[2]);
		goto fail;
	}
	if (s->addr.ss_family == AF_INET6 && !memcmp(&((struct sockaddr_in6 *)&s->addr)->sin6_addr,
						     &in6addr_any, sizeof(in6addr_any))) {
		cfg_err(err, "'%s': expected a server address, got '%s' (any address)", kw,
			args[2]);
		goto fail;
	}
	s->addr_str = strdup(args[2]);
	if (!s->addr_str) {
		cfg_err(err, "'%s': out of memory", kw);
		goto fail;
	}
	if (srv_options(ctx, s, args, nargs, 3, kw, false, err) < 0)
		goto fail;
	list_add_tail(&s->list, &be->servers);
	be->nservers++;
	ret = 0;
	goto out;
fail:
	server_put(s);
out:
	free(e);
	free(kw);
	return ret;
}

static int kw_default_server(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	if (!ctx->px->defsrv)
		return cfg_err(err, "'default-server': out of memory");
	return srv_options(ctx, ctx->px->defsrv, args, nargs, 1, "default-server", true, err);
}

static const struct cfg_kw server_kws[] = {
	{ CFG_SEC_BACKEND | CFG_SEC_LISTEN, "server", kw_server },
	{ CFG_SEC_BE, "default-server", kw_default_server },
	{ 0, NULL, NULL },
};
CFG_REGISTER(server_kws);
