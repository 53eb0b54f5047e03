/* coordctl auth bootstrap and token create | list | revoke: access control
 * (docs/API.md, Access control). The secret a bootstrap or a create draws
 * is in the answer printed to stdout, once; coordctl writes it nowhere else.
 * Neither is resent after a lost answer: a second bootstrap is refused
 * (409), and a second create would make a second token. */
#include <stdio.h>
#include <string.h>

#include "ctl.h"

/* auth bootstrap: prints {"id", "token", "name", "admin", "rules"}. */
static int auth_bootstrap(struct ctl *ctl, int argc, char **argv)
{
	struct coordc_reply r;
	struct ctl_args a;
	bool done, again;
	int rc = ctl_args("auth", argc, argv, 0, 0, &a, &done);

	if (done)
		return rc;
	rc = coordc_call(ctl->client, "POST", "/v1/auth/bootstrap", NULL, 0, 0, &r);
	again = rc == COORDC_OK && r.status == 409;
	rc = ctl_finish("auth bootstrap", rc, &r);
	if (again)
		fprintf(stderr, "coordctl: auth bootstrap: works once per cluster; an admin "
		                "token makes new tokens (token create)\n");
	return rc;
}

/* The body of token create: {"name":NAME, "rules":[...], "admin":ADMIN}
 * from the parsed words; NULL after a usage error (printed). */
static json_t *create_body(const struct ctl_args *a)
{
	char err[CTL_ERR_MAX];
	json_t *rules = json_array();
	json_t *body;

	for (int i = 0; rules != NULL && i < a->nrules; i++) {
		json_t *rule;

		if (ctl_rule(a->rules[i], &rule, err) != 0) {
			fprintf(stderr, "coordctl token: %s\n", err);
			json_decref(rules);
			return NULL;
		}
		json_array_append_new(rules, rule);
	}
	body = json_pack("{s:s, s:o, s:b}", "name", a->pos[0], "rules", rules, "admin", a->admin);
	if (body == NULL)
		fprintf(stderr, "coordctl token: NAME is not valid text\n");
	return body;
}

/* token create NAME [--rule R ...] [--admin]: prints the answer, secret
 * included. */
static int token_create(struct ctl *ctl, int argc, char **argv)
{
	struct coordc_reply r;
	struct ctl_args a;
	json_t *body;
	bool done;
	int rc = ctl_args("token", argc, argv, CTL_OPT_RULE | CTL_OPT_ADMIN, 1, &a, &done);

	if (done)
		return rc;
	body = create_body(&a);
	if (body == NULL)
		return CTL_EXIT_USAGE;
	rc = coordc_call(ctl->client, "POST", "/v1/tokens", body, 0, 0, &r);
	json_decref(body);
	return ctl_finish("token create", rc, &r);
}

/* token list: every page, as {"tokens":[...]} (never a secret). */
static int token_list(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_args a;
	bool done;
	int rc = ctl_args("token", argc, argv, 0, 0, &a, &done);

	return done
	           ? rc
	           : ctl_list_and_print(ctl, "token list", "/v1/tokens", "tokens", CTL_LIST_TOKENS);
}

/* token revoke ID: prints {"revoked": ID}. Not resent after a lost answer
 * either: the resend of a revoke that took effect would answer 404, so an
 * unknown outcome is reported (token list shows what happened). */
static int token_revoke(struct ctl *ctl, int argc, char **argv)
{
	char path[COORDC_URL_MAX], err[CTL_ERR_MAX];
	struct coordc_reply r;
	struct ctl_args a;
	uint64_t id;
	bool done;
	int rc = ctl_args("token", argc, argv, 0, 1, &a, &done);

	if (done)
		return rc;
	if (ctl_token_id("ID", a.pos[0], &id, err) != 0) {
		fprintf(stderr, "coordctl token: %s\n", err);
		return CTL_EXIT_USAGE;
	}
	snprintf(path, sizeof(path), "/v1/tokens/%llu", (unsigned long long)id);
	rc = coordc_call(ctl->client, "DELETE", path, NULL, 0, 0, &r);
	return ctl_finish("token revoke", rc, &r);
}

struct verb {
	const char *name;
	ctl_cmd_fn fn;
};

/* Runs the verb of ARGV[0] among VERBS (N of them) for command NAME; LIST
 * names them in the error for an unknown one. */
static int dispatch(struct ctl *ctl, const char *name, const struct verb *verbs, size_t n,
                    const char *list, int argc, char **argv)
{
	if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
		ctl_help(name);
		return argc < 1 ? CTL_EXIT_USAGE : CTL_EXIT_OK;
	}
	for (size_t k = 0; k < n; k++)
		if (strcmp(argv[0], verbs[k].name) == 0)
			return verbs[k].fn(ctl, argc - 1, argv + 1);
	fprintf(stderr, "coordctl %s: unknown '%s' (%s)\n", name, argv[0], list);
	return CTL_EXIT_USAGE;
}

int ctl_cmd_auth(struct ctl *ctl, int argc, char **argv)
{
	static const struct verb verbs[] = {{"bootstrap", auth_bootstrap}};

	return dispatch(ctl, "auth", verbs, sizeof(verbs) / sizeof(verbs[0]), "bootstrap", argc,
	                argv);
}

int ctl_cmd_token(struct ctl *ctl, int argc, char **argv)
{
	static const struct verb verbs[] = {
	    {"create", token_create}, {"list", token_list}, {"revoke", token_revoke}};

	return dispatch(ctl, "token", verbs, sizeof(verbs) / sizeof(verbs[0]),
	                "create, list, revoke", argc, argv);
}
