// SPDX-License-Identifier: GPL-2.0
/* Planted: a test that fails, so the runner must report the run failed. */
#include "kselftest_harness.h"

TEST(planted_failure_must_fail_the_run)
{
	EXPECT_EQ(1, 2) TH_LOG("planted failure: the runner must count this");
}

TEST_HARNESS_MAIN
