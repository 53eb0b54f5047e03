/* The HTTP server: libmicrohttpd glue, body collection with its limit,
 * suspend/resume, and the encoding of answers. See server.h for the
 * contract; per-request state lives in struct http_call and is freed when
 * MHD reports the request completed. */
#include "server.h"

#include <assert.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "tls.h"

enum call_state {
	CALL_READING,   /* collecting the body */
	CALL_SUBMITTED, /* suspended, owned by the node */
	CALL_ANSWERED,  /* the answer is ready to be queued */
	CALL_SENT       /* queued to MHD */
};

struct http_call {
	struct http_server *s;
	struct MHD_Connection *conn;
	enum call_state state;
	bool too_large;
	char *body;
	size_t body_len, body_cap;
	struct http_request req;
	bool have_req;
	char *target; /* path?query, for redirects and forwarding */
	/* The answer. */
	unsigned status;
	char *resp;
	size_t resp_len;
	int resp_fd;           /* a file answer (http_call_answer_file), or -1 */
	uint64_t resp_fd_size; /* its bytes */
	char crc_header[9];    /* X-Coord-Crc32c of a file answer, or "" */
	const char *content_type;
	const char *csp; /* a page's Content-Security-Policy (borrowed), or NULL */
	struct http_meta meta;
	char allow[HTTP_ALLOW_MAX]; /* a 405's Allow header, or "" */
};

struct http_server {
	struct MHD_Daemon *mhd;
	struct http_server_config cfg;
	struct http_server_stats stats;
	bool answered; /* external: a call was answered since the last run */
};

static void slog(struct http_server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void slog(struct http_server *s, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	if (!s->cfg.log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	s->cfg.log(s->cfg.ctx, line);
}

const struct http_request *http_call_request(const struct http_call *call)
{
	return &call->req;
}

const char *http_call_target(const struct http_call *call)
{
	return call->target ? call->target : "/";
}

struct http_original http_call_original(const struct http_call *call)
{
	struct http_original o = {http_op_info(call->req.op)->method, http_call_target(call),
	                          call->req.body, call->req.body_len};

	return o;
}

bool http_call_client_gone(const struct http_call *call)
{
	const union MHD_ConnectionInfo *info =
	    MHD_get_connection_info(call->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	char b;
	ssize_t n;

	if (!info)
		return false;
	n = recv(info->connect_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* Answers --------------------------------------------------------------------- */

static void stat_add(uint64_t *counter)
{
	__atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

/* Stores the answer and, if the node owned the call, resumes it. */
static void set_answer(struct http_call *call, unsigned status, char *text, size_t len,
                       const char *type, const struct http_meta *meta)
{
	bool resume = call->state == CALL_SUBMITTED;

	call->status = status;
	call->resp = text;
	call->resp_len = len;
	call->content_type = type;
	if (meta)
		call->meta = *meta;
	call->state = CALL_ANSWERED;
	if (resume) {
		/* Before the resume: from then on MHD may free CALL. */
		__atomic_store_n(&call->s->answered, true, __ATOMIC_RELAXED); /* external mode's */
		MHD_resume_connection(call->conn);
	}
}

static char *dump_json(json_t *body, bool pretty, size_t *len)
{
	char *text = json_dumps(body, pretty ? JSON_INDENT(2) | JSON_PRESERVE_ORDER
	                                     : JSON_COMPACT | JSON_PRESERVE_ORDER);
	char *out;

	if (!text)
		return NULL;
	*len = strlen(text);
	out = realloc(text, *len + 2);
	if (!out) {
		free(text);
		return NULL;
	}
	out[(*len)++] = '\n';
	out[*len] = '\0';
	return out;
}

void http_call_answer(struct http_call *call, unsigned status, json_t *body,
                      const struct http_meta *meta)
{
	size_t len = 0;
	char *text = NULL;

	if (body) {
		text = dump_json(body, call->req.pretty, &len);
		json_decref(body);
		if (!text) {
			status = 503;
			len = 0;
		}
	}
	set_answer(call, status, text, len, "application/json", meta);
}

void http_call_answer_error(struct http_call *call, const struct http_err *err, json_t *details,
                            const struct http_meta *meta)
{
	json_t *body = http_error_json_details(err, details);

	http_call_answer(call, http_error_status(err->code), body, meta);
}

void http_call_answer_raw(struct http_call *call, unsigned status, const char *body, size_t len,
                          const struct http_meta *meta)
{
	char *copy = malloc(len + 2);

	if (copy) {
		memcpy(copy, body, len);
		if (len)
			copy[len++] = '\n';
		copy[len] = '\0';
	}
	set_answer(call, copy ? status : 503, copy, copy ? len : 0, "application/json", meta);
}

void http_call_answer_text(struct http_call *call, unsigned status, const char *text,
                           const struct http_meta *meta)
{
	size_t len = strlen(text);
	char *copy = malloc(len + 1);

	if (copy)
		memcpy(copy, text, len + 1);
	set_answer(call, copy ? status : 503, copy, copy ? len : 0, "text/plain; version=0.0.4",
	           meta);
}

void http_call_answer_html(struct http_call *call, const char *html, size_t len, const char *csp,
                           const struct http_meta *meta)
{
	char *copy = malloc(len + 1);

	if (copy) {
		memcpy(copy, html, len);
		copy[len] = '\0';
		call->csp = csp;
	}
	set_answer(call, copy ? 200 : 503, copy, copy ? len : 0,
	           copy ? "text/html; charset=utf-8" : "application/json", meta);
}

void http_call_answer_file(struct http_call *call, int fd, uint64_t size, uint32_t crc32c,
                           const struct http_meta *meta)
{
	call->resp_fd = fd;
	call->resp_fd_size = size;
	snprintf(call->crc_header, sizeof(call->crc_header), "%08x", crc32c);
	set_answer(call, 200, NULL, 0, "application/octet-stream", meta);
}

static void add_u64_header(struct MHD_Response *r, const char *name, uint64_t v, bool empty_if_0)
{
	char buf[24];

	if (empty_if_0 && v == 0)
		buf[0] = '\0';
	else
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	MHD_add_response_header(r, name, buf);
}

static enum MHD_Result queue_answer(struct http_call *call)
{
	struct MHD_Response *r;
	enum MHD_Result ok;
	const struct http_meta *m = &call->meta;

	if (call->resp_fd >= 0) {
		r = MHD_create_response_from_fd64(call->resp_fd_size, call->resp_fd);
		if (!r)
			return MHD_NO;
		call->resp_fd = -1; /* MHD closes it now */
		MHD_add_response_header(r, "X-Coord-Crc32c", call->crc_header);
	} else {
		r = MHD_create_response_from_buffer(call->resp_len, call->resp,
		                                    MHD_RESPMEM_MUST_FREE);
		if (!r)
			return MHD_NO;
		call->resp = NULL; /* MHD frees it now */
	}
	MHD_add_response_header(r, "Content-Type", call->content_type);
	add_u64_header(r, "X-Coord-Index", m->index, false);
	add_u64_header(r, "X-Coord-Term", m->term, false);
	add_u64_header(r, "X-Coord-Leader", m->leader, true);
	if (m->has_last_contact)
		add_u64_header(r, "X-Coord-Last-Contact", m->last_contact_ms, false);
	if (m->retry_after_s)
		add_u64_header(r, "Retry-After", m->retry_after_s, false);
	if (m->location[0])
		MHD_add_response_header(r, "Location", m->location);
	if (call->allow[0])
		MHD_add_response_header(r, "Allow", call->allow);
	if (call->csp) {
		MHD_add_response_header(r, "Content-Security-Policy", call->csp);
		MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
		MHD_add_response_header(r, "X-Frame-Options", "DENY");
	}
	ok = MHD_queue_response(call->conn, call->status, r);
	MHD_destroy_response(r);
	call->state = CALL_SENT;
	if (call->status >= 100 && call->status < 600)
		stat_add(&call->s->stats.by_status[call->status / 100]);
	return ok;
}

/* Answers at once, without the node: decoding errors and limits. */
static enum MHD_Result answer_now(struct http_call *call, const struct http_err *err)
{
	struct http_meta meta = {0};

	if (err->code == HTTP_ERR_NO_LEADER || err->code == HTTP_ERR_UNAVAILABLE)
		meta.retry_after_s = 1;
	stat_add(&call->s->stats.refused_early);
	http_call_answer_error(call, err, NULL, &meta);
	return queue_answer(call);
}

/* Requests -------------------------------------------------------------------- */

struct query_acc {
	struct http_query q[HTTP_QUERY_MAX + 1];
	size_t n;
};

static enum MHD_Result query_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
	struct query_acc *acc = cls;

	(void)kind;
	if (acc->n == sizeof(acc->q) / sizeof(acc->q[0]))
		return MHD_NO; /* one past the limit is enough for the decoder to refuse */
	acc->q[acc->n].key = key;
	acc->q[acc->n].value = value;
	acc->n++;
	return MHD_YES;
}

static bool body_append(struct http_call *call, const char *data, size_t len)
{
	if (call->too_large || call->body_len + len > HTTP_BODY_MAX) {
		call->too_large = true;
		free(call->body);
		call->body = NULL;
		call->body_len = call->body_cap = 0;
		return false;
	}
	if (call->body_len + len > call->body_cap) {
		size_t cap = call->body_cap ? call->body_cap : 1024;
		char *nb;

		while (cap < call->body_len + len)
			cap *= 2;
		if (cap > HTTP_BODY_MAX)
			cap = HTTP_BODY_MAX;
		nb = realloc(call->body, cap);
		if (!nb)
			return false;
		call->body = nb;
		call->body_cap = cap;
	}
	memcpy(call->body + call->body_len, data, len);
	call->body_len += len;
	return true;
}

/* With a client CA: whether the connection's client certificate verifies
 * (tls.h); else ERR is the 401 to answer. Checked on every request, before
 * anything of it is read. */
static bool client_verified(struct http_call *call, struct http_err *err)
{
	const union MHD_ConnectionInfo *info =
	    MHD_get_connection_info(call->conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	char why[HTTP_TLS_ERR_MAX];

	if (http_tls_verify_client(info ? info->tls_session : NULL, why))
		return true;
	http_err_set(err, HTTP_ERR_UNAUTHENTICATED, "%s", why);
	return false;
}

static enum MHD_Result first_call(struct http_server *s, struct MHD_Connection *conn,
                                  void **con_cls)
{
	struct http_call *call = calloc(1, sizeof(*call));
	const char *cl;
	struct http_err err;

	if (call)
		call->resp_fd = -1;
	if (!call)
		return MHD_NO;
	call->s = s;
	call->conn = conn;
	*con_cls = call;
	if (s->cfg.tls && http_tls_client_ca_pem(s->cfg.tls) && !client_verified(call, &err)) {
		stat_add(&s->stats.tls_client_refused);
		return answer_now(call, &err);
	}
	cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && strtoull(cl, NULL, 10) > HTTP_BODY_MAX) {
		http_err_set(&err, HTTP_ERR_TOO_LARGE, "the body is over %u bytes", HTTP_BODY_MAX);
		return answer_now(call, &err);
	}
	return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
	struct http_server *s = cls;
	struct http_call *call = *con_cls;
	struct query_acc acc = {.n = 0};
	struct http_err err;

	(void)version;
	if (!call)
		return first_call(s, conn, con_cls);
	switch (call->state) {
	case CALL_ANSWERED:
		return queue_answer(call);
	case CALL_SUBMITTED: /* resumed without an answer: cannot happen */
	case CALL_SENT:
		return MHD_YES;
	case CALL_READING:
		break;
	}
	if (*upload_size) {
		body_append(call, upload_data, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	if (call->too_large) {
		http_err_set(&err, HTTP_ERR_TOO_LARGE, "the body is over %u bytes", HTTP_BODY_MAX);
		return answer_now(call, &err);
	}
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, query_iter, &acc);
	if (http_request_decode(method, url, acc.q, acc.n, call->body, call->body_len, &call->req,
	                        &err) != HTTP_OK ||
	    http_request_seq_header(
	        &call->req, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, HTTP_SEQ_HEADER),
	        &err) != HTTP_OK) {
		memcpy(call->allow, err.allow, sizeof(call->allow));
		return answer_now(call, &err);
	}
	http_request_bearer(&call->req, MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	                                                            MHD_HTTP_HEADER_AUTHORIZATION));
	call->have_req = true;
	call->target = http_target_encode(url, acc.q, acc.n);
	if (!call->target) {
		http_err_set(&err, HTTP_ERR_UNAVAILABLE, "out of memory; retry");
		return answer_now(call, &err);
	}
	free(call->body); /* a follower forwards the decoded body (req.body) */
	call->body = NULL;
	if (s->cfg.serve && s->cfg.serve(s->cfg.ctx, call)) {
		assert(call->state == CALL_ANSWERED);
		return queue_answer(call);
	}
	/* Suspend before handing over, so that an answer from another thread
	 * always finds the connection suspended. */
	call->state = CALL_SUBMITTED;
	MHD_suspend_connection(conn);
	s->cfg.submit(s->cfg.ctx, call);
	return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct http_call *call = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (!call)
		return;
	/* A call the node still owns is never completed: connections are only
	 * closed by MHD while not suspended. */
	if (call->have_req)
		http_request_free(&call->req);
	free(call->body);
	free(call->resp);
	if (call->resp_fd >= 0) /* answered with a file that was never queued */
		close(call->resp_fd);
	free(call->target);
	free(call);
	*con_cls = NULL;
}

/* MHD hands its own format strings; they are not ours to check. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct http_server *s = cls;
	char line[256];
	size_t n;

	if (!s->cfg.log)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	s->cfg.log(s->cfg.ctx, line);
}
#pragma GCC diagnostic pop

/* Life cycle -------------------------------------------------------------------- */

static bool resolve(const char *addr, struct sockaddr_storage *out, socklen_t *len)
{
	char host[128];
	const char *colon = strrchr(addr, ':');
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
	size_t hlen;
	const char *h = addr;

	if (!colon || colon == addr || (size_t)(colon - addr) >= sizeof(host))
		return false;
	hlen = (size_t)(colon - addr);
	if (h[0] == '[' && colon[-1] == ']') {
		h++;
		hlen -= 2;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (getaddrinfo(host, colon + 1, &hints, &res) != 0 || !res)
		return false;
	memcpy(out, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return true;
}

int http_server_start(const struct http_server_config *cfg, struct http_server **out)
{
	struct http_server *s = calloc(1, sizeof(*s));
	struct sockaddr_storage sa;
	socklen_t salen;
	unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	/* TLS options, or none: the certificate comes from tls.c per handshake,
	 * so that a reload needs no restart. */
	struct MHD_OptionItem tls_opts[3] = {{MHD_OPTION_END, 0, NULL}};

	if (!s)
		return HTTP_SERVER_ELISTEN;
	s->cfg = *cfg;
	if (!resolve(cfg->listen_addr, &sa, &salen)) {
		free(s);
		return HTTP_SERVER_EADDR;
	}
	if (sa.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (!cfg->external)
		flags |= MHD_USE_INTERNAL_POLLING_THREAD;
	if (cfg->tls) {
		size_t i = 0;

		flags |= MHD_USE_TLS;
		tls_opts[i++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_CERT_CALLBACK, 0,
		                                        (void *)(uintptr_t)http_tls_cert_callback};
		if (http_tls_client_ca_pem(cfg->tls))
			tls_opts[i++] = (struct MHD_OptionItem){
			    MHD_OPTION_HTTPS_MEM_TRUST, 0,
			    (void *)(uintptr_t)http_tls_client_ca_pem(cfg->tls)};
		tls_opts[i] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
		http_tls_activate(cfg->tls);
	}
	/* The logger goes first, so that MHD reports every option through it. */
	s->mhd = MHD_start_daemon(
	    flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE,
	    cfg->external ? 0u : (unsigned)HTTP_THREADS, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)HTTP_MAX_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned)HTTP_IDLE_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    (size_t)HTTP_CONN_MEMORY, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
	    MHD_OPTION_ARRAY, tls_opts, MHD_OPTION_END);
	if (!s->mhd) {
		free(s);
		return HTTP_SERVER_ELISTEN;
	}
	slog(s, "http: serving %s on %s", cfg->tls ? "HTTPS" : "HTTP", cfg->listen_addr);
	*out = s;
	return HTTP_SERVER_OK;
}

int http_server_fd(struct http_server *s)
{
	const union MHD_DaemonInfo *i = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);

	return i ? i->epoll_fd : -1;
}

bool http_server_run(struct http_server *s)
{
	MHD_UNSIGNED_LONG_LONG ms = 1;

	__atomic_store_n(&s->answered, false, __ATOMIC_RELAXED);
	MHD_run(s->mhd);
	/* Connections it has ready but did not serve in this run (its epoll
	 * is edge-triggered: they will not make the descriptor readable). */
	return MHD_get_timeout(s->mhd, &ms) == MHD_YES && ms == 0;
}

bool http_server_answered(const struct http_server *s)
{
	return __atomic_load_n(&s->answered, __ATOMIC_RELAXED);
}

void http_server_stop(struct http_server *s)
{
	if (!s)
		return;
	MHD_stop_daemon(s->mhd);
	free(s);
}

void http_server_stats(struct http_server *s, struct http_server_stats *out)
{
	for (int i = 0; i < 6; i++)
		out->by_status[i] = __atomic_load_n(&s->stats.by_status[i], __ATOMIC_RELAXED);
	out->refused_early = __atomic_load_n(&s->stats.refused_early, __ATOMIC_RELAXED);
	out->tls_client_refused = __atomic_load_n(&s->stats.tls_client_refused, __ATOMIC_RELAXED);
}
