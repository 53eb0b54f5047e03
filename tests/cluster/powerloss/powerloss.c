/* powerloss: whole-cluster power loss for fault tests (issue 23), built
 * on the lazyfs VFS of the persistence unit tests
 * (tests/unit/persist/lazyfs.h). Nothing in coordd knows of it.
 *
 * As an LD_PRELOAD shim (libcoord_powerloss.so): the first
 * sqlite3_open_v2() of the process makes lazyfs SQLite's default VFS, so
 * every database and WAL file coordd opens logs the pre-image of each write
 * to "<file>.undo" until SQLite syncs it. With POWERLOSS_LIE_FILE=PATH,
 * while PATH exists every sync says it succeeded and syncs nothing (a disk
 * that lies), to show that a durability check has teeth.
 *
 * As a program (coord-powerloss FOLDER...), after every process that used
 * the folders was killed with SIGKILL: rolls each file back to its last
 * sync, as a power cut would leave it, and prints what it undid. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "lazyfs.h"

#ifdef POWERLOSS_TOOL

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: coord-powerloss FOLDER...\n");
		return 2;
	}
	for (int i = 1; i < argc; i++)
		printf("%s: %ld unsynced writes undone\n", argv[i], lazyfs_power_loss(argv[i]));
	return 0;
}

#else

static pthread_once_t once = PTHREAD_ONCE_INIT;
static const char *lie_file;

static int lying(void)
{
	return access(lie_file, F_OK) == 0;
}

static void arm(void)
{
	if (lazyfs_register() != SQLITE_OK)
		abort(); /* a test tool that cannot work must not pass quietly */
	lie_file = getenv("POWERLOSS_LIE_FILE");
	if (lie_file != NULL && lie_file[0] != '\0')
		lazyfs_set_lying(lying);
}

int sqlite3_open_v2(const char *name, sqlite3 **db, int flags, const char *vfs)
{
	static int (*real)(const char *, sqlite3 **, int, const char *);

	pthread_once(&once, arm);
	if (real == NULL)
		real = (int (*)(const char *, sqlite3 **, int, const char *))dlsym(
		    RTLD_NEXT, "sqlite3_open_v2");
	if (real == NULL)
		abort();
	return real(name, db, flags, vfs);
}

#endif
