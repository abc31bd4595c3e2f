// SPDX-License-Identifier: MIT
/*
 * The etcd discovery source, through etcd's v3 HTTP/JSON gateway:
 *
 *   [POST /v3/auth/authenticate]  with `user`/`password`: a token, sent in the
 *                                 Authorization header, renewed when etcd
 *                                 says it is invalid or expired
 *   POST /v3/kv/range             the prefix, listed once (and after a
 *                                 compaction): a full sync
 *   POST /v3/watch                a stream of events from the listed
 *                                 revision + 1; each event's mod_revision is
 *                                 remembered, and a broken stream resumes from
 *                                 the last one + 1 on the next endpoint, after
 *                                 a bounded, jittered backoff
 *
 * Keys and values are base64 in the gateway's JSON; int64 fields are strings.
 * When the watch's start revision was compacted, etcd cancels the watch with
 * compact_revision: the prefix is listed again and only the difference is
 * applied.
 *
 * Requests run on libcurl's multi interface driven by the control loop
 * (CURLMOPT_SOCKETFUNCTION / CURLMOPT_TIMERFUNCTION on lbd.loop): nothing
 * blocks. One request per source is in flight at a time; all sources share
 * the multi handle and its connection cache.
 */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "discovery.h"
#include "log.h"

#define ETCD_MAX_ENDPOINTS 16
#define ETCD_CONNECT_TIMEOUT_MS 2000L
/* A list or an authentication that takes longer is retried on the next endpoint. */
#define ETCD_REQ_TIMEOUT_MS 10000L
#define ETCD_BACKOFF_MIN_MS 100u
#define ETCD_BACKOFF_MAX_MS 5000u
/* Largest response (a listing) or watch message accepted. */
#define ETCD_MAX_BODY (64u << 20)
/* Detect a silently dead etcd on an idle watch stream (TCP keepalive, seconds). */
#define ETCD_KEEPIDLE 10L
#define ETCD_KEEPINTVL 5L

/* ---- settings ---- */

struct etcd_cfg {
	char *eps[ETCD_MAX_ENDPOINTS]; /* base URLs, without a trailing '/' */
	int neps;
	char *prefix;
	size_t prefix_len;
	char *user, *password; /* both or neither */
	char *ca_file, *crt, *key; /* TLS to https:// endpoints */
};

static void etcd_cfg_free(void *p)
{
	struct etcd_cfg *c = p;

	if (!c)
		return;
	for (int i = 0; i < c->neps; i++)
		free(c->eps[i]);
	free(c->prefix);
	free(c->user);
	if (c->password)
		memset(c->password, 0, strlen(c->password));
	free(c->password);
	free(c->ca_file);
	free(c->crt);
	free(c->key);
	free(c);
}

static int parse_endpoints(struct etcd_cfg *c, const char *list, char **err)
{
	char *dup = strdup(list), *save = NULL, *tok;

	if (!dup)
		return cfg_err(err, "'discovery etcd': out of memory");
	for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		size_t l = strlen(tok);
		const char *host;

		if (!strncmp(tok, "http://", 7))
			host = tok + 7;
		else if (!strncmp(tok, "https://", 8))
			host = tok + 8;
		else
			host = NULL;
		if (!host || !*host || *host == '/') {
			cfg_err(err,
				"'discovery etcd': endpoint '%s' is not an http:// or https:// URL",
				tok);
			goto fail;
		}
		if (c->neps == ETCD_MAX_ENDPOINTS) {
			cfg_err(err, "'discovery etcd': more than %d endpoints",
				ETCD_MAX_ENDPOINTS);
			goto fail;
		}
		while (l && tok[l - 1] == '/')
			tok[--l] = '\0';
		c->eps[c->neps] = strdup(tok);
		if (!c->eps[c->neps]) {
			cfg_err(err, "'discovery etcd': out of memory");
			goto fail;
		}
		c->neps++;
	}
	free(dup);
	if (!c->neps)
		return cfg_err(err, "'discovery etcd': 'endpoints' expects URL[,URL...]");
	return 0;
fail:
	free(dup);
	return -1;
}

/* A file option: relative to ca-base / crt-base when set, and readable now. */
static int set_file(char **dst, const char *opt, const char *path, const char *base, char **err)
{
	char *full = NULL;

	if (path[0] != '/' && base) {
		if (asprintf(&full, "%s/%s", base, path) < 0)
			full = NULL;
	} else {
		full = strdup(path);
	}
	if (!full)
		return cfg_err(err, "'discovery etcd': out of memory");
	if (access(full, R_OK)) {
		cfg_err(err, "'discovery etcd': '%s' cannot read '%s': %s", opt, full,
			strerror(errno));
		free(full);
		return -1;
	}
	*dst = full;
	return 0;
}

static void *etcd_parse(struct disc_cfg *dc, struct cfg_ctx *ctx, char **args, int nargs,
			char **err)
{
	static const char *const opts[] = { "endpoints", "prefix", "user", "password",
					    "ca-file",	 "crt",	   "key",  NULL };
	struct etcd_cfg *c = calloc(1, sizeof(*c));
	const struct global *g = &ctx->m->global;
	bool https = false;
	int i;

	if (!c) {
		cfg_err(err, "'discovery etcd': out of memory");
		return NULL;
	}
	for (i = 0; i < nargs; i += 2) {
		const char *kw = args[i], *val = i + 1 < nargs ? args[i + 1] : NULL;
		char **dst = NULL;
		int k, rc = 0;

		for (k = 0; opts[k]; k++)
			if (!strcmp(kw, opts[k]))
				break;
		if (!opts[k]) {
			cfg_err(err,
				"'discovery etcd': unknown option '%s' (expected endpoints, prefix, "
				"user, password, ca-file, crt or key)",
				kw);
			goto fail;
		}
		if (!val || !*val) {
			cfg_err(err, "'discovery etcd': '%s' expects a value, got nothing", kw);
			goto fail;
		}
		switch (k) {
		case 0:
			if (c->neps) {
				cfg_err(err, "'discovery etcd': 'endpoints' given twice");
				goto fail;
			}
			rc = parse_endpoints(c, val, err);
			break;
		case 1:
			dst = &c->prefix;
			break;
		case 2:
			dst = &c->user;
			break;
		case 3:
			dst = &c->password;
			break;
		case 4:
		case 5:
		case 6: {
			char **f = k == 4 ? &c->ca_file : k == 5 ? &c->crt : &c->key;

			if (*f) {
				cfg_err(err, "'discovery etcd': '%s' given twice", kw);
				goto fail;
			}
			rc = set_file(f, kw, val, k == 4 ? g->ca_base : g->crt_base, err);
			break;
		}
		}
		if (rc < 0)
			goto fail;
		if (dst) {
			if (*dst) {
				cfg_err(err, "'discovery etcd': '%s' given twice", kw);
				goto fail;
			}
			*dst = strdup(val);
			if (!*dst) {
				cfg_err(err, "'discovery etcd': out of memory");
				goto fail;
			}
		}
	}
	if (!c->neps) {
		cfg_err(err, "'discovery etcd': missing 'endpoints URL[,URL...]'");
		goto fail;
	}
	if (!c->prefix) {
		cfg_err(err, "'discovery etcd': missing 'prefix KEYPREFIX'");
		goto fail;
	}
	if (!!c->user != !!c->password) {
		cfg_err(err, "'discovery etcd': 'user' and 'password' go together");
		goto fail;
	}
	if (c->key && !c->crt) {
		cfg_err(err, "'discovery etcd': 'key' needs 'crt'");
		goto fail;
	}
	for (i = 0; i < c->neps; i++)
		https |= !strncmp(c->eps[i], "https://", 8);
	if (!https && (c->ca_file || c->crt))
		cfg_warn(ctx, "'discovery etcd': 'ca-file', 'crt' and 'key' only apply to https:// "
			      "endpoints");
	c->prefix_len = strlen(c->prefix);
	dc->prefix = strdup(c->prefix);
	if (!dc->prefix) {
		cfg_err(err, "'discovery etcd': out of memory");
		goto fail;
	}
	return c;
fail:
	etcd_cfg_free(c);
	return NULL;
}

/* ---- encoding ---- */

static const char b64_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *etcd_b64_encode(const void *data, size_t len)
{
	const unsigned char *p = data;
	char *out = malloc(4 * ((len + 2) / 3) + 1), *o = out;
	size_t i;

	if (!out)
		return NULL;
	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];

		*o++ = b64_chars[v >> 18];
		*o++ = b64_chars[(v >> 12) & 63];
		*o++ = b64_chars[(v >> 6) & 63];
		*o++ = b64_chars[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < len ? (uint32_t)p[i + 1] << 8 : 0);

		*o++ = b64_chars[v >> 18];
		*o++ = b64_chars[(v >> 12) & 63];
		*o++ = i + 1 < len ? b64_chars[(v >> 6) & 63] : '=';
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

static int b64_val(char c)
{
	const char *p = c ? strchr(b64_chars, c) : NULL;

	return p ? (int)(p - b64_chars) : -1;
}

char *etcd_b64_decode(const char *s, size_t len, size_t *outlen)
{
	char *out, *o;
	uint32_t acc = 0;
	int bits = 0;
	size_t i;

	while (len && s[len - 1] == '=')
		len--;
	if (len % 4 == 1)
		return NULL;
	out = malloc(len * 3 / 4 + 1);
	if (!out)
		return NULL;
	o = out;
	for (i = 0; i < len; i++) {
		int v = b64_val(s[i]);

		if (v < 0) {
			free(out);
			return NULL;
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			*o++ = (char)((acc >> bits) & 0xff);
		}
	}
	*o = '\0';
	if (outlen)
		*outlen = (size_t)(o - out);
	return out;
}

char *etcd_prefix_end(const char *prefix, size_t len, size_t *outlen)
{
	char *end = malloc(len + 1);

	if (!end)
		return NULL;
	memcpy(end, prefix, len);
	while (len) {
		unsigned char c = (unsigned char)end[len - 1];

		if (c < 0xff) {
			end[len - 1] = (char)(c + 1);
			*outlen = len;
			return end;
		}
		len--;
	}
	/* Only 0xff bytes: "\0" means every key from the prefix on. */
	end[0] = '\0';
	*outlen = 1;
	return end;
}

/* int64 fields come as strings ("42") from the gateway, or as numbers. */
static int64_t jint64(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_string(v))
		return strtoll(json_string_value(v), NULL, 10);
	return 0;
}

/* ---- libcurl on the control loop ---- */

struct sockw {
	ev_io io;
	curl_socket_t fd;
	struct list_head list;
};

static CURLM *multi;
static int multi_users;
static ev_timer multi_timer;
static struct list_head sockws = LIST_HEAD_INIT(sockws);

static void check_done(void);

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sockw *sw = container_of(w, struct sockw, io);
	curl_socket_t fd = sw->fd; /* sw may be freed during the action */
	int running, flags = 0;

	if (revents & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (revents & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(multi, fd, flags, &running);
	check_done();
}

static void multi_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	int running;

	curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done();
}

static int sock_cb(CURL *e, curl_socket_t fd, int what, void *userp, void *sockp)
{
	struct sockw *sw = sockp;
	int events = 0;

	if (what == CURL_POLL_REMOVE) {
		if (sw) {
			ev_io_stop(lbd.loop, &sw->io);
			list_del(&sw->list);
			free(sw);
			curl_multi_assign(multi, fd, NULL);
		}
		return 0;
	}
	if (!sw) {
		sw = calloc(1, sizeof(*sw));
		if (!sw)
			return -1;
		sw->fd = fd;
		ev_init(&sw->io, io_cb);
		list_add_tail(&sw->list, &sockws);
		curl_multi_assign(multi, fd, sw);
	}
	if (what & CURL_POLL_IN)
		events |= EV_READ;
	if (what & CURL_POLL_OUT)
		events |= EV_WRITE;
	ev_io_stop(lbd.loop, &sw->io);
	ev_io_set(&sw->io, fd, events);
	ev_io_start(lbd.loop, &sw->io);
	return 0;
}

static int timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	ev_timer_stop(lbd.loop, &multi_timer);
	if (timeout_ms >= 0) {
		ev_timer_set(&multi_timer, timeout_ms / 1000.0, 0.);
		ev_timer_start(lbd.loop, &multi_timer);
	}
	return 0;
}

static int multi_get(void)
{
	static bool global_init;

	if (multi) {
		multi_users++;
		return 0;
	}
	if (!global_init) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return -ENOMEM;
		global_init = true;
	}
	multi = curl_multi_init();
	if (!multi)
		return -ENOMEM;
	curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	ev_timer_init(&multi_timer, multi_timer_cb, 0., 0.);
	multi_users = 1;
	return 0;
}

static void multi_put(void)
{
	struct sockw *sw, *tmp;

	if (!multi || --multi_users > 0)
		return;
	curl_multi_cleanup(multi);
	multi = NULL;
	ev_timer_stop(lbd.loop, &multi_timer);
	list_for_each_safe(sw, tmp, &sockws, list) {
		ev_io_stop(lbd.loop, &sw->io);
		list_del(&sw->list);
		free(sw);
	}
}

/* ---- one source ---- */

enum etcd_req {
	REQ_NONE = 0,
	REQ_AUTH, /* POST /v3/auth/authenticate */
	REQ_LIST, /* POST /v3/kv/range */
	REQ_WATCH, /* POST /v3/watch (streaming) */
};

/* Why the watch stream was cut by us. */
enum etcd_end {
	END_NONE = 0,
	END_COMPACTED, /* the start revision was compacted: list again */
	END_AUTH, /* the token was refused: authenticate again */
	END_ERROR, /* anything else: reconnect after a backoff */
};

struct etcd_src {
	struct disc_source *src;
	const struct etcd_cfg *cfg;
	enum etcd_req req; /* the request in flight */
	CURL *easy;
	struct curl_slist *hdrs;
	char *post; /* request body, alive while the request is */
	char *buf; /* response body, or the watch stream's partial message */
	size_t len, cap;
	char errbuf[CURL_ERROR_SIZE];
	enum etcd_end end;
	char end_detail[256];
	int ep; /* index of the endpoint in use */
	char *token; /* auth token, NULL without one */
	bool token_fresh; /* obtained for this attempt: a refusal is not an expiry */
	int64_t rev; /* last revision seen: listing header or event mod_revision */
	bool need_list; /* list before watching (start, compaction) */
	bool watching; /* the current watch was created */
	unsigned fails; /* consecutive failed attempts */
	uint64_t events; /* events received, for `show discovery` */
	uint64_t auths; /* tokens obtained, for `show discovery` */
	ev_timer retry;
	bool stopping;
};

static uint32_t jitter_state;

static uint32_t jitter_rand(void)
{
	uint32_t x = jitter_state;

	if (!x)
		x = (uint32_t)getpid() * 2654435761u ^ (uint32_t)now_ms();
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	jitter_state = x ? x : 1;
	return x;
}

static void buf_reset(struct etcd_src *es)
{
	es->len = 0;
}

static int buf_append(struct etcd_src *es, const char *p, size_t n)
{
	if (es->len + n + 1 > es->cap) {
		size_t cap = es->cap ? es->cap : 4096;
		char *b;

		while (cap < es->len + n + 1)
			cap *= 2;
		if (cap > ETCD_MAX_BODY + 1)
			return -1;
		b = realloc(es->buf, cap);
		if (!b)
			return -1;
		es->buf = b;
		es->cap = cap;
	}
	memcpy(es->buf + es->len, p, n);
	es->len += n;
	es->buf[es->len] = '\0';
	return 0;
}

static void req_clear(struct etcd_src *es)
{
	if (es->easy) {
		curl_multi_remove_handle(multi, es->easy);
		curl_easy_cleanup(es->easy);
		es->easy = NULL;
	}
	curl_slist_free_all(es->hdrs);
	es->hdrs = NULL;
	free(es->post);
	es->post = NULL;
	es->req = REQ_NONE;
	es->end = END_NONE;
	es->end_detail[0] = '\0';
	es->watching = false;
	buf_reset(es);
	/* A listing can be large: do not keep its buffer around. */
	if (es->cap > 65536) {
		free(es->buf);
		es->buf = NULL;
		es->cap = 0;
	}
}

static void cut(struct etcd_src *es, enum etcd_end end, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void cut(struct etcd_src *es, enum etcd_end end, const char *fmt, ...)
{
	va_list ap;

	es->end = end;
	va_start(ap, fmt);
	vsnprintf(es->end_detail, sizeof(es->end_detail), fmt, ap);
	va_end(ap);
}

static void apply_kv(struct etcd_src *es, const json_t *kv, bool del)
{
	const char *k64 = json_string_value(json_object_get(kv, "key"));
	const char *v64 = json_string_value(json_object_get(kv, "value"));
	int64_t rev = jint64(kv, "mod_revision");
	char *key, *val = NULL;
	size_t klen, vlen = 0;

	if (!k64)
		return;
	key = etcd_b64_decode(k64, strlen(k64), &klen);
	if (!key)
		return;
	if (strlen(key) != klen) {
		lb_warn("discovery: backend '%s': a key with a NUL byte was skipped",
			es->src->be_name);
	} else if (del) {
		disc_del(es->src, key, rev);
	} else {
		val = etcd_b64_decode(v64 ? v64 : "", v64 ? strlen(v64) : 0, &vlen);
		disc_put(es->src, key, val ? val : "", val ? vlen : 0, rev);
	}
	if (rev > es->rev)
		es->rev = rev;
	free(key);
	free(val);
}

/* One message of the watch stream. -1 cuts the stream (es->end says why). */
static int watch_msg(struct etcd_src *es, const char *line, size_t len)
{
	json_t *msg = json_loadb(line, len, 0, NULL), *res, *evs, *ev;
	const char *reason;
	int64_t compact;
	size_t i;
	int ret = -1;

	if (!msg) {
		cut(es, END_ERROR, "unparsable watch message");
		return -1;
	}
	res = json_object_get(msg, "result");
	if (!json_is_object(res)) {
		json_t *e = json_object_get(msg, "error");
		const char *m = json_string_value(json_object_get(e, "message"));

		if (!m)
			m = json_string_value(e);
		cut(es, END_ERROR, "watch error: %s", m ? m : "unknown");
		goto out;
	}
	compact = jint64(res, "compact_revision");
	if (compact > 0) {
		es->need_list = true;
		cut(es, END_COMPACTED, "revision %lld was compacted (etcd keeps %lld and later)",
		    (long long)es->rev + 1, (long long)compact);
		goto out;
	}
	if (json_is_true(json_object_get(res, "canceled"))) {
		reason = json_string_value(json_object_get(res, "cancel_reason"));
		if (!reason)
			reason = "";
		if (strstr(reason, "auth token") || strstr(reason, "Unauthenticated"))
			cut(es, END_AUTH, "token refused: %s", reason);
		else
			cut(es, END_ERROR, "watch canceled: %s", *reason ? reason : "no reason");
		goto out;
	}
	if (json_is_true(json_object_get(res, "created"))) {
		char d[300];

		es->watching = true;
		es->fails = 0;
		es->token_fresh = false;
		snprintf(d, sizeof(d), "%s, watching from revision %lld", es->cfg->eps[es->ep],
			 (long long)es->rev + 1);
		disc_set_online(es->src, true, d);
	}
	evs = json_object_get(res, "events");
	json_array_foreach(evs, i, ev)
	{
		const char *type = json_string_value(json_object_get(ev, "type"));

		apply_kv(es, json_object_get(ev, "kv"), type && !strcmp(type, "DELETE"));
		es->events++;
	}
	/* A progress notification: every event up to its revision was sent. */
	if (!json_array_size(evs) && !json_is_true(json_object_get(res, "created"))) {
		int64_t hrev = jint64(json_object_get(res, "header"), "revision");

		if (hrev > es->rev)
			es->rev = hrev;
	}
	ret = 0;
out:
	json_decref(msg);
	return ret;
}

/* Messages of the stream are separated by newlines. */
static int watch_feed(struct etcd_src *es)
{
	size_t off = 0;
	char *nl;

	while ((nl = memchr(es->buf + off, '\n', es->len - off))) {
		size_t l = (size_t)(nl - (es->buf + off));

		if (l && watch_msg(es, es->buf + off, l) < 0)
			return -1;
		off += l + 1;
	}
	if (off) {
		memmove(es->buf, es->buf + off, es->len - off);
		es->len -= off;
		es->buf[es->len] = '\0';
	}
	return 0;
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct etcd_src *es = ud;
	size_t n = size * nmemb;
	long code = 0;

	if (buf_append(es, ptr, n) < 0) {
		cut(es, END_ERROR, "response larger than %u bytes", ETCD_MAX_BODY);
		return 0;
	}
	if (es->req != REQ_WATCH)
		return n;
	curl_easy_getinfo(es->easy, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200)
		return n; /* an error body, reported when the request ends */
	return watch_feed(es) < 0 ? 0 : n;
}

static int req_start(struct etcd_src *es, enum etcd_req kind, const char *path, json_t *body)
{
	const struct etcd_cfg *c = es->cfg;
	char url[1024], *auth = NULL;
	CURL *e;

	es->post = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (!es->post)
		return -1;
	snprintf(url, sizeof(url), "%s%s", c->eps[es->ep], path);
	e = es->easy = curl_easy_init();
	if (!e)
		goto fail;
	es->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	if (es->token && asprintf(&auth, "Authorization: %s", es->token) >= 0) {
		struct curl_slist *l = curl_slist_append(es->hdrs, auth);

		free(auth);
		if (l)
			es->hdrs = l;
	}
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, es->post);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(es->post));
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, es->hdrs);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, es);
	curl_easy_setopt(e, CURLOPT_PRIVATE, es);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, es->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, ETCD_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, ETCD_KEEPIDLE);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, ETCD_KEEPINTVL);
	if (kind != REQ_WATCH)
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, ETCD_REQ_TIMEOUT_MS);
	if (c->ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
	if (c->crt)
		curl_easy_setopt(e, CURLOPT_SSLCERT, c->crt);
	if (c->key)
		curl_easy_setopt(e, CURLOPT_SSLKEY, c->key);
	es->errbuf[0] = '\0';
	es->req = kind;
	es->end = END_NONE;
	es->end_detail[0] = '\0';
	buf_reset(es);
	if (curl_multi_add_handle(multi, e) != CURLM_OK)
		goto fail;
	return 0;
fail:
	req_clear(es);
	return -1;
}

static json_t *range_body(const struct etcd_cfg *c, const char *extra_key, json_t *extra)
{
	char *end, *k64, *e64;
	size_t elen;
	json_t *o = NULL;

	end = etcd_prefix_end(c->prefix, c->prefix_len, &elen);
	if (!end)
		return NULL;
	k64 = etcd_b64_encode(c->prefix, c->prefix_len);
	e64 = etcd_b64_encode(end, elen);
	free(end);
	if (k64 && e64)
		o = json_pack("{s:s, s:s}", "key", k64, "range_end", e64);
	free(k64);
	free(e64);
	if (o && extra_key)
		json_object_set_new(o, extra_key, extra);
	else
		json_decref(extra);
	return o;
}

static int req_auth(struct etcd_src *es)
{
	json_t *b = json_pack("{s:s, s:s}", "name", es->cfg->user, "password", es->cfg->password);

	return b ? req_start(es, REQ_AUTH, "/v3/auth/authenticate", b) : -1;
}

static int req_list(struct etcd_src *es)
{
	json_t *b = range_body(es->cfg, NULL, NULL);

	return b ? req_start(es, REQ_LIST, "/v3/kv/range", b) : -1;
}

static int req_watch(struct etcd_src *es)
{
	json_t *cr = range_body(es->cfg, "start_revision", json_integer(es->rev + 1)), *b;

	if (!cr)
		return -1;
	json_object_set_new(cr, "progress_notify", json_true());
	b = json_pack("{s:o}", "create_request", cr);
	return b ? req_start(es, REQ_WATCH, "/v3/watch", b) : -1;
}

static void etcd_fail(struct etcd_src *es, const char *detail);

/* Start what comes next: a token, a listing, or the watch. */
static void etcd_next(struct etcd_src *es)
{
	int rc;

	if (es->stopping)
		return;
	if (es->cfg->user && !es->token)
		rc = req_auth(es);
	else if (es->need_list)
		rc = req_list(es);
	else
		rc = req_watch(es);
	if (rc < 0)
		etcd_fail(es, "cannot set up a request: out of memory");
}

static void retry_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	etcd_next(container_of(t, struct etcd_src, retry));
}

static void etcd_fail(struct etcd_src *es, const char *detail)
{
	unsigned shift = es->fails < 6 ? es->fails : 6;
	uint32_t base = ETCD_BACKOFF_MIN_MS << shift, delay;

	es->fails++;
	if (base > ETCD_BACKOFF_MAX_MS)
		base = ETCD_BACKOFF_MAX_MS;
	delay = base / 2 + jitter_rand() % (base / 2 + 1);
	/* An outage is when every endpoint failed in a row, not one dead member. */
	if (es->fails >= (unsigned)es->cfg->neps)
		disc_set_online(es->src, false, detail);
	lb_info("discovery: backend '%s': etcd: %s; retrying in %u ms", es->src->be_name, detail,
		delay);
	if (es->cfg->neps > 1)
		es->ep = (es->ep + 1) % es->cfg->neps;
	ev_timer_stop(lbd.loop, &es->retry);
	ev_timer_set(&es->retry, delay / 1000.0, 0.);
	ev_timer_start(lbd.loop, &es->retry);
}

static void drop_token(struct etcd_src *es)
{
	free(es->token);
	es->token = NULL;
	es->token_fresh = false;
}

/* The "error"/"message" of an error body, or its start. */
static void error_text(const struct etcd_src *es, char *out, size_t len)
{
	json_t *j = es->len ? json_loadb(es->buf, es->len, 0, NULL) : NULL;
	const char *m = json_string_value(json_object_get(j, "message"));

	if (!m)
		m = json_string_value(json_object_get(j, "error"));
	if (m)
		snprintf(out, len, "%s", m);
	else
		snprintf(out, len, "%.80s", es->len ? es->buf : "");
	json_decref(j);
}

static int auth_apply(struct etcd_src *es)
{
	json_t *j = json_loadb(es->buf, es->len, 0, NULL);
	const char *tok = json_string_value(json_object_get(j, "token"));

	drop_token(es);
	if (tok && *tok)
		es->token = strdup(tok);
	json_decref(j);
	if (!es->token)
		return -1;
	es->token_fresh = true;
	es->auths++;
	return 0;
}

static int list_apply(struct etcd_src *es)
{
	json_t *j = json_loadb(es->buf, es->len, 0, NULL), *kvs, *kv;
	int64_t rev = jint64(json_object_get(j, "header"), "revision");
	size_t i;

	if (!j || rev <= 0) {
		json_decref(j);
		return -1;
	}
	kvs = json_object_get(j, "kvs");
	disc_sync_begin(es->src);
	json_array_foreach(kvs, i, kv) apply_kv(es, kv, false);
	disc_sync_end(es->src);
	if (json_is_true(json_object_get(j, "more")))
		lb_warn("discovery: backend '%s': etcd returned a partial listing",
			es->src->be_name);
	es->rev = rev;
	es->need_list = false;
	json_decref(j);
	return 0;
}

static void req_done(struct etcd_src *es, CURLcode rc)
{
	const char *ep = es->cfg->eps[es->ep];
	enum etcd_req kind = es->req;
	char detail[512], etext[200];
	long code = 0;

	curl_easy_getinfo(es->easy, CURLINFO_RESPONSE_CODE, &code);
	if (es->end != END_NONE)
		snprintf(detail, sizeof(detail), "%s: %s", ep, es->end_detail);
	else if (rc != CURLE_OK)
		snprintf(detail, sizeof(detail), "%s: %s", ep,
			 es->errbuf[0] ? es->errbuf : curl_easy_strerror(rc));
	else if (code != 200) {
		error_text(es, etext, sizeof(etext));
		snprintf(detail, sizeof(detail), "%s: HTTP %ld: %s", ep, code, etext);
	} else
		snprintf(detail, sizeof(detail), "%s: %s", ep,
			 kind == REQ_WATCH ? "watch stream closed" : "bad response");

	switch (kind) {
	case REQ_AUTH:
		if (rc == CURLE_OK && code == 200 && auth_apply(es) == 0) {
			req_clear(es);
			etcd_next(es);
			return;
		}
		if (rc == CURLE_OK && code != 200) {
			error_text(es, etext, sizeof(etext));
			snprintf(detail, sizeof(detail), "%s: authentication as '%s' refused: %s",
				 ep, es->cfg->user, etext);
		}
		break;
	case REQ_LIST:
		if (rc == CURLE_OK && code == 200 && es->end == END_NONE) {
			if (list_apply(es) == 0) {
				char d[300];

				req_clear(es);
				es->fails = 0;
				es->token_fresh = false;
				snprintf(d, sizeof(d), "%s, listed at revision %lld", ep,
					 (long long)es->rev);
				disc_set_online(es->src, true, d);
				etcd_next(es);
				return;
			}
			snprintf(detail, sizeof(detail), "%s: unparsable range response", ep);
		} else if (rc == CURLE_OK && code == 401 && es->token && !es->token_fresh) {
			req_clear(es);
			drop_token(es); /* expired: get a new one */
			etcd_next(es);
			return;
		}
		break;
	case REQ_WATCH:
		if (es->end == END_COMPACTED) {
			lb_notice("discovery: backend '%s': etcd %s; listing again",
				  es->src->be_name, es->end_detail);
			req_clear(es);
			etcd_next(es);
			return;
		}
		if (es->end == END_AUTH && es->token && !es->token_fresh) {
			req_clear(es);
			drop_token(es);
			etcd_next(es);
			return;
		}
		break;
	case REQ_NONE:
		break;
	}
	req_clear(es);
	etcd_fail(es, detail);
}

static void check_done(void)
{
	CURLMsg *msg;
	int left;

	while (multi && (msg = curl_multi_info_read(multi, &left))) {
		struct etcd_src *es = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&es);
		if (es && es->easy == msg->easy_handle)
			req_done(es, msg->data.result);
	}
}

static int etcd_start(struct disc_source *src)
{
	struct etcd_src *es = calloc(1, sizeof(*es));

	if (!es)
		return -ENOMEM;
	if (multi_get() < 0) {
		free(es);
		return -ENOMEM;
	}
	es->src = src;
	es->cfg = src->cfg->priv;
	es->need_list = true;
	ev_timer_init(&es->retry, retry_cb, 0., 0.);
	src->priv = es;
	etcd_next(es);
	return 0;
}

static void etcd_stop(struct disc_source *src)
{
	struct etcd_src *es = src->priv;

	if (!es)
		return;
	es->stopping = true;
	ev_timer_stop(lbd.loop, &es->retry);
	req_clear(es);
	drop_token(es);
	free(es->buf);
	free(es);
	src->priv = NULL;
	multi_put();
}

static void etcd_describe(struct disc_source *src, char *buf, size_t len)
{
	struct etcd_src *es = src->priv;
	const char *what;

	if (!es) {
		snprintf(buf, len, "not running");
		return;
	}
	switch (es->req) {
	case REQ_AUTH:
		what = "authenticating at";
		break;
	case REQ_LIST:
		what = "listing at";
		break;
	case REQ_WATCH:
		what = es->watching ? "watching" : "connecting to";
		break;
	default:
		what = ev_is_active(&es->retry) ? "waiting to retry" : "idle at";
		break;
	}
	snprintf(buf, len, "%s %s revision %lld events %llu failures %u", what,
		 es->cfg->eps[es->ep], (long long)es->rev, (unsigned long long)es->events,
		 es->fails);
	if (es->cfg->user) {
		size_t l = strlen(buf);

		snprintf(buf + l, len - l, " auths %llu", (unsigned long long)es->auths);
	}
}

static const struct discovery_ops etcd_ops = {
	.name = "etcd",
	.parse = etcd_parse,
	.cfg_free = etcd_cfg_free,
	.start = etcd_start,
	.stop = etcd_stop,
	.describe = etcd_describe,
};

static void __attribute__((constructor)) etcd_register(void)
{
	discovery_register(&etcd_ops);
}
