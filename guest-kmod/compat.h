/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Differences between the kernels veil_guest builds for (6.1 and 6.12), and
 * nowhere else.
 */
#ifndef _VEIL_GUEST_COMPAT_H
#define _VEIL_GUEST_COMPAT_H

#include <linux/version.h>
#include <linux/sched.h>

/* The task's FPU state moved out of thread_struct in 6.15. */
static inline struct fpu *veil_guest_task_fpu(struct task_struct *tsk)
{
	return &tsk->thread.fpu;
}

#endif /* _VEIL_GUEST_COMPAT_H */
