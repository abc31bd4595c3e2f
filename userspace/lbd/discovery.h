/* SPDX-License-Identifier: MIT */
/*
 * Service discovery: servers registered in an external store are added to
 * and removed from a backend live, without a reload and without breaking
 * connections. A backend names its source with the `discovery` keyword:
 *
 *   discovery etcd endpoints URL[,URL...] prefix P [user U password P]
 *             [ca-file F] [crt F] [key F]
 *
 * The generic part (discovery.c) owns the config keyword, one `struct
 * disc_source` per backend with a source, the table of the entries the
 * source reported (key -> server), how they are applied to the model, the
 * state file and `show discovery`. A source (discovery_etcd.c) only talks to
 * its store and reports what it sees through disc_put()/disc_del() and the
 * sync calls. Everything runs on the control loop (lbd.loop), which owns the
 * model: nothing here blocks.
 */
#ifndef XLB_DISCOVERY_H
#define XLB_DISCOVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "lbd.h"
#include "list.h"

struct cfg_ctx;
struct disc_cfg;
struct disc_source;
struct disc_value;

/* A source of servers: one implementation per store, each in its own file. */
struct discovery_ops {
	const char *name; /* the word after `discovery`: "etcd" */
	/*
	 * Parse the words after the source name (args[0] is the first option)
	 * into a malloc'd private config, and set dc->prefix. NULL with *err
	 * (malloc'd, no "file:line: " prefix) when they are invalid.
	 */
	void *(*parse)(struct disc_cfg *dc, struct cfg_ctx *ctx, char **args, int nargs,
		       char **err);
	void (*cfg_free)(void *cfg);
	/* Start watching for src (src->cfg->priv is what parse returned). 0 or -errno. */
	int (*start)(struct disc_source *src);
	/* Stop watching and release what start() set up; never reports again. */
	void (*stop)(struct disc_source *src);
	/* One line about the source's connection, for `show discovery` (no newline). */
	void (*describe)(struct disc_source *src, char *buf, size_t len);
};

/* A backend's `discovery` line, stored in proxy->discovery. */
struct disc_cfg {
	int refcnt; /* the proxy and each source that runs it */
	const struct discovery_ops *ops;
	void *priv; /* the source's parsed settings */
	char *text; /* the words after `discovery`, joined: equal text = same source on reload */
	char *prefix; /* keys the source owns start with it (for the state file) */
	struct cfg_loc loc;
};

/* One key the source reported. */
struct disc_entry {
	char *key;
	char *name; /* server name: the instance id, sanitized */
	bool valid; /* a server is wanted: the last usable value */
	bool applied; /* the backend has the server (false: name taken by another server) */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int weight; /* -1 = not given: the backend's default-server weight */
	int64_t mod_rev; /* store revision of the last value seen, valid or not */
	uint32_t seen; /* sync generation that last reported it */
	uint64_t resolving; /* id of the pending host name resolution, 0 = none */
};

/* The discovery of one backend. */
struct disc_source {
	struct list_head list; /* in the module's list of sources */
	char *be_name; /* the backend, looked up in lbd.m on every change */
	struct disc_cfg *cfg; /* a copy that lives as long as the source */
	void *priv; /* the running source's state */
	struct disc_entry **ents; /* sorted by key */
	int nents, ments;
	uint32_t sync_gen; /* bumped by disc_sync_begin() */
	int sync_before; /* valid entries when the listing started, for its log line */
	bool in_sync; /* between disc_sync_begin() and disc_sync_end() */
	bool synced; /* a full listing was applied at least once */
	bool from_state; /* entries were loaded from the state file */
	bool state_tried; /* the state file was looked at (once, before the first listing) */
	bool online; /* the store answers */
	bool outage_logged; /* an outage was logged and its end is not yet */
	uint64_t nputs, ndels, nskipped; /* counters for `show discovery` */
	uint64_t serial; /* unique per source: resolutions outliving it are dropped */
};

/* ---- for sources ---- */

/*
 * A full listing starts: every key it reports is disc_put(); disc_sync_end()
 * then removes the entries it did not report. Only differences touch the
 * model.
 */
void disc_sync_begin(struct disc_source *src);
void disc_sync_end(struct disc_source *src);
/* A key was set to val (len bytes) at revision rev. An unusable value is skipped with a log line. */
void disc_put(struct disc_source *src, const char *key, const char *val, size_t len, int64_t rev);
/* A key was deleted (or its lease expired). */
void disc_del(struct disc_source *src, const char *key, int64_t rev);
/*
 * The store answered (online) or not. An outage is logged once, with its
 * end; when the store is down before the first listing, the last known set
 * is loaded from the state file (`xlb-state-file`).
 */
void disc_set_online(struct disc_source *src, bool online, const char *detail);

/*
 * Host names in values are resolved off the control loop (discovery_dns.c):
 * one resolver thread runs getaddrinfo() for each submitted name and hands
 * the answer back to the control loop, which applies it with disc_resolved()
 * unless the key changed meanwhile. 0, or -1 when the job cannot be queued.
 */
int disc_dns_submit(struct disc_source *src, const char *key, const struct disc_value *v,
		    int64_t rev, uint64_t id);
/*
 * On the control loop: the answer for job id (src is only compared, it may
 * be gone). gai is 0 with addr set (port included), or a getaddrinfo error.
 */
void disc_resolved(struct disc_source *src, uint64_t serial, const char *key, uint64_t id,
		   int64_t rev, const char *host, int weight, const struct sockaddr_storage *addr,
		   socklen_t addrlen, int gai);

/* Register a source implementation (from a constructor). */
void discovery_register(const struct discovery_ops *ops);

/* ---- for the control plane ---- */

/* Start the discovery of every backend of d->m that has one. 0 or -1. */
int discovery_start(struct lbd *d);
/* Stop every source (soft stop, exit); the state file is written one last time. */
void discovery_stop(void);
/*
 * After a reload swapped nm in (d->m == nm): sources whose backend and line
 * did not change keep their connection and re-attach to the new backend (its
 * discovered servers are reconciled with the entries); others stop or start.
 * Idempotent; the module also notices a new model by itself on the next loop
 * iteration.
 */
void discovery_reload(struct lbd *d, struct model *nm);

/* ---- helpers, exported for the unit tests ---- */

/*
 * A parsed value: JSON {"addr": IP or NAME, "port": N, "weight": W}, or
 * "IP:PORT", "NAME:PORT", "[IPv6]:PORT".
 */
#define DISC_MAX_HOST 253 /* the longest DNS name */

struct disc_value {
	struct sockaddr_storage addr; /* when host is empty */
	socklen_t addrlen;
	char host[DISC_MAX_HOST + 1]; /* a host name to resolve, "" for an IP literal */
	int port; /* the port, also when host is set */
	int weight; /* -1 when not given */
};
/* 0, or -1 with *why pointing to a static reason. */
int disc_parse_value(const char *val, size_t len, struct disc_value *out, const char **why);
/*
 * The server name for an instance id: characters HAProxy does not allow in
 * names ([A-Za-z0-9_.:-]) become '_'. malloc'd; NULL when id is empty or too
 * long (> 255 bytes).
 */
char *disc_server_name(const char *id, size_t len);
/* The sources that run (for tests that drive disc_put() without a store). */
struct disc_source *discovery_find(const char *be_name);
/* Write the state file now (tests); 0 or -errno. */
int discovery_save_state(void);

/* discovery_etcd.c helpers */
char *etcd_b64_encode(const void *data, size_t len);
/* Decode into a malloc'd NUL-terminated buffer; NULL on invalid input. */
char *etcd_b64_decode(const char *s, size_t len, size_t *outlen);
/* The range end covering every key that starts with prefix (len bytes); malloc'd. */
char *etcd_prefix_end(const char *prefix, size_t len, size_t *outlen);

#endif
