/* coordctl: the command-line client of coord (docs/API.md, coordctl).
 * Reads the global options, opens a libcoord client on the endpoints and
 * runs one command. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

struct command {
	const char *name;
	ctl_cmd_fn fn;
};

static const struct command commands[] = {
    {"status", ctl_cmd_status},     {"lock", ctl_cmd_lock},
    {"elect", ctl_cmd_elect},       {"leader", ctl_cmd_leader},
    {"locks", ctl_cmd_locks},       {"lock-info", ctl_cmd_lock_info},
    {"session", ctl_cmd_session},   {"acquire", ctl_cmd_acquire},
    {"release", ctl_cmd_release},   {"member", ctl_cmd_member},
    {"snapshot", ctl_cmd_snapshot}, {"auth", ctl_cmd_auth},
    {"token", ctl_cmd_token},       {"kv", ctl_cmd_kv},
    {"register", ctl_cmd_register},
};

int ctl_args(const char *name, int argc, char **argv, unsigned allowed, int npos,
             struct ctl_args *a, bool *done)
{
	return ctl_args_range(name, argc, argv, allowed, npos, npos, a, done);
}

int ctl_args_range(const char *name, int argc, char **argv, unsigned allowed, int min_pos,
                   int max_pos, struct ctl_args *a, bool *done)
{
	char err[CTL_ERR_MAX];
	int rc = ctl_parse_range(argc, argv, allowed, min_pos, max_pos, a, err);

	*done = true;
	if (rc != 0) {
		fprintf(stderr, "coordctl %s: %s\n", name, err);
		return rc;
	}
	if (a->help) {
		ctl_help(name);
		return CTL_EXIT_OK;
	}
	*done = false;
	return CTL_EXIT_OK;
}

int ctl_fail(const char *what, const struct coordc_reply *reply)
{
	fprintf(stderr, "coordctl: %s: %s%s%s%s\n", what, reply->error[0] ? reply->error : "error",
	        reply->kind == COORDC_DONE_UNKNOWN ? " (outcome unknown)" : "",
	        reply->message[0] ? ": " : "", reply->message);
	/* Access control (API.md): say what to do about it. */
	if (reply->status == 401 && strcmp(reply->error, "unauthenticated") == 0)
		fprintf(stderr,
		        "coordctl: %s: the cluster wants a valid token (--token, "
		        "--token-file or $COORD_TOKEN); an unknown or revoked one is "
		        "refused too\n",
		        what);
	else if (reply->status == 403)
		fprintf(stderr,
		        "coordctl: %s: the token lacks the rule named above; an admin can "
		        "make a token that has it (token create)\n",
		        what);
	return ctl_exit_for(reply->kind, reply->status, reply->error);
}

int ctl_finish(const char *what, int rc, struct coordc_reply *r)
{
	if (rc != COORDC_OK) {
		fprintf(stderr, "coordctl: %s: %s\n", what, coordc_strerror(rc));
		rc = CTL_EXIT_USAGE;
	} else if (r->kind == COORDC_DONE_OK) {
		ctl_print_json(r->body);
		rc = CTL_EXIT_OK;
	} else {
		rc = ctl_fail(what, r);
	}
	coordc_reply_clear(r);
	return rc;
}

void ctl_print_json(const json_t *json)
{
	if (json != NULL)
		json_dumpf(json, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	fflush(stdout);
}

/* The global options given before the command (NULL: not given). */
struct globals {
	const char *endpoints, *token, *token_file;
};

/* Reads the global options before the command (--endpoints URL,...,
 * --cacert FILE, --cert FILE, --key FILE, --token SECRET, --token-file
 * FILE; each also as --opt=VALUE) over the environment's defaults; returns
 * the index of the command, or -1. */
static int global_options(int argc, char **argv, struct globals *g, struct coordc_config *cfg)
{
	static const char *const names[] = {"--endpoints", "--cacert", "--cert",
	                                    "--key",       "--token",  "--token-file"};
	const char **slots[] = {&g->endpoints, &cfg->cacert, &cfg->cert,
	                        &cfg->key,     &g->token,    &g->token_file};
	int i = 1;

	while (i < argc && strncmp(argv[i], "--", 2) == 0) {
		size_t k, len;

		for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
			len = strlen(names[k]);
			if (strncmp(argv[i], names[k], len) == 0 &&
			    (argv[i][len] == '=' || argv[i][len] == '\0'))
				break;
		}
		if (k == sizeof(names) / sizeof(names[0]))
			break; /* --help, or the command's own */
		if (argv[i][len] == '=') {
			*slots[k] = argv[i] + len + 1;
		} else if (i + 1 < argc) {
			*slots[k] = argv[++i];
		} else {
			fprintf(stderr, "coordctl: %s needs a value\n", names[k]);
			return -1;
		}
		i++;
	}
	if (!cfg->cert != !cfg->key) {
		fprintf(stderr, "coordctl: a client certificate needs both --cert and --key "
		                "(or $COORD_CERT and $COORD_KEY)\n");
		return -1;
	}
	return i;
}

/* An environment variable, NULL when unset or empty. */
static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && v[0] ? v : NULL;
}

/* Opens CTL's client and runs the command FN; returns its exit code. */
static int run(struct ctl *ctl, const char *endpoints, ctl_cmd_fn fn, int argc, char **argv)
{
	int rc;

	ctl->cfg.endpoints = endpoints;
	rc = coordc_open(&ctl->cfg, &ctl->client);
	if (rc != COORDC_OK) {
		fprintf(stderr, "coordctl: endpoints '%s': %s\n", endpoints, coordc_strerror(rc));
		return rc == COORDC_ERR_INVALID ? CTL_EXIT_USAGE : CTL_EXIT_FAIL;
	}
	rc = fn(ctl, argc, argv);
	coordc_close(ctl->client);
	return rc;
}

int main(int argc, char **argv)
{
	struct globals g = {env("COORD_ENDPOINTS"), NULL, NULL};
	struct ctl ctl = {{0}, NULL, ""};
	int i, rc;

	if (g.endpoints == NULL)
		g.endpoints = CTL_DEFAULT_ENDPOINTS;
	ctl.cfg.cacert = env("COORD_CACERT");
	ctl.cfg.cert = env("COORD_CERT");
	ctl.cfg.key = env("COORD_KEY");
	i = global_options(argc, argv, &g, &ctl.cfg);
	if (i < 0)
		return CTL_EXIT_USAGE;
	if (i >= argc || strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0 ||
	    strcmp(argv[i], "help") == 0) {
		if (i + 1 < argc && strcmp(argv[i], "help") == 0 && ctl_help(argv[i + 1]))
			return CTL_EXIT_OK;
		ctl_help("");
		return i >= argc ? CTL_EXIT_USAGE : CTL_EXIT_OK;
	}
	for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++) {
		if (strcmp(argv[i], commands[k].name) != 0)
			continue;
		rc = ctl_token(&ctl, g.token, g.token_file, env("COORD_TOKEN"));
		if (rc == 0)
			rc = run(&ctl, g.endpoints, commands[k].fn, argc - i - 1, argv + i + 1);
		explicit_bzero(ctl.token, sizeof(ctl.token));
		return rc;
	}
	fprintf(stderr, "coordctl: unknown command '%s' (see coordctl --help)\n", argv[i]);
	return CTL_EXIT_USAGE;
}
