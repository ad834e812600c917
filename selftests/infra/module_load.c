// SPDX-License-Identifier: GPL-2.0
/*
 * Every veil module staged into this VM ($VEIL_MODULES, files in
 * $VEIL_MODDIR) loads, is live, unloads, and adds no taint beyond
 * "out-of-tree" (O) and "unsigned" (E).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kselftest_harness.h"

#define TAINT_OOT_MODULE	(1UL << 12)
#define TAINT_UNSIGNED_MODULE	(1UL << 13)

static unsigned long read_taint(void)
{
	unsigned long taint = 0;
	FILE *f = fopen("/proc/sys/kernel/tainted", "r");

	if (!f)
		return ~0UL;
	if (fscanf(f, "%lu", &taint) != 1)
		taint = ~0UL;
	fclose(f);
	return taint;
}

/* "dm-veilcrypt.ko" -> "dm_veilcrypt", as the kernel names it. */
static void module_name(const char *file, char *name, size_t len)
{
	size_t i;

	snprintf(name, len, "%s", file);
	name[strcspn(name, ".")] = '\0';
	for (i = 0; name[i]; i++)
		if (name[i] == '-')
			name[i] = '_';
}

static int sysfs_module_state(const char *name, char *state, size_t len)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/%s/initstate", name);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	if (!fgets(state, len, f))
		state[0] = '\0';
	state[strcspn(state, "\n")] = '\0';
	fclose(f);
	return 0;
}

/*
 * A load takes a second on a Debian kernel; on a debug kernel in a nested
 * guest, more than the harness's default 30 s (6.1's module BTF under
 * KASAN): the limit is many times that.
 */
#define LOAD_SECONDS	900

FIXTURE(modules) {
	int unused;
};

FIXTURE_SETUP(modules)
{
}

FIXTURE_TEARDOWN(modules)
{
}

TEST_F_TIMEOUT(modules, veil_modules_load_and_unload_without_new_taint, LOAD_SECONDS)
{
	const char *list = getenv("VEIL_MODULES");
	const char *dir = getenv("VEIL_MODDIR");
	char *mods, *file, *save = NULL;
	int count = 0;

	ASSERT_NE(NULL, list) TH_LOG("VEIL_MODULES is not set");
	ASSERT_NE(NULL, dir) TH_LOG("VEIL_MODDIR is not set");
	mods = strdup(list);
	ASSERT_NE(NULL, mods);

	for (file = strtok_r(mods, " ", &save); file; file = strtok_r(NULL, " ", &save)) {
		unsigned long before, after, added;
		char path[512], name[128], state[32];
		int fd;

		snprintf(path, sizeof(path), "%s/%s", dir, file);
		module_name(file, name, sizeof(name));
		before = read_taint();
		ASSERT_NE(~0UL, before) TH_LOG("cannot read /proc/sys/kernel/tainted");

		fd = open(path, O_RDONLY | O_CLOEXEC);
		ASSERT_LE(0, fd) TH_LOG("open %s: %s", path, strerror(errno));
		ASSERT_EQ(0, syscall(__NR_finit_module, fd, "", 0))
			TH_LOG("loading %s: %s", path, strerror(errno));
		close(fd);

		ASSERT_EQ(0, sysfs_module_state(name, state, sizeof(state)))
			TH_LOG("/sys/module/%s missing after load", name);
		EXPECT_STREQ("live", state);

		after = read_taint();
		added = after & ~before;
		EXPECT_EQ(0UL, added & ~(TAINT_OOT_MODULE | TAINT_UNSIGNED_MODULE))
			TH_LOG("%s added taint 0x%lx (before 0x%lx, after 0x%lx)",
			       name, added, before, after);

		ASSERT_EQ(0, syscall(__NR_delete_module, name, O_NONBLOCK))
			TH_LOG("unloading %s: %s", name, strerror(errno));
		EXPECT_EQ(-ENOENT, sysfs_module_state(name, state, sizeof(state)))
			TH_LOG("/sys/module/%s still there after unload", name);
		TH_LOG("%s: loaded, live, unloaded; taint 0x%lx -> 0x%lx", name, before, after);
		count++;
	}
	free(mods);
	ASSERT_LT(0, count) TH_LOG("no module was named in VEIL_MODULES");
}

TEST_HARNESS_MAIN
