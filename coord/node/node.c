/* The node on libuv: its timers, signals, loop turns and background jobs,
 * the peer transport and the HTTP front on the loop's thread, around the
 * node's life (node_life.h); and a clean shutdown on SIGTERM or SIGINT. */
#include "node.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "node_core.h"
#include "node_dispatch.h"
#include "node_life.h"
#include "node_ready.h"
#include "node_stale.h"
#include "notify.h"
#include "peer_tls.h"
#include "tls.h"

/* Timers and signals ------------------------------------------------------------ */

static void stop_now(struct node *n);
static void node_http_run(struct node *n, bool if_answered);

static void on_tick(uv_timer_t *t)
{
	struct node *n = t->data;

	if (node_tick(n))
		return stop_now(n);
	if (n->http && ++n->http_run_ticks * NODE_TICK_MS >= HTTP_RUN_EVERY_MS) {
		n->http_run_ticks = 0;
		node_http_run(n, false); /* its idle time-outs */
	}
	coord_notify_tick(raft_leader(n->raft), raft_term(n->raft), n->cfg.id);
}

/* node_wake(): the next turn comes at once, and its end drives the core. */
static void on_wake(uv_async_t *a)
{
	node_take_inbox(a->data);
}

/* The end of each turn of the loop: the core's outputs, then the answers of
 * this turn leave. */
static void on_turn_end(uv_check_t *h)
{
	struct node *n = h->data;

	node_turn_end(n);
	node_http_run(n, true);
}

static void closed_cb(uv_handle_t *h)
{
	(void)h;
}

static void transport_stopped(void *ctx)
{
	struct node *n = ctx;

	uv_close((uv_handle_t *)&n->tick, closed_cb);
	uv_close((uv_handle_t *)&n->wake, closed_cb);
	uv_close((uv_handle_t *)&n->drive, closed_cb);
	uv_close((uv_handle_t *)&n->sigint, closed_cb);
	uv_close((uv_handle_t *)&n->sigterm, closed_cb);
	uv_close((uv_handle_t *)&n->sighup, closed_cb);
}

/* SIGHUP, on the loop: new handshakes use the certificate and key read now;
 * open connections and the node go on. A file that does not load keeps the
 * old ones, in one log line. */
static void on_sighup(uv_signal_t *s, int signum)
{
	struct node *n = s->data;
	char err[HTTP_TLS_ERR_MAX];

	(void)signum;
	coord_notify_reloading();
	if (!n->tls)
		LOG_INFO("SIGHUP: no --tls-cert to reload");
	else if (http_tls_reload(n->tls, err) != HTTP_TLS_OK)
		LOG_WARN("SIGHUP: kept the previous certificate: %s", err);
	else
		LOG_INFO("SIGHUP: reloaded %s and %s for new connections", n->cfg.tls_cert,
		         n->cfg.tls_key);
	coord_notify_reloaded();
}

static void on_signal(uv_signal_t *s, int signum)
{
	struct node *n = s->data;

	if (n->stopping)
		return;
	/* A second signal during the hand-off stops at once. */
	if (signum == SIGTERM && !n->handoff_until_ms && node_handoff_start(n))
		return;
	LOG_INFO("signal %d: shutting down", signum);
	stop_now(n);
}

static void stop_now(struct node *n)
{
	coord_notify_stopping();
	node_stop_calls(n);
	http_server_run(n->http); /* the answers just given leave before it stops */
	uv_poll_stop(&n->http_poll);
	uv_close((uv_handle_t *)&n->http_poll, NULL);
	uv_idle_stop(&n->http_more);
	uv_close((uv_handle_t *)&n->http_more, NULL);
	http_server_stop(n->http);
	n->http = NULL;
	uv_timer_stop(&n->tick);
	transport_stop(n->transport, transport_stopped, n);
}

/* The HTTP front's descriptor is readable: a request, or a connection to
 * serve. */
static void on_http(uv_poll_t *p, int status, int events)
{
	struct node *n = p->data;

	(void)status;
	(void)events;
	node_http_run(n, false);
}

static void on_http_more(uv_idle_t *h)
{
	node_http_run(h->data, false);
}

/* One run of the HTTP front on the loop (server.h, external), or none when
 * IF_ANSWERED and no call was answered since the last: then the calls it
 * handed over are taken at once, and if it has work left that its
 * descriptor does not show, it runs again on the next turn. */
static void node_http_run(struct node *n, bool if_answered)
{
	bool more;

	if (!n->http || (if_answered && !http_server_answered(n->http)))
		return;
	more = http_server_run(n->http);
	if (n->inbox_n) /* the calls this run handed over */
		node_take_inbox(n);
	/* Called before the loop polls (a run from the idle handle or the
	 * tick), the calls taken must not wait for the poll's time-out to be
	 * driven: an active idle handle makes that poll return at once. */
	if (more || n->dirty)
		uv_idle_start(&n->http_more, on_http_more);
	else
		uv_idle_stop(&n->http_more);
}

static void http_log(void *ctx, const char *line)
{
	(void)ctx;
	LOG_INFO("%s", line);
}

static void transport_log(void *ctx, const char *line)
{
	(void)ctx;
	LOG_INFO("%s", line);
}

static int start_io(struct node *n)
{
	struct transport_config tc;
	struct http_server_config hc = {
	    .listen_addr = n->cfg.http,
	    .serve = node_serve_stale,
	    .submit = node_submit,
	    .ctx = n,
	    .log = http_log,
	    .tls = n->tls,
	    .external = true,
	};
	int rc;

	node_transport_config(n, &tc);
	tc.log = transport_log;
	if ((rc = transport_start(&n->loop, &tc, &n->transport)) != TRANSPORT_OK) {
		LOG_ERROR("cannot listen for peers on %s: %s", n->cfg.raft, transport_strerror(rc));
		return -1;
	}
	node_peers_start(n);
	uv_async_init(&n->loop, &n->wake, on_wake);
	n->wake.data = n;
	uv_check_init(&n->loop, &n->drive);
	n->drive.data = n;
	uv_check_start(&n->drive, on_turn_end);
	if (http_server_start(&hc, &n->http) != HTTP_SERVER_OK) {
		LOG_ERROR("cannot listen for HTTP on %s (port in use?)", n->cfg.http);
		return -1;
	}
	if (uv_poll_init(&n->loop, &n->http_poll, http_server_fd(n->http)) != 0) {
		LOG_ERROR("cannot poll the HTTP front");
		return -1;
	}
	n->http_poll.data = n;
	uv_poll_start(&n->http_poll, UV_READABLE, on_http);
	uv_idle_init(&n->loop, &n->http_more);
	n->http_more.data = n;
	uv_timer_init(&n->loop, &n->tick);
	n->tick.data = n;
	uv_timer_start(&n->tick, on_tick, NODE_TICK_MS, NODE_TICK_MS);
	uv_signal_init(&n->loop, &n->sigint);
	uv_signal_init(&n->loop, &n->sigterm);
	n->sigint.data = n->sigterm.data = n;
	uv_signal_start(&n->sigint, on_signal, SIGINT);
	uv_signal_start(&n->sigterm, on_signal, SIGTERM);
	uv_signal_init(&n->loop, &n->sighup);
	n->sighup.data = n;
	uv_signal_start(&n->sighup, on_sighup, SIGHUP);
	return 0;
}

/* Refuses early, before the data folder is touched, when a port is taken. */
static bool port_free(const char *addr)
{
	struct sockaddr_storage sa;
	char host[COORD_CONFIG_ADDR_MAX];
	const char *colon = strrchr(addr, ':');
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	int fd, one = 1;
	bool ok;

	snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
	if (host[0] == '[') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	if (getaddrinfo(host, colon + 1, &hints, &res) != 0 || !res)
		return true; /* the listener reports the address itself */
	memcpy(&sa, res->ai_addr, res->ai_addrlen);
	fd = socket(res->ai_family, SOCK_STREAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ok = fd >= 0 && bind(fd, (struct sockaddr *)&sa, res->ai_addrlen) == 0;
	if (fd >= 0)
		close(fd);
	freeaddrinfo(res);
	return ok;
}

int coord_node_run(const struct coord_config *cfg)
{
	struct node *n = calloc(1, sizeof(*n));
	int rc = 1;

	if (!n)
		return 1;
	uv_loop_init(&n->loop);
	if (cfg->tls_cert[0]) { /* before the data folder is touched */
		char err[HTTP_TLS_ERR_MAX];

		if (http_tls_open(cfg->tls_cert, cfg->tls_key,
		                  cfg->tls_client_ca[0] ? cfg->tls_client_ca : NULL, &n->tls,
		                  err) != HTTP_TLS_OK) {
			LOG_ERROR("cannot serve HTTPS: %s", err);
			goto out;
		}
	}
	if (cfg->peer_cert[0]) {
		char err[PEER_TLS_ERR_MAX];

		if (peer_tls_creds_load(cfg->peer_cert, cfg->peer_key, cfg->peer_ca, &n->peer_tls,
		                        err) != PEER_TLS_OK) {
			LOG_ERROR("cannot use peer TLS: %s", err);
			goto out;
		}
	}
	if (!port_free(cfg->http) || !port_free(cfg->raft)) {
		LOG_ERROR("cannot listen on %s: the %s port is in use",
		          port_free(cfg->http) ? cfg->raft : cfg->http,
		          port_free(cfg->http) ? "Raft" : "HTTP");
		goto out;
	}
	if (node_open(n, cfg) != 0 || start_io(n) != 0)
		goto out;
	LOG_INFO("coordd %llu serving: %s %s, raft %s%s", (unsigned long long)cfg->id,
	         n->tls ? "https" : "http", cfg->http, cfg->raft, n->peer_tls ? " (TLS)" : "");
	node_drive(n);
	uv_run(&n->loop, UV_RUN_DEFAULT);
	LOG_INFO("stopped cleanly");
	rc = 0;
out:
	if (rc != 0) {
		/* Refusing to start: the process exits next, which releases
		 * everything, including the data folder's lock. */
		if (n->http)
			http_server_stop(n->http);
		node_stale_stop(n);
		http_tls_free(n->tls);
		peer_tls_creds_free(n->peer_tls);
		return rc;
	}
	node_close(n);
	uv_loop_close(&n->loop);
	http_tls_free(n->tls);            /* the server stopped in on_signal() */
	peer_tls_creds_free(n->peer_tls); /* the transport is freed */
	free(n);
	return rc;
}
