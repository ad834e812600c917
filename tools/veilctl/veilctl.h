/* SPDX-License-Identifier: GPL-2.0 */
#ifndef VEILCTL_H
#define VEILCTL_H

#include <jansson.h>

#include "veil_exit.h"

/* Exit codes: tools/include/veil_exit.h, documented in veilctl(8). */
#define EXIT_OK		VEIL_EXIT_OK
#define EXIT_FAIL	VEIL_EXIT_FAILED
#define EXIT_USAGE	VEIL_EXIT_USAGE
#define EXIT_NOVM	VEIL_EXIT_NOT_FOUND
#define EXIT_UNPROTECTED VEIL_EXIT_REFUSED
#define EXIT_TIMEOUT	VEIL_EXIT_TIMEOUT
#define EXIT_PERM	VEIL_EXIT_PERM

/*
 * The JSON schema version of every object veilctl prints with --json,
 * documented in veilctl(8): a new member keeps it, a changed or removed
 * one bumps it.
 */
#define VEILCTL_SCHEMA	1

/*
 * Bare QEMU: migrate, savevm, dump.  libvirt domains: managedsave, save,
 * snapshot, memory, and dump (through libvirt).
 */
enum ckpt_format {
	FMT_DEFAULT, FMT_MIGRATE, FMT_SAVEVM, FMT_DUMP,
	FMT_MANAGEDSAVE, FMT_SAVE, FMT_SNAPSHOT, FMT_MEMORY,
};

struct options {
	int json;
	int quiet;
	int allow_unprotected;
	int plain;		/* leave veil out on purpose */
	int force;
	int paused;
	enum ckpt_format format;
	unsigned int timeout_s;		/* guest acknowledgement */
	unsigned int save_timeout_s;	/* the snapshot writer */
	const char *to;
	const char *from;
	const char *connect;	/* libvirt URI, or NULL for the default */
};

int cmd_checkpoint(const char *spec, const struct options *o);
const char *format_name(enum ckpt_format f);

/*
 * With --json, a failure is one object on stdout as well:
 * {"schema", "command", "ok": false, "exit", "error", ...extra members},
 * "error" being the first message err_msg() printed.  extra may be NULL;
 * it is consumed.
 */
void json_failure(int exit_code, json_t *extra);

/*
 * Prints j (consumed) on stdout with "schema", "command" and "ok" added;
 * only one object is printed per run.
 */
void json_print(json_t *j, int ok, int flags);
int cmd_restore(const char *spec, const struct options *o);

/* Messages: "veilctl: ..." on stderr. */
void err_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void info_msg(const struct options *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
