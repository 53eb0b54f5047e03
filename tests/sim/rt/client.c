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
 *  C-3 locks: a fencing token granted to one session is granted to no
 *      other, and a grant acknowledged before an acquire was sent has a
 *      smaller token than that acquire's grant (tokens are log indexes).
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
	OP_OPEN,
	OP_PUT,
	OP_GET,
	OP_GET_STALE,
	OP_ACQUIRE,
	OP_RELEASE,
	OP_KEEPALIVE,
};
static const char *op_names[] = {"open",    "put",     "get",      "get-stale",
                                 "acquire", "release", "keepalive"};

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
	bool maybe_held[RT_LOCKS];
	bool regrant; /* the acquire in flight was sent while maybe_held */
};

static struct client clients[RT_CLIENTS_MAX];
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
		clients[i].node = (int)sim_below(&w->rng, (uint64_t)w->n_nodes);
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

static void start_op(struct rt_world *w, struct client *c)
{
	char target[128], body[160];
	unsigned r = (unsigned)sim_below(&w->rng, 100);

	if (!c->session[0])
		c->op = OP_OPEN;
	else if (r < 30)
		c->op = OP_PUT;
	else if (r < 50)
		c->op = OP_GET;
	else if (r < 58)
		c->op = OP_GET_STALE;
	else if (r < 75)
		c->op = OP_ACQUIRE;
	else if (r < 88)
		c->op = OP_RELEASE;
	else
		c->op = OP_KEEPALIVE;
	c->key = (int)sim_below(&w->rng, RT_KEYS);
	c->lock = (int)sim_below(&w->rng, RT_LOCKS);
	switch (c->op) {
	case OP_OPEN:
		return send_call(w, c, "POST", "/v1/sessions", "{\"ttl_ms\":3000}");
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
		snprintf(target, sizeof(target), "/v1/locks/l%d", c->lock);
		snprintf(body, sizeof(body), "{\"session\":\"%s\"}", c->session);
		return send_call(w, c, "PUT", target, body);
	case OP_RELEASE:
		snprintf(target, sizeof(target), "/v1/locks/l%d", c->lock);
		snprintf(body, sizeof(body), "{\"session\":\"%s\"}", c->session);
		return send_call(w, c, "DELETE", target, body);
	case OP_KEEPALIVE:
		snprintf(target, sizeof(target), "/v1/sessions/%s/keepalive", c->session);
		return send_call(w, c, "POST", target, NULL);
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

		if (o->token == g->token && !same)
			rt_fail(w, "C-3: fencing token %llu granted to two sessions (l%d, l%d)",
			        (unsigned long long)g->token, o->lock, g->lock);
		else if (!regrant && o->ack_us < g->sent_us && o->token > g->token && !same)
			rt_fail(w,
			        "C-3: l%d granted with token %llu after l%d's grant %llu was "
			        "acknowledged",
			        g->lock, (unsigned long long)g->token, o->lock,
			        (unsigned long long)o->token);
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

/* The answer came: checks it against the models. */
static void take_answer(struct rt_world *w, struct client *c)
{
	struct rt_answer *a = &c->ans;
	unsigned st = a->status;

	rt_trace(w, "c%d <- n%d %s %u", c->id, c->node + 1, op_names[c->op], st);
	switch (c->op) {
	case OP_OPEN:
		if (st == 201 && str_of(a->body, "id")) {
			snprintf(c->session, sizeof(c->session), "%s", str_of(a->body, "id"));
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
			grants[n_grants] = (struct grant){.lock = c->lock,
			                                  .token = int_of(a->body, "fencing_token"),
			                                  .sent_us = c->sent_us,
			                                  .ack_us = w->now_us};
			snprintf(grants[n_grants].session, sizeof(grants[0].session), "%s",
			         c->session);
			n_grants++;
			check_grant(w, &grants[n_grants - 1], c->regrant);
		} else if (st >= 400 && st < 500 && !c->regrant) {
			c->maybe_held[c->lock] = false;
		}
		if (st == 404) /* session_not_found: it expired */
			c->session[0] = '\0';
		break;
	case OP_RELEASE:
		if (st == 200)
			c->maybe_held[c->lock] = false;
		/* fall through */
	case OP_KEEPALIVE:
		if (st == 404)
			c->session[0] = '\0';
		break;
	}
	json_decref(a->body);
	a->body = NULL;
	/* Not the leader, no leader, busy: try another node. */
	if (st == 307 || st == 503 || st == 504)
		c->node = (int)sim_below(&w->rng, (uint64_t)w->n_nodes);
}

void rt_client_event(struct rt_world *w, struct rt_event *ev)
{
	struct client *c = ev->ptr;

	if (c->waiting) {
		if (c->ans.answered) {
			c->waiting = false;
			take_answer(w, c);
		} else if (c->ans.lost) {
			c->waiting = false;
			rt_trace(w, "c%d: n%d crashed under its %s", c->id, c->node + 1,
			         op_names[c->op]);
			c->node = (int)sim_below(&w->rng, (uint64_t)w->n_nodes);
		} else if (w->now_us - c->sent_us > RT_CALL_GIVEUP_US) {
			rt_fail(w, "C-1: c%d's %s to n%d unanswered after %u s", c->id,
			        op_names[c->op], c->node + 1, RT_CALL_GIVEUP_US / 1000000u);
			return;
		} else {
			return next_event(w, c, 500);
		}
		/* think time */
		return next_event(w, c, 1000 + sim_below(&w->rng, 10000));
	}
	if (w->now_us >= w->end_us || calls >= RT_CALLS_MAX)
		return;
	if (w->nodes[c->node].up && w->nodes[c->node].busy_until_us > w->now_us)
		return next_event(w, c, w->nodes[c->node].busy_until_us - w->now_us);
	start_op(w, c);
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
	if (ans->status == 200)
		check_get(w, key, sent, str_of(ans->body, "value"),
		          int_of(ans->body, "modify_index"), true);
	else if (ans->status == 404)
		check_get(w, key, sent, NULL, 0, true);
	else
		rt_fail(w, "final get of k%d: %u", key, ans->status);
	json_decref(ans->body);
	ans->body = NULL;
}

unsigned rt_clients_calls(void)
{
	return calls;
}

void rt_clients_free(struct rt_world *w)
{
	(void)w;
	free(kv_puts);
	free(grants);
	kv_puts = NULL;
	grants = NULL;
	cap_puts = cap_grants = 0;
}
