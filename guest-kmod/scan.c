// SPDX-License-Identifier: GPL-2.0
/*
 * Test hook: find every place in guest RAM holding a 32-byte half of a
 * 64-byte pattern, so that a test can check that the published extents
 * cover every copy, to the byte.  The pattern arrives XOR-masked and is only
 * ever compared through the mask, so this module never stores it.  Frames
 * are read through the direct map with copy_from_kernel_nofault(), and
 * those that are not in it (secretmem, for one) through a temporary
 * mapping.
 */
#include <linux/hash.h>
#include <linux/ioport.h>
#include <linux/memory_hotplug.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "veil_guest.h"

#define VEIL_GUEST_HALF	VEIL_GUEST_SCAN_HALF

/*
 * A half starting at byte off of a frame holds, at the next 8-byte aligned
 * address, the 8 bytes from half offset (-off & 7).  So the scan reads only
 * the aligned words of a frame (512, not 4065 offsets times two halves) and
 * looks each up in a filter of the 16 words a half can show there; only a
 * filter hit is compared in full.  The filter holds hash bits, and the words
 * are kept masked like the pattern, so no piece of it stays in memory.
 */
#define VEIL_GUEST_FILTER_SHIFT	12
#define VEIL_GUEST_NR_ALIGN	8

struct veil_guest_scanner {
	const struct veil_guest_scan *req;
	u64 __user *uaddrs;
	u8 *buf;		/* one frame, copied */
	unsigned long buf_pfn;	/* the copy's own frame, never scanned */
	/* half h at misalignment a: its aligned word, masked, and the mask */
	u64 word[2][VEIL_GUEST_NR_ALIGN], word_mask[2][VEIL_GUEST_NR_ALIGN];
	DECLARE_BITMAP(filter, 1 << VEIL_GUEST_FILTER_SHIFT);
	u64 found, copied, scanned;
	u64 remapped, unreadable;	/* frames outside the direct map */
	int err;
};

static bool veil_guest_half_at(const struct veil_guest_scanner *s,
			       const u8 *p, int half)
{
	const u8 *masked = s->req->masked + half * VEIL_GUEST_HALF;
	const u8 *mask = s->req->mask + half * VEIL_GUEST_HALF;
	int i;

	for (i = 0; i < VEIL_GUEST_HALF; i++)
		if ((p[i] ^ mask[i]) != masked[i])
			return false;
	return true;
}

static void veil_guest_scanner_init(struct veil_guest_scanner *s)
{
	int half, a;

	bitmap_zero(s->filter, 1 << VEIL_GUEST_FILTER_SHIFT);
	for (half = 0; half < 2; half++) {
		for (a = 0; a < VEIL_GUEST_NR_ALIGN; a++) {
			unsigned int k = half * VEIL_GUEST_HALF +
					 (-a & (VEIL_GUEST_NR_ALIGN - 1));

			memcpy(&s->word[half][a], s->req->masked + k, sizeof(u64));
			memcpy(&s->word_mask[half][a], s->req->mask + k, sizeof(u64));
			__set_bit(hash_64(s->word[half][a] ^ s->word_mask[half][a],
					  VEIL_GUEST_FILTER_SHIFT), s->filter);
		}
	}
}

static int veil_guest_report(struct veil_guest_scanner *s, u64 addr)
{
	if (s->copied < s->req->nr_addrs) {
		if (put_user(addr, &s->uaddrs[s->copied]))
			return -EFAULT;
		s->copied++;
	}
	s->found++;
	return 0;
}

/* A filter hit at aligned offset q: which halves really start near it. */
static int veil_guest_scan_hit(struct veil_guest_scanner *s, unsigned long pfn,
			       unsigned int q, u64 w)
{
	int half, a, err;

	for (half = 0; half < 2; half++) {
		for (a = 0; a < VEIL_GUEST_NR_ALIGN; a++) {
			unsigned int k = -a & (VEIL_GUEST_NR_ALIGN - 1);
			unsigned int off = q - k;

			if ((w ^ s->word_mask[half][a]) != s->word[half][a] ||
			    q < k || off + VEIL_GUEST_HALF > PAGE_SIZE ||
			    !veil_guest_half_at(s, s->buf + off, half))
				continue;
			err = veil_guest_report(s, PFN_PHYS(pfn) + off);
			if (err)
				return err;
		}
	}
	return 0;
}

/* Reports every half of the pattern found in the frame copied to s->buf. */
static int veil_guest_scan_frame(struct veil_guest_scanner *s, unsigned long pfn)
{
	const u64 *words = (const u64 *)s->buf;
	unsigned int i;
	int err;

	for (i = 0; i < PAGE_SIZE / sizeof(u64); i++) {
		if (!test_bit(hash_64(words[i], VEIL_GUEST_FILTER_SHIFT), s->filter))
			continue;
		err = veil_guest_scan_hit(s, pfn, i * sizeof(u64), words[i]);
		if (err)
			return err;
	}
	return 0;
}

/*
 * Copies frame @page to s->buf; 0, or -EFAULT when it cannot be read.  A
 * frame that is not in the direct map (memfd_secret() takes its pages out
 * of it) is read through a temporary mapping of its own: the scan is blind
 * exactly where applications keep their most sensitive data otherwise.
 */
static int veil_guest_copy_frame(struct veil_guest_scanner *s, struct page *page)
{
	void *va;

	if (!copy_from_kernel_nofault(s->buf, page_address(page), PAGE_SIZE))
		return 0;
	va = vmap(&page, 1, VM_MAP, PAGE_KERNEL_RO);
	if (!va)
		return -EFAULT;
	memcpy(s->buf, va, PAGE_SIZE);
	vunmap(va);
	s->remapped++;
	return 0;
}

static int veil_guest_scan_range(unsigned long start_pfn, unsigned long nr_pages,
				 void *arg)
{
	struct veil_guest_scanner *s = arg;
	unsigned long pfn;

	for (pfn = start_pfn; pfn < start_pfn + nr_pages; pfn++) {
		struct page *page = pfn_to_online_page(pfn);

		if (!page || pfn == s->buf_pfn)
			continue;
		if (veil_guest_copy_frame(s, page)) {
			s->unreadable++;
			continue;
		}
		s->scanned++;
		s->err = veil_guest_scan_frame(s, pfn);
		if (s->err)
			return 1;
		if (!(pfn & 255)) {
			cond_resched();
			if (fatal_signal_pending(current)) {
				s->err = -EINTR;
				return 1;
			}
		}
	}
	return 0;
}

static int veil_guest_scan_res(struct resource *res, void *arg)
{
	unsigned long start = PFN_UP(res->start);
	unsigned long end = PFN_DOWN(res->end + 1);

	if (end <= start)
		return 0;
	return veil_guest_scan_range(start, end - start, arg);
}

int veil_guest_scan(struct veil_guest_scan *req)
{
	struct veil_guest_scanner s = {
		.req = req,
		.uaddrs = u64_to_user_ptr(req->addrs),
	};

	veil_guest_scanner_init(&s);
	s.buf = (u8 *)__get_free_page(GFP_KERNEL);
	if (!s.buf)
		return -ENOMEM;
	s.buf_pfn = page_to_pfn(virt_to_page(s.buf));
	walk_iomem_res_desc(IORES_DESC_NONE, IORESOURCE_SYSTEM_RAM | IORESOURCE_BUSY,
			    0, -1, &s, veil_guest_scan_res);
	memzero_explicit(s.buf, PAGE_SIZE);
	free_page((unsigned long)s.buf);
	req->nr_addrs = s.copied;
	req->total = s.found;
	req->scanned = s.scanned;
	if (s.unreadable)
		pr_warn("test hook: scan: %llu frames of RAM could not be read\n", s.unreadable);
	return s.err;
}
