// SPDX-License-Identifier: GPL-2.0
/*
 * shutdown_walk: a test-only module the e2e suite loads in L1.
 *
 * When a guest's vCPU leaves with a SHUTDOWN exit (a triple fault), KVM
 * resets the vCPU at once, and the guest's registers are gone before
 * anyone can ask for them.  This module looks first: a kprobe on
 * kvm-amd's SHUTDOWN handler reads the guest's RIP, CR2 and CR3 as the exit
 * left them and walks the guest's page tables as they are in the guest's
 * memory at that moment, then logs one line:
 *
 *   shutdown_walk: tgid T tid D rip R cr2 C cr3 P: fetch WORD, cr2 WORD
 *
 * "fetch" is an instruction fetch at RIP and at RIP + 14 (the last byte of
 * the longest instruction), "cr2" a read at CR2.  WORD is "maps" when every
 * level is present, has no reserved bit set and allows the access, or
 * what stopped the walk, with the level it stopped at (5 to 1):
 * absent@L, reserved@L, nx@L (a fetch from a no-execute page), user@L (a
 * supervisor fetch from a user page under SMEP), unread@L (the entry's
 * frame is not in a memslot, or not resident in the VMM), or
 * noncanonical.
 *
 * A guest that triple-faulted on an instruction fetch its own page tables
 * allow was failed by the emulator under L1, not by what its memory held:
 * selftests/e2e/lib.sh tells the two apart with this line.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kprobes.h>
#include <linux/kvm_host.h>
#include <linux/module.h>
#include <linux/uaccess.h>

#define WALK_ADDR_MASK	GENMASK_ULL(51, 12)
#define WALK_PS		BIT_ULL(7)
#define WALK_NX		BIT_ULL(63)

enum walk_access { WALK_FETCH, WALK_READ };

struct walk_ctx {
	struct kvm_vcpu *vcpu;
	u64 cr3, cr4, efer;
	u64 rsvd;		/* address bits at or above MAXPHYADDR */
};

/* One guest page-table entry, read from the VMM's mapping of guest RAM. */
static bool walk_read_entry(struct kvm_vcpu *vcpu, u64 gpa, u64 *entry)
{
	unsigned long hva = kvm_vcpu_gfn_to_hva(vcpu, gpa >> PAGE_SHIFT);

	if (kvm_is_error_hva(hva))
		return false;
	/* atomic context: a frame that is not resident is "unread" */
	return !copy_from_user_nofault(entry,
				       (const void __user *)(hva + offset_in_page(gpa)),
				       sizeof(*entry));
}

/* Bits that must be zero in an entry at @level (4-level or 5-level paging). */
static u64 walk_reserved(const struct walk_ctx *w, int level, u64 entry)
{
	u64 rsvd = w->rsvd;

	if (!(w->efer & EFER_NX))
		rsvd |= WALK_NX;
	if (level >= 4)
		rsvd |= WALK_PS;		/* no pages above 1 GiB */
	else if (level == 3 && (entry & WALK_PS))
		rsvd |= GENMASK_ULL(29, 13);	/* 1 GiB page, PAT at bit 12 */
	else if (level == 2 && (entry & WALK_PS))
		rsvd |= GENMASK_ULL(20, 13);	/* 2 MiB page */
	return entry & rsvd;
}

/*
 * Walks @addr in the guest's tables; returns 0 and "maps", or the level the
 * walk stopped at and why in *what.
 */
static int walk_one(const struct walk_ctx *w, u64 addr, enum walk_access acc,
		    const char **what)
{
	int levels = (w->cr4 & X86_CR4_LA57) ? 5 : 4;
	int top_bit = levels == 5 ? 56 : 47;
	u64 table = w->cr3 & WALK_ADDR_MASK & ~w->rsvd;
	bool user = true;
	s64 high = (s64)addr >> top_bit;
	int level;
	u64 entry;

	if (high != 0 && high != -1) {
		*what = "noncanonical";
		return 0;
	}
	for (level = levels; level >= 1; level--) {
		unsigned int idx = (addr >> (PAGE_SHIFT + 9 * (level - 1))) & 511;

		if (!walk_read_entry(w->vcpu, table + idx * sizeof(u64), &entry)) {
			*what = "unread";
			return level;
		}
		if (!(entry & _PAGE_PRESENT)) {
			*what = "absent";
			return level;
		}
		if (walk_reserved(w, level, entry)) {
			*what = "reserved";
			return level;
		}
		if (acc == WALK_FETCH && (w->efer & EFER_NX) && (entry & WALK_NX)) {
			*what = "nx";
			return level;
		}
		user &= !!(entry & _PAGE_USER);
		if (level <= 3 && (level == 1 || (entry & WALK_PS)))
			break;
		table = entry & WALK_ADDR_MASK & ~w->rsvd;
	}
	/* a fetch in the upper half is the guest kernel's */
	if (acc == WALK_FETCH && user && high == -1 && (w->cr4 & X86_CR4_SMEP)) {
		*what = "user";
		return level;
	}
	*what = "maps";
	return 0;
}

static void walk_word(char *buf, size_t len, const char *what, int level)
{
	if (level)
		snprintf(buf, len, "%s@%d", what, level);
	else
		snprintf(buf, len, "%s", what);
}

static int shutdown_walk_pre(struct kprobe *p, struct pt_regs *regs)
{
	/* shutdown_interception(struct kvm_vcpu *vcpu) */
	struct kvm_vcpu *vcpu = (struct kvm_vcpu *)regs->di;
	u64 rip = vcpu->arch.regs[VCPU_REGS_RIP], cr2 = vcpu->arch.cr2;
	struct walk_ctx w = {
		.vcpu = vcpu,
		.cr3 = vcpu->arch.cr3,
		.cr4 = vcpu->arch.cr4,
		.efer = vcpu->arch.efer,
	};
	char fetch[24], read[24];
	const char *what;
	int level;

	if (boot_cpu_data.x86_phys_bits < 52)
		w.rsvd = GENMASK_ULL(51, boot_cpu_data.x86_phys_bits);
	level = walk_one(&w, rip, WALK_FETCH, &what);
	if (!level && !strcmp(what, "maps") &&
	    ((rip + 14) >> PAGE_SHIFT) != (rip >> PAGE_SHIFT))
		level = walk_one(&w, rip + 14, WALK_FETCH, &what);
	walk_word(fetch, sizeof(fetch), what, level);
	level = walk_one(&w, cr2, WALK_READ, &what);
	walk_word(read, sizeof(read), what, level);
	/*
	 * At error level for L1's console (loglevel=4): an L1 that dies right
	 * after a guest's triple fault (the stack-end panic, in that guest's
	 * vCPU thread) leaves only its console.
	 */
	pr_err("tgid %d tid %d rip %llx cr2 %llx cr3 %llx: fetch %s, cr2 %s\n",
	       task_tgid_nr(current), task_pid_nr(current), rip, cr2, w.cr3,
	       fetch, read);
	return 0;
}

static struct kprobe shutdown_walk_probe = {
	.symbol_name = "kvm_amd:shutdown_interception",
	.pre_handler = shutdown_walk_pre,
};

static int __init shutdown_walk_init(void)
{
	int ret = register_kprobe(&shutdown_walk_probe);

	if (ret)
		pr_err("no probe on kvm_amd's shutdown_interception: %d\n", ret);
	return ret;
}

static void __exit shutdown_walk_exit(void)
{
	unregister_kprobe(&shutdown_walk_probe);
}

module_init(shutdown_walk_init);
module_exit(shutdown_walk_exit);
MODULE_DESCRIPTION("veil e2e test bed: a guest's page walk at its triple fault");
MODULE_LICENSE("GPL");
