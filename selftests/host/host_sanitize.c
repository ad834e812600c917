// SPDX-License-Identifier: GPL-2.0
/*
 * veil_host's checkpoint protocol: PREPARE/ACK/THAW through the control
 * page, SANITIZE zeroing exactly the excluded frames and RESTORE bringing
 * every byte back, vCPUs held while sanitized, the managing descriptor or
 * the VM going away in every state, and two VMs that do not touch.
 */
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>

#include "kselftest_harness.h"
#include "vmm.h"

#define NR_PAGES	(VMM_MEM_SIZE >> 12)
#define DATA_GFN	(VMM_DATA_GPA >> 12)
#define CONTROL_GFN	(VMM_CONTROL_GPA >> 12)

static const struct veil_extent test_set[] = {
	{ .gfn = DATA_GFN, .npages = 1 },
	{ .gfn = DATA_GFN + 5, .npages = 3 },
	{ .gfn = DATA_GFN + 100, .npages = 300 },	/* over one pin batch */
	{ .gfn = NR_PAGES - 1, .npages = 1 },		/* last frame of RAM */
};
#define TEST_SET_PAGES	305

static bool excluded(uint64_t gfn)
{
	size_t i;

	for (i = 0; i < sizeof(test_set) / sizeof(test_set[0]); i++)
		if (gfn >= test_set[i].gfn && gfn < test_set[i].gfn + test_set[i].npages)
			return true;
	return false;
}

static void fill_random(struct vmm *v, uint64_t seed)
{
	uint64_t *p = (uint64_t *)(v->mem + VMM_DATA_GPA);
	size_t i;

	for (i = 0; i < (VMM_MEM_SIZE - VMM_DATA_GPA) / 8; i++) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		p[i] = seed | 1;	/* no page of data is all zeros */
	}
}

static void hash_all(struct vmm *v, uint64_t *h)
{
	uint64_t gfn;

	for (gfn = 0; gfn < NR_PAGES; gfn++)
		h[gfn] = vmm_page_hash(v, gfn);
}

static void no_op(int sig)
{
	(void)sig;
}

static void install_kick(void)
{
	struct sigaction sa = { .sa_handler = no_op };

	sigaction(SIGUSR1, &sa, NULL);
}

/*
 * PREPARE answered as the guest answers it: @set published again, at the
 * generation after the host's, and acknowledged without an error.
 */
static int prepare_set(struct vmm *v, int veil, const struct veil_extent *set,
		       uint32_t n)
{
	struct veil_info info;
	int r = veil_info(veil, &info);

	return r ? r : vmm_prepare(v, veil, set, n, info.generation + 1);
}

/* A guest that registered and published test_set at generation 1. */
FIXTURE(vm) {
	struct vmm v;
	int veil;
	uint64_t before[NR_PAGES];
};

static void setup_guest(struct __test_metadata *_metadata, struct vmm *v,
			uint64_t seed)
{
	ASSERT_EQ(0, vmm_create(v, 0));
	fill_random(v, seed);
	ASSERT_EQ(0, vmm_register(v));
	ASSERT_EQ(0, vmm_publish(v, test_set, 4, 1));
}

FIXTURE_SETUP(vm)
{
	install_kick();
	ASSERT_EQ(0, veil_module_load());
	setup_guest(_metadata, &self->v, 0x1234567);
	self->veil = veil_attach(&self->v);
	ASSERT_LE(0, self->veil);
	hash_all(&self->v, self->before);
}

FIXTURE_TEARDOWN(vm)
{
	if (self->veil >= 0)
		close(self->veil);
	vmm_destroy(&self->v);
}

/* Every frame but the control page is as it was before SANITIZE. */
static void expect_all_restored(struct __test_metadata *_metadata,
				struct vmm *v, const uint64_t *before)
{
	uint64_t gfn, bad = 0;

	for (gfn = 0; gfn < NR_PAGES; gfn++)
		if (gfn != CONTROL_GFN && vmm_page_hash(v, gfn) != before[gfn]) {
			if (!bad++)
				TH_LOG("frame 0x%llx differs after RESTORE",
				       (unsigned long long)gfn);
		}
	EXPECT_EQ(0, bad);
	EXPECT_EQ(VEIL_STATE_RUNNING, vmm_control(v)->state);
}

TEST_F(vm, sanitize_zeroes_exactly_the_excluded_frames_and_restore_returns_them)
{
	uint64_t gfn, pages = 0, wrong = 0;
	struct veil_info info;

	ASSERT_EQ(0, prepare_set(&self->v, self->veil, test_set, 4));
	ASSERT_EQ(0, veil_sanitize(self->veil, VEIL_IOC_SANITIZE, &pages));
	EXPECT_EQ(TEST_SET_PAGES, pages);
	for (gfn = 0; gfn < NR_PAGES; gfn++) {
		if (gfn == CONTROL_GFN)
			continue;
		if (excluded(gfn) ? !vmm_page_is_zero(&self->v, gfn) :
				    vmm_page_hash(&self->v, gfn) != self->before[gfn]) {
			if (!wrong++)
				TH_LOG("frame 0x%llx (%s) is wrong after SANITIZE",
				       (unsigned long long)gfn,
				       excluded(gfn) ? "excluded" : "kept");
		}
	}
	EXPECT_EQ(0, wrong);
	EXPECT_EQ(VEIL_STATE_SANITIZED, vmm_control(&self->v)->state);
	EXPECT_EQ(1, vmm_control(&self->v)->host_sanitized);
	ASSERT_EQ(0, veil_info(self->veil, &info));
	EXPECT_EQ(VEIL_HOST_SANITIZED, info.state);
	EXPECT_EQ(-EALREADY, veil_sanitize(self->veil, VEIL_IOC_SANITIZE, NULL));

	ASSERT_EQ(0, veil_sanitize(self->veil, VEIL_IOC_RESTORE, &pages));
	EXPECT_EQ(TEST_SET_PAGES, pages);
	expect_all_restored(_metadata, &self->v, self->before);
	ASSERT_EQ(0, veil_info(self->veil, &info));
	EXPECT_EQ(VEIL_HOST_PREPARED, info.state) TH_LOG("frozen until THAW");
	ASSERT_EQ(0, ioctl(self->veil, VEIL_IOC_THAW));
	ASSERT_EQ(0, veil_info(self->veil, &info));
	EXPECT_EQ(VEIL_HOST_RUNNING, info.state);
	EXPECT_EQ(1, info.sanitizes);
	EXPECT_EQ(1, info.restores);
	EXPECT_EQ(-EINVAL, veil_sanitize(self->veil, VEIL_IOC_RESTORE, NULL));
}

TEST_F(vm, sanitize_marks_the_frames_in_the_dirty_log)
{
	static unsigned long bitmap[NR_PAGES / 64];
	struct kvm_userspace_memory_region region = {
		.slot = 0, .flags = KVM_MEM_LOG_DIRTY_PAGES,
		.memory_size = VMM_MEM_SIZE, .userspace_addr = (unsigned long)self->v.mem,
	};
	struct kvm_dirty_log log = { .slot = 0, .dirty_bitmap = bitmap };
	uint64_t gfn, missing = 0, extra = 0;

	ASSERT_EQ(0, ioctl(self->v.vm, KVM_SET_USER_MEMORY_REGION, &region));
	ASSERT_EQ(0, ioctl(self->v.vm, KVM_GET_DIRTY_LOG, &log));	/* clear */
	ASSERT_EQ(0, prepare_set(&self->v, self->veil, test_set, 4));
	ASSERT_EQ(0, veil_sanitize(self->veil, VEIL_IOC_SANITIZE, NULL));
	memset(bitmap, 0, sizeof(bitmap));
	ASSERT_EQ(0, ioctl(self->v.vm, KVM_GET_DIRTY_LOG, &log));
	for (gfn = DATA_GFN; gfn < NR_PAGES; gfn++) {
		bool dirty = bitmap[gfn / 64] & (1UL << (gfn % 64));

		missing += excluded(gfn) && !dirty;
		extra += !excluded(gfn) && dirty;
	}
	EXPECT_EQ(0, missing) TH_LOG("excluded frames not marked dirty by SANITIZE");
	EXPECT_EQ(0, extra) TH_LOG("kept frames marked dirty by SANITIZE");

	ASSERT_EQ(0, veil_sanitize(self->veil, VEIL_IOC_RESTORE, NULL));
	memset(bitmap, 0, sizeof(bitmap));
	ASSERT_EQ(0, ioctl(self->v.vm, KVM_GET_DIRTY_LOG, &log));
	missing = 0;
	for (gfn = DATA_GFN; gfn < NR_PAGES; gfn++)
		missing += excluded(gfn) && !(bitmap[gfn / 64] & (1UL << (gfn % 64)));
	EXPECT_EQ(0, missing) TH_LOG("excluded frames not marked dirty by RESTORE");
	expect_all_restored(_metadata, &self->v, self->before);
}

/*
 * A counter of this process's newest VM in veil_host's debugfs file, or -1.
 * The file's name ends in the VMM's pid; its id is the VM's number.
 */
static long long debugfs_counter(const char *name)
{
	char path[300], line[128], suffix[32];
	long long v = -1, val;
	unsigned int id, best = 0;
	struct dirent *e;
	size_t len, n;
	DIR *d;
	FILE *f;

	if (access("/sys/kernel/debug/veil_host", F_OK))
		mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	d = opendir("/sys/kernel/debug/veil_host");
	if (!d)
		return -1;
	snprintf(suffix, sizeof(suffix), "-%d", (int)getpid());
	len = strlen(suffix);
	path[0] = 0;
	while ((e = readdir(d))) {
		n = strlen(e->d_name);
		if (sscanf(e->d_name, "vm-%u-", &id) != 1 || n <= len ||
		    strcmp(e->d_name + n - len, suffix) || id < best)
			continue;
		best = id;
		snprintf(path, sizeof(path), "/sys/kernel/debug/veil_host/%s",
			 e->d_name);
	}
	closedir(d);
	f = path[0] ? fopen(path, "r") : NULL;
	if (!f)
		return -1;
	n = strlen(name);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, n) && line[n] == ':' &&
		    sscanf(line + n + 1, "%lld", &val) == 1)
			v = val;
	fclose(f);
	return v;
}

/*
 * Nothing may write into a sanitized frame: the vCPUs are held and the
 * VMM is stopped.  If something does, RESTORE still brings SANITIZE's copy
 * back, and it counts and logs what it put over, so that the lost write
 * is known.  A kept frame written meanwhile is the VMM's business.
 */
TEST_F(vm, restore_counts_frames_written_while_sanitized)
{
	uint8_t *mem = self->v.mem;

	ASSERT_EQ(0, debugfs_counter("overwritten"))
		TH_LOG("no overwritten counter in veil_host's debugfs");
	ASSERT_EQ(0, prepare_set(&self->v, self->veil, test_set, 4));
	ASSERT_EQ(0, veil_sanitize(self->veil, VEIL_IOC_SANITIZE, NULL));
	mem[(DATA_GFN + 5) * 4096 + 17] = 0x5a;		/* excluded */
	mem[(DATA_GFN + 399) * 4096 + 4095] = 0xa5;	/* excluded, last byte */
	mem[(DATA_GFN + 2) * 4096] ^= 0xff;		/* kept */
	self->before[DATA_GFN + 2] = vmm_page_hash(&self->v, DATA_GFN + 2);
	ASSERT_EQ(0, veil_sanitize(self->veil, VEIL_IOC_RESTORE, NULL));
	EXPECT_EQ(2, debugfs_counter("overwritten"));
	expect_all_restored(_metadata, &self->v, self->before);

	/* A checkpoint nothing disturbed adds nothing. */
	ASSERT_EQ(0, ioctl(self->veil, VEIL_IOC_THAW));
	ASSERT_EQ(0, prepare_set(&self->v, self->veil, test_set, 4));
	ASSERT_EQ(0, veil_sanitize(self->veil, VEIL_IOC_SANITIZE, NULL));
	ASSERT_EQ(0, veil_sanitize(self->veil, VEIL_IOC_RESTORE, NULL));
	EXPECT_EQ(2, debugfs_counter("overwritten"));
	expect_all_restored(_metadata, &self->v, self->before);
}

struct runner {
	struct vmm *v;
	uint32_t op, a1, a2, a3;
	uint32_t ret;
	int err;
	volatile bool done;
};

static void *run_hypercall(void *arg)
{
	struct runner *r = arg;

	r->ret = vmm_hypercall_nr(r->v, VEIL_HC_NR, r->op, r->a1, r->a2, r->a3,
				  &r->err);
	r->done = true;
	return NULL;
}

TEST_F(vm, vcpu_is_held_while_sanitized_and_runs_after_restore)
{
	struct runner r = { .v = &self->v, .op = VEIL_HC_PUBLISH, .a3 = 3 };
	struct veil_info info;
	pthread_t t;

	ASSERT_EQ(0, prepare_set(&self->v, self->veil, test_set, 4));
	ASSERT_EQ(0, veil_sanitize(self->veil, VEIL_IOC_SANITIZE, NULL));
	ASSERT_EQ(0, pthread_create(&t, NULL, run_hypercall, &r));
	usleep(500 * 1000);
	EXPECT_FALSE(r.done) TH_LOG("the guest ran while its frames were zeroed");
	ASSERT_EQ(0, veil_info(self->veil, &info));
	EXPECT_EQ(1, info.runs_held);
	EXPECT_EQ(2, info.generation) TH_LOG("the guest published while sanitized");

	ASSERT_EQ(0, veil_sanitize(self->veil, VEIL_IOC_RESTORE, NULL));
	pthread_join(t, NULL);
	EXPECT_TRUE(r.done);
	EXPECT_EQ(0, r.err);
	EXPECT_EQ(0, r.ret) TH_LOG("the held hypercall after RESTORE");
	ASSERT_EQ(0, veil_info(self->veil, &info));
	EXPECT_EQ(3, info.generation);
}

TEST_F(vm, held_vcpu_returns_eintr_on_a_signal_without_running)
{
	struct runner r = { .v = &self->v, .op = VEIL_HC_PUBLISH, .a3 = 3 };
	struct kvm_regs regs;
	pthread_t t;

	ASSERT_EQ(0, prepare_set(&self->v, self->veil, test_set, 4));
	ASSERT_EQ(0, veil_sanitize(self->veil, VEIL_IOC_SANITIZE, NULL));
	ASSERT_EQ(0, pthread_create(&t, NULL, run_hypercall, &r));
	usleep(300 * 1000);
	EXPECT_FALSE(r.done);
	while (!r.done) {
		pthread_kill(t, SIGUSR1);
		usleep(50 * 1000);
	}
	pthread_join(t, NULL);
	EXPECT_EQ(-EINTR, r.err);
	ASSERT_EQ(0, ioctl(self->v.vcpu, KVM_GET_REGS, &regs));
	EXPECT_EQ(VMM_CODE_GPA, regs.rip) TH_LOG("the guest moved while held");
	ASSERT_EQ(0, veil_sanitize(self->veil, VEIL_IOC_RESTORE, NULL));
	expect_all_restored(_metadata, &self->v, self->before);
}

static void *run_spin(void *arg)
{
	struct runner *r = arg;

	r->err = vmm_set_regs(r->v, VMM_SPIN_GPA, 0, 0, 0, 0, 0);
	if (!r->err && ioctl(r->v->vcpu, KVM_RUN, 0))
		r->err = -errno;
	r->done = true;
	return NULL;
}

TEST_F(vm, sanitize_is_refused_while_a_vcpu_runs)
{
	struct runner r = { .v = &self->v };
	pthread_t t;

	ASSERT_EQ(0, prepare_set(&self->v, self->veil, test_set, 4));
	ASSERT_EQ(0, pthread_create(&t, NULL, run_spin, &r));
	usleep(300 * 1000);
	EXPECT_EQ(-EBUSY, veil_sanitize(self->veil, VEIL_IOC_SANITIZE, NULL));
	EXPECT_FALSE(vmm_page_is_zero(&self->v, DATA_GFN))
		TH_LOG("a refused SANITIZE zeroed a frame");
	while (!r.done) {
		pthread_kill(t, SIGUSR1);
		usleep(50 * 1000);
	}
	pthread_join(t, NULL);
	EXPECT_EQ(-EINTR, r.err);
	ASSERT_EQ(0, veil_sanitize(self->veil, VEIL_IOC_SANITIZE, NULL));
	ASSERT_EQ(0, veil_sanitize(self->veil, VEIL_IOC_RESTORE, NULL));
	expect_all_restored(_metadata, &self->v, self->before);
}

/* A vCPU spinning in the guest (jmp .) until a signal ends its KVM_RUN. */
struct spinner {
	int fd;
	pthread_t t;
	int err;
	volatile bool done;
};

static void *spin_vcpu(void *arg)
{
	struct spinner *s = arg;
	struct kvm_regs regs = { .rip = VMM_SPIN_GPA, .rflags = 0x2 };

	s->err = ioctl(s->fd, KVM_SET_REGS, &regs) ? -errno : 0;
	if (!s->err && ioctl(s->fd, KVM_RUN, 0))
		s->err = -errno;
	s->done = true;
	return NULL;
}

static void stop_spinner(struct spinner *s)
{
	while (!s->done) {
		pthread_kill(s->t, SIGUSR1);
		usleep(20 * 1000);
	}
	pthread_join(s->t, NULL);
}

/*
 * Four vCPUs: any one of them in the guest refuses SANITIZE, and once
 * sanitized each of the four is held before it enters the guest, until
 * RESTORE.
 */
TEST_F(vm, every_vcpu_of_four_is_held_and_any_running_one_refuses_sanitize)
{
	struct spinner s[4] = { { .fd = self->v.vcpu } };
	struct veil_info info;
	int i;

	for (i = 1; i < 4; i++) {
		s[i].fd = vmm_add_vcpu(&self->v, i);
		ASSERT_LE(0, s[i].fd) TH_LOG("vCPU %d: %s", i, strerror(-s[i].fd));
	}
	ASSERT_EQ(0, prepare_set(&self->v, self->veil, test_set, 4));
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, pthread_create(&s[i].t, NULL, spin_vcpu, &s[i]));
		usleep(200 * 1000);
		EXPECT_EQ(-EBUSY, veil_sanitize(self->veil, VEIL_IOC_SANITIZE, NULL))
			TH_LOG("SANITIZE while vCPU %d runs", i);
		stop_spinner(&s[i]);
		EXPECT_EQ(-EINTR, s[i].err);
	}
	EXPECT_FALSE(vmm_page_is_zero(&self->v, DATA_GFN)) TH_LOG("a refused SANITIZE zeroed");

	ASSERT_EQ(0, veil_sanitize(self->veil, VEIL_IOC_SANITIZE, NULL));
	for (i = 0; i < 4; i++) {
		s[i].done = false;
		ASSERT_EQ(0, pthread_create(&s[i].t, NULL, spin_vcpu, &s[i]));
	}
	usleep(500 * 1000);
	for (i = 0; i < 4; i++) {
		EXPECT_FALSE(s[i].done) TH_LOG("vCPU %d left KVM_RUN while sanitized", i);
	}
	ASSERT_EQ(0, veil_info(self->veil, &info));
	EXPECT_EQ(4, info.runs_held);
	ASSERT_EQ(0, veil_sanitize(self->veil, VEIL_IOC_RESTORE, NULL));
	/* Released: each now spins in the guest until its signal. */
	usleep(300 * 1000);
	for (i = 0; i < 4; i++) {
		EXPECT_FALSE(s[i].done) TH_LOG("vCPU %d did not run after RESTORE", i);
		stop_spinner(&s[i]);
		EXPECT_EQ(-EINTR, s[i].err);
	}
	expect_all_restored(_metadata, &self->v, self->before);
	for (i = 1; i < 4; i++)
		close(s[i].fd);
}

/* ---- partial extent records ---- */

#define PART_GFN	(DATA_GFN + 10)

static const struct veil_extent partial_set[] = {
	{ .gfn = PART_GFN - 1, .npages = 1 },			/* whole, before */
	{ .gfn = PART_GFN, .npages = VEIL_EXTENT_PART(100, 200) },
	{ .gfn = PART_GFN, .npages = VEIL_EXTENT_PART(1000, 24) },	/* same frame */
	{ .gfn = PART_GFN + 1, .npages = 1 },			/* whole, after */
	{ .gfn = PART_GFN + 2, .npages = VEIL_EXTENT_PART(4000, 96) },	/* to the end */
	{ .gfn = PART_GFN + 3, .npages = VEIL_EXTENT_PART(0, 1) },	/* first byte */
	{ .gfn = PART_GFN + 4, .npages = 300 },			/* over one pin batch */
	{ .gfn = PART_GFN + 304, .npages = VEIL_EXTENT_PART(5, 7) },
};

#define PARTIAL_SET_EXTENTS	ARRAY_SIZE(partial_set)
#define PARTIAL_SET_PAGES	307

/* Zeroes in @img the bytes that @set covers. */
static void zero_covered(unsigned char *img, const struct veil_extent *set, size_t n)
{
	unsigned long long np;
	size_t i;

	for (i = 0; i < n; i++) {
		np = set[i].npages;
		if (np & VEIL_EXTENT_PARTIAL)
			memset(img + set[i].gfn * 4096 + VEIL_EXTENT_OFF(np), 0,
			       VEIL_EXTENT_LEN(np));
		else
			memset(img + set[i].gfn * 4096, 0, np * 4096);
	}
}

/* Does a record of @set touch frame @gfn? */
static bool covers_frame(const struct veil_extent *set, size_t n,
			 unsigned long long gfn)
{
	unsigned long long np;
	size_t i;

	for (i = 0; i < n; i++) {
		np = set[i].npages & VEIL_EXTENT_PARTIAL ? 1 : set[i].npages;
		if (gfn >= set[i].gfn && gfn < set[i].gfn + np)
			return true;
	}
	return false;
}

/* Guest RAM equals @img, the control page aside; logs the first difference. */
static void expect_memory(struct __test_metadata *_metadata, const struct vmm *v,
			  const unsigned char *img, const char *when)
{
	unsigned long long gpa, bad = 0;

	for (gpa = 0; gpa < VMM_MEM_SIZE; gpa += 4096) {
		if (gpa == VMM_CONTROL_GPA || !memcmp(v->mem + gpa, img + gpa, 4096))
			continue;
		if (!bad++) {
			unsigned long long b = 0;

			while (v->mem[gpa + b] == img[gpa + b])
				b++;
			TH_LOG("%s: byte 0x%llx is 0x%02x, not 0x%02x", when,
			       gpa + b, v->mem[gpa + b],
			       img[gpa + b]);
		}
	}
	EXPECT_EQ(0, bad) TH_LOG("%s: %llu frames differ", when,
				 bad);
}

/* A guest that registered with ABI 2 and published partial_set. */
FIXTURE(partial) {
	struct vmm v;
	int veil;
	unsigned char *before, *sanitized;
};

FIXTURE_SETUP(partial)
{
	ASSERT_EQ(0, veil_module_load());
	ASSERT_EQ(0, vmm_create(&self->v, 0));
	fill_random(&self->v, 0xfeedf00d);
	ASSERT_EQ(0, vmm_register_abi(&self->v, 2));
	ASSERT_EQ(0, vmm_publish(&self->v, partial_set, PARTIAL_SET_EXTENTS, 1));
	self->veil = veil_attach(&self->v);
	ASSERT_LE(0, self->veil);
	self->before = malloc(VMM_MEM_SIZE);
	self->sanitized = malloc(VMM_MEM_SIZE);
	ASSERT_NE(NULL, self->before);
	ASSERT_NE(NULL, self->sanitized);
	memcpy(self->before, self->v.mem, VMM_MEM_SIZE);
	memcpy(self->sanitized, self->v.mem, VMM_MEM_SIZE);
	zero_covered(self->sanitized, partial_set, PARTIAL_SET_EXTENTS);
}

FIXTURE_TEARDOWN(partial)
{
	if (self->veil >= 0)
		close(self->veil);
	vmm_destroy(&self->v);
	free(self->before);
	free(self->sanitized);
}

TEST_F(partial, sanitize_zeroes_only_the_bytes_of_partial_records)
{
	struct veil_info info;
	unsigned long pages = 0;

	ASSERT_EQ(0, veil_info(self->veil, &info));
	EXPECT_EQ(PARTIAL_SET_EXTENTS, info.nr_extents);
	EXPECT_EQ(PARTIAL_SET_PAGES, info.nr_pages);

	ASSERT_EQ(0, prepare_set(&self->v, self->veil, partial_set, PARTIAL_SET_EXTENTS));
	ASSERT_EQ(0, veil_sanitize(self->veil, VEIL_IOC_SANITIZE, &pages));
	EXPECT_EQ(PARTIAL_SET_PAGES, pages);
	expect_memory(_metadata, &self->v, self->sanitized, "after SANITIZE");
	/* The frames around the bytes are live guest data: all still there. */
	EXPECT_FALSE(vmm_page_is_zero(&self->v, PART_GFN));
	EXPECT_FALSE(vmm_page_is_zero(&self->v, PART_GFN + 3));
	EXPECT_EQ(0, self->v.mem[PART_GFN * 4096 + 1000]);
	EXPECT_NE(0, memcmp(self->v.mem, self->before, VMM_MEM_SIZE));

	ASSERT_EQ(0, veil_sanitize(self->veil, VEIL_IOC_RESTORE, &pages));
	EXPECT_EQ(PARTIAL_SET_PAGES, pages);
	expect_memory(_metadata, &self->v, self->before, "after RESTORE");
	EXPECT_EQ(VEIL_STATE_RUNNING, vmm_control(&self->v)->state);
}

TEST_F(partial, frames_of_partial_records_are_marked_dirty)
{
	static unsigned long bitmap[NR_PAGES / 64];
	struct kvm_userspace_memory_region region = {
		.slot = 0, .flags = KVM_MEM_LOG_DIRTY_PAGES,
		.memory_size = VMM_MEM_SIZE, .userspace_addr = (unsigned long)self->v.mem,
	};
	struct kvm_dirty_log log = { .slot = 0, .dirty_bitmap = bitmap };
	unsigned long long gfn, missing = 0, extra = 0;

	ASSERT_EQ(0, ioctl(self->v.vm, KVM_SET_USER_MEMORY_REGION, &region));
	ASSERT_EQ(0, ioctl(self->v.vm, KVM_GET_DIRTY_LOG, &log));	/* clear */
	ASSERT_EQ(0, prepare_set(&self->v, self->veil, partial_set, PARTIAL_SET_EXTENTS));
	ASSERT_EQ(0, veil_sanitize(self->veil, VEIL_IOC_SANITIZE, NULL));
	memset(bitmap, 0, sizeof(bitmap));
	ASSERT_EQ(0, ioctl(self->v.vm, KVM_GET_DIRTY_LOG, &log));
	for (gfn = DATA_GFN; gfn < NR_PAGES; gfn++) {
		bool covered = covers_frame(partial_set, PARTIAL_SET_EXTENTS, gfn);
		bool dirty = bitmap[gfn / 64] & (1UL << (gfn % 64));

		missing += covered && !dirty;
		extra += !covered && dirty;
	}
	EXPECT_EQ(0, missing) TH_LOG("frames of the set not marked dirty by SANITIZE");
	EXPECT_EQ(0, extra) TH_LOG("other frames marked dirty by SANITIZE");
	ASSERT_EQ(0, veil_sanitize(self->veil, VEIL_IOC_RESTORE, NULL));
	expect_memory(_metadata, &self->v, self->before, "after RESTORE");
}

/*
 * A hostile memslot layout: slot 1 maps the same memory again above guest
 * RAM, and two partial records, one in each alias, cover overlapping bytes
 * of one frame.  The first stashes the real bytes, the second partly the
 * zeroes the first left: only restoring the second first brings all back.
 */
TEST_F(partial, aliased_partial_records_are_restored_last_first)
{
	struct kvm_userspace_memory_region alias = {
		.slot = 1, .guest_phys_addr = VMM_MEM_SIZE,
		.memory_size = VMM_MEM_SIZE, .userspace_addr = (unsigned long)self->v.mem,
	};
	const struct veil_extent set[] = {
		{ .gfn = PART_GFN, .npages = VEIL_EXTENT_PART(100, 200) },
		{ .gfn = NR_PAGES + PART_GFN, .npages = VEIL_EXTENT_PART(150, 200) },
	};

	ASSERT_EQ(0, ioctl(self->v.vm, KVM_SET_USER_MEMORY_REGION, &alias));
	ASSERT_EQ(0, prepare_set(&self->v, self->veil, set, 2));
	memcpy(self->before, self->v.mem, VMM_MEM_SIZE);	/* new extent page */
	memcpy(self->sanitized, self->v.mem, VMM_MEM_SIZE);
	memset(self->sanitized + PART_GFN * 4096 + 100, 0, 250);

	ASSERT_EQ(0, veil_sanitize(self->veil, VEIL_IOC_SANITIZE, NULL));
	expect_memory(_metadata, &self->v, self->sanitized, "after SANITIZE");
	ASSERT_EQ(0, veil_sanitize(self->veil, VEIL_IOC_RESTORE, NULL));
	expect_memory(_metadata, &self->v, self->before, "after RESTORE");
}

/* ---- PREPARE, ACK, THAW ---- */

struct preparer {
	int veil;
	uint32_t timeout_ms;
	struct veil_prepare p;
	int r;
};

static void *do_prepare(void *arg)
{
	struct preparer *pr = arg;

	pr->p = (struct veil_prepare) { .size = sizeof(pr->p),
					.timeout_ms = pr->timeout_ms };
	pr->r = ioctl(pr->veil, VEIL_IOC_PREPARE, &pr->p) ? -errno : 0;
	return NULL;
}

/* The guest agent's side: wait for request @seq with operation @op. */
static bool wait_request(struct vmm *v, uint64_t seq, uint32_t op)
{
	volatile struct veil_control *c = vmm_control(v);
	int i;

	for (i = 0; i < 500; i++) {
		if (c->req_seq == seq && c->req_op == op)
			return true;
		usleep(10 * 1000);
	}
	return false;
}

static void prepare_and_ack(struct __test_metadata *_metadata,
			    FIXTURE_DATA(vm) *self)
{
	struct preparer pr = { .veil = self->veil, .timeout_ms = 10000 };
	struct veil_extent more[5];
	pthread_t t;

	memcpy(more, test_set, sizeof(test_set));
	more[4] = (struct veil_extent) { .gfn = NR_PAGES - 1, .npages = 1 };
	more[3] = (struct veil_extent) { .gfn = DATA_GFN + 500, .npages = 2 };

	ASSERT_EQ(0, pthread_create(&t, NULL, do_prepare, &pr));
	ASSERT_TRUE(wait_request(&self->v, 1, VEIL_REQ_PREPARE))
		TH_LOG("no PREPARE request in the control page");
	/* The guest collects, publishes, says so and acknowledges. */
	ASSERT_EQ(0, vmm_publish(&self->v, more, 5, 2));
	vmm_control(&self->v)->guest_generation = 2;
	ASSERT_EQ(0, vmm_hypercall(&self->v, VEIL_HC_ACK, 1, 0, 0));
	pthread_join(t, NULL);
	ASSERT_EQ(0, pr.r) TH_LOG("PREPARE: %s", strerror(-pr.r));
	EXPECT_EQ(2, pr.p.generation);
	EXPECT_EQ(307, pr.p.nr_pages);
}

TEST_F(vm, prepare_returns_on_ack_and_thaw_releases_the_guest)
{
	struct veil_info info;

	prepare_and_ack(_metadata, self);
	ASSERT_EQ(0, veil_info(self->veil, &info));
	EXPECT_EQ(VEIL_HOST_PREPARED, info.state);
	EXPECT_TRUE(info.flags & VEIL_INFO_ACKED);
	EXPECT_EQ(1, info.req_seq);
	EXPECT_EQ(1, info.ack_seq);

	ASSERT_EQ(0, veil_sanitize(self->veil, VEIL_IOC_SANITIZE, NULL));
	ASSERT_EQ(0, veil_sanitize(self->veil, VEIL_IOC_RESTORE, NULL));
	ASSERT_EQ(0, veil_info(self->veil, &info));
	EXPECT_EQ(VEIL_HOST_PREPARED, info.state);

	ASSERT_EQ(0, ioctl(self->veil, VEIL_IOC_THAW));
	EXPECT_EQ(2, vmm_control(&self->v)->req_seq);
	EXPECT_EQ(VEIL_REQ_THAW, vmm_control(&self->v)->req_op);
	ASSERT_EQ(0, veil_info(self->veil, &info));
	EXPECT_EQ(VEIL_HOST_RUNNING, info.state);
	EXPECT_EQ(0, vmm_hypercall(&self->v, VEIL_HC_ACK, 2, 0, 0));
	EXPECT_EQ(0, vmm_hypercall(&self->v, VEIL_HC_RESTORED,
				   VEIL_RESTORED_KILLED, 1, 0));
	ASSERT_EQ(0, veil_info(self->veil, &info));
	EXPECT_EQ(VEIL_RESTORED_KILLED, info.restored_flags);
}

TEST_F(vm, prepare_without_ack_times_out_and_thaws)
{
	struct veil_prepare p = { .size = sizeof(p), .timeout_ms = 300 };
	struct veil_info info;

	EXPECT_EQ(-1, ioctl(self->veil, VEIL_IOC_PREPARE, &p));
	EXPECT_EQ(ETIMEDOUT, errno);
	EXPECT_EQ(2, vmm_control(&self->v)->req_seq);
	EXPECT_EQ(VEIL_REQ_THAW, vmm_control(&self->v)->req_op)
		TH_LOG("a timed-out PREPARE must thaw the guest");
	ASSERT_EQ(0, veil_info(self->veil, &info));
	EXPECT_EQ(VEIL_HOST_RUNNING, info.state);
	/* A late ack of the abandoned request is refused. */
	EXPECT_EQ(KVM_EINVAL_32, vmm_hypercall(&self->v, VEIL_HC_ACK, 1, 0, 0));
}

/*
 * A manager killed while PREPARE waits for the guest: the host cannot
 * reach guest memory from a task with a fatal signal pending, which must
 * not be taken for a guest that rebooted.  The guest stays registered, and
 * the next manager's THAW and checkpoint work.
 */
TEST_F(vm, manager_killed_in_prepare_leaves_the_guest_registered)
{
	volatile struct veil_control *c = vmm_control(&self->v);
	struct veil_prepare p = { .size = sizeof(p), .timeout_ms = 20000 };
	uint64_t seq = c->req_seq + 1;
	struct veil_info info;
	int fd, i, status;
	pid_t pid;

	/* One manager at a time: this one hands the VM over to the child. */
	close(self->veil);
	self->veil = -1;
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		fd = veil_attach(&self->v);
		_exit(fd < 0 ? 2 : ioctl(fd, VEIL_IOC_PREPARE, &p) ? 3 : 0);
	}
	for (i = 0; i < 4000 && c->req_seq != seq; i++)
		usleep(5000);
	ASSERT_EQ(seq, c->req_seq) TH_LOG("the manager's PREPARE never reached the guest");
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status));

	self->veil = veil_attach(&self->v);
	ASSERT_LE(0, self->veil);
	ASSERT_EQ(0, veil_info(self->veil, &info));
	EXPECT_TRUE(info.flags & VEIL_INFO_REGISTERED)
		TH_LOG("a killed manager made the host forget the guest");
	/* Its own THAW could not reach the guest: the next manager's does. */
	ASSERT_EQ(0, ioctl(self->veil, VEIL_IOC_THAW));
	EXPECT_EQ(VEIL_REQ_THAW, c->req_op);
	ASSERT_EQ(0, prepare_set(&self->v, self->veil, test_set, 4));
	ASSERT_EQ(0, veil_sanitize(self->veil, VEIL_IOC_SANITIZE, NULL));
	ASSERT_EQ(0, veil_sanitize(self->veil, VEIL_IOC_RESTORE, NULL));
	expect_all_restored(_metadata, &self->v, self->before);
	ASSERT_EQ(0, ioctl(self->veil, VEIL_IOC_THAW));
}

/* ---- the managing descriptor closes ---- */

TEST_F(vm, closing_the_descriptor_while_sanitized_restores)
{
	ASSERT_EQ(0, prepare_set(&self->v, self->veil, test_set, 4));
	ASSERT_EQ(0, veil_sanitize(self->veil, VEIL_IOC_SANITIZE, NULL));
	ASSERT_TRUE(vmm_page_is_zero(&self->v, DATA_GFN));
	close(self->veil);
	self->veil = -1;
	expect_all_restored(_metadata, &self->v, self->before);
	/* And the guest runs again. */
	EXPECT_EQ(0, vmm_hypercall(&self->v, VEIL_HC_PUBLISH, 0, 0, 9));
}

TEST_F(vm, closing_the_descriptor_while_prepared_thaws)
{
	prepare_and_ack(_metadata, self);
	close(self->veil);
	self->veil = -1;
	EXPECT_EQ(2, vmm_control(&self->v)->req_seq);
	EXPECT_EQ(VEIL_REQ_THAW, vmm_control(&self->v)->req_op);
}

/* ---- the VM goes away ---- */

static int veil_vms_known(void)
{
	struct dirent *e;
	int n = 0;
	DIR *d;

	if (access("/sys/kernel/debug/veil_host", F_OK))
		mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	d = opendir("/sys/kernel/debug/veil_host");
	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += !strncmp(e->d_name, "vm-", 3);
	closedir(d);
	return n;
}

/* Close the VMM's descriptors of the VM, keep its memory mapped. */
static void close_vm_fds(struct vmm *v)
{
	munmap(v->run, v->run_size);
	v->run = NULL;
	close(v->vcpu);
	close(v->vm);
	close(v->kvm);
	v->vcpu = v->vm = v->kvm = -1;
}

FIXTURE(lifetime) {
	struct vmm v;
	int veil;
	int known;
	uint64_t before[NR_PAGES];
};

FIXTURE_VARIANT(lifetime) {
	int state;		/* VEIL_HOST_* reached before the VM goes */
	bool attached;
	bool unmap;		/* the VMM's memory goes too */
};

FIXTURE_VARIANT_ADD(lifetime, unattached) { .state = VEIL_HOST_RUNNING };
FIXTURE_VARIANT_ADD(lifetime, running) { .state = VEIL_HOST_RUNNING, .attached = true };
FIXTURE_VARIANT_ADD(lifetime, preparing) { .state = VEIL_HOST_PREPARING, .attached = true };
FIXTURE_VARIANT_ADD(lifetime, prepared) { .state = VEIL_HOST_PREPARED, .attached = true };
FIXTURE_VARIANT_ADD(lifetime, sanitized) { .state = VEIL_HOST_SANITIZED, .attached = true };
FIXTURE_VARIANT_ADD(lifetime, sanitized_memory_gone) {
	.state = VEIL_HOST_SANITIZED, .attached = true, .unmap = true };

FIXTURE_SETUP(lifetime)
{
	ASSERT_EQ(0, veil_module_load());
	self->known = veil_vms_known();
	ASSERT_LE(0, self->known) TH_LOG("no /sys/kernel/debug/veil_host");
	setup_guest(_metadata, &self->v, 42);
	hash_all(&self->v, self->before);
	self->veil = -1;
	if (variant->attached) {
		self->veil = veil_attach(&self->v);
		ASSERT_LE(0, self->veil);
	}
	EXPECT_EQ(self->known + 1, veil_vms_known());
}

FIXTURE_TEARDOWN(lifetime)
{
	if (self->veil >= 0)
		close(self->veil);
	vmm_destroy(&self->v);
}

TEST_F(lifetime, vm_destroyed_leaves_nothing_behind)
{
	struct preparer pr = { .veil = self->veil, .timeout_ms = 1000 };
	pthread_t t;

	if (variant->state == VEIL_HOST_PREPARED || variant->state == VEIL_HOST_SANITIZED)
		ASSERT_EQ(0, prepare_set(&self->v, self->veil, test_set, 4));
	if (variant->state == VEIL_HOST_SANITIZED)
		ASSERT_EQ(0, veil_sanitize(self->veil, VEIL_IOC_SANITIZE, NULL));
	if (variant->state == VEIL_HOST_PREPARING) {
		ASSERT_EQ(0, pthread_create(&t, NULL, do_prepare, &pr));
		ASSERT_TRUE(wait_request(&self->v, 1, VEIL_REQ_PREPARE));
	}

	/* The VMM lets go of the VM (and maybe of its memory). */
	close_vm_fds(&self->v);
	if (variant->unmap) {
		munmap(self->v.mem, VMM_MEM_SIZE);
		self->v.mem = NULL;
	}
	if (variant->state == VEIL_HOST_PREPARING) {
		pthread_join(t, NULL);
		EXPECT_EQ(-ETIMEDOUT, pr.r);
	}
	if (self->veil >= 0) {
		/* The manager's reference kept the VM; closing it ends the VM. */
		EXPECT_EQ(self->known + 1, veil_vms_known());
		close(self->veil);
		self->veil = -1;
	}
	EXPECT_EQ(self->known, veil_vms_known()) TH_LOG("veil still knows the VM");
	if (variant->state == VEIL_HOST_SANITIZED && !variant->unmap)
		expect_all_restored(_metadata, &self->v, self->before);
}

/*
 * KVM may put a new VM where a destroyed one was: veil forgets a VM when
 * KVM destroys it (a permanent hook), so the next one starts unknown.
 */
TEST(a_new_vm_inherits_nothing_from_a_destroyed_one)
{
	struct veil_info info;
	struct vmm v;
	int i, fd;

	ASSERT_EQ(0, veil_module_load());
	for (i = 0; i < 16; i++) {
		setup_guest(_metadata, &v, i);
		vmm_destroy(&v);
		ASSERT_EQ(0, vmm_create(&v, 0));
		fd = veil_attach(&v);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, veil_info(fd, &info));
		EXPECT_FALSE(info.flags & VEIL_INFO_REGISTERED) TH_LOG("VM %d", i);
		EXPECT_EQ(0, info.nr_extents);
		EXPECT_EQ(0, info.hypercalls);
		close(fd);
		vmm_destroy(&v);
	}
}

/* ---- a manager that is not the VMM ---- */

/* The VMM's side: a guest, then checks of its own memory on request. */
static int vmm_child(int cmd, int res)
{
	uint64_t before[NR_PAGES], gfn;
	struct vmm v;
	char c, ok;

	if (vmm_create(&v, 0))
		return 1;
	fill_random(&v, 77);
	if (vmm_register(&v) || vmm_publish(&v, test_set, 4, 1))
		return 1;
	hash_all(&v, before);
	if (write(res, &v.vm, sizeof(v.vm)) != sizeof(v.vm))
		return 1;
	while (read(cmd, &c, 1) == 1) {
		ok = 1;
		if (c == 'P') {
			/* The guest's side of the PREPARE the manager sends. */
			volatile struct veil_control *ctl = vmm_control(&v);
			int i;

			for (i = 0; i < 2000 && ctl->req_seq != 1; i++)
				usleep(5000);
			ok = ctl->req_seq == 1 && !vmm_publish(&v, test_set, 4, 2);
			ctl->guest_generation = 2;
			ok &= !vmm_hypercall(&v, VEIL_HC_ACK, 1, 0, 0);
			if (write(res, &ok, 1) != 1)
				return 1;
			continue;
		}
		for (gfn = 0; gfn < NR_PAGES; gfn++) {
			if (gfn == CONTROL_GFN)
				continue;
			if (c == 'S' && excluded(gfn))
				ok &= vmm_page_is_zero(&v, gfn);
			else
				ok &= vmm_page_hash(&v, gfn) == before[gfn];
		}
		if (write(res, &ok, 1) != 1)
			return 1;
	}
	vmm_destroy(&v);
	return 0;
}

TEST(manager_in_another_process_sanitizes_the_vmm_memory)
{
	int cmd[2], res[2], vmfd, pidfd, fd, status;
	struct veil_attach a = { .size = sizeof(a) };
	char ok = 0;
	pid_t pid;

	ASSERT_EQ(0, veil_module_load());
	ASSERT_EQ(0, pipe(cmd));
	ASSERT_EQ(0, pipe(res));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(cmd[1]);
		close(res[0]);
		_exit(vmm_child(cmd[0], res[1]));
	}
	close(cmd[0]);
	close(res[1]);
	ASSERT_EQ(sizeof(vmfd), read(res[0], &vmfd, sizeof(vmfd)));

	/* As veilctl does: the VM's descriptor out of the VMM process. */
	pidfd = syscall(SYS_pidfd_open, pid, 0);
	ASSERT_LE(0, pidfd) TH_LOG("pidfd_open: %s", strerror(errno));
	a.vm_fd = syscall(SYS_pidfd_getfd, pidfd, vmfd, 0);
	ASSERT_LE(0, a.vm_fd) TH_LOG("pidfd_getfd: %s", strerror(errno));
	fd = open("/dev/veil", O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, VEIL_IOC_ATTACH, &a));
	close(a.vm_fd);
	close(pidfd);

	/* The guest acks from the other process: PREPARE waits for it. */
	ASSERT_EQ(1, write(cmd[1], "P", 1));
	{
		struct veil_prepare p = { .size = sizeof(p), .timeout_ms = 20000 };

		ASSERT_EQ(0, ioctl(fd, VEIL_IOC_PREPARE, &p)) TH_LOG("PREPARE: %s", strerror(errno));
	}
	ASSERT_EQ(1, read(res[0], &ok, 1));
	ASSERT_EQ(1, ok) TH_LOG("the VMM did not see the PREPARE request");
	ASSERT_EQ(0, veil_sanitize(fd, VEIL_IOC_SANITIZE, NULL));
	ASSERT_EQ(1, write(cmd[1], "S", 1));
	ASSERT_EQ(1, read(res[0], &ok, 1));
	EXPECT_EQ(1, ok) TH_LOG("the VMM does not see exactly the excluded frames zeroed");
	ASSERT_EQ(0, veil_sanitize(fd, VEIL_IOC_RESTORE, NULL));
	ASSERT_EQ(1, write(cmd[1], "R", 1));
	ASSERT_EQ(1, read(res[0], &ok, 1));
	EXPECT_EQ(1, ok) TH_LOG("the VMM does not see its memory restored");

	close(cmd[1]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status);
	close(fd);
}

/* ---- two VMs ---- */

TEST(two_vms_do_not_touch)
{
	uint64_t before_a[NR_PAGES], before_b[NR_PAGES], gfn, changed = 0;
	struct veil_info info;
	struct vmm a, b;
	int va, vb;

	ASSERT_EQ(0, veil_module_load());
	setup_guest(_metadata, &a, 1);
	setup_guest(_metadata, &b, 2);
	va = veil_attach(&a);
	vb = veil_attach(&b);
	ASSERT_LE(0, va);
	ASSERT_LE(0, vb);
	hash_all(&a, before_a);
	hash_all(&b, before_b);

	ASSERT_EQ(0, prepare_set(&a, va, test_set, 4));
	ASSERT_EQ(0, veil_sanitize(va, VEIL_IOC_SANITIZE, NULL));
	for (gfn = 0; gfn < NR_PAGES; gfn++)
		changed += vmm_page_hash(&b, gfn) != before_b[gfn];
	EXPECT_EQ(0, changed) TH_LOG("SANITIZE of A changed B");
	ASSERT_EQ(0, veil_info(vb, &info));
	EXPECT_EQ(VEIL_HOST_RUNNING, info.state);
	EXPECT_EQ(0, info.sanitizes);
	/* B runs and publishes while A is held. */
	EXPECT_EQ(0, vmm_publish(&b, test_set, 3, 2));
	hash_all(&b, before_b);		/* the guest wrote its extent page */
	ASSERT_EQ(0, veil_info(va, &info));
	EXPECT_EQ(2, info.generation) TH_LOG("B's PUBLISH reached A");
	EXPECT_EQ(4, info.nr_extents);

	ASSERT_EQ(0, prepare_set(&b, vb, test_set, 3));
	hash_all(&b, before_b);
	ASSERT_EQ(0, veil_sanitize(vb, VEIL_IOC_SANITIZE, NULL));
	ASSERT_EQ(0, veil_sanitize(va, VEIL_IOC_RESTORE, NULL));
	expect_all_restored(_metadata, &a, before_a);
	EXPECT_TRUE(vmm_page_is_zero(&b, DATA_GFN)) TH_LOG("RESTORE of A restored B");
	ASSERT_EQ(0, veil_sanitize(vb, VEIL_IOC_RESTORE, NULL));
	expect_all_restored(_metadata, &b, before_b);

	close(va);
	close(vb);
	vmm_destroy(&a);
	vmm_destroy(&b);
}

/* ---- only a successful PREPARE of the current set is sanitized ---- */

/* Every data frame as it was at setup: nothing was zeroed. */
static void expect_data_untouched(struct __test_metadata *_metadata,
				  struct vmm *v, const uint64_t *before,
				  const char *when)
{
	uint64_t gfn, bad = 0;

	for (gfn = DATA_GFN; gfn < NR_PAGES; gfn++)
		bad += vmm_page_hash(v, gfn) != before[gfn];
	EXPECT_EQ(0, bad) TH_LOG("%s: %llu data frames changed", when,
				 (unsigned long long)bad);
}

TEST_F(vm, sanitize_needs_a_successful_prepare_of_the_current_set)
{
	struct veil_prepare p;
	struct veil_info info;

	EXPECT_EQ(-EINVAL, veil_sanitize(self->veil, VEIL_IOC_SANITIZE, NULL))
		TH_LOG("SANITIZE without any PREPARE");

	/* The guest publishes, then fails (a freeze that timed out, ENOMEM). */
	EXPECT_EQ(-EREMOTEIO, vmm_prepare_sized(&self->v, self->veil, sizeof(p),
						test_set, 4, 2, ENOMEM, &p));
	EXPECT_EQ(ENOMEM, p.guest_error) TH_LOG("PREPARE passes the guest's error on");
	EXPECT_EQ(VEIL_REQ_THAW, vmm_control(&self->v)->req_op)
		TH_LOG("a failed PREPARE must thaw the guest");
	ASSERT_EQ(0, veil_info(self->veil, &info));
	EXPECT_EQ(VEIL_HOST_RUNNING, info.state);
	EXPECT_EQ(-EINVAL, veil_sanitize(self->veil, VEIL_IOC_SANITIZE, NULL))
		TH_LOG("SANITIZE after a PREPARE the guest failed");

	/* An ACK that names the old set: nothing was published for it. */
	EXPECT_EQ(-EPROTO, vmm_prepare_sized(&self->v, self->veil, sizeof(p),
					     NULL, 0, 2, 0, &p));
	EXPECT_EQ(-EINVAL, veil_sanitize(self->veil, VEIL_IOC_SANITIZE, NULL))
		TH_LOG("SANITIZE of a set older than the PREPARE");

	/* The 24-byte form of older callers keeps the same rule. */
	EXPECT_EQ(-EREMOTEIO, vmm_prepare_sized(&self->v, self->veil,
						VEIL_PREPARE_SIZE_V1, test_set, 4,
						4, EBUSY, NULL));
	ASSERT_EQ(0, vmm_prepare_sized(&self->v, self->veil, VEIL_PREPARE_SIZE_V1,
				       test_set, 4, 5, 0, NULL));

	/* A good PREPARE, then the guest publishes again: stale. */
	ASSERT_EQ(0, vmm_publish(&self->v, test_set, 3, 6));
	EXPECT_EQ(-ESTALE, veil_sanitize(self->veil, VEIL_IOC_SANITIZE, NULL))
		TH_LOG("SANITIZE of a set published after the PREPARE");
	expect_data_untouched(_metadata, &self->v, self->before, "refused SANITIZEs");
	ASSERT_EQ(0, veil_info(self->veil, &info));
	EXPECT_EQ(0, info.sanitizes);

	/* And a PREPARE that works still works. */
	ASSERT_EQ(0, prepare_set(&self->v, self->veil, test_set, 4));
	ASSERT_EQ(0, veil_sanitize(self->veil, VEIL_IOC_SANITIZE, NULL));
	EXPECT_TRUE(vmm_page_is_zero(&self->v, DATA_GFN));
	ASSERT_EQ(0, veil_sanitize(self->veil, VEIL_IOC_RESTORE, NULL));
	expect_data_untouched(_metadata, &self->v, self->before, "after RESTORE");
}

/*
 * A guest withdraws its set after the ACK (something the set names was
 * freed meanwhile: a queued message received) by clearing the generation
 * in its control page.  SANITIZE reads it with the vCPUs held: refused,
 * nothing zeroed; a PREPARE acknowledged afresh is sanitized again.
 */
TEST_F(vm, sanitize_refused_when_the_guest_withdrew_its_set)
{
	struct veil_info info;

	ASSERT_EQ(0, prepare_set(&self->v, self->veil, test_set, 4));
	vmm_control(&self->v)->guest_generation = 0;
	EXPECT_EQ(-ESTALE, veil_sanitize(self->veil, VEIL_IOC_SANITIZE, NULL))
		TH_LOG("SANITIZE of a set the guest withdrew");
	expect_data_untouched(_metadata, &self->v, self->before, "a withdrawn set");
	ASSERT_EQ(0, veil_info(self->veil, &info));
	EXPECT_EQ(0, info.sanitizes);
	EXPECT_EQ(VEIL_HOST_PREPARED, info.state);

	ASSERT_EQ(0, ioctl(self->veil, VEIL_IOC_THAW));
	ASSERT_EQ(0, prepare_set(&self->v, self->veil, test_set, 4));
	ASSERT_EQ(0, veil_sanitize(self->veil, VEIL_IOC_SANITIZE, NULL));
	EXPECT_TRUE(vmm_page_is_zero(&self->v, DATA_GFN));
	ASSERT_EQ(0, veil_sanitize(self->veil, VEIL_IOC_RESTORE, NULL));
	expect_data_untouched(_metadata, &self->v, self->before, "after RESTORE");
}

/*
 * test_set and the control page take six pin batches (the 300-frame record
 * takes two): whichever fails, SANITIZE fails before a byte is zeroed.
 */
TEST_F(vm, sanitize_that_cannot_pin_every_frame_zeroes_none)
{
	struct veil_info info;
	char n[16];
	int batch;

	for (batch = 1; batch <= 6; batch++) {
		ASSERT_EQ(0, prepare_set(&self->v, self->veil, test_set, 4));
		snprintf(n, sizeof(n), "%d", batch);
		ASSERT_EQ(0, veil_set_param("fail_pin_batch", n))
			TH_LOG("no fail_pin_batch test hook");
		EXPECT_EQ(-EFAULT, veil_sanitize(self->veil, VEIL_IOC_SANITIZE, NULL))
			TH_LOG("pin batch %d failed", batch);
		expect_data_untouched(_metadata, &self->v, self->before, "a failed pin");
		EXPECT_EQ(VEIL_STATE_RUNNING, vmm_control(&self->v)->state);
		ASSERT_EQ(0, veil_info(self->veil, &info));
		EXPECT_EQ(VEIL_HOST_PREPARED, info.state);
		EXPECT_EQ(0, info.sanitizes);
		ASSERT_EQ(0, ioctl(self->veil, VEIL_IOC_THAW));
	}
	ASSERT_EQ(0, prepare_set(&self->v, self->veil, test_set, 4));
	ASSERT_EQ(0, veil_sanitize(self->veil, VEIL_IOC_SANITIZE, NULL));
	ASSERT_EQ(0, veil_sanitize(self->veil, VEIL_IOC_RESTORE, NULL));
	expect_all_restored(_metadata, &self->v, self->before);
}

/* ---- a guest that unregisters, or reboots without saying so ---- */

TEST_F(vm, unregister_forgets_the_control_page_and_the_set)
{
	struct veil_prepare p = { .size = sizeof(p), .timeout_ms = 2000 };
	struct veil_info info;
	uint8_t *img = malloc(VMM_MEM_SIZE);

	ASSERT_NE(NULL, img);
	EXPECT_EQ(KVM_EINVAL_32, vmm_hypercall(&self->v, VEIL_HC_UNREGISTER,
					       VMM_CONTROL_GPA + 4096, 0, 0))
		TH_LOG("UNREGISTER of a page that is not the control page");
	ASSERT_EQ(0, vmm_hypercall(&self->v, VEIL_HC_UNREGISTER, VMM_CONTROL_GPA, 0, 0));
	ASSERT_EQ(0, veil_info(self->veil, &info));
	EXPECT_FALSE(info.flags & VEIL_INFO_REGISTERED);
	EXPECT_EQ(0, info.nr_extents);
	EXPECT_EQ(0, info.generation);

	memcpy(img, self->v.mem, VMM_MEM_SIZE);
	EXPECT_EQ(-1, ioctl(self->veil, VEIL_IOC_PREPARE, &p));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(-ENODEV, veil_sanitize(self->veil, VEIL_IOC_SANITIZE, NULL));
	EXPECT_EQ(0, memcmp(img, self->v.mem, VMM_MEM_SIZE))
		TH_LOG("veil wrote into an unregistered guest");
	free(img);
}

TEST_F(vm, guest_that_rebooted_without_unregister_is_forgotten)
{
	struct veil_prepare p = { .size = sizeof(p), .timeout_ms = 2000 };
	struct veil_info info;
	uint8_t *img = malloc(VMM_MEM_SIZE);

	ASSERT_NE(NULL, img);
	/* A kernel without veil_guest now uses the frame of the control page. */
	memset(vmm_control(&self->v), 0x5a, 4096);
	memcpy(img, self->v.mem, VMM_MEM_SIZE);
	EXPECT_EQ(-1, ioctl(self->veil, VEIL_IOC_PREPARE, &p));
	EXPECT_EQ(ENODEV, errno) TH_LOG("PREPARE into a page without veil's magic");
	EXPECT_EQ(0, memcmp(img, self->v.mem, VMM_MEM_SIZE))
		TH_LOG("veil wrote into the page of a guest that rebooted");
	ASSERT_EQ(0, veil_info(self->veil, &info));
	EXPECT_FALSE(info.flags & VEIL_INFO_REGISTERED);
	EXPECT_EQ(0, info.nr_pages) TH_LOG("the old set outlived the guest");
	EXPECT_EQ(-ENODEV, veil_sanitize(self->veil, VEIL_IOC_SANITIZE, NULL));
	EXPECT_EQ(0, memcmp(img, self->v.mem, VMM_MEM_SIZE));

	/* The next kernel that registers is served as a new guest. */
	ASSERT_EQ(0, vmm_register(&self->v));
	ASSERT_EQ(0, prepare_set(&self->v, self->veil, test_set, 4));
	ASSERT_EQ(0, veil_sanitize(self->veil, VEIL_IOC_SANITIZE, NULL));
	ASSERT_EQ(0, veil_sanitize(self->veil, VEIL_IOC_RESTORE, NULL));
	expect_data_untouched(_metadata, &self->v, self->before, "after RESTORE");
	free(img);
}

/*
 * A memslot over several VMAs: the VMM's madvise() splits its mapping, and
 * test_set's 300-frame record crosses two splits.
 */
TEST_F(vm, sanitize_covers_a_record_across_split_mappings)
{
	uint8_t *mid = self->v.mem + (DATA_GFN + 200) * 4096UL;

	ASSERT_EQ(0, madvise(mid, 8 * 4096, MADV_DONTDUMP));
	ASSERT_EQ(0, prepare_set(&self->v, self->veil, test_set, 4));
	ASSERT_EQ(0, veil_sanitize(self->veil, VEIL_IOC_SANITIZE, NULL))
		TH_LOG("SANITIZE of a record over three VMAs");
	EXPECT_TRUE(vmm_page_is_zero(&self->v, DATA_GFN + 199));
	EXPECT_TRUE(vmm_page_is_zero(&self->v, DATA_GFN + 204));
	EXPECT_TRUE(vmm_page_is_zero(&self->v, DATA_GFN + 208));
	ASSERT_EQ(0, veil_sanitize(self->veil, VEIL_IOC_RESTORE, NULL));
	expect_all_restored(_metadata, &self->v, self->before);
}

/* The RssAnon of this process (the VMM's) in kB, or -1. */
static long rss_anon_kb(void)
{
	char line[128];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "RssAnon: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

#define HOLE_MEM	(64UL << 20)
#define HOLE_GFN	(32UL << 8)	/* 32 MiB of RAM nobody touched, from 32 MiB */
#define HOLE_PAGES	(32UL << 8)

/*
 * Frames the VMM never backed hold nothing: SANITIZE passes them by
 * instead of allocating them (a hostile guest would otherwise make the host
 * populate up to max_mib of its RAM per checkpoint), and the frames of the
 * set that hold data are zeroed and restored as ever.
 */
TEST(never_backed_frames_are_not_allocated_by_sanitize)
{
	static const struct veil_extent set[] = {
		{ .gfn = DATA_GFN + 100, .npages = 300 },
		{ .gfn = HOLE_GFN, .npages = HOLE_PAGES },
	};
	uint64_t before[NR_PAGES], gfn, pages, wrong = 0;
	long rss0, rss_sanitized, rss_restored;
	struct vmm v;
	int veil;

	ASSERT_EQ(0, veil_module_load());
	ASSERT_EQ(0, vmm_create_opts(&v, 0, false, HOLE_MEM, VMM_PRIVATE));
	fill_random(&v, 4242);
	ASSERT_EQ(0, vmm_register(&v));
	ASSERT_EQ(0, vmm_publish(&v, set, 2, 1));
	hash_all(&v, before);
	veil = veil_attach(&v);
	ASSERT_LE(0, veil);
	ASSERT_EQ(0, prepare_set(&v, veil, set, 2));

	rss0 = rss_anon_kb();
	ASSERT_LT(0, rss0);
	ASSERT_EQ(0, veil_sanitize(veil, VEIL_IOC_SANITIZE, &pages));
	rss_sanitized = rss_anon_kb();
	EXPECT_EQ(300 + HOLE_PAGES, pages);
	for (gfn = DATA_GFN + 100; gfn < DATA_GFN + 400; gfn++)
		wrong += !vmm_page_is_zero(&v, gfn);
	EXPECT_EQ(0, wrong) TH_LOG("%llu frames with data not zeroed",
				   (unsigned long long)wrong);
	ASSERT_EQ(0, veil_sanitize(veil, VEIL_IOC_RESTORE, &pages));
	rss_restored = rss_anon_kb();
	expect_all_restored(_metadata, &v, before);
	/* Reading the hole maps the zero page: it is zero, and still not allocated. */
	for (gfn = HOLE_GFN; gfn < HOLE_GFN + HOLE_PAGES; gfn += 97)
		wrong += !vmm_page_is_zero(&v, gfn);
	EXPECT_EQ(0, wrong);
	TH_LOG("RssAnon %ld kB before SANITIZE, %ld kB sanitized, %ld kB restored; the set has %lu kB never backed",
	       rss0, rss_sanitized, rss_restored, HOLE_PAGES * 4);
	EXPECT_GT(4096, rss_sanitized - rss0)
		TH_LOG("SANITIZE allocated the frames the VMM never backed");
	EXPECT_GT(4096, rss_restored - rss0);
	ASSERT_EQ(0, ioctl(veil, VEIL_IOC_THAW));
	close(veil);
	vmm_destroy(&v);
}

/* ---- guest RAM that other processes share ---- */

TEST(shared_guest_memory_is_refused)
{
	uint64_t before[NR_PAGES];
	struct vmm v;
	int fd;

	ASSERT_EQ(0, veil_module_load());
	ASSERT_EQ(0, vmm_create_opts(&v, 0, false, VMM_MEM_SIZE, VMM_SHARED));
	fill_random(&v, 99);
	ASSERT_EQ(0, vmm_register(&v));
	ASSERT_EQ(0, vmm_publish(&v, test_set, 4, 1));
	fd = veil_attach(&v);
	ASSERT_LE(0, fd);
	hash_all(&v, before);
	ASSERT_EQ(0, prepare_set(&v, fd, test_set, 4));
	EXPECT_EQ(-EOPNOTSUPP, veil_sanitize(fd, VEIL_IOC_SANITIZE, NULL))
		TH_LOG("SANITIZE of a MAP_SHARED memslot");
	expect_data_untouched(_metadata, &v, before, "a refused SANITIZE");
	close(fd);
	vmm_destroy(&v);
}

/* ---- the manager killed at any point of SANITIZE or RESTORE ---- */

#define BIG_PAGES	(256UL << 8)		/* 256 MiB excluded */
#define BIG_MEM		(VMM_DATA_GPA + (BIG_PAGES << 12))

static const struct veil_extent big_set[] = {
	{ .gfn = DATA_GFN, .npages = BIG_PAGES },
};

/* Two words of every excluded frame name it, so a zeroed frame shows. */
static void big_fill(struct vmm *v)
{
	uint64_t i, *p;

	for (i = 0; i < BIG_PAGES; i++) {
		p = (uint64_t *)(v->mem + VMM_DATA_GPA + (i << 12));
		p[0] = 0x5eed000000000000ULL | i;
		p[511] = ~i;
	}
}

static uint64_t big_damaged(const struct vmm *v)
{
	uint64_t i, bad = 0;
	const uint64_t *p;

	for (i = 0; i < BIG_PAGES; i++) {
		p = (const uint64_t *)(v->mem + VMM_DATA_GPA + (i << 12));
		bad += p[0] != (0x5eed000000000000ULL | i) || p[511] != ~i;
	}
	return bad;
}

/*
 * One checkpoint by a manager in a child process, killed by @sig @delay
 * seconds after the guest acknowledged PREPARE (never, when @sig is 0).
 * The manager uses the 24-byte PREPARE that every veil_host takes.
 * Returns the child's wait status, or -1.
 */
static int managed_round(struct vmm *v, int sig, double delay, double *took)
{
	volatile struct veil_control *c = vmm_control(v);
	struct veil_prepare p = { .size = VEIL_PREPARE_SIZE_V1, .timeout_ms = 20000 };
	struct veil_info info;
	int ready[2], stopped[2], status, fd, i;
	char b = 's';
	uint64_t seq = c->req_seq + 1, gen;
	double t0;
	pid_t pid;

	if (pipe(ready))
		return -1;
	if (pipe(stopped)) {
		close(ready[0]);
		close(ready[1]);
		return -1;
	}
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		fd = veil_attach(v);
		if (fd < 0)
			_exit(2);
		if (veil_info(fd, &info) ||
		    write(ready[1], &info.generation, sizeof(info.generation)) != 8)
			_exit(3);
		if (ioctl(fd, VEIL_IOC_PREPARE_V1, &p))
			_exit(4);
		/* As veilctl stops QEMU's vCPUs: wait for the ACK's KVM_RUN to end. */
		if (read(stopped[0], &b, 1) != 1)
			_exit(7);
		if (veil_sanitize(fd, VEIL_IOC_SANITIZE, NULL))
			_exit(5);
		if (veil_sanitize(fd, VEIL_IOC_RESTORE, NULL))
			_exit(6);
		_exit(0);
	}
	close(ready[1]);
	close(stopped[0]);
	if (read(ready[0], &gen, sizeof(gen)) != sizeof(gen))
		gen = 0;
	close(ready[0]);
	/* The guest's side: the set again at the next generation, ACK. */
	for (i = 0; i < 4000 && c->req_seq != seq; i++)
		usleep(5000);
	if (c->req_seq == seq) {
		vmm_publish(v, big_set, 1, gen + 1);
		c->guest_generation = gen + 1;
		c->guest_error = 0;
		c->ack_seq = seq;
		vmm_hypercall(v, VEIL_HC_ACK, seq, 0, 0);
	}
	if (write(stopped[1], &b, 1) != 1)
		b = 0;
	close(stopped[1]);
	t0 = vmm_seconds();
	if (sig) {
		usleep(delay * 1e6);
		kill(pid, sig);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	*took = vmm_seconds() - t0;
	return status;
}

FIXTURE(big) {
	struct vmm v;
};

FIXTURE_SETUP(big)
{
	ASSERT_EQ(0, veil_module_load());
	ASSERT_EQ(0, vmm_create_opts(&self->v, 0, false, BIG_MEM, VMM_PRIVATE));
	big_fill(&self->v);
	ASSERT_EQ(0, vmm_register(&self->v));
	ASSERT_EQ(0, vmm_publish(&self->v, big_set, 1, 1));
}

FIXTURE_TEARDOWN(big)
{
	vmm_destroy(&self->v);
}

/*
 * The manager (as veilctl) gets SIGKILL, SIGINT or SIGTERM (none handled,
 * so each is fatal) at a random point between the guest's ACK and the end
 * of RESTORE, over 256 MiB: every frame holds its data afterwards, the
 * guest runs, and a new checkpoint works.  VEIL_KILL_ROUNDS sets the
 * number of rounds (default 8; make stress: 200).
 */
TEST_F_TIMEOUT(big, killed_manager_never_leaves_the_guest_on_zeros, 2700)
{
	static const int sigs[] = { SIGKILL, SIGINT, SIGTERM };
	unsigned int rounds = vmm_env_count("VEIL_KILL_ROUNDS", 8);
	unsigned int i, killed = 0, finished = 0;
	double took, window;
	uint64_t bad, total_bad = 0;
	int status, fd, err;
	uint32_t ret;

	/* A round nobody kills: how long SANITIZE and RESTORE take. */
	status = managed_round(&self->v, 0, 0, &window);
	ASSERT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("an undisturbed checkpoint failed: status 0x%x", status);
	ASSERT_EQ(0, big_damaged(&self->v));
	TH_LOG("SANITIZE and RESTORE of %lu MiB took %.2f s", BIG_PAGES >> 8, window);

	srandom(0x7e11);
	for (i = 0; i < rounds; i++) {
		double delay = window * 1.2 * (random() % 1000) / 1000.0;

		status = managed_round(&self->v, sigs[i % 3], delay, &took);
		ASSERT_NE(-1, status);
		if (WIFSIGNALED(status))
			killed++;
		else
			finished++;
		bad = big_damaged(&self->v);
		total_bad += bad;
		EXPECT_EQ(0, bad) TH_LOG("round %u: signal %d after %.3f s left %llu frames damaged",
					 i, sigs[i % 3], delay, (unsigned long long)bad);
		/* The guest runs: its vCPU is not held. */
		ret = vmm_hypercall_nr(&self->v, VEIL_HC_NR, VEIL_HC_ACK, 0, 0, 0, &err);
		EXPECT_EQ(0, err) TH_LOG("round %u: the vCPU did not run", i);
		EXPECT_EQ(KVM_EINVAL_32, ret);
		if (bad)
			big_fill(&self->v);	/* the next round starts whole */
	}
	TH_LOG("%u rounds: %u managers killed mid-way, %u finished first; %llu frames damaged",
	       rounds, killed, finished, (unsigned long long)total_bad);
	EXPECT_LT(0, killed) TH_LOG("no round killed the manager before it finished");

	/* A new checkpoint works. */
	fd = veil_attach(&self->v);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, prepare_set(&self->v, fd, big_set, 1));
	ASSERT_EQ(0, veil_sanitize(fd, VEIL_IOC_SANITIZE, NULL));
	EXPECT_EQ(BIG_PAGES, big_damaged(&self->v));
	ASSERT_EQ(0, veil_sanitize(fd, VEIL_IOC_RESTORE, NULL));
	EXPECT_EQ(0, big_damaged(&self->v));
	close(fd);
}

TEST_HARNESS_MAIN
