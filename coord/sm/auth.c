/* Access decisions over a token's rules (A-1..A-4 in auth.h). */
#include "auth.h"

#include <string.h>

#include "sm_error.h"

static const char *const resourceNames[COORD_RESOURCE_COUNT] = {
    [COORD_RESOURCE_LOCKS] = "locks",
    [COORD_RESOURCE_ELECTIONS] = "elections",
    [COORD_RESOURCE_SESSIONS] = "sessions",
    [COORD_RESOURCE_KV] = "kv",
};

static const char *const accessNames[COORD_ACCESS_COUNT] = {
    [COORD_ACCESS_READ] = "read",
    [COORD_ACCESS_WRITE] = "write",
};

/* RULE grants ACCESS to NAME of RESOURCE. */
static bool authRuleAllows(const struct coord_token_rule *rule, enum coord_resource resource,
                           const char *name, size_t len, enum coord_access access)
{
	if (rule->resource != resource || rule->prefix_len > len)
		return false;
	/* write implies read; read never implies write */
	if (access == COORD_ACCESS_WRITE && rule->access != COORD_ACCESS_WRITE)
		return false;
	return rule->prefix_len == 0 || memcmp(name, rule->prefix, rule->prefix_len) == 0;
}

bool coord_auth_allows(const struct coord_token *t, enum coord_resource resource, const char *name,
                       size_t len, enum coord_access access)
{
	if (t == NULL || (int)resource < 0 || resource >= COORD_RESOURCE_COUNT || (int)access < 0 ||
	    access >= COORD_ACCESS_COUNT || (name == NULL && len != 0) ||
	    t->n_rules > COORD_TOKEN_RULES_MAX)
		return false;
	/* t->admin is not read here. */
	for (size_t i = 0; i < t->n_rules; i++)
		if (authRuleAllows(&t->rules[i], resource, name, len, access))
			return true;
	return false; /* */
}

const char *coord_resource_name(int resource)
{
	return resource >= 0 && resource < COORD_RESOURCE_COUNT ? resourceNames[resource] : NULL;
}

const char *coord_access_name(int access)
{
	return access >= 0 && access < COORD_ACCESS_COUNT ? accessNames[access] : NULL;
}

/* The index of the name of LEN bytes at NAME among the N NAMES, or -1. */
static int authParse(const char *const *names, int n, const char *name, size_t len)
{
	for (int i = 0; i < n; i++)
		if (name != NULL && strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
			return i;
	return -1;
}

int coord_resource_parse(const char *name, size_t len, enum coord_resource *out)
{
	int i = authParse(resourceNames, COORD_RESOURCE_COUNT, name, len);

	if (i < 0)
		return COORD_EMALFORMED;
	*out = (enum coord_resource)i;
	return 0;
}

int coord_access_parse(const char *name, size_t len, enum coord_access *out)
{
	int i = authParse(accessNames, COORD_ACCESS_COUNT, name, len);

	if (i < 0)
		return COORD_EMALFORMED;
	*out = (enum coord_access)i;
	return 0;
}
