/* coordd's environment (node_env.h): libuv's clock, work queue and async
 * handle, the kernel's wall clock and getrandom. */
#include "node_env.h"

#include <sys/random.h>
#include <time.h>

#include "node_core.h"

uint64_t node_now_ms(void)
{
	return uv_hrtime() / 1000000u;
}

uint64_t node_now_us(void)
{
	return uv_hrtime() / 1000u;
}

uint64_t node_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

bool node_random(void *buf, size_t len)
{
	return getrandom(buf, len, 0) == (ssize_t)len;
}

void node_queue_job(struct node *n, uv_work_t *w, uv_work_cb work, uv_after_work_cb done,
                    const char *what)
{
	w->data = n;
	if (uv_queue_work(&n->loop, w, work, done) != 0)
		node_fatal(n, what, "cannot queue work");
}

void node_wake(struct node *n)
{
	uv_async_send(&n->wake);
}
