/* systemd's service notification through libsystemd's sd_notify(), which
 * does nothing without NOTIFY_SOCKET. The state is the process's: coordd
 * runs one node, and only the loop's thread calls these. */
#include "notify.h"

#include <stdbool.h>
#include <time.h>

#include <systemd/sd-daemon.h>

static bool ready;           /* READY=1 was sent */
static uint64_t told_leader; /* what the last STATUS= said */
static uint64_t told_term;
static uint64_t self_id;

/* The STATUS= line of what was last told, after PREFIX ("" or lines). */
static void status(const char *prefix)
{
	if (told_leader == 0)
		sd_notifyf(0, "%sSTATUS=no leader known, term %llu", prefix,
		           (unsigned long long)told_term);
	else
		sd_notifyf(
		    0, "%sSTATUS=leader %llu%s, term %llu", prefix, (unsigned long long)told_leader,
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
	sd_notifyf(0, "RELOADING=1\nSTATUS=reloading the certificate\nMONOTONIC_USEC=%llu",
	           (unsigned long long)ts.tv_sec * 1000000ull +
	               (unsigned long long)ts.tv_nsec / 1000);
}

void coord_notify_reloaded(void)
{
	if (!ready)
		return;
	status("READY=1\n");
}

void coord_notify_stopping(void)
{
	sd_notify(0, "STOPPING=1\nSTATUS=shutting down");
}
