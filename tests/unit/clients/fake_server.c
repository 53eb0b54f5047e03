/* The scripted HTTP server of libcoord's tests (see fake_server.h). One
 * connection at a time, HTTP/1.1 keep-alive, Content-Length bodies only. */
#define _GNU_SOURCE /* strcasestr */
#include "fake_server.h"

#include "libcoord.h"

#include <arpa/inet.h>
#include <assert.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define POLL_MS 20
#define REQ_MAX 8192

static bool stopping(struct fake_server *f)
{
	bool s;

	pthread_mutex_lock(&f->mu);
	s = f->stop;
	pthread_mutex_unlock(&f->mu);
	return s;
}

/* Waits until FD is readable; false when stopping. */
static bool wait_readable(struct fake_server *f, int fd)
{
	struct pollfd p = {fd, POLLIN, 0};

	while (!stopping(f)) {
		if (poll(&p, 1, POLL_MS) > 0)
			return true;
	}
	return false;
}

/* The value of the Authorization header among HEAD's lines (ending at END)
 * into AUTH, "" when there is none. */
static void find_auth(const char *head, const char *end, char auth[FAKE_AUTH_MAX])
{
	const char *h = strcasestr(head, "\r\nAuthorization:");

	auth[0] = '\0';
	if (h == NULL || h >= end)
		return;
	h += strlen("\r\nAuthorization:");
	h += strspn(h, " ");
	snprintf(auth, FAKE_AUTH_MAX, "%.*s", (int)strcspn(h, "\r"), h);
}

/* Reads one request into BUF, its "METHOD PATH" into LINE, the start of
 * its body into BODY (FAKE_BODY_MAX bytes) and its Authorization into AUTH;
 * returns false on close or stop. */
static bool read_request(struct fake_server *f, int fd, char *buf, char *line, size_t line_size,
                         char body[FAKE_BODY_MAX], char auth[FAKE_AUTH_MAX])
{
	size_t len = 0, want = 0;
	char *end = NULL;

	while (end == NULL || len < want) {
		ssize_t n;

		if (!wait_readable(f, fd))
			return false;
		n = read(fd, buf + len, REQ_MAX - 1 - len);
		if (n <= 0)
			return false;
		len += (size_t)n;
		buf[len] = '\0';
		if (end == NULL && (end = strstr(buf, "\r\n\r\n")) != NULL) {
			const char *cl = strcasestr(buf, "Content-Length:");

			want = (size_t)(end + 4 - buf) +
			       (cl && cl < end ? strtoul(cl + 15, NULL, 10) : 0);
		}
	}
	{
		char method[16] = "", path[FAKE_PATH_MAX - 20] = "";

		sscanf(buf, "%15s %107s", method, path);
		snprintf(line, line_size, "%s %s", method, path);
		snprintf(body, FAKE_BODY_MAX, "%.*s", (int)(len - (size_t)(end + 4 - buf)),
		         end + 4);
		find_auth(buf, end, auth);
	}
	return true;
}

/* Answers BODY; when CUT, with a Content-Length 100 bytes beyond it. */
static void answer(int fd, int status, const char *body, const char *headers, bool cut)
{
	char out[1024];
	int n = snprintf(out, sizeof(out),
	                 "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
	                 "Content-Length: %zu\r\n%s\r\n%s",
	                 status, strlen(body) + (cut ? 100 : 0), headers ? headers : "", body);

	assert(n > 0 && n < (int)sizeof(out));
	if (write(fd, out, (size_t)n) != n) {
		/* The client gave up: its problem, and the test's to notice. */
	}
}

/* Serves one connection until the client closes it or the server stops. */
static void serve(struct fake_server *f, int fd)
{
	static char buf[REQ_MAX];
	char line[FAKE_PATH_MAX], body[FAKE_BODY_MAX], auth[FAKE_AUTH_MAX];
	bool cut;

	while (read_request(f, fd, buf, line, sizeof(line), body, auth)) {
		struct fake_answer a;

		pthread_mutex_lock(&f->mu);
		if (strcmp(line, "GET /v1/status") == 0) {
			f->status_probes++;
			snprintf(f->probe_auth, FAKE_AUTH_MAX, "%s", auth);
			pthread_mutex_unlock(&f->mu);
			answer(fd, 200, f->status_body, NULL, false);
			continue;
		}
		a = f->script[f->requests < f->script_len ? f->requests : f->script_len - 1];
		cut = f->requests == f->cut;
		if (f->requests < FAKE_SEEN_MAX) {
			snprintf(f->seen[f->requests], FAKE_PATH_MAX, "%s", line);
			snprintf(f->seen_body[f->requests], FAKE_BODY_MAX, "%s", body);
			snprintf(f->seen_auth[f->requests], FAKE_AUTH_MAX, "%s", auth);
		}
		f->requests++;
		pthread_mutex_unlock(&f->mu);
		if (a.status == 0) {
			/* Stall: hold the request until the client gives up. */
			while (wait_readable(f, fd) && read(fd, buf, sizeof(buf)) > 0)
				;
			return;
		}
		answer(fd, a.status, a.body ? a.body : "{}", a.headers, cut);
		if (cut)
			return; /* the connection closes mid-body */
	}
}

static void *fake_main(void *arg)
{
	struct fake_server *f = arg;

	while (wait_readable(f, f->listen_fd)) {
		int fd = accept(f->listen_fd, NULL, NULL);

		if (fd < 0)
			continue;
		serve(f, fd);
		close(fd);
	}
	return NULL;
}

void fake_start(struct fake_server *f, const struct fake_answer *script, int len)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t alen = sizeof(a);

	assert(len >= 1 && len <= FAKE_SCRIPT_MAX);
	memset(f, 0, sizeof(*f));
	memcpy(f->script, script, sizeof(*script) * (size_t)len);
	f->script_len = len;
	f->cut = -1;
	snprintf(f->status_body, sizeof(f->status_body), "{\"leader\":null}");
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	assert(f->listen_fd >= 0);
	assert(bind(f->listen_fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	assert(listen(f->listen_fd, 8) == 0);
	assert(getsockname(f->listen_fd, (struct sockaddr *)&a, &alen) == 0);
	f->port = ntohs(a.sin_port);
	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%u", f->port);
	pthread_mutex_init(&f->mu, NULL);
	assert(pthread_create(&f->thread, NULL, fake_main, f) == 0);
}

void fake_set_leader(struct fake_server *f, const struct fake_server *leader)
{
	pthread_mutex_lock(&f->mu);
	if (leader)
		snprintf(f->status_body, sizeof(f->status_body),
		         "{\"leader\":{\"id\":7,\"http\":\"127.0.0.1:%u\"}}", leader->port);
	else
		snprintf(f->status_body, sizeof(f->status_body), "{\"leader\":null}");
	pthread_mutex_unlock(&f->mu);
}

void fake_cut(struct fake_server *f, int n)
{
	pthread_mutex_lock(&f->mu);
	f->cut = n;
	pthread_mutex_unlock(&f->mu);
}

int fake_requests(struct fake_server *f)
{
	int n;

	pthread_mutex_lock(&f->mu);
	n = f->requests;
	pthread_mutex_unlock(&f->mu);
	return n;
}

void fake_stop(struct fake_server *f)
{
	pthread_mutex_lock(&f->mu);
	f->stop = true;
	pthread_mutex_unlock(&f->mu);
	pthread_join(f->thread, NULL);
	close(f->listen_fd);
	pthread_mutex_destroy(&f->mu);
}

struct coordc_config fake_config(const char *endpoints, uint32_t timeout_ms)
{
	return (struct coordc_config){.endpoints = endpoints,
	                              .request_timeout_ms = timeout_ms,
	                              .max_attempts = 4,
	                              .retry_budget_ms = 5000,
	                              .backoff_base_ms = 5,
	                              .backoff_cap_ms = 20,
	                              .seed = 1};
}

struct coordc *fake_client(const char *endpoints, uint32_t timeout_ms)
{
	struct coordc_config cfg = fake_config(endpoints, timeout_ms);
	struct coordc *c = NULL;
	int rc = coordc_open(&cfg, &c);

	assert(rc == COORDC_OK);
	(void)rc;
	return c;
}
