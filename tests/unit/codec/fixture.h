/* fixture.h: sample messages of every type and field-by-field comparison,
 * shared by the codec tests. */
#ifndef COORD_TEST_CODEC_FIXTURE_H
#define COORD_TEST_CODEC_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"

/* Room for the largest sample frame (the samples are small). */
#define FIXTURE_FRAME_MAX (64u << 10)
#define FIXTURE_ENTRIES   3

/* A sample message of TYPE with every field the type uses set to a distinct
 * non-zero value (entries and a snapshot chunk with a joint configuration
 * included). Points into static storage: valid until the next call. */
const struct raft_msg *fixture_msg(int type);

/* A three-server configuration, joint when JOINT. */
void fixture_conf(struct raft_conf *conf, bool joint);

/* Encodes MSG into BUF (FIXTURE_FRAME_MAX bytes), asserting success;
 * returns the frame's length. */
size_t fixture_encode(const struct raft_msg *msg, uint8_t *buf);

/* Asserts (cmocka) that A and B are equal field by field, entries and data
 * by content, configurations server by server. */
void fixture_assert_msg_equal(const struct raft_msg *a, const struct raft_msg *b);
void fixture_assert_conf_equal(const struct raft_conf *a, const struct raft_conf *b);

/* splitmix64: the tests' seeded generator. */
uint64_t fixture_rand(uint64_t *state);

#endif
