// SPDX-License-Identifier: GPL-2.0
/*
 * Memory an excluded process frees: its anonymous pages are zeroed when
 * they leave it, so that no copy of its data is left in free memory where
 * no collector can find it.  An mmu_notifier on each excluded process's mm
 * sees the two ways pages leave:
 *
 * - munmap() (MMU_NOTIFY_UNMAP): invalidate_range_start() takes a reference
 *   on each anonymous 4 KiB page of the range; invalidate_range_end()
 *   zeroes those that are then mapped nowhere and referenced only by the
 *   unmap itself and us, and drops the references.  A page mremap() moved
 *   (the same event) is mapped again by then and is left alone.
 * - exit (release, with no user of the mm left): every anonymous 4 KiB page
 *   mapped only here and referenced by nothing else is zeroed before the
 *   teardown frees it.
 *
 * Not zeroed: transparent huge pages, pages past the first 8192 of one
 * unmap, pages still shared or pinned (they are not freed then), pages
 * dropped by MADV_DONTNEED or reclaim, which the notifier cannot tell from
 * a page being migrated or swapped.  Zeroing at
 * unmap rather than a global init_on_free: that one is a boot choice, and
 * turning it on at run time would let the page allocator hand out pages
 * freed before as "already zero".
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "compat.h"
#include "veil_guest.h"

static bool zero_freed = true;
module_param(zero_freed, bool, 0644);
MODULE_PARM_DESC(zero_freed,
		 "Zero the anonymous memory excluded processes unmap or leave at exit (default yes)");

struct veil_guest_zmm {
	struct mmu_notifier mn;
	struct list_head node;		/* on veil_guest_zmms */
	struct mm_struct *mm;
	spinlock_t lock;		/* protects held, nr_held, busy */
	struct page **held;		/* between start and end of an unmap */
	unsigned int nr_held, cap;
	bool busy;
};

/* Protects veil_guest_zmms. */
static DEFINE_MUTEX(veil_guest_zmm_lock);
static LIST_HEAD(veil_guest_zmms);
static atomic64_t veil_guest_zeroed = ATOMIC64_INIT(0);

/*
 * An anonymous 4 KiB page mapped mapcount times and referenced only by its
 * mappings and the refs the caller knows of.  A page not yet on the LRU
 * may also be referenced by a per-CPU LRU batch.
 */
static bool veil_guest_zeroable(struct page *page, int mapcount, int refs)
{
	struct folio *folio = page_folio(page);

	if (!PageAnon(page) || folio_test_large(folio) || folio_test_swapcache(folio))
		return false;
	if (!folio_test_lru(folio))
		refs++;
	return veil_guest_page_mapcount(page) == mapcount && folio_ref_count(folio) <= refs;
}

static void veil_guest_zero_page(struct page *page)
{
	clear_highpage(page);
	atomic64_inc(&veil_guest_zeroed);
}

struct veil_guest_hold_walk {
	struct veil_guest_walker w;
	struct veil_guest_zmm *z;
};

static void veil_guest_hold_pte(struct veil_guest_walker *w, unsigned long pfn)
{
	struct veil_guest_zmm *z = container_of(w, struct veil_guest_hold_walk, w)->z;
	struct page *page = pfn_to_page(pfn);

	if (z->nr_held == z->cap || !PageAnon(page) || PageCompound(page))
		return;
	if (!get_page_unless_zero(page))
		return;
	z->held[z->nr_held++] = page;
}

static int veil_guest_zmm_start(struct mmu_notifier *mn,
				const struct mmu_notifier_range *range)
{
	struct veil_guest_zmm *z = container_of(mn, struct veil_guest_zmm, mn);
	struct veil_guest_hold_walk hw = { .w = { .pte = veil_guest_hold_pte }, .z = z };
	unsigned long pages = (range->end - range->start) >> PAGE_SHIFT;
	struct page **held;

	if (range->event != MMU_NOTIFY_UNMAP || !READ_ONCE(zero_freed) || !pages)
		return 0;
	/* Bounded: of a larger unmap, only the first 8192 pages are zeroed. */
	pages = min(pages, 8192UL);
	held = kvmalloc_array(pages, sizeof(*held), GFP_NOWAIT | __GFP_NOWARN);
	if (!held) {
		pr_warn_ratelimited("no memory to zero %lu unmapped pages\n", pages);
		return 0;
	}
	spin_lock(&z->lock);
	if (z->busy) {
		spin_unlock(&z->lock);
		kvfree(held);
		return 0;
	}
	z->busy = true;
	z->held = held;
	z->cap = pages;
	z->nr_held = 0;
	spin_unlock(&z->lock);
	veil_guest_walk_range(range->mm, range->start, range->end, &hw.w);
	return 0;
}

static void veil_guest_zmm_end(struct mmu_notifier *mn,
			       const struct mmu_notifier_range *range)
{
	struct veil_guest_zmm *z = container_of(mn, struct veil_guest_zmm, mn);
	struct page **held;
	unsigned int i, nr;

	if (range->event != MMU_NOTIFY_UNMAP)
		return;
	spin_lock(&z->lock);
	if (!z->busy) {
		spin_unlock(&z->lock);
		return;
	}
	held = z->held;
	nr = z->nr_held;
	z->held = NULL;
	z->nr_held = 0;
	z->busy = false;
	spin_unlock(&z->lock);
	for (i = 0; i < nr; i++) {
		/* Unmapped: the unmap's pending free and our reference remain. */
		if (veil_guest_zeroable(held[i], 0, 2))
			veil_guest_zero_page(held[i]);
		put_page(held[i]);
	}
	kvfree(held);
}

static void veil_guest_exit_pte(struct veil_guest_walker *w, unsigned long pfn)
{
	struct page *page = pfn_to_page(pfn);

	if (veil_guest_zeroable(page, 1, 1))
		veil_guest_zero_page(page);
}

static void veil_guest_zmm_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct veil_guest_walker w = { .pte = veil_guest_exit_pte };

	/* Also called by mmu_notifier_unregister() on a live mm: not an exit. */
	if (atomic_read(&mm->mm_users) || !READ_ONCE(zero_freed))
		return;
	veil_guest_walk_range(mm, 0, TASK_SIZE_MAX, &w);
}

static const struct mmu_notifier_ops veil_guest_zmm_ops = {
	.release = veil_guest_zmm_release,
	.invalidate_range_start = veil_guest_zmm_start,
	.invalidate_range_end = veil_guest_zmm_end,
};

/* Starts zeroing what mm frees, once per mm; forgets mms that are gone. */
void veil_guest_zero_track(struct mm_struct *mm)
{
	struct veil_guest_zmm *z, *tmp;
	LIST_HEAD(dead);

	mutex_lock(&veil_guest_zmm_lock);
	list_for_each_entry_safe(z, tmp, &veil_guest_zmms, node) {
		if (z->mm == mm) {
			mm = NULL;
			continue;
		}
		if (!atomic_read(&z->mm->mm_users))
			list_move(&z->node, &dead);
	}
	if (mm) {
		z = kzalloc(sizeof(*z), GFP_KERNEL);
		if (z) {
			z->mn.ops = &veil_guest_zmm_ops;
			z->mm = mm;
			spin_lock_init(&z->lock);
			if (mmu_notifier_register(&z->mn, mm))
				kfree(z);
			else
				list_add(&z->node, &veil_guest_zmms);
		}
	}
	mutex_unlock(&veil_guest_zmm_lock);
	list_for_each_entry_safe(z, tmp, &dead, node) {
		mmu_notifier_unregister(&z->mn, z->mm);
		kfree(z);
	}
}

void veil_guest_zero_untrack_all(void)
{
	struct veil_guest_zmm *z, *tmp;

	mutex_lock(&veil_guest_zmm_lock);
	list_for_each_entry_safe(z, tmp, &veil_guest_zmms, node) {
		list_del(&z->node);
		mmu_notifier_unregister(&z->mn, z->mm);
		kfree(z);
	}
	mutex_unlock(&veil_guest_zmm_lock);
	pr_info("zeroed %lld pages freed by excluded processes\n",
		(long long)atomic64_read(&veil_guest_zeroed));
}
