// SPDX-License-Identifier: GPL-2.0
/*
 * tf_guest MODE: runs a 64-bit guest of the host suite's small VMM that
 * triple-faults at once, and prints "tid TID rip RIP" (the vCPU thread and
 * where it faulted) when KVM_RUN ends with KVM_EXIT_SHUTDOWN.  The guest's
 * IDT is all zero, so no exception it takes can be delivered.  MODE says
 * what its first instruction fetch meets in its own page tables:
 *
 *   absent    the fetch is from a GiB with no page-directory table
 *   reserved  a 2 MiB page whose entry has a reserved bit (13) set
 *   nx        a 2 MiB page marked no-execute (EFER.NXE is on)
 *   ud2       a mapped page holding ud2: the walk allows the fetch, and
 *             the first event is an invalid opcode, not a page fault
 *
 * The e2e program tb_triple_fault checks what shutdown_walk logs of each,
 * and that the suite's judge calls none of them the test bed's.
 */
#include "../host/vmm.h"

#define TF_UD2_GPA	0x1200UL
#define TF_EFER_NXE	0x800ULL
#define TF_PDE_2M	0x83ULL			/* present, writable, 2 MiB */

int main(int argc, char **argv)
{
	struct kvm_sregs sregs;
	struct vmm v;
	uint64_t *pd, rip;
	int r;

	if (argc != 2) {
		fprintf(stderr, "usage: tf_guest absent|reserved|nx|ud2\n");
		return 2;
	}
	r = vmm_create_mode(&v, 0, true);
	if (r) {
		fprintf(stderr, "tf_guest: no VM: %s\n", strerror(-r));
		return r == -ENOENT ? 4 : 1;
	}
	v.mem[TF_UD2_GPA] = 0x0f;
	v.mem[TF_UD2_GPA + 1] = 0x0b;
	pd = (uint64_t *)(v.mem + VMM_PT_GPA + 0x2000);
	if (!strcmp(argv[1], "absent")) {
		rip = 1UL << 30;			/* PDPT entry 1: empty */
	} else if (!strcmp(argv[1], "reserved")) {
		pd[2] = TF_PDE_2M | (1ULL << 13);	/* GPA 0 again */
		rip = (2UL << 21) + TF_UD2_GPA;
	} else if (!strcmp(argv[1], "nx")) {
		pd[3] = TF_PDE_2M | (1ULL << 63);
		rip = (3UL << 21) + TF_UD2_GPA;
	} else if (!strcmp(argv[1], "ud2")) {
		rip = TF_UD2_GPA;
	} else {
		fprintf(stderr, "tf_guest: no mode '%s'\n", argv[1]);
		return 2;
	}
	if (ioctl(v.vcpu, KVM_GET_SREGS, &sregs))
		goto fail;
	sregs.efer |= TF_EFER_NXE;
	if (ioctl(v.vcpu, KVM_SET_SREGS, &sregs))
		goto fail;
	r = vmm_set_regs(&v, rip, 0, 0, 0, 0, 0);
	if (r) {
		errno = -r;
		goto fail;
	}
	if (ioctl(v.vcpu, KVM_RUN, 0))
		goto fail;
	if (v.run->exit_reason != KVM_EXIT_SHUTDOWN) {
		fprintf(stderr, "tf_guest: KVM_RUN ended with exit reason %u, not SHUTDOWN\n",
			v.run->exit_reason);
		return 1;
	}
	printf("tid %ld rip %lx\n", (long)syscall(SYS_gettid), (unsigned long)rip);
	vmm_destroy(&v);
	return 0;
fail:
	fprintf(stderr, "tf_guest: %s\n", strerror(errno));
	return 1;
}
