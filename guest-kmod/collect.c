// SPDX-License-Identifier: GPL-2.0
/*
 * Runs every collector over a selected process: its address space, the
 * files, pipes and sockets in its descriptor table, its controlling
 * terminal, and per thread the kernel stack and the saved registers (not
 * for a libveil subscriber, which runs on after a restore).
 */
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include "veil_guest.h"

/*
 * Runs one thread can add to a category: its kernel stack, a run per page
 * (kernel_objects=1), and pt_regs; or the FPU state, two ranges that may
 * each cross a page boundary.
 */
#define VEIL_GUEST_RUNS_PER_THREAD	(THREAD_SIZE / PAGE_SIZE + 4)

/* Drops what a collection holds and gathered (the release of collect_init()). */
static void veil_guest_collect_release(struct veil_guest_collect *c)
{
	veil_guest_shared_release(c);
	veil_guest_files_put(&c->files);
	veil_guest_holds_release(&c->holds);
	if (c->held) {
		xa_destroy(c->held);
		kfree(c->held);
		c->held = NULL;
	}
	kfree(c->seen);
	c->seen = NULL;
	c->nr_seen = 0;
	c->cap_seen = 0;
}

/*
 * Whether a pipe or socket is met for the first time in this collection:
 * one open in several descriptors or processes is collected once.
 */
bool veil_guest_collect_once(struct veil_guest_collect *c, const void *obj)
{
	const void **seen;
	unsigned int i, cap;

	for (i = 0; i < c->nr_seen; i++)
		if (c->seen[i] == obj)
			return false;
	if (c->nr_seen == c->cap_seen) {
		cap = c->cap_seen ? 2 * c->cap_seen : 32;
		seen = krealloc_array(c->seen, cap, sizeof(*seen), GFP_KERNEL);
		if (!seen)
			return true;
		c->seen = seen;
		c->cap_seen = cap;
	}
	c->seen[c->nr_seen++] = obj;
	return true;
}

void veil_guest_collect_start(struct veil_guest_collect *c, bool count_only,
			      bool prepare)
{
	veil_guest_collect_init(c);
	veil_guest_holds_init(&c->holds);
	c->count_only = count_only;
	c->prepare = prepare;
	c->privilege = -1;
	c->release = veil_guest_collect_release;
}

/*
 * The references on @page that the last PUBLISH's holds keep (indexed at
 * the start of a collection that runs while they are kept): not someone
 * else's.  Any context.
 */
unsigned int veil_guest_collect_held_refs(const struct veil_guest_collect *c, struct page *page)
{
	void *refs;

	if (!c->held)
		return 0;
	refs = xa_load(c->held, page_to_pfn(page));
	return refs ? xa_to_value(refs) : 0;
}

/* The sets a page-table walk adds to under RCU grow without sleeping. */
void veil_guest_collect_nosleep(struct veil_guest_collect *c, bool nosleep)
{
	c->cat[VEIL_GUEST_CAT_ANON].nosleep = nosleep;
	c->holds.nosleep = nosleep;
	veil_guest_shared_nosleep(c, nosleep);
}

int veil_guest_collect_task(struct task_struct *tsk, struct veil_guest_collect *c)
{
	bool runs_on = veil_guest_client_aware(tsk);
	struct page **frags = NULL;
	struct task_struct *live, *t;
	int err = 0, nr, nr_frags = 0;
	struct mm_struct *mm;

	/*
	 * A process whose main thread exited (pthread_exit()) keeps running
	 * in its other threads: its address space and files are theirs.
	 */
	live = veil_guest_live_thread(tsk);
	if (!live)
		return 0;
	c->privileged = c->privilege < 0 ? veil_guest_sel_privileged(tsk) : c->privilege;
	c->task = live;
	mm = get_task_mm(live);
	if (mm) {
		if (c->prepare)
			veil_guest_zero_track(mm);
		err = veil_guest_collect_anon(mm, c, false);
		mmput(mm);
	}
	if (!err)
		err = veil_guest_collect_files(live, c);
	if (!err)
		veil_guest_collect_ctty(live, c);
	c->task = NULL;
	put_task_struct(live);
	if (err)
		return err;

	/*
	 * The threads are walked under RCU, which also keeps an exiting
	 * thread's stack from being freed under the reads: nothing in there
	 * may sleep.  Room is made first for every thread (a stack of up to
	 * VEIL_GUEST_RUNS_PER_THREAD runs, as many for the registers); a
	 * thread cloned meanwhile may need more, which is then allocated
	 * without sleeping.
	 */
	nr = get_nr_threads(tsk) + 1;
	err = veil_guest_extset_reserve(&c->cat[VEIL_GUEST_CAT_STACK],
					nr * VEIL_GUEST_RUNS_PER_THREAD);
	if (!err)
		err = veil_guest_extset_reserve(&c->cat[VEIL_GUEST_CAT_FPU],
						nr * VEIL_GUEST_RUNS_PER_THREAD);
	if (err)
		return err;
	/* At PREPARE, the threads' page fragments: room for one each. */
	if (c->prepare && !runs_on) {
		frags = kvmalloc_array(nr, sizeof(*frags), GFP_KERNEL);
		if (!frags)
			return -ENOMEM;
	}
	c->cat[VEIL_GUEST_CAT_STACK].nosleep = true;
	c->cat[VEIL_GUEST_CAT_FPU].nosleep = true;
	rcu_read_lock();
	for_each_thread(tsk, t) {
		veil_guest_collect_stack(t, c);
		if (!runs_on)
			veil_guest_collect_regs(t, c);
		if (frags && nr_frags < nr) {
			frags[nr_frags] = veil_guest_get_task_frag(t);
			nr_frags += !!frags[nr_frags];
		}
	}
	rcu_read_unlock();
	c->cat[VEIL_GUEST_CAT_STACK].nosleep = false;
	c->cat[VEIL_GUEST_CAT_FPU].nosleep = false;
	if (frags) {
		veil_guest_collect_task_frags(frags, nr_frags, c);
		kvfree(frags);
	}
	veil_guest_collect_keys(tsk, c);
	return c->cat[VEIL_GUEST_CAT_STACK].error ?: c->cat[VEIL_GUEST_CAT_FPU].error ?:
	       c->cat[VEIL_GUEST_CAT_KERNEL].error ?: c->holds.error;
}

/*
 * With dontdump=1, every MADV_DONTDUMP area of every process is collected
 * too: where libsodium, OpenSSL's secure heap and GnuPG keep secrets, and
 * what memfd_secret() mappings are marked with.
 */
static bool dontdump;
module_param(dontdump, bool, 0644);
MODULE_PARM_DESC(dontdump,
		 "Also exclude every MADV_DONTDUMP and memfd_secret area in the guest");

/* An area dontdump=1 collects: not a device mapping, which drivers mark too. */
static bool veil_guest_dontdump_area(struct vm_area_struct *vma)
{
	return (vma->vm_flags & VM_DONTDUMP) && !(vma->vm_flags & (VM_IO | VM_PFNMAP));
}

static bool veil_guest_owns_dontdump(struct task_struct *tsk)
{
	struct vm_area_struct *vma;
	struct vma_iterator vmi;
	struct mm_struct *mm;
	bool found = false;

	mm = get_task_mm(tsk);
	if (!mm)
		return false;
	mmap_read_lock(mm);
	vma_iter_init(&vmi, mm, 0);
	for_each_vma(vmi, vma) {
		if (veil_guest_dontdump_area(vma)) {
			found = true;
			break;
		}
	}
	mmap_read_unlock(mm);
	mmput(mm);
	return found;
}

/*
 * With dontdump=1, the processes that own such an area are frozen with the
 * excluded ones and, in a guest restored from the checkpoint, killed like
 * them (a libveil subscriber is told instead): otherwise they would run on
 * with those areas zeroed, and a zeroed key is used as silently as a good
 * one.  init is collected but neither frozen nor killed (@with_init false):
 * killing it would bring the restored guest down.  Appends the owners to
 * the @nr tasks of *@tasks (which it may replace); returns the new count,
 * or a negative error with *@tasks untouched.
 */
int veil_guest_dontdump_add_owners(struct task_struct ***tasks, int nr, bool with_init)
{
	struct task_struct **all, *p;
	int cap = nr, n, i, k;

	if (!READ_ONCE(dontdump))
		return nr;
	rcu_read_lock();
	for_each_process(p)
		cap++;
	rcu_read_unlock();
	all = kvmalloc_array(cap, sizeof(*all), GFP_KERNEL);
	if (!all)
		return -ENOMEM;
	if (nr)
		memcpy(all, *tasks, nr * sizeof(*all));
	n = nr;
	rcu_read_lock();
	for_each_process(p) {
		if (n == cap)
			break;
		if ((p->flags & (PF_KTHREAD | PF_EXITING)) || !p->mm ||
		    (!with_init && is_global_init(p)))
			continue;
		for (i = 0; i < nr && all[i] != p; i++)
			;
		if (i < nr)
			continue;
		get_task_struct(p);
		all[n++] = p;
	}
	rcu_read_unlock();
	for (i = k = nr; i < n; i++) {
		if (veil_guest_owns_dontdump(all[i]))
			all[k++] = all[i];
		else
			put_task_struct(all[i]);
	}
	kvfree(*tasks);
	*tasks = all;
	return k;
}

/* The dontdump areas of every process that has one. */
static int veil_guest_collect_dontdump(struct veil_guest_collect *c)
{
	struct task_struct **tasks = NULL;
	struct mm_struct *mm;
	int nr, i, err = 0;

	nr = veil_guest_dontdump_add_owners(&tasks, 0, true);
	if (nr < 0)
		return nr;
	for (i = 0; i < nr; i++) {
		mm = err ? NULL : get_task_mm(tasks[i]);
		if (mm) {
			err = veil_guest_collect_anon(mm, c, true);
			mmput(mm);
		}
	}
	veil_guest_put_tasks(tasks, nr);
	return err;
}

/*
 * Collects every frame of the given processes and what libveil clients
 * protect, and finishes the set: the address spaces first, so that the
 * mappings of everything others may map too are counted before anything
 * shared is decided, then the page cache of the files gathered: those
 * open now and those the processes opened before (recall.c).
 */
int veil_guest_collect_all(struct task_struct **tasks, int nr,
			   struct veil_guest_collect *c)
{
	int i, err = 0;

	/* Fragment pages freed since the last collection hold nothing now. */
	veil_guest_frag_sweep();
	for (i = 0; i < nr && !err; i++)
		err = veil_guest_collect_task(tasks[i], c);
	if (!err)
		err = veil_guest_collect_clients(c);
	if (!err)
		err = veil_guest_collect_sysvmsg(c);
	if (!err)
		err = veil_guest_collect_pipe_left(c);
	if (!err)
		err = veil_guest_collect_sock_left(c);
	if (!err && READ_ONCE(dontdump))
		err = veil_guest_collect_dontdump(c);
	if (!err)
		err = veil_guest_recall_gather(&c->files);
	if (!err)
		err = veil_guest_shared_resolve(c);
	if (!err)
		err = veil_guest_collect_file_pass(c);
	if (err)
		return err;
	/* A dry run: what a checkpoint under way paused (PREPARE resumes it). */
	if (!c->prepare && !c->count_only)
		veil_guest_control_collect_paused(c);
	return veil_guest_collect_finish(c);
}

int veil_guest_collect_selected(struct veil_guest_collect *c)
{
	struct task_struct **tasks;
	int nr, err;

	nr = veil_guest_sel_tasks(NULL, &tasks);
	if (nr < 0)
		return nr;
	err = veil_guest_collect_all(tasks, nr, c);
	veil_guest_put_tasks(tasks, nr);
	return err;
}
