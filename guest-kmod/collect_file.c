// SPDX-License-Identifier: GPL-2.0
/*
 * The descriptor table: page cache of regular files (tmpfs and shmem
 * included), and hand-off of pipes, FIFOs and sockets to their collectors.
 *
 * Files being executed (i_writecount < 0) are left out: their page cache is
 * program text every other process runs too, and zeroing it in a checkpoint
 * would break them after a restore.
 */
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/pagemap.h>
#include <linux/pagevec.h>
#include <linux/sched/task.h>
#include <linux/slab.h>

#include "compat.h"
#include "veil_guest.h"

void veil_guest_collect_mapping(struct file *file, struct veil_guest_collect *c)
{
	struct inode *inode = file_inode(file);
	struct address_space *mapping = file->f_mapping;
	struct folio_batch fbatch;
	pgoff_t index = 0;
	unsigned int i, nr;

	if (!mapping || atomic_read(&inode->i_writecount) < 0)
		return;
	folio_batch_init(&fbatch);
	while ((nr = filemap_get_folios(mapping, &index, (pgoff_t)-1, &fbatch))) {
		for (i = 0; i < nr; i++) {
			struct folio *folio = fbatch.folios[i];

			veil_guest_add(c, VEIL_GUEST_CAT_FILE, folio_pfn(folio),
				       folio_nr_pages(folio));
		}
		folio_batch_release(&fbatch);
		cond_resched();
	}
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

static void veil_guest_collect_file(struct file *file, struct veil_guest_collect *c)
{
	umode_t mode = file_inode(file)->i_mode;

	if (S_ISREG(mode))
		veil_guest_collect_mapping(file, c);
	else if (S_ISFIFO(mode))
		veil_guest_collect_pipe(file, c);
	else if (S_ISSOCK(mode))
		veil_guest_collect_socket(file, c);
	else if (S_ISCHR(mode))
		veil_guest_collect_tty(file, c);
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

	return veil_guest_visit_files(tsk, &v);
}
