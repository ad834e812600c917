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

/*
 * Numeric parameters that take only values in [min, max]: anything else
 * is refused with EINVAL, at load and when written later.
 */
struct veil_host_range {
	unsigned int *val;
	unsigned int min, max;
};

static int veil_host_range_set(const char *s, const struct kernel_param *kp)
{
	const struct veil_host_range *range = kp->arg;
	unsigned int v;
	int r;

	r = kstrtouint(s, 0, &v);
	if (r)
		return r;
	if (v < range->min || v > range->max) {
		pr_err("%s=%u is out of range %u..%u\n", kp->name, v,
		       range->min, range->max);
		return -EINVAL;
	}
	WRITE_ONCE(*range->val, v);
	return 0;
}

static int veil_host_range_get(char *buf, const struct kernel_param *kp)
{
	const struct veil_host_range *range = kp->arg;

	return sysfs_emit(buf, "%u\n", READ_ONCE(*range->val));
}

static const struct kernel_param_ops veil_host_range_ops = {
	.set = veil_host_range_set,
	.get = veil_host_range_get,
};

unsigned int veil_host_max_extents = 65536;
static struct veil_host_range veil_host_max_extents_range = {
	.val = &veil_host_max_extents, .min = 1, .max = 1 << 20,
};
module_param_cb(max_extents, &veil_host_range_ops, &veil_host_max_extents_range, 0644);
MODULE_PARM_DESC(max_extents,
		 "Most extents one VM may publish, 1..1048576; a PUBLISH over it gets -KVM_E2BIG (default 65536, 24 bytes of host memory each)");

unsigned int veil_host_max_mib = 4096;
static struct veil_host_range veil_host_max_mib_range = {
	.val = &veil_host_max_mib, .min = 1, .max = 1 << 20,
};
module_param_cb(max_mib, &veil_host_range_ops, &veil_host_max_mib_range, 0644);
MODULE_PARM_DESC(max_mib,
		 "Most MiB of guest frames one VM may exclude, 1..1048576; SANITIZE stashes that much host memory (default 4096)");

unsigned int veil_host_max_total_mib;
static struct veil_host_range veil_host_max_total_mib_range = {
	.val = &veil_host_max_total_mib, .min = 0, .max = 1 << 30,
};
module_param_cb(max_total_mib, &veil_host_range_ops, &veil_host_max_total_mib_range, 0644);
MODULE_PARM_DESC(max_total_mib,
		 "Most MiB all VMs together may have stashed at once; a SANITIZE over it gets ENOSPC (default 0: a quarter of the host's RAM)");

unsigned int veil_host_prepare_timeout_ms = 10000;
static struct veil_host_range veil_host_prepare_timeout_range = {
	.val = &veil_host_prepare_timeout_ms, .min = 1, .max = 3600000,
};
module_param_cb(prepare_timeout_ms, &veil_host_range_ops, &veil_host_prepare_timeout_range,
		0644);
MODULE_PARM_DESC(prepare_timeout_ms,
		 "How long PREPARE waits for the guest's ACK when the caller gives no timeout, 1..3600000 (default 10000)");

/*
 * The newest guest ABI a REGISTER may ask for.  A guest refused its version
 * registers again with an older one, so an operator can keep a fleet on one
 * ABI while hosts are upgraded.  Applies to later REGISTERs.
 */
unsigned int veil_host_max_abi = VEIL_ABI_VERSION;
static struct veil_host_range veil_host_max_abi_range = {
	.val = &veil_host_max_abi, .min = 1, .max = VEIL_ABI_VERSION,
};
module_param_cb(max_abi, &veil_host_range_ops, &veil_host_max_abi_range, 0644);
MODULE_PARM_DESC(max_abi,
		 "Newest guest ABI version REGISTER accepts, 1.." __stringify(VEIL_ABI_VERSION)
		 " (default " __stringify(VEIL_ABI_VERSION) ")");

/* Test hook: make the n-th pin batch of the next SANITIZE fail. */
static int veil_host_fail_pin_set(const char *s, const struct kernel_param *kp)
{
	unsigned int v;
	int r = kstrtouint(s, 0, &v);

	if (!r)
		veil_host_mem_fail_pin_batch(v);
	return r;
}

static const struct kernel_param_ops veil_host_fail_pin_ops = {
	.set = veil_host_fail_pin_set,
};
module_param_cb(fail_pin_batch, &veil_host_fail_pin_ops, NULL, 0200);
MODULE_PARM_DESC(fail_pin_batch,
		 "Testing only: the n-th batch of frames the next SANITIZE pins fails with EFAULT (0: none)");

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
MODULE_VERSION(VEIL_VERSION);
