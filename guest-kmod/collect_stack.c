// SPDX-License-Identifier: GPL-2.0
/*
 * Per thread: the kernel stack and the user's registers saved while the
 * thread is not running.
 *
 * The stack (vmalloc'd with CONFIG_VMAP_STACK, so frame by frame through
 * vmalloc_to_page()) is taken whole only with kernel_objects=1: its live
 * frames are what a thread restored from the checkpoint runs on.  What
 * earlier system calls left below them is scrubbed at freeze time instead.
 *
 * The registers are taken byte by byte: the general-purpose registers
 * saved on entry to the kernel (struct pt_regs, up to orig_ax) and the
 * x87/SSE/AVX register contents of the saved FPU state, without the
 * control words and the XSAVE header, so that a zeroed state still loads.
 * A process restored from the checkpoint is killed before it returns to
 * user space and never loads them; a libveil subscriber runs on instead,
 * so its registers are left alone.
 *
 * Threads that are exiting are skipped: their stack may already be on its
 * way back to the allocator (put_task_stack() is not exported, so no stack
 * reference can be held).
 *
 * The page fragment of each thread (task_frag): the page a thread copies
 * what it sends on TCP (and corked UDP, kernel TLS) into, which keeps a
 * copy of the last of it after the socket has let go of its buffers.  It
 * is taken whole, and held, at PREPARE only: a thread that runs replaces
 * the page, freeing the old one before it stores the new pointer, so
 * only a parked thread's is stable.  The exit of a parked thread (killed)
 * frees it too: a thread that exits is skipped, and checked again once
 * the page is referenced.
 */
#include <linux/mm.h>
#include <linux/sched.h>
#include <asm/fpu/types.h>
#include <linux/sched/task_stack.h>

#include "compat.h"
#include "veil_guest.h"

/* FXSAVE layout: FCW..MXCSR_MASK, then ST0-7/MM0-7, XMM0-15, reserved. */
#define VEIL_GUEST_FX_REGS	32
#define VEIL_GUEST_FX_SIZE	512
#define VEIL_GUEST_XSAVE_HDR	64

void veil_guest_collect_stack(struct task_struct *tsk, struct veil_guest_collect *c)
{
	void *stack = READ_ONCE(tsk->stack);

	if (!stack || (READ_ONCE(tsk->flags) & PF_EXITING))
		return;
	veil_guest_add_kernel_range(c, VEIL_GUEST_CAT_STACK, stack, THREAD_SIZE);
}

void veil_guest_collect_regs(struct task_struct *tsk, struct veil_guest_collect *c)
{
	struct fpstate *fps = READ_ONCE(veil_guest_task_fpu(tsk)->fpstate);
	const u8 *regs;

	if (READ_ONCE(tsk->flags) & (PF_EXITING | PF_KTHREAD) || !READ_ONCE(tsk->stack))
		return;
	veil_guest_add_kernel_bytes(c, VEIL_GUEST_CAT_STACK, task_pt_regs(tsk),
				    offsetof(struct pt_regs, orig_ax));
	if (!fps || fps->size < VEIL_GUEST_FX_SIZE)
		return;
	regs = (const u8 *)&fps->regs;
	veil_guest_add_kernel_bytes(c, VEIL_GUEST_CAT_FPU, regs + VEIL_GUEST_FX_REGS,
				    VEIL_GUEST_FX_SIZE - VEIL_GUEST_FX_REGS);
	if (fps->size > VEIL_GUEST_FX_SIZE + VEIL_GUEST_XSAVE_HDR)
		veil_guest_add_kernel_bytes(c, VEIL_GUEST_CAT_FPU,
					    regs + VEIL_GUEST_FX_SIZE + VEIL_GUEST_XSAVE_HDR,
					    fps->size - VEIL_GUEST_FX_SIZE -
					    VEIL_GUEST_XSAVE_HDR);
}

/*
 * A reference on the page fragment of the parked thread @tsk, or NULL
 * (under RCU, nothing sleeps).  See the comment at the top.
 */
struct page *veil_guest_get_task_frag(struct task_struct *tsk)
{
	struct page *page = READ_ONCE(tsk->task_frag.page);

	if (!page || (READ_ONCE(tsk->flags) & (PF_EXITING | PF_KTHREAD)))
		return NULL;
	if (!get_page_unless_zero(page))
		return NULL;
	/* Ordered after the reference (a full barrier): still its own? */
	if ((READ_ONCE(tsk->flags) & PF_EXITING) || READ_ONCE(tsk->task_frag.page) != page) {
		put_page(page);
		return NULL;
	}
	return page;
}

/*
 * A page the kernel allocated for itself, as page fragments are: not a
 * process's anonymous memory, not a file's page cache, not slab, mapped
 * by nobody.  What a process spliced or sent from its files or memory
 * without a copy is one of those instead, and left to their collectors.
 */
bool veil_guest_folio_kernel_own(struct folio *folio)
{
	return !folio_test_anon(folio) && !folio->mapping && !folio_test_slab(folio) &&
	       !folio_mapped(folio);
}

/* The page fragments of @nr parked threads (referenced): published and held. */
void veil_guest_collect_task_frags(struct page **pages, int nr, struct veil_guest_collect *c)
{
	int i;

	for (i = 0; i < nr; i++) {
		struct folio *folio = page_folio(pages[i]);

		if (veil_guest_folio_kernel_own(folio)) {
			veil_guest_add(c, VEIL_GUEST_CAT_SOCKET, folio_pfn(folio),
				       folio_nr_pages(folio));
			veil_guest_hold_page(&c->holds, pages[i]);
		}
		put_page(pages[i]);
	}
}
