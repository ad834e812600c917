// SPDX-License-Identifier: GPL-2.0
/*
 * The files excluded processes opened and closed, which veil_guest
 * remembers (guest-kmod/recall.c): its bound, recall_max, and what happens
 * beyond it.  Each test loads the module afresh with a small bound, and
 * leaves it loaded as the other programs load it.
 */
#include <fcntl.h>
#include <sys/syscall.h>

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
	int files;
};

FIXTURE_SETUP(recall)
{
	char params[64];
	int err;

	memset(&self->child, 0, sizeof(self->child));
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
	ASSERT_EQ(0, veil_child_start(&self->child, write_files,
				      (void *)(uintptr_t)self->files));
	ASSERT_EQ(0, veil_exclude_pid(self->fd, self->child.pid, 0));
	ASSERT_EQ(0, veil_child_plant(&self->child));
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
	ASSERT_EQ(0, veil_child_start(&self->child, write_files,
				      (void *)(uintptr_t)self->files));
	ASSERT_EQ(0, veil_exclude_pid(self->fd, self->child.pid, 0));
	ASSERT_EQ(0, veil_child_plant(&self->child));
	err = veil_get_extents(self->fd, &e);
	if (!err)
		free(e.ext);
	EXPECT_EQ(-ENOSPC, err) TH_LOG("collection: %s", strerror(-err));
	/* Nothing excluded any more: nothing remembered, nothing missing. */
	ASSERT_EQ(0, veil_include_pid(self->fd, self->child.pid));
	ASSERT_EQ(0, veil_get_extents(self->fd, &e));
	EXPECT_EQ(0, veil_cat_pages(&e, VEIL_GUEST_CAT_FILE));
	free(e.ext);
}

TEST_HARNESS_MAIN
