// SPDX-License-Identifier: GPL-2.0
/*
 * Runs every collector over a selected process: its address space, the
 * files, pipes and sockets in its descriptor table, and per thread the
 * kernel stack and the saved FPU state.
 */
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>

#include "veil_guest.h"

int veil_guest_collect_task(struct task_struct *tsk, struct veil_guest_collect *c)
{
	struct task_struct *t;
	struct mm_struct *mm;
	int err = 0;

	mm = get_task_mm(tsk);
	if (mm) {
		err = veil_guest_collect_anon(mm, c);
		mmput(mm);
		if (err)
			return err;
	}
	err = veil_guest_collect_files(tsk, c);
	if (err)
		return err;

	rcu_read_lock();
	for_each_thread(tsk, t) {
		veil_guest_collect_stack(t, c);
		veil_guest_collect_fpu(t, c);
	}
	rcu_read_unlock();
	return 0;
}

int veil_guest_collect_selected(struct veil_guest_collect *c)
{
	struct task_struct **tasks;
	int nr, i, err = 0;

	nr = veil_guest_sel_tasks(NULL, &tasks);
	if (nr < 0)
		return nr;
	for (i = 0; i < nr && !err; i++)
		err = veil_guest_collect_task(tasks[i], c);
	veil_guest_put_tasks(tasks, nr);
	if (err)
		return err;
	return veil_guest_collect_finish(c);
}
