/* Access decisions over a token's rules: pure, no SQL, no clock, no crypto.
 * The node hashes a request's bearer secret, reads the token of that hash
 * (coord_sm_token_by_hash(), sm_query.h) and asks coord_auth_allows() for
 * each name the request touches (DESIGN.md, The state machine, Tokens).
 *
 * The rules, as coord_auth_allows() applies them:
 *   A-1 deny by default: a token without a matching rule is refused;
 *   A-2 a rule matches a name of its resource that starts with its prefix
 *       (bytes; an empty prefix matches every name, the empty one too);
 *   A-3 a write rule also allows reading; a read rule never allows writing;
 *   A-4 admin does not imply access to data: an admin token manages tokens,
 *       members and snapshots, and reads or writes locks, elections,
 *       sessions and keys only through its rules (the bootstrap can give the
 *       first token rules, as any token). */
#ifndef COORD_AUTH_H
#define COORD_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "command.h"

/* One rule of a stored token (its prefix copied, NUL-terminated). */
struct coord_token_rule {
	enum coord_resource resource;
	enum coord_access access;
	char prefix[COORD_NAME_MAX + 1];
	size_t prefix_len;
};

/* A stored token as the node checks requests against it: never its hash. */
struct coord_token {
	uint64_t id; /* the index of the entry that created it */
	char name[COORD_LABEL_MAX + 1];
	size_t name_len;
	bool admin;
	struct coord_token_rule rules[COORD_TOKEN_RULES_MAX];
	size_t n_rules;
};

/* Whether T may ACCESS the name NAME (LEN bytes, not NUL-terminated; NULL
 * only when LEN is 0) of RESOURCE, by A-1..A-4. A NULL T, or a resource or
 * access out of range, is refused. */
bool coord_auth_allows(const struct coord_token *t, enum coord_resource resource, const char *name,
                       size_t len, enum coord_access access);

/* The API's names ("locks", "elections", "sessions", "kv"; "read",
 * "write"), or NULL for a value out of range. */
const char *coord_resource_name(int resource);
const char *coord_access_name(int access);

/* The value named by the LEN bytes at NAME into *OUT: 0, or
 * COORD_EMALFORMED when no value has that name. */
int coord_resource_parse(const char *name, size_t len, enum coord_resource *out);
int coord_access_parse(const char *name, size_t len, enum coord_access *out);

#endif
