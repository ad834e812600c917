/* SPDX-License-Identifier: GPL-2.0 */
/* A small QMP client: one connection, synchronous commands, events skipped. */
#ifndef VEILCTL_QMP_H
#define VEILCTL_QMP_H

#include <jansson.h>

struct qmp {
	int fd;
	unsigned long next_id;
	char *buf;		/* bytes read but not yet parsed */
	size_t len, cap;
	char err[256];		/* last error, for messages */
};

int qmp_connect(struct qmp *q, const char *path, int timeout_ms);
void qmp_close(struct qmp *q);

/*
 * Runs one command and waits up to timeout_ms for its reply.  Returns the
 * "return" member (a new reference) or NULL with q->err set: the error
 * class and description QEMU gave, or what went wrong on the socket.
 * args may be NULL; it is not consumed.  pass_fd >= 0 is sent along with
 * the command (SCM_RIGHTS), as "getfd" and "add-fd" expect.
 */
json_t *qmp_cmd(struct qmp *q, const char *cmd, json_t *args, int pass_fd,
		int timeout_ms);

/* Same, for callers that only need success: 0 or -1 with q->err set. */
int qmp_run(struct qmp *q, const char *cmd, json_t *args, int timeout_ms);

/* An HMP command through human-monitor-command; its output in *out. */
int qmp_hmp(struct qmp *q, const char *line, char **out, int timeout_ms);

#endif
