/* SPDX-License-Identifier: MIT */
/*
 * Health checks, run on the control loop (lbd.loop): a TCP connect check by
 * default, an HTTP check with `option httpchk` (`http-check send|expect`).
 * Every server with `check` has one; the state machine is HAProxy's: a
 * server starts UP at `rise` (its first failure takes it down), then `fall`
 * consecutive failures mark it DOWN, `rise` consecutive successes mark it
 * UP again. Every transition locks the
 * backend, updates the server and calls backend_recalc(), so both tiers
 * follow in the same loop iteration, and is logged with HAProxy's wording.
 */
#ifndef XLB_HEALTH_H
#define XLB_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include "lbd.h"

/* HAProxy's check status codes (HCHK_STATUS_*), as `show servers state` prints them. */
enum hchk_status {
	HCHK_UNKNOWN = 0,
	HCHK_INI, /* not checked yet */
	HCHK_START,
	HCHK_CHECKED,
	HCHK_HANA,
	HCHK_SOCKERR, /* socket error */
	HCHK_L4OK, /* connect succeeded */
	HCHK_L4TOUT, /* connect timed out */
	HCHK_L4CON, /* connect failed (refused, unreachable) */
	HCHK_L6OK,
	HCHK_L6TOUT,
	HCHK_L6RSP,
	HCHK_L7TOUT, /* no complete response in time */
	HCHK_L7RSP, /* invalid response, or content did not match */
	HCHK_L7OK, /* expected response */
	HCHK_L7OKC,
	HCHK_L7STS, /* wrong status */
	HCHK_NSTATUS,
};

/* HAProxy's check results (CHK_RES_*). */
enum hchk_result {
	HCHK_RES_UNKNOWN = 0,
	HCHK_RES_NEUTRAL,
	HCHK_RES_FAILED,
	HCHK_RES_PASSED,
	HCHK_RES_CONDPASS,
};

/* A snapshot of a server's check, for the runtime API. */
struct health_info {
	bool configured; /* the server has `check` */
	bool enabled; /* not `disable health` */
	bool running; /* a check is in progress */
	bool paused; /* maintenance: checks paused */
	int health; /* 0 .. rise + fall - 1 (HAProxy's counter) */
	int rise, fall;
	enum hchk_status status;
	enum hchk_result result;
	int code; /* HTTP status of the last L7 check, 0 when none */
	int duration_ms; /* of the last check, -1 when none */
	const char *info; /* last check's detail ("Connection refused"), "" when none */
};

/* Start checks for every checked server of d->m (startup). */
int health_start(struct lbd *d);
/* Stop every check and release the servers (soft stop, exit). */
void health_stop(void);
/*
 * Reload: stop the checks of the old model and start those of the new one
 * (lbd.m must already be the new model). A server of the same backend/name
 * keeps its check counters and last result.
 */
int health_reload(struct lbd *d);

/* A server was added at run time: start its check if it has one (and it is enabled). */
void health_server_added(struct server *s);
/* A server is being removed: stop its check and drop its reference. */
void health_server_removed(struct server *s);
/* The server's address or check settings changed: restart its check from now. */
void health_server_changed(struct server *s);
/*
 * The server leaves maintenance (caller holds be->lock, then recalculates and
 * calls health_server_changed()): as HAProxy, it is UP again with its counter
 * at `rise` when checked ("start OK but check immediately"), UP when not.
 */
void health_admin_ready(struct server *s);
/*
 * `enable health` / `disable health`. -ENOENT when the server has no
 * check configured.
 */
int health_set_enabled(struct server *s, bool on);
/*
 * `set server B/S health up|stopping|down`: force the check state as if the
 * checks had just concluded (the next checks may change it again).
 */
int health_force(struct server *s, bool up);

/* Fill *hi for s; returns false (and a "no check" *hi) when s has no check. */
bool health_get_info(const struct server *s, struct health_info *hi);
/* "L4OK", "L7STS", ... ; "" for unknown. */
const char *health_status_name(enum hchk_status st);
/* "Layer4 check passed", ... */
const char *health_status_desc(enum hchk_status st);

/*
 * Shared by the runtime API for administrative transitions: count the
 * usable active and backup servers of a backend (caller holds be->lock), and
 * log a line to stderr and to the backend's `log` targets.
 */
void health_count_usable(struct proxy *be, int *act, int *bck);
void health_log(struct proxy *be, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "backend 'NAME' has no server available!" when a change left the backend without a server. */
void health_log_no_server(struct proxy *be, int usable_before, int usable_after);

#endif
