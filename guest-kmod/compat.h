/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Differences between the kernels veil_guest builds for (6.1 and 6.12), and
 * nowhere else.
 */
#ifndef _VEIL_GUEST_COMPAT_H
#define _VEIL_GUEST_COMPAT_H

#include <linux/version.h>
#include <linux/sched.h>

/* The task's FPU state moved out of thread_struct in 6.15. */
static inline struct fpu *veil_guest_task_fpu(struct task_struct *tsk)
{
	return &tsk->thread.fpu;
}

/* page_mapcount() is gone in 6.12; folio_mapcount() is not exported in 6.1. */
#include <linux/mm.h>

/* 6.1 -> 601, 6.12 -> 612 */
#define VEIL_GUEST_KERNEL	(LINUX_VERSION_MAJOR * 100 + LINUX_VERSION_PATCHLEVEL)

#if (VEIL_GUEST_KERNEL >= 612)
static inline int veil_guest_page_mapcount(struct page *page)
{
	return folio_mapcount(page_folio(page));
}

/* Mappings of the whole folio: each PTE and each PMD or PUD mapping one. */
static inline int veil_guest_folio_mapcount(struct folio *folio)
{
	return folio_mapcount(folio);
}
#else
static inline int veil_guest_page_mapcount(struct page *page)
{
	return page_mapcount(page);
}

/*
 * 6.1 counts a large folio's mappings in two places: its entire mapcount
 * (PMD mappings) and each page's own _mapcount (PTE mappings, plus, for
 * file folios and double-mapped anonymous ones, one per PMD mapping).
 */
static inline int veil_guest_folio_mapcount(struct folio *folio)
{
	int entire, sum, i, nr;

	if (likely(!folio_test_large(folio)))
		return atomic_read(&folio->_mapcount) + 1;
	entire = folio_entire_mapcount(folio);
	if (folio_test_hugetlb(folio))
		return entire;
	nr = folio_nr_pages(folio);
	sum = entire;
	for (i = 0; i < nr; i++)
		sum += atomic_read(&folio_page(folio, i)->_mapcount) + 1;
	if (!folio_test_anon(folio))
		return sum - entire * nr;
	if (folio_test_double_map(folio))
		sum -= nr;
	return sum;
}
#endif

/*
 * Swap entries in the page tables of mm.  Since 6.2 the counter is per CPU
 * and its cheap read misses what is still batched on each CPU: sum it.
 */
#if (VEIL_GUEST_KERNEL >= 602)
static inline long veil_guest_mm_swapents(struct mm_struct *mm)
{
	return percpu_counter_sum_positive(&mm->rss_stat[MM_SWAPENTS]);
}
#else
static inline long veil_guest_mm_swapents(struct mm_struct *mm)
{
	return get_mm_counter(mm, MM_SWAPENTS);
}
#endif

/* get_user_pages_remote() lost its vmas argument in 6.5. */
#if (VEIL_GUEST_KERNEL >= 605)
static inline long veil_guest_gup_remote(struct mm_struct *mm, unsigned long addr,
					 unsigned int gup_flags, struct page **page)
{
	return get_user_pages_remote(mm, addr, 1, gup_flags, page, NULL);
}
#else
static inline long veil_guest_gup_remote(struct mm_struct *mm, unsigned long addr,
					 unsigned int gup_flags, struct page **page)
{
	return get_user_pages_remote(mm, addr, 1, gup_flags, page, NULL, NULL);
}
#endif

/*
 * fsnotify: the object a mark is found on, and the group flag that makes
 * its lock safe against reclaim (always so in 6.12).
 */
#include <linux/fsnotify_backend.h>

#if (VEIL_GUEST_KERNEL >= 612)
static inline struct fsnotify_mark *
veil_guest_find_inode_mark(struct inode *inode, struct fsnotify_group *g)
{
	return fsnotify_find_inode_mark(inode, g);
}

static inline struct fsnotify_group *
veil_guest_alloc_group(const struct fsnotify_ops *ops)
{
	return fsnotify_alloc_group(ops, 0);
}
#else
static inline struct fsnotify_mark *
veil_guest_find_inode_mark(struct inode *inode, struct fsnotify_group *g)
{
	return fsnotify_find_mark(&inode->i_fsnotify_marks, g);
}

static inline struct fsnotify_group *
veil_guest_alloc_group(const struct fsnotify_ops *ops)
{
	return fsnotify_alloc_group(ops, FSNOTIFY_GROUP_NOFS);
}
#endif

/*
 * What madvise(MADV_FREE) marks a folio lazily free with; its first
 * argument is the folio's head page either way.
 */
#if (VEIL_GUEST_KERNEL >= 612)
#define VEIL_GUEST_LAZYFREE_FN	"folio_mark_lazyfree"	/* (folio) */
#else
#define VEIL_GUEST_LAZYFREE_FN	"mark_page_lazyfree"	/* (page) */
#endif

#endif /* _VEIL_GUEST_COMPAT_H */
