// SPDX-License-Identifier: GPL-2.0
/*
 * Selection through /dev/veil-guest: exclusion by PID (with and without
 * descendants) and by command name, the list and status views, and every
 * bad request refused with a precise error that changes nothing.
 */
#include <sys/prctl.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "veil_test.h"

FIXTURE(sel) {
	int fd;
};

FIXTURE_SETUP(sel)
{
	int err = veil_load();

	if (err)
		SKIP(return, "cannot load " VEIL_KO ": %s", strerror(-err));
	self->fd = veil_dev_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", VEIL_DEV, strerror(errno));
}

FIXTURE_TEARDOWN(sel)
{
	close(self->fd);
}

static pid_t sleeper(void)
{
	pid_t pid = fork();

	if (!pid) {
		for (;;)
			pause();
	}
	return pid;
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static uint64_t nr_entries(struct __test_metadata *_metadata, int fd)
{
	struct veil_guest_status st = { .size = sizeof(st) };

	EXPECT_EQ(0, ioctl(fd, VEIL_GUEST_IOC_STATUS, &st));
	EXPECT_TRUE(st.flags & VEIL_GUEST_ST_TEST_HOOKS);
	return st.nr_entries;
}

/* Processes the selection names now, through the dry-run extents' owner list. */
static int list_entry(int fd, int pid, struct veil_guest_entry *out)
{
	struct veil_guest_entry ent[16];
	struct veil_guest_list l = {
		.size = sizeof(l), .entry_size = sizeof(ent[0]), .nr_entries = 16,
	};
	uint64_t i;

	l.entries = (uintptr_t)ent;
	if (ioctl(fd, VEIL_GUEST_IOC_LIST, &l))
		return -errno;
	for (i = 0; i < l.nr_entries; i++) {
		if (ent[i].kind == VEIL_GUEST_SEL_PID && ent[i].pid == pid) {
			*out = ent[i];
			return 0;
		}
	}
	return -ENOENT;
}

TEST_F(sel, exclude_list_include_by_pid)
{
	struct veil_guest_entry ent;
	uint64_t before = nr_entries(_metadata, self->fd);
	pid_t pid = sleeper();

	ASSERT_LT(0, pid);
	ASSERT_EQ(0, veil_exclude_pid(self->fd, pid, 0));
	EXPECT_EQ(before + 1, nr_entries(_metadata, self->fd));
	ASSERT_EQ(0, list_entry(self->fd, pid, &ent));
	EXPECT_EQ(1, ent.nr_tasks);
	EXPECT_LT(0, ent.pages[VEIL_GUEST_CAT_ANON]);
	EXPECT_LT(0, ent.pages[VEIL_GUEST_CAT_STACK]);
	EXPECT_EQ(-EEXIST, veil_exclude_pid(self->fd, pid, 0));
	EXPECT_EQ(0, veil_include_pid(self->fd, pid));
	EXPECT_EQ(before, nr_entries(_metadata, self->fd));
	EXPECT_EQ(-ENOENT, veil_include_pid(self->fd, pid));
	EXPECT_EQ(-ENOENT, list_entry(self->fd, pid, &ent));
	reap(pid);
}

/*
 * LIST writes entries of the size the caller names, each version a prefix
 * of the next: 336 bytes (entry_size 0), 344 (shared_pages) and 352
 * (kernel_pages), and not one byte past them; any other size is refused.
 */
TEST_F(sel, list_entries_of_every_version_size)
{
	static const uint32_t sizes[] = { 0, VEIL_GUEST_ENTRY_SIZE_V2, VEIL_GUEST_ENTRY_SIZE };
	uint8_t buf[2 * sizeof(struct veil_guest_entry)];
	struct veil_guest_entry ent;
	struct veil_guest_list l;
	uint32_t stride;
	uint64_t i, total;
	size_t k, b;
	pid_t pid = sleeper();

	ASSERT_LT(0, pid);
	ASSERT_EQ(0, veil_exclude_pid(self->fd, pid, 0));
	total = nr_entries(_metadata, self->fd);
	ASSERT_LE(1, total);
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		stride = sizes[k] ? sizes[k] : VEIL_GUEST_ENTRY_SIZE_V1;
		memset(buf, 0xa5, sizeof(buf));
		l = (struct veil_guest_list){
			.size = sizeof(l), .entry_size = sizes[k], .nr_entries = 1,
			.entries = (uintptr_t)buf,
		};
		ASSERT_EQ(0, ioctl(self->fd, VEIL_GUEST_IOC_LIST, &l))
			TH_LOG("entry_size %u: %s", sizes[k], strerror(errno));
		ASSERT_EQ(1, l.nr_entries);
		EXPECT_EQ(total, l.total);
		for (b = stride; b < sizeof(buf); b++)
			if (buf[b] != 0xa5)
				break;
		EXPECT_EQ(sizeof(buf), b)
			TH_LOG("entry_size %u: byte %zu past the entry was written", sizes[k], b);
		memset(&ent, 0, sizeof(ent));
		memcpy(&ent, buf, stride);
		EXPECT_LT(0, ent.nr_tasks);
		if (stride == VEIL_GUEST_ENTRY_SIZE) {
			EXPECT_NE(0xa5a5a5a5a5a5a5a5ULL, ent.kernel_pages);
		}
	}
	for (i = 0; i < 3; i++) {
		static const uint32_t bad[] = { 8, VEIL_GUEST_ENTRY_SIZE + 8, VEIL_GUEST_ENTRY_SIZE_V1 + 4 };

		l = (struct veil_guest_list){
			.size = sizeof(l), .entry_size = bad[i], .nr_entries = 1,
			.entries = (uintptr_t)buf,
		};
		EXPECT_EQ(-1, ioctl(self->fd, VEIL_GUEST_IOC_LIST, &l));
		EXPECT_EQ(EINVAL, errno) TH_LOG("entry_size %u accepted", bad[i]);
	}
	EXPECT_EQ(0, veil_include_pid(self->fd, pid));
	reap(pid);
}

TEST_F(sel, children_covers_descendants_forked_later)
{
	struct veil_guest_entry ent;
	int go[2];
	pid_t pid;
	char b;

	ASSERT_EQ(0, pipe(go));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		/* Forks two children (one grandchild) once told to. */
		setpgid(0, 0);
		if (read(go[0], &b, 1) != 1)
			_exit(2);
		if (!fork()) {
			if (!fork())
				for (;;)
					pause();
			for (;;)
				pause();
		}
		for (;;)
			pause();
	}
	ASSERT_EQ(0, veil_exclude_pid(self->fd, pid, VEIL_GUEST_SEL_CHILDREN));
	ASSERT_EQ(0, list_entry(self->fd, pid, &ent));
	EXPECT_EQ(1, ent.nr_tasks);
	EXPECT_EQ(VEIL_GUEST_SEL_CHILDREN, ent.flags);
	ASSERT_EQ(1, write(go[1], "g", 1));
	usleep(300 * 1000);
	ASSERT_EQ(0, list_entry(self->fd, pid, &ent));
	EXPECT_EQ(3, ent.nr_tasks);
	EXPECT_EQ(0, veil_include_pid(self->fd, pid));
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

TEST_F(sel, exclude_by_command_name)
{
	struct veil_guest_entry ent[16];
	struct veil_guest_list l = {
		.size = sizeof(l), .entry_size = sizeof(ent[0]), .nr_entries = 16,
	};
	pid_t a, b;
	uint64_t i;
	int found = 0;

	a = fork();
	if (!a) {
		prctl(PR_SET_NAME, "veil-secretd");
		for (;;)
			pause();
	}
	b = fork();
	if (!b) {
		prctl(PR_SET_NAME, "veil-secretd");
		for (;;)
			pause();
	}
	usleep(100 * 1000);
	ASSERT_EQ(0, veil_select(self->fd, VEIL_GUEST_IOC_EXCLUDE, VEIL_GUEST_SEL_COMM,
				 0, 0, "veil-secretd"));
	EXPECT_EQ(-EEXIST, veil_select(self->fd, VEIL_GUEST_IOC_EXCLUDE,
				       VEIL_GUEST_SEL_COMM, 0, 0, "veil-secretd"));
	l.entries = (uintptr_t)ent;
	ASSERT_EQ(0, ioctl(self->fd, VEIL_GUEST_IOC_LIST, &l));
	for (i = 0; i < l.nr_entries; i++) {
		if (ent[i].kind != VEIL_GUEST_SEL_COMM)
			continue;
		EXPECT_STREQ("veil-secretd", ent[i].name);
		EXPECT_EQ(2, ent[i].nr_tasks);
		EXPECT_LT(0, ent[i].pages[VEIL_GUEST_CAT_ANON]);
		found++;
	}
	EXPECT_EQ(1, found);
	EXPECT_EQ(0, veil_select(self->fd, VEIL_GUEST_IOC_INCLUDE, VEIL_GUEST_SEL_COMM,
				 0, 0, "veil-secretd"));
	EXPECT_EQ(-ENAMETOOLONG, veil_select(self->fd, VEIL_GUEST_IOC_EXCLUDE,
					     VEIL_GUEST_SEL_COMM, 0, 0,
					     "a-name-longer-than-comm"));
	EXPECT_EQ(-EINVAL, veil_select(self->fd, VEIL_GUEST_IOC_EXCLUDE,
				       VEIL_GUEST_SEL_COMM, 0, 0, ""));
	reap(a);
	reap(b);
}

static int cgroup_entry(int fd, struct veil_guest_entry *out)
{
	struct veil_guest_entry ent[16];
	struct veil_guest_list l = {
		.size = sizeof(l), .entry_size = sizeof(ent[0]), .nr_entries = 16,
	};
	uint64_t i;

	l.entries = (uintptr_t)ent;
	if (ioctl(fd, VEIL_GUEST_IOC_LIST, &l))
		return -errno;
	for (i = 0; i < l.nr_entries; i++) {
		if (ent[i].kind == VEIL_GUEST_SEL_CGROUP) {
			*out = ent[i];
			return 0;
		}
	}
	return -ENOENT;
}

TEST_F(sel, exclude_by_cgroup_covers_processes_joining_later)
{
	const char *dir = "/sys/fs/cgroup/veil-sel";
	struct veil_guest_entry ent;
	char num[32];
	pid_t a, b;

	if (access("/sys/fs/cgroup/cgroup.procs", F_OK))
		SKIP(return, "no cgroup v2 hierarchy at /sys/fs/cgroup");
	ASSERT_EQ(0, mkdir(dir, 0755)) TH_LOG("mkdir %s: %s", dir, strerror(errno));
	a = sleeper();
	b = sleeper();
	snprintf(num, sizeof(num), "%d", a);
	ASSERT_EQ(0, veil_write_str("/sys/fs/cgroup/veil-sel/cgroup.procs", num));
	ASSERT_EQ(0, veil_select(self->fd, VEIL_GUEST_IOC_EXCLUDE, VEIL_GUEST_SEL_CGROUP,
				 0, 0, "/veil-sel"));
	EXPECT_EQ(-EEXIST, veil_select(self->fd, VEIL_GUEST_IOC_EXCLUDE,
				       VEIL_GUEST_SEL_CGROUP, 0, 0, "/veil-sel"));
	ASSERT_EQ(0, cgroup_entry(self->fd, &ent));
	EXPECT_STREQ("/veil-sel", ent.name);
	EXPECT_EQ(1, ent.nr_tasks);
	EXPECT_LT(0, ent.pages[VEIL_GUEST_CAT_ANON]);
	snprintf(num, sizeof(num), "%d", b);
	ASSERT_EQ(0, veil_write_str("/sys/fs/cgroup/veil-sel/cgroup.procs", num));
	ASSERT_EQ(0, cgroup_entry(self->fd, &ent));
	EXPECT_EQ(2, ent.nr_tasks);
	EXPECT_EQ(0, veil_select(self->fd, VEIL_GUEST_IOC_INCLUDE, VEIL_GUEST_SEL_CGROUP,
				 0, 0, "/veil-sel"));
	EXPECT_EQ(-ENOENT, cgroup_entry(self->fd, &ent));
	reap(a);
	reap(b);
	usleep(100 * 1000);
	EXPECT_EQ(0, rmdir(dir));
}

TEST_F(sel, bad_requests_refused)
{
	struct veil_guest_select s = { .size = sizeof(s) - 1,
				       .kind = VEIL_GUEST_SEL_PID };
	uint64_t before = nr_entries(_metadata, self->fd);
	pid_t dead = sleeper();

	ASSERT_LT(0, dead);
	reap(dead);
	EXPECT_EQ(-ESRCH, veil_exclude_pid(self->fd, dead, 0)) TH_LOG("nonexistent PID");
	EXPECT_EQ(-EINVAL, veil_exclude_pid(self->fd, 2, 0)) TH_LOG("kthreadd");
	EXPECT_EQ(-EINVAL, veil_exclude_pid(self->fd, 1, 0)) TH_LOG("PID 1");
	EXPECT_EQ(-EINVAL, veil_exclude_pid(self->fd, 0, 0));
	EXPECT_EQ(-EINVAL, veil_exclude_pid(self->fd, -5, 0));
	EXPECT_EQ(-EINVAL, veil_exclude_pid(self->fd, getpid(), 0x80));
	EXPECT_EQ(-EINVAL, veil_select(self->fd, VEIL_GUEST_IOC_EXCLUDE, 99, 0,
				       getpid(), NULL));
	EXPECT_EQ(-ENOENT, veil_select(self->fd, VEIL_GUEST_IOC_EXCLUDE,
				       VEIL_GUEST_SEL_CGROUP, 0, 0, "/no-such-cgroup"));
	EXPECT_EQ(-EINVAL, veil_select(self->fd, VEIL_GUEST_IOC_EXCLUDE,
				       VEIL_GUEST_SEL_CGROUP, 0, 0, "relative"));
	s.pid = getpid();
	EXPECT_EQ(-1, ioctl(self->fd, VEIL_GUEST_IOC_EXCLUDE, &s));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->fd, _IO(VEIL_IOC_MAGIC, 0x7f), 0));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(before, nr_entries(_metadata, self->fd));
}

/*
 * Any user may add entries, so there are at most max_entries; the entries
 * of exited processes are dropped to make room, then ENOSPC.
 */
TEST_F(sel, entries_are_capped_and_exited_ones_make_room)
{
	pid_t a = sleeper(), b = sleeper(), c = sleeper();
	uint64_t live;
	char cap[24];

	ASSERT_LT(0, a);
	ASSERT_LT(0, b);
	ASSERT_LT(0, c);
	/* With no room at all, every exited entry goes and nothing is added. */
	ASSERT_EQ(0, veil_param("max_entries", "0"));
	EXPECT_EQ(-ENOSPC, veil_exclude_pid(self->fd, a, 0));
	live = nr_entries(_metadata, self->fd);
	snprintf(cap, sizeof(cap), "%llu", (unsigned long long)live + 2);
	EXPECT_EQ(0, veil_param("max_entries", cap));
	EXPECT_EQ(0, veil_exclude_pid(self->fd, a, 0));
	EXPECT_EQ(0, veil_exclude_pid(self->fd, b, 0));
	EXPECT_EQ(-ENOSPC, veil_exclude_pid(self->fd, c, 0));
	EXPECT_EQ(live + 2, nr_entries(_metadata, self->fd));
	/* a exits: its entry stays until room is needed, then makes it. */
	reap(a);
	EXPECT_EQ(live + 2, nr_entries(_metadata, self->fd));
	EXPECT_EQ(0, veil_exclude_pid(self->fd, c, 0));
	EXPECT_EQ(live + 2, nr_entries(_metadata, self->fd));
	EXPECT_EQ(0, veil_param("max_entries", "1024"));
	EXPECT_EQ(0, veil_include_pid(self->fd, b));
	EXPECT_EQ(0, veil_include_pid(self->fd, c));
	EXPECT_EQ(live, nr_entries(_metadata, self->fd));
	reap(b);
	reap(c);
}

/*
 * The entries of exited processes, which no PID names any more, go with an
 * INCLUDE of VEIL_GUEST_SEL_EXITED: root's to ask, and only those go.
 */
TEST_F(sel, include_exited_drops_only_exited_entries)
{
	pid_t gone = sleeper(), live = sleeper(), pid;
	struct veil_guest_entry ent;
	uint64_t before;
	int status;

	ASSERT_LT(0, gone);
	ASSERT_LT(0, live);
	/* (what earlier tests left exited goes first) */
	veil_select(self->fd, VEIL_GUEST_IOC_INCLUDE, VEIL_GUEST_SEL_EXITED, 0, 0, NULL);
	before = nr_entries(_metadata, self->fd);
	ASSERT_EQ(0, veil_exclude_pid(self->fd, gone, 0));
	ASSERT_EQ(0, veil_exclude_pid(self->fd, live, 0));
	reap(gone);
	EXPECT_EQ(-ESRCH, veil_include_pid(self->fd, gone));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (setgid(65534) || setuid(65534))
			_exit(10);
		_exit(veil_select(self->fd, VEIL_GUEST_IOC_INCLUDE, VEIL_GUEST_SEL_EXITED,
				  0, 0, NULL) == -EPERM ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("an unprivileged caller was not refused EPERM");
	EXPECT_EQ(-EINVAL, veil_select(self->fd, VEIL_GUEST_IOC_INCLUDE,
				       VEIL_GUEST_SEL_EXITED, 0, live, NULL));
	EXPECT_EQ(-EINVAL, veil_select(self->fd, VEIL_GUEST_IOC_INCLUDE, VEIL_GUEST_SEL_EXITED,
				       VEIL_GUEST_SEL_CHILDREN, 0, NULL));
	EXPECT_EQ(-EINVAL, veil_select(self->fd, VEIL_GUEST_IOC_INCLUDE,
				       VEIL_GUEST_SEL_EXITED, 0, 0, "x"));
	EXPECT_EQ(-EINVAL, veil_select(self->fd, VEIL_GUEST_IOC_EXCLUDE,
				       VEIL_GUEST_SEL_EXITED, 0, 0, NULL));
	EXPECT_EQ(before + 2, nr_entries(_metadata, self->fd));
	EXPECT_EQ(0, veil_select(self->fd, VEIL_GUEST_IOC_INCLUDE,
				 VEIL_GUEST_SEL_EXITED, 0, 0, NULL));
	EXPECT_EQ(before + 1, nr_entries(_metadata, self->fd));
	EXPECT_EQ(0, list_entry(self->fd, live, &ent)) TH_LOG("the live entry went too");
	EXPECT_EQ(-ENOENT, veil_select(self->fd, VEIL_GUEST_IOC_INCLUDE,
				       VEIL_GUEST_SEL_EXITED, 0, 0, NULL));
	EXPECT_EQ(0, veil_include_pid(self->fd, live));
	reap(live);
}

/* An unprivileged user: its own processes yes, root's no, no test hooks. */
TEST_F(sel, unprivileged_user_only_own_processes)
{
	pid_t root_pid = sleeper(), nobody_pid, pid;
	int status;

	ASSERT_LT(0, root_pid);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct veil_extents e;
		int rc = 0;

		if (setgid(65534) || setuid(65534))
			_exit(10);
		/* As after an exec: changing uid made this mm non-dumpable. */
		prctl(PR_SET_DUMPABLE, 1);
		nobody_pid = sleeper();
		if (veil_exclude_pid(self->fd, root_pid, 0) != -EPERM)
			rc |= 1;
		if (veil_exclude_pid(self->fd, nobody_pid, 0) != 0)
			rc |= 2;
		if (veil_include_pid(self->fd, nobody_pid) != 0)
			rc |= 4;
		if (veil_get_extents(self->fd, &e) != -EPERM)
			rc |= 8;
		if (veil_select(self->fd, VEIL_GUEST_IOC_EXCLUDE, VEIL_GUEST_SEL_COMM,
				0, 0, "sh") != -EPERM)
			rc |= 16;
		reap(nobody_pid);
		_exit(rc);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status))
		TH_LOG("failed checks mask %d (1 root's process, 2 own exclude, 4 own include, 8 test hook, 16 comm)",
		       WEXITSTATUS(status));
	reap(root_pid);
}

/*
 * An entry root made is root's to remove: the user whose process it names
 * may not include that process again (its secrets would go back into
 * checkpoints against root's word), and the entry stays.
 */
TEST_F(sel, unprivileged_user_cannot_include_what_root_excluded)
{
	int ready[2], status;
	pid_t victim, pid;
	char c;

	ASSERT_EQ(0, pipe(ready));
	victim = fork();
	ASSERT_LE(0, victim);
	if (!victim) {
		/* (dumpable again, as after an exec: its user may select it) */
		if (setgid(65534) || setuid(65534) || prctl(PR_SET_DUMPABLE, 1) ||
		    write(ready[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	ASSERT_EQ(1, read(ready[0], &c, 1));
	ASSERT_EQ(0, veil_exclude_pid(self->fd, victim, 0));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (setgid(65534) || setuid(65534))
			_exit(10);
		prctl(PR_SET_DUMPABLE, 1);
		_exit(-veil_include_pid(self->fd, victim));
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(EPERM, WEXITSTATUS(status))
		TH_LOG("its user's include answered %d, not EPERM", WEXITSTATUS(status));
	EXPECT_EQ(0, veil_include_pid(self->fd, victim)) TH_LOG("root's entry did not stay");
	reap(victim);
	close(ready[0]);
	close(ready[1]);
}

TEST_HARNESS_MAIN
