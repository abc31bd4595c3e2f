/* SPDX-License-Identifier: MIT */
/*
 * lbd process state: the control loop, the worker threads and the running
 * model. The control loop (the main thread) owns the model; workers run
 * their own libev loops and serve connections.
 */
#ifndef XLB_LBD_H
#define XLB_LBD_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

#include "model.h"

#define LBD_MAX_WORKERS 64

struct worker;

/* Something a worker serves on a listening socket (set up by listener.c). */
struct listener {
	struct bind *bind;
	struct proxy *fe;
	int fd;
};

struct worker {
	int id;
	pthread_t thread;
	struct ev_loop *loop;
	ev_async wake; /* cross-thread: stop, maxconn resume, queue retry, reload */
	ev_timer idle_check; /* periodic housekeeping */
	ev_timer accept_backoff; /* leaving new connections to less loaded workers */
	int nclients; /* client connections accepted here and still open; read by other workers */
	struct ev_io *lio; /* one accept watcher per listener */
	int nlio;
	struct list_head conns; /* open connections of this worker */
	struct list_head queue; /* connections waiting for a server slot (maxconn) */
	int nconns;
	bool stopping; /* soft stop: no more accepts */
	bool hard_stop;
	int pending_listeners_gen; /* listeners generation this worker has attached */
};

struct lbd {
	struct model *m; /* current generation */
	struct ev_loop *loop; /* control loop */
	struct worker workers[LBD_MAX_WORKERS];
	int nworkers;
	struct listener *listeners;
	int nlisteners;
	int listeners_gen;
	struct listener *old_listeners; /* previous generation, until workers re-attach */
	int nold_listeners;
	char **cfg_files;
	int ncfg_files;
	bool debug;
	bool soft_stopping;
	bool xdp_enabled;
	uint64_t start_ms;
	int pid;
	uint64_t cum_conns;
	int cur_conns; /* open client connections of every frontend (global maxconn); atomic */
};

extern struct lbd lbd;
/* Protects lbd.listeners while workers attach to them. */
extern pthread_mutex_t lbd_listeners_lock;

uint64_t now_ms(void);

/* listener.c */
int listeners_open(struct lbd *d, struct model *m, char **err);
void listeners_close_all(struct lbd *d);
/* Soft stop: refuse new connections, keep the fds until exit. */
void listeners_shutdown(struct lbd *d);
/* Free the previous listeners once every worker attached to the new ones. */
void listeners_gc(struct lbd *d, bool force);
/* "ip:port" ("[ip6]:port"; "-:0" when not an IP address). */
void lbd_addr_str(const struct sockaddr_storage *ss, char *buf, size_t len);
/* "ip" and port apart ("-" and 0 when not an IP address). */
void lbd_addr_ip_port(const struct sockaddr_storage *ss, char *ip, size_t iplen, int *port);
/* Same family, address and port. */
bool lbd_addr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b);

/* worker.c */
int workers_start(struct lbd *d, int n);
void workers_wake_all(struct lbd *d);
void workers_soft_stop(struct lbd *d);
void workers_hard_stop(struct lbd *d);
void workers_join(struct lbd *d);
int workers_total_conns(struct lbd *d);
/* Called by a worker when a frontend connection closes (maxconn resume). */
void worker_conn_closed(struct worker *w, struct proxy *fe);

/* proxy_tcp.c: take over an accepted client socket of a mode tcp frontend. */
void tcp_conn_accept(struct worker *w, struct listener *l, int cfd, struct sockaddr_storage *src);
/* retry queued connections of this worker (a server slot was released) */
void tcp_queue_retry(struct worker *w);
void tcp_conn_close_all(struct worker *w);
int tcp_queued_total(void);
/*
 * The `tcp-request connection|session|content` rules of px, in order, on the
 * addresses of the connection fd: true when the first rule that applies is
 * reject.
 */
bool tcp_rules_reject(struct proxy *px, int fd, const struct sockaddr_storage *src);

/* Dispatch of accepted sockets by mode; the L7 tier provides http_conn_accept. */
typedef void (*conn_accept_fn)(struct worker *w, struct listener *l, int cfd,
			       struct sockaddr_storage *src);
extern conn_accept_fn http_accept_hook;

/* Release a server slot taken for a connection and wake queued waiters. */
void lbd_release_server(struct server *s);

/*
 * state.c: link a server created at run time (API, discovery, reload) into
 * be: server_prepare_hook first (the L7 tier's server TLS context), then
 * backend_add_server, under be->lock unless the caller holds it (locked).
 * Returns 0; LBD_SRV_REFUSED when the hook refused s (*err: its message, or
 * NULL); else backend_add_server's negative errno. On failure s is still the
 * caller's to put.
 */
#define LBD_SRV_REFUSED 1
int lbd_add_server(struct proxy *be, struct server *s, bool locked, char **err);

#endif
