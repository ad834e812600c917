// SPDX-License-Identifier: GPL-2.0
/*
 * The files excluded processes opened and closed, which veil_guest
 * remembers (guest-kmod/recall.c): its bound, recall_max, and what happens
 * beyond it.  Each test loads the module afresh with a small bound, and
 * leaves it loaded as the other programs load it.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>

#include "kselftest_harness.h"
#include "veil_test.h"

#define RECALL_MAX	4

static int veil_load_with(const char *params)
{
	const char *dir = getenv("VEIL_MODDIR");
	char path[512];
	int fd, ret;

	snprintf(path, sizeof(path), "%s/%s", dir ? dir : "/lib/veil", VEIL_KO);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, params, 0) ? -errno : 0;
	close(fd);
	return ret;
}

/* @arg files written and closed, in /tmp (memory only: never forgotten). */
static int write_files(void *arg)
{
	int i, n = (int)(uintptr_t)arg, fd;
	char path[64];

	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/tmp/veil-recall-%d-%d", getpid(), i);
		fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
		if (fd < 0 || write(fd, path, sizeof(path)) != sizeof(path) || close(fd))
			return -1;
	}
	return 0;
}

/* A child that writes and closes @files files once @c is excluded. */
static int exclude_writer(int fd, struct veil_child *c, int files)
{
	if (veil_child_start(c, write_files, (void *)(uintptr_t)files) ||
	    veil_exclude_pid(fd, c->pid, 0))
		return -1;
	return veil_child_plant(c);
}

/* A collection's error, its extents let go of. */
static int collection(int fd)
{
	struct veil_extents e;
	int err = veil_get_extents(fd, &e);

	if (!err)
		free(e.ext);
	return err;
}

static void remove_files(pid_t pid, int n)
{
	char path[64];
	int i;

	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/tmp/veil-recall-%d-%d", (int)pid, i);
		unlink(path);
	}
}

FIXTURE(recall) {
	int fd;
	struct veil_child child;
	struct veil_child other;	/* a second excluded process */
	int files;
};

FIXTURE_SETUP(recall)
{
	char params[64];
	int err;

	memset(&self->child, 0, sizeof(self->child));
	memset(&self->other, 0, sizeof(self->other));
	self->fd = -1;
	err = veil_unload();
	ASSERT_EQ(0, err) TH_LOG("rmmod veil_guest: %s", strerror(err));
	snprintf(params, sizeof(params), "test_hooks=1 recall_max=%d", RECALL_MAX);
	err = veil_load_with(params);
	if (err)
		SKIP(return, "cannot load " VEIL_KO ": %s", strerror(-err));
	self->fd = veil_dev_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", VEIL_DEV, strerror(errno));
}

FIXTURE_TEARDOWN(recall)
{
	pid_t pid = self->child.pid;

	if (pid > 0)
		veil_child_stop(&self->child);
	if (self->other.pid > 0)
		veil_child_stop(&self->other);
	remove_files(pid, self->files);
	if (self->fd >= 0)
		close(self->fd);
	veil_unload();
	veil_load();
}

/* As many files as the bound allows: remembered, and their pages taken. */
TEST_F(recall, files_up_to_recall_max_are_taken)
{
	struct veil_extents e;

	self->files = RECALL_MAX;
	ASSERT_EQ(0, exclude_writer(self->fd, &self->child, self->files));
	ASSERT_EQ(0, veil_get_extents(self->fd, &e));
	EXPECT_LE((uint64_t)self->files, veil_cat_pages(&e, VEIL_GUEST_CAT_FILE))
		TH_LOG("%llu file pages for %d closed files",
		       (unsigned long long)veil_cat_pages(&e, VEIL_GUEST_CAT_FILE), self->files);
	free(e.ext);
}

/*
 * One file more than the bound, of an exclusion made by root: no
 * collection until nothing is excluded, since the checkpoint would hold
 * that file.
 */
TEST_F(recall, privileged_file_beyond_recall_max_fails_collection)
{
	struct veil_extents e;
	int err;

	self->files = RECALL_MAX + 1;
	ASSERT_EQ(0, exclude_writer(self->fd, &self->child, self->files));
	err = collection(self->fd);
	EXPECT_EQ(-ENOSPC, err) TH_LOG("collection: %s", strerror(-err));
	/* Nothing excluded any more: nothing remembered, nothing missing. */
	ASSERT_EQ(0, veil_include_pid(self->fd, self->child.pid));
	ASSERT_EQ(0, veil_get_extents(self->fd, &e));
	EXPECT_EQ(0, veil_cat_pages(&e, VEIL_GUEST_CAT_FILE));
	free(e.ext);
}

/*
 * The same failure, left by a process that has exited: its entry, which
 * cannot be named by PID, keeps what it left remembered (and missing) after
 * every live entry is gone; root's dropping of exited entries empties the
 * selection, and the collection runs again.
 */
TEST_F(recall, include_exited_lifts_a_recall_failure)
{
	struct veil_extents e;
	pid_t gone;
	int err;

	self->files = RECALL_MAX + 1;
	ASSERT_EQ(0, exclude_writer(self->fd, &self->child, self->files));
	ASSERT_EQ(0, exclude_writer(self->fd, &self->other, 0));
	gone = self->child.pid;
	veil_child_stop(&self->child);

	err = collection(self->fd);
	EXPECT_EQ(-ENOSPC, err) TH_LOG("collection, writer exited: %s", strerror(-err));
	ASSERT_EQ(0, veil_include_pid(self->fd, self->other.pid));
	err = collection(self->fd);
	EXPECT_EQ(-ENOSPC, err)
		TH_LOG("collection, only the exited writer's entry left: %s", strerror(-err));

	EXPECT_EQ(0, veil_select(self->fd, VEIL_GUEST_IOC_INCLUDE,
				 VEIL_GUEST_SEL_EXITED, 0, 0, NULL));
	err = veil_get_extents(self->fd, &e);
	if (!err) {
		EXPECT_EQ(0, veil_cat_pages(&e, VEIL_GUEST_CAT_FILE));
		free(e.ext);
	}
	EXPECT_EQ(0, err) TH_LOG("collection, exited entry dropped: %s", strerror(-err));
	remove_files(gone, RECALL_MAX + 1);
	self->files = 0;
}

/* Rounds of an exclusion racing the last inclusion, and files in each. */
#define RACE_ROUNDS	4
#define RACE_FILES	3000
/* Far beyond the few seconds it takes; kselftest's default is 30 s. */
#define RACE_SECONDS	600

struct race_include {
	int fd;
	pid_t pid;
	pthread_barrier_t start;
	struct timespec t0, t1;
	int err;
};

static void *race_include(void *arg)
{
	struct race_include *r = arg;

	pthread_barrier_wait(&r->start);
	clock_gettime(CLOCK_MONOTONIC, &r->t0);
	r->err = veil_include_pid(r->fd, r->pid);
	clock_gettime(CLOCK_MONOTONIC, &r->t1);
	return NULL;
}

static int close_fd(void *arg)
{
	return close((int)(uintptr_t)arg);
}

static double race_ms(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1e3 + (b->tv_nsec - a->tv_nsec) / 1e6;
}

/*
 * The last inclusion forgets every file remembered, which takes a while
 * with thousands of them; an exclusion made meanwhile remembers the file
 * its process has open, which the process then closes: that file must
 * still be taken.  Each round's inclusion starts with RACE_FILES marks to
 * forget, and the exclusion a millisecond after it.
 */
TEST_F_TIMEOUT(recall, exclusion_during_last_inclusion_keeps_its_files, RACE_SECONDS)
{
	char path[64], page[4096];
	int round, overlapped = 0;

	ASSERT_EQ(0, veil_param("recall_max", "8192"));
	memset(page, 0x5a, sizeof(page));
	for (round = 0; round < RACE_ROUNDS; round++) {
		struct race_include r = { .fd = self->fd };
		struct timespec b0, one_ms = { 0, 1000000 };
		struct veil_extents e;
		pthread_t thread;
		int held_fd, err;

		self->files = RACE_FILES;
		ASSERT_EQ(0, exclude_writer(self->fd, &self->child, self->files));

		snprintf(path, sizeof(path), "/tmp/veil-recall-held-%d", getpid());
		held_fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
		ASSERT_LE(0, held_fd);
		ASSERT_EQ((ssize_t)sizeof(page), write(held_fd, page, sizeof(page)));
		ASSERT_EQ(0, veil_child_start(&self->other, close_fd, (void *)(uintptr_t)held_fd));
		close(held_fd);

		r.pid = self->child.pid;
		ASSERT_EQ(0, pthread_barrier_init(&r.start, NULL, 2));
		ASSERT_EQ(0, pthread_create(&thread, NULL, race_include, &r));
		pthread_barrier_wait(&r.start);
		nanosleep(&one_ms, NULL);
		clock_gettime(CLOCK_MONOTONIC, &b0);
		err = veil_exclude_pid(self->fd, self->other.pid, 0);
		pthread_join(thread, NULL);
		pthread_barrier_destroy(&r.start);
		ASSERT_EQ(0, err);
		ASSERT_EQ(0, r.err);
		if (race_ms(&b0, &r.t1) > 0)
			overlapped++;
		TH_LOG("round %d: inclusion took %.1f ms, the exclusion began %.1f ms into it",
		       round, race_ms(&r.t0, &r.t1), race_ms(&r.t0, &b0));

		/* The held file closed: taken only if it is still remembered. */
		ASSERT_EQ(0, veil_child_plant(&self->other));
		ASSERT_EQ(0, veil_get_extents(self->fd, &e));
		EXPECT_LE(1, veil_cat_pages(&e, VEIL_GUEST_CAT_FILE))
			TH_LOG("round %d: the file the excluded process closed is not taken",
			       round);
		free(e.ext);

		ASSERT_EQ(0, veil_include_pid(self->fd, self->other.pid));
		veil_child_stop(&self->other);
		unlink(path);
		remove_files(self->child.pid, self->files);
		veil_child_stop(&self->child);
		self->files = 0;
	}
	if (!overlapped)
		SKIP(return, "no exclusion began during an inclusion in %d rounds", round);
}

TEST_HARNESS_MAIN
