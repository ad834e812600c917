// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only: warns once when loaded, so that the test runner can prove it
 * fails a run whose kernel log holds a WARN even when every test passed.
 * With oops=1 it reads through a NULL pointer instead: under
 * panic_on_oops, the runner must then report the panic and find the page
 * fault's exception frame on the stack.  With block=N its loader sleeps N
 * seconds in uninterruptible sleep instead: the hung-task detector must
 * panic L1 (hung_task_panic) and the console must show this stack.
 */
#include <linux/bug.h>
#include <linux/compiler.h>
#include <linux/delay.h>
#include <linux/module.h>

static bool oops;
static int *nowhere;	/* stays NULL */
module_param(oops, bool, 0444);
MODULE_PARM_DESC(oops, "Read through a NULL pointer when loaded, instead of warning");
static unsigned int block;
module_param(block, uint, 0444);
MODULE_PARM_DESC(block, "Sleep this many seconds uninterruptibly when loaded, instead of warning");

static int __init veil_plant_warn_init(void)
{
	if (oops)
		return READ_ONCE(*nowhere);
	if (block) {
		msleep(block * 1000U);
		return 0;
	}
	WARN(1, "veil_plant_warn: planted warning for the runner self-test\n");
	return 0;
}

static void __exit veil_plant_warn_exit(void)
{
}

module_init(veil_plant_warn_init);
module_exit(veil_plant_warn_exit);

MODULE_DESCRIPTION("veil selftest: a module that warns on load, faults with oops=1, or blocks");
MODULE_LICENSE("GPL");
