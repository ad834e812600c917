// SPDX-License-Identifier: GPL-2.0
/*
 * veil_guest: the guest half of veil.  It tracks the frames that hold data
 * of excluded processes and publishes them to the host through a vendor
 * hypercall before a checkpoint is taken.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/veil.h>

static int __init veil_guest_init(void)
{
	pr_info("loaded, guest ABI version %u\n", VEIL_ABI_VERSION);
	return 0;
}

static void __exit veil_guest_exit(void)
{
	pr_info("unloaded\n");
}

module_init(veil_guest_init);
module_exit(veil_guest_exit);

MODULE_DESCRIPTION("veil: keep excluded guest frames out of KVM checkpoints (guest)");
MODULE_LICENSE("GPL");
