// SPDX-License-Identifier: MIT
/* Logging: one line per message, with a timestamp and level, to stderr or syslog. */
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>
#include <pthread.h>

#include "log.h"

static enum lb_log_level log_level = LB_LOG_NOTICE;
static bool log_syslog;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {
	"EMERG", "ALERT", "CRIT", "ERR", "WARNING", "NOTICE", "INFO", "DEBUG",
};

void lb_log_set_level(enum lb_log_level lvl)
{
	log_level = lvl;
}

bool lb_log_enabled(enum lb_log_level lvl)
{
	return lvl <= log_level;
}

void lb_log_use_syslog(bool on)
{
	if (on && !log_syslog)
		openlog("lbd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log_syslog = on;
}

void lb_log(enum lb_log_level lvl, const char *fmt, ...)
{
	va_list ap;

	if (lvl > log_level)
		return;
	va_start(ap, fmt);
	if (log_syslog) {
		vsyslog((int)lvl, fmt, ap);
	} else {
		struct timespec ts;
		struct tm tm;
		char when[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		pthread_mutex_lock(&log_lock);
		fprintf(stderr, "[%s] %s.%03ld lbd: ", level_names[lvl], when,
			ts.tv_nsec / 1000000);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		fflush(stderr);
		pthread_mutex_unlock(&log_lock);
	}
	va_end(ap);
}
