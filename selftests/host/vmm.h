/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small VMM for veil_host's tests: one VM, one vCPU in flat 32-bit
 * protected mode (no paging) at CPL 0 or 3, guest RAM at GPA 0.  The guest
 * runs a loop that issues the hypercall the registers describe, then exits
 * to the VMM with an OUT to VMM_PORT, so each vmm_hypercall() is one real
 * VMMCALL from the guest.
 */
#ifndef VEIL_SELFTEST_VMM_H
#define VEIL_SELFTEST_VMM_H

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <linux/kvm.h>
#include <linux/veil.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define VMM_MEM_SIZE	(4UL << 20)
#define VMM_CODE_GPA	0x1000UL	/* vmmcall; out %al, $VMM_PORT; jmp back */
#define VMM_SPIN_GPA	0x1100UL	/* jmp . */
#define VMM_CONTROL_GPA	0x2000UL
#define VMM_EXTENT_GPA	0x3000UL	/* extent pages from here */
#define VMM_DATA_GPA	0x100000UL	/* frames tests exclude, up to the end */
#define VMM_PORT	0x10

/* KVM's hypercall errors (include/uapi/linux/kvm_para.h), seen from 32-bit. */
#define KVM_ENOSYS_32	((uint32_t)-1000)
#define KVM_EPERM_32	((uint32_t)-EPERM)
#define KVM_EINVAL_32	((uint32_t)-EINVAL)
#define KVM_EFAULT_32	((uint32_t)-EFAULT)
#define KVM_E2BIG_32	((uint32_t)-E2BIG)

struct vmm {
	int kvm, vm, vcpu;
	struct kvm_run *run;
	int run_size;
	uint8_t *mem;
	size_t mem_size;
	int cpl;
};

/* How guest RAM is mapped: private as QEMU's default, or shared. */
#define VMM_PRIVATE	0
#define VMM_SHARED	1

#define VMM_PT_GPA	0x80000UL	/* PML4, PDPT, PD of a 64-bit guest */

/*
 * Long mode: identity-map guest RAM with 2 MiB pages and give the vCPU the
 * host's supported CPUID (KVM refuses EFER.LME to a guest without LM).
 */
static inline int vmm_enter_long_mode(struct vmm *v, struct kvm_sregs *sregs)
{
	uint64_t *pml4 = (uint64_t *)(v->mem + VMM_PT_GPA);
	uint64_t *pdpt = pml4 + 512, *pd = pml4 + 1024;
	struct kvm_cpuid2 *cpuid;
	int nent = 100, r;
	uint64_t i;

	cpuid = calloc(1, sizeof(*cpuid) + nent * sizeof(cpuid->entries[0]));
	if (!cpuid)
		return -ENOMEM;
	cpuid->nent = nent;
	r = ioctl(v->kvm, KVM_GET_SUPPORTED_CPUID, cpuid);
	if (!r)
		r = ioctl(v->vcpu, KVM_SET_CPUID2, cpuid);
	free(cpuid);
	if (r)
		return -errno;

	pml4[0] = (VMM_PT_GPA + 0x1000) | 0x3;		/* present, writable */
	pdpt[0] = (VMM_PT_GPA + 0x2000) | 0x3;
	for (i = 0; i < VMM_MEM_SIZE >> 21; i++)
		pd[i] = (i << 21) | 0x83;		/* 2 MiB page */
	sregs->cr3 = VMM_PT_GPA;
	sregs->cr4 = 0x20;				/* PAE */
	sregs->cr0 = 0x80000011;			/* PG, ET, PE */
	sregs->efer = 0x500;				/* LMA, LME */
	sregs->cs.l = 1;
	sregs->cs.db = 0;
	return 0;
}

/*
 * A VM with @size bytes of RAM (at least VMM_MEM_SIZE), mapped @sharing,
 * in long mode or flat 32-bit protected mode at @cpl.  The mapping is not
 * inherited by forked children, as QEMU's is not.
 */
static inline int vmm_create_opts(struct vmm *v, int cpl, bool long_mode,
				  size_t size, int sharing)
{
	static const uint8_t code[] = {
		0x0f, 0x01, 0xd9,	/* vmmcall */
		0xe6, VMM_PORT,		/* out %al, $VMM_PORT */
		0xeb, 0xf9,		/* jmp VMM_CODE_GPA */
	};
	static const uint8_t spin[] = { 0xeb, 0xfe };	/* jmp . */
	struct kvm_userspace_memory_region region;
	struct kvm_segment seg;
	struct kvm_sregs sregs;

	memset(v, 0, sizeof(*v));
	v->cpl = cpl;
	v->mem_size = size;
	v->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (v->kvm < 0)
		return -errno;
	v->vm = ioctl(v->kvm, KVM_CREATE_VM, 0);
	if (v->vm < 0)
		return -errno;
	v->mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
		      (sharing == VMM_SHARED ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS,
		      -1, 0);
	if (v->mem == MAP_FAILED)
		return -errno;
	if (madvise(v->mem, size, MADV_DONTFORK))
		return -errno;
	memcpy(v->mem + VMM_CODE_GPA, code, sizeof(code));
	memcpy(v->mem + VMM_SPIN_GPA, spin, sizeof(spin));
	region = (struct kvm_userspace_memory_region) {
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = size,
		.userspace_addr = (unsigned long)v->mem,
	};
	if (ioctl(v->vm, KVM_SET_USER_MEMORY_REGION, &region))
		return -errno;
	v->vcpu = ioctl(v->vm, KVM_CREATE_VCPU, 0);
	if (v->vcpu < 0)
		return -errno;
	v->run_size = ioctl(v->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      v->vcpu, 0);
	if (v->run == MAP_FAILED)
		return -errno;

	if (ioctl(v->vcpu, KVM_GET_SREGS, &sregs))
		return -errno;
	seg = (struct kvm_segment) {
		.base = 0, .limit = 0xffffffff, .present = 1, .dpl = cpl,
		.db = 1, .s = 1, .g = 1,
	};
	sregs.cs = seg;
	sregs.cs.type = 0xb;		/* code, execute/read, accessed */
	sregs.cs.selector = cpl ? 0x1b : 0x08;
	seg.type = 0x3;			/* data, read/write, accessed */
	seg.selector = cpl ? 0x23 : 0x10;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = seg;
	sregs.cr0 = 0x11;		/* PE, ET */
	sregs.cr4 = 0;
	sregs.efer = 0;
	if (long_mode) {
		int r = vmm_enter_long_mode(v, &sregs);

		if (r)
			return r;
	}
	if (ioctl(v->vcpu, KVM_SET_SREGS, &sregs))
		return -errno;
	return 0;
}

static inline int vmm_create_mode(struct vmm *v, int cpl, bool long_mode)
{
	return vmm_create_opts(v, cpl, long_mode, VMM_MEM_SIZE, VMM_PRIVATE);
}

/* A 32-bit guest at @cpl. */
static inline int vmm_create(struct vmm *v, int cpl)
{
	return vmm_create_mode(v, cpl, false);
}

static inline void vmm_destroy(struct vmm *v)
{
	if (v->run && v->run != MAP_FAILED)
		munmap(v->run, v->run_size);
	if (v->vcpu > 0)
		close(v->vcpu);
	if (v->vm > 0)
		close(v->vm);
	if (v->kvm > 0)
		close(v->kvm);
	if (v->mem && v->mem != MAP_FAILED)
		munmap(v->mem, v->mem_size);
	memset(v, 0, sizeof(*v));
}

/* One more vCPU, @id, set up as the first; its descriptor or -errno. */
static inline int vmm_add_vcpu(struct vmm *v, int id)
{
	struct kvm_sregs sregs;
	int fd, e;

	fd = ioctl(v->vm, KVM_CREATE_VCPU, id);
	if (fd < 0)
		return -errno;
	if (ioctl(v->vcpu, KVM_GET_SREGS, &sregs) || ioctl(fd, KVM_SET_SREGS, &sregs)) {
		e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

/* Points the vCPU at @rip with the given registers (IOPL 3 for the OUT). */
static inline int vmm_set_regs(struct vmm *v, uint64_t rip, uint64_t rax,
			       uint64_t rbx, uint64_t rcx, uint64_t rdx,
			       uint64_t rsi)
{
	struct kvm_regs regs = {
		.rip = rip, .rflags = 0x3002,
		.rax = rax, .rbx = rbx, .rcx = rcx, .rdx = rdx, .rsi = rsi,
	};

	return ioctl(v->vcpu, KVM_SET_REGS, &regs) ? -errno : 0;
}

/*
 * One hypercall from the guest: RAX = @nr, RBX = @op, RCX/RDX/RSI = args.
 * Returns the guest's RAX after the call (32 bits: the guest is 32-bit),
 * or a negative errno in *err if the VM did not get there.
 */
static inline uint64_t vmm_hypercall64(struct vmm *v, uint64_t nr, uint64_t op,
				       uint64_t a1, uint64_t a2, uint64_t a3,
				       int *err)
{
	struct kvm_regs regs;

	*err = vmm_set_regs(v, VMM_CODE_GPA, nr, op, a1, a2, a3);
	if (*err)
		return 0;
	if (ioctl(v->vcpu, KVM_RUN, 0)) {
		*err = -errno;
		return 0;
	}
	if (v->run->exit_reason != KVM_EXIT_IO || v->run->io.port != VMM_PORT) {
		fprintf(stderr, "vmm: unexpected exit %u\n", v->run->exit_reason);
		*err = -EIO;
		return 0;
	}
	if (ioctl(v->vcpu, KVM_GET_REGS, &regs)) {
		*err = -errno;
		return 0;
	}
	return regs.rax;
}

static inline uint32_t vmm_hypercall_nr(struct vmm *v, uint32_t nr, uint32_t op,
					uint32_t a1, uint32_t a2, uint32_t a3,
					int *err)
{
	return (uint32_t)vmm_hypercall64(v, nr, op, a1, a2, a3, err);
}

static inline uint32_t vmm_hypercall(struct vmm *v, uint32_t op, uint32_t a1,
				     uint32_t a2, uint32_t a3)
{
	int err;
	uint32_t r = vmm_hypercall_nr(v, VEIL_HC_NR, op, a1, a2, a3, &err);

	if (err) {
		fprintf(stderr, "vmm: hypercall did not complete: %s\n", strerror(-err));
		return 0xdeadbeef;
	}
	return r;
}

static inline struct veil_control *vmm_control(struct vmm *v)
{
	return (struct veil_control *)(v->mem + VMM_CONTROL_GPA);
}

/* The guest's side of REGISTER with ABI @abi: fill the control page, call. */
static inline uint32_t vmm_register_abi(struct vmm *v, uint32_t abi)
{
	struct veil_control *c = vmm_control(v);

	memset(c, 0, sizeof(*c));
	c->magic = VEIL_CONTROL_MAGIC;
	c->abi_version = abi;
	return vmm_hypercall(v, VEIL_HC_REGISTER, VMM_CONTROL_GPA, abi, 0);
}

static inline uint32_t vmm_register(struct vmm *v)
{
	return vmm_register_abi(v, VEIL_ABI_VERSION);
}

/* Lays @n extents out in extent pages from VMM_EXTENT_GPA. */
static inline void vmm_write_extents(struct vmm *v, const struct veil_extent *ext,
				     uint32_t n)
{
	uint32_t i = 0, page = 0, k;
	struct veil_extent_page *p;

	while (i < n) {
		p = (void *)(v->mem + VMM_EXTENT_GPA + page++ * 4096UL);
		k = n - i < VEIL_EXTENTS_PER_PAGE ? n - i : VEIL_EXTENTS_PER_PAGE;
		memset(p, 0, sizeof(*p));
		memcpy(p->ext, ext + i, k * sizeof(*ext));
		p->count = k;
		i += k;
		p->next = i < n ? VMM_EXTENT_GPA + page * 4096UL : 0;
	}
}

static inline uint32_t vmm_publish(struct vmm *v, const struct veil_extent *ext,
				   uint32_t n, uint32_t generation)
{
	vmm_write_extents(v, ext, n);
	return vmm_hypercall(v, VEIL_HC_PUBLISH, VMM_EXTENT_GPA, n, generation);
}

/*
 * KVM flips static keys (preempt notifiers in the scheduler, vCPUs without
 * an in-kernel APIC) when the first VM or vCPU appears and the last goes,
 * and each flip live-patches kernel text.  Under nested TCG such patching
 * has shown rare int3 oopses in __schedule unrelated to veil; one VM that
 * lives as long as the test program keeps the keys steady.
 */
static struct vmm vmm_keeper;

__attribute__((constructor)) static void vmm_keep_keys_steady(void)
{
	/* Progress reaches the console line by line, even if a test hangs. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (vmm_create(&vmm_keeper, 0))
		fprintf(stderr, "vmm: no keeper VM: %s\n", strerror(errno));
}

/* ---- veil_host.ko and /dev/veil ---- */

static inline int veil_module_load(void)
{
	const char *dir = getenv("VEIL_MODDIR") ?: "/lib/veil";
	char path[256];
	int fd, r;

	if (access("/sys/module/veil_host", F_OK) == 0)
		return 0;
	snprintf(path, sizeof(path), "%s/veil_host.ko", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = syscall(SYS_finit_module, fd, "", 0);
	r = r && errno != EEXIST ? -errno : 0;
	close(fd);
	return r;
}

static inline int veil_module_unload(void)
{
	if (access("/sys/module/veil_host", F_OK))
		return 0;
	return syscall(SYS_delete_module, "veil_host", O_NONBLOCK) ? -errno : 0;
}

/* Writes @val into veil_host's module parameter @name; 0 or -errno. */
static inline int veil_set_param(const char *name, const char *val)
{
	char path[128];
	int fd, r = 0;

	snprintf(path, sizeof(path), "/sys/module/veil_host/parameters/%s", name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		r = -errno;
	close(fd);
	return r;
}

static inline int veil_attach(struct vmm *v)
{
	struct veil_attach a = { .size = sizeof(a), .vm_fd = v->vm };
	int fd = open("/dev/veil", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (ioctl(fd, VEIL_IOC_ATTACH, &a)) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

static inline int veil_info(int fd, struct veil_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return ioctl(fd, VEIL_IOC_INFO, info) ? -errno : 0;
}

/*
 * PREPARE answered as veil_guest answers it: when the request shows up in
 * the control page, the guest publishes @n records of @set (none if @set is
 * NULL) at generation @gen, writes @gen and @guest_error into the control
 * page and acknowledges.  Returns PREPARE's result, 0 or -errno, and what
 * it copied out in @out.  @size is the argument's size: sizeof(struct
 * veil_prepare), or VEIL_PREPARE_SIZE_V1 for the older form.
 */
struct vmm_preparer {
	int veil;
	unsigned long cmd;
	struct veil_prepare p;
	int r;
};

static void *vmm_do_prepare(void *arg)
{
	struct vmm_preparer *pr = arg;

	pr->r = ioctl(pr->veil, pr->cmd, &pr->p) ? -errno : 0;
	return NULL;
}

static inline int vmm_prepare_sized(struct vmm *v, int veil, size_t size,
				    const struct veil_extent *set, uint32_t n,
				    uint64_t gen, uint32_t guest_error,
				    struct veil_prepare *out)
{
	volatile struct veil_control *c = vmm_control(v);
	struct vmm_preparer pr = {
		.veil = veil,
		.cmd = size == sizeof(pr.p) ? VEIL_IOC_PREPARE : VEIL_IOC_PREPARE_V1,
		.p = { .size = size, .timeout_ms = 20000 },
	};
	/*
	 * The host numbers its requests on from the last one it sent, which a
	 * REGISTER (clearing the page) does not reset: wait for a new number.
	 */
	uint64_t old = c->req_seq, seq = 0;
	pthread_t t;
	int i;

	if (pthread_create(&t, NULL, vmm_do_prepare, &pr))
		return -EAGAIN;
	for (i = 0; i < 4000; i++) {
		if (c->req_seq != old && c->req_op == VEIL_REQ_PREPARE) {
			seq = c->req_seq;
			break;
		}
		if (i > 10 && pr.r)
			break;		/* refused before the request went out */
		usleep(5000);
	}
	if (seq) {
		if (set)
			vmm_publish(v, set, n, gen);
		c->guest_generation = gen;
		c->guest_error = guest_error;
		c->ack_seq = seq;
		vmm_hypercall(v, VEIL_HC_ACK, seq, 0, 0);
	}
	pthread_join(t, NULL);
	if (out)
		*out = pr.p;
	return pr.r;
}

static inline int vmm_prepare(struct vmm *v, int veil, const struct veil_extent *set,
			      uint32_t n, uint64_t gen)
{
	return vmm_prepare_sized(v, veil, sizeof(struct veil_prepare), set, n,
				 gen, 0, NULL);
}

static inline int veil_sanitize(int fd, unsigned long cmd, uint64_t *nr_pages)
{
	struct veil_sanitize s = { .size = sizeof(s) };

	if (ioctl(fd, cmd, &s))
		return -errno;
	if (nr_pages)
		*nr_pages = s.nr_pages;
	return 0;
}

/* A count from the environment variable @name, or @dflt without one. */
static inline uint64_t vmm_env_count(const char *name, uint64_t dflt)
{
	const char *s = getenv(name);

	return s && *s ? strtoull(s, NULL, 10) : dflt;
}

/* Seconds on the monotonic clock. */
static inline double vmm_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* FNV-1a of one guest page. */
static inline uint64_t vmm_page_hash(const struct vmm *v, uint64_t gfn)
{
	const uint8_t *p = v->mem + gfn * 4096;
	uint64_t h = 0xcbf29ce484222325ULL;
	int i;

	for (i = 0; i < 4096; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

static inline bool vmm_page_is_zero(const struct vmm *v, uint64_t gfn)
{
	const uint64_t *p = (const uint64_t *)(v->mem + gfn * 4096);
	int i;

	for (i = 0; i < 512; i++)
		if (p[i])
			return false;
	return true;
}

#endif /* VEIL_SELFTEST_VMM_H */
