/* libcoord's typed calls: sessions, locks and elections as thin wrappers of
 * coordc_call (libcoord.h), and the library's error table. */
#include "libcoord.h"

#include <stdio.h>
#include <string.h>

#include "calls.h"

static const char *const errors[COORDC_ERR_COUNT] = {
    [COORDC_OK] = "ok",
    [COORDC_ERR_NOMEM] = "out of memory",
    [COORDC_ERR_INVALID] = "invalid argument (endpoint list, URL or name too long)",
    [COORDC_ERR_CURL] = "libcurl could not be initialised",
    [COORDC_ERR_THREAD] = "the keepalive thread could not be started",
};

const char *coordc_strerror(int err)
{
	if (err < 0 || err >= COORDC_ERR_COUNT)
		return "unknown error";
	return errors[err];
}

void coordc_reply_clear(struct coordc_reply *reply)
{
	json_decref(reply->body);
	memset(reply, 0, sizeof(*reply));
}

int coordc_path(char path[COORDC_URL_MAX], const char *prefix, const char *name, const char *suffix)
{
	int n = snprintf(path, COORDC_URL_MAX, "%s%s%s", prefix, name, suffix);

	return n < 0 || n >= COORDC_URL_MAX ? COORDC_ERR_INVALID : COORDC_OK;
}

int coordc_call_owned(struct coordc *c, const char *method, const char *path, json_t *body,
                      unsigned flags, uint32_t timeout_ms, struct coordc_reply *reply)
{
	int rc;

	if (body == NULL)
		return COORDC_ERR_NOMEM;
	rc = coordc_call(c, method, path, body, flags, timeout_ms, reply);
	json_decref(body);
	return rc;
}

static uint64_t reply_u64(const struct coordc_reply *reply, const char *outer, const char *key);

/* Sends BODY (reference taken over; NULL: out of memory), a request of a
 * session, with the next number (libcoord.h): resends after a lost answer
 * carry the same number. A first attempt refused as stale_request changed
 * nothing and goes once more above the session's number; stale_request
 * after more attempts may follow an attempt that applied unseen: unknown. */
static int call_numbered(struct coordc *c, const char *method, const char *path, json_t *body,
                         uint32_t timeout_ms, struct coordc_reply *reply)
{
	uint64_t above = 0;
	int rc = body == NULL ? COORDC_ERR_NOMEM : COORDC_OK;

	for (int round = 0; rc == COORDC_OK && round < 2; round++) {
		json_int_t seq = (json_int_t)coordc_next_seq(c, above);

		if (round > 0)
			coordc_reply_clear(reply);
		if (json_object_set_new(body, "seq", json_integer(seq)) != 0) {
			rc = COORDC_ERR_NOMEM;
			break;
		}
		rc = coordc_call(c, method, path, body, COORDC_IDEMPOTENT, timeout_ms, reply);
		if (rc != COORDC_OK || reply->kind != COORDC_DONE_ERROR ||
		    strcmp(reply->error, "stale_request") != 0)
			break;
		if (reply->attempts > 1) {
			reply->kind = COORDC_DONE_UNKNOWN;
			break;
		}
		above = reply_u64(reply, NULL, "seq");
	}
	json_decref(body);
	return rc;
}

uint32_t coordc_wait_timeout(uint64_t wait_ms)
{
	return wait_ms == 0 ? 0 : (uint32_t)(wait_ms + 5000);
}

static uint64_t reply_u64(const struct coordc_reply *reply, const char *outer, const char *key)
{
	const json_t *o = outer ? json_object_get(reply->body, outer) : reply->body;

	return (uint64_t)json_integer_value(json_object_get(o, key));
}

int coordc_session_create(struct coordc *c, uint32_t ttl_ms, const char *label, char *id,
                          uint64_t *sent_ms, struct coordc_reply *reply)
{
	json_t *body = json_pack("{s:I}", "ttl_ms", (json_int_t)ttl_ms);
	const char *got;
	int rc;

	if (body && label && json_object_set_new(body, "name", json_string(label)) != 0) {
		json_decref(body);
		return COORDC_ERR_NOMEM;
	}
	/* The lease starts no earlier than the send of the first attempt that
	 * could have created the session; the last attempt's send is later
	 * than that, and an earlier time only makes the client more careful. */
	*sent_ms = coordc_now_ms();
	rc = coordc_call_owned(c, "POST", "/v1/sessions", body, 0, 0, reply);
	if (rc != COORDC_OK || reply->kind != COORDC_DONE_OK)
		return rc;
	got = json_string_value(json_object_get(reply->body, "id"));
	if (got == NULL || strlen(got) >= COORDC_SESSION_MAX) {
		reply->kind = COORDC_DONE_UNKNOWN;
		snprintf(reply->error, sizeof(reply->error), "bad_answer");
		snprintf(reply->message, sizeof(reply->message), "no usable session id");
		return COORDC_OK;
	}
	snprintf(id, COORDC_SESSION_MAX, "%s", got);
	return COORDC_OK;
}

int coordc_session_close(struct coordc *c, const char *id, struct coordc_reply *reply)
{
	char path[COORDC_URL_MAX];

	if (coordc_path(path, "/v1/sessions/", id, "") != COORDC_OK)
		return COORDC_ERR_INVALID;
	return call_numbered(c, "DELETE", path, json_object(), 0, reply);
}

int coordc_lock_acquire(struct coordc *c, const char *name, const char *session, bool shared,
                        uint64_t wait_ms, const char *value, uint64_t *token,
                        struct coordc_reply *reply)
{
	char path[COORDC_URL_MAX];
	json_t *body;
	int rc;

	if (coordc_path(path, "/v1/locks/", name, "") != COORDC_OK)
		return COORDC_ERR_INVALID;
	body = json_pack("{s:s, s:s, s:I}", "session", session, "mode",
	                 shared ? "shared" : "exclusive", "wait_ms", (json_int_t)wait_ms);
	if (body && value && json_object_set_new(body, "value", json_string(value)) != 0) {
		json_decref(body);
		return COORDC_ERR_NOMEM;
	}
	rc = call_numbered(c, "PUT", path, body, coordc_wait_timeout(wait_ms), reply);
	if (rc == COORDC_OK && reply->kind == COORDC_DONE_OK)
		*token = reply_u64(reply, NULL, "fencing_token");
	return rc;
}

int coordc_lock_release(struct coordc *c, const char *name, const char *session,
                        struct coordc_reply *reply)
{
	char path[COORDC_URL_MAX];

	if (coordc_path(path, "/v1/locks/", name, "") != COORDC_OK)
		return COORDC_ERR_INVALID;
	return call_numbered(c, "DELETE", path, json_pack("{s:s}", "session", session), 0, reply);
}

int coordc_campaign(struct coordc *c, const char *name, const char *session, const char *value,
                    uint64_t wait_ms, uint64_t *token, struct coordc_reply *reply)
{
	char path[COORDC_URL_MAX];
	int rc;

	if (coordc_path(path, "/v1/elections/", name, "") != COORDC_OK)
		return COORDC_ERR_INVALID;
	rc = call_numbered(c, "PUT", path,
	                   json_pack("{s:s, s:s, s:I}", "session", session, "value", value,
	                             "wait_ms", (json_int_t)wait_ms),
	                   coordc_wait_timeout(wait_ms), reply);
	if (rc == COORDC_OK && reply->kind == COORDC_DONE_OK)
		*token = reply_u64(reply, "leader", "fencing_token");
	return rc;
}

int coordc_resign(struct coordc *c, const char *name, const char *session,
                  struct coordc_reply *reply)
{
	char path[COORDC_URL_MAX];

	if (coordc_path(path, "/v1/elections/", name, "") != COORDC_OK)
		return COORDC_ERR_INVALID;
	return call_numbered(c, "DELETE", path, json_pack("{s:s}", "session", session), 0, reply);
}

/* Listings ------------------------------------------------------------------- */

bool coordc_name_chars(const char *s, bool empty_ok)
{
	size_t len = strlen(s);

	return (len > 0 || empty_ok) && len <= COORDC_LIST_KEY_MAX &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-:/") ==
	           len;
}

/* Turns REPLY, the answer to page PAGE (from 1), into a definite error. */
static void list_refused(struct coordc_reply *reply, uint32_t page, const char *why)
{
	reply->kind = COORDC_DONE_ERROR;
	snprintf(reply->error, sizeof(reply->error), "bad_listing");
	snprintf(reply->message, sizeof(reply->message), "page %u: %s", page, why);
}

/* The URL of a page: PATH, then ?limit= (unless 0) and ?after= (unless
 * ""), each joined with '?' or '&' as PATH already has a query or not. */
static int list_url(char url[COORDC_URL_MAX], const char *path, uint32_t limit, const char *after)
{
	const char *sep = strchr(path, '?') ? "&" : "?";
	char lim[32] = "";
	int n;

	if (limit > 0)
		snprintf(lim, sizeof(lim), "%slimit=%u", sep, limit);
	n = snprintf(url, COORDC_URL_MAX, "%s%s%s%s%s", path, lim,
	             after[0] ? (limit > 0 ? "&" : sep) : "", after[0] ? "after=" : "", after);
	return n < 0 || n >= COORDC_URL_MAX ? COORDC_ERR_INVALID : COORDC_OK;
}

/* Where the next page starts: a page's "next" NEXT after the key AFTER
 * (a string key compared as bytes, or a token's id compared as a number,
 * never a mix). Sets AFTER and *DONE (no next: the last page); returns
 * false for a next of another kind or one that does not move forward. */
static bool list_next(const json_t *next, char after[COORDC_LIST_KEY_MAX + 1], uint64_t *after_id,
                      bool *done)
{
	const char *n = json_string_value(next);

	*done = next == NULL || json_is_null(next);
	if (*done)
		return true;
	if (json_is_integer(next)) {
		uint64_t id = (uint64_t)json_integer_value(next);

		if (json_integer_value(next) <= 0 || id <= *after_id ||
		    (after[0] && *after_id == 0))
			return false;
		*after_id = id;
		snprintf(after, COORDC_LIST_KEY_MAX + 1, "%llu", (unsigned long long)id);
		return true;
	}
	/* Keyset paging moves forward: a next that does not would repeat. */
	if (n == NULL || *after_id != 0 || !coordc_name_chars(n, false) || strcmp(n, after) <= 0)
		return false;
	snprintf(after, COORDC_LIST_KEY_MAX + 1, "%s", n);
	return true;
}

int coordc_list(struct coordc *c, const char *path, const char *key, uint32_t limit,
                uint32_t pages_max, json_t **items, struct coordc_reply *reply)
{
	return coordc_list_pages(c, path, key, limit, pages_max, NULL, NULL, items, reply);
}

int coordc_list_pages(struct coordc *c, const char *path, const char *key, uint32_t limit,
                      uint32_t pages_max, const char *index_key, uint64_t *first_index,
                      json_t **items, struct coordc_reply *reply)
{
	char url[COORDC_URL_MAX], after[COORDC_LIST_KEY_MAX + 1] = "";
	uint64_t after_id = 0;
	json_t *all = json_array();
	int rc = all == NULL ? COORDC_ERR_NOMEM : COORDC_OK;

	*items = NULL;
	memset(reply, 0, sizeof(*reply));
	if (pages_max == 0)
		rc = COORDC_ERR_INVALID;
	for (uint32_t page = 1; rc == COORDC_OK; page++) {
		json_t *got;
		bool done;

		if (page > pages_max) { /* the listing kept going: give up rather than loop */
			list_refused(reply, pages_max, "the listing has not ended after this page");
			break;
		}
		if ((rc = list_url(url, path, limit, after)) != COORDC_OK)
			break;
		coordc_reply_clear(reply);
		rc = coordc_call(c, "GET", url, NULL, COORDC_IDEMPOTENT, 0, reply);
		if (rc != COORDC_OK || reply->kind != COORDC_DONE_OK)
			break;
		got = json_object_get(reply->body, key);
		if (!json_is_array(got)) {
			list_refused(reply, page, "not a page of the listing");
			break;
		}
		if (page == 1 && index_key != NULL) {
			const json_t *index = json_object_get(reply->body, index_key);

			if (!json_is_integer(index) || json_integer_value(index) < 0) {
				list_refused(reply, page, "no index to watch from");
				break;
			}
			*first_index = (uint64_t)json_integer_value(index);
		}
		if (!list_next(json_object_get(reply->body, "next"), after, &after_id, &done)) {
			list_refused(reply, page, "its next does not move past the key before");
			break;
		}
		if (json_array_extend(all, got) != 0) {
			rc = COORDC_ERR_NOMEM;
			break;
		}
		if (done) { /* the last page (or a server that does not page) */
			*items = all;
			return COORDC_OK;
		}
	}
	json_decref(all);
	return rc;
}
