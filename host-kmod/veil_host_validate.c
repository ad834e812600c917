// SPDX-License-Identifier: GPL-2.0
/*
 * veil_host: REGISTER's arguments and PUBLISH's records, checked as values.
 * Reading guest memory is the caller's (veil_host_hc.c); guest RAM is asked
 * of the caller's callback, so this file builds in user space as well.
 * Nothing here allocates, sleeps or takes a lock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "veil_host_validate.h"

/* The ABI version REGISTER asks for, and where its control page is. */
long veil_host_validate_register(struct veil_host_log *log, unsigned long gpa,
				 unsigned long abi, unsigned int max_abi)
{
	if (abi < 1 || abi > max_abi) {
		veil_log_warn(log, "REGISTER with ABI version %lu, host takes 1..%u\n",
			      abi, max_abi);
		return -KVM_EINVAL;
	}
	if (!PAGE_ALIGNED(gpa)) {
		veil_log_warn(log, "REGISTER: control page 0x%lx is not page-aligned\n",
			      gpa);
		return -KVM_EINVAL;
	}
	return 0;
}

/* @head: the first two words of the control page, magic and abi_version. */
long veil_host_validate_control(struct veil_host_log *log, unsigned long gpa,
				unsigned long abi, const __le32 *head)
{
	u32 magic = le32_to_cpu(head[0]), version = le32_to_cpu(head[1]);

	if (magic != VEIL_CONTROL_MAGIC || version != abi) {
		veil_log_warn(log, "REGISTER: control page 0x%lx has magic 0x%x version %u\n",
			      gpa, magic, version);
		return -KVM_EINVAL;
	}
	return 0;
}

long veil_host_validate_link(const struct veil_host_validate *v, u64 gpa)
{
	if (!gpa || !PAGE_ALIGNED(gpa)) {
		veil_log_warn(v->log, "PUBLISH: extent page 0x%llx at %llu/%llu: %s\n",
			      gpa, v->idx, v->count,
			      gpa ? "not page-aligned" : "missing");
		return -KVM_EINVAL;
	}
	return 0;
}

/* At least one record, no more than the page holds or the PUBLISH has left. */
long veil_host_validate_page(const struct veil_host_validate *v, u64 gpa,
			     const struct veil_extent_page *page, u32 *n)
{
	u64 left = v->count - v->idx;

	*n = le32_to_cpu(page->count);
	if (!*n || *n > VEIL_EXTENTS_PER_PAGE || *n > left || page->reserved) {
		veil_log_warn(v->log, "PUBLISH: page 0x%llx: %u recs, rsvd %x, %llu left\n",
			      gpa, *n, le32_to_cpu(page->reserved), left);
		return -KVM_EINVAL;
	}
	return 0;
}

/*
 * Decodes a partial record (ABI 2): the bytes [off, off + len) of one frame.
 * Every bit of @npages besides VEIL_EXTENT_PARTIAL, off and len must be
 * zero; stray ones land in off, above the frame.
 */
static long veil_host_validate_partial(const struct veil_host_validate *v,
				       u64 npages, u32 *off, u32 *len)
{
	if (v->guest_abi < 2) {
		veil_log_warn(v->log, "PUBLISH: extent %llu is partial, guest ABI %u\n",
			      v->idx, v->guest_abi);
		return -KVM_EINVAL;
	}
	*off = VEIL_EXTENT_OFF(npages);
	*len = VEIL_EXTENT_LEN(npages);
	if (*off >= PAGE_SIZE) {
		veil_log_warn(v->log, "PUBLISH: extent %llu: offset %u past the frame (0x%llx)\n",
			      v->idx, *off, npages);
		return -KVM_EINVAL;
	}
	if (!*len) {
		veil_log_warn(v->log, "PUBLISH: extent %llu is an empty partial record\n",
			      v->idx);
		return -KVM_EINVAL;
	}
	if (*len > PAGE_SIZE - *off) {
		veil_log_warn(v->log, "PUBLISH: extent %llu: %u bytes at %u cross the frame\n",
			      v->idx, *len, *off);
		return -KVM_EINVAL;
	}
	return 0;
}

/*
 * Checks record v->idx against the end of the previous one, the memslots
 * and the cap on frames; on success stores it in @out and moves on.
 */
long veil_host_validate_extent(struct veil_host_validate *v,
			       const struct veil_extent *rec,
			       struct veil_host_record *out)
{
	u64 gfn = le64_to_cpu(rec->gfn), npages = le64_to_cpu(rec->npages);
	u64 max_pages = (u64)v->max_mib << (20 - PAGE_SHIFT);
	u64 start, end;
	u32 off = 0, len = 0;
	long r;

	if (npages & VEIL_EXTENT_PARTIAL) {
		r = veil_host_validate_partial(v, npages, &off, &len);
		if (r)
			return r;
		npages = 1;
	} else if (!npages) {
		veil_log_warn(v->log, "PUBLISH: extent %llu is empty\n", v->idx);
		return -KVM_EINVAL;
	}
	if (gfn + npages < gfn || gfn + npages > (1ULL << (52 - PAGE_SHIFT))) {
		veil_log_warn(v->log, "PUBLISH: extent %llu (gfn 0x%llx, %llu pages) overflows\n",
			      v->idx, gfn, npages);
		return -KVM_EINVAL;
	}
	/* Below 2^52: neither shift nor sum overflows. */
	start = (gfn << PAGE_SHIFT) + off;
	end = len ? start + len : (gfn + npages) << PAGE_SHIFT;
	if (start < v->prev_end) {
		veil_log_warn(v->log, "PUBLISH: extent %llu at GPA 0x%llx < 0x%llx\n",
			      v->idx, start, v->prev_end);
		return -KVM_EINVAL;
	}
	if (!v->is_ram(v->ctx, gfn, npages)) {
		veil_log_warn(v->log, "PUBLISH: extent %llu (gfn 0x%llx +%llu) not guest RAM\n",
			      v->idx, gfn, npages);
		return -KVM_EFAULT;
	}
	out->gfn = gfn;
	out->npages = npages;
	out->off = off;
	out->len = len;
	v->prev_end = end;
	v->idx++;
	/* One frame, and one stash slot, per partial record. */
	v->nr_pages += npages;
	if (v->nr_pages > max_pages) {
		veil_log_warn(v->log, "PUBLISH: more than %u MiB excluded\n",
			      v->max_mib);
		return -KVM_E2BIG;
	}
	return 0;
}

long veil_host_validate_end(const struct veil_host_validate *v, u64 next)
{
	if (next) {
		/* Also how a chain that loops ends: longer than announced. */
		veil_log_warn(v->log, "PUBLISH: extent page chain goes on after %llu extents\n",
			      v->count);
		return -KVM_EINVAL;
	}
	return 0;
}
