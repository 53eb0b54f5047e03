/* libcoord's keeper: a thread that keeps one session alive and tracks the
 * client's own lease (lease.h). The state is computed from the clock on
 * every read, so coordc_keeper_state is right even while the thread waits
 * on a keepalive that will never be answered (a frozen cluster). */
#include "libcoord.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lease.h"

struct coordc_keeper {
	struct coordc *client; /* used by the keeper thread only */
	char path[COORDC_URL_MAX];
	coordc_lease_fn fn;
	void *arg;
	pthread_t thread;
	pthread_mutex_t mu; /* guards everything below */
	pthread_cond_t cv;
	struct coordc_lease lease;
	enum coordc_lease_state reported;
	bool stop;
};

/* Waits on k->cv until the monotonic time UNTIL_MS (or a signal). */
static void wait_until(struct coordc_keeper *k, uint64_t until_ms)
{
	struct timespec ts = {(time_t)(until_ms / 1000), (long)(until_ms % 1000) * 1000000};

	pthread_cond_timedwait(&k->cv, &k->mu, &ts);
}

/* Reports a change of state to the callback (outside the mutex). Called
 * with k->mu held; returns with it held. */
static enum coordc_lease_state report(struct coordc_keeper *k, uint64_t now)
{
	enum coordc_lease_state s = coordc_lease_state_at(&k->lease, now);

	if (s != k->reported) {
		k->reported = s;
		if (k->fn) {
			pthread_mutex_unlock(&k->mu);
			k->fn(k->arg, s);
			pthread_mutex_lock(&k->mu);
		}
	}
	return s;
}

/* The earliest of the next keepalive and the next change of state. */
static uint64_t next_wake(const struct coordc_lease *l, uint64_t now, uint64_t tried, bool failed)
{
	uint64_t deadline = coordc_lease_deadline(l);
	uint64_t next = coordc_lease_next_send(l, tried, failed);

	if (now < deadline - l->margin_ms && deadline - l->margin_ms < next)
		next = deadline - l->margin_ms;
	else if (now < deadline && deadline < next)
		next = deadline;
	return next;
}

static void *keeper_main(void *arg)
{
	struct coordc_keeper *k = arg;
	uint64_t tried = 0; /* send time of the last attempt */
	bool failed = false;

	pthread_mutex_lock(&k->mu);
	while (!k->stop) {
		uint64_t now = coordc_now_ms();
		struct coordc_reply reply;
		uint32_t timeout;

		if (report(k, now) == COORDC_LEASE_LOST) {
			/* Nothing can bring a lapsed lease back: wait for stop. */
			while (!k->stop)
				pthread_cond_wait(&k->cv, &k->mu);
			break;
		}
		if (now < coordc_lease_next_send(&k->lease, tried, failed)) {
			wait_until(k, next_wake(&k->lease, now, tried, failed));
			continue;
		}
		/* The lease may only count from the moment this is SENT. */
		tried = now;
		timeout = coordc_lease_attempt_timeout(&k->lease, now);
		pthread_mutex_unlock(&k->mu);
		coordc_call(k->client, "POST", k->path, NULL, COORDC_NO_RETRY, timeout, &reply);
		pthread_mutex_lock(&k->mu);
		failed = reply.kind != COORDC_DONE_OK;
		if (!failed)
			coordc_lease_renewed(&k->lease, now);
		else if (reply.status == 404)
			coordc_lease_end(&k->lease); /* session_not_found: it expired */
		coordc_reply_clear(&reply);
	}
	pthread_mutex_unlock(&k->mu);
	return NULL;
}

int coordc_keeper_start(const struct coordc_config *cfg, const char *session, uint32_t ttl_ms,
                        uint64_t created_sent_ms, uint32_t margin_ms, coordc_lease_fn fn, void *arg,
                        struct coordc_keeper **out)
{
	struct coordc_keeper *k;
	pthread_condattr_t ca;
	int rc;

	assert(margin_ms < ttl_ms);
	k = calloc(1, sizeof(*k));
	if (k == NULL)
		return COORDC_ERR_NOMEM;
	if (snprintf(k->path, sizeof(k->path), "/v1/sessions/%s/keepalive", session) >=
	    (int)sizeof(k->path)) {
		rc = COORDC_ERR_INVALID;
		goto fail_keeper;
	}
	rc = coordc_open(cfg, &k->client);
	if (rc != COORDC_OK)
		goto fail_keeper;
	k->fn = fn;
	k->arg = arg;
	coordc_lease_init(&k->lease, ttl_ms, margin_ms, created_sent_ms);
	k->reported = COORDC_LEASE_LIVE;
	pthread_mutex_init(&k->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&k->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&k->thread, NULL, keeper_main, k) != 0) {
		rc = COORDC_ERR_THREAD;
		goto fail_sync;
	}
	*out = k;
	return COORDC_OK;
fail_sync:
	pthread_cond_destroy(&k->cv);
	pthread_mutex_destroy(&k->mu);
	coordc_close(k->client);
fail_keeper:
	free(k);
	return rc;
}

enum coordc_lease_state coordc_keeper_state(struct coordc_keeper *k, uint64_t *deadline_ms)
{
	enum coordc_lease_state s;

	pthread_mutex_lock(&k->mu);
	s = coordc_lease_state_at(&k->lease, coordc_now_ms());
	if (deadline_ms)
		*deadline_ms = coordc_lease_deadline(&k->lease);
	pthread_mutex_unlock(&k->mu);
	return s;
}

void coordc_keeper_stop(struct coordc_keeper *k)
{
	if (k == NULL)
		return;
	pthread_mutex_lock(&k->mu);
	k->stop = true;
	pthread_cond_signal(&k->cv);
	pthread_mutex_unlock(&k->mu);
	pthread_join(k->thread, NULL);
	pthread_cond_destroy(&k->cv);
	pthread_mutex_destroy(&k->mu);
	coordc_close(k->client);
	free(k);
}
