// SPDX-License-Identifier: GPL-2.0
/*
 * Pages that other processes may map too.  An anonymous page still shared
 * copy-on-write with the parent that forked an excluded process, a KSM
 * page, or a page of a shared mapping can be mapped by processes outside
 * the excluded set: zeroing it in a checkpoint zeroes their memory too (a
 * root daemon's, when an unprivileged user excluded a child of it).  So a
 * page mapped more than once is counted here, once for every mapping the
 * walks of the collected address spaces find (each space walked once),
 * and published only when that is all of its mappings: every process that
 * maps it is frozen with the excluded ones.  The others are left out and
 * counted.  Exact for order-0 pages, whose map count is their own on both
 * kernels; a large folio's is the whole folio's, so those are taken as
 * before.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include "compat.h"
#include "veil_guest.h"

struct veil_guest_shared {
	struct xarray pages;		/* pfn -> mappings seen, as a value */
	struct mm_struct **mms;		/* walked whole; each held by mmgrab() */
	unsigned int nr_mms, cap_mms;
};

static void veil_guest_shared_release(struct veil_guest_collect *c)
{
	struct veil_guest_shared *s = c->shared;
	unsigned int i;

	if (!s)
		return;
	xa_destroy(&s->pages);
	for (i = 0; i < s->nr_mms; i++)
		mmdrop(s->mms[i]);
	kfree(s->mms);
	kfree(s);
	c->shared = NULL;
}

/*
 * Before a walk of @mm (@whole: all of it, else a range libveil protects):
 * sets *@count when the walk is to count the mappings it finds, which a
 * range of a space walked whole does not (they are counted already).
 * Returns 1 for a space walked whole already (a vfork child, or two
 * selected tasks sharing it): it is not walked again.  Or -ENOMEM.
 */
int veil_guest_shared_begin(struct veil_guest_collect *c, struct mm_struct *mm,
			    bool whole, bool *count)
{
	struct veil_guest_shared *s = c->shared;
	struct mm_struct **mms;
	unsigned int i, cap;

	if (!s) {
		s = kzalloc(sizeof(*s), GFP_KERNEL);
		if (!s)
			return -ENOMEM;
		xa_init(&s->pages);
		c->shared = s;
		c->release = veil_guest_shared_release;
	}
	*count = true;
	for (i = 0; i < s->nr_mms; i++) {
		if (s->mms[i] != mm)
			continue;
		if (whole)
			return 1;
		*count = false;
		return 0;
	}
	if (!whole)
		return 0;
	if (s->nr_mms == s->cap_mms) {
		cap = s->cap_mms ? 2 * s->cap_mms : 16;
		mms = krealloc_array(s->mms, cap, sizeof(*mms), GFP_KERNEL);
		if (!mms)
			return -ENOMEM;
		s->mms = mms;
		s->cap_mms = cap;
	}
	mmgrab(mm);
	s->mms[s->nr_mms++] = mm;
	return 0;
}

/*
 * A mapping of the order-0 page @pfn that is mapped more than once, found
 * by a walk (under RCU: nothing here sleeps).  A failure to count it fails
 * the collection: leaving the page out could leave excluded data in the
 * checkpoint.
 */
void veil_guest_shared_note(struct veil_guest_collect *c, unsigned long pfn)
{
	struct veil_guest_shared *s = c->shared;
	unsigned long n;
	void *old;

	if (WARN_ON_ONCE(!s)) {
		c->shared_error = -EINVAL;
		return;
	}
	old = xa_load(&s->pages, pfn);
	n = old ? xa_to_value(old) : 0;
	old = xa_store(&s->pages, pfn, xa_mk_value(n + 1),
		       GFP_NOWAIT | __GFP_NOWARN);
	if (xa_is_err(old))
		c->shared_error = xa_err(old);
}

/*
 * Once every address space is walked: publishes the counted pages that no
 * process outside the collected ones maps (the excluded processes are
 * frozen, so their mappings stand still; another process may only have
 * unmapped one since, which leaves it ours).
 */
int veil_guest_shared_resolve(struct veil_guest_collect *c)
{
	struct veil_guest_shared *s = c->shared;
	unsigned long pfn, n = 0, seen = 0;
	void *entry;

	if (c->shared_error)
		return c->shared_error;
	if (!s)
		return 0;
	xa_for_each(&s->pages, pfn, entry) {
		if (veil_guest_page_mapcount(pfn_to_page(pfn)) <= xa_to_value(entry))
			veil_guest_add(c, VEIL_GUEST_CAT_ANON, pfn, 1);
		else
			n++;
		if (!(++seen & 1023))
			cond_resched();
	}
	c->shared_out += n;
	if (n && !c->count_only)
		pr_info_ratelimited("%lu frames of excluded processes are also mapped by processes outside the set: they stay in the checkpoint\n",
				    n);
	return 0;
}
