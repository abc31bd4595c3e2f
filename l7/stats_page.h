/* SPDX-License-Identifier: MIT */
/*
 * HAProxy's HTTP statistics page (`stats enable`, `stats uri` ... in a
 * `mode http` proxy), answered by the L7 workers.
 *
 * The workers never walk the model's server lists (the control loop mutates
 * them: `add server`, `del server`, discovery). Instead the control loop
 * (userspace/lbd/api.c) renders a snapshot of `show stat` every
 * STATS_SNAP_INTERVAL seconds while some proxy has the page enabled: the
 * CSV text, each row's column values and the process information. It
 * publishes it with stats_snap_publish(); a worker takes a reference with
 * stats_snap_get(), renders the HTML or CSV answer from it and drops the
 * reference with stats_snap_put(). The last reference frees the snapshot.
 */
#ifndef XLB_STATS_PAGE_H
#define XLB_STATS_PAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

struct l7_msg;
struct l7_reply;

/* Seconds between two snapshots: the page is never older than this (plus one loop turn). */
#define STATS_SNAP_INTERVAL 0.5

enum stats_row_type {
	STATS_ROW_FE = 0,
	STATS_ROW_BE = 1,
	STATS_ROW_SRV = 2,
};

struct stats_row {
	char **v; /* ncols values, NULL = empty column */
	size_t csv_off, csv_len; /* the row's CSV line in snap->csv, '\n' included */
	int type; /* STATS_ROW_* */
	bool up; /* a server that may take traffic (`;up`) */
	bool maint; /* a server in maintenance (`;no-maint`) */
};

struct stats_snap {
	int refcnt;
	uint64_t taken_ms; /* wall clock (ms since the epoch) when it was rendered */
	const char *const *cols; /* column names (static storage) */
	int ncols;
	char *csv; /* the header line then every row, as `show stat` prints them */
	size_t csv_len, hdr_len; /* whole text; its header line */
	struct stats_row *rows;
	int nrows, cap;
	/* process information (`show info`) */
	int pid, nbthread, maxconn, curconn;
	uint64_t uptime_s;
	char *node; /* global node, else the host name */
	char *desc; /* global description, NULL when none */
};

/* ---- control loop side ---- */

/* An empty snapshot with these columns (cols must outlive it); NULL on ENOMEM. */
struct stats_snap *stats_snap_new(const char *const *cols, int ncols);
/* Copy a row's values; the CSV line is at csv_off (see stats_snap_set_csv). -1 on ENOMEM. */
int stats_snap_add_row(struct stats_snap *s, const char *const *v, int type, bool up, bool maint,
		       size_t csv_off, size_t csv_len);
/* Give the snapshot its CSV text (takes ownership of csv, malloc'd). */
void stats_snap_set_csv(struct stats_snap *s, char *csv, size_t len, size_t hdr_len);
/* Make s the snapshot workers serve (NULL: none); drops the reference on the previous one. */
void stats_snap_publish(struct stats_snap *s);
/* True when some `mode http` proxy of m has the page enabled. */
bool stats_page_wanted(const struct model *m);

/* ---- worker side ---- */

/* The latest snapshot with a reference taken, or NULL when none was published. */
struct stats_snap *stats_snap_get(void);
void stats_snap_put(struct stats_snap *s);

/*
 * When req asks for px's statistics page, fill *reply (status, complete
 * response, close) and return true; else false (the request goes on).
 * Out of memory: true with reply->data NULL (answer 500).
 * Reads only px's configuration and the published snapshot.
 */
bool l7_stats_request(struct proxy *px, const struct l7_msg *req, struct l7_reply *reply);

/* Config check at load: the page needs `mode http`. -1 with *err ("file:line: ..."). */
int l7_stats_check(struct proxy *px, char **err);

#endif
