// SPDX-License-Identifier: GPL-2.0
/*
 * Freezing excluded tasks without the cgroup freezer (not usable from a
 * module) and without a job-control stop their parents would see: every
 * thread gets a task_work (TWA_SIGNAL) that runs on its way back to user
 * space and waits there, killable, until the thaw.  A thread asleep in the
 * kernel is woken as for a signal and its system call restarted after the
 * thaw; one in an uninterruptible sleep parks when it leaves the kernel.
 *
 * The module cannot cancel queued works (task_work_cancel() is not
 * exported), so unloading thaws, waits until every queued work has run,
 * then waits an RCU-tasks grace period so that no task still executes the
 * tail of veil_guest_park() in this module's text.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/rcupdate.h>
#include <linux/sched/signal.h>
#include <linux/sched/task_stack.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/task_work.h>
#include <linux/wait.h>
#include <asm/fpu/api.h>

#include "veil_guest.h"

struct veil_guest_park_work {
	struct callback_head cb;
};

static bool veil_guest_freezing;	/* READ_ONCE/WRITE_ONCE */
static atomic_t veil_guest_parked = ATOMIC_INIT(0);	/* threads parked now */
static atomic_t veil_guest_queued = ATOMIC_INIT(0);	/* works not yet finished */
static DECLARE_WAIT_QUEUE_HEAD(veil_guest_thaw_wq);	/* parked threads */
static DECLARE_WAIT_QUEUE_HEAD(veil_guest_park_wq);	/* freezer and unload */

/*
 * What earlier system calls left on this thread's kernel stack below its
 * live frames may be the excluded process's data; zero it before the
 * thread counts as parked.  The stack grows down from the top of
 * THREAD_SIZE; its lowest word holds the overflow canary, and interrupts
 * are off so nothing is pushed below the stack pointer meanwhile (NMIs
 * and exceptions with their own stacks do not use this one).
 */
#define VEIL_GUEST_STACK_MARGIN	256

static noinline void veil_guest_scrub_stack(void)
{
	unsigned long base = (unsigned long)task_stack_page(current);
	unsigned long low = base + sizeof(unsigned long);
	unsigned long sp = current_stack_pointer;
	unsigned long flags;

	if (sp < low + VEIL_GUEST_STACK_MARGIN || sp >= base + THREAD_SIZE)
		return;
	local_irq_save(flags);
	memset((void *)low, 0, sp - VEIL_GUEST_STACK_MARGIN - low);
	local_irq_restore(flags);
}

/*
 * The thread's vector registers may still sit in the CPU after it parks,
 * until another task loads its own, and a checkpoint saves the vCPUs'
 * registers too.  kernel_fpu_begin() saves them to the thread's FPU state
 * (published byte by byte, and loaded again on its way back to user
 * space); the CPU's xmm0-15 are then cleared with SSE2, which every
 * x86-64 CPU has.  The upper halves of ymm registers are left as they
 * are: VEX-encoded instructions are not dependable under every
 * virtualized CPU that claims AVX (vzeroall raised #UD in a nested guest).
 */
static void veil_guest_clear_fpregs(void)
{
	kernel_fpu_begin();
	asm volatile("pxor %%xmm0, %%xmm0\n\tpxor %%xmm1, %%xmm1\n\t"
		     "pxor %%xmm2, %%xmm2\n\tpxor %%xmm3, %%xmm3\n\t"
		     "pxor %%xmm4, %%xmm4\n\tpxor %%xmm5, %%xmm5\n\t"
		     "pxor %%xmm6, %%xmm6\n\tpxor %%xmm7, %%xmm7\n\t"
		     "pxor %%xmm8, %%xmm8\n\tpxor %%xmm9, %%xmm9\n\t"
		     "pxor %%xmm10, %%xmm10\n\tpxor %%xmm11, %%xmm11\n\t"
		     "pxor %%xmm12, %%xmm12\n\tpxor %%xmm13, %%xmm13\n\t"
		     "pxor %%xmm14, %%xmm14\n\tpxor %%xmm15, %%xmm15" : : );
	kernel_fpu_end();
}

static void veil_guest_park(struct callback_head *cb)
{
	kfree(container_of(cb, struct veil_guest_park_work, cb));
	if (!(current->flags & PF_EXITING) && READ_ONCE(veil_guest_freezing)) {
		veil_guest_scrub_stack();
		veil_guest_clear_fpregs();
		atomic_inc(&veil_guest_parked);
		wake_up_all(&veil_guest_park_wq);
		wait_event_killable(veil_guest_thaw_wq, !READ_ONCE(veil_guest_freezing));
		atomic_dec(&veil_guest_parked);
		wake_up_all(&veil_guest_park_wq);
	}
	if (atomic_dec_and_test(&veil_guest_queued))
		wake_up_all(&veil_guest_park_wq);
}

static int veil_guest_park_thread(struct task_struct *t)
{
	struct veil_guest_park_work *w;
	int err;

	w = kzalloc(sizeof(*w), GFP_KERNEL);
	if (!w)
		return -ENOMEM;
	init_task_work(&w->cb, veil_guest_park);
	atomic_inc(&veil_guest_queued);
	err = task_work_add(t, &w->cb, TWA_SIGNAL);
	if (err) {
		kfree(w);
		if (atomic_dec_and_test(&veil_guest_queued))
			wake_up_all(&veil_guest_park_wq);
	}
	return err;
}

/*
 * Freezes every thread of the given processes and waits up to timeout_ms
 * for them to park.  Returns 0, or -EBUSY when some thread did not park in
 * time (it is still asleep in the kernel and parks when it leaves).
 */
int veil_guest_freeze(struct task_struct **tasks, int nr, unsigned int timeout_ms)
{
	struct task_struct **threads, *t;
	int i, n = 0, cap = 0, queued = 0, err = 0;

	WRITE_ONCE(veil_guest_freezing, true);
	rcu_read_lock();
	for (i = 0; i < nr; i++)
		for_each_thread(tasks[i], t)
			cap++;
	rcu_read_unlock();
	threads = kvmalloc_array(cap + 1, sizeof(*threads), GFP_KERNEL);
	if (!threads)
		return -ENOMEM;
	rcu_read_lock();
	for (i = 0; i < nr; i++) {
		for_each_thread(tasks[i], t) {
			if (n == cap)
				break;
			get_task_struct(t);
			threads[n++] = t;
		}
	}
	rcu_read_unlock();
	for (i = 0; i < n; i++) {
		if (!veil_guest_park_thread(threads[i]))
			queued++;
		put_task_struct(threads[i]);
	}
	kvfree(threads);
	if (!wait_event_timeout(veil_guest_park_wq,
				atomic_read(&veil_guest_parked) >= queued,
				msecs_to_jiffies(timeout_ms)))
		err = -EBUSY;
	return err;
}

unsigned int veil_guest_frozen(void)
{
	return atomic_read(&veil_guest_parked);
}

bool veil_guest_is_freezing(void)
{
	return READ_ONCE(veil_guest_freezing);
}

/* Thaws, and waits up to a second for the parked threads to leave. */
void veil_guest_thaw(void)
{
	WRITE_ONCE(veil_guest_freezing, false);
	wake_up_all(&veil_guest_thaw_wq);
	wait_event_timeout(veil_guest_park_wq, !atomic_read(&veil_guest_parked), HZ);
}

/* Module unload: thaw, then wait until no work of ours is queued or running. */
void veil_guest_freeze_drain(void)
{
	veil_guest_thaw();
	while (!wait_event_timeout(veil_guest_park_wq,
				   !atomic_read(&veil_guest_queued), 10 * HZ))
		pr_warn("unload waits for %d threads to leave the kernel\n",
			atomic_read(&veil_guest_queued));
	synchronize_rcu_tasks();
}
