// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only: warns once when loaded, so that the test runner can prove it
 * fails a run whose kernel log holds a WARN even when every test passed.
 */
#include <linux/bug.h>
#include <linux/module.h>

static int __init veil_plant_warn_init(void)
{
	WARN(1, "veil_plant_warn: planted warning for the runner self-test\n");
	return 0;
}

static void __exit veil_plant_warn_exit(void)
{
}

module_init(veil_plant_warn_init);
module_exit(veil_plant_warn_exit);

MODULE_DESCRIPTION("veil selftest: a module that warns on load");
MODULE_LICENSE("GPL");
