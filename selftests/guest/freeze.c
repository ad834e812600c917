// SPDX-License-Identifier: GPL-2.0
/*
 * PREPARE and THAW driven through the control page as a host would (the
 * HOST_WRITE test hook): an excluded task's counter stops between PREPARE
 * and THAW while others keep moving, its parent sees no stop; the guest
 * thaws by itself after thaw_timeout_ms; PREPARE takes the page cache of
 * its files on disk out of the page cache; a restore from a sanitized
 * checkpoint kills the frozen excluded task and flushes its TTY;
 * unloading the module while tasks are frozen thaws them first.
 */
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>

#include "kselftest_harness.h"
#include "veil_test.h"

struct counters {
	volatile unsigned long n[3];
};

static struct counters *cnt;

static pid_t counter_child(int i)
{
	pid_t pid = fork();

	if (!pid)
		for (;;)
			cnt->n[i]++;
	return pid;
}

static unsigned long moved(int i, int ms)
{
	unsigned long a = cnt->n[i];

	usleep(ms * 1000);
	return cnt->n[i] - a;
}

FIXTURE(freeze) {
	int fd;
	pid_t excluded, other;
};

FIXTURE_SETUP(freeze)
{
	int err = veil_load();

	if (err)
		SKIP(return, "cannot load " VEIL_KO ": %s", strerror(-err));
	if (!cnt) {
		cnt = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(MAP_FAILED, cnt);
	}
	self->excluded = counter_child(0);
	self->other = counter_child(1);
	ASSERT_LT(0, self->excluded);
	ASSERT_LT(0, self->other);
	/* Opened after the fork: the children hold no reference to the module. */
	self->fd = veil_dev_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, veil_exclude_pid(self->fd, self->excluded, 0));
	ASSERT_LT(0, moved(0, 100));
}

FIXTURE_TEARDOWN(freeze)
{
	int fd = veil_dev_open();

	if (fd >= 0) {
		veil_include_pid(fd, self->excluded);
		close(fd);
	}
	kill(self->excluded, SIGKILL);
	kill(self->other, SIGKILL);
	waitpid(self->excluded, NULL, 0);
	waitpid(self->other, NULL, 0);
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(freeze, excluded_counter_stops_between_prepare_and_thaw)
{
	struct veil_guest_status st;
	int status_;

	ASSERT_EQ(0, veil_request(self->fd, VEIL_REQ_PREPARE, &st));
	EXPECT_EQ(0, st.last_error);
	EXPECT_LE(1, st.frozen);
	EXPECT_LT(0, st.published_pages);
	EXPECT_EQ(0, moved(0, 300)) TH_LOG("the excluded task ran while frozen");
	EXPECT_LT(0, moved(1, 300)) TH_LOG("a task that is not excluded stopped");
	/* The parent sees no stop and no exit. */
	EXPECT_EQ(0, waitpid(self->excluded, &status_, WNOHANG | WUNTRACED));
	ASSERT_EQ(0, veil_request(self->fd, VEIL_REQ_THAW, &st));
	EXPECT_LT(0, moved(0, 300)) TH_LOG("the excluded task did not resume after THAW");
	EXPECT_EQ(0, st.frozen);
}

TEST_F(freeze, blocked_syscall_parks_and_restarts)
{
	struct veil_guest_status st;
	int in[2], out[2];
	pid_t echo;
	char b;

	ASSERT_EQ(0, pipe(in));
	ASSERT_EQ(0, pipe(out));
	echo = fork();
	ASSERT_LE(0, echo);
	if (!echo) {
		while (read(in[0], &b, 1) == 1)
			if (write(out[1], &b, 1) != 1)
				_exit(1);
		_exit(0);
	}
	ASSERT_EQ(0, veil_exclude_pid(self->fd, echo, 0));
	ASSERT_EQ(1, write(in[1], "a", 1));
	ASSERT_EQ(1, read(out[0], &b, 1));
	ASSERT_EQ(0, veil_request(self->fd, VEIL_REQ_PREPARE, &st));
	EXPECT_EQ(0, st.last_error) TH_LOG("a task blocked in read() did not park");
	ASSERT_EQ(1, write(in[1], "b", 1));
	ASSERT_EQ(0, fcntl(out[0], F_SETFL, O_NONBLOCK));
	usleep(300 * 1000);
	EXPECT_EQ(-1, read(out[0], &b, 1)) TH_LOG("the frozen task answered");
	ASSERT_EQ(0, veil_request(self->fd, VEIL_REQ_THAW, &st));
	ASSERT_EQ(0, fcntl(out[0], F_SETFL, 0));
	ASSERT_EQ(1, read(out[0], &b, 1));
	EXPECT_EQ('b', b);
	veil_include_pid(self->fd, echo);
	kill(echo, SIGKILL);
	waitpid(echo, NULL, 0);
}

TEST_F(freeze, thaws_by_itself_after_timeout)
{
	struct veil_guest_status st;
	__u32 auto_thaws;

	ASSERT_EQ(0, veil_param("thaw_timeout_ms", "700"));
	ASSERT_EQ(0, veil_request(self->fd, VEIL_REQ_PREPARE, &st));
	auto_thaws = st.auto_thaws;
	EXPECT_EQ(0, moved(0, 200));
	usleep(1500 * 1000);
	EXPECT_LT(0, moved(0, 300)) TH_LOG("still frozen after thaw_timeout_ms");
	ASSERT_EQ(0, veil_status(self->fd, &st));
	EXPECT_EQ(auto_thaws + 1, st.auto_thaws);
	EXPECT_EQ(0, st.frozen);
	ASSERT_EQ(0, veil_param("thaw_timeout_ms", "30000"));
}

TEST_F(freeze, restore_from_sanitized_kills_excluded_task)
{
	struct veil_guest_status st;
	__u64 restores;
	int i, status_ = 0;
	pid_t got = 0;

	ASSERT_EQ(0, veil_request(self->fd, VEIL_REQ_PREPARE, &st));
	restores = st.restores;
	ASSERT_EQ(0, veil_host_write(self->fd, VEIL_GUEST_HW_STATE, VEIL_STATE_SANITIZED, 0, NULL));
	for (i = 0; i < 500 && !got; i++) {
		got = waitpid(self->excluded, &status_, WNOHANG);
		usleep(10 * 1000);
	}
	ASSERT_EQ(self->excluded, got) TH_LOG("the excluded task was not killed");
	EXPECT_TRUE(WIFSIGNALED(status_) && WTERMSIG(status_) == SIGKILL);
	EXPECT_LT(0, moved(1, 200)) TH_LOG("a task that is not excluded was hit");
	ASSERT_EQ(0, veil_status(self->fd, &st));
	EXPECT_EQ(restores + 1, st.restores);
	EXPECT_EQ(0, st.frozen);
	ASSERT_EQ(0, veil_host_write(self->fd, VEIL_GUEST_HW_STATE, VEIL_STATE_RUNNING, 0, NULL));
	self->excluded = counter_child(0);	/* for the teardown */
}

/*
 * With dontdump=1, a process that owns a MADV_DONTDUMP area is frozen at
 * PREPARE with the excluded ones and, after a restore, killed with them
 * instead of running on with that area zeroed.  Others run on.  @off: the
 * switch is turned off between PREPARE and the restore; the area is zeros
 * in that checkpoint all the same.
 */
static void dontdump_owner_killed(struct __test_metadata *_metadata,
				  FIXTURE_DATA(freeze) *self, bool off)
{
	struct veil_guest_status st;
	int i, status_ = 0;
	pid_t owner, got = 0;

	owner = fork();
	if (!owner) {
		char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED || madvise(p, 4096, MADV_DONTDUMP))
			_exit(1);
		memset(p, 0x5a, 4096);
		for (;;)
			cnt->n[2]++;
	}
	ASSERT_LT(0, owner);
	ASSERT_LT(0, moved(2, 200)) TH_LOG("the owner of the area does not run");
	ASSERT_EQ(0, veil_param("dontdump", "Y"));
	EXPECT_EQ(0, veil_request(self->fd, VEIL_REQ_PREPARE, &st));
	EXPECT_LE(2, st.frozen);
	EXPECT_EQ(0, moved(2, 300)) TH_LOG("the owner of a dontdump area ran while frozen");
	EXPECT_LT(0, moved(1, 300)) TH_LOG("a task that is not excluded stopped");
	if (off)
		ASSERT_EQ(0, veil_param("dontdump", "N"));
	EXPECT_EQ(0, veil_host_write(self->fd, VEIL_GUEST_HW_STATE, VEIL_STATE_SANITIZED, 0, NULL));
	for (i = 0; i < 500 && !got; i++) {
		got = waitpid(owner, &status_, WNOHANG);
		usleep(10 * 1000);
	}
	veil_param("dontdump", "N");
	EXPECT_EQ(owner, got) TH_LOG("the owner of a dontdump area was not killed");
	EXPECT_TRUE(WIFSIGNALED(status_) && WTERMSIG(status_) == SIGKILL);
	EXPECT_LT(0, moved(1, 200)) TH_LOG("a task that is not excluded was hit");
	ASSERT_EQ(0, veil_host_write(self->fd, VEIL_GUEST_HW_STATE, VEIL_STATE_RUNNING, 0, NULL));
	if (got != owner) {
		kill(owner, SIGKILL);
		waitpid(owner, NULL, 0);
	}
	waitpid(self->excluded, NULL, 0);
	self->excluded = counter_child(0);	/* for the teardown */
}

TEST_F(freeze, dontdump_owner_frozen_and_killed_at_restore)
{
	dontdump_owner_killed(_metadata, self, false);
}

TEST_F(freeze, dontdump_owner_killed_at_restore_with_the_switch_off_meanwhile)
{
	dontdump_owner_killed(_metadata, self, true);
}

/* A pty whose master is held here and whose slave an excluded child wrote to. */
TEST_F(freeze, restore_flushes_excluded_tty)
{
	struct veil_guest_status st;
	int m, unlock = 0, n, queued = -1;
	char path[64], b;
	pid_t child;
	int done[2];

	if (access("/dev/pts/ptmx", F_OK)) {
		mkdir("/dev/pts", 0755);
		ASSERT_EQ(0, mount("devpts", "/dev/pts", "devpts", 0, "ptmxmode=0666"));
	}
	m = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_NONBLOCK);
	ASSERT_LE(0, m);
	ASSERT_EQ(0, ioctl(m, TIOCSPTLCK, &unlock));
	ASSERT_EQ(0, ioctl(m, TIOCGPTN, &n));
	snprintf(path, sizeof(path), "/dev/pts/%d", n);
	ASSERT_EQ(0, pipe(done));
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		int sl = open(path, O_RDWR | O_NOCTTY);

		close(m);
		if (sl < 0 || write(sl, "written by an excluded process\n", 31) != 31)
			_exit(1);
		if (write(done[1], "w", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	ASSERT_EQ(1, read(done[0], &b, 1));
	ASSERT_EQ(0, veil_exclude_pid(self->fd, child, 0));
	usleep(200 * 1000);
	ASSERT_EQ(0, ioctl(m, FIONREAD, &queued));
	ASSERT_LT(0, queued) TH_LOG("nothing queued on the master before the restore");
	ASSERT_EQ(0, veil_request(self->fd, VEIL_REQ_PREPARE, &st));
	ASSERT_EQ(0, veil_host_write(self->fd, VEIL_GUEST_HW_STATE, VEIL_STATE_SANITIZED, 0, NULL));
	ASSERT_EQ(child, waitpid(child, NULL, 0));
	usleep(100 * 1000);
	queued = -1;
	if (ioctl(m, FIONREAD, &queued))
		queued = 0;	/* hung up and empty */
	EXPECT_EQ(0, queued) TH_LOG("%d bytes of the killed process still queued", queued);
	EXPECT_EQ(-1, read(m, &b, 1)) TH_LOG("the master still reads data");
	ASSERT_EQ(0, veil_host_write(self->fd, VEIL_GUEST_HW_STATE, VEIL_STATE_RUNNING, 0, NULL));
	veil_include_pid(self->fd, child);
	close(m);
}

/* Pages of the file at path resident in the page cache, by mincore(). */
static long resident(const char *path)
{
	int fd = open(path, O_RDONLY);
	unsigned char vec[64];
	struct stat sb;
	long n = 0;
	size_t i;
	void *p;

	if (fd < 0 || fstat(fd, &sb) || sb.st_size > (off_t)sizeof(vec) * 4096)
		return -1;
	p = mmap(NULL, sb.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED || mincore(p, sb.st_size, vec))
		return -1;
	for (i = 0; i < (size_t)(sb.st_size + 4095) / 4096; i++)
		n += vec[i] & 1;
	munmap(p, sb.st_size);
	return n;
}

#define DISK_IMG	"/tmp/veil-disk.img"
#define DISK_FILE	"/mnt/veil-disk/data"
#define DISK_SETUP	"mkdir -p /mnt/veil-disk && " \
			"dd if=/dev/zero of=" DISK_IMG " bs=1M count=8 2>/dev/null && " \
			"losetup /dev/loop0 " DISK_IMG " && " \
			"mkfs.ext4 -q /dev/loop0 && mount -t ext4 /dev/loop0 /mnt/veil-disk"
#define DISK_TEARDOWN	"umount /mnt/veil-disk; losetup -d /dev/loop0; rm -f " DISK_IMG
#define TMPFS_FILE	"/tmp/veil-tmpfs-data"

static int write_file(const char *path, int pages)
{
	char buf[4096];
	int fd, i, ok = 1;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	for (i = 0; i < pages && ok; i++) {
		memset(buf, 'a' + i, sizeof(buf));
		ok = write(fd, buf, sizeof(buf)) == sizeof(buf);
	}
	ok = ok && !fsync(fd);
	close(fd);
	return ok ? 0 : -1;
}

/*
 * An excluded process reads a file on a disk (ext4 on a loop device) and
 * one on tmpfs.  PREPARE takes the disk file's pages, which the checkpoint
 * holds as zeros, out of the page cache before it acknowledges, so no
 * process of a restored guest can read them: reads come from the disk
 * again, before and after the restore.  The tmpfs file has no disk to
 * re-read and keeps its pages.
 */
TEST_F(freeze, prepare_takes_disk_page_cache_out_before_any_restore)
{
	struct veil_guest_status st;
	char buf[4096];
	int ready[2], fd, i, bad = 0;
	pid_t child;

	ASSERT_EQ(0, system(DISK_SETUP)) TH_LOG("cannot set up an ext4 file system on a loop device");
	ASSERT_EQ(0, write_file(DISK_FILE, 16));
	ASSERT_EQ(0, write_file(TMPFS_FILE, 4));
	ASSERT_EQ(0, pipe(ready));
	child = fork();
	if (!child) {
		int a = open(DISK_FILE, O_RDONLY), b = open(TMPFS_FILE, O_RDONLY);

		while (a >= 0 && read(a, buf, sizeof(buf)) > 0)
			;
		if (a < 0 || b < 0 || write(ready[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	ASSERT_LT(0, child);
	ASSERT_EQ(1, read(ready[0], buf, 1));
	ASSERT_EQ(0, veil_exclude_pid(self->fd, child, 0));
	EXPECT_EQ(16, resident(DISK_FILE));
	EXPECT_EQ(4, resident(TMPFS_FILE));

	ASSERT_EQ(0, veil_request(self->fd, VEIL_REQ_PREPARE, &st));
	ASSERT_EQ(0, st.last_error);
	EXPECT_EQ(0, resident(DISK_FILE))
		TH_LOG("the disk file's pages are still in the page cache after PREPARE");
	ASSERT_EQ(0, veil_host_write(self->fd, VEIL_GUEST_HW_STATE, VEIL_STATE_SANITIZED, 0, NULL));
	ASSERT_EQ(child, waitpid(child, NULL, 0));
	for (i = 0; i < 100 && resident(DISK_FILE); i++)
		usleep(10 * 1000);
	EXPECT_EQ(0, resident(DISK_FILE)) TH_LOG("the disk file's page cache was not dropped");
	EXPECT_EQ(4, resident(TMPFS_FILE)) TH_LOG("the tmpfs file lost its pages");
	fd = open(DISK_FILE, O_RDONLY);
	ASSERT_LE(0, fd);
	for (i = 0; i < 16; i++)
		bad += read(fd, buf, sizeof(buf)) != sizeof(buf) || buf[0] != 'a' + i ||
		       buf[4095] != 'a' + i;
	close(fd);
	EXPECT_EQ(0, bad) TH_LOG("%d pages read back wrong from the disk", bad);

	ASSERT_EQ(0, veil_host_write(self->fd, VEIL_GUEST_HW_STATE, VEIL_STATE_RUNNING, 0, NULL));
	veil_include_pid(self->fd, child);
	close(ready[0]);
	close(ready[1]);
	unlink(TMPFS_FILE);
	system(DISK_TEARDOWN);
}

#define DIRTY_FILE	"/mnt/veil-disk/dirty"
#define MAPPED_FILE	"/mnt/veil-disk/mapped"
#define WB_PAGES	8

/*
 * Pages' worth of the disk image filled with one of the WB_PAGES bytes from
 * c, counted by 512-byte sector (the file system's blocks may be 1 KiB).
 */
static int pages_on_disk(char c)
{
	char buf[512];
	int fd, n = 0, i;

	fd = open(DISK_IMG, O_RDONLY);
	if (fd < 0)
		return -1;
	while (read(fd, buf, sizeof(buf)) == sizeof(buf)) {
		if (buf[0] < c || buf[0] >= c + WB_PAGES)
			continue;
		for (i = 1; i < (int)sizeof(buf) && buf[i] == buf[0]; i++)
			;
		n += i == sizeof(buf);
	}
	close(fd);
	return n / (4096 / sizeof(buf));
}

static int pages_read_back(const char *path, char c)
{
	char buf[4096];
	int fd, i, good = 0;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	for (i = 0; i < WB_PAGES; i++)
		good += read(fd, buf, sizeof(buf)) == sizeof(buf) && buf[0] == c + i &&
			buf[4095] == c + i;
	close(fd);
	return good;
}

static int write_dirty_files(void)
{
	char buf[4096];
	char *p;
	int fd, i;

	/* Written, not synced, the descriptor kept. */
	fd = open(DIRTY_FILE, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	for (i = 0; fd >= 0 && i < WB_PAGES; i++) {
		memset(buf, 'P' + i, sizeof(buf));
		if (write(fd, buf, sizeof(buf)) != sizeof(buf))
			return -1;
	}
	/* Written through a shared mapping whose descriptor is closed. */
	fd = open(MAPPED_FILE, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, WB_PAGES * 4096))
		return -1;
	p = mmap(NULL, WB_PAGES * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -1;
	for (i = 0; i < WB_PAGES; i++)
		memset(p + i * 4096, 'p' + i, 4096);
	return 0;
}

static int sysctl_vm(const char *name, const char *val, char *old, size_t len)
{
	char path[96];
	int fd, r = 0;

	snprintf(path, sizeof(path), "/proc/sys/vm/%s", name);
	fd = open(path, O_RDWR);
	if (fd < 0)
		return -1;
	if (old && read(fd, old, len - 1) <= 0)
		r = -1;
	if (!r && (lseek(fd, 0, SEEK_SET) || write(fd, val, strlen(val)) < 0))
		r = -1;
	close(fd);
	return r;
}

/*
 * What an excluded process wrote and did not sync, and what it wrote
 * through a shared mapping whose descriptor it closed, reaches the disk at
 * PREPARE (the kernel's own writeback is held off for the test).  After a
 * restore from a sanitized checkpoint both files' page cache is dropped
 * and reads find that data on disk.
 */
TEST_F(freeze, prepare_writes_back_and_restore_reads_it_again)
{
	char expire[32] = "", period[32] = "", c;
	struct veil_guest_status st;
	int ready[2], i;
	pid_t child;

	ASSERT_EQ(0, system(DISK_SETUP)) TH_LOG("cannot set up an ext4 file system on a loop device");
	ASSERT_EQ(0, sysctl_vm("dirty_expire_centisecs", "360000", expire, sizeof(expire)));
	ASSERT_EQ(0, sysctl_vm("dirty_writeback_centisecs", "0", period, sizeof(period)));
	ASSERT_EQ(0, pipe(ready));
	child = fork();
	if (!child) {
		c = write_dirty_files() ? 'f' : 'r';
		if (write(ready[1], &c, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	ASSERT_LT(0, child);
	ASSERT_EQ(1, read(ready[0], &c, 1));
	EXPECT_EQ('r', c) TH_LOG("the child could not write its files");
	ASSERT_EQ(0, veil_exclude_pid(self->fd, child, 0));
	EXPECT_EQ(0, pages_on_disk('P')) TH_LOG("the written file reached the disk early");
	EXPECT_EQ(0, pages_on_disk('p')) TH_LOG("the mapped file reached the disk early");

	ASSERT_EQ(0, veil_request(self->fd, VEIL_REQ_PREPARE, &st));
	EXPECT_EQ(WB_PAGES, pages_on_disk('P')) TH_LOG("PREPARE did not write back the file");
	EXPECT_EQ(WB_PAGES, pages_on_disk('p'))
		TH_LOG("PREPARE did not write back the mapped file");
	ASSERT_EQ(0, veil_host_write(self->fd, VEIL_GUEST_HW_STATE, VEIL_STATE_SANITIZED, 0, NULL));
	ASSERT_EQ(child, waitpid(child, NULL, 0));
	for (i = 0; i < 100 && resident(DIRTY_FILE) + resident(MAPPED_FILE); i++)
		usleep(10 * 1000);
	EXPECT_EQ(0, resident(DIRTY_FILE)) TH_LOG("the written file's page cache was not dropped");
	EXPECT_EQ(0, resident(MAPPED_FILE)) TH_LOG("the mapped file's page cache was not dropped");
	EXPECT_EQ(WB_PAGES, pages_read_back(DIRTY_FILE, 'P'));
	EXPECT_EQ(WB_PAGES, pages_read_back(MAPPED_FILE, 'p'));

	ASSERT_EQ(0, veil_host_write(self->fd, VEIL_GUEST_HW_STATE, VEIL_STATE_RUNNING, 0, NULL));
	veil_include_pid(self->fd, child);
	sysctl_vm("dirty_expire_centisecs", expire, NULL, 0);
	sysctl_vm("dirty_writeback_centisecs", period, NULL, 0);
	close(ready[0]);
	close(ready[1]);
	system(DISK_TEARDOWN);
}

TEST_F(freeze, unload_while_frozen_thaws_first)
{
	struct veil_guest_status st;
	int err;

	ASSERT_EQ(0, veil_request(self->fd, VEIL_REQ_PREPARE, &st));
	EXPECT_EQ(0, moved(0, 200));
	close(self->fd);
	self->fd = -1;
	err = veil_unload();
	ASSERT_EQ(0, err) TH_LOG("rmmod: %s", strerror(err));
	EXPECT_LT(0, moved(0, 300)) TH_LOG("the task stayed frozen after unload");
	EXPECT_EQ(0, waitpid(self->excluded, NULL, WNOHANG));
	ASSERT_EQ(0, veil_load());
}

TEST_HARNESS_MAIN
