// SPDX-License-Identifier: GPL-2.0
/*
 * The protected checkpoint:
 *
 *   PREPARE (guest freezes, collects, publishes, acks) -> QMP stop ->
 *   SANITIZE -> snapshot writer -> RESTORE -> QMP cont -> THAW
 *
 * A guardian process, forked before the first step, shares the QMP
 * connection and the /dev/veil descriptor.  If veilctl dies at any step it
 * cancels the snapshot writer, restores the frames, resumes the VM and
 * thaws the guest; the file being written was never linked into place.
 * Should the guardian die too, closing the last /dev/veil descriptor
 * restores and thaws in the kernel; only the QMP "cont" is then left to
 * the operator.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "qmp.h"
#include "veilctl.h"
#include "veildev.h"
#include "vm.h"

#define QMP_TIMEOUT_MS	10000
#define OUT_FDNAME	"veilctl-out"
#define IN_FDNAME	"veilctl-in"

struct ckpt {
	const struct options *o;
	struct vm vm;
	struct qmp q;
	int veil;		/* /dev/veil descriptor, -1 when unprotected */
	int was_running;
	int guard_pipe;		/* write end; EOF without "D" = recover */
	pid_t guard;
	int out_fd;
	pid_t owner;		/* the veilctl that writes it (names the link) */
	char tmp_path[4200];	/* fallback temporary name, if not O_TMPFILE */
	struct veil_prepare prep;
	struct veil_sanitize san;
	long long bytes;
	double t_prepare, t_save, t_total;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *format_name(enum ckpt_format f)
{
	return f == FMT_MIGRATE ? "migrate" : f == FMT_SAVEVM ? "savevm" : "dump";
}

/* "running", "paused", "inmigrate", ... or NULL with q->err set. */
static char *run_state(struct qmp *q)
{
	json_t *r = qmp_cmd(q, "query-status", NULL, -1, QMP_TIMEOUT_MS);
	char *s;

	if (!r)
		return NULL;
	s = strdup(json_string_value(json_object_get(r, "status")) ?: "unknown");
	json_decref(r);
	return s;
}

/* Waits for a migration or dump job to leave its active states. */
static const char *wait_job(struct ckpt *c, int dump, int timeout_s, int progress)
{
	static char status[32];
	double deadline = now_s() + timeout_s;
	int shown = 0;

	for (;;) {
		json_t *r = qmp_cmd(&c->q, dump ? "query-dump" : "query-migrate", NULL, -1,
				    QMP_TIMEOUT_MS);
		const char *st;
		long long done = 0, total = 0;

		if (!r)
			return NULL;
		st = json_string_value(json_object_get(r, "status")) ?: "none";
		snprintf(status, sizeof(status), "%s", st);
		if (dump) {
			done = json_integer_value(json_object_get(r, "completed"));
			total = json_integer_value(json_object_get(r, "total"));
		} else {
			json_t *ram = json_object_get(r, "ram");

			done = json_integer_value(json_object_get(ram, "transferred"));
			total = json_integer_value(json_object_get(ram, "total"));
		}
		json_decref(r);
		if (progress && total > 0 && strcmp(status, "completed")) {
			fprintf(stderr, "\rveilctl: saving %3lld%% (%lld MiB)", done * 100 / total,
				done >> 20);
			shown = 1;
		}
		if (strcmp(status, "setup") && strcmp(status, "active") &&
		    strcmp(status, "device") && strcmp(status, "pre-switchover") &&
		    strcmp(status, "cancelling"))
			break;
		if (now_s() > deadline) {
			snprintf(status, sizeof(status), "timeout");
			break;
		}
		usleep(100000);
	}
	if (shown)
		fprintf(stderr, "\r\033[K");
	return status;
}

/*
 * VEILCTL_PAUSE_AFTER=STEP makes veilctl stop for good after STEP
 * (prepare, stop, sanitize, save-started, save, restore, cont, link), so that
 * the crash-safety tests can kill it exactly there.
 */
static void step_done(const char *step)
{
	const char *p = getenv("VEILCTL_PAUSE_AFTER");

	if (!p || strcmp(p, step))
		return;
	fprintf(stderr, "veilctl: paused after %s\n", step);
	for (;;)
		pause();
}

/*
 * Undo whatever the checkpoint did so far; every step is safe to repeat
 * and harmless when its counterpart never happened.
 */
static void recover(struct ckpt *c)
{
	struct veil_sanitize s;

	if (c->o->format == FMT_MIGRATE) {
		qmp_run(&c->q, "migrate_cancel", NULL, QMP_TIMEOUT_MS);
		wait_job(c, 0, 120, 0);
	} else if (c->o->format == FMT_DUMP) {
		wait_job(c, 1, 3600, 0);
	}
	if (c->veil >= 0) {
		veil_restore(c->veil, &s);
		step_done("restore");
	}
	if (c->was_running) {
		qmp_run(&c->q, "cont", NULL, QMP_TIMEOUT_MS);
		step_done("cont");
	}
	if (c->veil >= 0)
		veil_thaw(c->veil);
}

/* The name the finished file is linked under before it is renamed. */
static void link_name(const struct ckpt *c, char *buf, size_t n)
{
	snprintf(buf, n, "%s.veilctl-%d", c->o->to, (int)c->owner);
}

/*
 * The guardian, once the snapshot writer is cancelled: removes whatever
 * name the file of a veilctl killed while publishing it still has, short
 * of its final one.
 */
static void discard_output(const struct ckpt *c)
{
	char tmp[4200];

	if (c->out_fd < 0)
		return;
	link_name(c, tmp, sizeof(tmp));
	unlink(tmp);
	if (c->tmp_path[0])
		unlink(c->tmp_path);
}

static void guardian_start(struct ckpt *c)
{
	int p[2];
	pid_t pid;

	c->guard = -1;
	c->guard_pipe = -1;
	if (pipe(p)) {
		err_msg("cannot start the guardian: %s", strerror(errno));
		return;
	}
	pid = fork();
	if (pid == 0) {
		char b = 0;
		ssize_t n;

		close(p[1]);
		unsetenv("VEILCTL_PAUSE_AFTER");
		/* Survive the terminal's signals to veilctl's process group. */
		setsid();
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		do
			n = read(p[0], &b, 1);
		while (n < 0 && errno == EINTR);
		if (n == 1 && b == 'D')
			_exit(0);
		recover(c);
		discard_output(c);
		_exit(0);
	}
	close(p[0]);
	if (pid < 0) {
		err_msg("cannot start the guardian: %s", strerror(errno));
		close(p[1]);
		return;
	}
	c->guard = pid;
	c->guard_pipe = p[1];
}

static void guardian_stop(struct ckpt *c)
{
	if (c->guard_pipe >= 0) {
		if (write(c->guard_pipe, "D", 1) != 1)
			err_msg("guardian: %s", strerror(errno));
		close(c->guard_pipe);
	}
	if (c->guard > 0)
		waitpid(c->guard, NULL, 0);
}

static int open_output(struct ckpt *c)
{
	const char *to = c->o->to;
	char dir[4096];
	const char *slash = strrchr(to, '/');
	struct stat st;

	if (!c->o->force && stat(to, &st) == 0) {
		err_msg("%s exists (use --force to replace it)", to);
		return -1;
	}
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == to)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - to), to);
	c->owner = getpid();
	c->out_fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (c->out_fd >= 0)
		return 0;
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
		err_msg("cannot write in %s: %s", dir, strerror(errno));
		return -1;
	}
	snprintf(c->tmp_path, sizeof(c->tmp_path), "%s.veilctl-XXXXXX", to);
	c->out_fd = mkostemp(c->tmp_path, O_CLOEXEC);
	if (c->out_fd < 0) {
		err_msg("cannot create %s: %s", c->tmp_path, strerror(errno));
		c->tmp_path[0] = 0;
		return -1;
	}
	return 0;
}

/* Makes the finished file visible under its name. */
static int publish_output(struct ckpt *c)
{
	const char *to = c->o->to;
	char proc[64], tmp[4200];
	struct stat st;

	if (fsync(c->out_fd) || fstat(c->out_fd, &st)) {
		err_msg("writing %s: %s", to, strerror(errno));
		return -1;
	}
	c->bytes = st.st_size;
	if (c->tmp_path[0]) {
		if (rename(c->tmp_path, to)) {
			err_msg("renaming to %s: %s", to, strerror(errno));
			return -1;
		}
		c->tmp_path[0] = 0;
		return 0;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", c->out_fd);
	link_name(c, tmp, sizeof(tmp));
	if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW)) {
		err_msg("creating %s: %s", to, strerror(errno));
		return -1;
	}
	step_done("link");
	if (rename(tmp, to)) {
		err_msg("renaming to %s: %s", to, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

static int pass_fd(struct ckpt *c, int fd, const char *name)
{
	json_t *args = json_pack("{s:s}", "fdname", name);
	json_t *r = qmp_cmd(&c->q, "getfd", args, fd, QMP_TIMEOUT_MS);

	json_decref(args);
	if (!r) {
		err_msg("passing the file to QEMU: %s", c->q.err);
		return -1;
	}
	json_decref(r);
	return 0;
}

static int save_migrate(struct ckpt *c)
{
	json_t *params, *args;
	long long old_bw = -1;
	const char *st;
	int rc = -1;

	if (pass_fd(c, c->out_fd, OUT_FDNAME))
		return -1;
	/* The VM is stopped: no reason to throttle the stream. */
	params = qmp_cmd(&c->q, "query-migrate-parameters", NULL, -1, QMP_TIMEOUT_MS);
	if (params)
		old_bw = json_integer_value(json_object_get(params, "max-bandwidth"));
	json_decref(params);
	args = json_pack("{s:I}", "max-bandwidth", (json_int_t)1 << 40);
	qmp_run(&c->q, "migrate-set-parameters", args, QMP_TIMEOUT_MS);
	json_decref(args);

	args = json_pack("{s:s}", "uri", "fd:" OUT_FDNAME);
	if (qmp_run(&c->q, "migrate", args, QMP_TIMEOUT_MS)) {
		err_msg("%s", c->q.err);
		json_decref(args);
		goto out;
	}
	json_decref(args);
	step_done("save-started");
	st = wait_job(c, 0, c->o->save_timeout_s,
		      !c->o->json && !c->o->quiet && isatty(2));
	if (!st)
		err_msg("following the migration: %s", c->q.err);
	else if (strcmp(st, "completed"))
		err_msg("migration ended %s", st);
	else
		rc = 0;
out:
	if (old_bw > 0) {
		args = json_pack("{s:I}", "max-bandwidth", (json_int_t)old_bw);
		qmp_run(&c->q, "migrate-set-parameters", args, QMP_TIMEOUT_MS);
		json_decref(args);
	}
	return rc;
}

static int save_dump(struct ckpt *c)
{
	json_t *args;
	const char *st;

	if (pass_fd(c, c->out_fd, OUT_FDNAME))
		return -1;
	args = json_pack("{s:b, s:s, s:b}", "paging", 0, "protocol", "fd:" OUT_FDNAME,
			 "detach", 1);
	if (qmp_run(&c->q, "dump-guest-memory", args, QMP_TIMEOUT_MS)) {
		err_msg("%s", c->q.err);
		json_decref(args);
		return -1;
	}
	json_decref(args);
	step_done("save-started");
	st = wait_job(c, 1, c->o->save_timeout_s,
		      !c->o->json && !c->o->quiet && isatty(2));
	if (!st) {
		err_msg("following the dump: %s", c->q.err);
		return -1;
	}
	if (strcmp(st, "completed")) {
		err_msg("dump ended %s", st);
		return -1;
	}
	return 0;
}

static int save_savevm(struct ckpt *c)
{
	char line[512], *out = NULL;
	int rc = 0;

	if (strpbrk(c->o->to, " \t\n\"\\")) {
		err_msg("snapshot name %s: no blanks, quotes or backslashes", c->o->to);
		return -1;
	}
	snprintf(line, sizeof(line), "savevm %s", c->o->to);
	if (qmp_hmp(&c->q, line, &out, c->o->save_timeout_s * 1000)) {
		err_msg("savevm: %s", c->q.err);
		return -1;
	}
	if (out && out[strspn(out, " \r\n")]) {
		out[strcspn(out, "\r\n")] = 0;
		err_msg("savevm: %s", out);
		rc = -1;
	}
	free(out);
	return rc;
}

static void print_result(struct ckpt *c)
{
	const struct options *o = c->o;
	unsigned long long pages = c->veil >= 0 ? c->san.nr_pages : 0;

	if (o->json) {
		json_t *j = json_pack("{s:i, s:s, s:s, s:s, s:b, s:I, s:I, s:I, s:f, s:f, s:f}",
				      "pid", c->vm.pid, "name", c->vm.name, "to", o->to,
				      "format", format_name(o->format),
				      "protected", c->veil >= 0,
				      "excluded_pages", (json_int_t)pages,
				      "generation", (json_int_t)c->prep.generation,
				      "bytes", (json_int_t)c->bytes,
				      "prepare_seconds", c->t_prepare,
				      "save_seconds", c->t_save,
				      "seconds", c->t_total);
		/* Six significant digits: microseconds for times under ten seconds. */
		char *s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6));

		printf("%s\n", s);
		free(s);
		json_decref(j);
		return;
	}
	if (o->quiet)
		return;
	printf("checkpoint of VM %d (%s) %s %s: %s\n", c->vm.pid, c->vm.name,
	       o->format == FMT_SAVEVM ? "saved as snapshot" : "written to", o->to,
	       c->veil >= 0 ? "protected" : "UNPROTECTED");
	if (c->veil >= 0)
		printf("  excluded: %llu pages (%llu KiB), generation %llu\n", pages, pages * 4,
		       (unsigned long long)c->prep.generation);
	if (o->format != FMT_SAVEVM)
		printf("  size: %lld bytes\n", c->bytes);
	printf("  time: %.2f s (prepare %.2f s, save %.2f s)\n", c->t_total, c->t_prepare,
	       c->t_save);
}

/*
 * A PREPARE that failed, for --json: which step, why, the guest's own
 * error when it gave one, and that nothing was written.
 */
static void print_prepare_failure(const struct ckpt *c, int err)
{
	json_t *j;
	char *s;

	if (!c->o->json)
		return;
	j = json_pack("{s:i, s:s, s:s, s:s, s:i, s:b}", "pid", c->vm.pid,
		      "name", c->vm.name, "result", "refused", "step", "prepare",
		      "errno", err, "written", 0);
	json_object_set_new(j, "error", json_string(strerror(err)));
	if (err == EREMOTEIO)
		json_object_set_new(j, "guest_error", json_integer(c->prep.guest_error));
	s = json_dumps(j, JSON_COMPACT);
	printf("%s\n", s);
	free(s);
	json_decref(j);
}

/* Connects QMP and, unless unprotected, /dev/veil.  Returns an exit code. */
static int ckpt_setup(struct ckpt *c, const char *spec)
{
	char msg[512];
	struct veil_info info;
	int absent;
	char *st;

	if (vm_find(spec, &c->vm, msg, sizeof(msg))) {
		err_msg("%s", msg);
		return EXIT_NOVM;
	}
	if (qmp_connect(&c->q, c->vm.qmp, QMP_TIMEOUT_MS)) {
		err_msg("VM %d: %s", c->vm.pid, c->q.err);
		return EXIT_NOVM;
	}
	st = run_state(&c->q);
	if (!st) {
		err_msg("VM %d: %s", c->vm.pid, c->q.err);
		return EXIT_FAIL;
	}
	c->was_running = !strcmp(st, "running");
	if (!c->was_running && strcmp(st, "paused")) {
		err_msg("VM %d is %s; a checkpoint needs it running or paused", c->vm.pid, st);
		free(st);
		return EXIT_FAIL;
	}
	free(st);

	if (c->o->plain) {
		info_msg(c->o, "--plain: the checkpoint keeps every excluded page");
		return EXIT_OK;
	}
	c->veil = veil_attach(c->vm.pid, c->vm.vm_fd, &absent, msg, sizeof(msg));
	if (c->veil < 0) {
		if (!absent)
			goto refuse_err;
		if (!c->o->allow_unprotected) {
			err_msg("%s", msg);
			err_msg("refusing an unprotected checkpoint (--allow-unprotected to take one)");
			return EXIT_UNPROTECTED;
		}
		info_msg(c->o, "veil_host is not loaded: the checkpoint is NOT protected");
		return EXIT_OK;
	}
	if (veil_info(c->veil, &info)) {
		snprintf(msg, sizeof(msg), "VM %d: INFO: %s", c->vm.pid, strerror(errno));
		goto refuse_err;
	}
	if (!(info.flags & VEIL_INFO_REGISTERED)) {
		close(c->veil);
		c->veil = -1;
		if (!c->o->allow_unprotected) {
			err_msg("VM %d: the guest does not run veil_guest; refusing an unprotected checkpoint (--allow-unprotected to take one)",
				c->vm.pid);
			return EXIT_UNPROTECTED;
		}
		info_msg(c->o, "the guest does not run veil_guest: the checkpoint is NOT protected");
	}
	return EXIT_OK;
refuse_err:
	err_msg("%s", msg);
	return EXIT_FAIL;
}

int cmd_checkpoint(const char *spec, const struct options *o)
{
	struct ckpt c = { .o = o, .veil = -1, .out_fd = -1, .guard = -1, .guard_pipe = -1 };
	double t0 = now_s(), t;
	int rc, saved;

	rc = ckpt_setup(&c, spec);
	if (rc)
		goto out;
	if (o->format != FMT_SAVEVM && open_output(&c)) {
		rc = EXIT_FAIL;
		goto out;
	}
	guardian_start(&c);

	if (c.veil >= 0) {
		t = now_s();
		if (veil_prepare(c.veil, o->timeout_s * 1000, &c.prep)) {
			int e = errno;

			if (e == ETIMEDOUT) {
				err_msg("VM %d: the guest did not acknowledge within %u s; nothing written, VM left running",
					c.vm.pid, o->timeout_s);
				rc = EXIT_TIMEOUT;
			} else if (e == EREMOTEIO) {
				err_msg("VM %d: the guest could not prepare: %s (guest error %u); nothing written, VM left running",
					c.vm.pid, strerror(c.prep.guest_error),
					c.prep.guest_error);
				rc = EXIT_FAIL;
			} else if (e == EPROTO) {
				err_msg("VM %d: the guest acknowledged PREPARE without publishing its set for it; nothing written, VM left running",
					c.vm.pid);
				rc = EXIT_FAIL;
			} else if (e == ENODEV) {
				err_msg("VM %d: the guest no longer runs veil_guest (it unloaded it or rebooted); nothing written",
					c.vm.pid);
				rc = EXIT_UNPROTECTED;
			} else {
				err_msg("VM %d: PREPARE: %s", c.vm.pid, strerror(e));
				rc = EXIT_FAIL;
			}
			print_prepare_failure(&c, e);
			recover(&c);
			goto done;
		}
		c.t_prepare = now_s() - t;
		step_done("prepare");
	}
	if (c.was_running && qmp_run(&c.q, "stop", NULL, QMP_TIMEOUT_MS)) {
		err_msg("VM %d: %s", c.vm.pid, c.q.err);
		rc = EXIT_FAIL;
		recover(&c);
		goto done;
	}
	step_done("stop");
	if (c.veil >= 0 && veil_sanitize(c.veil, &c.san)) {
		err_msg("VM %d: SANITIZE: %s", c.vm.pid, strerror(errno));
		rc = EXIT_FAIL;
		recover(&c);
		goto done;
	}

	if (c.veil >= 0)
		step_done("sanitize");

	t = now_s();
	saved = o->format == FMT_MIGRATE ? save_migrate(&c) :
		o->format == FMT_DUMP ? save_dump(&c) : save_savevm(&c);
	c.t_save = now_s() - t;
	step_done("save");

	/* RESTORE, cont and THAW, whether the save worked or not. */
	recover(&c);
	{
		struct veil_info info;

		if (c.veil >= 0 && (veil_info(c.veil, &info) || info.state != VEIL_HOST_RUNNING)) {
			err_msg("VM %d: the frames could not be restored (state %s); do not resume it before closing veilctl",
				c.vm.pid, veil_state_name(info.state));
			saved = -1;
		}
	}
	if (saved) {
		rc = EXIT_FAIL;
		goto done;
	}
	if (o->format != FMT_SAVEVM && publish_output(&c)) {
		rc = EXIT_FAIL;
		goto done;
	}
	c.t_total = now_s() - t0;
	print_result(&c);
	rc = EXIT_OK;
done:
	guardian_stop(&c);
out:
	if (c.tmp_path[0])
		unlink(c.tmp_path);
	if (c.out_fd >= 0)
		close(c.out_fd);
	if (c.veil >= 0)
		close(c.veil);
	qmp_close(&c.q);
	return rc;
}

int cmd_restore(const char *spec, const struct options *o)
{
	struct ckpt c = { .o = o, .veil = -1, .out_fd = -1 };
	char msg[512], *st;
	json_t *args;
	const char *js;
	int fd, rc = EXIT_FAIL;

	if (vm_find(spec, &c.vm, msg, sizeof(msg))) {
		err_msg("%s", msg);
		return EXIT_NOVM;
	}
	if (qmp_connect(&c.q, c.vm.qmp, QMP_TIMEOUT_MS)) {
		err_msg("VM %d: %s", c.vm.pid, c.q.err);
		return EXIT_NOVM;
	}
	st = run_state(&c.q);
	if (!st || strcmp(st, "inmigrate")) {
		err_msg("VM %d is %s; restore needs a QEMU started with -incoming defer",
			c.vm.pid, st ?: c.q.err);
		free(st);
		goto out;
	}
	free(st);
	fd = open(o->from, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err_msg("%s: %s", o->from, strerror(errno));
		goto out;
	}
	if (pass_fd(&c, fd, IN_FDNAME)) {
		close(fd);
		goto out;
	}
	close(fd);
	args = json_pack("{s:s}", "uri", "fd:" IN_FDNAME);
	if (qmp_run(&c.q, "migrate-incoming", args, QMP_TIMEOUT_MS)) {
		err_msg("%s", c.q.err);
		json_decref(args);
		goto out;
	}
	json_decref(args);
	js = wait_job(&c, 0, o->save_timeout_s, !o->json && !o->quiet && isatty(2));
	if (!js || strcmp(js, "completed")) {
		err_msg("loading %s: %s", o->from, js ? js : c.q.err);
		goto out;
	}
	st = run_state(&c.q);
	if (st && strcmp(st, "running") && !o->paused &&
	    qmp_run(&c.q, "cont", NULL, QMP_TIMEOUT_MS)) {
		err_msg("VM %d: %s", c.vm.pid, c.q.err);
		free(st);
		goto out;
	}
	free(st);
	if (o->json) {
		json_t *j = json_pack("{s:i, s:s, s:b}", "pid", c.vm.pid, "from", o->from,
				      "running", !o->paused);
		char *s = json_dumps(j, JSON_COMPACT);

		printf("%s\n", s);
		free(s);
		json_decref(j);
	} else if (!o->quiet) {
		printf("VM %d (%s) restored from %s%s\n", c.vm.pid, c.vm.name, o->from,
		       o->paused ? ", paused" : "");
	}
	rc = EXIT_OK;
out:
	qmp_close(&c.q);
	return rc;
}
