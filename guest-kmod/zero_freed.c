// SPDX-License-Identifier: GPL-2.0
/*
 * Memory an excluded process frees: its anonymous pages are zeroed when
 * they leave it, so that no copy of its data is left in free memory where
 * no collector can find it.  An mmu_notifier on each excluded process's mm
 * sees the ways pages leave:
 *
 * - munmap() (MMU_NOTIFY_UNMAP), and MADV_DONTNEED, MADV_FREE's discard
 *   and the zapping of a range the process asks for itself
 *   (MMU_NOTIFY_CLEAR in its own context): invalidate_range_start() takes
 *   a reference on each anonymous folio of the range, 4 KiB or large;
 *   invalidate_range_end() zeroes those that are then mapped nowhere and
 *   referenced only by the unmap's pending free and us, and drops the
 *   references.  A page mremap() moved is mapped again by then and is left
 *   alone; one in the swap cache or pinned is not freed and is left alone.
 * - exit (release, with no user of the mm left): every anonymous folio
 *   mapped only here and referenced by nothing else is zeroed before the
 *   teardown frees it.  When the release comes from an exec, the new
 *   address space is tracked from then on.
 *
 * Each unmap in flight has its own record, so concurrent ones (threads,
 * the page-table teardown of another) are all seen.  Not zeroed: pages
 * that reclaim or migration take from the process in another context
 * (the notifier cannot tell those from a page that lives on elsewhere; a
 * reference held across them would also change what reclaim does), and
 * pages of processes that joined the selection (by name, cgroup or as
 * descendants) since the last collection.  Zeroing at unmap rather than a
 * global init_on_free: that one is a boot choice, and turning it on at run
 * time would let the page allocator hand out pages freed before as
 * "already zero".
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

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
	spinlock_t lock;		/* protects ranges */
	struct list_head ranges;	/* unmaps between start and end */
};

/* One unmap in flight: the folios of its range, each referenced. */
struct veil_guest_zrange {
	struct list_head node;
	const struct mmu_notifier_range *range;
	struct folio **held;
	unsigned long nr, cap;
};

/* Protects veil_guest_zmms. */
static DEFINE_MUTEX(veil_guest_zmm_lock);
static LIST_HEAD(veil_guest_zmms);
static atomic64_t veil_guest_zeroed = ATOMIC64_INIT(0);

/*
 * After an exec the process goes on in a new address space: a work item
 * tracks that one too.  Protects veil_guest_zwq and veil_guest_zstopping.
 */
static DEFINE_SPINLOCK(veil_guest_zexec_lock);
static struct workqueue_struct *veil_guest_zwq;
static bool veil_guest_zstopping;

struct veil_guest_zexec {
	struct work_struct work;
	struct task_struct *task;
};

/*
 * An anonymous folio mapped mapcount times and referenced only by its
 * mappings and the refs the caller knows of.  A folio not yet on the LRU
 * may also be referenced by a per-CPU LRU batch.  A locked folio is being
 * migrated or reclaimed (migration unmaps it first, under the lock, and
 * copies it after): its content is still needed.
 */
static bool veil_guest_zeroable(struct folio *folio, int mapcount, int refs)
{
	if (!folio_test_anon(folio) || folio_test_swapcache(folio) ||
	    folio_test_hugetlb(folio) || folio_test_locked(folio))
		return false;
	if (!folio_test_lru(folio))
		refs++;
	return veil_guest_folio_mapcount(folio) == mapcount &&
	       folio_ref_count(folio) <= refs;
}

static void veil_guest_zero_folio(struct folio *folio)
{
	long i, n = folio_nr_pages(folio);

	for (i = 0; i < n; i++)
		clear_highpage(folio_page(folio, i));
	atomic64_add(n, &veil_guest_zeroed);
}

struct veil_guest_hold_walk {
	struct veil_guest_walker w;
	struct veil_guest_zrange *zr;
};

static void veil_guest_hold_pfn(struct veil_guest_walker *w, unsigned long pfn)
{
	struct veil_guest_zrange *zr = container_of(w, struct veil_guest_hold_walk, w)->zr;
	struct folio *folio;

	if (zr->nr == zr->cap)
		return;
	folio = veil_guest_walk_get_folio(w, pfn);
	if (!folio)
		return;
	/* Consecutive pages of one large folio: held once. */
	if (!folio_test_anon(folio) ||
	    (zr->nr && zr->held[zr->nr - 1] == folio)) {
		folio_put(folio);
		return;
	}
	zr->held[zr->nr++] = folio;
}

static void veil_guest_hold_leaf(struct veil_guest_walker *w, unsigned long pfn,
				 unsigned long npages)
{
	veil_guest_hold_pfn(w, pfn);
}

/*
 * The ranges whose freed pages are zeroed: an unmap, and a zap the
 * process asked for itself (MADV_DONTNEED, MADV_FREE, ...).  A zap in
 * another context is reclaim, migration or KSM at work.
 */
static bool veil_guest_zero_event(const struct mmu_notifier_range *range)
{
	if (range->event == MMU_NOTIFY_UNMAP)
		return true;
	return range->event == MMU_NOTIFY_CLEAR && current->mm == range->mm;
}

/* Without sleeping, an unmap of more than this many pages is zeroed only so far. */
#define VEIL_GUEST_ZERO_ATOMIC	8192UL

static int veil_guest_zmm_start(struct mmu_notifier *mn,
				const struct mmu_notifier_range *range)
{
	struct veil_guest_zmm *z = container_of(mn, struct veil_guest_zmm, mn);
	struct veil_guest_hold_walk hw = {
		.w = { .pte = veil_guest_hold_pfn, .leaf = veil_guest_hold_leaf },
	};
	unsigned long pages = (range->end - range->start) >> PAGE_SHIFT;
	bool block = mmu_notifier_range_blockable(range);
	gfp_t gfp = block ? GFP_KERNEL : GFP_NOWAIT | __GFP_NOWARN;
	struct veil_guest_zrange *zr;

	if (!READ_ONCE(zero_freed) || !pages || !veil_guest_zero_event(range))
		return 0;
	if (!block)
		pages = min(pages, VEIL_GUEST_ZERO_ATOMIC);
	zr = kmalloc(sizeof(*zr), gfp);
	if (zr)
		zr->held = kvmalloc_array(pages, sizeof(*zr->held), gfp);
	if (!zr || !zr->held) {
		kfree(zr);
		pr_warn_ratelimited("no memory to zero %lu unmapped pages\n", pages);
		return 0;
	}
	zr->range = range;
	zr->nr = 0;
	zr->cap = pages;
	hw.zr = zr;
	veil_guest_walk_range(range->mm, range->start, range->end, &hw.w);
	spin_lock(&z->lock);
	list_add(&zr->node, &z->ranges);
	spin_unlock(&z->lock);
	return 0;
}

static void veil_guest_zmm_end(struct mmu_notifier *mn,
			       const struct mmu_notifier_range *range)
{
	struct veil_guest_zmm *z = container_of(mn, struct veil_guest_zmm, mn);
	struct veil_guest_zrange *zr, *found = NULL;
	unsigned long i;

	spin_lock(&z->lock);
	list_for_each_entry(zr, &z->ranges, node) {
		if (zr->range == range) {
			list_del(&zr->node);
			found = zr;
			break;
		}
	}
	spin_unlock(&z->lock);
	if (!found)
		return;
	for (i = 0; i < found->nr; i++) {
		/* Unmapped: the unmap's pending free and our reference remain. */
		if (veil_guest_zeroable(found->held[i], 0, 2))
			veil_guest_zero_folio(found->held[i]);
		folio_put(found->held[i]);
	}
	kvfree(found->held);
	kfree(found);
}

/*
 * At exit, with nobody else using the mm: a folio this mapping is the only
 * mapping and reference of.  A large folio mapped page by page may be
 * mapped by others too, which one walk cannot tell: it is left alone.
 */
static void veil_guest_exit_pfn(struct veil_guest_walker *w, unsigned long pfn)
{
	struct folio *folio = page_folio(pfn_to_page(pfn));

	if (!folio_test_large(folio) && veil_guest_zeroable(folio, 1, 1))
		veil_guest_zero_folio(folio);
}

static void veil_guest_exit_leaf(struct veil_guest_walker *w, unsigned long pfn,
				 unsigned long npages)
{
	struct folio *folio = page_folio(pfn_to_page(pfn));

	if (veil_guest_zeroable(folio, 1, 1))
		veil_guest_zero_folio(folio);
}

static void veil_guest_zexec_fn(struct work_struct *work)
{
	struct veil_guest_zexec *ze = container_of(work, struct veil_guest_zexec, work);
	struct mm_struct *mm = get_task_mm(ze->task);

	if (mm) {
		veil_guest_zero_track(mm);
		mmput(mm);
	}
	put_task_struct(ze->task);
	kfree(ze);
}

/*
 * The old address space of a process that execs is released in the exec,
 * with current->mm already the new one: track that one from now on.
 */
static void veil_guest_zexec(struct mm_struct *old)
{
	struct veil_guest_zexec *ze;
	unsigned long flags;

	/* Only an exec: the last reference may also go in a /proc reader. */
	if (!current->in_execve || !current->mm || current->mm == old ||
	    (current->flags & PF_KTHREAD))
		return;
	ze = kzalloc(sizeof(*ze), GFP_KERNEL);
	if (!ze)
		return;
	INIT_WORK(&ze->work, veil_guest_zexec_fn);
	ze->task = get_task_struct(current);
	spin_lock_irqsave(&veil_guest_zexec_lock, flags);
	if (!veil_guest_zstopping && veil_guest_zwq) {
		queue_work(veil_guest_zwq, &ze->work);
		ze = NULL;
	}
	spin_unlock_irqrestore(&veil_guest_zexec_lock, flags);
	if (ze) {
		put_task_struct(ze->task);
		kfree(ze);
	}
}

static void veil_guest_zmm_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct veil_guest_walker w = {
		.pte = veil_guest_exit_pfn, .leaf = veil_guest_exit_leaf,
	};

	/* Also called by mmu_notifier_unregister() on a live mm: not an exit. */
	if (atomic_read(&mm->mm_users))
		return;
	veil_guest_zexec(mm);
	if (!READ_ONCE(zero_freed))
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
			INIT_LIST_HEAD(&z->ranges);
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

int veil_guest_zero_init(void)
{
	veil_guest_zwq = alloc_workqueue("veil-guest-zexec", 0, 0);
	return veil_guest_zwq ? 0 : -ENOMEM;
}

void veil_guest_zero_untrack_all(void)
{
	struct veil_guest_zmm *z, *tmp;
	unsigned long flags;

	/* No exec is tracked any more: then the queued ones are done. */
	spin_lock_irqsave(&veil_guest_zexec_lock, flags);
	veil_guest_zstopping = true;
	spin_unlock_irqrestore(&veil_guest_zexec_lock, flags);
	if (veil_guest_zwq)
		destroy_workqueue(veil_guest_zwq);
	veil_guest_zwq = NULL;

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
