/* libcoord's cluster operations: the configuration's members, adding,
 * promoting, removing and replacing one, and moving the leadership
 * (docs/API.md, Cluster and operations; libcoord.h). Answers are parsed
 * into fixed structs, each field checked against the contract. */
#include "libcoord.h"

#include <stdio.h>
#include <string.h>

/* The answer's shape is not the contract's. A read had no effect, so that is
 * a definite error; a change may have been made: unknown. */
static void bad_answer(struct coordc_reply *reply, bool change, const char *why)
{
	reply->kind = change ? COORDC_DONE_UNKNOWN : COORDC_DONE_ERROR;
	snprintf(reply->error, sizeof(reply->error), "bad_answer");
	snprintf(reply->message, sizeof(reply->message), "%s", why);
}

/* Copies the string J (NULL or null: "") into OUT of COORDC_ADDR_MAX bytes;
 * false if J is something else or too long. */
static bool addr_copy(const json_t *j, bool nullable, char out[COORDC_ADDR_MAX])
{
	out[0] = '\0';
	if (nullable && (j == NULL || json_is_null(j)))
		return true;
	if (!json_is_string(j) || json_string_length(j) == 0 ||
	    json_string_length(j) >= COORDC_ADDR_MAX)
		return false;
	memcpy(out, json_string_value(j), json_string_length(j) + 1);
	return true;
}

static bool positive(const json_t *j)
{
	return json_is_integer(j) && json_integer_value(j) > 0;
}

static bool member_parse(const json_t *j, struct coordc_member *m)
{
	const char *role = json_string_value(json_object_get(j, "role"));
	const json_t *match = json_object_get(j, "match_index");
	const json_t *contact = json_object_get(j, "last_contact_ms");

	memset(m, 0, sizeof(*m));
	if (!json_is_object(j) || !positive(json_object_get(j, "id")) || role == NULL ||
	    (strcmp(role, "voter") != 0 && strcmp(role, "learner") != 0) ||
	    (!json_is_null(match) && (!json_is_integer(match) || json_integer_value(match) < 0)) ||
	    !addr_copy(json_object_get(j, "raft"), false, m->raft) ||
	    !addr_copy(json_object_get(j, "http"), true, m->http))
		return false;
	if (contact != NULL && !json_is_null(contact) &&
	    (!json_is_integer(contact) || json_integer_value(contact) < 0))
		return false;
	m->id = (uint64_t)json_integer_value(json_object_get(j, "id"));
	m->voter = strcmp(role, "voter") == 0;
	m->match_index = (uint64_t)json_integer_value(match);
	m->last_contact_ms = json_is_integer(contact) ? (int64_t)json_integer_value(contact) : -1;
	return true;
}

/* Fills OUT from the array ARR; false if it is not a list of members with
 * distinct ids, or holds more than COORDC_MEMBERS_MAX. */
static bool members_parse(const json_t *arr, struct coordc_members *out)
{
	size_t i;
	const json_t *j;

	if (!json_is_array(arr) || json_array_size(arr) > COORDC_MEMBERS_MAX)
		return false;
	json_array_foreach(arr, i, j)
	{
		if (!member_parse(j, &out->member[i]) ||
		    coordc_members_find(out, out->member[i].id) != NULL)
			return false;
		out->n = (unsigned)i + 1;
	}
	return true;
}

const struct coordc_member *coordc_members_find(const struct coordc_members *m, uint64_t id)
{
	for (unsigned i = 0; i < m->n; i++)
		if (m->member[i].id == id)
			return &m->member[i];
	return NULL;
}

int coordc_members_get(struct coordc *c, struct coordc_members *out, struct coordc_reply *reply)
{
	const json_t *leader, *index, *joint;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = coordc_call(c, "GET", "/v1/members", NULL, COORDC_IDEMPOTENT, 0, reply);
	if (rc != COORDC_OK || reply->kind != COORDC_DONE_OK)
		return rc;
	leader = json_object_get(reply->body, "leader");
	index = json_object_get(reply->body, "config_index");
	joint = json_object_get(reply->body, "joint");
	if (!members_parse(json_object_get(reply->body, "members"), out) ||
	    !(json_is_null(leader) || positive(leader)) || !json_is_integer(index) ||
	    json_integer_value(index) < 0 || !json_is_boolean(joint)) {
		memset(out, 0, sizeof(*out));
		bad_answer(reply, false, "not a list of members");
		return COORDC_OK;
	}
	out->leader = json_is_null(leader) ? 0 : (uint64_t)json_integer_value(leader);
	out->config_index = (uint64_t)json_integer_value(index);
	out->joint = json_is_true(joint);
	return COORDC_OK;
}

/* Sends a change: METHOD PATH with BODY (reference taken over; NULL for no
 * body), one attempt's wait COORDC_CHANGE_TIMEOUT_MS. */
static int change(struct coordc *c, const char *method, const char *path, json_t *body,
                  bool has_body, struct coordc_reply *reply)
{
	int rc;

	if (has_body && body == NULL)
		return COORDC_ERR_NOMEM;
	rc = coordc_call(c, method, path, body, 0, COORDC_CHANGE_TIMEOUT_MS, reply);
	json_decref(body);
	return rc;
}

/* "/v1/members/{id}SUFFIX" */
static void member_path(char path[COORDC_URL_MAX], uint64_t id, const char *suffix)
{
	snprintf(path, COORDC_URL_MAX, "/v1/members/%llu%s", (unsigned long long)id, suffix);
}

/* An answer {"member":{...}} into OUT (may be NULL). */
static void member_answer(struct coordc_reply *reply, struct coordc_member *out)
{
	struct coordc_member m;

	if (!member_parse(json_object_get(reply->body, "member"), &m)) {
		bad_answer(reply, true, "no member in the answer");
		return;
	}
	if (out != NULL)
		*out = m;
}

int coordc_member_add(struct coordc *c, uint64_t id, const char *raft, struct coordc_member *out,
                      struct coordc_reply *reply)
{
	int rc;

	memset(reply, 0, sizeof(*reply));
	if (id == 0 || raft == NULL || raft[0] == '\0' || strlen(raft) >= COORDC_ADDR_MAX)
		return COORDC_ERR_INVALID;
	rc = change(c, "POST", "/v1/members",
	            json_pack("{s:I, s:s}", "id", (json_int_t)id, "raft", raft), true, reply);
	if (rc == COORDC_OK && reply->kind == COORDC_DONE_OK)
		member_answer(reply, out);
	return rc;
}

int coordc_member_promote(struct coordc *c, uint64_t id, struct coordc_member *out, uint64_t *lag,
                          struct coordc_reply *reply)
{
	char path[COORDC_URL_MAX];
	const json_t *l;
	int rc;

	memset(reply, 0, sizeof(*reply));
	if (lag != NULL)
		*lag = 0;
	if (id == 0)
		return COORDC_ERR_INVALID;
	member_path(path, id, "/promote");
	rc = change(c, "POST", path, NULL, false, reply);
	if (rc != COORDC_OK)
		return rc;
	if (reply->kind == COORDC_DONE_OK) {
		member_answer(reply, out);
	} else if (strcmp(reply->error, "not_caught_up") == 0 && lag != NULL) {
		l = json_object_get(reply->body, "lag");
		*lag = json_is_integer(l) && json_integer_value(l) > 0
		           ? (uint64_t)json_integer_value(l)
		           : 0;
	}
	return COORDC_OK;
}

int coordc_member_remove(struct coordc *c, uint64_t id, struct coordc_reply *reply)
{
	char path[COORDC_URL_MAX];
	const json_t *removed;
	int rc;

	memset(reply, 0, sizeof(*reply));
	if (id == 0)
		return COORDC_ERR_INVALID;
	member_path(path, id, "");
	rc = change(c, "DELETE", path, NULL, false, reply);
	if (rc != COORDC_OK || reply->kind != COORDC_DONE_OK)
		return rc;
	removed = json_object_get(reply->body, "removed");
	if (!json_is_integer(removed) || (uint64_t)json_integer_value(removed) != id)
		bad_answer(reply, true, "the answer does not name the member removed");
	return COORDC_OK;
}

int coordc_member_replace(struct coordc *c, uint64_t old_id, uint64_t new_id, const char *raft,
                          struct coordc_members *out, struct coordc_reply *reply)
{
	struct coordc_members m = {0};
	int rc;

	memset(reply, 0, sizeof(*reply));
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (old_id == 0 || new_id == 0 || old_id == new_id || raft == NULL || raft[0] == '\0' ||
	    strlen(raft) >= COORDC_ADDR_MAX)
		return COORDC_ERR_INVALID;
	rc = change(c, "POST", "/v1/members/replace",
	            json_pack("{s:I, s:{s:I, s:s}}", "remove", (json_int_t)old_id, "add", "id",
	                      (json_int_t)new_id, "raft", raft),
	            true, reply);
	if (rc != COORDC_OK || reply->kind != COORDC_DONE_OK)
		return rc;
	if (!members_parse(json_object_get(reply->body, "members"), &m))
		bad_answer(reply, true, "not a list of members");
	else if (out != NULL)
		*out = m;
	return COORDC_OK;
}

int coordc_leader_transfer(struct coordc *c, uint64_t id, uint64_t *leader,
                           struct coordc_reply *reply)
{
	const json_t *l;
	int rc;

	memset(reply, 0, sizeof(*reply));
	*leader = 0;
	rc =
	    change(c, "POST", "/v1/leader/transfer",
	           id == 0 ? json_object() : json_pack("{s:I}", "id", (json_int_t)id), true, reply);
	if (rc != COORDC_OK || reply->kind != COORDC_DONE_OK)
		return rc;
	l = json_object_get(reply->body, "leader");
	if (!positive(l) || (id != 0 && (uint64_t)json_integer_value(l) != id))
		bad_answer(reply, true, "the answer does not name the new leader");
	else
		*leader = (uint64_t)json_integer_value(l);
	return COORDC_OK;
}
