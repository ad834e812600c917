/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Just enough of the kernel to build guest-kmod/extents.c (and the
 * veil_guest.h it includes) in user space, unchanged.  The headers in
 * linux/ next to this one all lead here.
 *
 *  - kvmalloc_array()/kvfree(): malloc and free, with a failure on demand
 *    (kshim_alloc_fail_at) and a check that nothing may sleep while the
 *    caller says it is in an RCU read-side section (kshim_atomic);
 *  - WARN_ON_ONCE(): counted in kshim_warnings instead of printed;
 *  - module_param(x, ...): x is reached through kshim_param_x();
 *  - struct page pointers are never dereferenced: they are frame numbers
 *    plus KSHIM_PAGE_BIAS;
 *  - a fake kernel address space of two regions of KSHIM_MAP_PAGES pages:
 *    the direct map, whose page i is frame kshim_pfn_base + i, and
 *    vmalloc, whose pages map to the same frames in a scrambled order.
 *    Any other address has no struct page.
 */
#ifndef _FUZZ_KSHIM_H
#define _FUZZ_KSHIM_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <linux/types.h>

struct list_head {
	struct list_head *next, *prev;
};

/* As the kernel's: in a prototype of veil_guest.h, never used here. */
typedef struct {
	unsigned int val;
} kuid_t;

/* As the kernel's: a field of veil_guest_sel, never used here. */
struct rcu_head {
	struct rcu_head *next;
	void (*func)(struct rcu_head *head);
};

#define TASK_COMM_LEN		16

#define READ_ONCE(x)		(*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v)	(*(volatile __typeof__(x) *)&(x) = (v))

/* As the kernel's: both sides of the same type, or the build fails. */
#define max(a, b) ({ __typeof__(a) _a = (a); __typeof__(b) _b = (b); \
		     (void)(&_a == &_b); _a > _b ? _a : _b; })
#define min(a, b) ({ __typeof__(a) _a = (a); __typeof__(b) _b = (b); \
		     (void)(&_a == &_b); _a < _b ? _a : _b; })
#define min_t(t, a, b) ({ t _a = (a); t _b = (b); _a < _b ? _a : _b; })
#define max_t(t, a, b) ({ t _a = (a); t _b = (b); _a > _b ? _a : _b; })

/* Page table entries, named in veil_guest.h's walker; never read here. */
typedef struct { unsigned long pte; } pte_t;
typedef struct { unsigned long pmd; } pmd_t;
typedef struct { unsigned long pud; } pud_t;

extern unsigned long kshim_warnings;
#define WARN_ON_ONCE(cond) ({ int _c = !!(cond); if (_c) kshim_warnings++; _c; })
#define WARN_ON(cond) WARN_ON_ONCE(cond)

typedef unsigned int gfp_t;
#define __GFP_DIRECT_RECLAIM	0x01u
#define __GFP_KSWAPD_RECLAIM	0x02u
#define __GFP_IO		0x04u
#define __GFP_FS		0x08u
#define __GFP_NOWARN		0x10u
#define __GFP_ZERO		0x20u
#define GFP_KERNEL	(__GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM | __GFP_IO | __GFP_FS)
#define GFP_NOWAIT	__GFP_KSWAPD_RECLAIM
#define GFP_ATOMIC	(__GFP_KSWAPD_RECLAIM | __GFP_NOWARN)

extern unsigned long kshim_allocs;		/* calls so far */
extern unsigned long kshim_alloc_fail_at;	/* this call fails; 0: none */
extern bool kshim_atomic;			/* sleeping is a bug now */
#define rcu_preempt_depth()	((int)kshim_atomic)
/* veil_guest_atomic_context(): an RCU reader is the one atomic context here. */
#define irqs_disabled()		false
#define preemptible()		true
#define IS_ENABLED(option)	0
void *kvmalloc_array(size_t n, size_t size, gfp_t gfp);
void kvfree(const void *p);

static inline void sort(void *base, size_t num, size_t size,
			int (*cmp)(const void *, const void *),
			void (*swap)(void *, void *, int))
{
	(void)swap;
	if (num)
		qsort(base, num, size, cmp);
}

#define module_param(name, type, perm) \
	type *kshim_param_##name(void); \
	type *kshim_param_##name(void) { return &name; } \
	extern int kshim_semicolon
#define MODULE_PARM_DESC(name, desc) extern int kshim_semicolon

#define PAGE_SHIFT		12
#define PAGE_SIZE		(1UL << PAGE_SHIFT)
#define PAGE_MASK		(~(PAGE_SIZE - 1))
#define offset_in_page(p)	((unsigned long)(p) & ~PAGE_MASK)

struct page;
struct file;

struct vm_area_struct {
	struct file *vm_file;
	unsigned long vm_flags;
};

#define VM_SHARED		0x08UL
#define VM_MAYWRITE		0x20UL

#define KSHIM_PAGE_BIAS		0x10000UL

static inline struct page *kshim_pfn_to_page(u64 pfn)
{
	return (struct page *)(uintptr_t)(pfn + KSHIM_PAGE_BIAS);
}

static inline unsigned long page_to_pfn(const struct page *page)
{
	return (uintptr_t)page - KSHIM_PAGE_BIAS;
}

#define KSHIM_DIRECT_MAP	0xffff888000000000UL
#define KSHIM_VMALLOC		0xffffc90000000000UL
#define KSHIM_MAP_PAGES		64UL

extern u64 kshim_pfn_base;

static inline bool kshim_in(const void *p, unsigned long region)
{
	unsigned long a = (uintptr_t)p;

	return a >= region && a - region < (KSHIM_MAP_PAGES << PAGE_SHIFT);
}

static inline bool virt_addr_valid(const void *p)
{
	return kshim_in(p, KSHIM_DIRECT_MAP);
}

static inline struct page *virt_to_page(const void *p)
{
	return kshim_pfn_to_page(kshim_pfn_base +
				 (((uintptr_t)p - KSHIM_DIRECT_MAP) >> PAGE_SHIFT));
}

static inline bool is_vmalloc_addr(const void *p)
{
	return kshim_in(p, KSHIM_VMALLOC);
}

/* Page i of the vmalloc region: frame base + (37 i + 11) mod 64. */
static inline u64 kshim_vmalloc_frame(unsigned long i)
{
	return (i * 37 + 11) % KSHIM_MAP_PAGES;
}

static inline struct page *vmalloc_to_page(const void *p)
{
	unsigned long i = ((uintptr_t)p - KSHIM_VMALLOC) >> PAGE_SHIFT;

	return kshim_pfn_to_page(kshim_pfn_base + kshim_vmalloc_frame(i));
}

#endif
