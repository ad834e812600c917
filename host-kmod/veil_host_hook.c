// SPDX-License-Identifier: GPL-2.0
/*
 * veil_host: where veil meets KVM.  Three ftrace hooks that may change the
 * instruction pointer (FTRACE_OPS_FL_IPMODIFY):
 *
 *  - KVM's hypercall emulation: veil's number goes to veil_host_hypercall(),
 *    every other number to KVM untouched;
 *  - kvm_arch_vcpu_ioctl_run(): a vCPU of a sanitized VM is held before it
 *    enters the guest, until RESTORE (or a signal);
 *  - kvm_arch_pre_destroy_vm(): veil forgets a VM before KVM frees it.
 *
 * A replacement that must still run KVM's function calls it through the
 * traced address; the hook recognises the call by its caller being this
 * module and lets it through.  Every diversion is counted in
 * veil_host_inflight until the replacement returns, so that unloading waits
 * for the last one.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/ftrace.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/rcupdate.h>
#include <asm/ibt.h>

#include "compat.h"
#include "veil_host.h"

static atomic_t veil_host_inflight = ATOMIC_INIT(0);

static unsigned long veil_host_run_addr;
static unsigned long veil_host_destroy_addr;

/*
 * The address of a function KVM does not export, from the kprobe that
 * would be placed on it.  With IBT the kprobe sits after the ENDBR; the
 * function itself (which veil calls) starts before it.
 */
static unsigned long veil_host_lookup(const char *name)
{
	struct kprobe kp = { .symbol_name = name };
	unsigned long addr;

	if (register_kprobe(&kp) < 0)
		return 0;
	addr = (unsigned long)kp.addr;
	unregister_kprobe(&kp);
	if (IS_ENABLED(CONFIG_X86_KERNEL_IBT) &&
	    is_endbr(*(u32 *)(addr - ENDBR_INSN_SIZE)))
		addr -= ENDBR_INSN_SIZE;
	return addr;
}

static void veil_host_divert(struct ftrace_regs *fregs, void *to)
{
	atomic_inc(&veil_host_inflight);
	ftrace_get_regs(fregs)->ip = (unsigned long)to;
}

static void veil_host_diverted_done(void)
{
	atomic_dec(&veil_host_inflight);
}

/*
 * A hypercall from a nested (L2) guest that L1 did not intercept: it is
 * meant for L1's hypervisor, not for veil, and goes to KVM untouched.
 */
static bool veil_host_from_l2(struct kvm_vcpu *vcpu)
{
	if (!(vcpu->arch.hflags & HF_GUEST_MASK))
		return false;
	pr_info_ratelimited("VM of pid %d: veil's hypercall from a nested guest left to KVM\n",
			    vcpu->kvm->userspace_pid);
	return true;
}

/* ---- hypercall ---- */

#if VEIL_COMPAT_HC_SPLIT

/* Same prototype as __kvm_emulate_hypercall(); the caller writes RAX. */
static unsigned long veil_host_emulate_hc(struct kvm_vcpu *vcpu,
					  unsigned long nr, unsigned long a0,
					  unsigned long a1, unsigned long a2,
					  unsigned long a3, int op_64_bit,
					  int cpl)
{
	unsigned long ret;

	ret = veil_host_hypercall(vcpu, nr, a0, a1, a2, a3, op_64_bit, cpl);
	++vcpu->stat.hypercalls;
	veil_host_diverted_done();
	return ret;
}

static void notrace veil_host_hc_hook(unsigned long ip, unsigned long parent_ip,
				      struct ftrace_ops *op,
				      struct ftrace_regs *fregs)
{
	struct kvm_vcpu *vcpu = (struct kvm_vcpu *)ftrace_get_regs(fregs)->di;

	/* nr is the second argument; KVM masks it to 32 bits outside long mode. */
	if ((u32)ftrace_get_regs(fregs)->si == VEIL_HC_NR && !veil_host_from_l2(vcpu))
		veil_host_divert(fregs, veil_host_emulate_hc);
}

#else /* !VEIL_COMPAT_HC_SPLIT */

/*
 * KVM's vendor operations, for get_cpl: neither the table nor its static
 * calls are exported before 6.12.  Filled by the vendor module when it
 * loads, so read at each call.
 */
static struct kvm_x86_ops *veil_host_x86_ops;

static int veil_host_cpl(struct kvm_vcpu *vcpu)
{
	int (*get_cpl)(struct kvm_vcpu *vcpu) = READ_ONCE(veil_host_x86_ops->get_cpl);

	return get_cpl ? get_cpl(vcpu) : 3;
}

/* Same prototype as kvm_emulate_hypercall(): the whole emulation. */
static int veil_host_emulate_hc(struct kvm_vcpu *vcpu)
{
	unsigned long nr, a0, a1, a2, a3, ret;
	bool op_64_bit = veil_compat_hc_64_bit(vcpu);
	int r;

	nr = veil_compat_reg_read(vcpu, VCPU_REGS_RAX);
	a0 = veil_compat_reg_read(vcpu, VCPU_REGS_RBX);
	a1 = veil_compat_reg_read(vcpu, VCPU_REGS_RCX);
	a2 = veil_compat_reg_read(vcpu, VCPU_REGS_RDX);
	a3 = veil_compat_reg_read(vcpu, VCPU_REGS_RSI);

	ret = veil_host_hypercall(vcpu, nr, a0, a1, a2, a3, op_64_bit,
				  veil_host_cpl(vcpu));
	if (!op_64_bit)
		ret = (u32)ret;
	veil_compat_reg_write(vcpu, VCPU_REGS_RAX, ret);
	++vcpu->stat.hypercalls;
	r = kvm_skip_emulated_instruction(vcpu);
	veil_host_diverted_done();
	return r;
}

static void notrace veil_host_hc_hook(unsigned long ip, unsigned long parent_ip,
				      struct ftrace_ops *op,
				      struct ftrace_regs *fregs)
{
	struct kvm_vcpu *vcpu = (struct kvm_vcpu *)ftrace_get_regs(fregs)->di;

	if (veil_compat_hc_foreign(vcpu))
		return;
	if ((u32)veil_compat_reg_read(vcpu, VCPU_REGS_RAX) == VEIL_HC_NR &&
	    !veil_host_from_l2(vcpu))
		veil_host_divert(fregs, veil_host_emulate_hc);
}

#endif /* VEIL_COMPAT_HC_SPLIT */

/* ---- KVM_RUN ---- */

static int veil_host_run(struct kvm_vcpu *vcpu)
{
	int (*kvm_run)(struct kvm_vcpu *vcpu) = (void *)veil_host_run_addr;
	int r;

	r = veil_host_vm_run_held(vcpu);
	if (!r)
		r = kvm_run(vcpu);
	veil_host_diverted_done();
	return r;
}

static void notrace veil_host_run_hook(unsigned long ip, unsigned long parent_ip,
				       struct ftrace_ops *op,
				       struct ftrace_regs *fregs)
{
	struct kvm_vcpu *vcpu = (struct kvm_vcpu *)ftrace_get_regs(fregs)->di;
	bool held;

	if (within_module(parent_ip, THIS_MODULE))
		return;
	rcu_read_lock();
	held = veil_host_vm_held_rcu(vcpu->kvm);
	rcu_read_unlock();
	if (held)
		veil_host_divert(fregs, veil_host_run);
}

/* ---- VM destruction ---- */

static void veil_host_pre_destroy(struct kvm *kvm)
{
	void (*kvm_pre_destroy)(struct kvm *kvm) = (void *)veil_host_destroy_addr;

	veil_host_vm_destroyed(kvm);
	kvm_pre_destroy(kvm);
	veil_host_diverted_done();
}

static void notrace veil_host_destroy_hook(unsigned long ip,
					   unsigned long parent_ip,
					   struct ftrace_ops *op,
					   struct ftrace_regs *fregs)
{
	struct kvm *kvm = (struct kvm *)ftrace_get_regs(fregs)->di;
	bool known;

	if (within_module(parent_ip, THIS_MODULE))
		return;
	rcu_read_lock();
	known = veil_host_vm_known_rcu(kvm);
	rcu_read_unlock();
	if (known)
		veil_host_divert(fregs, veil_host_pre_destroy);
}

/* ---- registration ---- */

/*
 * Permanent: with the hooks off (sysctl kernel.ftrace_enabled=0) a vCPU of
 * a sanitized VM would run on zeroed frames and a destroyed VM would leave
 * its entry to the next struct kvm at that address, so ftrace refuses to
 * be turned off while veil_host is loaded.
 */
#define VEIL_HOST_HOOK_FLAGS	(FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_IPMODIFY | \
				 FTRACE_OPS_FL_PERMANENT)

static struct ftrace_ops veil_host_destroy_ops = {
	.func = veil_host_destroy_hook,
	.flags = VEIL_HOST_HOOK_FLAGS,
};

static struct ftrace_ops veil_host_run_ops = {
	.func = veil_host_run_hook,
	.flags = VEIL_HOST_HOOK_FLAGS,
};

static struct ftrace_ops veil_host_hc_ops = {
	.func = veil_host_hc_hook,
	.flags = VEIL_HOST_HOOK_FLAGS,
};

static int veil_host_hook_one(struct ftrace_ops *ops, unsigned long addr,
			      const char *name)
{
	int r;

	if (!addr) {
		pr_err("cannot find %s in KVM\n", name);
		return -ENOENT;
	}
	r = ftrace_set_filter_ip(ops, addr, 0, 0);
	if (r) {
		pr_err("cannot trace %s: %d\n", name, r);
		return r;
	}
	r = register_ftrace_function(ops);
	if (r) {
		pr_err("cannot hook %s: %d\n", name, r);
		ftrace_set_filter_ip(ops, addr, 1, 0);
	}
	return r;
}

static void veil_host_unhook_one(struct ftrace_ops *ops, unsigned long addr)
{
	unregister_ftrace_function(ops);
	ftrace_set_filter_ip(ops, addr, 1, 0);
}

int veil_host_hooks_init(void)
{
	int r;

#if !VEIL_COMPAT_HC_SPLIT
	unsigned long (*lookup_name)(const char *name);

	lookup_name = (void *)veil_host_lookup("kallsyms_lookup_name");
	if (lookup_name)
		veil_host_x86_ops = (void *)lookup_name("kvm_x86_ops");
	if (!veil_host_x86_ops) {
		pr_err("cannot find kvm_x86_ops in KVM\n");
		return -ENOENT;
	}
#endif
	veil_host_run_addr = veil_host_lookup("kvm_arch_vcpu_ioctl_run");
	veil_host_destroy_addr = veil_host_lookup("kvm_arch_pre_destroy_vm");

	/* Forgetting VMs first: a VM veil knows must never outlive its entry. */
	r = veil_host_hook_one(&veil_host_destroy_ops, veil_host_destroy_addr,
			       "kvm_arch_pre_destroy_vm");
	if (r)
		return r;
	r = veil_host_hook_one(&veil_host_run_ops, veil_host_run_addr,
			       "kvm_arch_vcpu_ioctl_run");
	if (r)
		goto err_destroy;
	r = veil_host_hook_one(&veil_host_hc_ops, VEIL_COMPAT_HC_TARGET,
			       "the hypercall emulation");
	if (r)
		goto err_run;
	return 0;

err_run:
	veil_host_unhook_one(&veil_host_run_ops, veil_host_run_addr);
err_destroy:
	veil_host_unhook_one(&veil_host_destroy_ops, veil_host_destroy_addr);
	return r;
}

void veil_host_hooks_exit(void)
{
	veil_host_unhook_one(&veil_host_hc_ops, VEIL_COMPAT_HC_TARGET);
	veil_host_unhook_one(&veil_host_run_ops, veil_host_run_addr);
	veil_host_unhook_one(&veil_host_destroy_ops, veil_host_destroy_addr);

	/* No new diversions; wait for those under way to return. */
	while (atomic_read(&veil_host_inflight))
		msleep(20);
	/* ...and for their last instructions after the counter dropped. */
	synchronize_rcu_tasks();
}
