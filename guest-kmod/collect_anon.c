// SPDX-License-Identifier: GPL-2.0
/*
 * Anonymous memory: every present page table entry of the address space
 * that maps an anonymous page (4 KiB, a large folio or a transparent huge
 * page) or a hugetlb page, published when no process outside the set maps
 * it (collect_shared.c decides for pages mapped more than once).  Page
 * cache the walk finds mapped (program text, libraries, files mapped
 * privately or shared) is only counted here: the file pass
 * (collect_file.c) publishes the page cache of the set's own files.
 *
 * walk_page_range() is not exported to modules on 6.1 or 6.12, so the page
 * tables are walked here directly, under mmap_read_lock.  Every frame the
 * walk hands over is referenced first (hold.c), and only while the entry
 * still maps it: so it stays where it is until THAW or RESTORE.  An entry
 * found in flux (migration, a huge page being split) is walked again,
 * never skipped.  PTE tables are read under rcu_read_lock(), which keeps a
 * table that khugepaged retracts concurrently (6.12) from being freed
 * under us; the callbacks run there and must not sleep, so the sets they
 * add to make room before each table.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
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
 * that holds a swap entry, unstable() for an entry whose page is being
 * migrated (a migration entry, at PTE or PMD level); each callback is
 * optional.  While pte() or leaf() runs, w->ptep, w->pmdp or w->pudp point
 * at the entry, so that veil_guest_walk_maps() can tell, after a reference
 * was taken, whether it still maps the same frame.  Called under
 * mmap_read_lock, or on an mm no one else uses any more.
 */
static void veil_guest_walk_pte(struct veil_guest_walker *w, pmd_t pmd,
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
			swp_entry_t entry;

			if (pte_none(pte))
				continue;
			entry = pte_to_swp_entry(pte);
			if (w->swapped && !non_swap_entry(entry))
				w->swapped(w, addr);
			else if (w->unstable && is_migration_entry(entry))
				w->unstable(w, addr, PAGE_SIZE);
			continue;
		}
		if (!w->pte || pte_special(pte) || !pfn_valid(pte_pfn(pte)))
			continue;
		w->ptep = ptep;
		w->addr = addr;
		w->pte(w, pte_pfn(pte));
		w->ptep = NULL;
	}
	rcu_read_unlock();
}

static void veil_guest_walk_pmd(struct veil_guest_walker *w, pud_t *pudp,
				unsigned long addr, unsigned long end)
{
	pmd_t *pmdp = pmd_offset(pudp, addr);
	unsigned long next;

	for (; addr < end; addr = next, pmdp++) {
		pmd_t pmd = READ_ONCE(*pmdp);

		next = pmd_addr_end(addr, end);
		if (pmd_none(pmd))
			continue;
		/*
		 * A huge page being migrated; one being split stays present
		 * (pmdp_invalidate() keeps the entry a present leaf on x86)
		 * until its PTE table is in place.
		 */
		if (!pmd_present(pmd)) {
			if (w->unstable && is_pmd_migration_entry(pmd))
				w->unstable(w, addr, next - addr);
			continue;
		}
		if (pmd_leaf(pmd)) {
			if (w->reserve)
				w->reserve(w, 1);
			if (pfn_valid(pmd_pfn(pmd)) && w->leaf) {
				w->pmdp = pmdp;
				w->addr = addr;
				w->leaf(w, pmd_pfn(pmd) + ((addr & ~PMD_MASK) >> PAGE_SHIFT),
					(next - addr) >> PAGE_SHIFT);
				w->pmdp = NULL;
			}
			continue;
		}
		if (pmd_bad(pmd))
			continue;
		veil_guest_walk_pte(w, pmd, addr, next);
	}
}

static void veil_guest_walk_pud(struct veil_guest_walker *w, p4d_t *p4dp,
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
			if (pfn_valid(pud_pfn(pud)) && w->leaf) {
				w->pudp = pudp;
				w->addr = addr;
				w->leaf(w, pud_pfn(pud) + ((addr & ~PUD_MASK) >> PAGE_SHIFT),
					(next - addr) >> PAGE_SHIFT);
				w->pudp = NULL;
			}
			continue;
		}
		if (pud_bad(pud))
			continue;
		veil_guest_walk_pmd(w, pudp, addr, next);
	}
}

void veil_guest_walk_range(struct mm_struct *mm, unsigned long addr,
			   unsigned long end, struct veil_guest_walker *w)
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

/* From pte() or leaf(): whether the entry still maps frame pfn. */
bool veil_guest_walk_maps(const struct veil_guest_walker *w, unsigned long pfn)
{
	if (w->ptep) {
		pte_t pte = ptep_get(w->ptep);

		return pte_present(pte) && pte_pfn(pte) == pfn;
	}
	if (w->pmdp) {
		pmd_t pmd = READ_ONCE(*w->pmdp);

		return pmd_present(pmd) && pmd_leaf(pmd) &&
		       pmd_pfn(pmd) + ((w->addr & ~PMD_MASK) >> PAGE_SHIFT) == pfn;
	}
	if (w->pudp) {
		pud_t pud = READ_ONCE(*w->pudp);

		return pud_present(pud) && pud_leaf(pud) &&
		       pud_pfn(pud) + ((w->addr & ~PUD_MASK) >> PAGE_SHIFT) == pfn;
	}
	return false;
}

/*
 * From pte() or leaf(): a reference on the folio of frame pfn, taken while
 * the entry maps it; NULL when the entry changed under us (the folio was
 * freed, split or migrated meanwhile), for the caller to walk that address
 * again.  The folio may be freed and reused before the reference is
 * taken: taking it, then finding the entry unchanged, proves it was not.
 */
struct folio *veil_guest_walk_get_folio(const struct veil_guest_walker *w,
					unsigned long pfn)
{
	struct page *page = pfn_to_page(pfn);
	struct folio *folio = page_folio(page);

	if (!folio_try_get(folio))
		return NULL;
	if (unlikely(page_folio(page) != folio || !veil_guest_walk_maps(w, pfn))) {
		folio_put(folio);
		return NULL;
	}
	return folio;
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

static void veil_guest_swap_entry(struct veil_guest_walker *w, unsigned long addr)
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

/* Places the walk found in flux, walked again once it is over. */
#define VEIL_GUEST_MAX_UNSTABLE	PTRS_PER_PTE

struct veil_guest_unstable {
	unsigned long addr, size;
};

struct veil_guest_anon_walk {
	struct veil_guest_walker w;
	struct vm_area_struct *vma;
	struct veil_guest_collect *c;
	bool count_shared;	/* count mappings of what others may map too */
	unsigned int nr_unstable;
	bool overflow;		/* more than fit in unstable[] */
	struct veil_guest_unstable unstable[VEIL_GUEST_MAX_UNSTABLE];
	struct veil_guest_unstable again[VEIL_GUEST_MAX_UNSTABLE];
};

static void veil_guest_anon_unstable(struct veil_guest_walker *w, unsigned long addr,
				     unsigned long size)
{
	struct veil_guest_anon_walk *aw = container_of(w, struct veil_guest_anon_walk, w);

	if (aw->nr_unstable == VEIL_GUEST_MAX_UNSTABLE) {
		aw->overflow = true;
		return;
	}
	aw->unstable[aw->nr_unstable].addr = addr;
	aw->unstable[aw->nr_unstable].size = size;
	aw->nr_unstable++;
}

/*
 * One mapping of folio (referenced) at the walker's entry.  Anonymous
 * memory (hugetlb included) that only this mapping maps is published and
 * held at once; every other folio is noted, with its mapping counted, for
 * veil_guest_shared_resolve() to decide once every address space of the
 * set is walked: anonymous memory that others may map (copy-on-write
 * after fork, KSM, large folios, whose map count is the whole folio's),
 * and page cache, which the file pass publishes where no process outside
 * the set maps it.
 */
static void veil_guest_anon_mapping(struct veil_guest_anon_walk *aw,
				    struct folio *folio, unsigned long pfn,
				    unsigned long npages)
{
	struct veil_guest_collect *c = aw->c;
	bool anon = folio_test_anon(folio) || folio_test_hugetlb(folio);

	if (!anon && !folio->mapping) {
		folio_put(folio);
		return;
	}
	if (anon && !folio_test_large(folio) && veil_guest_folio_mapcount(folio) == 1) {
		veil_guest_add(c, VEIL_GUEST_CAT_ANON, pfn, npages);
		veil_guest_hold_folio(&c->holds, folio);
		return;
	}
	if (aw->count_shared)
		veil_guest_shared_note(c, folio);
	else
		folio_put(folio);
}

static void veil_guest_anon_pte(struct veil_guest_walker *w, unsigned long pfn)
{
	struct veil_guest_anon_walk *aw = container_of(w, struct veil_guest_anon_walk, w);
	struct folio *folio = veil_guest_walk_get_folio(w, pfn);

	if (!folio) {
		veil_guest_anon_unstable(w, w->addr, PAGE_SIZE);
		return;
	}
	veil_guest_anon_mapping(aw, folio, pfn, 1);
}

static void veil_guest_anon_leaf(struct veil_guest_walker *w,
				 unsigned long pfn, unsigned long npages)
{
	struct veil_guest_anon_walk *aw = container_of(w, struct veil_guest_anon_walk, w);
	struct folio *folio = veil_guest_walk_get_folio(w, pfn);

	if (!folio) {
		veil_guest_anon_unstable(w, w->addr, npages << PAGE_SHIFT);
		return;
	}
	veil_guest_anon_mapping(aw, folio, pfn, npages);
}

/*
 * Room for what the next PTE table or leaf can add, made while sleeping is
 * allowed; in between the sets grow only without sleeping (nosleep), and a
 * failure here is sticky and fails the collection.
 */
static void veil_guest_anon_reserve(struct veil_guest_walker *w, unsigned long nr)
{
	struct veil_guest_collect *c = container_of(w, struct veil_guest_anon_walk, w)->c;

	veil_guest_collect_nosleep(c, false);
	veil_guest_extset_reserve(&c->cat[VEIL_GUEST_CAT_ANON], nr);
	veil_guest_holds_reserve(&c->holds, nr);
	veil_guest_shared_reserve(c, nr);
	veil_guest_collect_nosleep(c, true);
}

/*
 * Walks [start, end) of the area, then again the places it found in flux
 * (a page under migration, a huge page being split), until none is left:
 * what is published must be where the data is, and a page skipped there
 * would leave it out.  The folios the walk holds cannot be migrated any
 * more, so the places in flux only shrink; if they do not within a
 * second, or are too many to remember, the collection fails rather than
 * skip them.
 */
static int veil_guest_walk_area(struct mm_struct *mm, struct veil_guest_anon_walk *aw,
				unsigned long start, unsigned long end)
{
	unsigned int i, n, tries = 0;

	aw->nr_unstable = 0;
	aw->overflow = false;
	veil_guest_walk_range(mm, start, end, &aw->w);
	while (aw->nr_unstable && !aw->overflow) {
		if (++tries > 1000)
			break;
		usleep_range(500, 1000);
		n = aw->nr_unstable;
		memcpy(aw->again, aw->unstable, n * sizeof(aw->again[0]));
		aw->nr_unstable = 0;
		for (i = 0; i < n; i++)
			veil_guest_walk_range(mm, aw->again[i].addr,
					      aw->again[i].addr + aw->again[i].size, &aw->w);
	}
	if (aw->nr_unstable || aw->overflow) {
		pr_warn_ratelimited("%s pages of an excluded process stayed under migration: not collected\n",
				    aw->overflow ? "too many" : "for a second,");
		return -EAGAIN;
	}
	return 0;
}

/*
 * Walks the areas of mm that meet [start, end).  A whole walk (range is
 * false) also gathers the files of shared mappings it may write, whose
 * page cache the file pass takes.
 */
static int veil_guest_collect_areas(struct mm_struct *mm, struct veil_guest_collect *c,
				    unsigned long start, unsigned long end,
				    bool dontdump_only, bool range)
{
	struct veil_guest_anon_walk *aw;
	struct veil_guest_swap_walk *sw;
	unsigned long failed = 0, s, e;
	struct vm_area_struct *vma;
	struct vma_iterator vmi;
	bool count;
	int r, err = 0;

	r = veil_guest_shared_begin(c, mm, !range, &count);
	if (r)
		return r < 0 ? r : 0;
	aw = kzalloc(sizeof(*aw), GFP_KERNEL);
	if (!aw)
		return -ENOMEM;
	aw->w = (struct veil_guest_walker){
		.pte = veil_guest_anon_pte, .leaf = veil_guest_anon_leaf,
		.unstable = veil_guest_anon_unstable,
		.reserve = veil_guest_anon_reserve, .may_sleep = true,
	};
	aw->c = c;
	aw->count_shared = count;
	sw = c->count_only ? NULL : veil_guest_swap_walk_new(mm);
	if (mmap_read_lock_killable(mm)) {
		kfree(sw);
		kfree(aw);
		return -EINTR;
	}
	veil_guest_collect_nosleep(c, true);
	vma_iter_init(&vmi, mm, start);
	for_each_vma_range(vmi, vma, end) {
		if (vma->vm_flags & (VM_IO | VM_PFNMAP))
			continue;
		if (dontdump_only && !(vma->vm_flags & VM_DONTDUMP))
			continue;
		aw->vma = vma;
		s = max(start, vma->vm_start);
		e = min(end, vma->vm_end);
		if (sw)
			failed += veil_guest_swapin_range(mm, sw, s, e);
		err = veil_guest_walk_area(mm, aw, s, e);
		if (err)
			break;
		/* The file of a shared mapping it may write, for the file pass. */
		if (!range && veil_guest_shared_writable(vma))
			veil_guest_collect_file_pages(c, vma->vm_file);
	}
	veil_guest_collect_nosleep(c, false);
	mmap_read_unlock(mm);
	kfree(sw);
	kfree(aw);
	if (failed)
		pr_warn_ratelimited("%lu swapped-out pages could not be read back: they may stay in the checkpoint\n",
				    failed);
	return err;
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
