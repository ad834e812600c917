// SPDX-License-Identifier: GPL-2.0
/*
 * Per thread: the kernel stack (vmalloc'd with CONFIG_VMAP_STACK, so frame
 * by frame through vmalloc_to_page()) and the saved FPU/extended register
 * state, which holds the user's vector registers while the thread is not
 * running.  Threads that are exiting are skipped: their stack may already
 * be on its way back to the allocator (put_task_stack() is not exported,
 * so no stack reference can be held).
 */
#include <linux/sched.h>
#include <asm/fpu/types.h>
#include <linux/sched/task_stack.h>

#include "compat.h"
#include "veil_guest.h"

void veil_guest_collect_stack(struct task_struct *tsk, struct veil_guest_collect *c)
{
	void *stack = READ_ONCE(tsk->stack);

	if (!stack || (READ_ONCE(tsk->flags) & PF_EXITING))
		return;
	veil_guest_add_kernel_range(c, VEIL_GUEST_CAT_STACK, stack, THREAD_SIZE);
}

void veil_guest_collect_fpu(struct task_struct *tsk, struct veil_guest_collect *c)
{
	struct fpstate *fps = READ_ONCE(veil_guest_task_fpu(tsk)->fpstate);

	if (!fps || (READ_ONCE(tsk->flags) & PF_EXITING))
		return;
	veil_guest_add_kernel_range(c, VEIL_GUEST_CAT_FPU, fps,
				    offsetof(struct fpstate, regs) + fps->size);
}
