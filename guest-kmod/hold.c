// SPDX-License-Identifier: GPL-2.0
/*
 * Holds: a reference on every frame and object a published set names, from
 * the moment it is collected until THAW or RESTORE.  A frame nothing holds
 * can be migrated (compaction, NUMA balancing), collapsed into a huge page
 * (khugepaged), merged (KSM), reclaimed or freed and reused between
 * collection and SANITIZE: the host would then zero whatever the frame
 * holds by then, another process's page or a page table, and the moved
 * copy of the secret would stay in the checkpoint.  Each of those paths
 * gives up on a folio whose reference count it cannot account for, and a
 * frame that is freed while held stays ours.
 *
 * Folios are held with one reference each, the pages of socket buffers
 * too; a buffer whose head is a slab object, by a reference on the buffer
 * (see veil_guest_hold_skb()); a key's payload, by a reference on the key
 * (see collect_keys.c); the messages of a POSIX message queue, by a
 * reference on its file (see collect_mqueue.c).
 *
 * When a hold is released and ours was the last reference, the frame has
 * left its owner meanwhile (a page removed from the page cache at
 * PREPARE, a pipe buffer or a socket buffer read, memory the process
 * freed): it is zeroed before it goes back to the allocator, so no copy
 * of the data outlives the checkpoint in free memory.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/highmem.h>
#include <linux/key.h>
#include <linux/mm.h>
#include <linux/rcupdate.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include "veil_guest.h"

#define VEIL_GUEST_HOLDS_MIN	512

void veil_guest_holds_init(struct veil_guest_holds *h)
{
	memset(h, 0, sizeof(*h));
}

static int veil_guest_holds_grow_to(struct veil_guest_holds *h, size_t cap)
{
	bool nosleep = h->nosleep;
	struct folio **f;

	/* As for extent sets: in atomic context only GFP_NOWAIT. */
	if (WARN_ON_ONCE(!nosleep && veil_guest_atomic_context()))
		nosleep = true;
	f = kvmalloc_array(cap, sizeof(*f), nosleep ? GFP_NOWAIT | __GFP_NOWARN : GFP_KERNEL);
	if (!f)
		return -ENOMEM;
	if (h->nr)
		memcpy(f, h->folio, h->nr * sizeof(*f));
	kvfree(h->folio);
	h->folio = f;
	h->cap = cap;
	return 0;
}

/* Room for @more folios, made where sleeping is allowed. */
int veil_guest_holds_reserve(struct veil_guest_holds *h, size_t more)
{
	size_t cap = h->cap ? h->cap : VEIL_GUEST_HOLDS_MIN;

	if (h->error)
		return h->error;
	if (h->nr + more <= h->cap)
		return 0;
	while (cap < h->nr + more)
		cap *= 2;
	h->error = veil_guest_holds_grow_to(h, cap);
	return h->error;
}

/* Takes over one reference on @folio, added even if held already. */
void veil_guest_holds_add(struct veil_guest_holds *h, struct folio *folio)
{
	if (!h->error && h->nr == h->cap)
		h->error = veil_guest_holds_grow_to(h, h->cap ? 2 * h->cap :
						    VEIL_GUEST_HOLDS_MIN);
	if (h->error) {
		folio_put(folio);
		return;
	}
	h->folio[h->nr++] = folio;
}

/*
 * Takes over one reference on @folio that the caller holds.  A folio held
 * already (the last one added: consecutive pages of a large folio) is
 * not added twice.  If there is no room, the reference is dropped and the
 * error is sticky: the collection then fails rather than publish a frame
 * nothing holds.
 */
void veil_guest_hold_folio(struct veil_guest_holds *h, struct folio *folio)
{
	if (h->nr && h->folio[h->nr - 1] == folio) {
		folio_put(folio);
		return;
	}
	veil_guest_holds_add(h, folio);
}

/* A reference of our own on @page's folio, held like the above. */
void veil_guest_hold_page(struct veil_guest_holds *h, struct page *page)
{
	struct folio *folio = page_folio(page);

	folio_get(folio);
	veil_guest_hold_folio(h, folio);
}

/*
 * Room for one more pointer in *@arr, which holds @nr of *@cap, grown
 * without sleeping (callers run under a queue's lock or RCU); a failure
 * is sticky, as for folios.
 */
static bool veil_guest_ptrs_room(struct veil_guest_holds *h, void ***arr,
				 size_t nr, size_t *cap, size_t first)
{
	size_t want = *cap ? 2 * *cap : first;
	void **grown;

	if (nr < *cap)
		return true;
	grown = kvmalloc_array(want, sizeof(*grown), GFP_ATOMIC | __GFP_NOWARN);
	if (!grown) {
		h->error = -ENOMEM;
		return false;
	}
	if (nr)
		memcpy(grown, *arr, nr * sizeof(*grown));
	kvfree(*arr);
	*arr = grown;
	*cap = want;
	return true;
}

/*
 * A clone of the buffer @skb, kept with the holds: it shares the data, so
 * the head stays allocated until the clone goes too, whoever frees @skb
 * and however (TCP frees the buffers it has read, collapsed or pruned
 * whatever their users count, but a clone's data only with the clone).
 */
struct sk_buff *veil_guest_skb_hold(struct sk_buff *skb)
{
	return skb_clone(skb, GFP_ATOMIC | __GFP_NOWARN);
}

static bool veil_guest_hold_skb_ref(struct veil_guest_holds *h, struct sk_buff *skb)
{
	struct sk_buff *clone;

	if (!veil_guest_ptrs_room(h, &h->skb, h->nr_skb, &h->cap_skb, 64))
		return false;
	clone = veil_guest_skb_hold(skb);
	if (!clone) {
		h->error = -ENOMEM;
		return false;
	}
	h->skb[h->nr_skb++] = clone;
	return true;
}

/*
 * Holds the data of @skb (under its queue's lock; nothing here sleeps):
 * the pages of its fragments, and of its head where the head is a page
 * fragment, by page references; a head from the slab by a clone of the
 * buffer.  @slab_head_ok: whether the head may be held so (TCP's send
 * queues: their heads carry headers only, and cloning their buffers
 * would make TCP copy them to send them).  Returns whether the head is
 * held and may be published; the fragments always are.
 */
bool veil_guest_hold_skb(struct veil_guest_holds *h, struct sk_buff *skb,
			 bool slab_head_ok)
{
	const struct skb_shared_info *shinfo = skb_shinfo(skb);
	unsigned int i;

	for (i = 0; i < shinfo->nr_frags; i++) {
		struct page *page = skb_frag_page(&shinfo->frags[i]);

		if (page)
			veil_guest_hold_page(h, page);
	}
	if (skb->head_frag) {
		veil_guest_hold_page(h, virt_to_head_page(skb->head));
		return true;
	}
	return slab_head_ok && veil_guest_hold_skb_ref(h, skb);
}

/*
 * A reference on @key, kept with the holds, unless it is going away
 * already; under RCU (nothing here sleeps).  Returns whether it is held.
 */
bool veil_guest_hold_key(struct veil_guest_holds *h, struct key *key)
{
	if (!veil_guest_ptrs_room(h, &h->key, h->nr_key, &h->cap_key, 16))
		return false;
	if (!refcount_inc_not_zero(&key->usage))
		return false;
	h->key[h->nr_key++] = key;
	return true;
}

/*
 * A reference on @file, kept with the holds; nothing here sleeps.
 * Returns whether it is held.
 */
bool veil_guest_hold_file(struct veil_guest_holds *h, struct file *file)
{
	if (!veil_guest_ptrs_room(h, &h->file, h->nr_file, &h->cap_file, 16))
		return false;
	h->file[h->nr_file++] = get_file(file);
	return true;
}

/*
 * Drops our reference on @folio; when veil's @refs references (ours
 * included) are all it has, the frame left its owners meanwhile, and is
 * zeroed first.  Returns whether it was.
 */
bool veil_guest_folio_put_zeroed_refs(struct folio *folio, int refs)
{
	bool last = folio_ref_count(folio) <= refs;
	long i;

	if (last) {
		for (i = 0; i < folio_nr_pages(folio); i++)
			clear_highpage(folio_page(folio, i));
	}
	folio_put(folio);
	return last;
}

bool veil_guest_folio_put_zeroed(struct folio *folio)
{
	return veil_guest_folio_put_zeroed_refs(folio, 1);
}

/*
 * Zeroes and lets go of each folio of @xa (one reference held on each, by
 * PFN) that nothing but veil references any more: nothing but us, or us
 * and another of veil's keepers where @kept_too says it holds the folio
 * too (each waits for the other otherwise).  With @all, lets go of every
 * one, zeroed only if veil's are its last references.  Only the sweep that
 * takes a folio out of @xa drops the reference.  Returns whether any is
 * left.
 */
bool veil_guest_folios_sweep(struct xarray *xa, bool all,
			     bool (*kept_too)(struct folio *folio))
{
	struct folio *folio;
	unsigned long pfn;
	int refs;

	xa_for_each(xa, pfn, folio) {
		refs = 1 + (kept_too && kept_too(folio));
		if ((all || folio_ref_count(folio) <= refs) && xa_erase(xa, pfn) == folio)
			veil_guest_folio_put_zeroed_refs(folio, refs);
	}
	return !xa_empty(xa);
}

/* Zeroes @len bytes at @off in the (perhaps compound) page @page. */
void veil_guest_zero_page_bytes(struct page *page, unsigned int off, unsigned int len)
{
	unsigned int n;
	void *va;

	page = nth_page(page, off >> PAGE_SHIFT);
	off &= ~PAGE_MASK;
	for (; len; page = nth_page(page, 1), off = 0, len -= n) {
		n = min_t(unsigned int, len, PAGE_SIZE - off);
		va = kmap_local_page(page);
		memzero_explicit(va + off, n);
		kunmap_local(va);
	}
}

/*
 * The data of a buffer its socket has let go of: the head, and each
 * fragment whose page nothing else references (a page another holder has
 * is zeroed, if at all, when that holder lets go of it).
 */
static void veil_guest_skb_zero(struct sk_buff *skb, int depth)
{
	const struct skb_shared_info *shinfo = skb_shinfo(skb);
	struct sk_buff *frag;
	unsigned int i;

	memzero_explicit(skb->head, skb_end_offset(skb));
	for (i = 0; i < shinfo->nr_frags; i++) {
		const skb_frag_t *f = &shinfo->frags[i];
		struct page *page = skb_frag_page(f);

		if (page && page_count(page) == 1)
			veil_guest_zero_page_bytes(page, skb_frag_off(f), skb_frag_size(f));
	}
	if (depth)
		return;
	skb_walk_frags(skb, frag) {
		if (refcount_read(&frag->users) == 1 && !skb_cloned(frag))
			veil_guest_skb_zero(frag, depth + 1);
	}
}

/*
 * The page of a buffer's fragment @f, or NULL when it is empty or a page
 * of a file or process (spliced in from the page cache or a process's
 * memory): that data is theirs, not the buffer's.  A slab page (the
 * kernel puts none in fragments) is not the buffer's to keep either.
 */
static struct page *veil_guest_skb_frag_own(const skb_frag_t *f)
{
	struct page *page = skb_frag_page(f);
	struct folio *folio;

	if (!page || !skb_frag_size(f))
		return NULL;
	folio = page_folio(page);
	if (READ_ONCE(folio->mapping) || folio_test_lru(folio) || folio_test_slab(folio))
		return NULL;
	return page;
}

/*
 * The bytes of a buffer its socket is about to free unread: the data in
 * its head, and its fragments in pages of no file or process.  A buffer
 * that shares its data with a clone (a packet tap's, a sender's copy not
 * acknowledged yet, one veil_guest_skb_hold() holds) is left alone, as is
 * a fragment spliced in from the page cache or a process's memory.  The
 * caller keeps @skb and its queue from changing.
 */
void veil_guest_skb_zero_unread(struct sk_buff *skb, int depth)
{
	const struct skb_shared_info *shinfo = skb_shinfo(skb);
	struct sk_buff *frag;
	unsigned int i;

	if (skb_cloned(skb))
		return;
	memzero_explicit(skb->data, skb_headlen(skb));
	for (i = 0; i < shinfo->nr_frags; i++) {
		const skb_frag_t *f = &shinfo->frags[i];
		struct page *page = veil_guest_skb_frag_own(f);

		if (page)
			veil_guest_zero_page_bytes(page, skb_frag_off(f), skb_frag_size(f));
	}
	if (depth)
		return;
	skb_walk_frags(skb, frag)
		veil_guest_skb_zero_unread(frag, depth + 1);
}

/*
 * A buffer an excluded process has just read all the data of, which its
 * socket lets go of: the data would go back to the allocator with it.  A
 * head in a page that others may reference (a page fragment), and every
 * fragment's page (one that splice put into a pipe, or that TCP zerocopy
 * receive mapped into the reader, among them), is kept, and zeroed once
 * veil's is its last reference (zero_frag.c): whoever else holds it, a
 * clone of the buffer included, reads it whole until then.  A head of
 * the buffer's own (kmalloc'ed: splice copies such a head, it never
 * hands it on) is zeroed now, unless a clone or a peek shares it: that
 * one goes with its data.  Called as the reader lets go (@skb has one
 * user) or from its destructor (one, or none when the last of several
 * put it).  Fragments in pages of a file or process are left alone.
 */
void veil_guest_skb_zero_read(struct sk_buff *skb, int depth)
{
	const struct skb_shared_info *shinfo = skb_shinfo(skb);
	struct sk_buff *frag;
	unsigned int i;

	if (skb->head_frag)
		veil_guest_frag_keep(virt_to_head_page(skb->head));
	else if (!skb_cloned(skb) && refcount_read(&skb->users) <= 1)
		memzero_explicit(skb->data, skb_headlen(skb));
	for (i = 0; i < shinfo->nr_frags; i++) {
		struct page *page = veil_guest_skb_frag_own(&shinfo->frags[i]);

		if (page)
			veil_guest_frag_keep(page);
	}
	if (depth)
		return;
	skb_walk_frags(skb, frag)
		veil_guest_skb_zero_read(frag, depth + 1);
}

/*
 * Drops our clone @skb (veil_guest_skb_hold()); when it is the last
 * buffer with its data (the socket let go of the original meanwhile:
 * read, or purged), the data is zeroed first.  Returns whether it was.
 */
bool veil_guest_skb_put_zeroed(struct sk_buff *skb)
{
	bool last = !skb_cloned(skb);

	if (last)
		veil_guest_skb_zero(skb, 0);
	consume_skb(skb);
	return last;
}

static size_t veil_guest_holds_put(struct veil_guest_holds *h, bool zero)
{
	size_t i, nr = h->nr;

	/* Paused pipes and peers get their buffers back. */
	veil_guest_pipes_resume(h);
	veil_guest_unix_resume(h);
	/*
	 * Buffers first: a buffer read meanwhile lets go of its fragments'
	 * pages now, so that ours are their last references below.
	 */
	for (i = 0; i < h->nr_skb; i++) {
		if (zero)
			veil_guest_skb_put_zeroed(h->skb[i]);
		else
			consume_skb(h->skb[i]);
	}
	kvfree(h->skb);
	h->skb = NULL;
	h->nr_skb = 0;
	h->cap_skb = 0;
	for (i = 0; i < h->nr; i++) {
		if (zero)
			veil_guest_folio_put_zeroed(h->folio[i]);
		else
			folio_put(h->folio[i]);
		if (!(i & 1023))
			cond_resched();
	}
	kvfree(h->folio);
	h->folio = NULL;
	h->nr = 0;
	h->cap = 0;
	h->error = 0;
	/* A key of a process killed meanwhile is destroyed, its payload wiped. */
	for (i = 0; i < h->nr_key; i++)
		key_put(h->key[i]);
	kvfree(h->key);
	h->key = NULL;
	h->nr_key = 0;
	h->cap_key = 0;
	for (i = 0; i < h->nr_file; i++)
		fput(h->file[i]);
	kvfree(h->file);
	h->file = NULL;
	h->nr_file = 0;
	h->cap_file = 0;
	return nr;
}

/*
 * Drops every hold, zeroing the frames that ours kept from being freed;
 * returns how many folios were held.
 */
size_t veil_guest_holds_release(struct veil_guest_holds *h)
{
	return veil_guest_holds_put(h, true);
}

/* Drops every hold of a set that was never published. */
void veil_guest_holds_drop(struct veil_guest_holds *h)
{
	veil_guest_holds_put(h, false);
}
