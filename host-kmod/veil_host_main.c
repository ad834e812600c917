// SPDX-License-Identifier: GPL-2.0
/*
 * veil_host: the host half of veil.  A guest tells the host, through one
 * vendor hypercall, which of its frames hold data of excluded processes;
 * while a checkpoint is written those frames read as zeros.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/veil.h>

static int __init veil_host_init(void)
{
	pr_info("loaded, guest ABI version %u\n", VEIL_ABI_VERSION);
	return 0;
}

static void __exit veil_host_exit(void)
{
	pr_info("unloaded\n");
}

module_init(veil_host_init);
module_exit(veil_host_exit);

MODULE_DESCRIPTION("veil: keep excluded guest frames out of KVM checkpoints (host)");
MODULE_LICENSE("GPL");
