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
 * - MADV_FREE: the folios stay mapped, marked lazily free, and reclaim
 *   discards them later from its own context, data and all, to the free
 *   lists.  A kprobe on the function that marks them (compat.h names it),
 *   called inside madvise() once the page table entry is clean, zeroes a
 *   folio an excluded process marks if it is the process's alone: mapped
 *   by it only and referenced by nothing but its mappings (and the
 *   notifier's hold on the range), as reclaim needs to discard it.
 *   MADV_FREE lets the process find either its old data or zeros there
 *   until it writes again, and a write after madvise() returns is kept as
 *   before.
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
#include <linux/kprobes.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/module.h>
#include <linux/rculist.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "compat.h"
#include "veil_guest.h"

static bool zero_freed = true;
module_param(zero_freed, bool, 0644);
MODULE_PARM_DESC(zero_freed,
		 "Zero the anonymous memory excluded processes unmap, give back (MADV_DONTNEED, MADV_FREE) or leave at exit, what they were sent on UNIX, TCP and UDP sockets they close unread, what kernel TLS kept in clear for them at close, and the page fragments they sent from, once freed (default yes)");

/* Whether what excluded processes free is zeroed (the parameter). */
bool veil_guest_zero_freed_on(void)
{
	return READ_ONCE(zero_freed);
}

struct veil_guest_zmm {
	struct mmu_notifier mn;
	struct list_head node;		/* on veil_guest_zmms (RCU) */
	struct list_head dead;		/* on a list of mms to forget */
	struct rcu_head rcu;
	struct mm_struct *mm;
	spinlock_t lock;		/* protects ranges */
	struct list_head ranges;	/* unmaps between start and end */
};

/*
 * The folios one unmap holds, a page of pointers at a time: a page is
 * taken as the walk needs it, so an unmap of any size needs no large
 * allocation, and none that could enter reclaim (see
 * veil_guest_zmm_start()).
 */
struct veil_guest_zchunk {
	struct veil_guest_zchunk *next;
	unsigned long nr;
	struct folio *folio[];
};

#define VEIL_GUEST_ZCHUNK_NR \
	((PAGE_SIZE - sizeof(struct veil_guest_zchunk)) / sizeof(struct folio *))

/* One unmap in flight: the folios of its range, each referenced. */
struct veil_guest_zrange {
	struct list_head node;
	const struct mmu_notifier_range *range;
	struct veil_guest_zchunk *chunks;	/* the newest first */
	struct folio *last;			/* the last one held */
	unsigned long missed;			/* not held: no memory */
};

/* Protects changes to veil_guest_zmms; readers may use RCU. */
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

/*
 * Room for one more folio.  Under the page table lock, and possibly inside
 * reclaim: GFP_NOWAIT first, then the atomic reserves, never reclaim.
 */
static bool veil_guest_zrange_room(struct veil_guest_zrange *zr)
{
	struct veil_guest_zchunk *ch = zr->chunks;

	if (ch && ch->nr < VEIL_GUEST_ZCHUNK_NR)
		return true;
	ch = (void *)__get_free_page(GFP_NOWAIT | __GFP_NOWARN);
	if (!ch)
		ch = (void *)__get_free_page(GFP_ATOMIC | __GFP_NOWARN);
	if (!ch)
		return false;
	ch->nr = 0;
	ch->next = zr->chunks;
	zr->chunks = ch;
	return true;
}

static void veil_guest_hold_pfn(struct veil_guest_walker *w, unsigned long pfn)
{
	struct veil_guest_zrange *zr = container_of(w, struct veil_guest_hold_walk, w)->zr;
	struct folio *folio;

	folio = veil_guest_walk_get_folio(w, pfn);
	if (!folio)
		return;
	/* Consecutive pages of one large folio: held once. */
	if (!folio_test_anon(folio) || zr->last == folio) {
		folio_put(folio);
		return;
	}
	if (!veil_guest_zrange_room(zr)) {
		zr->missed += folio_nr_pages(folio);
		folio_put(folio);
		return;
	}
	zr->chunks->folio[zr->chunks->nr++] = folio;
	zr->last = folio;
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

/*
 * invalidate_range_start() runs inside reclaim too (reclaim unmaps the
 * pages it takes), so nothing here may allocate with reclaim, blockable
 * range or not: lockdep knows that order and reports the inversion.  The
 * range record and its chunks are allocated without it; what cannot be
 * held for want of memory is counted and said.
 */
static int veil_guest_zmm_start(struct mmu_notifier *mn,
				const struct mmu_notifier_range *range)
{
	struct veil_guest_zmm *z = container_of(mn, struct veil_guest_zmm, mn);
	struct veil_guest_hold_walk hw = {
		.w = { .pte = veil_guest_hold_pfn, .leaf = veil_guest_hold_leaf },
	};
	unsigned long pages = (range->end - range->start) >> PAGE_SHIFT;
	struct veil_guest_zrange *zr;

	if (!READ_ONCE(zero_freed) || !pages || !veil_guest_zero_event(range))
		return 0;
	zr = kzalloc(sizeof(*zr), GFP_NOWAIT | __GFP_NOWARN);
	if (!zr) {
		pr_warn_ratelimited("no memory to zero %lu unmapped pages\n", pages);
		return 0;
	}
	zr->range = range;
	hw.zr = zr;
	veil_guest_walk_range(range->mm, range->start, range->end, &hw.w);
	if (zr->missed)
		pr_warn_ratelimited("no memory to zero %lu of %lu unmapped pages\n",
				    zr->missed, pages);
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
	struct veil_guest_zchunk *ch;
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
	while ((ch = found->chunks)) {
		for (i = 0; i < ch->nr; i++) {
			/* Unmapped: the unmap's pending free and our reference remain. */
			if (veil_guest_zeroable(ch->folio[i], 0, 2))
				veil_guest_zero_folio(ch->folio[i]);
			folio_put(ch->folio[i]);
		}
		found->chunks = ch->next;
		free_page((unsigned long)ch);
	}
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

/*
 * Whether a notifier of ours watches @mm, under RCU.  Its
 * invalidate_range_start() then holds every anonymous folio of a range the
 * process zaps, MADV_FREE's included, until the range ends: one more
 * reference on such a folio is ours.  A notifier is registered with the
 * mmap lock held for writing, so none appears inside a madvise().
 */
static bool veil_guest_zmm_watches(struct mm_struct *mm)
{
	struct veil_guest_zmm *z;

	list_for_each_entry_rcu(z, &veil_guest_zmms, node)
		if (z->mm == mm)
			return true;
	return false;
}

/*
 * VEIL_GUEST_LAZYFREE_FN (compat.h), under the page table lock of the
 * madvise(MADV_FREE) that marks the folio, with its head page first.
 */
static int veil_guest_lazyfree_hit(struct kprobe *kp, struct pt_regs *regs)
{
	struct page *page = (struct page *)regs_get_kernel_argument(regs, 0);
	struct folio *folio;
	bool excluded, held;
	int maps;

	if (!page || !READ_ONCE(zero_freed) || (current->flags & PF_KTHREAD))
		return 0;
	rcu_read_lock();
	excluded = veil_guest_sel_excludes_rcu(current);
	held = excluded && veil_guest_zmm_watches(current->mm);
	rcu_read_unlock();
	if (!excluded)
		return 0;
	folio = page_folio(page);
	/*
	 * Mapped once (a page, or a huge page by its PMD) or page by page:
	 * MADV_FREE marks a large folio only when the range maps all of it,
	 * so a mapcount of its size is this process's mappings alone, each
	 * holding a reference.
	 */
	maps = veil_guest_folio_mapcount(folio) == 1 ? 1 : folio_nr_pages(folio);
	/* KSM's stable tree is sorted by the content of the pages it keeps. */
	if (!folio_test_ksm(folio) && veil_guest_zeroable(folio, maps, maps + held))
		veil_guest_zero_folio(folio);
	return 0;
}

VEIL_GUEST_PROBE(veil_guest_lazyfree_probes, VEIL_GUEST_LAZYFREE_FN, veil_guest_lazyfree_hit,
		 "memory excluded processes give back with MADV_FREE is not zeroed");

/* At the first exclusion: watch MADV_FREE from then on. */
void veil_guest_zero_arm(void)
{
	veil_guest_probes_arm(&veil_guest_lazyfree_probes);
	veil_guest_frag_arm();
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
		if (!atomic_read(&z->mm->mm_users)) {
			list_del_rcu(&z->node);
			list_add(&z->dead, &dead);
		}
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
				list_add_rcu(&z->node, &veil_guest_zmms);
		}
	}
	mutex_unlock(&veil_guest_zmm_lock);
	list_for_each_entry_safe(z, tmp, &dead, dead) {
		mmu_notifier_unregister(&z->mn, z->mm);
		kfree_rcu(z, rcu);
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

	veil_guest_probes_disarm(&veil_guest_lazyfree_probes);
	veil_guest_frag_exit();

	/* No exec is tracked any more: then the queued ones are done. */
	spin_lock_irqsave(&veil_guest_zexec_lock, flags);
	veil_guest_zstopping = true;
	spin_unlock_irqrestore(&veil_guest_zexec_lock, flags);
	if (veil_guest_zwq)
		destroy_workqueue(veil_guest_zwq);
	veil_guest_zwq = NULL;

	mutex_lock(&veil_guest_zmm_lock);
	list_for_each_entry_safe(z, tmp, &veil_guest_zmms, node) {
		list_del_rcu(&z->node);
		mmu_notifier_unregister(&z->mn, z->mm);
		kfree_rcu(z, rcu);
	}
	mutex_unlock(&veil_guest_zmm_lock);
	pr_info("zeroed %lld pages freed by excluded processes\n",
		(long long)atomic64_read(&veil_guest_zeroed));
}
