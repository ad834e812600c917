// SPDX-License-Identifier: GPL-2.0
/*
 * veil_host's hypercall ABI, driven from real guests: REGISTER and PUBLISH
 * from CPL 0 are recorded exactly, CPL 3 is refused as KVM refuses it, and
 * every kind of hostile input gets its precise error and changes nothing.
 * Then /dev/veil's own argument checks, module unload, and a hostile guest
 * issuing 100,000 random hypercalls (a million in make check-debug).
 */
#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>

#include "kselftest_harness.h"
#include "vmm.h"

#define GOOD_GFN	(VMM_DATA_GPA >> 12)

/* The first test runs before veil_host is loaded: KVM answers alone. */
TEST(hypercall_without_veil_is_enosys)
{
	struct vmm v;
	int err;

	ASSERT_EQ(0, veil_module_unload()) TH_LOG("cannot unload veil_host");
	ASSERT_EQ(0, vmm_create(&v, 0)) TH_LOG("cannot create a VM: %s", strerror(errno));
	EXPECT_EQ(KVM_ENOSYS_32, vmm_hypercall_nr(&v, VEIL_HC_NR, VEIL_HC_REGISTER,
						  VMM_CONTROL_GPA, 1, 0, &err));
	EXPECT_EQ(0, err);
	vmm_destroy(&v);
	ASSERT_EQ(0, veil_module_load()) TH_LOG("cannot load veil_host");
}

FIXTURE(guest) {
	struct vmm v;
	int veil;
};

FIXTURE_SETUP(guest)
{
	ASSERT_EQ(0, veil_module_load()) TH_LOG("cannot load veil_host");
	ASSERT_EQ(0, vmm_create(&self->v, 0)) TH_LOG("cannot create a VM");
	self->veil = veil_attach(&self->v);
	ASSERT_LE(0, self->veil) TH_LOG("ATTACH: %s", strerror(-self->veil));
}

FIXTURE_TEARDOWN(guest)
{
	if (self->veil >= 0)
		close(self->veil);
	vmm_destroy(&self->v);
}

static void fill_extents(struct veil_extent *ext, uint32_t n, uint64_t gfn)
{
	uint32_t i;

	/* One page, then a hole of one page, and so on. */
	for (i = 0; i < n; i++) {
		ext[i].gfn = gfn + 2 * i;
		ext[i].npages = 1;
	}
}

TEST_F(guest, register_and_publish_round_trip)
{
	struct veil_extent ext[300], got[300];
	struct veil_get_extents g;
	struct veil_info info;
	uint64_t pages = 0;
	uint32_t i;

	fill_extents(ext, 300, GOOD_GFN);
	ext[299].npages = 7;		/* a multi-page extent at the end */
	for (i = 0; i < 300; i++)
		pages += ext[i].npages;

	ASSERT_EQ(0, vmm_register(&self->v));
	/* 300 extents span two extent pages: the chain is followed. */
	ASSERT_EQ(0, vmm_publish(&self->v, ext, 300, 5));

	ASSERT_EQ(0, veil_info(self->veil, &info));
	EXPECT_TRUE(info.flags & VEIL_INFO_REGISTERED);
	EXPECT_EQ(VEIL_ABI_VERSION, info.guest_abi);
	EXPECT_EQ(VEIL_HOST_RUNNING, info.state);
	EXPECT_EQ(5, info.generation);
	EXPECT_EQ(300, info.nr_extents);
	EXPECT_EQ(pages, info.nr_pages);
	EXPECT_EQ(2, info.hypercalls);
	EXPECT_EQ(0, info.rejected);
	EXPECT_EQ(1, info.publishes);

	/* Read them back in two pieces. */
	memset(got, 0xa5, sizeof(got));
	g = (struct veil_get_extents) { .size = sizeof(g), .start = 0,
		.nr_extents = 100, .extents = (uintptr_t)got };
	ASSERT_EQ(0, ioctl(self->veil, VEIL_IOC_GET_EXTENTS, &g));
	EXPECT_EQ(100, g.nr_extents);
	EXPECT_EQ(300, g.total);
	EXPECT_EQ(5, g.generation);
	g.start = 100;
	g.nr_extents = 1000;
	g.extents = (uintptr_t)(got + 100);
	ASSERT_EQ(0, ioctl(self->veil, VEIL_IOC_GET_EXTENTS, &g));
	EXPECT_EQ(200, g.nr_extents);
	EXPECT_EQ(0, memcmp(ext, got, sizeof(ext)))
		TH_LOG("GET_EXTENTS differs from what the guest published");

	/* Past the end: nothing, and the total. */
	g.start = 300;
	ASSERT_EQ(0, ioctl(self->veil, VEIL_IOC_GET_EXTENTS, &g));
	EXPECT_EQ(0, g.nr_extents);
	EXPECT_EQ(300, g.total);

	/* A newer empty set replaces it. */
	ASSERT_EQ(0, vmm_hypercall(&self->v, VEIL_HC_PUBLISH, 0, 0, 6));
	ASSERT_EQ(0, veil_info(self->veil, &info));
	EXPECT_EQ(6, info.generation);
	EXPECT_EQ(0, info.nr_extents);
	EXPECT_EQ(0, info.nr_pages);
}

TEST(cpl3_hypercall_gets_eperm_and_nothing_is_recorded)
{
	struct veil_info info;
	struct vmm v;
	int veil;

	ASSERT_EQ(0, veil_module_load());
	ASSERT_EQ(0, vmm_create(&v, 3));
	EXPECT_EQ(KVM_EPERM_32, vmm_register(&v));
	EXPECT_EQ(KVM_EPERM_32, vmm_hypercall(&v, VEIL_HC_PUBLISH, 0, 0, 1));
	EXPECT_EQ(KVM_EPERM_32, vmm_hypercall(&v, 99, 0, 0, 0));

	veil = veil_attach(&v);
	ASSERT_LE(0, veil);
	ASSERT_EQ(0, veil_info(veil, &info));
	EXPECT_FALSE(info.flags & VEIL_INFO_REGISTERED);
	EXPECT_EQ(0, info.hypercalls);
	EXPECT_EQ(0, info.generation);
	EXPECT_EQ(0, info.nr_extents);
	close(veil);
	vmm_destroy(&v);
}

/*
 * A 64-bit guest: arguments are not truncated, and a number whose high half
 * is set is not veil's (KVM: -KVM_ENOSYS).  A 32-bit guest's registers are
 * truncated, high halves and all, as KVM truncates them.
 */
TEST(hypercall_widths_follow_the_guest_mode)
{
	struct veil_extent far = { .gfn = (1ULL << 32) + (VMM_DATA_GPA >> 12),
				   .npages = 1 };
	struct veil_info info;
	struct vmm v, w;
	int err, veil;

	ASSERT_EQ(0, veil_module_load());
	ASSERT_EQ(0, vmm_create_mode(&v, 0, true)) TH_LOG("no 64-bit guest");
	veil = veil_attach(&v);
	ASSERT_LE(0, veil);
	ASSERT_EQ(0, vmm_register(&v));
	EXPECT_EQ((uint64_t)-1000, vmm_hypercall64(&v, (1ULL << 32) | VEIL_HC_NR,
						   VEIL_HC_PUBLISH, 0, 0, 2, &err))
		TH_LOG("a 64-bit number with a high half is not veil's");
	EXPECT_EQ(0, err);
	/* A GPA above 4 GiB reaches the host whole, and is outside RAM. */
	EXPECT_EQ((uint64_t)-EFAULT, vmm_hypercall64(&v, VEIL_HC_NR, VEIL_HC_PUBLISH,
						     (1ULL << 32) | VMM_EXTENT_GPA,
						     1, 2, &err));
	vmm_write_extents(&v, &far, 1);
	EXPECT_EQ((uint64_t)-EFAULT, vmm_hypercall64(&v, VEIL_HC_NR, VEIL_HC_PUBLISH,
						     VMM_EXTENT_GPA, 1, 2, &err));
	EXPECT_EQ(0, vmm_hypercall64(&v, VEIL_HC_NR, VEIL_HC_PUBLISH, 0, 0,
				     (1ULL << 40), &err));
	ASSERT_EQ(0, veil_info(veil, &info));
	EXPECT_EQ(1ULL << 40, info.generation) TH_LOG("the generation was truncated");
	EXPECT_EQ(4, info.hypercalls) TH_LOG("REGISTER and three PUBLISH reach veil");
	close(veil);
	vmm_destroy(&v);

	ASSERT_EQ(0, vmm_create(&w, 0));
	veil = veil_attach(&w);
	ASSERT_LE(0, veil);
	ASSERT_EQ(0, vmm_register(&w));
	EXPECT_EQ(0, (uint32_t)vmm_hypercall64(&w, (7ULL << 32) | VEIL_HC_NR,
					       (5ULL << 32) | VEIL_HC_PUBLISH,
					       0, 0, (1ULL << 40) | 9, &err))
		TH_LOG("a 32-bit guest's high halves must be ignored");
	ASSERT_EQ(0, veil_info(veil, &info));
	EXPECT_EQ(9, info.generation);
	close(veil);
	vmm_destroy(&w);
}

/*
 * Hostile input: a guest that registered and published one good extent at
 * generation 1 sends something wrong; it must get @want and the host's
 * record must not move.
 */
FIXTURE(hostile) {
	struct vmm v;
	int veil;
	struct veil_info before;
};

FIXTURE_SETUP(hostile)
{
	struct veil_extent good = { .gfn = GOOD_GFN, .npages = 4 };

	ASSERT_EQ(0, veil_module_load());
	ASSERT_EQ(0, vmm_create(&self->v, 0));
	self->veil = veil_attach(&self->v);
	ASSERT_LE(0, self->veil);
	ASSERT_EQ(0, vmm_register(&self->v));
	ASSERT_EQ(0, vmm_publish(&self->v, &good, 1, 1));
	ASSERT_EQ(0, veil_info(self->veil, &self->before));
}

FIXTURE_TEARDOWN(hostile)
{
	close(self->veil);
	vmm_destroy(&self->v);
}

/* The set of generation 1, one good extent, is still there; one more refusal. */
static void expect_set_kept(struct __test_metadata *_metadata, int veil,
			    const struct veil_info *before)
{
	struct veil_info now;
	struct veil_extent e = {};
	struct veil_get_extents g = { .size = sizeof(g), .nr_extents = 1,
				      .extents = (uintptr_t)&e };

	ASSERT_EQ(0, veil_info(veil, &now));
	EXPECT_EQ(before->flags, now.flags);
	EXPECT_EQ(before->guest_abi, now.guest_abi);
	EXPECT_EQ(1, now.generation);
	EXPECT_EQ(1, now.nr_extents);
	EXPECT_EQ(4, now.nr_pages);
	EXPECT_EQ(before->publishes, now.publishes);
	EXPECT_EQ(before->rejected + 1, now.rejected)
		TH_LOG("the rejected call was not counted");
	ASSERT_EQ(0, ioctl(veil, VEIL_IOC_GET_EXTENTS, &g));
	EXPECT_EQ(1, g.total);
	EXPECT_EQ(GOOD_GFN, e.gfn);
	EXPECT_EQ(4, e.npages);
}

static void expect_unchanged(struct __test_metadata *_metadata,
			     FIXTURE_DATA(hostile) *self)
{
	expect_set_kept(_metadata, self->veil, &self->before);
}

static uint32_t publish_raw(struct vmm *v, const struct veil_extent *ext,
			    uint32_t n, uint32_t count, uint32_t gen)
{
	vmm_write_extents(v, ext, n);
	return vmm_hypercall(v, VEIL_HC_PUBLISH, VMM_EXTENT_GPA, count, gen);
}

TEST_F(hostile, unknown_sub_operation_is_einval)
{
	EXPECT_EQ(KVM_EINVAL_32, vmm_hypercall(&self->v, 77, 0, 0, 0));
	expect_unchanged(_metadata, self);
}

TEST_F(hostile, unknown_abi_version_is_einval)
{
	vmm_control(&self->v)->abi_version = VEIL_ABI_VERSION + 1;
	EXPECT_EQ(KVM_EINVAL_32, vmm_hypercall(&self->v, VEIL_HC_REGISTER,
					       VMM_CONTROL_GPA, VEIL_ABI_VERSION + 1, 0));
	expect_unchanged(_metadata, self);
}

TEST_F(hostile, control_page_without_magic_is_einval)
{
	vmm_control(&self->v)->magic = 0x12345678;
	EXPECT_EQ(KVM_EINVAL_32, vmm_hypercall(&self->v, VEIL_HC_REGISTER,
					       VMM_CONTROL_GPA, VEIL_ABI_VERSION, 0));
	expect_unchanged(_metadata, self);
}

TEST_F(hostile, control_page_outside_memslots_is_efault)
{
	EXPECT_EQ(KVM_EFAULT_32, vmm_hypercall(&self->v, VEIL_HC_REGISTER,
					       0x40000000, VEIL_ABI_VERSION, 0));
	expect_unchanged(_metadata, self);
}

TEST_F(hostile, unaligned_control_page_is_einval)
{
	EXPECT_EQ(KVM_EINVAL_32, vmm_hypercall(&self->v, VEIL_HC_REGISTER,
					       VMM_CONTROL_GPA + 8, VEIL_ABI_VERSION, 0));
	expect_unchanged(_metadata, self);
}

TEST_F(hostile, extent_page_outside_memslots_is_efault)
{
	EXPECT_EQ(KVM_EFAULT_32, vmm_hypercall(&self->v, VEIL_HC_PUBLISH,
					       0x40000000, 1, 2));
	expect_unchanged(_metadata, self);
}

TEST_F(hostile, extent_beyond_guest_memory_is_efault)
{
	struct veil_extent e[2] = {
		{ .gfn = GOOD_GFN, .npages = 1 },
		{ .gfn = (VMM_MEM_SIZE >> 12) - 2, .npages = 3 },	/* 1 page past the end */
	};

	EXPECT_EQ(KVM_EFAULT_32, publish_raw(&self->v, e, 2, 2, 2));
	expect_unchanged(_metadata, self);
}

TEST_F(hostile, overflowing_extent_is_einval)
{
	struct veil_extent e = { .gfn = 0xfffffffffffff000ULL, .npages = 0x2000 };

	EXPECT_EQ(KVM_EINVAL_32, publish_raw(&self->v, &e, 1, 1, 2));
	expect_unchanged(_metadata, self);
}

TEST_F(hostile, overlapping_extents_are_einval)
{
	struct veil_extent e[2] = {
		{ .gfn = GOOD_GFN, .npages = 4 },
		{ .gfn = GOOD_GFN + 3, .npages = 1 },
	};

	EXPECT_EQ(KVM_EINVAL_32, publish_raw(&self->v, e, 2, 2, 2));
	expect_unchanged(_metadata, self);
}

TEST_F(hostile, unsorted_extents_are_einval)
{
	struct veil_extent e[2] = {
		{ .gfn = GOOD_GFN + 10, .npages = 1 },
		{ .gfn = GOOD_GFN, .npages = 1 },
	};

	EXPECT_EQ(KVM_EINVAL_32, publish_raw(&self->v, e, 2, 2, 2));
	expect_unchanged(_metadata, self);
}

TEST_F(hostile, zero_length_extent_is_einval)
{
	struct veil_extent e[2] = {
		{ .gfn = GOOD_GFN, .npages = 1 },
		{ .gfn = GOOD_GFN + 5, .npages = 0 },
	};

	EXPECT_EQ(KVM_EINVAL_32, publish_raw(&self->v, e, 2, 2, 2));
	expect_unchanged(_metadata, self);
}

TEST_F(hostile, count_over_the_cap_is_e2big)
{
	EXPECT_EQ(KVM_E2BIG_32, vmm_hypercall(&self->v, VEIL_HC_PUBLISH,
					      VMM_EXTENT_GPA, 0x7fffffff, 2));
	expect_unchanged(_metadata, self);
}

TEST_F(hostile, pages_over_the_cap_are_e2big)
{
	char mib[32] = "";
	FILE *f = fopen("/sys/module/veil_host/parameters/max_mib", "r+");
	struct veil_extent e = { .gfn = GOOD_GFN, .npages = 512 };	/* 2 MiB */

	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(mib, sizeof(mib), f));
	rewind(f);
	fprintf(f, "1\n");
	fflush(f);
	EXPECT_EQ(KVM_E2BIG_32, publish_raw(&self->v, &e, 1, 1, 2));
	rewind(f);
	fputs(mib, f);
	fclose(f);
	expect_unchanged(_metadata, self);
}

TEST_F(hostile, chain_that_loops_is_einval)
{
	struct veil_extent e = { .gfn = GOOD_GFN, .npages = 1 };
	struct veil_extent_page *p = (void *)(self->v.mem + VMM_EXTENT_GPA);

	vmm_write_extents(&self->v, &e, 1);
	p->next = VMM_EXTENT_GPA;		/* points at itself */
	EXPECT_EQ(KVM_EINVAL_32, vmm_hypercall(&self->v, VEIL_HC_PUBLISH,
					       VMM_EXTENT_GPA, 3, 2));
	expect_unchanged(_metadata, self);
}

TEST_F(hostile, chain_shorter_than_announced_is_einval)
{
	struct veil_extent e = { .gfn = GOOD_GFN, .npages = 1 };

	EXPECT_EQ(KVM_EINVAL_32, publish_raw(&self->v, &e, 1, 2, 2));
	expect_unchanged(_metadata, self);
}

TEST_F(hostile, stale_generation_is_einval)
{
	struct veil_extent e = { .gfn = GOOD_GFN + 100, .npages = 1 };

	EXPECT_EQ(KVM_EINVAL_32, publish_raw(&self->v, &e, 1, 1, 1));
	expect_unchanged(_metadata, self);
}

TEST_F(hostile, ack_of_a_request_never_sent_is_einval)
{
	EXPECT_EQ(KVM_EINVAL_32, vmm_hypercall(&self->v, VEIL_HC_ACK, 1, 0, 0));
	expect_unchanged(_metadata, self);
}

TEST_F(hostile, restored_with_unknown_flags_is_einval)
{
	EXPECT_EQ(KVM_EINVAL_32, vmm_hypercall(&self->v, VEIL_HC_RESTORED,
					       1U << 31, 0, 0));
	expect_unchanged(_metadata, self);
}

/* 257 partial records of 8 bytes, 16 apart: two frames, 257 counted. */
static void fill_partial(struct veil_extent *ext, unsigned int n, __u64 gfn)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		ext[i].gfn = gfn + i / 256;
		ext[i].npages = VEIL_EXTENT_PART(i % 256 * 16, 8);
	}
}

TEST_F(hostile, partial_records_count_one_frame_each_against_the_cap)
{
	char mib[32] = "";
	FILE *f = fopen("/sys/module/veil_host/parameters/max_mib", "r+");
	struct veil_extent e[257];

	fill_partial(e, 257, GOOD_GFN + 8);
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(mib, sizeof(mib), f));
	rewind(f);
	fprintf(f, "1\n");		/* 256 frames */
	fflush(f);
	EXPECT_EQ(KVM_E2BIG_32, publish_raw(&self->v, e, 257, 257, 2))
		TH_LOG("257 partial records in two frames count 257 frames");
	rewind(f);
	fputs(mib, f);
	fclose(f);
	expect_unchanged(_metadata, self);
}

/* ---- partial extent records (ABI 2) ---- */

/*
 * Whole and partial records, adjacent in every way the ABI allows, are
 * recorded: one frame per partial record, and GET_EXTENTS gives them back
 * as the guest wrote them.
 */
TEST_F(guest, partial_records_are_recorded_one_frame_each)
{
	const struct veil_extent ext[] = {
		{ .gfn = GOOD_GFN, .npages = 2 },
		/* where the whole record ends, then adjacent in one frame */
		{ .gfn = GOOD_GFN + 2, .npages = VEIL_EXTENT_PART(0, 100) },
		{ .gfn = GOOD_GFN + 2, .npages = VEIL_EXTENT_PART(100, 28) },
		{ .gfn = GOOD_GFN + 2, .npages = VEIL_EXTENT_PART(3000, 1096) },
		/* a whole record right after a partial one ending its frame */
		{ .gfn = GOOD_GFN + 3, .npages = 3 },
		{ .gfn = GOOD_GFN + 7, .npages = VEIL_EXTENT_PART(4095, 1) },
		{ .gfn = GOOD_GFN + 9, .npages = VEIL_EXTENT_PART(0, 4096) },
	};
	struct veil_extent got[8];
	struct veil_get_extents g = { .size = sizeof(g), .nr_extents = 8,
				      .extents = (uintptr_t)got };
	struct veil_info info;

	ASSERT_EQ(0, vmm_register(&self->v));
	ASSERT_EQ(0, vmm_publish(&self->v, ext, 7, 3));
	ASSERT_EQ(0, veil_info(self->veil, &info));
	EXPECT_EQ(2, info.guest_abi);
	EXPECT_EQ(0, info.rejected);
	EXPECT_EQ(3, info.generation);
	EXPECT_EQ(7, info.nr_extents);
	EXPECT_EQ(10, info.nr_pages) TH_LOG("whole: 2 + 3 frames, partial: 5 records");

	memset(got, 0xa5, sizeof(got));
	ASSERT_EQ(0, ioctl(self->veil, VEIL_IOC_GET_EXTENTS, &g));
	EXPECT_EQ(7, g.nr_extents);
	EXPECT_EQ(7, g.total);
	EXPECT_EQ(0, memcmp(ext, got, sizeof(ext)))
		TH_LOG("GET_EXTENTS differs from what the guest published");
	EXPECT_EQ(GOOD_GFN + 2, got[2].gfn);
	EXPECT_EQ(VEIL_EXTENT_PART(100, 28), got[2].npages);
	EXPECT_EQ(100, VEIL_EXTENT_OFF(got[2].npages));
	EXPECT_EQ(28, VEIL_EXTENT_LEN(got[2].npages));
}

/* Many partial records in few frames, over two extent pages. */
TEST_F(guest, partial_records_in_one_frame_count_one_frame_each)
{
	struct veil_extent ext[300], got[300];
	struct veil_get_extents g = { .size = sizeof(g), .nr_extents = 300,
				      .extents = (uintptr_t)got };
	struct veil_info info;

	fill_partial(ext, 300, GOOD_GFN);
	ASSERT_EQ(0, vmm_register(&self->v));
	ASSERT_EQ(0, vmm_publish(&self->v, ext, 300, 1));
	ASSERT_EQ(0, veil_info(self->veil, &info));
	EXPECT_EQ(300, info.nr_extents);
	EXPECT_EQ(300, info.nr_pages);
	ASSERT_EQ(0, ioctl(self->veil, VEIL_IOC_GET_EXTENTS, &g));
	EXPECT_EQ(300, g.nr_extents);
	EXPECT_EQ(0, memcmp(ext, got, sizeof(ext)));
}

/*
 * A guest that registered with ABI 1 publishes whole records as before; a
 * partial record is refused and its set kept, until it registers with 2.
 */
TEST_F(guest, abi1_guest_gets_no_partial_records)
{
	const struct veil_extent whole = { .gfn = GOOD_GFN, .npages = 3 };
	const struct veil_extent part[2] = {
		{ .gfn = GOOD_GFN, .npages = 3 },
		{ .gfn = GOOD_GFN + 3, .npages = VEIL_EXTENT_PART(8, 16) },
	};
	struct veil_extent got = {};
	struct veil_get_extents g = { .size = sizeof(g), .nr_extents = 1,
				      .extents = (uintptr_t)&got };
	struct veil_info info;

	ASSERT_EQ(0, vmm_register_abi(&self->v, 1));
	ASSERT_EQ(0, vmm_publish(&self->v, &whole, 1, 1));
	EXPECT_EQ(KVM_EINVAL_32, vmm_publish(&self->v, part, 2, 2));
	ASSERT_EQ(0, veil_info(self->veil, &info));
	EXPECT_EQ(1, info.guest_abi);
	EXPECT_EQ(1, info.rejected);
	EXPECT_EQ(1, info.generation);
	EXPECT_EQ(1, info.nr_extents);
	EXPECT_EQ(3, info.nr_pages);
	ASSERT_EQ(0, ioctl(self->veil, VEIL_IOC_GET_EXTENTS, &g));
	EXPECT_EQ(1, g.total);
	EXPECT_EQ(GOOD_GFN, got.gfn);
	EXPECT_EQ(3, got.npages);

	/* The same records from a guest that speaks ABI 2. */
	ASSERT_EQ(0, vmm_register_abi(&self->v, 2));
	EXPECT_EQ(0, vmm_publish(&self->v, part, 2, 1));
	ASSERT_EQ(0, veil_info(self->veil, &info));
	EXPECT_EQ(2, info.guest_abi);
	EXPECT_EQ(2, info.nr_extents);
	EXPECT_EQ(4, info.nr_pages);
}

/* Writes @val to veil_host's parameter @name: 0 or -errno. */
/*
 * max_abi caps the version REGISTER takes: a guest asking for more is
 * refused as by a host that never knew it, the older one is taken, and
 * values outside 1..VEIL_ABI_VERSION are refused and change nothing.
 */
TEST_F(guest, max_abi_caps_the_versions_register_takes)
{
	char abi[16] = "";
	struct veil_info info;
	int fd;

	EXPECT_EQ(-EINVAL, veil_set_param("max_abi", "0"));
	EXPECT_EQ(-EINVAL, veil_set_param("max_abi", "3"));
	EXPECT_EQ(-EINVAL, veil_set_param("max_abi", "two"));
	fd = open("/sys/module/veil_host/parameters/max_abi", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_LT(0, read(fd, abi, sizeof(abi) - 1));
	close(fd);
	EXPECT_STREQ("2\n", abi);

	/* Only EXPECTs until the parameter is back: later tests need 2. */
	ASSERT_EQ(0, veil_set_param("max_abi", "1"));
	EXPECT_EQ(KVM_EINVAL_32, vmm_register_abi(&self->v, 2));
	EXPECT_EQ(0, veil_info(self->veil, &info));
	EXPECT_EQ(0, info.flags & VEIL_INFO_REGISTERED);
	EXPECT_EQ(0, vmm_register_abi(&self->v, 1));
	ASSERT_EQ(0, veil_set_param("max_abi", "2"));
	ASSERT_EQ(0, veil_info(self->veil, &info));
	EXPECT_NE(0, info.flags & VEIL_INFO_REGISTERED);
	EXPECT_EQ(1, info.guest_abi);
	EXPECT_EQ(0, vmm_register_abi(&self->v, 2));
	ASSERT_EQ(0, veil_info(self->veil, &info));
	EXPECT_EQ(2, info.guest_abi);
}

/*
 * Bad partial records: the guest registered (with @abi) and published one
 * good extent at generation 1, as in "hostile"; publishing @e at
 * generation 2 gets @want and the set of generation 1 stays.
 */
FIXTURE(bad_partial) {
	struct vmm v;
	int veil;
	struct veil_info before;
};

FIXTURE_VARIANT(bad_partial) {
	unsigned int abi;		/* 0: VEIL_ABI_VERSION */
	unsigned int n;
	struct veil_extent e[2];
	unsigned int want;		/* 0: KVM_EINVAL_32 */
};

#define BAD_GFN		(GOOD_GFN + 8)

/* A partial record that ABI 2 accepts. */
FIXTURE_VARIANT_ADD(bad_partial, from_an_abi1_guest) {
	.abi = 1, .n = 2, .e = { { BAD_GFN, 1 }, { BAD_GFN + 1, VEIL_EXTENT_PART(0, 8) } },
};

FIXTURE_VARIANT_ADD(bad_partial, offset_past_the_frame) {
	.n = 1, .e = { { BAD_GFN, VEIL_EXTENT_PART(4096, 1) } },
};

FIXTURE_VARIANT_ADD(bad_partial, empty) {
	.n = 1, .e = { { BAD_GFN, VEIL_EXTENT_PART(8, 0) } },
};

FIXTURE_VARIANT_ADD(bad_partial, crossing_the_frame_end) {
	.n = 1, .e = { { BAD_GFN, VEIL_EXTENT_PART(4000, 97) } },
};

FIXTURE_VARIANT_ADD(bad_partial, longer_than_a_frame) {
	.n = 1, .e = { { BAD_GFN, VEIL_EXTENT_PART(0, 4097) } },
};

FIXTURE_VARIANT_ADD(bad_partial, stray_bit_62) {
	.n = 1, .e = { { BAD_GFN, VEIL_EXTENT_PART(0, 8) | 1ULL << 62 } },
};

FIXTURE_VARIANT_ADD(bad_partial, stray_bit_44) {
	.n = 1, .e = { { BAD_GFN, VEIL_EXTENT_PART(0, 8) | 1ULL << 44 } },
};

FIXTURE_VARIANT_ADD(bad_partial, overlapping_the_previous_partial) {
	.n = 2, .e = { { BAD_GFN, VEIL_EXTENT_PART(100, 50) },
		       { BAD_GFN, VEIL_EXTENT_PART(149, 10) } },
};

FIXTURE_VARIANT_ADD(bad_partial, before_the_previous_partial) {
	.n = 2, .e = { { BAD_GFN, VEIL_EXTENT_PART(200, 10) },
		       { BAD_GFN, VEIL_EXTENT_PART(100, 10) } },
};

FIXTURE_VARIANT_ADD(bad_partial, whole_record_over_a_partial_one) {
	.n = 2, .e = { { BAD_GFN, VEIL_EXTENT_PART(100, 50) }, { BAD_GFN, 1 } },
};

FIXTURE_VARIANT_ADD(bad_partial, whole_record_over_a_partial_one_at_offset_0) {
	.n = 2, .e = { { BAD_GFN, VEIL_EXTENT_PART(0, 50) }, { BAD_GFN, 1 } },
};

FIXTURE_VARIANT_ADD(bad_partial, inside_the_previous_whole_record) {
	.n = 2, .e = { { BAD_GFN, 2 }, { BAD_GFN + 1, VEIL_EXTENT_PART(0, 8) } },
};

FIXTURE_VARIANT_ADD(bad_partial, outside_guest_memory) {
	.n = 1, .e = { { VMM_MEM_SIZE >> 12, VEIL_EXTENT_PART(0, 8) } },
	.want = KVM_EFAULT_32,
};

FIXTURE_VARIANT_ADD(bad_partial, gfn_overflowing) {
	.n = 1, .e = { { ~0ULL, VEIL_EXTENT_PART(0, 8) } },
};

FIXTURE_SETUP(bad_partial)
{
	struct veil_extent good = { .gfn = GOOD_GFN, .npages = 4 };

	ASSERT_EQ(0, veil_module_load());
	ASSERT_EQ(0, vmm_create(&self->v, 0));
	self->veil = veil_attach(&self->v);
	ASSERT_LE(0, self->veil);
	ASSERT_EQ(0, vmm_register_abi(&self->v, variant->abi ?: VEIL_ABI_VERSION));
	ASSERT_EQ(0, vmm_publish(&self->v, &good, 1, 1));
	ASSERT_EQ(0, veil_info(self->veil, &self->before));
}

FIXTURE_TEARDOWN(bad_partial)
{
	close(self->veil);
	vmm_destroy(&self->v);
}

TEST_F(bad_partial, is_refused_and_changes_nothing)
{
	EXPECT_EQ(variant->want ?: KVM_EINVAL_32,
		  publish_raw(&self->v, variant->e, variant->n, variant->n, 2));
	expect_set_kept(_metadata, self->veil, &self->before);
}

/* ---- /dev/veil's own arguments ---- */

/* /dev/kmsg, positioned after the last record logged so far. */
static int kmsg_open_at_end(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

/* Counts the records from there on that contain each of two strings. */
static void kmsg_count(int fd, const char *a, int *na, const char *b, int *nb)
{
	char rec[2048];
	ssize_t n;

	*na = *nb = 0;
	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)	/* records overwritten: go on */
			continue;
		if (n <= 0)
			break;
		rec[n] = 0;
		*na += !!strstr(rec, a);
		*nb += !!strstr(rec, b);
	}
}

/*
 * Each VM has its own log rate limit: a guest that floods veil_host with
 * bad hypercalls has its own lines limited, and the line about another
 * VM's one bad call still reaches the log.
 */
TEST(one_guest_flooding_the_log_does_not_silence_another)
{
	char flood_msg[80], quiet_msg[80];
	int i, kmsg, flood_lines, quiet_lines;
	struct vmm flood, quiet;

	ASSERT_EQ(0, veil_module_load());
	ASSERT_EQ(0, vmm_create(&flood, 0));
	ASSERT_EQ(0, vmm_create(&quiet, 0));
	snprintf(flood_msg, sizeof(flood_msg), "control page 0x%lx is not page-aligned",
		 VMM_CONTROL_GPA + 8);
	snprintf(quiet_msg, sizeof(quiet_msg), "control page 0x%lx is not page-aligned",
		 VMM_CONTROL_GPA + 24);
	kmsg = kmsg_open_at_end();
	ASSERT_LE(0, kmsg) TH_LOG("open /dev/kmsg: %s", strerror(errno));
	for (i = 0; i < 50; i++)
		ASSERT_EQ(KVM_EINVAL_32, vmm_hypercall(&flood, VEIL_HC_REGISTER,
						       VMM_CONTROL_GPA + 8,
						       VEIL_ABI_VERSION, 0));
	ASSERT_EQ(KVM_EINVAL_32, vmm_hypercall(&quiet, VEIL_HC_REGISTER,
					       VMM_CONTROL_GPA + 24,
					       VEIL_ABI_VERSION, 0));
	kmsg_count(kmsg, flood_msg, &flood_lines, quiet_msg, &quiet_lines);
	close(kmsg);
	TH_LOG("50 bad calls of one VM: %d lines; one of another: %d",
	       flood_lines, quiet_lines);
	EXPECT_LE(1, flood_lines);
	EXPECT_GT(50, flood_lines) TH_LOG("the flood was not rate-limited");
	EXPECT_EQ(1, quiet_lines) TH_LOG("the other VM's refusal was not logged");
	vmm_destroy(&quiet);
	vmm_destroy(&flood);
}

TEST(dev_veil_checks_its_arguments)
{
	struct veil_attach a = { .size = sizeof(a) };
	struct veil_info info = { .size = sizeof(info) - 8 };
	struct vmm v;
	int fd, fd2;

	ASSERT_EQ(0, veil_module_load());
	ASSERT_EQ(0, vmm_create(&v, 0));
	fd = open("/dev/veil", O_RDWR);
	ASSERT_LE(0, fd);

	EXPECT_EQ(-1, ioctl(fd, VEIL_IOC_INFO, &info));
	EXPECT_EQ(ENOTCONN, errno) TH_LOG("INFO before ATTACH");

	a.vm_fd = v.vcpu;		/* a KVM file, but not a VM */
	EXPECT_EQ(-1, ioctl(fd, VEIL_IOC_ATTACH, &a));
	EXPECT_EQ(EINVAL, errno);
	a.vm_fd = 0x7fff;
	EXPECT_EQ(-1, ioctl(fd, VEIL_IOC_ATTACH, &a));
	EXPECT_EQ(EBADF, errno);
	a.vm_fd = v.vm;
	a.size = 4;
	EXPECT_EQ(-1, ioctl(fd, VEIL_IOC_ATTACH, &a));
	EXPECT_EQ(EINVAL, errno) TH_LOG("a wrong size must be refused");
	a.size = sizeof(a);
	ASSERT_EQ(0, ioctl(fd, VEIL_IOC_ATTACH, &a));
	EXPECT_EQ(-1, ioctl(fd, VEIL_IOC_ATTACH, &a));
	EXPECT_EQ(EBUSY, errno) TH_LOG("a second ATTACH on one descriptor");

	fd2 = veil_attach(&v);
	EXPECT_EQ(-EBUSY, fd2) TH_LOG("a VM has one manager at a time");

	EXPECT_EQ(-1, ioctl(fd, VEIL_IOC_INFO, &info));
	EXPECT_EQ(EINVAL, errno) TH_LOG("INFO with a wrong size");
	EXPECT_EQ(-1, ioctl(fd, _IO(VEIL_IOC_MAGIC, 0x3f)));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-EINVAL, veil_sanitize(fd, VEIL_IOC_RESTORE, NULL))
		TH_LOG("RESTORE of a VM that is not sanitized");
	EXPECT_EQ(-ENODEV, veil_sanitize(fd, VEIL_IOC_SANITIZE, NULL))
		TH_LOG("SANITIZE of a guest that never registered");

	close(fd);
	/* After the manager closed, another may attach. */
	fd2 = veil_attach(&v);
	EXPECT_LE(0, fd2);
	close(fd2);
	vmm_destroy(&v);
}

TEST(unload_is_refused_while_attached_and_clean_after)
{
	struct vmm v;
	int fd;

	ASSERT_EQ(0, veil_module_load());
	ASSERT_EQ(0, vmm_create(&v, 0));
	ASSERT_EQ(0, vmm_register(&v));
	fd = veil_attach(&v);
	ASSERT_LE(0, fd);
	EXPECT_NE(0, veil_module_unload()) TH_LOG("veil_host unloaded under a manager");
	EXPECT_EQ(0, access("/sys/module/veil_host", F_OK));
	close(fd);
	/* The VM is alive and known to veil; unloading forgets it cleanly. */
	EXPECT_EQ(0, veil_module_unload());
	EXPECT_EQ(KVM_ENOSYS_32, vmm_hypercall(&v, VEIL_HC_REGISTER,
					       VMM_CONTROL_GPA, 1, 0));
	ASSERT_EQ(0, veil_module_load());
	EXPECT_EQ(0, vmm_register(&v)) TH_LOG("REGISTER after reload");
	vmm_destroy(&v);
}

/*
 * The hooks are permanent ftrace operations: turning ftrace off would stop
 * holding sanitized vCPUs and forgetting destroyed VMs, so the kernel
 * refuses it while veil_host is loaded, and the hypercall stays served.
 */
TEST(ftrace_cannot_be_turned_off_while_loaded)
{
	struct vmm v;
	ssize_t r;
	int fd, e;

	ASSERT_EQ(0, veil_module_load());
	fd = open("/proc/sys/kernel/ftrace_enabled", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		SKIP(return, "no kernel.ftrace_enabled sysctl");
	r = write(fd, "0\n", 2);
	e = errno;
	if (r == 2)
		EXPECT_EQ(2, write(fd, "1\n", 2));
	close(fd);
	EXPECT_EQ(-1, r) TH_LOG("kernel.ftrace_enabled=0 went through: veil's hooks were off");
	EXPECT_EQ(EBUSY, e);
	ASSERT_EQ(0, vmm_create(&v, 0));
	EXPECT_EQ(0, vmm_register(&v)) TH_LOG("the hypercall is no longer served");
	vmm_destroy(&v);
}

/* ---- random hypercalls ---- */

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* An argument that is sometimes meaningful: page-aligned RAM, small counts. */
static uint32_t random_arg(uint64_t *s)
{
	uint64_t r = xorshift(s);

	switch (r & 7) {
	case 0:
		return 0;
	case 1:
		return (r >> 8) & 0xff;
	case 2:
		return ((r >> 8) % (VMM_MEM_SIZE >> 12)) << 12;
	case 3:
		return VMM_EXTENT_GPA;
	case 4:
		return VMM_CONTROL_GPA;
	default:
		return r >> 16;
	}
}

/* An extent page that is nearly right: sorted-ish records, odd headers. */
static void random_extent_page(struct vmm *v, uint64_t *s)
{
	struct veil_extent_page *p = (void *)(v->mem + VMM_EXTENT_GPA);
	uint64_t r = xorshift(s), gfn = GOOD_GFN, last;
	uint32_t i;

	p->count = r % 4 ? (r >> 8) % 40 : (uint32_t)(r >> 8);
	p->reserved = r % 16 ? 0 : (uint32_t)(r >> 32);
	p->next = r % 8 ? 0 : random_arg(s);
	for (i = 0; i < VEIL_EXTENTS_PER_PAGE; i++) {
		r = xorshift(s);
		last = gfn - 1;		/* the previous record's last frame */
		gfn += r % 5 ? 1 + (r >> 8) % 4 : -(r >> 8) % 8;
		p->ext[i].gfn = r % 64 ? gfn : r >> 8;
		p->ext[i].npages = r % 32 ? 1 + (r >> 16) % 3 : (r >> 20) % 2;
		if (r % 8 != 3) {
			gfn += p->ext[i].npages;
			continue;
		}
		/* A partial record, not always inside its frame... */
		p->ext[i].npages = VEIL_EXTENT_PART((r >> 16) % 4200,
						    (r >> 32) % 600);
		if (r % 128 == 3)
			p->ext[i].npages |= 1ULL << (32 + (r >> 48) % 31);
		/* ...sometimes in the frame of the previous one. */
		if (r % 3 == 0) {
			p->ext[i].gfn = last;
			gfn = last;
		}
		gfn++;
	}
}

/* A 64-bit argument: mostly plausible, sometimes any value at all. */
static uint64_t random_arg64(uint64_t *s)
{
	uint64_t r = xorshift(s);

	switch (r & 15) {
	case 0:
		return xorshift(s);			/* anything */
	case 1:
		return (uint64_t)random_arg(s) << 32 | random_arg(s);
	case 2:
		return -(uint64_t)((r >> 8) & 0xfff);	/* near the top */
	case 3:
		return VMM_EXTENT_GPA + ((r >> 8) % 16) * 4096UL;
	default:
		return random_arg(s);
	}
}

#define HOSTILE_CHAIN	16	/* extent pages a random chain spans */

/*
 * A chain of up to HOSTILE_CHAIN extent pages from VMM_EXTENT_GPA, each
 * nearly right, linked forward, sometimes back (a loop), sometimes out of
 * RAM or into the middle of a page.
 */
static void random_extent_chain(struct vmm *v, uint64_t *s)
{
	uint64_t r = xorshift(s);
	unsigned int n = 1 + r % HOSTILE_CHAIN, i;
	struct veil_extent_page *p;

	/* random_extent_page() fills the first page: the others are copies. */
	for (i = n; i-- > 0;) {
		random_extent_page(v, s);
		if (i)
			memcpy(v->mem + VMM_EXTENT_GPA + i * 4096UL,
			       v->mem + VMM_EXTENT_GPA, 4096);
	}
	for (i = 0; i < n; i++) {
		p = (void *)(v->mem + VMM_EXTENT_GPA + i * 4096UL);
		r = xorshift(s);
		if (i + 1 < n)
			p->next = VMM_EXTENT_GPA + (i + 1) * 4096UL;
		if (r % 16 == 0)
			p->next = VMM_EXTENT_GPA + (r >> 8) % (i + 1) * 4096UL;
		else if (r % 16 == 1)
			p->next = random_arg64(s);
	}
}

/* Slab and vmalloc memory of the whole host, in kB, from /proc/meminfo. */
static long meminfo_kb(const char *key)
{
	char line[256];
	size_t len = strlen(key);
	long kb = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, len) && line[len] == ':')
			kb = strtol(line + len + 1, NULL, 10);
	fclose(f);
	return kb;
}

/*
 * Lets freed memory reach the slab counters before they are read: RCU
 * callbacks run within the pause, and shrinking every cache returns its
 * empty slabs and, on a KASAN kernel, empties the quarantine that keeps
 * freed objects (up to 1/32 of RAM) allocated to catch use after free.
 * Without that, a debug kernel's slab grows by megabytes with no leak.
 */
static void slab_settle(void)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int fd;

	usleep(500 * 1000);
	d = opendir("/sys/kernel/slab");
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink", e->d_name);
		fd = open(path, O_WRONLY);
		if (fd < 0)
			continue;
		if (write(fd, "1", 1) != 1)
			ksft_print_msg("%s: %s\n", path, strerror(errno));
		close(fd);
	}
	closedir(d);
}

/* A valid set over the data frames, published, sanitized and restored. */
static void sanitize_round(struct __test_metadata *_metadata, struct vmm *v, int fd,
			   uint64_t *s, uint64_t *gen)
{
	struct veil_extent set[8];
	uint64_t first = VMM_DATA_GPA >> 12, frames = (VMM_MEM_SIZE - VMM_DATA_GPA) >> 12;
	uint64_t gfn = first, before[8], n = 1 + xorshift(s) % 8, i, got;

	for (i = 0; i < n; i++) {
		gfn += 1 + xorshift(s) % 16;
		set[i].gfn = gfn;
		set[i].npages = 1 + xorshift(s) % 8;
		if (set[i].gfn + set[i].npages > first + frames)
			break;
		gfn += set[i].npages;
		memset(v->mem + set[i].gfn * 4096, 0x40 + (int)i, set[i].npages * 4096);
		before[i] = vmm_page_hash(v, set[i].gfn);
	}
	n = i;
	ASSERT_EQ(0, vmm_register(v));
	ASSERT_EQ(0, vmm_prepare(v, fd, set, n, ++*gen));
	ASSERT_EQ(0, veil_sanitize(fd, VEIL_IOC_SANITIZE, &got));
	for (i = 0; i < n; i++)
		EXPECT_TRUE(vmm_page_is_zero(v, set[i].gfn));
	ASSERT_EQ(0, veil_sanitize(fd, VEIL_IOC_RESTORE, NULL));
	for (i = 0; i < n; i++) {
		EXPECT_EQ(before[i], vmm_page_hash(v, set[i].gfn))
			TH_LOG("frame %llu not put back", (unsigned long long)set[i].gfn);
	}
	ASSERT_EQ(0, ioctl(fd, VEIL_IOC_THAW));
}

/*
 * A hostile guest: VEIL_HOSTILE_CALLS (100,000 by default; make
 * check-debug a million) calls, or as many as VEIL_HOSTILE_SECONDS (120
 * by default, 0 for no limit) allow, from a 64-bit guest with 64-bit arguments,
 * every sub-operation and unknown ones, random extent chains over up to
 * HOSTILE_CHAIN pages; every VEIL_HOSTILE_ROUND calls a valid set is
 * prepared, sanitized and restored in between.  The host stays up, keeps
 * serving, puts every byte back, and holds no more slab or vmalloc memory
 * afterwards than before (the same VM shape is made and destroyed once
 * before the count is taken, so that first-use allocations are not
 * counted).
 */
FIXTURE(random) {};
FIXTURE_SETUP(random) {}
FIXTURE_TEARDOWN(random) {}

/* A million calls took an hour on a debug kernel: four times that. */
TEST_F_TIMEOUT(random, hypercalls_leave_the_host_up, 14400)
{
	uint64_t calls = vmm_env_count("VEIL_HOSTILE_CALLS", 100000);
	uint64_t every = vmm_env_count("VEIL_HOSTILE_ROUND", 5000);
	uint64_t budget = vmm_env_count("VEIL_HOSTILE_SECONDS", 120);
	uint64_t seed = 0x5eed0fbadc0ffeeULL, i, r, op, a1, a2, a3, gen = 0, rounds = 0;
	long slab0, vmalloc0, slab1, vmalloc1;
	struct veil_info info;
	double t0 = vmm_seconds();
	struct vmm v;
	int fd, err;

	ASSERT_EQ(0, veil_module_load());
	ASSERT_EQ(0, vmm_create_mode(&v, 0, true));
	fd = veil_attach(&v);
	ASSERT_LE(0, fd);
	sanitize_round(_metadata, &v, fd, &seed, &gen);
	close(fd);
	vmm_destroy(&v);
	slab_settle();
	slab0 = meminfo_kb("Slab");
	vmalloc0 = meminfo_kb("VmallocUsed");

	ASSERT_EQ(0, vmm_create_mode(&v, 0, true));
	fd = veil_attach(&v);
	ASSERT_LE(0, fd);
	vmm_control(&v)->magic = VEIL_CONTROL_MAGIC;
	vmm_control(&v)->abi_version = VEIL_ABI_VERSION;
	for (i = 0; i < calls; i++) {
		/* A slower machine makes fewer calls, not a timeout. */
		if (budget && !(i % 1024) && vmm_seconds() - t0 > budget)
			break;
		if (every && i && !(i % every)) {
			sanitize_round(_metadata, &v, fd, &seed, &gen);
			rounds++;
		}
		if (!(i % 16))
			random_extent_chain(&v, &seed);
		r = xorshift(&seed);
		op = r % 9 == 8 ? random_arg64(&seed) : r % 8;
		a1 = random_arg64(&seed);
		a2 = random_arg64(&seed);
		a3 = random_arg64(&seed);
		if (op == VEIL_HC_PUBLISH && r % 4) {
			/* Plausible: the chain, its first page's count, a newer generation. */
			a1 = VMM_EXTENT_GPA;
			a2 = ((struct veil_extent_page *)(v.mem + VMM_EXTENT_GPA))->count;
			a3 = r % 8 ? ++gen : a3;
		} else if (op == VEIL_HC_REGISTER && r % 4) {
			a1 = VMM_CONTROL_GPA;
			a2 = VEIL_ABI_VERSION;
			gen = 0;
		}
		vmm_hypercall64(&v, VEIL_HC_NR, op, a1, a2, a3, &err);
		ASSERT_EQ(0, err) TH_LOG("call %llu did not complete", (unsigned long long)i);
	}
	calls = i;
	ASSERT_LT(1024, calls) TH_LOG("only %llu calls in %llu s", (unsigned long long)calls,
				     (unsigned long long)budget);
	ASSERT_EQ(0, veil_info(fd, &info));
	EXPECT_LE(calls, info.hypercalls);
	EXPECT_LT(0, info.publishes) TH_LOG("no random PUBLISH got through validation");
	EXPECT_LT(0, info.rejected);
	/* Still serving: a clean REGISTER and an empty PUBLISH work. */
	EXPECT_EQ(0, vmm_register(&v));
	EXPECT_EQ(0, vmm_hypercall(&v, VEIL_HC_PUBLISH, 0, 0, 0xffffffff));
	close(fd);
	vmm_destroy(&v);

	/* What the VM's end freed: RCU callbacks and slab caches settle first. */
	slab_settle();
	slab1 = meminfo_kb("Slab");
	vmalloc1 = meminfo_kb("VmallocUsed");
	TH_LOG("%llu calls and %llu sanitize rounds in %.1f s: %llu rejected, %llu sets published; slab %ld -> %ld kB, vmalloc %ld -> %ld kB",
	       (unsigned long long)calls, (unsigned long long)rounds, vmm_seconds() - t0,
	       (unsigned long long)info.rejected, (unsigned long long)info.publishes,
	       slab0, slab1, vmalloc0, vmalloc1);
	/* Slab moves with everything else the kernel does: a leak per call would not fit. */
	EXPECT_GT(slab0 + 2048, slab1) TH_LOG("slab grew by %ld kB", slab1 - slab0);
	EXPECT_GT(vmalloc0 + 1024, vmalloc1) TH_LOG("vmalloc grew by %ld kB", vmalloc1 - vmalloc0);
}

TEST_HARNESS_MAIN
