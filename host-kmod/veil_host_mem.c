// SPDX-License-Identifier: GPL-2.0
/*
 * veil_host: guest memory from outside the VM.  /dev/veil is driven by a
 * management process, not by the VMM, so guest frames are reached through
 * the VM's memslots and the VMM's mm (kvm->mm), never the caller's.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "compat.h"
#include "veil_host.h"

/* Pages pinned at once while copying. */
#define VEIL_HOST_BATCH		256

static bool veil_host_slot_usable(const struct kvm_memory_slot *slot)
{
	/* guest_memfd memory is not in the VMM's mm: out of veil's reach. */
	return slot && !(slot->flags & (KVM_MEM_READONLY | KVM_MEMSLOT_INVALID |
					VEIL_COMPAT_MEM_GUEST_MEMFD));
}

/* Are @npages frames from @gfn all in writable memslots of address space 0? */
bool veil_host_mem_is_ram(struct kvm *kvm, u64 gfn, u64 npages)
{
	struct kvm_memory_slot *slot;
	u64 end = gfn + npages;
	bool ok = true;
	int idx;

	idx = srcu_read_lock(&kvm->srcu);
	while (gfn < end) {
		slot = gfn_to_memslot(kvm, gfn);
		if (!veil_host_slot_usable(slot)) {
			ok = false;
			break;
		}
		gfn = slot->base_gfn + slot->npages;
	}
	srcu_read_unlock(&kvm->srcu, idx);
	return ok;
}

/*
 * KVM's dirty log for frames veil changed.  mark_page_dirty_in_slot() wants
 * a running vCPU; /dev/veil has none, so veil sets the bits of the memslot's
 * bitmap itself, atomically, as KVM does.  A VM with a dirty ring and
 * logging enabled is refused up front (veil_host_mem_check).
 */
static void veil_host_mark_dirty(const struct kvm_memory_slot *slot, u64 gfn,
				 u64 n)
{
	u64 i;

	if (!kvm_slot_dirty_track_enabled(slot) || !slot->dirty_bitmap)
		return;
	for (i = 0; i < n; i++)
		set_bit_le(gfn + i - slot->base_gfn, slot->dirty_bitmap);
}

/*
 * Reads or writes @len bytes at @gpa, inside one frame, through the VMM's
 * mm: /dev/veil runs in the manager, whose own mm (what kvm_read_guest()
 * and kvm_write_guest() use) does not map guest RAM.
 */
static int veil_host_mem_access(struct kvm *kvm, gpa_t gpa, void *data,
				unsigned int len, bool write)
{
	struct kvm_memory_slot *slot;
	unsigned int off = offset_in_page(gpa);
	struct page *page;
	unsigned long hva;
	long got;
	int idx, r = 0;
	void *p;

	if (off + len > PAGE_SIZE)
		return -EINVAL;
	if (!mmget_not_zero(kvm->mm))
		return -ESRCH;
	idx = srcu_read_lock(&kvm->srcu);
	slot = gfn_to_memslot(kvm, gpa >> PAGE_SHIFT);
	if (!veil_host_slot_usable(slot)) {
		r = -EFAULT;
		goto out;
	}
	hva = gfn_to_hva_memslot(slot, gpa >> PAGE_SHIFT);
	mmap_read_lock(kvm->mm);
	got = veil_compat_pin_user_pages_remote(kvm->mm, hva, 1,
						write ? FOLL_WRITE : 0, &page);
	mmap_read_unlock(kvm->mm);
	if (got != 1) {
		r = got < 0 ? got : -EFAULT;
		goto out;
	}
	p = kmap_local_page(page);
	if (write)
		memcpy(p + off, data, len);
	else
		memcpy(data, p + off, len);
	kunmap_local(p);
	if (write) {
		unpin_user_pages_dirty_lock(&page, 1, true);
		veil_host_mark_dirty(slot, gpa >> PAGE_SHIFT, 1);
	} else {
		unpin_user_page(page);
	}
out:
	srcu_read_unlock(&kvm->srcu, idx);
	mmput(kvm->mm);
	return r;
}

int veil_host_mem_read(struct kvm *kvm, gpa_t gpa, void *data, unsigned int len)
{
	return veil_host_mem_access(kvm, gpa, data, len, false);
}

int veil_host_mem_write(struct kvm *kvm, gpa_t gpa, const void *data,
			unsigned int len)
{
	return veil_host_mem_access(kvm, gpa, (void *)data, len, true);
}

/* Before SANITIZE: every frame still in a usable memslot, dirty log writable. */
int veil_host_mem_check(struct kvm *kvm, const struct veil_host_set *set)
{
	struct kvm_memory_slot *slot;
	u64 i, gfn, end;
	int idx, r = 0;

	idx = srcu_read_lock(&kvm->srcu);
	for (i = 0; i < set->nr_extents && !r; i++) {
		gfn = set->ext[i].gfn;
		end = gfn + set->ext[i].npages;
		while (gfn < end) {
			slot = gfn_to_memslot(kvm, gfn);
			if (!veil_host_slot_usable(slot)) {
				r = -EFAULT;
				break;
			}
			if (kvm->dirty_ring_size && kvm_slot_dirty_track_enabled(slot)) {
				r = -EOPNOTSUPP;
				break;
			}
			gfn = slot->base_gfn + slot->npages;
		}
	}
	srcu_read_unlock(&kvm->srcu, idx);
	if (r)
		pr_warn_ratelimited("SANITIZE refused: %s\n", r == -EFAULT ?
				    "an excluded frame left guest RAM" :
				    "the VM logs dirty pages into a ring");
	return r;
}

/* Test hook (fail_pin_batch): the pin batch that fails next, counted from 1. */
static unsigned int veil_host_fail_pin;

void veil_host_mem_fail_pin_batch(unsigned int n)
{
	WRITE_ONCE(veil_host_fail_pin, n);
}

/*
 * Is a frame pinned for reading a hole: the shared zero page or a huge zero
 * page, which the VMM never touched or gave back (as a balloon does)?  It
 * holds nothing, and pinning it for writing would allocate it.  The huge
 * zero page is not exported: it is known by what it is, a compound page
 * neither anonymous nor in a file that reads as zeroes.  Mistaking any
 * other page of zeroes for it is harmless: its frame is zero in the image.
 */
static bool veil_host_page_is_hole(struct page *page)
{
	struct folio *folio = page_folio(page);
	bool zero;
	void *p;

	if (is_zero_pfn(page_to_pfn(page)))
		return true;
	if (!folio_test_large(folio) || folio_test_anon(folio) ||
	    folio_mapping(folio))
		return false;
	p = kmap_local_page(page);
	zero = !memchr_inv(p, 0, PAGE_SIZE);
	kunmap_local(p);
	return zero;
}

/* Unpins the @n entries of @pages that are not holes (NULL). */
void veil_host_mem_unpin(struct page **pages, u64 n, bool dirty)
{
	u64 i = 0, run;

	while (i < n) {
		if (!pages[i]) {
			i++;
			continue;
		}
		for (run = 1; i + run < n && pages[i + run]; run++)
			;
		if (dirty)
			unpin_user_pages_dirty_lock(pages + i, run, true);
		else
			unpin_user_pages(pages + i, run);
		i += run;
	}
}

/*
 * Pins for writing, into @pages, the @n frames at @hva that @pages does not
 * mark as holes (NULL): writing breaks copy-on-write, so that zeroing a
 * frame never reaches a page another mapping shares (a forked VMM's, KSM's
 * or a private file mapping's page cache).
 */
static long veil_host_pin_written(struct mm_struct *mm, unsigned long hva,
				  unsigned long n, struct page **pages)
{
	unsigned long i = 0, run;
	long got;

	while (i < n) {
		if (!pages[i]) {
			i++;
			continue;
		}
		for (run = 1; i + run < n && pages[i + run]; run++)
			;
		unpin_user_pages(pages + i, run);
		got = veil_compat_pin_user_pages_remote(mm, hva + (i << PAGE_SHIFT),
							run, FOLL_WRITE, pages + i);
		if (got != run) {
			/* Nothing of this batch stays pinned. */
			if (got > 0)
				unpin_user_pages(pages + i, got);
			veil_host_mem_unpin(pages, i, false);
			veil_host_mem_unpin(pages + i + run, n - i - run, false);
			return got < 0 ? got : -EFAULT;
		}
		i += run;
	}
	return n;
}

/*
 * Pins up to @n frames at @hva into @pages, no further than the end of the
 * VMA @hva is in (a memslot may span several: the VMM's madvise() and
 * mprotect() split them); returns how many, or an error.  With @holes, a
 * frame the VMM never backed is left NULL instead, not allocated.  A frame
 * of a shared mapping (ivshmem, a share=on memory backend, virtio-pmem) is
 * refused: another VM or process would see it zeroed and have its writes
 * reverted by RESTORE.
 */
static long veil_host_pin_batch(struct kvm *kvm, unsigned long hva,
				unsigned long n, struct page **pages,
				unsigned int *batch, bool holes)
{
	struct mm_struct *mm = kvm->mm;
	struct vm_area_struct *vma;
	unsigned long i;
	unsigned int fail;
	long got, r;

	fail = READ_ONCE(veil_host_fail_pin);
	if (fail && ++*batch == fail) {
		WRITE_ONCE(veil_host_fail_pin, 0);
		return -EFAULT;
	}
	mmap_read_lock(mm);
	vma = vma_lookup(mm, hva);
	if (!vma) {
		r = -EFAULT;
	} else if (vma->vm_flags & VM_SHARED) {
		pr_warn_ratelimited("SANITIZE refused: guest RAM at 0x%lx is a shared mapping\n",
				    hva);
		r = -EOPNOTSUPP;
	} else {
		n = min(n, (vma->vm_end - hva) >> PAGE_SHIFT);
		/* Reading maps the zero page over a hole and allocates nothing. */
		got = veil_compat_pin_user_pages_remote(mm, hva, n,
							holes ? 0 : FOLL_WRITE, pages);
		if (got >= 0 && got != n) {
			unpin_user_pages(pages, got);
			got = -EFAULT;
		}
		if (got > 0 && holes) {
			for (i = 0; i < n; i++) {
				if (veil_host_page_is_hole(pages[i])) {
					unpin_user_page(pages[i]);
					pages[i] = NULL;
				}
			}
			got = veil_host_pin_written(mm, hva, n, pages);
		}
		r = got;
	}
	mmap_read_unlock(mm);
	return r;
}

/*
 * Pins every frame of @set, in set order, into @pages[0, nr_pages), and the
 * control page @control_gpa into @pages[nr_pages], before a byte is
 * written.  A frame of the set that the VMM never backed stays NULL: it
 * reads as zeroes already, and SANITIZE and RESTORE pass it by.  A fatal
 * signal, a fault or a changed memslot fails it here, with nothing pinned
 * and nothing changed; once it returns 0, SANITIZE and RESTORE only copy
 * between pinned pages and the stash, which cannot fail.
 */
int veil_host_mem_pin(struct kvm *kvm, const struct veil_host_set *set,
		      gpa_t control_gpa, struct page **pages)
{
	struct kvm_memory_slot *slot;
	u64 i, gfn, end, n, done = 0;
	unsigned int batch = 0;
	int idx, r = 0;
	long got;

	if (!mmget_not_zero(kvm->mm))
		return -ESRCH;
	idx = srcu_read_lock(&kvm->srcu);
	for (i = 0; i <= set->nr_extents && !r; i++) {
		/* The control page comes last, as one more frame. */
		gfn = i < set->nr_extents ? set->ext[i].gfn : control_gpa >> PAGE_SHIFT;
		end = gfn + (i < set->nr_extents ? set->ext[i].npages : 1);
		while (gfn < end) {
			slot = gfn_to_memslot(kvm, gfn);
			if (!veil_host_slot_usable(slot)) {
				r = -EFAULT;
				break;
			}
			n = min3(end, slot->base_gfn + slot->npages,
				 gfn + VEIL_HOST_BATCH) - gfn;
			got = veil_host_pin_batch(kvm, gfn_to_hva_memslot(slot, gfn), n,
						  pages + done, &batch,
						  i < set->nr_extents);
			if (got < 0) {
				r = got;
				break;
			}
			done += got;
			gfn += got;
			cond_resched();
		}
	}
	srcu_read_unlock(&kvm->srcu, idx);
	mmput(kvm->mm);
	if (r) {
		pr_warn_ratelimited("SANITIZE refused: %d pinning frame %llu of %llu; nothing was zeroed\n",
				    r, done, set->nr_pages + 1);
		veil_host_mem_unpin(pages, done, false);
	}
	return r;
}

/* Marks the frames of record @e in the dirty log of their memslots. */
static void veil_host_mark_extent(struct kvm *kvm, const struct veil_host_extent *e)
{
	struct kvm_memory_slot *slot;
	u64 gfn = e->gfn, end = e->gfn + e->npages, n;

	while (gfn < end) {
		slot = gfn_to_memslot(kvm, gfn);
		if (!slot) {
			/* Gone since PREPARE: nobody logs it any more. */
			gfn++;
			continue;
		}
		n = min(end, slot->base_gfn + slot->npages) - gfn;
		veil_host_mark_dirty(slot, gfn, n);
		gfn += n;
	}
}

/*
 * Moves one frame between guest RAM and its stash slot; cannot fail.
 * Returns whether RESTORE found bytes that SANITIZE had zeroed written
 * meanwhile: something wrote into the stopped VM's memory, and RESTORE
 * puts SANITIZE's copy over it.
 */
static bool veil_host_move_frame(struct page *page, void *slot,
				 const struct veil_host_extent *e, bool sanitize)
{
	unsigned int off = e->len ? e->off : 0;
	unsigned int len = e->len ? e->len : PAGE_SIZE;
	bool written = false;
	void *p = kmap_local_page(page);

	if (sanitize) {
		memcpy(slot + off, p + off, len);
		memset(p + off, 0, len);
	} else {
		written = memchr_inv(p + off, 0, len);
		memcpy(p + off, slot + off, len);
	}
	kunmap_local(p);
	return written;
}

/*
 * Copies every frame of @set from the pinned @pages into @stash and zeroes
 * it, in set order, one slot per frame; a partial record moves only its
 * bytes, kept at the same offsets of its slot.  Every frame is marked in
 * KVM's dirty log, so that incremental consumers send it again.
 */
void veil_host_mem_sanitize(struct kvm *kvm, const struct veil_host_set *set,
			    struct page **pages, void *stash)
{
	u64 i, j, f = 0;
	int idx;

	idx = srcu_read_lock(&kvm->srcu);
	for (i = 0; i < set->nr_extents; i++) {
		for (j = 0; j < set->ext[i].npages; j++, f++) {
			if (pages[f])
				veil_host_move_frame(pages[f], stash + (f << PAGE_SHIFT),
						     &set->ext[i], true);
			if (!(f % VEIL_HOST_BATCH))
				cond_resched();
		}
		veil_host_mark_extent(kvm, &set->ext[i]);
	}
	srcu_read_unlock(&kvm->srcu, idx);
}

/*
 * Copies every frame of @set back from @stash into the pinned @pages, last
 * frame first: if a hostile memslot layout made two GFNs share a frame,
 * the stash holds the real contents for the first and zeroes for the
 * second, so the first must be written last.  The same holds for the
 * bytes of partial records, each restored alone.  Cannot fail: the pages
 * are the ones SANITIZE zeroed, whatever happened to the memslots since.
 * Returns how many frames were found written since SANITIZE.
 */
u64 veil_host_mem_restore(struct kvm *kvm, const struct veil_host_set *set,
			  struct page **pages, const void *stash)
{
	u64 i, j, f = set->nr_pages, written = 0;
	int idx;

	idx = srcu_read_lock(&kvm->srcu);
	for (i = set->nr_extents; i-- > 0;) {
		for (j = 0; j < set->ext[i].npages; j++) {
			f--;
			if (pages[f])
				written += veil_host_move_frame(pages[f],
								(void *)stash + (f << PAGE_SHIFT),
								&set->ext[i], false);
			if (!(f % VEIL_HOST_BATCH))
				cond_resched();
		}
		veil_host_mark_extent(kvm, &set->ext[i]);
	}
	srcu_read_unlock(&kvm->srcu, idx);
	return written;
}

/* Writes @len bytes at @off of a pinned page of guest RAM at @gpa. */
void veil_host_mem_write_pinned(struct kvm *kvm, struct page *page, gpa_t gpa,
				const void *data, unsigned int len)
{
	const struct veil_host_extent e = { .gfn = gpa >> PAGE_SHIFT, .npages = 1 };
	void *p = kmap_local_page(page);
	int idx;

	memcpy(p + offset_in_page(gpa), data, len);
	kunmap_local(p);
	idx = srcu_read_lock(&kvm->srcu);
	veil_host_mark_extent(kvm, &e);
	srcu_read_unlock(&kvm->srcu, idx);
}

/* Reads @len bytes at @gpa of a pinned page. */
void veil_host_mem_read_pinned(struct page *page, gpa_t gpa, void *data,
			       unsigned int len)
{
	void *p = kmap_local_page(page);

	memcpy(data, p + offset_in_page(gpa), len);
	kunmap_local(p);
}
