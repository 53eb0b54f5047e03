/* The engine: many simulated clients in closed loops on one libcurl multi
 * handle, one easy handle (so one keep-alive HTTP/1.1 connection) each.
 * The multi handle is driven by its sockets (curl_multi_socket_action) on
 * one epoll set, so that a wake-up costs curl only the connections that
 * are ready, not a pass over every client's: the generator shares the
 * machine with the servers it measures, and takes as little of it as it can.
 *
 * Every client goes through three phases. SETUP creates what the workload
 * needs (sessions, leases) and must succeed for every client; in every timed
 * workload it sends at least one request, so that each client's connection,
 * and over https its TLS handshake, is made before the warm-up. RUN repeats
 * the workload's operation until the warm-up and the timed window have
 * passed; TEARDOWN closes what SETUP created, once. Only operations that complete
 * inside the timed window are counted; a failed request is tallied by kind
 * and retried after --retry (on the next endpoint with --rotate), and the
 * operation's latency then includes its retries. When the window closes,
 * operations under way may finish (uncounted) for DRAIN_US, so that a
 * session-cycle does not leave a session behind; what is still in flight
 * after that is abandoned, and teardown closes its session.
 *
 * A workload with a fixed amount of work (fill) ends a client's RUN when its
 * target has nothing left to send; the window then closes when the last
 * client is done, and the duration is only a bound. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "bench.h"

#define SETUP_DEADLINE_US   (15u * 1000000u) /* every client's setup, in all */
#define TEARDOWN_GRACE_US   (5u * 1000000u)  /* on top of one request time-out */
#define DRAIN_US            (2u * 1000000u)  /* operations under way finish after the window */
#define POLL_MAX_MS         50               /* longest sleep in epoll_wait */
#define EPOLL_BATCH         64               /* events taken per epoll_wait */
#define CONNECT_TIMEOUT_MAX 1000L            /* ms; a dead node refuses faster */

struct engine {
	const struct bench_options *o;
	const struct bench_target_ops *t;
	struct bench_result *r;
	CURLM *multi;
	int epfd;          /* the sockets curl asked to watch */
	uint64_t timer_at; /* when curl wants its timeout handled (0: never) */
	struct curl_slist *headers;
	struct bench_client *clients;
	uint64_t window_start, stop_at; /* RUN: the timed window */
	uint64_t last_success;
	int window_open, window_closed;
	int waiting; /* clients idle until their resume_us */
	struct bench_errors setup_errors;
};

static size_t on_data(char *data, size_t size, size_t nmemb, void *arg)
{
	struct bench_client *c = arg;
	size_t n = size * nmemb;
	size_t room = BENCH_REPLY_MAX - c->reply_len;
	if (n > room) {
		c->reply_truncated = 1;
	}
	size_t keep = n < room ? n : room;
	memcpy(c->reply + c->reply_len, data, keep);
	c->reply_len += keep;
	return n;
}

/* CURLMOPT_SOCKETFUNCTION: watch S for WHAT, or stop. SOCKP is non-NULL
 * once S is in the epoll set (curl_multi_assign). */
static int on_socket(CURL *easy, curl_socket_t s, int what, void *arg, void *sockp)
{
	struct engine *e = arg;
	struct epoll_event ev = {.data.fd = s};

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (sockp != NULL)
			epoll_ctl(e->epfd, EPOLL_CTL_DEL, s, NULL);
		curl_multi_assign(e->multi, s, NULL);
		return 0;
	}
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
	if (epoll_ctl(e->epfd, sockp != NULL ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s, &ev) != 0)
		return -1;
	curl_multi_assign(e->multi, s, e);
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: curl's timeout is due in MS (-1: none). */
static int on_timer(CURLM *multi, long ms, void *arg)
{
	struct engine *e = arg;

	(void)multi;
	e->timer_at = ms < 0 ? 0 : bench_now_us() + (uint64_t)ms * 1000u;
	return 0;
}

static int client_init(struct engine *e, struct bench_client *c, int id)
{
	memset(c, 0, sizeof(*c));
	c->id = id;
	c->endpoint = e->o->spread ? id % e->o->n_endpoints : 0;
	c->reply = malloc(BENCH_REPLY_MAX + 1);
	c->easy = curl_easy_init();
	if (c->reply == NULL || c->easy == NULL) {
		return BENCH_ECURL;
	}
	CURL *h = c->easy;
	long connect_ms =
	    e->o->timeout_ms < CONNECT_TIMEOUT_MAX ? e->o->timeout_ms : CONNECT_TIMEOUT_MAX;
	int bad = curl_easy_setopt(h, CURLOPT_PRIVATE, c) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_WRITEDATA, c) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_HTTPHEADER, e->headers) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms) != CURLE_OK;
	bad |= bench_tls_setopt(e->o, h) != 0;
	return bad ? BENCH_ECURL : 0;
}

/* Hands the request prepare() wrote into c->req to curl. */
static int send_request(struct engine *e, struct bench_client *c)
{
	struct bench_request *q = &c->req;
	char url[2 * BENCH_URL_MAX];
	snprintf(url, sizeof(url), "%s%s", e->o->endpoints[c->endpoint], q->path);
	CURL *h = c->easy;
	int has_body = q->body[0] != '\0';
	int bad = curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, e->o->timeout_ms + q->extra_timeout_ms) !=
	       CURLE_OK;
	if (has_body) {
		bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDS, q->body) != CURLE_OK;
		bad |=
		    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(q->body)) != CURLE_OK;
	} else {
		bad |= curl_easy_setopt(h, CURLOPT_HTTPGET, 1L) != CURLE_OK;
	}
	/* POSTFIELDS (or HTTPGET) sets the base method; any other verb rides on it. */
	const char *custom = strcmp(q->method, has_body ? "POST" : "GET") == 0 ? NULL : q->method;
	bad |= curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, custom) != CURLE_OK;
	c->reply_len = 0;
	c->reply_truncated = 0;
	c->errbuf[0] = '\0';
	if (bad || curl_multi_add_handle(e->multi, h) != CURLM_OK) {
		return BENCH_ECURL;
	}
	c->busy = 1;
	return 0;
}

static void op_completed(struct engine *e, struct bench_client *c, uint64_t now)
{
	c->in_cycle = 0;
	if (!e->window_open || now > e->stop_at) {
		return;
	}
	e->r->ops++;
	bench_hist_record(&e->r->hist, now - c->cycle_start_us);
	uint64_t gap = now - e->last_success;
	if (gap > e->r->max_gap_us) {
		e->r->max_gap_us = gap;
	}
	e->last_success = now;
}

/* Starts CLIENT's next request, or marks it done. In RUN a finished
 * sequence is one operation; the next one starts at once (a closed loop). */
static int advance(struct engine *e, struct bench_client *c)
{
	for (;;) {
		uint64_t now = bench_now_us();
		if (c->phase == BENCH_RUN && now >= e->stop_at && !c->in_cycle) {
			c->done = 1;
			return 0;
		}
		if (c->phase == BENCH_RUN && c->step == 0 && !c->in_cycle) {
			c->in_cycle = 1;
			c->cycle_start_us = now;
		}
		memset(&c->req, 0, sizeof(c->req));
		int next = e->t->prepare(e->o, c, &c->req);
		if (next > 0) {
			return send_request(e, c);
		}
		if (next < 0 || c->phase != BENCH_RUN) {
			c->in_cycle = 0;
			c->done = 1;
			return 0;
		}
		op_completed(e, c, now);
		c->step = 0;
	}
}

static void transport_kind(CURLcode res, char *kind)
{
	const char *k = NULL;
	switch (res) {
	case CURLE_OPERATION_TIMEDOUT:
		k = "transport_timeout";
		break;
	case CURLE_COULDNT_CONNECT:
		k = "transport_connect";
		break;
	case CURLE_GOT_NOTHING:
		k = "transport_empty_reply";
		break;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
		k = "transport_reset";
		break;
	default:
		break;
	}
	if (k != NULL) {
		snprintf(kind, BENCH_ERROR_KIND_MAX, "%s", k);
	} else {
		snprintf(kind, BENCH_ERROR_KIND_MAX, "transport_curl_%d", (int)res);
	}
}

static void failed(struct engine *e, struct bench_client *c, const char *kind, uint64_t now)
{
	if (c->phase == BENCH_SETUP) {
		bench_errors_add(&e->setup_errors, kind);
	} else if (c->phase == BENCH_TEARDOWN) {
		/* Clean-up is tried once: the server expires what is left. */
		bench_errors_add(&e->r->teardown_errors, kind);
		c->step++;
	} else if (e->window_open && now <= e->stop_at) {
		bench_errors_add(&e->r->errors, kind);
	}
	if (e->o->rotate) {
		c->endpoint = (c->endpoint + 1) % e->o->n_endpoints;
	}
	c->resume_us = now + (uint64_t)e->o->retry_ms * 1000u;
	e->waiting++;
}

static int on_done(struct engine *e, struct bench_client *c, CURLcode res)
{
	curl_multi_remove_handle(e->multi, c->easy);
	c->busy = 0;
	c->reply[c->reply_len] = '\0';
	uint64_t now = bench_now_us();
	long connects = 0;
	if (e->window_open && now <= e->stop_at &&
	    curl_easy_getinfo(c->easy, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK) {
		e->r->connects += (uint64_t)connects;
	}
	char kind[BENCH_ERROR_KIND_MAX];
	if (res != CURLE_OK) {
		transport_kind(res, kind);
	} else if (c->reply_truncated) {
		snprintf(kind, sizeof(kind), "reply_too_large");
	} else {
		long status = 0;
		curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
		if (e->t->check(e->o, c, status, c->reply, kind) == 0) {
			c->step++;
			return advance(e, c);
		}
	}
	failed(e, c, kind, now);
	return 0;
}

/* Clients whose pause after an error has ended try their step again. */
static int resume_waiting(struct engine *e, uint64_t now)
{
	for (int i = 0; i < e->o->clients && e->waiting > 0; i++) {
		struct bench_client *c = &e->clients[i];
		if (c->busy || c->done || c->resume_us == 0 || c->resume_us > now) {
			continue;
		}
		c->resume_us = 0;
		e->waiting--;
		int rc = advance(e, c);
		if (rc != 0) {
			return rc;
		}
	}
	return 0;
}

static int pending(const struct engine *e)
{
	for (int i = 0; i < e->o->clients; i++) {
		if (!e->clients[i].done) {
			return 1;
		}
	}
	return 0;
}

/* Drives every client through PHASE until all are done or DEADLINE. */
static int run_phase(struct engine *e, enum bench_phase phase, uint64_t deadline)
{
	e->waiting = 0;
	for (int i = 0; i < e->o->clients; i++) {
		struct bench_client *c = &e->clients[i];
		c->phase = phase;
		c->step = 0;
		c->done = 0;
		c->in_cycle = 0;
		c->resume_us = 0;
		int rc = advance(e, c);
		if (rc != 0) {
			return rc;
		}
	}
	while (pending(e)) {
		uint64_t now = bench_now_us();
		if (phase == BENCH_RUN && !e->window_open && now >= e->window_start) {
			e->window_open = 1;
			e->last_success = now;
			bench_window_mark(e->o, e->r, 0);
		}
		if (e->window_open && !e->window_closed && now >= e->stop_at) {
			e->window_closed = 1;
			bench_window_mark(e->o, e->r, 1);
		}
		if (now >= deadline) {
			break;
		}
		int rc = resume_waiting(e, now);
		if (rc != 0) {
			return rc;
		}
		int running = 0;
		if (e->timer_at != 0 && now >= e->timer_at) {
			e->timer_at = 0;
			curl_multi_socket_action(e->multi, CURL_SOCKET_TIMEOUT, 0, &running);
		}
		CURLMsg *m;
		int queued;
		while ((m = curl_multi_info_read(e->multi, &queued)) != NULL) {
			if (m->msg != CURLMSG_DONE) {
				continue;
			}
			struct bench_client *c = NULL;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
			rc = on_done(e, c, m->data.result);
			if (rc != 0) {
				return rc;
			}
		}
		/* Wake for the window's edges too, so its snapshots are on time. */
		uint64_t edge = deadline;
		if (phase == BENCH_RUN && !e->window_closed) {
			edge = e->window_open ? e->stop_at : e->window_start;
		}
		if (e->timer_at != 0 && e->timer_at < edge) {
			edge = e->timer_at;
		}
		now = bench_now_us();
		uint64_t left_ms = edge > now ? (edge - now + 999u) / 1000u : 0;
		int wait_ms = e->waiting > 0 ? 1 : POLL_MAX_MS;
		if ((uint64_t)wait_ms > left_ms) {
			wait_ms = (int)left_ms;
		}
		struct epoll_event ev[EPOLL_BATCH];
		int n = epoll_wait(e->epfd, ev, EPOLL_BATCH, wait_ms);
		for (int i = 0; i < n; i++) {
			int flags = (ev[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
			            (ev[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
			            (ev[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
			curl_multi_socket_action(e->multi, ev[i].data.fd, flags, &running);
		}
	}
	/* Whatever is still in flight is abandoned: its connection is closed. */
	for (int i = 0; i < e->o->clients; i++) {
		struct bench_client *c = &e->clients[i];
		if (c->busy) {
			curl_multi_remove_handle(e->multi, c->easy);
			c->busy = 0;
		}
		c->done = 1;
	}
	return 0;
}

static void setup_message(const struct engine *e, char *errmsg, size_t errlen)
{
	int n = 0;
	for (int i = 0; i < e->o->clients; i++) {
		n += e->clients[i].session[0] == '\0';
	}
	int len = snprintf(errmsg, errlen, "%d of %d clients not set up;", n, e->o->clients);
	for (int i = 0; i < e->setup_errors.n && len > 0 && (size_t)len < errlen; i++) {
		len +=
		    snprintf(errmsg + len, errlen - (size_t)len, " %s=%llu",
		             e->setup_errors.kind[i], (unsigned long long)e->setup_errors.count[i]);
	}
}

int bench_is_kv(int workload)
{
	return workload == BENCH_KV_PUT || workload == BENCH_KV_GET ||
	       workload == BENCH_KV_GET_STALE || workload == BENCH_KV_CAS;
}

/* Whether each client of WORKLOAD opens a session (a lease) in setup. */
static int needs_session(int workload)
{
	return workload != BENCH_SESSION_CYCLE && workload != BENCH_FILL && !bench_is_kv(workload);
}

/* Whether client C finished its setup: a session, or its key written. */
static int set_up_done(int workload, const struct bench_client *c)
{
	if (bench_is_kv(workload))
		return c->key[0] != '\0';
	return c->session[0] != '\0' || !needs_session(workload);
}

static int run_all(struct engine *e, char *errmsg, size_t errlen)
{
	const struct bench_options *o = e->o;
	for (int i = 0; i < o->clients; i++) {
		if (client_init(e, &e->clients[i], i) != 0) {
			snprintf(errmsg, errlen, "cannot create client %d", i);
			return BENCH_ECURL;
		}
	}
	int rc = run_phase(e, BENCH_SETUP, bench_now_us() + SETUP_DEADLINE_US);
	int set_up = rc == 0;
	for (int i = 0; i < o->clients && set_up; i++) {
		/* A client that finished setup has a session (or its key). */
		set_up = set_up_done(o->workload, &e->clients[i]);
	}
	if (rc == 0 && set_up) {
		uint64_t start = bench_now_us();
		e->window_start = start + (uint64_t)o->warmup_ms * 1000u;
		e->stop_at = e->window_start + (uint64_t)o->duration_ms * 1000u;
		rc = run_phase(e, BENCH_RUN, e->stop_at + DRAIN_US);
		/* A timed workload's clients stop at stop_at; a fill's may all be
		 * done sooner, and its window ends then. */
		uint64_t end = bench_now_us();
		if (end > e->stop_at) {
			end = e->stop_at;
		}
		if (e->window_open && !e->window_closed) {
			bench_window_mark(e->o, e->r, 1);
		}
		if (e->window_open) {
			uint64_t tail = end - e->last_success;
			if (tail > e->r->max_gap_us) {
				e->r->max_gap_us = tail;
			}
		}
		e->r->elapsed_s =
		    e->window_open ? (double)(end - e->window_start) / 1000000.0 : 0.0;
	} else if (rc == 0) {
		setup_message(e, errmsg, errlen);
		rc = BENCH_ESETUP;
	}
	/* Teardown runs even after a failed setup: close what was created. */
	uint64_t grace = (uint64_t)o->timeout_ms * 1000u + TEARDOWN_GRACE_US;
	int rc2 = run_phase(e, BENCH_TEARDOWN, bench_now_us() + grace);
	return rc != 0 ? rc : rc2;
}

int bench_run(const struct bench_options *o, const struct bench_target_ops *t,
              struct bench_result *r, char *errmsg, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	struct engine e = {.o = o, .t = t, .r = r};
	int rc = BENCH_ECURL;
	snprintf(errmsg, errlen, "libcurl could not start");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		return rc;
	}
	e.multi = curl_multi_init();
	e.epfd = epoll_create1(EPOLL_CLOEXEC);
	e.clients = calloc((size_t)o->clients, sizeof(*e.clients));
	/* An empty "Expect:" stops curl from waiting for 100-continue. */
	e.headers = curl_slist_append(NULL, "Content-Type: application/json");
	e.headers = curl_slist_append(e.headers, "Expect:");
	if (o->auth_header[0] != '\0' && e.headers != NULL) {
		struct curl_slist *with = curl_slist_append(e.headers, o->auth_header);
		if (with == NULL) {
			curl_slist_free_all(e.headers);
		}
		e.headers = with;
	}
	if (e.multi != NULL && e.epfd >= 0 && e.clients != NULL && e.headers != NULL) {
		curl_multi_setopt(e.multi, CURLMOPT_MAXCONNECTS, (long)(2 * o->clients + 8));
		curl_multi_setopt(e.multi, CURLMOPT_SOCKETFUNCTION, on_socket);
		curl_multi_setopt(e.multi, CURLMOPT_SOCKETDATA, &e);
		curl_multi_setopt(e.multi, CURLMOPT_TIMERFUNCTION, on_timer);
		curl_multi_setopt(e.multi, CURLMOPT_TIMERDATA, &e);
		errmsg[0] = '\0';
		rc = run_all(&e, errmsg, errlen);
	}
	for (int i = 0; e.clients != NULL && i < o->clients; i++) {
		r->made_sessions += e.clients[i].made_sessions;
		r->made_locks += e.clients[i].made_locks;
		if (e.clients[i].easy != NULL) {
			curl_easy_cleanup(e.clients[i].easy);
		}
		free(e.clients[i].reply);
	}
	free(e.clients);
	curl_slist_free_all(e.headers);
	if (e.multi != NULL) {
		curl_multi_cleanup(e.multi);
	}
	if (e.epfd >= 0) {
		close(e.epfd);
	}
	curl_global_cleanup();
	return rc;
}
