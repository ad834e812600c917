// SPDX-License-Identifier: GPL-2.0
/*
 * The selection: which processes are excluded.  An entry names a process by
 * its struct pid (so a recycled PID number never inherits an exclusion, and
 * exec keeps it), optionally with its descendants, or every process with a
 * given comm.  Entries are resolved into tasks each time frames are
 * collected, so descendants forked since are covered.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/cgroup.h>
#include <linux/cred.h>
#include <linux/moduleparam.h>
#include <linux/pid.h>
#include <linux/sched/coredump.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "veil_guest.h"

/*
 * Protects changes to veil_guest_sels; readers that cannot sleep (the file
 * hook, recall.c) walk it under RCU, so an entry is freed after a grace
 * period.
 */
static DEFINE_MUTEX(veil_guest_sel_lock);
static LIST_HEAD(veil_guest_sels);
static u64 veil_guest_nr_sels;

/*
 * One change of the selection at a time, with what follows from it outside
 * veil_guest_sel_lock: an exclusion's remembering of what its processes
 * have open, the last inclusion's forgetting of everything remembered.
 * Without it, an exclusion made between the last inclusion's unlock and
 * its forgetting would lose what it had just remembered.  Taken before
 * veil_guest_sel_lock, only by the entry points below.
 */
static DEFINE_MUTEX(veil_guest_sel_change_lock);

/*
 * Any user may add entries (for its own processes), so their number is
 * capped; the entries of processes that have exited make room first.
 */
static unsigned int max_entries = 1024;
module_param(max_entries, uint, 0644);
MODULE_PARM_DESC(max_entries,
		 "Most entries in the selection; entries of exited processes are dropped to make room, then an exclusion gets ENOSPC (default 1024)");

/*
 * Whether current may exclude tsk: CAP_SYS_ADMIN, or CAP_SYS_PTRACE over
 * the task's user namespace, or the same user on every uid and gid with a
 * dumpable mm (the core of the ptrace access rule: ptrace_may_access() is
 * not exported to modules).  Called under rcu_read_lock().
 */
static bool veil_guest_may_select(struct task_struct *tsk)
{
	const struct cred *me = current_cred();
	const struct cred *tc = __task_cred(tsk);
	bool same;

	if (capable(CAP_SYS_ADMIN))
		return true;
	if (ns_capable_noaudit(tc->user_ns, CAP_SYS_PTRACE))
		return true;
	same = uid_eq(me->uid, tc->euid) && uid_eq(me->uid, tc->suid) &&
	       uid_eq(me->uid, tc->uid) && gid_eq(me->gid, tc->egid) &&
	       gid_eq(me->gid, tc->sgid) && gid_eq(me->gid, tc->gid);
	if (!same)
		return false;
	tsk = veil_guest_live_thread(tsk);
	if (!tsk)
		return false;
	task_lock(tsk);
	same = tsk->mm && get_dumpable(tsk->mm) == SUID_DUMP_USER;
	task_unlock(tsk);
	put_task_struct(tsk);
	return same;
}

/*
 * Whether a process still runs user code in some thread: one whose main
 * thread exited (pthread_exit()) lives on in the others, and is still
 * selected, frozen, collected and killed through them.
 */
bool veil_guest_group_alive(struct task_struct *p)
{
	struct task_struct *t;
	bool alive = false;

	if (!(p->flags & PF_EXITING))
		return true;
	rcu_read_lock();
	for_each_thread(p, t) {
		if (!(t->flags & PF_EXITING)) {
			alive = true;
			break;
		}
	}
	rcu_read_unlock();
	return alive;
}

/*
 * A thread of @p that still has its address space and files, referenced:
 * @p itself unless it exited with its process running on.  NULL when the
 * whole process is exiting.
 */
struct task_struct *veil_guest_live_thread(struct task_struct *p)
{
	struct task_struct *t, *found = NULL;

	rcu_read_lock();
	for_each_thread(p, t) {
		if (t->flags & PF_EXITING)
			continue;
		task_lock(t);
		if (t->mm) {
			found = t;
			get_task_struct(t);
		}
		task_unlock(t);
		if (found)
			break;
	}
	rcu_read_unlock();
	return found;
}

static struct veil_guest_sel *veil_guest_sel_find(const struct veil_guest_sel *key)
{
	struct veil_guest_sel *sel;

	lockdep_assert_held(&veil_guest_sel_lock);
	list_for_each_entry(sel, &veil_guest_sels, node) {
		if (sel->kind != key->kind)
			continue;
		if (key->kind == VEIL_GUEST_SEL_PID && sel->pid == key->pid)
			return sel;
		if (key->kind == VEIL_GUEST_SEL_COMM && !strcmp(sel->comm, key->comm))
			return sel;
		if (key->kind == VEIL_GUEST_SEL_CGROUP && sel->cgrp == key->cgrp)
			return sel;
	}
	return NULL;
}

/* Fills key from a request after validating it; takes a pid reference. */
static int veil_guest_sel_parse(const struct veil_guest_select *req,
				struct veil_guest_sel *key)
{
	struct task_struct *tsk;
	size_t len;
	int err = 0;

	memset(key, 0, sizeof(*key));
	key->kind = req->kind;
	key->flags = req->flags;
	key->privileged = capable(CAP_SYS_ADMIN);
	switch (req->kind) {
	case VEIL_GUEST_SEL_PID:
		if (req->flags & ~VEIL_GUEST_SEL_CHILDREN)
			return -EINVAL;
		if (req->pid <= 0)
			return -EINVAL;
		rcu_read_lock();
		tsk = pid_task(find_vpid(req->pid), PIDTYPE_PID);
		if (!tsk)
			err = -ESRCH;
		else if ((tsk->flags & PF_KTHREAD) || is_global_init(tsk))
			err = -EINVAL;
		else if (!veil_guest_may_select(tsk))
			err = -EPERM;
		else
			key->pid = get_pid(task_tgid(tsk));
		rcu_read_unlock();
		return err;
	case VEIL_GUEST_SEL_COMM:
		if (req->flags)
			return -EINVAL;
		len = strnlen(req->name, sizeof(req->name));
		if (!len || len == sizeof(req->name))
			return -EINVAL;
		if (len >= TASK_COMM_LEN)
			return -ENAMETOOLONG;
		if (!capable(CAP_SYS_ADMIN))
			return -EPERM;
		memcpy(key->comm, req->name, len);
		return 0;
	case VEIL_GUEST_SEL_CGROUP:
		if (req->flags)
			return -EINVAL;
		len = strnlen(req->name, sizeof(req->name));
		if (!len || len == sizeof(req->name) || req->name[0] != '/')
			return -EINVAL;
		if (!capable(CAP_SYS_ADMIN))
			return -EPERM;
		memcpy(key->path, req->name, len);
		key->cgrp = cgroup_get_from_path(key->path);
		if (IS_ERR(key->cgrp)) {
			err = PTR_ERR(key->cgrp);
			key->cgrp = NULL;
			return err;
		}
		return 0;
	default:
		return -EINVAL;
	}
}

/*
 * From now on, zero what the process frees (zero_freed.c): the process
 * the entry names, which the caller was allowed to exclude.
 */
static void veil_guest_zero_track_pid(struct pid *pid)
{
	struct task_struct *tsk;
	struct mm_struct *mm;

	tsk = get_pid_task(pid, PIDTYPE_TGID);
	if (!tsk)
		return;
	mm = get_task_mm(tsk);
	if (mm) {
		veil_guest_zero_track(mm);
		mmput(mm);
	}
	put_task_struct(tsk);
}

/* Drops the references a parsed key or an entry holds. */
static void veil_guest_sel_put(struct veil_guest_sel *sel)
{
	put_pid(sel->pid);
	if (sel->cgrp)
		cgroup_put(sel->cgrp);
	sel->pid = NULL;
	sel->cgrp = NULL;
}

static void veil_guest_sel_free_rcu(struct rcu_head *rcu)
{
	struct veil_guest_sel *sel = container_of(rcu, struct veil_guest_sel, rcu);

	veil_guest_sel_put(sel);
	kfree(sel);
}

/* Takes an entry off the list; it is freed once no RCU reader can see it. */
static void veil_guest_sel_del(struct veil_guest_sel *sel)
{
	lockdep_assert_held(&veil_guest_sel_lock);
	list_del_rcu(&sel->node);
	veil_guest_nr_sels--;
	call_rcu(&sel->rcu, veil_guest_sel_free_rcu);
}

/* An entry by PID whose process has exited (been reaped): it covers nothing. */
static bool veil_guest_sel_exited(const struct veil_guest_sel *sel)
{
	return sel->kind == VEIL_GUEST_SEL_PID && !pid_has_task(sel->pid, PIDTYPE_TGID);
}

/* Drops the entries of exited processes; returns how many. */
static unsigned int veil_guest_sel_prune(void)
{
	struct veil_guest_sel *sel, *tmp;
	unsigned int n = 0;

	lockdep_assert_held(&veil_guest_sel_lock);
	list_for_each_entry_safe(sel, tmp, &veil_guest_sels, node) {
		if (!veil_guest_sel_exited(sel))
			continue;
		veil_guest_sel_del(sel);
		n++;
	}
	return n;
}

static int veil_guest_sel_tasks_locked(struct veil_guest_sel *only,
				       struct task_struct ***out);

int veil_guest_sel_exclude(const struct veil_guest_select *req)
{
	struct veil_guest_sel key, *sel;
	struct task_struct **tasks = NULL;
	struct pid *track = NULL;
	bool privileged;
	int err, nr = 0, i;

	err = veil_guest_sel_parse(req, &key);
	if (err)
		return err;
	if (key.pid)
		track = get_pid(key.pid);
	mutex_lock(&veil_guest_sel_change_lock);
	mutex_lock(&veil_guest_sel_lock);
	if (veil_guest_sel_find(&key)) {
		err = -EEXIST;
		goto out;
	}
	if (veil_guest_nr_sels >= READ_ONCE(max_entries) &&
	    (!veil_guest_sel_prune() || veil_guest_nr_sels >= READ_ONCE(max_entries))) {
		err = -ENOSPC;
		goto out;
	}
	sel = kmemdup(&key, sizeof(key), GFP_KERNEL);
	if (!sel) {
		err = -ENOMEM;
		goto out;
	}
	key.pid = NULL;		/* now owned by sel */
	key.cgrp = NULL;
	list_add_tail_rcu(&sel->node, &veil_guest_sels);
	veil_guest_nr_sels++;
	/* The processes it names now, for what they have open already. */
	nr = veil_guest_sel_tasks_locked(sel, &tasks);
	if (nr < 0)
		nr = 0;
out:
	mutex_unlock(&veil_guest_sel_lock);
	veil_guest_sel_put(&key);
	privileged = key.privileged;
	if (!err) {
		veil_guest_recall_arm();
		veil_guest_sysvmsg_arm();
		veil_guest_zero_arm();
		veil_guest_sock_left_arm();
		veil_guest_tls_arm();
	}
	for (i = 0; i < nr; i++)
		veil_guest_recall_task(tasks[i], privileged);
	mutex_unlock(&veil_guest_sel_change_lock);
	/*
	 * Not under the change lock: registering the notifier waits for
	 * every lock of the process's address space, which its owner can
	 * hold for long; that must not stall other users' changes.
	 */
	if (!err && track)
		veil_guest_zero_track_pid(track);
	put_pid(track);
	if (tasks)
		veil_guest_put_tasks(tasks, nr);
	return err;
}

/*
 * Nothing is excluded any more: what was remembered for excluded processes
 * (files, System V messages, pipes and sockets they left) is forgotten.
 */
static void veil_guest_sel_forget(void)
{
	veil_guest_recall_forget();
	veil_guest_sysvmsg_forget();
	veil_guest_pipe_left_forget();
	veil_guest_sock_left_forget();
}

/*
 * The entries of exited processes, which cannot be named by PID, go on
 * the administrator's word; with them may go the last thing excluded, and
 * with it what was remembered for the exited processes.
 */
static int veil_guest_sel_include_exited(const struct veil_guest_select *req)
{
	unsigned int n;
	bool empty;

	if (req->flags || req->pid || req->name[0])
		return -EINVAL;
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	mutex_lock(&veil_guest_sel_change_lock);
	mutex_lock(&veil_guest_sel_lock);
	n = veil_guest_sel_prune();
	empty = list_empty(&veil_guest_sels);
	mutex_unlock(&veil_guest_sel_lock);
	if (n && empty)
		veil_guest_sel_forget();
	mutex_unlock(&veil_guest_sel_change_lock);
	return n ? 0 : -ENOENT;
}

int veil_guest_sel_include(const struct veil_guest_select *req)
{
	struct veil_guest_sel key, *sel;
	bool empty = false;
	int err;

	if (req->kind == VEIL_GUEST_SEL_EXITED)
		return veil_guest_sel_include_exited(req);
	err = veil_guest_sel_parse(req, &key);
	if (err)
		return err;
	mutex_lock(&veil_guest_sel_change_lock);
	mutex_lock(&veil_guest_sel_lock);
	sel = veil_guest_sel_find(&key);
	if (!sel) {
		err = -ENOENT;
	} else if (sel->privileged && !key.privileged) {
		/* An administrator's exclusion is not its process owner's to lift. */
		err = -EPERM;
	} else {
		veil_guest_sel_del(sel);
		empty = list_empty(&veil_guest_sels);
	}
	mutex_unlock(&veil_guest_sel_lock);
	if (empty)
		veil_guest_sel_forget();
	mutex_unlock(&veil_guest_sel_change_lock);
	veil_guest_sel_put(&key);
	return err;
}

u64 veil_guest_sel_count(void)
{
	u64 nr;

	mutex_lock(&veil_guest_sel_lock);
	nr = veil_guest_nr_sels;
	mutex_unlock(&veil_guest_sel_lock);
	return nr;
}

void veil_guest_sel_clear(void)
{
	struct veil_guest_sel *sel, *tmp;

	mutex_lock(&veil_guest_sel_change_lock);
	mutex_lock(&veil_guest_sel_lock);
	list_for_each_entry_safe(sel, tmp, &veil_guest_sels, node)
		veil_guest_sel_del(sel);
	mutex_unlock(&veil_guest_sel_lock);
	veil_guest_sel_forget();
	mutex_unlock(&veil_guest_sel_change_lock);
	/* The entries are freed before the module can go. */
	rcu_barrier();
}

/* Whether the process p (a thread group leader) is a descendant of pid. */
static bool veil_guest_descends(struct task_struct *p, struct pid *pid)
{
	struct task_struct *a;

	for (a = rcu_dereference(p->real_parent); a && a != &init_task;
	     a = rcu_dereference(a->real_parent)) {
		if (task_tgid(a) == pid)
			return true;
		if (a == rcu_access_pointer(a->real_parent))
			break;
	}
	return false;
}

static bool veil_guest_sel_match(struct veil_guest_sel *sel, struct task_struct *p)
{
	switch (sel->kind) {
	case VEIL_GUEST_SEL_PID:
		if (task_tgid(p) == sel->pid)
			return true;
		return (sel->flags & VEIL_GUEST_SEL_CHILDREN) &&
		       veil_guest_descends(p, sel->pid);
	case VEIL_GUEST_SEL_COMM:
		return !strncmp(p->comm, sel->comm, TASK_COMM_LEN);
	case VEIL_GUEST_SEL_CGROUP:
		return cgroup_is_descendant(task_dfl_cgroup(p), sel->cgrp);
	}
	return false;
}

static bool veil_guest_selected(struct veil_guest_sel *only, struct task_struct *p)
{
	struct veil_guest_sel *sel;

	if ((p->flags & PF_KTHREAD) || !veil_guest_group_alive(p))
		return false;
	if (only)
		return veil_guest_sel_match(only, p);
	list_for_each_entry_rcu(sel, &veil_guest_sels, node,
				lockdep_is_held(&veil_guest_sel_lock))
		if (veil_guest_sel_match(sel, p))
			return true;
	return false;
}

/*
 * Whether an entry (made with CAP_SYS_ADMIN, if @privileged) names @tsk's
 * process now, for a caller that cannot sleep or take the selection's lock
 * (under rcu_read_lock()).
 */
static bool veil_guest_sel_names_rcu(struct task_struct *tsk, bool privileged)
{
	struct task_struct *p = tsk->group_leader;
	struct veil_guest_sel *sel;

	RCU_LOCKDEP_WARN(!rcu_read_lock_held(), "selection read without RCU");
	if (tsk->flags & PF_KTHREAD)
		return false;
	list_for_each_entry_rcu(sel, &veil_guest_sels, node)
		if ((sel->privileged || !privileged) && veil_guest_sel_match(sel, p))
			return true;
	return false;
}

bool veil_guest_sel_excludes_rcu(struct task_struct *tsk)
{
	return veil_guest_sel_names_rcu(tsk, false);
}

/*
 * For a hook in the current task's context that cannot sleep: whether its
 * process is excluded, and if so whether by an entry made with
 * CAP_SYS_ADMIN (*@privileged).
 */
bool veil_guest_sel_current(bool *privileged)
{
	bool excluded;

	*privileged = false;
	if (current->flags & PF_KTHREAD)
		return false;
	rcu_read_lock();
	excluded = veil_guest_sel_names_rcu(current, false);
	if (excluded)
		*privileged = veil_guest_sel_names_rcu(current, true);
	rcu_read_unlock();
	return excluded;
}

static int veil_guest_sel_tasks_locked(struct veil_guest_sel *only,
				       struct task_struct ***out)
{
	struct task_struct **tasks, *p;
	int nr = 0, cap = 0;

	lockdep_assert_held(&veil_guest_sel_lock);
	rcu_read_lock();
	for_each_process(p)
		cap++;
	rcu_read_unlock();
	cap += 16;
	tasks = kvmalloc_array(cap, sizeof(*tasks), GFP_KERNEL);
	if (!tasks)
		return -ENOMEM;
	rcu_read_lock();
	for_each_process(p) {
		if (nr == cap)
			break;
		if (!veil_guest_selected(only, p))
			continue;
		get_task_struct(p);
		tasks[nr++] = p;
	}
	rcu_read_unlock();
	*out = tasks;
	return nr;
}

/*
 * Whether an entry made with CAP_SYS_ADMIN names @tsk's process, under
 * RCU: such an exclusion takes every file the process has, one made by its
 * user only what that user owns or writes.
 */
bool veil_guest_sel_privileged_rcu(struct task_struct *tsk)
{
	return veil_guest_sel_names_rcu(tsk, true);
}

bool veil_guest_sel_privileged(struct task_struct *p)
{
	bool priv;

	rcu_read_lock();
	priv = veil_guest_sel_privileged_rcu(p);
	rcu_read_unlock();
	return priv;
}

int veil_guest_sel_tasks(struct veil_guest_sel *only, struct task_struct ***out)
{
	int nr;

	mutex_lock(&veil_guest_sel_lock);
	nr = veil_guest_sel_tasks_locked(only, out);
	mutex_unlock(&veil_guest_sel_lock);
	return nr;
}

/*
 * Appends to the @nr processes of *@tasks (which it may replace) every
 * other process that runs in one of their address spaces: a vfork() or
 * posix_spawn() child before its exec, or any CLONE_VM child that is not
 * a thread.  It can write what was collected, so it is frozen, and killed
 * after a restore, with them.  Returns the new count, or a negative errno
 * with *@tasks untouched.
 */
int veil_guest_add_mm_sharers(struct task_struct ***tasks, int nr)
{
	struct task_struct **all, *p;
	struct mm_struct *mm;
	int cap = 0, n = nr, i, j;

	rcu_read_lock();
	for_each_process(p)
		cap++;
	rcu_read_unlock();
	all = kvmalloc_array(nr + cap, sizeof(*all), GFP_KERNEL);
	if (!all)
		return -ENOMEM;
	if (nr)
		memcpy(all, *tasks, nr * sizeof(*all));
	rcu_read_lock();
	for_each_process(p) {
		if (n == nr + cap)
			break;
		mm = READ_ONCE(p->mm);
		if (!mm || (p->flags & PF_KTHREAD))
			continue;
		for (i = 0; i < nr && all[i] != p; i++)
			;
		if (i < nr)
			continue;
		for (j = 0; j < nr && READ_ONCE(all[j]->mm) != mm; j++)
			;
		if (j == nr)
			continue;
		get_task_struct(p);
		all[n++] = p;
	}
	rcu_read_unlock();
	kvfree(*tasks);
	*tasks = all;
	return n;
}

/*
 * The @nr tasks of @tasks (their references moved, the array freed) in an
 * array with room for @more; NULL, with every reference dropped, when
 * there is no memory.
 */
struct task_struct **veil_guest_tasks_grow(struct task_struct **tasks, int nr, int more)
{
	struct task_struct **all = kvmalloc_array(nr + more, sizeof(*all), GFP_KERNEL);

	if (!all) {
		veil_guest_put_tasks(tasks, nr);
		return NULL;
	}
	memcpy(all, tasks, nr * sizeof(*all));
	kvfree(tasks);
	return all;
}

/* Appends @t, referenced, to the *@n tasks of @all, unless it is there. */
void veil_guest_tasks_add_once(struct task_struct **all, int *n, struct task_struct *t)
{
	int i;

	for (i = 0; i < *n && all[i] != t; i++)
		;
	if (i < *n)
		return;
	get_task_struct(t);
	all[(*n)++] = t;
}

void veil_guest_put_tasks(struct task_struct **tasks, int nr)
{
	int i;

	for (i = 0; i < nr; i++)
		put_task_struct(tasks[i]);
	kvfree(tasks);
}

static int veil_guest_sel_fill(struct veil_guest_sel *sel,
			       struct veil_guest_entry *e)
{
	struct veil_guest_collect *c;
	struct task_struct **tasks, *tsk;
	char comm[TASK_COMM_LEN] = "";
	int nr, i, err = 0;

	memset(e, 0, sizeof(*e));
	e->kind = sel->kind;
	e->flags = sel->flags;
	if (sel->kind == VEIL_GUEST_SEL_PID) {
		/*
		 * An exited process's number is free for another: its entry
		 * shows 0, as veil(8) says, never a PID it does not cover.
		 */
		if (!veil_guest_sel_exited(sel))
			e->pid = pid_vnr(sel->pid);
		rcu_read_lock();
		tsk = pid_task(sel->pid, PIDTYPE_PID);
		if (tsk)
			get_task_comm(comm, tsk);
		rcu_read_unlock();
		strscpy(e->name, comm, sizeof(e->name));
	} else if (sel->kind == VEIL_GUEST_SEL_COMM) {
		strscpy(e->name, sel->comm, sizeof(e->name));
	} else {
		strscpy(e->name, sel->path, sizeof(e->name));
	}

	nr = veil_guest_sel_tasks_locked(sel, &tasks);
	if (nr < 0)
		return nr;
	e->nr_tasks = nr;
	c = kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c) {
		err = -ENOMEM;
		goto out;
	}
	veil_guest_collect_start(c, true, false);
	/* The selection is locked: the entry's own say counts. */
	c->privilege = sel->privileged;
	for (i = 0; i < nr && !err; i++)
		err = veil_guest_collect_task(tasks[i], c);
	if (!err)
		err = veil_guest_shared_resolve(c);
	if (!err)
		err = veil_guest_collect_file_pass(c);
	if (!err)
		err = veil_guest_collect_finish(c);
	if (!err) {
		memcpy(e->pages, c->pages, sizeof(e->pages));
		e->shared_pages = c->shared_out;
		e->kernel_pages = c->pages[VEIL_GUEST_CAT_KERNEL];
	}
	veil_guest_collect_free(c);
	kfree(c);
out:
	veil_guest_put_tasks(tasks, nr);
	return err;
}

int veil_guest_sel_list(struct veil_guest_list *req)
{
	struct veil_guest_entry __user *uent = u64_to_user_ptr(req->entries);
	struct veil_guest_entry *e;
	struct veil_guest_sel *sel;
	u64 copied = 0;
	int err = 0;

	e = kmalloc(sizeof(*e), GFP_KERNEL);
	if (!e)
		return -ENOMEM;
	mutex_lock(&veil_guest_sel_lock);
	req->total = veil_guest_nr_sels;
	list_for_each_entry(sel, &veil_guest_sels, node) {
		if (copied >= req->nr_entries)
			break;
		err = veil_guest_sel_fill(sel, e);
		if (err)
			break;
		if (copy_to_user((u8 __user *)uent + copied * req->entry_size, e,
				 req->entry_size)) {
			err = -EFAULT;
			break;
		}
		copied++;
	}
	mutex_unlock(&veil_guest_sel_lock);
	kfree(e);
	req->nr_entries = copied;
	return err;
}
