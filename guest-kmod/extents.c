// SPDX-License-Identifier: GPL-2.0
/*
 * Extent sets: runs of guest frames, appended by the collectors in any
 * order, then sorted and merged into disjoint {gfn, npages} extents.
 */
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/vmalloc.h>

#include "veil_guest.h"

#define VEIL_GUEST_RUNS_MIN	256

static int veil_guest_extset_grow(struct veil_guest_extset *set)
{
	size_t cap = set->cap ? set->cap * 2 : VEIL_GUEST_RUNS_MIN;
	struct veil_guest_run *runs;

	runs = kvmalloc_array(cap, sizeof(*runs), GFP_KERNEL);
	if (!runs)
		return -ENOMEM;
	if (set->nr)
		memcpy(runs, set->runs, set->nr * sizeof(*runs));
	kvfree(set->runs);
	set->runs = runs;
	set->cap = cap;
	return 0;
}

void veil_guest_extset_add(struct veil_guest_extset *set, u64 pfn, u64 npages)
{
	struct veil_guest_run *last;

	if (!npages || set->error)
		return;
	if (set->nr) {
		last = &set->runs[set->nr - 1];
		if (last->pfn + last->npages == pfn) {
			last->npages += npages;
			return;
		}
		if (pfn >= last->pfn && pfn + npages <= last->pfn + last->npages)
			return;
	}
	if (set->nr == set->cap) {
		set->error = veil_guest_extset_grow(set);
		if (set->error)
			return;
	}
	set->runs[set->nr].pfn = pfn;
	set->runs[set->nr].npages = npages;
	set->nr++;
}

static int veil_guest_run_cmp(const void *a, const void *b)
{
	const struct veil_guest_run *x = a, *y = b;

	if (x->pfn != y->pfn)
		return x->pfn < y->pfn ? -1 : 1;
	return 0;
}

/* Sorts by pfn and merges overlapping or adjacent runs, in place. */
int veil_guest_extset_finish(struct veil_guest_extset *set)
{
	size_t i, out = 0;

	if (set->error)
		return set->error;
	sort(set->runs, set->nr, sizeof(*set->runs), veil_guest_run_cmp, NULL);
	for (i = 0; i < set->nr; i++) {
		struct veil_guest_run *r = &set->runs[i];
		struct veil_guest_run *o = out ? &set->runs[out - 1] : NULL;

		if (o && r->pfn <= o->pfn + o->npages) {
			o->npages = max(o->npages, r->pfn + r->npages - o->pfn);
			continue;
		}
		set->runs[out++] = *r;
	}
	set->nr = out;
	return 0;
}

u64 veil_guest_extset_pages(const struct veil_guest_extset *set)
{
	u64 pages = 0;
	size_t i;

	for (i = 0; i < set->nr; i++)
		pages += set->runs[i].npages;
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

	for (i = 0; i < VEIL_GUEST_NR_CAT; i++) {
		struct veil_guest_extset *set = &c->cat[i];

		err = veil_guest_extset_finish(set);
		if (err)
			return err;
		c->pages[i] = veil_guest_extset_pages(set);
		for (j = 0; j < set->nr; j++)
			veil_guest_extset_add(&c->all, set->runs[j].pfn,
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

	for (i = 0; i < VEIL_GUEST_NR_CAT; i++)
		veil_guest_extset_free(&c->cat[i]);
	veil_guest_extset_free(&c->all);
}

/*
 * Frames of kernel objects (kernel stacks, saved FPU state, the linear part
 * of socket buffers, TTY buffers and the line discipline's data) hold the
 * excluded data next to kernel metadata: a stack's live frames, other
 * objects of the same slab page, list heads, sizes.  Zeroed in a
 * checkpoint they leave no secret, but a guest restored from it crashes
 * on the first use of that metadata.  So they are published only on
 * request, for checkpoints that are never resumed (archives, forensics);
 * unused kernel stack is scrubbed at freeze time instead (freeze.c).
 */
static bool kernel_objects;
module_param(kernel_objects, bool, 0644);
MODULE_PARM_DESC(kernel_objects,
		 "Also publish frames of kernel objects holding excluded data (stacks, FPU state, linear socket buffers, TTY buffers); a guest restored from such a checkpoint crashes (default: off)");

bool veil_guest_kernel_objects(void)
{
	return READ_ONCE(kernel_objects);
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
		if (is_vmalloc_addr((void *)start))
			page = vmalloc_to_page((void *)start);
		else if (virt_addr_valid((void *)start))
			page = virt_to_page((void *)start);
		else
			page = NULL;
		if (page)
			veil_guest_add(c, cat, page_to_pfn(page), 1);
	}
}
