// SPDX-License-Identifier: MIT
/*
 * Keywords of the `global` section: process settings, the runtime API
 * socket, logging, TLS defaults, tunables and lbd's own XDP settings.
 */
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>

#include "cfg.h"

#define G(ctx) (&(ctx)->m->global)

/* `KW VALUE`: exactly one word stored in *dst. */
static int one_str(char **dst, char **args, int nargs, const char *what, char **err)
{
	if (cfg_nargs(args[0], args, nargs, 1, 1, 1, what, err) < 0)
		return -1;
	return cfg_store(dst, args[1], args[0], err);
}

/* `KW N` within [min, max]. */
static int one_int(char **args, int nargs, long long min, long long max, const char *what,
		   long long *v, char **err)
{
	if (cfg_nargs(args[0], args, nargs, 1, 1, 1, what, err) < 0)
		return -1;
	if (cfg_parse_int(args[1], min, max, v) < 0)
		return cfg_err(err, "'%s': expected %s, got '%s'", args[0], what, args[1]);
	return 0;
}

static int kw_log(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	if (ctx->no) {
		if (nargs > 1)
			return cfg_err(err, "'no log': expected no argument, got '%s'", args[1]);
		logs_free(&G(ctx)->logs);
		return 0;
	}
	return cfg_parse_log(args, nargs, &G(ctx)->logs, NULL, err);
}

static int kw_maxconn(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	long long v;

	if (one_int(args, nargs, 1, 10000000, "a number of connections (1..10000000)", &v, err))
		return -1;
	G(ctx)->maxconn = (int)v;
	return 0;
}

static int kw_nbthread(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	long long v;

	if (one_int(args, nargs, 1, 64, "a number of threads (1..64)", &v, err))
		return -1;
	G(ctx)->nbthread = (int)v;
	return 0;
}

static int kw_nbproc(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	return cfg_err(err, "'nbproc' was removed in HAProxy 2.5; use 'nbthread'");
}

static int kw_daemon(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	if (cfg_nargs(args[0], args, nargs, 1, 0, 0, "no argument", err) < 0)
		return -1;
	G(ctx)->daemon = true;
	return 0;
}

static int kw_pidfile(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	return one_str(&G(ctx)->pidfile, args, nargs, "a file path", err);
}

static int kw_chroot(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	return one_str(&G(ctx)->chroot, args, nargs, "a directory", err);
}

static int kw_user(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	struct passwd *pw;

	if (cfg_nargs(args[0], args, nargs, 1, 1, 1, "a user name", err) < 0)
		return -1;
	pw = getpwnam(args[1]);
	if (!pw)
		return cfg_err(err, "'user': unknown user '%s'", args[1]);
	G(ctx)->uid = (int)pw->pw_uid;
	return cfg_store(&G(ctx)->user, args[1], args[0], err);
}

static int kw_group(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	struct group *gr;

	if (cfg_nargs(args[0], args, nargs, 1, 1, 1, "a group name", err) < 0)
		return -1;
	gr = getgrnam(args[1]);
	if (!gr)
		return cfg_err(err, "'group': unknown group '%s'", args[1]);
	G(ctx)->gid = (int)gr->gr_gid;
	return cfg_store(&G(ctx)->group, args[1], args[0], err);
}

static int kw_uid(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	long long v;

	if (one_int(args, nargs, 0, 2147483647, "a numeric user id", &v, err))
		return -1;
	G(ctx)->uid = (int)v;
	return 0;
}

static int kw_gid(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	long long v;

	if (one_int(args, nargs, 0, 2147483647, "a numeric group id", &v, err))
		return -1;
	G(ctx)->gid = (int)v;
	return 0;
}

/* `stats socket PATH [options]`, `stats timeout T`. */
static int stats_socket(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	struct sockaddr_storage ss;
	struct stats_socket *sock;
	struct passwd *pw;
	struct group *gr;
	const char *path;
	socklen_t len;
	char *e = NULL;
	long long v;
	int i;

	if (nargs < 3)
		return cfg_err(
			err,
			"'stats socket': expected a path (/run/lbd.sock) or ADDR:PORT, got nothing");
	path = args[2];
	if (!strncmp(path, "fd@", 3)) {
		if (cfg_parse_int(path + 3, 0, 65535, &v) < 0)
			return cfg_err(err, "'stats socket': expected fd@N, got '%s'", path);
	} else if (cfg_parse_addr(path, &ss, &len, -1, &e) < 0) {
		cfg_err(err, "'stats socket': invalid address '%s': %s", path,
			e ? e : "invalid address");
		free(e);
		return -1;
	}
	sock = calloc(1, sizeof(*sock));
	if (!sock)
		return cfg_err(err, "'stats socket': out of memory");
	sock->mode = -1;
	sock->uid = -1;
	sock->gid = -1;
	sock->level = 1; /* operator, HAProxy's default */
	sock->loc.file = ctx->file;
	sock->loc.line = ctx->line;
	for (i = 3; i < nargs; i++) {
		const char *opt = args[i], *val = i + 1 < nargs ? args[i + 1] : NULL;

		if (!strcmp(opt, "mode")) {
			char *end;
			long m;

			if (!val)
				goto missing;
			m = strtol(val, &end, 8);
			if (!*val || *end || m < 0 || m > 07777) {
				cfg_err(err,
					"'stats socket': 'mode' expects an octal mode such as 660, got '%s'",
					val);
				goto fail;
			}
			sock->mode = (int)m;
			i++;
		} else if (!strcmp(opt, "uid") || !strcmp(opt, "gid")) {
			if (!val)
				goto missing;
			if (cfg_parse_int(val, 0, 2147483647, &v) < 0) {
				cfg_err(err, "'stats socket': '%s' expects a number, got '%s'", opt,
					val);
				goto fail;
			}
			if (opt[0] == 'u')
				sock->uid = (int)v;
			else
				sock->gid = (int)v;
			i++;
		} else if (!strcmp(opt, "user")) {
			if (!val)
				goto missing;
			pw = getpwnam(val);
			if (!pw) {
				cfg_err(err, "'stats socket': unknown user '%s'", val);
				goto fail;
			}
			sock->uid = (int)pw->pw_uid;
			i++;
		} else if (!strcmp(opt, "group")) {
			if (!val)
				goto missing;
			gr = getgrnam(val);
			if (!gr) {
				cfg_err(err, "'stats socket': unknown group '%s'", val);
				goto fail;
			}
			sock->gid = (int)gr->gr_gid;
			i++;
		} else if (!strcmp(opt, "level")) {
			if (!val)
				goto missing;
			if (!strcmp(val, "user")) {
				sock->level = 0;
			} else if (!strcmp(val, "operator")) {
				sock->level = 1;
			} else if (!strcmp(val, "admin")) {
				sock->level = 2;
			} else {
				cfg_err(err,
					"'stats socket': 'level' expects user, operator or admin, got '%s'",
					val);
				goto fail;
			}
			i++;
		} else if (!strcmp(opt, "expose-fd")) {
			if (!val)
				goto missing;
			if (strcmp(val, "listeners")) {
				cfg_err(err,
					"'stats socket': 'expose-fd' expects 'listeners', got '%s'",
					val);
				goto fail;
			}
			sock->expose_fd = true;
			i++;
		} else if (!strcmp(opt, "process") || !strcmp(opt, "thread") ||
			   !strcmp(opt, "severity-output") || !strcmp(opt, "accept-proxy") ||
			   !strcmp(opt, "name") || !strcmp(opt, "maxconn") ||
			   !strcmp(opt, "backlog") || !strcmp(opt, "ssl") || !strcmp(opt, "crt")) {
			cfg_err(err, "'stats socket': option '%s' is not supported by lbd", opt);
			goto fail;
		} else {
			cfg_err(err,
				"'stats socket': unknown option '%s' (expected mode, uid, gid, user, group, level or expose-fd)",
				opt);
			goto fail;
		}
	}
	sock->path = strdup(path);
	if (!sock->path) {
		cfg_err(err, "'stats socket': out of memory");
		goto fail;
	}
	list_add_tail(&sock->list, &G(ctx)->stats_sockets);
	return 0;
missing:
	cfg_err(err, "'stats socket': option '%s' expects a value, got nothing", args[i]);
fail:
	free(sock);
	return -1;
}

static int kw_stats(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	uint32_t ms;

	if (nargs < 2)
		return cfg_err(err, "'stats': expected 'socket' or 'timeout', got nothing");
	if (!strcmp(args[1], "socket"))
		return stats_socket(ctx, args, nargs, err);
	if (!strcmp(args[1], "timeout")) {
		if (cfg_nargs("stats timeout", args, nargs, 2, 1, 1, "a time such as 30s", err) < 0)
			return -1;
		if (cfg_parse_time(args[2], &ms) < 0 || !ms)
			return cfg_err(err,
				       "'stats timeout': expected a time such as 30s, got '%s'",
				       args[2]);
		G(ctx)->stats_timeout = ms;
		return 0;
	}
	if (!strcmp(args[1], "maxconn") || !strcmp(args[1], "bind-process"))
		return cfg_err(err, "'stats %s' is an HAProxy keyword that lbd does not support",
			       args[1]);
	return cfg_err(err, "'stats': expected 'socket' or 'timeout', got '%s'", args[1]);
}

static int kw_ca_base(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	return one_str(&G(ctx)->ca_base, args, nargs, "a directory", err);
}

static int kw_crt_base(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	return one_str(&G(ctx)->crt_base, args, nargs, "a directory", err);
}

static int kw_ssl_ciphers(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	struct global *g = G(ctx);
	char **dst;

	if (!strcmp(args[0], "ssl-default-bind-ciphers"))
		dst = &g->ssl_bind_ciphers;
	else if (!strcmp(args[0], "ssl-default-bind-ciphersuites"))
		dst = &g->ssl_bind_ciphersuites;
	else if (!strcmp(args[0], "ssl-default-server-ciphers"))
		dst = &g->ssl_server_ciphers;
	else
		dst = &g->ssl_server_ciphersuites;
	return one_str(dst, args, nargs, "a cipher list (OpenSSL syntax)", err);
}

/* Options of ssl-default-bind-options / ssl-default-server-options. */
static int kw_ssl_options(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	static const char *const flags[] = {
		"no-sslv3",	"no-tlsv10",	  "no-tlsv11",	  "no-tlsv12",
		"no-tlsv13",	"no-tls-tickets", "force-sslv3",  "force-tlsv10",
		"force-tlsv11", "force-tlsv12",	  "force-tlsv13", "prefer-client-ciphers",
		NULL,
	};
	static const char *const versions[] = { "SSLv3",   "TLSv1.0", "TLSv1.1",
						"TLSv1.2", "TLSv1.3", NULL };
	bool bind = !strcmp(args[0], "ssl-default-bind-options");
	char *joined;
	int i, j;

	if (cfg_nargs(args[0], args, nargs, 1, 1, -1, "options such as 'ssl-min-ver TLSv1.2'",
		      err) < 0)
		return -1;
	for (i = 1; i < nargs; i++) {
		if (!strcmp(args[i], "ssl-min-ver") || !strcmp(args[i], "ssl-max-ver")) {
			if (i + 1 >= nargs)
				return cfg_err(
					err,
					"'%s': '%s' expects a version (SSLv3, TLSv1.0 .. TLSv1.3), got nothing",
					args[0], args[i]);
			for (j = 0; versions[j]; j++) {
				if (!strcmp(versions[j], args[i + 1]))
					break;
			}
			if (!versions[j])
				return cfg_err(
					err,
					"'%s': '%s' expects SSLv3, TLSv1.0, TLSv1.1, TLSv1.2 or TLSv1.3, got '%s'",
					args[0], args[i], args[i + 1]);
			i++;
			continue;
		}
		for (j = 0; flags[j]; j++) {
			if (!strcmp(flags[j], args[i]))
				break;
		}
		if (!flags[j] || (!bind && !strcmp(args[i], "prefer-client-ciphers")))
			return cfg_err(
				err,
				"'%s': unknown option '%s' (expected ssl-min-ver, ssl-max-ver, no-sslv3, no-tlsv1x, no-tls-tickets, force-*%s)",
				args[0], args[i], bind ? ", prefer-client-ciphers" : "");
	}
	joined = cfg_join(args + 1, nargs - 1);
	if (!joined)
		return cfg_err(err, "'%s': out of memory", args[0]);
	if (bind) {
		free(G(ctx)->ssl_bind_options);
		G(ctx)->ssl_bind_options = joined;
	} else {
		free(G(ctx)->ssl_server_options);
		G(ctx)->ssl_server_options = joined;
	}
	return 0;
}

static int kw_ssl_server_verify(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	if (cfg_nargs(args[0], args, nargs, 1, 1, 1, "'none' or 'required'", err) < 0)
		return -1;
	if (!strcmp(args[1], "none"))
		G(ctx)->ssl_server_verify_none = true;
	else if (!strcmp(args[1], "required"))
		G(ctx)->ssl_server_verify_none = false;
	else
		return cfg_err(err, "'%s': expected 'none' or 'required', got '%s'", args[0],
			       args[1]);
	return 0;
}

static int kw_ssl_dh_param_file(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	if (cfg_nargs(args[0], args, nargs, 1, 1, 1, "a file with DH parameters", err) < 0)
		return -1;
	if (access(args[1], R_OK))
		return cfg_err(err, "'%s': cannot read '%s': %m", args[0], args[1]);
	return cfg_store(&G(ctx)->ssl_dh_param_file, args[1], args[0], err);
}

static int kw_tune_bufsize(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	uint64_t v;

	if (cfg_nargs(args[0], args, nargs, 1, 1, 1, "a size in bytes such as 16384", err) < 0)
		return -1;
	if (cfg_parse_size(args[1], &v) < 0 || v < 1024 || v > (64u << 20))
		return cfg_err(err, "'%s': expected a size between 1024 and 64m, got '%s'", args[0],
			       args[1]);
	G(ctx)->tune_bufsize = (int)v;
	return 0;
}

static int kw_tune_maxhdr(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	long long v;

	if (one_int(args, nargs, 1, 32767, "a number of headers (1..32767)", &v, err))
		return -1;
	G(ctx)->tune_maxhdr = (int)v;
	return 0;
}

static int kw_tune_dh(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	long long v;

	if (one_int(args, nargs, 1024, 16384, "a number of bits (1024..16384)", &v, err))
		return -1;
	G(ctx)->tune_ssl_dh_param = (int)v;
	return 0;
}

static int kw_spread_checks(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	long long v;

	if (one_int(args, nargs, 0, 50, "a percentage (0..50)", &v, err))
		return -1;
	G(ctx)->spread_checks = (int)v;
	return 0;
}

static int kw_hard_stop_after(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	uint32_t ms;

	if (cfg_nargs(args[0], args, nargs, 1, 1, 1, "a time such as 30s", err) < 0)
		return -1;
	if (cfg_parse_time(args[1], &ms) < 0)
		return cfg_err(err, "'%s': expected a time such as 30s, got '%s'", args[0],
			       args[1]);
	G(ctx)->hard_stop_after = ms;
	return 0;
}

static int kw_node(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	return one_str(&G(ctx)->node, args, nargs, "a node name", err);
}

static int kw_description(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	char *d;

	if (cfg_nargs(args[0], args, nargs, 1, 1, -1, "a text", err) < 0)
		return -1;
	d = cfg_join(args + 1, nargs - 1);
	if (!d)
		return cfg_err(err, "'%s': out of memory", args[0]);
	free(G(ctx)->description);
	G(ctx)->description = d;
	return 0;
}

/* ---- lbd's own keywords ---- */

static int kw_xlb_interface(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	const char *p, *e;
	size_t len;

	if (cfg_nargs(args[0], args, nargs, 1, 1, 1, "interface names such as eth0,eth1", err) < 0)
		return -1;
	for (p = args[1];; p = e + 1) {
		e = strchr(p, ',');
		len = e ? (size_t)(e - p) : strlen(p);
		if (!len || len >= IF_NAMESIZE || memchr(p, '/', len) || memchr(p, ' ', len) ||
		    (len == 1 && p[0] == '.') || (len == 2 && !strncmp(p, "..", 2)))
			return cfg_err(err, "'%s': invalid interface name '%.*s' in '%s'", args[0],
				       (int)len, p, args[1]);
		if (!e)
			break;
	}
	return cfg_store(&G(ctx)->xdp_ifaces, args[1], args[0], err);
}

static int kw_xlb_xdp_mode(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	if (cfg_nargs(args[0], args, nargs, 1, 1, 1, "native, generic or auto", err) < 0)
		return -1;
	if (!strcmp(args[1], "native"))
		G(ctx)->xdp_mode = 0;
	else if (!strcmp(args[1], "generic"))
		G(ctx)->xdp_mode = 1;
	else if (!strcmp(args[1], "auto"))
		G(ctx)->xdp_mode = 2;
	else
		return cfg_err(err, "'%s': expected native, generic or auto, got '%s'", args[0],
			       args[1]);
	return 0;
}

static int kw_xlb_pin_root(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	if (cfg_nargs(args[0], args, nargs, 1, 1, 1, "an absolute path under a bpffs", err) < 0)
		return -1;
	if (args[1][0] != '/' || strlen(args[1]) >= 4000)
		return cfg_err(err,
			       "'%s': expected an absolute path such as /sys/fs/bpf/xlb, got '%s'",
			       args[0], args[1]);
	return cfg_store(&G(ctx)->bpf_pin_root, args[1], args[0], err);
}

static int kw_xlb_state_file(struct cfg_ctx *ctx, char **args, int nargs, char **err)
{
	return one_str(&G(ctx)->state_file, args, nargs, "a file path", err);
}

static const struct cfg_kw global_kws[] = {
	{ CFG_SEC_GLOBAL, "log", kw_log },
	{ CFG_SEC_GLOBAL, "maxconn", kw_maxconn },
	{ CFG_SEC_GLOBAL, "nbthread", kw_nbthread },
	{ CFG_SEC_GLOBAL, "nbproc", kw_nbproc },
	{ CFG_SEC_GLOBAL, "daemon", kw_daemon },
	{ CFG_SEC_GLOBAL, "pidfile", kw_pidfile },
	{ CFG_SEC_GLOBAL, "chroot", kw_chroot },
	{ CFG_SEC_GLOBAL, "user", kw_user },
	{ CFG_SEC_GLOBAL, "group", kw_group },
	{ CFG_SEC_GLOBAL, "uid", kw_uid },
	{ CFG_SEC_GLOBAL, "gid", kw_gid },
	{ CFG_SEC_GLOBAL, "stats", kw_stats },
	{ CFG_SEC_GLOBAL, "ca-base", kw_ca_base },
	{ CFG_SEC_GLOBAL, "crt-base", kw_crt_base },
	{ CFG_SEC_GLOBAL, "ssl-default-bind-ciphers", kw_ssl_ciphers },
	{ CFG_SEC_GLOBAL, "ssl-default-bind-ciphersuites", kw_ssl_ciphers },
	{ CFG_SEC_GLOBAL, "ssl-default-server-ciphers", kw_ssl_ciphers },
	{ CFG_SEC_GLOBAL, "ssl-default-server-ciphersuites", kw_ssl_ciphers },
	{ CFG_SEC_GLOBAL, "ssl-default-bind-options", kw_ssl_options },
	{ CFG_SEC_GLOBAL, "ssl-default-server-options", kw_ssl_options },
	{ CFG_SEC_GLOBAL, "ssl-server-verify", kw_ssl_server_verify },
	{ CFG_SEC_GLOBAL, "ssl-dh-param-file", kw_ssl_dh_param_file },
	{ CFG_SEC_GLOBAL, "tune.bufsize", kw_tune_bufsize },
	{ CFG_SEC_GLOBAL, "tune.http.maxhdr", kw_tune_maxhdr },
	{ CFG_SEC_GLOBAL, "tune.ssl.default-dh-param", kw_tune_dh },
	{ CFG_SEC_GLOBAL, "spread-checks", kw_spread_checks },
	{ CFG_SEC_GLOBAL, "hard-stop-after", kw_hard_stop_after },
	{ CFG_SEC_GLOBAL, "node", kw_node },
	{ CFG_SEC_GLOBAL, "description", kw_description },
	{ CFG_SEC_GLOBAL, "xlb-interface", kw_xlb_interface },
	{ CFG_SEC_GLOBAL, "xlb-xdp-mode", kw_xlb_xdp_mode },
	{ CFG_SEC_GLOBAL, "xlb-pin-root", kw_xlb_pin_root },
	{ CFG_SEC_GLOBAL, "xlb-state-file", kw_xlb_state_file },
	{ 0, NULL, NULL },
};
CFG_REGISTER(global_kws);

/* HAProxy 2.6 global keywords lbd knows but does not implement (parse == NULL). */
#define UNSUPPORTED(k)                  \
	{                               \
		CFG_SEC_GLOBAL, k, NULL \
	}
static const struct cfg_kw global_unsupported_kws[] = {
	UNSUPPORTED("51degrees-cache-size"),
	UNSUPPORTED("51degrees-data-file"),
	UNSUPPORTED("51degrees-property-name-list"),
	UNSUPPORTED("51degrees-property-separator"),
	UNSUPPORTED("busy-polling"),
	UNSUPPORTED("cluster-secret"),
	UNSUPPORTED("cpu-map"),
	UNSUPPORTED("debug"),
	UNSUPPORTED("default-path"),
	UNSUPPORTED("deviceatlas-json-file"),
	UNSUPPORTED("deviceatlas-log-level"),
	UNSUPPORTED("deviceatlas-properties-cookie"),
	UNSUPPORTED("deviceatlas-separator"),
	UNSUPPORTED("expose-experimental-directives"),
	UNSUPPORTED("external-check"),
	UNSUPPORTED("fd-hard-limit"),
	UNSUPPORTED("grace"),
	UNSUPPORTED("h1-accept-payload-with-any-method"),
	UNSUPPORTED("h1-case-adjust"),
	UNSUPPORTED("h1-case-adjust-file"),
	UNSUPPORTED("h2-workaround-bogus-websocket-clients"),
	UNSUPPORTED("httpclient.resolvers.id"),
	UNSUPPORTED("httpclient.resolvers.prefer"),
	UNSUPPORTED("httpclient.ssl.ca-file"),
	UNSUPPORTED("httpclient.ssl.verify"),
	UNSUPPORTED("insecure-fork-wanted"),
	UNSUPPORTED("insecure-setuid-wanted"),
	UNSUPPORTED("issuers-chain-path"),
	UNSUPPORTED("localpeer"),
	UNSUPPORTED("log-send-hostname"),
	UNSUPPORTED("log-tag"),
	UNSUPPORTED("lua-load"),
	UNSUPPORTED("lua-load-per-thread"),
	UNSUPPORTED("lua-prepend-path"),
	UNSUPPORTED("master-worker"),
	UNSUPPORTED("max-spread-checks"),
	UNSUPPORTED("maxcompcpuusage"),
	UNSUPPORTED("maxcomprate"),
	UNSUPPORTED("maxconnrate"),
	UNSUPPORTED("maxpipes"),
	UNSUPPORTED("maxsessrate"),
	UNSUPPORTED("maxsslconn"),
	UNSUPPORTED("maxsslrate"),
	UNSUPPORTED("maxzlibmem"),
	UNSUPPORTED("mworker-max-reloads"),
	UNSUPPORTED("no-memory-trimming"),
	UNSUPPORTED("noepoll"),
	UNSUPPORTED("noevports"),
	UNSUPPORTED("nogetaddrinfo"),
	UNSUPPORTED("nokqueue"),
	UNSUPPORTED("nopoll"),
	UNSUPPORTED("noreuseport"),
	UNSUPPORTED("nosplice"),
	UNSUPPORTED("numa-cpu-mapping"),
	UNSUPPORTED("pp2-never-send-local"),
	UNSUPPORTED("presetenv"),
	UNSUPPORTED("profiling.tasks"),
	UNSUPPORTED("quiet"),
	UNSUPPORTED("resetenv"),
	UNSUPPORTED("server-state-base"),
	UNSUPPORTED("server-state-file"),
	UNSUPPORTED("set-dumpable"),
	UNSUPPORTED("set-var"),
	UNSUPPORTED("setenv"),
	UNSUPPORTED("ssl-default-bind-curves"),
	UNSUPPORTED("ssl-engine"),
	UNSUPPORTED("ssl-mode-async"),
	UNSUPPORTED("ssl-propquery"),
	UNSUPPORTED("ssl-provider"),
	UNSUPPORTED("ssl-provider-path"),
	UNSUPPORTED("ssl-skip-self-issued-ca"),
	UNSUPPORTED("strict-limits"),
	UNSUPPORTED("thread-group"),
	UNSUPPORTED("thread-groups"),
	UNSUPPORTED("ulimit-n"),
	UNSUPPORTED("unix-bind"),
	UNSUPPORTED("unsetenv"),
	UNSUPPORTED("wurfl-cache-size"),
	UNSUPPORTED("wurfl-data-file"),
	UNSUPPORTED("wurfl-information-list"),
	UNSUPPORTED("wurfl-information-list-separator"),
	UNSUPPORTED("zero-warning"),
	UNSUPPORTED("tune.buffers.limit"),
	UNSUPPORTED("tune.buffers.reserve"),
	UNSUPPORTED("tune.comp.maxlevel"),
	UNSUPPORTED("tune.fail-alloc"),
	UNSUPPORTED("tune.fd.edge-triggered"),
	UNSUPPORTED("tune.h2.header-table-size"),
	UNSUPPORTED("tune.h2.initial-window-size"),
	UNSUPPORTED("tune.h2.max-concurrent-streams"),
	UNSUPPORTED("tune.http.cookielen"),
	UNSUPPORTED("tune.http.logurilen"),
	UNSUPPORTED("tune.idle-pool.shared"),
	UNSUPPORTED("tune.idletimer"),
	UNSUPPORTED("tune.lua.forced-yield"),
	UNSUPPORTED("tune.lua.maxmem"),
	UNSUPPORTED("tune.lua.service-timeout"),
	UNSUPPORTED("tune.lua.session-timeout"),
	UNSUPPORTED("tune.lua.task-timeout"),
	UNSUPPORTED("tune.maxaccept"),
	UNSUPPORTED("tune.maxpollevents"),
	UNSUPPORTED("tune.maxrewrite"),
	UNSUPPORTED("tune.pattern.cache-size"),
	UNSUPPORTED("tune.peers.max-updates-at-once"),
	UNSUPPORTED("tune.pipesize"),
	UNSUPPORTED("tune.pool-high-fd-ratio"),
	UNSUPPORTED("tune.pool-low-fd-ratio"),
	UNSUPPORTED("tune.rcvbuf.client"),
	UNSUPPORTED("tune.rcvbuf.server"),
	UNSUPPORTED("tune.recv_enough"),
	UNSUPPORTED("tune.runqueue-depth"),
	UNSUPPORTED("tune.sched.low-latency"),
	UNSUPPORTED("tune.sndbuf.client"),
	UNSUPPORTED("tune.sndbuf.server"),
	UNSUPPORTED("tune.ssl.cachesize"),
	UNSUPPORTED("tune.ssl.capture-buffer-size"),
	UNSUPPORTED("tune.ssl.capture-cipherlist-size"),
	UNSUPPORTED("tune.ssl.force-private-cache"),
	UNSUPPORTED("tune.ssl.hard-maxrecord"),
	UNSUPPORTED("tune.ssl.keylog"),
	UNSUPPORTED("tune.ssl.lifetime"),
	UNSUPPORTED("tune.ssl.maxrecord"),
	UNSUPPORTED("tune.ssl.ssl-ctx-cache-size"),
	UNSUPPORTED("tune.vars.global-max-size"),
	UNSUPPORTED("tune.vars.proc-max-size"),
	UNSUPPORTED("tune.vars.reqres-max-size"),
	UNSUPPORTED("tune.vars.sess-max-size"),
	UNSUPPORTED("tune.vars.txn-max-size"),
	UNSUPPORTED("tune.zlib.memlevel"),
	UNSUPPORTED("tune.zlib.windowsize"),
	{ 0, NULL, NULL },
};
CFG_REGISTER(global_unsupported_kws);
