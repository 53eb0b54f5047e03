/* client.c: simulated HTTP clients that make the real API's calls to the
 * real nodes, and the models their answers are checked against:
 *
 *  C-1 every call is answered exactly once (front.c), and within
 *      RT_CALL_GIVEUP_US unless its node crashed (the connection reset);
 *  C-2 key/value: an acknowledged put has a modify_index no other
 *      acknowledged put of the key has, above that of every put acknowledged
 *      before it was sent; a linearizable get returns a value some put
 *      wrote (with that put's modify_index, when the put was acknowledged)
 *      and no older than any put acknowledged before the get was sent (a
 *      404 only if none was); a stale get returns a value some put wrote;
 *  C-3 locks: a lock's fencing token granted to one session is granted to
 *      no other (one entry may grant several locks one token), and a grant
 *      acknowledged before an acquire was sent has a smaller token than
 *      that acquire's grant (tokens are log indexes);
 *  C-4 a linearizable read of a lock shows at most one holder, and no
 *      session whose acquires of it were all refused, withdrawn (a queued
 *      wait that ran out: 409) or released before the read was sent;
 *  C-5 a session does not end (404 session_not_found to a call sent then)
 *      within its ttl after its client sent an acknowledged keepalive, less
 *      the clocks' spread (10%).
 *
 * In seven sessions in ten every lock and election request is numbered
 * (seq, rising, now and then with a gap), and now and then one is sent
 * again: the last (a retry after a lost or late answer) or an older one
 * (a request delayed on the way). Its answer is the first one again, or
 * 409 stale_request, which tells the models nothing. The order the log
 * must keep is checked where the requests apply (apply.c).
 *
 * The keys x0 and x1 take the conditional writes instead: puts with cas
 * (the modify_index last seen, or 0), ephemeral puts (the client's
 * session), fenced puts (a token of a lock it was granted, perhaps no longer
 * current) and deletes (with cas or without). Their outcomes are checked
 * where they apply, on every node (apply.c: conditional writes, ephemeral
 * keys, the history), not here.
 *
 * Writes answered 5xx or lost with their node have no known outcome: their
 * values may appear, or not.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt.h"

enum op {
	OP_NONE, /* no call: an answer that tells the models nothing */
	OP_OPEN,
	OP_PUT,
	OP_GET,
	OP_GET_STALE,
	OP_ACQUIRE,
	OP_RELEASE,
	OP_KEEPALIVE,
	OP_LOCK_GET,
	OP_XWRITE,
};
static const char *op_names[] = {"none",    "open",    "put",       "get",      "get-stale",
                                 "acquire", "release", "keepalive", "lock-get", "xwrite"};

struct put {
	int key;
	char value[32];
	uint64_t sent_us, ack_us; /* ack_us 0: not acknowledged */
	uint64_t mi;              /* its modify_index, when acknowledged */
	bool refused;             /* a 4xx: it changed nothing */
};

struct grant {
	int lock;
	char session[40];
	uint64_t token, sent_us, ack_us;
};

struct client {
	int id, node;
	char session[40];
	bool waiting;
	enum op op;
	int key, lock;
	size_t put; /* OP_PUT: its record in kv_puts (which may move) */
	uint64_t sent_us;
	struct rt_answer ans;
	unsigned n;
	/* Per lock: its session may hold it (an acquire granted, or of unknown
	 * outcome, and no release acknowledged since): an acquire may then be
	 * answered with that older grant again. */
	bool maybe_held[RT_OBJECTS];
	uint64_t cleared_us[RT_OBJECTS]; /* when maybe_held last became false */
	uint64_t index; /* the highest X-Coord-Index it was answered (long-polls) */
	/* C-5: its session lives at least until then (ttl after the sending of
	 * an acknowledged keepalive, less the clocks' spread). */
	uint64_t alive_until_us;
	uint64_t keepalive_sent_us; /* of its last acknowledged keepalive */
	bool lapse;                 /* its next call is a keepalive sent as its ttl runs out */
	uint64_t token[RT_LOCKS];   /* the last fencing token it was granted, per lock */
	/* Numbered requests: its session numbers them (from 1), the last few
	 * sent, and whether the call in flight is one sent again. */
	bool numbering;
	uint64_t seq;
	struct sent {
		enum op op;
		int lock;
		char method[8], target[96], body[224];
	} sent[RT_RESEND_KEPT];
	unsigned n_sent;
	bool resend;
	uint64_t x_index[RT_XKEYS]; /* the modify_index of x0, x1 it last saw (0: absent) */
	bool regrant;               /* the acquire in flight was sent while maybe_held */
};

static void not_held(struct rt_world *w, struct client *c, int lock)
{
	c->maybe_held[lock] = false;
	c->cleared_us[lock] = w->now_us;
}

#define RT_TTL "3000" /* RT_TTL_US */
/* Clocks run up to 5% apart from real time: a session's lease, counted on
 * its leader's clock, lasts at least 90% of its ttl in real time. */
#define RT_LEASE_US (RT_TTL_US / 10u * 9u)

static struct client clients[RT_CLIENTS_MAX];
static const char *const object_names[RT_OBJECTS] = {"lock l0", "lock l1", "election e0"};
static struct put *kv_puts;
static size_t n_puts, cap_puts;
static struct grant *grants;
static size_t n_grants, cap_grants;
static unsigned calls;

static void next_event(struct rt_world *w, struct client *c, uint64_t delay_us)
{
	rt_push(w, w->now_us + delay_us, RT_EV_CLIENT, -1, c, 0);
}

void rt_clients_start(struct rt_world *w)
{
	memset(clients, 0, sizeof(clients));
	n_puts = n_grants = 0;
	calls = 0;
	for (int i = 0; i < w->n_clients; i++) {
		clients[i].id = i;
		clients[i].node = rt_pick_node(w);
		next_event(w, &clients[i], 1000 + sim_below(&w->rng, 200000));
	}
}

static void send_call(struct rt_world *w, struct client *c, const char *method, const char *target,
                      const char *body)
{
	c->waiting = true;
	c->sent_us = w->now_us;
	calls++;
	rt_trace(w, "c%d -> n%d %s %s %s", c->id, c->node + 1, method, target, body ? body : "");
	rt_front_send(w, c->node, method, target, body, &c->ans);
}

/* Locks l0, l1, then the election e0: one path per object. Returns its
 * length; REDIRECT asks a follower for a 307 instead of forwarding. */
static size_t object_path(int object, char *out, size_t cap, bool redirect)
{
	int k = object < RT_LOCKS ? snprintf(out, cap, "/v1/locks/l%d", object)
	                          : snprintf(out, cap, "/v1/elections/e%d", object - RT_LOCKS);

	if (redirect)
		k += snprintf(out + k, cap - (size_t)k, "?redirect");
	return (size_t)k;
}

static bool redirect(struct rt_world *w)
{
	return sim_chance(&w->rng, 100);
}

static void send_xwrite(struct rt_world *w, struct client *c);

/* The seq of a lock or election request, as ", \"seq\":N" (or "" for an
 * unnumbered session). */
static const char *seq_field(struct rt_world *w, struct client *c, char *buf, size_t cap)
{
	if (!c->numbering)
		return "";
	c->seq += 1 + (sim_chance(&w->rng, 150) ? sim_below(&w->rng, 3) : 0);
	snprintf(buf, cap, ", \"seq\":%llu", (unsigned long long)c->seq);
	return buf;
}

/* Sends a numbered request and keeps it, to send it again later. */
static void send_numbered(struct rt_world *w, struct client *c, const char *method,
                          const char *target, const char *body)
{
	if (c->numbering) {
		struct sent *s = &c->sent[c->n_sent++ % RT_RESEND_KEPT];

		s->op = c->op;
		s->lock = c->lock;
		snprintf(s->method, sizeof(s->method), "%s", method);
		snprintf(s->target, sizeof(s->target), "%s", target);
		snprintf(s->body, sizeof(s->body), "%s", body);
	}
	send_call(w, c, method, target, body);
}

/* Now and then a numbered request goes again: mostly the last. */
static bool resend(struct rt_world *w, struct client *c)
{
	unsigned kept = c->n_sent < RT_RESEND_KEPT ? c->n_sent : RT_RESEND_KEPT;
	const struct sent *s;

	if (kept == 0 || !sim_chance(&w->rng, 60))
		return false;
	s = sim_chance(&w->rng, 600) ? &c->sent[(c->n_sent - 1) % RT_RESEND_KEPT]
	                             : &c->sent[sim_below(&w->rng, kept)];
	c->op = s->op;
	c->lock = s->lock;
	c->resend = true;
	if (c->op == OP_ACQUIRE) {
		c->regrant = true; /* the first answer again: only its token is checked */
		c->maybe_held[c->lock] = true;
	}
	rt_trace(w, "c%d sends a numbered request again", c->id);
	send_call(w, c, s->method, s->target, s->body);
	return true;
}

static void start_op(struct rt_world *w, struct client *c)
{
	/* The mix of calls of a client with a session, in percent. */
	static const enum op mix_ops[] = {OP_PUT,     OP_GET,      OP_GET_STALE, OP_ACQUIRE,
	                                  OP_RELEASE, OP_LOCK_GET, OP_KEEPALIVE, OP_XWRITE};
	static const unsigned mix_weights[] = {24, 16, 7, 14, 12, 8, 7, 12};
	char target[96], body[224], seq[40];
	enum op mixed =
	    mix_ops[rt_weighted(w, mix_weights, sizeof(mix_weights) / sizeof(mix_weights[0]))];

	c->resend = false;
	if (c->session[0] && !c->lapse && resend(w, c))
		return;
	if (!c->session[0])
		c->op = OP_OPEN;
	else if (c->lapse)
		c->op = OP_KEEPALIVE;
	else
		c->op = mixed;
	c->key = (int)sim_below(&w->rng, RT_KEYS);
	c->lock = (int)sim_below(&w->rng, RT_OBJECTS);
	switch (c->op) {
	case OP_OPEN:
		return send_call(w, c, "POST", "/v1/sessions", "{\"ttl_ms\":" RT_TTL "}");
	case OP_PUT:
		if (n_puts == cap_puts) {
			cap_puts = cap_puts ? 2 * cap_puts : 256;
			kv_puts = realloc(kv_puts, cap_puts * sizeof(*kv_puts));
			assert(kv_puts);
		}
		c->put = n_puts++;
		kv_puts[c->put] = (struct put){.key = c->key, .sent_us = w->now_us};
		snprintf(kv_puts[c->put].value, sizeof(kv_puts[0].value), "c%d-%u", c->id, ++c->n);
		snprintf(target, sizeof(target), "/v1/kv/k%d", c->key);
		snprintf(body, sizeof(body), "{\"value\":\"%s\"}", kv_puts[c->put].value);
		return send_call(w, c, "PUT", target, body);
	case OP_GET:
	case OP_GET_STALE:
		snprintf(target, sizeof(target), "/v1/kv/k%d%s", c->key,
		         c->op == OP_GET_STALE ? "?consistency=stale" : "");
		return send_call(w, c, "GET", target, NULL);
	case OP_ACQUIRE:
		c->regrant = c->maybe_held[c->lock];
		c->maybe_held[c->lock] = true;
		object_path(c->lock, target, sizeof(target), redirect(w));
		/* Half try-locks, half queued waits of up to 1.5 s. */
		snprintf(body, sizeof(body),
		         "{\"session\":\"%s\", \"value\":\"c%d\", \"wait_ms\":%u%s}", c->session,
		         c->id,
		         sim_chance(&w->rng, 500) ? 0u : 100u + (unsigned)sim_below(&w->rng, 1400),
		         seq_field(w, c, seq, sizeof(seq)));
		return send_numbered(w, c, "PUT", target, body);
	case OP_LOCK_GET: {
		size_t k = object_path(c->lock, target, sizeof(target), redirect(w));

		/* Half of them long-polls: answered when it changed after the
		 * index last seen, or after 300 ms unchanged. */
		if (c->index && sim_chance(&w->rng, 500))
			snprintf(target + k, sizeof(target) - k, "%sindex=%llu&wait=300ms",
			         strchr(target, '?') ? "&" : "?", (unsigned long long)c->index);
		return send_call(w, c, "GET", target, NULL);
	}
	case OP_RELEASE:
		object_path(c->lock, target, sizeof(target), redirect(w));
		snprintf(body, sizeof(body), "{\"session\":\"%s\"%s}", c->session,
		         seq_field(w, c, seq, sizeof(seq)));
		return send_numbered(w, c, "DELETE", target, body);
	case OP_KEEPALIVE:
		snprintf(target, sizeof(target), "/v1/sessions/%s/keepalive", c->session);
		return send_call(w, c, "POST", target, NULL);
	case OP_XWRITE:
		return send_xwrite(w, c);
	case OP_NONE:
		break;
	}
}

/* A conditional write of x0 or x1 (C->key): one of a put with cas, an
 * ephemeral put, a fenced put, a delete. */
static void send_xwrite(struct rt_world *w, struct client *c)
{
	static const unsigned weights[] = {3, 3, 3, 2};
	char target[96], body[256];
	int x = c->key % RT_XKEYS, lock = (int)sim_below(&w->rng, RT_LOCKS);
	uint64_t token = c->token[lock];

	/* Now and then a token that was never current, or an index off by one. */
	if (!token || sim_chance(&w->rng, 200))
		token = 1 + sim_below(&w->rng, 1000);
	c->key = x;
	snprintf(target, sizeof(target), "/v1/kv/x%d", x);
	switch (rt_weighted(w, weights, sizeof(weights) / sizeof(weights[0]))) {
	case 0:
		snprintf(body, sizeof(body), "{\"value\":\"c%d-%u\", \"cas\":%llu}", c->id, ++c->n,
		         (unsigned long long)(c->x_index[x] + sim_chance(&w->rng, 150)));
		return send_call(w, c, "PUT", target, body);
	case 1:
		snprintf(body, sizeof(body), "{\"value\":\"c%d-%u\", \"session\":\"%s\"}", c->id,
		         ++c->n, c->session);
		return send_call(w, c, "PUT", target, body);
	case 2:
		snprintf(body, sizeof(body),
		         "{\"value\":\"c%d-%u\", \"fence\":{\"lock\":\"l%d\", \"token\":%llu}}",
		         c->id, ++c->n, lock, (unsigned long long)token);
		return send_call(w, c, "PUT", target, body);
	default:
		if (sim_chance(&w->rng, 500))
			snprintf(target + strlen(target), sizeof(target) - strlen(target),
			         "?cas=%llu", (unsigned long long)c->x_index[x]);
		return send_call(w, c, "DELETE", target, NULL);
	}
}

static struct put *put_of(int key, const char *value)
{
	for (size_t i = 0; i < n_puts; i++)
		if (kv_puts[i].key == key && strcmp(kv_puts[i].value, value) == 0)
			return &kv_puts[i];
	return NULL;
}

/* C-2 for an acknowledged put P. */
static void check_put(struct rt_world *w, struct put *p)
{
	for (size_t i = 0; i < n_puts; i++) {
		struct put *o = &kv_puts[i];

		if (o == p || o->key != p->key || !o->ack_us)
			continue;
		if (o->mi == p->mi)
			rt_fail(
			    w,
			    "C-2: kv_puts %s and %s of k%d both acknowledged at modify_index %llu",
			    o->value, p->value, p->key, (unsigned long long)p->mi);
		else if (o->ack_us < p->sent_us && o->mi > p->mi)
			rt_fail(w,
			        "C-2: put %s of k%d acknowledged at %llu, after put %s was "
			        "acknowledged at %llu",
			        p->value, p->key, (unsigned long long)p->mi, o->value,
			        (unsigned long long)o->mi);
	}
}

/* C-2 for a get of KEY sent at SENT that found VALUE at MI (VALUE NULL: 404). */
static void check_get(struct rt_world *w, int key, uint64_t sent, const char *value, uint64_t mi,
                      bool linearizable)
{
	struct put *p = value ? put_of(key, value) : NULL;

	if (value && (!p || p->refused)) {
		rt_fail(w, "C-2: a get of k%d read \"%s\", which no put wrote", key, value);
		return;
	}
	if (p && p->ack_us && p->mi != mi) {
		rt_fail(w, "C-2: a get of k%d read %s at modify_index %llu; its put was at %llu",
		        key, value, (unsigned long long)mi, (unsigned long long)p->mi);
		return;
	}
	if (!linearizable)
		return;
	for (size_t i = 0; i < n_puts; i++) {
		struct put *o = &kv_puts[i];

		if (o->key == key && o->ack_us && o->ack_us < sent && (!value || o->mi > mi)) {
			rt_fail(
			    w,
			    "C-2: a linearizable get of k%d sent at %llu us read %s (%llu), but "
			    "put %s was acknowledged at %llu us with modify_index %llu",
			    key, (unsigned long long)sent, value ? value : "nothing (404)",
			    (unsigned long long)mi, o->value, (unsigned long long)o->ack_us,
			    (unsigned long long)o->mi);
			return;
		}
	}
}

/* C-3 for an acknowledged grant G. */
static void check_grant(struct rt_world *w, const struct grant *g, bool regrant)
{
	/* A session that acquires what it may hold may be answered that older
	 * grant again: only the uniqueness of its token is checked. */
	for (size_t i = 0; i + 1 < n_grants; i++) {
		const struct grant *o = &grants[i];
		bool same = o->lock == g->lock && strcmp(o->session, g->session) == 0;

		/* One entry may grant several locks (an expiry frees them all):
		 * a token is unique per lock. */
		if (o->token == g->token && o->lock == g->lock && !same)
			rt_fail(w, "C-3: %s's fencing token %llu granted to two sessions",
			        object_names[g->lock], (unsigned long long)g->token);
		else if (!regrant && o->ack_us < g->sent_us && o->token > g->token && !same)
			rt_fail(w,
			        "C-3: %s granted with token %llu after %s's grant %llu was "
			        "acknowledged",
			        object_names[g->lock], (unsigned long long)g->token,
			        object_names[o->lock], (unsigned long long)o->token);
	}
}

static const char *str_of(json_t *body, const char *field);

/* C-4 for a linearizable read of LOCK sent at SENT: every holder is a
 * session whose client may hold it (a grant, or an acquire of unknown
 * outcome, not undone since before the read was sent) and at most one. */
static void check_holders(struct rt_world *w, int lock, uint64_t sent, json_t *holders)
{
	size_t i;
	json_t *h;

	if (json_array_size(holders) > 1)
		rt_fail(w, "C-4: %s has %zu holders", object_names[lock], json_array_size(holders));
	json_array_foreach(holders, i, h)
	{
		const char *s = str_of(h, "session");

		for (int k = 0; s && k < w->n_clients; k++) {
			struct client *o = &clients[k];

			if (strcmp(o->session, s) != 0 || o->maybe_held[lock] ||
			    o->cleared_us[lock] >= sent)
				continue;
			rt_fail(w,
			        "C-4: %s is held by c%d's session, whose acquires were all "
			        "refused, withdrawn or released before the read was sent",
			        object_names[lock], k);
		}
	}
}

static const char *str_of(json_t *body, const char *field)
{
	return json_string_value(json_object_get(body, field));
}

static uint64_t int_of(json_t *body, const char *field)
{
	return (uint64_t)json_integer_value(json_object_get(body, field));
}

static bool error_is(json_t *body, const char *code)
{
	const char *e = str_of(body, "error");

	return e && strcmp(e, code) == 0;
}

/* The answer came: checks it against the models. */
static void take_answer(struct rt_world *w, struct client *c)
{
	struct rt_answer *a = &c->ans;
	unsigned st = a->status;

	rt_trace(w, "c%d <- n%d %s %u", c->id, c->node + 1, op_names[c->op], st);
	/* The session ended before this answer came: a failure if that is
	 * before its lease ran out. */
	if (st == 404 && c->op != OP_OPEN && w->now_us < c->alive_until_us &&
	    error_is(a->body, "session_not_found"))
		rt_fail(w,
		        "C-5: c%d's session ended %llu ms before its lease (ttl after its last "
		        "acknowledged keepalive, less the clocks' spread) ran out",
		        c->id, (unsigned long long)(c->alive_until_us - w->now_us) / 1000);
	/* A numbered request that came after later ones changed nothing, and
	 * tells the models nothing either. */
	switch (st == 409 && error_is(a->body, "stale_request") ? OP_NONE : c->op) {
	case OP_NONE:
		break;
	case OP_OPEN:
		if (st == 201 && str_of(a->body, "id")) {
			snprintf(c->session, sizeof(c->session), "%s", str_of(a->body, "id"));
			c->numbering = sim_chance(&w->rng, 700);
			c->seq = 0;
			c->n_sent = 0;
			memset(c->maybe_held, 0,
			       sizeof(c->maybe_held)); /* a new session holds nothing */
		}
		break;
	case OP_PUT:
		if (st == 200) {
			kv_puts[c->put].ack_us = w->now_us;
			kv_puts[c->put].mi = int_of(a->body, "modify_index");
			check_put(w, &kv_puts[c->put]);
		} else if (st >= 400 && st < 500) {
			kv_puts[c->put].refused = true;
		}
		break;
	case OP_GET:
	case OP_GET_STALE:
		if (st == 200)
			check_get(w, c->key, c->sent_us, str_of(a->body, "value"),
			          int_of(a->body, "modify_index"), c->op == OP_GET);
		else if (st == 404 && c->op == OP_GET)
			check_get(w, c->key, c->sent_us, NULL, 0, true);
		break;
	case OP_ACQUIRE:
		if (st == 200) {
			if (n_grants == cap_grants) {
				cap_grants = cap_grants ? 2 * cap_grants : 256;
				grants = realloc(grants, cap_grants * sizeof(*grants));
				assert(grants);
			}
			json_t *g =
			    c->lock < RT_LOCKS ? a->body : json_object_get(a->body, "leader");

			grants[n_grants] = (struct grant){.lock = c->lock,
			                                  .token = int_of(g, "fencing_token"),
			                                  .sent_us = c->sent_us,
			                                  .ack_us = w->now_us};
			snprintf(grants[n_grants].session, sizeof(grants[0].session), "%s",
			         c->session);
			if (c->lock < RT_LOCKS)
				c->token[c->lock] = grants[n_grants].token;
			n_grants++;
			check_grant(w, &grants[n_grants - 1], c->regrant);
		} else if (st >= 400 && st < 500 && !c->regrant) {
			not_held(w, c, c->lock); /* 409: the wait was withdrawn, never granted */
		}
		if (st == 404) /* session_not_found: it expired */
			c->session[0] = '\0';
		break;
	case OP_LOCK_GET:
		if (st == 200 && c->lock < RT_LOCKS) {
			check_holders(w, c->lock, c->sent_us, json_object_get(a->body, "holders"));
		} else if (st == 200) { /* an election: its leader, or null */
			json_t *one = json_array();

			if (json_is_object(json_object_get(a->body, "leader")))
				json_array_append(one, json_object_get(a->body, "leader"));
			check_holders(w, c->lock, c->sent_us, one);
			json_decref(one);
		}
		break;
	case OP_XWRITE:
		if (st == 200 && int_of(a->body, "modify_index"))
			c->x_index[c->key] = int_of(a->body, "modify_index");
		else if (st == 200) /* a delete */
			c->x_index[c->key] = 0;
		if (st == 404) /* session_not_found: an ephemeral put's session expired */
			c->session[0] = '\0';
		break;
	case OP_RELEASE:
		if (st == 200)
			not_held(w, c, c->lock);
		/* fall through */
	case OP_KEEPALIVE:
		if (st == 200 && c->op == OP_KEEPALIVE) {
			if (c->sent_us + RT_LEASE_US > c->alive_until_us)
				c->alive_until_us = c->sent_us + RT_LEASE_US;
			c->keepalive_sent_us = c->sent_us;
		}
		if (st == 404)
			c->session[0] = '\0';
		break;
	}
	json_decref(a->body);
	a->body = NULL;
	if (a->index > c->index)
		c->index = a->index;
	/* A redirect names the leader; no leader, busy: try another node. */
	if (st == 307 && a->leader >= 1 && a->leader <= (uint64_t)w->n_nodes)
		c->node = (int)a->leader - 1;
	else if (st == 307 || st == 503 || st == 504 || !w->nodes[c->node].member)
		c->node = rt_pick_node(w);
}

void rt_client_event(struct rt_world *w, struct rt_event *ev)
{
	struct client *c = ev->ptr;

	if (c->waiting) {
		if (c->ans.answered && w->now_us >= c->ans.at_us) {
			c->waiting = false;
			take_answer(w, c);
		} else if (c->ans.lost) {
			c->waiting = false;
			rt_trace(w, "c%d: n%d crashed under its %s", c->id, c->node + 1,
			         op_names[c->op]);
			c->node = rt_pick_node(w);
		} else if (c->ans.answered) {
			return next_event(w, c, c->ans.at_us - w->now_us);
		} else if (w->now_us - c->sent_us > RT_CALL_GIVEUP_US) {
			rt_fail(w, "C-1: c%d's %s to n%d unanswered after %u s", c->id,
			        op_names[c->op], c->node + 1, RT_CALL_GIVEUP_US / 1000000u);
			return;
		} else {
			return next_event(w, c, 500);
		}
		/* Now and then a client falls silent and sends its keepalive just
		 * after its ttl ran out on the leader's clock (0 to 20 ms): the
		 * leader may be proposing the expiry then, and must not
		 * acknowledge it (rule 8). */
		c->lapse = c->session[0] && c->keepalive_sent_us && sim_chance(&w->rng, 15);
		if (c->lapse) {
			/* Aimed at the leader's clock, which counts the ttl. */
			int leader = rt_leader(w);
			uint64_t ttl =
			    (uint64_t)(RT_TTL_US / (leader >= 0 ? w->nodes[leader].rate : 1.0));
			uint64_t at = c->keepalive_sent_us + ttl + sim_below(&w->rng, 20000);

			if (at > w->now_us)
				return next_event(w, c, at - w->now_us);
		}
		/* think time */
		return next_event(w, c, 1000 + sim_below(&w->rng, 10000));
	}
	if (w->now_us >= w->end_us || calls >= RT_CALLS_MAX)
		return;
	if (w->nodes[c->node].up && w->nodes[c->node].busy_until_us > w->now_us)
		return next_event(w, c, w->nodes[c->node].busy_until_us - w->now_us);
	start_op(w, c);
	c->lapse = false;
	next_event(w, c, 200);
}

/* After the settle: every client's last call answered, and one more
 * linearizable get of each key from each node (C-2 covers durability:
 * every acknowledged put is at or below what they read). */
bool rt_clients_idle(const struct rt_world *w)
{
	for (int i = 0; i < w->n_clients; i++)
		if (clients[i].waiting)
			return false;
	return true;
}

void rt_clients_check_end(struct rt_world *w)
{
	for (int i = 0; i < w->n_clients; i++)
		if (clients[i].waiting && !clients[i].ans.answered && !clients[i].ans.lost)
			rt_fail(w, "C-1: c%d's %s to n%d unanswered at the end", i,
			        op_names[clients[i].op], clients[i].node + 1);
}

void rt_clients_final_get(struct rt_world *w, int node, int key, struct rt_answer *ans)
{
	char target[64];

	snprintf(target, sizeof(target), "/v1/kv/k%d", key);
	rt_front_send(w, node, "GET", target, NULL, ans);
}

void rt_clients_final_check(struct rt_world *w, int key, uint64_t sent, struct rt_answer *ans)
{
	rt_trace(w, "final get of k%d: %u (index %llu, leader %llu)", key, ans->status,
	         (unsigned long long)ans->index, (unsigned long long)ans->leader);
	if (ans->status == 200)
		check_get(w, key, sent, str_of(ans->body, "value"),
		          int_of(ans->body, "modify_index"), true);
	else if (ans->status == 404)
		check_get(w, key, sent, NULL, 0, true);
	else
		rt_fail(w, "final get of k%d: %u %s", key, ans->status,
		        str_of(ans->body, "message") ? str_of(ans->body, "message") : "");
	json_decref(ans->body);
	ans->body = NULL;
}

int rt_clients_sessions(const char **ids, int *client, int max)
{
	int n = 0;

	for (int i = 0; i < RT_CLIENTS_MAX && n < max; i++)
		if (clients[i].session[0]) {
			ids[n] = clients[i].session;
			client[n++] = i;
		}
	return n;
}

unsigned rt_clients_calls(void)
{
	return calls;
}
