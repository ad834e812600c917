// SPDX-License-Identifier: GPL-2.0
/*
 * Planted: loads a module that WARNs and passes, so the runner must fail
 * the run from the kernel log alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kselftest_harness.h"

TEST(module_that_warns_loads_and_unloads)
{
	int fd = open("/lib/veil/veil_plant_warn.ko", O_RDONLY | O_CLOEXEC);

	ASSERT_LE(0, fd) TH_LOG("open: %s", strerror(errno));
	ASSERT_EQ(0, syscall(__NR_finit_module, fd, "", 0)) TH_LOG("load: %s", strerror(errno));
	close(fd);
	ASSERT_EQ(0, syscall(__NR_delete_module, "veil_plant_warn", O_NONBLOCK))
		TH_LOG("unload: %s", strerror(errno));
}

TEST_HARNESS_MAIN
