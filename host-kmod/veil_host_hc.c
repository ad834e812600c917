// SPDX-License-Identifier: GPL-2.0
/*
 * veil_host: the hypercall.  Everything the guest sends is untrusted: every
 * GPA is checked against the memslots, every record against its
 * neighbours, the work per call is bounded by the caps, and a call that
 * fails changes nothing.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kvm_para.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "compat.h"
#include "veil_host.h"
#include "veil_host_validate.h"

#define veil_host_reject(vm, fmt, ...) \
	veil_log_warn(&(vm)->log, fmt, ##__VA_ARGS__)

static long veil_host_hc_register(struct veil_host_vm *vm, unsigned long gpa,
				  unsigned long abi)
{
	/* The head of struct veil_control: magic and abi_version. */
	__le32 hdr[2];
	unsigned int max_abi;
	long r;

	BUILD_BUG_ON(offsetof(struct veil_control, magic) != 0 ||
		     offsetof(struct veil_control, abi_version) != 4);
	if (vm->state == VEIL_HOST_SANITIZED) {
		veil_host_reject(vm, "REGISTER while sanitized\n");
		return -KVM_EINVAL;
	}
	max_abi = READ_ONCE(veil_host_max_abi);
	r = veil_host_validate_register(&vm->log, gpa, abi, max_abi);
	if (r)
		return r;
	if (!veil_host_mem_is_ram(vm->kvm, gpa >> PAGE_SHIFT, 1) ||
	    kvm_read_guest(vm->kvm, gpa, hdr, sizeof(hdr))) {
		veil_host_reject(vm, "REGISTER: control page 0x%lx is not guest RAM\n",
				 gpa);
		return -KVM_EFAULT;
	}
	r = veil_host_validate_control(&vm->log, gpa, abi, hdr);
	if (r)
		return r;

	/* A new registration is a new guest (reboot, kexec): forget the old set. */
	veil_host_vm_forget_locked(vm);
	vm->registered = true;
	vm->guest_abi = abi;
	vm->control_gpa = gpa;
	pr_debug("vm %u: registered control page 0x%lx, ABI %lu\n", vm->id, gpa, abi);
	return 0;
}

/* Guest RAM for veil_host_validate_extent(): @kvm is the VM's. */
static bool veil_host_hc_is_ram(void *kvm, u64 gfn, u64 npages)
{
	return veil_host_mem_is_ram(kvm, gfn, npages);
}

/* Reads the extent-page chain at @gpa into @set; no more than @count records. */
static long veil_host_read_chain(struct veil_host_vm *vm, gpa_t gpa, u64 count,
				 struct veil_host_set *set,
				 struct veil_extent_page *page)
{
	struct veil_host_validate v = {
		.log = &vm->log,
		.guest_abi = vm->guest_abi,
		.count = count,
		.max_mib = READ_ONCE(veil_host_max_mib),
		.is_ram = veil_host_hc_is_ram,
		.ctx = vm->kvm,
	};
	struct veil_host_extent *e;
	struct veil_host_record rec;
	u32 i, n;
	long r;

	while (v.idx < count) {
		r = veil_host_validate_link(&v, gpa);
		if (r)
			return r;
		if (!veil_host_mem_is_ram(vm->kvm, gpa >> PAGE_SHIFT, 1) ||
		    kvm_read_guest(vm->kvm, gpa, page, sizeof(*page))) {
			veil_host_reject(vm, "PUBLISH: extent page 0x%llx is not guest RAM\n",
					 (u64)gpa);
			return -KVM_EFAULT;
		}
		r = veil_host_validate_page(&v, gpa, page, &n);
		if (r)
			return r;
		for (i = 0; i < n; i++) {
			e = &set->ext[v.idx];
			r = veil_host_validate_extent(&v, &page->ext[i], &rec);
			if (r)
				return r;
			e->gfn = rec.gfn;
			e->npages = rec.npages;
			e->off = rec.off;
			e->len = rec.len;
		}
		gpa = le64_to_cpu(page->next);
		/* Up to max_extents / 255 pages, under vm->lock: let others run. */
		cond_resched();
	}
	r = veil_host_validate_end(&v, gpa);
	if (r)
		return r;
	set->nr_extents = count;
	set->nr_pages = v.nr_pages;
	return 0;
}

static long veil_host_hc_publish(struct veil_host_vm *vm, unsigned long gpa,
				 unsigned long count, unsigned long generation)
{
	struct veil_extent_page *page = NULL;
	struct veil_host_set *set;
	long r;

	if (!vm->registered) {
		veil_host_reject(vm, "PUBLISH before REGISTER\n");
		return -KVM_EINVAL;
	}
	if (vm->state == VEIL_HOST_SANITIZED) {
		veil_host_reject(vm, "PUBLISH while sanitized\n");
		return -KVM_EINVAL;
	}
	if (generation <= vm->generation) {
		veil_host_reject(vm, "PUBLISH: generation %lu is not after %llu\n",
				 generation, vm->generation);
		return -KVM_EINVAL;
	}
	if (count > veil_host_max_extents) {
		veil_host_reject(vm, "PUBLISH: %lu extents, the cap is %u\n",
				 count, veil_host_max_extents);
		return -KVM_E2BIG;
	}

	set = kvzalloc(struct_size(set, ext, count), GFP_KERNEL_ACCOUNT);
	if (!set)
		return -KVM_E2BIG;
	if (count) {
		page = kmalloc(sizeof(*page), GFP_KERNEL);
		if (!page) {
			kvfree(set);
			return -KVM_E2BIG;
		}
		r = veil_host_read_chain(vm, gpa, count, set, page);
		kfree(page);
		if (r) {
			kvfree(set);
			return r;
		}
	}

	kvfree(vm->set);
	vm->set = set;
	vm->generation = generation;
	vm->c.publishes++;
	pr_debug("vm %u: generation %lu, %llu extents, %llu pages\n",
		 vm->id, generation, set->nr_extents, set->nr_pages);
	return 0;
}

static long veil_host_hc_ack(struct veil_host_vm *vm, unsigned long seq)
{
	gpa_t ctl = vm->control_gpa;
	__le64 gen;
	__le32 err;

	if (!vm->registered || !vm->req_seq || seq != vm->req_seq) {
		veil_host_reject(vm, "ACK of request %lu, the last sent is %llu\n",
				 seq, vm->req_seq);
		return -KVM_EINVAL;
	}
	/* What the guest says of its PREPARE, written before the ACK. */
	if (kvm_read_guest(vm->kvm, ctl + offsetof(struct veil_control, guest_generation),
			   &gen, sizeof(gen)) ||
	    kvm_read_guest(vm->kvm, ctl + offsetof(struct veil_control, guest_error),
			   &err, sizeof(err))) {
		veil_host_reject(vm, "ACK %lu: the control page cannot be read\n", seq);
		return -KVM_EFAULT;
	}
	vm->ack_generation = le64_to_cpu(gen);
	vm->ack_error = le32_to_cpu(err);
	WRITE_ONCE(vm->ack_seq, seq);
	wake_up_all(&vm->wq);
	pr_debug("vm %u: ack %lu\n", vm->id, seq);
	return 0;
}

#define VEIL_RESTORED_ALL	(VEIL_RESTORED_KILLED | VEIL_RESTORED_NOTIFIED | \
				 VEIL_RESTORED_TTY | VEIL_RESTORED_PAGECACHE)

static long veil_host_hc_restored(struct veil_host_vm *vm, unsigned long flags,
				  unsigned long killed, unsigned long notified)
{
	if (!vm->registered || (flags & ~(unsigned long)VEIL_RESTORED_ALL)) {
		veil_host_reject(vm, "RESTORED with flags 0x%lx\n", flags);
		return -KVM_EINVAL;
	}
	vm->c.restored_flags = flags;
	veil_log_info(&vm->log, "guest restored from a sanitized image: flags 0x%lx, %lu tasks killed, %lu notified\n",
		      flags, killed, notified);
	return 0;
}

static long veil_host_hc_unregister(struct veil_host_vm *vm, unsigned long gpa)
{
	if (!vm->registered || gpa != vm->control_gpa) {
		veil_host_reject(vm, "UNREGISTER of 0x%lx, registered: 0x%llx\n",
				 gpa, vm->registered ? (u64)vm->control_gpa : 0);
		return -KVM_EINVAL;
	}
	if (vm->state == VEIL_HOST_SANITIZED) {
		veil_host_reject(vm, "UNREGISTER while sanitized\n");
		return -KVM_EINVAL;
	}
	veil_host_vm_forget_locked(vm);
	pr_debug("vm %u: unregistered\n", vm->id);
	return 0;
}

/*
 * A VM whose memory the host cannot read or write as plain pages (SEV-ES,
 * SNP, private guest_memfd memory): zeroing it would corrupt it, not hide
 * it.
 */
static bool veil_host_vm_protected(struct kvm_vcpu *vcpu)
{
	return vcpu->arch.guest_state_protected || veil_compat_vm_protected(vcpu->kvm);
}

/*
 * veil's hypercall, with KVM's conventions: arguments already truncated
 * outside long mode, a negative KVM_E* result, -KVM_EPERM from CPL != 0.
 * Runs on the vCPU thread, which keeps the VM alive.
 */
unsigned long veil_host_hypercall(struct kvm_vcpu *vcpu, unsigned long nr,
				  unsigned long a0, unsigned long a1,
				  unsigned long a2, unsigned long a3,
				  int op_64_bit, int cpl)
{
	struct veil_host_vm *vm;
	long r;

	if (!op_64_bit) {
		nr &= 0xffffffff;
		a0 &= 0xffffffff;
		a1 &= 0xffffffff;
		a2 &= 0xffffffff;
		a3 &= 0xffffffff;
	}
	/* As KVM: CPL first, then the number (the high half made it foreign). */
	if (cpl)
		return -KVM_EPERM;
	if (nr != VEIL_HC_NR)
		return -KVM_ENOSYS;

	if (veil_host_vm_protected(vcpu)) {
		pr_warn_ratelimited("VM of pid %d has protected memory (SEV-ES, SNP or private memory): veil refuses it\n",
				    vcpu->kvm->userspace_pid);
		return -KVM_EPERM;
	}

	vm = veil_host_vm_get(vcpu->kvm, true);
	if (!vm)
		return -KVM_E2BIG;

	mutex_lock(&vm->lock);
	vm->c.hypercalls++;
	switch (a0) {
	case VEIL_HC_REGISTER:
		r = veil_host_hc_register(vm, a1, a2);
		break;
	case VEIL_HC_PUBLISH:
		r = veil_host_hc_publish(vm, a1, a2, a3);
		break;
	case VEIL_HC_ACK:
		r = veil_host_hc_ack(vm, a1);
		break;
	case VEIL_HC_RESTORED:
		r = veil_host_hc_restored(vm, a1, a2, a3);
		break;
	case VEIL_HC_UNREGISTER:
		r = veil_host_hc_unregister(vm, a1);
		break;
	default:
		veil_host_reject(vm, "unknown sub-operation %lu\n", a0);
		r = -KVM_EINVAL;
		break;
	}
	if (r)
		vm->c.rejected++;
	mutex_unlock(&vm->lock);
	veil_host_vm_put(vm);
	return r;
}
