// SPDX-License-Identifier: MIT
/*
 * lbctl: the operator's CLI for lbd. It talks to lbd's runtime API (the
 * `stats socket`, HAProxy's line protocol) and prints readable tables, or
 * JSON with --json. It also starts (`up`) and stops (`down`) lbd.
 *
 *   lbctl [-s SOCKET] [--json] COMMAND [ARGS]
 *
 * The socket is -s, else $XLB_SOCKET, else /run/xlb/lbd.sock. Errors print
 * one line "lbctl: reason" on stderr and exit 1.
 */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "cfg.h"
#include "version.h"

#define DEFAULT_SOCKET "/run/xlb/lbd.sock"
#define IO_TIMEOUT_MS 30000 /* a reload of a large config may take a while */

static const char *sock_path;
static bool opt_json;

static void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...)
{
	va_list ap;

	fputs("lbctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* ---- talking to lbd ---- */

static int connect_socket(const char *spec, char *errbuf, size_t errlen)
{
	const char *p = spec;
	int fd;

	if (!strncmp(p, "unix@", 5))
		p += 5;
	if (!strncmp(p, "ipv4@", 5) || !strncmp(p, "ipv6@", 5) || !strncmp(p, "tcp@", 4) ||
	    (p[0] != '/' && p[0] != '.' && strchr(p, ':'))) {
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
		char host[256], *colon;
		int rc;

		if (strchr(p, '@'))
			p = strchr(p, '@') + 1;
		snprintf(host, sizeof(host), "%s", p);
		colon = strrchr(host, ':');
		if (!colon) {
			snprintf(errbuf, errlen, "bad socket address '%s'", spec);
			return -1;
		}
		*colon = '\0';
		if (host[0] == '[') {
			memmove(host, host + 1, strlen(host));
			if (strchr(host, ']'))
				*strchr(host, ']') = '\0';
		}
		rc = getaddrinfo(host, colon + 1, &hints, &ai);
		if (rc || !ai) {
			snprintf(errbuf, errlen, "cannot resolve '%s': %s", spec, gai_strerror(rc));
			return -1;
		}
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
			snprintf(errbuf, errlen, "cannot connect to %s: %s", spec, strerror(errno));
			close(fd);
			fd = -1;
		}
		freeaddrinfo(ai);
		return fd;
	}
	{
		struct sockaddr_un un = { .sun_family = AF_UNIX };

		if (strlen(p) >= sizeof(un.sun_path)) {
			snprintf(errbuf, errlen, "socket path too long: %s", p);
			return -1;
		}
		snprintf(un.sun_path, sizeof(un.sun_path), "%s", p);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&un, sizeof(un)) < 0) {
			snprintf(errbuf, errlen,
				 "cannot connect to %s: %s (is lbd running? use -s "
				 "SOCKET or XLB_SOCKET)",
				 p, strerror(errno));
			close(fd);
			fd = -1;
		}
	}
	return fd;
}

/*
 * Send one command line, return the answer (malloc'd) without the final
 * empty line, or NULL with errbuf set.
 */
static char *api_call_err(const char *cmd, char *errbuf, size_t errlen)
{
	size_t len = 0, cap = 4096;
	char *buf, *line;
	int fd = connect_socket(sock_path, errbuf, errlen);

	if (fd < 0)
		return NULL;
	if (asprintf(&line, "%s\n", cmd) < 0) {
		close(fd);
		snprintf(errbuf, errlen, "out of memory");
		return NULL;
	}
	if (send(fd, line, strlen(line), MSG_NOSIGNAL) < 0) {
		snprintf(errbuf, errlen, "cannot send to %s: %s", sock_path, strerror(errno));
		free(line);
		close(fd);
		return NULL;
	}
	free(line);
	shutdown(fd, SHUT_WR);
	buf = malloc(cap);
	if (!buf) {
		close(fd);
		snprintf(errbuf, errlen, "out of memory");
		return NULL;
	}
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;
		int rc = poll(&pfd, 1, IO_TIMEOUT_MS);

		if (rc == 0) {
			snprintf(errbuf, errlen, "no answer from %s within %ds", sock_path,
				 IO_TIMEOUT_MS / 1000);
			goto fail;
		}
		if (rc < 0 && errno == EINTR)
			continue;
		if (len + 4096 > cap) {
			char *nb = realloc(buf, cap * 2);

			if (!nb) {
				snprintf(errbuf, errlen, "out of memory");
				goto fail;
			}
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n > 0) {
			len += n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(errbuf, errlen, "read from %s: %s", sock_path, strerror(errno));
			goto fail;
		}
		break;
	}
	close(fd);
	buf[len] = '\0';
	/* Drop the empty line that ends an answer. */
	while (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	return buf;
fail:
	close(fd);
	free(buf);
	return NULL;
}

static char *api_call(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *api_call(const char *fmt, ...)
{
	char cmd[1024], err[512];
	va_list ap;
	char *ans;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	ans = api_call_err(cmd, err, sizeof(err));
	if (!ans)
		die("%s", err);
	if (!strncmp(ans, "Permission denied", 17))
		die("permission denied: the level of %s is too low for '%s' (needs 'level admin')",
		    sock_path, cmd);
	if (!strncmp(ans, "Unknown command", 15))
		die("lbd at %s does not know '%s' (older lbd?)", sock_path, cmd);
	return ans;
}

/*
 * One word of a command, escaped for the runtime API: a blank, ';' or '\\'
 * in a name or a value must not end the word or start another command. A
 * line break cannot be escaped (it ends the command line): refused.
 */
static const char *api_word(const char *w)
{
	static char bufs[4][512];
	static int n;
	char *b = bufs[n++ % 4];
	size_t o = 0;

	for (const char *p = w; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			die("a control character is not allowed in an argument");
		if (o + 3 > sizeof(bufs[0]))
			die("argument too long: '%.40s...'", w);
		if (*p == ' ' || *p == ';' || *p == '\\')
			b[o++] = '\\';
		b[o++] = *p;
	}
	b[o] = '\0';
	return b;
}

static json_t *api_json(const char *fmt, const char *arg)
{
	json_error_t jerr;
	char *ans = api_call(fmt, arg);
	json_t *j = json_loads(ans, 0, &jerr);

	if (!j) {
		char *nl = strchr(ans, '\n');

		if (nl)
			*nl = '\0';
		die("%s", ans[0] ? ans : "empty answer from lbd");
	}
	free(ans);
	return j;
}

static void print_json(json_t *j)
{
	char *txt = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (txt) {
		puts(txt);
		free(txt);
	}
}

/* ---- tables ---- */

struct table {
	int ncols;
	char **cells; /* rows * ncols */
	int nrows;
};

static void table_add(struct table *t, ...)
{
	va_list ap;
	char **nc = realloc(t->cells, (size_t)(t->nrows + 1) * t->ncols * sizeof(*nc));

	if (!nc)
		die("out of memory");
	t->cells = nc;
	va_start(ap, t);
	for (int i = 0; i < t->ncols; i++) {
		const char *v = va_arg(ap, const char *);

		t->cells[t->nrows * t->ncols + i] = strdup(v ? v : "");
	}
	va_end(ap);
	t->nrows++;
}

static void table_print(struct table *t)
{
	int w[32] = { 0 };

	for (int r = 0; r < t->nrows; r++)
		for (int c = 0; c < t->ncols && c < 32; c++) {
			int l = (int)strlen(t->cells[r * t->ncols + c]);

			if (l > w[c])
				w[c] = l;
		}
	for (int r = 0; r < t->nrows; r++) {
		for (int c = 0; c < t->ncols; c++) {
			const char *v = t->cells[r * t->ncols + c];

			if (c == t->ncols - 1)
				printf("%s\n", v);
			else
				printf("%-*s  ", w[c], v);
			free(t->cells[r * t->ncols + c]);
		}
	}
	free(t->cells);
	t->cells = NULL;
	t->nrows = 0;
}

static const char *jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

static long long jint(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	static char bufs[16][256];
	static int n;
	char *b = bufs[n++ % 16];
	va_list ap;

	va_start(ap, f);
	vsnprintf(b, 256, f, ap);
	va_end(ap);
	return b;
}

/* ---- commands ---- */

static int cmd_status(int argc, char **argv)
{
	json_t *j = api_json("show status json", NULL), *v;
	struct table t = { .ncols = 5 };
	size_t i;

	if (opt_json) {
		print_json(j);
		json_decref(j);
		return 0;
	}
	printf("lbd %s, pid %lld, up %llds, %lld worker(s), XDP %s\n", jstr(j, "version"),
	       jint(j, "pid"), jint(j, "uptime_sec"), jint(j, "workers"),
	       json_is_true(json_object_get(j, "xdp")) ? "on" : "off");
	table_add(&t, "FRONTEND", "MODE", "BINDS", "TIER", "WHY");
	json_array_foreach(json_object_get(j, "frontends"), i, v)
	{
		char binds[512] = "";
		json_t *b;
		size_t k;

		json_array_foreach(json_object_get(v, "binds"), k, b)
		{
			size_t l = strlen(binds);

			snprintf(binds + l, sizeof(binds) - l, "%s%s%s", l ? "," : "",
				 jstr(b, "addr"), !strcmp(jstr(b, "proto"), "udp") ? "/udp" : "");
		}
		table_add(&t, jstr(v, "name"), jstr(v, "mode"), binds, jstr(v, "tier"),
			  jstr(v, "reason"));
	}
	table_print(&t);
	printf("\n");
	t.ncols = 6;
	table_add(&t, "BACKEND", "MODE", "ALGO", "STATUS", "SERVERS", "USABLE");
	json_array_foreach(json_object_get(j, "backends"), i, v)
	{
		table_add(&t, jstr(v, "name"), jstr(v, "mode"), jstr(v, "algo"),
			  fmt("%s%s", jstr(v, "status"),
			      json_is_true(json_object_get(v, "on_backup")) ? " (backup)" : ""),
			  fmt("%lld", jint(v, "servers")),
			  fmt("%lld+%lld", jint(v, "active_usable"), jint(v, "backup_usable")));
	}
	table_print(&t);
	json_decref(j);
	return 0;
}

static json_t *servers_of(const char *be)
{
	char *ans;
	json_t *j;
	json_error_t jerr;

	if (be)
		ans = api_call("show servers json %s", api_word(be));
	else
		ans = api_call("show servers json");
	if (!strncmp(ans, "Can't find backend", 18)) {
		free(ans);
		return NULL;
	}
	j = json_loads(ans, 0, &jerr);
	if (!j)
		die("unexpected answer from lbd: %.80s", ans);
	free(ans);
	return j;
}

static void list_backends(char *out, size_t len)
{
	char *ans = api_call("show backend"), *p, *save = NULL;
	size_t l = 0;

	out[0] = '\0';
	for (p = strtok_r(ans, "\n", &save); p; p = strtok_r(NULL, "\n", &save)) {
		if (p[0] == '#')
			continue;
		l += snprintf(out + l, len > l ? len - l : 0, "%s%s", l ? ", " : "", p);
	}
	free(ans);
}

static void __attribute__((noreturn)) die_no_backend(const char *be)
{
	char list[1024];

	list_backends(list, sizeof(list));
	die("no backend '%s' (backends: %s)", be, list[0] ? list : "none");
}

static int cmd_servers(int argc, char **argv)
{
	const char *be = argc > 1 ? argv[1] : NULL;
	json_t *j = servers_of(be), *v;
	struct table t = { .ncols = 9 };
	size_t i;

	if (!j)
		die_no_backend(be);
	if (opt_json) {
		print_json(j);
		json_decref(j);
		return 0;
	}
	table_add(&t, "BACKEND", "SERVER", "ADDRESS", "WEIGHT", "STATE", "CHECK", "CONNS", "TOTAL",
		  "ORIGIN");
	json_array_foreach(json_object_get(j, "servers"), i, v)
	{
		json_t *chk = json_object_get(v, "check");
		const char *addr = jstr(v, "addr");
		char check[128] = "-";

		if (json_is_object(chk)) {
			const char *st = jstr(chk, "status");

			if (!json_is_true(json_object_get(chk, "enabled")))
				snprintf(check, sizeof(check), "disabled");
			else if (!st[0] || !strcmp(st, "INI"))
				snprintf(check, sizeof(check), "pending");
			else if (jint(chk, "code"))
				snprintf(check, sizeof(check), "%s %lld (%lldms)", st,
					 jint(chk, "code"), jint(chk, "duration_ms"));
			else if (jstr(chk, "info")[0])
				snprintf(check, sizeof(check), "%s %s", st, jstr(chk, "info"));
			else
				snprintf(check, sizeof(check), "%s (%lldms)", st,
					 jint(chk, "duration_ms"));
		}
		table_add(&t, jstr(v, "backend"), jstr(v, "name"),
			  strchr(addr, ':') ? fmt("[%s]:%lld", addr, jint(v, "port")) :
					      fmt("%s:%lld", addr, jint(v, "port")),
			  fmt("%lld", jint(v, "weight")),
			  fmt("%s%s", jstr(v, "state"),
			      json_is_true(json_object_get(v, "backup")) ? " (backup)" : ""),
			  check, fmt("%lld", jint(v, "cur_conns")), fmt("%lld", jint(v, "total")),
			  json_is_string(json_object_get(v, "origin_key")) ?
				  fmt("%s (%s)", jstr(v, "origin"), jstr(v, "origin_key")) :
				  jstr(v, "origin"));
	}
	table_print(&t);
	json_decref(j);
	return 0;
}

/* Check B/S exists first, so that an unknown name lists what there is. */
static void need_server(const char *bs)
{
	const char *slash = bs ? strchr(bs, '/') : NULL;
	char be[256], names[2048] = "";
	json_t *j, *v;
	size_t i, l = 0;
	bool found = false;

	if (!slash || slash == bs || !slash[1])
		die("expected BACKEND/SERVER, got '%s'", bs ? bs : "");
	snprintf(be, sizeof(be), "%.*s", (int)(slash - bs), bs);
	j = servers_of(be);
	if (!j)
		die_no_backend(be);
	json_array_foreach(json_object_get(j, "servers"), i, v)
	{
		if (!strcmp(jstr(v, "name"), slash + 1))
			found = true;
		l += snprintf(names + l, sizeof(names) > l ? sizeof(names) - l : 0, "%s%s",
			      l ? ", " : "", jstr(v, "name"));
	}
	json_decref(j);
	if (!found)
		die("no server '%s' in backend '%s' (servers: %s)", slash + 1, be,
		    names[0] ? names : "none");
}

/* A command that answers nothing on success. */
static int simple_change(const char *what, const char *cmd)
{
	char *ans = api_call("%s", cmd);

	if (ans[0]) {
		char *nl = strchr(ans, '\n');

		if (nl)
			*nl = '\0';
		die("%s: %s", what, ans);
	}
	free(ans);
	return 0;
}

static int cmd_weight(int argc, char **argv)
{
	char cmd[600];

	if (argc < 3)
		die("usage: lbctl weight BACKEND/SERVER WEIGHT[%%]");
	need_server(argv[1]);
	snprintf(cmd, sizeof(cmd), "set server %s weight %s", api_word(argv[1]), api_word(argv[2]));
	simple_change("weight", cmd);
	printf("%s: weight %s\n", argv[1], argv[2]);
	return 0;
}

static int cmd_state(int argc, char **argv)
{
	const char *state = !strcmp(argv[0], "enable")	? "ready" :
			    !strcmp(argv[0], "disable") ? "maint" :
							  "drain";
	char cmd[600];

	if (argc < 2)
		die("usage: lbctl %s BACKEND/SERVER", argv[0]);
	need_server(argv[1]);
	snprintf(cmd, sizeof(cmd), "set server %s state %s", api_word(argv[1]), state);
	simple_change(argv[0], cmd);
	printf("%s: %s\n", argv[1], state);
	return 0;
}

static int cmd_reload(int argc, char **argv)
{
	char *ans = api_call("reload"), *p;

	if (!strcmp(ans, "Success")) {
		printf("reload: Success\n");
		free(ans);
		return 0;
	}
	for (p = ans; *p; p++)
		if (*p == '\n')
			*p = ';';
	die("reload rejected, the running configuration keeps serving: %s", ans);
}

/* Split one CSV line in place (fields may be quoted). Returns the number of fields. */
static int csv_split(char *line, char **f, int max)
{
	int n = 0;
	char *p = line;

	while (*p && n < max) {
		if (*p == '"') {
			char *w = ++p;

			f[n++] = w;
			while (*p) {
				if (*p == '"' && p[1] == '"') {
					*w++ = '"';
					p += 2;
				} else if (*p == '"') {
					p++;
					break;
				} else {
					*w++ = *p++;
				}
			}
			*w = '\0';
			if (*p == ',')
				p++;
			continue;
		}
		f[n++] = p;
		p = strchrnul(p, ',');
		if (*p)
			*p++ = '\0';
	}
	return n;
}

#define MAX_COLS 256

static int col_of(char **hdr, int nh, const char *name)
{
	for (int i = 0; i < nh; i++)
		if (!strcmp(hdr[i], name))
			return i;
	return -1;
}

/*
 * ---- stats: the XDP tier's counters (`show xdp stat`) ----
 * CSV sections, each after a "# NAME,..." header: xdp (interfaces and
 * modes), frontend and server rows, global counters with their verdict.
 * Nothing is printed when lbd has no XDP interface.
 */
static void stats_xdp(json_t *arr)
{
	char *ans = api_call("show xdp stat"), *save = NULL, *line, *f[16];
	char sect[16] = "", *hdr[16], hbuf[256], drops[1024] = "", passes[1024] = "", ifs[256] = "";
	struct table t = { .ncols = 9 };
	int nh = 0, nf, i;

	table_add(&t, "NAME", "PACKETS", "BYTES", "NEW_FLOWS", "REPLY_PKTS", "REPLY_BYTES",
		  "NO_SERVER", "SNAT_FAIL", "RST_NO_FLOW");
	for (line = strtok_r(ans, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "# ", 2)) {
			snprintf(hbuf, sizeof(hbuf), "%s", line + 2);
			nh = csv_split(hbuf, hdr, 16);
			snprintf(sect, sizeof(sect), "%s", nh ? hdr[0] : "");
			continue;
		}
		nf = csv_split(line, f, 16);
		if (nf < 2 || !sect[0]) /* not an answer of ours (an lbd without the command) */
			continue;
		if (!strcmp(sect, "xdp"))
			snprintf(ifs, sizeof(ifs), "%s", f[1]);
		if (arr) {
			json_t *o = json_object();

			json_object_set_new(o, "xdp", json_string(sect));
			json_object_set_new(o, "name", json_string(f[strcmp(sect, "xdp") ? 0 : 1]));
			for (i = 1; strcmp(sect, "xdp") && i < nf && i < nh; i++)
				json_object_set_new(o, hdr[i],
						    strcmp(hdr[i], "verdict") ?
							    json_integer(strtoll(f[i], NULL, 10)) :
							    json_string(f[i]));
			json_array_append_new(arr, o);
			continue;
		}
		if (!strcmp(sect, "frontend") && nf >= 9)
			table_add(&t, fmt("frontend %s", f[0]), f[1], f[2], f[3], f[4], f[5], f[6],
				  f[7], f[8]);
		else if (!strcmp(sect, "server") && nf >= 6)
			table_add(&t, fmt("  %s", f[0]), f[1], f[2], f[3], f[4], f[5], "", "", "");
		else if (!strcmp(sect, "counter") && nf >= 3 && strcmp(f[1], "0")) {
			char *b = !strcmp(f[2], "drop") ? drops :
				  !strcmp(f[2], "pass") ? passes :
							  NULL;

			if (b)
				snprintf(b + strlen(b), 1024 - strlen(b), "%s%s %s",
					 b[0] ? ", " : "", f[0], f[1]);
		}
	}
	if (!arr && ifs[0]) {
		printf("\nXDP on %s\n", ifs);
		table_print(&t);
		printf("dropped: %s\n", drops[0] ? drops : "none");
		printf("passed to the kernel: %s\n", passes[0] ? passes : "none");
	}
	for (i = 0; i < t.nrows * t.ncols; i++) /* not printed */
		free(t.cells[i]);
	free(t.cells);
	free(ans);
}

static int cmd_stats(int argc, char **argv)
{
	char *ans = api_call("show stat"), *save = NULL, *line;
	char *hdr[MAX_COLS], *f[MAX_COLS], *hline;
	int nh, i;
	json_t *arr = opt_json ? json_array() : NULL;
	struct table t = { .ncols = 12 };
	static const char *const cols[] = { "status", "weight",	      "scur",	"smax",
					    "stot",   "bin",	      "bout",	"econ",
					    "wretr",  "check_status", "lastchg" };

	line = strtok_r(ans, "\n", &save);
	if (!line || strncmp(line, "# ", 2))
		die("unexpected answer to 'show stat': %.80s", line ? line : "");
	hline = strdup(line + 2);
	if (!hline)
		die("out of memory");
	nh = csv_split(hline, hdr, MAX_COLS);
	table_add(&t, "NAME", "STATUS", "WEIGHT", "CUR", "MAX", "TOTAL", "BYTES_IN", "BYTES_OUT",
		  "CONN_ERR", "RETRIES", "CHECK", "LASTCHG");
	while ((line = strtok_r(NULL, "\n", &save))) {
		int nf = csv_split(line, f, MAX_COLS);
		const char *v[11];

		if (opt_json) {
			json_t *o = json_object();

			for (i = 0; i < nf && i < nh; i++)
				if (f[i][0] && strcmp(hdr[i], "-"))
					json_object_set_new(o, hdr[i], json_string(f[i]));
			json_array_append_new(arr, o);
			continue;
		}
		for (i = 0; i < 11; i++) {
			int c = col_of(hdr, nh, cols[i]);

			v[i] = c >= 0 && c < nf ? f[c] : "";
		}
		if (nf < 2)
			continue;
		table_add(&t,
			  !strcmp(f[1], "FRONTEND") || !strcmp(f[1], "BACKEND") ?
				  fmt("%s %s", f[1][0] == 'F' ? "frontend" : "backend", f[0]) :
				  fmt("  %s/%s", f[0], f[1]),
			  v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9],
			  v[10][0] ? fmt("%ss", v[10]) : "");
	}
	if (opt_json) {
		stats_xdp(arr); /* XDP rows: objects with an "xdp" key */
		print_json(arr);
		json_decref(arr);
	} else {
		table_print(&t);
		stats_xdp(NULL);
	}
	free(hline);
	free(ans);
	return 0;
}

static int cmd_raw(int argc, char **argv)
{
	char cmd[4096] = "";
	size_t l = 0;
	char *ans;

	if (argc < 2)
		die("usage: lbctl raw COMMAND...");
	for (int i = 1; i < argc; i++)
		l += snprintf(cmd + l, sizeof(cmd) > l ? sizeof(cmd) - l : 0, "%s%s",
			      i > 1 ? " " : "", argv[i]);
	{
		char err[512];

		ans = api_call_err(cmd, err, sizeof(err));
		if (!ans)
			die("%s", err);
	}
	if (ans[0])
		printf("%s\n", ans);
	free(ans);
	return 0;
}

/* ---- up / down ---- */

/* lbd's pid from `show info`, 0 when it does not answer. */
static int lbd_pid(void)
{
	char err[512], *ans = api_call_err("show info", err, sizeof(err)), *p;
	int pid = 0;

	if (!ans)
		return 0;
	p = strstr(ans, "\nPid: ");
	if (p)
		pid = atoi(p + 6);
	else if (!strncmp(ans, "Pid: ", 5))
		pid = atoi(ans + 5);
	free(ans);
	return pid;
}

static const char *find_lbd(char *buf, size_t len)
{
	const char *env = getenv("XLB_LBD");
	char self[PATH_MAX - 8];
	ssize_t n;

	if (env && *env)
		return env;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		char *slash;

		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			snprintf(buf, len, "%s/lbd", self);
			if (access(buf, X_OK) == 0)
				return buf;
		}
	}
	return "lbd"; /* from PATH */
}

/* The first unix stats socket of the config (admin level preferred), for `up`. */
static const char *socket_from_config(char **files, int nfiles)
{
	static char path[PATH_MAX];
	struct stats_socket *ss, *best = NULL;
	char *err = NULL;
	struct model *m = cfg_load(files, nfiles, &err);

	if (!m) {
		char *p;

		for (p = err; p && *p; p++)
			if (*p == '\n')
				*p = ';';
		die("configuration rejected: %s", err ? err : "error");
	}
	list_for_each(ss, &m->global.stats_sockets, list) {
		if (!strncmp(ss->path, "fd@", 3))
			continue;
		if (!best || (ss->level > best->level))
			best = ss;
	}
	if (!best) {
		model_free(m);
		return NULL;
	}
	snprintf(path, sizeof(path), "%s", best->path);
	model_free(m);
	return path;
}

static int cmd_up(int argc, char **argv)
{
	char *files[64], lbdbuf[PATH_MAX];
	const char *ifaces = NULL, *mode = NULL, *lbdbin, *cfgsock;
	char *largv[140];
	int nfiles = 0, la = 0, status, pid, timeout_ms = 10000;
	pid_t child;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-f") && i + 1 < argc && nfiles < 64)
			files[nfiles++] = argv[++i];
		else if ((!strcmp(argv[i], "--iface") || !strcmp(argv[i], "-i")) && i + 1 < argc)
			ifaces = argv[++i];
		else if (!strncmp(argv[i], "--iface=", 8))
			ifaces = argv[i] + 8;
		else if (!strcmp(argv[i], "--xdp-mode") && i + 1 < argc)
			mode = argv[++i];
		else if (!strncmp(argv[i], "--xdp-mode=", 11))
			mode = argv[i] + 11;
		else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
			timeout_ms = atoi(argv[++i]) * 1000;
		else
			die("up: unexpected argument '%s' (usage: lbctl up -f CFG [--iface IF[,IF]] "
			    "[--xdp-mode native|generic])",
			    argv[i]);
	}
	if (!nfiles)
		die("up: expected -f CFG");
	if (mode && strcmp(mode, "native") && strcmp(mode, "generic") && strcmp(mode, "auto"))
		die("up: --xdp-mode expects native or generic, got '%s'", mode);
	/* Where lbd will listen: -s, else the config's socket, else $XLB_SOCKET, else default. */
	cfgsock = socket_from_config(files, nfiles);
	if (!sock_path)
		sock_path = cfgsock;
	if (!sock_path)
		sock_path = getenv("XLB_SOCKET");
	if (!sock_path || !*sock_path)
		sock_path = DEFAULT_SOCKET;
	if (!cfgsock)
		fprintf(stderr, "lbctl: warning: the configuration has no 'stats socket'; lbctl "
				"cannot reach lbd without one\n");
	pid = lbd_pid();
	if (pid)
		die("up: lbd is already running on %s (pid %d)", sock_path, pid);
	lbdbin = find_lbd(lbdbuf, sizeof(lbdbuf));
	largv[la++] = (char *)lbdbin;
	largv[la++] = "-D";
	for (int i = 0; i < nfiles; i++) {
		largv[la++] = "-f";
		largv[la++] = files[i];
	}
	largv[la] = NULL;
	child = fork();
	if (child < 0)
		die("up: fork: %s", strerror(errno));
	if (child == 0) {
		if (ifaces)
			setenv("XLB_IFACES", ifaces, 1);
		if (mode)
			setenv("XLB_XDP_MODE", mode, 1);
		execvp(lbdbin, largv);
		fprintf(stderr, "lbctl: up: cannot run %s: %s\n", lbdbin, strerror(errno));
		_exit(127);
	}
	/* lbd -D returns once the daemon is up (pidfile, sockets, workers), 1 if it died first. */
	if (waitpid(child, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("up: lbd failed to start (exit status %d); run 'lbd -c -f %s' to check the "
		    "configuration",
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1, files[0]);
	for (int waited = 0; waited < timeout_ms; waited += 100) {
		pid = lbd_pid();
		if (pid) {
			printf("lbd started (pid %d), runtime API on %s%s%s\n", pid, sock_path,
			       ifaces ? ", XDP on " : "", ifaces ? ifaces : "");
			return 0;
		}
		usleep(100 * 1000);
	}
	die("up: lbd did not answer on %s within %ds", sock_path, timeout_ms / 1000);
}

static bool pid_alive(int pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

static int cmd_down(int argc, char **argv)
{
	char err[512], *ans;
	int pid = lbd_pid(), i;

	if (!pid) {
		char *a = api_call_err("show info", err, sizeof(err));

		if (a)
			snprintf(err, sizeof(err), "no pid in 'show info'");
		free(a);
		die("down: lbd does not answer: %s", err);
	}
	ans = api_call("xdp down");
	if (strncmp(ans, "XDP detached", 12) && strncmp(ans, "XDP tier not attached", 21))
		fprintf(stderr, "lbctl: warning: %s\n", ans);
	free(ans);
	ans = api_call("shutdown");
	free(ans);
	/* Soft stop: open connections finish; then a hard stop after 10 s. */
	for (i = 0; i < 100 && pid_alive(pid); i++)
		usleep(100 * 1000);
	if (pid_alive(pid)) {
		fprintf(stderr, "lbctl: connections still open after 10s, stopping lbd now\n");
		kill(pid, SIGTERM);
		for (i = 0; i < 50 && pid_alive(pid); i++)
			usleep(100 * 1000);
	}
	if (pid_alive(pid))
		die("down: lbd (pid %d) is still running", pid);
	printf("lbd stopped (pid %d)\n", pid);
	return 0;
}

/* ---- help ---- */

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
	const char *help;
};

static int cmd_help(int argc, char **argv);

static const struct command commands[] = {
	{ "status", cmd_status, "status [--json]",
	  "frontends with their binds, the tier serving them (xdp, userspace, l7) and why;\n"
	  "backends with their algorithm and usable servers" },
	{ "servers", cmd_servers, "servers [BACKEND] [--json]",
	  "servers with address, weight, state, last check, connections and origin\n"
	  "(config, api, etcd)" },
	{ "stats", cmd_stats, "stats [--json]",
	  "counters of every frontend, backend and server (the runtime API's 'show stat'),\n"
	  "then the XDP tier's: per frontend and server, drops and passes by reason" },
	{ "weight", cmd_weight, "weight BACKEND/SERVER WEIGHT[%]",
	  "set a server's weight (0..256, or a percentage of its configured weight);\n"
	  "weight 0 keeps its connections but sends it no new ones" },
	{ "enable", cmd_state, "enable BACKEND/SERVER",
	  "put a server back in service (state ready)" },
	{ "disable", cmd_state, "disable BACKEND/SERVER",
	  "put a server in maintenance: no new traffic, XDP flows re-pick" },
	{ "drain", cmd_state, "drain BACKEND/SERVER",
	  "keep a server's connections and flows, send it no new ones" },
	{ "reload", cmd_reload, "reload",
	  "re-read the configuration files; on error the running configuration keeps\n"
	  "serving and the errors are printed with file:line" },
	{ "up", cmd_up, "up -f CFG [--iface IF[,IF]] [--xdp-mode native|generic]",
	  "start lbd as a daemon on CFG (XDP on the given interfaces, passed as\n"
	  "XLB_IFACES / XLB_XDP_MODE) and wait until its runtime API answers" },
	{ "down", cmd_down, "down",
	  "detach the XDP programs, remove their pins and stop lbd (soft stop, then\n"
	  "hard after 10s)" },
	{ "raw", cmd_raw, "raw COMMAND...",
	  "send a runtime API command as is and print the answer" },
	{ "help", cmd_help, "help [COMMAND]", "this help, or a command's" },
	{ NULL },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: lbctl [-s SOCKET] [--json] COMMAND [ARGS]\n\n"
		   "Commands:\n");
	for (const struct command *c = commands; c->name; c++)
		fprintf(f, "  %s\n", c->usage);
	fprintf(f,
		"\nOptions:\n"
		"  -s SOCKET  lbd's runtime API socket: a unix path, or ipv4@ADDR:PORT\n"
		"             (default $XLB_SOCKET, else %s)\n"
		"  --json     JSON output for status, servers and stats\n"
		"  -h, --help this help; 'lbctl COMMAND --help' for a command's\n",
		DEFAULT_SOCKET);
}

static void command_help(const struct command *c)
{
	printf("Usage: lbctl [-s SOCKET] %s\n\n%s\n", c->usage, c->help);
}

static const struct command *find_command(const char *name)
{
	for (const struct command *c = commands; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

static int cmd_help(int argc, char **argv)
{
	const struct command *c = argc > 1 ? find_command(argv[1]) : NULL;

	if (argc > 1 && !c)
		die("unknown command '%s' (try 'lbctl help')", argv[1]);
	if (c)
		command_help(c);
	else
		usage(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	char *args[256];
	int nargs = 0;
	bool want_help = false;
	const struct command *c;

	signal(SIGPIPE, SIG_IGN);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-s") || !strcmp(argv[i], "--socket")) {
			if (i + 1 >= argc)
				die("-s expects a socket path");
			sock_path = argv[++i];
		} else if (!strncmp(argv[i], "--socket=", 9)) {
			sock_path = argv[i] + 9;
		} else if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j")) {
			opt_json = true;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			want_help = true;
		} else if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--version")) {
			printf("lbctl %s\n", XLB_VERSION);
			return 0;
		} else if (nargs < 255) {
			args[nargs++] = argv[i];
		}
	}
	args[nargs] = NULL;
	if (nargs == 0) {
		usage(want_help ? stdout : stderr);
		return want_help ? 0 : 1;
	}
	c = find_command(args[0]);
	if (!c)
		die("unknown command '%s' (try 'lbctl help')", args[0]);
	if (want_help) {
		command_help(c);
		return 0;
	}
	if (!sock_path && strcmp(c->name, "up")) {
		sock_path = getenv("XLB_SOCKET");
		if (!sock_path || !*sock_path)
			sock_path = DEFAULT_SOCKET;
	}
	return c->fn(nargs, args);
}
