// SPDX-License-Identifier: GPL-2.0
/*
 * Extent sets: runs of guest frames, and byte ranges inside one frame
 * (partial runs, npages encoded as in the ABI), appended by the collectors
 * in any order, then sorted by address and merged into disjoint extents.
 */
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/vmalloc.h>

#include "veil_guest.h"

#define VEIL_GUEST_RUNS_MIN	256

static int veil_guest_extset_grow_to(struct veil_guest_extset *set, size_t cap)
{
	struct veil_guest_run *runs;
	bool nosleep = set->nosleep;

	/*
	 * Under RCU or a spinlock (set->nosleep) only a non-sleeping
	 * allocation is allowed; kvmalloc then falls back to nothing but
	 * kmalloc, and a failure fails the collection (and PREPARE) rather
	 * than leaving runs out.  A caller in atomic context that forgot
	 * nosleep is caught here, loudly, and does not sleep either.
	 */
	if (WARN_ON_ONCE(!nosleep && veil_guest_atomic_context()))
		nosleep = true;
	runs = kvmalloc_array(cap, sizeof(*runs),
			      nosleep ? GFP_NOWAIT | __GFP_NOWARN : GFP_KERNEL);
	if (!runs)
		return -ENOMEM;
	if (set->nr)
		memcpy(runs, set->runs, set->nr * sizeof(*runs));
	kvfree(set->runs);
	set->runs = runs;
	set->cap = cap;
	return 0;
}

static int veil_guest_extset_grow(struct veil_guest_extset *set)
{
	return veil_guest_extset_grow_to(set, set->cap ? set->cap * 2 : VEIL_GUEST_RUNS_MIN);
}

/* Room for @more runs without allocating, before appending under RCU. */
int veil_guest_extset_reserve(struct veil_guest_extset *set, size_t more)
{
	size_t cap = set->cap ? set->cap : VEIL_GUEST_RUNS_MIN;

	if (set->error)
		return set->error;
	if (set->nr + more <= set->cap)
		return 0;
	while (cap < set->nr + more)
		cap *= 2;
	set->error = veil_guest_extset_grow_to(set, cap);
	return set->error;
}

/* First and last guest physical address + 1 of a run. */
static u64 veil_guest_run_start(const struct veil_guest_run *r)
{
	if (veil_guest_run_partial(r))
		return (r->pfn << PAGE_SHIFT) + VEIL_EXTENT_OFF(r->npages);
	return r->pfn << PAGE_SHIFT;
}

static u64 veil_guest_run_end(const struct veil_guest_run *r)
{
	if (veil_guest_run_partial(r))
		return veil_guest_run_start(r) + VEIL_EXTENT_LEN(r->npages);
	return (r->pfn + r->npages) << PAGE_SHIFT;
}

static void veil_guest_extset_append(struct veil_guest_extset *set, u64 pfn,
				     u64 npages)
{
	/* Sticky: a later allocation that succeeds must not hide a lost run. */
	if (set->error)
		return;
	if (set->nr == set->cap) {
		set->error = veil_guest_extset_grow(set);
		if (set->error)
			return;
	}
	set->runs[set->nr].pfn = pfn;
	set->runs[set->nr].npages = npages;
	set->nr++;
}

void veil_guest_extset_add(struct veil_guest_extset *set, u64 pfn, u64 npages)
{
	struct veil_guest_run *last;

	if (!npages || set->error)
		return;
	if (set->nr) {
		last = &set->runs[set->nr - 1];
		if (!veil_guest_run_partial(last) && last->pfn + last->npages == pfn) {
			last->npages += npages;
			return;
		}
		if (!veil_guest_run_partial(last) && pfn >= last->pfn &&
		    pfn + npages <= last->pfn + last->npages)
			return;
	}
	veil_guest_extset_append(set, pfn, npages);
}

/* Bytes [off, off + len) of frame pfn; the whole frame when that is all of it. */
void veil_guest_extset_add_bytes(struct veil_guest_extset *set, u64 pfn,
				 unsigned int off, unsigned int len)
{
	struct veil_guest_run *last;

	if (!len || set->error || WARN_ON_ONCE(off >= PAGE_SIZE || len > PAGE_SIZE - off))
		return;
	if (len == PAGE_SIZE) {
		veil_guest_extset_add(set, pfn, 1);
		return;
	}
	if (set->nr) {
		last = &set->runs[set->nr - 1];
		if (!veil_guest_run_partial(last) && pfn >= last->pfn &&
		    pfn < last->pfn + last->npages)
			return;
	}
	veil_guest_extset_append(set, pfn, VEIL_EXTENT_PART(off, len));
}

/* By start address; at the same address the longer run first. */
static int veil_guest_run_cmp(const void *a, const void *b)
{
	const struct veil_guest_run *x = a, *y = b;
	u64 xs = veil_guest_run_start(x), ys = veil_guest_run_start(y);
	u64 xe, ye;

	if (xs != ys)
		return xs < ys ? -1 : 1;
	xe = veil_guest_run_end(x);
	ye = veil_guest_run_end(y);
	if (xe != ye)
		return xe > ye ? -1 : 1;
	return 0;
}

/*
 * Sorts by address and merges, in place: whole runs that overlap or touch
 * become one; a partial run inside a whole one goes; partial runs of one
 * frame that overlap or touch become one, and a whole run once they cover
 * the frame.  What is left is disjoint, which is what the host checks.
 */
int veil_guest_extset_finish(struct veil_guest_extset *set)
{
	size_t i, out = 0;

	if (set->error)
		return set->error;
	sort(set->runs, set->nr, sizeof(*set->runs), veil_guest_run_cmp, NULL);
	for (i = 0; i < set->nr; i++) {
		struct veil_guest_run *r = &set->runs[i];
		struct veil_guest_run *o = out ? &set->runs[out - 1] : NULL;
		u64 start, end;

		if (!o || veil_guest_run_start(r) > veil_guest_run_end(o)) {
			set->runs[out++] = *r;
			continue;
		}
		if (!veil_guest_run_partial(o)) {
			if (!veil_guest_run_partial(r))
				o->npages = max(o->npages, r->pfn + r->npages - o->pfn);
			else if (veil_guest_run_end(r) > veil_guest_run_end(o))
				set->runs[out++] = *r;	/* starts where o ends */
			continue;
		}
		/* o is partial; r starts inside it or where it ends. */
		if (veil_guest_run_partial(r) && r->pfn == o->pfn) {
			start = veil_guest_run_start(o);
			end = max(veil_guest_run_end(o), veil_guest_run_end(r));
			o->npages = VEIL_EXTENT_PART(VEIL_EXTENT_OFF(o->npages),
						     end - start);
			if (end - start == PAGE_SIZE)
				o->npages = 1;
		} else {
			set->runs[out++] = *r;	/* the next frame */
		}
		/* A frame that became whole may now touch the run before it. */
		o = &set->runs[out - 1];
		if (out >= 2 && !veil_guest_run_partial(o) &&
		    !veil_guest_run_partial(&set->runs[out - 2]) &&
		    set->runs[out - 2].pfn + set->runs[out - 2].npages >= o->pfn) {
			struct veil_guest_run *p = &set->runs[out - 2];

			p->npages = max(p->npages, o->pfn + o->npages - p->pfn);
			out--;
		}
	}
	set->nr = out;
	return 0;
}

/* Frames the set names: one per partial run, so that it matches the host. */
u64 veil_guest_extset_pages(const struct veil_guest_extset *set)
{
	u64 pages = 0;
	size_t i;

	for (i = 0; i < set->nr; i++)
		pages += veil_guest_run_partial(&set->runs[i]) ? 1 : set->runs[i].npages;
	return pages;
}

void veil_guest_extset_free(struct veil_guest_extset *set)
{
	kvfree(set->runs);
	memset(set, 0, sizeof(*set));
}

void veil_guest_collect_init(struct veil_guest_collect *c)
{
	memset(c, 0, sizeof(*c));
}

/* Finishes every category, then merges them all into c->all. */
int veil_guest_collect_finish(struct veil_guest_collect *c)
{
	int i, err;
	size_t j;

	for (i = 0; i < VEIL_GUEST_NR_CAT_ALL; i++) {
		struct veil_guest_extset *set = &c->cat[i];

		err = veil_guest_extset_finish(set);
		if (err)
			return err;
		c->pages[i] = veil_guest_extset_pages(set);
		for (j = 0; j < set->nr; j++)
			veil_guest_extset_append(&c->all, set->runs[j].pfn,
						 set->runs[j].npages);
	}
	err = veil_guest_extset_finish(&c->all);
	if (err)
		return err;
	c->nr_pages = veil_guest_extset_pages(&c->all);
	return 0;
}

void veil_guest_collect_free(struct veil_guest_collect *c)
{
	int i;

	if (c->release)
		c->release(c);
	for (i = 0; i < VEIL_GUEST_NR_CAT_ALL; i++)
		veil_guest_extset_free(&c->cat[i]);
	veil_guest_extset_free(&c->all);
}

/*
 * Frames of kernel objects whose excluded data sits next to state a
 * restored guest runs on (a kernel stack's live frames) or at offsets not
 * known (n_tty's private struct, when the kernel has no BTF): zeroed
 * whole, a guest restored from the checkpoint crashes.  So they are
 * published only on request, for checkpoints that are never resumed
 * (archives, forensics).  Socket and TTY buffer data and saved registers
 * are published byte by byte without it; unused kernel stack is scrubbed
 * at freeze time (freeze.c).
 */
static bool kernel_objects;
module_param(kernel_objects, bool, 0644);
MODULE_PARM_DESC(kernel_objects,
		 "Also publish whole frames of kernel stacks of excluded tasks (and of n_tty's data where BTF lacks its offsets); a guest restored from such a checkpoint crashes (default: off)");

bool veil_guest_kernel_objects(void)
{
	return READ_ONCE(kernel_objects);
}

static struct page *veil_guest_kernel_page(unsigned long addr)
{
	if (is_vmalloc_addr((void *)addr))
		return vmalloc_to_page((void *)addr);
	if (virt_addr_valid((void *)addr))
		return virt_to_page((void *)addr);
	return NULL;
}

void veil_guest_add_kernel_range(struct veil_guest_collect *c, int cat,
				 const void *addr, size_t len)
{
	unsigned long start = (unsigned long)addr & PAGE_MASK;
	unsigned long end = (unsigned long)addr + len;
	struct page *page;

	if (!len || !veil_guest_kernel_objects())
		return;
	for (; start < end; start += PAGE_SIZE) {
		page = veil_guest_kernel_page(start);
		if (page)
			veil_guest_add(c, cat, page_to_pfn(page), 1);
	}
}

void veil_guest_add_kernel_bytes(struct veil_guest_collect *c, int cat,
				 const void *addr, size_t len)
{
	unsigned long a = (unsigned long)addr, end = a + len;
	unsigned int off, n;
	struct page *page;

	while (a < end) {
		off = offset_in_page(a);
		n = min_t(unsigned long, PAGE_SIZE - off, end - a);
		page = veil_guest_kernel_page(a);
		if (page)
			veil_guest_extset_add_bytes(&c->cat[cat], page_to_pfn(page),
						    off, n);
		a += n;
	}
}

void veil_guest_add_page_bytes(struct veil_guest_collect *c, int cat,
			       struct page *page, size_t off, size_t len)
{
	u64 pfn = page_to_pfn(page) + (off >> PAGE_SHIFT);
	unsigned int o = offset_in_page(off), n;

	while (len) {
		n = min_t(size_t, PAGE_SIZE - o, len);
		veil_guest_extset_add_bytes(&c->cat[cat], pfn, o, n);
		len -= n;
		pfn++;
		o = 0;
	}
}
