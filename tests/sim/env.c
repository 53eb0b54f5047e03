/* env.c: node_env.h in the simulated world. Each node's clock runs at its
 * own rate from its own base (never back); randomness comes from the seed;
 * a background job's work and done run together when its event comes, a
 * valid interleaving of a pool thread with the loop. */
#include <assert.h>
#include <stdlib.h>

#include "node_env.h"
#include "node_internal.h"
#include "rt.h"

struct rt_job {
	struct node *n;
	uv_work_t *w;
	uv_work_cb work;
	uv_after_work_cb done;
};

static struct rt_node *current(void)
{
	assert(rt_w && rt_w->current >= 0);
	return &rt_w->nodes[rt_w->current];
}

uint64_t node_now_us(void)
{
	struct rt_node *rn = current();
	uint64_t us = rn->clock_base_us + (uint64_t)((double)rt_w->now_us * rn->rate);

	if (us < rn->last_clock_us)
		us = rn->last_clock_us;
	rn->last_clock_us = us;
	return us;
}

uint64_t node_now_ms(void)
{
	return node_now_us() / 1000u;
}

/* Its wall clock, which may step (clock.c). */
uint64_t node_wall_ms(void)
{
	return rt_wall_ms(rt_w, rt_w->current);
}

bool node_random(void *buf, size_t len)
{
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)sim_rand(&rt_w->rng);
	return true;
}

void node_queue_job(struct node *n, uv_work_t *w, uv_work_cb work, uv_after_work_cb done,
                    const char *what)
{
	struct rt_job *j = malloc(sizeof(*j));

	(void)what;
	assert(j);
	w->data = n;
	*j = (struct rt_job){n, w, work, done};
	current()->jobs++;
	/* A pool thread takes 0.1 to 20 ms. */
	rt_push(rt_w, rt_w->now_us + 100 + sim_below(&rt_w->rng, 20000), RT_EV_JOB, rt_w->current,
	        j, 0);
}

void node_wake(struct node *n)
{
	(void)n;
	current()->wake = true;
}

void rt_job_run(struct rt_world *w, struct rt_event *ev)
{
	struct rt_job *j = ev->ptr;
	struct rt_node *rn = &w->nodes[ev->node];

	if (ev->gen == rn->gen && rn->up) {
		j->work(j->w);
		rn->jobs--;
		j->done(j->w, 0);
	}
	free(j);
}
