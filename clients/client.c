/* libcoord's request loop: endpoints, leader discovery, one libcurl easy
 * handle per client (its connection cache gives keep-alive reuse), retries
 * with backoff and jitter, and the outcome of every call (libcoord.h). */
#include "libcoord.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "policy.h"

#define DISCOVERY_TIMEOUT_MS 1000 /* one /v1/status probe, at most */
#define CONNECT_TIMEOUT_MS   1000 /* TCP connect of one attempt */
#define AUTH_PREFIX          "Authorization: Bearer "

struct coordc {
	struct coordc_config cfg;
	char endpoints[COORDC_ENDPOINTS_MAX][COORDC_URL_MAX];
	unsigned n_endpoints;
	unsigned cur;                /* endpoint used while no leader is known */
	char leader[COORDC_URL_MAX]; /* the leader's base URL, "" if unknown */
	char failed[COORDC_URL_MAX]; /* base URL that last failed to answer */
	char cacert[COORDC_PATH_MAX], cert[COORDC_PATH_MAX], key[COORDC_PATH_MAX]; /* "": none */
	uint64_t leader_id; /* its node id, 0 if unknown */
	bool rediscover;    /* look for the leader before the next attempt */
	bool has_token;     /* c->headers carries an Authorization line */
	uint64_t rng;
	uint64_t seq; /* the last number of a session's request (coordc_next_seq) */
	volatile sig_atomic_t *abort_flag; /* give up when nonzero (may be NULL) */
	CURL *curl;
	struct curl_slist *headers; /* of every request; the token's line is the only copy of it */
	/* The answer of the attempt in progress. */
	char *buf;
	size_t len;
	bool too_big;
	uint64_t hdr_index;
	uint64_t hdr_leader;
	uint64_t hdr_retry_after_s;
	/* A download (coordc_download): a 2xx body goes to sink_fd instead. */
	int sink_fd;     /* -1 when none */
	uint64_t sunk;   /* bytes written to it by the attempt in progress */
	int sink_errno;  /* a write to it failed (or 0) */
	bool sink_limit; /* the body passed COORDC_DOWNLOAD_MAX */
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

uint64_t coordc_next_seq(struct coordc *c, uint64_t above)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	c->seq = coordc_seq_after(c->seq, above,
	                          (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
	return c->seq;
}

uint64_t coordc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) != 0)
		;
}

static void config_defaults(struct coordc_config *cfg)
{
	if (cfg->request_timeout_ms == 0)
		cfg->request_timeout_ms = 5000;
	if (cfg->max_attempts == 0)
		cfg->max_attempts = 8;
	if (cfg->max_attempts > COORDC_ATTEMPTS_MAX)
		cfg->max_attempts = COORDC_ATTEMPTS_MAX;
	if (cfg->retry_budget_ms == 0)
		cfg->retry_budget_ms = 15000;
	if (cfg->backoff_base_ms == 0)
		cfg->backoff_base_ms = 50;
	if (cfg->backoff_cap_ms == 0)
		cfg->backoff_cap_ms = 2000;
	if (cfg->backoff_cap_ms < cfg->backoff_base_ms)
		cfg->backoff_cap_ms = cfg->backoff_base_ms;
	if (cfg->seed == 0) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		cfg->seed = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ (uint64_t)getpid();
	}
	if (cfg->seed == 0)
		cfg->seed = 1;
}

/* Splits "u1,u2" into c->endpoints, dropping trailing slashes. */
static int parse_endpoints(struct coordc *c, const char *list)
{
	const char *p = list;

	while (*p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		while (n > 0 && p[n - 1] == '/')
			n--;
		if (n > 0) {
			if (c->n_endpoints == COORDC_ENDPOINTS_MAX || n >= COORDC_URL_MAX)
				return COORDC_ERR_INVALID;
			memcpy(c->endpoints[c->n_endpoints], p, n);
			c->endpoints[c->n_endpoints][n] = '\0';
			c->n_endpoints++;
		}
		if (!end)
			break;
		p = end + 1;
	}
	return c->n_endpoints > 0 ? COORDC_OK : COORDC_ERR_INVALID;
}

static int copy_path(char dst[COORDC_PATH_MAX], const char *src)
{
	if (src == NULL)
		src = "";
	if (strlen(src) >= COORDC_PATH_MAX)
		return COORDC_ERR_INVALID;
	strcpy(dst, src);
	return COORDC_OK;
}

/* The TLS files of CFG, copied: a client certificate needs its key. */
static int copy_tls(struct coordc *c, const struct coordc_config *cfg)
{
	if (copy_path(c->cacert, cfg->cacert) != COORDC_OK ||
	    copy_path(c->cert, cfg->cert) != COORDC_OK || copy_path(c->key, cfg->key) != COORDC_OK)
		return COORDC_ERR_INVALID;
	return !c->cert[0] == !c->key[0] ? COORDC_OK : COORDC_ERR_INVALID;
}

bool coordc_token_valid(const char *secret)
{
	static const char token68[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                              "0123456789-._~+/";
	size_t len;

	if (secret == NULL)
		return false;
	len = strspn(secret, token68);
	if (len == 0) /* token68: one character at least before the padding */
		return false;
	len += strspn(secret + len, "=");
	return len < COORDC_TOKEN_MAX && secret[len] == '\0';
}

/* The headers every request carries: the JSON body's type, no "Expect:
 * 100-continue", and the bearer TOKEN when there is one (validated by the
 * caller). The line is built on the stack and wiped: libcurl's copy in the
 * list is the only one left. Returns COORDC_OK or COORDC_ERR_NOMEM. */
static int make_headers(struct coordc *c, const char *token)
{
	char line[sizeof(AUTH_PREFIX) + COORDC_TOKEN_MAX];
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");

	if (h == NULL || !curl_slist_append(h, "Expect:"))
		goto fail;
	c->headers = h;
	if (token == NULL || token[0] == '\0')
		return COORDC_OK;
	snprintf(line, sizeof(line), AUTH_PREFIX "%s", token);
	h = curl_slist_append(c->headers, line);
	explicit_bzero(line, sizeof(line));
	if (h == NULL)
		return COORDC_ERR_NOMEM; /* c->headers is freed by the caller */
	c->has_token = true;
	return COORDC_OK;
fail:
	curl_slist_free_all(h);
	return COORDC_ERR_NOMEM;
}

/* Frees C's headers, wiping them first: one of them holds the secret. */
static void free_headers(struct coordc *c)
{
	for (struct curl_slist *h = c->headers; h != NULL; h = h->next)
		explicit_bzero(h->data, strlen(h->data));
	curl_slist_free_all(c->headers);
	c->headers = NULL;
}

/* The libcurl options for C's TLS files (curl_easy_reset clears them). */
static void set_tls(struct coordc *c)
{
	if (c->cacert[0])
		curl_easy_setopt(c->curl, CURLOPT_CAINFO, c->cacert);
	if (c->cert[0]) {
		curl_easy_setopt(c->curl, CURLOPT_SSLCERT, c->cert);
		curl_easy_setopt(c->curl, CURLOPT_SSLKEY, c->key);
	}
}

int coordc_open(const struct coordc_config *cfg, struct coordc **out)
{
	struct coordc *c;
	int rc;

	if (cfg->endpoints == NULL)
		return COORDC_ERR_INVALID;
	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK)
		return COORDC_ERR_CURL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return COORDC_ERR_NOMEM;
	c->cfg = *cfg;
	c->cfg.endpoints = NULL;                         /* not kept: parsed below */
	c->cfg.cacert = c->cfg.cert = c->cfg.key = NULL; /* copied below */
	c->cfg.token = NULL;                             /* only in c->headers */
	config_defaults(&c->cfg);
	c->rng = c->cfg.seed;
	c->rediscover = true;
	c->sink_fd = -1;
	rc = parse_endpoints(c, cfg->endpoints);
	if (rc == COORDC_OK)
		rc = copy_tls(c, cfg);
	if (rc == COORDC_OK && cfg->token != NULL && cfg->token[0] != '\0' &&
	    !coordc_token_valid(cfg->token))
		rc = COORDC_ERR_INVALID;
	if (rc != COORDC_OK)
		goto fail_client;
	c->curl = curl_easy_init();
	if (c->curl == NULL) {
		rc = COORDC_ERR_CURL;
		goto fail_client;
	}
	rc = make_headers(c, cfg->token);
	if (rc != COORDC_OK)
		goto fail_curl;
	*out = c;
	return COORDC_OK;
fail_curl:
	free_headers(c);
	curl_easy_cleanup(c->curl);
fail_client:
	free(c);
	return rc;
}

void coordc_close(struct coordc *c)
{
	if (c == NULL)
		return;
	free_headers(c);
	curl_easy_cleanup(c->curl);
	free(c->buf);
	free(c);
}

void coordc_set_abort(struct coordc *c, volatile sig_atomic_t *flag)
{
	c->abort_flag = flag;
}

static bool aborted(const struct coordc *c)
{
	return c->abort_flag != NULL && *c->abort_flag != 0;
}

/* libcurl's progress callback: nonzero aborts the transfer. */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return aborted(arg) ? 1 : 0;
}

const char *coordc_target(const struct coordc *c)
{
	return c->leader[0] ? c->leader : c->endpoints[c->cur];
}

/* Writes a piece of a download's body to the sink; 0 aborts the transfer. */
static size_t sink_write(struct coordc *c, const char *data, size_t n)
{
	size_t done = 0;

	if (c->sunk + n > COORDC_DOWNLOAD_MAX) {
		c->sink_limit = true;
		return 0;
	}
	while (done < n) {
		ssize_t w = write(c->sink_fd, data + done, n - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			c->sink_errno = w < 0 ? errno : EIO;
			return 0;
		}
		done += (size_t)w;
	}
	c->sunk += n;
	return n;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct coordc *c = arg;
	size_t n = size * nmemb;
	char *grown;

	if (c->sink_fd >= 0) {
		long status = 0;

		/* Only a success is the stream; an error's body is its JSON. */
		curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
		if (status >= 200 && status < 300)
			return sink_write(c, data, n);
	}

	if (c->len + n > COORDC_BODY_MAX) {
		c->too_big = true;
		return 0; /* aborts the transfer */
	}
	grown = realloc(c->buf, c->len + n + 1);
	if (grown == NULL)
		return 0;
	c->buf = grown;
	memcpy(c->buf + c->len, data, n);
	c->len += n;
	c->buf[c->len] = '\0';
	return n;
}

/* Reads the unsigned number of header NAME from LINE (LEN bytes) into *OUT. */
static void header_u64(const char *line, size_t len, const char *name, uint64_t *out)
{
	size_t n = strlen(name);
	char digits[24];
	size_t i = 0;

	if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
		return;
	for (line += n + 1, len -= n + 1; len > 0 && *line == ' '; line++, len--)
		;
	while (i < len && i + 1 < sizeof(digits) && line[i] >= '0' && line[i] <= '9') {
		digits[i] = line[i];
		i++;
	}
	digits[i] = '\0';
	if (i > 0)
		*out = strtoull(digits, NULL, 10);
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct coordc *c = arg;
	size_t n = size * nmemb;

	header_u64(data, n, "X-Coord-Index", &c->hdr_index);
	header_u64(data, n, "X-Coord-Leader", &c->hdr_leader);
	header_u64(data, n, "Retry-After", &c->hdr_retry_after_s);
	return n;
}

/* One HTTP exchange with BASE. Returns what the transport saw; on
 * COORDC_ANSWERED *STATUS is the HTTP status and c->buf the body. */
static enum coordc_transport attempt(struct coordc *c, const char *base, const char *method,
                                     const char *path, const char *body, uint32_t timeout_ms,
                                     long *status)
{
	char url[COORDC_URL_MAX * 2];
	curl_off_t pretransfer = 0;
	CURLcode res;

	c->len = 0;
	c->too_big = false;
	c->hdr_index = c->hdr_leader = c->hdr_retry_after_s = 0;
	if (c->sink_fd >= 0) {
		/* A retry starts the file over, so it holds one whole answer. */
		c->sunk = 0;
		c->sink_limit = false;
		c->sink_errno = 0;
		if (ftruncate(c->sink_fd, 0) != 0 || lseek(c->sink_fd, 0, SEEK_SET) != 0) {
			c->sink_errno = errno;
			return COORDC_NOT_SENT;
		}
	}
	snprintf(url, sizeof(url), "%s%s", base, path);
	curl_easy_reset(c->curl); /* keeps the connection cache */
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS,
	                 (long)(timeout_ms < CONNECT_TIMEOUT_MS ? timeout_ms : CONNECT_TIMEOUT_MS));
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->headers);
	set_tls(c);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(c->curl, CURLOPT_FOLLOWLOCATION, c->cfg.follow_redirects ? 1L : 0L);
	curl_easy_setopt(c->curl, CURLOPT_MAXREDIRS, 3L);
	if (c->cfg.follow_redirects)
		curl_easy_setopt(c->curl, CURLOPT_POSTREDIR, (long)CURL_REDIR_POST_ALL);
	if (c->cfg.follow_redirects && c->has_token) {
		/* libcurl drops a custom Authorization on a redirect to another
		 * host or port, which is every 307 to the leader: keep it, but
		 * only over the scheme the request started with. */
		curl_easy_setopt(c->curl, CURLOPT_UNRESTRICTED_AUTH, 1L);
		curl_easy_setopt(c->curl, CURLOPT_REDIR_PROTOCOLS_STR,
		                 strncmp(base, "https://", 8) == 0 ? "https" : "http");
	}
	if (c->abort_flag != NULL) {
		curl_easy_setopt(c->curl, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(c->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(c->curl, CURLOPT_XFERINFODATA, c);
	}
	if (c->sink_fd >= 0) {
		/* A long transfer is bounded by TIMEOUT_MS; a stalled one sooner. */
		long stall_s = (long)(c->cfg.request_timeout_ms + 999) / 1000;

		curl_easy_setopt(c->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(c->curl, CURLOPT_LOW_SPEED_TIME, stall_s);
	}
	if (strcmp(method, "GET") != 0) {
		curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, (long)(body ? strlen(body) : 0));
	}
	res = curl_easy_perform(c->curl);
	if (res == CURLE_OK) {
		curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, status);
		if (*status >= 100 && *status < 600)
			return COORDC_ANSWERED;
	}
	/* Once connected, the request may have reached the node. */
	curl_easy_getinfo(c->curl, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
	return pretransfer > 0 ? COORDC_LOST_AFTER_SEND : COORDC_NOT_SENT;
}

/* Whether the endpoint E should be probed in PASS: the node that just
 * failed is tried last (pass 1), the others first (pass 0). */
static bool probe_in_pass(const struct coordc *c, unsigned e, int pass)
{
	bool failed = strcmp(c->endpoints[e], c->failed) == 0;

	return pass == 0 ? !failed : failed;
}

/* Asks the endpoints for the leader's HTTP address (/v1/status, always
 * answered locally), starting after the current one and leaving the node
 * that just failed to the last. The first answer decides: its leader, unless
 * that is the node that just failed (the others may not have noticed yet),
 * in which case the answering node itself, which forwards to whichever
 * leader is elected. */
static void discover_leader(struct coordc *c, uint32_t timeout_ms)
{
	if (timeout_ms > DISCOVERY_TIMEOUT_MS)
		timeout_ms = DISCOVERY_TIMEOUT_MS;
	c->rediscover = false;
	c->leader[0] = '\0';
	c->leader_id = 0;
	for (int pass = 0; pass < 2; pass++) {
		for (unsigned i = 0; i < c->n_endpoints; i++) {
			unsigned e = (c->cur + i) % c->n_endpoints;
			json_t *st, *leader, *http;
			long status = 0;

			if (!probe_in_pass(c, e, pass) ||
			    attempt(c, c->endpoints[e], "GET", "/v1/status", NULL, timeout_ms,
			            &status) != COORDC_ANSWERED ||
			    status != 200)
				continue;
			c->cur = e;
			st = json_loadb(c->buf ? c->buf : "", c->len, 0, NULL);
			leader = json_object_get(st, "leader");
			http = json_object_get(leader, "http");
			if (json_is_string(http) && json_string_length(http) + 8 < COORDC_URL_MAX) {
				/* The leader serves as the node that named it:
				 * a cluster is all HTTPS or all plain. */
				snprintf(c->leader, sizeof(c->leader), "%s://%s",
				         strncmp(c->endpoints[e], "https://", 8) == 0 ? "https"
				                                                      : "http",
				         json_string_value(http));
				c->leader_id =
				    (uint64_t)json_integer_value(json_object_get(leader, "id"));
			}
			json_decref(st);
			if (strcmp(c->leader, c->failed) == 0) {
				c->leader[0] = '\0';
				c->leader_id = 0;
				c->rediscover = true; /* look again next call */
			}
			return;
		}
	}
}

/* Discovery's answers are JSON for c->buf, also during a download. */
static void discover(struct coordc *c, uint32_t timeout_ms)
{
	int sink_fd = c->sink_fd;

	c->sink_fd = -1;
	discover_leader(c, timeout_ms);
	c->sink_fd = sink_fd;
}

/* Fills REPLY from the attempt just made. */
static void record(struct coordc *c, enum coordc_transport t, long status, struct coordc_verdict v,
                   struct coordc_reply *reply)
{
	json_t *err, *ra;

	json_decref(reply->body);
	reply->body = NULL;
	reply->kind = v.kind;
	reply->status = t == COORDC_ANSWERED ? status : 0;
	reply->error[0] = reply->message[0] = '\0';
	reply->index = c->hdr_index;
	reply->retry_after_ms = c->hdr_retry_after_s * 1000;
	if (t == COORDC_NOT_SENT) {
		snprintf(reply->error, sizeof(reply->error), "unreachable");
		snprintf(reply->message, sizeof(reply->message), "%.200s: no connection",
		         coordc_target(c));
		return;
	}
	if (t == COORDC_LOST_AFTER_SEND) {
		snprintf(reply->error, sizeof(reply->error), "timeout");
		snprintf(reply->message, sizeof(reply->message), "%.200s: no answer in time",
		         coordc_target(c));
		return;
	}
	if (c->len > 0)
		reply->body = json_loadb(c->buf, c->len, 0, NULL);
	err = json_object_get(reply->body, "error");
	if (v.kind != COORDC_DONE_OK && json_is_string(err)) {
		snprintf(reply->error, sizeof(reply->error), "%s", json_string_value(err));
		snprintf(reply->message, sizeof(reply->message), "%s",
		         json_string_value(json_object_get(reply->body, "message"))
		             ? json_string_value(json_object_get(reply->body, "message"))
		             : "");
	} else if (v.kind != COORDC_DONE_OK) {
		snprintf(reply->error, sizeof(reply->error), "http_%ld", status);
	}
	ra = json_object_get(reply->body, "retry_after_ms");
	if (json_is_integer(ra) && json_integer_value(ra) > 0)
		reply->retry_after_ms = (uint64_t)json_integer_value(ra);
}

/* A download that could not write its sink ends with a definite error:
 * the request was a read, and trying again would write the same disk. */
static bool sink_failed(const struct coordc *c, struct coordc_reply *reply)
{
	if (c->sink_fd < 0 || (c->sink_errno == 0 && !c->sink_limit))
		return false;
	json_decref(reply->body);
	reply->body = NULL;
	reply->kind = COORDC_DONE_ERROR;
	snprintf(reply->error, sizeof(reply->error), "write_failed");
	if (c->sink_limit)
		snprintf(reply->message, sizeof(reply->message),
		         "the answer is larger than %llu bytes", COORDC_DOWNLOAD_MAX);
	else
		snprintf(reply->message, sizeof(reply->message), "cannot write the file: %s",
		         strerror(c->sink_errno));
	return true;
}

/* The attempts of one call (coordc_call, coordc_download): TEXT is the
 * request body (may be NULL). */
static void call_loop(struct coordc *c, const char *method, const char *path, const char *text,
                      unsigned flags, uint32_t timeout_ms, struct coordc_reply *reply)
{
	uint64_t deadline = coordc_now_ms() + c->cfg.retry_budget_ms;

	if (timeout_ms == 0)
		timeout_ms = c->cfg.request_timeout_ms;
	for (unsigned n = 1;; n++) {
		enum coordc_transport t;
		struct coordc_verdict v;
		long status = 0;
		uint64_t delay;

		if (c->rediscover)
			discover(c, timeout_ms);
		t = attempt(c, coordc_target(c), method, path, text, timeout_ms, &status);
		v = coordc_classify(t, status, flags & COORDC_IDEMPOTENT);
		reply->attempts = n;
		record(c, t, status, v, reply);
		if (sink_failed(c, reply))
			break;
		/* An answer naming another leader: find its address next time. */
		if (t == COORDC_ANSWERED && c->hdr_leader != 0 && c->hdr_leader != c->leader_id)
			c->rediscover = true;
		/* Also when this call ends here: the next one must not go back
		 * to a node that did not answer (a keeper sends single tries). */
		if (v.rediscover) {
			snprintf(c->failed, sizeof(c->failed), "%s", coordc_target(c));
			c->leader[0] = '\0';
			c->cur = (c->cur + 1) % c->n_endpoints;
			c->rediscover = true;
		} else if (t == COORDC_ANSWERED) {
			c->failed[0] = '\0';
		}
		if (aborted(c)) {
			if (t != COORDC_ANSWERED && reply->kind == COORDC_DONE_ERROR)
				snprintf(reply->error, sizeof(reply->error), "aborted");
			break;
		}
		if (!v.retry || (flags & COORDC_NO_RETRY) || n >= c->cfg.max_attempts)
			break;
		delay = coordc_backoff_ms(n, c->cfg.backoff_base_ms, c->cfg.backoff_cap_ms,
		                          reply->retry_after_ms, &c->rng);
		if (coordc_now_ms() + delay >= deadline)
			break;
		sleep_ms(delay);
	}
}

int coordc_call(struct coordc *c, const char *method, const char *path, const json_t *body,
                unsigned flags, uint32_t timeout_ms, struct coordc_reply *reply)
{
	char *text = NULL;

	assert(path[0] == '/');
	memset(reply, 0, sizeof(*reply));
	if (strlen(path) >= COORDC_URL_MAX)
		return COORDC_ERR_INVALID;
	if (body != NULL && (text = json_dumps(body, JSON_COMPACT)) == NULL)
		return COORDC_ERR_NOMEM;
	call_loop(c, method, path, text, flags, timeout_ms, reply);
	free(text);
	return COORDC_OK;
}

int coordc_download(struct coordc *c, const char *path, int fd, uint32_t timeout_ms,
                    uint64_t *bytes, struct coordc_reply *reply)
{
	assert(path[0] == '/' && fd >= 0);
	memset(reply, 0, sizeof(*reply));
	if (bytes != NULL)
		*bytes = 0;
	if (strlen(path) >= COORDC_URL_MAX)
		return COORDC_ERR_INVALID;
	c->sink_fd = fd;
	call_loop(c, "GET", path, NULL, COORDC_IDEMPOTENT, timeout_ms, reply);
	c->sink_fd = -1;
	if (reply->kind == COORDC_DONE_OK && bytes != NULL)
		*bytes = c->sunk;
	return COORDC_OK;
}
