// SPDX-License-Identifier: GPL-2.0
/*
 * veil_host: the host half of veil.  A guest tells the host, through one
 * vendor hypercall, which of its frames hold data of excluded processes;
 * while a checkpoint is written those frames read as zeros.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kstrtox.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/stringify.h>

#include "compat.h"
#include "veil_host.h"

unsigned int veil_host_max_extents = 65536;
module_param_named(max_extents, veil_host_max_extents, uint, 0644);
MODULE_PARM_DESC(max_extents,
		 "Most extents one VM may publish; a PUBLISH over it gets -KVM_E2BIG (default 65536, 16 bytes of host memory each)");

unsigned int veil_host_max_mib = 4096;
module_param_named(max_mib, veil_host_max_mib, uint, 0644);
MODULE_PARM_DESC(max_mib,
		 "Most MiB of guest frames one VM may exclude; SANITIZE stashes that much host memory (default 4096)");

unsigned int veil_host_prepare_timeout_ms = 10000;
module_param_named(prepare_timeout_ms, veil_host_prepare_timeout_ms, uint, 0644);
MODULE_PARM_DESC(prepare_timeout_ms,
		 "How long PREPARE waits for the guest's ACK when the caller gives no timeout (default 10000)");

/*
 * The newest guest ABI a REGISTER may ask for.  A guest refused its version
 * registers again with an older one, so an operator can keep a fleet on one
 * ABI while hosts are upgraded.  Applies to later REGISTERs.
 */
unsigned int veil_host_max_abi = VEIL_ABI_VERSION;

static int veil_host_max_abi_set(const char *val, const struct kernel_param *kp)
{
	unsigned int v;
	int r;

	r = kstrtouint(val, 0, &v);
	if (r)
		return r;
	if (v < 1 || v > VEIL_ABI_VERSION)
		return -EINVAL;
	WRITE_ONCE(veil_host_max_abi, v);
	return 0;
}

static const struct kernel_param_ops veil_host_max_abi_ops = {
	.set = veil_host_max_abi_set,
	.get = param_get_uint,
};
module_param_cb(max_abi, &veil_host_max_abi_ops, &veil_host_max_abi, 0644);
MODULE_PARM_DESC(max_abi,
		 "Newest guest ABI version REGISTER accepts, 1.."
		 __stringify(VEIL_ABI_VERSION) " (default " __stringify(VEIL_ABI_VERSION) ")");

static int __init veil_host_init(void)
{
	int r;

	r = veil_host_vms_init();
	if (r)
		return r;
	veil_host_debugfs_init();
	r = veil_host_hooks_init();
	if (r)
		goto err_debugfs;
	r = veil_host_dev_init();
	if (r)
		goto err_hooks;
	pr_info("loaded, guest ABI versions 1..%u, hypercall 0x%x\n",
		READ_ONCE(veil_host_max_abi), VEIL_HC_NR);
	return 0;

err_hooks:
	veil_host_hooks_exit();
	veil_host_vms_exit();
err_debugfs:
	veil_host_debugfs_exit();
	return r;
}

static void __exit veil_host_exit(void)
{
	/* Open descriptors pin the module: nothing is attached here. */
	veil_host_dev_exit();
	veil_host_hooks_exit();
	veil_host_vms_exit();
	veil_host_debugfs_exit();
	pr_info("unloaded\n");
}

module_init(veil_host_init);
module_exit(veil_host_exit);

MODULE_DESCRIPTION("veil: keep excluded guest frames out of KVM checkpoints (host)");
MODULE_LICENSE("GPL");
