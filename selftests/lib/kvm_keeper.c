// SPDX-License-Identifier: GPL-2.0
/*
 * kvm_keeper: holds KVM's static keys steady for the life of a test VM.
 *
 * KVM enables static keys when the first VM or vCPU of a kind appears and
 * disables them when the last one goes: the scheduler's preempt notifiers
 * (every VM), vCPUs without an in-kernel local APIC, and local APICs that
 * are software-disabled.  Every flip live-patches kernel text while the
 * other CPUs run, and under QEMU's multi-threaded TCG such patching has
 * left L1 executing a stale int3 in __schedule.  /init starts this program
 * in every L1 that has /dev/kvm, before the tests, so each key flips once,
 * at boot, and never again: one VM with an in-kernel irqchip and a vCPU,
 * one without and a vCPU.  Neither vCPU ever runs.
 *
 * Once both exist it creates the file named by its argument, if any:
 * /init waits for it, so that the tests start after the flips and none of
 * their code runs on the other CPU while the keys are patched.
 *
 * It never exits by itself; the VM powers off around it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int keep_vm(int kvm, int with_irqchip)
{
	int vm, vcpu;

	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return -errno;
	if (with_irqchip && ioctl(vm, KVM_CREATE_IRQCHIP, 0))
		return -errno;
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return -errno;
	return 0;
}

int main(int argc, char **argv)
{
	int kvm, r, fd;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		fprintf(stderr, "kvm_keeper: /dev/kvm: %s\n", strerror(errno));
		return 1;
	}
	r = keep_vm(kvm, 1);
	if (!r)
		r = keep_vm(kvm, 0);
	if (r) {
		fprintf(stderr, "kvm_keeper: cannot create a VM: %s\n", strerror(-r));
		return 1;
	}
	if (argc > 1) {
		fd = open(argv[1], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0) {
			fprintf(stderr, "kvm_keeper: %s: %s\n", argv[1], strerror(errno));
			return 1;
		}
		close(fd);
	}
	for (;;)
		pause();
}
