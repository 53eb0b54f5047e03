/* Sessions (docs/API.md, Sessions): create, list, get, close, keepalive,
 * and a session's events. */
#include <string.h>

#include "api.h"
#include "node_auth.h"
#include "node_calls.h"
#include "node_core.h"
#include "node_lease.h"
#include "node_internal.h"
#include "sm_query.h"

/* POST /v1/sessions ---------------------------------------------------------- */

static bool create_command(struct node *n, const struct http_request *req, struct coord_cmd *cmd)
{
	cmd->type = COORD_CMD_OPEN;
	/* 128 random bits, drawn by the leader and carried in the entry. */
	if (!node_random(cmd->session.bytes, sizeof(cmd->session.bytes)))
		node_fatal(n, "getrandom", "no randomness for a session id");
	cmd->ttl_ms = (uint32_t)req->ttl_ms;
	cmd->lock_delay_ms = (uint32_t)req->lock_delay_ms;
	cmd->name = req->label; /* an OPEN's name is the session's label */
	cmd->name_len = strlen(req->label);
	return true;
}

static bool create_applied(struct node *n, struct ncall *c, uint64_t index,
                           const struct coord_result *r)
{
	char id[COORD_SESSION_ID_HEX + 1];

	if (r->status != COORD_ST_OK)
		return false;
	coord_session_id_format(&r->session, id);
	node_answer(
	    n, c, 201,
	    json_pack("{s:s, s:I, s:I, s:s?, s:I}", "id", id, "ttl_ms", (json_int_t)c->req->ttl_ms,
	              "lock_delay_ms", (json_int_t)c->req->lock_delay_ms, "name",
	              c->req->label[0] ? c->req->label : NULL, "modify_index", (json_int_t)index));
	return true;
}

/* The leader's view of expiry (API.md, Sessions: expires_in_ms) --------------- */

/* Whether R's answer shows the leader's deadlines: a linearizable read
 * answered (on the loop) by a leader whose lease keeper is live. A stale
 * read never does, even on the leader, so what a client gets depends on
 * what it asked for. */
static bool shows_expiry(const struct node_read *r, uint64_t now)
{
	return r->n != NULL && !r->req->stale && node_lease_ready(r->n, now);
}

/* Adds "expires_in_ms" to the session object O: the time left at NOW before
 * the lease keeper expires it (coord_lease_remaining). A session the keeper
 * does not track gets none. Returns 0 or COORD_ENOMEM. */
static int add_expires_in(struct node *n, uint64_t now, json_t *o)
{
	const char *hex = json_string_value(json_object_get(o, "id"));
	struct coord_session_id id;
	uint64_t left;

	if (!hex || coord_session_id_parse(hex, strlen(hex), &id) != 0 ||
	    !coord_lease_remaining(&n->lease, &id, now, &left))
		return 0;
	return json_object_set_new(o, "expires_in_ms", json_integer((json_int_t)left)) == 0
	           ? 0
	           : COORD_ENOMEM;
}

/* GET /v1/sessions?after=&limit=, GET /v1/sessions/{id} ---------------------- */

/* A page of the listing (?after=&limit=); the decoder checked the form of
 * ?after=, so it parses. */
static int list_query(struct node_read *r, json_t **body, uint64_t *modify_index)
{
	const struct http_request *req = r->req;
	struct coord_session_id after;
	bool paged = req->after[0] != '\0';
	int rc = paged ? coord_session_id_parse(req->after, strlen(req->after), &after) : 0;
	uint64_t now = node_now_ms();

	if (rc == 0)
		rc = coord_sm_query_sessions(r->reader, paged ? &after : NULL, req->limit, body);
	if (rc == 0 && shows_expiry(r, now)) {
		json_t *page = json_object_get(*body, "sessions");

		for (size_t i = 0; rc == 0 && i < json_array_size(page); i++)
			rc = add_expires_in(r->n, now, json_array_get(page, i));
	}
	if (rc == 0 && req->has_index)
		rc = coord_sm_list_index(r->db, COORD_LIST_SESSIONS, modify_index);
	return node_query_done(r, rc, body, NULL);
}

static int get_query(struct node_read *r, json_t **body, uint64_t *modify_index)
{
	struct coord_session_id id;
	int rc = node_api_session(r->req, &id) ? coord_sm_query_session(r->reader, &id, body)
	                                       : COORD_ENOTFOUND;
	uint64_t now = node_now_ms();

	if (rc == COORD_ENOTFOUND)
		return node_read_fail(r, HTTP_ERR_SESSION_NOT_FOUND, NULL,
		                      "no session has that id (or it expired)");
	if (rc == 0 && shows_expiry(r, now))
		rc = add_expires_in(r->n, now, *body);
	if (rc == 0)
		*modify_index = node_body_modify_index(*body);
	return node_query_done(r, rc, body, NULL);
}

/* GET /v1/sessions/{id}/events ------------------------------------------------ */

/* Appends {"type":"expiring","expires_in_ms"} to the events of BODY, the
 * answer of a live session (it has "ttl_ms"), when the lease keeper gives
 * ID less than half its TTL at NOW. Not replicated state: no index, and a
 * long-poll does not wake for it (API.md, Sessions: events). Returns 0 or
 * COORD_ENOMEM. */
static int add_expiring(struct node *n, const struct coord_session_id *id, uint64_t now,
                        json_t *body)
{
	json_int_t ttl = json_integer_value(json_object_get(body, "ttl_ms"));
	uint64_t left;

	if (ttl <= 0 || !coord_lease_remaining(&n->lease, id, now, &left) ||
	    2 * left >= (uint64_t)ttl)
		return 0;
	return json_array_append_new(json_object_get(body, "events"),
	                             json_pack("{s:s, s:I}", "type", "expiring", "expires_in_ms",
	                                       (json_int_t)left)) == 0
	           ? 0
	           : COORD_ENOMEM;
}

/* The session's events after ?index= (EV-1), or a wait for the next; 410
 * when some after it were dropped (EV-2), with the index from which all
 * are kept. "index" is where the next poll starts: every event up to the
 * applied entry is in the answer (or up to ?index=, on a stale node behind
 * it). */
static int events_query(struct node_read *r, json_t **body, uint64_t *modify_index)
{
	const struct http_request *req = r->req;
	struct coord_session_id id;
	uint64_t compacted = 0, now = node_now_ms();
	uint64_t since = req->has_index ? req->index : 0;
	int rc = node_api_session(req, &id)
	             ? coord_sm_query_session_events(r->reader, &id, since, body, modify_index,
	                                             &compacted)
	             : COORD_ENOTFOUND;

	if (rc == COORD_ENOTFOUND)
		return node_read_fail(r, HTTP_ERR_SESSION_NOT_FOUND, NULL,
		                      "no session has that id, or it ended too long ago for its "
		                      "events to be kept");
	if (rc == 0 && req->has_index && req->index < compacted) {
		json_decref(*body);
		*body = NULL;
		return node_read_fail(r, HTTP_ERR_COMPACTED,
		                      json_pack("{s:I}", "index", (json_int_t)compacted),
		                      "the session's events up to index %llu are no longer kept; "
		                      "read them from there",
		                      (unsigned long long)compacted);
	}
	if (rc == 0 && shows_expiry(r, now))
		rc = add_expiring(r->n, &id, now, *body);
	if (rc == 0 &&
	    json_object_set_new(
	        *body, "index",
	        json_integer((json_int_t)(r->applied > since ? r->applied : since))) != 0)
		rc = COORD_ENOMEM;
	return node_query_done(r, rc, body, NULL);
}

/* DELETE /v1/sessions/{id} ---------------------------------------------------- */

static bool close_command(struct node *n, const struct http_request *req, struct coord_cmd *cmd)
{
	(void)n;
	cmd->type = COORD_CMD_CLOSE;
	return node_api_session_cmd(req, cmd);
}

/* The locks a closed session held (elections it led are not locks). */
static json_t *released_json(const struct coord_result *r)
{
	json_t *names = json_array();

	for (size_t i = 0; names && i < r->n_released; i++)
		if (r->released_locks[i].kind == COORD_KIND_LOCK)
			json_array_append_new(names, json_string(r->released_locks[i].name));
	return json_pack("{s:o}", "released", names);
}

static bool close_applied(struct node *n, struct ncall *c, uint64_t index,
                          const struct coord_result *r)
{
	(void)index;
	if (r->status == COORD_ST_OK)
		node_answer(n, c, 200, released_json(r));
	else if (r->status == COORD_ST_SESSION_NOT_FOUND) /* closing is idempotent */
		node_answer(n, c, 200, json_pack("{s:[]}", "released"));
	else
		return false;
	return true;
}

/* POST /v1/sessions/{id}/keepalive -------------------------------------------- */

/* A numbered keepalive is checked against the session's record as of the
 * read point (API.md, Retries): below the last applied seq it is stale and
 * moves no deadline; it never moves the record (keepalives are not in the
 * log). True when it answered C. */
static bool keepalive_stale(struct node *n, struct ncall *c, const struct coord_session_id *id)
{
	uint64_t last = 0;

	if (c->req->seq == 0)
		return false;
	if (coord_sm_session_seq(n->reader, id, &last) != 0) {
		node_answer_error(n, c, HTTP_ERR_UNAVAILABLE, NULL,
		                  "the state could not be read; retry");
		return true;
	}
	if (c->req->seq >= last)
		return false;
	node_answer_stale(n, c, last);
	return true;
}

/* On the leader, after a ReadIndex round that started after the keepalive
 * arrived (rule 5): the lease keeper moves the deadline, then the keepalive
 * is acknowledged (rule 8). */
static void keepalive_answer(struct node *n, struct ncall *c)
{
	struct coord_session_id id;
	uint64_t now = node_now_ms(), deadline = 0;
	json_t *body;
	int rc;

	if (!node_lease_ready(n, now))
		return node_answer_error(n, c, HTTP_ERR_UNAVAILABLE, NULL,
		                         "leadership was lost; retry");
	if (!node_api_session(c->req, &id))
		return node_answer_error(n, c, HTTP_ERR_SESSION_NOT_FOUND, NULL, "no such session");
	if (!node_auth_owns(n, c, &id) || keepalive_stale(n, c, &id))
		return;
	rc = coord_lease_keepalive(&n->lease, &id, now, &deadline);
	if (rc == COORD_EEXPIRING && !c->cancelling) {
		/* Its expiry is proposed: never acknowledged now, and 404 only
		 * once the expiry applies (rule 8). Asked again when everything
		 * proposed so far has applied. */
		c->cancelling = true;
		c->read_index = raft_last_index(n->raft);
		ncall_wait(n, c, W_APPLY, c->deadline_ms);
		return;
	}
	if (rc != 0)
		return node_answer_error(n, c, HTTP_ERR_SESSION_NOT_FOUND, NULL,
		                         "no session has that id (or it expired)");
	if (!node_lease_alive(n, c, &id, now))
		return; /* waits for this turn's ALIVE entry (rule 8, L-3) */
	/* The deadline is now + ttl: keepalives move it to at least that. */
	body =
	    json_pack("{s:s, s:I}", "id", c->req->session, "ttl_ms", (json_int_t)(deadline - now));
	if (add_expires_in(n, now, body) != 0) {
		json_decref(body);
		body = NULL;
	}
	node_answer(n, c, 200, body);
}

const struct node_api node_api_sessions[] = {
    {.op = HTTP_OP_SESSION_CREATE, .command = create_command, .applied = create_applied},
    {.op = HTTP_OP_SESSION_LIST, .query = list_query},
    {.op = HTTP_OP_SESSION_GET, .query = get_query},
    {.op = HTTP_OP_SESSION_EVENTS, .query = events_query},
    {.op = HTTP_OP_SESSION_CLOSE, .command = close_command, .applied = close_applied},
    {.op = HTTP_OP_SESSION_KEEPALIVE, .answer = keepalive_answer},
    {.op = 0},
};
