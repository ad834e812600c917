// SPDX-License-Identifier: GPL-2.0
/*
 * The descriptor table: page cache of regular files (tmpfs and shmem
 * included), and hand-off of pipes, FIFOs, sockets, TTYs and POSIX message
 * queues to their collectors.
 *
 * A file's page cache is gathered here and taken once every address space
 * of the set is walked (the file pass below), folio by folio: only where
 * no process outside the set maps the folio, so that a library an
 * excluded process opens or maps stays in every other process's memory.
 * At PREPARE a folio of a file with a backing store is then taken out of
 * the page cache, clean, and held: zeroed in the checkpoint, it is in no
 * page cache a restored guest could read it from, and the next reader
 * finds the data on disk.  A folio of a memory-only file system (tmpfs,
 * shmem, ramfs, hugetlbfs, secretmem) has nothing to be read from again:
 * it is held where it is, and a restored guest finds zeros there.
 *
 * Files being executed (i_writecount < 0) are left out: their page cache is
 * program text every other process runs too.  For an exclusion an
 * unprivileged user made, a file counts only if the process opened it for
 * writing or its user owns it: such a user must not have root's files,
 * a shared library first of all, taken out of the page cache.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cred.h>
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <linux/pagemap.h>
#include <linux/pagevec.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>

#include "compat.h"
#include "veil_guest.h"

/* No backing store: what the page cache holds is all there is. */
bool veil_guest_memory_only(struct inode *inode)
{
	switch (inode->i_sb->s_magic) {
	case TMPFS_MAGIC:
	case RAMFS_MAGIC:
	case HUGETLBFS_MAGIC:
	case SECRETMEM_MAGIC:
		return true;
	}
	return false;
}

/* Gathers @file for the file pass, unless its page cache is everyone's. */
void veil_guest_collect_file_pages(struct veil_guest_collect *c, struct file *file)
{
	struct inode *inode = file_inode(file);

	if (!S_ISREG(inode->i_mode) || !file->f_mapping ||
	    atomic_read(&inode->i_writecount) < 0)
		return;
	veil_guest_files_add(&c->files, file);
}

/*
 * At PREPARE: takes the clean, held @folio of a file with a backing store
 * out of the page cache (unmapping it from the frozen processes that map
 * it).  Returns 0 when it is out, or -EBUSY: dirty again, under writeback,
 * or still in the cache for another reason.
 */
static int veil_guest_evict_folio(struct address_space *mapping, struct folio *folio)
{
	pgoff_t first = folio->index;

	if (folio_test_dirty(folio) || folio_test_writeback(folio))
		return -EBUSY;
	invalidate_inode_pages2_range(mapping, first, first + folio_nr_pages(folio) - 1);
	return READ_ONCE(folio->mapping) ? -EBUSY : 0;
}

/*
 * Commits what a journal still holds of @inode's data: the file system's
 * sync, since a file an excluded process closed has no struct file left to
 * fsync.  The caller holds a reference on the inode, so the super block
 * stays.
 */
static void veil_guest_sync_inode(struct inode *inode)
{
	struct super_block *sb = inode->i_sb;

	down_read(&sb->s_umount);
	sync_filesystem(sb);
	up_read(&sb->s_umount);
}

/*
 * One folio of a gathered file's page cache (referenced by the caller).
 * @synced: the file system was synced for this file already.
 */
static int veil_guest_file_folio(struct veil_guest_collect *c, struct inode *inode,
				 struct folio *folio, bool *synced)
{
	struct address_space *mapping = inode->i_mapping;
	unsigned int maps = veil_guest_shared_maps(c, folio);
	int err;

	if (folio->mapping != mapping)
		return 0;	/* truncated meanwhile */
	if (folio_mapped(folio) && veil_guest_folio_mapcount(folio) > maps) {
		c->shared_out += folio_nr_pages(folio);
		return 0;
	}
	if (c->prepare && !veil_guest_memory_only(inode)) {
		err = veil_guest_evict_folio(mapping, folio);
		/*
		 * A journal may still hold the folio's buffers after writeback
		 * (ext4's until its transaction commits): commit it, once
		 * per file.
		 */
		if (err && !*synced) {
			veil_guest_sync_inode(inode);
			*synced = true;
			err = veil_guest_evict_folio(mapping, folio);
		}
		if (err) {
			c->file_busy++;
			return err;
		}
	}
	veil_guest_add(c, VEIL_GUEST_CAT_FILE, folio_pfn(folio), folio_nr_pages(folio));
	folio_get(folio);
	veil_guest_hold_folio(&c->holds, folio);
	return 0;
}

static int veil_guest_file_pass_one(struct veil_guest_collect *c, struct inode *inode)
{
	struct folio_batch fbatch;
	bool synced = false;
	pgoff_t index = 0;
	unsigned int i, nr;
	int err = 0;

	folio_batch_init(&fbatch);
	while (!err) {
		nr = filemap_get_folios(inode->i_mapping, &index, (pgoff_t)-1, &fbatch);
		if (!nr)
			break;
		for (i = 0; i < nr && !err; i++)
			err = veil_guest_file_folio(c, inode, fbatch.folios[i], &synced);
		folio_batch_release(&fbatch);
		cond_resched();
	}
	return err;
}

/*
 * The page cache of every gathered file, after the walks.  At PREPARE a
 * folio that cannot be taken out of the page cache fails the collection:
 * published in place it would give a restored guest zeros to read, and
 * left out it would leave the data in the checkpoint.
 */
int veil_guest_collect_file_pass(struct veil_guest_collect *c)
{
	struct inode *inode;
	unsigned int i;
	int err;

	if (c->files.missed)
		return -ENOMEM;
	for (i = 0; i < c->files.nr; i++) {
		err = veil_guest_file_pass_one(c, c->files.f[i]);
		if (err == -EBUSY) {
			inode = c->files.f[i];
			pr_warn_ratelimited("prepare: a page of excluded file %lu on %s is dirty or busy: no checkpoint\n",
					    inode->i_ino, inode->i_sb->s_id);
		}
		if (err)
			return err;
	}
	return c->holds.error;
}

/* Files of a task, each with a reference, gathered under its file lock. */
struct veil_guest_fds {
	struct file **files;
	unsigned int nr, cap;
	bool overflow;
};

static int veil_guest_fd_grab(const void *arg, struct file *file, unsigned int fd)
{
	struct veil_guest_fds *fds = (struct veil_guest_fds *)arg;

	if (fds->nr == fds->cap) {
		fds->overflow = true;
		return 1;
	}
	get_file(file);
	fds->files[fds->nr++] = file;
	return 0;
}

/*
 * Whether an exclusion may take @file's page cache: any file for one made
 * with CAP_SYS_ADMIN; for one an unprivileged user made, a file the process
 * opened for writing, or one its user (@fsuid) owns.  Also what recall.c
 * asks before it remembers a file.
 */
bool veil_guest_file_counts(struct file *file, bool privileged, kuid_t fsuid)
{
	return privileged || (file->f_mode & FMODE_WRITE) ||
	       uid_eq(file_inode(file)->i_uid, fsuid);
}

/*
 * Whether the descriptor that led the collection to @file is the only one
 * that refers to it: the descriptor table holds it once (with the
 * reference the descriptor visit took, two), plus those our holds from
 * the last PUBLISH keep at a PREPARE before THAW.  Not when another
 * process has it (inherited, duplicated or received), it is in flight, or
 * another process shares the whole descriptor table.
 */
bool veil_guest_file_only_here(struct file *file, struct veil_guest_collect *c)
{
	unsigned int ours = c->prepare ? veil_guest_held_file_refs(file) : 0;

	return !c->files_shared && file_count(file) == 2 + ours;
}

/*
 * Whether a task outside @tsk's thread group uses its descriptor table
 * (cloned with CLONE_FILES but not as a thread): every task that uses a
 * table holds a reference on it, so more references than the threads of
 * the group that use it means another process reads the same descriptors.
 * A thread being cloned or exiting can make it say so for a moment; that
 * errs on the side of leaving a file out.
 */
static bool veil_guest_files_shared(struct task_struct *tsk)
{
	struct files_struct *files;
	struct task_struct *t;
	bool shared = false;
	int users = 0;

	task_lock(tsk);
	files = tsk->files;
	if (files) {
		rcu_read_lock();
		for_each_thread(tsk, t)
			users += READ_ONCE(t->files) == files;
		rcu_read_unlock();
		shared = atomic_read(&files->count) > users;
	}
	task_unlock(tsk);
	return shared;
}

/* The file system user of the task collected, or INVALID_UID. */
static kuid_t veil_guest_collect_fsuid(struct veil_guest_collect *c)
{
	kuid_t fsuid = INVALID_UID;

	if (c->task) {
		rcu_read_lock();
		fsuid = __task_cred(c->task)->fsuid;
		rcu_read_unlock();
	}
	return fsuid;
}

static bool veil_guest_file_ours(struct veil_guest_collect *c, struct file *file)
{
	return veil_guest_file_counts(file, c->privileged, veil_guest_collect_fsuid(c));
}

/*
 * Whether an exclusion may take what waits in the pipe, FIFO or socket
 * @file (and, after a restore, empty or reset it): any for one made with
 * CAP_SYS_ADMIN; for one an unprivileged user made, only one that its
 * user (@fsuid) opened or created.  A pipe or socket that another user's
 * process handed down or passed to it is that process's too: zeroing
 * what waits in it, or resetting it, would reach into another user's
 * data.  Also what the purge after a restore asks.
 */
bool veil_guest_channel_counts(struct file *file, bool privileged, kuid_t fsuid)
{
	return privileged || uid_eq(file->f_cred->fsuid, fsuid);
}

static void veil_guest_collect_file(struct file *file, struct veil_guest_collect *c)
{
	umode_t mode = file_inode(file)->i_mode;

	if (veil_guest_is_mqueue(file)) {
		veil_guest_collect_mqueue(file, c);
	} else if (S_ISREG(mode) && veil_guest_file_ours(c, file)) {
		/* Perhaps open since before the exclusion: remembered from now on. */
		veil_guest_recall_file(file, c->privileged);
		veil_guest_collect_file_pages(c, file);
	} else if ((S_ISFIFO(mode) || S_ISSOCK(mode)) &&
		   !veil_guest_channel_counts(file, c->privileged, veil_guest_collect_fsuid(c))) {
		c->shared_out++;
	} else if (S_ISFIFO(mode)) {
		veil_guest_collect_pipe(file, c);
	} else if (S_ISSOCK(mode)) {
		veil_guest_collect_socket(file, c);
	} else if (S_ISCHR(mode)) {
		veil_guest_collect_tty(file, c);
	}
}

/* Calls fn on every file in the task's descriptor table, with a reference. */
int veil_guest_visit_files(struct task_struct *tsk,
			   const struct veil_guest_file_visitor *v)
{
	struct veil_guest_fds fds = { .cap = 64 };
	struct files_struct *files;
	unsigned int i;

retry:
	fds.files = kvmalloc_array(fds.cap, sizeof(*fds.files), GFP_KERNEL);
	if (!fds.files)
		return -ENOMEM;
	fds.nr = 0;
	fds.overflow = false;
	task_lock(tsk);
	files = tsk->files;
	if (files)
		iterate_fd(files, 0, veil_guest_fd_grab, &fds);
	task_unlock(tsk);
	if (fds.overflow) {
		for (i = 0; i < fds.nr; i++)
			fput(fds.files[i]);
		kvfree(fds.files);
		if (fds.cap >= INT_MAX / 2)
			return -EMFILE;
		fds.cap *= 4;
		goto retry;
	}
	for (i = 0; i < fds.nr; i++) {
		v->fn(fds.files[i], v->arg);
		fput(fds.files[i]);
	}
	kvfree(fds.files);
	return 0;
}

static void veil_guest_collect_file_cb(struct file *file, void *arg)
{
	veil_guest_collect_file(file, arg);
}

int veil_guest_collect_files(struct task_struct *tsk, struct veil_guest_collect *c)
{
	struct veil_guest_file_visitor v = { .fn = veil_guest_collect_file_cb, .arg = c };
	int err;

	c->files_shared = veil_guest_files_shared(tsk);
	err = veil_guest_visit_files(tsk, &v);
	c->files_shared = false;
	return err;
}
