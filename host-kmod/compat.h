/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Differences between the kernels veil_host builds for (6.1, 6.12).
 * Nothing version-specific lives anywhere else in this folder.
 */
#ifndef _VEIL_HOST_COMPAT_H
#define _VEIL_HOST_COMPAT_H

#include <linux/version.h>

/* ---- veil_host ---- */

#include <linux/kvm_host.h>
#include <linux/mm.h>

/*
 * Where veil intercepts the hypercall.  From 6.12 KVM splits the hypercall
 * into kvm_emulate_hypercall(), which reads the registers, computes the
 * CPL, writes RAX and skips the instruction, and __kvm_emulate_hypercall(),
 * which dispatches on the number; veil replaces the latter for its number.
 * Before, kvm_emulate_hypercall() does everything, so veil replaces it for
 * its number and does the register work itself, as KVM would.
 */
#if KERNEL_VERSION(6, 12, 0) <= LINUX_VERSION_CODE
#define VEIL_COMPAT_HC_SPLIT	1
#define VEIL_COMPAT_HC_TARGET	((unsigned long)__kvm_emulate_hypercall)
#else
#define VEIL_COMPAT_HC_SPLIT	0
#define VEIL_COMPAT_HC_TARGET	((unsigned long)kvm_emulate_hypercall)

/* KVM's kvm_register_read_raw()/kvm_register_write_raw(), not exported. */
static inline unsigned long veil_compat_reg_read(struct kvm_vcpu *vcpu, int reg)
{
	if (!test_bit(reg, (unsigned long *)&vcpu->arch.regs_avail))
		static_call(kvm_x86_cache_reg)(vcpu, reg);
	return vcpu->arch.regs[reg];
}

static inline void veil_compat_reg_write(struct kvm_vcpu *vcpu, int reg,
					 unsigned long val)
{
	vcpu->arch.regs[reg] = val;
	__set_bit(reg, (unsigned long *)&vcpu->arch.regs_avail);
	__set_bit(reg, (unsigned long *)&vcpu->arch.regs_dirty);
}

/* KVM's is_64_bit_hypercall(). */
static inline bool veil_compat_hc_64_bit(struct kvm_vcpu *vcpu)
{
	int cs_db, cs_l;

	if (vcpu->arch.guest_state_protected)
		return true;
	if (!(vcpu->arch.efer & EFER_LMA))
		return false;
	static_call(kvm_x86_get_cs_db_l_bits)(vcpu, &cs_db, &cs_l);
	return cs_l;
}

/* Hyper-V and Xen hypercalls share the instruction; KVM routes them first. */
static inline bool veil_compat_hc_foreign(struct kvm_vcpu *vcpu)
{
	return vcpu->arch.hyperv_enabled && vcpu->kvm->arch.hyperv.hv_guest_os_id;
}
#endif

#if KERNEL_VERSION(6, 5, 0) <= LINUX_VERSION_CODE
#define veil_compat_pin_user_pages_remote(mm, start, nr, flags, pages) \
	pin_user_pages_remote(mm, start, nr, flags, pages, NULL)
#else
#define veil_compat_pin_user_pages_remote(mm, start, nr, flags, pages) \
	pin_user_pages_remote(mm, start, nr, flags, pages, NULL, NULL)
#endif

/* Memslots backed by guest_memfd (6.8+): private memory outside the mm. */
#ifdef KVM_MEM_GUEST_MEMFD
#define VEIL_COMPAT_MEM_GUEST_MEMFD	KVM_MEM_GUEST_MEMFD
#else
#define VEIL_COMPAT_MEM_GUEST_MEMFD	0
#endif

/* VMs whose memory is encrypted or private to the guest (VM types, 6.11). */
#if KERNEL_VERSION(6, 11, 0) <= LINUX_VERSION_CODE
static inline bool veil_compat_vm_protected(struct kvm *kvm)
{
	return kvm->arch.vm_type != KVM_X86_DEFAULT_VM ||
	       kvm->arch.has_private_mem || kvm->arch.has_protected_state;
}
#else
static inline bool veil_compat_vm_protected(struct kvm *kvm)
{
	return false;
}
#endif

#endif /* _VEIL_HOST_COMPAT_H */
