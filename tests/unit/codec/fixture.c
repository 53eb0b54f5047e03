/* fixture.c: see fixture.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"

static uint8_t fixture_payload[FIXTURE_ENTRIES][40];
static uint8_t fixture_conf_bytes[RAFT_CONF_MAX_BYTES];
static uint8_t fixture_chunk[300];
static struct raft_entry fixture_entries[FIXTURE_ENTRIES];
static struct raft_msg fixture_m;

void fixture_conf(struct raft_conf *conf, bool joint)
{
	memset(conf, 0, sizeof(*conf));
	conf->n = 3;
	conf->joint = joint;
	for (uint32_t i = 0; i < conf->n; i++) {
		conf->servers[i].id = 100 + i;
		/* Voters are bound to a folder; the learner is not. */
		conf->servers[i].folder = i == 2 ? 0 : UINT64_C(0xf01de5000000000) + i;
		conf->servers[i].role = i == 2 ? RAFT_LEARNER : RAFT_VOTER;
		conf->servers[i].old_role = joint && i == 1 ? RAFT_LEARNER : RAFT_VOTER;
		snprintf(conf->servers[i].addr, RAFT_ADDR_MAX, "10.0.0.%u:7000", i + 1);
	}
}

/* Entries: a NORMAL one with data, a NOOP without, a CONF one. */
static void fixture_fill_entries(struct raft_msg *m)
{
	struct raft_conf conf;

	for (size_t i = 0; i < FIXTURE_ENTRIES; i++)
		memset(fixture_payload[i], (int)(0xa0 + i), sizeof(fixture_payload[i]));
	fixture_entries[0] = (struct raft_entry){.term = 7,
	                                         .index = 42,
	                                         .type = RAFT_ENTRY_NORMAL,
	                                         .len = 40,
	                                         .data = fixture_payload[0]};
	fixture_entries[1] = (struct raft_entry){.term = 7, .index = 43, .type = RAFT_ENTRY_NOOP};
	fixture_conf(&conf, false);
	fixture_entries[2] = (struct raft_entry){.term = 8, .index = 44, .type = RAFT_ENTRY_CONF};
	fixture_entries[2].len =
	    (uint32_t)raft_conf_encode(&conf, fixture_conf_bytes, sizeof(fixture_conf_bytes));
	fixture_entries[2].data = fixture_conf_bytes;
	m->n_entries = FIXTURE_ENTRIES;
	m->entries = fixture_entries;
}

const struct raft_msg *fixture_msg(int type)
{
	struct raft_msg *m = &fixture_m;

	memset(m, 0, sizeof(*m));
	m->type = (uint8_t)type;
	m->from = 1;
	m->to = 2;
	m->term = 9;
	switch (type) {
	case RAFT_MSG_PREVOTE:
	case RAFT_MSG_VOTE:
		m->index = 41;
		m->log_term = 6;
		m->transfer = true;
		break;
	case RAFT_MSG_PREVOTE_RESP:
	case RAFT_MSG_VOTE_RESP:
		m->reject = true;
		break;
	case RAFT_MSG_APPEND:
		m->index = 41;
		m->log_term = 6;
		m->commit = 40;
		fixture_fill_entries(m);
		break;
	case RAFT_MSG_APPEND_RESP:
		m->index = 41;
		m->reject = true;
		m->hint_index = 30;
		m->hint_term = 5;
		break;
	case RAFT_MSG_HEARTBEAT:
		m->commit = 40;
		m->ctx = 77;
		break;
	case RAFT_MSG_HEARTBEAT_RESP:
		m->ctx = 77;
		break;
	case RAFT_MSG_SNAPSHOT:
		m->snap.index = 500;
		m->snap.term = 6;
		m->snap.size = 1000;
		m->snap.crc = 0xC0FFEE42u;
		fixture_conf(&m->snap.conf, true);
		for (size_t i = 0; i < sizeof(fixture_chunk); i++)
			fixture_chunk[i] = (uint8_t)(i * 7);
		m->offset = 700;
		m->len = sizeof(fixture_chunk);
		m->data = fixture_chunk;
		m->last = true;
		break;
	case RAFT_MSG_SNAPSHOT_RESP:
		m->index = 500;
		m->reject = true;
		m->offset = 700;
		break;
	case RAFT_MSG_TIMEOUT_NOW:
		break;
	default:
		fail_msg("no sample for type %d", type);
	}
	return m;
}

size_t fixture_encode(const struct raft_msg *msg, uint8_t *buf)
{
	size_t n = 0;

	assert_int_equal(raft_codec_encode(msg, buf, FIXTURE_FRAME_MAX, &n), RAFT_CODEC_OK);
	assert_int_equal(n, raft_codec_size(msg));
	return n;
}

void fixture_assert_conf_equal(const struct raft_conf *a, const struct raft_conf *b)
{
	assert_int_equal(a->n, b->n);
	assert_int_equal(a->joint, b->joint);
	for (uint32_t i = 0; i < a->n; i++) {
		assert_int_equal(a->servers[i].id, b->servers[i].id);
		assert_int_equal(a->servers[i].folder, b->servers[i].folder);
		assert_int_equal(a->servers[i].role, b->servers[i].role);
		assert_int_equal(a->servers[i].old_role, b->servers[i].old_role);
		assert_string_equal(a->servers[i].addr, b->servers[i].addr);
	}
}

static void fixture_assert_bytes(const uint8_t *a, const uint8_t *b, size_t n)
{
	if (n == 0)
		return;
	assert_non_null(a);
	assert_non_null(b);
	assert_memory_equal(a, b, n);
}

void fixture_assert_msg_equal(const struct raft_msg *a, const struct raft_msg *b)
{
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->from, b->from);
	assert_int_equal(a->to, b->to);
	assert_int_equal(a->term, b->term);
	assert_int_equal(a->index, b->index);
	assert_int_equal(a->log_term, b->log_term);
	assert_int_equal(a->commit, b->commit);
	assert_int_equal(a->reject, b->reject);
	assert_int_equal(a->hint_index, b->hint_index);
	assert_int_equal(a->hint_term, b->hint_term);
	assert_int_equal(a->ctx, b->ctx);
	assert_int_equal(a->transfer, b->transfer);
	assert_int_equal(a->n_entries, b->n_entries);
	for (uint32_t i = 0; i < a->n_entries; i++) {
		const struct raft_entry *x = &a->entries[i], *y = &b->entries[i];

		assert_int_equal(x->term, y->term);
		assert_int_equal(x->index, y->index);
		assert_int_equal(x->type, y->type);
		assert_int_equal(x->len, y->len);
		fixture_assert_bytes(x->data, y->data, x->len);
	}
	assert_int_equal(a->snap.index, b->snap.index);
	assert_int_equal(a->snap.term, b->snap.term);
	assert_int_equal(a->snap.size, b->snap.size);
	assert_int_equal(a->snap.crc, b->snap.crc);
	fixture_assert_conf_equal(&a->snap.conf, &b->snap.conf);
	assert_int_equal(a->offset, b->offset);
	assert_int_equal(a->len, b->len);
	fixture_assert_bytes(a->data, b->data, a->len);
	assert_int_equal(a->last, b->last);
}

uint64_t fixture_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}
