// SPDX-License-Identifier: GPL-2.0
/*
 * Planted: makes L1 panic from a page fault in kernel mode (the planted
 * module's oops=1, under panic_on_oops), so the runner must fail the run,
 * say that L1 panicked and find the fault's exception frame on the stack
 * it dumps.
 */
#include <string.h>

#include "kselftest_harness.h"
#include "planted.h"

TEST(module_that_faults_panics_l1)
{
	ASSERT_EQ(0, plant_write("/proc/sys/kernel/panic_on_oops", "1"))
		TH_LOG("panic_on_oops: %s", strerror(errno));
	plant_load("oops=1");
	TH_LOG("still running after the planted oops: %s", strerror(errno));
	ASSERT_TRUE(0);
}

TEST_HARNESS_MAIN
