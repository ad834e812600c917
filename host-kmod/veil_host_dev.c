// SPDX-License-Identifier: GPL-2.0
/*
 * veil_host: /dev/veil.  One open descriptor manages at most one VM, named
 * by a descriptor of the VM's file; closing it restores and thaws.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "compat.h"
#include "veil_host.h"

struct veil_host_file {
	struct mutex lock;		/* protects kvm and vm */
	struct kvm *kvm;		/* a reference, from ATTACH */
	struct veil_host_vm *vm;	/* a reference, from ATTACH */
};

static int veil_host_open(struct inode *inode, struct file *file)
{
	struct veil_host_file *vf;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	vf = kzalloc(sizeof(*vf), GFP_KERNEL_ACCOUNT);
	if (!vf)
		return -ENOMEM;
	mutex_init(&vf->lock);
	file->private_data = vf;
	return 0;
}

static int veil_host_release(struct inode *inode, struct file *file)
{
	struct veil_host_file *vf = file->private_data;

	if (vf->vm) {
		veil_host_vm_detach(vf->vm);
		veil_host_vm_put(vf->vm);
		/* May destroy the VM, which takes veil_host_vms_lock. */
		kvm_put_kvm(vf->kvm);
	}
	mutex_destroy(&vf->lock);
	kfree(vf);
	return 0;
}

/* Copies in an argument whose first field is its size, which must match. */
static int veil_host_arg_in(void *arg, size_t size, const void __user *uarg)
{
	u32 usize;

	if (get_user(usize, (const u32 __user *)uarg))
		return -EFAULT;
	if (usize != size)
		return -EINVAL;
	if (copy_from_user(arg, uarg, size))
		return -EFAULT;
	return 0;
}

static long veil_host_attach(struct veil_host_file *vf, void __user *uarg)
{
	struct veil_attach a;
	struct veil_host_vm *vm;
	struct file *vmfile;
	struct kvm *kvm;
	int r;

	r = veil_host_arg_in(&a, sizeof(a), uarg);
	if (r)
		return r;
	if (vf->vm)
		return -EBUSY;
	vmfile = fget(a.vm_fd);
	if (!vmfile)
		return -EBADF;
	if (!file_is_kvm(vmfile)) {
		fput(vmfile);
		return -EINVAL;
	}
	kvm = vmfile->private_data;
	kvm_get_kvm(kvm);
	fput(vmfile);

	vm = veil_host_vm_get(kvm, true);
	if (!vm) {
		kvm_put_kvm(kvm);
		return -ENOMEM;
	}
	r = veil_host_vm_attach(vm);
	if (r) {
		veil_host_vm_put(vm);
		kvm_put_kvm(kvm);
		return r;
	}
	vf->kvm = kvm;
	vf->vm = vm;
	pr_debug("vm %u: attached\n", vm->id);
	return 0;
}

static long veil_host_info(struct veil_host_vm *vm, void __user *uarg)
{
	struct veil_info info;
	int r;

	r = veil_host_arg_in(&info, sizeof(info), uarg);
	if (r)
		return r;
	veil_host_vm_info(vm, &info);
	return copy_to_user(uarg, &info, sizeof(info)) ? -EFAULT : 0;
}

static long veil_host_get_extents(struct veil_host_vm *vm, void __user *uarg)
{
	struct veil_extent __user *out;
	struct veil_get_extents g;
	struct veil_extent *buf;
	u64 i, n;
	int r;

	r = veil_host_arg_in(&g, sizeof(g), uarg);
	if (r)
		return r;
	if (g.pad)
		return -EINVAL;
	out = u64_to_user_ptr(g.extents);

	mutex_lock(&vm->lock);
	g.total = vm->set ? vm->set->nr_extents : 0;
	g.generation = vm->generation;
	n = g.start < g.total ? min(g.nr_extents, g.total - g.start) : 0;
	n = min_t(u64, n, VEIL_EXTENTS_PER_PAGE * 64);
	buf = n ? kvmalloc_array(n, sizeof(*buf), GFP_KERNEL) : NULL;
	if (n && !buf) {
		mutex_unlock(&vm->lock);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		const struct veil_host_extent *e = &vm->set->ext[g.start + i];

		/* A partial record goes back as the guest wrote it. */
		buf[i].gfn = cpu_to_le64(e->gfn);
		buf[i].npages = cpu_to_le64(e->len ? VEIL_EXTENT_PART(e->off, e->len) :
					    e->npages);
	}
	mutex_unlock(&vm->lock);

	g.nr_extents = n;
	r = 0;
	if (n && copy_to_user(out, buf, n * sizeof(*buf)))
		r = -EFAULT;
	kvfree(buf);
	if (!r && copy_to_user(uarg, &g, sizeof(g)))
		r = -EFAULT;
	return r;
}

/*
 * PREPARE in its current form, or in the 24-byte form of ABI 1 callers
 * (@size), which has no room for the guest's error.  The result is copied
 * out on EREMOTEIO too, with the guest's error in it.
 */
static long veil_host_prepare(struct veil_host_vm *vm, void __user *uarg,
			      size_t size)
{
	struct veil_prepare p = {};
	int r;

	r = veil_host_arg_in(&p, size, uarg);
	if (r)
		return r;
	if (size == sizeof(p) && p.pad)
		return -EINVAL;
	p.generation = 0;
	p.nr_pages = 0;
	p.guest_error = 0;
	r = veil_host_vm_prepare(vm, &p);
	if (r && r != -EREMOTEIO)
		return r;
	if (copy_to_user(uarg, &p, size))
		return -EFAULT;
	return r;
}

static long veil_host_move(struct veil_host_vm *vm, void __user *uarg,
			   bool sanitize)
{
	struct veil_sanitize s;
	int r;

	r = veil_host_arg_in(&s, sizeof(s), uarg);
	if (r)
		return r;
	if (s.pad)
		return -EINVAL;
	s.nr_pages = 0;
	r = sanitize ? veil_host_vm_sanitize(vm, &s.nr_pages) :
		       veil_host_vm_restore(vm, &s.nr_pages);
	if (r)
		return r;
	return copy_to_user(uarg, &s, sizeof(s)) ? -EFAULT : 0;
}

static long veil_host_ioctl(struct file *file, unsigned int cmd,
			    unsigned long arg)
{
	struct veil_host_file *vf = file->private_data;
	void __user *uarg = (void __user *)arg;
	long r;

	mutex_lock(&vf->lock);
	if (cmd == VEIL_IOC_ATTACH) {
		r = veil_host_attach(vf, uarg);
		goto out;
	}
	if (!vf->vm) {
		r = -ENOTCONN;
		goto out;
	}
	switch (cmd) {
	case VEIL_IOC_INFO:
		r = veil_host_info(vf->vm, uarg);
		break;
	case VEIL_IOC_GET_EXTENTS:
		r = veil_host_get_extents(vf->vm, uarg);
		break;
	case VEIL_IOC_PREPARE:
		r = veil_host_prepare(vf->vm, uarg, sizeof(struct veil_prepare));
		break;
	case VEIL_IOC_PREPARE_V1:
		r = veil_host_prepare(vf->vm, uarg, VEIL_PREPARE_SIZE_V1);
		break;
	case VEIL_IOC_SANITIZE:
		r = veil_host_move(vf->vm, uarg, true);
		break;
	case VEIL_IOC_RESTORE:
		r = veil_host_move(vf->vm, uarg, false);
		break;
	case VEIL_IOC_THAW:
		r = veil_host_vm_thaw(vf->vm);
		break;
	default:
		r = -ENOTTY;
		break;
	}
out:
	mutex_unlock(&vf->lock);
	return r;
}

static const struct file_operations veil_host_fops = {
	.owner = THIS_MODULE,
	.open = veil_host_open,
	.release = veil_host_release,
	.unlocked_ioctl = veil_host_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice veil_host_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "veil",
	.fops = &veil_host_fops,
	.mode = 0600,
};

int veil_host_dev_init(void)
{
	return misc_register(&veil_host_misc);
}

void veil_host_dev_exit(void)
{
	misc_deregister(&veil_host_misc);
}
