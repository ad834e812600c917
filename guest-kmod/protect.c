// SPDX-License-Identifier: GPL-2.0
/*
 * The application interface behind libveil.  Every open descriptor of
 * /dev/veil-guest is a client, owned by the process that opened it.  The
 * owner may protect ranges of its own memory and regular files; their
 * frames are published with those of the excluded processes, and the owner
 * is frozen during a checkpoint like an excluded process.  A subscribed
 * client reads checkpoint events, and its owner is told about a restore
 * from a sanitized checkpoint instead of being killed.
 *
 * Lock order: veil_guest_ctl_lock (control.c), then veil_guest_clients_lock,
 * then a client's ev_lock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/poll.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "veil_guest.h"

struct veil_guest_prange {
	unsigned long start, end;
};

struct veil_guest_client {
	struct list_head node;		/* on veil_guest_clients */
	struct mm_struct *mm;		/* the owner's, mmgrab()bed */
	struct pid *tgid;		/* the owner */
	struct veil_guest_prange *ranges;
	unsigned int nr_ranges, cap_ranges;
	struct file *files[VEIL_GUEST_MAX_FILES];
	unsigned int nr_files;
	bool subscribed;		/* READ_ONCE outside the lock */

	spinlock_t ev_lock;		/* the event ring below */
	struct veil_guest_event ev[VEIL_GUEST_EV_QUEUE];
	unsigned int ev_head, ev_len;
	wait_queue_head_t ev_wq;
};

static DEFINE_MUTEX(veil_guest_clients_lock);
static LIST_HEAD(veil_guest_clients);

struct veil_guest_client *veil_guest_client_new(void)
{
	struct veil_guest_client *cl;

	if (!current->mm)
		return ERR_PTR(-EINVAL);
	cl = kzalloc(sizeof(*cl), GFP_KERNEL);
	if (!cl)
		return ERR_PTR(-ENOMEM);
	cl->mm = current->mm;
	mmgrab(cl->mm);
	cl->tgid = get_pid(task_tgid(current));
	spin_lock_init(&cl->ev_lock);
	init_waitqueue_head(&cl->ev_wq);
	mutex_lock(&veil_guest_clients_lock);
	list_add_tail(&cl->node, &veil_guest_clients);
	mutex_unlock(&veil_guest_clients_lock);
	return cl;
}

void veil_guest_client_release(struct veil_guest_client *cl)
{
	unsigned int i;

	mutex_lock(&veil_guest_clients_lock);
	list_del(&cl->node);
	mutex_unlock(&veil_guest_clients_lock);
	for (i = 0; i < cl->nr_files; i++)
		fput(cl->files[i]);
	kvfree(cl->ranges);
	mmdrop(cl->mm);
	put_pid(cl->tgid);
	kfree(cl);
}

static bool veil_guest_client_protects(const struct veil_guest_client *cl)
{
	return cl->nr_ranges || cl->nr_files;
}

static int veil_guest_range_add(struct veil_guest_client *cl, unsigned long start,
				unsigned long end)
{
	struct veil_guest_prange *r;
	unsigned int i, cap;

	for (i = 0; i < cl->nr_ranges; i++)
		if (cl->ranges[i].start == start && cl->ranges[i].end == end)
			return -EEXIST;
	if (cl->nr_ranges == VEIL_GUEST_MAX_RANGES)
		return -ENOSPC;
	if (cl->nr_ranges == cl->cap_ranges) {
		cap = cl->cap_ranges ? cl->cap_ranges * 2 : 16;
		r = kvmalloc_array(cap, sizeof(*r), GFP_KERNEL);
		if (!r)
			return -ENOMEM;
		if (cl->nr_ranges)
			memcpy(r, cl->ranges, cl->nr_ranges * sizeof(*r));
		kvfree(cl->ranges);
		cl->ranges = r;
		cl->cap_ranges = cap;
	}
	cl->ranges[cl->nr_ranges].start = start;
	cl->ranges[cl->nr_ranges].end = end;
	cl->nr_ranges++;
	return 0;
}

static int veil_guest_range_remove(struct veil_guest_client *cl, unsigned long start,
				   unsigned long end)
{
	unsigned int i;

	for (i = 0; i < cl->nr_ranges; i++) {
		if (cl->ranges[i].start != start || cl->ranges[i].end != end)
			continue;
		cl->ranges[i] = cl->ranges[--cl->nr_ranges];
		return 0;
	}
	return -ENOENT;
}

static long veil_guest_ioc_protect_range(struct veil_guest_client *cl,
					 const struct veil_guest_range *req)
{
	unsigned long start, end;
	long ret;

	if (req->flags & ~(u32)VEIL_GUEST_PROT_REMOVE)
		return -EINVAL;
	if (!req->len || req->addr >= TASK_SIZE_MAX ||
	    req->len > TASK_SIZE_MAX - req->addr)
		return -EINVAL;
	start = round_down(req->addr, PAGE_SIZE);
	end = round_up(req->addr + req->len, PAGE_SIZE);
	mutex_lock(&veil_guest_clients_lock);
	if (req->flags & VEIL_GUEST_PROT_REMOVE)
		ret = veil_guest_range_remove(cl, start, end);
	else
		ret = veil_guest_range_add(cl, start, end);
	mutex_unlock(&veil_guest_clients_lock);
	return ret;
}

static long veil_guest_ioc_protect_file(struct veil_guest_client *cl,
					const struct veil_guest_file *req)
{
	struct file *file;
	unsigned int i;
	long ret = 0;

	if (req->flags & ~(u32)VEIL_GUEST_PROT_REMOVE || req->pad)
		return -EINVAL;
	file = fget(req->fd);
	if (!file)
		return -EBADF;
	if (!S_ISREG(file_inode(file)->i_mode) || !file->f_mapping) {
		fput(file);
		return -EINVAL;
	}
	/*
	 * Its page cache is zeroed in every checkpoint: only for a caller
	 * that could overwrite the file anyway, not for anyone who can read
	 * a shared library or another user's tmpfs file.
	 */
	if (!(req->flags & VEIL_GUEST_PROT_REMOVE) && !(file->f_mode & FMODE_WRITE) &&
	    !capable(CAP_SYS_ADMIN)) {
		fput(file);
		return -EACCES;
	}
	mutex_lock(&veil_guest_clients_lock);
	for (i = 0; i < cl->nr_files; i++)
		if (file_inode(cl->files[i]) == file_inode(file))
			break;
	if (req->flags & VEIL_GUEST_PROT_REMOVE) {
		if (i == cl->nr_files) {
			ret = -ENOENT;
		} else {
			fput(cl->files[i]);
			cl->files[i] = cl->files[--cl->nr_files];
		}
	} else if (i < cl->nr_files) {
		ret = -EEXIST;
	} else if (cl->nr_files == VEIL_GUEST_MAX_FILES) {
		ret = -ENOSPC;
	} else {
		cl->files[cl->nr_files++] = file;
		file = NULL;	/* the client keeps the reference */
	}
	mutex_unlock(&veil_guest_clients_lock);
	if (file)
		fput(file);
	return ret;
}

long veil_guest_client_ioctl(struct veil_guest_client *cl, unsigned int cmd,
			     void __user *uarg)
{
	struct veil_guest_range range;
	struct veil_guest_file file;
	long ret;

	/* Only the owner: a descriptor inherited or passed on is not enough. */
	if (current->mm != cl->mm || task_tgid(current) != cl->tgid)
		return -EPERM;
	switch (cmd) {
	case VEIL_GUEST_IOC_PROTECT_RANGE:
		ret = veil_guest_arg_in(&range, sizeof(range), uarg);
		return ret ? ret : veil_guest_ioc_protect_range(cl, &range);
	case VEIL_GUEST_IOC_PROTECT_FILE:
		ret = veil_guest_arg_in(&file, sizeof(file), uarg);
		return ret ? ret : veil_guest_ioc_protect_file(cl, &file);
	case VEIL_GUEST_IOC_SUBSCRIBE:
		mutex_lock(&veil_guest_clients_lock);
		ret = cl->subscribed ? -EEXIST : 0;
		WRITE_ONCE(cl->subscribed, true);
		mutex_unlock(&veil_guest_clients_lock);
		return ret;
	}
	return -ENOTTY;
}

static void veil_guest_ev_push(struct veil_guest_client *cl, u32 type, u64 seq)
{
	unsigned int i;

	spin_lock(&cl->ev_lock);
	if (cl->ev_len == VEIL_GUEST_EV_QUEUE) {
		cl->ev_head = (cl->ev_head + 1) % VEIL_GUEST_EV_QUEUE;
		cl->ev_len--;
		cl->ev[cl->ev_head].flags |= VEIL_GUEST_EV_LOST;
	}
	i = (cl->ev_head + cl->ev_len) % VEIL_GUEST_EV_QUEUE;
	cl->ev[i].type = type;
	cl->ev[i].flags = 0;
	cl->ev[i].seq = seq;
	cl->ev_len++;
	spin_unlock(&cl->ev_lock);
	wake_up_interruptible(&cl->ev_wq);
}

/* Queues an event on every subscribed client; returns how many got it. */
unsigned int veil_guest_clients_event(u32 type, u64 seq)
{
	struct veil_guest_client *cl;
	unsigned int n = 0;

	mutex_lock(&veil_guest_clients_lock);
	list_for_each_entry(cl, &veil_guest_clients, node) {
		if (!cl->subscribed)
			continue;
		veil_guest_ev_push(cl, type, seq);
		n++;
	}
	mutex_unlock(&veil_guest_clients_lock);
	return n;
}

static bool veil_guest_ev_pending(struct veil_guest_client *cl)
{
	bool ret;

	spin_lock(&cl->ev_lock);
	ret = cl->ev_len;
	spin_unlock(&cl->ev_lock);
	return ret;
}

ssize_t veil_guest_client_read(struct veil_guest_client *cl, char __user *buf,
			       size_t count, bool nonblock)
{
	struct veil_guest_event ev;
	size_t done = 0;
	int err;

	if (!READ_ONCE(cl->subscribed) || count < sizeof(ev))
		return -EINVAL;
	if (!nonblock) {
		err = wait_event_interruptible(cl->ev_wq, veil_guest_ev_pending(cl));
		if (err)
			return err;
	}
	while (count - done >= sizeof(ev)) {
		spin_lock(&cl->ev_lock);
		if (!cl->ev_len) {
			spin_unlock(&cl->ev_lock);
			break;
		}
		ev = cl->ev[cl->ev_head];
		cl->ev_head = (cl->ev_head + 1) % VEIL_GUEST_EV_QUEUE;
		cl->ev_len--;
		spin_unlock(&cl->ev_lock);
		if (copy_to_user(buf + done, &ev, sizeof(ev)))
			return done ? done : -EFAULT;
		done += sizeof(ev);
	}
	return done ? done : -EAGAIN;
}

__poll_t veil_guest_client_poll(struct veil_guest_client *cl, struct file *file,
				poll_table *wait)
{
	if (!READ_ONCE(cl->subscribed))
		return EPOLLERR;
	poll_wait(file, &cl->ev_wq, wait);
	return veil_guest_ev_pending(cl) ? EPOLLIN | EPOLLRDNORM : 0;
}

/*
 * Collects the protected ranges and files of every client.  A range
 * yields the frames of private data mapped in it (as for an excluded
 * process), a file its page cache.
 */
int veil_guest_collect_clients(struct veil_guest_collect *c)
{
	struct veil_guest_client *cl;
	unsigned int i;
	int err = 0;

	mutex_lock(&veil_guest_clients_lock);
	list_for_each_entry(cl, &veil_guest_clients, node) {
		if (cl->nr_ranges && mmget_not_zero(cl->mm)) {
			for (i = 0; i < cl->nr_ranges && !err; i++)
				err = veil_guest_collect_anon_range(cl->mm, c,
								    cl->ranges[i].start,
								    cl->ranges[i].end);
			mmput(cl->mm);
		}
		if (err)
			break;
		for (i = 0; i < cl->nr_files; i++)
			veil_guest_collect_file_pages(c, cl->files[i]);
	}
	mutex_unlock(&veil_guest_clients_lock);
	return err;
}

/*
 * The processes a checkpoint freezes: the given ones (referenced, as
 * veil_guest_sel_tasks() returns them) and the owners of clients that
 * protect something.  Returns the number in *out, with a reference on
 * each (release with veil_guest_put_tasks()), or a negative errno.
 */
int veil_guest_client_add_owners(struct task_struct **have, int nr,
				 struct task_struct ***out)
{
	struct veil_guest_client *cl;
	struct task_struct **tasks, *t;
	int cap = nr, n, i;

	mutex_lock(&veil_guest_clients_lock);
	list_for_each_entry(cl, &veil_guest_clients, node)
		cap++;
	tasks = kvmalloc_array(max(cap, 1), sizeof(*tasks), GFP_KERNEL);
	if (!tasks) {
		mutex_unlock(&veil_guest_clients_lock);
		return -ENOMEM;
	}
	for (n = 0; n < nr; n++) {
		get_task_struct(have[n]);
		tasks[n] = have[n];
	}
	rcu_read_lock();
	list_for_each_entry(cl, &veil_guest_clients, node) {
		if (!veil_guest_client_protects(cl))
			continue;
		t = pid_task(cl->tgid, PIDTYPE_TGID);
		if (!t || (t->flags & PF_EXITING))
			continue;
		for (i = 0; i < n; i++)
			if (tasks[i] == t)
				break;
		if (i < n || n == cap)
			continue;
		get_task_struct(t);
		tasks[n++] = t;
	}
	rcu_read_unlock();
	mutex_unlock(&veil_guest_clients_lock);
	*out = tasks;
	return n;
}

/* Does this process (a thread group leader) handle restores itself? */
bool veil_guest_client_aware(struct task_struct *leader)
{
	struct veil_guest_client *cl;
	bool ret = false;

	mutex_lock(&veil_guest_clients_lock);
	rcu_read_lock();
	list_for_each_entry(cl, &veil_guest_clients, node) {
		if (cl->subscribed && pid_task(cl->tgid, PIDTYPE_TGID) == leader) {
			ret = true;
			break;
		}
	}
	rcu_read_unlock();
	mutex_unlock(&veil_guest_clients_lock);
	return ret;
}

/* The protected files, for the page cache drop after a restore. */
void veil_guest_clients_gather_files(struct veil_guest_files *fs)
{
	struct veil_guest_client *cl;
	unsigned int i;

	mutex_lock(&veil_guest_clients_lock);
	list_for_each_entry(cl, &veil_guest_clients, node)
		for (i = 0; i < cl->nr_files; i++)
			veil_guest_files_add(fs, cl->files[i]);
	mutex_unlock(&veil_guest_clients_lock);
}
