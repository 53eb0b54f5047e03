/* coordctl's bearer token (docs/API.md, coordctl): from --token, from the
 * first line of --token-file, or from $COORD_TOKEN, the flags winning over
 * the environment. The secret is checked before anything is sent and never
 * printed: errors name where it came from, not what it is. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"

/* What a token may hold, for the error messages (API.md, Access control). */
#define TOKEN_SHAPE "1 to 128 characters of A-Z a-z 0-9 - . _ ~ + / (then = padding)"

/* Reads the first line of PATH into OUT (its newline, and a CR before it,
 * stripped). Returns 0, CTL_EXIT_NOINPUT (cannot be read) or
 * CTL_EXIT_DATAERR (empty, too long, or not a token), with the message
 * printed. */
static int read_token_file(const char *path, char out[COORDC_TOKEN_MAX])
{
	char line[COORDC_TOKEN_MAX + 2]; /* the secret, "\r\n" */
	FILE *f = fopen(path, "r");
	bool got;
	size_t n;
	int rc = 0;

	if (f == NULL) {
		fprintf(stderr, "coordctl: --token-file %s: %s\n", path, strerror(errno));
		return CTL_EXIT_NOINPUT;
	}
	got = fgets(line, sizeof(line), f) != NULL;
	if (!got && ferror(f)) {
		fprintf(stderr, "coordctl: --token-file %s: %s\n", path, strerror(errno));
		fclose(f);
		return CTL_EXIT_NOINPUT;
	}
	fclose(f);
	if (!got)
		line[0] = '\0';
	n = strlen(line);
	if (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	if (n > 0 && line[n - 1] == '\r')
		line[--n] = '\0';
	if (n == 0) {
		fprintf(stderr, "coordctl: --token-file %s: the first line is empty\n", path);
		rc = CTL_EXIT_DATAERR;
	} else if (!coordc_token_valid(line)) {
		fprintf(stderr,
		        "coordctl: --token-file %s: the first line is not a token (" TOKEN_SHAPE
		        ")\n",
		        path);
		rc = CTL_EXIT_DATAERR;
	} else {
		memcpy(out, line, n + 1);
	}
	explicit_bzero(line, sizeof(line));
	return rc;
}

int ctl_token(struct ctl *ctl, const char *flag_token, const char *token_file,
              const char *env_token)
{
	const char *from = flag_token ? "--token" : "$COORD_TOKEN";
	int rc;

	if (flag_token != NULL && token_file != NULL) {
		fprintf(stderr, "coordctl: give --token or --token-file, not both\n");
		return CTL_EXIT_USAGE;
	}
	if (token_file != NULL) {
		rc = read_token_file(token_file, ctl->token);
		ctl->cfg.token = rc == 0 ? ctl->token : NULL;
		return rc;
	}
	ctl->cfg.token = flag_token ? flag_token : env_token;
	if (ctl->cfg.token != NULL && !coordc_token_valid(ctl->cfg.token)) {
		fprintf(stderr, "coordctl: %s is not a token (" TOKEN_SHAPE ")\n", from);
		ctl->cfg.token = NULL;
		return CTL_EXIT_USAGE;
	}
	return 0;
}
