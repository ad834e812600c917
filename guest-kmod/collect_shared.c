// SPDX-License-Identifier: GPL-2.0
/*
 * Frames other processes may map too.  An anonymous page still shared
 * copy-on-write with the parent that forked an excluded process, a KSM
 * page, a page of a shared mapping or a library's page cache can be mapped
 * by processes outside the excluded set: zeroing it in a checkpoint zeroes
 * their memory too (a root daemon's, when an unprivileged user excluded a
 * child of it).  So every mapping of such a folio that the walks of the
 * set's address spaces find is noted (each space walked once), with a
 * reference, and the folio is published only when those are all of its
 * mappings: every process that maps it is frozen with the excluded ones.
 * The others are left out and counted ("shared, not protected").  A large
 * folio's map count is the whole folio's, each PTE and each PMD mapping
 * one, which is how the walks count them too.
 *
 * Anonymous folios are decided here; page cache folios are decided by the
 * file pass (collect_file.c), which asks how many mappings of a folio the
 * set has.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/sort.h>

#include "compat.h"
#include "veil_guest.h"

struct veil_guest_shared {
	/* One entry, and one reference, per mapping the walks found. */
	struct veil_guest_holds notes;
	/* After resolve: page cache folios, sorted, with their mappings. */
	struct folio **pc;
	unsigned int *pc_maps;
	size_t nr_pc;
	struct mm_struct **mms;		/* walked whole; each held by mmgrab() */
	unsigned int nr_mms, cap_mms;
};

void veil_guest_shared_release(struct veil_guest_collect *c)
{
	struct veil_guest_shared *s = c->shared;
	unsigned int i;

	if (!s)
		return;
	veil_guest_holds_drop(&s->notes);
	for (i = 0; i < s->nr_pc; i++)
		folio_put(s->pc[i]);
	kvfree(s->pc);
	kvfree(s->pc_maps);
	for (i = 0; i < s->nr_mms; i++)
		mmdrop(s->mms[i]);
	kfree(s->mms);
	kfree(s);
	c->shared = NULL;
}

/*
 * Before a walk of @mm (@whole: all of it, else a range libveil protects):
 * sets *@count when the walk is to note the mappings it finds, which a
 * range of a space walked whole does not (they are noted already).
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
		veil_guest_holds_init(&s->notes);
		c->shared = s;
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

void veil_guest_shared_reserve(struct veil_guest_collect *c, size_t nr)
{
	if (c->shared)
		veil_guest_holds_reserve(&c->shared->notes, nr);
}

void veil_guest_shared_nosleep(struct veil_guest_collect *c, bool nosleep)
{
	if (c->shared)
		c->shared->notes.nosleep = nosleep;
}

/*
 * One mapping of @folio found by a walk (under RCU: nothing here sleeps);
 * takes over the caller's reference.  A failure to note it fails the
 * collection: leaving the folio out could leave excluded data in the
 * checkpoint.
 */
void veil_guest_shared_note(struct veil_guest_collect *c, struct folio *folio)
{
	if (WARN_ON_ONCE(!c->shared)) {
		folio_put(folio);
		c->shared_error = -EINVAL;
		return;
	}
	veil_guest_holds_add(&c->shared->notes, folio);
}

static int veil_guest_cmp_folio(const void *a, const void *b)
{
	unsigned long x = (unsigned long)*(struct folio * const *)a;
	unsigned long y = (unsigned long)*(struct folio * const *)b;

	return x < y ? -1 : x > y;
}

/*
 * Decides an anonymous folio the set maps @maps times: published, with
 * the reference held, when that is every mapping it has (the excluded
 * processes are frozen, so their mappings stand still; another process
 * may only have unmapped it since, which leaves it ours).
 */
static void veil_guest_shared_anon(struct veil_guest_collect *c, struct folio *folio,
				   unsigned int maps)
{
	if (veil_guest_folio_mapcount(folio) <= maps) {
		veil_guest_add(c, VEIL_GUEST_CAT_ANON, folio_pfn(folio),
			       folio_nr_pages(folio));
		veil_guest_hold_folio(&c->holds, folio);
		return;
	}
	c->shared_out += folio_nr_pages(folio);
	folio_put(folio);
}

/*
 * Once every address space is walked: decides the anonymous folios noted,
 * and keeps the page cache folios, one reference each, with the number of
 * mappings the set has of them, for the file pass.
 */
int veil_guest_shared_resolve(struct veil_guest_collect *c)
{
	struct veil_guest_shared *s = c->shared;
	size_t i, j, n = 0;
	u64 out = c->shared_out;
	struct folio *folio;

	if (c->shared_error)
		return c->shared_error;
	if (!s || !s->notes.nr)
		return s ? s->notes.error : 0;
	if (s->notes.error)
		return s->notes.error;
	sort(s->notes.folio, s->notes.nr, sizeof(*s->notes.folio),
	     veil_guest_cmp_folio, NULL);
	s->pc = kvmalloc_array(s->notes.nr, sizeof(*s->pc), GFP_KERNEL);
	s->pc_maps = kvmalloc_array(s->notes.nr, sizeof(*s->pc_maps), GFP_KERNEL);
	if (!s->pc || !s->pc_maps)
		return -ENOMEM;
	for (i = 0; i < s->notes.nr; i = j) {
		folio = s->notes.folio[i];
		for (j = i + 1; j < s->notes.nr && s->notes.folio[j] == folio; j++)
			folio_put(folio);
		if (folio_test_anon(folio) || folio_test_hugetlb(folio)) {
			veil_guest_shared_anon(c, folio, j - i);
		} else {
			s->pc[n] = folio;
			s->pc_maps[n++] = j - i;
		}
		if (!(i & 1023))
			cond_resched();
	}
	/* Every reference moved to c->holds or s->pc, or was dropped. */
	s->notes.nr = 0;
	s->nr_pc = n;
	out = c->shared_out - out;
	if (out && !c->count_only)
		pr_info_ratelimited("%llu frames of excluded processes are also mapped by processes outside the set: they stay in the checkpoint\n",
				    out);
	return c->holds.error;
}

/* The number of mappings of page cache @folio the set's walks found. */
unsigned int veil_guest_shared_maps(struct veil_guest_collect *c, struct folio *folio)
{
	struct veil_guest_shared *s = c->shared;
	size_t lo = 0, hi;

	if (!s)
		return 0;
	hi = s->nr_pc;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->pc[mid] == folio)
			return s->pc_maps[mid];
		if ((unsigned long)s->pc[mid] < (unsigned long)folio)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}
