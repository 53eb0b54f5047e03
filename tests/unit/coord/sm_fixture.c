/* The state-machine test fixture (see sm_fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sm_fixture.h"

#include "commands.h"

int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(sqlite3_open(":memory:", &f->db), SQLITE_OK);
	assert_int_equal(coord_sm_schema(f->db), 0);
	assert_int_equal(coord_sm_reader_open(f->db, &f->reader), 0);
	f->now_ms = 1000000;
	coord_result_init(&f->r);
	*state = f;
	return 0;
}

int fx_teardown(void **state)
{
	struct fx *f = *state;

	coord_result_free(&f->r);
	coord_sm_reader_close(f->reader);
	coord_sm_close(f->sm);
	assert_int_equal(sqlite3_close(f->db), SQLITE_OK); /* no statement left open */
	free(f);
	return 0;
}

struct coord_session_id fx_sid(unsigned n)
{
	struct coord_session_id id;

	memset(&id, 0, sizeof(id));
	id.bytes[0] = 0xc0;
	id.bytes[12] = (uint8_t)(n >> 24);
	id.bytes[13] = (uint8_t)(n >> 16);
	id.bytes[14] = (uint8_t)(n >> 8);
	id.bytes[15] = (uint8_t)n;
	return id;
}

void fx_use_coord_sm(struct fx *f)
{
	assert_int_equal(coord_sm_open(f->db, &f->sm), 0);
}

void fx_batch_begin(struct fx *f)
{
	assert_non_null(f->sm);
	assert_false(f->batch);
	assert_int_equal(sqlite3_exec(f->db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	f->batch = true;
}

void fx_batch_end(struct fx *f)
{
	assert_true(f->batch);
	assert_int_equal(coord_sm_flush(f->sm), 0);
	assert_int_equal(sqlite3_exec(f->db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	f->batch = false;
}

enum coord_status fx_apply_raw(struct fx *f, const void *buf, size_t len)
{
	if (f->batch) {
		assert_int_equal(coord_sm_apply_entry(f->sm, ++f->index, buf, len, &f->r), 0);
		return f->r.status;
	}
	assert_int_equal(sqlite3_exec(f->db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	if (f->sm != NULL) {
		assert_int_equal(coord_sm_apply_entry(f->sm, ++f->index, buf, len, &f->r), 0);
		assert_int_equal(coord_sm_flush(f->sm), 0);
	} else
		assert_int_equal(coord_sm_apply(f->db, ++f->index, buf, len, &f->r), 0);
	assert_int_equal(sqlite3_exec(f->db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	return f->r.status;
}

enum coord_status fx_apply(struct fx *f, const struct coord_cmd *c)
{
	struct coord_cmd numbered = *c;
	void *buf;
	size_t len;
	enum coord_status st;

	if (f->seq != 0 && (sm_cmd_row(c->type)->fields & SM_CMD_F_SEQ)) {
		numbered.seq = f->seq;
		f->seq = 0;
	}
	if (numbered.actor == 0 && coord_cmd_has_actor((int)c->type))
		numbered.actor = f->actor;
	assert_int_equal(coord_cmd_encode_alloc(&numbered, &buf, &len), 0);
	st = fx_apply_raw(f, buf, len);
	free(buf);
	return st;
}

static struct coord_cmd fxCmd(struct fx *f, enum coord_cmd_type type, unsigned s)
{
	struct coord_cmd c;

	memset(&c, 0, sizeof(c));
	c.type = type;
	c.now_ms = f->now_ms;
	c.session = fx_sid(s);
	return c;
}

static void fxName(struct coord_cmd *c, const char *name)
{
	c->name = name;
	c->name_len = strlen(name);
}

enum coord_status fx_open(struct fx *f, unsigned s, uint32_t ttl_ms, uint32_t lock_delay_ms)
{
	struct coord_cmd c = fxCmd(f, COORD_CMD_OPEN, s);

	c.ttl_ms = ttl_ms;
	c.lock_delay_ms = lock_delay_ms;
	fxName(&c, "test");
	return fx_apply(f, &c);
}

enum coord_status fx_close(struct fx *f, unsigned s)
{
	struct coord_cmd c = fxCmd(f, COORD_CMD_CLOSE, s);

	return fx_apply(f, &c);
}

enum coord_status fx_expire(struct fx *f, unsigned s)
{
	struct coord_cmd c = fxCmd(f, COORD_CMD_EXPIRE, s);

	return fx_apply(f, &c);
}

enum coord_status fx_acquire(struct fx *f, unsigned s, enum coord_kind kind, const char *name,
                             enum coord_mode mode, bool queue, const char *value)
{
	struct coord_cmd c = fxCmd(f, COORD_CMD_ACQUIRE, s);

	c.kind = kind;
	c.mode = mode;
	c.queue = queue;
	c.has_value = value != NULL;
	c.value = value;
	c.value_len = value != NULL ? strlen(value) : 0;
	fxName(&c, name);
	return fx_apply(f, &c);
}

enum coord_status fx_lock(struct fx *f, unsigned s, const char *name, enum coord_mode mode,
                          bool queue)
{
	return fx_acquire(f, s, COORD_KIND_LOCK, name, mode, queue, NULL);
}

enum coord_status fx_unlock(struct fx *f, unsigned s, const char *name)
{
	return fx_unlock_token(f, s, name, 0);
}

enum coord_status fx_unlock_token(struct fx *f, unsigned s, const char *name, uint64_t token)
{
	struct coord_cmd c = fxCmd(f, COORD_CMD_RELEASE, s);

	c.kind = COORD_KIND_LOCK;
	c.token = token;
	fxName(&c, name);
	return fx_apply(f, &c);
}

enum coord_status fx_cancel(struct fx *f, unsigned s, enum coord_kind kind, const char *name)
{
	struct coord_cmd c = fxCmd(f, COORD_CMD_CANCEL, s);

	c.kind = kind;
	fxName(&c, name);
	return fx_apply(f, &c);
}

enum coord_status fx_campaign(struct fx *f, unsigned s, const char *name, const char *value,
                              bool queue)
{
	return fx_acquire(f, s, COORD_KIND_ELECTION, name, COORD_MODE_EXCLUSIVE, queue, value);
}

enum coord_status fx_resign(struct fx *f, unsigned s, const char *name)
{
	struct coord_cmd c = fxCmd(f, COORD_CMD_RELEASE, s);

	c.kind = COORD_KIND_ELECTION;
	fxName(&c, name);
	return fx_apply(f, &c);
}

enum coord_status fx_proclaim(struct fx *f, unsigned s, const char *name, const char *value)
{
	struct coord_cmd c = fxCmd(f, COORD_CMD_PROCLAIM, s);

	c.kind = COORD_KIND_ELECTION;
	c.has_value = true;
	c.value = value;
	c.value_len = strlen(value);
	fxName(&c, name);
	return fx_apply(f, &c);
}

enum coord_status fx_wake(struct fx *f)
{
	struct coord_cmd c = fxCmd(f, COORD_CMD_WAKE, 0);

	memset(&c.session, 0, sizeof(c.session));
	return fx_apply(f, &c);
}

json_t *fx_lock_json(struct fx *f, const char *name)
{
	json_t *o = NULL;
	int rv = coord_sm_query_lock(f->reader, name, strlen(name), &o);

	if (rv == COORD_ENOTFOUND)
		return NULL;
	assert_int_equal(rv, 0);
	return o;
}

/* The element of the array KEY of lock NAME whose "session" is S. */
static json_t *fxFindIn(json_t *lock, const char *key, unsigned s)
{
	struct coord_session_id id = fx_sid(s);
	char hex[COORD_SESSION_ID_HEX + 1];
	json_t *arr = json_object_get(lock, key), *e;
	size_t i;

	coord_session_id_format(&id, hex);
	json_array_foreach(arr, i, e)
	{
		if (strcmp(json_string_value(json_object_get(e, "session")), hex) == 0)
			return e;
	}
	return NULL;
}

uint64_t fx_token(struct fx *f, unsigned s, const char *name)
{
	json_t *lock = fx_lock_json(f, name), *h;
	uint64_t token = 0;

	if (lock == NULL)
		return 0;
	h = fxFindIn(lock, "holders", s);
	if (h != NULL)
		token = (uint64_t)json_integer_value(json_object_get(h, "fencing_token"));
	json_decref(lock);
	return token;
}

bool fx_waiting(struct fx *f, unsigned s, const char *name)
{
	json_t *lock = fx_lock_json(f, name);
	bool found;

	if (lock == NULL)
		return false;
	found = fxFindIn(lock, "waiters", s) != NULL;
	json_decref(lock);
	return found;
}

bool fx_granted(const struct fx *f, unsigned s, const char *name)
{
	struct coord_session_id id = fx_sid(s);

	for (size_t i = 0; i < f->r.n_grants; i++)
		if (coord_session_id_equal(&f->r.grants[i].session, &id) &&
		    strcmp(f->r.grants[i].name, name) == 0) {
			assert_int_equal(f->r.grants[i].token, f->index); /* SM-3 */
			return true;
		}
	return false;
}

uint64_t fx_hash(struct fx *f)
{
	uint64_t h = 0;

	if (f->sm != NULL)
		assert_int_equal(coord_sm_hash_state(f->sm, &h), 0);
	else
		assert_int_equal(coord_sm_hash(f->db, &h), 0);
	return h;
}

struct fx *fx_copy(struct fx *f)
{
	struct fx *copy = NULL;
	sqlite3_backup *b;

	assert_int_equal(fx_setup((void **)&copy), 0);
	b = sqlite3_backup_init(copy->db, "main", f->db, "main");
	assert_non_null(b);
	assert_int_equal(sqlite3_backup_step(b, -1), SQLITE_DONE);
	assert_int_equal(sqlite3_backup_finish(b), SQLITE_OK);
	copy->index = f->index;
	copy->now_ms = f->now_ms;
	return copy;
}

/* Every field of two commands is equal (names and values by content). */
void fx_assert_same_cmd(const struct coord_cmd *a, const struct coord_cmd *b)
{
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->now_ms, b->now_ms);
	assert_true(coord_session_id_equal(&a->session, &b->session));
	assert_int_equal(a->ttl_ms, b->ttl_ms);
	assert_int_equal(a->lock_delay_ms, b->lock_delay_ms);
	assert_int_equal(a->kind, b->kind);
	assert_int_equal(a->mode, b->mode);
	assert_int_equal(a->queue, b->queue);
	assert_int_equal(a->has_value, b->has_value);
	assert_int_equal(a->name_len, b->name_len);
	if (a->name_len > 0)
		assert_memory_equal(a->name, b->name, a->name_len);
	assert_int_equal(a->value_len, b->value_len);
	if (a->value_len > 0)
		assert_memory_equal(a->value, b->value, a->value_len);
	assert_true(coord_limits_equal(&a->limits, &b->limits));
	assert_int_equal(a->member, b->member);
	assert_int_equal(a->seq, b->seq);
	assert_int_equal(a->token, b->token);
	assert_int_equal(a->actor, b->actor);
	assert_memory_equal(a->hash, b->hash, sizeof(a->hash));
	assert_int_equal(a->admin, b->admin);
	assert_int_equal(a->bootstrap, b->bootstrap);
	assert_int_equal(a->n_rules, b->n_rules);
	for (size_t i = 0; i < a->n_rules; i++) {
		assert_int_equal(a->rules[i].resource, b->rules[i].resource);
		assert_int_equal(a->rules[i].access, b->rules[i].access);
		assert_int_equal(a->rules[i].prefix_len, b->rules[i].prefix_len);
		if (a->rules[i].prefix_len > 0)
			assert_memory_equal(a->rules[i].prefix, b->rules[i].prefix,
			                    a->rules[i].prefix_len);
	}
	assert_int_equal(a->token_id, b->token_id);
	assert_int_equal(a->kv_flags, b->kv_flags);
	assert_int_equal(a->cas, b->cas);
	assert_int_equal(a->fence_lock_len, b->fence_lock_len);
	if (a->fence_lock_len > 0)
		assert_memory_equal(a->fence_lock, b->fence_lock, a->fence_lock_len);
	assert_int_equal(a->fence_token, b->fence_token);
	assert_int_equal(a->n_checks, b->n_checks);
	for (size_t i = 0; i < a->n_checks; i++) {
		assert_int_equal(a->checks[i].kind, b->checks[i].kind);
		assert_int_equal(a->checks[i].name_len, b->checks[i].name_len);
		if (a->checks[i].name_len > 0)
			assert_memory_equal(a->checks[i].name, b->checks[i].name,
			                    a->checks[i].name_len);
		assert_int_equal(a->checks[i].n, b->checks[i].n);
		assert_true(coord_session_id_equal(&a->checks[i].session, &b->checks[i].session));
	}
	assert_int_equal(a->n_ids, b->n_ids);
	for (size_t i = 0; i < a->n_ids; i++)
		assert_true(coord_session_id_equal(&a->ids[i], &b->ids[i]));
	assert_int_equal(a->n_ops, b->n_ops);
	for (size_t i = 0; i < a->n_ops; i++) {
		assert_int_equal(a->ops[i].kind, b->ops[i].kind);
		assert_int_equal(a->ops[i].ephemeral, b->ops[i].ephemeral);
		assert_int_equal(a->ops[i].key_len, b->ops[i].key_len);
		assert_memory_equal(a->ops[i].key, b->ops[i].key, a->ops[i].key_len);
		assert_int_equal(a->ops[i].value_len, b->ops[i].value_len);
		if (a->ops[i].value_len > 0)
			assert_memory_equal(a->ops[i].value, b->ops[i].value, a->ops[i].value_len);
	}
}
