/* notify.h: coordd's side of systemd's service notification (sd_notify(3),
 * Type=notify in scripts/package/coordd.service). Every call does nothing
 * when coordd was not started with NOTIFY_SOCKET set, or once the socket
 * has gone: a node never depends on systemd listening. */
#ifndef COORD_NOTIFY_H
#define COORD_NOTIFY_H

#include <stdint.h>

/* Called by the loop on every tick with what the Raft core knows (LEADER 0
 * when none is known; SELF this node's id). The first time a leader is
 * known it sends READY=1, the condition GET /v1/health answers 200 on; on
 * each change of leader or term, a STATUS= line ("leader 2, term 5"). */
void coord_notify_tick(uint64_t leader, uint64_t term, uint64_t self);

/* Around a SIGHUP reload: RELOADING=1 first, READY=1 when it is done. Both
 * say nothing before the node was first ready (systemd still waits for the
 * first READY=1 then). */
void coord_notify_reloading(void);
void coord_notify_reloaded(void);

/* STOPPING=1: the node shuts down (SIGTERM, SIGINT). */
void coord_notify_stopping(void);

#endif
