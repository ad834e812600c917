// SPDX-License-Identifier: GPL-2.0
/*
 * L1 is a working KVM host: /dev/kvm exists, kvm-amd uses nested paging,
 * and a VM created through it really runs guest code.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kselftest_harness.h"

/*
 * Each case takes well under a second on a Debian kernel; on a debug
 * kernel in a nested guest, a forked case alone can take ten seconds, a
 * third of the harness's default limit: the limit is many times that.
 */
#define CASE_SECONDS	300

FIXTURE(l1) {
	int unused;
};

FIXTURE_SETUP(l1)
{
}

FIXTURE_TEARDOWN(l1)
{
}

static int read_param(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	if (!f)
		return -errno;
	if (!fgets(buf, len, f))
		buf[0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
	return 0;
}

TEST_F_TIMEOUT(l1, dev_kvm_is_a_character_device, CASE_SECONDS)
{
	struct stat st;

	ASSERT_EQ(0, stat("/dev/kvm", &st)) TH_LOG("stat /dev/kvm: %s", strerror(errno));
	EXPECT_TRUE(S_ISCHR(st.st_mode)) TH_LOG("/dev/kvm has mode 0%o", st.st_mode);
}

TEST_F_TIMEOUT(l1, kvm_amd_uses_nested_paging, CASE_SECONDS)
{
	char npt[8];

	ASSERT_EQ(0, read_param("/sys/module/kvm_amd/parameters/npt", npt, sizeof(npt)))
		TH_LOG("kvm_amd is not loaded");
	EXPECT_TRUE(!strcmp(npt, "Y") || !strcmp(npt, "1"))
		TH_LOG("kvm_amd.npt is '%s', expected Y", npt);
}

TEST_F_TIMEOUT(l1, kvm_api_version_is_12, CASE_SECONDS)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	ASSERT_LE(0, kvm) TH_LOG("open /dev/kvm: %s", strerror(errno));
	EXPECT_EQ(KVM_API_VERSION, ioctl(kvm, KVM_GET_API_VERSION, 0));
	close(kvm);
}

/* Real-mode guest: write 0x42 to port 0x10, then halt. */
static const unsigned char guest_code[] = {
	0xb0, 0x42,	/* mov $0x42, %al */
	0xe6, 0x10,	/* out %al, $0x10 */
	0xf4,		/* hlt */
};

TEST_F_TIMEOUT(l1, vm_runs_guest_code_until_halt, CASE_SECONDS)
{
	struct kvm_userspace_memory_region region;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_run *run;
	int kvm, vm, vcpu, run_size;
	void *mem;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, kvm) TH_LOG("open /dev/kvm: %s", strerror(errno));
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	ASSERT_LE(0, vm) TH_LOG("KVM_CREATE_VM: %s", strerror(errno));

	mem = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	memcpy(mem, guest_code, sizeof(guest_code));
	region = (struct kvm_userspace_memory_region) {
		.slot = 0,
		.guest_phys_addr = 0x1000,
		.memory_size = 0x1000,
		.userspace_addr = (unsigned long)mem,
	};
	ASSERT_EQ(0, ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region))
		TH_LOG("KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));

	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	ASSERT_LE(0, vcpu) TH_LOG("KVM_CREATE_VCPU: %s", strerror(errno));
	run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	ASSERT_LT(0, run_size);
	run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	ASSERT_NE(MAP_FAILED, run);

	ASSERT_EQ(0, ioctl(vcpu, KVM_GET_SREGS, &sregs));
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	ASSERT_EQ(0, ioctl(vcpu, KVM_SET_SREGS, &sregs));
	memset(&regs, 0, sizeof(regs));
	regs.rip = 0x1000;
	regs.rflags = 0x2;
	ASSERT_EQ(0, ioctl(vcpu, KVM_SET_REGS, &regs));

	ASSERT_EQ(0, ioctl(vcpu, KVM_RUN, 0)) TH_LOG("KVM_RUN: %s", strerror(errno));
	ASSERT_EQ(KVM_EXIT_IO, run->exit_reason)
		TH_LOG("first exit: reason %u, expected KVM_EXIT_IO", run->exit_reason);
	EXPECT_EQ(KVM_EXIT_IO_OUT, run->io.direction);
	EXPECT_EQ(0x10, run->io.port);
	EXPECT_EQ(1, run->io.size);
	EXPECT_EQ(0x42, *((unsigned char *)run + run->io.data_offset));

	ASSERT_EQ(0, ioctl(vcpu, KVM_RUN, 0)) TH_LOG("KVM_RUN: %s", strerror(errno));
	EXPECT_EQ(KVM_EXIT_HLT, run->exit_reason)
		TH_LOG("second exit: reason %u, expected KVM_EXIT_HLT", run->exit_reason);

	munmap(run, run_size);
	munmap(mem, 0x1000);
	close(vcpu);
	close(vm);
	close(kvm);
}

TEST_HARNESS_MAIN
