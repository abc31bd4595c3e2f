// SPDX-License-Identifier: MIT
/*
 * The runtime API (HAProxy's stats socket protocol) on the control loop.
 *
 * Sockets: every `stats socket` of the global section; a unix socket is
 * bound under a temporary name and renamed into place, so that a restart or
 * a reload never leaves a window without a socket. Sessions: a buffer of
 * input, a buffer of output, an idle timer (`stats timeout`). A line is cut
 * into commands at `;` and into words at blanks, `\` escaping the next
 * character; each command's answer ends with an empty line. Without
 * `prompt`, the session closes once the lines received are answered.
 *
 * Server changes lock the backend, change the fields, call backend_recalc()
 * and unlock, so the workers and the XDP tier follow at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "algo.h"
#include "api.h"
#include "cfg.h"
#include "control.h"
#include "health.h"
#include "log.h"
#include "stats_page.h"
#include "tlog.h"
#include "version.h"

#define API_MAX_LINE 65536 /* input kept while waiting for a newline */
#define API_IN_START 1024 /* first input buffer, grown up to API_MAX_LINE */
#define API_MAX_SESSIONS 256 /* sessions at once; more are closed at accept */
#define API_MAX_ARGS 64 /* words of one command */
#define API_BACKLOG 64
#define API_ACCEPT_PAUSE 1.0 /* seconds without accepting after EMFILE/ENFILE */

struct stat_row;

/* A listening socket of `stats socket`. */
struct api_listener {
	struct list_head list;
	char *spec; /* as written: "/run/lbd.sock", "ipv4@127.0.0.1:9999", "fd@3" */
	int mode, uid, gid;
	int level;
	int fd;
	bool is_unix;
	char *unix_path; /* to remove at exit */
	dev_t dev;
	ino_t ino;
	bool keep; /* api_prepare: still in the new config */
	int new_level;
	ev_io io;
	ev_timer pause; /* out of file descriptors: accept again later, do not spin */
};

struct api_sess {
	struct list_head list;
	int fd;
	int level;
	char *origin;
	bool interactive;
	bool closing; /* close once the output is written */
	bool discard; /* refused input: read and drop it until the client closes */
	int after_flush; /* signal to raise once the answer is out (shutdown) */
	uint32_t timeout_ms;
	ev_io io;
	ev_timer timer;
	char *in;
	size_t inlen, incap; /* incap + 1 bytes allocated (room for a final NUL) */
	struct sbuf out;
	size_t outoff;
};

static struct list_head listeners = LIST_HEAD_INIT(listeners);
static struct list_head pending = LIST_HEAD_INIT(pending);
static struct list_head sessions = LIST_HEAD_INIT(sessions);
static int nsessions;
static struct api_cmd_list *cmd_lists;
static api_xdp_down_fn xdp_down_hook;
static struct ev_loop *api_loop;
static struct lbd *api_lbd;
/* Address strings replaced by `set server addr`: workers may still read the old one. */
static char **graveyard;
static int ngraveyard;

static const struct api_cmd builtin_cmds[];

/* ---- registry ---- */

void api_register(struct api_cmd_list *list)
{
	list->next = cmd_lists;
	cmd_lists = list;
}

void api_set_xdp_down(api_xdp_down_fn fn)
{
	xdp_down_hook = fn;
}

static int cmd_nwords(const struct api_cmd *c)
{
	int n = 0;

	while (n < API_MAX_WORDS && c->words[n])
		n++;
	return n;
}

static bool cmd_matches(const struct api_cmd *c, char **args, int nargs)
{
	int n = cmd_nwords(c);

	if (n > nargs)
		return false;
	for (int i = 0; i < n; i++)
		if (strcmp(c->words[i], args[i]))
			return false;
	return true;
}

/*
 * The command with the most matching words; registered tables win over the
 * built-in ones at equal length (a module may replace a placeholder).
 */
static const struct api_cmd *cmd_lookup(char **args, int nargs)
{
	const struct api_cmd *best = NULL;
	int bestn = 0;

	for (struct api_cmd_list *l = cmd_lists; l; l = l->next) {
		for (const struct api_cmd *c = l->cmds; c->words[0]; c++) {
			int n = cmd_nwords(c);

			if (n > bestn && cmd_matches(c, args, nargs)) {
				best = c;
				bestn = n;
			}
		}
	}
	for (const struct api_cmd *c = builtin_cmds; c->words[0]; c++) {
		int n = cmd_nwords(c);

		if (n > bestn && cmd_matches(c, args, nargs)) {
			best = c;
			bestn = n;
		}
	}
	return best;
}

static void help_line(struct sbuf *o, const struct api_cmd *c)
{
	sbuf_printf(o, "  %-40s: %s\n", c->usage ? c->usage : c->words[0], c->help ? c->help : "");
}

/* Is c shadowed by a registered command with the same words? */
static bool cmd_shadowed(const struct api_cmd *c)
{
	int n = cmd_nwords(c);

	for (struct api_cmd_list *l = cmd_lists; l; l = l->next) {
		for (const struct api_cmd *o = l->cmds; o->words[0]; o++) {
			int i;

			if (o == c || cmd_nwords(o) != n)
				continue;
			for (i = 0; i < n && !strcmp(o->words[i], c->words[i]); i++)
				;
			if (i == n)
				return true;
		}
	}
	return false;
}

/* Help for the commands of the level, optionally only those whose first word is `first`. */
static int help_list(struct sbuf *o, int level, const char *first)
{
	int n = 0;

	for (const struct api_cmd *c = builtin_cmds; c->words[0]; c++) {
		if (c->level > level || !c->usage || cmd_shadowed(c))
			continue;
		if (first && strcmp(c->words[0], first))
			continue;
		help_line(o, c);
		n++;
	}
	for (struct api_cmd_list *l = cmd_lists; l; l = l->next) {
		for (const struct api_cmd *c = l->cmds; c->words[0]; c++) {
			if (c->level > level || !c->usage)
				continue;
			if (first && strcmp(c->words[0], first))
				continue;
			help_line(o, c);
			n++;
		}
	}
	return n;
}

static void help_footer(struct sbuf *o)
{
	sbuf_printf(o, "  %-40s: %s\n", "help [<command>]", "list matching or all commands");
	sbuf_printf(o, "  %-40s: %s\n", "prompt", "toggle interactive mode with prompt");
	sbuf_printf(o, "  %-40s: %s\n", "quit", "disconnect");
}

/* HAProxy's answer to a command it does not know. */
static void api_unknown(struct api_req *r, char **args, int nargs)
{
	struct sbuf probe = { 0 };
	int n = nargs > 0 ? help_list(&probe, r->level, args[0]) : 0;

	if (n > 0) {
		sbuf_puts(r->out,
			  "Unknown command, but maybe one of the following ones is a better "
			  "match:\n");
		sbuf_add(r->out, probe.buf, probe.len);
	} else {
		sbuf_puts(r->out,
			  "Unknown command. Please enter one of the following commands only :\n");
		help_list(r->out, r->level, NULL);
	}
	free(probe.buf);
	help_footer(r->out);
}

/* ---- helpers for handlers ---- */

static const char *level_name(int level)
{
	return level >= API_LVL_ADMIN ? "admin" : level == API_LVL_OPER ? "operator" : "user";
}

/*
 * "backend/server" of a command: the server, or NULL after writing HAProxy's
 * message ("Require 'backend/server'.", "No such backend.", "No such server.").
 */
static struct server *find_srv(struct api_req *r, const char *arg)
{
	const char *slash = arg ? strchr(arg, '/') : NULL;
	struct proxy *be;
	struct server *s;
	char bname[256];

	if (!slash || slash == arg || !slash[1]) {
		sbuf_puts(r->out, "Require 'backend/server'.\n");
		return NULL;
	}
	snprintf(bname, sizeof(bname), "%.*s", (int)(slash - arg), arg);
	be = model_find_backend(api_lbd->m, bname);
	if (!be) {
		sbuf_puts(r->out, "No such backend.\n");
		return NULL;
	}
	s = backend_find_server(be, slash + 1);
	if (!s)
		sbuf_puts(r->out, "No such server.\n");
	return s;
}

static uint64_t since_s(uint64_t ms)
{
	uint64_t now = now_ms();

	if (!ms)
		ms = api_lbd->start_ms;
	return now > ms ? (now - ms) / 1000 : 0;
}

/* ---- server state changes ---- */

static void srv_set_weight(struct server *s, int w)
{
	struct proxy *be = s->be;
	int a0, b0, a1, b1;

	pthread_mutex_lock(&be->lock);
	health_count_usable(be, &a0, &b0);
	s->weight = w;
	s->last_change = now_ms();
	backend_recalc(be);
	health_count_usable(be, &a1, &b1);
	pthread_mutex_unlock(&be->lock);
	health_log_no_server(be, a0 + b0, a1 + b1);
}

/* Administrative state, with HAProxy's messages. */
static void srv_set_admin(struct server *s, enum srv_admin to)
{
	struct proxy *be = s->be;
	enum srv_admin from = s->admin;
	const char *kind = s->backup ? "Backup " : "";
	bool down = s->chk_state == SRV_CHK_DOWN;
	int a0, b0, a1, b1, cur;

	if (from == to)
		return;
	pthread_mutex_lock(&be->lock);
	health_count_usable(be, &a0, &b0);
	if (from == SRV_ADMIN_MAINT)
		health_admin_ready(s);
	s->admin = to;
	s->last_change = now_ms();
	backend_recalc(be);
	health_count_usable(be, &a1, &b1);
	cur = __atomic_load_n(&s->cur_conns, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&be->lock);

	if (to == SRV_ADMIN_MAINT) {
		if (down)
			health_log(be, 4, "%sServer %s/%s was DOWN and now enters maintenance.",
				   kind, be->name, s->name);
		else
			health_log(
				be, 4,
				"%sServer %s/%s is going DOWN for maintenance. %d active and %d backup "
				"servers left. %d sessions active, 0 requeued, 0 remaining in queue.",
				kind, be->name, s->name, a1, b1, cur);
	} else if (from == SRV_ADMIN_MAINT) {
		health_log(be, 4, "%sServer %s/%s is %s (leaving forced maintenance).", kind,
			   be->name, s->name, to == SRV_ADMIN_DRAIN ? "UP/DRAIN" : "UP/READY");
		/* Back UP at `rise` (HAProxy): check it now, its first failure takes it down. */
		health_server_changed(s);
	} else if (to == SRV_ADMIN_DRAIN) {
		health_log(
			be, 4,
			"%sServer %s/%s enters drain state. %d active and %d backup servers online. "
			"0 sessions requeued, 0 total in queue.",
			kind, be->name, s->name, a1, b1);
	} else {
		health_log(be, 4, "%sServer %s/%s is %s (leaving forced drain).", kind, be->name,
			   s->name, down ? "DOWN" : "UP");
	}
	health_log_no_server(be, a0 + b0, a1 + b1);
}

/*
 * "N" or "N%": the new weight, or -1 after writing HAProxy's message.
 */
static int parse_weight(struct api_req *r, const struct server *s, const char *str)
{
	char *end;
	long w;

	if (!str || !*str) {
		sbuf_puts(r->out, "Require <weight> or <weight%>.\n");
		return -1;
	}
	errno = 0;
	w = strtol(str, &end, 10);
	if (end == str || errno) {
		sbuf_puts(r->out, "Empty weight string empty or preceded by garbage\n");
		return -1;
	}
	if (*end == '%' && !end[1]) {
		if (w < 0) {
			sbuf_puts(r->out, "Relative weight must be positive.\n");
			return -1;
		}
		w = (long)s->iweight * w / 100;
		if (w > 256)
			w = 256;
		return (int)w;
	}
	if (*end) {
		sbuf_puts(r->out, "Trailing garbage in weight string\n");
		return -1;
	}
	if (w < 0 || w > 256) {
		sbuf_puts(r->out, "Absolute weight can only be between 0 and 256 inclusive.\n");
		return -1;
	}
	return (int)w;
}

/* ---- commands: session ---- */

static void cmd_help(struct api_req *r, char **args, int nargs)
{
	if (nargs > 1) {
		struct sbuf probe = { 0 };

		/* As HAProxy: the same header and footer, only the matching commands. */
		if (help_list(&probe, r->level, args[1]) > 0) {
			sbuf_puts(r->out, "The following commands are valid at this level:\n");
			sbuf_add(r->out, probe.buf, probe.len);
			free(probe.buf);
			help_footer(r->out);
			return;
		}
		free(probe.buf);
	}
	sbuf_puts(r->out, "The following commands are valid at this level:\n");
	help_list(r->out, r->level, NULL);
	help_footer(r->out);
}

static void cmd_level_lower(struct api_req *r, char **args, int nargs)
{
	struct api_sess *s = r->sess;
	int want = !strcmp(args[0], "operator") ? API_LVL_OPER : API_LVL_USER;

	if (want > r->level) {
		sbuf_puts(r->out, "Permission denied\n");
		return;
	}
	if (s)
		s->level = want;
}

static void cmd_show_cli_level(struct api_req *r, char **args, int nargs)
{
	sbuf_printf(r->out, "%s\n", level_name(r->level));
}

static void cmd_set_timeout(struct api_req *r, char **args, int nargs)
{
	struct api_sess *s = r->sess;
	char *end;
	long v;

	if (nargs < 4 || strcmp(args[2], "cli")) {
		sbuf_puts(r->out, "'set timeout' only supports 'cli'.\n");
		return;
	}
	v = strtol(args[3], &end, 10);
	if (end == args[3] || *end || v <= 0 || v > INT_MAX / 1000) {
		sbuf_puts(r->out, "Expects an integer value.\n");
		return;
	}
	if (s)
		s->timeout_ms = (uint32_t)v * 1000;
}

static void cmd_show_version(struct api_req *r, char **args, int nargs)
{
	sbuf_printf(r->out, "%s\n", XLB_VERSION);
}

/* ---- commands: information ---- */

static void cmd_show_info(struct api_req *r, char **args, int nargs)
{
	struct lbd *d = api_lbd;
	struct model *m = d->m;
	uint64_t up = (now_ms() - d->start_ms) / 1000;
	struct rlimit rl = { 0 };
	char host[256] = "";
	struct proxy *px;
	int cur = 0;

	getrlimit(RLIMIT_NOFILE, &rl);
	gethostname(host, sizeof(host) - 1);
	list_for_each(px, &m->proxies, list)
		if (px->cap & PX_CAP_FE)
			cur += __atomic_load_n(&px->cur_conns, __ATOMIC_RELAXED);
	sbuf_printf(r->out, "Name: lbd\n");
	sbuf_printf(r->out, "Version: %s\n", XLB_VERSION);
	sbuf_printf(r->out, "Nbthread: %d\n", d->nworkers);
	sbuf_printf(r->out, "Nbproc: 1\nProcess_num: 1\n");
	sbuf_printf(r->out, "Pid: %d\n", d->pid);
	sbuf_printf(r->out, "Uptime: %llud %lluh%02llum%02llus\n", (unsigned long long)up / 86400,
		    (unsigned long long)(up % 86400) / 3600, (unsigned long long)(up % 3600) / 60,
		    (unsigned long long)up % 60);
	sbuf_printf(r->out, "Uptime_sec: %llu\n", (unsigned long long)up);
	sbuf_printf(r->out, "Ulimit-n: %llu\n", (unsigned long long)rl.rlim_cur);
	sbuf_printf(r->out, "Maxconn: %d\n", m->global.maxconn);
	sbuf_printf(r->out, "Hard_maxconn: %d\n", m->global.maxconn);
	sbuf_printf(r->out, "CurrConns: %d\n", cur);
	sbuf_printf(r->out, "CumConns: %llu\n",
		    (unsigned long long)__atomic_load_n(&d->cum_conns, __ATOMIC_RELAXED));
	sbuf_printf(r->out, "Stopping: %d\n", d->soft_stopping ? 1 : 0);
	sbuf_printf(r->out, "Listeners: %d\n", d->nlisteners);
	sbuf_printf(r->out, "node: %s\n", m->global.node ? m->global.node : host);
	if (m->global.description)
		sbuf_printf(r->out, "description: %s\n", m->global.description);
	sbuf_printf(r->out, "Start_time_sec: %llu\n",
		    (unsigned long long)(time(NULL) - (time_t)up));
	/* lbd's own */
	sbuf_printf(r->out, "Xdp: %d\n", d->xdp_enabled ? 1 : 0);
}

static void cmd_show_backend(struct api_req *r, char **args, int nargs)
{
	struct proxy *px;

	sbuf_puts(r->out, "# name\n");
	list_for_each(px, &api_lbd->m->proxies, list)
		if (px->cap & PX_CAP_BE)
			sbuf_printf(r->out, "%s\n", px->name);
}

/* `show stat`: HAProxy 2.6's columns, in its order; lbd fills those it has. */
static const char *const stat_cols[] = {
	"pxname",
	"svname",
	"qcur",
	"qmax",
	"scur",
	"smax",
	"slim",
	"stot",
	"bin",
	"bout",
	"dreq",
	"dresp",
	"ereq",
	"econ",
	"eresp",
	"wretr",
	"wredis",
	"status",
	"weight",
	"act",
	"bck",
	"chkfail",
	"chkdown",
	"lastchg",
	"downtime",
	"qlimit",
	"pid",
	"iid",
	"sid",
	"throttle",
	"lbtot",
	"tracked",
	"type",
	"rate",
	"rate_lim",
	"rate_max",
	"check_status",
	"check_code",
	"check_duration",
	"hrsp_1xx",
	"hrsp_2xx",
	"hrsp_3xx",
	"hrsp_4xx",
	"hrsp_5xx",
	"hrsp_other",
	"hanafail",
	"req_rate",
	"req_rate_max",
	"req_tot",
	"cli_abrt",
	"srv_abrt",
	"comp_in",
	"comp_out",
	"comp_byp",
	"comp_rsp",
	"lastsess",
	"last_chk",
	"last_agt",
	"qtime",
	"ctime",
	"rtime",
	"ttime",
	"agent_status",
	"agent_code",
	"agent_duration",
	"check_desc",
	"agent_desc",
	"check_rise",
	"check_fall",
	"check_health",
	"agent_rise",
	"agent_fall",
	"agent_health",
	"addr",
	"cookie",
	"mode",
	"algo",
	"conn_rate",
	"conn_rate_max",
	"conn_tot",
	"intercepted",
	"dcon",
	"dses",
	"wrew",
	"connect",
	"reuse",
	"cache_lookups",
	"cache_hits",
	"srv_icur",
	"src_ilim",
	"qtime_max",
	"ctime_max",
	"rtime_max",
	"ttime_max",
	"eint",
	"idle_conn_cur",
	"safe_conn_cur",
	"used_conn_cur",
	"need_conn_est",
	"uweight",
	"agg_server_status",
	"agg_server_check_status",
	"agg_check_status",
	"-",
	"ssl_sess",
	"ssl_reused_sess",
	"ssl_failed_handshake",
	"h2_headers_rcvd",
	"h2_data_rcvd",
	"h2_settings_rcvd",
	"h2_rst_stream_rcvd",
	"h2_goaway_rcvd",
	"h2_detected_conn_protocol_errors",
	"h2_detected_strm_protocol_errors",
	"h2_rst_stream_resp",
	"h2_goaway_resp",
	"h2_open_connections",
	"h2_backend_open_streams",
	"h2_total_connections",
	"h2_backend_total_streams",
	"h1_open_connections",
	"h1_open_streams",
	"h1_total_connections",
	"h1_total_streams",
	"h1_bytes_in",
	"h1_bytes_out",
	"h1_spliced_bytes_in",
	"h1_spliced_bytes_out",
};
#define NSTAT_COLS ((int)(sizeof(stat_cols) / sizeof(stat_cols[0])))

/* One row: values by column, formatted into a small arena. */
struct stat_row {
	const char *v[NSTAT_COLS];
	int type; /* 0 frontend, 1 backend, 2 server */
	bool up, maint; /* servers: usable, in maintenance */
	char arena[4096];
	size_t used;
};

static int stat_col(const char *name)
{
	for (int i = 0; i < NSTAT_COLS; i++)
		if (!strcmp(stat_cols[i], name))
			return i;
	return -1;
}

static void row_set(struct stat_row *row, const char *col, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void row_set(struct stat_row *row, const char *col, const char *fmt, ...)
{
	int c = stat_col(col), n;
	va_list ap;

	if (c < 0 || row->used >= sizeof(row->arena))
		return;
	va_start(ap, fmt);
	n = vsnprintf(row->arena + row->used, sizeof(row->arena) - row->used, fmt, ap);
	va_end(ap);
	if (n < 0 || row->used + n + 1 > sizeof(row->arena))
		return;
	row->v[c] = row->arena + row->used;
	row->used += n + 1;
}

static void row_u64(struct stat_row *row, const char *col, uint64_t v)
{
	row_set(row, col, "%llu", (unsigned long long)v);
}

/* CSV field: quoted when it holds a comma, a quote or a line break. */
static void csv_field(struct sbuf *o, const char *v)
{
	if (!v)
		return;
	if (!strpbrk(v, ",\"\r\n")) {
		sbuf_puts(o, v);
		return;
	}
	sbuf_puts(o, "\"");
	for (; *v; v++) {
		if (*v == '"')
			sbuf_puts(o, "\"\"");
		else if (*v == '\r' || *v == '\n')
			sbuf_puts(o, " ");
		else
			sbuf_add(o, v, 1);
	}
	sbuf_puts(o, "\"");
}

/*
 * While the statistics page's snapshot is rendered (control loop only), each
 * `show stat` row is also handed to this callback, with where it was written.
 */
static void (*row_cb)(void *arg, const struct stat_row *row, size_t off, size_t len);
static void *row_arg;

static void row_emit(struct sbuf *o, struct stat_row *row)
{
	size_t off = o->len;

	for (int i = 0; i < NSTAT_COLS; i++) {
		csv_field(o, row->v[i]);
		sbuf_puts(o, ",");
	}
	sbuf_puts(o, "\n");
	if (row_cb && !o->oom)
		row_cb(row_arg, row, off, o->len - off);
}

static void row_common(struct stat_row *row, struct proxy *px, const char *svname, int type)
{
	memset(row->v, 0, sizeof(row->v));
	row->used = 0;
	row->type = type;
	row->up = row->maint = false;
	row_set(row, "pxname", "%s", px->name);
	row_set(row, "svname", "%s", svname);
	row_set(row, "pid", "1");
	row_set(row, "iid", "%u", px->uuid);
	row_set(row, "type", "%d", type);
	row_set(row, "mode", "%s", px_mode_str(px->mode));
	row_set(row, "-", "-");
}

static void row_http(struct stat_row *row, struct proxy *px)
{
	static const char *const cols[] = { "hrsp_1xx", "hrsp_2xx", "hrsp_3xx",
					    "hrsp_4xx", "hrsp_5xx", "hrsp_other" };

	if (px->mode != PX_MODE_HTTP)
		return;
	for (int i = 0; i < 6; i++)
		row_u64(row, cols[i], __atomic_load_n(&px->http_rsp[i], __ATOMIC_RELAXED));
}

/* The status column of a server row, as HAProxy writes it. */
static const char *srv_stat_status(const struct server *s, const struct health_info *hi, char *buf,
				   size_t len)
{
	int max = hi->rise + hi->fall - 1;

	if (s->admin == SRV_ADMIN_MAINT)
		return "MAINT";
	if (!hi->configured || !hi->enabled) {
		if (s->chk_state == SRV_CHK_DOWN)
			return "DOWN";
		if (s->admin == SRV_ADMIN_DRAIN)
			return "DRAIN";
		return hi->configured ? "UP" : "no check";
	}
	if (s->chk_state == SRV_CHK_DOWN) {
		if (hi->health > 0) {
			snprintf(buf, len, "DOWN %d/%d", hi->health, hi->rise);
			return buf;
		}
		return "DOWN";
	}
	if (s->admin == SRV_ADMIN_DRAIN)
		return "DRAIN";
	if (hi->health < max) {
		snprintf(buf, len, "UP %d/%d", hi->health - hi->rise + 1, hi->fall);
		return buf;
	}
	return "UP";
}

struct stat_filter {
	struct proxy *px; /* NULL = all */
	int types; /* 1 frontend, 2 backend, 4 server */
	int sid; /* -1 = all */
	bool up_only, no_maint;
};

static void stat_server_row(struct sbuf *o, struct stat_row *row, struct proxy *be,
			    struct server *s)
{
	struct health_info hi;
	char stbuf[32], addr[80];

	health_get_info(s, &hi);
	row_common(row, be, s->name, 2);
	row->up = server_usable(s);
	row->maint = s->admin == SRV_ADMIN_MAINT;
	row_u64(row, "qcur", __atomic_load_n(&s->queued, __ATOMIC_RELAXED));
	row_u64(row, "scur", __atomic_load_n(&s->cur_conns, __ATOMIC_RELAXED));
	row_u64(row, "smax", __atomic_load_n(&s->max_conns_seen, __ATOMIC_RELAXED));
	if (s->maxconn > 0)
		row_set(row, "slim", "%d", s->maxconn);
	row_u64(row, "stot", __atomic_load_n(&s->total_conns, __ATOMIC_RELAXED));
	row_u64(row, "lbtot", __atomic_load_n(&s->total_conns, __ATOMIC_RELAXED));
	row_u64(row, "bin", __atomic_load_n(&s->bytes_in, __ATOMIC_RELAXED));
	row_u64(row, "bout", __atomic_load_n(&s->bytes_out, __ATOMIC_RELAXED));
	row_u64(row, "econ", __atomic_load_n(&s->conn_errors, __ATOMIC_RELAXED));
	row_u64(row, "wretr", __atomic_load_n(&s->retries, __ATOMIC_RELAXED));
	row_u64(row, "wredis", __atomic_load_n(&s->redispatches, __ATOMIC_RELAXED));
	row_set(row, "status", "%s", srv_stat_status(s, &hi, stbuf, sizeof(stbuf)));
	row_set(row, "weight", "%d", s->weight);
	row_set(row, "uweight", "%d", s->weight);
	row_set(row, "act", "%d", s->backup ? 0 : 1);
	row_set(row, "bck", "%d", s->backup ? 1 : 0);
	if (hi.configured) {
		row_u64(row, "chkfail", s->chk_fails);
		row_u64(row, "chkdown", s->down_trans);
	}
	row_u64(row, "lastchg", since_s(s->last_change));
	row_set(row, "sid", "%u", s->puid);
	if (hi.configured && hi.status != HCHK_INI) {
		row_set(row, "check_status", "%s%s", hi.running ? "* " : "",
			health_status_name(hi.status));
		if (hi.code)
			row_set(row, "check_code", "%d", hi.code);
		if (hi.duration_ms >= 0)
			row_set(row, "check_duration", "%d", hi.duration_ms);
		row_set(row, "check_desc", "%s", health_status_desc(hi.status));
		row_set(row, "last_chk", "%s", hi.info);
	}
	if (hi.configured) {
		row_set(row, "check_rise", "%d", hi.rise);
		row_set(row, "check_fall", "%d", hi.fall);
		row_set(row, "check_health", "%d", hi.health);
	}
	lbd_addr_str(&s->addr, addr, sizeof(addr));
	row_set(row, "addr", "%s", addr);
	if (s->cookie)
		row_set(row, "cookie", "%s", s->cookie);
	row_emit(o, row);
}

static void stat_backend_rows(struct sbuf *o, struct stat_row *row, struct proxy *be,
			      const struct stat_filter *f)
{
	uint64_t stot = 0, bin = 0, bout = 0, econ = 0, wretr = 0, wredis = 0;
	int qcur = 0, scur = 0, act, bck;
	uint32_t weight = 0;
	bool up;
	struct server *s;

	pthread_mutex_lock(&be->lock);
	list_for_each(s, &be->servers, list) {
		if ((f->types & 4) && (f->sid < 0 || (uint32_t)f->sid == s->puid) &&
		    !(f->no_maint && s->admin == SRV_ADMIN_MAINT) &&
		    !(f->up_only && !server_usable(s)))
			stat_server_row(o, row, be, s);
		qcur += __atomic_load_n(&s->queued, __ATOMIC_RELAXED);
		scur += __atomic_load_n(&s->cur_conns, __ATOMIC_RELAXED);
		stot += __atomic_load_n(&s->total_conns, __ATOMIC_RELAXED);
		bin += __atomic_load_n(&s->bytes_in, __ATOMIC_RELAXED);
		bout += __atomic_load_n(&s->bytes_out, __ATOMIC_RELAXED);
		econ += __atomic_load_n(&s->conn_errors, __ATOMIC_RELAXED);
		wretr += __atomic_load_n(&s->retries, __ATOMIC_RELAXED);
		wredis += __atomic_load_n(&s->redispatches, __ATOMIC_RELAXED);
	}
	health_count_usable(be, &act, &bck);
	up = be->pool && be->pool->n > 0;
	if (be->pool)
		weight = be->pool->tot_weight;
	pthread_mutex_unlock(&be->lock);
	if (!(f->types & 2))
		return;
	if (__atomic_load_n(&be->bytes_in, __ATOMIC_RELAXED))
		bin = be->bytes_in;
	if (__atomic_load_n(&be->bytes_out, __ATOMIC_RELAXED))
		bout = be->bytes_out;
	row_common(row, be, "BACKEND", 1);
	row_set(row, "qcur", "%d", qcur);
	row_set(row, "scur", "%d", scur);
	row_u64(row, "stot", stot);
	row_u64(row, "lbtot", stot);
	row_u64(row, "bin", bin);
	row_u64(row, "bout", bout);
	row_u64(row, "dreq", __atomic_load_n(&be->denied_req, __ATOMIC_RELAXED));
	row_u64(row, "econ", econ);
	row_u64(row, "wretr", wretr);
	row_u64(row, "wredis", wredis);
	row_set(row, "status", "%s", up ? "UP" : "DOWN");
	row_set(row, "weight", "%u", weight);
	row_set(row, "act", "%d", act);
	row_set(row, "bck", "%d", bck);
	row_set(row, "sid", "0");
	row_set(row, "algo", "%s", be->algo ? be->algo->name : "roundrobin");
	row_http(row, be);
	row_emit(o, row);
}

static void stat_frontend_row(struct sbuf *o, struct stat_row *row, struct proxy *fe)
{
	int maxconn = fe->maxconn > 0 ? fe->maxconn : api_lbd->m->global.maxconn;

	row_common(row, fe, "FRONTEND", 0);
	row_u64(row, "scur", __atomic_load_n(&fe->cur_conns, __ATOMIC_RELAXED));
	row_set(row, "slim", "%d", maxconn);
	row_u64(row, "stot", __atomic_load_n(&fe->cum_conns, __ATOMIC_RELAXED));
	row_u64(row, "conn_tot", __atomic_load_n(&fe->cum_conns, __ATOMIC_RELAXED));
	row_u64(row, "bin", __atomic_load_n(&fe->bytes_in, __ATOMIC_RELAXED));
	row_u64(row, "bout", __atomic_load_n(&fe->bytes_out, __ATOMIC_RELAXED));
	row_u64(row, "dreq", __atomic_load_n(&fe->denied_req, __ATOMIC_RELAXED));
	row_u64(row, "ereq", __atomic_load_n(&fe->failed_req, __ATOMIC_RELAXED));
	row_set(row, "status", "%s", fe->disabled ? "STOP" : "OPEN");
	row_set(row, "sid", "0");
	row_http(row, fe);
	row_emit(o, row);
}

/*
 * The CSV of `show stat` for filter f: the header line, then for each proxy
 * its frontend row, its servers' rows and its backend row. Used by the
 * command and by the HTTP statistics page's snapshot (through row_cb).
 */
static void stat_csv(struct sbuf *o, const struct stat_filter *f)
{
	struct stat_row *row = malloc(sizeof(*row));
	struct proxy *px;

	if (!row) {
		sbuf_puts(o, "Out of memory.\n");
		return;
	}
	sbuf_puts(o, "# ");
	for (int i = 0; i < NSTAT_COLS; i++) {
		sbuf_puts(o, stat_cols[i]);
		sbuf_puts(o, ",");
	}
	sbuf_puts(o, "\n");
	list_for_each(px, &api_lbd->m->proxies, list) {
		if (f->px && f->px != px)
			continue;
		if ((px->cap & PX_CAP_FE) && (f->types & 1))
			stat_frontend_row(o, row, px);
		if (px->cap & PX_CAP_BE)
			stat_backend_rows(o, row, px, f);
	}
	free(row);
}

static void cmd_show_stat(struct api_req *r, char **args, int nargs)
{
	struct stat_filter f = { .types = 7, .sid = -1 };
	struct proxy *px;
	int i = 2;

	/* show stat [{<iid>|<proxy>} <type> <sid>] [typed|json] [desc] [up|no-maint] */
	if (nargs >= 5 && strcmp(args[2], "up") && strcmp(args[2], "no-maint")) {
		char *end;
		long iid = strtol(args[2], &end, 10);

		if (*end || end == args[2]) {
			f.px = model_find_proxy(api_lbd->m, args[2], 0);
		} else if (iid != -1) {
			list_for_each(px, &api_lbd->m->proxies, list)
				if (px->uuid == (uint32_t)iid)
					f.px = px;
		}
		if (!f.px && strcmp(args[2], "-1")) {
			sbuf_puts(r->out, "No such proxy.\n");
			return;
		}
		f.types = atoi(args[3]);
		if (f.types < 0)
			f.types = 7;
		f.sid = atoi(args[4]);
		i = 5;
	}
	for (; i < nargs; i++) {
		if (!strcmp(args[i], "up"))
			f.up_only = true;
		else if (!strcmp(args[i], "no-maint"))
			f.no_maint = true;
		else if (!strcmp(args[i], "typed") || !strcmp(args[i], "json")) {
			sbuf_printf(r->out,
				    "'show stat %s' is not supported by lbd; use 'show servers "
				    "json' or 'show status json'.\n",
				    args[i]);
			return;
		}
	}
	stat_csv(r->out, &f);
}

/*
 * The HTTP statistics page (l7/stats_page.c): while some proxy enables it,
 * the control loop renders `show stat` into a snapshot every
 * STATS_SNAP_INTERVAL and publishes it; the workers serve the latest one.
 */
static ev_timer snap_timer;

struct snap_build {
	struct stats_snap *s;
	bool failed;
};

static void snap_row(void *arg, const struct stat_row *row, size_t off, size_t len)
{
	struct snap_build *sb = arg;

	if (stats_snap_add_row(sb->s, row->v, row->type, row->up, row->maint, off, len) < 0)
		sb->failed = true;
}

static void stats_snap_render(void)
{
	const struct stat_filter all = { .types = 7, .sid = -1 };
	struct snap_build sb = { .s = stats_snap_new(stat_cols, NSTAT_COLS) };
	struct sbuf o = { 0 };
	struct lbd *d = api_lbd;
	struct model *m = d->m;
	char host[256] = "";
	struct proxy *px;
	const char *nl;

	if (!sb.s)
		return;
	row_cb = snap_row;
	row_arg = &sb;
	stat_csv(&o, &all);
	row_cb = NULL;
	row_arg = NULL;
	nl = o.buf ? memchr(o.buf, '\n', o.len) : NULL;
	if (o.oom || sb.failed || !nl) {
		free(o.buf);
		stats_snap_put(sb.s);
		return;
	}
	stats_snap_set_csv(sb.s, o.buf, o.len, nl + 1 - o.buf);
	sb.s->pid = d->pid;
	sb.s->nbthread = d->nworkers;
	sb.s->maxconn = m->global.maxconn;
	sb.s->uptime_s = (now_ms() - d->start_ms) / 1000;
	list_for_each(px, &m->proxies, list)
		if (px->cap & PX_CAP_FE)
			sb.s->curconn += __atomic_load_n(&px->cur_conns, __ATOMIC_RELAXED);
	gethostname(host, sizeof(host) - 1);
	sb.s->node = strdup(m->global.node ? m->global.node : host);
	if (m->global.description)
		sb.s->desc = strdup(m->global.description);
	stats_snap_publish(sb.s);
}

static void snap_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	stats_snap_render();
}

/* Start or stop the snapshots as the current model asks (start, reload). */
static void stats_snap_update(void)
{
	if (!api_loop || !api_lbd || !api_lbd->m)
		return;
	if (stats_page_wanted(api_lbd->m)) {
		stats_snap_render();
		if (!ev_is_active(&snap_timer)) {
			ev_timer_init(&snap_timer, snap_timer_cb, STATS_SNAP_INTERVAL,
				      STATS_SNAP_INTERVAL);
			ev_timer_start(api_loop, &snap_timer);
			ev_unref(api_loop);
		}
		return;
	}
	if (ev_is_active(&snap_timer)) {
		ev_ref(api_loop);
		ev_timer_stop(api_loop, &snap_timer);
	}
	stats_snap_publish(NULL);
}

/* `show servers state`: HAProxy's version 1 format. */
static void servers_state_rows(struct sbuf *o, struct proxy *be)
{
	struct server *s;

	pthread_mutex_lock(&be->lock);
	list_for_each(s, &be->servers, list) {
		struct health_info hi;
		char ip[INET6_ADDRSTRLEN], cip[INET6_ADDRSTRLEN] = "-";
		int port, cport, op, adm, chk = 0;

		health_get_info(s, &hi);
		lbd_addr_ip_port(&s->addr, ip, sizeof(ip), &port);
		if (s->check.addr.ss_family)
			lbd_addr_ip_port(&s->check.addr, cip, sizeof(cip), &cport);
		op = (s->admin == SRV_ADMIN_MAINT || s->chk_state == SRV_CHK_DOWN) ? 0 : 2;
		adm = s->admin == SRV_ADMIN_MAINT ? 0x01 : s->admin == SRV_ADMIN_DRAIN ? 0x08 : 0;
		if (hi.configured)
			chk |= 0x02;
		if (hi.configured && hi.enabled)
			chk |= 0x04;
		if (hi.running)
			chk |= 0x01;
		if (hi.configured && s->admin == SRV_ADMIN_MAINT)
			chk |= 0x08;
		/* As HAProxy, `port` sets the agent's port too (the last field). */
		sbuf_printf(
			o,
			"%u %s %u %s %s %d %d %d %d %llu %d %d %d %d 0 0 0 - %d - %d %d %s - %d\n",
			be->uuid, be->name, s->puid, s->name, ip, op, adm, s->weight, s->iweight,
			(unsigned long long)since_s(s->last_change), (int)hi.status, (int)hi.result,
			hi.configured ? hi.health : hi.rise, chk, port, s->ssl ? 1 : 0,
			s->check.port, cip, s->check.port);
	}
	pthread_mutex_unlock(&be->lock);
}

static void cmd_show_servers_state(struct api_req *r, char **args, int nargs)
{
	struct proxy *px, *only = NULL;

	if (nargs > 3) {
		only = model_find_backend(api_lbd->m, args[3]);
		if (!only) {
			char *end;
			long id = strtol(args[3], &end, 10);

			list_for_each(px, &api_lbd->m->proxies, list)
				if (!*end && (px->cap & PX_CAP_BE) && px->uuid == (uint32_t)id)
					only = px;
		}
		if (!only) {
			sbuf_puts(r->out, "Can't find backend.\n");
			return;
		}
	}
	sbuf_puts(r->out,
		  "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state "
		  "srv_admin_state srv_uweight srv_iweight srv_time_since_last_change "
		  "srv_check_status srv_check_result srv_check_health srv_check_state "
		  "srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord "
		  "srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n");
	list_for_each(px, &api_lbd->m->proxies, list) {
		if (!(px->cap & PX_CAP_BE) || (only && px != only))
			continue;
		servers_state_rows(r->out, px);
	}
}

static void json_out(struct api_req *r, json_t *root)
{
	char *txt;

	if (!root) {
		sbuf_puts(r->out, "Out of memory.\n");
		return;
	}
	txt = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (!txt) {
		sbuf_puts(r->out, "Out of memory.\n");
		return;
	}
	sbuf_puts(r->out, txt);
	sbuf_puts(r->out, "\n");
	free(txt);
}

static const char *admin_name(enum srv_admin a)
{
	return a == SRV_ADMIN_MAINT ? "maint" : a == SRV_ADMIN_DRAIN ? "drain" : "ready";
}

static json_t *server_json(struct proxy *be, struct server *s)
{
	struct health_info hi;
	char ip[INET6_ADDRSTRLEN];
	json_t *o = json_object(), *chk;
	int port;

	if (!o)
		return NULL;
	health_get_info(s, &hi);
	lbd_addr_ip_port(&s->addr, ip, sizeof(ip), &port);
	json_object_set_new(o, "backend", json_string(be->name));
	json_object_set_new(o, "name", json_string(s->name));
	json_object_set_new(o, "id", json_integer(s->id));
	json_object_set_new(o, "puid", json_integer(s->puid));
	json_object_set_new(o, "addr", json_string(ip));
	json_object_set_new(o, "port", json_integer(port));
	json_object_set_new(o, "weight", json_integer(s->weight));
	json_object_set_new(o, "iweight", json_integer(s->iweight));
	json_object_set_new(o, "state", json_string(server_state_str(s)));
	json_object_set_new(o, "admin", json_string(admin_name(s->admin)));
	json_object_set_new(o, "usable", json_boolean(server_usable(s)));
	json_object_set_new(o, "backup", json_boolean(s->backup));
	json_object_set_new(o, "maxconn", json_integer(s->maxconn));
	json_object_set_new(o, "origin", json_string(srv_origin_str(s->origin)));
	json_object_set_new(o, "origin_key",
			    s->origin_key ? json_string(s->origin_key) : json_null());
	json_object_set_new(o, "cur_conns",
			    json_integer(__atomic_load_n(&s->cur_conns, __ATOMIC_RELAXED)));
	json_object_set_new(o, "max_conns",
			    json_integer(__atomic_load_n(&s->max_conns_seen, __ATOMIC_RELAXED)));
	json_object_set_new(o, "queued",
			    json_integer(__atomic_load_n(&s->queued, __ATOMIC_RELAXED)));
	json_object_set_new(o, "total",
			    json_integer(__atomic_load_n(&s->total_conns, __ATOMIC_RELAXED)));
	json_object_set_new(o, "bytes_in",
			    json_integer(__atomic_load_n(&s->bytes_in, __ATOMIC_RELAXED)));
	json_object_set_new(o, "bytes_out",
			    json_integer(__atomic_load_n(&s->bytes_out, __ATOMIC_RELAXED)));
	json_object_set_new(o, "conn_errors",
			    json_integer(__atomic_load_n(&s->conn_errors, __ATOMIC_RELAXED)));
	json_object_set_new(o, "last_change_s", json_integer(since_s(s->last_change)));
	if (!hi.configured) {
		json_object_set_new(o, "check", json_null());
		return o;
	}
	chk = json_object();
	if (chk) {
		json_object_set_new(chk, "enabled", json_boolean(hi.enabled));
		json_object_set_new(chk, "state",
				    json_string(s->chk_state == SRV_CHK_UP ? "UP" : "DOWN"));
		json_object_set_new(chk, "status", json_string(health_status_name(hi.status)));
		json_object_set_new(chk, "desc", json_string(health_status_desc(hi.status)));
		json_object_set_new(chk, "code", json_integer(hi.code));
		json_object_set_new(chk, "duration_ms", json_integer(hi.duration_ms));
		json_object_set_new(chk, "info", json_string(hi.info));
		json_object_set_new(chk, "health", json_integer(hi.health));
		json_object_set_new(chk, "rise", json_integer(hi.rise));
		json_object_set_new(chk, "fall", json_integer(hi.fall));
		json_object_set_new(chk, "inter_ms", json_integer(s->check.inter));
	}
	json_object_set_new(o, "check", chk);
	return o;
}

static void cmd_show_servers_json(struct api_req *r, char **args, int nargs)
{
	json_t *root = json_object(), *arr = json_array();
	struct proxy *be, *only = NULL;
	struct server *s;

	if (nargs > 3) {
		only = model_find_backend(api_lbd->m, args[3]);
		if (!only) {
			json_decref(root);
			json_decref(arr);
			sbuf_puts(r->out, "Can't find backend.\n");
			return;
		}
	}
	if (!root || !arr) {
		json_decref(root);
		json_decref(arr);
		sbuf_puts(r->out, "Out of memory.\n");
		return;
	}
	list_for_each(be, &api_lbd->m->proxies, list) {
		if (!(be->cap & PX_CAP_BE) || (only && be != only))
			continue;
		pthread_mutex_lock(&be->lock);
		list_for_each(s, &be->servers, list)
			json_array_append_new(arr, server_json(be, s));
		pthread_mutex_unlock(&be->lock);
	}
	json_object_set_new(root, "servers", arr);
	json_out(r, root);
}

static json_t *frontend_json(struct proxy *fe)
{
	json_t *o = json_object(), *binds = json_array();
	const char *tier, *reason;
	struct bind *b;
	char addr[80];

	if (!o || !binds) {
		json_decref(o);
		json_decref(binds);
		return NULL;
	}
	list_for_each(b, &fe->binds, list) {
		json_t *jb = json_object();

		if (!jb)
			continue;
		lbd_addr_str(&b->addr, addr, sizeof(addr));
		json_object_set_new(jb, "addr", json_string(addr));
		json_object_set_new(jb, "proto", json_string(b->proto == BIND_UDP ? "udp" : "tcp"));
		json_object_set_new(jb, "ssl", json_boolean(b->ssl));
		json_object_set_new(jb, "as_written", json_string(b->name ? b->name : addr));
		json_array_append_new(binds, jb);
	}
	if (fe->xdp) {
		tier = "xdp";
		reason = "served at the NIC by the XDP program";
	} else {
		tier = fe->mode == PX_MODE_HTTP ? "l7" : "userspace";
		reason = fe->xdp_reason		  ? fe->xdp_reason :
			 fe->mode == PX_MODE_HTTP ? "mode http is served by the L7 tier" :
						    "no XDP interface attached";
	}
	json_object_set_new(o, "name", json_string(fe->name));
	json_object_set_new(o, "mode", json_string(px_mode_str(fe->mode)));
	json_object_set_new(o, "tier", json_string(tier));
	json_object_set_new(o, "reason", json_string(reason));
	json_object_set_new(o, "binds", binds);
	json_object_set_new(o, "default_backend",
			    fe->default_backend ? json_string(fe->default_backend->name) :
						  json_null());
	json_object_set_new(o, "disabled", json_boolean(fe->disabled));
	json_object_set_new(o, "cur_conns",
			    json_integer(__atomic_load_n(&fe->cur_conns, __ATOMIC_RELAXED)));
	json_object_set_new(o, "total_conns",
			    json_integer(__atomic_load_n(&fe->cum_conns, __ATOMIC_RELAXED)));
	return o;
}

static json_t *backend_json(struct proxy *be)
{
	json_t *o = json_object();
	int act, bck, n;
	bool up, on_backup;

	if (!o)
		return NULL;
	pthread_mutex_lock(&be->lock);
	health_count_usable(be, &act, &bck);
	n = be->nservers;
	up = be->pool && be->pool->n > 0;
	on_backup = be->pool && be->pool->backup;
	pthread_mutex_unlock(&be->lock);
	json_object_set_new(o, "name", json_string(be->name));
	json_object_set_new(o, "mode", json_string(px_mode_str(be->mode)));
	json_object_set_new(o, "algo", json_string(be->algo ? be->algo->name : "roundrobin"));
	json_object_set_new(o, "status", json_string(up ? "UP" : "DOWN"));
	json_object_set_new(o, "servers", json_integer(n));
	json_object_set_new(o, "active_usable", json_integer(act));
	json_object_set_new(o, "backup_usable", json_integer(bck));
	json_object_set_new(o, "on_backup", json_boolean(on_backup));
	return o;
}

static void cmd_show_status_json(struct api_req *r, char **args, int nargs)
{
	struct lbd *d = api_lbd;
	json_t *root = json_object(), *fes = json_array(), *bes = json_array(),
	       *files = json_array();
	struct proxy *px;

	if (!root || !fes || !bes || !files) {
		json_decref(root);
		json_decref(fes);
		json_decref(bes);
		json_decref(files);
		sbuf_puts(r->out, "Out of memory.\n");
		return;
	}
	for (int i = 0; i < d->ncfg_files; i++)
		json_array_append_new(files, json_string(d->cfg_files[i]));
	json_object_set_new(root, "version", json_string(XLB_VERSION));
	json_object_set_new(root, "pid", json_integer(d->pid));
	json_object_set_new(root, "uptime_sec", json_integer((now_ms() - d->start_ms) / 1000));
	json_object_set_new(root, "workers", json_integer(d->nworkers));
	json_object_set_new(root, "stopping", json_boolean(d->soft_stopping));
	json_object_set_new(root, "config", files);
	json_object_set_new(root, "xdp", json_boolean(d->xdp_enabled));
	json_object_set_new(root, "xdp_interfaces",
			    d->m->global.xdp_ifaces ? json_string(d->m->global.xdp_ifaces) :
						      json_null());
	list_for_each(px, &d->m->proxies, list) {
		if (px->cap & PX_CAP_FE)
			json_array_append_new(fes, frontend_json(px));
		if (px->cap & PX_CAP_BE)
			json_array_append_new(bes, backend_json(px));
	}
	json_object_set_new(root, "frontends", fes);
	json_object_set_new(root, "backends", bes);
	json_out(r, root);
}

static void conns_rows(struct sbuf *o)
{
	struct proxy *px;
	struct server *s;

	sbuf_puts(o, "# type name cur_conns max_conns total_conns queued\n");
	list_for_each(px, &api_lbd->m->proxies, list) {
		if (px->cap & PX_CAP_FE)
			sbuf_printf(o, "frontend %s %d - %llu -\n", px->name,
				    __atomic_load_n(&px->cur_conns, __ATOMIC_RELAXED),
				    (unsigned long long)__atomic_load_n(&px->cum_conns,
									__ATOMIC_RELAXED));
		if (!(px->cap & PX_CAP_BE))
			continue;
		pthread_mutex_lock(&px->lock);
		list_for_each(s, &px->servers, list)
			sbuf_printf(o, "server %s/%s %d %d %llu %d\n", px->name, s->name,
				    __atomic_load_n(&s->cur_conns, __ATOMIC_RELAXED),
				    __atomic_load_n(&s->max_conns_seen, __ATOMIC_RELAXED),
				    (unsigned long long)__atomic_load_n(&s->total_conns,
									__ATOMIC_RELAXED),
				    __atomic_load_n(&s->queued, __ATOMIC_RELAXED));
		pthread_mutex_unlock(&px->lock);
	}
}

static void cmd_show_conns(struct api_req *r, char **args, int nargs)
{
	conns_rows(r->out);
}

static void cmd_show_xdp_default(struct api_req *r, char **args, int nargs)
{
	const char *ifs = api_lbd->m->global.xdp_ifaces;

	sbuf_printf(r->out, "XDP tier: not attached (%s)\n",
		    ifs ? "the XDP module is not part of this build or failed to attach" :
			  "no xlb-interface configured");
}

/* ---- commands: changes ---- */

static void cmd_get_weight(struct api_req *r, char **args, int nargs)
{
	struct server *s = find_srv(r, nargs > 2 ? args[2] : NULL);

	if (s)
		sbuf_printf(r->out, "%d (initial %d)\n", s->weight, s->iweight);
}

static void cmd_set_weight(struct api_req *r, char **args, int nargs)
{
	struct server *s = find_srv(r, nargs > 2 ? args[2] : NULL);
	int w;

	if (!s)
		return;
	w = parse_weight(r, s, nargs > 3 ? args[3] : NULL);
	if (w >= 0)
		srv_set_weight(s, w);
}

static int parse_ip(const char *str, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, str, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		ss->ss_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, str, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		ss->ss_family = AF_INET6;
		return 0;
	}
	return -1;
}

static int parse_port(const char *str)
{
	char *end;
	long p = strtol(str, &end, 10);

	return (end == str || *end || p < 0 || p > 65535) ? -1 : (int)p;
}

static void set_port(struct sockaddr_storage *ss, int port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

static void srv_set_addr(struct api_req *r, struct server *s, char **args, int nargs)
{
	struct sockaddr_storage ss;
	char oip[INET6_ADDRSTRLEN], nip[INET6_ADDRSTRLEN], full[96], *nstr;
	int oport, nport, port = -1;
	struct proxy *be = s->be;

	if (nargs < 5) {
		sbuf_puts(r->out,
			  "set server <b>/<s> addr requires an address and optionally a port.\n");
		return;
	}
	if (parse_ip(args[4], &ss) < 0) {
		sbuf_printf(r->out, "Invalid addr '%s'.\n", args[4]);
		return;
	}
	if (nargs > 5) {
		if (strcmp(args[5], "port") || nargs < 7 || (port = parse_port(args[6])) < 0) {
			sbuf_puts(r->out,
				  "set server <b>/<s> addr: expects 'port <port>' after the "
				  "address.\n");
			return;
		}
	}
	lbd_addr_ip_port(&s->addr, oip, sizeof(oip), &oport);
	nport = port >= 0 ? port : oport;
	set_port(&ss, nport);
	lbd_addr_ip_port(&ss, nip, sizeof(nip), &nport);
	lbd_addr_str(&ss, full, sizeof(full));
	nstr = strdup(full);
	if (!nstr) {
		sbuf_puts(r->out, "Out of memory.\n");
		return;
	}
	pthread_mutex_lock(&be->lock);
	s->addr = ss;
	s->addrlen =
		ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	/* Workers may be formatting the old string: keep it until exit. */
	if (s->addr_str) {
		char **g = realloc(graveyard, (ngraveyard + 1) * sizeof(*g));

		if (g) {
			graveyard = g;
			graveyard[ngraveyard++] = s->addr_str;
		}
	}
	s->addr_str = nstr;
	s->last_change = now_ms();
	backend_recalc(be);
	pthread_mutex_unlock(&be->lock);
	health_server_changed(s);
	if (strcmp(oip, nip))
		sbuf_printf(r->out, "IP changed from '%s' to '%s'", oip, nip);
	else
		sbuf_puts(r->out, "no need to change the addr");
	if (oport != nport)
		sbuf_printf(r->out, ", port changed from '%d' to '%d'", oport, nport);
	else
		sbuf_puts(r->out, ", no need to change the port");
	sbuf_puts(r->out, " by 'stats socket command'\n");
	lb_notice("%s/%s changed its address to %s by 'stats socket command'", be->name, s->name,
		  full);
}

static void cmd_set_server(struct api_req *r, char **args, int nargs)
{
	struct server *s = find_srv(r, nargs > 2 ? args[2] : NULL);
	const char *what = nargs > 3 ? args[3] : "";

	if (!s)
		return;
	if (!strcmp(what, "weight")) {
		int w = parse_weight(r, s, nargs > 4 ? args[4] : NULL);

		if (w >= 0)
			srv_set_weight(s, w);
	} else if (!strcmp(what, "state")) {
		const char *st = nargs > 4 ? args[4] : "";

		if (!strcmp(st, "ready"))
			srv_set_admin(s, SRV_ADMIN_READY);
		else if (!strcmp(st, "drain"))
			srv_set_admin(s, SRV_ADMIN_DRAIN);
		else if (!strcmp(st, "maint"))
			srv_set_admin(s, SRV_ADMIN_MAINT);
		else
			sbuf_puts(r->out, "'set server <srv> state' expects 'ready', 'drain' and "
					  "'maint'.\n");
	} else if (!strcmp(what, "health")) {
		const char *st = nargs > 4 ? args[4] : "";

		if (!strcmp(st, "up"))
			health_force(s, true);
		else if (!strcmp(st, "down") || !strcmp(st, "stopping"))
			health_force(s, false);
		else
			sbuf_puts(r->out, "'set server <srv> health' expects 'up', 'stopping', or "
					  "'down'.\n");
	} else if (!strcmp(what, "addr")) {
		srv_set_addr(r, s, args, nargs);
	} else if (!strcmp(what, "check-port")) {
		int p = nargs > 4 ? parse_port(args[4]) : -1;

		if (p <= 0) {
			sbuf_puts(r->out, "'set server <srv> check-port' expects an integer as "
					  "argument.\n");
			return;
		}
		s->check.port = p;
		health_server_changed(s);
	} else if (!strcmp(what, "check-addr")) {
		struct sockaddr_storage ss;

		if (nargs < 5 || parse_ip(args[4], &ss) < 0) {
			sbuf_puts(r->out, "'set server <srv> check-addr' expects an IP address.\n");
			return;
		}
		s->check.addr = ss;
		health_server_changed(s);
	} else {
		sbuf_puts(r->out, "usage: set server <backend>/<server> addr | check-addr | "
				  "check-port | health | state | weight\n");
	}
}

static void cmd_enable_disable_server(struct api_req *r, char **args, int nargs)
{
	struct server *s = find_srv(r, nargs > 2 ? args[2] : NULL);

	if (s)
		srv_set_admin(s, !strcmp(args[0], "enable") ? SRV_ADMIN_READY : SRV_ADMIN_MAINT);
}

static void cmd_enable_disable_health(struct api_req *r, char **args, int nargs)
{
	struct server *s = find_srv(r, nargs > 2 ? args[2] : NULL);
	bool on = !strcmp(args[0], "enable");

	if (!s)
		return;
	if (health_set_enabled(s, on) == -ENOENT)
		sbuf_printf(r->out, "Health check was not configured on this server, cannot %s.\n",
			    on ? "enable" : "disable");
}

static void cmd_set_maxconn_server(struct api_req *r, char **args, int nargs)
{
	struct server *s = find_srv(r, nargs > 3 ? args[3] : NULL);
	char *end;
	long v;

	if (!s)
		return;
	if (nargs < 5) {
		sbuf_puts(r->out, "Integer value expected.\n");
		return;
	}
	v = strtol(args[4], &end, 10);
	if (end == args[4] || *end || v < 0 || v > INT_MAX) {
		sbuf_puts(r->out, "maxconn string empty or preceded by garbage\n");
		return;
	}
	pthread_mutex_lock(&s->be->lock);
	s->maxconn = (int)v;
	backend_recalc(s->be);
	pthread_mutex_unlock(&s->be->lock);
	/* Connections queued for a slot may go now. */
	workers_wake_all(api_lbd);
}

static void cmd_clear_counters(struct api_req *r, char **args, int nargs)
{
	bool all = nargs > 2 && !strcmp(args[2], "all");
	struct proxy *px;
	struct server *s;

	if (all && r->level < API_LVL_ADMIN) {
		sbuf_puts(r->out, "Permission denied\n");
		return;
	}
	list_for_each(px, &api_lbd->m->proxies, list) {
		if (all) {
			__atomic_store_n(&px->cum_conns, 0, __ATOMIC_RELAXED);
			__atomic_store_n(&px->bytes_in, 0, __ATOMIC_RELAXED);
			__atomic_store_n(&px->bytes_out, 0, __ATOMIC_RELAXED);
			__atomic_store_n(&px->denied_req, 0, __ATOMIC_RELAXED);
			__atomic_store_n(&px->failed_req, 0, __ATOMIC_RELAXED);
			__atomic_store_n(&px->no_srv, 0, __ATOMIC_RELAXED);
			for (int i = 0; i < 6; i++)
				__atomic_store_n(&px->http_rsp[i], 0, __ATOMIC_RELAXED);
		}
		if (!(px->cap & PX_CAP_BE))
			continue;
		pthread_mutex_lock(&px->lock);
		list_for_each(s, &px->servers, list) {
			__atomic_store_n(&s->max_conns_seen,
					 __atomic_load_n(&s->cur_conns, __ATOMIC_RELAXED),
					 __ATOMIC_RELAXED);
			if (!all)
				continue;
			__atomic_store_n(&s->total_conns, 0, __ATOMIC_RELAXED);
			__atomic_store_n(&s->bytes_in, 0, __ATOMIC_RELAXED);
			__atomic_store_n(&s->bytes_out, 0, __ATOMIC_RELAXED);
			__atomic_store_n(&s->conn_errors, 0, __ATOMIC_RELAXED);
			__atomic_store_n(&s->retries, 0, __ATOMIC_RELAXED);
			__atomic_store_n(&s->redispatches, 0, __ATOMIC_RELAXED);
			s->chk_fails = 0;
			s->down_trans = 0;
		}
		pthread_mutex_unlock(&px->lock);
	}
}

/* `add server B/S ADDR[:PORT] [keywords]`: HAProxy's subset that lbd can honour. */
static void cmd_add_server(struct api_req *r, char **args, int nargs)
{
	const char *spec = nargs > 2 ? args[2] : NULL, *slash = spec ? strchr(spec, '/') : NULL;
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	struct proxy *be;
	struct server *s;
	char bname[256], *err = NULL, *perr;
	bool enabled = false, disabled = false, check = false;
	int i, rc;

	if (!slash || slash == spec || !slash[1]) {
		sbuf_puts(r->out, "Require 'backend/server'.\n");
		return;
	}
	snprintf(bname, sizeof(bname), "%.*s", (int)(slash - spec), spec);
	be = model_find_backend(api_lbd->m, bname);
	if (!be) {
		sbuf_puts(r->out, "No such backend.\n");
		return;
	}
	if (nargs < 4) {
		sbuf_puts(r->out, "'server' expects <name> and <addr>[:<port>] as arguments.\n");
		return;
	}
	if (backend_find_server(be, slash + 1)) {
		sbuf_puts(r->out, "Already exists a server with the same name in backend.\n");
		return;
	}
	memset(&ss, 0, sizeof(ss));
	if (cfg_parse_addr(args[3], &ss, &sslen, 0, &err) < 0 ||
	    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)) {
		sbuf_printf(r->out, "'server %s' : invalid address: '%s'%s%s\n", slash + 1, args[3],
			    err ? ": " : "", err ? err : "");
		free(err);
		return;
	}
	s = server_new(be, slash + 1);
	if (!s) {
		sbuf_puts(r->out, "Out of memory.\n");
		return;
	}
	/* As HAProxy: a dynamic server does not inherit `default-server`. */
	s->weight = s->iweight = 1;
	s->maxconn = s->minconn = 0;
	s->backup = false;
	memset(&s->check, 0, sizeof(s->check));
	s->check.inter = 2000;
	s->check.rise = 2;
	s->check.fall = 3;
	s->addr = ss;
	s->addrlen = sslen		      ? sslen :
		     ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
						sizeof(struct sockaddr_in);
	free(s->addr_str);
	s->addr_str = strdup(args[3]);
	for (i = 4; i < nargs; i++) {
		const char *kw = args[i], *val = i + 1 < nargs ? args[i + 1] : NULL;
		long long n;
		uint32_t ms;

		if (!strcmp(kw, "check")) {
			check = true;
			continue;
		}
		if (!strcmp(kw, "no-check")) {
			check = false;
			continue;
		}
		if (!strcmp(kw, "backup")) {
			s->backup = true;
			continue;
		}
		if (!strcmp(kw, "disabled")) {
			disabled = true;
			continue;
		}
		if (!strcmp(kw, "enabled")) {
			enabled = true;
			continue;
		}
		if (!strcmp(kw, "ssl")) {
			s->ssl = true;
			continue;
		}
		if (!strcmp(kw, "verify") || !strcmp(kw, "ca-file") || !strcmp(kw, "crt") ||
		    !strcmp(kw, "sni")) {
			/* TLS to the server (the L7 tier builds its context) */
			char **dst =
				kw[0] == 'c' ? (kw[1] == 'a' ? &s->ca_file : &s->crt) : &s->sni;

			if (!val) {
				sbuf_printf(r->out, "'%s' expects an argument.\n", kw);
				goto fail;
			}
			i++;
			if (kw[0] == 'v') {
				if (strcmp(val, "none") && strcmp(val, "required")) {
					sbuf_printf(
						r->out,
						"'verify' expects 'none' or 'required', got '%s'.\n",
						val);
					goto fail;
				}
				s->verify_none = !strcmp(val, "none");
				continue;
			}
			free(*dst);
			*dst = strdup(val);
			if (!*dst) {
				sbuf_printf(r->out, "out of memory.\n");
				goto fail;
			}
			continue;
		}
		if (!strcmp(kw, "cookie")) {
			/* the value cookie persistence matches (l7/cookie.c) */
			if (!val) {
				sbuf_printf(r->out, "'cookie' expects an argument.\n");
				goto fail;
			}
			free(s->cookie);
			s->cookie = strdup(val);
			if (!s->cookie) {
				sbuf_printf(r->out, "out of memory.\n");
				goto fail;
			}
			i++;
			continue;
		}
		if (strcmp(kw, "weight") && strcmp(kw, "maxconn") && strcmp(kw, "minconn") &&
		    strcmp(kw, "rise") && strcmp(kw, "fall") && strcmp(kw, "inter") &&
		    strcmp(kw, "fastinter") && strcmp(kw, "downinter") && strcmp(kw, "port") &&
		    strcmp(kw, "addr")) {
			sbuf_printf(r->out, "unknown keyword '%s'.\n", kw);
			goto fail;
		}
		if (!val) {
			sbuf_printf(r->out, "'%s' expects an argument.\n", kw);
			goto fail;
		}
		i++;
		if (!strcmp(kw, "inter") || !strcmp(kw, "fastinter") || !strcmp(kw, "downinter")) {
			if (cfg_parse_time(val, &ms) < 0 || ms == 0) {
				sbuf_printf(r->out, "'%s' expects a positive delay, got '%s'.\n",
					    kw, val);
				goto fail;
			}
			if (kw[0] == 'i')
				s->check.inter = ms;
			else if (kw[0] == 'f')
				s->check.fastinter = ms;
			else
				s->check.downinter = ms;
			continue;
		}
		if (!strcmp(kw, "addr")) {
			if (parse_ip(val, &s->check.addr) < 0) {
				sbuf_printf(r->out, "'addr' expects an IP address, got '%s'.\n",
					    val);
				goto fail;
			}
			continue;
		}
		if (cfg_parse_int(val, 0, INT_MAX, &n) < 0) {
			sbuf_printf(r->out, "'%s' expects an integer argument, got '%s'.\n", kw,
				    val);
			goto fail;
		}
		if (!strcmp(kw, "weight")) {
			if (n > 256) {
				sbuf_printf(r->out,
					    "weight of server %s is not within 0 and 256 (%lld).\n",
					    s->name, n);
				goto fail;
			}
			s->weight = s->iweight = (int)n;
		} else if (!strcmp(kw, "maxconn")) {
			s->maxconn = (int)n;
		} else if (!strcmp(kw, "minconn")) {
			s->minconn = (int)n;
		} else if (!strcmp(kw, "rise") || !strcmp(kw, "fall")) {
			if (n < 1) {
				sbuf_printf(r->out, "'%s' has to be > 0.\n", kw);
				goto fail;
			}
			if (kw[0] == 'r')
				s->check.rise = (int)n;
			else
				s->check.fall = (int)n;
		} else if (!strcmp(kw, "port")) {
			if (n < 1 || n > 65535) {
				sbuf_printf(r->out, "'port' expects a port between 1 and 65535.\n");
				goto fail;
			}
			s->check.port = (int)n;
		}
	}
	s->check.enabled = check;
	/* HAProxy: created in maintenance unless `enabled`; checks start with `enable health`. */
	s->admin = enabled && !disabled ? SRV_ADMIN_READY : SRV_ADMIN_MAINT;
	s->chk_disabled = check;
	s->chk_state = SRV_CHK_UP;
	s->origin = SRV_ORIGIN_API;
	s->origin_key = r->origin ? strdup(r->origin) : NULL;
	s->last_change = now_ms();
	if (s->ssl && !s->verify_none && !s->ca_file) {
		if (!be->m || !be->m->global.ssl_server_verify_none) {
			sbuf_puts(r->out, "'ssl' verifies the server's certificate: add 'ca-file "
					  "FILE' or 'verify none'.\n");
			server_put(s);
			return;
		}
		s->verify_none = true;
	}
	rc = lbd_add_server(be, s, false, &perr);
	if (rc == LBD_SRV_REFUSED) {
		sbuf_printf(r->out, "%s.\n", perr ? perr : "Could not add the server");
		free(perr);
		server_put(s);
		return;
	}
	if (rc < 0) {
		sbuf_puts(r->out,
			  rc == -EEXIST ?
				  "Already exists a server with the same name in backend.\n" :
				  "Could not add the server.\n");
		server_put(s);
		return;
	}
	health_server_added(s);
	lb_notice("Server %s/%s added through the runtime API (%s).", be->name, s->name,
		  s->admin == SRV_ADMIN_MAINT ? "in maintenance" : "ready");
	sbuf_puts(r->out, "New server registered.\n");
	return;
fail:
	server_put(s);
}

static void cmd_del_server(struct api_req *r, char **args, int nargs)
{
	struct server *s = find_srv(r, nargs > 2 ? args[2] : NULL);
	struct proxy *be;
	char name[512];

	if (!s)
		return;
	be = s->be;
	if (s->admin != SRV_ADMIN_MAINT) {
		sbuf_puts(r->out, "Only servers in maintenance mode can be deleted.\n");
		return;
	}
	snprintf(name, sizeof(name), "%s/%s", be->name, s->name);
	health_server_removed(s);
	/* Open connections keep their reference and finish on the removed server. */
	pthread_mutex_lock(&be->lock);
	backend_del_server(be, s);
	pthread_mutex_unlock(&be->lock);
	lb_notice("Server %s deleted.", name);
	sbuf_puts(r->out, "Server deleted.\n");
}

/* ---- commands: lbd's own ---- */

static void cmd_reload(struct api_req *r, char **args, int nargs)
{
	char *err = NULL;

	if (control_reload(api_lbd, &err) < 0) {
		sbuf_printf(r->out, "%s\n", err ? err : "reload failed");
		free(err);
		return;
	}
	sbuf_puts(r->out, "Success\n");
}

static void cmd_xdp_down(struct api_req *r, char **args, int nargs)
{
	char *err = NULL;

	if (!xdp_down_hook) {
		sbuf_puts(r->out, "XDP tier not attached: nothing to detach.\n");
		return;
	}
	if (xdp_down_hook(api_lbd, &err) < 0) {
		sbuf_printf(r->out, "XDP detach failed: %s\n", err ? err : "error");
		free(err);
		return;
	}
	api_lbd->xdp_enabled = false;
	sbuf_puts(r->out, "XDP detached, pins removed.\n");
}

static void cmd_shutdown(struct api_req *r, char **args, int nargs)
{
	struct api_sess *s = r->sess;
	bool hard = nargs > 1 && !strcmp(args[1], "hard");

	if (nargs > 2 || (nargs == 2 && strcmp(args[1], "hard") && strcmp(args[1], "soft")))
		return api_unknown(r, args, nargs);
	sbuf_printf(r->out, "Stopping (%s).\n", hard ? "hard" : "soft, open connections finish");
	if (s) {
		s->after_flush = hard ? SIGTERM : SIGUSR1;
		s->closing = true;
	}
}

static const struct api_cmd builtin_cmds[] = {
	{ { "help" }, API_LVL_USER, NULL, NULL, cmd_help },
	{ { "add", "server" },
	  API_LVL_ADMIN,
	  "add server <bk>/<srv> <addr:port> [kw]*",
	  "create a new server (in maintenance, as HAProxy)",
	  cmd_add_server },
	{ { "clear", "counters" },
	  API_LVL_OPER,
	  "clear counters [all]",
	  "clear max statistics counters (or all counters)",
	  cmd_clear_counters },
	{ { "del", "server" },
	  API_LVL_ADMIN,
	  "del server <bk>/<srv>",
	  "remove a server that is in maintenance",
	  cmd_del_server },
	{ { "disable", "health" },
	  API_LVL_ADMIN,
	  "disable health <bk>/<srv>",
	  "disable health checks",
	  cmd_enable_disable_health },
	{ { "disable", "server" },
	  API_LVL_ADMIN,
	  "disable server <bk>/<srv>",
	  "disable a server for maintenance",
	  cmd_enable_disable_server },
	{ { "enable", "health" },
	  API_LVL_ADMIN,
	  "enable health <bk>/<srv>",
	  "enable health checks",
	  cmd_enable_disable_health },
	{ { "enable", "server" },
	  API_LVL_ADMIN,
	  "enable server <bk>/<srv>",
	  "enable a disabled server",
	  cmd_enable_disable_server },
	{ { "get", "weight" },
	  API_LVL_USER,
	  "get weight <bk>/<srv>",
	  "report a server's current weight",
	  cmd_get_weight },
	{ { "operator" },
	  API_LVL_USER,
	  "operator",
	  "lower the level of the current CLI session to operator",
	  cmd_level_lower },
	{ { "reload" },
	  API_LVL_ADMIN,
	  "reload",
	  "re-read the configuration (lbd); errors with file:line, else Success",
	  cmd_reload },
	{ { "set", "maxconn", "server" },
	  API_LVL_ADMIN,
	  "set maxconn server <bk>/<srv> <n>",
	  "change a server's maxconn setting",
	  cmd_set_maxconn_server },
	{ { "set", "server" },
	  API_LVL_ADMIN,
	  "set server <bk>/<srv> [opts]",
	  "change a server's state, weight, address or health",
	  cmd_set_server },
	{ { "set", "timeout" },
	  API_LVL_USER,
	  "set timeout cli <delay>",
	  "change the idle timeout of this session (seconds)",
	  cmd_set_timeout },
	{ { "set", "weight" },
	  API_LVL_ADMIN,
	  "set weight <bk>/<srv> (DEPRECATED)",
	  "change a server's weight (use 'set server' instead)",
	  cmd_set_weight },
	{ { "show", "backend" },
	  API_LVL_USER,
	  "show backend",
	  "list backends in the current running config",
	  cmd_show_backend },
	{ { "show", "cli", "level" },
	  API_LVL_USER,
	  "show cli level",
	  "display the level of the current CLI session",
	  cmd_show_cli_level },
	{ { "show", "conns" },
	  API_LVL_USER,
	  "show conns",
	  "current connections per frontend and server (lbd)",
	  cmd_show_conns },
	{ { "show", "info" },
	  API_LVL_USER,
	  "show info",
	  "report information about the running process",
	  cmd_show_info },
	{ { "show", "servers", "json" },
	  API_LVL_USER,
	  "show servers json [<backend>]",
	  "every server as JSON: address, weight, state, origin, counters (lbd)",
	  cmd_show_servers_json },
	{ { "show", "servers", "state" },
	  API_LVL_USER,
	  "show servers state [<backend>]",
	  "dump volatile server information (all or for a single backend)",
	  cmd_show_servers_state },
	{ { "show", "sess" },
	  API_LVL_OPER,
	  "show sess",
	  "connection counts per frontend and server (same as show conns)",
	  cmd_show_conns },
	{ { "show", "stat" },
	  API_LVL_USER,
	  "show stat [{<iid>|<px>} <type> <sid>] [up|no-maint]",
	  "report counters for each proxy and server",
	  cmd_show_stat },
	{ { "show", "status", "json" },
	  API_LVL_USER,
	  "show status json",
	  "frontends, their binds and which tier serves them, and why (lbd)",
	  cmd_show_status_json },
	{ { "show", "version" },
	  API_LVL_USER,
	  "show version",
	  "show version of the current process",
	  cmd_show_version },
	{ { "show", "xdp" },
	  API_LVL_USER,
	  "show xdp",
	  "XDP interfaces, mode and per-VIP counters (lbd)",
	  cmd_show_xdp_default },
	{ { "shutdown" },
	  API_LVL_ADMIN,
	  "shutdown [soft|hard]",
	  "stop lbd (soft: open connections finish) (lbd)",
	  cmd_shutdown },
	{ { "user" },
	  API_LVL_USER,
	  "user",
	  "lower the level of the current CLI session to user",
	  cmd_level_lower },
	{ { "xdp", "down" },
	  API_LVL_ADMIN,
	  "xdp down",
	  "detach the XDP programs and remove their pins (lbd)",
	  cmd_xdp_down },
	{ { NULL } },
};

/* ---- line protocol ---- */

/* Run one command (its words). Returns false when the session must close now (quit). */
static bool run_command(struct api_sess *sess, struct sbuf *out, int level, const char *origin,
			char **args, int nargs)
{
	struct api_req r = { .out = out, .level = level, .origin = origin, .sess = sess };
	const struct api_cmd *c;
	size_t start = out->len;

	if (nargs == 0)
		return true;
	if (!strcmp(args[0], "quit"))
		return false;
	if (!strcmp(args[0], "prompt")) {
		if (sess) {
			sess->interactive = !sess->interactive;
			if (!sess->interactive)
				sess->closing = true;
		}
		sbuf_puts(out, "\n");
		return true;
	}
	c = cmd_lookup(args, nargs);
	if (!c)
		api_unknown(&r, args, nargs);
	else if (c->level > level)
		sbuf_puts(out, "Permission denied\n");
	else
		c->fn(&r, args, nargs);
	/* Every answer ends with an empty line; no answer is just that line. */
	if (out->len > start && out->buf[out->len - 1] != '\n')
		sbuf_puts(out, "\n");
	sbuf_puts(out, "\n");
	return true;
}

int api_split_words(char *cmd, char **words, int max)
{
	int n = 0;
	char *p = cmd, *w = cmd;

	while (*p) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		if (n == max)
			return -1;
		words[n++] = w;
		while (*p && *p != ' ' && *p != '\t') {
			if (*p == '\\' && p[1])
				p++;
			*w++ = *p++;
		}
		if (*p)
			p++;
		*w++ = '\0';
	}
	return n;
}

/* A line: commands separated by unescaped `;`. Returns false on quit. */
static bool run_line(struct api_sess *sess, struct sbuf *out, char *line)
{
	char *words[API_MAX_ARGS];
	char *start = line, *p = line;

	for (;;) {
		if (*p == '\\' && p[1]) {
			p += 2;
			continue;
		}
		if (*p == ';' || !*p) {
			bool last = !*p;
			int n;

			*p = '\0';
			n = api_split_words(start, words, API_MAX_ARGS);
			if (n < 0) {
				sbuf_puts(out, "Too many words in the command.\n\n");
			} else if (!run_command(sess, out, sess->level, sess->origin, words, n)) {
				return false;
			}
			if (last || (sess->closing && sess->after_flush))
				return true;
			start = p + 1;
		}
		p++;
	}
}

/* ---- sessions ---- */

static void sess_free(struct api_sess *s)
{
	ev_io_stop(api_loop, &s->io);
	ev_timer_stop(api_loop, &s->timer);
	if (s->fd >= 0)
		close(s->fd);
	list_del(&s->list);
	nsessions--;
	free(s->in);
	free(s->out.buf);
	free(s->origin);
	free(s);
}

static void sess_close(struct api_sess *s)
{
	int sig = s->after_flush;

	sess_free(s);
	if (sig)
		ev_feed_signal(sig);
}

static void sess_update(struct api_sess *s);

/* Write what is pending; close when done and closing. */
static void sess_flush(struct api_sess *s)
{
	while (s->outoff < s->out.len) {
		ssize_t n =
			send(s->fd, s->out.buf + s->outoff, s->out.len - s->outoff, MSG_NOSIGNAL);

		if (n > 0) {
			s->outoff += n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return sess_update(s);
		/* The client went away. */
		s->out.len = s->outoff = 0;
		return sess_close(s);
	}
	s->out.len = s->outoff = 0;
	if (s->closing && s->discard) {
		/*
		 * The client may still be sending what we refused: closing now
		 * would reset the connection before it reads the answer. Say we
		 * are done and drop its input until it closes (or times out).
		 */
		shutdown(s->fd, SHUT_WR);
		s->closing = false;
		return sess_update(s);
	}
	if (s->closing)
		return sess_close(s);
	sess_update(s);
}

static void sess_update(struct api_sess *s)
{
	int ev = s->outoff < s->out.len ? EV_WRITE : EV_READ;

	if (s->closing && s->outoff >= s->out.len)
		ev = 0;
	if (ev_is_active(&s->io) && s->io.events == ev)
		return;
	ev_io_stop(api_loop, &s->io);
	if (ev) {
		ev_io_set(&s->io, s->fd, ev);
		ev_io_start(api_loop, &s->io);
	}
}

static void sess_arm_timer(struct api_sess *s)
{
	ev_timer_stop(api_loop, &s->timer);
	if (s->timeout_ms) {
		ev_timer_set(&s->timer, s->timeout_ms / 1000.0, 0.0);
		ev_timer_start(api_loop, &s->timer);
	}
}

/* Process the complete lines received; at EOF also the last, unterminated one. */
static void sess_process(struct api_sess *s, bool eof)
{
	size_t off = 0;
	bool any = false;

	while (!s->closing) {
		char *nl = memchr(s->in + off, '\n', s->inlen - off);
		size_t len;

		if (!nl) {
			if (!eof || off >= s->inlen)
				break;
			nl = s->in + s->inlen; /* last line without a newline */
		}
		len = nl - (s->in + off);
		{
			char *line = s->in + off;
			bool was_interactive = s->interactive;

			line[len] = '\0';
			if (len && line[len - 1] == '\r')
				line[len - 1] = '\0';
			off += len + (nl < s->in + s->inlen ? 1 : 0);
			if (!line[0] && s->interactive)
				continue;
			any = true;
			if (!run_line(s, &s->out, line)) {
				s->closing = true;
				break;
			}
			if (s->interactive && !s->closing)
				sbuf_puts(&s->out, "> ");
			else if (was_interactive && !s->interactive)
				s->closing = true; /* `prompt` again: leave after this line */
		}
	}
	/* Non-interactive: the lines received so far are the whole exchange. */
	if (any && !s->interactive)
		s->closing = true;
	if (off) {
		memmove(s->in, s->in + off, s->inlen - off);
		s->inlen -= off;
	}
	if (eof)
		s->closing = true;
	if (any || s->closing)
		sess_flush(s);
}

static void sess_io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct api_sess *s = io->data;
	bool eof = false;

	if (revents & EV_WRITE)
		return sess_flush(s);
	if (s->discard) {
		char sink[4096];
		ssize_t n = recv(s->fd, sink, sizeof(sink), 0);

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return sess_close(s);
		return;
	}
	for (;;) {
		ssize_t n;

		if (s->inlen >= API_MAX_LINE) {
			sbuf_puts(&s->out, "Command line too long.\n\n");
			s->closing = true;
			s->discard = true;
			s->inlen = 0;
			sess_arm_timer(s);
			return sess_flush(s);
		}
		if (s->inlen == s->incap) {
			size_t ncap = s->incap * 2 > API_MAX_LINE ? API_MAX_LINE : s->incap * 2;
			char *nb = realloc(s->in, ncap + 1);

			if (!nb)
				return sess_close(s);
			s->in = nb;
			s->incap = ncap;
		}
		n = recv(s->fd, s->in + s->inlen, s->incap - s->inlen, 0);
		if (n > 0) {
			s->inlen += n;
			continue;
		}
		if (n == 0) {
			eof = true;
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			break;
		return sess_close(s);
	}
	sess_arm_timer(s);
	sess_process(s, eof);
}

static void sess_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	sess_close(t->data);
}

static void listener_accept_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct api_listener *l = io->data;

	for (int budget = 16; budget > 0; budget--) {
		struct api_sess *s;
		int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			/*
			 * The pending connection stays queued and the watcher is
			 * level-triggered: pause instead of spinning the loop.
			 */
			if (errno == EMFILE || errno == ENFILE) {
				lb_warn("stats socket %s: accept: %s; pausing for %.0fs", l->spec,
					strerror(errno), API_ACCEPT_PAUSE);
				ev_io_stop(loop, &l->io);
				ev_timer_set(&l->pause, API_ACCEPT_PAUSE, 0.0);
				ev_timer_start(loop, &l->pause);
			}
			return;
		}
		if (nsessions >= API_MAX_SESSIONS) {
			static const char busy[] = "Too many sessions, try again later.\n\n";

			if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
				lb_dbg("stats socket %s: %s", l->spec, strerror(errno));
			close(fd);
			continue;
		}
		s = calloc(1, sizeof(*s));
		if (s)
			s->in = malloc(API_IN_START + 1);
		if (!s || !s->in) {
			if (s)
				free(s);
			close(fd);
			continue;
		}
		nsessions++;
		s->incap = API_IN_START;
		s->fd = fd;
		s->level = l->level;
		s->origin = strdup(l->spec);
		s->timeout_ms = api_lbd->m->global.stats_timeout;
		list_add_tail(&s->list, &sessions);
		ev_io_init(&s->io, sess_io_cb, fd, EV_READ);
		s->io.data = s;
		ev_io_start(api_loop, &s->io);
		ev_init(&s->timer, sess_timer_cb);
		s->timer.data = s;
		sess_arm_timer(s);
	}
}

/* ---- listening sockets ---- */

static void listener_pause_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct api_listener *l = t->data;

	ev_io_start(loop, &l->io);
}

static void listener_free(struct api_listener *l, bool unlink_path)
{
	if (api_loop) {
		ev_io_stop(api_loop, &l->io);
		ev_timer_stop(api_loop, &l->pause);
	}
	if (l->fd >= 0 && strncmp(l->spec, "fd@", 3))
		close(l->fd);
	if (unlink_path && l->is_unix && l->unix_path) {
		struct stat st;

		/* Only when the path is still ours (a newer socket may have replaced it). */
		if (stat(l->unix_path, &st) == 0 && st.st_ino == l->ino && st.st_dev == l->dev)
			unlink(l->unix_path);
	}
	list_del(&l->list);
	free(l->spec);
	free(l->unix_path);
	free(l);
}

static int mkdir_parents(const char *path)
{
	char buf[PATH_MAX];
	char *p;

	snprintf(buf, sizeof(buf), "%s", path);
	p = strrchr(buf, '/');
	if (!p || p == buf)
		return 0;
	*p = '\0';
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(buf, 0755);
		*p = '/';
	}
	return mkdir(buf, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

static int open_unix(struct api_listener *l, const char *path, char **err,
		     const struct stats_socket *ss)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	char tmp[sizeof(un.sun_path) + 32];
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(un.sun_path))
		return cfg_err(err, "%s:%d: stats socket '%s': path too long", ss->loc.file,
			       ss->loc.line, path);
	mkdir_parents(path);
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	if (strlen(tmp) >= sizeof(un.sun_path))
		snprintf(tmp, sizeof(tmp), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return cfg_err(err, "%s:%d: stats socket '%s': %s", ss->loc.file, ss->loc.line,
			       path, strerror(errno));
	unlink(tmp);
	snprintf(un.sun_path, sizeof(un.sun_path), "%s", tmp);
	if (bind(fd, (struct sockaddr *)&un, sizeof(un)) < 0)
		goto fail;
	if (ss->mode >= 0 && chmod(tmp, (mode_t)ss->mode) < 0)
		goto fail_unlink;
	if ((ss->uid >= 0 || ss->gid >= 0) && chown(tmp, ss->uid >= 0 ? (uid_t)ss->uid : (uid_t)-1,
						    ss->gid >= 0 ? (gid_t)ss->gid : (gid_t)-1) < 0)
		goto fail_unlink;
	if (listen(fd, API_BACKLOG) < 0)
		goto fail_unlink;
	if (strcmp(tmp, path) && rename(tmp, path) < 0)
		goto fail_unlink;
	if (stat(path, &st) == 0) {
		l->dev = st.st_dev;
		l->ino = st.st_ino;
	}
	l->is_unix = true;
	l->unix_path = strdup(path);
	l->fd = fd;
	return 0;
fail_unlink : {
	int e = errno;

	unlink(tmp);
	errno = e;
}
fail : {
	int e = errno;

	close(fd);
	return cfg_err(err, "%s:%d: cannot bind stats socket '%s': %s", ss->loc.file, ss->loc.line,
		       path, strerror(e));
}
}

static int open_inet(struct api_listener *l, const char *addr, int family, char **err,
		     const struct stats_socket *ss)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICHOST | AI_PASSIVE },
			*ai = NULL;
	char host[256], *colon, *port;
	int fd, one = 1, rc;

	snprintf(host, sizeof(host), "%s", addr);
	colon = strrchr(host, ':');
	if (!colon)
		return cfg_err(err, "%s:%d: stats socket '%s': expected ADDR:PORT", ss->loc.file,
			       ss->loc.line, ss->path);
	*colon = '\0';
	port = colon + 1;
	if (host[0] == '[') {
		size_t hl = strlen(host);

		if (hl < 2 || host[hl - 1] != ']')
			return cfg_err(err, "%s:%d: stats socket '%s': bad IPv6 address",
				       ss->loc.file, ss->loc.line, ss->path);
		host[hl - 1] = '\0';
		memmove(host, host + 1, hl - 1);
	}
	hints.ai_family = family;
	rc = getaddrinfo(host[0] && strcmp(host, "*") ? host : NULL, port, &hints, &ai);
	if (rc || !ai)
		return cfg_err(err, "%s:%d: stats socket '%s': %s", ss->loc.file, ss->loc.line,
			       ss->path, gai_strerror(rc));
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		freeaddrinfo(ai);
		return cfg_err(err, "%s:%d: stats socket '%s': %s", ss->loc.file, ss->loc.line,
			       ss->path, strerror(errno));
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, API_BACKLOG) < 0) {
		int e = errno;

		freeaddrinfo(ai);
		close(fd);
		return cfg_err(err, "%s:%d: cannot bind stats socket '%s': %s", ss->loc.file,
			       ss->loc.line, ss->path, strerror(e));
	}
	freeaddrinfo(ai);
	l->fd = fd;
	return 0;
}

static struct api_listener *listener_open(const struct stats_socket *ss, char **err)
{
	struct api_listener *l = calloc(1, sizeof(*l));
	const char *p = ss->path;
	int rc;

	if (!l || !(l->spec = strdup(p))) {
		free(l);
		cfg_err(err, "out of memory");
		return NULL;
	}
	l->fd = -1;
	l->mode = ss->mode;
	l->uid = ss->uid;
	l->gid = ss->gid;
	l->level = ss->level;
	list_init(&l->list);
	if (!strncmp(p, "ipv4@", 5))
		rc = open_inet(l, p + 5, AF_INET, err, ss);
	else if (!strncmp(p, "ipv6@", 5))
		rc = open_inet(l, p + 5, AF_INET6, err, ss);
	else if (!strncmp(p, "tcp@", 4))
		rc = open_inet(l, p + 4, AF_UNSPEC, err, ss);
	else if (!strncmp(p, "fd@", 3)) {
		char *end;
		long fd = strtol(p + 3, &end, 10);

		if (end == p + 3 || *end || fd < 0 || fcntl((int)fd, F_GETFL) < 0) {
			rc = cfg_err(err, "%s:%d: stats socket '%s': fd is not open", ss->loc.file,
				     ss->loc.line, p);
		} else {
			fcntl((int)fd, F_SETFL, fcntl((int)fd, F_GETFL) | O_NONBLOCK);
			fcntl((int)fd, F_SETFD, FD_CLOEXEC);
			l->fd = (int)fd;
			rc = 0;
		}
	} else {
		rc = open_unix(l, !strncmp(p, "unix@", 5) ? p + 5 : p, err, ss);
	}
	if (rc < 0) {
		free(l->spec);
		free(l);
		return NULL;
	}
	ev_io_init(&l->io, listener_accept_cb, l->fd, EV_READ);
	l->io.data = l;
	ev_init(&l->pause, listener_pause_cb);
	l->pause.data = l;
	return l;
}

static bool listener_same(const struct api_listener *l, const struct stats_socket *ss)
{
	return !strcmp(l->spec, ss->path) && l->mode == ss->mode && l->uid == ss->uid &&
	       l->gid == ss->gid;
}

int api_prepare(struct model *nm, char **err)
{
	struct stats_socket *ss;
	struct api_listener *l;

	list_for_each(l, &listeners, list)
		l->keep = false;
	list_for_each(ss, &nm->global.stats_sockets, list) {
		bool found = false;

		list_for_each(l, &listeners, list) {
			if (!l->keep && listener_same(l, ss)) {
				l->keep = true;
				l->new_level = ss->level;
				found = true;
				break;
			}
		}
		if (found)
			continue;
		l = listener_open(ss, err);
		if (!l) {
			api_abort();
			return -1;
		}
		list_add_tail(&l->list, &pending);
	}
	return 0;
}

void api_commit(struct model *nm)
{
	struct api_listener *l, *tmp;

	list_for_each_safe(l, tmp, &listeners, list) {
		if (!l->keep) {
			lb_info("stats socket %s closed", l->spec);
			listener_free(l, true);
			continue;
		}
		l->keep = false;
		l->level = l->new_level;
	}
	list_for_each_safe(l, tmp, &pending, list) {
		list_del(&l->list);
		list_add_tail(&l->list, &listeners);
		if (api_loop)
			ev_io_start(api_loop, &l->io);
		lb_info("stats socket %s (level %s) ready", l->spec, level_name(l->level));
	}
	stats_snap_update();
}

void api_abort(void)
{
	struct api_listener *l, *tmp;

	list_for_each_safe(l, tmp, &pending, list)
		listener_free(l, true);
	list_for_each(l, &listeners, list)
		l->keep = false;
}

int api_start(struct lbd *d, char **err)
{
	api_lbd = d;
	api_loop = d->loop;
	if (api_prepare(d->m, err) < 0)
		return -1;
	api_commit(d->m);
	return 0;
}

void api_stop(void)
{
	struct api_listener *l;

	list_for_each(l, &listeners, list) {
		if (api_loop) {
			ev_io_stop(api_loop, &l->io);
			ev_timer_stop(api_loop, &l->pause);
		}
	}
}

void api_exit(void)
{
	struct api_listener *l, *tmp;
	struct api_sess *s, *st;

	list_for_each_safe(s, st, &sessions, list)
		sess_free(s);
	list_for_each_safe(l, tmp, &listeners, list)
		listener_free(l, true);
	api_abort();
	if (api_loop && ev_is_active(&snap_timer)) {
		ev_ref(api_loop);
		ev_timer_stop(api_loop, &snap_timer);
	}
	stats_snap_publish(NULL);
	for (int i = 0; i < ngraveyard; i++)
		free(graveyard[i]);
	free(graveyard);
	graveyard = NULL;
	ngraveyard = 0;
}

char *api_exec(const char *line, int level)
{
	struct sbuf out = { 0 };
	struct api_sess fake = { .fd = -1, .level = level };
	char *copy = strdup(line ? line : "");

	if (!copy)
		return NULL;
	if (!api_lbd)
		api_lbd = &lbd;
	fake.origin = (char *)"api_exec";
	run_line(&fake, &out, copy);
	free(copy);
	if (!out.buf)
		return strdup("");
	return out.buf;
}
