// SPDX-License-Identifier: GPL-2.0
/*
 * Planted: on its first attempt this program finds the test bed failed
 * under it, as the e2e programs' suite_void does: it leaves a process, a
 * file in /tmp and a loaded module (one that WARNs) behind, fails a check
 * and asks to be run again.  L1's init must run it again from the state it
 * began in, and the runner must set the first attempt's results aside but
 * still charge the WARN to it.  The second attempt checks the clean-up.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "planted.h"

/* Outside /tmp, which the clean-up empties of what an attempt made. */
#define ATTEMPT	"/run/planted_void.attempt"
#define LEFT	"/tmp/planted_void.left"

static int n, bad;

static void check(const char *what, int cond)
{
	printf("%sok %d %s\n", cond ? "" : "not ", ++n, what);
	bad += !cond;
}

/* A process that is gone, or a zombie nobody reaped (it runs nothing). */
static int gone(pid_t pid)
{
	char path[64], state = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return errno == ENOENT;
	if (fscanf(f, "%*d %*s %c", &state) != 1)
		state = 0;
	fclose(f);
	return state == 'Z';
}

static int first_attempt(void)
{
	char pid_text[32];
	pid_t child;

	printf("TAP version 13\n1..2\n");
	child = fork();
	if (child < 0)
		return 1;
	if (!child) {
		pause();
		_exit(0);
	}
	snprintf(pid_text, sizeof(pid_text), "%d\n", (int)child);
	check("first attempt: a process, a file in /tmp and a module left behind",
	      !plant_write(ATTEMPT, pid_text) && !plant_write(LEFT, "left\n") &&
	      !plant_load(""));
	check("planted: the test bed failed under this attempt", 0);
	fflush(stdout);
	plant_write("/tmp/veil-suite-void", "planted: the test bed failed under it\n");
	return 1;
}

int main(void)
{
	FILE *f = fopen(ATTEMPT, "r");
	int pid = 0;

	if (!f)
		return first_attempt();
	if (fscanf(f, "%d", &pid) != 1)
		pid = 0;
	fclose(f);
	printf("TAP version 13\n1..4\n");
	check("second attempt: the process the first left is gone", pid > 0 && gone(pid));
	check("the file the first left in /tmp is gone", access(LEFT, F_OK) && errno == ENOENT);
	check("the module the first loaded is unloaded",
	      access("/sys/module/veil_plant_warn", F_OK) && errno == ENOENT);
	check("the first attempt's request to run again is gone",
	      access("/tmp/veil-suite-void", F_OK) && errno == ENOENT);
	return bad ? 1 : 0;
}
