/* SPDX-License-Identifier: MIT */
/*
 * The in-memory model: global settings, proxies (frontends, backends,
 * listens), servers, binds, ACLs and rules. One model per config generation;
 * the control loop owns it. Workers read it and pick servers under the
 * backend's lock. Servers are dynamic: they may be added, removed and
 * re-weighted at run time (runtime API, health checks, etcd).
 */
#ifndef XLB_MODEL_H
#define XLB_MODEL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "list.h"

struct lb_algo_ops;
struct lb_pool;

/* Proxy capabilities: a listen section has both. */
#define PX_CAP_FE 0x1
#define PX_CAP_BE 0x2
#define PX_CAP_DEF 0x4 /* a defaults section */

enum px_mode {
	PX_MODE_TCP = 0,
	PX_MODE_HTTP,
};

/* Administrative state set by the operator (runtime API, lbctl, config). */
enum srv_admin {
	SRV_ADMIN_READY = 0, /* takes traffic when its checks allow */
	SRV_ADMIN_DRAIN, /* keeps its connections and flows, gets no new ones */
	SRV_ADMIN_MAINT, /* out: no new traffic, L4 flows re-pick */
};

/* Where a server came from, for `lbctl servers`. */
enum srv_origin {
	SRV_ORIGIN_CONFIG = 0,
	SRV_ORIGIN_API,
	SRV_ORIGIN_ETCD,
};

/* L4 forwarding mode of a backend in the XDP tier (lbd keyword `xlb-forward`). */
enum fwd_mode {
	FWD_FULLNAT = 0, /* DNAT + SNAT to the balancer's address (default) */
	FWD_NAT, /* DNAT only, client address kept */
};

enum hash_type {
	HASH_MAP_BASED = 0, /* hash modulo the total weight (HAProxy's default) */
	HASH_CONSISTENT, /* weighted Maglev table, shared by both tiers */
};

/* Bind protocol: a UDP bind makes a UDP VIP (XDP tier only). */
enum bind_proto {
	BIND_TCP = 0,
	BIND_UDP,
};

/* All timeouts in milliseconds; 0 means unset (infinite, as HAProxy). */
struct px_timeouts {
	uint32_t connect;
	uint32_t client;
	uint32_t server;
	uint32_t queue;
	uint32_t tunnel;
	uint32_t check;
	uint32_t http_request;
	uint32_t http_keep_alive;
	uint32_t client_fin;
	uint32_t server_fin;
};

/* Where a config object was declared, for error messages. */
struct cfg_loc {
	const char *file; /* interned, lives as long as the model */
	int line;
};

/* Health-check settings of a server (the `check` family of server options). */
struct srv_check_cfg {
	bool enabled; /* `check` */
	uint32_t inter; /* ms between checks while up (default 2000) */
	uint32_t fastinter; /* ms while transitioning (default inter) */
	uint32_t downinter; /* ms while down (default inter) */
	int rise; /* consecutive successes to go up (default 2) */
	int fall; /* consecutive failures to go down (default 3) */
	int port; /* `port`: check another port, 0 = server's */
	struct sockaddr_storage addr; /* `addr`: check another address, family 0 = server's */
	int ssl; /* SRV_CHK_SSL_*: `check-ssl`, `no-check-ssl`, or neither */
};

/* TLS of the health checks: unset follows `ssl` when the check port is the server's. */
enum { SRV_CHK_SSL_AUTO = 0, SRV_CHK_SSL_ON, SRV_CHK_SSL_OFF };

/* Runtime health state of a server, written by the health checker. */
enum srv_check_state {
	SRV_CHK_UP = 0, /* a server starts up, as in HAProxy */
	SRV_CHK_DOWN,
};

struct server {
	struct list_head list; /* in proxy->servers */
	struct proxy *be;
	char *name;
	uint32_t id; /* unique within the model, stable across reloads by name; XDP server id */
	uint32_t puid; /* position id within the backend (HAProxy's srv_id) */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char *addr_str; /* the address as written, for messages */

	int weight; /* current effective user weight 0..256 */
	int iweight; /* initial weight from the config, for `weight N%` */
	int maxconn; /* 0 = unlimited */
	int minconn;
	bool backup;
	char *cookie;
	struct srv_check_cfg check;
	struct cfg_loc loc;
	bool ssl; /* `ssl`: TLS to the server (L7 tier) */
	bool verify_none; /* `verify none`: do not check the server's certificate */
	char *ca_file; /* `ca-file`: CAs to verify the server with */
	char *crt; /* `crt`: client certificate */
	char *sni; /* `sni`: server name sent, as written (a sample expression) */
	void *tls; /* TLS client state (tls.h), set by the L7 tier's compile, NULL when none */
	void *tls_sni; /* the compiled `sni` of a server added at run time */
	bool tls_own; /* tls and tls_sni belong to this server (added at run time) */

	/* Runtime state; written by the control loop under be->lock. */
	enum srv_admin admin;
	enum srv_check_state chk_state;
	bool chk_disabled; /* `disable health`: state frozen */
	enum srv_origin origin;
	char *origin_key; /* etcd key or API user; NULL for config */
	bool removed; /* deleted: draining out, freed when refcnt drops to 0 */

	/* Counters; updated by workers with atomics. */
	int cur_conns; /* connections (L4) or requests in flight (L7) */
	int max_conns_seen;
	int queued;
	uint64_t total_conns;
	uint64_t bytes_in;
	uint64_t bytes_out;
	uint64_t conn_errors;
	uint64_t retries;
	uint64_t redispatches;
	uint64_t chk_fails;
	uint64_t down_trans; /* number of UP->DOWN transitions */
	uint64_t last_change; /* monotonic ms of the last state change */
	char *last_chk; /* last check result text */

	/* Per-algorithm scratch (e.g. smooth round-robin current weight). */
	int64_t algo_cur;
	uint32_t hash_key; /* stable hash of the name, for Maglev permutations */

	int refcnt; /* model + each connection using it; atomic */
};

/* A listening address. `bind` lines can expand to several. */
struct bind {
	struct list_head list; /* in proxy->binds */
	struct proxy *fe;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	enum bind_proto proto;
	int inherited_fd; /* fd@N, else -1 */
	bool ssl; /* `ssl crt ...` (served by the L7 tier) */
	char *crt;
	char *name; /* the bind argument as written */
	struct cfg_loc loc;
	char *label; /* `name` option, for stats */
	bool transparent; /* `transparent`: IP_TRANSPARENT on the socket */
	bool v4v6; /* `v4v6`: IPv6 socket that also accepts IPv4 */
	bool v6only; /* `v6only` */
	char *alpn; /* `alpn h2,http/1.1` as written */
	int fd; /* listening socket, -1 until opened */
};

/*
 * ACLs and conditions are stored as words at parse time; the L7 tier
 * compiles them. `args` is NULL-terminated.
 */
struct acl_def {
	struct list_head list; /* in proxy->acls */
	char *name;
	char **args; /* fetch, flags, patterns */
	int nargs;
	struct cfg_loc loc;
	void *compiled; /* owned by the L7 tier */
};

/* `if`/`unless` condition, as its words. */
struct cond {
	bool unless;
	char **words;
	int nwords;
	void *compiled; /* owned by the L7 tier */
};

struct switch_rule {
	struct list_head list; /* in proxy->switch_rules */
	char *be_name;
	struct proxy *be; /* resolved after parsing */
	struct cond *cond; /* NULL = always */
	struct cfg_loc loc;
};

/* `http-request ...`, `http-response ...`, `tcp-request ...` rules: words kept for the L7 tier. */
struct px_rule {
	struct list_head list;
	char *kw; /* "http-request", "http-response", ... */
	char **args; /* the words after kw, up to `if`/`unless`: action first; NULL-terminated */
	int nargs;
	struct cond *cond;
	struct cfg_loc loc;
	void *compiled;
};

/* One per status HAProxy lets `errorfile` replace (17 of them), with room. */
#define PX_MAX_ERRORFILES 20

struct errorfile {
	int status;
	char *path;
	char *body; /* file contents (a full HTTP response) */
	size_t len;
};

#define PX_OPT_REDISPATCH (1u << 0)
#define PX_OPT_FORWARDFOR (1u << 1)
#define PX_OPT_HTTPCHK (1u << 2)
#define PX_OPT_HTTPLOG (1u << 3)
#define PX_OPT_TCPLOG (1u << 4)
#define PX_OPT_DONTLOGNULL (1u << 5)
#define PX_OPT_ALLBACKUPS (1u << 6)
#define PX_OPT_HTTP_KEEP_ALIVE (1u << 7)
#define PX_OPT_HTTP_SERVER_CLOSE (1u << 8)
#define PX_OPT_HTTPCLOSE (1u << 9)
#define PX_OPT_TCPKA (1u << 10)
#define PX_OPT_LOG_HEALTH (1u << 11)
#define PX_OPT_ABORTONCLOSE (1u << 12)
#define PX_OPT_SPLICE (1u << 13)
#define PX_OPT_HTTPLOG_CLF (1u << 14) /* `option httplog clf` (with PX_OPT_HTTPLOG) */

/* `capture request|response header NAME len N` */
struct px_capture {
	char *name;
	int len;
};

struct log_target {
	struct list_head list;
	char *target; /* "stdout", "stderr", "/dev/log", "127.0.0.1:514", "global" */
	char *facility;
	char *level;
	char *format; /* "raw", "rfc3164", ... */
	char *minlevel; /* more severe messages are capped to it; NULL = none */
	int len; /* `len N`: maximum line length, 0 = default (1024) */
	/* Resolved once by tlog_target_init() (the config parser calls it). */
	int kind; /* TLOG_T_* */
	int fd; /* TLOG_T_FD: the descriptor; 1 and 2 for stdout and stderr */
	int fac, maxlvl, minlvl; /* facility number; levels 0 (emerg) .. 7 (debug) */
	int fmt; /* TLOG_F_* */
	struct sockaddr_storage addr; /* TLOG_T_DGRAM: unix or UDP destination */
	socklen_t addrlen;
};

/*
 * `stats ...` in a proxy: HAProxy's HTTP statistics page, served by the L7
 * tier (l7/stats_page.c). Every `stats` keyword enables the page.
 */
struct px_stats {
	bool enabled;
	bool own; /* set by a line of the proxy's own section, not only inherited */
	struct cfg_loc loc; /* the first `stats` line, for errors */
	char *uri; /* prefix of the page's URI; NULL = "/haproxy?stats" */
	char *realm; /* NULL = "HAProxy Statistics" */
	char **auth; /* "user:password" each, NULL-terminated; NULL = no authentication */
	uint32_t refresh_s; /* Refresh header; 0 = none */
	bool hide_version, show_legends, show_node, show_desc;
	char *node; /* `show-node NAME`; NULL = global node or host name */
	char *desc; /* `show-desc DESC`; NULL = global description */
	char **scope; /* proxy names ("." = this proxy), NULL-terminated; NULL = all */
};

/* frontend, backend, listen or defaults. */
struct proxy {
	struct list_head list; /* in model->proxies */
	char *name;
	unsigned cap; /* PX_CAP_* */
	uint32_t uuid; /* HAProxy's proxy id: 1, 2, ... in config order (iid) */
	enum px_mode mode;
	struct cfg_loc loc;
	bool disabled;

	int maxconn; /* frontend: concurrent connections; 0 = global default */
	int fullconn;
	int retries; /* default 3 */
	unsigned options; /* PX_OPT_* */
	struct px_timeouts to;

	/* frontend side */
	struct list_head binds;
	struct list_head acls;
	struct list_head switch_rules; /* use_backend */
	char *default_backend_name;
	struct proxy *default_backend; /* resolved; a listen defaults to itself */
	struct list_head http_req_rules;
	struct list_head http_rsp_rules;
	struct list_head tcp_req_rules;
	struct list_head logs;
	bool log_global;
	char *forwardfor_header; /* NULL = X-Forwarded-For */
	char *forwardfor_except; /* network as written, NULL = none */
	bool forwardfor_if_none;

	/* backend side */
	const struct lb_algo_ops *algo;
	char *algo_arg; /* header name for hdr(), param for url_param */
	int algo_len; /* `uri len N` */
	int algo_depth; /* `uri depth N` */
	bool algo_whole; /* `uri whole` */
	int algo_draws; /* `random(N)`: servers drawn per pick; 0 = default (2) */
	enum hash_type hash_type;
	char *hash_fn; /* sdbm (default), djb2, wt6, crc32 */
	bool hash_avalanche; /* `hash-type ... avalanche` */
	struct list_head servers;
	int nservers;
	struct server *defsrv; /* default-server template */
	uint32_t next_puid;
	char *httpchk_method;
	char *httpchk_uri;
	char *httpchk_version;
	struct list_head http_check_rules; /* `http-check send|expect` as px_rule */
	enum fwd_mode fwd; /* xlb-forward */
	struct sockaddr_storage
		source; /* `source ADDR`: SNAT address for fullnat; family 0 = auto */

	struct errorfile errorfiles[PX_MAX_ERRORFILES];
	int nerrorfiles;
	struct px_stats stats; /* `stats ...`: the HTTP statistics page */

	/* runtime */
	pthread_mutex_t lock; /* protects servers, pool, algo state */
	struct lb_pool *pool; /* usable servers, rebuilt on every server change */
	void *algo_state; /* owned by the algorithm */
	uint64_t cum_conns; /* frontend: accepted connections; atomic */
	int cur_conns; /* frontend: open connections; atomic */
	uint64_t bytes_in, bytes_out;
	uint64_t denied_req, failed_req;
	uint64_t http_rsp[6]; /* 1xx..5xx, other */
	uint64_t no_srv; /* requests/connections for which no server was usable */
	uint64_t last_change;
	/* config-only settings kept for the L7 tier */
	struct model *m; /* the model the proxy belongs to (ids of added servers) */
	char *description; /* `description` */
	char *log_format; /* `log-format`, as written; NULL: the option's built-in format */
	char *unique_id_format; /* `unique-id-format`, as written */
	char *unique_id_header; /* `unique-id-header NAME` */
	struct cfg_loc log_format_loc, unique_id_format_loc; /* for compile errors */
	struct px_capture *req_caps, *rsp_caps; /* `capture request|response header` */
	int nreq_caps, nrsp_caps;
	uint64_t log_count; /* %lc: lines this frontend logged; atomic */
	char *cookie_name; /* `cookie NAME ...`: persistence cookie; NULL = none */
	char **cookie_args; /* the options after the name, NULL-terminated */
	struct cfg_loc default_backend_loc; /* where `default_backend` was, for errors */

	void *l7; /* owned by the L7 tier */
	void *xdp; /* owned by lbd/maps.c: XDP state for this proxy (NULL when not served by XDP) */
	char *xdp_reason; /* why this frontend is not served by XDP, for `lbctl status` */
	void *discovery; /* owned by lbd/discovery.c: the backend's `discovery` settings */
	void (*discovery_free)(void *); /* frees `discovery`; proxy_free() calls it */
};

struct stats_socket {
	struct list_head list;
	char *path; /* unix path, or "ipv4@addr:port", or "fd@N" */
	int mode; /* -1 = default */
	int uid, gid;
	int level; /* 0 user, 1 operator, 2 admin */
	bool expose_fd;
	struct cfg_loc loc;
};

struct global {
	int maxconn; /* default 4096? HAProxy computes from ulimit; we use 4096 */
	int nbthread; /* 0 = number of cores */
	bool daemon;
	char *pidfile;
	char *user, *group, *chroot;
	int uid, gid; /* -1 = unset */
	struct list_head stats_sockets;
	uint32_t stats_timeout; /* ms, default 10000 */
	struct list_head logs;
	char *ca_base, *crt_base;
	char *ssl_bind_ciphers, *ssl_bind_ciphersuites, *ssl_bind_options;
	char *ssl_server_ciphers, *ssl_server_options;
	char *ssl_server_ciphersuites;
	char *ssl_dh_param_file; /* `ssl-dh-param-file` */
	int tune_ssl_dh_param; /* `tune.ssl.default-dh-param`, 0 = library default */
	bool ssl_server_verify_none; /* `ssl-server-verify none`: servers' certificates not checked */
	int tune_bufsize; /* default 16384 */
	int tune_maxhdr; /* default 101 */
	int spread_checks; /* percent */
	uint32_t hard_stop_after; /* ms */
	/* XDP tier (lbd keywords) */
	char *xdp_ifaces; /* `xlb-interface eth0,eth1` */
	int xdp_mode; /* 0 native, 1 generic, 2 native with generic fallback */
	char *bpf_pin_root; /* `xlb-pin-root`, default /sys/fs/bpf/xlb */
	char *state_file; /* discovery cache */
	char *node;
	char *description;
};

struct model {
	struct global global;
	struct list_head proxies; /* every frontend/backend/listen in config order */
	char **files; /* interned file names */
	int nfiles;
	uint32_t next_srv_id;
	int refcnt;
};

/* Model lifetime. model_new() returns a model with default global settings. */
struct model *model_new(void);
void model_free(struct model *m);
const char *model_intern_file(struct model *m, const char *file);
/* Free one `log` target (not in a list), or unlink and free a whole list. */
void log_target_free(struct log_target *lt);
void logs_free(struct list_head *logs);

/*
 * A new proxy with HAProxy's defaults (mode tcp, retries 3, roundrobin, a
 * default-server template for backends and defaults). Frontends, backends
 * and listens are appended to m->proxies; a defaults section (PX_CAP_DEF)
 * is not in any list.
 */
struct proxy *proxy_new(struct model *m, const char *name, unsigned cap);
void proxy_free(struct proxy *px);
/* Copy the settings a proxy inherits from a defaults section. */
int proxy_inherit(struct proxy *px, const struct proxy *def);
struct proxy *model_find_proxy(const struct model *m, const char *name, unsigned cap);
struct proxy *model_find_backend(const struct model *m, const char *name);

/*
 * Servers. server_new() gives a server initialised from be->defsrv; it is
 * not yet in the backend. backend_add_server() links it in and recomputes
 * the pool; backend_del_server() unlinks it (marks removed) and drops the
 * model's reference. Both run under be->lock held by the caller, as
 * backend_recalc(). backend_add_server() gives a server without an id the
 * model's next one (m->next_srv_id++), a position id and its hash key;
 * -EEXIST when the backend has a server of that name.
 */
struct server *server_new(struct proxy *be, const char *name);
void server_get(struct server *s);
void server_put(struct server *s);
int backend_add_server(struct proxy *be, struct server *s);
/*
 * Set by the L7 tier: make what a server added at run time (runtime API,
 * discovery, carried over a reload) needs beyond the model, such as its
 * TLS client context when it has `ssl`; called before backend_add_server(),
 * outside be->lock. 0, or -1 with *err (malloc'd). The release hook frees
 * it when the server is destroyed.
 */
extern int (*server_prepare_hook)(struct proxy *be, struct server *s, char **err);
extern void (*server_release_hook)(struct server *s);
int backend_del_server(struct proxy *be, struct server *s);
struct server *backend_find_server(struct proxy *be, const char *name);
/* "backend/server" lookup; NULL with errno ENOENT. */
struct server *model_find_server(const struct model *m, const char *be_slash_srv);
/* Free a condition (the L7 tier frees cond->compiled first). */
void cond_free(struct cond *c);

/* True when the server may receive new traffic (ready, up, weight > 0). */
bool server_usable(const struct server *s);
const char *server_state_str(const struct server *s); /* UP, DOWN, DRAIN, MAINT, NOLB */
const char *srv_origin_str(enum srv_origin o);

/*
 * Rebuild the backend's pool of usable servers and the algorithm state after
 * any change to its servers (state, weight, add, del). Caller holds be->lock.
 * Calls the registered change hooks (XDP tier) after the rebuild.
 */
void backend_recalc(struct proxy *be);

/* Hooks run after every backend_recalc (the XDP tier registers one). */
typedef void (*backend_change_fn)(struct proxy *be, void *arg);
void model_set_change_hook(backend_change_fn fn, void *arg);

const char *px_mode_str(enum px_mode m);

#endif
