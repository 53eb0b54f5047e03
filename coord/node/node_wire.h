/* node_wire.h: the two frames of forwarding between peers, as bytes. Pure:
 * no node, no socket; node_forward.c, node_dispatch.c and node_calls.c send
 * and receive them. Layout (little-endian, through bytes.h):
 *
 *   FORWARD  u8 version | u64 call id | u8 flags | u64 actor | str8 method
 *            | str32 target | str32 body
 *   REPLY    u64 call id | u16 status | u64 index | u64 term | u64 leader
 *            | u32 retry_after_s | u8 has_last_contact | u64 last_contact_ms
 *            | str32 body
 *
 * (strN: an N-bit length, then the bytes.) A FORWARD carries the request as
 * it came (method, path and query, body) and the leader decodes it again
 * with the same decoder as the HTTP front end: a peer is never trusted
 * (rule 11), and a new request field needs no change here. With
 * NODE_FORWARD_CANCEL it withdraws the wait (queued acquire or campaign) or
 * long-poll it describes. ACTOR is the id of the access token the follower
 * authenticated the request with (0: none; node_auth.h): peers are trusted
 * (peer TLS), so the leader proposes with it as the request's actor, and
 * a session used with another token's id is refused (SM-10).
 *
 * NODE_FORWARD_VERSION 2 is the first to carry the request as it came, 3
 * the first to carry the actor; a node of an earlier version cannot forward
 * to one of this version, or back (docs/API.md, coordd: upgrades). */
#ifndef COORD_NODE_WIRE_H
#define COORD_NODE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "request.h"
#include "server.h"

#define NODE_FORWARD_VERSION    3
#define NODE_FORWARD_CANCEL     0x01u
#define NODE_FORWARD_METHOD_MAX 8          /* "DELETE" and room */
#define NODE_FORWARD_TARGET_MAX (1u << 18) /* a re-encoded path and query */
#define NODE_REPLY_HEADER_LEN   (8 + 2 + 8 + 8 + 8 + 4 + 1 + 8 + 4)
#define NODE_FORWARD_MAX                                                                           \
	(1 + 8 + 1 + 8 + 1 + NODE_FORWARD_METHOD_MAX + 4 + NODE_FORWARD_TARGET_MAX + 4 +           \
	 HTTP_FORWARD_BODY_MAX)

/* A FORWARD. Decoded strings borrow the frame and are not NUL-terminated;
 * a decoded method and target hold no NUL byte. */
struct node_forward_msg {
	uint64_t call; /* the follower's call id */
	bool cancel;
	uint64_t actor; /* the request's token id, 0 for none */
	const char *method, *target, *body;
	size_t method_len, target_len, body_len;
};

/* A REPLY. A decoded body borrows the frame. */
struct node_reply_msg {
	uint64_t call;
	unsigned status; /* 100..599 */
	struct http_meta meta;
	const char *body;
	size_t body_len;
};

enum node_wire_rc { NODE_WIRE_OK = 0, NODE_WIRE_MALFORMED, NODE_WIRE_VERSION };

/* Encodes M into a malloc'd frame of *LEN bytes (the caller frees it), or
 * NULL when a field is over its limit or memory is short. */
uint8_t *node_wire_forward_encode(const struct node_forward_msg *m, size_t *len);
uint8_t *node_wire_reply_encode(const struct node_reply_msg *m, size_t *len);

/* Decodes the LEN bytes at P, checking every length before it is used and
 * that nothing trails. A FORWARD of another version is NODE_WIRE_VERSION. */
enum node_wire_rc node_wire_forward_decode(const uint8_t *p, size_t len,
                                           struct node_forward_msg *m);
enum node_wire_rc node_wire_reply_decode(const uint8_t *p, size_t len, struct node_reply_msg *m);

#endif
