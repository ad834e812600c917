// SPDX-License-Identifier: GPL-2.0
/*
 * The files and pipes an excluded process opened, remembered after it
 * closed them.
 *
 * A secret an excluded process writes to a file and closes (a key it saved,
 * a password database on tmpfs) stays in the page cache, and a TLS server
 * reads its key file once at start and closes it: the descriptor table at
 * the next collection shows neither.  So every regular file an excluded
 * process installs in its descriptor table (open, openat, creat, a file
 * received over a UNIX socket), had open when it was excluded, or is found
 * open by a collection, is remembered from then on, and each collection
 * takes its page cache under the rules of the files open now
 * (collect_file.c): only folios no process outside the set maps, not the
 * files being executed, and for an exclusion an unprivileged user made,
 * only files the process opened for writing or its user owns (a file that
 * fails that test is not remembered at all).
 *
 * Pipes and FIFOs are remembered the same way, for their close: what an
 * excluded process wrote and left unread when it closed its write end
 * waits in the pipe for a reader (collect_pipe.c holds it).  For an
 * exclusion an unprivileged user made, only pipes its user made and FIFOs
 * it opened (veil_guest_channel_counts()): what waits in a pipe another
 * user's process handed down to it is that user's too.
 *
 * The hook is a kprobe on fd_install(), through which every such file
 * passes.  It runs in atomic context: it only asks the selection (under
 * RCU) and queues a task work with a reference to the file; the work, on
 * the process's way back to user space, remembers the inode.  The kprobe
 * is registered at the first exclusion, and stays until the module goes.
 * At each exclusion, the descriptor tables of the processes it names are
 * walked for what they have open already.
 *
 * The memory is an fsnotify inode mark of veil_guest's own group.  A
 * regular file's asks for no event; it holds the inode, and so its page
 * cache, in memory while the file exists; the kernel drops the mark by
 * itself when the file is deleted or its file system unmounted, so a
 * remembered file never keeps a disk busy or the blocks of a deleted file
 * allocated.  A mark whose file has no page cache left (and a disk to read
 * it from again) is dropped at the next collection, and every mark when
 * nothing is excluded any more.  A pipe's asks for FS_CLOSE_WRITE, which
 * __fput() sends in the closer's context while the file still holds the
 * pipe; it is dropped once nobody has the pipe open.
 *
 * At most recall_max files are remembered, and as many pipes, and at most
 * half of each for exclusions unprivileged users made, so that no user can
 * take the room a privileged exclusion needs.  A privileged exclusion's
 * file or pipe that could not be remembered (the limit, or no memory)
 * fails every PREPARE from then on, as long as something is excluded: the
 * checkpoint would hold it.  An unprivileged exclusion's beyond its half
 * is only logged: failing would let any user stop every checkpoint of the
 * VM.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cred.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/fsnotify_backend.h>
#include <linux/kprobes.h>
#include <linux/moduleparam.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/task_work.h>
#include <linux/wait.h>

#include "compat.h"
#include "veil_guest.h"

static unsigned int recall_max = 16384;
module_param(recall_max, uint, 0644);
MODULE_PARM_DESC(recall_max,
		 "Most files, and most pipes, excluded processes opened that are remembered after they close them, half of them at most for unprivileged exclusions; a privileged exclusion's file or pipe beyond it fails PREPARE (default 16384)");

struct veil_guest_recalled {
	struct fsnotify_mark mark;
	struct inode *inode;	/* valid while the mark is attached */
	bool pipe;		/* a pipe or FIFO: counted in veil_guest_recall_nr[1] */
	bool privileged;	/* counted in veil_guest_recall_nr[][1] */
	bool anon_pipe;		/* a pipe(2) pipe, made by @owner */
	kuid_t owner;
};

struct veil_guest_recall_work {
	struct callback_head cb;
	struct file *file;
};

struct veil_guest_recall_task {
	bool privileged;
	kuid_t fsuid;
};

static struct fsnotify_group *veil_guest_recall_group;
/*
 * Marks of regular files [0] and of pipes [1] (each kind up to recall_max),
 * made for unprivileged [][0] and privileged [][1] exclusions.
 */
static atomic_t veil_guest_recall_nr[2][2];
/* Files of privileged exclusions not remembered: PREPARE fails. */
static atomic_t veil_guest_recall_missed = ATOMIC_INIT(0);
/* Task works queued and not finished; the module waits for them. */
static atomic_t veil_guest_recall_queued = ATOMIC_INIT(0);
static DECLARE_WAIT_QUEUE_HEAD(veil_guest_recall_wq);

/*
 * The marks of regular files ask for no event; those of pipes and FIFOs
 * for FS_CLOSE_WRITE, sent by __fput() in the closer's context before the
 * file lets go of the pipe: if the closer is excluded, what it left in
 * the pipe is held (collect_pipe.c).
 */
static int veil_guest_recall_event(struct fsnotify_mark *mark, u32 mask,
				   struct inode *inode, struct inode *dir,
				   const struct qstr *name, u32 cookie)
{
	struct veil_guest_recalled *r = container_of(mark, struct veil_guest_recalled, mark);
	bool privileged;

	if (!(mask & FS_CLOSE_WRITE) || !inode || !S_ISFIFO(inode->i_mode) ||
	    !veil_guest_sel_current(&privileged))
		return 0;
	/*
	 * The event does not say which file closes, but every file of a
	 * pipe(2) pipe has its maker's credentials: for an exclusion an
	 * unprivileged user made, another user's pipe is not its own
	 * (veil_guest_channel_counts()), whoever remembered it.  A named
	 * FIFO's end was opened with the closer's own.
	 */
	if (!privileged && r->anon_pipe && !uid_eq(r->owner, current_fsuid()))
		return 0;
	veil_guest_pipe_left(inode, privileged);
	return 0;
}

static void veil_guest_recall_free_mark(struct fsnotify_mark *mark)
{
	struct veil_guest_recalled *r = container_of(mark, struct veil_guest_recalled, mark);

	atomic_dec(&veil_guest_recall_nr[r->pipe][r->privileged]);
	kfree(r);
}

/* Takes room for one more mark of its kind; false when there is none. */
static bool veil_guest_recall_room(bool pipe, bool privileged)
{
	atomic_t *nr = veil_guest_recall_nr[pipe];
	unsigned int max = READ_ONCE(recall_max);
	unsigned int mine = atomic_inc_return(&nr[privileged]);
	unsigned int other = atomic_read(&nr[!privileged]);

	if (mine + other <= max && (privileged || mine <= max / 2))
		return true;
	atomic_dec(&nr[privileged]);
	return false;
}

/*
 * Drops the marks of pipes nobody has open any more (at most a batch):
 * a process that makes and closes pipes in a loop must not fill the room
 * with pipes that are gone until the next collection.
 */
static void veil_guest_recall_sweep_pipes(void)
{
	struct fsnotify_group *g = veil_guest_recall_group;
	struct fsnotify_mark *m, *dead[64];
	struct veil_guest_recalled *r;
	unsigned int nr = 0, i;

	fsnotify_group_lock(g);
	list_for_each_entry(m, &g->marks_list, g_list) {
		r = container_of(m, struct veil_guest_recalled, mark);
		if (!r->pipe || READ_ONCE(r->inode->i_pipe))
			continue;
		refcount_inc(&m->refcnt);
		dead[nr++] = m;
		if (nr == ARRAY_SIZE(dead))
			break;
	}
	fsnotify_group_unlock(g);
	for (i = 0; i < nr; i++) {
		fsnotify_destroy_mark(dead[i], g);
		fsnotify_put_mark(dead[i]);
	}
}

static const struct fsnotify_ops veil_guest_recall_ops = {
	.handle_inode_event = veil_guest_recall_event,
	.free_mark = veil_guest_recall_free_mark,
};

static void veil_guest_recall_missed_one(struct inode *inode, bool privileged)
{
	if (privileged)
		atomic_inc(&veil_guest_recall_missed);
	pr_warn_ratelimited("an excluded process opened %s %lu on %s, which is not remembered (recall_max=%u)%s\n",
			    S_ISFIFO(inode->i_mode) ? "pipe" : "file",
			    inode->i_ino, inode->i_sb->s_id, READ_ONCE(recall_max),
			    privileged ? ": no checkpoint until nothing is excluded" : "");
}

/*
 * Remembers the inode of @file (in process context): a regular file for its
 * page cache, a pipe or FIFO for its close.
 */
static void veil_guest_recall_mark(struct file *file, bool privileged)
{
	struct fsnotify_group *g = veil_guest_recall_group;
	struct inode *inode = file_inode(file);
	struct veil_guest_recalled *r;
	struct fsnotify_mark *m;
	bool pipe, room;
	int err;

	m = veil_guest_find_inode_mark(inode, g);
	if (m) {
		fsnotify_put_mark(m);
		return;
	}
	pipe = S_ISFIFO(inode->i_mode);
	room = veil_guest_recall_room(pipe, privileged);
	if (!room && pipe) {
		veil_guest_recall_sweep_pipes();
		room = veil_guest_recall_room(pipe, privileged);
	}
	if (!room) {
		veil_guest_recall_missed_one(inode, privileged);
		return;
	}
	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r) {
		atomic_dec(&veil_guest_recall_nr[pipe][privileged]);
		veil_guest_recall_missed_one(inode, privileged);
		return;
	}
	fsnotify_init_mark(&r->mark, g);
	if (pipe)
		r->mark.mask = FS_CLOSE_WRITE;
	r->inode = inode;
	r->pipe = pipe;
	r->privileged = privileged;
	r->anon_pipe = pipe && veil_guest_is_anon_pipe(inode);
	r->owner = file->f_cred->fsuid;
	err = fsnotify_add_inode_mark(&r->mark, inode, 0);
	/* -EEXIST: another thread remembered it meanwhile. */
	if (err && err != -EEXIST)
		veil_guest_recall_missed_one(inode, privileged);
	/* The reference of fsnotify_init_mark(): the mark frees itself on error. */
	fsnotify_put_mark(&r->mark);
}

/*
 * A file or pipe a collection found open in an excluded process, which it
 * may have had since before its exclusion, and its exclusion may take:
 * remembered from now on too.
 */
void veil_guest_recall_file(struct file *file, bool privileged)
{
	veil_guest_recall_mark(file, privileged);
}

/* Whether @file's exclusion may take it, and so remember it. */
static bool veil_guest_recall_counts(struct file *file, bool privileged, kuid_t fsuid)
{
	umode_t mode = file_inode(file)->i_mode;

	if (S_ISFIFO(mode))
		return veil_guest_channel_counts(file, privileged, fsuid);
	return S_ISREG(mode) && veil_guest_file_counts(file, privileged, fsuid);
}

static void veil_guest_recall_open_file(struct file *file, void *arg)
{
	struct veil_guest_recall_task *t = arg;

	if (veil_guest_recall_counts(file, t->privileged, t->fsuid))
		veil_guest_recall_mark(file, t->privileged);
}

/*
 * At an exclusion: what @tsk has open already is remembered as what it
 * opens from now on, so that a file or pipe it closes before the next
 * collection is not lost.
 */
void veil_guest_recall_task(struct task_struct *tsk, bool privileged)
{
	struct veil_guest_recall_task t = { .privileged = privileged };
	struct veil_guest_file_visitor v = { .fn = veil_guest_recall_open_file, .arg = &t };

	rcu_read_lock();
	t.fsuid = __task_cred(tsk)->fsuid;
	rcu_read_unlock();
	veil_guest_visit_files(tsk, &v);
}

/*
 * On the excluded process's way back to user space: whether its exclusion
 * may take the file (as collect_file.c decides for an open one), then the
 * mark.
 */
static void veil_guest_recall_note(struct callback_head *cb)
{
	struct veil_guest_recall_work *w = container_of(cb, struct veil_guest_recall_work, cb);
	struct file *file = w->file;
	bool privileged;

	kfree(w);
	privileged = veil_guest_sel_privileged(current->group_leader);
	if (veil_guest_recall_counts(file, privileged, current_fsuid()))
		veil_guest_recall_mark(file, privileged);
	fput(file);
	if (atomic_dec_and_test(&veil_guest_recall_queued))
		wake_up(&veil_guest_recall_wq);
}

/* fd_install(fd, file): a file enters a descriptor table. */
static int veil_guest_recall_hit(struct kprobe *kp, struct pt_regs *regs)
{
	struct file *file = (struct file *)regs_get_kernel_argument(regs, 1);
	struct veil_guest_recall_work *w;
	bool excluded;

	if (!file || !(S_ISREG(file_inode(file)->i_mode) || S_ISFIFO(file_inode(file)->i_mode)) ||
	    (current->flags & (PF_KTHREAD | PF_EXITING)))
		return 0;
	rcu_read_lock();
	excluded = veil_guest_sel_excludes_rcu(current);
	rcu_read_unlock();
	if (!excluded)
		return 0;
	w = kmalloc(sizeof(*w), GFP_ATOMIC | __GFP_NOWARN);
	if (!w) {
		veil_guest_recall_missed_one(file_inode(file), true);
		return 0;
	}
	init_task_work(&w->cb, veil_guest_recall_note);
	w->file = get_file(file);
	atomic_inc(&veil_guest_recall_queued);
	if (task_work_add(current, &w->cb, TWA_RESUME)) {
		veil_guest_recall_missed_one(file_inode(file), true);
		fput(file);
		kfree(w);
		if (atomic_dec_and_test(&veil_guest_recall_queued))
			wake_up(&veil_guest_recall_wq);
	}
	return 0;
}

VEIL_GUEST_PROBE(veil_guest_recall_probes, "fd_install", veil_guest_recall_hit,
		 "a file or pipe an excluded process closed is not protected");

/* At an exclusion: from now on, files are remembered. */
void veil_guest_recall_arm(void)
{
	veil_guest_probes_arm(&veil_guest_recall_probes);
}

/* Drops every mark. */
void veil_guest_recall_forget(void)
{
	struct fsnotify_group *g = veil_guest_recall_group;
	struct fsnotify_mark *m;

	for (;;) {
		fsnotify_group_lock(g);
		m = list_first_entry_or_null(&g->marks_list, struct fsnotify_mark, g_list);
		if (m)
			refcount_inc(&m->refcnt);	/* the list holds one */
		fsnotify_group_unlock(g);
		if (!m)
			break;
		fsnotify_destroy_mark(m, g);
		fsnotify_put_mark(m);
	}
	atomic_set(&veil_guest_recall_missed, 0);
}

/*
 * Adds every remembered file that still has page cache to @fs, and drops
 * the marks of those that have none.  Returns 0, or -ENOSPC when a file of
 * a privileged exclusion was not remembered, or -ENOMEM.
 */
int veil_guest_recall_gather(struct veil_guest_files *fs)
{
	struct fsnotify_group *g = veil_guest_recall_group;
	struct veil_guest_recalled *r;
	struct fsnotify_mark *m, **stale;
	unsigned int nr_stale = 0, cap, i;
	struct inode *inode;

	if (atomic_read(&veil_guest_recall_missed)) {
		pr_warn_ratelimited("prepare: files excluded processes opened were not all remembered (recall_max): no checkpoint\n");
		return -ENOSPC;
	}
	cap = 16;
	for (i = 0; i < 4; i++)
		cap += atomic_read(&veil_guest_recall_nr[i / 2][i % 2]);
	stale = kvmalloc_array(cap, sizeof(*stale), GFP_KERNEL);
	if (!stale)
		return -ENOMEM;
	fsnotify_group_lock(g);
	list_for_each_entry(m, &g->marks_list, g_list) {
		/* Attached (on the list, under the group's lock): the inode is held. */
		r = container_of(m, struct veil_guest_recalled, mark);
		inode = r->inode;
		if (S_ISFIFO(inode->i_mode)) {
			/* Watched while open; a pipe nobody has holds nothing. */
			if (READ_ONCE(inode->i_pipe))
				continue;
		} else if (inode->i_mapping->nrpages || veil_guest_memory_only(inode)) {
			veil_guest_files_add_inode(fs, inode);
			continue;
		}
		if (nr_stale < cap) {
			refcount_inc(&m->refcnt);
			stale[nr_stale++] = m;
		}
	}
	fsnotify_group_unlock(g);
	for (i = 0; i < nr_stale; i++) {
		fsnotify_destroy_mark(stale[i], g);
		fsnotify_put_mark(stale[i]);
	}
	kvfree(stale);
	return fs->missed ? -ENOMEM : 0;
}

int veil_guest_recall_init(void)
{
	veil_guest_recall_group = veil_guest_alloc_group(&veil_guest_recall_ops);
	if (IS_ERR(veil_guest_recall_group))
		return PTR_ERR(veil_guest_recall_group);
	return 0;
}

/*
 * Module unload: no new work once the kprobe is gone; then every queued
 * work has run (the module cannot cancel them) and no task is still in the
 * tail of one; then the marks are freed before the group.
 */
void veil_guest_recall_exit(void)
{
	veil_guest_probes_disarm(&veil_guest_recall_probes);
	while (!wait_event_timeout(veil_guest_recall_wq,
				   !atomic_read(&veil_guest_recall_queued), 10 * HZ))
		pr_info("unload waits for %d file notes to run\n",
			atomic_read(&veil_guest_recall_queued));
	synchronize_rcu_tasks();
	veil_guest_recall_forget();
	fsnotify_wait_marks_destroyed();
	fsnotify_put_group(veil_guest_recall_group);
}
