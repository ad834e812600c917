// SPDX-License-Identifier: GPL-2.0
/*
 * Planted: a task blocked in uninterruptible sleep (the planted module's
 * block=N, in its loader) past the hung-task detector's limit, cut to 5 s
 * here.  L1 boots with hung_task_panic, so the runner must report the
 * panic, and L1's console must hold the blocked task's stack, which the
 * console's loglevel keeps off it otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kselftest_harness.h"

TEST(blocked_task_panics_l1)
{
	int fd = open("/proc/sys/kernel/hung_task_timeout_secs", O_WRONLY | O_CLOEXEC);

	ASSERT_LE(0, fd) TH_LOG("hung_task_timeout_secs: %s", strerror(errno));
	ASSERT_EQ(1, write(fd, "5", 1));
	close(fd);
	fd = open("/lib/veil/veil_plant_warn.ko", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd) TH_LOG("open: %s", strerror(errno));
	syscall(__NR_finit_module, fd, "block=25", 0);
	TH_LOG("still running after 25 s blocked: %s", strerror(errno));
	ASSERT_TRUE(0);
}

TEST_HARNESS_MAIN
