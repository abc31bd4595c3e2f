// SPDX-License-Identifier: MIT
/*
 * Config parser core: reads files line by line, runs them through the lexer
 * and the `.if` blocks, tracks sections (global, defaults, frontend, backend,
 * listen), dispatches each line to the keyword registered for it, collects
 * errors with their file:line, and finalises the model (resolves backends,
 * assigns ids, builds pools).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "algo.h"
#include "cfg.h"
#include "http_proxy.h"
#include "acl.h"
#include "cfg_lex.h"
#include "log.h"
#include "tlog.h"

/* Errors reported before giving up on a config. */
#define CFG_MAX_ERRORS 20

static struct cfg_kw_list *kw_lists;

void cfg_register(struct cfg_kw_list *list)
{
	list->next = kw_lists;
	kw_lists = list;
}

/* ---- Messages ---- */

static void default_msg(enum cfg_msg_level level, const char *msg, void *arg)
{
	switch (level) {
	case CFG_MSG_DIAG:
		lb_dbg("%s", msg);
		break;
	case CFG_MSG_NOTICE:
		lb_notice("%s", msg);
		break;
	case CFG_MSG_WARNING:
		lb_warn("%s", msg);
		break;
	}
}

static cfg_msg_fn msg_fn = default_msg;
static void *msg_arg;

void cfg_set_msg_handler(cfg_msg_fn fn, void *arg)
{
	msg_fn = fn ? fn : default_msg;
	msg_arg = fn ? arg : NULL;
}

static void msg_at(enum cfg_msg_level level, const char *file, int line, const char *fmt,
		   va_list ap)
{
	char *text = NULL, *full = NULL;

	if (vasprintf(&text, fmt, ap) < 0)
		return;
	if (asprintf(&full, "%s:%d: %s", file ? file : "?", line, text) >= 0)
		msg_fn(level, full, msg_arg);
	free(full);
	free(text);
}

void cfg_warn(struct cfg_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_at(CFG_MSG_WARNING, ctx->file, ctx->line, fmt, ap);
	va_end(ap);
}

static void warn_at(const struct cfg_loc *loc, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void warn_at(const struct cfg_loc *loc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_at(CFG_MSG_WARNING, loc->file, loc->line, fmt, ap);
	va_end(ap);
}

bool cfg_valid_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') &&
		    !(*s >= '0' && *s <= '9') && !strchr("-_.:", *s))
			return false;
	}
	return true;
}

int cfg_err(char **err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	free(*err);
	*err = NULL;
	va_start(ap, fmt);
	if (vasprintf(err, fmt, ap) < 0)
		*err = NULL;
	va_end(ap);
	return -1;
}

/* ---- The parser ---- */

struct cfg_parser {
	struct cfg_ctx ctx;
	char *errs; /* "file:line: msg\n"... */
	size_t errs_len;
	int nerr;
	bool skip_section; /* inside a section lbd does not support: already reported */
	struct proxy **defs; /* every defaults section, freed after parsing */
	int ndefs;
};

static void report_at(struct cfg_parser *p, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void report_at(struct cfg_parser *p, const char *file, int line, const char *fmt, ...)
{
	char *text = NULL, *full = NULL, *n;
	va_list ap;
	int len;

	p->nerr++;
	if (p->nerr > CFG_MAX_ERRORS)
		return;
	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		text = NULL;
	va_end(ap);
	if (p->nerr == CFG_MAX_ERRORS)
		len = asprintf(&full, "%s:%d: %s\n%s:%d: too many errors, stopping here\n",
			       file ? file : "?", line, text ? text : "out of memory",
			       file ? file : "?", line);
	else
		len = asprintf(&full, "%s:%d: %s\n", file ? file : "?", line,
			       text ? text : "out of memory");
	free(text);
	if (len < 0)
		return;
	n = realloc(p->errs, p->errs_len + len + 1);
	if (n) {
		memcpy(n + p->errs_len, full, len + 1);
		p->errs = n;
		p->errs_len += len;
	}
	free(full);
}

/* An error whose text already starts with "file:line: ". */
static void append_raw_err(struct cfg_parser *p, const char *msg)
{
	size_t len = strlen(msg);
	char *n = realloc(p->errs, p->errs_len + len + 2);

	p->nerr++;
	if (!n)
		return;
	memcpy(n + p->errs_len, msg, len);
	n[p->errs_len + len] = '\n';
	n[p->errs_len + len + 1] = '\0';
	p->errs = n;
	p->errs_len += len + 1;
}

static bool parser_stopped(const struct cfg_parser *p)
{
	return p->nerr >= CFG_MAX_ERRORS;
}

const char *cfg_section_name(unsigned section)
{
	switch (section) {
	case CFG_SEC_GLOBAL:
		return "global";
	case CFG_SEC_DEFAULTS:
		return "defaults";
	case CFG_SEC_FRONTEND:
		return "frontend";
	case CFG_SEC_BACKEND:
		return "backend";
	case CFG_SEC_LISTEN:
		return "listen";
	}
	return "?";
}

/* "frontend, listen" for a section mask. */
static void sections_str(unsigned mask, char *buf, size_t len)
{
	static const unsigned order[] = { CFG_SEC_GLOBAL, CFG_SEC_DEFAULTS, CFG_SEC_FRONTEND,
					  CFG_SEC_BACKEND, CFG_SEC_LISTEN };
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (!(mask & order[i]))
			continue;
		off += snprintf(buf + off, off < len ? len - off : 0, "%s%s", off ? ", " : "",
				cfg_section_name(order[i]));
	}
}

/*
 * Find a keyword for this section. Returns the entry, or NULL with *elsewhere
 * set to the sections where the keyword exists.
 */
static const struct cfg_kw *kw_find(const char *kw, unsigned section, unsigned *elsewhere)
{
	const struct cfg_kw_list *l;
	const struct cfg_kw *k;

	*elsewhere = 0;
	for (l = kw_lists; l; l = l->next) {
		for (k = l->kws; k->kw; k++) {
			if (strcmp(k->kw, kw))
				continue;
			if (k->sections & section)
				return k;
			*elsewhere |= k->sections;
		}
	}
	return NULL;
}

/* ---- Sections ---- */

static struct proxy *find_defaults(struct cfg_parser *p, const char *name)
{
	int i;

	for (i = p->ndefs - 1; i >= 0; i--) {
		if (p->defs[i]->name[0] && !strcmp(p->defs[i]->name, name))
			return p->defs[i];
	}
	return NULL;
}

static const char *cap_name(unsigned cap)
{
	if ((cap & (PX_CAP_FE | PX_CAP_BE)) == (PX_CAP_FE | PX_CAP_BE))
		return "listen";
	if (cap & PX_CAP_FE)
		return "frontend";
	if (cap & PX_CAP_BE)
		return "backend";
	return "defaults";
}

/* `defaults [NAME] [from NAME]`, `frontend|backend|listen NAME [from NAME]`. */
static void section_start(struct cfg_parser *p, unsigned sec, char **args, int nargs)
{
	struct cfg_ctx *ctx = &p->ctx;
	const char *kw = args[0], *name = NULL, *from = NULL;
	struct proxy *px, *def = NULL, *other, **defs;
	unsigned cap;
	int i = 1;

	ctx->section = sec;
	ctx->px = NULL;
	p->skip_section = false;
	if (sec == CFG_SEC_GLOBAL) {
		if (nargs > 1)
			report_at(p, ctx->file, ctx->line,
				  "'global': expected no argument, got '%s'", args[1]);
		return;
	}
	if (i < nargs && strcmp(args[i], "from"))
		name = args[i++];
	if (i < nargs && !strcmp(args[i], "from")) {
		if (i + 1 >= nargs) {
			report_at(p, ctx->file, ctx->line,
				  "'%s': expected the name of a defaults section after 'from'", kw);
		} else {
			from = args[i + 1];
		}
		i += 2;
	}
	if (i < nargs)
		report_at(p, ctx->file, ctx->line,
			  "'%s': expected '%s%s [from DEFAULTS]', got extra argument '%s'", kw, kw,
			  sec == CFG_SEC_DEFAULTS ? " [NAME]" : " NAME", args[i]);
	if (sec != CFG_SEC_DEFAULTS && !name) {
		report_at(p, ctx->file, ctx->line, "'%s': expected a name, got nothing", kw);
		name = "";
	} else if (name && !cfg_valid_name(name)) {
		report_at(p, ctx->file, ctx->line,
			  "'%s': invalid name '%s' (letters, digits, '-', '_', '.' and ':' only)",
			  kw, name);
	}
	if (from) {
		def = find_defaults(p, from);
		if (!def)
			report_at(p, ctx->file, ctx->line, "'%s': no defaults section named '%s'",
				  kw, from);
	} else if (sec != CFG_SEC_DEFAULTS) {
		def = ctx->defproxy;
	}

	if (sec == CFG_SEC_DEFAULTS) {
		cap = PX_CAP_DEF;
		if (name && find_defaults(p, name))
			report_at(p, ctx->file, ctx->line,
				  "'defaults': a defaults section named '%s' already exists", name);
	} else {
		cap = sec == CFG_SEC_FRONTEND ? PX_CAP_FE :
		      sec == CFG_SEC_BACKEND  ? PX_CAP_BE :
						PX_CAP_FE | PX_CAP_BE;
		list_for_each(other, &ctx->m->proxies, list) {
			if ((other->cap & cap) && !strcmp(other->name, name)) {
				report_at(p, ctx->file, ctx->line,
					  "%s '%s' has the same name as %s '%s' declared at %s:%d",
					  kw, name, cap_name(other->cap), other->name,
					  other->loc.file, other->loc.line);
				break;
			}
		}
	}
	px = proxy_new(ctx->m, name ? name : "", cap);
	if (!px) {
		report_at(p, ctx->file, ctx->line, "'%s': out of memory", kw);
		p->skip_section = true;
		return;
	}
	px->loc.file = ctx->file;
	px->loc.line = ctx->line;
	if (sec == CFG_SEC_DEFAULTS) {
		defs = realloc(p->defs, (p->ndefs + 1) * sizeof(*defs));
		if (!defs) {
			proxy_free(px);
			report_at(p, ctx->file, ctx->line, "'%s': out of memory", kw);
			p->skip_section = true;
			return;
		}
		p->defs = defs;
		p->defs[p->ndefs++] = px;
		ctx->defproxy = px;
	}
	if (def && proxy_inherit(px, def) < 0)
		report_at(p, ctx->file, ctx->line, "'%s': out of memory", kw);
	ctx->px = px;
}

/* HAProxy sections lbd does not read. */
static const char *const unsupported_sections[] = {
	"resolvers", "peers", "userlist", "mailers",	    "program",	      "http-errors",
	"ring",	     "cache", "fcgi-app", "dynamic-update", "namespace_list", NULL,
};

static bool start_of_section(struct cfg_parser *p, char **args, int nargs)
{
	static const struct {
		const char *kw;
		unsigned sec;
	} secs[] = {
		{ "global", CFG_SEC_GLOBAL },	  { "defaults", CFG_SEC_DEFAULTS },
		{ "frontend", CFG_SEC_FRONTEND }, { "backend", CFG_SEC_BACKEND },
		{ "listen", CFG_SEC_LISTEN },
	};
	size_t i;

	for (i = 0; i < sizeof(secs) / sizeof(secs[0]); i++) {
		if (!strcmp(args[0], secs[i].kw)) {
			section_start(p, secs[i].sec, args, nargs);
			return true;
		}
	}
	for (i = 0; unsupported_sections[i]; i++) {
		if (!strcmp(args[0], unsupported_sections[i])) {
			report_at(p, p->ctx.file, p->ctx.line,
				  "'%s' is an HAProxy section that lbd does not support", args[0]);
			p->ctx.section = 0;
			p->ctx.px = NULL;
			p->skip_section = true;
			return true;
		}
	}
	return false;
}

/* `.diag`, `.notice`, `.warning`, `.alert`. */
static void directive(struct cfg_parser *p, char **args, int nargs)
{
	static const struct {
		const char *kw;
		int level; /* -1 = error */
	} dirs[] = {
		{ ".diag", CFG_MSG_DIAG },
		{ ".notice", CFG_MSG_NOTICE },
		{ ".warning", CFG_MSG_WARNING },
		{ ".alert", -1 },
	};
	struct cfg_ctx *ctx = &p->ctx;
	char *msg = NULL;
	size_t i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (!strcmp(args[0], dirs[i].kw))
			break;
	}
	if (i == sizeof(dirs) / sizeof(dirs[0])) {
		report_at(
			p, ctx->file, ctx->line,
			"unknown directive '%s' (expected .if, .elif, .else, .endif, .diag, .notice, .warning or .alert)",
			args[0]);
		return;
	}
	if (nargs != 2) {
		report_at(p, ctx->file, ctx->line,
			  "'%s': expected exactly one argument (use quotes for spaces), got %d",
			  args[0], nargs - 1);
		return;
	}
	if (dirs[i].level < 0) {
		report_at(p, ctx->file, ctx->line, "%s", args[1]);
		return;
	}
	if (asprintf(&msg, "%s:%d: %s", ctx->file, ctx->line, args[1]) >= 0)
		msg_fn((enum cfg_msg_level)dirs[i].level, msg, msg_arg);
	free(msg);
}

static void dispatch(struct cfg_parser *p, char **args, int nargs)
{
	struct cfg_ctx *ctx = &p->ctx;
	const char *secname = cfg_section_name(ctx->section);
	const struct cfg_kw *k;
	char *key = NULL, *err = NULL, where[64];
	const char *kw;
	unsigned elsewhere;

	ctx->no = false;
	if (!strcmp(args[0], "no")) {
		if (nargs < 2) {
			report_at(p, ctx->file, ctx->line, "'no': expected a keyword after it");
			return;
		}
		if (strcmp(args[1], "option") && strcmp(args[1], "log")) {
			report_at(p, ctx->file, ctx->line,
				  "'no %s': 'no' only applies to 'option' and 'log'", args[1]);
			return;
		}
		ctx->no = true;
		args++;
		nargs--;
	}
	kw = args[0];
	if (!strcmp(args[0], "option")) {
		if (nargs < 2) {
			report_at(p, ctx->file, ctx->line, "'option': expected an option name");
			return;
		}
		if (asprintf(&key, "option %s", args[1]) < 0) {
			report_at(p, ctx->file, ctx->line, "out of memory");
			return;
		}
		kw = key;
	}
	k = kw_find(kw, ctx->section, &elsewhere);
	if (!k) {
		if (elsewhere) {
			sections_str(elsewhere, where, sizeof(where));
			report_at(p, ctx->file, ctx->line,
				  "'%s' is not allowed in '%s' section (only in: %s)", kw, secname,
				  where);
		} else {
			report_at(p, ctx->file, ctx->line, "unknown keyword '%s' in '%s' section",
				  kw, secname);
		}
	} else if (!k->parse) {
		report_at(p, ctx->file, ctx->line,
			  "'%s' is an HAProxy keyword that lbd does not support", kw);
	} else if (k->parse(ctx, args, nargs, &err) < 0) {
		report_at(p, ctx->file, ctx->line, "%s", err ? err : "invalid line");
	}
	free(err);
	free(key);
}

static void parse_line(struct cfg_parser *p, char **args, int nargs)
{
	struct cfg_ctx *ctx = &p->ctx;

	if (args[0][0] == '.') {
		directive(p, args, nargs);
		return;
	}
	if (start_of_section(p, args, nargs))
		return;
	if (p->skip_section)
		return;
	if (!ctx->section) {
		report_at(
			p, ctx->file, ctx->line,
			"'%s' outside of any section: expected 'global', 'defaults', 'frontend', 'backend' or 'listen' first",
			args[0]);
		return;
	}
	dispatch(p, args, nargs);
}

static void parse_stream(struct cfg_parser *p, FILE *f, const char *file)
{
	struct cfg_ctx *ctx = &p->ctx;
	struct cfg_cond cond = { 0 };
	char *line = NULL, *err = NULL, **words;
	size_t cap = 0;
	ssize_t len;
	int n, r;

	ctx->file = model_intern_file(ctx->m, file);
	if (!ctx->file) {
		report_at(p, file, 0, "out of memory");
		return;
	}
	ctx->line = 0;
	ctx->section = 0;
	ctx->px = NULL;
	p->skip_section = false;
	while (!parser_stopped(p) && (len = getline(&line, &cap, f)) >= 0) {
		ctx->line++;
		if ((size_t)len != strlen(line)) {
			report_at(p, ctx->file, ctx->line, "NUL byte in the line");
			continue;
		}
		n = cfg_lex_line(line, &words, &err);
		if (n < 0) {
			report_at(p, ctx->file, ctx->line, "%s", err ? err : "invalid line");
			free(err);
			err = NULL;
			continue;
		}
		r = cfg_cond_line(&cond, words, n, ctx->line, &err);
		if (r < 0) {
			report_at(p, ctx->file, ctx->line, "%s", err ? err : "invalid directive");
			free(err);
			err = NULL;
		} else if (r == 0 && n > 0) {
			parse_line(p, words, n);
		}
		cfg_words_free(words);
	}
	if (cfg_cond_finish(&cond, &err) < 0)
		report_at(p, ctx->file, ctx->line, "%s", err);
	free(err);
	free(line);
}

static void parse_file(struct cfg_parser *p, const char *file);

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* `-f DIR`: every *.cfg in it, in alphabetical order, as HAProxy. */
static void parse_dir(struct cfg_parser *p, const char *dir)
{
	struct dirent *de;
	char **names = NULL, **n;
	int count = 0, i;
	DIR *d = opendir(dir);

	if (!d) {
		report_at(p, dir, 0, "cannot open directory: %s", strerror(errno));
		return;
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char *path;

		if (de->d_name[0] == '.' || len < 5 || strcmp(de->d_name + len - 4, ".cfg"))
			continue;
		if (asprintf(&path, "%s/%s", dir, de->d_name) < 0)
			break;
		n = realloc(names, (count + 1) * sizeof(*names));
		if (!n) {
			free(path);
			break;
		}
		names = n;
		names[count++] = path;
	}
	closedir(d);
	if (count)
		qsort(names, count, sizeof(*names), cmp_str);
	for (i = 0; i < count; i++) {
		parse_file(p, names[i]);
		free(names[i]);
	}
	free(names);
}

static void parse_file(struct cfg_parser *p, const char *file)
{
	struct stat st;
	FILE *f;

	if (!stat(file, &st) && S_ISDIR(st.st_mode)) {
		parse_dir(p, file);
		return;
	}
	f = fopen(file, "r");
	if (!f) {
		report_at(p, file, 0, "cannot open: %s", strerror(errno));
		return;
	}
	parse_stream(p, f, file);
	fclose(f);
}

/* ---- Finalisation ---- */

/* Resolve a backend name used by `px` at `loc`; reports and returns NULL on error. */
static struct proxy *resolve_backend(struct cfg_parser *p, struct proxy *px, const char *kw,
				     const char *name, const struct cfg_loc *loc)
{
	struct proxy *be = model_find_backend(p->ctx.m, name), *other;

	if (!be) {
		other = model_find_proxy(p->ctx.m, name, 0);
		if (other)
			report_at(p, loc->file, loc->line,
				  "'%s': '%s' is a frontend, not a backend (declared at %s:%d)", kw,
				  name, other->loc.file, other->loc.line);
		else
			report_at(p, loc->file, loc->line, "'%s': no backend named '%s'", kw, name);
		return NULL;
	}
	if (px->mode == PX_MODE_HTTP && be->mode == PX_MODE_TCP) {
		report_at(
			p, loc->file, loc->line,
			"'%s': http %s '%s' cannot use backend '%s': it is in mode tcp (declared at %s:%d)",
			kw, cap_name(px->cap), px->name, be->name, be->loc.file, be->loc.line);
		return NULL;
	}
	return be;
}

static void finalize_frontend(struct cfg_parser *p, struct proxy *px)
{
	struct switch_rule *sr;
	struct bind *b;

	list_for_each(b, &px->binds, list) {
		if (b->proto == BIND_UDP && px->mode == PX_MODE_HTTP) {
			report_at(p, b->loc.file, b->loc.line,
				  "'bind': UDP address '%s' in http %s '%s' (UDP needs mode tcp)",
				  b->name, cap_name(px->cap), px->name);
			break;
		}
	}

	if (list_empty(&px->binds) && !px->disabled)
		report_at(
			p, px->loc.file, px->loc.line,
			"%s '%s' has no 'bind' line (declare it as a backend if it only has servers)",
			cap_name(px->cap), px->name);
	if (px->default_backend_name)
		px->default_backend =
			resolve_backend(p, px, "default_backend", px->default_backend_name,
					&px->default_backend_loc);
	else if (px->cap & PX_CAP_BE)
		px->default_backend = px;
	list_for_each(sr, &px->switch_rules, list) {
		/* A name built at run time ("%[...]") is resolved per request by the L7 tier. */
		if (strstr(sr->be_name, "%[")) {
			if (px->mode == PX_MODE_TCP)
				report_at(
					p, sr->loc.file, sr->loc.line,
					"'use_backend %s': a backend name built at run time needs mode http (%s '%s' is in mode tcp)",
					sr->be_name, cap_name(px->cap), px->name);
			continue;
		}
		sr->be = resolve_backend(p, px, "use_backend", sr->be_name, &sr->loc);
	}
}

static bool needs_http(const struct lb_algo_ops *algo)
{
	return algo && (!strcmp(algo->name, "uri") || !strcmp(algo->name, "url_param") ||
			!strcmp(algo->name, "hdr"));
}

static void finalize_backend(struct cfg_parser *p, struct proxy *be)
{
	struct model *m = p->ctx.m;
	struct server *s, *o;
	uint32_t puid;
	bool used;

	if (be->mode == PX_MODE_TCP && needs_http(be->algo)) {
		warn_at(&be->loc,
			"backend '%s': 'balance %s' needs mode http; falling back to roundrobin",
			be->name, be->algo->name);
		be->algo = lb_algo_find("roundrobin");
	}
	list_for_each(s, &be->servers, list) {
		bool tls = s->ssl || s->check.ssl == SRV_CHK_SSL_ON;

		if (tls && !s->verify_none && !s->ca_file && m->global.ssl_server_verify_none)
			s->verify_none = true;
		if (tls && !s->verify_none && !s->ca_file)
			report_at(
				p, s->loc.file, s->loc.line,
				"'server %s': '%s' verifies the server's certificate: add 'ca-file FILE' or 'verify none'",
				s->name, s->ssl ? "ssl" : "check-ssl");
		if (s->ssl && be->mode != PX_MODE_HTTP)
			/* Refused rather than passing the client's bytes in clear to a TLS port. */
			report_at(
				p, s->loc.file, s->loc.line,
				"'server %s': 'ssl' (TLS to the server) is done by lbd in mode http only (mode tcp forwards the bytes as they are: pass TLS through instead)",
				s->name);
		if (!s->puid) {
			/* Lowest position id not taken by an explicit `id`. */
			for (puid = 1;; puid++) {
				used = false;
				list_for_each(o, &be->servers, list) {
					if (o->puid == puid) {
						used = true;
						break;
					}
				}
				if (!used)
					break;
			}
			s->puid = puid;
		}
		if (s->puid >= be->next_puid)
			be->next_puid = s->puid + 1;
		s->id = m->next_srv_id++;
		if (!s->hash_key) {
			char *key = NULL;
			int len = asprintf(&key, "%s/%s", be->name, s->name);

			if (len >= 0) {
				s->hash_key = lb_hash_bytes(key, len);
				if (!s->hash_key)
					s->hash_key = 1;
			}
			free(key);
		}
		if (!s->check.fastinter)
			s->check.fastinter = s->check.inter;
		if (!s->check.downinter)
			s->check.downinter = s->check.inter;
	}
	backend_recalc(be);
}

static void finalize(struct cfg_parser *p)
{
	struct model *m = p->ctx.m;
	struct proxy *px;
	uint32_t uuid = 1;

	list_for_each(px, &m->proxies, list)
		px->uuid = uuid++;
	list_for_each(px, &m->proxies, list) {
		if (px->cap & PX_CAP_FE)
			finalize_frontend(p, px);
	}
	list_for_each(px, &m->proxies, list) {
		if (px->cap & PX_CAP_BE)
			finalize_backend(p, px);
	}
}

/*
 * `tcp-request` conditions, evaluated by lbd's workers when they accept a
 * connection (frontend rules) or pick the backend of a mode tcp connection
 * (backend `content` rules). A mode http backend's content rules would have
 * to run in the L7 tier, which does not evaluate them: refused.
 */
static void compile_tcp_rules(struct cfg_parser *p)
{
	struct proxy *px;
	struct px_rule *r;
	const char *f;
	char *sub = NULL;

	list_for_each(px, &p->ctx.m->proxies, list) {
		list_for_each(r, &px->tcp_req_rules, list) {
			if (!strcmp(r->args[0], "inspect-delay"))
				continue;
			if (!(px->cap & PX_CAP_FE) && px->mode == PX_MODE_HTTP) {
				report_at(
					p, r->loc.file, r->loc.line,
					"'tcp-request content' in http backend '%s' is not supported by lbd (use http-request rules)",
					px->name);
				continue;
			}
			if (r->cond && acl_cond_compile(px, r->cond, &sub) < 0) {
				report_at(p, r->loc.file, r->loc.line,
					  "'tcp-request %s %s' condition: %s", r->args[0],
					  r->nargs > 1 ? r->args[1] : "", sub ? sub : "invalid");
				free(sub);
				sub = NULL;
				continue;
			}
			f = acl_cond_l7_fetch(r->cond);
			if (f)
				report_at(
					p, r->loc.file, r->loc.line,
					"'tcp-request %s %s': fetch '%s' is not supported there by lbd (its tcp-request rules run at accept and see only src, dst, src_port, dst_port)",
					r->args[0], r->nargs > 1 ? r->args[1] : "", f);
		}
	}
}

/*
 * What lbd's mode tcp path cannot do, refused rather than ignored: it does
 * not inspect the stream (no inspect-delay), so a `use_backend` condition
 * may only use the connection's addresses; and it does not terminate TLS
 * (the L7 tier does), so an `ssl` bind needs mode http.
 */
static void check_mode_tcp(struct cfg_parser *p)
{
	struct proxy *px;
	struct switch_rule *sr;
	struct bind *b;
	const char *f;
	char *sub = NULL;

	list_for_each(px, &p->ctx.m->proxies, list) {
		if (!(px->cap & PX_CAP_FE) || px->mode != PX_MODE_TCP)
			continue;
		list_for_each(b, &px->binds, list) {
			if (b->ssl)
				report_at(
					p, b->loc.file, b->loc.line,
					"'bind ... ssl' in %s '%s': lbd terminates TLS in mode http only (mode tcp forwards the bytes as they are)",
					cap_name(px->cap), px->name);
		}
		list_for_each(sr, &px->switch_rules, list) {
			if (!sr->cond)
				continue;
			if (acl_cond_compile(px, sr->cond, &sub) < 0) {
				report_at(p, sr->loc.file, sr->loc.line,
					  "'use_backend %s' condition: %s", sr->be_name,
					  sub ? sub : "invalid");
				free(sub);
				sub = NULL;
				continue;
			}
			f = acl_cond_l7_fetch(sr->cond);
			if (f)
				report_at(
					p, sr->loc.file, sr->loc.line,
					"'use_backend %s': fetch '%s' needs mode http (%s '%s' is in mode tcp, where lbd routes on src, dst, src_port, dst_port only)",
					sr->be_name, f, cap_name(px->cap), px->name);
		}
	}
}

static struct model *load(const char *const *files, int nfiles, const char *name, const char *text,
			  char **err)
{
	struct cfg_parser p = { 0 };
	struct model *m;
	int i;

	if (err)
		*err = NULL;
	m = model_new();
	if (!m) {
		cfg_err(err, "out of memory");
		return NULL;
	}
	p.ctx.m = m;
	if (text) {
		FILE *f = fmemopen((void *)text, strlen(text), "r");

		if (!*text) {
			/* an empty config: nothing to read (fmemopen refuses size 0) */
		} else if (!f) {
			report_at(&p, name, 0, "cannot read: %s", strerror(errno));
		} else {
			parse_stream(&p, f, name);
		}
		if (f)
			fclose(f);
	}
	for (i = 0; i < nfiles && !parser_stopped(&p); i++)
		parse_file(&p, files[i]);
	if (!p.nerr)
		finalize(&p);
	if (!p.nerr) {
		/* The L7 tier compiles ACLs, rules and certificates: errors belong to -c too. */
		char *l7err = NULL;

		if (l7_compile_model(m, &l7err) < 0)
			append_raw_err(&p, l7err ? l7err : "L7: cannot compile the configuration");
		free(l7err);
	}
	if (!p.nerr) {
		compile_tcp_rules(&p);
		check_mode_tcp(&p);
	}
	for (i = 0; i < p.ndefs; i++)
		proxy_free(p.defs[i]);
	free(p.defs);
	if (p.nerr) {
		model_free(m);
		if (p.errs && p.errs_len && p.errs[p.errs_len - 1] == '\n')
			p.errs[p.errs_len - 1] = '\0';
		if (err)
			*err = p.errs;
		else
			free(p.errs);
		return NULL;
	}
	free(p.errs);
	return m;
}

struct model *cfg_load(char *const *files, int nfiles, char **err)
{
	if (!files || nfiles <= 0) {
		cfg_err(err, "no configuration file given");
		return NULL;
	}
	return load((const char *const *)files, nfiles, NULL, NULL, err);
}

struct model *cfg_load_string(const char *name, const char *text, char **err)
{
	return load(NULL, 0, name ? name : "<string>", text ? text : "", err);
}

/* ---- Helpers for keyword parsers ---- */

int cfg_nargs(const char *kw, char **args, int nargs, int first, int min, int max, const char *what,
	      char **err)
{
	int have = nargs - first;

	if (have < min)
		return cfg_err(err, "'%s': expected %s, got %s%s%s", kw, what,
			       have > 0 ? "only '" : "nothing", have > 0 ? args[nargs - 1] : "",
			       have > 0 ? "'" : "");
	if (max >= 0 && have > max)
		return cfg_err(err, "'%s': expected %s, got extra argument '%s'", kw, what,
			       args[first + max]);
	return 0;
}

int cfg_parse_int(const char *s, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	if (!s || !*s || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int cfg_parse_time(const char *s, uint32_t *ms)
{
	static const struct {
		const char *unit;
		unsigned long long mul; /* in microseconds */
	} units[] = {
		{ "", 1000 },
		{ "us", 1 },
		{ "ms", 1000 },
		{ "s", 1000000 },
		{ "m", 60000000 },
		{ "h", 3600000000ULL },
		{ "d", 86400000000ULL },
	};
	unsigned long long v, us;
	char *end;
	size_t i;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (!strcmp(end, units[i].unit))
			break;
	}
	if (i == sizeof(units) / sizeof(units[0]))
		return -1;
	if (v > (unsigned long long)INT32_MAX * 1000ULL)
		return -1;
	us = v * units[i].mul;
	if (units[i].mul && us / units[i].mul != v)
		return -1;
	us = (us + 999) / 1000; /* round up to whole milliseconds */
	if (us > INT32_MAX)
		return -1;
	*ms = (uint32_t)us;
	return 0;
}

int cfg_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v, mul = 1;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	if (*end) {
		switch (tolower((unsigned char)*end)) {
		case 'k':
			mul = 1ULL << 10;
			break;
		case 'm':
			mul = 1ULL << 20;
			break;
		case 'g':
			mul = 1ULL << 30;
			break;
		default:
			return -1;
		}
		if (end[1])
			return -1;
	}
	if (v > UINT64_MAX / mul)
		return -1;
	*out = v * mul;
	return 0;
}

/*
 * Split "host:port", "[v6]:port", "[v6]", "v6", "host" into host and port
 * (port NULL when absent). Writes into buf.
 */
static int split_host_port(const char *s, char *buf, size_t buflen, const char **host,
			   const char **port)
{
	struct in6_addr a6;
	char *c;

	if (strlen(s) >= buflen)
		return -1;
	strcpy(buf, s);
	*port = NULL;
	if (buf[0] == '[') {
		c = strchr(buf, ']');
		if (!c)
			return -1;
		*c = '\0';
		*host = buf + 1;
		if (c[1] == ':')
			*port = c + 2;
		else if (c[1])
			return -1;
		return 0;
	}
	*host = buf;
	c = strrchr(buf, ':');
	if (!c)
		return 0;
	*c = '\0';
	/*
	 * IPv6 without brackets: as HAProxy, the last colon separates the port
	 * when what is before it is an address (":::80", "::1:80"); otherwise
	 * the whole string is the address ("::1", "fe80::1").
	 */
	if (strchr(buf, ':') && inet_pton(AF_INET6, buf, &a6) != 1) {
		*c = ':';
		return 0;
	}
	*port = c + 1;
	return 0;
}

/* Resolve host into ss with the given family (AF_UNSPEC: any). */
static int resolve_host(const char *host, int family, struct sockaddr_storage *ss, socklen_t *len,
			char **err)
{
	struct addrinfo hints = { 0 }, *res = NULL;
	int rc;

	memset(ss, 0, sizeof(*ss));
	if (!*host || !strcmp(host, "*")) {
		if (family == AF_INET6) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

			s6->sin6_family = AF_INET6;
			s6->sin6_addr = in6addr_any;
			*len = sizeof(*s6);
		} else {
			struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

			s4->sin_family = AF_INET;
			s4->sin_addr.s_addr = htonl(INADDR_ANY);
			*len = sizeof(*s4);
		}
		return 0;
	}
	if (family != AF_INET6) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
			s4->sin_family = AF_INET;
			*len = sizeof(*s4);
			return 0;
		}
	}
	if (family != AF_INET) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
			s6->sin6_family = AF_INET6;
			*len = sizeof(*s6);
			return 0;
		}
	}
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc || !res)
		return cfg_err(err, "cannot resolve '%s': %s", host,
			       rc ? gai_strerror(rc) : "no address");
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static void set_port(struct sockaddr_storage *ss, int port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

int cfg_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len, int default_port,
		   char **err)
{
	const char *host, *port, *in = s;
	char buf[512];
	int family = AF_UNSPEC;
	long long pv;

	if (!s || !*s)
		return cfg_err(err, "expected an address, got nothing");
	if (!strncmp(s, "ipv4@", 5)) {
		family = AF_INET;
		s += 5;
	} else if (!strncmp(s, "ipv6@", 5)) {
		family = AF_INET6;
		s += 5;
	} else if (!strncmp(s, "unix@", 5) || s[0] == '/') {
		struct sockaddr_un *su = (struct sockaddr_un *)ss;
		const char *path = s[0] == '/' ? s : s + 5;

		if (!*path || strlen(path) >= sizeof(su->sun_path))
			return cfg_err(err, "invalid unix socket path '%s'", in);
		memset(ss, 0, sizeof(*ss));
		su->sun_family = AF_UNIX;
		strcpy(su->sun_path, path);
		*len = sizeof(*su);
		return 0;
	} else if (strchr(s, '@')) {
		return cfg_err(err, "unsupported address family prefix in '%s'", in);
	}
	if (split_host_port(s, buf, sizeof(buf), &host, &port) < 0)
		return cfg_err(err, "invalid address '%s'", in);
	if (resolve_host(host, family, ss, len, err) < 0)
		return -1;
	if (!port || !*port) {
		if (default_port < 0)
			return cfg_err(err, "missing port in '%s'", in);
		set_port(ss, default_port);
		return 0;
	}
	if (port[0] == '+' || port[0] == '-')
		return cfg_err(err, "port offsets (+N/-N) are not supported by lbd, got '%s'", in);
	if (strchr(port, '-'))
		return cfg_err(err, "port range not allowed here, got '%s'", in);
	if (cfg_parse_int(port, 0, 65535, &pv) < 0)
		return cfg_err(err, "invalid port '%s' in '%s'", port, in);
	set_port(ss, (int)pv);
	return 0;
}

char *cfg_join(char *const *args, int nargs)
{
	size_t len = 1;
	char *s;
	int i;

	for (i = 0; i < nargs; i++)
		len += strlen(args[i]) + 1;
	s = malloc(len);
	if (!s)
		return NULL;
	s[0] = '\0';
	for (i = 0; i < nargs; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, args[i]);
	}
	return s;
}

bool cfg_in_list(const char *const *list, const char *s)
{
	for (; *list; list++) {
		if (!strcmp(*list, s))
			return true;
	}
	return false;
}

int cfg_store(char **dst, const char *s, const char *kw, char **err)
{
	char *n = strdup(s);

	if (!n)
		return cfg_err(err, "'%s': out of memory", kw);
	free(*dst);
	*dst = n;
	return 0;
}

char **cfg_dup_words(char *const *args, int nargs)
{
	char **w = calloc(nargs + 1, sizeof(*w));
	int i;

	if (!w)
		return NULL;
	for (i = 0; i < nargs; i++) {
		w[i] = strdup(args[i]);
		if (!w[i]) {
			cfg_words_free(w);
			return NULL;
		}
	}
	return w;
}

int cfg_split_cond(const char *kw, char **args, int nargs, int *nbefore, struct cond **cond,
		   char **err)
{
	struct cond *c;
	int i;

	*cond = NULL;
	for (i = 0; i < nargs; i++) {
		if (!strcmp(args[i], "if") || !strcmp(args[i], "unless"))
			break;
	}
	*nbefore = i;
	if (i == nargs)
		return 0;
	if (i + 1 == nargs)
		return cfg_err(err, "'%s': expected a condition after '%s', got nothing", kw,
			       args[i]);
	c = calloc(1, sizeof(*c));
	if (!c)
		return cfg_err(err, "'%s': out of memory", kw);
	c->unless = args[i][0] == 'u';
	c->nwords = nargs - i - 1;
	c->words = cfg_dup_words(args + i + 1, c->nwords);
	if (!c->words) {
		free(c);
		return cfg_err(err, "'%s': out of memory", kw);
	}
	*cond = c;
	return 0;
}

/* ---- log ---- */

int cfg_parse_log(char **args, int nargs, struct list_head *logs, bool *log_global, char **err)
{
	struct log_target *lt;
	long long v;
	int i = 2;

	if (nargs < 2)
		return cfg_err(
			err,
			"'log': expected 'global' or a target (/dev/log, stdout, ADDR:PORT), got nothing");
	if (!strcmp(args[1], "global")) {
		if (!log_global)
			return cfg_err(err, "'log global' is only valid in proxies");
		if (nargs > 2)
			return cfg_err(err, "'log global': expected no more argument, got '%s'",
				       args[2]);
		*log_global = true;
		return 0;
	}
	lt = calloc(1, sizeof(*lt));
	if (!lt)
		return cfg_err(err, "'log': out of memory");
	list_init(&lt->list);
	lt->target = strdup(args[1]);
	while (i < nargs) {
		if (!strcmp(args[i], "len")) {
			if (i + 1 >= nargs || cfg_parse_int(args[i + 1], 80, 65535, &v) < 0) {
				cfg_err(err,
					"'log': 'len' expects a length between 80 and 65535, got '%s'",
					i + 1 < nargs ? args[i + 1] : "");
				goto fail;
			}
			lt->len = (int)v;
			i += 2;
		} else if (!strcmp(args[i], "format")) {
			if (i + 1 >= nargs || !cfg_in_list(tlog_formats, args[i + 1])) {
				cfg_err(err,
					"'log': 'format' expects local, rfc3164, rfc5424, priority, short, timed, iso or raw, got '%s'",
					i + 1 < nargs ? args[i + 1] : "");
				goto fail;
			}
			free(lt->format);
			lt->format = strdup(args[i + 1]);
			i += 2;
		} else if (!strcmp(args[i], "sample") || !strcmp(args[i], "profile")) {
			cfg_err(err, "'log': '%s' is not supported by lbd", args[i]);
			goto fail;
		} else {
			break;
		}
	}
	if (i >= nargs) {
		cfg_err(err,
			"'log': expected a facility (kern, user, daemon, local0..local7, ...) after '%s', got nothing",
			args[i - 1]);
		goto fail;
	}
	if (!cfg_in_list(tlog_facilities, args[i])) {
		cfg_err(err,
			"'log': expected a facility (kern, user, daemon, local0..local7, ...), got '%s'",
			args[i]);
		goto fail;
	}
	lt->facility = strdup(args[i++]);
	if (i < nargs) {
		if (!cfg_in_list(tlog_levels, args[i])) {
			cfg_err(err,
				"'log': expected a level (emerg, alert, crit, err, warning, notice, info, debug), got '%s'",
				args[i]);
			goto fail;
		}
		lt->level = strdup(args[i++]);
	}
	if (i < nargs) {
		if (!cfg_in_list(tlog_levels, args[i])) {
			cfg_err(err, "'log': expected a minimum level (emerg ... debug), got '%s'",
				args[i]);
			goto fail;
		}
		lt->minlevel = strdup(args[i++]);
	}
	if (i < nargs) {
		cfg_err(err, "'log': unexpected argument '%s' after the levels", args[i]);
		goto fail;
	}
	if (!lt->target || !lt->facility) {
		cfg_err(err, "'log': out of memory");
		goto fail;
	}
	if (tlog_target_init(lt, err) < 0)
		goto fail;
	list_add_tail(&lt->list, logs);
	return 0;
fail:
	log_target_free(lt);
	return -1;
}
