// SPDX-License-Identifier: GPL-2.0
/*
 * A freeze is complete or PREPARE fails, never half: a process whose main
 * thread exited lives on in its others and is frozen through them; a
 * process that forks and clones while PREPARE runs is frozen whole, the
 * new ones included; a thread stuck in the kernel fails PREPARE and is
 * named in the log; a thousand threads park.  And a restore is clean:
 * before the excluded processes are killed, their TCP connections are
 * reset (no zeroed data reaches the peer), their pipes emptied (those
 * they closed with data left in them too), and the datagrams they sent
 * taken back from a UNIX peer, whose other clients' datagrams stay (and
 * what they sent on a UNIX socket they closed).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <linux/fs.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#include "kselftest_harness.h"
#include "veil_test.h"

#define SLOTS	64

/* Counters in memory shared with every process and thread under test. */
static volatile unsigned long *slot;

static unsigned long total(void)
{
	unsigned long s = 0;
	int i;

	for (i = 0; i < SLOTS; i++)
		s += slot[i];
	return s;
}

static unsigned long moved(int ms)
{
	unsigned long a = total();

	usleep(ms * 1000);
	return total() - a;
}

static void *spin(void *arg)
{
	volatile unsigned long *s = arg;

	for (;;)
		(*s)++;
	return NULL;
}

/* Lines of the kernel log from now on that contain @needle. */
static int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

static int kmsg_find(int fd, const char *needle)
{
	char line[1024];
	ssize_t n;

	while ((n = read(fd, line, sizeof(line) - 1)) > 0) {
		line[n] = 0;
		if (strstr(line, needle))
			return 1;
	}
	return 0;
}

/* Files a child of the test wrote and closed in /tmp. */
static void complete_file_path(char *path, size_t size, pid_t pid, int i)
{
	snprintf(path, size, "/tmp/veil-complete-%d-%d", (int)pid, i);
}

FIXTURE(complete) {
	int fd;
	pid_t pid;
	bool reload;	/* the module afresh after the test */
};

FIXTURE_SETUP(complete)
{
	int err = veil_load();

	if (err)
		SKIP(return, "cannot load " VEIL_KO ": %s", strerror(-err));
	if (!slot) {
		slot = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(MAP_FAILED, slot);
	}
	memset((void *)slot, 0, SLOTS * sizeof(*slot));
	self->fd = veil_dev_open();
	ASSERT_LE(0, self->fd);
	self->pid = 0;
	self->reload = false;
}

FIXTURE_TEARDOWN(complete)
{
	struct veil_guest_status st;

	char path[64];
	int i;

	veil_param("period_ms", "10");
	veil_request(self->fd, VEIL_REQ_THAW, &st);
	if (self->pid > 0) {
		veil_include_pid(self->fd, self->pid);
		kill(-self->pid, SIGKILL);
		kill(self->pid, SIGKILL);
		waitpid(self->pid, NULL, 0);
		for (i = 0; i < 2; i++) {
			complete_file_path(path, sizeof(path), self->pid, i);
			unlink(path);
		}
	}
	close(self->fd);
	if (self->reload && !veil_unload())
		veil_load();
}

TEST_F(complete, process_whose_main_thread_exited_is_frozen_and_killed)
{
	struct veil_guest_status st;
	int status;

	self->pid = fork();
	ASSERT_LE(0, self->pid);
	if (!self->pid) {
		pthread_t t;

		if (pthread_create(&t, NULL, spin, (void *)&slot[0]))
			_exit(2);
		pthread_exit(NULL);
	}
	while (!slot[0])
		usleep(1000);
	usleep(50 * 1000);	/* the main thread is gone by now */
	ASSERT_EQ(0, veil_exclude_pid(self->fd, self->pid, 0));
	ASSERT_EQ(0, veil_request(self->fd, VEIL_REQ_PREPARE, &st));
	EXPECT_EQ(0, st.last_error);
	EXPECT_EQ(1, st.frozen) TH_LOG("the live thread did not park");
	EXPECT_EQ(0, moved(300)) TH_LOG("the process ran on while frozen");
	ASSERT_EQ(0, veil_request(self->fd, VEIL_REQ_THAW, &st));
	EXPECT_LT(0, moved(100)) TH_LOG("it did not run again after THAW");

	ASSERT_EQ(0, veil_request(self->fd, VEIL_REQ_PREPARE, &st));
	ASSERT_EQ(0, veil_host_write(self->fd, VEIL_GUEST_HW_STATE, VEIL_STATE_SANITIZED, 0, NULL));
	ASSERT_EQ(self->pid, waitpid(self->pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		TH_LOG("a restore did not kill it");
	self->pid = 0;
	ASSERT_EQ(0, veil_host_write(self->fd, VEIL_GUEST_HW_STATE, VEIL_STATE_RUNNING, 0, NULL));
}

/*
 * Forks children and clones threads without pause, each of which counts
 * in its own slot for a moment and ends.
 */
static void *short_thread(void *arg)
{
	volatile unsigned long *s = arg;
	int i;

	for (i = 0; i < 100000; i++)
		(*s)++;
	return NULL;
}

static void spawner(void)
{
	unsigned int n = 0;
	pthread_t t;
	pid_t c;

	setpgid(0, 0);
	for (;; n++) {
		c = fork();
		if (!c) {
			short_thread((void *)&slot[1 + n % (SLOTS / 2)]);
			_exit(0);
		}
		if (!pthread_create(&t, NULL, short_thread,
				    (void *)&slot[SLOTS / 2 + n % (SLOTS / 2)]))
			pthread_detach(t);
		slot[0]++;
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
	}
}

TEST_F(complete, forking_and_cloning_process_freezes_whole)
{
	struct veil_guest_status st;
	int round;

	self->pid = fork();
	ASSERT_LE(0, self->pid);
	if (!self->pid)
		spawner();
	ASSERT_EQ(0, veil_exclude_pid(self->fd, self->pid, VEIL_GUEST_SEL_CHILDREN));
	for (round = 0; round < 10; round++) {
		while (moved(20) == 0)
			;
		ASSERT_EQ(0, veil_request(self->fd, VEIL_REQ_PREPARE, &st));
		ASSERT_EQ(0, st.last_error) TH_LOG("round %d: PREPARE failed", round);
		EXPECT_EQ(0, moved(200))
			TH_LOG("round %d: a thread or child of the excluded process ran while frozen (%u parked)",
			       round, st.frozen);
		ASSERT_EQ(0, veil_request(self->fd, VEIL_REQ_THAW, &st));
	}
}

#define FREEZE_IMG	"/tmp/veil-fsfreeze.img"
#define FREEZE_DIR	"/mnt/veil-fsfreeze"
#define FREEZE_SETUP	"mkdir -p " FREEZE_DIR " && " \
			"dd if=/dev/zero of=" FREEZE_IMG " bs=1M count=8 2>/dev/null && " \
			"losetup /dev/loop2 " FREEZE_IMG " && " \
			"mkfs.ext4 -q /dev/loop2 && mount -t ext4 /dev/loop2 " FREEZE_DIR
#define FREEZE_TEARDOWN	"umount " FREEZE_DIR "; losetup -d /dev/loop2; rm -f " FREEZE_IMG

static void *writer(void *arg)
{
	char buf[512] = { 1 };
	int fd = *(int *)arg;

	for (;;) {
		if (pwrite(fd, buf, sizeof(buf), 0) == sizeof(buf))
			slot[1]++;
	}
	return NULL;
}

/* The state letter of thread @tid of @pid, from /proc. */
static char thread_state(pid_t pid, pid_t tid)
{
	char path[64], buf[256], *p;
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

TEST_F(complete, thread_stuck_in_the_kernel_fails_prepare_by_name)
{
	struct veil_guest_status st;
	int dir, kmsg, tries;
	pid_t tid;
	char needle[64];
	int p[2];

	ASSERT_EQ(0, system(FREEZE_SETUP)) TH_LOG("cannot set up ext4 on a loop device");
	ASSERT_EQ(0, pipe(p));
	self->pid = fork();
	ASSERT_LE(0, self->pid);
	if (!self->pid) {
		static int fd;
		pthread_t t;

		fd = open(FREEZE_DIR "/f", O_WRONLY | O_CREAT, 0600);
		if (fd < 0 || pthread_create(&t, NULL, writer, &fd))
			_exit(2);
		for (;;)
			pause();
	}
	while (!slot[1])
		usleep(1000);
	/* The writer's thread id: the one that is not the process itself. */
	tid = 0;
	{
		char path[64];
		DIR *d;
		struct dirent *de;

		snprintf(path, sizeof(path), "/proc/%d/task", self->pid);
		d = opendir(path);
		ASSERT_NE(NULL, d);
		while ((de = readdir(d)))
			if (atoi(de->d_name) > 0 && atoi(de->d_name) != self->pid)
				tid = atoi(de->d_name);
		closedir(d);
	}
	ASSERT_LT(0, tid);
	dir = open(FREEZE_DIR, O_RDONLY | O_DIRECTORY);
	ASSERT_LE(0, dir);
	ASSERT_EQ(0, ioctl(dir, FIFREEZE, 0));
	for (tries = 0; tries < 500 && thread_state(self->pid, tid) != 'D'; tries++)
		usleep(10 * 1000);
	ASSERT_EQ('D', thread_state(self->pid, tid)) TH_LOG("the writer did not block");
	ASSERT_EQ(0, veil_exclude_pid(self->fd, self->pid, 0));

	kmsg = kmsg_open();
	ASSERT_EQ(0, veil_request(self->fd, VEIL_REQ_PREPARE, &st));
	EXPECT_EQ(EBUSY, st.last_error) TH_LOG("PREPARE succeeded with a thread in D state");
	snprintf(needle, sizeof(needle), "thread %d of process %d", tid, self->pid);
	EXPECT_TRUE(kmsg >= 0 && kmsg_find(kmsg, needle))
		TH_LOG("the log does not name %s", needle);
	ASSERT_EQ(0, veil_request(self->fd, VEIL_REQ_THAW, &st));

	ASSERT_EQ(0, ioctl(dir, FITHAW, 0));
	ASSERT_EQ(0, veil_request(self->fd, VEIL_REQ_PREPARE, &st));
	EXPECT_EQ(0, st.last_error) TH_LOG("PREPARE failed once the file system thawed");
	ASSERT_EQ(0, veil_request(self->fd, VEIL_REQ_THAW, &st));
	close(dir);
	if (kmsg >= 0)
		close(kmsg);
	veil_include_pid(self->fd, self->pid);
	kill(self->pid, SIGKILL);
	waitpid(self->pid, NULL, 0);
	self->pid = 0;
	system(FREEZE_TEARDOWN);
}

#define MANY	1000

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

/*
 * A few seconds on a Debian kernel; past kselftest's default 30 s on the
 * 6.1 debug kernel (lockdep on every thread's creation and park).
 */
TEST_F_TIMEOUT(complete, thousand_threads_park, 600)
{
	struct veil_guest_status st;
	int tries;

	self->pid = fork();
	ASSERT_LE(0, self->pid);
	if (!self->pid) {
		pthread_attr_t a;
		pthread_t t;
		int i;

		pthread_attr_init(&a);
		pthread_attr_setstacksize(&a, 64 << 10);
		for (i = 0; i < MANY; i++) {
			if (pthread_create(&t, &a, sleeper, NULL))
				_exit(2);
			slot[0]++;
		}
		for (;;)
			pause();
	}
	for (tries = 0; tries < 3000 && slot[0] < MANY; tries++)
		usleep(10 * 1000);
	ASSERT_EQ(MANY, slot[0]);
	ASSERT_EQ(0, veil_exclude_pid(self->fd, self->pid, 0));
	ASSERT_EQ(0, veil_request(self->fd, VEIL_REQ_PREPARE, &st));
	EXPECT_EQ(0, st.last_error);
	EXPECT_EQ(MANY + 1, st.frozen);
	EXPECT_LT(0, st.published_pages);
	ASSERT_EQ(0, veil_request(self->fd, VEIL_REQ_THAW, &st));
	EXPECT_EQ(0, st.frozen);
}

/* Bytes received until end or error; *@err: the error, or 0 at the end. */
static int recv_all(int fd, int *err)
{
	char buf[65536];
	int got = 0, n;

	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
		got += n;
	*err = n ? errno : 0;
	return got;
}

/* Restore: what the killed process queued for others is gone, not zeroed. */
/* Whether @pid ended within about @ms milliseconds (and is reaped), its status in @status. */
static bool ended_within(pid_t pid, int ms, int *status)
{
	int waited;

	for (waited = 0; waited <= ms; waited += 20) {
		if (waitpid(pid, status, WNOHANG) == pid)
			return true;
		usleep(20 * 1000);
	}
	return false;
}

/*
 * Restore: the excluded process is killed, its TCP connection reset, its
 * pipe emptied and its datagrams taken back from the server.  @include:
 * it is included again between PREPARE and the restore; the checkpoint
 * holds its zeros all the same, so the restore treats it as it was at
 * PREPARE.
 */
static void expect_restore_purges(struct __test_metadata *_metadata, int fd, pid_t *pid,
				  bool include)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	socklen_t len = sizeof(sin);
	int lsn, conn, pp[2], ready[2], dg, other, inq, got, err, status = 0;
	struct veil_guest_status st;
	char buf[65536];

	/* A TCP server, a pipe and a datagram server, none of them excluded. */
	lsn = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_LE(0, lsn);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ASSERT_EQ(0, bind(lsn, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(0, getsockname(lsn, (struct sockaddr *)&sin, &len));
	ASSERT_EQ(0, listen(lsn, 1));
	snprintf(sun.sun_path + 1, sizeof(sun.sun_path) - 1, "veil-restore-%d", getpid());
	dg = socket(AF_UNIX, SOCK_DGRAM, 0);
	ASSERT_LE(0, dg);
	ASSERT_EQ(0, bind(dg, (struct sockaddr *)&sun, sizeof(sun)));
	ASSERT_EQ(0, pipe(pp));
	ASSERT_EQ(0, pipe(ready));

	*pid = fork();
	ASSERT_LE(0, *pid);
	if (!*pid) {
		int s = socket(AF_INET, SOCK_STREAM, 0), u = socket(AF_UNIX, SOCK_DGRAM, 0);

		memset(buf, 0x5a, sizeof(buf));
		if (s < 0 || connect(s, (struct sockaddr *)&sin, sizeof(sin)) ||
		    fcntl(s, F_SETFL, O_NONBLOCK) ||
		    u < 0 || connect(u, (struct sockaddr *)&sun, sizeof(sun)))
			_exit(2);
		while (send(s, buf, sizeof(buf), 0) > 0)	/* until both buffers are full */
			;
		if (write(pp[1], buf, 1000) != 1000 || send(u, buf, 100, 0) != 100 ||
		    send(u, buf, 100, 0) != 100 || write(ready[1], "r", 1) != 1)
			_exit(2);
		for (;;)
			pause();
	}
	close(pp[1]);
	ASSERT_EQ(1, read(ready[0], buf, 1));
	conn = accept(lsn, NULL, NULL);
	ASSERT_LE(0, conn);
	other = socket(AF_UNIX, SOCK_DGRAM, 0);
	ASSERT_LE(0, other);
	ASSERT_EQ(0, connect(other, (struct sockaddr *)&sun, sizeof(sun)));
	memset(buf, 0x33, 100);
	ASSERT_EQ(100, send(other, buf, 100, 0));

	ASSERT_EQ(0, veil_exclude_pid(fd, *pid, 0));
	ASSERT_EQ(0, veil_request(fd, VEIL_REQ_PREPARE, &st));
	ASSERT_EQ(0, st.last_error);
	usleep(100 * 1000);
	ASSERT_EQ(0, ioctl(conn, SIOCINQ, &inq));
	ASSERT_LT(0, inq);
	if (include)
		ASSERT_EQ(0, veil_include_pid(fd, *pid));
	ASSERT_EQ(0, veil_host_write(fd, VEIL_GUEST_HW_STATE, VEIL_STATE_SANITIZED, 0, NULL));
	ASSERT_TRUE(ended_within(*pid, 10000, &status))
		TH_LOG("the process was not killed at the restore%s",
		       include ? " (included again after PREPARE)" : "");
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	*pid = 0;

	/* The TCP peer: what it had queued, then a reset, nothing after. */
	got = recv_all(conn, &err);
	EXPECT_EQ(inq, got) TH_LOG("the peer received %d bytes after the restore, %d were queued",
				   got, inq);
	EXPECT_EQ(ECONNRESET, err) TH_LOG("the connection was not reset (%s)",
					  err ? strerror(err) : "closed");
	/* The pipe: empty, its writer gone. */
	EXPECT_EQ(0, read(pp[0], buf, sizeof(buf))) TH_LOG("the pipe still held data");
	/* The datagram server: only the other client's datagram is left. */
	ASSERT_EQ(0, fcntl(dg, F_SETFL, O_NONBLOCK));
	EXPECT_EQ(100, recv(dg, buf, sizeof(buf), 0));
	EXPECT_EQ(0x33, (uint8_t)buf[0]) TH_LOG("a datagram of the killed process was left");
	EXPECT_EQ(-1, recv(dg, buf, sizeof(buf), 0)) TH_LOG("more than the other client's datagram");

	ASSERT_EQ(0, veil_host_write(fd, VEIL_GUEST_HW_STATE, VEIL_STATE_RUNNING, 0, NULL));
	close(conn);
	close(lsn);
	close(dg);
	close(other);
	close(pp[0]);
	close(ready[0]);
	close(ready[1]);
}

TEST_F(complete, restore_resets_tcp_and_purges_pipes_and_unix_peers)
{
	expect_restore_purges(_metadata, self->fd, &self->pid, false);
}

TEST_F(complete, restore_kills_and_purges_a_process_included_after_prepare)
{
	expect_restore_purges(_metadata, self->fd, &self->pid, true);
}

/*
 * Restore: what the killed process wrote to a pipe, or sent on a UNIX
 * stream socket, and left there when it closed its end is gone too, not
 * read as zeros.  @sv: the pair, the child's end second.
 */
static void expect_left_taken_back(struct __test_metadata *_metadata, int fd,
				   pid_t *pid, int sv[2])
{
	struct veil_guest_status st;
	int go[2], ready[2];
	char buf[4096];

	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(ready));
	*pid = fork();
	ASSERT_LE(0, *pid);
	if (!*pid) {
		memset(buf, 0x5a, sizeof(buf));
		close(sv[0]);
		if (read(go[0], buf, 1) != 1 || write(sv[1], buf, 1000) != 1000 ||
		    close(sv[1]) || write(ready[1], "r", 1) != 1)
			_exit(2);
		for (;;)
			pause();
	}
	close(sv[1]);
	ASSERT_EQ(0, veil_exclude_pid(fd, *pid, 0));
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(1, read(ready[0], buf, 1));

	ASSERT_EQ(0, veil_request(fd, VEIL_REQ_PREPARE, &st));
	ASSERT_EQ(0, st.last_error);
	ASSERT_EQ(0, veil_host_write(fd, VEIL_GUEST_HW_STATE, VEIL_STATE_SANITIZED, 0, NULL));
	ASSERT_EQ(*pid, waitpid(*pid, NULL, 0));
	*pid = 0;
	EXPECT_EQ(0, read(sv[0], buf, sizeof(buf))) TH_LOG("what the process left is still there");
	ASSERT_EQ(0, veil_host_write(fd, VEIL_GUEST_HW_STATE, VEIL_STATE_RUNNING, 0, NULL));
	close(sv[0]);
	close(go[0]);
	close(go[1]);
	close(ready[0]);
	close(ready[1]);
}

TEST_F(complete, restore_empties_a_pipe_the_killed_process_closed)
{
	int pp[2];

	ASSERT_EQ(0, pipe(pp));
	expect_left_taken_back(_metadata, self->fd, &self->pid, pp);
}

TEST_F(complete, restore_takes_back_what_a_closed_unix_socket_left)
{
	int sv[2];

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	expect_left_taken_back(_metadata, self->fd, &self->pid, sv);
}

static int write_closed_files(int n)
{
	char path[64];
	int i, fd;

	for (i = 0; i < n; i++) {
		complete_file_path(path, sizeof(path), getpid(), i);
		fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
		if (fd < 0 || write(fd, path, sizeof(path)) != sizeof(path) || close(fd))
			return -1;
	}
	return 0;
}

enum channel { PIPE, FIFO, UNIX_STREAM, UNIX_RIGHTS, UNIX_OOB };

/* Sends @n bytes of @buf on @sock in one message that passes @fd too. */
static ssize_t send_with_fd(int sock, const void *buf, size_t n, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = n };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *c;

	memset(&u, 0, sizeof(u));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0);
}

/*
 * Writes @n bytes of @buf to @wr.  On UNIX_RIGHTS, in one message that
 * also passes a socket of a new pair, which holds "q" sent by its other
 * end; both ends are then closed, so that the passed socket's only
 * reference is the one in flight, where the garbage collector looks.  On
 * UNIX_OOB, the last byte is out-of-band data.
 */
static ssize_t channel_write(enum channel kind, int wr, const void *buf, size_t n)
{
	ssize_t r;
	int x[2];

	if (kind == UNIX_OOB)
		return send(wr, buf, n, MSG_OOB);
	if (kind != UNIX_RIGHTS)
		return write(wr, buf, n);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, x))
		return -1;
	r = write(x[1], "q", 1) == 1 ? send_with_fd(wr, buf, n, x[0]) : -1;
	close(x[0]);
	close(x[1]);
	return r;
}

/* Reads from @rd like read(); a descriptor passed with it goes to @passed. */
static ssize_t recv_with_fd(int rd, void *buf, size_t n, int *passed)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = buf, .iov_len = n };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *c;
	ssize_t got;

	*passed = -1;
	got = recvmsg(rd, &msg, MSG_CMSG_CLOEXEC);
	for (c = CMSG_FIRSTHDR(&msg); got >= 0 && c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(passed, CMSG_DATA(c), sizeof(int));
	return got;
}

/*
 * The frames a dry run finds now in the category of @kind's buffers (the
 * excluded writer's channel and nothing else of the category: its other
 * pipes are empty).
 */
static uint64_t channel_dry_pages(struct __test_metadata *_metadata, int fd, enum channel kind)
{
	struct veil_extents e;
	uint64_t n;
	int err;

	err = veil_get_extents(fd, &e);
	EXPECT_EQ(0, err) TH_LOG("dry run: %s", strerror(-err));
	if (err)
		return 0;
	n = veil_cat_pages(&e, kind <= FIFO ? VEIL_GUEST_CAT_PIPE : VEIL_GUEST_CAT_SOCKET);
	free(e.ext);
	return n;
}

/*
 * A child, excluded, that then writes 1000 bytes of 0x5a to @wr (a
 * channel of @kind), and writes and closes @files files; PREPARE done,
 * its error @err.  The caller keeps @rd, and @wr unless @close_it: then
 * both close it, the child last.  @dry, if not NULL: what a dry run found
 * of the channel's category just before PREPARE.
 */
static void excluded_pipe_writer(struct __test_metadata *_metadata, int fd, pid_t *pid,
				 enum channel kind, int rd, int wr, bool close_it,
				 int files, int err, uint64_t *dry)
{
	struct veil_guest_status st;
	int go[2], ready[2];
	char buf[1000], g;

	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(ready));
	*pid = fork();
	ASSERT_LE(0, *pid);
	if (!*pid) {
		memset(buf, 0x5a, sizeof(buf));
		close(rd);
		if (read(go[0], &g, 1) != 1 ||
		    channel_write(kind, wr, buf, sizeof(buf)) != sizeof(buf) ||
		    (close_it && close(wr)) || write_closed_files(files) ||
		    write(ready[1], "r", 1) != 1)
			_exit(2);
		for (;;)
			pause();
	}
	/* Its close is the pipe's last close of that end, when it is made. */
	if (close_it)
		close(wr);
	ASSERT_EQ(0, veil_exclude_pid(fd, *pid, 0));
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(1, read(ready[0], buf, 1));
	close(go[0]);
	close(go[1]);
	close(ready[0]);
	close(ready[1]);
	if (dry)
		*dry = channel_dry_pages(_metadata, fd, kind);
	ASSERT_EQ(0, veil_request(fd, VEIL_REQ_PREPARE, &st));
	ASSERT_EQ(err, st.last_error) TH_LOG("PREPARE: %s", strerror(st.last_error));
}

/* @pp: a channel of @kind, the reading end first and non-blocking. */
static void channel_open(struct __test_metadata *_metadata, enum channel kind, int pp[2])
{
	char path[64];

	switch (kind) {
	case PIPE:
		ASSERT_EQ(0, pipe2(pp, O_NONBLOCK));
		break;
	case FIFO:
		snprintf(path, sizeof(path), "/tmp/veil-fifo-%d", getpid());
		unlink(path);
		ASSERT_EQ(0, mkfifo(path, 0600));
		pp[0] = open(path, O_RDONLY | O_NONBLOCK);
		ASSERT_LE(0, pp[0]);
		pp[1] = open(path, O_WRONLY | O_NONBLOCK);
		ASSERT_LE(0, pp[1]);
		unlink(path);
		break;
	case UNIX_STREAM:
	case UNIX_RIGHTS:
	case UNIX_OOB:
		ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, pp));
		ASSERT_EQ(0, fcntl(pp[0], F_SETFL, O_NONBLOCK));
		break;
	}
}

/* Whether /proc/net/unix lists a socket of inode @ino. */
static bool unix_listed(ino_t ino)
{
	unsigned long inode;
	bool found = false;
	char line[512];
	FILE *f;

	f = fopen("/proc/net/unix", "r");
	if (!f)
		return true;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%*s %*s %*s %*s %*s %*s %lu", &inode) == 1 &&
			inode == ino;
	fclose(f);
	return found;
}

/*
 * Makes the in-flight garbage collector run and collect: two sockets that
 * are each in flight in the other's queue, closed, are garbage; the close
 * of one more socket starts the collector, which frees them.  Returns
 * whether it did within 10 s.
 */
static bool unix_collect_a_cycle(void)
{
	int sv[2], i, other;
	struct stat st;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) || fstat(sv[0], &st) ||
	    send_with_fd(sv[0], "a", 1, sv[0]) != 1 || send_with_fd(sv[1], "b", 1, sv[1]) != 1)
		return false;
	close(sv[0]);
	close(sv[1]);
	for (i = 0; i < 100 && unix_listed(st.st_ino); i++) {
		other = socket(AF_UNIX, SOCK_STREAM, 0);
		if (other >= 0)
			close(other);
		usleep(100 * 1000);
	}
	return !unix_listed(st.st_ino);
}

/*
 * After THAW, what the excluded writer sent on UNIX_RIGHTS is back whole:
 * its 1000 bytes with the socket it passed, which the collector, run
 * during the pause, did not free (the buffer holding its last reference
 * was out of the queue, not gone): it still holds the "q" its other end
 * sent, then the end.  @close_it: the writer closed its end, so @rd reads
 * the end next.
 */
static void expect_rights_back(struct __test_metadata *_metadata, int rd, bool close_it)
{
	int passed, bad = 0, i;
	char buf[4096];
	ssize_t n;

	ASSERT_EQ(0, fcntl(rd, F_SETFL, 0));
	n = recv_with_fd(rd, buf, sizeof(buf), &passed);
	EXPECT_EQ(1000, n) TH_LOG("%zd bytes back after THAW", n);
	for (i = 0; i < n; i++)
		bad += buf[i] != 0x5a;
	EXPECT_EQ(0, bad) TH_LOG("%d bytes out of place after THAW", bad);
	ASSERT_LE(0, passed) TH_LOG("no descriptor came with them");
	n = read(passed, buf, sizeof(buf));
	EXPECT_EQ(1, n) TH_LOG("the passed socket: %zd bytes (%s)", n, n < 0 ? strerror(errno) : "");
	EXPECT_EQ('q', buf[0]);
	EXPECT_EQ(0, read(passed, buf, sizeof(buf))) TH_LOG("no end of file on the passed socket");
	close(passed);
	if (close_it)
		EXPECT_EQ(0, read(rd, buf, sizeof(buf))) TH_LOG("no end of file after THAW");
}

static volatile sig_atomic_t sigurgs;

static void count_sigurg(int sig)
{
	sigurgs += sig == SIGURG;
}

/* @rd: no urgent data there now, for a reader, poll or SIOCATMARK. */
static void expect_no_urgent_data(struct __test_metadata *_metadata, int rd)
{
	struct pollfd pfd = { .fd = rd, .events = POLLPRI };
	int mark = -1;
	char c;

	EXPECT_EQ(-1, recv(rd, &c, 1, MSG_OOB)) TH_LOG("a reader read urgent data (%#x)", c);
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, poll(&pfd, 1, 0)) TH_LOG("poll says urgent data (%#x)", pfd.revents);
	EXPECT_EQ(0, ioctl(rd, SIOCATMARK, &mark));
	EXPECT_EQ(0, mark) TH_LOG("the reader is at the urgent mark");
}

/*
 * After THAW, what the excluded writer sent on UNIX_OOB is back as it
 * was: its last byte urgent again (SIGURG sent again), the 999 before it
 * in-band.  @close_it: the writer closed its end, so @rd reads the end
 * next.
 */
static void expect_oob_back(struct __test_metadata *_metadata, int rd, bool close_it,
			    int urgs)
{
	int got = 0, bad = 0, i;
	char buf[4096], c = 0;
	ssize_t n;

	EXPECT_LT(urgs, sigurgs) TH_LOG("no SIGURG when the urgent byte came back");
	EXPECT_EQ(1, recv(rd, &c, 1, MSG_OOB)) TH_LOG("no urgent byte after THAW: %s",
						     strerror(errno));
	EXPECT_EQ(0x5a, c);
	ASSERT_EQ(0, fcntl(rd, F_SETFL, 0));
	while (got < 999 && (n = read(rd, buf, sizeof(buf))) > 0) {
		for (i = 0; i < n; i++)
			bad += buf[i] != 0x5a;
		got += n;
	}
	EXPECT_EQ(999, got) TH_LOG("%d bytes in-band back after THAW", got);
	EXPECT_EQ(0, bad) TH_LOG("%d bytes out of place after THAW", bad);
	if (close_it)
		EXPECT_EQ(0, read(rd, buf, sizeof(buf))) TH_LOG("no end of file after THAW");
}

/*
 * From PREPARE to THAW, a pipe, FIFO or UNIX peer holding what an
 * excluded process wrote is empty for a reader outside the set (its
 * pages are zeros in the checkpoint), and a pipe full for a writer; so it
 * stays once the excluded writer has closed its end: the reader waits, it
 * does not take that for the end.  At THAW it has it all again, in order.
 * So it does when what the writer sent passes a descriptor, and the
 * in-flight garbage collector runs meanwhile (UNIX_RIGHTS), and when it
 * ends in urgent data (UNIX_OOB), which a reader does not find meanwhile.
 * A dry run meanwhile still lists what was paused, as it did before, and a
 * PREPARE again before THAW publishes no less and pauses it again.
 */
static void expect_paused_until_thaw(struct __test_metadata *_metadata, int fd,
				     pid_t *pid, enum channel kind, bool close_it)
{
	bool outside_writer = kind <= FIFO && !close_it;
	int pp[2], got = 0, bad = 0, i, want = outside_writer ? 1001 : 1000, urgs = 0;
	struct veil_guest_status st;
	uint64_t dry = 0, during, first;
	char buf[4096];
	ssize_t n;

	channel_open(_metadata, kind, pp);
	if (kind == UNIX_OOB) {
		ASSERT_NE(SIG_ERR, signal(SIGURG, count_sigurg));
		ASSERT_EQ(0, fcntl(pp[0], F_SETOWN, getpid()));
	}
	excluded_pipe_writer(_metadata, fd, pid, kind, pp[0], pp[1], close_it, 0, 0, &dry);
	n = read(pp[0], buf, sizeof(buf));
	EXPECT_EQ(-1, n) TH_LOG("a reader outside the set read %zd bytes during the checkpoint%s",
				n, n ? "" : " (the end)");
	EXPECT_EQ(EAGAIN, errno);
	/* Out of the reader's reach, and still in what a dry run finds. */
	during = channel_dry_pages(_metadata, fd, kind);
	EXPECT_NE(0, dry) TH_LOG("a dry run before PREPARE found nothing of the channel");
	EXPECT_EQ(dry, during) TH_LOG("a dry run during the checkpoint found %llu frames of the channel's kind, %llu before it",
				      (unsigned long long)during, (unsigned long long)dry);
	/*
	 * A PREPARE again before THAW: nothing less than the first published
	 * (more, when this process wrote meanwhile to a page it shared
	 * copy-on-write with the child: that page is the child's alone now),
	 * and the channel paused again.
	 */
	ASSERT_EQ(0, veil_status(fd, &st));
	first = st.published_pages;
	ASSERT_EQ(0, veil_request(fd, VEIL_REQ_PREPARE, &st));
	EXPECT_EQ(0, st.last_error) TH_LOG("PREPARE again: %s", strerror(st.last_error));
	EXPECT_LE(first, st.published_pages) TH_LOG("a PREPARE again before THAW published %llu frames, the first %llu",
						    (unsigned long long)st.published_pages,
						    (unsigned long long)first);
	n = read(pp[0], buf, sizeof(buf));
	EXPECT_EQ(-1, n) TH_LOG("a reader outside the set read %zd bytes after PREPARE again", n);
	if (kind == UNIX_OOB) {
		expect_no_urgent_data(_metadata, pp[0]);
		urgs = sigurgs;
	}
	if (outside_writer)
		EXPECT_EQ(-1, write(pp[1], "B", 1)) TH_LOG("a writer outside the set wrote during it");
	if (kind == UNIX_RIGHTS)
		EXPECT_TRUE(unix_collect_a_cycle()) TH_LOG("the garbage collector did not run");
	ASSERT_EQ(0, veil_request(fd, VEIL_REQ_THAW, &st));
	if (kind >= UNIX_RIGHTS) {
		if (kind == UNIX_RIGHTS)
			expect_rights_back(_metadata, pp[0], close_it);
		else
			expect_oob_back(_metadata, pp[0], close_it, urgs);
		signal(SIGURG, SIG_DFL);
		close(pp[0]);
		if (!close_it)
			close(pp[1]);
		return;
	}

	if (outside_writer)
		ASSERT_EQ(1, write(pp[1], "B", 1));
	if (close_it)
		ASSERT_EQ(0, fcntl(pp[0], F_SETFL, 0));
	while ((n = read(pp[0], buf, sizeof(buf))) > 0) {
		for (i = 0; i < n; i++)
			bad += buf[i] != (got + i < 1000 ? 0x5a : 'B');
		got += n;
		if (!close_it && got >= want)
			break;
	}
	EXPECT_EQ(want, got) TH_LOG("%d bytes back after THAW", got);
	EXPECT_EQ(0, bad) TH_LOG("%d bytes out of place after THAW", bad);
	if (close_it)
		EXPECT_EQ(0, n) TH_LOG("no end of file after THAW");
	close(pp[0]);
	if (!close_it)
		close(pp[1]);
}

TEST_F(complete, pipe_paused_from_prepare_to_thaw)
{
	expect_paused_until_thaw(_metadata, self->fd, &self->pid, PIPE, false);
}

TEST_F(complete, left_pipe_paused_from_prepare_to_thaw)
{
	expect_paused_until_thaw(_metadata, self->fd, &self->pid, PIPE, true);
}

TEST_F(complete, fifo_paused_from_prepare_to_thaw)
{
	expect_paused_until_thaw(_metadata, self->fd, &self->pid, FIFO, false);
}

TEST_F(complete, unix_peer_paused_from_prepare_to_thaw)
{
	expect_paused_until_thaw(_metadata, self->fd, &self->pid, UNIX_STREAM, false);
}

TEST_F(complete, left_unix_peer_paused_from_prepare_to_thaw)
{
	expect_paused_until_thaw(_metadata, self->fd, &self->pid, UNIX_STREAM, true);
}

TEST_F(complete, unix_peer_passing_descriptors_paused_from_prepare_to_thaw)
{
	expect_paused_until_thaw(_metadata, self->fd, &self->pid, UNIX_RIGHTS, false);
}

TEST_F(complete, left_unix_peer_passing_descriptors_paused_from_prepare_to_thaw)
{
	expect_paused_until_thaw(_metadata, self->fd, &self->pid, UNIX_RIGHTS, true);
}

TEST_F(complete, unix_peer_with_urgent_data_paused_from_prepare_to_thaw)
{
	expect_paused_until_thaw(_metadata, self->fd, &self->pid, UNIX_OOB, false);
}

TEST_F(complete, left_unix_peer_with_urgent_data_paused_from_prepare_to_thaw)
{
	expect_paused_until_thaw(_metadata, self->fd, &self->pid, UNIX_OOB, true);
}

/*
 * A paused buffer that holds the last reference of the socket it was sent
 * to: the excluded child passes a socket over its own pair and closes it,
 * so that socket is garbage (a cycle through its own queue) as soon as the
 * buffer is in the queue again.  The collector, run during the pause,
 * leaves it alone (the buffer keeps it); after THAW it frees it.
 */
TEST_F(complete, unix_cycle_through_a_paused_buffer_is_collected_after_thaw)
{
	struct veil_guest_status st;
	int ready[2], i;
	char buf[1000];
	ino_t ino;

	ASSERT_EQ(0, pipe(ready));
	self->pid = fork();
	ASSERT_LE(0, self->pid);
	if (!self->pid) {
		struct stat sb;
		int y[2];

		memset(buf, 0x5a, sizeof(buf));
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, y) || fstat(y[0], &sb) ||
		    send_with_fd(y[1], buf, sizeof(buf), y[0]) != sizeof(buf) || close(y[0]) ||
		    write(ready[1], &sb.st_ino, sizeof(sb.st_ino)) != sizeof(sb.st_ino))
			_exit(2);
		for (;;)
			pause();
	}
	ASSERT_EQ(sizeof(ino), read(ready[0], &ino, sizeof(ino)));
	close(ready[0]);
	close(ready[1]);
	ASSERT_EQ(0, veil_exclude_pid(self->fd, self->pid, 0));
	ASSERT_EQ(0, veil_request(self->fd, VEIL_REQ_PREPARE, &st));
	ASSERT_EQ(0, st.last_error) TH_LOG("PREPARE: %s", strerror(st.last_error));
	EXPECT_TRUE(unix_collect_a_cycle()) TH_LOG("the garbage collector did not run");
	EXPECT_TRUE(unix_listed(ino)) TH_LOG("the socket went while its buffer was paused");
	ASSERT_EQ(0, veil_request(self->fd, VEIL_REQ_THAW, &st));
	for (i = 0; i < 100 && unix_listed(ino); i++) {
		EXPECT_TRUE(unix_collect_a_cycle());
		usleep(100 * 1000);
	}
	EXPECT_FALSE(unix_listed(ino)) TH_LOG("the cycle was not collected after THAW");
}

/*
 * A PREPARE that fails after it paused a channel gives it back at once,
 * before any THAW: a reader outside the set reads all the excluded
 * writer wrote, in order, and a pipe has its size again.  The failure:
 * the writer also wrote and closed two files with recall_max at 1, which
 * the collection finds after the channels (a privileged exclusion's file
 * that is not remembered fails PREPARE with ENOSPC, and every PREPARE
 * after it while anything is excluded: the module is loaded afresh).
 */
static void expect_back_after_failed_prepare(struct __test_metadata *_metadata, int fd,
					     pid_t *pid, bool *reload, enum channel kind)
{
	int pp[2], got = 0, bad = 0, size = 0, i;
	char buf[4096];
	ssize_t n;

	channel_open(_metadata, kind, pp);
	if (kind != UNIX_STREAM)
		size = fcntl(pp[1], F_GETPIPE_SZ);
	*reload = true;
	ASSERT_EQ(0, veil_param("recall_max", "1"));
	excluded_pipe_writer(_metadata, fd, pid, kind, pp[0], pp[1], false, 2, ENOSPC, NULL);
	while ((n = read(pp[0], buf, sizeof(buf))) > 0) {
		for (i = 0; i < n; i++)
			bad += buf[i] != 0x5a;
		got += n;
	}
	EXPECT_EQ(1000, got) TH_LOG("%d bytes back after the failed PREPARE", got);
	EXPECT_EQ(0, bad) TH_LOG("%d bytes out of place after it", bad);
	if (kind != UNIX_STREAM)
		EXPECT_EQ(size, fcntl(pp[1], F_GETPIPE_SZ)) TH_LOG("the pipe's size is not back");
	close(pp[0]);
	close(pp[1]);
}

TEST_F(complete, pipe_back_when_prepare_fails)
{
	expect_back_after_failed_prepare(_metadata, self->fd, &self->pid, &self->reload, PIPE);
}

TEST_F(complete, fifo_back_when_prepare_fails)
{
	expect_back_after_failed_prepare(_metadata, self->fd, &self->pid, &self->reload, FIFO);
}

TEST_F(complete, unix_peer_back_when_prepare_fails)
{
	expect_back_after_failed_prepare(_metadata, self->fd, &self->pid, &self->reload, UNIX_STREAM);
}

/*
 * A guest restored from the checkpoint: before the poller has seen the
 * restore (slowed down here), a reader outside the set finds the channel
 * empty, not the zeros the checkpoint holds; after it, the writer is
 * killed and the reader gets end of file.  @close_it: the excluded writer
 * closed its end before PREPARE (what it left).
 */
static void expect_empty_until_restored(struct __test_metadata *_metadata, int fd,
					pid_t *pid, enum channel kind, bool close_it)
{
	struct veil_guest_status st;
	int pp[2], restores;
	char buf[4096];
	ssize_t n;

	channel_open(_metadata, kind, pp);
	ASSERT_EQ(0, veil_param("period_ms", "3000"));
	excluded_pipe_writer(_metadata, fd, pid, kind, pp[0], pp[1], close_it, 0, 0, NULL);
	if (!close_it)
		close(pp[1]);
	ASSERT_EQ(0, veil_status(fd, &st));
	restores = st.restores;
	ASSERT_EQ(0, veil_host_write(fd, VEIL_GUEST_HW_STATE, VEIL_STATE_SANITIZED, 0, NULL));
	n = read(pp[0], buf, sizeof(buf));
	ASSERT_EQ(0, veil_status(fd, &st));
	ASSERT_EQ(restores, st.restores) TH_LOG("the restore was handled before the reader ran");
	EXPECT_EQ(-1, n) TH_LOG("a reader outside the set read %zd bytes before the restore was handled",
				n);
	if (kind == UNIX_OOB)
		expect_no_urgent_data(_metadata, pp[0]);
	ASSERT_EQ(0, veil_param("period_ms", "10"));
	ASSERT_EQ(*pid, waitpid(*pid, NULL, 0));
	*pid = 0;
	ASSERT_EQ(0, fcntl(pp[0], F_SETFL, 0));
	n = read(pp[0], buf, sizeof(buf));
	EXPECT_EQ(0, n) TH_LOG("%zd bytes after the restore", n);
	ASSERT_EQ(0, veil_host_write(fd, VEIL_GUEST_HW_STATE, VEIL_STATE_RUNNING, 0, NULL));
	close(pp[0]);
}

TEST_F(complete, restore_reader_outside_finds_the_pipe_empty_not_zeros)
{
	expect_empty_until_restored(_metadata, self->fd, &self->pid, PIPE, false);
}

TEST_F(complete, restore_reader_outside_finds_a_left_pipe_empty_not_zeros)
{
	expect_empty_until_restored(_metadata, self->fd, &self->pid, PIPE, true);
}

TEST_F(complete, restore_reader_outside_finds_the_unix_peer_empty_not_zeros)
{
	expect_empty_until_restored(_metadata, self->fd, &self->pid, UNIX_STREAM, false);
}

TEST_F(complete, restore_reader_outside_finds_a_left_unix_peer_empty_not_zeros)
{
	expect_empty_until_restored(_metadata, self->fd, &self->pid, UNIX_STREAM, true);
}

TEST_F(complete, restore_reader_outside_finds_a_unix_peer_passing_descriptors_empty)
{
	expect_empty_until_restored(_metadata, self->fd, &self->pid, UNIX_RIGHTS, false);
}

TEST_F(complete, restore_reader_outside_finds_a_left_unix_peer_passing_descriptors_empty)
{
	expect_empty_until_restored(_metadata, self->fd, &self->pid, UNIX_RIGHTS, true);
}

TEST_F(complete, restore_reader_outside_finds_a_unix_peer_with_urgent_data_empty)
{
	expect_empty_until_restored(_metadata, self->fd, &self->pid, UNIX_OOB, false);
}

TEST_F(complete, restore_reader_outside_finds_a_left_unix_peer_with_urgent_data_empty)
{
	expect_empty_until_restored(_metadata, self->fd, &self->pid, UNIX_OOB, true);
}

/*
 * Restore: a TCP connection the killed process closed with data still to
 * send (its peer's window is closed) is aborted, not left to send what is
 * zeros after a real restore: the peer gets what it had, then a reset.
 */
TEST_F(complete, restore_aborts_a_tcp_connection_the_killed_process_closed)
{
	struct timeval tv = { .tv_sec = 5 };
	int cl, conn, go[2], ready[2], inq, got, err;
	struct veil_guest_status st;
	char buf[65536];

	/* the smallest receive buffer, hence window, at the test's end */
	ASSERT_EQ(0, veil_tcp_pair(1, &cl, &conn));
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(ready));

	self->pid = fork();
	ASSERT_LE(0, self->pid);
	if (!self->pid) {
		close(conn);
		memset(buf, 0x5a, sizeof(buf));
		if (read(go[0], buf, 1) != 1 || fcntl(cl, F_SETFL, O_NONBLOCK))
			_exit(2);
		while (send(cl, buf, sizeof(buf), 0) > 0)	/* until it is full */
			;
		if (close(cl) || write(ready[1], "r", 1) != 1)
			_exit(2);
		for (;;)
			pause();
	}
	close(cl);
	ASSERT_EQ(0, veil_exclude_pid(self->fd, self->pid, 0));
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(1, read(ready[0], buf, 1));

	ASSERT_EQ(0, veil_request(self->fd, VEIL_REQ_PREPARE, &st));
	ASSERT_EQ(0, st.last_error);
	ASSERT_EQ(0, ioctl(conn, SIOCINQ, &inq));
	ASSERT_EQ(0, veil_host_write(self->fd, VEIL_GUEST_HW_STATE, VEIL_STATE_SANITIZED, 0, NULL));
	ASSERT_EQ(self->pid, waitpid(self->pid, NULL, 0));
	self->pid = 0;

	/* What it had queued, then a reset; nothing more within 5 s. */
	ASSERT_EQ(0, setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	got = recv_all(conn, &err);
	EXPECT_EQ(inq, got) TH_LOG("the peer received %d bytes after the restore, %d were queued",
				   got, inq);
	EXPECT_EQ(ECONNRESET, err) TH_LOG("the connection was not reset (%s)",
					  err ? strerror(err) : "closed");

	ASSERT_EQ(0, veil_host_write(self->fd, VEIL_GUEST_HW_STATE, VEIL_STATE_RUNNING, 0, NULL));
	close(conn);
	close(go[0]);
	close(go[1]);
	close(ready[0]);
	close(ready[1]);
}

TEST_HARNESS_MAIN
