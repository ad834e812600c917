/* SPDX-License-Identifier: GPL-2.0 */
#ifndef VEILCTL_H
#define VEILCTL_H

/* Exit codes, documented in veilctl(8). */
#define EXIT_OK		0
#define EXIT_FAIL	1
#define EXIT_USAGE	2
#define EXIT_NOVM	3
#define EXIT_UNPROTECTED 4
#define EXIT_TIMEOUT	5

enum ckpt_format { FMT_MIGRATE, FMT_SAVEVM, FMT_DUMP };

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
};

int cmd_checkpoint(const char *spec, const struct options *o);
int cmd_restore(const char *spec, const struct options *o);

/* Messages: "veilctl: ..." on stderr. */
void err_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void info_msg(const struct options *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
