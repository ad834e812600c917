/* SPDX-License-Identifier: GPL-2.0 */
/*
 * veil_host: the checks of what a guest sends with REGISTER and PUBLISH
 * that need the values alone.  veil_host_validate.c is compiled into
 * veil_host.ko and into user-space test programs: it reaches guest memory
 * only through the caller's is_ram callback, and this header gives it the
 * few helpers that differ between the kernel and user space.
 */
#ifndef _VEIL_HOST_VALIDATE_H
#define _VEIL_HOST_VALIDATE_H

#ifdef __KERNEL__
#include <linux/kvm_para.h>
#include <linux/mm.h>
#include <linux/printk.h>
#include <linux/ratelimit.h>
#include <linux/types.h>
#include <asm/byteorder.h>
#else
#include <endian.h>
#include <errno.h>
#include <stdbool.h>

#include <linux/kvm_para.h>
#include <linux/types.h>

typedef __u32 u32;
typedef __u64 u64;
#define le32_to_cpu(x)	le32toh(x)
#define le64_to_cpu(x)	le64toh(x)

#define PAGE_SHIFT	12
#define PAGE_SIZE	4096UL
#define PAGE_ALIGNED(a)	(((unsigned long)(a) & (PAGE_SIZE - 1)) == 0)

#ifndef KBUILD_MODNAME
#define KBUILD_MODNAME	"veil_host"
#endif
/* The program supplies the log: one call per line the module would print. */
void veil_host_validate_log(const char *fmt, ...);
#endif

/*
 * Whom a message is about: the VM's number and, in the kernel, a rate
 * limit of its own, so that one guest flooding the log never silences the
 * messages about another.
 */
struct veil_host_log {
	unsigned int id;
#ifdef __KERNEL__
	struct ratelimit_state rs;
#endif
};

#ifdef __KERNEL__
static inline void veil_host_log_init(struct veil_host_log *log, unsigned int id)
{
	log->id = id;
	ratelimit_state_init(&log->rs, DEFAULT_RATELIMIT_INTERVAL,
			     DEFAULT_RATELIMIT_BURST);
}

#define veil_log_warn(log, fmt, ...) do {				\
	struct veil_host_log *__log = (log);				\
									\
	if (__ratelimit(&__log->rs))					\
		pr_warn("vm %u: " fmt, __log->id, ##__VA_ARGS__);	\
} while (0)
#define veil_log_info(log, fmt, ...) do {				\
	struct veil_host_log *__log = (log);				\
									\
	if (__ratelimit(&__log->rs))					\
		pr_info("vm %u: " fmt, __log->id, ##__VA_ARGS__);	\
} while (0)
#else
#define veil_log_warn(log, fmt, ...) \
	veil_host_validate_log(pr_fmt("vm %u: " fmt), (log)->id, ##__VA_ARGS__)
#endif

#include <linux/veil.h>

/*
 * One PUBLISH being checked, record by record in chain order.  The caller
 * sets the first group of fields and zeroes the rest; each check moves the
 * second group on.
 */
struct veil_host_validate {
	struct veil_host_log *log;	/* names the VM in the log */
	u32 guest_abi;			/* partial records need 2 */
	u64 count;			/* records the PUBLISH announced */
	unsigned int max_mib;		/* cap on the frames the set names */
	/*
	 * Whether [gfn, gfn + npages) is all guest RAM; called with
	 * npages >= 1 and gfn + npages <= 2^40 only.
	 */
	bool (*is_ram)(void *ctx, u64 gfn, u64 npages);
	void *ctx;

	u64 idx;			/* records accepted so far */
	u64 prev_end;			/* GPA the last one ends at, 0 before */
	u64 nr_pages;			/* frames so far, one per partial record */
};

/*
 * A record as accepted, as struct veil_host_extent stores it: @npages
 * whole frames from @gfn, or the bytes [@off, @off + @len) of the frame
 * @gfn, with @npages == 1, when @len != 0.
 */
struct veil_host_record {
	u64 gfn;
	u64 npages;
	u32 off;
	u32 len;
};

/*
 * Each returns 0 or the hypercall's error (-KVM_EINVAL, -KVM_EFAULT for a
 * range that is not guest RAM, -KVM_E2BIG over the cap), after logging
 * the reason once, rate-limited per VM.
 */
long veil_host_validate_register(struct veil_host_log *log, unsigned long gpa,
				 unsigned long abi, unsigned int max_abi);
long veil_host_validate_control(struct veil_host_log *log, unsigned long gpa,
				unsigned long abi, const __le32 *head);

/* The GPA of the next extent page, while records are still due. */
long veil_host_validate_link(const struct veil_host_validate *v, u64 gpa);
/* The header of the extent page at @gpa; @n: the records it holds. */
long veil_host_validate_page(const struct veil_host_validate *v, u64 gpa,
			     const struct veil_extent_page *page, u32 *n);
/* The next record, against the previous one, the memslots and the cap. */
long veil_host_validate_extent(struct veil_host_validate *v,
			       const struct veil_extent *rec,
			       struct veil_host_record *out);
/* The next link after the last record: the chain must end there. */
long veil_host_validate_end(const struct veil_host_validate *v, u64 next);

#endif /* _VEIL_HOST_VALIDATE_H */
