/* systemd's service notification protocol, spoken directly: one datagram
 * per message to the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or an
 * abstract name after '@'); nothing without it. systemd documents the
 * protocol as its stable interface and asks daemons that need only this not
 * to link libsystemd (sd_notify(3), "Standalone Implementations"), which
 * would map it and six compression and crypto libraries into every node.
 * The state is the process's: coordd runs one node, and only the loop's
 * thread calls these. */
#include "notify.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Named limit: one notification (every message here is a few lines). */
#define NOTIFY_MSG_MAX 512

/* Sends the message FMT... to $NOTIFY_SOCKET; any failure is ignored (a
 * node never depends on systemd listening). */
static void notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void notifyf(const char *fmt, ...)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char msg[NOTIFY_MSG_MAX];
	size_t len;
	va_list ap;
	int fd, n;

	if (path == NULL || (path[0] != '/' && path[0] != '@'))
		return; /* unset, or a form (vsock) this node does not speak */
	len = strlen(path);
	if (len >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, len);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0'; /* abstract: not NUL-terminated */
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	(void)sendto(fd, msg, (size_t)n, MSG_NOSIGNAL, (const struct sockaddr *)&sa,
	             (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
	close(fd);
}

static bool ready;           /* READY=1 was sent */
static uint64_t told_leader; /* what the last STATUS= said */
static uint64_t told_term;
static uint64_t self_id;

/* The STATUS= line of what was last told, after PREFIX ("" or lines). */
static void status(const char *prefix)
{
	if (told_leader == 0)
		notifyf("%sSTATUS=no leader known, term %llu", prefix,
		        (unsigned long long)told_term);
	else
		notifyf(
		    "%sSTATUS=leader %llu%s, term %llu", prefix, (unsigned long long)told_leader,
		    told_leader == self_id ? " (this node)" : "", (unsigned long long)told_term);
}

void coord_notify_tick(uint64_t leader, uint64_t term, uint64_t self)
{
	if (leader == told_leader && term == told_term)
		return;
	told_leader = leader;
	told_term = term;
	self_id = self;
	status(!ready && leader != 0 ? "READY=1\n" : "");
	ready = ready || leader != 0;
}

void coord_notify_reloading(void)
{
	struct timespec ts;

	if (!ready)
		return;
	/* MONOTONIC_USEC goes with RELOADING=1 from systemd 253 on. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	notifyf("RELOADING=1\nSTATUS=reloading the certificate\nMONOTONIC_USEC=%llu",
	        (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000);
}

void coord_notify_reloaded(void)
{
	if (!ready)
		return;
	status("READY=1\n");
}

void coord_notify_stopping(void)
{
	notifyf("STOPPING=1\nSTATUS=shutting down");
}
