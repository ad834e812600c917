// SPDX-License-Identifier: GPL-2.0
/*
 * QMP client.  Every command carries its own "id", so a reply is never
 * confused with an event or with the reply to an earlier command that
 * timed out; lines that are not JSON objects are skipped.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "qmp.h"

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* One line (without its newline) into a new string, or NULL on timeout. */
static char *qmp_read_line(struct qmp *q, long long deadline)
{
	for (;;) {
		char *nl = q->len ? memchr(q->buf, '\n', q->len) : NULL;

		if (nl) {
			size_t n = nl - q->buf;
			char *line = strndup(q->buf, n);

			memmove(q->buf, nl + 1, q->len - n - 1);
			q->len -= n + 1;
			return line;
		}
		if (q->len + 4096 > q->cap) {
			size_t cap = q->cap ? q->cap * 2 : 65536;
			char *b = realloc(q->buf, cap);

			if (!b) {
				snprintf(q->err, sizeof(q->err), "out of memory");
				return NULL;
			}
			q->buf = b;
			q->cap = cap;
		}
		long long left = deadline - now_ms();
		struct pollfd p = { .fd = q->fd, .events = POLLIN };

		if (left <= 0) {
			snprintf(q->err, sizeof(q->err), "QEMU did not answer in time");
			return NULL;
		}
		int r = poll(&p, 1, left > 1000000 ? 1000000 : (int)left);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			continue;
		ssize_t n = read(q->fd, q->buf + q->len, q->cap - q->len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(q->err, sizeof(q->err), "QMP connection closed%s%s",
				 n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
			return NULL;
		}
		q->len += n;
	}
}

static int qmp_send(struct qmp *q, const char *text, int pass_fd)
{
	size_t len = strlen(text), off = 0;

	while (off < len) {
		struct iovec iov = { .iov_base = (char *)text + off, .iov_len = len - off };
		union {
			char buf[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} ctl;
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

		if (pass_fd >= 0 && off == 0) {
			struct cmsghdr *c;

			memset(&ctl, 0, sizeof(ctl));
			msg.msg_control = ctl.buf;
			msg.msg_controllen = sizeof(ctl.buf);
			c = CMSG_FIRSTHDR(&msg);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
		}
		ssize_t n = sendmsg(q->fd, &msg, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(q->err, sizeof(q->err), "writing to QMP: %s", strerror(errno));
			return -1;
		}
		off += n;
	}
	return 0;
}

json_t *qmp_cmd(struct qmp *q, const char *cmd, json_t *args, int pass_fd,
		int timeout_ms)
{
	char id[32];
	json_t *req;
	char *text;
	long long deadline = now_ms() + timeout_ms;

	snprintf(id, sizeof(id), "veilctl-%d-%lu", (int)getpid(), q->next_id++);
	req = json_pack("{s:s, s:s}", "execute", cmd, "id", id);
	if (!req)
		return NULL;
	if (args)
		json_object_set(req, "arguments", args);
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (!text)
		return NULL;
	/* QMP accepts several commands on one line; a newline ends ours. */
	size_t tl = strlen(text);
	char *line = malloc(tl + 2);

	if (!line) {
		free(text);
		return NULL;
	}
	memcpy(line, text, tl);
	memcpy(line + tl, "\n", 2);
	free(text);
	int r = qmp_send(q, line, pass_fd);

	free(line);
	if (r)
		return NULL;

	for (;;) {
		char *l = qmp_read_line(q, deadline);
		json_t *msg, *ret, *err;

		if (!l)
			return NULL;
		msg = json_loads(l, 0, NULL);
		free(l);
		const char *mid = json_string_value(json_object_get(msg, "id"));

		if (!mid || strcmp(mid, id)) {
			json_decref(msg);
			continue;
		}
		ret = json_object_get(msg, "return");
		err = json_object_get(msg, "error");
		if (ret) {
			json_incref(ret);
			json_decref(msg);
			return ret;
		}
		snprintf(q->err, sizeof(q->err), "%s: %s: %s", cmd,
			 json_string_value(json_object_get(err, "class")) ?: "Error",
			 json_string_value(json_object_get(err, "desc")) ?: "no description");
		json_decref(msg);
		return NULL;
	}
}

int qmp_run(struct qmp *q, const char *cmd, json_t *args, int timeout_ms)
{
	json_t *r = qmp_cmd(q, cmd, args, -1, timeout_ms);

	if (!r)
		return -1;
	json_decref(r);
	return 0;
}

int qmp_hmp(struct qmp *q, const char *line, char **out, int timeout_ms)
{
	json_t *args = json_pack("{s:s}", "command-line", line);
	json_t *r = qmp_cmd(q, "human-monitor-command", args, -1, timeout_ms);

	json_decref(args);
	if (!r)
		return -1;
	*out = strdup(json_is_string(r) ? json_string_value(r) : "");
	json_decref(r);
	return 0;
}

int qmp_connect(struct qmp *q, const char *path, int timeout_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	long long deadline = now_ms() + timeout_ms;
	char *greeting;

	memset(q, 0, sizeof(*q));
	q->fd = -1;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(q->err, sizeof(q->err), "socket path too long: %s", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (q->fd < 0 || connect(q->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(q->err, sizeof(q->err), "cannot connect to %s: %s", path,
			 strerror(errno));
		return -1;
	}
	greeting = qmp_read_line(q, deadline);
	if (!greeting)
		return -1;
	json_t *g = json_loads(greeting, 0, NULL);

	free(greeting);
	if (!json_object_get(g, "QMP")) {
		json_decref(g);
		snprintf(q->err, sizeof(q->err), "%s does not speak QMP (busy with another client?)",
			 path);
		return -1;
	}
	json_decref(g);
	return qmp_run(q, "qmp_capabilities", NULL, timeout_ms);
}

void qmp_close(struct qmp *q)
{
	if (q->fd >= 0)
		close(q->fd);
	free(q->buf);
	q->fd = -1;
	q->buf = NULL;
	q->len = q->cap = 0;
}
