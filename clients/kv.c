/* libcoord's key/value calls (docs/API.md, Key/value; libcoord.h): get,
 * put and delete with their conditions, the paged listing of a prefix, and
 * one long-poll of a prefix watch, each answer checked against the
 * contract before a caller relies on it. */
#include "libcoord.h"

#include <stdio.h>
#include <string.h>

#include "calls.h"

#define KV_NUMBER_MAX ((uint64_t)INT64_MAX) /* a cas or fence token (API.md, Limits) */

/* A definite error of the library's own making, on a read's answer. */
static void refuse(struct coordc_reply *reply, const char *error, const char *why)
{
	reply->kind = COORDC_DONE_ERROR;
	snprintf(reply->error, sizeof(reply->error), "%s", error);
	snprintf(reply->message, sizeof(reply->message), "%s", why);
}

/* Adds COND's fields to BODY ("cas" unless the write has none, "fence").
 * Returns COORDC_OK, COORDC_ERR_INVALID (a number out of range, a fence
 * lock outside the alphabet) or COORDC_ERR_NOMEM. */
static int add_cond(json_t *body, const struct coordc_kv_cond *cond)
{
	if (cond == NULL)
		return COORDC_OK;
	if (cond->has_cas) {
		if (cond->cas > KV_NUMBER_MAX)
			return COORDC_ERR_INVALID;
		if (json_object_set_new(body, "cas", json_integer((json_int_t)cond->cas)) != 0)
			return COORDC_ERR_NOMEM;
	}
	if (cond->fence_lock != NULL) {
		json_t *fence;

		if (!coordc_name_chars(cond->fence_lock, false) || cond->fence_token == 0 ||
		    cond->fence_token > KV_NUMBER_MAX)
			return COORDC_ERR_INVALID;
		fence = json_pack("{s:s, s:I}", "lock", cond->fence_lock, "token",
		                  (json_int_t)cond->fence_token);
		if (fence == NULL || json_object_set_new(body, "fence", fence) != 0)
			return COORDC_ERR_NOMEM;
	}
	return COORDC_OK;
}

/* The path of KEY, refusing a key a URL cannot carry as it is. */
static int key_path(char path[COORDC_URL_MAX], const char *key, const char *suffix)
{
	if (!coordc_name_chars(key, false))
		return COORDC_ERR_INVALID;
	return coordc_path(path, "/v1/kv/", key, suffix);
}

int coordc_kv_get(struct coordc *c, const char *key, bool stale, const char **value,
                  struct coordc_reply *reply)
{
	char path[COORDC_URL_MAX];
	const char *got;
	int rc;

	memset(reply, 0, sizeof(*reply));
	if (value != NULL)
		*value = NULL;
	rc = key_path(path, key, stale ? "?consistency=stale" : "");
	if (rc != COORDC_OK)
		return rc;
	rc = coordc_call(c, "GET", path, NULL, COORDC_IDEMPOTENT, 0, reply);
	if (rc != COORDC_OK || reply->kind != COORDC_DONE_OK)
		return rc;
	got = json_string_value(json_object_get(reply->body, "value"));
	if (got == NULL)
		refuse(reply, "bad_answer", "the key's answer has no value");
	else if (value != NULL)
		*value = got;
	return COORDC_OK;
}

/* Sends the write METHOD of KEY with BODY (reference taken over, NULL: out
 * of memory) and COND: never resent once it may have reached a node. */
static int kv_write(struct coordc *c, const char *method, const char *key, json_t *body,
                    const struct coordc_kv_cond *cond, struct coordc_reply *reply)
{
	char path[COORDC_URL_MAX];
	int rc = body == NULL ? COORDC_ERR_NOMEM : key_path(path, key, "");

	memset(reply, 0, sizeof(*reply));
	if (rc == COORDC_OK)
		rc = add_cond(body, cond);
	if (rc != COORDC_OK) {
		json_decref(body);
		return rc;
	}
	return coordc_call_owned(c, method, path, body, 0, 0, reply);
}

int coordc_kv_put(struct coordc *c, const char *key, const char *value, const char *session,
                  const struct coordc_kv_cond *cond, uint64_t *modify_index,
                  struct coordc_reply *reply)
{
	json_t *body = json_object();
	const json_t *mi;
	int rc;

	/* json_string refuses text that is not UTF-8: the API's values are. */
	if (body != NULL && (json_object_set_new(body, "value", json_string(value)) != 0 ||
	                     (session != NULL &&
	                      json_object_set_new(body, "session", json_string(session)) != 0))) {
		json_decref(body);
		memset(reply, 0, sizeof(*reply));
		return COORDC_ERR_INVALID;
	}
	rc = kv_write(c, "PUT", key, body, cond, reply);
	if (rc != COORDC_OK || reply->kind != COORDC_DONE_OK)
		return rc;
	mi = json_object_get(reply->body, "modify_index");
	if (modify_index != NULL)
		*modify_index = json_is_integer(mi) ? (uint64_t)json_integer_value(mi) : 0;
	return COORDC_OK;
}

int coordc_kv_delete(struct coordc *c, const char *key, const struct coordc_kv_cond *cond,
                     bool *deleted, struct coordc_reply *reply)
{
	int rc = kv_write(c, "DELETE", key, json_object(), cond, reply);

	if (rc == COORDC_OK && reply->kind == COORDC_DONE_OK && deleted != NULL)
		*deleted = json_is_true(json_object_get(reply->body, "deleted"));
	return rc;
}

int coordc_kv_list(struct coordc *c, const char *prefix, uint32_t limit, uint32_t pages_max,
                   json_t **keys, uint64_t *index, struct coordc_reply *reply)
{
	char path[COORDC_URL_MAX];
	uint64_t first = 0;
	int rc;

	*keys = NULL;
	memset(reply, 0, sizeof(*reply));
	if (!coordc_name_chars(prefix, true))
		return COORDC_ERR_INVALID;
	rc = coordc_path(path, "/v1/kv?prefix=", prefix, "");
	if (rc == COORDC_OK)
		rc = coordc_list_pages(c, path, "keys", limit, pages_max, "index", &first, keys,
		                       reply);
	if (rc == COORDC_OK && *keys != NULL && index != NULL)
		*index = first;
	return rc;
}

/* Whether CHANGES is a watch's list of changes after INDEX, none after NEXT. */
static bool changes_ok(const json_t *changes, uint64_t index, uint64_t next)
{
	const json_t *ch;
	size_t i;

	if (!json_is_array(changes))
		return false;
	json_array_foreach(changes, i, ch)
	{
		const char *what = json_string_value(json_object_get(ch, "change"));
		const json_t *mi = json_object_get(ch, "modify_index");

		if (!json_is_string(json_object_get(ch, "key")) || what == NULL ||
		    (strcmp(what, "put") != 0 && strcmp(what, "delete") != 0) ||
		    !json_is_integer(mi) || (uint64_t)json_integer_value(mi) <= index ||
		    (uint64_t)json_integer_value(mi) > next)
			return false;
	}
	return true;
}

int coordc_kv_watch(struct coordc *c, const char *prefix, uint64_t index, uint64_t wait_ms,
                    const json_t **changes, uint64_t *next, struct coordc_reply *reply)
{
	char path[COORDC_URL_MAX], query[64];
	const json_t *got, *m;
	int rc;

	*changes = NULL;
	*next = 0;
	memset(reply, 0, sizeof(*reply));
	if (wait_ms == 0)
		wait_ms = COORDC_KV_WAIT_DEFAULT_MS;
	if (!coordc_name_chars(prefix, true) || wait_ms > COORDC_WAIT_MAX_MS)
		return COORDC_ERR_INVALID;
	snprintf(query, sizeof(query), "&index=%llu&wait=%llums", (unsigned long long)index,
	         (unsigned long long)wait_ms);
	rc = coordc_path(path, "/v1/kv?prefix=", prefix, query);
	if (rc == COORDC_OK)
		rc = coordc_call(c, "GET", path, NULL, COORDC_IDEMPOTENT,
		                 coordc_wait_timeout(wait_ms), reply);
	if (rc != COORDC_OK)
		return rc;
	m = json_object_get(reply->body, "index");
	if (reply->kind != COORDC_DONE_OK) {
		if (reply->status == 410 && json_is_integer(m) && json_integer_value(m) > 0)
			*next = (uint64_t)json_integer_value(m);
		return COORDC_OK;
	}
	got = json_object_get(reply->body, "changes");
	if (!json_is_integer(m) || json_integer_value(m) < 0 ||
	    !changes_ok(got, index, (uint64_t)json_integer_value(m))) {
		refuse(reply, "bad_answer", "not a watch's answer: changes after the index asked");
		return COORDC_OK;
	}
	*changes = got;
	*next = (uint64_t)json_integer_value(m);
	return COORDC_OK;
}
