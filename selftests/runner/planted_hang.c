// SPDX-License-Identifier: GPL-2.0
/*
 * Planted: a task blocked in uninterruptible sleep (the planted module's
 * block=N, in its loader) past the hung-task detector's limit, cut to 5 s
 * here.  L1 boots with hung_task_panic, so the runner must report the
 * panic, and L1's console must hold the blocked task's stack, which the
 * console's loglevel keeps off it otherwise.
 */
#include <string.h>

#include "kselftest_harness.h"
#include "planted.h"

TEST(blocked_task_panics_l1)
{
	ASSERT_EQ(0, plant_write("/proc/sys/kernel/hung_task_timeout_secs", "5"))
		TH_LOG("hung_task_timeout_secs: %s", strerror(errno));
	plant_load("block=25");
	TH_LOG("still running after 25 s blocked: %s", strerror(errno));
	ASSERT_TRUE(0);
}

TEST_HARNESS_MAIN
