/* front.c: server.h's call functions in the simulated world. A client's
 * call is decoded with the real decoder (http_request_decode_target), then
 * offered to the node as coordd's front offers it: the serve callback first
 * (direct stale reads), else submit and the inbox taken. The answer is kept
 * for the client; a second answer to one call fails the seed (N-2). */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node_dispatch.h"
#include "node_internal.h"
#include "node_life.h"
#include "node_stale.h"
#include "op.h"
#include "rt.h"
#include "server.h"

struct http_call {
	struct rt_world *w;
	int node;
	struct http_request req;
	char *target, *body;
	size_t body_len;
	struct rt_answer *out; /* NULL once the client stopped waiting */
	unsigned answers;
	bool decoded;
	struct http_call *next_all;
};

static struct http_call *all_calls;
static struct http_server_stats stats;

const struct http_request *http_call_request(const struct http_call *call)
{
	return &call->req;
}

const char *http_call_target(const struct http_call *call)
{
	return call->target;
}

struct http_original http_call_original(const struct http_call *call)
{
	struct http_original o = {http_op_info(call->req.op)->method, call->target, call->req.body,
	                          call->req.body_len};

	return o;
}

bool http_call_client_gone(const struct http_call *call)
{
	return call->out == NULL;
}

/* Every answer comes here: at most one per call. */
static void answered(struct http_call *call, unsigned status, json_t *body,
                     const struct http_meta *meta)
{
	if (++call->answers > 1) {
		rt_fail(call->w, "N-2: call %s %s on n%d answered %u times",
		        http_op_info(call->req.op)->method, call->target, call->node + 1,
		        call->answers);
		json_decref(body);
		return;
	}
	if (status < 600 && status >= 100)
		stats.by_status[status / 100]++;
	if (!call->out) {
		json_decref(body);
		return;
	}
	call->out->answered = true;
	call->out->at_us = rt_node_time(call->w, call->node);
	call->out->status = status;
	call->out->body = body;
	call->out->index = meta ? meta->index : 0;
	call->out->leader = meta ? meta->leader : 0;
}

void http_call_answer(struct http_call *call, unsigned status, json_t *body,
                      const struct http_meta *meta)
{
	answered(call, status, body, meta);
}

void http_call_answer_error(struct http_call *call, const struct http_err *err, json_t *details,
                            const struct http_meta *meta)
{
	json_t *body = http_error_json_details(err, details);

	answered(call, http_error_status(err->code), body, meta);
}

void http_call_answer_raw(struct http_call *call, unsigned status, const char *body, size_t len,
                          const struct http_meta *meta)
{
	answered(call, status, json_loadb(body, len, 0, NULL), meta);
}

void http_call_answer_text(struct http_call *call, unsigned status, const char *text,
                           const struct http_meta *meta)
{
	(void)text;
	answered(call, status, NULL, meta);
}

void http_call_answer_html(struct http_call *call, const char *html, size_t len, const char *csp,
                           const struct http_meta *meta)
{
	(void)html;
	(void)len;
	(void)csp;
	answered(call, 200, NULL, meta);
}

void http_call_answer_file(struct http_call *call, int fd, uint64_t size, uint32_t crc32c,
                           const struct http_meta *meta)
{
	(void)size;
	(void)crc32c;
	close(fd);
	answered(call, 200, NULL, meta);
}

void http_server_stats(struct http_server *s, struct http_server_stats *out)
{
	(void)s;
	*out = stats;
}

struct http_call *rt_front_send(struct rt_world *w, int node, const char *method,
                                const char *target, const char *body, struct rt_answer *out)
{
	struct http_call *call = calloc(1, sizeof(*call));
	struct rt_node *rn = &w->nodes[node];
	struct http_err err;

	assert(call);
	*call = (struct http_call){.w = w, .node = node, .out = out, .next_all = all_calls};
	all_calls = call;
	call->target = strdup(target);
	memset(out, 0, sizeof(*out));
	if (!rn->up) { /* connection refused */
		out->lost = true;
		call->out = NULL;
		return call;
	}
	if (http_request_decode_target(method, target, body, body ? strlen(body) : 0, &call->req,
	                               &err) != HTTP_OK) {
		answered(call, http_error_status(err.code), http_error_json(&err), NULL);
		return call;
	}
	call->decoded = true;
	rt_enter(w, node);
	if (!node_serve_stale(rn->n, call)) {
		node_submit(rn->n, call);
		node_take_inbox(rn->n);
	}
	rt_turn_end(w, node);
	rt_enter(w, -1);
	return call;
}

/* NODE crashed: its clients see their connections reset. */
void rt_front_node_down(struct rt_world *w, int node)
{
	/* An answer its node gave after a sync that had not ended never left. */
	for (struct http_call *c = all_calls; c; c = c->next_all)
		if (c->node == node && c->out && (!c->answers || c->out->at_us > w->now_us)) {
			json_decref(c->out->body);
			c->out->body = NULL;
			c->out->answered = false;
			c->out->lost = true;
			c->out = NULL;
		}
}
