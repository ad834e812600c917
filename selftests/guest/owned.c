// SPDX-License-Identifier: GPL-2.0
/*
 * Only what is the excluded processes' own is published.  An unprivileged
 * user excludes a process of its own that opens and maps the C library,
 * maps a file of root's shared, shares a copy-on-write page with its
 * parent (not excluded), and splices a page of root's file into a pipe:
 * none of those frames may be published, since zeroing them in a
 * checkpoint zeroes them for every other process.  Its private memory and
 * a file of its own on disk are published, and at PREPARE that file's
 * page cache (and only it) leaves the page cache, so that a restored
 * guest reads it from disk again.  The messages it queues after its
 * exclusion, on a System V queue and on a POSIX queue that keeps its name,
 * are not published either: any process of the user could receive one
 * during a checkpoint and so have it refused.  Nor is what waits in a
 * pipe, a UNIX socket pair and a TCP connection that root created and that
 * the user's processes inherited: root reads them too.  The excluded
 * child is the last to hold the end root wrote to of each, and closes it:
 * that does not make what waits there its own either (nor a restore reset
 * root's connection).
 */
#include <mqueue.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "veil_test.h"

#define USER		1000
#define ROOT_FILE	"/mnt/veil-owned/root-data"
#define USER_FILE	"/mnt/veil-owned/user-data"
#define DISK_IMG	"/tmp/veil-owned.img"
#define FILE_PAGES	8
#define DISK_SETUP	"mkdir -p /mnt/veil-owned && " \
			"dd if=/dev/zero of=" DISK_IMG " bs=1M count=8 2>/dev/null && " \
			"losetup /dev/loop1 " DISK_IMG " && " \
			"mkfs.ext4 -q /dev/loop1 && mount -t ext4 /dev/loop1 /mnt/veil-owned && " \
			"chmod 1777 /mnt/veil-owned"
#define DISK_TEARDOWN	"umount /mnt/veil-owned; losetup -d /dev/loop1; rm -f " DISK_IMG

static const char *const libc_paths[] = {
	"/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6",
	"/lib64/libc.so.6", "/usr/lib64/libc.so.6",
};

static const char *libc_path(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(libc_paths); i++)
		if (!access(libc_paths[i], R_OK))
			return libc_paths[i];
	return NULL;
}

static uint64_t pagemap_pfn(pid_t pid, uintptr_t va)
{
	uint64_t ent = 0;
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	if (pread(fd, &ent, sizeof(ent), va / 4096 * sizeof(ent)) != sizeof(ent))
		ent = 0;
	close(fd);
	return ent >> 63 ? ent & ((1ULL << 55) - 1) : 0;
}

/*
 * The frames of the first @max cached pages of @path, found through a
 * mapping of our own that is gone again when this returns.
 */
static int cached_pfns(const char *path, uint64_t *pfn, int max)
{
	volatile uint8_t sink;
	struct stat sb;
	uint8_t *m;
	int fd, n, i;

	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &sb))
		return -1;
	n = sb.st_size / 4096;
	n = n < max ? n : max;
	m = mmap(NULL, n * 4096, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return -1;
	for (i = 0; i < n; i++) {
		sink = m[i * 4096];
		(void)sink;
		pfn[i] = pagemap_pfn(getpid(), (uintptr_t)m + i * 4096);
	}
	munmap(m, n * 4096);
	return n;
}

/* Pages of @path in the page cache now. */
static int resident(const char *path)
{
	unsigned char vec[64];
	struct stat sb;
	int fd, n = 0, i, pages;
	void *p;

	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &sb))
		return -1;
	pages = sb.st_size / 4096;
	if (pages > (int)sizeof(vec))
		pages = sizeof(vec);
	p = mmap(NULL, pages * 4096, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED || mincore(p, pages * 4096, vec))
		return -1;
	for (i = 0; i < pages; i++)
		n += vec[i] & 1;
	munmap(p, pages * 4096);
	return n;
}

static int write_file(const char *path, char c)
{
	char buf[4096];
	int fd, i, ok = 1;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -1;
	for (i = 0; i < FILE_PAGES && ok; i++) {
		memset(buf, c + i, sizeof(buf));
		ok = write(fd, buf, sizeof(buf)) == sizeof(buf);
	}
	ok = ok && !fsync(fd);
	close(fd);
	return ok ? 0 : -1;
}

/* What the user's processes tell the test: addresses and the excluded PID. */
struct report {
	pid_t parent, child;
	uintptr_t cow, own;
	int msq;		/* its System V queue */
	int err;
};

/* The pattern in the messages the excluded child queues. */
static struct veil_pattern pat;
static char mq_name[64];
/*
 * The ends of root's pipe and socket pair that root wrote to, inherited;
 * the excluded child closes them last when told on @handover, and says
 * so on @closed.
 */
static int root_pipe_w = -1, root_sock_w = -1, root_tcp_w = -1;
static int handover[2] = { -1, -1 }, closed[2] = { -1, -1 };

/*
 * After its exclusion, the child queues a message of the pattern on a
 * System V queue of its own and on a POSIX queue it keeps open by name;
 * the queue's id goes in @r.  0 or an errno.
 */
static int send_messages(struct report *r)
{
	struct {
		long mtype;
		uint8_t text[VEIL_GUEST_PATTERN_LEN];
	} m = { .mtype = 1 };
	struct mq_attr attr = { .mq_maxmsg = 1, .mq_msgsize = sizeof(m.text) };
	int err = 0;
	mqd_t mq;

	veil_pattern_make(&pat, m.text);
	r->msq = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	if (r->msq < 0 || msgsnd(r->msq, &m, sizeof(m.text), IPC_NOWAIT))
		err = errno;
	mq = mq_open(mq_name, O_WRONLY | O_CREAT | O_EXCL, 0600, &attr);
	if (!err && (mq == (mqd_t)-1 || mq_send(mq, (char *)m.text, sizeof(m.text), 0)))
		err = errno;
	explicit_bzero(&m, sizeof(m));
	return err;
}

/*
 * The excluded child, running as USER: everything it holds of others',
 * and what is its own; then it excludes itself.
 */
static int child_holds(const char *libc, int out)
{
	static char buf[1 << 16];
	struct veil_guest_select s = {
		.size = sizeof(s), .kind = VEIL_GUEST_SEL_PID, .pid = getpid(),
	};
	int lfd, rfd, ufd, vfd, p[2];
	struct report r = { .child = getpid(), .msq = -1 };
	loff_t off = 0;
	uint8_t *own;
	void *m;

	lfd = open(libc, O_RDONLY);
	rfd = open(ROOT_FILE, O_RDONLY);
	ufd = open(USER_FILE, O_RDWR);
	if (lfd < 0 || rfd < 0 || ufd < 0)
		return 1;
	while (read(lfd, buf, sizeof(buf)) > 0)	/* its page cache, all of it */
		;
	while (read(ufd, buf, sizeof(buf)) > 0)
		;
	if (mmap(NULL, 1 << 20, PROT_READ, MAP_PRIVATE, lfd, 0) == MAP_FAILED)
		return 1;
	m = mmap(NULL, FILE_PAGES * 4096, PROT_READ, MAP_SHARED, rfd, 0);
	if (m == MAP_FAILED)
		return 1;
	(void)*(volatile uint8_t *)m;
	if (pipe(p) || splice(rfd, &off, p[1], NULL, 4096, 0) != 4096)
		return 1;
	own = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (own == MAP_FAILED)
		return 1;
	memset(own, 0x77, 4096);
	r.own = (uintptr_t)own;
	vfd = open(VEIL_DEV, O_RDWR);
	if (vfd < 0 || ioctl(vfd, VEIL_GUEST_IOC_EXCLUDE, &s))
		r.err = errno;
	else
		r.err = send_messages(&r);
	return write(out, &r, sizeof(r)) == sizeof(r) ? 0 : 1;
}

/* The parent, running as USER and not excluded, shares a page copy-on-write. */
static void parent_run(const char *libc, int out)
{
	struct report r = { .parent = getpid() };
	uint8_t *cow;
	int p[2];
	pid_t c;

	if (setgid(USER) || setuid(USER))
		_exit(2);
	/* Changing user made the address space undumpable: as a login would not. */
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0))
		_exit(2);
	cow = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (cow == MAP_FAILED || pipe(p))
		_exit(2);
	memset(cow, 0x33, 4096);
	c = fork();
	if (!c) {
		char go;

		close(p[0]);
		if (child_holds(libc, p[1]))
			_exit(3);
		/* Excluded now; everyone else lets go of root's pipe first. */
		if (read(handover[0], &go, 1) != 1 || close(root_pipe_w) ||
		    close(root_sock_w) || close(root_tcp_w) ||
		    write(closed[1], &go, 1) != 1)
			_exit(3);
		for (;;)
			pause();
	}
	close(root_pipe_w);
	close(root_sock_w);
	close(root_tcp_w);
	close(p[1]);
	if (c < 0 || read(p[0], &r, sizeof(r)) != sizeof(r))
		_exit(2);
	r.parent = getpid();
	r.cow = (uintptr_t)cow;
	if (write(out, &r, sizeof(r)) != sizeof(r))
		_exit(2);
	for (;;)
		pause();
}

FIXTURE(owned) {
	int fd;
	pid_t parent;
	struct report r;
	int rp[2], rs[2];	/* root's pipe and socket pair, inherited */
	int rt[2];		/* root's TCP connection: sender, receiver */
};

/*
 * Root's pipe and UNIX socket pair, each with the pattern waiting in it,
 * and a TCP connection over loopback whose receiver has the smallest
 * window and reads nothing: the pattern, after 64 KiB of filler, waits
 * unsent in the sender's queue.  Every end left open for the user's
 * processes to inherit.  0 or -1.
 */
static int root_channels(int rp[2], int rs[2], int rt[2])
{
	static uint8_t filler[1 << 16];
	uint8_t text[VEIL_GUEST_PATTERN_LEN];
	int ok, room = 1 << 20;

	if (pipe(rp) || socketpair(AF_UNIX, SOCK_STREAM, 0, rs) ||
	    veil_tcp_pair(1, &rt[0], &rt[1]) ||
	    setsockopt(rt[0], SOL_SOCKET, SO_SNDBUFFORCE, &room, sizeof(room)))
		return -1;
	memset(filler, 0x5a, sizeof(filler));
	veil_pattern_make(&pat, text);
	ok = write(rp[1], text, sizeof(text)) == sizeof(text) &&
	     write(rs[0], text, sizeof(text)) == sizeof(text) &&
	     write(rt[0], filler, sizeof(filler)) == sizeof(filler) &&
	     write(rt[0], text, sizeof(text)) == sizeof(text);
	explicit_bzero(text, sizeof(text));
	return ok ? 0 : -1;
}

FIXTURE_SETUP(owned)
{
	const char *libc = libc_path();
	int err = veil_load(), p[2];

	self->rp[0] = self->rp[1] = self->rs[0] = self->rs[1] = -1;
	self->rt[0] = self->rt[1] = -1;
	if (err)
		SKIP(return, "cannot load " VEIL_KO ": %s", strerror(-err));
	if (!libc)
		SKIP(return, "no libc.so.6 in this VM");
	self->fd = veil_dev_open();
	ASSERT_LE(0, self->fd);
	self->r.msq = -1;
	veil_pattern_new(&pat);
	snprintf(mq_name, sizeof(mq_name), "/veil-owned-%d", getpid());
	mq_unlink(mq_name);
	ASSERT_EQ(0, system(DISK_SETUP)) TH_LOG("cannot set up ext4 on a loop device");
	ASSERT_EQ(0, write_file(ROOT_FILE, 'a'));
	ASSERT_EQ(0, write_file(USER_FILE, 'A'));
	ASSERT_EQ(0, chown(USER_FILE, USER, USER));
	ASSERT_EQ(0, root_channels(self->rp, self->rs, self->rt));
	root_pipe_w = self->rp[1];
	root_sock_w = self->rs[0];
	root_tcp_w = self->rt[0];
	ASSERT_EQ(0, pipe(handover));
	ASSERT_EQ(0, pipe(closed));
	ASSERT_EQ(0, pipe(p));
	self->parent = fork();
	ASSERT_LE(0, self->parent);
	if (!self->parent) {
		close(p[0]);
		parent_run(libc, p[1]);
	}
	close(p[1]);
	ASSERT_EQ(sizeof(self->r), read(p[0], &self->r, sizeof(self->r)))
		TH_LOG("the user's processes did not set up");
	close(p[0]);
	ASSERT_EQ(0, self->r.err) TH_LOG("the user could not exclude its own process: %s",
					 strerror(self->r.err));
	/* The parent closed its copies before it reported; now ours. */
	close(self->rp[1]);
	close(self->rs[0]);
	close(self->rt[0]);
	self->rp[1] = self->rs[0] = self->rt[0] = -1;
	ASSERT_EQ(1, write(handover[1], "g", 1));
	ASSERT_EQ(1, read(closed[0], p, 1))
		TH_LOG("the excluded child did not close root's pipe and sockets");
}

/*
 * Whether @pid has exited (gone, or a zombie: its files closed), waiting
 * up to ten seconds for it.
 */
static bool exited(pid_t pid)
{
	char path[64], st[256], *p;
	int i, fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	for (i = 0; i < 1000; i++) {
		fd = open(path, O_RDONLY);
		if (fd < 0)
			return true;
		n = read(fd, st, sizeof(st) - 1);
		close(fd);
		st[n > 0 ? n : 0] = 0;
		p = strrchr(st, ')');
		if (!p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
			return true;
		usleep(10 * 1000);
	}
	return false;
}

FIXTURE_TEARDOWN(owned)
{
	if (self->r.child > 0) {
		veil_include_pid(self->fd, self->r.child);
		kill(self->r.child, SIGKILL);
		/* Its files on the test's file system go before the unmount. */
		if (!exited(self->r.child))
			TH_LOG("the excluded child %d did not exit", self->r.child);
	}
	if (self->parent > 0) {
		kill(self->parent, SIGKILL);
		waitpid(self->parent, NULL, 0);
	}
	if (self->r.child > 0) {
		/* Reparented to us, the test's init-like parent, or to init. */
		waitpid(self->r.child, NULL, WNOHANG);
	}
	if (self->r.msq >= 0)
		msgctl(self->r.msq, IPC_RMID, NULL);
	close(self->rp[0]);
	close(self->rp[1]);
	close(self->rs[0]);
	close(self->rs[1]);
	close(self->rt[0]);
	close(self->rt[1]);
	close(handover[0]);
	close(handover[1]);
	close(closed[0]);
	close(closed[1]);
	mq_unlink(mq_name);
	system(DISK_TEARDOWN);
	close(self->fd);
}

static int covered_of(const struct veil_extents *e, const uint64_t *pfn, int n)
{
	int i, c = 0;

	for (i = 0; i < n; i++)
		c += pfn[i] && veil_covered(e, pfn[i] * 4096, 4096);
	return c;
}

/*
 * Both queued messages are in RAM, and no copy of them is published, nor
 * of what root left in its pipe and socket.
 */
static void expect_messages_left_out(struct __test_metadata *_metadata,
				     const struct veil_extents *e, const char *what)
{
	struct veil_hits h;
	uint64_t i;
	int fd = veil_dev_open();

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, veil_scan(fd, &pat, &h));
	close(fd);
	/* Each message's text holds both halves of the pattern, root's too. */
	ASSERT_LE(8, h.total) TH_LOG("the queued messages were not found in RAM");
	for (i = 0; i < h.nr; i++) {
		EXPECT_FALSE(veil_covered(e, h.addr[i], VEIL_HALF))
			TH_LOG("%s: a message (or root's data) at 0x%llx is published", what,
			       (unsigned long long)h.addr[i]);
	}
}

/* Checks a set (dry run or published) against what is whose. */
static void check_set(struct __test_metadata *_metadata, struct report *r,
		      const struct veil_extents *e, const char *what)
{
	uint64_t libc[256], root[FILE_PAGES], cow, own;
	int nl, nr;

	nl = cached_pfns(libc_path(), libc, ARRAY_SIZE(libc));
	nr = cached_pfns(ROOT_FILE, root, FILE_PAGES);
	ASSERT_LT(0, nl);
	ASSERT_EQ(FILE_PAGES, nr);
	cow = pagemap_pfn(r->child, r->cow);
	own = pagemap_pfn(r->child, r->own);
	ASSERT_NE(0, cow);
	ASSERT_NE(0, own);
	ASSERT_EQ(cow, pagemap_pfn(r->parent, r->cow)) TH_LOG("the page is not shared");

	EXPECT_EQ(0, covered_of(e, libc, nl))
		TH_LOG("%s: frames of the C library's page cache are published", what);
	EXPECT_EQ(0, covered_of(e, root, nr))
		TH_LOG("%s: frames of root's file (mapped, spliced) are published", what);
	EXPECT_EQ(0, covered_of(e, &cow, 1))
		TH_LOG("%s: the page shared with the parent is published", what);
	EXPECT_EQ(1, covered_of(e, &own, 1))
		TH_LOG("%s: the process's own memory is not published", what);
	expect_messages_left_out(_metadata, e, what);
}

TEST_F(owned, unprivileged_exclusion_publishes_only_its_own)
{
	struct veil_extents e;

	ASSERT_EQ(0, veil_get_extents(self->fd, &e));
	check_set(_metadata, &self->r, &e, "dry run");
	EXPECT_LT(0, e.hdr.shared_pages) TH_LOG("nothing reported as shared, not protected");
	EXPECT_LE(FILE_PAGES, e.hdr.pages[VEIL_GUEST_CAT_FILE])
		TH_LOG("the user's own file is not collected");
	free(e.ext);
}

TEST_F(owned, prepare_evicts_only_the_users_own_file)
{
	struct veil_guest_status st;
	struct veil_extents e;
	int libc_before = resident(libc_path());

	ASSERT_EQ(FILE_PAGES, resident(USER_FILE));
	ASSERT_EQ(FILE_PAGES, resident(ROOT_FILE));
	ASSERT_EQ(0, veil_request(self->fd, VEIL_REQ_PREPARE, &st));
	ASSERT_EQ(0, st.last_error);
	EXPECT_EQ(0, resident(USER_FILE))
		TH_LOG("the user's own file is still in the page cache after PREPARE");
	EXPECT_EQ(FILE_PAGES, resident(ROOT_FILE))
		TH_LOG("an unprivileged exclusion took root's file out of the page cache");
	EXPECT_LE(libc_before, resident(libc_path()))
		TH_LOG("an unprivileged exclusion took the C library out of the page cache");
	e.hdr.size = 0;
	memset(&e, 0, sizeof(e));
	e.ext = calloc(1 << 16, sizeof(*e.ext));
	ASSERT_NE(NULL, e.ext);
	e.hdr.size = sizeof(e.hdr);
	e.hdr.flags = VEIL_GUEST_EXT_PUBLISHED;
	e.hdr.nr_extents = 1 << 16;
	e.hdr.extents = (uintptr_t)e.ext;
	ASSERT_EQ(0, ioctl(self->fd, VEIL_GUEST_IOC_EXTENTS, &e.hdr));
	ASSERT_GE(1 << 16, e.hdr.total);
	check_set(_metadata, &self->r, &e, "published");
	free(e.ext);
	ASSERT_EQ(0, veil_request(self->fd, VEIL_REQ_THAW, &st));
}

/*
 * A guest restored from a checkpoint: the excluded child is killed, and
 * what waits in root's pipe and socket pair, which it inherited, is left
 * there (not emptied or taken back as the child's own would be), and
 * root's TCP connection is not reset.
 */
TEST_F(owned, restore_leaves_roots_pipe_and_socket_alone)
{
	uint8_t text[VEIL_GUEST_PATTERN_LEN];
	struct veil_guest_status st;
	socklen_t len = sizeof(int);
	int err = -1;

	ASSERT_EQ(0, veil_request(self->fd, VEIL_REQ_PREPARE, &st));
	ASSERT_EQ(0, st.last_error);
	ASSERT_EQ(0, veil_host_write(self->fd, VEIL_GUEST_HW_STATE, VEIL_STATE_SANITIZED, 0, NULL));
	EXPECT_TRUE(exited(self->r.child)) TH_LOG("the excluded child was not killed");
	ASSERT_EQ(0, veil_host_write(self->fd, VEIL_GUEST_HW_STATE, VEIL_STATE_RUNNING, 0, NULL));
	ASSERT_EQ(0, fcntl(self->rp[0], F_SETFL, O_NONBLOCK));
	ASSERT_EQ(0, fcntl(self->rs[1], F_SETFL, O_NONBLOCK));
	EXPECT_EQ(sizeof(text), read(self->rp[0], text, sizeof(text)))
		TH_LOG("root's pipe was emptied");
	EXPECT_EQ(sizeof(text), read(self->rs[1], text, sizeof(text)))
		TH_LOG("what root's socket had received was taken back");
	explicit_bzero(text, sizeof(text));
	ASSERT_EQ(0, getsockopt(self->rt[1], SOL_SOCKET, SO_ERROR, &err, &len));
	EXPECT_EQ(0, err) TH_LOG("root's TCP connection was reset: %s", strerror(err));
}

TEST_HARNESS_MAIN
