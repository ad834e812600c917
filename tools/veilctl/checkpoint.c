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

#include "lv.h"
#include "qmp.h"
#include "veilctl.h"
#include "veildev.h"
#include "vm.h"

#define QMP_TIMEOUT_MS	10000
#define OUT_FDNAME	"veilctl-out"
#define IN_FDNAME	"veilctl-in"

/* What the guardian tells veilctl after writing through libvirt. */
struct writer_result {
	int rc;
	char err[512];
};

struct ckpt {
	const struct options *o;
	struct vm vm;
	struct qmp q;
	struct lv lv;		/* a libvirt domain: use_lv */
	int use_lv;
	enum ckpt_format format;
	int veil;		/* /dev/veil descriptor, -1 when unprotected */
	int was_running;
	int guard_pipe;		/* write end; "W" = write, "D" = done, EOF = recover */
	int result_pipe;	/* read end: the guardian's struct writer_result */
	pid_t guard;
	int out_fd;
	pid_t owner;		/* the veilctl that writes it (names the link) */
	char tmp_path[4200];	/* fallback temporary name, if not O_TMPFILE */
	char to[4096];		/* --to; absolute where libvirtd opens it */
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

const char *format_name(enum ckpt_format f)
{
	static const char *const names[] = {
		[FMT_DEFAULT] = "default", [FMT_MIGRATE] = "migrate", [FMT_SAVEVM] = "savevm",
		[FMT_DUMP] = "dump", [FMT_MANAGEDSAVE] = "managedsave", [FMT_SAVE] = "save",
		[FMT_SNAPSHOT] = "snapshot", [FMT_MEMORY] = "memory",
	};

	return names[f];
}

/* Formats whose file libvirtd writes by its name, not through a descriptor. */
static int lv_writes_file(enum ckpt_format f)
{
	return f == FMT_SAVE || f == FMT_MEMORY || f == FMT_DUMP;
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
 * and harmless when its counterpart never happened.  For a libvirt domain
 * l is a connection of the caller's own.
 */
static void recover(struct ckpt *c, struct lv *l)
{
	struct veil_sanitize s;

	if (c->use_lv) {
		/* libvirt's job (ours ended before this) must not see RESTORE. */
		if (l->dom)
			lv_wait_idle(l, c->o->save_timeout_s);
	} else if (c->format == FMT_MIGRATE) {
		qmp_run(&c->q, "migrate_cancel", NULL, QMP_TIMEOUT_MS);
		wait_job(c, 0, 120, 0);
	} else if (c->format == FMT_DUMP) {
		wait_job(c, 1, 3600, 0);
	}
	if (c->veil >= 0) {
		veil_restore(c->veil, &s);
		step_done("restore");
	}
	if (c->was_running) {
		if (!c->use_lv)
			qmp_run(&c->q, "cont", NULL, QMP_TIMEOUT_MS);
		else if (l->dom && lv_active(l) && lv_state(l) == VIR_DOMAIN_PAUSED)
			lv_resume(l);
		step_done("cont");
	}
	if (c->veil >= 0)
		veil_thaw(c->veil);
}

/* The name the finished file is linked under before it is renamed. */
static void link_name(const struct ckpt *c, char *buf, size_t n)
{
	snprintf(buf, n, "%s.veilctl-%d", c->to, (int)c->owner);
}

/*
 * The guardian, once the snapshot writer is cancelled: removes whatever
 * name the file of a veilctl killed while publishing it still has, short
 * of its final one.
 */
static void discard_output(const struct ckpt *c)
{
	char tmp[4200];

	if (c->out_fd < 0 && !(c->use_lv && lv_writes_file(c->format)))
		return;
	link_name(c, tmp, sizeof(tmp));
	unlink(tmp);
	if (c->tmp_path[0])
		unlink(c->tmp_path);
}

/* The libvirt writer; the file is written under its temporary name. */
static void write_lv(struct ckpt *c, struct lv *l, struct writer_result *res)
{
	char tmp[4200];

	link_name(c, tmp, sizeof(tmp));
	res->rc = lv_write(l, c->format, lv_writes_file(c->format) ? tmp : c->to,
			   c->was_running);
	snprintf(res->err, sizeof(res->err), "%s", res->rc ? l->err : "");
}

/*
 * The guardian waits for veilctl's word on a pipe: "D" when the checkpoint
 * is done, "W" to run libvirt's writer (a job veilctl's death cannot leave
 * half-done: the guardian returns from it before it recovers), and end of
 * file, when veilctl died, to recover.
 */
static void guardian(struct ckpt *c, int cmd_fd, int res_fd)
{
	struct lv own = c->lv;
	char b = 0;
	ssize_t n;

	/* libvirt's connection of the parent is not this process's to use. */
	own.conn = NULL;
	own.dom = NULL;
	for (;;) {
		do
			n = read(cmd_fd, &b, 1);
		while (n < 0 && errno == EINTR);
		if (n == 1 && b == 'D')
			_exit(0);
		if (n == 1 && b == 'W' && c->use_lv) {
			struct writer_result res = { .rc = -1 };

			if (!own.dom && lv_reopen(&own))
				snprintf(res.err, sizeof(res.err), "%s", own.err);
			else
				write_lv(c, &own, &res);
			if (write(res_fd, &res, sizeof(res)) != sizeof(res))
				break;
			continue;
		}
		break;
	}
	if (c->use_lv && !own.dom)
		lv_reopen(&own);
	recover(c, &own);
	discard_output(c);
	_exit(0);
}

static void guardian_start(struct ckpt *c)
{
	int p[2], r[2] = { -1, -1 };
	pid_t pid;

	c->guard = -1;
	c->guard_pipe = -1;
	c->result_pipe = -1;
	if (pipe(p) || (c->use_lv && pipe(r))) {
		err_msg("cannot start the guardian: %s", strerror(errno));
		return;
	}
	pid = fork();
	if (pid == 0) {
		close(p[1]);
		if (r[0] >= 0)
			close(r[0]);
		unsetenv("VEILCTL_PAUSE_AFTER");
		/* Survive the terminal's signals to veilctl's process group. */
		setsid();
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		guardian(c, p[0], r[1]);
	}
	close(p[0]);
	if (r[1] >= 0)
		close(r[1]);
	if (pid < 0) {
		err_msg("cannot start the guardian: %s", strerror(errno));
		close(p[1]);
		if (r[0] >= 0)
			close(r[0]);
		return;
	}
	c->guard = pid;
	c->guard_pipe = p[1];
	c->result_pipe = r[0];
}

static void guardian_stop(struct ckpt *c)
{
	if (c->guard_pipe >= 0) {
		if (write(c->guard_pipe, "D", 1) != 1)
			err_msg("guardian: %s", strerror(errno));
		close(c->guard_pipe);
	}
	if (c->result_pipe >= 0)
		close(c->result_pipe);
	if (c->guard > 0)
		waitpid(c->guard, NULL, 0);
}

/*
 * libvirt's writer, run by the guardian when there is one.  Returns 0 or
 * -1 with the message printed.
 */
static int save_lv(struct ckpt *c)
{
	struct writer_result res = { .rc = -1 };
	ssize_t n;

	if (c->guard < 0) {
		write_lv(c, &c->lv, &res);
	} else if (write(c->guard_pipe, "W", 1) != 1) {
		snprintf(res.err, sizeof(res.err), "guardian: %s", strerror(errno));
	} else {
		step_done("save-started");
		do
			n = read(c->result_pipe, &res, sizeof(res));
		while (n < 0 && errno == EINTR);
		if (n != sizeof(res)) {
			/* The guardian died: whatever it started must end first. */
			snprintf(res.err, sizeof(res.err), "the guardian died while writing");
			res.rc = -1;
			lv_wait_idle(&c->lv, c->o->save_timeout_s);
		}
	}
	if (res.rc)
		err_msg("%s: %s", c->lv.name, res.err);
	return res.rc ? -1 : 0;
}

static int open_output(struct ckpt *c)
{
	const char *to = c->to;
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
	const char *to = c->to;
	char proc[64], tmp[4200];
	struct stat st;

	if (c->use_lv) {
		link_name(c, tmp, sizeof(tmp));
		if (stat(tmp, &st) || rename(tmp, to)) {
			err_msg("renaming %s to %s: %s", tmp, to, strerror(errno));
			unlink(tmp);
			return -1;
		}
		c->bytes = st.st_size;
		return 0;
	}
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
	char line[4200], *out = NULL;
	int rc = 0;

	if (strpbrk(c->to, " \t\n\"\\")) {
		err_msg("snapshot name %s: no blanks, quotes or backslashes", c->to);
		return -1;
	}
	snprintf(line, sizeof(line), "savevm %s", c->to);
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
	int named = c->format == FMT_SAVEVM || c->format == FMT_SNAPSHOT;

	if (o->json) {
		json_t *j = json_pack("{s:i, s:s, s:s?, s:s, s:b, s:I, s:I, s:I, s:f, s:f, s:f}",
				      "pid", c->vm.pid, "name", c->vm.name,
				      "to", c->format == FMT_MANAGEDSAVE ? NULL : c->to,
				      "format", format_name(c->format),
				      "protected", c->veil >= 0,
				      "excluded_pages", (json_int_t)pages,
				      "generation", (json_int_t)c->prep.generation,
				      "bytes", (json_int_t)c->bytes,
				      "prepare_seconds", c->t_prepare,
				      "save_seconds", c->t_save,
				      "seconds", c->t_total);

		if (c->use_lv) {
			json_object_set_new(j, "domain", json_string(c->lv.name));
			json_object_set_new(j, "uuid", json_string(c->lv.uuid));
			json_object_set_new(j, "running", json_boolean(lv_state(&c->lv) ==
								       VIR_DOMAIN_RUNNING));
		}
		/* Six significant digits: microseconds for times under ten seconds. */
		json_print(j, 1, JSON_REAL_PRECISION(6));
		return;
	}
	if (o->quiet)
		return;
	if (c->format == FMT_MANAGEDSAVE)
		printf("checkpoint of VM %d (domain %s) kept as its managed save: %s\n",
		       c->vm.pid, c->lv.name, c->veil >= 0 ? "protected" : "UNPROTECTED");
	else
		printf("checkpoint of VM %d (%s) %s %s: %s\n", c->vm.pid, c->vm.name,
		       named ? "saved as snapshot" : "written to", c->to,
		       c->veil >= 0 ? "protected" : "UNPROTECTED");
	if (c->veil >= 0)
		printf("  excluded: %llu pages (%llu KiB), generation %llu\n", pages, pages * 4,
		       (unsigned long long)c->prep.generation);
	if (!named && c->format != FMT_MANAGEDSAVE)
		printf("  size: %lld bytes\n", c->bytes);
	printf("  time: %.2f s (prepare %.2f s, save %.2f s)\n", c->t_total, c->t_prepare,
	       c->t_save);
	if (c->format == FMT_MANAGEDSAVE)
		printf("  resume: virsh start %s\n", c->lv.name);
	else if (c->format == FMT_SNAPSHOT)
		printf("  resume: virsh snapshot-revert %s %s\n", c->lv.name, c->to);
	else if (c->format == FMT_SAVE || c->format == FMT_MEMORY)
		printf("  resume: virsh restore %s\n", c->to);
}

/*
 * A PREPARE or SANITIZE (@step) that veil_host refused, for --json: which
 * step, why, the guest's own error when it gave one, and that nothing was
 * written.
 */
static void print_veil_failure(const struct ckpt *c, const char *step, int err, int rc)
{
	json_t *j;

	if (!c->o->json)
		return;
	j = json_pack("{s:i, s:s, s:s, s:s, s:i, s:b}", "pid", c->vm.pid,
		      "name", c->vm.name, "result", "refused", "step", step,
		      "errno", err, "written", 0);
	if (!strcmp(step, "prepare") && err == EREMOTEIO)
		json_object_set_new(j, "guest_error", json_integer(c->prep.guest_error));
	json_failure(rc, j);
}

/* The --format a VM of this kind takes, the default resolved. */
static int check_format(struct ckpt *c)
{
	enum ckpt_format f = c->o->format;

	if (f == FMT_DEFAULT)
		f = c->use_lv ? FMT_MEMORY : FMT_MIGRATE;
	c->format = f;
	if (c->use_lv && (f == FMT_MIGRATE || f == FMT_SAVEVM)) {
		err_msg("domain %s: libvirt holds its monitor; use --format managedsave, save, snapshot, memory or dump",
			c->lv.name);
		return EXIT_USAGE;
	}
	if (!c->use_lv && f != FMT_MIGRATE && f != FMT_SAVEVM && f != FMT_DUMP) {
		err_msg("--format %s is for libvirt domains; VM %d takes migrate, savevm or dump",
			format_name(f), c->vm.pid);
		return EXIT_USAGE;
	}
	if (f == FMT_MANAGEDSAVE) {
		if (c->o->to) {
			err_msg("--format managedsave: libvirt chooses the file; leave --to out");
			return EXIT_USAGE;
		}
		return EXIT_OK;
	}
	if (!c->o->to) {
		err_msg("checkpoint needs --to %s", f == FMT_SAVEVM || f == FMT_SNAPSHOT ?
			"NAME" : "FILE");
		return EXIT_USAGE;
	}
	if (f == FMT_SNAPSHOT &&
	    (!c->o->to[0] || strspn(c->o->to, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "0123456789._-") != strlen(c->o->to))) {
		err_msg("snapshot name %s: letters, digits, '.', '_' and '-' only", c->o->to);
		return EXIT_USAGE;
	}
	if (c->use_lv && lv_writes_file(f) && c->o->to[0] != '/') {
		/* libvirtd opens the file by name, from a directory of its own. */
		char cwd[2048];

		if (!getcwd(cwd, sizeof(cwd)) ||
		    (size_t)snprintf(c->to, sizeof(c->to), "%s/%s", cwd, c->o->to) >=
		    sizeof(c->to)) {
			err_msg("--to %s: cannot make the path absolute", c->o->to);
			return EXIT_USAGE;
		}
	} else {
		snprintf(c->to, sizeof(c->to), "%s", c->o->to);
	}
	return EXIT_OK;
}

/* Connects to the VM's monitor: QMP, or libvirt for a domain. */
static int ckpt_connect(struct ckpt *c, const char *spec)
{
	int by_process, rc, st;
	char *s;

	rc = lv_resolve(spec, lv_uri(c->o->connect), &c->vm, &c->lv, &c->use_lv, &by_process);
	if (rc)
		return rc;
	if (c->use_lv && by_process) {
		err_msg("VM %d is libvirt's domain %s and libvirt holds its monitor: name it by domain (veilctl checkpoint %s --to ...)",
			c->vm.pid, c->lv.name, c->lv.name);
		return EXIT_USAGE;
	}
	rc = check_format(c);
	if (rc)
		return rc;
	if (c->use_lv) {
		st = lv_state(&c->lv);
		if (st < 0) {
			err_msg("%s", c->lv.err);
			return EXIT_FAIL;
		}
		if (st != VIR_DOMAIN_RUNNING && st != VIR_DOMAIN_PAUSED) {
			err_msg("domain %s is %s; a checkpoint needs it running or paused",
				c->lv.name, lv_state_name(st));
			return EXIT_FAIL;
		}
		if (!c->vm.pid) {
			err_msg("domain %s runs no QEMU process on this host that veil can reach (a remote URI?)",
				c->lv.name);
			return EXIT_NOVM;
		}
		c->was_running = st == VIR_DOMAIN_RUNNING;
		return EXIT_OK;
	}
	if (qmp_connect(&c->q, c->vm.qmp, QMP_TIMEOUT_MS)) {
		err_msg("VM %d: %s", c->vm.pid, c->q.err);
		return EXIT_NOVM;
	}
	s = run_state(&c->q);
	if (!s) {
		err_msg("VM %d: %s", c->vm.pid, c->q.err);
		return EXIT_FAIL;
	}
	c->was_running = !strcmp(s, "running");
	if (!c->was_running && strcmp(s, "paused")) {
		err_msg("VM %d is %s; a checkpoint needs it running or paused", c->vm.pid, s);
		free(s);
		return EXIT_FAIL;
	}
	free(s);
	return EXIT_OK;
}

/* Connects the monitor and, unless unprotected, /dev/veil.  Returns an exit code. */
static int ckpt_setup(struct ckpt *c, const char *spec)
{
	char msg[512];
	struct veil_info info;
	int absent, rc;

	rc = ckpt_connect(c, spec);
	if (rc)
		return rc;
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
	rc = errno == EPERM || errno == EACCES ? EXIT_PERM : EXIT_FAIL;
	err_msg("%s%s", msg, rc == EXIT_PERM ?
		" (needs root, or CAP_SYS_ADMIN and ptrace rights over QEMU)" : "");
	return rc;
}

/* The output's place: a descriptor for QEMU, or a free name for libvirtd. */
static int ckpt_output(struct ckpt *c)
{
	char tmp[4200];
	struct stat st;

	c->owner = getpid();
	if (!c->use_lv)
		return c->format == FMT_SAVEVM ? 0 : open_output(c);
	if (!lv_writes_file(c->format))
		return 0;
	if (!c->o->force && stat(c->to, &st) == 0) {
		err_msg("%s exists (use --force to replace it)", c->to);
		return -1;
	}
	link_name(c, tmp, sizeof(tmp));
	unlink(tmp);
	return 0;
}

/* Pauses the VM once the guest is prepared. */
static int ckpt_pause(struct ckpt *c)
{
	if (!c->was_running)
		return 0;
	if (c->use_lv) {
		if (lv_suspend(&c->lv)) {
			err_msg("domain %s: %s", c->lv.name, c->lv.err);
			return -1;
		}
		return 0;
	}
	if (qmp_run(&c->q, "stop", NULL, QMP_TIMEOUT_MS)) {
		err_msg("VM %d: %s", c->vm.pid, c->q.err);
		return -1;
	}
	return 0;
}

int cmd_checkpoint(const char *spec, const struct options *o)
{
	struct ckpt c = { .o = o, .veil = -1, .out_fd = -1, .guard = -1, .guard_pipe = -1,
			  .result_pipe = -1 };
	double t0 = now_s(), t;
	int rc, saved;

	rc = ckpt_setup(&c, spec);
	if (rc)
		goto out;
	if (ckpt_output(&c)) {
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
			} else if (veil_prepare_why(e)) {
				err_msg("VM %d: %s; nothing written, VM left running", c.vm.pid,
					veil_prepare_why(e));
				rc = EXIT_FAIL;
			} else {
				err_msg("VM %d: PREPARE: %s; nothing written, VM left running",
					c.vm.pid, strerror(e));
				rc = EXIT_FAIL;
			}
			print_veil_failure(&c, "prepare", e, rc);
			recover(&c, &c.lv);
			goto done;
		}
		c.t_prepare = now_s() - t;
		step_done("prepare");
	}
	if (ckpt_pause(&c)) {
		rc = EXIT_FAIL;
		recover(&c, &c.lv);
		goto done;
	}
	step_done("stop");
	if (c.veil >= 0 && veil_sanitize(c.veil, &c.san)) {
		int e = errno;

		if (veil_sanitize_why(e))
			err_msg("VM %d: %s; nothing written, VM left as it was", c.vm.pid,
				veil_sanitize_why(e));
		else
			err_msg("VM %d: SANITIZE: %s; nothing written, VM left as it was", c.vm.pid,
				strerror(e));
		/* The guest or the VM's memory set-up stands against it: a safety refusal. */
		rc = e == ENODEV || e == EOPNOTSUPP ? EXIT_UNPROTECTED : EXIT_FAIL;
		print_veil_failure(&c, "sanitize", e, rc);
		recover(&c, &c.lv);
		goto done;
	}

	if (c.veil >= 0)
		step_done("sanitize");

	t = now_s();
	saved = c.use_lv ? save_lv(&c) :
		c.format == FMT_MIGRATE ? save_migrate(&c) :
		c.format == FMT_DUMP ? save_dump(&c) : save_savevm(&c);
	c.t_save = now_s() - t;
	step_done("save");

	/* RESTORE, cont and THAW, whether the save worked or not. */
	recover(&c, &c.lv);
	{
		struct veil_info info;

		/*
		 * A domain that libvirt shut off after saving it (managedsave,
		 * save) has no memory left to restore into or guest to thaw.
		 */
		if (c.use_lv && !lv_active(&c.lv)) {
			if (!saved)
				info_msg(o, "domain %s is shut off, as libvirt leaves it after a %s",
					 c.lv.name, format_name(c.format));
		} else if (c.veil >= 0 &&
			   (veil_info(c.veil, &info) || info.state != VEIL_HOST_RUNNING)) {
			err_msg("VM %d: the frames could not be restored (state %s); do not resume it before closing veilctl",
				c.vm.pid, veil_state_name(info.state));
			saved = -1;
		}
	}
	if (saved) {
		rc = EXIT_FAIL;
		goto done;
	}
	if ((c.use_lv ? lv_writes_file(c.format) : c.format != FMT_SAVEVM) &&
	    publish_output(&c)) {
		rc = EXIT_FAIL;
		goto done;
	}
	c.t_total = now_s() - t0;
	print_result(&c);
	rc = EXIT_OK;
done:
	guardian_stop(&c);
	if (rc && c.use_lv && lv_writes_file(c.format))
		discard_output(&c);
out:
	if (c.tmp_path[0])
		unlink(c.tmp_path);
	if (c.out_fd >= 0)
		close(c.out_fd);
	if (c.veil >= 0)
		close(c.veil);
	if (!c.use_lv)
		qmp_close(&c.q);
	lv_close(&c.lv);
	return rc;
}

int cmd_restore(const char *spec, const struct options *o)
{
	struct ckpt c = { .o = o, .veil = -1, .out_fd = -1 };
	char *st;
	json_t *args;
	const char *js;
	int fd, rc = EXIT_FAIL, by_process;

	rc = lv_resolve(spec, lv_uri(o->connect), &c.vm, &c.lv, &c.use_lv, &by_process);
	if (rc)
		return rc;
	rc = EXIT_FAIL;
	if (c.use_lv) {
		err_msg("%s is libvirt's domain %s: libvirt restores it (virsh restore FILE, virsh start, virsh snapshot-revert)",
			spec, c.lv.name);
		lv_close(&c.lv);
		return EXIT_USAGE;
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
		json_print(json_pack("{s:i, s:s, s:b}", "pid", c.vm.pid, "from", o->from,
				     "running", !o->paused), 1, 0);
	} else if (!o->quiet) {
		printf("VM %d (%s) restored from %s%s\n", c.vm.pid, c.vm.name, o->from,
		       o->paused ? ", paused" : "");
	}
	rc = EXIT_OK;
out:
	qmp_close(&c.q);
	return rc;
}
