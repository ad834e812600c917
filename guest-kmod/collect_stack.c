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
 */
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
