// SPDX-License-Identifier: GPL-2.0
/*
 * Anonymous memory: every present page table entry of the address space
 * that maps an anonymous page (4 KiB or a transparent huge page, including
 * pages still shared copy-on-write with other processes), a page of a
 * shared mapping, or a hugetlb page.  Clean pages of private file mappings
 * (program text, libraries) are the file's page cache, shared with every
 * other process, and are left out.
 *
 * walk_page_range() is not exported to modules on 6.1 or 6.12, so the page
 * tables are walked here directly, under mmap_read_lock.  The walk only
 * reads entries and records frame numbers: it takes no page references.
 * PTE tables are read under rcu_read_lock(), which keeps a table that
 * khugepaged retracts concurrently (6.12) from being freed under us.
 */
#include <linux/hugetlb.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/pgtable.h>
#include <linux/sched/mm.h>

#include "compat.h"
#include "veil_guest.h"

static bool veil_guest_vma_private_data(struct vm_area_struct *vma, struct page *page)
{
	if (PageAnon(page))
		return true;
	return vma->vm_file && (vma->vm_flags & VM_SHARED);
}

static void veil_guest_walk_pte(struct vm_area_struct *vma, pmd_t pmd,
				unsigned long addr, unsigned long end,
				struct veil_guest_collect *c)
{
	pte_t *ptep;
	pte_t pte;

	rcu_read_lock();
	ptep = (pte_t *)pmd_page_vaddr(pmd) + pte_index(addr);
	for (; addr < end; addr += PAGE_SIZE, ptep++) {
		unsigned long pfn;

		pte = ptep_get(ptep);
		if (!pte_present(pte) || pte_special(pte))
			continue;
		pfn = pte_pfn(pte);
		if (!pfn_valid(pfn))
			continue;
		if (veil_guest_vma_private_data(vma, pfn_to_page(pfn)))
			veil_guest_add(c, VEIL_GUEST_CAT_ANON, pfn, 1);
	}
	rcu_read_unlock();
}

static void veil_guest_walk_pmd(struct vm_area_struct *vma, pud_t *pudp,
				unsigned long addr, unsigned long end,
				struct veil_guest_collect *c)
{
	pmd_t *pmdp = pmd_offset(pudp, addr);
	unsigned long next;

	for (; addr < end; addr = next, pmdp++) {
		pmd_t pmd = READ_ONCE(*pmdp);

		next = pmd_addr_end(addr, end);
		if (pmd_none(pmd) || !pmd_present(pmd))
			continue;
		if (pmd_leaf(pmd)) {
			unsigned long pfn = pmd_pfn(pmd);

			if (!pfn_valid(pfn))
				continue;
			if (is_vm_hugetlb_page(vma) ||
			    veil_guest_vma_private_data(vma, pfn_to_page(pfn)))
				veil_guest_add(c, VEIL_GUEST_CAT_ANON,
					       pfn + ((addr & ~PMD_MASK) >> PAGE_SHIFT),
					       (next - addr) >> PAGE_SHIFT);
			continue;
		}
		if (pmd_bad(pmd))
			continue;
		veil_guest_walk_pte(vma, pmd, addr, next, c);
	}
}

static void veil_guest_walk_pud(struct vm_area_struct *vma, p4d_t *p4dp,
				unsigned long addr, unsigned long end,
				struct veil_guest_collect *c)
{
	pud_t *pudp = pud_offset(p4dp, addr);
	unsigned long next;

	for (; addr < end; addr = next, pudp++) {
		pud_t pud = READ_ONCE(*pudp);

		next = pud_addr_end(addr, end);
		if (pud_none(pud) || !pud_present(pud))
			continue;
		if (pud_leaf(pud)) {
			if (is_vm_hugetlb_page(vma))
				veil_guest_add(c, VEIL_GUEST_CAT_ANON,
					       pud_pfn(pud) +
					       ((addr & ~PUD_MASK) >> PAGE_SHIFT),
					       (next - addr) >> PAGE_SHIFT);
			continue;
		}
		if (pud_bad(pud))
			continue;
		veil_guest_walk_pmd(vma, pudp, addr, next, c);
	}
}

static void veil_guest_walk_vma(struct vm_area_struct *vma,
				struct veil_guest_collect *c)
{
	unsigned long addr = vma->vm_start, end = vma->vm_end, next, p4next;
	struct mm_struct *mm = vma->vm_mm;

	for (; addr < end; addr = next) {
		pgd_t *pgdp = pgd_offset(mm, addr);
		p4d_t *p4dp;

		next = pgd_addr_end(addr, end);
		if (pgd_none(*pgdp) || pgd_bad(*pgdp))
			continue;
		p4dp = p4d_offset(pgdp, addr);
		for (; addr < next; addr = p4next, p4dp++) {
			p4next = p4d_addr_end(addr, next);
			if (p4d_none(*p4dp) || p4d_bad(*p4dp))
				continue;
			veil_guest_walk_pud(vma, p4dp, addr, p4next, c);
		}
		cond_resched();
	}
}

int veil_guest_collect_anon(struct mm_struct *mm, struct veil_guest_collect *c,
			    bool dontdump_only)
{
	struct vm_area_struct *vma;
	struct vma_iterator vmi;

	if (mmap_read_lock_killable(mm))
		return -EINTR;
	vma_iter_init(&vmi, mm, 0);
	for_each_vma(vmi, vma) {
		if (vma->vm_flags & (VM_IO | VM_PFNMAP))
			continue;
		if (dontdump_only && !(vma->vm_flags & VM_DONTDUMP))
			continue;
		veil_guest_walk_vma(vma, c);
		/* Pages of a shared mapping that are not mapped right now. */
		if (vma->vm_file && (vma->vm_flags & VM_SHARED))
			veil_guest_collect_mapping(vma->vm_file, c);
	}
	mmap_read_unlock(mm);
	return 0;
}
