// SPDX-License-Identifier: GPL-2.0
/*
 * Anonymous memory: every present page table entry of the address space
 * that maps an anonymous page (4 KiB or a transparent huge page, including
 * pages still shared copy-on-write with other processes), a page of a
 * shared mapping it may write, or a hugetlb page.  Clean pages of private
 * file mappings (program text, libraries) are the file's page cache,
 * shared with every other process, and are left out.
 *
 * walk_page_range() is not exported to modules on 6.1 or 6.12, so the page
 * tables are walked here directly, under mmap_read_lock.  The walk only
 * reads entries and records frame numbers: it takes no page references.
 * PTE tables are read under rcu_read_lock(), which keeps a table that
 * khugepaged retracts concurrently (6.12) from being freed under us; the
 * callbacks run there and must not sleep, so the set they add to makes
 * room before each table.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hugetlb.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/pgtable.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/swapops.h>

#include "compat.h"
#include "veil_guest.h"

/*
 * A read-only walk of the page tables of mm over [addr, end): pte() for
 * every present PTE, leaf() for every present PMD or PUD leaf (the pfn of
 * addr and the pages up to the leaf's end or end), swapped() for every PTE
 * that holds a swap entry; each callback is optional.  Called under
 * mmap_read_lock, or on an mm no one else uses any more.
 */
static void veil_guest_walk_pte(const struct veil_guest_walker *w, pmd_t pmd,
				unsigned long addr, unsigned long end)
{
	pte_t *ptep;
	pte_t pte;

	if (w->reserve)
		w->reserve(w, (end - addr) >> PAGE_SHIFT);
	rcu_read_lock();
	ptep = (pte_t *)pmd_page_vaddr(pmd) + pte_index(addr);
	for (; addr < end; addr += PAGE_SIZE, ptep++) {
		pte = ptep_get(ptep);
		if (!pte_present(pte)) {
			if (w->swapped && !pte_none(pte) &&
			    !non_swap_entry(pte_to_swp_entry(pte)))
				w->swapped(w, addr);
			continue;
		}
		if (!w->pte || pte_special(pte) || !pfn_valid(pte_pfn(pte)))
			continue;
		w->pte(w, pte_pfn(pte));
	}
	rcu_read_unlock();
}

static void veil_guest_walk_pmd(const struct veil_guest_walker *w, pud_t *pudp,
				unsigned long addr, unsigned long end)
{
	pmd_t *pmdp = pmd_offset(pudp, addr);
	unsigned long next;

	for (; addr < end; addr = next, pmdp++) {
		pmd_t pmd = READ_ONCE(*pmdp);

		next = pmd_addr_end(addr, end);
		if (pmd_none(pmd) || !pmd_present(pmd))
			continue;
		if (pmd_leaf(pmd)) {
			if (w->reserve)
				w->reserve(w, 1);
			if (pfn_valid(pmd_pfn(pmd)) && w->leaf)
				w->leaf(w, pmd_pfn(pmd) + ((addr & ~PMD_MASK) >> PAGE_SHIFT),
					(next - addr) >> PAGE_SHIFT);
			continue;
		}
		if (pmd_bad(pmd))
			continue;
		veil_guest_walk_pte(w, pmd, addr, next);
	}
}

static void veil_guest_walk_pud(const struct veil_guest_walker *w, p4d_t *p4dp,
				unsigned long addr, unsigned long end)
{
	pud_t *pudp = pud_offset(p4dp, addr);
	unsigned long next;

	for (; addr < end; addr = next, pudp++) {
		pud_t pud = READ_ONCE(*pudp);

		next = pud_addr_end(addr, end);
		if (pud_none(pud) || !pud_present(pud))
			continue;
		if (pud_leaf(pud)) {
			if (w->reserve)
				w->reserve(w, 1);
			if (pfn_valid(pud_pfn(pud)) && w->leaf)
				w->leaf(w, pud_pfn(pud) + ((addr & ~PUD_MASK) >> PAGE_SHIFT),
					(next - addr) >> PAGE_SHIFT);
			continue;
		}
		if (pud_bad(pud))
			continue;
		veil_guest_walk_pmd(w, pudp, addr, next);
	}
}

void veil_guest_walk_range(struct mm_struct *mm, unsigned long addr,
			   unsigned long end, const struct veil_guest_walker *w)
{
	unsigned long next, p4next;

	for (; addr < end; addr = next) {
		pgd_t *pgdp = pgd_offset(mm, addr);
		p4d_t *p4dp;

		next = pgd_addr_end(addr, end);
		if (pgd_none(*pgdp) || pgd_bad(*pgdp))
			continue;
		p4dp = p4d_offset(pgdp, addr);
		for (; addr < next; addr = p4next, p4dp++) {
			p4next = p4d_addr_end(addr, next);
			if (p4d_none(*p4dp) || p4d_bad(*p4dp))
				continue;
			veil_guest_walk_pud(w, p4dp, addr, p4next);
		}
		if (w->may_sleep)
			cond_resched();
	}
}

/*
 * Swapped-out pages.  A page of an excluded process that reclaim swapped out
 * leaves a swap entry in the page table, and its frame may stay in the swap
 * cache (writeback not done yet, or read back by swap readahead or
 * MADV_WILLNEED) holding the data, where no page-table walk finds it; the
 * swap cache's own index is not exported to modules.  So before the walk
 * every swap entry of the area is faulted back in, read-only, as ptrace
 * reads another process's memory: the frame is then mapped and collected
 * like any other, and a frame read back from the swap device is too.  The
 * copy on the swap device itself (a disk, or zram's compressed copy in
 * guest RAM) is beyond a module's reach.
 */
static bool swapin = true;
module_param(swapin, bool, 0644);
MODULE_PARM_DESC(swapin,
		 "At PREPARE, read swapped-out pages of excluded processes back in so they are collected (default on)");

/* One PMD's worth of PTEs: a window of it never has more swap entries. */
#define VEIL_GUEST_SWAP_WINDOW	(PTRS_PER_PTE * PAGE_SIZE)

struct veil_guest_swap_walk {
	struct veil_guest_walker w;
	unsigned int nr;
	unsigned long addr[PTRS_PER_PTE];
};

static void veil_guest_swap_entry(const struct veil_guest_walker *w, unsigned long addr)
{
	struct veil_guest_swap_walk *sw = container_of(w, struct veil_guest_swap_walk, w);

	if (sw->nr < ARRAY_SIZE(sw->addr))
		sw->addr[sw->nr++] = addr;
}

/*
 * Faults in the swap entries of [start, end) of vma, under mmap_read_lock
 * (which GUP keeps held: no locked argument).  Returns how many could not
 * be read back.
 */
static unsigned long veil_guest_swapin_range(struct mm_struct *mm,
					     struct veil_guest_swap_walk *sw,
					     unsigned long start, unsigned long end)
{
	unsigned long addr, next, failed = 0;
	struct page *page;
	unsigned int i;

	for (addr = start; addr < end; addr = next) {
		next = min(ALIGN(addr + 1, VEIL_GUEST_SWAP_WINDOW), end);
		sw->nr = 0;
		veil_guest_walk_range(mm, addr, next, &sw->w);
		for (i = 0; i < sw->nr; i++) {
			if (veil_guest_gup_remote(mm, sw->addr[i], FOLL_FORCE, &page) == 1)
				put_page(page);
			else
				failed++;
		}
		cond_resched();
	}
	return failed;
}

static struct veil_guest_swap_walk *veil_guest_swap_walk_new(struct mm_struct *mm)
{
	struct veil_guest_swap_walk *sw;

	if (!READ_ONCE(swapin) || veil_guest_mm_swapents(mm) <= 0)
		return NULL;
	sw = kmalloc(sizeof(*sw), GFP_KERNEL);
	if (!sw) {
		pr_warn_ratelimited("no memory to read swapped-out pages back: they may stay in the checkpoint\n");
		return NULL;
	}
	sw->w = (struct veil_guest_walker){ .swapped = veil_guest_swap_entry };
	return sw;
}

struct veil_guest_anon_walk {
	struct veil_guest_walker w;
	struct vm_area_struct *vma;
	struct veil_guest_collect *c;
	bool count_shared;	/* count pages mapped more than once */
};

static bool veil_guest_private_data(struct vm_area_struct *vma, struct page *page)
{
	return PageAnon(page) || veil_guest_shared_writable(vma);
}

static void veil_guest_anon_pte(const struct veil_guest_walker *w, unsigned long pfn)
{
	const struct veil_guest_anon_walk *aw =
		container_of(w, struct veil_guest_anon_walk, w);

	struct page *page = pfn_to_page(pfn);

	if (!veil_guest_private_data(aw->vma, page))
		return;
	/* Others may map it too: published once all its mappings are known. */
	if (!PageCompound(page) && veil_guest_page_mapcount(page) > 1) {
		if (aw->count_shared)
			veil_guest_shared_note(aw->c, pfn);
		return;
	}
	veil_guest_add(aw->c, VEIL_GUEST_CAT_ANON, pfn, 1);
}

static void veil_guest_anon_leaf(const struct veil_guest_walker *w,
				 unsigned long pfn, unsigned long npages)
{
	const struct veil_guest_anon_walk *aw =
		container_of(w, struct veil_guest_anon_walk, w);

	if (is_vm_hugetlb_page(aw->vma) ||
	    veil_guest_private_data(aw->vma, pfn_to_page(pfn)))
		veil_guest_add(aw->c, VEIL_GUEST_CAT_ANON, pfn, npages);
}

/*
 * Room in the anonymous set for what the next PTE table or leaf can add,
 * made while sleeping is allowed; in between the set grows only without
 * sleeping (nosleep), and a failure here is sticky and fails the
 * collection.
 */
static void veil_guest_anon_reserve(const struct veil_guest_walker *w,
				    unsigned long nr)
{
	struct veil_guest_extset *set =
		&container_of(w, struct veil_guest_anon_walk, w)->c->cat[VEIL_GUEST_CAT_ANON];

	set->nosleep = false;
	veil_guest_extset_reserve(set, nr);
	set->nosleep = true;
}

/*
 * Walks the areas of mm that meet [start, end).  A whole walk (range is
 * false) also takes the unmapped page cache of shared file mappings.
 */
static int veil_guest_collect_areas(struct mm_struct *mm, struct veil_guest_collect *c,
				    unsigned long start, unsigned long end,
				    bool dontdump_only, bool range)
{
	struct veil_guest_anon_walk aw = {
		.w = { .pte = veil_guest_anon_pte, .leaf = veil_guest_anon_leaf,
		       .reserve = veil_guest_anon_reserve, .may_sleep = true },
		.c = c,
	};
	struct veil_guest_swap_walk *sw;
	unsigned long failed = 0;
	struct vm_area_struct *vma;
	struct vma_iterator vmi;
	int r;

	r = veil_guest_shared_begin(c, mm, !range, &aw.count_shared);
	if (r)
		return r < 0 ? r : 0;
	sw = c->count_only ? NULL : veil_guest_swap_walk_new(mm);
	if (mmap_read_lock_killable(mm)) {
		kfree(sw);
		return -EINTR;
	}
	c->cat[VEIL_GUEST_CAT_ANON].nosleep = true;
	vma_iter_init(&vmi, mm, start);
	for_each_vma_range(vmi, vma, end) {
		if (vma->vm_flags & (VM_IO | VM_PFNMAP))
			continue;
		if (dontdump_only && !(vma->vm_flags & VM_DONTDUMP))
			continue;
		aw.vma = vma;
		if (sw)
			failed += veil_guest_swapin_range(mm, sw, max(start, vma->vm_start),
							  min(end, vma->vm_end));
		veil_guest_walk_range(mm, max(start, vma->vm_start),
				      min(end, vma->vm_end), &aw.w);
		/* Pages of a shared mapping that are not mapped right now. */
		if (!range && veil_guest_shared_writable(vma))
			veil_guest_collect_mapping(vma->vm_file, c);
	}
	c->cat[VEIL_GUEST_CAT_ANON].nosleep = false;
	mmap_read_unlock(mm);
	kfree(sw);
	if (failed)
		pr_warn_ratelimited("%lu swapped-out pages could not be read back: they may stay in the checkpoint\n",
				    failed);
	return 0;
}

int veil_guest_collect_anon(struct mm_struct *mm, struct veil_guest_collect *c,
			    bool dontdump_only)
{
	return veil_guest_collect_areas(mm, c, 0, ULONG_MAX, dontdump_only, false);
}

/* A range protected through libveil: what is mapped there now. */
int veil_guest_collect_anon_range(struct mm_struct *mm, struct veil_guest_collect *c,
				  unsigned long start, unsigned long end)
{
	return veil_guest_collect_areas(mm, c, start, end, false, true);
}
