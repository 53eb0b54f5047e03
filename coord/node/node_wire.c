/* The forwarding frames (layout and contract in node_wire.h). */
#include "node_wire.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "transport.h"

_Static_assert(NODE_FORWARD_MAX <= TRANSPORT_FRAME_MAX,
               "the largest forwarded request fits one peer frame");

uint8_t *node_wire_forward_encode(const struct node_forward_msg *m, size_t *len)
{
	size_t cap = 1 + 8 + 1 + 8 + 1 + m->method_len + 4 + m->target_len + 4 + m->body_len;
	struct bytes_writer w;
	uint8_t *buf;

	if (m->method_len > NODE_FORWARD_METHOD_MAX || m->target_len > NODE_FORWARD_TARGET_MAX ||
	    m->body_len > HTTP_FORWARD_BODY_MAX || !(buf = malloc(cap)))
		return NULL;
	w = bytes_writer_init(buf, cap);
	bytes_put_u8(&w, NODE_FORWARD_VERSION);
	bytes_put_u64(&w, m->call);
	bytes_put_u8(&w, m->cancel ? NODE_FORWARD_CANCEL : 0);
	bytes_put_u64(&w, m->actor);
	bytes_put_str(&w, m->method, m->method_len, 1);
	bytes_put_str(&w, m->target, m->target_len, 4);
	bytes_put_str(&w, m->body, m->body_len, 4);
	assert(!w.fail && w.len == cap);
	*len = w.len;
	return buf;
}

enum node_wire_rc node_wire_forward_decode(const uint8_t *p, size_t len, struct node_forward_msg *m)
{
	struct bytes_reader r = bytes_reader_init(p, len);
	unsigned version = bytes_get_u8(&r), flags;

	memset(m, 0, sizeof(*m));
	if (r.fail)
		return NODE_WIRE_MALFORMED;
	if (version != NODE_FORWARD_VERSION)
		return NODE_WIRE_VERSION;
	m->call = bytes_get_u64(&r);
	flags = bytes_get_u8(&r);
	m->actor = bytes_get_u64(&r);
	bytes_get_str(&r, 1, NODE_FORWARD_METHOD_MAX, &m->method, &m->method_len);
	bytes_get_str(&r, 4, NODE_FORWARD_TARGET_MAX, &m->target, &m->target_len);
	bytes_get_str(&r, 4, HTTP_FORWARD_BODY_MAX, &m->body, &m->body_len);
	if (!bytes_done(&r) || (flags & ~NODE_FORWARD_CANCEL) ||
	    memchr(m->method, 0, m->method_len) || memchr(m->target, 0, m->target_len))
		return NODE_WIRE_MALFORMED;
	m->cancel = flags & NODE_FORWARD_CANCEL;
	return NODE_WIRE_OK;
}

uint8_t *node_wire_reply_encode(const struct node_reply_msg *m, size_t *len)
{
	size_t cap = NODE_REPLY_HEADER_LEN + m->body_len;
	struct bytes_writer w;
	uint8_t *buf;

	if (m->status < 100 || m->status > 599 || !(buf = malloc(cap)))
		return NULL;
	w = bytes_writer_init(buf, cap);
	bytes_put_u64(&w, m->call);
	bytes_put_u16(&w, (uint16_t)m->status);
	bytes_put_u64(&w, m->meta.index);
	bytes_put_u64(&w, m->meta.term);
	bytes_put_u64(&w, m->meta.leader);
	bytes_put_u32(&w, m->meta.retry_after_s);
	bytes_put_u8(&w, m->meta.has_last_contact);
	bytes_put_u64(&w, m->meta.last_contact_ms);
	bytes_put_str(&w, m->body, m->body_len, 4);
	if (w.fail) {
		free(buf);
		return NULL;
	}
	*len = w.len;
	return buf;
}

enum node_wire_rc node_wire_reply_decode(const uint8_t *p, size_t len, struct node_reply_msg *m)
{
	struct bytes_reader r = bytes_reader_init(p, len);

	memset(m, 0, sizeof(*m));
	m->call = bytes_get_u64(&r);
	m->status = bytes_get_u16(&r);
	m->meta.index = bytes_get_u64(&r);
	m->meta.term = bytes_get_u64(&r);
	m->meta.leader = bytes_get_u64(&r);
	m->meta.retry_after_s = bytes_get_u32(&r);
	m->meta.has_last_contact = bytes_get_u8(&r) != 0;
	m->meta.last_contact_ms = bytes_get_u64(&r);
	bytes_get_str(&r, 4, TRANSPORT_FRAME_MAX, &m->body, &m->body_len);
	if (!bytes_done(&r) || m->status < 100 || m->status > 599)
		return NODE_WIRE_MALFORMED;
	return NODE_WIRE_OK;
}
