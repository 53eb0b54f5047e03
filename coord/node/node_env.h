/* node_env.h: what the node runtime takes from the world outside it, besides
 * its peers (transport.h) and its clients (server.h, the call functions):
 * clocks, randomness, background jobs and the next turn of its loop.
 *
 * These are seams, bound at link time. coordd links node_env.c (libuv,
 * the kernel's clocks and getrandom); the runtime simulator links its own
 * (tests/sim/), which gives each node a simulated clock, seeded
 * randomness and jobs that run when the simulation says, so that the
 * runtime's code runs unchanged under a deterministic world.
 *
 * Contract of an implementation:
 *  - node_now_ms/us never go backwards (a simulated node's clock may run
 *    fast or slow, as a real one does, never back);
 *  - a queued job's WORK runs once, off the loop or at a later point of
 *    the simulation, and its DONE runs once after it, on the loop; the
 *    loop does not end while a job's DONE has not run;
 *  - node_wake(n) makes the loop's next turn come without waiting for an
 *    event.
 */
#ifndef COORD_NODE_ENV_H
#define COORD_NODE_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

struct node;

uint64_t node_now_ms(void);  /* monotonic */
uint64_t node_now_us(void);  /* monotonic, for latency figures */
uint64_t node_wall_ms(void); /* wall clock: logs, seeds, a founding cluster's first stamp */

/* Fills BUF with LEN random bytes (ids, seeds); false when none could be
 * drawn. Secrets are not drawn here (api_tokens.c uses GnuTLS's). */
bool node_random(void *buf, size_t len);

/* Runs WORK off the loop and DONE back on it (W->data is N); the node's
 * background jobs (snapshots, installs, checkpoints, pruning) all start
 * here. Fail-stop when the job cannot be queued. */
void node_queue_job(struct node *n, uv_work_t *w, uv_work_cb work, uv_after_work_cb done,
                    const char *what);

/* The loop's next turn comes at once. */
void node_wake(struct node *n);

#endif
