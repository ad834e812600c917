// SPDX-License-Identifier: GPL-2.0
/*
 * Planted: loads a module that WARNs and passes, so the runner must fail
 * the run from the kernel log alone.
 */
#include <string.h>

#include "kselftest_harness.h"
#include "planted.h"

TEST(module_that_warns_loads_and_unloads)
{
	ASSERT_EQ(0, plant_load("")) TH_LOG("load: %s", strerror(errno));
	ASSERT_EQ(0, syscall(__NR_delete_module, "veil_plant_warn", O_NONBLOCK))
		TH_LOG("unload: %s", strerror(errno));
}

TEST_HARNESS_MAIN
