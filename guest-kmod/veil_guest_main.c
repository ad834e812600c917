// SPDX-License-Identifier: GPL-2.0
/*
 * veil_guest: the guest half of veil.  It tracks the frames that hold data
 * of excluded processes and publishes them to the host through a vendor
 * hypercall before a checkpoint is taken.
 *
 * /dev/veil-guest selects the excluded processes and serves libveil
 * (protected ranges and files, checkpoint events); with test_hooks=1 it
 * also offers the dry run (the extents that would be published), a scan of
 * guest RAM for a pattern and a way to set the control page state, so the
 * guest side can be tested without a host.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/veil.h>

#include "veil_guest.h"

static bool test_hooks;
module_param(test_hooks, bool, 0444);
MODULE_PARM_DESC(test_hooks,
		 "Enable the dry-run, RAM scan and control-state ioctls (tests only)");

/*
 * Copies the size-prefixed argument of cmd in; the size field must equal
 * the struct size this module knows.
 */
int veil_guest_arg_in(void *arg, size_t len, const void __user *uarg)
{
	u32 size;

	if (copy_from_user(arg, uarg, len))
		return -EFAULT;
	memcpy(&size, arg, sizeof(size));
	return size == len ? 0 : -EINVAL;
}

static long veil_guest_ioc_select(unsigned int cmd, void __user *uarg)
{
	struct veil_guest_select *req;
	long ret;

	req = kmalloc(sizeof(*req), GFP_KERNEL);
	if (!req)
		return -ENOMEM;
	ret = veil_guest_arg_in(req, sizeof(*req), uarg);
	if (!ret && cmd == VEIL_GUEST_IOC_EXCLUDE)
		ret = veil_guest_sel_exclude(req);
	else if (!ret)
		ret = veil_guest_sel_include(req);
	kfree(req);
	return ret;
}

static long veil_guest_ioc_list(void __user *uarg)
{
	struct veil_guest_list req;
	long ret;

	ret = veil_guest_arg_in(&req, sizeof(req), uarg);
	if (ret)
		return ret;
	if (!req.entry_size)
		req.entry_size = VEIL_GUEST_ENTRY_SIZE_V1;
	if (req.entry_size != VEIL_GUEST_ENTRY_SIZE_V1 &&
	    req.entry_size != VEIL_GUEST_ENTRY_SIZE_V2 &&
	    req.entry_size != VEIL_GUEST_ENTRY_SIZE)
		return -EINVAL;
	ret = veil_guest_sel_list(&req);
	if (!ret && copy_to_user(uarg, &req, sizeof(req)))
		ret = -EFAULT;
	return ret;
}

static long veil_guest_ioc_status(void __user *uarg)
{
	struct veil_guest_status st = { .size = sizeof(st) };
	u32 size;

	if (get_user(size, (u32 __user *)uarg))
		return -EFAULT;
	if (size != sizeof(st))
		return -EINVAL;
	if (test_hooks)
		st.flags |= VEIL_GUEST_ST_TEST_HOOKS;
	veil_guest_control_status(&st);
	st.nr_entries = veil_guest_sel_count();
	return copy_to_user(uarg, &st, sizeof(st)) ? -EFAULT : 0;
}

static long veil_guest_ioc_extents(void __user *uarg)
{
	struct veil_guest_extents req;
	struct veil_guest_collect *c;
	struct veil_extent __user *uext;
	struct veil_extent ext;
	u64 i;
	long ret;

	ret = veil_guest_arg_in(&req, sizeof(req), uarg);
	if (ret)
		return ret;
	if (req.flags & ~VEIL_GUEST_EXT_PUBLISHED)
		return -EINVAL;
	uext = u64_to_user_ptr(req.extents);
	if (req.flags & VEIL_GUEST_EXT_PUBLISHED) {
		ret = veil_guest_control_published(&req, uext);
		if (!ret && copy_to_user(uarg, &req, sizeof(req)))
			ret = -EFAULT;
		return ret;
	}
	c = kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return -ENOMEM;
	/* A dry run holds what it finds, and lets go of it when done. */
	veil_guest_collect_start(c, false, false);
	ret = veil_guest_control_index_held(c);
	if (!ret)
		ret = veil_guest_collect_selected(c);
	if (ret)
		goto out;
	req.total = c->all.nr;
	req.nr_pages = c->nr_pages;
	req.shared_pages = c->shared_out;
	memcpy(req.pages, c->pages, sizeof(req.pages));
	req.kernel_pages = c->pages[VEIL_GUEST_CAT_KERNEL];
	req.nr_extents = min_t(u64, req.nr_extents, c->all.nr);
	for (i = 0; i < req.nr_extents; i++) {
		ext.gfn = (__force __le64)c->all.runs[i].pfn;
		ext.npages = (__force __le64)c->all.runs[i].npages;
		if (copy_to_user(&uext[i], &ext, sizeof(ext))) {
			ret = -EFAULT;
			goto out;
		}
	}
	if (copy_to_user(uarg, &req, sizeof(req)))
		ret = -EFAULT;
out:
	veil_guest_collect_free(c);
	kfree(c);
	return ret;
}

static long veil_guest_ioc_scan(void __user *uarg)
{
	struct veil_guest_scan *req;
	long ret;

	req = kmalloc(sizeof(*req), GFP_KERNEL);
	if (!req)
		return -ENOMEM;
	ret = veil_guest_arg_in(req, sizeof(*req), uarg);
	if (!ret && req->pad)
		ret = -EINVAL;
	if (!ret)
		ret = veil_guest_scan(req);
	if (!ret && copy_to_user(uarg, req, sizeof(*req)))
		ret = -EFAULT;
	kfree_sensitive(req);
	return ret;
}

static long veil_guest_ioc_host_write(void __user *uarg)
{
	struct veil_guest_host_write req;
	long ret;

	ret = veil_guest_arg_in(&req, sizeof(req), uarg);
	if (ret)
		return ret;
	ret = veil_guest_control_host_write(&req);
	if (!ret && copy_to_user(uarg, &req, sizeof(req)))
		ret = -EFAULT;
	return ret;
}

static long veil_guest_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case VEIL_GUEST_IOC_PROTECT_RANGE:
	case VEIL_GUEST_IOC_PROTECT_FILE:
	case VEIL_GUEST_IOC_SUBSCRIBE:
		return veil_guest_client_ioctl(file->private_data, cmd, uarg);
	case VEIL_GUEST_IOC_EXCLUDE:
	case VEIL_GUEST_IOC_INCLUDE:
		return veil_guest_ioc_select(cmd, uarg);
	case VEIL_GUEST_IOC_LIST:
		return veil_guest_ioc_list(uarg);
	case VEIL_GUEST_IOC_STATUS:
		return veil_guest_ioc_status(uarg);
	case VEIL_GUEST_IOC_EXTENTS:
	case VEIL_GUEST_IOC_SCAN:
	case VEIL_GUEST_IOC_HOST_WRITE:
		if (!test_hooks)
			return -EOPNOTSUPP;
		if (!capable(CAP_SYS_ADMIN))
			return -EPERM;
		if (cmd == VEIL_GUEST_IOC_EXTENTS)
			return veil_guest_ioc_extents(uarg);
		if (cmd == VEIL_GUEST_IOC_SCAN)
			return veil_guest_ioc_scan(uarg);
		return veil_guest_ioc_host_write(uarg);
	}
	return -ENOTTY;
}

/* Every open descriptor is a libveil client (protect.c). */
static int veil_guest_open(struct inode *inode, struct file *file)
{
	struct veil_guest_client *cl = veil_guest_client_new();

	if (IS_ERR(cl))
		return PTR_ERR(cl);
	file->private_data = cl;
	return 0;
}

static int veil_guest_release(struct inode *inode, struct file *file)
{
	veil_guest_client_release(file->private_data);
	return 0;
}

static ssize_t veil_guest_read(struct file *file, char __user *buf, size_t count,
			       loff_t *ppos)
{
	return veil_guest_client_read(file->private_data, buf, count,
				      file->f_flags & O_NONBLOCK);
}

static __poll_t veil_guest_poll(struct file *file, poll_table *wait)
{
	return veil_guest_client_poll(file->private_data, file, wait);
}

static const struct file_operations veil_guest_fops = {
	.owner = THIS_MODULE,
	.open = veil_guest_open,
	.release = veil_guest_release,
	.read = veil_guest_read,
	.poll = veil_guest_poll,
	.unlocked_ioctl = veil_guest_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice veil_guest_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "veil-guest",
	.fops = &veil_guest_fops,
	.mode = 0666,
};

/* Where the private structs the collectors read lie in this kernel. */
static void __init veil_guest_btf_init(void)
{
	static struct veil_guest_btf_struct *const want[] __initconst = {
		&veil_guest_ntty_btf, &veil_guest_mq_info_btf, &veil_guest_mq_node_btf,
	};
	int err = veil_guest_btf_find(want, ARRAY_SIZE(want));

	veil_guest_ntty_init(err);
	veil_guest_mqueue_init(err);
}

static int __init veil_guest_init(void)
{
	int err;

	veil_guest_btf_init();
	err = veil_guest_zero_init();
	if (err)
		return err;
	err = veil_guest_recall_init();
	if (err)
		goto out_zero;
	err = veil_guest_tls_init();
	if (err)
		goto out_recall;
	err = veil_guest_control_start();
	if (err)
		goto out_tls;
	err = veil_guest_netguard_start();
	if (err)
		goto out_control;
	err = misc_register(&veil_guest_misc);
	if (err)
		goto out_netguard;
	pr_info("loaded, guest ABI version %u%s\n", VEIL_ABI_VERSION,
		test_hooks ? ", test hooks enabled" : "");
	return 0;

out_netguard:
	veil_guest_netguard_stop();
out_control:
	veil_guest_control_stop();
out_tls:
	veil_guest_tls_exit();
out_recall:
	veil_guest_recall_exit();
out_zero:
	veil_guest_zero_untrack_all();
	return err;
}

static void __exit veil_guest_exit(void)
{
	misc_deregister(&veil_guest_misc);
	veil_guest_netguard_stop();
	/* No message may withdraw a set once the control page is gone. */
	veil_guest_sysvmsg_exit();
	veil_guest_sock_left_exit();
	veil_guest_tls_exit();
	veil_guest_control_stop();
	veil_guest_zero_untrack_all();
	veil_guest_sel_clear();
	veil_guest_recall_exit();
	/* What a close handled before the marks went may have added. */
	veil_guest_pipe_left_forget();
	pr_info("unloaded\n");
}

module_init(veil_guest_init);
module_exit(veil_guest_exit);

MODULE_DESCRIPTION("veil: keep excluded guest frames out of KVM checkpoints (guest)");
MODULE_LICENSE("GPL");
MODULE_VERSION(VEIL_VERSION);
