// SPDX-License-Identifier: GPL-2.0
/*
 * Planted: makes L1 panic from a page fault in kernel mode (the planted
 * module's oops=1, under panic_on_oops), so the runner must fail the run,
 * say that L1 panicked and find the fault's exception frame on the stack
 * it dumps.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kselftest_harness.h"

TEST(module_that_faults_panics_l1)
{
	int fd = open("/proc/sys/kernel/panic_on_oops", O_WRONLY | O_CLOEXEC);

	ASSERT_LE(0, fd) TH_LOG("panic_on_oops: %s", strerror(errno));
	ASSERT_EQ(1, write(fd, "1", 1));
	close(fd);
	fd = open("/lib/veil/veil_plant_warn.ko", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd) TH_LOG("open: %s", strerror(errno));
	syscall(__NR_finit_module, fd, "oops=1", 0);
	TH_LOG("still running after the planted oops: %s", strerror(errno));
	ASSERT_TRUE(0);
}

TEST_HARNESS_MAIN
