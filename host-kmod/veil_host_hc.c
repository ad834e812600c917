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

#define veil_host_reject(vm, fmt, ...) \
	pr_warn_ratelimited("vm %u: " fmt, (vm)->id, ##__VA_ARGS__)

static long veil_host_hc_register(struct veil_host_vm *vm, unsigned long gpa,
				  unsigned long abi)
{
	/* The head of struct veil_control: magic and abi_version. */
	__le32 hdr[2];
	unsigned int max_abi;

	BUILD_BUG_ON(offsetof(struct veil_control, magic) != 0 ||
		     offsetof(struct veil_control, abi_version) != 4);
	if (vm->state == VEIL_HOST_SANITIZED) {
		veil_host_reject(vm, "REGISTER while sanitized\n");
		return -KVM_EINVAL;
	}
	max_abi = READ_ONCE(veil_host_max_abi);
	if (abi < 1 || abi > max_abi) {
		veil_host_reject(vm, "REGISTER with ABI version %lu, host takes 1..%u\n",
				 abi, max_abi);
		return -KVM_EINVAL;
	}
	if (!PAGE_ALIGNED(gpa)) {
		veil_host_reject(vm, "REGISTER: control page 0x%lx is not page-aligned\n",
				 gpa);
		return -KVM_EINVAL;
	}
	if (!veil_host_mem_is_ram(vm->kvm, gpa >> PAGE_SHIFT, 1) ||
	    kvm_read_guest(vm->kvm, gpa, hdr, sizeof(hdr))) {
		veil_host_reject(vm, "REGISTER: control page 0x%lx is not guest RAM\n",
				 gpa);
		return -KVM_EFAULT;
	}
	if (le32_to_cpu(hdr[0]) != VEIL_CONTROL_MAGIC ||
	    le32_to_cpu(hdr[1]) != abi) {
		veil_host_reject(vm, "REGISTER: control page 0x%lx has magic 0x%x version %u\n",
				 gpa, le32_to_cpu(hdr[0]), le32_to_cpu(hdr[1]));
		return -KVM_EINVAL;
	}

	/* A new registration is a new guest (reboot, kexec): forget the old set. */
	veil_host_vm_forget_locked(vm);
	vm->registered = true;
	vm->guest_abi = abi;
	vm->control_gpa = gpa;
	pr_debug("vm %u: registered control page 0x%lx, ABI %lu\n", vm->id, gpa, abi);
	return 0;
}

/*
 * Decodes a partial record (ABI 2): the bytes [off, off + len) of one frame.
 * Every bit of @npages besides VEIL_EXTENT_PARTIAL, off and len must be
 * zero; stray ones land in off, above the frame.
 */
static long veil_host_check_partial(struct veil_host_vm *vm, u64 idx,
				    u64 npages, u32 *off, u32 *len)
{
	if (vm->guest_abi < 2) {
		veil_host_reject(vm, "PUBLISH: extent %llu is partial, guest ABI %u\n",
				 idx, vm->guest_abi);
		return -KVM_EINVAL;
	}
	*off = VEIL_EXTENT_OFF(npages);
	*len = VEIL_EXTENT_LEN(npages);
	if (*off >= PAGE_SIZE) {
		veil_host_reject(vm, "PUBLISH: extent %llu: offset %u past the frame (0x%llx)\n",
				 idx, *off, npages);
		return -KVM_EINVAL;
	}
	if (!*len) {
		veil_host_reject(vm, "PUBLISH: extent %llu is an empty partial record\n",
				 idx);
		return -KVM_EINVAL;
	}
	if (*len > PAGE_SIZE - *off) {
		veil_host_reject(vm, "PUBLISH: extent %llu: %u bytes at %u cross the frame\n",
				 idx, *len, *off);
		return -KVM_EINVAL;
	}
	return 0;
}

/*
 * Checks one record against the end of the previous one, @prev_end (a GPA,
 * 0 before the first record), and against the memslots; on success stores
 * it in @out and moves @prev_end to its end.
 */
static long veil_host_check_extent(struct veil_host_vm *vm, u64 idx,
				   const struct veil_extent *rec, u64 *prev_end,
				   struct veil_host_extent *out)
{
	u64 gfn = le64_to_cpu(rec->gfn), npages = le64_to_cpu(rec->npages);
	u64 start, end;
	u32 off = 0, len = 0;
	long r;

	if (npages & VEIL_EXTENT_PARTIAL) {
		r = veil_host_check_partial(vm, idx, npages, &off, &len);
		if (r)
			return r;
		npages = 1;
	} else if (!npages) {
		veil_host_reject(vm, "PUBLISH: extent %llu is empty\n", idx);
		return -KVM_EINVAL;
	}
	if (gfn + npages < gfn || gfn + npages > (1ULL << (52 - PAGE_SHIFT))) {
		veil_host_reject(vm, "PUBLISH: extent %llu (gfn 0x%llx, %llu pages) overflows\n",
				 idx, gfn, npages);
		return -KVM_EINVAL;
	}
	/* Below 2^52: neither shift nor sum overflows. */
	start = (gfn << PAGE_SHIFT) + off;
	end = len ? start + len : (gfn + npages) << PAGE_SHIFT;
	if (start < *prev_end) {
		veil_host_reject(vm, "PUBLISH: extent %llu at GPA 0x%llx < 0x%llx\n",
				 idx, start, *prev_end);
		return -KVM_EINVAL;
	}
	if (!veil_host_mem_is_ram(vm->kvm, gfn, npages)) {
		veil_host_reject(vm, "PUBLISH: extent %llu (gfn 0x%llx +%llu) not guest RAM\n",
				 idx, gfn, npages);
		return -KVM_EFAULT;
	}
	out->gfn = gfn;
	out->npages = npages;
	out->off = off;
	out->len = len;
	*prev_end = end;
	return 0;
}

/* Reads the extent-page chain at @gpa into @set; no more than @count records. */
static long veil_host_read_chain(struct veil_host_vm *vm, gpa_t gpa, u64 count,
				 struct veil_host_set *set,
				 struct veil_extent_page *page)
{
	u64 max_pages = (u64)veil_host_max_mib << (20 - PAGE_SHIFT);
	u64 idx = 0, prev_end = 0;
	u32 i, n;
	long r;

	while (idx < count) {
		if (!gpa || !PAGE_ALIGNED(gpa)) {
			veil_host_reject(vm, "PUBLISH: extent page 0x%llx at %llu/%llu: %s\n",
					 (u64)gpa, idx, count,
					 gpa ? "not page-aligned" : "missing");
			return -KVM_EINVAL;
		}
		if (!veil_host_mem_is_ram(vm->kvm, gpa >> PAGE_SHIFT, 1) ||
		    kvm_read_guest(vm->kvm, gpa, page, sizeof(*page))) {
			veil_host_reject(vm, "PUBLISH: extent page 0x%llx is not guest RAM\n",
					 (u64)gpa);
			return -KVM_EFAULT;
		}
		n = le32_to_cpu(page->count);
		if (!n || n > VEIL_EXTENTS_PER_PAGE || n > count - idx ||
		    page->reserved) {
			veil_host_reject(vm, "PUBLISH: page 0x%llx: %u recs, rsvd %x, %llu left\n",
					 (u64)gpa, n, le32_to_cpu(page->reserved),
					 count - idx);
			return -KVM_EINVAL;
		}
		for (i = 0; i < n; i++, idx++) {
			r = veil_host_check_extent(vm, idx, &page->ext[i], &prev_end,
						   &set->ext[idx]);
			if (r)
				return r;
			/* One frame, and one stash slot, per partial record. */
			set->nr_pages += set->ext[idx].npages;
			if (set->nr_pages > max_pages) {
				veil_host_reject(vm, "PUBLISH: more than %u MiB excluded\n",
						 veil_host_max_mib);
				return -KVM_E2BIG;
			}
		}
		gpa = le64_to_cpu(page->next);
	}
	if (gpa) {
		/* Also how a chain that loops ends: longer than announced. */
		veil_host_reject(vm, "PUBLISH: extent page chain goes on after %llu extents\n",
				 count);
		return -KVM_EINVAL;
	}
	set->nr_extents = count;
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
	pr_info_ratelimited("vm %u: guest restored from a sanitized image: flags 0x%lx, %lu tasks killed, %lu notified\n",
			    vm->id, flags, killed, notified);
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
