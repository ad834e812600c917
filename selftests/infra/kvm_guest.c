// SPDX-License-Identifier: GPL-2.0
/*
 * L2 runs under L1's KVM: the CPU says it is virtualized, the hypervisor
 * leaf carries KVM's signature, and the kernel found KVM's paravirtual clock.
 */
#include <cpuid.h>
#include <stdio.h>
#include <string.h>

#include "kselftest_harness.h"

/*
 * Each case takes well under a second on a Debian kernel; on a debug
 * kernel in a nested guest, a forked case alone can take ten seconds, a
 * third of the harness's default limit: the limit is many times that.
 */
#define CASE_SECONDS	300

FIXTURE(l2) {
	int unused;
};

FIXTURE_SETUP(l2)
{
}

FIXTURE_TEARDOWN(l2)
{
}

TEST_F_TIMEOUT(l2, cpuid_reports_a_hypervisor, CASE_SECONDS)
{
	unsigned int eax, ebx, ecx, edx;

	__cpuid(1, eax, ebx, ecx, edx);
	EXPECT_TRUE(ecx & (1U << 31)) TH_LOG("CPUID.1:ECX = 0x%08x, hypervisor bit clear", ecx);
}

TEST_F_TIMEOUT(l2, hypervisor_leaf_is_kvm, CASE_SECONDS)
{
	unsigned int eax, regs[3];
	char sig[13];

	__cpuid(0x40000000, eax, regs[0], regs[1], regs[2]);
	memcpy(sig, regs, 12);
	sig[12] = '\0';
	EXPECT_STREQ("KVMKVMKVM", sig);
	EXPECT_LE(0x40000001U, eax) TH_LOG("max hypervisor leaf 0x%x", eax);
}

TEST_F_TIMEOUT(l2, kvm_clock_is_available, CASE_SECONDS)
{
	char buf[256] = "";
	FILE *f;

	f = fopen("/sys/devices/system/clocksource/clocksource0/available_clocksource", "r");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(buf, sizeof(buf), f));
	fclose(f);
	EXPECT_NE(NULL, strstr(buf, "kvm-clock")) TH_LOG("clocksources: %s", buf);
}

TEST_HARNESS_MAIN
