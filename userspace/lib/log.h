/* SPDX-License-Identifier: MIT */
/* Logging for lbd: stderr by default, syslog levels, thread-safe. */
#ifndef XLB_LOG_H
#define XLB_LOG_H

#include <stdbool.h>

enum lb_log_level {
	LB_LOG_EMERG = 0,
	LB_LOG_ALERT,
	LB_LOG_CRIT,
	LB_LOG_ERR,
	LB_LOG_WARNING,
	LB_LOG_NOTICE,
	LB_LOG_INFO,
	LB_LOG_DEBUG,
};

/* Messages above this level are dropped (default NOTICE, -d sets DEBUG). */
void lb_log_set_level(enum lb_log_level lvl);
/* True when messages of this level are written (to skip formatting debug details). */
bool lb_log_enabled(enum lb_log_level lvl);
/* Send messages to syslog instead of stderr (daemon mode without a tty). */
void lb_log_use_syslog(bool on);
void lb_log(enum lb_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define lb_err(...) lb_log(LB_LOG_ERR, __VA_ARGS__)
#define lb_warn(...) lb_log(LB_LOG_WARNING, __VA_ARGS__)
#define lb_notice(...) lb_log(LB_LOG_NOTICE, __VA_ARGS__)
#define lb_info(...) lb_log(LB_LOG_INFO, __VA_ARGS__)
#define lb_dbg(...) lb_log(LB_LOG_DEBUG, __VA_ARGS__)

#endif
