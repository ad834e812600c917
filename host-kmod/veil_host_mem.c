// SPDX-License-Identifier: GPL-2.0
/*
 * veil_host: guest memory from outside the VM.  /dev/veil is driven by a
 * management process, not by the VMM, so guest frames are reached through
 * the VM's memslots and the VMM's mm (kvm->mm), never the caller's.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "compat.h"
#include "veil_host.h"

/* Pages pinned at once while copying. */
#define VEIL_HOST_BATCH		256

static bool veil_host_slot_usable(const struct kvm_memory_slot *slot)
{
	return slot && !(slot->flags & (KVM_MEM_READONLY | KVM_MEMSLOT_INVALID));
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
 * Pins @n frames at @hva of @mm and moves them: into @stash and zeroed
 * (@sanitize), or back from @stash, last page first.  A partial record
 * (@len != 0, one frame) moves only the bytes [@off, @off + @len), kept at
 * the same offsets of its stash slot; veil never writes the rest of the
 * frame.
 */
static int veil_host_copy_batch(struct mm_struct *mm, unsigned long hva,
				unsigned long n, unsigned int off,
				unsigned int len, void *stash, bool sanitize,
				struct page **pages)
{
	unsigned long i;
	long got;
	void *p;

	if (WARN_ON_ONCE(len && (n != 1 || off + len > PAGE_SIZE)))
		return -EINVAL;
	mmap_read_lock(mm);
	got = veil_compat_pin_user_pages_remote(mm, hva, n, FOLL_WRITE, pages);
	mmap_read_unlock(mm);
	if (got < 0)
		return got;
	if (got != n) {
		unpin_user_pages(pages, got);
		return -EFAULT;
	}
	for (i = 0; i < n; i++) {
		unsigned long j = sanitize ? i : n - 1 - i;
		void *slot = stash + j * PAGE_SIZE;

		p = kmap_local_page(pages[j]);
		if (len && sanitize) {
			memcpy(slot + off, p + off, len);
			memset(p + off, 0, len);
		} else if (len) {
			memcpy(p + off, slot + off, len);
		} else if (sanitize) {
			copy_page(slot, p);
			clear_page(p);
		} else {
			copy_page(p, slot);
		}
		kunmap_local(p);
	}
	unpin_user_pages_dirty_lock(pages, n, true);
	return 0;
}

int veil_host_mem_write(struct kvm *kvm, gpa_t gpa, const void *data,
			unsigned int len)
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
	got = veil_compat_pin_user_pages_remote(kvm->mm, hva, 1, FOLL_WRITE, &page);
	mmap_read_unlock(kvm->mm);
	if (got != 1) {
		r = got < 0 ? got : -EFAULT;
		goto out;
	}
	p = kmap_local_page(page);
	memcpy(p + off, data, len);
	kunmap_local(p);
	unpin_user_pages_dirty_lock(&page, 1, true);
	veil_host_mark_dirty(slot, gpa >> PAGE_SHIFT, 1);
out:
	srcu_read_unlock(&kvm->srcu, idx);
	mmput(kvm->mm);
	return r;
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

/*
 * Copies every frame of @set into @stash and zeroes it, in set order, one
 * slot per frame.  A batch never spans two records, so a partial record
 * (one frame) is always a batch of its own.
 */
int veil_host_mem_sanitize(struct kvm *kvm, const struct veil_host_set *set,
			   void *stash)
{
	struct kvm_memory_slot *slot;
	u64 i, gfn, end, n, done = 0;
	struct page **pages;
	int idx, r = 0;

	pages = kmalloc_array(VEIL_HOST_BATCH, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;
	if (!mmget_not_zero(kvm->mm)) {
		kfree(pages);
		return -ESRCH;
	}
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
			n = min3(end, slot->base_gfn + slot->npages,
				 gfn + VEIL_HOST_BATCH) - gfn;
			r = veil_host_copy_batch(kvm->mm, gfn_to_hva_memslot(slot, gfn),
						 n, set->ext[i].off, set->ext[i].len,
						 stash + (done << PAGE_SHIFT),
						 true, pages);
			if (r)
				break;
			veil_host_mark_dirty(slot, gfn, n);
			done += n;
			gfn += n;
			cond_resched();
		}
	}
	srcu_read_unlock(&kvm->srcu, idx);
	mmput(kvm->mm);
	kfree(pages);
	if (r) {
		pr_warn_ratelimited("SANITIZE failed after %llu of %llu pages: %d\n",
				    done, set->nr_pages, r);
		if (done)
			veil_host_mem_restore(kvm, set, stash, done);
		memzero_explicit(stash, done << PAGE_SHIFT);
	}
	return r;
}

/*
 * Copies the first @upto frames of @set back from @stash, last frame first:
 * if a hostile memslot layout made two GFNs share a frame, the stash holds
 * the real contents for the first and zeroes for the second, so the first
 * must be written last.  The same holds for the bytes of partial records,
 * each restored alone, in the reverse order of SANITIZE.  Goes on past
 * errors; returns the first.
 */
int veil_host_mem_restore(struct kvm *kvm, const struct veil_host_set *set,
			  const void *stash, u64 upto)
{
	struct kvm_memory_slot *slot;
	u64 i = 0, base = 0, pos = upto, start, end, n;
	struct page **pages;
	int idx, r, err = 0;

	if (!upto)
		return 0;
	pages = kmalloc_array(VEIL_HOST_BATCH, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;
	if (!mmget_not_zero(kvm->mm)) {
		kfree(pages);
		return -ESRCH;
	}
	/* Find the extent holding page upto - 1; base is its first page. */
	while (base + set->ext[i].npages < upto)
		base += set->ext[i++].npages;

	idx = srcu_read_lock(&kvm->srcu);
	while (pos > 0) {
		end = set->ext[i].gfn + (pos - base);
		slot = gfn_to_memslot(kvm, end - 1);
		if (!veil_host_slot_usable(slot)) {
			n = 1;
			err = err ?: -EFAULT;
		} else {
			start = max3(set->ext[i].gfn, slot->base_gfn,
				     end > VEIL_HOST_BATCH ? end - VEIL_HOST_BATCH : 0);
			n = end - start;
			/* start is the record's gfn for a partial one: n == 1. */
			r = veil_host_copy_batch(kvm->mm,
						 gfn_to_hva_memslot(slot, start), n,
						 set->ext[i].off, set->ext[i].len,
						 (void *)stash +
						 ((pos - n) << PAGE_SHIFT),
						 false, pages);
			if (r)
				err = err ?: r;
			else
				veil_host_mark_dirty(slot, start, n);
		}
		pos -= n;
		if (pos == base && i > 0)
			base -= set->ext[--i].npages;
		cond_resched();
	}
	srcu_read_unlock(&kvm->srcu, idx);
	mmput(kvm->mm);
	kfree(pages);
	return err;
}
