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
#include <linux/refcount.h>
#include <linux/sched/signal.h>
#include <linux/sched/task_stack.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/task_work.h>
#include <linux/wait.h>
#include <asm/fpu/api.h>

#include "veil_guest.h"

/*
 * A queued park: owned by the work (until it ran) and by the freezer's
 * record of the thread (until the thaw), hence the count.
 */
struct veil_guest_park_work {
	struct callback_head cb;
	refcount_t ref;
	bool parked;		/* READ_ONCE/WRITE_ONCE */
};

/* A thread the freeze reached, and its work; under the caller's lock. */
struct veil_guest_fthread {
	struct task_struct *t;		/* referenced */
	struct veil_guest_park_work *w;
};

static bool veil_guest_freezing;	/* READ_ONCE/WRITE_ONCE */
static atomic_t veil_guest_parked = ATOMIC_INIT(0);	/* threads parked now */
static atomic_t veil_guest_queued = ATOMIC_INIT(0);	/* works not yet finished */
static DECLARE_WAIT_QUEUE_HEAD(veil_guest_thaw_wq);	/* parked threads */
static DECLARE_WAIT_QUEUE_HEAD(veil_guest_park_wq);	/* freezer and unload */
/* The threads of this freeze; freeze and thaw run under veil_guest_ctl_lock. */
static struct veil_guest_fthread *veil_guest_fthreads;
static unsigned int veil_guest_nr_fthreads, veil_guest_cap_fthreads;

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

static void veil_guest_park_put(struct veil_guest_park_work *w)
{
	if (refcount_dec_and_test(&w->ref))
		kfree(w);
}

static void veil_guest_park(struct callback_head *cb)
{
	struct veil_guest_park_work *w = container_of(cb, struct veil_guest_park_work, cb);

	if (!(current->flags & PF_EXITING) && READ_ONCE(veil_guest_freezing)) {
		veil_guest_scrub_stack();
		veil_guest_clear_fpregs();
		atomic_inc(&veil_guest_parked);
		WRITE_ONCE(w->parked, true);
		wake_up_all(&veil_guest_park_wq);
		wait_event_killable(veil_guest_thaw_wq, !READ_ONCE(veil_guest_freezing));
		WRITE_ONCE(w->parked, false);
		atomic_dec(&veil_guest_parked);
		wake_up_all(&veil_guest_park_wq);
	}
	veil_guest_park_put(w);
	if (atomic_dec_and_test(&veil_guest_queued))
		wake_up_all(&veil_guest_park_wq);
}

static void veil_guest_forget_threads(bool all);

/* Whether t is one of this freeze's threads already. */
static bool veil_guest_fthread_known(struct task_struct *t)
{
	unsigned int i;

	for (i = 0; i < veil_guest_nr_fthreads; i++)
		if (veil_guest_fthreads[i].t == t)
			return true;
	return false;
}

/* Queues the park work on t (referenced by the caller, kept on success). */
static int veil_guest_park_thread(struct task_struct *t)
{
	struct veil_guest_fthread *ft;
	struct veil_guest_park_work *w;
	unsigned int cap;
	int err;

	if (veil_guest_nr_fthreads == veil_guest_cap_fthreads) {
		cap = veil_guest_cap_fthreads ? 2 * veil_guest_cap_fthreads : 64;
		ft = kvmalloc_array(cap, sizeof(*ft), GFP_KERNEL);
		if (!ft)
			return -ENOMEM;
		if (veil_guest_nr_fthreads)
			memcpy(ft, veil_guest_fthreads,
			       veil_guest_nr_fthreads * sizeof(*ft));
		kvfree(veil_guest_fthreads);
		veil_guest_fthreads = ft;
		veil_guest_cap_fthreads = cap;
	}
	w = kzalloc(sizeof(*w), GFP_KERNEL);
	if (!w)
		return -ENOMEM;
	init_task_work(&w->cb, veil_guest_park);
	refcount_set(&w->ref, 2);
	atomic_inc(&veil_guest_queued);
	err = task_work_add(t, &w->cb, TWA_SIGNAL);
	if (err) {
		/* Exiting: past its last return to user space. */
		kfree(w);
		if (atomic_dec_and_test(&veil_guest_queued))
			wake_up_all(&veil_guest_park_wq);
		return err;
	}
	ft = &veil_guest_fthreads[veil_guest_nr_fthreads++];
	ft->t = t;
	ft->w = w;
	return 0;
}

/*
 * Queues the work on every thread of the given processes not reached
 * yet; returns how many were new, or a negative errno.  Threads cloned
 * while this runs are found by the next call.
 */
static int veil_guest_freeze_new(struct task_struct **tasks, int nr)
{
	struct task_struct **threads, *t;
	int i, n = 0, cap = 0, added = 0, err = 0;

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
			if (t->flags & PF_EXITING)
				continue;
			get_task_struct(t);
			threads[n++] = t;
		}
	}
	rcu_read_unlock();
	for (i = 0; i < n; i++) {
		if (!err && !veil_guest_fthread_known(threads[i])) {
			int r = veil_guest_park_thread(threads[i]);

			if (!r) {
				added++;
				continue;	/* the record keeps the reference */
			}
			if (r != -ESRCH)
				err = r;
		}
		put_task_struct(threads[i]);
	}
	kvfree(threads);
	return err ? err : added;
}

/*
 * Whether the thread of record ft cannot run user code before the thaw:
 * parked; exiting; stopped by job control or a tracer (its queued work
 * parks it before it returns to user space, whoever wakes it); or waiting
 * for a vfork child that is itself quiescent.  Anything else may still
 * be in the kernel on its way to change what was collected (a D-state
 * read finishing into user memory).
 */
static bool veil_guest_fthread_quiet(const struct veil_guest_fthread *ft, int depth)
{
	struct task_struct *t = ft->t;
	unsigned int i;

	if (READ_ONCE(ft->w->parked) || (t->flags & PF_EXITING) || t->exit_state)
		return true;
	if (task_is_stopped_or_traced(t))
		return true;
	if (depth)
		return false;
	for (i = 0; i < veil_guest_nr_fthreads; i++) {
		const struct veil_guest_fthread *c = &veil_guest_fthreads[i];
		bool child;

		rcu_read_lock();
		child = READ_ONCE(c->t->vfork_done) &&
			rcu_dereference(c->t->real_parent) == t;
		rcu_read_unlock();
		if (child && veil_guest_fthread_quiet(c, depth + 1))
			return true;
	}
	return false;
}

static bool veil_guest_all_quiet(void)
{
	unsigned int i;

	for (i = 0; i < veil_guest_nr_fthreads; i++)
		if (!veil_guest_fthread_quiet(&veil_guest_fthreads[i], 0))
			return false;
	return true;
}

/* Names every thread that did not park; returns how many. */
static unsigned int veil_guest_report_busy(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < veil_guest_nr_fthreads; i++) {
		struct task_struct *t = veil_guest_fthreads[i].t;

		if (veil_guest_fthread_quiet(&veil_guest_fthreads[i], 0))
			continue;
		if (n++ < 8)
			pr_warn("prepare: thread %d of process %d (%s) did not park: state %c%s\n",
				task_pid_nr(t), task_tgid_nr(t), t->comm,
				task_state_to_char(t),
				task_is_running(t) ? " (running)" : "");
	}
	return n;
}

/*
 * Freezes every thread of the given processes, those cloned meanwhile
 * included, and waits up to timeout_ms until none can run user code.
 * May be called again with more processes (forked meanwhile) while
 * frozen: only threads not reached yet are queued.  Returns 0, or -EBUSY
 * when a thread is still in the kernel and cannot be parked (each named
 * in the log); the caller must not take a checkpoint then.  Under
 * veil_guest_ctl_lock.
 */
int veil_guest_freeze(struct task_struct **tasks, int nr, unsigned int timeout_ms)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(timeout_ms);
	int added;

	/* A new freeze: threads whose work ran since the thaw get a new one. */
	if (!READ_ONCE(veil_guest_freezing))
		veil_guest_forget_threads(false);
	WRITE_ONCE(veil_guest_freezing, true);
	for (;;) {
		added = veil_guest_freeze_new(tasks, nr);
		if (added < 0)
			return added;
		if (!added && veil_guest_all_quiet())
			return 0;
		if (time_after(jiffies, deadline))
			break;
		wait_event_timeout(veil_guest_park_wq, veil_guest_all_quiet(),
				   msecs_to_jiffies(10));
	}
	return veil_guest_report_busy() ? -EBUSY : 0;
}

/*
 * Appends to the @nr processes of *@tasks each other process that a
 * thread of this freeze belongs to: what a checkpoint froze has zeros in
 * it, and a restore must kill it (or tell it) rather than thaw it, even
 * if nothing names it any more (an owner of a dontdump area with the
 * switch turned off meanwhile).  Returns the new count, or -ENOMEM with
 * every reference of *@tasks dropped.  Under veil_guest_ctl_lock.
 */
int veil_guest_frozen_add(struct task_struct ***tasks, int nr)
{
	struct task_struct **all;
	unsigned int i;
	int n = nr;

	if (!READ_ONCE(veil_guest_freezing) || !veil_guest_nr_fthreads)
		return nr;
	all = veil_guest_tasks_grow(*tasks, nr, veil_guest_nr_fthreads);
	*tasks = all;
	if (!all)
		return -ENOMEM;
	rcu_read_lock();
	for (i = 0; i < veil_guest_nr_fthreads; i++)
		veil_guest_tasks_add_once(all, &n,
					  READ_ONCE(veil_guest_fthreads[i].t->group_leader));
	rcu_read_unlock();
	return n;
}

/*
 * Kills every process a thread of this freeze belongs to; needs no
 * memory, for a restore that cannot list them.  Under veil_guest_ctl_lock.
 */
void veil_guest_frozen_kill(void)
{
	unsigned int i;

	if (!READ_ONCE(veil_guest_freezing))
		return;
	for (i = 0; i < veil_guest_nr_fthreads; i++)
		kill_pid(task_tgid(veil_guest_fthreads[i].t), SIGKILL, 1);
}

unsigned int veil_guest_frozen(void)
{
	return atomic_read(&veil_guest_parked);
}

bool veil_guest_is_freezing(void)
{
	return READ_ONCE(veil_guest_freezing);
}

/*
 * Forgets the threads whose work has run (all of them with @all, once no
 * work is queued any more).  A thread still asleep in the kernel keeps its
 * record: its work is still queued, and parks it in the next freeze.
 */
static void veil_guest_forget_threads(bool all)
{
	unsigned int i, n = 0;

	for (i = 0; i < veil_guest_nr_fthreads; i++) {
		struct veil_guest_fthread *ft = &veil_guest_fthreads[i];

		if (!all && refcount_read(&ft->w->ref) > 1) {
			veil_guest_fthreads[n++] = *ft;
			continue;
		}
		veil_guest_park_put(ft->w);
		put_task_struct(ft->t);
	}
	veil_guest_nr_fthreads = n;
	if (!n) {
		kvfree(veil_guest_fthreads);
		veil_guest_fthreads = NULL;
		veil_guest_cap_fthreads = 0;
	}
}

/* Thaws, and waits up to a second for the parked threads to leave. */
void veil_guest_thaw(void)
{
	WRITE_ONCE(veil_guest_freezing, false);
	wake_up_all(&veil_guest_thaw_wq);
	wait_event_timeout(veil_guest_park_wq, !atomic_read(&veil_guest_parked), HZ);
	veil_guest_forget_threads(false);
}

/* Module unload: thaw, then wait until no work of ours is queued or running. */
void veil_guest_freeze_drain(void)
{
	veil_guest_thaw();
	while (!wait_event_timeout(veil_guest_park_wq,
				   !atomic_read(&veil_guest_queued), 10 * HZ))
		pr_warn("unload waits for %d threads to leave the kernel\n",
			atomic_read(&veil_guest_queued));
	veil_guest_forget_threads(true);
	synchronize_rcu_tasks();
}
