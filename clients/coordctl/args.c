/* coordctl's option parsing, durations and exit codes (see args.h). */
#include "args.h"

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "names.h"

int ctl_duration(const char *option, const char *text, uint64_t min_ms, uint64_t max_ms,
                 uint64_t *out_ms, char err[CTL_ERR_MAX])
{
	uint64_t ms;

	/* http_duration_parse is the server's own rule for query strings, so
	 * coordctl accepts exactly the durations the API does. */
	if (!http_duration_parse(text, &ms)) {
		snprintf(err, CTL_ERR_MAX, "%s: '%s' is not a duration (e.g. 250ms, 10s, 2m)",
		         option, text);
		return CTL_EXIT_USAGE;
	}
	if (ms < min_ms || ms > max_ms) {
		snprintf(err, CTL_ERR_MAX, "%s: %s is outside %llums..%llums", option, text,
		         (unsigned long long)min_ms, (unsigned long long)max_ms);
		return CTL_EXIT_USAGE;
	}
	*out_ms = ms;
	return 0;
}

struct spec {
	const char *flag;
	enum ctl_opt bit;
	bool takes_value;
};

static const struct spec specs[] = {
    {"--shared", CTL_OPT_SHARED, false},  {"--wait", CTL_OPT_WAIT, true},
    {"--ttl", CTL_OPT_TTL, true},         {"--value", CTL_OPT_VALUE, true},
    {"--session", CTL_OPT_SESSION, true}, {"--prefix", CTL_OPT_PREFIX, true},
    {"--name", CTL_OPT_NAME, true},       {"--watch", CTL_OPT_WATCH, false},
    {"--json", CTL_OPT_JSON, false},      {"--wait", CTL_OPT_CATCHUP, false},
    {"--timeout", CTL_OPT_TIMEOUT, true}, {"--force", CTL_OPT_FORCE, false},
    {"--rule", CTL_OPT_RULE, true},       {"--admin", CTL_OPT_ADMIN, false},
    {"--cas", CTL_OPT_CAS, true},         {"--fence", CTL_OPT_FENCE, true},
    {"--stale", CTL_OPT_STALE, false},    {"--index", CTL_OPT_INDEX, true},
};

/* Stores VALUE of the option BIT in A. */
static int take(struct ctl_args *a, const struct spec *s, const char *value, char err[CTL_ERR_MAX])
{
	switch (s->bit) {
	case CTL_OPT_SHARED:
		a->shared = true;
		return 0;
	case CTL_OPT_WATCH:
		a->watch = true;
		return 0;
	case CTL_OPT_JSON:
		a->json = true;
		return 0;
	case CTL_OPT_CATCHUP:
		a->catch_up = true;
		return 0;
	case CTL_OPT_FORCE:
		a->force = true;
		return 0;
	case CTL_OPT_ADMIN:
		a->admin = true;
		return 0;
	case CTL_OPT_STALE:
		a->stale = true;
		return 0;
	case CTL_OPT_CAS:
		a->has_cas = true;
		return ctl_number("--cas", value, 0, CTL_NUMBER_MAX, &a->cas, err);
	case CTL_OPT_INDEX:
		a->has_index = true;
		return ctl_number("--index", value, 0, CTL_NUMBER_MAX, &a->index, err);
	case CTL_OPT_FENCE:
		return ctl_fence(value, a->fence_lock, &a->fence_token, err);
	case CTL_OPT_RULE:
		if (a->nrules == CTL_RULES_MAX) {
			snprintf(err, CTL_ERR_MAX, "--rule: at most %d rules", CTL_RULES_MAX);
			return CTL_EXIT_USAGE;
		}
		a->rules[a->nrules++] = value;
		return 0;
	case CTL_OPT_TIMEOUT:
		a->has_timeout = true;
		return ctl_duration("--timeout", value, CTL_TIMEOUT_MIN_MS, CTL_TIMEOUT_MAX_MS,
		                    &a->timeout_ms, err);
	case CTL_OPT_WAIT:
		a->has_wait = true;
		return ctl_duration("--wait", value, 0, CTL_WAIT_MAX_MS, &a->wait_ms, err);
	case CTL_OPT_TTL:
		return ctl_duration("--ttl", value, CTL_TTL_MIN_MS, CTL_TTL_MAX_MS, &a->ttl_ms,
		                    err);
	case CTL_OPT_VALUE:
		a->value = value;
		return 0;
	case CTL_OPT_SESSION:
		a->session = value;
		return 0;
	case CTL_OPT_PREFIX:
		a->prefix = value;
		return 0;
	case CTL_OPT_NAME:
		a->name = value;
		return 0;
	case CTL_OPT_CMD:
		break;
	}
	return CTL_EXIT_USAGE;
}

/* Handles the option word ARGV[*I] (and its value); advances *I. */
static int option(int argc, char **argv, int *i, unsigned allowed, struct ctl_args *a,
                  char err[CTL_ERR_MAX])
{
	const char *word = argv[*i];
	const char *eq = strchr(word, '=');
	size_t len = eq ? (size_t)(eq - word) : strlen(word);

	for (size_t k = 0; k < sizeof(specs) / sizeof(specs[0]); k++) {
		const struct spec *s = &specs[k];
		const char *value = NULL;

		/* A flag may mean different things to different commands
		 * ("--wait D" of lock, "--wait" of member add): take the
		 * spelling this command allows. */
		if (strlen(s->flag) != len || strncmp(word, s->flag, len) != 0 ||
		    !(allowed & s->bit))
			continue;
		if (s->takes_value) {
			if (eq)
				value = eq + 1;
			else if (*i + 1 < argc)
				value = argv[++*i];
			else {
				snprintf(err, CTL_ERR_MAX, "%s needs a value", s->flag);
				return CTL_EXIT_USAGE;
			}
		} else if (eq) {
			snprintf(err, CTL_ERR_MAX, "%s takes no value", s->flag);
			return CTL_EXIT_USAGE;
		}
		return take(a, s, value, err);
	}
	snprintf(err, CTL_ERR_MAX, "unknown option %.*s (see --help)", (int)len, word);
	return CTL_EXIT_USAGE;
}

int ctl_parse(int argc, char **argv, unsigned allowed, int npos, struct ctl_args *a,
              char err[CTL_ERR_MAX])
{
	return ctl_parse_range(argc, argv, allowed, npos, npos, a, err);
}

int ctl_parse_range(int argc, char **argv, unsigned allowed, int min_pos, int max_pos,
                    struct ctl_args *a, char err[CTL_ERR_MAX])
{
	memset(a, 0, sizeof(*a));
	a->ttl_ms = CTL_TTL_DEFAULT_MS;
	a->timeout_ms = CTL_CATCHUP_DEFAULT_MS;
	err[0] = '\0';
	for (int i = 0; i < argc; i++) {
		const char *w = argv[i];
		int rc;

		if (strcmp(w, "--help") == 0 || strcmp(w, "-h") == 0) {
			a->help = true;
			return 0;
		}
		if (strcmp(w, "--") == 0) {
			if (!(allowed & CTL_OPT_CMD)) {
				snprintf(err, CTL_ERR_MAX, "this command runs no CMD");
				return CTL_EXIT_USAGE;
			}
			a->cmd = &argv[i + 1];
			break;
		}
		if (strncmp(w, "--", 2) == 0) {
			rc = option(argc, argv, &i, allowed, a, err);
			if (rc != 0)
				return rc;
			continue;
		}
		if (a->npos == max_pos || a->npos == CTL_POSITIONAL_MAX) {
			snprintf(err, CTL_ERR_MAX, "unexpected argument '%s'", w);
			return CTL_EXIT_USAGE;
		}
		a->pos[a->npos++] = w;
	}
	if (a->npos < min_pos) {
		snprintf(err, CTL_ERR_MAX, "missing argument (see --help)");
		return CTL_EXIT_USAGE;
	}
	if ((allowed & CTL_OPT_CMD) && (a->cmd == NULL || a->cmd[0] == NULL)) {
		snprintf(err, CTL_ERR_MAX, "missing -- CMD [ARG...]");
		return CTL_EXIT_USAGE;
	}
	return 0;
}

int ctl_child_status(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return CTL_EXIT_FAIL;
}

int ctl_exit_for(enum coordc_kind kind, long status, const char *error)
{
	if (kind == COORDC_DONE_UNKNOWN || status == 0 || status == 503)
		return CTL_EXIT_UNREACHABLE;
	if (strcmp(error, "lock_held") == 0)
		return CTL_EXIT_NOT_ACQUIRED;
	if (status == 400)
		return CTL_EXIT_USAGE;
	return CTL_EXIT_FAIL;
}

/* Whether TEXT is a decimal number (digits only) that fits *OUT. */
static bool decimal(const char *text, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	for (; text[i] >= '0' && text[i] <= '9'; i++) {
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(text[i] - '0');
	}
	*out = v;
	return i > 0 && text[i] == '\0';
}

int ctl_number(const char *option, const char *text, uint64_t min, uint64_t max, uint64_t *out,
               char err[CTL_ERR_MAX])
{
	uint64_t v;

	if (!decimal(text, &v) || v < min || v > max) {
		snprintf(err, CTL_ERR_MAX, "%s: '%.40s' is not a number from %llu to %llu", option,
		         text, (unsigned long long)min, (unsigned long long)max);
		return CTL_EXIT_USAGE;
	}
	*out = v;
	return 0;
}

int ctl_fence(const char *text, char lock[COORDC_LIST_KEY_MAX + 1], uint64_t *token,
              char err[CTL_ERR_MAX])
{
	const char *colon = strrchr(text, ':');
	size_t len = colon ? (size_t)(colon - text) : 0;

	if (len == 0 || len > COORDC_LIST_KEY_MAX) {
		snprintf(err, CTL_ERR_MAX, "--fence: '%.60s' is not LOCK:TOKEN (e.g. jobs/x:42)",
		         text);
		return CTL_EXIT_USAGE;
	}
	if (ctl_number("--fence", colon + 1, 1, CTL_NUMBER_MAX, token, err) != 0)
		return CTL_EXIT_USAGE;
	memcpy(lock, text, len);
	lock[len] = '\0';
	return 0;
}

/* A decimal number from 1 to INT64_MAX in TEXT, into *ID; else a sentence
 * naming WHAT and NOUN in ERR. */
static int positive_id(const char *what, const char *noun, const char *text, uint64_t *id,
                       char err[CTL_ERR_MAX])
{
	uint64_t v = 0;

	if (!decimal(text, &v) || v == 0 || v > INT64_MAX) {
		snprintf(err, CTL_ERR_MAX, "%s: '%.40s' is not a %s id (a number from 1)", what,
		         text, noun);
		return CTL_EXIT_USAGE;
	}
	*id = v;
	return 0;
}

int ctl_node_id(const char *what, const char *text, uint64_t *id, char err[CTL_ERR_MAX])
{
	return positive_id(what, "member", text, id, err);
}

int ctl_token_id(const char *what, const char *text, uint64_t *id, char err[CTL_ERR_MAX])
{
	return positive_id(what, "token", text, id, err);
}

int ctl_rule(const char *text, json_t **rule, char err[CTL_ERR_MAX])
{
	const char *first = strchr(text, ':');
	const char *last = strrchr(text, ':');

	*rule = NULL;
	if (first == NULL || first == last || first == text || last[1] == '\0') {
		snprintf(err, CTL_ERR_MAX,
		         "--rule: '%.60s' is not RESOURCE:PREFIX:ACCESS (e.g. locks:jobs/:write)",
		         text);
		return CTL_EXIT_USAGE;
	}
	*rule = json_pack("{s:s%, s:s%, s:s}", "resource", text, (size_t)(first - text), "prefix",
	                  first + 1, (size_t)(last - first - 1), "access", last + 1);
	if (*rule == NULL) { /* not UTF-8, or no memory */
		snprintf(err, CTL_ERR_MAX, "--rule: '%.60s' is not valid text", text);
		return CTL_EXIT_USAGE;
	}
	return 0;
}

int ctl_raft_address(const char *text, char err[CTL_ERR_MAX])
{
	const char *colon = strrchr(text, ':');
	size_t host = colon ? (size_t)(colon - text) : 0;
	unsigned long port = 0;
	size_t digits = 0;

	if (colon != NULL)
		for (const char *p = colon + 1; *p >= '0' && *p <= '9' && digits < 6; p++, digits++)
			port = port * 10 + (unsigned long)(*p - '0');
	/* A colon inside the host is IPv6, which must then be bracketed. */
	if (host == 0 || host > COORDC_ADDR_MAX - 7 || digits == 0 || colon[1 + digits] != '\0' ||
	    port == 0 || port > 65535 || strcspn(text, " \t/") < strlen(text) ||
	    (memchr(text, ':', host) != NULL && (text[0] != '[' || text[host - 1] != ']'))) {
		snprintf(err, CTL_ERR_MAX, "'%.60s' is not a Raft address HOST:PORT", text);
		return CTL_EXIT_USAGE;
	}
	return 0;
}
