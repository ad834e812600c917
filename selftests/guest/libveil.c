// SPDX-License-Identifier: GPL-2.0
/*
 * libveil against veil_guest, no host: a protected page and a protected
 * file are published and the page next to them is not (checked by the
 * pattern oracle); removing a protection takes it back out; a subscribed
 * process is frozen during a checkpoint, reads BEGIN and END, and after a
 * restore from a sanitized checkpoint reads RESTORED and runs on, while an
 * excluded process next to it is killed; bad input is refused.
 *
 * The libveil user is a child driven over a pipe by one-letter commands;
 * it answers each with one line.
 */
#include <poll.h>
#include <sys/mman.h>
#include <time.h>

#include "kselftest_harness.h"
#include "veil_test.h"
#include "../../tools/libveil/libveil.h"

#define SECRET_FILE	"/tmp/libveil.secret"

struct shared {
	volatile unsigned long counter;
	struct veil_pattern page, other, file;
};

static struct shared *sh;

struct user {
	pid_t pid;
	FILE *cmd, *reply;
};

static void user_reply(int fd, const char *fmt, ...)
{
	char buf[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (write(fd, buf, n) != n)
		_exit(3);
}

/*
 * The libveil process.  Commands: p/P protect/unprotect the secret page,
 * f/F the secret file, s subscribe, e report the queued events.  Between
 * commands it counts, so that the controller can see it run or stop.
 */
static void user_main(int in, int out)
{
	uint8_t *pages = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct veil *v = veil_open();
	struct veil_event ev;
	char c;
	int fd, ret = 0;

	if (pages == MAP_FAILED || !v)
		_exit(2);
	veil_pattern_make(&sh->page, pages);
	veil_pattern_make(&sh->other, pages + 4096);
	fd = open(SECRET_FILE, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		_exit(2);
	{
		uint8_t buf[VEIL_GUEST_PATTERN_LEN];

		veil_pattern_make(&sh->file, buf);
		if (write(fd, buf, sizeof(buf)) != sizeof(buf))
			_exit(2);
		/* Only the file's page may hold this pattern. */
		explicit_bzero(buf, sizeof(buf));
	}
	fcntl(in, F_SETFL, O_NONBLOCK);
	user_reply(out, "ready\n");
	for (;;) {
		struct pollfd p = { .fd = in, .events = POLLIN };

		sh->counter++;
		if (poll(&p, 1, 1) < 0 && errno != EINTR)
			_exit(2);
		if (read(in, &c, 1) != 1)
			continue;
		switch (c) {
		case 'p':
			ret = veil_protect(v, pages, 4096);
			break;
		case 'P':
			ret = veil_unprotect(v, pages, 4096);
			break;
		case 'f':
			ret = veil_protect_file(v, fd);
			break;
		case 'F':
			ret = veil_unprotect_file(v, fd);
			break;
		case 's':
			ret = veil_event_fd(v) < 0 ? -1 : 0;
			if (!ret)
				fcntl(veil_event_fd(v), F_SETFL, O_NONBLOCK);
			break;
		case 'e':
			while ((ret = veil_read_event(v, &ev)) == 1)
				user_reply(out, "event %s %u\n", veil_event_name(ev.type),
					   ev.flags);
			break;
		case 'q':
			_exit(0);
		default:
			ret = -1;
			errno = EINVAL;
		}
		user_reply(out, "rc %d\n", ret < 0 ? errno : 0);
	}
}

static int user_start(struct user *u)
{
	int cmd[2], reply[2];
	char line[64];

	if (pipe(cmd) || pipe(reply))
		return -1;
	u->pid = fork();
	if (u->pid < 0)
		return -1;
	if (!u->pid) {
		close(cmd[1]);
		close(reply[0]);
		user_main(cmd[0], reply[1]);
	}
	close(cmd[0]);
	close(reply[1]);
	u->cmd = fdopen(cmd[1], "w");
	u->reply = fdopen(reply[0], "r");
	setvbuf(u->cmd, NULL, _IONBF, 0);
	if (!fgets(line, sizeof(line), u->reply) || strcmp(line, "ready\n"))
		return -1;
	return 0;
}

/* Sends a command; returns its errno (0 on success), -1 if the user died. */
static int user_do(struct user *u, char c, char *events, size_t room)
{
	char line[128];
	int rc;

	if (events)
		events[0] = 0;
	if (fputc(c, u->cmd) == EOF)
		return -1;
	while (fgets(line, sizeof(line), u->reply)) {
		if (sscanf(line, "rc %d", &rc) == 1)
			return rc;
		if (events && strlen(events) + strlen(line) < room)
			strcat(events, line);
	}
	return -1;
}

static void user_stop(struct user *u)
{
	if (u->pid > 0) {
		kill(u->pid, SIGKILL);
		waitpid(u->pid, NULL, 0);
	}
	if (u->cmd)
		fclose(u->cmd);
	if (u->reply)
		fclose(u->reply);
	u->pid = 0;
}

static unsigned long moved(int ms)
{
	unsigned long a = sh->counter;

	usleep(ms * 1000);
	return sh->counter - a;
}

/* Hits of a pattern: how many, and how many the dry-run extents cover. */
static int coverage(int fd, const struct veil_pattern *p, uint64_t *hits,
		    uint64_t *covered)
{
	static struct veil_hits h;
	struct veil_extents e;
	uint64_t i;
	int err;

	err = veil_get_extents(fd, &e);
	if (!err)
		err = veil_scan(fd, p, &h);
	if (err)
		return err;
	*hits = h.nr;
	*covered = 0;
	for (i = 0; i < h.nr; i++)
		*covered += veil_covered(&e, h.addr[i], VEIL_HALF);
	free(e.ext);
	return 0;
}

FIXTURE(libveil) {
	int fd;
	struct user u;
};

FIXTURE_SETUP(libveil)
{
	int err = veil_load();

	if (err)
		SKIP(return, "cannot load " VEIL_KO ": %s", strerror(-err));
	if (!sh) {
		sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(MAP_FAILED, sh);
	}
	veil_pattern_new(&sh->page);
	veil_pattern_new(&sh->other);
	veil_pattern_new(&sh->file);
	memset(&self->u, 0, sizeof(self->u));
	ASSERT_EQ(0, user_start(&self->u));
	self->fd = veil_dev_open();
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(libveil)
{
	user_stop(&self->u);
	unlink(SECRET_FILE);
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F_TIMEOUT(libveil, protected_page_is_published_and_its_neighbour_is_not, 120)
{
	uint64_t hits, cov;

	ASSERT_EQ(0, coverage(self->fd, &sh->page, &hits, &cov));
	ASSERT_LT(0, hits) TH_LOG("the planted page was not found in RAM");
	EXPECT_EQ(0, cov) TH_LOG("published before it was protected");

	ASSERT_EQ(0, user_do(&self->u, 'p', NULL, 0));
	ASSERT_EQ(0, coverage(self->fd, &sh->page, &hits, &cov));
	ASSERT_LT(0, hits);
	EXPECT_EQ(hits, cov) TH_LOG("%llu of %llu frames of the protected page published",
				    (unsigned long long)cov, (unsigned long long)hits);
	ASSERT_EQ(0, coverage(self->fd, &sh->other, &hits, &cov));
	ASSERT_LT(0, hits);
	EXPECT_EQ(0, cov) TH_LOG("the page next to the protected one was published");

	ASSERT_EQ(0, user_do(&self->u, 'P', NULL, 0));
	ASSERT_EQ(0, coverage(self->fd, &sh->page, &hits, &cov));
	EXPECT_EQ(0, cov) TH_LOG("still published after veil_unprotect()");
}

TEST_F_TIMEOUT(libveil, protected_file_page_cache_is_published, 120)
{
	uint64_t hits, cov;

	ASSERT_EQ(0, coverage(self->fd, &sh->file, &hits, &cov));
	ASSERT_LT(0, hits) TH_LOG("the file's page was not found in RAM");
	EXPECT_EQ(0, cov);

	ASSERT_EQ(0, user_do(&self->u, 'f', NULL, 0));
	ASSERT_EQ(0, coverage(self->fd, &sh->file, &hits, &cov));
	EXPECT_EQ(hits, cov) TH_LOG("%llu of %llu frames of the protected file published",
				    (unsigned long long)cov, (unsigned long long)hits);
	ASSERT_EQ(0, coverage(self->fd, &sh->page, &hits, &cov));
	EXPECT_EQ(0, cov) TH_LOG("the unprotected page was published with the file");

	ASSERT_EQ(0, user_do(&self->u, 'F', NULL, 0));
	ASSERT_EQ(0, coverage(self->fd, &sh->file, &hits, &cov));
	EXPECT_EQ(0, cov) TH_LOG("still published after veil_unprotect_file()");
}

TEST_F(libveil, checkpoint_freezes_and_reports_begin_and_end)
{
	struct veil_guest_status st;
	char ev[512];

	ASSERT_EQ(0, user_do(&self->u, 's', NULL, 0));
	ASSERT_EQ(0, user_do(&self->u, 'p', NULL, 0));
	ASSERT_LT(0, moved(100));
	ASSERT_EQ(0, veil_request(self->fd, VEIL_REQ_PREPARE, &st));
	EXPECT_EQ(0, st.last_error);
	EXPECT_LE(1, st.frozen);
	EXPECT_EQ(0, moved(200)) TH_LOG("a protecting process ran during the checkpoint");
	ASSERT_EQ(0, veil_request(self->fd, VEIL_REQ_THAW, &st));
	EXPECT_LT(0, moved(200)) TH_LOG("still frozen after THAW");
	ASSERT_EQ(0, user_do(&self->u, 'e', ev, sizeof(ev)));
	EXPECT_STREQ("event begin 0\nevent end 0\n", ev);
}

TEST_F(libveil, restore_notifies_subscriber_and_kills_excluded)
{
	struct veil_guest_status st;
	pid_t plain = fork(), got = 0;
	int i, wst = 0;
	char ev[512];

	if (!plain)
		for (;;)
			pause();
	ASSERT_LT(0, plain);
	ASSERT_EQ(0, veil_exclude_pid(self->fd, plain, 0));
	ASSERT_EQ(0, user_do(&self->u, 's', NULL, 0));
	ASSERT_EQ(0, user_do(&self->u, 'p', NULL, 0));
	ASSERT_EQ(0, veil_request(self->fd, VEIL_REQ_PREPARE, &st));
	ASSERT_EQ(0, veil_host_write(self->fd, VEIL_GUEST_HW_STATE, VEIL_STATE_SANITIZED,
				     0, NULL));
	for (i = 0; i < 500 && !got; i++) {
		got = waitpid(plain, &wst, WNOHANG);
		usleep(10 * 1000);
	}
	EXPECT_EQ(plain, got) TH_LOG("the excluded process was not killed");
	if (got != plain) {
		kill(plain, SIGKILL);
		waitpid(plain, NULL, 0);
	}
	EXPECT_EQ(0, waitpid(self->u.pid, NULL, WNOHANG)) TH_LOG("the subscriber died");
	EXPECT_LT(0, moved(200)) TH_LOG("the subscriber does not run after the restore");
	ASSERT_EQ(0, user_do(&self->u, 'e', ev, sizeof(ev)));
	EXPECT_STREQ("event begin 0\nevent restored 0\nevent end 0\n", ev);
	ASSERT_EQ(0, veil_status(self->fd, &st));
	EXPECT_EQ(0, st.frozen);
	ASSERT_EQ(0, veil_host_write(self->fd, VEIL_GUEST_HW_STATE, VEIL_STATE_RUNNING, 0, NULL));
	veil_include_pid(self->fd, plain);
}

TEST_F(libveil, bad_requests_refused)
{
	struct veil_guest_range r = { .size = sizeof(r), .addr = 4096, .len = 0 };
	struct veil_guest_file f = { .size = sizeof(f), .fd = -1 };
	struct veil_guest_event ev;
	int p[2], st = 0;
	pid_t child;

	EXPECT_EQ(-1, ioctl(self->fd, VEIL_GUEST_IOC_PROTECT_RANGE, &r));
	EXPECT_EQ(EINVAL, errno) TH_LOG("empty range");
	r.len = 4096;
	r.addr = ~0ULL - 8192;
	EXPECT_EQ(-1, ioctl(self->fd, VEIL_GUEST_IOC_PROTECT_RANGE, &r));
	EXPECT_EQ(EINVAL, errno) TH_LOG("beyond the user address space");
	r.addr = 4096;
	r.size = sizeof(r) + 8;
	EXPECT_EQ(-1, ioctl(self->fd, VEIL_GUEST_IOC_PROTECT_RANGE, &r));
	EXPECT_EQ(EINVAL, errno) TH_LOG("wrong size");
	r.size = sizeof(r);
	r.flags = 0x80;
	EXPECT_EQ(-1, ioctl(self->fd, VEIL_GUEST_IOC_PROTECT_RANGE, &r));
	EXPECT_EQ(EINVAL, errno) TH_LOG("unknown flag");

	EXPECT_EQ(-1, ioctl(self->fd, VEIL_GUEST_IOC_PROTECT_FILE, &f));
	EXPECT_EQ(EBADF, errno);
	ASSERT_EQ(0, pipe(p));
	f.fd = p[0];
	EXPECT_EQ(-1, ioctl(self->fd, VEIL_GUEST_IOC_PROTECT_FILE, &f));
	EXPECT_EQ(EINVAL, errno) TH_LOG("a pipe is not a regular file");

	/* Through the library, in the process that owns the handle. */
	EXPECT_EQ(0, user_do(&self->u, 'p', NULL, 0));
	EXPECT_EQ(EEXIST, user_do(&self->u, 'p', NULL, 0));
	EXPECT_EQ(0, user_do(&self->u, 'P', NULL, 0));
	EXPECT_EQ(ENOENT, user_do(&self->u, 'P', NULL, 0));
	EXPECT_EQ(0, user_do(&self->u, 'f', NULL, 0));
	EXPECT_EQ(EEXIST, user_do(&self->u, 'f', NULL, 0));
	EXPECT_EQ(0, user_do(&self->u, 'F', NULL, 0));
	EXPECT_EQ(ENOENT, user_do(&self->u, 'F', NULL, 0));

	/* Not subscribed: nothing to read. */
	EXPECT_EQ(-1, read(self->fd, &ev, sizeof(ev)));
	EXPECT_EQ(EINVAL, errno);

	/* An unprivileged caller may not protect a file it cannot write. */
	child = fork();
	if (!child) {
		struct veil_guest_file rf = { .size = sizeof(rf) };
		int vfd;

		if (setgid(65534) || setuid(65534))
			_exit(100);
		vfd = open(VEIL_DEV, O_RDWR);
		rf.fd = open("/init", O_RDONLY);
		if (vfd < 0 || rf.fd < 0)
			_exit(101);
		_exit(ioctl(vfd, VEIL_GUEST_IOC_PROTECT_FILE, &rf) ? errno : 0);
	}
	ASSERT_LT(0, child);
	ASSERT_EQ(child, waitpid(child, &st, 0));
	EXPECT_TRUE(WIFEXITED(st));
	EXPECT_EQ(EACCES, WEXITSTATUS(st)) TH_LOG("read-only file, unprivileged");

	/* A handle inherited through fork() is not the child's. */
	child = fork();
	if (!child) {
		struct veil_guest_range cr = { .size = sizeof(cr), .addr = 4096, .len = 4096 };

		_exit(ioctl(self->fd, VEIL_GUEST_IOC_PROTECT_RANGE, &cr) ? errno : 0);
	}
	ASSERT_LT(0, child);
	ASSERT_EQ(child, waitpid(child, &st, 0));
	EXPECT_TRUE(WIFEXITED(st));
	EXPECT_EQ(EPERM, WEXITSTATUS(st));
	close(p[0]);
	close(p[1]);
}

TEST_HARNESS_MAIN
